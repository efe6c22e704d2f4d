"""Calibration (校准): do the predicted probabilities match how often things happen?

A model is **calibrated** when, among the rows it gives p ≈ 0.03, about 3 % are positive. AUC
cannot see calibration: any increasing transformation of the scores leaves every ranking of one
score, and so its AUC, unchanged. Calibration matters as soon as a probability is *used as a
number*: a shop that ranks items by pCTR × pCVR (the chance of a click times the chance of a
purchase after it), forecasts orders, or prices an ad from pCTR needs each factor to be right,
not just well ordered.

* :func:`reliability_table`: the rows cut into bins by predicted probability (equal numbers of
  rows per bin by default); per bin the mean prediction, the observed rate and a 95 % Wilson
  interval for it. Plotted against each other, that is a **reliability diagram**; a
  calibrated model's points lie on the diagonal.
* :func:`expected_calibration_error`: ECE = Σ_b (n_b / n) · |mean p_b − observed rate_b|;
  :func:`ece_difference` its paired change over seeds.
* :func:`predicted_to_observed`: Σ p / Σ y ("calibration in the large", 1 when calibrated on
  average); :func:`predicted_to_observed_estimate` with its interval over users and seeds.
* :class:`PlattScaling`: recalibration fitted on the **validation** split,
  p' = σ(a · logit(p) + b) (Platt, 1999), by Newton's method on the log loss. With a > 0 it is
  increasing, so it changes no AUC and no per-user ranking of that score, only the probabilities.
* :func:`rescale_logits`: p' = σ(a · logit(p) + b), the same map by hand: a > 1 makes a model
  over-confident (probabilities pushed to 0 and 1), a < 1 under-confident, b shifts them all.

>>> round(float(rescale_logits(np.array([0.5]), slope=2.0, shift=0.0)[0]), 3)
0.5
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from mtl_kit.intervals import Estimate, seed_interval
from mtl_kit.validation import check_choice, check_int, check_number

STRATEGIES = ("quantile", "uniform")
_EPSILON = 1e-7


def _binary(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype="float64").reshape(-1)
    p = np.asarray(y_pred, dtype="float64").reshape(-1)
    if y.size != p.size:
        raise ValueError(f"y_pred has {p.size} rows, y_true has {y.size}")
    observed = ~np.isnan(y)
    y, p = y[observed], p[observed]
    if y.size == 0:
        raise ValueError("y_true must hold at least one label (NaN rows are left out)")
    if np.any((y != 0) & (y != 1)):
        raise ValueError("y_true must hold 0/1 labels (NaN for missing ones)")
    if np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("y_pred must hold probabilities in [0, 1]")
    return y, p


def logit(p) -> np.ndarray:
    """log(p / (1 − p)), with p clipped to [1e-7, 1 − 1e-7]."""
    p = np.clip(np.asarray(p, dtype="float64"), _EPSILON, 1.0 - _EPSILON)
    return np.log(p) - np.log1p(-p)


def sigmoid(z) -> np.ndarray:
    """1 / (1 + exp(−z)), written with tanh so it never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype="float64")))


def rescale_logits(p, slope: float = 1.0, shift: float = 0.0) -> np.ndarray:
    """σ(slope · logit(p) + shift): slope > 1 over-confident, < 1 under-confident (slope > 0
    keeps the order of the scores, hence every AUC)."""
    slope = check_number("slope", slope, 0.0, None, low_open=True)
    shift = check_number("shift", shift)
    return sigmoid(slope * logit(p) + shift)


def _bin_of(p: np.ndarray, bins: int, strategy: str) -> np.ndarray:
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, bins + 1)
    else:
        edges = np.quantile(p, np.linspace(0.0, 1.0, bins + 1))
    return np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)


def reliability_table(y_true, y_pred, bins: int = 10, strategy: str = "quantile",
                      confidence: float = 0.95) -> pd.DataFrame:
    """Per bin of predicted probability: rows, mean_predicted, observed (the positive rate),
    low and high (its Wilson interval), in increasing order of prediction; empty bins are
    dropped. ``strategy``: "quantile" (equal rows per bin, the default: rare positives put
    most rows at small p) or "uniform" (bins of equal width on [0, 1])."""
    bins = check_int("bins", bins, minimum=1)
    check_choice("strategy", strategy, STRATEGIES)
    confidence = check_number("confidence", confidence, 0.0, 1.0, low_open=True,
                              high_open=True)
    y, p = _binary(y_true, y_pred)
    which = _bin_of(p, bins, strategy)
    rows = np.bincount(which, minlength=bins).astype(float)
    keep = rows > 0
    mean_p = np.bincount(which, weights=p, minlength=bins)[keep] / rows[keep]
    positives = np.bincount(which, weights=y, minlength=bins)[keep]
    n = rows[keep]
    rate = positives / n
    z = float(stats.norm.ppf((1 + confidence) / 2))
    centre = (rate + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(rate * (1 - rate) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return pd.DataFrame({"bin": np.flatnonzero(keep), "rows": n.astype(int),
                         "mean_predicted": mean_p, "observed": rate,
                         "low": np.clip(centre - half, 0, 1), "high": np.clip(centre + half, 0, 1)})


def expected_calibration_error(y_true, y_pred, bins: int = 10,
                               strategy: str = "quantile") -> float:
    """ECE = Σ_b (n_b / n) |mean p_b − observed rate_b| over the bins of
    :func:`reliability_table` (0 for a calibrated model, up to sampling noise)."""
    table = reliability_table(y_true, y_pred, bins, strategy)
    weights = table["rows"] / table["rows"].sum()
    return float(np.sum(weights * np.abs(table["mean_predicted"] - table["observed"])))


def predicted_to_observed(y_true, y_pred) -> float:
    """Σ p / Σ y: the predicted number of positives over the observed number (1 when the
    model is calibrated on average, "calibration in the large")."""
    y, p = _binary(y_true, y_pred)
    if y.sum() == 0:
        raise ValueError("y_true has no positive label: the ratio is undefined")
    return float(p.sum() / y.sum())


def predicted_to_observed_estimate(y_true, predictions: Sequence, users, *,
                                   reference: Sequence | None = None,
                                   confidence: float = 0.95) -> Estimate:
    """Σ p / Σ y over seeds with its interval (users and seeds), or the paired difference
    ``predictions − reference`` (seed k with seed k, on the same rows).

    Ratio linearisation: with R = Σ_r p_r / Σ_r y_r, row r's influence is
    ψ_r = (p_r − R · y_r) / Σ_r y_r; users are the clusters and the seeds add their own variance
    (:func:`mtl_kit.intervals.seed_interval`).

    Args:
        y_true: 0/1 labels (NaN rows are left out).
        predictions, reference: one array of probabilities per seed, for the rows of ``y_true``.
        users: each row's user, the independent unit of the interval.
    """
    predictions = list(predictions)
    if not predictions:
        raise ValueError("predictions must hold one array per seed, got none")
    if reference is not None and len(reference) != len(predictions):
        raise ValueError(f"reference has {len(reference)} seeds, predictions {len(predictions)}")
    labels = np.asarray(y_true, dtype="float64").reshape(-1)
    users = np.asarray(users).reshape(-1)
    if users.size != labels.size:
        raise ValueError(f"users has {users.size} rows, y_true has {labels.size}")

    def ratio_and_influence(y_pred) -> tuple[float, np.ndarray]:
        y, p = _binary(labels, y_pred)  # checks, and drops unlabelled rows
        if y.sum() == 0:
            raise ValueError("y_true has no positive label: the ratio is undefined")
        ratio = float(p.sum() / y.sum())
        psi = np.zeros(labels.size)
        psi[~np.isnan(labels)] = (p - ratio * y) / y.sum()
        return ratio, psi

    values, psis = [], []
    for seed, y_pred in enumerate(predictions):
        value, psi = ratio_and_influence(y_pred)
        if reference is not None:
            ref_value, ref_psi = ratio_and_influence(reference[seed])
            value, psi = value - ref_value, psi - ref_psi
        values.append(value)
        psis.append(psi)
    return seed_interval(values, np.stack(psis), users, confidence)


def ece_difference(y_true, predictions: Sequence, reference: Sequence, bins: int = 10,
                   confidence: float = 0.95) -> Estimate:
    """The paired change of the ECE, ``ECE(predictions) − ECE(reference)`` seed by seed, with
    a t-interval over the seeds: mean ± t_{K−1} · s / √K.

    The rows are held fixed: the ECE has no simple per-row influence (its bins move with the
    scores and it takes absolute values), so this interval covers the seeds' variation only,
    not the sampling of the users; read it as the narrower of the two.
    """
    predictions, reference = list(predictions), list(reference)
    if len(predictions) < 2 or len(predictions) != len(reference):
        raise ValueError(f"predictions and reference must hold the same number of seeds, at "
                         f"least 2, got {len(predictions)} and {len(reference)}")
    changes = [expected_calibration_error(y_true, p, bins) -
               expected_calibration_error(y_true, r, bins)
               for p, r in zip(predictions, reference, strict=True)]
    # with no per-row influence, seed_interval is the t-interval over the seeds
    return seed_interval(changes, np.zeros((len(changes), 1)), np.zeros(1), confidence)


@dataclass(frozen=True)
class PlattScaling:
    """p' = σ(slope · logit(p) + shift), fitted by :meth:`fit` (use the validation split)."""

    slope: float = 1.0
    shift: float = 0.0

    @classmethod
    def fit(cls, y_true, y_pred, max_steps: int = 50) -> PlattScaling:
        """The slope and shift minimising the log loss of p' on these rows (Newton's method;
        a tiny ridge term 1e-6 · (slope² + shift²) keeps it finite on separable data)."""
        max_steps = check_int("max_steps", max_steps, minimum=1)
        y, p = _binary(y_true, y_pred)
        if y.min() == y.max():
            raise ValueError("y_true must hold both classes to fit a calibration")
        z = logit(p)
        design = np.column_stack([z, np.ones_like(z)])
        params = np.array([1.0, 0.0])
        ridge = 1e-6
        for _ in range(max_steps):
            q = sigmoid(design @ params)
            gradient = design.T @ (q - y) / y.size + ridge * params
            hessian = (design.T * (q * (1 - q))) @ design / y.size + ridge * np.eye(2)
            step = np.linalg.solve(hessian, gradient)
            params = params - step
            if np.max(np.abs(step)) < 1e-10:
                break
        return cls(float(params[0]), float(params[1]))

    def __call__(self, y_pred) -> np.ndarray:
        """The recalibrated probabilities."""
        return sigmoid(self.slope * logit(y_pred) + self.shift)


__all__ = [
    "STRATEGIES",
    "PlattScaling",
    "ece_difference",
    "expected_calibration_error",
    "logit",
    "predicted_to_observed",
    "predicted_to_observed_estimate",
    "reliability_table",
    "rescale_logits",
    "sigmoid",
]
