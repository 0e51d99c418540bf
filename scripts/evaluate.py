"""Snakemake adapter: test loss, accuracy, macro-F1 and confusion matrix of one trained run."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the rnnbench package beside scripts/
from rnnbench.data import load_padded
from rnnbench.evaluation import diverged_metrics, evaluate
from rnnbench.io import exit_now, log_to, write_json
from rnnbench.training import configure_tensorflow

log_to(snakemake.log[0])

configure_tensorflow(snakemake.threads, int(snakemake.wildcards.seed))
import keras  # noqa: E402  (after the thread settings)

import rnnbench.kernels  # noqa: E402,F401  (registers the fused kernel's layers for load_model)

data = load_padded(snakemake.input.data)
if json.loads(Path(snakemake.input.metadata).read_text())["diverged"]:
    metrics = diverged_metrics(data["y_test"], int(data["num_classes"]))
else:
    model = keras.models.load_model(snakemake.input.model)
    metrics = evaluate(model, data["x_test"], data["y_test"], int(data["num_classes"]))
write_json(metrics, snakemake.output[0])
print({k: v for k, v in metrics.items() if k != "confusion_matrix"})
exit_now()  # skips the 1-s teardown of TensorFlow's modules
