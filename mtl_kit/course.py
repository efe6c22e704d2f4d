"""The shop every lesson uses, split and ready for Keras, so numbers agree across lessons.

The course's standard setting is a shop whose purchase labels are **scarce**: only 15 % of the
impressions carry one (think of a new market, or a label that arrives weeks later), while click
labels are complete. Click and purchase share most of their hidden drivers
(``task_correlation=0.6``), which is exactly when multi-task learning should help purchase.

>>> data = course_data(("click", "purchase"))
>>> data.x_train["numeric"].shape[1], sorted(data.y_test)
(4, ['click', 'purchase'])

The test labels are complete (``ShopData.unmasked``): we evaluate every model on every row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mtl_kit.data import TASKS, FeatureSpec, ShopData, make_shop

#: The knobs of the course's shop (see ``data/README.md`` for what each one does).
COURSE_SHOP: dict[str, object] = {
    "n_users": 2_000,
    "n_items": 400,
    "n_impressions": 40_000,
    "task_correlation": 0.6,
    "label_fraction": {"purchase": 0.15},
    "seed": 0,
}

Arrays = dict[str, np.ndarray]


@dataclass
class CourseData:
    """A shop split by user into train / validation / test, plus its Keras arrays.

    ``x_*`` hold the model inputs (int32 ids per categorical feature and a float32
    ``"numeric"`` matrix), ``y_*`` one float32 label array per task with NaN where the label is
    missing. The test split is fully labelled.
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

    @property
    def features(self) -> FeatureSpec:
        """Which inputs are categorical (with vocabulary sizes) and which numeric."""
        return self.shop.features


def course_data(tasks: Sequence[str] = ("click", "purchase"), **knobs: object) -> CourseData:
    """The course's shop (``COURSE_SHOP``, overridden by ``knobs``), split 70/15/15 by user.

    ``knobs`` are ``make_shop`` arguments, e.g. ``task_correlation=0.0`` or
    ``label_fraction=None`` for fully labelled data.
    """
    if isinstance(tasks, str) or not isinstance(tasks, Sequence) or not tasks:
        raise TypeError(f"tasks must be a non-empty sequence of names from {TASKS}, got {tasks!r}")
    unknown = [task for task in tasks if task not in TASKS]
    if unknown:
        raise ValueError(f"tasks must be names from {TASKS}, got unknown {unknown}")
    unknown_knobs = sorted(set(knobs) - set(COURSE_SHOP) - {"noise", "click_rate", "purchase_rate"})
    if unknown_knobs:
        raise ValueError(f"knobs must be make_shop arguments, got unknown {unknown_knobs}")
    shop = make_shop(**{**COURSE_SHOP, **knobs})
    train, val, test = shop.split()
    test = test.unmasked()
    tasks = tuple(tasks)
    x_train, y_train = train.to_arrays(tasks)
    x_val, y_val = val.to_arrays(tasks)
    x_test, y_test = test.to_arrays(tasks)
    return CourseData(shop, train, val, test, tasks, x_train, y_train, x_val, y_val,
                      x_test, y_test)
