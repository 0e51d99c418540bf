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


def test_same_seed_gives_identical_history_and_metrics(tmp_path):
    data = tiny_data(tmp_path)
    first, second, other = run(data, 0), run(data, 0), run(data, 1)
    deterministic = HISTORY_COLUMNS[:-1]  # all but the wall-clock seconds
    pd.testing.assert_frame_equal(first[1][deterministic], second[1][deterministic], check_exact=True)
    assert first[3] == second[3]
    for a, b in zip(first[0].get_weights(), second[0].get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not first[1][deterministic].equals(other[1][deterministic]), "another seed must change the run"


def test_batches_are_the_rows_in_order_without_autotuning():
    """The pipeline's input: every row once, in the given order, in batches of batch_size with a
    short last one (as model.fit on arrays with shuffle=False), and no tf.data autotuning."""
    from rnnbench.training import batches

    x = np.arange(23 * 3, dtype=np.int32).reshape(23, 3)
    y = np.arange(23, dtype=np.int32) % 4
    dataset = batches(x[::-1], y[::-1], 5)
    got = [(bx.numpy(), by.numpy()) for bx, by in dataset]
    assert [len(by) for _, by in got] == [5, 5, 5, 5, 3]
    np.testing.assert_array_equal(np.concatenate([bx for bx, _ in got]), x[::-1])
    np.testing.assert_array_equal(np.concatenate([by for _, by in got]), y[::-1])
    options = dataset.options()
    assert options.autotune.enabled is False
    assert options.experimental_optimization.apply_default_optimizations is False


def test_xla_cache_directory_is_per_tensorflow_version_and_cpu(tmp_path):
    import platform

    import tensorflow as tf

    from rnnbench.training import xla_cache_directory

    folder = xla_cache_directory(tmp_path)
    assert folder.parent == tmp_path / "xla"
    assert tf.__version__ in folder.name and platform.machine() in folder.name
    assert xla_cache_directory(tmp_path) == folder


TRAIN_WITH_CACHE = """
import json, sys
import rnnbench.training
from rnnbench.data import prepare_reuters
from rnnbench.training import train
if sys.argv[2:] == ["no-prune"]:
    rnnbench.training.prune_xla_cache = lambda directory: []
from tests.conftest import TINY_VARIANTS, synthetic_reuters
raw = sys.argv[1] + "/reuters.npz"
data = prepare_reuters(raw, synthetic_reuters(raw), num_words=40, maxlen=25, padding="post")
spec = {"variant": TINY_VARIANTS["lstm"], "embedding_dim": 8, "epochs": 2, "batch_size": 16, "validation_split": 0.25}
_, history, _ = train(data, spec, seed=0, threads=1, verbose=0, xla_cache=sys.argv[1] + "/xla")
print(json.dumps(history.drop(columns="seconds").to_dict("list")))
"""


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

    from rnnbench.training import prune_xla_cache

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
