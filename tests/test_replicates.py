"""Statistics over seeds and data splits, checked on constructed data with known answers."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from rnnbench.aggregate import mean_interval
from rnnbench.documents import ensembles, majority_correct, mcnemar, outcomes, pack, pair_verdicts, paired_tests, unpack
from rnnbench.stats import seeds_needed, variance_components


def constructed_runs(splits=300, seeds=6, split_sd=0.02, seed_sd=0.01, mean=0.8, variant="v", rng_seed=0):
    rng = np.random.default_rng(rng_seed)
    effects = rng.normal(0, split_sd, splits)
    return pd.DataFrame([
        {"variant": variant, "split": split, "seed": seed,
         "test_accuracy": mean + effects[split] + rng.normal(0, seed_sd)}
        for split in range(splits) for seed in range(seeds)
    ])


def test_the_decomposition_recovers_known_variance_components():
    finals = pd.concat([constructed_runs(variant="split-heavy"),
                        constructed_runs(split_sd=0.0, seed_sd=0.02, variant="seed-only", rng_seed=1)])
    table = variance_components(finals).set_index("variant")
    heavy = table.loc["split-heavy"]
    assert heavy["split_variance"] == pytest.approx(0.02**2, rel=0.2)
    assert heavy["seed_variance"] == pytest.approx(0.01**2, rel=0.1)
    assert heavy["split_share"] == pytest.approx(0.8, abs=0.05)
    assert table.loc["seed-only", "split_share"] < 0.05
    assert table.loc["seed-only", "seed_variance"] == pytest.approx(0.02**2, rel=0.1)


def test_one_split_puts_all_variance_on_the_seeds():
    finals = constructed_runs(splits=1, seeds=5)
    (row,) = variance_components(finals).to_dict("records")
    assert row["split_variance"] == 0 and row["split_share"] == 0
    assert row["seed_variance"] == pytest.approx(finals["test_accuracy"].var(ddof=1))


def test_the_interval_widens_with_the_split_variance():
    """Over split means (splits - 1 degrees of freedom): wider than treating every run as an independent
    seed when the splits differ, and it covers the true mean."""
    finals = constructed_runs(splits=5, seeds=3, split_sd=0.03, seed_sd=0.005, rng_seed=3)
    values, splits = finals["test_accuracy"].to_numpy(), finals["split"].to_numpy()
    low, high = mean_interval(values, splits)
    naive_low, naive_high = mean_interval(values)
    assert high - low > 1.3 * (naive_high - naive_low)
    assert low < 0.8 < high


@pytest.mark.parametrize("runs", [3, 5, 10])
def test_the_interval_of_the_mean_covers_at_its_nominal_level(runs):
    """Normal scores, as seeds give: 95% of the intervals hold the true mean at every seed count a study
    uses."""
    rng = np.random.default_rng(runs)
    scores = rng.normal(0.8, 0.01, size=(4000, runs))
    covered = [low <= 0.8 <= high for low, high in (mean_interval(row) for row in scores)]
    assert 0.93 <= np.mean(covered) <= 0.97


def test_the_interval_over_splits_covers_at_its_nominal_level():
    covered = []
    for index in range(1000):
        finals = constructed_runs(splits=5, seeds=3, split_sd=0.02, seed_sd=0.01, rng_seed=100 + index)
        low, high = mean_interval(finals["test_accuracy"].to_numpy(), finals["split"].to_numpy())
        covered.append(low <= 0.8 <= high)
    assert 0.93 <= np.mean(covered) <= 0.97


def test_mcnemar_equals_the_exact_binomial_test_on_the_disagreements():
    rng = np.random.default_rng(0)
    a = rng.random(1000) < 0.80
    b = np.where(rng.random(1000) < 0.9, a, ~a) & (rng.random(1000) < 0.95)
    a_only, b_only, p = mcnemar(a, b)
    assert (a_only, b_only) == (int(np.sum(a & ~b)), int(np.sum(~a & b)))
    assert p == pytest.approx(scipy_stats.binomtest(a_only, a_only + b_only, 0.5).pvalue, rel=1e-9)
    assert mcnemar(a, a)[2] == 1.0


def probabilities(truth, right, classes=4):
    """One-hot-ish probabilities: the true class where ``right``, the next class otherwise."""
    predicted = np.where(right, truth, (truth + 1) % classes)
    out = np.full((len(truth), classes), 0.1 / (classes - 1))
    out[np.arange(len(truth)), predicted] = 0.9
    return out


def test_paired_tests_vote_over_seeds_and_correct_for_the_pairs():
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 4, 400)
    labels = {("d", 1): truth}
    good = [probabilities(truth, rng.random(400) < 0.9) for _ in range(3)]
    bad = [probabilities(truth, rng.random(400) < 0.6) for _ in range(3)]
    same = [probabilities(truth, rng.random(400) < 0.6) for _ in range(3)]
    runs = [("d", 1, name, seed, p) for name, group in (("good", good), ("bad", bad), ("same", same))
            for seed, p in enumerate(group)]
    tests = paired_tests(outcomes(runs, labels)).set_index(["a", "b"])
    votes = {name: majority_correct(np.stack([p.argmax(axis=1) == truth for p in group]))
             for name, group in (("good", good), ("bad", bad))}
    assert tests.loc[("bad", "good"), "b_only"] == int(np.sum(votes["good"] & ~votes["bad"]))
    raw = tests["p_value"].to_numpy()
    holm = np.maximum.accumulate(np.sort(raw) * (len(raw) - np.arange(len(raw))))  # Holm's step-down
    assert np.sort(tests["p_holm"].to_numpy()) == pytest.approx(np.minimum(holm, 1.0))
    assert tests.loc[("bad", "good"), "significant"] and not tests.loc[("bad", "same"), "significant"]
    verdicts = pair_verdicts(tests.reset_index().assign(dataset="d")).set_index(["a", "b"])
    assert verdicts.loc[("bad", "good"), "verdict"] == "good gets more documents right than bad on every split"
    assert verdicts.loc[("bad", "same"), "verdict"] == "no evidence of an order on the documents"
    assert tests.loc[("bad", "good"), "bootstrap_significant"] and not tests.loc[("bad", "same"), "bootstrap_significant"]


def test_the_document_test_carries_the_seeds_that_a_vote_hides():
    """Two variants whose seeds disagree wildly: each seed of A is right on a different 70% of the documents
    and its vote on most of them; B's seeds agree with each other at 75%. McNemar on the votes calls A
    better, though every seed of A is worse than B's; the two-level bootstrap, on the seeds' accuracies,
    calls B better."""
    rng = np.random.default_rng(2)
    documents, truth = 1200, rng.integers(0, 4, 1200)
    a_seeds = [rng.random(documents) < 0.7 for _ in range(5)]
    shared = rng.random(documents) < 0.75
    b_seeds = [np.where(rng.random(documents) < 0.98, shared, ~shared) for _ in range(5)]
    runs = [("d", 1, name, seed, probabilities(truth, right))
            for name, group in (("a", a_seeds), ("b", b_seeds)) for seed, right in enumerate(group)]
    (row,) = paired_tests(outcomes(runs, {("d", 1): truth})).to_dict("records")
    assert row["significant"] and row["a_only"] > row["b_only"], "the vote of A's seeds beats B's"
    assert row["difference"] < 0 and row["bootstrap_significant"]
    assert row["difference_low"] < row["difference"] < row["difference_high"]


@pytest.mark.parametrize("seeds", [3, 5])
def test_the_two_level_interval_covers_the_difference_of_new_seeds(seeds):
    """Simulated studies where each seed's accuracy varies around its variant's and each document has its
    own difficulty: the interval holds the true difference of expected accuracies in about 95% of them
    (a bootstrap over few seeds is somewhat narrow: at least 90%)."""
    from rnnbench.documents import bootstrap_accuracies, bootstrap_difference

    rng = np.random.default_rng(seeds)
    seed_effect, difficulty = rng.normal(0, 0.15, 4000)[:, None], rng.normal(0, 1.5, 4000)
    truth = np.mean(1 / (1 + np.exp(-(1.2 + seed_effect - difficulty))) - 1 / (1 + np.exp(-(1.0 + seed_effect - difficulty))))
    covered = []
    for _ in range(120):
        difficulty = rng.normal(0, 1.5, 600)
        correct = {name: np.stack([rng.random(600) < 1 / (1 + np.exp(-(shift + rng.normal(0, 0.15) - difficulty)))
                                   for _ in range(seeds)]) for name, shift in (("a", 1.2), ("b", 1.0))}
        sampled = bootstrap_accuracies(correct, iterations=499)
        low, high, _ = bootstrap_difference(sampled["a"], sampled["b"])
        covered.append(low <= truth <= high)
    assert np.mean(covered) >= 0.90


def test_a_pair_is_called_different_only_when_every_split_agrees():
    tests = pd.DataFrame([
        {"dataset": "d", "split": 1, "a": "x", "b": "y", "difference": 0.03, "bootstrap_significant": True},
        {"dataset": "d", "split": 2, "a": "x", "b": "y", "difference": 0.01, "bootstrap_significant": False},
    ])
    (row,) = pair_verdicts(tests).to_dict("records")
    assert not row["different"] and row["splits_different"] == 1


def test_ensemble_accuracy_is_that_of_the_mean_probabilities():
    truth = np.array([0, 1, 2, 3, 0, 1])
    runs = []
    for seed, wrong in enumerate([[0], [1], [2]]):  # each run misses one document, a different one
        right = np.ones(6, bool)
        right[wrong] = False
        runs.append(("d", 5, "v", seed, probabilities(truth, right)))
    table = outcomes(runs, {("d", 5): truth})
    (row,) = ensembles(table).to_dict("records")
    assert row["mean_accuracy"] == pytest.approx(5 / 6)
    assert row["ensemble_accuracy"] == 1.0 and row["seeds"] == 3
    assert table["kind"].tolist() == ["run"] * 3 + ["ensemble"] and table["seed"].tolist()[:3] == [0, 1, 2]


@pytest.mark.parametrize("documents", [1, 7, 8, 9, 1195])
def test_a_runs_outcomes_pack_into_one_bit_per_document_and_back(documents):
    correct = np.random.default_rng(documents).random(documents) < 0.7
    text = pack(correct)
    assert len(text) == 4 * -(-((documents + 7) // 8) // 3)  # base64 of ceil(documents / 8) bytes
    assert np.array_equal(unpack(text, documents), correct)


def test_seeds_needed_falls_as_the_gap_grows():
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 1, 5)
    noise = (noise - noise.mean()) / noise.std(ddof=1) * 0.01  # sd exactly 0.01
    needed = [seeds_needed(0.80 + gap + noise, 0.80 + noise) for gap in (0.004, 0.008, 0.016, 0.032)]
    assert needed == sorted(needed, reverse=True) and needed[0] > needed[-1]
    # A gap of one standard deviation: about 2 (z_0.95 + z_0.8)^2 = 12.4 per group, a little more for t.
    assert 11 <= seeds_needed(0.81 + noise, 0.80 + noise) <= 16
    assert np.isinf(seeds_needed(0.8001 + noise, 0.80 + noise))
    assert np.isnan(seeds_needed(0.80 + noise, 0.81 + noise))
