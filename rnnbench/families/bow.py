"""The bag-of-words family: the non-recurrent baseline of the notebook's comparisons."""

from __future__ import annotations

from rnnbench.models import Spec


def build(spec: Spec, *, num_words: int, maxlen: int, embedding_dim: int, num_classes: int, token_product: bool = True):
    """The multi-hot bag of words of the same token ids, ``layers`` ReLU layers of ``units`` with
    ``dropout`` after each, softmax."""
    import keras

    inputs = keras.Input(shape=(maxlen,), dtype="int32", name="tokens")
    # Token 0 is padding: it is counted like a word, the same for every document length.
    x = keras.layers.CategoryEncoding(num_words, output_mode="multi_hot", name="bag_of_words")(inputs)
    for index in range(spec.layers):
        x = keras.layers.Dense(spec.units, activation="relu", name=f"dense_{index + 1}")(x)
        if spec.dropout:
            x = keras.layers.Dropout(spec.dropout, name=f"dropout_{index + 1}")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="topic")(x)
    return keras.Model(inputs, outputs, name=spec.cell)
