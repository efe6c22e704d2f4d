"""Loss-balancing strategies side by side, each with the same budget (lesson 8).

``mtl_kit.weighting`` holds the strategies; this module runs them the way an experiment must:
every strategy trains the *same* architecture from the *same* K seeds for the *same* number of
epochs, batch size and learning rate, and every run is scored with the lessons' paired
intervals (``mtl_kit.experiments.Comparison``).

* A :class:`Setting` is a strategy and the value of its one knob (:data:`KNOBS`): λ of the
  last task for fixed λ (the others keep λ = 1), T for DWA, α for GradNorm, c for CAGrad;
  uncertainty weighting, PCGrad and MGDA have none.
* A :class:`StrategyLab` builds one compiled model per strategy (on first use; a strategy is a
  layer with variables of its own, so switching strategy switches model) and trains a setting
  over K seeds with ``mtl_kit.seed_runs.fit_seeds`` (all seeds at once on JAX; DWA, which
  changes its weights between epochs, one seed after the other). A knob is a variable of the
  strategy read by the compiled step (λ, α, c) or a number read between epochs (T): changing
  it retrains without recompiling.
* A :class:`StrategyRun` keeps each seed's history and final weights; ``run.predictions(split)``
  predicts a split when it is first asked for, so the test split is only touched when a lesson
  reports its final numbers.
* :func:`comparison` turns runs into a ``Comparison`` together with the course's single-task
  baselines (cached on disk): ``estimate``, ``difference`` (paired, e.g. against fixed λ),
  ``delta_m`` and ``summary`` then apply as in every lesson.

Every model logs its task gradients when ``diagnostics`` asks for it
(``compile(gradient_diagnostics=True)``; gradient-level strategies always do): each epoch's
``<task>_grad_norm`` = ‖g_t‖ on the shared parameters, ``grad_cosine_<a>_<b>`` and
``<task>_weight``. It costs one backward pass per task, which loss-level strategies otherwise
do not pay.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mtl_kit.experiments import (
    SINGLE_TASK,
    Comparison,
    SeedRun,
    TrainingPlan,
    check_seeds,
    single_task_runs,
)
from mtl_kit.seed_runs import fit_seeds
from mtl_kit.validation import check_choice, check_flag, check_int, check_number
from mtl_kit.weighting import STRATEGIES

#: The lab's defaults (also the strategy explorer's): K seeds, epochs, batch size, Adam's rate.
#: Three times the course's default learning rate and batch size 512, so that 8 epochs reach
#: what the course's early-stopped runs reach and a click of the explorer takes about a second.
DEFAULT_SEEDS = 5
DEFAULT_EPOCHS = 8
DEFAULT_BATCH_SIZE = 512
DEFAULT_LEARNING_RATE = 3e-3
#: Rows of the validation split whose losses are logged after every epoch (``validate=True``):
#: a fixed random sample, enough for a smooth curve at a fraction of the cost of all ~30,000
#: rows; predictions and every score use the whole split.
DEFAULT_VALIDATION_ROWS = 8192

#: The architectures a lab can build (all share parameters, which gradient strategies need).
ARCHITECTURES = {"hard": "build_hard_sharing", "MMoE": "build_mmoe", "PLE": "build_ple"}

#: The single-task reference is trained as every lesson trains it.
REFERENCE_PLAN = TrainingPlan()

#: Strategies that combine task gradients (one backward pass per task).
GRADIENT_LEVEL = tuple(name for name, kind in STRATEGIES.items() if kind.needs_task_gradients)

#: Display names of the strategies.
NAMES = {"fixed": "fixed λ", "uncertainty": "uncertainty weighting", "dwa": "DWA",
         "gradnorm": "GradNorm", "pcgrad": "PCGrad", "mgda": "MGDA", "cagrad": "CAGrad"}


@dataclass(frozen=True)
class Knob:
    """A strategy's one hyperparameter.

    Attributes:
        symbol: how the lessons write it ("λ", "T", "α", "c").
        attribute: the strategy's attribute that holds it (None: fixed λ, set with
            ``set_loss_weights``).
        default: the paper's value (fixed λ: 1).
        choices: the values the explorer offers, increasing.
        minimum, low_open: the allowed range's lower end (no upper end).
        meaning: one line for learners.
    """

    symbol: str
    attribute: str | None
    default: float
    choices: tuple[float, ...]
    minimum: float
    low_open: bool
    meaning: str


#: Each tunable strategy's knob.
KNOBS: dict[str, Knob] = {
    "fixed": Knob("λ", None, 1.0, (1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0), 0.0, False,
                  "the last task's weight λ (the other tasks keep λ = 1)"),
    "dwa": Knob("T", "temperature", 2.0, (0.5, 1.0, 2.0, 5.0, 10.0), 0.0, True,
                "the temperature of DWA's softmax (large T: equal weights)"),
    "gradnorm": Knob("α", "alpha", 1.5, (0.0, 0.5, 1.0, 1.5, 2.0, 3.0), 0.0, False,
                     "how hard GradNorm pulls slow tasks up (0: equal gradient norms)"),
    "cagrad": Knob("c", "c", 0.4, (0.0, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0), 0.0, False,
                   "the radius around the mean gradient (0: the mean; large: toward MGDA)"),
}


def format_value(value: float) -> str:
    """A knob's value for labels: ``0.4``, ``1e-04`` (``g`` format)."""
    return f"{value:g}"


@dataclass(frozen=True)
class Setting:
    """A strategy and its knob's value (None: the knob's default; strategies without a knob
    take None). ``lambdas`` gives fixed λ's full ``{task: λ}`` instead of the knob."""

    strategy: str
    value: float | None = None
    lambdas: tuple[tuple[str, float], ...] | None = None

    def __post_init__(self):
        check_choice("strategy", self.strategy, tuple(STRATEGIES))
        if self.lambdas is not None:
            if self.strategy != "fixed":
                raise ValueError(f"lambdas set fixed λ's weights; strategy {self.strategy!r} "
                                 f"has none")
            if self.value is not None:
                raise ValueError("give either value (λ of the last task) or lambdas, not both")
            pairs = dict(self.lambdas)
            object.__setattr__(self, "lambdas", tuple(
                (str(t), check_number(f"lambdas[{t!r}]", v, minimum=0.0))
                for t, v in pairs.items()))
        if self.value is None:
            return
        if self.strategy not in KNOBS:
            raise ValueError(f"strategy {self.strategy!r} has no hyperparameter; only "
                             f"{sorted(KNOBS)} take a value")
        knob = KNOBS[self.strategy]
        object.__setattr__(self, "value", check_number(
            f"{self.strategy} {knob.symbol}", self.value, minimum=knob.minimum,
            low_open=knob.low_open))

    @property
    def knob_value(self) -> float | None:
        """The value the knob takes (its default when ``value`` is None)."""
        if self.strategy not in KNOBS or self.lambdas is not None:
            return None
        return KNOBS[self.strategy].default if self.value is None else self.value

    def label(self, task_names: Sequence[str] = ()) -> str:
        """e.g. ``"fixed λ"``, ``"fixed λ (λ_dwell = 0.01)"``, ``"CAGrad (c = 0.4)"``."""
        name = NAMES[self.strategy]
        if self.lambdas is not None:
            return f"{name} ({', '.join(f'λ_{t} = {format_value(v)}' for t, v in self.lambdas)})"
        if self.strategy == "fixed":
            if self.knob_value == 1.0:
                return name
            last = task_names[-1] if task_names else "last task"
            return f"{name} (λ_{last} = {format_value(self.knob_value)})"
        if self.strategy in KNOBS:
            return f"{name} ({KNOBS[self.strategy].symbol} = {format_value(self.knob_value)})"
        return name


# --------------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------------
@dataclass
class StrategyRun:
    """One setting trained over K seeds: histories, training time, trained weights.

    Attributes:
        setting: what was trained.
        seeds: the seeds, in order.
        epochs, batch_size: each seed's budget.
        histories: per seed, the logs of ``fit`` (``"<task>_loss"``, ``"val_…"``, and with
            diagnostics ``"<task>_grad_norm"``, ``"<task>_weight"``, ``"grad_cosine_<a>_<b>"``).
        seconds: wall-clock seconds of the training call (all seeds; the first run of a model
            includes compiling it: see ``StrategyLab.seconds_per_epoch`` for a warm timing).
    """

    setting: Setting
    seeds: tuple[int, ...]
    epochs: int
    batch_size: int
    histories: list[dict[str, list[float]]]
    seconds: float
    runs: Any = field(repr=False)  # the ``mtl_kit.seed_runs.SeedRuns``
    data: Any = field(repr=False)
    _predictions: dict[str, list[dict[str, np.ndarray]]] = field(default_factory=dict,
                                                                  repr=False)
    #: (split, task, metric) -> (metric per seed, per-row influences): kept across comparisons
    _influences: dict[tuple[str, str, str], Any] = field(default_factory=dict, repr=False)

    def predictions(self, split: str) -> list[dict[str, np.ndarray]]:
        """Per seed ``{task: predictions}`` on ``"val"`` or ``"test"`` (computed once)."""
        check_choice("split", split, ("val", "test"))
        if split not in self._predictions:
            x = self.data.split_arrays(split)[0]
            out = self.runs.predict(x)
            self._predictions[split] = [dict(out[seed]) for seed in self.seeds]
        return self._predictions[split]

    def seed_runs(self, split: str) -> list[SeedRun]:
        """As ``mtl_kit.experiments.SeedRun`` objects, with predictions on ``split``."""
        return [SeedRun(history, self.epochs, {split: predictions})
                for history, predictions in zip(self.histories, self.predictions(split),
                                                strict=True)]

    def curve(self, key: str) -> np.ndarray:
        """``key``'s values, one row per seed and one column per epoch (K, epochs)."""
        if key not in self.histories[0]:
            raise KeyError(f"{key!r} was not logged; logged: {sorted(self.histories[0])}")
        return np.array([h[key] for h in self.histories], dtype="float64")

    @property
    def diverged(self) -> bool:
        """True when a logged loss of some seed is NaN or infinite."""
        return not all(math.isfinite(v) for h in self.histories for k, values in h.items()
                       if k.endswith("loss") for v in values)


# --------------------------------------------------------------------------------------------
# The lab
# --------------------------------------------------------------------------------------------
class StrategyLab:
    """One architecture, one data set, one budget; a compiled model per strategy.

    Args:
        data: a ``CourseData`` (``mtl_kit.course.course_data(tasks)``).
        seeds: K (seeds 0 … K-1) or a list of seeds.
        epochs, batch_size: each seed's budget (a fixed number of epochs: no early stopping,
            so every strategy trains exactly as long).
        learning_rate: Adam's learning rate of every model.
        architecture: ``"hard"`` (default), ``"MMoE"`` or ``"PLE"``.
        build_kwargs: extra arguments of the builder (e.g. ``{"shared": (64, 32)}``).
        diagnostics: log the task gradients (norms, cosine, weights) for every strategy
            (True), for none but the gradient-level ones (False), or for the strategies named.
        validate: log the validation losses after every epoch (True: the explorer's curves)
            or only predict the validation split once, when it is asked for (False: cheaper).
        validation_rows: how many validation rows (a fixed random sample) the per-epoch
            validation losses use; None: all of them. Predictions and scores use every row.
    """

    def __init__(self, data: Any, *, seeds: Any = DEFAULT_SEEDS, epochs: Any = DEFAULT_EPOCHS,
                 batch_size: Any = DEFAULT_BATCH_SIZE,
                 learning_rate: Any = DEFAULT_LEARNING_RATE, architecture: str = "hard",
                 build_kwargs: Mapping[str, Any] | None = None,
                 diagnostics: bool | Collection[str] = True, validate: bool = True,
                 validation_rows: int | None = DEFAULT_VALIDATION_ROWS) -> None:
        needs = ("x_train", "y_train", "x_val", "y_val", "split_arrays", "users", "tasks",
                 "features")
        missing = [name for name in needs if not hasattr(data, name)]
        if missing:
            raise TypeError(f"data must be a CourseData from mtl_kit.course.course_data(tasks), "
                            f"got {type(data).__name__} (it has no {', '.join(missing)})")
        if len(data.tasks) < 2:
            raise ValueError(f"data must have at least two tasks to balance, got {data.tasks}")
        self.data = data
        self.seeds = check_seeds(seeds)
        self.epochs = check_int("epochs", epochs, minimum=1)
        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        self.learning_rate = check_number("learning_rate", learning_rate, minimum=0.0,
                                          low_open=True)
        self.architecture = check_choice("architecture", architecture, tuple(ARCHITECTURES))
        if build_kwargs is not None and not isinstance(build_kwargs, Mapping):
            raise TypeError(f"build_kwargs must be a dict of builder arguments, "
                            f"got {type(build_kwargs).__name__}")
        self.build_kwargs = dict(build_kwargs or {})
        if isinstance(diagnostics, (bool, np.bool_)):
            self.diagnostics = frozenset(STRATEGIES) if diagnostics else frozenset()
        else:
            if isinstance(diagnostics, str):
                diagnostics = [diagnostics]
            for name in diagnostics:
                check_choice("diagnostics", name, tuple(STRATEGIES))
            self.diagnostics = frozenset(diagnostics)
        self.validate = check_flag("validate", validate)
        self.validation_rows = (None if validation_rows is None
                                else check_int("validation_rows", validation_rows, minimum=1))
        self._validation_sample: tuple[Any, Any] | None = None
        self.task_names = tuple(data.tasks)
        self.models: dict[tuple[str, bool], Any] = {}
        self._trained: set[tuple[str, bool]] = set()  # models whose epoch is compiled

    def __repr__(self) -> str:
        return (f"StrategyLab({self.architecture}, tasks={self.task_names}, seeds={self.seeds}, "
                f"epochs={self.epochs}, batch_size={self.batch_size}, "
                f"learning_rate={self.learning_rate:g})")

    def logs_gradients(self, strategy: str, diagnostics: bool | None = None) -> bool:
        """Whether ``strategy``'s model logs task gradients (gradient-level ones always do)."""
        if strategy in GRADIENT_LEVEL:
            return True
        return strategy in self.diagnostics if diagnostics is None else bool(diagnostics)

    def is_built(self, strategy: str, diagnostics: bool | None = None) -> bool:
        return (strategy, self.logs_gradients(strategy, diagnostics)) in self.models

    def model(self, strategy: str, diagnostics: bool | None = None) -> Any:
        """The compiled model of ``strategy`` (built on first use, then kept).

        ``diagnostics`` overrides the lab's choice for a loss-level strategy (a model with and
        one without diagnostics are two models)."""
        check_choice("strategy", strategy, tuple(STRATEGIES))
        key = (strategy, self.logs_gradients(strategy, diagnostics))
        if key not in self.models:
            import mtl_kit.models as models_module

            builder = getattr(models_module, ARCHITECTURES[self.architecture])
            self.models[key] = builder(
                self.data.tasks, self.data.features, seed=self.seeds[0], weighting=strategy,
                learning_rate=self.learning_rate,
                gradient_diagnostics=key[1] and strategy not in GRADIENT_LEVEL,
                **self.build_kwargs)
        return self.models[key]

    def apply(self, setting: Setting, diagnostics: bool | None = None) -> Any:
        """Put ``setting`` into its strategy's model (no recompile) and return the model."""
        if not isinstance(setting, Setting):
            raise TypeError(f"setting must be a Setting, got {type(setting).__name__}")
        model = self.model(setting.strategy, diagnostics)
        if setting.strategy == "fixed":
            if setting.lambdas is not None:
                unknown = [t for t, _ in setting.lambdas if t not in self.task_names]
                if unknown:
                    raise ValueError(f"lambdas names unknown task(s) {unknown}; the tasks are "
                                     f"{self.task_names}")
                weights = {t: 1.0 for t in self.task_names}
                weights.update(dict(setting.lambdas))
            else:
                weights = {t: 1.0 for t in self.task_names}
                weights[self.task_names[-1]] = setting.knob_value
            if all(v == 0.0 for v in weights.values()):
                raise ValueError("every λ is 0: nothing would be learned; raise one")
            model.set_loss_weights(weights)
        elif setting.strategy in KNOBS:
            setattr(model.weighting, KNOBS[setting.strategy].attribute, setting.knob_value)
        return model

    def train(self, setting: Setting | str, diagnostics: bool | None = None,
              validate: bool | None = None) -> StrategyRun:
        """Train ``setting`` (or a strategy name, at its default) over the lab's seeds.

        Each seed starts from its own initial weights and a fresh strategy state; all seeds
        see the same batches (``fit_seeds``). ``diagnostics`` and ``validate`` override the
        lab's choices for this run."""
        if isinstance(setting, str):
            setting = Setting(setting)
        validate = self.validate if validate is None else check_flag("validate", validate)
        model = self.apply(setting, diagnostics)
        y_train = {t: self.data.y_train[t] for t in self.task_names}
        start = time.perf_counter()
        runs = fit_seeds(model, self.seeds, self.data.x_train, y_train, epochs=self.epochs,
                         batch_size=self.batch_size,
                         validation_data=self.validation_sample() if validate else None)
        seconds = time.perf_counter() - start
        self._trained.add((setting.strategy, self.logs_gradients(setting.strategy,
                                                                 diagnostics)))
        histories = [runs.history(seed) for seed in self.seeds]
        return StrategyRun(setting, self.seeds, self.epochs, self.batch_size, histories,
                           seconds, runs, self.data)

    def validation_sample(self) -> tuple[dict, dict]:
        """``(x, y)`` of the validation rows whose losses are logged every epoch: all of them,
        or ``validation_rows`` rows drawn once (seed 0, in their original order)."""
        if self._validation_sample is None:
            x_val = self.data.x_val
            y_val = {t: self.data.y_val[t] for t in self.task_names}
            n_rows = len(y_val[self.task_names[0]])
            if self.validation_rows is not None and self.validation_rows < n_rows:
                rows = np.sort(np.random.default_rng(0).choice(n_rows, self.validation_rows,
                                                               replace=False))
                x_val = {name: values[rows] for name, values in x_val.items()}
                y_val = {name: values[rows] for name, values in y_val.items()}
            self._validation_sample = (x_val, y_val)
        return self._validation_sample

    def seconds_per_epoch(self, strategy: str, diagnostics: bool | None = None,
                          repeats: int = 1) -> float:
        """Warm wall-clock seconds of one training epoch of all K seeds (no validation pass),
        the median of ``repeats`` (the model is compiled first if it never trained)."""
        repeats = check_int("repeats", repeats, minimum=1)
        model = self.model(strategy, diagnostics)
        y_train = {t: self.data.y_train[t] for t in self.task_names}
        key = (strategy, self.logs_gradients(strategy, diagnostics))
        if key not in self._trained:  # compile first: the timing is of a warm epoch
            fit_seeds(model, self.seeds, self.data.x_train, y_train, epochs=1,
                      batch_size=self.batch_size)
            self._trained.add(key)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fit_seeds(model, self.seeds, self.data.x_train, y_train, epochs=1,
                      batch_size=self.batch_size)
            times.append(time.perf_counter() - start)
        return float(np.median(times))


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------
class StrategyComparison(Comparison):
    """A ``Comparison`` of strategy runs that does the work only once per run.

    A lesson scores the same run in several tables; here each run keeps its per-row
    influences (``StrategyRun``), and the ``scores`` table (every metric of every run and seed,
    which the intervals do not need) is built when it is first read."""

    def __post_init__(self):
        self._scores = None
        self._sources: dict[str, StrategyRun] = {}

    @property
    def scores(self) -> Any:
        if self._scores is None:
            Comparison.__post_init__(self)  # assigns self.scores
        return self._scores

    @scores.setter
    def scores(self, value: Any) -> None:
        self._scores = value

    def influences(self, model: str, task: str, metric: str) -> tuple[np.ndarray, np.ndarray]:
        run = self._sources.get(model)
        if run is None:
            return super().influences(model, task, metric)
        key = (self.split, task, metric)
        if key not in run._influences:
            run._influences[key] = super().influences(model, task, metric)
        return run._influences[key]


def comparison(runs: Mapping[str, StrategyRun], data: Any, split: str = "val",
               reference: str = SINGLE_TASK, confidence: float = 0.95) -> StrategyComparison:
    """The runs and the course's single-task baselines as one ``Comparison`` on ``split``.

    Args:
        runs: ``{name: StrategyRun}``, all over the same seeds.
        data: the ``CourseData`` the runs trained on.
        split: ``"val"`` (choose here) or ``"test"`` (report the choices once).
        reference: the default reference of paired differences: ``"single-task"`` or a name
            of ``runs`` (e.g. fixed λ's).
    """
    check_choice("split", split, ("val", "test"))
    if not isinstance(runs, Mapping) or not runs:
        raise TypeError("runs must be a non-empty dict {name: StrategyRun}")
    for name, run in runs.items():
        if not isinstance(run, StrategyRun):
            raise TypeError(f"runs[{name!r}] must be a StrategyRun, got {type(run).__name__}")
    if SINGLE_TASK in runs:
        raise ValueError(f"{SINGLE_TASK!r} is the built-in reference; name your run otherwise")
    seeds = next(iter(runs.values())).seeds
    different = [name for name, run in runs.items() if run.seeds != seeds]
    if different:
        raise ValueError(f"runs must share their seeds; {different} differ from {seeds}")
    if reference != SINGLE_TASK and reference not in runs:
        raise ValueError(f"reference must be {SINGLE_TASK!r} or one of {list(runs)}, "
                         f"got {reference!r}")
    from mtl_kit.tasks import as_tasks

    tasks = list(as_tasks(data.tasks))
    per_task = {t.name: single_task_runs(t, data, seeds, REFERENCE_PLAN) for t in tasks}
    all_runs = {SINGLE_TASK: [
        SeedRun({}, 0, {split: {t: per_task[t][k].predictions[split][t] for t in per_task}})
        for k in range(len(seeds))]}
    for name, run in runs.items():
        all_runs[name] = run.seed_runs(split)
    y_true = data.split_arrays(split)[1]
    result = StrategyComparison(split, seeds, tasks, {t.name: y_true[t.name] for t in tasks},
                                data.users(split), all_runs, reference, confidence)
    result._sources = dict(runs)
    return result


__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_EPOCHS",
    "DEFAULT_LEARNING_RATE",
    "DEFAULT_SEEDS",
    "DEFAULT_VALIDATION_ROWS",
    "GRADIENT_LEVEL",
    "KNOBS",
    "NAMES",
    "Knob",
    "Setting",
    "StrategyComparison",
    "StrategyLab",
    "StrategyRun",
    "comparison",
]
