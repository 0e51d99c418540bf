REPORT_TABLES = {
    "runs": "results/runs.csv",
    "summary": "results/summary.csv",
    "pairwise": "results/pairwise.csv",
    "confusion": "results/confusion.csv",
}


rule figures:
    """One dataset's report figures, each its own file (and an entry of snakemake --report)."""
    input:
        **REPORT_TABLES,
        code=code("figures"),
    output:
        accuracy=report(
            "reports/figures/{dataset}/accuracy.png",
            caption="../report/accuracy.rst",
            category="{dataset}",
            subcategory="Accuracy",
        ),
        learning_curves=report(
            "reports/figures/{dataset}/learning_curves.png",
            caption="../report/learning_curves.rst",
            category="{dataset}",
            subcategory="Learning curves",
        ),
        pairwise=report(
            "reports/figures/{dataset}/pairwise.png",
            caption="../report/pairwise.rst",
            category="{dataset}",
            subcategory="Pairwise comparisons",
        ),
        confusion=report(
            "reports/figures/{dataset}/confusion.png",
            caption="../report/confusion.rst",
            category="{dataset}",
            subcategory="Confusion matrix",
        ),
        cost=report(
            "reports/figures/{dataset}/cost.png",
            caption="../report/cost.rst",
            category="{dataset}",
            subcategory="Cost",
        ),
        overfitting=report(
            "reports/figures/{dataset}/overfitting.png",
            caption="../report/overfitting.rst",
            category="{dataset}",
            subcategory="Overfitting",
        ),
    params:
        notebook=rnnbench_config.canonical(config.get("notebook", {})),
    conda:
        "../envs/rnnbench.yaml"
    log:
        "logs/figures/{dataset}.log",
    script:
        "../../scripts/figures.py"


rule report:
    """The self-contained HTML report."""
    input:
        **REPORT_TABLES,
        metadata="results/run_metadata.csv",
        **figure_files(),
        code=code("report"),
    output:
        "reports/summary.html",
    params:
        settings=rnnbench_config.report_slice(config),
        datasets=DATASETS,
        # the checkout the report's code came from, for its git commit
        repo=lambda wildcards, input: Path(input.code[0]).parent.parent,
    conda:
        "../envs/rnnbench.yaml"
    log:
        "logs/report.log",
    script:
        "../../scripts/report.py"
