"""Comparisons on the test documents themselves, from each run's saved test-set probabilities.

Seed ensembles: a variant's runs on one split, their probabilities averaged. Paired tests: two
variants on the same documents of one split. The verdict is a two-level bootstrap of the difference of
their mean accuracies (each variant's seeds resampled, then the documents, shared by both): it carries
the training randomness as well as the documents'. Beside it, McNemar's exact test on a majority vote
over seeds, which tests two fixed voted classifiers (the training randomness ignored). Holm's correction
over the pairs of each split, for each.

Both tables are computed from one table of outcomes (``outcomes``): per run, and per variant's seed
ensemble, which test documents it classifies correctly, as packed bits. The study publishes that
table, so that both can be recomputed without the models or the probabilities.
"""

from __future__ import annotations

import base64
import itertools
from typing import Iterable

import numpy as np
import pandas as pd

ALPHA = 0.05
BOOTSTRAP_ITERATIONS = 4999
BOOTSTRAP_SEED = 0
ENSEMBLE_COLUMNS = ["dataset", "split", "variant", "seeds", "mean_accuracy", "ensemble_accuracy"]
OUTCOME_COLUMNS = ["dataset", "split", "variant", "seed", "kind", "documents", "correct"]
MCNEMAR_COLUMNS = ["dataset", "split", "a", "b", "documents", "a_only", "b_only", "p_value", "p_holm", "significant",
                   "difference", "difference_low", "difference_high", "p_bootstrap", "p_bootstrap_holm",
                   "bootstrap_significant"]


def _by_split(runs: Iterable[tuple[str, int, str, int, np.ndarray]], labels: dict):
    """Yield (dataset, split, truth, {variant: [(seed, probabilities) of each run]}) per split, sorted."""
    grouped: dict[tuple, dict[str, list[tuple[int, np.ndarray]]]] = {}
    for dataset, split, variant, seed, probabilities in runs:
        members = grouped.setdefault((dataset, int(split)), {}).setdefault(variant, [])
        members.append((int(seed), np.asarray(probabilities, dtype=np.float64)))
    for (dataset, split), variants in sorted(grouped.items()):
        yield dataset, split, labels[(dataset, split)], dict(sorted(variants.items()))


def _correct(probabilities: list[np.ndarray], truth: np.ndarray) -> np.ndarray:
    """Runs x documents: whether each run classifies each document correctly."""
    return np.stack([np.asarray(p).argmax(axis=1) == truth for p in probabilities])


def pack(correct: np.ndarray) -> str:
    """Whether each document is classified correctly, as base64 of the packed bits (one bit per document)."""
    return base64.b64encode(np.packbits(np.asarray(correct, dtype=bool)).tobytes()).decode()


def unpack(text: str, documents: int) -> np.ndarray:
    """``pack``'s bits back as booleans, one per document."""
    return np.unpackbits(np.frombuffer(base64.b64decode(text), dtype=np.uint8), count=int(documents)).astype(bool)


def outcomes(runs: Iterable[tuple[str, int, str, int, np.ndarray]], labels: dict) -> pd.DataFrame:
    """One row per run (kind "run") and per variant's seed ensemble on a split (kind "ensemble", mean
    probabilities, no seed): which test documents it classifies correctly (``pack``). ``runs``: (dataset,
    split, variant, seed, probabilities); ``labels``: (dataset, split) -> the test labels."""
    rows = []
    for dataset, split, truth, variants in _by_split(runs, labels):
        for variant, members in variants.items():
            seeds, probabilities = zip(*members)
            for seed, correct in zip(seeds, _correct(probabilities, truth)):
                rows.append([dataset, split, variant, seed, "run", len(truth), pack(correct)])
            ensemble = np.mean(probabilities, axis=0).argmax(axis=1) == truth
            rows.append([dataset, split, variant, None, "ensemble", len(truth), pack(ensemble)])
    frame = pd.DataFrame(rows, columns=OUTCOME_COLUMNS)
    frame["seed"] = frame["seed"].astype("Int64")
    return frame


def _outcomes_by_split(table: pd.DataFrame):
    """Yield (dataset, split, {variant: runs x documents correct}, {variant: ensemble's correct}) per split."""
    for (dataset, split), rows in table.groupby(["dataset", "split"], sort=True):
        runs, ensembles_ = {}, {}
        for row in rows.itertuples(index=False):
            correct = unpack(row.correct, row.documents)
            if row.kind == "ensemble":
                ensembles_[row.variant] = correct
            else:
                runs.setdefault(row.variant, []).append(correct)
        yield dataset, int(split), {v: np.stack(c) for v, c in sorted(runs.items())}, ensembles_


def ensembles(table: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, split, variant): the mean accuracy of its runs and the accuracy of their
    ensemble (mean probabilities), from the ``outcomes`` table."""
    rows = []
    for dataset, split, runs, ensemble in _outcomes_by_split(table):
        for variant, correct in runs.items():
            rows.append([dataset, split, variant, len(correct), float(correct.mean()), float(ensemble[variant].mean())])
    return pd.DataFrame(rows, columns=ENSEMBLE_COLUMNS)


def majority_correct(correct: np.ndarray) -> np.ndarray:
    """Per document, whether more than half of the runs (rows of ``correct``) classify it correctly."""
    return correct.sum(axis=0) * 2 > len(correct)


def mcnemar(a_correct: np.ndarray, b_correct: np.ndarray) -> tuple[int, int, float]:
    """McNemar's exact test (statsmodels) of two classifiers on the same documents: the documents
    only A gets right, those only B gets right, and the two-sided p-value."""
    from statsmodels.stats.contingency_tables import mcnemar as statsmodels_mcnemar

    a_only = int(np.sum(a_correct & ~b_correct))
    b_only = int(np.sum(~a_correct & b_correct))
    table = [[int(np.sum(a_correct & b_correct)), a_only], [b_only, int(np.sum(~a_correct & ~b_correct))]]
    return a_only, b_only, float(statsmodels_mcnemar(table, exact=True).pvalue)


def bootstrap_accuracies(runs: dict[str, np.ndarray], iterations: int = BOOTSTRAP_ITERATIONS,
                         seed: int = BOOTSTRAP_SEED) -> dict[str, np.ndarray]:
    """Per variant (``runs``: variant -> seeds x documents correct), its mean accuracy in each of
    ``iterations`` two-level bootstrap samples: the variant's seeds drawn with replacement, then the
    documents, the same documents for every variant (the comparison is paired)."""
    rng = np.random.default_rng(seed)
    documents = len(next(iter(runs.values()))[0])
    weights = rng.multinomial(documents, np.full(documents, 1 / documents), size=iterations).T / documents
    accuracies = {}
    for variant, correct in sorted(runs.items()):
        per_seed = correct.astype(float) @ weights  # seeds x iterations: each seed's accuracy per sample
        chosen = rng.integers(0, len(correct), size=(iterations, len(correct)))
        accuracies[variant] = per_seed[chosen, np.arange(iterations)[:, None]].mean(axis=1)
    return accuracies


def bootstrap_difference(a: np.ndarray, b: np.ndarray, confidence: float = 1 - ALPHA) -> tuple[float, float, float]:
    """The percentile interval of a - b over bootstrap samples of both, and the two-sided p-value of "no
    difference" from the bootstrap standard error (a normal reference: it resolves the small p-values
    that a Holm correction over many pairs needs, which counting samples cannot)."""
    from scipy.stats import norm

    difference = np.asarray(a) - np.asarray(b)
    tail = (1 - confidence) / 2
    spread = difference.std(ddof=1)
    p = 1.0 if spread == 0 else float(2 * norm.sf(abs(difference.mean()) / spread))
    return float(np.quantile(difference, tail)), float(np.quantile(difference, 1 - tail)), p


def paired_tests(table: pd.DataFrame, alpha: float = ALPHA, iterations: int = BOOTSTRAP_ITERATIONS) -> pd.DataFrame:
    """Every pair of variants on each split, from the ``outcomes`` table: the difference of their mean
    accuracies with its two-level bootstrap interval and p-value (``bootstrap_accuracies``), and
    McNemar's exact test on the majority vote over seeds; each Holm-corrected over the pairs of the split,
    ``bootstrap_significant`` and ``significant`` where the corrected p < ``alpha``."""
    from statsmodels.stats.multitest import multipletests

    frames = []
    for dataset, split, runs, _ in _outcomes_by_split(table):
        correct = {variant: majority_correct(members) for variant, members in runs.items()}
        sampled = bootstrap_accuracies(runs, iterations)
        documents = len(next(iter(correct.values())))
        rows = [[dataset, split, a, b, documents, *mcnemar(correct[a], correct[b])]
                + [float(runs[a].mean() - runs[b].mean()), *bootstrap_difference(sampled[a], sampled[b], 1 - alpha)]
                for a, b in itertools.combinations(correct, 2)]
        columns = MCNEMAR_COLUMNS[:8] + ["difference", "difference_low", "difference_high", "p_bootstrap"]
        frame = pd.DataFrame(rows, columns=columns)
        if len(frame):
            frame["p_holm"] = multipletests(frame["p_value"], alpha=alpha, method="holm")[1]
            frame["significant"] = frame["p_holm"] < alpha
            frame["p_bootstrap_holm"] = multipletests(frame["p_bootstrap"], alpha=alpha, method="holm")[1]
            frame["bootstrap_significant"] = frame["p_bootstrap_holm"] < alpha
            frames.append(frame[MCNEMAR_COLUMNS])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=MCNEMAR_COLUMNS)


def pair_verdicts(tests: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, pair): how many splits call the pair different by the two-level bootstrap
    (Holm), and the plain reading. A pair is called different only when every split does so, in the
    same direction."""
    rows = []
    for (dataset, a, b), group in tests.groupby(["dataset", "a", "b"], sort=True):
        a_wins = group["bootstrap_significant"] & (group["difference"] > 0)
        b_wins = group["bootstrap_significant"] & (group["difference"] < 0)
        splits = len(group)
        if a_wins.all() or b_wins.all():
            better, worse = (a, b) if a_wins.all() else (b, a)
            verdict = f"{better} gets more documents right than {worse} on every split"
        else:
            verdict = "no evidence of an order on the documents"
        rows.append({"dataset": dataset, "a": a, "b": b, "splits": splits,
                     "splits_different": int(group["bootstrap_significant"].sum()), "verdict": verdict,
                     "different": bool(a_wins.all() or b_wins.all())})
    return pd.DataFrame(rows, columns=["dataset", "a", "b", "splits", "splits_different", "verdict", "different"])
