"""Dynamic Weight Average (Liu, Johns & Davison, CVPR 2019): weight the tasks that learn slowly.

After each epoch k-1, compare every task's mean training loss with the epoch before,

    r_t = L_t(k-1) / L_t(k-2),      w_t(k) = T · exp(r_t / τ) / Σ_i exp(r_i / τ),

so a task whose loss fell less (r_t near or above 1) gets more weight in epoch k. The weights
sum to T; the temperature τ (the paper's T = 2) smooths them (τ → ∞: all equal). The first two
epochs use w_t = 1, as there is no ratio yet. Only loss values are needed: no extra gradients.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras
import numpy as np
from keras import ops

from mtl_kit.validation import check_number
from mtl_kit.weighting.base import Weighting


def dwa_weights(previous: Sequence[float], before: Sequence[float],
                temperature: float = 2.0) -> np.ndarray:
    """w = T · softmax(r / τ) with r_t = previous_t / before_t (NumPy; the formula alone)."""
    ratios = np.asarray(previous, dtype="float64") / np.asarray(before, dtype="float64")
    scores = np.exp((ratios - ratios.max()) / temperature)
    return len(ratios) * scores / scores.sum()


@keras.saving.register_keras_serializable(package="mtl_kit")
class DynamicWeightAverage(Weighting):
    """DWA: w_t(k) = T · softmax_t(L_t(k-1) / L_t(k-2) / τ), updated after every epoch.

    Args:
        task_names: the tasks, in the model's order.
        temperature: τ > 0 (the paper's T = 2).

    τ is only read between epochs (:meth:`end_epoch`, in Python), so ``strategy.temperature =
    5.0`` takes effect at the next ``fit`` without recompiling.
    """

    updates_per_epoch = True

    def __init__(self, task_names: Sequence[str], temperature: float = 2.0, **kwargs):
        super().__init__(task_names, **kwargs)
        self.temperature = temperature
        self.weights_variable = self.add_weight(
            name="weights", shape=(self.n_tasks,), initializer="ones", trainable=False)
        # the mean training loss of the last two epochs (row 0: the older one)
        self.loss_history = self.add_weight(
            name="loss_history", shape=(2, self.n_tasks), initializer="zeros", trainable=False)
        self.epochs_seen = self.add_weight(
            name="epochs_seen", shape=(), initializer="zeros", trainable=False)
        self.built = True

    @property
    def temperature(self) -> float:
        """τ > 0."""
        return self._temperature

    @temperature.setter
    def temperature(self, value: float) -> None:
        self._temperature = check_number("temperature", value, minimum=0.0, low_open=True)

    def task_weights(self):
        return self.weights_variable.value

    def end_epoch(self, task_losses: Mapping[str, float]) -> None:
        losses = [float(task_losses[t]) for t in self.task_names]
        history = ops.convert_to_numpy(self.loss_history.value)
        history = np.stack([history[1], np.asarray(losses, dtype="float32")])
        seen = int(ops.convert_to_numpy(self.epochs_seen.value)) + 1
        self.loss_history.assign(history)
        self.epochs_seen.assign(float(seen))
        if seen >= 2 and np.all(history[0] > 0):
            self.weights_variable.assign(
                dwa_weights(history[1], history[0], self.temperature).astype("float32"))

    def describe(self) -> str:
        return f"DWA (T = {self.temperature:g})"

    def get_config(self) -> dict:
        config = super().get_config()
        config["temperature"] = self.temperature
        return config


__all__ = ["DynamicWeightAverage", "dwa_weights"]
