"""Snakemake adapter: tidy runs.csv, confusion cells, per-run metadata, one row per run (finals.csv)
and the per-variant summary."""

import json
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the rnnbench package beside scripts/
from rnnbench.aggregate import collect, load_run, published_finals, run_facts, summarize_finals, tidy_confusion, tidy_run
from rnnbench.io import write_csv
from rnnbench.jobs import log_to

log_to(snakemake.log[0])

runs, confusion, metadata = [], [], []
for (dataset, split, variant, _run, seed), history, metrics, meta in zip(
    snakemake.params.runs, snakemake.input.histories, snakemake.input.metrics, snakemake.input.metadata
):
    history, metrics, meta = load_run(history, metrics, meta)
    runs.append(tidy_run(dataset, split, variant, seed, history, metrics, meta))
    confusion.append(tidy_confusion(dataset, split, variant, seed, metrics))
    metadata.append(run_facts(dataset, split, variant, seed, metrics, meta))
runs = collect(runs)

metadata = pd.DataFrame(metadata)
names = {(d, int(split), v, int(seed)): run for d, split, v, run, seed in snakemake.params.runs}
finals = published_finals(runs, names, metadata)

write_csv(runs, snakemake.output.runs)
write_csv(pd.concat(confusion, ignore_index=True), snakemake.output.confusion)
write_csv(metadata, snakemake.output.metadata)
write_csv(finals, snakemake.output.finals)
write_csv(summarize_finals(finals, json.loads(snakemake.params.notebook)), snakemake.output.summary)
