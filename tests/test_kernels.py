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
        x = keras.layers.Embedding(30, 8, mask_zero=mask_zero)(inputs)
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
