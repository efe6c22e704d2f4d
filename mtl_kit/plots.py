"""Loss curves for multi-task training: a live Keras callback and static helpers.

Every plot in the course draws a task in the same colour (``TASK_COLORS``, Okabe-Ito hues
that stay apart under red-green colour blindness: click blue, purchase vermillion, intent
bluish green, dwell sky blue) and with the same marker (``TASK_STYLES``: also a line style,
used where the line style is not taken by another meaning). In a loss figure a task's
*training* loss is a solid line, its *validation* loss a dashed line, each with the task's
marker, and the *previous run* is drawn faintly behind the current one, so moving a λ or β
slider and training again shows the difference at a glance. A run over several seeds draws
each curve's mean over the seeds and, behind the validation curve, a band from the lowest
to the highest seed.

``plot_paired(comparison)`` draws the evidence of ``mtl_kit.experiments.compare``: each
model's paired difference to the reference, per task, with its 95 % interval and verdict.

The loss plotted for task *i* is the raw, unweighted task loss L_i(θ) that Keras logs
as ``"<task>_loss"``; the weights λ_i only change what the optimiser minimises,
L(θ) = Σ_i λ_i L_i(θ). For soft sharing a second panel shows the tower distance
Σ d(θ_i, θ_j) (``"tower_distance"``) and the penalty β·Σ d (``"penalty"``).

Figures are drawn with Matplotlib's Agg renderer (no GUI, no ``ipympl``) and shown as
PNG images, through a display handle in a notebook cell or in an ``ipywidgets.Image``
inside an explorer. That works the same in JupyterLab, on Colab and in headless runs
(``nbclient``/``nbval``), where the final figure is stored in the notebook as
``image/png``.
"""

from __future__ import annotations

import io
import math
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import keras
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from mtl_kit.palette import TASK_COLORS, TASK_STYLES, task_color, task_style
from mtl_kit.tasks import HIGHER_IS_BETTER as HIGHER_IS_BETTER_LOOKUP

__all__ = [
    "BAND_ALPHA",
    "PREVIOUS_RUN_ALPHA",
    "TASK_COLORS",
    "TASK_STYLES",
    "LiveLossPlot",
    "LossFigure",
    "figure_to_png",
    "plot_history",
    "plot_paired",
    "task_color",
    "task_names_from_logs",
    "task_style",
]

#: How visible the previous run is behind the current one.
PREVIOUS_RUN_ALPHA = 0.25

#: How visible the band over seeds (lowest to highest seed) is.
BAND_ALPHA = 0.2

#: Size of the task markers on loss curves.
_MARKER_SIZE = 4.5

#: Colours of the soft-sharing panel.
_DISTANCE_COLOR = "#333333"
_PENALTY_COLOR = "#CC79A7"  # Okabe-Ito reddish purple: no shop task uses it

_SPECIAL_KEYS = ("penalty", "tower_distance")


def task_names_from_logs(keys: Iterable[str]) -> list[str]:
    """Task names found in Keras log keys: every ``"<task>_loss"`` that is not ``val_...``.

    >>> task_names_from_logs(["loss", "click_loss", "val_click_loss", "purchase_loss"])
    ['click', 'purchase']
    """
    names = []
    for key in keys:
        if key.endswith("_loss") and not key.startswith("val_") and key != "loss":
            names.append(key[: -len("_loss")])
    return names


def figure_to_png(figure: Figure, dpi: float | None = None) -> bytes:
    """Render ``figure`` with Agg into PNG bytes (what a notebook stores as ``image/png``)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _as_history_dict(history: Any, name: str) -> dict[str, list[float]]:
    """A Keras ``History``, its ``.history`` dict, or None -> dict of float lists."""
    if history is None:
        return {}
    if isinstance(history, keras.callbacks.History):
        history = history.history
    if not isinstance(history, Mapping):
        raise TypeError(
            f"{name} must be a keras History or a dict of per-epoch lists, "
            f"got {type(history).__name__}"
        )
    return {str(k): [float(v) for v in values] for k, values in history.items()}


def _is_bad(value: float) -> bool:
    return math.isnan(value) or math.isinf(value)


class LossFigure:
    """A reusable figure of per-task loss curves (and the soft-sharing panel).

    The figure, its axes and its lines are created once; every update only changes the
    lines' data, which keeps a redraw cheap. Left panel: for every task, training loss
    (solid) and validation loss (dashed) per epoch, the previous run faint behind.
    Right panel (``soft=True``): tower distance Σ d(θ_i, θ_j) on the left axis and the
    penalty β·Σ d on the right axis.

    Args:
        tasks: task names, in legend order.
        soft: add the soft-sharing panel.
        title: title of the loss panel.
        figsize: size in inches; ``dpi``: resolution of the PNG.
        yscale: of the loss axis; ``"auto"`` switches to a log scale when the largest loss
            is more than 20 times the smallest (e.g. a regression loss next to log-losses).
        figure: an empty Matplotlib figure to draw on (default: a new Agg figure).
        band_label: legend entry of the band drawn behind each validation curve (e.g.
            "min–max of 5 seeds"); None: no entry (the band is drawn when ``update`` gets one).
    """

    def __init__(
        self,
        tasks: Sequence[str],
        *,
        soft: bool = False,
        title: str = "Per-task loss",
        figsize: tuple[float, float] | None = None,
        dpi: float = 80,
        yscale: str = "auto",
        figure: Figure | None = None,
        band_label: str | None = None,
    ) -> None:
        if yscale not in ("auto", "linear", "log"):
            raise ValueError(f"yscale must be 'auto', 'linear' or 'log', got {yscale!r}")
        self.yscale = yscale
        tasks = list(tasks)
        if not tasks or not all(isinstance(t, str) for t in tasks):
            raise ValueError(f"tasks must be a non-empty list of task names, got {tasks!r}")
        self.tasks = tasks
        self.soft = bool(soft)
        if figsize is None:
            figsize = (10.0, 3.8) if self.soft else (7.5, 3.8)
        if figure is None:  # drawn with Agg, never through pyplot: no GUI, shown only by us
            figure = Figure()
            FigureCanvasAgg(figure)
        self.figure = figure
        self.figure.set_size_inches(*figsize)
        self.figure.set_dpi(dpi)
        if self.soft:
            self.ax, self.ax_distance = self.figure.subplots(
                1, 2, gridspec_kw={"width_ratios": [1.5, 1.0]}
            )
            self.ax_penalty: Axes | None = self.ax_distance.twinx()
            self.figure.subplots_adjust(left=0.07, right=0.92, bottom=0.25, top=0.9, wspace=0.3)
        else:
            self.ax = self.figure.subplots(1, 1)
            self.ax_distance = None
            self.ax_penalty = None
            self.figure.subplots_adjust(left=0.1, right=0.97, bottom=0.25, top=0.9)
        self._lines: dict[tuple[str, str, str], Line2D] = {}
        self._bands: dict[str, tuple[PolyCollection, Line2D, Line2D]] = {}
        self.band_label = band_label
        self._background: Any = None
        self._background_keys: dict[str, tuple[Any, ...]] = {}
        #: Recently drawn panel backgrounds by their layout key (a learner going back to an
        #: earlier λ or β gets its axes back without drawing them again).
        self._panel_pixels: OrderedDict[tuple[str, tuple[Any, ...]], np.ndarray] = OrderedDict()
        self._regions: dict[str, tuple[slice, slice]] = {}
        #: How many times the whole figure was drawn (the rest reused its background), and
        #: how many times one panel was drawn again because its limits changed.
        self.full_draws = 0
        self.panel_draws = 0
        self._setup_axes(title)
        self._note = self.ax.text(
            0.5, 0.5, "", transform=self.ax.transAxes, ha="center", va="center",
            fontsize=11, color="#555555", wrap=True, zorder=10,
            bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "#bbbbbb"},
        )
        self._note.set_visible(False)

    # -- building ---------------------------------------------------------------------
    def _setup_axes(self, title: str) -> None:
        ax = self.ax
        # The loss panel's title changes with every run (it names λ, β, ...): a figure text
        # centred over the panel, drawn on top of the cached background (see ``png``).
        box = ax.get_position()
        self._title = self.figure.text(
            (box.x0 + box.x1) / 2, box.y1 + 0.02, title, ha="center", va="bottom", fontsize=11
        )
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss (unweighted, per task)")
        _style_axes(ax)
        for task in self.tasks:
            color, marker = task_color(task), task_style(task)["marker"]
            # the band over seeds (validation loss): a polygon, and two invisible lines at
            # its edges so that the axis limits include it
            band = PolyCollection([], facecolors=color, edgecolors="none", alpha=BAND_ALPHA,
                                  zorder=1.6)  # over the grid, under the curves
            ax.add_collection(band, autolim=False)
            edges = tuple(ax.plot([], [], lw=0, color=color)[0] for _ in range(2))
            self._bands[task] = (band, *edges)
            for run, alpha, width in (("previous", PREVIOUS_RUN_ALPHA, 1.5), ("current", 1.0, 2)):
                for split, style in (("train", "-"), ("val", "--")):
                    (line,) = ax.plot([], [], style, color=color, alpha=alpha, lw=width,
                                      marker=marker, markersize=_MARKER_SIZE, zorder=2)
                    self._lines[(task, split, run)] = line
        handles = [Line2D([], [], color=task_color(t), lw=3, marker=task_style(t)["marker"],
                          markersize=_MARKER_SIZE + 1, label=t) for t in self.tasks]
        handles += [
            Line2D([], [], color="black", ls="-", lw=2, label="training"),
            Line2D([], [], color="black", ls="--", lw=2, label="validation"),
            Line2D([], [], color="black", alpha=PREVIOUS_RUN_ALPHA, lw=2, label="previous run"),
        ]
        if self.band_label:
            handles.append(Patch(facecolor="black", alpha=BAND_ALPHA, label=self.band_label))
        if self.soft:
            self._setup_soft_panel()
            handles += [
                Line2D([], [], color=_DISTANCE_COLOR, lw=2, label="tower distance Σd"),
                Line2D([], [], color=_PENALTY_COLOR, ls="-.", lw=2, label="penalty β·Σd"),
            ]
        self.legend = self.figure.legend(
            handles=handles, loc="lower center", ncol=len(handles), fontsize=8,
            frameon=False, handlelength=1.8, columnspacing=1.2,
        )

    def _setup_soft_panel(self) -> None:
        ax, axp = self.ax_distance, self.ax_penalty
        assert ax is not None and axp is not None
        box = ax.get_position()
        self._soft_title = self.figure.text(
            (box.x0 + box.x1) / 2, box.y1 + 0.02, "Soft sharing: distance between towers",
            ha="center", va="bottom", fontsize=11,
        )
        ax.set_xlabel("epoch")
        ax.set_ylabel("tower distance Σd", color=_DISTANCE_COLOR)
        axp.set_ylabel("penalty β·Σd", color=_PENALTY_COLOR)
        axp.tick_params(axis="y", colors=_PENALTY_COLOR, labelsize=9)
        _style_axes(ax)
        axp.yaxis.set_label_coords(1 + _LABEL_GAP_PX / _width_px(axp), 0.5)
        for axis in (ax.yaxis, axp.yaxis):  # the ticks _autoscale rounds the limits to
            axis.set_major_locator(MaxNLocator(nbins=5, steps=list(_NICE_STEPS)))
        for run, alpha in (("previous", PREVIOUS_RUN_ALPHA), ("current", 1.0)):
            (line,) = ax.plot([], [], "-", color=_DISTANCE_COLOR, alpha=alpha, lw=2)
            self._lines[("tower_distance", "train", run)] = line
            (line,) = axp.plot([], [], "-.", color=_PENALTY_COLOR, alpha=alpha, lw=2)
            self._lines[("penalty", "train", run)] = line

    # -- updating ---------------------------------------------------------------------
    def update(
        self,
        current: Mapping[str, Sequence[float]] | None,
        previous: Mapping[str, Sequence[float]] | None = None,
        *,
        title: str | None = None,
        note: str | None = None,
        epochs: int | None = None,
        bands: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
    ) -> None:
        """Show the ``current`` run's curves over the faint ``previous`` run.

        ``current``/``previous`` map Keras log keys (``"click_loss"``, ``"val_click_loss"``,
        ``"penalty"``, ``"tower_distance"``) to per-epoch values; missing keys draw nothing.
        ``note`` is written across the loss panel (e.g. "press Train" or a divergence).
        ``epochs``: the planned number of epochs, so the x axis does not grow while training.
        ``bands``: ``{"val_<task>_loss": (low, high)}`` per epoch, drawn as a shaded band
        behind that task's validation curve (e.g. the lowest and highest of several seeds).
        """
        runs = {"current": current or {}, "previous": previous or {}}
        for (name, split, run), line in self._lines.items():
            history = runs[run]
            if name in _SPECIAL_KEYS:
                key = name
            elif name == "loss":  # a single-output model logs only "loss"/"val_loss"
                key = "loss" if split == "train" else "val_loss"
            else:
                key = f"{name}_loss" if split == "train" else f"val_{name}_loss"
            values = [math.nan if _is_bad(v) else v for v in history.get(key, ())]
            line.set_data(range(1, len(values) + 1), values)
        for task, (band, low_edge, high_edge) in self._bands.items():
            low, high = (bands or {}).get(f"val_{task}_loss", ((), ()))
            points = [(x, lo, hi) for x, (lo, hi) in enumerate(zip(low, high, strict=True),
                                                                start=1)
                      if not (_is_bad(float(lo)) or _is_bad(float(hi)))]
            xs = [p[0] for p in points]
            low_edge.set_data(xs, [p[1] for p in points])
            high_edge.set_data(xs, [p[2] for p in points])
            polygon = [(p[0], p[1]) for p in points] + [(p[0], p[2]) for p in reversed(points)]
            band.set_verts([polygon] if len(points) > 1 else [])
        if title is not None:
            self._title.set_text(title)
        self._note.set_text(note or "")
        self._note.set_visible(bool(note))
        self._set_loss_scale()
        for ax in (self.ax, self.ax_distance, self.ax_penalty):
            if ax is not None:
                _autoscale(ax, log=ax.get_yscale() == "log", epochs=epochs)

    def _set_loss_scale(self) -> None:
        scale = self.yscale
        if scale == "auto":
            ys = [float(y) for line in self.ax.get_lines() for y in line.get_ydata()
                  if not _is_bad(float(y))]
            positive = bool(ys) and min(ys) > 0
            scale = "log" if positive and max(ys) > 20 * min(ys) else "linear"
        if scale == "log" and any(float(y) <= 0 for line in self.ax.get_lines()
                                  for y in line.get_ydata() if not _is_bad(float(y))):
            scale = "linear"  # a log axis cannot show losses <= 0
        if scale != self.ax.get_yscale():
            self.ax.set_yscale(scale)
            self.ax.set_ylabel("loss (unweighted, per task" + (", log scale)" if scale == "log"
                                                               else ")"))

    def png(self) -> bytes:
        """The figure as PNG bytes, redrawing only what changed.

        Drawing text (ticks, labels, legend) is most of the cost of a figure. So the figure
        without its curves (the *background*) is kept from the last draw, and each update
        draws only the curves, the title and the note on top of it. The axes limits are
        rounded to "nice" values, so consecutive runs usually share them; when a panel's
        limits do change, only that panel is redrawn into the background (e.g. a new β
        changes the tower-distance panel, not the loss panel), or pasted from the last
        ``PANEL_CACHE_SIZE`` panels drawn, when it looked like that before.
        """
        canvas = self.figure.canvas
        dynamic = self._dynamic_artists()
        keys = self._layout_keys()
        shown = [artist.get_visible() for artist in dynamic]
        for artist in dynamic:
            artist.set_visible(False)
        try:
            if self._background is None or keys["figure"] != self._background_keys["figure"]:
                canvas.draw()  # everything once: legend, labels, both panels
                self.full_draws += 1
                self._panel_pixels.clear()
                self._regions = {panel: self._panel_region(panel) for panel in self._panels()}
                for panel in self._panels():
                    self._remember_panel(panel, keys[panel])
            else:
                canvas.restore_region(self._background)
                changed = [p for p in self._panels() if keys[p] != self._background_keys[p]]
                for panel in changed:
                    self._redraw_panel(panel, keys[panel])
                if not changed:
                    keys = self._background_keys
            if keys is not self._background_keys:
                self._background = canvas.copy_from_bbox(self.figure.bbox)
                self._background_keys = keys
        finally:
            for artist, visible in zip(dynamic, shown, strict=True):
                artist.set_visible(visible)
        renderer = canvas.get_renderer()
        for artist in dynamic:
            if artist.get_visible():
                artist.draw(renderer)
        return _rgba_to_png(canvas.buffer_rgba())

    def _dynamic_artists(self) -> list[Any]:
        """What changes from run to run: the curves, the loss panel's title and the note."""
        return [*(band for band, _, _ in self._bands.values()), *self._lines.values(),
                self._title, self._note]

    def _panels(self) -> dict[str, list[Axes]]:
        """The panels, each with its axes: "loss" and, for soft sharing, "soft"."""
        panels = {"loss": [self.ax]}
        if self.ax_distance is not None and self.ax_penalty is not None:
            panels["soft"] = [self.ax_distance, self.ax_penalty]
        return panels

    def _layout_keys(self) -> dict[str, tuple[Any, ...]]:
        """What each panel's background depends on (limits, scales, labels) and the size."""
        keys: dict[str, tuple[Any, ...]] = {
            "figure": (tuple(self.figure.get_size_inches()), self.figure.dpi)
        }
        for panel, axes in self._panels().items():
            keys[panel] = tuple(
                (ax.get_xlim(), ax.get_ylim(), ax.get_yscale(), ax.get_ylabel()) for ax in axes
            )
        return keys

    def _panel_region(self, panel: str) -> tuple[slice, slice]:
        """The pixel rows and columns of a panel (with its tick labels), above the legend
        (and, for the soft panel, below its fixed title, which never needs drawing again).
        Measured after each full draw (``self._regions``): measuring text is slow."""
        canvas = self.figure.canvas
        renderer = canvas.get_renderer()
        width, height = canvas.get_width_height()
        legend_top = self.legend.get_window_extent(renderer).y1
        split = (self.ax.get_window_extent().x1 + 4) if "soft" in self._panels() else width
        x0, x1 = (0, split) if panel == "loss" else (split, width)
        top = 0  # image rows run from the top
        if panel == "soft" and not self._soft_title_overlaps(renderer):
            top = math.ceil(height - self._soft_title.get_window_extent(renderer).y0)
        return slice(top, max(top, int(height - legend_top))), slice(int(x0), int(x1))

    def _soft_title_overlaps(self, renderer: Any) -> bool:
        """Whether a tick label of the soft panel reaches up into its title's rows."""
        title_bottom = self._soft_title.get_window_extent(renderer).y0
        return any(label.get_window_extent(renderer).y1 > title_bottom
                   for ax in self._panels()["soft"]
                   for label in ax.yaxis.get_ticklabels() if label.get_text())

    def _remember_panel(self, panel: str, key: tuple[Any, ...]) -> None:
        rows, columns = self._regions[panel]
        pixels = np.asarray(self.figure.canvas.buffer_rgba())
        self._panel_pixels[(panel, key)] = pixels[rows, columns].copy()
        self._panel_pixels.move_to_end((panel, key))
        while len(self._panel_pixels) > PANEL_CACHE_SIZE:
            self._panel_pixels.popitem(last=False)

    def _redraw_panel(self, panel: str, key: tuple[Any, ...]) -> None:
        """Draw a panel's axes again (or paste them, if it was drawn with this layout)."""
        canvas = self.figure.canvas
        rows, columns = self._regions[panel]
        pixels = np.asarray(canvas.buffer_rgba())
        remembered = self._panel_pixels.get((panel, key))
        if remembered is not None:
            pixels[rows, columns] = remembered
            self._panel_pixels.move_to_end((panel, key))
            return
        background = (np.array(self.figure.get_facecolor()) * 255).round().astype(np.uint8)
        pixels[rows, columns] = background  # paint it blank, tick labels included
        self.panel_draws += 1
        renderer = canvas.get_renderer()
        for ax in self._panels()[panel]:
            ax.draw(renderer)
        if panel == "soft" and rows.start == 0:
            self._soft_title.draw(renderer)
        self._remember_panel(panel, key)

    @property
    def title(self) -> str:
        """The loss panel's title."""
        return self._title.get_text()

    def line_data(self) -> dict[tuple[str, str, str], tuple[list[float], list[float]]]:
        """(name, "train"/"val", "current"/"previous") -> the (x, y) data of each line."""
        return {
            key: ([float(v) for v in line.get_xdata()], [float(v) for v in line.get_ydata()])
            for key, line in self._lines.items()
        }


#: Tick steps of the linear axes (times a power of ten).
_NICE_STEPS = (1, 2, 2.5, 5, 10)

#: How many panel backgrounds ``LossFigure.png`` keeps (about 0.5 MB each).
PANEL_CACHE_SIZE = 16

#: Where the axis labels sit, in pixels from the axes (fixed: Matplotlib would otherwise
#: measure every tick label at every draw to place them).
_LABEL_GAP_PX = 44


def _width_px(ax: Axes) -> float:
    figure = ax.get_figure()
    return ax.get_position().width * figure.get_figwidth() * figure.dpi


def _style_axes(ax: Axes) -> None:
    """Integer epochs, a light grid, small tick labels and fixed label positions."""
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    ax.tick_params(labelsize=9)
    height_px = ax.get_position().height * ax.get_figure().get_figheight() * ax.get_figure().dpi
    ax.xaxis.set_label_coords(0.5, -26 / height_px)
    ax.yaxis.set_label_coords(-_LABEL_GAP_PX / _width_px(ax), 0.5)


def _autoscale(ax: Axes, log: bool = False, epochs: int | None = None) -> None:
    """Fit the axis limits to the finite data of its lines (NaN and inf are ignored).

    The x axis spans the planned ``epochs`` (or the data); the y limits are rounded out to
    "nice" tick values (or whole decades on a log axis), so small changes of the data keep
    the same limits (and the cached background of ``LossFigure.png``).
    """
    xs: list[float] = []
    ys: list[float] = []
    for line in ax.get_lines():
        for x, y in zip(line.get_xdata(), line.get_ydata(), strict=False):
            if not _is_bad(float(y)):
                xs.append(float(x))
                ys.append(float(y))
    last = max([*xs, float(epochs or 0), 1.0]) if xs or epochs else 5.0
    _set_limits(ax.set_xlim, ax.get_xlim(), (0.8, last + 0.2))
    if not ys:
        _set_limits(ax.set_ylim, ax.get_ylim(), (0.0, 1.0))
        return
    low, high = min(ys), max(ys)
    if log:  # 1, 2 or 5 times a power of ten
        limits = (_nice_log(low, down=True), _nice_log(high, down=False))
    else:
        margin = 0.03 * (high - low)  # curves do not touch the frame
        if margin < 1e-9 * max(1.0, abs(high)):  # a flat line, e.g. a penalty with β = 0
            margin = max(abs(high) * 0.1, 1e-3)
        ticks = MaxNLocator(nbins=5, steps=list(_NICE_STEPS)).tick_values(
            low - margin, high + margin
        )
        limits = (float(ticks[0]), float(ticks[-1]))
        if low >= 0 > limits[0]:  # losses and distances are >= 0: start the axis at 0
            limits = (0.0, limits[1])
        current_low, current_high = ax.get_ylim()
        fills = (high - low) >= 0.6 * (current_high - current_low)
        if current_low <= limits[0] and limits[1] <= current_high and fills:
            return  # the data still fits well: keep the limits (and the cached background)
    _set_limits(ax.set_ylim, ax.get_ylim(), limits)


def _nice_log(value: float, down: bool) -> float:
    """The nearest of 1, 2, 5 × 10^k below (``down``) or above ``value`` (> 0)."""
    power = 10.0 ** math.floor(math.log10(value))
    choices = [power * m for m in (1, 2, 5, 10)]
    if down:
        return max(c for c in choices if c <= value * (1 + 1e-12))
    return min(c for c in choices if c >= value * (1 - 1e-12))


def _set_limits(setter: Any, current: tuple[float, float], wanted: tuple[float, float]) -> None:
    if not (math.isclose(current[0], wanted[0]) and math.isclose(current[1], wanted[1])):
        setter(*wanted)


def _rgba_to_png(buffer: Any) -> bytes:
    """PNG bytes of an RGBA pixel buffer (fast compression: the image is sent, not stored)."""
    from PIL import Image

    image = Image.fromarray(np.asarray(buffer))  # (height, width, 4) uint8 -> RGBA image
    output = io.BytesIO()
    image.save(output, format="png", compress_level=1)
    return output.getvalue()


def plot_history(
    history: Any,
    previous: Any = None,
    *,
    tasks: Sequence[str] | None = None,
    title: str = "Per-task loss",
    soft: bool | None = None,
) -> Figure:
    """A static figure of the loss curves in ``history`` (a Keras ``History`` or its dict).

    Each task's training loss is solid, its validation loss dashed; ``previous`` (another
    run) is drawn faintly behind. ``soft`` adds the tower-distance/penalty panel (default:
    when ``history`` has a ``"tower_distance"`` key). Returns a Matplotlib ``Figure``;
    as the last expression of a notebook cell it is shown once.
    """
    current = _as_history_dict(history, "history")
    before = _as_history_dict(previous, "previous")
    if tasks is None:
        tasks = task_names_from_logs(current) or task_names_from_logs(before)
    if not tasks:
        raise ValueError(
            "history has no '<task>_loss' keys; pass tasks=[...] or a Keras History from "
            "a multi-task model"
        )
    if soft is None:
        soft = "tower_distance" in current or "tower_distance" in before
    # Made by pyplot so that a notebook's inline backend knows how to show it, then closed
    # so that the backend does not show it a second time at the end of the cell.
    import matplotlib.pyplot as plt

    figure = plt.figure()
    plt.close(figure)
    plot = LossFigure(tasks, soft=soft, title=title, figure=figure)
    plot.update(current, before)
    return plot.figure


class LiveLossPlot(keras.callbacks.Callback):
    """A Keras callback that draws every task's loss curves while the model trains.

    Per epoch it records the logged values (``"<task>_loss"``, ``"val_<task>_loss"``,
    and for soft sharing ``"penalty"`` = β·Σd and ``"tower_distance"`` = Σd) and redraws:
    training loss solid, validation loss dashed, one colour per task (``TASK_COLORS``),
    the previous run (the last ``fit`` with this callback) faint behind.

    Where the figure goes:

    * ``image=None`` (a lesson cell): a display handle in the cell's output, created at
      the first draw and updated in place (``display(..., display_id=True)`` then
      ``handle.update(...)``); a headless run stores the final figure as ``image/png``.
    * ``image=<ipywidgets.Image>`` (the explorers): the widget's ``value`` is set to PNG.

    Rendering a PNG takes tens of milliseconds, so redraws are throttled: at most one
    every ``min_interval`` seconds while training (a fast run is drawn once, at the end),
    and always once when training ends.

    If a loss becomes NaN or infinite the run is stopped (``stop_on_nan``), the figure
    says at which epoch, and ``diverged_at`` holds the epoch number.

    Example::

        model.fit(x, y, validation_data=(xv, yv), epochs=10, callbacks=[LiveLossPlot()])
    """

    def __init__(
        self,
        tasks: Sequence[str] | None = None,
        *,
        title: str = "Per-task loss",
        soft: bool | None = None,
        image: Any = None,
        min_interval: float = 0.5,
        stop_on_nan: bool = True,
        dpi: float = 80,
        band_label: str | None = None,
    ) -> None:
        super().__init__()
        if tasks is not None:
            tasks = list(tasks)
            if not tasks or not all(isinstance(t, str) and t for t in tasks):
                raise ValueError(f"tasks must be a non-empty list of task names, got {tasks!r}")
        if not isinstance(min_interval, (int, float)) or min_interval < 0:
            raise ValueError(f"min_interval must be a number of seconds >= 0, got {min_interval!r}")
        if image is not None and not hasattr(image, "value"):
            raise TypeError("image must be an ipywidgets.Image (an object with .value) or None")
        self.tasks: list[str] | None = tasks
        self.title = title
        self.soft = soft
        self.image = image
        self.min_interval = float(min_interval)
        self.stop_on_nan = stop_on_nan
        self.dpi = dpi
        self.band_label = band_label
        #: ``{"val_<task>_loss": (low, high)}``: bands to draw behind the curves (several seeds).
        self.bands: dict[str, tuple[list[float], list[float]]] = {}
        self.history: dict[str, list[float]] = {}
        self.previous: dict[str, list[float]] | None = None
        self.diverged_at: int | None = None
        self.render_seconds: list[float] = []
        self._plot: LossFigure | None = None
        self._handle: Any = None
        self._last_draw = 0.0
        self._note: str | None = None
        self._epochs: int | None = None

    # -- public -------------------------------------------------------------------------
    @property
    def figure(self) -> Figure | None:
        """The Matplotlib figure (None before the first draw)."""
        return None if self._plot is None else self._plot.figure

    @property
    def loss_figure(self) -> LossFigure | None:
        """The ``LossFigure`` behind ``figure`` (its lines, ``line_data()``)."""
        return self._plot

    def start_run(self) -> None:
        """Begin a new run: the current curves become the faint ``previous`` run
        (unless that run diverged: then the run before it stays the reference)."""
        if self.history and self.diverged_at is None:
            self.previous = self.history
        self.history = {}
        self.bands = {}
        self.diverged_at = None
        self._note = None
        self._handle = None
        self._last_draw = time.perf_counter()

    def show_message(self, note: str, title: str | None = None) -> bytes:
        """Draw the current curves with ``note`` written across them; return the PNG."""
        self._note = note
        return self.draw(title=title)

    def show(self, history: Mapping[str, Sequence[float]],
             bands: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None, *,
             epochs: int | None = None, title: str | None = None) -> bytes:
        """Draw ``history`` as the current run (e.g. the mean over seeds, with ``bands``:
        ``{"val_<task>_loss": (low, high)}``) without a Keras ``fit``; call ``start_run()``
        first to make the last run the faint one. A NaN/inf loss is reported as in ``fit``."""
        self.history = {}
        self.diverged_at = None
        self._note = None
        for epoch in range(max((len(v) for v in history.values()), default=0)):
            self.record(epoch, {k: v[epoch] for k, v in history.items() if len(v) > epoch})
        self.bands = {k: (list(lo), list(hi)) for k, (lo, hi) in (bands or {}).items()}
        if epochs is not None:
            self._epochs = int(epochs)
        return self.draw(title=title)

    def draw(self, title: str | None = None) -> bytes:
        """Redraw the figure now and send it to its target; returns the PNG bytes."""
        plot = self._ensure_plot()
        plot.update(self.history, self.previous, title=title or self.title, note=self._note,
                    epochs=self._epochs, bands=self.bands)
        start = time.perf_counter()
        png = plot.png()
        self.render_seconds.append(time.perf_counter() - start)
        self._send(png)
        self._last_draw = time.perf_counter()
        return png

    # -- Keras hooks ----------------------------------------------------------------------
    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        self.start_run()
        self._epochs = (self.params or {}).get("epochs")  # Keras passes the planned epochs

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        self.record(epoch, logs or {})
        if self.diverged_at is not None:
            if self.stop_on_nan and self._model_or_none() is not None:
                self.model.stop_training = True
            self.draw()
        elif time.perf_counter() - self._last_draw >= self.min_interval:
            self.draw()

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        self.draw()

    # -- helpers --------------------------------------------------------------------------
    def record(self, epoch: int, logs: Mapping[str, Any]) -> None:
        """Append one epoch's logged values; notice a NaN/inf loss."""
        for key, value in logs.items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                continue
            self.history.setdefault(str(key), []).append(number)
            if key.endswith("loss") and _is_bad(number) and self.diverged_at is None:
                self.diverged_at = epoch + 1
        if self.diverged_at is not None:
            self._note = (
                f"Training diverged at epoch {self.diverged_at}: a loss became NaN/inf.\n"
                "Lower the learning rate or the λ weights and train again."
            )

    def _model_or_none(self) -> Any:
        return getattr(self, "_model", None)

    def _ensure_plot(self) -> LossFigure:
        if self._plot is None:
            tasks = self.tasks or task_names_from_logs(self.history)
            if not tasks and self.previous:
                tasks = task_names_from_logs(self.previous)
            soft = self.soft
            if soft is None:
                soft = "tower_distance" in self.history
            self._plot = LossFigure(tasks or ["loss"], soft=soft, title=self.title, dpi=self.dpi,
                                    band_label=self.band_label)
        return self._plot

    def _send(self, png: bytes) -> None:
        if self.image is not None:
            self.image.value = png
            return
        from IPython import get_ipython
        from IPython.display import Image, display

        if get_ipython() is None:  # plain Python: keep the figure, show nothing
            return
        if self._handle is None:
            self._handle = display(Image(data=png, format="png"), display_id=True)
        else:
            self._handle.update(Image(data=png, format="png"))


def plot_paired(
    comparison: Any,
    *,
    reference: str | None = None,
    metrics: Any = None,
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Each model's paired difference to the reference, per task, with its 95 % interval.

    One panel per task (and metric): a dot at the mean difference over the seeds, a horizontal
    bar for its interval, a vertical line at 0 and the verdict written next to it. A filled
    marker means the interval excludes 0 ("better" or "worse"); a hollow one, "no difference
    we can detect". Colours and markers are the tasks' (``TASK_COLORS``, ``TASK_STYLES``).

    Args:
        comparison: a ``mtl_kit.experiments.Comparison`` (``compare(...)``), or the DataFrame
            its ``paired()`` returns.
        reference, metrics: passed to ``Comparison.paired`` (default: its reference, each
            task's primary metric).
        title: the figure's title (default: "Paired difference to <reference>, <split>").
        figsize: inches (default: grows with the number of models and tasks).

    Returns:
        a Matplotlib ``Figure``; as the last expression of a cell it is shown once.
    """
    import pandas as pd

    columns = {"model", "task", "metric", "difference", "low", "high", "verdict"}
    split = None
    if hasattr(comparison, "paired") and callable(comparison.paired):
        table = comparison.paired(reference=reference, metrics=metrics)
        split = getattr(comparison, "split", None)
    elif isinstance(comparison, pd.DataFrame):
        if reference is not None or metrics is not None:
            raise ValueError("reference and metrics apply to a Comparison; filter the "
                             "DataFrame yourself")
        table = comparison
    else:
        raise TypeError(f"comparison must be a mtl_kit.experiments.Comparison or the DataFrame "
                        f"of its paired(), got {type(comparison).__name__}")
    missing = columns - set(table.columns)
    if missing:
        raise ValueError(f"comparison's paired table lacks the columns {sorted(missing)}")
    if table.empty:
        raise ValueError("there is nothing to draw: the comparison has no model besides its "
                         "reference")
    ref = str(table["reference"].iloc[0]) if "reference" in table.columns else "the reference"
    panels = list(dict.fromkeys(zip(table["task"], table["metric"], strict=True)))
    models = list(dict.fromkeys(table["model"]))
    if figsize is None:
        figsize = (min(4.8 * len(panels), 14.0), 1.6 + 0.6 * len(models))

    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(panels), figsize=figsize, sharey=True, squeeze=False)
    plt.close(figure)  # shown once, as the cell's result
    axes = axes[0]
    positions = {m: len(models) - 1 - i for i, m in enumerate(models)}
    for ax, (task, metric) in zip(axes, panels, strict=True):
        color, marker = task_color(str(task)), task_style(str(task))["marker"]
        rows = table[(table["task"] == task) & (table["metric"] == metric)]
        ax.axvline(0.0, color="#555555", lw=1, zorder=1)
        lows = rows["low"].astype(float)
        highs = rows["high"].astype(float)
        span = max(float(np.nanmax(np.abs(np.r_[lows, highs]))), 1e-6)
        for row in rows.itertuples():
            y = positions[row.model]
            detected = row.verdict in ("better", "worse")
            ax.errorbar(row.difference, y, xerr=[[row.difference - row.low],
                                                 [row.high - row.difference]],
                        fmt=marker, color=color, ecolor=color, elinewidth=2.2, capsize=4,
                        markersize=8, markerfacecolor=color if detected else "white",
                        markeredgewidth=1.8, zorder=3)
            ax.annotate(f"{row.difference:+.3f} [{row.low:+.3f}, {row.high:+.3f}]  "
                        f"{row.verdict}", (0.5, y), xycoords=("axes fraction", "data"),
                        xytext=(0, 9), textcoords="offset points", ha="center", va="bottom",
                        fontsize=8.5,
                        color="#222222" if detected else "#666666")
        ax.set_xlim(-1.35 * span, 1.35 * span)
        ax.set_ylim(-0.6, len(models) - 0.25)
        name = metric.upper() if metric == "auc" else metric
        ax.set_title(f"{task}: {name}", color=color, fontsize=11, fontweight="bold")
        better = "higher" if HIGHER_IS_BETTER_LOOKUP.get(metric, True) else "lower"
        ax.set_xlabel(f"model − {ref} ({better} is better)", fontsize=9)
        ax.grid(True, axis="x", alpha=0.3)
        ax.tick_params(labelsize=9)
    axes[0].set_yticks([positions[m] for m in models], models)
    where = f", {'validation' if split == 'val' else split} split" if split else ""
    seeds = ""
    if hasattr(comparison, "seeds"):
        seeds = f", {len(comparison.seeds)} seeds"
    figure.suptitle(title or f"Paired difference to {ref}{where}{seeds} "
                    f"(95 % intervals; hollow: no difference we can detect)", fontsize=10.5)
    figure.tight_layout()
    return figure


# --------------------------------------------------------------------------------------------
# Per-task gradients (issue 12): what a gradient diagnostics run logged, epoch by epoch
# --------------------------------------------------------------------------------------------
#: Line styles of task pairs in the cosine panel: colours no shop task uses, each with its own
#: line style and marker (a pair is never drawn in a task's colour).
PAIR_STYLES: tuple[dict[str, str], ...] = (
    {"color": "#000000", "linestyle": "-", "marker": "o"},
    {"color": "#CC79A7", "linestyle": "--", "marker": "s"},
    {"color": "#E69F00", "linestyle": "-.", "marker": "^"},
    {"color": "#7F5F00", "linestyle": ":", "marker": "D"},
    {"color": "#999999", "linestyle": "-", "marker": "v"},
    {"color": "#5A2D82", "linestyle": "--", "marker": "P"},
)

_NO_DIAGNOSTICS = (
    "history has no gradient diagnostics ('<task>_grad_norm', '<task>_weight', "
    "'grad_cosine_<a>_<b>'): compile with gradient_diagnostics=True or use a gradient "
    "strategy (weighting='gradnorm', 'pcgrad', 'mgda' or 'cagrad')"
)


def _pair_key(logs: Mapping[str, Any], first: str, second: str) -> str | None:
    for a, b in ((first, second), (second, first)):
        if f"grad_cosine_{a}_{b}" in logs:
            return f"grad_cosine_{a}_{b}"
    return None


def plot_task_gradients(history: Any, tasks: Sequence[str] | None = None, *,
                        title: str | None = None,
                        figsize: tuple[float, float] = (9.5, 8.5)) -> Figure:
    """The per-task gradient diagnostics of a run, one panel each, over the epochs:

    1. the cosine of every pair of task gradients on the shared parameters,
       cos(g_a, g_b) = g_a · g_b / (‖g_a‖ ‖g_b‖), with a line at 0: below it the two tasks
       *conflict* (a step that helps one hurts the other);
    2. each task's gradient norm ‖g_t‖ (log scale: the tasks often differ by orders of
       magnitude);
    3. each task's weight w_t: the coefficient of g_t in the update d = Σ_t w_t g_t (for a
       loss-level strategy, its loss weight).

    Tasks are drawn in their colours and markers (``TASK_COLORS``, ``TASK_STYLES``); pairs in
    colours no task uses, each with its own line style and marker. The values are epoch means
    of what ``compile(gradient_diagnostics=True)`` or a gradient strategy logs.

    Args:
        history: a Keras ``History`` or its ``.history`` dict.
        tasks: the tasks to draw (default: every task with a ``<task>_grad_norm`` entry).
        title: the figure's title.
        figsize: inches.

    Returns:
        a Matplotlib ``Figure`` with three axes (cosines, norms, weights).
    """
    logs = _as_history_dict(history, "history")
    found = [key[: -len("_grad_norm")] for key in logs
             if key.endswith("_grad_norm") and not key.startswith("val_")]
    if not found:
        raise ValueError(_NO_DIAGNOSTICS)
    if tasks is None:
        tasks = found
    else:
        if isinstance(tasks, str) or not all(isinstance(t, str) for t in tasks) or not tasks:
            raise ValueError(f"tasks must be a non-empty list of task names from {found}, "
                             f"got {tasks!r}")
        tasks = list(tasks)
        missing = [t for t in tasks if f"{t}_grad_norm" not in logs]
        if missing:
            raise ValueError(f"history has no gradient diagnostics for task(s) {missing}; "
                             f"it has them for {found}")
    pairs = [(a, b, key) for i, a in enumerate(tasks) for b in tasks[i + 1:]
             if (key := _pair_key(logs, a, b)) is not None]

    import matplotlib.pyplot as plt

    figure, (cosine_ax, norm_ax, weight_ax) = plt.subplots(
        3, 1, figsize=figsize, sharex=True, layout="constrained")
    plt.close(figure)  # shown once, as the cell's result
    legend = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "fontsize": 9,
              "frameon": False, "borderaxespad": 0.0}

    # 1. cosines
    cosine_ax.axhline(0.0, color="#333333", lw=1.2, zorder=1)
    values = [0.0]
    for index, (a, b, key) in enumerate(pairs):
        series = logs[key]
        values += [v for v in series if math.isfinite(v)]
        style = PAIR_STYLES[index % len(PAIR_STYLES)]
        cosine_ax.plot(range(1, len(series) + 1), series, label=f"{a} · {b}", lw=1.8,
                       markersize=_MARKER_SIZE + 0.5, **style)
    low, high = min(values), max(values)
    pad = max(0.08, 0.15 * (high - low))
    low, high = max(-1.05, low - pad), min(1.05, high + pad)
    cosine_ax.set_ylim(low, high)
    cosine_ax.axhspan(low, 0.0, color="#D55E00", alpha=0.07, lw=0, zorder=0)
    cosine_ax.text(0.005, 0.02, "conflict (cos < 0)", transform=cosine_ax.transAxes,
                   fontsize=8.5, color="#9A3D00", va="bottom", ha="left")
    cosine_ax.set_title("Gradient agreement between tasks, cos(g_a, g_b) on the shared "
                        "parameters", fontsize=10.5, loc="left")
    cosine_ax.set_ylabel("cosine")
    if pairs:
        cosine_ax.legend(title="task pair", title_fontsize=9, **legend)
    else:
        cosine_ax.text(0.5, 0.5, "one task: no pairs to compare", transform=cosine_ax.transAxes,
                       ha="center", va="center", color="#666666")

    # 2. norms and 3. weights
    for ax, suffix in ((norm_ax, "grad_norm"), (weight_ax, "weight")):
        for task in tasks:
            series = logs.get(f"{task}_{suffix}")
            if series is None:
                continue
            ax.plot(range(1, len(series) + 1), series, label=task, color=task_color(task),
                    lw=1.8, markersize=_MARKER_SIZE + 0.5, **task_style(task))
        ax.legend(title="task", title_fontsize=9, **legend)
    norm_ax.set_yscale("log")
    norm_ax.set_title("Gradient norm ‖g_t‖ of each task on the shared parameters (log scale)",
                      fontsize=10.5, loc="left")
    norm_ax.set_ylabel("‖g_t‖")
    weights = [v for t in tasks for v in logs.get(f"{t}_weight", []) if math.isfinite(v)]
    spread = bool(weights) and min(weights) > 0 and max(weights) > 30 * min(weights)
    if spread:  # e.g. PCGrad's coefficient of a tiny gradient: far above the others
        weight_ax.set_yscale("log")
    weight_ax.set_title("Task weight w_t in the update d = Σ_t w_t g_t"
                        + (" (log scale)" if spread else ""), fontsize=10.5, loc="left")
    weight_ax.set_ylabel("w_t")
    weight_ax.set_xlabel("epoch")
    for ax in (cosine_ax, norm_ax, weight_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=9)
    figure.suptitle(title or "Per-task gradients during training (epoch means)", fontsize=12)
    return figure


__all__ += ["PAIR_STYLES", "plot_task_gradients"]
