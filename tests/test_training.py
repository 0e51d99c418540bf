import numpy as np
import pandas as pd
import pytest

from rnnbench.data import prepare_reuters
from rnnbench.evaluation import score
from rnnbench.training import HISTORY_COLUMNS, predict, train
from tests.conftest import TINY_VARIANTS, synthetic_reuters


def tiny_data(tmp_path):
    raw = tmp_path / "reuters.npz"
    return prepare_reuters(raw, synthetic_reuters(raw), num_words=40, maxlen=25, padding="post")


def run(data, seed, variant="lstm"):
    spec = {"variant": TINY_VARIANTS[variant], "embedding_dim": 8, "epochs": 2, "batch_size": 16,
            "validation_split": 0.25}
    model, history, metadata = train(data, spec, seed=seed, threads=1, verbose=0)
    metrics = score(predict(model, data["x_test"]), data["y_test"], int(data["num_classes"]))
    return model, history, metadata, metrics


@pytest.mark.slow  # trains
def test_history_and_metadata(tmp_path):
    data = tiny_data(tmp_path)
    _, history, metadata, _ = run(data, seed=0)
    assert list(history.columns) == HISTORY_COLUMNS
    assert history["epoch"].tolist() == [1, 2]
    assert (history["seconds"] > 0).all()
    assert metadata["parameters"] == 40 * 8 + 4 * (8 * 4 + 4 * 4 + 4) + 4 * 4 + 4
    assert metadata["threads"] == 1 and metadata["device"].startswith("CPU")
    for key in ("wall_seconds", "tensorflow", "keras", "host", "peak_rss_mb"):
        assert metadata[key]


@pytest.mark.slow  # trains
def test_same_seed_gives_identical_history_and_metrics(tmp_path):
    data = tiny_data(tmp_path)
    first, second, other = run(data, 0), run(data, 0), run(data, 1)
    deterministic = HISTORY_COLUMNS[:-1]  # all but the wall-clock seconds
    pd.testing.assert_frame_equal(first[1][deterministic], second[1][deterministic], check_exact=True)
    assert first[3] == second[3]
    for a, b in zip(first[0].get_weights(), second[0].get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not first[1][deterministic].equals(other[1][deterministic]), "another seed must change the run"


def test_batches_are_the_rows_in_order_then_weightless_fill_without_autotuning():
    """The pipeline's input: every row once at weight 1, in the given order, in batches of
    batch_size; the short last batch filled up with copies of the first rows at weight 0 (one
    batch shape, so one compiled step); no tf.data autotuning."""
    from rnnbench.engines import batches

    x = np.arange(23 * 3, dtype=np.int32).reshape(23, 3)
    y = np.arange(23, dtype=np.int32) % 4
    dataset = batches(x[::-1], y[::-1], 5)
    got = [tuple(part.numpy() for part in batch) for batch in dataset]
    assert [len(by) for _, by, _ in got] == [5, 5, 5, 5, 5]
    bx, by, bw = (np.concatenate(parts) for parts in zip(*got))
    np.testing.assert_array_equal(bx, np.concatenate([x[::-1], x[::-1][:2]]))
    np.testing.assert_array_equal(by, np.concatenate([y[::-1], y[::-1][:2]]))
    np.testing.assert_array_equal(bw, [1.0] * 23 + [0.0] * 2)
    options = dataset.options()
    assert options.autotune.enabled is False
    assert options.experimental_optimization.apply_default_optimizations is False
    # Fewer rows than the batch: copies cycle through them; an exact multiple gets no fill.
    np.testing.assert_array_equal(next(iter(batches(x[:2], y[:2], 5)))[0].numpy(), x[[0, 1, 0, 1, 0]])
    assert [len(b) for _, b, _ in batches(x[:20], y[:20], 5)] == [5] * 4
    # Without the fill (a benchmark's arm), the last batch is short.
    assert [len(b) for _, b, _ in batches(x, y, 5, fill=False)] == [5] * 4 + [3]


@pytest.mark.slow  # trains
def test_weightless_fill_changes_neither_the_step_nor_the_logs():
    """One epoch over 23 rows in batches of 5: filled (as the pipeline does) or with a short last
    batch (plain Keras, unweighted). The weights after it, the epoch's loss and accuracy and the
    validation loss and accuracy are the same to rounding, so the fill only saves a compilation.
    Keras's own ``loss`` log would not be (it weights the filled batch by 5 rows, not 3): the
    history takes the weighted crossentropy."""
    import keras
    import tensorflow as tf

    from rnnbench import engines
    from rnnbench.models import build_model
    from rnnbench.engines import batches
    from rnnbench.runtime import configure_tensorflow
    from rnnbench.training import compile_classifier, epoch_logs

    configure_tensorflow(1, 0)
    rng = np.random.default_rng(3)
    x = rng.integers(1, 30, size=(23, 7)).astype(np.int32)
    y = rng.integers(0, 4, size=23).astype(np.int32)
    x_val = rng.integers(1, 30, size=(9, 7)).astype(np.int32)
    y_val = rng.integers(0, 4, size=9).astype(np.int32)
    spec = {"cell": "lstm", "layers": 1, "units": 6}

    def model_after_one_epoch(filled: bool):
        keras.utils.set_random_seed(0)
        model = build_model(spec, num_words=30, maxlen=7, embedding_dim=8, num_classes=4)
        if filled:
            compile_classifier(model, "fused", 0.01)
            fit = model.fit(batches(x, y, 5), validation_data=batches(x_val, y_val, 4), epochs=1, verbose=0, shuffle=False)
            return model, epoch_logs(fit)
        engines.compile_model(model, "fused", 0.01, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        plain = tf.data.Dataset.from_tensor_slices((x, y)).batch(5)
        fit = model.fit(plain, validation_data=(x_val, y_val), validation_batch_size=4, epochs=1, verbose=0, shuffle=False)
        return model, {key: float(values[-1]) for key, values in fit.history.items()}

    filled, filled_logs = model_after_one_epoch(True)
    short, short_logs = model_after_one_epoch(False)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert filled_logs[key] == pytest.approx(short_logs[key], rel=1e-5), key
    for a, b in zip(filled.get_weights(), short.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_xla_cache_directory_is_per_tensorflow_version_and_cpu(tmp_path):
    import platform

    import tensorflow as tf

    from rnnbench.runtime import xla_cache_directory

    folder = xla_cache_directory(tmp_path)
    assert folder.parent == tmp_path / "xla"
    assert tf.__version__ in folder.name and platform.machine() in folder.name
    assert xla_cache_directory(tmp_path) == folder


TRAIN_WITH_CACHE = """
import json, sys
import rnnbench.runtime
from rnnbench.data import prepare_reuters
from rnnbench.training import train
if sys.argv[2:] == ["no-prune"]:
    rnnbench.runtime.prune_xla_cache = lambda directory: []
from tests.conftest import TINY_VARIANTS, synthetic_reuters
raw = sys.argv[1] + "/reuters.npz"
data = prepare_reuters(raw, synthetic_reuters(raw), num_words=40, maxlen=25, padding="post")
spec = {"variant": TINY_VARIANTS["lstm"], "embedding_dim": 8, "epochs": 2, "batch_size": 16, "validation_split": 0.25}
_, history, _ = train(data, spec, seed=0, threads=1, verbose=0, xla_cache=sys.argv[1] + "/xla")
print(json.dumps(history.drop(columns="seconds").to_dict("list")))
"""


@pytest.mark.slow  # trains
def test_a_job_that_loads_compiled_programs_from_the_xla_cache_trains_the_same(tmp_path):
    """Two processes (a job each): the first compiles and saves its XLA programs, the second loads
    them; the histories are identical."""
    import json
    import subprocess
    import sys

    from tests.conftest import REPO

    def job(*options):
        result = subprocess.run([sys.executable, "-c", TRAIN_WITH_CACHE, str(tmp_path), *options], cwd=REPO,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        return json.loads(result.stdout.strip().splitlines()[-1])

    first = job()
    saved = sorted((tmp_path / "xla").glob("xla_compile_cache__*.pb"))
    assert saved, "the first job saves its compiled programs"
    mtimes = [path.stat().st_mtime_ns for path in saved]
    assert job() == first
    assert sorted((tmp_path / "xla").glob("xla_compile_cache__*.pb")) == saved
    assert [path.stat().st_mtime_ns for path in saved] == mtimes, "the second job loads, it does not compile again"

    whole = {path: path.read_bytes() for path in saved}
    for path, content in whole.items():  # damaged after the fact: cut short
        path.write_bytes(content[: len(content) // 2])
    with pytest.raises(AssertionError, match="ran no training step"):
        job("no-prune")  # TensorFlow fails the step without raising; the epoch loop says so
    for path, content in whole.items():
        path.write_bytes(content[: len(content) // 2])
    assert job() == first, "a damaged entry is dropped and compiled again, not trained from"


def test_prune_xla_cache_drops_damaged_entries_only(tmp_path, capsys):
    from google.protobuf import descriptor_pb2

    from rnnbench.runtime import prune_xla_cache

    whole = descriptor_pb2.FileDescriptorProto(name="x" * 300, package="y").SerializeToString()
    (tmp_path / "whole.pb").write_bytes(whole)
    (tmp_path / "cut.pb").write_bytes(whole[:40])
    (tmp_path / "empty.pb").write_bytes(b"")
    (tmp_path / "notes.txt").write_bytes(b"\xff\xff")
    removed = prune_xla_cache(tmp_path)
    assert sorted(path.name for path in removed) == ["cut.pb", "empty.pb"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt", "whole.pb"]
    assert "removed a damaged XLA cache entry" in capsys.readouterr().out
    assert prune_xla_cache(tmp_path / "absent") == []


ALLOCATOR_RUN = """
import sys
import numpy as np
from rnnbench.data import prepare_reuters
from rnnbench.training import HISTORY_COLUMNS, predict, train
from tests.conftest import TINY_VARIANTS

raw, bfc, out = sys.argv[1], sys.argv[2] == "bfc", sys.argv[3]
data = prepare_reuters(raw, sys.argv[4], num_words=40, maxlen=25, padding="post")
variant = dict(TINY_VARIANTS["lstm"], dropout=0.2, recurrent_dropout=0.1)
spec = {"variant": variant, "embedding_dim": 8, "epochs": 2, "batch_size": 16, "validation_split": 0.25}
model, history, _ = train(data, spec, seed=0, threads=1, verbose=0, bfc_allocator=bfc)
np.savez(out, history=history[HISTORY_COLUMNS[:-1]].to_numpy(), predictions=predict(model, data["x_test"]))
"""


@pytest.mark.slow  # trains, in two processes: the allocator is chosen once per process
def test_the_cpu_allocator_changes_no_byte_of_a_run(tmp_path):
    """TensorFlow's best-fit allocator and malloc hand out the same arithmetic: history and test probabilities
    are equal bit for bit."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    raw = tmp_path / "reuters.npz"
    sha256 = synthetic_reuters(raw)
    outputs = {}
    for allocator in ("bfc", "malloc"):
        outputs[allocator] = tmp_path / f"{allocator}.npz"
        subprocess.run([sys.executable, "-c", ALLOCATOR_RUN, str(raw), allocator, str(outputs[allocator]), sha256],
                       check=True, cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True)
    with np.load(outputs["bfc"]) as bfc, np.load(outputs["malloc"]) as malloc:
        for name in ("history", "predictions"):
            np.testing.assert_array_equal(bfc[name], malloc[name])
