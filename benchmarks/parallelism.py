"""Training throughput at --cores 2: two 1-thread jobs at a time against one 2-thread job at a time.

    KERAS_HOME=... .venv/bin/python benchmarks/parallelism.py --variants lstm gru --seeds 0 1 --epochs 5

Runs the real workflow twice in temp copies (same data, same jobs; only `threads` differs), timing
`snakemake --cores 2` on the training targets, and prints the wall time and throughput of each.
The padded data is made first, outside the timing.
"""

import argparse
import tempfile
from pathlib import Path

from workflow_copy import SNAKEMAKE, reuters_config, run_file, timed, workflow_copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=["lstm", "gru"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()

    base = reuters_config(args.variants, seeds=args.seeds, epochs=args.epochs)
    targets = [run_file(base, v, s, "run.json") for v in args.variants for s in args.seeds]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for threads in (1, 2):
            root = workflow_copy(Path(tmp) / f"threads{threads}", dict(base, threads=threads))
            timed([SNAKEMAKE, "--cores", "2", "data/padded/reuters.npz"], root)
            results[threads] = timed([SNAKEMAKE, "--cores", "2", *targets], root)
    epochs = len(targets) * args.epochs
    print(f"{len(targets)} training jobs x {args.epochs} epochs at --cores 2")
    for threads, seconds in results.items():
        layout = "two 1-thread jobs at a time" if threads == 1 else "one 2-thread job at a time"
        print(f"threads={threads} ({layout}): {seconds:7.1f} s wall, {epochs / seconds:.3f} epochs/s")
    print(f"ratio (threads=2 time / threads=1 time): {results[2] / results[1]:.2f}")


if __name__ == "__main__":
    main()
