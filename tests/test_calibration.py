"""Calibration: reliability tables, ECE, Platt scaling, and distortions that keep the ranking."""

import mtl_kit  # noqa: F401

# isort: split
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from mtl_kit.calibration import (
    PlattScaling,
    expected_calibration_error,
    logit,
    predicted_to_observed,
    reliability_table,
    rescale_logits,
    sigmoid,
)


def _calibrated(seed=0, n=200_000):
    """Labels drawn from their own probabilities: calibrated by construction."""
    rng = np.random.default_rng(seed)
    p = sigmoid(rng.normal(-3.0, 1.0, n))
    return (rng.random(n) < p).astype(float), p


def test_a_calibrated_score_lies_on_the_diagonal():
    y, p = _calibrated()
    table = reliability_table(y, p, bins=10)
    assert table["rows"].sum() == y.size
    assert table["rows"].max() - table["rows"].min() <= 2  # quantile bins: equal sizes
    assert ((table["low"] <= table["mean_predicted"])
            & (table["mean_predicted"] <= table["high"])).mean() >= 0.8
    assert expected_calibration_error(y, p) < 0.003
    assert predicted_to_observed(y, p) == pytest.approx(1.0, abs=0.02)


@pytest.mark.parametrize("slope", [0.4, 2.5])
def test_a_distorted_score_keeps_its_auc_but_loses_calibration(slope):
    y, p = _calibrated(seed=1)
    distorted = rescale_logits(p, slope=slope)
    assert roc_auc_score(y, distorted) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert expected_calibration_error(y, distorted) > 5 * expected_calibration_error(y, p)


def test_platt_scaling_recovers_a_known_distortion():
    y, p = _calibrated(seed=2)
    score = sigmoid((logit(p) - 0.7) / 1.6)  # so that p = σ(1.6 · logit(score) + 0.7)
    fitted = PlattScaling.fit(y, score)
    assert fitted.slope == pytest.approx(1.6, abs=0.05)
    assert fitted.shift == pytest.approx(0.7, abs=0.08)
    assert expected_calibration_error(y, fitted(score)) < 0.003
    assert roc_auc_score(y, fitted(score)) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert PlattScaling()(np.array([0.2, 0.7])) == pytest.approx([0.2, 0.7])


def test_uniform_bins_and_empty_bins():
    y = np.array([0, 1, 0, 1.0])
    p = np.array([0.05, 0.07, 0.91, 0.95])
    table = reliability_table(y, p, bins=10, strategy="uniform")
    assert table["bin"].tolist() == [0, 9]  # the empty bins are dropped
    assert table["observed"].tolist() == [0.5, 0.5]
    assert table["mean_predicted"].tolist() == pytest.approx([0.06, 0.93])


def test_nan_labels_are_left_out():
    y, p = _calibrated(seed=3, n=2000)
    with_nan = y.copy()
    with_nan[:500] = np.nan
    assert expected_calibration_error(with_nan, p) == pytest.approx(
        expected_calibration_error(y[500:], p[500:]))


def test_bad_arguments_are_refused():
    y, p = _calibrated(seed=4, n=100)
    with pytest.raises(ValueError, match="bins must be an int >= 1"):
        reliability_table(y, p, bins=0)
    with pytest.raises(ValueError, match="strategy must be one of"):
        reliability_table(y, p, strategy="kmeans")
    with pytest.raises(ValueError, match="probabilities in"):
        reliability_table(y, p * 3)
    with pytest.raises(ValueError, match="0/1 labels"):
        expected_calibration_error(y * 2, p)
    with pytest.raises(ValueError, match="both classes"):
        PlattScaling.fit(np.zeros(5), np.full(5, 0.3))
    with pytest.raises(ValueError, match="slope must be a finite number > 0"):
        rescale_logits(p, slope=0)
    with pytest.raises(ValueError, match="no positive label"):
        predicted_to_observed(np.zeros(3), np.full(3, 0.1))
