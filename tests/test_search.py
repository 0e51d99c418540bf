"""Random search: deterministic trials, the expected-maximum estimator and its read-out."""

import copy
import itertools
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from rnnbench.config import ConfigError, validate_config
from rnnbench.search import choose, draw_trials, draw_value
from rnnbench.stats import budget_curves, budget_leaders, expected_max, expected_max_band
from rnnbench.studies import spec_name, study_runs, study_trials
from tests.conftest import REPO

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
SEARCH = {
    "base": {"cell": "lstm", "early_stopping": 5},
    "space": {
        "layers": [1, 2],
        "units": {"low": 16, "high": 128},
        "bidirectional": [False, True],
        "dropout": {"low": 0.0, "high": 0.5},
        "learning_rate": {"low": 0.0003, "high": 0.01, "log": True},
    },
    "trials": 8,
    "seed": 3,
}


def names(search) -> list[str]:
    return [spec_name(spec) for spec in draw_trials(search)]


def test_the_same_seed_draws_the_same_trials_in_any_process_and_these_exact_ones():
    """SHA-256 draws: nothing depends on Python's hash seed, the platform's random state or earlier
    calls; the pinned names hold on any machine."""
    script = "from tests.test_search import SEARCH, names; print(' '.join(names(SEARCH)))"
    outputs = {
        tuple(subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True,
                             env={"PYTHONHASHSEED": hash_seed, "PATH": ""}).stdout.split())
        for hash_seed in ("0", "1", "12345")
    }
    assert outputs == {tuple(names(SEARCH))}
    assert names(SEARCH)[:3] == PINNED


PINNED = [
    "lstm-l2-u126-orth-d0.2-rd0-lr0.0057-es5",
    "lstm-l1-u128-orth-d0.011-rd0-lr0.0028-es5",
    "lstm-l1-u51-orth-d0.025-rd0-lr0.0039-es5",
]


def test_raising_the_budget_keeps_every_earlier_trial_and_another_seed_draws_others():
    more = dict(SEARCH, trials=20)
    assert names(more)[:8] == names(SEARCH)
    assert len(set(names(more))) == 20
    assert not set(names(dict(SEARCH, seed=4))) & set(names(SEARCH))


def test_drawn_values_stay_in_their_domain_and_keep_two_significant_digits():
    for u in np.linspace(0, 0.999999, 101):
        assert draw_value([1, 2, 3], u) in (1, 2, 3)
        assert 16 <= draw_value({"low": 16, "high": 128}, u) <= 128
        real = draw_value({"low": 0.0003, "high": 0.01, "log": True}, u)
        assert 0.0003 <= real <= 0.01 and float(f"{real:.2g}") == real
    assert {draw_value({"low": 1, "high": 3}, u) for u in np.linspace(0, 0.999, 30)} == {1, 2, 3}


def test_a_draw_its_family_refuses_or_a_repeat_is_drawn_again():
    transformer = {"base": {"cell": "transformer", "ff_dim": 16}, "trials": 6,
                   "space": {"layers": [1, 2], "units": [6, 8, 12], "heads": [2, 4]}}
    specs = draw_trials(transformer)
    assert all(spec.units % spec.heads == 0 for spec in specs)
    assert len({spec_name(spec) for spec in specs}) == 6  # of the 8 valid combinations


def config_with(search=None, **study):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["searches"] = {"s": copy.deepcopy(search or SEARCH)}
    config["studies"] = {"budget": {"datasets": ["reuters"], "searches": ["s"], **study}}
    return config


@pytest.mark.parametrize("change, message", [
    (lambda s: s["space"].update(dropout={"low": 0.5, "high": 0.1}), r"searches\.s\.space\.dropout: low = 0\.5 is not below high = 0\.1"),
    (lambda s: s["space"].update(dropout={"low": 0.0, "high": 0.5, "log": True}), r"searches\.s\.space\.dropout: a log range needs low > 0, not 0\.0"),
    (lambda s: s["space"].update(dropout=[0.1, 1.5]), r"searches\.s\.space\.dropout: 1\.5: 1\.5 is greater than or equal to"),
    (lambda s: s["space"].update(pooling=["last", "top"]), r"searches\.s\.space\.pooling: 'top'"),
    (lambda s: s["space"].update(filters=[4]), r"searches\.s\.filters: not a field of cell 'lstm'"),
    (lambda s: s["base"].update(layers=2), r"searches\.s: layers both in base and in space"),
    (lambda s: s.update(trials=9, space={"layers": [1, 2], "units": [4, 8]}),
     r"searches\.s: trial 5 found no spec .* too small for trials = 9"),
    (lambda s: s["space"].update(depth=[1]), r"searches\.s\.space: 'depth' is not a field it can draw \(fields: cell, layers"),
])
def test_a_bad_search_is_refused_with_one_line_naming_it(change, message):
    search = copy.deepcopy(SEARCH)
    change(search)
    with pytest.raises(ConfigError, match=message):
        validate_config(config_with(search), SCHEMA)


def test_a_study_names_known_searches_and_keeps_the_trial_seed_apart_from_its_seeds():
    config = config_with()
    config["studies"]["budget"]["searches"] = ["nope"]
    with pytest.raises(ConfigError, match=r"studies\.budget\.searches: no search named 'nope' in searches"):
        validate_config(config, SCHEMA)
    with pytest.raises(ConfigError, match=r"studies\.budget\.trial_seed = 1: one of the study's seeds"):
        validate_config(config_with(trial_seed=1), SCHEMA)
    config = config_with()
    config["studies"]["plain"] = {"datasets": ["reuters"], "variants": ["lstm"], "trial_seed": 7}
    with pytest.raises(ConfigError, match=r"studies\.plain\.trial_seed: only for a study with searches"):
        validate_config(config, SCHEMA)


def test_a_search_study_trains_its_trials_once_and_compares_the_chosen_under_its_seeds():
    config = config_with(seeds=[0, 1])
    validate_config(config, SCHEMA)
    trials = study_trials(config, "budget")
    assert [t[3] for t in trials] == [f"s.t{i}" for i in range(1, 9)]
    assert {t[5] for t in trials} == {100} and {t[1] for t in trials} == {113}
    assert study_runs(config, "budget") == []
    chosen = {"reuters": {"s": trials[4][4]}}
    assert study_runs(config, "budget", chosen) == [("reuters", 113, "s", trials[4][4], 0),
                                                     ("reuters", 113, "s", trials[4][4], 1)]


def direct_expected_max(scores, n, replacement=False):
    draws = itertools.product(scores, repeat=n) if replacement else itertools.combinations(scores, n)
    return np.mean([max(draw) for draw in draws])


@pytest.mark.parametrize("scores", [[0.5, 0.7, 0.6, 0.9, 0.8], [0.7, 0.7, 0.5, 0.7, 0.2, 0.5], [0.4]])
def test_the_expected_maximum_matches_a_direct_computation_and_is_the_best_at_the_whole_budget(scores):
    curve = expected_max(scores)
    for n in range(1, len(scores) + 1):
        assert curve[n - 1] == pytest.approx(direct_expected_max(scores, n), abs=1e-12)
        assert expected_max(scores, replacement=True)[n - 1] == pytest.approx(
            direct_expected_max(scores, n, replacement=True), abs=1e-12)
    assert curve[-1] == max(scores)
    assert curve[0] == pytest.approx(np.mean(scores))
    assert np.all(np.diff(curve) >= -1e-12)


def test_the_bootstrap_band_holds_the_curve_and_is_reproducible():
    scores = np.linspace(0.5, 0.8, 12)
    low, high = expected_max_band(scores, iterations=300)
    curve = expected_max(scores)
    assert np.all(low <= curve + 1e-12) and np.all(curve <= high + 1e-12)
    assert np.array_equal(low, expected_max_band(scores, iterations=300)[0])


def test_the_leaders_read_out_where_each_search_leads_and_whose_band_overlaps():
    trials = pd.DataFrame({
        "dataset": "d", "search": ["flat"] * 6 + ["wide"] * 6,
        # flat: always 0.70; wide: mostly poor, two excellent trials
        "val_accuracy": [0.70] * 6 + [0.30, 0.35, 0.40, 0.45, 0.95, 0.96],
    })
    curves = budget_curves(trials, iterations=200)
    assert curves.groupby("search")["trials"].max().to_dict() == {"flat": 6, "wide": 6}
    leaders = budget_leaders(curves)
    assert leaders["leader"].iloc[0] == "flat" and leaders["leader"].iloc[-1] == "wide"
    assert leaders["from"].iloc[0] == 1 and leaders["to"].iloc[-1] == 6
    assert (leaders["to"].shift(1).iloc[1:] + 1 == leaders["from"].iloc[1:]).all()


def test_budget_curves_hold_both_estimators_of_the_expected_maximum():
    """The unbiased subset estimate (the curve, which ends at the best trial) and Dodge et al. 2019's
    with-replacement one beside it, lower near the whole budget."""
    trials = pd.DataFrame({"dataset": "d", "search": "s", "val_accuracy": [0.60, 0.70, 0.72, 0.80, 0.81]})
    curves = budget_curves(trials, iterations=50).set_index("trials")
    scores = trials["val_accuracy"].to_numpy()
    assert curves["expected_max"].tolist() == pytest.approx(expected_max(scores).tolist())
    assert curves["expected_max_ecdf"].tolist() == pytest.approx(expected_max(scores, replacement=True).tolist())
    assert curves.loc[5, "expected_max"] == pytest.approx(0.81) and curves.loc[5, "expected_max_ecdf"] < 0.81


def test_the_chosen_trial_is_the_validation_best_and_the_earlier_on_a_tie():
    trials = pd.DataFrame({"dataset": "d", "search": "s", "trial": ["s.t1", "s.t2", "s.t10", "s.t3"],
                           "run": ["a", "b", "c", "d"], "val_accuracy": [0.5, 0.8, 0.8, 0.8]})
    assert choose(trials) == {"d": {"s": "b"}}
