"""The convolutional family: Kim (2014)'s sentence CNN."""

from __future__ import annotations

from rnnbench.models import Spec


def length_problems(spec: Spec, maxlen: int) -> list[str]:
    """A convolution needs at least as many steps as its width: each width of ``kernel_sizes`` wider than
    the padded length, which leaves a bank no output to pool."""
    return [f"kernel_sizes = {list(spec.kernel_sizes)}: a width of {max(spec.kernel_sizes)} is wider than the "
            f"sequences, padded to maxlen = {maxlen}"] if max(spec.kernel_sizes) > maxlen else []


def build(spec: Spec, *, num_words: int, maxlen: int, embedding_dim: int, num_classes: int, token_product: bool = True):
    """An embedding (``embedding_dropout``, ``spatial_dropout``), one bank of ``filters`` ReLU
    convolutions per width in ``kernel_sizes``, each pooled over time (``pooling``: ``max``, Kim's, or
    ``mean``), concatenated, ``dropout``, softmax."""
    import keras

    problems = length_problems(spec, maxlen)
    if problems:
        raise ValueError(problems[0])
    inputs = keras.Input(shape=(maxlen,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(num_words, embedding_dim, name="embedding")(inputs)
    if spec.embedding_dropout:
        x = keras.layers.Dropout(spec.embedding_dropout, name="embedding_dropout")(x)
    if spec.spatial_dropout:
        x = keras.layers.SpatialDropout1D(spec.spatial_dropout, name="spatial_dropout")(x)
    pooling = keras.layers.GlobalAveragePooling1D if spec.pooling == "mean" else keras.layers.GlobalMaxPooling1D
    banks = [
        pooling(name=f"pool_{width}")(
            keras.layers.Conv1D(spec.filters, width, activation="relu", name=f"conv_{width}")(x))
        for width in spec.kernel_sizes
    ]
    x = banks[0] if len(banks) == 1 else keras.layers.Concatenate(name="banks")(banks)
    if spec.dropout:
        x = keras.layers.Dropout(spec.dropout, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="topic")(x)
    return keras.Model(inputs, outputs, name="cnn")
