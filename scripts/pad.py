"""Snakemake adapter: the dataset's loader (Reuters: keras.datasets.reuters.load_data semantics;
SMS Spam: stratified split and TextVectorization), then post-padding."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # the rnnbench package beside scripts/
from rnnbench.data import DataError, prepare, save_padded
from rnnbench.jobs import log_to

log_to(snakemake.log[0])

spec = json.loads(snakemake.params.spec)
try:
    arrays = prepare(snakemake.params.loader, snakemake.input[0], snakemake.params.sha256, spec)
except DataError as error:
    raise DataError(f"datasets.{snakemake.wildcards.dataset}: {error}") from None
save_padded(arrays, snakemake.output[0])
print(
    f"train {arrays['x_train'].shape}, test {arrays['x_test'].shape}, "
    f"{int(arrays['num_classes'])} classes, {int(arrays['num_words'])} token ids, spec {spec}"
)
