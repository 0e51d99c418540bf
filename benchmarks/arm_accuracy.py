"""Is accuracy over seeds the same under two arms (two engines, or a speed lever on and off)? The report's statistics.

    .venv/bin/python benchmarks/arm_accuracy.py COMMAND [options]   (COMMAND --help for its options)

Commands:
- ``lever``: see ``lever``.
- ``engines``: see ``engines``.
"""

import argparse
import concurrent.futures
import json
import multiprocessing
import pandas as pd
import yaml
from datetime import datetime
from pathlib import Path

from rnnbench.aggregate import collect, final_values, load_run, summarize, tidy_run
from rnnbench.data import SHUFFLE_SEED
from rnnbench.stats import importance, pairwise
from rnnbench.studies import spec_name, study_variants
from common import dispatch


LEVERS = {  # lever: (arms, the argument of rnnbench.training.train that is on in the second arm)
    "token-product": (("plain", "distinct"), "token_product"),
    "last-batch": (("short", "filled"), "fill_last_batch"),
}


def train_and_score(padded: str, dataset: str, name: str, spec: dict, seed: int, lever: str, arm: str):
    """One run's tidy rows, labelled '<name> [<arm>]'."""
    from rnnbench.runtime import configure_tensorflow

    configure_tensorflow(1, seed)  # before Keras comes in (train() repeats it)
    from rnnbench.aggregate import tidy_run
    from rnnbench.data import load_padded
    from rnnbench.evaluation import score
    from rnnbench.training import predict, train

    arms, argument = LEVERS[lever]
    data = load_padded(padded)
    model, history, metadata = train(data, spec, seed=seed, threads=1, verbose=0, **{argument: arm == arms[1]})
    metrics = score(predict(model, data["x_test"]), data["y_test"], int(data["num_classes"]))
    print(f"{name} [{arm}] seed {seed}: test accuracy {metrics['test_accuracy']:.4f}, "
          f"{history['seconds'].iloc[1:].mean():.2f} s/epoch", flush=True)
    return tidy_run(dataset, SHUFFLE_SEED, f"{name} [{arm}]", seed, history, metrics, metadata)


def lever(argv) -> None:
    """Is accuracy over seeds unchanged by a speed lever? Both arms trained here, the report's statistics.

    KERAS_HOME=… PYTHONPATH=. .venv/bin/python benchmarks/arm_accuracy.py lever data/padded/reuters.npz         --lever token-product --variants lstm gru deep_lstm_orthogonal --seeds 0 1 2 3 4 --epochs 40 --jobs 2

Trains every (variant, seed) of the config twice with the fused engine, once per arm of the lever,
each run in its own process (``--jobs`` at a time, one TensorFlow thread each, as the pipeline's jobs).
Levers (the second arm is the pipeline's default):

- ``token-product``: ``plain`` multiplies every token position by the first recurrent layer's input
  engine, ``distinct`` projects each distinct token of a batch once (``rnnbench.engines.token_product``);
- ``last-batch``: ``short`` trains on a short last batch, ``filled`` fills it up to the batch size
  with weightless rows (``rnnbench.engines.batches``), one compiled step fewer.

Each arm is an argument of ``rnnbench.training.train`` (``token_product``, ``fill_last_batch``).

Each run is trained by ``rnnbench.training.train`` and scored on the test split as the pipeline scores
it (``rnnbench.training.predict``, ``rnnbench.evaluation.score``). Prints the table of
``benchmarks/arm_accuracy.py engines`` (test accuracy mean ± std and 95% bootstrap CI per arm, ASO ε_min
both ways, seed-paired wins, seconds per epoch from the runs' histories) and the two-way ANOVA of
test accuracy on (variant, arm). ``--out`` keeps the runs' tidy rows as CSV."""
    parser = argparse.ArgumentParser(prog="arm_accuracy.py lever", description=lever.__doc__)
    parser.add_argument("padded", help="data/padded/<dataset>.npz from the pad rule")
    parser.add_argument("--dataset", help="its entry in the config (default: the padded file's name)")
    parser.add_argument("--config", type=Path, default=Path("config.yaml"))
    parser.add_argument("--lever", choices=sorted(LEVERS), default="token-product")
    parser.add_argument("--variants", nargs="+", default=["lstm", "gru"])
    parser.add_argument("--seeds", type=int, nargs="+", help="default: the config's seeds")
    parser.add_argument("--epochs", type=int, help="default: the config's epochs")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, one process and thread each")
    parser.add_argument("--out", type=Path, help="write the runs' tidy rows here (CSV)")
    args = parser.parse_args(argv)

    from rnnbench.aggregate import collect
    from rnnbench.config import train_slice

    config = yaml.safe_load(args.config.read_text())
    dataset = args.dataset or Path(args.padded).stem
    seeds = args.seeds or config["seeds"]
    config = {**config, "epochs": args.epochs or config["epochs"]}
    arms = LEVERS[args.lever][0]
    tasks = []
    for name in args.variants:
        spec = json.loads(train_slice(config, dataset, config["variants"][name]))  # what the train rule gets
        tasks += [(args.padded, dataset, name, spec, seed, args.lever, arm) for seed in seeds for arm in arms]
    context = multiprocessing.get_context("spawn")  # TensorFlow does not survive a fork
    with concurrent.futures.ProcessPoolExecutor(args.jobs, mp_context=context, max_tasks_per_child=1) as pool:
        runs = collect(pool.map(train_and_score, *zip(*tasks)))
    if args.out:
        runs.to_csv(args.out, index=False)
    report(runs, arms)


ENGINES = ("keras", "fused")


def finished(run: Path, started_after: datetime | None) -> bool:
    files = [run / name for name in ("history.csv", "run.json", "metrics.json")]
    if not all(path.exists() for path in files):
        return False
    if started_after is None:
        return True
    started = datetime.fromisoformat(json.loads(files[1].read_text())["started_at"])
    evaluated_after_training = files[2].stat().st_mtime >= files[0].stat().st_mtime
    return started.replace(tzinfo=None) >= started_after and evaluated_after_training


def load(results: Path, dataset: str, variants: dict, seeds: list[int],
         started_after: datetime | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Tidy rows of every finished run, labelled '<variant> [<engine>]'; and the variants missing a engine."""
    frames, missing = [], []
    for label, spec in variants.items():
        found = {}
        for engine in ENGINES:
            folder = results / "runs" / dataset / spec_name({**spec, "engine": engine})
            runs = [folder / f"seed{seed}" for seed in seeds
                    if finished(folder / f"seed{seed}", started_after if engine == "fused" else None)]
            found[engine] = [
                tidy_run(dataset, SHUFFLE_SEED, f"{label} [{engine}]", int(run.name.removeprefix("seed")),
                         *load_run(run / "history.csv", run / "metrics.json", run / "run.json"))
                for run in runs
            ]
        if all(found.values()):
            frames += found["keras"] + found["fused"]
        else:
            missing.append(f"{label} ({', '.join(k for k in ENGINES if not found[k])} missing)")
    return (collect(frames) if frames else pd.DataFrame()), missing


def table(runs: pd.DataFrame, arms: tuple[str, str] = ENGINES) -> tuple[str, pd.DataFrame]:
    """A Markdown table comparing the two arms of every variant (rows labelled '<variant> [<arm>]'), and
    the two-way ANOVA of test accuracy on (variant, arm); ``arms``: (reference, new)."""
    old, new = arms
    summary = summarize(runs).set_index("variant")
    finals = final_values(runs)
    lines = [
        f"| variant | {old}: mean ± std [95% CI] | {new}: mean ± std [95% CI] | {new} − {old} | ε_min {new}>{old} | "
        f"ε_min {old}>{new} | {new} wins | s/epoch {old} → {new} |",
        "|---|---|---|---|---|---|---|---|",
    ]
    labels = sorted({variant.rsplit(" [", 1)[0] for variant in summary.index})
    for label in labels:
        old_run, new_run = f"{label} [{old}]", f"{label} [{new}]"
        old_row, new_row = summary.loc[old_run], summary.loc[new_run]
        pairs = pairwise(finals[finals["variant"].isin([old_run, new_run])]).set_index(["a", "b"])
        forward, backward = pairs.loc[(new_run, old_run)], pairs.loc[(old_run, new_run)]

        def cell(row):
            return (f"{row.accuracy_mean:.3f} ± {row.accuracy_std:.3f} [{row.accuracy_ci_low:.3f}, "
                    f"{row.accuracy_ci_high:.3f}] (n={row.n})")

        lines.append(
            f"| {label} | {cell(old_row)} | {cell(new_row)} | {forward.mean_difference:+.3f} | "
            f"{forward.eps_min:.2f} | {backward.eps_min:.2f} | {forward.wins}/{forward.paired_seeds} | "
            f"{old_row.seconds_per_epoch:.2f} → {new_row.seconds_per_epoch:.2f} "
            f"({new_row.seconds_per_epoch / old_row.seconds_per_epoch:.2f}×) |"
        )
    finals = finals.assign(
        base=finals["variant"].str.rsplit(" [", n=1).str[0], arm=finals["variant"].str.extract(r"\[([\w-]+)\]$")[0]
    )
    return "\n".join(lines), importance(finals, ["base", "arm"])


def engines(argv) -> None:
    """Is accuracy over seeds unchanged by the engine? The report's statistics, per variant, from finished runs.

    .venv/bin/python benchmarks/arm_accuracy.py engines --results results --dataset reuters --study summary

For each of the study's variants, reads the runs of its spec under ``engine: keras`` and
``engine: fused`` (``results/runs/<dataset>/<spec name>/seed<N>/``, made by the pipeline, e.g.
``snakemake --cores 2 reports/summary.html`` once per engine) and prints, as a Markdown table:
test accuracy mean ± std and 95% bootstrap CI per engine (``rnnbench.aggregate.summarize``),
ASO ε_min both ways and seed-paired wins (``rnnbench.stats.pairwise``), and seconds per epoch
from the runs' own histories. Then a two-way main-effects ANOVA of test accuracy on (variant,
engine) over all runs (``rnnbench.stats.importance``): the engine's p-value and partial η².
A variant with no runs under one engine is listed and left out. A run counts once its history, run.json
and metrics exist; ``--started-after`` (ISO time, compared with run.json's ``started_at``) leaves out fused
runs trained before then, or not yet evaluated since: for reading a study while a engine change reruns it."""
    parser = argparse.ArgumentParser(prog="arm_accuracy.py engines", description=engines.__doc__)
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--config", type=Path, default=Path("config.yaml"))
    parser.add_argument("--dataset", default="reuters")
    parser.add_argument("--study", default="summary")
    parser.add_argument("--seeds", type=int, nargs="+", help="default: the config's seeds")
    parser.add_argument("--started-after", type=datetime.fromisoformat,
                        help="fused runs only: leave out runs whose run.json started_at is earlier (local time)")
    args = parser.parse_args(argv)

    config = yaml.safe_load(args.config.read_text())
    variants = study_variants(config, args.study)
    runs, missing = load(args.results, args.dataset, variants, args.seeds or config["seeds"], args.started_after)
    if missing:
        print("left out:", "; ".join(missing))
    if runs.empty:
        raise SystemExit("no variant has finished runs under both engines")
    report(runs)


def report(runs: pd.DataFrame, arms: tuple[str, str] = ENGINES) -> None:
    """Print ``table`` and its ANOVA."""
    markdown, anova = table(runs, arms)
    print(markdown)
    print()
    print(f"Two-way main-effects ANOVA of test accuracy on (variant, arm: {' or '.join(arms)}), type-II SS:")
    print(anova.to_string(index=False))


if __name__ == "__main__":
    dispatch({"lever": lever, "engines": engines})
