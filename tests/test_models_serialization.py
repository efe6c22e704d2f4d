"""Every model round-trips through model.save("x.keras") / keras.models.load_model."""

import mtl_kit  # noqa: F401  (selects the backend before keras)

# isort: split
import keras
import numpy as np
import pytest
from conftest_models import FEATURES, tiny_shop

from mtl_kit.models import (
    MultiTaskModel,
    build_cross_stitch,
    build_esmm,
    build_hard_sharing,
    build_mmoe,
    build_ple,
    build_single_task,
    build_soft_sharing,
)
from mtl_kit.tasks import shop_tasks

TASKS = shop_tasks(("click", "purchase", "intent"))
BUILDERS = {
    "single": lambda: build_single_task("click", FEATURES, hidden=(8,)),
    "hard": lambda: build_hard_sharing(TASKS, FEATURES, shared=(8,), head=(4,),
                                       loss_weights={"intent": 0.5}),
    "soft": lambda: build_soft_sharing(TASKS, FEATURES, tower=(8,), beta=0.02, distance="l1"),
    "cross_stitch": lambda: build_cross_stitch(TASKS, FEATURES, tower=(8, 4)),
    "mmoe": lambda: build_mmoe(TASKS, FEATURES, n_experts=3, expert_units=(8,)),
    "ple": lambda: build_ple(TASKS, FEATURES, expert_units=(8,)),
    "esmm": lambda: build_esmm(FEATURES, ctr_tower=(8,), cvr_tower=(8,)),
    "plain_matrix": lambda: build_mmoe(shop_tasks(("dwell",)), 3, n_experts=2),
}


@pytest.fixture(scope="module")
def data():
    return tiny_shop(256, seed=3)


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_save_load_identical_predictions(kind, data, tmp_path):
    x, y = data
    if kind == "plain_matrix":
        x = x["numeric"]
    model = BUILDERS[kind]()
    model.fit(x, y, epochs=1, batch_size=64)
    path = tmp_path / f"{kind}.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is type(model)
    before, after = model.predict_tasks(x), loaded.predict_tasks(x)
    assert set(before) == set(after)
    for name in before:
        np.testing.assert_array_equal(after[name], before[name])
    assert loaded.loss_weights == model.loss_weights
    assert loaded.beta == model.beta
    # The loaded model is compiled and keeps training.
    loaded.fit(x, y, epochs=1, batch_size=64)


def test_seed_model_round_trip(tmp_path):
    x = np.random.default_rng(0).normal(size=(64, 5)).astype("float32")
    model = MultiTaskModel(num_tasks=2)
    model.compile(loss="mse", optimizer="adam", metrics=["mae"])
    model.fit(x, [x[:, 0], x[:, 1]], epochs=1, verbose=0)
    model.save(tmp_path / "seed.keras")
    loaded = keras.models.load_model(tmp_path / "seed.keras")
    for a, b in zip(model.predict(x, verbose=0), loaded.predict(x, verbose=0), strict=True):
        np.testing.assert_array_equal(a, b)
