rule figures:
    """One dataset's report figures for one study, each its own file (and an entry of snakemake --report)."""
    input:
        unpack(dataset_meta),
        **study_tables(),
    output:
        accuracy=report(
            "reports/figures/{study}/{dataset}/accuracy.png",
            caption="../report/accuracy.rst",
            category="{study}: {dataset}",
            subcategory="Accuracy",
        ),
        learning_curves=report(
            "reports/figures/{study}/{dataset}/learning_curves.png",
            caption="../report/learning_curves.rst",
            category="{study}: {dataset}",
            subcategory="Learning curves",
        ),
        pairwise=report(
            "reports/figures/{study}/{dataset}/pairwise.png",
            caption="../report/pairwise.rst",
            category="{study}: {dataset}",
            subcategory="Pairwise comparisons",
        ),
        confusion=report(
            "reports/figures/{study}/{dataset}/confusion.png",
            caption="../report/confusion.rst",
            category="{study}: {dataset}",
            subcategory="Confusion matrix",
        ),
        cost=report(
            "reports/figures/{study}/{dataset}/cost.png",
            caption="../report/cost.rst",
            category="{study}: {dataset}",
            subcategory="Cost",
        ),
        overfitting=report(
            "reports/figures/{study}/{dataset}/overfitting.png",
            caption="../report/overfitting.rst",
            category="{study}: {dataset}",
            subcategory="Overfitting",
        ),
    log:
        "logs/figures/{study}/{dataset}.log",
    conda:
        "../envs/rnnbench.yaml"
    params:
        settings=study_settings,
        figures="study",
        code=code("figures"),
    script:
        "../../scripts/figures.py"


rule sweep_figures:
    """A sweep study's figures: the marginal effect of each swept field, and their ANOVA ranking."""
    input:
        unpack(dataset_meta),
        **study_tables(),
    output:
        marginals=report(
            "reports/figures/{study}/{dataset}/marginals.png",
            caption="../report/marginals.rst",
            category="{study}: {dataset}",
            subcategory="Sweep",
        ),
        importance=report(
            "reports/figures/{study}/{dataset}/importance.png",
            caption="../report/importance.rst",
            category="{study}: {dataset}",
            subcategory="Sweep",
        ),
    log:
        "logs/sweep_figures/{study}/{dataset}.log",
    conda:
        "../envs/rnnbench.yaml"
    params:
        settings=study_settings,
        figures="sweep",
        code=code("figures"),
    script:
        "../../scripts/figures.py"


rule search_figures:
    """A search study's figure: the expected best validation accuracy of each search by its budget."""
    input:
        unpack(dataset_meta),
        unpack(search_tables),
        **study_tables(),
    output:
        budget=report(
            "reports/figures/{study}/{dataset}/budget.png",
            caption="../report/budget.rst",
            category="{study}: {dataset}",
            subcategory="Tuning budget",
        ),
    log:
        "logs/search_figures/{study}/{dataset}.log",
    conda:
        "../envs/rnnbench.yaml"
    params:
        settings=study_settings,
        figures="search",
        code=code("figures"),
    script:
        "../../scripts/figures.py"


rule report:
    """A study's self-contained HTML report."""
    input:
        unpack(figure_files),
        unpack(dataset_meta),
        unpack(search_tables),
        **study_tables(),
        metadata=f"{STUDY_DIR}/run_metadata.csv",
        # What the tables were computed from: a report moved aside after a failure (set_aside_stale_reports)
        # makes Snakemake rebuild any of these that is missing, so the failed job runs again.
        run_files=lambda wildcards: [
            path for name in RUN_FILES for path in run_files(wildcards.study, name)
        ],
        data=lambda wildcards: study_padded(wildcards.study),
    output:
        "reports/{study}.html",
    log:
        "logs/report/{study}.log",
    conda:
        "../envs/rnnbench.yaml"
    params:
        settings=study_settings,
        code=code("report"),
    script:
        "../../scripts/report.py"
