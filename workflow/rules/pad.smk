rule pad:
    """The dataset's loader (the only dataset-specific step), then padding; a pickle-free npz."""
    input:
        raw_file,
        code=code("data"),
    output:
        "data/padded/{dataset}.npz",
    params:
        loader=lambda wildcards: config["datasets"][wildcards.dataset]["loader"],
        spec=pad_spec,
        sha256=dataset_sha256,
    conda:
        "../envs/rnnbench.yaml"
    log:
        "logs/pad/{dataset}.log",
    script:
        "../../scripts/pad.py"
