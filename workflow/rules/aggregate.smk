rule aggregate:
    """Tidy runs.csv (dataset, variant, seed, epoch, metric, value), run metadata and the summary."""
    input:
        histories=run_files("history.csv"),
        metrics=run_files("metrics.json"),
        metadata=run_files("run.json"),
    output:
        runs="results/runs.csv",
        summary="results/summary.csv",
        metadata="results/run_metadata.csv",
    params:
        runs=RUNS,
        notebook=rnnbench_config.canonical(config.get("notebook", {})),
    conda:
        "../envs/rnnbench.yaml"
    log:
        "logs/aggregate.log",
    script:
        "../../scripts/aggregate.py"
