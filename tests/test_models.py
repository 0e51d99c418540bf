import pytest

from rnnbench.models import build_model

NOTEBOOK = dict(num_words=10000, maxlen=100, embedding_dim=256, num_classes=46)


def spec(cell, layers, initializer="orthogonal", recurrent_dropout=0.0):
    return {"cell": cell, "layers": layers, "units": 32, "recurrent_initializer": initializer,
            "dropout": 0.0, "recurrent_dropout": recurrent_dropout}


@pytest.mark.parametrize(
    "variant, expected",
    [
        (spec("simple_rnn", 2, "glorot_uniform"), 2_572_846),
        (spec("lstm", 1), 2_598_510),
        (spec("lstm", 2), 2_606_830),
        (spec("lstm", 2, "glorot_uniform"), 2_606_830),
        (spec("lstm", 2, "glorot_uniform", recurrent_dropout=0.05), 2_606_830),
    ],
    ids=["deep_rnn", "lstm", "deep_lstm_orthogonal", "deep_lstm_glorot", "deep_lstm_glorot_rd"],
)
def test_parameter_counts_match_the_notebook(variant, expected):
    assert build_model(variant, **NOTEBOOK).count_params() == expected


def test_spec_fields_reach_the_layers():
    model = build_model(spec("gru", 3, "he_normal", recurrent_dropout=0.1), **NOTEBOOK)
    recurrent = [layer for layer in model.layers if layer.name.startswith("gru_")]
    assert len(recurrent) == 3
    assert [layer.return_sequences for layer in recurrent] == [True, True, False]
    config = recurrent[0].get_config()
    assert config["recurrent_dropout"] == 0.1
    assert config["recurrent_initializer"]["class_name"] == "HeNormal"
    assert model.output_shape == (None, 46)


def test_bag_of_words_baseline_shapes():
    """Multi-hot over the vocabulary, ReLU layers, softmax: (batch, maxlen) ids -> (batch, classes)."""
    import numpy as np

    model = build_model({"cell": "bow", "layers": 2, "units": 64, "dropout": 0.5}, **NOTEBOOK)
    names = [layer.name for layer in model.layers]
    assert names == ["tokens", "bag_of_words", "dense_1", "dropout_1", "dense_2", "dropout_2", "topic"]
    assert model.get_layer("bag_of_words").output.shape == (None, 10000)
    assert model.output_shape == (None, 46)
    assert model.count_params() == (10000 * 64 + 64) + (64 * 64 + 64) + (64 * 46 + 46)
    ids = np.array([[5, 5, 9, 0, 0]])
    short = build_model({"cell": "bow", "layers": 1, "units": 4}, num_words=12, maxlen=5, embedding_dim=1,
                        num_classes=3)
    assert short.get_layer("bag_of_words")(ids).numpy().tolist() == [[1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0]]
    assert short.predict(ids, verbose=0).sum() == pytest.approx(1.0, abs=1e-5)


def test_levers_reach_the_layers():
    model = build_model(
        {"cell": "lstm", "layers": 2, "units": 16, "bidirectional": True, "mask_zero": True,
         "embedding_dropout": 0.3}, **NOTEBOOK
    )
    assert model.get_layer("embedding").get_config()["mask_zero"] is True
    assert model.get_layer("embedding_dropout").rate == 0.3
    first = model.get_layer("bidirectional_1")
    assert first.output.shape == (None, 100, 32), "both directions, units each, sequences between layers"
    assert model.get_layer("bidirectional_2").output.shape == (None, 32)
    irnn = build_model({"cell": "simple_rnn", "layers": 1, "units": 8, "activation": "relu",
                        "recurrent_initializer": "identity"}, **NOTEBOOK)
    import numpy as np

    layer = irnn.get_layer("simple_rnn_1")
    assert layer.get_config()["activation"] == "relu"
    assert np.array_equal(layer.cell.recurrent_kernel.numpy(), np.eye(8))


def test_mask_zero_ignores_the_padding():
    """With masking, post-padding a document longer changes nothing; without it, it does."""
    import numpy as np

    tokens = np.array([[4, 7, 2, 0, 0, 0, 0, 0]])
    for mask, same in ((True, True), (False, False)):
        model = build_model({"cell": "lstm", "layers": 1, "units": 4, "mask_zero": mask}, num_words=10,
                            maxlen=None, embedding_dim=3, num_classes=2)
        short = model.predict(tokens[:, :4], verbose=0)
        long = model.predict(tokens, verbose=0)
        assert np.allclose(short, long, atol=1e-6) == same


@pytest.mark.parametrize("pooling", ["max", "mean"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_pooling_reads_only_the_unmasked_steps(pooling, bidirectional):
    """Max and mean pooling equal numpy's over each document's own steps, whether its padding comes
    before or after it; the last state is not what it reads."""
    import keras
    import numpy as np

    tokens = np.array([[4, 7, 2, 9, 0, 0, 0, 0], [0, 0, 0, 5, 3, 8, 1, 6], [3, 1, 4, 1, 5, 9, 2, 6]])
    model = build_model({"cell": "gru", "layers": 1, "units": 4, "mask_zero": True, "pooling": pooling,
                         "bidirectional": bidirectional}, num_words=10, maxlen=8, embedding_dim=3, num_classes=2)
    recurrent = model.get_layer("bidirectional_1" if bidirectional else "gru_1")
    assert recurrent.return_sequences
    sequences = keras.Model(model.input, recurrent.output)(tokens).numpy()
    pooled = keras.Model(model.input, model.get_layer(f"{pooling}_pooling").output)(tokens).numpy()
    for row, document in enumerate(tokens):
        steps = sequences[row][document != 0]
        expected = steps.max(axis=0) if pooling == "max" else steps.mean(axis=0)
        np.testing.assert_allclose(pooled[row], expected, rtol=1e-6, atol=1e-6)
    assert model.get_layer("topic").input.shape == (None, 8 if bidirectional else 4)


def test_spatial_dropout_drops_whole_embedding_channels():
    model = build_model({"cell": "lstm", "layers": 1, "units": 4, "spatial_dropout": 0.5}, num_words=10, maxlen=6,
                        embedding_dim=16, num_classes=2)
    import keras
    import numpy as np

    layer = model.get_layer("spatial_dropout")
    assert isinstance(layer, keras.layers.SpatialDropout1D) and layer.rate == 0.5
    dropped = layer(np.ones((2, 6, 16), "float32"), training=True).numpy()
    assert ((dropped == 0).all(axis=1) | (dropped != 0).all(axis=1)).all(), "a channel is dropped at every step"


def test_a_cosine_schedule_decays_to_zero_over_the_run_and_label_smoothing_shapes_the_loss():
    import keras
    import numpy as np

    from rnnbench.models import Spec
    from rnnbench.training import compile_classifier, learning_rate

    assert learning_rate(Spec.of({"cell": "lstm", "layers": 1, "units": 4}), 100) == 0.001
    schedule = learning_rate(Spec.of({"cell": "lstm", "layers": 1, "units": 4, "lr_schedule": "cosine",
                                      "learning_rate": 0.01}), 100)
    assert float(schedule(0)) == pytest.approx(0.01) and float(schedule(50)) == pytest.approx(0.005)
    assert float(schedule(100)) == pytest.approx(0.0, abs=1e-9)
    model = build_model({"cell": "lstm", "layers": 1, "units": 4}, num_words=10, maxlen=6, embedding_dim=3,
                        num_classes=4)
    probabilities = np.array([[0.7, 0.1, 0.1, 0.1]], "float32")
    for smoothing in (0.0, 0.2):
        compile_classifier(model, "keras", 0.001, label_smoothing=smoothing)
        loss = float(model.loss(np.array([0]), probabilities))
        target = np.full(4, smoothing / 4) + np.eye(4)[0] * (1 - smoothing)
        assert loss == pytest.approx(-np.sum(target * np.log(probabilities[0])), rel=1e-5)


def test_the_cnn_is_kims():
    """Embedding, one bank of filters per width pooled over time, concatenated, dropout, softmax."""
    model = build_model({"cell": "cnn", "kernel_sizes": [3, 4, 5], "filters": 100, "dropout": 0.5}, **NOTEBOOK)
    convolutions = [layer for layer in model.layers if layer.name.startswith("conv_")]
    assert [layer.get_config()["kernel_size"] for layer in convolutions] == [(3,), (4,), (5,)]
    assert all(layer.filters == 100 for layer in convolutions)
    assert model.get_layer("banks").output.shape == (None, 300)
    # embedding + 3 banks (width x 256 x 100 weights + 100 biases) + the softmax over 300 features
    assert model.count_params() == 10000 * 256 + sum(w * 256 * 100 + 100 for w in (3, 4, 5)) + 300 * 46 + 46
    assert model.output_shape == (None, 46)


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_the_transformer_attends_and_pools_past_the_padding_only(pooling):
    """With mask_zero, what follows the text (padding) changes no output: attention and pooling skip it."""
    import numpy as np

    fields = {"cell": "transformer", "layers": 2, "units": 16, "heads": 2, "ff_dim": 32, "mask_zero": True,
              "pooling": pooling}
    model = build_model(fields, num_words=50, maxlen=10, embedding_dim=8, num_classes=3)
    assert model.get_layer("attention_1").get_config()["num_heads"] == 2
    assert model.get_layer("position_embedding").get_config()["input_dim"] == 10
    tokens = np.array([[5, 6, 7, 0, 0, 0, 0, 0, 0, 0]])
    other = tokens.copy()
    other[0, 3:] = 0  # the same text
    np.testing.assert_allclose(model(tokens).numpy(), model(other).numpy())
    longer = tokens.copy()
    longer[0, 3] = 9
    assert not np.allclose(model(tokens).numpy(), model(longer).numpy()), "a word more changes the output"


def builder_package(tmp_path, body: str):
    package = tmp_path / "mine"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text(body)
    return tmp_path


TINY_BUILDER = """
import keras


def tiny(options, *, num_words, maxlen, embedding_dim, num_classes):
    inputs = keras.Input(shape=(maxlen,), dtype="int32")
    x = keras.layers.Embedding(num_words, options.get("width", 4))(inputs)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax")(x))


def wrong(options, *, num_words, maxlen, embedding_dim, num_classes):
    inputs = keras.Input(shape=(maxlen,), dtype="int32")
    x = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(num_words, 4)(inputs))
    return keras.Model(inputs, keras.layers.Dense(num_classes + 1)(x))


def broken(options, **facts):
    raise ValueError("no such layer")
"""


def test_a_builder_of_ones_own_is_called_with_its_options_and_the_datasets_facts(tmp_path, monkeypatch):
    from rnnbench.families.custom import BuilderError

    monkeypatch.chdir(builder_package(tmp_path, TINY_BUILDER))
    model = build_model({"cell": "custom", "builder": "mine.models:tiny", "options": {"width": 6}},
                        num_words=50, maxlen=10, embedding_dim=8, num_classes=3)
    assert model.count_params() == 50 * 6 + 6 * 3 + 3
    for builder, message in (
        ("mine.models:wrong", r"builder 'mine.models:wrong' returned a model from \(None, 10\) to \(None, 4\); expected"),
        ("mine.models:broken", r"builder 'mine.models:broken' failed: ValueError: no such layer"),
        ("mine.models:absent", r"builder 'mine.models:absent' failed: AttributeError"),
        ("nowhere.models:tiny", r"builder 'nowhere.models:tiny': no module 'nowhere.models' on the path"),
    ):
        with pytest.raises(BuilderError, match=message):
            build_model({"cell": "custom", "builder": builder}, num_words=50, maxlen=10, embedding_dim=8, num_classes=3)


def test_a_cnn_kernel_wider_than_the_padded_length_is_named_at_build_and_where_the_length_is_read(tmp_path):
    """The length a quantile gives is known once padded: the workflow's parse-time check reads it from
    the padded file, and the build itself names the field, never Keras's zero-size output."""
    import numpy as np

    from rnnbench.config import _length_problems, padded_length
    from rnnbench.models import build_model, length_problems

    spec = {"cell": "cnn", "filters": 4, "kernel_sizes": [3, 9]}
    assert length_problems(spec, 9) == [] and length_problems({"cell": "lstm"}, 2) == []
    with pytest.raises(ValueError, match=r"kernel_sizes = \[3, 9\]: a width of 9 is wider than the sequences, "
                                         r"padded to maxlen = 8"):
        build_model(spec, num_words=20, maxlen=8, embedding_dim=4, num_classes=3)
    np.savez(tmp_path / "t.npz", x_train=np.zeros((5, 8), "int32"), y_train=np.zeros(5, "int32"),
             x_test=np.zeros((2, 8), "int32"), y_test=np.zeros(2, "int32"))
    assert padded_length(tmp_path / "t.npz") == 8
    config = {"variants": {"wide": spec}, "datasets": {"notes": {}}, "seeds": [0],
              "studies": {"mine": {"datasets": ["notes"], "variants": ["wide"]}}}
    assert _length_problems(config, {"notes": 8}) == [
        "studies.mine, datasets.notes: wide's kernel_sizes = [3, 9]: a width of 9 is wider than the sequences, "
        "padded to maxlen = 8"]
