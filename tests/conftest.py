"""Shared fixtures: synthetic data in Keras's npz format and real Snakemake runs in temp dirs."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from rnnbench.data import sha256sum

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_configure(config):
    """In-process TensorFlow runs like a 1-thread job; thread pools are fixed once created.
    A SLURM config left by a killed session goes first, or every Snakemake start waits on it."""
    from rnnbench.runtime import configure_tensorflow
    from tests.slurm_cluster import remove_stale_conf

    remove_stale_conf()
    configure_tensorflow(threads=1, seed=0)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook reads the groups
def pytest_collection_modifyitems(items):
    """Under ``--dist loadgroup``, the tests that read the six finished studies go to one worker, which
    builds them while the other works on: no worker waits idle for the build."""
    for item in items:
        if "finished_studies" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("finished_studies"))


def shared_folder(tmp_path_factory) -> Path:
    """This pytest run's temp folder, shared by its pytest-xdist workers (each works in one of its own below it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def built_once(tmp_path_factory, name: str, build) -> Path:
    """A folder that ``build(folder)`` fills once per pytest run: the first worker to ask builds it, the
    others wait for it and share it. A failed build fails every worker's tests with its error."""
    import traceback

    from filelock import FileLock

    folder = shared_folder(tmp_path_factory) / name
    with FileLock(f"{folder}.lock"):
        if not folder.exists():
            folder.mkdir()
            try:
                build(folder)
            except BaseException:
                (folder / ".failed").write_text(traceback.format_exc())
                raise
            (folder / ".built").touch()
    if not (folder / ".built").exists():
        pytest.fail(f"building {name} failed in another worker:\n{(folder / '.failed').read_text()}")
    return folder


XLA_CACHE: Path | None = None  # set per pytest run by shared_xla_cache


@pytest.fixture(scope="session", autouse=True)
def shared_xla_cache(tmp_path_factory):
    """One XLA cache for every workflow the tests build, as one project's jobs share theirs: a training
    step compiled once serves every test that trains the same program (entries are keyed by it)."""
    global XLA_CACHE
    XLA_CACHE = shared_folder(tmp_path_factory) / "xla-cache"
    XLA_CACHE.mkdir(exist_ok=True)
    yield XLA_CACHE


REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
WORKFLOW_FILES = ["Snakefile", "config.yaml", "workflow", "scripts", "rnnbench", "profiles"]
REUTERS_SHA256 = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"


def shared_data_dir() -> Path:
    return Path(os.environ.get("RNNBENCH_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def real_reuters() -> Path:
    """The real Keras reuters.npz; CI sets RNNBENCH_REQUIRE_DATA=1 so that its absence fails."""
    path = shared_data_dir() / "reuters.npz"
    if not path.is_file():
        if os.environ.get("RNNBENCH_REQUIRE_DATA") == "1":
            pytest.fail(f"{path} is missing and RNNBENCH_REQUIRE_DATA=1")
        pytest.skip(f"{path} not present (set RNNBENCH_SHARED_DATA)")
    return path


def synthetic_reuters(path: Path, documents: int = 240, classes: int = 4, vocabulary: int = 32, seed: int = 0) -> str:
    """A small Reuters-format npz (ragged object arrays, pickled like Keras's file); returns its sha256.

    Each class favours its own band of word ids, so a model can learn something in an epoch.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=documents)
    band = vocabulary // classes
    xs = np.empty(documents, dtype=object)
    for i, label in enumerate(labels):
        length = int(rng.integers(3, 30))
        own = rng.integers(label * band, (label + 1) * band, size=length)
        noise = rng.integers(0, vocabulary, size=length)
        xs[i] = [int(w) + 1 for w in np.where(rng.random(length) < 0.7, own, noise)]
    np.savez(path, x=xs, y=labels.astype("int64"))
    return sha256sum(path)


TINY_VARIANTS = {
    "lstm": {"cell": "lstm", "layers": 1, "units": 4, "recurrent_initializer": "orthogonal",
             "dropout": 0.0, "recurrent_dropout": 0.0},
    "deep_rnn": {"cell": "simple_rnn", "layers": 2, "units": 4, "recurrent_initializer": "glorot_uniform",
                 "dropout": 0.0, "recurrent_dropout": 0.0},
}


def run_name(spec: dict) -> str:
    """The run folder of a spec (its readable name)."""
    from rnnbench.studies import spec_name

    return spec_name(spec)


def run_dir(root: Path, spec: dict, seed: int, dataset: str = "reuters") -> Path:
    return root / "results" / "runs" / dataset / run_name(spec) / f"seed{seed}"


def study_file(root: Path, name: str, study: str = "summary") -> Path:
    return root / "results" / "studies" / study / name


def tiny_config(sha256: str, **overrides) -> dict:
    config = {
        "seeds": [0, 1],
        "epochs": 1,
        "batch_size": 16,
        "validation_split": 0.25,
        "threads": 1,
        "datasets": {
            "reuters": {
                "loader": "reuters", "filename": "reuters.npz",
                "num_words": 40, "maxlen": 25, "embedding_dim": 8, "padding": "post",
                "url": "http://127.0.0.1:9/unreachable/reuters.npz", "sha256": sha256,
            }
        },
        "variants": copy.deepcopy(TINY_VARIANTS),
        "notebook": {"lstm": 0.726},
    }
    config.update(overrides)
    return config


class Workflow:
    """A copy of the workflow in a temp dir, with its own Keras cache, run by the real snakemake CLI."""

    def __init__(self, root: Path, keras_home: Path):
        self.root = root
        self.keras_home = keras_home

    def config_sha256(self) -> str:
        return sha256sum(self.keras_home / "datasets" / "reuters.npz")

    def write_config(self, config: dict) -> None:
        (self.root / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

    def environment(self, env: dict | None = None) -> dict:
        return dict(os.environ, KERAS_HOME=str(self.keras_home), MPLBACKEND="Agg", **(env or {}))

    def start(self, *args: str, log: Path, env: dict | None = None) -> subprocess.Popen:
        """``snakemake *args`` in the background, its output written to ``log``."""
        with open(log, "w") as output:
            return subprocess.Popen([SNAKEMAKE, *args], cwd=self.root, env=self.environment(env), stdout=output,
                                    stderr=subprocess.STDOUT)

    def run(self, *args: str, check: bool = True, timeout: int = 600, env: dict | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [SNAKEMAKE, *args], cwd=self.root, env=self.environment(env), capture_output=True, text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result


def make_workflow(directory: Path) -> Workflow:
    root = directory / "project"
    root.mkdir()
    for name in WORKFLOW_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, root / name)
    if XLA_CACHE is not None:
        (root / ".cache").mkdir()
        (root / ".cache" / "xla").symlink_to(XLA_CACHE, target_is_directory=True)
    keras_home = directory / "keras"
    (keras_home / "datasets").mkdir(parents=True)
    return Workflow(root, keras_home)


def make_tiny_workflow(directory: Path) -> Workflow:
    """The workflow with a synthetic reuters.npz in its Keras cache and a matching tiny config."""
    workflow = make_workflow(directory)
    workflow.write_config(tiny_config(synthetic_reuters(workflow.keras_home / "datasets" / "reuters.npz")))
    return workflow


@pytest.fixture
def workflow(tmp_path) -> Workflow:
    return make_workflow(tmp_path)


@pytest.fixture
def tiny_workflow(tmp_path) -> Workflow:
    return make_tiny_workflow(tmp_path)


@pytest.fixture(scope="session")
def finished_tiny_run(tmp_path_factory) -> Workflow:
    """One complete tiny study (2 variants x 2 seeds x 1 epoch), shared by the tests that only read it.

    Run through the README's smoke-run form, with the seeds typed on the command line.
    """
    folder = built_once(tmp_path_factory, "finished", lambda folder: make_tiny_workflow(folder).run(
        "--cores", "2", "reports/summary.html", "--config", "seeds=[0,1]", "epochs=1"))
    return Workflow(folder / "project", folder / "keras")


def synthetic_sms(path: Path, messages: int = 200, spam_share: float = 0.15, seed: int = 0) -> str:
    """A small SMS Spam Collection file (``label<TAB>text``); spam uses its own words. Returns its sha256."""
    rng = np.random.default_rng(seed)
    ham_words = [f"ham{i}" for i in range(20)] + ["the", "you", "ok"]
    spam_words = [f"win{i}" for i in range(10)] + ["free", "prize", "the", "you"]
    lines = []
    for index in range(messages):
        spam = index < int(messages * spam_share)
        words = rng.choice(spam_words if spam else ham_words, size=int(rng.integers(3, 15)))
        lines.append(("spam" if spam else "ham") + "\t" + " ".join(words).capitalize() + ".")
    order = rng.permutation(len(lines))
    path.write_text("\n".join(lines[i] for i in order) + "\n", encoding="utf-8")
    return sha256sum(path)


def tiny_sms_dataset(sha256: str) -> dict:
    return {
        "loader": "table", "filename": "SMSSpamCollection", "member": "SMSSpamCollection",
        "url": "http://127.0.0.1:9/unreachable/sms.zip", "sha256": sha256, "format": "tsv",
        "columns": ["label", "text"], "text": "text", "label": "label", "num_words": 50,
        "maxlen_quantile": 0.95, "test_fraction": 0.2, "split_seed": 0, "positive_class": "spam",
        "embedding_dim": 8, "padding": "post",
    }


def tiny_studies_config(reuters_sha256: str, sms_sha256: str) -> dict:
    """Every kind of study on tiny data: named variants, a 2x2 sweep sharing a spec with them,
    a baseline, and the SMS dataset."""
    config = tiny_config(reuters_sha256, seeds=[0, 1])
    config["datasets"]["sms_spam"] = tiny_sms_dataset(sms_sha256)
    config["variants"]["bow_mlp"] = {"cell": "bow", "layers": 1, "units": 8, "dropout": 0.5}
    config["sweeps"] = {
        "grid": {"base": {"cell": "lstm", "recurrent_initializer": "orthogonal"},
                 "grid": {"layers": [1, 2], "units": [4, 6]}},
    }
    config["studies"] = {
        "summary": {"datasets": ["reuters"], "variants": ["deep_rnn", "lstm", "bow_mlp"]},
        "capacity": {"datasets": ["reuters"], "sweeps": ["grid"]},
        "sms_spam": {"datasets": ["sms_spam"], "variants": ["lstm", "bow_mlp"]},
        "robustness": {"datasets": ["reuters"], "splits": [113, 7], "variants": ["lstm", "bow_mlp"]},
    }
    return config


def topics(rows: int = 200, classes: int = 4, seed: int = 0):
    """A DataFrame of (subject, body, topic) rows: each topic has its own words, so a model can learn it."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    names = [f"topic{c:02d}" for c in range(classes)]
    records = []
    for row in range(rows):
        c = row % classes
        words = rng.choice([f"w{c}x{i}" for i in range(6)] + ["the", "and"], size=int(rng.integers(3, 12)))
        records.append({"subject": f"Note {row}", "body": " ".join(words), "topic": names[c]})
    return pd.DataFrame(records)


def user_tables(root: Path) -> dict:
    """A user's own labelled text under root/user/, in the four table formats, and the dataset entries
    (YAML only) that bring them in: a 12-class CSV of two text columns, a binary TSV with a positive
    class, a JSON Lines file with a split column, and a Parquet file with integer labels."""
    folder = root / "user"
    folder.mkdir()
    common = {"loader": "table", "num_words": 60, "maxlen": 12, "embedding_dim": 8}
    frame = topics(rows=240, classes=12)
    frame.to_csv(folder / "tickets.csv", index=False)
    binary = topics(rows=120, classes=2, seed=1).replace({"topic00": "urgent", "topic01": "routine"})
    binary.to_csv(folder / "triage.tsv", sep="\t", index=False)
    split = topics(rows=120, classes=3, seed=2)
    split["part"] = np.where(np.arange(len(split)) % 5 == 0, "test", "train")
    split.to_json(folder / "notes.jsonl", orient="records", lines=True)
    numbered = topics(rows=120, classes=3, seed=3)
    numbered["topic"] = numbered["topic"].map({"topic00": 7, "topic01": 11, "topic02": 30})
    numbered.to_parquet(folder / "codes.parquet", index=False)
    return {
        "tickets": {**common, "path": "user/tickets.csv", "text": ["subject", "body"], "label": "topic"},
        "triage": {**common, "path": "user/triage.tsv", "text": "body", "label": "topic", "positive_class": "urgent"},
        "notes": {**common, "path": "user/notes.jsonl", "text": "body", "label": "topic", "split_column": "part"},
        "codes": {**{k: v for k, v in common.items() if k != "maxlen"}, "path": "user/codes.parquet", "text": "body",
                  "label": "topic", "maxlen_quantile": 0.9},
    }


def make_tiny_studies_workflow(directory: Path) -> Workflow:
    workflow = make_workflow(directory)
    datasets = workflow.keras_home / "datasets"
    config = tiny_studies_config(synthetic_reuters(datasets / "reuters.npz"), synthetic_sms(datasets / "SMSSpamCollection"))
    tables = user_tables(workflow.root)
    config["datasets"].update(tables)
    config["studies"]["tables"] = {"datasets": sorted(tables), "variants": ["bow_mlp"], "seeds": [0]}
    config["searches"] = copy.deepcopy(TINY_SEARCHES)
    config["studies"]["budget"] = {"datasets": ["reuters"], "searches": sorted(TINY_SEARCHES)}
    workflow.write_config(config)
    return workflow


# Two tiny random searches (study budget of the finished studies): 3 LSTM and 2 bag-of-words trials.
TINY_SEARCHES = {
    "tiny_lstm": {"base": {"cell": "lstm", "layers": 1}, "trials": 3,
                  "space": {"units": [2, 4, 6, 8], "dropout": {"low": 0.0, "high": 0.5}}},
    "tiny_bow": {"base": {"cell": "bow", "layers": 1}, "trials": 2, "space": {"units": [4, 8, 16]}},
}


@pytest.fixture(scope="session")
def finished_studies(tmp_path_factory) -> Workflow:
    """Six tiny studies (named variants with a baseline, a 2x2 sweep, SMS, two data splits, a user's
    own tables in four formats, two random searches) built in one invocation."""
    def build(folder):
        result = make_tiny_studies_workflow(folder).run(
            "--cores", "2", "reports/summary.html", "reports/capacity.html", "reports/sms_spam.html",
            "reports/robustness.html", "reports/tables.html", "reports/budget.html")
        (folder / "snakemake.log").write_text(result.stdout + result.stderr)

    folder = built_once(tmp_path_factory, "studies", build)
    workflow = Workflow(folder / "project", folder / "keras")
    workflow.log = (folder / "snakemake.log").read_text()
    return workflow
