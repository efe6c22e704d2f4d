"""Pictures of loss balancing (lesson 8): a run's losses, weights and gradient cosine, and the
trade-off between two tasks.

* :func:`plot_strategy_run`: the epochs of a K-seed run (a ``mtl_kit.balancing.StrategyRun`` or
  a list of ``fit`` histories): each task's loss in a panel of its own (training solid,
  validation dashed; a regression's MSE and a click's cross-entropy can be 300 times apart),
  each task's weight w_t in the update, and the cosine between the tasks' gradients on the
  shared parameters. Lines are means over the seeds, bands run from the
  lowest to the highest seed. The strategy explorer draws its runs with it.
* :func:`plot_cosines`: the gradient cosine of a pair of tasks for several runs.
* :func:`plot_tradeoff`: every model's paired difference to a reference on two tasks, as a
  point with both intervals, oriented so that up and right are better: a **seesaw (跷跷板)**
  shows as points in the upper-left or lower-right quarters.

Colours and markers are the tasks' (``mtl_kit.palette``); figures are Matplotlib ``Figure``
objects made without pyplot's global state, shown once as a cell's result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from mtl_kit.palette import task_color, task_style
from mtl_kit.tasks import HIGHER_IS_BETTER

#: How visible the band over seeds is.
BAND_ALPHA = 0.2
#: Line colours of the runs in :func:`plot_cosines` (Okabe-Ito hues no shop task uses, black).
RUN_COLORS = ("#000000", "#CC79A7", "#E69F00", "#999999")
RUN_STYLES = ("-", "--", "-.", ":")


def _histories(run: Any) -> list[Mapping[str, Sequence[float]]]:
    histories = getattr(run, "histories", run)
    if isinstance(histories, Mapping):
        histories = [histories]
    histories = list(histories) if isinstance(histories, (list, tuple)) else None
    if not histories or not all(isinstance(h, Mapping) for h in histories):
        raise TypeError("run must be a StrategyRun or a list of fit histories (one per seed)")
    return histories


def _tasks(histories: Sequence[Mapping[str, Sequence[float]]]) -> list[str]:
    return [k[: -len("_loss")] for k in histories[0]
            if k.endswith("_loss") and not k.startswith("val_") and k != "loss"]


def _band(histories, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """``(epochs, mean, low, high)`` over the seeds that logged ``key``; None if none did."""
    series = [list(h[key]) for h in histories if key in h]
    if not series:
        return None
    length = min(len(s) for s in series)
    values = np.array([s[:length] for s in series], dtype="float64")
    return (np.arange(1, length + 1), values.mean(axis=0), values.min(axis=0),
            values.max(axis=0))


def _line(ax, band, color: str, linestyle: str, marker: str, label: str | None,
          shade: bool) -> None:
    epochs, mean, low, high = band
    if shade and len(epochs) and np.any(high > low):
        ax.fill_between(epochs, low, high, color=color, alpha=BAND_ALPHA, linewidth=0)
    ax.plot(epochs, mean, color=color, linestyle=linestyle, marker=marker, markersize=4.5,
            linewidth=1.8, label=label)


def _figure(n_panels: int, width: float, height: float) -> tuple[Figure, list]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    axes = [figure.add_subplot(1, n_panels, i + 1) for i in range(n_panels)]
    return figure, axes


class StrategyRunFigure:
    """The figure of :func:`plot_strategy_run`, kept and redrawn run after run (the strategy
    explorer's picture): the axes are made once, each :meth:`draw` replaces only the curves, so a
    redraw costs little more than rendering the PNG.

    Args:
        tasks: the task names, one loss panel each (top row).
        figsize: inches (default: 11 wide, wider with more than three tasks).
    """

    def __init__(self, tasks: Sequence[str], figsize: tuple[float, float] | None = None):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.tasks = list(tasks)
        if not self.tasks:
            raise ValueError("tasks must name at least one task")
        width = max(11.0, 3.6 * len(self.tasks))
        self.figure = Figure(figsize=figsize or (width, 6.6))
        FigureCanvasAgg(self.figure)
        grid = self.figure.add_gridspec(2, 2 * len(self.tasks), left=0.06, right=0.985,
                                        top=0.88, bottom=0.085, hspace=0.42, wspace=0.55)
        n = len(self.tasks)
        self.loss_axes = [self.figure.add_subplot(grid[0, 2 * i:2 * i + 2]) for i in range(n)]
        self.weights = self.figure.add_subplot(grid[1, :n])
        self.cosine = self.figure.add_subplot(grid[1, n:])
        for ax, task in zip(self.loss_axes, self.tasks, strict=True):
            ax.set_title(f"{task} loss", color=task_color(task), fontsize=10.5,
                         fontweight="bold")
        self.weights.set_title("weight w_t of each task in the update (log scale)", fontsize=10)
        self.cosine.set_title("cosine of the task gradients (shared layers)", fontsize=10)
        for ax in self.axes:
            ax.set_xlabel("epoch", fontsize=9)
            ax.grid(True, alpha=0.3)
            ax.tick_params(labelsize=9)
        self._title = self.figure.suptitle("", fontsize=11)

    @property
    def axes(self) -> list:
        return [*self.loss_axes, self.weights, self.cosine]

    def _clear(self) -> None:
        for ax in self.axes:
            for artist in [*ax.lines, *ax.collections, *ax.texts]:
                artist.remove()
            if ax.get_legend() is not None:
                ax.get_legend().remove()
            ax.set_yscale("linear")

    def draw(self, run: Any, title: str | None = None) -> Figure:
        """Draw ``run`` (a ``StrategyRun`` or a list of ``fit`` histories), replacing the last
        run's curves; returns the figure."""
        histories = _histories(run)
        missing = [t for t in self.tasks if f"{t}_loss" not in histories[0]]
        if missing:
            raise ValueError(f"run logged no loss for task(s) {missing} "
                             f"(this figure draws {self.tasks})")
        self._clear()
        k = len(histories)
        for ax, task in zip(self.loss_axes, self.tasks, strict=True):
            color, style = task_color(task), task_style(task)
            for prefix, linestyle, what in (("", "-", "training"),
                                            ("val_", "--", "validation")):
                band = _band(histories, f"{prefix}{task}_loss")
                if band is not None:
                    _line(ax, band, color, linestyle, style["marker"], what, shade=k > 1)
            ax.legend(fontsize=8, loc="upper right")
            band = _band(histories, f"{task}_weight")
            if band is not None:
                _line(self.weights, band, color, style["linestyle"], style["marker"], task,
                      shade=k > 1)
        if self.weights.lines:
            from matplotlib.ticker import FuncFormatter, NullFormatter

            self.weights.set_yscale("log", nonpositive="mask")
            # plain labels (0.01, 1, 10): the default 10^k labels go through mathtext, slowly
            self.weights.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            self.weights.yaxis.set_minor_formatter(NullFormatter())
            self.weights.legend(fontsize=8, loc="best")
        else:
            self.weights.text(0.5, 0.5, "not logged\n(no task gradients)", ha="center",
                              va="center", transform=self.weights.transAxes, color="#666666")
        self.cosine.axhline(0.0, color="#555555", linewidth=1)
        pairs = [key for key in histories[0] if key.startswith("grad_cosine_")]
        for index, key in enumerate(pairs):
            _line(self.cosine, _band(histories, key), RUN_COLORS[index % len(RUN_COLORS)], "-",
                  "o", key[len("grad_cosine_"):].replace("_", " / "), shade=k > 1)
        if pairs:
            self.cosine.legend(fontsize=8, loc="best")
        else:
            self.cosine.text(0.5, 0.5, "not logged\n(no task gradients)", ha="center",
                             va="center", transform=self.cosine.transAxes, color="#666666")
        for ax in self.axes:
            ax.relim()
            ax.autoscale_view()
        band_note = f"; bands: lowest to highest of {k} seeds" if k > 1 else ""
        self._title.set_text(title or f"Mean over {k} seed{'s' if k > 1 else ''}{band_note}")
        return self.figure


def plot_strategy_run(run: Any, *, title: str | None = None,
                      figsize: tuple[float, float] | None = None) -> Figure:
    """Losses, task weights and gradient cosine of a K-seed run, per epoch (see module doc).

    Top row: one panel per task with its loss (training solid, validation dashed; each task on
    its own scale). Bottom row: each task's weight w_t in the update (log scale) and the cosine
    of the task gradients. The bottom panels say so when the run logged no task gradients
    (``gradient_diagnostics=True`` or a gradient-level strategy logs them)."""
    histories = _histories(run)
    tasks = _tasks(histories)
    if not tasks:
        raise ValueError("run logged no task loss ('<task>_loss')")
    return StrategyRunFigure(tasks, figsize).draw(histories, title)


def plot_cosines(runs: Mapping[str, Any], *, title: str | None = None,
                 figsize: tuple[float, float] = (8.0, 3.8)) -> Figure:
    """The gradient cosine per epoch of each run of ``runs`` ({label: run}; a run of two tasks
    logs one cosine, ``grad_cosine_<a>_<b>``): mean over the seeds with a band (lowest to
    highest seed), and a line at 0 (below it: a conflict)."""
    if not isinstance(runs, Mapping) or not runs:
        raise TypeError("runs must be a non-empty dict {label: run}")
    figure, (ax,) = _figure(1, *figsize)
    ax.axhline(0.0, color="#555555", linewidth=1)
    for index, (label, run) in enumerate(runs.items()):
        histories = _histories(run)
        keys = [key for key in histories[0] if key.startswith("grad_cosine_")]
        if len(keys) != 1:
            raise ValueError(f"run {label!r} must log exactly one gradient cosine (two tasks, "
                             f"with task gradients logged), got {keys}")
        _line(ax, _band(histories, keys[0]), RUN_COLORS[index % len(RUN_COLORS)],
              RUN_STYLES[index % len(RUN_STYLES)], "o", label, shade=len(histories) > 1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("cos(g_a, g_b)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=9, loc="best")
    ax.set_title(title or "Cosine of the task gradients on the shared layers\n(mean over the "
                          "seeds; bands: lowest to highest seed)", fontsize=10)
    figure.tight_layout()
    return figure


def plot_tradeoff(comparison: Any, models: Sequence[str], tasks: Sequence[str], *,
                  reference: str | None = None, title: str | None = None,
                  figsize: tuple[float, float] = (8.0, 5.6)) -> Figure:
    """Each model's paired difference to ``reference`` on two tasks, with both 95 % intervals.

    Axes are oriented so that right and up are *better* (a lower-is-better metric such as
    RMSE is drawn as reference − model); the reference sits at the origin. Filled markers: the
    model is detectably better or worse on at least one task.

    Args:
        comparison: a ``mtl_kit.experiments.Comparison``.
        models: the models to draw, in order.
        tasks: (x task, y task).
        reference: default: the comparison's reference.
    """
    tasks = list(tasks)
    if len(tasks) != 2:
        raise ValueError(f"tasks must name two tasks (x and y), got {tasks!r}")
    reference = reference or comparison.reference
    unknown = [m for m in [*models, reference] if m not in comparison.models]
    if unknown:
        raise ValueError(f"models and reference must be among {comparison.models}, "
                         f"got unknown {unknown}")
    specs = {t.name: t for t in comparison.tasks}
    missing = [t for t in tasks if t not in specs]
    if missing:
        raise ValueError(f"tasks must be among {list(specs)}, got unknown {missing}")
    signs = {t: 1.0 if HIGHER_IS_BETTER[specs[t].primary_metric] else -1.0 for t in tasks}
    figure, (ax,) = _figure(1, *figsize)
    ax.axhline(0.0, color="#999999", linewidth=0.9)
    ax.axvline(0.0, color="#999999", linewidth=0.9)
    ax.plot(0.0, 0.0, marker="*", markersize=15, color="#777777", linestyle="none", zorder=4)
    ax.annotate(reference, (0.0, 0.0), xytext=(-8, -6), textcoords="offset points",
                ha="right", va="top", fontsize=9, color="#555555")
    labels: list[tuple[str, float, float]] = []
    for name in models:
        if name == reference:
            continue
        points = []
        for task in tasks:
            est = comparison.difference(name, task, reference=reference)
            low, high = sorted((signs[task] * est.low, signs[task] * est.high))
            points.append((signs[task] * est.mean, low, high, est.excludes_zero))
        (x, x_low, x_high, x_det), (y, y_low, y_high, y_det) = points
        ax.errorbar(x, y, xerr=[[x - x_low], [x_high - x]], yerr=[[y - y_low], [y_high - y]],
                    fmt="o", color="#333333", ecolor="#AAAAAA", elinewidth=1.2, capsize=3,
                    markersize=7, markerfacecolor="#333333" if (x_det or y_det) else "white",
                    markeredgewidth=1.5, zorder=3)
        labels.append((name, x, y))
    for task, setter, axis in ((tasks[0], ax.set_xlabel, "x"), (tasks[1], ax.set_ylabel, "y")):
        name = specs[task].primary_metric.upper()
        what = (f"{task} {name}: model − {reference}" if signs[task] > 0
                else f"{task} {name}: {reference} − model")
        setter(f"{what}  (better →)" if axis == "x" else f"{what}  (better ↑)",
               color=task_color(task), fontsize=10)
    ax.grid(True, alpha=0.3)
    figure.tight_layout()
    _place_labels(figure, ax, labels)
    split = "validation" if comparison.split == "val" else comparison.split
    ax.set_title(title or f"Both tasks against {reference}, {split} split, "
                          f"{len(comparison.seeds)} seeds (95 % intervals)", fontsize=10.5)
    figure.tight_layout()
    return figure


def _place_labels(figure: Figure, ax: Any, labels: Sequence[tuple[str, float, float]]) -> None:
    """Write each point's name next to it, trying four sides until it overlaps neither a name
    written before nor another point's marker (the last side is kept when all overlap)."""
    renderer = figure.canvas.get_renderer()
    sides = (((7, 5), "left", "bottom"), ((7, -5), "left", "top"),
             ((-7, 5), "right", "bottom"), ((-7, -5), "right", "top"))
    half = 6.0  # half a marker's size, in display pixels
    markers = []
    for _, x, y in [*labels, ("", 0.0, 0.0)]:  # every point, and the reference at (0, 0)
        px, py = ax.transData.transform((x, y))
        markers.append(Bbox.from_extents(px - half, py - half, px + half, py + half))
    taken: list[Any] = []
    for index, (name, x, y) in enumerate(labels):
        others = markers[:index] + markers[index + 1:]
        for offset, ha, va in sides:
            text = ax.annotate(name, (x, y), xytext=offset, textcoords="offset points", ha=ha,
                               va=va, fontsize=9, zorder=5,
                               bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none",
                                     "pad": 1})
            box = text.get_window_extent(renderer).expanded(1.05, 1.1)
            clear = not any(box.overlaps(other) for other in taken + others)
            if clear or offset == sides[-1][0]:
                taken.append(box)
                break
            text.remove()


__all__ = ["StrategyRunFigure", "plot_cosines", "plot_strategy_run", "plot_tradeoff"]
