"""From hidden scores to probabilities: link functions, per-task noise, solved intercepts.

Noise (difficulty). A task with noise ``σ`` adds an unobserved ``σ·ε``, ``ε ~ N(0, 1)``, to its
logit. The *true* probability kept beside each label is the probability given everything but
``ε``::

    P(y = 1) = E_ε[ sigmoid(η + σ·ε) ]  ≈  Σ_j ω_j · sigmoid(η + σ·z_j)

computed with Gauss-Hermite quadrature (nodes ``z_j``, weights ``ω_j``; absolute error below
1e-5 for every allowed σ ≤ 5, see :func:`n_nodes`); the label is then drawn from exactly that
probability. More noise flattens the truth, so even the truth's own AUC drops: the task really
gets harder.

Intercepts. Base rates do not drift with ``task_correlation`` or the seed because each
intercept ``b`` is *solved*, by Newton steps on a fixed subsample of at most 50,000 rows, so that
``mean(P(y = 1 | b)) = target`` (nothing is clipped).
"""

from __future__ import annotations

import math

import numpy as np

MAX_NOISE = 5.0


def n_nodes(noise: float) -> int:
    """Gauss-Hermite nodes for one noise dimension: ``max(8, ceil(20·σ))``.

    Measured absolute error of ``E_ε[sigmoid(η + σ·ε)]`` against 300 nodes, over η in [-10, 5]:
    below 1e-9 for σ ≤ 2 and below 1e-5 up to σ = 5 (:data:`MAX_NOISE`).
    """
    return max(8, math.ceil(20 * noise))


def n_nodes_2d(noise: float) -> int:
    """Nodes per dimension for the three-class intent (tensor product): ``max(5, ceil(6·σ))``."""
    return max(5, math.ceil(6 * noise))


CALIBRATION_ROWS = 50_000


def sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))``, written with tanh so it never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _nodes(noise: float, count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Probabilists' Gauss-Hermite nodes times σ, and weights normalised to sum to one."""
    if noise == 0.0:
        return np.zeros(1), np.ones(1)
    z, w = np.polynomial.hermite_e.hermegauss(n_nodes(noise) if count is None else count)
    return noise * z, w / w.sum()


def noisy_sigmoid(eta: np.ndarray, noise: float) -> np.ndarray:
    """``E_ε[sigmoid(η + noise·ε)]``, ε ~ N(0, 1), elementwise, in the dtype of ``eta``."""
    shifts, weights = _nodes(noise)
    dtype = eta.dtype if np.issubdtype(eta.dtype, np.floating) else np.float64
    result = np.zeros(eta.shape, dtype=dtype)
    for shift, weight in zip(shifts.astype(dtype), weights.astype(dtype), strict=True):
        result += weight * sigmoid(eta + shift)
    return result


def _noisy_sigmoid_and_slope(eta: np.ndarray, noise: float) -> tuple[np.ndarray, np.ndarray]:
    shifts, weights = _nodes(noise)
    value = np.zeros(eta.shape)
    slope = np.zeros(eta.shape)
    for shift, weight in zip(shifts, weights, strict=True):
        p = sigmoid(eta + shift)
        value += weight * p
        slope += weight * p * (1.0 - p)
    return value, slope


def calibration_rows(n: int) -> np.ndarray:
    """Evenly spaced row indices (at most :data:`CALIBRATION_ROWS`) used to solve intercepts."""
    if n <= CALIBRATION_ROWS:
        return np.arange(n)
    return (np.arange(CALIBRATION_ROWS, dtype=np.int64) * n) // CALIBRATION_ROWS


def solve_intercept(
    eta: np.ndarray, target: float, noise: float, factor: np.ndarray | None = None
) -> float:
    """The ``b`` with ``mean(factor · E_ε[sigmoid(η + b + noise·ε)]) = target`` (Newton's method).

    ``factor`` (default 1) lets the purchase intercept be solved through the funnel:
    ``mean(P(click) · P(purchase | click)) = purchase rate``. The mean is monotone in ``b``, so
    a damped Newton iteration from ``logit(target / mean(factor)) - mean(η)`` converges.
    """
    eta = np.asarray(eta, dtype=np.float64)
    factor = np.ones_like(eta) if factor is None else np.asarray(factor, dtype=np.float64)
    goal = target / factor.mean()
    b = float(np.log(goal / (1.0 - goal)) - eta.mean())
    for _ in range(50):
        value, slope = _noisy_sigmoid_and_slope(eta + b, noise)
        gap = float(np.mean(factor * value)) - target
        if abs(gap) < 1e-9 * max(target, 1e-12):
            break
        step = gap / max(float(np.mean(factor * slope)), 1e-12)
        b -= float(np.clip(step, -2.0, 2.0))
    return b


def noisy_softmax(logits: np.ndarray, noise: float) -> np.ndarray:
    """``E_ε[softmax(η + noise·ε)]`` for three classes where class 0 is the reference (logit 0,
    no noise) and classes 1, 2 get independent ``noise·ε_1``, ``noise·ε_2`` (tensor-product
    Gauss-Hermite, :func:`n_nodes_2d` nodes per dimension). Uses
    ``exp(η_k + s) = exp(η_k)·exp(s)``, so each node costs a few multiplications."""
    n, k = logits.shape
    if k != 3:
        raise ValueError(f"noisy_softmax expects 3 classes, got {k}")
    shifts, weights = _nodes(noise, n_nodes_2d(noise))
    # softmax is unchanged by subtracting a constant per row; keep exp() in range
    reference = np.maximum(logits.max(axis=1), 0.0)
    base = np.exp(-reference)
    exp_1 = np.exp(logits[:, 1] - reference)
    exp_2 = np.exp(logits[:, 2] - reference)
    result = np.zeros((n, 3))
    for shift_1, weight_1 in zip(shifts, weights, strict=True):
        a = exp_1 * np.exp(shift_1)
        for shift_2, weight_2 in zip(shifts, weights, strict=True):
            b = exp_2 * np.exp(shift_2)
            weight = weight_1 * weight_2 / (base + a + b)
            result[:, 0] += weight * base
            result[:, 1] += weight * a
            result[:, 2] += weight * b
    return result


def solve_class_intercepts(
    logits: np.ndarray, targets: np.ndarray, noise: float, steps: int = 40
) -> np.ndarray:
    """Intercepts ``b`` (class 0 fixed at 0) so that the mean of ``noisy_softmax(logits + b)``
    equals ``targets``, by fixed-point steps
    ``b_k += log(target_k / mean_k) - log(target_0 / mean_0)``.
    """
    b = np.log(targets / targets[0])
    for _ in range(steps):
        means = noisy_softmax(logits + b, noise).mean(axis=0)
        update = np.log(targets / means)
        b = b + update - update[0]
        if np.max(np.abs(update - update[0])) < 1e-8:
            break
    return b
