"""Comparisons on the test documents themselves, from each run's saved test-set probabilities.

Seed ensembles: a variant's runs on one split, their probabilities averaged. Paired tests: two
variants on the same documents of one split, each document counted correct for a variant when most
of the variant's seeds classify it correctly (a majority vote over seeds), then McNemar's exact test
on the documents where the two disagree; Holm's correction over the pairs of each split.

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
ENSEMBLE_COLUMNS = ["dataset", "split", "variant", "seeds", "mean_accuracy", "ensemble_accuracy"]
OUTCOME_COLUMNS = ["dataset", "split", "variant", "seed", "kind", "documents", "correct"]
MCNEMAR_COLUMNS = ["dataset", "split", "a", "b", "documents", "a_only", "b_only", "p_value", "p_holm", "significant"]


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


def paired_tests(table: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """McNemar's exact test for every pair of variants on each split (seeds pooled by majority vote),
    Holm-corrected over the pairs of the split; ``significant`` where the corrected p < ``alpha``; from
    the ``outcomes`` table."""
    from statsmodels.stats.multitest import multipletests

    frames = []
    for dataset, split, runs, _ in _outcomes_by_split(table):
        correct = {variant: majority_correct(members) for variant, members in runs.items()}
        documents = len(next(iter(correct.values())))
        rows = [[dataset, split, a, b, documents, *mcnemar(correct[a], correct[b])]
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
