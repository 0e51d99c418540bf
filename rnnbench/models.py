"""One function builds every model from its spec, so a new variant is a YAML entry."""

from __future__ import annotations

from typing import Any, Mapping

CELLS = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
BASELINES = {"bow"}  # non-recurrent reference models, built from the same kind of spec

# Every optional spec field and its default. A spec is normalised (defaults filled in)
# before it is named or hashed, so writing a default out changes neither.
SPEC_DEFAULTS: dict[str, Any] = {
    "recurrent_initializer": "orthogonal",  # Keras's default
    "dropout": 0.0,
    "recurrent_dropout": 0.0,
    "activation": "tanh",
    "bidirectional": False,
    "mask_zero": False,
    "embedding_dropout": 0.0,
    "learning_rate": 0.001,  # Keras's Adam default, as in the notebook
    "early_stopping": 0,  # patience in epochs on val_loss, best weights restored; 0 = off
    "engine": "fused",  # how fast the model is computed, not what: rnnbench.engines.ENGINES
}


def normalize_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The spec with every default filled in and numbers in one type (1 and 1.0 are one spec)."""
    full = {**SPEC_DEFAULTS, **spec}
    for key in ("dropout", "recurrent_dropout", "embedding_dropout", "learning_rate"):
        full[key] = float(full[key])
    for key in ("layers", "units", "early_stopping"):
        full[key] = int(full[key])
    return full


def build_model(
    variant: Mapping[str, Any],
    *,
    num_words: int,
    maxlen: int,
    embedding_dim: int,
    num_classes: int,
    token_product: bool = True,
):
    """The model that ``variant`` describes.

    Recurrent cells follow the notebook: an embedding, ``layers`` stacked recurrent layers
    (every one but the last returns sequences; input kernels keep Keras's glorot_uniform default),
    softmax over the classes. Optional levers: ``mask_zero`` (padding is skipped),
    ``bidirectional`` (each layer reads both ways; units per direction),
    ``embedding_dropout`` and ``activation`` (``relu`` with an ``identity`` recurrent
    initializer is Le et al.'s IRNN). ``engine`` picks how the layers are computed
    (``rnnbench.engines``), not what they compute; ``token_product`` is a lever of the fused engine.

    ``cell: bow`` is the non-recurrent baseline: the multi-hot bag of words of the same
    token ids, ``layers`` ReLU layers of ``units`` with ``dropout`` after each, softmax.
    """
    import keras

    from rnnbench.engines import embedding_layer, recurrent_layer

    spec = normalize_spec(variant)
    inputs = keras.Input(shape=(maxlen,), dtype="int32", name="tokens")
    if spec["cell"] == "bow":
        # Token 0 is padding: it is counted like a word, the same for every document length.
        x = keras.layers.CategoryEncoding(num_words, output_mode="multi_hot", name="bag_of_words")(inputs)
        for index in range(spec["layers"]):
            x = keras.layers.Dense(spec["units"], activation="relu", name=f"dense_{index + 1}")(x)
            if spec["dropout"]:
                x = keras.layers.Dropout(spec["dropout"], name=f"dropout_{index + 1}")(x)
    else:
        cell = recurrent_layer(spec["engine"], CELLS[spec["cell"]], token_product)
        x = embedding_layer(spec["engine"])(num_words, embedding_dim, mask_zero=spec["mask_zero"], name="embedding")(inputs)
        if spec["embedding_dropout"]:
            x = keras.layers.Dropout(spec["embedding_dropout"], name="embedding_dropout")(x)
        for index in range(spec["layers"]):
            layer = cell(
                spec["units"],
                activation=spec["activation"],
                recurrent_initializer=spec["recurrent_initializer"],
                dropout=spec["dropout"],
                recurrent_dropout=spec["recurrent_dropout"],
                return_sequences=index < spec["layers"] - 1,
                name=f"{spec['cell']}_{index + 1}",
            )
            if spec["bidirectional"]:
                layer = keras.layers.Bidirectional(layer, name=f"bidirectional_{index + 1}")
            x = layer(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="topic")(x)
    return keras.Model(inputs, outputs, name=spec["cell"])
