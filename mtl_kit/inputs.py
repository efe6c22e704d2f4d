"""What a model accepts as inputs and labels, checked and converted before any Keras work.

Inputs ``x`` are either a float matrix (n, d) (a model built with ``features=d``) or a dict

    x = {c: ids (n,) for each categorical feature c, "numeric": (n, k) floats}

where feature c with vocabulary size V_c holds whole-number ids 0 … V_c − 1 (an embedding table
has exactly V_c rows: any other id has no row, and on JAX its lookup silently returns NaN) and
every numeric value is finite. Labels ``y`` are ``{task: (n,) array}`` with NaN for a missing
label and, for the observed ones,

* binary: 0 or 1;  multiclass: a class id 0 … k − 1;  regression: a finite number.

Every check is one vectorised NumPy pass per column (about 2 ms for the course's 170,000 rows),
so a mistake is reported, naming the argument, the column and the allowed values, before any
training starts. This module imports nothing from ``mtl_kit`` above ``mtl_kit.validation``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np

#: The key of the numeric matrix in a dict input.
NUMERIC_KEY = "numeric"
#: ``fit``/``predict_tasks`` pack the categorical ids into one (n, C) int32 matrix under this
#: key: one array to slice per batch instead of C (a plain dict of ids works too).
IDS_KEY = "categorical_ids"


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------
def prepare_inputs(features, x, argument: str = "x"):
    """Check x against the feature description and return it as int32 ids / float32 arrays.

    ``features`` is a feature config (``mtl_kit.models.layers.as_feature_config``): an int d,
    or ``{"categorical": {name: vocab}, "numeric": [names]}``.

    Returns ``(x, n_rows)``: for dict inputs ``{"categorical_ids": (n, C) int32 in the
    config's order, "numeric": (n, k) float32}``; keys the model does not use are dropped.
    Raises TypeError/ValueError naming ``argument``, the column and the allowed values for
    missing inputs, wrong shapes, ids outside 0..vocab-1, non-integer ids and NaN/±inf numbers.
    """
    if isinstance(features, int):
        if isinstance(x, Mapping):
            raise TypeError(f"{argument} must be a float matrix (n, {features}), got a dict")
        array = _as_float(x, argument, f"a float matrix (n, {features})")
        if array.ndim != 2 or array.shape[1] != features:
            raise ValueError(f"{argument} must have shape (n, {features}), got {array.shape}")
        _check_finite(array, argument)
        return array, array.shape[0]
    if not isinstance(x, Mapping):
        raise TypeError(
            f"{argument} must be a dict of arrays with keys {list(features['categorical'])}"
            f"{' + numeric' if features['numeric'] else ''} (ShopData.to_arrays), "
            f"got {type(x).__name__}"
        )
    categorical = dict(features["categorical"])
    vocabularies = np.array(list(categorical.values()), dtype="int64")
    model_inputs = list(categorical) + ([NUMERIC_KEY] if features["numeric"] else [])
    packed = IDS_KEY in x  # already prepared (Keras' fit calls evaluate on validation data)
    needed = model_inputs[len(categorical):] if packed else model_inputs
    missing = [k for k in needed if k not in x]
    if missing:
        raise ValueError(f"{argument} lacks the input(s) {missing}; the model needs "
                         f"{model_inputs}")
    prepared, n_rows = {}, None
    if packed:
        ids = np.asarray(x[IDS_KEY])
        if ids.ndim != 2 or ids.shape[1] != len(categorical):
            raise ValueError(f"{argument}[{IDS_KEY!r}] must have shape (n, {len(categorical)}), "
                             f"got {ids.shape}")
        labels = [f"{argument}[{IDS_KEY!r}] column {c} ({name!r})"
                  for c, name in enumerate(categorical)]
        prepared[IDS_KEY] = _checked_ids(ids, labels, vocabularies)
        n_rows = ids.shape[0]
    for key in needed:
        if key == NUMERIC_KEY:
            width = len(features["numeric"])
            array = _as_float(x[key], f"{argument}[{key!r}]", f"a float matrix (n, {width})")
            if array.ndim != 2 or array.shape[1] != width:
                raise ValueError(f"{argument}[{key!r}] must have shape (n, {width}), "
                                 f"got {array.shape}")
        else:
            array = np.asarray(x[key])
            if array.ndim == 2 and array.shape[1] == 1:
                array = array[:, 0]
            if array.ndim != 1:
                raise ValueError(f"{argument}[{key!r}] must have shape (n,), got {array.shape}")
        if n_rows is None:
            n_rows = array.shape[0]
        elif array.shape[0] != n_rows:
            raise ValueError(f"{argument}[{key!r}] has {array.shape[0]} rows, "
                             f"other inputs have {n_rows}")
        if key == NUMERIC_KEY:
            _check_finite(array, f"{argument}[{key!r}]", features["numeric"])
        else:
            array = _checked_ids(array, [f"{argument}[{key!r}]"], np.array([categorical[key]]))
        prepared[key] = array
    if categorical and not packed:  # one (n, C) matrix is sliced faster per batch than C vectors
        prepared[IDS_KEY] = np.stack([prepared.pop(key) for key in categorical], axis=1)
    return prepared, n_rows


def _as_float(values, argument: str, expected: str) -> np.ndarray:
    """``values`` as a float32 array, or a TypeError naming what was expected."""
    if isinstance(values, (str, bytes, Mapping)) or values is None:
        raise TypeError(f"{argument} must be {expected}, got {type(values).__name__}")
    array = np.asarray(values)
    if array.dtype.kind == "c":
        raise TypeError(f"{argument} must be {expected} of real numbers, got complex numbers")
    if array.dtype.kind in "USV":  # text (e.g. a column read from a CSV as strings)
        raise TypeError(f"{argument} must be {expected} of numbers, got an array of "
                        f"dtype {array.dtype}")
    if array.dtype.kind not in "biuf":
        try:
            array = array.astype("float64")
        except (TypeError, ValueError):
            raise TypeError(f"{argument} must be {expected} of numbers, got an array of "
                            f"dtype {array.dtype}") from None
    with np.errstate(over="ignore"):  # values beyond float32 become ±inf: reported as such
        return array.astype("float32", copy=False)


def _check_finite(array: np.ndarray, argument: str,
                  column_names: Sequence[str] | None = None) -> None:
    """ValueError naming the first column and row with NaN or ±inf (float32: also overflow)."""
    if array.size == 0 or np.isfinite(array).all():
        return
    row, column = (int(i) for i in np.argwhere(~np.isfinite(array))[0])
    name = f" ({column_names[column]!r})" if column_names is not None else ""
    raise ValueError(f"{argument} must hold finite numbers (no NaN or ±inf): column {column}"
                     f"{name} is {array[row, column]} at row {row}")


def _checked_ids(values: np.ndarray, labels: Sequence[str],
                 vocabularies: np.ndarray) -> np.ndarray:
    """Ids (n,) or (n, C) as int32 after checking column c holds whole numbers 0..V_c - 1.

    ``labels[c]`` names column c in the messages; ``vocabularies[c]`` is V_c.
    """
    def allowed(c: int) -> str:
        return (f"ids 0..{vocabularies[c] - 1} (the feature's vocabulary size is "
                f"{vocabularies[c]})")

    kind = values.dtype.kind
    if kind == "O":
        try:
            values = values.astype("float64")
        except (TypeError, ValueError):
            raise TypeError(f"{labels[0]} must hold integer {allowed(0)}, got an array of "
                            f"dtype object") from None
        kind = "f"
    if kind not in "biuf":
        raise TypeError(f"{labels[0]} must hold integer {allowed(0)}, got an array of "
                        f"dtype {values.dtype}")
    if values.size == 0:
        return values.astype("int32")
    matrix = values.reshape(values.shape[0], -1)  # a view: (n, 1) for one feature
    if kind == "f":
        not_whole = matrix != np.floor(matrix)  # NaN too; ±inf are out of range below
        if not_whole.any():
            row, c = (int(i) for i in np.argwhere(not_whole)[0])
            raise ValueError(f"{labels[c]} must hold whole-number {allowed(c)}, got "
                             f"{matrix[row, c]} at row {row}")
    low, high = matrix.min(axis=0), matrix.max(axis=0)
    outside = (low < 0) | (high > vocabularies - 1)
    if outside.any():
        c = int(np.argmax(outside))
        column = matrix[:, c]
        row = int(np.argmax((column < 0) | (column > vocabularies[c] - 1)))
        raise ValueError(f"{labels[c]} must hold {allowed(c)}, got ids from {_number(low[c])} "
                         f"to {_number(high[c])} (the largest is {_number(high[c])}; first out "
                         f"of range: {_number(column[row])} at row {row})")
    return values.astype("int32", copy=False)


def _number(value) -> str:
    value = value.item() if isinstance(value, np.generic) else value
    return f"{value:g}" if isinstance(value, float) else str(value)


# --------------------------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------------------------
def prepare_labels(tasks, y, n_rows: int, argument: str = "y") -> dict[str, np.ndarray]:
    """Check y (dict task -> labels, or a list in task order) and return float32 (n,) arrays.

    NaN marks a missing label. Tasks in a dict y that the model does not have are dropped.
    Observed labels must be 0 or 1 (binary), a class id 0..k-1 (multiclass) or finite
    (regression); otherwise a ValueError names ``argument[task]``, the value and its row.
    """
    names = [t.name for t in tasks]
    if isinstance(y, Mapping):
        missing = [n for n in names if n not in y]
        if missing:
            raise ValueError(f"{argument} lacks labels for task(s) {missing}; the model's tasks "
                             f"are {names}")
        columns = {n: y[n] for n in names}
    elif isinstance(y, (list, tuple)):
        if len(y) != len(names):
            raise ValueError(f"{argument} as a list must have one label array per task "
                             f"{names}, got {len(y)}")
        columns = dict(zip(names, y, strict=True))
    elif len(names) == 1:
        columns = {names[0]: y}
    else:
        raise TypeError(f"{argument} must be a dict {{task: labels}} for the tasks {names}, "
                        f"got {type(y).__name__}")
    prepared = {}
    for task in tasks:
        label = f"{argument}[{task.name!r}]"
        array = _as_float(columns[task.name], label, f"labels ({n_rows},)")
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.ndim != 1 or array.shape[0] != n_rows:
            raise ValueError(f"{label} must have shape ({n_rows},) like the inputs, "
                             f"got {array.shape}")
        _check_label_values(array, label, task)
        prepared[task.name] = array
    return prepared


def _check_label_values(array: np.ndarray, label: str, task) -> None:
    if task.kind == "binary":
        bad = ~((array == 0.0) | (array == 1.0) | np.isnan(array))
        allowed = "0 or 1 (or NaN for a missing label)"
    elif task.kind == "multiclass":
        bad = ((array < 0) | (array > task.n_classes - 1) | (array != np.floor(array))) \
            & ~np.isnan(array)
        allowed = f"class ids 0..{task.n_classes - 1} (or NaN for a missing label)"
    else:
        bad = np.isinf(array)
        allowed = "finite numbers (or NaN for a missing label)"
    if bad.any():
        row = int(np.argmax(bad))
        raise ValueError(f"{label} must hold {allowed}, got {_number(array[row])} at row {row}")


def warn_unlabelled_tasks(labels: Mapping[str, np.ndarray], argument: str = "y") -> list[str]:
    """Warn (UserWarning) for each task without a single observed label; returns their names.

    Such a task's masked loss is 0 on every batch (L_t = Σ_i m_i ℓ_i / max(1, Σ_i m_i) with
    every m_i = 0), so its head gets no gradient: almost always a data mistake.
    """
    empty = [name for name, values in labels.items() if np.isnan(values).all()]
    for name in empty:
        warnings.warn(f"task {name!r} has no labels in {argument}: its loss is 0 and its head "
                      f"will not train", UserWarning, stacklevel=3)
    return empty


__all__ = [
    "IDS_KEY",
    "NUMERIC_KEY",
    "prepare_inputs",
    "prepare_labels",
    "warn_unlabelled_tasks",
]
