import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rnnbench.aggregate import EPOCH_METRICS, FINAL_METRICS, RUN_FACTS, summarize, tidy_run


def fake_run(variant, seed, accuracy, epochs=3):
    history = pd.DataFrame({
        "epoch": range(1, epochs + 1),
        "loss": np.linspace(2, 1, epochs), "accuracy": np.linspace(0.3, 0.6, epochs),
        "val_loss": np.linspace(2.1, 1.2, epochs), "val_accuracy": np.linspace(0.3, 0.5, epochs),
        "seconds": [2.0 + seed] * epochs,
    })
    metrics = {"test_loss": 1.0, "test_accuracy": accuracy, "test_macro_f1": accuracy / 2}
    metadata = {"parameters": 1000, "wall_seconds": 10.0, "peak_rss_mb": 500.0, "diverged": False}
    return tidy_run("reuters", 113, variant, seed, history, metrics, metadata)


@pytest.fixture
def runs():
    accuracies = {"a": [0.70, 0.72, 0.74], "b": [0.60, 0.61, 0.65]}
    return pd.concat([fake_run(v, s, acc) for v, accs in accuracies.items() for s, acc in enumerate(accs)])


def test_runs_are_tidy(runs):
    assert list(runs.columns) == ["dataset", "split", "variant", "seed", "epoch", "metric", "value"]
    assert not runs.duplicated(["dataset", "split", "variant", "seed", "epoch", "metric"]).any()
    per_run = len(EPOCH_METRICS) * 3 + len(FINAL_METRICS) + len(RUN_FACTS)
    assert len(runs) == 6 * per_run
    assert set(runs.loc[runs["metric"] == "test_accuracy", "epoch"]) == {3}


def test_summary_recomputes_from_runs(runs):
    summary = summarize(runs, {"a": 0.75}).set_index("variant")
    assert summary.index.tolist() == ["a", "b"], "sorted by mean accuracy"
    a = np.array([0.70, 0.72, 0.74])
    row = summary.loc["a"]
    assert row["n"] == 3
    assert row["accuracy_mean"] == pytest.approx(a.mean())
    assert row["accuracy_std"] == pytest.approx(a.std(ddof=1))
    assert (row["accuracy_min"], row["accuracy_max"]) == (0.70, 0.74)
    assert row["accuracy_ci_low"] <= a.mean() <= row["accuracy_ci_high"]
    expected = stats.t.interval(0.95, 2, loc=a.mean(), scale=stats.sem(a))
    assert (row["accuracy_ci_low"], row["accuracy_ci_high"]) == pytest.approx(expected)
    assert row["macro_f1_mean"] == pytest.approx(a.mean() / 2)
    assert row["seconds_per_epoch"] == pytest.approx(np.mean([2, 3, 4]))
    assert row["train_seconds"] == pytest.approx(np.mean([6, 9, 12]))
    assert row["notebook_accuracy"] == 0.75 and np.isnan(summary.loc["b", "notebook_accuracy"])


def test_single_seed_has_no_interval():
    summary = summarize(fake_run("a", 0, 0.7))
    assert summary.loc[0, "n"] == 1 and np.isnan(summary.loc[0, "accuracy_ci_low"])


def test_diverged_runs_are_counted_not_averaged():
    runs = pd.concat([fake_run("a", 0, 0.70), fake_run("a", 1, 0.74), fake_run("a", 2, float("nan"))])
    runs.loc[(runs["seed"] == 2) & (runs["metric"] == "diverged"), "value"] = 1.0
    row = summarize(runs).iloc[0]
    assert (row["n"], row["diverged"]) == (2, 1)
    assert row["accuracy_mean"] == pytest.approx(0.72)


def test_a_suspended_epoch_leaves_seconds_per_epoch_alone():
    """A job stopped for 1,000 s in one epoch (SIGSTOP, a preempted node) keeps its median epoch."""
    from rnnbench.aggregate import final_values

    run = fake_run("a", 0, 0.7, epochs=5)
    seconds = run["metric"] == "seconds"
    run.loc[seconds & (run["epoch"] == 2), "value"] = 1000.0
    final = final_values(run).iloc[0]
    assert final["seconds_per_epoch"] == pytest.approx(2.0)
    assert final["train_seconds"] == pytest.approx(4 * 2.0 + 1000.0)
