"""Snakemake adapter: render reports/<study>.html from the study's aggregated results and figure files."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the rnnbench package beside scripts/
from rnnbench.data import load_meta
from rnnbench.figures import FIGURES, SEARCH_FIGURES, SWEEP_FIGURES
from rnnbench.io import read_csv, write_text
from rnnbench.jobs import log_to
from rnnbench.report import provenance, render
from rnnbench.results import load_results

log_to(snakemake.log[0])

settings = json.loads(snakemake.params.settings)
datasets = sorted(settings["datasets"])
metadata = read_csv(snakemake.input.metadata)
metas = {dataset: load_meta(snakemake.input[f"{dataset}_meta"]) for dataset in datasets}
results = [load_results(snakemake.input, dataset, settings, metas[dataset]["class_names"]) for dataset in datasets]
names = list(FIGURES) + (list(SWEEP_FIGURES) if settings["axes"] else []) + (list(SEARCH_FIGURES) if "searches" in settings else [])
figures = {d: {name: Path(snakemake.input[f"{d}_{name}"]) for name in names} for d in datasets}
html = render(results, figures, settings, provenance(settings, metadata, Path(snakemake.scriptdir).parent, metas), metadata)
write_text(html, snakemake.output[0])
Path("reports", "stale", Path(snakemake.output[0]).name).unlink(missing_ok=True)  # set aside after a failure
