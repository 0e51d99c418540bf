import subprocess
import sys

import pytest

from tests.conftest import REPO

EXIT_NOW = """
import atexit, sys
from rnnbench.jobs import exit_now, log_to
log_to(sys.argv[1])
atexit.register(lambda: print("atexit ran"))
sys.stdout.write("buffered, no newline")
exit_now(int(sys.argv[2]))
print("never reached")
"""


def test_exit_now_runs_atexit_flushes_the_log_and_keeps_the_status(tmp_path):
    """The job's last line: nothing it wrote is lost and its handlers run; only the teardown is skipped."""
    for status in (0, 3):
        log = tmp_path / f"job{status}.log"
        result = subprocess.run([sys.executable, "-c", EXIT_NOW, str(log), str(status)], cwd=REPO,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == status, result.stderr
        assert log.read_text() == "buffered, no newlineatexit ran\n"


WITHOUT = """
import sys
sys.path.insert(0, sys.argv[1])
from rnnbench.runtime import _without
with _without("gallery"):
    try:
        import gallery
    except ImportError:
        print("hidden")
import gallery
print(gallery.NAME)
with _without("gallery"):
    import gallery  # already imported: not hidden
print("kept")
"""


def test_without_hides_a_package_for_the_block_only(tmp_path):
    (tmp_path / "gallery.py").write_text("NAME = 'imported after the block'\n")
    result = subprocess.run([sys.executable, "-c", WITHOUT, str(tmp_path)], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == ["hidden", "imported after the block", "kept"]


def test_a_training_job_imports_neither_matplotlib_nor_scikit_learn():
    """Keras loads both eagerly when installed, for helpers no job uses; a job's start skips them (a
    training job imports the engines, and with them Keras, before its set-up)."""
    code = ("import sys, rnnbench.engines; from rnnbench.runtime import configure_tensorflow; configure_tensorflow(1, 0); "
            "import keras, rnnbench.training, rnnbench.families.recurrent; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'sklearn')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


def _command_line_modules() -> list[str]:
    package = REPO / "rnnbench"
    return sorted(path.stem for path in package.glob("*.py") if 'if __name__ == "__main__"' in path.read_text())


@pytest.mark.parametrize("module", _command_line_modules())
def test_every_command_line_module_answers_help(module):
    result = subprocess.run([sys.executable, "-m", f"rnnbench.{module}", "--help"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith(f"usage: python -m rnnbench.{module}"), result.stdout[:300]
