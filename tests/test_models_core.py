"""Hard, single and soft sharing: History keys, masked losses, λ/β, reset and re-training."""

import mtl_kit  # noqa: F401  (selects the backend before keras)

# isort: split
import keras
import numpy as np
import pytest
from conftest_models import FEATURES, tiny_shop

from mtl_kit.models import (
    MultiTaskModel,
    build_hard_sharing,
    build_single_task,
    build_soft_sharing,
)
from mtl_kit.tasks import TaskSpec, shop_tasks

TASKS = shop_tasks(("click", "purchase"))


@pytest.fixture(scope="module")
def data():
    return tiny_shop(768, seed=1)


def _bce(y, p):
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def test_hard_history_keys_and_trackers_are_live(data):
    x, y = data
    model = build_hard_sharing(TASKS, FEATURES, seed=0)
    history = model.fit(x, y, validation_data=(x, y), epochs=3, batch_size=128)
    keys = set(history.history)
    assert {"loss", "click_loss", "purchase_loss", "val_loss", "val_click_loss",
            "val_purchase_loss"} <= keys
    for key in ("click_loss", "purchase_loss", "val_click_loss"):
        values = history.history[key]
        assert len(values) == 3 and all(v > 0 for v in values)
        assert values[-1] < values[0]  # trained, not stale
    # The last validation loss equals evaluate() and a NumPy masked loss of the predictions.
    result = model.evaluate(x, y)
    predictions = model.predict_tasks(x)
    for task in ("click", "purchase"):
        observed = ~np.isnan(y[task])
        manual = _bce(y[task][observed], predictions[task][observed]).mean()
        assert result[f"{task}_loss"] == pytest.approx(manual, rel=1e-4)
        assert history.history[f"val_{task}_loss"][-1] == pytest.approx(manual, rel=1e-4)
    assert result["loss"] == pytest.approx(result["click_loss"] + result["purchase_loss"],
                                           rel=1e-4)


def test_loss_is_weighted_sum_and_lambda_changes_without_recompile(data):
    x, y = data
    model = build_hard_sharing(TASKS, FEATURES, loss_weights={"purchase": 0.5}, seed=0)
    assert model.loss_weights == {"click": 1.0, "purchase": 0.5}
    model.fit(x, y, epochs=1)
    train_function = model.train_function
    model.set_loss_weights({"click": 2.0, "purchase": 3.0})
    result = model.evaluate(x, y)
    assert result["loss"] == pytest.approx(2 * result["click_loss"] + 3 * result["purchase_loss"],
                                           rel=1e-4)
    model.retrain(x, y, epochs=1)
    assert model.train_function is train_function  # the compiled step is reused


def test_zero_lambda_freezes_that_head(data):
    x, y = data
    model = build_hard_sharing(TASKS, FEATURES, loss_weights={"purchase": 0.0}, seed=0)
    before = [keras.ops.convert_to_numpy(v.value) for v in model.outputs_[1].weights]
    model.fit(x, y, epochs=2)
    after = [keras.ops.convert_to_numpy(v.value) for v in model.outputs_[1].weights]
    for b, a in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)


def test_missing_labels_are_masked_and_give_no_nan(data):
    x, y = data
    y = dict(y)
    y["purchase"] = np.full_like(y["purchase"], np.nan)
    model = build_hard_sharing(TASKS, FEATURES, seed=0)
    history = model.fit(x, y, epochs=2, validation_data=(x, y))
    assert history.history["purchase_loss"] == [0.0, 0.0]
    assert all(np.all(np.isfinite(np.asarray(v))) for v in model.weights)


@pytest.mark.slow
def test_retrain_reproduces_first_fit_and_resets_optimizer(data):
    x, y = data
    model = build_hard_sharing(TASKS, FEATURES, seed=3)
    initial = [keras.ops.convert_to_numpy(v.value) for v in model.trainable_variables]
    first = model.fit(x, y, epochs=2, batch_size=100).history
    second = model.retrain(x, y, epochs=2, batch_size=100).history
    for key in first:
        np.testing.assert_allclose(second[key], first[key], rtol=1e-6)
    model.reset()
    for v, value in zip(model.trainable_variables, initial, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(v.value), value)
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations.value)) == 0
    # λ survives a reset.
    model.set_loss_weights({"click": 0.25})
    model.reset()
    assert model.loss_weights["click"] == 0.25


@pytest.mark.slow
def test_same_seed_same_numbers(data):
    x, y = data
    runs = [build_hard_sharing(TASKS, FEATURES, seed=7).fit(x, y, epochs=2).history
            for _ in range(2)]
    np.testing.assert_allclose(runs[0]["loss"], runs[1]["loss"], rtol=1e-6)


@pytest.mark.slow
def test_steps_per_execution_does_not_change_results(data):
    x, y = data
    a = build_hard_sharing(TASKS, FEATURES, seed=2, steps_per_execution=1)
    b = build_hard_sharing(TASKS, FEATURES, seed=2, steps_per_execution=16)
    ha = a.fit(x, y, epochs=2, batch_size=64).history
    hb = b.fit(x, y, epochs=2, batch_size=64).history
    for key in ha:
        np.testing.assert_allclose(hb[key], ha[key], rtol=1e-5)


@pytest.mark.slow
def test_single_task_and_other_kinds(data):
    x, y = data
    for task in shop_tasks(("click", "intent", "dwell")):
        model = build_single_task(task, FEATURES, hidden=(16,), seed=0)
        history = model.fit(x, y, epochs=2)
        assert set(history.history) == {"loss", f"{task.name}_loss"}
        prediction = model.predict_tasks(x)[task.name]
        assert prediction.shape == ((len(y[task.name]), 3) if task.kind == "multiclass"
                                    else (len(y[task.name]),))
    tasks = shop_tasks(("click", "purchase", "intent", "dwell"))
    model = build_hard_sharing(tasks, FEATURES, seed=0)
    history = model.fit(x, y, epochs=2)
    assert {f"{t}_loss" for t in ("click", "purchase", "intent", "dwell")} <= set(history.history)
    probs = model.predict_tasks(x)["intent"]
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_plain_matrix_input():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 6)).astype("float32")
    y = {"a": x[:, 0] * 2.0, "b": x[:, 1] - x[:, 2]}
    tasks = [TaskSpec("a", "regression"), TaskSpec("b", "regression")]
    model = build_hard_sharing(tasks, 6, shared=(16,), head=(), seed=0)
    history = model.fit(x, [y["a"], y["b"]], epochs=3)
    assert history.history["a_loss"][-1] < history.history["a_loss"][0]


def test_soft_sharing_logs_penalty_and_beta_variable(data):
    x, y = data
    model = build_soft_sharing(TASKS, FEATURES, beta=0.01, seed=0)
    history = model.fit(x, y, validation_data=(x, y), epochs=2)
    h = history.history
    assert {"penalty", "tower_distance", "val_penalty", "val_tower_distance"} <= set(h)
    np.testing.assert_allclose(h["val_penalty"], 0.01 * np.asarray(h["val_tower_distance"]),
                               rtol=1e-4)
    distance = float(keras.ops.convert_to_numpy(model.tower_distance()))
    assert h["val_tower_distance"][-1] == pytest.approx(distance, rel=1e-4)
    train_function = model.train_function
    model.set_beta(0.0)
    assert model.beta == 0.0
    h0 = model.retrain(x, y, epochs=2).history
    assert h0["penalty"] == [0.0, 0.0] and h0["tower_distance"][-1] > 0
    assert model.train_function is train_function


@pytest.mark.slow
def test_soft_towers_start_equal_and_are_independent_at_beta_zero(data):
    x, y = data
    model = build_soft_sharing(TASKS, FEATURES, beta=0.0, seed=0)
    assert float(keras.ops.convert_to_numpy(model.tower_distance())) == 0.0
    click_a = model.fit(x, y, epochs=2).history["click_loss"]
    pred_a = model.predict_tasks(x)["click"]
    y_other = dict(y)
    y_other["purchase"] = np.random.default_rng(5).permutation(y["purchase"])
    model.set_loss_weights({"purchase": 7.0})
    click_b = model.retrain(x, y_other, epochs=2).history["click_loss"]
    pred_b = model.predict_tasks(x)["click"]
    np.testing.assert_allclose(click_b, click_a, rtol=1e-5)
    np.testing.assert_allclose(pred_b, pred_a, atol=1e-5)


def test_soft_l1_distance(data):
    x, y = data
    model = build_soft_sharing(TASKS, FEATURES, beta=1e-3, distance="l1", seed=0)
    history = model.fit(x, y, epochs=1)
    assert history.history["tower_distance"][0] > 0


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: build_hard_sharing(TASKS, FEATURES, loss_weights={"click": -1.0}),
         "loss_weights"),
        (lambda: build_hard_sharing(TASKS, FEATURES, loss_weights={"cart": 1.0}), "unknown task"),
        (lambda: build_hard_sharing([], FEATURES), "at least one task"),
        (lambda: shop_tasks(("click", "basket")), "unknown task"),
        (lambda: build_soft_sharing(TASKS, FEATURES, beta=-0.1), "beta"),
        (lambda: build_soft_sharing(TASKS, FEATURES, distance="cosine"), "distance"),
        (lambda: build_hard_sharing(TASKS, FEATURES, shared=(0,)), "shared"),
        (lambda: TaskSpec("intent", "multiclass"), "n_classes"),
        (lambda: TaskSpec("x", "ranking"), "kind"),
    ],
)
def test_invalid_arguments_raise_clear_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_invalid_fit_arguments(data):
    x, y = data
    model = build_hard_sharing(TASKS, FEATURES, seed=0)
    with pytest.raises(ValueError, match="y\\['purchase'\\]"):
        model.fit(x, {"click": y["click"], "purchase": y["purchase"][:-3]})
    with pytest.raises(ValueError, match="lacks labels"):
        model.fit(x, {"click": y["click"]})
    with pytest.raises(ValueError, match="lacks the input"):
        model.fit({"user": x["user"]}, y)
    with pytest.raises(ValueError, match="loss_weights"):
        model.set_loss_weights({"click": -2})
    with pytest.raises(ValueError, match="unknown task"):
        model.set_loss_weights({"dwell": 1})
    with pytest.raises(TypeError, match="set_beta"):
        model.set_beta(0.1)
    soft = build_soft_sharing(TASKS, FEATURES, seed=0)
    with pytest.raises(ValueError, match="beta"):
        soft.set_beta(-1)


def test_seed_multitaskmodel_runs_as_written():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 8)).astype("float32")
    y1, y2 = x[:, 0], x[:, 1] * 2.0
    model = MultiTaskModel(num_tasks=2)
    model.compile(loss="mse", optimizer="adam", metrics=["mae"])
    history = model.fit(x, [y1, y2], epochs=2, verbose=0)
    assert "loss" in history.history
    assert any(k.endswith("mae") for k in history.history)
    assert len(model.predict(x, verbose=0)) == 2
    assert isinstance(model, keras.Model)
