"""Snakemake adapter: render reports/summary.html from the aggregated results and figure files."""

import json
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the rnnbench package beside scripts/
from rnnbench.figures import FIGURES
from rnnbench.io import log_to, write_text
from rnnbench.report import load_results, provenance, render

log_to(snakemake.log[0])

settings = json.loads(snakemake.params.settings)
datasets = snakemake.params.datasets
metadata = pd.read_csv(snakemake.input.metadata)
results = [load_results(snakemake.input, dataset, settings.get("notebook", {})) for dataset in datasets]
figures = {d: {name: Path(snakemake.input[f"{d}_{name}"]) for name in FIGURES} for d in datasets}
html = render(results, figures, settings, provenance(settings, metadata, snakemake.params.repo), metadata)
write_text(html, snakemake.output[0])
