"""Exercises for lesson 5, feature-based sharing: a gate, Δm, a heatmap and a judgement.

* ``q1`` (``05.q1``) write ``mmoe_combine(expert_outputs, gate_logits)`` in NumPy: a softmax
  over the experts, then the gate-weighted sum of the experts' outputs;
* ``q2`` (``05.q2``) Δm of a multi-task model from a small metric table (one metric is
  lower-is-better);
* ``q3`` (``05.q3``) read the MMoE gate heatmap of the lesson: which expert does purchase rely
  on most?
* ``q4`` (``05.q4``) when to pick MMoE over hard sharing, with a reason.

Only ``q3`` trains a model (the lesson's MMoE, once per kernel: ``exercise_mmoe()``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from mtl_kit.exercises import ChoiceQuestion, CodeQuestion, ValueQuestion, WrongAnswer

__all__ = ["HIGHER_IS_BETTER", "MMOE_SETTINGS", "MTL_METRICS", "SINGLE_METRICS",
           "exercise_mmoe", "q1", "q2", "q3", "q4"]

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

#: The lesson's MMoE and how it is trained (5 epochs, batch 256, seed 0).
MMOE_SETTINGS: dict[str, Any] = {"n_experts": 4, "expert_units": (32,), "tower": (16,),
                                 "seed": 0, "epochs": 5, "batch_size": 256}


@cache
def exercise_mmoe():
    """The lesson's MMoE trained on the course's shop: ``(model, data)`` (once per kernel)."""
    import mtl_kit  # noqa: F401  (selects the backend before Keras is imported)
    from mtl_kit.course import course_data
    from mtl_kit.models import build_mmoe

    settings = dict(MMOE_SETTINGS)
    epochs, batch_size = settings.pop("epochs"), settings.pop("batch_size")
    data = course_data(("click", "purchase"))
    model = build_mmoe(("click", "purchase"), data.features, **settings)
    model.fit(data.x_train, data.y_train, epochs=epochs, batch_size=batch_size)
    return model, data


@cache
def _mean_purchase_gate() -> tuple[float, ...]:
    model, data = exercise_mmoe()
    return tuple(float(v) for v in model.gate_weights(data.x_test)["purchase"].mean(axis=0))


def _top_expert() -> int:
    """Expert number (1 … E, as in the heatmap) with the largest mean purchase gate weight."""
    return int(np.argmax(_mean_purchase_gate())) + 1


def _as_int(answer: object) -> int | None:
    value = float(answer)
    return int(value) if value.is_integer() else None


@dataclass(frozen=True)
class _ComputedWrongAnswer(WrongAnswer):
    """A wrong answer whose example depends on the trained model (computed when replayed)."""

    @property
    def submitted(self) -> Any:
        return self.example()


q3 = ValueQuestion(
    "05.q3",
    "In the heatmap of the MMoE's mean gate weights (experts numbered 1 to 4, as in the lesson), "
    "which expert does purchase rely on most? Give the expert's number.",
    expected=_top_expert,
    wrong=[
        _ComputedWrongAnswer(lambda a: _as_int(a) == _top_expert() - 1,
                             "np.argmax counts from 0, but the heatmap numbers the experts from "
                             "1: add 1", example=lambda: _top_expert() - 1),
        WrongAnswer(lambda a: 0 < float(a) < 1,
                    "that looks like a gate weight; the question asks for the expert's number "
                    "(1 to 4)", example=0.5),
        WrongAnswer(lambda a: float(a) > MMOE_SETTINGS["n_experts"] or float(a) < 0,
                    "the MMoE has 4 experts, numbered 1 to 4", example=5),
    ],
    hints=["Average each task's gate over the test rows: gates['purchase'].mean(axis=0) gives one "
           "weight per expert.",
           "np.argmax of that vector is the 0-based index of the most-used expert; the heatmap "
           "numbers experts from 1."],
    solution="answer = int(np.argmax(gates['purchase'].mean(axis=0))) + 1",
)

# -- q4: MMoE or hard sharing? --------------------------------------------------------------

q4 = ChoiceQuestion(
    "05.q4",
    "When would you pick MMoE over hard parameter sharing?",
    options={
        "a": "always: MMoE has more parameters, so it is at least as good as hard sharing",
        "b": "when the tasks are only partly related or pull in different directions: each "
             "task's gate can pick its own mix of experts instead of forcing every task through "
             "the same features",
        "c": "when the tasks are strongly related and one has scarce labels, like click and "
             "purchase: that is where MMoE clearly beat hard sharing in lesson 5",
        "d": "when there is only one task",
    },
    answer="b",
    why_not={
        "a": "more parameters means more to fit and more to tune; in lesson 5 MMoE did not beat "
             "hard sharing beyond the noise",
        "c": "in lesson 5 both gates picked mostly the same expert and MMoE did not beat hard "
             "sharing beyond the noise: for strongly related tasks one shared bottom is enough",
        "d": "with one task there is nothing to share between tasks: a single gate over experts "
             "is a plain mixture of experts, not multi-task learning",
    },
    min_reason_words=5,
    reason_solution="with partly related or conflicting tasks a single shared bottom forces a "
                    "compromise, while separate gates let each task use the experts that help it",
    hints=["What does MMoE add to a shared bottom, and when is that freedom worth its cost?",
           "Look back at lesson 5's gate heatmap: did the two tasks use different experts?"],
)
