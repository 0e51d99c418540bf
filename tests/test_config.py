import copy
import json

import pytest
import yaml

from rnnbench.config import (
    ConfigError, canonical, coerce_command_line, coerce_to_schema, load_schema, train_slice, validate_config
)
from tests.conftest import REPO

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


@pytest.fixture
def config():
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_default_config_is_valid_and_holds_the_notebook_variants(config):
    validate_config(config, SCHEMA)
    assert config["seeds"] == [0, 1, 2, 3, 4]
    assert (config["epochs"], config["batch_size"], config["validation_split"]) == (40, 50, 0.3)
    notebook = ["deep_rnn", "lstm", "deep_lstm_orthogonal", "deep_lstm_glorot", "deep_lstm_glorot_rd0.05"]
    summary = config["studies"]["summary"]
    assert summary["datasets"] == ["reuters"]
    assert set(notebook + ["gru", "deep_gru"]) <= set(summary["variants"])
    assert set(config["studies"]) >= {"summary", "initializers", "dropout", "capacity", "sms_spam", "improvements"}
    assert config["variants"]["deep_lstm_glorot_rd0.05"]["recurrent_dropout"] == 0.05


def test_unknown_cell_names_variant_and_key(config):
    config["variants"]["lstm"]["cell"] = "mamba"
    with pytest.raises(ConfigError, match=r"variants\.lstm\.cell = \"mamba\""):
        validate_config(config, SCHEMA)


@pytest.mark.parametrize("cell, entry, message", [
    ("cnn", {"kernel_sizes": [3], "filters": 8, "bidirectional": True},
     r"variants\.v\.bidirectional: not a field of cell 'cnn' \(its fields: .*kernel_sizes"),
    ("transformer", {"layers": 1, "units": 10, "heads": 4, "ff_dim": 8}, r"variants\.v: units = 10 is not a multiple of heads = 4"),
    ("transformer", {"layers": 1, "units": 8, "heads": 2}, r"variants\.v: cell 'transformer' requires 'ff_dim'"),
    ("bow", {"layers": 1, "units": 8, "kernel_sizes": [3]}, r"variants\.v\.kernel_sizes: not a field of cell 'bow'"),
    ("lstm", {"layers": 1, "units": 8, "heads": 2}, r"variants\.v\.heads: not a field of cell 'lstm'"),
    ("cnn", {"kernel_sizes": [3], "filters": 8, "pooling": "last"}, r"variants\.v\.pooling = 'last': cell 'cnn' pools with max or mean"),
    ("custom", {"options": {"a": 1}}, r"variants\.v: cell 'custom' requires 'builder'"),
    ("custom", {"builder": "no colon"}, r"variants\.v\.builder = \"no colon\": .* does not match"),
])
def test_a_field_of_another_family_is_refused_by_name(config, cell, entry, message):
    config["variants"]["v"] = {"cell": cell, **entry}
    with pytest.raises(ConfigError, match=message):
        validate_config(config, SCHEMA)


@pytest.mark.parametrize(
    "path, value, expected",
    [
        (("variants", "gru", "units"), 0, r"variants\.gru\.units = 0"),
        (("variants", "gru", "dropout"), 1.0, r"variants\.gru\.dropout = 1\.0"),
        (("seeds",), [0, 0], r"seeds = \[0, 0\]"),
        (("epochs",), 0, r"epochs = 0"),
        (("splits",), [113, -1], r"splits\.1 = -1: -1 is less than the minimum of 0"),
        (("splits",), [113, 1.5], r"splits\.1 = 1\.5: 1\.5 is not of type 'integer'"),
        (("splits",), [1, 1], r"splits = \[1, 1\]: .* non-unique"),
        (("studies", "robustness", "splits"), ["a"], r"studies\.robustness\.splits\.0 = \"a\""),
        (("variants", "lstm", "pooling"), "attention", r"variants\.lstm\.pooling = \"attention\""),
        (("variants", "lstm", "lr_schedule"), "linear", r"variants\.lstm\.lr_schedule = \"linear\""),
        (("variants", "lstm", "label_smoothing"), 1, r"variants\.lstm\.label_smoothing = 1"),
        (("variants", "gru", "recurrent_initializer"), "zeros_please", r"recurrent_initializer = \"zeros_please\""),
    ],
)
def test_bad_values_are_named(config, path, value, expected):
    target = config
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ConfigError, match=expected):
        validate_config(config, SCHEMA)


def test_misspelled_key_is_an_error_not_a_default(config):
    config["variants"]["gru"]["unit"] = 64
    with pytest.raises(ConfigError, match=r"variants\.gru: unknown key\(s\) 'unit'"):
        validate_config(config, SCHEMA)


def test_command_line_lists_are_typed():
    assert coerce_command_line({"seeds": ["0", "1"], "epochs": 2}) == {"seeds": [0, 1], "epochs": 2}
    assert coerce_command_line({"seeds": ["x"]}) == {"seeds": ["x"]}


def test_nested_command_line_numbers_are_typed_where_the_schema_wants_numbers(config):
    """Snakemake leaves a number under a nested --config key a string; the schema says which are numbers."""
    command_line = {"datasets": {"reuters": {"maxlen": "200", "sha256": "1" * 64}},
                    "variants": {"gru": {"units": "64", "dropout": "0.1"}}}
    reuters = config["datasets"]["reuters"]
    reuters.update(command_line["datasets"]["reuters"])
    config["variants"]["gru"].update(command_line["variants"]["gru"])
    config["variants"]["lstm"]["units"] = "32"  # quoted in a config file: not the command line's
    coerce_to_schema(config, load_schema(SCHEMA), command_line)
    assert (reuters["maxlen"], config["variants"]["gru"]["units"], config["variants"]["gru"]["dropout"]) == (200, 64, 0.1)
    assert reuters["sha256"] == "1" * 64, "a string the schema wants as a string stays one"
    assert config["variants"]["lstm"]["units"] == "32", "a config file's string stays a string, and is refused"
    config["variants"]["lstm"]["units"] = 32
    validate_config(config, SCHEMA)
    reuters["maxlen"] = command_line["datasets"]["reuters"]["maxlen"] = "long"
    coerce_to_schema(config, load_schema(SCHEMA), command_line)
    with pytest.raises(ConfigError, match=r"datasets\.reuters\.maxlen = \"long\""):
        validate_config(config, SCHEMA)


@pytest.mark.slow
def test_a_nested_config_override_reaches_the_jobs_typed(tiny_workflow):
    plan = tiny_workflow.run("-n", "reports/summary.html", "--config", "datasets={reuters: {maxlen: 20}}")
    assert "pad" in plan.stdout
    plan = tiny_workflow.run("-n", "reports/summary.html", "--config", "datasets={reuters: {maxlen: x}}", check=False)
    assert plan.returncode != 0 and "datasets.reuters.maxlen" in plan.stdout + plan.stderr


def test_train_slice_ignores_key_order_defaults_and_other_variants(config):
    from rnnbench.studies import spec_name

    reordered = copy.deepcopy(config)
    reordered["variants"]["lstm"] = dict(reversed(list(config["variants"]["lstm"].items())), bidirectional=False)
    reordered["variants"]["gru"]["units"] = 64
    lstm, gru = spec_name(config["variants"]["lstm"]), spec_name(config["variants"]["gru"])
    assert spec_name(reordered["variants"]["lstm"]) == lstm
    assert train_slice(reordered, "reuters", reordered["variants"]["lstm"]) == train_slice(
        config, "reuters", config["variants"]["lstm"])
    assert spec_name(reordered["variants"]["gru"]) != gru  # an edited spec is another run


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda c: c["studies"]["summary"]["variants"].append("nope"), r"studies\.summary\.variants: no variant named 'nope'"),
        (lambda c: c["studies"]["capacity"].update(sweeps=["nope"]), r"studies\.capacity\.sweeps: no sweep named 'nope'"),
        (lambda c: c["studies"]["sms_spam"].update(datasets=["imdb"]), r"studies\.sms_spam\.datasets: no dataset named 'imdb'"),
        (lambda c: c["sweeps"]["capacity"]["grid"].update(units=[]), r"sweeps\.capacity\.grid\.units = \[\]"),
        (lambda c: c["sweeps"]["capacity"]["grid"].update(colour=["red"]), r"sweeps\.capacity\.grid: unknown key\(s\) 'colour'"),
        (lambda c: c["sweeps"]["capacity"]["base"].update(layers=2), r"sweeps\.capacity: layers both in base and in grid"),
        (lambda c: c["variants"].update(lstm_again=dict(c["variants"]["lstm"])), r"variants\.lstm_again: the same spec as variants\.lstm"),
        (lambda c: c["datasets"]["sms_spam"].pop("label"), r"datasets\.sms_spam: 'label' is required by loader 'table'"),
        (lambda c: c["datasets"]["reuters"].update(text="body"),
         r"datasets\.reuters\.text: not a field of loader 'reuters' \(its fields: .*\)"),
        (lambda c: c["datasets"]["sms_spam"].update(path="sms.tsv"), r"datasets\.sms_spam: give exactly one of path, url \(got path, url\)"),
        (lambda c: c["datasets"]["sms_spam"].update(maxlen=40), r"give exactly one of maxlen, maxlen_quantile"),
        (lambda c: c["datasets"]["sms_spam"].pop("sha256"), r"datasets\.sms_spam: 'sha256' is required with url"),
        (lambda c: c["datasets"]["sms_spam"].update(split_column="part"),
         r"datasets\.sms_spam\.split_seed: only for a stratified split, and split_column gives the split"),
        (lambda c: c["datasets"].update(mine={"loader": "table", "path": "t.csv", "filename": "t.csv", "text": "t",
                                              "label": "l", "maxlen": 9, "num_words": 9, "embedding_dim": 4}),
         r"datasets\.mine\.filename: only with url"),
    ],
)
def test_bad_studies_and_sweeps_are_named(config, edit, expected):
    edit(config)
    with pytest.raises(ConfigError, match=expected):
        validate_config(config, SCHEMA)
    assert canonical({"b": 1, "a": 2}) == '{"a":2,"b":1}'


def test_splits_of_a_dataset_with_one_fixed_split_are_refused(config):
    """A table with a split column (or a test file) has one split; a study asking it for others is
    named, with the dataset; Reuters and a stratified table take a split seed."""
    from rnnbench.config import split_problems

    assert split_problems(config) == []
    config["studies"]["sms_spam"]["splits"] = [0, 1]
    assert split_problems(config) == []
    config["datasets"]["sms_spam"] = {key: value for key, value in config["datasets"]["sms_spam"].items()
                                      if key not in ("split_seed", "test_fraction")}
    config["datasets"]["sms_spam"]["split_column"] = "part"
    (problem,) = split_problems(config)
    assert problem.startswith("studies.sms_spam.splits = [0, 1]: dataset 'sms_spam' has one fixed split (its split_column)")
    config["datasets"]["reuters-split2"] = config["datasets"]["reuters"]
    with pytest.raises(ConfigError, match=r"datasets\.reuters-split2: a name ending in -split<number> is kept"):
        validate_config(config, SCHEMA)


def test_a_spec_is_read_once_and_handed_on_unchanged():
    """Spec.of fills defaults and types once; the train rule's JSON gives the same Spec back, which
    build_model takes as it is."""
    from rnnbench.config import TrainSettings, train_slice
    from rnnbench.models import SPEC_DEFAULTS, Spec

    entry = {"cell": "lstm", "layers": 1, "units": 32, "dropout": 0, "learning_rate": 1e-3}
    spec = Spec.of(entry)
    assert spec == Spec.of({**SPEC_DEFAULTS, **entry, "dropout": 0.0}) and isinstance(spec.dropout, float)
    assert Spec.of(spec) is spec
    with pytest.raises(ValueError, match="unknown spec field"):
        Spec.of({**entry, "unit": 3})
    config = {"datasets": {"reuters": {"embedding_dim": 8}}, "epochs": 2, "batch_size": 16, "validation_split": 0.25}
    text = train_slice(config, "reuters", entry)
    settings = TrainSettings.from_json(text)
    assert settings.variant == spec and settings.to_json() == text
    assert TrainSettings.of(json.loads(text)) == settings


def test_the_pad_rule_gets_the_split_it_builds(config):
    from rnnbench.config import pad_slice

    assert json.loads(pad_slice(config, "reuters", 113))["split_seed"] == 113
    assert json.loads(pad_slice(config, "sms_spam", 4))["split_seed"] == 4
    assert pad_slice(config, "reuters", 1) != pad_slice(config, "reuters", 2)


def test_the_notebooks_specs_keep_the_train_params_they_had_before_the_other_families(config):
    """The train rule's params of the notebook's LSTM, as the version before cnn/transformer/custom wrote
    them (0852220): the later families' fields stay out of older specs, so no finished run is stale."""
    assert train_slice(config, "reuters", config["variants"]["lstm"]) == (
        '{"batch_size":50,"embedding_dim":256,"epochs":40,"validation_split":0.3,"variant":{"activation":"tanh",'
        '"bidirectional":false,"cell":"lstm","dropout":0.0,"early_stopping":0,"embedding_dropout":0.0,'
        '"engine":"fused","label_smoothing":0.0,"layers":1,"learning_rate":0.001,"lr_schedule":"constant",'
        '"mask_zero":false,"pooling":"last","recurrent_dropout":0.0,"recurrent_initializer":"orthogonal",'
        '"spatial_dropout":0.0,"units":32}}')
