"""A training job SIGKILLed mid-run resumes from its last finished epoch and ends bit-identical."""

import json
import os
import random
import signal
import subprocess
import time

import pandas as pd
import pytest

from tests.conftest import SNAKEMAKE, TINY_VARIANTS, run_name, tiny_config

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("resume")]  # one worker: the uninterrupted runs once

EPOCHS = 8
VARIANTS = {
    # dropout RNG states must resume too
    "dropout": dict(TINY_VARIANTS["lstm"], dropout=0.2, recurrent_dropout=0.1),
    # early stopping (val_loss rises after epoch 5; stops after 7): the best weights must resume too
    "early_stopping": dict(TINY_VARIANTS["lstm"], dropout=0.2, recurrent_dropout=0.1, mask_zero=True,
                           spatial_dropout=0.1, learning_rate=0.06, early_stopping=2),
}
# one kill point drawn for dropout (the tests that kill Snakemake alone draw two more), one for early stopping
KILLS = [("dropout", random.Random(7).randrange(1, EPOCHS - 1)), ("early_stopping", 6)]


def run_path(kind: str) -> str:
    return f"results/runs/reuters/{run_name(VARIANTS[kind])}/seed0"


def configure(workflow, kind):
    workflow.write_config(tiny_config(workflow.config_sha256(), seeds=[0], epochs=EPOCHS,
                                      variants={kind: VARIANTS[kind]}, notebook={}))


def outcome(root, kind):
    run = root / run_path(kind)
    history = pd.read_csv(run / "history.csv").drop(columns="seconds")
    metrics = json.loads((run / "metrics.json").read_text())
    metadata = json.loads((run / "run.json").read_text())
    return history, metrics, metadata


def kill_at_epoch(workflow, kind: str, epoch: int) -> int:
    """Start the job, SIGKILL Snakemake and its job once epoch `epoch` is checkpointed."""
    env = dict(os.environ, KERAS_HOME=str(workflow.keras_home))
    process = subprocess.Popen([SNAKEMAKE, "--cores", "1", f"{run_path(kind)}/metrics.json"], cwd=workflow.root,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    latest = workflow.root / run_path(kind) / "checkpoint" / "latest"
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
    """The outcome of each variant's run without a kill, computed once."""
    from tests.conftest import make_tiny_workflow

    outcomes = {}

    def get(kind):
        if kind not in outcomes:
            workflow = make_tiny_workflow(tmp_path_factory.mktemp("whole"))
            configure(workflow, kind)
            workflow.run("--cores", "1", f"{run_path(kind)}/metrics.json")
            outcomes[kind] = outcome(workflow.root, kind)
        return outcomes[kind]

    return get


@pytest.mark.parametrize("kind, kill_point", KILLS)
def test_killed_job_resumes_and_matches_an_uninterrupted_run(tiny_workflow, uninterrupted, kind, kill_point):
    configure(tiny_workflow, kind)
    killed_after = kill_at_epoch(tiny_workflow, kind, kill_point)
    target = tiny_workflow.root / run_path(kind) / "metrics.json"
    assert not target.exists()

    tiny_workflow.run("--unlock")
    tiny_workflow.run("--cores", "1", "--rerun-incomplete", f"{run_path(kind)}/metrics.json")

    history, metrics, metadata = outcome(tiny_workflow.root, kind)
    assert metadata["resumed_after_epoch"] == killed_after >= kill_point, "resumed, not restarted from zero"
    expected_history, expected_metrics, expected_metadata = uninterrupted(kind)
    pd.testing.assert_frame_equal(history, expected_history, check_exact=True)
    assert metrics == expected_metrics
    assert (metadata["epochs_run"], metadata["best_epoch"]) == (expected_metadata["epochs_run"], expected_metadata["best_epoch"])
    if kind == "early_stopping":
        assert (metadata["epochs_run"], metadata["best_epoch"]) == (7, 5), "stopped early, best weights kept"
    assert not (tiny_workflow.root / run_path(kind) / "checkpoint").exists(), "a finished run leaves no checkpoint"


def kill_snakemake_at_epoch(workflow, kind: str, epoch: int) -> tuple[int, int]:
    """Start the job, SIGKILL Snakemake alone (not its job) once epoch `epoch` is checkpointed; return the
    epoch checkpointed then and the training job's process id (from the run's lock)."""
    env = dict(os.environ, KERAS_HOME=str(workflow.keras_home))
    process = subprocess.Popen([SNAKEMAKE, "--cores", "1", f"{run_path(kind)}/metrics.json"], cwd=workflow.root,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    run = workflow.root / run_path(kind)
    deadline = time.time() + 300
    while time.time() < deadline:
        if (run / "checkpoint" / "latest").exists() and int((run / "checkpoint" / "latest").read_text().split("-")[1]) >= epoch:
            break
        if process.poll() is not None:
            raise AssertionError("the job finished before it could be killed")
        time.sleep(0.01)
    job = int((run / ".lock").read_text().split()[1])
    process.send_signal(signal.SIGKILL)
    process.wait()
    return int((run / "checkpoint" / "latest").read_text().split("-")[1]), job


def running(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("recovery", ["at once", "after the orphan ends"])
def test_killed_snakemake_leaves_no_job_training_and_recovery_matches_an_uninterrupted_run(
        tiny_workflow, uninterrupted, recovery):
    """The manual's recovery (docs/manual.md) (--unlock, then --rerun-incomplete) right after Snakemake is killed, or once its
    orphaned job has ended: either way the run resumes where it stopped, is trained once, and ends bit for bit
    as an uninterrupted run."""
    configure(tiny_workflow, "dropout")
    kill_point = random.Random(recovery).randrange(1, EPOCHS - 1)
    killed_after, job = kill_snakemake_at_epoch(tiny_workflow, "dropout", kill_point)
    if recovery == "after the orphan ends":
        deadline = time.time() + 30
        while running(job) and time.time() < deadline:
            time.sleep(0.05)
        assert not running(job), "the job outlived its Snakemake"
    tiny_workflow.run("--unlock")
    tiny_workflow.run("--cores", "1", "--rerun-incomplete", f"{run_path('dropout')}/metrics.json")
    assert not running(job)

    history, metrics, metadata = outcome(tiny_workflow.root, "dropout")
    expected_history, expected_metrics, _ = uninterrupted("dropout")
    assert metadata["resumed_after_epoch"] >= killed_after >= kill_point, "resumed, not trained again from zero"
    pd.testing.assert_frame_equal(history, expected_history, check_exact=True)
    assert metrics == expected_metrics
    assert not (tiny_workflow.root / run_path("dropout") / "checkpoint").exists()
