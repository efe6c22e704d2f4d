"""Exercises for lesson 2, single-task learning: a masked loss, two counts, a judgement.

* ``q1`` (``02.q1``) write ``masked_bce(y_true, y_pred)`` in NumPy: binary cross-entropy that
  skips missing (NaN) labels, and is 0 for a batch without any label;
* ``q2`` (``02.q2``) how many training labels each single-task model can use in a shop with
  scarcer labels;
* ``q3`` (``02.q3``) the trainable parameters of four single-task models;
* ``q4`` (``02.q4``) what grows when the shop adds a fifth task, with a reason.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from mtl_kit.exercises import ChoiceQuestion, CodeQuestion, ValueQuestion, WrongAnswer

__all__ = ["EXERCISE_SHOP", "TASKS", "q1", "q2", "q3", "q4"]

TASKS = ("click", "purchase", "intent", "dwell")
#: The shop of question 2: purchase labels even scarcer than the course's, dwell half labelled.
EXERCISE_SHOP = {"label_fraction": {"purchase": 0.05, "dwell": 0.5}}

# -- q1: masked binary cross-entropy ---------------------------------------------------------


def _masked_bce(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """L = Σ_n m_n ℓ_n / max(1, Σ_n m_n).

    ℓ_n = -[y_n log p_n + (1 - y_n) log(1 - p_n)], m_n = 1 if y_n is known (not NaN) else 0.
    """
    y_true = np.asarray(y_true, dtype=float)
    p = np.clip(np.asarray(y_pred, dtype=float), 1e-7, 1 - 1e-7)
    known = ~np.isnan(y_true)
    y = np.where(known, y_true, 0.0)
    losses = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return float(np.sum(losses * known) / max(1, int(known.sum())))


def _unmasked(y_true, y_pred) -> float:
    y_true = np.asarray(y_true, dtype=float)
    p = np.clip(np.asarray(y_pred, dtype=float), 1e-7, 1 - 1e-7)
    return float(np.mean(-(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))))


def _summed(y_true, y_pred) -> float:
    known = ~np.isnan(np.asarray(y_true, dtype=float))
    return _masked_bce(y_true, y_pred) * max(1, int(known.sum()))


def _all_rows(y_true, y_pred) -> float:
    return _summed(y_true, y_pred) / len(np.asarray(y_true))


def _empty_is_nan(y_true, y_pred) -> float:
    known = ~np.isnan(np.asarray(y_true, dtype=float))
    return _masked_bce(y_true, y_pred) if known.any() else float("nan")


def _nan_as_negative(y_true, y_pred) -> float:
    return _masked_bce(np.nan_to_num(np.asarray(y_true, dtype=float), nan=0.0), y_pred)


def _bce_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(2)
    y = (rng.random(40) < 0.2).astype(float)
    y[rng.random(40) < 0.85] = np.nan  # 15 % of the labels kept, like purchase
    return [
        (np.array([1.0, np.nan, 0.0, np.nan, 0.0]), np.array([0.8, 0.3, 0.1, 0.6, 0.4])),
        (y, rng.uniform(0.02, 0.9, 40)),
        (np.array([0.0, 1.0, 1.0]), np.array([0.2, 0.7, 0.4])),
        (np.array([np.nan, np.nan, np.nan]), np.array([0.5, 0.1, 0.9])),  # no label at all
    ]


q1 = CodeQuestion(
    "02.q1",
    "Write masked_bce(y_true, y_pred) in NumPy: the mean binary cross-entropy "
    "-[y log p + (1 - y) log(1 - p)] over the rows whose label is known (y_true is NaN where "
    "it is missing), and 0.0 for a batch in which no label is known.",
    reference=_masked_bce,
    cases=_bce_cases,
    name="loss",
    wrong=[
        WrongAnswer(_unmasked, "your loss is NaN: a NaN label poisons the mean; mask the rows "
                               "whose label is missing (known = ~np.isnan(y_true))"),
        WrongAnswer(_nan_as_negative, "you turned the missing labels into 0 (no purchase) and "
                                      "kept them; a missing label is unknown, not negative: "
                                      "leave those rows out"),
        WrongAnswer(_summed, "you summed the losses of the known rows; take their mean "
                             "(divide by the number of known labels)"),
        WrongAnswer(_all_rows, "you divided by all rows, masked ones included; divide by the "
                               "number of known labels"),
        WrongAnswer(_empty_is_nan, "right on batches with labels, but a batch without any known "
                                   "label gives NaN; return 0.0 then (divide by "
                                   "max(1, number of known labels))"),
    ],
    hints=["Build a mask: known = ~np.isnan(y_true).",
           "Replace the NaN labels by 0 before the logs (np.where(known, y_true, 0.0)) and "
           "multiply each row's loss by the mask.",
           "Divide the masked sum by max(1, known.sum()): the mean over known rows, 0.0 for a "
           "batch without labels."],
    solution="""
    def masked_bce(y_true, y_pred):
        known = ~np.isnan(y_true)
        y = np.where(known, y_true, 0.0)
        p = np.clip(y_pred, 1e-7, 1 - 1e-7)
        losses = -(y * np.log(p) + (1 - y) * np.log(1 - p))
        return np.sum(losses * known) / max(1, known.sum())
    """,
)

# -- q2: labels each single-task model can use -----------------------------------------------


@cache
def _exercise_data():
    from mtl_kit.course import course_data

    return course_data(TASKS, **EXERCISE_SHOP)


def _labels_used() -> dict[str, int]:
    y = _exercise_data().y_train
    return {task: int(np.sum(~np.isnan(y[task]))) for task in TASKS}


def _rows_per_task(answer) -> bool:
    return {k: int(v) for k, v in answer.items()} == {t: len(_exercise_data().train) for t in TASKS}


def _positives(answer) -> bool:
    y = _exercise_data().y_train
    return answer["purchase"] == int(np.nansum(y["purchase"])) and answer["click"] == int(
        np.nansum(y["click"]))


def _whole_shop(answer) -> bool:
    frame = _exercise_data().shop.impressions
    return {k: int(v) for k, v in answer.items()} == {
        t: int(frame[t].notna().sum()) for t in TASKS}


q2 = ValueQuestion(
    "02.q2",
    "In the shop course_data(TASKS, **EXERCISE_SHOP) (purchase labels on 5 % of the rows, "
    "dwell on 50 %), how many training labels can each single-task model learn from? Answer "
    "with a dict {task: count} for click, purchase, intent and dwell.",
    expected=_labels_used,
    wrong=[
        WrongAnswer(_rows_per_task, "you counted every training row; a model can only learn "
                                    "from the rows whose label is not NaN",
                    example={t: 27_987 for t in TASKS}),
        WrongAnswer(_positives, "you counted the positive labels (1s); a 0 label teaches the "
                                "model too: count every known label",
                    example={"click": 2_198, "purchase": 11, "intent": 27_987, "dwell": 14_022}),
        WrongAnswer(_whole_shop, "you counted the whole shop; the models train on the training "
                                 "split only (data.y_train)",
                    example={"click": 40_000, "purchase": 2_000, "intent": 40_000,
                             "dwell": 20_000}),
    ],
    hints=["data.y_train[task] is NaN where the label is missing.",
           "{task: int(np.sum(~np.isnan(data.y_train[task]))) for task in TASKS}"],
    solution="""
    data = course_data(TASKS, **EXERCISE_SHOP)
    answer = {task: int(np.sum(~np.isnan(data.y_train[task]))) for task in TASKS}
    """,
)

# -- q3: parameters of four models ------------------------------------------------------------


@cache
def _param_counts() -> dict[str, dict[str, int]]:
    import mtl_kit  # noqa: F401  (selects the backend before keras)
    from mtl_kit.course import course_data
    from mtl_kit.models import build_single_task

    features = course_data(("click",)).features
    counts = {}
    for task in TASKS:
        model = build_single_task(task, features, hidden=(64, 32), seed=0)
        counts[task] = {
            "trainable": sum(int(np.prod(w.shape)) for w in model.trainable_weights),
            "all": int(model.count_params()),
        }
    return counts


def _total_trainable() -> int:
    return sum(c["trainable"] for c in _param_counts().values())


q3 = ValueQuestion(
    "02.q3",
    "Build one single-task model per task with build_single_task(task, data.features, "
    "hidden=(64, 32), seed=0). How many trainable parameters do the four models hold in total?",
    expected=_total_trainable,
    wrong=[
        WrongAnswer(lambda a: int(a) == sum(c["all"] for c in _param_counts().values()),
                    "count_params() also counts non-trainable weights (the normalisation "
                    "statistics, the loss weight); sum the shapes of model.trainable_weights",
                    example=113_234),
        WrongAnswer(lambda a: int(a) == 4 * _param_counts()["click"]["trainable"],
                    "you multiplied the click model by four; the intent model's output has "
                    "three units (one per intent), so it is a little larger",
                    example=113_124),
        WrongAnswer(lambda a: int(a) in {c["trainable"] for c in _param_counts().values()},
                    "that is one model; add up all four", example=28_281),
    ],
    hints=["A weight's size is np.prod(w.shape); model.trainable_weights lists the trainable "
           "ones.",
           "sum(n_params(build_single_task(t, data.features, hidden=(64, 32), seed=0)) "
           "for t in TASKS)"],
    solution="""
    def n_params(model):
        return sum(int(np.prod(w.shape)) for w in model.trainable_weights)

    answer = sum(n_params(build_single_task(t, data.features, hidden=(64, 32), seed=0))
                 for t in TASKS)
    """,
)

# -- q4: the cost of a fifth task -------------------------------------------------------------

q4 = ChoiceQuestion(
    "02.q4",
    "The shop adds a fifth prediction to its guide: add-to-cart. With one model per task, what "
    "does that cost?",
    options={
        "a": "only a new output unit: the four existing models absorb the new task",
        "b": "a whole fifth model: its own copy of every input embedding, a fifth training run "
             "per update and a fifth forward pass for every item the guide shows",
        "c": "nothing extra to serve: the new model runs only when someone adds to cart",
        "d": "the purchase model gets better for free, because add-to-cart labels are related",
    },
    answer="b",
    why_not={
        "a": "that is what a shared multi-task model would need; single-task models cannot take "
             "on a new task, so the new task needs a model of its own",
        "c": "the guide must *predict* add-to-cart before the customer acts, so the model scores "
             "every item it shows",
        "d": "separate models share nothing: the purchase model never sees add-to-cart labels",
    },
    min_reason_words=5,
    reason_solution="single-task models share nothing, so every new task repeats the whole "
                    "model, its training and its serving",
    hints=["What does one single-task model contain, and when does it run?"],
)
