rule pad:
    """keras.datasets.reuters.load_data semantics, then pad_sequences; a pickle-free npz."""
    input:
        "data/raw/{dataset}.npz",
        code=code("data"),
    output:
        "data/padded/{dataset}.npz",
    params:
        spec=pad_spec,
        sha256=dataset_sha256,
    conda:
        "../envs/rnnbench.yaml"
    log:
        "logs/pad/{dataset}.log",
    script:
        "../../scripts/pad.py"
