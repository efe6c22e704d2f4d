"""Exercises for lesson 2, single-task learning: a masked loss, two counts, a judgement, an
experiment.

* ``q1`` (``02.q1``) write ``masked_bce(y_true, y_pred)`` in NumPy: binary cross-entropy that
  skips missing (NaN) labels, and is 0 for a batch without any label;
* ``q2`` (``02.q2``) how many training labels each single-task model can use in a shop with
  scarcer labels;
* ``q3`` (``02.q3``) the trainable parameters of four larger single-task models;
* ``q4`` (``02.q4``) what grows when the shop adds a fifth task, with a reason;
* ``q5`` (``02.q5``) an experiment judged by its interval: the purchase model with 5 % of the
  labels against the course's 15 %, paired over 5 seeds on the validation split (the lesson
  compares all labels with 15 % on the test users); answer with the verdict.

Every expected value (and every typical wrong value the tests replay) is computed from the data,
so the questions follow the shop and the backend.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from mtl_kit.exercises import ChoiceQuestion, CodeQuestion, ValueQuestion, WrongAnswer
from mtl_kit.exercises.experiment import VERDICTS, ExperimentQuestion, verdict_mistakes

__all__ = ["EXERCISE_HIDDEN", "EXERCISE_SHOP", "Q5_MODEL", "Q5_REFERENCE", "SEEDS", "TASKS",
           "labels_experiment", "q1", "q2", "q3", "q4", "q5"]

TASKS = ("click", "purchase", "intent", "dwell")
#: The shop of questions 2 and 5: purchase labels even scarcer than the course's (5 %), dwell
#: half labelled; the same users and rows as the course's shop.
EXERCISE_SHOP = {"label_fraction": {"purchase": 0.05, "dwell": 0.5}}
#: The hidden layers of question 3's models (larger than the lesson's (64, 32)).
EXERCISE_HIDDEN = (128, 64)
#: The seeds of question 5's experiment.
SEEDS = (0, 1, 2, 3, 4)


class _Computed(WrongAnswer):
    """A typical wrong value that depends on the data: ``example`` is a zero-argument function
    computing it (only the tests replay it, so it is computed only then)."""

    @property
    def submitted(self):
        return self.example()


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


@cache
def _course_data():
    from mtl_kit.course import course_data

    return course_data(TASKS)


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
        _Computed(_rows_per_task, "you counted every training row; a model can only learn "
                                  "from the rows whose label is not NaN",
                  example=lambda: {t: len(_exercise_data().train) for t in TASKS}),
        _Computed(_positives, "you counted the positive labels (1s); a 0 label teaches the "
                              "model too: count every known label",
                  example=lambda: {**_labels_used(), **{
                      t: int(np.nansum(_exercise_data().y_train[t]))
                      for t in ("click", "purchase")}}),
        _Computed(_whole_shop, "you counted the whole shop; the models train on the training "
                               "split only (data.y_train)",
                  example=lambda: {t: int(_exercise_data().shop.impressions[t].notna().sum())
                                   for t in TASKS}),
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
        model = build_single_task(task, features, hidden=EXERCISE_HIDDEN, seed=0)
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
    "hidden=EXERCISE_HIDDEN, seed=0), EXERCISE_HIDDEN being (128, 64). How many trainable "
    "parameters do the four models hold in total?",
    expected=_total_trainable,
    wrong=[
        _Computed(lambda a: int(a) == sum(c["all"] for c in _param_counts().values()),
                  "count_params() also counts non-trainable weights (the normalisation "
                  "statistics, the loss weight); sum the shapes of model.trainable_weights",
                  example=lambda: sum(c["all"] for c in _param_counts().values())),
        _Computed(lambda a: int(a) == 4 * _param_counts()["click"]["trainable"],
                  "you multiplied the click model by four; the intent model's output has "
                  "three units (one per intent), so it is a little larger",
                  example=lambda: 4 * _param_counts()["click"]["trainable"]),
        _Computed(lambda a: int(a) in {c["trainable"] for c in _param_counts().values()},
                  "that is one model; add up all four",
                  example=lambda: _param_counts()["purchase"]["trainable"]),
    ],
    hints=["A weight's size is np.prod(w.shape); model.trainable_weights lists the trainable "
           "ones.",
           "sum(n_params(build_single_task(t, data.features, hidden=EXERCISE_HIDDEN, seed=0)) "
           "for t in TASKS)"],
    solution="""
    def n_params(model):
        return sum(int(np.prod(w.shape)) for w in model.trainable_weights)

    answer = sum(n_params(build_single_task(t, data.features, hidden=EXERCISE_HIDDEN, seed=0))
                 for t in TASKS)
    """,
)

# -- q4: the cost of a fifth task -------------------------------------------------------------

q4 = ChoiceQuestion(
    "02.q4",
    "The shop adds a fifth prediction to its guide: add-to-cart. With one model per task, what "
    "does that cost?",
    options={
        "a": "only a new output unit on one of the four models: the purchase model's last layer "
             "can absorb add-to-cart",
        "b": "a whole fifth model: its own embeddings, its own training run and a fifth forward "
             "pass for every item shown",
        "c": "a fifth model to train, but nothing extra to serve: it runs only in the few "
             "sessions where someone adds to cart",
        "d": "the purchase model gets better for free: add-to-cart labels are related to "
             "purchase, so its AUC rises",
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
    reason_keywords=[
        ("model", "network", "模型"),
        ("shar", "separate", "own", "whole", "copy", "copies", "repeat", "duplicat", "another",
         "fifth", "extra", "独立", "单独", "共享", "重复"),
    ],
    reason_hint="right choice, but say why: name that single-task models share nothing, so "
                "the new task needs a whole model of its own (its training and its serving)",
    hints=["What does one single-task model contain, and when does it run?"],
)

# -- q5: an experiment judged by its interval --------------------------------------------------


def _purchase_runs(data):
    import mtl_kit  # noqa: F401  (selects the backend before keras)
    from mtl_kit.experiments import TrainingPlan, single_task_runs
    from mtl_kit.tasks import as_tasks

    return single_task_runs(as_tasks(("purchase",))[0], data, SEEDS, TrainingPlan())


#: The names of question 5's two scorers in ``comparison_of`` (the reference second).
Q5_MODEL, Q5_REFERENCE = "5 %", "15 %"

_Q5_WRONG_SIGN = (f"check the sign: the difference is the {Q5_MODEL} model minus the "
                  f"{Q5_REFERENCE} model (reference={Q5_REFERENCE!r}), and a higher AUC is better")
_Q5_SETUP = (f"compare exactly two models named {Q5_REFERENCE!r} and {Q5_MODEL!r}, the "
             f"difference taken against {Q5_REFERENCE!r}: comparison_of({{{Q5_REFERENCE!r}: "
             f"scores_15, {Q5_MODEL!r}: scores_5}}, ..., reference={Q5_REFERENCE!r})")


def labels_experiment():
    """Question 5 on the course's shop: the purchase model with 5 % labels against 15 %, paired
    over ``SEEDS`` on the validation split (a ``Comparison``)."""
    from mtl_kit.paired import comparison_of

    course = _course_data()
    scores = {name: [{"purchase": run.predictions["val"]["purchase"]} for run in runs]
              for name, runs in ((Q5_REFERENCE, _purchase_runs(course)),
                                 (Q5_MODEL, _purchase_runs(_exercise_data())))}
    return comparison_of(scores, course.y_val, course.users("val"), ["purchase"], split="val",
                         reference=Q5_REFERENCE)


def _check_labels(result, verdict) -> str | None:
    from mtl_kit.exercises.experiment import check_comparison, judge_verdict

    problem = check_comparison(result, len(SEEDS))
    if problem is not None:
        return problem
    if sorted(result.models) != sorted((Q5_MODEL, Q5_REFERENCE)) \
            or result.reference != Q5_REFERENCE:
        return _Q5_SETUP
    if "purchase" not in {t.name for t in result.tasks}:
        return "score the purchase task: pass ['purchase'] as the tasks"
    return judge_verdict(result.difference(Q5_MODEL, "purchase"), verdict,
                         f"purchase, {Q5_MODEL} minus {Q5_REFERENCE}: the interval",
                         _Q5_WRONG_SIGN)


def _fake_labels(split: str = "val", seeds: int = len(SEEDS), purchase_shift: float = 0.0,
                 names: tuple[str, str] = (Q5_REFERENCE, Q5_MODEL)):
    """A synthetic comparison shaped like question 5's (for tests; trains nothing): both models
    score the same signal with their own noise; the second's purchase scores move up by
    ``purchase_shift`` on the buyers."""
    from mtl_kit.exercises.experiment import synthetic_scores
    from mtl_kit.paired import comparison_of

    rng, y, users, signal = synthetic_scores(5)
    n = len(users)
    runs: dict[str, list] = {name: [] for name in names}
    for _ in range(seeds):
        for k, name in enumerate(names):
            shift = purchase_shift * y["purchase"] if k == 1 else 0.0
            runs[name].append({"purchase": signal["purchase"] + rng.normal(scale=0.3, size=n)
                               + shift})
    return comparison_of(runs, y, users, ["purchase"], split=split, reference=names[0])


q5 = ExperimentQuestion(
    "02.q5",
    "Train the single-task purchase model on the 5 % purchase labels of "
    "course_data(TASKS, **EXERCISE_SHOP) and on the course's 15 % (course_data(TASKS)) over the "
    "5 seeds SEEDS (single_task_runs, the course's TrainingPlan()). Compare them on the "
    "validation split, paired over the same rows and seeds (the 5 % model minus the 15 % model, "
    "comparison_of(..., split='val', reference='15 %')), and read the verdict off the interval: "
    "'better', 'worse' or 'no difference we can detect'.",
    verdict_prompt="read the interval of result.difference('5 %', 'purchase')",
    checker=_check_labels,
    correct_example=lambda: (_fake_labels(), VERDICTS[2]),
    wrong=[
        *verdict_mistakes(_fake_labels, {"purchase_shift": 2.0}, _Q5_WRONG_SIGN, len(SEEDS)),
        WrongAnswer(lambda: (_fake_labels(names=(Q5_MODEL, Q5_REFERENCE)), VERDICTS[2]),
                    _Q5_SETUP),
    ],
    hints=["single_task_runs(purchase, data, SEEDS, TrainingPlan()) trains (or loads) one "
           "model per seed; run.predictions['val']['purchase'] holds its validation scores.",
           "comparison_of({'15 %': [{'purchase': s} for s in scores_15], '5 %': [...]}, "
           "course.y_val, course.users('val'), ['purchase'], split='val', reference='15 %') "
           "pairs them; print(result.difference('5 %', 'purchase')).",
           "An interval entirely below 0 means the 5 % model is worse; one that contains 0 is "
           "'no difference we can detect'."],
    solution="""
    purchase = as_tasks(("purchase",))[0]
    course = course_data(TASKS)
    runs_5 = single_task_runs(purchase, data, SEEDS, TrainingPlan())
    runs_15 = single_task_runs(purchase, course, SEEDS, TrainingPlan())
    result = comparison_of(
        {"15 %": [{"purchase": run.predictions["val"]["purchase"]} for run in runs_15],
         "5 %": [{"purchase": run.predictions["val"]["purchase"]} for run in runs_5]},
        course.y_val, course.users("val"), ["purchase"], split="val", reference="15 %")
    print(result.difference("5 %", "purchase"))
    verdict = ...  # the interval decides
    """,
)
