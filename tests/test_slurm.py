"""The SLURM profile against a real one-node SLURM started by the test (see tests/slurm_cluster.py)."""

import json
import os
import re

import pandas as pd
import pytest

from tests.conftest import SNAKEMAKE, TINY_VARIANTS, Workflow, make_tiny_workflow, run_dir, study_file, tiny_config
from tests.slurm_cluster import BACKUP, SlurmCluster, available, remove_stale_conf

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("slurm")]  # one worker: one cluster on fixed ports


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


def test_the_cluster_tests_share_one_worker(request):
    """Under ``make test`` (pytest-xdist, ``--dist loadgroup``) one worker runs every test here: two test
    clusters on the same ports would take each other's munge socket and daemons."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        pytest.skip("one pytest process: one test at a time")
    assert request.node.nodeid.endswith("@slurm"), "no group: pytest-xdist spreads these tests (use --dist loadgroup)"


def test_a_config_left_by_a_killed_session_is_removed_and_no_other(tmp_path):
    """A test cluster's slurm.conf outliving its controller makes every Snakemake start wait on scontrol;
    removing it puts back the config it replaced."""
    import shutil
    import subprocess
    import time

    cluster = SlurmCluster(tmp_path / "cluster")
    conf = tmp_path / "slurm.conf"
    conf.write_text(cluster.text)
    # a live process named slurmctld stands for the cluster's controller
    shutil.copy(shutil.which("sleep"), tmp_path / "slurmctld")
    controller = subprocess.Popen([tmp_path / "slurmctld", "60"])
    try:
        deadline = time.time() + 10  # Popen may return before the child's exec has renamed it
        while open(f"/proc/{controller.pid}/comm").read().strip() != "slurmctld" and time.time() < deadline:
            time.sleep(0.01)
        (cluster.root / "slurmctld.pid").write_text(str(controller.pid))
        assert not remove_stale_conf(conf) and conf.exists(), "its controller still runs"
    finally:
        controller.kill()
        controller.wait()
    assert remove_stale_conf(conf) and not conf.exists()
    conf.write_text(cluster.text)
    (cluster.root / "slurmctld.pid").write_text(str(os.getpid()))
    assert remove_stale_conf(conf) and not conf.exists(), "a pid taken by another process is no controller"
    site = "ClusterName=site\nSlurmctldHost=head\n"
    conf.write_text(site)
    assert not remove_stale_conf(conf) and conf.exists(), "a config not written by the tests stays"
    (cluster.root / BACKUP).write_text(site)
    conf.write_text(cluster.text)
    assert remove_stale_conf(conf) and conf.read_text() == site, "the config it replaced is put back"


def test_slurm_profile_bundles_an_8_run_study_into_4_submissions_with_the_local_results(slurm, finished_tiny_run,
                                                                                      tmp_path):
    """Each run's train and evaluate share a SLURM job, up to six runs share a submission, a study's tables,
    figures and report share one more: pad + 2 + 1. The runs are those of a local run, byte for byte."""
    import shutil

    (tmp_path / "slurm").mkdir()
    workflows = {"slurm": make_tiny_workflow(tmp_path / "slurm")}
    config = tiny_config(workflows["slurm"].config_sha256(), seeds=list(range(4)))
    workflows["slurm"].write_config(config)
    # the local reference: the finished tiny study (seeds 0 and 1) with seeds 2 and 3 added, trained while
    # the SLURM run waits on its status checks
    shutil.copytree(finished_tiny_run.root, tmp_path / "local", symlinks=True)
    workflows["local"] = Workflow(tmp_path / "local", finished_tiny_run.keras_home)
    assert finished_tiny_run.config_sha256() == workflows["slurm"].config_sha256()
    workflows["local"].write_config(config)
    local = workflows["local"].start("--cores", "1", "reports/summary.html", log=tmp_path / "local.log")
    before = slurm_jobs(slurm)
    result = workflows["slurm"].run(
        "--workflow-profile", "profiles/slurm", "reports/summary.html",
        # test-only overrides: this cluster has no accounting database, so no sacct and no accounts
        "--slurm-status-command", "squeue", "--slurm-no-account",
        "--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "2",
        "--latency-wait", "5",
        env={"SLURM_CONF": str(slurm.conf)}, timeout=1200,
    )
    assert local.wait(timeout=1200) == 0, (tmp_path / "local.log").read_text()[-3000:]
    root = workflows["slurm"].root
    assert (root / "reports" / "summary.html").exists(), result.stderr[-3000:]
    submissions = [job for job in slurm_jobs(slurm) if job not in before]
    assert len(submissions) <= 4, submissions
    job_ids = {}
    for spec in config["variants"].values():
        for seed in config["seeds"]:
            slurm_run, local_run = run_dir(root, spec, seed), run_dir(workflows["local"].root, spec, seed)
            job_ids.setdefault(json.loads((slurm_run / "run.json").read_text())["slurm_job_id"], []).append(seed)
            assert (slurm_run / "predictions.npy").read_bytes() == (local_run / "predictions.npy").read_bytes()
            assert (slurm_run / "metrics.json").read_text() == (local_run / "metrics.json").read_text()
            history = [pd.read_csv(run / "history.csv").drop(columns="seconds") for run in (slurm_run, local_run)]
            pd.testing.assert_frame_equal(*history)
    assert sorted(map(len, job_ids.values())) == [2, 6], "six runs to a submission, the rest in another"
    timing = ["seconds_per_epoch", "train_seconds", "peak_rss_mb"]
    summaries = [pd.read_csv(study_file(w.root, "summary.csv")).drop(columns=timing) for w in workflows.values()]
    pd.testing.assert_frame_equal(*summaries)
    assert study_file(root, "pairwise.csv").read_text() == study_file(workflows["local"].root, "pairwise.csv").read_text()
    provenance = pd.read_csv(study_file(root, "run_metadata.csv"))
    assert provenance["slurm_job_id"].notna().all()
    # download is local (compute nodes may have no internet); pad, the run bundles and the study were submitted
    names = {word for job in submissions for word in re.split(r"[\s_-]", job)}
    assert "download" not in names and {"pad", "run", "study"} <= names, submissions


def slurm_jobs(slurm) -> list[str]:
    """Every job the cluster has seen: id, comment (the rule or group), CPUs, memory, time limit."""
    import subprocess

    out = subprocess.run(["squeue", "-h", "--states=all", "-o", "%i %k %C %m %l"], capture_output=True,
                         text=True, env=slurm.env).stdout
    return out.splitlines()


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
