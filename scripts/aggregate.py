"""Snakemake adapter: tidy runs.csv, per-run metadata and the per-variant summary."""

import json
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the rnnbench package beside scripts/
from rnnbench.aggregate import collect, read_run, summarize
from rnnbench.io import log_to, write_csv

log_to(snakemake.log[0])

runs, metadata = [], []
for (dataset, variant, seed), history, metrics, meta in zip(
    snakemake.params.runs, snakemake.input.histories, snakemake.input.metrics, snakemake.input.metadata
):
    runs.append(read_run(dataset, variant, seed, history, metrics, meta))
    with open(meta) as handle:
        facts = {k: v for k, v in json.load(handle).items() if not isinstance(v, (dict, list))}
    metadata.append(dict(facts, dataset=dataset, variant=variant, seed=seed))
runs = collect(runs)

write_csv(runs, snakemake.output.runs)
write_csv(pd.DataFrame(metadata), snakemake.output.metadata)
write_csv(summarize(runs, json.loads(snakemake.params.notebook)), snakemake.output.summary)
