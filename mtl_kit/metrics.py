"""Evaluating multi-task models: per-task metrics, overall averages and Δm.

Per task, over the rows whose label is observed (NaN labels are skipped):

* binary / multiclass: AUC (one-vs-rest, macro, for multiclass), accuracy, F1 and recall
  (macro averages for multiclass; threshold 0.5 for binary);
* regression: MAE and RMSE.

Δm (Maninis et al., 2019; Vandenhende et al., 2021) compares a multi-task model with the
single-task baselines B_t actually trained on the same data:

    Δm = 100 % · (1/T) Σ_t s_t (M_t − B_t) / B_t,   s_t = +1 if higher is better, else −1

Positive Δm means the multi-task model beats its single-task baselines on average.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from mtl_kit.tasks import HIGHER_IS_BETTER, TaskSpec, as_tasks


def _task_metrics(task: TaskSpec, y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    y_true = np.asarray(y_true, dtype="float64").reshape(-1)
    y_pred = np.asarray(y_pred, dtype="float64")
    if task.kind != "multiclass":
        y_pred = y_pred.reshape(-1)
    if y_pred.shape[0] != y_true.shape[0]:
        raise ValueError(f"predictions for {task.name!r} have {y_pred.shape[0]} rows, "
                         f"labels have {y_true.shape[0]}")
    observed = ~np.isnan(y_true)
    y_true, y_pred = y_true[observed], y_pred[observed]
    nan = float("nan")
    if task.kind == "regression":
        if y_true.size == 0:
            return {"mae": nan, "rmse": nan}
        return {"mae": float(skm.mean_absolute_error(y_true, y_pred)),
                "rmse": float(np.sqrt(skm.mean_squared_error(y_true, y_pred)))}
    if y_true.size == 0:
        return {m: nan for m in task.metrics}
    if task.kind == "binary":
        labels = y_true.astype(int)
        hard = (y_pred >= 0.5).astype(int)
        auc = (float(skm.roc_auc_score(labels, y_pred)) if len(np.unique(labels)) == 2 else nan)
        return {"auc": auc, "accuracy": float(skm.accuracy_score(labels, hard)),
                "f1": float(skm.f1_score(labels, hard, zero_division=0)),
                "recall": float(skm.recall_score(labels, hard, zero_division=0))}
    labels = y_true.astype(int)
    classes = list(range(task.n_classes))
    hard = y_pred.argmax(axis=1)
    present = np.unique(labels)
    if len(present) == task.n_classes:
        probs = y_pred / np.clip(y_pred.sum(axis=1, keepdims=True), 1e-12, None)
        auc = float(skm.roc_auc_score(labels, probs, multi_class="ovr", average="macro",
                                      labels=classes))
    else:
        auc = nan
    return {"auc": auc, "accuracy": float(skm.accuracy_score(labels, hard)),
            "f1": float(skm.f1_score(labels, hard, average="macro", labels=classes,
                                     zero_division=0)),
            "recall": float(skm.recall_score(labels, hard, average="macro", labels=classes,
                                             zero_division=0))}


def evaluate_tasks(model_or_predictions, x, y, tasks=None, overall: bool = True) -> pd.DataFrame:
    """A tidy table of per-task metrics: columns task, kind, metric, value, higher_is_better, n.

    Args:
        model_or_predictions: a ``MultiTaskNet`` (its ``predict_tasks(x)`` is used) or a dict
            ``{task: predictions}`` (then x is ignored and may be None).
        y: ``{task: labels}`` with NaN for missing labels.
        tasks: TaskSpecs (default: the model's tasks).
        overall: add rows with task "overall": each metric's mean over the tasks reporting it.
    """
    if tasks is None:
        if not hasattr(model_or_predictions, "tasks"):
            raise ValueError("tasks is required when predictions (not a model) are given")
        tasks = model_or_predictions.tasks
    specs = as_tasks(tasks)
    if not isinstance(y, Mapping):
        raise TypeError(f"y must be a dict {{task: labels}}, got {type(y).__name__}")
    if isinstance(model_or_predictions, Mapping):
        predictions = model_or_predictions
    elif hasattr(model_or_predictions, "predict_tasks"):
        predictions = model_or_predictions.predict_tasks(x)
    else:
        raise TypeError("model_or_predictions must be a MultiTaskNet or a dict of predictions")
    rows = []
    for task in specs:
        if task.name not in y:
            raise ValueError(f"y lacks labels for task {task.name!r}")
        if task.name not in predictions:
            raise ValueError(f"no predictions for task {task.name!r}")
        n = int(np.sum(~np.isnan(np.asarray(y[task.name], dtype="float64"))))
        for metric, value in _task_metrics(task, y[task.name], predictions[task.name]).items():
            rows.append({"task": task.name, "kind": task.kind, "metric": metric, "value": value,
                         "higher_is_better": HIGHER_IS_BETTER[metric], "n": n})
    table = pd.DataFrame(rows, columns=["task", "kind", "metric", "value", "higher_is_better",
                                        "n"])
    if overall and len(specs) > 1:
        means = table.groupby("metric", sort=False).agg(
            value=("value", "mean"), higher_is_better=("higher_is_better", "first"),
            n=("n", "sum")).reset_index()
        means.insert(0, "task", "overall")
        means.insert(1, "kind", "mean over tasks")
        table = pd.concat([table, means[table.columns]], ignore_index=True)
    return table


def metrics_wide(table: pd.DataFrame) -> pd.DataFrame:
    """The tidy table as one row per task and one column per metric."""
    return table.pivot_table(index="task", columns="metric", values="value", sort=False)


def _as_values(metrics, what: str, selection) -> dict:
    if isinstance(metrics, pd.DataFrame):
        table = metrics[metrics["task"] != "overall"]
        values = {}
        for task, group in table.groupby("task", sort=False):
            wanted = selection.get(task) if isinstance(selection, Mapping) else selection
            if wanted is None:
                wanted = group["metric"].iloc[0]  # the task's primary metric comes first
            row = group[group["metric"] == wanted]
            if row.empty:
                raise ValueError(f"{what} has no metric {wanted!r} for task {task!r}")
            values[task] = (float(row["value"].iloc[0]), wanted,
                            bool(row["higher_is_better"].iloc[0]))
        return values
    if isinstance(metrics, Mapping):
        return {task: (float(v), None, None) for task, v in metrics.items()}
    raise TypeError(f"{what} must be a dict {{task: value}} or an evaluate_tasks table, "
                    f"got {type(metrics).__name__}")


def delta_m(mtl_metrics, single_metrics, higher_is_better=None, metric=None) -> float:
    """Δm = 100 · (1/T) Σ_t s_t (M_t − B_t) / B_t in percent (positive: MTL wins).

    Args:
        mtl_metrics, single_metrics: ``{task: value}`` dicts, or tables from
            ``evaluate_tasks`` (then each task's primary metric, or ``metric``: a name or
            ``{task: name}``).
        higher_is_better: ``{task: bool}`` or one bool for all tasks; taken from the tables
            when they are given, required for dicts.
    """
    mtl = _as_values(mtl_metrics, "mtl_metrics", metric)
    single = _as_values(single_metrics, "single_metrics", metric)
    if set(mtl) != set(single):
        raise ValueError(f"mtl_metrics tasks {sorted(mtl)} and single_metrics tasks "
                         f"{sorted(single)} must be the same")
    if not mtl:
        raise ValueError("mtl_metrics must hold at least one task")
    total = 0.0
    for task, (m_value, _, table_sign) in mtl.items():
        b_value = single[task][0]
        if isinstance(higher_is_better, Mapping):
            if task not in higher_is_better:
                raise ValueError(f"higher_is_better lacks task {task!r}")
            better_up = bool(higher_is_better[task])
        elif higher_is_better is not None:
            better_up = bool(higher_is_better)
        elif table_sign is not None:
            better_up = table_sign
        else:
            raise ValueError("higher_is_better is required for dicts of metric values: "
                             "{task: True/False} or one bool")
        if b_value == 0 or not np.isfinite(b_value) or not np.isfinite(m_value):
            raise ValueError(f"baseline for task {task!r} must be finite and non-zero, "
                             f"got B={b_value}, M={m_value}")
        sign = 1.0 if better_up else -1.0
        total += sign * (m_value - b_value) / b_value
    return 100.0 * total / len(mtl)


def compare_to_single_task(mtl_model, single_models: Mapping, x, y, metric=None):
    """Per-task table of the MTL model's and the baselines' primary metrics, plus Δm.

    ``single_models`` is ``{task: model}`` as from
    ``mtl_kit.baselines.train_single_task_baselines``. Returns ``(table, Δm)``.
    """
    tasks = mtl_model.tasks
    mtl_table = evaluate_tasks(mtl_model, x, y, tasks, overall=False)
    single_rows = []
    for task in tasks:
        if task.name not in single_models:
            raise ValueError(f"single_models lacks a baseline for task {task.name!r}")
        single_rows.append(evaluate_tasks(single_models[task.name], x, y, [task], overall=False))
    single_table = pd.concat(single_rows, ignore_index=True)
    merged = mtl_table.merge(single_table[["task", "metric", "value"]], on=["task", "metric"],
                             suffixes=("_mtl", "_single"))
    return merged, delta_m(mtl_table, single_table, metric=metric)


__all__ = ["compare_to_single_task", "delta_m", "evaluate_tasks", "metrics_wide"]
