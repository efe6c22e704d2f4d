"""CAGrad, conflict-averse gradient descent (Liu, Liu, Jin, Stone & Liu, NeurIPS 2021).

The average gradient g_0 = (1/T) Σ_t g_t makes the average loss fall fastest but may raise one
task's loss. CAGrad looks for the step d within a ball around g_0 that helps the *worst* task
most, max_{‖d − g_0‖ <= c‖g_0‖} min_t g_t · d. Its dual is a problem over T weights,

    w* = argmin_{w ∈ Δ}  g_w · g_0 + c ‖g_0‖ ‖g_w‖,    g_w = Σ_t w_t g_t,

and the step is d = (g_0 + (c ‖g_0‖ / ‖g_w‖) g_w) / (1 + c²) (the official code's rescaling).
c = 0 gives the average gradient; a large c approaches MGDA. With the Gram matrix M,
g_w · g_0 = wᵀM1/T, ‖g_w‖² = wᵀMw and ‖g_0‖² = 1ᵀM1/T², so d = Σ_t w_t' g_t with
w_t' = (1/T + (c‖g_0‖/‖g_w‖) w*_t) / (1 + c²).

The paper solves for w* with SciPy. Here it is solved exactly inside the compiled training step
(``mtl_kit.weighting.simplex``: the optimum on each face of the simplex has a closed form, and
the best face wins), for up to ``MAX_EXACT_TASKS`` tasks; beyond that, ``iterations``
exponentiated-gradient steps approximate it.
"""

from __future__ import annotations

import keras
from keras import ops

from mtl_kit.validation import check_int, check_number
from mtl_kit.weighting.base import GradientWeighting, TaskGradients, gram_of, safe_divide
from mtl_kit.weighting.simplex import MAX_EXACT_TASKS, exact_cagrad

_EPSILON = 1e-8


def cagrad_objective(weights, gram, c: float):
    """F(w) = g_w · g_0 + c ‖g_0‖ ‖g_w‖ (what w* minimises over the simplex)."""
    gram = ops.convert_to_tensor(gram, dtype="float32")
    weights = ops.convert_to_tensor(weights, dtype="float32")
    g0_norm = ops.sqrt(ops.mean(gram) + _EPSILON)
    return (ops.sum(weights * ops.mean(gram, axis=1))
            + c * g0_norm * ops.sqrt(ops.sum(weights * ops.matmul(gram, weights)) + _EPSILON))


def cagrad_weights(gram, c: float = 0.4, iterations: int = 100):
    """w' (T,) with CAGrad's direction d = Σ_t w'_t g_t (``c`` a number or a scalar tensor)."""
    gram = ops.convert_to_tensor(gram, dtype="float32")
    n_tasks = gram.shape[0]
    uniform = ops.ones((n_tasks,)) / n_tasks
    if isinstance(c, (int, float)) and c == 0.0:  # a tensor c (the layer's variable) always
        return uniform                               # solves; c = 0 then gives these weights too
    b = ops.mean(gram, axis=1)  # g_t · g_0
    phi = c * ops.sqrt(ops.mean(gram) + _EPSILON)

    if n_tasks <= MAX_EXACT_TASKS:
        best = exact_cagrad(gram, phi)
    else:
        best = _exponentiated_gradient(gram, b, phi, iterations)
    gw_norm = ops.sqrt(ops.sum(best * ops.matmul(gram, best)) + _EPSILON)
    lift = safe_divide(phi, gw_norm)
    return (uniform + lift * best) / (1.0 + c * c)


def _exponentiated_gradient(gram, b, phi, iterations: int):
    """w* approximately, for more than ``MAX_EXACT_TASKS`` tasks: multiplicative steps on the
    simplex (step 4 / (max slope · √(k+1))), the best iterate kept."""
    uniform = ops.ones((gram.shape[0],)) / gram.shape[0]

    def objective(w):
        return ops.sum(w * b) + phi * ops.sqrt(ops.sum(w * ops.matmul(gram, w)) + _EPSILON)

    def step(k, carry):
        w, best, best_value = carry
        slope = b + phi * ops.matmul(gram, w) / ops.sqrt(ops.sum(w * ops.matmul(gram, w))
                                                         + _EPSILON)
        slope = slope - ops.min(slope)
        size = 4.0 / ((ops.max(slope) + 1e-12) * ops.sqrt(ops.cast(k, "float32") + 1.0))
        w = w * ops.exp(-size * slope)
        w = w / ops.sum(w)
        value = objective(w)
        better = value < best_value
        return w, ops.where(better, w, best), ops.where(better, value, best_value)

    _, best, _ = ops.fori_loop(0, iterations, step, (uniform, uniform, objective(uniform)))
    return best


def cagrad_direction(grads, c: float = 0.4, iterations: int = 100):
    """d for a (T, P) matrix of task gradients (for tests and exercises)."""
    grads = ops.convert_to_tensor(grads, dtype="float32")
    weights = cagrad_weights(gram_of(grads), c, iterations)
    return ops.matmul(weights[None, :], grads)[0]


@keras.saving.register_keras_serializable(package="mtl_kit")
class CAGrad(GradientWeighting):
    """CAGrad (Liu et al. 2021): the average gradient, bent toward the worst-off task.

    Args:
        task_names: the tasks, in the model's order.
        c: the radius of the ball around g_0, c >= 0 (the paper's default 0.4; 0 gives the
            average gradient).
        iterations: solver steps for w* with more than ``MAX_EXACT_TASKS`` tasks.

    c lives in a non-trainable variable that the compiled step reads, so ``strategy.c = 0.8``
    takes effect at the next ``fit`` without recompiling; ``MultiTaskNet.reset`` keeps it.
    """

    def __init__(self, task_names, c: float = 0.4, iterations: int = 100, **kwargs):
        super().__init__(task_names, **kwargs)
        self.radius = self.add_weight(
            name="c", shape=(), trainable=False,
            initializer=keras.initializers.Constant(check_number("c", c, minimum=0.0)))
        self.iterations = check_int("iterations", iterations, minimum=1)
        self.built = True

    @property
    def c(self) -> float:
        """The radius c (the variable ``radius`` holds it, in float32)."""
        return float(f"{float(ops.convert_to_numpy(self.radius.value)):.7g}")

    @c.setter
    def c(self, value: float) -> None:
        self.radius.assign(check_number("c", value, minimum=0.0))

    @property
    def control_variables(self) -> list:
        return [self.radius]

    def gradient_weights(self, gradients: TaskGradients):
        return cagrad_weights(gradients.gram, self.radius.value, self.iterations)

    def describe(self) -> str:
        return f"CAGrad (c = {self.c:g})"

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(c=self.c, iterations=self.iterations)
        return config


__all__ = ["CAGrad", "cagrad_direction", "cagrad_objective", "cagrad_weights"]
