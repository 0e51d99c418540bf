"""One function builds every model from its spec, so a new variant is a YAML entry."""

from __future__ import annotations

from typing import Any, Mapping

CELLS = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}


def build_model(
    variant: Mapping[str, Any],
    *,
    num_words: int,
    maxlen: int,
    embedding_dim: int,
    num_classes: int,
):
    """Embedding, ``layers`` stacked recurrent layers of ``cell``, softmax over the classes.

    This is the notebook's architecture: every recurrent layer but the last
    returns sequences; kernels use Keras's default glorot_uniform initializer.
    """
    import keras

    cell = getattr(keras.layers, CELLS[variant["cell"]])
    inputs = keras.Input(shape=(maxlen,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(num_words, embedding_dim, name="embedding")(inputs)
    for index in range(variant["layers"]):
        x = cell(
            variant["units"],
            recurrent_initializer=variant["recurrent_initializer"],
            dropout=variant["dropout"],
            recurrent_dropout=variant["recurrent_dropout"],
            return_sequences=index < variant["layers"] - 1,
            name=f"{variant['cell']}_{index + 1}",
        )(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="topic")(x)
    return keras.Model(inputs, outputs, name=variant["cell"])
