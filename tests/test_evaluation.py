import numpy as np
import pytest

from rnnbench.evaluation import confusion_matrix, load_predictions, macro_f1, score
from rnnbench.training import predict


def test_confusion_matrix_rows_are_truth():
    matrix = confusion_matrix([0, 0, 1, 2], [0, 1, 1, 1], 4)
    assert matrix.tolist() == [[1, 1, 0, 0], [0, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]]


def test_macro_f1_by_hand():
    # class 0: tp1 fn1 fp0 -> f1 2/3; class 1: tp1 fp2 -> 2/4; class 2: 0; class 3 absent -> left out
    matrix = confusion_matrix([0, 0, 1, 2], [0, 1, 1, 1], 4)
    assert macro_f1(matrix) == pytest.approx((2 / 3 + 0.5 + 0.0) / 3)


def test_score_of_predictions_matches_keras(tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(40, 5)).astype("float32")
    y = np.arange(40) % 3
    loss, accuracy = model.evaluate(x, y, verbose=0)
    probabilities = predict(model, x)
    assert probabilities.dtype == np.float32 and probabilities.shape == (40, 3)
    metrics = score(probabilities, y, 3)
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


@pytest.mark.slow  # trains
def test_predictions_of_a_fused_model_match_the_saved_model_loaded_back(tmp_path):
    """The train job predicts with the model in memory (trained under XLA), eagerly and in chunks; the
    same figures as the saved model.keras loaded back, and the model still trains under XLA afterwards."""
    import keras

    from rnnbench import engines
    from rnnbench.models import build_model

    keras.utils.set_random_seed(0)
    model = build_model({"cell": "lstm", "layers": 2, "units": 4}, num_words=30, maxlen=9, embedding_dim=8,
                        num_classes=3)
    engines.compile_model(model, "fused", 0.01, loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).integers(1, 30, size=(37, 9))
    model.fit(x, np.arange(37) % 3, epochs=1, verbose=0)
    assert model.jit_compile
    probabilities = predict(model, x, batch_size=16)
    assert model.jit_compile and model.predict_function is None
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(probabilities, loaded.predict(x, verbose=0), rtol=1e-6, atol=1e-7)
    assert np.isfinite(model.fit(x, np.arange(37) % 3, epochs=1, verbose=0).history["loss"][-1])  # still trains


def test_predictions_file_is_checked(tmp_path):
    path = tmp_path / "predictions.npy"
    np.save(path, np.full((4, 3), 1 / 3, dtype=np.float32))
    assert load_predictions(path, 4, 3).shape == (4, 3)
    with pytest.raises(ValueError, match=r"predictions.npy: holds 4 x 3 probabilities, but the test split has 5 rows of 3"):
        load_predictions(path, 5, 3)
    path.write_bytes(path.read_bytes()[:60])  # cut short, as by a full disk
    with pytest.raises(ValueError, match=r"predictions.npy: not a readable .npy file .*snakemake --cores 1 --force .*predictions.npy"):
        load_predictions(path, 4, 3)
    path.write_text("garbage")
    with pytest.raises(ValueError, match="not a readable .npy file"):
        load_predictions(path, 4, 3)


def test_scoring_needs_no_tensorflow():
    """The evaluate job imports only numpy-level modules: no TensorFlow start-up (docs/performance.md, P2)."""
    import subprocess
    import sys

    code = ("import sys, rnnbench.data, rnnbench.evaluation, rnnbench.io; "
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
