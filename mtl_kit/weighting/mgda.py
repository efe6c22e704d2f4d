"""MGDA, the multiple-gradient descent algorithm (Désidéri 2012; Sener & Koltun, NeurIPS 2018).

Multi-task learning as multi-objective optimisation: look for a step that decreases *every*
task's loss. The shortest vector in the convex hull of the task gradients,

    w* = argmin_{w ∈ Δ} ‖Σ_t w_t g_t‖²,    Δ = {w_t >= 0, Σ_t w_t = 1},

is such a direction (d · g_t >= ‖d‖² > 0 for every t), or zero at a Pareto-stationary point,
where no step improves all tasks. With the Gram matrix M (M_ab = g_a · g_b), ‖Σ w_t g_t‖² =
wᵀMw, so the problem has T unknowns however large the network:

* two tasks: closed form, w_1 = clip((M_22 − M_12) / (M_11 + M_22 − 2 M_12), 0, 1), w_2 = 1 − w_1;
* three to ``MAX_EXACT_TASKS`` tasks: exactly, face by face (``mtl_kit.weighting.simplex``: on
  the face of tasks S the optimum is w_S ∝ M_S⁻¹ 1; the best face wins). Sener & Koltun use
  Frank-Wolfe, which can stop short: after 50 iterations its direction still raised one task's
  loss (d · g_t < 0) on 3 of 900 random problems;
* more tasks: Frank-Wolfe from the uniform weights; each iteration moves toward the task t with
  the smallest (Mw)_t by the exact line-search step of the two-point problem.

The weights sum to 1 (not T as fixed λ = 1 do); each task's own parameters get its own gradient.
"""

from __future__ import annotations

import keras
from keras import ops

from mtl_kit.validation import check_int
from mtl_kit.weighting.base import GradientWeighting, TaskGradients, gram_of, safe_divide
from mtl_kit.weighting.simplex import MAX_EXACT_TASKS, exact_min_norm


def _two_point_step(vv, ve, ee):
    """γ minimising ‖(1 − γ) v + γ e‖² over [0, 1], given v·v, v·e and e·e."""
    return ops.clip(safe_divide(vv - ve, vv + ee - 2.0 * ve), 0.0, 1.0)


def min_norm_weights(gram, iterations: int = 50):
    """w* = argmin_{w ∈ Δ} wᵀ M w: closed form for T = 2, the exact optimum over the faces of
    Δ up to ``MAX_EXACT_TASKS`` tasks, ``iterations`` Frank-Wolfe steps beyond."""
    gram = ops.convert_to_tensor(gram, dtype="float32")
    n_tasks = gram.shape[0]
    if n_tasks == 1:
        return ops.ones((1,))
    if n_tasks == 2:
        first = _two_point_step(gram[1, 1], gram[0, 1], gram[0, 0])
        return ops.stack([first, 1.0 - first])
    if n_tasks <= MAX_EXACT_TASKS:
        return exact_min_norm(gram)

    def frank_wolfe_step(_, weights):
        m_w = ops.matmul(gram, weights)
        target = ops.argmin(m_w)
        gamma = _two_point_step(ops.sum(weights * m_w), ops.take(m_w, target),
                                ops.take(ops.diagonal(gram), target))
        return (1.0 - gamma) * weights + gamma * ops.one_hot(target, n_tasks)

    return ops.fori_loop(0, iterations, frank_wolfe_step, ops.ones((n_tasks,)) / n_tasks)


def mgda_direction(grads, iterations: int = 50):
    """d = Σ_t w*_t g_t for a (T, P) matrix of task gradients (for tests and exercises)."""
    grads = ops.convert_to_tensor(grads, dtype="float32")
    weights = min_norm_weights(gram_of(grads), iterations)
    return ops.matmul(weights[None, :], grads)[0]


@keras.saving.register_keras_serializable(package="mtl_kit")
class MGDA(GradientWeighting):
    """MGDA (Sener & Koltun 2018): the minimum-norm point of the task gradients' convex hull.

    Args:
        task_names: the tasks, in the model's order.
        iterations: Frank-Wolfe iterations for more than ``MAX_EXACT_TASKS`` tasks.
    """

    def __init__(self, task_names, iterations: int = 50, **kwargs):
        super().__init__(task_names, **kwargs)
        self.iterations = check_int("iterations", iterations, minimum=1)

    def gradient_weights(self, gradients: TaskGradients):
        return min_norm_weights(gradients.gram, self.iterations)

    def describe(self) -> str:
        return "MGDA"

    def get_config(self) -> dict:
        config = super().get_config()
        config["iterations"] = self.iterations
        return config


__all__ = ["MGDA", "mgda_direction", "min_norm_weights"]
