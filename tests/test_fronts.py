"""Pareto fronts: the dominance rule, directions, and the front table of a comparison."""

import mtl_kit  # noqa: F401

# isort: split
import numpy as np
import pytest
from conftest_comparisons import fake_comparison

from mtl_kit.fronts import front_table, pareto_front


def _brute_force(points):
    points = np.asarray(points)
    return np.array([not any(np.all(q >= p) and np.any(q > p) for q in points)
                     for p in points])


def test_front_matches_the_definition_on_random_points():
    rng = np.random.default_rng(0)
    for _ in range(20):
        points = np.round(rng.random((12, 2)), 1)  # ties and duplicates happen
        np.testing.assert_array_equal(pareto_front(points), _brute_force(points))


def test_directions_and_duplicates():
    points = [[0.7, 10.0], [0.8, 12.0], [0.8, 12.0], [0.6, 9.0]]
    assert pareto_front(points).tolist() == [False, True, True, False]  # duplicates both stay
    # with "lower is better" on the second objective, no point beats another on both
    assert pareto_front(points, [True, False]).tolist() == [True, True, True, True]
    assert pareto_front([[1.0, 1.0], [2.0, 2.0]], False).tolist() == [True, False]
    assert pareto_front([[1.0, 1.0]]).tolist() == [True]


def test_bad_points_are_refused():
    with pytest.raises(ValueError, match="2-d table"):
        pareto_front([1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        pareto_front([[1.0, np.nan]])
    with pytest.raises(ValueError, match="one bool or 2 bools"):
        pareto_front([[1.0, 2.0]], [True])


def test_front_table_of_a_comparison():
    comparison = fake_comparison({"base": 0.0, "better": 1.5, "worse": -1.0})
    table = front_table(comparison)
    assert list(table["model"]) == ["base", "better", "worse"]
    base = table.set_index("model").loc["base"]
    assert base["purchase diff"] == 0 and base["Δm"] == 0
    better = table.set_index("model").loc["better"]
    assert better["purchase low"] > 0 and better["Δm low"] > 0
    assert better["Δm"] == pytest.approx(comparison.delta_m("better").mean)
    means = table[["click", "purchase"]].to_numpy()
    np.testing.assert_array_equal(table["on_front"].to_numpy(), pareto_front(means))
    best_purchase = table.loc[table["purchase"].idxmax(), "model"]
    assert best_purchase == "better" and table.set_index("model").loc["better", "on_front"]
    with pytest.raises(ValueError, match="models must be among"):
        front_table(comparison, models=["nope"])
