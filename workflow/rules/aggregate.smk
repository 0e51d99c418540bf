rule aggregate:
    """One study's tidy runs.csv (dataset, variant, seed, epoch, metric, value), confusion cells,
    run metadata and summary; variants are labelled as the study names them."""
    input:
        histories=study_run_files("history.csv"),
        metrics=study_run_files("metrics.json"),
        metadata=study_run_files("run.json"),
        code=code("aggregate"),
    output:
        runs=f"{STUDY_DIR}/runs.csv",
        summary=f"{STUDY_DIR}/summary.csv",
        confusion=f"{STUDY_DIR}/confusion.csv",
        metadata=f"{STUDY_DIR}/run_metadata.csv",
    params:
        runs=lambda wildcards: study_runs(wildcards.study),
        notebook=lambda wildcards: rnnbench_config.canonical(
            rnnbench_config.study_notebook(config, wildcards.study)
        ),
    conda:
        "../envs/rnnbench.yaml"
    log:
        "logs/aggregate/{study}.log",
    script:
        "../../scripts/aggregate.py"


rule compare:
    """Almost Stochastic Order (deepsig) for every pair of the study's variants."""
    input:
        runs=f"{STUDY_DIR}/runs.csv",
        code=code("stats"),
    output:
        f"{STUDY_DIR}/pairwise.csv",
    params:
        iterations=1000,
    conda:
        "../envs/rnnbench.yaml"
    log:
        "logs/compare/{study}.log",
    script:
        "../../scripts/compare.py"
