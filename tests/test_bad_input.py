"""Bad input is refused clearly, before it can do harm: configs, data files, concurrent runs, kills."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from rnnbench import data
from rnnbench.io import atomic_path
from tests.conftest import REUTERS_SHA256, SNAKEMAKE, TINY_VARIANTS, run_dir, synthetic_reuters, tiny_config


def set_key(path, value):
    def change(config):
        target = config
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def rename_variant(old, new):
    def change(config):
        config["variants"][new] = config["variants"].pop(old)
    return change


def add_key(path, key, value):
    def change(config):
        target = config
        for part in path:
            target = target[part]
        target[key] = value
    return change


# (case, edit, what the one-line message must say)
MALFORMED = [
    ("unknown cell", set_key(("variants", "lstm", "cell"), "mamba"), 'variants.lstm.cell = "mamba"'),
    ("dropout below 0", set_key(("variants", "lstm", "dropout"), -0.1), "variants.lstm.dropout = -0.1"),
    ("dropout of 1", set_key(("variants", "lstm", "dropout"), 1.0), "variants.lstm.dropout = 1.0"),
    ("recurrent_dropout of 1.5", set_key(("variants", "lstm", "recurrent_dropout"), 1.5), "variants.lstm.recurrent_dropout = 1.5"),
    ("units 0", set_key(("variants", "deep_rnn", "units"), 0), "variants.deep_rnn.units = 0"),
    ("layers 0", set_key(("variants", "deep_rnn", "layers"), 0), "variants.deep_rnn.layers = 0"),
    ("non-integer seed", set_key(("seeds",), [0, 1.5]), "seeds.1 = 1.5"),
    ("duplicate seeds", set_key(("seeds",), [3, 3]), "seeds = [3, 3]"),
    ("no variants", set_key(("variants",), {}), "variants = {}"),
    ("dataset with an unknown loader", add_key(("datasets",), "imdb", {"loader": "imdb"}),
     'datasets.imdb.loader = "imdb"'),
    ("dataset without a loader", add_key(("datasets",), "imdb", {"num_words": 10}),
     "datasets.imdb: 'loader' is a required property"),
    ("epochs 0", set_key(("epochs",), 0), "epochs = 0"),
    ("validation_split 1", set_key(("validation_split",), 1.0), "validation_split = 1.0"),
    ("validation_split 0", set_key(("validation_split",), 0), "validation_split = 0"),
    ("unknown initializer", set_key(("variants", "lstm", "recurrent_initializer"), "ones_please"),
     'variants.lstm.recurrent_initializer = "ones_please"'),
    ("misspelled variant key", add_key(("variants", "lstm"), "unit", 64), "variants.lstm: unknown key(s) 'unit'"),
    ("misspelled top-level key", add_key((), "epoch", 3), "<top level>: unknown key(s) 'epoch'"),
    ("units as a string", set_key(("variants", "lstm", "units"), "32"), 'variants.lstm.units = "32"'),
    ("epochs as a float", set_key(("epochs",), 2.5), "epochs = 2.5"),
    ("path characters in a variant name", rename_variant("lstm", "../evil"), "variants: invalid name '../evil'"),
    ("slash in a variant name", rename_variant("lstm", "a/b"), "variants: invalid name 'a/b'"),
    ("malformed sha256", set_key(("datasets", "reuters", "sha256"), "abc"), 'datasets.reuters.sha256 = "abc"'),
    ("negative split", set_key(("splits",), [113, -2]), "splits.1 = -2"),
    ("split as a word", set_key(("splits",), ["notebook"]), 'splits.0 = "notebook"'),
    ("duplicate splits", set_key(("splits",), [7, 7]), "splits = [7, 7]"),
    ("unknown pooling", set_key(("variants", "lstm", "pooling"), "attention"), 'variants.lstm.pooling = "attention"'),
    ("CNN kernel wider than the padded length",
     add_key(("variants",), "wide", {"cell": "cnn", "filters": 4, "kernel_sizes": [3, 30]}),
     "studies.summary, datasets.reuters: wide's kernel_sizes = [3, 30]: a width of 30 is wider than the sequences, "
     "padded to maxlen = 25"),
]


@pytest.mark.slow
@pytest.mark.parametrize("case, edit, message", MALFORMED, ids=[case for case, _, _ in MALFORMED])
def test_malformed_config_is_refused_before_any_job(tiny_workflow, case, edit, message):
    config = tiny_config(tiny_workflow.config_sha256())
    edit(config)
    tiny_workflow.write_config(config)
    result = tiny_workflow.run("--cores", "1", "reports/summary.html", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert message in output, output[-2000:]
    assert not (tiny_workflow.root / "data").exists(), "no job may run"
    assert not (tiny_workflow.root / "logs").exists()


@pytest.mark.slow
def test_batch_size_larger_than_the_training_rows(finished_tiny_run, tmp_path):
    import shutil

    from tests.conftest import Workflow

    root = tmp_path / "project"
    shutil.copytree(finished_tiny_run.root, root, symlinks=True)
    workflow = Workflow(root, finished_tiny_run.keras_home)
    config = tiny_config(workflow.config_sha256(), batch_size=100_000)
    workflow.write_config(config)
    result = workflow.run("-n", check=False)
    assert result.returncode != 0
    assert "batch_size = 100000: larger than the" in result.stdout + result.stderr


class Gadget:
    """Unpickling this runs code: it creates the file `marker`."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def malicious_npz(path, marker):
    xs = np.empty(2, dtype=object)
    xs[0], xs[1] = [1, 2, 3], Gadget(marker)
    np.savez(path, x=xs, y=np.array([0, 1]))


def test_malicious_npz_is_never_unpickled(tmp_path):
    path, marker = tmp_path / "reuters.npz", tmp_path / "pwned"
    malicious_npz(path, marker)
    actual = data.sha256sum(path)
    with pytest.raises(data.DataError) as error:
        data.load_raw_reuters(path, REUTERS_SHA256)
    message = str(error.value)
    assert str(path) in message and REUTERS_SHA256 in message and actual in message
    assert not marker.exists()
    # the gadget is real: loading it with pickle allowed would have run it
    with np.load(path, allow_pickle=True) as archive:
        archive["x"]
    assert marker.exists()


@pytest.mark.parametrize("damage", ["truncated", "substituted", "one byte flipped"])
def test_damaged_file_fails_its_hash_before_loading(tmp_path, damage):
    good = tmp_path / "good.npz"
    sha256 = synthetic_reuters(good)
    bad = tmp_path / "bad.npz"
    blob = good.read_bytes()
    if damage == "truncated":
        bad.write_bytes(blob[: len(blob) // 2])
    elif damage == "substituted":
        synthetic_reuters(bad, seed=99)
    else:
        bad.write_bytes(blob[:100] + bytes([blob[100] ^ 1]) + blob[101:])
    with pytest.raises(data.DataError, match=f"{bad}: sha256 mismatch: expected {sha256}"):
        data.prepare_reuters(bad, sha256, num_words=40, maxlen=25, padding="post")


@pytest.mark.slow
def test_replaced_raw_file_stops_the_pipeline(finished_tiny_run, tmp_path):
    import shutil

    from tests.conftest import Workflow

    root = tmp_path / "project"
    shutil.copytree(finished_tiny_run.root, root, symlinks=True)
    workflow = Workflow(root, finished_tiny_run.keras_home)
    marker = tmp_path / "pwned"
    malicious_npz(root / "data" / "raw" / "reuters" / "reuters.npz", marker)
    result = workflow.run("--cores", "1", "data/padded/reuters.npz", check=False)
    assert result.returncode != 0
    assert "sha256 mismatch" in result.stdout + result.stderr + (root / "logs/pad/reuters.log").read_text()
    assert not marker.exists()


@pytest.mark.slow
def test_second_concurrent_invocation_is_refused(tiny_workflow):
    """While one Snakemake trains a run, a second one in the same folder is refused, and the first ends well.
    The first is held (SIGSTOP) while it holds its locks, so the second always meets them, however fast the
    first's jobs."""
    import signal

    env = dict(os.environ, KERAS_HOME=str(tiny_workflow.keras_home))
    target = str((run_dir(tiny_workflow.root, TINY_VARIANTS["lstm"], 0) / "metrics.json").relative_to(tiny_workflow.root))
    first = subprocess.Popen([SNAKEMAKE, "--cores", "1", target], cwd=tiny_workflow.root,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    locks = tiny_workflow.root / ".snakemake" / "locks"
    deadline = time.time() + 60
    while not (locks.exists() and any(locks.iterdir())) and time.time() < deadline:
        time.sleep(0.01)
    first.send_signal(signal.SIGSTOP)
    try:
        assert locks.exists() and any(locks.iterdir()), "the first Snakemake ended before it could be held"
        second = tiny_workflow.run("--cores", "1", target, check=False)
    finally:
        first.send_signal(signal.SIGCONT)
    assert second.returncode != 0
    assert "cannot be locked" in second.stdout + second.stderr
    output, _ = first.communicate(timeout=600)
    assert first.returncode == 0, output[-2000:]
    assert "Nothing to be done" in tiny_workflow.run("-n", target).stdout


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "summary.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


WRITER = """
import sys
from rnnbench.io import write_text
path = sys.argv[1]
for i in range(10**6):
    write_text(("AB"[i % 2]) * 20_000_000, path)
"""


@pytest.mark.parametrize("delay", [0.3, 0.7, 1.1])
def test_sigkill_during_a_write_leaves_a_whole_file(tmp_path, delay):
    target = tmp_path / "report.html"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], cwd=tmp_path,
                              env=dict(os.environ, PYTHONPATH=os.getcwd()))
    time.sleep(delay)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    if target.exists():
        text = target.read_text()
        assert len(text) == 20_000_000 and len(set(text)) == 1, "a half-written file was left"


@pytest.mark.slow
def test_a_bad_row_of_a_users_table_stops_its_pad_job_with_one_line_and_nothing_written(tiny_workflow):
    """The pad job names file, row and column on the console; no padded file, no training job starts."""
    import yaml

    from tests.conftest import user_tables

    tickets = user_tables(tiny_workflow.root)["tickets"]
    path = tiny_workflow.root / "user" / "tickets.csv"
    lines = path.read_text().splitlines()
    lines[5] = ",,topic04"  # data row 5: subject and body both empty
    path.write_text("\n".join(lines) + "\n")
    config = yaml.safe_load((tiny_workflow.root / "config.yaml").read_text())
    config["datasets"]["tickets"] = tickets
    config["studies"] = {"tickets": {"datasets": ["tickets"], "variants": ["lstm"]}}
    tiny_workflow.write_config(config)
    result = tiny_workflow.run("--cores", "1", "reports/tickets.html", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert ("rnnbench: datasets.tickets: user/tickets.csv, row 5, columns 'subject', 'body': empty text"
            in output), output[-3000:]
    assert not list((tiny_workflow.root / "data" / "padded").glob("tickets*"))
    assert "rule train:" not in output
