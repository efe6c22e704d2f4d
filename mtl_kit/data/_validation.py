"""Argument checks of the data generators (built on :mod:`mtl_kit.validation`).

Every public function in :mod:`mtl_kit.data` checks its arguments with these helpers *before*
any random number is drawn, and the messages name the argument and the allowed values.
Booleans are rejected where a number is expected (``True`` is an ``int`` in Python, but
``n_users=True`` is certainly a mistake); NumPy integers and floats are accepted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from mtl_kit.validation import check_int, check_number

TASKS: tuple[str, ...] = ("click", "purchase", "intent", "dwell")


def check_seed(value: object, name: str = "seed") -> int:
    """A seed is a non-negative integer (NumPy integers welcome, booleans not)."""
    return check_int(name, value, 0, 2**63 - 1)


def check_task_mapping(
    name: str,
    value: object,
    low: float,
    high: float | None,
    *,
    low_open: bool = False,
    allowed_tasks: Iterable[str] = TASKS,
) -> dict[str, float]:
    """Check a ``{task: number}`` dict (or ``None``, meaning empty) and return a plain copy."""
    allowed_tasks = tuple(allowed_tasks)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(
            f"{name} must be None or a dict {{task: number}} with tasks in {allowed_tasks}, "
            f"got {type(value).__name__}"
        )
    checked: dict[str, float] = {}
    for task, number in value.items():
        if not isinstance(task, str) or task not in allowed_tasks:
            raise ValueError(f"{name} has unknown task {task!r}; allowed tasks: {allowed_tasks}")
        checked[task] = check_number(f"{name}[{task!r}]", number, low, high, low_open=low_open)
    return checked


def check_tasks(name: str, tasks: object, allowed_tasks: Iterable[str] = TASKS) -> tuple[str, ...]:
    """Check a non-empty sequence of distinct known task names."""
    allowed_tasks = tuple(allowed_tasks)
    if isinstance(tasks, str):
        tasks = (tasks,)
    if not isinstance(tasks, (list, tuple)) or len(tasks) == 0:
        raise TypeError(f"{name} must be a non-empty tuple of task names from {allowed_tasks}")
    for task in tasks:
        if not isinstance(task, str) or task not in allowed_tasks:
            raise ValueError(f"{name} has unknown task {task!r}; allowed tasks: {allowed_tasks}")
    if len(set(tasks)) != len(tasks):
        raise ValueError(f"{name} must not repeat a task, got {tuple(tasks)}")
    return tuple(tasks)
