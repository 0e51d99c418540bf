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
from tests.test_provenance import rule_scripts

pytestmark = pytest.mark.slow

DOWNSTREAM = {("aggregate", "study=summary"), ("compare", "study=summary"), ("documents", "study=summary"),
              ("figures", "study=summary, dataset=reuters"), ("report", "study=summary")}


def planned_jobs(workflow: Workflow, *targets: str) -> set[tuple[str, str]]:
    """(rule, wildcards) of every job a dry run of ``targets`` (default: the default target) would
    execute, `all` left out."""
    out = workflow.run("-n", *targets).stdout
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
    return {(rule, f"dataset=reuters, split=, run={run_name(spec)}, seed={s}") for spec in specs for s in seeds}


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


def test_a_split_added_trains_only_its_runs(copy):
    """The default split's runs keep their folders; a new split pads its data and trains its own runs."""
    edit_config(copy, lambda c: c.update(splits=[113, 5]))
    other = {(rule, wildcards.replace("split=,", "split=-split5,")) for rule, wildcards in training(TINY_VARIANTS, [0, 1])}
    assert planned_jobs(copy) == other | {("pad", "dataset=reuters, split=-split5")} | DOWNSTREAM


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


def test_report_script_edited_reruns_only_the_report(copy):
    """A script is Snakemake's to track: any edit to it (by its modification time) reruns its rule."""
    with open(copy.root / "scripts" / "report.py", "a") as handle:
        handle.write("\n# an edit\n")
    touch(copy.root / "scripts" / "report.py")
    assert planned_jobs(copy) == {("report", "study=summary")}


# --- Code edits: each rule's code param is derived from what its script imports (rnnbench.provenance).

def rule_graph(workflow: Workflow) -> dict[str, set[str]]:
    """Rule -> the rules right after it in the default target's DAG (``snakemake --rulegraph``)."""
    dot = workflow.run("--rulegraph", "--forceall").stdout
    names = dict(re.findall(r'^\s*(\d+)\[label = "(\w+)"', dot, re.MULTILINE))
    after = {name: set() for name in names.values()}
    for source, target in re.findall(r"^\s*(\d+) -> (\d+)", dot, re.MULTILINE):
        after[names[source]].add(names[target])
    return after


def with_downstream(rules: set[str], after: dict[str, set[str]]) -> set[str]:
    found, pending = set(), set(rules)
    while pending:
        rule = pending.pop()
        if rule not in found:
            found.add(rule)
            pending |= after.get(rule, set())
    return found - {"all"}


def planned_rules(workflow: Workflow) -> set[str]:
    return {rule for rule, _ in planned_jobs(workflow)}


def package_modules(root) -> list[str]:
    return sorted(f"rnnbench.{path.stem}".removesuffix(".__init__") for path in (root / "rnnbench").glob("*.py"))


def module_file(root, module: str):
    from rnnbench.provenance import module_path

    return module_path(module, root)


def test_a_code_edit_reruns_exactly_the_rules_whose_scripts_import_the_module(copy):
    """For every module of the package: a real code edit plans every rule whose script imports it,
    directly or not, and what follows those; no other rule."""
    from rnnbench.provenance import script_modules

    root = copy.root
    after = rule_graph(copy)
    scripts = {rule: script for rule, script in rule_scripts(root).items() if rule in after}
    assert set(scripts) == set(after) - {"all"}
    imports = {rule: set(script_modules(root / "scripts" / f"{script}.py", root)) for rule, script in scripts.items()}
    modules = package_modules(root)
    assert all(imports.values()) and "rnnbench.training" in imports["train"] and "rnnbench.results" in imports["figures"]
    for module in modules:
        path = module_file(root, module)
        original = path.read_text()
        path.write_text(original + "\n_AN_EDIT = 1\n")
        try:
            expected = with_downstream({rule for rule, names in imports.items() if module in names}, after)
            assert planned_rules(copy) == expected, module
        finally:
            path.write_text(original)
    assert planned_jobs(copy) == set()


def test_comments_docstrings_and_formatting_rerun_nothing(copy):
    """Every module at once: a comment, a docstring, blank lines and a reformatted line; nothing to do."""
    root = copy.root
    for module in package_modules(root):
        path = module_file(root, module)
        text = path.read_text()
        if text.startswith('"""'):
            text = '"""An edited docstring.\n\n' + text[3:]
        text = text.replace("\ndef ", "\n\n# a comment\ndef ", 1).replace("):\n    \"\"\"", "):\n    \"\"\"Edited. ", 1)
        path.write_text(text + "\n\n# the end\n")
        touch(path)
    assert planned_jobs(copy) == set()


@pytest.mark.parametrize("name", ["model.keras", "predictions.npy"])
def test_deleted_model_reruns_only_its_run_and_what_follows(copy, name):
    (run_dir(copy.root, TINY_VARIANTS["deep_rnn"], 1) / name).unlink()
    assert planned_jobs(copy) == training(["deep_rnn"], [1]) | DOWNSTREAM


PREVIOUS_VERSION = "1adca97"  # the last commit whose rules listed their modules by hand


def test_a_study_finished_by_the_previous_version_stays_current_after_the_upgrade_line(tmp_path):
    """The manual's upgrade line (docs/manual.md): a tiny study finished by the previous version, then the current
    code copied over it, plans every job until ``snakemake --touch`` records the new params once;
    afterwards nothing is planned and no run was retrained."""
    import subprocess

    from tests.conftest import REPO, WORKFLOW_FILES, make_tiny_workflow

    if subprocess.run(["git", "cat-file", "-e", f"{PREVIOUS_VERSION}^{{commit}}"], cwd=REPO).returncode:
        pytest.skip(f"this checkout lacks commit {PREVIOUS_VERSION}")
    workflow = make_tiny_workflow(tmp_path)
    config = (workflow.root / "config.yaml").read_text()
    for name in WORKFLOW_FILES:
        path = workflow.root / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    archive = subprocess.run(["git", "archive", PREVIOUS_VERSION, *WORKFLOW_FILES], cwd=REPO, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(workflow.root)], input=archive.stdout, check=True)
    (workflow.root / "config.yaml").write_text(config)
    assert (workflow.root / "rnnbench" / "kernels.py").exists()  # the previous version indeed
    workflow.run("--cores", "2")
    models = {path: path.read_bytes() for path in (workflow.root / "results" / "runs").rglob("model.keras")}
    assert len(models) == 4

    for name in WORKFLOW_FILES:  # the upgrade: the current code over the finished study
        path = workflow.root / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, path, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, path)
    (workflow.root / "config.yaml").write_text(config)
    assert {rule for rule, _ in planned_jobs(workflow)} >= {"train", "evaluate", "report"}
    workflow.run("--cores", "1", "--touch")
    assert planned_jobs(workflow) == set()
    assert {path: path.read_bytes() for path in models} == models


def test_one_jobs_script_runs_alone_with_the_snakemake_object_it_would_get(copy):
    """``python -m rnnbench.jobs RULE wildcards…`` (for debugging) rebuilds a job's output as Snakemake would;
    ``split`` left out is the dataset's own split."""
    import subprocess
    import sys

    run = run_dir(copy.root, TINY_VARIANTS["lstm"], 1)
    expected = (run / "metrics.json").read_text()
    (run / "metrics.json").unlink()
    result = subprocess.run([sys.executable, "-m", "rnnbench.jobs", "evaluate", "dataset=reuters",
                             f"run={run_name(TINY_VARIANTS['lstm'])}", "seed=1"],
                            cwd=copy.root, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (run / "metrics.json").read_text() == expected


def test_a_users_table_and_its_study_added_plan_only_that_studys_jobs(copy):
    """On the finished default study: a user's CSV added by YAML, with a study of its own, plans its
    pad, its runs and its study's tables and report; nothing of the finished study."""
    from collections import Counter

    from tests.conftest import user_tables

    tickets = user_tables(copy.root)["tickets"]

    def add(config):
        config["datasets"]["tickets"] = tickets
        config["studies"] = {"summary": {"datasets": ["reuters"], "variants": list(TINY_VARIANTS)},
                             "tickets": {"datasets": ["tickets"], "variants": list(TINY_VARIANTS)}}
    edit_config(copy, add)
    assert planned_jobs(copy) == set(), "the default target is the finished study, untouched"
    out = copy.run("-n", "reports/summary.html", "reports/tickets.html").stdout
    rules = Counter(re.findall(r"^(?:local)?rule (\w+):", out, re.MULTILINE))
    assert rules == {"pad": 1, "train": 4, "evaluate": 4, "aggregate": 1, "compare": 1, "documents": 1, "figures": 1,
                     "report": 1}, out
    assert "dataset=reuters" not in out


def test_one_job_runs_alone_with_config_overrides_into_a_folder_of_its_own(copy):
    """``python -m rnnbench.jobs train … --config epochs=2 --into DIR``: the job's outputs and log go under
    DIR, trained for 2 epochs; without ``--into`` it refuses to overwrite the finished run; the
    workflow's own files are untouched, so nothing is planned."""
    import subprocess
    import sys

    import pandas as pd

    run = run_dir(copy.root, TINY_VARIANTS["lstm"], 0)
    before = (run / "history.csv").read_bytes()
    command = [sys.executable, "-m", "rnnbench.jobs", "train", "dataset=reuters", f"run={run_name(TINY_VARIANTS['lstm'])}",
               "seed=0", "--config", "epochs=2"]
    refused = subprocess.run(command, cwd=copy.root, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "would overwrite 4 output(s)" in refused.stderr and "--into DIR" in refused.stderr
    done = subprocess.run([*command, "--into", "debug"], cwd=copy.root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    debug_run = copy.root / "debug" / run.relative_to(copy.root)
    assert pd.read_csv(debug_run / "history.csv")["epoch"].tolist() == [1, 2]
    assert (copy.root / "debug" / "logs" / "train").is_dir()
    assert (run / "history.csv").read_bytes() == before
    assert planned_jobs(copy) == set()


def test_other_families_added_plan_only_their_runs(copy):
    cnn = {"cell": "cnn", "kernel_sizes": [2, 3], "filters": 4}
    transformer = {"cell": "transformer", "layers": 1, "units": 8, "heads": 2, "ff_dim": 8}
    svm, logreg = {"cell": "linear"}, {"cell": "linear", "classifier": "logreg", "ngrams": 2}
    edit_config(copy, lambda c: c["variants"].update(cnn=cnn, transformer=transformer, svm=svm, logreg=logreg))
    fitted = run_jobs("fit", [svm, logreg], [0, 1]) | run_jobs("evaluate", [svm, logreg], [0, 1])
    assert planned_jobs(copy) == training([cnn, transformer], [0, 1]) | fitted | DOWNSTREAM


def test_a_family_module_edited_reruns_only_that_familys_runs(copy):
    """The finished study's runs are all recurrent: an edit to the recurrent family's module reruns them,
    one to the CNN's or the linear family's reruns nothing."""
    for family, expected in (("cnn", set()), ("linear", set()),
                             ("recurrent", training(TINY_VARIANTS, [0, 1]) | DOWNSTREAM)):
        path = copy.root / "rnnbench" / "families" / f"{family}.py"
        original = path.read_text()
        path.write_text(original + "\n_AN_EDIT = 1\n")
        try:
            assert planned_jobs(copy) == expected, family
        finally:
            path.write_text(original)


def test_a_builder_of_ones_own_trains_through_the_workflow_and_an_edit_to_it_reruns_only_its_runs(copy):
    from tests.test_models import TINY_BUILDER, builder_package

    builder_package(copy.root, TINY_BUILDER)
    mine = {"cell": "custom", "builder": "mine.models:tiny", "options": {"width": 5}}
    edit_config(copy, lambda c: c["variants"].update(mine=mine))
    assert planned_jobs(copy) == training([mine], [0, 1]) | DOWNSTREAM
    copy.run("--cores", "2")
    assert (run_dir(copy.root, mine, 1) / "model.keras").exists()
    assert planned_jobs(copy) == set()
    source = copy.root / "mine" / "models.py"
    source.write_text(source.read_text() + "\n# a comment changes nothing\n")
    assert planned_jobs(copy) == set()
    source.write_text(source.read_text().replace('options.get("width", 4)', 'options.get("width", 4) + 1'))
    assert planned_jobs(copy) == training([mine], [0, 1]) | DOWNSTREAM
