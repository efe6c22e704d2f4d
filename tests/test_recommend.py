"""Ranking candidates per customer: top k and paired ranking metrics."""

import numpy as np
import pytest

from mtl_kit.recommend import ranking_table, top_k


def test_top_k_is_best_first_with_stable_ties():
    assert top_k([0.1, 0.9, 0.5, 0.9], k=3).tolist() == [1, 3, 2]
    assert top_k([0.3], k=5).tolist() == [0]
    with pytest.raises(ValueError, match="k must be"):
        top_k([0.1], k=0)
    with pytest.raises(ValueError, match="at least one"):
        top_k([], k=1)


def test_a_model_that_knows_the_labels_ranks_better_than_noise():
    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(400), 10)
    y = (rng.random(users.size) < 0.15).astype(float)
    noise = [rng.random(users.size) for _ in range(3)]
    informed = [y + rng.random(users.size) for _ in range(3)]
    table = ranking_table(y, {"noise": noise, "informed": informed}, users,
                          metrics=("ndcg@3", "hr@3"))
    informed_rows = table[table["model"] == "informed"]
    assert (informed_rows["diff_low"] > 0.2).all()
    assert (informed_rows["mean"] > 0.99).all()        # every buyer's item is in the top 3
    assert table[table["model"] == "noise"]["difference"].isna().all()


def test_bad_arguments_are_refused():
    y, users = np.array([1.0, 0.0]), np.array([0, 0])
    with pytest.raises(ValueError, match="metric must be"):
        ranking_table(y, {"a": [y]}, users, metrics=("auc",))
    with pytest.raises(ValueError, match="reference must be one of"):
        ranking_table(y, {"a": [y]}, users, reference="b")
    with pytest.raises(TypeError, match="non-empty dict"):
        ranking_table(y, {}, users)


def test_comparison_of_pairs_predictions_from_any_loop():
    from mtl_kit.paired import comparison_of

    rng = np.random.default_rng(1)
    users = np.repeat(np.arange(300), 5)
    y = {"click": (rng.random(users.size) < 0.3).astype(float)}
    good = [{"click": y["click"] + rng.random(users.size)} for _ in range(3)]
    bad = [{"click": rng.random(users.size)} for _ in range(3)]
    result = comparison_of({"good": good, "bad": bad}, y, users, ["click"], reference="bad")
    assert result.difference("good", "click").low > 0.2
    assert result.paired()["verdict"].tolist() == ["better"]
    with pytest.raises(ValueError, match="same seeds"):
        comparison_of({"good": good, "bad": bad[:2]}, y, users, ["click"])
    with pytest.raises(ValueError, match="reference"):
        comparison_of({"good": good}, y, users, ["click"], reference="other")
