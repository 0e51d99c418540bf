"""A scikit-learn model of one's own: ``cell: sklearn`` names a builder by import path, ``package.module:function``."""

from __future__ import annotations

from rnnbench.families.custom import BuilderError, call_builder
from rnnbench.models import Spec


def build(spec: Spec, *, num_classes: int, seed: int):
    """``function(options, num_classes=, seed=)`` of the builder's module: an unfitted scikit-learn estimator
    (a pipeline, say) from token texts (``rnnbench.fitting.token_texts``: each row's token ids, as text) to
    classes, with ``predict_proba`` or ``decision_function``."""
    estimator = call_builder(spec, num_classes=num_classes, seed=seed)
    if not hasattr(estimator, "fit") or not (hasattr(estimator, "predict_proba") or hasattr(estimator, "decision_function")):
        raise BuilderError(
            f"builder {spec.builder!r} returned a {type(estimator).__name__}; expected a scikit-learn estimator with "
            "fit and predict_proba or decision_function"
        )
    return estimator
