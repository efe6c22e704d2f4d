"""Exercises for lesson 1, the shop: a query, two numbers, a judgement, a precision, an experiment.

* ``q1`` (``01.q1``) write ``cvr(frame)``: the purchase rate among clicks (CVR) with pandas;
* ``q2`` (``01.q2``) how many *clicked* training rows carry a purchase label (the rows a
  conversion model can learn from; the lesson counts all labelled rows, not these);
* ``q3`` (``01.q3``) the best achievable *conversion* AUC (``cvr_true`` on the clicked rows) on
  the validation split (the lesson shows purchase and click on the test split);
* ``q4`` (``01.q4``) why the course splits by user, with a reason;
* ``q5`` (``01.q5``) how precise the validation split is: the half-width 1.96 · SE of a
  purchase AUC's 95 % interval on it (the lesson computes the test splits'), within a tolerance;
* ``q6`` (``01.q6``) an experiment judged by its interval: score the validation rows by their
  device's and by their channel's click rate in training, and read the paired difference.

The expected values are computed from the course's shop (``mtl_kit.course.course_data``) the
first time a check needs them; none of them is printed by the lesson.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from mtl_kit.exercises import ChoiceQuestion, CodeQuestion, ValueQuestion, WrongAnswer
from mtl_kit.exercises.experiment import (
    SAYS_DETECTED,
    SAYS_NOTHING,
    VERDICTS,
    WRONG_SPLIT,
    ExperimentQuestion,
    sign_hint,
)

__all__ = ["Q6_GROUPS", "Q6_MODEL", "Q6_REFERENCE", "q1", "q2", "q3", "q4", "q5", "q6",
           "rate_comparison"]


@cache
def _course():
    from mtl_kit.course import course_data

    return course_data(("click", "purchase"))


# -- q1: CVR with pandas ---------------------------------------------------------------------


def _cvr(frame: pd.DataFrame) -> float:
    """CVR = purchases / clicks, over the clicked rows whose purchase label is known."""
    clicked = frame[frame["click"] == 1]
    return float(clicked["purchase"].dropna().mean())


def _all_clicks(frame: pd.DataFrame) -> float:
    return float(frame["purchase"].sum() / frame["click"].sum())


def _purchase_rate(frame: pd.DataFrame) -> float:
    return float(frame["purchase"].mean())


def _ctr(frame: pd.DataFrame) -> float:
    return float(frame["click"].mean())


def _cvr_cases() -> list[tuple[pd.DataFrame]]:
    from mtl_kit.data import make_shop

    masked = make_shop(n_impressions=3_000, label_fraction={"purchase": 0.3}, seed=1)
    columns = ["click", "purchase", "channel"]
    small = pd.DataFrame({
        "click": [1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0],
        "purchase": [1.0, np.nan, 0.0, 0.0, np.nan, 1.0, np.nan, 0.0],
        "channel": ["search", "feed", "feed", "chat", "search", "search", "feed", "chat"],
    })
    return [
        (small,),
        (masked.impressions[columns].copy(),),
        (masked.unmasked().impressions[columns].copy(),),
    ]


q1 = CodeQuestion(
    "01.q1",
    "Write cvr(frame): the conversion rate CVR = purchases / clicks of an impressions frame, "
    "counting only the clicked rows whose purchase label is known (purchase is NaN where the "
    "label is hidden).",
    reference=_cvr,
    cases=_cvr_cases,
    name="query",
    wrong=[
        WrongAnswer(_all_clicks, "you divided by every click, including the clicks whose "
                                 "purchase label is hidden (NaN); keep the clicked rows and "
                                 "average their known purchase labels"),
        WrongAnswer(_purchase_rate, "that is the purchase rate (purchases / impressions); CVR "
                                    "divides by clicks: keep only the rows with click == 1"),
        WrongAnswer(_ctr, "that is the click-through rate (clicks / impressions); CVR is "
                          "purchases / clicks"),
    ],
    hints=["Keep the rows with frame['click'] == 1 first.",
           "Among those rows, the share of purchases is the mean of the purchase column; "
           "pandas' .mean() skips NaN."],
    solution="""
    def cvr(frame):
        clicked = frame[frame["click"] == 1]
        return clicked["purchase"].mean()  # .mean() skips the hidden (NaN) labels
    """,
)

# -- q2: labels a conversion model can learn from -------------------------------------------


def _train() -> pd.DataFrame:
    return _course().train.impressions


def _clicked_purchase_labels_in_train() -> int:
    train = _train()
    return int(((train["click"] == 1) & train["purchase"].notna()).sum())


def _all_purchase_labels(answer: object) -> bool:
    return int(answer) == int(_train()["purchase"].notna().sum())


def _train_clicks(answer: object) -> bool:
    return int(answer) == int((_train()["click"] == 1).sum())


def _train_purchases(answer: object) -> bool:
    return int(answer) == int(np.nansum(_train()["purchase"]))


q2 = ValueQuestion(
    "01.q2",
    "A conversion model (CVR = P(purchase | click)) learns from the clicked rows whose purchase "
    "label is known. How many rows of the course's training split (data.train) are clicked "
    "(click == 1) AND carry a purchase label (not NaN)?",
    expected=_clicked_purchase_labels_in_train,
    wrong=[
        WrongAnswer(_all_purchase_labels, "that counts every row with a purchase label, clicked "
                                          "or not; keep only the rows with click == 1 as well",
                    example=4_180),
        WrongAnswer(_train_clicks, "that is every clicked training row; most of them have a "
                                   "hidden (NaN) purchase label: require .notna() as well",
                    example=2_205),
        WrongAnswer(_train_purchases, "that is the number of purchases (labels equal to 1); the "
                                      "question asks for every known label on a clicked row, "
                                      "0 or 1", example=24),
    ],
    hints=["Combine two boolean Series with &: (train['click'] == 1) & train['purchase'].notna().",
           "Sum the combined Series: ((train['click'] == 1) & train['purchase'].notna()).sum()."],
    solution="""
    train = data.train.impressions
    answer = int(((train["click"] == 1) & train["purchase"].notna()).sum())
    """,
)

# -- q3: the best achievable conversion AUC --------------------------------------------------


def _best_auc(truth_column: str = "cvr_true", task: str = "purchase", part: str = "val",
              clicked_only: bool = True) -> float:
    from sklearn.metrics import roc_auc_score

    frame = getattr(_course(), part).impressions
    frame = frame[frame[task].notna()]
    if clicked_only:
        frame = frame[frame["click"] == 1]
    return float(roc_auc_score(frame[task], frame[truth_column]))


def _near(value: float, atol: float = 5e-4) -> Callable[[object], bool]:
    return lambda answer: abs(float(answer) - value) < atol


q3 = ValueQuestion(
    "01.q3",
    "Among the clicked rows of the validation split (data.val), what is the best achievable "
    "AUC of the conversion step: the AUC of the true conversion probability cvr_true against "
    "the purchase labels? Give 3 decimals.",
    expected=_best_auc,
    atol=5e-4,
    rtol=0.0,
    wrong=[
        WrongAnswer(lambda a: _near(_best_auc(clicked_only=False))(a),
                    "you scored every validation row; conversion is P(purchase | click): keep "
                    "only the rows with click == 1", example=0.899),
        WrongAnswer(lambda a: _near(_best_auc("purchase_true", clicked_only=False))(a),
                    "that is the best achievable *purchase* AUC (purchase_true over every row); "
                    "the question asks for cvr_true on the clicked rows", example=0.925),
        WrongAnswer(lambda a: _near(_best_auc(part="test"))(a),
                    "that is the test split; answer on the validation split, data.val",
                    example=0.819),
        WrongAnswer(lambda a: float(a) != round(_best_auc(), 3)
                    and abs(float(a) - round(_best_auc(), 2)) < 1e-9,
                    "close, but give 3 decimals, not 2", example=0.81),
    ],
    hints=["val = data.val.impressions; clicked = val[val['click'] == 1].",
           "roc_auc_score(clicked['purchase'], clicked['cvr_true'])."],
    solution="""
    from sklearn.metrics import roc_auc_score
    val = data.val.impressions
    clicked = val[val["click"] == 1]
    answer = round(roc_auc_score(clicked["purchase"], clicked["cvr_true"]), 3)
    """,
    correct_note="conversion alone is much harder to rank than purchase: much of the purchase "
                 "AUC comes from the click step",
)

# -- q4: why split by user -------------------------------------------------------------------

q4 = ChoiceQuestion(
    "01.q4",
    "The course splits train / validation / test by user, not by row. Why?",
    options={
        "a": "rows of one user or session are not independent: a row split puts them on both "
             "sides, so the test rewards memorising them",
        "b": "so that every split keeps the same click rate: a row split can bunch the rare "
             "purchases into one split and bias its test AUC",
        "c": "splitting by user leaves more rows for training than a row split with the same "
             "fractions, since no session is cut in two",
        "d": "a row split is impossible: impressions have no id of their own, so the user id is "
             "the only key the data offer to split on",
    },
    answer="a",
    why_not={
        "b": "a random row split gives similar rates too; the problem with rows is leakage: the "
             "same users and sessions end up on both sides",
        "c": "a row split with the same fractions holds about the same number of training "
             "rows; the point is which rows: with a row split the same users and sessions end "
             "up on both sides",
        "d": "every impression has a row number; the reason is that rows of one user are not "
             "independent",
    },
    min_reason_words=5,
    reason_solution="the same user's taste and the same session's intent would be in train and "
                    "test, so a model could look them up instead of generalising to new users",
    reason_keywords=[
        ("user", "session", "customer", "person", "people", "用户", "会话", "顾客"),
        ("leak", "memor", "look", "seen", "both", "independen", "new", "generali", "泄漏",
         "泄露", "记住", "见过", "新"),
    ],
    reason_hint="right choice, but say why: name who would sit on both sides of a row split "
                "(the same users and sessions) and what a model could then do (look them up, "
                "i.e. leakage, instead of serving new customers)",
    hints=["Think of the memoriser in lesson 1: what did it score with a row split?",
           "All impressions of a session share one intent label."],
)

# -- q5: how precise is the validation split? -----------------------------------------------

#: The purchase AUC whose standard error q5 asks for.
AUC_Q5 = 0.8


def _hanley_mcneil(auc: float, n_pos: int, n_neg: int) -> float:
    """Standard error of an AUC from the numbers of positives and negatives (Hanley & McNeil)."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    variance = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2)
                + (n_neg - 1) * (q2 - auc**2)) / (n_pos * n_neg)
    return float(np.sqrt(variance))


def _counts(part: str = "val", task: str = "purchase") -> tuple[int, int]:
    labels = getattr(_course(), part).impressions[task].dropna()
    n_pos = int(labels.sum())
    return n_pos, len(labels) - n_pos


def _val_half_width() -> float:
    """Half-width of the 95 % interval, 1.96 · SE, of the q5 AUC on the validation split."""
    return 1.96 * _hanley_mcneil(AUC_Q5, *_counts())


def _near_half_width(*counts: int) -> Callable[[object], bool]:
    return lambda answer: _near(1.96 * _hanley_mcneil(AUC_Q5, *counts))(answer)


q5 = ValueQuestion(
    "01.q5",
    f"How precise is a purchase AUC measured on the validation split? With the Hanley-McNeil "
    f"standard error SE of a purchase AUC of {AUC_Q5} on data.val (n_pos = its purchases, n_neg "
    f"= its rows without a purchase), give the half-width of its 95 % interval, 1.96 × SE, to 3 "
    f"decimals; an answer within 0.0005 of the exact value counts.",
    expected=_val_half_width,
    atol=5e-4,
    rtol=0.0,
    wrong=[
        WrongAnswer(lambda a: _near(_hanley_mcneil(AUC_Q5, *_counts()))(a)
                    or _near(1.96 * _hanley_mcneil(AUC_Q5, *_counts("test")))(a),
                    "that is the standard error itself (and, by chance, the test split's "
                    "half-width the lesson printed); multiply the validation split's SE by 1.96",
                    example=0.016),
        WrongAnswer(lambda a: _near(1.96 * round(_hanley_mcneil(AUC_Q5, *_counts()), 3))(a),
                    "you rounded the standard error before multiplying it by 1.96; round only "
                    "the final half-width", example=0.031),
        WrongAnswer(lambda a: _near(2 * _hanley_mcneil(AUC_Q5, *_counts()))(a),
                    "you took 2 × SE (the rule of thumb); the question asks for 1.96 × SE",
                    example=0.033),
        WrongAnswer(lambda a: _near_half_width(*_counts()[::-1])(a),
                    "you swapped the two counts: n_pos is the number of purchases (label 1), "
                    "n_neg the number of rows without one", example=0.020),
        WrongAnswer(lambda a: _near_half_width(*_counts(task="click"))(a),
                    "those are the click labels; the question is about purchase", example=0.011),
    ],
    hints=["The lesson's hanley_mcneil_se(auc, n_pos, n_neg) does the arithmetic; you only need "
           "the two counts of the validation split, then multiply by 1.96.",
           "n_pos = int(data.val.impressions['purchase'].sum()); n_neg = len(data.val) - n_pos."],
    solution=f"""
    def hanley_mcneil_se(auc, n_pos, n_neg):
        q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
        variance = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2)
                    + (n_neg - 1) * (q2 - auc**2)) / (n_pos * n_neg)
        return variance ** 0.5

    val = data.val.impressions
    n_pos = int(val["purchase"].sum())
    answer = round(1.96 * hanley_mcneil_se({AUC_Q5}, n_pos, len(val) - n_pos), 3)
    """,
    correct_note="validation pins a purchase AUC down to about ± 0.03: enough to choose λ or β; "
                 "the big test split, with four times as many purchases, is about twice as "
                 "precise",
)

# -- q6: an experiment: which column tells more about a click? -------------------------------

#: The two columns q6 compares, as the names of the two scorers in ``comparison_of``.
Q6_MODEL, Q6_REFERENCE = "device", "channel"
#: How many values each column takes (a rate per value: at most this many distinct scores).
Q6_GROUPS = {"device": 3, "channel": 3}

_Q6_SETUP = (f"wrap the two scorers with comparison_of({{{Q6_REFERENCE!r}: [channel_scores], "
             f"{Q6_MODEL!r}: [device_scores]}}, data.y_val, data.users('val'), ['click'], "
             f"split='val', reference={Q6_REFERENCE!r})")
_Q6_ONE_RUN = ("a rate per group has no seed: give each scorer exactly one array of scores, "
               f"[scores]; {_Q6_SETUP}")
_Q6_WRONG_SIGN = sign_hint(Q6_MODEL, Q6_REFERENCE)
_Q6_LEAK = ("you took the rates from the validation rows you then score: that is leakage "
            "(each row's own label is in its rate). Compute the rates on data.train and map "
            "them onto the validation rows")


def _val_rates(column: str) -> np.ndarray:
    """Each validation row scored by its group's click rate *on the validation rows* (leakage)."""
    val = _course().val.impressions
    rates = val.groupby(column, observed=True)["click"].mean()
    return val[column].map(rates).astype(float).to_numpy()


def _train_rates(column: str) -> np.ndarray:
    """Each validation row scored by its group's click rate in the training split (q6's
    scorer)."""
    course = _course()
    rates = course.train.impressions.groupby(column, observed=True)["click"].mean()
    return course.val.impressions[column].map(rates).astype(float).to_numpy()


def rate_comparison(scorer: Callable[[str], np.ndarray] = _train_rates):
    """q6's experiment on the course's shop: ``scorer(column)`` scores the validation rows."""
    from mtl_kit.paired import comparison_of

    course = _course()
    return comparison_of({name: [{"click": scorer(name)}] for name in (Q6_REFERENCE, Q6_MODEL)},
                         course.y_val, course.users("val"), ["click"], split="val",
                         reference=Q6_REFERENCE)


def _check_rates(result: Any, verdict: Any) -> str | None:
    from mtl_kit.exercises.experiment import WRONG_SPLIT, judge_verdict

    if not all(hasattr(result, a) for a in ("difference", "split", "seeds", "models",
                                            "reference", "tasks", "predictions")):
        return (f"result must be what comparison_of(...) returns (a Comparison), got "
                f"{type(result).__name__}")
    if result.split != "val":
        return WRONG_SPLIT
    if sorted(result.models) != sorted((Q6_MODEL, Q6_REFERENCE)):
        return f"name the two scorers {Q6_REFERENCE!r} and {Q6_MODEL!r}: {_Q6_SETUP}"
    if result.reference != Q6_REFERENCE:
        return (f"take the difference against {Q6_REFERENCE!r}: pass reference="
                f"{Q6_REFERENCE!r}")
    if len(result.seeds) != 1:
        return _Q6_ONE_RUN
    if "click" not in {t.name for t in result.tasks}:
        return "score the click task: pass ['click'] as the tasks"
    for column, groups in Q6_GROUPS.items():
        scores = np.asarray(result.predictions(column, "click")[0], dtype=float)
        if np.unique(scores).size > groups:
            return (f"your {column!r} scores take {np.unique(scores).size} different values; a "
                    f"click rate per {column} takes at most {groups} (one per {column})")
        if scores.size == len(_course().val.impressions) and np.allclose(
                scores, _val_rates(column)):
            return _Q6_LEAK
    return judge_verdict(result.difference(Q6_MODEL, "click"), verdict,
                         f"{Q6_MODEL} minus {Q6_REFERENCE}: the interval", _Q6_WRONG_SIGN)


def _fake_rates(split: str = "val", seeds: int = 1, informative: bool = False,
                names: tuple[str, str] = (Q6_REFERENCE, Q6_MODEL)):
    """A synthetic comparison shaped like q6's (for tests; loads no data): each scorer gives a
    rate to each of 3 groups; the device's groups follow the click signal when
    ``informative``, else both scorers' groups are random."""
    from mtl_kit.exercises.experiment import synthetic_scores
    from mtl_kit.paired import comparison_of

    rng, y, users, signal = synthetic_scores(11)
    n = len(users)
    runs: dict[str, list[dict[str, np.ndarray]]] = {name: [] for name in names}
    for _ in range(seeds):
        for name in names:
            groups = rng.integers(3, size=n)
            if informative and name == names[1]:
                groups = np.digitize(signal["click"], np.quantile(signal["click"], [0.3, 0.7]))
            runs[name].append({"click": np.sort(rng.random(3))[groups]})
    return comparison_of(runs, y, users, ("click",), split=split, reference=names[0])


q6 = ExperimentQuestion(
    "01.q6",
    f"Which column tells more about a click: the customer's {Q6_MODEL} or the {Q6_REFERENCE} "
    f"she came from? Score every validation row with its group's click rate in the training "
    f"split, once per column, compare the two scorers on the validation split (paired, "
    f"{Q6_MODEL} minus {Q6_REFERENCE}, an interval over the validation users) and read the "
    f"verdict off the interval: 'better', 'worse' or 'no difference we can detect'.",
    verdict_prompt=f"read the interval of result.difference({Q6_MODEL!r}, 'click')",
    checker=_check_rates,
    correct_example=lambda: (_fake_rates(), VERDICTS[2]),
    wrong=[
        WrongAnswer(lambda: (_fake_rates(), "better"), SAYS_DETECTED),
        WrongAnswer(lambda: (_fake_rates(informative=True), VERDICTS[2]), SAYS_NOTHING),
        WrongAnswer(lambda: (_fake_rates(informative=True), "worse"), _Q6_WRONG_SIGN),
        WrongAnswer(lambda: (_fake_rates(split="test"), VERDICTS[2]), WRONG_SPLIT),
        WrongAnswer(lambda: (_fake_rates(seeds=2), VERDICTS[2]), _Q6_ONE_RUN),
        WrongAnswer(lambda: (_fake_rates(names=("channel", "category")), VERDICTS[2]),
                    "name the two scorers"),
        WrongAnswer(lambda: (rate_comparison(_val_rates), VERDICTS[2]), _Q6_LEAK),
    ],
    hints=["rates = train.groupby(column, observed=True)['click'].mean() is the click rate of "
           "each group in training; val[column].map(rates).astype(float).to_numpy() scores the "
           "validation rows with it.",
           "result = comparison_of({'channel': [{'click': rate_scores('channel')}], "
           "'device': [{'click': rate_scores('device')}]}, data.y_val, data.users('val'), "
           "['click'], split='val', reference='channel'); print(result.difference('device', "
           "'click')).",
           "An interval entirely above 0 is 'better', entirely below 0 'worse', one that "
           "contains 0 'no difference we can detect'."],
    solution="""
    def rate_scores(column, task="click"):
        rates = train.groupby(column, observed=True)[task].mean()   # learnt on training rows
        return val[column].map(rates).astype(float).to_numpy()      # applied to validation

    result = comparison_of({"channel": [{"click": rate_scores("channel")}],
                            "device": [{"click": rate_scores("device")}]},
                           data.y_val, data.users("val"), ["click"], split="val",
                           reference="channel")
    print(result.difference("device", "click"))
    verdict = ...  # the interval decides: above 0, below 0, or around 0?
    """,
)
