"""Per-task metrics, the tidy table and Δm."""

import mtl_kit  # noqa: F401

# isort: split
import numpy as np
import pytest

from mtl_kit.metrics import delta_m, evaluate_tasks, metrics_wide
from mtl_kit.tasks import shop_tasks


def _fake():
    rng = np.random.default_rng(0)
    n = 400
    y = {"click": (rng.random(n) < 0.4).astype("float32"),
         "purchase": (rng.random(n) < 0.3).astype("float32"),
         "intent": rng.integers(0, 3, n).astype("float32"),
         "dwell": rng.normal(size=n).astype("float32")}
    y["purchase"][:200] = np.nan
    p = {"click": np.clip(y["click"] * 0.6 + rng.random(n) * 0.4, 0, 1),
         "purchase": rng.random(n),
         "intent": rng.dirichlet([1, 1, 1], n),
         "dwell": y["dwell"] + rng.normal(scale=0.5, size=n)}
    return y, p


def test_table_has_all_metrics_and_skips_masked_rows():
    y, p = _fake()
    table = evaluate_tasks(p, None, y, shop_tasks(("click", "purchase", "intent", "dwell")))
    assert list(table.columns) == ["task", "kind", "metric", "value", "higher_is_better", "n"]
    wide = metrics_wide(table)
    assert set(wide.columns) == {"auc", "accuracy", "f1", "recall", "mae", "rmse"}
    assert table[table.task == "purchase"]["n"].iloc[0] == 200
    assert wide.loc["click", "auc"] > 0.8
    assert 0.4 < wide.loc["purchase", "auc"] < 0.6 and not np.isnan(wide.loc["purchase", "auc"])
    assert wide.loc["dwell", "rmse"] == pytest.approx(0.5, abs=0.06)
    overall = table[table.task == "overall"].set_index("metric")["value"]
    assert overall["auc"] == pytest.approx(wide.loc[["click", "purchase", "intent"], "auc"].mean())


def test_delta_m_formula_and_signs():
    value = delta_m({"click": 0.80, "dwell": 0.9}, {"click": 0.75, "dwell": 1.0},
                    higher_is_better={"click": True, "dwell": False})
    expected = 100 * ((0.80 - 0.75) / 0.75 + (1.0 - 0.9) / 1.0) / 2
    assert value == pytest.approx(expected)
    assert delta_m({"a": 1.0}, {"a": 1.0}, higher_is_better=True) == 0.0
    y, p = _fake()
    tasks = shop_tasks(("click", "dwell"))
    worse = dict(p, click=np.random.default_rng(1).random(400), dwell=p["dwell"] * 2)
    assert delta_m(evaluate_tasks(worse, None, y, tasks),
                   evaluate_tasks(p, None, y, tasks)) < 0


def test_invalid_metrics_arguments():
    with pytest.raises(ValueError, match="higher_is_better"):
        delta_m({"a": 1.0}, {"a": 2.0})
    with pytest.raises(ValueError, match="same"):
        delta_m({"a": 1.0}, {"b": 2.0}, higher_is_better=True)
    with pytest.raises(ValueError, match="lacks labels"):
        evaluate_tasks({"click": np.zeros(3)}, None, {}, shop_tasks(("click",)))
