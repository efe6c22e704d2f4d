"""A tiny exercise set that needs no Keras: the template for lesson sets and the grader's tests.

Three questions on the one idea every multi-task loss needs (labels can be missing):

* ``q1`` (``demo.q1``) a number to find,
* ``q2`` (``demo.q2``) a function to write,
* ``q3`` (``demo.q3``) a choice with a reason.

Learners call ``q1.check(answer)``, ``q2.check(masked_bce)``, ``q3.check(choice, reason)``.
"""

from __future__ import annotations

import numpy as np

from mtl_kit.exercises import ChoiceQuestion, CodeQuestion, ValueQuestion, WrongAnswer

__all__ = ["LABELS", "PREDICTIONS", "q1", "q2", "q3"]

#: Purchase labels of seven impressions; NaN where the label is missing (no click yet).
LABELS = np.array([1.0, 0.0, np.nan, 1.0, np.nan, 0.0, 1.0])
#: A model's purchase probabilities for the same impressions.
PREDICTIONS = np.array([0.9, 0.2, 0.5, 0.6, 0.1, 0.4, 0.7])

q1 = ValueQuestion(
    "demo.q1",
    "Among the impressions whose purchase label is known, what fraction are purchases?",
    expected=0.6,
    wrong=[
        WrongAnswer(3 / 7, "you divided by all 7 rows; divide by the 5 rows whose label is "
                           "known"),
        WrongAnswer(3, "that is the number of purchases; the question asks for a fraction"),
        WrongAnswer(lambda a: bool(np.isnan(np.asarray(a, dtype=float)).any()),
                    "your answer is NaN: drop the missing labels first (np.nanmean)",
                    example=float("nan")),
    ],
    hints=["Missing labels are NaN: they are neither purchases nor non-purchases.",
           "np.nanmean ignores NaN values."],
    solution="answer = np.nanmean(LABELS)  # 3 purchases / 5 known labels = 0.6",
)


def _masked_bce(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean binary cross-entropy over the rows whose label is known (not NaN)."""
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.clip(np.asarray(y_pred, dtype=float), 1e-7, 1 - 1e-7)
    known = ~np.isnan(y_true)
    y, p = y_true[known], y_pred[known]
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def _unmasked(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    y_pred = np.clip(np.asarray(y_pred, dtype=float), 1e-7, 1 - 1e-7)
    y_true = np.asarray(y_true, dtype=float)
    return float(np.mean(-(y_true * np.log(y_pred) + (1 - y_true) * np.log(1 - y_pred))))


def _summed(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    y_true = np.asarray(y_true, dtype=float)
    known = ~np.isnan(y_true)
    return _masked_bce(y_true, y_pred) * int(known.sum())


def _all_rows(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    y_true = np.asarray(y_true, dtype=float)
    return _summed(y_true, y_pred) / len(y_true)


def _cases() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 20).astype(float)
    y[rng.random(20) < 0.3] = np.nan
    return [(LABELS, PREDICTIONS), (y, rng.uniform(0.05, 0.95, 20))]


q2 = CodeQuestion(
    "demo.q2",
    "Write masked_bce(y_true, y_pred): the mean binary cross-entropy over the rows whose "
    "label is known (y_true is NaN where the label is missing).",
    reference=_masked_bce,
    cases=_cases,
    name="loss",
    wrong=[
        WrongAnswer(_unmasked, "your loss is NaN: you forgot to mask the missing (NaN) labels"),
        WrongAnswer(_summed, "you used the sum over known rows; take the mean instead"),
        WrongAnswer(_all_rows, "you divided by all rows; divide by the number of known labels"),
    ],
    hints=["Build a mask: known = ~np.isnan(y_true).",
           "Keep only known rows, then average -(y log p + (1 - y) log(1 - p))."],
    solution="""
    def masked_bce(y_true, y_pred):
        known = ~np.isnan(y_true)
        y, p = y_true[known], np.clip(y_pred[known], 1e-7, 1 - 1e-7)
        return np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p)))
    """,
)

q3 = ChoiceQuestion(
    "demo.q3",
    "A shop has 40,000 click labels but only 800 purchase labels. Which task gains most "
    "from sharing a network with the other?",
    options={"a": "click", "b": "purchase", "c": "neither: sharing never helps"},
    answer="b",
    why_not={
        "a": "click already has plenty of labels; the task with few labels gains most",
        "c": "sharing helps a task whose own labels are scarce, if the tasks are related",
    },
    reason_solution="purchase has few labels and borrows what click learned",
    hints=["Which task would overfit alone?"],
)
