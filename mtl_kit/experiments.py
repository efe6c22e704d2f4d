"""Experiments a learner can trust: several seeds, paired comparisons, selection on validation.

One training run is an anecdote. ``compare`` trains each named model over K seeds (default 5),
each run stopped early on the validation loss with its best weights restored, scores every
run on one split, and returns a :class:`Comparison`:

* ``scores``: a tidy frame (model, task, metric, seed, value), from ``mtl_kit.metrics``;
* ``summary()``: each model's mean with its 95 % interval (over test users *and* seeds);
* ``paired()``: each model's difference to a reference (by default one single-task model per
  task, ``"single-task"``), paired on the same rows and seeds, with its interval and a verdict:
  ``"better"``, ``"worse"`` or ``"no difference we can detect"``.

The intervals are explained in :mod:`mtl_kit.intervals`.

**The honest path is the short one.** ``compare`` scores the *validation* split unless you ask
for ``split="test"``: choose λ, β, architectures and strategies there (``Comparison.best``),
then run the chosen ones once with ``split="test"`` for the numbers you report::

    candidates = {f"λ={lam}": hard_with_purchase_weight(lam) for lam in (0.5, 1, 2, 4)}
    chosen = compare(candidates, data).best("purchase")          # on validation
    final = compare({chosen: candidates[chosen]}, data, split="test")
    final.paired()                                               # vs single-task, on test

**Builders.** A model is given as a *builder*, ``seed -> compiled MultiTaskNet`` (e.g.
``lambda seed: build_hard_sharing(tasks, data.features, seed=seed)``). ``compare`` calls it once
and re-initialises that compiled model for every seed (``MultiTaskNet.reseed``: exactly the
weights ``builder(seed)`` would give), so K seeds cost one compile. A builder may return the same
model object each time after changing its λ or β: the runs start from the seed's weights anyway.

**Single-task baselines** are trained once per task and seed for the course's data and training
plan and kept on disk (``~/.cache/mtl_kit/baselines``; ``MTL_KIT_CACHE=off`` turns it off), so
every lesson compares against the same numbers.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from mtl_kit.intervals import (
    Estimate,
    check_confidence,
    check_metric,
    influence,
    seed_interval,
)
from mtl_kit.metrics import evaluate_tasks
from mtl_kit.tasks import HIGHER_IS_BETTER, TaskSpec, as_tasks
from mtl_kit.weighting.fixed import FixedWeights

#: The name of the reference made of one single-task model per task.
SINGLE_TASK = "single-task"
SPLITS = ("val", "test")
Builder = Callable[[int], object]


@dataclass(frozen=True)
class TrainingPlan:
    """How every run is trained: up to ``max_epochs`` epochs, stopped when the validation loss
    has not improved for ``patience`` epochs, then back to the best epoch's weights (for a
    strategy that learns its weights, the unweighted Σ_t L_t(val): :class:`ValidationStopping`)."""

    max_epochs: int = 20
    patience: int = 2
    batch_size: int = 256

    def __post_init__(self):
        for name, minimum in (("max_epochs", 1), ("patience", 0), ("batch_size", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{name} must be an int >= {minimum}, got {value!r}")
            if value < minimum:
                raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")


def check_seeds(seeds: object) -> tuple[int, ...]:
    """K (an int >= 1: seeds 0 … K-1) or a sequence of distinct ints >= 0."""
    if isinstance(seeds, bool):
        raise TypeError(f"seeds must be an int K >= 1 or a list of seeds, got {seeds!r}")
    if isinstance(seeds, (int, np.integer)):
        if seeds < 1:
            raise ValueError(f"seeds must be an int K >= 1 (the number of seeds), got {seeds}")
        return tuple(range(int(seeds)))
    if not isinstance(seeds, Sequence) or isinstance(seeds, str) or not seeds:
        raise TypeError(f"seeds must be an int K >= 1 or a non-empty list of ints, got {seeds!r}")
    if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0 for s in seeds):
        raise ValueError(f"seeds must be ints >= 0, got {list(seeds)!r}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {list(seeds)!r}")
    return tuple(int(s) for s in seeds)


# --------------------------------------------------------------------------------------------
# One model over K seeds
# --------------------------------------------------------------------------------------------
@dataclass
class SeedRun:
    """One trained run: its history, the epoch whose weights it kept, its predictions."""

    history: dict[str, list[float]]
    best_epoch: int
    predictions: dict[str, dict[str, np.ndarray]]  # split -> task -> prediction


class ValidationStopping(keras.callbacks.EarlyStopping):
    """Early stopping on the validation objective *at fixed weights*.

    With fixed λ it watches ``val_loss`` = Σ_t λ_t L_t(val), the objective being trained. A
    strategy that moves its own weights (uncertainty weighting, DWA, GradNorm, …) would move that
    number by moving the weights: uncertainty's R = ½ Σ_t log σ_t² keeps falling, DWA's weights
    jump every epoch. For those it watches the unweighted sum Σ_t L_t(val) of the
    ``val_<task>_loss`` logs, so the epoch kept is the one whose task losses were best,
    whatever the weights did.
    """

    def __init__(self, tasks: Sequence[str] | None, patience: int):
        self.tasks = None if tasks is None else list(tasks)
        super().__init__(monitor="val_loss" if tasks is None else "val_task_loss_sum",
                         mode="min", patience=patience, restore_best_weights=True)

    def get_monitor_value(self, logs):
        if self.tasks is None:
            return super().get_monitor_value(logs)
        logs = logs or {}
        missing = [f"val_{t}_loss" for t in self.tasks if f"val_{t}_loss" not in logs]
        if missing:
            raise KeyError(f"early stopping needs {missing} in the epoch's logs; found "
                           f"{sorted(logs)}")
        return float(sum(logs[f"val_{t}_loss"] for t in self.tasks))


def early_stopping(plan: TrainingPlan, model=None) -> ValidationStopping:
    """The plan's early stopping for ``model``: on ``val_loss`` for fixed weights, on the
    unweighted Σ_t L_t(val) for a strategy that changes its weights
    (:class:`ValidationStopping`)."""
    weighting = getattr(model, "weighting", None)
    fixed = weighting is None or isinstance(weighting, FixedWeights)
    tasks = None if fixed else list(model.task_names)
    return ValidationStopping(tasks, plan.patience)


def train_seeds(builder: Builder, data, seeds: Sequence[int], plan: TrainingPlan,
                splits: Sequence[str] = SPLITS, y_train=None) -> list[SeedRun]:
    """Train ``builder``'s model once per seed with early stopping on validation; predict
    ``splits``. ``y_train`` replaces the training labels (e.g. one task's)."""
    model = builder(seeds[0])
    if not hasattr(model, "reseed"):
        raise TypeError(f"a builder must return a compiled MultiTaskNet, got "
                        f"{type(model).__name__}")
    y_train = data.y_train if y_train is None else y_train
    runs = []
    for seed in seeds:
        model.reseed(seed)
        stopper = early_stopping(plan, model)
        history = model.fit(data.x_train, y_train, validation_data=(data.x_val, data.y_val),
                            epochs=plan.max_epochs, batch_size=plan.batch_size,
                            callbacks=[stopper])
        predictions = {split: model.predict_tasks(data.split_arrays(split)[0])
                       for split in splits}
        runs.append(SeedRun(dict(history.history), int(stopper.best_epoch) + 1, predictions))
    return runs


# --------------------------------------------------------------------------------------------
# Single-task baselines, computed once per task and seed
# --------------------------------------------------------------------------------------------
def _cache_dir() -> Path | None:
    if os.environ.get("MTL_KIT_CACHE", "").lower() in ("off", "0", "false", "no"):
        return None
    return Path(os.environ.get("MTL_KIT_CACHE_DIR", Path.home() / ".cache" / "mtl_kit"))


def _fingerprint(*parts) -> str:
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, Mapping):
            for key in sorted(part):
                digest.update(str(key).encode())
                digest.update(_fingerprint(part[key]).encode())
        elif isinstance(part, np.ndarray):
            digest.update(np.ascontiguousarray(part).tobytes())
        else:
            digest.update(repr(part).encode())
    return digest.hexdigest()[:20]


#: The code a single-task baseline's numbers depend on (an edit there invalidates the cache).
TRAINING_CODE = ("models", "data", "tasks.py", "inputs.py", "training.py", "epoch_loop.py",
                 "weighting", "backend.py", "course.py", "experiments.py")


def _package_fingerprint() -> str:
    package = Path(__file__).parent
    files: list[Path] = []
    for part in TRAINING_CODE:
        path = package / part
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return _fingerprint(*[p.read_bytes() for p in files])


_BASELINES: dict[str, SeedRun] = {}


def single_task_runs(task: TaskSpec, data, seeds: Sequence[int], plan: TrainingPlan,
                     hidden: Sequence[int] = (64, 32)) -> list[SeedRun]:
    """One single-task model for ``task`` per seed (cached in memory and on disk)."""
    from mtl_kit.models import build_single_task

    key_parts = (task.to_config(), tuple(hidden), plan, data.x_train, data.y_train[task.name],
                 data.x_val, data.y_val[task.name], data.x_test, keras.backend.backend(),
                 keras.__version__, _package_fingerprint())
    key = _fingerprint(*key_parts)
    runs: list[SeedRun | None] = [_BASELINES.get(f"{key}-{seed}") for seed in seeds]
    folder = _cache_dir()
    for i, seed in enumerate(seeds):
        if runs[i] is None and folder is not None:
            runs[i] = _load_run(folder / "baselines" / f"{key}-{seed}.npz")
    missing = [seed for seed, run in zip(seeds, runs, strict=True) if run is None]
    if missing:
        labels = {task.name: data.y_train[task.name]}
        trained = train_seeds(
            lambda seed: build_single_task(task, data.features, hidden=hidden, seed=seed),
            data, missing, plan, y_train=labels)
        for seed, run in zip(missing, trained, strict=True):
            runs[seeds.index(seed)] = run
            if folder is not None:
                _save_run(folder / "baselines" / f"{key}-{seed}.npz", run)
    for seed, run in zip(seeds, runs, strict=True):
        _BASELINES[f"{key}-{seed}"] = run
    return runs


def _save_run(path: Path, run: SeedRun) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"{split}/{task}": value for split, tasks in run.predictions.items()
                  for task, value in tasks.items()}
        meta = json.dumps({"history": run.history, "best_epoch": run.best_epoch})
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")  # one per writing process
        np.savez(tmp, meta=np.array(meta), **arrays)
        tmp.replace(path)
    except OSError:
        pass  # a read-only home: the baselines are simply not kept


def _load_run(path: Path) -> SeedRun | None:
    if not path.exists():
        return None
    try:
        with np.load(path) as stored:
            meta = json.loads(str(stored["meta"]))
            predictions: dict[str, dict[str, np.ndarray]] = {}
            for name in stored.files:
                if name != "meta":
                    split, task = name.split("/", 1)
                    predictions.setdefault(split, {})[task] = stored[name]
    except (OSError, ValueError, KeyError):
        return None
    return SeedRun(meta["history"], int(meta["best_epoch"]), predictions)


# --------------------------------------------------------------------------------------------
# The comparison
# --------------------------------------------------------------------------------------------
@dataclass
class Comparison:
    """Several models, each over the same seeds, scored on one split (see the module doc).

    ``scores`` holds each task's default metrics; for binary tasks, accuracy, recall and F1
    there are at the fixed threshold 0.5 (on rare positives recall and F1 are then often 0:
    compare AUCs, or choose thresholds on validation with ``mtl_kit.evaluation.seed_thresholds``
    as lesson 07 does).
    """

    split: str
    seeds: tuple[int, ...]
    tasks: list[TaskSpec]
    y_true: dict[str, np.ndarray]
    users: np.ndarray
    runs: dict[str, list[SeedRun]]
    reference: str
    confidence: float = 0.95
    scores: pd.DataFrame = field(init=False)
    #: (model, task, metric) -> per-seed values and per-row influences, computed once
    _influences: dict = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self):
        rows = []
        for name, runs in self.runs.items():
            for seed, run in zip(self.seeds, runs, strict=True):
                with warnings.catch_warnings():  # recall and F1 here are at t = 0.5, as
                    warnings.simplefilter("ignore", UserWarning)  # documented: no warning
                    table = evaluate_tasks(run.predictions[self.split], None, self.y_true,
                                           self._tasks_of(name), overall=False)
                for row in table.itertuples():
                    rows.append({"model": name, "task": row.task, "metric": row.metric,
                                 "seed": seed, "value": row.value})
        self.scores = pd.DataFrame(rows, columns=["model", "task", "metric", "seed", "value"])

    # -- what a cell asks --------------------------------------------------------------------
    @property
    def models(self) -> list[str]:
        return list(self.runs)

    def _tasks_of(self, model: str) -> list[TaskSpec]:
        predicted = self.runs[model][0].predictions[self.split]
        return [t for t in self.tasks if t.name in predicted]

    def _task(self, task: str) -> TaskSpec:
        for spec in self.tasks:
            if spec.name == task:
                return spec
        raise ValueError(f"task must be one of {[t.name for t in self.tasks]}, got {task!r}")

    def _check_model(self, model: str, argument: str = "model") -> str:
        if model not in self.runs:
            raise ValueError(f"{argument} must be one of {self.models}, got {model!r}")
        return model

    def predictions(self, model: str, task: str) -> list[np.ndarray]:
        """The model's predictions for ``task`` on the split, one array per seed."""
        self._check_model(model)
        return [run.predictions[self.split][task] for run in self.runs[model]]

    def influences(self, model: str, task: str, metric: str) -> tuple[np.ndarray, np.ndarray]:
        """``(m_k, ψ_k)``: the model's metric on ``task`` per seed, and each row's influence
        on it (``mtl_kit.intervals.influence``), shape (K, rows); computed once and kept."""
        key = (self._check_model(model), task, metric)
        if key not in self._influences:
            spec = self._task(task)
            pairs = [influence(metric, spec.kind, self.y_true[task], prediction)
                     for prediction in self.predictions(model, task)]
            self._influences[key] = (np.array([value for value, _ in pairs]),
                                     np.stack([psi for _, psi in pairs]))
        return self._influences[key]

    def estimate(self, model: str, task: str, metric: str | None = None,
                 confidence: float | None = None) -> Estimate:
        """The model's mean ``metric`` on ``task`` over the seeds, with its interval."""
        spec = self._task(task)
        metric = check_metric(metric or spec.primary_metric, spec.kind, task)
        values, psis = self.influences(model, task, metric)
        return seed_interval(values, psis, self.users, confidence or self.confidence)

    def difference(self, model: str, task: str, metric: str | None = None,
                   reference: str | None = None, confidence: float | None = None) -> Estimate:
        """``model − reference`` on ``task``, paired on the same rows and seeds."""
        spec = self._task(task)
        metric = check_metric(metric or spec.primary_metric, spec.kind, task)
        reference = self._check_model(reference or self.reference, "reference")
        values, psis = self.influences(model, task, metric)
        ref_values, ref_psis = self.influences(reference, task, metric)
        return seed_interval(values - ref_values, psis - ref_psis, self.users,
                             confidence or self.confidence)

    def delta_m(self, model: str, reference: str | None = None,
                confidence: float | None = None) -> Estimate:
        """Δm = 100 % · (1/T) Σ_t s_t (M_t − B_t) / B_t over the model's tasks (each task's
        primary metric; s_t = +1 if higher is better), per seed, with its interval.

        The interval uses the same per-row influences as ``difference``, carried through the
        ratio by the delta method: ψ_Δm = 100/T Σ_t s_t (ψ_M,t / B_t − M_t ψ_B,t / B_t²).
        """
        reference = self._check_model(reference or self.reference, "reference")
        specs = self._tasks_of(model)
        values, psis = [], []
        for k in range(len(self.seeds)):
            total, psi = 0.0, np.zeros(self.users.size)
            for spec in specs:
                metric = spec.primary_metric
                sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
                m_values, m_psis = self.influences(model, spec.name, metric)
                b_values, b_psis = self.influences(reference, spec.name, metric)
                m, psi_m, b, psi_b = m_values[k], m_psis[k], b_values[k], b_psis[k]
                if b == 0:
                    raise ValueError(f"Δm needs a non-zero baseline; {reference} has "
                                     f"{metric} = 0 on {spec.name!r}")
                total += sign * (m - b) / b
                psi += sign * (psi_m / b - m * psi_b / b**2)
            values.append(100.0 * total / len(specs))
            psis.append(100.0 * psi / len(specs))
        return seed_interval(values, np.stack(psis), self.users, confidence or self.confidence)

    def _metrics_of(self, spec: TaskSpec, metrics) -> list[str]:
        if metrics is None:
            return [spec.primary_metric]
        wanted = [metrics] if isinstance(metrics, str) else list(metrics)
        known = sorted({m for t in self.tasks for m in t.metrics})
        unknown = [m for m in wanted if m not in known]
        if unknown:
            raise ValueError(f"metrics must be names from {known}, got unknown {unknown}")
        return [m for m in wanted if m in spec.metrics]

    def summary(self, metrics=None, confidence: float | None = None) -> pd.DataFrame:
        """Each model's mean per task with its interval: model, task, metric, mean, low, high,
        seeds (each task's primary metric unless ``metrics`` names others)."""
        rows = []
        for name in self.models:
            for spec in self._tasks_of(name):
                for metric in self._metrics_of(spec, metrics):
                    est = self.estimate(name, spec.name, metric, confidence)
                    rows.append({"model": name, "task": spec.name, "metric": metric,
                                 "mean": est.mean, "low": est.low, "high": est.high,
                                 "seeds": est.n_seeds})
        return pd.DataFrame(rows)

    def paired(self, reference: str | None = None, metrics=None,
               confidence: float | None = None) -> pd.DataFrame:
        """Each other model minus ``reference``, paired: model, task, metric, difference, low,
        high, verdict ("better" / "worse" / "no difference we can detect")."""
        reference = self._check_model(reference or self.reference, "reference")
        rows = []
        for name in self.models:
            if name == reference:
                continue
            for spec in self._tasks_of(name):
                for metric in self._metrics_of(spec, metrics):
                    est = self.difference(name, spec.name, metric, reference, confidence)
                    rows.append({"model": name, "task": spec.name, "metric": metric,
                                 "reference": reference, "difference": est.mean,
                                 "low": est.low, "high": est.high,
                                 "verdict": verdict(est, HIGHER_IS_BETTER[metric])})
        return pd.DataFrame(rows)

    def describe(self, model: str, task: str, metric: str | None = None,
                 reference: str | None = None) -> str:
        """One sentence for the prose, e.g. ``purchase AUC +0.060 [+0.050, +0.071] over 5 seeds
        vs single-task: better``."""
        spec = self._task(task)
        metric = metric or spec.primary_metric
        est = self.difference(model, task, metric, reference)
        return (f"{task} {metric.upper() if metric == 'auc' else metric} {est} over "
                f"{est.n_seeds} seeds vs {reference or self.reference}: "
                f"{verdict(est, HIGHER_IS_BETTER[metric])}")

    def best(self, task: str | None = None, metric: str | None = None) -> str:
        """The model with the best mean on ``task`` (or, with no task, the best mean over the
        tasks of each task's primary metric). Meant for the validation split."""
        if self.split == "test":
            raise ValueError("best() chooses a model, and choices are made on the validation "
                             "split: call compare(..., split='val') to choose")
        candidates = [m for m in self.models if m != self.reference] or self.models
        if task is not None:
            spec = self._task(task)
            metric = check_metric(metric or spec.primary_metric, spec.kind, task)
            sign = 1 if HIGHER_IS_BETTER[metric] else -1
            means = {m: sign * self.estimate(m, task, metric).mean for m in candidates}
        else:
            means = {}
            for m in candidates:
                values = []
                for spec in self._tasks_of(m):
                    sign = 1 if HIGHER_IS_BETTER[spec.primary_metric] else -1
                    values.append(sign * self.estimate(m, spec.name).mean)
                means[m] = float(np.mean(values))
        return max(means, key=means.get)

    def epochs(self) -> pd.DataFrame:
        """The epoch each run kept (early stopping on the validation loss): model, seed,
        best_epoch, epochs_run."""
        return pd.DataFrame([
            {"model": name, "seed": seed, "best_epoch": run.best_epoch,
             "epochs_run": len(run.history.get("loss", []))}
            for name, runs in self.runs.items() for seed, run in zip(self.seeds, runs,
                                                                      strict=True)])

    def curves(self, key: str = "val_loss") -> pd.DataFrame:
        """Per-epoch history values: model, seed, epoch, value, for ``key`` (e.g.
        ``"val_purchase_loss"``)."""
        rows = []
        for name, runs in self.runs.items():
            for seed, run in zip(self.seeds, runs, strict=True):
                for epoch, value in enumerate(run.history.get(key, []), start=1):
                    rows.append({"model": name, "seed": seed, "epoch": epoch, "value": value})
        return pd.DataFrame(rows, columns=["model", "seed", "epoch", "value"])


def verdict(estimate: Estimate, higher_is_better: bool = True) -> str:
    """"better" / "worse" when the interval excludes 0, else "no difference we can detect"."""
    if not estimate.excludes_zero:
        return "no difference we can detect"
    return "better" if (estimate.mean > 0) == higher_is_better else "worse"


def check_both_classes(data, tasks: Sequence[TaskSpec], splits: Sequence[str]) -> None:
    """Every binary task has both a positive and a negative label on each of ``splits``
    (else its AUC is undefined): a ValueError naming the split and the task."""
    for split in splits:
        labels = data.split_arrays(split)[1]
        for spec in tasks:
            observed = labels[spec.name][~np.isnan(labels[spec.name])]
            if spec.kind == "binary" and len(np.unique(observed)) < 2:
                raise ValueError(f"the {split} split has no positive (or no negative) label for "
                                 f"task {spec.name!r}: its AUC is undefined")


def single_task_reference(tasks: Sequence[TaskSpec], data, seeds: Sequence[int],
                          plan: TrainingPlan, hidden: Sequence[int]) -> list[SeedRun]:
    """The "single-task" model per seed: each task's prediction from its own single-task run
    (cached), on every split."""
    per_task = {t.name: single_task_runs(t, data, seeds, plan, hidden) for t in tasks}
    return [SeedRun({}, 0, {s: {t: per_task[t][k].predictions[s][t] for t in per_task}
                            for s in SPLITS})
            for k in range(len(seeds))]


def compare(models: Mapping[str, Builder], data, *, seeds=5, split: str = "val",
            reference: str | None = SINGLE_TASK, plan: TrainingPlan | None = None,
            confidence: float = 0.95, single_task_hidden: Sequence[int] = (64, 32)) -> Comparison:
    """Train every model over the seeds and score them on ``split`` (see the module doc).

    Args:
        models: ``{name: builder}``, a builder being ``seed -> compiled MultiTaskNet``.
        data: a ``CourseData`` (``mtl_kit.course.course_data``).
        seeds: K (seeds 0 … K-1) or a list of seeds.
        split: ``"val"`` (choose here) or ``"test"`` (report the chosen models once).
        reference: the model the paired differences are taken against; ``"single-task"`` (one
            single-task model per task, added automatically) or one of ``models``; None: only
            the models given.
        plan: how each run is trained (``TrainingPlan()``: early stopping on validation loss).
        confidence: the intervals' level, in (0, 1).
    """
    seeds = check_seeds(seeds)
    confidence = check_confidence(confidence)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if not isinstance(models, Mapping) or not models:
        raise TypeError("models must be a non-empty dict {name: builder}")
    for name, builder in models.items():
        if not isinstance(name, str) or not callable(builder):
            raise TypeError(f"models must map names to builders (seed -> model), got "
                            f"{name!r}: {type(builder).__name__}")
    if SINGLE_TASK in models:
        raise ValueError(f"{SINGLE_TASK!r} is the built-in reference; name your model otherwise")
    if reference is not None and reference != SINGLE_TASK and reference not in models:
        raise ValueError(f"reference must be {SINGLE_TASK!r}, None or one of {list(models)}, "
                         f"got {reference!r}")
    plan = TrainingPlan() if plan is None else plan
    if not isinstance(plan, TrainingPlan):
        raise TypeError(f"plan must be a TrainingPlan, got {type(plan).__name__}")
    tasks = as_tasks(data.tasks)
    check_both_classes(data, tasks, (split,))
    runs: dict[str, list[SeedRun]] = {}
    if reference == SINGLE_TASK:
        runs[SINGLE_TASK] = single_task_reference(tasks, data, seeds, plan, single_task_hidden)
    for name, builder in models.items():
        runs[name] = train_seeds(builder, data, seeds, plan, splits=(split,))
    return Comparison(split, seeds, list(tasks), data.split_arrays(split)[1], data.users(split),
                      runs, reference or next(iter(models)), confidence)


__all__ = [
    "SINGLE_TASK",
    "Comparison",
    "TrainingPlan",
    "check_seeds",
    "compare",
    "single_task_runs",
    "train_seeds",
    "verdict",
]
