"""The benchmark scripts still run against the current package (small sizes)."""

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow  # each runs a benchmark script, most of them training


@pytest.fixture
def padded(tmp_path):
    """A tiny padded Reuters-format file, as the pad rule writes it."""
    from rnnbench.data import prepare_reuters, save_padded
    from tests.conftest import synthetic_reuters

    sha256 = synthetic_reuters(tmp_path / "reuters.npz")
    save_padded(prepare_reuters(tmp_path / "reuters.npz", sha256, 40, 25, "post"), tmp_path / "padded.npz")
    return tmp_path / "padded.npz"


def run_benchmark(script, *arguments, timeout=600, **env):
    """Run a benchmark script as a user would, the rnnbench package on its path (``env``: more variables)."""
    return subprocess.run([sys.executable, script, *arguments], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, PYTHONPATH=str(REPO), **env))


def test_report_speed_benchmark_runs():
    result = run_benchmark("benchmarks/report_speed.py", "--variants", "3", "--seeds", "3", "--epochs", "4",
                           timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "3 variants x 3 seeds x 4 epochs" in result.stdout and "total" in result.stdout


def test_kernel_speed_benchmark_runs(padded):
    result = run_benchmark("benchmarks/epoch_speed.py", "options", str(padded), "--variants", "bilstm64_mask_ed0.3",
                           "--epochs", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in result.stdout.splitlines() if "ratio to default" in line]
    assert len(lines) == 7 and all("mean 2..:" in line for line in lines)


def test_gpu_speed_benchmark_reads_the_cudnn_path(padded):
    """On this CPU-only machine the cuDNN functions are wrapped but never succeed: 0 calls."""
    result = run_benchmark("benchmarks/gpu_speed.py", str(padded), "--variants", "lstm", "gru", "--epochs", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in result.stdout.splitlines() if "cudnn calls:" in line]
    assert len(lines) == 2, result.stdout
    assert all("backend=tensorflow" in line and "mean 2..:" in line for line in lines)
    assert "cudnn_lstm 0, cudnn_gru 0" in lines[0]


def test_profile_epoch_benchmark_names_the_recurrence(padded):
    result = run_benchmark("benchmarks/epoch_speed.py", "profile", str(padded), "--variant", "lstm")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "profiled epoch" in result.stdout and "while" in result.stdout, result.stdout[-2000:]


def run_on_real_reuters(real_reuters, tmp_path, script, *arguments):
    """Run a benchmark script with the real Reuters file in a temporary Keras cache."""
    import shutil

    (tmp_path / "keras" / "datasets").mkdir(parents=True)
    shutil.copy(real_reuters, tmp_path / "keras" / "datasets" / "reuters.npz")
    return run_benchmark(script, *arguments, timeout=900, KERAS_HOME=str(tmp_path / "keras"))


def test_study_speed_benchmark_times_both_arms(real_reuters, tmp_path):
    """P1's benchmark on the real data (it needs Reuters' shape): one run, one epoch, each arm."""
    result = run_on_real_reuters(real_reuters, tmp_path, "benchmarks/pipeline_speed.py", "study", "--variants", "lstm",
                                 "--seeds", "0", "--epochs", "1")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "plain lstm seed 0:" in result.stdout
    assert "ratio pipeline / plain:" in result.stdout, result.stdout


def test_overhead_benchmark_fits_both_arms(real_reuters, tmp_path):
    """P2's benchmark on the real data: two epoch counts, each timed once, the XLA cache shared after a warm-up
    job."""
    import re

    result = run_on_real_reuters(real_reuters, tmp_path, "benchmarks/pipeline_speed.py", "overhead", "--variant", "bow_mlp",
                                 "--epochs", "1", "2", "--threads", "1", "--xla-cache", "warm")
    assert result.returncode == 0, result.stderr[-2000:]
    for arm in ("plain Keras script", "pipeline job"):
        assert re.search(rf"^{arm} +E=1: +[\d.]+ s  E=2: +[\d.]+ s  -> fixed +-?[\d.]+ s \+ -?[\d.]+ s/epoch$",
                         result.stdout, re.M), result.stdout
        faults = re.search(rf"^{arm} +E=1: ([\d,]+) minor page faults, [\d.]+ s system  E=2: ([\d,]+) minor page "
                           rf"faults, [\d.]+ s system  -> -?[\d,]+ faults and -?[\d.]+ s system per epoch$",
                           result.stdout, re.M)
        assert faults and int(faults[1].replace(",", "")) > 0, result.stdout  # a Python process faults in its memory
    assert re.search(r"^fixed overhead of the pipeline job over the script: -?[\d.]+ s = -?[\d.]+% of a 40-epoch",
                     result.stdout, re.M), result.stdout


def test_lever_accuracy_benchmark_trains_both_arms_of_each_lever(padded, tmp_path):
    """benchmarks/arm_accuracy.py lever trains every seed with each arm of a lever, in worker processes, and prints the
    report's statistics; both arms train the same function (first-epoch losses equal to rounding). Every lever is an
    argument of rnnbench.training.train, on by default (a renamed one would fail the call); one lever is trained,
    to keep this short."""
    import inspect
    import sys

    import pandas as pd

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from arm_accuracy import LEVERS
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    from rnnbench.training import train

    defaults = {name: p.default for name, p in inspect.signature(train).parameters.items()}
    for _, argument in LEVERS.values():
        assert defaults[argument] is True, argument
    for lever, arms in (("last-batch", ("short", "filled")),):
        rows = tmp_path / f"{lever}.csv"
        result = run_benchmark("benchmarks/arm_accuracy.py", "lever", str(padded), "--dataset", "reuters", "--lever", lever,
                               "--variants", "lstm", "--seeds", "0", "1", "--epochs", "2", "--jobs", "2",
                               "--out", str(rows))
        assert result.returncode == 0, result.stderr[-2000:]
        assert "| lstm | " in result.stdout and result.stdout.count("(n=2)") == 2, result.stdout
        assert "ANOVA" in result.stdout
        runs = pd.read_csv(rows)
        loss = runs[(runs["metric"] == "loss") & (runs["epoch"] == 1)].pivot(index="seed", columns="variant",
                                                                             values="value")
        assert list(loss.index) == [0, 1]
        assert loss[f"lstm [{arms[1]}]"].to_numpy() == pytest.approx(loss[f"lstm [{arms[0]}]"].to_numpy(), rel=1e-4)


def test_epoch_time_benchmark_times_the_pipelines_training_loop(padded):
    """benchmarks/epoch_speed.py epoch builds its run's spec as the train rule does (rnnbench.config.train_slice) and prints
    each epoch's seconds and the mean of epochs 2.., with the minor page faults and system seconds of those epochs, under
    either CPU allocator."""
    for allocator in ("default", "bfc"):
        result = run_benchmark("benchmarks/epoch_speed.py", "epoch", str(padded), "--dataset", "reuters", "--variant",
                               "lstm", "--epochs", "2", "--threads", "1", "--allocator", allocator)
        assert result.returncode == 0, result.stderr[-2000:]
        assert re.search(rf"^loop fused token-product=on allocator={allocator} lstm threads=1: epoch seconds "
                         r"\[[\d., ]+\]; mean of epochs 2\.\.: \d+\.\d\d; per epoch 2\.\.: [\d,]+ minor page faults, "
                         r"\d+\.\d\d system seconds$", result.stdout, re.M), result.stdout
