"""Snakemake adapter: ASO eps_min for every ordered pair of variants, per dataset."""

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the rnnbench package beside scripts/
from rnnbench.aggregate import RUN_COLUMNS, final_values
from rnnbench.io import read_csv, write_csv
from rnnbench.jobs import log_to
from rnnbench.stats import pairwise

log_to(snakemake.log[0])

finals = final_values(read_csv(snakemake.input.runs, RUN_COLUMNS))
pairs = [
    pairwise(group, iterations=snakemake.params.iterations).assign(dataset=dataset)
    for dataset, group in finals.groupby("dataset", sort=True)
]
write_csv(pd.concat(pairs, ignore_index=True), snakemake.output[0])
