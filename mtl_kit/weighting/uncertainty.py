"""Uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018): learn each task's noise σ_t.

Treat each task's output as a likelihood with its own noise σ_t (the *homoscedastic* uncertainty,
同方差不确定性) and maximise the joint likelihood over θ *and* the σ_t. For a regression task
(Gaussian likelihood) and a classification task (a softmax / sigmoid scaled by 1/σ²) this gives

    L = Σ_regression ( 1/(2σ_t²) L_t + log σ_t ) + Σ_classification ( 1/σ_t² L_t + log σ_t ).

A noisy task (large σ_t) is weighted down; the log σ_t term stops every σ_t from growing without
bound. The variables are s_t = log σ_t² (a stable parametrisation), so w_t = c_t e^{-s_t} with
c_t = ½ for regression and 1 for classification, and R = ½ Σ_t s_t. At the optimum of a
regression task's term, σ_t² equals its mean squared error: the weight tracks the task's noise.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import ops

from mtl_kit.validation import check_choice
from mtl_kit.weighting.base import Weighting

#: Task kinds and their factor c_t in w_t = c_t / σ_t².
KIND_FACTOR = {"regression": 0.5, "binary": 1.0, "multiclass": 1.0}


@keras.saving.register_keras_serializable(package="mtl_kit")
class UncertaintyWeighting(Weighting):
    """w_t = c_t / σ_t², learned with the model; R = Σ_t log σ_t (Kendall et al. 2018).

    Args:
        task_names: the tasks, in the model's order.
        task_kinds: each task's kind (``"binary"``, ``"multiclass"``, ``"regression"``), in the
            same order; ``MultiTaskNet`` fills it in from its TaskSpecs. Default: all binary.
    """

    def __init__(self, task_names: Sequence[str], task_kinds: Sequence[str] | None = None,
                 **kwargs):
        super().__init__(task_names, **kwargs)
        kinds = list(task_kinds) if task_kinds is not None else ["binary"] * self.n_tasks
        if len(kinds) != self.n_tasks:
            raise ValueError(f"task_kinds must give one kind per task {self.task_names}, "
                             f"got {kinds}")
        self.task_kinds = tuple(check_choice(f"task_kinds[{i}]", k, tuple(KIND_FACTOR))
                                for i, k in enumerate(kinds))
        self.log_variances = self.add_weight(
            name="log_variances", shape=(self.n_tasks,), initializer="zeros", trainable=True)
        self.built = True

    @property
    def factors(self):
        return ops.convert_to_tensor([KIND_FACTOR[k] for k in self.task_kinds], dtype="float32")

    def task_weights(self):
        return self.factors * ops.exp(-self.log_variances.value)

    def regulariser(self):
        return 0.5 * ops.sum(self.log_variances.value)

    def variances(self) -> dict[str, float]:
        """The learned σ_t² per task."""
        values = ops.convert_to_numpy(ops.exp(self.log_variances.value))
        return {t: float(v) for t, v in zip(self.task_names, values, strict=True)}

    def describe(self) -> str:
        return "uncertainty weighting"

    def get_config(self) -> dict:
        config = super().get_config()
        config["task_kinds"] = list(self.task_kinds)
        return config


__all__ = ["KIND_FACTOR", "UncertaintyWeighting"]
