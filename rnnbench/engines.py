"""How fast a model trains, never what it is: the spec's ``engine`` and everything it decides.

``fused`` (the default) computes the same models as Keras's layers, faster on CPU. Keras's recurrent
layers multiply each time step's input by the input kernel inside the recurrence; the layers here
(``LSTM``, ``GRU``, ``SimpleRNN``) hoist that product out of the loop, and the first one after the
``Embedding`` projects each distinct token of a batch once (``token_product``), with a gradient that
hands Adam the same per-position slices as Keras's product. They subclass Keras's layers and keep
their weights, so outputs and gradients agree with Keras's to rounding (tests/test_engines.py). The
training step is compiled with XLA on CPU, a short last batch is filled with weightless rows so that
there is one batch shape (``batches``), and validation runs in one large batch. On a GPU the layers
defer to Keras (cuDNN). ``keras`` is Keras's own layers without XLA, as the notebook ran them.

A saved model holds Keras's own classes whatever the engine (``to_keras``): it loads with plain Keras.

Private Keras and TensorFlow APIs used here, which a Keras upgrade may break (the equivalence grid in
tests/test_engines.py then fails):
- ``keras.src.backend.rnn``: the recurrence loop Keras's RNN layers run;
- ``keras.layers.RNN.inner_loop``: overridden to hand that loop the hoisted product;
- ``LSTMCell._compute_carry_and_output_fused``: the LSTM's gate arithmetic;
- ``DropoutRNNCell.get_dropout_mask``, ``get_recurrent_dropout_mask`` and ``dropout_mask_count``:
  Keras's per-batch dropout masks, one per gate with recurrent dropout;
- ``Embedding.quantization_mode`` and ``lora_enabled``: when the plain lookup is Keras's;
- an attribute set on a tensor (``TOKENS_ATTRIBUTE``), as Keras marks masks on tensors;
- ``Model._jit_compile``: XLA set on a model under op determinism, which Keras's setter refuses.
"""

from __future__ import annotations

import functools
import zipfile

from rnnbench.runtime import import_keras

keras = import_keras()
from keras import ops  # noqa: E402

ENGINES = ("fused", "keras")
VALIDATION_BATCH_SIZE = 2048


def _gpu() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_logical_devices("GPU"))


TOKENS_ATTRIBUTE = "_rnnbench_tokens"  # set on Embedding's output: (token ids, embedding table)
DISTINCT_SHARE = 4  # token_product's capacity: one distinct token per 4 positions of a batch


@keras.saving.register_keras_serializable(package="rnnbench")  # Bidirectional copies its layer by config
class Embedding(keras.layers.Embedding):
    """``keras.layers.Embedding``, whose output also names the token ids and table it was looked up
    from, so that a fused recurrent layer right after it can project each distinct token once
    (``token_product``). The same weights, names and output; a layer in between (dropout in
    training) hands on a new tensor without them, and the layer after multiplies as usual."""

    def call(self, inputs):
        outputs = super().call(inputs)
        if self.quantization_mode is None and not self.lora_enabled and outputs.dtype == self.embeddings.dtype:
            try:
                setattr(outputs, TOKENS_ATTRIBUTE, (inputs, self.embeddings))
            except AttributeError:  # a tensor type that takes no attributes: the plain product
                pass
        return outputs


def distinct_tokens(flat, vocabulary: int):
    """(distinct, inverse, capacity, fits) for a batch's token ids ``flat`` (one dimension):
    ``distinct[inverse] == flat`` when ``fits``; ``distinct`` has ``capacity`` rows (a quarter of
    the positions rounded up to 8, at most ``vocabulary``), the distinct tokens in increasing
    order, then token 0 in rows of no token. ``fits``: the batch has at most ``capacity`` distinct
    tokens (otherwise the rows past the capacity are dropped)."""
    import tensorflow as tf

    step = 8 * DISTINCT_SHARE
    capacity = tf.minimum(vocabulary, (tf.size(flat) + step - 1) // step * 8)
    present = tf.minimum(tf.math.unsorted_segment_sum(tf.ones_like(flat), flat, vocabulary), 1)
    numbers = tf.cumsum(present) - 1  # each present token's row among the distinct ones
    inverse = tf.gather(numbers, flat)
    distinct = tf.math.unsorted_segment_max(flat, tf.minimum(inverse, capacity), capacity + 1)[:-1]
    distinct = tf.maximum(distinct, 0)  # an empty row's max is the lowest int32
    return distinct, inverse, capacity, numbers[-1] < capacity


def token_product(embedded, kernel, tokens, table):
    """``embedded @ kernel`` for ``embedded = table[tokens]`` (batch x time x features), computed
    once per distinct token of the batch: a batch of documents repeats its tokens, and padding most.

    The distinct tokens are numbered by a count per vocabulary entry and its running sum (no sort).
    XLA compiles static shapes, so the distinct rows have a fixed capacity (a quarter of the
    positions, at most the vocabulary); a batch with more distinct tokens takes the full product.
    The embeddings' gradient stays one slice per position, as after Keras's own product, because
    Keras 3's Adam squares each slice of a sparse gradient: summing a token's slices first would
    change its second moment. The results equal the plain product's to rounding.
    """
    import tensorflow as tf

    table = tf.stop_gradient(tf.convert_to_tensor(table))
    vocabulary, features = table.shape
    flat = tf.reshape(tf.cast(tokens, "int32"), [-1])
    distinct, inverse, capacity, fits = distinct_tokens(flat, vocabulary)
    rows = tf.gather(table, distinct)  # the distinct tokens' embeddings, for the product and its gradient

    def every_row():  # the fallback's embeddings, looked up again in its branch: a batch within capacity
        return tf.gather(table, flat)  # then never needs the Embedding's own lookup, and XLA drops it

    @tf.custom_gradient
    def product(embedded, kernel):
        projected = tf.cond(fits, lambda: tf.gather(tf.matmul(rows, kernel), inverse),
                            lambda: tf.matmul(every_row(), kernel))

        def gradient(upstream):
            def per_token():  # the upstream rows summed per distinct token, then one small product
                return tf.matmul(rows, tf.math.unsorted_segment_sum(upstream, inverse, capacity), transpose_a=True)

            kernel_gradient = tf.cond(fits, per_token, lambda: tf.matmul(every_row(), upstream, transpose_a=True))
            return tf.matmul(upstream, kernel, transpose_b=True), kernel_gradient

        return projected, gradient

    kernel = tf.convert_to_tensor(kernel)
    projected = product(tf.reshape(embedded, [-1, features]), kernel)
    projected = tf.reshape(projected, tf.concat([tf.shape(embedded)[:-1], kernel.shape[-1:]], 0))
    projected.set_shape(embedded.shape[:-1].concatenate(kernel.shape[-1:]))
    return projected


class _Hoisted:
    """Mixin for a Keras RNN layer: ``_step(projected, states, training)`` replaces the cell's call."""

    def __init__(self, *args, token_product: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.token_product = token_product  # False: every position multiplied (benchmarks compare the two)

    def get_config(self):
        return {**super().get_config(), "token_product": self.token_product}

    def _use_keras(self) -> bool:
        return False

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if self._use_keras():
            return super().inner_loop(sequences, initial_state, mask, training=training)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        cell = self.cell
        projected = self._product(sequences, cell.kernel, cell.get_dropout_mask, cell.dropout, training, time_axis=True)
        if cell.use_bias:
            projected = projected + self._input_bias()
        if not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]

        def step(projected_step, states):
            return self._step(projected_step, states, training)

        return keras.src.backend.rnn(
            step,
            projected,
            list(initial_state),
            go_backwards=self.go_backwards,
            mask=mask,
            unroll=self.unroll,
            input_length=sequences.shape[1],
            zero_output_for_mask=self.zero_output_for_mask,
            return_all_outputs=self.return_sequences,
        )

    def _input_bias(self):
        return self.cell.bias

    def _product(self, x, kernel, get_mask, rate, training, time_axis=False):
        """``x @ kernel`` with Keras's dropout masks: one per batch, the same at every step; with
        recurrent dropout Keras's cells (implementation 1) draw one mask per gate. Embeddings
        straight from ``Embedding`` are projected once per distinct token (``token_product``)."""
        if not (training and 0.0 < rate < 1.0):
            source = getattr(x, TOKENS_ATTRIBUTE, None) if time_axis else None
            if source is not None and self.token_product and not _gpu():
                return token_product(x, kernel, *source)
            return ops.matmul(x, kernel)
        masks = get_mask(x[:, 0, :] if time_axis else x)
        if getattr(self.cell, "dropout_mask_count", None) is None:
            masks, kernels = [masks], [kernel]
        else:
            kernels = ops.split(kernel, len(masks), axis=1)
        expand = (lambda mask: ops.expand_dims(mask, 1)) if time_axis else (lambda mask: mask)
        products = [ops.matmul(x * expand(mask), part) for mask, part in zip(masks, kernels)]
        return products[0] if len(products) == 1 else ops.concatenate(products, axis=-1)

    def _recurrent_product(self, h_tm1, training):
        cell = self.cell
        return self._product(h_tm1, cell.recurrent_kernel, cell.get_recurrent_dropout_mask, cell.recurrent_dropout,
                             training)


@keras.saving.register_keras_serializable(package="rnnbench")  # Bidirectional copies its layer by config
class LSTM(_Hoisted, keras.layers.LSTM):
    """``keras.layers.LSTM`` with the input product hoisted out of the recurrence."""

    def _use_keras(self) -> bool:
        return not self.recurrent_dropout and _gpu()

    def _step(self, projected, states, training):
        cell = self.cell
        h_tm1, c_tm1 = states
        z = projected + self._recurrent_product(h_tm1, training)
        c, o = cell._compute_carry_and_output_fused(ops.split(z, 4, axis=1), c_tm1)
        h = o * cell.activation(c)
        return h, [h, c]


@keras.saving.register_keras_serializable(package="rnnbench")  # Bidirectional copies its layer by config
class GRU(_Hoisted, keras.layers.GRU):
    """``keras.layers.GRU`` (``reset_after=True``, Keras's default) with the input product hoisted."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.cell.reset_after:
            raise ValueError("rnnbench.engines.GRU supports only reset_after=True (Keras's default)")

    def _use_keras(self) -> bool:
        return not self.recurrent_dropout and _gpu()

    def _input_bias(self):
        return self.cell.bias[0]

    def _step(self, projected, states, training):
        cell = self.cell
        h_tm1 = states[0]
        units = cell.units
        inner = self._recurrent_product(h_tm1, training)
        if cell.use_bias:
            inner = inner + cell.bias[1]
        z = cell.recurrent_activation(projected[:, :units] + inner[:, :units])
        r = cell.recurrent_activation(projected[:, units : 2 * units] + inner[:, units : 2 * units])
        hh = cell.activation(projected[:, 2 * units :] + r * inner[:, 2 * units :])
        h = z * h_tm1 + (1 - z) * hh
        return h, [h]


@keras.saving.register_keras_serializable(package="rnnbench")  # Bidirectional copies its layer by config
class SimpleRNN(_Hoisted, keras.layers.SimpleRNN):
    """``keras.layers.SimpleRNN`` with the input product hoisted out of the recurrence."""

    def _step(self, projected, states, training):
        cell = self.cell
        h_tm1 = states[0]
        h = projected + self._recurrent_product(h_tm1, training)
        if cell.activation is not None:
            h = cell.activation(h)
        return h, [h]


LAYERS = {"LSTM": LSTM, "GRU": GRU, "SimpleRNN": SimpleRNN}


def _checked(engine: str) -> str:
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    return engine


def embedding_layer(engine: str):
    """The embedding layer class under an engine."""
    return Embedding if _checked(engine) == "fused" else keras.layers.Embedding


def recurrent_layer(engine: str, keras_name: str, token_product: bool = True):
    """The layer class (or factory) for a cell (``LSTM``, ``GRU``, ``SimpleRNN``) under an engine;
    ``token_product``: whether the fused layer after the embedding projects each distinct token once."""
    if _checked(engine) == "keras":
        return getattr(keras.layers, keras_name)
    return functools.partial(LAYERS[keras_name], token_product=token_product)


def compile_model(model, engine: str, learning_rate: float, xla: bool | None = None, **options) -> None:
    """``model.compile`` with Keras's Adam, and XLA for ``fused`` on CPU (``xla``: True or False
    to decide instead of the engine, as benchmarks do).

    Keras turns XLA off whenever TensorFlow's op determinism is on, and rnnbench always turns it
    on. The fused layers' ops are all XLA ops on CPU and compile to a deterministic program (a
    killed run resumes bit for bit: tests/test_resume.py), so XLA is set back on after compiling.
    cuDNN ops are not XLA ops, so on a GPU the model stays as Keras compiles it; nor is a model
    with a ``CategoryEncoding`` layer (the bag of words), whose multi-hot count is slow under XLA, or
    with a ``Dropout`` layer on a sequence (embedding dropout), whose per-element mask XLA draws
    slowly on CPU.
    """
    _checked(engine)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), **options)
    if xla is None:
        slow_under_xla = any(
            isinstance(layer, keras.layers.CategoryEncoding)
            or (type(layer) is keras.layers.Dropout and len(layer.input.shape) == 3)
            for layer in model.layers
        )
        xla = engine == "fused" and not _gpu() and not slow_under_xla
    model._jit_compile = bool(xla)  # Keras's public setter refuses XLA under op determinism


def uses_xla(model) -> bool:
    """Whether the model's training step is compiled with XLA."""
    return bool(model._jit_compile)


def batches(x, y, batch_size: int, fill: bool = True):
    """(x, y, weight) in their order, in batches of ``batch_size``, as a tf.data pipeline with
    tf.data's autotuning and default graph rewrites off (their background threads compete with
    the training step for the cores).

    Rows have weight 1. With ``fill``, a short last batch is filled up with copies of the first
    rows at weight 0, which ``rnnbench.training.compile_classifier``'s loss and metrics leave out:
    one batch shape, so one compiled program instead of two."""
    import numpy as np
    import tensorflow as tf

    x, y = np.asarray(x), np.asarray(y)
    rows = len(x)
    if rows == 0:
        raise ValueError("no rows to batch")
    extra = np.arange(-rows % batch_size if fill else 0) % rows
    weights = np.concatenate([np.ones(rows, np.float32), np.zeros(len(extra), np.float32)])
    x, y = np.concatenate([x, x[extra]]), np.concatenate([y, y[extra]])
    options = tf.data.Options()
    options.autotune.enabled = False
    options.experimental_optimization.apply_default_optimizations = False
    return tf.data.Dataset.from_tensor_slices((x, y, weights)).batch(batch_size).with_options(options)


def validation_batch_size(engine: str, batch_size: int) -> int:
    """The batch size for validation under an engine (``batch_size``: the training one)."""
    return VALIDATION_BATCH_SIZE if _checked(engine) == "fused" else batch_size


def validation_batches(validation, engine: str, batch_size: int, fill: bool = True):
    """The validation split as ``model.fit`` gets it: ``batches`` at the engine's validation batch
    size, or in one batch where the split is smaller (one program, and no filling)."""
    return batches(*validation, min(validation_batch_size(engine, batch_size), len(validation[0])), fill)


def to_keras(model):
    """The same model built from Keras's own layer classes, with the same weights and without an
    optimizer: what a run saves, so that it loads wherever Keras does."""

    def plain(config):
        if isinstance(config, list):
            return [plain(item) for item in config]
        if not isinstance(config, dict):
            return config
        config = {key: plain(value) for key, value in config.items()}
        if str(config.get("registered_name")).startswith("rnnbench>"):  # one of the layers above
            config.update(module="keras.layers", registered_name=None)
            config["config"].pop("token_product", None)
        return config

    copy = keras.Model.from_config(plain(model.get_config()))
    copy.set_weights(model.get_weights())
    return copy


def convert(path) -> bool:
    """Rewrite a model.keras saved with this module's layer classes (by a version before ``to_keras``)
    with Keras's own; return whether it needed it. The weights stay as they are."""
    from pathlib import Path

    from rnnbench.io import atomic_path

    with zipfile.ZipFile(path) as archive:
        if b'"rnnbench>' not in archive.read("config.json"):
            return False
    model = keras.saving.load_model(path, compile=False)
    with atomic_path(Path(path)) as tmp:
        to_keras(model).save(tmp)
    return True


def main(argv=None) -> None:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m rnnbench.engines",
        description="Rewrite models saved with rnnbench's own layer classes (by a version before to_keras) "
                    "with Keras's own, in place; the weights stay as they are.",
        epilog="example: python -m rnnbench.engines results/runs/*/*/*/model.keras")
    parser.add_argument("models", nargs="+", metavar="model.keras")
    for name in parser.parse_args(argv).models:
        print(f"{name}: {'rewritten with Keras layers' if convert(name) else 'already Keras layers'}")


if __name__ == "__main__":
    main()
