"""Which of a study's variants make up its sweeps' grids: the runs a sweep's ANOVA and marginal plots
read (a named variant beside the sweep, such as the notebook's LSTM, is compared, never modelled)."""

from __future__ import annotations

from typing import Any, Mapping

from rnnbench.studies import expand_sweep, spec_name, studies, study_variants


def grid_variants(config: Mapping[str, Any], study: str) -> list[str]:
    """The labels of the study's variants whose spec is a point of one of its sweeps' grids."""
    grid = {spec_name(spec) for sweep in studies(config)[study].get("sweeps", []) for spec in expand_sweep(config["sweeps"][sweep])}
    return [label for label, spec in study_variants(config, study).items() if spec_name(spec) in grid]
