"""Exercises for lesson 1, the shop: a data query, two numbers to find, a judgement, a precision.

* ``q1`` (``01.q1``) write ``cvr(frame)``: the purchase rate among clicks (CVR) with pandas;
* ``q2`` (``01.q2``) how many *clicked* training rows carry a purchase label (the rows a
  conversion model can learn from; the lesson counts all labelled rows, not these);
* ``q3`` (``01.q3``) the best achievable *conversion* AUC (``cvr_true`` on the clicked rows) on
  the validation split (the lesson shows purchase and click on the test split);
* ``q4`` (``01.q4``) why the course splits by user, with a reason;
* ``q5`` (``01.q5``) a small experiment: the Hanley-McNeil standard error of a purchase AUC on
  the validation split (the lesson computes it for the test splits), judged within a tolerance.

The expected values are computed from the course's shop (``mtl_kit.course.course_data``) the
first time a check needs them; none of them is printed by the lesson.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import pandas as pd

from mtl_kit.exercises import ChoiceQuestion, CodeQuestion, ValueQuestion, WrongAnswer

__all__ = ["q1", "q2", "q3", "q4", "q5"]


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
        "a": "so that every split has the same click rate",
        "b": "a user's rows (and a session's rows) are not independent: a row split puts the "
             "same users and sessions in train and test, so the test score rewards memorising "
             "them instead of serving new customers",
        "c": "splitting by user leaves more rows for training",
        "d": "a row split is impossible: impressions have no id",
    },
    answer="b",
    why_not={
        "a": "a random row split gives similar rates too; the problem with rows is leakage: the "
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


def _val_se() -> float:
    return _hanley_mcneil(AUC_Q5, *_counts())


q5 = ValueQuestion(
    "01.q5",
    f"How precise is a purchase AUC measured on the validation split? Compute the Hanley-McNeil "
    f"standard error of a purchase AUC of {AUC_Q5} on data.val (n_pos = its purchases, n_neg = "
    f"its rows without a purchase). Give 3 decimals; an answer within 0.0005 of the exact value "
    f"counts.",
    expected=_val_se,
    atol=5e-4,
    rtol=0.0,
    wrong=[
        WrongAnswer(lambda a: _near(_hanley_mcneil(AUC_Q5, *_counts("test")), 1e-3)(a),
                    "that is the test split's standard error; count the purchases of data.val",
                    example=0.008),
        WrongAnswer(lambda a: _near(_hanley_mcneil(AUC_Q5, *_counts()[::-1]))(a),
                    "you swapped the two counts: n_pos is the number of purchases (label 1), "
                    "n_neg the number of rows without one", example=0.010),
        WrongAnswer(lambda a: _near(_hanley_mcneil(AUC_Q5, *_counts(task="click")))(a),
                    "those are the click labels; the question is about purchase", example=0.006),
        WrongAnswer(lambda a: 0 < float(a) < 1e-3 and abs(float(a) - _val_se() ** 2) < 1e-4,
                    "that is the variance; the standard error is its square root",
                    example=0.00027),
    ],
    hints=["The lesson's hanley_mcneil_se(auc, n_pos, n_neg) does the arithmetic; you only need "
           "the two counts of the validation split.",
           "n_pos = int(data.val.impressions['purchase'].sum()); n_neg = len(data.val) - n_pos."],
    solution=f"""
    def hanley_mcneil_se(auc, n_pos, n_neg):
        q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
        variance = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2)
                    + (n_neg - 1) * (q2 - auc**2)) / (n_pos * n_neg)
        return variance ** 0.5

    val = data.val.impressions
    n_pos = int(val["purchase"].sum())
    answer = round(hanley_mcneil_se({AUC_Q5}, n_pos, len(val) - n_pos), 3)
    """,
    correct_note="a 95 % interval is about ±2 standard errors, so validation pins a purchase "
                 "AUC down to a few hundredths: enough to choose λ or β; the big test split is "
                 "about twice as precise",
)
