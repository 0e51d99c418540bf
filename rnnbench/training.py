"""Training one (dataset, variant, seed) run."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import resource
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from rnnbench.config import training_rows
from rnnbench.io import atomic_path

HISTORY_COLUMNS = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"]


def xla_cache_directory(root) -> Path:
    """Where XLA keeps compiled training steps between jobs: under ``root``, one folder per
    TensorFlow version and CPU. TensorFlow keys an entry by the program alone, so a folder shared
    by hosts of another instruction set or another TensorFlow would hand them programs they cannot
    run; the folder name keeps those apart."""
    from importlib import metadata

    versions = []
    for package in ("tensorflow", "tensorflow-cpu"):
        try:
            versions.append(f"{package}-{metadata.version(package)}")
        except metadata.PackageNotFoundError:
            pass
    model_and_flags = _cpuinfo("model name") + _cpuinfo("flags")
    cpu = platform.machine() + ("".join(model_and_flags) if model_and_flags else platform.processor())
    fingerprint = hashlib.sha256(cpu.encode()).hexdigest()[:12]
    return Path(root) / "xla" / f"{'_'.join(versions) or 'tensorflow'}-{platform.machine()}-{fingerprint}"


def prune_xla_cache(directory) -> list[Path]:
    """Delete the entries of an XLA cache folder that are not whole protocol buffers; return them.

    TensorFlow writes entries atomically, but a file damaged afterwards (a full disk, a copy cut
    short) makes it fail the training step, and Keras reports that as an epoch without a single
    step (loss NaN) instead of an error. A cache loses nothing by dropping an entry."""
    from google.protobuf import empty_pb2
    from google.protobuf.message import DecodeError

    removed = []
    for path in sorted(Path(directory).glob("*.pb")) if directory is not None else []:
        try:
            content = path.read_bytes()
            empty_pb2.Empty().ParseFromString(content)  # checks the wire format, whatever the message
            damaged = not content
        except DecodeError:
            damaged = True
        if damaged:
            path.unlink(missing_ok=True)
            removed.append(path)
            print(f"removed a damaged XLA cache entry: {path}")
    return removed


def configure_tensorflow(threads: int, seed: int, xla_cache=None) -> None:
    """Thread counts, seeds and op determinism; call before any TensorFlow op runs.

    ``xla_cache``: a folder (``xla_cache_directory``) where XLA saves each compiled program and
    loads it in later jobs instead of compiling it again (the seeds of one variant share their
    programs). It works only if set before TensorFlow is first imported in the process."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if xla_cache is not None:
        prune_xla_cache(xla_cache)
        flag = f"--tf_xla_persistent_cache_directory={xla_cache}"
        flags = os.environ.get("TF_XLA_FLAGS", "")
        if "tf_xla_persistent_cache_directory" not in flags:
            os.environ["TF_XLA_FLAGS"] = f"{flags} {flag}".strip()
    with _without("matplotlib"):
        import keras
    import tensorflow as tf

    threading = tf.config.threading
    if (threading.get_intra_op_parallelism_threads(), threading.get_inter_op_parallelism_threads()) != (threads, threads):
        # Raises RuntimeError once TensorFlow has initialised its thread pools:
        # a job must call this first, and does.
        threading.set_intra_op_parallelism_threads(threads)
        threading.set_inter_op_parallelism_threads(threads)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


@contextlib.contextmanager
def _without(package: str):
    """Make ``import package`` fail inside the block, unless it is imported already.

    Keras imports matplotlib.pyplot, if installed, for an image-gallery helper that no job uses:
    a noticeable part of each job's start. Afterwards the package imports as usual."""
    hidden = package not in sys.modules
    if hidden:
        sys.modules[package] = None  # the import system's own "not importable" mark
    try:
        yield
    finally:
        if hidden and sys.modules.get(package, 0) is None:
            del sys.modules[package]


def split_validation(x, y, validation_split: float):
    """Keras's ``validation_split``: the last fraction of the rows, before any shuffling."""
    cut = training_rows(len(x), validation_split)
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


def compile_classifier(model, engine: str, learning_rate: float, xla: bool | None = None) -> None:
    """``engines.compile_model`` with the loss and metrics a run reports, all weighted by the batches'
    row weights, so the filled rows of ``engines.batches`` count for nothing: the loss is the mean
    over the rows of weight 1 (``mean_with_sample_weight``), and ``crossentropy`` and ``accuracy``
    are means over them. ``crossentropy`` is the history's loss: Keras's own ``loss`` log weights
    each batch by its row count, filled rows included. Without row weights (arrays to ``model.fit``)
    they are Keras's usual means. ``xla``: as for ``engines.compile_model``."""
    import keras

    from rnnbench import engines

    engines.compile_model(
        model, engine, learning_rate, xla,
        loss=keras.losses.SparseCategoricalCrossentropy(reduction="mean_with_sample_weight"),
        weighted_metrics=[keras.metrics.SparseCategoricalCrossentropy(name="crossentropy"),
                          keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )


def epoch_logs(fit_history) -> dict[str, float]:
    """One epoch's history row (without epoch and seconds) from ``model.fit``'s history, under
    ``compile_classifier``: loss and val_loss are the weighted crossentropies."""
    logs = {key: float(values[-1]) for key, values in fit_history.history.items()}
    return {
        "loss": logs.get("crossentropy", np.nan),
        "accuracy": logs.get("accuracy", np.nan),
        "val_loss": logs.get("val_crossentropy", np.nan),
        "val_accuracy": logs.get("val_accuracy", np.nan),
    }


def epoch_order(rows: int, seed: int, epoch: int) -> np.ndarray:
    """The training rows' order in one epoch: a function of (seed, epoch) alone, so a resumed
    run sees the same batches as an uninterrupted one."""
    return np.random.default_rng([seed, epoch]).permutation(rows)


def reseed_dropout(model, seed: int, epoch: int) -> None:
    """Set every dropout seed generator's state from (seed, epoch).

    Keras keeps these states outside the saved weights; deriving them per epoch makes the
    dropout masks of a resumed epoch equal those of an uninterrupted run.
    """
    for index, variable in enumerate(v for v in model.variables if "seed_generator" in v.path):
        state = np.random.default_rng([seed, epoch, index]).integers(0, 2**31 - 1, size=variable.shape)
        variable.assign(state.astype(variable.dtype))


class Checkpoint:
    """The state after each finished epoch, in ``directory``: weights with the optimizer's state,
    and the history so far. Each epoch is written to its own folder and then published by
    atomically replacing the ``latest`` pointer, so a kill at any moment leaves a usable state."""

    def __init__(self, directory, identity: str = ""):
        self.directory = Path(directory) if directory else None
        self.identity = identity  # what was being trained: a checkpoint of anything else is discarded

    def restore(self, model) -> tuple[pd.DataFrame, list | None] | None:
        """The history so far and the best weights kept for early stopping (or None)."""
        if self.directory is None or not (self.directory / "latest").exists():
            return None
        identity = self.directory / "identity.json"
        if not identity.exists() or identity.read_text() != self.identity:
            print(f"discarding {self.directory}: it checkpoints another spec or seed")
            self.remove()
            return None
        folder = self.directory / (self.directory / "latest").read_text().strip()
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        best = None
        if (folder / "best.weights.h5").exists():
            model.load_weights(folder / "best.weights.h5")
            best = model.get_weights()
        model.load_weights(folder / "state.weights.h5")
        return pd.read_csv(folder / "history.csv"), best

    def save(self, model, history: pd.DataFrame, best: list | None = None) -> None:
        if self.directory is None:
            return
        name = f"epoch-{int(history['epoch'].iloc[-1]):04d}"
        folder = self.directory / name
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "identity.json").write_text(self.identity)
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        model.save_weights(folder / "state.weights.h5")
        if best is not None:
            current = model.get_weights()
            model.set_weights(best)
            model.save_weights(folder / "best.weights.h5")
            model.set_weights(current)
        history.to_csv(folder / "history.csv", index=False)
        with atomic_path(self.directory / "latest") as tmp:
            tmp.write_text(name)
        for old in self.directory.glob("epoch-*"):
            if old.name != name:
                shutil.rmtree(old)

    def remove(self) -> None:
        if self.directory is not None and self.directory.exists():
            shutil.rmtree(self.directory)


def train(
    data: Mapping[str, np.ndarray],
    spec: Mapping[str, Any],
    *,
    seed: int,
    threads: int,
    checkpoint_dir=None,
    xla_cache=None,
    verbose: int = 2,
    token_product: bool = True,
    fill_last_batch: bool = True,
):
    """Train the model that ``spec`` describes; return (model, history frame, metadata).

    ``spec`` is the rule's canonical slice: the variant, embedding_dim, epochs, batch_size
    and validation_split. A variant with ``early_stopping: N`` stops once val_loss has not
    improved for N epochs and returns the weights of its best validation epoch; the test
    split is never seen here. With ``checkpoint_dir``, every finished epoch is checkpointed there
    and a later call resumes from the last one; the result is the same as an uninterrupted
    run, bit for bit on CPU. Training that produces a NaN loss stops and is marked diverged.
    ``xla_cache``: see ``configure_tensorflow``. ``token_product`` and ``fill_last_batch``: the
    fused engine's levers (``rnnbench.engines``), on unless a benchmark compares them. Keras's
    progress goes to stdout.
    """
    configure_tensorflow(threads, seed, xla_cache)
    import keras
    import tensorflow as tf

    from rnnbench.engines import batches, uses_xla, validation_batches
    from rnnbench.models import build_model, normalize_spec

    started = time.time()
    x_train, y_train = data["x_train"], data["y_train"]
    (x_fit, y_fit), validation = split_validation(x_train, y_train, spec["validation_split"])
    model = build_model(
        spec["variant"],
        num_words=int(data["num_words"]),
        maxlen=x_train.shape[1],
        embedding_dim=spec["embedding_dim"],
        num_classes=int(data["num_classes"]),
        token_product=token_product,
    )
    variant = normalize_spec(spec["variant"])
    patience = variant["early_stopping"]
    engine = variant["engine"]
    compile_classifier(model, engine, variant["learning_rate"])
    checkpoint = Checkpoint(checkpoint_dir, json.dumps({"spec": spec, "seed": seed}, sort_keys=True))
    restored, best = checkpoint.restore(model) or (None, None)
    rows = [] if restored is None else restored.to_dict("records")
    resumed_from = len(rows)
    if resumed_from:
        print(f"resuming after epoch {resumed_from} from {checkpoint.directory}")
    diverged = any(not np.isfinite(row["loss"]) for row in rows)
    validation = validation_batches(validation, engine, spec["batch_size"], fill_last_batch)
    for epoch in range(len(rows), spec["epochs"]):
        if diverged or (patience and _epochs_since_best(rows) >= patience):
            break
        print(f"Epoch {epoch + 1}/{spec['epochs']}")
        order = epoch_order(len(x_fit), seed, epoch)
        reseed_dropout(model, seed, epoch)
        steps = _step_counter()
        start = time.perf_counter()
        fit = model.fit(
            batches(x_fit[order], y_fit[order], spec["batch_size"], fill_last_batch), epochs=1, shuffle=False,
            validation_data=validation, callbacks=[keras.callbacks.TerminateOnNaN(), steps], verbose=verbose,
        )
        seconds = time.perf_counter() - start
        if not steps.count:
            raise RuntimeError(
                f"epoch {epoch + 1} ran no training step (TensorFlow failed it without raising)"
                + (f"; if the XLA cache {xla_cache} holds a damaged entry, delete that folder" if xla_cache else "")
            )
        logs = epoch_logs(fit)
        diverged = not np.isfinite(logs["loss"]) or model.stop_training
        rows.append({"epoch": epoch + 1, **logs, "seconds": seconds})
        if patience and _epochs_since_best(rows) == 0:
            best = model.get_weights()
        checkpoint.save(model, pd.DataFrame(rows, columns=HISTORY_COLUMNS), best)
    history = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    best_epoch = len(history) - _epochs_since_best(rows) if patience else len(history)
    if patience and best is not None and not diverged:
        model.set_weights(best)
    metadata = {
        "seed": seed,
        "parameters": int(model.count_params()),
        "wall_seconds": time.time() - started,
        "epochs_run": len(history),
        "best_epoch": best_epoch,  # the epoch whose weights are returned
        "diverged": bool(diverged),
        "resumed_after_epoch": resumed_from,
        "train_rows": len(x_fit),
        "validation_rows": len(x_train) - len(x_fit),
        "engine": engine,
        "xla": uses_xla(model),
        "threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "device": _device(),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "xla_cache": None if xla_cache is None else str(xla_cache),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
    }
    return model, history, metadata


def predict(model, x_test, batch_size: int = 2048) -> np.ndarray:
    """The test rows' class probabilities (rows x classes, float32), computed by calling the model
    eagerly on ``batch_size`` rows at a time: nothing is traced or compiled, which is quicker than
    ``model.predict`` for one pass."""
    chunks = [np.asarray(model(x_test[start:start + batch_size], training=False), dtype=np.float32)
              for start in range(0, len(x_test), batch_size)]
    return np.concatenate(chunks) if chunks else np.zeros((0, model.output_shape[-1]), np.float32)


def _step_counter():
    import keras

    class StepCount(keras.callbacks.Callback):
        count = 0

        def on_train_batch_end(self, batch, logs=None):
            self.count += 1

    return StepCount()


def _epochs_since_best(rows: list[dict]) -> int:
    """Epochs run after the one with the lowest val_loss (the first of equals)."""
    losses = [row["val_loss"] for row in rows]
    finite = [(loss, index) for index, loss in enumerate(losses) if np.isfinite(loss)]
    return len(losses) - 1 - min(finite)[1] if finite else len(losses)


def _device() -> str:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
        return "GPU: " + ", ".join(names)
    return "CPU: " + (_cpu_model() or platform.processor() or platform.machine())


def _cpu_model() -> str | None:
    models = _cpuinfo("model name")
    return models[0] if models else None


def _cpuinfo(field: str) -> list[str]:
    """The values of one field of /proc/cpuinfo, one per processor (empty where there is none)."""
    try:
        with open("/proc/cpuinfo") as handle:
            fields = (line.partition(":") for line in handle)
            return [value.strip() for name, _, value in fields if name.strip() == field]
    except OSError:
        return []
