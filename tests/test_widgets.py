"""Kernel-level tests of the explorers: set sliders, press Train, check the plot and table.

Small data (3,000 impressions, 3 epochs) keeps them fast. They run under ipywidgets 8 and
under Colab's ipywidgets 7.7.1 alike.
"""

from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
import pandas as pd
import pytest

import mtl_kit  # noqa: F401  (tests/conftest.py imports it before keras, too)
from mtl_kit.data import make_shop
from mtl_kit.models import build_hard_sharing, build_soft_sharing
from mtl_kit.plots import PREVIOUS_RUN_ALPHA
from mtl_kit.tasks import shop_tasks
from mtl_kit.widgets import (
    DEFAULT_BETAS,
    Explorer,
    feature_sharing_explorer,
    hard_sharing_explorer,
    soft_sharing_explorer,
)

TASKS = ("click", "purchase")
BASELINES = {"click": 0.6, "purchase": 0.7}
EPOCHS = 3


@pytest.fixture(scope="module")
def shop():
    return make_shop(n_users=300, n_impressions=3000, seed=0)


@pytest.fixture(scope="module")
def parts(shop):
    return shop.split()


@pytest.fixture(scope="module")
def hard_model(shop):
    return build_hard_sharing(shop_tasks(TASKS), shop.features, shared=(32, 16), seed=0)


@pytest.fixture(scope="module")
def soft_model(shop):
    return build_soft_sharing(shop_tasks(TASKS), shop.features, tower=(32, 16), beta=1e-3, seed=0)


def snapshot(explorer: Explorer) -> dict:
    """The data of every line of the explorer's loss figure."""
    return explorer.plot.loss_figure.line_data()


def test_displaying_an_explorer_trains_nothing(hard_model, parts, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(hard_model, "retrain", lambda *a, **k: calls.append(1))
    explorer = hard_sharing_explorer(hard_model, *parts, epochs=EPOCHS, baselines=BASELINES)
    assert isinstance(explorer.widget, widgets.VBox)
    explorer._ipython_display_()  # what a notebook does with the cell's last expression
    assert calls == []
    assert explorer.table is None
    assert "press <b>Train</b>" in explorer.status.value
    assert bytes(explorer.image.value).startswith(b"\x89PNG")  # a placeholder, not empty
    sliders = [explorer.sliders[t] for t in TASKS]
    assert all(isinstance(s, widgets.FloatSlider) for s in sliders)
    assert all(s.continuous_update is False for s in sliders)
    assert all(s.min == 0.0 and s.max == 2.0 for s in sliders)


def test_hard_explorer_moves_the_curves_and_the_table(hard_model, parts) -> None:
    explorer = hard_sharing_explorer(hard_model, *parts, epochs=EPOCHS, baselines=BASELINES)
    explorer.sliders["click"].value = 1.0
    explorer.sliders["purchase"].value = 1.0
    first_table = explorer.run()
    assert first_table is not None
    first = snapshot(explorer)
    assert len(first[("click", "train", "current")][1]) == EPOCHS
    assert first_table.loc["click", "single-task"] == BASELINES["click"]
    assert math.isnan(first_table.loc["click", "previous run"])

    explorer.sliders["purchase"].value = 0.0  # as a learner drags the slider
    explorer.train_button.click()  # as a learner presses Train
    second = snapshot(explorer)
    table = explorer.table
    # the purchase curve moved (its λ is 0 now) and the first run is the faint one
    assert second[("purchase", "train", "current")] != first[("purchase", "train", "current")]
    assert second[("purchase", "train", "previous")] == first[("purchase", "train", "current")]
    assert hard_model.loss_weights == pytest.approx({"click": 1.0, "purchase": 0.0})
    assert table.loc["purchase", "previous run"] == first_table.loc["purchase", "this run"]
    assert table.loc["purchase", "this run"] != first_table.loc["purchase", "this run"]
    assert list(table.columns) == [
        "metric", "this run", "previous run", "single-task", "vs single-task (%)"
    ]
    assert "λ purchase=0" in explorer.plot.loss_figure.title
    assert "purchase" in explorer.table_html.value
    assert "Trained" in explorer.status.value
    faint = explorer.plot.loss_figure._lines[("click", "train", "previous")]
    assert faint.get_alpha() == PREVIOUS_RUN_ALPHA


def test_same_settings_give_the_same_run(hard_model, parts) -> None:
    """retrain starts from the same weights: equal λ, equal curves (no rebuild)."""
    explorer = hard_sharing_explorer(hard_model, *parts, epochs=EPOCHS, baselines=None)
    explorer.run(lambdas={"click": 1.0, "purchase": 0.5})
    first = snapshot(explorer)[("click", "train", "current")][1]
    explorer.run()
    again = snapshot(explorer)[("click", "train", "current")][1]
    assert again == pytest.approx(first, rel=1e-4)


def test_soft_explorer_beta_slider_changes_the_tower_distance(soft_model, parts) -> None:
    explorer = soft_sharing_explorer(soft_model, *parts, epochs=EPOCHS, baselines=BASELINES)
    beta = explorer.sliders["beta"]
    assert isinstance(beta, widgets.SelectionSlider)
    assert beta.continuous_update is False
    assert [value for _, value in beta.options] == list(DEFAULT_BETAS)
    assert DEFAULT_BETAS[0] == 0.0
    beta.value = 0.0
    assert explorer.run() is not None
    independent = snapshot(explorer)[("tower_distance", "train", "current")][1]
    beta.value = 1.0
    explorer.train_button.click()
    tied = snapshot(explorer)[("tower_distance", "train", "current")][1]
    assert soft_model.beta == 1.0
    assert tied[-1] < independent[-1]  # a strong β pulls the towers together
    assert len(explorer.last_figure.axes) == 3
    assert "β=1" in explorer.plot.loss_figure.title


def test_bad_values_end_in_a_message_not_a_traceback(hard_model, soft_model, parts) -> None:
    explorer = hard_sharing_explorer(hard_model, *parts, epochs=EPOCHS, baselines=None)
    assert explorer.run(lambdas={"click": -1.0}) is None
    assert "λ for click must be between 0 and 2" in explorer.status.value
    assert explorer.run(lambdas={"click": float("nan")}) is None
    assert "λ for click" in explorer.status.value
    assert explorer.run(lambdas={"checkout": 1.0}) is None
    assert "unknown task 'checkout'" in explorer.status.value
    assert explorer.run(lambdas={"click": 0.0, "purchase": 0.0}) is None
    assert "every λ is 0" in explorer.status.value
    # a slider typed out of range is clamped by the slider itself
    explorer.sliders["click"].value = 7.0
    assert explorer.sliders["click"].value == 2.0
    explorer.sliders["click"].value = -3.0
    assert explorer.sliders["click"].value == 0.0
    with pytest.raises(ValueError, match="λ for purchase"):
        explorer.set_lambdas({"purchase": 9})

    soft = soft_sharing_explorer(soft_model, *parts, epochs=EPOCHS, baselines=None)
    assert soft.run(beta=0.5) is None
    assert "beta must be one of" in soft.status.value
    assert soft.run(beta=-1) is None
    assert soft.run(architecture="MMoE") is None
    assert "no architecture choice" in soft.status.value


def test_an_error_inside_training_is_shown_in_the_widget(hard_model, parts, monkeypatch) -> None:
    explorer = hard_sharing_explorer(hard_model, *parts, epochs=EPOCHS, baselines=None)

    def broken(*args, **kwargs):
        raise ValueError("weights must be >= 0 (from the model)")

    monkeypatch.setattr(hard_model, "set_loss_weights", broken)
    assert explorer.run() is None
    assert "weights must be &gt;= 0 (from the model)" in explorer.status.value
    assert "<details>" in explorer.status.value  # the traceback is folded away
    assert explorer.train_button.disabled is False
    assert explorer.train_button.description == "Train"


def test_a_diverging_run_says_so(shop, parts) -> None:
    model = build_hard_sharing(shop_tasks(TASKS), shop.features, shared=(16,), seed=0,
                               learning_rate=1e12)
    explorer = hard_sharing_explorer(model, *parts, epochs=EPOCHS, baselines=None)
    assert explorer.run() is None
    assert explorer.plot.diverged_at is not None
    assert "diverged" in explorer.status.value
    note = explorer.plot.loss_figure._note
    assert note.get_visible() and "diverged" in note.get_text()


def test_feature_explorer_builds_each_architecture_once(hard_model, parts, monkeypatch) -> None:
    import mtl_kit.models as models_module

    built = []

    def fake_builder(tasks, features, seed=0, **kwargs):
        built.append(kwargs)
        return build_hard_sharing(tasks, features, shared=(8,), seed=seed)

    monkeypatch.setattr(models_module, "build_mmoe", fake_builder, raising=False)
    explorer = feature_sharing_explorer(
        TASKS, parts[0].features, *parts, models={"hard": hard_model}, epochs=EPOCHS,
        baselines=BASELINES, build_kwargs={"MMoE": {"n_experts": 2}},
        architectures=("hard", "MMoE"),
    )
    picker = explorer.architecture
    assert isinstance(picker, widgets.ToggleButtons)
    assert list(picker.options) == ["hard", "MMoE"]
    assert built == []  # nothing built or trained at display time
    assert explorer.run(lambdas={"click": 1.0, "purchase": 1.0}) is not None
    hard_curves = snapshot(explorer)
    assert explorer.run(architecture="MMoE") is not None
    assert built == [{"n_experts": 2}]
    mmoe_curves = snapshot(explorer)
    assert mmoe_curves[("click", "train", "current")] != hard_curves[("click", "train", "current")]
    assert "MMoE" in explorer.plot.loss_figure.title
    picker.value = "hard"
    assert "press <b>Train</b>" in explorer.status.value
    explorer.run()
    picker.value = "MMoE"
    explorer.run()
    assert len(built) == 1  # switching back reuses the model built before
    assert explorer.models["hard"] is hard_model
    assert explorer.run(architecture="PLE") is None
    assert "architecture must be one of" in explorer.status.value


def test_explorer_arguments_are_checked(hard_model, soft_model, parts) -> None:
    with pytest.raises(TypeError, match="model must be a mtl_kit MultiTaskNet"):
        hard_sharing_explorer(object(), *parts)
    with pytest.raises(ValueError, match="epochs"):
        hard_sharing_explorer(hard_model, *parts, epochs=0)
    with pytest.raises(ValueError, match="lambda_max"):
        hard_sharing_explorer(hard_model, *parts, lambda_max=-1)
    with pytest.raises(ValueError, match="baselines"):
        hard_sharing_explorer(hard_model, *parts, baselines="yes")
    with pytest.raises(TypeError, match="set_beta"):
        soft_sharing_explorer(object(), *parts)
    with pytest.raises(ValueError, match="betas"):
        soft_sharing_explorer(soft_model, *parts, betas=(1.0, 0.1))
    with pytest.raises(ValueError, match="architectures"):
        feature_sharing_explorer(TASKS, parts[0].features, *parts, architectures=("MoE",))
    explorer = hard_sharing_explorer(hard_model, [1, 2], *parts[1:], baselines=None)
    assert explorer.run() is None
    assert "train must be a ShopData" in explorer.status.value


def test_pairs_and_a_baseline_table_are_accepted(hard_model, parts) -> None:
    train, val, test = (part.to_arrays(TASKS) for part in parts)
    baselines = pd.DataFrame({"single-task": [0.5, 0.5]}, index=list(TASKS))
    explorer = hard_sharing_explorer(hard_model, train, val, test, epochs=EPOCHS,
                                     baselines=baselines)
    table = explorer.run(lambdas={"click": 1.0, "purchase": 1.0})
    assert table is not None
    assert table["single-task"].tolist() == [0.5, 0.5]
    assert np.isfinite(table["this run"]).all()


def test_auto_baselines_are_trained_once_and_shared(shop, hard_model, soft_model, parts) -> None:
    from mtl_kit import widgets as widgets_module

    widgets_module._BASELINE_CACHE.clear()
    hard = hard_sharing_explorer(hard_model, *parts, epochs=2)
    hard.run(lambdas={"click": 1.0, "purchase": 1.0})
    assert len(widgets_module._BASELINE_CACHE) == 1
    single = hard.table["single-task"]
    assert np.isfinite(single).all()
    soft = soft_sharing_explorer(soft_model, *parts, epochs=2)
    soft.run()
    assert len(widgets_module._BASELINE_CACHE) == 1  # reused, not trained again
    assert soft.table["single-task"].tolist() == single.tolist()
