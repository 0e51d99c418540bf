"""The Transformer family: a small encoder (Vaswani et al. 2017) with learned positions."""

from __future__ import annotations

from rnnbench.models import Spec


def build(spec: Spec, *, num_words: int, maxlen: int, embedding_dim: int, num_classes: int, token_product: bool = True):
    """Token and learned position embeddings of width ``units``, ``layers`` post-norm encoder blocks
    (``heads``-head self-attention, a ReLU feed-forward layer of ``ff_dim``, ``dropout`` after each,
    residual connections), pooled over the positions (``pooling``: ``mean``, or ``max``; with
    ``mask_zero`` padding is neither attended to nor pooled), softmax. The dataset's
    ``embedding_dim`` is not used: the model width is ``units``."""
    import keras
    from keras import ops

    inputs = keras.Input(shape=(maxlen,), dtype="int32", name="tokens")
    tokens = keras.layers.Embedding(num_words, spec.units, mask_zero=spec.mask_zero, name="embedding")(inputs)
    positions = ops.cumsum(ops.ones_like(inputs), axis=1) - 1  # 0 … maxlen-1 in every row
    x = keras.layers.Add(name="add_positions")(
        [tokens, keras.layers.Embedding(maxlen, spec.units, name="position_embedding")(positions)])
    if spec.dropout:
        x = keras.layers.Dropout(spec.dropout, name="embedding_dropout")(x)
    for index in range(1, spec.layers + 1):
        attended = keras.layers.MultiHeadAttention(spec.heads, spec.units // spec.heads, dropout=spec.dropout,
                                                   name=f"attention_{index}")(x, x)
        x = keras.layers.LayerNormalization(name=f"norm_attention_{index}")(keras.layers.Add(name=f"residual_attention_{index}")([x, attended]))
        hidden = keras.layers.Dense(spec.ff_dim, activation="relu", name=f"feed_forward_{index}")(x)
        hidden = keras.layers.Dense(spec.units, name=f"feed_forward_out_{index}")(hidden)
        if spec.dropout:
            hidden = keras.layers.Dropout(spec.dropout, name=f"dropout_{index}")(hidden)
        x = keras.layers.LayerNormalization(name=f"norm_feed_forward_{index}")(keras.layers.Add(name=f"residual_feed_forward_{index}")([x, hidden]))
    if spec.pooling == "max":
        if spec.mask_zero:
            x = ops.where(ops.expand_dims(ops.not_equal(inputs, 0), -1), x, ops.cast(-1e9, x.dtype))
        x = keras.layers.GlobalMaxPooling1D(name="max_pooling")(x)
    else:
        x = keras.layers.GlobalAveragePooling1D(name="mean_pooling")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="topic")(x)
    return keras.Model(inputs, outputs, name="transformer")
