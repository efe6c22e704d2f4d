"""The shop every lesson uses, split and ready for Keras, so numbers agree across lessons.

The course's standard setting is a shop whose purchase labels are **scarce**: only 15 % of the
training impressions carry one (think of a new market, or a label that arrives weeks later),
while click labels are complete. Click and purchase share most of their hidden drivers
(``task_correlation=0.6``), which is exactly when multi-task learning should help purchase.

Three splits, by user (no user appears in two of them):

* **train** (about 28,000 impressions): what the models learn from, purchase labels scarce;
* **validation** (about 30,000): fully labelled (an audit sample whose labels the shop paid
  for); λ, β, the number of epochs and the strategy are chosen here, never on test;
* **test** (about 112,000, over 1,000 purchases): fully labelled and big, so that a purchase
  AUC has a standard error near 0.01 instead of the 0.04 a 6,000-row test set gives. It is
  used once per lesson, for the final numbers.

**New users, no untrained embeddings.** The split is by user, so every validation and test user
is new: an embedding row for their ``user_id`` would never have been trained, and every
prediction for them would carry a random vector. The course's models therefore describe a user
by their attributes (age band, city tier, membership, device, activity level), which new users
share with the users the model trained on; ``user_id`` stays in the data but is not a model
input (``CourseData.features`` leaves it out). Every other categorical value the test rows use
also occurs in training (``tests/test_course.py`` checks it).

>>> data = course_data(("click", "purchase"))
>>> data.x_train["numeric"].shape[1], sorted(data.y_test), "user_id" in data.features.categorical
(4, ['click', 'purchase'], False)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mtl_kit.data import TASKS, FeatureSpec, ShopData, make_shop

#: The knobs of the course's shop (see ``data/README.md`` for what each one does).
COURSE_SHOP: dict[str, object] = {
    "n_users": 8_500,
    "n_items": 400,
    "n_impressions": 170_000,
    "task_correlation": 0.6,
    "label_fraction": {"purchase": 0.15},
    "seed": 0,
}
#: Shares of the impressions in train / validation / test (by user).
COURSE_SPLIT: tuple[float, float, float] = (0.165, 0.175, 0.66)
#: Inputs the course's models do not use: ids of users who are all new at test time.
NOT_MODEL_INPUTS: tuple[str, ...] = ("user_id",)

Arrays = dict[str, np.ndarray]


def model_features(features: FeatureSpec, drop: Sequence[str] = NOT_MODEL_INPUTS) -> FeatureSpec:
    """The ``FeatureSpec`` without the categorical features in ``drop``."""
    unknown = [name for name in drop if name not in features.categorical]
    if unknown:
        raise ValueError(f"drop must name categorical features {list(features.categorical)}, "
                         f"got unknown {unknown}")
    return FeatureSpec(
        {k: v for k, v in features.categorical.items() if k not in drop},
        list(features.numeric),
        {k: v for k, v in features.vocabularies.items() if k not in drop},
    )


@dataclass
class CourseData:
    """A shop split by user into train / validation / test, plus its Keras arrays.

    ``x_*`` hold the model inputs (int32 ids per categorical feature and a float32
    ``"numeric"`` matrix), ``y_*`` one float32 label array per task with NaN where the label is
    missing. The validation and test splits are fully labelled. ``features`` describes the
    model inputs (the shop's features without ``user_id``).
    """

    shop: ShopData
    train: ShopData
    val: ShopData
    test: ShopData
    tasks: tuple[str, ...]
    x_train: Arrays
    y_train: Arrays
    x_val: Arrays
    y_val: Arrays
    x_test: Arrays
    y_test: Arrays
    features: FeatureSpec

    def split_arrays(self, split: str) -> tuple[Arrays, Arrays]:
        """``(x, y)`` of ``"train"``, ``"val"`` or ``"test"``."""
        split = _check_split(split)
        return getattr(self, f"x_{split}"), getattr(self, f"y_{split}")

    def users(self, split: str) -> np.ndarray:
        """The user id of every row of ``split`` (the independent unit of its intervals)."""
        return getattr(self, _check_split(split)).impressions["user_id"].to_numpy()


def _check_split(split: object) -> str:
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
    return str(split)


def course_data(tasks: Sequence[str] = ("click", "purchase"), **knobs: object) -> CourseData:
    """The course's shop (``COURSE_SHOP``, overridden by ``knobs``), split by user.

    ``knobs`` are ``make_shop`` arguments, e.g. ``task_correlation=0.0`` or
    ``label_fraction=None`` for fully labelled data, plus ``split`` (the train / validation /
    test shares, default ``COURSE_SPLIT``).
    """
    if isinstance(tasks, str) or not isinstance(tasks, Sequence) or not tasks:
        raise TypeError(f"tasks must be a non-empty sequence of names from {TASKS}, got {tasks!r}")
    unknown = [task for task in tasks if task not in TASKS]
    if unknown:
        raise ValueError(f"tasks must be names from {TASKS}, got unknown {unknown}")
    unknown_knobs = sorted(set(knobs) - set(COURSE_SHOP)
                           - {"noise", "click_rate", "purchase_rate", "split"})
    if unknown_knobs:
        raise ValueError(f"knobs must be make_shop arguments or split, got unknown {unknown_knobs}")
    fractions = knobs.pop("split", COURSE_SPLIT)
    shop = make_shop(**{**COURSE_SHOP, **knobs})
    train, val, test = shop.split(fractions)
    full = shop.unmasked()  # regenerated once, for both evaluation splits
    val, test = val.unmasked(full), test.unmasked(full)
    tasks = tuple(tasks)
    x_train, y_train = train.to_arrays(tasks)
    x_val, y_val = val.to_arrays(tasks)
    x_test, y_test = test.to_arrays(tasks)
    return CourseData(shop, train, val, test, tasks, x_train, y_train, x_val, y_val,
                      x_test, y_test, model_features(shop.features))
