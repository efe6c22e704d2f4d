"""How task losses are balanced: the second, independent half of a multi-task model.

The architecture (``mtl_kit.models``) decides *how parameters are shared*; a weighting strategy
decides *how the task losses are combined* into the one number the optimiser minimises. Any
architecture combines with any strategy: ``MultiTaskNet.compute_loss`` computes every task's
masked loss L_1 … L_T and hands the list to ``model.weighting.combine``.

Writing a new strategy
----------------------
Subclass :class:`Weighting` (a Keras layer, so its state lives in Keras variables that the
model tracks, saves and reads *inside* the compiled training step; a plain Python float would
be frozen into the compiled function) and implement ``combine(task_losses)``:

* loss-based strategies (uncertainty weighting, DWA) only need the losses: learnable weights
  are ``add_weight(..., trainable=True)`` variables (uncertainty's log σ²), running statistics are
  non-trainable variables updated with ``variable.assign`` inside ``combine`` (DWA's previous
  epoch losses);
* gradient-based strategies (GradNorm, PCGrad) need each task's gradient with respect to the
  *shared* parameters. They set ``needs_task_gradients = True`` and use
  ``model.shared_variables`` (the parameters every task reads) together with
  ``model.stateless_task_losses(trainable_values, non_trainable_values, x, y)``, a pure
  function returning the list [L_1, …, L_T]; on JAX ``jax.jacrev`` of it (or one ``jax.grad``
  per task) gives ∇_{θ_sh} L_t for every task, which the strategy combines in its own
  ``train_step``. That later step needs a per-backend ``train_step``; this module only fixes the
  interface so architectures never change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras
from keras import ops


def _check_weights(weights: Mapping[str, float], task_names: Sequence[str]) -> dict[str, float]:
    if not isinstance(weights, Mapping):
        raise TypeError(
            f"loss_weights must be a dict {{task: λ >= 0}} with tasks from {tuple(task_names)}, "
            f"got {type(weights).__name__}"
        )
    unknown = [t for t in weights if t not in task_names]
    if unknown:
        raise ValueError(
            f"loss_weights names unknown task(s) {unknown}; the model's tasks are "
            f"{tuple(task_names)}"
        )
    checked = {}
    for task, value in weights.items():
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise TypeError(
                f"loss_weights[{task!r}] must be a number >= 0, got {value!r}") from None
        if not value >= 0.0 or value == float("inf"):
            raise ValueError(f"loss_weights[{task!r}] must be a finite number >= 0, got {value}")
        checked[task] = value
    return checked


@keras.saving.register_keras_serializable(package="mtl_kit")
class Weighting(keras.layers.Layer):
    """Base class of loss-balancing strategies: total = combine([L_1, …, L_T]).

    Args:
        task_names: the model's task names, in the model's order.
    """

    #: True for strategies that need each task's gradient w.r.t. the shared parameters.
    needs_task_gradients = False

    def __init__(self, task_names: Sequence[str], **kwargs):
        super().__init__(**kwargs)
        task_names = list(task_names)
        if not task_names:
            raise ValueError("task_names must list at least one task, got []")
        self.task_names = tuple(task_names)

    def combine(self, task_losses):
        """Combine the list of scalar task losses (model order) into one scalar loss."""
        raise NotImplementedError

    def call(self, task_losses):
        return self.combine(task_losses)

    def get_config(self) -> dict:
        config = super().get_config()
        config["task_names"] = list(self.task_names)
        return config


@keras.saving.register_keras_serializable(package="mtl_kit")
class FixedWeights(Weighting):
    """Fixed task weights: L(θ) = Σ_t λ_t L_t(θ), λ_t >= 0.

    The λ_t live in one non-trainable Keras variable, so ``set`` changes them between training
    runs without rebuilding or recompiling the model: the compiled step reads the variable.

    Args:
        task_names: the tasks, in the model's order.
        weights: ``{task: λ}``; tasks left out get λ = 1.
    """

    def __init__(self, task_names: Sequence[str], weights: Mapping[str, float] | None = None,
                 **kwargs):
        super().__init__(task_names, **kwargs)
        values = {t: 1.0 for t in self.task_names}
        values.update(_check_weights(weights or {}, self.task_names))
        self.lambdas = self.add_weight(
            name="lambdas",
            shape=(len(self.task_names),),
            initializer=keras.initializers.Constant([values[t] for t in self.task_names]),
            trainable=False,
        )
        self.built = True

    def combine(self, task_losses):
        total = 0.0
        for index, loss in enumerate(task_losses):
            total = total + self.lambdas[index] * loss
        return total

    def set(self, weights: Mapping[str, float]) -> None:
        """Set λ for some or all tasks (the others keep their value)."""
        checked = _check_weights(weights, self.task_names)
        current = self.get()
        current.update(checked)
        self.lambdas.assign(ops.convert_to_tensor(
            [current[t] for t in self.task_names], dtype=self.lambdas.dtype))

    def get(self) -> dict[str, float]:
        """The current ``{task: λ}``."""
        values = ops.convert_to_numpy(self.lambdas.value)
        return {t: float(v) for t, v in zip(self.task_names, values, strict=True)}

    def get_config(self) -> dict:
        config = super().get_config()
        config["weights"] = self.get()
        return config


__all__ = ["FixedWeights", "Weighting"]
