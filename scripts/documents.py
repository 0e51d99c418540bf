"""Snakemake adapter: seed ensembles and McNemar's paired tests from every run's test-set probabilities."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the rnnbench package beside scripts/
from rnnbench.data import load_padded
from rnnbench.documents import ensembles, paired_tests
from rnnbench.io import write_csv
from rnnbench.jobs import log_to

log_to(snakemake.log[0])

labels = {
    (dataset, int(split)): load_padded(path)["y_test"]
    for (dataset, split), path in zip(snakemake.params.splits, snakemake.input.data)
}
runs = [
    (dataset, split, variant, seed, np.load(path))
    for (dataset, split, variant, _run, seed), path in zip(snakemake.params.runs, snakemake.input.predictions)
]
write_csv(ensembles(runs, labels), snakemake.output.ensembles)
write_csv(paired_tests(runs, labels), snakemake.output.mcnemar)
