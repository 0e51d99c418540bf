"""Comparisons on the test documents themselves, from each run's saved test-set probabilities.

Seed ensembles: a variant's runs on one split, their probabilities averaged. Paired tests: two
variants on the same documents of one split, each document counted correct for a variant when most
of the variant's seeds classify it correctly (a majority vote over seeds), then McNemar's exact test
on the documents where the two disagree; Holm's correction over the pairs of each split.
"""

from __future__ import annotations

import itertools
from typing import Iterable

import numpy as np
import pandas as pd

ALPHA = 0.05
ENSEMBLE_COLUMNS = ["dataset", "split", "variant", "seeds", "mean_accuracy", "ensemble_accuracy"]
MCNEMAR_COLUMNS = ["dataset", "split", "a", "b", "documents", "a_only", "b_only", "p_value", "p_holm", "significant"]


def _by_split(runs: Iterable[tuple[str, int, str, int, np.ndarray]], labels: dict):
    """Yield (dataset, split, truth, {variant: [probabilities of each seed]}) per split, sorted."""
    grouped: dict[tuple, dict[str, list[np.ndarray]]] = {}
    for dataset, split, variant, _seed, probabilities in runs:
        members = grouped.setdefault((dataset, int(split)), {}).setdefault(variant, [])
        members.append(np.asarray(probabilities, dtype=np.float64))
    for (dataset, split), variants in sorted(grouped.items()):
        yield dataset, split, labels[(dataset, split)], dict(sorted(variants.items()))


def _correct(probabilities: list[np.ndarray], truth: np.ndarray) -> np.ndarray:
    """Runs x documents: whether each run classifies each document correctly."""
    return np.stack([np.asarray(p).argmax(axis=1) == truth for p in probabilities])


def ensembles(runs: Iterable[tuple[str, int, str, int, np.ndarray]], labels: dict) -> pd.DataFrame:
    """Per (dataset, split, variant): the mean accuracy of its runs and the accuracy of their
    ensemble (mean probabilities). ``runs``: (dataset, split, variant, seed, probabilities);
    ``labels``: (dataset, split) -> the test labels."""
    rows = []
    for dataset, split, truth, variants in _by_split(runs, labels):
        for variant, members in variants.items():
            ensemble = np.mean(np.mean(members, axis=0).argmax(axis=1) == truth)
            rows.append([dataset, split, variant, len(members), float(_correct(members, truth).mean()), float(ensemble)])
    return pd.DataFrame(rows, columns=ENSEMBLE_COLUMNS)


def majority_correct(probabilities: list[np.ndarray], truth: np.ndarray) -> np.ndarray:
    """Per document, whether more than half of the runs classify it correctly."""
    return _correct(probabilities, truth).sum(axis=0) * 2 > len(probabilities)


def mcnemar(a_correct: np.ndarray, b_correct: np.ndarray) -> tuple[int, int, float]:
    """McNemar's exact test (statsmodels) of two classifiers on the same documents: the documents
    only A gets right, those only B gets right, and the two-sided p-value."""
    from statsmodels.stats.contingency_tables import mcnemar as statsmodels_mcnemar

    a_only = int(np.sum(a_correct & ~b_correct))
    b_only = int(np.sum(~a_correct & b_correct))
    table = [[int(np.sum(a_correct & b_correct)), a_only], [b_only, int(np.sum(~a_correct & ~b_correct))]]
    return a_only, b_only, float(statsmodels_mcnemar(table, exact=True).pvalue)


def paired_tests(runs: Iterable[tuple[str, int, str, int, np.ndarray]], labels: dict, alpha: float = ALPHA) -> pd.DataFrame:
    """McNemar's exact test for every pair of variants on each split (seeds pooled by majority vote),
    Holm-corrected over the pairs of the split; ``significant`` where the corrected p < ``alpha``."""
    from statsmodels.stats.multitest import multipletests

    frames = []
    for dataset, split, truth, variants in _by_split(runs, labels):
        correct = {variant: majority_correct(members, truth) for variant, members in variants.items()}
        rows = [[dataset, split, a, b, len(truth), *mcnemar(correct[a], correct[b])]
                for a, b in itertools.combinations(correct, 2)]
        frame = pd.DataFrame(rows, columns=MCNEMAR_COLUMNS[:-2])
        if len(frame):
            frame["p_holm"] = multipletests(frame["p_value"], alpha=alpha, method="holm")[1]
            frame["significant"] = frame["p_holm"] < alpha
            frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=MCNEMAR_COLUMNS)


def pair_verdicts(tests: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, pair): how many splits call the pair different, and the plain reading. A
    pair is called different only when every split does so, in the same direction."""
    rows = []
    for (dataset, a, b), group in tests.groupby(["dataset", "a", "b"], sort=True):
        a_wins = group["significant"] & (group["a_only"] > group["b_only"])
        b_wins = group["significant"] & (group["b_only"] > group["a_only"])
        splits = len(group)
        if a_wins.all() or b_wins.all():
            better, worse = (a, b) if a_wins.all() else (b, a)
            verdict = f"{better} gets more documents right than {worse} on every split"
        else:
            verdict = "not told apart on the documents"
        rows.append({"dataset": dataset, "a": a, "b": b, "splits": splits,
                     "splits_different": int(group["significant"].sum()), "verdict": verdict,
                     "different": bool(a_wins.all() or b_wins.all())})
    return pd.DataFrame(rows, columns=["dataset", "a", "b", "splits", "splits_different", "verdict", "different"])
