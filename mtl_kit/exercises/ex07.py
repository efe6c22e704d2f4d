"""Exercises for lesson 7, evaluating: GAUC, a threshold, NDCG, calibration and an experiment.

* ``q1`` (``07.q1``) write ``gauc(y, score, users)`` in NumPy: the impression-weighted mean of
  per-user AUCs over the users with both a positive and a negative row;
* ``q2`` (``07.q2``) click's recall on test at the F1-maximising threshold chosen on
  validation, for the exercise's model (another seed than the lesson's);
* ``q3`` (``07.q3``) the same model's click NDCG@10 per customer on test;
* ``q4`` (``07.q4``) what a re-trained, over-confident pCVR model does to a ranking by
  pCTR × pCVR, with a reason that names the idea;
* ``q5`` (``07.q5``) an experiment: is hard sharing with λ_purchase = 0.3 better than
  single-task on purchase's GAUC (per customer), over 5 seeds on validation?

``q2`` and ``q3`` use one trained model (``exercise_model()``, once per kernel); ``q5``'s run is
the learner's own ``compare`` (its checker trains nothing: it checks that the run is the
asked-for experiment and computes the verdict from its GAUC interval).
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
    check_comparison,
    fake_comparison,
    judge_verdict,
    sign_hint,
    verdict_mistakes,
)

__all__ = ["EXERCISE_SETTINGS", "VERDICTS", "exercise_model", "q1", "q2", "q3", "q4", "q5"]


@dataclass(frozen=True)
class _ComputedWrongAnswer(WrongAnswer):
    """A wrong answer whose example depends on the trained model (computed when replayed)."""

    @property
    def submitted(self) -> Any:
        return self.example()


# -- q1: GAUC --------------------------------------------------------------------------------


def _auc(labels: np.ndarray, score: np.ndarray) -> float:
    """AUC by counting pairs (ties count ½)."""
    pos, neg = score[labels == 1], score[labels == 0]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(wins / (pos.size * neg.size))


def _per_user(y, score, users):
    y, score, users = (np.asarray(a, dtype=float) for a in (y, score, users))
    for user in np.unique(users):
        rows = users == user
        yield y[rows], score[rows]


def _gauc(y, score, users):
    """Σ_u n_u AUC_u / Σ_u n_u over the users with both a positive and a negative row."""
    total = weight = 0.0
    for labels, scores in _per_user(y, score, users):
        if 0 < labels.sum() < labels.size:
            total += labels.size * _auc(labels, scores)
            weight += labels.size
    return total / weight


def _unweighted(y, score, users):
    aucs = [_auc(lab, sc) for lab, sc in _per_user(y, score, users) if 0 < lab.sum() < lab.size]
    return float(np.mean(aucs))


def _pooled(y, score, users):
    return _auc(np.asarray(y, dtype=float), np.asarray(score, dtype=float))


def _one_class_as_half(y, score, users):
    total = weight = 0.0
    for labels, scores in _per_user(y, score, users):
        value = _auc(labels, scores) if 0 < labels.sum() < labels.size else 0.5
        total += labels.size * value
        weight += labels.size
    return total / weight


def _weighted_by_positives(y, score, users):
    total = weight = 0.0
    for labels, scores in _per_user(y, score, users):
        if 0 < labels.sum() < labels.size:
            total += labels.sum() * _auc(labels, scores)
            weight += labels.sum()
    return total / weight


def _gauc_cases() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(7)
    cases = []
    for n, n_users, rate in ((60, 8, 0.3), (120, 15, 0.2), (90, 6, 0.4)):
        users = rng.integers(0, n_users, n) * 10 + 5       # ids that are not 0..U-1
        y = (rng.random(n) < rate).astype(float)
        score = np.round(y * 0.8 + rng.normal(size=n), 1)  # a few ties
        y[users == users[0]] = 0.0                          # one user without a positive
        cases.append((y, score, users))
    return cases


q1 = CodeQuestion(
    "07.q1",
    "Write gauc(y, score, users): y holds 0/1 labels, score the model's scores and users each "
    "row's customer. Compute each customer's own AUC (the share of her (positive, negative) "
    "pairs where the positive scores higher; ties count 1/2; sklearn.metrics.roc_auc_score is "
    "fine) and return their mean weighted by each customer's number of rows, over the customers "
    "who have both a positive and a negative row.",
    reference=_gauc,
    cases=_gauc_cases,
    name="gauc",
    wrong=[
        WrongAnswer(_unweighted, "you averaged the customers' AUCs equally; GAUC weights each "
                                 "customer by her number of impressions (rows)"),
        WrongAnswer(_pooled, "that is the pooled AUC over all rows; GAUC computes an AUC per "
                             "customer, from her rows only, then averages them"),
        WrongAnswer(_one_class_as_half, "a customer with only positives or only negatives has no "
                                        "AUC at all: leave her out instead of counting 0.5"),
        WrongAnswer(_weighted_by_positives, "you weighted by the number of positives; GAUC "
                                            "weights by the number of rows n_u"),
    ],
    hints=["Loop over np.unique(users); rows = users == u; skip the customer when "
           "y[rows].sum() is 0 or equals rows.sum().",
           "Keep two sums: Σ n_u · AUC_u and Σ n_u, with n_u = rows.sum(); return their ratio."],
    solution="""
    def gauc(y, score, users):
        total = weight = 0.0
        for u in np.unique(users):
            rows = users == u
            if 0 < y[rows].sum() < rows.sum():          # both classes
                total += rows.sum() * roc_auc_score(y[rows], score[rows])
                weight += rows.sum()
        return total / weight
    """,
)

# -- the exercise's model (q2, q3) ---------------------------------------------------------

#: The exercise's model: lesson 7's hard sharing (λ = 1) from a seed the lesson did not use.
EXERCISE_SETTINGS: dict[str, Any] = {"shared": (64, 32), "head": (16,), "seed": 7}


@cache
def exercise_model():
    """``(predictions, data)``: the exercise's model trained on the course's shop (early stopping
    on the validation loss, once per kernel); ``predictions[split][task]`` for "val" and "test"."""
    import mtl_kit  # noqa: F401  (selects the backend before Keras is imported)
    from mtl_kit.course import course_data
    from mtl_kit.experiments import TrainingPlan, early_stopping
    from mtl_kit.models import build_hard_sharing

    plan = TrainingPlan()
    data = course_data(("click", "purchase"))
    model = build_hard_sharing(("click", "purchase"), data.features, **EXERCISE_SETTINGS)
    model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
              epochs=plan.max_epochs, batch_size=plan.batch_size,
              callbacks=[early_stopping(plan)])
    predictions = {split: model.predict_tasks(data.split_arrays(split)[0])
                   for split in ("val", "test")}
    return predictions, data


@cache
def _click_decisions() -> dict[str, float]:
    """Click's test metrics at the validation F1 threshold, and the tempting wrong values."""
    from sklearn import metrics as skm

    from mtl_kit.metrics import best_f1_threshold

    predictions, data = exercise_model()
    p_val, p_test = predictions["val"]["click"], predictions["test"]["click"]
    y_val, y_test = data.y_val["click"], data.y_test["click"]
    chosen, _ = best_f1_threshold(y_val, p_val)
    on_test, _ = best_f1_threshold(y_test, p_test)
    return {"recall": float(skm.recall_score(y_test, p_test >= chosen)),
            "precision": float(skm.precision_score(y_test, p_test >= chosen)),
            "f1": float(skm.f1_score(y_test, p_test >= chosen)),
            "recall_test_threshold": float(skm.recall_score(y_test, p_test >= on_test)),
            "recall_on_val": float(skm.recall_score(y_val, p_val >= chosen))}


def _close(answer: object, value: float, tol: float = 5e-4) -> bool:
    return abs(float(answer) - value) <= tol


q2 = ValueQuestion(
    "07.q2",
    "For the exercise's model (hard sharing, seed 7), choose click's F1-maximising threshold on "
    "the validation split, apply it to the test split, and give click's recall on test.",
    expected=lambda: _click_decisions()["recall"],
    rtol=0.0,
    atol=5e-4,
    wrong=[
        _ComputedWrongAnswer(lambda a: _close(a, _click_decisions()["recall_test_threshold"]),
                             "you chose the threshold on the test split; choose it on "
                             "validation and apply that fixed threshold to test",
                             example=lambda: _click_decisions()["recall_test_threshold"]),
        WrongAnswer(lambda a: float(a) < 0.01,
                    "that is the recall at the default threshold 0.5, where (almost) no click "
                    "is predicted; use the threshold with the highest F1 on validation",
                    example=0.0),
        _ComputedWrongAnswer(lambda a: _close(a, _click_decisions()["precision"]),
                             "that is the precision TP / (TP + FP); recall is TP / (TP + FN): "
                             "the share of the clicks the model flags",
                             example=lambda: _click_decisions()["precision"]),
        _ComputedWrongAnswer(lambda a: _close(a, _click_decisions()["f1"]),
                             "that is the F1 at the threshold; the question asks for the recall",
                             example=lambda: _click_decisions()["f1"]),
        _ComputedWrongAnswer(lambda a: _close(a, _click_decisions()["recall_on_val"]),
                             "that is the recall on validation; apply the threshold to the "
                             "test split",
                             example=lambda: _click_decisions()["recall_on_val"]),
    ],
    hints=["mtl_kit.metrics.best_f1_threshold(y_val, p_val) returns (threshold, F1) on "
           "validation.",
           "Recall on test at threshold t: sklearn.metrics.recall_score(y_test, p_test >= t), or "
           "evaluate_tasks(..., thresholds={'click': t}, metrics=('recall',))."],
    solution="""
    t, _ = best_f1_threshold(data.y_val["click"], predictions["val"]["click"])
    answer = recall_score(data.y_test["click"], predictions["test"]["click"] >= t)
    """,
)

# -- q3: NDCG@10 per customer ----------------------------------------------------------------


@cache
def _click_ranking() -> dict[str, float]:
    from mtl_kit import ranking

    predictions, data = exercise_model()
    users = data.users("test")
    y, score = data.y_test["click"], predictions["test"]["click"]
    parts = ranking.per_user_values("ndcg@10", y, score, users)
    return {"ndcg@10": ranking.ndcg_at_k(y, score, users, 10),
            "ndcg@5": ranking.ndcg_at_k(y, score, users, 5),
            "hr@10": ranking.hit_rate_at_k(y, score, users, 10),
            "all_users": float(np.nansum(parts["value"]) / parts["value"].size),
            "val": ranking.ndcg_at_k(data.y_val["click"], predictions["val"]["click"],
                                     data.users("val"), 10)}


q3 = ValueQuestion(
    "07.q3",
    "For the same model, rank each test customer's impressions by the predicted click "
    "probability and give click's NDCG@10, averaged over the customers with at least one "
    "click (the groups are data.users('test')).",
    expected=lambda: _click_ranking()["ndcg@10"],
    rtol=0.0,
    atol=5e-4,
    wrong=[
        _ComputedWrongAnswer(lambda a: _close(a, _click_ranking()["ndcg@5"]),
                             "that is NDCG@5; the question asks for the top 10 (k = 10)",
                             example=lambda: _click_ranking()["ndcg@5"]),
        _ComputedWrongAnswer(lambda a: _close(a, _click_ranking()["hr@10"]),
                             "that is the hit rate HR@10 (is there a click in the top 10?); "
                             "NDCG discounts each click by 1 / log2(rank + 1) and divides by "
                             "the best possible sum",
                             example=lambda: _click_ranking()["hr@10"]),
        _ComputedWrongAnswer(lambda a: _close(a, _click_ranking()["all_users"]),
                             "you averaged over every customer, counting those without a click "
                             "as 0; average over the customers with at least one click",
                             example=lambda: _click_ranking()["all_users"]),
        _ComputedWrongAnswer(lambda a: _close(a, _click_ranking()["val"]),
                             "that is the validation split; the question asks for test",
                             example=lambda: _click_ranking()["val"]),
    ],
    hints=["mtl_kit.ranking.ndcg_at_k(y, score, users, k) does the per-customer sorting and the "
           "average.",
           "y = data.y_test['click'], score = predictions['test']['click'], users = "
           "data.users('test'), k = 10."],
    solution="""
    answer = ranking.ndcg_at_k(data.y_test["click"], predictions["test"]["click"],
                               data.users("test"), k=10)
    """,
)

# -- q4: calibration and a product of probabilities ----------------------------------------

q4 = ChoiceQuestion(
    "07.q4",
    "The shop ranks each customer's items by pCTR × pCVR. A colleague re-trains the pCVR model: "
    "its AUC is exactly the same as before, but its probabilities are now over-confident (pushed "
    "towards 0 and 1, in the same order). What happens to the ranking by pCTR × pCVR?",
    options={
        "a": "it can change, likely for the worse: AUC sees only pCVR's order, but the product "
             "uses its values",
        "b": "it changes only if pCTR's AUC changes as well: pCVR kept its order, so only pCTR "
             "can reorder the products",
        "c": "nothing: pCVR's AUC and its order are unchanged, so every ranking that uses pCVR "
             "stays the same",
        "d": "it changes, and for the better: sharper probabilities separate buyers from "
             "non-buyers, so the products rank better",
    },
    answer="a",
    why_not={
        "c": "AUC depends only on the order of pCVR's scores; the product pCTR × pCVR uses their "
             "values, so a change that keeps the order can still reorder the products "
             "(lesson 7's distortion experiment)",
        "b": "pCTR did not change; the product changes because pCVR's values changed, even in "
             "the same order",
        "d": "over-confidence lets pCVR drown pCTR in the product; in lesson 7 the ranking was "
             "best with calibrated probabilities (a = 1) and worse on both sides",
    },
    min_reason_words=5,
    reason_keywords=[("calibrat", "probabilit", "value", "confiden", "scale")],
    reason_hint="right choice, but say why: the reason should name the idea that AUC sees only "
                "the order, while the product uses the probabilities' values (calibration)",
    reason_solution="AUC only sees the order of pCVR, but the product multiplies its values, so "
                    "a miscalibrated pCVR changes which items come first",
    hints=["Does AUC change when you apply an increasing function to every score? Does the "
           "product pCTR × pCVR keep its order under such a function of pCVR alone?",
           "Look back at lesson 7's picture 'Distorting pCVR'."],
)

# -- q5: an experiment, judged by its interval -------------------------------------------------

Q5_SEEDS = 5
#: The name the experiment's model must have in ``compare``.
Q5_MODEL = "λ=0.3"
Q5_LAMBDA = 0.3
Q5_METRIC = "gauc"

_WRONG_SETUP = (f"compare one model named {Q5_MODEL!r} with the single-task reference: "
                f"compare({{{Q5_MODEL!r}: builder}}, data, seeds={Q5_SEEDS}, split='val')")
_WRONG_SIGN = sign_hint(Q5_MODEL, "single-task", "GAUC")


def _check_experiment(result: Any, verdict: Any) -> str | None:
    from mtl_kit.evaluation import difference
    from mtl_kit.experiments import SINGLE_TASK

    problem = check_comparison(result, Q5_SEEDS)
    if problem is not None:
        return problem
    if Q5_MODEL not in result.models or result.reference != SINGLE_TASK:
        return _WRONG_SETUP
    if not {"click", "purchase"} <= {t.name for t in result.tasks}:
        return "use the lesson's data: course_data(('click', 'purchase'))"
    return judge_verdict(difference(result, Q5_MODEL, "purchase", Q5_METRIC), verdict,
                         "purchase's GAUC interval", _WRONG_SIGN)


def _fake_result(**settings: Any):
    """A synthetic Comparison shaped like the experiment's (for tests; trains nothing)."""
    return fake_comparison(**{"seed": 7, "names": (Q5_MODEL, "single-task"), "n": 6000, **settings})


q5 = ExperimentQuestion(
    "07.q5",
    f"Does sharing help purchase *per customer*? Compare hard sharing with λ_purchase = "
    f"{Q5_LAMBDA} ({Q5_MODEL!r}; λ_click = 1, the lesson's layers) with the single-task models "
    f"over {Q5_SEEDS} seeds on the validation split, and read the verdict of purchase's GAUC "
    "difference off its interval: 'better', 'worse' or 'no difference we can detect'.",
    verdict_prompt="compute evaluation.difference(result, 'λ=0.3', 'purchase', 'gauc')",
    checker=_check_experiment,
    correct_example=lambda: (_fake_result(), VERDICTS[2]),
    wrong=[
        *verdict_mistakes(_fake_result, {"purchase_shift": 2.0}, _WRONG_SIGN, Q5_SEEDS),
        WrongAnswer(lambda: (_fake_result(names=("hard", "single-task")), VERDICTS[2]),
                    _WRONG_SETUP),
    ],
    hints=["A builder is a function seed -> compiled model: build the hard-sharing model with "
           "build_hard_sharing(TASKS, data.features, shared=(64, 32), head=(16,), seed=seed), "
           f"call model.set_loss_weights({{'click': 1.0, 'purchase': {Q5_LAMBDA}}}) and return "
           "it.",
           f"result = compare({{{Q5_MODEL!r}: builder}}, data, seeds=5, split='val'); then "
           f"print(difference(result, {Q5_MODEL!r}, 'purchase', 'gauc')) from mtl_kit.evaluation:"
           " does its interval [low, high] contain 0?"],
    solution=f"""
    def builder(seed):
        model = build_hard_sharing(TASKS, data.features, shared=(64, 32), head=(16,), seed=seed)
        model.set_loss_weights({{"click": 1.0, "purchase": {Q5_LAMBDA}}})
        return model

    result = compare({{{Q5_MODEL!r}: builder}}, data, seeds=5, split="val")
    print(difference(result, {Q5_MODEL!r}, "purchase", "gauc"))
    verdict = ...  # the interval decides it
    """,
)
