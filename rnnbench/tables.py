"""The ``table`` dataset kind: labelled text in a CSV, TSV, JSON Lines or Parquet file.

Rows are checked before anything is fitted (every problem names file, row and column), split as the
dataset says (a split column, a test file, or a seeded stratified split), then turned into token ids
by Keras ``TextVectorization`` fitted on the training rows only.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from rnnbench.settings import TABLE_DEFAULTS as DEFAULTS
from rnnbench.data import DataError, pad, sha256sum, verify

FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}

STANDARDIZE = {"lower_and_strip_punctuation": "lower_and_strip_punctuation", "lower": "lower",
               "strip_punctuation": "strip_punctuation", "none": None}


def table_format(path: str | Path, declared: str | None = None) -> str:
    """The file's format: ``declared``, else read from its suffix."""
    if declared:
        return declared
    found = FORMATS.get(Path(path).suffix.lower())
    if found is None:
        raise DataError(
            f"{path}: cannot tell the format from the suffix {Path(path).suffix or '(none)'!r}; "
            f"set format: to one of {', '.join(sorted(set(FORMATS.values())))}"
        )
    return found


def read_table(path: str | Path, fmt: str | None = None, columns: Sequence[str] | None = None,
               encoding: str = "utf-8"):
    """The file's rows as a DataFrame of its own columns; ``columns`` names those of a CSV or TSV
    without a header row. Refuses a missing or undecodable file and duplicate column names."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file (a path is relative to the working directory)")
    fmt = table_format(path, fmt)
    if fmt == "parquet":
        import pyarrow.parquet

        try:
            names = pyarrow.parquet.read_schema(path).names
        except Exception as error:  # pyarrow's errors share no base class
            raise DataError(f"{path}: not a readable Parquet file ({error})") from None
        _no_duplicates(path, names)
        return pd.read_parquet(path)
    text = _decoded(path, encoding)
    if fmt == "jsonl":
        return _json_lines(path, text)
    sep = "," if fmt == "csv" else "\t"
    quoting = csv.QUOTE_MINIMAL if fmt == "csv" else csv.QUOTE_NONE  # a TSV field holds no tab, so no quotes
    header = None if columns else 0
    try:
        if columns is None:
            first = next(csv.reader(io.StringIO(text), delimiter=sep, quoting=quoting), [])
            _no_duplicates(path, first)
        else:
            _no_duplicates(path, columns)
        return pd.read_csv(io.StringIO(text), sep=sep, quoting=quoting, header=header, names=columns, dtype=str,
                           keep_default_na=False, na_filter=False)
    except pd.errors.ParserError as error:
        raise DataError(f"{path}: not a well-formed {fmt.upper()} file: {error}") from None


def _decoded(path: Path, encoding: str) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise DataError(
            f"{path}, line {line}: not {encoding} text (byte 0x{raw[error.start]:02x}); "
            "set encoding: to the file's encoding"
        ) from None


def _json_lines(path: Path, text: str):
    import pandas as pd

    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line, object_pairs_hook=lambda pairs: _unique_pairs(path, number, pairs))
        except json.JSONDecodeError as error:
            raise DataError(f"{path}, line {number}: not JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise DataError(f"{path}, line {number}: a JSON object per line expected, got {type(record).__name__}")
        records.append(record)
    return pd.DataFrame.from_records(records)


def _unique_pairs(path: Path, number: int, pairs) -> dict:
    _no_duplicates(f"{path}, line {number}", [key for key, _ in pairs])
    return dict(pairs)


def _no_duplicates(where, names: Sequence[str]) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise DataError(f"{where}: column {name!r} appears twice in the header; give each column its own name")
        seen.add(name)


def _require_columns(path, frame, names: Sequence[str]) -> None:
    for name in names:
        if name not in frame.columns:
            raise DataError(f"{path}: no column {name!r} (columns: {', '.join(map(str, frame.columns))})")


def texts_of(path, frame, columns: Sequence[str]) -> list[str]:
    """Each row's text: its ``columns`` joined by a space; an empty or missing text is refused."""
    _require_columns(path, frame, columns)
    texts = []
    for row, values in enumerate(frame[list(columns)].itertuples(index=False), start=1):
        parts = []
        for column, value in zip(columns, values):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                raise DataError(f"{path}, row {row}, column {column!r}: no text")
            if not isinstance(value, str):
                raise DataError(f"{path}, row {row}, column {column!r}: text expected, got {value!r}")
            parts.append(value)
        text = " ".join(parts)
        if not text.strip():
            where = f"column {columns[0]!r}" if len(columns) == 1 else f"columns {', '.join(map(repr, columns))}"
            raise DataError(f"{path}, row {row}, {where}: empty text")
        texts.append(text)
    return texts


def labels_of(path, frame, column: str) -> list[str]:
    """Each row's label as a class name: strings as they are, integers written out; a missing label or
    a column of fractional numbers (a regression target, not classes) is refused."""
    _require_columns(path, frame, [column])
    labels = []
    for row, value in enumerate(frame[column].tolist(), start=1):
        if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
            raise DataError(f"{path}, row {row}, column {column!r}: no label")
        if isinstance(value, bool):
            value = str(value).lower()
        elif isinstance(value, (int, np.integer)):
            value = str(int(value))
        elif isinstance(value, (float, np.floating)):
            if not float(value).is_integer():
                raise _fraction(path, row, value, column=column)
            value = str(int(value))
        elif not isinstance(value, str):
            raise DataError(f"{path}, row {row}, column {column!r}: label {value!r} is neither a name nor an integer")
        labels.append(value)
    fractions = [(row, label) for row, label in enumerate(labels, start=1) if _is_fraction(label)]
    if fractions and all(_is_number(label) for label in labels):
        raise _fraction(path, *fractions[0], column=column)
    return labels


def _fraction(path, row: int, label, column: str) -> DataError:
    """A label column of fractional numbers, native or written as text: a regression target, not classes."""
    return DataError(f"{path}, row {row}, column {column!r}: label {label!r} is a fraction; labels are class "
                     "names or integers (is this a regression target?)")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_fraction(text: str) -> bool:
    return _is_number(text) and not float(text).is_integer()


def class_names(labels: Sequence[str], positive_class: str | None = None) -> list[str]:
    """The classes in id order: integers by value, names alphabetically; a binary dataset's positive
    class last (id 1)."""
    names = sorted(set(labels), key=lambda name: (0, int(name), "") if name.lstrip("-").isdigit() else (1, 0, name))
    if positive_class is not None:
        if positive_class not in names:
            raise DataError(f"positive_class {positive_class!r} is not a label; labels: {', '.join(names)}")
        if len(names) != 2:
            raise DataError(f"positive_class is for two classes; the labels hold {len(names)}: {', '.join(names)}")
        names = [name for name in names if name != positive_class] + [positive_class]
    return names


def stratified_split(labels: Sequence[int], test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and test row indices: each class split ``test_fraction`` to test, by a seeded shuffle."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        cut = int(round(len(rows) * test_fraction))
        test.extend(rows[:cut])
        train.extend(rows[cut:])
    return rng.permutation(np.array(train)), rng.permutation(np.array(test))


def check_stratifiable(path, labels: Sequence[str], test_fraction: float) -> None:
    """Every class must put at least one row in each part of the split."""
    for name, count in sorted(Counter(labels).items()):
        cut = int(round(count * test_fraction))
        if cut < 1 or count - cut < 1:
            least = next(n for n in range(2, 10**9) if 1 <= int(round(n * test_fraction)) < n)
            raise DataError(
                f"{path}: class {name!r} has {count} row{'s' * (count != 1)}, too few to stratify: at "
                f"test_fraction {test_fraction} a class needs at least {least} rows to have one in each split"
            )


def given_split(path, frame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Train and test row indices from a column saying ``train`` or ``test``."""
    _require_columns(path, frame, [column])
    train, test = [], []
    for row, value in enumerate(frame[column].tolist()):
        part = str(value).strip().lower()
        if part not in ("train", "test"):
            raise DataError(f"{path}, row {row + 1}, column {column!r}: {value!r}, expected train or test")
        (train if part == "train" else test).append(row)
    return np.array(train, dtype=int), np.array(test, dtype=int)


def _check_parts(path, labels: np.ndarray, names: Sequence[str], train: np.ndarray, test: np.ndarray) -> None:
    if not len(train) or not len(test):
        raise DataError(f"{path}: the split leaves {len(train)} training and {len(test)} test rows")
    missing = sorted(set(labels[test]) - set(labels[train]))
    if missing:
        raise DataError(
            f"{path}: class {names[missing[0]]!r} is in the test rows but not in the training rows; "
            "a model cannot learn a class it never sees"
        )


def vectorizer(settings: Mapping[str, Any], vocabulary: Sequence[str] | None = None):
    """Keras ``TextVectorization`` with the dataset's standardisation, token split and vocabulary cap;
    with ``vocabulary`` (a saved one, padding and unknown tokens first) it encodes as the model saw."""
    import keras

    layer = keras.layers.TextVectorization(
        max_tokens=settings["num_words"], standardize=STANDARDIZE[settings["standardize"]],
        split=settings["token_split"], output_mode="int",
    )
    if vocabulary is not None:
        layer.set_vocabulary(list(vocabulary)[2:])  # Keras adds the padding token and [UNK] itself
    return layer


def encode(texts: Sequence[str], meta: Mapping[str, Any]) -> np.ndarray:
    """New texts as the padded token ids a model of this dataset reads (``meta``: the dataset's saved
    ``data/padded/<dataset>.json``)."""
    settings = meta["vectorization"]
    layer = vectorizer(settings, meta["vocabulary"])
    tokens = [[int(t) for t in row if t] for row in layer(list(texts)).numpy()]
    return pad(tokens, settings["maxlen"], settings["padding"], keep="start" if settings["truncating"] == "post" else "end")


def prepare(inputs: Mapping[str, str], settings: Mapping[str, Any]) -> tuple[dict, dict]:
    """The padded arrays of a table dataset and what a reader needs besides them: class names,
    vocabulary, vectorisation settings and the source files' sha256."""
    settings = {**DEFAULTS, **settings}
    path = inputs["table"]
    columns = settings.get("columns")
    frame = read_table(path, settings.get("format"), columns, settings["encoding"])
    sources = {"table": _source(path, settings.get("sha256"))}
    text_columns = [settings["text"]] if isinstance(settings["text"], str) else list(settings["text"])
    if "test" in inputs:
        test_frame = read_table(inputs["test"], settings.get("format"), columns, settings["encoding"])
        sources["test"] = _source(inputs["test"], None)
        texts = texts_of(path, frame, text_columns) + texts_of(inputs["test"], test_frame, text_columns)
        labels = labels_of(path, frame, settings["label"]) + labels_of(inputs["test"], test_frame, settings["label"])
        train, test = np.arange(len(frame)), np.arange(len(frame), len(frame) + len(test_frame))
    else:
        texts = texts_of(path, frame, text_columns)
        labels = labels_of(path, frame, settings["label"])
        train = test = None
    names = class_names(labels, settings.get("positive_class"))
    if len(names) < 2:
        raise DataError(f"{path}, column {settings['label']!r}: one class only ({names[0]!r}); a classifier needs two or more")
    ids = {name: index for index, name in enumerate(names)}
    y = np.array([ids[label] for label in labels], dtype="int64")
    if "split_column" in settings:
        train, test = given_split(path, frame, settings["split_column"])
    elif train is None:
        check_stratifiable(path, labels, settings["test_fraction"])
        train, test = stratified_split(y, settings["test_fraction"], settings["split_seed"])
    _check_parts(path, y, names, train, test)
    texts = np.array(texts, dtype=object)
    layer = vectorizer(settings)
    layer.adapt(list(texts[train]))

    def tokens(rows):
        return [[int(t) for t in seq if t] for seq in layer(list(texts[rows])).numpy()]

    train_tokens, test_tokens = tokens(train), tokens(test)
    maxlen = settings.get("maxlen") or max(
        2, int(np.ceil(np.quantile([len(t) for t in train_tokens], settings["maxlen_quantile"]))))
    keep = "start" if settings["truncating"] == "post" else "end"
    vocabulary = [str(token) for token in layer.get_vocabulary()]
    arrays = {
        "x_train": pad(train_tokens, maxlen, settings["padding"], keep=keep),
        "y_train": y[train],
        "x_test": pad(test_tokens, maxlen, settings["padding"], keep=keep),
        "y_test": y[test],
        "num_classes": np.int64(len(names)),
        "num_words": np.int64(len(vocabulary)),  # the cap, or fewer if the texts hold fewer
    }
    vectorization = {key: settings[key] for key in ("num_words", "standardize", "token_split", "padding", "truncating")}
    meta = {"class_names": names, "vocabulary": vocabulary, "sources": sources,
            "vectorization": dict(vectorization, maxlen=int(maxlen))}
    return arrays, meta


def _source(path, sha256: str | None) -> dict:
    if sha256:
        verify(path, sha256)
    return {"path": str(path), "sha256": sha256 or sha256sum(path)}
