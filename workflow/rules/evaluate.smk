rule evaluate:
    """Test loss, accuracy, macro-F1 and confusion matrix of one run."""
    input:
        data="data/padded/{dataset}.npz",
        model=f"{RUN_DIR}/model.keras",
        metadata=f"{RUN_DIR}/run.json",
        code=code("evaluation", "kernels"),
    output:
        f"{RUN_DIR}/metrics.json",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/rnnbench.yaml"
    log:
        "logs/evaluate/{dataset}/{run}/seed{seed}.log",
    script:
        "../../scripts/evaluate.py"
