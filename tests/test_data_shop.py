"""The shop generator: determinism, the task_correlation knob, base rates, scarcity, funnel."""

import numpy as np
import pandas as pd
import pytest
from frame_asserts import assert_same_frame

from mtl_kit.data import TASKS, ShopData, make_shop
from mtl_kit.data.drivers import orthonormal_directions, task_weights
from mtl_kit.data.shop import DEFAULT_CLICK_RATE, DEFAULT_PURCHASE_RATE

SMALL = {"n_users": 600, "n_items": 120, "n_impressions": 6_000}
GRID = (-1.0, -0.5, 0.0, 0.5, 1.0)




def _logit(p):
    p = np.asarray(p, dtype=np.float64)
    return np.log(p / (1 - p))


@pytest.fixture(scope="module")
def grid_shops():
    return {p: make_shop(n_impressions=20_000, task_correlation=p) for p in GRID}


def test_same_seed_gives_identical_frames():
    a, b = make_shop(**SMALL, seed=3), make_shop(**SMALL, seed=3)
    assert_same_frame(a.impressions, b.impressions)
    assert_same_frame(a.users, b.users)
    assert_same_frame(a.items, b.items)


def test_different_seeds_differ():
    a, b = make_shop(**SMALL, seed=3), make_shop(**SMALL, seed=4)
    assert not a.impressions["click_true"].equals(b.impressions["click_true"])
    assert not a.impressions["user_id"].equals(b.impressions["user_id"])


def test_numpy_integer_arguments_are_accepted():
    shop = make_shop(n_users=np.int64(300), n_items=np.int32(50), n_impressions=np.int64(900),
                     task_correlation=np.float32(0.5), seed=np.uint8(1))
    assert len(shop) == 900


def test_columns_and_dtypes():
    shop = make_shop(**SMALL)
    frame = shop.impressions
    for column in ("session_id", "user_id", "item_id", "price", "rating", "n_reviews", "position",
                   "click", "purchase", "intent", "intent_name", "dwell", "utterance",
                   "click_true", "purchase_true", "cvr_true", "intent_true_browse",
                   "intent_true_purchase", "intent_true_consult", "dwell_true"):
        assert column in frame.columns, column
    for name in shop.features.categorical:
        if name not in ("user_id", "item_id"):
            assert isinstance(frame[name].dtype, pd.CategoricalDtype), name
            assert list(map(str, frame[name].cat.categories)) == shop.features.vocabularies[name]
    assert frame["utterance"].map(type).eq(str).all()
    assert frame["session_id"].is_monotonic_increasing


def test_the_knob_builds_weights_like_mmoe():
    u = orthonormal_directions()
    basis = np.stack(list(u.values()))
    np.testing.assert_allclose(basis @ basis.T, np.eye(4), atol=1e-12)
    for p in GRID:
        w = task_weights(p)
        for task in ("purchase", "intent", "dwell"):
            assert np.linalg.norm(w[task]) == pytest.approx(1.0)
            assert w["click"] @ w[task] == pytest.approx(p)


def test_click_purchase_correlation_rises_with_task_correlation(grid_shops):
    """Measured: Pearson correlation of logit(click_true) and logit(cvr_true) over impressions
    (the two tasks' true scores; cvr is purchase's own factor, purchase_true = click·cvr)."""
    measured = []
    for p in GRID:
        frame = grid_shops[p].impressions
        measured.append(np.corrcoef(_logit(frame["click_true"]), _logit(frame["cvr_true"]))[0, 1])
    assert np.all(np.diff(measured) > 0.2), measured
    # and it is close to p itself (default entity counts; fewer users/items -> more sampling noise)
    np.testing.assert_allclose(measured, GRID, atol=0.15)


def test_intent_and_dwell_follow_the_knob_too(grid_shops):
    intent_corr, dwell_corr = [], []
    for p in GRID:
        frame = grid_shops[p].impressions
        click = _logit(frame["click_true"])
        buy_vs_browse = np.log(frame["intent_true_purchase"] / frame["intent_true_browse"])
        intent_corr.append(np.corrcoef(click, buy_vs_browse)[0, 1])
        dwell_corr.append(np.corrcoef(click, np.log(frame["dwell_true"]))[0, 1])
    assert np.all(np.diff(intent_corr) > 0), intent_corr
    assert np.all(np.diff(dwell_corr) > 0), dwell_corr


@pytest.mark.parametrize("p", GRID)
def test_base_rates_are_solved_for_every_correlation(grid_shops, p):
    frame = grid_shops[p].impressions
    n = len(frame)
    # the truth's mean is the solved target (intercepts solved on these very rows)
    assert frame["click_true"].mean() == pytest.approx(DEFAULT_CLICK_RATE, abs=2e-4)
    assert frame["purchase_true"].mean() == pytest.approx(DEFAULT_PURCHASE_RATE, abs=1e-4)
    # the drawn labels within 4 binomial standard deviations
    for task, rate in (("click", DEFAULT_CLICK_RATE), ("purchase", DEFAULT_PURCHASE_RATE)):
        assert abs(frame[task].mean() - rate) < 4 * np.sqrt(rate * (1 - rate) / n), task
    shares = frame["intent"].value_counts(normalize=True).sort_index().to_numpy()
    np.testing.assert_allclose(shares, [0.5, 0.3, 0.2], atol=0.04)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_base_rates_in_stated_ranges_across_seeds(seed):
    frame = make_shop(n_impressions=20_000, seed=seed, task_correlation=-0.7).impressions
    assert 0.05 <= frame["click"].mean() <= 0.15
    assert 0.005 <= frame["purchase"].mean() <= 0.02


def test_base_rate_knobs():
    frame = make_shop(**SMALL, click_rate=0.2, purchase_rate=0.05).impressions
    assert frame["click_true"].mean() == pytest.approx(0.2, abs=1e-3)
    assert frame["purchase_true"].mean() == pytest.approx(0.05, abs=1e-3)


def test_no_purchase_without_click_and_truth_is_consistent():
    frame = make_shop(**SMALL, task_correlation=-0.5).impressions
    assert not ((frame["purchase"] == 1) & (frame["click"] == 0)).any()
    np.testing.assert_allclose(frame["purchase_true"], frame["click_true"] * frame["cvr_true"],
                               rtol=1e-5)
    intent_truth = frame[["intent_true_browse", "intent_true_purchase", "intent_true_consult"]]
    np.testing.assert_allclose(intent_truth.sum(axis=1), 1.0, atol=1e-5)
    assert (frame["dwell"] > 0).all() and (frame["dwell_true"] > 0).all()


def test_more_noise_flattens_the_truth():
    calm = make_shop(**SMALL, noise={"click": 0.0}).impressions["click_true"]
    noisy = make_shop(**SMALL, noise={"click": 3.0}).impressions["click_true"]
    assert noisy.std() < calm.std()
    assert noisy.mean() == pytest.approx(calm.mean(), abs=1e-3)


def test_label_fraction_masks_exactly_and_keeps_truth():
    fractions = {"click": 0.5, "purchase": 0.1, "intent": 0.3, "dwell": 0.25}
    shop = make_shop(**SMALL, label_fraction=fractions, seed=5)
    frame = shop.impressions
    n = len(frame)
    for task in ("click", "purchase", "dwell"):
        assert frame[task].notna().sum() == round(fractions[task] * n), task
    assert frame["intent"].notna().mean() == pytest.approx(0.3, abs=0.03)
    # intent is masked per session, and intent_name with it
    per_session = frame.groupby("session_id")["intent"].apply(lambda s: s.notna().nunique())
    assert (per_session == 1).all()
    assert (frame["intent_name"].isna() == frame["intent"].isna()).all()
    truth_columns = [c for c in frame.columns if c.endswith("_true") or "_true_" in c]
    assert frame[truth_columns].notna().all().all()
    # the masks are reproducible, and removing them gives back the same labels
    again = make_shop(**SMALL, label_fraction=fractions, seed=5).impressions
    assert_same_frame(frame, again)
    full = shop.unmasked().impressions
    labelled = frame["purchase"].notna()
    assert full["purchase"].notna().all()
    pd.testing.assert_series_equal(full["purchase"][labelled], frame["purchase"][labelled])
    # several splits unmasked from one regenerated shop give the same rows and labels
    first, second = shop.split((0.5, 0.25, 0.25))[:2]
    whole = shop.unmasked()
    assert_same_frame(second.unmasked(whole).impressions, second.unmasked().impressions)
    other = make_shop(**SMALL, label_fraction=fractions, seed=6).unmasked()
    with pytest.raises(ValueError, match="full must be the unmasked shop"):
        first.unmasked(other)


def test_to_arrays_follows_the_contract():
    shop = make_shop(**SMALL, label_fraction={"purchase": 0.2})
    x, y = shop.to_arrays()
    n = len(shop)
    assert set(x) == set(shop.features.categorical) | {"numeric"}
    for name, size in shop.features.categorical.items():
        assert x[name].dtype == np.int32 and x[name].shape == (n,)
        assert x[name].min() >= 0 and x[name].max() < size
    assert x["numeric"].dtype == np.float32
    assert x["numeric"].shape == (n, len(shop.features.numeric))
    assert set(y) == set(TASKS)
    for task in TASKS:
        assert y[task].dtype == np.float32 and y[task].shape == (n,)
    assert np.isnan(y["purchase"]).mean() == pytest.approx(0.8, abs=1e-3)
    assert set(np.unique(y["intent"])) <= {0.0, 1.0, 2.0}
    _x2, y2 = shop.to_arrays(("click",))
    assert list(y2) == ["click"]
    with pytest.raises(ValueError, match="tasks"):
        shop.to_arrays(("click", "ctr"))


def test_truth_accessor():
    shop = make_shop(**SMALL)
    assert shop.truth("click").shape == (len(shop),)
    assert shop.truth("intent").shape == (len(shop), 3)
    np.testing.assert_allclose(shop.truth("purchase"), shop.truth("click") * shop.truth("cvr"),
                               rtol=1e-5)
    with pytest.raises(ValueError, match="task"):
        shop.truth("revenue")


def test_utterances_are_per_session_and_follow_intent():
    shop = make_shop(**SMALL)
    frame = shop.impressions
    assert (frame.groupby("session_id")["utterance"].nunique() == 1).all()
    consult_words = ("which", "compare", "worth", "look for", "warranty", "choose")
    says_consult = frame["utterance"].astype(str).str.contains("|".join(consult_words))
    share = says_consult.groupby(frame["intent_name"], observed=True).mean()
    assert share["consult"] > 0.8 and share["browse"] < 0.1


def test_params_and_repr():
    shop = make_shop(**SMALL, task_correlation=0.25, noise={"dwell": 1.0})
    assert isinstance(shop, ShopData)
    assert shop.params["task_correlation"] == 0.25
    assert shop.params["noise"]["dwell"] == 1.0 and shop.params["noise"]["click"] == 0.5
    assert shop.params["label_fraction"] == {task: 1.0 for task in TASKS}
    assert "6,000 impressions" in repr(shop)
