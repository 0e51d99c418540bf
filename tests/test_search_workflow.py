"""A search study through the real workflow: trials, the checkpoint that picks the best of each
search, their retraining under the study's seeds, the budget curves and the report."""

import json
import re
import shutil

import pandas as pd
import pytest
import yaml

from rnnbench.search import draw_trials
from rnnbench.stats import expected_max
from rnnbench.studies import spec_name
from tests.conftest import TINY_SEARCHES, Workflow, study_file
from tests.test_estimate import estimate, jobs
from tests.test_reruns import planned_jobs

pytestmark = pytest.mark.slow


def test_a_search_study_runs_to_its_report(finished_studies):
    root = finished_studies.root
    trials = pd.read_csv(study_file(root, "trials.csv", "budget"))
    assert trials.groupby("search")["trial"].apply(list).to_dict() == {
        "tiny_bow": ["tiny_bow.t1", "tiny_bow.t2"], "tiny_lstm": ["tiny_lstm.t1", "tiny_lstm.t2", "tiny_lstm.t3"]}
    assert set(trials["seed"]) == {100} and trials["val_accuracy"].between(0, 1).all()
    chosen = json.loads(study_file(root, "chosen.json", "budget").read_text())["reuters"]
    for search, group in trials.groupby("search"):
        assert chosen[search] == group.sort_values("val_accuracy", ascending=False, kind="stable")["run"].iloc[0]
    # the chosen trials are retrained under the study's seeds (0, 1), labelled by their search
    summary = pd.read_csv(study_file(root, "summary.csv", "budget")).set_index("variant")
    assert set(summary.index) == {"tiny_lstm", "tiny_bow"} and (summary["n"] == 2).all()
    runs = pd.read_csv(study_file(root, "run_metadata.csv", "budget"))
    assert set(zip(runs["variant"], runs["seed"])) == {(s, seed) for s in chosen for seed in (0, 1)}
    curves = pd.read_csv(study_file(root, "budget.csv", "budget"))
    for search, group in trials.groupby("search"):
        curve = curves[curves["search"] == search].sort_values("trials")
        assert curve["expected_max"].tolist() == pytest.approx(expected_max(group["val_accuracy"]).tolist())
        assert curve["expected_max"].iloc[-1] == pytest.approx(group["val_accuracy"].max())
    assert (root / "reports" / "figures" / "budget" / "reuters" / "budget.png").stat().st_size > 5000
    report = (root / "reports" / "budget.html").read_text()
    assert "Expected best validation accuracy by tuning budget" in report
    assert re.search(r'<table class="budget">.*?<td class="name">tiny_lstm</td>', report, re.S)
    assert re.search(r"<li>n = 1(–\d)?: tiny_(lstm|bow) leads", report)
    assert "tiny_lstm: 3 trials drawn with seed 0" in report


@pytest.fixture
def searched(finished_studies, tmp_path) -> Workflow:
    root = tmp_path / "project"
    shutil.copytree(finished_studies.root, root, symlinks=True)
    return Workflow(root, finished_studies.keras_home)


def test_raising_a_searchs_budget_plans_only_its_new_trials(searched):
    config = yaml.safe_load((searched.root / "config.yaml").read_text())
    config["searches"]["tiny_lstm"]["trials"] = 5
    searched.write_config(config)
    planned = {job for job in planned_jobs(searched, "reports/budget.html") if job[0] == "train"}
    new = [spec_name(spec) for spec in draw_trials(config["searches"]["tiny_lstm"])][3:]
    assert planned == {("train", f"dataset=reuters, split=, run={run}, seed=100") for run in new}
    plan = estimate(searched, "reports/budget.html", "--no-calibration")
    assert jobs(plan)["train"] == 2 and jobs(plan)["trials"] == 1
    assert "not counted: the retraining of each search's best trial" in plan
    config["searches"]["tiny_lstm"] = TINY_SEARCHES["tiny_lstm"]
    searched.write_config(config)
    assert planned_jobs(searched, "reports/budget.html") == set()
