"""The threshold explorer (lesson 7): its report equals scikit-learn; the view follows it."""

import mtl_kit  # noqa: F401

# isort: split
import numpy as np
import pytest
from conftest_comparisons import fake_comparison
from sklearn import metrics as skm

from mtl_kit.explorer import threshold_report
from mtl_kit.metrics import best_f1_threshold
from mtl_kit.widgets import THRESHOLDS, threshold_explorer


@pytest.mark.parametrize("threshold", [0.01, 0.1, 0.5, 0.99])
def test_report_equals_scikit_learn(threshold):
    rng = np.random.default_rng(0)
    y = (rng.random(500) < 0.1).astype(float)
    p = np.clip(0.1 + 0.3 * y + rng.normal(scale=0.15, size=500), 0, 1)
    y[:20] = np.nan
    keep = ~np.isnan(y)
    report = threshold_report(y, p, threshold)
    hard = p[keep] >= threshold
    assert report["accuracy"] == pytest.approx(skm.accuracy_score(y[keep], hard))
    assert report["precision"] == pytest.approx(skm.precision_score(y[keep], hard,
                                                                    zero_division=0))
    assert report["recall"] == pytest.approx(skm.recall_score(y[keep], hard))
    assert report["f1"] == pytest.approx(skm.f1_score(y[keep], hard, zero_division=0))
    assert report["tp"] + report["fp"] + report["fn"] + report["tn"] == keep.sum()
    with pytest.raises(ValueError, match="threshold must be a finite number > 0"):
        threshold_report(y, p, 0.0)


def test_the_explorer_follows_its_slider_and_finds_the_best_threshold():
    val = fake_comparison({"base": 0.0, "better": 1.5})
    explorer = threshold_explorer(val, "better", seed=1)
    assert explorer.slider.value == 0.5 and explorer.report is not None
    assert explorer.image.value[:4] == b"\x89PNG"
    before = dict(explorer.report)
    explorer.task.value = "purchase"
    explorer.set_best()
    best, _ = best_f1_threshold(val.y_true["purchase"], val.predictions("better", "purchase")[1])
    assert abs(np.log(explorer.slider.value) - np.log(best)) <= np.log(THRESHOLDS[1] /
                                                                        THRESHOLDS[0])
    assert explorer.report != before and explorer.report["recall"] > 0
    assert "purchase" in explorer.table_html.value


def test_the_explorer_refuses_the_test_split_and_unknown_names():
    test = fake_comparison({"base": 0.0}, split="test")
    with pytest.raises(ValueError, match="validation split"):
        threshold_explorer(test, "base")
    val = fake_comparison({"base": 0.0})
    with pytest.raises(ValueError, match="model must be one of"):
        threshold_explorer(val, "nope")
    with pytest.raises(ValueError, match="seed must be one of"):
        threshold_explorer(val, "base", seed=9)
    with pytest.raises(TypeError, match="a Comparison"):
        threshold_explorer({"split": "val"}, "base")
