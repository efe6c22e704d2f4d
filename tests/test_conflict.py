"""mtl_kit.conflict: loss and gradient scales, and when a summed step raises a task's loss."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mtl_kit.conflict import (
    conflict_table,
    conflict_threshold,
    cosine_key,
    logged,
    pull_on,
    scales,
)


def test_the_first_order_rule_matches_the_vectors():
    """pull_on(‖g_a‖, ‖g_b‖, cos) = g_a · d / ‖g_a‖ for d = λ_a g_a + λ_b g_b, and its sign
    changes exactly at the threshold cosine."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        g_a, g_b = rng.normal(size=6), rng.normal(size=6) * rng.uniform(0.01, 100)
        w_a, w_b = rng.uniform(0.01, 3, size=2)
        norm_a, norm_b = np.linalg.norm(g_a), np.linalg.norm(g_b)
        cosine = g_a @ g_b / (norm_a * norm_b)
        step = w_a * g_a + w_b * g_b
        assert pull_on(norm_a, norm_b, cosine, w_a, w_b) == pytest.approx(g_a @ step / norm_a)
        threshold = conflict_threshold(norm_a, norm_b, w_a, w_b)
        assert (g_a @ step > 0) == (cosine > threshold)
    # equal weighted norms: only cos < -1 would raise L_a; a 300x longer g_b: cos < -1/300
    assert conflict_threshold(2.0, 1.0, 1.0, 2.0) == pytest.approx(-1.0)
    assert conflict_threshold(1.0, 300.0) == pytest.approx(-1 / 300)
    assert conflict_threshold(1.0, 0.0) == -np.inf  # nothing pulls against a
    np.testing.assert_allclose(conflict_threshold([1.0, 2.0], [4.0, 4.0]), [-0.25, -0.5])


def test_the_rule_refuses_impossible_values():
    with pytest.raises(ValueError, match="norms and weights must be >= 0"):
        conflict_threshold(-1.0, 1.0)
    with pytest.raises(ValueError, match="cosine must lie in"):
        pull_on(1.0, 1.0, 1.5)


def _history(click_norm, dwell_norm, cosine, click_loss=0.3, dwell_loss=90.0):
    epochs = len(cosine)
    return {"click_loss": [click_loss] * epochs, "dwell_loss": [dwell_loss] * epochs,
            "click_grad_norm": list(click_norm), "dwell_grad_norm": list(dwell_norm),
            "click_weight": [1.0] * epochs, "dwell_weight": [1.0] * epochs,
            "grad_cosine_click_dwell": list(cosine)}


def test_scales_are_means_over_seeds_at_the_last_epoch():
    histories = [_history([0.2, 0.1], [30.0, 20.0], [0.1, -0.1]),
                 _history([0.2, 0.3], [30.0, 40.0], [0.1, -0.1], click_loss=0.5)]
    table = scales(histories, ["click", "dwell"])
    assert isinstance(table, pd.DataFrame) and list(table.index) == ["click", "dwell"]
    assert table.loc["click", "gradient norm"] == pytest.approx(0.2)
    assert table.loc["dwell", "norm ÷ first"] == pytest.approx(30.0 / 0.2)
    assert table.loc["dwell", "loss ÷ first"] == pytest.approx(90.0 / 0.4)
    assert scales(histories, ["click", "dwell"], epoch=0).loc["dwell", "norm ÷ first"] == \
        pytest.approx(150.0)
    with pytest.raises(ValueError, match="at least two tasks"):
        scales(histories, ["click"])
    with pytest.raises(KeyError, match="gradient_diagnostics=True"):
        scales([{"click_loss": [1.0], "dwell_loss": [1.0]}], ["click", "dwell"])
    with pytest.raises(TypeError, match="list of fit histories"):
        scales([1, 2], ["click", "dwell"])


def test_conflict_table_counts_the_seeds_whose_step_lowers_each_loss():
    # epoch 1 agrees; epoch 2 conflicts a little: enough to raise click's loss when dwell's
    # gradient is 100x longer (threshold -0.01), not when it is only 2x (threshold -0.5)
    long = _history([0.1, 0.1], [10.0, 10.0], [0.2, -0.05])
    short = _history([0.1, 0.1], [0.2, 0.2], [0.2, -0.05])
    table = conflict_table([long, short], "click", "dwell")
    assert list(table.index) == [1, 2]
    assert table.loc[1, "step lowers click (share of seeds)"] == 1.0
    assert table.loc[2, "step lowers click (share of seeds)"] == 0.5
    assert table.loc[2, "step lowers dwell (share of seeds)"] == 1.0
    assert table.loc[2, "click threshold"] == pytest.approx((-0.01 - 0.5) / 2)
    assert table.loc[2, "cosine"] == pytest.approx(-0.05)
    # the λ of a fixed-weight run instead of the logged weights
    weighted = conflict_table([long], "click", "dwell", weights={"click": 1.0, "dwell": 0.001})
    assert weighted.loc[2, "step lowers click (share of seeds)"] == 1.0
    # the pair found whichever way round it was logged
    swapped = {k.replace("grad_cosine_click_dwell", "grad_cosine_dwell_click"): v
               for k, v in long.items()}
    assert cosine_key("click", "dwell", [swapped]) == "grad_cosine_dwell_click"
    assert conflict_table([swapped], "click", "dwell").loc[2, "cosine"] == pytest.approx(-0.05)
    assert logged(long, "click_grad_norm").shape == (1, 2)  # one history is one seed
