"""Lesson 10's teaching claims, checked on the generator where the truth is known.

* adaptive sharing: every MMoE gate starts near uniform and leaves it during training, on each
  of 5 seeds (spread below 0.1 at the start; it grows on every seed, and the 95 % interval of
  the mean growth lies above 0, after 3 epochs in batches of 512);
* scaling out: DataParallel on 2 simulated devices gives one device's losses and predictions
  up to float rounding;
* data bigger than memory: streaming an epoch from shards takes memory in proportion to one
  shard, not to the number of shards.
"""

from __future__ import annotations

import importlib.util
import tracemalloc

import pytest

from mtl_kit import distributed
from mtl_kit.data import shards
from mtl_kit.streaming import ShardBatches

pytestmark = pytest.mark.slow


def test_mmoe_gates_leave_uniform_on_every_seed():
    from mtl_kit.course import course_data
    from mtl_kit.gate_history import gate_spread, seed_mean_interval, track_gates
    from mtl_kit.models import build_mmoe

    data = course_data(("click", "purchase"))
    model = build_mmoe(data.tasks, data.features, n_experts=4, expert_units=(32,), tower=(16,),
                       seed=0)
    growth = []
    for seed in range(5):
        model.reseed(seed)
        spread = gate_spread(track_gates(model, data.x_train, data.y_train, data.x_val,
                                         epochs=3, batch_size=512))
        assert (spread.loc[0] < 0.1).all(), (seed, spread.loc[0])
        growth.append(spread.loc[3] - spread.loc[0])
    for task in data.tasks:
        values = [g[task] for g in growth]
        assert min(values) > 0, (task, values)
        assert seed_mean_interval(values)[1] > 0, (task, values)


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="DataParallel needs JAX")
def test_two_simulated_devices_give_one_devices_result():
    check = distributed.data_parallel_check(n_devices=2, epochs=1)
    assert check["task_loss_difference"] < 1e-4
    assert check["prediction_difference"] < 1e-4


def _epoch_peak(directory) -> int:
    batches = ShardBatches(directory, batch_size=2048)
    batches.on_epoch_begin()
    tracemalloc.start()
    for index in range(len(batches)):
        batches[index]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def test_streaming_memory_follows_the_shard_not_the_log(tmp_path):
    knobs = {"n_users": 500, "n_items": 100}
    shards.write_shards(tmp_path / "two", 40_000, shard_size=20_000, seed=1, **knobs)
    shards.write_shards(tmp_path / "eight", 160_000, shard_size=20_000, seed=1, **knobs)
    two, eight = _epoch_peak(tmp_path / "two"), _epoch_peak(tmp_path / "eight")
    assert eight < 1.3 * two, (two, eight)  # 4 × the rows, about the same peak
    row_bytes = 18 * 4  # 12 ids, 4 numbers, 2 labels
    assert eight < 4 * 20_000 * row_bytes  # a few shards' worth, far below the 160,000 rows
