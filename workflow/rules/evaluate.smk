rule evaluate:
    """Test loss, accuracy, macro-F1 and confusion matrix of one run, from its test-set probabilities."""
    input:
        data="data/padded/{dataset}.npz",
        predictions=f"{RUN_DIR}/predictions.npy",
        metadata=f"{RUN_DIR}/run.json",
        code=code("evaluation"),
    output:
        f"{RUN_DIR}/metrics.json",
    threads: 1
    conda:
        "../envs/rnnbench.yaml"
    log:
        "logs/evaluate/{dataset}/{run}/seed{seed}.log",
    script:
        "../../scripts/evaluate.py"
