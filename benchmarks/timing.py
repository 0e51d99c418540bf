"""What the epoch benchmarks share: a Keras callback that times each epoch."""

import time


def epoch_timer():
    """A callback for ``model.fit`` and the list it fills with each epoch's seconds."""
    import keras

    seconds = []
    timer = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: seconds.append(-time.perf_counter()),
        on_epoch_end=lambda epoch, logs: seconds.__setitem__(-1, seconds[-1] + time.perf_counter()),
    )
    return timer, seconds
