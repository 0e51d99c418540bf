"""Real Snakemake runs of the whole workflow on tiny synthetic data."""

import json
import re

import pandas as pd
import pytest

from tests.conftest import TINY_VARIANTS, run_dir, run_name, study_file, tiny_config

pytestmark = pytest.mark.slow


def test_end_to_end_tiny_study(finished_tiny_run):
    root = finished_tiny_run.root

    summary = pd.read_csv(study_file(root, "summary.csv"))
    assert sorted(summary["variant"]) == sorted(TINY_VARIANTS)
    assert summary["n"].tolist() == [2, 2]
    runs = pd.read_csv(study_file(root, "runs.csv"))
    finished = runs[runs["metric"] == "test_accuracy"]
    assert len(finished) == 4
    assert set(map(tuple, finished[["variant", "seed"]].values)) == {(v, s) for v in TINY_VARIANTS for s in (0, 1)}

    pairs = pd.read_csv(study_file(root, "pairwise.csv"))
    assert len(pairs) == 2 and set(pairs["a"]) == set(TINY_VARIANTS)
    for name in ("accuracy", "learning_curves", "pairwise", "confusion", "cost", "overfitting"):
        assert (root / "reports" / "figures" / "summary" / "reuters" / f"{name}.png").stat().st_size > 5000

    report = (root / "reports" / "summary.html").read_text()
    assert report.count("data:image/png;base64,") >= 2
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", report), "the report must not fetch anything"
    for variant in TINY_VARIANTS:
        assert variant in report

    log = (root / "logs" / "train" / "reuters" / run_name(TINY_VARIANTS["lstm"]) / "seed0.log").read_text()
    assert "val_accuracy" in log, "Keras's per-epoch progress goes to the rule's log"
    metadata = json.loads((run_dir(root, TINY_VARIANTS["lstm"], 0) / "run.json").read_text())
    assert metadata["threads"] == 1 and metadata["parameters"] > 0
    # The jobs keep their compiled XLA programs for each other, beside the results.
    cache = root / metadata["xla_cache"]
    assert cache.parent == root / ".cache" / "xla" and list(cache.glob("xla_compile_cache__*.pb"))

    # Nothing left to do afterwards.
    assert "Nothing to be done" in finished_tiny_run.run("-n", "reports/summary.html", "--config", "seeds=[0,1]").stdout


def test_metrics_are_those_of_the_saved_model(finished_tiny_run):
    """evaluate scores the probabilities the train job wrote; they are the saved model's own."""
    import keras
    import numpy as np

    from rnnbench.data import load_padded
    from rnnbench.evaluation import score

    root = finished_tiny_run.root
    data = load_padded(root / "data" / "padded" / "reuters.npz")
    for spec in TINY_VARIANTS.values():
        run = run_dir(root, spec, 0)
        loaded = keras.models.load_model(run / "model.keras")
        expected = score(loaded.predict(data["x_test"], verbose=0), data["y_test"], int(data["num_classes"]))
        metrics = json.loads((run / "metrics.json").read_text())
        assert np.load(run / "predictions.npy").shape == (len(data["y_test"]), int(data["num_classes"]))
        assert metrics["confusion_matrix"] == expected["confusion_matrix"]
        assert metrics["test_accuracy"] == expected["test_accuracy"]
        assert metrics["test_loss"] == pytest.approx(expected["test_loss"], rel=1e-5)


def test_snakemake_report_has_figures_and_provenance(finished_tiny_run):
    finished_tiny_run.run("--report", "reports/snakemake-report.html", "--config", "seeds=[0,1]")
    report = finished_tiny_run.root / "reports" / "snakemake-report.html"
    text = report.read_text()
    assert report.stat().st_size > 100_000
    for name in ("accuracy.png", "learning_curves.png", "pairwise.png", "overfitting.png"):
        assert name in text


def test_lint_is_clean(workflow):
    result = workflow.run("--lint")
    assert "Congratulations, your workflow is in a good condition!" in result.stdout + result.stderr


def test_snakefmt_is_clean():
    """The Snakefile and every rule file are formatted as the pinned snakefmt formats them."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    snakefmt = str(Path(sys.executable).with_name("snakefmt"))
    result = subprocess.run([snakefmt, "--check", "Snakefile", "workflow/rules/"], cwd=repo, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


PENDING_TIMERS = """
import sys, threading
from snakemake.cli import main
sys.argv = ["snakemake", "--cores", "1", "data/padded/reuters.npz"]
try:
    main()
except SystemExit as end:
    assert not end.code, end.code
pending = [t for t in threading.enumerate() if isinstance(t, threading.Timer) and not t.finished.is_set()]
print(f"pending timers: {len(pending)}")
"""


def test_no_scheduler_timer_is_pending_when_the_workflow_ends(tiny_workflow):
    """Snakemake 9 starts a 1-s scheduler timer (a non-daemon thread) after each scheduling round, so
    a finished invocation would wait for it before exiting; the workflow's onsuccess hook cancels it.
    Checked on the timers themselves, right after the last job, not on the clock."""
    import os
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", PENDING_TIMERS], cwd=tiny_workflow.root, capture_output=True,
                            text=True, timeout=300, env=dict(os.environ, KERAS_HOME=str(tiny_workflow.keras_home)))
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tiny_workflow.root / "data" / "padded" / "reuters.npz").exists()
    assert "pending timers: 0" in result.stdout, result.stdout


def test_unknown_cell_is_rejected_before_any_job(tiny_workflow):
    config = tiny_config(tiny_workflow.config_sha256())
    config["variants"]["deep_rnn"]["cell"] = "mamba"
    tiny_workflow.write_config(config)
    result = tiny_workflow.run("--cores", "1", "reports/summary.html", check=False)
    assert result.returncode != 0
    assert 'variants.deep_rnn.cell = "mamba"' in result.stderr + result.stdout
    assert not (tiny_workflow.root / "data").exists() and not (tiny_workflow.root / "results").exists()


def test_download_with_wrong_hash_fails_and_leaves_nothing(tiny_workflow):
    config = tiny_config("f" * 64)
    tiny_workflow.write_config(config)
    result = tiny_workflow.run("--cores", "1", "data/raw/reuters/reuters.npz", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "f" * 64 in output and "127.0.0.1:9/unreachable/reuters.npz" in output
    assert list((tiny_workflow.root / "data" / "raw").rglob("*.npz*")) == []


def test_diverged_runs_show_as_diverged(tiny_workflow):
    exploding = dict(TINY_VARIANTS["lstm"], learning_rate=1e38)
    config = tiny_config(tiny_workflow.config_sha256(), epochs=2,
                         variants={"lstm": TINY_VARIANTS["lstm"], "exploding": exploding})
    tiny_workflow.write_config(config)
    tiny_workflow.run("--cores", "2", "reports/summary.html")
    root = tiny_workflow.root
    summary = pd.read_csv(study_file(root, "summary.csv")).set_index("variant")
    assert (summary.loc["exploding", "n"], summary.loc["exploding", "diverged"]) == (0, 2)
    assert pd.isna(summary.loc["exploding", "accuracy_mean"])
    assert summary.loc["lstm", "n"] == 2
    assert run_name(exploding) == "lstm-l1-u4-orth-d0-rd0-lr1e38"
    metadata = json.loads((run_dir(root, exploding, 0) / "run.json").read_text())
    assert metadata["diverged"] and metadata["epochs_run"] == 1
    report = (root / "reports" / "summary.html").read_text()
    assert re.search(r'<tr class="diverged" data-variant="exploding">', report)


@pytest.mark.parametrize("cpus, expected", [("1", "1"), ("3", "3"), ("8", "4")])
def test_make_summary_runs_four_cores_or_the_machines_cpus_when_fewer(cpus, expected):
    import os
    import subprocess
    from pathlib import Path

    env = {**os.environ, "OMP_NUM_THREADS": cpus}  # GNU nproc counts no more CPUs than this
    make = dict(capture_output=True, text=True, check=True, env=env, cwd=Path(__file__).parents[1])
    plan = subprocess.run(["make", "-n", "summary"], **make).stdout
    assert f"snakemake --cores {expected} reports/summary.html" in plan
    asked = subprocess.run(["make", "-n", "summary", "CORES=8"], **make)
    assert "snakemake --cores 8 reports/summary.html" in asked.stdout
