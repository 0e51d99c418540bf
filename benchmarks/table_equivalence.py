"""Does the table path train like the Keras loader? Reuters, written out as a table of space-joined
token ids with its split, loaded through ``loader: table`` (whitespace split, no standardisation),
against the Keras loader: the same variant and seeds through the real workflow, in a temp copy.

    .venv/bin/python benchmarks/table_equivalence.py [--variant lstm] [--seeds 0 1 2] [--epochs 40] [--cores 2]

Prints each run's test accuracy under both loaders, their means and the difference of the means with
a 95% bootstrap interval over seeds.
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from common import REPO, SNAKEMAKE, reuters_config, workflow_copy

from rnnbench.data import keras_cache_dir, prepare_reuters


def reuters_table(path: Path, settings: dict) -> None:
    """The notebook's Reuters split as a CSV: one row per document, its token ids joined by spaces
    (the padding left out), its topic and its part (train or test)."""
    arrays = prepare_reuters(keras_cache_dir() / settings["filename"], settings["sha256"], settings["num_words"],
                             settings["maxlen"], settings["padding"])
    rows = []
    for part in ("train", "test"):
        for tokens, topic in zip(arrays[f"x_{part}"], arrays[f"y_{part}"]):
            rows.append({"tokens": " ".join(str(t) for t in tokens if t), "topic": int(topic), "part": part})
    pd.DataFrame(rows).to_csv(path, index=False)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="table_equivalence.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", default="lstm")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--directory", type=Path, help="where to build the copy (default: a new temp folder)")
    args = parser.parse_args(argv)

    config = reuters_config([args.variant], seeds=args.seeds, epochs=args.epochs)
    reuters = config["datasets"]["reuters"]
    root = workflow_copy((args.directory or Path(tempfile.mkdtemp())) / "project", config)
    reuters_table(root / "reuters_tokens.csv", reuters)
    overlay = {
        "datasets": {"reuters_table": {
            "loader": "table", "path": "reuters_tokens.csv", "text": "tokens", "label": "topic",
            "split_column": "part", "standardize": "none", "token_split": "whitespace",
            "num_words": reuters["num_words"], "maxlen": reuters["maxlen"], "padding": reuters["padding"],
            "embedding_dim": reuters["embedding_dim"],
        }},
        "studies": {"equivalence": {"datasets": ["reuters", "reuters_table"], "variants": [args.variant]}},
    }
    (root / "equivalence.yaml").write_text(yaml.safe_dump(overlay, sort_keys=False))
    subprocess.run([SNAKEMAKE, "reports/equivalence.html", "--cores", str(args.cores),
                    "--configfile", "config.yaml", "equivalence.yaml"], cwd=root, check=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    runs = pd.read_csv(root / "results" / "studies" / "equivalence" / "runs.csv")
    final = runs[(runs["metric"] == "test_accuracy")].pivot_table(index="seed", columns="dataset", values="value")
    print(final.to_string(float_format="%.4f"))
    difference = final["reuters_table"] - final["reuters"]
    rng = np.random.default_rng(0)
    means = [rng.choice(difference.to_numpy(), len(difference)).mean() for _ in range(10_000)]
    low, high = np.percentile(means, [2.5, 97.5])
    print(f"mean accuracy: keras loader {final['reuters'].mean():.4f}, table {final['reuters_table'].mean():.4f}; "
          f"table - keras {difference.mean():+.4f} (95% bootstrap over seeds {low:+.4f} to {high:+.4f})")
    print(f"workflow copy: {root}")


if __name__ == "__main__":
    sys.exit(main())
