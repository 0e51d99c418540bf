"""Sweep expansion, run identity and study composition."""

import copy

import pytest
import yaml

from rnnbench.config import validate_config
from rnnbench.models import SPEC_DEFAULTS
from rnnbench.studies import (
    all_runs, expand_sweep, spec_name, split_tag, study_runs, study_splits, study_variants
)
from tests.conftest import REPO

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


@pytest.fixture
def config():
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_spec_names_are_readable_and_encode_every_field():
    assert spec_name({"cell": "lstm", "layers": 2, "units": 64, "recurrent_initializer": "orthogonal",
                      "dropout": 0.2, "recurrent_dropout": 0.05}) == "lstm-l2-u64-orth-d0.2-rd0.05"
    assert spec_name({"cell": "gru", "layers": 1, "units": 32, "bidirectional": True, "mask_zero": True,
                      "embedding_dropout": 0.3, "learning_rate": 0.003, "early_stopping": 5,
                      "activation": "relu"}) == "gru-l1-u32-orth-d0-rd0-relu-bi-mask-ed0.3-lr0.003-es5"
    assert spec_name({"cell": "lstm", "layers": 1, "units": 32, "engine": "keras"}) == "lstm-l1-u32-orth-d0-rd0-keras"
    assert spec_name({"cell": "bow", "layers": 1, "units": 512, "dropout": 0.5}) == "bow-l1-u512-d0.5"
    # defaults written out, ints for floats and key order do not change a spec
    assert spec_name({"units": 32, "layers": 1, "cell": "lstm", "dropout": 0}) == spec_name(
        {"cell": "lstm", "layers": 1, "units": 32, "dropout": 0.0, "mask_zero": False, "learning_rate": 0.001})


def test_every_field_changes_the_name():
    base = {"cell": "lstm", "layers": 1, "units": 32}
    changes = {"cell": "gru", "layers": 2, "units": 33, "recurrent_initializer": "he_normal", "dropout": 0.1,
               "recurrent_dropout": 0.1, "activation": "relu", "bidirectional": True, "mask_zero": True,
               "embedding_dropout": 0.1, "learning_rate": 0.01, "early_stopping": 3, "engine": "keras",
                   "pooling": "max", "spatial_dropout": 0.2, "lr_schedule": "cosine", "label_smoothing": 0.1}
    later = {"kernel_sizes", "filters", "heads", "ff_dim", "builder", "options", "classifier", "ngrams", "weighting",
             "sublinear_tf", "min_df", "norm", "C", "class_weight"}
    assert set(changes) | later == {"cell"} | set(SPEC_DEFAULTS)
    names = {spec_name(base)} | {spec_name(dict(base, **{key: value})) for key, value in changes.items()}
    assert len(names) == 1 + len(changes)
    # each family's own fields name it too
    families = [
        ({"cell": "cnn", "kernel_sizes": [3, 4, 5], "filters": 100, "dropout": 0.5}, "cnn-k3.4.5-f100-d0.5-pmax",
         {"kernel_sizes": [3, 4], "filters": 50, "pooling": "mean", "dropout": 0.2, "embedding_dropout": 0.1,
          "spatial_dropout": 0.1, "learning_rate": 0.01}),
        ({"cell": "transformer", "layers": 1, "units": 64, "heads": 4, "ff_dim": 128},
         "transformer-l1-u64-h4-ff128-d0-pmean",
         {"layers": 2, "units": 32, "heads": 2, "ff_dim": 64, "dropout": 0.1, "mask_zero": True, "pooling": "max"}),
        ({"cell": "custom", "builder": "mine.models:tiny"}, "custom-mine.models.tiny",
         {"builder": "mine.models:other", "options": {"width": 3}, "early_stopping": 4}),
        ({"cell": "linear"}, "linear-svm-n1-tfidf-sub-df1-l2-c1",
         {"classifier": "logreg", "ngrams": 2, "weighting": "binary", "sublinear_tf": False, "min_df": 2, "norm": "l1",
          "C": 0.1, "class_weight": "balanced"}),
        ({"cell": "sklearn", "builder": "mine.estimators:nb"}, "sklearn-mine.estimators.nb",
         {"builder": "mine.estimators:other", "options": {"alpha": 0.5}}),
    ]
    for spec, name, family_changes in families:
        assert spec_name(spec) == name
        named = {spec_name(dict(spec, **{key: value})) for key, value in family_changes.items()}
        assert name not in named and len(named) == len(family_changes), named
    assert spec_name({"cell": "cnn", "kernel_sizes": [3], "filters": 8, "pooling": "max"}) == spec_name(
        {"cell": "cnn", "kernel_sizes": [3], "filters": 8}), "the family's own pooling written out"


def test_shipped_sweeps_expand_to_the_right_counts_without_duplicates(config):
    counts = {name: len(expand_sweep(sweep)) for name, sweep in config["sweeps"].items()}
    assert counts == {"initializers": 3, "dropout": 25, "capacity": 9}
    for sweep in config["sweeps"].values():
        names = [spec_name(spec) for spec in expand_sweep(sweep)]
        assert len(set(names)) == len(names)
    assert "lstm-l3-u128-orth-d0-rd0" in {spec_name(s) for s in expand_sweep(config["sweeps"]["capacity"])}
    assert [spec_name(s) for s in expand_sweep(config["sweeps"]["dropout"])][:2] == [
        "lstm-l1-u32-orth-d0-rd0", "lstm-l1-u32-orth-d0-rd0.05"]


def test_duplicate_grid_values_collapse():
    sweep = {"base": {"cell": "lstm", "layers": 1}, "grid": {"units": [32, 32.0], "dropout": [0, 0.0]}}
    assert [spec_name(s) for s in expand_sweep(sweep)] == ["lstm-l1-u32-orth-d0-rd0"]


def test_studies_share_specs_and_runs(config):
    validate_config(config, SCHEMA)
    summary = study_variants(config, "summary")
    assert list(summary)[:7] == ["deep_rnn", "lstm", "deep_lstm_orthogonal", "deep_lstm_glorot",
                                 "deep_lstm_glorot_rd0.05", "gru", "deep_gru"]
    # the initializers sweep holds the notebook's two deep LSTMs under their spec names
    initializers = {spec_name(s) for s in study_variants(config, "initializers").values()}
    assert {spec_name(summary["deep_lstm_orthogonal"]), spec_name(summary["deep_lstm_glorot"])} <= initializers
    assert "irnn" in study_variants(config, "initializers")
    # every run of every study once; the shared ones are not counted twice
    separate = sum(len(study_runs(config, study)) for study in config["studies"])
    assert len(all_runs(config)) < separate
    assert len(all_runs(config)) == len(
        {(d, split, r, s) for study in config["studies"] for d, split, _, r, s in study_runs(config, study)}
    )


def test_splits_multiply_runs_and_only_other_splits_get_a_path_tag(config):
    """The robustness study's notebook-split runs are the summary's own (same folders), and each other
    split is its own run."""
    robustness = study_runs(config, "robustness")
    assert len(robustness) == 6 * 5 * 3
    assert {split for _, split, *_ in robustness} == {113, 1, 2, 3, 4}
    assert {split for _, split, *_ in study_runs(config, "summary")} == {113}
    assert split_tag(config, "reuters", 113) == "" and split_tag(config, "reuters", 1) == "-split1"
    assert split_tag(config, "sms_spam", 0) == "" and split_tag(config, "sms_spam", 113) == "-split113"
    trained = {(d, r, s) for study in ("summary", "improvements") for d, _, _, r, s in study_runs(config, study)}
    shared = {(d, r, s) for d, split, _, r, s in robustness if split == 113}
    assert shared <= trained and len(shared) == 6 * 3
    top = dict(copy.deepcopy(config), splits=[5, 6])
    assert study_splits(top, "summary", "reuters") == [5, 6]
    assert study_splits(top, "robustness", "reuters") == [1, 2, 3, 4, 113]


def test_default_study_stays_small(config):
    """`snakemake reports/summary.html` must not grow into the sweeps."""
    assert len(study_runs(config, "summary")) == 10 * 5  # nine networks and the linear baseline, 5 seeds


def test_a_named_variant_inside_a_sweep_keeps_its_name(config):
    config = copy.deepcopy(config)
    config["studies"]["capacity"]["variants"] = ["lstm"]
    labels = list(study_variants(config, "capacity"))
    assert labels[0] == "lstm" and "lstm-l1-u32-orth-d0-rd0" not in labels and len(labels) == 9


def test_a_sweeps_grid_leaves_out_the_named_variants_beside_it(config):
    from rnnbench.studies import grid_variants

    grid = grid_variants(config, "initializers")
    assert sorted(grid) == sorted(spec_name(s) for s in expand_sweep(config["sweeps"]["initializers"]))
    assert "lstm" in study_variants(config, "initializers") and "lstm" not in grid and "irnn" not in grid
    assert grid_variants(config, "summary") == []
