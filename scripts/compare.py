"""Snakemake adapter: ASO eps_min for every ordered pair of variants, per dataset."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the rnnbench package beside scripts/
from rnnbench.aggregate import RUN_COLUMNS, final_values
from rnnbench.io import read_csv, write_csv
from rnnbench.jobs import log_to
from rnnbench.stats import pairwise_by_dataset

log_to(snakemake.log[0])

finals = final_values(read_csv(snakemake.input.runs, RUN_COLUMNS))
write_csv(pairwise_by_dataset(finals, iterations=snakemake.params.iterations), snakemake.output[0])
