rule download:
    """A verified copy of the dataset's raw file: from the Keras cache if it holds the right file, else its URL."""
    input:
        code=code("data"),
    output:
        "data/raw/{dataset}/{filename}",
    params:
        source=download_source,
    conda:
        "../envs/rnnbench.yaml"
    log:
        "logs/download/{dataset}/{filename}.log",
    script:
        "../../scripts/download.py"


# Compute nodes often have no internet: on a cluster the download runs where Snakemake runs.
localrules:
    download,
