"""Where an epoch's time goes: one epoch under TensorFlow's profiler, summed by op.

    PYTHONPATH=. .venv/bin/python benchmarks/profile_epoch.py data/padded/reuters.npz --variant lstm --threads 1

Trains one untimed epoch (tracing and XLA compilation), then profiles the next one exactly as a
pipeline job runs it (``rnnbench.engines.batches``, the spec's engine) and prints, for each
thread that did work, the ops with the most time: total seconds, calls, name. With the fused
kernel the XLA program's parts show up by their HLO names (``MatMul.16``, ``while.25``, fusions):
a ``while`` is a recurrence, with its steps' ops listed separately by call count (67 batches ×
100 steps = 6,700 calls).
"""

import argparse
import collections
import glob
import tempfile
import time

import yaml

from rnnbench.data import load_padded
from rnnbench.training import compile_classifier, configure_tensorflow, split_validation


def summarize(path: str, top: int) -> None:
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    with open(path, "rb") as handle:
        space.ParseFromString(handle.read())
    for plane in space.planes:
        names = {key: value.name for key, value in plane.event_metadata.items()}
        for line in plane.lines:
            seconds, calls = collections.Counter(), collections.Counter()
            for event in line.events:
                name = names.get(event.metadata_id, "?")
                seconds[name] += event.duration_ps / 1e12
                calls[name] += 1
            if not seconds or max(seconds.values()) < 0.001:
                continue
            print(f"== {plane.name} / {line.name}")
            for name, total in seconds.most_common(top):
                print(f"  {total:8.3f} s {calls[name]:8d}  {name[:100]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("padded", help="data/padded/<dataset>.npz from the pad rule")
    parser.add_argument("--variant", default="lstm")
    parser.add_argument("--engine", choices=["fused", "keras"], default="fused")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--top", type=int, default=20, help="ops listed per thread")
    args = parser.parse_args()

    configure_tensorflow(args.threads, 0)
    import tensorflow as tf

    from rnnbench.engines import batches, validation_batches
    from rnnbench.models import build_model

    config = yaml.safe_load(open("config.yaml"))
    data = load_padded(args.padded)
    spec = {**config["variants"][args.variant], "engine": args.engine}
    model = build_model(spec, num_words=int(data["num_words"]), maxlen=data["x_train"].shape[1],
                        embedding_dim=256, num_classes=int(data["num_classes"]))
    compile_classifier(model, args.engine, spec.get("learning_rate", 0.001))
    (x, y), validation = split_validation(data["x_train"], data["y_train"], config["validation_split"])
    batch_size = config["batch_size"]
    validation = validation_batches(validation, args.engine, batch_size)
    model.fit(batches(x, y, batch_size), validation_data=validation, epochs=1, shuffle=False, verbose=0)
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        start = time.perf_counter()
        model.fit(batches(x, y, batch_size), validation_data=validation, epochs=1, shuffle=False, verbose=0)
        seconds = time.perf_counter() - start
        tf.profiler.experimental.stop()
        print(f"{args.variant} engine={args.engine} threads={args.threads}: profiled epoch {seconds:.2f} s")
        summarize(sorted(glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True))[-1], args.top)


if __name__ == "__main__":
    main()
