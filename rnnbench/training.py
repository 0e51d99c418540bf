"""The training loop of one (dataset, variant, seed) run: what is reported each epoch, and how a
resumed run sees the same batches and dropout masks as an uninterrupted one."""

from __future__ import annotations

import json
import time
from typing import Any, Mapping

import numpy as np
import pandas as pd

from rnnbench.checkpoint import Checkpoint
from rnnbench.settings import HISTORY_COLUMNS, TrainSettings, split_validation
from rnnbench.runtime import configure_tensorflow, host_facts



def compile_classifier(
    model, engine: str, learning_rate, xla: bool | None = None, label_smoothing: float = 0.0
) -> None:
    """``engines.compile_model`` with the loss and metrics a run reports, all weighted by the batches'
    row weights, so the filled rows of ``engines.batches`` count for nothing: the loss is the mean
    over the rows of weight 1 (``mean_with_sample_weight``), and ``crossentropy`` and ``accuracy``
    are means over them. ``crossentropy`` is the history's loss: Keras's own ``loss`` log weights
    each batch by its row count, filled rows included. Without row weights (arrays to ``model.fit``)
    they are Keras's usual means. ``xla``: as for ``engines.compile_model``. ``label_smoothing``
    applies to the training loss only; the history's losses stay the plain crossentropy."""
    import keras

    from rnnbench import engines

    if label_smoothing:
        class SmoothedCrossentropy(keras.losses.Loss):
            def call(self, y_true, y_pred):
                labels = keras.ops.one_hot(keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32"), y_pred.shape[-1])
                return keras.losses.categorical_crossentropy(labels, y_pred, label_smoothing=label_smoothing)

        loss = SmoothedCrossentropy(reduction="mean_with_sample_weight")
    else:
        loss = keras.losses.SparseCategoricalCrossentropy(reduction="mean_with_sample_weight")
    engines.compile_model(
        model, engine, learning_rate, xla,
        loss=loss,
        weighted_metrics=[keras.metrics.SparseCategoricalCrossentropy(name="crossentropy"),
                          keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )


def learning_rate(spec, steps: int):
    """Adam's learning rate for a run of ``steps`` training steps: the spec's constant rate, or with
    ``lr_schedule: cosine`` that rate decayed to 0 along a half cosine over the run (Keras's
    CosineDecay; the step count is the optimizer's, so a resumed run continues the schedule)."""
    import keras

    from rnnbench.models import LR_SCHEDULES

    if spec.lr_schedule == "constant":
        return spec.learning_rate
    if spec.lr_schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(spec.learning_rate, decay_steps=steps)
    raise ValueError(f"unknown lr_schedule {spec.lr_schedule!r}; expected one of {', '.join(LR_SCHEDULES)}")


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


def train(
    data: Mapping[str, np.ndarray],
    settings: TrainSettings | Mapping[str, Any],
    *,
    seed: int,
    threads: int,
    checkpoint_dir=None,
    xla_cache=None,
    verbose: int = 2,
    token_product: bool = True,
    fill_last_batch: bool = True,
    bfc_allocator: bool | None = None,
    on_epoch_end=None,
):
    """Train the model that ``settings`` describe; return (model, history frame, metadata).

    ``settings``: the train rule's ``TrainSettings`` (a mapping of the same fields is read with
    ``TrainSettings.of``). A variant with ``early_stopping: N`` stops once val_loss has not
    improved for N epochs and returns the weights of its best validation epoch; the test
    split is never seen here. With ``checkpoint_dir``, every finished epoch is checkpointed there
    and a later call resumes from the last one; the result is the same as an uninterrupted
    run, bit for bit on CPU. Training that produces a NaN loss stops and is marked diverged.
    ``xla_cache`` and ``bfc_allocator``: see ``rnnbench.runtime.configure_tensorflow``. ``token_product`` and
    ``fill_last_batch``: the fused engine's levers (``rnnbench.engines``), on unless a benchmark compares them. Keras's progress goes to stdout. ``on_epoch_end(row)``, if given, is called with each finished
    epoch's history row (a benchmark reads the process's resource use there).
    """
    configure_tensorflow(threads, seed, xla_cache, bfc_allocator)
    import keras

    from rnnbench.engines import batches, uses_xla, validation_batches
    from rnnbench.models import build_model

    settings = TrainSettings.of(settings)
    spec = settings.variant
    started = time.time()
    x_train, y_train = data["x_train"], data["y_train"]
    (x_fit, y_fit), validation = split_validation(x_train, y_train, settings.validation_split)
    model = build_model(
        spec,
        num_words=int(data["num_words"]),
        maxlen=x_train.shape[1],
        embedding_dim=settings.embedding_dim,
        num_classes=int(data["num_classes"]),
        token_product=token_product,
    )
    patience, engine = spec.early_stopping, spec.engine
    steps_per_epoch = -(-len(x_fit) // settings.batch_size)
    compile_classifier(
        model, engine, learning_rate(spec, settings.epochs * steps_per_epoch), label_smoothing=spec.label_smoothing
    )
    identity = json.dumps({"spec": json.loads(settings.to_json()), "seed": seed}, sort_keys=True)
    checkpoint = Checkpoint(checkpoint_dir, identity)
    restored, best = checkpoint.restore(model) or (None, None)
    rows = [] if restored is None else restored.to_dict("records")
    resumed_from = len(rows)
    if resumed_from:
        print(f"resuming after epoch {resumed_from} from {checkpoint.directory}")
    diverged = any(not np.isfinite(row["loss"]) for row in rows)
    validation = validation_batches(validation, engine, settings.batch_size, fill_last_batch)
    for epoch in range(len(rows), settings.epochs):
        if diverged or (patience and _epochs_since_best(rows) >= patience):
            break
        print(f"Epoch {epoch + 1}/{settings.epochs}")
        order = epoch_order(len(x_fit), seed, epoch)
        reseed_dropout(model, seed, epoch)
        steps = _step_counter()
        start = time.perf_counter()
        fit = model.fit(
            batches(x_fit[order], y_fit[order], settings.batch_size, fill_last_batch), epochs=1, shuffle=False,
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
        if on_epoch_end is not None:
            on_epoch_end(rows[-1])
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
        **host_facts(),
        "xla_cache": None if xla_cache is None else str(xla_cache),
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
