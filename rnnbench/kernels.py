"""The ``fused`` kernel: the same models as Keras's layers build, trained faster on CPU.

Keras's recurrent layers multiply each time step's input by the input kernel inside the
recurrence: 100 small matrix products per batch, each a separate op in a while loop. The
layers here (``LSTM``, ``GRU``, ``SimpleRNN``) hoist that product out of the loop: one large
product over the whole sequence, then a loop that only does the recurrent part. They subclass
Keras's layers and keep their weights, initialisers, names, dropout masks and masking, so a
checkpoint of one loads into the other; the arithmetic is the same, in another order, so
outputs and gradients agree to rounding (tests/test_kernels.py), not bit for bit. On a GPU
they defer to Keras (cuDNN) where Keras would use it.

Adam stays Keras's. A fused ``ResourceApplyAdam`` was tried and dropped: it is standard Adam,
which sums a token's repeated gradient slices before squaring them, where Keras 3 squares each
slice (``ops.square`` of ``IndexedSlices``); that difference in the optimiser cost the single-layer
LSTM 3 points of test accuracy over five seeds (docs/performance.md). Under XLA, Keras's Adam
is fused by the compiler anyway.

The first recurrent layer after the ``Embedding`` here projects each distinct token of a batch
once instead of each position (``token_product``; a Reuters batch holds five times fewer
distinct tokens than positions), with the gradient written so that Adam gets the same
per-position slices as from Keras's product.

``compile_model`` compiles the training step with XLA on CPU; ``validation_batch_size`` gives a
larger batch for validation (the validation loss is a mean over rows, whatever the batch): Reuters's
1,433 validation rows are one batch, so one program (``rnnbench.training.validation_batches``).
"""

from __future__ import annotations

import keras
from keras import ops

KERNELS = ("fused", "keras")  # "keras": Keras's own layers, without XLA, as the notebook ran them
VALIDATION_BATCH_SIZE = 2048


def _gpu() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_logical_devices("GPU"))


TOKENS_ATTRIBUTE = "_rnnbench_tokens"  # set on Embedding's output: (token ids, embedding table)
DISTINCT_SHARE = 4  # token_product's capacity: one distinct token per 4 positions of a batch
TOKEN_PRODUCT = True  # False: every position multiplied, as before (for benchmarks that compare the two)


@keras.saving.register_keras_serializable(package="rnnbench")
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
    once per distinct token of the batch.

    A batch of 50 Reuters documents holds 5,000 token positions but about 900 distinct tokens (39%
    of its positions are padding), and the product depends on the token alone. This numbers
    the batch's distinct tokens (a count per vocabulary entry and its running sum: no sort),
    multiplies only their rows and gathers the products back to the positions. XLA compiles
    static shapes, so the distinct rows have a fixed capacity (a quarter of the positions, at
    most the vocabulary); a batch with more distinct tokens than that takes the full product.

    The gradient is written out so that the optimiser sees what it sees after Keras's own
    product: the embeddings' gradient stays one slice per position (``upstream @ kernelᵀ``,
    handed back through ``Embedding``'s lookup), because Keras 3's Adam squares each slice of a
    sparse gradient and summing a token's slices first would change its second moment. Only the
    forward product and the kernel's gradient (summed per distinct token, then one small
    product) shrink. The results equal the plain product's to rounding (tests/test_kernels.py).
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
            if source is not None and TOKEN_PRODUCT and not _gpu():
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


@keras.saving.register_keras_serializable(package="rnnbench")
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


@keras.saving.register_keras_serializable(package="rnnbench")
class GRU(_Hoisted, keras.layers.GRU):
    """``keras.layers.GRU`` (``reset_after=True``, Keras's default) with the input product hoisted."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.cell.reset_after:
            raise ValueError("rnnbench.kernels.GRU supports only reset_after=True (Keras's default)")

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


@keras.saving.register_keras_serializable(package="rnnbench")
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


def _checked(kernel: str) -> str:
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; expected one of {', '.join(KERNELS)}")
    return kernel


def embedding_layer(kernel: str):
    """The embedding layer class under a kernel."""
    return Embedding if _checked(kernel) == "fused" else keras.layers.Embedding


def recurrent_layer(kernel: str, keras_name: str):
    """The layer class for a cell (``LSTM``, ``GRU``, ``SimpleRNN``) under a kernel."""
    _checked(kernel)
    return LAYERS[keras_name] if kernel == "fused" else getattr(keras.layers, keras_name)


def compile_model(model, kernel: str, learning_rate: float, xla: bool | None = None, **options) -> None:
    """``model.compile`` with Keras's Adam, and XLA for ``fused`` on CPU (``xla``: True or False
    to decide instead of the kernel, as benchmarks do).

    Keras turns XLA off whenever TensorFlow's op determinism is on ("not all ops are supported
    by XLA with determinism enabled"), and rnnbench always turns determinism on. The fused
    kernel's ops are all XLA ops on CPU and compile to a deterministic program (a SIGKILLed
    run resumes bit for bit: tests/test_resume.py), so XLA is set back on after compiling.
    cuDNN ops are not XLA ops, so on a GPU the model stays as Keras compiles it. A model with a
    ``CategoryEncoding`` layer (the bag-of-words baseline) is not compiled with XLA either: its
    multi-hot bincount became a program 40× slower on CPU (105 s per Reuters epoch, against
    2.6 s without XLA).
    """
    _checked(kernel)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), **options)
    if xla is None:
        slow_under_xla = any(isinstance(layer, keras.layers.CategoryEncoding) for layer in model._flatten_layers())
        xla = kernel == "fused" and not _gpu() and not slow_under_xla
    model._jit_compile = bool(xla)  # Keras's public setter refuses XLA under op determinism (see above)


def validation_batch_size(kernel: str, batch_size: int) -> int:
    """The batch size for validation under a kernel (``batch_size``: the training one)."""
    return VALIDATION_BATCH_SIZE if _checked(kernel) == "fused" else batch_size
