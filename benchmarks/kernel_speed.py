"""Seconds per epoch of each variant under kernel options, measured in one process, one after another.

    PYTHONPATH=. .venv/bin/python benchmarks/kernel_speed.py data/padded/reuters.npz \
        --variants lstm deep_rnn deep_lstm_glorot --epochs 4 --threads 1

Options (each against the same model built by rnnbench.models.build_model):
  default   Keras's own layers and Adam (the spec's ``engine: keras``), model.fit on numpy arrays,
            as the notebook ran it
  fused     the pipeline's default kernel (``engine: fused``, rnnbench/engines.py): input product
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
tracing and compilation), and that mean as a ratio to the default's.
"""

import argparse

import numpy as np
import yaml

from rnnbench.data import load_padded
from rnnbench.training import compile_classifier, configure_tensorflow, split_validation
from timing import epoch_timer

OPTIONS = ["default", "jit", "tfdata", "tensors", "unroll", "fused", "pipeline"]


def build(spec, data, option):
    import keras

    from rnnbench.models import build_model

    kernel = "fused" if option in ("fused", "pipeline") else "keras"
    spec = {**spec, "engine": kernel}
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
    compile_classifier(model, kernel, 0.001, xla=True if option == "jit" else None)
    return model, kernel


def epoch_seconds(spec, data, option, epochs, batch_size, validation_split):
    import tensorflow as tf

    from rnnbench.engines import batches, validation_batch_size, validation_batches

    (x, y), validation = split_validation(data["x_train"], data["y_train"], validation_split)
    model, kernel = build(spec, data, option)
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
        model.fit(batches(x, y, batch_size), validation_data=validation_batches(validation, kernel, batch_size),
                  epochs=epochs, shuffle=False, callbacks=[timer], verbose=0)
    else:
        model.fit(x, y, batch_size=batch_size, validation_data=validation, epochs=epochs, shuffle=False,
                  callbacks=[timer], verbose=0, validation_batch_size=validation_batch_size(kernel, batch_size))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("padded", help="data/padded/<dataset>.npz from the pad rule")
    parser.add_argument("--variants", nargs="+", default=["lstm"])
    parser.add_argument("--options", nargs="+", default=OPTIONS, choices=OPTIONS)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-size", type=int, help="instead of config.yaml's (a diagnostic: is an epoch "
                        "bound by per-step overhead or by arithmetic?)")
    args = parser.parse_args()

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


if __name__ == "__main__":
    main()
