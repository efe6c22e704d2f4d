"""Training plumbing: input checks, the fast re-training path, single-task baselines.

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

from collections.abc import Mapping, Sequence

import keras
import numpy as np

from mtl_kit.models.layers import IDS_KEY, NUMERIC_KEY

#: Batches per call of the compiled train function, per backend (torch refuses > 1).
STEPS_PER_EXECUTION = {"jax": 16, "tensorflow": 16, "torch": 1, "numpy": 1, "openvino": 1}


def default_steps_per_execution() -> int:
    """16 on JAX and TensorFlow, 1 elsewhere (the result of ``fit`` does not depend on it)."""
    return STEPS_PER_EXECUTION.get(keras.backend.backend(), 1)


# --------------------------------------------------------------------------------------------
# Input and label checks (before any Keras work)
# --------------------------------------------------------------------------------------------
def prepare_inputs(features, x, argument: str = "x"):
    """Check x against the feature description and return it as int32 ids / float32 arrays.

    Returns ``(x, n_rows)``: for dict inputs ``{"categorical_ids": (n, C) int32 in the
    FeatureSpec's order, "numeric": (n, k) float32}``; keys the model does not use are dropped.
    """
    if isinstance(features, int):
        if isinstance(x, Mapping):
            raise TypeError(f"{argument} must be a float matrix (n, {features}), got a dict")
        array = np.asarray(x, dtype="float32")
        if array.ndim != 2 or array.shape[1] != features:
            raise ValueError(f"{argument} must have shape (n, {features}), got {array.shape}")
        return array, array.shape[0]
    if not isinstance(x, Mapping):
        raise TypeError(
            f"{argument} must be a dict of arrays with keys {list(features['categorical'])}"
            f"{' + numeric' if features['numeric'] else ''} (ShopData.to_arrays), "
            f"got {type(x).__name__}"
        )
    if IDS_KEY in x:  # already prepared (Keras' fit calls evaluate on validation data)
        n_categorical = len(features["categorical"])
        ids = np.asarray(x[IDS_KEY]).astype("int32", copy=False)
        if ids.ndim != 2 or ids.shape[1] != n_categorical:
            raise ValueError(f"{argument}[{IDS_KEY!r}] must have shape (n, {n_categorical}), "
                             f"got {ids.shape}")
        x = {**{f: ids[:, c] for c, f in enumerate(features["categorical"])},
             **{k: v for k, v in x.items() if k != IDS_KEY}}
    needed = list(features["categorical"]) + ([NUMERIC_KEY] if features["numeric"] else [])
    missing = [k for k in needed if k not in x]
    if missing:
        raise ValueError(f"{argument} lacks the input(s) {missing}; the model needs {needed}")
    prepared, n_rows = {}, None
    for key in needed:
        if key == NUMERIC_KEY:
            array = np.asarray(x[key], dtype="float32")
            width = len(features["numeric"])
            if array.ndim != 2 or array.shape[1] != width:
                raise ValueError(f"{argument}['numeric'] must have shape (n, {width}), "
                                 f"got {array.shape}")
        else:
            array = np.asarray(x[key])
            if array.ndim == 2 and array.shape[1] == 1:
                array = array[:, 0]
            if array.ndim != 1:
                raise ValueError(f"{argument}[{key!r}] must have shape (n,), got {array.shape}")
            array = array.astype("int32", copy=False)
        if n_rows is None:
            n_rows = array.shape[0]
        elif array.shape[0] != n_rows:
            raise ValueError(f"{argument}[{key!r}] has {array.shape[0]} rows, "
                             f"other inputs have {n_rows}")
        prepared[key] = array
    categorical = list(features["categorical"])
    if categorical:  # one (n, C) matrix is sliced faster per batch than C vectors
        prepared[IDS_KEY] = np.stack([prepared.pop(key) for key in categorical], axis=1)
    return prepared, n_rows


def prepare_labels(tasks, y, n_rows: int, argument: str = "y") -> dict[str, np.ndarray]:
    """Check y (dict task -> labels, or a list in task order) and return float32 (n,) arrays.

    NaN marks a missing label. Tasks in a dict y that the model does not have are dropped.
    """
    names = [t.name for t in tasks]
    if isinstance(y, Mapping):
        missing = [n for n in names if n not in y]
        if missing:
            raise ValueError(f"{argument} lacks labels for task(s) {missing}; the model's tasks "
                             f"are {names}")
        columns = {n: y[n] for n in names}
    elif isinstance(y, (list, tuple)):
        if len(y) != len(names):
            raise ValueError(f"{argument} as a list must have one label array per task "
                             f"{names}, got {len(y)}")
        columns = dict(zip(names, y, strict=True))
    elif len(names) == 1:
        columns = {names[0]: y}
    else:
        raise TypeError(f"{argument} must be a dict {{task: labels}} for the tasks {names}, "
                        f"got {type(y).__name__}")
    prepared = {}
    for task in tasks:
        array = np.asarray(columns[task.name], dtype="float32")
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.ndim != 1 or array.shape[0] != n_rows:
            raise ValueError(f"{argument}[{task.name!r}] must have shape ({n_rows},) like the "
                             f"inputs, got {array.shape}")
        if task.kind == "multiclass":
            seen = array[~np.isnan(array)]
            if seen.size and (seen.min() < 0 or seen.max() >= task.n_classes
                              or np.any(seen != np.round(seen))):
                raise ValueError(f"{argument}[{task.name!r}] must hold class ids 0..."
                                 f"{task.n_classes - 1} (or NaN)")
        prepared[task.name] = array
    return prepared


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


# --------------------------------------------------------------------------------------------
# Single-task baselines (for Δm)
# --------------------------------------------------------------------------------------------
def train_single_task_baselines(tasks, features, x, y, *, validation_data=None,
                                epochs: int = 5, batch_size: int = 256,
                                hidden: Sequence[int] = (64, 32), seed: int = 0,
                                **build_kwargs) -> dict:
    """Train one single-task model per task; returns ``{task_name: model}``.

    Each baseline sees only its own task's labels (rows without a label are masked out of
    its loss), so B_t in Δm is what one model per task achieves on the same data.
    """
    from mtl_kit.models import build_single_task
    from mtl_kit.tasks import as_tasks

    specs = as_tasks(tasks)
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
    models = {}
    for task in specs:
        model = build_single_task(task, features, hidden=hidden, seed=seed, **build_kwargs)
        model.fit(x, y, validation_data=validation_data, epochs=epochs, batch_size=batch_size)
        models[task.name] = model
    return models


__all__ = [
    "STEPS_PER_EXECUTION",
    "InitialState",
    "default_steps_per_execution",
    "prepare_inputs",
    "prepare_labels",
    "train_single_task_baselines",
]
