"""Snakemake adapter: test loss, accuracy, macro-F1 and confusion matrix of one trained run, from the
test-set probabilities its train job wrote (no TensorFlow here: the job takes a fraction of a second).
The run is then complete, and its last checkpoint is removed."""

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the rnnbench package beside scripts/
from rnnbench.data import load_padded
from rnnbench.evaluation import diverged_metrics, load_predictions, score
from rnnbench.io import read_json, write_json
from rnnbench.jobs import log_to

log_to(snakemake.log[0])

data = load_padded(snakemake.input.data)
y_test, num_classes = data["y_test"], int(data["num_classes"])
if read_json(snakemake.input.metadata, ["diverged"])["diverged"]:
    metrics = diverged_metrics(y_test, num_classes)
else:
    metrics = score(load_predictions(snakemake.input.predictions, len(y_test), num_classes), y_test, num_classes)
write_json(metrics, snakemake.output[0])
shutil.rmtree(Path(snakemake.input.metadata).parent / "checkpoint", ignore_errors=True)  # the train job's last one
print({k: v for k, v in metrics.items() if k != "confusion_matrix"})
