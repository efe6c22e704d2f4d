"""OMoE: ``build_mmoe(..., one_gate=True)``, one softmax gate that every task reads."""

import mtl_kit  # noqa: F401

# isort: split
import keras
import numpy as np
import pytest
from conftest_models import FEATURES, tiny_shop

from mtl_kit.models import MMoENet, build_mmoe
from mtl_kit.tasks import shop_tasks

TASKS = shop_tasks(("click", "intent", "dwell"))
SIZES = {"n_experts": 3, "expert_units": (6,), "tower": (4,), "embedding_dim": 4, "seed": 0}


def test_one_gate_gives_every_task_the_same_mixture():
    omoe = build_mmoe(TASKS, FEATURES, one_gate=True, **SIZES)
    mmoe = build_mmoe(TASKS, FEATURES, **SIZES)
    assert len(omoe.gates) == 1 and len(mmoe.gates) == 3
    gate_size = int(np.prod(omoe.gates[0].kernel.shape)) + int(np.prod(omoe.gates[0].bias.shape))
    assert mmoe.count_params() - omoe.count_params() == 2 * gate_size
    x, _ = tiny_shop(32)
    gates = omoe.gate_weights(x)
    np.testing.assert_allclose(gates["click"], gates["dwell"])
    np.testing.assert_allclose(gates["click"].sum(axis=1), 1.0, rtol=1e-5)
    different = mmoe.gate_weights(x)
    assert not np.allclose(different["click"], different["dwell"])


def test_the_one_gate_is_shared_and_learns_from_every_task():
    omoe = build_mmoe(TASKS, FEATURES, one_gate=True, **SIZES)
    gate = {id(v) for v in omoe.gates[0].trainable_variables}
    assert gate <= {id(v) for v in omoe.shared_variables}
    for task in omoe.task_names:
        assert not gate & {id(v) for v in omoe.task_variables(task)}
    x, y = tiny_shop(256)
    y = {t.name: y[t.name] for t in TASKS}
    before = [np.array(keras.ops.convert_to_numpy(v.value)) for v in omoe.gates[0].weights]
    for weights in ({"click": 1.0, "intent": 0.0, "dwell": 0.0},
                    {"click": 0.0, "intent": 0.0, "dwell": 1.0}):
        omoe.reset()
        omoe.set_loss_weights(weights)
        omoe.fit(x, y, epochs=1, batch_size=64)
        after = [np.array(keras.ops.convert_to_numpy(v.value)) for v in omoe.gates[0].weights]
        assert any(not np.allclose(a, b) for a, b in zip(after, before, strict=True)), weights


def test_omoe_round_trips_through_its_config_and_reseeds():
    omoe = build_mmoe(TASKS, FEATURES, one_gate=True, **SIZES)
    copy = MMoENet.from_config(omoe.get_config())
    assert copy.one_gate and len(copy.gates) == 1
    assert [v.shape for v in copy.trainable_variables] == \
        [v.shape for v in omoe.trainable_variables]
    omoe.reseed(3)  # the seed's weights come from a copy built from the config
    assert omoe.seed == 3


def test_one_gate_must_be_a_bool():
    with pytest.raises(TypeError, match="one_gate must be True or False"):
        build_mmoe(TASKS, FEATURES, one_gate="yes", **SIZES)
