"""Data parallelism: PaddedBatches, and fit / evaluate / predict_tasks under DataParallel on 2
simulated CPU devices matching one device (in a subprocess: XLA_FLAGS must be set before JAX is
imported)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from mtl_kit import distributed


def _arrays(n=10):
    x = {"numeric": np.arange(n * 2, dtype="float32").reshape(n, 2)}
    y = {"click": (np.arange(n) % 2).astype("float32"), "dwell": np.arange(n, dtype="float32")}
    return x, y


def test_padded_batches_pad_only_the_short_batch_with_missing_labels():
    x, y = _arrays(10)
    batches = distributed.PaddedBatches(x, y, batch_size=4, multiple=3)
    assert len(batches) == 3
    sizes = [len(batches[i][0]["numeric"]) for i in range(3)]
    assert sizes == [6, 6, 3]  # 4 -> 6, 4 -> 6, 2 -> 3
    bx, by = batches[2]
    assert bx["numeric"][-1].tolist() == x["numeric"][9].tolist()  # a copy of the last row
    assert np.isnan(by["click"][-1]) and np.isnan(by["dwell"][-1])
    assert by["dwell"][:2].tolist() == [8.0, 9.0]
    assert not np.isnan(batches[0][1]["dwell"][:4]).any()
    assert np.isnan(batches[0][1]["dwell"][4:]).all()


def test_padded_batches_leave_the_labels_they_were_given_untouched():
    x, y = _arrays(5)
    batches = distributed.PaddedBatches(x, y, batch_size=5, multiple=2)
    batches[0]
    assert not np.isnan(y["click"]).any()


def test_padded_batches_shuffle_with_numpys_global_generator_each_epoch():
    x, y = _arrays(10)
    batches = distributed.PaddedBatches(x, y, batch_size=10, multiple=1, shuffle=True)
    assert batches[0][1]["dwell"].tolist() == list(range(10))  # before the first epoch
    np.random.seed(3)
    batches.on_epoch_begin()
    np.random.seed(3)
    assert batches[0][1]["dwell"].tolist() == np.random.permutation(10).tolist()


def test_padded_batches_without_labels_give_inputs_only():
    x, _ = _arrays(3)
    (bx,) = distributed.PaddedBatches(x, batch_size=2, multiple=2)[1]
    assert len(bx["numeric"]) == 2


@pytest.mark.parametrize(("argument", "value"), [("batch_size", 0), ("multiple", 0)])
def test_padded_batches_refuse_bad_sizes(argument, value):
    x, y = _arrays(3)
    kwargs = {"batch_size": 2, "multiple": 1, argument: value}
    with pytest.raises(ValueError, match=argument):
        distributed.PaddedBatches(x, y, **kwargs)


def test_padded_size_and_flags():
    assert distributed.padded_size(149, 8) == 152
    assert distributed.padded_size(256, 2) == 256
    flags = distributed.simulated_devices_flags(2, "--xla_cpu_foo=1 "
                                                "--xla_force_host_platform_device_count=8")
    assert flags == "--xla_cpu_foo=1 --xla_force_host_platform_device_count=2"
    with pytest.raises(ValueError, match="n_devices"):
        distributed.simulated_devices_flags(0)


def test_one_device_without_a_distribution():
    assert distributed.data_parallel_devices() == 1
    assert distributed.cpu_cores() >= 1


SCRIPT = textwrap.dedent("""
    import json, os
    import numpy as np
    import keras, jax
    from mtl_kit.data import make_shop
    from mtl_kit.course import model_features
    from mtl_kit.models import build_hard_sharing
    assert len(jax.devices()) == 2, jax.devices()
    shop = make_shop(n_users=300, n_items=60, n_impressions=1_203, seed=2)
    train, val, _ = shop.split()
    tasks = ("click", "purchase")
    x, y = train.to_arrays(tasks)
    odd = len(x["numeric"]) // 2 * 2 - 1  # an odd row count: the last batch is padded
    x, y = ({k: v[:odd] for k, v in part.items()} for part in (x, y))
    xv, yv = val.unmasked().to_arrays(tasks)
    features = model_features(shop.features)

    def run(distribution):
        keras.distribution.set_distribution(distribution)
        model = build_hard_sharing(tasks, features, seed=1)
        history = model.fit(x, y, epochs=2, batch_size=64, validation_data=(xv, yv))
        return (history.history, model.evaluate(xv, yv, batch_size=100),
                {k: v.tolist() for k, v in model.predict_tasks(xv).items()})

    one = run(None)
    two = run(keras.distribution.DataParallel(devices=jax.devices()))
    print(json.dumps({"one": one, "two": two, "rows": len(x["numeric"])}))
""")


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="DataParallel needs JAX")
def test_data_parallel_on_two_devices_matches_one_device():
    env = {**os.environ, "KERAS_BACKEND": "jax",
           "XLA_FLAGS": distributed.simulated_devices_flags(2, os.environ.get("XLA_FLAGS"))}
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["rows"] % 64 % 2 == 1  # the last batch is odd: the padding is exercised
    (h1, e1, p1), (h2, e2, p2) = result["one"], result["two"]
    # float32 rounding: the devices add the same numbers in another order (1e-7 on JAX 0.10;
    # on Colab's JAX 0.7.2 up to about 1e-4 after two epochs of this small, fast-moving model)
    for key in ("click_loss", "purchase_loss", "val_click_loss", "val_purchase_loss"):
        np.testing.assert_allclose(h2[key], h1[key], rtol=0, atol=2e-4, err_msg=key)
    # the total weighs each batch by its rows, padding included: close, not equal
    np.testing.assert_allclose(h2["loss"], h1["loss"], rtol=0, atol=1e-3)
    for key in ("click_loss", "purchase_loss"):
        np.testing.assert_allclose(e2[key], e1[key], rtol=0, atol=2e-4, err_msg=key)
    for task in p1:
        np.testing.assert_allclose(p2[task], p1[task], rtol=0, atol=2e-4, err_msg=task)
