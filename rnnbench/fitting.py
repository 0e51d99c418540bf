"""The one fit of a scikit-learn run (the ``linear`` and ``sklearn`` families): the same training and
validation rows as a Keras run, the same outputs (class probabilities, a history, its facts), no epochs."""

from __future__ import annotations

import time
from typing import Any, Mapping

import numpy as np
import pandas as pd

from rnnbench.settings import HISTORY_COLUMNS, TrainSettings, split_validation


def token_texts(x) -> list[str]:
    """Padded token-id rows as the texts an estimator reads: each row's ids, padding (0) left out."""
    return [" ".join(map(str, row[row > 0].tolist())) for row in np.asarray(x)]


def build_estimator(spec, *, num_classes: int, seed: int):
    """The unfitted estimator that ``spec`` describes, built by its family's module."""
    import importlib

    return importlib.import_module(spec.family).build(spec, num_classes=num_classes, seed=seed)


def probabilities(estimator, x, num_classes: int) -> np.ndarray:
    """Class probabilities of the rows (rows x ``num_classes``, float64, so that near-ties keep their order):
    ``predict_proba`` where the estimator has one, else the softmax of its decision scores (a linear SVM's);
    their argmax is the estimator's own prediction. Classes absent from the training rows get 0."""
    texts = token_texts(x)
    if hasattr(estimator, "predict_proba"):
        known = np.asarray(estimator.predict_proba(texts), dtype=np.float64)
    else:
        scores = np.asarray(estimator.decision_function(texts), dtype=np.float64)
        if scores.ndim == 1:  # two classes: one score, for the second
            scores = np.column_stack([np.zeros_like(scores), scores])
        known = np.exp(scores - scores.max(axis=1, keepdims=True))
        known /= known.sum(axis=1, keepdims=True)
    full = np.zeros((len(texts), num_classes), dtype=np.float64)
    full[:, np.asarray(estimator.classes_, dtype=int)] = known
    if len(texts) and not np.array_equal(np.argmax(full, axis=1), np.asarray(estimator.predict(texts), dtype=int)):
        raise RuntimeError("the class probabilities' argmax differs from the estimator's own predictions")
    return full


def fit(data: Mapping[str, np.ndarray], settings: TrainSettings | Mapping[str, Any], *, seed: int, threads: int):
    """Fit the estimator that ``settings`` describe on the training rows a Keras run trains on (the first
    ``1 - validation_split`` of them); return (estimator, history frame, metadata). The history holds one
    row, the fit, as epoch 1: its crossentropy and accuracy on the training and validation rows and its seconds."""
    from threadpoolctl import threadpool_limits

    from rnnbench.runtime import machine_facts

    settings = TrainSettings.of(settings)
    spec = settings.variant
    started = time.time()
    num_classes = int(data["num_classes"])
    (x_fit, y_fit), (x_val, y_val) = split_validation(data["x_train"], data["y_train"], settings.validation_split)
    estimator = build_estimator(spec, num_classes=num_classes, seed=seed)
    with threadpool_limits(threads):
        start = time.perf_counter()
        estimator.fit(token_texts(x_fit), y_fit)
        seconds = time.perf_counter() - start
        row = {"epoch": 1, **_scores(estimator, x_fit, y_fit, num_classes, ""),
               **_scores(estimator, x_val, y_val, num_classes, "val_"), "seconds": seconds}
    model = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    metadata = {
        "seed": seed,
        "parameters": int(sum(np.size(getattr(model, name, 0)) for name in ("coef_", "intercept_"))),
        "wall_seconds": time.time() - started,
        "epochs_run": 1,  # the one fit, history row 1
        "best_epoch": 1,
        "diverged": False,
        "resumed_after_epoch": 0,
        "train_rows": len(x_fit),
        "validation_rows": len(x_val),
        "engine": "scikit-learn",
        "xla": False,
        "threads": threads,
        "scikit-learn": _sklearn_version(),
        **machine_facts(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
    }
    return estimator, pd.DataFrame([row], columns=HISTORY_COLUMNS), metadata


def _scores(estimator, x, y, num_classes: int, prefix: str) -> dict[str, float]:
    """Crossentropy and accuracy of the estimator's class probabilities on rows ``x`` (labels ``y``), as a
    run's test split is scored."""
    from rnnbench.evaluation import score

    if not len(y):
        return {f"{prefix}loss": np.nan, f"{prefix}accuracy": np.nan}
    scored = score(probabilities(estimator, x, num_classes), y, num_classes)
    return {f"{prefix}loss": scored["test_loss"], f"{prefix}accuracy": scored["test_accuracy"]}


def _sklearn_version() -> str:
    import sklearn

    return sklearn.__version__


def save_estimator(estimator, path) -> None:
    """Write the fitted estimator in skops' format, atomically: it loads with ``skops.io.load(path)`` alone,
    no rnnbench and no pickled code (a type skops does not trust by default is refused when saving)."""
    import skops.io

    from rnnbench.io import atomic_path

    with atomic_path(path) as tmp:
        skops.io.dump(estimator, tmp)
        untrusted = skops.io.get_untrusted_types(file=tmp)
        if untrusted:
            raise ValueError(f"{path}: the estimator holds types skops does not load by default: {', '.join(untrusted)}")
