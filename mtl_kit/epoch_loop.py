"""Whole epochs in one compiled call: the lean training loop behind ``fit`` on JAX.

Keras' ``fit`` calls its compiled training step from Python once per batch, and before each
call it slices the batch out of the NumPy arrays and copies it to the device. On the course's
small data (5,000 rows are 20 batches of 256) that Python work costs as much as the arithmetic,
and a slider that re-trains feels it.

On JAX, ``MultiTaskNet.fit`` therefore runs every epoch as *one* compiled function::

    order = np.random.permutation(n)               # the same draw Keras' fit makes
    for rows in batches(order, batch_size):       # jax.lax.scan over the full batches,
        logs, state = model.train_step(state, (x[rows], y[rows]))   # then the last, short one

``model.train_step`` is Keras' own step (the model's loss, the optimiser's update, the metric
trackers), run on the same batches in the same order, so a run gives the numbers Keras' ``fit``
gives up to float rounding; only the Python around the step is gone. The data is copied to the
device once per ``fit``; the compiled epoch is kept and reused by the next ``fit`` with the same
shapes (that is what makes ``retrain`` fast; a new data size or batch size compiles a new
version once). Validation runs ``test_step`` the same way.

Callbacks get what Keras gives them per epoch (``on_epoch_begin/end`` with the logs,
``on_train_begin/end``, ``model.stop_training``); the model's variables hold the current weights
at every ``on_epoch_end``, and every epoch starts from the variables' values after
``on_epoch_begin``, as in Keras' ``fit``: what an epoch callback assigns between epochs (the
learning rate by ``LearningRateScheduler`` or ``ReduceLROnPlateau``, λ by ``set_loss_weights``,
a weighting strategy's per-epoch statistics) is used by the next epoch. Anything this loop does
not do (per-batch callbacks, a progress bar, sample or class weights, ``validation_split`` …)
falls back to Keras' ``fit`` — see :func:`can_run`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np

#: ``fit`` arguments the lean loop understands (anything else: Keras' own ``fit``).
SUPPORTED_FIT_ARGUMENTS = frozenset({"callbacks", "shuffle", "verbose", "validation_batch_size"})

#: Data larger than this stays on the host and goes through Keras' ``fit`` batch by batch
#: (the lean loop copies the whole training and validation data to the device once).
MAX_DATA_BYTES = 512 * 2**20

#: Callback hooks Keras calls per batch; a callback that defines one needs Keras' ``fit``.
_BATCH_HOOKS = (
    "on_batch_begin", "on_batch_end",
    "on_train_batch_begin", "on_train_batch_end",
    "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
)


def can_run(model: keras.Model, fit_kwargs: Mapping[str, Any], data: Any = None) -> bool:
    """True when ``fit(**fit_kwargs)`` can take the lean loop (JAX, plain arguments, and the
    arrays in ``data`` — any nesting of dicts, lists and tuples — under ``MAX_DATA_BYTES``)."""
    if keras.backend.backend() != "jax" or model.run_eagerly or not model.jit_compile:
        return False
    if data is not None and _nbytes(data) > MAX_DATA_BYTES:
        return False
    if keras.distribution.distribution() is not None:
        return False
    if getattr(model, "_compile_metrics", None) is not None:
        return False  # metrics passed to compile: Keras builds them on the first batch
    if set(fit_kwargs) - SUPPORTED_FIT_ARGUMENTS:
        return False
    if fit_kwargs.get("verbose", 0) not in (0, "0"):
        return False  # a progress bar: Keras' fit draws it
    if fit_kwargs.get("shuffle", True) not in (True, False):
        return False  # shuffle="batch"
    callbacks = fit_kwargs.get("callbacks") or []
    if isinstance(callbacks, keras.callbacks.CallbackList):
        return False
    return all(_epoch_level(callback) for callback in callbacks)


def _nbytes(data: Any) -> int:
    if isinstance(data, Mapping):
        return sum(_nbytes(v) for v in data.values())
    if isinstance(data, (list, tuple)):
        return sum(_nbytes(v) for v in data)
    return int(getattr(data, "nbytes", 0))


def _epoch_level(callback) -> bool:
    base = keras.callbacks.Callback
    return isinstance(callback, base) and all(
        getattr(type(callback), hook) is getattr(base, hook) for hook in _BATCH_HOOKS)


class EpochLoop:
    """The compiled epoch of one model (built on the first ``fit``, reused after).

    ``run_epoch(state, data, order)`` trains on every batch of ``order`` and returns the new
    state and the last step's logs; ``evaluate(state, data)`` runs ``test_step`` over all rows
    in order. Both are jitted; JAX compiles one version per data shape and batch size.
    """

    def __init__(self, model: keras.Model):
        import jax

        self.model = model
        self._variables = (list(model.trainable_variables), list(model.non_trainable_variables),
                           list(model.optimizer.variables), list(model.metrics_variables))
        # the metric trackers' values right after a reset (their totals and counts at zero),
        # kept on the host: Keras' own compiled steps donate the buffers variables hold
        model.reset_metrics()
        self.fresh_metrics = [np.array(v.value) for v in self._variables[3]]
        self.run_epoch = jax.jit(self._run_epoch, static_argnums=(3,))
        self.evaluate = jax.jit(self._evaluate, static_argnums=(2,))

    def matches(self, model: keras.Model) -> bool:
        """Still the same variables (a recompile or a new optimiser needs a new loop)."""
        current = (model.trainable_variables, model.non_trainable_variables,
                   model.optimizer.variables, model.metrics_variables)
        return all(len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))
                   for a, b in zip(self._variables, current, strict=True))

    # -- state ------------------------------------------------------------------------------
    def read_state(self) -> tuple:
        """(trainable, non-trainable, optimiser, metrics) values from the model's variables."""
        trainable, non_trainable, optimizer, _ = self._variables
        return ([v.value for v in trainable], [v.value for v in non_trainable],
                [v.value for v in optimizer], list(self.fresh_metrics))

    def write_state(self, state: tuple) -> None:
        """Put the values of ``state`` back into the model's variables."""
        for variables, values in zip(self._variables, state, strict=True):
            for variable, value in zip(variables, values, strict=True):
                variable.assign(value)

    # -- the compiled parts -----------------------------------------------------------------
    def _run_epoch(self, state, data, order, batch_size: int):
        model = self.model
        state = (*state[:3], list(self.fresh_metrics))  # the trackers restart every epoch

        def step(state, rows):
            logs, state = model.train_step(state, _take(data, rows))
            return state, logs

        return _over_batches(step, state, order, batch_size)

    def _evaluate(self, state, data, batch_size: int):
        import jax

        model = self.model
        trainable, non_trainable, _, _ = state

        def step(test_state, rows):
            logs, test_state = model.test_step(test_state, _take(data, rows))
            return test_state, logs

        in_order = jax.numpy.arange(_rows(data))
        _, logs = _over_batches(step, (trainable, non_trainable, list(self.fresh_metrics)),
                                in_order, batch_size)
        return logs


def _over_batches(step, state, order, batch_size: int):
    """``state, logs = step(state, rows)`` for each batch of ``order``: the full batches in one
    ``jax.lax.scan``, then the short last one. Returns the final state and the last logs."""
    import jax

    n_full = order.shape[0] // batch_size
    logs = None
    if n_full:
        full = order[: n_full * batch_size].reshape(n_full, batch_size)
        state, logs = jax.lax.scan(step, state, full)
        logs = jax.tree_util.tree_map(lambda values: values[-1], logs)
    if order.shape[0] > n_full * batch_size:
        state, logs = step(state, order[n_full * batch_size:])
    return state, logs


def _take(data, rows):
    import jax

    return jax.tree_util.tree_map(lambda array: array[rows], data)


def _rows(data) -> int:
    import jax

    return int(jax.tree_util.tree_leaves(data)[0].shape[0])


def _to_device(data):
    import jax

    return jax.tree_util.tree_map(jax.numpy.asarray, data)


def _floats(logs) -> dict[str, float]:
    import jax

    return {str(k): float(v) for k, v in jax.device_get(dict(logs)).items()}


def fit(model: keras.Model, x, y, *, validation_data=None, epochs: int, batch_size: int,
        callbacks: Sequence[keras.callbacks.Callback] | None = None, shuffle: bool = True,
        verbose=0, validation_batch_size: int | None = None) -> keras.callbacks.History:
    """Train ``model`` like ``keras.Model.fit`` on prepared arrays, one compiled call an epoch.

    ``x`` and ``y`` are what ``MultiTaskNet`` prepared (arrays, no NaN checks left to do);
    returns the ``History`` (also ``model.history``).
    """
    loop = getattr(model, "_epoch_loop", None)
    if loop is None or not loop.matches(model):
        loop = EpochLoop(model)
        object.__setattr__(model, "_epoch_loop", loop)  # not a tracked Keras attribute
    data = _to_device((x, y))
    val_data = None if validation_data is None else _to_device(tuple(validation_data))
    n_rows = _rows(data)
    callback_list = keras.callbacks.CallbackList(
        list(callbacks or []), add_history=True, add_progbar=False, model=model,
        verbose=0, epochs=epochs, steps=-(-n_rows // batch_size))
    model.stop_training = False
    callback_list.on_train_begin()
    logs: dict[str, float] = {}
    for epoch in range(epochs):
        callback_list.on_epoch_begin(epoch)
        # the variables' current values, as Keras' fit reads them after on_epoch_begin: a
        # callback may have assigned some (the learning rate, λ, a strategy's statistics)
        state = loop.read_state()
        order = np.random.permutation(n_rows) if shuffle else np.arange(n_rows)
        state, step_logs = loop.run_epoch(state, data, order.astype("int32"), batch_size)
        logs = _floats(step_logs)
        if val_data is not None:
            val_logs = _floats(loop.evaluate(state, val_data,
                                             int(validation_batch_size or batch_size)))
            logs.update({f"val_{k}": v for k, v in val_logs.items()})
        loop.write_state(state)
        callback_list.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    model.optimizer.finalize_variable_values(model.trainable_weights)
    callback_list.on_train_end(logs)
    return model.history
