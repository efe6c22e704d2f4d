"""Pareto fronts (帕累托前沿): the settings no other setting beats on every task at once.

With several tasks there is rarely one best model: a λ that helps purchase may cost click.
Setting A **dominates** setting B when A is at least as good on every task and better on one.
The **Pareto front** is the set of settings nothing dominates; every other setting is a waste
(some front setting is as good everywhere and better somewhere). Choosing *on* the front needs a
preference between the tasks, e.g. the highest Δm, or "the best purchase AUC that costs click
nothing we can detect".

:func:`pareto_front` finds the front of any table of scores; :func:`front_table` builds one
from a ``mtl_kit.experiments.Comparison`` (a λ sweep, say): per model each task's mean primary
metric, its paired difference to the reference with its interval, Δm with its interval, and
whether the model is on the front of the means (the reference, e.g. the single-task models,
takes part as a point of its own). Means have noise: a point just off the front may be as good
as one on it, which the paired intervals tell.

>>> pareto_front([[0.73, 0.80], [0.72, 0.81], [0.72, 0.79]]).tolist()
[True, True, False]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mtl_kit.tasks import HIGHER_IS_BETTER


def pareto_front(points, higher_is_better: bool | Sequence[bool] = True) -> np.ndarray:
    """A bool per row of ``points`` (n settings × d objectives): True when no other row is at
    least as good on every objective and strictly better on one. ``higher_is_better``: one bool
    for all objectives or one per objective."""
    values = np.asarray(points, dtype="float64")
    if values.ndim != 2 or values.shape[0] == 0 or values.shape[1] == 0:
        raise ValueError(f"points must be a 2-d table (settings × objectives) with at least one "
                         f"row and column, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError("points must be finite numbers")
    if isinstance(higher_is_better, (bool, np.bool_)):
        signs = np.full(values.shape[1], 1.0 if higher_is_better else -1.0)
    else:
        directions = list(higher_is_better)
        if len(directions) != values.shape[1] or not all(
                isinstance(d, (bool, np.bool_)) for d in directions):
            raise ValueError(f"higher_is_better must be one bool or {values.shape[1]} bools "
                             f"(one per objective), got {higher_is_better!r}")
        signs = np.where(directions, 1.0, -1.0)
    oriented = values * signs  # now higher is better everywhere
    at_least = np.all(oriented[:, None, :] >= oriented[None, :, :], axis=2)  # [i, j]: i ≥ j
    better = np.any(oriented[:, None, :] > oriented[None, :, :], axis=2)
    dominated = np.any(at_least & better, axis=0)  # some i dominates j
    return ~dominated


def front_table(comparison, models: Sequence[str] | None = None, reference: str | None = None,
                confidence: float | None = None) -> pd.DataFrame:
    """One row per model of ``comparison`` (and its reference): per task ``<task>`` (the mean
    primary metric over seeds), ``<task> diff``, ``<task> low``, ``<task> high`` (the paired
    difference to the reference and its interval), ``Δm``, ``Δm low``, ``Δm high`` (Δm against
    the reference, in %) and ``on_front`` (on the Pareto front of the task means)."""
    reference = reference or comparison.reference
    names = list(comparison.models) if models is None else list(models)
    unknown = [m for m in names if m not in comparison.models]
    if unknown:
        raise ValueError(f"models must be among {comparison.models}, got unknown {unknown}")
    if reference not in comparison.models:
        raise ValueError(f"reference must be one of {comparison.models}, got {reference!r}")
    if reference not in names:
        names = [reference, *names]
    tasks = [t for t in comparison.tasks if all(
        t.name in comparison.runs[m][0].predictions[comparison.split] for m in names)]
    rows = []
    for name in names:
        row: dict[str, object] = {"model": name}
        for spec in tasks:
            row[spec.name] = comparison.estimate(name, spec.name, confidence=confidence).mean
            if name == reference:
                row.update({f"{spec.name} diff": 0.0, f"{spec.name} low": 0.0,
                            f"{spec.name} high": 0.0})
            else:
                est = comparison.difference(name, spec.name, reference=reference,
                                            confidence=confidence)
                row.update({f"{spec.name} diff": est.mean, f"{spec.name} low": est.low,
                            f"{spec.name} high": est.high})
        if name == reference:
            row.update({"Δm": 0.0, "Δm low": 0.0, "Δm high": 0.0})
        else:
            dm = comparison.delta_m(name, reference=reference, confidence=confidence)
            row.update({"Δm": dm.mean, "Δm low": dm.low, "Δm high": dm.high})
        rows.append(row)
    table = pd.DataFrame(rows)
    directions = [HIGHER_IS_BETTER[spec.primary_metric] for spec in tasks]
    table["on_front"] = pareto_front(table[[t.name for t in tasks]].to_numpy(), directions)
    return table


__all__ = ["front_table", "pareto_front"]
