"""One module per model family, each with ``build(spec, *, num_words, maxlen, embedding_dim, num_classes,
token_product)``; ``rnnbench.models.FAMILIES`` names them, and they are imported by name."""
