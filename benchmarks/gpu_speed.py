"""On a GPU: does each variant take Keras's cuDNN path, and how many seconds does an epoch take?

    KERAS_BACKEND=torch PYTHONPATH=. python3 benchmarks/gpu_speed.py data/padded/reuters.npz \
        --variants lstm gru deep_lstm_glorot deep_lstm_glorot_rd0.05 --epochs 4

Builds each variant with Keras's own layers (``engine: keras``: on a GPU the fused engine's LSTM and
GRU defer to them anyway) and trains it as the notebook did (numpy arrays, batch and validation split
from config.yaml), under whichever Keras backend is set: it needs no TensorFlow, so it runs on a
machine that has only PyTorch (``KERAS_BACKEND=torch``) or JAX. The cuDNN path is read, not assumed:
the backend's ``_cudnn_lstm`` / ``_cudnn_gru`` (``keras.src.backend.<backend>.rnn``) are wrapped and
their successful calls counted during training; Keras falls back to its generic loop without a word
when they fail or do not apply (recurrent dropout, masks on some backends, no GPU).

Prints one line per variant: the device, cuDNN calls, epoch seconds and the mean of epochs 2..
(epoch 1 includes setup).
"""

import argparse
import functools
import importlib

import numpy as np
import yaml

from rnnbench.data import load_padded
from rnnbench.training import split_validation
from common import epoch_timer

CUDNN_FUNCTIONS = ("_cudnn_lstm", "_cudnn_gru")


def count_cudnn_calls(backend: str) -> dict:
    """Wrap the backend's cuDNN functions; the returned dict counts their successful calls."""
    calls = {}
    try:
        module = importlib.import_module(f"keras.src.backend.{backend}.rnn")
    except ImportError:
        return calls
    for name in CUDNN_FUNCTIONS:
        original = getattr(module, name, None)
        if original is None:
            continue
        calls[name] = 0

        @functools.wraps(original)
        def counted(*args, _name=name, _original=original, **kwargs):
            result = _original(*args, **kwargs)
            calls[_name] += 1
            return result

        setattr(module, name, counted)
    return calls


def device_name(backend: str) -> str:
    if backend == "torch":
        import torch

        return f"GPU: {torch.cuda.get_device_name()}" if torch.cuda.is_available() else "CPU (torch)"
    if backend == "jax":
        import jax

        return ", ".join(str(device) for device in jax.devices())
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return "GPU: " + ", ".join(g.name for g in gpus) if gpus else "CPU (tensorflow)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("padded", help="data/padded/<dataset>.npz from the pad rule")
    parser.add_argument("--variants", nargs="+", default=["lstm", "gru"])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import keras

    from rnnbench import engines
    from rnnbench.models import build_model

    backend = keras.backend.backend()
    calls = count_cudnn_calls(backend)
    device = device_name(backend)
    config = yaml.safe_load(open("config.yaml"))
    data = load_padded(args.padded)
    (x, y), validation = split_validation(data["x_train"], data["y_train"], config["validation_split"])
    for variant in args.variants:
        spec = {**config["variants"][variant], "engine": "keras"}
        keras.utils.set_random_seed(args.seed)
        model = build_model(spec, num_words=int(data["num_words"]), maxlen=data["x_train"].shape[1],
                            embedding_dim=256, num_classes=int(data["num_classes"]))
        engines.compile_model(model, "keras", spec.get("learning_rate", 0.001), xla=False,
                              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        for name in calls:
            calls[name] = 0
        timer, seconds = epoch_timer()
        history = model.fit(x, y, batch_size=config["batch_size"], epochs=args.epochs, validation_data=validation,
                            callbacks=[timer], verbose=0)
        cudnn = ", ".join(f"{name.strip('_')} {count}" for name, count in calls.items()) or "none in this backend"
        later = seconds[1:] or seconds
        print(f"{variant:26s} backend={backend} device={device} cudnn calls: {cudnn}; "
              f"epochs {[round(s, 2) for s in seconds]} mean 2..: {np.mean(later):.2f} s; "
              f"val_accuracy {history.history['val_accuracy'][-1]:.3f}", flush=True)


if __name__ == "__main__":
    main()
