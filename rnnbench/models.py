"""One function builds every model from its spec, so a new variant is a YAML entry."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

CELLS = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
BASELINES = {"bow"}  # non-recurrent reference models, built from the same kind of spec
POOLINGS = ("last", "max", "mean")
LR_SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class Spec:
    """A variant: what the model is, and the engine that computes it, every field filled in and typed.

    ``Spec.of`` builds one from a config entry where the config is read; from there it is handed on
    unchanged (to the rule as JSON, from the train script to ``build_model``). Writing a default
    out, or 1 for 1.0, gives the same spec, so the same name and the same runs."""

    cell: str
    layers: int
    units: int
    recurrent_initializer: str = "orthogonal"  # Keras's default
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    activation: str = "tanh"
    bidirectional: bool = False
    mask_zero: bool = False
    embedding_dropout: float = 0.0
    learning_rate: float = 0.001  # Keras's Adam default, as in the notebook
    early_stopping: int = 0  # patience in epochs on val_loss, best weights restored; 0 = off
    pooling: str = "last"  # the last layer's output: its last state, or the max or mean over the unmasked steps
    spatial_dropout: float = 0.0  # drops whole embedding channels (SpatialDropout1D)
    lr_schedule: str = "constant"  # or cosine: decay to 0 over the run's epochs
    label_smoothing: float = 0.0
    engine: str = "fused"  # how fast the model is computed, not what: rnnbench.engines.ENGINES

    @classmethod
    def of(cls, fields: Mapping[str, Any]) -> "Spec":
        """The spec of a config entry (defaults filled in, numbers in their field's type)."""
        if isinstance(fields, Spec):
            return fields
        types = {field.name: field.type for field in dataclasses.fields(cls)}
        unknown = sorted(set(fields) - set(types))
        if unknown:
            raise ValueError(f"unknown spec field(s) {', '.join(unknown)}")
        cast = {"int": int, "float": float}
        return cls(**{key: cast[types[key]](value) if types[key] in cast else value for key, value in fields.items()})

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# Every optional spec field and its default.
SPEC_DEFAULTS: dict[str, Any] = {
    field.name: field.default for field in dataclasses.fields(Spec) if field.default is not dataclasses.MISSING
}


def build_model(
    spec: Spec | Mapping[str, Any],
    *,
    num_words: int,
    maxlen: int,
    embedding_dim: int,
    num_classes: int,
    token_product: bool = True,
):
    """The model that ``spec`` describes (a config entry is read as ``Spec.of`` it).

    Recurrent cells follow the notebook: an embedding, ``layers`` stacked recurrent layers
    (every one but the last returns sequences; input kernels keep Keras's glorot_uniform default),
    softmax over the classes. Optional levers: ``mask_zero`` (padding is skipped),
    ``bidirectional`` (each layer reads both ways; units per direction),
    ``embedding_dropout``, ``spatial_dropout``, ``pooling`` (``max`` or ``mean`` of the last layer's
    outputs over the unmasked steps instead of its last state) and ``activation`` (``relu`` with an
    ``identity`` recurrent initializer is Le et al.'s IRNN). ``lr_schedule`` and ``label_smoothing``
    shape training (``rnnbench.training``), not the model. ``engine`` picks how the layers are computed
    (``rnnbench.engines``), not what they compute; ``token_product`` is a lever of the fused engine.

    ``cell: bow`` is the non-recurrent baseline: the multi-hot bag of words of the same
    token ids, ``layers`` ReLU layers of ``units`` with ``dropout`` after each, softmax.
    """
    import keras

    from rnnbench.engines import embedding_layer, recurrent_layer

    spec = Spec.of(spec)
    inputs = keras.Input(shape=(maxlen,), dtype="int32", name="tokens")
    if spec.cell == "bow":
        # Token 0 is padding: it is counted like a word, the same for every document length.
        x = keras.layers.CategoryEncoding(num_words, output_mode="multi_hot", name="bag_of_words")(inputs)
        for index in range(spec.layers):
            x = keras.layers.Dense(spec.units, activation="relu", name=f"dense_{index + 1}")(x)
            if spec.dropout:
                x = keras.layers.Dropout(spec.dropout, name=f"dropout_{index + 1}")(x)
    else:
        cell = recurrent_layer(spec.engine, CELLS[spec.cell], token_product)
        x = embedding_layer(spec.engine)(num_words, embedding_dim, mask_zero=spec.mask_zero, name="embedding")(inputs)
        if spec.embedding_dropout:
            x = keras.layers.Dropout(spec.embedding_dropout, name="embedding_dropout")(x)
        if spec.spatial_dropout:
            x = keras.layers.SpatialDropout1D(spec.spatial_dropout, name="spatial_dropout")(x)
        for index in range(spec.layers):
            layer = cell(
                spec.units,
                activation=spec.activation,
                recurrent_initializer=spec.recurrent_initializer,
                dropout=spec.dropout,
                recurrent_dropout=spec.recurrent_dropout,
                return_sequences=index < spec.layers - 1 or spec.pooling != "last",
                name=f"{spec.cell}_{index + 1}",
            )
            if spec.bidirectional:
                layer = keras.layers.Bidirectional(layer, name=f"bidirectional_{index + 1}")
            x = layer(x)
        x = _pool(x, inputs, spec)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="topic")(x)
    return keras.Model(inputs, outputs, name=spec.cell)


def _pool(x, tokens, spec: Spec):
    """The last layer's sequence pooled over time, over the unmasked steps only (with ``mask_zero``).
    Keras's own layer and ops, so the saved model loads with plain Keras."""
    import keras
    from keras import ops

    if spec.pooling == "last":
        return x
    if spec.pooling == "mean":  # GlobalAveragePooling1D averages over the mask that x carries
        return keras.layers.GlobalAveragePooling1D(name="mean_pooling")(x)
    if spec.pooling != "max":
        raise ValueError(f"unknown pooling {spec.pooling!r}; expected one of {', '.join(POOLINGS)}")
    if spec.mask_zero:
        x = ops.where(ops.expand_dims(ops.not_equal(tokens, 0), -1), x, ops.cast(-1e9, x.dtype))
    return keras.layers.GlobalMaxPooling1D(name="max_pooling")(x)
