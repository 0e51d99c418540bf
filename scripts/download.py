"""Snakemake adapter: place a verified copy of a dataset file (Keras cache first, then its URL)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the rnnbench package beside scripts/
from rnnbench.data import fetch
from rnnbench.jobs import log_to

log_to(snakemake.log[0])

source = json.loads(snakemake.params.source)
origin = fetch(source["filename"], source["url"], source["sha256"], snakemake.output[0], source.get("member"))
print(f"{snakemake.output[0]}: sha256 {source['sha256']} verified, from {origin}")
