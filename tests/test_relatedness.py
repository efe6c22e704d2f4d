"""Knob sweeps of the shop (mtl_kit.relatedness): settings, scoring, memory of settings."""

import mtl_kit  # noqa: F401

# isort: split
import numpy as np
import pandas as pd
import pytest

import mtl_kit.relatedness as relatedness
from mtl_kit.course import course_data
from mtl_kit.experiments import TrainingPlan
from mtl_kit.intervals import metric_interval
from mtl_kit.models import build_hard_sharing
from mtl_kit.relatedness import (
    Sweeper,
    course_value,
    score_runs,
    shop_knobs,
    standardised_log,
)
from mtl_kit.tasks import as_tasks

SMALL_SHOP = {"n_impressions": 6_000, "n_users": 600}


def test_knobs_map_to_course_data_arguments():
    assert shop_knobs("task_correlation", -0.5) == {"task_correlation": -0.5}
    assert shop_knobs("label_fraction", 0.05) == {"label_fraction": {"purchase": 0.05}}
    assert shop_knobs("label_fraction", 1.0) == {"label_fraction": None}  # all labelled
    assert shop_knobs("noise", 2.0, task="click") == {"noise": {"click": 2.0}}
    assert (course_value("task_correlation"), course_value("label_fraction"),
            course_value("noise")) == (0.6, 0.15, 0.5)
    # the course's value of any knob is the course's shop itself: the same key
    same = {relatedness._canonical(shop_knobs(k, course_value(k))) for k in relatedness.KNOBS}
    assert same == {relatedness._canonical({})}
    assert relatedness._canonical({"task_correlation": 0.0}) != relatedness._canonical({})


@pytest.mark.parametrize("knob, value, error", [
    ("task_correlation", 1.5, "task_correlation must be"),
    ("label_fraction", 0.0, "label_fraction must be"),
    ("noise", -1.0, "noise must be"),
    ("seed", 1, "knob must be one of"),
])
def test_bad_knob_values_are_refused(knob, value, error):
    with pytest.raises(ValueError, match=error):
        shop_knobs(knob, value)


def _fake_predictions(y, users, seeds=3, shift=0.0, rng=None):
    rng = rng or np.random.default_rng(0)
    return [{"click": y["click"] + rng.normal(scale=1.0, size=len(users)),
             "purchase": y["purchase"] * (1 + shift) + rng.normal(scale=1.0, size=len(users))}
            for _ in range(seeds)]


def test_scored_differences_are_the_paired_intervals():
    rng = np.random.default_rng(1)
    n = 900
    users = np.repeat(np.arange(300), 3)
    y = {"click": (rng.random(n) < 0.3).astype(float), "purchase": (rng.random(n) < 0.1) * 1.0}
    model = _fake_predictions(y, users, shift=1.0, rng=rng)
    single = _fake_predictions(y, users, rng=rng)
    scored = score_runs(as_tasks(("click", "purchase")), y, users,
                        {"single-task": single, "hard": model})
    expected = metric_interval("binary", "auc", y["purchase"], [p["purchase"] for p in model],
                               users, reference=[p["purchase"] for p in single])
    got = scored.difference("hard", "purchase")
    assert (got.mean, got.low, got.high) == pytest.approx((expected.mean, expected.low,
                                                           expected.high))
    assert got.low > 0  # the shift is detectable
    assert scored.models == ["single-task", "hard"]
    other = score_runs(as_tasks(("click", "purchase")), y, users, {"mmoe": single})
    scored.add(other, "mmoe", name="MMoE")
    assert scored.difference("MMoE", "purchase").mean == pytest.approx(0.0)
    with pytest.raises(ValueError, match="same rows"):
        scored.add(score_runs(as_tasks(("click",)), {"click": y["click"][:30]}, users[:30],
                              {"x": [{"click": y["click"][:30]}]}), "x")


def test_standardised_log_puts_a_regression_task_on_one_scale():
    data = course_data(("click", "dwell"), **SMALL_SHOP)
    scaled = standardised_log(data, "dwell")
    z = scaled.y_train["dwell"]
    assert abs(float(np.mean(z))) < 1e-5 and float(np.std(z)) == pytest.approx(1.0, rel=1e-4)
    order = np.argsort(data.y_val["dwell"])
    assert (np.diff(scaled.y_val["dwell"][order]) >= 0).all()  # a monotone transform
    assert scaled.y_train["click"] is data.y_train["click"]
    with pytest.raises(ValueError, match="task must be one of"):
        standardised_log(data, "purchase")


@pytest.mark.slow
def test_a_sweeper_runs_each_setting_once_and_tabulates_the_gains(monkeypatch):
    calls = []

    def small_course_data(tasks, **knobs):
        calls.append(knobs)
        return course_data(tasks, **{**knobs, **SMALL_SHOP})

    monkeypatch.setattr(relatedness, "course_data", small_course_data)
    tasks = ("click", "purchase")
    features = course_data(tasks, **SMALL_SHOP).features
    built = {}

    def builder(seed):
        if "hard" not in built:
            built["hard"] = build_hard_sharing(tasks, features, shared=(8,), head=(4,),
                                               embedding_dim=4, seed=seed)
        return built["hard"]

    sweeper = Sweeper({"hard": builder}, tasks, seeds=2,
                      plan=TrainingPlan(max_epochs=2, patience=0), shop={"seed": 3})
    first = sweeper.run("task_correlation", [0.0, 0.6])
    second = sweeper.run("label_fraction", [0.15, 0.5])  # 0.15 with p = 0.6: already run
    assert len(calls) == 3 and all(call["seed"] == 3 for call in calls)
    assert set(first.table.columns) >= {"task_correlation", "model", "task", "gain", "low",
                                        "high", "verdict", "single-task", "model mean"}
    assert len(first.table) == 4 and len(second.table) == 4
    same = first.gains("hard", "purchase").loc[0.6]
    again = second.gains("hard", "purchase").loc[0.15]
    assert same["gain"] == pytest.approx(again["gain"])
    row = first.table.iloc[0]
    assert row["low"] <= row["gain"] <= row["high"]
    assert row["gain"] == pytest.approx(row["model mean"] - row["single-task"], abs=1e-9)
    assert first.gain(0.0, "hard", "click").mean == pytest.approx(row["gain"])
    between = first.gain_difference(0.0, 0.6, "hard", "purchase")
    assert between.mean == pytest.approx(first.gain(0.0, "hard", "purchase").mean
                                         - first.gain(0.6, "hard", "purchase").mean)
    assert first.gain_difference(0.6, 0.6, "hard", "click").mean == pytest.approx(0.0)
    figure = first.plot()
    assert len(figure.axes) == 2
    with pytest.raises(ValueError, match="value must be one of"):
        first.gain(0.3, "hard", "click")


def test_a_sweeper_refuses_bad_settings_before_training():
    with pytest.raises(TypeError, match="models must be"):
        Sweeper({}, ("click", "purchase"))
    with pytest.raises(TypeError, match="models must map"):
        Sweeper({"single-task": lambda seed: None})
    sweeper = Sweeper({"hard": lambda seed: None})
    with pytest.raises(ValueError, match="task_correlation must be"):
        sweeper.run("task_correlation", [0.0, 2.0])
    with pytest.raises(TypeError, match="values must be"):
        sweeper.run("noise", 0.5)
    with pytest.raises(ValueError, match="task must be one of"):
        Sweeper({"hard": lambda seed: None}, ("click", "purchase"), task="dwell")


def test_plot_gains_draws_one_panel_per_task():
    table = pd.DataFrame({
        "task_correlation": [0.0, 0.0, 1.0, 1.0] * 2,
        "model": ["hard"] * 4 + ["MMoE"] * 4,
        "task": ["click", "purchase"] * 4,
        "metric": ["auc"] * 8,
        "gain": [0.0, 0.05, 0.01, 0.04] * 2,
        "low": [-0.01, 0.02, -0.01, 0.01] * 2,
        "high": [0.01, 0.08, 0.03, 0.07] * 2,
        "verdict": ["no difference we can detect", "better"] * 4})
    figure = relatedness.plot_gains(table, "task_correlation", course=0.6,
                                    ticks=[-1, 0, 0.6, 1])
    assert [ax.get_title() for ax in figure.axes] == [
        "click: AUC gain over single-task", "purchase: AUC gain over single-task"]
    assert figure.axes[0].get_xlim()[0] < -1
