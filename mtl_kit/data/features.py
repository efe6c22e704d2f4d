"""Feature metadata, and turning an impressions frame into model inputs.

Models never see strings: every categorical feature becomes an ``int32`` id in
``0 .. vocabulary_size - 1`` (ready for ``keras.layers.Embedding``; no lookup layer, so no
TensorFlow needed), and every numeric feature becomes one column of a ``float32`` matrix
called ``"numeric"`` (raw values; normalise them in the model, e.g. ``keras.layers.Normalization``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mtl_kit.data._validation import check_tasks

# ---- vocabularies (the order is the id: "18-24" is age_band id 0) ------------------------------
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55+")
CITY_TIERS = ("tier1", "tier2", "tier3", "tier4")
MEMBERSHIPS = ("none", "silver", "gold")
DEVICES = ("ios", "android", "web")
ACTIVITY_LEVELS = ("low", "medium", "high")
CATEGORIES = (
    "electronics",
    "fashion",
    "beauty",
    "home",
    "sports",
    "books",
    "toys",
    "grocery",
    "health",
    "automotive",
)
PRICE_BANDS = ("very_low", "low", "mid", "high", "very_high")
BRAND_TIERS = ("value", "mainstream", "premium")
CHANNELS = ("search", "feed", "chat")
INTENTS = ("browse", "purchase", "consult")
HOURS = tuple(str(hour) for hour in range(24))

USER_CATEGORICALS = ("age_band", "city_tier", "membership", "device", "activity")
ITEM_CATEGORICALS = ("category", "price_band", "brand_tier")
CONTEXT_CATEGORICALS = ("channel", "hour")
NUMERIC_FEATURES = ("price", "rating", "n_reviews", "position")

VOCABULARIES: dict[str, tuple[str, ...]] = {
    "age_band": AGE_BANDS,
    "city_tier": CITY_TIERS,
    "membership": MEMBERSHIPS,
    "device": DEVICES,
    "activity": ACTIVITY_LEVELS,
    "category": CATEGORIES,
    "price_band": PRICE_BANDS,
    "brand_tier": BRAND_TIERS,
    "channel": CHANNELS,
    "hour": HOURS,
}

# Which frame column holds each task's label, and its ground truth.
LABEL_COLUMNS = {"click": "click", "purchase": "purchase", "intent": "intent", "dwell": "dwell"}
TRUTH_COLUMNS: dict[str, tuple[str, ...]] = {
    "click": ("click_true",),
    "purchase": ("purchase_true",),
    "cvr": ("cvr_true",),
    "intent": ("intent_true_browse", "intent_true_purchase", "intent_true_consult"),
    "dwell": ("dwell_true",),
}


@dataclass(frozen=True)
class FeatureSpec:
    """Which model inputs exist and how big each vocabulary is.

    Attributes:
        categorical: feature name -> vocabulary size ``n``; ids run ``0 .. n-1``.
            ``user_id`` and ``item_id`` are their own ids; ``hour`` is the hour 0-23.
        numeric: names of the columns of the ``"numeric"`` matrix, in order.
        vocabularies: feature name -> the label of each id (``vocabularies[f][i]`` is id ``i``).
    """

    categorical: dict[str, int]
    numeric: list[str]
    vocabularies: dict[str, list[str]] = field(repr=False)

    def to_dict(self) -> dict:
        """A JSON-friendly copy (used by :func:`mtl_kit.data.save_shop`)."""
        return {
            "categorical": dict(self.categorical),
            "numeric": list(self.numeric),
            "vocabularies": {key: list(value) for key, value in self.vocabularies.items()},
        }

    @classmethod
    def from_dict(cls, spec: dict) -> FeatureSpec:
        return cls(
            categorical={key: int(value) for key, value in spec["categorical"].items()},
            numeric=list(spec["numeric"]),
            vocabularies={key: list(value) for key, value in spec["vocabularies"].items()},
        )


def shop_feature_spec(n_users: int, n_items: int) -> FeatureSpec:
    """The :class:`FeatureSpec` of a shop with ``n_users`` users and ``n_items`` items."""
    categorical = {"user_id": n_users, "item_id": n_items}
    vocabularies = {
        "user_id": [f"u{i}" for i in range(n_users)],
        "item_id": [f"i{i}" for i in range(n_items)],
    }
    for name in USER_CATEGORICALS + ITEM_CATEGORICALS + CONTEXT_CATEGORICALS:
        categorical[name] = len(VOCABULARIES[name])
        vocabularies[name] = list(VOCABULARIES[name])
    return FeatureSpec(categorical, list(NUMERIC_FEATURES), vocabularies)


def frame_to_arrays(
    impressions: pd.DataFrame,
    features: FeatureSpec,
    tasks: Sequence[str] = ("click", "purchase", "intent", "dwell"),
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Model inputs ``x`` and labels ``y`` from an impressions frame.

    ``x[name]`` is ``int32 (n,)`` for every categorical feature (the pandas category code, or
    the integer itself for ``user_id``/``item_id``/``hour``), ``x["numeric"]`` is
    ``float32 (n, len(features.numeric))``. ``y[task]`` is ``float32 (n,)`` with NaN where the
    label is masked (``intent`` holds the class id 0=browse, 1=purchase, 2=consult).
    """
    tasks = check_tasks("tasks", tasks)
    x: dict[str, np.ndarray] = {}
    for name in features.categorical:
        column = impressions[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            x[name] = column.cat.codes.to_numpy(dtype=np.int32)
        else:
            x[name] = column.to_numpy(dtype=np.int32)
    x["numeric"] = impressions[list(features.numeric)].to_numpy(dtype=np.float32)
    y = {task: impressions[LABEL_COLUMNS[task]].to_numpy(dtype=np.float32) for task in tasks}
    return x, y
