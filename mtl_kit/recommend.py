"""Recommendation as ranking: each customer's candidates ordered by the model's score.

A shopping guide shows a customer a short list, so what counts is the order *within* each
customer's candidates: NDCG@k and HR@k of ``mtl_kit.ranking``, averaged over customers. Two
models are compared on the same customers and seeds, paired (``mtl_kit.metrics.metric_estimate``
with a reference): the difference's interval over customers and seeds says whether one ranks
better.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mtl_kit.metrics import metric_estimate
from mtl_kit.ranking import parse_ranking_metric
from mtl_kit.validation import check_int


def top_k(scores, k: int = 3) -> np.ndarray:
    """The indices of the k highest scores, best first (ties: the earlier row first)."""
    check_int("k", k, minimum=1)
    scores = np.asarray(scores, dtype="float64").reshape(-1)
    if scores.size == 0:
        raise ValueError("scores must hold at least one candidate")
    order = np.argsort(-scores, kind="stable")
    return order[:k]


def ranking_table(y_true, predictions: Mapping[str, Sequence], users, *,
                  metrics: Sequence[str] = ("ndcg@5", "hr@5"), reference: str | None = None,
                  confidence: float = 0.95) -> pd.DataFrame:
    """Each model's ranking metrics (mean over seeds with interval) and, for every model but
    ``reference``, its paired difference to it.

    Args:
        y_true: the binary label per row (NaN: left out).
        predictions: ``{model: [scores of seed 1, seed 2, …]}``.
        users: each row's customer (the group ranked, and the unit of the interval).
        metrics: names like ``"ndcg@5"``, ``"hr@10"`` or ``"gauc"``.
        reference: the model the differences are taken against (default: the first).

    Columns: model, metric, mean, low, high, difference, diff_low, diff_high.
    """
    if not isinstance(predictions, Mapping) or not predictions:
        raise TypeError("predictions must be a non-empty dict {model: [scores per seed]}")
    if isinstance(metrics, str):
        metrics = [metrics]
    for metric in metrics:
        parse_ranking_metric(metric)
    reference = next(iter(predictions)) if reference is None else reference
    if reference not in predictions:
        raise ValueError(f"reference must be one of {list(predictions)}, got {reference!r}")
    rows = []
    for name, scores in predictions.items():
        for metric in metrics:
            est = metric_estimate(metric, "binary", y_true, scores, users, confidence=confidence)
            row = {"model": name, "metric": metric, "mean": est.mean, "low": est.low,
                   "high": est.high, "difference": np.nan, "diff_low": np.nan,
                   "diff_high": np.nan}
            if name != reference:
                diff = metric_estimate(metric, "binary", y_true, scores, users,
                                       reference=predictions[reference], confidence=confidence)
                row.update(difference=diff.mean, diff_low=diff.low, diff_high=diff.high)
            rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["ranking_table", "top_k"]
