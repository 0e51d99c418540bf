"""Random search: a search space over a family's spec fields, drawn into named trials.

A search is a base spec, a space (a field -> a list of choices, or a range ``{low, high, log}``)
and a number of trials. Trial ``i`` is drawn from a hash of (search seed, i, field), never from a
random state that earlier draws advanced, so the same seed gives the same trials on every machine
and Python, and raising ``trials`` keeps every earlier trial and adds new ones. A draw that repeats
an earlier trial or that its family refuses is drawn again (the next attempt of the same trial).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any, Mapping

from rnnbench.models import Spec, family_problems

ATTEMPTS = 1000  # draws per trial before the space is called too small
SIGNIFICANT_DIGITS = 2  # a drawn number is rounded to these, so that its run name stays readable


class SearchError(ValueError):
    """A search whose space cannot give its trials."""


def uniform(seed: int, trial: int, attempt: int, field: str) -> float:
    """A number in [0, 1) fixed by its arguments alone (SHA-256, the same everywhere)."""
    digest = hashlib.sha256(f"{seed}/{trial}/{attempt}/{field}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def draw_value(domain: Any, u: float) -> Any:
    """The value of one field's domain at ``u``: a list's item, an integer range's integer (both
    ends included), or a real range's number (log-uniform with ``log: true``), rounded."""
    if isinstance(domain, list):
        return domain[min(int(u * len(domain)), len(domain) - 1)]
    low, high = domain["low"], domain["high"]
    if isinstance(low, int) and isinstance(high, int) and not domain.get("log"):
        return low + min(int(u * (high - low + 1)), high - low)
    if domain.get("log"):
        value = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
    else:
        value = low + u * (high - low)
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def trial_fields(search: Mapping[str, Any], trial: int, attempt: int = 0) -> dict[str, Any]:
    """The fields of one draw: the base updated by a value of every field of the space."""
    space = search["space"]
    drawn = {field: draw_value(space[field], uniform(search.get("seed", 0), trial, attempt, field))
             for field in sorted(space)}
    return {**search["base"], **drawn}


def draw_trials(search: Mapping[str, Any], where: str = "search") -> list[Spec]:
    """The search's trials, in trial order: each a valid spec, none the same as an earlier one."""
    from rnnbench.studies import spec_name

    specs, names = [], set()
    for trial in range(search["trials"]):
        for attempt in range(ATTEMPTS):
            fields = trial_fields(search, trial, attempt)
            if family_problems(where, fields):
                continue
            spec = Spec.of(fields)
            name = spec_name(spec)
            if name not in names:
                break
        else:
            raise SearchError(
                f"{where}: trial {trial + 1} found no spec that is valid and unlike the {trial} before it "
                f"in {ATTEMPTS} draws; its space is too small for trials = {search['trials']}"
            )
        names.add(name)
        specs.append(spec)
    return specs


def trial_label(search: str, trial: int) -> str:
    """Trial ``trial`` (0-based) of a search, as tables show it: ``lstm.t1``."""
    return f"{search}.t{trial + 1}"


def space_values(domain: Any) -> list:
    """The values a domain's schema check covers: a list's items, or a range's two ends."""
    return list(domain) if isinstance(domain, list) else [domain["low"], domain["high"]]


def range_problems(name: str, search: Mapping[str, Any]) -> list[str]:
    """What the schema cannot say about a search's ranges: one that runs backwards, a log range through
    zero (its fields against their families: ``rnnbench.config.partial_spec_problems``)."""
    where = f"searches.{name}"
    problems = []
    for field, domain in sorted(search["space"].items()):
        if isinstance(domain, Mapping):
            if domain["low"] >= domain["high"]:
                problems.append(f"{where}.space.{field}: low = {domain['low']} is not below high = {domain['high']}")
            if domain.get("log") and domain["low"] <= 0:
                problems.append(f"{where}.space.{field}: a log range needs low > 0, not {domain['low']}")
    return problems


def draw_problems(name: str, search: Mapping[str, Any]) -> list[str]:
    """A space too small for the search's trials (``SearchError``), once its fields are sound."""
    try:
        draw_trials(search, f"searches.{name}")
    except SearchError as error:
        return [str(error)]
    return []


TRIAL_COLUMNS = ["dataset", "split", "search", "trial", "run", "seed", "val_accuracy", "best_epoch", "epochs",
                 "seconds", "parameters", "diverged"]


def trial_row(trial: tuple, history, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """One trial's row: its validation accuracy at the weights it kept (the best epoch under early
    stopping, else the last); a diverged trial scores 0, as a failed trial of the budget."""
    import numpy as np

    dataset, split, search, label, run, seed = trial
    epoch = int(metadata.get("best_epoch") or metadata["epochs_run"])
    at = history.loc[history["epoch"] == epoch, "val_accuracy"]
    score = float(at.iloc[0]) if len(at) else float("nan")
    diverged = bool(metadata.get("diverged")) or not np.isfinite(score)
    return {"dataset": dataset, "split": split, "search": search, "trial": label, "run": run, "seed": seed,
            "val_accuracy": 0.0 if diverged else score, "best_epoch": epoch, "epochs": int(metadata["epochs_run"]),
            "seconds": float(history["seconds"].sum()), "parameters": int(metadata["parameters"]),
            "diverged": diverged}


def choose(trials) -> dict[str, dict[str, str]]:
    """dataset -> search -> the run of its validation-best trial (the earlier trial on a tie)."""
    chosen: dict[str, dict[str, str]] = {}
    for (dataset, search), group in trials.groupby(["dataset", "search"], sort=True):
        order = group.assign(index=group["trial"].str.rsplit(".t", n=1).str[1].astype(int))
        best = order.sort_values(["val_accuracy", "index"], ascending=[False, True]).iloc[0]
        chosen.setdefault(dataset, {})[search] = best["run"]
    return chosen
