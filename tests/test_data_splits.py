"""Splits by user: disjoint, complete, reproducible."""

import numpy as np
import pytest

from mtl_kit.data import make_shop


@pytest.fixture(scope="module")
def shop():
    return make_shop(n_users=800, n_items=100, n_impressions=8_000, seed=2)


def test_splits_share_no_user_and_cover_every_row(shop):
    parts = shop.split()
    users = [set(part.impressions["user_id"]) for part in parts]
    assert not users[0] & users[1] and not users[0] & users[2] and not users[1] & users[2]
    index = np.concatenate([part.impressions.index.to_numpy() for part in parts])
    assert np.array_equal(np.sort(index), np.arange(len(shop)))
    sizes = np.array([len(part) for part in parts]) / len(shop)
    np.testing.assert_allclose(sizes, [0.7, 0.15, 0.15], atol=0.02)
    assert [part.params["split"]["part"] for part in parts] == ["train", "val", "test"]


def test_splits_are_reproducible_and_seeded(shop):
    first = [part.impressions.index for part in shop.split()]
    again = [part.impressions.index for part in shop.split()]
    other = [part.impressions.index for part in shop.split(seed=99)]
    assert all(a.equals(b) for a, b in zip(first, again, strict=True))
    assert not first[0].equals(other[0])


def test_custom_fractions_and_arrays(shop):
    train, test = shop.split((0.8, 0.2), seed=1)
    assert len(train) + len(test) == len(shop)
    _x, y = test.to_arrays(("click",))
    assert len(y["click"]) == len(test)


@pytest.mark.parametrize(
    "fractions", [(0.7, 0.3, 0.1), (1.0,), (0.5, -0.5, 1.0), "0.7,0.3", (0.5, float("nan"))]
)
def test_bad_fractions(shop, fractions):
    with pytest.raises((TypeError, ValueError), match="fractions"):
        shop.split(fractions)
