"""Tests of mtl_kit.plots: the task palette, the loss figure and the live loss callback."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

import mtl_kit  # noqa: F401  (tests/conftest.py imports it before keras, too)
from mtl_kit.plots import (
    PREVIOUS_RUN_ALPHA,
    TASK_COLORS,
    LiveLossPlot,
    LossFigure,
    plot_history,
    task_color,
    task_names_from_logs,
)

PNG_MAGIC = b"\x89PNG"


class FakeImage:
    """Stands in for ipywidgets.Image: records every PNG it is given."""

    def __init__(self) -> None:
        self.values: list[bytes] = []

    @property
    def value(self) -> bytes:
        return self.values[-1] if self.values else b""

    @value.setter
    def value(self, png: bytes) -> None:
        self.values.append(png)


def fake_logs(epoch: int, scale: float = 1.0, soft: bool = False) -> dict[str, float]:
    logs = {
        "loss": scale * (2.0 / (epoch + 1)),
        "click_loss": scale * (0.7 / (epoch + 1)),
        "purchase_loss": scale * (0.3 / (epoch + 1)),
        "val_click_loss": scale * (0.75 / (epoch + 1)),
        "val_purchase_loss": scale * (0.35 / (epoch + 1)),
    }
    if soft:
        logs["penalty"] = 0.01 * scale / (epoch + 1)
        logs["tower_distance"] = 10.0 * scale / (epoch + 1)
    return logs


def drive(callback: LiveLossPlot, epochs: int, scale: float = 1.0, soft: bool = False) -> None:
    """Call the Keras hooks by hand, as ``fit`` would."""
    callback.on_train_begin()
    for epoch in range(epochs):
        callback.on_epoch_end(epoch, fake_logs(epoch, scale, soft))
    callback.on_train_end()


def test_palette_is_fixed_and_used_for_unknown_tasks() -> None:
    assert TASK_COLORS == {
        "click": "#1f77b4",
        "purchase": "#d62728",
        "intent": "#2ca02c",
        "dwell": "#9467bd",
    }
    assert task_color("purchase") == "#d62728"
    assert task_color("y1") == task_color("y1")
    assert task_color("y1") not in TASK_COLORS.values()
    with pytest.raises(TypeError, match="task"):
        task_color(3)  # type: ignore[arg-type]


def test_task_names_from_logs() -> None:
    keys = ["loss", "click_loss", "val_click_loss", "purchase_loss", "penalty", "val_loss"]
    assert task_names_from_logs(keys) == ["click", "purchase"]


def test_callback_draws_train_solid_val_dashed_in_task_colours() -> None:
    image = FakeImage()
    callback = LiveLossPlot(["click", "purchase"], image=image, min_interval=0.0)
    drive(callback, epochs=3)
    assert image.value.startswith(PNG_MAGIC)
    data = callback.loss_figure.line_data()
    assert data[("click", "train", "current")] == (
        [1.0, 2.0, 3.0],
        pytest.approx([0.7, 0.35, 0.7 / 3]),
    )
    assert data[("purchase", "val", "current")][1] == pytest.approx([0.35, 0.175, 0.35 / 3])
    lines = callback.loss_figure._lines
    assert lines[("click", "train", "current")].get_linestyle() == "-"
    assert lines[("click", "val", "current")].get_linestyle() == "--"
    assert lines[("purchase", "train", "current")].get_color() == TASK_COLORS["purchase"]
    ax = callback.figure.axes[0]
    assert ax.get_xlabel() == "epoch"
    assert "loss" in ax.get_ylabel()
    assert callback.loss_figure.title == "Per-task loss"
    legend_labels = [t.get_text() for t in callback.figure.legends[0].get_texts()]
    assert {"click", "purchase", "training", "validation", "previous run"} <= set(legend_labels)


def test_previous_run_is_drawn_faintly_behind_the_new_one() -> None:
    callback = LiveLossPlot(["click", "purchase"], image=FakeImage(), min_interval=0.0)
    drive(callback, epochs=3, scale=1.0)
    first = callback.loss_figure.line_data()[("click", "train", "current")]
    drive(callback, epochs=4, scale=2.0)
    data = callback.loss_figure.line_data()
    assert data[("click", "train", "previous")] == first
    assert data[("click", "train", "current")][1] == pytest.approx(
        [2 * 0.7 / (e + 1) for e in range(4)]
    )
    faint = callback.loss_figure._lines[("click", "train", "previous")]
    assert faint.get_alpha() == PREVIOUS_RUN_ALPHA


def test_soft_sharing_adds_the_distance_and_penalty_panel() -> None:
    callback = LiveLossPlot(["click", "purchase"], image=FakeImage(), min_interval=0.0)
    drive(callback, epochs=2, soft=True)
    figure = callback.figure
    assert len(figure.axes) == 3  # losses, tower distance, penalty (twin axis)
    data = callback.loss_figure.line_data()
    assert data[("tower_distance", "train", "current")][1] == pytest.approx([10.0, 5.0])
    assert data[("penalty", "train", "current")][1] == pytest.approx([0.01, 0.005])
    labels = [ax.get_ylabel() for ax in figure.axes]
    assert "tower distance Σd" in labels
    assert "penalty β·Σd" in labels


def test_redraws_are_throttled_but_the_end_is_always_drawn() -> None:
    image = FakeImage()
    callback = LiveLossPlot(["click", "purchase"], image=image, min_interval=60.0)
    drive(callback, epochs=5)
    assert len(image.values) == 1  # only the final figure
    assert callback.loss_figure.line_data()[("click", "train", "current")][0] == [1, 2, 3, 4, 5]

    every_epoch = FakeImage()
    drive(LiveLossPlot(["click", "purchase"], image=every_epoch, min_interval=0.0), epochs=3)
    assert len(every_epoch.values) == 4  # three epochs + the end


def test_a_diverging_run_is_stopped_and_explained_in_the_figure() -> None:
    class Model:
        stop_training = False

    callback = LiveLossPlot(["click", "purchase"], image=FakeImage(), min_interval=60.0)
    model = Model()
    callback.set_model(model)
    callback.on_train_begin()
    callback.on_epoch_end(0, fake_logs(0))
    logs = fake_logs(1)
    logs["click_loss"] = math.nan
    logs["loss"] = math.inf
    callback.on_epoch_end(1, logs)
    assert model.stop_training is True
    assert callback.diverged_at == 2
    callback.on_train_end()
    note = callback.loss_figure._note
    assert note.get_visible()
    assert "diverged at epoch 2" in note.get_text()


def test_validation_of_arguments() -> None:
    with pytest.raises(ValueError, match="tasks"):
        LiveLossPlot([])
    with pytest.raises(ValueError, match="min_interval"):
        LiveLossPlot(min_interval=-1)
    with pytest.raises(TypeError, match="image"):
        LiveLossPlot(image=object())
    with pytest.raises(ValueError, match="tasks"):
        LossFigure([])
    with pytest.raises(TypeError, match="history"):
        plot_history([1, 2, 3])
    with pytest.raises(ValueError, match="_loss"):
        plot_history({"accuracy": [0.5]})


def test_plot_history_from_a_dict_and_a_previous_run() -> None:
    current = {k: [v] for k, v in fake_logs(0, soft=True).items()}
    previous = {k: [v] for k, v in fake_logs(0, scale=2.0, soft=True).items()}
    figure = plot_history(current, previous)
    assert len(figure.axes) == 3
    loss_lines = figure.axes[0].get_lines()
    assert any(line.get_alpha() == PREVIOUS_RUN_ALPHA and len(line.get_xdata()) for line in
               loss_lines)


def tiny_two_task_model() -> keras.Model:
    inputs = keras.Input(shape=(4,), name="x")
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    click = keras.layers.Dense(1, activation="sigmoid", name="click")(hidden)
    purchase = keras.layers.Dense(1, activation="sigmoid", name="purchase")(hidden)
    model = keras.Model(inputs, {"click": click, "purchase": purchase})
    model.compile(
        optimizer="adam",
        loss={"click": "binary_crossentropy", "purchase": "binary_crossentropy"},
    )
    return model


def test_callback_in_a_real_keras_fit() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = {
        "click": (x[:, 0] > 0).astype("float32"),
        "purchase": (x[:, 1] > 0).astype("float32"),
    }
    image = FakeImage()
    callback = LiveLossPlot(image=image)  # tasks found in the logs
    model = tiny_two_task_model()
    history = model.fit(
        x, y, validation_data=(x, y), epochs=3, batch_size=32, verbose=0, callbacks=[callback]
    )
    assert callback.history["click_loss"] == pytest.approx(history.history["click_loss"])
    assert image.value.startswith(PNG_MAGIC)
    assert callback.loss_figure.tasks == ["click", "purchase"]
    figure = plot_history(history)
    assert figure.axes[0].get_lines()


@pytest.mark.slow
def test_headless_notebook_stores_the_final_figure_once(tmp_path) -> None:
    """nbclient runs a cell that fits with the callback: no error, one image/png output."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    cell = """
import mtl_kit
import keras
import numpy as np
from mtl_kit.plots import LiveLossPlot
inputs = keras.Input(shape=(4,))
h = keras.layers.Dense(8, activation="relu")(inputs)
outputs = {"click": keras.layers.Dense(1, activation="sigmoid", name="click")(h),
           "purchase": keras.layers.Dense(1, activation="sigmoid", name="purchase")(h)}
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss="binary_crossentropy")
x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
y = {"click": (x[:, 0] > 0).astype("float32"), "purchase": (x[:, 1] > 0).astype("float32")}
callback = LiveLossPlot(min_interval=0.0)
history = model.fit(x, y, validation_data=(x, y), epochs=3, verbose=0, callbacks=[callback])
"""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(cell),
        nbformat.v4.new_code_cell("from mtl_kit.plots import plot_history\nplot_history(history)"),
    ]
    nbclient.NotebookClient(notebook, timeout=180, kernel_name="python3").execute()
    for cell in notebook.cells:
        outputs = cell.outputs
        assert not [o for o in outputs if o.output_type == "error"]
        images = [o for o in outputs if "image/png" in o.get("data", {})]
        assert len(images) == 1  # live: updated in place; static: shown once


def test_the_cached_background_gives_the_same_pixels_as_a_full_draw() -> None:
    """png() redraws only the curves (and a panel whose limits changed): same picture."""
    import io

    from PIL import Image

    first = {k: [v] * 3 for k, v in fake_logs(0, soft=True).items()}
    second = dict(first, tower_distance=[30.0, 40.0, 50.0], penalty=[0.0, 0.0, 0.0])
    cached = LossFigure(["click", "purchase"], soft=True)
    for history in (first, second, first, second):
        cached.update(history, None, title="run")
        png = cached.png()
    assert cached.full_draws == 1  # later updates reused the background
    assert cached.panel_draws == 1  # the soft panel was drawn for `second` once, then pasted
    cached._background = None  # force a full draw of the same state
    expected = np.asarray(Image.open(io.BytesIO(cached.png())))
    assert cached.full_draws == 2
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png))), expected)
