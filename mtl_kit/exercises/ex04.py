"""Exercises for lesson 4, soft parameter sharing: a penalty, a conversion, two judgements and
an experiment.

* ``q1`` (``04.q1``) write ``soft_penalty(weights, beta)``: β Σ_{i<j} ‖W_i − W_j‖², counting
  each pair of towers once, as ``mtl_kit.models.build_soft_sharing`` does;
* ``q2`` (``04.q2``) the β of ``mtl_kit`` that matches a β written for the double sum Σ_i Σ_j;
* ``q3`` (``04.q3``) what happens to the tower distance as β grows, with a reason;
* ``q4`` (``04.q4``) when to prefer soft over hard sharing, with a reason;
* ``q5`` (``04.q5``) an experiment: soft (at the lesson's β) against hard sharing on the shop
  whose click and conversion drivers are unrelated, 5 seeds on validation; the verdict is read
  off the interval of soft − hard on purchase.

Only q5 trains (the learner's ``compare`` run); its checker trains nothing: it checks that the
run is the asked-for experiment and computes the verdict from its interval.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

import numpy as np

from mtl_kit.exercises import (
    ChoiceQuestion,
    CodeQuestion,
    ValueQuestion,
    WrongAnswer,
)
from mtl_kit.exercises.experiment import (
    VERDICTS,
    ExperimentQuestion,
    check_comparison,
    judge_verdict,
    sign_hint,
    verdict_mistakes,
)

__all__ = ["Q5_SEEDS", "VERDICTS", "q1", "q2", "q3", "q4", "q5"]

# -- q1: the soft-sharing penalty ------------------------------------------------------------


def _soft_penalty(weights: list, beta: float) -> float:
    """β Σ_{i<j} ‖W_i − W_j‖² (squared Frobenius norm; each unordered pair once)."""
    total = 0.0
    for i in range(len(weights)):
        for j in range(i + 1, len(weights)):
            total += float(np.sum((np.asarray(weights[i]) - np.asarray(weights[j])) ** 2))
    return beta * total


def _no_beta(weights: list, beta: float) -> float:
    return _soft_penalty(weights, 1.0)


def _not_squared(weights: list, beta: float) -> float:
    total = 0.0
    for i in range(len(weights)):
        for j in range(i + 1, len(weights)):
            total += float(np.linalg.norm(np.asarray(weights[i]) - np.asarray(weights[j])))
    return beta * total


def _ordered_pairs(weights: list, beta: float) -> float:
    return 2 * _soft_penalty(weights, beta)


def _neighbours_only(weights: list, beta: float) -> float:
    return beta * sum(float(np.sum((np.asarray(a) - np.asarray(b)) ** 2))
                      for a, b in itertools.pairwise(weights))


def _penalty_cases() -> list[tuple[list, float]]:
    rng = np.random.default_rng(4)
    three = [rng.normal(size=(4, 3)) for _ in range(3)]
    return [
        ([np.array([[1.0, 2.0], [0.0, 1.0]]), np.array([[0.0, 2.0], [1.0, 3.0]])], 0.1),
        (three, 0.01),
        ([rng.normal(size=(5, 2)) for _ in range(4)], 2.0),
        ([rng.normal(size=(3,)) for _ in range(2)], 0.0),
    ]


q1 = CodeQuestion(
    "04.q1",
    "Write soft_penalty(weights, beta): given one weight matrix per task tower (a list of "
    "NumPy arrays of the same shape), return β Σ_{i<j} ‖W_i − W_j‖², the squared Euclidean "
    "(Frobenius) distance summed over every pair of towers, each pair counted once, times β.",
    reference=_soft_penalty,
    cases=_penalty_cases,
    name="penalty",
    wrong=[
        WrongAnswer(_no_beta, "you left out β: the penalty is β times the summed distances"),
        WrongAnswer(_not_squared, "you used the norm ‖W_i − W_j‖; the penalty uses the squared "
                                  "norm: np.sum((W_i - W_j) ** 2)"),
        WrongAnswer(_ordered_pairs, "you counted every ordered pair (i, j) and (j, i), as the "
                                    "double sum Σ_i Σ_j does; mtl_kit counts each pair once "
                                    "(i < j), so your penalty is twice as large"),
        WrongAnswer(_neighbours_only, "you only compared neighbouring towers (i, i+1); with "
                                      "three or more tasks every pair i < j counts"),
    ],
    hints=["Two nested loops: for i in range(T), for j in range(i + 1, T).",
           "‖A − B‖² is np.sum((A - B) ** 2); multiply the total by beta at the end."],
    solution="""
    def soft_penalty(weights, beta):
        total = 0.0
        for i in range(len(weights)):
            for j in range(i + 1, len(weights)):
                total += np.sum((weights[i] - weights[j]) ** 2)
        return beta * total
    """,
)

# -- q2: converting β between the two conventions --------------------------------------------

#: A β written for the textbook formula β Σ_i Σ_j d(θ_i, θ_j) (ordered pairs).
TEXTBOOK_BETA = 0.075


def _mtl_kit_beta() -> float:
    """Σ_i Σ_j d = 2 Σ_{i<j} d (d symmetric, d(θ, θ) = 0), so β_mtl_kit = 2 β_textbook."""
    return 2 * TEXTBOOK_BETA


q2 = ValueQuestion(
    "04.q2",
    f"A paper uses the textbook penalty β Σ_i Σ_j d(θ_i, θ_j) (every ordered pair) with "
    f"β = {TEXTBOOK_BETA}. mtl_kit's soft-sharing model uses β Σ_(i<j) d(θ_i, θ_j) (each pair "
    "once). Which β must you pass to build_soft_sharing to minimise the same loss?",
    expected=_mtl_kit_beta,
    wrong=[
        WrongAnswer(TEXTBOOK_BETA, "the two sums are not equal: Σ_i Σ_j counts each pair twice "
                                   "(once as (i, j), once as (j, i)), and d(θ_i, θ_i) = 0"),
        WrongAnswer(TEXTBOOK_BETA / 2, "the other way round: mtl_kit's sum is the smaller one "
                                       "(half the double sum), so its β must be larger"),
    ],
    hints=["Write out Σ_i Σ_j d for two tasks: d(1,1) + d(1,2) + d(2,1) + d(2,2).",
           "d(θ, θ) = 0 and d(θ_i, θ_j) = d(θ_j, θ_i), so Σ_i Σ_j d = 2 Σ_(i<j) d."],
    solution=f"answer = 2 * {TEXTBOOK_BETA}  # Σ_i Σ_j d = 2 Σ_(i<j) d",
)

# -- q3: tower distance as β grows ------------------------------------------------------------

q3 = ChoiceQuestion(
    "04.q3",
    "All towers of a soft-sharing model start from the same weights, and we train it (early "
    "stopping on validation) at β = 0, 0.01, 0.1, 1 and 10. What happens to the tower distance "
    "Σ d(θ_i, θ_j) of the trained towers as β grows?",
    options={
        "a": "it grows: a larger β makes the total loss larger, so the gradients push the towers "
             "further apart",
        "b": "it stays the same: β only scales the penalty, so the task losses alone decide where "
             "each tower ends",
        "c": "it shrinks towards 0: the pull between the towers wins, and they act more and more "
             "like one shared bottom",
        "d": "it is exactly 0 for every β > 0: any positive penalty puts the optimum at θ_i = θ_j",
    },
    answer="c",
    why_not={
        "a": "the penalty β·Σ d is part of what the optimiser minimises: the larger β, the "
             "more any distance between the towers costs",
        "b": "scaling the penalty changes its gradient 2β(θ_i − θ_j), which pulls the towers "
             "together harder; the trade-off with the task losses moves",
        "d": "each task's loss still pulls its tower its own way; for a small β the towers end "
             "up apart, and only as β grows does the distance approach 0",
    },
    reason_solution="a larger β makes every unit of distance cost more, so the optimiser keeps "
                    "the towers closer, and for very large β they act as one shared bottom",
    reason_keywords=[
        ("penal", "cost", "pull", "β", "beta", "price", "惩罚", "代价"),
        ("clos", "together", "shrink", "smaller", "distan", "near", "one shared", "same",
         "靠近", "接近", "距离", "相同"),
    ],
    reason_hint="right choice, but say why: name what β scales (the penalty on the distance, "
                "which pulls the towers together) and where that ends (towers so close they "
                "act as one shared bottom)",
    hints=["What does the optimiser minimise? Which term of it does β scale?",
           "Think of β = 0 (no pull at all) and of a huge β."],
)

# -- q4: soft or hard? ----------------------------------------------------------------------

q4 = ChoiceQuestion(
    "04.q4",
    "A shop adds a task, 'returns the item within 30 days', to click. Returns depend on "
    "sizing and quality, which hardly affect clicks. Which sharing is the best starting point?",
    options={
        "a": "hard sharing: one shared bottom sees both tasks' labels, so it has the most data "
             "and is always the better start",
        "b": "soft sharing with a very large β, so that the returns tower cannot drift away from "
             "what click has learned",
        "c": "soft sharing with β = 0: the towers start from the same weights, so the tasks still "
             "share what they have in common",
        "d": "soft sharing with β chosen on validation: each task keeps its own tower and borrows "
             "only as much as helps",
    },
    answer="d",
    why_not={
        "a": "for weakly related tasks one shared bottom forces a compromise that can hurt "
             "both (negative transfer)",
        "b": "a very large β ties the towers together: that is hard sharing again",
        "c": "β = 0 trains separate models: nothing is shared at all",
    },
    reason_solution="the tasks are only weakly related, so each needs its own features, and "
                    "choosing β on validation finds how much sharing helps",
    reason_keywords=[
        ("weak", "relat", "differ", "own", "相关", "不同"),
        ("valid", "验证"),
    ],
    reason_hint="right choice, but say why: name that the tasks are only weakly related (so "
                "each keeps its own tower) and that β is chosen on the validation split",
    hints=["Which β reproduces separate models, and which one hard sharing?"],
)

# -- q5: an experiment, judged by its interval -----------------------------------------------

#: The three verdicts ``Comparison.paired()`` gives.
Q5_SEEDS = 5
#: The names the learner gives the two models in ``compare``.
SOFT, HARD = "soft", "hard"
TASKS = ("click", "purchase")


_WRONG_NAMES = (f"name the two models {SOFT!r} and {HARD!r}: compare({{{SOFT!r}: …, {HARD!r}: "
                "…}, unrelated, …)")
_WRONG_SHOP = ("this is not the shop with unrelated drivers: pass "
               "course_data(('click', 'purchase'), task_correlation=0.0) to compare")
_WRONG_SIGN = sign_hint("soft", "hard")


@functools.cache
def _unrelated_validation() -> tuple[np.ndarray, np.ndarray]:
    """The purchase labels and users of the unrelated shop's validation split."""
    from mtl_kit.course import course_data

    data = course_data(TASKS, task_correlation=0.0)
    return data.y_val["purchase"], data.users("val")


def _check_experiment(result: Any, verdict: Any) -> str | None:
    problem = check_comparison(result, Q5_SEEDS)
    if problem is not None:
        return problem
    if SOFT not in result.models or HARD not in result.models:
        return _WRONG_NAMES
    labels = np.asarray(result.y_true.get("purchase", []))
    expected = _unrelated_validation()[0]
    if labels.shape != expected.shape or not np.array_equal(labels, expected):
        return _WRONG_SHOP
    return judge_verdict(result.difference(SOFT, "purchase", reference=HARD), verdict,
                         "purchase's soft − hard interval", _WRONG_SIGN)


def _fake_result(split: str = "val", seeds: int = Q5_SEEDS, soft_shift: float = 0.0,
                 shop: str = "unrelated"):
    """A synthetic Comparison shaped like the experiment's, on the unrelated shop's validation
    labels (for tests; trains nothing). Both models score the same signal with their own
    noise; soft's purchase scores are shifted up by ``soft_shift`` on the buyers.
    ``shop="other"`` shuffles the labels (another shop)."""
    from mtl_kit.experiments import Comparison, SeedRun
    from mtl_kit.tasks import as_tasks

    purchase, users = _unrelated_validation()
    rng = np.random.default_rng(4)
    if shop != "unrelated":
        purchase = rng.permutation(purchase)
    n = len(purchase)
    y = {"click": np.maximum(purchase, rng.random(n) < 0.2).astype("float32"),
         "purchase": purchase}
    signal = {t: y[t] + rng.normal(scale=1.2, size=n) for t in y}
    runs: dict[str, list] = {SOFT: [], HARD: []}
    for _ in range(seeds):
        for name, shift in ((SOFT, soft_shift), (HARD, 0.0)):
            scores = {t: signal[t] + rng.normal(scale=0.3, size=n) for t in y}
            scores["purchase"] = scores["purchase"] + shift * y["purchase"]
            runs[name].append(SeedRun({}, 3, {split: scores}))
    return Comparison(split, tuple(range(seeds)), as_tasks(TASKS), y, users, runs, HARD)


q5 = ExperimentQuestion(
    "04.q5",
    "Does soft sharing pull ahead of hard sharing when the tasks' drivers are unrelated? On "
    "course_data(('click', 'purchase'), task_correlation=0.0), compare soft sharing at the β "
    "lesson 4 chose on validation (name it 'soft') with hard sharing (name it 'hard') over "
    f"{Q5_SEEDS} seeds on the validation split, and read the verdict of soft − hard on purchase "
    "off its interval: 'better', 'worse' or 'no difference we can detect'.",
    verdict_prompt="read purchase's soft − hard interval (result.describe('soft', 'purchase'))",
    checker=_check_experiment,
    correct_example=lambda: (_fake_result(), VERDICTS[2]),
    wrong=[
        *verdict_mistakes(_fake_result, {"soft_shift": 2.0}, _WRONG_SIGN, Q5_SEEDS),
        WrongAnswer(lambda: (_fake_result(shop="other"), VERDICTS[2]), _WRONG_SHOP),
    ],
    hints=["Build both models once on the unrelated shop's features; a builder returns the "
           "compiled model: def soft_builder(seed): return soft.",
           "result = compare({'soft': …, 'hard': …}, unrelated, seeds=5, split='val', "
           "reference='hard') trains no single-task models; then print "
           "result.describe('soft', 'purchase'): does its interval contain 0?"],
    solution="""
    unrelated = course_data(("click", "purchase"), task_correlation=0.0)
    soft = build_soft_sharing(("click", "purchase"), unrelated.features, beta=BETA, seed=0)
    hard = build_hard_sharing(("click", "purchase"), unrelated.features, seed=0)
    result = compare({"soft": lambda seed: soft, "hard": lambda seed: hard}, unrelated,
                     seeds=5, split="val", reference="hard")
    print(result.describe("soft", "purchase"))
    verdict = ...  # the verdict in that sentence: the interval decides it
    """,
)
