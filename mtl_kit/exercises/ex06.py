"""Exercises for lesson 6, choosing tasks: affinity, groupings, negative transfer, MMoE's gates
and an experiment.

* ``q1`` (``06.q1``) write ``affinity_from_losses(before, after)`` in NumPy: the lookahead
  affinity Z_{i→j} = 1 − L_j(after a step on i) / L_j(before), for every pair at once;
* ``q2`` (``06.q2``) the total affinity of a grouping of four tasks, from an affinity matrix
  that is not the lesson's;
* ``q3`` (``06.q3``) read a gain's interval: is it negative transfer? With a reason that names
  the idea;
* ``q4`` (``06.q4``) why OMoE suffers when tasks drift apart and MMoE does not, with a reason;
* ``q5`` (``06.q5``) an experiment the lesson left out: all four tasks in one model (dwell
  standardised), compared with single-task over 5 seeds on validation; purchase's verdict read
  off its interval.

Only ``q5`` trains anything, and it is the learner's own ``compare`` (its checker trains
nothing: it checks the run is the asked-for experiment and reads the verdict from its interval).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mtl_kit.exercises import ChoiceQuestion, CodeQuestion, ValueQuestion, WrongAnswer
from mtl_kit.exercises.experiment import (
    VERDICTS,
    ExperimentQuestion,
    check_comparison,
    judge_verdict,
    sign_hint,
    synthetic_scores,
    verdict_mistakes,
)

__all__ = ["AFFINITY", "GROUPING", "VERDICTS", "q1", "q2", "q3", "q4", "q5"]

# -- q1: the lookahead affinity from losses ----------------------------------------------------


def _affinity(before, after):
    """Z[i, j] = 1 − after[i, j] / before[j]; before: (T,), after: (T, T)."""
    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    return 1.0 - after / before[None, :]


def _inverted(before, after):
    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    return 1.0 - before[None, :] / after


def _sign_flipped(before, after):
    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    return after / before[None, :] - 1.0


def _by_stepped_task(before, after):
    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    return 1.0 - after / before[:, None]


def _ratio_only(before, after):
    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    return after / before[None, :]


def _affinity_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(6)
    cases = []
    for n_tasks in (3, 4, 2):
        before = rng.uniform(0.2, 1.5, size=n_tasks)
        after = before[None, :] * (1.0 + rng.normal(scale=0.05, size=(n_tasks, n_tasks)))
        cases.append((before, after))
    return cases


q1 = CodeQuestion(
    "06.q1",
    "Write affinity_from_losses(before, after): before has shape (T,), task j's loss L_j on a "
    "batch; after has shape (T, T), after[i, j] = L_j on the same batch after one gradient step "
    "on task i's loss for the shared parameters. Return the (T, T) lookahead affinities "
    "Z[i, j] = 1 − after[i, j] / before[j].",
    reference=_affinity,
    cases=_affinity_cases,
    name="affinity function",
    wrong=[
        WrongAnswer(_inverted, "you divided the loss before by the loss after; Z compares the "
                               "loss after the step with the loss before: 1 − after / before"),
        WrongAnswer(_sign_flipped, "your sign is flipped: a step that lowers task j's loss must "
                                   "give Z > 0, so Z = 1 − after / before"),
        WrongAnswer(_by_stepped_task, "you divided by the loss of the task that took the step "
                                      "(row i); divide by the loss of the task whose loss "
                                      "changed (column j): before[None, :], not before[:, None]"),
        WrongAnswer(_ratio_only, "that is the ratio after / before; the affinity is 1 minus it, "
                                 "so that 'no change' gives 0"),
    ],
    hints=["Broadcasting: before[None, :] has shape (1, T) and divides every row of after by "
           "the losses before, column by column.",
           "return 1 - after / before[None, :]"],
    solution="""
    def affinity_from_losses(before, after):
        return 1 - after / before[None, :]     # column j divided by L_j before the step
    """,
)

# -- q2: the total affinity of a grouping ------------------------------------------------------

_TASKS = ["click", "purchase", "intent", "dwell"]
#: Lookahead affinities Ẑ_{i→j} × 10⁴ of another shop (row: step on i, column: loss of j).
AFFINITY = pd.DataFrame(
    [[np.nan, 0.90, 0.20, -0.10],
     [0.30, np.nan, -0.40, 0.05],
     [0.10, -0.60, np.nan, 0.50],
     [-0.20, 0.15, 0.70, np.nan]],
    index=pd.Index(_TASKS, name="step on"), columns=pd.Index(_TASKS, name="loss of"))
#: The grouping whose total affinity q2 asks for.
GROUPING = (("click", "purchase", "intent"), ("dwell",))


def _score(grouping, average: bool = True, across: bool = False) -> float:
    """Σ over groups of Σ_{j ∈ group} mean_{i ∈ group, i ≠ j} Z_{i→j} (and mistakes)."""
    total = 0.0
    for group in grouping:
        if len(group) < 2:
            continue  # a task alone scores 0
        for j in group:
            givers = [i for i in (_TASKS if across else group) if i != j]
            values = [AFFINITY.loc[i, j] for i in givers]
            total += float(np.mean(values) if average else np.sum(values))
    return total


q2 = ValueQuestion(
    "06.q2",
    "AFFINITY holds Ẑ_{i→j} × 10⁴ for four tasks of another shop (row i: the task stepped on; "
    "column j: the task whose loss changed). A task's score in a group is the mean affinity it "
    "receives from the other members (0 for a task alone); a grouping's score is the sum over "
    "all tasks. What is the score of the grouping click + purchase + intent | dwell (× 10⁴)?",
    expected=lambda: _score(GROUPING),
    rtol=0.0,
    atol=0.005,
    wrong=[
        WrongAnswer(_score(GROUPING, average=False),
                    "you summed what each task receives; the score averages it over the other "
                    "members of the group (two of them for click, purchase and intent)"),
        WrongAnswer(_score(GROUPING, across=True),
                    "you also counted affinities from dwell, which is in another group; a task "
                    "only receives from the members of its own group"),
        WrongAnswer(_score((_TASKS,)),
                    "that is the score of all four tasks in one group; dwell is alone here, and "
                    "a task alone scores 0"),
    ],
    hints=["Click receives from purchase and intent: mean(AFFINITY.loc['purchase', 'click'], "
           "AFFINITY.loc['intent', 'click']). Do the same for purchase and intent, and add.",
           "mtl_kit.affinity.group_score(AFFINITY, group) computes one group's score; sum it over "
           "the groups."],
    solution="""
    from mtl_kit.affinity import group_score

    answer = sum(group_score(AFFINITY, group) for group in GROUPING)
    """,
)

# -- q3: reading an interval: is it negative transfer? ----------------------------------------

q3 = ChoiceQuestion(
    "06.q3",
    "On another shop, a sweep prints for click at task correlation p = −0.5: hard sharing − "
    "single-task AUC −0.006 [−0.013, +0.002] over 5 seeds (validation). What can you say?",
    options={
        "a": "negative transfer: sharing makes click worse at p = −0.5, since the mean gain of "
             "−0.006 lies below 0 over the five seeds",
        "b": "no difference we can detect: the data fit no harm as well as a small one, so it is "
             "a warning, not a finding",
        "c": "sharing helps click, since the interval reaches above 0 and the mean is only just "
             "below it",
        "d": "nothing at all: five seeds are never enough to say anything about a task, whatever "
             "the interval shows",
    },
    answer="b",
    why_not={
        "a": "the mean is below 0, but its interval reaches above 0: a difference is 'worse' "
             "only when the whole interval lies below 0",
        "c": "the interval also reaches below 0, and its mean is negative: no gain is detected "
             "either",
        "d": "five seeds with paired intervals often detect differences (purchase's gains in the "
             "lesson); here the interval is simply too wide to exclude 0",
    },
    reason_keywords=[("interval", "bracket", "range"),
                     ("contain", "include", "cross", "straddl", "span", "both sides", "zero")],
    reason_hint="right choice, but say why in terms of the interval: does it contain 0?",
    reason_solution="the interval contains 0, so the data cannot tell a small harm from none",
    hints=["A verdict is 'better' or 'worse' only when the whole interval lies on one side of 0.",
           "Does [−0.013, +0.002] contain 0?"],
)

# -- q4: why one gate is not enough ------------------------------------------------------------

q4 = ChoiceQuestion(
    "06.q4",
    "In the lesson's capacity-limited synthetic experiment, OMoE got clearly worse as the two "
    "tasks drifted apart (p from 1 to 0) while MMoE hardly changed. Why?",
    options={
        "a": "OMoE has fewer parameters than MMoE, so in a capacity-limited run it simply fits "
             "both tasks less well",
        "b": "MMoE trains for more epochs than OMoE, so by the end it has caught up with the "
             "drifting tasks",
        "c": "OMoE's one gate gives both tasks the same mix of experts; MMoE's gate per task lets "
             "each route to its own",
        "d": "the synthetic tasks become identical at p = 0, so nothing should change and the "
             "drop is seed noise",
    },
    answer="c",
    why_not={
        "a": "they differ by about 400 parameters out of 4,000, and at p = 1 OMoE was the best "
             "of the three: its trouble appears only when the tasks differ",
        "b": "every model trains the same 30 epochs on the same batches",
        "d": "at p = 0 the task weights are orthogonal: the tasks are unrelated, not the same",
    },
    reason_keywords=[("gate",), ("same", "one ", "single", "shared", "each", "own", "per task",
                                 "different")],
    reason_hint="right choice, but name the mechanism: what does a gate decide, and how many "
                "gates does each model have?",
    reason_solution="OMoE has one gate, so both tasks get the same mixture; MMoE gives each task "
                    "its own gate",
    hints=["Write down z_t for both: OMoE z = Σ_e g_e(x) f_e(x) for every task, MMoE "
           "z_t = Σ_e g_t,e(x) f_e(x).",
           "When the tasks need different experts, which model can give them different ones?"],
)

# -- q5: an experiment: all four tasks in one model ------------------------------------------

Q5_SEEDS = 5
#: The name the experiment's model must have in ``compare``.
Q5_MODEL = "all four"
#: The tasks the model must learn together.
Q5_TASKS = ("click", "purchase", "intent", "dwell")

_WRONG_SETUP = (f"compare one model named {Q5_MODEL!r} with the single-task baselines: "
                f"compare({{{Q5_MODEL!r}: builder}}, data, seeds={Q5_SEEDS}, split='val')")
_WRONG_TASKS = (f"train all four tasks together: data = standardised_log(course_data("
                f"{Q5_TASKS}), 'dwell') and a hard-sharing model on all of them")
_WRONG_SIGN = sign_hint(Q5_MODEL, "single-task")
_NOT_STANDARDISED = ("standardise dwell first, as the lesson does: data = standardised_log("
                     "course_data(...), 'dwell'); in seconds, dwell's squared error would "
                     "swamp the other tasks' losses")


def _check_experiment(result: Any, verdict: Any) -> str | None:
    from mtl_kit.experiments import SINGLE_TASK

    problem = check_comparison(result, Q5_SEEDS)
    if problem is not None:
        return problem
    if Q5_MODEL not in result.models or result.reference != SINGLE_TASK \
            or len(result.models) != 2:
        return _WRONG_SETUP
    predicted = result.runs[Q5_MODEL][0].predictions[result.split]
    if {t.name for t in result.tasks} != set(Q5_TASKS) or set(predicted) != set(Q5_TASKS):
        return _WRONG_TASKS
    dwell = np.asarray(result.y_true["dwell"], dtype=float)
    if abs(np.nanmean(dwell)) > 0.5 or not 0.5 < np.nanstd(dwell) < 2.0:
        return _NOT_STANDARDISED
    return judge_verdict(result.difference(Q5_MODEL, "purchase"), verdict,
                         "purchase's interval", _WRONG_SIGN)


def _fake_result(split: str = "val", seeds: int = Q5_SEEDS, purchase_shift: float = 0.0,
                 name: str = Q5_MODEL, dwell_scale: float = 1.0,
                 tasks: tuple[str, ...] = Q5_TASKS):
    """A small synthetic Comparison shaped like the experiment's (for tests; trains nothing):
    click and purchase scores from a shared signal plus each model's noise (the model's
    purchase shifted up by ``purchase_shift`` on the buyers), intent uniform-ish
    probabilities, dwell labels N(0, dwell_scale²); the model predicts ``tasks``."""
    from mtl_kit.experiments import SINGLE_TASK, Comparison, SeedRun
    from mtl_kit.tasks import as_tasks

    rng, y, users, signal = synthetic_scores(6)
    n = len(users)
    labels = {**y, "intent": rng.integers(0, 3, size=n).astype("int32"),
              "dwell": (dwell_scale * rng.normal(size=n)).astype("float32")}
    labels = {t: labels[t] for t in tasks}
    model, reference = [], []
    for _ in range(seeds):
        runs = []
        for shift in (purchase_shift, 0.0):
            logits = rng.normal(scale=0.3, size=(n, 3))
            made = {"click": signal["click"] + rng.normal(scale=0.3, size=n),
                    "purchase": signal["purchase"] + rng.normal(scale=0.3, size=n)
                    + shift * y["purchase"],
                    "intent": np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True),
                    "dwell": labels.get("dwell", np.zeros(n)) + rng.normal(
                        scale=0.5 * dwell_scale, size=n)}
            runs.append({t: made[t] for t in tasks})
        model.append(SeedRun({}, 3, {split: runs[0]}))
        reference.append(SeedRun({}, 3, {split: runs[1]}))
    return Comparison(split, tuple(range(seeds)), as_tasks(tasks), labels, users,
                      {SINGLE_TASK: reference, name: model}, SINGLE_TASK)


q5 = ExperimentQuestion(
    "06.q5",
    "The lesson trained purchase with one helper at a time; the affinity also scored the "
    "grouping of all four tasks in one model. Train hard sharing on click, purchase, intent and "
    f"dwell together (dwell standardised on the log scale, as in the lesson), named "
    f"{Q5_MODEL!r}, and compare it with the single-task baselines over {Q5_SEEDS} seeds on the "
    "validation split; read purchase's verdict off its interval: 'better', 'worse' or 'no "
    "difference we can detect'. (Then read the other tasks' rows: who pays for the sharing?)",
    verdict_prompt="read purchase's row of result.paired()",
    checker=_check_experiment,
    correct_example=lambda: (_fake_result(), VERDICTS[2]),
    wrong=[
        *verdict_mistakes(_fake_result, {"purchase_shift": 2.0}, _WRONG_SIGN, Q5_SEEDS),
        WrongAnswer(lambda: (_fake_result(name="hard"), VERDICTS[2]), _WRONG_SETUP),
        WrongAnswer(lambda: (_fake_result(tasks=("purchase", "dwell")), VERDICTS[2]),
                    _WRONG_TASKS),
        WrongAnswer(lambda: (_fake_result(dwell_scale=10.0), VERDICTS[2]), _NOT_STANDARDISED),
    ],
    hints=[f"data = standardised_log(course_data({Q5_TASKS}), 'dwell'); a builder is "
           f"lambda seed: build_hard_sharing({Q5_TASKS}, data.features, shared=(64, 32), "
           "head=(16,), seed=seed).",
           f"result = compare({{{Q5_MODEL!r}: builder}}, data, seeds=5, split='val'); then "
           f"print(result.difference({Q5_MODEL!r}, 'purchase')): does its interval contain 0?"],
    solution=f"""
    data = standardised_log(course_data({Q5_TASKS}), "dwell")
    built = {{}}


    def builder(seed):
        if "model" not in built:  # build once, re-initialised for every seed
            built["model"] = build_hard_sharing(data.tasks, data.features, shared=(64, 32),
                                                head=(16,), seed=seed)
        return built["model"]


    result = compare({{{Q5_MODEL!r}: builder}}, data, seeds=5, split="val")
    print(result.describe({Q5_MODEL!r}, "purchase"))
    verdict = ...  # the verdict in that sentence: the interval decides it
    """,
)
