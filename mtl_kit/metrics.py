"""Evaluating multi-task models: per-task metrics, decision thresholds, overall averages and Δm.

Per task, over the rows whose label is observed (NaN labels are skipped):

* binary: ROC AUC; PR AUC (average precision, AP); log loss; and at a **decision threshold**
  t (predict "yes" when p >= t): accuracy, precision, recall and F1;
* multiclass: AUC (one-vs-rest, macro), log loss, accuracy, and macro precision, recall and F1
  (the predicted class is the argmax);
* regression: MAE and RMSE.

``evaluate_tasks`` reports each task's default metrics (``TaskSpec.metrics``: AUC, accuracy, F1
and recall for classification) unless ``metrics`` names others.

**Thresholds.** With rare positives (8 % clicks, 1 % purchases) a model almost never predicts
p >= 0.5, so at the default t = 0.5 recall and F1 are 0 while accuracy is the share of
negatives (0.99 for purchase): the model looks excellent and finds nothing. Choose t on the
**validation** split, e.g. the F1-maximising threshold (:func:`choose_thresholds`), then apply
that fixed t to the test split (``evaluate_tasks(..., thresholds=...)``). Choosing t on test
makes the test F1 look better than it will be. Beside the decisions, read the ranking with
ROC AUC and PR AUC (``metrics=("auc", "pr_auc", "precision", "recall", "f1")``): AP is read
against the positive rate, which is a random score's AP. Called without ``thresholds``,
``evaluate_tasks`` warns when 0.5 flags fewer rows than a tenth of a task's positives, and
names these remedies.

Formulas (TP, FP, FN, TN: the counts at threshold t; P = TP + FN positives):

    accuracy = (TP + TN) / n     precision = TP / (TP + FP)     recall = TP / P
    F1 = 2 TP / (2 TP + FP + FN)
    AP = (1/P) Σ_{positives i} precision at t = s_i          (a random score: AP ≈ P / n)
    log loss = −(1/n) Σ_r [y_r log p_r + (1 − y_r) log(1 − p_r)]

Δm (Maninis et al., 2019; Vandenhende et al., 2021) compares a multi-task model with the
single-task baselines B_t actually trained on the same data:

    Δm = 100 % · (1/T) Σ_t s_t (M_t − B_t) / B_t,   s_t = +1 if higher is better, else −1

Positive Δm means the multi-task model beats its single-task baselines on average.

**Intervals for every metric here.** :func:`metric_influence` gives each row's influence ψ_r
on any of these metrics (and on the per-user ranking metrics of :mod:`mtl_kit.ranking`), and
:func:`metric_estimate` turns per-seed predictions into a mean with its 95 % interval over test
users and seeds, or a paired difference, as ``mtl_kit.intervals`` does for AUC. The new
influences: log loss ψ_r = (ℓ_r − LL) / n; precision ψ_r = (TP_r − precision · PP_r) / ΣPP (a
ratio, PP = predicted positive); AP, with Q(s) = share of rows scoring >= s,
Q₊(s) = share of rows that are positive and score >= s, π = P / n and A = π · AP::

    IF_A(y₀, s₀) = y₀ Q₊(s₀)/Q(s₀) − A + y₀ E[y 1{s ≤ s₀} / Q(s)] − E[y 1{s ≤ s₀} Q₊(s) / Q(s)²]
    ψ_r = (IF_A(y_r, s_r) − AP (y_r − π)) / (π n)
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from mtl_kit import ranking
from mtl_kit.intervals import Estimate, check_confidence, influence, seed_interval
from mtl_kit.tasks import HIGHER_IS_BETTER, TaskSpec, as_tasks
from mtl_kit.validation import check_choice, check_number

#: Every metric ``evaluate_tasks`` can report, per task kind.
AVAILABLE_METRICS: dict[str, tuple[str, ...]] = {
    "binary": ("auc", "pr_auc", "log_loss", "accuracy", "precision", "recall", "f1"),
    "multiclass": ("auc", "log_loss", "accuracy", "precision", "recall", "f1"),
    "regression": ("rmse", "mae"),
}
#: Metrics that depend on a binary task's decision threshold.
THRESHOLD_METRICS = ("accuracy", "precision", "recall", "f1")
#: Whether a larger value is better, for every metric of this module and of ``ranking``.
METRIC_HIGHER_IS_BETTER: dict[str, bool] = {
    **HIGHER_IS_BETTER, "pr_auc": True, "precision": True, "log_loss": False, "gauc": True,
}
#: The default decision threshold of a binary task.
DEFAULT_THRESHOLD = 0.5
#: Rules :func:`choose_thresholds` knows.
THRESHOLD_RULES = ("f1",)

_EPSILON = 1e-7  # predictions are clipped to [ε, 1 − ε] for the log loss (as the training loss)


def higher_is_better(metric: str) -> bool:
    """True when a larger ``metric`` is better (AUC, F1, NDCG@k, …), False for losses."""
    if ranking.is_ranking_metric(metric):
        return True
    if metric not in METRIC_HIGHER_IS_BETTER:
        raise ValueError(f"metric must be one of {sorted(METRIC_HIGHER_IS_BETTER)} or "
                         f"'ndcg@k' / 'hr@k', got {metric!r}")
    return METRIC_HIGHER_IS_BETTER[metric]


# --------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------
def _check_threshold(argument: str, value: object) -> float:
    return check_number(argument, value, 0.0, 1.0, low_open=True, high_open=True)


def check_thresholds(thresholds: object, specs: Sequence[TaskSpec]) -> dict[str, float]:
    """``{binary task: t}`` from None (every t = 0.5), one number, or a dict of numbers in
    (0, 1) whose keys are binary tasks (a binary task it leaves out keeps t = 0.5)."""
    binary = [t.name for t in specs if t.kind == "binary"]
    if thresholds is None:
        return dict.fromkeys(binary, DEFAULT_THRESHOLD)
    if isinstance(thresholds, Mapping):
        unknown = [name for name in thresholds if name not in binary]
        if unknown:
            raise ValueError(f"thresholds must be keyed by binary tasks {binary}, got "
                             f"unknown {unknown}")
        return {name: _check_threshold(f"thresholds[{name!r}]", thresholds[name])
                if name in thresholds else DEFAULT_THRESHOLD for name in binary}
    value = _check_threshold("thresholds", thresholds)
    return dict.fromkeys(binary, value)


def _check_metrics(metrics: object, specs: Sequence[TaskSpec]) -> dict[str, tuple[str, ...]]:
    """Per task: the metrics to report (its defaults, or those of ``metrics`` it supports)."""
    if metrics is None:
        return {t.name: t.metrics for t in specs}
    wanted = [metrics] if isinstance(metrics, str) else list(metrics)
    known = sorted({m for kind in AVAILABLE_METRICS.values() for m in kind})
    unknown = [m for m in wanted if m not in known]
    if unknown or not wanted:
        raise ValueError(f"metrics must be names from {known}, got {wanted!r}")
    chosen = {t.name: tuple(m for m in wanted if m in AVAILABLE_METRICS[t.kind]) for t in specs}
    unused = [m for m in wanted if not any(m in names for names in chosen.values())]
    if unused:
        raise ValueError(f"metrics {unused} apply to none of the tasks "
                         f"{[(t.name, t.kind) for t in specs]}")
    return chosen


# --------------------------------------------------------------------------------------------
# One task's metrics
# --------------------------------------------------------------------------------------------
def log_loss(y_true, y_pred) -> float:
    """−mean[y log p + (1 − y) log(1 − p)] over labelled rows (p clipped to [1e-7, 1 − 1e-7])."""
    y, p = _observed_binary(y_true, y_pred)
    return float(np.mean(_row_log_loss(y, p)))


def _row_log_loss(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPSILON, 1.0 - _EPSILON)
    return -(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


def _observed_binary(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype="float64").reshape(-1)
    p = np.asarray(y_pred, dtype="float64").reshape(-1)
    if y.size != p.size:
        raise ValueError(f"y_pred has {p.size} rows, y_true has {y.size}")
    observed = ~np.isnan(y)
    if not observed.any():
        raise ValueError("no row has a label: a metric needs at least one")
    return y[observed], p[observed]


def _binary_metrics(names: Sequence[str], labels: np.ndarray, score: np.ndarray,
                    threshold: float) -> dict[str, float]:
    nan = float("nan")
    both = len(np.unique(labels)) == 2
    hard = (score >= threshold).astype(int)
    values = {}
    for name in names:
        if name == "auc":
            values[name] = float(skm.roc_auc_score(labels, score)) if both else nan
        elif name == "pr_auc":
            values[name] = (float(skm.average_precision_score(labels, score))
                            if labels.sum() > 0 else nan)
        elif name == "log_loss":
            values[name] = float(np.mean(_row_log_loss(labels, score)))
        elif name == "accuracy":
            values[name] = float(skm.accuracy_score(labels, hard))
        elif name == "precision":
            values[name] = float(skm.precision_score(labels, hard, zero_division=0))
        elif name == "recall":
            values[name] = float(skm.recall_score(labels, hard, zero_division=0))
        else:  # f1
            values[name] = float(skm.f1_score(labels, hard, zero_division=0))
    return values


def _multiclass_metrics(names: Sequence[str], task: TaskSpec, labels: np.ndarray,
                        probs: np.ndarray) -> dict[str, float]:
    classes = list(range(task.n_classes))
    hard = probs.argmax(axis=1)
    normalised = probs / np.clip(probs.sum(axis=1, keepdims=True), 1e-12, None)
    values = {}
    for name in names:
        if name == "auc":
            values[name] = (float(skm.roc_auc_score(labels, normalised, multi_class="ovr",
                                                    average="macro", labels=classes))
                            if len(np.unique(labels)) == task.n_classes else float("nan"))
        elif name == "log_loss":
            picked = np.clip(normalised[np.arange(labels.size), labels], _EPSILON, 1.0)
            values[name] = float(-np.mean(np.log(picked)))
        elif name == "accuracy":
            values[name] = float(skm.accuracy_score(labels, hard))
        else:
            scorer = {"precision": skm.precision_score, "recall": skm.recall_score,
                      "f1": skm.f1_score}[name]
            values[name] = float(scorer(labels, hard, average="macro", labels=classes,
                                        zero_division=0))
    return values


def _task_metrics(task: TaskSpec, y_true: np.ndarray, y_pred: np.ndarray,
                  names: Sequence[str] | None = None,
                  threshold: float = DEFAULT_THRESHOLD) -> dict[str, float]:
    names = task.metrics if names is None else names
    y_true = np.asarray(y_true, dtype="float64").reshape(-1)
    y_pred = np.asarray(y_pred, dtype="float64")
    if task.kind != "multiclass":
        y_pred = y_pred.reshape(-1)
    if y_pred.shape[0] != y_true.shape[0]:
        raise ValueError(f"predictions for {task.name!r} have {y_pred.shape[0]} rows, "
                         f"labels have {y_true.shape[0]}")
    observed = ~np.isnan(y_true)
    y_true, y_pred = y_true[observed], y_pred[observed]
    if y_true.size == 0:
        return {m: float("nan") for m in names}
    if task.kind == "regression":
        error = y_pred - y_true
        values = {"mae": float(np.mean(np.abs(error))),
                  "rmse": float(np.sqrt(np.mean(error**2)))}
        return {m: values[m] for m in names}
    labels = y_true.astype(int)
    if task.kind == "binary":
        return _binary_metrics(names, labels, y_pred, threshold)
    return _multiclass_metrics(names, task, labels, y_pred)


def _predictions_of(model_or_predictions, x) -> Mapping:
    if isinstance(model_or_predictions, Mapping):
        return model_or_predictions
    if hasattr(model_or_predictions, "predict_tasks"):
        return model_or_predictions.predict_tasks(x)
    raise TypeError("model_or_predictions must be a MultiTaskNet or a dict of predictions")


def _specs_of(model_or_predictions, tasks) -> list[TaskSpec]:
    if tasks is None:
        if not hasattr(model_or_predictions, "tasks"):
            raise ValueError("tasks is required when predictions (not a model) are given")
        tasks = model_or_predictions.tasks
    return as_tasks(tasks)


def evaluate_tasks(model_or_predictions, x, y, tasks=None, overall: bool = True, *,
                   thresholds=None, metrics=None) -> pd.DataFrame:
    """A tidy table of per-task metrics: columns task, kind, metric, value, higher_is_better, n.

    Args:
        model_or_predictions: a ``MultiTaskNet`` (its ``predict_tasks(x)`` is used) or a dict
            ``{task: predictions}`` (then x is ignored and may be None).
        y: ``{task: labels}`` with NaN for missing labels.
        tasks: TaskSpecs (default: the model's tasks).
        overall: add rows with task "overall": each metric's mean over the tasks reporting it.
        thresholds: binary tasks' decision thresholds for accuracy, precision, recall and F1:
            None (0.5), one number in (0, 1), or ``{task: t}``, e.g. from
            :func:`choose_thresholds` on the validation split.
        metrics: names from ``AVAILABLE_METRICS`` to report instead of each task's defaults
            (a task gets those its kind supports), e.g. ``("auc", "pr_auc", "log_loss")``.
    """
    specs = _specs_of(model_or_predictions, tasks)
    if not isinstance(y, Mapping):
        raise TypeError(f"y must be a dict {{task: labels}}, got {type(y).__name__}")
    cut = check_thresholds(thresholds, specs)
    wanted = _check_metrics(metrics, specs)
    if not isinstance(model_or_predictions, Mapping) \
            and not hasattr(model_or_predictions, "predict_tasks"):
        raise TypeError("model_or_predictions must be a MultiTaskNet or a dict of predictions")
    for task in specs:
        if task.name not in y:
            raise ValueError(f"y lacks labels for task {task.name!r}")
    predictions = _predictions_of(model_or_predictions, x)
    rows = []
    for task in specs:
        if task.name not in predictions:
            raise ValueError(f"no predictions for task {task.name!r}")
        n = int(np.sum(~np.isnan(np.asarray(y[task.name], dtype="float64"))))
        values = _task_metrics(task, y[task.name], predictions[task.name], wanted[task.name],
                               cut.get(task.name, DEFAULT_THRESHOLD))
        if thresholds is None and task.kind == "binary":
            _warn_if_threshold_finds_nothing(task.name, y[task.name], predictions[task.name],
                                             wanted[task.name])
        for metric, value in values.items():
            rows.append({"task": task.name, "kind": task.kind, "metric": metric, "value": value,
                         "higher_is_better": METRIC_HIGHER_IS_BETTER[metric], "n": n})
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


#: ``evaluate_tasks`` warns when the default threshold flags fewer rows than this share of the
#: positives: recall is then at most this share, and accuracy about the share of negatives.
FEW_FLAGGED = 0.1


def _warn_if_threshold_finds_nothing(task: str, y_true, y_pred, names) -> None:
    """Warn when the default threshold 0.5 flags (almost) nothing though positives exist: fewer
    rows reach it than ``FEW_FLAGGED`` × the positives, so recall (≤ flagged / positives) and F1
    are near 0 and accuracy is about the share of negatives, which says nothing about the
    model. The warning names the remedies: a threshold chosen on validation, and PR AUC."""
    if not {"recall", "f1", "precision"} & set(names or ()):
        return
    labels = np.asarray(y_true, dtype="float64").reshape(-1)
    scores = np.asarray(y_pred, dtype="float64").reshape(-1)
    observed = ~np.isnan(labels)
    positives = int(np.sum(labels[observed] == 1))
    flagged = int(np.sum(scores[observed] >= DEFAULT_THRESHOLD))
    if positives > 0 and flagged < FEW_FLAGGED * positives:
        warnings.warn(
            f"only {flagged:,} {task!r} predictions reach the default threshold "
            f"{DEFAULT_THRESHOLD} for {positives:,} positives: its recall and F1 are near 0 and "
            f"its accuracy is about the share of negatives. Choose thresholds on the "
            f"validation split (choose_thresholds) and pass them as thresholds=; read the "
            f"ranking with 'auc' and 'pr_auc' (metrics=...)",
            UserWarning, stacklevel=3)


def metrics_wide(table: pd.DataFrame) -> pd.DataFrame:
    """The tidy table as one row per task and one column per metric."""
    return table.pivot_table(index="task", columns="metric", values="value", sort=False)


# --------------------------------------------------------------------------------------------
# Decision thresholds, chosen on validation
# --------------------------------------------------------------------------------------------
def best_f1_threshold(y_true, y_pred) -> tuple[float, float]:
    """``(t, F1)``: the threshold (one of the scores) with the highest F1 for "yes if p >= t".

    Meant for the **validation** split; apply the returned t unchanged to the test split.
    """
    labels, score = _observed_binary(y_true, y_pred)
    if labels.sum() == 0:
        raise ValueError("y_true has no positive label: no threshold gives a non-zero F1")
    precision, recall, cut = skm.precision_recall_curve(labels.astype(int), score)
    f1 = 2 * precision * recall / np.clip(precision + recall, 1e-12, None)
    best = int(np.argmax(f1[:-1]))  # the last point (recall 0) has no threshold
    return float(cut[best]), float(f1[best])


def choose_thresholds(model_or_predictions, x, y, tasks=None, rule: str = "f1"
                      ) -> dict[str, float]:
    """``{binary task: t}`` chosen on the split given (use validation): with ``rule="f1"``
    the F1-maximising threshold of each binary task (:func:`best_f1_threshold`).

    Pass the result to ``evaluate_tasks(..., thresholds=...)`` on the test split.
    """
    check_choice("rule", rule, THRESHOLD_RULES)
    specs = _specs_of(model_or_predictions, tasks)
    if not isinstance(y, Mapping):
        raise TypeError(f"y must be a dict {{task: labels}}, got {type(y).__name__}")
    binary = [t for t in specs if t.kind == "binary"]
    if not binary:
        raise ValueError(f"tasks must include a binary task, got {[t.name for t in specs]}")
    missing = [t.name for t in binary if t.name not in y]
    if missing:
        raise ValueError(f"y lacks labels for task(s) {missing}")
    predictions = _predictions_of(model_or_predictions, x)
    return {t.name: best_f1_threshold(y[t.name], predictions[t.name])[0] for t in binary}


# --------------------------------------------------------------------------------------------
# Influences and intervals for every metric
# --------------------------------------------------------------------------------------------
def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> tuple[float, np.ndarray]:
    total = float(denominator.sum())
    if total == 0:
        return 0.0, np.zeros(numerator.size)
    value = float(numerator.sum()) / total
    return value, (numerator - value * denominator) / total


def average_precision_influence(labels: np.ndarray, score: np.ndarray
                                ) -> tuple[float, np.ndarray]:
    """``(AP, ψ)`` for 0/1 ``labels`` (no NaN) and scores (see the module doc for ψ)."""
    labels = np.asarray(labels, dtype="float64")
    score = np.asarray(score, dtype="float64")
    n = labels.size
    n_pos = float(labels.sum())
    if n_pos == 0:
        raise ValueError("average precision needs at least one positive label")
    ascending = np.sort(score)
    positive_scores = np.sort(score[labels > 0])
    q = (n - np.searchsorted(ascending, score, side="left")) / n        # Q(s_r)
    q_pos = (n_pos - np.searchsorted(positive_scores, score, side="left")) / n  # Q₊(s_r)
    pi = n_pos / n
    gain = q_pos / q                                                    # precision at s_r
    ap = float(np.sum(labels * gain) / n_pos)
    # E[y 1{s <= s0} h(s)] for every s0: cumulative sums over the positives, by score
    pos_q = q[labels > 0][np.argsort(score[labels > 0], kind="stable")]
    pos_q_pos = q_pos[labels > 0][np.argsort(score[labels > 0], kind="stable")]
    first = np.r_[0.0, np.cumsum(1.0 / pos_q)] / n
    second = np.r_[0.0, np.cumsum(pos_q_pos / pos_q**2)] / n
    upto = np.searchsorted(positive_scores, score, side="right")       # positives with s <= s0
    if_a = labels * gain - pi * ap + labels * first[upto] - second[upto]
    psi = (if_a - ap * (labels - pi)) / (pi * n)
    return ap, psi


def metric_influence(metric: str, kind: str, y_true, y_pred, users=None,
                     threshold: float = DEFAULT_THRESHOLD) -> tuple[float, np.ndarray]:
    """``(value, ψ)``: the metric on the labelled rows and each row's influence on it.

    ``metric`` is any of ``AVAILABLE_METRICS[kind]`` or, for binary tasks, a per-user ranking
    metric (``"gauc"``, ``"ndcg@k"``, ``"hr@k"``; then ``users`` is required). ``threshold``
    is the binary decision threshold of accuracy, precision, recall and F1. Values equal what
    ``evaluate_tasks`` reports; ψ is 0 on unlabelled rows.
    """
    if ranking.is_ranking_metric(metric):
        if kind != "binary":
            raise ValueError(f"metric {metric!r} needs a binary task, got a {kind} task")
        if users is None:
            raise ValueError(f"users is required for the per-user metric {metric!r}")
        return ranking.ranking_influence(metric, y_true, y_pred, users)
    check_choice("kind", kind, tuple(AVAILABLE_METRICS))
    allowed = AVAILABLE_METRICS[kind]
    if metric not in allowed:
        raise ValueError(f"metric for a {kind} task must be one of {allowed} "
                         f"(or 'gauc', 'ndcg@k', 'hr@k' for binary tasks), got {metric!r}")
    threshold = _check_threshold("threshold", threshold)
    if kind == "binary" and metric in THRESHOLD_METRICS and metric != "precision":
        # accuracy, recall and F1 at t are those of the 0/1 decisions at 0.5
        decided = (np.asarray(y_pred, dtype="float64").reshape(-1) >= threshold).astype(float)
        return influence(metric, kind, y_true, decided)
    if metric in ("auc", "rmse", "mae") or (kind == "multiclass" and metric != "log_loss"
                                           and metric != "precision"):
        return influence(metric, kind, y_true, y_pred)
    y = np.asarray(y_true, dtype="float64").reshape(-1)
    observed = ~np.isnan(y)
    if not observed.any():
        raise ValueError("no row has a label: a metric needs at least one")
    p = np.asarray(y_pred, dtype="float64")
    if kind == "binary":
        p = p.reshape(-1)
    if p.shape[0] != y.size:
        raise ValueError(f"y_pred has {p.shape[0]} rows, y_true has {y.size}")
    labels, pred = y[observed], p[observed]
    psi = np.zeros(y.size)
    if metric == "log_loss":
        if kind == "binary":
            losses = _row_log_loss(labels, pred)
        else:
            normalised = pred / np.clip(pred.sum(axis=1, keepdims=True), 1e-12, None)
            picked = normalised[np.arange(labels.size), labels.astype(int)]
            losses = -np.log(np.clip(picked, _EPSILON, 1.0))
        value = float(losses.mean())
        psi[observed] = (losses - value) / labels.size
        return value, psi
    if metric == "pr_auc":
        value, part = average_precision_influence(labels, pred)
        psi[observed] = part
        return value, psi
    # precision: TP / predicted positives (macro over classes for multiclass)
    if kind == "binary":
        decided = pred >= threshold
        value, part = _ratio((decided & (labels > 0.5)).astype(float), decided.astype(float))
    else:
        hard = pred.argmax(axis=1)
        per_class = [_ratio(((hard == c) & (labels == c)).astype(float),
                            (hard == c).astype(float)) for c in range(pred.shape[1])]
        value = float(np.mean([v for v, _ in per_class]))
        part = np.mean([p for _, p in per_class], axis=0)
    psi[observed] = part
    return value, psi


def _per_seed(value, k: int, argument: str) -> list:
    if value is None or isinstance(value, (int, float, np.floating)):
        return [DEFAULT_THRESHOLD if value is None else value] * k
    values = list(value)
    if len(values) != k:
        raise ValueError(f"{argument} must be one threshold or one per seed ({k}), "
                         f"got {len(values)}")
    return values


def metric_estimate(metric: str, kind: str, y_true, predictions: Sequence, users, *,
                    reference: Sequence | None = None, thresholds=None,
                    reference_thresholds=None, confidence: float = 0.95) -> Estimate:
    """The mean of ``metric`` over seeds with its interval (test users and seeds), or the
    paired difference ``predictions − reference`` (seed k with seed k, on the same rows).

    Args:
        metric, kind: as for :func:`metric_influence`.
        predictions, reference: one prediction array per seed, all for the rows of ``y_true``.
        users: each row's user (the independent unit of the interval; also the groups of the
            per-user ranking metrics).
        thresholds, reference_thresholds: decision thresholds (one, or one per seed, e.g. each
            seed's F1-maximising threshold on validation); default 0.5.
    """
    confidence = check_confidence(confidence)
    predictions = list(predictions)
    if not predictions:
        raise ValueError("predictions must hold one array per seed, got none")
    k = len(predictions)
    if reference is not None and len(reference) != k:
        raise ValueError(f"reference has {len(reference)} seeds, predictions {k}")
    cuts = _per_seed(thresholds, k, "thresholds")
    ref_cuts = _per_seed(reference_thresholds, k, "reference_thresholds")
    values, psis = [], []
    for seed in range(k):
        value, psi = metric_influence(metric, kind, y_true, predictions[seed], users, cuts[seed])
        if reference is not None:
            ref_value, ref_psi = metric_influence(metric, kind, y_true, reference[seed], users,
                                                  ref_cuts[seed])
            value, psi = value - ref_value, psi - ref_psi
        values.append(value)
        psis.append(psi)
    return seed_interval(values, np.stack(psis), np.asarray(users), confidence)


def combine_tasks(parts: Sequence[tuple], relative: bool, users,
                  confidence: float = 0.95) -> Estimate:
    """The average over tasks of per-seed metric values, with its interval.

    ``parts`` holds one ``(task, metric, m, ψ_m, b, ψ_b)`` per task: the model's values per seed
    ``m`` (K,) and influences ``ψ_m`` (K, rows), and the reference's ``b``, ``ψ_b`` (or None
    for no reference). Without a reference: (1/T) Σ_t m_t; with one: (1/T) Σ_t (m_t − b_t), or
    with ``relative`` Δm = 100/T Σ_t s_t (m_t − b_t) / b_t, ψ by the delta method,
    100/T Σ_t s_t (ψ_m / b − m ψ_b / b²).
    """
    if not parts:
        raise ValueError("parts must hold at least one task")
    total_values, total_psis = 0.0, 0.0
    for task, metric, m, psi_m, b, psi_b in parts:
        m, psi_m = np.asarray(m, dtype="float64"), np.asarray(psi_m, dtype="float64")
        if b is None:
            if relative:
                raise ValueError("relative=True (Δm) needs the reference's values")
            value, psi = m, psi_m
        elif not relative:
            value, psi = m - np.asarray(b), psi_m - np.asarray(psi_b)
        else:
            b, psi_b = np.asarray(b, dtype="float64"), np.asarray(psi_b, dtype="float64")
            if np.any(b == 0):
                raise ValueError(f"Δm needs a non-zero baseline; the reference has {metric} = 0 "
                                 f"on {task!r}")
            sign = 1.0 if higher_is_better(metric) else -1.0
            value = 100.0 * sign * (m - b) / b
            psi = 100.0 * sign * (psi_m / b[:, None] - (m / b**2)[:, None] * psi_b)
        total_values = total_values + value / len(parts)
        total_psis = total_psis + psi / len(parts)
    return seed_interval(np.atleast_1d(total_values), np.atleast_2d(total_psis),
                         np.asarray(users), check_confidence(confidence))


def task_average_estimate(tasks, y_true: Mapping, predictions: Mapping, users, *,
                          reference: Mapping | None = None, metric: str | Mapping | None = None,
                          relative: bool = False, thresholds: Mapping | None = None,
                          reference_thresholds: Mapping | None = None,
                          confidence: float = 0.95) -> Estimate:
    """An average over the tasks, per seed, with its interval (:func:`combine_tasks`):

    * ``relative=False``: (1/T) Σ_t M_t, or with a ``reference`` the paired (1/T) Σ_t (M_t − B_t);
    * ``relative=True`` (needs ``reference``): Δm = 100 % · (1/T) Σ_t s_t (M_t − B_t) / B_t.

    ``predictions`` / ``reference``: ``{task: [one array per seed]}``; ``metric``: one name or
    ``{task: name}`` (default: each task's primary metric); ``thresholds`` /
    ``reference_thresholds``: ``{task: t or [t per seed]}`` for the binary tasks.
    """
    specs = as_tasks(tasks)
    confidence = check_confidence(confidence)
    if relative and reference is None:
        raise ValueError("relative=True (Δm) needs the reference's predictions")
    for argument, given in (("y_true", y_true), ("predictions", predictions),
                            ("reference", reference)):
        if given is not None:
            missing = [t.name for t in specs if t.name not in given]
            if missing:
                raise ValueError(f"{argument} lacks task(s) {missing}")
    ks = {len(predictions[t.name]) for t in specs}
    if len(ks) != 1:
        raise ValueError(f"predictions must hold the same number of seeds for every task, "
                         f"got {sorted(ks)}")
    k = ks.pop()

    def per_seed(name, kind, y, arrays, cuts):
        pairs = [metric_influence(name, kind, y, arrays[i], users, cuts[i]) for i in range(k)]
        return np.array([v for v, _ in pairs]), np.stack([p for _, p in pairs])

    parts = []
    for spec in specs:
        name = metric.get(spec.name) if isinstance(metric, Mapping) else metric
        name = name or spec.primary_metric
        cuts = _per_seed((thresholds or {}).get(spec.name), k, f"thresholds[{spec.name!r}]")
        m, psi_m = per_seed(name, spec.kind, y_true[spec.name], predictions[spec.name], cuts)
        b = psi_b = None
        if reference is not None:
            ref_cuts = _per_seed((reference_thresholds or {}).get(spec.name), k,
                                 f"reference_thresholds[{spec.name!r}]")
            b, psi_b = per_seed(name, spec.kind, y_true[spec.name], reference[spec.name],
                                ref_cuts)
        parts.append((spec.name, name, m, psi_m, b, psi_b))
    return combine_tasks(parts, relative, users, confidence)


# --------------------------------------------------------------------------------------------
# Δm
# --------------------------------------------------------------------------------------------
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


__all__ = [
    "AVAILABLE_METRICS",
    "DEFAULT_THRESHOLD",
    "FEW_FLAGGED",
    "METRIC_HIGHER_IS_BETTER",
    "THRESHOLD_METRICS",
    "average_precision_influence",
    "best_f1_threshold",
    "check_thresholds",
    "choose_thresholds",
    "combine_tasks",
    "compare_to_single_task",
    "delta_m",
    "evaluate_tasks",
    "higher_is_better",
    "log_loss",
    "metric_estimate",
    "metric_influence",
    "metrics_wide",
    "task_average_estimate",
]
