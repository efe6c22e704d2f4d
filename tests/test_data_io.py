"""Save / load round trip, and the committed sample."""

import pytest
from frame_asserts import assert_same_frame

from mtl_kit.data import load_sample, load_shop, make_shop, save_shop
from mtl_kit.data.io import SAMPLE_NAME, default_data_dir


def _assert_same_shop(a, b):
    assert_same_frame(a.impressions, b.impressions)
    assert_same_frame(a.users, b.users)
    assert_same_frame(a.items, b.items)
    assert a.features == b.features


@pytest.mark.parametrize("compress", [False, True])
def test_save_load_round_trip(tmp_path, compress):
    shop = make_shop(n_users=300, n_items=60, n_impressions=3_000, seed=4,
                     label_fraction={"purchase": 0.3, "intent": 0.5})
    meta = save_shop(shop, tmp_path, "tiny", compress=compress)
    assert meta.name == "tiny_meta.json"
    loaded = load_shop(tmp_path, "tiny")
    _assert_same_shop(shop, loaded)
    assert loaded.params["seed"] == 4


def test_split_round_trip_keeps_row_index(tmp_path):
    _, _, test = make_shop(n_users=300, n_items=60, n_impressions=3_000).split()
    save_shop(test, tmp_path, "test_part")
    loaded = load_shop(tmp_path, "test_part")
    assert loaded.impressions.index.equals(test.impressions.index)
    _x, y = loaded.to_arrays()
    assert len(y["click"]) == len(test)


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        load_shop(tmp_path, "nope")
    with pytest.raises(ValueError, match="name"):
        load_shop(tmp_path, "a/b")
    with pytest.raises(TypeError, match="shop"):
        save_shop("not a shop", tmp_path)


def test_committed_sample_loads_and_matches_the_generator():
    assert (default_data_dir() / f"{SAMPLE_NAME}_meta.json").is_file(), (
        "data/shop_sample_* missing: run `python -m mtl_kit.data`"
    )
    sample = load_sample()
    assert len(sample) == 40_000
    # the sample is make_shop() with default knobs; if this fails, regenerate the sample
    _assert_same_shop(sample, make_shop())


def test_load_sample_regenerates_without_files(tmp_path, monkeypatch):
    monkeypatch.setenv("MTL_KIT_DATA_DIR", str(tmp_path))
    assert len(load_sample()) == 40_000
