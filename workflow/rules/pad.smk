rule pad:
    """The dataset's loader (the only dataset-specific step), then padding; a pickle-free npz."""
    input:
        unpack(dataset_files),
    output:
        data=PADDED,
        meta=PADDED_META,
    log:
        "logs/pad/{dataset}{split}.log",
    conda:
        "../envs/rnnbench.yaml"
    params:
        loader=lambda wildcards: config["datasets"][wildcards.dataset]["loader"],
        spec=pad_spec,
        sha256=dataset_sha256,
        code=pad_code,
    script:
        "../../scripts/pad.py"
