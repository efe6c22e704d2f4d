"""The funnel's bias and gap, with intervals, on arrays whose answers are known."""

import numpy as np
import pytest

from mtl_kit.funnel import bias, cvr_on_clicks_labels, funnel_gap, funnel_table


def arrays(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    clicked = rng.random(n) < 0.3
    truth = np.where(clicked, 0.2, 0.1) + rng.normal(scale=0.01, size=n)
    users = rng.integers(0, 300, n)
    return truth, clicked, users


def test_cvr_on_clicks_keeps_the_purchase_label_of_clicked_rows_only():
    labels = cvr_on_clicks_labels([1, 0, 1, np.nan], [1, 0, 0, np.nan])
    np.testing.assert_array_equal(labels, [1, np.nan, 0, np.nan])
    with pytest.raises(ValueError, match="same length"):
        cvr_on_clicks_labels([1, 0], [1])


def test_bias_and_gap_recover_known_shifts():
    truth, clicked, users = arrays()
    flat = [np.full(truth.shape, 0.2) + 0.001 * k for k in range(3)]   # ignores the click
    off = bias(flat, truth, clicked, users, "not clicked")
    on = bias(flat, truth, clicked, users, "clicked")
    assert off.low > 0.09 and off.high < 0.11          # +0.1 where nobody clicked
    assert abs(on.mean) < 0.01
    assert abs(funnel_gap(flat, clicked, users).mean) < 1e-9
    true_gap = funnel_gap([truth], clicked, users)
    assert true_gap.high < -0.09 and true_gap.low > -0.11
    table = funnel_table({"flat": flat, "truth": [truth]}, truth, clicked, users)
    assert list(table["population"]) == ["all", "clicked", "not clicked"] * 2
    np.testing.assert_allclose(table.loc[table["model"] == "truth", "bias"], 0.0, atol=1e-12)


def test_bad_arguments_are_refused():
    truth, clicked, users = arrays(100)
    with pytest.raises(ValueError, match="population must be one of"):
        bias([truth], truth, clicked, users, "everyone")
    with pytest.raises(ValueError, match="one entry per row"):
        bias([truth[:10]], truth, clicked, users)
    with pytest.raises(ValueError, match="one array per seed"):
        funnel_gap([], clicked, users)
    with pytest.raises(ValueError, match="True/False"):
        funnel_gap([truth], np.full(100, 2), users)
