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
    "RelatednessExplorer",
    "StrategyExplorer",
    "feature_sharing_explorer",
    "hard_sharing_explorer",
    "relatedness_explorer",
    "soft_sharing_explorer",
    "strategy_explorer",
    "task_scores",
    "threshold_explorer",
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

    primary = {t.name: t.primary_metric for t in model.tasks}
    table = evaluate_tasks(model, x, y, overall=False, metrics=tuple(set(primary.values())))
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


# ----------------------------------------------------------------------------------------
# Lesson 6: the relatedness explorer
# ----------------------------------------------------------------------------------------
class RelatednessExplorer:
    """A task_correlation slider, a Train button, the gains table and the gains plot.

    One click trains single-task (the course's cached baselines), hard sharing and MMoE at the
    chosen p over K seeds and shows, per model and task, the gain over single-task with its
    95 % interval (validation split). Every p trained so far stays in the plot, so the curve
    of gain against relatedness builds up click by click.

    Attributes:
        logic: the ``mtl_kit.explorer.RelatednessLogic`` doing the work.
        widget: the ipywidgets container; ``slider``, ``train_button``, ``status``, ``image``
            (the plot), ``table_html``.
        table: the last run's table (None before the first run); ``figure``: the last plot.
    """

    def __init__(self, logic: Any) -> None:
        from mtl_kit.explorer import RelatednessLogic

        if not isinstance(logic, RelatednessLogic):
            raise TypeError(f"logic must be a RelatednessLogic, got {type(logic).__name__}")
        self.logic = logic
        self.table: pd.DataFrame | None = None
        self.figure: Any = None
        k = len(logic.seeds)
        start = min(logic.values, key=lambda v: abs(v - 0.5))
        self.slider = widgets.SelectionSlider(
            options=[(f"{v:+.1f}", v) for v in logic.values], value=start,
            description="task correlation p", continuous_update=False,
            style={"description_width": "130px"}, layout=widgets.Layout(width="420px"))
        self.train_button = widgets.Button(
            description="Train", button_style="primary", icon="play",
            tooltip=f"single-task, hard sharing and MMoE: {k} seeds × {logic.epochs} epochs",
            layout=widgets.Layout(width="140px"))
        self.train_button.on_click(lambda _button: self.run())
        self.status = widgets.HTML(value=_status_html(
            f"Choose p, then press <b>Train</b>: hard sharing and MMoE, {k} seeds × "
            f"{logic.epochs} epochs each, compared with the single-task baselines on the "
            "validation split. A new p first gets its single-task baselines (trained once, "
            "kept on disk), which takes a few seconds.", "info"))
        self.image = widgets.Image(format="png", layout=widgets.Layout(
            max_width="100%", align_self="flex-start"))
        self.table_html = widgets.HTML(value="")
        header = widgets.HTML(value="<b>Relatedness explorer</b> &nbsp; gain of sharing = "
                              "<i>M</i>(model) − <i>M</i>(single-task), per task")
        self.widget = widgets.VBox([
            header,
            widgets.HBox([self.slider, self.train_button]),
            self.status, self.image, self.table_html])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def __repr__(self) -> str:
        return f"<relatedness explorer: {', '.join(self.logic.task_names)}>"

    def run(self, p: float | None = None) -> pd.DataFrame | None:
        """Press Train from code (optionally moving the slider to ``p`` first); returns the
        table, or None when the run failed (the status line says why)."""
        try:
            if p is not None:
                self.slider.value = self.logic.check_p(p)
            value = self.logic.check_p(self.slider.value)
        except (TypeError, ValueError) as error:
            self.status.value = _status_html(f"Not trained: {_escape(str(error))}", "error")
            return None
        self.train_button.disabled = True
        self.train_button.description = "Training…"
        try:
            self.status.value = _status_html(
                f"Training at p = {value:+.1f}: {len(self.logic.seeds)} seeds × "
                f"{self.logic.epochs} epochs per model …", "info")
            run = self.logic.train(value)
            self.table = run.table
            self.table_html.value = _relatedness_table_html(run)
            self._draw()
            verdicts = "; ".join(f"{r.model} {r.task} {r.gain:+.3f} ({r.verdict})"
                                 for r in run.table.itertuples())
            self.status.value = _status_html(
                f"p = {value:+.1f} in {run.timings['total']:.1f} s. Gains over single-task: "
                f"{_escape(verdicts)}.", "ok")
            return run.table
        except Exception as error:  # shown in the widget, never a traceback wall
            self.status.value = _status_html(
                f"<b>Training failed:</b> {_escape(str(error))}", "error")
            return None
        finally:
            self.train_button.disabled = False
            self.train_button.description = "Train"

    def _draw(self) -> None:
        from mtl_kit.plots import figure_to_png
        from mtl_kit.relatedness import plot_gains

        table = self.logic.all_gains()
        self.figure = plot_gains(
            table, "task_correlation", xlabel="task correlation p", course=0.6,
            ticks=self.logic.values,
            title=f"Gain of sharing over single-task, validation split, "
                  f"{len(self.logic.seeds)} seeds (95 % intervals)")
        self.image.value = figure_to_png(self.figure)


def _status_html(message: str, level: str) -> str:
    return f'<div style="{_STATUS_STYLE[level]}">{message}</div>'


def _relatedness_table_html(run: Any) -> str:
    cell = "<td style='text-align:right;padding:2px 8px;white-space:nowrap'>{}</td>"
    heads = ("model", "task", "metric", "single-task", "model", "gain [95 % interval]",
             "verdict")
    rows = []
    for _, row in run.table.iterrows():
        color = task_color(str(row["task"]))
        rows.append(
            "<tr>" + cell.format(_escape(row["model"]))
            + f"<td style='padding:2px 8px;color:{color}'><b>{_escape(row['task'])}</b></td>"
            + cell.format(_escape(_metric_name(row["metric"])))
            + cell.format(f"{row['single-task']:.3f}") + cell.format(f"{row['model mean']:.3f}")
            + cell.format(_interval(row["gain"], row["low"], row["high"], signed=True))
            + cell.format(_verdict_html(row["verdict"])) + "</tr>")
    head = "".join(f"<th style='padding:2px 8px;text-align:right'>{_escape(h)}</th>"
                   for h in heads)
    caption = (f"<div style='font-size:12px;color:#555;max-width:900px'>p = {run.p:+.1f}, "
               f"validation split, {len(run.seeds)} seeds. Gains are paired with the single-task "
               "baselines (same rows, same seeds); the sharing models train a fixed number of "
               "epochs, the baselines stop early on their validation loss. “no difference we can "
               "detect”: the interval contains 0.</div>")
    return (f"<table style='border-collapse:collapse;font-size:13px'><tr>{head}</tr>"
            f"{''.join(rows)}</table>{caption}")


def relatedness_explorer(tasks: Sequence[str] = ("click", "purchase"), *,
                         seeds: Any = DEFAULT_SEEDS, values: Sequence[float] | None = None,
                         epochs: Any = DEFAULT_EPOCHS, batch_size: Any = DEFAULT_BATCH_SIZE,
                         models: Mapping[str, Any] | None = None,
                         data: Mapping[float, Any] | None = None) -> RelatednessExplorer:
    """The relatedness explorer: a task_correlation slider → single-task vs hard vs MMoE over
    K seeds → each model's gain over single-task with its interval, per task.

    Nothing trains until Train is pressed. The models are built once (or passed in
    ``models``, e.g. the lesson's compiled hard-sharing model) and re-initialised per seed.

    Args:
        tasks: the tasks (default click and purchase, with the course's scarce purchase labels).
        seeds: K, or a list of seeds.
        values: the p values the slider offers (default ``RELATEDNESS_VALUES``).
        epochs, batch_size: of every sharing model's run.
        models: ready models by name (``"hard"``, ``"MMoE"``).
        data: ready ``CourseData`` by p (e.g. ``{0.6: data}``; others are generated).
    """
    from mtl_kit.explorer import RELATEDNESS_VALUES, relatedness_logic

    logic = relatedness_logic(tasks, seeds=seeds,
                              values=RELATEDNESS_VALUES if values is None else values,
                              epochs=epochs, batch_size=batch_size, models=models, data=data)
    return RelatednessExplorer(logic)


# ----------------------------------------------------------------------------------------
# The threshold explorer (lesson 7)
# ----------------------------------------------------------------------------------------
#: Thresholds the threshold explorer's slider offers (a log scale from 0.001 to 0.9, and 0.5).
THRESHOLDS: tuple[float, ...] = tuple(sorted({*np.round(np.geomspace(1e-3, 0.9, 46), 4),
                                              0.5}))


class ThresholdExplorer:
    """Move a decision threshold on the validation split and watch accuracy, precision, recall
    and F1 (no training: one seed's validation predictions of one model).

    Attributes:
        task: the task picker; slider: the threshold slider (log scale, acts on release);
        best_button: jumps to the task's F1-maximising threshold on validation;
        image: the metrics-against-threshold picture with the current threshold;
        table_html: the confusion matrix and the four metrics; report: the last
        ``mtl_kit.explorer.threshold_report``.
    """

    def __init__(self, comparison: Any, model: str, seed: int | None = None) -> None:
        """Use :func:`threshold_explorer`."""
        if not all(hasattr(comparison, a) for a in ("split", "predictions", "y_true", "seeds")):
            raise TypeError(f"comparison must be what compare(...) returns (a Comparison), got "
                            f"{type(comparison).__name__}")
        if comparison.split != "val":
            raise ValueError("explore thresholds on the validation split: pass the validation "
                             "Comparison (split='val'); the test split is for the final numbers")
        if model not in comparison.models:
            raise ValueError(f"model must be one of {comparison.models}, got {model!r}")
        seed = comparison.seeds[0] if seed is None else seed
        if seed not in comparison.seeds:
            raise ValueError(f"seed must be one of {comparison.seeds}, got {seed!r}")
        self.comparison, self.model, self.seed = comparison, model, seed
        k = comparison.seeds.index(seed)
        self.tasks = [t.name for t in comparison._tasks_of(model) if t.kind == "binary"]
        if not self.tasks:
            raise ValueError(f"model {model!r} has no binary task to set a threshold for")
        self.predictions = {t: comparison.predictions(model, t)[k] for t in self.tasks}
        self.report: dict[str, float] | None = None
        self.task = widgets.ToggleButtons(options=self.tasks, value=self.tasks[0],
                                          description="task", style={"button_width": "90px"})
        self.slider = widgets.SelectionSlider(
            options=[(f"{t:g}", t) for t in THRESHOLDS], value=0.5,
            description="threshold t", continuous_update=False,
            style={"description_width": "90px"}, layout=widgets.Layout(width="520px"))
        self.best_button = widgets.Button(description="F1-best t", icon="bullseye",
                                          tooltip="the threshold with the highest F1 on "
                                                  "validation")
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.table_html = widgets.HTML(value="")
        self.task.observe(lambda _change: self.update(), names="value")
        self.slider.observe(lambda _change: self.update(), names="value")
        self.best_button.on_click(lambda _button: self.set_best())
        header = widgets.HTML(value=f"<b>Threshold explorer</b> &nbsp; {_escape(model)}, seed "
                                    f"{seed}, validation split: predict 'yes' when p ≥ t")
        self.widget = widgets.VBox([header, self.task,
                                    widgets.HBox([self.slider, self.best_button]),
                                    self.table_html, self.image])
        self.update()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def set_threshold(self, threshold: float) -> None:
        """Move the slider to the offered threshold closest to ``threshold`` (log scale)."""
        from mtl_kit.validation import check_number

        threshold = check_number("threshold", threshold, 0.0, 1.0, low_open=True)
        closest = min(THRESHOLDS, key=lambda t: abs(np.log(t) - np.log(threshold)))
        self.slider.value = closest

    def set_best(self) -> None:
        """Jump to the current task's F1-maximising threshold on validation."""
        from mtl_kit.metrics import best_f1_threshold

        task = self.task.value
        self.set_threshold(best_f1_threshold(self.comparison.y_true[task],
                                             self.predictions[task])[0])

    def update(self) -> None:
        """Recompute the report and redraw for the current task and threshold."""
        from mtl_kit.evaluation_plots import plot_threshold_sweep
        from mtl_kit.explorer import threshold_report
        from mtl_kit.plots import figure_to_png

        task, t = self.task.value, float(self.slider.value)
        y = self.comparison.y_true[task]
        self.report = threshold_report(y, self.predictions[task], t)
        figure = plot_threshold_sweep({task: y}, {task: self.predictions[task]}, {task: t},
                                      title=f"{task}: the metrics against the threshold "
                                            f"(validation, seed {self.seed})",
                                      chosen_label="your threshold")
        self.image.value = figure_to_png(figure, dpi=80)
        self.table_html.value = _threshold_html(task, t, self.report)


def _threshold_html(task: str, threshold: float, report: Mapping[str, float]) -> str:
    cell = "<td style='padding:2px 10px;text-align:right'>{}</td>"
    color = task_color(task)
    counts = (f"<table style='border-collapse:collapse;font-size:13px'>"
              f"<tr><th></th><th style='padding:2px 10px'>said yes</th>"
              f"<th style='padding:2px 10px'>said no</th></tr>"
              f"<tr><th style='text-align:left'>was {task}</th>{cell.format(int(report['tp']))}"
              f"{cell.format(int(report['fn']))}</tr>"
              f"<tr><th style='text-align:left'>was not</th>{cell.format(int(report['fp']))}"
              f"{cell.format(int(report['tn']))}</tr></table>")
    metrics = " &nbsp; ".join(f"{name} <b>{report[key]:.3f}</b>" for name, key in (
        ("accuracy", "accuracy"), ("precision", "precision"), ("recall", "recall"),
        ("F1", "f1")))
    return (f"<div style='display:flex;gap:24px;align-items:center'>{counts}<div>"
            f"<span style='color:{color};font-weight:bold'>{_escape(task)}</span>, t = "
            f"{threshold:g}: {report['flagged']:.1%} of the rows flagged<br>{metrics}</div></div>")


def threshold_explorer(comparison: Any, model: str, seed: int | None = None
                       ) -> ThresholdExplorer:
    """The threshold explorer: a threshold slider (log scale) → the confusion matrix and
    accuracy, precision, recall and F1 of one seed of ``model`` on the **validation** split
    (``comparison``: e.g. ``sweep.val`` or ``compare(..., split="val")``). Nothing trains."""
    return ThresholdExplorer(comparison, model, seed)


# ----------------------------------------------------------------------------------------
# Lesson 8: the strategy explorer
# ----------------------------------------------------------------------------------------
_NO_KNOB = "—"


def _strategy_status(message: str, level: str = "info") -> str:
    return f'<div style="{_STATUS_STYLE[level]}">{message}</div>'


class StrategyExplorer:
    """A loss-balancing strategy, its knob, a Train button, the run's curves and the table.

    One click trains the chosen strategy (with its knob: λ of the last task for fixed λ, T for
    DWA, α for GradNorm, c for CAGrad) over K seeds and shows three panels (the task losses,
    each task's weight in the update, the cosine of the task gradients; means over the seeds
    with a band from the lowest to the highest seed) and a validation table against fixed
    λ = 1 and the single-task baselines, paired, with 95 % intervals. Build it with
    :func:`strategy_explorer`.

    Attributes:
        logic: the ``mtl_kit.explorer.StrategyLogic`` doing the work.
        widget: the ipywidgets container; ``strategy`` (the picker), ``knob`` (the slider),
            ``train_button``, ``status``, ``image`` (the curves), ``table_html``.
        table: the last run's table (None before the first run); ``last_run``: its
            ``StrategyRun``; ``figure``: its Matplotlib figure; ``timings``: seconds of the last
            click (``train``: the K seeds; ``figure``: click to drawn curves; ``total``).
    """

    def __init__(self, logic: Any) -> None:
        from mtl_kit.explorer import StrategyLogic

        if not isinstance(logic, StrategyLogic):
            raise TypeError(f"logic must be a StrategyLogic, got {type(logic).__name__}")
        self.logic = logic
        self.table: pd.DataFrame | None = None
        self.last_run: Any = None
        self.figure: Any = None
        self._picture: Any = None
        self.timings: dict[str, float] = {}
        from mtl_kit.balancing import NAMES

        k = len(logic.seeds)
        self.strategy = widgets.Dropdown(
            options=[(NAMES[s], s) for s in logic.strategies], value=logic.strategies[0],
            description="strategy", style={"description_width": "70px"},
            layout=widgets.Layout(width="300px"))
        self.knob = widgets.SelectionSlider(
            options=[_NO_KNOB], value=_NO_KNOB, description="", continuous_update=False,
            style={"description_width": "110px"}, layout=widgets.Layout(width="420px"))
        self._set_knob(logic.strategies[0])
        self.strategy.observe(lambda change: self._set_knob(change["new"]), names="value")
        self.train_button = widgets.Button(
            description="Train", button_style="primary", icon="play",
            tooltip=f"{k} seeds × {logic.epochs} epochs, each from its own initial weights",
            layout=widgets.Layout(width="140px"))
        self.train_button.on_click(lambda _button: self.run())
        self.status = widgets.HTML(value=_strategy_status(
            f"Choose a strategy and its knob, then press <b>Train</b>: {k} seed"
            f"{'s' if k > 1 else ''} × {logic.epochs} epochs, scored on the validation split "
            "against fixed λ = 1 and single-task. A strategy's first run compiles its model.",
            "info"))
        self.image = widgets.Image(format="png", layout=widgets.Layout(
            max_width="100%", align_self="flex-start"))
        self.table_html = widgets.HTML(value="")
        header = widgets.HTML(value="<b>Strategy explorer</b> &nbsp; update of the shared "
                              "layers: <i>d</i> = Σ<sub>t</sub> <i>w</i><sub>t</sub> "
                              "<i>g</i><sub>t</sub>, <i>g</i><sub>t</sub> = ∇<i>L</i>"
                              "<sub>t</sub>")
        self.widget = widgets.VBox([
            header,
            widgets.HBox([widgets.VBox([self.strategy, self.knob]),
                          widgets.VBox([self.train_button, self.status], layout=widgets.Layout(
                              margin="0 0 0 16px", flex="1 1 auto", min_width="220px",
                              max_width="520px"))]),
            self.image, self.table_html])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def __repr__(self) -> str:
        return f"<strategy explorer: {', '.join(self.logic.task_names)}>"

    def _set_knob(self, strategy: str) -> None:
        from mtl_kit.balancing import format_value

        knob = self.logic.knob(strategy)
        if knob is None:
            self.knob.options = [_NO_KNOB]
            self.knob.value = _NO_KNOB
            self.knob.description = "no knob"
            self.knob.disabled = True
            return
        symbol = f"λ_{self.logic.task_names[-1]}" if strategy == "fixed" else knob.symbol
        self.knob.options = [(format_value(v), v) for v in knob.choices]
        self.knob.value = knob.default
        self.knob.description = symbol
        self.knob.disabled = False

    def run(self, strategy: str | None = None, value: float | None = None
            ) -> pd.DataFrame | None:
        """Press Train from code (optionally choosing the strategy and the knob's value
        first; the value must be one the slider offers). Returns the validation table, or None
        when the run failed (the status line says why)."""
        start = time.perf_counter()
        try:
            if strategy is not None:
                self.logic.knob(strategy)  # a clear error for an unknown strategy
                self.strategy.value = strategy
            if value is not None:
                options = [v for _, v in self.knob.options] if not self.knob.disabled else []
                if not any(np.isclose(value, v, rtol=1e-9, atol=0.0) for v in options):
                    raise ValueError(f"value must be one of the slider's values "
                                     f"{options or 'none'} for {self.strategy.value}, "
                                     f"got {value!r}")
                self.knob.value = next(v for v in options
                                       if np.isclose(value, v, rtol=1e-9, atol=0.0))
            knob_value = None if self.knob.disabled else float(self.knob.value)
            setting = self.logic.settings(self.strategy.value, knob_value)
        except (TypeError, ValueError) as error:
            self.status.value = _strategy_status(f"Not trained: {_escape(str(error))}",
                                                 "error")
            return None
        self.train_button.disabled = True
        self.train_button.description = "Training…"
        try:
            return self._train(setting, start)
        except Exception as error:  # shown in the widget, never a traceback wall
            details = _escape("".join(traceback.format_exception(error)))
            self.status.value = _strategy_status(
                f"<b>Training failed:</b> {_escape(str(error))}<details><summary>details"
                f"</summary><pre style='font-size:11px'>{details}</pre></details>", "error")
            return None
        finally:
            self.train_button.disabled = False
            self.train_button.description = "Train"

    def _train(self, setting: Any, start: float) -> pd.DataFrame | None:
        from mtl_kit.balancing_plots import StrategyRunFigure
        from mtl_kit.plots import figure_to_png

        logic = self.logic
        k = len(logic.seeds)
        label = setting.label(logic.task_names)
        if not logic.has_reference:
            self.status.value = _strategy_status(
                f"First the reference, fixed λ = 1 ({k} seeds), and the single-task baselines "
                "(kept on disk) …", "info")
            logic.reference_run()
        compiling = not logic.is_built(setting)
        self.status.value = _strategy_status(
            f"Training {_escape(label)}: {k} seeds × {logic.epochs} epochs"
            f"{' (compiling its model first)' if compiling else ''} …", "info")
        train_start = time.perf_counter()
        run = logic.train(setting)
        trained = time.perf_counter()
        if self._picture is None:  # one figure, redrawn run after run
            self._picture = StrategyRunFigure(logic.task_names)
        self.figure = self._picture.draw(
            run, title=f"{label}: mean over {k} seed{'s' if k > 1 else ''}"
                       f"{', bands: lowest to highest seed' if k > 1 else ''}")
        self.image.value = figure_to_png(self.figure, dpi=72)
        drawn = time.perf_counter()
        self.last_run = run
        self.timings = {"train": trained - train_start, "figure": drawn - start}
        if run.diverged:
            self.timings["total"] = time.perf_counter() - start
            self.table = None
            self.table_html.value = ""
            self.status.value = _strategy_status(
                "<b>Training diverged</b>: a loss became NaN or infinite, so the run was not "
                "scored. Try another knob value.", "error")
            return None
        table = logic.table(run)
        self.table = table
        self.table_html.value = _strategy_table_html(table, label, k, logic)
        self.timings["total"] = time.perf_counter() - start
        summary = "; ".join(
            f"{task} {table.loc[task, 'vs fixed λ']:+.3f} vs fixed λ = 1 "
            f"({table.loc[task, 'vs fixed λ verdict']})" for task in logic.task_names)
        note = " (including compiling the model)" if compiling else ""
        self.status.value = _strategy_status(
            f"Trained {_escape(label)}: {k} seeds × {logic.epochs} epochs in "
            f"{self.timings['train']:.2f} s{note}. Validation: {_escape(summary)}.", "ok")
        return table


def _strategy_table_html(table: pd.DataFrame, label: str, k: int, logic: Any) -> str:
    """The strategy explorer's table as HTML (tasks in their colours, then Δm)."""
    cell = "<td style='text-align:right;padding:2px 8px;white-space:nowrap'>{}</td>"
    heads = ("metric", "this run: mean [95 % interval]", "single-task", "this − single-task",
             "fixed λ = 1", "this − fixed λ = 1")
    head = "".join(f"<th style='padding:2px 8px;text-align:right'>{_escape(h)}</th>"
                   for h in heads)

    def paired(row: Any, key: str, signed_format: str = "{:+.3f}") -> str:
        mean, low, high = row[f"vs {key}"], row[f"vs {key} low"], row[f"vs {key} high"]
        if not np.isfinite(mean):
            return "–"
        text = (f"{signed_format.format(mean)} <span style='color:#666'>["
                f"{signed_format.format(low)}, {signed_format.format(high)}]</span>")
        return f"{text}<br>{_verdict_html(row[f'vs {key} verdict'])}"

    rows = []
    for name, row in table.iterrows():
        if name == "Δm":
            style, title = "color:#333", "Δm (%)"
            rows.append(
                f"<tr style='vertical-align:top;border-top:1px solid #ccc'><td style='padding:"
                f"2px 8px;{style}'><b>{title}</b></td>" + cell.format("all tasks")
                + cell.format("–") + cell.format("0")
                + cell.format(paired(row, "single-task", "{:+.2f}"))
                + cell.format(f"{row['fixed λ']:+.2f}")
                + cell.format(paired(row, "fixed λ", "{:+.2f}")) + "</tr>")
            continue
        color = task_color(str(name))
        mark = _MARKER_CHARS.get(task_style(str(name))["marker"], "")
        rows.append(
            f"<tr style='vertical-align:top'><td style='padding:2px 8px;color:{color};"
            f"white-space:nowrap'><b>{mark} {_escape(str(name))}</b></td>"
            + cell.format(_escape(_metric_name(row["metric"])))
            + cell.format(_interval(row["mean"], row["low"], row["high"]))
            + cell.format(f"{row['single-task']:.3f}")
            + cell.format(paired(row, "single-task"))
            + cell.format(f"{row['fixed λ']:.3f}")
            + cell.format(paired(row, "fixed λ")) + "</tr>")
    n_rows = len(next(iter(logic.data.y_val.values())))
    caption = (
        f"<div style='font-size:12px;color:#555;max-width:900px'>Validation split "
        f"({n_rows:,} impressions; the curves' validation loss uses a fixed sample of "
        f"{len(next(iter(logic.lab.validation_sample()[1].values()))):,} of them), {k} seeds. "
        f"This run: {_escape(label)}. Fixed λ = 1: every "
        f"task's λ = 1, trained with the same budget ({logic.epochs} epochs). Means over the "
        "seeds; 95 % intervals cover both the validation users and the seeds; differences are "
        "paired (same rows, same seeds); “no difference we can detect” means the interval "
        "contains 0. AUC: higher is better; RMSE: lower is better; Δm (%): the mean relative "
        "gain over the tasks, higher is better. The test split is kept for the lesson's final "
        "numbers.</div>")
    return (f"<table style='border-collapse:collapse;font-size:13px'><tr><th></th>{head}</tr>"
            f"{''.join(rows)}</table>{caption}")


def strategy_explorer(data: Any, *, lab: Any = None, seeds: Any = DEFAULT_SEEDS,
                      epochs: Any = None, batch_size: Any = None, learning_rate: Any = None,
                      strategies: Sequence[str] | None = None) -> StrategyExplorer:
    """An explorer of loss-balancing strategies: pick one, set its knob, press Train.

    Args:
        data: the course data, ``mtl_kit.course.course_data(tasks)`` (two or more tasks).
        lab: a ``mtl_kit.balancing.StrategyLab`` to reuse (its compiled models and its budget:
            seeds, epochs, batch size, learning rate); default: a new one.
        seeds, epochs, batch_size, learning_rate: a new lab's budget (defaults:
            ``mtl_kit.balancing.DEFAULT_*``); leave them out when you pass ``lab``.
        strategies: the strategies offered (default: all seven, fixed λ first).

    Returns:
        a ``StrategyExplorer``; it shows itself as the last expression of a cell. Nothing
        trains until Train is pressed (or ``explorer.run()`` is called).
    """
    from mtl_kit.explorer import STRATEGY_CHOICES, strategy_logic

    logic = strategy_logic(data, lab=lab, seeds=seeds if lab is None else lab.seeds,
                           epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                           strategies=STRATEGY_CHOICES if strategies is None else strategies)
    return StrategyExplorer(logic)
