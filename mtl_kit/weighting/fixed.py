"""Fixed task weights, the course's starting point: L(θ) = Σ_t λ_t L_t(θ), λ_t >= 0.

The λ_t live in one non-trainable Keras variable, so ``set`` changes them between training runs
without rebuilding or recompiling the model: the compiled step reads the variable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras
from keras import ops

from mtl_kit.validation import check_number
from mtl_kit.weighting.base import Weighting


def check_loss_weights(weights: Mapping[str, float], task_names: Sequence[str]
                       ) -> dict[str, float]:
    """``{task: λ}`` with known tasks and finite λ >= 0 (else an error naming the task)."""
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
    return {task: check_number(f"loss_weights[{task!r}]", value, minimum=0.0)
            for task, value in weights.items()}


@keras.saving.register_keras_serializable(package="mtl_kit")
class FixedWeights(Weighting):
    """Fixed task weights: L(θ) = Σ_t λ_t L_t(θ), λ_t >= 0, set by the user.

    Args:
        task_names: the tasks, in the model's order.
        weights: ``{task: λ}``; tasks left out get λ = 1.
    """

    def __init__(self, task_names: Sequence[str], weights: Mapping[str, float] | None = None,
                 **kwargs):
        super().__init__(task_names, **kwargs)
        values = {t: 1.0 for t in self.task_names}
        values.update(check_loss_weights(weights or {}, self.task_names))
        self.lambdas = self.add_weight(
            name="lambdas",
            shape=(len(self.task_names),),
            initializer=keras.initializers.Constant([values[t] for t in self.task_names]),
            trainable=False,
        )
        self.built = True

    def task_weights(self):
        return self.lambdas.value

    @property
    def control_variables(self) -> list:
        return [self.lambdas]

    def set(self, weights: Mapping[str, float]) -> None:
        """Set λ for some or all tasks (the others keep their value)."""
        checked = check_loss_weights(weights, self.task_names)
        current = self.get()
        current.update(checked)
        self.lambdas.assign(ops.convert_to_tensor(
            [current[t] for t in self.task_names], dtype=self.lambdas.dtype))

    def get(self) -> dict[str, float]:
        """The current ``{task: λ}``."""
        values = ops.convert_to_numpy(self.lambdas.value)
        return {t: float(v) for t, v in zip(self.task_names, values, strict=True)}

    def describe(self) -> str:
        return "fixed λ"

    def get_config(self) -> dict:
        config = super().get_config()
        config["weights"] = self.get()
        return config


__all__ = ["FixedWeights", "check_loss_weights"]
