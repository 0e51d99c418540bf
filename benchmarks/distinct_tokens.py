"""P3's next lever, prototyped: a single-layer LSTM whose input product is taken once per distinct token
of a batch, against the fused LSTM as the pipeline trains it, same start weights, same batches.

    PYTHONPATH=. .venv/bin/python benchmarks/distinct_tokens.py data/padded/reuters.npz --epochs 5 --threads 1

A batch of 50 Reuters documents holds 5,000 token positions but about 900 distinct tokens, and the
input product ``embedding(token) @ kernel`` depends on the token alone (no input dropout here). The
prototype sorts the batch's token ids inside the compiled step, numbers the distinct ones, projects
only those (a static capacity per batch size, taken from the very batches this run will see, so none
overflows) and gathers the projected rows back to their positions. It is a measurement, not a
kernel: no fallback for a batch over capacity, no masking, dropout, stacking or Bidirectional, and
not in the pipeline (docs/performance.md, "P3, what the profile shows", says what the real layer
needs).

Only the forward product and the kernel's gradient shrink. The embedding's gradient stays one slice
per position (the full-size product): Keras 3's Adam squares each slice of a sparse gradient, so
summing a token's slices first (what a plain gather of the distinct rows gives) changes Adam's
second moment, the change measured earlier to cost the LSTM 3 points of accuracy (rnnbench/kernels.py).

Prints each arm's epoch seconds, the mean of epochs 2.., and the losses side by side: the two compute
the same function and the same Adam update in another order, so they agree to rounding at first and
drift apart as training amplifies rounding.
"""

import argparse
import time

import numpy as np
import yaml

from rnnbench.data import load_padded
from rnnbench.training import batches, configure_tensorflow, epoch_order, split_validation, validation_batches


def distinct_capacities(arrays, multiple: int = 64) -> dict[int, int]:
    """For each batch size among ``arrays`` (token batches), the most distinct tokens any batch of
    that size holds, rounded up to ``multiple``."""
    capacities: dict[int, int] = {}
    for batch in arrays:
        count = len(np.unique(batch))
        capacities[len(batch)] = max(capacities.get(len(batch), 0), -(-count // multiple) * multiple)
    return capacities


def build_pair(data, variant: dict, embedding_dim: int, capacities: dict[int, int]):
    """(fused model, distinct-token model) with the same weights."""
    import keras
    import tensorflow as tf

    from rnnbench import kernels
    from rnnbench.models import build_model

    maxlen, num_words, classes = data["x_train"].shape[1], int(data["num_words"]), int(data["num_classes"])
    fused = build_model(variant, num_words=num_words, maxlen=maxlen, embedding_dim=embedding_dim,
                        num_classes=classes)
    lstm = fused.get_layer("lstm_1")
    units = lstm.cell.units

    class DistinctProjection(keras.layers.Layer):
        """tokens -> embeddings[tokens] @ kernel, computed once per distinct token of the batch."""

        def build(self, shape):
            self.embeddings = self.add_weight(shape=(num_words, embedding_dim), name="embeddings")
            self.kernel = self.add_weight(shape=(embedding_dim, 4 * units), name="kernel")

        def call(self, tokens):
            capacity = capacities.get(tokens.shape[0], max(capacities.values()))  # None: symbolic build
            flat = tf.reshape(tf.cast(tokens, tf.int32), [-1])
            order = tf.argsort(flat, stable=True)
            ordered = tf.gather(flat, order)
            new = tf.concat([[1], tf.cast(ordered[1:] != ordered[:-1], tf.int32)], 0)
            number = tf.cumsum(new) - 1  # each sorted position's distinct-token number
            unique = tf.math.unsorted_segment_max(ordered, number, capacity)
            unique = tf.maximum(unique, 0)  # unused capacity rows read token 0
            inverse = tf.scatter_nd(order[:, None], number, tf.shape(flat))
            return tf.reshape(project(self.embeddings.value, self.kernel.value, flat, unique, inverse, capacity),
                              [-1, maxlen, 4 * units])

    def project(embeddings, kernel, flat, unique, inverse, capacity):
        @tf.custom_gradient
        def product(embeddings, kernel):
            rows = tf.gather(embeddings, unique)
            projected = tf.gather(tf.matmul(rows, kernel), inverse)

            def gradient(upstream):
                # the kernel's gradient summed per distinct token first: the small product
                per_token = tf.math.unsorted_segment_sum(upstream, inverse, capacity)
                kernel_gradient = tf.matmul(rows, per_token, transpose_a=True)
                # the embedding's, one slice per position, as Keras's Embedding gives Adam (which squares each
                # slice: summing a token's slices first would change Adam's second moment)
                slices = tf.matmul(upstream, kernel, transpose_b=True)
                return tf.IndexedSlices(slices, flat, tf.shape(embeddings, out_type=tf.int64)), kernel_gradient

            return projected, gradient

        return product(embeddings, kernel)

    class PreProjectedLSTM(kernels.LSTM):
        """The fused LSTM fed its input product ready-made."""

        def _product(self, x, kernel, get_mask, rate, training, time_axis=False):
            return x if time_axis else super()._product(x, kernel, get_mask, rate, training, time_axis)

    tokens = keras.Input(shape=(maxlen,), batch_size=None, dtype="int32")
    projection = DistinctProjection()
    recurrent = PreProjectedLSTM(units, name="lstm_1")
    topic = keras.layers.Dense(classes, activation="softmax")
    distinct = keras.Model(tokens, topic(recurrent(projection(tokens))))
    projection.set_weights([fused.get_layer("embedding").get_weights()[0], lstm.cell.kernel.numpy()])
    recurrent.cell.recurrent_kernel.assign(lstm.cell.recurrent_kernel)
    recurrent.cell.bias.assign(lstm.cell.bias)
    topic.set_weights(fused.get_layer("topic").get_weights())
    return fused, distinct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("padded", help="data/padded/<dataset>.npz from the pad rule")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    config = yaml.safe_load(open("config.yaml"))
    variant, batch_size = config["variants"]["lstm"], config["batch_size"]
    configure_tensorflow(args.threads, args.seed)
    from rnnbench import kernels

    data = load_padded(args.padded)
    (x_fit, y_fit), validation = split_validation(data["x_train"], data["y_train"], config["validation_split"])
    orders = [epoch_order(len(x_fit), args.seed, epoch) for epoch in range(args.epochs)]
    validation_size = kernels.validation_batch_size(variant.get("kernel", "fused"), batch_size)
    capacities = distinct_capacities(
        [x_fit[order][i:i + batch_size] for order in orders for i in range(0, len(x_fit), batch_size)]
        + [validation[0][i:i + validation_size] for i in range(0, len(validation[0]), validation_size)])
    print(f"distinct-token capacity by batch size: {dict(sorted(capacities.items()))}")

    results = {}
    for name, model in zip(("fused", "distinct"), build_pair(data, variant, config["datasets"]["reuters"]["embedding_dim"],
                                                                capacities)):
        kernels.compile_model(model, "fused", 0.001, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        val = validation_batches(validation, "fused", batch_size)
        seconds, losses = [], []
        for order in orders:
            start = time.perf_counter()
            fit = model.fit(batches(x_fit[order], y_fit[order], batch_size), epochs=1, validation_data=val, verbose=0)
            seconds.append(time.perf_counter() - start)
            losses.append((fit.history["loss"][-1], fit.history["val_loss"][-1], fit.history["val_accuracy"][-1]))
        results[name] = seconds, losses
        print(f"{name:8s} threads={args.threads}: epoch seconds {[round(s, 2) for s in seconds]}; "
              f"mean 2..: {np.mean(seconds[1:]):.2f}")
    for epoch, (a, b) in enumerate(zip(results["fused"][1], results["distinct"][1]), 1):
        print(f"epoch {epoch}: loss {a[0]:.6f} / {b[0]:.6f}  val_loss {a[1]:.6f} / {b[1]:.6f}  "
              f"val_accuracy {a[2]:.4f} / {b[2]:.4f}  (fused / distinct)")


if __name__ == "__main__":
    main()
