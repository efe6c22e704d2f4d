"""mtl_kit.experiments: several seeds, paired differences, selection on validation, shared
single-task baselines; and MultiTaskNet.reseed, which makes K seeds cost one compile."""

import mtl_kit  # noqa: F401

# isort: split
import copy

import numpy as np
import pytest

from mtl_kit import experiments
from mtl_kit.course import course_data
from mtl_kit.experiments import SINGLE_TASK, TrainingPlan, check_seeds, compare
from mtl_kit.intervals import metric_interval
from mtl_kit.metrics import delta_m
from mtl_kit.models import build_hard_sharing, build_mmoe

PLAN = TrainingPlan(max_epochs=3, patience=1, batch_size=512)


@pytest.fixture(scope="module")
def data():
    return course_data(("click", "purchase"), n_users=1_200, n_impressions=24_000)


@pytest.fixture(scope="module")
def comparison(data, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MTL_KIT_CACHE_DIR", str(cache))
        result = compare({"hard": lambda seed: build_hard_sharing(data.tasks, data.features,
                                                                  seed=seed)},
                         data, seeds=2, plan=PLAN)
    result.cache = cache
    return result


def test_scores_are_tidy_one_row_per_model_task_metric_seed(comparison):
    scores = comparison.scores
    assert list(scores.columns) == ["model", "task", "metric", "seed", "value"]
    assert set(scores["model"]) == {SINGLE_TASK, "hard"}
    assert len(scores) == 2 * 2 * 4 * 2  # models × tasks × metrics × seeds
    assert scores["value"].between(0, 1).all()


def test_summary_and_paired_agree_with_the_intervals_module(comparison, data):
    summary = comparison.summary().set_index(["model", "task"])
    paired = comparison.paired().set_index(["model", "task"])
    for task in data.tasks:
        own = metric_interval("binary", "auc", data.y_val[task],
                              comparison.predictions("hard", task), data.users("val"))
        diff = metric_interval("binary", "auc", data.y_val[task],
                               comparison.predictions("hard", task), data.users("val"),
                               reference=comparison.predictions(SINGLE_TASK, task))
        assert summary.loc[("hard", task), "mean"] == pytest.approx(own.mean)
        assert summary.loc[("hard", task), "low"] == pytest.approx(own.low)
        assert paired.loc[("hard", task), "difference"] == pytest.approx(diff.mean)
        assert paired.loc[("hard", task), "high"] == pytest.approx(diff.high)
        expected = ("no difference we can detect" if not diff.excludes_zero
                    else "better" if diff.mean > 0 else "worse")
        assert paired.loc[("hard", task), "verdict"] == expected
    assert "over 2 seeds vs single-task" in comparison.describe("hard", "purchase")


def test_delta_m_is_the_mean_over_seeds_of_each_seeds_delta_m(comparison, data):
    scores = comparison.scores[comparison.scores["metric"] == "auc"]
    per_seed = []
    for seed in comparison.seeds:
        at = scores[scores["seed"] == seed].set_index(["model", "task"])["value"]
        per_seed.append(delta_m({t: at[("hard", t)] for t in data.tasks},
                                {t: at[(SINGLE_TASK, t)] for t in data.tasks},
                                higher_is_better=True))
    estimate = comparison.delta_m("hard")
    assert estimate.mean == pytest.approx(np.mean(per_seed))
    assert estimate.low < estimate.mean < estimate.high


def test_every_run_is_early_stopped_on_validation(comparison):
    epochs = comparison.epochs()
    hard = epochs[epochs["model"] == "hard"]
    assert (hard["best_epoch"] >= 1).all() and (hard["best_epoch"] <= PLAN.max_epochs).all()
    assert (hard["epochs_run"] >= hard["best_epoch"]).all()
    assert not comparison.curves("val_purchase_loss").empty


def test_single_task_baselines_are_computed_once_and_kept_on_disk(comparison, data,
                                                                  monkeypatch):
    stored = sorted(p.name for p in (comparison.cache / "baselines").glob("*.npz"))
    assert len(stored) == 2 * 2  # tasks × seeds
    experiments._BASELINES.clear()  # forget the in-memory copy: the disk copy must serve
    monkeypatch.setenv("MTL_KIT_CACHE_DIR", str(comparison.cache))

    def no_training(*args, **kwargs):
        raise AssertionError("the baselines should come from the cache")

    monkeypatch.setattr(experiments, "train_seeds", no_training)
    runs = experiments.single_task_runs(experiments.as_tasks(("purchase",))[0], data, (0, 1),
                                        PLAN)
    again = [run.predictions["val"]["purchase"] for run in runs]
    np.testing.assert_array_equal(again, comparison.predictions(SINGLE_TASK, "purchase"))


def test_best_chooses_on_validation_and_refuses_the_test_split(comparison):
    assert comparison.best("purchase") == "hard"
    test_view = copy.copy(comparison)
    test_view.split = "test"
    with pytest.raises(ValueError, match="validation"):
        test_view.best("purchase")


def test_reseed_gives_exactly_the_model_built_with_that_seed(data):
    model = build_mmoe(data.tasks, data.features, seed=0)
    model.fit(data.x_train, data.y_train, epochs=1, batch_size=512)
    model.reseed(4)
    first = model.fit(data.x_train, data.y_train, epochs=2, batch_size=512).history
    fresh = build_mmoe(data.tasks, data.features, seed=4)
    second = fresh.fit(data.x_train, data.y_train, epochs=2, batch_size=512).history
    np.testing.assert_allclose(first["loss"], second["loss"], rtol=1e-6)
    for a, b in zip(model.predict_tasks(data.x_val).values(),
                    fresh.predict_tasks(data.x_val).values(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


# --------------------------------------------------------------------------------------------
# Bad input: a clear error naming the argument, before any training
# --------------------------------------------------------------------------------------------
def _never_built(seed):
    raise AssertionError("no model may be built for bad input")


@pytest.mark.parametrize("seeds", [0, -2, 1.5, True, [], [1, 1], [-1, 2], "5"])
def test_bad_seeds_are_refused(seeds):
    with pytest.raises((ValueError, TypeError), match="seeds"):
        check_seeds(seeds)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seeds": 0}, "seeds"),
        ({"confidence": 1.0}, "confidence"),
        ({"confidence": 0}, "confidence"),
        ({"split": "train"}, "split"),
        ({"reference": "nope"}, "reference"),
        ({"plan": "fast"}, "plan"),
    ],
)
def test_bad_arguments_to_compare_name_themselves(data, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        compare({"hard": _never_built}, data, **kwargs)


def test_a_split_without_positives_is_refused_before_training(data):
    broken = course_data(("click", "purchase"), n_users=1_200, n_impressions=24_000)
    broken.y_val["purchase"] = np.zeros_like(broken.y_val["purchase"])
    with pytest.raises(ValueError, match=r"no positive .*'purchase'"):
        compare({"hard": _never_built}, broken)


def test_unknown_metric_and_model_names_are_refused(comparison):
    with pytest.raises(ValueError, match="metrics must be names from"):
        comparison.summary(metrics="precision")
    with pytest.raises(ValueError, match="model must be one of"):
        comparison.difference("mmoe", "purchase")
    with pytest.raises(ValueError, match="task must be one of"):
        comparison.estimate("hard", "intent")


@pytest.mark.parametrize("field", ["max_epochs", "patience", "batch_size"])
def test_training_plan_refuses_bad_values(field):
    with pytest.raises((ValueError, TypeError), match=field):
        TrainingPlan(**{field: -1})


def test_learned_weights_are_early_stopped_on_the_unweighted_task_losses(data):
    """Uncertainty weighting's val_loss holds ½Σ log σ², which falls while σ is learned: the
    stopper must watch Σ_t val_<task>_loss instead, and keep the epoch where that sum was least."""
    fixed = build_hard_sharing(data.tasks, data.features, seed=0)
    learned = build_hard_sharing(data.tasks, data.features, seed=0, weighting="uncertainty")
    assert experiments.early_stopping(PLAN, fixed).monitor == "val_loss"
    stopper = experiments.early_stopping(PLAN, learned)
    assert stopper.monitor == "val_task_loss_sum"
    logs = {"val_loss": -3.0, "val_click_loss": 0.5, "val_purchase_loss": 0.125}
    assert stopper.get_monitor_value(logs) == pytest.approx(0.625)
    with pytest.raises(KeyError, match="val_purchase_loss"):
        stopper.get_monitor_value({"val_loss": 1.0, "val_click_loss": 0.5})

    history = learned.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                          epochs=4, batch_size=512, callbacks=[stopper]).history
    sums = np.add(history["val_click_loss"], history["val_purchase_loss"])
    assert stopper.best_epoch == int(np.argmin(sums))
