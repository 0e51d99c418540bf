"""Snakemake adapter: place a verified copy of a dataset file (Keras cache first, then its URL)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the rnnbench package beside scripts/
from rnnbench.data import DataError, fetch

with open(snakemake.log[0], "w") as log:
    source = json.loads(snakemake.params.source)
    try:
        origin = fetch(source["filename"], source["url"], source["sha256"], snakemake.output[0], source.get("member"))
    except DataError as error:
        print(f"ERROR: {error}", file=log)
        sys.exit(f"rnnbench download failed: {error}")
    print(f"{snakemake.output[0]}: sha256 {source['sha256']} verified, from {origin}", file=log)
