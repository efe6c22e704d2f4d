"""What an explorer does when Train is pressed, without any widget: settings → K seeds → evidence.

An explorer (``mtl_kit.widgets``) is a view on an :class:`ExplorerLogic`. One Train click:

1. checks the settings (λ per task, β for soft sharing, the architecture for feature sharing);
2. trains the model once per seed (K = 5 by default), each seed from its own initial weights
   (``MultiTaskNet.reseed``: exactly what ``build_*(…, seed=k)`` gives), a fixed number of
   epochs each, through ``mtl_kit.seed_runs.fit_seeds`` on JAX (all seeds at once), else one
   seed after the other;
3. scores the runs on the **validation** split with the lessons' own scoring path: a
   :class:`mtl_kit.experiments.Comparison` of this run, the previous run and the course's
   single-task baselines (``mtl_kit.experiments.single_task_runs``: one model per task and
   seed, early-stopped, cached on disk, the very runs the lessons compare with).

The result, an :class:`ExplorerRun`, holds per seed the loss history and the validation
predictions; ``ExplorerRun.curves()`` gives each logged loss's mean over the seeds and its
band (the lowest and highest seed: with 5 seeds, the whole spread). ``ExplorerLogic.table``
gives per task the mean with its 95 % interval (over validation users and seeds), the paired
difference to single-task with its interval and verdict, and the paired difference to the
previous run. The test split is never touched here: it is for a lesson's final numbers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from mtl_kit import seed_runs
from mtl_kit.experiments import (
    SINGLE_TASK,
    Comparison,
    SeedRun,
    TrainingPlan,
    check_seeds,
    single_task_runs,
)

#: Defaults of every explorer: K seeds per click, epochs and batch size per seed.
DEFAULT_SEEDS = 5
DEFAULT_EPOCHS = 4
DEFAULT_BATCH_SIZE = 512
DEFAULT_LAMBDA_MAX = 2.0

#: β values of the soft-sharing slider: 0 (independent towers) then a log scale.
DEFAULT_BETAS: tuple[float, ...] = (0.0, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)

#: Feature-based explorer: label shown -> builder name in ``mtl_kit.models``.
ARCHITECTURES: dict[str, str] = {
    "hard": "build_hard_sharing",
    "cross-stitch": "build_cross_stitch",
    "MMoE": "build_mmoe",
    "PLE": "build_ple",
}

#: The explorers' kinds.
KINDS = ("hard", "soft", "feature")

#: Names of the runs in an explorer's Comparison.
THIS_RUN = "this run"
PREVIOUS_RUN = "previous run"

#: How the single-task reference is trained: as the lessons' ``compare`` trains it.
REFERENCE_PLAN = TrainingPlan()

#: The intervals' level (``Comparison``'s default).
CONFIDENCE = 0.95


# --------------------------------------------------------------------------------------------
# Argument checks (all before any training)
# --------------------------------------------------------------------------------------------
def check_int(name: str, value: Any, minimum: int = 1) -> int:
    """An int >= ``minimum`` (bools refused), else TypeError / ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def check_data(data: Any, argument: str = "data") -> Any:
    """A ``CourseData`` (or anything with its arrays, ``users`` and ``tasks``)."""
    needs = ("x_train", "y_train", "x_val", "y_val", "users", "tasks", "features")
    missing = [name for name in needs if not hasattr(data, name)]
    if missing:
        raise TypeError(
            f"{argument} must be a CourseData from mtl_kit.course.course_data(tasks), "
            f"got {type(data).__name__} (it has no {', '.join(missing)})"
        )
    return data


def check_lambda_max(lambda_max: Any) -> float:
    if isinstance(lambda_max, bool) or not isinstance(lambda_max, (int, float, np.floating)) \
            or not 0 < lambda_max < math.inf:
        raise ValueError(f"lambda_max must be a finite number > 0, got {lambda_max!r}")
    return float(lambda_max)


def check_betas(betas: Any) -> tuple[float, ...]:
    try:
        values = [float(b) for b in betas]
    except (TypeError, ValueError):
        raise TypeError(f"betas must be a sequence of numbers >= 0, got {betas!r}") from None
    if not values or any(not 0 <= b < math.inf for b in values) or values != sorted(set(values)):
        raise ValueError(f"betas must be increasing, distinct, finite numbers >= 0, got {values}")
    return tuple(values)


def check_model(model: Any, needs: Sequence[str], argument: str = "model") -> Any:
    missing = [name for name in needs if not hasattr(model, name)]
    if missing:
        raise TypeError(
            f"{argument} must be a compiled mtl_kit MultiTaskNet (from mtl_kit.models.build_*); "
            f"{type(model).__name__} has no {', '.join(missing)}"
        )
    return model


def check_lambdas(lambdas: Any, names: Sequence[str], lambda_max: float) -> dict[str, float]:
    """``{task: λ}`` with every λ a number in [0, lambda_max] and every task known."""
    if not isinstance(lambdas, Mapping):
        raise TypeError(f"lambdas must be a dict {{task: λ}}, got {type(lambdas).__name__}")
    checked = {}
    for name, value in lambdas.items():
        if name not in names:
            raise ValueError(f"lambdas has an unknown task {name!r}; the tasks are {list(names)}")
        if isinstance(value, bool):
            raise TypeError(f"λ for {name} must be a number, got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"λ for {name} must be a number, got {value!r}") from None
        if not 0.0 <= number <= lambda_max:
            raise ValueError(f"λ for {name} must be between 0 and {lambda_max:g}, got {value!r}")
        checked[name] = number
    return checked


def format_beta(beta: float) -> str:
    return "0" if beta == 0 else f"{beta:g}"


def closest_beta(betas: Sequence[float], value: float) -> float:
    """The β of ``betas`` nearest to ``value`` on a log scale."""
    return min(betas, key=lambda b: abs(math.log10(b + 1e-12) - math.log10(value + 1e-12)))


def check_beta_choice(beta: Any, betas: Sequence[float]) -> float:
    """One of the slider's β values (compared with a relative tolerance)."""
    if isinstance(beta, bool):
        raise TypeError(f"beta must be a number, got {beta!r}")
    try:
        value = float(beta)
    except (TypeError, ValueError):
        raise TypeError(f"beta must be a number, got {beta!r}") from None
    for choice in betas:
        if math.isclose(value, choice, rel_tol=1e-9, abs_tol=0.0):
            return choice
    allowed = ", ".join(format_beta(b) for b in betas)
    raise ValueError(f"beta must be one of the slider's values {allowed}, got {beta!r}")


# --------------------------------------------------------------------------------------------
# Training K seeds
# --------------------------------------------------------------------------------------------
def _fit_seeds_sequential(model: Any, seeds: Sequence[int], x: Any, y: Any, *, epochs: int,
                          batch_size: int, validation_data: Any,
                          on_seed: Callable[[list[dict[str, list[float]]]], None] | None,
                          ) -> tuple[list[dict[str, list[float]]], Callable[[Any], list]]:
    """One seed after the other (``reseed`` then ``fit``); keeps each seed's weights."""
    import keras

    histories, weights = [], []
    for seed in seeds:
        if getattr(model, "seed", None) == seed:
            model.reset()  # already this seed's initial weights: no need to rebuild them
        else:
            model.reseed(seed)
        history = model.fit(x, y, validation_data=validation_data, epochs=epochs,
                            batch_size=batch_size, validation_batch_size=max(
                                batch_size, seed_runs.VALIDATION_BATCH_SIZE))
        histories.append({k: [float(v) for v in vs] for k, vs in history.history.items()})
        weights.append([keras.ops.copy(v.value) for v in model.trainable_variables])
        if on_seed is not None:
            on_seed(histories)
        if not _finite_history(histories[-1]):
            break  # a diverged seed: no point training the others

    def predict(x_eval: Any) -> list[dict[str, np.ndarray]]:
        out = []
        for values in weights:
            for variable, value in zip(model.trainable_variables, values, strict=True):
                variable.assign(value)
            out.append(model.predict_tasks(x_eval))
        return out

    return histories, predict


def _seeds_at_once() -> bool:
    """True where ``fit_seeds`` trains the seeds together (JAX)."""
    import keras

    return keras.backend.backend() == "jax"


def fit_k_seeds(model: Any, seeds: Sequence[int], x: Any, y: Any, *, epochs: int,
                batch_size: int, validation_data: Any,
                on_seed: Callable[[list[dict[str, list[float]]]], None] | None = None,
                ) -> tuple[list[dict[str, list[float]]], Callable[[Any], list]]:
    """Train ``model`` once per seed; ``(histories, predict)`` with ``predict(x)`` giving one
    ``{task: predictions}`` per seed, in the order of ``seeds``.

    On JAX, ``mtl_kit.seed_runs.fit_seeds`` trains K > 1 seeds at once (vmapped, two groups
    side by side on two cores). One seed, or other backends: one seed after the other, and
    ``on_seed(histories so far)`` is called after every seed (for a live figure); a model
    already at a seed's initial weights is reset, not rebuilt.
    """
    if len(seeds) == 1 or not _seeds_at_once():  # one seed: a plain reset-and-fit
        return _fit_seeds_sequential(model, seeds, x, y, epochs=epochs, batch_size=batch_size,
                                     validation_data=validation_data, on_seed=on_seed)
    runs = seed_runs.fit_seeds(model, list(seeds), x, y, epochs=epochs, batch_size=batch_size,
                            validation_data=validation_data)
    raw = runs.histories
    if isinstance(raw, Mapping):
        raw = [raw[seed] for seed in seeds]
    histories = [{k: [float(v) for v in vs] for k, vs in dict(getattr(h, "history", h)).items()}
                 for h in raw]
    if on_seed is not None:
        on_seed(histories)

    def predict(x_eval: Any) -> list[dict[str, np.ndarray]]:
        out = runs.predict(x_eval)
        if isinstance(out, Mapping):
            return [out[seed] for seed in seeds]
        return list(out)

    return histories, predict


def _finite_history(history: Mapping[str, Sequence[float]]) -> bool:
    return all(math.isfinite(v) for key, values in history.items() if key.endswith("loss")
               for v in values)


def history_bands(histories: Sequence[Mapping[str, Sequence[float]]],
                  ) -> dict[str, tuple[list[float], list[float], list[float]]]:
    """``{log key: (mean, low, high)}`` per epoch over the seeds (band: min–max over seeds).

    Epochs that not every seed reached (a stopped run) use the seeds that did.
    """
    keys = [k for k in histories[0]] if histories else []
    out = {}
    for key in keys:
        series = [list(h.get(key, ())) for h in histories]
        length = max(len(s) for s in series)
        mean, low, high = [], [], []
        for epoch in range(length):
            values = np.array([s[epoch] for s in series if len(s) > epoch], dtype="float64")
            finite = values[np.isfinite(values)]
            if finite.size == 0 or finite.size < values.size:
                mean.append(math.nan)
                low.append(math.nan)
                high.append(math.nan)
                continue
            mean.append(float(finite.mean()))
            low.append(float(finite.min()))
            high.append(float(finite.max()))
        out[key] = (mean, low, high)
    return out


# --------------------------------------------------------------------------------------------
# Settings and runs
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    """What a learner chose: λ per task, β (soft sharing), the architecture (feature sharing)."""

    lambdas: Mapping[str, float]
    beta: float | None = None
    architecture: str | None = None

    def label(self) -> str:
        parts = []
        if self.architecture is not None:
            parts.append(self.architecture)
        parts.append(", ".join(f"λ {n}={v:g}" for n, v in self.lambdas.items()))
        if self.beta is not None:
            parts.append(f"β={format_beta(self.beta)}")
        return "; ".join(parts)


@dataclass
class ExplorerRun:
    """One Train click: K seeds' histories and validation predictions, and how long it took."""

    settings: Settings
    seeds: tuple[int, ...]
    histories: list[dict[str, list[float]]]
    predictions: list[dict[str, np.ndarray]]
    epochs: int
    timings: dict[str, float] = field(default_factory=dict)
    #: per task: (metric per seed, per-row influences per seed), filled by ExplorerLogic.table
    influences: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict,
                                                                 repr=False)

    @property
    def diverged(self) -> bool:
        """True when a loss of some seed became NaN or infinite (or a prediction did)."""
        if len(self.histories) < len(self.seeds):
            return True
        if not all(_finite_history(h) for h in self.histories):
            return True
        return not all(np.isfinite(np.asarray(p, dtype="float64")).all()
                       for seed in self.predictions for p in seed.values())

    def diverged_at(self) -> int | None:
        """The first epoch at which some seed's loss was not finite (1-based), or None."""
        epochs = []
        for history in self.histories:
            for key, values in history.items():
                if key.endswith("loss"):
                    bad = [i for i, v in enumerate(values) if not math.isfinite(v)]
                    if bad:
                        epochs.append(bad[0] + 1)
        return min(epochs) if epochs else None

    def curves(self) -> dict[str, tuple[list[float], list[float], list[float]]]:
        """``{log key: (mean, low, high)}`` per epoch over the seeds (band: min–max)."""
        return history_bands(self.histories)

    def mean_history(self) -> dict[str, list[float]]:
        return {key: mean for key, (mean, _, _) in self.curves().items()}

    def seed_runs(self) -> list[SeedRun]:
        """As ``mtl_kit.experiments.SeedRun`` objects (validation predictions only)."""
        return [SeedRun(history, self.epochs, {"val": predictions})
                for history, predictions in zip(self.histories, self.predictions, strict=True)]


# --------------------------------------------------------------------------------------------
# The logic behind an explorer
# --------------------------------------------------------------------------------------------
class ExplorerLogic:
    """Settings in, K-seed runs and their validation evidence out (no widgets here).

    Build it with :func:`hard_sharing_logic`, :func:`soft_sharing_logic` or
    :func:`feature_sharing_logic` (the explorers in ``mtl_kit.widgets`` do).
    """

    def __init__(self, kind: str, data: Any, *, seeds: Any, epochs: Any, batch_size: Any,
                 lambda_max: Any = DEFAULT_LAMBDA_MAX, model: Any = None,
                 betas: Sequence[float] | None = None,
                 architectures: Sequence[str] | None = None,
                 build_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
                 models: Mapping[str, Any] | None = None) -> None:
        from mtl_kit.tasks import as_tasks

        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        self.kind = kind
        self.data = check_data(data)
        self.seeds = check_seeds(seeds)
        self.epochs = check_int("epochs", epochs)
        self.batch_size = check_int("batch_size", batch_size)
        self.lambda_max = check_lambda_max(lambda_max)
        self.betas = check_betas(betas) if betas is not None else None
        self.models: dict[str, Any] = {}
        self.build_kwargs: dict[str, Mapping[str, Any]] = {}
        self.architectures: list[str] | None = None
        if kind == "feature":
            self.architectures = list(architectures if architectures is not None
                                      else ARCHITECTURES)
            unknown = [a for a in self.architectures if a not in ARCHITECTURES]
            if not self.architectures or unknown:
                raise ValueError(f"architectures must be a non-empty list out of "
                                 f"{list(ARCHITECTURES)}, got {self.architectures}")
            self.build_kwargs = dict(build_kwargs or {})
            bad = [a for a in self.build_kwargs if a not in ARCHITECTURES]
            if bad:
                raise ValueError(f"build_kwargs keys must be out of {list(ARCHITECTURES)}, "
                                 f"got {bad}")
            for name, given in dict(models or {}).items():
                if name not in ARCHITECTURES:
                    raise ValueError(f"models keys must be out of {list(ARCHITECTURES)}, "
                                     f"got {name!r}")
                self.models[name] = check_model(given, ("tasks", "set_loss_weights", "reseed",
                                                        "predict_tasks"), f"models[{name!r}]")
            self.tasks = list(as_tasks(data.tasks))
        else:
            needs = ["tasks", "set_loss_weights", "reseed", "fit", "predict_tasks"]
            if kind == "soft":
                needs.append("set_beta")
            check_model(model, needs)
            if kind == "soft" and getattr(model, "beta", None) is None:
                raise TypeError(f"model must be a soft-sharing model (build_soft_sharing: it "
                                f"has a β); {type(model).__name__} has none")
            self.models[kind] = model
            self.tasks = list(model.tasks)
        self.task_names = [t.name for t in self.tasks]
        unlabelled = [n for n in self.task_names
                      if n not in data.y_train or n not in data.y_val]
        if unlabelled:
            raise ValueError(f"data has no labels for the model's tasks {unlabelled}; "
                             f"build data with course_data({tuple(self.task_names)})")
        for spec in self.tasks:
            labels = np.asarray(data.y_val[spec.name], dtype="float64")
            if spec.kind == "binary" and len(np.unique(labels[~np.isnan(labels)])) < 2:
                raise ValueError(f"the validation split has no positive (or no negative) label "
                                 f"for task {spec.name!r}: its AUC is undefined; use more "
                                 f"impressions")
        self._reference: list[SeedRun] | None = None
        self._reference_influences: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._users = None

    # -- the pieces ---------------------------------------------------------------------------
    @property
    def initial_lambdas(self) -> dict[str, float]:
        model = self.models.get(self.kind)
        try:
            weights = dict(model.loss_weights) if model is not None else {}
        except Exception:
            weights = {}
        return {n: float(weights.get(n, 1.0)) for n in self.task_names}

    @property
    def initial_beta(self) -> float:
        model = self.models.get(self.kind)
        return float(getattr(model, "beta", 0.0) or 0.0)

    def settings(self, lambdas: Mapping[str, float], beta: Any = None,
                 architecture: Any = None) -> Settings:
        """Checked settings (ValueError / TypeError naming what is wrong and what is allowed)."""
        checked = check_lambdas(lambdas, self.task_names, self.lambda_max)
        full = {n: checked.get(n, 1.0) for n in self.task_names}
        if all(v == 0.0 for v in full.values()):
            raise ValueError("every λ is 0, so the loss Σ λ_i L_i is 0 and nothing would be "
                             "learned; raise at least one λ")
        if self.kind == "soft":
            assert self.betas is not None
            if beta is None:  # the model's own β (float32), as the slider shows it
                beta = closest_beta(self.betas, self.initial_beta)
            beta = check_beta_choice(beta, self.betas)
        elif beta is not None:
            raise TypeError("this explorer has no β (soft_sharing_explorer has)")
        if self.kind == "feature":
            assert self.architectures is not None
            architecture = self.architectures[0] if architecture is None else architecture
            if architecture not in self.architectures:
                raise ValueError(f"architecture must be one of {self.architectures}, "
                                 f"got {architecture!r}")
        elif architecture is not None:
            raise TypeError("this explorer has no architecture choice "
                            "(feature_sharing_explorer has)")
        return Settings(full, beta, architecture)

    def model_for(self, settings: Settings) -> Any:
        """The model these settings train (a feature architecture is built on first use)."""
        name = settings.architecture if self.kind == "feature" else self.kind
        if name not in self.models:
            import mtl_kit.models as models_module

            builder = getattr(models_module, ARCHITECTURES[name])
            self.models[name] = builder(self.tasks, self.data.features, seed=self.seeds[0],
                                        **self.build_kwargs.get(name, {}))
        return self.models[name]

    def is_built(self, settings: Settings) -> bool:
        name = settings.architecture if self.kind == "feature" else self.kind
        return name in self.models

    def reference_runs(self) -> list[SeedRun]:
        """The single-task reference per seed (cached on disk; trained once if missing)."""
        if self._reference is None:
            per_task = {t.name: single_task_runs(t, self.data, self.seeds, REFERENCE_PLAN)
                        for t in self.tasks}
            self._reference = [
                SeedRun({}, 0, {"val": {n: per_task[n][k].predictions["val"][n]
                                        for n in per_task}})
                for k in range(len(self.seeds))]
        return self._reference

    @property
    def has_reference(self) -> bool:
        return self._reference is not None

    # -- a click ------------------------------------------------------------------------------
    def train(self, settings: Settings,
              on_seed: Callable[[list[dict[str, list[float]]]], None] | None = None,
              ) -> ExplorerRun:
        """Train the K seeds with ``settings``; predictions on the validation split."""
        start = time.perf_counter()
        model = self.model_for(settings)
        model.set_loss_weights(dict(settings.lambdas))
        if settings.beta is not None:
            model.set_beta(settings.beta)
        y_train = {n: self.data.y_train[n] for n in self.task_names}
        y_val = {n: self.data.y_val[n] for n in self.task_names}
        histories, predict = fit_k_seeds(
            model, self.seeds, self.data.x_train, y_train, epochs=self.epochs,
            batch_size=self.batch_size, validation_data=(self.data.x_val, y_val),
            on_seed=on_seed)
        trained = time.perf_counter()
        predictions = predict(self.data.x_val) if len(histories) == len(self.seeds) else []
        run = ExplorerRun(settings, self.seeds, histories, predictions, self.epochs)
        run.timings = {"train": trained - start, "predict": time.perf_counter() - trained}
        return run

    def comparison(self, run: ExplorerRun, previous: ExplorerRun | None = None) -> Comparison:
        """This run, the previous one and single-task on validation, as the lessons score."""
        if self._users is None:
            self._users = self.data.users("val")
        runs = {SINGLE_TASK: self.reference_runs(), THIS_RUN: run.seed_runs()}
        if previous is not None and not previous.diverged and previous.seeds == run.seeds:
            runs[PREVIOUS_RUN] = previous.seed_runs()
        y_true = {n: self.data.y_val[n] for n in self.task_names}
        return Comparison("val", self.seeds, self.tasks, y_true, self._users, runs, SINGLE_TASK)

    def table(self, run: ExplorerRun, previous: ExplorerRun | None = None) -> pd.DataFrame:
        """Per task: mean [low, high] of this run, of single-task and of the previous run;
        this − single-task and this − previous, each paired with its interval and verdict.
        All on the validation split, 95 % intervals over validation users and seeds.

        The numbers are ``Comparison.estimate`` / ``Comparison.difference`` of
        :meth:`comparison` (``mtl_kit.intervals``: per-row influences, users as clusters, the
        seeds by the law of total variance); each run's per-row influences are computed once
        and reused for its estimate and both paired differences.
        """
        from mtl_kit.experiments import verdict
        from mtl_kit.tasks import HIGHER_IS_BETTER

        if self._users is None:
            self._users = self.data.users("val")
        use_previous = previous is not None and not previous.diverged and \
            previous.seeds == run.seeds
        rows = []
        for spec in self.tasks:
            name, metric = spec.name, spec.primary_metric
            this = self._influences(run, spec)
            single = self._influences(None, spec)
            this_est = self._interval(this)
            diff = self._interval(this, single)
            row = {"task": name, "metric": metric, "mean": this_est.mean, "low": this_est.low,
                   "high": this_est.high, "single-task": self._interval(single).mean,
                   "vs single-task": diff.mean, "vs single-task low": diff.low,
                   "vs single-task high": diff.high,
                   "verdict": verdict(diff, HIGHER_IS_BETTER[metric]),
                   "previous run": math.nan, "vs previous": math.nan,
                   "vs previous low": math.nan, "vs previous high": math.nan,
                   "vs previous verdict": ""}
            if use_previous:
                assert previous is not None
                before = self._influences(previous, spec)
                change = self._interval(this, before)
                row.update({"previous run": self._interval(before).mean,
                            "vs previous": change.mean, "vs previous low": change.low,
                            "vs previous high": change.high,
                            "vs previous verdict": verdict(change, HIGHER_IS_BETTER[metric])})
            rows.append(row)
        return pd.DataFrame(rows).set_index("task")

    def _influences(self, run: ExplorerRun | None, spec: Any) -> tuple[np.ndarray, np.ndarray]:
        """Per seed the metric and each validation row's influence on it (cached on the run;
        ``run=None``: the single-task reference)."""
        from mtl_kit.intervals import influence

        cache = self._reference_influences if run is None else run.influences
        if spec.name not in cache:
            if run is None:
                predictions = [r.predictions["val"][spec.name] for r in self.reference_runs()]
            else:
                predictions = [p[spec.name] for p in run.predictions]
            pairs = [influence(spec.primary_metric, spec.kind, self.data.y_val[spec.name], p)
                     for p in predictions]
            cache[spec.name] = (np.array([v for v, _ in pairs]), np.stack([p for _, p in pairs]))
        return cache[spec.name]

    def _interval(self, influences: tuple[np.ndarray, np.ndarray],
                  reference: tuple[np.ndarray, np.ndarray] | None = None) -> Any:
        from mtl_kit.intervals import seed_interval

        values, psis = influences
        if reference is not None:
            values, psis = values - reference[0], psis - reference[1]
        return seed_interval(values, psis, self._users, CONFIDENCE)


def hard_sharing_logic(model: Any, data: Any, *, seeds: Any = DEFAULT_SEEDS,
                       epochs: Any = DEFAULT_EPOCHS, batch_size: Any = DEFAULT_BATCH_SIZE,
                       lambda_max: Any = DEFAULT_LAMBDA_MAX) -> ExplorerLogic:
    return ExplorerLogic("hard", data, model=model, seeds=seeds, epochs=epochs,
                         batch_size=batch_size, lambda_max=lambda_max)


def soft_sharing_logic(model: Any, data: Any, *, seeds: Any = DEFAULT_SEEDS,
                       betas: Sequence[float] = DEFAULT_BETAS, epochs: Any = DEFAULT_EPOCHS,
                       batch_size: Any = DEFAULT_BATCH_SIZE,
                       lambda_max: Any = DEFAULT_LAMBDA_MAX) -> ExplorerLogic:
    return ExplorerLogic("soft", data, model=model, seeds=seeds, epochs=epochs,
                         batch_size=batch_size, lambda_max=lambda_max, betas=betas)


def feature_sharing_logic(data: Any, *, seeds: Any = DEFAULT_SEEDS,
                          architectures: Sequence[str] = tuple(ARCHITECTURES),
                          build_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
                          models: Mapping[str, Any] | None = None,
                          epochs: Any = DEFAULT_EPOCHS, batch_size: Any = DEFAULT_BATCH_SIZE,
                          lambda_max: Any = DEFAULT_LAMBDA_MAX) -> ExplorerLogic:
    return ExplorerLogic("feature", data, seeds=seeds, epochs=epochs, batch_size=batch_size,
                         lambda_max=lambda_max, architectures=architectures,
                         build_kwargs=build_kwargs, models=models)


# --------------------------------------------------------------------------------------------
# The relatedness explorer (lesson 6): task_correlation → single-task vs hard vs MMoE
# --------------------------------------------------------------------------------------------
#: The task_correlation values the relatedness slider offers: lesson 6's sweep (−1, 0, the
#: course's 0.6, 1), whose single-task baselines are then on disk already, and −0.5.
RELATEDNESS_VALUES: tuple[float, ...] = (-1.0, -0.5, 0.0, 0.6, 1.0)
#: The sharing models the relatedness explorer compares with single-task, and their builders'
#: settings (the lessons' sizes).
RELATEDNESS_MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    "hard": ("build_hard_sharing", {"shared": (64, 32), "head": (16,)}),
    "MMoE": ("build_mmoe", {"n_experts": 4, "expert_units": (32,), "tower": (16,)}),
}


@dataclass
class RelatednessRun:
    """One Train click: the shop at one task_correlation p, every model over K seeds.

    ``table`` has one row per model and task: metric, single-task and model means, the gain
    (model − single-task, paired) with its 95 % interval and verdict; ``timings`` in seconds.
    """

    p: float
    seeds: tuple[int, ...]
    table: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)


class RelatednessLogic:
    """What the relatedness explorer does when Train is pressed (no widgets here).

    For a task_correlation p: the course's shop with that p (the other knobs as in the
    course), the course's single-task baselines for it (one early-stopped model per task and
    seed, cached on disk: the first time for a p they are trained, which takes a few
    seconds), and every sharing model trained K seeds × ``epochs`` epochs (``fit_k_seeds``;
    the models are built once and re-initialised per seed, whatever p: the shop's inputs do
    not depend on p). Gains are scored on the validation split, paired with single-task.

    Args:
        tasks: the tasks (default click and purchase, purchase labels scarce as in the course).
        seeds: K, or a list of seeds.
        values: the p values offered (each in [-1, 1]).
        epochs, batch_size: of every sharing model's run (fixed epochs, no early stop).
        models: ready compiled models by name (keys out of ``RELATEDNESS_MODELS``), e.g. the
            lesson's hard-sharing model; the others are built on first use.
        data: ready ``CourseData`` by p (e.g. the course's own shop for p = 0.6).
    """

    def __init__(self, tasks: Sequence[str] = ("click", "purchase"), *,
                 seeds: Any = DEFAULT_SEEDS, values: Sequence[float] = RELATEDNESS_VALUES,
                 epochs: Any = DEFAULT_EPOCHS, batch_size: Any = DEFAULT_BATCH_SIZE,
                 models: Mapping[str, Any] | None = None,
                 data: Mapping[float, Any] | None = None) -> None:
        from mtl_kit.tasks import as_tasks
        from mtl_kit.validation import check_number

        self.tasks = list(as_tasks(tasks))
        self.task_names = [t.name for t in self.tasks]
        self.seeds = check_seeds(seeds)
        self.epochs = check_int("epochs", epochs)
        self.batch_size = check_int("batch_size", batch_size)
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise TypeError(f"values must be a non-empty list of task correlations in [-1, 1], "
                            f"got {values!r}")
        checked = [check_number("values", v, -1.0, 1.0) for v in values]
        if checked != sorted(set(checked)):
            raise ValueError(f"values must be increasing and distinct, got {checked}")
        self.values = tuple(checked)
        self.models: dict[str, Any] = {}
        for name, model in dict(models or {}).items():
            if name not in RELATEDNESS_MODELS:
                raise ValueError(f"models keys must be out of {list(RELATEDNESS_MODELS)}, "
                                 f"got {name!r}")
            self.models[name] = check_model(model, ("tasks", "reseed", "predict_tasks"),
                                            f"models[{name!r}]")
            if [t.name for t in model.tasks] != self.task_names:
                raise ValueError(f"models[{name!r}] predicts {[t.name for t in model.tasks]}, "
                                 f"the explorer's tasks are {self.task_names}")
        self._data: dict[float, Any] = {}
        for p, given in dict(data or {}).items():
            key = check_number("data key p", p, -1.0, 1.0)
            if not any(math.isclose(key, v, abs_tol=1e-9) for v in self.values):
                raise ValueError(f"data keys must be among the slider's values "
                                 f"{list(self.values)}, got {p!r}")
            self._data[key] = check_data(given)
        self.runs: dict[float, RelatednessRun] = {}

    def check_p(self, p: Any) -> float:
        """One of the slider's values (a ValueError lists them)."""
        from mtl_kit.validation import check_number

        value = check_number("p", p, -1.0, 1.0)
        for choice in self.values:
            if math.isclose(value, choice, abs_tol=1e-9):
                return choice
        raise ValueError(f"p must be one of the slider's values {list(self.values)}, got {p!r}")

    def data_for(self, p: float) -> Any:
        """The course's shop with task_correlation p (generated once per p)."""
        from mtl_kit.course import course_data

        p = self.check_p(p)
        if p not in self._data:
            self._data[p] = course_data(tuple(self.task_names), task_correlation=p)
        return self._data[p]

    def model(self, name: str, data: Any) -> Any:
        """The compiled model ``name`` (built on first use from ``data``'s features)."""
        if name not in RELATEDNESS_MODELS:
            raise ValueError(f"name must be one of {list(RELATEDNESS_MODELS)}, got {name!r}")
        if name not in self.models:
            import mtl_kit.models as models_module

            builder, kwargs = RELATEDNESS_MODELS[name]
            self.models[name] = getattr(models_module, builder)(
                self.tasks, data.features, seed=self.seeds[0], **kwargs)
        return self.models[name]

    def train(self, p: float) -> RelatednessRun:
        """Train every model at task_correlation p; score the gains on validation."""
        from mtl_kit.experiments import verdict
        from mtl_kit.relatedness import score_runs
        from mtl_kit.tasks import HIGHER_IS_BETTER

        start = time.perf_counter()
        p = self.check_p(p)
        data = self.data_for(p)
        made = time.perf_counter()
        per_task = {t.name: single_task_runs(t, data, self.seeds, REFERENCE_PLAN)
                    for t in self.tasks}
        predictions = {SINGLE_TASK: [{t: per_task[t][k].predictions["val"][t] for t in per_task}
                                     for k in range(len(self.seeds))]}
        reference = time.perf_counter()
        y_train = {n: data.y_train[n] for n in self.task_names}
        y_val = {n: data.y_val[n] for n in self.task_names}
        for name in RELATEDNESS_MODELS:
            model = self.model(name, data)
            model.set_loss_weights({n: 1.0 for n in self.task_names})
            _, predict = fit_k_seeds(model, self.seeds, data.x_train, y_train,
                                     epochs=self.epochs, batch_size=self.batch_size,
                                     validation_data=(data.x_val, y_val))
            predictions[name] = predict(data.x_val)
        trained = time.perf_counter()
        scored = score_runs(self.tasks, y_val, data.users("val"), predictions, CONFIDENCE)
        rows = []
        for name in RELATEDNESS_MODELS:
            for spec in self.tasks:
                sign = 1.0 if HIGHER_IS_BETTER[spec.primary_metric] else -1.0
                diff = scored.difference(name, spec.name)
                low, high = sorted((sign * diff.low, sign * diff.high))
                gain = replace(diff, mean=sign * diff.mean, low=low, high=high)
                rows.append({"task_correlation": p, "model": name, "task": spec.name,
                             "metric": spec.primary_metric,
                             "single-task": scored.estimate(SINGLE_TASK, spec.name).mean,
                             "model mean": scored.estimate(name, spec.name).mean,
                             "gain": gain.mean, "low": gain.low, "high": gain.high,
                             "verdict": verdict(gain, True)})
        run = RelatednessRun(p, self.seeds, pd.DataFrame(rows), {
            "data": made - start, "single-task": reference - made, "train": trained - reference,
            "total": time.perf_counter() - start})
        self.runs[p] = run
        return run

    def all_gains(self) -> pd.DataFrame:
        """Every p trained so far, one table (for the gains plot)."""
        if not self.runs:
            return pd.DataFrame(columns=["task_correlation", "model", "task", "metric",
                                         "single-task", "model mean", "gain", "low", "high",
                                         "verdict"])
        return pd.concat([self.runs[p].table for p in sorted(self.runs)], ignore_index=True)


def relatedness_logic(tasks: Sequence[str] = ("click", "purchase"), *,
                      seeds: Any = DEFAULT_SEEDS, values: Sequence[float] = RELATEDNESS_VALUES,
                      epochs: Any = DEFAULT_EPOCHS, batch_size: Any = DEFAULT_BATCH_SIZE,
                      models: Mapping[str, Any] | None = None,
                      data: Mapping[float, Any] | None = None) -> RelatednessLogic:
    """A :class:`RelatednessLogic` (its arguments): the relatedness explorer without widgets."""
    return RelatednessLogic(tasks, seeds=seeds, values=values, epochs=epochs,
                            batch_size=batch_size, models=models, data=data)


# --------------------------------------------------------------------------------------------
# The threshold explorer (lesson 7): no training, one decision threshold on validation
# --------------------------------------------------------------------------------------------
def threshold_report(y_true: Any, y_pred: Any, threshold: float) -> dict[str, float]:
    """What "yes when p >= threshold" does on the labelled rows: the counts ``tp``, ``fp``,
    ``fn``, ``tn``, the share of rows ``flagged``, and ``accuracy``, ``precision``,
    ``recall`` and ``f1`` (precision 0 when nothing is flagged, as scikit-learn's
    ``zero_division=0``)."""
    from mtl_kit.validation import check_number

    threshold = check_number("threshold", threshold, 0.0, 1.0, low_open=True)
    y = np.asarray(y_true, dtype="float64").reshape(-1)
    p = np.asarray(y_pred, dtype="float64").reshape(-1)
    if y.size != p.size:
        raise ValueError(f"y_pred has {p.size} rows, y_true has {y.size}")
    keep = ~np.isnan(y)
    if not keep.any():
        raise ValueError("y_true must hold at least one label")
    positive, flagged = y[keep] > 0.5, p[keep] >= threshold
    tp = float(np.sum(positive & flagged))
    fp = float(np.sum(~positive & flagged))
    fn = float(np.sum(positive & ~flagged))
    tn = float(np.sum(~positive & ~flagged))
    n = tp + fp + fn + tn
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn, "flagged": (tp + fp) / n,
            "accuracy": (tp + tn) / n, "precision": tp / (tp + fp) if tp + fp else 0.0,
            "recall": tp / (tp + fn) if tp + fn else 0.0,
            "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0}


# --------------------------------------------------------------------------------------------
# The strategy explorer (lesson 8): a loss-balancing strategy and its knob → K seeds → evidence
# --------------------------------------------------------------------------------------------
#: The strategies the strategy explorer offers, in order.
STRATEGY_CHOICES: tuple[str, ...] = ("fixed", "uncertainty", "dwa", "gradnorm", "pcgrad",
                                     "mgda", "cagrad")
#: The name of the fixed-λ reference run (λ = 1 for every task) in the explorer's table.
FIXED_REFERENCE = "fixed λ = 1"


class StrategyLogic:
    """What the strategy explorer does when Train is pressed (no widgets here).

    One Train click trains a loss-balancing strategy with its knob (``mtl_kit.balancing``:
    λ of the last task for fixed λ, T for DWA, α for GradNorm, c for CAGrad) over the K seeds
    of a :class:`mtl_kit.balancing.StrategyLab` (one compiled model per strategy, built on
    first use: switching strategy switches model; moving the knob does not recompile). Every
    model logs its task gradients, so each run has per epoch its losses (the validation loss on
    the lab's fixed sample of validation rows, ``StrategyLab.validation_sample``), each task's
    weight in the update and the cosine of the task gradients on the shared parameters. The table
    scores the run on the **validation** split against two references, paired on the same
    rows and seeds: fixed λ = 1 (trained once, with the same budget) and the course's
    single-task baselines (one early-stopped model per task and seed, cached on disk).

    Args:
        data: the course data (``course_data(tasks)``) with at least two tasks.
        lab: a ready ``StrategyLab`` (e.g. the lesson's: its models and budget are reused);
            default: a new one with ``seeds``, ``epochs``, ``batch_size``, ``learning_rate``.
        strategies: the strategies offered (out of :data:`STRATEGY_CHOICES`).
    """

    def __init__(self, data: Any, *, lab: Any = None, seeds: Any = DEFAULT_SEEDS,
                 epochs: Any = None, batch_size: Any = None, learning_rate: Any = None,
                 strategies: Sequence[str] = STRATEGY_CHOICES) -> None:
        from mtl_kit import balancing

        if isinstance(strategies, str) or not isinstance(strategies, Sequence) \
                or not strategies:
            raise TypeError(f"strategies must be a non-empty list out of {STRATEGY_CHOICES}, "
                            f"got {strategies!r}")
        unknown = [s for s in strategies if s not in STRATEGY_CHOICES]
        if unknown or len(set(strategies)) != len(strategies):
            raise ValueError(f"strategies must be distinct names out of {STRATEGY_CHOICES}, "
                             f"got {list(strategies)}")
        if lab is None:
            check_data(data)
            lab = balancing.StrategyLab(
                data, seeds=seeds,
                epochs=balancing.DEFAULT_EPOCHS if epochs is None else epochs,
                batch_size=balancing.DEFAULT_BATCH_SIZE if batch_size is None else batch_size,
                learning_rate=(balancing.DEFAULT_LEARNING_RATE if learning_rate is None
                               else learning_rate))
        elif not isinstance(lab, balancing.StrategyLab):
            raise TypeError(f"lab must be a mtl_kit.balancing.StrategyLab, "
                            f"got {type(lab).__name__}")
        elif data is not lab.data:
            raise ValueError("data must be the lab's data (lab.data): the runs train on it")
        elif any(v is not None for v in (epochs, batch_size, learning_rate)):
            raise ValueError("epochs, batch_size and learning_rate are the lab's; leave them "
                             "out when you pass lab")
        self.lab = lab
        self.data = lab.data
        self.strategies = list(strategies)
        self.seeds = lab.seeds
        self.epochs = lab.epochs
        self.tasks = list(_as_tasks(self.data.tasks))
        self.task_names = [t.name for t in self.tasks]
        self._reference: Any = None
        self._users = None

    def knob(self, strategy: str) -> Any:
        """The strategy's ``mtl_kit.balancing.Knob``, or None (uncertainty, PCGrad, MGDA)."""
        from mtl_kit.balancing import KNOBS

        return KNOBS.get(self._check_strategy(strategy))

    def _check_strategy(self, strategy: Any) -> str:
        if strategy not in self.strategies:
            raise ValueError(f"strategy must be one of {self.strategies}, got {strategy!r}")
        return strategy

    def settings(self, strategy: str, value: Any = None) -> Any:
        """A checked ``Setting`` (value None: the knob's default; none for knob-less ones)."""
        from mtl_kit.balancing import Setting

        self._check_strategy(strategy)
        if value is not None and self.knob(strategy) is None:
            raise ValueError(f"{strategy} has no hyperparameter to set (got {value!r})")
        return Setting(strategy, value)

    def is_built(self, setting: Any) -> bool:
        return self.lab.is_built(setting.strategy, diagnostics=True)

    def train(self, setting: Any) -> Any:
        """Train ``setting`` over the K seeds (task gradients and validation losses logged
        every epoch); a ``StrategyRun``."""
        return self.lab.train(setting, diagnostics=True, validate=True)

    def reference_run(self) -> Any:
        """Fixed λ = 1 for every task, with the lab's budget (trained on first use)."""
        from mtl_kit.balancing import Setting

        if self._reference is None:
            self._reference = self.lab.train(
                Setting("fixed", lambdas={t: 1.0 for t in self.task_names}), diagnostics=True,
                validate=True)
        return self._reference

    @property
    def has_reference(self) -> bool:
        return self._reference is not None

    def comparison(self, run: Any) -> Comparison:
        """This run, fixed λ = 1 and single-task on validation, as the lessons score."""
        from mtl_kit.balancing import comparison

        return comparison({THIS_RUN: run, FIXED_REFERENCE: self.reference_run()}, self.data,
                          "val")

    def table(self, run: Any) -> pd.DataFrame:
        """Per task: this run's mean [low, high]; single-task's and fixed λ = 1's means; this
        − single-task and this − fixed λ = 1, paired, with intervals and verdicts; plus a row
        ``Δm`` (vs single-task and vs fixed λ = 1, in %). Validation split, 95 % intervals."""
        from mtl_kit.experiments import verdict
        from mtl_kit.tasks import HIGHER_IS_BETTER

        result = self.comparison(run)
        rows = []
        for spec in self.tasks:
            name, metric = spec.name, spec.primary_metric
            this = result.estimate(THIS_RUN, name)
            row = {"task": name, "metric": metric, "mean": this.mean, "low": this.low,
                   "high": this.high}
            for reference, key in ((SINGLE_TASK, "single-task"), (FIXED_REFERENCE, "fixed λ")):
                diff = result.difference(THIS_RUN, name, reference=reference)
                row.update({key: result.estimate(reference, name).mean,
                            f"vs {key}": diff.mean, f"vs {key} low": diff.low,
                            f"vs {key} high": diff.high,
                            f"vs {key} verdict": verdict(diff, HIGHER_IS_BETTER[metric])})
            rows.append(row)
        row = {"task": "Δm", "metric": "%", "mean": math.nan, "low": math.nan,
               "high": math.nan, "single-task": 0.0}
        for reference, key in ((SINGLE_TASK, "single-task"), (FIXED_REFERENCE, "fixed λ")):
            diff = result.delta_m(THIS_RUN, reference=reference)
            row.update({f"vs {key}": diff.mean, f"vs {key} low": diff.low,
                        f"vs {key} high": diff.high, f"vs {key} verdict": verdict(diff)})
        row["fixed λ"] = result.delta_m(FIXED_REFERENCE).mean
        rows.append(row)
        return pd.DataFrame(rows).set_index("task")


def _as_tasks(tasks: Any) -> list:
    from mtl_kit.tasks import as_tasks

    return list(as_tasks(tasks))


def strategy_logic(data: Any, *, lab: Any = None, seeds: Any = DEFAULT_SEEDS,
                   epochs: Any = None, batch_size: Any = None, learning_rate: Any = None,
                   strategies: Sequence[str] = STRATEGY_CHOICES) -> StrategyLogic:
    return StrategyLogic(data, lab=lab, seeds=seeds, epochs=epochs, batch_size=batch_size,
                         learning_rate=learning_rate, strategies=strategies)


__all__ = [
    "ARCHITECTURES",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_BETAS",
    "DEFAULT_EPOCHS",
    "DEFAULT_SEEDS",
    "FIXED_REFERENCE",
    "RELATEDNESS_MODELS",
    "RELATEDNESS_VALUES",
    "STRATEGY_CHOICES",
    "ExplorerLogic",
    "ExplorerRun",
    "RelatednessLogic",
    "RelatednessRun",
    "Settings",
    "StrategyLogic",
    "feature_sharing_logic",
    "fit_k_seeds",
    "hard_sharing_logic",
    "history_bands",
    "relatedness_logic",
    "soft_sharing_logic",
    "strategy_logic",
    "threshold_report",
]
