"""Training one (dataset, variant, seed) run."""

from __future__ import annotations

import os
import platform
import resource
import socket
import sys
import time
from typing import Any, Mapping

import numpy as np
import pandas as pd

HISTORY_COLUMNS = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"]


def configure_tensorflow(threads: int, seed: int) -> None:
    """Thread counts, seeds and op determinism; call before any TensorFlow op runs."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
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


def _epoch_timer():
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    return EpochTimer()


def train(
    data: Mapping[str, np.ndarray],
    spec: Mapping[str, Any],
    *,
    seed: int,
    threads: int,
    verbose: int = 2,
):
    """Train the model that ``spec`` describes; return (model, history frame, metadata).

    ``spec`` is the rule's canonical slice: the variant, embedding_dim, epochs,
    batch_size and validation_split. Keras's progress goes to stdout.
    """
    configure_tensorflow(threads, seed)
    import keras
    import tensorflow as tf

    from rnnbench.models import build_model

    started = time.time()
    x_train, y_train = data["x_train"], data["y_train"]
    model = build_model(
        spec["variant"],
        num_words=int(data["num_words"]),
        maxlen=x_train.shape[1],
        embedding_dim=spec["embedding_dim"],
        num_classes=int(data["num_classes"]),
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    timer = _epoch_timer()
    fit = model.fit(
        x_train,
        y_train,
        epochs=spec["epochs"],
        batch_size=spec["batch_size"],
        validation_split=spec["validation_split"],
        callbacks=[timer],
        verbose=verbose,
    )
    history = pd.DataFrame({key: fit.history[key] for key in HISTORY_COLUMNS[1:-1]})
    history.insert(0, "epoch", np.arange(1, len(history) + 1))
    history["seconds"] = timer.seconds
    metadata = {
        "seed": seed,
        "parameters": int(model.count_params()),
        "wall_seconds": time.time() - started,
        "epochs_run": len(history),
        "train_rows": int(round(len(x_train) * (1 - spec["validation_split"]))),
        "validation_rows": len(x_train) - int(round(len(x_train) * (1 - spec["validation_split"]))),
        "threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "device": _device(),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
    }
    return model, history, metadata


def _device() -> str:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
        return "GPU: " + ", ".join(names)
    return "CPU: " + (_cpu_model() or platform.processor() or platform.machine())


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None
