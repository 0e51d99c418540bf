"""A scikit-learn model of one's own: ``cell: sklearn`` names a builder by import path, ``package.module:function``."""

from __future__ import annotations

import importlib
import json

from rnnbench.families.custom import BuilderError, builder_source
from rnnbench.models import Spec


def build(spec: Spec, *, num_classes: int, seed: int):
    """``function(options, num_classes=, seed=)`` of the builder's module: an unfitted scikit-learn estimator
    (a pipeline, say) from token texts (``rnnbench.fitting.token_texts``: each row's token ids, as text) to
    classes, with ``predict_proba`` or ``decision_function``."""
    builder_source(spec.builder)
    module, _, name = spec.builder.partition(":")
    try:
        function = getattr(importlib.import_module(module), name)
        estimator = function(json.loads(spec.options or "{}"), num_classes=num_classes, seed=seed)
    except Exception as error:
        raise BuilderError(f"builder {spec.builder!r} failed: {type(error).__name__}: {error}") from None
    if not hasattr(estimator, "fit") or not (hasattr(estimator, "predict_proba") or hasattr(estimator, "decision_function")):
        raise BuilderError(
            f"builder {spec.builder!r} returned a {type(estimator).__name__}; expected a scikit-learn estimator with "
            "fit and predict_proba or decision_function"
        )
    return estimator
