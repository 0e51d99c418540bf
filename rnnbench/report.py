"""The self-contained HTML report: figures embedded as data URIs, nothing fetched over the network."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from importlib import metadata as packages
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from rnnbench.results import Results
from rnnbench.runtime import checkout_commit
from rnnbench.documents import ALPHA, pair_verdicts
from rnnbench.io import read_png
from rnnbench.stats import (
    ASO_THRESHOLD, MAX_SEEDS, POWER, POWER_ALPHA, POWER_SIMULATIONS, binomial_noise, bonferroni_confidence, importance,
    interaction_readings, reading, tied_with_best,
)

FIGURE_TITLES = {
    "accuracy": "Test accuracy across seeds",
    "learning_curves": "Learning curves",
    "pairwise": "Pairwise comparisons (Almost Stochastic Order)",
    "confusion": "Confusion matrix of the best variant",
    "cost": "Cost against accuracy",
    "overfitting": "Overfitting",
    "marginals": "Effect of each swept field",
    "importance": "Importance of the swept fields (ANOVA)",
    "budget": "Expected best validation accuracy by tuning budget",
}
BUDGET_POINTS = (1, 5, 10)  # the budgets the table reads out, with each search's last

TEMPLATE, MACROS = "report.html.j2", "macros.html.j2"  # in rnnbench/templates/


def _template(name: str):
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
    )
    return environment.get_template(name)


def _fmt(value, digits=3, missing="n/a") -> str:
    return missing if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}f}"


POSITIVE_COLUMNS = ["precision_mean", "recall_mean", "f1_mean"]


def leaderboard_table(results: Results) -> dict:
    """The leaderboard's columns and rows, sorted by mean test accuracy; the best row and the rows it is
    not shown better than (no evidence of an order at the study's runs) are marked. For a binary
    dataset, the positive class's precision, recall and F1 (means over seeds) stand beside accuracy."""
    positive_class = results.positive_class
    tied = set(tied_with_best(results.pairs, results.best)) if len(results.pairs) else set(results.order)
    binary = positive_class is not None and all(c in results.summary for c in POSITIVE_COLUMNS)
    columns = ["#", "variant", "test accuracy mean ± std", "95% t-interval", "min", "max", "n", "macro-F1",
               *([f"{positive_class} {name}" for name in ("precision", "recall", "F1")] if binary else []),
               "validation accuracy", "notebook (1 run)", "vs best", "parameters", "engine", "s/epoch",
               "training s", "peak memory MB"]
    rows = []
    for rank, row in enumerate(results.summary.itertuples(index=False), start=1):
        if np.isnan(row.accuracy_mean):
            status, css = "diverged", "diverged"
        elif row.variant == results.best:
            status, css = "best", "best"
        elif row.variant in tied:
            status, css = "no order shown", "tied"
        else:
            status, css = "worse", ""
        cells = [
            rank, row.variant, f"{_fmt(row.accuracy_mean)} ± {_fmt(row.accuracy_std)}",
            f"[{_fmt(row.accuracy_ci_low)}, {_fmt(row.accuracy_ci_high)}]", _fmt(row.accuracy_min),
            _fmt(row.accuracy_max), f"{row.n}{f' (+{row.diverged} diverged)' if row.diverged else ''}",
            _fmt(row.macro_f1_mean), *([_fmt(getattr(row, c)) for c in POSITIVE_COLUMNS] if binary else []),
            _fmt(row.val_accuracy_mean), _fmt(row.notebook_accuracy, missing=""), status, f"{int(row.parameters):,}",
            results.engine(row.variant), _fmt(row.seconds_per_epoch, 2), _fmt(row.train_seconds, 0),
            _fmt(getattr(row, "peak_rss_mb", float("nan")), 0),
        ]
        rows.append({"css": css, "variant": row.variant, "cells": cells})
    return {"columns": columns, "rows": rows}


def leaderboard(results: Results) -> str:
    """The leaderboard as HTML (``leaderboard_table`` through the template's macro)."""
    return str(_template(MACROS).module.leaderboard(leaderboard_table(results)))


def reading_lines(results: Results) -> list[str]:
    """Plain-language lines: variants of which every run diverged, every significant win, and the best
    against each variant it is not shown better than."""
    lost = [row.variant for row in results.summary.itertuples() if row.n == 0 and row.diverged]
    if lost and len(lost) == len(results.order):
        return ["Every run of every variant diverged (its training loss became NaN): no variant has a test "
                "score, so none is compared; a lower learning_rate may help."]
    lines = [f"Every run of {variant} diverged (its training loss became NaN): it has no test score." for variant in lost]
    pairs = results.pairs
    if not len(pairs):
        return lines
    rank = {v: i for i, v in enumerate(results.order)}
    wins = pairs[pairs["significant"]].sort_values(["a", "b"], key=lambda s: s.map(rank))
    ties = pairs[(pairs["a"] == results.best) & ~pairs["significant"]].sort_values("b", key=lambda s: s.map(rank))
    return lines + [reading(row) for _, row in pd.concat([wins, ties]).iterrows()]


def spec_rows(variants: Mapping[str, Mapping[str, Any]], names: list[str]) -> dict:
    """Each variant's full spec, and the run folder its spec names (shared by every study holding it)."""
    from rnnbench.studies import spec_name

    keys = sorted({key for name in names for key in variants.get(name, {})})
    rows = [{"variant": name, "run": spec_name(variants[name]),
             "cells": [str(variants.get(name, {}).get(key, "")) for key in keys]} for name in names]
    return {"fields": keys, "rows": rows}


def budget_readout(budget: pd.DataFrame, leaders: pd.DataFrame, trials: pd.DataFrame, finals: pd.DataFrame) -> dict:
    """One dataset's budget read-out (budget.csv, budget_leaders.csv, trials.csv and finals.csv rows):
    where each search leads, each search's curve at a few budgets, and the trial it chose (by validation
    accuracy) for retraining, with the validation accuracy of that retraining over the study's seeds
    (the chosen trial's search value is optimistic: it won a maximum); empty for a study without searches."""
    from rnnbench.search import choose

    if not len(budget):
        return {}
    lines = []
    for _, row in leaders.iterrows():
        span = f"n = {row['from']}" if row["from"] == row["to"] else f"n = {row['from']}–{row['to']}"
        overlapping = row["overlapping"] if isinstance(row["overlapping"], str) and row["overlapping"] else ""
        lines.append(f"{span}: {row['leader']} leads"
                     + (f", within the bands of {overlapping}: a lead not established against them" if overlapping
                        else ", its band clear of every other search's"))
    (chosen,) = choose(trials).values()
    last = int(budget["trials"].max())
    points = sorted({n for n in BUDGET_POINTS if n <= last} | {last})
    rows = []
    for search, curve in budget.groupby("search", sort=True):
        at = curve.set_index("trials")
        tried = trials[trials["search"] == search]
        best = tried[tried["run"] == chosen.get(search)].iloc[0]
        retrained = finals.loc[finals["variant"] == search, "val_accuracy"].mean()
        rows.append({
            "search": search, "trials": len(tried),
            "cells": [f"{_fmt(at.loc[n, 'expected_max'])} [{_fmt(at.loc[n, 'low'])}, {_fmt(at.loc[n, 'high'])}]"
                      if n in at.index else "" for n in points],
            "chosen": best["trial"], "run": best["run"], "val_accuracy": _fmt(best["val_accuracy"]),
            "retrained": _fmt(retrained), "optimism": _fmt(best["val_accuracy"] - retrained),
            "hours": f"{tried['seconds'].sum() / 3600:.2f}",
        })
    return {"lines": lines, "points": points, "rows": rows}


def importance_rows(results: Results) -> dict:
    """The sweep's ANOVA table, and a reading for each interaction that qualifies a main effect."""
    table = importance(results.swept, results.axes)
    rows = [{"term": row.term, "df": row.df, "sum_sq": f"{row.sum_sq:.5f}", "F": _fmt(row.F, 2),
             "p": f"{row.p_value:.3g}", "eta": _fmt(row.partial_eta_sq)} for row in table.itertuples(index=False)]
    return {"rows": rows, "readings": interaction_readings(table)}


def variance_rows(results: Results) -> list[dict]:
    """Each variant's spread split into seeds and data splits (summary.csv), where there are splits."""
    summary = results.summary
    if "splits" not in summary or not (summary["splits"] > 1).any():
        return []
    return [{"variant": row.variant, "runs": row.n, "splits": row.splits, "seed_sd": _fmt(row.seed_sd, 4),
             "split_sd": _fmt(row.split_sd, 4), "share": _fmt(row.split_share, 2)}
            for row in summary.itertuples(index=False)]


def _seeds(value) -> str:
    return "n/a" if np.isnan(value) else (f"> {MAX_SEEDS}" if np.isinf(value) else str(int(value)))


def seeds_needed_rows(results: Results) -> list[dict]:
    """Each pair of neighbours in the leaderboard: the runs per variant needed to tell them apart
    (pairwise.csv's seeds_needed), and whether the study has that many."""
    if "seeds_needed" not in results.pairs or len(results.order) < 2:
        return []
    pairs = results.pairs.set_index(["a", "b"])
    counts = results.summary.set_index("variant")["n"]
    rows = []
    for a, b in zip(results.order, results.order[1:]):
        if (a, b) not in pairs.index:
            continue
        pair = pairs.loc[(a, b)]
        needed = float(pair["seeds_needed"])
        have = int(min(counts[a], counts[b]))
        rows.append({"a": a, "b": b, "gap": _fmt(pair["mean_difference"], 4), "needed": _seeds(needed), "have": have,
                     "settled": "yes" if needed <= have else "no"})
    return rows


def document_rows(results: Results) -> list[dict]:
    """Each pair's verdict on the documents over the splits (rnnbench.documents.pair_verdicts), best
    first: the two-level bootstrap's difference, interval and Holm p, and McNemar's Holm p on votes."""
    if not len(results.mcnemar):
        return []
    rank = {variant: i for i, variant in enumerate(results.order)}
    tests = results.mcnemar
    verdicts = pair_verdicts(tests)
    pair_rank = [tuple(sorted((rank.get(a, len(rank)), rank.get(b, len(rank))))) for a, b in zip(verdicts["a"], verdicts["b"])]
    verdicts = verdicts.assign(order=pair_rank).sort_values("order")
    by_pair = tests.groupby(["a", "b"])
    worst = by_pair[["p_bootstrap_holm", "p_holm"]].max()
    difference = by_pair[["difference", "difference_low", "difference_high"]].mean()
    return [{"a": row.a, "b": row.b, "called": f"{row.splits_different}/{row.splits}",
             "difference": f"{difference.loc[(row.a, row.b), 'difference']:+.3f} "
                           f"[{difference.loc[(row.a, row.b), 'difference_low']:+.3f}, "
                           f"{difference.loc[(row.a, row.b), 'difference_high']:+.3f}]",
             "p": f"{worst.loc[(row.a, row.b), 'p_bootstrap_holm']:.3g}",
             "p_mcnemar": f"{worst.loc[(row.a, row.b), 'p_holm']:.3g}",
             "verdict": row.verdict, "css": "tied" if row.different else ""}
            for row in verdicts.itertuples(index=False)]


def ensemble_rows(results: Results) -> list[dict]:
    """Each variant's mean single-run accuracy beside its seed ensemble's, averaged over splits."""
    if not len(results.ensembles):
        return []
    means = results.ensembles.groupby("variant")[["mean_accuracy", "ensemble_accuracy"]].mean()
    seeds = results.ensembles.groupby("variant")["seeds"].min()
    return [{"variant": variant, "seeds": int(seeds[variant]), "single": _fmt(means.loc[variant, "mean_accuracy"]),
             "ensemble": _fmt(means.loc[variant, "ensemble_accuracy"]),
             "gain": f"{means.loc[variant, 'ensemble_accuracy'] - means.loc[variant, 'mean_accuracy']:+.3f}"}
            for variant in results.order if variant in means.index]


def class_rows(results: Results) -> dict:
    """The best variant's precision, recall and F1 per class (``Results.per_class``), by name."""
    table = results.per_class() if len(results.order) else pd.DataFrame()
    return {"variant": results.best if len(results.order) else "",
            "rows": [{"name": row["class"], "documents": f"{row['documents']:,.0f}" if row["documents"] == int(row["documents"])
                      else f"{row['documents']:,.1f}", "precision": _fmt(row["precision"]), "recall": _fmt(row["recall"]),
                      "f1": _fmt(row["f1"])} for _, row in table.iterrows()]}


def dataset_section(results: Results, figures: Mapping[str, Path], settings: Mapping[str, Any],
                    metadata: pd.DataFrame) -> dict:
    """What the template shows for one dataset."""
    here = metadata[metadata["dataset"] == results.dataset]
    sizes = ", ".join(
        f"{label} {int(here[column].iloc[0]):,}" for label, column in
        (("train", "train_rows"), ("validation", "validation_rows"), ("test", "test_rows")) if column in here and len(here)
    )
    best = results.summary["accuracy_mean"].dropna()
    noise = None
    if "test_rows" in here and len(here) and len(best):
        documents, accuracy = int(here["test_rows"].iloc[0]), float(best.iloc[0])
        noise = {"points": f"{100 * binomial_noise(accuracy, documents):.1f}", "accuracy": f"{accuracy:.2f}",
                 "documents": f"{documents:,}"}
    return {
        "name": results.dataset,
        "variants": len(results.order),
        "noise": noise,
        "seeds": sorted(results.finals["seed"].unique().tolist()),
        "splits": sorted(results.finals["split"].unique().tolist()) if "split" in results.finals else [],
        "sizes": sizes,
        "leaderboard": leaderboard_table(results),
        "classes": class_rows(results),
        "figures": [{"name": name, "title": title, "data": base64.b64encode(read_png(figures[name])).decode()}
                    for name, title in FIGURE_TITLES.items() if name in figures],
        "readings": reading_lines(results),
        "importance": importance_rows(results) if "importance" in figures else {"rows": [], "readings": []},
        "budget": budget_readout(results.budget, results.leaders, results.trials, results.finals),
        "aso_threshold": ASO_THRESHOLD,
        "variance": variance_rows(results),
        "seeds_needed": seeds_needed_rows(results),
        "power": {"power": POWER, "alpha": POWER_ALPHA, "max": MAX_SEEDS, "simulations": f"{POWER_SIMULATIONS:,}",
                  "aso_confidence": f"{bonferroni_confidence(len(results.order)):.4f}"},
        "documents": document_rows(results),
        "alpha": ALPHA,
        "ensembles": ensemble_rows(results),
    }


def render(
    results: list[Results],
    figures: Mapping[str, Mapping[str, Path]],
    settings: Mapping[str, Any],
    provenance: Mapping[str, str],
    metadata: pd.DataFrame,
) -> str:
    """The report's HTML. ``settings`` is the report rule's config slice."""
    what_ran = {
        "variants": ", ".join(settings["variants"]) or "none besides each search's chosen trial",
        "seeds": ", ".join(map(str, settings["seeds"])),
        "epochs": settings["epochs"],
        "batch size": settings["batch_size"],
        "validation split": f"{settings['validation_split']} (the last rows of the training split, as Keras takes them)",
        **{f"dataset {name}": ", ".join(f"{k}={v}" for k, v in spec.items() if k not in ("url", "sha256"))
           for name, spec in sorted(settings["datasets"].items())},
        "swept fields": ", ".join(settings.get("axes", [])) or "none",
        **({"searches": "; ".join(f"{name}: {search['trials']} trials drawn with seed {search.get('seed', 0)}"
                                  for name, search in settings["searches"].items())
                        + f"; each trial trained once, under seed {settings['trial_seed']}"} if "searches" in settings else {}),
        "optimizer": "adam, sparse categorical cross-entropy",
    }
    return _template(TEMPLATE).render(
        study=settings["study"], description=settings.get("description", ""), what_ran=what_ran,
        specs=spec_rows(settings["variants"], list(settings["variants"])), provenance=provenance,
        datasets=[dataset_section(r, figures.get(r.dataset, {}), settings, metadata) for r in results],
    )


def provenance(settings: Mapping[str, Any], metadata: pd.DataFrame, repo: str | Path = ".",
               metas: Mapping[str, Mapping] | None = None) -> dict[str, str]:
    """Where the numbers came from: code, packages, data (each dataset's files and their sha256, from
    ``metas``: the padded data's facts), config, machine and time."""

    commit = checkout_commit(repo)
    versions = []
    for name in ("tensorflow-cpu", "tensorflow", "keras", "scikit-learn", "skops", "numpy", "pandas", "scipy", "seaborn",
                 "deepsig", "snakemake"):
        try:
            versions.append(f"{name} {packages.version(name)}")
        except packages.PackageNotFoundError:
            pass

    def distinct(column):
        return ", ".join(sorted({str(v) for v in metadata[column].dropna()})) if column in metadata else "n/a"

    return {
        "git commit": commit or "not a git checkout",
        "packages (report)": "; ".join(versions),
        "packages (training)": f"TensorFlow {distinct('tensorflow')}, Keras {distinct('keras')}, numpy {distinct('numpy')}"
                               + (f", scikit-learn {distinct('scikit-learn')}" if "scikit-learn" in metadata else ""),
        "data sha256": "; ".join(f"{name} {part}: {source['sha256']}" for name, meta in sorted((metas or {}).items())
                                 for part, source in sorted(meta["sources"].items())) or "n/a",
        "config hash": "sha256 " + hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest(),
        "training device": distinct("device"),
        "engines (XLA)": ", ".join(sorted({f"{engine} ({'XLA' if xla else 'no XLA'})"
                                            for engine, xla in metadata[["engine", "xla"]].dropna().itertuples(index=False)}))
        if {"engine", "xla"} <= set(metadata) else "n/a",
        "threads per job": distinct("threads"),
        "hosts": distinct("host"),
        "SLURM jobs": distinct("slurm_job_id") or "none",
        "runs started": f"{metadata['started_at'].min()} to {metadata['started_at'].max()}" if len(metadata) else "n/a",
        "report built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
