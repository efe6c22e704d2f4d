"""Calibration: reliability tables, ECE, Platt scaling, and distortions that keep the ranking."""

import mtl_kit  # noqa: F401

# isort: split
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from mtl_kit.calibration import (
    PlattScaling,
    ece_difference,
    expected_calibration_error,
    logit,
    predicted_to_observed,
    predicted_to_observed_estimate,
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


def test_the_ratio_interval_covers_the_population_ratio():
    """Σp/Σy of calibrated draws: over 200 fresh samples of users (rows clustered in users of
    10), the 95 % interval covers the population value 1 in 90-99 % of them; a model that
    predicts 20 % too much has its interval above 1."""
    rng = np.random.default_rng(7)
    covered = 0
    for _ in range(200):
        user_effect = np.repeat(rng.normal(0.0, 0.5, 300), 10)  # rows of one user are alike
        p = sigmoid(-3.0 + user_effect + rng.normal(0.0, 1.0, user_effect.size))
        y = (rng.random(p.size) < p).astype(float)
        users = np.repeat(np.arange(300), 10)
        est = predicted_to_observed_estimate(y, [p], users)
        covered += est.low <= 1.0 <= est.high
    assert 0.90 <= covered / 200 <= 0.99, covered
    y, p = _calibrated(seed=8, n=50_000)
    users = np.arange(y.size) // 5
    assert predicted_to_observed_estimate(y, [1.2 * p, 1.2 * p], users).low > 1.0


def test_the_ratio_difference_is_paired_seed_by_seed():
    y, p = _calibrated(seed=9, n=20_000)
    users = np.arange(y.size) // 4
    before = [0.75 * p, 0.75 * p]
    after = [p, p]
    diff = predicted_to_observed_estimate(y, after, users, reference=before)
    expected = np.mean([predicted_to_observed(y, a) - predicted_to_observed(y, b)
                        for a, b in zip(after, before, strict=True)])
    assert diff.mean == pytest.approx(expected)
    assert diff.low > 0  # a paired change of +0.25 is far outside the noise
    with pytest.raises(ValueError, match="reference has 1 seeds, predictions 2"):
        predicted_to_observed_estimate(y, after, users, reference=before[:1])
    with pytest.raises(ValueError, match="users has 3 rows"):
        predicted_to_observed_estimate(y, after, users[:3])


def test_ece_difference_is_a_t_interval_over_the_seeds():
    y, p = _calibrated(seed=10, n=20_000)
    distorted = [rescale_logits(p, slope) for slope in (1.6, 1.8, 2.0)]
    plain = [p, p, p]
    change = ece_difference(y, plain, distorted)
    changes = [expected_calibration_error(y, p) - expected_calibration_error(y, d)
               for d in distorted]
    half = 4.302653 * np.std(changes, ddof=1) / np.sqrt(3)  # t quantile, 2 degrees of freedom
    assert change.mean == pytest.approx(np.mean(changes))
    assert (change.low, change.high) == pytest.approx(
        (np.mean(changes) - half, np.mean(changes) + half), rel=1e-6)
    assert change.high < 0  # the calibrated score has the lower ECE
    with pytest.raises(ValueError, match="at least 2"):
        ece_difference(y, [p], [p])
