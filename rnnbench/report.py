"""The self-contained HTML report: figures embedded as data URIs, nothing fetched over the network."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import subprocess
import time
from importlib import metadata as packages
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from rnnbench.figures import Results
from rnnbench.stats import ASO_THRESHOLD, importance, reading, tied_with_best

FIGURE_TITLES = {
    "accuracy": "Test accuracy across seeds",
    "learning_curves": "Learning curves",
    "pairwise": "Pairwise comparisons (Almost Stochastic Order)",
    "confusion": "Confusion matrix of the best variant",
    "cost": "Cost against accuracy",
    "overfitting": "Overfitting",
    "marginals": "Effect of each swept field",
    "importance": "Importance of the swept fields (ANOVA)",
}

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1250px; color: #222; padding: 0 1em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.88em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.55em; text-align: right; }
th { background: #f3f3f3; } td:first-child, td.name { text-align: left; }
tr.best { background: #c8e6c9; font-weight: bold; } tr.tied { background: #eef7ee; }
tr.diverged { background: #fdecea; color: #a33; }
img { max-width: 100%; } .note { color: #555; font-size: 0.9em; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; font-size: 0.88em; }
dt { font-weight: bold; } dd { margin: 0; word-break: break-all; }
ul.readings { font-size: 0.9em; columns: 2; }
"""


def _fmt(value, digits=3, missing="n/a") -> str:
    return missing if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}f}"


POSITIVE_COLUMNS = ["precision_mean", "recall_mean", "f1_mean"]


def leaderboard(results: Results, positive_class: str | None = None) -> str:
    """Sorted by mean test accuracy; the best row and the rows statistically tied with it are marked.

    For a binary dataset (``positive_class``), the positive class's precision, recall and F1
    (means over seeds) stand beside accuracy."""
    tied = set(tied_with_best(results.pairs, results.best)) if len(results.pairs) else set(results.order)
    binary = positive_class is not None and all(c in results.summary for c in POSITIVE_COLUMNS)
    extra = "".join(f"<th>{html.escape(positive_class)} {name}</th>" for name in ("precision", "recall", "F1")) if binary else ""
    head = (
        "<tr><th>#</th><th>variant</th><th>test accuracy mean ± std</th><th>95% bootstrap CI</th><th>min</th>"
        f"<th>max</th><th>n</th><th>macro-F1</th>{extra}<th>validation accuracy</th><th>notebook (1 run)</th><th>vs best</th><th>parameters</th>"
        "<th>engine</th><th>s/epoch</th><th>training s</th><th>peak memory MB</th></tr>"
    )
    rows = []
    for rank, row in enumerate(results.summary.itertuples(index=False), start=1):
        if np.isnan(row.accuracy_mean):
            status, css = "diverged", "diverged"
        elif row.variant == results.best:
            status, css = "best", "best"
        elif row.variant in tied:
            status, css = "tied", "tied"
        else:
            status, css = "worse", ""
        rows.append(
            f'<tr class="{css}" data-variant="{html.escape(row.variant)}"><td>{rank}</td>'
            f'<td class="name">{html.escape(row.variant)}</td>'
            f"<td>{_fmt(row.accuracy_mean)} ± {_fmt(row.accuracy_std)}</td>"
            f"<td>[{_fmt(row.accuracy_ci_low)}, {_fmt(row.accuracy_ci_high)}]</td>"
            f"<td>{_fmt(row.accuracy_min)}</td><td>{_fmt(row.accuracy_max)}</td>"
            f"<td>{row.n}{f' (+{row.diverged} diverged)' if row.diverged else ''}</td>"
            f"<td>{_fmt(row.macro_f1_mean)}</td>"
            + ("".join(f"<td>{_fmt(getattr(row, c))}</td>" for c in POSITIVE_COLUMNS) if binary else "")
            + f"<td>{_fmt(row.val_accuracy_mean)}</td><td>{_fmt(row.notebook_accuracy, missing='')}</td>"
            f"<td>{status}</td><td>{int(row.parameters):,}</td><td>{html.escape(results.engine(row.variant))}</td>"
            f"<td>{_fmt(row.seconds_per_epoch, 2)}</td>"
            f"<td>{_fmt(row.train_seconds, 0)}</td><td>{_fmt(getattr(row, 'peak_rss_mb', float('nan')), 0)}</td></tr>"
        )
    return f'<table class="leaderboard">{head}{"".join(rows)}</table>'


def readings(results: Results) -> str:
    """Plain-language lines: every significant win, and the best against each variant tied with it."""
    pairs = results.pairs
    if not len(pairs):
        return ""
    rank = {v: i for i, v in enumerate(results.order)}
    wins = pairs[pairs["significant"]].sort_values(["a", "b"], key=lambda s: s.map(rank))
    ties = pairs[(pairs["a"] == results.best) & ~pairs["significant"]].sort_values("b", key=lambda s: s.map(rank))
    lines = [reading(row) for _, row in pd.concat([wins, ties]).iterrows()]
    return '<ul class="readings">' + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>"


def spec_table(variants: Mapping[str, Mapping[str, Any]], names: list[str]) -> str:
    """Each variant's full spec, and the run folder its spec names (shared by every study holding it)."""
    from rnnbench.studies import spec_name

    keys = sorted({key for name in names for key in variants.get(name, {})})
    head = "<tr><th>variant</th><th>run</th>" + "".join(f"<th>{html.escape(k)}</th>" for k in keys) + "</tr>"
    body = "".join(
        f'<tr><td class="name">{html.escape(name)}</td><td class="name">{html.escape(spec_name(variants[name]))}</td>'
        + "".join(f"<td>{html.escape(str(variants.get(name, {}).get(k, '')))}</td>" for k in keys)
        + "</tr>"
        for name in names
    )
    return f"<table>{head}{body}</table>"


def _image(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def section(results: Results, figures: Mapping[str, Path], settings: Mapping[str, Any], metadata: pd.DataFrame) -> str:
    here = metadata[metadata["dataset"] == results.dataset]
    sizes = ", ".join(
        f"{label} {int(here[column].iloc[0]):,}" for label, column in
        (("train", "train_rows"), ("validation", "validation_rows"), ("test", "test_rows")) if column in here and len(here)
    )
    seeds = sorted(results.finals["seed"].unique().tolist())
    parts = [
        f"<h2>{html.escape(results.dataset)}</h2>",
        f"<p>{len(results.order)} variants × {len(seeds)} seeds {seeds}; documents: {sizes}.</p>",
        "<h3>Leaderboard</h3>",
        "<p class=note>Sorted by mean test accuracy. The interval is a 95% percentile bootstrap of the mean "
        "over seeds (scipy.stats.bootstrap): it measures seed-to-seed variation only. Every variant is "
        "scored on the same fixed test set, whose own binomial noise (about ±2.5 points at 0.75 accuracy on "
        "1,195 documents) is shared by all rows. <b>validation accuracy</b>: mean over seeds on the "
        "validation split, of the weights that were evaluated; choose variants by this column, never by "
        f"the test columns. <b>tied</b>: the best variant does not beat it by ASO "
        f"(ε_min ≥ {ASO_THRESHOLD}). A run whose loss became NaN is stopped and counted as <b>diverged</b>: "
        "it is shown in n, never averaged in.</p>",
        leaderboard(results, settings["datasets"][results.dataset].get("positive_class")),
    ]
    for name, title in FIGURE_TITLES.items():
        if name in figures:
            parts.append(f"<h3>{title}</h3>")
            parts.append(_image(figures[name], title))
            if name == "pairwise":
                parts.append(
                    "<p class=note>ε_min(A, B) from deepsig's Almost Stochastic Order test (Dror et al. 2019, "
                    "<code>multi_aso</code>, at a confidence level of 1 − 0.05/m for the m pairs compared: "
                    "Bonferroni). ε_min &lt; 0.2: A's test accuracy is better than B's across the distribution "
                    "over seeds; near 0.5: no order. k/n seeds: in k of the n seeds both were run with, A's run "
                    "scored higher than B's.</p>"
                )
                parts.append(readings(results))
            if name == "importance":
                parts.append(importance_table(results))
    return "".join(parts)


def importance_table(results: Results) -> str:
    table = importance(results.swept, results.axes)
    head = "<tr><th>field</th><th>df</th><th>sum of squares</th><th>F</th><th>p</th><th>partial η²</th></tr>"
    body = "".join(
        f'<tr><td class="name">{html.escape(row.axis)}</td><td>{row.df}</td><td>{row.sum_sq:.5f}</td>'
        f"<td>{_fmt(row.F, 2)}</td><td>{row.p_value:.3g}</td><td>{_fmt(row.partial_eta_sq)}</td></tr>"
        for row in table.itertuples(index=False)
    )
    return (
        "<p class=note>Test accuracy of every run (spec × seed) regressed on the swept fields as categorical "
        "main effects; type-II sums of squares. Interactions are not modelled; seeds are the replicates.</p>"
        f'<table class="importance">{head}{body}</table>'
    )


def _definitions(facts: Mapping[str, Any]) -> str:
    return "<dl>" + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in facts.items()) + "</dl>"


def render(
    results: list[Results],
    figures: Mapping[str, Mapping[str, Path]],
    settings: Mapping[str, Any],
    provenance: Mapping[str, str],
    metadata: pd.DataFrame,
) -> str:
    """The report's HTML. ``settings`` is the report rule's config slice."""
    what_ran = {
        "variants": ", ".join(settings["variants"]),
        "seeds": ", ".join(map(str, settings["seeds"])),
        "epochs": settings["epochs"],
        "batch size": settings["batch_size"],
        "validation split": f"{settings['validation_split']} (the last rows of the training split, as Keras takes them)",
        **{f"dataset {name}": ", ".join(f"{k}={v}" for k, v in spec.items() if k not in ("url", "sha256"))
           for name, spec in sorted(settings["datasets"].items())},
        "swept fields": ", ".join(settings.get("axes", [])) or "none",
        "optimizer": "adam, sparse categorical cross-entropy",
    }
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<title>rnnbench {html.escape(settings['study'])}</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<h1>rnnbench — study {html.escape(settings['study'])}: recurrent text classifiers across seeds</h1>"
        f"<p>{html.escape(settings.get('description', ''))}</p>"
        f"<h2>What ran</h2>{_definitions(what_ran)}"
        f"{spec_table(settings['variants'], list(settings['variants']))}"
        f"<h2>Provenance</h2>{_definitions(provenance)}"
        + "".join(section(r, figures.get(r.dataset, {}), settings, metadata) for r in results)
        + "</body></html>"
    )


def provenance(settings: Mapping[str, Any], metadata: pd.DataFrame, repo: str | Path = ".") -> dict[str, str]:
    """Where the numbers came from: code, packages, data, config, machine and time."""

    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    commit = git("rev-parse", "HEAD")
    if commit and git("status", "--porcelain", "--untracked-files=no"):
        commit += " (with uncommitted changes)"
    versions = []
    for name in ("tensorflow-cpu", "tensorflow", "keras", "numpy", "pandas", "scipy", "seaborn", "deepsig", "snakemake"):
        try:
            versions.append(f"{name} {packages.version(name)}")
        except packages.PackageNotFoundError:
            pass

    def distinct(column):
        return ", ".join(sorted({str(v) for v in metadata[column].dropna()})) if column in metadata else "n/a"

    return {
        "git commit": commit or "not a git checkout",
        "packages (report)": "; ".join(versions),
        "packages (training)": f"TensorFlow {distinct('tensorflow')}, Keras {distinct('keras')}, numpy {distinct('numpy')}",
        "data sha256": "; ".join(f"{k}: {v['sha256']}" for k, v in sorted(settings["datasets"].items())),
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


def load_results(files, dataset: str, settings: Mapping[str, Any]) -> Results:
    """One dataset's slice of a study's aggregated CSVs; ``files`` has runs, summary, pairwise and
    confusion; ``settings`` is the study's report slice."""
    from rnnbench.figures import select

    return Results(
        dataset=dataset,
        runs=select(pd.read_csv(files.runs), dataset),
        summary=select(pd.read_csv(files.summary), dataset),
        pairs=select(pd.read_csv(files.pairwise), dataset),
        confusion=select(pd.read_csv(files.confusion), dataset),
        notebook=settings.get("notebook", {}),
        specs=settings.get("variants", {}),
        axes=list(settings.get("axes", [])),
    )
