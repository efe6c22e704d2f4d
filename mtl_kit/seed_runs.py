"""Training one model over several seeds at once: K runs for (almost) the price of one call.

A single training run's numbers move with its seed (the initial weights). The explorers therefore
train K seeds per click and show the mean with a band. :func:`fit_seeds` trains K copies of one
compiled ``MultiTaskNet``:

* copy k starts from exactly the initial weights ``build_*(…, seed=seeds[k])`` gives
  (``model.seed_weights``) with a fresh optimiser state (Adam's m and v at zero, step 0);
* λ, β and the input normalisation are the model's current ones (shared by all copies);
* all copies see the same batches in the same order (the seeds are *paired*: only the
  initial weights differ). The order is the one ``model.reseed(seeds[0]); model.fit(...)``
  draws: ``np.random.RandomState(seeds[0]).permutation(n)`` at every epoch (or the rows in
  order with ``shuffle=False``). So seed ``seeds[0]``'s run *is* that ``fit``, and seed k's run
  is ``model.reseed(seeds[k])`` + ``fit`` with the shuffling seeded by ``seeds[0]``.

What is vmapped (JAX)
---------------------
On JAX the K copies' states (weights, optimiser slots, metric trackers) are stacked along a new
leading axis of length K, and every epoch is one compiled call::

    for rows in batches(order):                         # jax.lax.scan over the batches
        states, logs = jax.vmap(model.train_step, in_axes=(0, None))(states, batch(rows))

``jax.vmap`` runs Keras' own ``train_step`` (the model's ``compute_loss``: masks, λ, β, the
penalty) once per copy, in lock-step, inside the same compiled function. Nothing couples the
copies: each one's update reads only its own slice of the stacked state, so copy k computes
exactly what the k-th separate run computes (up to float rounding: the same operations, batched).
What is saved is the work *around* the arithmetic — one dispatch and one loop for K runs, and
batched matrix products instead of K small ones. Validation (``test_step``) and ``predict``
are vmapped the same way. The compiled functions are kept on the model and reused by the next
call with the same shapes, K and batch size: a slider that changes λ or β re-trains without a
new compile (λ and β are variables, read as inputs of the compiled call).

When it steps aside
-------------------
Elsewhere (TensorFlow, PyTorch), with ``method="sequential"``, or where ``fit`` itself would leave
its compiled epoch loop (``mtl_kit.epoch_loop.can_run``: ``run_eagerly``, ``jit_compile=False``,
a distribution, compiled metrics, data over ``epoch_loop.MAX_DATA_BYTES``), or when the
model's weighting strategy updates itself between epochs (``weighting.updates_per_epoch``, e.g.
DWA), the seeds are trained one after the other with ``model.reseed(seed)`` and ``model.fit`` —
the same runs, the same results, K times the time. With callbacks or other ``fit`` options, call
``reseed`` and ``fit`` yourself.

After :func:`fit_seeds` the model is reset (its own seed's initial weights, a fresh optimiser;
λ and β kept), like after ``model.reset()``; ``runs.weights(seed)`` loads one seed's final
weights into it (e.g. for ``evaluate_tasks``).
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np

from mtl_kit import epoch_loop
from mtl_kit.inputs import prepare_inputs

#: Default batch size of ``fit_seeds`` (see the module's benchmark for why).
DEFAULT_BATCH_SIZE = 512

#: At most this many groups of seeds train side by side (one thread each, see ``seed_groups``).
MAX_WORKERS = 2

#: Rows per step of the vmapped validation pass: a forward pass only, so a big batch costs no
#: accuracy (the logged mean is the same up to float rounding) and saves scan steps.
VALIDATION_BATCH_SIZE = 4096

#: Rows per vmapped step of ``SeedRuns.predict`` (padded: one compiled version per size class).
PREDICT_BATCH_SIZE = 4096

#: How many times each compiled function was traced (a trace is followed by a compile): tests
#: use it to check that changing λ or β does not compile again.
TRACES: Counter[str] = Counter()

METHODS = ("auto", "vmap", "sequential")


# --------------------------------------------------------------------------------------------
# Argument checks (before any work)
# --------------------------------------------------------------------------------------------
def _check_seeds(seeds: Any) -> tuple[int, ...]:
    if isinstance(seeds, (str, bytes, Mapping)) or not isinstance(seeds, (Sequence, np.ndarray)):
        raise TypeError(f"seeds must be a sequence of distinct ints >= 0 (e.g. (0, 1, 2, 3, 4)), "
                        f"got {type(seeds).__name__}")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must list at least one int >= 0, got an empty sequence")
    for seed in seeds:
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seeds must hold ints >= 0, got {seed!r} in {seeds!r}")
        if seed < 0:
            raise ValueError(f"seeds must hold ints >= 0, got {seed} in {seeds!r}")
    duplicates = sorted({int(s) for s in seeds if seeds.count(s) > 1})
    if duplicates:
        raise ValueError(f"seeds must be distinct, got {duplicates} more than once")
    return tuple(int(s) for s in seeds)


def _check_count(argument: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{argument} must be an int >= 1, got {value!r}")
    if value < 1:
        raise ValueError(f"{argument} must be an int >= 1, got {value}")
    return int(value)


def _check_model(model: Any) -> None:
    from mtl_kit.models import MultiTaskNet

    if not isinstance(model, MultiTaskNet):
        raise TypeError(f"model must be a compiled mtl_kit MultiTaskNet (a build_* result), "
                        f"got {type(model).__name__}")
    if model.optimizer is None:
        raise ValueError("model must be compiled (the build_* functions do)")


# --------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------
class SeedRuns:
    """K training runs of one model, one per seed: histories, final weights, predictions.

    Attributes:
        seeds: the seeds, in the order given.
        histories: ``{seed: {key: [value per epoch]}}`` with the keys ``fit`` logs
            (``"loss"``, ``"<task>_loss"``, and ``"val_…"`` with validation data).
        method: ``"vmap"`` (all seeds in one compiled call per epoch) or ``"sequential"``.
    """

    def __init__(self, model: keras.Model, seeds: tuple[int, ...],
                 histories: dict[int, dict[str, list[float]]], final_weights: list,
                 method: str, stacked: Any = None):
        self.model = model
        self.seeds = seeds
        self.histories = histories
        self.method = method
        self._final = final_weights  # per seed: numpy arrays in trainable_variables order
        self._stacked = stacked      # on the vmap path: the same, stacked on device (K, …)
        self._known: tuple[Any, dict] | None = None  # (validation x, its predictions)

    def _remember(self, x: Any, outputs: Mapping[str, Any]) -> None:
        """Keep the final validation pass's outputs: ``predict(x)`` on that same x object
        returns them without another forward pass."""
        import jax

        self._known = (x, {name: np.asarray(value) for name, value in
                           jax.device_get(dict(outputs)).items()})

    def __repr__(self) -> str:
        epochs = len(next(iter(self.histories.values()), {}).get("loss", []))
        return f"SeedRuns(seeds={self.seeds}, epochs={epochs}, method={self.method!r})"

    def _index(self, seed: int) -> int:
        if isinstance(seed, (bool, np.bool_)) or seed not in self.seeds:
            raise ValueError(f"seed must be one of {self.seeds}, got {seed!r}")
        return self.seeds.index(int(seed))

    def history(self, seed: int) -> dict[str, list[float]]:
        """Seed ``seed``'s per-epoch logs, like ``model.fit(...).history``."""
        return {k: list(v) for k, v in self.histories[self.seeds[self._index(seed)]].items()}

    def to_frame(self):
        """Every logged value as a tidy ``pandas.DataFrame``: columns seed, epoch (1, 2, …),
        key, value — e.g. ``frame.groupby(["key", "epoch"]).value.agg(["mean", "std"])``."""
        import pandas as pd

        rows = [(seed, epoch + 1, key, float(value))
                for seed in self.seeds for key, values in self.histories[seed].items()
                for epoch, value in enumerate(values)]
        return pd.DataFrame(rows, columns=["seed", "epoch", "key", "value"])

    def final_weights(self, seed: int) -> list[np.ndarray]:
        """Seed ``seed``'s final trainable weights (``trainable_variables`` order)."""
        return [np.array(v) for v in self._final[self._index(seed)]]

    def weights(self, seed: int) -> None:
        """Load seed ``seed``'s final trainable weights into the model (then
        ``evaluate_tasks(model, …)`` evaluates that seed). The optimiser state is not loaded."""
        for variable, value in zip(self.model.trainable_variables,
                                   self._final[self._index(seed)], strict=True):
            variable.assign(value)

    def predict(self, x, batch_size: int = PREDICT_BATCH_SIZE) -> dict[int, dict[str, np.ndarray]]:
        """``{seed: {task: predictions}}`` with each seed's final weights (the shapes
        ``model.predict_tasks`` gives). On JAX all seeds run in one vmapped call per batch;
        elsewhere one seed after the other (the model's weights are put back afterwards).
        For the very ``x`` object passed in ``validation_data``, the outputs of the last
        epoch's validation pass are returned (the same numbers, no second forward pass)."""
        batch_size = _check_count("batch_size", batch_size)
        model = self.model
        if self._known is not None and x is self._known[0]:  # the validation inputs
            return {seed: {name: _squeeze(value[k]).copy()
                           for name, value in self._known[1].items()}
                    for k, seed in enumerate(self.seeds)}
        if self._stacked is not None and _vmap_possible(model):
            x, n_rows = _prepare_x(model, x)
            loop = _loop_for(model)
            outputs = loop.predict(self._stacked, x, n_rows, batch_size)
            return {seed: {name: _squeeze(value[k]) for name, value in outputs.items()}
                    for k, seed in enumerate(self.seeds)}
        saved = [np.array(keras.ops.convert_to_numpy(v.value))
                 for v in model.trainable_variables]
        result = {}
        try:
            for seed in self.seeds:
                self.weights(seed)
                result[seed] = model.predict_tasks(x, batch_size=batch_size)
        finally:
            for variable, value in zip(model.trainable_variables, saved, strict=True):
                variable.assign(value)
        return result


def _squeeze(value: np.ndarray) -> np.ndarray:
    return value[:, 0] if value.ndim == 2 and value.shape[1] == 1 else value


# --------------------------------------------------------------------------------------------
# fit_seeds
# --------------------------------------------------------------------------------------------
def fit_seeds(model: keras.Model, seeds: Sequence[int], x, y, *, epochs: int,
              batch_size: int = DEFAULT_BATCH_SIZE, validation_data=None, shuffle: bool = True,
              method: str = "auto", validation_batch_size: int | None = None) -> SeedRuns:
    """Train K copies of ``model``, copy k from seed ``seeds[k]``'s initial weights.

    Args:
        model: a compiled ``MultiTaskNet`` (any ``build_*``); its λ, β, learning rate and input
            normalisation are used by every copy.
        seeds: distinct ints >= 0, e.g. ``range(5)``.
        x, y: training inputs and labels, as for ``model.fit`` (NaN = missing label).
        epochs: epochs per seed (int >= 1).
        batch_size: rows per step (int >= 1).
        validation_data: ``(x_val, y_val)``: logs ``val_…`` every epoch, as ``fit`` does.
        shuffle: shuffle the rows every epoch with ``seeds[0]``'s draws (the same order for all
            copies), or keep them in order.
        validation_batch_size: rows per step of the validation pass (default
            ``max(batch_size, VALIDATION_BATCH_SIZE)``; ``fit``'s argument of that name). The
            logged values do not depend on it beyond float rounding.
        method: ``"auto"`` (vmap on JAX when ``fit`` would run its compiled epoch loop, else
            sequential), ``"vmap"`` (raise if impossible) or ``"sequential"``
            (``reseed`` + ``fit`` per seed).

    Returns:
        a :class:`SeedRuns` (histories, ``predict``, ``weights``). Every copy's run equals
        ``model.reseed(seed)`` + ``model.fit(x, y, …)`` with the shuffling seeded by
        ``seeds[0]``.
    """
    seeds = _check_seeds(seeds)
    epochs = _check_count("epochs", epochs)
    batch_size = _check_count("batch_size", batch_size)
    validation_batch_size = (max(batch_size, VALIDATION_BATCH_SIZE)
                             if validation_batch_size is None
                             else _check_count("validation_batch_size", validation_batch_size))
    if not isinstance(shuffle, (bool, np.bool_)):
        raise TypeError(f"shuffle must be True or False, got {shuffle!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    _check_model(model)
    if validation_data is not None and (not isinstance(validation_data, (tuple, list))
                                        or len(validation_data) != 2):
        raise ValueError("validation_data must be a pair (x_val, y_val)")
    prepared_x, prepared_y = model._prepare(x, y)
    prepared_val = None if validation_data is None else model._prepare(
        *validation_data, argument="validation_data x")
    model._ensure_ready(prepared_x)  # adapt the normalisation, store the initial state
    data = (prepared_x, prepared_y, prepared_val)
    use_vmap = method == "vmap" or (method == "auto" and _vmap_possible(model, data))
    if method == "vmap" and not _vmap_possible(model, data):
        raise ValueError("method='vmap' needs the JAX backend, a model whose fit runs the "
                         "compiled epoch loop (mtl_kit.epoch_loop.can_run) and a weighting "
                         "that does not update per epoch; use 'auto'")
    if use_vmap:
        return _fit_vmap(model, seeds, prepared_x, prepared_y, prepared_val, epochs=epochs,
                         batch_size=batch_size, shuffle=bool(shuffle),
                         validation_x=None if validation_data is None else validation_data[0],
                         validation_batch_size=validation_batch_size)
    return _fit_sequential(model, seeds, x, y, validation_data, epochs=epochs,
                           batch_size=batch_size, shuffle=bool(shuffle),
                           validation_batch_size=validation_batch_size)


def _vmap_possible(model: keras.Model, data: Any = None) -> bool:
    """True when the K seeds can train side by side in one vmapped call per epoch: ``fit``
    would run its compiled epoch loop, and the weighting strategy does not update itself
    between epochs (``updates_per_epoch``, e.g. DWA: ``fit`` runs its epoch-end update, the
    vmapped loop has no such step)."""
    if getattr(getattr(model, "weighting", None), "updates_per_epoch", False):
        return False
    return epoch_loop.can_run(model, {}, data)


def _prepare_x(model, x):
    return prepare_inputs(model.feature_config, x)


# -- sequential: the reference semantics, on every backend -----------------------------------
def _fit_sequential(model, seeds, x, y, validation_data, *, epochs, batch_size,
                    shuffle, validation_batch_size=None) -> SeedRuns:
    """``reseed(seed)`` + ``fit`` per seed, each shuffled with ``seeds[0]``'s draws."""
    own_seed = int(model.seed)
    histories, finals = {}, []
    try:
        for seed in seeds:
            model.reseed(seed)
            keras.utils.set_random_seed(seeds[0])  # the shared batch order
            model._fresh = False  # so that fit does not reseed the shuffling with `seed`
            history = model.fit(x, y, validation_data=validation_data, epochs=epochs,
                                batch_size=batch_size, shuffle=shuffle,
                                validation_batch_size=validation_batch_size)
            histories[seed] = {k: [float(v) for v in vs] for k, vs in history.history.items()}
            finals.append([np.array(keras.ops.convert_to_numpy(v.value))
                           for v in model.trainable_variables])
    finally:
        model.reseed(own_seed)
    return SeedRuns(model, seeds, histories, finals, "sequential")


# -- vmap: all seeds in one compiled call per epoch (JAX) -------------------------------------
def seed_groups(seeds: tuple[int, ...], workers: int | None = None) -> list[tuple[int, ...]]:
    """Split the seeds into at most ``workers`` (default: the CPU count, at most
    ``MAX_WORKERS``) contiguous groups of near-equal size, e.g. 5 seeds on 2 cores: (3, 2)."""
    if workers is None:
        workers = min(os.cpu_count() or 1, MAX_WORKERS)
    count = max(1, min(workers, len(seeds)))
    cuts = np.cumsum([len(seeds) // count + (i < len(seeds) % count) for i in range(count)])
    return [tuple(seeds[a:b]) for a, b in zip([0, *cuts[:-1]], cuts, strict=True)]


def _fit_vmap(model, seeds, x, y, validation, *, epochs, batch_size, shuffle,
              validation_x=None, validation_batch_size=VALIDATION_BATCH_SIZE) -> SeedRuns:
    import jax

    loop = _loop_for(model)
    train = epoch_loop._to_device((x, y))
    val = None if validation is None else epoch_loop._to_device(tuple(validation))
    n_rows = epoch_loop._rows(train)
    rng = np.random.RandomState(seeds[0])  # the draws np.random makes after set_random_seed
    orders = [(rng.permutation(n_rows) if shuffle else np.arange(n_rows)).astype("int32")
              for _ in range(epochs)]
    groups = seed_groups(seeds)
    states = [loop.initial_states(group) for group in groups]  # (host work: one thread)

    def train_group(i: int):
        group_states, epoch_logs, val_predictions = states[i], [], None
        for epoch, order in enumerate(orders):
            group_states, logs = loop.run_epoch(group_states, train, order, batch_size)
            val_logs = None
            if val is not None and epoch < epochs - 1:
                val_logs = loop.evaluate(group_states, val, validation_batch_size)
            elif val is not None:  # the last validation pass also keeps the predictions
                val_logs, val_predictions = loop.evaluate(group_states, val,
                                                          validation_batch_size, True)
            epoch_logs.append((logs, val_logs))
        # one transfer at the end, no sync per epoch
        return jax.device_get(epoch_logs), group_states[0], val_predictions

    results = _in_parallel(train_group, len(groups))
    histories: dict[int, dict[str, list[float]]] = {seed: {} for seed in seeds}
    for group, (epoch_logs, _, _) in zip(groups, results, strict=True):
        for logs, val_logs in epoch_logs:
            items = list(logs.items()) + ([(f"val_{k}", v) for k, v in val_logs.items()]
                                          if val_logs is not None else [])
            for key, values in items:
                for k, seed in enumerate(group):
                    histories[seed].setdefault(str(key), []).append(float(values[k]))
    trainable = [jax.numpy.concatenate(parts) for parts in
                 zip(*(trainable for _, trainable, _ in results), strict=True)]
    host = jax.device_get(trainable)
    finals = [[np.asarray(v[k]) for v in host] for k in range(len(seeds))]
    model.reset()
    runs = SeedRuns(model, seeds, histories, finals, "vmap", stacked=trainable)
    if val is not None:
        val_predictions = {name: np.concatenate([np.asarray(p[name]) for _, _, p in results])
                           for name in results[0][2]}
        runs._remember(validation_x, val_predictions)
    return runs


def _in_parallel(function, count: int) -> list:
    """``[function(0), …, function(count - 1)]``, each group in its own thread.

    XLA runs two computations on the CPU at the same time when two threads call them (each
    compiled epoch uses about one core on this model's small matrices), so on a 2-core machine
    two groups of seeds train side by side. The first group runs in the calling thread.
    """
    if count == 1:
        return [function(0)]
    results: list = [None] * count
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            results[i] = function(i)
        except BaseException as error:  # re-raised in the calling thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(1, count)]
    for thread in threads:
        thread.start()
    work(0)
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def _loop_for(model) -> _SeedLoop:
    loop = getattr(model, "_seed_loop", None)
    if loop is None or not loop.matches(model):
        loop = _SeedLoop(model)
        object.__setattr__(model, "_seed_loop", loop)  # not a tracked Keras attribute
    return loop


class _SeedLoop:
    """The compiled, vmapped epoch, validation and prediction of one model (kept on it).

    States are the ``train_step`` state ``(trainable, non_trainable, optimizer, metrics)`` with
    every value stacked along a leading seed axis of length K.
    """

    def __init__(self, model: keras.Model):
        import jax

        self.model = model
        self.base = epoch_loop.EpochLoop(model)  # variables and fresh metric values
        self.seed_weights: dict[int, list[np.ndarray]] = {}
        self.run_epoch = jax.jit(self._run_epoch, static_argnums=(3,), donate_argnums=(0,))
        self.evaluate = jax.jit(self._evaluate, static_argnums=(2, 3))
        self._predict = jax.jit(self._predict_batches, static_argnums=(3,))

    def matches(self, model: keras.Model) -> bool:
        return self.base.matches(model)

    def initial_states(self, seeds: tuple[int, ...]) -> tuple:
        """Stacked start states: seed k's initial weights, the model's current non-trainable
        values (λ, β, normalisation), fresh optimiser slots (learning rate: the current one)."""
        import jax.numpy as jnp

        model = self.model
        for seed in seeds:
            if seed not in self.seed_weights:  # a fresh model per seed: keep them
                self.seed_weights[seed] = model.seed_weights(seed)
        trainable = [jnp.asarray(np.stack([self.seed_weights[s][i] for s in seeds]))
                     for i in range(len(model.trainable_variables))]
        initial = {id(v): value for v, value in model._initial_state.optimizer_values}
        k = len(seeds)

        def repeat(value):
            value = jnp.asarray(keras.ops.convert_to_numpy(value))
            return jnp.broadcast_to(value, (k, *value.shape))

        non_trainable = [repeat(v.value) for v in model.non_trainable_variables]
        optimizer = [repeat(initial.get(id(v), v.value)) for v in model.optimizer.variables]
        metrics = [repeat(v) for v in self.base.fresh_metrics]
        return trainable, non_trainable, optimizer, metrics

    # -- the compiled parts -----------------------------------------------------------------
    def _run_epoch(self, states, data, order, batch_size: int):
        import jax
        import jax.numpy as jnp

        TRACES["run_epoch"] += 1
        model = self.model
        k = states[0][0].shape[0]
        fresh = [jnp.broadcast_to(v, (k, *v.shape)) for v in self.base.fresh_metrics]
        states = (*states[:3], fresh)  # the trackers restart every epoch

        def one_seed(state, batch):
            logs, state = model.train_step(state, batch)
            return state, logs

        vmapped = jax.vmap(one_seed, in_axes=(0, None))

        def step(states, rows):
            return vmapped(states, epoch_loop._take(data, rows))

        return epoch_loop._over_batches(step, states, order, batch_size)

    def _evaluate(self, states, data, batch_size: int, with_predictions: bool = False):
        """Validation logs per seed (Keras' ``test_step`` over all rows in order); with
        ``with_predictions`` also every row's outputs ``{output: (K, n, …)}`` (the same forward
        pass: no second one for ``SeedRuns.predict`` on the validation data)."""
        import jax
        import jax.numpy as jnp

        TRACES["evaluate"] += 1
        model = self.model
        trainable, non_trainable = states[0], states[1]
        k = trainable[0].shape[0]
        fresh = [jnp.broadcast_to(v, (k, *v.shape)) for v in self.base.fresh_metrics]

        def one_seed(test_state, batch):
            if not with_predictions:
                logs, test_state = model.test_step(test_state, batch)
                return test_state, (logs, None)
            # Keras' test_step, keeping y_pred (JAXTrainer.test_step does exactly these calls)
            (values, non_trainable_values, metrics_values), (x, y) = test_state, batch
            _, (unscaled, y_pred, _, metrics_values) = model.compute_loss_and_updates(
                values, non_trainable_values, metrics_values, x, y, None, training=False)
            logs, metrics_values = model._update_metrics_variables(
                metrics_values, unscaled, x, y, y_pred, None)
            return (values, non_trainable_values, metrics_values), (logs, y_pred)

        vmapped = jax.vmap(one_seed, in_axes=(0, None))

        def step(test_state, rows):
            return vmapped(test_state, epoch_loop._take(data, rows))

        n_rows = epoch_loop._rows(data)
        n_full = n_rows // batch_size
        test_state, outputs, parts = (trainable, non_trainable, fresh), None, []
        if n_full:
            rows = jnp.arange(n_full * batch_size, dtype="int32").reshape(n_full, batch_size)
            test_state, (logs, outputs) = jax.lax.scan(step, test_state, rows)
            logs = jax.tree_util.tree_map(lambda values: values[-1], logs)
            if with_predictions:  # (batches, K, batch, …) -> (K, rows, …)
                parts.append(jax.tree_util.tree_map(
                    lambda a: a.swapaxes(0, 1).reshape(a.shape[1], -1, *a.shape[3:]), outputs))
        if n_rows > n_full * batch_size:
            rest = jnp.arange(n_full * batch_size, n_rows, dtype="int32")
            test_state, (logs, outputs) = step(test_state, rest)
            parts.append(outputs)
        if not with_predictions:
            return logs
        predictions = parts[0] if len(parts) == 1 else jax.tree_util.tree_map(
            lambda *a: jnp.concatenate(a, axis=1), *parts)
        return logs, predictions

    def _predict_batches(self, trainable, non_trainable, x, batch_size: int):
        import jax

        TRACES["predict"] += 1
        model = self.model

        def one_seed(values, batch):
            outputs, _ = model.stateless_call(values, non_trainable, batch, training=False)
            return outputs

        vmapped = jax.vmap(one_seed, in_axes=(0, None))
        batches = jax.tree_util.tree_map(
            lambda a: a.reshape(-1, batch_size, *a.shape[1:]), x)

        def step(carry, batch):
            return carry, vmapped(trainable, batch)

        _, outputs = jax.lax.scan(step, 0, batches)  # (n_batches, K, batch, …)
        return jax.tree_util.tree_map(
            lambda a: a.swapaxes(0, 1).reshape(a.shape[1], -1, *a.shape[3:]), outputs)

    def predict(self, trainable, x, n_rows: int, batch_size: int) -> dict[str, np.ndarray]:
        """``{output: (K, n_rows, …)}`` for the stacked ``trainable`` weights."""
        import jax

        # pad to whole batches of a power-of-two size class: one compiled version per class
        batch_size = int(min(batch_size, max(256, 1 << (max(n_rows, 1) - 1).bit_length())))
        padded = -n_rows % batch_size
        if padded:
            x = jax.tree_util.tree_map(
                lambda a: np.concatenate([a, np.repeat(a[-1:], padded, axis=0)]), x)
        non_trainable = [v.value for v in self.model.non_trainable_variables]
        outputs = self._predict(trainable, non_trainable, epoch_loop._to_device(x), batch_size)
        return {name: np.asarray(value)[:, :n_rows] for name, value in
                jax.device_get(outputs).items()}


__all__ = ["DEFAULT_BATCH_SIZE", "METHODS", "TRACES", "VALIDATION_BATCH_SIZE", "SeedRuns",
           "fit_seeds"]
