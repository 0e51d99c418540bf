import numpy as np
import pandas as pd

from rnnbench.stats import pairwise, reading, tied_with_best


def finals(scores: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"variant": v, "seed": s, "test_accuracy": x} for v, xs in scores.items() for s, x in enumerate(xs)]
    )


def pair(pairs, a, b):
    return pairs[(pairs["a"] == a) & (pairs["b"] == b)].iloc[0]


def test_clearly_better_is_significant_and_identical_is_not():
    rng = np.random.default_rng(1)
    good = list(0.80 + 0.005 * rng.standard_normal(5))
    bad = list(0.70 + 0.005 * rng.standard_normal(5))
    pairs = pairwise(finals({"good": good, "bad": bad, "twin": list(bad)}), iterations=200)

    better = pair(pairs, "good", "bad")
    assert better["significant"] and better["eps_min"] < 0.2
    assert better["wins"] == 5 and better["paired_seeds"] == 5
    assert reading(better).startswith("good beats bad: 5/5 seeds, ε_min=")

    assert not pair(pairs, "bad", "good")["significant"]
    assert not pair(pairs, "bad", "twin")["significant"] and not pair(pairs, "twin", "bad")["significant"]
    assert tied_with_best(pairs, "good") == ["good"]


def test_overlapping_distributions_are_ties():
    pairs = pairwise(finals({"a": [0.70, 0.74, 0.72, 0.71, 0.73], "b": [0.71, 0.73, 0.70, 0.74, 0.72]}), iterations=200)
    assert not pairs["significant"].any()
    assert tied_with_best(pairs, "a") == ["a", "b"]


def test_one_seed_gives_no_verdict():
    pairs = pairwise(finals({"a": [0.9], "b": [0.1]}), iterations=50)
    assert np.isnan(pair(pairs, "a", "b")["eps_min"]) and not pairs["significant"].any()
    assert "n/a" in reading(pair(pairs, "a", "b"))


def test_vectorised_quantile_function_equals_deepsig():
    from deepsig.aso import get_quantile_function

    from rnnbench.stats import _quantile_function

    rng = np.random.default_rng(0)
    points = np.concatenate([np.arange(0.005, 1, 0.005), rng.uniform(0, 1, 50), [0.0, 1.0]])
    for size in (2, 5, 7):
        scores = rng.normal(0.7, 0.02, size)
        np.testing.assert_array_equal(_quantile_function(scores)(points), get_quantile_function(scores)(points))


def test_a_single_variant_has_no_pairs_but_a_table():
    from rnnbench.figures import Results, pairwise_matrix
    from rnnbench.stats import PAIR_COLUMNS

    pairs = pairwise(finals({"only": [0.7, 0.8]}))
    assert list(pairs.columns) == PAIR_COLUMNS and pairs.empty
    summary = pd.DataFrame({"variant": ["only"]})
    pairwise_matrix(Results("reuters", pd.DataFrame(), summary, pairs, pd.DataFrame()))
