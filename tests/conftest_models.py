"""Tiny synthetic shop-shaped arrays for the model tests (the data contract's shapes).

x: {"user": int32 (n,), "item": int32 (n,), "numeric": float32 (n, 3)};
y: {"click", "purchase" (binary, purchase partly NaN), "intent" (0..2), "dwell" (regression)}.
"""

from __future__ import annotations

import numpy as np

FEATURES = {"categorical": {"user": 40, "item": 25}, "numeric": ["price", "age", "hour"]}


def tiny_shop(n: int = 1024, seed: int = 0, purchase_missing: float = 0.5):
    rng = np.random.default_rng(seed)
    user = rng.integers(0, 40, n).astype("int32")
    item = rng.integers(0, 25, n).astype("int32")
    numeric = (rng.normal(size=(n, 3)) * [10.0, 5.0, 3.0] + [50.0, 30.0, 12.0]).astype("float32")
    z = (numeric[:, 0] - 50.0) / 10.0 + (user % 3 - 1.0) + 0.5 * (item % 2)
    p_click = 1.0 / (1.0 + np.exp(-z))
    click = (rng.random(n) < p_click).astype("float32")
    purchase = (click * (rng.random(n) < 1.0 / (1.0 + np.exp(-z + 1.0)))).astype("float32")
    purchase[rng.random(n) < purchase_missing] = np.nan
    intent = np.clip(np.round(z + 1.0), 0, 2).astype("float32")
    dwell = (2.0 * z + rng.normal(size=n)).astype("float32")
    x = {"user": user, "item": item, "numeric": numeric}
    y = {"click": click, "purchase": purchase, "intent": intent, "dwell": dwell}
    return x, y
