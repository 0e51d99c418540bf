# Helpers shared by the rules: config validation, the run grid and each rule's config slice.
import json
import os
import re
import sys

from snakemake.exceptions import WorkflowError

# The checkout this file belongs to, wherever Snakemake runs (-s, --directory, or as a module of
# another workflow, whose basedir is its own): every file of ours is found from here.
ROOT = os.path.dirname(os.path.dirname(workflow.current_basedir))
sys.path.insert(0, ROOT)  # the rnnbench package, installed or not
from rnnbench import config as rnnbench_config
from rnnbench import data as rnnbench_data
from rnnbench import models as rnnbench_models
from rnnbench import provenance as rnnbench_provenance
from rnnbench import studies as rnnbench_studies

# As a module of another workflow, Snakemake skips our configfile: the shipped config is then the
# base, and the config the host hands over is merged over it, key by key.
SHIPPED_CONFIG = os.path.join(ROOT, "config.yaml")
CONFIG_FILES = [os.path.abspath(path) for path in workflow.configfiles]
if os.path.abspath(SHIPPED_CONFIG) not in CONFIG_FILES:
    given = dict(config)
    config.clear()
    config.update(rnnbench_config.with_defaults(given, SHIPPED_CONFIG))
    CONFIG_FILES.insert(0, SHIPPED_CONFIG)

try:
    rnnbench_config.check_workflow_config(
        config,
        Path(ROOT) / "workflow" / "schemas" / "config.schema.yaml",
        CONFIG_FILES,
        command_line=workflow.config_settings.config,
    )
except rnnbench_config.ConfigError as error:
    raise WorkflowError(f"rnnbench: {error}") from None


STUDIES = sorted(rnnbench_studies.studies(config))
# What a plain `snakemake` builds: the summary study, or every study of a config without one.
DEFAULT_STUDIES = ["summary"] if "summary" in STUDIES else STUDIES
# Run name -> spec over every study: a run's folder is its spec's name, so studies share runs.
RUN_SPECS = rnnbench_studies.run_specs(config)
DATASETS = sorted(config["datasets"])
# Runs by how they are made: fitted once by scikit-learn (rule fit) or trained by Keras (rule train).
FITTED_RUNS = sorted(
    run for run, spec in RUN_SPECS.items() if spec.cell in rnnbench_models.ESTIMATORS
)
TRAINED_RUNS = sorted(set(RUN_SPECS) - set(FITTED_RUNS))


def _one_of(names):
    """A wildcard constraint matching exactly ``names`` (none: a pattern that never matches)."""
    return "|".join(re.escape(name) for name in sorted(names)) or "(?!)"


wildcard_constraints:
    dataset=_one_of(DATASETS),
    run=_one_of(RUN_SPECS),
    study=_one_of(STUDIES),
    seed=r"\d+",
    split=r"(-split\d+)?",


# {split} is empty for a dataset's own split, so its runs keep their folders, and -split<seed> otherwise.
PADDED = "data/padded/{dataset}{split}.npz"
# Beside it: class names, vocabulary and source digests (rnnbench.data.save_meta).
PADDED_META = "data/padded/{dataset}{split}.json"
RUN_DIR = "results/runs/{dataset}{split}/{run}/seed{seed}"


def _run_dir(runs):
    """RUN_DIR, its run wildcard constrained to ``runs``: those the train rule (Keras) or the fit rule
    (scikit-learn) makes."""
    return RUN_DIR.replace("{run}", "{run,%s}" % _one_of(runs))


TRAINED_RUN_DIR = _run_dir(TRAINED_RUNS)
FITTED_RUN_DIR = _run_dir(FITTED_RUNS)
STUDY_DIR = "results/studies/{study}"
# A run's files, as the train (or fit) and evaluate rules write them; "model" is its model file (model_file).
RUN_FILES = (
    "history.csv",
    "model",
    "predictions.npy",
    "run.json",
    "metrics.json",
)


def code(script, modules=()):
    """A rule's code param: the digest of what the rnnbench modules that scripts/<script>.py imports
    (and ``modules``, reached by name) compute (rnnbench.provenance). An edit to that code reruns the
    rule; a comment does not.
    """
    path = os.path.join(ROOT, "scripts", f"{script}.py")
    return rnnbench_provenance.code_digest(path, ROOT, modules)


def train_code(wildcards):
    return run_code("train", wildcards)


def fit_code(wildcards):
    return run_code("fit", wildcards)


def run_code(script, wildcards):
    """The train or fit rule's code: its script's, its spec's family module's, and for a builder of one's
    own, that builder's module: an edit to one family reruns only its runs."""
    spec = RUN_SPECS[wildcards.run]
    digest = code(script, [spec.family])
    if not spec.builder:
        return digest
    try:
        return f"{digest}-{rnnbench_provenance.builder_digest(spec.builder)}"
    except Exception as error:
        raise WorkflowError(f"rnnbench: run {wildcards.run}: {error}") from None


def pad_code(wildcards):
    """The pad rule's code: its script's and its dataset kind's module, so that an edit to one kind
    reruns only its own datasets."""
    loader = config["datasets"][wildcards.dataset]["loader"]
    return code("pad", [rnnbench_data.LOADERS[loader]])


def searched(study):
    """Whether the study has searches: its runs then wait on its trials (checkpoint trials)."""
    return bool(rnnbench_studies.studies(config)[study].get("searches"))


def chosen_trials(study):
    """dataset -> search -> the run of its validation-best trial, once the study's trials are done
    (checkpoint trials); None for a study without searches."""
    if not searched(study):
        return None
    with open(checkpoints.trials.get(study=study).output.chosen) as handle:
        return json.load(handle)


def study_runs(study):
    """(dataset, split, label, run, seed) of the runs the study compares, sorted: its variants', and
    for a search study, its chosen trials' under its seeds and splits."""
    return rnnbench_studies.study_runs(config, study, chosen_trials(study))


def model_file(run):
    """A run's model file: Keras's format, or skops' for a scikit-learn estimator."""
    return "model.skops" if run in FITTED_RUNS else "model.keras"


def run_file(pattern, dataset, split, run, seed):
    """``pattern`` (a file under RUN_DIR; "model": its model file) of one run."""
    pattern = model_file(run) if pattern == "model" else pattern
    return f"{RUN_DIR}/{pattern}".format(
        dataset=dataset,
        split=rnnbench_studies.split_tag(config, dataset, split),
        run=run,
        seed=seed,
    )


def trial_files(study, pattern):
    """``pattern`` (a file under RUN_DIR) of every trial of the study's searches, in trial order."""
    return [
        run_file(pattern, d, split, r, s)
        for d, split, _search, _trial, r, s in rnnbench_studies.study_trials(
            config, study
        )
    ]


def search_tables(wildcards):
    """A search study's trial and budget tables (none for another study)."""
    if not searched(wildcards.study):
        return {}
    return {
        "trials": f"{STUDY_DIR}/trials.csv".format(study=wildcards.study),
        "budget": f"{STUDY_DIR}/budget.csv".format(study=wildcards.study),
        "leaders": f"{STUDY_DIR}/budget_leaders.csv".format(study=wildcards.study),
    }


def run_files(study, pattern):
    """``pattern`` (a file under RUN_DIR) for every run of the study, in study_runs order."""
    return [
        run_file(pattern, d, split, r, s) for d, split, _, r, s in study_runs(study)
    ]


def study_splits(study):
    """(dataset, split) of every data split the study trains on, sorted."""
    return sorted({(d, split) for d, split, *_ in study_runs(study)})


def study_padded(study):
    """The padded data file of each of ``study_splits``, in that order."""
    return [
        PADDED.format(dataset=d, split=rnnbench_studies.split_tag(config, d, split))
        for d, split in study_splits(study)
    ]


def split_seed(wildcards):
    """The split seed that a job's {split} names."""
    tag = wildcards.split
    return (
        int(tag.removeprefix("-split"))
        if tag
        else rnnbench_studies.default_split(config, wildcards.dataset)
    )


def study_run_files(pattern):
    """An input function: ``run_files`` of the job's study."""
    return lambda wildcards: run_files(wildcards.study, pattern)


def study_tables(study_dir=STUDY_DIR):
    return {
        "runs": f"{study_dir}/runs.csv",
        "summary": f"{study_dir}/summary.csv",
        "pairwise": f"{study_dir}/pairwise.csv",
        "confusion": f"{study_dir}/confusion.csv",
        "ensembles": f"{study_dir}/ensembles.csv",
        "mcnemar": f"{study_dir}/mcnemar.csv",
    }


def study_datasets(wildcards):
    return sorted(rnnbench_studies.studies(config)[wildcards.study]["datasets"])


def figure_files(wildcards):
    """The report's figure inputs, named "{dataset}_{figure}": the figures rules' outputs (not
    rnnbench.figures, whose import would bring pandas into every invocation's parse)."""
    rules_ = (
        [rules.figures]
        + (
            [rules.sweep_figures]
            if rnnbench_studies.sweep_axes(config, wildcards.study)
            else []
        )
        + ([rules.search_figures] if searched(wildcards.study) else [])
    )
    return {
        f"{dataset}_{name}": f"reports/figures/{wildcards.study}/{dataset}/{name}.png"
        for dataset in study_datasets(wildcards)
        for rule_ in rules_
        for name in rule_.output.keys()
    }


def train_spec(wildcards):
    return rnnbench_config.train_slice(
        config, wildcards.dataset, RUN_SPECS[wildcards.run]
    )


def pad_spec(wildcards):
    return rnnbench_config.pad_slice(config, wildcards.dataset, split_seed(wildcards))


def download_source(wildcards):
    return rnnbench_config.download_slice(config, wildcards.dataset)


def dataset_sha256(wildcards):
    return config["datasets"][wildcards.dataset].get("sha256")


def dataset_files(wildcards):
    """The dataset's files as its loader reads them: ``table`` (a local path, or the download's
    verified copy) and, for a table with a test file, ``test``."""
    entry = config["datasets"][wildcards.dataset]
    files = {
        "table": entry.get("path")
        or f"data/raw/{wildcards.dataset}/{entry['filename']}"
    }
    if "test_path" in entry:
        files["test"] = entry["test_path"]
    return files


def dataset_meta(wildcards):
    """Input function: the padded data's facts (``PADDED_META``: class names, sources) of each of
    the study's datasets (of the job's dataset, where it has one), named "{dataset}_meta"; a
    dataset's splits share its classes, so its first split's file stands for all."""
    first = {}
    for d, split in study_splits(wildcards.study):
        first.setdefault(d, split)
    return {
        f"{d}_meta": PADDED_META.format(
            dataset=d, split=rnnbench_studies.split_tag(config, d, split)
        )
        for d, split in first.items()
        if d == wildcards.get("dataset", d)
    }


def study_settings(wildcards):
    """The report slice of the study."""
    return rnnbench_config.report_slice(config, wildcards.study)


def stop_rescheduling_timers():
    """Cancel Snakemake's pending scheduler re-evaluation timers once the workflow is over.

    Snakemake 9's scheduler starts a 1-s ``threading.Timer`` after each scheduling round
    (``_schedule_reevalutation``); it is not a daemon thread, so the finished process would wait for
    it. Nothing is scheduled after these hooks, so the timers have nothing left to do.
    """
    import threading

    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer):
            thread.cancel()


def set_aside_stale_reports():
    """Move every report that this invocation found out of date and did not rebuild (a job it
    depends on failed) to reports/stale/, so that no report looks current when it is not.

    Snakemake does not rebuild a missing intermediate file while what follows it is present, so
    a report left in place would hide the failure from the next invocation; a missing report is
    rebuilt, with every missing file it depends on (the report rule lists them), the failed job's
    included. Reads the DAG of this invocation (``workflow.dag``: its needrun and finished jobs).
    """
    dag = workflow.dag
    for job in dag.needrun_jobs():
        if job.rule.name != "report":
            continue
        for path in map(str, job.output):
            if os.path.exists(path):
                stale = os.path.join("reports", "stale", os.path.basename(path))
                os.makedirs(os.path.dirname(stale), exist_ok=True)
                os.replace(path, stale)
                print(
                    f"rnnbench: moved {path} to {stale}: a job it depends on failed, so it is out of "
                    "date; the same command rebuilds it once the failure is fixed",
                    file=sys.stderr,
                )


onsuccess:
    stop_rescheduling_timers()


onerror:
    set_aside_stale_reports()
    stop_rescheduling_timers()
