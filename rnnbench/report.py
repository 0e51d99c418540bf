"""The self-contained HTML report: seaborn figures embedded, nothing fetched over the network."""

from __future__ import annotations

import base64
import html
import io
import json
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from rnnbench.aggregate import final_values

os.environ.setdefault("MPLBACKEND", "Agg")


def _png(figure) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def accuracy_distribution(finals: pd.DataFrame, order: list[str], notebook: Mapping[str, float]):
    """Test accuracy per variant: a box over seeds, every seed a point, the notebook's run a cross."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    figure, axes = plt.subplots(figsize=(8, 0.55 * len(order) + 1.5))
    sns.boxplot(data=finals, x="test_accuracy", y="variant", order=order, color="0.9", fliersize=0, ax=axes)
    sns.stripplot(data=finals, x="test_accuracy", y="variant", order=order, hue="seed", palette="deep", size=6, ax=axes)
    refs = [(notebook[v], i) for i, v in enumerate(order) if v in notebook]
    if refs:
        axes.scatter(*zip(*refs), marker="X", s=80, color="crimson", label="notebook (1 run)", zorder=5)
    axes.set(xlabel="test accuracy", ylabel="")
    axes.legend(title="seed", bbox_to_anchor=(1.02, 1), loc="upper left")
    return figure


def learning_curves(runs: pd.DataFrame, order: list[str]):
    """Train and validation accuracy and loss per epoch: mean and 95% band over seeds."""
    import seaborn as sns

    curves = runs[runs["metric"].isin(["loss", "accuracy", "val_loss", "val_accuracy"])].copy()
    curves["split"] = np.where(curves["metric"].str.startswith("val_"), "validation", "train")
    curves["quantity"] = curves["metric"].str.removeprefix("val_")
    grid = sns.relplot(
        data=curves, x="epoch", y="value", hue="split", row="quantity", col="variant",
        col_order=order, row_order=["accuracy", "loss"], kind="line", errorbar=("ci", 95),
        n_boot=1000, seed=0, height=2.4, aspect=1.1, facet_kws={"sharey": "row", "margin_titles": True},
    )
    grid.set_titles(row_template="{row_name}", col_template="{col_name}")
    return grid.figure


def _leaderboard_html(summary: pd.DataFrame) -> str:
    best = summary["accuracy_mean"].idxmax()
    rows = []
    for index, row in summary.iterrows():
        notebook = "" if pd.isna(row["notebook_accuracy"]) else f"{row['notebook_accuracy']:.3f}"
        ci = "n/a" if pd.isna(row["accuracy_ci_low"]) else f"[{row['accuracy_ci_low']:.3f}, {row['accuracy_ci_high']:.3f}]"
        std = "n/a" if pd.isna(row["accuracy_std"]) else f"{row['accuracy_std']:.3f}"
        mark = ' class="best"' if index == best else ""
        rows.append(
            f"<tr{mark}><td>{html.escape(row['variant'])}</td><td>{row['accuracy_mean']:.3f} ± {std}</td>"
            f"<td>{ci}</td><td>{row['accuracy_min']:.3f}</td><td>{row['accuracy_max']:.3f}</td>"
            f"<td>{int(row['n'])}</td><td>{row['macro_f1_mean']:.3f}</td><td>{notebook}</td>"
            f"<td>{int(row['parameters']):,}</td><td>{row['seconds_per_epoch']:.2f}</td>"
            f"<td>{row['train_seconds']:.0f}</td></tr>"
        )
    head = (
        "<tr><th>variant</th><th>test accuracy, mean ± std</th><th>95% bootstrap CI</th><th>min</th>"
        "<th>max</th><th>n</th><th>macro-F1</th><th>notebook (1 run)</th><th>parameters</th>"
        "<th>s/epoch</th><th>train s</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def _spec_table(variants: Mapping[str, Mapping[str, Any]], names: list[str]) -> str:
    keys = sorted({key for name in names for key in variants.get(name, {})})
    head = "<tr><th>variant</th>" + "".join(f"<th>{html.escape(k)}</th>" for k in keys) + "</tr>"
    body = "".join(
        "<tr><td>" + html.escape(name) + "</td>"
        + "".join(f"<td>{html.escape(str(variants.get(name, {}).get(k, '')))}</td>" for k in keys)
        + "</tr>"
        for name in names
    )
    return f"<table>{head}{body}</table>"


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th { background: #f3f3f3; } td:first-child { text-align: left; }
tr.best { background: #e8f5e9; font-weight: bold; }
img { max-width: 100%; } .note { color: #555; font-size: 0.9em; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; font-size: 0.9em; }
dt { font-weight: bold; }
"""


def render(runs: pd.DataFrame, summary: pd.DataFrame, settings: Mapping[str, Any], provenance: Mapping[str, str]) -> str:
    """The report's HTML. ``settings`` is the report rule's config slice."""
    notebook = settings.get("notebook", {})
    sections = []
    finals = final_values(runs)
    for dataset, part in summary.groupby("dataset", sort=True):
        order = part["variant"].tolist()
        runs_here = runs[runs["dataset"] == dataset]
        finals_here = finals[finals["dataset"] == dataset]
        n_seeds = sorted(finals_here["seed"].unique().tolist())
        sections.append(
            f"<h2>{html.escape(dataset)}</h2>"
            f"<p>{len(order)} variants × seeds {n_seeds}; sorted by mean test accuracy, best highlighted. "
            "The interval is a percentile bootstrap of the mean over seeds: it measures seed-to-seed "
            "variation only. All variants share one fixed test set, whose own binomial noise "
            "(about ±2.5 points at 0.75 accuracy on 1,195 documents) a single run cannot separate "
            "from a real difference.</p>"
            + _leaderboard_html(part.reset_index(drop=True))
            + "<h3>Test accuracy across seeds</h3>"
            + f'<img alt="test accuracy per variant" src="data:image/png;base64,{_png(accuracy_distribution(finals_here, order, notebook))}">'
            + "<h3>Learning curves</h3><p class=note>Mean and 95% band over seeds.</p>"
            + f'<img alt="learning curves" src="data:image/png;base64,{_png(learning_curves(runs_here, order))}">'
            + "<h3>Variants</h3>"
            + _spec_table(settings["variants"], order)
        )
    facts = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in provenance.items())
    training = {k: settings[k] for k in ("epochs", "batch_size", "validation_split", "seeds")}
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        "<title>rnnbench summary</title>"
        f"<style>{STYLE}</style></head><body>"
        "<h1>rnnbench: recurrent text classifiers across seeds</h1>"
        f"<p>Training: {html.escape(json.dumps(training))}. Datasets: "
        f"{html.escape(json.dumps(settings['datasets'], sort_keys=True))}.</p>"
        + "".join(sections)
        + f"<h2>Provenance</h2><dl>{facts}</dl></body></html>"
    )


def provenance(settings: Mapping[str, Any], metadata: pd.DataFrame, repo: str | Path = ".") -> dict[str, str]:
    """Where the numbers came from: code, packages, data, config, machine and time."""
    import hashlib
    import subprocess
    import time
    from importlib import metadata as packages

    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    commit = git("rev-parse", "HEAD")
    if commit and git("status", "--porcelain", "--untracked-files=no"):
        commit += " (with uncommitted changes)"
    versions = []
    for name in ("rnnbench", "tensorflow-cpu", "tensorflow", "keras", "numpy", "pandas", "scipy", "seaborn", "snakemake"):
        try:
            versions.append(f"{name} {packages.version(name)}")
        except packages.PackageNotFoundError:
            pass

    def distinct(column):
        return ", ".join(sorted({str(v) for v in metadata[column].dropna()})) if column in metadata else "n/a"

    return {
        "git commit": commit or "not a git checkout",
        "packages": "; ".join(versions),
        "data sha256": "; ".join(f"{k}: {v['sha256']}" for k, v in sorted(settings["datasets"].items())),
        "config hash (sha256 of the canonical settings)": hashlib.sha256(
            json.dumps(settings, sort_keys=True).encode()
        ).hexdigest(),
        "training device": distinct("device"),
        "threads per job": distinct("threads"),
        "hosts": distinct("host"),
        "training versions": f"TensorFlow {distinct('tensorflow')}, Keras {distinct('keras')}",
        "runs started": f"{metadata['started_at'].min()} to {metadata['started_at'].max()}" if len(metadata) else "n/a",
        "report built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
