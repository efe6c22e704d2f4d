"""Exercises for lesson 9, applications: a ranking metric by hand, a frame to encode, two
judgements and an experiment.

* ``q1`` (``09.q1``) write HR@k, ``hit_rate_at_k(y_true, score, users, k)``, in NumPy; checked
  against ``mtl_kit.ranking.hit_rate_at_k`` on random customers for k = 1, 3 and 5;
* ``q2`` (``09.q2``) the ids ``encode_frame``'s encoder gives three new customers' memberships
  (a column the lesson did not encode);
* ``q3`` (``09.q3``) why a CVR model trained on clicks overrates the unclicked impressions, with
  a reason;
* ``q4`` (``09.q4``) what the encoder does with a category value training never saw, with a
  reason;
* ``q5`` (``09.q5``) an experiment the lesson left out: do the request's words change
  *purchase*? Judged by the learner's own interval.
"""

from __future__ import annotations

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

__all__ = ["EXERCISE_COLUMNS", "NEW_MEMBERSHIPS", "VERDICTS", "exercise_frame", "new_members",
           "q1", "q2", "q3", "q4", "q5"]

# -- q1: HR@k by hand ----------------------------------------------------------------------------


def _reference_hit_rate(y_true, score, users, k):
    from mtl_kit.ranking import hit_rate_at_k

    return hit_rate_at_k(y_true, score, users, k=k)


def _hit_rate_numpy(y_true, score, users, k, *, all_users=False, ascending=False):
    """HR@k in NumPy, and the typical mistakes as switches."""
    y, s, u = (np.asarray(a) for a in (y_true, score, users))
    hits, counted = 0, 0
    for user in np.unique(u):
        rows = u == user
        if not all_users and y[rows].sum() == 0:
            continue
        order = np.argsort(s[rows] if ascending else -s[rows], kind="stable")
        counted += 1
        hits += int(y[rows][order[:k]].sum() > 0)
    return hits / counted


def _hit_rate_cases() -> list[tuple]:
    rng = np.random.default_rng(9)
    cases = []
    for n_users, per_user, k in ((30, 8, 1), (50, 10, 3), (40, 12, 5)):
        users = np.repeat(np.arange(n_users), per_user)
        y = (rng.random(users.size) < 0.15).astype("float64")
        score = y * 0.3 + rng.random(users.size)
        cases.append((y, score, users, k))
    return cases


q1 = CodeQuestion(
    "09.q1",
    "Write hit_rate_at_k(y_true, score, users, k) with NumPy: for every customer with at least "
    "one positive row (y_true == 1), sort her rows by score, highest first; she is a hit if one "
    "of her top k rows is positive. Return the share of hits among those customers.",
    reference=_reference_hit_rate,
    cases=_hit_rate_cases,
    name="hit_rate_at_k",
    rtol=1e-9,
    atol=1e-12,
    wrong=[
        WrongAnswer(lambda y, s, u, k: _hit_rate_numpy(y, s, u, k, all_users=True),
                    "you divided by every customer; HR@k counts only the customers with at least "
                    "one positive row (a customer who bought nothing cannot be a hit)"),
        WrongAnswer(lambda y, s, u, k: _hit_rate_numpy(y, s, u, k, ascending=True),
                    "you took the k LOWEST scores; the guide shows the highest first "
                    "(np.argsort(-score))"),
    ],
    hints=["Loop over np.unique(users); rows = users == user selects one customer's rows.",
           "order = np.argsort(-score[rows]); hit = y_true[rows][order[:k]].sum() > 0."],
    solution="""
    def hit_rate_at_k(y_true, score, users, k):
        hits, buyers = 0, 0
        for user in np.unique(users):
            rows = users == user
            if y_true[rows].sum() == 0:
                continue                                  # no positive: not counted
            buyers += 1
            top = np.argsort(-score[rows], kind="stable")[:k]
            hits += int(y_true[rows][top].sum() > 0)
        return hits / buyers
    """,
)

# -- q2: an id from the encoder ------------------------------------------------------------------

#: The columns of the exercise's frame (``exercise_frame``).
EXERCISE_COLUMNS = ("city_tier", "membership", "price", "click")


@cache
def exercise_frame():
    """The course's training rows with a few columns, as a learner's own table would be."""
    from mtl_kit.course import course_data

    return data_frame(course_data(("click",)))


def data_frame(data):
    frame = data.train.impressions[list(EXERCISE_COLUMNS)].copy()
    for column in ("city_tier", "membership"):
        frame[column] = frame[column].astype(str)
    return frame.reset_index(drop=True)


#: The memberships of the three new customers q2 encodes.
NEW_MEMBERSHIPS = ("gold", "none", "silver")


def new_members():
    """Three new rows, as they would arrive after training."""
    import pandas as pd

    return pd.DataFrame({"city_tier": ["tier1"] * 3, "membership": list(NEW_MEMBERSHIPS),
                         "price": [120.0, 80.0, 45.0], "click": [0.0, 0.0, 0.0]})


def _encoder():
    from mtl_kit.frames import encode_frame

    _, _, encoder = encode_frame(exercise_frame(), categorical=["city_tier", "membership"],
                                 numeric=["price"], labels={"click": "binary"})
    return encoder


def _new_ids() -> list[int]:
    return [int(i) for i in _encoder().inputs(new_members())["membership"]]


def _shop_order_ids() -> list[int]:
    """The ids a learner gets by counting the shop's list (none, silver, gold) from 0."""
    from mtl_kit.data.features import MEMBERSHIPS

    return [MEMBERSHIPS.index(m) for m in NEW_MEMBERSHIPS]


def _ids(answer) -> list[int]:
    return [int(a) for a in list(answer)]


q2 = ValueQuestion(
    "09.q2",
    "Encode exercise_frame() with encode_frame(frame, categorical=['city_tier', 'membership'], "
    "numeric=['price'], labels={'click': 'binary'}). Then encode new_members() (three new "
    "customers: gold, none, silver) with the encoder's inputs(...). Which membership ids do "
    "the three rows get, as a list?",
    expected=_new_ids,
    wrong=[
        WrongAnswer(lambda a: _ids(a) == _shop_order_ids() != _new_ids(),
                    "those ids count from 0, as the shop's list (none, silver, gold) does; "
                    "encode_frame keeps id 0 for the out-of-vocabulary bucket and gives the "
                    "values ids from 1, most frequent in the training frame first",
                    example=[2, 0, 1]),
        WrongAnswer(lambda a: sorted(_ids(a)) == sorted(_new_ids()) and _ids(a) != _new_ids(),
                    "the right ids, in another order: give them row by row, as "
                    "new_members() lists the customers (gold, none, silver)",
                    example=[1, 2, 3]),
    ],
    hints=["x, y, encoder = encode_frame(...); then encoder.inputs(new_members())['membership'] "
           "gives the three ids; encoder.features.vocabularies['membership'] lists the values "
           "by id.",
           "Entry 0 of the vocabulary is '<unknown>'; the others follow by how often they "
           "occur in the training frame."],
    solution="""
    x, y, encoder = encode_frame(frame, categorical=["city_tier", "membership"],
                                 numeric=["price"], labels={"click": "binary"})
    answer = encoder.inputs(new_members())["membership"].tolist()
    """,
)

# -- q3: the funnel's bias -----------------------------------------------------------------------

q3 = ChoiceQuestion(
    "09.q3",
    "A conversion model trained only on clicked impressions is used to score every impression "
    "the guide could show. In the lesson it rated the unclicked impressions as likely to convert "
    "as the clicked ones, though in truth they convert about half as often. Why?",
    options={
        "a": "the unclicked impressions have no purchase label, so their loss is zero and the "
             "model is not penalised there",
        "b": "its learning rate was too high for the rare purchase labels, so every update "
             "overshot towards the clicked rows' rate",
        "c": "its training rows were selected by the click, which goes with buying; it never saw "
             "how the unclicked ones differ",
        "d": "its pCVR must be multiplied by pCTR before it means anything for an impression "
             "nobody has clicked",
    },
    answer="c",
    why_not={
        "a": "ESMM has no purchase-given-click label on unclicked rows either; what matters is "
             "which population the model learns from, not the zero loss on masked rows",
        "b": "a learning rate changes how well it fits, not which rows it learns from; the bias "
             "stays with any optimiser",
        "d": "pCVR = P(purchase | click) is meaningful on its own; pCTR × pCVR is pCTCVR, "
             "another quantity",
    },
    min_reason_words=5,
    reason_keywords=[("select", "sample", "bias", "only click", "clicked"),
                     ("unclick", "not click", "entire", "population", "all impression",
                      "every impression", "distribution")],
    reason_hint="right choice, but say why: name the selected sample (only clicked rows) and "
                "the population it is then used on (the unclicked impressions, the entire space)",
    reason_solution="the training sample is selected by the click, so the model never learns how "
                    "the unclicked population converts: sample-selection bias",
    hints=["Which rows did CVR on clicks train on, and which rows is it asked about?",
           "Customers click on what they like; do the clicked rows look like the others?"],
)

# -- q4: the unknown bucket ----------------------------------------------------------------------

q4 = ChoiceQuestion(
    "09.q4",
    "After training, a row arrives with category 'garden', which the training frame never had. "
    "What does encoder.inputs give it, and what does the model then use?",
    options={
        "a": "id 0, the out-of-vocabulary bucket: the model reads that embedding row, shared by "
             "every unseen value",
        "b": "a ValueError naming the column, because 'garden' is not in the vocabulary fitted on "
             "the training frame",
        "c": "a new id, one more than the largest; the embedding table grows by a row, "
             "initialised at random",
        "d": "the id of the most frequent category, so the model reads the embedding of its best "
             "guess",
    },
    answer="a",
    why_not={
        "b": "unknown input values are expected in production; only labels outside the training "
             "classes are refused",
        "c": "the embedding table's size is fixed when the model is built; a new id would have "
             "no row (on JAX its lookup silently returns NaN)",
        "d": "that would pretend the row is something it is not; the encoder keeps id 0 apart "
             "for unknown values",
    },
    min_reason_words=5,
    reason_keywords=[("0", "zero", "bucket", "unknown", "out-of-vocabulary", "oov", "unseen"),
                     ("embedding", "row", "vector", "table", "fixed")],
    reason_hint="right choice, but say why: name the unknown bucket (id 0) and the embedding "
                "row it reads",
    reason_solution="the vocabulary reserves id 0 for unseen values, so the fixed embedding "
                    "table has a row for them",
    hints=["Look at encoder.features.vocabularies[column][0].",
           "Try it: encoder.inputs(frame.assign(category='garden'))."],
)

# -- q5: an experiment, judged by its interval --------------------------------------------------

Q5_SEEDS = 5
Q5_MODEL, Q5_REFERENCE = "with text", "without text"
_WRONG_SETUP = (f"compare exactly two models named {Q5_MODEL!r} and {Q5_REFERENCE!r}, with "
                f"reference={Q5_REFERENCE!r}: comparison_of({{{Q5_MODEL!r}: ..., "
                f"{Q5_REFERENCE!r}: ...}}, y_val, users, encoder.tasks, split='val', "
                f"reference={Q5_REFERENCE!r})")
_WRONG_SIGN = sign_hint(Q5_MODEL, Q5_REFERENCE)


def _check_experiment(result: Any, verdict: Any) -> str | None:
    """Purchase's verdict for the two models (``check_two_models``)."""
    return check_two_models(
        result, verdict, model=Q5_MODEL, reference=Q5_REFERENCE, n_seeds=Q5_SEEDS,
        setup_hint=_WRONG_SETUP, sign_hint=_WRONG_SIGN,
        task_hint="score the purchase task: pass the lesson's four tasks (encoder.tasks)",
        tasks=("purchase",))


def _fake_result(**settings: Any):
    """A synthetic Comparison shaped like the experiment's (for tests; trains nothing)."""
    return fake_comparison(**{"seed": 9, "names": (Q5_MODEL, Q5_REFERENCE), **settings})


q5 = ExperimentQuestion(
    "09.q5",
    "Do the request's words help purchase? The lesson showed they lift intent. Train the "
    f"lesson's two four-task models ({Q5_MODEL!r} on x_train, {Q5_REFERENCE!r} on "
    f"x_train_plain, the reference) on the lesson's {Q5_SEEDS} seeds and budget, score them on "
    "the VALIDATION split with mtl_kit.paired.comparison_of, and read purchase's verdict off its "
    "interval: 'better', 'worse' or 'no difference we can detect'.",
    verdict_prompt="read purchase's row of result.paired()",
    checker=_check_experiment,
    correct_example=lambda: (_fake_result(), VERDICTS[2]),
    wrong=[
        *verdict_mistakes(_fake_result, {"purchase_shift": 2.0}, _WRONG_SIGN, Q5_SEEDS),
        WrongAnswer(lambda: (_fake_result(names=("text", "plain")), VERDICTS[2]), _WRONG_SETUP),
    ],
    hints=["The exercise notebook's setup cell builds x_train, x_val, x_train_plain, x_val_plain, "
           "y_train, y_val and both feature specs; fit_seeds(model, range(5), x, y, epochs=8, "
           "batch_size=512) trains the five seeds, runs.predict(x_val)[seed] predicts.",
           f"result = comparison_of({{{Q5_MODEL!r}: [...5 dicts...], {Q5_REFERENCE!r}: [...]}}, "
           f"y_val, data.users('val'), encoder.tasks, split='val', reference={Q5_REFERENCE!r}); "
           f"print(result.describe({Q5_MODEL!r}, 'purchase'))"],
    solution=f"""
    def val_predictions(features, x, x_eval):
        model = build_hard_sharing(encoder.tasks, features, loss_weights={{"dwell": 0.01}},
                                   learning_rate=0.003)
        runs = fit_seeds(model, range(5), x, y_train, epochs=8, batch_size=512)
        return [runs.predict(x_eval)[seed] for seed in range(5)]

    result = comparison_of(
        {{{Q5_MODEL!r}: val_predictions(encoder.features, x_train, x_val),
          {Q5_REFERENCE!r}: val_predictions(plain.features, x_train_plain, x_val_plain)}},
        y_val, data.users("val"), encoder.tasks, split="val", reference={Q5_REFERENCE!r})
    print(result.describe({Q5_MODEL!r}, "purchase"))
    verdict = ...  # the verdict in that sentence: the interval decides it
    """,
)
