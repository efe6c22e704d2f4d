"""Exercises for lesson 8, task conflicts and loss balancing: PCGrad by hand, a λ from the
gradient norms, two judgements and an experiment.

* ``q1`` (``08.q1``) write PCGrad's update ``pcgrad_direction(grads)`` in ``keras.ops`` for a
  (T, P) matrix of task gradients; it is checked against ``mtl_kit.weighting.pcgrad_direction``
  on random gradients, with and without conflicts, for 2, 3 and 4 tasks;
* ``q2`` (``08.q2``) from the gradient log of a run that is not the lesson's (seed 3, 4 epochs),
  the λ_dwell that makes dwell's weighted gradient as long as click's;
* ``q3`` (``08.q3``) what CAGrad with c = 0 does next to fixed λ = 1, with a reason;
* ``q4`` (``08.q4``) what to try first when one task's gradient is 200 times the other's, with a
  reason;
* ``q5`` (``08.q5``) an experiment the lesson left out: does PCGrad change purchase on click +
  purchase, where the tasks do not conflict? Judged by the learner's own interval.

``q2`` trains one seed for four epochs (``exercise_run()``, once per kernel); ``q5``'s runs are
the learner's own (its checker trains nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from mtl_kit.exercises import ChoiceQuestion, CodeQuestion, ValueQuestion, WrongAnswer
from mtl_kit.exercises.experiment import (
    VERDICTS,
    ExperimentQuestion,
    check_two_models,
    fake_comparison,
    sign_hint,
    verdict_mistakes,
)

__all__ = ["RUN_SETTINGS", "VERDICTS", "exercise_run", "q1", "q2", "q3", "q4", "q5"]

# -- q1: PCGrad's projection -------------------------------------------------------------------


def _reference_pcgrad(grads):
    """The library's PCGrad direction (visiting the other tasks in order 0, 1, …)."""
    from keras import ops

    from mtl_kit.weighting import pcgrad_direction

    return ops.convert_to_numpy(pcgrad_direction(np.asarray(grads, dtype="float32"), step=0))


def _pcgrad_numpy(grads, *, always: bool = False, in_place: bool = False,
                  squared: bool = True, mean: bool = False):
    """PCGrad in NumPy, and the typical mistakes as switches."""
    grads = np.asarray(grads, dtype="float64")
    projected = [g.copy() for g in grads]
    for i in range(len(grads)):
        g = projected[i]
        for j in range(len(grads)):
            if j == i:
                continue
            other = projected[j] if in_place else grads[j]
            dot = float(g @ other)
            if dot < 0 or always:
                size = other @ other if squared else np.sqrt(other @ other)
                g = g - dot / size * other
        projected[i] = g
    total = np.sum(projected, axis=0)
    return total / len(grads) if mean else total


def _pcgrad_cases() -> list[tuple[np.ndarray]]:
    rng = np.random.default_rng(8)
    conflicting = np.array([[1.0, 2.0, -0.5, 0.3], [-1.5, -0.5, 1.0, 0.2]])   # g_0 · g_1 < 0
    agreeing = np.array([[1.0, 0.5, 0.2], [0.8, 1.0, -0.1]])                  # g_0 · g_1 > 0
    cases = [conflicting, agreeing]
    for n_tasks, size in ((3, 6), (4, 5), (3, 8)):
        cases.append(rng.normal(size=(n_tasks, size)))
    return [(case.astype("float32"),) for case in cases]


q1 = CodeQuestion(
    "08.q1",
    "Write pcgrad_direction(grads) with keras.ops: grads is a (T, P) matrix, one task's gradient "
    "per row. For each task i, start from g_i and, for every other task j in order j = 0, 1, …, "
    "T−1, if g_i' · g_j < 0 replace g_i' by g_i' − (g_i' · g_j / ‖g_j‖²) g_j (always project "
    "onto the ORIGINAL g_j). Return the update d = Σ_i g_i', shape (P,).",
    reference=_reference_pcgrad,
    cases=_pcgrad_cases,
    name="pcgrad_direction",
    rtol=1e-3,
    atol=1e-5,
    wrong=[
        WrongAnswer(lambda grads: _pcgrad_numpy(grads, always=True),
                    "you projected whenever j ≠ i; PCGrad only projects when the two gradients "
                    "conflict, g_i' · g_j < 0 (then the update keeps what the tasks agree on)"),
        WrongAnswer(lambda grads: _pcgrad_numpy(grads, in_place=True),
                    "you projected onto gradients that were already projected; project each g_i "
                    "onto the ORIGINAL g_j (keep the input matrix unchanged and build the new "
                    "rows apart)"),
        WrongAnswer(lambda grads: _pcgrad_numpy(grads, squared=False),
                    "divide by ‖g_j‖², not ‖g_j‖: the component of g_i' along g_j is "
                    "(g_i' · g_j / ‖g_j‖²) g_j"),
        WrongAnswer(lambda grads: _pcgrad_numpy(grads, mean=True),
                    "PCGrad's update is the sum of the projected gradients, Σ_i g_i', not their "
                    "mean"),
    ],
    hints=["With keras.ops: ops.sum(a * b) is a · b, and a list of the T projected rows can be "
           "stacked with ops.stack(rows) and summed with ops.sum(..., axis=0).",
           "Loop in Python: for i in range(T): g = grads[i]; for j in range(T): skip j == i; "
           "dot = ops.sum(g * grads[j]); g = ops.where(dot < 0, g - dot / ops.sum(grads[j] ** 2) "
           "* grads[j], g)."],
    solution="""
    from keras import ops

    def pcgrad_direction(grads):
        grads = ops.convert_to_tensor(grads, dtype="float32")
        n_tasks = grads.shape[0]
        rows = []
        for i in range(n_tasks):
            g = grads[i]
            for j in range(n_tasks):
                if j == i:
                    continue
                dot = ops.sum(g * grads[j])                 # g_i' · g_j (g_j: the original)
                projected = g - dot / ops.sum(grads[j] ** 2) * grads[j]
                g = ops.where(dot < 0, projected, g)       # only when they conflict
            rows.append(g)
        return ops.sum(ops.stack(rows), axis=0)          # d = Σ_i g_i'
    """,
)

# -- q2: a λ from the gradient norms -----------------------------------------------------------

#: The exercise's run: fixed λ = 1 on click and dwell, one seed that is not the lesson's, a
#: shorter budget, task gradients logged.
RUN_SETTINGS: dict[str, Any] = {"seeds": [3], "epochs": 4}


@cache
def exercise_run():
    """The exercise's run (``mtl_kit.balancing.StrategyRun``, trained once per kernel):
    hard sharing on click and dwell, fixed λ = 1, seed 3, 4 epochs, the lesson's batch size and
    learning rate, task gradients logged."""
    import mtl_kit  # noqa: F401  (selects the backend before Keras is imported)
    from mtl_kit.balancing import StrategyLab
    from mtl_kit.course import course_data

    lab = StrategyLab(course_data(("click", "dwell")), diagnostics=["fixed"], validate=False,
                      **RUN_SETTINGS)
    return lab.train("fixed")


@dataclass(frozen=True)
class _ComputedWrongAnswer(WrongAnswer):
    """A wrong answer whose example depends on the trained run (computed when replayed)."""

    @property
    def submitted(self) -> Any:
        return self.example()


def _ratio(top: str, bottom: str, epoch: int = -1) -> float:
    """``top / bottom`` of the exercise run's log at ``epoch`` (default: the last)."""
    history = exercise_run().histories[0]
    return float(history[top][epoch]) / float(history[bottom][epoch])


def _near(answer: Any, value: float) -> bool:
    return abs(float(answer) / value - 1.0) < 1e-3


q2 = ValueQuestion(
    "08.q2",
    "In the exercise's run (fixed λ = 1, seed 3, 4 epochs), which λ_dwell would make dwell's "
    "weighted gradient λ_dwell ‖g_dwell‖ as long as click's ‖g_click‖ (λ_click = 1) at the LAST "
    "epoch? Use the logged gradient norms.",
    expected=lambda: _ratio("click_grad_norm", "dwell_grad_norm"),
    rtol=1e-3,
    wrong=[
        _ComputedWrongAnswer(
            lambda a: _near(a, _ratio("dwell_grad_norm", "click_grad_norm")),
            "that is ‖g_dwell‖ / ‖g_click‖, the factor by which dwell's gradient is longer; the "
            "λ that evens them out is its inverse",
            example=lambda: _ratio("dwell_grad_norm", "click_grad_norm")),
        _ComputedWrongAnswer(
            lambda a: _near(a, _ratio("click_loss", "dwell_loss")),
            "that is the ratio of the losses; a shared layer feels the gradients, so use "
            "<task>_grad_norm, not <task>_loss",
            example=lambda: _ratio("click_loss", "dwell_loss")),
        _ComputedWrongAnswer(
            lambda a: _near(a, _ratio("click_grad_norm", "dwell_grad_norm", epoch=0)),
            "that is the first epoch; the question asks for the last one (history[key][-1])",
            example=lambda: _ratio("click_grad_norm", "dwell_grad_norm", epoch=0)),
    ],
    hints=["history = run.histories[0] is the seed's log; history['click_grad_norm'] has one "
           "value per epoch.",
           "λ_dwell ‖g_dwell‖ = ‖g_click‖ gives λ_dwell = ‖g_click‖ / ‖g_dwell‖."],
    solution="""
    history = run.histories[0]
    answer = history["click_grad_norm"][-1] / history["dwell_grad_norm"][-1]
    """,
)


# -- q3: CAGrad with c = 0 -----------------------------------------------------------------------

q3 = ChoiceQuestion(
    "08.q3",
    "You train CAGrad with c = 0 on click and dwell, with the lesson's budget. Compared with fixed "
    "λ = 1, what do you expect?",
    options={
        "a": "the same as MGDA: dwell gets almost no weight, so click gains and dwell loses",
        "b": "almost exactly what fixed λ = 1 does, on both click and dwell, within the seeds' "
             "noise",
        "c": "clearly better than fixed λ = 1 on click, because CAGrad always lifts the task that "
             "gains least",
        "d": "nothing: c = 0 is not allowed, CAGrad needs a positive radius",
    },
    answer="b",
    why_not={
        "a": "MGDA is the other end: a large c moves CAGrad towards MGDA; c = 0 leaves the plain "
             "mean of the gradients",
        "c": "the lift towards the worst task has size c ‖g_0‖: with c = 0 there is none",
        "d": "c >= 0 is allowed (mtl_kit.weighting.CAGrad checks it); c = 0 is the mean gradient",
    },
    min_reason_words=5,
    reason_keywords=[("mean", "average", "half", "½", "1/2", "0.5"),
                     ("adam", "scale", "factor", "invarian", "normalis", "normaliz")],
    reason_hint="right choice, but say why: name what the step is at c = 0 (the mean gradient) "
                "and why its factor ½ does not matter (Adam is scale-invariant)",
    reason_solution="with c = 0 the step is the mean gradient, half the sum that fixed λ = 1 "
                    "takes, and Adam ignores that common factor",
    hints=["Read CAGrad's formula with c = 0: d = (g_0 + 0) / (1 + 0), g_0 = the mean gradient.",
           "Lesson 8 multiplied every λ by 10: what did Adam do with that?"],
)

# -- q4: what to try first -----------------------------------------------------------------------

q4 = ChoiceQuestion(
    "08.q4",
    "A new pair of tasks a and b shares a network trained with Adam. The gradient log shows "
    "‖g_a‖ ≈ 200 ‖g_b‖ on the shared layers and a cosine around −0.02, and task b is worse than "
    "its single-task model. What do you try first?",
    options={
        "a": "MGDA, because it finds a step that lowers every task's loss, whatever the "
             "gradients' sizes",
        "b": "multiply both λ by 100, so that the optimiser takes larger steps for both tasks",
        "c": "DWA with a low temperature, so that the weights react strongly to the lagging task b",
        "d": "rescale: set λ_a / λ_b near 1/200 (or rescale task a's target), tuned on validation",
    },
    answer="d",
    why_not={
        "a": "MGDA leans towards the shorter gradient: it may starve task a (lesson 8: it cost "
             "dwell clearly), and it costs one backward pass per task; try the cheap fix first",
        "b": "under Adam multiplying every λ by the same number changes nothing we can detect; "
             "only their ratio matters",
        "c": "DWA weighs how fast the losses fall, not how large they are: its weights stay near "
             "1 when the scales differ (lesson 8: it behaved like fixed λ = 1)",
    },
    min_reason_words=5,
    reason_keywords=[("scale", "ratio", "imbalanc", "dominat", "longer", "larger", "bigger",
                      "norm", "200")],
    reason_hint="right choice, but say why: name the imbalance of the gradients' scales that "
                "lets task a steer the shared layers",
    reason_solution="task a's gradient is 200 times longer, so it dominates the shared layers; "
                    "balancing the scale is the cheapest fix and a small negative cosine then "
                    "stops mattering",
    hints=["Which matters more here: the cosine of −0.02 or the factor 200? Recall the "
           "threshold −(λ_b ‖g_b‖) / (λ_a ‖g_a‖).",
           "Lesson 8's table: which strategy was the one to beat on click and dwell?"],
)

# -- q5: an experiment, judged by its interval --------------------------------------------------

Q5_SEEDS = 5
#: The names the experiment's runs must have in ``comparison``.
Q5_MODEL, Q5_REFERENCE = "PCGrad", "fixed λ"

_WRONG_SETUP = (f"compare exactly two runs named {Q5_MODEL!r} and {Q5_REFERENCE!r} (fixed λ = 1), "
                f"with reference={Q5_REFERENCE!r}: comparison({{{Q5_MODEL!r}: "
                f"lab.train('pcgrad'), {Q5_REFERENCE!r}: lab.train('fixed')}}, data, 'val', "
                f"reference={Q5_REFERENCE!r})")
_WRONG_SIGN = sign_hint(Q5_MODEL, Q5_REFERENCE)


def _check_experiment(result: Any, verdict: Any) -> str | None:
    """Purchase's verdict for the two models (``check_two_models``)."""
    return check_two_models(
        result, verdict, model=Q5_MODEL, reference=Q5_REFERENCE, n_seeds=Q5_SEEDS,
        setup_hint=_WRONG_SETUP, sign_hint=_WRONG_SIGN,
        task_hint="use the course's pair: course_data(('click', 'purchase'))",
        also_allowed=("single-task",))


def _fake_result(**settings: Any):
    """A synthetic Comparison shaped like the experiment's (for tests; trains nothing)."""
    return fake_comparison(**{"seed": 8, "names": (Q5_MODEL, Q5_REFERENCE), **settings})


q5 = ExperimentQuestion(
    "08.q5",
    "Does a gradient strategy help where the tasks do not conflict? On the course's pair, click "
    "and purchase (their gradients are about equally long and their cosine is positive), train "
    f"PCGrad ({Q5_MODEL!r}) and fixed λ = 1 ({Q5_REFERENCE!r}, the reference) with a "
    f"StrategyLab's defaults ({Q5_SEEDS} seeds), score them on the validation split with "
    "mtl_kit.balancing.comparison, and read purchase's verdict off its interval: 'better', "
    "'worse' or 'no difference we can detect'.",
    verdict_prompt="read purchase's row of result.paired()",
    checker=_check_experiment,
    correct_example=lambda: (_fake_result(), VERDICTS[2]),
    wrong=[
        *verdict_mistakes(_fake_result, {"purchase_shift": 2.0}, _WRONG_SIGN, Q5_SEEDS),
        WrongAnswer(lambda: (_fake_result(names=("pcgrad", "fixed")), VERDICTS[2]),
                    _WRONG_SETUP),
    ],
    hints=["lab = StrategyLab(data) with data = course_data(('click', 'purchase')); "
           "lab.train('pcgrad') and lab.train('fixed') each train 5 seeds.",
           f"result = comparison({{{Q5_MODEL!r}: pcgrad_run, {Q5_REFERENCE!r}: fixed_run}}, data, "
           f"'val', reference={Q5_REFERENCE!r}); then print(result.difference({Q5_MODEL!r}, "
           "'purchase')): does its interval [low, high] contain 0?"],
    solution=f"""
    data = course_data(("click", "purchase"))
    lab = StrategyLab(data)
    runs = {{{Q5_MODEL!r}: lab.train("pcgrad"), {Q5_REFERENCE!r}: lab.train("fixed")}}
    result = comparison(runs, data, "val", reference={Q5_REFERENCE!r})
    print(result.describe({Q5_MODEL!r}, "purchase"))
    verdict = ...  # the verdict in that sentence: the interval decides it
    """,
)
