"""Fixed per-job overhead of the pipeline: one run as a plain Keras script against one pipeline job.

    KERAS_HOME=... .venv/bin/python benchmarks/overhead.py --variant lstm --epochs 2 10 --threads 2

For each epoch count E, times (a) `python benchmarks/plain_keras.py --epochs E` and (b)
`snakemake --cores 2` on that run's metrics.json (train + evaluate; the padded data is made
beforehand, as in a study where pad runs once). Fits wall = fixed + per_epoch * E to each and
prints both fits, the fixed overhead of (b) over (a) and its share of a 40-epoch job.

``--repeats R`` times each point R times, alternating the arms, and fits the medians (a two-point
fit from single timings moves by seconds on this VM).

``--xla-cache cold`` (the default) gives each pipeline job an empty XLA cache (.cache/ in the
workflow), so it compiles its training step, as the first seed of a variant does; ``warm`` shares
one cache that an untimed job of the same variant filled first, as the later seeds find it.
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np

from workflow_copy import REPO, SNAKEMAKE, plain_keras, reuters_config, run_file, timed, workflow_copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="lstm")
    parser.add_argument("--epochs", nargs="+", type=int, default=[2, 10])
    parser.add_argument("--threads", type=int, default=2,
                        help="the pipeline job's threads; the plain script uses TensorFlow's default (all cores)")
    parser.add_argument("--xla-cache", choices=["cold", "warm"], default="cold")
    parser.add_argument("--repeats", type=int, default=1, help="timings per point; the fit uses their medians")
    args = parser.parse_args()

    plain, pipeline = [], []
    with tempfile.TemporaryDirectory() as tmp:
        shared_cache = Path(tmp) / "cache"

        def pipeline_job(name, epochs):
            config = reuters_config([args.variant], seeds=[0], epochs=epochs, threads=args.threads)
            root = workflow_copy(Path(tmp) / name, config)
            if args.xla_cache == "warm":
                shared_cache.mkdir(exist_ok=True)
                (root / ".cache").symlink_to(shared_cache)
            timed([SNAKEMAKE, "--cores", "2", "data/padded/reuters.npz"], root)
            return timed([SNAKEMAKE, "--cores", "2", run_file(config, args.variant, 0, "metrics.json")], root)

        if args.xla_cache == "warm":
            pipeline_job("warm-up", 1)
        for epochs in args.epochs:
            plain_walls, pipeline_walls = [], []
            for repeat in range(args.repeats):
                plain_walls.append(timed(plain_keras(args.variant, epochs), REPO))
                pipeline_walls.append(pipeline_job(f"e{epochs}-{repeat}", epochs))
            if args.repeats > 1:
                print(f"E={epochs}: plain {[round(w, 1) for w in plain_walls]} s, "
                      f"pipeline {[round(w, 1) for w in pipeline_walls]} s")
            plain.append(float(np.median(plain_walls)))
            pipeline.append(float(np.median(pipeline_walls)))
    fits = {}
    for name, walls in (("plain Keras script", plain), ("pipeline job", pipeline)):
        per_epoch, fixed = np.polyfit(args.epochs, walls, 1)
        fits[name] = (fixed, per_epoch)
        print(f"{name:20s} " + "  ".join(f"E={e}: {w:6.1f} s" for e, w in zip(args.epochs, walls))
              + f"  -> fixed {fixed:5.1f} s + {per_epoch:.2f} s/epoch")
    extra = fits["pipeline job"][0] - fits["plain Keras script"][0]
    job40 = fits["pipeline job"][0] + 40 * fits["pipeline job"][1]
    print(f"fixed overhead of the pipeline job over the script: {extra:.1f} s "
          f"= {100 * extra / job40:.1f}% of a 40-epoch pipeline job ({job40:.0f} s)")


if __name__ == "__main__":
    main()
