"""Ranking metrics per user: GAUC, NDCG@k and HR@k, and how much each user moves them.

A shopping guide never ranks all impressions of all customers against each other: it ranks the
items *one* customer sees. The metrics here score that, customer by customer, and then average
over the customers (the ``users`` array gives each row's customer, e.g.
``CourseData.users("test")``):

* **GAUC** (group AUC; Zhou et al., 2018): the AUC of each user's own rows, averaged over the users
  who have both a positive and a negative row, weighted by their number of impressions n_u::

      GAUC = Σ_u n_u · AUC_u / Σ_u n_u

  (the pooled AUC also rewards ranking buyers above non-buyers, which no feed ever does);
* **NDCG@k** (normalised discounted cumulative gain): each user's rows sorted by score, a positive
  at rank r (1, 2, …) earns 1 / log₂(r + 1), summed over the top k; divided by the best possible
  sum (all the user's positives first), then averaged over the users with at least one positive::

      NDCG@k = mean_u  Σ_{r ≤ k} y_(r) / log₂(r + 1)  /  Σ_{r ≤ min(k, P_u)} 1 / log₂(r + 1)

* **HR@k** (hit rate): the share of users with at least one positive whose top k rows hold one.

Rows whose label is NaN are left out. Ties in the score: AUC counts them ½ (midranks); NDCG and
HR keep tied rows in their order in the arrays.

**Intervals.** Each metric is a weighted mean of per-user values v_u with weights w_u
(n_u for GAUC, 1 otherwise), m = Σ w_u v_u / Σ w_u, so user u moves it by
ψ_u = w_u (v_u − m) / Σ w. :func:`ranking_influence` spreads ψ_u evenly over the user's rows,
so that ``mtl_kit.intervals.seed_interval(values, psis, users)`` (which sums ψ per user) gives the
interval over users and seeds, exactly as for AUC.

>>> y = np.array([1, 0, 0, 1, 0, 1.0]); users = np.array([1, 1, 1, 2, 2, 2])
>>> round(gauc(y, np.array([0.9, 0.1, 0.2, 0.3, 0.8, 0.7]), users), 3)
0.5
"""

from __future__ import annotations

import re

import numpy as np

from mtl_kit.validation import check_int

#: Metric names :func:`ranking_metric` understands (``k`` is an int >= 1, e.g. ``"ndcg@5"``).
RANKING_METRICS = ("gauc", "ndcg@k", "hr@k")

_PATTERN = re.compile(r"^(gauc|ndcg@(\d+)|hr@(\d+))$")


def parse_ranking_metric(metric: object) -> tuple[str, int | None]:
    """``("gauc", None)``, ``("ndcg", k)`` or ``("hr", k)`` from a name like ``"ndcg@5"``."""
    match = _PATTERN.match(metric) if isinstance(metric, str) else None
    if match is None:
        raise ValueError(f"metric must be 'gauc', 'ndcg@k' or 'hr@k' with k an int >= 1 "
                         f"(e.g. 'ndcg@5'), got {metric!r}")
    if match.group(1) == "gauc":
        return "gauc", None
    k = int(match.group(2) or match.group(3))
    if k < 1:
        raise ValueError(f"metric's k must be an int >= 1, got {metric!r}")
    return ("ndcg" if match.group(2) else "hr"), k


def is_ranking_metric(metric: object) -> bool:
    """True for ``"gauc"``, ``"ndcg@k"`` and ``"hr@k"`` names."""
    return isinstance(metric, str) and _PATTERN.match(metric) is not None


def _arrays(y_true, score, users) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Observed rows: labels (0/1), scores, user codes 0..U-1; and the observed mask."""
    y = np.asarray(y_true, dtype="float64").reshape(-1)
    s = np.asarray(score, dtype="float64").reshape(-1)
    u = np.asarray(users).reshape(-1)
    if not (y.size == s.size == u.size):
        raise ValueError(f"y_true, score and users must have one entry per row, got "
                         f"{y.size}, {s.size} and {u.size}")
    if y.size == 0:
        raise ValueError("y_true must hold at least one row")
    observed = ~np.isnan(y)
    labels = y[observed]
    if np.any((labels != 0) & (labels != 1)):
        raise ValueError("y_true must hold 0/1 labels (NaN for missing ones)")
    if np.any(~np.isfinite(s[observed])):
        raise ValueError("score must be finite on the rows that have a label")
    _, codes = np.unique(u[observed], return_inverse=True)
    return labels, s[observed], codes.reshape(-1), observed


def _within_user_ranks(score: np.ndarray, codes: np.ndarray, descending: bool,
                       midranks: bool) -> np.ndarray:
    """Rank of every row among its user's rows (1 = first), ascending or descending score.

    With ``midranks`` tied scores share their average rank; otherwise ties keep row order.
    """
    n = score.size
    key = -score if descending else score
    order = np.lexsort((np.arange(n), key, codes))
    sorted_codes, sorted_key = codes[order], key[order]
    new_user = np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]
    user_start = np.maximum.accumulate(np.where(new_user, np.arange(n), 0))
    rank = (np.arange(n) - user_start + 1).astype("float64")
    if midranks:
        new_tie = new_user | np.r_[True, sorted_key[1:] != sorted_key[:-1]]
        tie_id = np.cumsum(new_tie) - 1
        first = np.bincount(tie_id, weights=rank)  # sum of ranks per tie group
        size = np.bincount(tie_id)
        rank = (first / size)[tie_id]
    ranks = np.empty(n)
    ranks[order] = rank
    return ranks


def per_user_values(metric: str, y_true, score, users) -> dict[str, np.ndarray]:
    """Each user's value of ``metric`` and its weight: ``{"value", "weight", "valid", "rows",
    "positives"}``, one entry per user (in the order of ``np.unique(users)`` over the labelled
    rows). ``valid`` marks the users the metric averages over."""
    kind, k = parse_ranking_metric(metric)
    y, s, codes, _ = _arrays(y_true, score, users)
    return _per_user(kind, k, y, s, codes)


def _per_user(kind: str, k: int | None, y: np.ndarray, s: np.ndarray,
              codes: np.ndarray) -> dict[str, np.ndarray]:
    n_users = int(codes.max()) + 1
    rows = np.bincount(codes, minlength=n_users).astype("float64")
    positives = np.bincount(codes, weights=y, minlength=n_users)
    if kind == "gauc":
        ranks = _within_user_ranks(s, codes, descending=False, midranks=True)
        negatives = rows - positives
        valid = (positives > 0) & (negatives > 0)
        rank_sum = np.bincount(codes, weights=ranks * y, minlength=n_users)
        value = np.full(n_users, np.nan)
        value[valid] = ((rank_sum[valid] - positives[valid] * (positives[valid] + 1) / 2)
                        / (positives[valid] * negatives[valid]))
        weight = rows
    else:
        ranks = _within_user_ranks(s, codes, descending=True, midranks=False)
        top = ranks <= k
        valid = positives > 0
        if kind == "hr":
            value = (np.bincount(codes, weights=y * top, minlength=n_users) > 0).astype(float)
        else:
            discount = 1.0 / np.log2(ranks + 1.0)
            dcg = np.bincount(codes, weights=y * top * discount, minlength=n_users)
            ideal_count = np.minimum(positives, k).astype(int)
            ideal_table = np.r_[0.0, np.cumsum(1.0 / np.log2(np.arange(1, k + 1) + 1.0))]
            ideal = ideal_table[ideal_count]
            value = dcg / np.where(valid, ideal, 1.0)
        value = np.where(valid, value, np.nan)
        weight = np.ones(n_users)
    return {"value": value, "weight": weight, "valid": valid, "rows": rows,
            "positives": positives}


def ranking_influence(metric: str, y_true, score, users) -> tuple[float, np.ndarray]:
    """``(value, ψ)``: the metric and each row's influence on it (0 on unlabelled rows).

    ψ_u = w_u (v_u − m) / Σ_valid w, spread evenly over user u's labelled rows; users outside
    the average (e.g. no positive) have ψ = 0.
    """
    kind, k = parse_ranking_metric(metric)
    y, s, codes, observed = _arrays(y_true, score, users)
    parts = _per_user(kind, k, y, s, codes)
    valid, weight = parts["valid"], parts["weight"]
    if not valid.any():
        what = "both a positive and a negative row" if kind == "gauc" else "a positive row"
        raise ValueError(f"{metric} needs at least one user with {what}")
    total = float(weight[valid].sum())
    value = float(np.sum(weight[valid] * parts["value"][valid]) / total)
    per_user = np.where(valid, weight * (np.nan_to_num(parts["value"]) - value) / total, 0.0)
    psi = np.zeros(observed.size)
    psi[observed] = per_user[codes] / parts["rows"][codes]
    return value, psi


def ranking_metric(metric: str, y_true, score, users) -> float:
    """The value of ``"gauc"``, ``"ndcg@k"`` or ``"hr@k"`` (see the module doc)."""
    return ranking_influence(metric, y_true, score, users)[0]


def gauc(y_true, score, users) -> float:
    """Σ_u n_u AUC_u / Σ_u n_u over the users with both classes (n_u: the user's rows)."""
    return ranking_metric("gauc", y_true, score, users)


def ndcg_at_k(y_true, score, users, k: int = 5) -> float:
    """Mean over users with a positive of DCG@k / ideal DCG@k (binary relevance)."""
    return ranking_metric(f"ndcg@{check_int('k', k, minimum=1)}", y_true, score, users)


def hit_rate_at_k(y_true, score, users, k: int = 5) -> float:
    """Share of the users with a positive whose k top-scored rows hold at least one."""
    return ranking_metric(f"hr@{check_int('k', k, minimum=1)}", y_true, score, users)


__all__ = [
    "RANKING_METRICS",
    "gauc",
    "hit_rate_at_k",
    "is_ranking_metric",
    "ndcg_at_k",
    "parse_ranking_metric",
    "per_user_values",
    "ranking_influence",
    "ranking_metric",
]
