"""The report's seaborn figures. Each takes one dataset's ``Results`` and returns a matplotlib figure."""

from __future__ import annotations

import os
import numpy as np
import pandas as pd

from rnnbench.aggregate import mean_interval
from rnnbench.results import Results

os.environ.setdefault("MPLBACKEND", "Agg")


def accuracy_distribution(results: Results):
    """Test accuracy per variant: a box over runs, every run a point coloured by its seed (by its data
    split when there are several), the notebook's run a cross."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    order, finals = results.order, results.finals
    hue = "split" if finals["split"].nunique() > 1 else "seed"
    figure, axes = plt.subplots(figsize=(8, 0.55 * len(order) + 1.5))
    sns.boxplot(data=finals, x="test_accuracy", y="variant", order=order, color="0.9", fliersize=0, ax=axes)
    sns.stripplot(data=finals, x="test_accuracy", y="variant", order=order, hue=hue, palette="deep", size=6, ax=axes)
    refs = [(results.notebook[v], i) for i, v in enumerate(order) if v in results.notebook]
    if refs:
        axes.scatter(*zip(*refs), marker="X", s=80, color="crimson", label="notebook (1 run)", zorder=5)
    axes.set(xlabel="test accuracy", ylabel="")
    axes.legend(title=hue, bbox_to_anchor=(1.02, 1), loc="upper left")
    return figure


def learning_curves(results: Results):
    """Train and validation accuracy and loss per epoch, mean and 95% t-interval over runs; the dotted
    line marks the epoch of best mean validation accuracy."""
    import seaborn as sns

    runs = results.runs
    if len(results.order) > 8:  # a sweep: one small panel of validation accuracy per variant
        return _validation_curves(results)
    curves = _curves(runs, ["loss", "accuracy"])
    grid = sns.relplot(
        data=curves, x="epoch", y="value", hue="part", row="quantity", col="variant",
        col_order=results.order, row_order=["accuracy", "loss"], kind="line", errorbar=mean_interval,
        height=2.3, aspect=1.0, facet_kws={"sharey": "row", "margin_titles": True},
    )
    best_epochs = best_validation_epoch(runs)
    for (quantity, variant), axes in grid.axes_dict.items():
        axes.axvline(best_epochs.get(variant, np.nan), color="0.4", linestyle=":", linewidth=1)
    grid.set_titles(row_template="{row_name}", col_template="{col_name}")
    return grid.figure


def _curves(runs: pd.DataFrame, quantities: list[str]) -> pd.DataFrame:
    """The per-epoch rows of ``quantities`` for training and validation, with ``part`` (train or
    validation rows) and ``quantity``."""
    curves = runs[runs["metric"].isin(quantities + [f"val_{q}" for q in quantities])].copy()
    curves["part"] = np.where(curves["metric"].str.startswith("val_"), "validation", "train")
    curves["quantity"] = curves["metric"].str.removeprefix("val_")
    return curves


def _validation_curves(results: Results):
    import seaborn as sns

    curves = _curves(results.runs, ["accuracy"])
    grid = sns.relplot(
        data=curves, x="epoch", y="value", hue="part", col="variant", col_order=results.order, col_wrap=5,
        kind="line", errorbar=mean_interval, height=1.9, aspect=1.3,
    )
    grid.set_titles(col_template="{col_name}", size=7)
    grid.set_ylabels("accuracy")
    return grid.figure


def best_validation_epoch(runs: pd.DataFrame) -> dict[str, int]:
    """Per variant, the epoch with the highest validation accuracy averaged over seeds."""
    val = runs[runs["metric"] == "val_accuracy"].groupby(["variant", "epoch"])["value"].mean()
    return {variant: int(series.idxmax()[1]) for variant, series in val.groupby(level="variant")}


def pairwise_matrix(results: Results):
    """eps_min of ASO for every ordered pair; starred cells are significant (eps_min < 0.2)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from rnnbench.stats import ASO_THRESHOLD

    order = results.order
    pairs = results.pairs
    matrix = pairs.pivot(index="a", columns="b", values="eps_min").reindex(index=order, columns=order).astype(float)
    labels = matrix.map(lambda v: "" if np.isnan(v) else f"{v:.2f}" + ("*" if v < ASO_THRESHOLD else ""))
    figure, axes = plt.subplots(figsize=(1.0 * len(order) + 2.5, 0.8 * len(order) + 1.5))
    sns.heatmap(matrix, annot=labels, fmt="", cmap="RdBu", vmin=0, vmax=1, center=0.5, square=True,
                cbar_kws={"label": "ε_min (row better than column when small)"}, ax=axes)
    axes.set(xlabel="B", ylabel="A", title="ASO ε_min(A, B); * significant")
    return figure


TOP_CLASSES = 20  # a confusion matrix of more classes shows the most frequent ones
LABEL_CHARACTERS = 28  # a longer class name is cut on the figures (the tables keep it whole)


def short_labels(names: list[str], limit: int = LABEL_CHARACTERS) -> list[str]:
    """Class names cut to ``limit`` characters with an ellipsis, kept distinct (a number is added where
    two cut names would read the same), so that a long name cannot push a figure's axes aside."""
    from collections import Counter

    cut = [name if len(name) <= limit else name[: limit - 1] + "…" for name in names]
    shared, seen = Counter(cut), Counter()
    labels = []
    for name in cut:
        seen[name] += 1
        labels.append(f"{name} ({seen[name]})" if shared[name] > 1 else name)
    return labels


def confusion(results: Results):
    """The best variant's confusion matrix summed over its runs (row-normalised), with class frequency;
    classes by name (cut to ``LABEL_CHARACTERS``), the ``TOP_CLASSES`` most frequent when there are more."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    cells = results.confusion[results.confusion["variant"] == results.best]
    classes = len(results.classes) or (int(max(cells["true"].max(), cells["predicted"].max())) + 1 if len(cells) else 1)
    counts = cells.pivot_table(index="true", columns="predicted", values="count", aggfunc="sum", fill_value=0)
    counts = counts.reindex(index=range(classes), columns=range(classes), fill_value=0)
    support = counts.sum(axis=1)
    shown = support.sort_values(ascending=False, kind="stable").index[:TOP_CLASSES] if classes > TOP_CLASSES else support.index
    recall = counts.div(support.replace(0, np.nan), axis=0).loc[shown, shown]
    names = short_labels([results.class_name(int(label)) for label in shown])
    recall.index, recall.columns = names, names
    size = max(5.0, 0.3 * len(shown) + 3)
    figure, (heat, bars) = plt.subplots(1, 2, figsize=(size + 2.5, size), sharey=True,
                                        gridspec_kw={"width_ratios": [5, 1]})
    sns.heatmap(recall, cmap="viridis", vmin=0, vmax=1, square=False, ax=heat, cbar_kws={"label": "share of the true class"},
                xticklabels=True, yticklabels=True)
    which = f"the {len(shown)} most frequent of {classes} classes" if len(shown) < classes else f"{classes} classes"
    heat.set(xlabel="predicted class", ylabel="true class", title=f"{results.best}, summed over runs; {which}")
    runs = len(cells[["split", "seed"]].drop_duplicates())
    bars.barh(np.arange(len(shown)) + 0.5, support.loc[shown] / max(runs, 1), color="0.5")
    bars.set(xlabel="test documents", title="class frequency")
    return figure


def cost_accuracy(results: Results):
    """Seconds per epoch against mean test accuracy (95% t-interval bars); point size is the parameter count."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    summary = results.summary
    figure, axes = plt.subplots(figsize=(8, 5))
    sns.scatterplot(data=summary, x="seconds_per_epoch", y="accuracy_mean", hue="variant", size="parameters",
                    sizes=(60, 400), ax=axes, legend="brief")
    low = (summary["accuracy_mean"] - summary["accuracy_ci_low"]).fillna(0)
    high = (summary["accuracy_ci_high"] - summary["accuracy_mean"]).fillna(0)
    axes.errorbar(summary["seconds_per_epoch"], summary["accuracy_mean"], yerr=[low, high], fmt="none", ecolor="0.5")
    for _, row in summary.iterrows():
        axes.annotate(row["variant"], (row["seconds_per_epoch"], row["accuracy_mean"]), fontsize=8,
                      xytext=(5, 5), textcoords="offset points")
    axes.set(xlabel=f"seconds per epoch (median epoch, mean over runs; engine: {results.engines})",
             ylabel="test accuracy (mean over seeds)")
    axes.legend(bbox_to_anchor=(1.02, 1), loc="upper left", fontsize=8)
    return figure


def overfitting(results: Results):
    """Left: each run's best-validation epoch against its last epoch. Right: the train-validation
    accuracy gap at the last epoch."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    runs, order = results.runs, results.order
    val = runs[runs["metric"] == "val_accuracy"]
    run = ["variant", "split", "seed"]
    best = val.loc[val.groupby(run)["value"].idxmax(), [*run, "epoch"]]
    last = val.groupby(run)["epoch"].max().rename("last").reset_index()
    best = best.merge(last, on=run)
    wide = runs[runs["metric"].isin(["accuracy", "val_accuracy"])].pivot_table(
        index=[*run, "epoch"], columns="metric", values="value").reset_index()
    final = wide.loc[wide.groupby(run)["epoch"].idxmax()]
    final = final.assign(gap=final["accuracy"] - final["val_accuracy"])

    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 0.5 * len(order) + 2), sharey=True)
    sns.stripplot(data=best, x="epoch", y="variant", order=order, color="C0", size=6, ax=left)
    rows = best["variant"].map({v: i for i, v in enumerate(order)})
    left.scatter(best["last"], rows, marker="|", s=400, linewidths=2, color="C3", zorder=3)
    left.legend(handles=[plt.Line2D([], [], color="C0", marker="o", linestyle="", label="best validation epoch"),
                         plt.Line2D([], [], color="C3", marker="|", markersize=12, linestyle="", label="last epoch")],
                loc="best", fontsize=8)
    left.set(xlabel="epoch", ylabel="", title="best-validation epoch vs last epoch")
    sns.boxplot(data=final, x="gap", y="variant", order=order, color="0.9", fliersize=0, ax=right)
    sns.stripplot(data=final, x="gap", y="variant", order=order, color="C1", size=6, ax=right)
    right.set(xlabel="train − validation accuracy at the last epoch", ylabel="", title="generalisation gap")
    return figure


def marginals(results: Results):
    """The effect of each swept field: test accuracy against the field's value, every seed of every
    spec a point, the mean over all runs at that value with its 95% t-interval."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    finals = results.swept.dropna(subset=["test_accuracy"])
    figure, panels = plt.subplots(1, len(results.axes), figsize=(4 * len(results.axes), 4), sharey=True,
                                  squeeze=False)
    for axes, axis in zip(panels[0], results.axes):
        order = sorted(finals[axis].unique(), key=lambda v: (isinstance(v, str), v))
        data = finals.assign(**{axis: finals[axis].astype(str)})
        names = [str(v) for v in order]
        sns.stripplot(data=data, x=axis, y="test_accuracy", order=names, color="0.6", size=3, jitter=0.25, ax=axes)
        sns.pointplot(data=data, x=axis, y="test_accuracy", order=names, errorbar=mean_interval,
                      color="C3", markers="D", capsize=0.15, ax=axes)
        axes.set(xlabel=axis, ylabel="test accuracy", title=f"by {axis}")
    return figure


def importance_ranking(results: Results):
    """ANOVA on the grid: partial eta² per swept field and interaction (share of the variance it
    explains, holding the others), with its p-value."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from rnnbench.stats import importance

    table = importance(results.swept, results.axes)
    figure, axes = plt.subplots(figsize=(7, 0.6 * max(len(table), 1) + 1.5))
    if len(table):
        sns.barplot(data=table, x="partial_eta_sq", y="term", color="C0", ax=axes)
        for index, row in table.iterrows():
            axes.annotate(f"p = {row['p_value']:.3g}", (row["partial_eta_sq"], index), xytext=(4, 0),
                          textcoords="offset points", va="center", fontsize=9)
    axes.set(xlabel="partial η² (ANOVA, type II)", ylabel="", xlim=(0, 1.1))
    return figure


def nothing_scored(results: Results):
    """The figure in place of any other when no run of the dataset has a test score (every run diverged)."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 2))
    axes.text(0.5, 0.5, f"{results.dataset}: every run diverged (NaN training loss), so there is nothing to plot",
              ha="center", va="center")
    axes.set_axis_off()
    return figure


def budget(results: Results):
    """Expected best validation accuracy against the number of random-search trials, per search,
    with its 95% bootstrap band (Dodge et al. 2019)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    curves = results.budget
    figure, axes = plt.subplots(figsize=(8, 5))
    order = sorted(curves["search"].unique())
    palette = dict(zip(order, sns.color_palette(n_colors=len(order))))
    sns.lineplot(data=curves, x="trials", y="expected_max", hue="search", hue_order=order, palette=palette,
                 marker="o", markersize=4, ax=axes)
    for search, curve in curves.groupby("search"):
        axes.fill_between(curve["trials"], curve["low"], curve["high"], color=palette[search], alpha=0.15)
    axes.set(xlabel="trials (random-search budget)", ylabel="expected best validation accuracy",
             xlim=(1, max(curves["trials"].max(), 2)))
    axes.legend(title="search", loc="lower right")
    return figure


SEARCH_FIGURES = {"budget": budget}

SWEEP_FIGURES = {"marginals": marginals, "importance": importance_ranking}

FIGURES = {
    "accuracy": accuracy_distribution,
    "learning_curves": learning_curves,
    "pairwise": pairwise_matrix,
    "confusion": confusion,
    "cost": cost_accuracy,
    "overfitting": overfitting,
}


def save(figure, path) -> None:
    """Write a PNG atomically and close the figure."""
    import matplotlib.pyplot as plt

    from rnnbench.io import atomic_path

    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
