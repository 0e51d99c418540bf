"""The recurrent family: the notebook's cells and the levers beyond it."""

from __future__ import annotations

from rnnbench.models import CELLS, POOLINGS, Spec


def build(spec: Spec, *, num_words: int, maxlen: int, embedding_dim: int, num_classes: int, token_product: bool = True):
    """As the notebook: an embedding, ``layers`` stacked recurrent layers (every one but the last
    returns sequences; input kernels keep Keras's glorot_uniform default), softmax over the classes.
    Optional levers: ``mask_zero`` (padding is skipped), ``bidirectional`` (each layer reads both ways;
    units per direction), ``embedding_dropout``, ``spatial_dropout``, ``pooling`` (``max`` or ``mean``
    of the last layer's outputs over the unmasked steps instead of its last state) and ``activation``
    (``relu`` with an ``identity`` recurrent initializer is Le et al.'s IRNN). ``engine`` picks how the
    layers are computed (``rnnbench.engines``), not what they compute; ``token_product`` is a lever of
    the fused engine."""
    import keras

    from rnnbench.engines import embedding_layer, recurrent_layer

    inputs = keras.Input(shape=(maxlen,), dtype="int32", name="tokens")
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
    x = pool(x, inputs, spec.pooling, spec.mask_zero)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="topic")(x)
    return keras.Model(inputs, outputs, name=spec.cell)


def pool(x, tokens, pooling: str, mask_zero: bool):
    """A sequence pooled over time (``last``: left as it is), over the unmasked steps only (with
    ``mask_zero``). Keras's own layer and ops, so the saved model loads with plain Keras."""
    import keras
    from keras import ops

    if pooling == "last":
        return x
    if pooling == "mean":  # GlobalAveragePooling1D averages over the mask that x carries
        return keras.layers.GlobalAveragePooling1D(name="mean_pooling")(x)
    if pooling != "max":
        raise ValueError(f"unknown pooling {pooling!r}; expected one of {', '.join(POOLINGS)}")
    if mask_zero:
        x = ops.where(ops.expand_dims(ops.not_equal(tokens, 0), -1), x, ops.cast(-1e9, x.dtype))
    return keras.layers.GlobalMaxPooling1D(name="max_pooling")(x)
