"""The training step behind the loss-balancing strategies (mtl_kit.task_gradients, issue 12).

Any architecture that shares parameters trains with any strategy; the per-task gradient step
applies d = Σ_t w_t g_t to the shared parameters (checked against per-task gradients taken
independently); gradient diagnostics do not change training; the strategies' state saves,
reloads and resets; bad input fails at compile, before any training.
"""

import mtl_kit  # noqa: F401  (selects the backend before keras)

# isort: split
import math

import keras
import numpy as np
import pytest
from conftest_models import FEATURES, tiny_shop

from mtl_kit import task_gradients
from mtl_kit.inputs import prepare_inputs, prepare_labels
from mtl_kit.models import (
    SingleTaskNet,
    build_cross_stitch,
    build_esmm,
    build_hard_sharing,
    build_mmoe,
    build_ple,
    build_soft_sharing,
)
from mtl_kit.models.base import gradient_log_names
from mtl_kit.seed_runs import fit_seeds
from mtl_kit.tasks import shop_tasks
from mtl_kit.weighting import (
    STRATEGIES,
    cagrad_weights,
    dwa_weights,
    make_weighting,
    min_norm_weights,
)

JAX = keras.backend.backend() == "jax"
TASKS = shop_tasks(("click", "purchase", "dwell"))
NAMES = [t.name for t in TASKS]
GRADIENT_LEVEL = ("gradnorm", "pcgrad", "mgda", "cagrad")
LOSS_LEVEL = ("fixed", "uncertainty", "dwa")


def esmm(tasks, features, **kwargs):
    """ESMM's builder takes no task list (it is the click → purchase funnel)."""
    return build_esmm(features, **kwargs)


#: Every architecture with shared parameters, tiny (the step's code is what is tested).
ARCHITECTURES = {
    "hard": (build_hard_sharing, {"shared": (4,), "head": (2,)}),
    "cross_stitch": (build_cross_stitch, {"tower": (4,), "head": ()}),
    "mmoe": (build_mmoe, {"n_experts": 2, "expert_units": (4,), "tower": (2,)}),
    "ple": (build_ple, {"n_levels": 1, "n_shared_experts": 1, "n_task_experts": 1,
                        "expert_units": (4,), "tower": (2,)}),
    "esmm": (esmm, {"ctr_tower": (4,), "cvr_tower": (4,)}),
}


@pytest.fixture(scope="module")
def data():
    return tiny_shop(64, seed=3)


@pytest.fixture(scope="module")
def full_data():
    """Every label observed: an epoch's "loss" is then exactly Σ_t w_t L_t of its means."""
    return tiny_shop(64, seed=4, purchase_missing=0.0)


def values(variables) -> list[np.ndarray]:
    return [np.array(keras.ops.convert_to_numpy(v.value)) for v in variables]


# --------------------------------------------------------------------------------------------
# any architecture × any strategy
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", tuple(STRATEGIES))
@pytest.mark.parametrize("architecture", tuple(ARCHITECTURES))
def test_any_architecture_trains_with_any_strategy(architecture, strategy, data):
    """One short fit: finite losses and weights; the diagnostics are logged in training (for
    the gradient strategies, and for uncertainty weighting with ``gradient_diagnostics``),
    never in the validation logs. Run eagerly (``jit_compile=False``: the same step, no
    compile per combination); the compiled path is trained per strategy below."""
    if not JAX and architecture != "hard" and strategy != "pcgrad":
        pytest.skip("the full matrix runs on JAX; here hard sharing × every strategy and "
                    "every architecture × PCGrad")
    x, y = data
    builder, sizes = ARCHITECTURES[architecture]
    tasks = TASKS[:2] if architecture == "esmm" else TASKS
    diagnostics = strategy == "uncertainty"
    model = builder(tasks, FEATURES, weighting=strategy, embedding_dim=2, seed=1,
                    jit_compile=False, gradient_diagnostics=diagnostics, **sizes)
    assert model.shared_variables
    assert model.uses_task_gradients == (strategy in GRADIENT_LEVEL or diagnostics)
    history = model.fit(x, y, epochs=1, batch_size=64, validation_data=(x, y)).history
    for key, logged in history.items():
        assert len(logged) == 1 and math.isfinite(logged[0]), (key, logged)
    expected = set(gradient_log_names(model.task_names))
    if model.uses_task_gradients:
        assert expected <= set(history)
    else:
        assert not expected & set(history)
    validation = {k for k in history if k.startswith("val_")}
    assert validation == {"val_loss", *(f"val_{t}_loss" for t in model.task_names)}
    weights = np.array(keras.ops.convert_to_numpy(model.weighting.task_weights()))
    assert weights.shape == (len(tasks),) and np.isfinite(weights).all() and (weights > 0).all()
    assert all(np.isfinite(v).all() for v in values(model.trainable_variables))


# --------------------------------------------------------------------------------------------
# nothing shared: gradient strategies refuse at compile
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", GRADIENT_LEVEL)
def test_gradient_strategies_need_shared_parameters(strategy):
    with pytest.raises(ValueError, match=r"shares none.*loss-level strategy"):
        build_soft_sharing(TASKS[:2], FEATURES, tower=(4,), head=(), weighting=strategy)
    one_task = SingleTaskNet(TASKS[:1], FEATURES, hidden=(4,), weighting=strategy)
    with pytest.raises(ValueError, match=r"'fixed', 'uncertainty', 'dwa'"):
        one_task.compile()
    diagnosed_one_task = SingleTaskNet(TASKS[:1], FEATURES, hidden=(4,))
    with pytest.raises(ValueError, match="gradient_diagnostics=True works on"):
        diagnosed_one_task.compile(gradient_diagnostics=True)


def test_loss_level_strategies_work_without_shared_parameters(data):
    x, y = data
    for strategy in LOSS_LEVEL:
        model = build_soft_sharing(TASKS[:2], FEATURES, tower=(4,), head=(), beta=0.01,
                                   weighting=strategy, embedding_dim=2, jit_compile=False)
        assert not model.shared_variables
        history = model.fit(x, y, epochs=2, batch_size=32).history
        assert all(math.isfinite(v) for k in ("loss", "penalty") for v in history[k])
    one_task = SingleTaskNet(TASKS[:1], FEATURES, hidden=(4,), weighting="uncertainty")
    one_task.compile(jit_compile=False)
    assert math.isfinite(one_task.fit(x, y, epochs=1, batch_size=32).history["loss"][0])


# --------------------------------------------------------------------------------------------
# the diagnostics do not change training
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", ["fixed", "uncertainty"])
def test_gradient_diagnostics_train_exactly_like_the_plain_step(strategy, data):
    """Σ_t w_t ∇L_t assembled from the per-task gradients = Keras' ∇ Σ_t w_t L_t (JAX here;
    the tox tensorflow environment runs the same test on TensorFlow)."""
    x, y = data
    runs = []
    for diagnostics in (False, True):
        weighting = (make_weighting("fixed", NAMES, weights={"click": 0.5, "purchase": 2.0})
                     if strategy == "fixed" else strategy)
        model = build_hard_sharing(TASKS, FEATURES, shared=(8,), head=(4,), seed=2,
                                   weighting=weighting, gradient_diagnostics=diagnostics)
        history = model.fit(x, y, epochs=3, batch_size=16).history
        runs.append((history, values(model.trainable_variables)))
    (plain, plain_weights), (diagnosed, diagnosed_weights) = runs
    assert set(diagnosed) == set(plain) | set(gradient_log_names(NAMES))
    for key in plain:
        np.testing.assert_allclose(diagnosed[key], plain[key], rtol=1e-5, err_msg=key)
    for before, after in zip(plain_weights, diagnosed_weights, strict=True):
        np.testing.assert_allclose(after, before, rtol=1e-4, atol=1e-6)
    # the logged weights are the strategy's
    if strategy == "fixed":
        np.testing.assert_allclose(diagnosed["click_weight"], 0.5)
        np.testing.assert_allclose(diagnosed["dwell_weight"], 1.0)


# --------------------------------------------------------------------------------------------
# the update is d = Σ_t w_t g_t on the shared parameters
# --------------------------------------------------------------------------------------------
def pcgrad_direction_reference(grads: np.ndarray, step: int) -> np.ndarray:
    """Σ_i g_i' by the paper's algorithm on (T, P) flat gradients (visiting j = step + k)."""
    total = np.zeros(grads.shape[1])
    for i in range(len(grads)):
        g = grads[i].copy()
        for k in range(len(grads)):
            j = (step + k) % len(grads)
            if j != i and g @ grads[j] < 0:
                g -= (g @ grads[j]) / (grads[j] @ grads[j]) * grads[j]
        total += g
    return total


#: State that makes every strategy's weights differ from 1 at the first step.
STARTING_STATE = {
    "uncertainty": ("log_variances", [0.3, -0.5, 0.8]),
    "gradnorm": ("logits", [0.4, -0.2, 0.1]),
    "dwa": ("weights_variable", [0.5, 1.5, 1.0]),
}


def losses_and_jacobian(model, before, x, y) -> tuple[np.ndarray, list[np.ndarray]]:
    """(L_1, …, L_T) and, per trainable variable, its rows ∇L_t (T, *shape) at the weights
    ``before``, each task differentiated on its own (jax.jacrev, a TensorFlow tape, or
    torch.autograd.grad per task)."""
    prepared, n_rows = prepare_inputs(model.feature_config, x)
    labels = prepare_labels(model.tasks, y, n_rows)
    non_trainable = [v.value for v in model.non_trainable_variables]  # the adapted encoder
    if JAX:
        import jax
        import jax.numpy as jnp

        def task_losses(trainable):
            return jnp.stack(model.stateless_task_losses(trainable, non_trainable, prepared,
                                                         labels))

        jacobian = jax.jacrev(task_losses)(before)
        losses = task_losses(before)
    elif keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        for variable, value in zip(model.trainable_variables, before, strict=True):
            variable.assign(value)
        watched = [v.value for v in model.trainable_variables]
        with tf.GradientTape(persistent=True) as tape:
            losses = model.stateless_task_losses(watched, non_trainable, prepared, labels)
        rows = [tape.gradient(loss, watched, unconnected_gradients="zero") for loss in losses]
        jacobian = [np.stack([tf.convert_to_tensor(row[i]).numpy() for row in rows])
                    for i in range(len(watched))]
        losses = [float(loss) for loss in losses]
    else:  # torch
        import torch

        for variable, value in zip(model.trainable_variables, before, strict=True):
            variable.assign(value)
        watched = [v.value for v in model.trainable_variables]
        losses = model.stateless_task_losses(watched, non_trainable, prepared, labels)
        rows = [torch.autograd.grad(loss, watched, retain_graph=True, allow_unused=True)
                for loss in losses]
        jacobian = [np.stack([np.zeros(tuple(w.shape)) if row[i] is None
                              else row[i].detach().cpu().numpy() for row in rows])
                    for i, w in enumerate(watched)]
        losses = [float(loss.detach()) for loss in losses]
    return (np.asarray(losses, dtype="float64"),
            [np.asarray(g, dtype="float64") for g in jacobian])


@pytest.mark.parametrize("strategy", tuple(STRATEGIES))
def test_one_sgd_step_applies_the_strategys_direction(strategy, data):
    """SGD with learning rate 1 on one batch: θ_sh changes by −d = −Σ_t w_t g_t; task t's own
    parameters by −w_t ∇L_t (loss weightings, GradNorm) or −∇L_t (PCGrad, MGDA, CAGrad); the
    strategy's learned variables by −∇ of what they minimise. On every backend with a per-task
    step (on TensorFlow the embedding tables' gradients are sparse, combined apart)."""
    x, y = data
    weighting = (make_weighting("fixed", NAMES, weights={"click": 0.5, "dwell": 2.0})
                 if strategy == "fixed" else strategy)
    model = build_hard_sharing(TASKS, FEATURES, shared=(6,), head=(3,), embedding_dim=2,
                               seed=5, weighting=weighting, jit_compile=False,
                               optimizer=keras.optimizers.SGD(learning_rate=1.0))
    if strategy in STARTING_STATE:
        name, start = STARTING_STATE[strategy]
        getattr(model.weighting, name).assign(np.array(start, dtype="float32"))
    variables = model.trainable_variables
    before = values(variables)
    model.fit(x, y, epochs=1, batch_size=len(x["user"]), shuffle=False)
    change = [a - b for a, b in zip(values(variables), before, strict=True)]

    # the task gradients at θ_0, each on its own: rows of the Jacobian of (L_1, …, L_T)
    losses, jacobian = losses_and_jacobian(model, before, x, y)
    position = {id(v): i for i, v in enumerate(variables)}
    shared = [position[id(v)] for v in model.shared_variables]
    flat = np.concatenate([jacobian[i].reshape(3, -1) for i in shared], axis=1)  # (T, P_sh)
    gram = flat @ flat.T
    last = [position[id(v)] for v in model.last_shared_variables]
    last_flat = np.concatenate([jacobian[i].reshape(3, -1) for i in last], axis=1)

    strategy_object = model.weighting
    own_weights = np.ones(3)
    if strategy == "pcgrad":
        direction = pcgrad_direction_reference(flat, step=0)
    else:
        if strategy == "mgda":
            weights = np.asarray(min_norm_weights(gram.astype("float32")), dtype="float64")
        elif strategy == "cagrad":
            weights = np.asarray(cagrad_weights(gram.astype("float32"), 0.4), dtype="float64")
        elif strategy == "gradnorm":
            logits = np.array(STARTING_STATE["gradnorm"][1])
            weights = own_weights = 3 * np.exp(logits) / np.exp(logits).sum()
        elif strategy == "uncertainty":
            weights = own_weights = np.array([1.0, 1.0, 0.5]) * np.exp(
                -np.array(STARTING_STATE["uncertainty"][1]))
        elif strategy == "dwa":
            weights = own_weights = np.array(STARTING_STATE["dwa"][1])
        else:
            weights = own_weights = np.array([0.5, 1.0, 2.0])
        direction = weights @ flat
    offset = 0
    for i in shared:
        size = jacobian[i][0].size
        expected = -direction[offset:offset + size].reshape(change[i].shape)
        offset += size
        np.testing.assert_allclose(change[i], expected, rtol=2e-3, atol=2e-5 * (
            np.abs(expected).max() + 1e-3), err_msg=variables[i].path)
    for t, task in enumerate(NAMES):
        for variable in model.task_variables(task):
            i = position[id(variable)]
            np.testing.assert_allclose(change[i], -own_weights[t] * jacobian[i][t], rtol=2e-3,
                                       atol=2e-5 * (np.abs(jacobian[i][t]).max() + 1e-3),
                                       err_msg=variable.path)
    covered = set(shared) | {position[id(v)] for t in NAMES for v in model.task_variables(t)}
    own = [position[id(v)] for v in strategy_object.trainable_variables]
    assert covered | set(own) == set(range(len(variables)))

    if strategy == "uncertainty":  # ∂/∂s_t (c_t e^{-s_t} L_t + ½ s_t) = ½ − c_t e^{-s_t} L_t
        (i,) = own
        np.testing.assert_allclose(change[i], -(0.5 - own_weights * losses), rtol=1e-4,
                                   atol=1e-6)
    elif strategy == "gradnorm":  # L_grad = Σ|G_t − Ḡ| at the first step (all r_t = 1)
        (i,) = own
        norms = np.sqrt(np.diag(last_flat @ last_flat.T))
        weighted = own_weights * norms
        d_weights = np.sign(weighted - weighted.mean()) * norms
        p = own_weights / 3
        d_logits = 3 * (np.diag(p) - np.outer(p, p)) @ d_weights
        np.testing.assert_allclose(change[i], -d_logits, rtol=1e-3, atol=1e-6)
    else:
        assert not own


# --------------------------------------------------------------------------------------------
# saving, reloading and resetting the strategies
# --------------------------------------------------------------------------------------------
#: Non-default hyperparameters, to see that they survive a save.
HYPERPARAMETERS = {
    "fixed": {"weights": {"click": 0.5, "dwell": 2.0}},
    "uncertainty": {},
    "dwa": {"temperature": 3.0},
    "gradnorm": {"alpha": 0.5},
    "pcgrad": {},
    "mgda": {"iterations": 30},
    "cagrad": {"c": 0.2},
}

#: The learned state of each strategy and its value after build / reset.
LEARNED = {
    "uncertainty": {"log_variances": np.zeros(3)},
    "gradnorm": {"logits": np.zeros(3), "initial_losses": np.zeros(3), "started": 0.0},
    "dwa": {"weights_variable": np.ones(3), "loss_history": np.zeros((2, 3)),
            "epochs_seen": 0.0},
}


def numpy_value(variable) -> np.ndarray:
    """A variable's value as NumPy on any backend (torch's needs a detach)."""
    return np.array(keras.ops.convert_to_numpy(variable.value))


def strategy_state(weighting) -> dict[str, np.ndarray]:
    return {v.name: np.array(keras.ops.convert_to_numpy(v.value)) for v in weighting.variables}


@pytest.mark.parametrize("strategy", tuple(STRATEGIES))
def test_save_reload_and_reset_keep_or_restart_the_strategy(strategy, data, tmp_path):
    x, y = data
    weighting = make_weighting(strategy, NAMES, [t.kind for t in TASKS],
                               **HYPERPARAMETERS[strategy])
    # compiled on JAX for the gradient strategies (the loss-level ones are compiled elsewhere)
    model = build_hard_sharing(TASKS, FEATURES, shared=(6,), head=(3,), embedding_dim=2,
                               seed=3, weighting=weighting, learning_rate=0.01,
                               jit_compile=JAX and strategy in GRADIENT_LEVEL)
    first = model.fit(x, y, epochs=3, batch_size=32).history
    trained = strategy_state(model.weighting)
    for name, initial in LEARNED.get(strategy, {}).items():  # the state did learn
        assert not np.allclose(numpy_value(getattr(model.weighting, name)), initial), name

    path = tmp_path / f"{strategy}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.weighting) is type(model.weighting)
    assert loaded.weighting.get_config() == model.weighting.get_config()
    assert loaded.weighting.describe() == model.weighting.describe()
    for key, value in strategy_state(loaded.weighting).items():
        np.testing.assert_array_equal(value, trained[key], err_msg=key)
    assert loaded.uses_task_gradients == model.uses_task_gradients
    inputs, _ = prepare_inputs(model.feature_config, x)
    ours, theirs = model(inputs), loaded(inputs)
    for task in NAMES:
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(theirs[task]),
                                      keras.ops.convert_to_numpy(ours[task]))

    model.reset()
    for name, initial in LEARNED.get(strategy, {}).items():
        np.testing.assert_array_equal(numpy_value(getattr(model.weighting, name)), initial, name)
    if strategy == "fixed":  # λ is the user's: kept
        assert model.loss_weights == {"click": 0.5, "purchase": 1.0, "dwell": 2.0}
    second = model.fit(x, y, epochs=3, batch_size=32).history
    assert second == first
    for key, value in strategy_state(model.weighting).items():
        np.testing.assert_array_equal(value, trained[key], err_msg=key)


def test_reset_keeps_lambda_and_beta_and_restarts_learned_weights(data):
    x, y = data
    soft = build_soft_sharing(TASKS[:2], FEATURES, tower=(4,), head=(), beta=0.01,
                              weighting="uncertainty", embedding_dim=2, jit_compile=False)
    soft.set_beta(0.05)
    first = soft.fit(x, y, epochs=2, batch_size=32).history
    assert not np.allclose(numpy_value(soft.weighting.log_variances), 0.0)
    soft.reset()
    assert soft.beta == pytest.approx(0.05)
    np.testing.assert_array_equal(numpy_value(soft.weighting.log_variances), [0.0, 0.0])
    assert soft.fit(x, y, epochs=2, batch_size=32).history == first

    hard = build_hard_sharing(TASKS[:2], FEATURES, shared=(4,), head=(), embedding_dim=2,
                              jit_compile=False)
    hard.set_loss_weights({"purchase": 3.0})
    hard.fit(x, y, epochs=1, batch_size=32)
    hard.reset()
    assert hard.loss_weights == {"click": 1.0, "purchase": 3.0}


# --------------------------------------------------------------------------------------------
# bad input: clear errors, at build or compile
# --------------------------------------------------------------------------------------------
def test_unknown_strategy_names_the_known_ones():
    with pytest.raises(ValueError, match="weighting must be one of") as error:
        build_hard_sharing(TASKS, FEATURES, weighting="pcgrd")
    for name in STRATEGIES:
        assert repr(name) in str(error.value)
    with pytest.raises(ValueError, match="weighting must be one of"):
        make_weighting("GradNorm", NAMES)
    with pytest.raises(TypeError, match=r"weighting must be a mtl_kit\.weighting\.Weighting"):
        build_hard_sharing(TASKS, FEATURES, weighting=3)
    with pytest.raises(ValueError, match="either loss_weights or a weighting strategy"):
        build_hard_sharing(TASKS, FEATURES, weighting="pcgrad", loss_weights={"click": 2.0})
    with pytest.raises(ValueError, match="must equal the model's tasks"):
        build_hard_sharing(TASKS, FEATURES, weighting=make_weighting("pcgrad", ["click"]))


@pytest.mark.parametrize(("strategy", "argument", "value", "message"), [
    ("gradnorm", "alpha", -0.5, "alpha must be a finite number >= 0"),
    ("gradnorm", "alpha", float("nan"), "alpha must be a finite number >= 0"),
    ("dwa", "temperature", 0.0, "temperature must be a finite number > 0"),
    ("dwa", "temperature", -1.0, "temperature must be a finite number > 0"),
    ("dwa", "temperature", float("nan"), "temperature must be a finite number > 0"),
    ("cagrad", "c", -0.1, "c must be a finite number >= 0"),
    ("cagrad", "c", float("inf"), "c must be a finite number >= 0"),
    ("pcgrad", "c", 0.4, r"'pcgrad' has no hyperparameter\(s\) \['c'\]; it takes none"),
    ("pcgrad", "iterations", 5, r"'pcgrad' has no hyperparameter\(s\) \['iterations'\]"),
    ("cagrad", "alpha", 1.5, r"'cagrad' has no hyperparameter\(s\) \['alpha'\]; "
                             r"it takes \['c'\]"),
    ("dwa", "weights", {"click": 2.0}, r"'dwa' has no hyperparameter\(s\) \['weights'\]"),
])
def test_bad_hyperparameters_are_refused(strategy, argument, value, message):
    with pytest.raises(ValueError, match=message):
        make_weighting(strategy, NAMES, **{argument: value})


def test_gradient_strategies_refuse_other_backends_at_compile(monkeypatch, data):
    model = build_hard_sharing(TASKS, FEATURES, shared=(4,), head=(2,), weighting="pcgrad")
    monkeypatch.setattr(task_gradients.keras.backend, "backend", lambda: "numpy")
    with pytest.raises(ValueError, match="jax, tensorflow, torch backends; this is 'numpy'") \
            as error:
        model.compile()
    assert "KERAS_BACKEND=jax" in str(error.value) and "'fixed'" in str(error.value)
    with pytest.raises(ValueError, match="gradient_diagnostics=True needs each task's gradient"):
        task_gradients.check_backend("gradient_diagnostics=True")
    monkeypatch.undo()
    with pytest.raises(TypeError, match="gradient_diagnostics must be True or False"):
        model.compile(gradient_diagnostics="yes")


# --------------------------------------------------------------------------------------------
# DWA: one update per epoch, through the compiled epoch loop
# --------------------------------------------------------------------------------------------
def test_dwa_updates_its_weights_every_epoch_in_the_fast_loop(full_data):
    x, y = full_data
    model = build_hard_sharing(TASKS, FEATURES, shared=(6,), head=(3,), embedding_dim=2,
                               weighting=make_weighting("dwa", NAMES, temperature=0.5),
                               learning_rate=0.02)
    history = model.fit(x, y, epochs=5, batch_size=32).history
    if JAX:
        assert getattr(model, "_epoch_loop", None) is not None  # the compiled loop ran
    losses = np.array([history[f"{t}_loss"] for t in NAMES])  # (T, epochs)
    for epoch in range(5):
        if epoch < 2:
            weights = np.ones(3)
        else:  # set after epoch k-1 from the logged losses of epochs k-1 and k-2
            weights = dwa_weights(losses[:, epoch - 1], losses[:, epoch - 2], 0.5)
            assert not np.allclose(weights, 1.0, atol=1e-3)
        # every label observed, equal batches: the epoch's loss is Σ_t w_t L_t of the means
        assert history["loss"][epoch] == pytest.approx(weights @ losses[:, epoch], rel=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model.weighting.task_weights()),
                               dwa_weights(losses[:, 4], losses[:, 3], 0.5), rtol=1e-5)


def test_fit_seeds_trains_dwa_one_seed_after_another(full_data):
    x, y = full_data
    model = build_hard_sharing(TASKS, FEATURES, shared=(6,), head=(3,), embedding_dim=2,
                               weighting="dwa", learning_rate=0.02)
    with pytest.raises(ValueError, match="weighting that does not update per epoch"):
        fit_seeds(model, [0, 1], x, y, epochs=3, method="vmap")
    runs = fit_seeds(model, [0, 1], x, y, epochs=3, batch_size=32)
    assert runs.method == "sequential"
    for seed in (0, 1):  # each seed starts DWA afresh: weights 1 in epochs 1 and 2
        history = runs.histories[seed]
        for epoch in (0, 1):
            total = sum(history[f"{t}_loss"][epoch] for t in NAMES)
            assert history["loss"][epoch] == pytest.approx(total, rel=1e-5)
    model.reset()
    assert model.fit(x, y, epochs=3, batch_size=32).history == runs.histories[0]


def test_the_gradient_plan_follows_frozen_layers():
    """Which positions of ``trainable_variables`` are shared is recomputed when layers are
    frozen or unfrozen, also when the number of trainable variables stays the same."""
    model = build_hard_sharing(TASKS, FEATURES, shared=(6, 4), head=(3,), embedding_dim=2,
                               weighting="pcgrad")

    def expected():
        position = {id(v): i for i, v in enumerate(model.trainable_variables)}
        return tuple(sorted(position[id(v)] for v in model.shared_variables
                            if id(v) in position))

    assert task_gradients.plan_for(model).shared == expected()
    n_shared = len(expected())
    head = model.heads[0][0]
    head.trainable = False  # a task's layer: the shared ones move up two positions
    assert task_gradients.plan_for(model).shared == expected()
    count = len(model.trainable_variables)
    head.trainable = True
    model.bottom[0].trainable = False  # as many trainable variables, other positions
    assert len(model.trainable_variables) == count
    assert task_gradients.plan_for(model).shared == expected()
    assert len(expected()) == n_shared - 2  # the frozen kernel and bias are not updated
