"""python -m rnnbench.publish: a finished study's tables into docs/results/, stamped, and docs/results.md."""

import json

import numpy as np
import pandas as pd
import pytest

from rnnbench.publish import markdown, publish


SUMMARY_CONFIG = {"datasets": {"reuters": {"loader": "reuters"}}, "seeds": [0, 1, 2], "epochs": 40,
                  "variants": {"lstm": {"cell": "lstm", "layers": 1, "units": 4},
                               "bow_mlp": {"cell": "bow", "layers": 1, "units": 8}},
                  "notebook": {"lstm": 0.726}}


def run_metadata(config, study, **columns):
    """run_metadata.csv of a study's shipped runs, as aggregate writes it."""
    from rnnbench.studies import study_runs

    rows = [{"dataset": d, "split": split, "variant": label, "seed": seed, "planned_epochs": config["epochs"],
             "engine": "fused", "commit": "abc1234", "started_at": f"2026-11-28T23:{index:02d}:00+0000"}
            for index, (d, split, label, _run, seed) in enumerate(study_runs(config, study))]
    return pd.DataFrame(rows).assign(**columns)


def finished_study(root, study="summary", config=SUMMARY_CONFIG, scores=None):
    """A study's folder as the workflow leaves it: its tables computed by the workflow's own functions
    from runs of the given test accuracies (variant -> one per seed), and the data they come from."""
    from rnnbench.aggregate import published_finals, summarize_finals
    from rnnbench.documents import ensembles, outcomes, paired_tests
    from rnnbench.stats import pairwise_by_dataset
    from rnnbench.studies import study_runs
    from tests.test_aggregate import fake_run
    from tests.test_replicates import probabilities

    rng = np.random.default_rng(0)
    scores = scores or {"lstm": 0.78 + 0.01 * rng.standard_normal(3), "bow_mlp": 0.85 + 0.01 * rng.standard_normal(3)}
    runs = pd.concat([fake_run(v, s, float(x)) for v, xs in scores.items() for s, x in enumerate(xs)])
    folder = root / "results" / "studies" / study
    folder.mkdir(parents=True)
    metadata = run_metadata(config, study)
    names = {(d, split, label, seed): run for d, split, label, run, seed in study_runs(config, study)}
    finals = published_finals(runs, names, metadata)
    truth = rng.integers(0, 4, 50)
    predictions = [("reuters", 113, v, s, probabilities(truth, rng.random(50) < x))
                   for v, xs in scores.items() for s, x in enumerate(xs)]
    documents = outcomes(predictions, {("reuters", 113): truth})
    tables = {"summary": summarize_finals(finals, config.get("notebook", {})), "pairwise": pairwise_by_dataset(finals),
              "run_metadata": metadata, "finals": finals, "documents": documents, "ensembles": ensembles(documents),
              "mcnemar": paired_tests(documents)}
    for name, table in tables.items():
        table.to_csv(folder / f"{name}.csv", index=False)
    return folder


def test_a_finished_study_is_published_with_its_stamp_and_a_table(tmp_path):
    source = finished_study(tmp_path)
    target = publish("summary", tmp_path / "results", tmp_path / "docs", SUMMARY_CONFIG)
    assert (target / "summary.csv").read_bytes() == (source / "summary.csv").read_bytes()
    assert (target / "pairwise.csv").read_bytes() == (source / "pairwise.csv").read_bytes()
    stamp = json.loads((target / "stamp.json").read_text())
    assert stamp["trained_at_commit"] == "abc1234" and stamp["runs"] == 6 and stamp["engines"] == ["fused"]
    text = markdown(tmp_path / "docs")
    summary = pd.read_csv(source / "summary.csv")
    best = summary.sort_values("accuracy_mean", ascending=False).iloc[0]
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| variant")]
    assert rows[0].startswith(f"| {best.variant} | {best.accuracy_mean:.3f} ± {best.accuracy_std:.3f} |")
    assert "| lstm |" in text and "0.726" in text and "commit abc1234" in text
    assert "Every table recomputes from the data beside it: `python -m rnnbench.publish --check summary`" in text


def test_an_unfinished_study_is_refused_by_name(tmp_path):
    (tmp_path / "results" / "studies" / "capacity").mkdir(parents=True)
    with pytest.raises(SystemExit, match="study 'capacity' is not finished: .*summary.csv"):
        publish("capacity", tmp_path / "results", tmp_path / "docs")


def test_a_sweep_is_published_with_its_anova(tmp_path):
    """importance.csv holds statsmodels' ANOVA of the study's runs on the swept field, recomputed here
    with scipy's one-way ANOVA (one field: the same F and p)."""
    from scipy import stats as scipy_stats

    from rnnbench.studies import spec_name

    config = {"datasets": {"reuters": {"loader": "reuters"}}, "variants": {"deep": {"cell": "lstm", "layers": 3, "units": 4}},
              "seeds": [0, 1, 2], "epochs": 40,
              "sweeps": {"width": {"base": {"cell": "lstm", "layers": 1}, "grid": {"units": [4, 8]}}},
              "studies": {"capacity": {"datasets": ["reuters"], "sweeps": ["width"], "variants": ["deep"]}}}
    names = [spec_name({"cell": "lstm", "layers": 1, "units": units}) for units in (4, 8)]
    scores = {names[0]: [0.70, 0.71, 0.69], names[1]: [0.75, 0.77, 0.76]}
    beside = {"deep": [0.50, 0.52, 0.51]}  # a named variant beside the grid: compared, not in the ANOVA
    finished_study(tmp_path, "capacity", config, {**scores, **beside})
    target = publish("capacity", tmp_path / "results", tmp_path / "docs", config)
    (row,) = pd.read_csv(target / "importance.csv").to_dict("records")
    expected = scipy_stats.f_oneway(*scores.values())
    assert row["term"] == "units" and row["F"] == pytest.approx(expected.statistic)
    assert row["p_value"] == pytest.approx(expected.pvalue)
    assert "| reuters | units | 1 |" in markdown(tmp_path / "docs")


def test_git_keeps_what_publish_writes():
    """The published tables are for git: no ignore rule (such as one for the workflow's results/) may hide them."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    paths = ["docs/results.md", "docs/results/summary/summary.csv", "docs/results/capacity/importance.csv"]
    check = subprocess.run(["git", "check-ignore", "--no-index", *paths], cwd=root, capture_output=True, text=True)
    if check.returncode == 128:
        pytest.skip(f"not a git checkout: {check.stderr.strip()}")
    assert check.returncode == 1, f"git ignores: {check.stdout.split()}"


SMOKE_RUNS = [
    ("one epoch", {"planned_epochs": 1}, "6 run(s) trained for 1 epochs, not the 40 of config.yaml"),
    ("fewer seeds", "seed < 2", "2 run(s) missing: bow_mlp seed 2 (reuters, split 113), lstm seed 2 (reuters, split 113)"),
    ("another variant", {"variant": "gru"}, "run(s) not in the study: gru seed 0 (reuters, split 113)"),
]


@pytest.mark.parametrize("case, change, problem", SMOKE_RUNS, ids=[case for case, _, _ in SMOKE_RUNS])
def test_runs_not_at_the_shipped_settings_are_refused_unless_asked(tmp_path, capsys, case, change, problem):
    """A smoke run never overwrites the published tables without a word."""
    folder = finished_study(tmp_path)
    metadata = run_metadata(SUMMARY_CONFIG, "summary")
    metadata = metadata.query(change) if isinstance(change, str) else metadata.assign(**change)
    metadata.to_csv(folder / "run_metadata.csv", index=False)
    docs = tmp_path / "docs"
    with pytest.raises(SystemExit, match="not at its shipped settings") as refusal:
        publish("summary", tmp_path / "results", docs, SUMMARY_CONFIG)
    assert problem in str(refusal.value) and "--any-settings" in str(refusal.value)
    assert not docs.exists(), "nothing published"
    publish("summary", tmp_path / "results", docs, SUMMARY_CONFIG, any_settings=True)
    assert (docs / "results" / "summary" / "summary.csv").is_file()
    assert problem in capsys.readouterr().out


def test_publish_says_what_it_publishes(tmp_path, capsys):
    finished_study(tmp_path)
    publish("summary", tmp_path / "results", tmp_path / "docs", SUMMARY_CONFIG)
    assert "publishing summary: 6 runs of 2 variants, 40 epochs, seeds 0, 1, 2" in capsys.readouterr().out


def test_the_check_recomputes_every_table_and_names_a_number_edited_by_hand(tmp_path, capsys):
    from rnnbench.publish import run_check

    finished_study(tmp_path)
    target = publish("summary", tmp_path / "results", tmp_path / "docs", SUMMARY_CONFIG)
    (tmp_path / "docs" / "results.md").write_text(markdown(tmp_path / "docs"))
    assert run_check(tmp_path / "docs", []) == 0
    assert "summary: every table recomputed from" in capsys.readouterr().out
    summary = (target / "summary.csv").read_text()
    edited = pd.read_csv(target / "summary.csv")
    edited.loc[1, "accuracy_mean"] = round(edited.loc[1, "accuracy_mean"] + 0.001, 4)
    edited.to_csv(target / "summary.csv", index=False)
    assert run_check(tmp_path / "docs", ["summary"]) == 1
    out = capsys.readouterr().out
    assert f"summary.csv, row 2 (reuters, {edited.loc[1, 'variant']}, 3), accuracy_mean: published " in out
    (target / "summary.csv").write_text(summary)
    mcnemar = pd.read_csv(target / "mcnemar.csv")
    mcnemar.loc[0, "a_only"] += 1
    mcnemar.to_csv(target / "mcnemar.csv", index=False)
    assert run_check(tmp_path / "docs", ["summary"]) == 1
    assert "mcnemar.csv, row 1 (reuters, 113, " in capsys.readouterr().out
    (target / "documents.csv").unlink()
    assert run_check(tmp_path / "docs", ["summary"]) == 1
    assert "summary: no documents.csv, so its tables cannot be recomputed" in capsys.readouterr().out


def test_a_publication_that_does_not_recompute_leaves_the_published_one_as_it_was(tmp_path):
    source = finished_study(tmp_path)
    target = publish("summary", tmp_path / "results", tmp_path / "docs", SUMMARY_CONFIG)
    before = {path.name: path.read_bytes() for path in target.iterdir()}
    edited = pd.read_csv(source / "summary.csv")
    edited.loc[0, "accuracy_mean"] += 0.01
    edited.to_csv(source / "summary.csv", index=False)
    with pytest.raises(SystemExit, match=r"(?s)study 'summary': its tables differ .* left as it was:.*"
                                         r"summary: summary.csv, row 1 .*accuracy_mean"):
        publish("summary", tmp_path / "results", tmp_path / "docs", SUMMARY_CONFIG)
    assert {path.name: path.read_bytes() for path in target.iterdir()} == before
    assert sorted(path.name for path in target.parent.iterdir()) == ["summary"]


def test_a_republication_keeps_no_file_of_the_one_before(tmp_path):
    finished_study(tmp_path)
    target = publish("summary", tmp_path / "results", tmp_path / "docs", SUMMARY_CONFIG)
    (target / "importance.csv").write_text("dataset,axis\nreuters,units\n")  # as a former sweep left it
    publish("summary", tmp_path / "results", tmp_path / "docs", SUMMARY_CONFIG)
    assert not (target / "importance.csv").exists() and (target / "stamp.json").is_file()
    assert sorted(path.name for path in target.parent.iterdir()) == ["summary"]


def test_the_check_needs_neither_tensorflow_nor_the_results(tmp_path):
    import shutil
    import subprocess
    import sys

    from tests.conftest import REPO

    finished_study(tmp_path)
    publish("summary", tmp_path / "results", tmp_path / "docs", SUMMARY_CONFIG)
    (tmp_path / "docs" / "results.md").write_text(markdown(tmp_path / "docs"))
    shutil.rmtree(tmp_path / "results")
    script = ("import sys; sys.modules['tensorflow'] = None; sys.modules['keras'] = None\n"
              "from rnnbench.publish import main; main(['--check'])")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "summary: every table recomputed from" in done.stdout


def test_every_published_study_has_its_data_and_recomputes_to_the_last_digit(capsys):
    """``--check`` with no study names checks every published one; a study without its data fails it."""
    from rnnbench.publish import run_check
    from tests.conftest import REPO

    assert list((REPO / "docs" / "results").glob("*/stamp.json")), "nothing published"
    assert run_check(REPO / "docs", []) == 0, capsys.readouterr().out


def test_the_committed_results_page_is_what_the_published_files_give():
    from tests.conftest import REPO

    assert (REPO / "docs" / "results.md").read_text() == markdown(REPO / "docs")


def test_the_check_names_a_hand_edited_cell_of_the_results_page(tmp_path, capsys):
    """A number changed in docs/results.md (not in the tables) fails ``--check``, naming its line."""
    import shutil

    from rnnbench.publish import run_check
    from tests.conftest import REPO

    shutil.copytree(REPO / "docs" / "results" / "initializers", tmp_path / "results" / "initializers")
    page = markdown(tmp_path)
    (tmp_path / "results.md").write_text(page)
    assert run_check(tmp_path, ["initializers"]) == 0
    assert "results.md: what the published files give" in capsys.readouterr().out
    lines = page.splitlines()
    (index, line), = [(i, line) for i, line in enumerate(lines) if line.startswith("| irnn |")]
    lines[index] = line.replace("| 0.800 ±", "| 0.810 ±")
    (tmp_path / "results.md").write_text("\n".join(lines) + "\n")
    assert run_check(tmp_path, ["initializers"]) == 1
    out = capsys.readouterr().out
    assert f"line {index + 1}: '| irnn | 0.810 ±" in out and "should be: '| irnn | 0.800 ±" in out


def test_a_search_studys_page_reads_out_its_budget_and_chosen_trials(tmp_path):
    """Its budget table ends at n = N with the best trial's score and names that trial for each search,
    with its validation accuracy in the search and retrained over the study's seeds."""
    import shutil

    from tests.conftest import REPO

    shutil.copytree(REPO / "docs" / "results" / "equal_budget", tmp_path / "results" / "equal_budget")
    text = markdown(tmp_path)
    trials = pd.read_csv(tmp_path / "results" / "equal_budget" / "trials.csv")
    finals = pd.read_csv(tmp_path / "results" / "equal_budget" / "finals.csv")
    assert "| search | trials | n = 1 | n = 5 | n = 10 | n = 20 | chosen trial | search | retrained | hours |" in text
    for search, tried in trials.groupby("search"):
        best = tried.sort_values("val_accuracy", ascending=False, kind="stable").iloc[0]
        row = next(line for line in text.splitlines() if line.startswith(f"| {search} | 20 |"))
        retrained = finals.loc[finals["variant"] == search, "val_accuracy"].mean()
        assert f"| {best.val_accuracy:.3f} [" in row
        assert f"| {best.run} | {best.val_accuracy:.3f} | {retrained:.3f} |" in row
    assert "- n = 4–20: tuned_transformer leads, within the bands of tuned_bow, tuned_cnn, tuned_linear" in text


def test_new_variants_are_published_onto_the_published_data_without_retraining_it(tmp_path, capsys):
    """publish --extend: a local study of the new variant only, and the published study's data for the others;
    every table is recomputed from the combined data, and the stamp names both trainings."""
    from rnnbench.publish import check, extend

    finished_study(tmp_path / "before")
    docs = tmp_path / "docs"
    target = publish("summary", tmp_path / "before" / "results", docs, SUMMARY_CONFIG)
    published = pd.read_csv(target / "finals.csv")
    extended = {**SUMMARY_CONFIG, "variants": {**SUMMARY_CONFIG["variants"], "tfidf_svm": {"cell": "linear"}}}
    local = {**extended, "variants": {"tfidf_svm": {"cell": "linear"}}}  # the study built with its new variant only
    source = finished_study(tmp_path / "after", config=local, scores={"tfidf_svm": [0.9, 0.91, 0.89]})
    metadata = pd.read_csv(source / "run_metadata.csv").assign(engine="scikit-learn", commit="def5678",
                                                              planned_epochs=np.nan)
    metadata.to_csv(source / "run_metadata.csv", index=False)

    with pytest.raises(SystemExit, match="not in the study"):  # config.yaml without the new variant
        extend("summary", tmp_path / "after" / "results", docs, SUMMARY_CONFIG)
    assert pd.read_csv(target / "finals.csv").equals(published), "a refused extension changes nothing"
    extend("summary", tmp_path / "after" / "results", docs, extended)
    finals = pd.read_csv(target / "finals.csv")
    assert sorted(finals["variant"].unique()) == ["bow_mlp", "lstm", "tfidf_svm"] and len(finals) == 9
    pd.testing.assert_frame_equal(finals[finals["variant"] != "tfidf_svm"].reset_index(drop=True), published)
    assert "tfidf_svm" in set(pd.read_csv(target / "summary.csv")["variant"])
    assert {"tfidf_svm"} <= set(pd.read_csv(target / "mcnemar.csv")[["a", "b"]].stack())
    assert check(target) == []
    stamp = json.loads((target / "stamp.json").read_text())
    assert stamp["runs"] == 9 and stamp["engines"] == ["fused", "scikit-learn"]
    assert stamp["trained_at_commit"] == "abc1234, def5678" and "--extend (tfidf_svm)" in stamp["published_by"]

    metadata[metadata["seed"] != 2].to_csv(source / "run_metadata.csv", index=False)
    with pytest.raises(SystemExit, match="1 run\\(s\\) of the new variants missing locally"):
        extend("summary", tmp_path / "after" / "results", docs, extended)


def test_data_edited_without_changing_any_count_is_named_by_the_check(tmp_path, capsys):
    """Two bits of one run's documents swapped (one document right to wrong, another wrong to right): every
    count stays the same, and the first difference named is the data file, by the stamp's digest."""
    import shutil

    from rnnbench.documents import pack, unpack
    from rnnbench.publish import run_check
    from tests.conftest import REPO

    folder = tmp_path / "results" / "families"
    shutil.copytree(REPO / "docs" / "results" / "families", folder)
    (tmp_path / "results.md").write_text(markdown(tmp_path))
    assert run_check(tmp_path, ["families"]) == 0
    capsys.readouterr()
    documents = pd.read_csv(folder / "documents.csv")
    correct = unpack(documents.loc[0, "correct"], documents.loc[0, "documents"])
    right, wrong = int(np.flatnonzero(correct)[0]), int(np.flatnonzero(~correct)[0])
    correct[[right, wrong]] = [False, True]
    documents.loc[0, "correct"] = pack(correct)
    documents.to_csv(folder / "documents.csv", index=False)
    assert run_check(tmp_path, ["families"]) == 1
    lines = capsys.readouterr().out.splitlines()
    first = lines[lines.index(next(line for line in lines if line.startswith("families: DIFFERENT"))) + 1]
    assert first.strip().startswith("families: documents.csv is not the file published: sha256 ")
    assert pd.read_csv(folder / "ensembles.csv").equals(pd.read_csv(REPO / "docs/results/families/ensembles.csv"))


def test_a_study_of_ones_own_config_file_is_published_with_that_file(tmp_path, monkeypatch, capsys):
    """A study defined in a config file given after config.yaml (as `snakemake --configfile config.yaml
    mine.yaml` built it) is published with the same files; without them, one line says what to give."""
    import yaml

    from rnnbench.publish import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({k: v for k, v in SUMMARY_CONFIG.items()}))
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump({"studies": {"inject": {"datasets": ["reuters"],
                                                                            "variants": ["lstm", "bow_mlp"]}}}))
    config = dict(SUMMARY_CONFIG, studies={"inject": {"datasets": ["reuters"], "variants": ["lstm", "bow_mlp"]}})
    finished_study(tmp_path, "inject", config)
    with pytest.raises(SystemExit, match=r"study 'inject' is not in the config: give the config files it was "
                                         r"built with, as Snakemake took them \(--configfile FILE"):
        main(["inject", "--any-settings"])
    main(["inject", "--any-settings", "--configfile", "config.yaml", "mine.yaml"])
    assert "published docs/results/inject" in capsys.readouterr().out
    assert (tmp_path / "docs" / "results" / "inject" / "stamp.json").is_file()
    assert "## inject" in (tmp_path / "docs" / "results.md").read_text()
