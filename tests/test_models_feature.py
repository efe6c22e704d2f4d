"""Cross-stitch, MMoE, PLE and ESMM: shapes, gates, formulas, errors, any weighting."""

import mtl_kit  # noqa: F401  (selects the backend before keras)

# isort: split
import keras
import numpy as np
import pytest
from conftest_models import FEATURES, tiny_shop

from mtl_kit.models import build_cross_stitch, build_esmm, build_mmoe, build_ple
from mtl_kit.tasks import shop_tasks

TASKS = shop_tasks(("click", "purchase", "dwell"))


@pytest.fixture(scope="module")
def data():
    return tiny_shop(512, seed=2)


def test_cross_stitch_alpha_init_and_training(data):
    x, y = data
    model = build_cross_stitch(TASKS[:2], FEATURES, tower=(16, 8), head=(), seed=0)
    for alpha in model.alphas():
        np.testing.assert_allclose(alpha, [[0.9, 0.1], [0.1, 0.9]], rtol=1e-6)
    history = model.fit(x, y, epochs=2, validation_data=(x, y)).history
    assert {"click_loss", "purchase_loss", "val_click_loss"} <= set(history)
    assert not np.allclose(model.alphas()[0], [[0.9, 0.1], [0.1, 0.9]])  # α is learned
    three = build_cross_stitch(TASKS, FEATURES, tower=(8,), seed=0)
    np.testing.assert_allclose(three.alphas()[0].sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("builder, kwargs, n_experts", [
    (build_mmoe, {"n_experts": 3, "expert_units": (8,)}, 3),
    (build_ple, {"n_levels": 2, "n_shared_experts": 2, "n_task_experts": 1,
                 "expert_units": (8,)}, 3),
])
def test_gated_models_train_and_report_gates(data, builder, kwargs, n_experts):
    x, y = data
    model = builder(TASKS, FEATURES, seed=0, **kwargs)
    history = model.fit(x, y, epochs=2).history
    assert history["dwell_loss"][-1] < history["dwell_loss"][0]
    gates = model.gate_weights({k: v[:50] for k, v in x.items()})
    assert set(gates) == {"click", "purchase", "dwell"}
    for g in gates.values():
        assert g.shape == (50, n_experts)
        np.testing.assert_allclose(g.sum(axis=1), 1.0, rtol=1e-5)
    predictions = model.predict_tasks(x)
    assert predictions["click"].shape == (512,)


def test_ple_single_level_has_no_shared_gate(data):
    x, y = data
    model = build_ple(TASKS[:2], FEATURES, n_levels=1, seed=0)
    assert model.shared_gates == []
    model.fit(x, y, epochs=1)


def test_esmm_ctcvr_is_product(data):
    x, y = data
    y = dict(y)
    y["purchase"] = np.nan_to_num(y["purchase"])  # ESMM sees click∧purchase on all rows
    model = build_esmm(FEATURES, ctr_tower=(16,), cvr_tower=(16,), seed=0)
    history = model.fit(x, y, epochs=2).history
    assert set(history) == {"loss", "click_loss", "purchase_loss"}
    p = model.predict_tasks(x)
    np.testing.assert_allclose(p["purchase"], p["click"] * p["cvr"], rtol=1e-5)
    assert np.all(p["purchase"] <= p["click"] + 1e-7)


@pytest.mark.parametrize("call, match", [
    (lambda: build_mmoe(TASKS, FEATURES, n_experts=0), "n_experts"),
    (lambda: build_ple(TASKS, FEATURES, n_shared_experts=0), "n_shared_experts"),
    (lambda: build_ple(TASKS, FEATURES, n_task_experts=0), "n_task_experts"),
    (lambda: build_ple(TASKS, FEATURES, n_levels=0), "n_levels"),
    (lambda: build_cross_stitch(TASKS, FEATURES, tower=()), "tower"),
    (lambda: build_esmm(FEATURES, click_task="click", purchase_task="click"), "differ"),
])
def test_invalid_expert_arguments(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


@pytest.mark.slow
def test_any_architecture_with_the_weighting_strategy(data):
    """The weighting is a separate object: the same strategy class plugs into every model."""
    from mtl_kit.weighting import FixedWeights

    x, y = data
    for builder in (build_mmoe, build_cross_stitch, build_ple):
        weighting = FixedWeights(["click", "purchase", "dwell"], {"dwell": 0.0})
        model = builder(TASKS, FEATURES, weighting=weighting, seed=0)
        result = model.evaluate(x, y)
        assert result["loss"] == pytest.approx(result["click_loss"] + result["purchase_loss"],
                                               rel=1e-4)


def test_per_task_gradients_of_shared_parameters(data):
    """The hook for GradNorm/PCGrad: differentiate each task loss w.r.t. shared parameters."""
    if keras.backend.backend() != "jax":
        pytest.skip("the per-task gradient example uses jax.grad")
    import jax

    x, y = data
    model = build_mmoe(TASKS[:2], FEATURES, n_experts=2, seed=0)
    model.fit(x, y, epochs=1)  # adapt the normalisation
    xb = {k: v[:64] for k, v in x.items()}
    yb = {k: v[:64] for k, v in y.items()}
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]
    shared_ids = {id(v) for v in model.shared_variables}
    grads = []
    for t in range(2):
        def task_loss(values, t=t):
            return model.stateless_task_losses(values, non_trainable, xb, yb)[t]
        grads.append(jax.grad(task_loss)(trainable))
    shared = [i for i, v in enumerate(model.trainable_variables) if id(v) in shared_ids]
    assert shared
    g0 = np.concatenate([np.ravel(grads[0][i]) for i in shared])
    g1 = np.concatenate([np.ravel(grads[1][i]) for i in shared])
    assert np.linalg.norm(g0) > 0 and np.linalg.norm(g1) > 0 and not np.allclose(g0, g1)
