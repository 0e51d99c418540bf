"""What a target costs before it runs: the jobs Snakemake's dry run plans, the runs to train with their
epochs, and the wall time they would take on this machine at ``--cores``.

    .venv/bin/python -m rnnbench.estimate reports/robustness.html --cores 2 [--config epochs=5 ...]

A run's time comes from the finished runs of the same settings (spec, embedding, batch size, validation
split; any seed, any split of the dataset): their steady seconds per epoch, their first epoch's extra
(tracing and compiling) and the job's start-up, as Snakemake's records time it. A spec with no finished run
is timed by training it for two epochs on a fifth of its padded training rows here (``--no-calibration``
skips that and leaves its time unknown). Jobs of other rules take what Snakemake recorded for the same
rule. The wall time packs the jobs, longest first, onto ``min(cores, CPUs) // threads`` slots.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUN_FOLDER = re.compile(r"^results/runs/(?P<folder>[^/]+)/(?P<run>[^/]+)/seed(?P<seed>\d+)/run\.json$")


@dataclasses.dataclass(frozen=True)
class Timing:
    """A run's seconds: per steady epoch, the first epoch's extra, and the job's own start and finish."""

    epoch: float
    first_extra: float
    start_up: float
    source: str

    def job(self, epochs: float) -> float:
        return self.start_up + self.first_extra + epochs * self.epoch


def dry_run(root: Path, targets: list[str], snakemake_args: list[str]) -> tuple[collections.Counter, list[str]]:
    """The jobs Snakemake would run for ``targets`` (a count per rule) and the run.json of each run it would
    train, from its dry run; a failing dry run raises with Snakemake's message."""
    snakemake = str(Path(sys.executable).with_name("snakemake"))

    def call(*args):
        result = subprocess.run([snakemake, *targets, "--dry-run", *args, *snakemake_args], cwd=root,
                                capture_output=True, text=True)
        if result.returncode:
            message = (result.stdout + result.stderr).strip().splitlines()[-15:]
            raise SystemExit("rnnbench: the dry run failed:\n" + "\n".join(message))
        return result.stdout

    stats = call("--quiet", "rules").split("Job stats:", 1)
    jobs = collections.Counter()
    for line in stats[1].splitlines() if len(stats) > 1 else []:
        fields = line.split()
        if len(fields) == 2 and fields[1].isdigit() and fields[0] != "total":
            jobs[fields[0]] = int(fields[1])
    rows = [row.split("\t") for row in call("--summary").splitlines()[1:]]
    runs = [fields[0] for fields in rows
            if len(fields) >= 6 and fields[2] in RUN_RULES and fields[5] == "update pending" and RUN_FOLDER.match(fields[0])]
    return jobs, runs


RUN_RULES = ("train", "fit")  # the rules that make a run: Keras's training, scikit-learn's one fit


def _settings_key(settings: dict) -> str:
    """What besides the epochs decides a run's seconds per epoch."""
    return json.dumps({key: value for key, value in settings.items() if key != "epochs"}, sort_keys=True)


def snakemake_records(root: Path) -> list[dict]:
    """Snakemake's record of every output it made here (rule, start and end time)."""
    records = []
    for path in (root / ".snakemake" / "metadata").rglob("*"):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        if isinstance(record, dict) and record.get("starttime") and record.get("endtime"):
            records.append(record)
    return records


def rule_seconds(records: list[dict]) -> dict[str, float]:
    """The median seconds of a job of each rule, over the jobs Snakemake recorded."""
    jobs = collections.defaultdict(set)
    for record in records:
        jobs[record["rule"]].add((record["starttime"], record["endtime"]))
    return {rule: statistics.median(end - start for start, end in spans) for rule, spans in jobs.items()}


def finished_timings(root: Path, records: list[dict]) -> dict[tuple[str, str], list[tuple[Timing, int]]]:
    """(dataset, settings without epochs) -> the Timing and epochs run of each finished run there."""
    import pandas as pd

    spans = {tuple(record.get("log") or ()): record["endtime"] - record["starttime"]
             for record in records if record["rule"] in RUN_RULES}
    found = collections.defaultdict(list)
    for run_json in sorted((root / "results" / "runs").glob("*/*/seed*/run.json")):
        history_path = run_json.with_name("history.csv")
        try:
            run = json.loads(run_json.read_text())
            seconds = pd.read_csv(history_path)["seconds"].tolist()
        except (OSError, ValueError, KeyError):
            continue
        if not seconds or "spec" not in run:
            continue
        steady = statistics.median(seconds[1:]) if len(seconds) > 1 else seconds[0]
        folder, run_name, seed = run_json.parts[-4:-1]
        logs = [(f"logs/{rule}/{folder}/{run_name}/{seed}.log",) for rule in RUN_RULES]
        job = next((spans[log] for log in logs if log in spans), run.get("wall_seconds", sum(seconds)))
        timing = Timing(steady, max(seconds[0] - steady, 0.0), max(job - sum(seconds), 0.0), "finished runs")
        found[(re.sub(r"-split\d+$", "", folder), _settings_key(run["spec"]))].append((timing, len(seconds)))
    return found


def calibrate(padded: Path, settings, threads: int, import_seconds: float) -> Timing:
    """Time two epochs of ``settings`` on a fifth of the padded training rows (at least 8 batches), scaled
    to the whole split; a job's start-up is ``import_seconds`` (TensorFlow's import) and what precedes the
    first epoch here."""
    import contextlib
    import io

    from rnnbench.data import load_padded
    from rnnbench.training import train

    started = time.perf_counter()
    data = dict(load_padded(padded))
    rows = len(data["y_train"])
    sample = min(rows, max(rows // 5, math.ceil(8 * settings.batch_size / (1 - settings.validation_split))))
    data["x_train"], data["y_train"] = data["x_train"][:sample], data["y_train"][:sample]
    short = dataclasses.replace(settings, epochs=2)
    with contextlib.redirect_stdout(io.StringIO()):
        _, history, _ = train(data, short, seed=0, threads=threads, verbose=0)
    first, second = history["seconds"].tolist()
    before = max(time.perf_counter() - started - first - second, 0.0)
    return Timing(second * rows / sample, max(first - second, 0.0), import_seconds + before, "calibration here")


def calibrate_fit(padded: Path, settings, threads: int) -> Timing:
    """Time one scikit-learn fit of ``settings`` on the whole padded training split (a fit takes seconds)."""
    from rnnbench.data import load_padded
    from rnnbench.fitting import fit

    started = time.perf_counter()
    _, history, _ = fit(load_padded(padded), settings, seed=0, threads=threads)
    seconds = float(history["seconds"].iloc[0])
    return Timing(seconds, 0.0, max(time.perf_counter() - started - seconds, 0.0), "calibration here")


def _import_seconds(threads: int) -> float:
    """Seconds to set up TensorFlow in this process, as every training job does first."""
    from rnnbench.runtime import configure_tensorflow

    started = time.perf_counter()
    configure_tensorflow(threads, 0)
    return time.perf_counter() - started


@dataclasses.dataclass
class Estimate:
    jobs: collections.Counter
    runs: "object"  # a DataFrame: one row per run to train
    slots: int
    wall_seconds: float
    unknown: int
    untimed_rules: list[str]


def estimate(root: Path, targets: list[str], cores: int, configfiles: list[str] = (), overrides: list[str] = (),
             calibration: bool = True) -> Estimate:
    import pandas as pd

    from rnnbench.config import TrainSettings, load_config, train_slice
    from rnnbench.studies import run_specs

    root = Path(root)
    snakemake_args = ["--cores", str(cores)]
    snakemake_args += [arg for path in configfiles for arg in ("--configfile", path)]
    snakemake_args += ["--config", *overrides] if overrides else []
    jobs, run_paths = dry_run(root, targets, snakemake_args)
    config = load_config(root, list(configfiles), list(overrides))
    specs = run_specs(config)
    records = snakemake_records(root)
    per_rule = rule_seconds(records)
    finished = finished_timings(root, records)
    calibrated, import_seconds = {}, None
    rows = []
    for path in run_paths:
        match = RUN_FOLDER.match(path)
        folder, run = match["folder"], match["run"]
        dataset = re.sub(r"-split\d+$", "", folder)
        settings = TrainSettings.from_json(train_slice(config, dataset, specs[run]))
        key = (dataset, _settings_key(json.loads(settings.to_json())))
        epochs, timing = float(settings.epochs or 1), None  # a scikit-learn run: its one fit
        if finished.get(key):
            done = finished[key]
            timing = Timing(*(statistics.median(getattr(t, field) for t, _ in done) for field in ("epoch", "first_extra", "start_up")),
                            f"{len(done)} finished run{'s' * (len(done) > 1)}")
            if settings.variant.early_stopping:
                epochs = min(epochs, statistics.mean(n for _, n in done))
        elif calibration and (root / "data" / "padded" / f"{folder}.npz").is_file():
            padded = root / "data" / "padded" / f"{folder}.npz"
            if (folder, key) not in calibrated and settings.epochs is None:  # a scikit-learn run: one fit
                calibrated[(folder, key)] = calibrate_fit(padded, settings, config["threads"])
            elif (folder, key) not in calibrated:
                if import_seconds is None:
                    import_seconds = _import_seconds(config["threads"])
                calibrated[(folder, key)] = calibrate(padded, settings, config["threads"], import_seconds)
            timing = calibrated[(folder, key)]
        job = timing.job(epochs) + per_rule.get("evaluate", 0.0) if timing else math.nan
        rows.append({"dataset": folder, "run": run, "seed": int(match["seed"]), "epochs": epochs,
                     "seconds_per_epoch": timing.epoch if timing else math.nan, "job_seconds": job,
                     "timed_from": timing.source if timing else
                     f"unknown: no finished run, and no {folder} padded data to calibrate on"})
    runs = pd.DataFrame(rows, columns=["dataset", "run", "seed", "epochs", "seconds_per_epoch", "job_seconds", "timed_from"])
    slots = max(1, min(cores, len(os.sched_getaffinity(0))) // int(config["threads"]))
    loads = [0.0] * slots
    for seconds in sorted(runs["job_seconds"].dropna(), reverse=True):
        loads[loads.index(min(loads))] += seconds
    others = sum(count * per_rule.get(rule, 0.0) for rule, count in jobs.items() if rule not in (*RUN_RULES, "evaluate"))
    untimed = sorted(rule for rule in jobs if rule not in per_rule and rule not in RUN_RULES)
    return Estimate(jobs, runs, slots, max(loads) + others / slots, int(runs["job_seconds"].isna().sum()), untimed)


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 5400 else f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"


def describe(result: Estimate, cores: int) -> str:
    jobs = ", ".join(f"{count} {rule}" for rule, count in sorted(result.jobs.items())) or "nothing"
    lines = [f"jobs to run: {jobs}"]
    runs = result.runs
    if len(runs):
        table = (runs.groupby(["dataset", "run", "epochs", "timed_from"], sort=True, dropna=False)
                 .agg(seeds=("seed", "size"), seconds_per_epoch=("seconds_per_epoch", "first"), job_seconds=("job_seconds", "sum"))
                 .reset_index())
        table["seconds_per_epoch"] = table["seconds_per_epoch"].round(2)
        table["job_time"] = table["job_seconds"].map(lambda s: "?" if math.isnan(s) else _duration(s))
        columns = ["dataset", "run", "seeds", "epochs", "seconds_per_epoch", "job_time", "timed_from"]
        lines += ["", table[columns].to_string(index=False), ""]
        lines.append(f"runs to train: {len(runs)}, {runs['epochs'].sum():g} epochs, "
                     f"{_duration(runs['job_seconds'].sum())} of job time")
    lines.append(f"estimated wall time at --cores {cores}: {_duration(result.wall_seconds)} "
                 f"({result.slots} job{'s' * (result.slots > 1)} at a time on {len(os.sched_getaffinity(0))} CPUs)")
    if result.untimed_rules:
        lines.append(f"not counted: the jobs of {', '.join(result.untimed_rules)} (no finished job of the rule here "
                     "to time)")
    if "trials" in result.jobs:
        lines.append("not counted: the retraining of each search's best trial under the study's seeds (which trial is "
                     "known once the trials are done; estimate again then)")
    if result.unknown:
        lines.append(f"not counted: {result.unknown} runs with no timing (run `snakemake --cores 1 data/padded/<dataset>.npz` "
                     "first to calibrate them)")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rnnbench.estimate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", help="Snakemake targets (default: its default target)")
    parser.add_argument("--cores", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--configfile", action="append", default=[], help="as Snakemake's, after config.yaml")
    parser.add_argument("--config", nargs="+", default=[], metavar="KEY=VALUE", help="as Snakemake's")
    parser.add_argument("--no-calibration", action="store_true", help="leave specs with no finished run untimed")
    parser.add_argument("--directory", default=".", help="the workflow's working directory")
    args = parser.parse_args(argv)
    if args.cores < 1:
        parser.error("--cores must be at least 1")
    result = estimate(Path(args.directory), args.targets, args.cores, args.configfile, args.config,
                      calibration=not args.no_calibration)
    print(describe(result, args.cores))


if __name__ == "__main__":
    main()
