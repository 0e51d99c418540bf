"""Time the report stages (compare, figures, HTML) on a synthetic 7-variant x 5-seed x 40-epoch study.

    .venv/bin/python benchmarks/report_speed.py [--variants 7 --seeds 5 --epochs 40]

Prints the seconds of each stage, measured in this run. The synthetic results have the
shape of the default study (46 classes, 1,195 test documents per run).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from rnnbench.aggregate import collect, final_values, summarize, tidy_run
from rnnbench.figures import FIGURES, save
from rnnbench.results import Results
from rnnbench.report import provenance, render
from rnnbench.stats import pairwise


def synthetic_study(variants: int, seeds: int, epochs: int, classes: int = 46, test_rows: int = 1195):
    rng = np.random.default_rng(0)
    runs, confusion, metadata = [], [], []
    for v in range(variants):
        for seed in range(seeds):
            t = np.arange(1, epochs + 1)
            history = pd.DataFrame({
                "epoch": t, "loss": 2 / t + rng.normal(0, 0.01, epochs), "accuracy": 1 - 0.5 / t,
                "val_loss": 1.5 / np.sqrt(t), "val_accuracy": 0.7 + 0.01 * v - 0.1 / t + rng.normal(0, 0.01, epochs),
                "seconds": rng.normal(3 + v * 0.3, 0.1, epochs),
            })
            accuracy = 0.70 + 0.01 * v + rng.normal(0, 0.01)
            metrics = {"test_loss": 1.2, "test_accuracy": accuracy, "test_macro_f1": accuracy / 2}
            meta = {"parameters": 2_600_000 + v, "wall_seconds": 120.0, "peak_rss_mb": 700.0, "diverged": False}
            runs.append(tidy_run("reuters", 113, f"variant_{v}", seed, history, metrics, meta))
            truth = rng.choice(classes, size=test_rows, p=np.r_[0.4, 0.3, np.full(classes - 2, 0.3 / (classes - 2))])
            predicted = np.where(rng.random(test_rows) < accuracy, truth, rng.integers(0, classes, test_rows))
            cells = pd.crosstab(truth, predicted).stack().rename("count").reset_index()
            cells.columns = ["true", "predicted", "count"]
            cells = cells[cells["count"] > 0].assign(dataset="reuters", split=113, variant=f"variant_{v}", seed=seed)
            confusion.append(cells)
            metadata.append({"dataset": "reuters", "split": 113, "variant": f"variant_{v}", "seed": seed, "device": "CPU",
                             "threads": 1, "host": "bench", "train_rows": 3344, "validation_rows": 1433,
                             "test_rows": test_rows, "tensorflow": "2.21.0", "keras": "3.15.1",
                             "numpy": np.__version__, "started_at": "2026-01-01T00:00:00"})
    return collect(runs), pd.concat(confusion, ignore_index=True), pd.DataFrame(metadata)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=7)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--out", type=Path, help="also write the HTML here, to look at")
    args = parser.parse_args()

    runs, confusion, metadata = synthetic_study(args.variants, args.seeds, args.epochs)
    summary = summarize(runs)
    timings = {}
    start = time.perf_counter()
    pairs = pairwise(final_values(runs)).assign(dataset="reuters")
    timings["compare (ASO, all ordered pairs)"] = time.perf_counter() - start

    results = Results("reuters", runs, summary, pairs, confusion)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        paths = {}
        for name, draw in FIGURES.items():
            paths[name] = Path(tmp) / f"{name}.png"
            save(draw(results), paths[name])
        timings["figures (6 PNGs)"] = time.perf_counter() - start
        start = time.perf_counter()
        variants = {f"variant_{v}": {"cell": "lstm", "layers": 1, "units": 32 + v} for v in range(args.variants)}
        settings = {"study": "summary", "seeds": list(range(args.seeds)), "epochs": args.epochs, "batch_size": 50,
                    "validation_split": 0.3, "variants": variants,
                    "datasets": {"reuters": {"sha256": "0" * 64}}, "notebook": {}}
        html = render([results], {"reuters": paths}, settings, provenance(settings, metadata), metadata)
        timings["HTML"] = time.perf_counter() - start
    if args.out:
        args.out.write_text(html)
    print(f"{args.variants} variants x {args.seeds} seeds x {args.epochs} epochs; report {len(html) / 1e6:.1f} MB")
    for stage, seconds in timings.items():
        print(f"{stage:36s} {seconds:6.2f} s")
    print(f"{'total':36s} {sum(timings.values()):6.2f} s")


if __name__ == "__main__":
    main()
