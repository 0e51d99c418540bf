"""Studies, sweeps and run identity.

A run is identified by (dataset, split, spec, seed). The spec's readable name (``spec_name``) is its
folder, so two studies that contain the same spec share its trained runs. A study lists named
variants, sweeps (a base spec and a grid over any of its fields) and searches (a base spec, a space
and a number of trials drawn at random, ``rnnbench.search``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any, Mapping

from rnnbench.models import BASELINES, SPEC_DEFAULTS, Spec

DEFAULT_STUDY = "summary"
DEFAULT_TRIAL_SEED = 100

INITIALIZERS = {
    "orthogonal": "orth", "glorot_uniform": "glorot", "glorot_normal": "glorotn", "he_normal": "he",
    "he_uniform": "heu", "lecun_normal": "lecun", "lecun_uniform": "lecunu", "identity": "id",
    "random_normal": "rn", "random_uniform": "ru",
}


def _number(value) -> str:
    """Shortest exact text of a number, with only path-safe characters: 0.05, 0, 1e38."""
    value = float(value)
    text = str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return text.replace("+", "")


def spec_name(spec: Spec | Mapping[str, Any]) -> str:
    """A deterministic, readable name that encodes every field of the normalised spec.

    ``lstm-l2-u64-orth-d0.2-rd0.05``; optional fields appear only when they differ from
    their default: ``-relu``, ``-bi``, ``-mask``, ``-ed0.3``, ``-lr0.003``, ``-es5``, ``-pmax``,
    ``-sd0.2``, ``-cosine``, ``-ls0.1``, ``-keras``; a linear model names every field of its own.
    Different specs get different names (each field maps to its own token), so the name
    can serve as the run's identity.
    """
    spec = Spec.of(spec).as_dict()
    cell = spec["cell"]
    if cell == "linear":  # every field of its own, always: linear-svm-n1-tfidf-sub-df1-l2-c1
        parts = [cell, spec["classifier"], f"n{spec['ngrams']}", spec["weighting"], "sub" if spec["sublinear_tf"] else "",
                 f"df{spec['min_df']}", spec["norm"], f"c{_number(spec['C'])}", spec["class_weight"]]
        return "-".join(part for part in parts if part)
    if cell in ("custom", "sklearn"):
        parts = [cell, spec["builder"].replace(":", ".")]
        if spec.get("options"):
            options = json.dumps(spec["options"], sort_keys=True, separators=(",", ":"))
            parts.append("o" + hashlib.sha256(options.encode()).hexdigest()[:10])
        if cell == "sklearn":
            return "-".join(parts)
    elif cell == "cnn":
        parts = [cell, "k" + ".".join(map(str, spec["kernel_sizes"])), f"f{spec['filters']}"]
    elif cell == "transformer":
        parts = [cell, f"l{spec['layers']}", f"u{spec['units']}", f"h{spec['heads']}", f"ff{spec['ff_dim']}"]
    else:
        parts = [cell, f"l{spec['layers']}", f"u{spec['units']}"]
    if cell not in BASELINES:
        parts.append(INITIALIZERS[spec["recurrent_initializer"]])
    if cell != "custom":
        parts.append(f"d{_number(spec['dropout'])}")
    if cell not in BASELINES:
        parts.append(f"rd{_number(spec['recurrent_dropout'])}")
    optional = {
        "activation": lambda v: v,
        "bidirectional": lambda v: "bi",
        "mask_zero": lambda v: "mask",
        "embedding_dropout": lambda v: f"ed{_number(v)}",
        "learning_rate": lambda v: f"lr{_number(v)}",
        "early_stopping": lambda v: f"es{v}",
        "pooling": lambda v: f"p{v}",
        "spatial_dropout": lambda v: f"sd{_number(v)}",
        "lr_schedule": lambda v: v,
        "label_smoothing": lambda v: f"ls{_number(v)}",
        "engine": lambda v: v,
    }
    for key, token in optional.items():
        if spec[key] != SPEC_DEFAULTS[key]:
            parts.append(token(spec[key]))
    return "-".join(parts)


def expand_sweep(sweep: Mapping[str, Any]) -> list[Spec]:
    """Every spec of a sweep's grid (base updated by one combination), in a fixed order, without duplicates."""
    axes = sorted(sweep["grid"])
    specs, seen = [], set()
    for values in itertools.product(*(sweep["grid"][axis] for axis in axes)):
        spec = Spec.of({**sweep["base"], **dict(zip(axes, values))})
        name = spec_name(spec)
        if name not in seen:
            seen.add(name)
            specs.append(spec)
    return specs


def study_variants(config: Mapping[str, Any], study: str) -> dict[str, Spec]:
    """The study's variants as label -> spec, in the order the study lists them.

    Named variants keep their names as labels; sweep entries are labelled by their spec name.
    A spec that appears twice in one study (a named variant also in a sweep) is kept once,
    under its first label.
    """
    entry = studies(config)[study]
    variants: dict[str, dict] = {}
    names: set[str] = set()
    candidates = [(label, config["variants"][label]) for label in entry.get("variants", [])]
    for sweep in entry.get("sweeps", []):
        candidates += [(spec_name(spec), spec) for spec in expand_sweep(config["sweeps"][sweep])]
    for label, spec in candidates:
        spec = Spec.of(spec)
        if spec_name(spec) not in names:
            names.add(spec_name(spec))
            variants[label] = spec
    return variants


def sweep_axes(config: Mapping[str, Any], study: str) -> list[str]:
    """The fields the study's sweeps vary (sorted), for its marginal plots."""
    entry = studies(config)[study]
    return sorted({axis for sweep in entry.get("sweeps", []) for axis in config["sweeps"][sweep]["grid"]})


def studies(config: Mapping[str, Any]) -> dict[str, dict]:
    """The config's studies; without a ``studies`` block, ``summary`` holds every variant on every dataset."""
    return config.get("studies") or {
        DEFAULT_STUDY: {"datasets": sorted(config["datasets"]), "variants": list(config["variants"])}
    }


def study_seeds(config: Mapping[str, Any], study: str) -> list[int]:
    return sorted(studies(config)[study].get("seeds", config["seeds"]))


def default_split(config: Mapping[str, Any], dataset: str) -> int:
    """The dataset's own split: its split seed (``rnnbench.data.split_seed``; Reuters: Keras's 113), or 0
    where the dataset's split is fixed."""
    from rnnbench.data import split_seed

    seed = split_seed(config["datasets"][dataset])
    return 0 if seed is None else seed


def study_splits(config: Mapping[str, Any], study: str, dataset: str) -> list[int]:
    """The data splits (split seeds) a study trains on: its ``splits``, else the top-level ones,
    else the dataset's own split only."""
    splits = studies(config)[study].get("splits", config.get("splits"))
    return sorted(splits) if splits else [default_split(config, dataset)]


def split_tag(config: Mapping[str, Any], dataset: str, split: int) -> str:
    """The split's part of its data and run paths: nothing for the dataset's own split (so its runs
    keep their folders), ``-split<seed>`` for any other."""
    return "" if int(split) == default_split(config, dataset) else f"-split{int(split)}"


def study_runs(
    config: Mapping[str, Any], study: str, chosen: Mapping[str, Mapping[str, str]] | None = None
) -> list[tuple[str, int, str, str, int]]:
    """(dataset, split, label, run name, seed) of every run a study compares, sorted so that reordering
    config.yaml changes nothing downstream. ``chosen``: dataset -> search -> the run name of its
    validation-best trial, retrained under the study's seeds and splits and labelled by the search."""
    variants = study_variants(config, study)
    runs = {
        (dataset, split, label, spec_name(spec), seed)
        for dataset in studies(config)[study]["datasets"]
        for split in study_splits(config, study, dataset)
        for label, spec in variants.items()
        for seed in study_seeds(config, study)
    }
    runs |= {
        (dataset, split, search, run, seed)
        for dataset, by_search in (chosen or {}).items()
        for search, run in by_search.items()
        for split in study_splits(config, study, dataset)
        for seed in study_seeds(config, study)
    }
    return sorted(runs)


def search_trials(config: Mapping[str, Any], search: str) -> list[Spec]:
    """A search's trials in trial order (``rnnbench.search.draw_trials``)."""
    from rnnbench.search import draw_trials

    return draw_trials(config["searches"][search], f"searches.{search}")


def trial_seed(config: Mapping[str, Any], study: str) -> int:
    """The one seed a search study trains its trials under, kept apart from the seeds that retrain
    the chosen trials (so a chosen trial's score is never its own selection's)."""
    return studies(config)[study].get("trial_seed", DEFAULT_TRIAL_SEED)


def study_trials(config: Mapping[str, Any], study: str) -> list[tuple[str, int, str, str, str, int]]:
    """(dataset, split, search, trial label, run name, seed) of every trial of a study's searches, on
    each dataset's own split, in search and trial order."""
    from rnnbench.search import trial_label

    entry = studies(config)[study]
    return [
        (dataset, default_split(config, dataset), search, trial_label(search, index), spec_name(spec),
         trial_seed(config, study))
        for dataset in entry["datasets"]
        for search in entry.get("searches", [])
        for index, spec in enumerate(search_trials(config, search))
    ]


def run_specs(config: Mapping[str, Any]) -> dict[str, Spec]:
    """Run name -> spec, over every study and every search trial: what the train rule can build."""
    specs = {
        spec_name(spec): spec
        for study in studies(config)
        for spec in study_variants(config, study).values()
    }
    for search in config.get("searches", {}):
        specs.update((spec_name(spec), spec) for spec in search_trials(config, search))
    return specs


def all_runs(config: Mapping[str, Any]) -> list[tuple[str, int, str, int]]:
    """(dataset, split, run name, seed) of every run of every study, each once."""
    return sorted(
        {(d, split, run, s) for study in studies(config) for d, split, _, run, s in study_runs(config, study)}
    )


def grid_variants(config: Mapping[str, Any], study: str) -> list[str]:
    """The labels of the study's variants whose spec is a point of one of its sweeps' grids: the runs
    a sweep's ANOVA and marginal plots read (a named variant beside the sweep is compared, never modelled)."""
    grid = {spec_name(spec) for sweep in studies(config)[study].get("sweeps", []) for spec in expand_sweep(config["sweeps"][sweep])}
    return [label for label, spec in study_variants(config, study).items() if spec_name(spec) in grid]
