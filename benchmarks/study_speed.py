"""P1: a study through the pipeline at --cores 2 against the same runs done one after another by the
plain Keras script (the notebook's way).

    KERAS_HOME=... PYTHONPATH=. .venv/bin/python benchmarks/study_speed.py --variants lstm gru --seeds 0 1 --epochs 10

(a) `python benchmarks/plain_keras.py --variant V --seed S --epochs E` for every (variant, seed), one after
another, each with TensorFlow's default threads; (b) `snakemake --cores 2` on every run's metrics.json in a
temp copy of the workflow (threads as in config.yaml; the padded data is made first, outside the timing).
Prints both wall times and the ratio (b) / (a); the goal is <= 0.6. ``--arm`` times one of them alone.
"""

import argparse
import tempfile
from pathlib import Path

from workflow_copy import REPO, SNAKEMAKE, plain_keras, reuters_config, run_file, timed, workflow_copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=["lstm", "gru"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--arm", choices=["both", "plain", "pipeline"], default="both",
                        help="time one arm only (the whole study takes hours per arm); each plain run is printed")
    args = parser.parse_args()

    runs = [(v, s) for v in args.variants for s in args.seeds]
    print(f"{len(runs)} runs x {args.epochs} epochs ({', '.join(args.variants)}; seeds {args.seeds})", flush=True)
    walls = {}
    if args.arm in ("both", "plain"):
        walls["plain"] = 0.0
        for variant, seed in runs:
            wall = timed(plain_keras(variant, args.epochs, seed), REPO)
            walls["plain"] += wall
            print(f"  plain {variant} seed {seed}: {wall:.1f} s", flush=True)
        print(f"plain Keras script, one after another: {walls['plain']:7.1f} s", flush=True)
    if args.arm in ("both", "pipeline"):
        config = reuters_config(args.variants, seeds=args.seeds, epochs=args.epochs)
        with tempfile.TemporaryDirectory() as tmp:
            root = workflow_copy(Path(tmp) / "study", config)
            timed([SNAKEMAKE, "--cores", "2", "data/padded/reuters.npz"], root)
            targets = [run_file(config, v, s, "metrics.json") for v, s in runs]
            walls["pipeline"] = timed([SNAKEMAKE, "--cores", "2", *targets], root)
        print(f"pipeline, snakemake --cores 2 (threads {config['threads']}): {walls['pipeline']:7.1f} s")
    if len(walls) == 2:
        print(f"ratio pipeline / plain: {walls['pipeline'] / walls['plain']:.2f} (P1 goal <= 0.6)")


if __name__ == "__main__":
    main()
