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
