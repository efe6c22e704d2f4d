"""Training plumbing: input checks, the initial-state store, baselines and Δm end to end."""

import mtl_kit  # noqa: F401

# isort: split
import keras
import numpy as np
import pytest
from conftest_models import FEATURES, tiny_shop

from mtl_kit import inputs, training
from mtl_kit.baselines import train_single_task_baselines
from mtl_kit.metrics import compare_to_single_task
from mtl_kit.models import build_hard_sharing
from mtl_kit.models.layers import as_feature_config
from mtl_kit.tasks import shop_tasks


def test_steps_per_execution_per_backend():
    expected = 1 if keras.backend.backend() in ("torch", "numpy") else 16
    assert training.default_steps_per_execution() == expected


def test_prepare_inputs_casts_and_checks():
    x, y = tiny_shop(50)
    features = as_feature_config(FEATURES)
    x64 = dict(x, user=x["user"].astype("int64"), numeric=x["numeric"].astype("float64"),
               extra=np.zeros(50))
    prepared, n = inputs.prepare_inputs(features, x64)
    assert n == 50 and set(prepared) == {"categorical_ids", "numeric"}
    assert prepared["categorical_ids"].dtype == np.int32
    np.testing.assert_array_equal(prepared["categorical_ids"][:, 0], x["user"])
    assert prepared["numeric"].dtype == np.float32
    with pytest.raises(ValueError, match="numeric"):
        inputs.prepare_inputs(features, dict(x, numeric=x["numeric"][:, :2]))
    with pytest.raises(ValueError, match="rows"):
        inputs.prepare_inputs(features, dict(x, item=x["item"][:10]))
    with pytest.raises(TypeError, match="dict"):
        inputs.prepare_inputs(features, x["numeric"])
    tasks = shop_tasks(("click", "intent"))
    labels = inputs.prepare_labels(tasks, [y["click"], y["intent"]], 50)
    assert set(labels) == {"click", "intent"}
    with pytest.raises(ValueError, match="class ids"):
        inputs.prepare_labels(tasks, {"click": y["click"], "intent": y["intent"] + 5}, 50)
    with pytest.raises(ValueError, match="one label array per task"):
        inputs.prepare_labels(tasks, [y["click"]], 50)


@pytest.mark.slow
def test_baselines_and_delta_m_end_to_end():
    x, y = tiny_shop(600, seed=4)
    tasks = shop_tasks(("click", "dwell"))
    baselines = train_single_task_baselines(tasks, FEATURES, x, y, epochs=2, hidden=(16,))
    assert set(baselines) == {"click", "dwell"}
    model = build_hard_sharing(tasks, FEATURES, shared=(16,), seed=0)
    model.fit(x, y, epochs=2)
    table, delta = compare_to_single_task(model, baselines, x, y)
    assert {"value_mtl", "value_single"} <= set(table.columns)
    assert np.isfinite(delta)
    with pytest.raises(ValueError, match="epochs"):
        train_single_task_baselines(tasks, FEATURES, x, y, epochs=0)
