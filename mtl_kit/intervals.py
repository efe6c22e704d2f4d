"""Confidence intervals for a model's metric, and for the *paired* difference of two models.

A test score moves for two reasons: the test users we happened to draw, and the seed that
initialised the model. An interval has to cover both.

**The test users.** Every metric the course reports is, to first order, a sum over the test rows
of one number per row, its *influence* ψ_r (how much row r moves the metric):

* AUC (DeLong et al., 1988): with V_i = the share of negatives that positive i outranks and
  W_j = the share of positives that outrank negative j (ties count ½),
  AUC = mean_i V_i and ψ_i = (V_i − AUC)/n₊ for a positive, ψ_j = (W_j − AUC)/n₋ for a negative;
* a mean of per-row values (accuracy, MAE): ψ_r = (v_r − mean)/n;
* a ratio Σa_r / Σb_r (recall = TP/P, F1 = 2TP / (2TP + FP + FN)): ψ_r = (a_r − ratio·b_r)/Σb;
* RMSE = √MSE (delta method): ψ_r = (e_r² − MSE) / (2·RMSE·n);
* macro averages over classes (multiclass AUC, F1, recall): the mean of the classes' ψ.

Rows of one user are not independent (the same taste drives them), so we sum ψ per user and
treat users as the independent units (a cluster-robust "sandwich" variance, as Obuchowski
(1997) does for clustered ROC data)::

    V_test = U/(U−1) · Σ_u (Σ_{r ∈ u} ψ_r)²        (U users in the test split)

**The seeds.** Over K seeds we report the mean m̄ of the per-seed values m_k. On a fixed test
set the m_k differ only through the seed, so their spread s² gives V_seed = s²/K, and by the
law of total variance Var(m̄) ≈ V_test(ψ̄) + s²/K, where ψ̄ is the per-row influence averaged
over the seeds. The interval is m̄ ± t · √Var, with t the Student quantile at the
Welch-Satterthwaite degrees of freedom ν = Var² (K−1) / V_seed² (the normal quantile when the
seeds do not vary).

**Paired differences.** Two models scored on the same rows with the same seeds: the same
formulas applied to d_k = m_A,k − m_B,k and ψ_A − ψ_B. Rows that are easy for both models
cancel, which is why a paired interval is much narrower than two separate ones.

``tests/test_intervals.py`` checks on the generator, where the truth is known, that 95 %
intervals cover the population value in about 95 % of repeated test samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from mtl_kit.tasks import KIND_METRICS

#: Metrics with an influence function, per task kind (all that ``mtl_kit.metrics`` reports).
INTERVAL_METRICS = KIND_METRICS


@dataclass(frozen=True)
class Estimate:
    """A mean over seeds with its confidence interval [low, high]."""

    mean: float
    low: float
    high: float
    confidence: float
    n_seeds: int

    @property
    def excludes_zero(self) -> bool:
        """True when the whole interval lies on one side of 0."""
        return self.low > 0 or self.high < 0

    def __str__(self) -> str:
        return f"{self.mean:+.3f} [{self.low:+.3f}, {self.high:+.3f}]"


def check_confidence(confidence: object) -> float:
    """A confidence level strictly between 0 and 1."""
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float, np.floating)):
        raise TypeError(f"confidence must be a number in (0, 1), e.g. 0.95, got {confidence!r}")
    if not 0.0 < float(confidence) < 1.0:
        raise ValueError(f"confidence must be in (0, 1), e.g. 0.95, got {confidence!r}")
    return float(confidence)


def check_metric(metric: object, kind: str, task: str = "the task") -> str:
    """A metric name that ``kind`` supports (``INTERVAL_METRICS``)."""
    allowed = INTERVAL_METRICS[kind]
    if metric not in allowed:
        raise ValueError(f"metric for {task} ({kind}) must be one of {allowed}, got {metric!r}")
    return str(metric)


# --------------------------------------------------------------------------------------------
# The influence of each row on a metric
# --------------------------------------------------------------------------------------------
def _auc_influence(positive: np.ndarray, score: np.ndarray) -> tuple[float, np.ndarray]:
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC needs both positive and negative labels in the evaluated rows")
    rank_all = stats.rankdata(score)  # midranks: ties count ½
    rank_pos = stats.rankdata(score[positive])
    rank_neg = stats.rankdata(score[~positive])
    v_pos = (rank_all[positive] - rank_pos) / n_neg  # share of negatives below each positive
    w_neg = 1.0 - (rank_all[~positive] - rank_neg) / n_pos  # share of positives above
    auc = float(v_pos.mean())
    psi = np.empty(positive.size)
    psi[positive] = (v_pos - auc) / n_pos
    psi[~positive] = (w_neg - auc) / n_neg
    return auc, psi


def _ratio_influence(numerator: np.ndarray, denominator: np.ndarray) -> tuple[float, np.ndarray]:
    total = float(denominator.sum())
    if total == 0:
        return 0.0, np.zeros(numerator.size)  # scikit-learn's zero_division=0
    ratio = float(numerator.sum()) / total
    return ratio, (numerator - ratio * denominator) / total


def _binary_counts(positive: np.ndarray, predicted: np.ndarray) -> dict[str, np.ndarray]:
    return {"tp": (positive & predicted).astype(float), "fp": (~positive & predicted).astype(float),
            "fn": (positive & ~predicted).astype(float), "pos": positive.astype(float)}


def _classification_influence(metric: str, positive: np.ndarray, score: np.ndarray,
                              predicted: np.ndarray) -> tuple[float, np.ndarray]:
    """One class against the rest (binary tasks, or one class of a multiclass task)."""
    if metric == "auc":
        return _auc_influence(positive, score)
    counts = _binary_counts(positive, predicted)
    if metric == "recall":
        return _ratio_influence(counts["tp"], counts["pos"])
    # f1
    return _ratio_influence(2 * counts["tp"], 2 * counts["tp"] + counts["fp"] + counts["fn"])


def influence(metric: str, kind: str, y_true: np.ndarray,
              y_pred: np.ndarray) -> tuple[float, np.ndarray]:
    """``(value, ψ)``: the metric on the rows with a label, and each row's influence on it.

    ``ψ`` has one entry per row of ``y_true`` (0 where the label is NaN); the value equals what
    ``mtl_kit.metrics.evaluate_tasks`` reports (binary threshold 0.5, macro averages).
    """
    metric = check_metric(metric, kind)
    y_true = np.asarray(y_true, dtype="float64").reshape(-1)
    y_pred = np.asarray(y_pred, dtype="float64")
    if kind != "multiclass":
        y_pred = y_pred.reshape(-1)
    if y_pred.shape[0] != y_true.shape[0]:
        raise ValueError(f"y_pred has {y_pred.shape[0]} rows, y_true has {y_true.shape[0]}")
    observed = ~np.isnan(y_true)
    truth, pred = y_true[observed], y_pred[observed]
    if truth.size == 0:
        raise ValueError("no row has a label: a metric needs at least one")
    psi = np.zeros(y_true.size)
    if kind == "regression":
        error = pred - truth
        if metric == "mae":
            value = float(np.abs(error).mean())
            part = (np.abs(error) - value) / truth.size
        else:  # rmse
            mse = float((error**2).mean())
            value = float(np.sqrt(mse))
            part = (error**2 - mse) / (2 * value * truth.size) if value > 0 else 0 * error
    elif kind == "binary":
        positive = truth > 0.5
        if metric == "accuracy":
            correct = ((pred >= 0.5) == positive).astype(float)
            value = float(correct.mean())
            part = (correct - value) / truth.size
        else:
            value, part = _classification_influence(metric, positive, pred, pred >= 0.5)
    else:  # multiclass: macro averages over the classes, as scikit-learn computes them
        labels = truth.astype(int)
        hard = pred.argmax(axis=1)
        if metric == "accuracy":
            correct = (hard == labels).astype(float)
            value = float(correct.mean())
            part = (correct - value) / truth.size
        else:
            probs = pred / np.clip(pred.sum(axis=1, keepdims=True), 1e-12, None)
            per_class = [_classification_influence(metric, labels == c, probs[:, c], hard == c)
                         for c in range(pred.shape[1])]
            value = float(np.mean([v for v, _ in per_class]))
            part = np.mean([p for _, p in per_class], axis=0)
    psi[observed] = part
    return value, psi


# --------------------------------------------------------------------------------------------
# From per-seed values and influences to an interval
# --------------------------------------------------------------------------------------------
def seed_interval(values: Sequence[float], psis: np.ndarray, clusters: np.ndarray,
                  confidence: float = 0.95) -> Estimate:
    """Mean of ``values`` (one per seed) with an interval for test users *and* seeds.

    Args:
        values: m_k, the metric (or paired difference) of each seed on the same rows.
        psis: ψ_k, shape (K, n rows): each seed's per-row influence (``influence``).
        clusters: (n,) the independent unit of each row (the user id).
        confidence: e.g. 0.95.
    """
    confidence = check_confidence(confidence)
    values = np.asarray(values, dtype="float64").reshape(-1)
    psis = np.asarray(psis, dtype="float64").reshape(values.size, -1)
    clusters = np.asarray(clusters).reshape(-1)
    if psis.shape[1] != clusters.size:
        raise ValueError(f"clusters has {clusters.size} rows, the influences {psis.shape[1]}")
    k = values.size
    _, codes = np.unique(clusters, return_inverse=True)
    per_cluster = np.bincount(codes, weights=psis.mean(axis=0))
    n_clusters = per_cluster.size
    v_test = n_clusters / max(n_clusters - 1, 1) * float(np.sum(per_cluster**2))
    v_seed = float(values.var(ddof=1)) / k if k > 1 else 0.0
    variance = v_test + v_seed
    if v_seed > 0:
        dof = variance**2 * (k - 1) / v_seed**2
        quantile = float(stats.t.ppf((1 + confidence) / 2, dof))
    else:
        quantile = float(stats.norm.ppf((1 + confidence) / 2))
    half = quantile * np.sqrt(variance)
    mean = float(values.mean())
    return Estimate(mean, mean - half, mean + half, confidence, k)


def metric_interval(kind: str, metric: str, y_true: np.ndarray, predictions: Sequence,
                    clusters: np.ndarray, confidence: float = 0.95,
                    reference: Sequence | None = None) -> Estimate:
    """The interval of a metric over seeds, or of its paired difference to ``reference``.

    ``predictions`` (and ``reference``) hold one prediction array per seed, all for the rows of
    ``y_true``; with a reference, seed k of the model is paired with seed k of the reference.
    """
    if reference is not None and len(reference) != len(predictions):
        raise ValueError(f"reference has {len(reference)} seeds, predictions {len(predictions)}")
    values, psis = [], []
    for k, prediction in enumerate(predictions):
        value, psi = influence(metric, kind, y_true, prediction)
        if reference is not None:
            ref_value, ref_psi = influence(metric, kind, y_true, reference[k])
            value, psi = value - ref_value, psi - ref_psi
        values.append(value)
        psis.append(psi)
    return seed_interval(values, np.stack(psis), clusters, confidence)


__all__ = [
    "INTERVAL_METRICS",
    "Estimate",
    "check_confidence",
    "check_metric",
    "influence",
    "metric_interval",
    "seed_interval",
]
