"""Whole-pipeline wall time against the notebook's plain Keras script: per-job overhead (P2), a study (P1), threads per job.

    .venv/bin/python benchmarks/pipeline_speed.py COMMAND [options]   (COMMAND --help for its options)

Commands:
- ``overhead``: see ``overhead``.
- ``study``: see ``study``.
- ``parallelism``: see ``parallelism``.
- ``plain``: see ``plain``.
"""

import argparse
import numpy as np
import tempfile
import yaml
from pathlib import Path


from common import REPO, SNAKEMAKE, dispatch, plain_keras, reuters_config, run_file, timed, workflow_copy


def overhead(argv) -> None:
    """Fixed per-job overhead of the pipeline: one run as a plain Keras script against one pipeline job.

    KERAS_HOME=... .venv/bin/python benchmarks/pipeline_speed.py overhead --variant lstm --epochs 2 10 --threads 2

For each epoch count E, times (a) `python benchmarks/pipeline_speed.py plain --epochs E` and (b)
`snakemake --cores 2` on that run's metrics.json (train + evaluate; the padded data is made
beforehand, as in a study where pad runs once). Fits wall = fixed + per_epoch * E to each and
prints both fits, the fixed overhead of (b) over (a) and its share of a 40-epoch job, and each arm's
minor page faults and system seconds (every process of the command), with their slopes per epoch.

``--repeats R`` times each point R times, alternating the arms, and fits the medians (a two-point
fit from single timings moves by seconds on this VM).

``--xla-cache cold`` (the default) gives each pipeline job an empty XLA cache (.cache/ in the
workflow), so it compiles its training step, as the first seed of a variant does; ``warm`` shares
one cache that an untimed job of the same variant filled first, as the later seeds find it."""
    parser = argparse.ArgumentParser(prog="pipeline_speed.py overhead", description=overhead.__doc__)
    parser.add_argument("--variant", default="lstm")
    parser.add_argument("--epochs", nargs="+", type=int, default=[2, 10])
    parser.add_argument("--threads", type=int, default=2,
                        help="the pipeline job's threads; the plain script uses TensorFlow's default (all cores)")
    parser.add_argument("--xla-cache", choices=["cold", "warm"], default="cold")
    parser.add_argument("--repeats", type=int, default=1, help="timings per point; the fit uses their medians")
    args = parser.parse_args(argv)

    plain, pipeline = [], []
    usage = {"plain Keras script": [], "pipeline job": []}
    with tempfile.TemporaryDirectory() as tmp:
        shared_cache = Path(tmp) / "cache"

        def pipeline_job(name, epochs, used=None):
            config = reuters_config([args.variant], seeds=[0], epochs=epochs, threads=args.threads)
            root = workflow_copy(Path(tmp) / name, config)
            if args.xla_cache == "warm":
                shared_cache.mkdir(exist_ok=True)
                (root / ".cache").symlink_to(shared_cache)
            timed([SNAKEMAKE, "--cores", "2", "data/padded/reuters.npz"], root)
            return timed([SNAKEMAKE, "--cores", "2", run_file(config, args.variant, 0, "metrics.json")], root, used)

        if args.xla_cache == "warm":
            pipeline_job("warm-up", 1)
        for epochs in args.epochs:
            plain_walls, pipeline_walls, plain_used, pipeline_used = [], [], [], []
            for repeat in range(args.repeats):
                plain_walls.append(timed(plain_keras(args.variant, epochs), REPO, plain_used))
                pipeline_walls.append(pipeline_job(f"e{epochs}-{repeat}", epochs, pipeline_used))
            usage["plain Keras script"].append(np.median(plain_used, axis=0))
            usage["pipeline job"].append(np.median(pipeline_used, axis=0))
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
    for name, used in usage.items():
        faults, system = np.array(used).T
        print(f"{name:20s} " + "  ".join(f"E={e}: {f:,.0f} minor page faults, {s:.1f} s system"
                                         for e, f, s in zip(args.epochs, faults, system))
              + f"  -> {np.polyfit(args.epochs, faults, 1)[0]:,.0f} faults and "
                f"{np.polyfit(args.epochs, system, 1)[0]:.2f} s system per epoch")
    extra = fits["pipeline job"][0] - fits["plain Keras script"][0]
    job40 = fits["pipeline job"][0] + 40 * fits["pipeline job"][1]
    print(f"fixed overhead of the pipeline job over the script: {extra:.1f} s "
          f"= {100 * extra / job40:.1f}% of a 40-epoch pipeline job ({job40:.0f} s)")


def study(argv) -> None:
    """P1: a study through the pipeline at --cores 2 against the same runs done one after another by the
plain Keras script (the notebook's way).

    KERAS_HOME=... PYTHONPATH=. .venv/bin/python benchmarks/pipeline_speed.py study --variants lstm gru --seeds 0 1 --epochs 10

(a) `python benchmarks/pipeline_speed.py plain --variant V --seed S --epochs E` for every (variant, seed), one after
another, each with TensorFlow's default threads; (b) `snakemake --cores 2` on every run's metrics.json in a
temp copy of the workflow (threads as in config.yaml; the padded data is made first, outside the timing).
Prints both wall times and the ratio (b) / (a); the goal is <= 0.6. ``--arm`` times one of them alone."""
    parser = argparse.ArgumentParser(prog="pipeline_speed.py study", description=study.__doc__)
    parser.add_argument("--variants", nargs="+", default=["lstm", "gru"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--arm", choices=["both", "plain", "pipeline"], default="both",
                        help="time one arm only (the whole study takes hours per arm); each plain run is printed")
    args = parser.parse_args(argv)

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


def parallelism(argv) -> None:
    """Training throughput at --cores 2: two 1-thread jobs at a time against one 2-thread job at a time.

    KERAS_HOME=... .venv/bin/python benchmarks/pipeline_speed.py parallelism --variants lstm gru --seeds 0 1 --epochs 5

Runs the real workflow twice in temp copies (same data, same jobs; only `threads` differs), timing
`snakemake --cores 2` on the training targets, and prints the wall time and throughput of each.
The padded data is made first, outside the timing."""
    parser = argparse.ArgumentParser(prog="pipeline_speed.py parallelism", description=parallelism.__doc__)
    parser.add_argument("--variants", nargs="+", default=["lstm", "gru"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args(argv)

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


def plain(argv) -> None:
    """The notebook's code as a plain Keras script: load Reuters, pad, build one variant, fit, evaluate.

    KERAS_HOME=... .venv/bin/python benchmarks/pipeline_speed.py plain --variant lstm --epochs 40

The reference that benchmarks/pipeline_speed.py overhead compares one pipeline job against. TensorFlow's default
thread pools, Keras's own layers, Adam, shuffling and validation_split, as in the notebook (the
pipeline's default ``engine: fused`` is not used here)."""
    parser = argparse.ArgumentParser(prog="pipeline_speed.py plain", description=plain.__doc__)
    parser.add_argument("--variant", default="lstm")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import keras

    from rnnbench.models import build_model

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    dataset = config["datasets"]["reuters"]
    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = keras.datasets.reuters.load_data(
        num_words=dataset["num_words"], maxlen=dataset["maxlen"])
    pad = dict(maxlen=dataset["maxlen"], padding=dataset["padding"])
    x_train, x_test = keras.utils.pad_sequences(x_train, **pad), keras.utils.pad_sequences(x_test, **pad)
    spec = {**config["variants"][args.variant], "engine": "keras"}  # Keras's own layers, as the notebook
    model = build_model(spec, num_words=dataset["num_words"], maxlen=dataset["maxlen"],
                        embedding_dim=dataset["embedding_dim"], num_classes=46)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=config["batch_size"],
              validation_split=config["validation_split"], verbose=0)
    print(f"test accuracy {model.evaluate(x_test, y_test, verbose=0)[1]:.3f}")


if __name__ == "__main__":
    dispatch({"overhead": overhead, "study": study, "parallelism": parallelism, "plain": plain})
