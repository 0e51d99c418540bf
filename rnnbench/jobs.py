"""What every job script does (its log, a fast exit), and running one job's script alone.

``python -m rnnbench.jobs RULE [WILDCARD=VALUE ...]`` builds the ``snakemake`` object that Snakemake
would hand the rule's script for those wildcards (inputs, outputs, params, log, threads) and runs the
script in this process, under a debugger if wanted, as PyPSA-Eur's ``mock_snakemake`` does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

ROOT = Path(__file__).resolve().parents[1]


def log_to(path: str | Path):
    """Send this process's stdout and stderr, Python's and native code's alike, to ``path``; an
    uncaught error still reaches Snakemake's console as one line (``fail``).

    TensorFlow's C++ logging writes to file descriptor 2 directly, so reassigning
    ``sys.stderr`` is not enough to keep it out of Snakemake's console.
    """
    import sys

    log = open(path, "w", buffering=1)
    sys.stdout.flush()
    sys.stderr.flush()
    console = os.fdopen(os.dup(2), "w", buffering=1)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    sys.stdout = sys.stderr = log
    sys.excepthook = lambda kind, error, trace: fail(kind, error, trace, console, path)
    return log


def fail(kind, error, trace, console, log_path) -> None:
    """An uncaught error of a job: the traceback to its log, and one line to the console, the error's own
    message where it is one of rnnbench's (a bad file, config or data file, a run held by another job: it
    names the problem)."""
    import sys
    import traceback

    from rnnbench.errors import ConfigError
    from rnnbench.data import DataError
    from rnnbench.guard import RunBusy
    from rnnbench.io import BadFile

    traceback.print_exception(kind, error, trace, file=sys.stderr)
    if isinstance(error, (BadFile, ConfigError, DataError, RunBusy)):
        line = " ".join(str(error).split())
    else:
        line = f"{kind.__name__}: {error} (the traceback is in {log_path})"
    print(f"rnnbench: {line}", file=sys.stderr)
    print(f"rnnbench: {line}", file=console)


def exit_now(status: int = 0):
    """End this process at once: run its ``atexit`` handlers, flush Python's streams, and skip the
    interpreter's teardown of its modules.

    With TensorFlow loaded that teardown is a noticeable part of a short job; a job's outputs are
    all written by then. Call it as a job's last statement, on success only."""
    import atexit
    import sys

    atexit._run_exitfuncs()  # logging's shutdown among them
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        if stream is not None:
            stream.flush()
    os._exit(status)


def mock_snakemake(rule: str, root=None, config: Mapping[str, Any] | None = None, configfiles=(), into=None,
                   **wildcards):
    """(the ``snakemake`` object of one job of ``rule`` with these wildcards, the script it runs),
    from the workflow in ``root`` (default: this checkout) and its config.yaml, with ``configfiles``
    over it and ``config`` over those (``snakemake --configfile``, ``--config``); paths are absolute,
    outputs and logs under ``into`` (default ``root``).
    A ``split`` wildcard left out is the dataset's own split (empty). Uses two private parts of
    Snakemake's API (``WorkflowApi._workflow``, ``Workflow.dag_settings``)."""
    import snakemake.jobs
    from snakemake.api import SnakemakeApi
    from snakemake.dag import DAG
    from snakemake.iocontainers import Snakemake
    from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, ResourceSettings

    root = Path(root or ROOT).resolve()
    previous = os.getcwd()
    try:
        with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
            settings = ConfigSettings(config=dict(config or {}), configfiles=[Path(f).resolve() for f in configfiles])
            workflow = api.workflow(resource_settings=ResourceSettings(cores=1), config_settings=settings,
                                    snakefile=root / "Snakefile", workdir=root)._workflow
            workflow.dag_settings = DAGSettings()
            job_rule = workflow.get_rule(rule)
            if "split" in job_rule.wildcard_names:
                wildcards = {"split": "", **wildcards}
            job = snakemake.jobs.Job(job_rule, DAG(workflow, rules=[job_rule]), wildcards)
            script = (Path(job_rule.basedir) / job_rule.script).resolve()
            written = Path(into).resolve() if into else root
            files = [[str(base / path) for path in group]
                     for base, group in ((root, job.input), (written, job.output), (written, job.log))]
            for group, paths in zip((job.input, job.output, job.log), files):
                for index, path in enumerate(paths):
                    group[index] = path
            mock = Snakemake(job.input, job.output, job.params, job.wildcards, job.threads, job.resources, job.log,
                             workflow.config, job_rule.name, None, scriptdir=str(script.parent))
    finally:
        os.chdir(previous)
    return mock, script


def main(argv=None) -> None:
    import argparse
    import runpy

    parser = argparse.ArgumentParser(prog="python -m rnnbench.jobs",
                                     description="Run one job's script alone, as Snakemake would run it.")
    parser.add_argument("rule", help="a rule with a script: train, evaluate, aggregate, …")
    parser.add_argument("wildcards", nargs="*", help="name=value, e.g. dataset=reuters run=lstm-l1-u32-orth-d0-rd0 seed=0 (split=-split1 for split 1)")
    parser.add_argument("--configfile", nargs="+", default=[], metavar="FILE",
                        help="config files over config.yaml, as snakemake --configfile")
    parser.add_argument("--config", nargs="+", default=[], metavar="KEY=VALUE",
                        help="config overrides, as snakemake --config (epochs=1 to debug a training job quickly)")
    parser.add_argument("--into", metavar="DIR", help="write the job's outputs and log under DIR (inputs are the workflow's)")
    args = parser.parse_args(argv)
    from snakemake.cli import parse_config

    config = parse_config(args.config) if args.config else {}
    job, script = mock_snakemake(args.rule, config=config, configfiles=args.configfile, into=args.into,
                                 **dict(item.split("=", 1) for item in args.wildcards))
    finished = [path for path in job.output if Path(path).exists()]
    if (config or args.configfile) and not args.into and finished:
        parser.error(f"with config overrides this job would overwrite {len(finished)} output(s) of the workflow "
                     f"({finished[0]}, …), which Snakemake would then take as current: pass --into DIR to write "
                     "its outputs and log under DIR instead")
    for path in [*job.output, *job.log]:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    runpy.run_path(str(script), init_globals={"snakemake": job}, run_name="__main__")


if __name__ == "__main__":
    main()
