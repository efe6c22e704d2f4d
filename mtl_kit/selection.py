"""Selection on validation, confirmation on test: a sweep that keeps the test split sealed.

The course's habit, in one object. :func:`sweep` trains every candidate (e.g. one λ each) over
K seeds, exactly as ``mtl_kit.experiments.compare`` does (early stopping on the validation loss,
the single-task baselines from the shared cache), and predicts **both** the validation and the
test split in the same pass, so nothing is trained twice. It returns a :class:`Sweep`:

* ``sweep.val`` is the validation ``Comparison`` of every candidate: choose here
  (``sweep.val.best()``, a Pareto front, Δm, …);
* ``sweep.test(chosen)`` opens the test split for the chosen candidate(s) only, with the
  reference: the same numbers ``compare({chosen: …}, data, split="test")`` would give (the same
  seeds, the same runs), without training again. ``sweep.opened`` lists what was opened, so a
  reader can see that the test split served once, for the choice.

:func:`seed_spread` is the recap of why one seed is an anecdote: the best and the worst seed of
one model, scored on the *same* rows, differ by more than the sample of customers explains; the
best seed's number overstates what training that model again delivers (the mean over seeds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from mtl_kit.experiments import (
    SINGLE_TASK,
    SPLITS,
    Builder,
    Comparison,
    SeedRun,
    TrainingPlan,
    check_both_classes,
    check_seeds,
    single_task_reference,
    train_seeds,
)
from mtl_kit.intervals import Estimate, check_confidence, metric_interval
from mtl_kit.tasks import HIGHER_IS_BETTER, as_tasks


@dataclass
class Sweep:
    """Candidates trained once over K seeds: ``val`` to choose, ``test(...)`` to confirm."""

    val: Comparison
    _runs: dict[str, list[SeedRun]] = field(repr=False)
    _data: object = field(repr=False)
    opened: list[str] = field(default_factory=list)
    _tests: dict = field(default_factory=dict, repr=False)

    @property
    def candidates(self) -> list[str]:
        """The candidates' names (without the reference)."""
        return [m for m in self.val.models if m != self.val.reference]

    def test(self, *models: str) -> Comparison:
        """The test ``Comparison`` of ``models`` (the chosen ones) and the reference."""
        if not models:
            raise ValueError(f"name the chosen model(s) to open the test split for, from "
                             f"{self.candidates}")
        unknown = [m for m in models if m not in self.candidates]
        if unknown:
            raise ValueError(f"models must be among the candidates {self.candidates}, got "
                             f"unknown {unknown}")
        reference = self.val.reference
        self.opened.extend(m for m in models if m not in self.opened)
        key = tuple(models)
        if key not in self._tests:  # the same models again: the same Comparison (and its cache)
            runs = {}
            if reference not in models:
                runs[reference] = self._runs[reference]
            runs.update({m: self._runs[m] for m in models})
            self._tests[key] = Comparison("test", self.val.seeds, self.val.tasks,
                                          self._data.y_test, self._data.users("test"), runs,
                                          reference, self.val.confidence)
        return self._tests[key]


def sweep(models: Mapping[str, Builder], data, *, seeds=5, plan: TrainingPlan | None = None,
          reference: str | None = SINGLE_TASK, confidence: float = 0.95,
          single_task_hidden: Sequence[int] = (64, 32)) -> Sweep:
    """Train every candidate over the seeds once, predicting validation and test (see the
    module doc). Arguments as for ``mtl_kit.experiments.compare``: ``models`` maps names to
    builders (``seed -> compiled MultiTaskNet``; one compiled model may serve every candidate
    after changing its λ), ``reference`` is ``"single-task"`` (the cached baselines) or one of
    the candidates."""
    seeds = check_seeds(seeds)
    confidence = check_confidence(confidence)
    if not isinstance(models, Mapping) or not models:
        raise TypeError("models must be a non-empty dict {name: builder}")
    for name, builder in models.items():
        if not isinstance(name, str) or not callable(builder):
            raise TypeError(f"models must map names to builders (seed -> model), got "
                            f"{name!r}: {type(builder).__name__}")
    if SINGLE_TASK in models:
        raise ValueError(f"{SINGLE_TASK!r} is the built-in reference; name your model otherwise")
    if reference is None or (reference != SINGLE_TASK and reference not in models):
        raise ValueError(f"reference must be {SINGLE_TASK!r} or one of {list(models)}, "
                         f"got {reference!r}")
    plan = TrainingPlan() if plan is None else plan
    if not isinstance(plan, TrainingPlan):
        raise TypeError(f"plan must be a TrainingPlan, got {type(plan).__name__}")
    tasks = as_tasks(data.tasks)
    check_both_classes(data, tasks, SPLITS)
    runs: dict[str, list[SeedRun]] = {}
    if reference == SINGLE_TASK:
        runs[SINGLE_TASK] = single_task_reference(tasks, data, seeds, plan, single_task_hidden)
    for name, builder in models.items():
        runs[name] = train_seeds(builder, data, seeds, plan, splits=SPLITS)
    val = Comparison("val", seeds, list(tasks), data.y_val, data.users("val"), runs, reference,
                     confidence)
    return Sweep(val, runs, data)


@dataclass(frozen=True)
class SeedSpread:
    """One model's metric per seed, on one split: the seeds' values, the best and worst seed,
    and the paired difference best − worst on the same rows (an interval over the rows only:
    the two runs are fixed)."""

    values: dict[int, float]
    best_seed: int
    worst_seed: int
    best_minus_worst: Estimate

    @property
    def mean(self) -> float:
        """The mean over the seeds: what training the model again delivers on average."""
        return float(np.mean(list(self.values.values())))

    @property
    def best(self) -> float:
        return self.values[self.best_seed]

    @property
    def optimism(self) -> float:
        """How much reporting the best seed overstates the mean over seeds."""
        return abs(self.best - self.mean)


def seed_spread(comparison: Comparison, model: str, task: str, metric: str | None = None,
                confidence: float | None = None) -> SeedSpread:
    """The seeds of ``model`` on ``task`` in ``comparison`` (see :class:`SeedSpread`)."""
    spec = comparison._task(task)
    metric = metric or spec.primary_metric
    values, _ = comparison.influences(model, task, metric)
    sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
    order = np.argsort(sign * values)
    best, worst = int(order[-1]), int(order[0])
    predictions = comparison.predictions(model, task)
    difference = metric_interval(spec.kind, metric, comparison.y_true[task], [predictions[best]],
                                 comparison.users, confidence or comparison.confidence,
                                 reference=[predictions[worst]])
    seeds = comparison.seeds
    return SeedSpread({s: float(v) for s, v in zip(seeds, values, strict=True)}, seeds[best],
                      seeds[worst], difference)


__all__ = ["SeedSpread", "Sweep", "seed_spread", "sweep"]
