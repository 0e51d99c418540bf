"""Comparisons of variants over their runs (a run is a split and seed replicate): Almost Stochastic
Order (Dror et al. 2019), how a variant's variance splits between seeds and data splits, and how many
seeds a comparison needs.

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
import functools
import importlib
import itertools
import math
import warnings

import numpy as np
import pandas as pd

ASO_THRESHOLD = 0.2
CONFIDENCE = 0.95
ITERATIONS = 1000
SEED = 0
POWER = 0.8
POWER_ALPHA = 0.05
POWER_SIMULATIONS = 2000
MAX_SEEDS = 100
IMPORTANCE_COLUMNS = ["term", "order", "df", "sum_sq", "F", "p_value", "partial_eta_sq"]
BUDGET_COLUMNS = ["dataset", "search", "trials", "expected_max", "low", "high", "expected_max_ecdf"]
PAIR_COLUMNS = ["a", "b", "eps_min", "wins", "paired_seeds", "mean_difference", "significant", "seeds_needed"]
REPLICATE = ["split", "seed"]


def replicates(finals: pd.DataFrame) -> list[str]:
    """The columns that name a run of a variant: split (when the table has one) and seed."""
    return [column for column in REPLICATE if column in finals]


def scores_by_variant(finals: pd.DataFrame, metric: str = "test_accuracy") -> dict[str, np.ndarray]:
    """Each variant's scores over its runs, ordered by split and seed; diverged runs (NaN) left out."""
    return {
        variant: group.sort_values(replicates(group))[metric].dropna().to_numpy(dtype=float)
        for variant, group in finals.groupby("variant", sort=True)
    }


def _quantile_function(scores):
    """deepsig.aso.get_quantile_function, vectorised (deepsig re-sorts the scores at every point): the
    same values (``tests/test_stats.py`` checks equality), fast enough for many variants."""
    cdf = np.sort(np.asarray(scores, dtype=float))
    num = len(cdf)

    def quantiles(p):
        index = np.ceil(num * np.asarray(p, dtype=float)).astype(int)
        return cdf[np.clip(index - 1, 0, num - 1)]

    return quantiles


def _deepsig():
    """deepsig, imported without the TensorFlow it would load to convert its tensors (the scores here
    are numpy's): seconds saved, and the published tables recompute without TensorFlow."""
    import sys

    import scipy.stats  # noqa: F401  (before the block: scipy looks other array libraries up in sys.modules)

    if "deepsig" in sys.modules or "tensorflow" in sys.modules:
        return importlib.import_module("deepsig")
    sys.modules["tensorflow"] = None  # `import tensorflow` fails, and deepsig goes on without it
    try:
        return importlib.import_module("deepsig")
    finally:
        sys.modules.pop("tensorflow", None)


@functools.lru_cache(maxsize=16)
def _bootstrap_uniforms(seed: int, iterations: int, count_a: int, count_b: int) -> tuple[np.ndarray, np.ndarray]:
    """The uniform draws of deepsig's bootstrap iterations: iteration k reseeds numpy's legacy generator
    with ``seed + k`` and draws A's, then B's. They depend on the sample sizes alone, so every pair of a
    study with the same run counts shares them."""
    draws_a, draws_b = np.empty((iterations, count_a)), np.empty((iterations, count_b))
    for row in range(iterations):
        state = np.random.RandomState(seed + row + 1)
        draws_a[row], draws_b[row] = state.uniform(0, 1, count_a), state.uniform(0, 1, count_b)
    draws_a.flags.writeable = draws_b.flags.writeable = False
    return draws_a, draws_b


def _rows_quantiles(samples: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``_quantile_function`` of each row of ``samples`` at ``points``."""
    index = np.clip(np.ceil(samples.shape[1] * points).astype(int) - 1, 0, samples.shape[1] - 1)
    return np.sort(samples, axis=1)[:, index]


def _row_sums(values: np.ndarray) -> np.ndarray:
    """Each row's sum as ``np.sum`` gives it for the row alone (pairwise; a reduction along an axis adds in
    another order, which differs in the last bits)."""
    return np.array([np.add.reduce(row) for row in values])


def _bootstrapped_violation_ratios(scores_a, scores_b, quantile_func_a, quantile_func_b, num_bootstrap_iterations,
                                   dt, num_jobs, show_progress, seed, _progress_bar):
    """deepsig.aso.get_bootstrapped_violation_ratios, every iteration at once: the same draws and the same
    sums, row by row (``tests/test_stats.py`` checks equality), without a Python call per iteration."""
    draws_a, draws_b = _bootstrap_uniforms(seed, num_bootstrap_iterations, len(scores_a), len(scores_b))
    points = np.arange(dt, 1, dt)
    f = _rows_quantiles(quantile_func_a(draws_a), points)
    g = _rows_quantiles(quantile_func_b(draws_b), points)
    diff = g - f
    squared_wasserstein = _row_sums(diff**2 * dt)
    diff[f >= g] = 0
    violation = _row_sums(diff[:, 1:] ** 2 * dt)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(squared_wasserstein == 0, 0.5, violation / squared_wasserstein)
    return list(ratios)


@contextlib.contextmanager
def _fast_deepsig():
    """deepsig's ASO with ``_quantile_function`` and ``_bootstrapped_violation_ratios`` in place of its own."""
    _deepsig()
    module = importlib.import_module("deepsig.aso")  # the package's name `aso` is the function
    originals = module.get_quantile_function, module.get_bootstrapped_violation_ratios
    module.get_quantile_function, module.get_bootstrapped_violation_ratios = (
        _quantile_function, _bootstrapped_violation_ratios)
    try:
        yield
    finally:
        module.get_quantile_function, module.get_bootstrapped_violation_ratios = originals


def bonferroni_confidence(variants: int) -> float:
    """The confidence level for each of the n(n-1)/2 pairwise comparisons of ``variants`` variants."""
    comparisons = max(variants * (variants - 1) // 2, 1)
    return 1 - (1 - CONFIDENCE) / comparisons


def aso_matrix(scores: dict[str, np.ndarray], iterations: int = ITERATIONS) -> pd.DataFrame:
    """eps_min for every ordered pair (row A against column B) from deepsig's ``multi_aso``.

    At the Bonferroni-adjusted confidence level (``bonferroni_confidence``) for the pairs
    compared. Variants with fewer than 2 seeds get NaN: no distribution to compare.
    """
    multi_aso = _deepsig().multi_aso
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
    """One row per ordered pair of variants of one dataset: eps_min, wins over the runs paired by split
    and seed, significance, and for a pair whose A has the higher mean the seeds each needs for
    ``seeds_needed``'s power."""
    scores = scores_by_variant(finals, metric)
    matrix = aso_matrix(scores, iterations)
    by_seed = finals.pivot_table(index=replicates(finals), columns="variant", values=metric).reindex(
        columns=list(scores))
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
                "seeds_needed": seeds_needed(scores[a], scores[b]) if scores[a].mean() > scores[b].mean() else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


def pairwise_by_dataset(finals: pd.DataFrame, metric: str = "test_accuracy", iterations: int = ITERATIONS) -> pd.DataFrame:
    """``pairwise`` of each dataset of a study's finals, one table, with a dataset column."""
    frames = [pairwise(group, metric, iterations).assign(dataset=dataset)
              for dataset, group in finals.groupby("dataset", sort=True)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=PAIR_COLUMNS + ["dataset"])


@functools.lru_cache(maxsize=4)
def _power_draws(seed: int, simulations: int, max_seeds: int) -> tuple[np.ndarray, np.ndarray]:
    """The standard normal draws of ``seeds_needed``'s simulated studies, the same for every pair."""
    rng = np.random.default_rng(seed)
    draws = rng.standard_normal((simulations, max_seeds)), rng.standard_normal((simulations, max_seeds))
    for array in draws:
        array.flags.writeable = False
    return draws


def seeds_needed(
    a, b, power: float = POWER, alpha: float = POWER_ALPHA, simulations: int = POWER_SIMULATIONS,
    max_seeds: int = MAX_SEEDS, seed: int = SEED,
) -> float:
    """How many runs per variant a one-sided Welch t-test at ``alpha`` needs to find A better than B
    with probability ``power``, if their scores are normal with the measured means and standard
    deviations (a simulation of ``simulations`` studies per size; ``_welch_greater``). NaN when A's
    mean is not higher or a variant has fewer than 2 scores; ``inf`` beyond ``max_seeds``. The verdicts
    use ASO, which needs more runs than this: a lower bound."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if min(len(a), len(b)) < 2 or not a.mean() > b.mean():
        return float("nan")
    spread = (max(a.std(ddof=1), 1e-12), max(b.std(ddof=1), 1e-12))  # equal scores: an exact gap
    draws = _power_draws(seed, simulations, max_seeds)

    def power_at(n: int) -> float:
        sample_a = a.mean() + spread[0] * draws[0][:, :n]
        sample_b = b.mean() + spread[1] * draws[1][:, :n]
        return float(np.mean(_welch_greater(sample_a, sample_b) < alpha))

    low, high = 2, max_seeds  # power grows with n (the same draws extended): bisect for the first n
    if power_at(high) < power:
        return float("inf")
    while low < high:
        middle = (low + high) // 2
        low, high = (middle + 1, high) if power_at(middle) < power else (low, middle)
    return float(low)


def _welch_greater(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row by row, the one-sided p-value of Welch's t-test that a's mean is greater than b's: scipy's
    ``ttest_ind(a, b, axis=1, equal_var=False, alternative="greater")``, without its per-call overhead."""
    from scipy import stats

    var_a, var_b = a.var(axis=1, ddof=1) / a.shape[1], b.var(axis=1, ddof=1) / b.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (a.mean(axis=1) - b.mean(axis=1)) / np.sqrt(var_a + var_b)
        df = (var_a + var_b) ** 2 / (var_a ** 2 / (a.shape[1] - 1) + var_b ** 2 / (b.shape[1] - 1))
    return stats.t.sf(t, df)


def _split_and_seed_variance(y: np.ndarray, split: np.ndarray) -> tuple[float, float]:
    """(split variance, seed variance) of scores ``y`` on data splits ``split``."""
    import statsmodels.formula.api as smf

    splits = len(set(split))
    if splits < 2:
        return 0.0, (float(np.var(y, ddof=1)) if len(y) > 1 else float("nan"))
    if len(y) <= splits:  # one run per split: the two sources cannot be told apart
        return float("nan"), float("nan")
    frame = pd.DataFrame({"y": y, "split": split.astype(str)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a boundary estimate (no split variance) warns
        fit = smf.mixedlm("y ~ 1", frame, groups=frame["split"]).fit(reml=True)
    return max(float(fit.cov_re.iloc[0, 0]), 0.0), float(fit.scale)


def variance_components(finals: pd.DataFrame, metric: str = "test_accuracy") -> pd.DataFrame:
    """Per variant, its score variance between data splits and between seeds within a split: the
    REML estimates of a random-intercept model (score = mean + split effect + seed noise;
    statsmodels' MixedLM), and the split's share of their sum. With one split every bit of the
    variance is the seeds' (the sample variance)."""
    rows = []
    for variant, group in finals.dropna(subset=[metric]).groupby("variant", sort=True):
        y = group[metric].to_numpy(dtype=float)
        split = group["split"].to_numpy() if "split" in group else np.zeros(len(y), dtype=int)
        split_var, seed_var = _split_and_seed_variance(y, split)
        total = split_var + seed_var
        rows.append({"variant": variant, "runs": len(y), "splits": len(set(split)), "seed_variance": seed_var,
                     "split_variance": split_var, "split_share": split_var / total if total > 0 else float("nan")})
    return pd.DataFrame(rows, columns=["variant", "runs", "splits", "seed_variance", "split_variance", "split_share"])


def binomial_noise(accuracy: float, documents: int, confidence: float = CONFIDENCE) -> float:
    """Half the width of the normal-approximation interval of an accuracy measured on ``documents``
    test documents: the binomial noise of the test set itself, shared by every variant scored on it."""
    from scipy.stats import norm

    return float(norm.ppf(0.5 + confidence / 2) * np.sqrt(accuracy * (1 - accuracy) / documents))


def tied_with_best(pairs: pd.DataFrame, best: str) -> list[str]:
    """Variants that the best one is not shown better than (the best itself included): no evidence of an
    order at the study's runs, which is not evidence that they are equal."""
    beaten = set(pairs.loc[(pairs["a"] == best) & pairs["significant"], "b"])
    others = set(pairs["a"]) | set(pairs["b"]) | {best}
    return sorted(others - beaten)


def reading(row) -> str:
    """A plain-language line for one ordered pair."""
    eps = "n/a (fewer than 2 runs)" if np.isnan(row["eps_min"]) else f"{row['eps_min']:.2f}"
    evidence = f"{row['wins']}/{row['paired_seeds']} paired runs, ε_min={eps}"
    if row["significant"]:
        return f"{row['a']} beats {row['b']}: {evidence}"
    return f"no evidence that {row['a']} is better than {row['b']} at {row['paired_seeds']} runs: {evidence}"


def importance(finals: pd.DataFrame, axes: list[str], metric: str = "test_accuracy") -> pd.DataFrame:
    """ANOVA of ``metric`` on the swept ``axes`` (each a categorical factor) with their interactions,
    type-II sums of squares (statsmodels' ``anova_lm``): one row per term (a field, or fields joined
    by " × ") with df, SS, F, p and partial eta² (SS / (SS + residual SS)), largest eta² first. The
    interactions are left out only where the grid cannot estimate them: a cell without runs, or one run
    per cell (no residual). Diverged runs (NaN metric) are left out."""
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    data = finals.dropna(subset=[metric])
    varying = [axis for axis in axes if data[axis].astype(str).nunique() > 1]
    if not varying:
        return pd.DataFrame(columns=IMPORTANCE_COLUMNS)
    factors = {f"x{index}": axis for index, axis in enumerate(varying)}  # formula-safe names
    frame = pd.DataFrame({"y": data[metric].to_numpy(dtype=float),
                          **{name: data[axis].astype(str).to_numpy() for name, axis in factors.items()}})
    cells = math.prod(frame[name].nunique() for name in factors)
    crossed = len(factors) > 1 and frame.groupby(list(factors)).ngroups == cells and len(frame) > cells
    formula = "y ~ " + (" * " if crossed else " + ").join(f"C({name})" for name in factors)
    table = anova_lm(smf.ols(formula, frame).fit(), typ=2)
    residual = table.loc["Residual", "sum_sq"]
    exact = residual <= 1e-12 * max(float(table["sum_sq"].sum()), 1e-300)  # a perfect fit has no F
    rows = []
    for label, term in table.drop(index="Residual").iterrows():
        names = [name.removeprefix("C(").removesuffix(")") for name in label.split(":")]
        ss = float(term["sum_sq"])
        rows.append({"term": " × ".join(factors[name] for name in names), "order": len(names),
                     "df": int(round(term["df"])), "sum_sq": ss,
                     "F": float("nan") if exact else float(term["F"]),
                     "p_value": float("nan") if exact else float(term["PR(>F)"]),
                     "partial_eta_sq": ss / (ss + residual) if ss + residual > 0 else float("nan")})
    return pd.DataFrame(rows, columns=IMPORTANCE_COLUMNS).sort_values("partial_eta_sq", ascending=False,
                                                                      ignore_index=True)


def interaction_readings(table: pd.DataFrame, alpha: float = POWER_ALPHA) -> list[str]:
    """A sentence for each interaction with p < ``alpha``: the main effects of its fields are averages
    over the other field's values and are to be read with it."""
    lines = []
    for row in table[(table["order"] > 1) & (table["p_value"] < alpha)].itertuples(index=False):
        fields = row.term.split(" × ")
        lines.append(f"{', '.join(fields[:-1])} and {fields[-1]} interact (F = {row.F:.2f}, p = {row.p_value:.3g}, "
                     f"partial η² = {row.partial_eta_sq:.2f}): the main effect of each is an average over the "
                     f"others' values, not a rule that holds at each of them.")
    return lines


def expected_max(scores, replacement: bool = False) -> np.ndarray:
    """Expected best validation score of n = 1..N trials, estimated from the N observed: entry n - 1
    is E[max of n]. Without replacement (default), the mean best over the n-subsets of the trials:
    unbiased (Tang et al. 2020; Dodge et al. 2021's U), and n = N gives the best trial the search ran.
    With replacement, Dodge et al. 2019's original estimator (the empirical CDF to the n-th power):
    less variance, biased low as n nears N."""
    values = np.sort(np.asarray(scores, dtype=float))
    total = len(values)
    if total == 0:
        return np.array([])
    rank = np.arange(1, total + 1)
    curve = []
    for n in range(1, total + 1):
        if replacement:
            weights = (rank / total) ** n - ((rank - 1) / total) ** n
        else:  # P(max of an n-subset is the i-th smallest) = C(i - 1, n - 1) / C(N, n)
            weights = np.array([math.comb(i - 1, n - 1) for i in rank], dtype=float) / math.comb(total, n)
        curve.append(float(weights @ values))
    return np.array(curve)


def expected_max_band(scores, iterations: int = ITERATIONS, confidence: float = CONFIDENCE, seed: int = SEED,
                      replacement: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap band of ``expected_max``: the N scores resampled with replacement."""
    values = np.asarray(scores, dtype=float)
    rng = np.random.default_rng(seed)
    curves = np.array([expected_max(rng.choice(values, size=len(values)), replacement) for _ in range(iterations)])
    alpha = (1 - confidence) / 2
    return np.quantile(curves, alpha, axis=0), np.quantile(curves, 1 - alpha, axis=0)


def budget_curves(trials: pd.DataFrame, iterations: int = ITERATIONS) -> pd.DataFrame:
    """Per (dataset, search): expected best validation accuracy at n = 1..N trials (``expected_max``
    without replacement) and its band, beside the with-replacement estimate (``expected_max_ecdf``),
    from a table of trials (dataset, search, val_accuracy)."""
    rows = []
    for (dataset, search), group in trials.groupby(["dataset", "search"], sort=True):
        scores = group["val_accuracy"].to_numpy()
        curve, ecdf = expected_max(scores), expected_max(scores, replacement=True)
        low, high = expected_max_band(scores, iterations)
        rows += [{"dataset": dataset, "search": search, "trials": n, "expected_max": curve[n - 1],
                  "low": low[n - 1], "high": high[n - 1], "expected_max_ecdf": ecdf[n - 1]}
                 for n in range(1, len(scores) + 1)]
    return pd.DataFrame(rows, columns=BUDGET_COLUMNS)


def budget_leaders(curves: pd.DataFrame) -> pd.DataFrame:
    """Budget ranges (trials from..to) over which one search leads a dataset's curves, with the
    searches whose band overlaps the leader's there (its lead is not established against them)."""
    rows = []
    for dataset, frame in curves.groupby("dataset", sort=True):
        previous = None
        for n, at in frame.groupby("trials", sort=True):
            best = at.loc[at["expected_max"].idxmax()]
            tied = sorted(at.loc[(at["search"] != best["search"]) & (at["high"] >= best["low"]), "search"])
            key = (best["search"], ", ".join(tied))
            if previous and previous["key"] == key and previous["to"] == n - 1:
                previous["to"] = n
                continue
            previous = {"key": key, "dataset": dataset, "from": n, "to": n}
            rows.append(previous)
    return pd.DataFrame(
        [{"dataset": r["dataset"], "from": r["from"], "to": r["to"], "leader": r["key"][0], "overlapping": r["key"][1]}
         for r in rows],
        columns=["dataset", "from", "to", "leader", "overlapping"],
    )
