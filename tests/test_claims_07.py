"""Lesson 7's claims (evaluating), as tests on the generator, whose true probabilities are known.

Two kinds of evidence. The generator's **true probabilities** (``ShopData.truth``) are the best
possible, perfectly calibrated model, so claims about metrics themselves are checked on them,
on other shops than the lesson's (data seeds 1 and 2), without training anything:

1. At the threshold 0.5, even the true purchase probabilities are barely more accurate than
   answering "no" to everyone (within 0.001), although their AUC is above 0.9: accuracy
   cannot tell a perfect ranking from none when positives are rare.
2. A random score's average precision is the positive rate (within 20 %); the truth's is many
   times higher.
3. GAUC is below the pooled AUC, even for the truth.
4. The truth is calibrated (ECE below 0.003); distorting pCVR by σ(a · logit pCVR) keeps its
   AUC exactly and lowers the NDCG@5 of the ranking by pCTR × pCVR at a = 0.25 and a = 4 by
   at least 0.01 against a = 1.

And claims about the lesson's **trained models**, on the course's shop (λ_purchase = 0.1, 1
and 10 against the cached single-task baselines, 3 seeds, trained once by ``selection.sweep``):

5. At 0.5 no model finds a purchase (recall below 0.01), click hardly any (below 0.05), and
   ``evaluate_tasks`` warns about purchase; each seed's F1 threshold from validation gives a
   test F1 within 20 % of the best threshold for test itself, and a purchase accuracy below
   that of always answering "no".
6. Models' AP lies above twice the purchase rate and below 0.2; their NDCG@5 and HR@5 lie
   between a random score's and the truth's; GAUC is below AUC.
7. The course's training split holds a lower purchase rate than test, the models predict
   fewer purchases than happen, and Platt scaling fitted on validation cuts purchase's
   mean calibration error by a third or more and brings the seeds' predicted / observed ratios
   together, without changing the AUC.
8. Δm on F1 is more than twice Δm on AUC (a small baseline makes a large percentage).
9. λ_purchase = 10 costs click detectably and is off the Pareto front on validation.
10. The best and the worst seed of one model differ detectably on the same test rows.
11. Sharing (λ = 1) helps purchase on every metric the lesson reads: ROC AUC, PR AUC, GAUC,
    log loss, NDCG@5 and F1 at the validation thresholds (paired intervals exclude 0), while
    click's AUC moves by less than 0.01 and the average accuracy over the tasks by less than
    0.015.
12. On validation the small weights do not compete: λ = 0.1's AUC differences lie within
    λ = 1's intervals on both tasks.
"""

import mtl_kit  # noqa: F401

# isort: split
from functools import cache

import numpy as np
import pytest
from sklearn import metrics as skm

from mtl_kit import evaluation, ranking
from mtl_kit.calibration import (
    PlattScaling,
    expected_calibration_error,
    predicted_to_observed,
    rescale_logits,
)
from mtl_kit.course import course_data
from mtl_kit.fronts import front_table
from mtl_kit.metrics import best_f1_threshold, evaluate_tasks, metric_estimate

pytestmark = pytest.mark.slow

TASKS = ("click", "purchase")
OTHER_SHOPS = (1, 2)
MTL, SINGLE = "λ=1", "single-task"


@cache
def _shop(seed):
    return course_data(TASKS, seed=seed)


@cache
def _runs():
    from mtl_kit.models import build_hard_sharing
    from mtl_kit.selection import sweep

    data = _shop(0)
    model = build_hard_sharing(TASKS, data.features, shared=(64, 32), head=(16,), seed=0)

    def weight(lam):
        def builder(seed):
            model.set_loss_weights({"click": 1.0, "purchase": lam})
            return model
        return builder

    runs = sweep({"λ=0.1": weight(0.1), MTL: weight(1.0), "λ=10": weight(10.0)}, data,
                 seeds=3)
    return runs, runs.test(MTL)


# -- on the truth, other shops ----------------------------------------------------------------


@pytest.mark.parametrize("seed", OTHER_SHOPS)
def test_accuracy_cannot_tell_the_truth_from_always_no(seed):
    data = _shop(seed)
    y, truth = data.y_test["purchase"], data.test.truth("purchase")
    assert skm.roc_auc_score(y, truth) > 0.9
    assert abs(skm.accuracy_score(y, truth >= 0.5) - (1 - y.mean())) < 0.001


@pytest.mark.parametrize("seed", OTHER_SHOPS)
def test_average_precision_is_read_against_the_rate(seed):
    data = _shop(seed)
    for task in TASKS:
        y = data.y_test[task]
        rate = y.mean()
        random_score = np.random.default_rng(seed).random(y.size)
        assert skm.average_precision_score(y, random_score) == pytest.approx(rate, rel=0.2)
        assert skm.average_precision_score(y, data.test.truth(task)) > 4 * rate


@pytest.mark.parametrize("seed", OTHER_SHOPS)
def test_gauc_is_below_the_pooled_auc_even_for_the_truth(seed):
    data = _shop(seed)
    users = data.users("test")
    for task in TASKS:
        y, truth = data.y_test[task], data.test.truth(task)
        assert ranking.gauc(y, truth, users) < skm.roc_auc_score(y, truth) - 0.01


@pytest.mark.parametrize("seed", OTHER_SHOPS)
def test_a_distorted_pcvr_keeps_its_auc_but_ranks_the_product_worse(seed):
    data = _shop(seed)
    users, y = data.users("test"), data.y_test
    p_click, p_cvr = data.test.truth("click"), data.test.truth("cvr")
    for task in TASKS:
        assert expected_calibration_error(y[task], data.test.truth(task)) < 0.003
    clicked = y["click"] == 1
    ndcg, auc = {}, {}
    for slope in (0.25, 1.0, 4.0):
        cvr = rescale_logits(p_cvr, slope)
        auc[slope] = skm.roc_auc_score(y["purchase"][clicked], cvr[clicked])
        ndcg[slope] = ranking.ndcg_at_k(y["purchase"], p_click * cvr, users, 5)
    assert np.ptp(list(auc.values())) < 1e-9
    assert ndcg[1.0] > max(ndcg[0.25], ndcg[4.0]) + 0.01, ndcg
    for slope in (0.25, 4.0):  # paired over the same customers, as the lesson states it
        change = metric_estimate("ndcg@5", "binary", y["purchase"],
                                 [p_click * rescale_logits(p_cvr, slope)], users,
                                 reference=[p_click * p_cvr])
        assert change.high < 0, (seed, slope, change)


# -- the trained models, on the course's shop -------------------------------------------------


def test_no_purchase_is_found_at_one_half_and_validation_thresholds_carry_over():
    runs, test = _runs()
    for model in (MTL, SINGLE):
        thresholds = evaluation.seed_thresholds(runs.val, model)
        for task in TASKS:
            y = test.y_true[task]
            for k, p in enumerate(test.predictions(model, task)):
                assert skm.recall_score(y, p >= 0.5) < (0.01 if task == "purchase" else 0.05)
                if task == "purchase":
                    with pytest.warns(UserWarning, match="'purchase'.*choose_thresholds"):
                        evaluate_tasks({task: p}, None, {task: y}, [task], metrics=("recall",))
                ours = skm.f1_score(y, p >= thresholds[task][k])
                if task == "purchase":  # flagging some rows costs accuracy
                    assert skm.accuracy_score(y, p >= thresholds[task][k]) < 1 - np.mean(y)
                assert ours >= 0.8 * best_f1_threshold(y, p)[1], (model, task, k)


def test_models_rank_between_random_and_truth_and_below_their_pooled_auc():
    _, test = _runs()
    data = _shop(0)
    users = data.users("test")
    random_score = np.random.default_rng(0).random(users.size)
    table = evaluation.metrics_table(test, ("auc", "gauc", "pr_auc", "ndcg@5", "hr@5"),
                                     models=[MTL, SINGLE])
    means = table.set_index(["model", "task", "metric"])["mean"]
    for task in TASKS:
        y, truth = test.y_true[task], data.test.truth(task)
        for model in (MTL, SINGLE):
            assert means[(model, task, "gauc")] < means[(model, task, "auc")]
            for metric in ("ndcg@5", "hr@5"):
                low = ranking.ranking_metric(metric, y, random_score, users)
                high = ranking.ranking_metric(metric, y, truth, users)
                assert low < means[(model, task, metric)] < high, (model, task, metric)
    rate = np.mean(test.y_true["purchase"])
    for model in (MTL, SINGLE):
        assert 2 * rate < means[(model, "purchase", "pr_auc")] < 0.2


def test_too_few_purchases_are_predicted_and_platt_scaling_on_validation_fixes_it():
    runs, test = _runs()
    data = _shop(0)
    assert np.nanmean(data.y_train["purchase"]) < 0.8 * np.nanmean(data.y_test["purchase"])
    y_val, y_test = runs.val.y_true["purchase"], test.y_true["purchase"]
    for model in (MTL, SINGLE):
        before = test.predictions(model, "purchase")
        after = [PlattScaling.fit(y_val, p_val)(p) for p_val, p in
                 zip(runs.val.predictions(model, "purchase"), before, strict=True)]
        ratio = [[predicted_to_observed(y_test, p) for p in ps] for ps in (before, after)]
        ece = [np.mean([expected_calibration_error(y_test, p) for p in ps]) for ps in (before,
                                                                                     after)]
        assert np.mean(ratio[0]) < 0.95, (model, ratio)  # too few purchases predicted
        assert np.ptp(ratio[1]) < 0.5 * np.ptp(ratio[0]), (model, ratio)  # seeds agree after
        assert ece[1] < 0.7 * ece[0], (model, ece)
        for b, a in zip(before, after, strict=True):
            assert skm.roc_auc_score(y_test, a) == pytest.approx(skm.roc_auc_score(y_test, b),
                                                                 abs=1e-9)


def test_delta_m_depends_on_the_metric_it_averages():
    runs, test = _runs()
    thresholds = {m: evaluation.seed_thresholds(runs.val, m) for m in (MTL, SINGLE)}
    options = {"thresholds": thresholds[MTL], "reference_thresholds": thresholds[SINGLE]}
    on_auc = evaluation.task_average(test, MTL, "auc", relative=True, **options)
    on_f1 = evaluation.task_average(test, MTL, "f1", relative=True, **options)
    assert on_auc.low > 0
    assert on_f1.mean > 2 * on_auc.mean, (on_f1, on_auc)


def test_a_large_purchase_weight_costs_click_and_leaves_the_front():
    runs, _ = _runs()
    row = front_table(runs.val).set_index("model")
    assert row.loc["λ=10", "click high"] < 0
    assert not row.loc["λ=10", "on_front"]


def test_the_seed_alone_changes_the_result_detectably():
    from mtl_kit.selection import seed_spread

    _, test = _runs()
    spread = seed_spread(test, MTL, "purchase")
    assert spread.best_minus_worst.low > 0, spread


def test_sharing_helps_purchase_on_every_metric_the_lesson_reads():
    runs, test = _runs()
    thresholds = {m: evaluation.seed_thresholds(runs.val, m) for m in (MTL, SINGLE)}
    table = evaluation.metrics_table(test, ("auc", "pr_auc", "gauc", "log_loss", "ndcg@5", "f1"),
                                     models=[MTL, SINGLE], thresholds=thresholds)
    gain = table[(table.model == MTL) & (table.task == "purchase")].set_index("metric")
    for metric in ("auc", "pr_auc", "gauc", "ndcg@5", "f1"):
        assert gain.loc[metric, "diff_low"] > 0, (metric, gain.loc[metric])
    assert gain.loc["log_loss", "diff_high"] < 0  # a lower loss is better
    assert abs(test.difference(MTL, "click").mean) < 0.01
    accuracy = evaluation.task_average(test, MTL, "accuracy", reference=SINGLE,
                                       thresholds=thresholds[MTL],
                                       reference_thresholds=thresholds[SINGLE])
    assert abs(accuracy.mean) < 0.015, accuracy


def test_the_small_weights_do_not_compete_on_validation():
    runs, _ = _runs()
    row = front_table(runs.val).set_index("model")
    for task in TASKS:
        assert row.loc[MTL, f"{task} low"] < row.loc["λ=0.1", f"{task} diff"] \
            < row.loc[MTL, f"{task} high"], (task, row)
