"""Config validation and the canonical config slices each rule receives."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Mapping

import yaml

from rnnbench.models import ESTIMATORS, Spec, family_problems
from rnnbench.settings import (  # noqa: F401
    TABLE_DEFAULTS, ConfigError, TrainSettings, canonical, check_rows, training_rows,
)


def _location(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def _describe(error) -> str:
    """One line naming the offending key, its value and what was expected."""
    where = _location(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        hint = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
        return f"{where}: unknown key(s) {', '.join(map(repr, extra))}{hint}"
    if "propertyNames" in error.schema_path and error.validator == "enum":
        return f"{where}: {error.instance!r} is not a field it can draw (fields: {', '.join(error.validator_value)})"
    if "propertyNames" in error.schema_path:
        return (
            f"{where}: invalid name {error.instance!r}: names are used in file paths, so they must start "
            "with a letter or digit and hold only letters, digits, '_', '-' and '.'"
        )
    if error.validator == "required":
        return f"{where}: {error.message}"
    return f"{where} = {json.dumps(error.instance)}: {error.message}"


# libyaml's parser where PyYAML has it (the same documents, read ~8x faster), else PyYAML's own
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_schema(schema_path: str | Path) -> dict:
    with open(schema_path) as handle:
        return yaml.load(handle, Loader=SAFE_LOADER)


def coerce_command_line(config: dict) -> dict:
    """Type the items of lists given with ``--config`` (``seeds=[0,1]``), in place.

    Snakemake parses such a list with YAML's BaseLoader, which leaves every item a
    string; read each string item as a YAML scalar so that "0" becomes 0 while
    "x" stays "x" (and is then rejected by the schema, by name).
    """
    for key, value in config.items():
        if isinstance(value, dict):
            coerce_command_line(value)
        elif isinstance(value, list):
            config[key] = [_scalar(item) for item in value]
    return config


def coerce_to_schema(config: dict, schema: Mapping[str, Any], command_line: Mapping[str, Any]) -> dict:
    """Type, in place, every string given on the command line (``command_line``: Snakemake's parsed
    ``--config``) that the schema wants as a number, where it reads as one: ``--config
    'datasets={reuters: {maxlen: 200}}'`` leaves ``"200"`` a string at any depth, so a nested value is
    typed as a top-level one is. A string from a config file, or one the schema wants as a string,
    stays a string."""
    validator = _validator_class()(schema)
    wanted = {"integer": (int,), "number": (int, float)}

    def type_errors(errors):
        for error in errors:
            if error.validator == "type" and isinstance(error.instance, str):
                yield error
            yield from type_errors(error.context or ())

    for _ in range(100):  # each pass types what the last one uncovered; a config is never that deep
        changed = False
        for error in type_errors(validator.iter_errors(config)):
            types = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
            value = _scalar(error.instance)
            given = command_line
            for key in error.absolute_path:
                given = given.get(key) if isinstance(given, Mapping) else None
            if given == error.instance and isinstance(value, tuple(t for name in types for t in wanted.get(name, ()))):
                *parents, last = error.absolute_path
                holder = config
                for key in parents:
                    holder = holder[key]
                if holder[last] == error.instance:
                    holder[last] = value
                    changed = True
        if not changed:
            break
    return config


def _scalar(item):
    if not isinstance(item, str):
        return item
    try:
        parsed = yaml.safe_load(item)
    except yaml.YAMLError:
        return item
    return parsed if isinstance(parsed, (int, float)) and not isinstance(parsed, bool) else item


def _validator_class():
    """Draft 2020-12 with a strict integer: JSON Schema counts 2.0 as an integer, but a seed of 0.0
    would name a run folder seed0.0 and Keras refuses an epoch count of 2.0."""
    from jsonschema import Draft202012Validator, validators

    checker = Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
    )
    return validators.extend(Draft202012Validator, type_checker=checker)


def validate_config(config: Mapping[str, Any], schema_path: str | Path) -> None:
    """Raise ConfigError listing every problem, each with its key path and value."""
    problems = non_finite_numbers(config)
    if not problems:
        schema = load_schema(schema_path)
        errors = sorted(_validator_class()(schema).iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
        problems = [_describe(e) for e in errors] or space_value_problems(config, schema)
    problems += _semantic_problems(config) if not problems else []
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))


def space_value_problems(config: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """Each search's choices and range ends against the schema of the spec field they stand for."""
    from rnnbench.search import space_values

    problems = []
    for name, search in config.get("searches", {}).items():
        for field, domain in search["space"].items():
            field_schema = {"$defs": schema["$defs"], "$ref": f"#/$defs/variant_fields/properties/{field}"}
            validator = _validator_class()(field_schema)
            for value in space_values(domain):
                problems += [f"searches.{name}.space.{field}: {value!r}: {error.message}"
                             for error in validator.iter_errors(value)]
    return problems


def non_finite_numbers(value: Any, path: tuple = ()) -> list[str]:
    """Every NaN or infinity in the config, by key: JSON Schema's bounds let NaN through."""
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return [f"{_location(path)} = {value}: not a finite number"]
    if isinstance(value, Mapping):
        return [problem for key, item in value.items() for problem in non_finite_numbers(item, (*path, key))]
    if isinstance(value, list):
        return [problem for index, item in enumerate(value) for problem in non_finite_numbers(item, (*path, index))]
    return []


def duplicate_keys(path: str | Path) -> list[str]:
    """Keys written twice in one mapping of a YAML file, with both line numbers: YAML keeps the last
    without a word."""
    problems = []

    def walk(node, where):
        if isinstance(node, yaml.MappingNode):
            seen = {}
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else str(key.value)
                if name in seen:
                    problems.append(
                        f"{_location((*where, name))}: written twice in {path}, lines {seen[name] + 1} and "
                        f"{key.start_mark.line + 1} (YAML would keep the second without a word)"
                    )
                seen.setdefault(name, key.start_mark.line)
                walk(value, (*where, name))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*where, index))

    with open(path) as handle:
        walk(yaml.compose(handle, Loader=SAFE_LOADER), ())
    return problems


def with_defaults(config: Mapping[str, Any], defaults_path: str | Path) -> dict:
    """``config`` merged over the config file at ``defaults_path``, key by key at every depth, as
    Snakemake merges a ``--configfile`` over the workflow's own."""
    from snakemake.utils import update_config

    with open(defaults_path) as handle:
        merged = yaml.load(handle, Loader=SAFE_LOADER)
    update_config(merged, copy.deepcopy(dict(config)))
    return merged


def load_config(root, configfiles=(), overrides=()) -> dict:
    """The config as Snakemake builds it for the workflow at ``root``: config.yaml, then each
    ``--configfile`` (relative to ``root``) merged over it, then the ``--config`` overrides."""
    from snakemake.cli import parse_config
    from snakemake.common.configfile import load_configfile
    from snakemake.utils import update_config

    config = load_configfile(str(Path(root) / "config.yaml"))
    for path in configfiles:
        update_config(config, load_configfile(str(Path(root) / path)))
    update_config(config, parse_config(list(overrides)))
    return config


def check_config_files(paths) -> None:
    """Refuse config files that YAML reads with a silent loss (duplicate keys)."""
    problems = [problem for path in paths for problem in duplicate_keys(path)]
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))


def _semantic_problems(config: Mapping[str, Any]) -> list[str]:
    """Checks that JSON Schema cannot express."""
    from rnnbench.search import draw_problems, range_problems, space_values
    from rnnbench.studies import spec_name, trial_seed

    problems = []
    for name in config.get("notebook", {}):
        if name not in config["variants"]:
            problems.append(f"notebook.{name}: no variant named {name!r} in variants")
    for study, entry in config.get("studies", {}).items():
        if not entry.get("variants") and not entry.get("sweeps") and not entry.get("searches"):
            problems.append(f"studies.{study}: no variants, sweeps or searches, so nothing to train")
        for key in ("datasets", "variants", "sweeps", "searches"):
            for name in entry.get(key, []):
                if name not in config.get(key, {}):
                    problems.append(f"studies.{study}.{key}: no {key[:-2] if key == 'searches' else key[:-1]} "
                                    f"named {name!r} in {key}")
        if "trial_seed" in entry and not entry.get("searches"):
            problems.append(f"studies.{study}.trial_seed: only for a study with searches (the seed its trials train under)")
        if entry.get("searches") and trial_seed(config, study) in entry.get("seeds", config["seeds"]):
            problems.append(
                f"studies.{study}.trial_seed = {trial_seed(config, study)}: one of the study's seeds; the "
                "trials' seed is kept apart from the seeds that retrain the chosen trials"
            )
    for label, spec in config["variants"].items():
        problems += family_problems(f"variants.{label}", spec)
    for sweep, entry in config.get("sweeps", {}).items():
        problems += partial_spec_problems(f"sweeps.{sweep}", entry["base"], entry["grid"], "grid")
    for search, entry in config.get("searches", {}).items():
        fills = {field: space_values(domain) for field, domain in entry["space"].items()}
        found = partial_spec_problems(f"searches.{search}", entry["base"], fills, "space", drawn_again=True)
        found += range_problems(search, entry)
        problems += found or draw_problems(search, entry)
    problems += split_problems(config)
    if problems:
        return problems
    problems += _length_problems(config, {name: entry["maxlen"] for name, entry in config["datasets"].items()
                                          if "maxlen" in entry})
    if problems:
        return problems
    names: dict[str, str] = {}
    for label, spec in config["variants"].items():
        other = names.setdefault(spec_name(spec), label)
        if other != label:
            problems.append(
                f"variants.{label}: the same spec as variants.{other} ({spec_name(spec)}); "
                "a variant's identity is its spec, so keep one name"
            )
    return problems


def _length_problems(config: Mapping[str, Any], maxlen: Mapping[str, int]) -> list[str]:
    """Each study's variants against the padded length of each of its datasets whose length is known
    (``maxlen``: dataset -> length), named by both keys."""
    from rnnbench.models import length_problems
    from rnnbench.studies import studies, study_variants

    problems = []
    for study, entry in studies(config).items():
        for dataset in (d for d in entry.get("datasets", []) if d in maxlen):
            for label, spec in study_variants(config, study).items():
                problems += [f"studies.{study}, datasets.{dataset}: {label}'s {problem}"
                             for problem in length_problems(spec, maxlen[dataset])]
    return problems


def partial_spec_problems(where: str, base: Mapping[str, Any], fills: Mapping[str, list], word: str,
                          drawn_again: bool = False) -> list[str]:
    """A base spec that a sweep's grid or a search's space (``word``; field -> its values) completes: a
    cell in one of them, each cell's family's fields on the first value of each (a required one in
    base or ``word``), no field in both. ``drawn_again``: a search draws a combination its family
    refuses again, so units that are no multiple of heads are not a problem there."""
    problems = []
    cells = fills.get("cell", [base.get("cell")])
    if None in cells:
        problems.append(f"{where}: cell neither in base nor in {word}")
    for cell in (c for c in cells if c is not None):
        fields = {**base, **{key: values[0] for key, values in fills.items()}, "cell": cell}
        problems += [problem.replace(" requires ", f" requires, in base or {word}, ")
                     for problem in family_problems(where, fields)
                     if not (drawn_again and "is not a multiple" in problem)]
    clash = sorted(set(base) & set(fills))
    if clash:
        problems.append(f"{where}: {', '.join(clash)} both in base and in {word}")
    return problems


KIND_FIELDS = {
    "reuters": {"loader", "filename", "url", "sha256", "member", "num_words", "maxlen", "embedding_dim", "padding",
                "split_seed"},
    "table": {"loader", "path", "url", "filename", "member", "sha256", "format", "columns", "encoding", "text", "label",
              "split_column", "test_path", "test_fraction", "split_seed", "num_words", "maxlen", "maxlen_quantile",
              "truncating", "standardize", "token_split", "positive_class", "embedding_dim", "padding"},
}


def dataset_problems(name: str, entry: Mapping[str, Any]) -> list[str]:
    """What one dataset entry's kind requires and refuses, each naming its key."""
    where, kind = f"datasets.{name}", entry["loader"]
    problems = [f"{where}.{key}: not a field of loader {kind!r} (its fields: {', '.join(sorted(KIND_FIELDS[kind]))})"
                for key in sorted(set(entry) - KIND_FIELDS[kind])]

    def need(*keys, why):
        problems.extend(f"{where}: {key!r} is required {why}" for key in keys if key not in entry)

    def one_of(*keys):
        given = [key for key in keys if key in entry]
        if len(given) != 1:
            problems.append(f"{where}: give exactly one of {', '.join(keys)}" + (f" (got {', '.join(given)})" if given else ""))

    if kind == "reuters":
        need("filename", "url", "sha256", "maxlen", "padding", why="by loader 'reuters'")
        return problems
    need("text", "label", why="by loader 'table'")
    one_of("path", "url")
    one_of("maxlen", "maxlen_quantile")
    if "url" in entry:
        need("filename", "sha256", why="with url (the file's name in the Keras cache and its digest)")
    else:
        problems.extend(f"{where}.{key}: only with url (a local path is read where it is)"
                        for key in ("filename", "member") if key in entry)
    given = [key for key in ("split_column", "test_path") if key in entry]
    if len(given) > 1:
        problems.append(f"{where}: give split_column or test_path, not both")
    problems.extend(f"{where}.{key}: only for a stratified split, and {given[0]} gives the split"
                    for key in ("test_fraction", "split_seed") if given and key in entry)
    return problems


def split_problems(config: Mapping[str, Any]) -> list[str]:
    """Dataset entries their kind refuses; splits asked of a dataset with one fixed split; dataset names
    that a split's path tag would clash with."""
    import re

    from rnnbench.data import split_seed
    from rnnbench.studies import studies

    problems = []
    for name, dataset in config["datasets"].items():
        if re.search(r"-split\d+$", name):
            problems.append(f"datasets.{name}: a name ending in -split<number> is kept for a split's data")
        problems += dataset_problems(name, dataset)
    if problems:
        return problems
    for study, entry in studies(config).items():
        where, splits = (f"studies.{study}.splits", entry["splits"]) if "splits" in entry else ("splits", config.get("splits"))
        for name in entry.get("datasets", []) if splits else []:
            dataset = config["datasets"].get(name)
            if dataset is not None and split_seed(dataset) is None:
                problems.append(
                    f"{where} = {json.dumps(splits)}: dataset {name!r} has one fixed split (its "
                    f"{'split_column' if 'split_column' in dataset else 'test_path'}); only a seeded split "
                    "(reuters, or a table without a given split) can be drawn again"
                )
    return problems


def padded_rows(padded_npz) -> int:
    """The rows of a padded dataset's training split (one array's length: cheap), or ``BadFile``."""
    from rnnbench.io import load_npz

    return len(load_npz(padded_npz, ["y_train"], only=["y_train"])["y_train"])


def padded_length(padded_npz) -> int:
    """The length a padded dataset's sequences were padded to (from its smaller, test split), or ``BadFile``."""
    from rnnbench.io import BadFile, load_npz

    x_test = load_npz(padded_npz, ["x_test"], only=["x_test"])["x_test"]
    if x_test.ndim != 2:
        raise BadFile(padded_npz, f"x_test has {x_test.ndim} dimensions, not 2")
    return int(x_test.shape[1])


def check_workflow_config(config: dict, schema_path: str | Path, configfiles=(), padded: str = "data/padded/{}.npz",
                          command_line: Mapping[str, Any] | None = None) -> None:
    """Everything the workflow checks when it is parsed, before any job: the config files (duplicate keys),
    the config (typed from the command line, then the schema and what it cannot express), and where a
    dataset's padded file exists, the rows its settings leave and, for a length from ``maxlen_quantile``,
    the length its variants need (an unreadable file is left to the jobs that read it: they name it, and
    it never blocks ``--unlock``, ``-n`` or its own rebuild). ``command_line``:
    Snakemake's parsed ``--config``, whose numbers are typed at any depth (``coerce_to_schema``)."""
    from rnnbench.io import BadFile

    check_config_files(configfiles)
    coerce_command_line(config)
    coerce_to_schema(config, load_schema(schema_path), command_line or {})
    validate_config(config, schema_path)
    lengths = {}
    for dataset, entry in config["datasets"].items():
        path = padded.format(dataset)
        try:
            check_rows(config["batch_size"], config["validation_split"], dataset, padded_rows(path))
            if "maxlen" not in entry:  # a fixed maxlen was checked with the config; a quantile's, once padded
                lengths[dataset] = padded_length(path)
        except BadFile:
            continue
    problems = _length_problems(config, lengths)
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))


def train_slice(config: Mapping[str, Any], dataset: str, spec: Spec | Mapping[str, Any]) -> str:
    """The train rule's settings for one run (``TrainSettings``), canonically encoded. Snakemake
    compares this string to the one recorded for an existing output, so editing one dataset's
    settings or one variant marks only its own jobs as stale."""
    spec = Spec.of(spec)
    by_epochs = spec.cell not in ESTIMATORS  # a scikit-learn fit takes no embedding, epochs or batches
    return TrainSettings(
        # The data itself reaches the job as its input file; of the dataset's settings only the
        # model-shaping one belongs here.
        variant=spec,
        embedding_dim=config["datasets"][dataset]["embedding_dim"] if by_epochs else None,
        epochs=config["epochs"] if by_epochs else None,
        batch_size=config["batch_size"] if by_epochs else None,
        validation_split=config["validation_split"],
    ).to_json()


DOWNLOAD_KEYS = ("filename", "url", "sha256", "member")
# Where a table's files are: the pad rule's inputs, which Snakemake tracks itself.
FILE_KEYS = DOWNLOAD_KEYS + ("path", "test_path")


def pad_slice(config: Mapping[str, Any], dataset: str, split: int) -> str:
    """The dataset's loader settings (everything but where its files come from), for one split, with a
    table's defaults written out, so that writing a default out changes nothing."""
    spec = config["datasets"][dataset]
    settings = {key: value for key, value in spec.items() if key not in FILE_KEYS + ("embedding_dim",)}
    if spec["loader"] == "table":
        fixed = "split_column" in spec or "test_path" in spec
        defaults = {k: v for k, v in TABLE_DEFAULTS.items() if not (fixed and k in ("test_fraction", "split_seed"))}
        settings = {**defaults, **settings}
    return canonical(dict(settings, split_seed=int(split)))


def download_slice(config: Mapping[str, Any], dataset: str) -> str:
    spec = config["datasets"][dataset]
    return canonical({key: spec[key] for key in DOWNLOAD_KEYS if key in spec})


def report_slice(config: Mapping[str, Any], study: str) -> str:
    """What one study's report shows about its settings: its datasets, variants (label -> spec), the
    variants of its sweeps' grids, seeds, and a search study's searches and trial seed."""
    from rnnbench.studies import (
        grid_variants, study_seeds, study_splits, study_variants, studies, sweep_axes, trial_seed,
    )

    entry = studies(config)[study]
    searches = {"searches": {name: config["searches"][name] for name in entry["searches"]},
                "trial_seed": trial_seed(config, study)} if entry.get("searches") else {}
    return canonical(
        {
            **searches,
            "study": study,
            "description": entry.get("description", ""),
            "datasets": {name: config["datasets"][name] for name in entry["datasets"]},
            "variants": {label: spec.as_dict() for label, spec in study_variants(config, study).items()},
            "axes": sweep_axes(config, study),
            "grid": grid_variants(config, study),
            "seeds": study_seeds(config, study),
            "splits": {name: study_splits(config, study, name) for name in entry["datasets"]},
            "epochs": config["epochs"],
            "batch_size": config["batch_size"],
            "validation_split": config["validation_split"],
            "notebook": study_notebook(config, study),
        }
    )


def study_notebook(config: Mapping[str, Any], study: str) -> dict[str, float]:
    """The notebook's single-run accuracies of the study's named variants, where it runs on Reuters."""
    from rnnbench.studies import studies

    entry = studies(config)[study]
    return {
        label: accuracy
        for label, accuracy in config.get("notebook", {}).items()
        if label in entry.get("variants", []) and "reuters" in entry["datasets"]
    }
