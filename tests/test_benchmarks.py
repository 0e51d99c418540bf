"""The benchmark scripts still run against the current package (small sizes)."""

import subprocess
import sys

from tests.conftest import REPO


def test_report_speed_benchmark_runs():
    result = subprocess.run(
        [sys.executable, "benchmarks/report_speed.py", "--variants", "3", "--seeds", "3", "--epochs", "4"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "3 variants x 3 seeds x 4 epochs" in result.stdout and "total" in result.stdout
