"""The explorers' logic without widgets: settings -> K seeds -> validation evidence.

Small course data (8,000 impressions) and 2 epochs keep these fast; the claim the explorers
must agree with at their defaults (hard sharing helps purchase on validation) is checked on the
course's full data in the slow test at the end.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import mtl_kit  # noqa: F401  (selects the backend before keras)
from mtl_kit import explorer as explorer_module
from mtl_kit.course import course_data
from mtl_kit.experiments import SINGLE_TASK, TrainingPlan, single_task_runs
from mtl_kit.explorer import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_EPOCHS,
    DEFAULT_SEEDS,
    THIS_RUN,
    ExplorerLogic,
    feature_sharing_logic,
    fit_k_seeds,
    hard_sharing_logic,
    history_bands,
    soft_sharing_logic,
)
from mtl_kit.intervals import metric_interval
from mtl_kit.models import build_hard_sharing, build_soft_sharing
from mtl_kit.tasks import shop_tasks

TASKS = ("click", "purchase")
EPOCHS = 2
SEEDS = 3


@pytest.fixture(scope="module")
def data():
    return course_data(TASKS, n_impressions=8000, n_users=1500)


@pytest.fixture(scope="module")
def hard(data):
    return build_hard_sharing(shop_tasks(TASKS), data.features, shared=(32, 16), seed=0)


@pytest.fixture(scope="module")
def soft(data):
    return build_soft_sharing(shop_tasks(TASKS), data.features, tower=(16,), beta=1e-3, seed=0)


@pytest.fixture(scope="module")
def logic(hard, data):
    return hard_sharing_logic(hard, data, seeds=SEEDS, epochs=EPOCHS, batch_size=256)


@pytest.fixture(scope="module")
def two_runs(logic):
    first = logic.train(logic.settings({"click": 1.0, "purchase": 1.0}))
    second = logic.train(logic.settings({"click": 1.0, "purchase": 0.25}))
    return first, second


def test_defaults() -> None:
    assert DEFAULT_SEEDS == 5
    assert DEFAULT_EPOCHS >= 1 and DEFAULT_BATCH_SIZE >= 1


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"seeds": 0}, ValueError, "seeds must be an int K >= 1"),
        ({"seeds": True}, TypeError, "seeds must be an int K >= 1"),
        ({"seeds": 2.5}, TypeError, "seeds must be an int K >= 1"),
        ({"seeds": [0, 0]}, ValueError, "seeds must be distinct"),
        ({"epochs": True}, TypeError, "epochs must be an int >= 1"),
        ({"epochs": 0}, ValueError, "epochs must be an int >= 1"),
        ({"epochs": 2.0}, TypeError, "epochs must be an int >= 1"),
        ({"batch_size": 0}, ValueError, "batch_size must be an int >= 1"),
        ({"lambda_max": -1}, ValueError, "lambda_max must be a finite number > 0"),
        ({"lambda_max": math.inf}, ValueError, "lambda_max"),
    ],
)
def test_bad_arguments_are_refused_before_any_training(hard, data, monkeypatch, kwargs, error,
                                                      match) -> None:
    monkeypatch.setattr(hard, "fit", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(error, match=match):
        hard_sharing_logic(hard, data, **kwargs)


def test_bad_data_models_and_choices_are_refused(hard, soft, data) -> None:
    with pytest.raises(TypeError, match="data must be a CourseData"):
        hard_sharing_logic(hard, data.train)
    with pytest.raises(TypeError, match="model must be a compiled mtl_kit MultiTaskNet"):
        hard_sharing_logic(object(), data)
    with pytest.raises(TypeError, match="soft-sharing model"):
        soft_sharing_logic(hard, data)
    with pytest.raises(ValueError, match="betas must be increasing"):
        soft_sharing_logic(soft, data, betas=(1.0, 0.1))
    with pytest.raises(ValueError, match=r"architectures must be a non-empty list out of "
                                         r"\['hard', 'cross-stitch', 'MMoE', 'PLE'\]"):
        feature_sharing_logic(data, architectures=("MoE",))
    with pytest.raises(ValueError, match="build_kwargs keys"):
        feature_sharing_logic(data, build_kwargs={"moe": {}})
    with pytest.raises(ValueError, match="no labels for the model's tasks"):
        hard_sharing_logic(hard, course_data(("click",), n_impressions=8000, n_users=1500))
    with pytest.raises(ValueError, match="kind must be one of"):
        ExplorerLogic("deep", data, seeds=1, epochs=1, batch_size=1, model=hard)


def test_settings_are_checked(logic, soft, data) -> None:
    with pytest.raises(ValueError, match="λ for click must be between 0 and 2"):
        logic.settings({"click": -1.0})
    with pytest.raises(ValueError, match="λ for click"):
        logic.settings({"click": float("nan")})
    with pytest.raises(TypeError, match="λ for click must be a number"):
        logic.settings({"click": "high"})
    with pytest.raises(ValueError, match="unknown task 'checkout'"):
        logic.settings({"checkout": 1.0})
    with pytest.raises(ValueError, match="every λ is 0"):
        logic.settings({"click": 0.0, "purchase": 0.0})
    with pytest.raises(TypeError, match="no β"):
        logic.settings({"click": 1.0}, beta=0.1)
    with pytest.raises(TypeError, match="no architecture choice"):
        logic.settings({"click": 1.0}, architecture="MMoE")
    soft_logic = soft_sharing_logic(soft, data, seeds=1, epochs=1)
    with pytest.raises(ValueError, match=r"beta must be one of the slider's values 0, 0\.0001"):
        soft_logic.settings({"click": 1.0}, beta=0.5)
    assert soft_logic.settings({"click": 1.0}).beta == pytest.approx(1e-3)
    feature = feature_sharing_logic(data, architectures=("hard", "MMoE"), seeds=1, epochs=1)
    with pytest.raises(ValueError, match=r"architecture must be one of \['hard', 'MMoE'\]"):
        feature.settings({"click": 1.0}, architecture="PLE")
    assert feature.settings({"click": 1.0}).architecture == "hard"
    assert feature.models == {}  # nothing built by checking settings


def test_each_seed_starts_from_its_own_weights(two_runs) -> None:
    first, _ = two_runs
    assert len(first.histories) == len(first.predictions) == SEEDS
    curves = [tuple(h["val_click_loss"]) for h in first.histories]
    assert len(set(curves)) == SEEDS  # three seeds, three different runs
    assert all(len(c) == EPOCHS for c in curves)
    assert not first.diverged
    # the band spans the seeds and holds the mean
    mean, low, high = first.curves()["val_click_loss"]
    for m, lo, hi, values in zip(mean, low, high, zip(*curves, strict=True), strict=True):
        assert lo == pytest.approx(min(values)) and hi == pytest.approx(max(values))
        assert lo <= m <= hi


def test_same_settings_give_the_same_runs(logic, two_runs) -> None:
    first, _ = two_runs
    again = logic.train(logic.settings({"click": 1.0, "purchase": 1.0}))
    for a, b in zip(first.histories, again.histories, strict=True):
        assert a["val_click_loss"] == pytest.approx(b["val_click_loss"], rel=1e-4)


def test_the_table_is_the_lessons_scoring_path(logic, data, two_runs) -> None:
    first, second = two_runs
    table = logic.table(second, first)
    assert list(table.index) == list(TASKS)
    assert set(table["verdict"]) <= {"better", "worse", "no difference we can detect"}
    for task in TASKS:
        spec = next(t for t in logic.tasks if t.name == task)
        this = metric_interval(spec.kind, "auc", data.y_val[task],
                               [p[task] for p in second.predictions], data.users("val"))
        assert table.loc[task, "mean"] == pytest.approx(this.mean)
        assert table.loc[task, "low"] == pytest.approx(this.low)
        reference = [run.predictions["val"][task]
                     for run in single_task_runs(spec, data, logic.seeds, TrainingPlan())]
        diff = metric_interval(spec.kind, "auc", data.y_val[task],
                               [p[task] for p in second.predictions], data.users("val"),
                               reference=reference)
        assert table.loc[task, "vs single-task"] == pytest.approx(diff.mean)
        assert table.loc[task, "vs single-task high"] == pytest.approx(diff.high)
        before = metric_interval(spec.kind, "auc", data.y_val[task],
                                 [p[task] for p in second.predictions], data.users("val"),
                                 reference=[p[task] for p in first.predictions])
        assert table.loc[task, "vs previous"] == pytest.approx(before.mean)
        assert table.loc[task, "vs previous verdict"] != ""
    comparison = logic.comparison(second)
    assert set(comparison.models) == {SINGLE_TASK, THIS_RUN}
    assert comparison.split == "val"
    same = comparison.paired().set_index("task")  # what a lesson prints
    assert table["vs single-task low"].to_dict() == pytest.approx(same["low"].to_dict())
    assert table["verdict"].to_dict() == same["verdict"].to_dict()
    assert math.isnan(logic.table(second)["vs previous"].iloc[0])


def test_soft_and_feature_logic_train(soft, data) -> None:
    soft_logic = soft_sharing_logic(soft, data, seeds=2, epochs=1, batch_size=256)
    run = soft_logic.train(soft_logic.settings({"click": 1.0, "purchase": 1.0}, beta=1.0))
    assert soft.beta == 1.0
    assert "tower_distance" in run.histories[0]
    feature = feature_sharing_logic(data, architectures=("hard", "MMoE"), seeds=2, epochs=1,
                                    build_kwargs={"MMoE": {"n_experts": 2}})
    run = feature.train(feature.settings({"click": 1.0, "purchase": 1.0},
                                         architecture="MMoE"))
    assert list(feature.models) == ["MMoE"]
    assert type(feature.models["MMoE"]).__name__ == "MMoENet"
    assert len(run.predictions) == 2


def test_the_sequential_fallback_reports_every_seed(hard, data, monkeypatch) -> None:
    monkeypatch.setattr(explorer_module, "_seeds_at_once", lambda: False)
    seen = []
    _, predict = fit_k_seeds(
        hard, (0, 1), data.x_train, data.y_train, epochs=1, batch_size=512,
        validation_data=(data.x_val, data.y_val), on_seed=lambda h: seen.append(len(h)))
    assert seen == [1, 2]
    predictions = predict(data.x_val)
    assert len(predictions) == 2
    assert not np.allclose(predictions[0]["click"], predictions[1]["click"])


def test_history_bands_skip_non_finite_epochs() -> None:
    bands = history_bands([{"loss": [1.0, math.nan]}, {"loss": [3.0, 2.0]}])
    mean, low, high = bands["loss"]
    assert mean[0] == 2.0 and low[0] == 1.0 and high[0] == 3.0
    assert math.isnan(mean[1])


def test_a_diverging_run_is_reported(data) -> None:
    model = build_hard_sharing(shop_tasks(TASKS), data.features, shared=(16,), seed=0,
                               learning_rate=1e12)
    logic = hard_sharing_logic(model, data, seeds=2, epochs=2)
    run = logic.train(logic.settings({"click": 1.0, "purchase": 1.0}))
    assert run.diverged
    assert run.diverged_at() is not None


@pytest.mark.slow
def test_at_the_defaults_hard_sharing_helps_purchase_on_validation() -> None:
    """The lesson's claim, as a learner meets it in the explorer: at the default λ = 1,
    5 seeds, the default epochs and batch size, purchase beats single-task (interval > 0)."""
    full = course_data(TASKS)
    model = build_hard_sharing(shop_tasks(TASKS), full.features, seed=0)
    logic = hard_sharing_logic(model, full)
    run = logic.train(logic.settings(logic.initial_lambdas))
    table = logic.table(run)
    assert table.loc["purchase", "vs single-task low"] > 0, table
    assert table.loc["purchase", "verdict"] == "better"


# --------------------------------------------------------------------------------------------
# The strategy explorer's logic (lesson 8)
# --------------------------------------------------------------------------------------------
STRATEGY_TASKS = ("click", "dwell")


@pytest.fixture(scope="module")
def strategy_data():
    return course_data(STRATEGY_TASKS, n_impressions=8000, n_users=1500)


@pytest.fixture(scope="module")
def strategy(strategy_data):
    from mtl_kit.explorer import strategy_logic

    return strategy_logic(strategy_data, seeds=2, epochs=2, batch_size=256)


def test_strategy_logic_checks_its_settings_before_training(strategy, strategy_data):
    from mtl_kit.balancing import StrategyLab
    from mtl_kit.explorer import StrategyLogic, strategy_logic

    assert strategy.knob("cagrad").symbol == "c" and strategy.knob("pcgrad") is None
    assert strategy.settings("cagrad", 0.8).knob_value == 0.8
    assert strategy.settings("fixed").knob_value == 1.0
    with pytest.raises(ValueError, match="strategy must be one of"):
        strategy.settings("pcgrd")
    with pytest.raises(ValueError, match="mgda has no hyperparameter"):
        strategy.settings("mgda", 0.5)
    with pytest.raises(ValueError, match="cagrad c must be a finite number >= 0"):
        strategy.settings("cagrad", -1)
    with pytest.raises(ValueError, match="distinct names out of"):
        strategy_logic(strategy_data, strategies=["fixed", "nope"])
    with pytest.raises(TypeError, match="non-empty list"):
        strategy_logic(strategy_data, strategies="fixed")
    with pytest.raises(TypeError, match=r"lab must be a mtl_kit\.balancing\.StrategyLab"):
        StrategyLogic(strategy_data, lab=object())
    lab = StrategyLab(strategy_data, seeds=2, epochs=2)
    with pytest.raises(ValueError, match="data must be the lab's data"):
        StrategyLogic(course_data(STRATEGY_TASKS, n_impressions=4000, n_users=800), lab=lab)
    with pytest.raises(ValueError, match="are the lab's"):
        StrategyLogic(strategy_data, lab=lab, epochs=3)
    with pytest.raises(TypeError, match="data must be a CourseData"):
        strategy_logic({"x": 1})


def test_strategy_logic_trains_with_diagnostics_and_scores_against_two_references(strategy):
    from mtl_kit.explorer import FIXED_REFERENCE

    assert not strategy.has_reference
    run = strategy.train(strategy.settings("uncertainty"))  # loss-level, yet gradients logged
    history = run.histories[0]
    assert {"grad_cosine_click_dwell", "click_weight", "val_click_loss"} <= set(history)
    table = strategy.table(run)
    assert strategy.has_reference
    reference = strategy.reference_run()
    assert strategy.reference_run() is reference  # trained once
    assert reference.setting.lambdas == (("click", 1.0), ("dwell", 1.0))
    assert list(table.index) == ["click", "dwell", "Δm"]
    assert table.loc["click", "metric"] == "auc" and table.loc["dwell", "metric"] == "rmse"
    for key in ("single-task", "fixed λ"):
        row = table.loc["click"]
        assert row[f"vs {key} low"] <= row[f"vs {key}"] <= row[f"vs {key} high"]
        assert row[f"vs {key} verdict"] in ("better", "worse", "no difference we can detect")
    scored = strategy.comparison(run)
    assert scored.difference(THIS_RUN, "dwell", reference=FIXED_REFERENCE).mean == \
        pytest.approx(table.loc["dwell", "vs fixed λ"])
    assert scored.delta_m(THIS_RUN).mean == pytest.approx(table.loc["Δm", "vs single-task"])
    # the reference against itself: no difference at all
    same = strategy.table(reference)
    assert same.loc["click", "vs fixed λ"] == pytest.approx(0.0, abs=1e-12)
