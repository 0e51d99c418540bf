"""Never a stale or wrong report: a finished tiny study broken the ways a user's disk, editor or cluster
breaks it fails loudly, naming the file, every time it is run again, until the cause is fixed."""

import json
import os
import shutil
import stat
import subprocess
import sys

import pytest

from tests.conftest import TINY_VARIANTS, Workflow, run_name, synthetic_reuters, tiny_config

LSTM_RUN = f"results/runs/reuters/{run_name(TINY_VARIANTS['lstm'])}/seed0"


def copy_of(finished: Workflow, tmp_path) -> Workflow:
    root = tmp_path / "project"
    shutil.copytree(finished.root, root, symlinks=True)
    return Workflow(root, finished.keras_home)


def cut(path, keep):
    """Keep the first ``keep`` bytes of a file (a negative count: all but the last ones)."""
    blob = path.read_bytes()
    path.write_bytes(blob[:keep])


def drop_last_line(path):
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))


def another_sha256(workflow, tmp_path):
    """A config whose Reuters sha256 is that of another file, which no cache or URL can give."""
    config = tiny_config(synthetic_reuters(tmp_path / "other.npz", seed=5))
    workflow.write_config(config)


# (failing rule, how the finished study is broken, what the one line must say: what it is about (a file's
# path), and what is wrong)
BREAKS = [
    ("download", another_sha256, "could not obtain reuters.npz", "download from http://127.0.0.1:9/"),
    ("pad", lambda w, _: cut(w.root / "data/raw/reuters/reuters.npz", 1000),
     "datasets.reuters: data/raw/reuters/reuters.npz", "sha256 mismatch"),
    ("train", lambda w, _: cut(w.root / "data/padded/reuters.npz", 1000), "data/padded/reuters.npz",
     "not a readable npz archive"),
    ("evaluate", lambda w, _: cut(w.root / LSTM_RUN / "predictions.npy", 300), f"{LSTM_RUN}/predictions.npy",
     "not a readable .npy file"),
    ("aggregate: invalid metrics.json", lambda w, _: (w.root / LSTM_RUN / "metrics.json").write_text('{"test_accuracy": 0.5, "tru'),
     f"{LSTM_RUN}/metrics.json", "not valid JSON"),
    ("aggregate: history without its last epoch", lambda w, _: drop_last_line(w.root / LSTM_RUN / "history.csv"),
     f"{LSTM_RUN}/history.csv", "holds 0 epochs, but"),
    ("aggregate: history cut in a row", lambda w, _: cut(w.root / LSTM_RUN / "history.csv", -9),
     f"{LSTM_RUN}/history.csv", "cut off: its last line does not end"),
    ("compare, figures", lambda w, _: cut(w.root / "results/studies/summary/runs.csv", 1000),
     "results/studies/summary/runs.csv", "cut off"),
    ("report", lambda w, _: (w.root / "results/studies/summary/run_metadata.csv").write_text(""),
     "results/studies/summary/run_metadata.csv", "empty"),
]


@pytest.mark.slow
@pytest.mark.parametrize("rule, damage, subject, problem", BREAKS, ids=[b[0] for b in BREAKS])
def test_a_failure_fails_every_run_until_fixed_and_leaves_no_current_looking_report(
        finished_tiny_run, tmp_path, rule, damage, subject, problem):
    workflow = copy_of(finished_tiny_run, tmp_path)
    damage(workflow, tmp_path)
    outputs = []
    for attempt in (1, 2):
        result = workflow.run("--cores", "2", "reports/summary.html", check=False)
        outputs.append(result.stdout + result.stderr)
        assert result.returncode != 0, f"attempt {attempt} exited 0:\n{outputs[-1][-3000:]}"
        assert f"rnnbench: {subject}" in outputs[-1] and problem in outputs[-1], outputs[-1][-3000:]
        assert not (workflow.root / "reports/summary.html").exists(), "a report that looks current"
    if rule != "report":  # a failed report job's own output is removed by Snakemake
        assert (workflow.root / "reports/stale/summary.html").is_file(), "the old report is set aside, not lost"
        assert "moved reports/summary.html to reports/stale/summary.html" in outputs[0]


@pytest.mark.slow
def test_a_bad_padded_file_blocks_nothing_and_is_rebuilt_by_its_rule(finished_tiny_run, tmp_path):
    workflow = copy_of(finished_tiny_run, tmp_path)
    cut(workflow.root / "data/padded/reuters.npz", 1000)
    assert workflow.run("--unlock").returncode == 0
    assert workflow.run("-n", "reports/summary.html").returncode == 0
    failed = workflow.run("--cores", "2", "reports/summary.html", check=False)
    assert failed.returncode != 0
    hint = "snakemake --cores 1 --force data/padded/reuters.npz"
    assert hint in failed.stdout + failed.stderr
    workflow.run(*hint.split()[1:])
    workflow.run("--cores", "2", "reports/summary.html")
    assert (workflow.root / "reports/summary.html").is_file()
    assert not (workflow.root / "reports/stale/summary.html").exists(), "the set-aside copy goes once rebuilt"
    assert "Nothing to be done" in workflow.run("-n", "reports/summary.html").stdout


@pytest.mark.slow
def test_a_study_whose_every_run_diverged_says_so(finished_tiny_run, tmp_path):
    workflow = copy_of(finished_tiny_run, tmp_path)
    for path in (workflow.root / "results/runs/reuters").glob("*/seed*/run.json"):
        path.write_text(json.dumps(dict(json.loads(path.read_text()), diverged=True)))
    workflow.run("--cores", "2", "reports/summary.html")
    html = (workflow.root / "reports/summary.html").read_text()
    assert "Every run of every variant diverged" in html
    summary = (workflow.root / "results/studies/summary/summary.csv").read_text()
    assert ",0,2," in summary  # n 0, diverged 2, for each variant


@pytest.mark.slow
def test_outputs_are_readable_by_the_group_under_the_usual_umask(finished_tiny_run):
    """The fixture ran under umask 022: every output is 0644, as a plain open would make it."""
    root = finished_tiny_run.root
    paths = [root / "data/padded/reuters.npz", root / "reports/summary.html",
             root / "results/studies/summary/summary.csv", *(root / LSTM_RUN).iterdir()]
    modes = {str(path.relative_to(root)): oct(stat.S_IMODE(path.stat().st_mode)) for path in paths}
    assert set(modes.values()) == {"0o644"}, modes


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_writes_honour_the_umask(tmp_path, umask, mode):
    from rnnbench.io import write_csv, write_text

    import pandas as pd

    previous = os.umask(umask)
    try:
        write_text("x", tmp_path / "a.html")
        write_csv(pd.DataFrame({"a": [1]}), tmp_path / "b.csv")
    finally:
        os.umask(previous)
    assert {stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()} == {mode}


def saved_checkpoint(directory):
    """A small model and its checkpoint in ``directory``, saved after epoch 1."""
    import keras
    import pandas as pd

    from rnnbench.checkpoint import Checkpoint

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    checkpoint = Checkpoint(directory, "identity")
    checkpoint.save(model, pd.DataFrame({"epoch": [1], "loss": [1.0]}))
    return model, checkpoint


def test_a_checkpoint_that_fails_to_save_is_removed(tmp_path):
    """A full disk mid-save leaves no half-written epoch behind; the last whole one stays current."""
    import errno

    import numpy as np
    import pandas as pd

    model, checkpoint = saved_checkpoint(tmp_path / "checkpoint")
    saved = model.save_weights

    def full_disk(path, *args, **kwargs):
        with open(path, "wb") as handle:
            handle.write(b"\0" * 100_000)
        raise OSError(errno.ENOSPC, "No space left on device")

    model.save_weights = full_disk
    with pytest.raises(OSError, match="No space left"):
        checkpoint.save(model, pd.DataFrame({"epoch": [1, 2], "loss": [1.0, 0.5]}))
    model.save_weights = saved
    assert sorted(p.name for p in (tmp_path / "checkpoint").iterdir()) == ["epoch-0001", "identity.json", "latest"]
    restored, _ = checkpoint.restore(model)
    assert restored["epoch"].tolist() == [1] and np.isfinite(restored["loss"]).all()


def test_a_kill_while_a_checkpoint_is_saved_leaves_it_the_runs_own(tmp_path, monkeypatch):
    """A job stopped at any moment of an epoch's save (its Snakemake gone, a SLURM kill) leaves a
    checkpoint the next job resumes from: the run's identity is never rewritten in place, so it is
    never left truncated and taken for another run's."""
    from pathlib import Path

    import pandas as pd

    model, checkpoint = saved_checkpoint(tmp_path / "checkpoint")
    write_text = Path.write_text

    def killed_while_writing(path, text, *args, **kwargs):  # open() truncates, then the process dies
        if path.name.startswith("identity") or path.name.startswith(".identity"):
            write_text(path, "")
            raise SystemExit(75)
        return write_text(path, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", killed_while_writing)
    checkpoint.save(model, pd.DataFrame({"epoch": [1, 2], "loss": [1.0, 0.5]}))
    fresh = type(checkpoint)(tmp_path / "checkpoint", "identity")
    with pytest.raises(SystemExit):  # a first save, killed mid-write: the identity is absent, not wrong
        type(checkpoint)(tmp_path / "other", "identity").save(model, pd.DataFrame({"epoch": [1], "loss": [1.0]}))
    monkeypatch.setattr(Path, "write_text", write_text)
    restored, _ = fresh.restore(model)
    assert restored["epoch"].tolist() == [1, 2]
    assert not (tmp_path / "other" / "identity.json").exists()


HOLDER = """
import sys, time
from rnnbench.guard import hold_run
with hold_run(sys.argv[1]):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_second_job_on_a_held_run_is_refused_naming_the_first(tmp_path):
    from rnnbench.guard import RunBusy, hold_run

    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, PYTHONPATH=str(os.getcwd())))
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunBusy, match=f"{tmp_path} is being trained by process {holder.pid} on "):
            with hold_run(tmp_path, wait=0.5):
                pass
    finally:
        holder.kill()
        holder.wait()
    with hold_run(tmp_path, wait=5):  # the lock dies with its process
        pass
    assert not (tmp_path / ".lock").exists()


def test_a_cut_figure_is_named_not_embedded(tmp_path):
    from rnnbench.io import BadFile, read_png

    import matplotlib.pyplot as plt

    path = tmp_path / "accuracy.png"
    figure, _ = plt.subplots()
    figure.savefig(path, format="png")
    plt.close(figure)
    assert read_png(path) == path.read_bytes()
    cut(path, -20)
    with pytest.raises(BadFile, match=f"{path}: not a whole PNG image .*snakemake --cores 1 --force {path}"):
        read_png(path)


def test_a_checkpoint_that_cannot_be_read_is_named_with_what_to_do(tmp_path):
    from rnnbench.io import BadFile

    model, checkpoint = saved_checkpoint(tmp_path / "checkpoint")
    cut(tmp_path / "checkpoint" / "epoch-0001" / "state.weights.h5", 500)
    with pytest.raises(BadFile, match=rf"epoch-0001: a checkpoint that cannot be read .*delete {tmp_path / 'checkpoint'} "
                                      "to train the run again"):
        checkpoint.restore(model)
