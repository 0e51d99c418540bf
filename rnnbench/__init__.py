"""rnnbench: a reproducible benchmark of recurrent text classifiers.

The package holds all the logic; the Snakemake scripts in ``scripts/`` are thin
adapters over it. Modules that need TensorFlow import it lazily so that parsing
the workflow and aggregating results stay fast.
"""

__version__ = "0.1.0"
