"""The linear family (and scikit-learn builders of one's own): one fit on the rows a network trains on, the
run contract kept, a model file that loads without rnnbench, searches, and a finished study extended by it."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from rnnbench.config import ConfigError, validate_config
from rnnbench.fitting import fit, probabilities, token_texts
from rnnbench.models import Spec
from rnnbench.studies import spec_name
from tests.conftest import Workflow, run_dir, study_file


def tiny_data(rows: int = 200, classes: int = 5, seed: int = 0) -> dict:
    """Padded token ids (0 = padding at the end) whose first token tells the class; class 4 never occurs."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes - 1, size=rows)
    x = rng.integers(3, 40, size=(rows, 12))
    x[:, 0] = 40 + y
    x[np.arange(12)[None, :] >= rng.integers(3, 12, size=rows)[:, None]] = 0
    cut = rows * 3 // 4
    return {"x_train": x[:cut], "y_train": y[:cut], "x_test": x[cut:], "y_test": y[cut:],
            "num_classes": np.int64(classes), "num_words": np.int64(45)}


def settings(**variant) -> dict:
    return {"variant": {"cell": "linear", **variant}, "embedding_dim": None, "epochs": None, "batch_size": None,
            "validation_split": 0.25}


def test_token_texts_leave_the_padding_out():
    assert token_texts(np.array([[5, 12, 0, 0], [7, 0, 0, 0]])) == ["5 12", "7"]


@pytest.mark.parametrize("variant", [{}, {"classifier": "logreg", "ngrams": 2, "weighting": "counts", "C": 10},
                                     {"weighting": "binary", "sublinear_tf": False, "norm": "none", "min_df": 2,
                                      "class_weight": "balanced"}])
def test_each_classifier_fits_on_the_networks_training_rows_and_predicts(variant):
    data = tiny_data()
    estimator, history, metadata = fit(data, settings(**variant), seed=0, threads=1)
    assert metadata["train_rows"] == 112 and metadata["validation_rows"] == 38  # Keras's split of 150 rows
    assert list(history["epoch"]) == [1] and history["val_accuracy"].iloc[0] > 0.9
    assert metadata["epochs_run"] == 1 and metadata["engine"] == "scikit-learn"
    model = estimator.steps[-1][1]
    assert metadata["parameters"] == model.coef_.size + model.intercept_.size
    p = probabilities(estimator, data["x_test"], 5)
    assert p.shape == (50, 5) and p.dtype == np.float64
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-6)
    assert np.all(p[:, 4] == 0), "a class absent from the training rows gets no probability"
    assert np.array_equal(p.argmax(axis=1), estimator.predict(token_texts(data["x_test"])))
    assert np.mean(p.argmax(axis=1) == data["y_test"]) > 0.9


def test_a_binary_svm_s_one_score_becomes_two_probabilities():
    data = tiny_data(classes=3)  # classes 0 and 1 occur
    estimator, _, _ = fit(data, settings(), seed=0, threads=1)
    p = probabilities(estimator, data["x_test"], 3)
    scores = estimator.decision_function(token_texts(data["x_test"]))
    np.testing.assert_allclose(p[:, 1], 1 / (1 + np.exp(-scores)), rtol=1e-5)
    assert np.array_equal(p.argmax(axis=1), estimator.predict(token_texts(data["x_test"])))


def test_the_linear_spec_names_every_field_of_its_own_and_takes_none_of_training_by_epochs():
    assert spec_name({"cell": "linear"}) == "linear-svm-n1-tfidf-sub-df1-l2-c1"
    assert spec_name({"cell": "linear", "classifier": "logreg", "ngrams": 2, "sublinear_tf": False, "C": 0.5,
                      "class_weight": "balanced"}) == "linear-logreg-n2-tfidf-df1-l2-c0.5-balanced"
    spec = Spec.of({"cell": "linear", "C": 2})
    assert Spec.of(spec.as_dict()) == spec and "learning_rate" not in spec.as_dict()
    assert spec_name({"cell": "linear", "C": 1}) == spec_name({"cell": "linear", "C": 1.0, "weighting": "tfidf"})


@pytest.mark.parametrize("entry, problem", [
    ({"cell": "linear", "units": 8}, "variants.v.units: not a field of cell 'linear'"),
    ({"cell": "linear", "learning_rate": 0.01}, "variants.v.learning_rate: not a field of cell 'linear'"),
    ({"cell": "lstm", "layers": 1, "units": 4, "C": 1.0}, "variants.v.C: not a field of cell 'lstm'"),
    ({"cell": "bow", "layers": 1, "units": 4, "ngrams": 2}, "variants.v.ngrams: not a field of cell 'bow'"),
    ({"cell": "linear", "classifier": "nbsvm"}, "classifier"),
    ({"cell": "linear", "C": 0}, "C"),
    ({"cell": "sklearn"}, "cell 'sklearn' requires 'builder'"),
])
def test_fields_of_another_family_are_refused_by_name(tmp_path, entry, problem):
    from tests.conftest import REPO, tiny_config

    config = tiny_config("0" * 64, variants={"v": entry})
    with pytest.raises(ConfigError, match=problem.replace("(", r"\(")):
        validate_config(config, REPO / "workflow" / "schemas" / "config.schema.yaml")


# A scikit-learn builder of one's own, by YAML: multinomial naive Bayes on token counts.
NAIVE_BAYES = '''
def naive_bayes(options, num_classes, seed):
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.naive_bayes import MultinomialNB
    from sklearn.pipeline import make_pipeline

    return make_pipeline(CountVectorizer(token_pattern=r"\\d+"), MultinomialNB(alpha=options.get("alpha", 1.0)))
'''

LINEAR = {
    "tfidf_svm": {"cell": "linear"},
    "tfidf_logreg": {"cell": "linear", "classifier": "logreg", "ngrams": 2},
    "naive_bayes": {"cell": "sklearn", "builder": "mine.estimators:naive_bayes", "options": {"alpha": 0.5}},
}
LINEAR_SEARCH = {"base": {"cell": "linear"}, "trials": 3,
                 "space": {"C": {"low": 0.1, "high": 10.0, "log": True}, "ngrams": [1, 2], "classifier": ["svm", "logreg"]}}

# Loads each model.skops with skops alone (trusting only what skops trusts by default) and prints its
# class probabilities of the test rows, as README's recipe does.
LOAD = """
import json, sys
import numpy as np
import skops.io
with np.load(sys.argv[1]) as data:
    x, classes = data["x_test"], int(data["num_classes"])
texts = [" ".join(map(str, row[row > 0])) for row in x]
out = {}
for path in sys.argv[2:]:
    model = skops.io.load(path)
    if hasattr(model, "predict_proba"):
        known = model.predict_proba(texts)
    else:
        scores = model.decision_function(texts)
        scores = np.column_stack([np.zeros_like(scores), scores]) if scores.ndim == 1 else scores
        known = np.exp(scores - scores.max(axis=1, keepdims=True))
        known /= known.sum(axis=1, keepdims=True)
    p = np.zeros((len(x), classes))
    p[:, model.classes_] = known
    out[path] = p.tolist()
assert not [m for m in sys.modules if m == "rnnbench" or m.startswith("rnnbench.")], "rnnbench was imported"
print(json.dumps(out))
"""


@pytest.mark.slow
def test_linear_variants_added_to_a_finished_study_fit_only_their_runs_and_reach_the_report(finished_tiny_run,
                                                                                           tmp_path):
    """Beside the finished study's networks: the linear variants, a scikit-learn builder of one's own and a search
    over the family are planned and fitted alone (no network retrained), reach the summary and budget reports, and
    each model loads in a process that never imports rnnbench with the probabilities its run wrote."""
    root = tmp_path / "project"
    shutil.copytree(finished_tiny_run.root, root, symlinks=True)
    workflow = Workflow(root, finished_tiny_run.keras_home)
    (root / "mine").mkdir()
    (root / "mine" / "__init__.py").write_text("")
    (root / "mine" / "estimators.py").write_text(NAIVE_BAYES)
    config = yaml.safe_load((root / "config.yaml").read_text())
    config["variants"].update(LINEAR)
    config["searches"] = {"tuned_linear": LINEAR_SEARCH}
    config["studies"] = {"summary": {"datasets": ["reuters"], "variants": list(config["variants"])},
                         "budget": {"datasets": ["reuters"], "searches": ["tuned_linear"]}}
    workflow.write_config(config)

    result = workflow.run("--cores", "2", "reports/summary.html", "reports/budget.html")
    log = result.stdout + result.stderr
    assert "rule train:" not in log, "a network was retrained"
    assert log.count("rule fit:") == 3 * 2 + 3 + 2, log[-3000:]  # 3 variants x 2 seeds, 3 trials, the best at 2 seeds

    summary = pd.read_csv(study_file(root, "summary.csv"))
    assert set(LINEAR) <= set(summary["variant"])
    assert "tfidf_svm" in (root / "reports" / "summary.html").read_text()
    trials = pd.read_csv(study_file(root, "trials.csv", "budget"))
    assert len(trials) == 3 and trials["val_accuracy"].notna().all()

    padded = root / "data" / "padded" / "reuters.npz"
    runs = [run_dir(root, spec, seed) for spec in LINEAR.values() for seed in (0, 1)]
    for run in runs:
        facts = json.loads((run / "run.json").read_text())
        assert facts["engine"] == "scikit-learn" and facts["epochs_run"] == 1 and facts["spec"]["epochs"] is None
        assert len(pd.read_csv(run / "history.csv")) == 1
        assert not (run / "model.keras").exists()
    outside = tmp_path / "elsewhere"  # no rnnbench beside the script
    outside.mkdir()
    loaded = subprocess.run([sys.executable, "-c", LOAD, str(padded), *[str(run / "model.skops") for run in runs]],
                            cwd=outside, capture_output=True, text=True, timeout=300)
    assert loaded.returncode == 0, loaded.stderr
    probabilities_by_path = json.loads(loaded.stdout.strip().splitlines()[-1])
    for run in runs:
        written = np.load(run / "predictions.npy")
        np.testing.assert_array_equal(np.asarray(probabilities_by_path[str(run / "model.skops")]), written)
