"""Tests of mtl_kit.plots: the task palette, the loss figure and the live loss callback."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

import mtl_kit  # noqa: F401  (tests/conftest.py imports it before keras, too)
from mtl_kit.plots import (
    BAND_ALPHA,
    PREVIOUS_RUN_ALPHA,
    TASK_COLORS,
    TASK_STYLES,
    LiveLossPlot,
    LossFigure,
    plot_history,
    plot_paired,
    task_color,
    task_names_from_logs,
    task_style,
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


def test_palette_is_okabe_ito_with_a_style_per_task() -> None:
    assert TASK_COLORS == {
        "click": "#0072B2",
        "purchase": "#D55E00",
        "intent": "#009E73",
        "dwell": "#56B4E9",
    }
    assert task_color("purchase") == "#D55E00"
    assert task_color("y1") == task_color("y1")
    assert task_color("y1") not in TASK_COLORS.values()
    assert set(TASK_STYLES) == set(TASK_COLORS)
    styles = list(TASK_STYLES.values())
    assert len({s["linestyle"] for s in styles}) == len({s["marker"] for s in styles}) == 4
    assert task_style("y1") == task_style("y1") and task_style("y1")["marker"] not in {
        s["marker"] for s in styles}
    task_style("click")["marker"] = "x"  # a copy: the palette stays as it is
    assert TASK_STYLES["click"]["marker"] == "o"
    with pytest.raises(TypeError, match="task"):
        task_color(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="task"):
        task_style(None)  # type: ignore[arg-type]


#: Machado, Oliveira & Fernandes (2009), severity 1.0, on linear RGB.
MACHADO = {
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
}


def _lab_as_seen(color: str, vision: str | None) -> np.ndarray:
    """CIELAB (D65) of a hex colour, as a viewer with ``vision`` (None: typical) sees it."""
    srgb = np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)]) / 255.0
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    if vision is not None:
        linear = np.clip(MACHADO[vision] @ linear, 0.0, 1.0)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                    [0.0193, 0.1192, 0.9505]]) @ linear / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _separation(a: str, b: str, vision: str | None) -> float:
    return float(np.linalg.norm(_lab_as_seen(a, vision) - _lab_as_seen(b, vision)))


@pytest.mark.parametrize("vision", [None, "deuteranopia", "protanopia"])
def test_task_colours_stay_apart_under_red_green_colour_blindness(vision) -> None:
    tasks = list(TASK_COLORS)
    gaps = {(a, b): _separation(TASK_COLORS[a], TASK_COLORS[b], vision)
            for i, a in enumerate(tasks) for b in tasks[i + 1:]}
    assert min(gaps.values()) > 20, gaps  # ΔE*ab: clearly distinct colours
    assert gaps[("click", "purchase")] > 80, gaps  # the pair of every lesson: far apart
    if vision == "deuteranopia":  # the old tab10 red and green were almost one colour
        assert _separation("#d62728", "#2ca02c", vision) < 10


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
    for task in ("click", "purchase"):  # the task's marker is the second cue, colour aside
        assert lines[(task, "val", "current")].get_marker() == TASK_STYLES[task]["marker"]
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


def test_a_band_over_seeds_is_drawn_behind_the_validation_curve(tmp_path) -> None:
    image = FakeImage()
    plot = LiveLossPlot(["click", "purchase"], image=image, band_label="band: 3 seeds")
    mean = fake_logs(0)
    history = {k: [v, v / 2, v / 3] for k, v in mean.items()}
    bands = {"val_click_loss": ([0.6, 0.3, 0.2], [0.9, 0.45, 0.3])}
    png = plot.show(history, bands, epochs=3, title="3 seeds")
    assert png.startswith(PNG_MAGIC) and image.value == png
    band = plot.loss_figure._bands["click"][0]
    assert band.get_alpha() == BAND_ALPHA
    assert band.get_facecolor()[0][:3] == pytest.approx(
        tuple(int(TASK_COLORS["click"][i:i + 2], 16) / 255 for i in (1, 3, 5)))
    (path,) = band.get_paths()
    assert path.vertices[:, 1].max() == pytest.approx(0.9)
    assert plot.loss_figure._bands["purchase"][0].get_paths() == []  # no band given
    assert plot.figure.axes[0].get_ylim()[1] >= 0.9  # the axis makes room for the band
    assert "band: 3 seeds" in [t.get_text() for t in plot.loss_figure.legend.get_texts()]
    # the cached background and the band give the pixels a full draw gives
    cached = plot.loss_figure.png()
    plot.figure.canvas.draw()
    full = np.asarray(plot.figure.canvas.buffer_rgba())
    from io import BytesIO

    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(BytesIO(cached))), full)
    plot.figure.savefig(tmp_path / "band.png")
    plot.start_run()
    plot.show(history, epochs=3)
    assert plot.loss_figure._bands["click"][0].get_paths() == []


def _paired_table():
    import pandas as pd

    rows = []
    for model, (dc, dp) in {"hard": (0.0, 0.06), "MMoE": (-0.01, 0.02)}.items():
        rows.append({"model": model, "task": "click", "metric": "auc", "reference":
                     "single-task", "difference": dc, "low": dc - 0.004, "high": dc + 0.005,
                     "verdict": "no difference we can detect" if dc == 0 else "worse"})
        rows.append({"model": model, "task": "purchase", "metric": "auc", "reference":
                     "single-task", "difference": dp, "low": dp - 0.025, "high": dp + 0.025,
                     "verdict": "better" if dp - 0.025 > 0 else "no difference we can detect"})
    return pd.DataFrame(rows)


def test_plot_paired_draws_each_difference_with_its_interval_and_verdict(tmp_path) -> None:
    figure = plot_paired(_paired_table())
    axes = figure.axes
    assert [ax.get_title() for ax in axes] == ["click: AUC", "purchase: AUC"]
    texts = [t.get_text() for t in axes[1].texts]
    assert any("better" in t and "+0.060 [+0.035, +0.085]" in t for t in texts)
    assert any("no difference we can detect" in t for t in texts)
    labels = {t.get_text(): y for t, y in zip(axes[0].get_yticklabels(), axes[0].get_yticks(),
                                              strict=True)}
    assert labels["hard"] > labels["MMoE"]  # the first model on top
    for ax, task in zip(axes, ("click", "purchase"), strict=True):
        assert any(line.get_xdata()[0] == 0 for line in ax.get_lines())  # the zero line
        markers = [line for line in ax.get_lines() if line.get_marker() not in ("None", "")]
        assert {m.get_marker() for m in markers} >= {TASK_STYLES[task]["marker"]}
        assert {m.get_color() for m in markers} == {TASK_COLORS[task]}
        low, high = ax.get_xlim()
        assert low < 0 < high
    hollow = [line.get_markerfacecolor() for line in axes[1].get_lines()
              if line.get_marker() == TASK_STYLES["purchase"]["marker"]]
    assert "white" in hollow  # MMoE: no difference we can detect
    figure.savefig(tmp_path / "paired.png")


def test_plot_paired_takes_a_comparison_and_checks_its_input() -> None:
    table = _paired_table()

    class FakeComparison:
        split = "val"
        seeds = (0, 1, 2, 3, 4)

        def paired(self, reference=None, metrics=None):
            return table

    figure = plot_paired(FakeComparison())
    assert "validation split, 5 seeds" in figure._suptitle.get_text()
    with pytest.raises(TypeError, match="comparison must be"):
        plot_paired([1, 2])
    with pytest.raises(ValueError, match="lacks the columns"):
        plot_paired(table.drop(columns=["verdict"]))
    with pytest.raises(ValueError, match="nothing to draw"):
        plot_paired(table.iloc[:0])


def _gradient_logs(epochs: int = 4) -> dict[str, list[float]]:
    """What a gradient diagnostics run logs (and the losses), for click, purchase, dwell."""
    logs = fake_logs(0)
    history = {key: [value / (e + 1) for e in range(epochs)] for key, value in logs.items()}
    for t, (norm, weight) in {"click": (0.1, 1.0), "purchase": (0.05, 3.0),
                              "dwell": (20.0, 1.0)}.items():
        history[f"{t}_grad_norm"] = [norm * (1 + 0.1 * e) for e in range(epochs)]
        history[f"{t}_weight"] = [weight + 0.2 * e for e in range(epochs)]
    history["grad_cosine_click_purchase"] = [0.3, 0.2, 0.1, 0.05][:epochs]
    history["grad_cosine_click_dwell"] = [-0.2, -0.1, 0.0, 0.1][:epochs]
    history["grad_cosine_purchase_dwell"] = [0.05, -0.05, -0.3, -0.2][:epochs]
    return history


def test_plot_task_gradients_draws_cosines_norms_and_weights(tmp_path) -> None:
    from matplotlib.figure import Figure

    from mtl_kit.plots import PAIR_STYLES, plot_task_gradients

    logs = _gradient_logs()
    figure = plot_task_gradients(logs, title="a run")
    assert isinstance(figure, Figure) and figure._suptitle.get_text() == "a run"
    cosine_ax, norm_ax, weight_ax = figure.axes[:3]
    assert "cos" in cosine_ax.get_title("left") and "‖g_t‖" in norm_ax.get_title("left")
    assert weight_ax.get_xlabel() == "epoch"
    # one line per pair, in distinct styles and in no task's colour, and the zero line
    pairs = {line.get_label(): line for line in cosine_ax.get_lines()
             if not line.get_label().startswith("_")}
    assert set(pairs) == {"click · purchase", "click · dwell", "purchase · dwell"}
    styles = {(line.get_color(), line.get_linestyle(), line.get_marker())
              for line in pairs.values()}
    assert len(styles) == 3 and not {s[0] for s in styles} & set(TASK_COLORS.values())
    assert {s[0] for s in styles} <= {p["color"] for p in PAIR_STYLES}
    assert any(list(line.get_ydata()) == [0.0, 0.0] for line in cosine_ax.get_lines())
    low, high = cosine_ax.get_ylim()
    assert low < -0.3 and 0.3 < high <= 1.05
    np.testing.assert_allclose(pairs["purchase · dwell"].get_ydata(),
                               logs["grad_cosine_purchase_dwell"])
    assert norm_ax.get_yscale() == "log"  # dwell's gradient is 200× click's
    for ax, suffix in ((norm_ax, "grad_norm"), (weight_ax, "weight")):
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert set(lines) == {"click", "purchase", "dwell"}
        for task, line in lines.items():
            assert line.get_color() == TASK_COLORS[task]
            assert line.get_marker() == TASK_STYLES[task]["marker"]
            assert line.get_linestyle() == TASK_STYLES[task]["linestyle"]
            np.testing.assert_allclose(line.get_ydata(), logs[f"{task}_{suffix}"])
            np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3, 4])
    assert weight_ax.get_yscale() == "linear"  # weights within a factor 30
    figure.savefig(tmp_path / "gradients.png")
    # a subset of the tasks; a keras History works as well as its dict
    history = keras.callbacks.History()
    history.history = logs
    two = plot_task_gradients(history, tasks=["click", "dwell"])
    assert {line.get_label() for line in two.axes[0].get_lines()
            if not line.get_label().startswith("_")} == {"click · dwell"}


def test_plot_task_gradients_needs_the_diagnostics() -> None:
    from mtl_kit.plots import plot_task_gradients

    with pytest.raises(ValueError, match="compile with gradient_diagnostics=True or use a "
                                         "gradient strategy"):
        plot_task_gradients({k: [v] for k, v in fake_logs(0).items()})
    with pytest.raises(ValueError, match="no gradient diagnostics"):
        plot_task_gradients({})
    with pytest.raises(ValueError, match=r"for task\(s\) \['intent'\]"):
        plot_task_gradients(_gradient_logs(), tasks=["click", "intent"])
    with pytest.raises(ValueError, match="tasks must be a non-empty list"):
        plot_task_gradients(_gradient_logs(), tasks="click")
    with pytest.raises(TypeError, match="history must be a keras History"):
        plot_task_gradients([1.0, 2.0])


def test_plot_task_gradients_of_a_real_run() -> None:
    """A (tiny, uncompiled) MGDA run's History draws as it is; one task has no pairs."""
    from mtl_kit.models import build_hard_sharing
    from mtl_kit.plots import plot_task_gradients
    from mtl_kit.tasks import TaskSpec

    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 2)).astype("float32")
    y = {t: (x[:, 0] * (i - 1) + x[:, 1]).astype("float32")
         for i, t in enumerate(("a", "b", "c"))}
    model = build_hard_sharing([TaskSpec(t, "regression") for t in y], 2, shared=(4,),
                               head=(), weighting="mgda", jit_compile=False)
    history = model.fit(x, y, epochs=2, batch_size=16, validation_data=(x, y))
    figure = plot_task_gradients(history)
    assert len([line for line in figure.axes[0].get_lines()
                if not line.get_label().startswith("_")]) == 3
    weights = [line.get_ydata() for line in figure.axes[2].get_lines()]
    np.testing.assert_allclose(np.sum(weights, axis=0), 1.0, rtol=1e-5)  # MGDA: on the simplex
    alone = plot_task_gradients({"click_grad_norm": [0.1, 0.2], "click_weight": [1.0, 1.0]})
    assert "no pairs" in " ".join(t.get_text() for t in alone.axes[0].texts)
