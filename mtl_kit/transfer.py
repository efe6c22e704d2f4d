"""Transfer learning (迁移学习) with the course's models: pre-train, then fine-tune.

Transfer learning is *sequential*: the source tasks S are learned first, and their parameters
serve the target task t afterwards::

    pre-training:  θ_S = argmin_θ Σ_{s∈S} λ_s L_s(θ), from the seed's initial θ_0
    fine-tuning:   θ_t = argmin_θ L_t(θ), from θ_S, with a lower learning rate η
                   or with the shared θ_sh frozen (only the target's own θ_t moves)

Multi-task learning is *simultaneous*: θ = argmin_θ Σ_t λ_t L_t(θ), and every task is a target.

With the course's models both phases train the *same* network with other loss weights, so
nothing is rebuilt: pre-training sets λ = 0 for the tasks outside the source, fine-tuning sets
λ = 0 for every task but the target (lesson 3: λ_t = 0 removes L_t from the gradient). The
source tasks' heads stay in the network, so what fine-tuning does to them (forgetting,
灾难性遗忘) can be measured on the same rows.

* :func:`pretrain` trains K seeds on the source tasks at once (``fit_seeds``);
* :func:`fine_tune` continues each seed's pre-trained weights on the target, with its own
  learning rate and, with ``freeze_shared=True``, the shared parameters θ_sh
  (``model.shared_variables``) frozen: they are marked non-trainable and the model is
  recompiled with a fresh optimiser over the rest (same model, no rebuild). Afterwards the model
  is as it was: its weights, loss weights, optimiser and trainable parameters.

Both return a ``SeedRuns`` (histories, ``final_weights``, ``predict``), so their predictions go
into ``mtl_kit.paired.comparison_of`` like any other runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import keras
import numpy as np

from mtl_kit.models import MultiTaskNet
from mtl_kit.seed_runs import DEFAULT_BATCH_SIZE, VALIDATION_BATCH_SIZE, SeedRuns, fit_seeds
from mtl_kit.validation import check_choice, check_flag, check_int, check_number
from mtl_kit.weighting import FixedWeights


def _check_model(model) -> None:
    if not isinstance(model, MultiTaskNet):
        raise TypeError(f"model must be a compiled mtl_kit MultiTaskNet (a build_* result), "
                        f"got {type(model).__name__}")
    if model.optimizer is None:
        raise ValueError("model must be compiled (the build_* functions do)")
    if not isinstance(model.weighting, FixedWeights):
        raise TypeError(f"model must use fixed loss weights λ (the default weighting): transfer "
                        f"learning switches tasks on and off through λ, and this model uses "
                        f"{type(model.weighting).__name__}")


def _check_tasks(argument: str, tasks, model: MultiTaskNet) -> tuple[str, ...]:
    """``tasks`` (a name or names) as a tuple of the model's task names, not all of them."""
    names = (tasks,) if isinstance(tasks, str) else tasks
    if not isinstance(names, Iterable) or isinstance(names, Mapping):
        raise TypeError(f"{argument} must be a task name or a list of task names from "
                        f"{tuple(model.task_names)}, got {tasks!r}")
    names = tuple(names)
    if not names:
        raise ValueError(f"{argument} must name at least one task of {tuple(model.task_names)}")
    for name in names:
        check_choice(argument, name, tuple(model.task_names))
    if len(set(names)) == len(model.task_names):
        raise ValueError(f"{argument} must leave at least one of the model's tasks "
                         f"{tuple(model.task_names)} out: training on all of them at once is "
                         f"multi-task learning, not transfer")
    return names


def only_tasks(model: MultiTaskNet, tasks: Sequence[str]) -> dict[str, float]:
    """The loss weights that train ``tasks`` only: their current λ, 0 for every other task."""
    current = model.loss_weights
    return {name: (current[name] if name in tasks else 0.0) for name in model.task_names}


def pretrain(model: MultiTaskNet, seeds: Sequence[int], x, y, *, source, epochs: int,
             batch_size: int = DEFAULT_BATCH_SIZE, validation_data=None) -> SeedRuns:
    """Pre-train one copy of ``model`` per seed on the ``source`` tasks only.

    θ_S = argmin Σ_{s∈S} λ_s L_s(θ): the other tasks get λ = 0 during the call (their heads keep
    their initial weights); the model's λ are restored afterwards. The seeds train side by side
    (``mtl_kit.seed_runs.fit_seeds``, same batches for every seed).

    Args:
        model: a compiled ``MultiTaskNet`` with fixed loss weights (any ``build_*``).
        seeds: distinct ints >= 0.
        x, y: training inputs and labels, as for ``fit`` (the other tasks' labels are ignored).
        source: a task name or names, not all of the model's tasks.
        epochs, batch_size, validation_data: as for ``fit_seeds``.

    Returns:
        the ``SeedRuns``; ``runs.final_weights(seed)`` are the pre-trained weights
        :func:`fine_tune` starts from.
    """
    _check_model(model)
    source = _check_tasks("source", source, model)
    check_int("epochs", epochs, minimum=1)
    check_int("batch_size", batch_size, minimum=1)
    weights = model.loss_weights
    model.set_loss_weights(only_tasks(model, source))
    try:
        return fit_seeds(model, seeds, x, y, epochs=epochs, batch_size=batch_size,
                         validation_data=validation_data)
    finally:
        model.set_loss_weights(weights)


def fine_tune(model: MultiTaskNet, start: SeedRuns, x, y, *, target, epochs: int,
              learning_rate: float, freeze_shared: bool = False,
              batch_size: int = DEFAULT_BATCH_SIZE, validation_data=None,
              patience: int | None = None,
              validation_batch_size: int = VALIDATION_BATCH_SIZE) -> SeedRuns:
    """Fine-tune every seed of ``start`` on the ``target`` task(s).

    For each seed: θ ← the seed's weights in ``start`` (pre-trained), a fresh optimiser with
    learning rate ``learning_rate``, then ``epochs`` epochs of θ_t = argmin L_t(θ) (λ = 0 for
    every other task). With ``freeze_shared=True`` the shared parameters θ_sh
    (``model.shared_variables``) do not move: only the parameters the target alone reads
    (its head) and the other tasks' parameters (unused: λ = 0) are trainable. The seeds train
    one after the other (their starting weights differ), all on the same batch order.

    Afterwards the model is as before the call: the same weights, λ, optimiser (and learning
    rate) and trainable parameters.

    Args:
        model: the compiled ``MultiTaskNet`` that ``start`` was trained with.
        start: the pre-trained runs (:func:`pretrain`, or ``fit_seeds`` on the same model).
        x, y: the target's training rows and labels (e.g. only the rows it has labels for).
        target: a task name or names, not all of the model's tasks.
        epochs: fine-tuning epochs (int >= 1).
        learning_rate: the fine-tuning learning rate η (> 0), usually below pre-training's.
        freeze_shared: freeze θ_sh (True) or fine-tune every parameter (False).
        batch_size, validation_data: as for ``fit``.
        patience: with ``validation_data``, early stopping on the validation split: a seed
            stops when the target's validation loss (Σ over the targets) has not improved for
            ``patience`` epochs and keeps the weights of its best epoch (``epochs`` is then the
            most it may train). None: train all ``epochs``.
        validation_batch_size: rows per step of the validation pass (a forward pass only: big
            batches cost no accuracy and save time).

    Returns:
        a ``SeedRuns`` over ``start``'s seeds: ``histories`` (with ``val_…`` keys when
        ``validation_data`` is given), ``final_weights(seed)`` and ``predict(x)``.
    """
    _check_model(model)
    if not isinstance(start, SeedRuns):
        raise TypeError(f"start must be the SeedRuns of the pre-training (pretrain or "
                        f"fit_seeds), got {type(start).__name__}")
    if start.model is not model:
        raise ValueError("start must come from this model (pretrain(model, …)): its weights "
                         "are this model's variables")
    target = _check_tasks("target", target, model)
    check_int("epochs", epochs, minimum=1)
    check_int("batch_size", batch_size, minimum=1)
    check_int("validation_batch_size", validation_batch_size, minimum=1)
    learning_rate = check_number("learning_rate", learning_rate, minimum=0, low_open=True)
    check_flag("freeze_shared", freeze_shared)
    if patience is not None:
        check_int("patience", patience, minimum=1)
        if validation_data is None:
            raise ValueError("patience needs validation_data: early stopping watches the "
                             "target's validation loss")
    if freeze_shared and not model.shared_variables:
        raise ValueError(f"freeze_shared=True needs shared parameters, and "
                         f"{type(model).__name__} shares none (model.shared_variables is "
                         f"empty): use freeze_shared=False")

    variables = list(model.trainable_variables)  # the order of start's weights
    saved = [np.array(keras.ops.convert_to_numpy(v.value)) for v in variables]
    weights = model.loss_weights
    optimizer, initial_state = model.optimizer, model._initial_state
    old_rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    histories, finals = {}, []
    frozen = model.shared_variables if freeze_shared else []
    try:
        model.set_loss_weights(only_tasks(model, target))
        if frozen:
            for variable in frozen:
                variable.trainable = False
            config = {**optimizer.get_config(), "learning_rate": learning_rate}
            _recompile(model, type(optimizer).from_config(config))
        else:
            optimizer.learning_rate = learning_rate
        for seed in start.seeds:
            model.reset()  # a fresh optimiser state; the next fit shuffles with model.seed
            for variable, value in zip(variables, start.final_weights(seed), strict=True):
                variable.assign(value)
            callbacks = [] if patience is None else [TargetStopping(target, patience)]
            history = model.fit(x, y, epochs=epochs, batch_size=batch_size,
                                validation_data=validation_data, callbacks=callbacks,
                                validation_batch_size=validation_batch_size)
            histories[seed] = {k: [float(v) for v in values]
                               for k, values in history.history.items()}
            finals.append([np.array(keras.ops.convert_to_numpy(v.value)) for v in variables])
    finally:
        for variable in frozen:
            variable.trainable = True
        if frozen:
            _recompile(model, optimizer)
            model._initial_state = initial_state
        optimizer.learning_rate = old_rate
        model.set_loss_weights(weights)
        model.reset()
        for variable, value in zip(variables, saved, strict=True):
            variable.assign(value)
    stacked = None
    if keras.backend.backend() == "jax":  # predict() then runs all seeds in one vmapped call
        import jax.numpy as jnp

        stacked = [jnp.asarray(np.stack([final[i] for final in finals]))
                   for i in range(len(variables))]
    return SeedRuns(model, tuple(start.seeds), histories, finals, "sequential", stacked=stacked)


def _recompile(model: MultiTaskNet, optimizer: keras.optimizers.Optimizer) -> None:
    """Compile ``model`` again with ``optimizer``, keeping its other compile settings."""
    model.compile(optimizer=optimizer, learning_rate=None,
                  steps_per_execution=model.steps_per_execution,
                  jit_compile=model.get_compile_config()["jit_compile"],
                  gradient_diagnostics=bool(model._gradient_diagnostics))


class TargetStopping(keras.callbacks.EarlyStopping):
    """Early stopping on Σ_{t∈targets} val_<t>_loss, keeping the best epoch's weights."""

    def __init__(self, targets: Sequence[str], patience: int):
        super().__init__(monitor="val_loss", patience=patience, restore_best_weights=True)
        self.targets = tuple(targets)

    def get_monitor_value(self, logs):
        logs = logs or {}
        keys = [f"val_{t}_loss" for t in self.targets]
        if not all(k in logs for k in keys):
            return None
        return float(sum(float(logs[k]) for k in keys))


def best_validation_loss(runs: SeedRuns, task: str) -> float:
    """The seeds' mean of their lowest ``val_<task>_loss``: the fine-tuning setting (learning
    rate, frozen or not) with the lowest one is the one to choose, on the validation split."""
    key = _validation_key(runs, task)
    return float(np.mean([min(runs.histories[seed][key]) for seed in runs.seeds]))


def best_epochs(runs: SeedRuns, task: str) -> list[int]:
    """Each seed's epoch (1, 2, …) with the lowest ``val_<task>_loss``: the weights that
    early stopping kept."""
    key = _validation_key(runs, task)
    return [int(np.argmin(runs.histories[seed][key])) + 1 for seed in runs.seeds]


def _validation_key(runs: SeedRuns, task: str) -> str:
    """``"val_<task>_loss"``, after checking that ``runs`` logged it."""
    if not isinstance(runs, SeedRuns):
        raise TypeError(f"runs must be a SeedRuns (fine_tune, pretrain or fit_seeds), "
                        f"got {type(runs).__name__}")
    keys = next(iter(runs.histories.values()))
    tasks = tuple(k[len("val_"):-len("_loss")] for k in keys
                  if k.startswith("val_") and k.endswith("_loss") and k != "val_loss")
    if not tasks:
        raise ValueError("runs have no validation losses: train them with validation_data")
    check_choice("task", task, tasks)
    return f"val_{task}_loss"


__all__ = ["TargetStopping", "best_epochs", "best_validation_loss", "fine_tune", "only_tasks",
           "pretrain"]
