"""Editing the config or the code reruns exactly the stale jobs: proven with real dry runs.

Each case starts from a copy of one finished tiny study (2 variants x 2 seeds x 1 epoch) and
reads the jobs that ``snakemake -n`` would run.
"""

import os
import re
import shutil
import time

import pytest
import yaml

from tests.conftest import TINY_VARIANTS, Workflow, run_dir, run_name

pytestmark = pytest.mark.slow

DOWNSTREAM = {("aggregate", "study=summary"), ("compare", "study=summary"),
              ("figures", "study=summary, dataset=reuters"), ("report", "study=summary")}


def planned_jobs(workflow: Workflow) -> set[tuple[str, str]]:
    """(rule, wildcards) of every job a dry run of the default target would execute, `all` left out."""
    out = workflow.run("-n").stdout
    if "Nothing to be done" in out:
        return set()
    jobs = set()
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", out):
        match = re.match(r"(?:local)?rule (\w+):", block.strip())
        if match and match.group(1) != "all":
            wildcards = re.search(r"^\s+wildcards: (.*)$", block, re.MULTILINE)
            jobs.add((match.group(1), wildcards.group(1).strip() if wildcards else ""))
    return jobs


def run_jobs(rule: str, variants, seeds) -> set[tuple[str, str]]:
    """``variants`` are tiny variant labels or specs; runs are named by their spec."""
    specs = [TINY_VARIANTS[v] if isinstance(v, str) else v for v in variants]
    return {(rule, f"dataset=reuters, run={run_name(spec)}, seed={s}") for spec in specs for s in seeds}


def training(variants, seeds):
    return run_jobs("train", variants, seeds) | run_jobs("evaluate", variants, seeds)


@pytest.fixture
def copy(finished_tiny_run, tmp_path) -> Workflow:
    """A private copy of the finished study: same files, same mtimes, same Snakemake metadata."""
    root = tmp_path / "project"
    shutil.copytree(finished_tiny_run.root, root, symlinks=True)
    return Workflow(root, finished_tiny_run.keras_home)


def edit_config(workflow: Workflow, change) -> None:
    config = yaml.safe_load((workflow.root / "config.yaml").read_text())
    change(config)
    workflow.write_config(config)


def touch(path):
    later = time.time() + 5
    os.utime(path, (later, later))


def test_no_change_reruns_nothing(copy):
    assert planned_jobs(copy) == set()


def test_one_variant_edited_reruns_only_that_variant(copy):
    edit_config(copy, lambda c: c["variants"]["lstm"].update(units=6))
    assert planned_jobs(copy) == training([dict(TINY_VARIANTS["lstm"], units=6)], [0, 1]) | DOWNSTREAM


def test_edit_reverted_reuses_the_old_runs(copy):
    """A run is its spec: renaming a variant, or writing a default out, trains nothing."""
    def rename(config):
        config["variants"]["long_short"] = dict(config["variants"].pop("lstm"), bidirectional=False, mask_zero=False)
        config["notebook"] = {}
    edit_config(copy, rename)
    assert planned_jobs(copy) == DOWNSTREAM


def test_added_seed_runs_only_that_seed(copy):
    edit_config(copy, lambda c: c.update(seeds=[0, 1, 2]))
    assert planned_jobs(copy) == training(TINY_VARIANTS, [2]) | DOWNSTREAM


def test_reordered_and_reformatted_config_reruns_nothing(copy):
    config = yaml.safe_load((copy.root / "config.yaml").read_text())
    reordered = {key: config[key] for key in reversed(list(config))}
    reordered["variants"] = {name: dict(reversed(list(spec.items()))) for name, spec in reversed(config["variants"].items())}
    text = "# reformatted\n" + yaml.safe_dump(reordered, default_flow_style=True, sort_keys=False, width=60)
    (copy.root / "config.yaml").write_text(text)
    assert yaml.safe_load(text) == config
    assert planned_jobs(copy) == set()


def test_epochs_changed_reruns_every_training_job(copy):
    edit_config(copy, lambda c: c.update(epochs=2))
    assert planned_jobs(copy) == training(TINY_VARIANTS, [0, 1]) | DOWNSTREAM


def test_added_variant_runs_only_its_jobs(copy):
    gru = dict(TINY_VARIANTS["lstm"], cell="gru")
    edit_config(copy, lambda c: c["variants"].update(gru=gru))
    assert planned_jobs(copy) == training([gru], [0, 1]) | DOWNSTREAM


@pytest.mark.parametrize("path", ["rnnbench/report.py", "scripts/report.py"])
def test_report_code_edited_reruns_only_the_report(copy, path):
    with open(copy.root / path, "a") as handle:
        handle.write("\n# an edit\n")
    touch(copy.root / path)
    assert planned_jobs(copy) == {("report", "study=summary")}


@pytest.mark.parametrize("name", ["model.keras", "predictions.npy"])
def test_deleted_model_reruns_only_its_run_and_what_follows(copy, name):
    (run_dir(copy.root, TINY_VARIANTS["deep_rnn"], 1) / name).unlink()
    assert planned_jobs(copy) == training(["deep_rnn"], [1]) | DOWNSTREAM
