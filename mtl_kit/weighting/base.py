"""What every loss-balancing strategy has in common.

A multi-task model minimises one number made of T task losses. *How* the tasks are balanced is
the strategy's whole job, and there are two kinds:

**Loss-level strategies** (:class:`Weighting`) combine the losses with weights w_t,

    L(θ) = Σ_t w_t L_t(θ) + R(w),

where the weights are fixed (λ), learned (uncertainty weighting's 1/σ², with R = Σ_t log σ_t) or
recomputed every epoch from the losses' history (DWA). Keras differentiates L as usual; the
strategy costs nothing extra.

**Gradient-level strategies** (:class:`GradientWeighting`) look at each task's gradient of the
*shared* parameters, g_t = ∇_{θ_sh} L_t, and choose the update direction

    d = Σ_t w_t g_t

from them: PCGrad removes the parts of g_t that conflict with other tasks, MGDA takes the
shortest vector in their convex hull, CAGrad stays near the average while lifting the worst
task, GradNorm learns w_t so the tasks' gradient norms train at similar rates. Every one of
these directions is a combination of the g_t, and the coefficients w_t depend on the g_t only
through their inner products, the Gram matrix M_ab = g_a · g_b. So a strategy here is a function
of small T × T (and T-vector) tensors, written once with ``keras.ops``; the training step
(``mtl_kit.task_gradients``) computes the g_t (one forward pass, one backward pass per task),
the Gram matrix, and applies d. Each task's own parameters (its tower and head) get that task's
gradient (times w_t for the strategies that weight losses).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import keras
from keras import ops


@dataclass
class TaskGradients:
    """What a gradient-level strategy sees at one training step (all backend tensors).

    Attributes:
        gram: (T, T) inner products of the task gradients on the shared parameters,
            gram[a, b] = g_a · g_b (so ‖g_t‖ = √gram[t, t]).
        last_layer_gram: (T, T) the same on the last shared layer only (GradNorm's W).
        losses: (T,) the task losses L_t of this batch.
        step: the optimiser's iteration counter (a scalar int tensor).
    """

    gram: Any
    last_layer_gram: Any
    losses: Any
    step: Any


@keras.saving.register_keras_serializable(package="mtl_kit")
class Weighting(keras.layers.Layer):
    """Base class of the strategies: L = Σ_t w_t L_t + R (loss-level).

    Subclasses implement :meth:`task_weights` (the w_t, a (T,) tensor read from the strategy's
    variables) and, if they learn, :meth:`regulariser` (R). A strategy's state lives in Keras
    variables so the compiled training step reads its current value and the model saves it.

    Args:
        task_names: the model's task names, in the model's order.
    """

    #: True for strategies that need each task's gradient of the shared parameters.
    needs_task_gradients = False
    #: True for strategies that change their state between epochs (:meth:`end_epoch`).
    updates_per_epoch = False
    #: True when each task's own parameters get w_t ∇L_t (False: ∇L_t, unweighted).
    weights_task_parameters = True

    def __init__(self, task_names: Sequence[str], **kwargs):
        super().__init__(**kwargs)
        task_names = [str(t) for t in task_names]
        if not task_names:
            raise ValueError("task_names must list at least one task, got []")
        if len(set(task_names)) != len(task_names):
            raise ValueError(f"task_names must be distinct, got {task_names}")
        self.task_names = tuple(task_names)
        # A strategy creates its variables here, in __init__ (none for PCGrad and MGDA): it is
        # built now. An unbuilt layer makes Keras' fit trace the model on a batch it draws from
        # the data first, which uses up a shuffle (the run then differs from the fast loop's).
        self.built = True

    @property
    def n_tasks(self) -> int:
        return len(self.task_names)

    # -- loss level -----------------------------------------------------------------------
    def task_weights(self):
        """The current weights w_t, a (T,) tensor."""
        raise NotImplementedError

    def regulariser(self):
        """R in L = Σ_t w_t L_t + R (0 unless the weights are learned)."""
        return 0.0

    def combine(self, task_losses):
        """L = Σ_t w_t L_t + R for the list of scalar task losses (model order)."""
        weights = self.task_weights()
        total = self.regulariser()
        for index, loss in enumerate(task_losses):
            total = total + weights[index] * loss
        return total

    def weighting_loss(self, gradients: TaskGradients):
        """What the strategy's own trainable variables minimise (the model's parameters are
        constants here). For a loss-level strategy it is L = Σ_t w_t L_t + R itself; GradNorm
        overrides it with its gradient-norm loss."""
        return self.combine([gradients.losses[t] for t in range(self.n_tasks)])

    def call(self, task_losses):
        return self.combine(task_losses)

    # -- between epochs -------------------------------------------------------------------
    def end_epoch(self, task_losses: Mapping[str, float]) -> None:
        """Called after every training epoch with the epoch's mean training loss per task."""

    # -- what reset() keeps -----------------------------------------------------------------
    @property
    def control_variables(self) -> list:
        """Variables the user sets (fixed λ): ``MultiTaskNet.reset`` keeps them; every other
        variable of the strategy (learned weights, loss history) restarts."""
        return []

    def describe(self) -> str:
        """One line for tables and plot titles, e.g. ``"CAGrad (c = 0.4)"``."""
        return type(self).__name__

    def get_config(self) -> dict:
        config = super().get_config()
        config["task_names"] = list(self.task_names)
        return config


@keras.saving.register_keras_serializable(package="mtl_kit")
class GradientWeighting(Weighting):
    """Base class of gradient-level strategies: d = Σ_t w_t g_t with w = f(Gram matrix).

    Subclasses implement :meth:`gradient_weights` (T,) from :class:`TaskGradients`.
    """

    needs_task_gradients = True
    weights_task_parameters = False

    def gradient_weights(self, gradients: TaskGradients):
        """The coefficients w_t of the update direction d = Σ_t w_t g_t, a (T,) tensor.

        Runs inside the compiled step; a strategy may update its non-trainable variables
        here (``variable.assign``), e.g. GradNorm remembers the first losses."""
        raise NotImplementedError

    def task_weights(self):
        # Only used where no gradients are at hand (evaluation): every task counts once.
        return ops.ones((self.n_tasks,))


def safe_divide(numerator, denominator, epsilon: float = 1e-12):
    """numerator / denominator, with 0 where the denominator is (almost) 0."""
    small = ops.abs(denominator) < epsilon
    return ops.where(small, ops.zeros_like(numerator),
                     numerator / ops.where(small, ops.ones_like(denominator), denominator))


def gram_of(grads):
    """M = G Gᵀ for a (T, P) matrix of task gradients (the strategies' input, for tests and
    exercises that start from gradients)."""
    grads = ops.convert_to_tensor(grads, dtype="float32")
    return ops.matmul(grads, ops.transpose(grads))


__all__ = ["GradientWeighting", "TaskGradients", "Weighting", "gram_of", "safe_divide"]
