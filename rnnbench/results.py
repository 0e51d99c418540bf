"""A study's aggregated tables for one dataset, as the figures and the report read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from rnnbench.aggregate import final_values
from rnnbench.io import read_csv


@dataclass
class Results:
    """Everything the report shows for one dataset."""

    dataset: str
    runs: pd.DataFrame  # tidy rows of runs.csv
    summary: pd.DataFrame  # rows of summary.csv, sorted best first
    pairs: pd.DataFrame  # rows of pairwise.csv
    confusion: pd.DataFrame  # rows of confusion.csv
    notebook: Mapping[str, float] = field(default_factory=dict)
    specs: Mapping[str, Mapping] = field(default_factory=dict)  # variant label -> normalised spec
    axes: list[str] = field(default_factory=list)  # the fields the study's sweeps vary
    grid: list[str] | None = None  # the variants of the sweeps' grids (None: every variant)
    ensembles: pd.DataFrame = field(default_factory=pd.DataFrame)  # rows of ensembles.csv
    mcnemar: pd.DataFrame = field(default_factory=pd.DataFrame)  # rows of mcnemar.csv
    classes: list[str] = field(default_factory=list)  # class names in id order (the padded data's facts)
    trials: pd.DataFrame = field(default_factory=pd.DataFrame)  # rows of trials.csv (a search study's)
    budget: pd.DataFrame = field(default_factory=pd.DataFrame)  # rows of budget.csv
    leaders: pd.DataFrame = field(default_factory=pd.DataFrame)  # rows of budget_leaders.csv

    def class_name(self, label: int) -> str:
        return self.classes[label] if 0 <= label < len(self.classes) else str(label)

    @property
    def positive_class(self) -> str | None:
        """A binary dataset's positive class (id 1), whose precision, recall and F1 the runs hold."""
        return self.class_name(1) if len(self.classes) == 2 else None

    def per_class(self, variant: str | None = None) -> pd.DataFrame:
        """Precision, recall and F1 of each class for one variant (default the best), means over its
        runs, with the class's test documents (a mean over splits); most frequent class first. A class
        never predicted has precision 0; recall and F1 are left out of the mean for a run whose test
        split lacks the class."""
        variant = self.best if variant is None else variant
        cells = self.confusion[self.confusion["variant"] == variant]
        rows = []
        for _, run in cells.groupby(["split", "seed"], sort=True):
            true = run.groupby("true")["count"].sum()
            predicted = run.groupby("predicted")["count"].sum()
            hits = run[run["true"] == run["predicted"]].set_index("true")["count"]
            for label in range(len(self.classes) or int(max(run["true"].max(), run["predicted"].max())) + 1):
                support, guessed, tp = true.get(label, 0), predicted.get(label, 0), hits.get(label, 0)
                precision = tp / guessed if guessed else 0.0
                recall = tp / support if support else np.nan
                f1 = 2 * precision * recall / (precision + recall) if support and precision + recall else (0.0 if support else np.nan)
                rows.append({"label": label, "documents": support, "precision": precision, "recall": recall, "f1": f1})
        if not rows:
            return pd.DataFrame(columns=["class", "documents", "precision", "recall", "f1"])
        table = pd.DataFrame(rows).groupby("label", sort=True).mean().reset_index()
        table.insert(0, "class", table["label"].map(self.class_name))
        return table.drop(columns="label").sort_values("documents", ascending=False, kind="stable").reset_index(drop=True)

    @property
    def swept(self) -> pd.DataFrame:
        """``finals`` of the sweeps' grid with one column per swept axis: the value of that field in
        the run's spec."""
        finals = self.finals
        if self.grid is not None:
            finals = finals[finals["variant"].isin(self.grid)].copy()
        for axis in self.axes:
            finals[axis] = finals["variant"].map(lambda v: self.specs[v][axis])
        return finals

    def engine(self, variant: str) -> str:
        """The engine that trained the variant's runs (its spec's; scikit-learn for a one-fit family), which its
        seconds per epoch depend on."""
        from rnnbench.models import ESTIMATORS

        spec = self.specs.get(variant, {})
        return "scikit-learn" if spec.get("cell") in ESTIMATORS else spec.get("engine", "fused")

    @property
    def engines(self) -> str:
        """The engines of the shown variants, for labels of cost."""
        return ", ".join(sorted({self.engine(variant) for variant in self.order}))

    @property
    def order(self) -> list[str]:
        return self.summary["variant"].tolist()

    @property
    def best(self) -> str:
        """The variant chosen on validation: the highest mean validation accuracy (the higher on test
        among equals). Test accuracy only reports: it chooses nothing."""
        scored = self.summary.dropna(subset=["val_accuracy_mean"])
        if not len(scored):
            return self.order[0]
        return scored.loc[scored["val_accuracy_mean"].idxmax(), "variant"]

    @property
    def finals(self) -> pd.DataFrame:
        return final_values(self.runs)


def select(frame: pd.DataFrame, dataset: str) -> pd.DataFrame:
    return frame[frame["dataset"] == dataset].reset_index(drop=True)


def load_results(files, dataset: str, settings: Mapping[str, Any], classes: list[str] | None = None) -> Results:
    """One dataset's slice of a study's aggregated CSVs; ``files`` has runs, summary, pairwise,
    confusion, ensembles and mcnemar; ``settings`` is the study's report slice; ``classes``: the
    dataset's class names (``rnnbench.data.load_meta``). A search study's ``files`` also have trials,
    budget and leaders."""
    searched = {name: select(read_csv(files[name]), dataset)
                for name in ("trials", "budget", "leaders") if name in files.keys()}
    return Results(
        **searched,
        classes=list(classes or []),
        dataset=dataset,
        runs=select(read_csv(files.runs), dataset),
        summary=select(read_csv(files.summary), dataset),
        pairs=select(read_csv(files.pairwise), dataset),
        confusion=select(read_csv(files.confusion), dataset),
        notebook=settings.get("notebook", {}),
        specs=settings.get("variants", {}),
        axes=list(settings.get("axes", [])),
        grid=settings.get("grid"),
        ensembles=select(read_csv(files.ensembles), dataset),
        mcnemar=select(read_csv(files.mcnemar), dataset),
    )
