"""Predictions from any training loop, as a ``Comparison`` with paired intervals.

``mtl_kit.experiments.compare`` trains the models itself. When the runs come from elsewhere
(``fit_seeds`` with a fixed budget, a model per seed trained by hand), this wraps their
predictions, one ``{task: array}`` per seed and model, into the same ``Comparison``:
``summary()``, ``paired()``, ``difference()`` and ``describe()`` then give each mean and each
paired difference (same rows, seed k with seed k) with its interval over users and seeds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from mtl_kit.experiments import Comparison, SeedRun
from mtl_kit.intervals import check_confidence
from mtl_kit.tasks import as_tasks
from mtl_kit.validation import check_choice


def comparison_of(predictions: Mapping[str, Sequence[Mapping[str, np.ndarray]]], y_true,
                  users, tasks, *, split: str = "val", reference: str | None = None,
                  confidence: float = 0.95) -> Comparison:
    """A ``Comparison`` of ``{model: [predictions of seed 1, seed 2, …]}`` on one split.

    Args:
        predictions: per model, one ``{task: predictions}`` per seed (same seeds, same order).
        y_true: ``{task: labels}`` of the split's rows (NaN: no label).
        users: each row's user.
        tasks: the task specs (or shop task names) to score.
        split: ``"val"`` or ``"test"`` (a label for the result; choices belong on "val").
        reference: the default reference of paired differences (default: the first model).
    """
    check_choice("split", split, ("val", "test"))
    confidence = check_confidence(confidence)
    if not isinstance(predictions, Mapping) or not predictions:
        raise TypeError("predictions must be a non-empty dict {model: [per-seed predictions]}")
    counts = {name: len(runs) for name, runs in predictions.items()}
    if len(set(counts.values())) != 1 or 0 in counts.values():
        raise ValueError(f"every model needs predictions for the same seeds, got {counts}")
    reference = next(iter(predictions)) if reference is None else reference
    check_choice("reference", reference, tuple(predictions))
    specs = as_tasks(tasks)
    n_seeds = next(iter(counts.values()))
    runs = {name: [SeedRun({}, 0, {split: {t.name: np.asarray(p[t.name]) for t in specs
                                           if t.name in p}}) for p in seeds]
            for name, seeds in predictions.items()}
    return Comparison(split, tuple(range(n_seeds)), list(specs),
                      {t.name: np.asarray(y_true[t.name]) for t in specs}, np.asarray(users),
                      runs, reference, confidence)


__all__ = ["comparison_of"]
