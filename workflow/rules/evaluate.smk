rule evaluate:
    """Test loss, accuracy, macro-F1 and confusion matrix of one run, from its test-set probabilities."""
    input:
        data=PADDED,
        predictions=f"{RUN_DIR}/predictions.npy",
        metadata=f"{RUN_DIR}/run.json",
    output:
        f"{RUN_DIR}/metrics.json",
    log:
        "logs/evaluate/{dataset}{split}/{run}/seed{seed}.log",
    conda:
        "../envs/rnnbench.yaml"
    threads: 1
    params:
        code=code("evaluate"),
    script:
        "../../scripts/evaluate.py"
