"""Test-set metrics of one trained run."""

from __future__ import annotations

import numpy as np


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Counts with true classes as rows and predicted classes as columns."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return matrix


def macro_f1(matrix: np.ndarray) -> float:
    """Unweighted mean F1 over the classes that occur in the truth or the predictions.

    Matches scikit-learn's ``f1_score(average="macro", zero_division=0)``: a class
    absent from both is left out, and a class never predicted scores 0.
    """
    true_positive = np.diag(matrix).astype(float)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    present = (support + predicted) > 0
    denominator = support + predicted
    f1 = np.divide(2 * true_positive, denominator, out=np.zeros_like(true_positive), where=denominator > 0)
    return float(f1[present].mean())


def positive_class_scores(matrix: np.ndarray) -> dict:
    """Precision, recall and F1 of class 1 (the positive class of a binary dataset); 0 where undefined."""
    true_positive = float(matrix[1, 1])
    predicted, actual = float(matrix[:, 1].sum()), float(matrix[1, :].sum())
    precision = true_positive / predicted if predicted else 0.0
    recall = true_positive / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"test_precision": precision, "test_recall": recall, "test_f1": f1}


def diverged_metrics(y_test, num_classes: int) -> dict:
    """A diverged run has no test scores: NaN, never a number that could be averaged in."""
    binary = {key: float("nan") for key in ("test_precision", "test_recall", "test_f1")} if num_classes == 2 else {}
    return {
        "test_loss": float("nan"),
        "test_accuracy": float("nan"),
        "test_macro_f1": float("nan"),
        **binary,
        "test_rows": int(len(y_test)),
        "diverged": True,
        "confusion_matrix": np.zeros((num_classes, num_classes), dtype=int).tolist(),
    }


def load_predictions(path, rows: int, num_classes: int) -> np.ndarray:
    """A run's predictions.npy, checked against the test split it claims to predict."""
    from rnnbench.io import BadFile, load_npy

    probabilities = load_npy(path)
    if probabilities.shape != (rows, num_classes):
        shape = " x ".join(map(str, probabilities.shape)) or "0-dimensional"
        raise BadFile(path, f"holds {shape} probabilities, but the test split has {rows} rows of {num_classes} classes")
    return probabilities


def score(probabilities, y_test, num_classes: int) -> dict:
    """Test loss, accuracy, macro-F1 (binary: the positive class too) and confusion matrix of a
    run's class probabilities (``rnnbench.training.predict``)."""
    probabilities, y_test = np.asarray(probabilities), np.asarray(y_test)
    y_pred = probabilities.argmax(axis=1)
    picked = probabilities[np.arange(len(y_test)), y_test].astype(np.float64)
    loss = float(-np.mean(np.log(np.clip(picked, 1e-7, 1.0))))
    matrix = confusion_matrix(y_test, y_pred, num_classes)
    return {
        "test_loss": loss,
        "test_accuracy": float(np.mean(y_pred == y_test)),
        "test_macro_f1": macro_f1(matrix),
        **(positive_class_scores(matrix) if num_classes == 2 else {}),
        "test_rows": int(len(y_test)),
        "diverged": False,
        "confusion_matrix": matrix.tolist(),
    }
