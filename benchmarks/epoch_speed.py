"""Seconds per training epoch: the pipeline's loop, options of the training set-up, a profile by op.

    .venv/bin/python benchmarks/epoch_speed.py COMMAND [options]   (COMMAND --help for its options)

Commands:
- ``epoch``: see ``epoch``.
- ``options``: see ``options``.
- ``profile``: see ``profile``.
"""

import argparse
import collections
import glob
import json
import numpy as np
import tempfile
import time
import yaml
from pathlib import Path

from rnnbench.data import load_padded
from rnnbench.runtime import configure_tensorflow
from rnnbench.training import compile_classifier, split_validation, train
from common import epoch_timer, dispatch


def epoch(argv) -> None:
    """Seconds per epoch of one variant on the padded data: rnnbench's per-epoch training loop, or one
plain ``model.fit`` call as the notebook did.

    .venv/bin/python benchmarks/epoch_speed.py epoch data/padded/reuters.npz --mode loop --threads 1
    .venv/bin/python benchmarks/epoch_speed.py epoch data/padded/reuters.npz --mode single --threads 1 --engine keras
    .venv/bin/python benchmarks/epoch_speed.py epoch data/padded/reuters.npz --threads 1 --token-product off

Prints each epoch's seconds and the mean of epochs 2.. (the first one includes tracing), with the minor page
faults and system seconds of those steady epochs; ``--allocator bfc`` or ``malloc`` chooses TensorFlow's CPU
allocator, to compare."""
    parser = argparse.ArgumentParser(prog="epoch_speed.py epoch", description=epoch.__doc__)
    parser.add_argument("padded", help="data/padded/<dataset>.npz from the pad rule")
    parser.add_argument("--dataset", help="its entry in config.yaml (default: the padded file's name)")
    parser.add_argument("--mode", choices=["loop", "single"], default="loop")
    parser.add_argument("--variant", default="lstm")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--engine", choices=["fused", "keras"], default="fused",
                        help="how fast the model is computed (the spec field; rnnbench/engines.py)")
    parser.add_argument("--token-product", choices=["on", "off"], default="on",
                        help="fused: project each distinct token once (the default) or every position")
    parser.add_argument("--allocator", choices=["default", "bfc", "malloc"], default="default",
                        help="TensorFlow's CPU allocator: as a job chooses it (the best-fit allocator unless "
                             "TF_CPU_ALLOCATOR_USE_BFC says otherwise), the best-fit allocator, or malloc")
    args = parser.parse_args(argv)
    bfc_allocator = {"default": None, "bfc": True, "malloc": False}[args.allocator]
    configure_tensorflow(args.threads, 0, bfc_allocator=bfc_allocator)  # before Keras comes in with rnnbench.engines
    from rnnbench import engines
    from rnnbench.config import train_slice

    token_product = args.token_product == "on"

    config = {**yaml.safe_load(open("config.yaml")), "epochs": args.epochs}
    data = load_padded(args.padded)
    dataset = args.dataset or Path(args.padded).stem
    spec = json.loads(train_slice(config, dataset, {**config["variants"][args.variant], "engine": args.engine}))
    usage = [resource_use()]
    if args.mode == "loop":
        _, history, _ = train(data, spec, seed=0, threads=args.threads, verbose=0, token_product=token_product,
                              bfc_allocator=bfc_allocator, on_epoch_end=lambda row: usage.append(resource_use()))
        seconds = history["seconds"].tolist()
    else:
        import keras

        from rnnbench.models import build_model

        model = build_model(spec["variant"], num_words=int(data["num_words"]), maxlen=data["x_train"].shape[1],
                            embedding_dim=spec["embedding_dim"], num_classes=int(data["num_classes"]),
                            token_product=token_product)
        engines.compile_model(model, args.engine, 0.001, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        timer, seconds = epoch_timer()
        meter = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: usage.append(resource_use()))
        model.fit(data["x_train"], data["y_train"], epochs=args.epochs, batch_size=spec["batch_size"],
                  validation_split=spec["validation_split"], callbacks=[timer, meter], verbose=0,
                  validation_batch_size=engines.validation_batch_size(args.engine, spec["batch_size"]))
    lever = f" token-product={args.token_product}" if args.engine == "fused" else ""
    steady = len(usage) - 2  # epochs 2..
    faults, system = ((usage[-1][i] - usage[1][i]) / max(steady, 1) for i in (0, 1))
    print(f"{args.mode} {args.engine}{lever} allocator={args.allocator} {args.variant} threads={args.threads}: "
          f"epoch seconds {[round(s, 2) for s in seconds]}; mean of epochs 2..: {np.mean(seconds[1:]):.2f}; "
          f"per epoch 2..: {faults:,.0f} minor page faults, {system:.2f} system seconds")


def resource_use() -> tuple[int, float]:
    """This process's minor page faults and system CPU seconds so far."""
    import resource

    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_minflt, use.ru_stime


OPTIONS = ["default", "jit", "tfdata", "tensors", "unroll", "fused", "pipeline"]


def build(spec, data, option):
    import keras

    from rnnbench.models import build_model

    engine = "fused" if option in ("fused", "pipeline") else "keras"
    spec = {**spec, "engine": engine}
    model = build_model(spec, num_words=int(data["num_words"]), maxlen=data["x_train"].shape[1],
                        embedding_dim=256, num_classes=int(data["num_classes"]))
    if option == "unroll":
        def clone(layer):
            config = layer.get_config()
            if isinstance(layer, keras.layers.RNN):
                config["unroll"] = True
            elif isinstance(layer, keras.layers.Bidirectional):
                config["layer"]["config"]["unroll"] = True
            return layer.__class__.from_config(config)

        unrolled = keras.models.clone_model(model, clone_function=clone)
        unrolled.set_weights(model.get_weights())  # the same starting point as the rolled model
        model = unrolled
    compile_classifier(model, engine, 0.001, xla=True if option == "jit" else None)
    return model, engine


def epoch_seconds(spec, data, option, epochs, batch_size, validation_split):
    import tensorflow as tf

    from rnnbench.engines import batches, validation_batch_size, validation_batches

    (x, y), validation = split_validation(data["x_train"], data["y_train"], validation_split)
    model, engine = build(spec, data, option)
    timer, seconds = epoch_timer()
    if option == "tfdata":
        train = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size).prefetch(tf.data.AUTOTUNE)
        val = tf.data.Dataset.from_tensor_slices(validation).batch(batch_size).prefetch(tf.data.AUTOTUNE)
        model.fit(train, validation_data=val, epochs=epochs, callbacks=[timer], verbose=0)
    elif option == "tensors":
        validation = tuple(tf.constant(a) for a in validation)
        model.fit(tf.constant(x), tf.constant(y), batch_size=batch_size, validation_data=validation, epochs=epochs,
                  shuffle=False, callbacks=[timer], verbose=0)
    elif option == "pipeline":
        model.fit(batches(x, y, batch_size), validation_data=validation_batches(validation, engine, batch_size),
                  epochs=epochs, shuffle=False, callbacks=[timer], verbose=0)
    else:
        model.fit(x, y, batch_size=batch_size, validation_data=validation, epochs=epochs, shuffle=False,
                  callbacks=[timer], verbose=0, validation_batch_size=validation_batch_size(engine, batch_size))
    return seconds


def options(argv) -> None:
    """Seconds per epoch of each variant under options of the training set-up, measured in one process, one after another.

    PYTHONPATH=. .venv/bin/python benchmarks/epoch_speed.py options data/padded/reuters.npz \
        --variants lstm deep_rnn deep_lstm_glorot --epochs 4 --threads 1

Options (each against the same model built by rnnbench.models.build_model):
  default   Keras's own layers and Adam (the spec's ``engine: keras``), model.fit on numpy arrays,
            as the notebook ran it
  fused     the pipeline's default engine (``engine: fused``, rnnbench/engines.py): input product
            hoisted out of the recurrence, XLA, validation batch 256; model.fit on numpy arrays
  pipeline  ``fused`` fed as the pipeline feeds it: rnnbench.engines.batches (tf.data without
            autotuning or default rewrites)
  jit       model.compile(jit_compile=True): XLA on CPU
  tfdata    a tf.data pipeline from the arrays: batched and prefetched (rebuilt each epoch in training,
            since the order changes, so not cached)
  tensors   model.fit on tf tensors instead of numpy arrays
  unroll    recurrent layers with unroll=True (no while loop; the sequence length is fixed)
The options other than ``fused`` and ``pipeline`` change one thing each against ``default``.

Prints one line per (variant, option): epoch seconds, the mean of epochs 2.. (epoch 1 includes
tracing and compilation), and that mean as a ratio to the default's."""
    parser = argparse.ArgumentParser(prog="epoch_speed.py options", description=options.__doc__)
    parser.add_argument("padded", help="data/padded/<dataset>.npz from the pad rule")
    parser.add_argument("--variants", nargs="+", default=["lstm"])
    parser.add_argument("--options", nargs="+", default=OPTIONS, choices=OPTIONS)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-size", type=int, help="instead of config.yaml's (a diagnostic: is an epoch "
                        "bound by per-step overhead or by arithmetic?)")
    args = parser.parse_args(argv)

    configure_tensorflow(args.threads, 0)
    config = yaml.safe_load(open("config.yaml"))
    data = load_padded(args.padded)
    for variant in args.variants:
        baseline = None
        for option in args.options:
            seconds = epoch_seconds(config["variants"][variant], data, option, args.epochs,
                                    args.batch_size or config["batch_size"], config["validation_split"])
            mean = float(np.mean(seconds[1:]))
            baseline = baseline or mean
            print(f"{variant:26s} {option:8s} threads={args.threads} batch={args.batch_size or config['batch_size']} epochs {[round(s, 2) for s in seconds]} "
                  f"mean 2..: {mean:.2f} s  ratio to default: {mean / baseline:.2f}", flush=True)


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


def profile(argv) -> None:
    """Where an epoch's time goes: one epoch under TensorFlow's profiler, summed by op.

    PYTHONPATH=. .venv/bin/python benchmarks/epoch_speed.py profile data/padded/reuters.npz --variant lstm --threads 1

Trains one untimed epoch (tracing and XLA compilation), then profiles the next one exactly as a
pipeline job runs it (``rnnbench.engines.batches``, the spec's engine) and prints, for each
thread that did work, the ops with the most time: total seconds, calls, name. With the fused
engine the XLA program's parts show up by their HLO names (``MatMul.16``, ``while.25``, fusions):
a ``while`` is a recurrence, with its steps' ops listed separately by call count (67 batches ×
100 steps = 6,700 calls)."""
    parser = argparse.ArgumentParser(prog="epoch_speed.py profile", description=profile.__doc__)
    parser.add_argument("padded", help="data/padded/<dataset>.npz from the pad rule")
    parser.add_argument("--variant", default="lstm")
    parser.add_argument("--engine", choices=["fused", "keras"], default="fused")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--top", type=int, default=20, help="ops listed per thread")
    args = parser.parse_args(argv)

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
    dispatch({"epoch": epoch, "options": options, "profile": profile})
