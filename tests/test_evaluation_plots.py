"""The pictures of lesson 7: each draws what it says, and refuses what it cannot draw."""

import mtl_kit  # noqa: F401

# isort: split
import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from conftest_comparisons import fake_comparison
from sklearn import metrics as skm

from mtl_kit import evaluation_plots as plots
from mtl_kit.calibration import reliability_table
from mtl_kit.fronts import front_table


@pytest.fixture(scope="module")
def comparison():
    return fake_comparison({"base": 0.0, "better": 1.5})


def _seed0(comparison, model):
    return {t: comparison.predictions(model, t)[0] for t in ("click", "purchase")}


def test_threshold_curves_equal_scikit_learn(comparison):
    y, p = comparison.y_true["purchase"], _seed0(comparison, "better")["purchase"]
    cuts = [0.01, 0.05, 0.2]
    curves = plots.threshold_curves(y, p, cuts)
    for row in curves.itertuples():
        hard = p >= row.threshold
        assert row.accuracy == pytest.approx(skm.accuracy_score(y, hard))
        assert row.recall == pytest.approx(skm.recall_score(y, hard))
        assert row.f1 == pytest.approx(skm.f1_score(y, hard, zero_division=0))
        assert row.precision == pytest.approx(skm.precision_score(y, hard, zero_division=0))


def test_each_figure_has_its_panels(comparison):
    predictions = _seed0(comparison, "better")
    figure = plots.plot_threshold_sweep(comparison.y_true, predictions,
                                        {"click": 0.3, "purchase": 0.05})
    assert [ax.get_title() for ax in figure.axes] == ["click", "purchase"]
    figure = plots.plot_precision_recall(comparison.y_true,
                                         {"better": predictions,
                                          "base": _seed0(comparison, "base")})
    labels = [t.get_text() for t in figure.axes[1].get_legend().get_texts()]
    assert labels[0].startswith("better: AP") and labels[2].startswith("random score")
    tables = {t: {"as trained": reliability_table(comparison.y_true[t], predictions[t])}
              for t in ("click", "purchase")}
    figure = plots.plot_reliability(tables)
    assert len(figure.axes) == 4
    table = front_table(comparison)
    figure = plots.plot_front(table, chosen="better")
    assert len(figure.axes) == 2
    frame = pd.DataFrame({"slope": [0.5, 1.0, 2.0], "auc": [0.8] * 3, "ndcg": [0.4, 0.5, 0.45]})
    figure = plots.plot_miscalibrated_ranking(frame)
    assert len(figure.axes) == 2
    heights = [np.diff(ax.get_ylim())[0] for ax in figure.axes]
    assert heights[0] == pytest.approx(heights[1])  # the same scale in both panels


def test_what_cannot_be_drawn_is_refused(comparison):
    with pytest.raises(ValueError, match="at least one task"):
        plots.plot_threshold_sweep({}, {}, {})
    with pytest.raises(ValueError, match="two tasks"):
        plots.plot_front(front_table(comparison), tasks=("click",))
    with pytest.raises(ValueError, match="chosen must be one of"):
        plots.plot_front(front_table(comparison), chosen="nope")
    with pytest.raises(ValueError, match="lacks the columns"):
        plots.plot_front(pd.DataFrame({"model": ["a"]}))
    with pytest.raises(ValueError, match="lacks the columns"):
        plots.plot_miscalibrated_ranking(pd.DataFrame({"slope": [1.0]}))
    with pytest.raises(ValueError, match="same rows"):
        plots.threshold_curves(np.ones(3), np.ones(2), [0.5])
