"""Two regression tasks with a known relatedness, as in the MMoE paper (Ma et al., KDD 2018).

::

    x ~ N(0, I_d)
    u_1, u_2: random unit vectors in R^d with u_1 ⟂ u_2
    w_1 = c · u_1
    w_2 = c · (p · u_1 + sqrt(1 - p²) · u_2)             so cos(w_1, w_2) = p
    y_k = w_kᵀ x + Σ_{i=1..m} sin(α_i · w_kᵀ x + β_i) + ε_k,   ε_k ~ N(0, noise²)

with ``α_i, β_i ~ N(0, σ²)`` shared by both tasks; σ = ``sine_scale`` defaults to 0.1, the
paper's N(0, 0.01). (With σ = 1 the sine terms swamp the linear part and the two tasks' labels
stop depending on p in a way a small network can learn.)

``p`` is the cosine of the task weights, *not* the correlation of the labels: the sine terms
and the noise change that, so the result also carries the measured Pearson correlation of
``y_1`` and ``y_2``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mtl_kit.data._validation import check_seed
from mtl_kit.validation import check_int, check_number

MAX_CELLS = 200_000_000
"""Largest ``n · d`` (the float32 x matrix would take 800 MB)."""


@dataclass
class MMoETasks:
    """Inputs, the two labels, and the knobs that made them.

    Attributes:
        x: float32 (n, d) inputs; y1, y2: float32 (n,) labels.
        p: the cosine between ``w_1`` and ``w_2`` (the knob).
        label_correlation: Pearson correlation of ``y1`` and ``y2`` measured on this sample.
        w1, w2: the task weight vectors; alpha, beta: the shared sine parameters.
    """

    x: np.ndarray
    y1: np.ndarray
    y2: np.ndarray
    p: float
    label_correlation: float
    c: float
    w1: np.ndarray = field(repr=False)
    w2: np.ndarray = field(repr=False)
    alpha: np.ndarray = field(repr=False)
    beta: np.ndarray = field(repr=False)
    params: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.x)


def orthogonal_unit_vectors(d: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two random unit vectors ``u_1 ⟂ u_2`` in R^d (Gram-Schmidt on two Gaussian draws)."""
    u1 = rng.standard_normal(d)
    u1 /= np.linalg.norm(u1)
    u2 = rng.standard_normal(d)
    u2 -= (u2 @ u1) * u1
    u2 /= np.linalg.norm(u2)
    return u1, u2


def make_mmoe_tasks(
    n: int = 10_000,
    d: int = 100,
    p: float = 0.5,
    c: float = 1.0,
    m: int = 10,
    noise: float = 0.1,
    seed: int = 0,
    sine_scale: float = 0.1,
) -> MMoETasks:
    """Generate the MMoE paper's synthetic pair of tasks (formula in the module docstring).

    Args:
        n: rows, 2 .. 10,000,000 (and ``n·d`` at most 200,000,000).
        d: input dimension, 2 .. 100,000.
        p: cosine between the task weight vectors, in [-1, 1].
        c: scale of the weights, in (0, 100].
        m: number of sine terms, 0 .. 1000.
        noise: standard deviation of the label noise, in [0, 100].
        seed: non-negative integer.
        sine_scale: standard deviation σ of the sine parameters α_i and β_i, in [0, 10].
    """
    n = check_int("n", n, 2, 10_000_000)
    d = check_int("d", d, 2, 100_000)
    if n * d > MAX_CELLS:
        raise ValueError(f"n * d must be at most {MAX_CELLS:,}, got n={n}, d={d} ({n * d:,})")
    p = check_number("p", p, -1.0, 1.0)
    c = check_number("c", c, 0.0, 100.0, low_open=True)
    m = check_int("m", m, 0, 1000)
    noise = check_number("noise", noise, 0.0, 100.0)
    seed = check_seed(seed)
    sine_scale = check_number("sine_scale", sine_scale, 0.0, 10.0)

    rng = np.random.default_rng(seed)
    u1, u2 = orthogonal_unit_vectors(d, rng)
    w1 = c * u1
    w2 = c * (p * u1 + np.sqrt(max(0.0, 1.0 - p * p)) * u2)
    alpha = sine_scale * rng.standard_normal(m)
    beta = sine_scale * rng.standard_normal(m)
    x = rng.standard_normal((n, d), dtype=np.float32)
    labels = []
    for w in (w1, w2):
        projection = x @ w.astype(np.float32)
        waves = np.sin(np.multiply.outer(projection, alpha) + beta).sum(axis=1) if m else 0.0
        labels.append((projection + waves + noise * rng.standard_normal(n)).astype(np.float32))
    y1, y2 = labels
    correlation = float(np.corrcoef(y1, y2)[0, 1])
    params = {"n": n, "d": d, "p": p, "c": c, "m": m, "noise": noise, "seed": seed,
              "sine_scale": sine_scale}
    return MMoETasks(x, y1, y2, p, correlation, c, w1, w2, alpha, beta, params)
