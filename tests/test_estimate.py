"""rnnbench.estimate on real dry runs of a tiny workflow: the jobs it lists and the times it gives."""

import json
import os
import re
import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import TINY_VARIANTS, run_dir

pytestmark = pytest.mark.slow


def estimate(workflow, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "rnnbench.estimate", *args], cwd=workflow.root,
                            env=dict(os.environ, KERAS_HOME=str(workflow.keras_home)),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def jobs(output: str) -> dict[str, int]:
    line = next(line for line in output.splitlines() if line.startswith("jobs to run: "))
    return {rule: int(count) for count, rule in re.findall(r"(\d+) (\w+)", line)}


def test_a_finished_study_has_nothing_to_run(finished_tiny_run):
    output = estimate(finished_tiny_run, "reports/summary.html", "--cores", "2")
    assert "jobs to run: nothing" in output
    assert "estimated wall time at --cores 2: 0 s" in output


def test_new_seeds_are_timed_from_the_finished_runs_of_their_spec(finished_tiny_run):
    output = estimate(finished_tiny_run, "reports/summary.html", "--cores", "1", "--config", "seeds=[0,1,2]")
    assert jobs(output) == {"aggregate": 1, "compare": 1, "documents": 1, "evaluate": 2, "figures": 1, "report": 1,
                            "train": 2}
    root = finished_tiny_run.root
    expected = {}
    for spec in TINY_VARIANTS.values():
        # one epoch per finished run: its seconds are the spec's seconds per epoch (the median of the seeds)
        assert json.loads((run_dir(root, spec, 0) / "run.json").read_text())["epochs_run"] == 1
        seconds = [pd.read_csv(run_dir(root, spec, seed) / "history.csv")["seconds"].iloc[0] for seed in (0, 1)]
        expected[run_dir(root, spec, 0).parent.name] = sum(seconds) / 2
    rows = {line.split()[1]: line.split() for line in output.splitlines() if "2 finished runs" in line}
    assert sorted(rows) == sorted(expected)
    for run, fields in rows.items():
        assert fields[2:4] == ["1", "1.0"]  # seeds, epochs
        assert float(fields[4]) == pytest.approx(expected[run], abs=0.006)
    assert "runs to train: 2, 2 epochs" in output
    assert "(1 job at a time on" in output
    # more epochs change every run's settings: all six train again, timed from the same finished runs
    longer = estimate(finished_tiny_run, "reports/summary.html", "--cores", "1", "--config", "seeds=[0,1,2]", "epochs=3")
    assert jobs(longer)["train"] == 6 and "runs to train: 6, 18 epochs" in longer
    assert longer.count("2 finished runs") == 2


def test_a_spec_without_finished_runs_is_calibrated_here_or_left_untimed(finished_tiny_run):
    output = estimate(finished_tiny_run, "reports/summary.html", "--cores", "2", "--config", "batch_size=8")
    assert jobs(output)["train"] == 4 and jobs(output)["evaluate"] == 4
    assert output.count("calibration here") == 2
    assert "runs to train: 4, 4 epochs" in output and "not counted" not in output
    untimed = estimate(finished_tiny_run, "reports/summary.html", "--cores", "2", "--config", "batch_size=8",
                       "--no-calibration")
    assert "not counted: 4 runs with no timing" in untimed


def test_a_fresh_workflow_lists_every_job_and_says_what_it_cannot_time(tiny_workflow):
    output = estimate(tiny_workflow, "reports/summary.html", "--cores", "2")
    assert jobs(output) == {"aggregate": 1, "compare": 1, "documents": 1, "download": 1, "evaluate": 4, "figures": 1,
                            "pad": 1, "report": 1, "train": 4}
    assert "no reuters padded data to calibrate on" in output
    assert "not counted: the jobs of aggregate, compare, documents, download, evaluate, figures, pad, report" in output
    assert "not counted: 4 runs with no timing" in output
