"""Snakemake adapter: train one (dataset, variant, seed) run; Keras's progress goes to the log.

Besides the model, the run keeps its test-set class probabilities (predictions.npy) for the
evaluate job, which then needs no TensorFlow; the test labels are never read here.

Every finished epoch is checkpointed in the run's own folder (checkpoint/); a job that was
killed resumes from there when rerun (--rerun-incomplete, or a requeued SLURM job). One job at a
time holds a run (its .lock), and a job whose Snakemake is gone stops (rnnbench.guard). The last
checkpoint stays until the run's evaluate job, which Snakemake starts only once it has accepted these
outputs: a run finished after its Snakemake was killed is taken up from there, not trained again.
Compiled XLA programs are kept in .cache/xla/ under the working directory for the next job of the
same model (a cache: delete it at will).
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the rnnbench package beside scripts/
from rnnbench.settings import TrainSettings, check_rows
from rnnbench.data import load_meta, load_padded
from rnnbench.engines import to_keras
from rnnbench.guard import SnakemakeWatch, hold_run
from rnnbench.io import atomic_path, write_csv, write_json, write_npy
from rnnbench.jobs import exit_now, log_to
from rnnbench.runtime import checkout_commit, xla_cache_directory
from rnnbench.training import predict, train

log_to(snakemake.log[0])

run_dir = Path(snakemake.output.history).parent
with hold_run(run_dir):
    snakemake_watch = SnakemakeWatch()
    settings = TrainSettings.from_json(snakemake.params.spec)
    data = load_padded(snakemake.input.data)
    check_rows(settings.batch_size, settings.validation_split, snakemake.wildcards.dataset, len(data["y_train"]))
    checkpoint_dir = run_dir / "checkpoint"
    model, history, metadata = train(
        data, settings, seed=int(snakemake.wildcards.seed), threads=snakemake.threads,
        checkpoint_dir=checkpoint_dir, xla_cache=xla_cache_directory(".cache"),
    )
    snakemake_watch.check()  # a run whose Snakemake is gone writes no outputs: the next job resumes it
    with atomic_path(snakemake.output.model) as tmp:
        to_keras(model).save(tmp)  # Keras's own layer classes: loads with plain Keras
    write_npy(predict(model, data["x_test"]), snakemake.output.predictions)
    write_csv(history, snakemake.output.history)
    commit = checkout_commit(Path(snakemake.scriptdir).parent)
    write_json(
        dict(metadata, spec=json.loads(snakemake.params.spec), split=snakemake.params.split, commit=commit,
             data=load_meta(snakemake.input.meta)["sources"]),
        snakemake.output.metadata,
    )
exit_now()  # skips the teardown of TensorFlow's modules
