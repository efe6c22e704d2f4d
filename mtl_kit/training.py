"""Training plumbing: the fast re-training path (what ``MultiTaskNet`` reuses between fits).

The input checks are in ``mtl_kit.inputs``, the single-task baselines in ``mtl_kit.baselines``.
This module imports no model: ``mtl_kit.models`` imports it.

Why re-training is fast
-----------------------
Building and compiling a Keras model costs about a second on JAX, mostly tracing the training
step. A slider that re-trains must not pay it again, so ``MultiTaskNet``:

* keeps λ (loss weights) and β (soft-sharing strength) in non-trainable Keras variables that
  the compiled step *reads* — changing them is a variable assignment;
* stores every model variable's initial value once (:class:`InitialState`), and ``reset()``
  assigns them back, together with the optimiser's state (its iteration counter, Adam's
  moment estimates …); nothing is rebuilt, so the next ``fit`` reuses the compiled function;
* on JAX, runs each whole epoch as one compiled call (``mtl_kit.epoch_loop``): Keras' own
  training step over the same batches in the same order, without the Python between batches;
* elsewhere, runs ``steps_per_execution`` batches per call of Keras' compiled function
  (TensorFlow; PyTorch refuses values > 1): the same updates in the same order, less Python
  overhead per batch.

Measured on a 2-core CPU (``benchmarks/bench_retrain.py``): a warm re-train of hard sharing,
5 epochs on 5,000 rows, takes about 0.08 s; building, compiling and fitting anew about 0.8 s.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

#: Batches per call of the compiled train function, per backend (torch refuses > 1).
STEPS_PER_EXECUTION = {"jax": 16, "tensorflow": 16, "torch": 1, "numpy": 1, "openvino": 1}


def default_steps_per_execution() -> int:
    """16 on JAX and TensorFlow, 1 elsewhere (the result of ``fit`` does not depend on it)."""
    return STEPS_PER_EXECUTION.get(keras.backend.backend(), 1)


# --------------------------------------------------------------------------------------------
# Restoring the initial state
# --------------------------------------------------------------------------------------------
class InitialState:
    """Stored initial values of a model's variables and of its optimiser's variables.

    ``restore()`` assigns them back: θ ← θ_0 for every weight (except the controls λ and β,
    which the user sets), and every optimiser slot (iteration count, Adam's m and v) ← its
    value right after the optimiser was built. The learning rate is left as it is.
    """

    def __init__(self, model: keras.Model, exclude: Sequence = ()):
        excluded = {id(v) for v in exclude}
        self.model_values = [
            (v, _snapshot(v)) for v in model.weights if id(v) not in excluded
        ]
        optimizer = model.optimizer
        self.optimizer_values = []
        if optimizer is not None:
            if not optimizer.built:
                optimizer.build(model.trainable_variables)
            self.optimizer_values = [
                (v, _snapshot(v)) for v in optimizer.variables if "learning_rate" not in v.path
            ]

    def replace(self, variables: Sequence, values: Sequence) -> None:
        """Store new initial values for some model variables (``MultiTaskNet.reseed``)."""
        new = {id(v): _snapshot_array(value) for v, value in zip(variables, values, strict=True)}
        self.model_values = [(v, new.get(id(v), old)) for v, old in self.model_values]

    def restore(self) -> None:
        for variable, value in self.model_values + self.optimizer_values:
            # a copy: on JAX, Keras' compiled steps donate (free) the buffers a variable holds
            variable.assign(keras.ops.copy(value))


def _snapshot(variable):
    """A copy of the variable's value as a backend tensor (already on the device, so restoring
    it is a device-side copy, not a host-to-device transfer per variable)."""
    return _snapshot_array(keras.ops.convert_to_numpy(variable.value))


def _snapshot_array(value):
    return keras.ops.convert_to_tensor(np.array(value))


__all__ = [
    "STEPS_PER_EXECUTION",
    "InitialState",
    "default_steps_per_execution",
]
