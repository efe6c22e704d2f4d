"""Argument checks shared by the whole package.

Every public function checks its arguments *before* any Keras or NumPy work and raises an error
that names the argument, what it got and what is allowed::

    >>> check_int("epochs", True, minimum=1)
    Traceback (most recent call last):
    TypeError: epochs must be an int >= 1, got True

This module imports nothing from ``mtl_kit``: it is the bottom of the package's import order
(validation → inputs → tasks → weighting → training plumbing → models → baselines → metrics →
plots → widgets; ``tests/test_imports.py`` lists every module's layer and checks the order).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np


def _range_text(minimum: float | None, maximum: float | None, *, low_open: bool = False,
                high_open: bool = False) -> str:
    low = None if minimum is None else f"{'>' if low_open else '>='} {minimum:g}"
    high = None if maximum is None else f"{'<' if high_open else '<='} {maximum:g}"
    if low and high:
        return f" {low} and {high}"
    return f" {low or high}" if (low or high) else ""


def check_int(argument: str, value: Any, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """``value`` as an int in [minimum, maximum]; bools and floats are refused (TypeError)."""
    allowed = _range_text(minimum, maximum)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{argument} must be an int{allowed}, got {value!r}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{argument} must be an int{allowed}, got {value}")
    return int(value)


def check_number(argument: str, value: Any, minimum: float | None = None,
                 maximum: float | None = None, *, low_open: bool = False,
                 high_open: bool = False) -> float:
    """``value`` as a finite float in the range (``low_open``/``high_open`` exclude the ends).

    NaN, ±inf, bools and non-numbers are refused with the allowed range in the message.
    """
    allowed = _range_text(minimum, maximum, low_open=low_open, high_open=high_open)
    if isinstance(value, (bool, np.bool_, str, bytes)):
        raise TypeError(f"{argument} must be a finite number{allowed}, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{argument} must be a finite number{allowed}, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{argument} must be a finite number{allowed}, got {value!r}")
    too_low = minimum is not None and (number <= minimum if low_open else number < minimum)
    too_high = maximum is not None and (number >= maximum if high_open else number > maximum)
    if too_low or too_high:
        raise ValueError(f"{argument} must be a finite number{allowed}, got {value!r}")
    return number


def check_choice(argument: str, value: Any, choices: Iterable[Any]) -> Any:
    """``value`` if it is one of ``choices``, else a ValueError listing them."""
    choices = tuple(choices)
    try:
        known = value in choices
    except TypeError:  # unhashable or incomparable
        known = False
    if not known:
        raise ValueError(f"{argument} must be one of {choices}, got {value!r}")
    return value


def check_flag(argument: str, value: Any) -> bool:
    """``value`` as a bool; anything but True / False (e.g. 1, "yes") is a TypeError."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{argument} must be True or False, got {value!r}")
    return bool(value)


def check_units(argument: str, units: Any, allow_empty: bool = True) -> tuple[int, ...]:
    """Layer widths as a tuple of ints >= 1 (one int is one layer; ``()`` only if allowed)."""
    if isinstance(units, (int, np.integer)) and not isinstance(units, (bool, np.bool_)):
        units = (units,)
    try:
        units = tuple(units)
    except TypeError:
        raise TypeError(f"{argument} must be a tuple of layer widths >= 1, "
                        f"got {units!r}") from None
    if not allow_empty and not units:
        raise ValueError(f"{argument} must list at least one layer width, got ()")
    for u in units:
        if isinstance(u, (bool, np.bool_)) or not isinstance(u, (int, np.integer)) or u < 1:
            raise ValueError(f"{argument} must hold layer widths >= 1, got {units!r}")
    return tuple(int(u) for u in units)


__all__ = ["check_choice", "check_flag", "check_int", "check_number", "check_units"]
