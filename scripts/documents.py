"""Snakemake adapter: which test documents each run and each seed ensemble gets right (documents.csv),
then seed ensembles and McNemar's paired tests from that table."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the rnnbench package beside scripts/
from rnnbench.data import load_padded
from rnnbench.documents import ensembles, outcomes, paired_tests
from rnnbench.evaluation import load_predictions
from rnnbench.io import write_csv
from rnnbench.jobs import log_to

log_to(snakemake.log[0])

data = {
    (dataset, int(split)): load_padded(path)
    for (dataset, split), path in zip(snakemake.params.splits, snakemake.input.data)
}
labels = {key: arrays["y_test"] for key, arrays in data.items()}
runs = [
    (dataset, split, variant, seed,
     load_predictions(path, len(labels[dataset, int(split)]), int(data[dataset, int(split)]["num_classes"])))
    for (dataset, split, variant, _run, seed), path in zip(snakemake.params.runs, snakemake.input.predictions)
]
table = outcomes(runs, labels)
write_csv(table, snakemake.output.documents)
write_csv(ensembles(table), snakemake.output.ensembles)
write_csv(paired_tests(table), snakemake.output.mcnemar)
