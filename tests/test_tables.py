"""The table dataset kind: four file formats, the splits, the vocabulary, and every bad-data message."""

import json
import os

import numpy as np
import pandas as pd
import pytest
import yaml

from rnnbench import data, tables
from rnnbench.config import TABLE_DEFAULTS, pad_slice
from tests.conftest import REPO, shared_data_dir, topics


def settings(**entry) -> dict:
    """The pad rule's settings of a table entry, as the workflow hands them on."""
    config = {"datasets": {"t": {"loader": "table", "path": "x", "num_words": 100, "embedding_dim": 4, **entry}}}
    return json.loads(pad_slice(config, "t", data.split_seed(config["datasets"]["t"]) or 0))


def prepare(path, test_path=None, **entry):
    files = {"table": str(path), **({"test": str(test_path)} if test_path else {})}
    entry = {"text": "body", "label": "topic", "maxlen": 12, **entry}
    return data.prepare_dataset("table", files, settings(**entry), entry.get("sha256"))


def write(frame: pd.DataFrame, path, fmt: str):
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "parquet"])
def test_each_format_gives_the_same_padded_data(tmp_path, fmt):
    frame = topics()
    reference, _ = prepare(write(frame, tmp_path / "ref.csv", "csv"))
    arrays, meta = prepare(write(frame, tmp_path / f"t.{fmt}", fmt))
    for key in data.PADDED_ARRAYS:
        np.testing.assert_array_equal(arrays[key], reference[key])
    assert meta["class_names"] == ["topic00", "topic01", "topic02", "topic03"]
    assert meta["sources"]["table"]["sha256"] == data.sha256sum(tmp_path / f"t.{fmt}")
    assert (len(arrays["y_train"]), len(arrays["y_test"])) == (160, 40)
    assert np.bincount(arrays["y_test"]).tolist() == [10, 10, 10, 10], "stratified"


def test_several_text_columns_are_joined_and_the_vocabulary_is_fitted_on_training_rows_only(tmp_path):
    frame = topics()
    train, test = tables.stratified_split(frame["topic"].map(lambda t: int(t[-2:])).to_numpy(), 0.2, 0)
    frame.loc[test, "body"] = frame.loc[test, "body"] + " zzztestonly"
    arrays, meta = prepare(write(frame, tmp_path / "t.csv", "csv"), text=["subject", "body"], maxlen=20)
    assert "note" in meta["vocabulary"], "the subject column is read"
    assert "zzztestonly" not in meta["vocabulary"]
    assert (arrays["x_test"] == 1).any(axis=1).all(), "every test text holds the unknown word"


def test_saved_vocabulary_encodes_new_text_as_the_model_saw_it(tmp_path):
    frame = topics()
    arrays, meta = prepare(write(frame, tmp_path / "t.csv", "csv"))
    meta = json.loads(json.dumps(meta))  # as data/padded/<dataset>.json holds it
    _, test = tables.stratified_split(frame["topic"].map(lambda t: int(t[-2:])).to_numpy(), 0.2, 0)
    np.testing.assert_array_equal(tables.encode(frame["body"].iloc[test].tolist(), meta), arrays["x_test"])


def test_given_split_column_and_test_file(tmp_path):
    frame = topics()
    frame["part"] = np.where(np.arange(len(frame)) < 150, "train", "test")
    arrays, _ = prepare(write(frame, tmp_path / "t.csv", "csv"), split_column="part")
    assert (len(arrays["y_train"]), len(arrays["y_test"])) == (150, 50)
    write(frame[:150].drop(columns="part"), tmp_path / "train.csv", "csv")
    write(frame[150:].drop(columns="part"), tmp_path / "test.jsonl", "jsonl")
    again, meta = prepare(tmp_path / "train.csv", tmp_path / "test.jsonl", format=None)
    np.testing.assert_array_equal(again["x_test"], arrays["x_test"])
    assert set(meta["sources"]) == {"table", "test"}


def test_integer_labels_are_classes_in_numeric_order_and_positive_class_comes_last(tmp_path):
    frame = topics(classes=3)
    frame["topic"] = frame["topic"].map({"topic00": 10, "topic01": 2, "topic02": 33})
    _, meta = prepare(write(frame, tmp_path / "t.parquet", "parquet"))
    assert meta["class_names"] == ["2", "10", "33"]
    binary = topics(classes=2).replace({"topic00": "spam", "topic01": "ham"})
    arrays, meta = prepare(write(binary, tmp_path / "b.csv", "csv"), positive_class="ham")
    assert meta["class_names"] == ["spam", "ham"]


def test_a_given_sha256_is_checked(tmp_path):
    path = write(topics(), tmp_path / "t.csv", "csv")
    with pytest.raises(data.DataError, match="sha256 mismatch"):
        prepare(path, sha256="0" * 64)


def test_sms_as_a_table_entry_reads_the_real_collection_as_before():
    """The shipped entry: 5,574 messages, a stratified 80/20 split, the 95th percentile length."""
    path = shared_data_dir() / "sms_spam_collection" / "SMSSpamCollection"
    if not path.is_file():
        if os.environ.get("RNNBENCH_REQUIRE_DATA") == "1":
            pytest.fail(f"{path} is missing and RNNBENCH_REQUIRE_DATA=1")
        pytest.skip(f"{path} not present")
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    entry = config["datasets"]["sms_spam"]
    arrays, meta = data.prepare_dataset("table", {"table": str(path)}, json.loads(pad_slice(config, "sms_spam", 0)),
                                        entry["sha256"])
    # round(747 * 0.2) = 149 spam and round(4827 * 0.2) = 965 ham in the test split
    assert (len(arrays["y_train"]), len(arrays["y_test"])) == (4460, 1114)
    assert (arrays["y_test"].sum(), arrays["y_train"].sum()) == (149, 598)
    assert arrays["x_train"].shape[1] == 32, "the 95th percentile of training messages' token counts"
    assert meta["class_names"] == ["ham", "spam"] and len(meta["vocabulary"]) == int(arrays["num_words"]) <= 10000


def test_defaults_written_out_change_no_setting():
    assert settings(text="b", label="l", maxlen=5) == settings(text="b", label="l", maxlen=5, **TABLE_DEFAULTS)


# --- Bad data: one line naming the file, and the row and column where there is one.

def bad_csv(tmp_path, text: str, name="bad.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


BAD = [
    ("missing file", None, {}, r"missing\.csv: no such file"),
    ("missing column", "body,label\nhello,a\nworld,b\n", {"label": "label", "text": "txt"},
     r"bad\.csv: no column 'txt' \(columns: body, label\)"),
    ("empty text", "body,topic\nhello,a\n  ,b\nworld,a\n", {}, r"bad\.csv, row 2, column 'body': empty text"),
    ("undecodable", b"body,topic\nhello,a\ncaf\xe9 noir,b\n", {}, r"bad\.csv, line 3: not utf-8 text \(byte 0xe9\); set encoding:"),
    ("float labels", "body,topic\nhello,0.5\nworld,1.25\n", {}, r"bad\.csv, row 1, column 'topic': label '0\.5' is a fraction"),
    ("one class", "body,topic\nhello,a\nworld,a\n", {}, r"bad\.csv, column 'topic': one class only \('a'\)"),
    ("too few to stratify", "body,topic\n" + "x,a\n" * 10 + "y,b\n", {},
     r"bad\.csv: class 'b' has 1 row, too few to stratify: at test_fraction 0\.2 a class needs at least 3 rows"),
    ("class only in test", "body,topic,part\nhello,a,train\nworld,b,train\nagain,c,test\n", {"split_column": "part"},
     r"bad\.csv: class 'c' is in the test rows but not in the training rows"),
    ("duplicate header", "body,topic,body\nhello,a,x\nworld,b,y\n", {}, r"bad\.csv: column 'body' appears twice in the header"),
    ("bad split value", "body,topic,part\nhello,a,train\nworld,b,dev\n", {"split_column": "part"},
     r"bad\.csv, row 2, column 'part': 'dev', expected train or test"),
    ("no label", "body,topic\nhello,a\nworld,\n", {}, r"bad\.csv, row 2, column 'topic': no label"),
]


@pytest.mark.parametrize("case, text, entry, message", BAD, ids=[case for case, *_ in BAD])
def test_bad_data_is_named_in_one_line(tmp_path, case, text, entry, message):
    path = tmp_path / "missing.csv" if text is None else bad_csv(tmp_path, text)
    with pytest.raises(data.DataError, match=message) as error:
        prepare(path, **entry)
    assert "\n" not in str(error.value)


def test_bad_jsonl_and_parquet_are_named(tmp_path):
    path = bad_csv(tmp_path, '{"body": "a", "topic": "x"}\n{"body": "b", "body": "c", "topic": "y"}\n', "t.jsonl")
    with pytest.raises(data.DataError, match=r"t\.jsonl, line 2: column 'body' appears twice"):
        prepare(path)
    path = bad_csv(tmp_path, '{"body": "a", "topic": "x"}\nnot json\n', "u.jsonl")
    with pytest.raises(data.DataError, match=r"u\.jsonl, line 2: not JSON"):
        prepare(path)
    frame = pd.DataFrame({"body": ["a b", "c d"] * 5, "topic": [0.1, 0.7] * 5})
    with pytest.raises(data.DataError, match=r"t\.parquet, row 1, column 'topic': label 0\.1 is a fraction"):
        prepare(write(frame, tmp_path / "t.parquet", "parquet"))
    with pytest.raises(data.DataError, match=r"t\.txt: cannot tell the format from the suffix '\.txt'; set format:"):
        prepare(bad_csv(tmp_path, "body,topic\n", "t.txt"))
