"""The λ / β explorers: move a slider, press Train, see the evidence over several seeds.

Three explorers, one per way of sharing parameters:

* ``hard_sharing_explorer(model, data)``: one shared bottom, L(θ) = Σ_i λ_i L_i(θ); a λ slider
  per task.
* ``soft_sharing_explorer(model, data)``: one tower per task,
  L = Σ_i λ_i L_i(θ_i) + β Σ_{i<j} d(θ_i, θ_j); a β slider on a log scale (with β = 0) and the
  λ sliders.
* ``feature_sharing_explorer(data)``: a shared feature space; choose the architecture (hard,
  cross-stitch, MMoE, PLE) and set the λ sliders.

``data`` is the course's ``CourseData`` (``mtl_kit.course.course_data``). One Train click
trains the model with K seeds (default 5), each from its own initial weights, and shows:

* the loss plot: per task, the mean over the seeds of the training loss (solid) and of the
  validation loss (dashed), a band from the lowest to the highest seed behind the validation
  curve, and the previous run faintly behind;
* the table, on the **validation** split: per task the mean with its 95 % interval, the
  single-task baseline, the paired difference to single-task with its interval and verdict,
  and the paired difference to the previous run. The numbers come from
  ``mtl_kit.experiments`` (a ``Comparison``) and the single-task runs are the course's
  shared, disk-cached baselines: the same numbers the lessons print.

The logic lives in ``mtl_kit.explorer`` (testable without widgets); this module is the view.
Nothing trains when an explorer is displayed: training starts only when Train is pressed (or
``explorer.run()`` is called), so a notebook runs headless (nbclient, nbval) without training
at display time. Sliders act on release (``continuous_update=False``). The code uses only
what ipywidgets 7.7.1 (Colab) and 8.x have in common.
"""

from __future__ import annotations

import html
import time
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd

from mtl_kit.explorer import (
    ARCHITECTURES,
    DEFAULT_BATCH_SIZE,
    DEFAULT_BETAS,
    DEFAULT_EPOCHS,
    DEFAULT_LAMBDA_MAX,
    DEFAULT_SEEDS,
    ExplorerLogic,
    ExplorerRun,
    check_beta_choice,
    check_lambdas,
    closest_beta,
    format_beta,
)
from mtl_kit.plots import LiveLossPlot, task_color, task_style

__all__ = [
    "ARCHITECTURES",
    "DEFAULT_BETAS",
    "Explorer",
    "feature_sharing_explorer",
    "hard_sharing_explorer",
    "soft_sharing_explorer",
    "task_scores",
]


def _escape(text: str) -> str:
    """Text made safe to put inside HTML (quotes are kept readable)."""
    return html.escape(str(text), quote=False)


#: The losses the explorers minimise, as HTML (shown in each explorer's header).
_HARD_FORMULA = "<i>L</i>(θ) = Σ<sub>i</sub> λ<sub>i</sub> <i>L</i><sub>i</sub>(θ)"
_SOFT_FORMULA = ("<i>L</i> = Σ<sub>i</sub> λ<sub>i</sub> <i>L</i><sub>i</sub>(θ<sub>i</sub>)"
                 " + β Σ<sub>i&lt;j</sub> <i>d</i>(θ<sub>i</sub>, θ<sub>j</sub>)")

_STATUS_STYLE = {
    "info": "color:#444",
    "ok": "color:#1a7f37",
    "warn": "color:#9a6700",
    "error": "color:#cf222e",
}

#: Marker of each task written in the table (the plot's marker, as a character).
_MARKER_CHARS = {"o": "●", "s": "■", "^": "▲", "D": "◆", "v": "▼", "P": "✚", "X": "✖", "*": "★"}


def task_scores(model: Any, x: Any, y: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Each task's primary metric on ``(x, y)`` for one model: ``{task: value}``
    (``mtl_kit.metrics.evaluate_tasks``; AUC for classification, RMSE for regression)."""
    from mtl_kit.metrics import evaluate_tasks

    table = evaluate_tasks(model, x, y, overall=False)
    primary = {t.name: t.primary_metric for t in model.tasks}
    return {row.task: float(row.value) for row in table.itertuples()
            if row.metric == primary[row.task]}


# ----------------------------------------------------------------------------------------
# The explorer
# ----------------------------------------------------------------------------------------
class Explorer:
    """A λ (and β / architecture) explorer: sliders, a Train button, a live plot, a table.

    Build one with ``hard_sharing_explorer``, ``soft_sharing_explorer`` or
    ``feature_sharing_explorer``; as the last expression of a cell it shows itself.

    Attributes:
        logic: the ``mtl_kit.explorer.ExplorerLogic`` doing the work.
        widget: the ipywidgets container (``display(explorer.widget)``).
        sliders: ``{task: λ slider}``, plus ``"beta"`` for soft sharing.
        train_button: the Train button; ``run()`` presses it from code.
        architecture: the architecture picker (feature-based explorer) or None.
        status: the status line (an ``HTML`` widget): what happened, or what went wrong.
        image: the ``Image`` widget that shows the loss plot.
        plot: the ``LiveLossPlot`` drawing it.
        table: a DataFrame of the last run's validation evidence (None before the first run).
        last_run: the last ``ExplorerRun`` (histories and predictions per seed).
        history: the last run's mean history over the seeds.
        timings: seconds of the last click: ``train`` (the K seeds), ``figure`` (click to
            final figure), ``metrics`` (the table) and ``total``.
    """

    def __init__(self, logic: ExplorerLogic, *, title: str, formula: str) -> None:
        """Use the ``*_explorer`` functions; ``formula`` is HTML shown next to the title."""
        self.logic = logic
        self.kind = logic.kind
        self.tasks = logic.tasks
        self.task_names = logic.task_names
        self.title = title
        self.table: pd.DataFrame | None = None
        self.last_run: ExplorerRun | None = None
        self.history: dict[str, list[float]] | None = None
        self.timings: dict[str, float] = {}
        self._previous: ExplorerRun | None = None
        self._trained_models: set[int] = set()

        k = len(logic.seeds)
        description_style = {"description_width": "90px"}
        initial = logic.initial_lambdas
        self.sliders: dict[str, widgets.Widget] = {}
        for name in self.task_names:
            self.sliders[name] = widgets.FloatSlider(
                value=min(initial.get(name, 1.0), logic.lambda_max), min=0.0,
                max=logic.lambda_max, step=0.05, description=f"λ {name}",
                continuous_update=False, readout_format=".2f", style=description_style,
                layout=widgets.Layout(width="360px"),
            )
        self.betas = logic.betas
        if self.betas is not None:
            self.sliders["beta"] = widgets.SelectionSlider(
                options=[(format_beta(b), b) for b in self.betas],
                value=closest_beta(self.betas, logic.initial_beta),
                description="β (log scale)", continuous_update=False, style=description_style,
                layout=widgets.Layout(width="360px"),
            )
        self.architecture: widgets.ToggleButtons | None = None
        if logic.architectures is not None:
            self.architecture = widgets.ToggleButtons(
                options=list(logic.architectures), value=logic.architectures[0],
                description="architecture",
                style={"description_width": "initial", "button_width": "110px"},
            )
            self.architecture.observe(self._on_architecture, names="value")
        self.train_button = widgets.Button(
            description="Train", button_style="primary", icon="play",
            tooltip=f"Train {k} seeds × {logic.epochs} epochs, each from its own initial weights",
            layout=widgets.Layout(width="140px"),
        )
        self.train_button.on_click(self._on_click)
        self.status = widgets.HTML(value="")
        # natural size (no stretching to the cell's width), shrunk only on narrow screens
        self.image = widgets.Image(
            format="png", layout=widgets.Layout(max_width="100%", align_self="flex-start")
        )
        self.table_html = widgets.HTML(value="")
        self.plot = LiveLossPlot(
            self.task_names, title=title, soft=(self.kind == "soft"), image=self.image,
            min_interval=1.0,  # a run shorter than a second is drawn once, at its end
            band_label=f"band: lowest–highest of {k} seeds" if k > 1 else None,
        )
        self.plot.show_message("Press Train to fit the model with these settings.",
                               title=self.title)
        self._set_status(
            f"Move the sliders, then press <b>Train</b>: {k} seed{'s' if k > 1 else ''} × "
            f"{logic.epochs} epochs, scored on the validation split. The previous run stays "
            "faint behind the new one.", "info",
        )
        header = widgets.HTML(value=f"<b>{_escape(title)}</b> &nbsp; {formula}")
        controls = [self.architecture] if self.architecture is not None else []
        controls += list(self.sliders.values())
        self.widget = widgets.VBox(
            [
                header,
                widgets.HBox(
                    [
                        widgets.VBox(controls, layout=widgets.Layout(flex="0 0 auto")),
                        widgets.VBox(
                            [self.train_button, self.status],
                            layout=widgets.Layout(margin="0 0 0 16px", flex="1 1 auto",
                                                  min_width="220px", max_width="480px"),
                        ),
                    ]
                ),
                self.image,
                self.table_html,
            ]
        )

    # -- display --------------------------------------------------------------------------
    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def __repr__(self) -> str:
        return f"<{self.title} explorer: {', '.join(self.task_names)}>"

    @property
    def seeds(self) -> tuple[int, ...]:
        return self.logic.seeds

    @property
    def epochs(self) -> int:
        return self.logic.epochs

    @property
    def models(self) -> dict[str, Any]:
        """The models built so far, by architecture (or kind)."""
        return self.logic.models

    @property
    def last_figure(self) -> Any:
        """The Matplotlib figure of the loss plot (updated in place by every run)."""
        return self.plot.figure

    @property
    def model(self) -> Any:
        """The model the next run trains (built on first use for the feature explorer)."""
        return self.logic.model_for(self._settings())

    @property
    def lambdas(self) -> dict[str, float]:
        """The λ the sliders show: ``{task: λ}``."""
        return {name: float(self.sliders[name].value) for name in self.task_names}

    # -- actions --------------------------------------------------------------------------
    def set_lambdas(self, lambdas: Mapping[str, float]) -> None:
        """Move λ sliders from code; values outside [0, lambda_max] raise ValueError."""
        checked = check_lambdas(lambdas, self.task_names, self.logic.lambda_max)
        for name, value in checked.items():
            self.sliders[name].value = value

    def set_beta(self, beta: float) -> None:
        """Move the β slider from code; β must be one of ``betas``."""
        if self.betas is None:
            raise TypeError("this explorer has no β slider (soft_sharing_explorer has)")
        self.sliders["beta"].value = check_beta_choice(beta, self.betas)

    def run(
        self,
        lambdas: Mapping[str, float] | None = None,
        beta: float | None = None,
        architecture: str | None = None,
    ) -> pd.DataFrame | None:
        """Press Train from code (optionally setting λ, β, architecture first).

        Returns the validation table, or None when the run failed; either way the status
        line says what happened (bad values end there as a message, not a traceback).
        """
        try:
            if architecture is not None:
                if self.architecture is None:
                    raise TypeError("this explorer has no architecture choice "
                                    "(feature_sharing_explorer has)")
                if architecture not in self.architecture.options:
                    raise ValueError(f"architecture must be one of "
                                     f"{list(self.architecture.options)}, got {architecture!r}")
                self.architecture.value = architecture
            if lambdas is not None:
                self.set_lambdas(lambdas)
            if beta is not None:
                self.set_beta(beta)
        except (TypeError, ValueError) as error:
            self._set_status(f"Not trained: {_escape(str(error))}", "error")
            return None
        return self._train()

    def _on_click(self, _button: Any = None) -> None:
        self._train()

    def _on_architecture(self, change: Mapping[str, Any]) -> None:
        self._set_status(
            f"Architecture <b>{_escape(str(change['new']))}</b>: press <b>Train</b>.", "info"
        )

    # -- training -------------------------------------------------------------------------
    def _settings(self) -> Any:
        beta = self.sliders["beta"].value if self.betas is not None else None
        architecture = self.architecture.value if self.architecture is not None else None
        return self.logic.settings(self.lambdas, beta=beta, architecture=architecture)

    def _train(self) -> pd.DataFrame | None:
        start = time.perf_counter()
        self.train_button.disabled = True
        self.train_button.description = "Training…"
        try:
            try:
                settings = self._settings()
            except (TypeError, ValueError) as error:
                self._set_status(f"Not trained: {_escape(str(error))}", "error")
                return None
            return self._train_once(settings, start)
        except Exception as error:  # shown in the widget, never a traceback wall
            self._show_exception(error)
            return None
        finally:
            self.train_button.disabled = False
            self.train_button.description = "Train"

    def _train_once(self, settings: Any, start: float) -> pd.DataFrame | None:
        logic = self.logic
        k = len(logic.seeds)
        if not logic.has_reference:
            self._set_status(
                f"Getting the single-task baselines ({k} seeds, kept on disk; the first time "
                "on this machine they are trained, which takes a while)…", "info")
            logic.reference_runs()
        label = settings.label()
        if not logic.is_built(settings):
            self._set_status(f"Building the {_escape(settings.architecture or self.kind)} "
                             "model (once)…", "info")
        first_run = not logic.is_built(settings) or id(logic.model_for(settings)) not in \
            self._trained_models
        self._set_status(f"Training {k} seeds × {logic.epochs} epochs: {_escape(label)} …",
                         "info")
        title = f"{self.title}: {label}"
        self.plot.start_run()
        last_draw = [time.perf_counter()]

        def on_seed(histories: list[dict[str, list[float]]]) -> None:
            if len(histories) < k and time.perf_counter() - last_draw[0] >= \
                    self.plot.min_interval:
                self._show_curves(histories, f"{title} ({len(histories)}/{k} seeds)")
                last_draw[0] = time.perf_counter()

        train_start = time.perf_counter()
        run = logic.train(settings, on_seed=on_seed)
        trained = time.perf_counter()
        self._show_curves(run.histories, title)
        figure_done = time.perf_counter()
        self._trained_models.add(id(logic.model_for(settings)))
        self.last_run = run
        self.history = run.mean_history()
        self.timings = {"train": trained - train_start, "figure": figure_done - start}
        if run.diverged:
            self.timings["total"] = time.perf_counter() - start
            epoch = run.diverged_at()
            where = f" at epoch {epoch}" if epoch is not None else ""
            self._set_status(
                f"<b>Training diverged</b>{where}: a loss (or a prediction) became NaN or "
                "infinite, so the run was stopped and not scored. Lower the learning rate or "
                "the λ values and press Train again.", "error",
            )
            return None
        metrics_start = time.perf_counter()
        table = logic.table(run, self._previous)
        self.timings["metrics"] = time.perf_counter() - metrics_start
        previous_label = self._previous.settings.label() if self._previous is not None else ""
        self._previous = run
        self.table = table
        self.table_html.value = _table_html(table, label, previous_label, k, logic)
        self.timings["total"] = time.perf_counter() - start
        summary = "; ".join(
            f"{n} {_metric_name(table.loc[n, 'metric'])} {table.loc[n, 'mean']:.3f}, "
            f"{table.loc[n, 'vs single-task']:+.3f} vs single-task ({table.loc[n, 'verdict']})"
            for n in self.task_names
        )
        note = " (a model's first run includes compiling it)" if first_run else ""
        self._set_status(
            f"Trained {k} seeds × {logic.epochs} epochs ({_escape(label)}) in "
            f"{self.timings['train']:.2f} s{note}. Validation: {_escape(summary)}.", "ok",
        )
        return table

    def _show_curves(self, histories: Sequence[Mapping[str, Sequence[float]]],
                     title: str) -> None:
        from mtl_kit.explorer import history_bands

        curves = history_bands(histories)
        mean = {key: values[0] for key, values in curves.items()}
        bands = {key: (low, high) for key, (_, low, high) in curves.items()
                 if key.startswith("val_") and len(histories) > 1}
        self.plot.show(mean, bands, epochs=self.logic.epochs, title=title)

    # -- messages -------------------------------------------------------------------------
    def _set_status(self, message: str, level: str = "info") -> None:
        self.status.value = f'<div style="{_STATUS_STYLE[level]}">{message}</div>'

    def _show_exception(self, error: Exception) -> None:
        details = _escape("".join(traceback.format_exception(error)))
        kind = "Not trained" if isinstance(error, (ValueError, TypeError)) else "Training failed"
        self._set_status(
            f"<b>{kind}:</b> {_escape(str(error))}"
            f"<details><summary>details</summary><pre style='font-size:11px'>{details}"
            "</pre></details>", "error",
        )
        self.plot.show_message(f"{kind}: see the message above the plot.")


# ----------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------
def _metric_name(metric: str) -> str:
    return metric.upper() if metric == "auc" else metric


def _interval(mean: float, low: float, high: float, signed: bool = False) -> str:
    if not np.isfinite(mean):
        return "–"
    form = "{:+.3f}" if signed else "{:.3f}"
    return f"{form.format(mean)} <span style='color:#666'>[{form.format(low)}, " \
           f"{form.format(high)}]</span>"


def _verdict_html(verdict: str) -> str:
    if not verdict:
        return "–"
    if verdict in ("better", "worse"):
        return f"<b>{_escape(verdict)}</b>"
    return f"<span style='color:#666'>{_escape(verdict)}</span>"


def _table_html(table: pd.DataFrame, run_label: str, previous_label: str, k: int,
                logic: ExplorerLogic) -> str:
    """The validation table as HTML, each task in its colour and with its marker."""
    cell = "<td style='text-align:right;padding:2px 8px;white-space:nowrap'>{}</td>"
    heads = ("metric", "this run: mean [95 % interval]", "single-task", "this − single-task",
             "previous run", "this − previous run")
    head = "".join(f"<th style='padding:2px 8px;text-align:right'>{_escape(h)}</th>"
                   for h in heads)

    def paired(mean: float, low: float, high: float, verdict: str) -> str:
        if not np.isfinite(mean):
            return "–"
        return f"{_interval(mean, low, high, signed=True)}<br>{_verdict_html(verdict)}"

    rows = []
    for name, row in table.iterrows():
        color = task_color(str(name))
        mark = _MARKER_CHARS.get(task_style(str(name))["marker"], "")
        rows.append(
            f"<tr style='vertical-align:top'><td style='padding:2px 8px;color:{color};"
            f"white-space:nowrap'><b>{mark} {_escape(str(name))}</b></td>"
            + cell.format(_escape(_metric_name(row["metric"])))
            + cell.format(_interval(row["mean"], row["low"], row["high"]))
            + cell.format("–" if not np.isfinite(row["single-task"])
                          else f"{row['single-task']:.3f}")
            + cell.format(paired(row["vs single-task"], row["vs single-task low"],
                                 row["vs single-task high"], row["verdict"]))
            + cell.format("–" if not np.isfinite(row["previous run"])
                          else f"{row['previous run']:.3f}")
            + cell.format(paired(row["vs previous"], row["vs previous low"],
                                 row["vs previous high"], row["vs previous verdict"]))
            + "</tr>"
        )
    n_rows = len(next(iter(logic.data.y_val.values())))
    caption = (
        f"<div style='font-size:12px;color:#555;max-width:900px'>Validation split "
        f"({n_rows:,} impressions), {k} seeds. This run: {_escape(run_label)}"
        + (f"; previous run: {_escape(previous_label)}" if previous_label else "")
        + ". Means over the seeds; 95 % intervals cover both the validation users we happened "
        "to draw and the seeds. Differences are paired (same rows, same seeds); "
        "“no difference we can detect” means the interval contains 0. Single-task: the "
        "course's baselines (one model per task and seed, early-stopped). AUC: higher is "
        "better; RMSE: lower is better. The test split is kept for the lesson's final "
        "numbers.</div>"
    )
    return (f"<table style='border-collapse:collapse;font-size:13px'><tr><th></th>{head}</tr>"
            f"{''.join(rows)}</table>{caption}")


def _no_legacy(function: str, legacy: tuple[Any, ...]) -> None:
    if legacy:
        raise TypeError(
            f"{function} takes the course data as one argument now: {function}(…, data, "
            f"seeds=5) with data = mtl_kit.course.course_data(tasks); the separate "
            f"train, val, test arguments are gone (got {len(legacy)} extra positional "
            f"argument{'s' if len(legacy) > 1 else ''})"
        )


# ----------------------------------------------------------------------------------------
# The three explorers
# ----------------------------------------------------------------------------------------
def hard_sharing_explorer(
    model: Any,
    data: Any,
    *legacy: Any,
    seeds: Any = DEFAULT_SEEDS,
    epochs: Any = DEFAULT_EPOCHS,
    batch_size: Any = DEFAULT_BATCH_SIZE,
    lambda_max: Any = DEFAULT_LAMBDA_MAX,
) -> Explorer:
    """An explorer for hard parameter sharing: L(θ) = Σ_i λ_i L_i(θ), one λ slider per task.

    Args:
        model: a compiled model from ``build_hard_sharing`` (any ``MultiTaskNet``).
        data: the course data, ``mtl_kit.course.course_data(tasks)``.
        seeds: K, the seeds each Train click trains (0 … K-1), or a list of seeds.
        epochs, batch_size: of every seed's run (a fixed number of epochs, no early stop).
        lambda_max: the sliders' upper end; λ ranges over [0, lambda_max].

    Returns:
        an ``Explorer``; it shows itself as the last expression of a cell.
    """
    from mtl_kit.explorer import hard_sharing_logic

    _no_legacy("hard_sharing_explorer", legacy)
    logic = hard_sharing_logic(model, data, seeds=seeds, epochs=epochs, batch_size=batch_size,
                               lambda_max=lambda_max)
    return Explorer(logic, title="Hard parameter sharing", formula=_HARD_FORMULA)


def soft_sharing_explorer(
    model: Any,
    data: Any,
    *legacy: Any,
    seeds: Any = DEFAULT_SEEDS,
    betas: Sequence[float] = DEFAULT_BETAS,
    epochs: Any = DEFAULT_EPOCHS,
    batch_size: Any = DEFAULT_BATCH_SIZE,
    lambda_max: Any = DEFAULT_LAMBDA_MAX,
) -> Explorer:
    """An explorer for soft parameter sharing: L = Σ_i λ_i L_i(θ_i) + β Σ_{i<j} d(θ_i, θ_j).

    A β slider on a log scale (``betas``, which should start at 0: independent towers) and
    one λ slider per task. The plot's second panel shows the tower distance Σd and the
    penalty β·Σd per epoch (means over the seeds).

    Args:
        model: a compiled model from ``build_soft_sharing`` (with ``set_beta``).
        betas: the β values the slider offers, increasing, each finite and >= 0.
        other arguments: as for ``hard_sharing_explorer``.
    """
    from mtl_kit.explorer import soft_sharing_logic

    _no_legacy("soft_sharing_explorer", legacy)
    logic = soft_sharing_logic(model, data, seeds=seeds, betas=betas, epochs=epochs,
                               batch_size=batch_size, lambda_max=lambda_max)
    return Explorer(logic, title="Soft parameter sharing", formula=_SOFT_FORMULA)


def feature_sharing_explorer(
    data: Any,
    *legacy: Any,
    seeds: Any = DEFAULT_SEEDS,
    architectures: Sequence[str] = tuple(ARCHITECTURES),
    build_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
    models: Mapping[str, Any] | None = None,
    epochs: Any = DEFAULT_EPOCHS,
    batch_size: Any = DEFAULT_BATCH_SIZE,
    lambda_max: Any = DEFAULT_LAMBDA_MAX,
) -> Explorer:
    """An explorer for feature-based sharing: pick hard, cross-stitch, MMoE or PLE, set λ.

    Each architecture is built (``mtl_kit.models.build_*`` with ``data.tasks`` and
    ``data.features``) the first time it is trained and then kept, so switching back to it
    costs no compile; every click trains the K seeds with L = Σ_i λ_i L_i.

    Args:
        data: the course data, ``mtl_kit.course.course_data(tasks)``.
        architectures: which of ``ARCHITECTURES`` to offer, in order.
        build_kwargs: extra builder arguments per architecture, e.g. ``{"MMoE": {"n_experts": 4}}``.
        models: ready models per architecture (skips building those).
        other arguments: as for ``hard_sharing_explorer``.
    """
    from mtl_kit.explorer import feature_sharing_logic

    _no_legacy("feature_sharing_explorer", legacy)
    logic = feature_sharing_logic(data, seeds=seeds, architectures=architectures,
                                  build_kwargs=build_kwargs, models=models, epochs=epochs,
                                  batch_size=batch_size, lambda_max=lambda_max)
    return Explorer(logic, title="Feature-based sharing", formula=_HARD_FORMULA)
