"""PCGrad, projecting conflicting gradients (Yu et al., NeurIPS 2020).

Two tasks *conflict* on the shared parameters when their gradients point against each other,
g_i · g_j < 0: a step that helps one hurts the other. PCGrad removes the conflict before the
step. For each task i, for each other task j (in turn):

    if g_i' · g_j < 0:   g_i' ← g_i' − (g_i' · g_j / ‖g_j‖²) g_j

(g_i' starts as g_i; g_j is always the *original* gradient), then d = Σ_i g_i'. Right after
its projection off g_j, g_i' · g_j = 0; with two tasks that leaves no conflict at all, but with
three or more a later projection (off g_k) can turn g_i' against an earlier g_j again.

Every g_i' stays a combination of the original gradients, g_i' = Σ_k C_ik g_k, and the inner
products it needs are rows of the Gram matrix (g_i' · g_j = (C M)_ij), so the whole method runs
on T × T numbers; d = Σ_t w_t g_t with w = Σ_i C_i.

The paper visits the other tasks in a random order. Here the order rotates with the step
counter (step s visits j = s, s+1, … mod T), which needs no random state and keeps runs
reproducible; for two tasks the order does not matter.
"""

from __future__ import annotations

import keras
from keras import ops

from mtl_kit.weighting.base import GradientWeighting, TaskGradients, gram_of, safe_divide


def pcgrad_coefficients(gram, step=0):
    """C (T, T) with g_i' = Σ_k C_ik g_k after PCGrad's projections (visiting order rotated by
    ``step``)."""
    gram = ops.convert_to_tensor(gram, dtype="float32")
    n_tasks = gram.shape[0]
    step = ops.cast(step, "int32")
    rows = []
    for i in range(n_tasks):
        row = ops.one_hot(i, n_tasks)
        for position in range(n_tasks):
            j = (position + step) % n_tasks
            e_j = ops.one_hot(j, n_tasks)
            dot = ops.sum(row * ops.take(gram, j, axis=1))  # g_i' · g_j
            conflict = ops.logical_and(dot < 0.0, ops.not_equal(j, i))
            scale = safe_divide(dot, ops.take(ops.diagonal(gram), j))
            row = row - ops.where(conflict, scale, 0.0) * e_j
        rows.append(row)
    return ops.stack(rows)


def pcgrad_direction(grads, step=0):
    """d = Σ_i g_i' for a (T, P) matrix of task gradients (for tests and exercises)."""
    grads = ops.convert_to_tensor(grads, dtype="float32")
    weights = ops.sum(pcgrad_coefficients(gram_of(grads), step), axis=0)
    return ops.matmul(weights[None, :], grads)[0]


@keras.saving.register_keras_serializable(package="mtl_kit")
class PCGrad(GradientWeighting):
    """PCGrad (Yu et al. 2020): project each task's gradient off the ones it conflicts with."""

    def gradient_weights(self, gradients: TaskGradients):
        return ops.sum(pcgrad_coefficients(gradients.gram, gradients.step), axis=0)

    def describe(self) -> str:
        return "PCGrad"


__all__ = ["PCGrad", "pcgrad_coefficients", "pcgrad_direction"]
