"""Lookahead task affinity (mtl_kit.affinity) and the grouping scores built on it."""

import mtl_kit  # noqa: F401

# isort: split
import keras
import numpy as np
import pandas as pd
import pytest
from conftest_models import FEATURES, tiny_shop

from mtl_kit.affinity import (
    SeedAffinities,
    TaskAffinity,
    affinity_over_seeds,
    group_score,
    lookahead_affinity,
    rank_groupings,
    track_affinity,
)
from mtl_kit.models import build_hard_sharing, build_single_task, build_soft_sharing
from mtl_kit.tasks import shop_tasks

TASKS = shop_tasks(("click", "intent", "dwell"))
SMALL = {"shared": (8,), "head": (4,), "embedding_dim": 4}


def _trained(seed: int = 0):
    x, y = tiny_shop(512, seed=seed)
    y = {t.name: y[t.name] for t in TASKS}
    model = build_hard_sharing(TASKS, FEATURES, seed=seed, **SMALL)
    model.fit(x, y, epochs=1, batch_size=128)
    return model, x, y


def _manual(model, x, y, eta):
    """Z[i, j] from first principles: each task's gradient by its own jax.grad, the shared
    variables stepped in NumPy, every loss recomputed (JAX only)."""
    import jax
    import jax.numpy as jnp

    x, y = model._prepare(x, y)
    trainable = [np.asarray(v.value) for v in model.trainable_variables]
    fixed = [v.value for v in model.non_trainable_variables]
    shared = {id(v) for v in model.shared_variables}
    is_shared = [id(v) in shared for v in model.trainable_variables]

    def loss(values, t):
        return model.stateless_task_losses([jnp.asarray(v) for v in values], fixed, x, y)[t]

    n = len(model.tasks)
    before = np.array([float(loss(trainable, t)) for t in range(n)])
    z = np.zeros((n, n))
    for i in range(n):
        grads = jax.grad(lambda values, i=i: loss(values, i))(trainable)
        stepped = [v - eta * np.asarray(g) if s else v
                   for v, g, s in zip(trainable, grads, is_shared, strict=True)]
        z[i] = [1 - float(loss(stepped, j)) / before[j] for j in range(n)]
    return z


@pytest.mark.slow
@pytest.mark.skipif(keras.backend.backend() != "jax", reason="the reference uses jax.grad")
def test_lookahead_matches_a_step_taken_by_hand():
    model, x, y = _trained()
    batch = slice(0, 128)
    xb, yb = {k: v[batch] for k, v in x.items()}, {k: v[batch] for k, v in y.items()}
    got = lookahead_affinity(model, xb, yb, learning_rate=0.05)
    expected = _manual(model, xb, yb, 0.05)
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-3, atol=2e-5)
    assert list(got.index) == list(got.columns) == ["click", "intent", "dwell"]


def test_a_step_on_a_task_lowers_its_own_loss_and_no_step_changes_nothing():
    model, x, y = _trained()
    xb, yb = {k: v[:256] for k, v in x.items()}, {k: v[:256] for k, v in y.items()}
    z = lookahead_affinity(model, xb, yb, learning_rate=1e-3).to_numpy()
    assert (np.diag(z) > 0).all(), z  # gradient descent lowers L_i (first order: η‖∇L_i‖²/L_i)
    tiny = lookahead_affinity(model, xb, yb, learning_rate=1e-9).to_numpy()
    assert np.abs(tiny).max() < 1e-5
    # first order: Z grows linearly with η
    half = lookahead_affinity(model, xb, yb, learning_rate=5e-4).to_numpy()
    np.testing.assert_allclose(half, z / 2, rtol=0.05, atol=1e-6)


def test_a_task_without_labels_in_the_batch_has_no_affinity():
    model, x, y = _trained()
    xb, yb = {k: v[:64] for k, v in x.items()}, {k: v[:64].copy() for k, v in y.items()}
    yb["dwell"][:] = np.nan
    z = lookahead_affinity(model, xb, yb)
    assert z["dwell"].isna().all() and not z["click"].isna().any()


def test_track_affinity_averages_over_the_measured_steps():
    x, y = tiny_shop(512, seed=1)
    y = {t.name: y[t.name] for t in TASKS}
    model = build_hard_sharing(TASKS, FEATURES, seed=1, **SMALL)
    result = track_affinity(model, x, y, epochs=2, batch_size=128, batches_per_epoch=3)
    assert result.per_step.shape == (9, 3, 3)  # 3 batches before training and after 2 epochs
    assert list(result.epochs) == [0] * 3 + [1] * 3 + [2] * 3
    assert len(result.history["loss"]) == 2
    mean = result.matrix
    assert np.isnan(np.diag(mean.to_numpy())).all()  # a task's effect on itself is left out
    off = ~np.eye(3, dtype=bool)
    np.testing.assert_allclose(mean.to_numpy()[off], result.per_step.mean(axis=0)[off])
    onto = result.onto("click")
    assert list(onto.index) == sorted(["intent", "dwell"], key=lambda t: -mean.loc[t, "click"])
    assert result.spread().shape == (3, 3)
    without = track_affinity(model, x, y, epochs=1, batch_size=128, batches_per_epoch=2,
                             measure_untrained=False, measure_batch_size=256)
    assert list(without.epochs) == [1, 1]


def test_affinity_over_seeds_is_one_run_per_seed():
    x, y = tiny_shop(256, seed=2)
    y = {t.name: y[t.name] for t in TASKS}
    model = build_hard_sharing(TASKS, FEATURES, seed=0, **SMALL)
    result = affinity_over_seeds(model, x, y, seeds=3, epochs=1, batch_size=128,
                                 batches_per_epoch=1)
    assert result.seeds == (0, 1, 2) and len(result.runs) == 3
    stack = np.stack([run.matrix.to_numpy() for run in result.runs])
    np.testing.assert_allclose(result.matrix.to_numpy(), stack.mean(axis=0))
    onto = result.onto("intent")
    assert (onto["low"] <= onto["mean"]).all() and (onto["mean"] <= onto["high"]).all()
    with pytest.raises(TypeError, match="seeds"):
        affinity_over_seeds(model, x, y, seeds=2, seed=3)


def _affinity(values) -> TaskAffinity:
    tasks = ["a", "b", "c", "d"]
    return TaskAffinity(tasks, np.asarray(values, dtype=float)[None], np.array([0]), 0.1)


def test_group_scores_and_the_ranking_of_groupings():
    z = _affinity([[0, 4, 1, 0], [2, 0, 0, 0], [1, 0, 0, 3], [0, 0, 5, 0]])
    # a and b: a receives 2 from b, b receives 4 from a
    assert group_score(z, ["a", "b"]) == pytest.approx(6.0)
    # a, b, c: a receives mean(2, 1), b mean(4, 0), c mean(1, 0)
    assert group_score(z, ["a", "b", "c"]) == pytest.approx(1.5 + 2.0 + 0.5)
    assert group_score(z, ["d"]) == 0.0
    ranking = rank_groupings(z)
    assert len(ranking) == 15  # the Bell number B_4
    assert ranking.loc[0, "grouping"] == "a + b | c + d"
    assert ranking.loc[0, "score"] == pytest.approx(6.0 + 8.0)
    assert len(rank_groupings(z, n_groups=2)) == 7
    assert (np.diff(ranking["score"]) <= 0).all()
    with pytest.raises(ValueError, match="group must list distinct tasks"):
        group_score(z, ["a", "a"])
    with pytest.raises(ValueError, match="n_groups"):
        rank_groupings(z, n_groups=5)


def test_seed_affinities_mean_and_interval():
    runs = [_affinity(np.full((4, 4), v)) for v in (1.0, 2.0, 3.0)]
    result = SeedAffinities(runs, (0, 1, 2))
    assert result.matrix.loc["a", "b"] == pytest.approx(2.0)
    # t(0.975, 2) · sd / √3 with sd = 1
    assert result.half_width().loc["a", "b"] == pytest.approx(4.302653 / np.sqrt(3), rel=1e-5)
    assert isinstance(rank_groupings(result), pd.DataFrame)


def test_bad_input_is_refused_before_any_work():
    model, x, y = _trained()
    with pytest.raises(ValueError, match="learning_rate"):
        lookahead_affinity(model, x, y, learning_rate=0.0)
    with pytest.raises(ValueError, match="epochs"):
        track_affinity(model, x, y, epochs=0)
    with pytest.raises(ValueError, match="measure_batch_size"):
        track_affinity(model, x, y, measure_batch_size=10_000)
    with pytest.raises(TypeError, match="MultiTaskNet"):
        lookahead_affinity("model", x, y)
    single = build_single_task("click", FEATURES, hidden=(4,), embedding_dim=4)
    with pytest.raises(ValueError, match="at least two tasks"):
        lookahead_affinity(single, x, {"click": y["click"]})
    soft = build_soft_sharing(TASKS, FEATURES, tower=(4,), head=(), embedding_dim=4)
    with pytest.raises(ValueError, match="shares no parameters"):
        lookahead_affinity(soft, x, y)
    fresh = build_hard_sharing(TASKS, FEATURES, **SMALL)
    with pytest.raises(ValueError, match="trained"):
        lookahead_affinity(fresh, x, y)
    with pytest.raises(ValueError, match="task must be one of"):
        _affinity(np.zeros((4, 4))).onto("e")
