"""The sealed sweep (train once, choose on validation, open test for the chosen) and the spread
of seeds."""

import mtl_kit  # noqa: F401

# isort: split
import numpy as np
import pytest
from conftest_comparisons import fake_comparison

from mtl_kit.experiments import TrainingPlan
from mtl_kit.selection import seed_spread, sweep


def test_seed_spread_names_the_best_and_worst_seed():
    comparison = fake_comparison({"model": 0.0}, split="test", seeds=5)
    spread = seed_spread(comparison, "model", "purchase")
    values, _ = comparison.influences("model", "purchase", "auc")
    assert spread.values == pytest.approx(dict(enumerate(values)))
    assert spread.best == pytest.approx(values.max())
    assert spread.values[spread.worst_seed] == pytest.approx(values.min())
    assert spread.optimism == pytest.approx(values.max() - values.mean())
    assert spread.best_minus_worst.mean == pytest.approx(values.max() - values.min())
    assert spread.best_minus_worst.n_seeds == 1


def test_sweep_checks_its_arguments_before_training():
    with pytest.raises(TypeError, match="non-empty dict"):
        sweep({}, data=None)
    with pytest.raises(ValueError, match="built-in reference"):
        sweep({"single-task": lambda seed: None}, data=None)
    with pytest.raises(ValueError, match="reference must be"):
        sweep({"a": lambda seed: None}, data=None, reference="b")
    with pytest.raises(TypeError, match="plan must be a TrainingPlan"):
        sweep({"a": lambda seed: None}, data=None, plan={"max_epochs": 1})
    with pytest.raises(ValueError, match="seeds must be"):
        sweep({"a": lambda seed: None}, data=None, seeds=0)


@pytest.mark.slow
def test_sweep_trains_once_and_opens_only_what_is_named(monkeypatch):
    monkeypatch.setenv("MTL_KIT_CACHE", "off")
    from mtl_kit.course import course_data
    from mtl_kit.experiments import compare
    from mtl_kit.models import build_hard_sharing

    data = course_data(("click", "purchase"), n_users=600, n_impressions=12_000)
    model = build_hard_sharing(("click", "purchase"), data.features, shared=(16,), head=(8,),
                               seed=0)

    def weight(lam):
        def builder(seed):
            model.set_loss_weights({"click": 1.0, "purchase": lam})
            return model
        return builder

    plan = TrainingPlan(max_epochs=2, patience=1)
    runs = sweep({"λ=1": weight(1.0), "λ=4": weight(4.0)}, data, seeds=2, plan=plan)
    assert runs.val.split == "val" and runs.val.models == ["single-task", "λ=1", "λ=4"]
    assert runs.opened == []
    test = runs.test("λ=4")
    assert test.split == "test" and test.models == ["single-task", "λ=4"]
    assert runs.opened == ["λ=4"]
    with pytest.raises(ValueError, match="among the candidates"):
        runs.test("λ=2")
    # the same numbers compare(split="test") gives, without training again
    again = compare({"λ=4": weight(4.0)}, data, seeds=2, split="test", plan=plan)
    for task in ("click", "purchase"):
        np.testing.assert_allclose(test.predictions("λ=4", task)[1],
                                   again.predictions("λ=4", task)[1], atol=1e-5)
