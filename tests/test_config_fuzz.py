"""Mutated configs: each is refused before any job with its key named, or accepted and usable by every job.

The check is the one the workflow makes when it is parsed (``rnnbench.config.check_workflow_config``);
a sample also goes through the real Snakemake CLI, where a refused config runs no job and an accepted
one trains."""

from __future__ import annotations

import collections
import copy
import math
import re

import numpy as np
import pytest
import yaml

from rnnbench.config import ConfigError, check_workflow_config
from tests.conftest import REPO, tiny_studies_config

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
ROWS = 180  # training-split rows of the padded file the checks read

NUMBERS = [
    ("epochs",), ("batch_size",), ("validation_split",), ("threads",), ("seeds", 0), ("splits", 0),
    ("datasets", "reuters", "num_words"), ("datasets", "reuters", "maxlen"), ("datasets", "reuters", "embedding_dim"),
    ("datasets", "sms_spam", "maxlen_quantile"), ("datasets", "sms_spam", "test_fraction"),
    ("datasets", "sms_spam", "split_seed"),
    ("variants", "lstm", "units"), ("variants", "lstm", "layers"), ("variants", "lstm", "dropout"),
    ("variants", "lstm", "recurrent_dropout"), ("variants", "lstm", "learning_rate"),
    ("variants", "lstm", "label_smoothing"), ("variants", "lstm", "early_stopping"),
    ("variants", "lstm", "spatial_dropout"), ("variants", "lstm", "embedding_dropout"),
    ("notebook", "lstm"), ("sweeps", "grid", "grid", "units", 0),
]
ODD_VALUES = [float("nan"), float("inf"), float("-inf"), "3", None, [1], True, 2.0, 2.5, -1, 10**12, 0, 1]
NAMES = ["ünïcode", "../up", "a/b", "", ".hidden", "-dash", "x" * 101, "a b", "tab\t", "名前", "x.y", "X_1-2", "CON"]
VALID_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


def base_config() -> dict:
    config = tiny_studies_config("0" * 64, "1" * 64)
    config["splits"] = [113]
    config["variants"]["lstm"].update(learning_rate=0.001, label_smoothing=0.0, early_stopping=0,
                                      spatial_dropout=0.0, embedding_dropout=0.0)
    return config


def dotted(path) -> str:
    return ".".join(str(part) for part in path)


def set_at(config, path, value):
    target = config
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def rename(config, section, old, new):
    config[section] = {new if name == old else name: value for name, value in config[section].items()}
    for entry in config.get("studies", {}).values():
        if section in entry:
            entry[section] = [new if name == old else name for name in entry[section]]
    if section == "variants" and old in config.get("notebook", {}):
        config["notebook"][new] = config["notebook"].pop(old)


def mutations():
    """(name, config, YAML text or None, the key a refusal must name)."""
    for path in NUMBERS:
        for value in ODD_VALUES:
            config = base_config()
            set_at(config, path, value)
            named = path[:-1] if isinstance(path[-1], int) else path  # a list item: the list (or the item)
            yield f"{dotted(path)}={value!r}", config, None, dotted(named)
    for section, old in [("variants", "lstm"), ("studies", "summary"), ("datasets", "sms_spam"), ("sweeps", "grid")]:
        for new in NAMES:
            config = base_config()
            rename(config, section, old, new)
            yield f"{section} name {new!r}", config, None, section
    derived = [("validation_split", 0.99999, "validation_split"), ("validation_split", 1e-9, "validation_split"),
               ("batch_size", ROWS, "batch_size"), ("batch_size", 1_000_000, "batch_size"),
               ("validation_split", 0.5, "validation_split")]
    for key, value, named in derived:
        config = base_config()
        config[key] = value
        yield f"derived {key}={value}", config, None, named
    config = base_config()
    config["studies"]["summary"]["variants"] = []
    yield "a study without variants", config, None, "studies.summary"
    text = yaml.safe_dump(base_config(), sort_keys=False)
    for key, line in [("lstm", "  lstm: {cell: lstm, layers: 1, units: 64}\n"), ("epochs", "epochs: 3\n"),
                      ("units", "    units: 9\n"), ("reuters", "  reuters: {loader: reuters}\n")]:
        yield f"duplicate key {key}", None, duplicate(text, key, line), key


def duplicate(text: str, key: str, line: str) -> str:
    """``text`` with ``line`` (a second ``key``) inserted right after the first line holding ``key:``."""
    lines = text.splitlines(keepends=True)
    index = next(i for i, l in enumerate(lines) if l.strip().startswith(f"{key}:"))
    indent = len(lines[index]) - len(lines[index].lstrip())
    end = next((j for j in range(index + 1, len(lines))
                if len(lines[j]) - len(lines[j].lstrip()) <= indent), len(lines))
    return "".join(lines[:end] + [" " * indent + line.lstrip()] + lines[end:])


@pytest.fixture(scope="module")
def padded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("padded")
    np.savez(folder / "reuters.npz", y_train=np.zeros(ROWS, dtype="int64"))
    return str(folder / "{}.npz")


def usable(config: dict) -> None:
    """What every job takes from an accepted config works: each run's spec builds a model, its settings are
    whole numbers where they count things, and every number is finite."""
    from rnnbench.config import TrainSettings, train_slice
    from rnnbench.models import build_model
    from rnnbench.studies import run_specs, studies, study_runs

    for study in studies(config):
        assert study_runs(config, study), study
    for name, spec in run_specs(config).items():
        for dataset in config["datasets"]:
            settings = TrainSettings.from_json(train_slice(config, dataset, spec))
            assert all(isinstance(v, int) and not isinstance(v, bool)
                       for v in (settings.epochs, settings.batch_size, settings.embedding_dim))
            assert 0 < settings.validation_split < 1 and math.isfinite(settings.variant.learning_rate)
        build_model(spec, num_words=50, maxlen=10, embedding_dim=4, num_classes=3)


def test_every_mutated_config_is_refused_by_key_or_usable(tmp_path, padded):
    cases = list(mutations())
    assert len(cases) >= 100
    outcomes, wrong = collections.Counter(), []
    for name, config, text, key in cases:
        path = tmp_path / "config.yaml"
        path.write_text(text if text is not None else yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
        loaded = copy.deepcopy(config) if config is not None else yaml.safe_load(text)
        try:
            check_workflow_config(loaded, SCHEMA, [path], padded)
        except ConfigError as error:
            if key not in str(error):
                wrong.append(f"{name}: the refusal does not name {key}: {error}")
            outcomes["refused"] += 1
            continue
        if text is not None:
            wrong.append(f"{name}: a duplicate key was accepted")
        try:
            usable(loaded)
        except Exception as error:  # noqa: BLE001 - any failure of an accepted config is the finding
            wrong.append(f"{name}: accepted, then {type(error).__name__}: {error}")
        outcomes["accepted"] += 1
    print(f"{len(cases)} mutated configs: {dict(outcomes)}")
    assert not wrong, "\n".join(wrong)
    assert outcomes["refused"] and outcomes["accepted"]


REFUSED_ON_THE_COMMAND_LINE = ["epochs=2.0", "validation_split=.nan", "seeds=[0.0]", "seeds=[4294967296]",
                               "batch_size=1e3", "threads=.inf"]


@pytest.mark.slow
@pytest.mark.parametrize("override", REFUSED_ON_THE_COMMAND_LINE)
def test_a_refused_config_runs_no_job(tiny_workflow, override):
    result = tiny_workflow.run("--cores", "1", "reports/summary.html", "--config", override, check=False)
    assert result.returncode != 0
    key = override.split("=")[0]
    assert re.search(rf"\n  {key}(\.\d+)? = ", result.stdout + result.stderr), result.stderr[-2000:]
    assert not (tiny_workflow.root / "data").exists() and not (tiny_workflow.root / "logs").exists()


@pytest.mark.slow
def test_an_accepted_mutation_trains(tiny_workflow):
    """A sample of accepted mutations together (a unicode description, a seed near 2^32, a renamed variant,
    a large valid learning rate) plans and trains to a report."""
    config = yaml.safe_load((tiny_workflow.root / "config.yaml").read_text())
    config["seeds"] = [4294967295]
    config["variants"]["X_1-2"] = config["variants"].pop("lstm")
    config["variants"]["X_1-2"]["learning_rate"] = 2.0
    config["notebook"] = {}
    config["studies"] = {"summary": {"datasets": ["reuters"], "variants": ["X_1-2", "deep_rnn"],
                                     "description": "Mutations — ünïcode <b>bold</b>"}}
    tiny_workflow.write_config(config)
    tiny_workflow.run("--cores", "2", "reports/summary.html")
    html = (tiny_workflow.root / "reports" / "summary.html").read_text()
    assert "X_1-2" in html and "ünïcode &lt;b&gt;" in html
