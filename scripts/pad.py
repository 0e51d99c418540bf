"""Snakemake adapter: the dataset's loader (its kind's module: Reuters, Keras's load_data semantics; a
table, its split and TextVectorization), then padding; a pickle-free npz and its facts beside it."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the rnnbench package beside scripts/
from rnnbench.data import DataError, prepare_dataset, save_meta, save_padded
from rnnbench.jobs import log_to

log_to(snakemake.log[0])

spec = json.loads(snakemake.params.spec)
files = {name: snakemake.input[name] for name in ("table", "test") if name in snakemake.input.keys()}
try:
    arrays, meta = prepare_dataset(snakemake.params.loader, files, spec, snakemake.params.sha256)
except DataError as error:
    raise DataError(f"datasets.{snakemake.wildcards.dataset}: {error}") from None
save_padded(arrays, snakemake.output.data)
save_meta(meta, snakemake.output.meta)
print(
    f"train {arrays['x_train'].shape}, test {arrays['x_test'].shape}, "
    f"{int(arrays['num_classes'])} classes, {int(arrays['num_words'])} token ids, sources {meta['sources']}, spec {spec}"
)
