"""Tidy results and the per-variant summary.

``runs.csv`` has one row per (dataset, split, variant, seed, epoch, metric); a run is a
(split, seed) replicate of its variant. Per-epoch
metrics sit at epochs 1..E; the test metrics and run facts (parameters, wall
seconds, best_epoch) sit at the run's last epoch. The weights evaluated are the last
epoch's, or with early stopping those of ``best_epoch``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

RUN = ["dataset", "split", "variant", "seed"]  # what identifies a run in every table
RUN_COLUMNS = RUN + ["epoch", "metric", "value"]
EPOCH_METRICS = ["loss", "accuracy", "val_loss", "val_accuracy", "seconds"]
FINAL_METRICS = ["test_loss", "test_accuracy", "test_macro_f1"]
# Binary datasets: precision, recall and F1 of the positive class (spam), when the run has them.
POSITIVE_METRICS = ["test_precision", "test_recall", "test_f1"]
RUN_FACTS = ["parameters", "wall_seconds", "peak_rss_mb", "diverged", "best_epoch"]
CONFIDENCE = 0.95


def tidy_run(dataset: str, split: int, variant: str, seed: int, history: pd.DataFrame, metrics: Mapping, metadata: Mapping) -> pd.DataFrame:
    """The long-format rows of one run."""
    per_epoch = history.melt(id_vars="epoch", value_vars=EPOCH_METRICS, var_name="metric")
    last = int(history["epoch"].max())
    final = pd.DataFrame(
        [(last, key, float(metrics[key])) for key in FINAL_METRICS + [m for m in POSITIVE_METRICS if m in metrics]]
        + [(last, key, float(_run_fact(metadata, key, last))) for key in RUN_FACTS]
    , columns=["epoch", "metric", "value"])
    rows = pd.concat([per_epoch, final], ignore_index=True)
    rows.insert(0, "seed", int(seed))
    rows.insert(0, "variant", variant)
    rows.insert(0, "split", int(split))
    rows.insert(0, "dataset", dataset)
    return rows[RUN_COLUMNS]


def load_run(history_csv, metrics_json, metadata_json) -> tuple[pd.DataFrame, dict, dict]:
    """One run's history, test metrics and metadata, each file read once and checked against the others:
    a history of every epoch ``run.json`` says was run, each with its seconds."""
    from rnnbench.io import BadFile, read_csv, read_json

    metadata = read_json(metadata_json, ["epochs_run", "parameters", "wall_seconds"])
    metrics = read_json(metrics_json, FINAL_METRICS + ["test_rows", "confusion_matrix"])
    history = read_csv(history_csv, ["epoch"] + EPOCH_METRICS)
    epochs = int(metadata["epochs_run"])
    if len(history) != epochs:
        raise BadFile(history_csv, f"holds {len(history)} epochs, but {metadata_json} says {epochs} were run")
    if history["epoch"].tolist() != list(range(1, epochs + 1)):
        raise BadFile(history_csv, f"its epochs are {history['epoch'].tolist()}, not 1 to {epochs}")
    seconds = pd.to_numeric(history["seconds"], errors="coerce")
    if not (np.isfinite(seconds) & (seconds >= 0)).all():
        raise BadFile(history_csv, "an epoch has no time in seconds (a row cut short)")
    return history, metrics, metadata


def _run_fact(metadata: Mapping, key: str, last_epoch: int):
    """A run fact; run.json files written before a fact was recorded get what it meant then:
    not diverged, and the last epoch's weights evaluated."""
    return metadata.get(key, {"diverged": False, "best_epoch": last_epoch}.get(key))


def tidy_confusion(dataset: str, split: int, variant: str, seed: int, metrics: Mapping) -> pd.DataFrame:
    """The non-zero cells of one run's confusion matrix: (dataset, split, variant, seed, true, predicted, count)."""
    matrix = np.asarray(metrics["confusion_matrix"])
    true, predicted = np.nonzero(matrix)
    return pd.DataFrame({"dataset": dataset, "split": int(split), "variant": variant, "seed": int(seed), "true": true,
                         "predicted": predicted, "count": matrix[true, predicted]})


def run_facts(dataset: str, split: int, variant: str, seed: int, metrics: Mapping, metadata: Mapping) -> dict:
    """One row of run_metadata.csv: the run's scalar metadata plus its test-set size."""
    facts = {k: v for k, v in metadata.items() if not isinstance(v, (dict, list))}
    facts["test_rows"] = metrics["test_rows"]
    facts["planned_epochs"] = metadata.get("spec", {}).get("epochs")  # the setting; epochs_run may stop early
    return dict(facts, dataset=dataset, split=int(split), variant=variant, seed=int(seed))


def collect(runs: Iterable[pd.DataFrame]) -> pd.DataFrame:
    frame = pd.concat(list(runs), ignore_index=True)
    return frame.sort_values(RUN + ["metric", "epoch"], ignore_index=True)


def final_values(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run (dataset, split, variant, seed) with the final metrics and run facts as columns.
    ``seconds_per_epoch`` is the run's median epoch, so an epoch in which the job was suspended or
    shared its core does not stand for the rest; ``train_seconds`` is their sum."""
    final = runs[runs["metric"].isin(FINAL_METRICS + POSITIVE_METRICS + RUN_FACTS)]
    wide = final.pivot_table(index=RUN, columns="metric", values="value", aggfunc="first")
    wide = wide.reindex(columns=sorted(set(final["metric"])))  # a metric that every run lacks (all diverged)
    seconds = runs[runs["metric"] == "seconds"].groupby(RUN)["value"]
    wide["seconds_per_epoch"] = seconds.median()
    wide["train_seconds"] = seconds.sum()
    wide["epochs"] = seconds.count()
    # validation accuracy of the weights that were evaluated (the best epoch's, with early stopping)
    val = runs[runs["metric"] == "val_accuracy"].set_index(RUN + ["epoch"])["value"]
    evaluated = wide["best_epoch"] if "best_epoch" in wide else wide["epochs"]
    keys = [(*index, int(epoch)) for index, epoch in evaluated.items()]
    wide["val_accuracy"] = val.reindex(keys).to_numpy() if keys else []
    return wide.reset_index()


def published_finals(runs: pd.DataFrame, names: Mapping[tuple, str], metadata: pd.DataFrame) -> pd.DataFrame:
    """finals.csv: ``final_values`` with each run's spec name (its folder) and the commit it was
    trained at: the per-run facts every statistic of the study is computed from."""
    finals = final_values(runs)
    keys = list(zip(finals["dataset"], finals["split"].astype(int), finals["variant"], finals["seed"].astype(int)))
    commits = {(d, int(split), v, int(seed)): commit for d, split, v, seed, commit in
               metadata.reindex(columns=RUN + ["commit"]).itertuples(index=False)}
    finals.insert(4, "run", [names[key] for key in keys])
    finals.insert(5, "commit", [commits.get(key) for key in keys])
    return finals


def mean_interval(values: np.ndarray, splits: np.ndarray | None = None) -> tuple[float, float]:
    """95% Student-t interval of the mean over runs (n - 1 degrees of freedom): nominal coverage at
    the few seeds a study has, where a bootstrap's is not. NaN when it is undefined (n < 2). With
    runs on several data splits (``splits``: each run's), the interval of the split means (splits - 1
    degrees of freedom), so it carries the split's variance as well as the seeds'."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    if splits is not None and len(set(splits)) > 1:
        splits = np.asarray(splits)
        values = np.array([values[splits == split].mean() for split in np.unique(splits)])
    if len(values) < 2:
        return float("nan"), float("nan")
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return float(values.mean() - half), float(values.mean() + half)


def summarize(runs: pd.DataFrame, notebook: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Per (dataset, variant): the test-accuracy distribution over runs (seeds, and splits where there
    are several: ``stats.variance_components`` says how much of it each gives) and the costs."""
    return summarize_finals(final_values(runs), notebook)


def summarize_finals(finals: pd.DataFrame, notebook: Mapping[str, float] | None = None) -> pd.DataFrame:
    """``summarize`` from one row per run (``final_values``, or a published finals.csv)."""
    from rnnbench.stats import variance_components

    notebook = notebook or {}
    rows = []
    for (dataset, variant), group in finals.groupby(["dataset", "variant"], sort=True):
        parameters = group["parameters"].iloc[0]
        diverged = group["diverged"].astype(bool)
        group = group[~diverged]  # a diverged run has no score to average: counted, never averaged in
        accuracy = group["test_accuracy"].to_numpy()
        low, high = mean_interval(accuracy, group["split"].to_numpy())
        (components,) = variance_components(group).to_dict("records") or [{}]
        rows.append(
            {
                "dataset": dataset,
                "variant": variant,
                "n": len(accuracy),
                "diverged": int(diverged.sum()),
                "accuracy_mean": accuracy.mean() if len(accuracy) else float("nan"),
                "accuracy_std": accuracy.std(ddof=1) if len(accuracy) > 1 else float("nan"),
                "accuracy_ci_low": low,
                "accuracy_ci_high": high,
                "accuracy_min": accuracy.min() if len(accuracy) else float("nan"),
                "accuracy_max": accuracy.max() if len(accuracy) else float("nan"),
                "splits": int(group["split"].nunique()),
                "seed_sd": np.sqrt(components.get("seed_variance", np.nan)),
                "split_sd": np.sqrt(components.get("split_variance", np.nan)),
                "split_share": components.get("split_share", np.nan),
                "macro_f1_mean": group["test_macro_f1"].mean(),
                "val_accuracy_mean": group["val_accuracy"].mean(),
                **{
                    f"{metric.removeprefix('test_')}_mean": group[metric].mean()
                    for metric in POSITIVE_METRICS
                    if metric in group
                },
                "parameters": int(parameters),
                "seconds_per_epoch": group["seconds_per_epoch"].mean(),
                "train_seconds": group["train_seconds"].mean(),
                "peak_rss_mb": group["peak_rss_mb"].max() if "peak_rss_mb" in group else float("nan"),
                "notebook_accuracy": notebook.get(variant, float("nan")),
            }
        )
    summary = pd.DataFrame(rows)
    return summary.sort_values(["dataset", "accuracy_mean"], ascending=[True, False], ignore_index=True)
