"""A shop written in shards, and fit streaming from them (mtl_kit.data.shards,
mtl_kit.streaming)."""

from __future__ import annotations

import numpy as np
import pytest

from mtl_kit.data import shards
from mtl_kit.streaming import ShardBatches

KNOBS = {"n_users": 200, "n_items": 40}


@pytest.fixture(scope="module")
def shard_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("shards")
    shards.write_shards(directory, 2_500, shard_size=1_000, seed=3, **KNOBS)
    return directory


def test_shard_sizes_split_the_rows():
    assert shards.shard_sizes(2_500, 1_000) == [1_000, 1_000, 500]
    assert shards.shard_sizes(2_000, 1_000) == [1_000, 1_000]
    with pytest.raises(ValueError, match="shard_size"):
        shards.shard_sizes(10, 0)


def test_written_shards_round_trip(shard_dir):
    manifest = shards.read_manifest(shard_dir)
    assert manifest["rows"] == [1_000, 1_000, 500]
    assert manifest["tasks"] == ["click", "purchase"]
    x, y = shards.read_shard(shard_dir, 2)
    assert len(x["numeric"]) == 500 and set(y) == {"click", "purchase"}
    first, _ = shards.read_shard(shard_dir, 0)
    second, _ = shards.read_shard(shard_dir, 1)
    assert not np.array_equal(first["numeric"], second["numeric"])  # independent draws
    features = shards.manifest_features(manifest)
    assert "item_id" not in features.categorical and "user_id" not in features.categorical


def test_bad_arguments_are_named(tmp_path, shard_dir):
    with pytest.raises(ValueError, match="tasks"):
        shards.write_shards(tmp_path, 10, tasks=("click", "sales"))
    with pytest.raises(ValueError, match="n_impressions"):
        shards.write_shards(tmp_path, 0)
    with pytest.raises(FileNotFoundError, match="write_shards"):
        shards.read_manifest(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="index"):
        shards.read_shard(shard_dir, 3)
    with pytest.raises(ValueError, match="batch_size"):
        ShardBatches(shard_dir, batch_size=0)


def _epoch(batches):
    batches.on_epoch_begin()
    return [batches[i] for i in range(len(batches))]


def test_an_epoch_visits_every_row_once_reading_each_shard_once(shard_dir):
    batches = ShardBatches(shard_dir, batch_size=300)
    assert len(batches) == 4 + 4 + 2
    np.random.seed(0)
    epoch = _epoch(batches)
    assert batches.loads == batches.epoch_loads == 3  # sequential access: one read per shard
    seen = np.concatenate([bx["numeric"] for bx, _ in epoch])
    everything = np.concatenate([shards.read_shard(shard_dir, k)[0]["numeric"]
                                 for k in range(3)])
    assert seen.shape == everything.shape
    key = np.lexsort(seen.T)
    np.testing.assert_array_equal(seen[key], everything[np.lexsort(everything.T)])
    first_order = batches.shard_order.copy()
    _epoch(batches)
    assert batches.loads == 6 and batches.epoch_loads == 3
    assert not np.array_equal(epoch[0][0]["numeric"], batches[0][0]["numeric"]) or \
        not np.array_equal(first_order, batches.shard_order)


def test_batches_pad_to_the_device_count_with_missing_labels(shard_dir):
    batches = ShardBatches(shard_dir, batch_size=300, multiple=8, shuffle=False)
    bx, by = batches[3]  # the 4th batch of shard 0 has 100 rows: padded to 104
    assert len(bx["numeric"]) == 104
    assert np.isnan(by["click"][100:]).all() and not np.isnan(by["click"][:100]).any()
    assert "categorical_ids" in bx and bx["categorical_ids"].dtype == np.int32


def test_fit_streams_from_shards(shard_dir):
    from mtl_kit.models import build_hard_sharing

    batches = ShardBatches(shard_dir, batch_size=256)
    model = build_hard_sharing(("click", "purchase"),
                               shards.manifest_features(batches.manifest), seed=0)
    with pytest.raises(ValueError, match="y must be None"):
        model.fit(batches, {"click": np.zeros(3)})
    history = model.fit(batches, epochs=2)
    assert np.isfinite(history.history["click_loss"]).all()
    assert history.history["click_loss"][1] < history.history["click_loss"][0]
    assert batches.epoch_loads == 3  # the last epoch read each shard once
    assert batches.loads in (6, 7)  # + 1 on TensorFlow: Keras peeks at the first batch
    x, y = shards.read_shard(shard_dir, 2)
    assert set(model.evaluate(x, y)) >= {"click_loss", "purchase_loss"}
