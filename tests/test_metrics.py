"""Per-task metrics, the tidy table and Δm."""

import warnings

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


# -- thresholds, the metrics beyond the defaults, influences --------------------------------
from sklearn import metrics as skm  # noqa: E402

from mtl_kit.intervals import influence  # noqa: E402
from mtl_kit.metrics import (  # noqa: E402
    AVAILABLE_METRICS,
    average_precision_influence,
    best_f1_threshold,
    choose_thresholds,
    metric_estimate,
    metric_influence,
    task_average_estimate,
)
from mtl_kit.ranking import ranking_metric  # noqa: E402


def _rare(seed=0, n=4000, rate=0.03):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < rate).astype(float)
    p = 1 / (1 + np.exp(-(np.log(rate / (1 - rate)) + 1.2 * y + rng.normal(scale=0.8, size=n))))
    return y, p, rng.integers(0, 300, n)


def test_threshold_half_finds_no_rare_positive_but_a_chosen_one_does():
    y, p, _ = _rare()
    p = np.minimum(p, 0.45)  # like the course's models: no rare-positive probability reaches 0.5
    tasks = shop_tasks(("purchase",))
    naive = metrics_wide(evaluate_tasks({"purchase": p}, None, {"purchase": y}, tasks))
    assert naive.loc["purchase", "recall"] == 0 and naive.loc["purchase", "f1"] == 0
    assert naive.loc["purchase", "accuracy"] == pytest.approx(1 - y.mean())
    chosen = choose_thresholds({"purchase": p}, None, {"purchase": y}, tasks)
    assert set(chosen) == {"purchase"} and chosen["purchase"] < 0.5
    tuned = metrics_wide(evaluate_tasks({"purchase": p}, None, {"purchase": y}, tasks,
                                        thresholds=chosen))
    assert tuned.loc["purchase", "f1"] > 0.1
    assert tuned.loc["purchase", "accuracy"] < naive.loc["purchase", "accuracy"]


def test_best_f1_threshold_beats_every_other_threshold():
    y, p, _ = _rare(seed=1, n=800)
    t, f1 = best_f1_threshold(y, p)
    assert f1 == pytest.approx(skm.f1_score(y, p >= t))
    assert all(skm.f1_score(y, p >= c, zero_division=0) <= f1 + 1e-12 for c in np.unique(p))


@pytest.mark.parametrize("threshold", [0.02, 0.05, 0.5])
def test_thresholded_metrics_equal_scikit_learn_at_that_threshold(threshold):
    y, p, _ = _rare(seed=2)
    table = metrics_wide(evaluate_tasks(
        {"purchase": p}, None, {"purchase": y}, shop_tasks(("purchase",)),
        thresholds={"purchase": threshold},
        metrics=("accuracy", "precision", "recall", "f1", "pr_auc", "log_loss")))
    row = table.loc["purchase"]
    hard = p >= threshold
    assert row["precision"] == pytest.approx(skm.precision_score(y, hard, zero_division=0))
    assert row["recall"] == pytest.approx(skm.recall_score(y, hard))
    assert row["f1"] == pytest.approx(skm.f1_score(y, hard, zero_division=0))
    assert row["accuracy"] == pytest.approx(skm.accuracy_score(y, hard))
    assert row["pr_auc"] == pytest.approx(skm.average_precision_score(y, p))
    assert row["log_loss"] == pytest.approx(skm.log_loss(y, p))


def test_metrics_argument_reports_what_each_kind_supports():
    y, p = _fake()
    tasks = shop_tasks(("click", "intent", "dwell"))
    table = evaluate_tasks(p, None, y, tasks, metrics=("log_loss", "rmse"), overall=False)
    assert sorted(zip(table.task, table.metric, strict=True)) == [
        ("click", "log_loss"), ("dwell", "rmse"), ("intent", "log_loss")]
    assert table.set_index("metric").loc["log_loss", "higher_is_better"].tolist() == [False] * 2
    intent = table[table.task == "intent"]["value"].iloc[0]
    assert intent == pytest.approx(skm.log_loss(y["intent"], p["intent"], labels=[0, 1, 2]))


def test_bad_thresholds_and_metrics_are_refused_before_any_work():
    y, p = _fake()
    tasks = shop_tasks(("click", "dwell"))
    with pytest.raises(ValueError, match="thresholds must be keyed by binary tasks"):
        evaluate_tasks(p, None, y, tasks, thresholds={"dwell": 0.3})
    with pytest.raises(ValueError, match=r"thresholds\['click'\] must be a finite number"):
        evaluate_tasks(p, None, y, tasks, thresholds={"click": 1.0})
    with pytest.raises(TypeError, match="thresholds must be a finite number"):
        evaluate_tasks(p, None, y, tasks, thresholds=True)
    with pytest.raises(ValueError, match="metrics must be names from"):
        evaluate_tasks(p, None, y, tasks, metrics=("ndcg",))
    with pytest.raises(ValueError, match="apply to none of the tasks"):
        evaluate_tasks(p, None, y, shop_tasks(("dwell",)), metrics=("f1",))
    with pytest.raises(ValueError, match="rule must be one of"):
        choose_thresholds(p, None, y, tasks, rule="youden")
    with pytest.raises(ValueError, match="no positive label"):
        best_f1_threshold(np.zeros(4), np.ones(4) / 2)


@pytest.mark.parametrize("metric", [m for m in AVAILABLE_METRICS["binary"]])
def test_every_binary_influence_reports_what_evaluate_tasks_reports(metric):
    y, p, users = _rare(seed=3)
    y[::7] = np.nan
    value, psi = metric_influence(metric, "binary", y, p, users, threshold=0.04)
    table = evaluate_tasks({"purchase": p}, None, {"purchase": y}, shop_tasks(("purchase",)),
                           thresholds=0.04, metrics=(metric,))
    assert value == pytest.approx(table["value"].iloc[0])
    assert np.all(psi[np.isnan(y)] == 0) and abs(psi.sum()) < 1e-10


@pytest.mark.parametrize("metric", ["recall", "f1", "accuracy", "auc"])
def test_at_one_half_the_influences_are_those_of_mtl_kit_intervals(metric):
    y, p, users = _rare(seed=4)
    ours = metric_influence(metric, "binary", y, p, users)
    theirs = influence(metric, "binary", y, p)
    assert ours[0] == pytest.approx(theirs[0])
    np.testing.assert_allclose(ours[1], theirs[1], atol=1e-15)


def test_ranking_metrics_go_through_the_same_door():
    y, p, users = _rare(seed=5)
    for metric in ("gauc", "ndcg@5", "hr@10"):
        assert metric_influence(metric, "binary", y, p, users)[0] == pytest.approx(
            ranking_metric(metric, y, p, users))
    with pytest.raises(ValueError, match="users is required"):
        metric_influence("gauc", "binary", y, p)
    with pytest.raises(ValueError, match="needs a binary task"):
        metric_influence("gauc", "regression", y, p, users)
    with pytest.raises(ValueError, match="metric for a regression task must be one of"):
        metric_influence("f1", "regression", y, p)


@pytest.mark.parametrize("metric", ["pr_auc", "log_loss", "precision"])
def test_influence_predicts_the_effect_of_one_more_row(metric):
    """Adding a copy of row r moves the metric by about ψ_r · n / (n + 1) (first order)."""
    y, p, users = _rare(seed=6, n=3000, rate=0.05)
    p = np.round(p, 3)  # ties, as sklearn's average precision handles them
    value, psi = metric_influence(metric, "binary", y, p, users, threshold=0.06)
    rows = [*np.flatnonzero(y == 1)[:4], *np.flatnonzero(y == 0)[:4]]
    for r in rows:
        more = metric_influence(metric, "binary", np.r_[y, y[r]], np.r_[p, p[r]],
                                np.r_[users, users[r]], threshold=0.06)[0]
        assert (more - value) * (y.size + 1) == pytest.approx(psi[r] * y.size, rel=0.05,
                                                              abs=2e-3)


def test_average_precision_interval_matches_the_bootstrap():
    y, p, _ = _rare(seed=7, n=3000, rate=0.05)
    ap, psi = average_precision_influence(y, p)
    assert ap == pytest.approx(skm.average_precision_score(y, p))
    rng = np.random.default_rng(0)
    boots = [skm.average_precision_score(y[i], p[i])
             for i in (rng.integers(0, y.size, y.size) for _ in range(300))]
    assert np.sqrt(np.sum(psi**2)) == pytest.approx(np.std(boots), rel=0.2)


def test_metric_estimate_pairs_seeds_and_accepts_per_seed_thresholds():
    y, p, users = _rare(seed=8)
    rng = np.random.default_rng(1)
    seeds = [np.clip(p * rng.uniform(0.9, 1.1, p.size), 0, 1) for _ in range(3)]
    same = metric_estimate("f1", "binary", y, seeds, users, reference=seeds,
                           thresholds=[0.03, 0.04, 0.05], reference_thresholds=[0.03, 0.04, 0.05])
    assert same.mean == 0 and same.low == 0 and same.high == 0
    alone = metric_estimate("pr_auc", "binary", y, seeds, users)
    assert alone.low < alone.mean < alone.high and alone.n_seeds == 3
    with pytest.raises(ValueError, match="thresholds must be one threshold or one per seed"):
        metric_estimate("f1", "binary", y, seeds, users, thresholds=[0.1, 0.2])


def test_task_average_estimate_is_the_mean_difference_or_delta_m():
    y, p = _fake()
    rng = np.random.default_rng(2)
    tasks = shop_tasks(("click", "dwell"))
    users = np.repeat(np.arange(100), 4)
    model = {t: [p[t] + rng.normal(scale=0.05, size=400) for _ in range(2)] for t in
             ("click", "dwell")}
    model["click"] = [np.clip(v, 0, 1) for v in model["click"]]
    base = {t: [p[t]] * 2 for t in ("click", "dwell")}
    relative = task_average_estimate(tasks, y, model, users, reference=base, relative=True)
    per_seed = [delta_m(evaluate_tasks({t: model[t][k] for t in model}, None, y, tasks),
                        evaluate_tasks({t: base[t][k] for t in base}, None, y, tasks))
                for k in range(2)]
    assert relative.mean == pytest.approx(np.mean(per_seed))
    plain = task_average_estimate(tasks, y, model, users, reference=base)
    expected = np.mean([np.mean([
        metrics_wide(evaluate_tasks({t: model[t][k]}, None, y, [s]))
        .loc[t, s.primary_metric] - metrics_wide(evaluate_tasks({t: base[t][k]}, None, y, [s]))
        .loc[t, s.primary_metric] for t, s in zip(("click", "dwell"), tasks, strict=True)])
        for k in range(2)])
    assert plain.mean == pytest.approx(expected)
    with pytest.raises(ValueError, match="needs the reference"):
        task_average_estimate(tasks, y, model, users, relative=True)


def test_default_threshold_that_finds_nothing_is_reported():
    """Rare positives, scores all below 0.5: recall and F1 are 0 at the default threshold, and
    evaluate_tasks says so and how to fix it; with a threshold chosen on validation it is quiet."""
    from mtl_kit.metrics import choose_thresholds, evaluate_tasks
    from mtl_kit.tasks import TaskSpec

    rng = np.random.default_rng(0)
    labels = (rng.random(400) < 0.05).astype("float64")
    scores = np.clip(0.02 + 0.2 * labels + 0.05 * rng.random(400), 0, 0.4)
    task = [TaskSpec("purchase", "binary")]
    with pytest.warns(UserWarning, match="purchase.*default threshold 0.5.*choose_thresholds"):
        table = evaluate_tasks({"purchase": scores}, None, {"purchase": labels}, task)
    assert table.set_index("metric").loc["recall", "value"] == 0.0
    cut = choose_thresholds({"purchase": scores}, None, {"purchase": labels}, task)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = evaluate_tasks({"purchase": scores}, None, {"purchase": labels}, task,
                               thresholds=cut)
    assert table.set_index("metric").loc["recall", "value"] > 0.9


def test_a_default_threshold_that_flags_almost_nothing_is_reported_too():
    """A few rows above 0.5 do not make 0.5 a sensible threshold: with fewer flagged rows than a
    tenth of the positives (recall at most 0.1) evaluate_tasks still warns and names PR AUC;
    once 0.5 flags enough rows it is quiet."""
    from mtl_kit.metrics import FEW_FLAGGED, evaluate_tasks
    from mtl_kit.tasks import TaskSpec

    rng = np.random.default_rng(1)
    labels = (rng.random(2000) < 0.05).astype("float64")
    scores = np.clip(0.02 + 0.2 * labels + 0.05 * rng.random(2000), 0, 0.4)
    positives = int(labels.sum())
    task = [TaskSpec("purchase", "binary")]
    few = int(FEW_FLAGGED * positives) - 1
    scores[np.flatnonzero(labels)[:few]] = 0.6  # a handful of confident hits
    with pytest.warns(UserWarning, match=f"only {few} 'purchase' predictions .*pr_auc"):
        table = evaluate_tasks({"purchase": scores}, None, {"purchase": labels}, task)
    assert 0 < table.set_index("metric").loc["recall", "value"] < FEW_FLAGGED
    scores[np.flatnonzero(labels)[:positives // 2]] = 0.6  # half the positives reach 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        evaluate_tasks({"purchase": scores}, None, {"purchase": labels}, task)
