rule aggregate:
    """Tidy runs.csv (dataset, variant, seed, epoch, metric, value), confusion cells, run metadata, summary."""
    input:
        histories=run_files("history.csv"),
        metrics=run_files("metrics.json"),
        metadata=run_files("run.json"),
        code=code("aggregate"),
    output:
        runs="results/runs.csv",
        summary="results/summary.csv",
        confusion="results/confusion.csv",
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


rule compare:
    """Almost Stochastic Order (deepsig) for every ordered pair of variants."""
    input:
        runs="results/runs.csv",
        code=code("stats"),
    output:
        "results/pairwise.csv",
    params:
        iterations=1000,
    conda:
        "../envs/rnnbench.yaml"
    log:
        "logs/compare.log",
    script:
        "../../scripts/compare.py"
