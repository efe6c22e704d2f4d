"""Lesson 3's claims, re-measured on another draw of the course's shop (``seed=1``).

The lesson measures on the course's shop (``seed=0``); here the same experiment runs on a
second shop from the same generator, so the claims are about the generator, not one sample:

1. hard sharing (λ = 1) beats one model per task on purchase (paired validation AUC, 5 seeds,
   95 % interval above 0) and changes click by nothing we can detect;
2. λ_purchase = 8 costs click and does not help purchase (both intervals vs λ = 1 below 0);
3. λ_purchase = 0.25 gains nothing detectable over λ = 1 on either task;
4. the click loss is several times the purchase loss (the lesson prints the ratio; lesson 8
   deals with it).

One compiled model serves every λ (``set_loss_weights`` in the builders); the single-task
baselines are cached on disk like the lesson's. About 40 s on 2 cores with a cold cache.
"""

import mtl_kit  # noqa: F401

# isort: split
import numpy as np
import pytest

from mtl_kit.course import course_data
from mtl_kit.experiments import compare
from mtl_kit.models import build_hard_sharing

pytestmark = pytest.mark.slow

SHOP_SEED = 1
LAMBDAS = (0.25, 1.0, 8.0)


def _name(lam: float) -> str:
    return f"λ_purchase={lam:g}"


@pytest.fixture(scope="module")
def sweep():
    data = course_data(("click", "purchase"), seed=SHOP_SEED)
    hard = build_hard_sharing(("click", "purchase"), data.features, shared=(64, 32), head=(16,),
                              seed=0)

    def with_weights(lam):
        def builder(seed):
            hard.set_loss_weights({"click": 1.0, "purchase": lam})
            return hard
        return builder

    return compare({_name(lam): with_weights(lam) for lam in LAMBDAS}, data, seeds=5,
                   split="val")


def test_hard_sharing_helps_purchase_and_leaves_click_alone(sweep):
    purchase = sweep.difference(_name(1.0), "purchase")
    click = sweep.difference(_name(1.0), "click")
    assert purchase.low > 0, purchase
    assert not click.excludes_zero, click


def test_a_large_purchase_weight_costs_click_and_does_not_help_purchase(sweep):
    for task in ("click", "purchase"):
        est = sweep.difference(_name(8.0), task, reference=_name(1.0))
        assert est.high < 0, (task, est)


def test_a_small_purchase_weight_gains_nothing_detectable(sweep):
    for task in ("click", "purchase"):
        est = sweep.difference(_name(0.25), task, reference=_name(1.0))
        assert est.low <= 0, (task, est)


def test_the_click_loss_is_several_times_the_purchase_loss(sweep):
    runs = sweep.runs[_name(1.0)]
    ratio = np.mean([r.history["click_loss"][-1] / r.history["purchase_loss"][-1] for r in runs])
    assert ratio > 2, ratio
