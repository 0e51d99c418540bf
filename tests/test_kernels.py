"""The fused kernel computes what Keras computes: same outputs and gradients, to rounding."""

import numpy as np
import pytest

from rnnbench import kernels

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

CELLS = ["LSTM", "GRU", "SimpleRNN"]


def _tokens(rng, rows=6, steps=9, words=30):
    """Post-padded token ids: rows of different lengths, 0 after the end."""
    x = rng.integers(1, words, size=(rows, steps))
    for row, length in enumerate(rng.integers(2, steps + 1, size=rows)):
        x[row, length:] = 0
    return x


def _pair(cell, *, mask_zero, bidirectional, layers, dropout=0.0, recurrent_dropout=0.0):
    """The same two-layer model under Keras's layers and the fused ones, with equal weights."""
    models = []
    for kernel in ("keras", "fused"):
        keras.utils.set_random_seed(3)
        inputs = keras.Input(shape=(9,), dtype="int32")
        x = kernels.embedding_layer(kernel)(30, 8, mask_zero=mask_zero)(inputs)
        for index in range(layers):
            layer = kernels.recurrent_layer(kernel, cell)(
                5, return_sequences=index < layers - 1, dropout=dropout, recurrent_dropout=recurrent_dropout
            )
            x = keras.layers.Bidirectional(layer)(x) if bidirectional else layer(x)
        models.append(keras.Model(inputs, keras.layers.Dense(3)(x)))
    models[1].set_weights(models[0].get_weights())
    return models


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("mask_zero,bidirectional,layers", [(False, False, 1), (True, False, 2), (True, True, 2)])
def test_outputs_and_gradients_match_keras(cell, mask_zero, bidirectional, layers):
    x = _tokens(np.random.default_rng(0))
    y = np.arange(len(x)) % 3
    reference, fused = _pair(cell, mask_zero=mask_zero, bidirectional=bidirectional, layers=layers)
    layer = fused.layers[2].backward_layer if bidirectional else fused.layers[2]
    assert isinstance(layer, kernels.LAYERS[cell])
    np.testing.assert_allclose(fused.predict(x, verbose=0), reference.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    gradients = []
    for model in (reference, fused):
        with tf.GradientTape() as tape:
            value = loss(y, model(x, training=True))
        gradients.append([tf.convert_to_tensor(g).numpy() for g in tape.gradient(value, model.trainable_variables)])
    assert len(gradients[0]) == len(gradients[1])
    for keras_gradient, fused_gradient in zip(*gradients):
        np.testing.assert_allclose(fused_gradient, keras_gradient, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("cell", CELLS)
def test_dropout_masks_match_keras(cell):
    """In training, the same seed draws the same input and recurrent dropout masks."""
    x = _tokens(np.random.default_rng(1))
    reference, fused = _pair(cell, mask_zero=True, bidirectional=False, layers=2, dropout=0.3, recurrent_dropout=0.2)
    keras_out = reference(x, training=True).numpy()
    fused_out = fused(x, training=True).numpy()
    assert not np.allclose(keras_out, reference(x, training=False).numpy())  # dropout did act
    np.testing.assert_allclose(fused_out, keras_out, rtol=1e-5, atol=1e-6)


def test_saved_model_loads(tmp_path):
    """A model.keras with fused layers loads back."""
    from rnnbench.models import build_model

    model = build_model({"cell": "gru", "layers": 2, "units": 4, "bidirectional": True},
                        num_words=30, maxlen=9, embedding_dim=8, num_classes=3)
    kernels.compile_model(model, "fused", 0.001, loss="sparse_categorical_crossentropy")
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    x = _tokens(np.random.default_rng(4))
    # equal to rounding: the trained model predicts under XLA, the loaded one as Keras compiles it
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_unknown_kernel_is_named():
    with pytest.raises(ValueError, match="unknown kernel 'cudnn'"):
        kernels.recurrent_layer("cudnn", "LSTM")


@pytest.mark.parametrize("cell,kernel,xla", [("lstm", "fused", True), ("lstm", "keras", False), ("bow", "fused", False)])
def test_compile_model_turns_xla_on_for_fused_under_op_determinism(cell, kernel, xla):
    """Keras switches XLA off when op determinism is on; compile_model sets it back for fused
    recurrent models (not the bag of words, whose multi-hot encoding is slow under XLA)."""
    from rnnbench.models import build_model
    from tensorflow.python.framework.config import is_op_determinism_enabled

    tf.config.experimental.enable_op_determinism()
    assert is_op_determinism_enabled()
    model = build_model({"cell": cell, "layers": 1, "units": 4, "kernel": kernel},
                        num_words=30, maxlen=9, embedding_dim=8, num_classes=3)
    kernels.compile_model(model, kernel, 0.001, loss="sparse_categorical_crossentropy")
    assert model.jit_compile is xla
    x, y = _tokens(np.random.default_rng(5)), np.arange(6) % 3
    history = model.fit(x, y, epochs=2, verbose=0, validation_split=0.5,
                        validation_batch_size=kernels.validation_batch_size(kernel, 32))
    assert np.all(np.isfinite(history.history["loss"]))


def _distinct(count, shape=(4, 9)):
    """Token ids of ``shape`` with exactly ``count`` distinct tokens (1..count-1 once, the rest 0)."""
    flat = np.zeros(int(np.prod(shape)), dtype="int32")
    flat[: count - 1] = np.arange(1, count)
    return np.random.default_rng(count).permutation(flat).reshape(shape)


@pytest.mark.parametrize("jit", [False, True], ids=["graph", "xla"])
@pytest.mark.parametrize("count,vocabulary", [(1, 50), (16, 50), (17, 50), (36, 50), (9, 10)],
                         ids=["one", "at-capacity", "over-capacity", "all-distinct", "small-vocabulary"])
def test_token_product_matches_the_plain_product(count, vocabulary, jit):
    """Projected rows, the kernel's gradient and the embeddings' sparse gradient (one slice per
    position, as Adam gets it from Keras) equal the plain product's, at and past the capacity (a
    quarter of the 36 positions rounded up to 8: 16 rows) and when the vocabulary is smaller."""
    tokens = _distinct(count)
    rng = np.random.default_rng(7)
    table = tf.Variable(rng.normal(size=(vocabulary, 8)).astype("float32"))
    kernel = tf.Variable(rng.normal(size=(8, 12)).astype("float32"))
    upstream = tf.constant(rng.normal(size=tokens.shape + (12,)).astype("float32"))

    def run(distinct):
        with tf.GradientTape() as tape:
            embedded = tf.gather(table, tokens)
            projected = (kernels.token_product(embedded, kernel, tokens, table) if distinct
                         else keras.ops.matmul(embedded, kernel))
            loss = tf.reduce_sum(projected * upstream)
        return (projected, *tape.gradient(loss, [table, kernel]))

    results = [tf.function(run, jit_compile=True)(d) if jit else run(d) for d in (False, True)]
    (plain, plain_table, plain_kernel), (projected, table_gradient, kernel_gradient) = results
    assert projected.shape == plain.shape == tokens.shape + (12,)
    np.testing.assert_allclose(projected, plain, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(kernel_gradient, plain_kernel, rtol=1e-5, atol=1e-4)
    assert isinstance(table_gradient, tf.IndexedSlices) and isinstance(plain_table, tf.IndexedSlices)
    np.testing.assert_array_equal(table_gradient.indices, plain_table.indices)
    assert table_gradient.values.shape[0] == tokens.size  # per position, not per distinct token
    np.testing.assert_allclose(table_gradient.values, plain_table.values, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("spec,training,calls", [
    ({"cell": "lstm", "layers": 2}, True, 1),  # the first layer only
    ({"cell": "gru", "layers": 1, "bidirectional": True, "mask_zero": True}, True, 2),  # each direction
    ({"cell": "simple_rnn", "layers": 1, "embedding_dropout": 0.5}, True, 0),  # dropout's new tensor
    ({"cell": "simple_rnn", "layers": 1, "embedding_dropout": 0.5}, False, 1),  # dropout is the identity
    ({"cell": "lstm", "layers": 1, "dropout": 0.5}, True, 0),  # per-row input masks: per position
    ({"cell": "lstm", "layers": 1, "kernel": "keras"}, True, 0),
])
def test_fused_layers_take_the_token_product_straight_after_the_embedding(monkeypatch, spec, training, calls):
    from rnnbench.models import build_model

    seen = []
    monkeypatch.setattr(kernels, "token_product", lambda *args: seen.append(args) or keras.ops.matmul(*args[:2]))
    model = build_model({"units": 4, **spec}, num_words=30, maxlen=9, embedding_dim=8, num_classes=3)
    model(_tokens(np.random.default_rng(6)), training=training)
    assert len(seen) == calls


def test_one_adam_step_matches_keras():
    """After two Adam steps on batches with repeated tokens, every weight, the embeddings above all,
    equals Keras's to rounding: Adam squares the same per-position slices under both kernels."""
    from rnnbench.models import build_model

    x, y = _tokens(np.random.default_rng(8), rows=12), np.arange(12) % 3
    models = []
    for kernel in ("keras", "fused"):
        model = build_model({"cell": "lstm", "layers": 1, "units": 4, "kernel": kernel},
                            num_words=30, maxlen=9, embedding_dim=8, num_classes=3)
        kernels.compile_model(model, kernel, 0.01, loss="sparse_categorical_crossentropy")
        models.append(model)
    models[1].set_weights(models[0].get_weights())
    for model in models:
        model.fit(x, y, batch_size=12, epochs=2, shuffle=False, verbose=0)
    for name, keras_weight, fused_weight in zip([w.path for w in models[0].weights], *[m.get_weights() for m in models]):
        np.testing.assert_allclose(fused_weight, keras_weight, rtol=1e-4, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("count,vocabulary,capacity,fits", [
    (1, 50, 16, True), (16, 50, 16, True), (17, 50, 16, False), (36, 50, 16, False), (9, 10, 10, True)])
def test_distinct_tokens_numbers_each_token_once(count, vocabulary, capacity, fits):
    flat = _distinct(count).reshape(-1)
    distinct, inverse, got_capacity, got_fits = (np.asarray(t) for t in kernels.distinct_tokens(flat, vocabulary))
    assert (int(got_capacity), bool(got_fits)) == (capacity, fits)
    assert distinct.shape == (capacity,)
    if fits:
        np.testing.assert_array_equal(distinct[inverse], flat)
        np.testing.assert_array_equal(distinct[:count], np.arange(count))
