"""A model's spec, and the one function that builds any model from it, so a new variant is a YAML entry.

Each family (the ``cell`` field: recurrent cells, ``bow``, ``cnn``, ``transformer``, ``custom``, and the
scikit-learn families ``linear`` and ``sklearn``) is built by its own module in ``rnnbench/families/``,
imported by name, so an edit to one family reruns only its own runs.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Mapping

CELLS = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
BASELINES = {"bow", "cnn", "transformer", "custom", "linear", "sklearn"}  # the non-recurrent families
# Families whose model is a scikit-learn estimator, fitted once on the same rows (rule fit, not train).
ESTIMATORS = {"linear", "sklearn"}
POOLINGS = ("last", "max", "mean")
LR_SCHEDULES = ("constant", "cosine")

# cell -> the module that builds it (``build(spec, *, num_words, maxlen, embedding_dim, num_classes,
# token_product)``).
FAMILIES = {
    **{cell: "rnnbench.families.recurrent" for cell in CELLS},
    "bow": "rnnbench.families.bow",
    "cnn": "rnnbench.families.cnn",
    "transformer": "rnnbench.families.transformer",
    "custom": "rnnbench.families.custom",
    "linear": "rnnbench.families.linear",
    "sklearn": "rnnbench.families.estimator",
}
# Families that pool over time by default, and how (``pooling: last`` is a recurrent layer's last state).
OWN_POOLING = {"cnn": "max", "transformer": "mean"}
# The linear family's defaults: a linear SVM at scikit-learn's C on sublinear TF-IDF unigrams, l2-normalised.
LINEAR_DEFAULTS = {"classifier": "svm", "ngrams": 1, "weighting": "tfidf", "sublinear_tf": True, "min_df": 1,
                   "norm": "l2", "C": 1.0, "class_weight": ""}
# Fields every family takes: how it is trained.
TRAINING_FIELDS = {"cell", "learning_rate", "early_stopping", "lr_schedule", "label_smoothing", "engine"}
# cell -> (the fields it requires, every field it takes); a field of another family is refused by name.
FAMILY_FIELDS = {
    **{cell: ({"layers", "units"}, TRAINING_FIELDS | {
        "layers", "units", "recurrent_initializer", "dropout", "recurrent_dropout", "activation", "bidirectional",
        "mask_zero", "embedding_dropout", "pooling", "spatial_dropout"}) for cell in CELLS},
    "bow": ({"layers", "units"}, TRAINING_FIELDS | {"layers", "units", "dropout"}),
    "cnn": ({"kernel_sizes", "filters"}, TRAINING_FIELDS | {
        "kernel_sizes", "filters", "dropout", "embedding_dropout", "spatial_dropout", "pooling"}),
    "transformer": ({"layers", "units", "heads", "ff_dim"}, TRAINING_FIELDS | {
        "layers", "units", "heads", "ff_dim", "dropout", "mask_zero", "pooling"}),
    "custom": ({"builder"}, TRAINING_FIELDS | {"builder", "options"}),
    # one fit, no epochs: none of the training fields apply
    "linear": (set(), {"cell", *LINEAR_DEFAULTS}),
    "sklearn": ({"builder"}, {"cell", "builder", "options"}),
}


@dataclass(frozen=True)
class Spec:
    """A variant: what the model is, and the engine that computes it, every field filled in and typed.

    ``Spec.of`` builds one from a config entry where the config is read; from there it is handed on
    unchanged (to the rule as JSON, from the train script to ``build_model``). Writing a default
    out, or 1 for 1.0, gives the same spec, so the same name and the same runs."""

    cell: str
    layers: int = 0
    units: int = 0
    recurrent_initializer: str = "orthogonal"  # Keras's default
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    activation: str = "tanh"
    bidirectional: bool = False
    mask_zero: bool = False
    embedding_dropout: float = 0.0
    learning_rate: float = 0.001  # Keras's Adam default, as in the notebook
    early_stopping: int = 0  # patience in epochs on val_loss, best weights restored; 0 = off
    pooling: str = "last"  # the last layer's output: its last state, or the max or mean over the unmasked steps
    spatial_dropout: float = 0.0  # drops whole embedding channels (SpatialDropout1D)
    lr_schedule: str = "constant"  # or cosine: decay to 0 over the run's epochs
    label_smoothing: float = 0.0
    engine: str = "fused"  # how fast the model is computed, not what: rnnbench.engines.ENGINES
    # The families beyond the notebook's (absent from a spec's dict and name while at their defaults).
    kernel_sizes: tuple = ()  # cnn: the convolution widths, one bank of filters each
    filters: int = 0  # cnn: filters per width
    heads: int = 0  # transformer: attention heads
    ff_dim: int = 0  # transformer: the feed-forward width
    builder: str = ""  # custom, sklearn: "package.module:function"
    options: str = ""  # custom, sklearn: the builder's own settings, canonical JSON
    classifier: str = ""  # linear: svm (LinearSVC) or logreg (LogisticRegression)
    ngrams: int = 0  # linear: n-grams of token ids from 1 to this
    weighting: str = ""  # linear: tfidf, binary or counts
    sublinear_tf: bool = False  # linear: 1 + log(tf) in place of tf
    min_df: int = 0  # linear: terms in fewer training documents are dropped
    norm: str = ""  # linear: each row's l2 or l1 norm made 1, or none
    C: float = 0.0  # linear: inverse regularisation strength
    class_weight: str = ""  # linear: "" (every row alike) or balanced

    @classmethod
    def of(cls, fields: Mapping[str, Any]) -> "Spec":
        """The spec of a config entry (defaults filled in, numbers in their field's type)."""
        if isinstance(fields, Spec):
            return fields
        types = {field.name: field.type for field in dataclasses.fields(cls)}
        unknown = sorted(set(fields) - set(types))
        if unknown:
            raise ValueError(f"unknown spec field(s) {', '.join(unknown)}")
        cast = {"int": int, "float": float, "tuple": lambda v: tuple(int(x) for x in v),
                "str": lambda v: json.dumps(v, sort_keys=True, separators=(",", ":")) if isinstance(v, Mapping) else v}
        fields = {key: cast[types[key]](value) if types[key] in cast else value for key, value in fields.items()}
        if fields.get("cell") in OWN_POOLING and fields.get("pooling", "last") == "last":
            fields["pooling"] = OWN_POOLING[fields["cell"]]  # the family's own: one model, one name
        if fields.get("cell") == "linear":
            fields = {**LINEAR_DEFAULTS, **fields}
        return cls(**fields)

    def as_dict(self) -> dict[str, Any]:
        """Every field, but the later families' fields only away from their defaults: a spec of the
        notebook's kind has the dict (so the name and the runs) it had before they existed."""
        fields = dataclasses.asdict(self)
        if self.cell in ESTIMATORS:  # fitted once: the fields of training by epochs do not apply
            fields = {key: value for key, value in fields.items() if key in FAMILY_FIELDS[self.cell][1]}
        own = LINEAR_DEFAULTS if self.cell == "linear" else {}  # a family's own defaults are written out
        for key in [key for key in LATER_FIELDS if key in fields and key not in own and fields[key] == LATER_FIELDS[key]]:
            del fields[key]
        if "kernel_sizes" in fields:
            fields["kernel_sizes"] = list(fields["kernel_sizes"])
        if "options" in fields:
            fields["options"] = json.loads(fields["options"])
        return fields

    @property
    def family(self) -> str:
        """The module that builds this spec's model (``FAMILIES``)."""
        return FAMILIES[self.cell]


# Every optional spec field and its default.
SPEC_DEFAULTS: dict[str, Any] = {
    field.name: field.default for field in dataclasses.fields(Spec) if field.default is not dataclasses.MISSING
}
LATER_FIELDS = {key: SPEC_DEFAULTS[key] for key in ("kernel_sizes", "filters", "heads", "ff_dim", "builder", "options",
                                                   *LINEAR_DEFAULTS)}
LATER_FIELDS["layers"] = LATER_FIELDS["units"] = 0  # a cnn's or custom model's: no layers or units


def family_problems(where: str, fields: Mapping[str, Any]) -> list[str]:
    """A spec entry's fields against its family's (``FAMILY_FIELDS``): a field of another family, or a
    required one missing, named with ``where``."""
    cell = fields.get("cell")
    if cell not in FAMILY_FIELDS:
        return []
    required, allowed = FAMILY_FIELDS[cell]
    problems = [f"{where}.{key}: not a field of cell {cell!r} (its fields: {', '.join(sorted(allowed))})"
                for key in sorted(set(fields) - allowed)]
    problems += [f"{where}: cell {cell!r} requires {key!r}" for key in sorted(required - set(fields))]
    if cell in OWN_POOLING and fields.get("pooling", OWN_POOLING[cell]) not in ("max", "mean"):
        problems.append(f"{where}.pooling = {fields['pooling']!r}: cell {cell!r} pools with max or mean")
    if cell == "transformer" and fields.get("heads") and fields.get("units") and fields["units"] % fields["heads"]:
        problems.append(f"{where}: units = {fields['units']} is not a multiple of heads = {fields['heads']}")
    return problems


def length_problems(spec: Spec | Mapping[str, Any], maxlen: int) -> list[str]:
    """What a spec's family refuses at a padded length of ``maxlen`` (its module's
    ``length_problems``, where it has one)."""
    import importlib

    spec = Spec.of(spec)
    module = importlib.import_module(spec.family)
    return module.length_problems(spec, maxlen) if hasattr(module, "length_problems") else []


def build_model(
    spec: Spec | Mapping[str, Any],
    *,
    num_words: int,
    maxlen: int,
    embedding_dim: int,
    num_classes: int,
    token_product: bool = True,
):
    """The model that ``spec`` describes (a config entry is read as ``Spec.of`` it), built by its
    family's module; (batch, maxlen) token ids in, (batch, num_classes) class probabilities out."""
    import importlib

    spec = Spec.of(spec)
    module = importlib.import_module(spec.family)
    return module.build(spec, num_words=num_words, maxlen=maxlen, embedding_dim=embedding_dim,
                        num_classes=num_classes, token_product=token_product)


