"""Ownership: which parameters each task's loss reads (``task_variables``) and which several
tasks read (``shared_variables``, ``last_shared_variables``), checked by differentiating every
task loss L_t separately: ∂L_t/∂θ must be exactly zero outside shared ∪ own(t).
"""

import mtl_kit  # noqa: F401

# isort: split
import keras
import numpy as np
import pytest
from conftest_models import FEATURES, tiny_shop

from mtl_kit import models
from mtl_kit.tasks import shop_tasks

THREE = shop_tasks(("purchase", "intent", "dwell"))  # masked binary, multiclass, regression
SMALL = {"embedding_dim": 4}

#: (builder, arguments) per case; every builder of mtl_kit.models is covered
CASES = {
    "single": (models.build_single_task, {"task": "intent", "hidden": (8, 4)}),
    "hard": (models.build_hard_sharing, {"tasks": THREE, "shared": (8, 4), "head": (4,)}),
    "hard, no bottom": (models.build_hard_sharing, {"tasks": THREE, "shared": (), "head": ()}),
    "hard, one task": (models.build_hard_sharing, {"tasks": shop_tasks(("dwell",)),
                                                   "shared": (8,)}),
    "soft": (models.build_soft_sharing, {"tasks": THREE, "tower": (8, 4), "head": (4,)}),
    "cross-stitch": (models.build_cross_stitch, {"tasks": THREE, "tower": (8, 4), "head": (4,)}),
    "mmoe": (models.build_mmoe, {"tasks": THREE, "n_experts": 2, "expert_units": (4, 4),
                                 "tower": (4,)}),
    "ple": (models.build_ple, {"tasks": THREE, "expert_units": (4,), "tower": (4,)}),
    "ple, 3 levels": (models.build_ple, {"tasks": THREE, "n_levels": 3, "expert_units": (4,),
                                         "tower": ()}),
    "esmm": (models.build_esmm, {"ctr_tower": (8, 4), "cvr_tower": (8,)}),
}
BUILDERS = {name for name in models.__all__ if name.startswith("build_")}


def test_every_builder_is_covered():
    assert {builder.__name__ for builder, _ in CASES.values()} == BUILDERS


def _build(name: str):
    builder, kwargs = CASES[name]
    kwargs = dict(kwargs)
    if builder is models.build_single_task:
        return builder(kwargs.pop("task"), FEATURES, seed=0, **SMALL, **kwargs)
    if builder is models.build_esmm:
        return builder(FEATURES, seed=0, **SMALL, **kwargs)
    return builder(kwargs.pop("tasks"), FEATURES, seed=0, **SMALL, **kwargs)


def _ids(variables) -> set[int]:
    return {id(v) for v in variables}


def _parameters(model) -> list:
    """Every trainable variable except the weighting strategy's (β is not trainable)."""
    strategy = _ids(model.weighting.trainable_variables)
    return [v for v in model.trainable_variables if id(v) not in strategy]


def _task_gradients(model, x, y) -> dict[str, list[np.ndarray]]:
    """{task: [∂L_t/∂θ per trainable variable]} on one batch (JAX)."""
    import jax
    import jax.numpy as jnp

    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]

    def losses(values):
        return jnp.stack(model.stateless_task_losses(values, non_trainable, x, y))

    jacobian = jax.jacrev(losses)(trainable)  # per variable: (T, *shape)
    return {task: [np.asarray(g[t]) for g in jacobian]
            for t, task in enumerate(model.task_names)}


@pytest.mark.parametrize("name", list(CASES))
def test_shared_and_owned_partition_the_parameters(name):
    model = _build(name)
    shared = _ids(model.shared_variables)
    owned = {task: _ids(model.task_variables(task)) for task in model.task_names}
    sets = [shared, *owned.values()]
    assert sum(len(s) for s in sets) == len(set().union(*sets)), "the sets overlap"
    assert set().union(*sets) == _ids(_parameters(model))
    last = _ids(model.last_shared_variables)
    assert last <= shared
    assert bool(last) == bool(shared)
    if len(model.task_names) == 1:
        assert not shared  # one task: nothing is read by two
    with pytest.raises(ValueError, match="task must be one of"):
        model.task_variables("nope")


def test_what_each_architecture_shares():
    """The choices the gradients below confirm, stated per architecture."""
    hard = _build("hard")
    assert _ids(hard.shared_variables) == _ids(hard.encoder.trainable_variables
                                               + [v for layer in hard.bottom
                                                  for v in layer.trainable_variables])
    assert _ids(hard.last_shared_variables) == _ids(hard.bottom[-1].trainable_variables)
    no_bottom = _build("hard, no bottom")
    assert _ids(no_bottom.last_shared_variables) == _ids(no_bottom.encoder.trainable_variables)
    assert not _build("soft").shared_variables
    esmm = _build("esmm")
    assert not esmm.task_variables("click")  # pCTR is part of pCTCVR: the CTR tower is shared
    assert _ids(esmm.cvr_output.trainable_variables) <= _ids(esmm.task_variables("purchase"))
    stitch = _build("cross-stitch")
    assert _ids(stitch.towers[1][0].trainable_variables) <= _ids(stitch.shared_variables)
    ple = _build("ple, 3 levels")
    shared = _ids(ple.shared_variables)
    assert _ids(ple.task_gates[0][0].trainable_variables) <= shared  # feeds E_t^1 → shared gate
    assert _ids(ple.task_gates[1][0].trainable_variables) <= _ids(ple.task_variables("purchase"))
    assert _ids(ple.task_experts[1][0][0][0].trainable_variables) <= shared
    assert not _ids(ple.task_experts[2][0][0][0].trainable_variables) & shared


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="per-task gradients via jax.grad")
@pytest.mark.parametrize("name", list(CASES))
def test_task_gradients_follow_ownership(name):
    """∂L_t/∂θ = 0 exactly outside shared ∪ own(t); every owned variable moves with its task;
    every shared variable moves with at least two tasks."""
    model = _build(name)
    x, y = tiny_shop(128, seed=4)
    for encoder in model.encoders:
        encoder.adapt(x)  # realistic inputs for the ReLUs (no training needed)
    y = {task: y[task] for task in model.task_names}
    gradients = _task_gradients(model, x, y)
    variables = model.trainable_variables
    shared = _ids(model.shared_variables)
    readers = {i: [] for i in range(len(variables))}
    for task, grads in gradients.items():
        own = _ids(model.task_variables(task))
        for i, (variable, grad) in enumerate(zip(variables, grads, strict=True)):
            nonzero = bool(np.any(grad != 0))
            if nonzero:
                readers[i].append(task)
            if id(variable) not in shared | own:
                assert not nonzero, f"L_{task} reads {variable.path}, not its own nor shared"
            elif id(variable) in own:
                assert nonzero, f"{variable.path} is {task}'s, but L_{task} does not read it"
    for i, variable in enumerate(variables):
        if id(variable) in shared:
            # every shared variable is one whole layer's kernel/bias/table: on a batch of 128
            # rows at least some of it moves with each task that reads it
            assert len(readers[i]) >= 2, f"shared {variable.path} read by {readers[i]}"


def test_strategy_variables_are_nobody_s():
    """A learned weighting (uncertainty's log σ²) is neither shared nor a task's."""
    model = models.build_hard_sharing(THREE, FEATURES, shared=(8,), head=(), seed=0,
                                      weighting="uncertainty", **SMALL)
    strategy = _ids(model.weighting.trainable_variables)
    assert strategy and strategy <= _ids(model.trainable_variables)
    claimed = _ids(model.shared_variables).union(
        *(_ids(model.task_variables(t)) for t in model.task_names))
    assert not strategy & claimed
    assert claimed == _ids(model.trainable_variables) - strategy
