checkpoint trials:
    """A search study's trials, each trained once: the validation accuracy of each, and the
    validation-best trial of each search, which decides the runs the study then compares.
    """
    input:
        histories=lambda wildcards: trial_files(wildcards.study, "history.csv"),
        metadata=lambda wildcards: trial_files(wildcards.study, "run.json"),
    output:
        trials=f"{STUDY_DIR}/trials.csv",
        chosen=f"{STUDY_DIR}/chosen.json",
    log:
        "logs/trials/{study}.log",
    conda:
        "../envs/rnnbench.yaml"
    params:
        trials=lambda wildcards: rnnbench_studies.study_trials(config, wildcards.study),
        code=code("trials"),
    script:
        "../../scripts/trials.py"


rule budget:
    """Expected best validation accuracy by the number of trials (Dodge et al. 2019), per search, with
    a bootstrap band, and the budget ranges where each search leads."""
    input:
        trials=f"{STUDY_DIR}/trials.csv",
    output:
        curves=f"{STUDY_DIR}/budget.csv",
        leaders=f"{STUDY_DIR}/budget_leaders.csv",
    log:
        "logs/budget/{study}.log",
    conda:
        "../envs/rnnbench.yaml"
    params:
        iterations=1000,
        code=code("budget"),
    script:
        "../../scripts/budget.py"
