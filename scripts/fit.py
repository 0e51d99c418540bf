"""Snakemake adapter: fit one (dataset, variant, seed) run of a scikit-learn family (linear, sklearn) on the
rows a Keras run trains on; its test-set class probabilities go to predictions.npy for the evaluate job, and
the fitted estimator to model.skops (skops: loads without rnnbench and without unpickling code)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the rnnbench package beside scripts/
from rnnbench.data import load_meta, load_padded
from rnnbench.fitting import fit, probabilities, save_estimator
from rnnbench.guard import hold_run
from rnnbench.io import write_csv, write_json, write_npy
from rnnbench.jobs import log_to
from rnnbench.runtime import checkout_commit
from rnnbench.settings import TrainSettings, check_rows

log_to(snakemake.log[0])

run_dir = Path(snakemake.output.history).parent
with hold_run(run_dir):
    settings = TrainSettings.from_json(snakemake.params.spec)
    data = load_padded(snakemake.input.data)
    check_rows(settings.batch_size, settings.validation_split, snakemake.wildcards.dataset, len(data["y_train"]))
    estimator, history, metadata = fit(data, settings, seed=int(snakemake.wildcards.seed), threads=snakemake.threads)
    save_estimator(estimator, snakemake.output.model)
    write_npy(probabilities(estimator, data["x_test"], int(data["num_classes"])), snakemake.output.predictions)
    write_csv(history, snakemake.output.history)
    print(history.to_string(index=False))
    write_json(
        dict(metadata, spec=json.loads(snakemake.params.spec), split=snakemake.params.split,
             commit=checkout_commit(Path(snakemake.scriptdir).parent), data=load_meta(snakemake.input.meta)["sources"]),
        snakemake.output.metadata,
    )
