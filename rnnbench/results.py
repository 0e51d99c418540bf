"""A study's aggregated tables for one dataset, as the figures and the report read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

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
        """The engine that trained the variant's runs (its spec's), which its seconds per epoch depend on."""
        return self.specs.get(variant, {}).get("engine", "fused")

    @property
    def engines(self) -> str:
        """The engines of the shown variants, for labels of cost."""
        return ", ".join(sorted({self.engine(variant) for variant in self.order}))

    @property
    def order(self) -> list[str]:
        return self.summary["variant"].tolist()

    @property
    def best(self) -> str:
        return self.order[0]

    @property
    def finals(self) -> pd.DataFrame:
        return final_values(self.runs)


def select(frame: pd.DataFrame, dataset: str) -> pd.DataFrame:
    return frame[frame["dataset"] == dataset].reset_index(drop=True)


def load_results(files, dataset: str, settings: Mapping[str, Any]) -> Results:
    """One dataset's slice of a study's aggregated CSVs; ``files`` has runs, summary, pairwise,
    confusion, ensembles and mcnemar; ``settings`` is the study's report slice."""
    return Results(
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
