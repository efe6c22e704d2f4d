"""Your own data: from a pandas DataFrame to a model's inputs, labels and ``FeatureSpec``.

``encode_frame`` learns, on the training frame, everything needed to turn rows into numbers,
and keeps it in a :class:`FrameEncoder` that encodes any later frame (validation, test, a
customer's request) exactly the same way:

* **categorical** column c: its values, most frequent first, become ids 1 … V_c; id 0 is the
  **out-of-vocabulary bucket** (未登录词桶) for values never seen in training (and for missing
  values), so the embedding table has V_c + 1 rows and a new value never breaks the model;
* **numeric** column j: standardised with the training mean and standard deviation,
  z = (v − μ_j) / σ_j (σ_j = 1 for a constant column);
* **text** column: a bag of words over the training vocabulary (``mtl_kit.text``), appended
  to the numeric matrix as columns ``"<column>:<token>"``;
* **labels** ``{column: kind}``: binary columns must hold 0/1 (or True/False), regression
  columns numbers, multiclass columns any values, whose sorted distinct training values
  become the class ids 0 … k − 1 (``encoder.classes[column]``). NaN / None is a missing label
  (masked out of the loss, as everywhere in the course).

A bad frame is refused before any work, naming the column: a missing or unknown column, a
column used twice, text in a numeric column, NaN in an input, a label outside its task's range.

``save_model(model, encoder, path)`` writes the Keras model file with the encoder inside it
(an extra JSON entry of the ``.keras`` zip archive), and ``load_model(path)`` returns both, so
rows arriving after a restart are encoded as in training.

>>> import pandas as pd
>>> frame = pd.DataFrame({"city": ["a", "b", "a"], "price": [1.0, 2.0, 3.0],
...                       "click": [1, 0, 1]})
>>> x, y, encoder = encode_frame(frame, categorical=["city"], numeric=["price"],
...                              labels={"click": "binary"})
>>> x["city"].tolist(), encoder.features.categorical
([1, 2, 1], {'city': 3})
>>> encoder.inputs(pd.DataFrame({"city": ["z"], "price": [2.0]}))["city"].tolist()
[0]
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mtl_kit.data.features import FeatureSpec
from mtl_kit.inputs import NUMERIC_KEY
from mtl_kit.tasks import KINDS, TaskSpec
from mtl_kit.text import TokenVocabulary

#: The label of id 0 of every categorical feature.
UNKNOWN = "<unknown>"
#: The extra entry of the ``.keras`` archive that holds the encoder.
ENCODER_ENTRY = "mtl_kit_frame_encoder.json"


@dataclass
class FrameEncoder:
    """What ``encode_frame`` learned on the training frame (see the module docstring).

    Attributes:
        categorical: column -> its training values; value ``vocab[i]`` has id i + 1, 0 is
            the out-of-vocabulary bucket.
        numeric: column -> (μ, σ) of the training values.
        text: column -> the token vocabulary of its bag of words.
        labels: column -> task kind.
        classes: multiclass column -> its class values (class id i is ``classes[col][i]``).
    """

    categorical: dict[str, list] = field(default_factory=dict)
    numeric: dict[str, tuple[float, float]] = field(default_factory=dict)
    text: dict[str, TokenVocabulary] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    classes: dict[str, list] = field(default_factory=dict)

    # -- what the model needs to know ------------------------------------------------------
    @property
    def numeric_names(self) -> list[str]:
        """The columns of ``x["numeric"]``: numeric columns, then ``<text>:<token>`` ones."""
        names = list(self.numeric)
        for column, vocabulary in self.text.items():
            names += [f"{column}:{token}" for token in vocabulary.tokens]
        return names

    @property
    def features(self) -> FeatureSpec:
        """The ``FeatureSpec`` for a model builder (vocabulary sizes include id 0)."""
        return FeatureSpec(
            {c: len(v) + 1 for c, v in self.categorical.items()},
            self.numeric_names,
            {c: [UNKNOWN, *(str(value) for value in v)] for c, v in self.categorical.items()},
        )

    @property
    def tasks(self) -> list[TaskSpec]:
        """One ``TaskSpec`` per label column (multiclass: as many classes as in training)."""
        return [TaskSpec(c, kind, len(self.classes[c]) if kind == "multiclass" else None)
                for c, kind in self.labels.items()]

    # -- encoding ----------------------------------------------------------------------------
    def inputs(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """The model inputs of ``frame``: int32 ids per categorical column (unknown values:
        0) and the float32 ``"numeric"`` matrix (standardised numbers, then bags of words)."""
        _check_frame(frame)
        _check_columns(frame, [*self.categorical, *self.numeric, *self.text], "inputs")
        x: dict[str, np.ndarray] = {}
        for column, vocabulary in self.categorical.items():
            index = pd.Index(vocabulary)
            ids = index.get_indexer(frame[column].astype(index.dtype, errors="ignore")) + 1
            x[column] = ids.astype("int32")  # get_indexer gives −1 for unseen: → 0
        parts = []
        if self.numeric:
            values = np.stack([_numbers(frame[c], c) for c in self.numeric], axis=1)
            mean = np.array([m for m, _ in self.numeric.values()])
            scale = np.array([s for _, s in self.numeric.values()])
            parts.append(((values - mean) / scale).astype("float32"))
        for column, vocabulary in self.text.items():
            parts.append(vocabulary.transform(frame[column]))
        if parts:
            x[NUMERIC_KEY] = np.concatenate(parts, axis=1)
        return x

    def targets(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """The labels of ``frame`` as float32 arrays, NaN where a label is missing
        (multiclass: the class id)."""
        _check_frame(frame)
        _check_columns(frame, list(self.labels), "labels")
        return {c: _label(frame[c], c, kind, self.classes.get(c))
                for c, kind in self.labels.items()}

    def encode(self, frame: pd.DataFrame) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """``(inputs(frame), targets(frame))``."""
        return self.inputs(frame), self.targets(frame)

    def class_names(self, column: str) -> list[str]:
        """The class values of a multiclass label column, by class id."""
        if column not in self.classes:
            raise ValueError(f"column must be a multiclass label column {list(self.classes)}, "
                             f"got {column!r}")
        return [str(c) for c in self.classes[column]]

    # -- saving --------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A JSON-friendly copy."""
        return {"categorical": {c: [_plain(v) for v in vocab]
                                for c, vocab in self.categorical.items()},
                "numeric": {c: list(ms) for c, ms in self.numeric.items()},
                "text": {c: v.to_dict() for c, v in self.text.items()},
                "labels": dict(self.labels),
                "classes": {c: [_plain(v) for v in values] for c, values in self.classes.items()}}

    @classmethod
    def from_dict(cls, config: Mapping) -> FrameEncoder:
        return cls({c: list(v) for c, v in config["categorical"].items()},
                   {c: (float(m), float(s)) for c, (m, s) in config["numeric"].items()},
                   {c: TokenVocabulary.from_dict(v) for c, v in config["text"].items()},
                   dict(config["labels"]),
                   {c: list(v) for c, v in config["classes"].items()})


def encode_frame(frame: pd.DataFrame, *, categorical: Sequence[str] = (),
                 numeric: Sequence[str] = (), text: Sequence[str] = (),
                 labels: Mapping[str, str] | None = None
                 ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], FrameEncoder]:
    """Learn the encoding on a training ``frame`` and return ``(x, y, encoder)``.

    Args:
        frame: one row per example.
        categorical: columns of categories (strings or integers), embedded by the model.
        numeric: columns of numbers, standardised.
        text: columns of short texts, as bags of words.
        labels: ``{column: kind}``, kind one of ``mtl_kit.tasks.KINDS``.

    ``x`` and ``y`` go straight into ``fit``; ``encoder.features`` and ``encoder.tasks`` into a
    builder, e.g. ``build_hard_sharing(encoder.tasks, encoder.features)``; ``encoder.encode``
    encodes the validation and test frames.
    """
    _check_frame(frame)
    labels = {} if labels is None else labels
    if not isinstance(labels, Mapping):
        raise TypeError(f"labels must be a dict {{column: kind}} with kinds {KINDS}, "
                        f"got {type(labels).__name__}")
    roles = {"categorical": categorical, "numeric": numeric, "text": text,
             "labels": list(labels)}
    seen: dict[str, str] = {}
    for role, columns in roles.items():
        if isinstance(columns, str):
            raise TypeError(f"{role} must be a list of column names, got the string "
                            f"{columns!r}; write [{columns!r}]")
        for column in columns:
            if column in seen:
                raise ValueError(f"column {column!r} is listed twice (in {seen[column]} and "
                                 f"{role}); use each column once")
            seen[column] = role
        _check_columns(frame, list(columns), role)
    if not (categorical or numeric or text):
        raise ValueError("name at least one input column in categorical, numeric or text")
    for column, kind in labels.items():
        if kind not in KINDS:
            raise ValueError(f"labels[{column!r}] must be one of {KINDS}, got {kind!r}")
    if len(frame) == 0:
        raise ValueError("frame has no rows: the encoding is learned from the training rows")
    encoder = FrameEncoder(labels=dict(labels))
    for column in categorical:
        counts = frame[column].value_counts(dropna=True, sort=False)
        order = sorted(counts.index, key=lambda v: (-counts[v], str(v)))
        encoder.categorical[column] = [_plain(v) for v in order]
    for column in numeric:
        values = _numbers(frame[column], column)
        scale = float(values.std())
        encoder.numeric[column] = (float(values.mean()), scale if scale > 0 else 1.0)
    for column in text:
        encoder.text[column] = TokenVocabulary.fit(frame[column])
    for column, kind in labels.items():
        if kind == "multiclass":
            observed = frame[column].dropna()
            classes = sorted(observed.unique(), key=lambda v: (str(type(v)), v))
            if len(classes) < 2:
                raise ValueError(f"label column {column!r} (multiclass) must hold at least 2 "
                                 f"classes, got {[_plain(c) for c in classes]}")
            encoder.classes[column] = [_plain(c) for c in classes]
    x, y = encoder.encode(frame)
    return x, y, encoder


# -- saving a model with its encoder ---------------------------------------------------------
def save_model(model, encoder: FrameEncoder, path: str | Path) -> Path:
    """Save ``model`` to ``path`` (a ``.keras`` file) with ``encoder`` inside the archive."""
    if not isinstance(encoder, FrameEncoder):
        raise TypeError(f"encoder must be a FrameEncoder (from encode_frame), "
                        f"got {type(encoder).__name__}")
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"path must end in .keras, got {str(path)!r}")
    model.save(path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(ENCODER_ENTRY, json.dumps(encoder.to_dict(), ensure_ascii=False))
    return path


def load_model(path: str | Path):
    """``(model, encoder)`` saved by :func:`save_model`."""
    import keras

    import mtl_kit.models  # noqa: F401  (registers the course's models for deserialising)

    path = Path(path)
    with zipfile.ZipFile(path) as archive:
        if ENCODER_ENTRY not in archive.namelist():
            raise ValueError(f"{path} holds no frame encoder: save it with "
                             f"mtl_kit.frames.save_model(model, encoder, path)")
        encoder = FrameEncoder.from_dict(json.loads(archive.read(ENCODER_ENTRY)))
    return keras.saving.load_model(path), encoder


# -- checks ------------------------------------------------------------------------------------
def _check_frame(frame: object) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")


def _check_columns(frame: pd.DataFrame, columns: Sequence[str], role: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{role} column(s) {missing} not in the frame; it has columns "
                         f"{list(frame.columns)}")


def _numbers(column: pd.Series, name: str) -> np.ndarray:
    """A numeric column as float64, or a clear error naming the column and the first bad row."""
    if column.dtype == bool:
        return column.to_numpy(dtype="float64")
    converted = pd.to_numeric(column, errors="coerce")
    text = converted.isna() & column.notna()
    if text.any():
        row = text.to_numpy().argmax()
        raise ValueError(f"numeric column {name!r} must hold numbers, got text "
                         f"{column.iloc[row]!r} at row {row}")
    values = converted.to_numpy(dtype="float64")
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(bad.argmax())
        raise ValueError(f"numeric column {name!r} must hold finite numbers, got "
                         f"{values[row]} at row {row} (fill or drop missing values first)")
    return values


def _label(column: pd.Series, name: str, kind: str, classes: list | None) -> np.ndarray:
    """A label column as float32 with NaN for a missing label, checked for its kind."""
    if kind == "multiclass":
        index = pd.Index(classes)
        ids = index.get_indexer(column.astype(index.dtype, errors="ignore")).astype("float32")
        unknown = (ids < 0) & column.notna().to_numpy()
        if unknown.any():
            row = int(unknown.argmax())
            raise ValueError(f"label column {name!r} (multiclass) must hold one of the "
                             f"training classes {classes}, got {column.iloc[row]!r} at row {row}")
        ids[ids < 0] = np.nan
        return ids
    if column.dtype == bool:
        return column.to_numpy(dtype="float32")
    converted = pd.to_numeric(column, errors="coerce")
    text = converted.isna() & column.notna()
    if text.any():
        row = int(text.to_numpy().argmax())
        raise ValueError(f"label column {name!r} ({kind}) must hold numbers, got text "
                         f"{column.iloc[row]!r} at row {row}")
    values = converted.to_numpy(dtype="float64")
    if kind == "binary":
        bad = ~(np.isnan(values) | (values == 0) | (values == 1))
        allowed = "0 or 1 (or NaN for a missing label)"
    else:
        bad = np.isinf(values)
        allowed = "finite numbers (or NaN for a missing label)"
    if bad.any():
        row = int(bad.argmax())
        raise ValueError(f"label column {name!r} ({kind}) must hold {allowed}, got "
                         f"{values[row]:g} at row {row}")
    return values.astype("float32")


def _plain(value):
    """A NumPy scalar as a plain Python value (JSON-friendly)."""
    return value.item() if isinstance(value, np.generic) else value


__all__ = ["ENCODER_ENTRY", "UNKNOWN", "FrameEncoder", "encode_frame", "load_model",
           "save_model"]
