# Helpers shared by the rules: config validation, the run grid and each rule's config slice.
import os
import sys

from snakemake.exceptions import WorkflowError

sys.path.insert(0, workflow.basedir)  # the rnnbench package, installed or not
from rnnbench import config as rnnbench_config
from rnnbench import figures as rnnbench_figures

try:
    rnnbench_config.coerce_command_line(config)
    rnnbench_config.validate_config(
        config, Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml"
    )
    # Where the padded data exists already, batch_size is checked against it now;
    # otherwise the training job checks it before training.
    for dataset in config["datasets"]:
        if os.path.exists(f"data/padded/{dataset}.npz"):
            rnnbench_config.check_batch_size(
                config,
                dataset,
                rnnbench_config.padded_training_rows(
                    f"data/padded/{dataset}.npz", config["validation_split"]
                ),
            )
except rnnbench_config.ConfigError as error:
    raise WorkflowError(f"rnnbench: {error}") from None


wildcard_constraints:
    dataset="[A-Za-z0-9][A-Za-z0-9_.-]*",
    variant="[A-Za-z0-9][A-Za-z0-9_.-]*",
    seed=r"\d+",


RUN_DIR = "results/runs/{dataset}/{variant}/seed{seed}"

DATASETS = sorted(config["datasets"])
FIGURES = list(rnnbench_figures.FIGURES)

# Sorted, so that reordering config.yaml changes no rule's inputs or params.
RUNS = [
    (dataset, variant, seed)
    for dataset in DATASETS
    for variant in sorted(config["variants"])
    for seed in sorted(config["seeds"])
]


def code(*modules):
    """The rnnbench modules a rule's output depends on, as inputs: editing one reruns that stage."""
    # Relative to the working directory, so that moving the project does not change the inputs.
    package = os.path.relpath(os.path.join(workflow.basedir, "rnnbench"))
    return [os.path.join(package, f"{module}.py") for module in modules]


def run_files(pattern):
    """``pattern`` (under RUN_DIR) for every run of the study, in RUNS order."""
    return [
        f"{RUN_DIR}/{pattern}".format(dataset=d, variant=v, seed=s) for d, v, s in RUNS
    ]


def figure_files():
    """The report's figure inputs, named "{dataset}_{figure}"."""
    return {
        f"{dataset}_{name}": f"reports/figures/{dataset}/{name}.png"
        for dataset in DATASETS
        for name in FIGURES
    }


def train_spec(wildcards):
    return rnnbench_config.train_slice(config, wildcards.dataset, wildcards.variant)


def pad_spec(wildcards):
    return rnnbench_config.pad_slice(config, wildcards.dataset)


def download_source(wildcards):
    return rnnbench_config.download_slice(config, wildcards.dataset)


def dataset_sha256(wildcards):
    return config["datasets"][wildcards.dataset]["sha256"]
