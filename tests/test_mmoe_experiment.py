"""The MMoE paper's synthetic experiment runner (mtl_kit.mmoe_experiment)."""

import mtl_kit  # noqa: F401

# isort: split
import dataclasses

import numpy as np
import pytest

from mtl_kit.mmoe_experiment import (
    MODELS,
    PAPER,
    SMALL,
    MMoEResult,
    Setup,
    build_models,
    mean_rmse_influence,
    parameter_counts,
    run_mmoe_experiment,
)

TINY = dataclasses.replace(SMALL, d=8, n_train=256, n_test=128, epochs=2, batch_size=64,
                           bottom=6, expert_units=3, n_experts=2)


@pytest.mark.parametrize("setup", [SMALL, PAPER], ids=["small", "paper"])
def test_the_three_models_have_about_the_same_size(setup):
    counts = parameter_counts(build_models(setup))
    assert list(counts) == list(MODELS)
    assert max(counts.values()) / min(counts.values()) < 1.2, counts
    assert counts["MMoE"] > counts["OMoE"]  # one gate fewer


def test_mean_rmse_influence_is_the_mean_of_the_two_tasks():
    rng = np.random.default_rng(0)
    y = {"y1": rng.normal(size=50), "y2": rng.normal(size=50)}
    prediction = {"y1": y["y1"] + 0.5, "y2": y["y2"] - rng.normal(scale=0.2, size=50)}
    value, psi = mean_rmse_influence(y, prediction)
    rmse = [np.sqrt(np.mean((prediction[t] - y[t]) ** 2)) for t in ("y1", "y2")]
    assert value == pytest.approx(np.mean(rmse))
    assert psi.shape == (50,) and abs(psi.sum()) < 1e-9  # influences sum to 0


def _result():
    """Two correlations, three models, 3 seeds, 40 rows: known per-seed values."""
    influences = {}
    values = {(1.0, "shared bottom"): 0.5, (1.0, "OMoE"): 0.4, (1.0, "MMoE"): 0.45,
              (0.0, "shared bottom"): 0.55, (0.0, "OMoE"): 0.6, (0.0, "MMoE"): 0.46}
    rng = np.random.default_rng(3)
    for key, value in values.items():
        influences[key] = (value + rng.normal(scale=0.01, size=3),
                           rng.normal(scale=0.002, size=(3, 40)))
    return MMoEResult(SMALL, (1.0, 0.0), {1.0: 1.0, 0.0: 0.0}, (0, 1, 2),
                      {m: 4000 for m in MODELS}, influences)


def test_differences_and_rises_are_paired_and_consistent():
    result = _result()
    rise = {m: result.rise(m) for m in MODELS}
    assert rise["OMoE"].mean == pytest.approx(result.estimate(0.0, "OMoE").mean
                                              - result.estimate(1.0, "OMoE").mean)
    both = result.rise_difference("MMoE", "OMoE")
    assert both.mean == pytest.approx(rise["MMoE"].mean - rise["OMoE"].mean)
    assert both.high < 0  # MMoE rises by 0.01, OMoE by 0.2
    assert result.difference(0.0, "MMoE", "shared bottom").mean == pytest.approx(
        result.estimate(0.0, "MMoE").mean - result.estimate(0.0, "shared bottom").mean)
    table = result.table()
    assert len(table) == 6 and set(table["model"]) == set(MODELS)
    assert (table["low"] <= table["RMSE"]).all() and (table["RMSE"] <= table["high"]).all()
    figure = result.plot()
    assert len(figure.axes) == 1 and len(figure.axes[0].get_legend().get_texts()) == 3
    with pytest.raises(ValueError, match="p must be one of"):
        result.estimate(0.5, "MMoE")
    with pytest.raises(ValueError, match="model must be one of"):
        result.rise("PLE")


@pytest.mark.slow
def test_a_tiny_run_trains_every_model_at_every_correlation():
    models = build_models(TINY)
    result = run_mmoe_experiment([1.0, 0.0], TINY, seeds=2, models=models)
    assert result.correlations == (1.0, 0.0) and result.seeds == (0, 1)
    assert set(result.influences) == {(p, m) for p in (1.0, 0.0) for m in MODELS}
    values, psis = result.influences[0.0, "MMoE"]
    assert values.shape == (2,) and psis.shape == (2, TINY.n_test)
    assert result.label_correlations[1.0] > 0.9 > abs(result.label_correlations[0.0])


def test_bad_input_is_refused_before_training():
    with pytest.raises(ValueError, match="c must be"):
        Setup(c=0.0)
    with pytest.raises(ValueError, match="epochs must be"):
        Setup(epochs=0)
    with pytest.raises(ValueError, match="correlations must be"):
        run_mmoe_experiment([1.5], TINY)
    with pytest.raises(TypeError, match="correlations must be"):
        run_mmoe_experiment(0.5, TINY)
    with pytest.raises(TypeError, match="setup must be"):
        run_mmoe_experiment([1.0], "small")
    with pytest.raises(ValueError, match="models must have the keys"):
        run_mmoe_experiment([1.0], TINY, models={"MMoE": None})
