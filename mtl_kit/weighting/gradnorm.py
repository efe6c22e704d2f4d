"""GradNorm (Chen, Badrinarayanan, Lee & Rabinovich, ICML 2018): balance how fast tasks train.

Loss weights w_t(τ) are learned so that every task's gradient on the last shared layer W has a
norm proportional to how far that task still has to go:

    G_t = ‖∇_W w_t L_t‖ = w_t ‖∇_W L_t‖,       Ḡ = mean_t G_t,
    L̃_t = L_t(τ) / L_t(0),                   r_t = L̃_t / mean_i L̃_i   (relative inverse rate),
    L_grad = Σ_t | G_t − Ḡ · r_t^α |           (the target Ḡ r_t^α held constant).

A task whose loss fell less than the others (r_t > 1) is pushed to larger gradients; α sets how
strongly (the paper's α = 1.5; α = 0 asks for equal norms). The weights minimise L_grad with
the model's optimiser, and the model minimises Σ_t w_t L_t. The paper renormalises the weights
to sum to T after every step; here w = T · softmax(s) does that by construction, and s are the
learned variables.
"""

from __future__ import annotations

import keras
from keras import ops

from mtl_kit.validation import check_number
from mtl_kit.weighting.base import GradientWeighting, TaskGradients, safe_divide


@keras.saving.register_keras_serializable(package="mtl_kit")
class GradNorm(GradientWeighting):
    """GradNorm (Chen et al. 2018): learn w_t so that ‖∇_W w_t L_t‖ ∝ r_t^α.

    Args:
        task_names: the tasks, in the model's order.
        alpha: α >= 0, the strength of the pull toward equal training rates (paper: 1.5).

    α lives in a non-trainable variable that the compiled step reads, so
    ``strategy.alpha = 0.5`` takes effect at the next ``fit`` without recompiling;
    ``MultiTaskNet.reset`` keeps it.
    """

    weights_task_parameters = True  # a loss weighting: the towers get w_t ∇L_t too

    def __init__(self, task_names, alpha: float = 1.5, **kwargs):
        super().__init__(task_names, **kwargs)
        alpha = check_number("alpha", alpha, minimum=0.0)
        self.logits = self.add_weight(name="logits", shape=(self.n_tasks,),
                                      initializer="zeros", trainable=True)
        self.initial_losses = self.add_weight(name="initial_losses", shape=(self.n_tasks,),
                                              initializer="zeros", trainable=False)
        self.started = self.add_weight(name="started", shape=(), initializer="zeros",
                                       trainable=False)
        self.strength = self.add_weight(name="alpha", shape=(), trainable=False,
                                        initializer=keras.initializers.Constant(alpha))
        self.built = True

    @property
    def alpha(self) -> float:
        """α (the variable ``strength`` holds it, in float32)."""
        return float(f"{float(ops.convert_to_numpy(self.strength.value)):.7g}")

    @alpha.setter
    def alpha(self, value: float) -> None:
        self.strength.assign(check_number("alpha", value, minimum=0.0))

    @property
    def control_variables(self) -> list:
        return [self.strength]

    def task_weights(self):
        return self.n_tasks * ops.softmax(self.logits.value)

    def gradient_weights(self, gradients: TaskGradients):
        # L_t(0): the losses of the first step after a reset
        first = self.started.value < 0.5
        self.initial_losses.assign(
            ops.where(first, ops.stop_gradient(gradients.losses), self.initial_losses.value))
        self.started.assign(ops.ones_like(self.started.value))
        return self.task_weights()

    def weighting_loss(self, gradients: TaskGradients):
        weights = self.task_weights()
        norms = weights * ops.sqrt(ops.maximum(ops.diagonal(gradients.last_layer_gram), 0.0))
        progress = safe_divide(gradients.losses, self.initial_losses.value)  # L̃_t
        rates = safe_divide(progress, ops.mean(progress))                       # r_t
        target = ops.stop_gradient(ops.mean(norms) * ops.power(rates, self.strength.value))
        return ops.sum(ops.abs(norms - target))

    def describe(self) -> str:
        return f"GradNorm (α = {self.alpha:g})"

    def get_config(self) -> dict:
        config = super().get_config()
        config["alpha"] = self.alpha
        return config


__all__ = ["GradNorm"]
