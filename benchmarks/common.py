"""What the benchmarks share: a temp copy of the workflow with a config of a few variants, timing, and
the command line of a benchmark family (``dispatch``)."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
sys.path.insert(0, str(REPO))

from rnnbench.studies import spec_name  # noqa: E402


def shipped_config() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


def reuters_config(variants: list[str], **overrides) -> dict:
    """The shipped settings on Reuters alone, with one default study holding ``variants``."""
    config = shipped_config()
    for key in ("studies", "sweeps"):
        config.pop(key, None)
    config.update(datasets={"reuters": config["datasets"]["reuters"]}, notebook={},
                  variants={name: config["variants"][name] for name in variants}, **overrides)
    return config


def run_file(config: dict, variant: str, seed: int, name: str) -> str:
    """The path of one of a run's files (runs live in folders named by their spec)."""
    return f"results/runs/reuters/{spec_name(config['variants'][variant])}/seed{seed}/{name}"


def workflow_copy(directory: Path, config: dict) -> Path:
    directory.mkdir(parents=True)
    for name in ("Snakefile", "workflow", "scripts", "rnnbench"):
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, directory / name)
    (directory / "config.yaml").write_text(yaml.safe_dump(config))
    return directory


def timed(command, cwd, usage: list | None = None) -> float:
    """Wall seconds of one command, its output discarded; the rnnbench package on its path. With ``usage``,
    appends the minor page faults and system CPU seconds of the command and every process it waited for."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=dict(os.environ, PYTHONPATH=str(REPO)))
    wall = time.perf_counter() - start
    if usage is not None:
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        usage.append((after.ru_minflt - before.ru_minflt, after.ru_stime - before.ru_stime))
    return wall


def plain_keras(variant: str, epochs: int, seed: int = 0) -> list[str]:
    """The command of one run as the notebook's plain Keras script (``pipeline_speed.py plain``)."""
    return [sys.executable, str(REPO / "benchmarks" / "pipeline_speed.py"), "plain", "--variant", variant,
            "--seed", str(seed), "--epochs", str(epochs)]


def epoch_timer():
    """A callback for ``model.fit`` and the list it fills with each epoch's seconds."""
    import keras

    seconds = []
    timer = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: seconds.append(-time.perf_counter()),
        on_epoch_end=lambda epoch, logs: seconds.__setitem__(-1, seconds[-1] + time.perf_counter()),
    )
    return timer, seconds


def dispatch(commands: dict) -> None:
    """Run ``commands[argv[1]]`` on the rest of the command line; list the commands otherwise."""
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        names = ", ".join(commands)
        raise SystemExit(f"usage: {Path(sys.argv[0]).name} COMMAND [options]; COMMAND is one of {names} "
                         "(COMMAND --help for its options)")
    commands[sys.argv[1]](sys.argv[2:])
