import functools
import http.server
import os
import threading

import numpy as np
import pytest
import yaml

from rnnbench import data
from tests.conftest import REPO, REUTERS_SHA256, synthetic_reuters


def keras_reference(raw, monkeypatch, num_words, maxlen, padding="post", seed=113):
    """What the notebook did: keras's own load_data, then pad_sequences.

    Only Keras's file lookup is redirected to ``raw``; its preprocessing runs as is.
    """
    import keras
    from keras.src.datasets import reuters

    monkeypatch.setattr(reuters, "get_file", lambda *args, **kwargs: str(raw))
    (x_train, y_train), (x_test, y_test) = keras.datasets.reuters.load_data(
        num_words=num_words, maxlen=maxlen, seed=seed
    )
    pad = functools.partial(keras.utils.pad_sequences, maxlen=maxlen, padding=padding)
    return pad(x_train), y_train, pad(x_test), y_test


def assert_same_as_keras(raw, sha256, monkeypatch, num_words, maxlen, padding="post", seed=113):
    ours = data.prepare_reuters(raw, sha256, num_words, maxlen, padding, seed)
    x_train, y_train, x_test, y_test = keras_reference(raw, monkeypatch, num_words, maxlen, padding, seed)
    np.testing.assert_array_equal(ours["x_train"], x_train)
    np.testing.assert_array_equal(ours["y_train"], y_train)
    np.testing.assert_array_equal(ours["x_test"], x_test)
    np.testing.assert_array_equal(ours["y_test"], y_test)
    return ours


def test_real_reuters_matches_keras_element_for_element(real_reuters, monkeypatch):
    ours = assert_same_as_keras(real_reuters, REUTERS_SHA256, monkeypatch, 10000, 100)
    assert ours["x_train"].shape == (4777, 100)
    assert ours["x_test"].shape == (1195, 100)
    assert int(ours["num_classes"]) == 46


def test_another_split_matches_keras_element_for_element(real_reuters, monkeypatch):
    """A split other than the notebook's is Keras's loader with that seed, element for element,
    and holds other documents in its test split."""
    ours = assert_same_as_keras(real_reuters, REUTERS_SHA256, monkeypatch, 10000, 100, seed=7)
    notebook = data.prepare_reuters(real_reuters, REUTERS_SHA256, 10000, 100, "post")
    assert ours["x_test"].shape == notebook["x_test"].shape == (1195, 100)
    assert not np.array_equal(ours["x_test"], notebook["x_test"])


@pytest.mark.parametrize("padding", ["post", "pre"])
def test_synthetic_matches_keras(tmp_path, monkeypatch, padding):
    raw = tmp_path / "reuters.npz"
    sha256 = synthetic_reuters(raw, vocabulary=50)
    ours = assert_same_as_keras(raw, sha256, monkeypatch, num_words=30, maxlen=20, padding=padding)
    assert (ours["x_train"] == data.OOV_CHAR).any(), "num_words must have cut some words"


def padded_arrays(**changes):
    arrays = {"x_train": np.ones((2, 3), dtype="int32"), "y_train": np.array([0, 3]),
              "x_test": np.zeros((1, 3), dtype="int32"), "y_test": np.array([1]),
              "num_classes": np.int64(4), "num_words": np.int64(5)}
    return {**arrays, **changes}


def test_padded_file_round_trips_without_pickle(tmp_path):
    arrays = padded_arrays()
    data.save_padded(arrays, tmp_path / "p.npz")
    loaded = data.load_padded(tmp_path / "p.npz")
    np.testing.assert_array_equal(loaded["x_train"], arrays["x_train"])
    assert list(tmp_path.iterdir()) == [tmp_path / "p.npz"]


BAD_PADDED = [
    ("truncated", None, "not a readable npz archive"),
    ("no test labels", {"y_test": None}, "lacks the array(s) y_test"),
    ("labels of another length", {"y_train": np.array([0])}, "x_train is (2, 3) and y_train (1,)"),
    ("a label beyond the classes", {"y_test": np.array([4])}, "y_test holds labels outside 0..3"),
    ("a token beyond the vocabulary", {"x_test": np.full((1, 3), 5, dtype="int32")}, "x_test holds token ids outside 0..4"),
    ("rows of two lengths", {"x_test": np.zeros((1, 4), dtype="int32")}, "x_train rows are 3 long, x_test rows 4"),
]


@pytest.mark.parametrize("case, changes, problem", BAD_PADDED, ids=[case for case, _, _ in BAD_PADDED])
def test_a_bad_padded_file_is_named_with_what_is_wrong_and_how_to_rebuild_it(tmp_path, case, changes, problem):
    from rnnbench.io import BadFile

    path = tmp_path / "p.npz"
    arrays = {key: value for key, value in padded_arrays(**(changes or {})).items() if value is not None}
    data.save_padded(arrays, path)
    if changes is None:
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(BadFile) as error:
        data.load_padded(path)
    message = str(error.value)
    assert message.startswith(f"{path}: ") and problem in message, message
    assert f"snakemake --cores 1 --force {path}" in message and "\n" not in message


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    (tmp_path / "keras" / "datasets").mkdir(parents=True)
    return tmp_path / "keras" / "datasets"


@pytest.fixture
def server(tmp_path):
    """A real HTTP server on loopback serving tmp_path/served."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_fetch_prefers_a_verified_cache(cache, tmp_path):
    sha256 = synthetic_reuters(cache / "reuters.npz")
    out = tmp_path / "out" / "reuters.npz"
    origin = data.fetch("reuters.npz", "http://127.0.0.1:9/never", sha256, out)
    assert origin == str(cache / "reuters.npz")
    assert data.sha256sum(out) == sha256


def test_fetch_downloads_when_the_cache_is_empty(cache, server, tmp_path):
    root, url = server
    sha256 = synthetic_reuters(root / "reuters.npz")
    out = tmp_path / "out" / "reuters.npz"
    assert data.fetch("reuters.npz", f"{url}/reuters.npz", sha256, out) == f"{url}/reuters.npz"
    assert data.sha256sum(out) == sha256


def test_wrong_hash_download_fails_and_leaves_no_file(cache, server, tmp_path):
    root, url = server
    synthetic_reuters(cache / "reuters.npz", seed=1)  # a cached file, but not the expected one
    actual = synthetic_reuters(root / "reuters.npz", seed=2)
    expected = "0" * 64
    out_dir = tmp_path / "out"
    with pytest.raises(data.DataError) as error:
        data.fetch("reuters.npz", f"{url}/reuters.npz", expected, out_dir / "reuters.npz")
    message = str(error.value)
    for needle in (f"{url}/reuters.npz", str(cache / "reuters.npz"), expected, actual):
        assert needle in message
    assert list(out_dir.iterdir()) == []


def test_offline_without_cache_says_how_to_place_the_file(cache, tmp_path):
    with pytest.raises(data.DataError, match="To work offline, place the file") as error:
        data.fetch("reuters.npz", "http://127.0.0.1:9/reuters.npz", REUTERS_SHA256, tmp_path / "o" / "reuters.npz")
    assert "http://127.0.0.1:9/reuters.npz" in str(error.value)
    assert f"no cached file at {cache / 'reuters.npz'}" in str(error.value)


def test_fetch_takes_the_member_out_of_a_zip_url(tmp_path, monkeypatch):
    import zipfile

    from tests.conftest import synthetic_sms

    member = tmp_path / "SMSSpamCollection"
    sha256 = synthetic_sms(member)
    archive = tmp_path / "sms.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(member, "SMSSpamCollection")
        zipped.writestr("readme", "cite the authors")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty-cache"))
    out = tmp_path / "out" / "SMSSpamCollection"
    origin = data.fetch("SMSSpamCollection", archive.as_uri(), sha256, out, member="SMSSpamCollection")
    assert origin.endswith("(member SMSSpamCollection)") and data.sha256sum(out) == sha256
    with pytest.raises(data.DataError, match="not a zip archive holding 'nope'"):
        data.fetch("SMSSpamCollection", archive.as_uri(), sha256, tmp_path / "x", member="nope")


def test_a_maxlen_that_keeps_no_document_is_refused_by_name(tmp_path):
    """Keras drops documents not shorter than maxlen: maxlen 2 keeps none, and pad says so instead of
    writing an empty dataset."""
    from tests.conftest import synthetic_reuters

    sha256 = synthetic_reuters(tmp_path / "reuters.npz")
    with pytest.raises(data.DataError, match=r"maxlen = 2 keeps 0 training and 0 test documents .*raise maxlen"):
        data.prepare_reuters(tmp_path / "reuters.npz", sha256, num_words=40, maxlen=2, padding="post")


def test_reuters_topic_names_are_keras_own_read_without_importing_it():
    import subprocess
    import sys

    import keras

    script = "import sys; from rnnbench.data import reuters_topic_names as n; print(len(n()), 'keras' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["46", "False"]
    assert data.reuters_topic_names() == list(keras.datasets.reuters.get_label_names())
