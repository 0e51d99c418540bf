"""Studies through the real workflow: shared runs, sweep reports, the SMS dataset, the baseline."""

import re
import time

import pandas as pd
import pytest

from tests.conftest import make_tiny_studies_workflow, make_workflow, run_name, study_file

pytestmark = pytest.mark.slow

TARGETS = ["reports/summary.html", "reports/capacity.html", "reports/sms_spam.html"]


def planned_training(workflow, *targets) -> list[str]:
    out = workflow.run("-n", *targets).stdout
    return re.findall(r"rule train:.*?wildcards: (dataset=\S+, run=\S+, seed=\d+)", out, re.DOTALL)


def test_shared_specs_are_trained_once(tmp_path):
    workflow = make_tiny_studies_workflow(tmp_path)
    jobs = planned_training(workflow, *TARGETS)
    assert len(jobs) == len(set(jobs)), "no run is planned twice"
    # summary: 3 variants x 2 seeds; capacity: 4 specs x 2 seeds, one of them the summary's lstm;
    # sms_spam: 2 variants x 2 seeds on the other dataset
    assert len(jobs) == 6 + (8 - 2) + 4
    shared = "dataset=reuters, run=lstm-l1-u4-orth-d0-rd0, seed=0"
    assert shared in jobs
    assert shared in planned_training(workflow, "reports/capacity.html")
    assert shared in planned_training(workflow, "reports/summary.html")


def test_shipped_studies_dry_run_at_once(tmp_path):
    """`snakemake -n reports/<study>.html` on the shipped config lists its jobs in seconds."""
    workflow = make_workflow(tmp_path)
    timings = {}
    for study, runs in (("summary", 45), ("dropout", 125), ("capacity", 45)):
        start = time.perf_counter()
        jobs = planned_training(workflow, f"reports/{study}.html")
        timings[study] = time.perf_counter() - start
        assert len(jobs) == runs
    assert max(timings.values()) < 10, timings


def test_tiny_studies_end_to_end(finished_studies):
    root = finished_studies.root
    assert finished_studies.log.count("rule train:") == 16, "each shared run trained once"
    for study in ("summary", "capacity", "sms_spam"):
        report = (root / "reports" / f"{study}.html").read_text()
        assert f"study {study}" in report
        assert report.count("data:image/png;base64,") >= 6
    # the summary study holds the baseline beside the recurrent variants
    summary = pd.read_csv(study_file(root, "summary.csv")).set_index("variant")
    assert set(summary.index) == {"deep_rnn", "lstm", "bow_mlp"} and (summary["n"] == 2).all()
    # the sweep study: marginals per axis and the ANOVA ranking
    capacity = (root / "reports" / "capacity.html").read_text()
    for name in ("marginals", "importance"):
        assert (root / "reports" / "figures" / "capacity" / "reuters" / f"{name}.png").stat().st_size > 5000
    assert re.search(r'<table class="importance">.*?<td class="name">(layers|units)</td>', capacity, re.S)
    assert "Effect of each swept field" in capacity
    labels = pd.read_csv(study_file(root, "summary.csv", "capacity"))["variant"]
    assert sorted(labels) == sorted(f"lstm-l{l}-u{u}-orth-d0-rd0" for l in (1, 2) for u in (4, 6))
    # SMS: spam precision, recall and F1 beside accuracy
    sms = pd.read_csv(study_file(root, "summary.csv", "sms_spam"))
    assert {"precision_mean", "recall_mean", "f1_mean"} <= set(sms.columns)
    assert sms[["precision_mean", "recall_mean", "f1_mean"]].notna().all().all()
    assert "spam precision" in (root / "reports" / "sms_spam.html").read_text()
    assert (root / "data" / "padded" / "sms_spam.npz").exists()
    assert (root / "results" / "runs" / "sms_spam" / run_name({"cell": "bow", "layers": 1, "units": 8,
                                                                 "dropout": 0.5}) / "seed1" / "metrics.json").exists()
