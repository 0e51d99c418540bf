"""Snakemake adapter: render reports/summary.html from the aggregated results."""

import json
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the rnnbench package beside scripts/
from rnnbench.io import log_to, write_text
from rnnbench.report import provenance, render

log_to(snakemake.log[0])

settings = json.loads(snakemake.params.settings)
runs = pd.read_csv(snakemake.input.runs)
summary = pd.read_csv(snakemake.input.summary)
metadata = pd.read_csv(snakemake.input.metadata)
write_text(render(runs, summary, settings, provenance(settings, metadata, snakemake.params.repo)), snakemake.output[0])
