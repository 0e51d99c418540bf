rule train:
    """One run: the model of one spec (the run name) trained under one seed, and its test-set probabilities."""
    input:
        data=PADDED,
        meta=PADDED_META,
    output:
        history=f"{RUN_DIR}/history.csv",
        model=f"{RUN_DIR}/model.keras",
        predictions=f"{RUN_DIR}/predictions.npy",
        metadata=f"{RUN_DIR}/run.json",
    log:
        "logs/train/{dataset}{split}/{run}/seed{seed}.log",
    conda:
        "../envs/rnnbench.yaml"
    threads: config["threads"]
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        spec=train_spec,
        split=split_seed,
        code=train_code,
    script:
        "../../scripts/train.py"
