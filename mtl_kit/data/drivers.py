"""Hidden drivers of the tasks, and how ``task_correlation`` ties them together.

Every impression (user ``u`` shown item ``i``) has a vector ``h`` of ten hidden features, each
with mean about 0 and variance about 1::

    h = [ taste_u[category_i],                 # does the user like this category?
          -price_sensitivity_u · price_z_i,     # price fit (price_z: standardised log price)
          match_u,j · match_i,j  for j = 0..3,  # generic user × item factors
          user_0, user_1,                       # user propensities
          item_0, item_1 ]                      # item quality, popularity

Each task k scores an impression by ``s_k = w_kᵀ h``. As in the MMoE paper (Ma et al., 2018)
the task weight vectors are built from orthonormal directions ``u_1 ⟂ u_2 ⟂ u_3 ⟂ u_4``::

    w_click = u_1
    w_k     = p · u_1 + sqrt(1 - p²) · u_k      for k = purchase (u_2), intent (u_3), dwell (u_4)

so ``cos(w_click, w_k) = p = task_correlation``, and because ``h`` has (nearly) identity
covariance, ``corr(s_click, s_k) ≈ p``. With p = 1 the tasks share their drivers, with p = 0
they are unrelated, with p < 0 what makes a user click makes them less likely to buy.
The directions are fixed by design (not by the seed), so every seed tells the same story:
click is mostly driven by category taste and item quality, purchase by price fit and the
user's propensities.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mtl_kit.data.entities import N_MATCH
from mtl_kit.data.features import CATEGORIES

HIDDEN_FEATURES: tuple[str, ...] = (
    "taste",
    "price_fit",
    *(f"match_{j}" for j in range(N_MATCH)),
    "user_0",
    "user_1",
    "item_0",
    "item_1",
)

# Design directions before orthonormalisation (Gram-Schmidt in this order).
_DESIGN = {
    #          taste price  m0    m1    m2    m3    u0    u1    i0    i1
    "click": [0.60, 0.05, 0.30, 0.25, 0.10, 0.05, 0.35, 0.05, 0.50, 0.30],
    "purchase": [0.10, 0.65, 0.10, 0.10, 0.35, 0.30, 0.10, 0.40, 0.30, 0.05],
    "intent": [0.30, 0.30, -0.25, 0.35, 0.10, 0.40, 0.50, -0.30, 0.05, 0.20],
    "dwell": [0.40, -0.20, 0.30, -0.30, 0.40, 0.10, -0.20, 0.30, 0.40, 0.10],
}


def orthonormal_directions() -> dict[str, np.ndarray]:
    """The unit vectors ``u_1 .. u_4`` (keyed click, purchase, intent, dwell), pairwise ⟂."""
    basis: dict[str, np.ndarray] = {}
    for task, design in _DESIGN.items():
        vector = np.asarray(design, dtype=np.float64)
        for previous in basis.values():
            vector = vector - (vector @ previous) * previous
        basis[task] = vector / np.linalg.norm(vector)
    return basis


def task_weights(task_correlation: float) -> dict[str, np.ndarray]:
    """``w_click = u_1`` and ``w_k = p·u_1 + sqrt(1-p²)·u_k`` for the other tasks (unit vectors)."""
    p = float(task_correlation)
    u = orthonormal_directions()
    other = np.sqrt(max(0.0, 1.0 - p * p))
    weights = {"click": u["click"]}
    for task in ("purchase", "intent", "dwell"):
        weights[task] = p * u["click"] + other * u[task]
    return weights


def hidden_features(
    users: pd.DataFrame, items: pd.DataFrame, user_id: np.ndarray, item_id: np.ndarray
) -> np.ndarray:
    """The hidden feature matrix ``h`` (n, 10), float32, of each (user, item) impression."""
    n = len(user_id)
    # column-major: each hidden feature is one contiguous column, cheap to fill
    h = np.empty((n, len(HIDDEN_FEATURES)), dtype=np.float32, order="F")
    taste = users[[f"hidden_taste_{c}" for c in CATEGORIES]].to_numpy(np.float32)
    category = items["category"].cat.codes.to_numpy()
    h[:, 0] = taste.ravel()[user_id * taste.shape[1] + category[item_id]]
    sensitivity = users["hidden_price_sensitivity"].to_numpy(np.float32)
    h[:, 1] = -sensitivity[user_id] * standardised_log_price(items).astype(np.float32)[item_id]
    for j in range(N_MATCH):
        user_match = users[f"hidden_match_{j}"].to_numpy(np.float32)
        item_match = items[f"hidden_match_{j}"].to_numpy(np.float32)
        h[:, 2 + j] = user_match[user_id] * item_match[item_id]
    for j in range(2):
        h[:, 2 + N_MATCH + j] = users[f"hidden_user_{j}"].to_numpy(np.float32)[user_id]
        h[:, 4 + N_MATCH + j] = items[f"hidden_item_{j}"].to_numpy(np.float32)[item_id]
    return h


def standardised_log_price(items: pd.DataFrame) -> np.ndarray:
    """``price_z = (log price - mean) / std`` over the catalogue (float64, one per item)."""
    log_price = np.log(items["price"].to_numpy(np.float64))
    return (log_price - log_price.mean()) / max(log_price.std(), 1e-12)
