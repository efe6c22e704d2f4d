"""The lean training loop (``mtl_kit.epoch_loop``): same numbers as Keras' ``fit``, less Python.

On JAX, ``MultiTaskNet.fit`` runs each epoch as one compiled call; these tests pin down that it
is a faster way to the *same* training run, that callbacks still see what Keras shows them, and
that it steps aside for whatever it does not do.
"""

import mtl_kit  # noqa: F401

# isort: split
import keras
import numpy as np
import pytest
from conftest_models import FEATURES, tiny_shop

from mtl_kit import epoch_loop
from mtl_kit.models import build_hard_sharing, build_soft_sharing
from mtl_kit.tasks import shop_tasks

TASKS = shop_tasks(("purchase", "intent"))  # masked labels, a multiclass task
jax_only = pytest.mark.skipif(keras.backend.backend() != "jax",
                              reason="the lean loop runs on JAX; other backends use Keras' fit")


@pytest.fixture(scope="module")
def data():
    x, y = tiny_shop(700)  # 2 full batches of 256 and a short one of 188
    xv, yv = tiny_shop(300, seed=1)
    return x, y, xv, yv


def _keras_fit(model, *args, **kwargs):
    """Keras' own loop on the same model (what MultiTaskNet.fit falls back to)."""
    original = epoch_loop.can_run
    epoch_loop.can_run = lambda *_: False
    try:
        return model.fit(*args, **kwargs)
    finally:
        epoch_loop.can_run = original


@jax_only
@pytest.mark.parametrize(("build", "validation_batch_size"),
                         [(build_hard_sharing, None), (build_soft_sharing, None),
                          (build_hard_sharing, 128)])
def test_same_run_as_keras_fit(data, build, validation_batch_size):
    """Same batches, same order, same step: the same history and predictions."""
    x, y, xv, yv = data
    kwargs = {"validation_data": (xv, yv), "epochs": 3, "batch_size": 256}
    if validation_batch_size is not None:
        kwargs["validation_batch_size"] = validation_batch_size
    lean = build(TASKS, FEATURES, seed=3)
    assert epoch_loop.can_run(lean, {k: v for k, v in kwargs.items() if k in
                                     epoch_loop.SUPPORTED_FIT_ARGUMENTS})
    lean_history = lean.fit(x, y, **kwargs).history
    plain = build(TASKS, FEATURES, seed=3)
    plain_history = _keras_fit(plain, x, y, **kwargs).history
    assert sorted(lean_history) == sorted(plain_history)
    assert "val_intent_loss" in lean_history and len(lean_history["loss"]) == 3
    for key, values in plain_history.items():
        np.testing.assert_allclose(lean_history[key], values, rtol=1e-5, atol=1e-6, err_msg=key)
    for task, values in plain.predict_tasks(xv).items():
        np.testing.assert_allclose(lean.predict_tasks(xv)[task], values, rtol=1e-5, atol=1e-6)


@jax_only
def test_unshuffled_and_single_short_batch(data):
    x, y, _, _ = data
    small = {k: v[:100] for k, v in x.items()}, {k: v[:100] for k, v in y.items()}
    lean = build_hard_sharing(TASKS, FEATURES, seed=1)
    plain = build_hard_sharing(TASKS, FEATURES, seed=1)
    for kwargs in ({"shuffle": False, "batch_size": 256}, {"shuffle": False, "batch_size": 64}):
        np.testing.assert_allclose(lean.retrain(*small, epochs=2, **kwargs).history["loss"],
                                   _keras_fit(plain, *small, epochs=2, **kwargs).history["loss"],
                                   rtol=1e-5)
        plain.reset()


@jax_only
def test_callbacks_see_epochs_weights_and_can_stop(data):
    x, y, xv, yv = data
    model = build_hard_sharing(TASKS, FEATURES, seed=0)
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen.append(("begin", self.params["epochs"]))

        def on_epoch_end(self, epoch, logs=None):
            # the model's variables hold this epoch's weights
            seen.append((epoch, sorted(logs), np.array(self.model.bottom[0].kernel.value)))
            if epoch == 2:
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            seen.append(("end", sorted(logs)))

    history = model.fit(x, y, validation_data=(xv, yv), epochs=10, callbacks=[Spy()])
    assert seen[0] == ("begin", 10) and seen[-1][0] == "end"
    epochs = seen[1:-1]
    assert [e[0] for e in epochs] == [0, 1, 2] and len(history.history["loss"]) == 3
    assert "val_purchase_loss" in epochs[0][1]
    assert not np.allclose(epochs[0][2], epochs[1][2])  # weights moved between epochs
    np.testing.assert_array_equal(epochs[-1][2], model.bottom[0].kernel.value)
    assert model.history is history


@jax_only
def test_falls_back_to_keras_fit_for_what_it_does_not_do(data):
    model = build_hard_sharing(TASKS, FEATURES, seed=0)

    class PerBatch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            pass

    assert epoch_loop.can_run(model, {"callbacks": [keras.callbacks.EarlyStopping()]})
    for kwargs in ({"verbose": 1}, {"callbacks": [PerBatch()]}, {"shuffle": "batch"},
                   {"sample_weight": np.ones(3)}, {"initial_epoch": 1},
                   {"validation_split": 0.2}):
        assert not epoch_loop.can_run(model, kwargs), kwargs
    x, y, _, _ = data
    assert epoch_loop.can_run(model, {}, (x, y))
    huge = np.broadcast_to(np.float32(0), (epoch_loop.MAX_DATA_BYTES,))  # 2 GB, not allocated
    assert not epoch_loop.can_run(model, {}, (x, {"click": huge}))
    batches = []

    class Count(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            batches.append(batch)

    model.fit(x, y, epochs=1, callbacks=[Count()])  # Keras' loop: per-batch hooks are called
    assert len(batches) >= 1


@jax_only
def test_mixing_both_loops_and_reset_stays_reproducible(data):
    """Keras' compiled steps donate (free) the buffers variables hold; the stored initial
    state and the loop's fresh metric values must survive that."""
    x, y, xv, yv = data
    model = build_soft_sharing(TASKS, FEATURES, seed=0)
    first = model.fit(x, y, epochs=2).history["loss"]
    model.reset()
    model.evaluate(xv, yv)  # Keras' test step on the freshly restored weights
    model.predict_tasks(xv)
    _keras_fit(model, x, y, epochs=1)
    model.evaluate(xv, yv)
    again = model.retrain(x, y, epochs=2).history["loss"]
    np.testing.assert_allclose(again, first, rtol=1e-6)


def test_empty_data_is_refused_before_training(data):
    x, y, _, _ = data
    model = build_hard_sharing(TASKS, FEATURES, seed=0)
    empty = ({k: v[:0] for k, v in x.items()}, {k: v[:0] for k, v in y.items()})
    with pytest.raises(ValueError, match="x has no rows"):
        model.fit(*empty)
    with pytest.raises(ValueError, match="validation_data x has no rows"):
        model.fit(x, y, validation_data=empty)


def test_other_backends_use_keras_fit():
    model = build_hard_sharing(shop_tasks(("click",)), FEATURES, seed=0)
    assert epoch_loop.can_run(model, {}) == (keras.backend.backend() == "jax")


# -- epoch-level state: what callbacks assign between epochs is used by the next epoch ------
class _ZeroPurchaseWeightAfterFirstEpoch(keras.callbacks.Callback):
    """Sets λ_purchase = 0 at the end of epoch 0 (a model variable, assigned between epochs)."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            self.model.set_loss_weights({"purchase": 0.0})


EPOCH_CALLBACKS = {
    "lr 0 after epoch 0": lambda: keras.callbacks.LearningRateScheduler(
        lambda epoch, lr: lr if epoch == 0 else 0.0),
    "decaying lr": lambda: keras.callbacks.LearningRateScheduler(
        lambda epoch, lr: 0.01 * 0.3 ** epoch),
    # min_delta=10: no epoch counts as an improvement after the first, so (patience 0) the
    # rate is divided by 10 at the end of every epoch from epoch 1 on
    "reduce lr on plateau": lambda: keras.callbacks.ReduceLROnPlateau(
        monitor="loss", factor=0.1, patience=0, min_delta=10.0),
    "purchase weight 0 after epoch 0": _ZeroPurchaseWeightAfterFirstEpoch,
}


@jax_only
@pytest.mark.parametrize("name", list(EPOCH_CALLBACKS))
def test_epoch_callbacks_take_effect_as_in_keras_fit(data, name):
    """The fast loop reads the variables after on_epoch_begin, as Keras' fit does: a learning
    rate or λ that a callback sets between epochs is the one the next epoch trains with."""
    x, y, _, _ = data
    kwargs = {"epochs": 4, "batch_size": 256}
    lean = build_hard_sharing(TASKS, FEATURES, seed=2, learning_rate=0.01)
    callback = EPOCH_CALLBACKS[name]()
    assert epoch_loop.can_run(lean, {"callbacks": [callback]}, (x, y))
    lean_history = lean.fit(x, y, callbacks=[callback], **kwargs).history
    plain = build_hard_sharing(TASKS, FEATURES, seed=2, learning_rate=0.01)
    plain_history = _keras_fit(plain, x, y, callbacks=[EPOCH_CALLBACKS[name]()],
                               **kwargs).history
    assert sorted(lean_history) == sorted(plain_history)
    for key, values in plain_history.items():
        np.testing.assert_allclose(lean_history[key], values, rtol=1e-5, atol=1e-7,
                                   err_msg=key)
    for task, values in plain.predict_tasks(x).items():
        np.testing.assert_allclose(lean.predict_tasks(x)[task], values, rtol=1e-5, atol=1e-6)

    # and the callback did change the run (a loop that ignored it would differ from Keras')
    ignored = build_hard_sharing(TASKS, FEATURES, seed=2, learning_rate=0.01)
    ignored_history = ignored.fit(x, y, **kwargs).history
    assert not np.allclose(lean_history["loss"][1:], ignored_history["loss"][1:], rtol=1e-4)
    if name == "lr 0 after epoch 0":
        # the weights stop moving after epoch 0: every later epoch averages each task's loss
        # over the same rows with the same weights (only the batch order changes)
        for task in ("purchase_loss", "intent_loss"):
            np.testing.assert_allclose(lean_history[task][1:], lean_history[task][1],
                                       rtol=1e-5, err_msg=task)
        assert lean_history["learning_rate"][1:] == [0.0, 0.0, 0.0]
    if name == "reduce lr on plateau":
        # the rate an epoch trained with (logged before that epoch's end divides it)
        np.testing.assert_allclose(lean_history["learning_rate"], [0.01, 0.01, 1e-3, 1e-4],
                                   rtol=1e-5)
    if name == "purchase weight 0 after epoch 0":
        # from epoch 1 on, L = 1·L_intent (intent has a label on every row)
        np.testing.assert_allclose(lean_history["loss"][1:], lean_history["intent_loss"][1:],
                                   rtol=1e-5)
        assert lean_history["loss"][0] > lean_history["intent_loss"][0] * 1.01
        assert lean.loss_weights["purchase"] == 0.0


@jax_only
@pytest.mark.parametrize("strategy", ["dwa", "gradnorm", "pcgrad"])
def test_strategies_state_and_callbacks_match_keras_fit(data, strategy):
    """A strategy's state (DWA's per-epoch weights, GradNorm's learned weights and L_t(0)) and
    a learning rate set by a callback between epochs: the fast loop trains the same run as
    Keras' fit, diagnostics included. (PCGrad has no variables: while its layer was left
    unbuilt, Keras' fit drew a batch to build it, used up a shuffle and trained another run.)"""
    x, y, _, _ = data
    kwargs = {"epochs": 3, "batch_size": 256}
    sizes = {"shared": (8,), "head": (4,), "embedding_dim": 2, "seed": 4,
             "weighting": strategy}

    def schedule():
        return keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.02 * 0.5 ** epoch)

    lean = build_hard_sharing(TASKS, FEATURES, **sizes)
    assert epoch_loop.can_run(lean, {"callbacks": [schedule()]}, (x, y))
    lean_history = lean.fit(x, y, callbacks=[schedule()], **kwargs).history
    plain = build_hard_sharing(TASKS, FEATURES, **sizes)
    plain_history = _keras_fit(plain, x, y, callbacks=[schedule()], **kwargs).history
    assert sorted(lean_history) == sorted(plain_history)
    np.testing.assert_allclose(lean_history["learning_rate"], [0.02, 0.01, 0.005], rtol=1e-6)
    for key, values in plain_history.items():
        np.testing.assert_allclose(lean_history[key], values, rtol=1e-4, atol=1e-6,
                                   err_msg=key)
    for a, b in zip(lean.weighting.variables, plain.weighting.variables, strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a.value),
                                   keras.ops.convert_to_numpy(b.value), rtol=1e-4, atol=1e-6,
                                   err_msg=a.name)
    if strategy == "dwa":  # the weights did change between epochs
        assert not np.allclose(keras.ops.convert_to_numpy(lean.weighting.task_weights()), 1.0)
