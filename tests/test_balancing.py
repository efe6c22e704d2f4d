"""mtl_kit.balancing: settings, one compiled model per strategy, knobs without recompiling,
runs scored like every lesson (and the pictures of mtl_kit.balancing_plots).

Small course data (8,000 impressions), 2 seeds and 2 epochs keep these fast.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import mtl_kit  # noqa: F401  (selects the backend before keras)
from mtl_kit import seed_runs
from mtl_kit.balancing import (
    GRADIENT_LEVEL,
    KNOBS,
    Setting,
    StrategyComparison,
    StrategyLab,
    StrategyRun,
    comparison,
)
from mtl_kit.balancing_plots import plot_cosines, plot_strategy_run, plot_tradeoff
from mtl_kit.course import course_data
from mtl_kit.experiments import SINGLE_TASK, Comparison

TASKS = ("click", "dwell")
JAX = keras.backend.backend() == "jax"


@pytest.fixture(scope="module")
def data():
    return course_data(TASKS, n_impressions=8000, n_users=1500)


@pytest.fixture(scope="module")
def lab(data):
    return StrategyLab(data, seeds=2, epochs=2, batch_size=256, diagnostics=["fixed"],
                       validate=False)


@pytest.fixture(scope="module")
def runs(lab):
    return {"fixed λ = 1": lab.train("fixed"),
            "λ_dwell = 0.01": lab.train(Setting("fixed", 0.01)),
            "CAGrad": lab.train("cagrad")}


# -- settings ----------------------------------------------------------------------------------
def test_settings_and_their_labels():
    assert Setting("fixed").label(TASKS) == "fixed λ"
    assert Setting("fixed", 0.01).label(TASKS) == "fixed λ (λ_dwell = 0.01)"
    assert Setting("fixed", lambdas={"click": 10, "dwell": 10}).label() == \
        "fixed λ (λ_click = 10, λ_dwell = 10)"
    assert Setting("cagrad").label() == "CAGrad (c = 0.4)"
    assert Setting("cagrad", 0.8).knob_value == 0.8
    assert Setting("dwa").knob_value == KNOBS["dwa"].default == 2.0
    assert Setting("pcgrad").label() == "PCGrad" and Setting("pcgrad").knob_value is None
    assert Setting("gradnorm", 0.5) == Setting("gradnorm", 0.5)  # hashable, comparable
    for knob in KNOBS.values():
        assert list(knob.choices) == sorted(knob.choices) and knob.default in knob.choices


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"strategy": "pcgrd"}, ValueError, "strategy must be one of"),
    ({"strategy": "pcgrad", "value": 0.4}, ValueError, "has no hyperparameter"),
    ({"strategy": "cagrad", "value": -0.1}, ValueError, "cagrad c must be a finite number >= 0"),
    ({"strategy": "dwa", "value": 0.0}, ValueError, "dwa T must be a finite number > 0"),
    ({"strategy": "gradnorm", "value": "big"}, TypeError, "gradnorm α must be a finite number"),
    ({"strategy": "mgda", "lambdas": {"click": 1.0}}, ValueError, "lambdas set fixed λ"),
    ({"strategy": "fixed", "value": 0.1, "lambdas": {"click": 1.0}}, ValueError,
     "either value"),
    ({"strategy": "fixed", "lambdas": {"click": -1.0}}, ValueError, "lambdas\\['click'\\]"),
])
def test_bad_settings_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        Setting(**kwargs)


def test_lab_arguments_are_checked_before_any_work(data):
    with pytest.raises(TypeError, match="data must be a CourseData"):
        StrategyLab({"x_train": 1})
    with pytest.raises(ValueError, match="at least two tasks"):
        StrategyLab(course_data(("click",), n_impressions=4000, n_users=800))
    for kwargs, error, match in [
        ({"seeds": 0}, ValueError, "seeds must be an int K >= 1"),
        ({"epochs": 0}, ValueError, "epochs must be an int >= 1"),
        ({"batch_size": 2.5}, TypeError, "batch_size must be an int"),
        ({"learning_rate": 0.0}, ValueError, "learning_rate must be a finite number > 0"),
        ({"architecture": "soft"}, ValueError, "architecture must be one of"),
        ({"diagnostics": ["fixd"]}, ValueError, "diagnostics must be one of"),
        ({"validate": "yes"}, TypeError, "validate must be True or False"),
        ({"build_kwargs": [1]}, TypeError, "build_kwargs must be a dict"),
    ]:
        with pytest.raises(error, match=match):
            StrategyLab(data, **kwargs)


# -- models and knobs --------------------------------------------------------------------------
def test_one_compiled_model_per_strategy_and_diagnostics(lab):
    assert lab.model("cagrad") is lab.model("cagrad")
    assert lab.model("pcgrad") is not lab.model("cagrad")
    assert lab.logs_gradients("fixed") and not lab.logs_gradients("uncertainty")
    assert all(lab.logs_gradients(s) for s in GRADIENT_LEVEL)
    plain, logged = lab.model("uncertainty"), lab.model("uncertainty", diagnostics=True)
    assert plain is not logged
    assert logged.uses_task_gradients and not plain.uses_task_gradients
    assert lab.model("pcgrad", diagnostics=False) is lab.model("pcgrad")  # always logs
    with pytest.raises(TypeError, match="setting must be a Setting"):
        lab.apply("cagrad")


def test_knobs_reach_the_strategy_and_the_compiled_step_without_recompiling(lab, runs):
    model = lab.apply(Setting("fixed", 0.01))
    assert model.loss_weights == {"click": 1.0, "dwell": pytest.approx(0.01)}
    assert lab.apply(Setting("fixed", lambdas={"click": 3.0})).loss_weights == {
        "click": 3.0, "dwell": 1.0}
    with pytest.raises(ValueError, match="unknown task"):
        lab.apply(Setting("fixed", lambdas={"purchase": 1.0}))
    assert lab.apply(Setting("dwa", 0.5)).weighting.temperature == 0.5
    traces = dict(seed_runs.TRACES)
    wide = lab.train(Setting("cagrad", 1.0))
    assert lab.model("cagrad").weighting.c == 1.0
    if JAX:  # the same compiled epoch: c is a variable the step reads
        assert seed_runs.TRACES["run_epoch"] == traces["run_epoch"]
    # and it took effect: CAGrad's lift grows with c (c = 0.4 before)
    before = runs["CAGrad"].curve("click_weight") + runs["CAGrad"].curve("dwell_weight")
    after = wide.curve("click_weight") + wide.curve("dwell_weight")
    assert not np.allclose(before, after)
    assert lab.model("cagrad").weighting.c == 1.0  # kept after fit_seeds' reset


def test_gradnorm_alpha_is_a_variable_kept_by_reset(lab):
    model = lab.apply(Setting("gradnorm", 0.5))
    strategy = model.weighting
    assert strategy.alpha == 0.5 and strategy.strength in strategy.control_variables
    model.reset()
    assert strategy.alpha == 0.5
    with pytest.raises(ValueError, match="alpha must be a finite number >= 0"):
        strategy.alpha = -1.0


# -- runs and scores ---------------------------------------------------------------------------
def test_a_run_holds_each_seed_and_predicts_a_split_once(lab, runs, data):
    run = runs["fixed λ = 1"]
    assert isinstance(run, StrategyRun) and run.seeds == (0, 1) and len(run.histories) == 2
    assert not any(key.startswith("val_") for key in run.histories[0])  # validate=False
    assert run.curve("grad_cosine_click_dwell").shape == (2, 2)
    with pytest.raises(KeyError, match="was not logged"):
        run.curve("purchase_loss")
    val = run.predictions("val")
    assert run.predictions("val") is val  # computed once
    assert val[0]["click"].shape == (len(data.y_val["click"]),)
    assert set(val[1]) == set(TASKS) and not run.diverged
    with pytest.raises(ValueError, match="split must be one of"):
        run.predictions("train")
    validated = lab.train("fixed", validate=True)
    assert "val_click_loss" in validated.histories[0]
    x_sample, y_sample = lab.validation_sample()  # the curves use a fixed sample of rows
    assert len(y_sample["click"]) == min(lab.validation_rows, len(data.y_val["click"]))
    assert lab.validation_sample()[0] is x_sample
    full = StrategyLab(data, seeds=1, epochs=1, validation_rows=None).validation_sample()
    assert full[0] is data.x_val
    with pytest.raises(ValueError, match="validation_rows must be an int >= 1"):
        StrategyLab(data, validation_rows=0)
    assert validated.seconds > 0 and lab.seconds_per_epoch("fixed") > 0


def test_comparison_scores_like_the_lessons_and_reuses_each_runs_work(runs, data, monkeypatch):
    result = comparison(runs, data, "val", reference="fixed λ = 1")
    assert isinstance(result, StrategyComparison)
    assert result.models == [SINGLE_TASK, *runs] and result.reference == "fixed λ = 1"
    # the same numbers as a plain Comparison of the same runs
    plain = Comparison("val", result.seeds, result.tasks, result.y_true, result.users,
                       result.runs, "fixed λ = 1")
    for task in TASKS:
        assert result.difference("CAGrad", task).mean == pytest.approx(
            plain.difference("CAGrad", task).mean)
    assert result.scores.equals(plain.scores)  # built when first read
    # a second comparison of the same runs computes no influence again
    calls = []
    original = Comparison.influences
    monkeypatch.setattr(Comparison, "influences",
                        lambda self, *args: calls.append(args) or original(self, *args))
    again = comparison(runs, data, "val", reference="fixed λ = 1")
    for task in TASKS:
        assert again.difference("CAGrad", task).mean == result.difference("CAGrad", task).mean
    assert calls == []  # every run's influences were kept from the first comparison
    again.difference("CAGrad", "click", reference=SINGLE_TASK)
    assert calls == [(SINGLE_TASK, "click", "auc")]  # the baselines are not a run: computed


def test_comparison_refuses_bad_input(runs, lab, data):
    with pytest.raises(TypeError, match="non-empty dict"):
        comparison({}, data)
    with pytest.raises(TypeError, match="must be a StrategyRun"):
        comparison({"a": 1}, data)
    with pytest.raises(ValueError, match="built-in reference"):
        comparison({SINGLE_TASK: runs["CAGrad"]}, data)
    with pytest.raises(ValueError, match="reference must be"):
        comparison(runs, data, reference="nope")
    with pytest.raises(ValueError, match="split must be one of"):
        comparison(runs, data, split="train")
    other = StrategyLab(data, seeds=[3], epochs=1, batch_size=256).train("fixed")
    with pytest.raises(ValueError, match="share their seeds"):
        comparison({"a": runs["CAGrad"], "b": other}, data)


# -- pictures ----------------------------------------------------------------------------------
def test_pictures(runs, data, tmp_path):
    figure = plot_strategy_run(runs["CAGrad"])
    titles = [ax.get_title() for ax in figure.axes]
    assert titles[:2] == ["click loss", "dwell loss"] and len(figure.axes) == 4
    assert figure.axes[2].get_yscale() == "log"  # the weights
    plain = plot_strategy_run(runs["fixed λ = 1"].histories[:1] * 1)
    assert len(plain.axes) == 4
    loss_only = plot_strategy_run([{"click_loss": [1.0, 0.5], "dwell_loss": [2.0, 1.0]}])
    assert "not logged" in loss_only.axes[2].texts[0].get_text()
    with pytest.raises(TypeError, match="StrategyRun or a list"):
        plot_strategy_run(3)

    figure = plot_cosines({"λ = 1": runs["fixed λ = 1"], "CAGrad": runs["CAGrad"]})
    assert len(figure.axes[0].get_lines()) == 3  # the 0 line and two runs
    with pytest.raises(ValueError, match="exactly one gradient cosine"):
        plot_cosines({"no gradients": [{"click_loss": [1.0]}]})

    result = comparison(runs, data, "val", reference="fixed λ = 1")
    figure = plot_tradeoff(result, list(runs), TASKS)
    ax = figure.axes[0]
    assert "better →" in ax.get_xlabel() and "fixed λ = 1 − model" in ax.get_ylabel()
    renderer = figure.canvas.get_renderer()
    names = {"λ_dwell = 0.01", "CAGrad"}  # the reference, fixed λ = 1, is the origin
    boxes = [t.get_window_extent(renderer) for t in ax.texts if t.get_text() in names]
    assert len(boxes) == 2 and not boxes[0].overlaps(boxes[1])
    figure.savefig(tmp_path / "tradeoff.png")
    with pytest.raises(ValueError, match="two tasks"):
        plot_tradeoff(result, list(runs), ["click"])
    with pytest.raises(ValueError, match="must be among"):
        plot_tradeoff(result, ["nope"], TASKS)


def test_names_of_points_that_coincide_do_not_overlap():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from mtl_kit.balancing_plots import _place_labels

    figure = Figure(figsize=(4, 3))
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    ax.set_xlim(-1, 1)
    ax.set_ylim(-1, 1)
    _place_labels(figure, ax, [("first model", 0.0, 0.0), ("second model", 0.0, 0.0),
                               ("third model", 0.0, 0.0)])
    renderer = figure.canvas.get_renderer()
    boxes = [text.get_window_extent(renderer) for text in ax.texts]
    assert len(boxes) == 3
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
