"""Exercises: questions with ``check()``, ``hint()`` and ``solution()``, one module per lesson.

A lesson's exercise module (e.g. ``mtl_kit/exercises/ex01.py``) is data: it creates its
questions with the kinds below and nothing else. In a notebook::

    from mtl_kit.exercises import ____
    from mtl_kit.exercises.ex01 import q1, q2, q3

    answer = ____          # the learner replaces the blank

    # CHECK: 01.q1
    q1.check(answer)       # ✓ Correct / ✗ Incorrect: ... / Not attempted yet: ...

See :mod:`mtl_kit.exercises.demo` for a complete small set and
:mod:`mtl_kit.exercises.cells` for the check-cell convention the grader relies on.
"""

from mtl_kit.exercises.cells import check_cells, marker_id
from mtl_kit.exercises.core import (
    BLANK,
    CheckError,
    IncorrectAnswer,
    NotAttempted,
    Question,
    WrongAnswer,
    ____,
    contains_blank,
    fail,
    not_attempted,
    registry,
)
from mtl_kit.exercises.kinds import ChoiceQuestion, CodeQuestion, CustomQuestion, ValueQuestion

__all__ = [
    "BLANK",
    "CheckError",
    "ChoiceQuestion",
    "CodeQuestion",
    "CustomQuestion",
    "IncorrectAnswer",
    "NotAttempted",
    "Question",
    "ValueQuestion",
    "WrongAnswer",
    "____",
    "check_cells",
    "contains_blank",
    "fail",
    "marker_id",
    "not_attempted",
    "registry",
]
