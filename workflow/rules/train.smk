rule train:
    """One run: the Keras model of one spec (the run name) trained under one seed, and its test-set probabilities."""
    input:
        data=PADDED,
        meta=PADDED_META,
    output:
        history=f"{TRAINED_RUN_DIR}/history.csv",
        model=f"{TRAINED_RUN_DIR}/model.keras",
        predictions=f"{TRAINED_RUN_DIR}/predictions.npy",
        metadata=f"{TRAINED_RUN_DIR}/run.json",
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


rule fit:
    """One run of a scikit-learn family (linear, sklearn): its estimator fitted once under one seed on the
    rows a Keras run trains on, and its test-set probabilities."""
    input:
        data=PADDED,
        meta=PADDED_META,
    output:
        history=f"{FITTED_RUN_DIR}/history.csv",
        model=f"{FITTED_RUN_DIR}/model.skops",
        predictions=f"{FITTED_RUN_DIR}/predictions.npy",
        metadata=f"{FITTED_RUN_DIR}/run.json",
    log:
        "logs/fit/{dataset}{split}/{run}/seed{seed}.log",
    conda:
        "../envs/rnnbench.yaml"
    threads: config["threads"]
    params:
        spec=train_spec,
        split=split_seed,
        code=fit_code,
    script:
        "../../scripts/fit.py"
