# rnnbench: download -> pad -> train (one job per dataset, variant, seed) -> evaluate -> aggregate -> report;
# a search study first trains its trials and picks the best of each (checkpoint trials)
from snakemake.utils import min_version

min_version("9.0")


# Found beside this file, wherever Snakemake runs (-s, --directory); a module reads it in common.smk.
configfile: f"{workflow.basedir}/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/pad.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/search.smk"
include: "workflow/rules/report.smk"


# Snakemake does not rebuild a deleted intermediate file while everything after it is up to date;
# naming the runs' files here makes a plain `snakemake` retrain any that went missing. The other
# studies are never built by default: ask for reports/<study>.html, or `all_studies`.
rule all:
    """The default study's report (summary; every study where the config has none), and every model
    it trains with its test-set probabilities."""
    default_target: True
    input:
        expand("reports/{study}.html", study=DEFAULT_STUDIES),
        [run_files(study, "model") for study in DEFAULT_STUDIES],
        [run_files(study, "predictions.npy") for study in DEFAULT_STUDIES],


rule all_studies:
    """Every study's report (hours of training at the shipped settings: see docs/findings.md)."""
    input:
        expand("reports/{study}.html", study=STUDIES),
