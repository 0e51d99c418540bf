"""Snakemake adapter: a search study's trials (validation accuracy of each) and the validation-best
trial of each search, which the study then retrains under its seeds."""

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the rnnbench package beside scripts/
from rnnbench.io import read_csv, read_json, write_csv, write_json
from rnnbench.jobs import log_to
from rnnbench.search import TRIAL_COLUMNS, choose, trial_row

log_to(snakemake.log[0])

rows = [
    trial_row(trial, read_csv(history, ["epoch", "val_accuracy", "seconds"]),
              read_json(metadata, ["epochs_run", "parameters"]))
    for trial, history, metadata in zip(snakemake.params.trials, snakemake.input.histories, snakemake.input.metadata)
]
trials = pd.DataFrame(rows, columns=TRIAL_COLUMNS)
write_csv(trials, snakemake.output.trials)
write_json(choose(trials), snakemake.output.chosen)
