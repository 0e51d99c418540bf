"""The report's numbers are recomputed here, independently, from the study's runs.csv."""

import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from scipy import stats


class TableParser(HTMLParser):
    """Rows of the first <table class="leaderboard">, as lists of cell texts."""

    def __init__(self):
        super().__init__()
        self.rows, self._in_table, self._cell = [], False, None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and ("class", "leaderboard") in attrs and not self.rows:
            self._in_table = True
        elif self._in_table and tag == "tr":
            self.rows.append({"class": dict(attrs).get("class", ""), "cells": []})
        elif self._in_table and tag == "td":
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_table = False
        elif tag == "td" and self._cell is not None:
            self.rows[-1]["cells"].append(self._cell.strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def leaderboard_rows(html: str) -> list[dict]:
    parser = TableParser()
    parser.feed(html)
    return [row for row in parser.rows if row["cells"]]


def numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d[\d,]*\.?\d*", text.replace(",", ""))]


def recompute(runs: pd.DataFrame) -> pd.DataFrame:
    """Per variant, straight from the tidy rows: no rnnbench code involved."""
    out = {}
    for variant, rows in runs.groupby("variant"):
        acc = rows[rows.metric == "test_accuracy"].sort_values("seed")["value"].to_numpy()
        f1 = rows[rows.metric == "test_macro_f1"]["value"]
        seconds = rows[rows.metric == "seconds"].groupby("seed")["value"]
        ci = stats.t.interval(0.95, len(acc) - 1, loc=acc.mean(), scale=stats.sem(acc)) if len(acc) > 1 else None
        out[variant] = {
            "mean": acc.mean(), "std": acc.std(ddof=1), "low": ci[0] if ci else acc[0],
            "high": ci[1] if ci else acc[0], "min": acc.min(), "max": acc.max(), "n": len(acc),
            "f1": f1.mean(), "parameters": rows[rows.metric == "parameters"]["value"].iloc[0],
            "s_per_epoch": seconds.mean().mean(), "train_s": seconds.sum().mean(),
            "peak_mb": rows[rows.metric == "peak_rss_mb"]["value"].max(),
            # validation accuracy at each run's best_epoch (the evaluated weights), averaged
            "val": np.mean([
                rows[(rows.metric == "val_accuracy") & (rows.seed == seed)
                     & (rows.epoch == rows[(rows.metric == "best_epoch") & (rows.seed == seed)]["value"].iloc[0])
                     ]["value"].iloc[0]
                for seed in sorted(rows.seed.unique())
            ]),
        }
    return pd.DataFrame(out).T


@pytest.mark.slow
def test_leaderboard_equals_recomputation_from_runs_csv(finished_tiny_run):
    root = finished_tiny_run.root
    runs = pd.read_csv(root / "results" / "studies" / "summary" / "runs.csv")
    expected = recompute(runs)
    rows = leaderboard_rows((root / "reports" / "summary.html").read_text())
    assert len(rows) == len(expected)
    means = []
    for row in rows:
        rank, variant, mean_std, ci, low, high, n, f1, val, notebook, status, params, engine, spe, train_s, peak = row["cells"]
        assert engine == "fused", "the engine whose seconds per epoch are shown"
        e = expected.loc[variant]
        assert numbers(mean_std) == pytest.approx([e["mean"], e["std"]], abs=5e-4)
        assert numbers(ci) == pytest.approx([e["low"], e["high"]], abs=5e-4)
        assert (float(low), float(high), int(n)) == pytest.approx((e["min"], e["max"], e["n"]), abs=5e-4)
        assert float(f1) == pytest.approx(e["f1"], abs=5e-4)
        assert float(val) == pytest.approx(e["val"], abs=5e-4)
        assert numbers(params) == [e["parameters"]]
        assert float(spe) == pytest.approx(e["s_per_epoch"], abs=5e-3)
        assert float(train_s) == pytest.approx(e["train_s"], abs=0.5)
        assert float(peak) == pytest.approx(e["peak_mb"], abs=0.5), "peak memory comes from the runs' metadata"
        assert notebook == ("0.726" if variant == "lstm" else "")
        means.append(e["mean"])
    assert means == sorted(means, reverse=True), "sorted best first"
    (best,) = [row["cells"][1] for row in rows if row["class"] == "best"]
    assert best == max(expected.index, key=lambda v: (expected.loc[v, "val"], expected.loc[v, "mean"])), \
        "best is chosen on validation accuracy"


def test_leaderboard_marks_best_ties_and_worse():
    from rnnbench.aggregate import summarize
    from rnnbench.results import Results
    from rnnbench.report import leaderboard
    from rnnbench.stats import pairwise
    from tests.test_aggregate import fake_run

    rng = np.random.default_rng(3)
    good = 0.80 + 0.004 * rng.standard_normal(5)
    scores = {"good": good, "twin": good + 0.0005, "bad": 0.60 + 0.004 * rng.standard_normal(5)}
    runs = pd.concat([fake_run(v, s, float(x)) for v, xs in scores.items() for s, x in enumerate(xs)])
    summary = summarize(runs)
    from rnnbench.aggregate import final_values

    results = Results("reuters", runs, summary, pairwise(final_values(runs), iterations=200), pd.DataFrame())
    table = leaderboard_rows(leaderboard(results))
    rows = {row["cells"][1]: row["class"] for row in table}
    assert rows == {"twin": "best", "good": "tied", "bad": ""}
    status = {row["cells"][1]: row["cells"][10] for row in table}
    assert status == {"twin": "best", "good": "no order shown", "bad": "worse"}


@pytest.mark.slow
def test_the_noise_sentence_is_computed_from_the_datasets_own_test_set(finished_tiny_run):
    root = finished_tiny_run.root
    metadata = pd.read_csv(root / "results" / "studies" / "summary" / "run_metadata.csv")
    summary = pd.read_csv(root / "results" / "studies" / "summary" / "summary.csv")
    documents, accuracy = int(metadata["test_rows"].iloc[0]), summary["accuracy_mean"].max()
    text = " ".join((root / "reports" / "summary.html").read_text().split())
    found = re.search(r"about ±([\d.]+) points at the best variant's ([\d.]+) accuracy on ([\d,]+) documents", text)
    assert found, "the leaderboard's note gives the test set's own noise"
    assert found[3] == f"{documents:,}" and float(found[2]) == pytest.approx(accuracy, abs=0.005)
    assert float(found[1]) == pytest.approx(100 * 1.96 * np.sqrt(accuracy * (1 - accuracy) / documents), abs=0.05)
    assert "1,195" not in text


def test_best_is_the_validation_choice_not_the_test_leader():
    """A variant ahead on test but behind on validation is not "best": the report's choice (its row, the
    confusion matrix and per-class table) follows validation accuracy; the leaderboard stays in test order."""
    from rnnbench.aggregate import final_values, summarize
    from rnnbench.results import Results
    from rnnbench.report import leaderboard
    from rnnbench.stats import pairwise
    from tests.test_aggregate import fake_run

    runs = pd.concat([fake_run(v, s, x) for v, xs in {"test_leader": [0.81, 0.82, 0.80],
                                                       "val_leader": [0.79, 0.80, 0.78]}.items()
                      for s, x in enumerate(xs)])
    raised = (runs["variant"] == "val_leader") & (runs["metric"] == "val_accuracy")
    runs.loc[raised, "value"] += 0.1
    results = Results("reuters", runs, summarize(runs), pairwise(final_values(runs), iterations=200), pd.DataFrame())
    assert results.order[0] == "test_leader" and results.best == "val_leader"
    rows = leaderboard_rows(leaderboard(results))
    assert [row["cells"][1] for row in rows] == ["test_leader", "val_leader"]
    assert {row["cells"][1]: row["class"] for row in rows}["val_leader"] == "best"


def test_a_long_class_name_is_cut_on_the_confusion_matrix_and_kept_whole_in_the_table(tmp_path):
    """A 500-character class name: the confusion matrix's PNG stays the size of one with short names
    (the name cut with an ellipsis, two cut names kept apart), the per-class table keeps it whole."""
    import struct

    from rnnbench.aggregate import summarize
    from rnnbench.figures import confusion, save, short_labels
    from rnnbench.results import Results
    from tests.test_aggregate import fake_run

    long_name = "x" * 500
    assert short_labels(["a", long_name, long_name[:-1] + "y"]) == ["a", "x" * 27 + "… (1)", "x" * 27 + "… (2)"]
    runs = pd.concat([fake_run("v", seed, 0.7) for seed in range(2)])
    cells = pd.DataFrame([{"dataset": "reuters", "split": 113, "variant": "v", "seed": seed, "true": t, "predicted": p,
                           "count": 5 if t == p else 1} for seed in range(2) for t in range(3) for p in range(3)])
    sizes = {}
    for label, names in (("short", ["alpha", "beta", "gamma"]), ("long", ["alpha", long_name, "gamma"])):
        results = Results("reuters", runs, summarize(runs), pd.DataFrame(), cells, classes=names)
        save(confusion(results), tmp_path / f"{label}.png")
        sizes[label] = struct.unpack(">II", (tmp_path / f"{label}.png").read_bytes()[16:24])  # IHDR: width, height
        assert sorted(results.per_class()["class"]) == sorted(names), "the table keeps every name whole"
    assert sizes["long"][0] <= sizes["short"][0] + 250 and sizes["long"][1] <= sizes["short"][1] + 250, sizes
