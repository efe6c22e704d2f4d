"""Per-user ranking metrics (GAUC, NDCG@k, HR@k) against brute-force loops, and their influences."""

import mtl_kit  # noqa: F401

# isort: split
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from mtl_kit import ranking


def _data(seed=0, n=1500, n_users=120, rate=0.15, ties=False):
    rng = np.random.default_rng(seed)
    users = rng.integers(0, n_users, n) * 7 + 3  # ids need not be 0..U-1
    y = (rng.random(n) < rate).astype(float)
    score = y * 0.7 + rng.normal(size=n)
    if ties:
        score = np.round(score, 1)
    return y, score, users


def _gauc_loop(y, score, users):
    num = den = 0.0
    for u in np.unique(users):
        rows = users == u
        if 0 < y[rows].sum() < rows.sum():
            num += rows.sum() * roc_auc_score(y[rows], score[rows])
            den += rows.sum()
    return num / den


def _top_k_loop(y, score, users, k):
    ndcg, hits = [], []
    for u in np.unique(users):
        rows = np.flatnonzero(users == u)
        labels = y[rows]
        if labels.sum() == 0:
            continue
        order = np.argsort(-score[rows], kind="stable")  # ties keep row order
        top = labels[order][:k]
        dcg = np.sum(top / np.log2(np.arange(2, top.size + 2)))
        ideal = np.sort(labels)[::-1][:k]
        ndcg.append(dcg / np.sum(ideal / np.log2(np.arange(2, ideal.size + 2))))
        hits.append(top.sum() > 0)
    return float(np.mean(ndcg)), float(np.mean(hits))


@pytest.mark.parametrize("ties", [False, True])
def test_gauc_is_the_row_weighted_mean_of_per_user_aucs(ties):
    y, score, users = _data(ties=ties)
    assert ranking.gauc(y, score, users) == pytest.approx(_gauc_loop(y, score, users), abs=1e-12)
    pooled = roc_auc_score(y, score)
    assert ranking.gauc(y, score, users) != pytest.approx(pooled, abs=1e-6)


@pytest.mark.parametrize("k", [1, 3, 5, 20])
@pytest.mark.parametrize("ties", [False, True])
def test_ndcg_and_hit_rate_match_a_loop_over_users(k, ties):
    y, score, users = _data(seed=k, ties=ties)
    ndcg, hit = _top_k_loop(y, score, users, k)
    assert ranking.ndcg_at_k(y, score, users, k) == pytest.approx(ndcg, abs=1e-12)
    assert ranking.hit_rate_at_k(y, score, users, k) == pytest.approx(hit, abs=1e-12)


def test_perfect_and_reversed_rankings():
    y, _, users = _data(seed=3)
    assert ranking.ndcg_at_k(y, y, users, 5) == pytest.approx(1.0)
    assert ranking.hit_rate_at_k(y, y, users, 5) == pytest.approx(1.0)
    assert ranking.gauc(y, y, users) == pytest.approx(1.0)
    assert ranking.gauc(y, -y, users) == pytest.approx(0.0)
    assert ranking.ndcg_at_k(y, -y, users, 5) < 0.6


def test_rows_without_a_label_are_left_out():
    y, score, users = _data(seed=4)
    with_nan = y.copy()
    with_nan[::3] = np.nan
    keep = ~np.isnan(with_nan)
    for metric in ("gauc", "ndcg@5", "hr@3"):
        assert ranking.ranking_metric(metric, with_nan, score, users) == pytest.approx(
            ranking.ranking_metric(metric, y[keep], score[keep], users[keep]))
    _, psi = ranking.ranking_influence("gauc", with_nan, score, users)
    assert np.all(psi[~keep] == 0)


@pytest.mark.parametrize("metric", ["gauc", "ndcg@5", "hr@5"])
def test_influence_is_the_first_order_effect_of_removing_a_user(metric):
    y, score, users = _data(seed=5, n=3000, n_users=300)
    value, psi = ranking.ranking_influence(metric, y, score, users)
    assert abs(psi.sum()) < 1e-12
    per_user = {u: psi[users == u].sum() for u in np.unique(users)}
    checked = 0
    for u in list(per_user)[:25]:
        keep = users != u
        left_out = ranking.ranking_metric(metric, y[keep], score[keep], users[keep])
        # m − m_(−u) = w_u (v_u − m) / (W − w_u): equal to ψ_u up to a factor W / (W − w_u)
        assert value - left_out == pytest.approx(per_user[u], rel=0.1, abs=1e-5)
        checked += per_user[u] != 0
    assert checked > 5


def test_a_user_with_one_class_does_not_count_in_gauc():
    y = np.array([1, 0, 1, 1, 0, 0.0])
    score = np.array([0.9, 0.1, 0.5, 0.4, 0.3, 0.2])
    users = np.array([1, 1, 2, 2, 3, 3])
    assert ranking.gauc(y, score, users) == pytest.approx(1.0)  # only user 1 counts
    parts = ranking.per_user_values("gauc", y, score, users)
    assert parts["valid"].tolist() == [True, False, False]


@pytest.mark.parametrize("metric", ["auc", "ndcg", "hr@-1", "NDCG@5", 5])
def test_unknown_metric_names_are_refused(metric):
    with pytest.raises(ValueError, match="metric must be 'gauc', 'ndcg@k' or 'hr@k'"):
        ranking.ranking_metric(metric, np.ones(2), np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="metric's k must be an int >= 1, got 'ndcg@0'"):
        ranking.ranking_metric("ndcg@0", np.ones(2), np.ones(2), np.ones(2))


def test_bad_inputs_are_refused_with_clear_errors():
    with pytest.raises(ValueError, match="one entry per row"):
        ranking.gauc(np.ones(3), np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="0/1 labels"):
        ranking.gauc(np.array([0, 2.0]), np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="at least one user with both"):
        ranking.gauc(np.array([1, 1.0]), np.array([0.1, 0.2]), np.array([1, 2]))
    with pytest.raises(ValueError, match="at least one user with a positive"):
        ranking.ndcg_at_k(np.zeros(3), np.ones(3), np.ones(3), 2)
    with pytest.raises(ValueError, match="k must be an int >= 1"):
        ranking.ndcg_at_k(np.ones(3), np.ones(3), np.ones(3), 0)
    with pytest.raises(TypeError, match="k must be an int"):
        ranking.hit_rate_at_k(np.ones(3), np.ones(3), np.ones(3), 2.5)
