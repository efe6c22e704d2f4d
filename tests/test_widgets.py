"""Kernel-level tests of the explorers: set sliders, press Train, check the plot and table.

Small course data (8,000 impressions), 3 seeds and 2 epochs keep them fast. They run under
ipywidgets 8 and under Colab's ipywidgets 7.7.1 alike. The logic behind them is tested in
tests/test_explorer.py.
"""

from __future__ import annotations

import math

import ipywidgets as widgets
import pytest

import mtl_kit  # noqa: F401  (tests/conftest.py imports it before keras, too)
from mtl_kit.course import course_data
from mtl_kit.models import build_hard_sharing, build_soft_sharing
from mtl_kit.plots import BAND_ALPHA, PREVIOUS_RUN_ALPHA
from mtl_kit.tasks import shop_tasks
from mtl_kit.widgets import (
    DEFAULT_BETAS,
    Explorer,
    feature_sharing_explorer,
    hard_sharing_explorer,
    soft_sharing_explorer,
    task_scores,
)

TASKS = ("click", "purchase")
EPOCHS = 2
SEEDS = 3
FAST = {"seeds": SEEDS, "epochs": EPOCHS, "batch_size": 256}


@pytest.fixture(scope="module")
def data():
    return course_data(TASKS, n_impressions=8000, n_users=1500)


@pytest.fixture(scope="module")
def hard_model(data):
    return build_hard_sharing(shop_tasks(TASKS), data.features, shared=(32, 16), seed=0)


@pytest.fixture(scope="module")
def soft_model(data):
    return build_soft_sharing(shop_tasks(TASKS), data.features, tower=(16,), beta=1e-3, seed=0)


def snapshot(explorer: Explorer) -> dict:
    """The data of every line of the explorer's loss figure."""
    return explorer.plot.loss_figure.line_data()


def test_displaying_an_explorer_trains_nothing(hard_model, data, monkeypatch) -> None:
    monkeypatch.setattr(hard_model, "fit", lambda *a, **k: pytest.fail("trained at display"))
    explorer = hard_sharing_explorer(hard_model, data, **FAST)
    assert isinstance(explorer.widget, widgets.VBox)
    explorer._ipython_display_()  # what a notebook does with the cell's last expression
    assert explorer.table is None
    assert "press <b>Train</b>" in explorer.status.value
    assert f"{SEEDS} seeds" in explorer.status.value and "validation" in explorer.status.value
    assert bytes(explorer.image.value).startswith(b"\x89PNG")  # a placeholder, not empty
    sliders = [explorer.sliders[t] for t in TASKS]
    assert all(isinstance(s, widgets.FloatSlider) for s in sliders)
    assert all(s.continuous_update is False for s in sliders)
    assert all(s.min == 0.0 and s.max == 2.0 for s in sliders)


def test_hard_explorer_shows_seeds_bands_and_the_validation_table(hard_model, data) -> None:
    explorer = hard_sharing_explorer(hard_model, data, **FAST)
    first_table = explorer.run(lambdas={"click": 1.0, "purchase": 1.0})
    assert first_table is not None, explorer.status.value
    first = snapshot(explorer)
    assert len(first[("click", "val", "current")][1]) == EPOCHS
    assert len(explorer.last_run.histories) == SEEDS
    # the curve is the mean over the seeds, with a band from the lowest to the highest seed
    mean, low, high = explorer.last_run.curves()["val_click_loss"]
    assert first[("click", "val", "current")][1] == pytest.approx(mean)
    band = explorer.plot.loss_figure._bands["click"][0]
    assert len(band.get_paths()) == 1 and band.get_alpha() == BAND_ALPHA
    assert all(lo < hi for lo, hi in zip(low, high, strict=True))
    assert list(first_table.columns[:5]) == ["metric", "mean", "low", "high", "single-task"]
    assert (first_table["low"] <= first_table["mean"]).all()
    assert (first_table["mean"] <= first_table["high"]).all()
    assert math.isnan(first_table.loc["click", "previous run"])

    explorer.sliders["purchase"].value = 0.0  # as a learner drags the slider
    explorer.train_button.click()  # as a learner presses Train
    second = snapshot(explorer)
    table = explorer.table
    assert second[("purchase", "train", "current")] != first[("purchase", "train", "current")]
    assert second[("purchase", "train", "previous")] == first[("purchase", "train", "current")]
    assert hard_model.loss_weights == pytest.approx({"click": 1.0, "purchase": 0.0})
    assert table.loc["purchase", "previous run"] == pytest.approx(
        first_table.loc["purchase", "mean"])
    assert table.loc["purchase", "vs previous verdict"] in (
        "better", "worse", "no difference we can detect")
    assert "λ purchase=0" in explorer.plot.loss_figure.title
    html = explorer.table_html.value
    assert "purchase" in html and "Validation split" in html and f"{SEEDS} seeds" in html
    assert "Trained" in explorer.status.value and "vs single-task" in explorer.status.value
    faint = explorer.plot.loss_figure._lines[("click", "train", "previous")]
    assert faint.get_alpha() == PREVIOUS_RUN_ALPHA
    assert set(explorer.timings) == {"train", "figure", "metrics", "total"}


def test_soft_explorer_beta_slider_changes_the_tower_distance(soft_model, data) -> None:
    explorer = soft_sharing_explorer(soft_model, data, **FAST)
    beta = explorer.sliders["beta"]
    assert isinstance(beta, widgets.SelectionSlider)
    assert beta.continuous_update is False
    assert [value for _, value in beta.options] == list(DEFAULT_BETAS)
    assert beta.value == pytest.approx(1e-3)
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


def test_bad_values_end_in_a_message_not_a_traceback(hard_model, soft_model, data) -> None:
    explorer = hard_sharing_explorer(hard_model, data, **FAST)
    assert explorer.run(lambdas={"click": -1.0}) is None
    assert "λ for click must be between 0 and 2" in explorer.status.value
    assert explorer.run(lambdas={"click": float("nan")}) is None
    assert "λ for click" in explorer.status.value
    assert explorer.run(lambdas={"checkout": 1.0}) is None
    assert "unknown task 'checkout'" in explorer.status.value
    assert explorer.run(lambdas={"click": 0.0, "purchase": 0.0}) is None
    assert "every λ is 0" in explorer.status.value
    explorer.sliders["click"].value = 7.0  # a slider clamps what is typed into it
    assert explorer.sliders["click"].value == 2.0
    with pytest.raises(ValueError, match="λ for purchase"):
        explorer.set_lambdas({"purchase": 9})

    soft = soft_sharing_explorer(soft_model, data, **FAST)
    assert soft.run(beta=0.5) is None
    assert "beta must be one of" in soft.status.value
    assert soft.run(beta=-1) is None
    assert soft.run(architecture="MMoE") is None
    assert "no architecture choice" in soft.status.value


def test_an_error_inside_training_is_shown_in_the_widget(hard_model, data, monkeypatch) -> None:
    explorer = hard_sharing_explorer(hard_model, data, **FAST)

    def broken(*args, **kwargs):
        raise ValueError("weights must be >= 0 (from the model)")

    monkeypatch.setattr(hard_model, "set_loss_weights", broken)
    assert explorer.run() is None
    assert "weights must be &gt;= 0 (from the model)" in explorer.status.value
    assert "<details>" in explorer.status.value  # the traceback is folded away
    assert explorer.train_button.disabled is False
    assert explorer.train_button.description == "Train"


def test_a_diverging_run_says_so(data) -> None:
    model = build_hard_sharing(shop_tasks(TASKS), data.features, shared=(16,), seed=0,
                               learning_rate=1e12)
    explorer = hard_sharing_explorer(model, data, **FAST)
    assert explorer.run() is None
    assert "diverged" in explorer.status.value
    assert explorer.table is None
    note = explorer.plot.loss_figure._note
    assert note.get_visible() and "diverged" in note.get_text()


def test_feature_explorer_builds_each_architecture_once(hard_model, data, monkeypatch) -> None:
    import mtl_kit.models as models_module

    built = []

    def fake_builder(tasks, features, seed=0, **kwargs):
        built.append(kwargs)
        return build_hard_sharing(tasks, features, shared=(8,), seed=seed)

    monkeypatch.setattr(models_module, "build_mmoe", fake_builder)
    explorer = feature_sharing_explorer(
        data, models={"hard": hard_model}, build_kwargs={"MMoE": {"n_experts": 2}},
        architectures=("hard", "MMoE"), **FAST,
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


def test_explorer_arguments_are_checked_before_any_training(hard_model, soft_model,
                                                            data) -> None:
    with pytest.raises(TypeError, match="model must be a compiled mtl_kit MultiTaskNet"):
        hard_sharing_explorer(object(), data)
    with pytest.raises(ValueError, match="epochs must be an int >= 1"):
        hard_sharing_explorer(hard_model, data, epochs=0)
    with pytest.raises(TypeError, match="epochs must be an int >= 1"):
        hard_sharing_explorer(hard_model, data, epochs=True)
    with pytest.raises(ValueError, match="seeds must be an int K >= 1"):
        hard_sharing_explorer(hard_model, data, seeds=0)
    with pytest.raises(TypeError, match="seeds must be an int K >= 1"):
        soft_sharing_explorer(soft_model, data, seeds=1.5)
    with pytest.raises(ValueError, match="lambda_max"):
        hard_sharing_explorer(hard_model, data, lambda_max=-1)
    with pytest.raises(ValueError, match="betas"):
        soft_sharing_explorer(soft_model, data, betas=(1.0, 0.1))
    with pytest.raises(ValueError, match="architectures must be a non-empty list out of"):
        feature_sharing_explorer(data, architectures=("MoE",))
    with pytest.raises(TypeError, match="data must be a CourseData"):
        hard_sharing_explorer(hard_model, data.train)
    with pytest.raises(TypeError, match="takes the course data as one argument now"):
        hard_sharing_explorer(hard_model, data.train, data.val, data.test)


def test_task_scores_use_the_metrics_module(hard_model, data) -> None:
    scores = task_scores(hard_model, data.x_val, data.y_val)
    assert set(scores) == set(TASKS)
    assert all(0.0 <= v <= 1.0 for v in scores.values())


# --------------------------------------------------------------------------------------------
# The strategy explorer (lesson 8)
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dwell_data():
    return course_data(("click", "dwell"), n_impressions=8000, n_users=1500)


def test_strategy_explorer_trains_only_when_asked_and_shows_curves_and_table(dwell_data,
                                                                              monkeypatch):
    from mtl_kit import balancing
    from mtl_kit.widgets import StrategyExplorer, strategy_explorer

    calls = []
    monkeypatch.setattr(balancing, "fit_seeds", lambda *a, **k: calls.append(a))
    explorer = strategy_explorer(dwell_data, seeds=2, epochs=2, batch_size=256)
    assert isinstance(explorer, StrategyExplorer) and isinstance(explorer.widget, widgets.VBox)
    assert calls == [] and explorer.table is None  # displaying it trains nothing
    monkeypatch.undo()

    # the knob follows the strategy
    assert explorer.knob.description == "λ_dwell" and explorer.knob.value == 1.0
    explorer.strategy.value = "cagrad"
    assert explorer.knob.description == "c" and explorer.knob.value == 0.4
    explorer.strategy.value = "pcgrad"
    assert explorer.knob.disabled and explorer.knob.description == "no knob"

    table = explorer.run("cagrad", 0.8)
    assert table is not None and list(table.index) == ["click", "dwell", "Δm"]
    assert explorer.knob.value == 0.8 and explorer.last_run.setting.knob_value == 0.8
    assert "Trained CAGrad (c = 0.8)" in explorer.status.value
    assert "fixed λ = 1" in explorer.table_html.value and "Δm" in explorer.table_html.value
    assert explorer.image.value[:4] == b"\x89PNG"
    titles = [ax.get_title() for ax in explorer.figure.axes]
    assert "click loss" in titles and "dwell loss" in titles
    assert explorer.timings["train"] > 0 and explorer.timings["total"] >= explorer.timings["train"]


def test_strategy_explorer_errors_end_in_a_message(dwell_data, monkeypatch):
    from mtl_kit.widgets import strategy_explorer

    explorer = strategy_explorer(dwell_data, seeds=2, epochs=2, batch_size=256,
                                 strategies=["fixed", "pcgrad"])
    assert explorer.run("cagrad") is None and "strategy must be one of" in explorer.status.value
    assert explorer.run("fixed", 0.3) is None
    assert "value must be one of the slider's values" in explorer.status.value
    assert explorer.run("pcgrad", 0.5) is None and "none" in explorer.status.value

    def broken(_setting):
        raise RuntimeError("out of memory")

    explorer.logic.reference_run = lambda: None
    monkeypatch.setattr(explorer.logic, "train", broken)
    assert explorer.run("fixed") is None
    assert "Training failed" in explorer.status.value and "out of memory" in explorer.status.value
    assert not explorer.train_button.disabled and explorer.train_button.description == "Train"
    with pytest.raises(TypeError, match="logic must be a StrategyLogic"):
        from mtl_kit.widgets import StrategyExplorer

        StrategyExplorer(object())

