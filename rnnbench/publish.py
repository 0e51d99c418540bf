"""Publish a finished study's result tables into the repository, stamped with where they came from.

    .venv/bin/python -m rnnbench.publish summary [improvements ...] [--any-settings]

copies ``results/studies/<study>/summary.csv``, ``pairwise.csv`` and, where the study has them,
``ensembles.csv`` and ``mcnemar.csv`` to ``docs/results/<study>/``, adds ``importance.csv`` (the ANOVA of
test accuracy on a sweep's fields, config.yaml telling which fields), writes
``docs/results/<study>/stamp.json`` (the commit the runs were trained at, when they were
trained, the command that published them) and regenerates ``docs/results.md``, one Markdown table
per published study, from those files alone. Models and histories stay out of git. Runs that are
not the study's shipped ones (config.yaml's variants, seeds, splits and epochs) are refused.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from rnnbench.io import write_json, write_text
from rnnbench.runtime import checkout_commit

TABLES = ("summary.csv", "pairwise.csv")
OPTIONAL_TABLES = ("ensembles.csv", "mcnemar.csv")


def _commits(metadata: pd.DataFrame) -> str:
    """The commits the runs record (run.json ``commit``), or this checkout's when they record none."""
    recorded = sorted({str(c) for c in metadata.get("commit", pd.Series(dtype=str)).dropna()})
    return ", ".join(recorded) or checkout_commit(".") or "unknown"


def sweep_importance(runs: pd.DataFrame, config, study: str) -> pd.DataFrame:
    """``stats.importance`` per dataset over the study's swept fields (none: an empty table)."""
    from rnnbench.aggregate import final_values
    from rnnbench.stats import importance
    from rnnbench.studies import grid_variants, study_variants, sweep_axes

    axes = sweep_axes(config, study)
    if not axes:
        return pd.DataFrame()
    specs = {label: spec.as_dict() for label, spec in study_variants(config, study).items()}
    finals = final_values(runs)
    finals = finals[finals["variant"].isin(grid_variants(config, study))].copy()
    for axis in axes:
        finals[axis] = finals["variant"].map(lambda variant: specs[variant][axis])
    return pd.concat([importance(group, axes).assign(dataset=dataset) for dataset, group in finals.groupby("dataset")],
                     ignore_index=True)


def shipped_problems(metadata: pd.DataFrame, config, study: str) -> list[str]:
    """How a finished study's runs (run_metadata.csv) differ from the study as ``config`` ships it: runs
    missing or extra (dataset, split, variant, seed), and runs trained for another number of epochs."""
    from rnnbench.studies import study_runs

    expected = {(d, int(split), label, int(seed)) for d, split, label, _run, seed in study_runs(config, study)}
    columns = ["dataset", "split", "variant", "seed"]
    have = {(d, int(split), v, int(seed)) for d, split, v, seed in metadata.reindex(columns=columns).itertuples(index=False)
            if not pd.isna(seed)}
    problems = []
    for word, runs in (("missing", expected - have), ("not in the study", have - expected)):
        if runs:
            listed = ", ".join(f"{v} seed {s} ({d}, split {split})" for d, split, v, s in sorted(runs)[:3])
            problems.append(f"{len(runs)} run(s) {word}: {listed}{', …' if len(runs) > 3 else ''}")
    epochs = metadata.get("planned_epochs", pd.Series(dtype=float))
    other = epochs[epochs != config["epochs"]]
    if len(other):
        problems.append(f"{len(other)} run(s) trained for {', '.join(sorted({str(e) for e in other}))} epochs, "
                        f"not the {config['epochs']} of config.yaml")
    return problems


def describe(metadata: pd.DataFrame) -> str:
    """What a study's runs are: how many, of which variants, epochs and seeds."""
    seeds = sorted({int(s) for s in metadata.get("seed", pd.Series(dtype=int)).dropna()})
    epochs = sorted({str(int(e)) for e in metadata.get("planned_epochs", pd.Series(dtype=float)).dropna()})
    variants = metadata.get("variant", pd.Series(dtype=str)).nunique()
    return (f"{len(metadata)} runs of {variants} variants, {' or '.join(epochs) or 'unknown'} epochs, "
            f"seeds {', '.join(map(str, seeds)) or 'unknown'}")


def publish(study: str, results: Path = Path("results"), docs: Path = Path("docs"), config=None,
            any_settings: bool = False) -> Path:
    """Copy one finished study's tables to ``docs/results/<study>/`` with their stamp; return that folder.
    ``config``: the workflow's config, for the study's shipped runs and a sweep's fields (config.yaml when
    not given). Runs that are not the study's shipped ones (a smoke run's epochs or seeds) are refused
    unless ``any_settings``."""
    source = results / "studies" / study
    missing = [name for name in (*TABLES, "run_metadata.csv") if not (source / name).is_file()]
    if missing:
        raise SystemExit(f"study {study!r} is not finished: {', '.join(str(source / m) for m in missing)} missing; "
                         f"build reports/{study}.html first")
    if config is None:
        import yaml

        config = yaml.safe_load(Path("config.yaml").read_text())
    metadata = pd.read_csv(source / "run_metadata.csv")
    problems = shipped_problems(metadata, config, study)
    if problems and not any_settings:
        raise SystemExit(f"study {study!r} in {source} is not at its shipped settings: {'; '.join(problems)}; "
                         "nothing published (--any-settings publishes it all the same)")
    print(f"publishing {study}: {describe(metadata)}" + (f" ({'; '.join(problems)})" if problems else ""))
    target = docs / "results" / study
    target.mkdir(parents=True, exist_ok=True)
    for name in TABLES + tuple(name for name in OPTIONAL_TABLES if (source / name).is_file()):
        shutil.copyfile(source / name, target / name)
    importance = sweep_importance(pd.read_csv(source / "runs.csv"), config, study) if (source / "runs.csv").is_file() \
        else pd.DataFrame()
    if len(importance):
        importance.to_csv(target / "importance.csv", index=False)
    write_json({
        "study": study,
        "runs": int(len(metadata)),
        "trained_at_commit": _commits(metadata),
        "trained_from": str(metadata["started_at"].min()),
        "trained_to": str(metadata["started_at"].max()),
        "engines": sorted({str(e) for e in metadata.get("engine", pd.Series(dtype=str)).dropna()}),
        "published_by": f"python -m rnnbench.publish {study}",
    }, target / "stamp.json")
    return target


def _fmt(value, digits=3) -> str:
    return "" if pd.isna(value) else f"{value:.{digits}f}"


def markdown(docs: Path = Path("docs")) -> str:
    """docs/results.md: one table per published study, from its files in docs/results/."""
    parts = ["# Results\n",
             "Generated by `python -m rnnbench.publish STUDY` from `docs/results/<study>/`; each study's stamp says "
             "the commit its runs were trained at. Test accuracy over runs (seeds, and data splits where a study "
             "has several): mean ± standard deviation, the 95% bootstrap interval of the mean, the validation "
             "accuracy that chooses between variants, and the accuracy of the variant's seed ensemble.\n"]
    for folder in sorted(p for p in (docs / "results").glob("*") if (p / "stamp.json").is_file()):
        stamp = json.loads((folder / "stamp.json").read_text())
        summary = pd.read_csv(folder / "summary.csv")
        ensembles = pd.read_csv(folder / "ensembles.csv") if (folder / "ensembles.csv").is_file() else pd.DataFrame()
        parts.append(f"## {stamp['study']}\n")
        parts.append(f"{stamp['runs']} runs trained at commit {stamp['trained_at_commit']}, "
                     f"{stamp['trained_from'][:10]} to {stamp['trained_to'][:10]}, engine "
                     f"{', '.join(stamp['engines']) or 'n/a'}.\n")
        for dataset, rows in summary.groupby("dataset", sort=True):
            ensemble = (ensembles[ensembles["dataset"] == dataset].groupby("variant")["ensemble_accuracy"].mean()
                        if len(ensembles) else pd.Series(dtype=float))
            splits = "splits" in rows and (rows["splits"] > 1).any()
            parts.append(f"{dataset}:\n")
            parts.append("| variant | test accuracy | 95% CI | n | validation accuracy | ensemble |"
                         + (" split share |" if splits else "") + " notebook (1 run) | s/epoch |")
            parts.append("|---|---|---|---|---|---|" + ("---|" if splits else "") + "---|---|")
            for row in rows.sort_values("accuracy_mean", ascending=False).itertuples(index=False):
                parts.append(f"| {row.variant} | {_fmt(row.accuracy_mean)} ± {_fmt(row.accuracy_std)} | "
                             f"[{_fmt(row.accuracy_ci_low)}, {_fmt(row.accuracy_ci_high)}] | {row.n} | "
                             f"{_fmt(row.val_accuracy_mean)} | {_fmt(ensemble.get(row.variant, float('nan')))} | "
                             + (f"{_fmt(row.split_share, 2)} | " if splits else "")
                             + f"{_fmt(row.notebook_accuracy)} | {_fmt(row.seconds_per_epoch, 2)} |")
            parts.append("")
        if (folder / "importance.csv").is_file():
            importance = pd.read_csv(folder / "importance.csv")
            parts.append("ANOVA of test accuracy on the swept fields (main effects, type II):\n")
            parts.append("| dataset | field | df | F | p | partial η² |")
            parts.append("|---|---|---|---|---|---|")
            for row in importance.itertuples(index=False):
                parts.append(f"| {row.dataset} | {row.axis} | {row.df} | {_fmt(row.F, 2)} | {row.p_value:.3g} | "
                             f"{_fmt(row.partial_eta_sq)} |")
            parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def main(argv=None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m rnnbench.publish",
                                     description="Publish finished studies' tables into docs/results/.")
    parser.add_argument("studies", nargs="+", metavar="STUDY")
    parser.add_argument("--any-settings", action="store_true",
                        help="publish runs that are not the study's shipped ones (other epochs, seeds or variants)")
    args = parser.parse_args(argv)
    for study in args.studies:
        print(f"published {publish(study, any_settings=args.any_settings)}")
    write_text(markdown(), Path("docs") / "results.md")
    print("wrote docs/results.md")


if __name__ == "__main__":
    main()
