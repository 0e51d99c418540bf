"""The workflow used from elsewhere: as a Snakemake module of a host workflow (with and without a prefix),
with ``-s``, and with ``--directory``; every file of ours is found from our own source."""

import re
import subprocess

import pytest
import yaml

from tests.conftest import SNAKEMAKE, TINY_VARIANTS, make_workflow, synthetic_reuters, tiny_config

pytestmark = pytest.mark.slow


def host_workflow(tmp_path, prefix: str | None):
    """rnnbench checked out in one folder; a host workflow in another that imports it as a module and
    hands it only what it changes of the shipped config (the rest comes from rnnbench's config.yaml)."""
    (tmp_path / "checkout").mkdir()
    rnnbench = make_workflow(tmp_path / "checkout")
    host = tmp_path / "host"
    host.mkdir()
    sha256 = synthetic_reuters(rnnbench.keras_home / "datasets" / "reuters.npz")
    tiny = tiny_config(sha256)
    settings = {"seeds": [0], "epochs": 1, "batch_size": 16, "datasets": {"reuters": tiny["datasets"]["reuters"]},
                "variants": {"lstm": TINY_VARIANTS["lstm"]},
                "studies": {"tiny": {"datasets": ["reuters"], "variants": ["lstm"]}}}
    (host / "config.yaml").write_text(yaml.safe_dump({"samples": ["a", "b"], "rnnbench": settings}))
    target = f"{prefix}/reports/tiny.html" if prefix else "reports/tiny.html"
    (host / "Snakefile").write_text(
        'configfile: "config.yaml"\n\n\n'
        "module rnnbench:\n"
        f'    snakefile:\n        "{rnnbench.root / "Snakefile"}"\n'
        '    config:\n        config["rnnbench"]\n'
        + (f'    prefix:\n        "{prefix}"\n' if prefix else "")
        + "\n\nuse rule * from rnnbench as rnnbench_*\n\n\n"
        f'rule all:\n    default_target: True\n    input:\n        "{target}",\n'
    )
    return host, rnnbench.keras_home, target


def snakemake(cwd, keras_home, *args):
    import os

    return subprocess.run([SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, KERAS_HOME=str(keras_home)))


def test_a_host_workflow_imports_rnnbench_as_a_module_and_builds_a_report(tmp_path):
    host, keras_home, target = host_workflow(tmp_path, prefix="bench")
    result = snakemake(host, keras_home, "--cores", "2")
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    report = (host / target).read_text()
    assert "study tiny" in report and report.count("data:image/png;base64,") >= 6
    assert (host / "bench" / "results" / "runs" / "reuters").is_dir()
    assert not (tmp_path / "checkout" / "project" / "results").exists(), "nothing is written beside the module"
    again = snakemake(host, keras_home, "-n")
    assert "Nothing to be done" in again.stdout, again.stdout[-2000:]


def test_without_a_prefix_the_module_plans_the_same_jobs(tmp_path):
    host, keras_home, _ = host_workflow(tmp_path, prefix=None)
    result = snakemake(host, keras_home, "-n", "--quiet", "rules")
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    counts = dict(re.findall(r"^rnnbench_(\w+)\s+(\d+)$", result.stdout, re.MULTILINE))
    assert counts == {"download": "1", "pad": "1", "train": "1", "evaluate": "1", "aggregate": "1", "compare": "1",
                      "documents": "1", "figures": "1", "report": "1"}, result.stdout


@pytest.mark.parametrize("how", ["-s", "--directory"])
def test_the_snakefile_runs_from_another_folder(tmp_path, how):
    """``snakemake -s path/to/Snakefile`` in a project folder, or ``--directory`` from anywhere: the shipped
    config is read from beside the Snakefile, the project's own over it."""
    (tmp_path / "checkout").mkdir()
    checkout = make_workflow(tmp_path / "checkout")
    project = tmp_path / "elsewhere"
    project.mkdir()
    config = tiny_config(synthetic_reuters(checkout.keras_home / "datasets" / "reuters.npz"))
    config["studies"] = {"summary": {"datasets": ["reuters"], "variants": list(TINY_VARIANTS)}}  # over the shipped one
    (project / "mine.yaml").write_text(yaml.safe_dump(config))
    snakefile = str(checkout.root / "Snakefile")
    args = ["-s", snakefile, "-n", "--configfile", "mine.yaml"]
    cwd = project
    if how == "--directory":
        args = ["-s", snakefile, "--directory", str(project), "-n", "--configfile", str(project / "mine.yaml")]
        cwd = tmp_path
    result = snakemake(cwd, checkout.keras_home, *args)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert len(re.findall(r"^rule train:", result.stdout, re.MULTILINE)) == 4
    assert f"{checkout.root}/config.yaml" in result.stdout + result.stderr
