"""A model of one's own: a spec names a builder by import path, ``package.module:function``."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from pathlib import Path

from rnnbench.models import Spec


class BuilderError(RuntimeError):
    """A builder that cannot be imported, fails, or returns something other than the classifier asked for."""


def builder_source(builder: str) -> Path:
    """The file of a builder's module, found without running it (the working directory first, as
    the jobs import it)."""
    module, _, function = builder.partition(":")
    if not module or not function:
        raise BuilderError(f"builder {builder!r}: expected 'package.module:function'")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        found = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        found = None
    except (ImportError, ValueError) as error:
        raise BuilderError(f"builder {builder!r}: {error}") from None
    if found is None or not found.origin or not found.has_location:
        raise BuilderError(f"builder {builder!r}: no module {module!r} on the path (the working directory first)")
    return Path(found.origin)


def call_builder(spec: Spec, **facts):
    """``function(options, **facts)`` of the spec's builder module; any error of it is a BuilderError naming it."""
    builder_source(spec.builder)
    module, _, name = spec.builder.partition(":")
    try:
        function = getattr(importlib.import_module(module), name)
        return function(json.loads(spec.options or "{}"), **facts)
    except Exception as error:
        raise BuilderError(f"builder {spec.builder!r} failed: {type(error).__name__}: {error}") from None


def build(spec: Spec, *, num_words: int, maxlen: int, embedding_dim: int, num_classes: int, token_product: bool = True):
    """``function(options, num_words=, maxlen=, embedding_dim=, num_classes=)`` of the builder's module:
    a Keras model from (batch, maxlen) int token ids to (batch, num_classes) class probabilities."""
    model = call_builder(spec, num_words=num_words, maxlen=maxlen, embedding_dim=embedding_dim, num_classes=num_classes)
    shapes = (getattr(model, "input_shape", None), getattr(model, "output_shape", None))
    if shapes != ((None, maxlen), (None, num_classes)):
        raise BuilderError(
            f"builder {spec.builder!r} returned a model from {shapes[0]} to {shapes[1]}; expected a Keras model "
            f"from (None, {maxlen}) token ids to (None, {num_classes}) class probabilities"
        )
    return model
