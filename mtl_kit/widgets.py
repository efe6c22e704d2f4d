"""The λ / β explorers: move a slider, press Train, watch every task's loss curve move.

Three explorers, one per way of sharing parameters:

* ``hard_sharing_explorer``: one shared bottom, L(θ) = Σ_i λ_i L_i(θ); a λ slider per task.
* ``soft_sharing_explorer``: one tower per task, L = Σ_i λ_i L_i(θ_i) + β Σ_{i<j} d(θ_i, θ_j);
  a β slider on a log scale (with β = 0) and the λ sliders.
* ``feature_sharing_explorer``: a shared feature space; choose the architecture (hard,
  cross-stitch, MMoE, PLE) and set the λ sliders.

Each shows the sliders, a **Train** button, a status line, the live loss plot
(``mtl_kit.plots.LiveLossPlot``: this run bold, the previous run faint) and a table of
each task's test metric for this run, the previous run and a single-task baseline.

Nothing trains when an explorer is displayed: training starts only when Train is pressed
(or ``explorer.run()`` is called), so a notebook runs headless (nbclient, nbval) without
training at display time. Sliders act on release (``continuous_update=False``).
Re-training takes the fast path ``model.retrain``: the weights and the optimiser state are
reset, λ and β are changed in place, and nothing is rebuilt or recompiled.

The code uses only what ipywidgets 7.7.1 (Colab) and 8.x have in common.
"""

from __future__ import annotations

import html
import math
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd

from mtl_kit.plots import LiveLossPlot, task_color

__all__ = [
    "ARCHITECTURES",
    "DEFAULT_BETAS",
    "Explorer",
    "feature_sharing_explorer",
    "hard_sharing_explorer",
    "single_task_baselines",
    "soft_sharing_explorer",
    "task_scores",
]

#: β values of the soft-sharing slider: 0 (independent towers) then a log scale.
DEFAULT_BETAS: tuple[float, ...] = (0.0, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)

#: Feature-based explorer: label shown -> builder name in ``mtl_kit.models``.
ARCHITECTURES: dict[str, str] = {
    "hard": "build_hard_sharing",
    "cross-stitch": "build_cross_stitch",
    "MMoE": "build_mmoe",
    "PLE": "build_ple",
}

#: (settings, (train, val, test), scores): baselines already trained in this kernel.
_BASELINE_CACHE: list[tuple[tuple[Any, ...], tuple[Any, Any, Any], dict[str, float]]] = []

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


# ----------------------------------------------------------------------------------------
# Data and metrics
# ----------------------------------------------------------------------------------------
def _as_xy(data: Any, tasks: Sequence[str], argument: str) -> tuple[Any, dict[str, np.ndarray]]:
    """``ShopData`` (anything with ``to_arrays``) or an ``(x, y)`` pair -> ``(x, y)``."""
    if hasattr(data, "to_arrays"):
        return data.to_arrays(tuple(tasks))
    if isinstance(data, (tuple, list)) and len(data) == 2 and isinstance(data[1], Mapping):
        x, y = data
        missing = [t for t in tasks if t not in y]
        if missing:
            raise ValueError(f"{argument} has no labels for tasks {missing}; y has {list(y)}")
        return x, {t: np.asarray(y[t], dtype="float32") for t in tasks}
    raise TypeError(
        f"{argument} must be a ShopData (from mtl_kit.data) or a pair (x, y) with y a dict "
        f"{{task: labels}}, got {type(data).__name__}"
    )


def _primary_metric(task: Any) -> str:
    """The metric shown for a task: AUC for classification, RMSE for regression."""
    kind = getattr(task, "kind", "binary")
    return "RMSE" if kind == "regression" else "AUC"


def _score(task: Any, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """AUC (binary, one-vs-rest macro for multiclass) or RMSE on the labelled rows."""
    from sklearn.metrics import roc_auc_score

    y_true = np.asarray(y_true, dtype="float64").reshape(-1)
    y_pred = np.asarray(y_pred, dtype="float64")
    observed = ~np.isnan(y_true)
    if y_pred.ndim == 1:
        observed &= np.isfinite(y_pred)
    else:
        observed &= np.isfinite(y_pred).all(axis=1)
    y_true, y_pred = y_true[observed], y_pred[observed]
    if len(y_true) == 0:
        return math.nan
    kind = getattr(task, "kind", "binary")
    if kind == "regression":
        return float(np.sqrt(np.mean((y_true - y_pred.reshape(-1)) ** 2)))
    try:
        if kind == "multiclass":
            probs = y_pred / np.clip(y_pred.sum(axis=1, keepdims=True), 1e-12, None)
            return float(roc_auc_score(y_true.astype(int), probs, multi_class="ovr",
                                       labels=list(range(probs.shape[1]))))
        return float(roc_auc_score(y_true, y_pred.reshape(-1)))
    except ValueError:  # only one class among the labelled test rows
        return math.nan


def task_scores(model: Any, x: Any, y: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Each task's test metric: ``{task: AUC}`` (classification) or ``{task: RMSE}``."""
    predictions = model.predict_tasks(x)
    return {task.name: _score(task, y[task.name], predictions[task.name]) for task in model.tasks}


def single_task_baselines(
    tasks: Sequence[Any],
    features: Any,
    train: Any,
    val: Any,
    test: Any,
    *,
    epochs: int = 5,
    batch_size: int = 256,
    seed: int = 0,
) -> dict[str, float]:
    """Train one single-task model per task (``build_single_task``); ``{task: test metric}``.

    Results are cached for the same data objects and settings, so several explorers of a
    lesson share one set of baselines.
    """
    from mtl_kit.tasks import as_tasks
    from mtl_kit.training import train_single_task_baselines

    specs = as_tasks(tasks)
    names = [t.name for t in specs]
    key = (tuple(names), epochs, batch_size, seed)
    for cached_key, (a, b, c), scores in _BASELINE_CACHE:
        if cached_key == key and a is train and b is val and c is test:
            return dict(scores)
    x, y = _as_xy(train, names, "train")
    xv, yv = _as_xy(val, names, "val")
    xt, yt = _as_xy(test, names, "test")
    models = train_single_task_baselines(specs, features, x, y, validation_data=(xv, yv),
                                         epochs=epochs, batch_size=batch_size, seed=seed)
    scores = {name: task_scores(model, xt, {name: yt[name]})[name]
              for name, model in models.items()}
    _BASELINE_CACHE.append((key, (train, val, test), scores))
    return dict(scores)


# ----------------------------------------------------------------------------------------
# The explorer
# ----------------------------------------------------------------------------------------
class Explorer:
    """A λ (and β / architecture) explorer: sliders, a Train button, a live plot, a table.

    Build one with ``hard_sharing_explorer``, ``soft_sharing_explorer`` or
    ``feature_sharing_explorer``; as the last expression of a cell it shows itself.

    Attributes:
        widget: the ipywidgets container (``display(explorer.widget)``).
        sliders: ``{task: λ slider}``, plus ``"beta"`` for soft sharing.
        train_button: the Train button; ``run()`` presses it from code.
        architecture: the architecture picker (feature-based explorer) or None.
        status: the status line (an ``HTML`` widget): what happened, or what went wrong.
        image: the ``Image`` widget that shows the loss plot.
        plot: the ``LiveLossPlot`` callback drawing it.
        table: a DataFrame of the latest per-task test metrics (None before the first run).
        history: the last run's ``History.history``.
        timings: seconds of the last run: ``train``, ``figure`` (click to final figure),
            ``metrics`` and ``total``.
    """

    def __init__(
        self,
        *,
        kind: str,
        tasks: Sequence[Any],
        get_model: Callable[[], Any],
        train: Any,
        val: Any,
        test: Any,
        epochs: int,
        batch_size: int,
        baselines: Any,
        features: Any,
        seed: int,
        lambda_max: float,
        initial_lambdas: Mapping[str, float],
        betas: Sequence[float] | None = None,
        initial_beta: float | None = None,
        architectures: Sequence[str] | None = None,
        title: str,
        formula: str,
    ) -> None:
        """Use the ``*_explorer`` functions; ``formula`` is HTML shown next to the title."""
        self.kind = kind
        self.tasks = list(tasks)
        self.task_names = [t.name for t in self.tasks]
        self._get_model = get_model
        self.epochs = epochs
        self.batch_size = batch_size
        self.seed = seed
        self.features = features
        self.title = title
        self.lambda_max = float(lambda_max)
        self._data = {"train": train, "val": val, "test": test}
        self._arrays: dict[str, tuple[Any, dict[str, np.ndarray]]] = {}
        self._baselines_arg = baselines
        self._baselines: dict[str, float] | None = None
        self.table: pd.DataFrame | None = None
        self.history: dict[str, list[float]] | None = None
        self.timings: dict[str, float] = {}
        self._scores: dict[str, float] | None = None
        self._previous_scores: dict[str, float] | None = None
        self._previous_label = ""
        self._run_label = ""
        self.models: dict[str, Any] = {}
        self._trained_models: set[int] = set()

        description_style = {"description_width": "90px"}
        self.sliders: dict[str, widgets.Widget] = {}
        for name in self.task_names:
            self.sliders[name] = widgets.FloatSlider(
                value=float(initial_lambdas.get(name, 1.0)), min=0.0, max=self.lambda_max,
                step=0.05, description=f"λ {name}", continuous_update=False,
                readout_format=".2f", style=description_style,
                layout=widgets.Layout(width="360px"),
            )
        self.betas: tuple[float, ...] | None = None
        if betas is not None:
            self.betas = tuple(float(b) for b in betas)
            self.sliders["beta"] = widgets.SelectionSlider(
                options=[(_format_beta(b), b) for b in self.betas],
                value=_closest(self.betas, initial_beta if initial_beta is not None else 0.0),
                description="β (log scale)", continuous_update=False, style=description_style,
                layout=widgets.Layout(width="360px"),
            )
        self.architecture: widgets.ToggleButtons | None = None
        if architectures is not None:
            self.architecture = widgets.ToggleButtons(
                options=list(architectures), value=architectures[0], description="architecture",
                style={"description_width": "initial", "button_width": "110px"},
            )
            self.architecture.observe(self._on_architecture, names="value")
        self.train_button = widgets.Button(
            description="Train", button_style="primary", icon="play",
            tooltip=f"Re-train {epochs} epochs from the same initial weights",
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
            self.task_names, title=title, soft=(kind == "soft"), image=self.image,
            min_interval=1.0,  # a run shorter than a second is drawn once, at its end
        )
        self.plot.show_message(
            "Press Train to fit the model with these settings.", title=self.title
        )
        self._set_status(
            f"Move the sliders, then press <b>Train</b> ({epochs} epochs). "
            "The previous run stays faint behind the new one.", "info",
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
    def last_figure(self) -> Any:
        """The Matplotlib figure of the loss plot (updated in place by every run)."""
        return self.plot.figure

    @property
    def model(self) -> Any:
        """The model the next run trains (built on first use for the feature explorer)."""
        return self._get_model()

    @property
    def lambdas(self) -> dict[str, float]:
        """The λ the sliders show: ``{task: λ}``."""
        return {name: float(self.sliders[name].value) for name in self.task_names}

    # -- actions --------------------------------------------------------------------------
    def set_lambdas(self, lambdas: Mapping[str, float]) -> None:
        """Move λ sliders from code; values outside [0, lambda_max] raise ValueError."""
        checked = _check_lambdas(lambdas, self.task_names, self.lambda_max)
        for name, value in checked.items():
            self.sliders[name].value = value

    def set_beta(self, beta: float) -> None:
        """Move the β slider from code; β must be one of ``betas``."""
        if self.betas is None:
            raise TypeError("this explorer has no β slider (soft_sharing_explorer has)")
        value = _check_beta_choice(beta, self.betas)
        self.sliders["beta"].value = value

    def run(
        self,
        lambdas: Mapping[str, float] | None = None,
        beta: float | None = None,
        architecture: str | None = None,
    ) -> pd.DataFrame | None:
        """Press Train from code (optionally setting λ, β, architecture first).

        Returns the metrics table, or None when the run failed; either way the status
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
    def _arrays_for(self, part: str) -> tuple[Any, dict[str, np.ndarray]]:
        if part not in self._arrays:
            self._arrays[part] = _as_xy(self._data[part], self.task_names, part)
        return self._arrays[part]

    def _settings_label(self) -> str:
        parts = []
        if self.architecture is not None:
            parts.append(str(self.architecture.value))
        parts.append(", ".join(f"λ {n}={v:g}" for n, v in self.lambdas.items()))
        if self.betas is not None:
            parts.append(f"β={_format_beta(float(self.sliders['beta'].value))}")
        return "; ".join(parts)

    def _train(self) -> pd.DataFrame | None:
        start = time.perf_counter()
        self.train_button.disabled = True
        self.train_button.description = "Training…"
        try:
            return self._train_once(start)
        except Exception as error:  # shown in the widget, never a traceback wall
            self._show_exception(error)
            return None
        finally:
            self.train_button.disabled = False
            self.train_button.description = "Train"

    def _train_once(self, start: float) -> pd.DataFrame | None:
        lambdas = _check_lambdas(self.lambdas, self.task_names, self.lambda_max)
        if all(v == 0.0 for v in lambdas.values()):
            self._set_status("Not trained: every λ is 0, so the loss Σ λ_i L_i is 0 and "
                             "nothing would be learned. Raise at least one λ.", "error")
            return None
        x, y = self._arrays_for("train")
        xv, yv = self._arrays_for("val")
        if self._baselines is None and self._baselines_arg is not None:
            self._set_status("Training the single-task baselines once…", "info")
            self._baselines = self._resolve_baselines()
        model = self._get_model()
        model.set_loss_weights(lambdas)
        if self.betas is not None:
            model.set_beta(_check_beta_choice(self.sliders["beta"].value, self.betas))
        label = self._settings_label()
        self._set_status(f"Training: {_escape(label)} …", "info")
        self.plot.title = f"{self.title}: {label}"
        train_start = time.perf_counter()
        history = model.retrain(
            x, y, validation_data=(xv, yv), epochs=self.epochs, batch_size=self.batch_size,
            callbacks=[self.plot],
        )
        figure_done = time.perf_counter()
        self.history = dict(history.history)
        self.timings = {"train": figure_done - train_start, "figure": figure_done - start}
        if self.plot.diverged_at is not None:
            self.timings["total"] = time.perf_counter() - start
            self._set_status(
                f"<b>Training diverged</b> at epoch {self.plot.diverged_at}: a loss became "
                "NaN or infinite, so the run was stopped. Lower the learning rate or the λ "
                "values and press Train again.", "error",
            )
            return None
        xt, yt = self._arrays_for("test")
        metrics_start = time.perf_counter()
        scores = task_scores(model, xt, yt)
        self.timings["metrics"] = time.perf_counter() - metrics_start
        if self._scores is not None:
            self._previous_scores, self._previous_label = self._scores, self._run_label
        self._scores, self._run_label = scores, label
        self.table = self._make_table()
        self.table_html.value = _table_html(self.table, self._run_label, self._previous_label)
        self.timings["total"] = time.perf_counter() - start
        summary = ", ".join(
            f"{n} {self.table.loc[n, 'metric']} {scores[n]:.3f}" for n in self.task_names
        )
        first_run = id(model) not in self._trained_models
        self._trained_models.add(id(model))
        note = " (a model's first run includes compiling it)" if first_run else ""
        self._set_status(
            f"Trained ({_escape(label)}): {len(self.history.get('loss', []))} epochs in "
            f"{self.timings['train']:.2f} s{note}. Test: {_escape(summary)}.", "ok",
        )
        return self.table

    def _resolve_baselines(self) -> dict[str, float]:
        baselines = self._baselines_arg
        if isinstance(baselines, str):
            if baselines != "auto":
                raise ValueError(f"baselines must be 'auto', None, a dict or a DataFrame, "
                                 f"got {baselines!r}")
            return single_task_baselines(
                self.tasks, self.features, self._data["train"], self._data["val"],
                self._data["test"], epochs=self.epochs, batch_size=self.batch_size,
                seed=self.seed,
            )
        return _check_baselines(baselines, self.task_names)

    def _make_table(self) -> pd.DataFrame:
        rows = []
        for task in self.tasks:
            name = task.name
            metric = _primary_metric(task)
            this = self._scores[name] if self._scores else math.nan
            previous = self._previous_scores.get(name, math.nan) if self._previous_scores else (
                math.nan)
            single = (self._baselines or {}).get(name, math.nan)
            sign = -1.0 if metric == "RMSE" else 1.0
            delta = sign * (this - single) / abs(single) * 100 if single else math.nan
            rows.append({"task": name, "metric": metric, "this run": this,
                         "previous run": previous, "single-task": single,
                         "vs single-task (%)": delta})
        return pd.DataFrame(rows).set_index("task")

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
# Validation helpers
# ----------------------------------------------------------------------------------------
def _check_lambdas(lambdas: Any, names: Sequence[str], lambda_max: float) -> dict[str, float]:
    if not isinstance(lambdas, Mapping):
        raise TypeError(f"lambdas must be a dict {{task: λ}}, got {type(lambdas).__name__}")
    checked = {}
    for name, value in lambdas.items():
        if name not in names:
            raise ValueError(f"lambdas has an unknown task {name!r}; the tasks are {list(names)}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"λ for {name} must be a number, got {value!r}") from None
        if not (0.0 <= number <= lambda_max):
            raise ValueError(f"λ for {name} must be between 0 and {lambda_max:g}, got {value!r}")
        checked[name] = number
    return checked


def _check_beta_choice(beta: Any, betas: Sequence[float]) -> float:
    try:
        value = float(beta)
    except (TypeError, ValueError):
        raise TypeError(f"beta must be a number, got {beta!r}") from None
    for choice in betas:
        if math.isclose(value, choice, rel_tol=1e-9, abs_tol=0.0):
            return choice
    allowed = ", ".join(_format_beta(b) for b in betas)
    raise ValueError(f"beta must be one of the slider's values {allowed}, got {beta!r}")


def _check_baselines(baselines: Any, names: Sequence[str]) -> dict[str, float]:
    if isinstance(baselines, pd.DataFrame):
        if "single-task" in baselines.columns:
            baselines = baselines["single-task"].to_dict()
        elif baselines.shape[1] == 1:
            baselines = baselines.iloc[:, 0].to_dict()
        else:
            raise ValueError("a baselines DataFrame needs one column (or a 'single-task' column) "
                             "indexed by task")
    if not isinstance(baselines, Mapping):
        raise TypeError(f"baselines must be 'auto', None, a dict {{task: metric}} or a "
                        f"DataFrame, got {type(baselines).__name__}")
    return {str(k): float(v) for k, v in baselines.items() if k in names}


def _check_common(epochs: Any, batch_size: Any, lambda_max: Any, baselines: Any) -> None:
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or (
            batch_size < 1):
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    if not isinstance(lambda_max, (int, float)) or not (0 < lambda_max < math.inf):
        raise ValueError(f"lambda_max must be a finite number > 0, got {lambda_max!r}")
    if baselines is not None and not isinstance(baselines, (str, Mapping, pd.DataFrame)):
        raise TypeError(f"baselines must be 'auto', None, a dict {{task: metric}} or a "
                        f"DataFrame, got {type(baselines).__name__}")
    if isinstance(baselines, str) and baselines != "auto":
        raise ValueError(f"baselines must be 'auto', None, a dict or a DataFrame, "
                         f"got {baselines!r}")


def _check_model(model: Any, needs: Sequence[str]) -> None:
    missing = [name for name in needs if not hasattr(model, name)]
    if missing:
        raise TypeError(
            f"model must be a mtl_kit MultiTaskNet (from mtl_kit.models.build_*); "
            f"{type(model).__name__} has no {', '.join(missing)}"
        )


def _initial_lambdas(model: Any) -> dict[str, float]:
    try:
        return dict(model.loss_weights)
    except Exception:
        return {}


def _format_beta(beta: float) -> str:
    return "0" if beta == 0 else f"{beta:g}"


def _closest(choices: Sequence[float], value: float) -> float:
    return min(choices, key=lambda c: abs(math.log10(c + 1e-12) - math.log10(value + 1e-12)))


def _table_html(table: pd.DataFrame, run_label: str, previous_label: str) -> str:
    """The metrics table as HTML, each task name in its colour."""
    def cell(value: float, bold: bool = False) -> str:
        text = "–" if not np.isfinite(value) else f"{value:.3f}"
        return f"<td style='text-align:right;padding:2px 8px'>{'<b>' if bold else ''}{text}" \
               f"{'</b>' if bold else ''}</td>"

    def delta(value: float) -> str:
        text = "–" if not np.isfinite(value) else f"{value:+.1f} %"
        return f"<td style='text-align:right;padding:2px 8px'>{text}</td>"

    head = "".join(
        f"<th style='padding:2px 8px;text-align:right'>{_escape(c)}</th>"
        for c in ("metric", "this run", "previous run", "single-task", "vs single-task")
    )
    rows = []
    for name, row in table.iterrows():
        color = task_color(str(name))
        rows.append(
            f"<tr><td style='padding:2px 8px;color:{color}'><b>{_escape(str(name))}</b></td>"
            f"<td style='text-align:right;padding:2px 8px'>{_escape(row['metric'])}</td>"
            f"{cell(row['this run'], bold=True)}{cell(row['previous run'])}"
            f"{cell(row['single-task'])}{delta(row['vs single-task (%)'])}</tr>"
        )
    caption = (f"<div style='font-size:12px;color:#555'>Test metrics. This run: "
               f"{_escape(run_label)}"
               + (f"; previous run: {_escape(previous_label)}" if previous_label else "")
               + ". AUC: higher is better; RMSE: lower is better.</div>")
    return (f"<table style='border-collapse:collapse;font-size:13px'><tr><th></th>{head}</tr>"
            f"{''.join(rows)}</table>{caption}")


# ----------------------------------------------------------------------------------------
# The three explorers
# ----------------------------------------------------------------------------------------
def hard_sharing_explorer(
    model: Any,
    train: Any,
    val: Any,
    test: Any,
    *,
    epochs: int = 5,
    batch_size: int = 256,
    baselines: Any = "auto",
    lambda_max: float = 2.0,
) -> Explorer:
    """An explorer for hard parameter sharing: L(θ) = Σ_i λ_i L_i(θ), one λ slider per task.

    Args:
        model: a compiled model from ``build_hard_sharing`` (any ``MultiTaskNet`` with
            ``set_loss_weights`` and ``retrain``).
        train, val, test: ``ShopData`` parts (``shop.split()``) or ``(x, y)`` pairs.
        epochs, batch_size: of every run (each run starts from the same initial weights).
        baselines: single-task test metrics to compare with: ``"auto"`` (train one
            ``build_single_task`` model per task at the first Train, once), a dict
            ``{task: metric}``, a DataFrame, or None (no baseline column values).
        lambda_max: the sliders' upper end; λ ranges over [0, lambda_max].

    Returns:
        an ``Explorer``; it shows itself as the last expression of a cell.
    """
    _check_model(model, ("tasks", "set_loss_weights", "retrain", "predict_tasks"))
    _check_common(epochs, batch_size, lambda_max, baselines)
    return Explorer(
        kind="hard", tasks=model.tasks, get_model=lambda: model, train=train, val=val,
        test=test, epochs=int(epochs), batch_size=int(batch_size), baselines=baselines,
        features=getattr(model, "feature_config", None), seed=int(getattr(model, "seed", 0)),
        lambda_max=lambda_max, initial_lambdas=_initial_lambdas(model),
        title="Hard parameter sharing", formula=_HARD_FORMULA,
    )


def soft_sharing_explorer(
    model: Any,
    train: Any,
    val: Any,
    test: Any,
    *,
    betas: Sequence[float] = DEFAULT_BETAS,
    epochs: int = 5,
    batch_size: int = 256,
    baselines: Any = "auto",
    lambda_max: float = 2.0,
) -> Explorer:
    """An explorer for soft parameter sharing: L = Σ_i λ_i L_i(θ_i) + β Σ_{i<j} d(θ_i, θ_j).

    A β slider on a log scale (``betas``, which should start at 0: independent towers) and
    one λ slider per task. The plot's second panel shows the tower distance Σd and the
    penalty β·Σd per epoch.

    Args:
        model: a compiled model from ``build_soft_sharing`` (with ``set_beta``).
        betas: the β values the slider offers, increasing, each finite and >= 0.
        other arguments: as for ``hard_sharing_explorer``.
    """
    _check_model(model, ("tasks", "set_loss_weights", "set_beta", "retrain", "predict_tasks"))
    _check_common(epochs, batch_size, lambda_max, baselines)
    try:
        betas = [float(b) for b in betas]
    except (TypeError, ValueError):
        raise TypeError(f"betas must be a sequence of numbers >= 0, got {betas!r}") from None
    if not betas or any(not (0 <= b < math.inf) for b in betas) or betas != sorted(set(betas)):
        raise ValueError(f"betas must be increasing, distinct, finite numbers >= 0, got {betas}")
    return Explorer(
        kind="soft", tasks=model.tasks, get_model=lambda: model, train=train, val=val,
        test=test, epochs=int(epochs), batch_size=int(batch_size), baselines=baselines,
        features=getattr(model, "feature_config", None), seed=int(getattr(model, "seed", 0)),
        lambda_max=lambda_max, initial_lambdas=_initial_lambdas(model), betas=betas,
        initial_beta=float(getattr(model, "beta", 0.0) or 0.0),
        title="Soft parameter sharing", formula=_SOFT_FORMULA,
    )


def feature_sharing_explorer(
    tasks: Sequence[Any],
    features: Any,
    train: Any,
    val: Any,
    test: Any,
    *,
    architectures: Sequence[str] = tuple(ARCHITECTURES),
    build_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
    models: Mapping[str, Any] | None = None,
    epochs: int = 5,
    batch_size: int = 256,
    baselines: Any = "auto",
    lambda_max: float = 2.0,
    seed: int = 0,
) -> Explorer:
    """An explorer for feature-based sharing: pick hard, cross-stitch, MMoE or PLE, set λ.

    Each architecture is built (``mtl_kit.models.build_*``) the first time it is trained
    and then kept, so switching back to it is instant; every run re-trains from the same
    initial weights with L = Σ_i λ_i L_i.

    Args:
        tasks: TaskSpecs or shop task names, e.g. ``("click", "purchase")``.
        features: the data's ``FeatureSpec`` (``shop.features``) or an int d.
        architectures: which of ``ARCHITECTURES`` to offer, in order.
        build_kwargs: extra builder arguments per architecture, e.g. ``{"MMoE": {"n_experts": 4}}``.
        models: ready models per architecture (skips building those).
        seed: seed of every model built here.
        other arguments: as for ``hard_sharing_explorer``.
    """
    from mtl_kit.tasks import as_tasks

    specs = as_tasks(tasks)
    _check_common(epochs, batch_size, lambda_max, baselines)
    architectures = list(architectures)
    unknown = [a for a in architectures if a not in ARCHITECTURES]
    if not architectures or unknown:
        raise ValueError(f"architectures must be a non-empty list out of {list(ARCHITECTURES)}, "
                         f"got {architectures}")
    build_kwargs = dict(build_kwargs or {})
    bad = [a for a in build_kwargs if a not in ARCHITECTURES]
    if bad:
        raise ValueError(f"build_kwargs keys must be out of {list(ARCHITECTURES)}, got {bad}")
    cache: dict[str, Any] = dict(models or {})
    for name, model in cache.items():
        if name not in ARCHITECTURES:
            raise ValueError(f"models keys must be out of {list(ARCHITECTURES)}, got {name!r}")
        _check_model(model, ("tasks", "set_loss_weights", "retrain", "predict_tasks"))
    explorer: Explorer | None = None

    def get_model() -> Any:
        assert explorer is not None and explorer.architecture is not None
        name = explorer.architecture.value
        if name not in cache:
            import mtl_kit.models as models_module

            builder = getattr(models_module, ARCHITECTURES[name], None)
            if builder is None:
                raise RuntimeError(f"mtl_kit.models has no {ARCHITECTURES[name]} (needed for "
                                   f"the {name} architecture)")
            explorer._set_status(f"Building the {_escape(name)} model (once)…", "info")
            cache[name] = builder(specs, features, seed=seed, **build_kwargs.get(name, {}))
        return cache[name]

    explorer = Explorer(
        kind="feature", tasks=specs, get_model=get_model, train=train, val=val, test=test,
        epochs=int(epochs), batch_size=int(batch_size), baselines=baselines, features=features,
        seed=seed, lambda_max=lambda_max, initial_lambdas={}, architectures=architectures,
        title="Feature-based sharing", formula=_HARD_FORMULA,
    )
    explorer.models = cache
    return explorer
