"""Publish a finished study's result tables into the repository, with the data they are computed from.

    .venv/bin/python -m rnnbench.publish summary [improvements ...] [--any-settings] [--configfile FILE ...]
    .venv/bin/python -m rnnbench.publish --check [STUDY ...]
    .venv/bin/python -m rnnbench.publish --recompute [STUDY ...]

copies ``results/studies/<study>/summary.csv``, ``pairwise.csv`` and, where the study has them,
``ensembles.csv`` and ``mcnemar.csv`` to ``docs/results/<study>/``, adds ``importance.csv`` (the ANOVA of
test accuracy on a sweep's fields, config.yaml telling which fields) and a search study's
``budget.csv`` and ``budget_leaders.csv``; beside them the data: ``finals.csv`` (one row per run),
``documents.csv`` (which test documents each run and each seed ensemble gets right, packed bits) and a
search study's ``trials.csv``. It writes ``docs/results/<study>/stamp.json`` (the commit the runs were
trained at, when, the command that published them, and what the tables need of the config) and
regenerates ``docs/results.md``, one Markdown table per published study, from those files alone. Models
and histories stay out of git. Runs that are not the study's shipped ones (config.yaml's variants,
seeds, splits and epochs) are refused.

``--extend`` publishes a study's new variants onto its published data instead, without retraining the
published runs: the local study (built with only the new variants, for example from a config file given
after config.yaml, ``studies: {summary: {variants: [tfidf_svm]}}``) brings their rows of
``finals.csv``, ``documents.csv`` and ``trials.csv``, the published data keeps every other variant's, and
every table is recomputed from the combined data. The report's figures need every run's history, which
is not published, so ``reports/<study>.html`` is not redrawn: the tables and ``docs/results.md`` are.

``--recompute`` rewrites the published tables from the published data, for a change of the statistics
that leaves the runs as they are, and renders the readings from them.

``--check`` recomputes every published table of the studies (all published ones by default) from their
data files and stamp alone, without TensorFlow and without ``results/``, after checking the data files
against the sha256 digests ``stamp.json`` records (naming a file that changed), checks that ``docs/results.md``
is the page those files give, that every number the readings (``docs/findings.md``, README's Results)
quote from a table is the table's (``rnnbench.readings``), and names every difference.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pandas as pd

from rnnbench.io import write_json, write_text
from rnnbench.runtime import checkout_commit

TABLES = ("summary.csv", "pairwise.csv")
OPTIONAL_TABLES = ("ensembles.csv", "mcnemar.csv", "budget.csv", "budget_leaders.csv")
# What the tables are computed from: published beside them, and all that --check reads.
DATA = ("finals.csv", "documents.csv")
OPTIONAL_DATA = ("trials.csv",)
# Derived tables and the files they are recomputed from (besides stamp.json).
DERIVED = {
    "summary.csv": ("finals.csv",),
    "pairwise.csv": ("finals.csv",),
    "importance.csv": ("finals.csv",),
    "ensembles.csv": ("documents.csv",),
    "mcnemar.csv": ("documents.csv",),
    "budget.csv": ("trials.csv",),
    "budget_leaders.csv": ("trials.csv",),
}


def _commits(metadata: pd.DataFrame) -> str:
    """The commits the runs record (run.json ``commit``), or this checkout's when they record none."""
    recorded = sorted({str(c) for c in metadata.get("commit", pd.Series(dtype=str)).dropna()})
    return ", ".join(recorded) or checkout_commit(".") or "unknown"


def sweep_description(config, study: str) -> dict:
    """What a sweep's ANOVA needs of the config: the swept fields, and each grid variant's values of them
    (none for a study without sweeps)."""
    from rnnbench.studies import grid_variants, study_variants, sweep_axes

    axes = sweep_axes(config, study)
    if not axes:
        return {}
    specs = {label: spec.as_dict() for label, spec in study_variants(config, study).items()}
    return {"axes": axes, "grid": {label: {axis: specs[label][axis] for axis in axes}
                                   for label in grid_variants(config, study)}}


def sweep_importance(finals: pd.DataFrame, sweep: dict) -> pd.DataFrame:
    """``stats.importance`` per dataset over a sweep's fields (``sweep_description``; none: an empty table)."""
    from rnnbench.stats import importance

    if not sweep:
        return pd.DataFrame()
    axes, grid = sweep["axes"], sweep["grid"]
    finals = finals[finals["variant"].isin(list(grid))].copy()
    for axis in axes:
        finals[axis] = finals["variant"].map(lambda variant: grid[variant][axis])
    return pd.concat([importance(group, axes).assign(dataset=dataset) for dataset, group in finals.groupby("dataset")],
                     ignore_index=True)


def shipped_problems(metadata: pd.DataFrame, config, study: str, chosen=None) -> list[str]:
    """How a finished study's runs (run_metadata.csv) differ from the study as ``config`` ships it: runs
    missing or extra (dataset, split, variant, seed), and runs trained for another number of epochs.
    ``chosen``: a search study's chosen trials (its chosen.json)."""
    from rnnbench.studies import study_runs

    expected = {(d, int(split), label, int(seed)) for d, split, label, _run, seed in study_runs(config, study, chosen)}
    columns = ["dataset", "split", "variant", "seed"]
    have = {(d, int(split), v, int(seed)) for d, split, v, seed in metadata.reindex(columns=columns).itertuples(index=False)
            if not pd.isna(seed)}
    problems = []
    for word, runs in (("missing", expected - have), ("not in the study", have - expected)):
        if runs:
            listed = ", ".join(f"{v} seed {s} ({d}, split {split})" for d, split, v, s in sorted(runs)[:3])
            problems.append(f"{len(runs)} run(s) {word}: {listed}{', …' if len(runs) > 3 else ''}")
    return problems + epoch_problems(metadata, config)


def epoch_problems(metadata: pd.DataFrame, config) -> list[str]:
    """Runs (run_metadata.csv) trained for another number of epochs than ``config``'s; a scikit-learn fit has none."""
    epochs = metadata.get("planned_epochs", pd.Series(dtype=float))
    other = epochs[epochs.notna() & (epochs != config["epochs"])]
    if not len(other):
        return []
    return [f"{len(other)} run(s) trained for {', '.join(sorted({str(e) for e in other}))} epochs, "
            f"not the {config['epochs']} of config.yaml"]


def describe(metadata: pd.DataFrame) -> str:
    """What a study's runs are: how many, of which variants, epochs and seeds."""
    seeds = sorted({int(s) for s in metadata.get("seed", pd.Series(dtype=int)).dropna()})
    epochs = sorted({str(int(e)) for e in metadata.get("planned_epochs", pd.Series(dtype=float)).dropna()})
    variants = metadata.get("variant", pd.Series(dtype=str)).nunique()
    return (f"{len(metadata)} runs of {variants} variants, {' or '.join(epochs) or 'unknown'} epochs, "
            f"seeds {', '.join(map(str, seeds)) or 'unknown'}")


def _local_study(source: Path, config) -> tuple[dict, pd.DataFrame, dict | None]:
    """A finished study folder's config (config.yaml when not given), its run_metadata.csv, and its chosen
    trials (chosen.json; None for a study without searches)."""
    if config is None:
        from rnnbench.config import load_config

        config = load_config(Path("."))
    from rnnbench.studies import studies

    study = source.name
    if study not in studies(config):
        raise SystemExit(f"study {study!r} is not in the config: give the config files it was built with, as "
                         f"Snakemake took them (--configfile FILE ... and --config KEY=VALUE ...)")
    chosen = json.loads((source / "chosen.json").read_text()) if (source / "chosen.json").is_file() else None
    return config, pd.read_csv(source / "run_metadata.csv"), chosen


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
    missing = [name for name in DATA if not (source / name).is_file()]
    if missing:
        raise SystemExit(f"study {study!r} has no {', '.join(missing)} in {source}: rebuild reports/{study}.html "
                         "with this version (it adds them without retraining)")
    config, metadata, chosen = _local_study(source, config)
    problems = shipped_problems(metadata, config, study, chosen)
    if problems and not any_settings:
        raise SystemExit(f"study {study!r} in {source} is not at its shipped settings: {'; '.join(problems)}; "
                         "nothing published (--any-settings publishes it all the same)")
    print(f"publishing {study}: {describe(metadata)}" + (f" ({'; '.join(problems)})" if problems else ""))
    target = docs / "results" / study
    staging = target.with_name(f".{study}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        _stage(study, source, staging, config, metadata)
        differences = check(staging, study)
        if differences:
            raise SystemExit(f"study {study!r}: its tables differ from those recomputed from its data, so "
                             f"{target} is left as it was:\n  " + "\n  ".join(differences))
        _replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def extend(study: str, results: Path = Path("results"), docs: Path = Path("docs"), config=None) -> Path:
    """Publish a local study's variants onto ``docs/results/<study>/``: their data replace or join the published
    data variant by variant, every table is recomputed from the combined data, and the stamp lists both
    trainings' commits. The local runs must be the shipped study's runs of their variants, and the combined
    data the whole shipped study; return the folder."""
    from rnnbench.studies import studies, study_runs

    source, target = results / "studies" / study, docs / "results" / study
    if not (target / "stamp.json").is_file():
        raise SystemExit(f"study {study!r} is not published ({target / 'stamp.json'} missing): publish it whole")
    missing = [name for name in (*DATA, "run_metadata.csv") if not (source / name).is_file()]
    if missing:
        raise SystemExit(f"study {study!r} has no {', '.join(missing)} in {source}: build reports/{study}.html "
                         "with its new variants first")
    config, metadata, chosen = _local_study(source, config)
    new = set(metadata["variant"])
    published = pd.read_csv(target / "finals.csv")
    kept = published[~published["variant"].isin(new)]
    searches = set(studies(config)[study].get("searches", []))
    chosen = {dataset: dict(by_search) for dataset, by_search in (chosen or {}).items()}
    for dataset, search, run in kept[kept["variant"].isin(searches)][["dataset", "variant", "run"]].itertuples(index=False):
        chosen.setdefault(dataset, {}).setdefault(search, run)  # the published searches' chosen trials
    shipped = {(d, int(split), label, int(seed)) for d, split, label, _run, seed in study_runs(config, study, chosen)}
    local = {(d, int(split), v, int(seed)) for d, split, v, seed in metadata[["dataset", "split", "variant", "seed"]]
             .itertuples(index=False)}
    problems = epoch_problems(metadata, config)
    if local - shipped:
        listed = ", ".join(f"{v} seed {s} ({d}, split {split})" for d, split, v, s in sorted(local - shipped)[:3])
        problems.append(f"{len(local - shipped)} local run(s) not in the study: {listed}")
    missing = {(d, split, v, s) for d, split, v, s in shipped if v in new} - local
    if missing:
        problems.append(f"{len(missing)} run(s) of the new variants missing locally")
    combined = {(d, int(split), v, int(seed)) for d, split, v, seed in kept[["dataset", "split", "variant", "seed"]]
                .itertuples(index=False)} | local
    if combined != shipped:
        problems.append(f"the published data and the local runs together are not the shipped study: "
                        f"{len(shipped - combined)} run(s) missing, {len(combined - shipped)} not in it")
    if problems:
        raise SystemExit(f"study {study!r}: cannot extend its publication: {'; '.join(problems)}; nothing published")
    print(f"extending {study}: {describe(metadata)} onto the published {describe(kept)}")
    staging = target.with_name(f".{study}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        keys = ["dataset", "split", "variant"]
        for name in DATA + OPTIONAL_DATA:
            column = "search" if name == "trials.csv" else "variant"
            parts = []
            if (target / name).is_file():
                published_rows = pd.read_csv(target / name)
                parts.append(published_rows[~published_rows[column].isin(new)])  # the other variants'
            if (source / name).is_file():
                parts.append(pd.read_csv(source / name))  # the new variants'
            if not parts:
                continue
            frame = pd.concat(parts, ignore_index=True)
            if column == "variant":  # as the workflow writes them; trials stay in their searches' order
                frame = frame.sort_values(keys, kind="stable")
            frame.to_csv(staging / name, index=False)
        stamp = json.loads((target / "stamp.json").read_text())
        stamp.update(runs=int(len(combined)),
                     trained_at_commit=", ".join(dict.fromkeys([*stamp["trained_at_commit"].split(", "),
                                                                *_commits(metadata).split(", ")])),
                     trained_from=min(stamp["trained_from"], str(metadata["started_at"].min())),
                     trained_to=max(stamp["trained_to"], str(metadata["started_at"].max())),
                     engines=sorted({*stamp["engines"], *(str(e) for e in metadata["engine"].dropna())}),
                     published_by=f"{stamp['published_by']}; python -m rnnbench.publish {study} --extend "
                                  f"({', '.join(sorted(new))})",
                     data_sha256=data_digests(staging))
        write_json(stamp, staging / "stamp.json")
        for name, table in recompute(staging).items():
            table.to_csv(staging / name, index=False)
        differences = check(staging, study)
        if differences:
            raise SystemExit(f"study {study!r}: the extended tables do not recompute:\n  " + "\n  ".join(differences))
        _replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def data_digests(folder: Path) -> dict[str, str]:
    """The sha256 of each data file of a published study (what every table is recomputed from)."""
    from rnnbench.data import sha256sum

    return {name: sha256sum(folder / name) for name in DATA + OPTIONAL_DATA if (folder / name).is_file()}


def _digest_problems(folder: Path, study: str) -> list[str]:
    """Each data file whose bytes are not those stamp.json records (or the lack of a record)."""
    recorded = json.loads((folder / "stamp.json").read_text()).get("data_sha256")
    if not recorded:
        return [f"{study}: stamp.json records no digests of its data files (publish it again, or --recompute)"]
    now = data_digests(folder)
    return [f"{study}: {name} is not the file published: sha256 {now.get(name, 'none (missing)')[:16]}, "
            f"stamp.json records {digest[:16]}" for name, digest in sorted(recorded.items()) if now.get(name) != digest] + \
           [f"{study}: {name} is not in stamp.json's data digests" for name in sorted(set(now) - set(recorded))]


def _stage(study: str, source: Path, folder: Path, config, metadata: pd.DataFrame) -> None:
    """Write a study's published files into ``folder``: its tables and data, importance and stamp."""
    for name in TABLES + DATA + tuple(n for n in OPTIONAL_TABLES + OPTIONAL_DATA if (source / n).is_file()):
        shutil.copyfile(source / name, folder / name)
    sweep = sweep_description(config, study)
    importance = sweep_importance(pd.read_csv(folder / "finals.csv"), sweep)
    if len(importance):
        importance.to_csv(folder / "importance.csv", index=False)
    from rnnbench.config import study_notebook

    write_json({
        "study": study,
        "runs": int(len(metadata)),
        "trained_at_commit": _commits(metadata),
        "trained_from": str(metadata["started_at"].min()),
        "trained_to": str(metadata["started_at"].max()),
        "engines": sorted({str(e) for e in metadata.get("engine", pd.Series(dtype=str)).dropna()}),
        "published_by": f"python -m rnnbench.publish {study}",
        "notebook": study_notebook(config, study),
        "sweep": sweep,
        "data_sha256": data_digests(folder),
    }, folder / "stamp.json")


def _replace(staging: Path, target: Path) -> None:
    """Put the checked ``staging`` folder in ``target``'s place, so no file of an earlier publication stays."""
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
        staging.rename(target)
        shutil.rmtree(old)
    else:
        staging.rename(target)


def recompute(folder: Path) -> dict[str, pd.DataFrame]:
    """Every derived table of a published study (``DERIVED``) whose data it has, from its data files and
    stamp.json alone: no TensorFlow, no results/."""
    from rnnbench.aggregate import summarize_finals
    from rnnbench.documents import ensembles, paired_tests
    from rnnbench.stats import budget_curves, budget_leaders, pairwise_by_dataset

    stamp = json.loads((folder / "stamp.json").read_text())
    tables = {}
    if (folder / "finals.csv").is_file():
        finals = pd.read_csv(folder / "finals.csv")
        tables["summary.csv"] = summarize_finals(finals, stamp.get("notebook", {}))
        tables["pairwise.csv"] = pairwise_by_dataset(finals)
        importance = sweep_importance(finals, stamp.get("sweep", {}))
        if len(importance):
            tables["importance.csv"] = importance
    if (folder / "documents.csv").is_file():
        documents = pd.read_csv(folder / "documents.csv")
        tables["ensembles.csv"] = ensembles(documents)
        tables["mcnemar.csv"] = paired_tests(documents)
    if (folder / "trials.csv").is_file():
        curves = budget_curves(pd.read_csv(folder / "trials.csv"))
        tables["budget.csv"] = curves
        tables["budget_leaders.csv"] = budget_leaders(curves)
    return tables


def table_differences(name: str, published: pd.DataFrame, recomputed: pd.DataFrame, limit: int = 5) -> list[str]:
    """How a published table differs from its recomputation: columns, rows, and each cell that differs
    (numbers beyond rounding: relative 1e-9), named by its row's first columns and its column."""
    if list(published.columns) != list(recomputed.columns):
        return [f"{name}: columns {list(published.columns)}, recomputed {list(recomputed.columns)}"]
    if len(published) != len(recomputed):
        return [f"{name}: {len(published)} rows, recomputed {len(recomputed)}"]
    import numpy as np

    differences = []
    key = list(published.columns[:3])
    for column in published.columns:
        a, b = published[column], recomputed[column]
        numeric = pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b) \
            and not pd.api.types.is_bool_dtype(a)
        if numeric:
            x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
            same = np.isclose(x, y, rtol=1e-9, atol=1e-12) | (np.isnan(x) & np.isnan(y))
        else:
            same = (a.astype(str) == b.astype(str)).to_numpy() | (a.isna() & b.isna()).to_numpy()
        for row in np.flatnonzero(~same):
            where = ", ".join(str(published.iloc[row][k]) for k in key)
            differences.append(f"{name}, row {row + 1} ({where}), {column}: published {_plain(a.iloc[row])}, "
                               f"recomputed {_plain(b.iloc[row])}")
    return differences[:limit] + ([f"{name}: {len(differences) - limit} more"] if len(differences) > limit else [])


def _plain(value) -> str:
    """A cell as the CSV shows it: 0.726, not np.float64(0.726)."""
    return repr(value.item() if hasattr(value, "item") else value)


def check(folder: Path, study: str | None = None) -> list[str]:
    """Every difference between a published study's tables and their recomputation from its data; a table
    without the data it is computed from, or data without its table, is a difference too. Each names
    ``study`` (default: the folder's name)."""
    study = study or folder.name
    missing = [f"{study}: no {name}, so its tables cannot be recomputed" for name in DATA
               if not (folder / name).is_file()]
    if missing:
        return missing
    recomputed = recompute(folder)
    differences = _digest_problems(folder, study)
    for name in sorted(set(DERIVED) | set(recomputed)):
        there = (folder / name).is_file()
        if name in recomputed and not there:
            differences.append(f"{study}: {name} is missing, though its data is published")
        elif there and name not in recomputed:
            differences.append(f"{study}: {name} has no data to recompute it from ({', '.join(DERIVED[name])})")
        elif there:
            again = pd.read_csv(io.StringIO(recomputed[name].to_csv(index=False)))  # as the CSV gives it back
            differences += [f"{study}: {line}" for line in
                            table_differences(name, pd.read_csv(folder / name), again)]
    return differences


def _fmt(value, digits=3) -> str:
    return "" if pd.isna(value) else f"{value:.{digits}f}"


def _budget_lines(folder: Path, dataset: str) -> list[str]:
    """A search study's budget table for one dataset: each search's expected best validation accuracy
    at a few budgets with its 95% band, and the trial chosen for retraining; none for other studies."""
    from rnnbench.report import budget_readout
    from rnnbench.results import select

    if not (folder / "budget.csv").is_file():
        return []
    budget, leaders, trials, finals = (select(pd.read_csv(folder / name), dataset)
                                       for name in ("budget.csv", "budget_leaders.csv", "trials.csv", "finals.csv"))
    readout = budget_readout(budget, leaders, trials, finals)
    lines = ["Expected best validation accuracy of n trials (mean best over the n-subsets of the trials: unbiased; "
             "budget.csv also holds Dodge et al. 2019's with-replacement estimate), with its 95% bootstrap band, "
             "and each search's validation-best trial with its validation accuracy in the search and retrained "
             "over the study's seeds:\n",
             "| search | trials | " + " | ".join(f"n = {n}" for n in readout["points"])
             + " | chosen trial | search | retrained | hours |",
             "|---|---|" + "---|" * len(readout["points"]) + "---|---|---|---|"]
    lines += [f"| {row['search']} | {row['trials']} | " + " | ".join(row["cells"])
              + f" | {row['run']} | {row['val_accuracy']} | {row['retrained']} | {row['hours']} |"
              for row in readout["rows"]]
    return lines + [""] + [f"- {line}" for line in readout["lines"]] + [""]


def markdown(docs: Path = Path("docs")) -> str:
    """docs/results.md: one table per published study, from its files in docs/results/."""
    from rnnbench.stats import interaction_readings

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
        recompute = (f" Every table recomputes from the data beside it: `python -m rnnbench.publish --check "
                     f"{stamp['study']}`." if all((folder / name).is_file() for name in DATA) else "")
        parts.append(f"{stamp['runs']} runs trained at commit {stamp['trained_at_commit']}, "
                     f"{stamp['trained_from'][:10]} to {stamp['trained_to'][:10]}, engine "
                     f"{', '.join(stamp['engines']) or 'n/a'}.{recompute}\n")
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
            parts += _budget_lines(folder, dataset)
        if (folder / "importance.csv").is_file():
            importance = pd.read_csv(folder / "importance.csv")
            parts.append("ANOVA of test accuracy on the swept fields and their interactions (type II; p uncorrected):\n")
            parts.append("| dataset | term | df | F | p | partial η² |")
            parts.append("|---|---|---|---|---|---|")
            for row in importance.itertuples(index=False):
                parts.append(f"| {row.dataset} | {row.term} | {row.df} | {_fmt(row.F, 2)} | {row.p_value:.3g} | "
                             f"{_fmt(row.partial_eta_sq)} |")
            parts.append("")
            for dataset, rows in importance.groupby("dataset", sort=True):
                parts += [f"{dataset}: {line}\n" for line in interaction_readings(rows)]
    return "\n".join(parts).rstrip() + "\n"


def main(argv=None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m rnnbench.publish",
                                     description="Publish finished studies' tables into docs/results/.")
    parser.add_argument("studies", nargs="*", metavar="STUDY")
    parser.add_argument("--any-settings", action="store_true",
                        help="publish runs that are not the study's shipped ones (other epochs, seeds or variants)")
    parser.add_argument("--extend", action="store_true",
                        help="publish the local study's variants onto its published data, without retraining the "
                             "published runs; every table is recomputed from the combined data")
    parser.add_argument("--check", action="store_true",
                        help="recompute the published tables of the studies (default: every published one) from "
                             "their published data alone, and name every difference; exit 1 if there is one")
    parser.add_argument("--recompute", action="store_true",
                        help="rewrite the published tables of the studies (default: every published one) from their "
                             "published data, when the statistics changed and the runs did not")
    parser.add_argument("--jobs", type=int, default=None,
                        help="with --check: studies checked at once, in as many processes (default: one per CPU)")
    parser.add_argument("--configfile", nargs="+", default=[], metavar="FILE",
                        help="the config files the study was built with, merged over config.yaml as Snakemake does")
    parser.add_argument("--config", nargs="+", default=[], metavar="KEY=VALUE",
                        help="the --config overrides the study was built with, as Snakemake takes them")
    parser.add_argument("--docs", type=Path, default=Path("docs"), help="where docs/results/ is (default: docs)")
    args = parser.parse_args(argv)
    if args.check:
        raise SystemExit(run_check(args.docs, args.studies, args.jobs))
    if args.recompute:
        for folder in _published(args.docs, args.studies):
            print(f"recomputed {folder}: {', '.join(rewrite_tables(folder))}")
        write_text(markdown(args.docs), args.docs / "results.md")
        print(f"wrote {args.docs / 'results.md'}")
        from rnnbench.readings import write

        for path in write(args.docs):
            print(f"wrote {path}")
        return
    if not args.studies:
        parser.error("name the studies to publish")
    from rnnbench.config import load_config

    config = load_config(Path("."), args.configfile, args.config)
    for study in args.studies:
        target = extend(study, config=config) if args.extend else publish(study, config=config,
                                                                          any_settings=args.any_settings)
        print(f"published {target}")
    write_text(markdown(), Path("docs") / "results.md")
    print("wrote docs/results.md")


def rewrite_tables(folder: Path) -> list[str]:
    """Rewrite a published study's derived tables from its published data and stamp (``recompute``),
    dropping those it no longer has, and record the data's digests in the stamp; the data stay as they
    are. Returns the tables."""
    tables = recompute(folder)
    stamp = json.loads((folder / "stamp.json").read_text())
    write_json(dict(stamp, data_sha256=data_digests(folder)), folder / "stamp.json")
    for name in DERIVED:
        if name not in tables:
            (folder / name).unlink(missing_ok=True)
    for name, table in tables.items():
        write_text(table.to_csv(index=False), folder / name)
    return sorted(tables)


def _published(docs: Path, studies: list[str]) -> list[Path]:
    """The folders of ``studies`` (default: every published one) under docs/results/."""
    return [docs / "results" / study for study in studies] or sorted(
        path.parent for path in (docs / "results").glob("*/stamp.json"))


def _timed_check(folder: Path) -> tuple[list[str], float]:
    import time

    start = time.perf_counter()
    differences = check(folder)
    return differences, time.perf_counter() - start


def run_check(docs: Path, studies: list[str], jobs: int | None = None) -> int:
    """``--check``: print each study's verdict and time; 1 if any table differs or cannot be recomputed.
    Studies are checked in ``jobs`` processes at once (default: one per CPU), each verdict printed in order."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    folders = _published(docs, studies)
    published = [folder for folder in folders if (folder / "stamp.json").is_file()]
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(published)))
    if jobs == 1:
        verdicts = dict(zip(published, map(_timed_check, published)))
    else:  # spawned: a forked copy of a process that runs TensorFlow's thread pools may hang
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            verdicts = dict(zip(published, pool.map(_timed_check, published)))
    failed = 0
    for folder in folders:
        if folder not in verdicts:
            print(f"{folder.name}: not published (no {folder / 'stamp.json'})")
            failed += 1
            continue
        differences, took = verdicts[folder]
        data = sum((folder / name).stat().st_size for name in DATA + OPTIONAL_DATA if (folder / name).is_file())
        if differences:
            failed += 1
            print(f"{folder.name}: DIFFERENT ({took:.1f} s)\n  " + "\n  ".join(differences))
        else:
            tables = sorted(name for name in DERIVED if (folder / name).is_file())
            print(f"{folder.name}: every table recomputed from {data:,} bytes of data: {', '.join(tables)} "
                  f"({took:.1f} s)")
    from rnnbench.readings import differences

    page = page_differences(docs)
    if page:
        failed += 1
        print(f"{docs / 'results.md'}: DIFFERENT from what the published files give\n  " + "\n  ".join(page))
    else:
        print(f"{docs / 'results.md'}: what the published files give")
    readings = differences(docs)
    if readings:
        failed += 1
        print("readings: a number differs from the tables'\n  " + "\n  ".join(readings))
    else:
        print("readings: every number rendered from the tables")
    return 1 if failed else 0


def page_differences(docs: Path, limit: int = 5) -> list[str]:
    """The lines of docs/results.md that differ from ``markdown``'s page of the published files, by line."""
    import difflib

    path = docs / "results.md"
    if not path.is_file():
        return [f"{path} is missing"]
    written, given = path.read_text().splitlines(), markdown(docs).splitlines()
    lines = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, written, given, autojunk=False).get_opcodes():
        if tag != "equal":
            lines += [f"line {i1 + k + 1}: {written[i1 + k]!r}" for k in range(i2 - i1)]
            lines += [f"  should be: {line!r}" for line in given[j1:j2]]
    return lines[:limit] + ([f"{len(lines) - limit} more"] if len(lines) > limit else [])


if __name__ == "__main__":
    main()
