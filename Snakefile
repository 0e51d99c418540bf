# rnnbench: download -> pad -> train (one job per dataset, variant, seed) -> evaluate -> aggregate -> report
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/pad.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/report.smk"


rule all:
    """The study's deliverables: the report and every trained model.

    Snakemake does not rebuild a deleted intermediate file while everything after it is up
    to date; naming the models here makes a plain `snakemake` retrain any that went missing.
    """
    input:
        "reports/summary.html",
        run_files("model.keras"),
    default_target: True
