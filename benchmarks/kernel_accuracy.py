"""Is accuracy over seeds unchanged by the fused kernel? The report's statistics, per variant, from finished runs.

    .venv/bin/python benchmarks/kernel_accuracy.py --results results --dataset reuters --study summary

For each of the study's variants, reads the runs of its spec under ``engine: keras`` and
``engine: fused`` (``results/runs/<dataset>/<spec name>/seed<N>/``, made by the pipeline, e.g.
``snakemake --cores 2 reports/summary.html`` once per kernel) and prints, as a Markdown table:
test accuracy mean ± std and 95% bootstrap CI per kernel (``rnnbench.aggregate.summarize``),
ASO ε_min both ways and seed-paired wins (``rnnbench.stats.pairwise``), and seconds per epoch
from the runs' own histories. Then a two-way main-effects ANOVA of test accuracy on (variant,
kernel) over all runs (``rnnbench.stats.importance``): the kernel's p-value and partial η².
A variant with no runs under one kernel is listed and left out. A run counts once its history, run.json
and metrics exist; ``--started-after`` (ISO time, compared with run.json's ``started_at``) leaves out fused
runs trained before then, or not yet evaluated since: for reading a study while a kernel change reruns it.
"""

import argparse
import json
from datetime import datetime
from pathlib import Path

import pandas as pd
import yaml

from rnnbench.aggregate import collect, final_values, load_run, summarize, tidy_run
from rnnbench.stats import importance, pairwise
from rnnbench.studies import spec_name, study_variants

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
    """Tidy rows of every finished run, labelled '<variant> [<kernel>]'; and the variants missing a kernel."""
    frames, missing = [], []
    for label, spec in variants.items():
        found = {}
        for kernel in ENGINES:
            folder = results / "runs" / dataset / spec_name({**spec, "engine": kernel})
            runs = [folder / f"seed{seed}" for seed in seeds
                    if finished(folder / f"seed{seed}", started_after if kernel == "fused" else None)]
            found[kernel] = [
                tidy_run(dataset, f"{label} [{kernel}]", int(run.name.removeprefix("seed")),
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--config", type=Path, default=Path("config.yaml"))
    parser.add_argument("--dataset", default="reuters")
    parser.add_argument("--study", default="summary")
    parser.add_argument("--seeds", type=int, nargs="+", help="default: the config's seeds")
    parser.add_argument("--started-after", type=datetime.fromisoformat,
                        help="fused runs only: leave out runs whose run.json started_at is earlier (local time)")
    args = parser.parse_args()

    config = yaml.safe_load(args.config.read_text())
    variants = study_variants(config, args.study)
    runs, missing = load(args.results, args.dataset, variants, args.seeds or config["seeds"], args.started_after)
    if missing:
        print("left out:", "; ".join(missing))
    if runs.empty:
        raise SystemExit("no variant has finished runs under both kernels")
    report(runs)


def report(runs: pd.DataFrame, arms: tuple[str, str] = ENGINES) -> None:
    """Print ``table`` and its ANOVA."""
    markdown, anova = table(runs, arms)
    print(markdown)
    print()
    print(f"Two-way main-effects ANOVA of test accuracy on (variant, arm: {' or '.join(arms)}), type-II SS:")
    print(anova.to_string(index=False))


if __name__ == "__main__":
    main()
