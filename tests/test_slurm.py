"""The SLURM profile against a real one-node SLURM started by the test (see tests/slurm_cluster.py)."""

import json
import os

import pandas as pd
import pytest

from tests.conftest import SNAKEMAKE, TINY_VARIANTS, run_dir, study_file, tiny_config
from tests.slurm_cluster import SlurmCluster, available

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    if not available():
        if os.environ.get("RNNBENCH_REQUIRE_SLURM") == "1":
            pytest.fail("slurm-wlm/munge are not installed and RNNBENCH_REQUIRE_SLURM=1")
        pytest.skip("slurm-wlm and munge are not installed (apt-get install slurm-wlm munge)")
    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def test_slurm_profile_runs_every_training_job_under_slurm(slurm, tiny_workflow):
    config = tiny_config(tiny_workflow.config_sha256(), seeds=[0])
    tiny_workflow.write_config(config)
    result = tiny_workflow.run(
        "--workflow-profile", "profiles/slurm", "reports/summary.html",
        # test-only overrides: this cluster has no accounting database, so no sacct and no accounts
        "--slurm-status-command", "squeue", "--slurm-no-account",
        "--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "2",
        "--latency-wait", "5",
        env={"SLURM_CONF": str(slurm.conf)}, timeout=900,
    )
    root = tiny_workflow.root
    assert (root / "reports" / "summary.html").exists(), result.stderr[-3000:]
    job_ids = set()
    for variant, spec in config["variants"].items():
        metadata = json.loads((run_dir(root, spec, 0) / "run.json").read_text())
        assert metadata["slurm_job_id"], f"{variant} did not run under SLURM"
        job_ids.add(metadata["slurm_job_id"])
    assert len(job_ids) == 2, "one SLURM job per training run"
    provenance = pd.read_csv(study_file(root, "run_metadata.csv"))
    assert provenance["slurm_job_id"].notna().all()
    # download is local (compute nodes may have no internet); everything else was submitted
    assert "download" not in slurm_job_names(slurm)
    assert {"train", "evaluate", "report"} <= slurm_job_names(slurm)


def slurm_job_names(slurm) -> set[str]:
    import subprocess

    out = subprocess.run(["squeue", "-h", "--states=all", "-o", "%j %k"], capture_output=True, text=True,
                         env=slurm.env).stdout
    return {word for line in out.splitlines() for word in line.replace("-", " ").replace("_", " ").split()} & {
        "download", "pad", "train", "evaluate", "aggregate", "compare", "figures", "report"}


def test_generic_cluster_profile_submits_with_sbatch(slurm, tiny_workflow):
    config = tiny_config(tiny_workflow.config_sha256(), seeds=[0])
    config["variants"] = {"lstm": config["variants"]["lstm"]}
    tiny_workflow.write_config(config)
    tiny_workflow.run(
        "--workflow-profile", "profiles/cluster-generic", "reports/summary.html",
        "--seconds-between-status-checks", "2", "--latency-wait", "5",
        env={"SLURM_CONF": str(slurm.conf)}, timeout=900,
    )
    root = tiny_workflow.root
    metadata = json.loads((run_dir(root, TINY_VARIANTS["lstm"], 0) / "run.json").read_text())
    assert metadata["slurm_job_id"]
    assert (root / "reports" / "summary.html").exists()
    assert any((root / "logs" / "cluster").glob("smk-train-*.out")), "sbatch wrote the job's log"


def test_requeued_slurm_job_resumes_from_its_checkpoint(slurm, tiny_workflow):
    """A preempted-and-requeued training job picks up after its last finished epoch."""
    import subprocess
    import time

    config = tiny_config(tiny_workflow.config_sha256(), seeds=[0], epochs=60)
    config["variants"] = {"lstm": config["variants"]["lstm"]}
    tiny_workflow.write_config(config)
    lstm_run = run_dir(tiny_workflow.root, TINY_VARIANTS["lstm"], 0)
    target = str(lstm_run.relative_to(tiny_workflow.root) / "run.json")
    env = dict(os.environ, KERAS_HOME=str(tiny_workflow.keras_home), SLURM_CONF=str(slurm.conf))
    snakemake = subprocess.Popen(
        [SNAKEMAKE, "--workflow-profile", "profiles/slurm", target, "--slurm-status-command", "squeue",
         "--slurm-no-account", "--slurm-init-seconds-before-status-checks", "1",
         "--seconds-between-status-checks", "2", "--latency-wait", "5"],
        cwd=tiny_workflow.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    latest = lstm_run / "checkpoint" / "latest"
    deadline = time.time() + 300
    while not (latest.exists() and int(latest.read_text().split("-")[1]) >= 3) and time.time() < deadline:
        assert snakemake.poll() is None, snakemake.stdout.read()[-3000:]
        time.sleep(0.05)
    jobs = subprocess.run(["squeue", "-h", "-t", "RUNNING", "-o", "%i %j"], capture_output=True, text=True,
                          env=slurm.env).stdout.split()
    job_id = jobs[0]
    subprocess.run(["scontrol", "requeue", job_id], check=True, env=slurm.env)
    # SLURM holds a requeued job back for a while (its BeginTime); a test need not wait for that
    time.sleep(1)
    subprocess.run(["scontrol", "update", f"JobId={job_id}", "StartTime=now"], env=slurm.env)
    before = int(latest.read_text().split("-")[1])
    output, _ = snakemake.communicate(timeout=600)
    assert snakemake.returncode == 0, output[-3000:]
    metadata = json.loads((lstm_run / "run.json").read_text())
    assert metadata["slurm_job_id"] == job_id, "the same (requeued) SLURM job finished the run"
    assert metadata["resumed_after_epoch"] >= before >= 3
    assert metadata["epochs_run"] == 60
