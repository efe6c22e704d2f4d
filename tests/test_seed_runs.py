"""fit_seeds: K seeds at once give the K sequential runs (reseed + fit), on any backend."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mtl_kit import seed_runs
from mtl_kit.course import course_data
from mtl_kit.models import build_hard_sharing, build_mmoe
from mtl_kit.seed_runs import fit_seeds
from mtl_kit.tasks import shop_tasks

JAX = keras.backend.backend() == "jax"
needs_jax = pytest.mark.skipif(not JAX, reason="the vmapped path runs on JAX only")
SEEDS = (0, 3)
SETTINGS = {"epochs": 2, "batch_size": 256}


@pytest.fixture(scope="module")
def data():
    return course_data(("click", "purchase"), n_users=600, n_impressions=6000)


@pytest.fixture(scope="module")
def models(data):
    tasks = shop_tasks(("click", "purchase"))
    return {"hard": build_hard_sharing(tasks, data.features, shared=(16,), head=(8,), seed=0),
            "mmoe": build_mmoe(tasks, data.features, n_experts=2, expert_units=(8,),
                               tower=(8,), seed=0)}


def _sequential_reference(model, seed, data, **settings):
    """What fit_seeds promises for one seed: reseed, then fit on the same (unshuffled) batches."""
    model.reseed(seed)
    history = model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                        shuffle=False, **settings).history
    predictions = model.predict_tasks(data.x_val)
    model.reseed(0)
    return history, predictions


@needs_jax
@pytest.mark.parametrize("arch", ["hard", "mmoe"])
def test_vmap_equals_sequential_reseed_and_fit(models, data, arch):
    model = models[arch]
    runs = fit_seeds(model, SEEDS, data.x_train, data.y_train, shuffle=False,
                     validation_data=(data.x_val, data.y_val), **SETTINGS)
    assert runs.method == "vmap" and runs.seeds == SEEDS
    predicted = runs.predict(data.x_val)  # from the last validation pass
    recomputed = runs.predict(dict(data.x_val))  # another object: a vmapped forward pass
    assert set(predicted) == set(recomputed) == set(SEEDS)
    for seed in SEEDS:
        history, predictions = _sequential_reference(model, seed, data, **SETTINGS)
        assert set(runs.history(seed)) == set(history) >= {"loss", "click_loss", "val_loss"}
        for key, values in history.items():
            np.testing.assert_allclose(runs.history(seed)[key], values, atol=1e-4, err_msg=key)
        for task, values in predictions.items():
            np.testing.assert_allclose(predicted[seed][task], values, atol=1e-4, err_msg=task)
            np.testing.assert_allclose(recomputed[seed][task], values, atol=1e-4, err_msg=task)
        runs.weights(seed)  # load seed's final weights into the model
        np.testing.assert_allclose(model.predict_tasks(data.x_val)["purchase"],
                                   predictions["purchase"], atol=1e-4)
    frame = runs.to_frame()
    assert list(frame.columns) == ["seed", "epoch", "key", "value"]
    assert len(frame) == len(SEEDS) * SETTINGS["epochs"] * len(history)


@needs_jax
def test_shuffled_first_seed_is_exactly_fit(models, data):
    """With shuffling, seeds[0]'s run is model.reseed(seeds[0]) + model.fit (the same draws)."""
    model = models["hard"]
    runs = fit_seeds(model, (3, 0), data.x_train, data.y_train, **SETTINGS)
    model.reseed(3)
    history = model.fit(data.x_train, data.y_train, **SETTINGS).history
    model.reseed(0)
    for key, values in history.items():
        np.testing.assert_allclose(runs.history(3)[key], values, atol=1e-4, err_msg=key)


@needs_jax
def test_changing_lambda_does_not_recompile(models, data):
    model = models["hard"]
    kwargs = {"shuffle": False, "validation_data": (data.x_val, data.y_val), **SETTINGS}
    before = fit_seeds(model, SEEDS, data.x_train, data.y_train, **kwargs)
    traces = dict(seed_runs.TRACES)
    try:
        model.set_loss_weights({"purchase": 3.0})
        after = fit_seeds(model, SEEDS, data.x_train, data.y_train, **kwargs)
        assert dict(seed_runs.TRACES) == traces, "a λ change compiled again"
        assert abs(after.history(3)["loss"][-1] - before.history(3)["loss"][-1]) > 1e-3
        history, _ = _sequential_reference(model, 3, data, **SETTINGS)
    finally:
        model.set_loss_weights({"purchase": 1.0})
    for key, values in history.items():
        np.testing.assert_allclose(after.history(3)[key], values, atol=1e-4, err_msg=key)


def test_sequential_fallback_gives_the_same_numbers(models, data):
    """The fall-back (forced here; the only path off JAX) equals reseed + fit per seed."""
    model = models["hard"]
    runs = fit_seeds(model, SEEDS, data.x_train, data.y_train, shuffle=False,
                     validation_data=(data.x_val, data.y_val), method="sequential", **SETTINGS)
    assert runs.method == "sequential"
    predicted = runs.predict(data.x_val)
    for seed in SEEDS:
        history, predictions = _sequential_reference(model, seed, data, **SETTINGS)
        for key, values in history.items():
            np.testing.assert_allclose(runs.history(seed)[key], values, atol=1e-5, err_msg=key)
        for task, values in predictions.items():
            np.testing.assert_allclose(predicted[seed][task], values, atol=1e-5, err_msg=task)
    if JAX:
        vmapped = fit_seeds(model, SEEDS, data.x_train, data.y_train, shuffle=False,
                            validation_data=(data.x_val, data.y_val), **SETTINGS)
        for seed in SEEDS:
            for key, values in runs.history(seed).items():
                np.testing.assert_allclose(vmapped.history(seed)[key], values, atol=1e-4)


def test_fit_seeds_leaves_the_model_reset(models, data):
    model = models["hard"]
    start = [np.array(keras.ops.convert_to_numpy(v.value)) for v in model.trainable_variables]
    fit_seeds(model, SEEDS, data.x_train, data.y_train, epochs=1, batch_size=256)
    assert model.seed == 0
    for variable, value in zip(model.trainable_variables, start, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(variable.value), value)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"seeds": ()}, ValueError, "seeds must list at least one"),
    ({"seeds": (0, 1.5)}, TypeError, "seeds must hold ints"),
    ({"seeds": (0, -1)}, ValueError, "seeds must hold ints >= 0"),
    ({"seeds": (0, 2, 2)}, ValueError, "seeds must be distinct"),
    ({"seeds": (True, 1)}, TypeError, "seeds must hold ints"),
    ({"seeds": "01"}, TypeError, "seeds must be a sequence"),
    ({"epochs": 0}, ValueError, "epochs must be an int >= 1"),
    ({"epochs": True}, TypeError, "epochs must be an int >= 1"),
    ({"batch_size": 0}, ValueError, "batch_size must be an int >= 1"),
    ({"method": "parallel"}, ValueError, "method must be one of"),
    ({"model": "hard"}, TypeError, "model must be a compiled mtl_kit MultiTaskNet"),
])
def test_bad_arguments_raise_before_any_work(models, data, kwargs, error, message):
    arguments = {"model": models["hard"], "seeds": (0, 1), "epochs": 1, **kwargs}
    model, seeds = arguments.pop("model"), arguments.pop("seeds")
    with pytest.raises(error, match=message):
        fit_seeds(model, seeds, data.x_train, data.y_train, **arguments)


def test_unknown_seed_in_results(models, data):
    runs = fit_seeds(models["hard"], SEEDS, data.x_train, data.y_train, epochs=1,
                     batch_size=256)
    with pytest.raises(ValueError, match=r"seed must be one of \(0, 3\)"):
        runs.history(5)


def test_weighting_updated_per_epoch_trains_seeds_one_by_one(models, data, monkeypatch):
    """A strategy that updates itself between epochs (DWA) needs fit's epoch loop: no vmap."""
    model = models["hard"]
    monkeypatch.setattr(type(model.weighting), "updates_per_epoch", True, raising=False)
    runs = fit_seeds(model, SEEDS, data.x_train, data.y_train, epochs=1, batch_size=256)
    assert runs.method == "sequential"
    with pytest.raises(ValueError, match="weighting that does not update per epoch"):
        fit_seeds(model, SEEDS, data.x_train, data.y_train, epochs=1, method="vmap")
    monkeypatch.undo()
    if JAX:
        assert fit_seeds(model, SEEDS, data.x_train, data.y_train, epochs=1,
                         batch_size=256).method == "vmap"
