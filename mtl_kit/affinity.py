"""Lookahead task affinity: does a step on one task lower another task's loss?

Fifty et al. (2021), "Efficiently Identifying Task Groupings in Multi-Task Learning", measure
how task i's gradient step on the *shared* parameters changes task j's loss, on the same batch
X^t, while one model trains all tasks together::

    θ_sh^{t+1|i} = θ_sh^t − η ∇_{θ_sh} L_i(X^t, θ_sh^t, θ_i^t)          (a lookahead step on i)
    Z^t_{i→j}    = 1 − L_j(X^t, θ_sh^{t+1|i}, θ_j^t) / L_j(X^t, θ_sh^t, θ_j^t)

Z_{i→j} > 0: the step on i lowered j's loss (i helps j); Z_{i→j} < 0: it raised it. The
affinity is the mean over the training steps measured, Ẑ_{i→j} = (1/S) Σ_t Z^t_{i→j}. To first
order Z_{i→j} ≈ η ∇L_i · ∇L_j / L_j: it is large when the two tasks' gradients point the same
way, and it also grows with the *size* of i's gradient (a task with a large loss scale pushes
the shared parameters hard, for better or worse).

**Groups.** A grouping splits the tasks into groups trained together (each group one
multi-task model). Following Fifty et al., a task's score in a group is the mean affinity it
receives from the other members, and a grouping's score is the sum over the tasks (a task
alone scores 0); :func:`rank_groupings` scores every way of splitting the tasks.

**Backends.** Keras 3 has no backend-neutral gradient (``keras.ops`` has none), so ∇L_i is
taken with ``jax.vjp`` on JAX (one backward pass per task, batched with ``jax.vmap``, the whole
measurement one compiled function) and a persistent ``tf.GradientTape`` on TensorFlow; the
lookahead losses are the model's own ``stateless_task_losses``, the same on every backend.
PyTorch gets a clear error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import pandas as pd
from keras import ops

from mtl_kit.validation import check_choice, check_int, check_number

#: Backends on which the per-task gradients are computed.
SUPPORTED_BACKENDS = ("jax", "tensorflow")


def check_backend() -> str:
    """The Keras backend, if it has a per-task gradient here (else a ValueError)."""
    backend = keras.backend.backend()
    if backend not in SUPPORTED_BACKENDS:
        raise ValueError(
            f"lookahead affinity needs each task's gradient, which mtl_kit computes on the "
            f"{' and '.join(SUPPORTED_BACKENDS)} backends; this is {backend!r}. Set "
            f"KERAS_BACKEND=jax (or tensorflow) before importing keras")
    return backend


def _check_model(model: Any) -> Any:
    from mtl_kit.models import MultiTaskNet

    if not isinstance(model, MultiTaskNet):
        raise TypeError(f"model must be a compiled mtl_kit MultiTaskNet (a build_* result), "
                        f"got {type(model).__name__}")
    if len(model.tasks) < 2:
        raise ValueError(f"model must have at least two tasks to measure affinity between, "
                         f"got {model.task_names}")
    if not model.shared_variables:
        raise ValueError(f"{type(model).__name__} shares no parameters between its tasks: a "
                         f"step on one task cannot change another's loss (use e.g. "
                         f"build_hard_sharing)")
    return model


# --------------------------------------------------------------------------------------------
# One batch
# --------------------------------------------------------------------------------------------
class _Lookahead:
    """Z^t for one batch, compiled once per model (JAX) or run eagerly (TensorFlow)."""

    def __init__(self, model: Any):
        self.model = model
        self.backend = check_backend()
        positions = {id(v): k for k, v in enumerate(model.trainable_variables)}
        self.shared = tuple(sorted(positions[id(v)] for v in model.shared_variables))
        self._compiled = None

    def __call__(self, x: Any, y: Any, learning_rate: float) -> np.ndarray:
        model = self.model
        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        if self.backend == "jax":
            if self._compiled is None:
                import jax

                self._compiled = jax.jit(self._jax)
            z = self._compiled(trainable, non_trainable, x, y, np.float32(learning_rate))
        else:
            z = self._tensorflow(trainable, non_trainable, x, y, learning_rate)
        return np.asarray(ops.convert_to_numpy(z), dtype="float64")

    def _ratios(self, before, after_rows):
        """Z[i, j] = 1 − L_j(after step on i) / L_j(before); NaN where L_j is 0 (no label)."""
        after = ops.stack(after_rows)  # (T, T): row i = losses after the step on task i
        safe = ops.where(before > 0, before, ops.ones_like(before))
        z = 1.0 - after / safe[None, :]
        return ops.where((before > 0)[None, :], z, ops.full_like(z, np.nan))

    def _stepped(self, trainable, grads, learning_rate):
        values = list(trainable)
        for k, grad in zip(self.shared, grads, strict=True):
            values[k] = trainable[k] - learning_rate * grad
        return values

    def _jax(self, trainable, non_trainable, x, y, learning_rate):
        import jax
        import jax.numpy as jnp

        model = self.model

        def losses(values):
            return jnp.stack(model.stateless_task_losses(values, non_trainable, x, y))

        before, pullback = jax.vjp(losses, trainable)
        n_tasks = before.shape[0]
        (grads,) = jax.vmap(pullback)(jnp.eye(n_tasks, dtype=before.dtype))
        rows = [losses(self._stepped(trainable, [grads[k][i] for k in self.shared],
                                     learning_rate))
                for i in range(n_tasks)]
        return self._ratios(before, rows)

    def _tensorflow(self, trainable, non_trainable, x, y, learning_rate):
        import tensorflow as tf

        model = self.model
        shared = [trainable[k] for k in self.shared]
        with tf.GradientTape(persistent=True) as tape:
            before = model.stateless_task_losses(trainable, non_trainable, x, y)
        grads = [[tf.convert_to_tensor(g) for g in tape.gradient(
            loss, shared, unconnected_gradients=tf.UnconnectedGradients.ZERO)]
            for loss in before]
        del tape
        rows = [ops.stack(model.stateless_task_losses(
            self._stepped(trainable, grads[i], learning_rate), non_trainable, x, y))
            for i in range(len(before))]
        return self._ratios(ops.stack(before), rows)


def _lookahead_for(model: Any) -> _Lookahead:
    found = getattr(model, "_lookahead", None)
    if found is None or found.backend != keras.backend.backend():
        found = _Lookahead(model)
        object.__setattr__(model, "_lookahead", found)  # not a tracked Keras attribute
    return found


def lookahead_affinity(model: Any, x: Any, y: Any, learning_rate: float | None = None,
                       ) -> pd.DataFrame:
    """Z_{i→j} on one batch ``(x, y)`` at the model's current weights (module docstring).

    Args:
        model: a compiled multi-task model that shares parameters (e.g. ``build_hard_sharing``).
        x, y: one batch, as for ``model.fit`` (NaN = missing label).
        learning_rate: η of the lookahead step (default: the optimiser's learning rate).

    Returns:
        a T × T frame: row i (the task stepped on), column j (the task whose loss changed);
        NaN where task j has no label in the batch.
    """
    model = _check_model(model)
    learning_rate = _learning_rate(model, learning_rate)
    if not all(encoder.is_adapted() for encoder in model.encoders):
        raise ValueError("model must have been trained (fit) first: its input normalisation is "
                         "adapted on the training data at the first fit, and the lookahead "
                         "must see the same inputs training sees")
    x, y = model._prepare(x, y)
    z = _lookahead_for(model)(x, y, learning_rate)
    return _frame(z, model.task_names)


def _learning_rate(model: Any, learning_rate: float | None) -> float:
    if learning_rate is None:
        if model.optimizer is None:
            raise ValueError("model must be compiled (its optimiser's learning rate is the "
                             "default η), or pass learning_rate")
        return float(ops.convert_to_numpy(model.optimizer.learning_rate))
    return check_number("learning_rate", learning_rate, 0.0, 100.0, low_open=True)


def _frame(z: np.ndarray, tasks: Sequence[str]) -> pd.DataFrame:
    frame = pd.DataFrame(z, index=list(tasks), columns=list(tasks))
    frame.index.name, frame.columns.name = "step on", "loss of"
    return frame


# --------------------------------------------------------------------------------------------
# Averaged over training
# --------------------------------------------------------------------------------------------
@dataclass
class TaskAffinity:
    """Lookahead affinities measured while one model trained every task.

    Attributes:
        tasks: the task names (row i, column j of every matrix).
        per_step: (S, T, T) Z^t_{i→j} of every measured step (NaN: no label of j in the batch).
        epochs: for each measured step, the epoch it was measured before (0: untrained).
        learning_rate: η of the lookahead steps.
        history: the training's ``History.history`` (losses per epoch).
    """

    tasks: list[str]
    per_step: np.ndarray
    epochs: np.ndarray
    learning_rate: float
    history: dict[str, list[float]] = field(default_factory=dict, repr=False)

    @property
    def matrix(self) -> pd.DataFrame:
        """Ẑ_{i→j}: the mean over the measured steps (row: step on i; column: loss of j)."""
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(self.per_step, axis=0)
        np.fill_diagonal(mean, np.nan)
        return _frame(mean, self.tasks)

    def onto(self, task: str) -> pd.Series:
        """Ẑ_{i→task} for every other task i, largest first: who helps ``task`` most."""
        check_choice("task", task, tuple(self.tasks))
        column = self.matrix[task].drop(task)
        column.name = f"affinity onto {task}"
        return column.sort_values(ascending=False)

    def spread(self, confidence: float = 0.95) -> pd.DataFrame:
        """Half-width of a t-interval of each Ẑ_{i→j} over the measured steps. The steps of
        one run are not independent (they share the weights' path), so read it as a guide to
        the noise, not as a test."""
        from scipy import stats

        count = np.sum(~np.isnan(self.per_step), axis=0)
        with np.errstate(invalid="ignore"):
            sd = np.nanstd(self.per_step, axis=0, ddof=1)
            quantile = stats.t.ppf((1 + confidence) / 2, np.maximum(count - 1, 1))
            half = quantile * sd / np.sqrt(count)
        np.fill_diagonal(half, np.nan)
        return _frame(half, self.tasks)


def track_affinity(model: Any, x: Any, y: Any, *, epochs: int = 3, batch_size: int = 256,
                   batches_per_epoch: int = 8, measure_batch_size: int | None = None,
                   learning_rate: float | None = None, seed: int = 0,
                   validation_data: Any = None, measure_untrained: bool = True,
                   measure_data: Any = None) -> TaskAffinity:
    """Train ``model`` on all its tasks for ``epochs`` epochs and measure Z_{i→j} along the way.

    Before every epoch and after the last one, Z^t is measured on ``batches_per_epoch``
    training batches drawn at random (``seed``); the affinity is the mean over all of them.
    Fifty et al. measure at every step; a sample of steps spread over the training gives the
    same mean at a fraction of the cost. The model trains as ``fit`` trains it (from its
    current weights: ``reset()`` or ``reseed()`` it first for a fresh start).

    Args:
        model: a compiled multi-task model that shares parameters.
        x, y: the training data, as for ``model.fit``.
        epochs: training epochs (int >= 1).
        batch_size: rows per training step and per measured batch.
        batches_per_epoch: batches measured at each of the ``epochs + 1`` points (int >= 1).
        learning_rate: η of the lookahead step (default: the optimiser's learning rate).
        seed: which batches are measured.
        validation_data: passed to ``fit`` (its losses appear in ``history``).
    """
    model = _check_model(model)
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    batches_per_epoch = check_int("batches_per_epoch", batches_per_epoch, minimum=1)
    measure_batch_size = batch_size if measure_batch_size is None else check_int(
        "measure_batch_size", measure_batch_size, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    learning_rate = _learning_rate(model, learning_rate)
    check_backend()
    # adapt the input normalisation first: a compiled lookahead reads its statistics as
    # constants, so it must never be traced before they are final
    model._ensure_ready(model._prepare(x, y)[0])
    x_prepared, y_prepared = model._prepare(*(measure_data or (x, y)))
    n_rows = len(next(iter(y_prepared.values())))
    if n_rows < max(batch_size, measure_batch_size):
        raise ValueError(f"batch_size and measure_batch_size must be at most the number of "
                         f"training rows ({n_rows}), got {batch_size} and {measure_batch_size}")
    lookahead = _lookahead_for(model)
    rng = np.random.default_rng(seed)
    steps, measured_at, history = [], [], {}

    def measure(epoch: int) -> None:
        for _ in range(batches_per_epoch):
            rows = np.sort(rng.choice(n_rows, size=measure_batch_size, replace=False))
            batch_x = {k: v[rows] for k, v in x_prepared.items()} \
                if isinstance(x_prepared, Mapping) else x_prepared[rows]
            batch_y = {k: v[rows] for k, v in y_prepared.items()}
            steps.append(lookahead(batch_x, batch_y, learning_rate))
            measured_at.append(epoch)

    if measure_untrained:
        measure(0)
    for epoch in range(1, epochs + 1):
        logs = model.fit(x, y, epochs=1, batch_size=batch_size,
                         validation_data=validation_data).history
        for key, values in logs.items():
            history.setdefault(key, []).extend(float(v) for v in values)
        measure(epoch)
    return TaskAffinity(list(model.task_names), np.stack(steps), np.array(measured_at),
                        learning_rate, history)


@dataclass
class SeedAffinities:
    """Ẑ_{i→j} of K independent training runs (one per seed): the mean over the seeds and a
    t-interval that covers the run-to-run variation.

    Attributes:
        runs: one :class:`TaskAffinity` per seed.
        seeds: the seeds.
        confidence: the intervals' level.
    """

    runs: list[TaskAffinity]
    seeds: tuple[int, ...]
    confidence: float = 0.95

    @property
    def tasks(self) -> list[str]:
        return self.runs[0].tasks

    def _stack(self) -> np.ndarray:
        return np.stack([run.matrix.to_numpy() for run in self.runs])

    @property
    def matrix(self) -> pd.DataFrame:
        """The mean of Ẑ_{i→j} over the seeds (row: step on i; column: loss of j)."""
        return _frame(self._stack().mean(axis=0), self.tasks)

    def half_width(self) -> pd.DataFrame:
        """Half-width of the t-interval of each mean over the K seeds."""
        from scipy import stats

        stack = self._stack()
        k = stack.shape[0]
        if k < 2:
            return _frame(np.full(stack.shape[1:], np.nan), self.tasks)
        quantile = stats.t.ppf((1 + self.confidence) / 2, k - 1)
        return _frame(quantile * stack.std(axis=0, ddof=1) / np.sqrt(k), self.tasks)

    def onto(self, task: str) -> pd.DataFrame:
        """Ẑ_{i→task} for every other task i: mean, low, high over the seeds, largest mean
        first (who helps ``task`` most, and how sure we are)."""
        check_choice("task", task, tuple(self.tasks))
        mean, half = self.matrix[task].drop(task), self.half_width()[task].drop(task)
        frame = pd.DataFrame({"mean": mean, "low": mean - half, "high": mean + half})
        frame.index.name = f"step on (affinity onto {task})"
        return frame.sort_values("mean", ascending=False)


def affinity_over_seeds(model: Any, x: Any, y: Any, seeds: Any = 5, *,
                        confidence: float = 0.95, **track: Any) -> SeedAffinities:
    """:func:`track_affinity` once per seed, each run from that seed's initial weights
    (``model.reseed``: no rebuild, no recompile); ``track`` holds its other arguments
    (``epochs``, ``batch_size``, ``batches_per_epoch``, …). Afterwards the model holds the
    last seed's trained weights."""
    from mtl_kit.experiments import check_seeds

    model = _check_model(model)
    seeds = check_seeds(seeds)
    if "seed" in track:
        raise TypeError("pass the seeds as seeds=…, not seed=…")
    runs = []
    for seed in seeds:
        model.reseed(seed)
        runs.append(track_affinity(model, x, y, seed=seed, **track))
    return SeedAffinities(runs, seeds, confidence)


# --------------------------------------------------------------------------------------------
# Choosing groups
# --------------------------------------------------------------------------------------------
def _partitions(items: list[str]):
    """Every way to split ``items`` into non-empty groups (Bell number many)."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for partition in _partitions(rest):
        yield [[first], *partition]
        for k in range(len(partition)):
            yield [*partition[:k], [first, *partition[k]], *partition[k + 1:]]


def _matrix_of(affinity: Any) -> pd.DataFrame:
    if isinstance(affinity, (TaskAffinity, SeedAffinities)):
        return affinity.matrix
    if isinstance(affinity, pd.DataFrame):
        return affinity
    raise TypeError(f"affinity must be a TaskAffinity, SeedAffinities or a T × T DataFrame, "
                    f"got {type(affinity).__name__}")


def group_score(affinity: Any, group: Sequence[str]) -> float:
    """Σ_{j ∈ group} mean_{i ∈ group, i ≠ j} Ẑ_{i→j}: the affinity each member receives from
    the others (0 for a task alone)."""
    matrix = _matrix_of(affinity)
    group = list(group)
    unknown = [t for t in group if t not in matrix.columns]
    if unknown or len(set(group)) != len(group) or not group:
        raise ValueError(f"group must list distinct tasks out of {list(matrix.columns)}, "
                         f"got {group}")
    if len(group) == 1:
        return 0.0
    return float(sum(np.mean([matrix.loc[i, j] for i in group if i != j]) for j in group))


def rank_groupings(affinity: Any, n_groups: int | None = None) -> pd.DataFrame:
    """Every split of the tasks into groups (``n_groups`` of them, or any number), scored by
    the sum of :func:`group_score` over its groups, best first.

    Returns a frame with columns ``grouping`` (e.g. ``"click + purchase | intent + dwell"``),
    ``groups`` (tuples of task names) and ``score``.
    """
    matrix = _matrix_of(affinity)
    tasks = list(matrix.columns)
    if n_groups is not None:
        n_groups = check_int("n_groups", n_groups, 1, len(tasks))
    rows = []
    for partition in _partitions(tasks):
        if n_groups is not None and len(partition) != n_groups:
            continue
        groups = tuple(tuple(g) for g in partition)
        rows.append({"grouping": " | ".join(" + ".join(g) for g in groups), "groups": groups,
                     "score": sum(group_score(matrix, g) for g in groups)})
    return pd.DataFrame(rows).sort_values("score", ascending=False, ignore_index=True)


__all__ = [
    "SUPPORTED_BACKENDS",
    "SeedAffinities",
    "TaskAffinity",
    "affinity_over_seeds",
    "group_score",
    "lookahead_affinity",
    "rank_groupings",
    "track_affinity",
]
