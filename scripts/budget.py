"""Snakemake adapter: expected best validation accuracy by number of trials, per search, and the
budget ranges over which each search leads."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the rnnbench package beside scripts/
from rnnbench.io import read_csv, write_csv
from rnnbench.jobs import log_to
from rnnbench.search import TRIAL_COLUMNS
from rnnbench.stats import budget_curves, budget_leaders

log_to(snakemake.log[0])

curves = budget_curves(read_csv(snakemake.input.trials, TRIAL_COLUMNS), iterations=snakemake.params.iterations)
write_csv(curves, snakemake.output.curves)
write_csv(budget_leaders(curves), snakemake.output.leaders)
