"""mtl_kit.transfer: pre-train on the source tasks, fine-tune on the target, the model left as it
was; freezing keeps the shared parameters (and a source task's predictions) exactly."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from conftest_models import FEATURES, tiny_shop

from mtl_kit.models import build_hard_sharing, build_soft_sharing
from mtl_kit.transfer import (
    best_epochs,
    best_validation_loss,
    fine_tune,
    only_tasks,
    pretrain,
)

TASKS = ("click", "purchase")
SEEDS = (0, 1)


def _values(variables) -> list[np.ndarray]:
    return [np.array(keras.ops.convert_to_numpy(v.value)) for v in variables]


@pytest.fixture(scope="module")
def shop():
    return tiny_shop(512, seed=2), tiny_shop(256, seed=3)


@pytest.fixture(scope="module")
def model():
    return build_hard_sharing(TASKS, FEATURES, shared=(8,), head=(4,), seed=0,
                              learning_rate=0.01)


@pytest.fixture(scope="module")
def pretrained(model, shop):
    (x, y), _ = shop
    return pretrain(model, SEEDS, x, y, source="click", epochs=2, batch_size=128)


def test_only_tasks_switches_the_other_tasks_off(model):
    model.set_loss_weights({"click": 0.5})
    try:
        assert only_tasks(model, ["click"]) == {"click": 0.5, "purchase": 0.0}
    finally:
        model.set_loss_weights({"click": 1.0})


def test_pretraining_leaves_the_target_head_untouched_and_restores_lambda(model, pretrained):
    head = {id(v) for v in model.task_variables("purchase")}
    start = {s: dict(zip(map(id, model.trainable_variables), w, strict=True))
             for s, w in ((s, model.seed_weights(s)) for s in SEEDS)}
    for seed in SEEDS:
        final = dict(zip(map(id, model.trainable_variables), pretrained.final_weights(seed),
                         strict=True))
        moved = [not np.allclose(final[k], start[seed][k]) for k in final]
        untouched = [np.array_equal(final[k], start[seed][k]) for k in head]
        assert all(untouched), seed                 # λ_purchase = 0: its head never moved
        assert sum(moved) > len(head), seed         # the source's parameters did move
    assert model.loss_weights == {"click": 1.0, "purchase": 1.0}


@pytest.mark.parametrize("freeze", [False, True])
def test_fine_tuning_starts_from_pretraining_and_leaves_the_model_as_it_was(
        model, shop, pretrained, freeze):
    (x, y), val = shop
    before = _values(model.trainable_variables)
    optimizer, names = model.optimizer, [v.path for v in model.trainable_variables]
    runs = fine_tune(model, pretrained, x, y, target="purchase", epochs=3, batch_size=128,
                     learning_rate=0.001, freeze_shared=freeze, validation_data=val,
                     patience=1)
    assert runs.seeds == SEEDS and runs.method == "sequential"
    shared = {id(v) for v in model.shared_variables}
    click_head = {id(v) for v in model.task_variables("click")}
    purchase_head = {id(v) for v in model.task_variables("purchase")}
    for seed in SEEDS:
        start = dict(zip(map(id, model.trainable_variables), pretrained.final_weights(seed),
                         strict=True))
        final = dict(zip(map(id, model.trainable_variables), runs.final_weights(seed),
                         strict=True))
        assert all(np.array_equal(final[k], start[k]) for k in click_head)  # λ_click = 0
        assert any(not np.allclose(final[k], start[k]) for k in purchase_head)
        kept = [np.array_equal(final[k], start[k]) for k in shared]
        assert all(kept) if freeze else not all(kept), seed
        assert 1 <= min(best_epochs(runs, "purchase")) <= 3
    with pytest.raises(ValueError, match="task must be one of"):
        best_epochs(runs, "purchases")
    # the model as it was: weights, λ, optimiser and its learning rate, trainable parameters
    assert all(np.array_equal(a, b) for a, b in
               zip(before, _values(model.trainable_variables), strict=True))
    assert model.optimizer is optimizer
    assert float(keras.ops.convert_to_numpy(optimizer.learning_rate)) == pytest.approx(0.01)
    assert [v.path for v in model.trainable_variables] == names
    assert model.loss_weights == {"click": 1.0, "purchase": 1.0}
    assert np.isfinite(best_validation_loss(runs, "purchase"))


def test_frozen_fine_tuning_keeps_the_source_predictions(model, shop, pretrained):
    (x, y), (x_val, _) = shop
    runs = fine_tune(model, pretrained, x, y, target="purchase", epochs=2, batch_size=128,
                     learning_rate=0.01, freeze_shared=True)
    before, after = pretrained.predict(x_val), runs.predict(x_val)
    for seed in SEEDS:
        np.testing.assert_allclose(after[seed]["click"], before[seed]["click"], atol=1e-6)
        assert not np.allclose(after[seed]["purchase"], before[seed]["purchase"])


def test_the_model_still_trains_after_a_frozen_fine_tune(model, shop, pretrained):
    (x, y), _ = shop
    fine_tune(model, pretrained, x, y, target="purchase", epochs=1, batch_size=128,
              learning_rate=0.01, freeze_shared=True)
    start = _values(model.shared_variables)
    model.fit(x, y, epochs=1, batch_size=128)
    assert all(not np.allclose(a, b) for a, b in
               zip(start, _values(model.shared_variables), strict=True))
    model.reset()


def test_bad_arguments_are_named_before_any_training(model, shop, pretrained):
    (x, y), _ = shop
    ok = {"target": "purchase", "epochs": 1, "learning_rate": 0.001}
    with pytest.raises(ValueError, match="source must be one of"):
        pretrain(model, SEEDS, x, y, source="clicks", epochs=1)
    with pytest.raises(ValueError, match="must leave at least one"):
        pretrain(model, SEEDS, x, y, source=TASKS, epochs=1)
    with pytest.raises(ValueError, match="target must name at least one"):
        fine_tune(model, pretrained, x, y, **{**ok, "target": []})
    with pytest.raises(ValueError, match="learning_rate must be a finite number > 0"):
        fine_tune(model, pretrained, x, y, **{**ok, "learning_rate": 0})
    with pytest.raises(TypeError, match="freeze_shared must be True or False"):
        fine_tune(model, pretrained, x, y, **ok, freeze_shared="yes")
    with pytest.raises(ValueError, match="patience needs validation_data"):
        fine_tune(model, pretrained, x, y, **ok, patience=2)
    with pytest.raises(TypeError, match="start must be the SeedRuns"):
        fine_tune(model, {0: []}, x, y, **ok)
    other = build_hard_sharing(TASKS, FEATURES, shared=(8,), head=(4,), seed=0)
    with pytest.raises(ValueError, match="start must come from this model"):
        fine_tune(other, pretrained, x, y, **ok)
    with pytest.raises(TypeError, match="fixed loss weights"):
        pretrain(build_hard_sharing(TASKS, FEATURES, shared=(8,), head=(4,),
                                    weighting="uncertainty"), SEEDS, x, y, source="click",
                 epochs=1)
    with pytest.raises(ValueError, match="no validation losses"):
        best_validation_loss(pretrained, "purchase")  # trained without validation data
    with pytest.raises(TypeError, match="runs must be a SeedRuns"):
        best_epochs({0: {}}, "purchase")


def test_freezing_needs_shared_parameters(shop):
    (x, y), _ = shop
    soft = build_soft_sharing(TASKS, FEATURES, tower=(8,), head=(4,), seed=0)
    runs = pretrain(soft, (0,), x, y, source="click", epochs=1, batch_size=256)
    with pytest.raises(ValueError, match="shares none"):
        fine_tune(soft, runs, x, y, target="purchase", epochs=1, learning_rate=0.001,
                  freeze_shared=True)
