rule aggregate:
    """One study's tidy runs.csv (dataset, variant, seed, epoch, metric, value), confusion cells,
    run metadata, one row per run (finals.csv) and summary; variants are labelled as the study
    names them."""
    input:
        histories=study_run_files("history.csv"),
        metrics=study_run_files("metrics.json"),
        metadata=study_run_files("run.json"),
    output:
        runs=f"{STUDY_DIR}/runs.csv",
        summary=f"{STUDY_DIR}/summary.csv",
        confusion=f"{STUDY_DIR}/confusion.csv",
        metadata=f"{STUDY_DIR}/run_metadata.csv",
        finals=f"{STUDY_DIR}/finals.csv",
    log:
        "logs/aggregate/{study}.log",
    conda:
        "../envs/rnnbench.yaml"
    params:
        runs=lambda wildcards: study_runs(wildcards.study),
        notebook=lambda wildcards: rnnbench_config.canonical(
            rnnbench_config.study_notebook(config, wildcards.study)
        ),
        code=code("aggregate"),
    script:
        "../../scripts/aggregate.py"


rule compare:
    """Almost Stochastic Order (deepsig) for every pair of the study's variants."""
    input:
        runs=f"{STUDY_DIR}/runs.csv",
    output:
        f"{STUDY_DIR}/pairwise.csv",
    log:
        "logs/compare/{study}.log",
    conda:
        "../envs/rnnbench.yaml"
    params:
        iterations=1000,
        code=code("compare"),
    script:
        "../../scripts/compare.py"


rule documents:
    """Seed ensembles (mean probabilities) and McNemar's exact test of every pair on each split's test
    documents, from the runs' saved probabilities."""
    input:
        predictions=study_run_files("predictions.npy"),
        data=lambda wildcards: study_padded(wildcards.study),
    output:
        ensembles=f"{STUDY_DIR}/ensembles.csv",
        mcnemar=f"{STUDY_DIR}/mcnemar.csv",
        documents=f"{STUDY_DIR}/documents.csv",
    log:
        "logs/documents/{study}.log",
    conda:
        "../envs/rnnbench.yaml"
    params:
        runs=lambda wildcards: study_runs(wildcards.study),
        splits=lambda wildcards: study_splits(wildcards.study),
        code=code("documents"),
    script:
        "../../scripts/documents.py"
