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
    return re.findall(r"rule train:.*?wildcards: (dataset=\S+, split=\S*, run=\S+, seed=\d+)", out, re.DOTALL)


def test_shared_specs_are_trained_once(tmp_path):
    workflow = make_tiny_studies_workflow(tmp_path)
    jobs = planned_training(workflow, *TARGETS)
    assert len(jobs) == len(set(jobs)), "no run is planned twice"
    # summary: 3 variants x 2 seeds; capacity: 4 specs x 2 seeds, one of them the summary's lstm;
    # sms_spam: 2 variants x 2 seeds on the other dataset
    assert len(jobs) == 6 + (8 - 2) + 4
    shared = "dataset=reuters, split=, run=lstm-l1-u4-orth-d0-rd0, seed=0"
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
    # 16 + 4 + 4 runs of the variant studies, 5 search trials and their 2 chosen trials under 2 seeds
    assert finished_studies.log.count("rule train:") == 16 + 4 + 4 + 5 + 4, "each shared run trained once"
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


def test_split_replicates_end_to_end(finished_studies):
    """A study over two data splits: the notebook split's runs are the summary's own folders, the other
    split's runs and data say their split, and the split tables are recomputed here from the runs."""
    import numpy as np
    from scipy import stats as scipy_stats

    from rnnbench.data import load_padded

    root = finished_studies.root
    lstm = run_name({"cell": "lstm", "layers": 1, "units": 4})
    assert (root / "results" / "runs" / "reuters-split7" / lstm / "seed1" / "metrics.json").exists()
    assert (root / "data" / "padded" / "reuters-split7.npz").exists()
    runs = pd.read_csv(study_file(root, "runs.csv", "robustness"))
    assert set(runs["split"]) == {113, 7}
    summary = pd.read_csv(study_file(root, "summary.csv", "robustness")).set_index("variant")
    assert (summary["n"] == 4).all() and (summary["splits"] == 2).all()
    assert summary["split_share"].between(0, 1).all()

    labels = {split: load_padded(root / "data" / "padded" / f"reuters{tag}.npz")["y_test"]
              for split, tag in ((113, ""), (7, "-split7"))}
    ensembles = pd.read_csv(study_file(root, "ensembles.csv", "robustness"))
    mcnemar = pd.read_csv(study_file(root, "mcnemar.csv", "robustness"))
    for split, tag in ((113, ""), (7, "-split7")):
        correct = {}
        for variant, spec in (("lstm", {"cell": "lstm", "layers": 1, "units": 4}),
                              ("bow_mlp", {"cell": "bow", "layers": 1, "units": 8, "dropout": 0.5})):
            folder = root / "results" / "runs" / f"reuters{tag}" / run_name(spec)
            probabilities = [np.load(folder / f"seed{seed}" / "predictions.npy") for seed in (0, 1)]
            ensemble = np.mean(probabilities, axis=0).argmax(axis=1)
            row = ensembles[(ensembles["split"] == split) & (ensembles["variant"] == variant)].iloc[0]
            assert row["ensemble_accuracy"] == pytest.approx(np.mean(ensemble == labels[split]))
            right = np.stack([p.argmax(axis=1) == labels[split] for p in probabilities])
            correct[variant] = right.sum(axis=0) * 2 > 2
        (test,) = mcnemar[mcnemar["split"] == split].to_dict("records")
        first, second = test["a"], test["b"]
        a_only = int(np.sum(correct[first] & ~correct[second]))
        b_only = int(np.sum(~correct[first] & correct[second]))
        assert (test["a_only"], test["b_only"]) == (a_only, b_only)
        expected = scipy_stats.binomtest(a_only, a_only + b_only, 0.5).pvalue if a_only + b_only else 1.0
        assert test["p_value"] == pytest.approx(expected)
    report = (root / "reports" / "robustness.html").read_text()
    for heading in ("Seeds against data splits", "Paired tests on the test documents", "Runs a t-test would need (a lower bound)",
                    "Seed ensembles"):
        assert heading in report


def test_a_users_tables_run_through_the_workflow(finished_studies):
    """Four tables a user wrote, added by YAML only: padded with their vocabulary and class names beside,
    trained, and reported with per-class scores; the binary one with its positive class's."""
    import json

    root = finished_studies.root
    expected = {"tickets": 12, "triage": 2, "notes": 3, "codes": 3}
    for name, classes in expected.items():
        meta = json.loads((root / "data" / "padded" / f"{name}.json").read_text())
        assert len(meta["class_names"]) == classes, name
        assert meta["sources"]["table"]["path"].startswith("user/")
        assert len(meta["sources"]["table"]["sha256"]) == 64
        assert meta["vocabulary"][:2] == ["", "[UNK]"]
        run = json.loads((root / "results" / "runs" / name / run_name({"cell": "bow", "layers": 1, "units": 8,
                                                                       "dropout": 0.5}) / "seed0" / "run.json").read_text())
        assert run["data"] == meta["sources"], "the run records the digest of the file it was trained on"
    report = (root / "reports" / "tables.html").read_text()
    assert report.count('<table class="per-class">') == 4
    assert "urgent precision" in report
    assert "tickets table: " in report, "the provenance gives each file's sha256"
    notes = json.loads((root / "data" / "padded" / "notes.json").read_text())
    assert notes["vectorization"]["maxlen"] == 12


def test_every_kind_of_study_publishes_tables_that_its_data_recomputes(finished_studies, tmp_path, capsys):
    """The workflow's own tables of each tiny study (variants and a baseline, a sweep, SMS, two splits,
    a user's tables, a search) are recomputed from the published data alone; an edit is caught."""
    import yaml

    from rnnbench.publish import markdown, publish, run_check

    root = finished_studies.root
    config = yaml.safe_load((root / "config.yaml").read_text())
    docs = tmp_path / "docs"
    studies = ["summary", "capacity", "sms_spam", "robustness", "tables", "budget"]
    for study in studies:
        publish(study, root / "results", docs, config, any_settings=True)
    (docs / "results.md").write_text(markdown(docs))
    assert run_check(docs, []) == 0
    out = capsys.readouterr().out
    assert all(f"{study}: every table recomputed from" in out for study in studies), out
    assert "importance.csv" in out and "budget_leaders.csv" in out
    budget = pd.read_csv(docs / "results" / "budget" / "budget.csv")
    budget.loc[0, "high"] += 0.01
    budget.to_csv(docs / "results" / "budget" / "budget.csv", index=False)
    assert run_check(docs, ["budget"]) == 1
    assert "budget.csv, row 1 (reuters, tiny_bow, 1), high: published" in capsys.readouterr().out
