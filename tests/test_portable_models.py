"""A trained model.keras loads with plain Keras, in a process that never imports rnnbench, and scores
exactly the test accuracy in its run's metrics.json."""

import json
import subprocess
import sys

import pytest

from tests.conftest import make_workflow, run_dir, synthetic_reuters, tiny_config

pytestmark = pytest.mark.slow

# Every family; every cell type under the default engine, a bidirectional masked one with embedding dropout, and the
# levers of study improvements: max and mean pooling over the unmasked steps, spatial dropout, a cosine
# schedule and label smoothing.
VARIANTS = {
    "lstm": {"cell": "lstm", "layers": 1, "units": 4},
    "gru": {"cell": "gru", "layers": 2, "units": 4, "dropout": 0.1, "recurrent_dropout": 0.1},
    "irnn": {"cell": "simple_rnn", "layers": 2, "units": 4, "activation": "relu", "recurrent_initializer": "identity"},
    "lstm_mask_bi": {"cell": "lstm", "layers": 1, "units": 4, "mask_zero": True, "bidirectional": True,
                     "embedding_dropout": 0.2},
    "bigru_max": {"cell": "gru", "layers": 1, "units": 4, "mask_zero": True, "bidirectional": True, "pooling": "max",
                  "spatial_dropout": 0.2, "lr_schedule": "cosine", "label_smoothing": 0.1},
    "lstm_mean": {"cell": "lstm", "layers": 2, "units": 4, "mask_zero": True, "pooling": "mean"},
    # the other families: bag of words, Kim's CNN, the Transformer (masked, max-pooled)
    "bow": {"cell": "bow", "layers": 1, "units": 8, "dropout": 0.5},
    "cnn": {"cell": "cnn", "kernel_sizes": [2, 3], "filters": 4, "dropout": 0.2},
    "transformer": {"cell": "transformer", "layers": 1, "units": 8, "heads": 2, "ff_dim": 8, "mask_zero": True,
                    "pooling": "max", "dropout": 0.1},
}

LOAD = """
import json, sys
import numpy as np
import keras
with np.load(sys.argv[1]) as data:
    x, y = data["x_test"], data["y_test"]
correct = {}
for path in sys.argv[2:]:
    model = keras.saving.load_model(path)
    correct[path] = int(np.sum(np.argmax(model.predict(x, verbose=0), axis=1) == y))
assert not [m for m in sys.modules if m == "rnnbench" or m.startswith("rnnbench.")], "rnnbench was imported"
print(json.dumps({"rows": len(y), "correct": correct}))
"""


def test_every_model_loads_in_plain_keras_and_scores_its_metrics(tmp_path):
    workflow = make_workflow(tmp_path)
    sha256 = synthetic_reuters(workflow.keras_home / "datasets" / "reuters.npz")
    workflow.write_config(tiny_config(sha256, seeds=[0], variants=VARIANTS, notebook={}))
    runs = [run_dir(workflow.root, spec, 0) for spec in VARIANTS.values()]
    workflow.run("--cores", "2", *[str((run / "metrics.json").relative_to(workflow.root)) for run in runs])

    outside = tmp_path / "elsewhere"  # no rnnbench beside the script
    outside.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", LOAD, str(workflow.root / "data" / "padded" / "reuters.npz"),
         *[str(run / "model.keras") for run in runs]],
        cwd=outside, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    for run in runs:
        metrics = json.loads((run / "metrics.json").read_text())
        assert json.loads((run / "run.json").read_text())["engine"] == "fused"
        assert loaded["correct"][str(run / "model.keras")] / loaded["rows"] == metrics["test_accuracy"], run.name
