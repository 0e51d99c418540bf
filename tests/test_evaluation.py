import numpy as np
import pytest

from rnnbench.evaluation import confusion_matrix, evaluate, macro_f1


def test_confusion_matrix_rows_are_truth():
    matrix = confusion_matrix([0, 0, 1, 2], [0, 1, 1, 1], 4)
    assert matrix.tolist() == [[1, 1, 0, 0], [0, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]]


def test_macro_f1_by_hand():
    # class 0: tp1 fn1 fp0 -> f1 2/3; class 1: tp1 fp2 -> 2/4; class 2: 0; class 3 absent -> left out
    matrix = confusion_matrix([0, 0, 1, 2], [0, 1, 1, 1], 4)
    assert macro_f1(matrix) == pytest.approx((2 / 3 + 0.5 + 0.0) / 3)


def test_evaluate_matches_keras(tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(40, 5)).astype("float32")
    y = np.arange(40) % 3
    loss, accuracy = model.evaluate(x, y, verbose=0)
    metrics = evaluate(model, x, y, 3)
    assert metrics["test_loss"] == pytest.approx(loss, rel=1e-5)
    assert metrics["test_accuracy"] == pytest.approx(accuracy)
    assert np.sum(metrics["confusion_matrix"]) == 40


def test_binary_runs_report_the_positive_class():
    import numpy as np

    from rnnbench.evaluation import confusion_matrix, positive_class_scores

    y_true = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 0])
    y_pred = np.array([0, 0, 0, 1, 1, 1, 1, 0, 0, 0])
    scores = positive_class_scores(confusion_matrix(y_true, y_pred, 2))
    # 3 true positives, 1 false positive, 2 false negatives
    assert scores["test_precision"] == 3 / 4 and scores["test_recall"] == 3 / 5
    assert scores["test_f1"] == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    assert positive_class_scores(confusion_matrix(y_true, np.zeros(10, int), 2)) == {
        "test_precision": 0.0, "test_recall": 0.0, "test_f1": 0.0}
