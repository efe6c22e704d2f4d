"""Comparing a learner's numbers with the expected ones, with readable reasons.

Every function here is deterministic: the same inputs give the same message, so notebook
outputs and the grader's view of them never change between runs.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["difference", "format_value", "same", "to_numpy"]


def to_numpy(value: Any) -> Any:
    """Turn tensors (any Keras backend), scalars and nested lists into NumPy arrays.

    Dicts, tuples and lists of tensors keep their structure; other objects pass through.
    """
    if isinstance(value, (str, bytes)):
        return value
    if isinstance(value, Mapping):
        return {k: to_numpy(v) for k, v in value.items()}
    if isinstance(value, (np.ndarray, np.generic, bool, int, float)):
        return np.asarray(value)
    if isinstance(value, (list, tuple)):
        try:
            array = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            return type(value)(to_numpy(v) for v in value)
        return array
    keras = sys.modules.get("keras")
    if keras is not None:
        try:
            return np.asarray(keras.ops.convert_to_numpy(value))
        except Exception:  # not a tensor Keras knows: fall through to NumPy
            pass
    try:
        array = np.asarray(value)
    except Exception:  # an object NumPy refuses: compare it as it is
        return value
    return value if array.dtype == object else array


def format_value(value: Any, digits: int = 4) -> str:
    """A short, stable text for a number, array or dict (``digits`` significant digits)."""
    value = to_numpy(value)
    if isinstance(value, Mapping):
        inner = ", ".join(f"{k!r}: {format_value(v, digits)}" for k, v in value.items())
        return "{" + inner + "}"
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        if value.ndim == 0:
            number = value.item()
            return repr(number) if isinstance(number, (bool, int)) else f"{number:.{digits}g}"
        if value.size > 6:
            return f"array of shape {value.shape}"
        return np.array2string(value, precision=digits, separator=", ")
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _numeric(value: Any) -> np.ndarray | None:
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return value.astype(float)
    return None


def difference(got: Any, want: Any, *, rtol: float, atol: float, exact_ints: bool = False,
               what: str = "your answer") -> str | None:
    """Why ``got`` differs from ``want``, or ``None`` when they agree within tolerance.

    Numbers and arrays agree when ``|got - want| <= atol + rtol * |want|`` elementwise and
    their shapes match (a single number may be given as shape ``()`` or ``(1,)``). Dicts
    agree when they have the same keys and every value agrees. With ``exact_ints``, an
    integer ``want`` must be matched exactly.
    """
    got, want = to_numpy(got), to_numpy(want)
    if isinstance(want, Mapping):
        if not isinstance(got, Mapping):
            return f"{what} should be a dict with keys {sorted(want)}, got {type(got).__name__}"
        if set(got) != set(want):
            return f"{what} should have the keys {sorted(want)}, got {sorted(got)}"
        for key in want:
            reason = difference(got[key], want[key], rtol=rtol, atol=atol,
                                exact_ints=exact_ints, what=f"{what}[{key!r}]")
            if reason:
                return reason
        return None
    if isinstance(want, (list, tuple)):
        if not isinstance(got, (list, tuple)) or len(got) != len(want):
            return f"{what} should be a sequence of {len(want)} items"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            reason = difference(g, w, rtol=rtol, atol=atol, exact_ints=exact_ints,
                                what=f"{what}[{i}]")
            if reason:
                return reason
        return None
    w = _numeric(want)
    if w is None:
        return None if got == want else f"{what} is {format_value(got)}, not the expected value"
    g = _numeric(got)
    if g is None:
        return f"{what} should be a number, got {type(got).__name__} {format_value(got)}"
    if g.shape != w.shape and not (g.size == w.size == 1):
        if w.size == 1:
            return f"{what} should be a single number, got an array of shape {g.shape}"
        return f"{what} should have shape {w.shape}, got {g.shape}"
    g, w = g.reshape(w.shape), w
    if np.isnan(g).any() and not np.isnan(w).any():
        return f"{what} contains NaN"
    if exact_ints and np.asarray(want).dtype.kind in "biu":
        ok = bool(np.array_equal(g, w))
    else:
        ok = bool(np.allclose(g, w, rtol=rtol, atol=atol, equal_nan=True))
    return None if ok else f"{what} is {format_value(got)}, not the expected value"


def same(got: Any, want: Any, *, rtol: float, atol: float) -> bool:
    """True when :func:`difference` finds nothing (NaN matches NaN here)."""
    got, want = to_numpy(got), to_numpy(want)
    w, g = _numeric(want), _numeric(got)
    if w is not None and g is not None:
        if g.size != w.size:
            return False
        return bool(np.allclose(g.reshape(w.shape), w, rtol=rtol, atol=atol, equal_nan=True))
    return difference(got, want, rtol=rtol, atol=atol) is None

