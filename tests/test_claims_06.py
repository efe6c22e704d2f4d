"""Lesson 6's claims about choosing tasks, on other draws of the generators than the lesson's.

The lesson asserts its claims on the course's shop (seed 0) and one draw of the MMoE-style
generator (data seed 0). Here the same claims are checked where the lesson does not look:

1. Relatedness (shop seed 1): hard sharing's purchase gain over single-task is detectable at
   p = 0 and p = 1 (the funnel keeps purchase related to click), and click moves by less than
   0.015 at every p from −1 to 1.
2. Data amount (shop seed 1): the purchase gain with 5 % of the rows labelled exceeds the gain
   with 50 % labelled (paired on the same validation rows and seeds).
3. Negative transfer (shop seed 1): purchase + intent is worse than single-task purchase (one
   early stop, decided by intent's loss), purchase + click better; the lookahead affinity of
   intent onto purchase does not show the harm (its interval over 5 seeds reaches above 0).
4. MMoE's synthetic experiment, capacity-limited regime (``SMALL``, data seeds 1 and 2): OMoE's
   error rises from p = 1 to p = 0, MMoE's rises less; MMoE beats the shared bottom at p = 0;
   the shared bottom has the highest mean error at every p and rises less than OMoE.
5. The same experiment with the paper's sizes and constants (``PAPER``, data seed 0): the
   shared bottom has the lowest mean error at p = 1 and p = 0, detectably lower than MMoE's
   (measured under development: 0.182 vs 0.199 at p = 1, 0.195 vs 0.224 at p = 0).
"""

import mtl_kit  # noqa: F401

# isort: split
import dataclasses

import pytest

from mtl_kit.affinity import affinity_over_seeds
from mtl_kit.course import course_data
from mtl_kit.mmoe_experiment import PAPER, SMALL, run_mmoe_experiment
from mtl_kit.models import build_hard_sharing
from mtl_kit.relatedness import Sweeper, standardised_log, train_and_score

pytestmark = pytest.mark.slow

TASKS = ("click", "purchase")
SHOP_SEED = 1
SEEDS = 5


def _hard(tasks, features, store):
    def build(seed):
        if tasks not in store:
            store[tasks] = build_hard_sharing(tasks, features, shared=(64, 32), head=(16,),
                                              seed=seed)
        return store[tasks]
    return build


@pytest.fixture(scope="module")
def sweeper():
    features = course_data(TASKS, seed=SHOP_SEED).features
    return Sweeper({"hard": _hard(TASKS, features, {})}, TASKS, seeds=SEEDS,
                   shop={"seed": SHOP_SEED})


def test_purchase_gains_whatever_the_correlation_and_click_stays_put(sweeper):
    sweep = sweeper.run("task_correlation", [-1.0, 0.0, 1.0])
    purchase, click = sweep.gains("hard", "purchase"), sweep.gains("hard", "click")
    print(sweep.table.round(3).to_string())
    assert (purchase.loc[[0.0, 1.0], "low"] > 0).all()
    assert (click["gain"].abs() < 0.015).all()


def test_a_helper_pays_most_when_labels_are_scarce(sweeper):
    sweep = sweeper.run("label_fraction", [0.05, 0.5])
    print(sweep.table.round(3).to_string())
    difference = sweep.gain_difference(0.05, 0.5, "hard", "purchase")
    print("gain(0.05) − gain(0.5):", difference)
    assert difference.low > 0 and sweep.gain(0.05, "hard", "purchase").low > 0


def test_intent_hurts_purchase_and_affinity_does_not_see_it():
    tasks = ("click", "purchase", "intent", "dwell")
    data = standardised_log(course_data(tasks, seed=SHOP_SEED), "dwell")
    store = {}
    pairs = {"purchase + click": _hard(("click", "purchase"), data.features, store),
             "purchase + intent": _hard(("purchase", "intent"), data.features, store)}
    check = train_and_score(pairs, data, range(SEEDS))
    click, intent = (check.difference(name, "purchase") for name in pairs)
    print("purchase + click", click, "purchase + intent", intent)
    assert click.low > 0
    assert intent.high < 0
    model = build_hard_sharing(tasks, data.features, shared=(64, 32), head=(16,), seed=0)
    affinity = affinity_over_seeds(model, data.x_train, data.y_train, seeds=SEEDS, epochs=2,
                                   batches_per_epoch=2, measure_batch_size=4096)
    onto = affinity.onto("purchase") * 1e4
    print(onto)
    assert onto.loc["intent", "high"] > 0


@pytest.mark.parametrize("data_seed", [1, 2])
def test_mmoe_resists_drifting_tasks_where_capacity_is_short(data_seed):
    result = run_mmoe_experiment([1.0, 0.0], dataclasses.replace(SMALL, data_seed=data_seed),
                                 seeds=SEEDS)
    print(result.table().round(3).to_string())
    assert result.rise("OMoE").low > 0
    assert result.rise_difference("MMoE", "OMoE").high < 0
    assert result.difference(0.0, "MMoE", "shared bottom").high < 0
    for p in (1.0, 0.0):
        worst = max(("shared bottom", "OMoE", "MMoE"), key=lambda m: result.estimate(p, m).mean)
        assert worst == "shared bottom", p
    assert result.rise_difference("shared bottom", "OMoE").high < 0


def test_with_the_papers_sizes_the_shared_bottom_is_best():
    result = run_mmoe_experiment([1.0, 0.0], PAPER, seeds=SEEDS)
    print(result.table().round(3).to_string())
    for p in (1.0, 0.0):
        best = min(("shared bottom", "OMoE", "MMoE"), key=lambda m: result.estimate(p, m).mean)
        assert best == "shared bottom", p
        assert result.difference(p, "MMoE", "shared bottom").low > 0, p
