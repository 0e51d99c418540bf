import warnings

import numpy as np
import pandas as pd
import pytest

from rnnbench.stats import binomial_noise, bonferroni_confidence, pairwise, reading, tied_with_best


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
    assert reading(better).startswith("good beats bad: 5/5 paired runs, ε_min=")

    assert not pair(pairs, "bad", "good")["significant"]
    assert not pair(pairs, "bad", "twin")["significant"] and not pair(pairs, "twin", "bad")["significant"]
    assert tied_with_best(pairs, "good") == ["good"]


def test_two_variants_are_compared_at_the_plain_confidence_level():
    """deepsig's own Bonferroni step makes one comparison's level 1.0 (ε_min = 1 both ways); ours keeps 0.95."""
    assert bonferroni_confidence(2) == pytest.approx(0.95)
    assert bonferroni_confidence(3) == pytest.approx(1 - 0.05 / 3)
    assert bonferroni_confidence(9) == pytest.approx(1 - 0.05 / 36)
    rng = np.random.default_rng(1)
    pairs = pairwise(finals({"good": list(0.80 + 0.005 * rng.standard_normal(5)),
                             "bad": list(0.70 + 0.005 * rng.standard_normal(5))}), iterations=200)
    assert pair(pairs, "good", "bad")["significant"] and pair(pairs, "good", "bad")["eps_min"] < 0.2
    assert pair(pairs, "bad", "good")["eps_min"] > 0.5


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


def test_vectorised_bootstrap_equals_deepsigs_iteration_by_iteration():
    """Every bootstrapped violation ratio is deepsig's own to the last bit: unequal sizes, ties, and a pair
    whose draws are all equal (0.5, deepsig's answer to a zero distance)."""
    from deepsig.aso import get_bootstrapped_violation_ratios, get_quantile_function

    from rnnbench.stats import _bootstrapped_violation_ratios, _quantile_function

    rng = np.random.default_rng(1)
    pairs = [(rng.normal(0.7, 0.02, 5), rng.normal(0.71, 0.02, 5)), (rng.normal(0.5, 0.1, 2), rng.normal(0.5, 0.1, 7)),
             (np.array([0.7, 0.7, 0.72]), np.array([0.7, 0.71, 0.71, 0.69])), (np.full(3, 0.6), np.full(4, 0.6))]
    for a, b in pairs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = get_bootstrapped_violation_ratios(a, b, get_quantile_function(a), get_quantile_function(b), 200,
                                                         0.001, 1, False, 0, None)
        got = _bootstrapped_violation_ratios(a, b, _quantile_function(a), _quantile_function(b), 200, 0.001, 1, False,
                                             0, None)
        np.testing.assert_array_equal(np.array(got), np.array(expected))


def test_a_single_variant_has_no_pairs_but_a_table():
    from rnnbench.figures import pairwise_matrix
    from rnnbench.results import Results
    from rnnbench.stats import PAIR_COLUMNS

    pairs = pairwise(finals({"only": [0.7, 0.8]}))
    assert list(pairs.columns) == PAIR_COLUMNS and pairs.empty
    summary = pd.DataFrame({"variant": ["only"]})
    pairwise_matrix(Results("reuters", pd.DataFrame(), summary, pairs, pd.DataFrame()))


def test_importance_ranks_the_axis_that_matters():
    """A grid where only `units` moves accuracy: it ranks first with a tiny p; layers is noise."""
    from rnnbench.stats import importance

    rng = np.random.default_rng(0)
    rows = [
        {"layers": layers, "units": units, "seed": seed,
         "test_accuracy": 0.6 + 0.05 * [32, 64, 128].index(units) + 0.002 * rng.standard_normal()}
        for layers in (1, 2, 3) for units in (32, 64, 128) for seed in range(5)
    ]
    table = importance(pd.DataFrame(rows), ["layers", "units"]).set_index("term")
    assert table.index.tolist()[0] == "units" and set(table.index) == {"units", "layers", "layers × units"}
    assert table.loc["units", "p_value"] < 1e-10 and table.loc["units", "partial_eta_sq"] > 0.99
    assert table.loc["layers", "p_value"] > 0.01
    assert (table.loc["units", "df"], table.loc["layers", "df"]) == (2, 2)


def test_importance_tests_the_interaction_a_crossover_grid_has():
    """Wider is worse at one layer and better at two: the main effect of units is nothing, the interaction
    everything, and a reading says the main effects are averages; with one run per cell there is no
    residual to test an interaction against, and the table keeps the main effects."""
    from rnnbench.stats import importance, interaction_readings

    rng = np.random.default_rng(1)
    rows = [{"layers": layers, "units": units, "seed": seed,
             "test_accuracy": 0.7 + 0.03 * (1 if (layers == 2) == (units == 64) else -1) + 0.005 * rng.standard_normal()}
            for layers in (1, 2) for units in (32, 64) for seed in range(4)]
    table = importance(pd.DataFrame(rows), ["layers", "units"]).set_index("term")
    assert table.index[0] == "layers × units" and table.loc["layers × units", "order"] == 2
    assert table.loc["layers × units", "p_value"] < 1e-6 and table.loc["units", "p_value"] > 0.01
    (line,) = interaction_readings(table.reset_index())
    assert line.startswith("layers and units interact") and "average" in line
    one_run = importance(pd.DataFrame([row for row in rows if row["seed"] == 0]), ["layers", "units"])
    assert set(one_run["term"]) == {"layers", "units"} and interaction_readings(one_run) == []


def test_importance_matches_a_textbook_one_way_anova():
    """With one axis, type-II ANOVA is the one-way ANOVA: scipy's F and p."""
    from scipy import stats as scipy_stats

    from rnnbench.stats import importance

    groups = {0.0: [0.70, 0.72, 0.71], 0.1: [0.74, 0.73, 0.76], 0.2: [0.69, 0.70, 0.66]}
    frame = pd.DataFrame([{"dropout": k, "test_accuracy": v} for k, vs in groups.items() for v in vs])
    row = importance(frame, ["dropout"]).iloc[0]
    expected = scipy_stats.f_oneway(*groups.values())
    assert row["F"] == pytest.approx(expected.statistic) and row["p_value"] == pytest.approx(expected.pvalue)


def test_binomial_noise_is_the_half_width_of_the_accuracy_interval_of_the_test_set():
    # the notebook's figure: about 2.5 points at 0.75 accuracy on Reuters' 1,195 test documents
    assert binomial_noise(0.75, 1195) == pytest.approx(1.959964 * np.sqrt(0.75 * 0.25 / 1195))
    assert round(100 * binomial_noise(0.75, 1195), 1) == 2.5
    assert round(100 * binomial_noise(0.9, 400), 1) == 2.9  # a smaller, easier test set
    assert binomial_noise(1.0, 50) == 0.0
