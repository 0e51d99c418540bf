"""Snakemake adapter: one dataset's report figures for one study, each its own PNG."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the rnnbench package beside scripts/
from rnnbench.figures import FIGURES, SEARCH_FIGURES, SWEEP_FIGURES, nothing_scored, save
from rnnbench.data import load_meta
from rnnbench.jobs import log_to
from rnnbench.results import load_results

log_to(snakemake.log[0])

dataset = snakemake.wildcards.dataset
classes = load_meta(snakemake.input[f"{dataset}_meta"])["class_names"]
results = load_results(snakemake.input, dataset, json.loads(snakemake.params.settings), classes)
drawings = {"study": FIGURES, "sweep": SWEEP_FIGURES, "search": SEARCH_FIGURES}[snakemake.params.figures]
if snakemake.params.figures != "search" and not results.finals["test_accuracy"].notna().any():  # all diverged
    drawings = dict.fromkeys(drawings, nothing_scored)
for name, draw in drawings.items():
    save(draw(results), snakemake.output[name])
