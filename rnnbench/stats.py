"""Pairwise comparisons of variants over seeds: Almost Stochastic Order (Dror et al. 2019).

``eps_min(A, B)`` from ``deepsig`` bounds how far A's score distribution violates
stochastic dominance over B's: 0 means A is better across the whole distribution, 0.5
means no order, 1 means B dominates. Following deepsig's guidance, A is called
significantly better than B when ``eps_min < 0.2``; the confidence level is
Bonferroni-corrected for the number of comparisons.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd

ASO_THRESHOLD = 0.2
CONFIDENCE = 0.95
ITERATIONS = 1000
SEED = 0


def scores_by_variant(finals: pd.DataFrame, metric: str = "test_accuracy") -> dict[str, np.ndarray]:
    """Each variant's scores over seeds, ordered by seed."""
    return {
        variant: group.sort_values("seed")[metric].to_numpy(dtype=float)
        for variant, group in finals.groupby("variant", sort=True)
    }


def aso_matrix(scores: dict[str, np.ndarray], iterations: int = ITERATIONS) -> pd.DataFrame:
    """eps_min for every ordered pair (row A against column B); NaN where a side has < 2 seeds."""
    from deepsig import aso

    names = list(scores)
    matrix = pd.DataFrame(np.nan, index=names, columns=names)
    pairs = list(itertools.permutations(names, 2))
    confidence = 1 - (1 - CONFIDENCE) / max(len(pairs), 1)  # Bonferroni, as deepsig's multi_aso does
    for a, b in pairs:
        if len(scores[a]) < 2 or len(scores[b]) < 2:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # identical distributions: deepsig warns of a 0/0 ratio
            matrix.loc[a, b] = aso(
                scores[a], scores[b], confidence_level=confidence, num_bootstrap_iterations=iterations,
                num_jobs=1, show_progress=False, seed=SEED,
            )
    return matrix


def pairwise(finals: pd.DataFrame, metric: str = "test_accuracy", iterations: int = ITERATIONS) -> pd.DataFrame:
    """One row per ordered pair of variants of one dataset: eps_min, seed-paired wins, significance."""
    scores = scores_by_variant(finals, metric)
    matrix = aso_matrix(scores, iterations)
    by_seed = finals.pivot_table(index="seed", columns="variant", values=metric)
    rows = []
    for a, b in itertools.permutations(scores, 2):
        paired = by_seed[[a, b]].dropna()
        eps = matrix.loc[a, b]
        rows.append(
            {
                "a": a,
                "b": b,
                "eps_min": eps,
                "wins": int((paired[a] > paired[b]).sum()),
                "paired_seeds": len(paired),
                "mean_difference": scores[a].mean() - scores[b].mean(),
                "significant": bool(eps < ASO_THRESHOLD) if not np.isnan(eps) else False,
            }
        )
    return pd.DataFrame(rows)


def tied_with_best(pairs: pd.DataFrame, best: str) -> list[str]:
    """Variants that the best one does not significantly beat (the best itself included)."""
    beaten = set(pairs.loc[(pairs["a"] == best) & pairs["significant"], "b"])
    others = set(pairs["a"]) | set(pairs["b"]) | {best}
    return sorted(others - beaten)


def reading(row) -> str:
    """A plain-language line for one ordered pair."""
    eps = "n/a (fewer than 2 seeds)" if np.isnan(row["eps_min"]) else f"{row['eps_min']:.2f}"
    verdict = "beats" if row["significant"] else "is not shown better than"
    return f"{row['a']} {verdict} {row['b']}: {row['wins']}/{row['paired_seeds']} seeds, ε_min={eps}"
