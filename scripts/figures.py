"""Snakemake adapter: one dataset's report figures for one study, each its own PNG."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the rnnbench package beside scripts/
from rnnbench.figures import FIGURES, SWEEP_FIGURES, nothing_scored, save
from rnnbench.jobs import log_to
from rnnbench.results import load_results

log_to(snakemake.log[0])

results = load_results(snakemake.input, snakemake.wildcards.dataset, json.loads(snakemake.params.settings))
drawings = SWEEP_FIGURES if snakemake.params.sweep else FIGURES
if not results.finals["test_accuracy"].notna().any():  # every run diverged
    drawings = dict.fromkeys(drawings, nothing_scored)
for name, draw in drawings.items():
    save(draw(results), snakemake.output[name])
