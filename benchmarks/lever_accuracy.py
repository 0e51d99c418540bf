"""Is accuracy over seeds unchanged by a speed lever? Both arms trained here, the report's statistics.

    KERAS_HOME=… PYTHONPATH=. .venv/bin/python benchmarks/lever_accuracy.py data/padded/reuters.npz \
        --lever token-product --variants lstm gru deep_lstm_orthogonal --seeds 0 1 2 3 4 --epochs 40 --jobs 2

Trains every (variant, seed) of the config twice with the fused engine, once per arm of the lever,
each run in its own process (``--jobs`` at a time, one TensorFlow thread each, as the pipeline's jobs).
Levers (the second arm is the pipeline's default):

- ``token-product``: ``plain`` multiplies every token position by the first recurrent layer's input
  kernel, ``distinct`` projects each distinct token of a batch once (``rnnbench.engines.token_product``);
- ``last-batch``: ``short`` trains on a short last batch, ``filled`` fills it up to the batch size
  with weightless rows (``rnnbench.engines.batches``), one compiled step fewer.

Each arm is an argument of ``rnnbench.training.train`` (``token_product``, ``fill_last_batch``).

Each run is trained by ``rnnbench.training.train`` and scored on the test split as the pipeline scores
it (``rnnbench.training.predict``, ``rnnbench.evaluation.score``). Prints the table of
``benchmarks/kernel_accuracy.py`` (test accuracy mean ± std and 95% bootstrap CI per arm, ASO ε_min
both ways, seed-paired wins, seconds per epoch from the runs' histories) and the two-way ANOVA of
test accuracy on (variant, arm). ``--out`` keeps the runs' tidy rows as CSV.
"""

import argparse
import concurrent.futures
import json
import multiprocessing
from pathlib import Path

import yaml

LEVERS = {  # lever: (arms, the argument of rnnbench.training.train that is on in the second arm)
    "token-product": (("plain", "distinct"), "token_product"),
    "last-batch": (("short", "filled"), "fill_last_batch"),
}


def train_and_score(padded: str, dataset: str, name: str, spec: dict, seed: int, lever: str, arm: str):
    """One run's tidy rows, labelled '<name> [<arm>]'."""
    from rnnbench.training import configure_tensorflow

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
    return tidy_run(dataset, f"{name} [{arm}]", seed, history, metrics, metadata)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("padded", help="data/padded/<dataset>.npz from the pad rule")
    parser.add_argument("--dataset", help="its entry in the config (default: the padded file's name)")
    parser.add_argument("--config", type=Path, default=Path("config.yaml"))
    parser.add_argument("--lever", choices=sorted(LEVERS), default="token-product")
    parser.add_argument("--variants", nargs="+", default=["lstm", "gru"])
    parser.add_argument("--seeds", type=int, nargs="+", help="default: the config's seeds")
    parser.add_argument("--epochs", type=int, help="default: the config's epochs")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, one process and thread each")
    parser.add_argument("--out", type=Path, help="write the runs' tidy rows here (CSV)")
    args = parser.parse_args()

    from kernel_accuracy import report
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


if __name__ == "__main__":
    main()
