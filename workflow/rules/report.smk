rule report:
    """The self-contained HTML report."""
    input:
        runs="results/runs.csv",
        summary="results/summary.csv",
        metadata="results/run_metadata.csv",
    output:
        "reports/summary.html",
    params:
        settings=rnnbench_config.report_slice(config),
        repo=workflow.basedir,
    conda:
        "../envs/rnnbench.yaml"
    log:
        "logs/report.log",
    script:
        "../../scripts/report.py"
