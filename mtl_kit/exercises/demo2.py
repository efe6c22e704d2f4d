"""A second tiny exercise set (lesson ``demo2``), so the grader's workshop tests need no Keras.

* ``q1`` (``demo2.q1``) the number of known labels in :data:`mtl_kit.exercises.demo.LABELS`;
* ``q2`` (``demo2.q2``) which task has the fewer labels, with a reason naming the idea.
"""

from __future__ import annotations

from mtl_kit.exercises import ChoiceQuestion, ValueQuestion, WrongAnswer

__all__ = ["q1", "q2"]

q1 = ValueQuestion(
    "demo2.q1",
    "How many of the seven purchase labels in LABELS are known (not NaN)?",
    expected=5,
    wrong=[WrongAnswer(7, "NaN marks a missing label: count only the known ones"),
           WrongAnswer(3, "that is the number of purchases; count every known label")],
    hints=["np.isnan(LABELS) is True where a label is missing."],
    solution="answer = int((~np.isnan(LABELS)).sum())  # 5",
)

q2 = ChoiceQuestion(
    "demo2.q2",
    "In a shop, which task has fewer labels of its own?",
    options={"a": "purchase", "b": "click"},
    answer="a",
    why_not={"b": "every impression says whether it was clicked; purchases need a click first"},
    reason_keywords=[("click", "funnel", "rare", "few")],
    reason_solution="a purchase needs a click first, so its labels are rare",
    reason_hint="say why purchases are rare: what has to happen before one",
)
