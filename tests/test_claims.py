"""The lessons' claims, as tests on the generators with fixed seeds (averaged over 3 seeds).

To stay fast, every architecture is built and compiled once and re-trained (``retrain``: reset
to its initial weights, same compiled step) on each seed's data; the seeds vary the data.

1. Related tasks, scarce purchase labels: hard sharing beats single-task on purchase AUC.
2. task_correlation <= 0: hard sharing does worse than single-task on at least one task.
3. Soft sharing: β = 0 trains the towers independently (see also test_models_core); as β grows
   the tower distance shrinks monotonically and the predictions approach hard sharing's.
4. MMoE vs shared bottom on the MMoE-style generator, capacity-limited and matched in
   parameters (≈ 4.3k each: a 40-unit shared bottom vs 4 experts of 8 units, no tower layers,
   d = 100, 10k rows (8k train / 2k test), 30 epochs, batch 256, weight scale c = 3): as the
   task cosine p drops from 1 to 0, MMoE's test MSE rises less than shared bottom's (measured
   under development: shared bottom 0.083 → 0.091, MMoE 0.094 → 0.091). With the generator's
   default c = 1 the labels are nearly linear, neither model is capacity-limited and both rise
   by about the same 0.002–0.003; with a wide bottom the shared model has capacity to spare, so
   the claim is about this capacity-limited regime, as in the paper.
"""

import mtl_kit  # noqa: F401

# isort: split
from itertools import pairwise

import keras
import numpy as np
import pytest

from mtl_kit.data import make_mmoe_tasks, make_shop
from mtl_kit.metrics import evaluate_tasks
from mtl_kit.models import build_hard_sharing, build_mmoe, build_single_task, build_soft_sharing
from mtl_kit.tasks import TaskSpec, shop_tasks

pytestmark = pytest.mark.slow

SEEDS = (0, 1, 2)
N_IMPRESSIONS = 20_000
EPOCHS = 5
TASKS = shop_tasks(("click", "purchase"))
#: Scale c of the MMoE generator's task weights. With c = 3 the sine terms sin(α_i wᵀx + β_i)
#: bend the labels enough that two unrelated tasks compete for a small shared bottom; with the
#: default c = 1 the labels are nearly linear in x and both models have capacity to spare
#: (measured: rises of 0.002–0.003 for both, within noise).
MMOE_SCALE = 3.0


def _shop_split(seed, task_correlation, label_fraction=None):
    shop = make_shop(n_impressions=N_IMPRESSIONS, task_correlation=task_correlation,
                     label_fraction=label_fraction, seed=seed)
    full = shop if label_fraction is None else make_shop(
        n_impressions=N_IMPRESSIONS, task_correlation=task_correlation, seed=seed)
    train = shop.split(seed=seed)[0]
    test = full.split(seed=seed)[2]  # the same users, every label observed
    x, y = train.to_arrays(("click", "purchase"))
    # Whole batches only: every seed then reuses the compiled step (no retrace per seed).
    n = len(y["click"]) // 256 * 256
    x, y = _rows(x, n), _rows(y, n)
    return shop.features, (x, y), test.to_arrays(("click", "purchase"))


def _rows(arrays, n):
    return {k: v[:n] for k, v in arrays.items()}


def _auc(model, x, y, task):
    table = evaluate_tasks(model, x, y, tasks=[t for t in model.tasks if t.name == task],
                           overall=False)
    return float(table[table.metric == "auc"].value.iloc[0])


@pytest.fixture(scope="module")
def shop_models():
    features = make_shop(n_impressions=200, seed=0).features
    return {
        "hard": build_hard_sharing(TASKS, features, seed=0),
        "click": build_single_task("click", features, seed=0),
        "purchase": build_single_task("purchase", features, seed=0),
    }


def _compare(models, task_correlation, label_fraction=None):
    """Mean test AUC per task over the seeds: {"hard": {task: auc}, "single": {task: auc}}."""
    scores = {"hard": {"click": [], "purchase": []}, "single": {"click": [], "purchase": []}}
    for seed in SEEDS:
        _, (x, y), (xt, yt) = _shop_split(seed, task_correlation, label_fraction)
        models["hard"].retrain(x, y, epochs=EPOCHS)
        for task in ("click", "purchase"):
            scores["hard"][task].append(_auc(models["hard"], xt, yt, task))
            models[task].retrain(x, y, epochs=EPOCHS)
            scores["single"][task].append(_auc(models[task], xt, yt, task))
    return {kind: {t: float(np.mean(v)) for t, v in per.items()} for kind, per in scores.items()}


def test_claim1_hard_sharing_helps_scarce_purchase_labels(shop_models):
    scores = _compare(shop_models, task_correlation=0.6, label_fraction={"purchase": 0.1})
    print("claim 1 (mean test AUC):", scores)
    assert scores["hard"]["purchase"] > scores["single"]["purchase"]


def test_claim2_negative_transfer_with_unrelated_tasks(shop_models):
    scores = _compare(shop_models, task_correlation=-0.8)
    print("claim 2 (mean test AUC):", scores)
    assert any(scores["hard"][t] < scores["single"][t] for t in ("click", "purchase"))


def test_claim3_beta_pulls_soft_towers_to_hard_sharing():
    # β from 0 to 0.1. Far beyond (β >= 1 here) the stiff penalty dominates Adam's step-size
    # normalisation: the towers are tied but learn slowly within the same epochs, so after
    # 12 epochs their predictions drift away from hard sharing's again (measured 0.037 at
    # β = 1 vs 0.006 at β = 0.1); see the note in mtl_kit.models.soft.
    betas = (0.0, 1e-3, 1e-2, 1e-1)
    features = make_shop(n_impressions=200, seed=0).features
    soft = build_soft_sharing(TASKS, features, beta=0.0, seed=0)
    hard = build_hard_sharing(TASKS, features, seed=0)
    distance = {b: [] for b in betas}
    gap = {b: [] for b in betas}
    for seed in SEEDS:
        shop = make_shop(n_impressions=8000, seed=seed)
        x, y = shop.to_arrays(("click", "purchase"))
        hard.retrain(x, y, epochs=12)
        p_hard = hard.predict_tasks(x)
        for beta in betas:
            soft.set_beta(beta)
            soft.retrain(x, y, epochs=12)
            p_soft = soft.predict_tasks(x)
            distance[beta].append(float(keras.ops.convert_to_numpy(soft.tower_distance())))
            gap[beta].append(np.mean([np.mean(np.abs(p_soft[t] - p_hard[t])) for t in p_hard]))
    mean_distance = [float(np.mean(distance[b])) for b in betas]
    mean_gap = [float(np.mean(gap[b])) for b in betas]
    print("claim 3: tower distance", dict(zip(betas, mean_distance, strict=True)),
          "mean |p_soft - p_hard|", dict(zip(betas, mean_gap, strict=True)))
    assert all(a > b for a, b in pairwise(mean_distance))  # shrinks monotonically
    assert all(g < mean_gap[0] for g in mean_gap[1:])  # every β > 0 is closer than β = 0
    assert mean_gap[-1] < 0.6 * mean_gap[0]


def test_claim4_mmoe_degrades_less_than_shared_bottom_as_tasks_diverge():
    tasks = [TaskSpec("y1", "regression"), TaskSpec("y2", "regression")]
    shared_bottom = build_hard_sharing(tasks, 100, shared=(40,), head=(), seed=0)
    mmoe = build_mmoe(tasks, 100, n_experts=4, expert_units=(8,), tower=(), seed=0)
    ratio = mmoe.count_params() / shared_bottom.count_params()
    assert 0.9 < ratio < 1.1  # matched in parameters
    mse = {}
    for p in (1.0, 0.0):
        for seed in SEEDS:
            data = make_mmoe_tasks(n=10_000, d=100, p=p, c=MMOE_SCALE, seed=seed)
            y = {"y1": data.y1, "y2": data.y2}
            train, test = slice(0, 8000), slice(8000, None)
            for name, model in (("shared_bottom", shared_bottom), ("mmoe", mmoe)):
                model.retrain(data.x[train], {k: v[train] for k, v in y.items()}, epochs=30)
                result = model.evaluate(data.x[test], {k: v[test] for k, v in y.items()})
                mse.setdefault((name, p), []).append((result["y1_loss"] + result["y2_loss"]) / 2)
    mean = {key: float(np.mean(v)) for key, v in mse.items()}
    rise = {name: mean[(name, 0.0)] - mean[(name, 1.0)] for name in ("shared_bottom", "mmoe")}
    print("claim 4: test MSE", mean, "rise from p=1 to p=0", rise)
    assert rise["mmoe"] < rise["shared_bottom"]
