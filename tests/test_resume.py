"""A training job SIGKILLed mid-run resumes from its last finished epoch and ends bit-identical."""

import json
import os
import random
import signal
import subprocess
import time

import pandas as pd
import pytest

from tests.conftest import SNAKEMAKE, TINY_VARIANTS, tiny_config

pytestmark = pytest.mark.slow

RUN = "results/runs/reuters/dropout_lstm/seed0"
TARGET = f"{RUN}/metrics.json"
EPOCHS = 8


def configure(workflow):
    variant = dict(TINY_VARIANTS["lstm"], dropout=0.2, recurrent_dropout=0.1)  # dropout RNG must resume too
    workflow.write_config(tiny_config(workflow.config_sha256(), seeds=[0], epochs=EPOCHS,
                                      variants={"dropout_lstm": variant}, notebook={}))


def outcome(root):
    history = pd.read_csv(root / RUN / "history.csv").drop(columns="seconds")
    metrics = json.loads((root / TARGET).read_text())
    metadata = json.loads((root / RUN / "run.json").read_text())
    return history, metrics, metadata


def kill_at_epoch(workflow, epoch: int) -> int:
    """Start the job, SIGKILL Snakemake and its job once epoch `epoch` is checkpointed."""
    env = dict(os.environ, KERAS_HOME=str(workflow.keras_home))
    process = subprocess.Popen([SNAKEMAKE, "--cores", "1", TARGET], cwd=workflow.root, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    latest = workflow.root / RUN / "checkpoint" / "latest"
    deadline = time.time() + 300
    while time.time() < deadline:
        if latest.exists() and int(latest.read_text().strip().split("-")[1]) >= epoch:
            break
        if process.poll() is not None:
            raise AssertionError("the job finished before it could be killed")
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return int(latest.read_text().strip().split("-")[1])


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    from tests.conftest import make_tiny_workflow

    workflow = make_tiny_workflow(tmp_path_factory.mktemp("whole"))
    configure(workflow)
    workflow.run("--cores", "1", TARGET)
    return outcome(workflow.root)


@pytest.mark.parametrize("kill_point", random.Random(7).sample(range(1, EPOCHS - 1), 3))
def test_killed_job_resumes_and_matches_an_uninterrupted_run(tiny_workflow, uninterrupted, kill_point):
    configure(tiny_workflow)
    killed_after = kill_at_epoch(tiny_workflow, kill_point)
    assert not (tiny_workflow.root / TARGET).exists()

    tiny_workflow.run("--unlock")
    tiny_workflow.run("--cores", "1", "--rerun-incomplete", TARGET)

    history, metrics, metadata = outcome(tiny_workflow.root)
    assert metadata["resumed_after_epoch"] == killed_after >= kill_point, "resumed, not restarted from zero"
    expected_history, expected_metrics, _ = uninterrupted
    pd.testing.assert_frame_equal(history, expected_history, check_exact=True)
    assert metrics == expected_metrics
    assert not (tiny_workflow.root / RUN / "checkpoint").exists(), "a finished run leaves no checkpoint"
