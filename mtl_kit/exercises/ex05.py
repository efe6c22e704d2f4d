"""Exercises for lesson 5, feature-based sharing: a gate, Δm, a heatmap, a judgement and an
experiment.

* ``q1`` (``05.q1``) write ``mmoe_combine(expert_outputs, gate_logits)`` in NumPy: a softmax
  over the experts, then the gate-weighted sum of the experts' outputs;
* ``q2`` (``05.q2``) Δm of a multi-task model from a small metric table (one metric is
  lower-is-better);
* ``q3`` (``05.q3``) read the gate heatmap of an MMoE trained with another seed than the
  lesson's (its experts are numbered differently): how much weight does purchase give, on
  average, to the expert it relies on most?
* ``q4`` (``05.q4``) when to pick MMoE over hard sharing, with a reason;
* ``q5`` (``05.q5``) an experiment: do the gates buy anything? Compare the lesson's MMoE
  (4 experts) with a one-expert MMoE over 5 seeds on validation and read purchase's verdict
  off its interval.

``q3`` trains one MMoE (``exercise_mmoe()``, once per kernel); ``q5``'s run is the learner's
own ``compare`` (its checker trains nothing: it checks that the run is the asked-for
experiment and computes the verdict from its interval).
"""

from __future__ import annotations

from collections.abc import Callable
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

__all__ = ["HIGHER_IS_BETTER", "MMOE_SETTINGS", "MTL_METRICS", "SINGLE_METRICS", "VERDICTS",
           "exercise_mmoe", "q1", "q2", "q3", "q4", "q5"]

# -- q1: combining MMoE experts with a gate ----------------------------------------------------


def _softmax(logits: np.ndarray, axis: int) -> np.ndarray:
    shifted = logits - logits.max(axis=axis, keepdims=True)
    weights = np.exp(shifted)
    return weights / weights.sum(axis=axis, keepdims=True)


def _mmoe_combine(expert_outputs: np.ndarray, gate_logits: np.ndarray) -> np.ndarray:
    """z_n = Σ_e g_ne f_ne with g_n = softmax(gate_logits_n) over the E experts.

    expert_outputs: (n, E, d); gate_logits: (n, E); returns (n, d).
    """
    gates = _softmax(np.asarray(gate_logits, dtype=float), axis=1)           # (n, E)
    return np.einsum("ne,ned->nd", gates, np.asarray(expert_outputs, dtype=float))


def _no_softmax(expert_outputs, gate_logits):
    return np.einsum("ne,ned->nd", np.asarray(gate_logits, dtype=float),
                     np.asarray(expert_outputs, dtype=float))


def _softmax_over_rows(expert_outputs, gate_logits):
    gates = _softmax(np.asarray(gate_logits, dtype=float), axis=0)
    return np.einsum("ne,ned->nd", gates, np.asarray(expert_outputs, dtype=float))


def _sum_over_d(expert_outputs, gate_logits):
    gates = _softmax(np.asarray(gate_logits, dtype=float), axis=1)
    return np.sum(gates[:, :, None] * np.asarray(expert_outputs, dtype=float), axis=2)


def _plain_mean(expert_outputs, gate_logits):
    return np.asarray(expert_outputs, dtype=float).mean(axis=1)


def _combine_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(5)
    cases = []
    for n, n_experts, d in ((5, 3, 4), (2, 4, 6), (7, 2, 3)):   # n, E and d all differ
        cases.append((rng.normal(size=(n, n_experts, d)), rng.normal(scale=2.0,
                                                                     size=(n, n_experts))))
    return cases


q1 = CodeQuestion(
    "05.q1",
    "Write mmoe_combine(expert_outputs, gate_logits): expert_outputs has shape (n, E, d) (E "
    "experts, each giving a d-dimensional output per impression), gate_logits has shape (n, E) "
    "(one task's gate before its softmax). Turn the logits into gate weights with a softmax over "
    "the experts, then return the gate-weighted sum of the experts' outputs, shape (n, d).",
    reference=_mmoe_combine,
    cases=_combine_cases,
    name="combination",
    wrong=[
        WrongAnswer(_no_softmax, "you weighted the experts by the raw logits; apply a softmax "
                                 "over the experts first, so each row's weights are positive "
                                 "and sum to 1"),
        WrongAnswer(_softmax_over_rows, "your softmax runs over the impressions (axis 0); a gate "
                                        "is a softmax over the experts: axis=1 of the (n, E) "
                                        "logits"),
        WrongAnswer(_sum_over_d, "you summed over the output dimension d; the weighted sum runs "
                                 "over the experts E (axis 1 of the (n, E, d) outputs), giving "
                                 "shape (n, d)"),
        WrongAnswer(_plain_mean, "you averaged the experts equally and ignored the gate; weight "
                                 "each expert by its softmax gate value"),
    ],
    hints=["Softmax over the experts: w = np.exp(logits - logits.max(axis=1, keepdims=True)), "
           "then w / w.sum(axis=1, keepdims=True). Subtracting the row maximum changes nothing "
           "but avoids overflow.",
           "Weighted sum over E: (gates[:, :, None] * expert_outputs).sum(axis=1), or "
           "np.einsum('ne,ned->nd', gates, expert_outputs)."],
    solution="""
    def mmoe_combine(expert_outputs, gate_logits):
        w = np.exp(gate_logits - gate_logits.max(axis=1, keepdims=True))
        gates = w / w.sum(axis=1, keepdims=True)                 # (n, E), rows sum to 1
        return (gates[:, :, None] * expert_outputs).sum(axis=1)  # (n, d)
    """,
)

# -- q2: Δm from a metric table -------------------------------------------------------------

#: Test metrics of a multi-task model (click and purchase: AUC; dwell: RMSE in seconds).
MTL_METRICS: dict[str, float] = {"click": 0.700, "purchase": 0.780, "dwell": 9.0}
#: The single-task baselines' metrics on the same test rows.
SINGLE_METRICS: dict[str, float] = {"click": 0.710, "purchase": 0.720, "dwell": 10.0}
#: AUC: higher is better; RMSE: lower is better.
HIGHER_IS_BETTER: dict[str, bool] = {"click": True, "purchase": True, "dwell": False}


def _delta_m(signed: bool = True, percent: bool = True, by: str = "baseline",
             average: bool = True) -> float:
    """Δm = 100 · (1/T) Σ_t s_t (M_t − B_t) / B_t, and the typical mistakes as variants."""
    total = 0.0
    for task, m_value in MTL_METRICS.items():
        b_value = SINGLE_METRICS[task]
        sign = 1.0 if (HIGHER_IS_BETTER[task] or not signed) else -1.0
        total += sign * (m_value - b_value) / (b_value if by == "baseline" else m_value)
    value = total / len(MTL_METRICS) if average else total
    return 100.0 * value if percent else value


def _expected_delta_m() -> float:
    from mtl_kit.metrics import delta_m

    return delta_m(MTL_METRICS, SINGLE_METRICS, higher_is_better=HIGHER_IS_BETTER)


q2 = ValueQuestion(
    "05.q2",
    "A multi-task model and the single-task baselines scored MTL_METRICS and SINGLE_METRICS on "
    "the same test rows (click and purchase: AUC, higher is better; dwell: RMSE in seconds, "
    "lower is better). What is the model's Δm, in percent? Give at least 2 decimals.",
    expected=_expected_delta_m,
    rtol=0.0,
    atol=0.01,
    wrong=[
        WrongAnswer(_delta_m(signed=False),
                    "you treated dwell's RMSE like an AUC; for a lower-is-better metric the sign "
                    "s_t is −1, so a smaller RMSE counts as a gain"),
        WrongAnswer(_delta_m(percent=False),
                    "Δm is given in percent: multiply the mean relative change by 100"),
        WrongAnswer(_delta_m(by="model"),
                    "you divided by the multi-task metric M_t; the relative change is measured "
                    "against the baseline: (M_t − B_t) / B_t"),
        WrongAnswer(_delta_m(average=False),
                    "you summed the relative changes; Δm averages them over the T = 3 tasks"),
    ],
    hints=["Δm = 100 / T · Σ_t s_t (M_t − B_t) / B_t, with s_t = +1 for AUC and −1 for RMSE.",
           "Three terms: (0.700 − 0.710) / 0.710, (0.780 − 0.720) / 0.720 and "
           "−(9.0 − 10.0) / 10.0."],
    solution="""
    terms = [(1 if HIGHER_IS_BETTER[t] else -1) * (MTL_METRICS[t] - SINGLE_METRICS[t])
             / SINGLE_METRICS[t] for t in MTL_METRICS]
    answer = 100 * np.mean(terms)   # the same as mtl_kit.metrics.delta_m(...)
    """,
)

# -- q3: reading a gate heatmap -------------------------------------------------------------

#: The exercise's MMoE: the lesson's architecture with another seed (the lesson opens seed 4),
#: trained like every run of the course (early stopping on the validation loss).
MMOE_SETTINGS: dict[str, Any] = {"n_experts": 4, "expert_units": (32,), "tower": (16,),
                                 "seed": 6}


@cache
def exercise_mmoe():
    """The exercise's MMoE trained on the course's shop: ``(model, data)`` (once per kernel)."""
    import mtl_kit  # noqa: F401  (selects the backend before Keras is imported)
    from mtl_kit.course import course_data
    from mtl_kit.experiments import TrainingPlan, early_stopping
    from mtl_kit.models import build_mmoe

    plan = TrainingPlan()
    data = course_data(("click", "purchase"))
    model = build_mmoe(("click", "purchase"), data.features, **MMOE_SETTINGS)
    model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
              epochs=plan.max_epochs, batch_size=plan.batch_size,
              callbacks=[early_stopping(plan)])
    return model, data


@cache
def _mean_purchase_gate() -> tuple[float, ...]:
    model, data = exercise_mmoe()
    return tuple(float(v) for v in model.gate_weights(data.x_val)["purchase"].mean(axis=0))


def _top_expert() -> int:
    """Expert number (1 … E, as in the heatmap) with the largest mean purchase gate weight."""
    return int(np.argmax(_mean_purchase_gate())) + 1


def _top_weight(task: str = "purchase") -> float:
    """The largest of ``task``'s mean gate weights over the validation impressions."""
    if task == "purchase":
        return max(_mean_purchase_gate())
    model, data = exercise_mmoe()
    return float(model.gate_weights(data.x_val)[task].mean(axis=0).max())


@cache
def _largest_single_weight() -> float:
    model, data = exercise_mmoe()
    gates = model.gate_weights(data.x_val)["purchase"]
    return float(gates[:, _top_expert() - 1].max())


def _near(value: float, atol: float = 5e-4) -> Callable[[object], bool]:
    return lambda answer: abs(float(answer) - value) <= atol


@dataclass(frozen=True)
class _ComputedWrongAnswer(WrongAnswer):
    """A wrong answer whose example depends on the trained model (computed when replayed)."""

    @property
    def submitted(self) -> Any:
        return self.example()


q3 = ValueQuestion(
    "05.q3",
    "In the heatmap of this exercise's MMoE (seed 6, so its experts are not numbered like the "
    "lesson's; mean gate weights over the validation impressions), how much weight does "
    "purchase's gate give, on average, to the expert it relies on most? Give 3 decimals.",
    expected=_top_weight,
    atol=5e-4,
    rtol=0.0,
    wrong=[
        WrongAnswer(lambda a: float(a) in (1.0, 2.0, 3.0, 4.0),
                    "that is an expert's number; the question asks for the mean weight "
                    "purchase's gate gives that expert (a number between 0 and 1)", example=2),
        WrongAnswer(lambda a: abs(float(a) - 0.25) < 5e-4,
                    "every row's gate weights sum to 1, so their mean over the 4 experts is "
                    "always 0.25; take the largest of the 4 mean weights", example=0.25),
        _ComputedWrongAnswer(lambda a: _near(_top_weight("click"))(a),
                             "that is click's gate; read purchase's row",
                             example=lambda: round(_top_weight("click"), 3)),
        _ComputedWrongAnswer(lambda a: _near(_largest_single_weight())(a),
                             "that is the largest weight of a single impression; average over "
                             "the validation impressions first, then take the largest expert",
                             example=lambda: round(_largest_single_weight(), 3)),
    ],
    hints=["Average purchase's gate over the validation rows: gates['purchase'].mean(axis=0) "
           "gives one weight per expert (they sum to 1).",
           "The expert purchase relies on most has the largest of those weights: take .max()."],
    solution="answer = round(float(gates['purchase'].mean(axis=0).max()), 3)",
    correct_note="the heatmap rounds to 2 decimals; now compare purchase's row with click's: "
                 "does each task lean on one expert, or spread its weight?",
)

# -- q4: MMoE or hard sharing? --------------------------------------------------------------

q4 = ChoiceQuestion(
    "05.q4",
    "When would you pick MMoE over hard parameter sharing?",
    options={
        "a": "when the tasks are only partly related or conflict: each task's gate picks its own "
             "mix of experts instead of one shared set of features",
        "b": "when the tasks are strongly related and one has scarce labels, like click and "
             "purchase: that is where MMoE clearly beat hard sharing in lesson 5",
        "c": "when there is only one task: its gate can then choose among several experts for "
             "each example, which a single shared bottom cannot",
        "d": "always: MMoE has more parameters and more freedom than one shared bottom, so it is "
             "at least as good on every task",
    },
    answer="a",
    why_not={
        "b": "in lesson 5 MMoE was not detectably better than hard sharing on either task (its "
             "paired intervals include 0): for strongly related tasks one shared bottom is "
             "enough",
        "c": "with one task there is nothing to share between tasks: a single gate over experts "
             "is a plain mixture of experts, not multi-task learning",
        "d": "more parameters means more to fit and more to tune; in lesson 5 no architecture "
             "was detectably better than hard sharing over 5 seeds",
    },
    min_reason_words=5,
    reason_solution="with partly related or conflicting tasks a single shared bottom forces a "
                    "compromise, while separate gates let each task use the experts that help it",
    reason_keywords=[
        ("gate", "expert", "门控", "专家"),
        ("partly", "partial", "conflict", "differ", "pull", "weak", "compromise", "unrelat",
         "own mix", "部分", "冲突", "不同"),
    ],
    reason_hint="right choice, but say why: name what MMoE adds (a gate per task choosing its "
                "own mix of experts) and when that pays (tasks only partly related, or in "
                "conflict)",
    hints=["What does MMoE add to a shared bottom, and when is that freedom worth its cost?",
           "Look back at lesson 5's table: was MMoE detectably better than hard sharing there?"],
)

# -- q5: an experiment, judged by its interval -----------------------------------------------

Q5_SEEDS = 5
#: The names the experiment's two models must have in ``compare``.
Q5_MODEL, Q5_REFERENCE = "4 experts", "1 expert"

_WRONG_SETUP = (f"compare exactly two models named {Q5_MODEL!r} and {Q5_REFERENCE!r}, with "
                f"reference={Q5_REFERENCE!r}: compare({{{Q5_MODEL!r}: four, {Q5_REFERENCE!r}: "
                f"one}}, data, seeds={Q5_SEEDS}, split='val', reference={Q5_REFERENCE!r})")
_WRONG_SIGN = sign_hint(Q5_MODEL, Q5_REFERENCE)


def _check_experiment(result: Any, verdict: Any) -> str | None:
    """Purchase's verdict for the two models (``check_two_models``)."""
    return check_two_models(
        result, verdict, model=Q5_MODEL, reference=Q5_REFERENCE, n_seeds=Q5_SEEDS,
        setup_hint=_WRONG_SETUP, sign_hint=_WRONG_SIGN,
        task_hint="use the lesson's data: course_data(('click', 'purchase'))")


def _fake_result(**settings: Any):
    """A synthetic Comparison shaped like the experiment's (for tests; trains nothing)."""
    return fake_comparison(**{"seed": 5, "names": (Q5_MODEL, Q5_REFERENCE), **settings})


q5 = ExperimentQuestion(
    "05.q5",
    "Do the gates buy anything? An MMoE with a single expert has nothing to route (its gate is "
    "always 1): it is hard sharing with one expert as the shared bottom. Compare the lesson's "
    f"MMoE ({Q5_MODEL!r}) with a one-expert MMoE ({Q5_REFERENCE!r}, the reference) over "
    f"{Q5_SEEDS} seeds on the validation split, and read purchase's verdict off its interval: "
    "'better', 'worse' or 'no difference we can detect'.",
    verdict_prompt="read purchase's row of result.paired()",
    checker=_check_experiment,
    correct_example=lambda: (_fake_result(), VERDICTS[2]),
    wrong=[
        *verdict_mistakes(_fake_result, {"purchase_shift": 2.0}, _WRONG_SIGN, Q5_SEEDS),
        WrongAnswer(lambda: (_fake_result(names=("MMoE", "hard")), VERDICTS[2]), _WRONG_SETUP),
    ],
    hints=["A builder is a function seed -> compiled model: lambda seed: build_mmoe(TASKS, "
           "data.features, n_experts=4, expert_units=(32,), tower=(16,), seed=seed), and the "
           "same with n_experts=1.",
           f"result = compare({{{Q5_MODEL!r}: four, {Q5_REFERENCE!r}: one}}, data, seeds=5, "
           f"split='val', reference={Q5_REFERENCE!r}); then print(result.difference({Q5_MODEL!r}, "
           "'purchase')): does its interval [low, high] contain 0?"],
    solution=f"""
    def mmoe_builder(n_experts):
        def build(seed):
            return build_mmoe(TASKS, data.features, n_experts=n_experts, expert_units=(32,),
                              tower=(16,), seed=seed)
        return build

    result = compare({{{Q5_MODEL!r}: mmoe_builder(4), {Q5_REFERENCE!r}: mmoe_builder(1)}}, data,
                     seeds=5, split="val", reference={Q5_REFERENCE!r})
    print(result.describe({Q5_MODEL!r}, "purchase"))
    verdict = ...  # the verdict in that sentence: the interval decides it
    """,
)
