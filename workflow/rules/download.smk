rule download:
    """A verified copy of the dataset's raw file: from the Keras cache if it holds the right file, else its URL."""
    output:
        "data/raw/{dataset}/{filename}",
    log:
        "logs/download/{dataset}/{filename}.log",
    conda:
        "../envs/rnnbench.yaml"
    params:
        source=download_source,
        code=code("download"),
    script:
        "../../scripts/download.py"


# Compute nodes often have no internet: on a cluster the download runs where Snakemake runs.
localrules:
    download,
