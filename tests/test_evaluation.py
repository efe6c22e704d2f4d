"""Every metric on a Comparison: the same numbers as Comparison for AUC, thresholds from
validation only, task averages, and the printable table."""

import mtl_kit  # noqa: F401

# isort: split
import pytest
from conftest_comparisons import fake_comparison

from mtl_kit import evaluation
from mtl_kit.metrics import best_f1_threshold, metric_estimate


@pytest.fixture(scope="module")
def val():
    return fake_comparison({"base": 0.0, "better": 1.5}, split="val")


@pytest.fixture(scope="module")
def test():
    return fake_comparison({"base": 0.0, "better": 1.5}, split="test", seed=1)


def test_auc_agrees_with_the_comparison_itself(val):
    for task in ("click", "purchase"):
        ours = evaluation.estimate(val, "better", task, "auc")
        theirs = val.estimate("better", task)
        assert (ours.mean, ours.low, ours.high) == pytest.approx(
            (theirs.mean, theirs.low, theirs.high))
        ours = evaluation.difference(val, "better", task)
        theirs = val.difference("better", task)
        assert (ours.mean, ours.low, ours.high) == pytest.approx(
            (theirs.mean, theirs.low, theirs.high))
    assert evaluation.task_average(val, "better", relative=True).mean == pytest.approx(
        val.delta_m("better").mean)


def test_thresholds_come_from_validation_and_apply_to_test(val, test):
    thresholds = evaluation.seed_thresholds(val, "better")
    assert set(thresholds) == {"click", "purchase"} and len(thresholds["purchase"]) == 3
    assert thresholds["purchase"][1] == best_f1_threshold(
        val.y_true["purchase"], val.predictions("better", "purchase")[1])[0]
    with pytest.raises(ValueError, match="chosen on the validation split"):
        evaluation.seed_thresholds(test, "better")
    f1 = evaluation.estimate(test, "better", "purchase", "f1", thresholds)
    expected = metric_estimate("f1", "binary", test.y_true["purchase"],
                               test.predictions("better", "purchase"), test.users,
                               thresholds=thresholds["purchase"])
    assert f1.mean == pytest.approx(expected.mean) and f1.low == pytest.approx(expected.low)
    at_half = evaluation.estimate(test, "better", "purchase", "f1")
    assert f1.mean > at_half.mean  # the chosen thresholds beat 0.5 on rare positives


def test_metrics_table_and_its_readable_form(val, test):
    thresholds = {m: evaluation.seed_thresholds(val, m) for m in ("base", "better")}
    table = evaluation.metrics_table(test, ("f1", "gauc", "ndcg@3"), thresholds=thresholds)
    assert len(table) == 2 * 2 * 3
    assert table[table.model == "base"]["verdict"].isna().all()
    better = table.set_index(["model", "task", "metric"]).loc[("better", "purchase", "gauc")]
    assert better["verdict"] == "better" and better["diff_low"] > 0
    text = evaluation.readable(table)
    assert list(text.columns) == ["model", "task", "metric", "mean [95 % interval]",
                                  "paired difference", "verdict"]
    row = text[(text.model == "better") & (text.metric == "gauc") & (text.task == "purchase")]
    assert row["paired difference"].iloc[0].startswith("+")
    with pytest.raises(ValueError, match="metric must be one of"):
        evaluation.metrics_table(test, ("ndcg",))
    with pytest.raises(TypeError, match="non-empty list"):
        evaluation.metrics_table(test, "auc")
    with pytest.raises(ValueError, match="digits must be an int"):
        evaluation.readable(table, digits=-1)


def test_arguments_are_checked(val):
    with pytest.raises(TypeError, match="a Comparison"):
        evaluation.estimate({"not": "a comparison"}, "base", "click")
    with pytest.raises(ValueError, match="model must be one of"):
        evaluation.estimate(val, "nope", "click")
    with pytest.raises(ValueError, match="one per seed"):
        evaluation.estimate(val, "base", "click", "f1", thresholds={"click": [0.1, 0.2]})
    with pytest.raises(ValueError, match="rule must be one of"):
        evaluation.seed_thresholds(val, "base", rule="other")
