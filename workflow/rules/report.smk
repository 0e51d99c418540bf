rule figures:
    """One dataset's report figures for one study, each its own file (and an entry of snakemake --report)."""
    input:
        **study_tables(),
        code=code("figures"),
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
    params:
        settings=study_settings,
        sweep=False,
    conda:
        "../envs/rnnbench.yaml"
    log:
        "logs/figures/{study}/{dataset}.log",
    script:
        "../../scripts/figures.py"


rule sweep_figures:
    """A sweep study's figures: the marginal effect of each swept field, and their ANOVA ranking."""
    input:
        **study_tables(),
        code=code("figures", "stats"),
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
    params:
        settings=study_settings,
        sweep=True,
    conda:
        "../envs/rnnbench.yaml"
    log:
        "logs/sweep_figures/{study}/{dataset}.log",
    script:
        "../../scripts/figures.py"


rule report:
    """A study's self-contained HTML report."""
    input:
        unpack(figure_files),
        **study_tables(),
        metadata=f"{STUDY_DIR}/run_metadata.csv",
        code=code("report"),
    output:
        "reports/{study}.html",
    params:
        settings=study_settings,
        # the checkout the report's code came from, for its git commit
        repo=lambda wildcards, input: Path(input.code[0]).parent.parent,
    conda:
        "../envs/rnnbench.yaml"
    log:
        "logs/report/{study}.log",
    script:
        "../../scripts/report.py"
