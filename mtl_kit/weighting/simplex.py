"""Exact minimisation over the simplex of task weights, for MGDA and CAGrad.

Both methods choose task weights w on the simplex Δ = {w_t >= 0, Σ_t w_t = 1} from the Gram
matrix A of the task gradients (A_ab = g_a · g_b):

    MGDA:    min_{w ∈ Δ}  wᵀ A w                                  (the min-norm point)
    CAGrad:  min_{w ∈ Δ}  bᵀ w + φ √(wᵀ A w),   b = A 1 / T,  φ = c ‖g_0‖

The optimum lies in the relative interior of one face of Δ, the set S of tasks with w_t > 0
(its *support*). On that face the optimality conditions are linear in w up to a scalar, so for
each of the 2^T − 1 supports the candidate has a closed form (p = A_S⁻¹ 1, q = A_S⁻¹ b_S):

* MGDA:   w_S = p / Σp;
* CAGrad: w_S = v / Σv with v = μ p − q, where μ solves Σp μ² − 2 Σq μ + (qᵀ b_S − φ²) = 0
  (the condition vᵀ A_S v = φ²; both roots are tried).

Every candidate is clipped to the simplex and scored with the true objective, and the best one
wins (the vertices e_t are always candidates, and for CAGrad each face's min-norm point too, where
√(wᵀAw) is not smooth). With T <= ``MAX_EXACT_TASKS`` tasks that is at
most 255 small linear solves, done as one batched ``keras.ops.solve`` inside the compiled step:
no loop, and the exact optimum rather than an iterative approximation. A tiny ridge
(1e-6 · mean diagonal) keeps the solves finite when gradients are collinear; since every
candidate is scored exactly, the ridge can only make a candidate slightly worse, never win
wrongly.
"""

from __future__ import annotations

import itertools

import numpy as np
from keras import ops

#: Up to this many tasks the solvers enumerate the simplex's faces (2^T − 1 of them).
MAX_EXACT_TASKS = 8

_RIDGE = 1e-6
_TINY = 1e-12


def face_masks(n_tasks: int) -> np.ndarray:
    """(2^T − 1, T) 0/1 masks, one per non-empty support S."""
    rows = [mask for mask in itertools.product((0.0, 1.0), repeat=n_tasks) if any(mask)]
    return np.asarray(rows, dtype="float32")


def _face_solves(gram, right_hand_sides):
    """A_S⁻¹ r_S for every face S (zeros outside S): (F, T) per right-hand side (T,)."""
    n_tasks = gram.shape[0]
    masks = ops.convert_to_tensor(face_masks(n_tasks))
    ridge = _RIDGE * ops.mean(ops.diagonal(gram)) + _TINY
    inside = masks[:, :, None] * masks[:, None, :]
    eye = ops.eye(n_tasks)
    systems = gram[None] * inside + eye[None] * (1.0 - masks)[:, None, :] + ridge * eye[None]
    rhs = ops.stack([masks * r[None, :] for r in right_hand_sides], axis=-1)  # (F, T, k)
    solutions = ops.solve(systems, rhs)
    return masks, [solutions[..., k] * masks for k in range(len(right_hand_sides))]


def _best(candidates, objective):
    """The candidate (rows of a (N, T) tensor) with the smallest objective, after clipping
    each to the simplex; non-finite candidates never win."""
    clipped = ops.maximum(ops.where(ops.isfinite(candidates), candidates, 0.0), 0.0)
    totals = ops.sum(clipped, axis=1, keepdims=True)
    n_tasks = candidates.shape[1]
    uniform = ops.ones_like(clipped) / n_tasks
    points = ops.where(totals > _TINY, clipped / ops.maximum(totals, _TINY), uniform)
    values = objective(points)
    values = ops.where(ops.isfinite(values), values, float("inf"))
    return ops.take(points, ops.argmin(values), axis=0)


def _quadratic_forms(points, gram):
    return ops.sum(ops.matmul(points, gram) * points, axis=1)


def exact_min_norm(gram):
    """argmin_{w ∈ Δ} wᵀ A w by enumerating the faces of Δ (MGDA)."""
    gram = ops.convert_to_tensor(gram, dtype="float32")
    n_tasks = gram.shape[0]
    _, (p,) = _face_solves(gram, [ops.ones((n_tasks,))])
    candidates = ops.concatenate([p / ops.sum(p, axis=1, keepdims=True), ops.eye(n_tasks)])
    return _best(candidates, lambda w: _quadratic_forms(w, gram))


def exact_cagrad(gram, phi):
    """argmin_{w ∈ Δ} bᵀw + φ √(wᵀAw), b = A1/T, by enumerating the faces of Δ (CAGrad)."""
    gram = ops.convert_to_tensor(gram, dtype="float32")
    n_tasks = gram.shape[0]
    b = ops.mean(gram, axis=1)
    _, (p, q) = _face_solves(gram, [ops.ones((n_tasks,)), b])
    sum_p, sum_q = ops.sum(p, axis=1), ops.sum(q, axis=1)
    q_b = ops.sum(q * b[None, :], axis=1)
    discriminant = ops.maximum(sum_q * sum_q - sum_p * (q_b - phi * phi), 0.0)
    # the vertices, and each face's min-norm point (where √(wᵀAw) has its kink when the hull
    # holds 0 or nearly so), then the two stationary points of every face
    candidates = [ops.eye(n_tasks), p / ops.sum(p, axis=1, keepdims=True)]
    for sign in (1.0, -1.0):
        mu = (sum_q + sign * ops.sqrt(discriminant)) / sum_p
        v = mu[:, None] * p - q
        candidates.append(v / ops.sum(v, axis=1, keepdims=True))

    def objective(w):
        return ops.sum(w * b[None, :], axis=1) + phi * ops.sqrt(
            ops.maximum(_quadratic_forms(w, gram), 0.0) + 1e-8)

    return _best(ops.concatenate(candidates), objective)


__all__ = ["MAX_EXACT_TASKS", "exact_cagrad", "exact_min_norm", "face_masks"]
