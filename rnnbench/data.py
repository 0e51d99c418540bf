"""Getting, verifying and preparing the datasets.

Reuters is read exactly as ``keras.datasets.reuters.load_data`` reads it; the
file is verified by sha256 before anything unpickles it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.request
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from rnnbench.io import BadFile, atomic_path, load_npz

# The semantics of keras.datasets.reuters.load_data.
SHUFFLE_SEED = 113  # its default seed: the notebook's split
START_CHAR = 1
OOV_CHAR = 2
INDEX_FROM = 3
TEST_SPLIT = 0.2


# Dataset kind -> the module whose ``prepare(inputs, settings)`` loads it.
LOADERS = {"reuters": "rnnbench.data", "table": "rnnbench.tables"}


def split_seed(entry: Mapping[str, Any]) -> int | None:
    """A dataset's own split seed, or None where its split is fixed (a table's split column or test
    file): Reuters - its ``split_seed``, else Keras's 113; a table - its ``split_seed``, else 0."""
    if entry["loader"] == "reuters":
        return int(entry.get("split_seed", SHUFFLE_SEED))
    if "split_column" in entry or "test_path" in entry:
        return None
    return int(entry.get("split_seed", 0))


class DataError(RuntimeError):
    """A data file is missing, unreachable or not the file we expect."""


def sha256sum(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def keras_cache_dir() -> Path:
    """Where Keras caches datasets: $KERAS_HOME/datasets, default ~/.keras/datasets."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets"


def verify(path: str | Path, expected_sha256: str) -> None:
    actual = sha256sum(path)
    if actual != expected_sha256:
        raise DataError(
            f"{path}: sha256 mismatch: expected {expected_sha256}, got {actual}. "
            "The file is corrupt, truncated or not the expected dataset; it was not loaded."
        )


def fetch(filename: str, url: str, sha256: str, destination: str | Path, member: str | None = None) -> str:
    """Place a verified copy of a dataset file at ``destination``; return where it came from.

    The Keras cache is tried first, then ``url``; when ``member`` is given the URL is a zip
    archive and the file is that member of it (``sha256`` is the member's). The copy is
    written next to the destination and renamed only once its hash is right, so a failure
    never leaves a file behind at ``destination``.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    cached = keras_cache_dir() / filename
    problems = []
    if cached.is_file():
        actual = sha256sum(cached)
        if actual == sha256:
            _atomic_copy(lambda out: _copy_file(cached, out), destination, sha256)
            return str(cached)
        problems.append(f"cached file {cached} has sha256 {actual}, expected {sha256}")
    else:
        problems.append(f"no cached file at {cached}")
    try:
        _atomic_copy(lambda out: _download(url, out, member), destination, sha256)
        return url if member is None else f"{url} (member {member})"
    except (OSError, DataError) as error:  # urllib's URLError is an OSError
        problems.append(f"download from {url} failed: {error}")
    raise DataError(
        f"could not obtain {filename}:\n  - "
        + "\n  - ".join(problems)
        + f"\nTo work offline, place the file with sha256 {sha256} at {cached} "
        "(or set KERAS_HOME to the folder above a datasets/ folder holding it)."
    )


def _copy_file(source: Path, out) -> None:
    with open(source, "rb") as handle:
        shutil.copyfileobj(handle, out)


def _download(url: str, out, member: str | None = None) -> None:
    import tempfile
    import zipfile

    with urllib.request.urlopen(url, timeout=60) as response:
        if member is None:
            shutil.copyfileobj(response, out)
            return
        with tempfile.TemporaryFile() as archive:
            shutil.copyfileobj(response, archive)
            try:
                with zipfile.ZipFile(archive) as zipped, zipped.open(member) as inner:
                    shutil.copyfileobj(inner, out)
            except (zipfile.BadZipFile, KeyError) as error:
                raise DataError(f"{url} is not a zip archive holding {member!r}: {error}") from None


def _atomic_copy(write, destination: Path, sha256: str) -> None:
    with atomic_path(destination) as tmp:
        with open(tmp, "wb") as handle:
            write(handle)
        verify(tmp, sha256)


def load_raw_reuters(path: str | Path, sha256: str) -> tuple[np.ndarray, np.ndarray]:
    """The ragged sequences and labels of a Reuters-format npz, verified before loading."""
    verify(path, sha256)
    with np.load(path, allow_pickle=True) as archive:
        return archive["x"], archive["y"]


def reuters_split(
    xs: np.ndarray, labels: np.ndarray, num_words: int, maxlen: int, seed: int = SHUFFLE_SEED
) -> tuple[tuple[list, np.ndarray], tuple[list, np.ndarray]]:
    """``keras.datasets.reuters.load_data(num_words=..., maxlen=..., seed=...)`` on already loaded arrays.

    Shuffle with ``seed`` (Keras's default 113: the notebook's split), prepend the start char and shift by index_from, drop
    sequences not shorter than maxlen, map words >= num_words to the OOV char,
    then split 80/20.
    """
    indices = np.arange(len(xs))
    np.random.RandomState(seed).shuffle(indices)
    xs, labels = xs[indices], labels[indices]
    sequences = [[START_CHAR] + [w + INDEX_FROM for w in x] for x in xs]
    kept = [i for i, seq in enumerate(sequences) if len(seq) < maxlen]
    sequences = [[w if w < num_words else OOV_CHAR for w in sequences[i]] for i in kept]
    labels = np.asarray(labels)[kept]
    cut = int(len(sequences) * (1 - TEST_SPLIT))
    return (sequences[:cut], labels[:cut]), (sequences[cut:], labels[cut:])


def pad(sequences: Sequence[Sequence[int]], maxlen: int, padding: str, keep: str = "end") -> np.ndarray:
    """``keras.utils.pad_sequences(sequences, maxlen, padding=padding)`` for int sequences.

    Sequences longer than maxlen are cut as Keras cuts them by default, keeping the end
    (``keep="start"``: Keras's ``truncating="post"``).
    """
    out = np.zeros((len(sequences), maxlen), dtype="int32")
    for row, seq in enumerate(sequences):
        seq = list(seq)[-maxlen:] if keep == "end" else list(seq)[:maxlen]
        if not seq:
            continue
        if padding == "post":
            out[row, : len(seq)] = seq
        else:
            out[row, -len(seq) :] = seq
    return out


def prepare_reuters(
    raw_path, sha256: str, num_words: int, maxlen: int, padding: str, split_seed: int = SHUFFLE_SEED
) -> dict:
    """The padded train/test arrays the training jobs consume."""
    xs, labels = load_raw_reuters(raw_path, sha256)
    (x_train, y_train), (x_test, y_test) = reuters_split(xs, labels, num_words, maxlen, split_seed)
    if not len(x_train) or not len(x_test):
        raise DataError(
            f"maxlen = {maxlen} keeps {len(x_train)} training and {len(x_test)} test documents of {raw_path} "
            "(documents not shorter than maxlen are dropped, as Keras drops them): raise maxlen"
        )
    return {
        "x_train": pad(x_train, maxlen, padding),
        "y_train": np.asarray(y_train, dtype="int64"),
        "x_test": pad(x_test, maxlen, padding),
        "y_test": np.asarray(y_test, dtype="int64"),
        "num_classes": np.int64(int(np.max(labels)) + 1),
        "num_words": np.int64(num_words),
    }


def prepare_dataset(loader: str, inputs: Mapping[str, str], settings: Mapping[str, Any], sha256: str | None) -> tuple[dict, dict]:
    """The padded arrays of any dataset and what readers need besides them (class names, for one):
    the loader is the only dataset-specific step. Each loader kind lives in its own module
    (``LOADERS``), imported by name, so an edit to one kind reruns only its own datasets' jobs."""
    import importlib

    module = importlib.import_module(LOADERS[loader])
    return module.prepare(inputs, dict(settings, sha256=sha256))


def reuters_topic_names() -> list[str]:
    """``keras.datasets.reuters.get_label_names()``, read from Keras's source without importing Keras (which
    would start TensorFlow in every pad job); Keras's own call where its source is laid out otherwise."""
    import ast
    import importlib.util

    source = Path(importlib.util.find_spec("keras").origin).parent / "src" / "datasets" / "reuters.py"
    if source.is_file():
        for node in ast.parse(source.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name == "get_label_names":
                returned = [part.value for part in node.body if isinstance(part, ast.Return)]
                if returned:
                    return [str(name) for name in ast.literal_eval(returned[0])]
    import keras

    return list(keras.datasets.reuters.get_label_names())


def prepare(inputs: Mapping[str, str], settings: Mapping[str, Any]) -> tuple[dict, dict]:
    """The ``reuters`` kind: Keras's loader on the verified file, with Keras's topic names."""
    arrays = prepare_reuters(
        inputs["table"], settings["sha256"], settings["num_words"], settings["maxlen"], settings["padding"],
        settings.get("split_seed", SHUFFLE_SEED),
    )
    names = reuters_topic_names()
    if len(names) != int(arrays["num_classes"]):
        names = [str(label) for label in range(int(arrays["num_classes"]))]
    return arrays, {"class_names": names, "vocabulary": None,
                    "sources": {"table": {"path": str(inputs["table"]), "sha256": settings["sha256"]}}}


def save_meta(meta: Mapping[str, Any], path: str | Path) -> None:
    """Write a dataset's readers' facts (class names, vocabulary, sources) as JSON, atomically."""
    import json

    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n")


def load_meta(path: str | Path) -> dict:
    """``save_meta``'s facts, checked for the class names every reader uses."""
    from rnnbench.io import read_json

    meta = read_json(path, ["class_names"])
    if not isinstance(meta["class_names"], list) or not all(isinstance(n, str) for n in meta["class_names"]):
        raise BadFile(path, "class_names is not a list of names")
    return meta


def save_padded(arrays: dict, path: str | Path) -> None:
    """Write the padded arrays as a plain (pickle-free) npz, atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)


PADDED_ARRAYS = ("x_train", "y_train", "x_test", "y_test", "num_classes", "num_words")


def load_padded(path: str | Path) -> dict:
    """The pad rule's arrays, checked for what every reader relies on: two splits of padded rows of one
    length with a label each, labels and token ids within their counts."""
    arrays = load_npz(path, PADDED_ARRAYS)
    classes, words = int(arrays["num_classes"]), int(arrays["num_words"])
    for part in ("train", "test"):
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if x.ndim != 2 or y.ndim != 1 or len(x) != len(y):
            raise BadFile(path, f"x_{part} is {x.shape} and y_{part} {y.shape}: expected rows x length and one label a row")
        if len(y) and (y.min() < 0 or y.max() >= classes):
            raise BadFile(path, f"y_{part} holds labels outside 0..{classes - 1}")
        if x.size and (x.min() < 0 or x.max() >= words):
            raise BadFile(path, f"x_{part} holds token ids outside 0..{words - 1}")
    if arrays["x_train"].shape[1] != arrays["x_test"].shape[1]:
        raise BadFile(path, f"x_train rows are {arrays['x_train'].shape[1]} long, x_test rows {arrays['x_test'].shape[1]}")
    return arrays
