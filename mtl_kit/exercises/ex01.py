"""Exercises for lesson 1, the shop: a data query, two numbers to find, a judgement.

* ``q1`` (``01.q1``) write ``cvr(frame)``: the purchase rate among clicks (CVR) with pandas;
* ``q2`` (``01.q2``) how many training rows carry a purchase label;
* ``q3`` (``01.q3``) the best achievable purchase AUC on the test split;
* ``q4`` (``01.q4``) why the course splits by user, with a reason.

The expected values are computed from the course's shop (``mtl_kit.course.course_data``) the
first time a check needs them.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from mtl_kit.exercises import ChoiceQuestion, CodeQuestion, ValueQuestion, WrongAnswer

__all__ = ["q1", "q2", "q3", "q4"]


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

# -- q2: labels in the training split --------------------------------------------------------


def _purchase_labels_in_train() -> int:
    return int(_course().train.impressions["purchase"].notna().sum())


def _train_rows(answer: object) -> bool:
    return int(answer) == len(_course().train)


def _train_purchases(answer: object) -> bool:
    return int(answer) == int(np.nansum(_course().train.impressions["purchase"]))


def _shop_labels(answer: object) -> bool:
    return int(answer) == int(_course().shop.impressions["purchase"].notna().sum())


q2 = ValueQuestion(
    "01.q2",
    "How many rows of the course's training split (data.train) carry a purchase label "
    "(not NaN)?",
    expected=_purchase_labels_in_train,
    wrong=[
        WrongAnswer(_train_rows, "that is the number of training rows; count only the rows "
                                 "whose purchase label is not NaN (.notna().sum())",
                    example=27_987),
        WrongAnswer(_train_purchases, "that is the number of purchases (labels equal to 1); the "
                                      "question asks for every known label, 0 or 1",
                    example=43),
        WrongAnswer(_shop_labels, "that is the whole shop (train, validation and test); count "
                                  "the training split only: data.train.impressions",
                    example=6_000),
    ],
    hints=["A hidden label is NaN: train['purchase'].notna() is True where the label is known.",
           "Sum the boolean Series: data.train.impressions['purchase'].notna().sum()."],
    solution="answer = int(data.train.impressions['purchase'].notna().sum())",
)

# -- q3: the best achievable AUC -------------------------------------------------------------


def _best_auc(truth_column: str = "purchase_true", task: str = "purchase",
              part: str = "test") -> float:
    from sklearn.metrics import roc_auc_score

    frame = getattr(_course(), part).impressions
    frame = frame[frame[task].notna()]
    return float(roc_auc_score(frame[task], frame[truth_column]))


q3 = ValueQuestion(
    "01.q3",
    "What is the best achievable purchase AUC on the course's test split (data.test): the AUC "
    "of the true probability purchase_true against the purchase labels? Give 3 decimals.",
    expected=_best_auc,
    atol=5e-4,
    rtol=0.0,
    wrong=[
        WrongAnswer(lambda a: abs(float(a) - _best_auc("click_true", "click")) < 5e-4,
                    "that is the best achievable *click* AUC; use the purchase labels and "
                    "purchase_true", example=0.833),
        WrongAnswer(lambda a: abs(float(a) - _best_auc("cvr_true")) < 5e-4,
                    "cvr_true is P(purchase | click); the purchase label is drawn with "
                    "P(click and purchase) = purchase_true", example=0.922),
        WrongAnswer(lambda a: float(a) != round(_best_auc(), 3)
                    and abs(float(a) - round(_best_auc(), 2)) < 1e-9,
                    "close, but give 3 decimals, not 2", example=0.94),
        WrongAnswer(lambda a: abs(float(a) - 0.5) < 1e-9,
                    "0.5 is what guessing scores; the truth ranks far better than that",
                    example=0.5),
    ],
    hints=["sklearn.metrics.roc_auc_score(labels, scores) gives the AUC.",
           "test = data.test.impressions; roc_auc_score(test['purchase'], "
           "test['purchase_true'])."],
    solution="""
    from sklearn.metrics import roc_auc_score
    test = data.test.impressions
    answer = round(roc_auc_score(test["purchase"], test["purchase_true"]), 3)
    """,
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
        "c": "both splits use the same fractions (70 / 15 / 15), so they hold about the same "
             "number of rows",
        "d": "every impression has a row number; the reason is that rows of one user are not "
             "independent",
    },
    min_reason_words=5,
    reason_solution="the same user's taste and the same session's intent would be in train and "
                    "test, so a model could look them up instead of generalising to new users",
    hints=["Think of the memoriser in lesson 1: what did it score with a row split?",
           "All impressions of a session share one intent label."],
)
