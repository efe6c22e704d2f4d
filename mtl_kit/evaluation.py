"""Every metric of the course on a ``Comparison``: means, paired differences and task averages.

``mtl_kit.experiments.Comparison`` gives each model's *primary* metric (AUC) with its interval.
This module scores the same runs (the same seeds, the same rows) with any other metric of
:mod:`mtl_kit.metrics` and :mod:`mtl_kit.ranking`: PR AUC, log loss, accuracy, precision,
recall and F1 at chosen thresholds, GAUC, NDCG@k, HR@k, with the same kind of interval
(test users and seeds) and the same verdicts::

    thresholds = seed_thresholds(sweep.val, "λ=1")          # each seed's F1 threshold, on val
    difference(test, "λ=1", "purchase", "f1", thresholds=thresholds,
               reference_thresholds=seed_thresholds(sweep.val, "single-task"))
    difference(test, "λ=1", "purchase", "ndcg@5")          # per-user ranking metric
    task_average(test, "λ=1", "f1", relative=True, ...)     # Δm on F1

Thresholds are chosen on the validation split and applied, unchanged, to the test split:
:func:`seed_thresholds` refuses a test ``Comparison``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mtl_kit.experiments import Comparison, verdict
from mtl_kit.intervals import Estimate, seed_interval
from mtl_kit.metrics import (
    THRESHOLD_RULES,
    best_f1_threshold,
    combine_tasks,
    higher_is_better,
    metric_influence,
)
from mtl_kit.validation import check_choice

Thresholds = Mapping[str, Sequence[float]]


def _check_comparison(comparison: object) -> Comparison:
    if not isinstance(comparison, Comparison):
        raise TypeError(f"comparison must be what compare(...) returns (a Comparison), got "
                        f"{type(comparison).__name__}")
    return comparison


def seed_thresholds(comparison: Comparison, model: str, rule: str = "f1"
                    ) -> dict[str, list[float]]:
    """``{binary task: [t per seed]}``: each seed's F1-maximising threshold of ``model`` on the
    comparison's split, which must be the validation split."""
    comparison = _check_comparison(comparison)
    check_choice("rule", rule, THRESHOLD_RULES)
    if comparison.split != "val":
        raise ValueError("thresholds are chosen on the validation split: pass the validation "
                         "Comparison (split='val'), then apply them to the test one")
    comparison._check_model(model)
    return {spec.name: [best_f1_threshold(comparison.y_true[spec.name], p)[0]
                        for p in comparison.predictions(model, spec.name)]
            for spec in comparison._tasks_of(model) if spec.kind == "binary"}


def _cuts(thresholds, task: str, k: int) -> list[float] | None:
    if thresholds is None:
        return None
    if isinstance(thresholds, Mapping):
        if task not in thresholds:
            return None
        thresholds = thresholds[task]
    if isinstance(thresholds, (int, float, np.floating)):
        return [float(thresholds)] * k
    values = [float(t) for t in thresholds]
    if len(values) != k:
        raise ValueError(f"thresholds for {task!r} must be one per seed ({k}), got {len(values)}")
    return values


def _influences(comparison: Comparison, model: str, task: str, metric: str,
                cuts: list[float] | None) -> tuple[np.ndarray, np.ndarray]:
    """(m_k, ψ_k) of ``model`` on ``task`` per seed, kept on the comparison (computed once)."""
    cache = comparison.__dict__.setdefault("_evaluation_cache", {})
    key = (model, task, metric, None if cuts is None else tuple(cuts))
    if key not in cache:
        spec = comparison._task(task)
        k = len(comparison.seeds)
        cuts = cuts or [0.5] * k
        pairs = [metric_influence(metric, spec.kind, comparison.y_true[task], p, comparison.users,
                                  cuts[i])
                 for i, p in enumerate(comparison.predictions(model, task))]
        cache[key] = (np.array([v for v, _ in pairs]), np.stack([p for _, p in pairs]))
    return cache[key]


def estimate(comparison: Comparison, model: str, task: str, metric: str | None = None,
             thresholds=None, confidence: float | None = None) -> Estimate:
    """``model``'s mean ``metric`` on ``task`` over the seeds, with its interval."""
    comparison = _check_comparison(comparison)
    comparison._check_model(model)
    metric = metric or comparison._task(task).primary_metric
    values, psis = _influences(comparison, model, task, metric,
                               _cuts(thresholds, task, len(comparison.seeds)))
    return seed_interval(values, psis, comparison.users, confidence or comparison.confidence)


def difference(comparison: Comparison, model: str, task: str, metric: str | None = None,
               reference: str | None = None, thresholds=None, reference_thresholds=None,
               confidence: float | None = None) -> Estimate:
    """``model − reference`` on ``task`` in ``metric``, paired on the same rows and seeds."""
    comparison = _check_comparison(comparison)
    comparison._check_model(model)
    reference = comparison._check_model(reference or comparison.reference, "reference")
    metric = metric or comparison._task(task).primary_metric
    k = len(comparison.seeds)
    values, psis = _influences(comparison, model, task, metric, _cuts(thresholds, task, k))
    ref_values, ref_psis = _influences(comparison, reference, task, metric,
                                       _cuts(reference_thresholds, task, k))
    return seed_interval(values - ref_values, psis - ref_psis, comparison.users,
                         confidence or comparison.confidence)


def task_average(comparison: Comparison, model: str, metric=None, reference: str | None = None,
                 relative: bool = False, thresholds=None, reference_thresholds=None,
                 confidence: float | None = None) -> Estimate:
    """The average over ``model``'s tasks of ``metric`` (one name, ``{task: name}`` or each
    task's primary metric): with ``reference`` the paired mean difference, with
    ``relative=True`` Δm in % (the formulas of ``mtl_kit.metrics.combine_tasks``)."""
    comparison = _check_comparison(comparison)
    comparison._check_model(model)
    if reference is not None or relative:
        reference = comparison._check_model(reference or comparison.reference, "reference")
    k = len(comparison.seeds)
    parts = []
    for spec in comparison._tasks_of(model):
        name = metric.get(spec.name) if isinstance(metric, Mapping) else metric
        name = name or spec.primary_metric
        m, psi_m = _influences(comparison, model, spec.name, name,
                               _cuts(thresholds, spec.name, k))
        b = psi_b = None
        if reference is not None:
            b, psi_b = _influences(comparison, reference, spec.name, name,
                                   _cuts(reference_thresholds, spec.name, k))
        parts.append((spec.name, name, m, psi_m, b, psi_b))
    return combine_tasks(parts, relative, comparison.users,
                         confidence or comparison.confidence)


def metrics_table(comparison: Comparison, metrics: Sequence[str], models: Sequence[str] | None
                  = None, thresholds: Mapping[str, Thresholds] | None = None,
                  reference: str | None = None) -> pd.DataFrame:
    """One row per model, task and metric: mean, low, high (over users and seeds) and, for
    models other than the reference, the paired difference, its low, high and verdict.

    ``thresholds``: ``{model: {task: [t per seed]}}`` (e.g. from :func:`seed_thresholds`); a
    model left out uses 0.5. Metrics a task's kind does not have are skipped.
    """
    comparison = _check_comparison(comparison)
    reference = comparison._check_model(reference or comparison.reference, "reference")
    names = list(comparison.models) if models is None else list(models)
    for name in names:
        comparison._check_model(name, "models")
    if isinstance(metrics, str) or not metrics:
        raise TypeError(f"metrics must be a non-empty list of metric names, got {metrics!r}")
    for metric in metrics:
        higher_is_better(metric)  # a clear error for an unknown name
    thresholds = thresholds or {}
    rows = []
    for name in names:
        for spec in comparison._tasks_of(name):
            for metric in metrics:
                if spec.kind != "binary" and metric not in spec.metrics:
                    continue
                est = estimate(comparison, name, spec.name, metric, thresholds.get(name))
                row = {"model": name, "task": spec.name, "metric": metric, "mean": est.mean,
                       "low": est.low, "high": est.high}
                if name != reference:
                    diff = difference(comparison, name, spec.name, metric, reference,
                                      thresholds.get(name), thresholds.get(reference))
                    row.update({"difference": diff.mean, "diff_low": diff.low,
                                "diff_high": diff.high,
                                "verdict": verdict(diff, higher_is_better(metric))})
                rows.append(row)
    return pd.DataFrame(rows)


def readable(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """:func:`metrics_table`'s result as text for printing: model, task, metric,
    "mean [95 % interval]", "paired difference [95 % interval]" and verdict."""
    needed = {"model", "task", "metric", "mean", "low", "high"}
    if not isinstance(table, pd.DataFrame) or needed - set(table.columns):
        raise ValueError(f"table must be a metrics_table result with the columns "
                         f"{sorted(needed)}")
    if isinstance(digits, bool) or not isinstance(digits, int) or not 0 <= digits <= 8:
        raise ValueError(f"digits must be an int from 0 to 8, got {digits!r}")

    def span(mean, low, high, sign=""):
        return f"{mean:{sign}.{digits}f} [{low:{sign}.{digits}f}, {high:{sign}.{digits}f}]"

    out = table[["model", "task", "metric"]].copy()
    out["mean [95 % interval]"] = [span(*v) for v in table[["mean", "low", "high"]].to_numpy()]
    if "difference" in table.columns:
        out["paired difference"] = [
            span(d, lo, hi, "+") if isinstance(v, str) else ""
            for d, lo, hi, v in table[["difference", "diff_low", "diff_high",
                                       "verdict"]].to_numpy()]
        out["verdict"] = table["verdict"].fillna("").to_numpy()
    return out


__all__ = ["difference", "estimate", "metrics_table", "readable", "seed_thresholds",
           "task_average"]
