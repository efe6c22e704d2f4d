"""Gate spreads and the seed interval (mtl_kit.gate_history)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mtl_kit.gate_history import gate_spread, mean_gates, seed_mean_interval


def test_spread_is_max_minus_min_per_epoch_and_task():
    history = pd.DataFrame({
        "epoch": [0] * 4 + [1] * 4,
        "task": ["click", "click", "purchase", "purchase"] * 2,
        "expert": [1, 2] * 4,
        "weight": [0.5, 0.5, 0.4, 0.6, 0.9, 0.1, 0.3, 0.7],
    })
    spread = gate_spread(history)
    assert spread.loc[0].round(6).to_dict() == {"click": 0.0, "purchase": 0.2}
    assert spread.loc[1].round(6).to_dict() == {"click": 0.8, "purchase": 0.4}


def test_seed_mean_interval_is_students_t():
    values = [0.2, 0.3, 0.25, 0.4, 0.1]
    mean, low, high = seed_mean_interval(values)
    half = stats.t.ppf(0.975, 4) * np.std(values, ddof=1) / np.sqrt(5)
    assert mean == pytest.approx(0.25)
    assert (low, high) == pytest.approx((0.25 - half, 0.25 + half))
    with pytest.raises(ValueError, match="values"):
        seed_mean_interval([0.3])


def test_a_model_without_gates_is_refused():
    with pytest.raises(TypeError, match="model must have gates"):
        mean_gates(object(), {})
