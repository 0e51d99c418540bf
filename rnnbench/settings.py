"""What a training job needs of the config: its settings, and the checks on them.

Kept apart from ``rnnbench.config`` (the workflow's config language), so that extending that
language changes no train job's code digest, and reruns no finished run.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Mapping

from rnnbench.errors import ConfigError
from rnnbench.models import Spec


# The settings a table dataset may leave out, with the value it then gets.
TABLE_DEFAULTS = {
    "encoding": "utf-8",
    "padding": "post",
    "truncating": "post",
    "standardize": "lower_and_strip_punctuation",
    "token_split": "whitespace",
    "test_fraction": 0.2,
    "split_seed": 0,
}


# A run's history.csv: one row per epoch (a scikit-learn run: one row, its fit).
HISTORY_COLUMNS = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"]


def canonical(value: Any) -> str:
    """Sorted, compact JSON: equal content gives an equal string, whatever the key order."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class TrainSettings:
    """Everything that determines a training run except its seed: the train rule's config slice."""

    variant: Spec
    embedding_dim: int | None  # None for a scikit-learn fit, which takes none of these three
    epochs: int | None
    batch_size: int | None
    validation_split: float

    def to_json(self) -> str:
        return canonical({**dataclasses.asdict(self), "variant": self.variant.as_dict()})

    @classmethod
    def of(cls, fields: "TrainSettings | Mapping[str, Any]") -> "TrainSettings":
        """Settings from a mapping of the same fields (its variant a config entry), for callers outside
        the pipeline; settings pass through unchanged."""
        if isinstance(fields, TrainSettings):
            return fields
        return cls(**{**fields, "variant": Spec.of(fields["variant"])})

    @classmethod
    def from_json(cls, text: str) -> "TrainSettings":
        """The settings a train job got (``to_json``'s text): the variant is already a whole spec."""
        fields = json.loads(text)
        return cls(**{**fields, "variant": Spec.of(fields["variant"])})


def training_rows(rows: int, validation_split: float) -> int:
    """Rows Keras trains on out of ``rows``: it holds the last ``validation_split`` fraction out."""
    import math

    return int(math.floor(rows * (1.0 - validation_split)))


def split_validation(x, y, validation_split: float):
    """Keras's ``validation_split``: the last fraction of the rows, before any shuffling."""
    cut = training_rows(len(x), validation_split)
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


def check_rows(batch_size: int | None, validation_split: float, dataset: str, rows: int) -> None:
    """Refuse settings that leave a dataset of ``rows`` training-split rows without training or
    validation rows, or with fewer training rows than one batch (``batch_size`` None: a fit without
    batches); each blames its own key."""
    train = training_rows(rows, validation_split)
    if train < 1 or rows - train < 1:
        part = "training" if train < 1 else "validation"
        raise ConfigError(
            f"invalid config:\n  validation_split = {validation_split}: leaves no {part} rows of the {rows} "
            f"of dataset {dataset!r}"
        )
    if batch_size is not None and batch_size > train:
        raise ConfigError(
            f"invalid config:\n  batch_size = {batch_size}: larger than the {train} training rows of dataset "
            f"{dataset!r} (of {rows}, after validation_split {validation_split})"
        )
