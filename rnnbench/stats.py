"""Pairwise comparisons of variants over seeds: Almost Stochastic Order (Dror et al. 2019).

``eps_min(A, B)`` from ``deepsig`` bounds how far A's score distribution violates
stochastic dominance over B's: 0 means A is better across the whole distribution, 0.5
means no order, 1 means B dominates. Following deepsig's guidance, A is called
significantly better than B when ``eps_min < 0.2``, at a confidence level Bonferroni-adjusted
for the number of comparisons: 1 - 0.05 / m for m = n(n - 1)/2 pairs of n variants.

We adjust it ourselves: deepsig 1.2's ``use_bonferroni`` computes ``confidence + (1 - confidence)
/ m``, which is 1.0 for a single comparison (so every two-variant study read ε_min = 1 both ways)
and less than Bonferroni's level for more (0.951 instead of 0.9986 for 9 variants).
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import warnings

import numpy as np
import pandas as pd

ASO_THRESHOLD = 0.2
CONFIDENCE = 0.95
ITERATIONS = 1000
SEED = 0
PAIR_COLUMNS = ["a", "b", "eps_min", "wins", "paired_seeds", "mean_difference", "significant"]


def scores_by_variant(finals: pd.DataFrame, metric: str = "test_accuracy") -> dict[str, np.ndarray]:
    """Each variant's scores over seeds, ordered by seed; diverged runs (NaN) left out."""
    return {
        variant: group.sort_values("seed")[metric].dropna().to_numpy(dtype=float)
        for variant, group in finals.groupby("variant", sort=True)
    }


def _quantile_function(scores):
    """deepsig.aso.get_quantile_function, vectorised: the same values, without a Python call per point.

    deepsig evaluates its empirical quantile function through ``np.vectorize``, re-sorting
    the scores at every point; that made a 7-variant comparison take minutes. This returns
    exactly what it returns (``tests/test_stats.py`` checks equality).
    """
    cdf = np.sort(np.asarray(scores, dtype=float))
    num = len(cdf)

    def quantiles(p):
        index = np.ceil(num * np.asarray(p, dtype=float)).astype(int)
        return cdf[np.clip(index - 1, 0, num - 1)]

    return quantiles


@contextlib.contextmanager
def _fast_deepsig():
    module = importlib.import_module("deepsig.aso")  # the package's name `aso` is the function
    original = module.get_quantile_function
    module.get_quantile_function = _quantile_function
    try:
        yield
    finally:
        module.get_quantile_function = original


def bonferroni_confidence(variants: int) -> float:
    """The confidence level for each of the n(n-1)/2 pairwise comparisons of ``variants`` variants."""
    comparisons = max(variants * (variants - 1) // 2, 1)
    return 1 - (1 - CONFIDENCE) / comparisons


def aso_matrix(scores: dict[str, np.ndarray], iterations: int = ITERATIONS) -> pd.DataFrame:
    """eps_min for every ordered pair (row A against column B) from deepsig's ``multi_aso``.

    At the Bonferroni-adjusted confidence level (``bonferroni_confidence``) for the pairs
    compared. Variants with fewer than 2 seeds get NaN: no distribution to compare.
    """
    from deepsig import multi_aso

    names = list(scores)
    matrix = pd.DataFrame(np.nan, index=names, columns=names)
    usable = {name: values for name, values in scores.items() if len(values) >= 2}
    if len(usable) >= 2:
        with _fast_deepsig(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # identical distributions: deepsig warns of a 0/0 ratio
            eps = multi_aso(usable, confidence_level=bonferroni_confidence(len(usable)), use_bonferroni=False,
                            return_df=True, num_bootstrap_iterations=iterations, num_jobs=1, show_progress=False,
                            seed=SEED)
        matrix.loc[eps.index, eps.columns] = eps.to_numpy()
    for name in names:
        matrix.loc[name, name] = np.nan
    return matrix


def pairwise(finals: pd.DataFrame, metric: str = "test_accuracy", iterations: int = ITERATIONS) -> pd.DataFrame:
    """One row per ordered pair of variants of one dataset: eps_min, seed-paired wins, significance."""
    scores = scores_by_variant(finals, metric)
    matrix = aso_matrix(scores, iterations)
    by_seed = finals.pivot_table(index="seed", columns="variant", values=metric).reindex(columns=list(scores))
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
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


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


def importance(finals: pd.DataFrame, axes: list[str], metric: str = "test_accuracy") -> pd.DataFrame:
    """Main-effects ANOVA of ``metric`` on the swept ``axes`` (each a categorical factor).

    Type-II sums of squares from least squares: each axis's SS is the rise in residual SS
    when that axis is dropped from the model holding every axis. Returns one row per axis
    with df, SS, F, p and partial eta² (SS / (SS + residual SS)), most important first.
    Diverged runs (NaN metric) are left out.
    """
    from scipy import stats as scipy_stats

    data = finals.dropna(subset=[metric])
    varying = [axis for axis in axes if data[axis].astype(str).nunique() > 1]
    y = data[metric].to_numpy(dtype=float)

    def design(columns):
        blocks = [np.ones((len(data), 1))]
        for axis in columns:
            dummies = pd.get_dummies(data[axis].astype(str), drop_first=True, dtype=float)
            blocks.append(dummies.to_numpy())
        return np.hstack(blocks)

    def residual(columns):
        x = design(columns)
        coef, *_ = np.linalg.lstsq(x, y, rcond=None)
        return float(np.sum((y - x @ coef) ** 2)), np.linalg.matrix_rank(x)

    full_ss, full_rank = residual(varying)
    df_resid = len(y) - full_rank
    rows = []
    for axis in varying:
        reduced_ss, reduced_rank = residual([a for a in varying if a != axis])
        ss, df = reduced_ss - full_ss, full_rank - reduced_rank
        f = (ss / df) / (full_ss / df_resid) if df_resid > 0 and full_ss > 0 else float("nan")
        p = float(scipy_stats.f.sf(f, df, df_resid)) if np.isfinite(f) else float("nan")
        eta = ss / (ss + full_ss) if ss + full_ss > 0 else float("nan")
        rows.append({"axis": axis, "df": df, "sum_sq": ss, "F": f, "p_value": p, "partial_eta_sq": eta})
    columns = ["axis", "df", "sum_sq", "F", "p_value", "partial_eta_sq"]
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values("partial_eta_sq", ascending=False, ignore_index=True)
