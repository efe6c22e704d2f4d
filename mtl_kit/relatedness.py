"""When does sharing pay? Sweep one knob of the shop and measure the gain of sharing per task.

For each value v of a knob (``task_correlation``, a task's ``label_fraction`` or its label
``noise``) the course's shop is generated with that value, every model is trained over K seeds
(each run stopped early on the validation loss, as ``mtl_kit.experiments.compare`` trains it),
and its gain on each task is paired with the course's single-task baselines on the same rows
and seeds::

    gain_t(v) = M_t(model, v) − M_t(single-task, v)        (M_t: AUC, or −RMSE's sign flipped)

with a 95 % interval over the validation users and the seeds (``mtl_kit.intervals``). A gain
whose interval lies below 0 is **negative transfer**: sharing made the task worse than a model
of its own.

:class:`Sweeper` keeps the models (built once, re-initialised per seed: ``reseed``) and every
setting it has run, so the course's own shop, which sits in every sweep, is trained once::

    sweeper = Sweeper({"hard": builder}, tasks=("click", "purchase"), task="purchase")
    relatedness = sweeper.run("task_correlation", [-1, 0, 0.6, 1])
    scarcity = sweeper.run("label_fraction", [0.05, 0.15, 0.5])   # 0.15: the course's shop
    relatedness.table, relatedness.plot()
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mtl_kit.course import COURSE_SHOP, CourseData, course_data
from mtl_kit.data.shop import DEFAULT_NOISE
from mtl_kit.experiments import (
    SINGLE_TASK,
    TrainingPlan,
    check_seeds,
    single_task_runs,
    train_seeds,
    verdict,
)
from mtl_kit.intervals import Estimate, influence, seed_interval
from mtl_kit.palette import task_color, task_style
from mtl_kit.tasks import HIGHER_IS_BETTER, TaskSpec, as_tasks
from mtl_kit.validation import check_choice, check_number

#: The knobs a sweep can turn, and what each one means.
KNOBS: dict[str, str] = {
    "task_correlation": "cosine p between click's hidden drivers and the other tasks' (-1 … 1)",
    "label_fraction": "share of the task's training rows that carry a label (0 … 1]",
    "noise": "standard deviation of the noise on the task's logit (0 … 5): its difficulty",
}
#: The range each knob allows (``make_shop``'s).
KNOB_RANGES: dict[str, tuple[float, float, bool]] = {  # (low, high, low excluded)
    "task_correlation": (-1.0, 1.0, False),
    "label_fraction": (0.0, 1.0, True),
    "noise": (0.0, 5.0, False),
}
Builder = Callable[[int], Any]


def shop_knobs(knob: str, value: float, task: str = "purchase") -> dict[str, Any]:
    """The ``course_data`` arguments that set ``knob`` to ``value`` (for ``task`` when the knob
    is per task), everything else as in the course's shop (``COURSE_SHOP``)."""
    check_choice("knob", knob, tuple(KNOBS))
    low, high, low_open = KNOB_RANGES[knob]
    value = check_number(knob, value, low, high, low_open=low_open)
    if knob == "task_correlation":
        return {"task_correlation": value}
    if knob == "label_fraction":
        fractions = dict(COURSE_SHOP["label_fraction"])  # type: ignore[arg-type]
        fractions[task] = value
        return {"label_fraction": {t: f for t, f in fractions.items() if f != 1.0} or None}
    return {"noise": {task: value}}


def course_value(knob: str, task: str = "purchase") -> float:
    """The knob's value in the course's shop (0.6 correlation, 15 % purchase labels, noise
    0.5)."""
    check_choice("knob", knob, tuple(KNOBS))
    if knob == "task_correlation":
        return float(COURSE_SHOP["task_correlation"])  # type: ignore[arg-type]
    if knob == "label_fraction":
        return float(dict(COURSE_SHOP["label_fraction"]).get(task, 1.0))  # type: ignore[arg-type]
    return float(DEFAULT_NOISE[task])


def _canonical(knobs: Mapping[str, Any]) -> str:
    """A key that is the same for two equal settings (the course's defaults filled in)."""
    settings = {**COURSE_SHOP, **knobs}
    fractions = settings.get("label_fraction") or {}
    settings["label_fraction"] = {t: float(f) for t, f in sorted(dict(fractions).items())
                                  if float(f) != 1.0}
    noise = {**DEFAULT_NOISE, **dict(settings.get("noise") or {})}
    settings["noise"] = {t: float(v) for t, v in sorted(noise.items())}
    settings["task_correlation"] = float(settings["task_correlation"])
    return json.dumps(settings, sort_keys=True, default=str)


# --------------------------------------------------------------------------------------------
# Scoring one setting
# --------------------------------------------------------------------------------------------
@dataclass
class Scored:
    """Per model (and the single-task reference) and task: each seed's metric and per-row
    influences on one split, ready for paired intervals."""

    tasks: list[TaskSpec]
    users: np.ndarray
    influences: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]
    confidence: float = 0.95
    #: per trained model: the epoch each seed's run kept (early stopping on validation)
    best_epochs: dict[str, list[int]] = dataclasses.field(default_factory=dict)

    @property
    def models(self) -> list[str]:
        """The models scored (the single-task reference included)."""
        return list(dict.fromkeys(model for model, _ in self.influences))

    def add(self, other: Scored, model: str, name: str | None = None) -> None:
        """Take ``model``'s runs from ``other`` (scored on the very same rows and seeds, e.g.
        the same split of the same shop), under ``name`` (default: the same name)."""
        if other.users.shape != self.users.shape or not np.array_equal(other.users,
                                                                         self.users):
            raise ValueError("other must be scored on the same rows (the same split of the "
                             "same shop)")
        found = {task: value for (m, task), value in other.influences.items() if m == model}
        if not found:
            raise ValueError(f"model must be one of {other.models}, got {model!r}")
        name = model if name is None else name
        for task, value in found.items():
            self.influences[name, task] = value
        if model in other.best_epochs:
            self.best_epochs[name] = list(other.best_epochs[model])

    def estimate(self, model: str, task: str) -> Estimate:
        values, psis = self.influences[model, task]
        return seed_interval(values, psis, self.users, self.confidence)

    def difference(self, model: str, task: str, reference: str = SINGLE_TASK) -> Estimate:
        """``model − reference`` on ``task``'s primary metric, paired on rows and seeds."""
        values, psis = self.influences[model, task]
        ref_values, ref_psis = self.influences[reference, task]
        return seed_interval(values - ref_values, psis - ref_psis, self.users, self.confidence)


def score_runs(tasks: Sequence[TaskSpec], y_true: Mapping[str, np.ndarray], users: np.ndarray,
               predictions: Mapping[str, Sequence[Mapping[str, np.ndarray]]],
               confidence: float = 0.95) -> Scored:
    """Each model's per-seed primary metric and row influences (``mtl_kit.intervals``).

    ``predictions``: ``{model: [ {task: prediction} per seed ]}``; a model is scored on the
    tasks it predicts.
    """
    influences = {}
    for name, per_seed in predictions.items():
        for spec in tasks:
            if spec.name not in per_seed[0]:
                continue
            pairs = [influence(spec.primary_metric, spec.kind, y_true[spec.name], p[spec.name])
                     for p in per_seed]
            influences[name, spec.name] = (np.array([v for v, _ in pairs]),
                                           np.stack([psi for _, psi in pairs]))
    return Scored(list(tasks), np.asarray(users), influences, confidence)


def train_and_score(models: Mapping[str, Builder], data: CourseData, seeds: Sequence[int],
                    plan: TrainingPlan | None = None, split: str = "val") -> Scored:
    """Train every model over the seeds (early stopping on validation, ``train_seeds``), get
    the course's single-task baselines (cached on disk), and score all on ``split``."""
    plan = TrainingPlan() if plan is None else plan
    check_choice("split", split, ("val", "test"))
    tasks = as_tasks(data.tasks)
    predictions: dict[str, list[dict[str, np.ndarray]]] = {}
    per_task = {t.name: single_task_runs(t, data, seeds, plan) for t in tasks}
    predictions[SINGLE_TASK] = [{t: per_task[t][k].predictions[split][t] for t in per_task}
                                for k in range(len(seeds))]
    best_epochs = {}
    for name, builder in models.items():
        runs = train_seeds(builder, data, seeds, plan, splits=(split,))
        predictions[name] = [run.predictions[split] for run in runs]
        best_epochs[name] = [run.best_epoch for run in runs]
    scored = score_runs(tasks, data.split_arrays(split)[1], data.users(split), predictions)
    scored.best_epochs = best_epochs
    return scored


# --------------------------------------------------------------------------------------------
# A sweep
# --------------------------------------------------------------------------------------------
@dataclass
class Sweep:
    """The gain of each model over single-task, per task, at every value of one knob.

    ``table`` has one row per (value, model, task): ``metric``, ``single-task`` and ``model``
    means, ``gain`` (model − single-task, higher is better for every metric: RMSE gains are
    single-task − model), ``low``, ``high`` (95 % interval) and ``verdict``.
    """

    knob: str
    task: str
    values: tuple[float, ...]
    seeds: tuple[int, ...]
    split: str
    table: pd.DataFrame
    #: every value's scored runs (for paired comparisons between values)
    scored: dict[float, Scored] = dataclasses.field(default_factory=dict, repr=False)

    def gains(self, model: str | None = None, task: str | None = None) -> pd.DataFrame:
        """The rows of one model and/or task, indexed by the knob's value."""
        rows = self.table
        if model is not None:
            rows = rows[rows["model"] == check_choice("model", model,
                                                      tuple(dict.fromkeys(rows["model"])))]
        if task is not None:
            rows = rows[rows["task"] == check_choice("task", task,
                                                     tuple(dict.fromkeys(rows["task"])))]
        return rows.set_index(self.knob)

    def gain(self, value: float, model: str, task: str) -> Estimate:
        """The gain at one knob value as an ``Estimate`` (mean, low, high)."""
        rows = self.gains(model, task)
        matches = [v for v in rows.index if np.isclose(v, value)]
        if not matches:
            raise ValueError(f"value must be one of {list(self.values)}, got {value!r}")
        row = rows.loc[matches[0]]
        return Estimate(float(row["gain"]), float(row["low"]), float(row["high"]), 0.95,
                        len(self.seeds))

    def gain_difference(self, value: float, other: float, model: str, task: str) -> Estimate:
        """gain(value) − gain(other) for one model and task, paired: every setting of the shop
        has the same validation rows, and seed k is paired with seed k.

            Δ = s · [(M_v − S_v) − (M_o − S_o)],   ψ_Δ = s · [(ψ_M,v − ψ_S,v) − (ψ_M,o − ψ_S,o)]

        (M: the model's metric, S: single-task's, s = −1 for a lower-is-better metric).
        """
        first, second = self._scored_at(value), self._scored_at(other)
        if not np.array_equal(first.users, second.users):
            raise ValueError("the two settings were scored on different rows")
        spec = next((t for t in first.tasks if t.name == task), None)
        if spec is None or (model, task) not in first.influences:
            raise ValueError(f"model and task must be among {sorted(first.influences)}, got "
                             f"{(model, task)}")
        sign = 1.0 if HIGHER_IS_BETTER[spec.primary_metric] else -1.0
        parts = [scored.influences[name, task] for scored in (first, second)
                 for name in (model, SINGLE_TASK)]
        values = sign * ((parts[0][0] - parts[1][0]) - (parts[2][0] - parts[3][0]))
        psis = sign * ((parts[0][1] - parts[1][1]) - (parts[2][1] - parts[3][1]))
        return seed_interval(values, psis, first.users, first.confidence)

    def _scored_at(self, value: float) -> Scored:
        for known, scored in self.scored.items():
            if np.isclose(known, value):
                return scored
        raise ValueError(f"value must be one of {list(self.values)}, got {value!r}")

    def plot(self, *, title: str | None = None, xlabel: str | None = None,
             figsize: tuple[float, float] | None = None) -> Any:
        """One panel per task: each model's gain (dot) and 95 % interval (bar) against the
        knob's value, 0 marked; hollow markers: no difference we can detect."""
        return plot_gains(self.table, self.knob, title=title, xlabel=xlabel, figsize=figsize,
                          course=course_value(self.knob, self.task))


#: Marker of each model in a gains plot, in the order the models appear.
MODEL_MARKERS = ("o", "D", "^", "v", "P")


def plot_gains(table: pd.DataFrame, knob: str, *, title: str | None = None,
               xlabel: str | None = None, figsize: tuple[float, float] | None = None,
               course: float | None = None, ticks: Sequence[float] | None = None) -> Any:
    """Gain against the knob's value, one panel per task (see :meth:`Sweep.plot`).

    ``table`` needs the columns ``knob``, model, task, metric, gain, low, high, verdict; the
    task's colour is its panel's, each model has its own marker (``MODEL_MARKERS``). ``course``
    marks the course shop's value with a grey band; ``ticks`` fixes the x axis (default: the
    values in the table).
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    tasks = list(dict.fromkeys(table["task"]))
    models = list(dict.fromkeys(table["model"]))
    if figsize is None:
        figsize = (5.2 * len(tasks), 4.2)
    figure, axes = plt.subplots(1, len(tasks), figsize=figsize, squeeze=False)
    plt.close(figure)  # shown once, as the cell's result
    values = np.sort(np.asarray(ticks if ticks is not None else table[knob].unique(),
                                dtype=float))
    step = float(np.min(np.diff(values))) if len(values) > 1 else 1.0
    margin = 0.5 * step
    offsets = {m: (i - (len(models) - 1) / 2) * 0.12 * step for i, m in enumerate(models)}
    for ax, task in zip(axes[0], tasks, strict=True):
        color = task_color(task)
        rows = table[table["task"] == task]
        ax.axhline(0.0, color="#555555", lw=1, zorder=1)
        if course is not None:
            ax.axvline(course, color="#bbbbbb", lw=6, alpha=0.5, zorder=0)
        for i, model in enumerate(models):
            part = rows[rows["model"] == model].sort_values(knob)
            if part.empty:
                continue
            x = part[knob].to_numpy(float) + offsets[model]
            marker = MODEL_MARKERS[i % len(MODEL_MARKERS)]
            ax.plot(x, part["gain"], color=color, lw=1.2, alpha=0.6,
                    linestyle=task_style(task)["linestyle"], zorder=2)
            for xv, row in zip(x, part.itertuples(), strict=True):
                detected = row.verdict in ("better", "worse")
                ax.errorbar(xv, row.gain, yerr=[[row.gain - row.low], [row.high - row.gain]],
                            fmt=marker, color=color, ecolor=color, elinewidth=2, capsize=4,
                            markersize=7, markeredgewidth=1.6,
                            markerfacecolor=color if detected else "white", zorder=3)
        metric = str(rows["metric"].iloc[0])
        name = metric.upper()
        sign = "" if HIGHER_IS_BETTER.get(metric, True) else " (sign flipped: lower is better)"
        ax.set_title(f"{task}: {name} gain over single-task{sign}", color=color, fontsize=10.5,
                     fontweight="bold")
        ax.set_xlabel(xlabel or knob.replace("_", " "))
        ax.set_xticks(values)
        ax.set_xlim(values[0] - margin, values[-1] + margin)
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel("model − single-task (95 % interval)")
    grey = "#444444"
    handles = [Line2D([], [], color=grey, marker=MODEL_MARKERS[i % len(MODEL_MARKERS)],
                      linestyle="", markersize=7, label=f"{model} (filled: a gain or loss "
                                                        f"we can detect)" if i == 0 else model)
               for i, model in enumerate(models)]
    handles.append(Line2D([], [], color=grey, marker="o", markerfacecolor="white",
                          linestyle="", markersize=7, label="hollow: no difference we can "
                                                            "detect"))
    if course is not None:
        handles.append(Line2D([], [], color="#bbbbbb", lw=6, alpha=0.5,
                              label="the course's shop"))
    figure.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8.5,
                  frameon=False)
    if title:
        figure.suptitle(title, fontsize=11)
    figure.tight_layout(rect=(0, 0.07, 1, 1))
    return figure


class Sweeper:
    """Runs knob sweeps for a fixed set of models, remembering every setting it has run.

    Args:
        models: ``{name: builder}``, a builder being ``seed -> compiled MultiTaskNet`` for the
            course's inputs (every setting of the shop has the same inputs, only the labels
            change, so one compiled model serves every value).
        tasks: the tasks of the data (``course_data(tasks, …)``).
        task: whose ``label_fraction`` / ``noise`` the per-task knobs set.
        seeds: K seeds (or a list), as in ``compare``.
        split: where the gains are measured (``"val"``: sweeps are explorations).
        plan: how each run is trained (default ``TrainingPlan()``: early stopping).
        data_filter: an optional function applied to every generated ``CourseData``.
        shop: other ``course_data`` knobs fixed for every setting (e.g. ``{"seed": 1}`` for
            another draw of the shop); the swept knob overrides them.
    """

    def __init__(self, models: Mapping[str, Builder], tasks: Sequence[str] = ("click",
                 "purchase"), *, task: str = "purchase", seeds: Any = 5, split: str = "val",
                 plan: TrainingPlan | None = None,
                 data_filter: Callable[[CourseData], CourseData] | None = None,
                 shop: Mapping[str, Any] | None = None) -> None:
        if not isinstance(models, Mapping) or not models:
            raise TypeError("models must be a non-empty dict {name: builder}")
        for name, builder in models.items():
            if not isinstance(name, str) or not callable(builder) or name == SINGLE_TASK:
                raise TypeError(f"models must map names (not {SINGLE_TASK!r}) to builders "
                                f"(seed -> model), got {name!r}: {type(builder).__name__}")
        self.tasks = tuple(t.name for t in as_tasks(tasks))
        self.task = check_choice("task", task, self.tasks)
        self.models = dict(models)
        self.seeds = check_seeds(seeds)
        self.split = check_choice("split", split, ("val", "test"))
        self.plan = TrainingPlan() if plan is None else plan
        if not isinstance(self.plan, TrainingPlan):
            raise TypeError(f"plan must be a TrainingPlan, got {type(self.plan).__name__}")
        self.data_filter = data_filter
        if shop is not None and not isinstance(shop, Mapping):
            raise TypeError(f"shop must be a dict of course_data knobs, got {shop!r}")
        self.shop = dict(shop or {})
        self._done: dict[str, Scored] = {}

    def setting(self, knobs: Mapping[str, Any]) -> Scored:
        """Train and score one setting of the shop (``course_data`` knobs), once."""
        knobs = {**self.shop, **knobs}
        key = _canonical(knobs)
        if key not in self._done:
            data = course_data(self.tasks, **knobs)
            if self.data_filter is not None:
                data = self.data_filter(data)
            self._done[key] = train_and_score(self.models, data, self.seeds, self.plan,
                                              self.split)
        return self._done[key]

    def run(self, knob: str, values: Sequence[float]) -> Sweep:
        """Every value of ``knob`` (the others as in the course's shop): a :class:`Sweep`."""
        check_choice("knob", knob, tuple(KNOBS))
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise TypeError(f"values must be a non-empty list of numbers, got {values!r}")
        settings = [shop_knobs(knob, v, self.task) for v in values]  # checks every value first
        rows, by_value = [], {}
        for value, knobs in zip(values, settings, strict=True):
            scored = by_value[float(value)] = self.setting(knobs)
            for name in self.models:
                for spec in scored.tasks:
                    if (name, spec.name) not in scored.influences:
                        continue
                    metric = spec.primary_metric
                    sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
                    diff = scored.difference(name, spec.name)
                    gain = Estimate(sign * diff.mean, *sorted((sign * diff.low,
                                                               sign * diff.high)),
                                    diff.confidence, diff.n_seeds)
                    rows.append({knob: float(value), "model": name, "task": spec.name,
                                 "metric": metric,
                                 "single-task": scored.estimate(SINGLE_TASK, spec.name).mean,
                                 "model mean": scored.estimate(name, spec.name).mean,
                                 "gain": gain.mean, "low": gain.low, "high": gain.high,
                                 "verdict": verdict(gain, True)})
        return Sweep(knob, self.task, tuple(float(v) for v in values), self.seeds, self.split,
                     pd.DataFrame(rows), by_value)


# --------------------------------------------------------------------------------------------
# Putting a regression task on the scale of the others
# --------------------------------------------------------------------------------------------
def standardised_log(data: CourseData, task: str = "dwell") -> CourseData:
    """``data`` with ``task``'s labels replaced by z = (log y − μ) / σ, μ and σ from the
    training rows.

    Dwell time in seconds has a squared error near 100, the classification losses near 0.3:
    in one shared model dwell's gradient would dominate every step. On the log scale and
    standardised, its loss starts near 1, like the others'.
    """
    check_choice("task", task, tuple(data.tasks))
    logs = {split: np.log(np.asarray(getattr(data, f"y_{split}")[task], dtype="float64"))
            for split in ("train", "val", "test")}
    if any(np.nanmin(np.exp(v)) <= 0 for v in logs.values()):
        raise ValueError(f"task {task!r} must have positive labels to take their log")
    mu, sigma = np.nanmean(logs["train"]), np.nanstd(logs["train"])
    changed = {f"y_{split}": {**getattr(data, f"y_{split}"),
                              task: ((value - mu) / sigma).astype("float32")}
               for split, value in logs.items()}
    return dataclasses.replace(data, **changed)


__all__ = [
    "KNOBS",
    "Scored",
    "Sweep",
    "Sweeper",
    "course_value",
    "plot_gains",
    "score_runs",
    "shop_knobs",
    "standardised_log",
    "train_and_score",
]
