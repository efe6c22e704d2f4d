"""Exercises for lesson 10, tools and outlook: padding for several devices, the memory of a
shard, task grouping, why padding is harmless, and an experiment on PLE's levels.

* ``q1`` (``10.q1``) how many unlabelled padding rows ``fit`` adds in one epoch under
  ``DataParallel`` on 6 devices (every batch, not only the last, must split evenly);
* ``q2`` (``10.q2``) the memory of one shard of 400,000 rows (MB = 2²⁰ bytes);
* ``q3`` (``10.q3``) the best split of four tasks into two groups from an affinity table;
* ``q4`` (``10.q4``) why the padding rows change no gradient, with a reason;
* ``q5`` (``10.q5``) an experiment: does a second PLE level buy anything on purchase? Compare
  2 levels with 1 level over 5 seeds on validation and read purchase's verdict off its interval.

Nothing here trains except the learner's own ``compare`` in ``q5`` (its checker trains nothing:
it checks that the run is the asked-for experiment and computes the verdict from its interval).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from mtl_kit.exercises import ChoiceQuestion, ValueQuestion, WrongAnswer
from mtl_kit.exercises.experiment import (
    VERDICTS,
    ExperimentQuestion,
    check_two_models,
    fake_comparison,
    sign_hint,
    verdict_mistakes,
)

__all__ = ["AFFINITY", "DEVICES", "PER_ROW", "Q1_BATCH", "Q1_ROWS", "SHARD_ROWS", "VERDICTS",
           "q1", "q2", "q3", "q4", "q5"]

# -- q1: padding rows under DataParallel -----------------------------------------------------

#: The run of q1: rows, batch size and devices.
Q1_ROWS, Q1_BATCH, DEVICES = 10_007, 256, 6


def _padding(rows: int = Q1_ROWS, batch: int = Q1_BATCH, devices: int = DEVICES,
             last_only: bool = False, full_only: bool = False) -> int:
    """Σ over the epoch's batches of (⌈b / N⌉ · N − b); the typical mistakes as variants."""
    sizes = [batch] * (rows // batch) + ([rows % batch] if rows % batch else [])
    if last_only:
        sizes = sizes[-1:]
    if full_only:
        sizes = [b for b in sizes if b == batch]
    return sum(math.ceil(b / devices) * devices - b for b in sizes)


q1 = ValueQuestion(
    "10.q1",
    f"A model trains under keras.distribution.DataParallel on {DEVICES} devices, on "
    f"{Q1_ROWS:,} rows in batches of {Q1_BATCH}. MultiTaskNet.fit pads every batch whose size "
    f"does not divide by the number of devices up to the next multiple, with unlabelled rows. "
    f"How many padding rows does it add in one epoch, over all batches?",
    expected=lambda: _padding(),
    rtol=0.0,
    atol=0.0,
    wrong=[
        WrongAnswer(_padding(last_only=True),
                    f"you padded only the last, short batch; a full batch of {Q1_BATCH} rows "
                    f"does not divide by {DEVICES} either, so every full batch is padded too"),
        WrongAnswer(_padding(full_only=True),
                    "you padded the full batches; the last, short batch needs padding as well"),
        WrongAnswer(Q1_BATCH - Q1_ROWS % Q1_BATCH,
                    f"the last batch is padded to a multiple of the {DEVICES} devices, not to a "
                    f"whole batch of {Q1_BATCH}"),
        WrongAnswer(0, f"{Q1_BATCH} is not a multiple of {DEVICES}: count what each batch "
                       f"needs to reach the next multiple"),
    ],
    hints=[f"First the batches: {Q1_ROWS // Q1_BATCH} full ones of {Q1_BATCH} rows and a last "
           f"one with the rest ({Q1_ROWS} mod {Q1_BATCH}).",
           "A batch of b rows is padded to ⌈b / N⌉ · N rows: mtl_kit.distributed.padded_size(b, "
           "N) - b padding rows. Add them up over the batches."],
    solution=f"""
    from mtl_kit.distributed import padded_size

    full, rest = divmod({Q1_ROWS}, {Q1_BATCH})
    sizes = [{Q1_BATCH}] * full + ([rest] if rest else [])
    answer = sum(padded_size(b, {DEVICES}) - b for b in sizes)
    """,
)

# -- q2: the memory of one shard -------------------------------------------------------------

#: Rows in q2's shard, and what each row stores (4 bytes each: int32 ids, float32 values).
SHARD_ROWS = 400_000
PER_ROW: dict[str, int] = {"categorical ids (int32)": 12, "numeric features (float32)": 4,
                           "labels (float32)": 2}


def _shard_mb(bytes_per_value: int = 4, mb: int = 2**20, columns: int | None = None) -> float:
    values = sum(PER_ROW.values()) if columns is None else columns
    return SHARD_ROWS * values * bytes_per_value / mb


q2 = ValueQuestion(
    "10.q2",
    f"A shard holds {SHARD_ROWS:,} impressions; each row stores the values in PER_ROW, 4 bytes "
    "each. How much memory does one loaded shard take, in MB (1 MB = 2**20 bytes)? Give 2 "
    "decimals.",
    expected=lambda: _shard_mb(),
    rtol=0.0,
    atol=0.01,
    wrong=[
        WrongAnswer(round(_shard_mb(mb=10**6), 2),
                    "you divided by 10**6; the question's MB is 2**20 = 1,048,576 bytes"),
        WrongAnswer(round(_shard_mb(columns=16), 2),
                    "you left out the labels: a shard stores each row's labels too"),
        WrongAnswer(round(_shard_mb(bytes_per_value=8), 2),
                    "int32 and float32 values take 4 bytes each, not 8"),
        WrongAnswer(round(_shard_mb(columns=6), 2),
                    "the 12 categorical ids are stored too, one int32 each"),
    ],
    hints=["Bytes per row: (12 + 4 + 2) values × 4 bytes.",
           f"Times {SHARD_ROWS:,} rows, divided by 2**20."],
    solution=f"""
    bytes_per_row = sum(PER_ROW.values()) * 4
    answer = round({SHARD_ROWS} * bytes_per_row / 2**20, 2)
    """,
)

# -- q3: task grouping from affinities -------------------------------------------------------

#: Task affinities Z[i, j]: how much a step on task i's loss lowers task j's loss (row i, col j).
AFFINITY = pd.DataFrame(
    [[0.00, 0.30, -0.05, 0.10],
     [0.25, 0.00, 0.02, 0.05],
     [-0.10, 0.00, 0.00, 0.20],
     [0.05, 0.04, 0.15, 0.00]],
    index=["click", "purchase", "intent", "dwell"],
    columns=["click", "purchase", "intent", "dwell"],
)


def _best_split() -> str:
    from mtl_kit.affinity import rank_groupings

    return rank_groupings(AFFINITY, n_groups=2)["grouping"].iloc[0]


q3 = ChoiceQuestion(
    "10.q3",
    "Lesson 6's task affinity Z[i, j] says how much a step on task i's loss lowers task j's "
    "loss. Scoring a group by the affinity each member receives from the others (summed over "
    "the groups), which split of the four tasks in AFFINITY into two groups scores best?",
    options={
        "a": "click + intent | purchase + dwell",
        "b": "click + dwell | purchase + intent",
        "c": "click + purchase | intent + dwell",
        "d": "click | purchase + intent + dwell",
    },
    answer="c",
    why_not={
        "a": "click and intent hurt each other (both affinities are negative), so that group "
             "scores below 0",
        "b": "click and dwell help each other a little, but purchase and intent hardly at all; "
             "the strong pairs are click with purchase and intent with dwell",
        "d": "a task alone scores 0, and the three-task group averages in the weak and negative "
             "pairs; rank_groupings(AFFINITY, n_groups=2) puts this split lower",
    },
    min_reason_words=5,
    reason_solution="click and purchase lower each other's loss the most, and intent and dwell "
                    "help each other, while click and intent hurt each other: keep the helping "
                    "pairs together",
    reason_keywords=[
        ("affinit", "help", "lower", "score", "hurt", "negative", "positive", "亲和"),
        ("click", "purchase", "intent", "dwell", "pair", "together"),
    ],
    reason_hint="right choice, but say why: name which tasks help each other (their affinities "
                "in both directions) and which pair should be kept apart",
    hints=["For a pair, the group's score is Z[a, b] + Z[b, a]; a task alone scores 0.",
           "mtl_kit.affinity.rank_groupings(AFFINITY, n_groups=2) scores every split."],
)

# -- q4: why padding changes no gradient -----------------------------------------------------

q4 = ChoiceQuestion(
    "10.q4",
    "Under DataParallel, fit pads a batch whose size does not divide by the number of devices "
    "with copies of its last row. Why does the padding change no gradient?",
    options={
        "a": "the copies repeat a real row, so the average gradient over the batch stays the same",
        "b": "the copies' labels are set to missing (NaN), and each task's loss skips rows "
             "without a label",
        "c": "Keras drops the padding rows again on each device, before the loss is computed",
        "d": "the all-reduce divides the summed gradients by the number of devices, which cancels "
             "the extra rows",
    },
    answer="b",
    why_not={
        "a": "a repeated row counts twice in an average, which would change the gradient; the "
             "copies must not count at all",
        "c": "Keras sees the padded batch as it is and splits it over the devices; nothing is "
             "removed",
        "d": "the all-reduce averages the devices' gradients; it knows nothing about which rows "
             "were padding",
    },
    min_reason_words=5,
    reason_solution="the padded rows have missing labels, and the masked loss averages only "
                    "over labelled rows, so they contribute nothing to any task's loss or "
                    "gradient",
    reason_keywords=[
        ("label", "nan", "missing", "mask", "标签", "缺失"),
        ("loss", "average", "mean", "count", "contribut", "损失", "平均"),
    ],
    reason_hint="right choice, but say why: name what is special about the padded rows (their "
                "labels) and what the loss does with such rows",
    hints=["What does TaskSpec.masked_loss do with a row whose label is NaN?",
           "Lesson 1: missing labels are NaN, and a task's loss skips them."],
)

# -- q5: an experiment, judged by its interval -----------------------------------------------

Q5_SEEDS = 5
#: The names the experiment's two models must have in ``compare``.
Q5_MODEL, Q5_REFERENCE = "2 levels", "1 level"

_WRONG_SETUP = (f"compare exactly two models named {Q5_MODEL!r} and {Q5_REFERENCE!r}, with "
                f"reference={Q5_REFERENCE!r}: compare({{{Q5_MODEL!r}: two, {Q5_REFERENCE!r}: "
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
    return fake_comparison(**{"seed": 10, "names": (Q5_MODEL, Q5_REFERENCE), **settings})


q5 = ExperimentQuestion(
    "10.q5",
    "Does a second PLE level buy anything? Compare the lesson-5 PLE with two levels "
    f"({Q5_MODEL!r}) and the same PLE with one level ({Q5_REFERENCE!r}, the reference) over "
    f"{Q5_SEEDS} seeds on the validation split, and read purchase's verdict off its interval: "
    "'better', 'worse' or 'no difference we can detect'.",
    verdict_prompt="read purchase's row of result.paired()",
    checker=_check_experiment,
    correct_example=lambda: (_fake_result(), VERDICTS[2]),
    wrong=[
        *verdict_mistakes(_fake_result, {"purchase_shift": 2.0}, _WRONG_SIGN, Q5_SEEDS),
        WrongAnswer(lambda: (_fake_result(names=("PLE", "MMoE")), VERDICTS[2]), _WRONG_SETUP),
    ],
    hints=["A builder is a function seed -> compiled model: lambda seed: build_ple(TASKS, "
           "data.features, n_levels=2, n_shared_experts=2, n_task_experts=1, "
           "expert_units=(32,), tower=(16,), seed=seed), and the same with n_levels=1.",
           f"result = compare({{{Q5_MODEL!r}: two, {Q5_REFERENCE!r}: one}}, data, seeds=5, "
           f"split='val', reference={Q5_REFERENCE!r}); then print(result.difference("
           f"{Q5_MODEL!r}, 'purchase')): does its interval [low, high] contain 0?"],
    solution=f"""
    def ple_builder(n_levels):
        def build(seed):
            return build_ple(TASKS, data.features, n_levels=n_levels, n_shared_experts=2,
                             n_task_experts=1, expert_units=(32,), tower=(16,), seed=seed)
        return build

    result = compare({{{Q5_MODEL!r}: ple_builder(2), {Q5_REFERENCE!r}: ple_builder(1)}}, data,
                     seeds=5, split="val", reference={Q5_REFERENCE!r})
    print(result.describe({Q5_MODEL!r}, "purchase"))
    verdict = ...  # the verdict in that sentence: the interval decides it
    """,
)
