"""Pictures of lesson 7 (evaluating): thresholds, precision-recall, reliability, fronts.

Every function returns a Matplotlib ``Figure`` (closed, so that as a cell's last expression it
is shown once). Tasks keep their course colours and markers (``mtl_kit.palette``); where a
panel draws several metrics or models, each also gets its own line style, so no picture relies
on colour alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mtl_kit.palette import task_color, task_style

#: Colour and line style of each metric in :func:`plot_threshold_sweep` (Okabe-Ito hues).
METRIC_STYLES: dict[str, dict[str, str]] = {
    "accuracy": {"color": "#000000", "linestyle": "-"},
    "precision": {"color": "#E69F00", "linestyle": "--"},
    "recall": {"color": "#CC79A7", "linestyle": "-."},
    "f1": {"color": "#7F5F00", "linestyle": ":"},
}


def _figure(n_panels: int, width: float, height: float):
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, n_panels, figsize=(width, height), squeeze=False)
    plt.close(figure)
    return figure, list(axes[0])


def _observed(y, p) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype="float64").reshape(-1)
    p = np.asarray(p, dtype="float64").reshape(-1)
    if y.size != p.size:
        raise ValueError(f"labels and predictions must have the same rows, got {y.size} and "
                         f"{p.size}")
    keep = ~np.isnan(y)
    return y[keep], p[keep]


def threshold_curves(y_true, y_pred, thresholds: Sequence[float]) -> pd.DataFrame:
    """Accuracy, precision, recall and F1 of "yes if p >= t" for every t in ``thresholds``."""
    y, p = _observed(y_true, y_pred)
    order = np.sort(p)
    positives_sorted = np.r_[0.0, np.cumsum(y[np.argsort(p, kind="stable")])]
    cuts = np.asarray(thresholds, dtype="float64")
    below = np.searchsorted(order, cuts, side="left")      # rows predicted "no"
    predicted = y.size - below
    tp = positives_sorted[-1] - positives_sorted[below]
    fp = predicted - tp
    fn = positives_sorted[-1] - tp
    tn = y.size - tp - fp - fn
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / np.maximum(predicted, 1), np.nan)
        recall = tp / max(positives_sorted[-1], 1.0)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
    return pd.DataFrame({"threshold": cuts, "accuracy": (tp + tn) / y.size,
                         "precision": precision, "recall": recall, "f1": f1})


def plot_threshold_sweep(y_true: Mapping, predictions: Mapping, chosen: Mapping[str, float],
                         *, title: str | None = None, low: float = 1e-3,
                         chosen_label: str = "chosen on validation"):
    """One panel per task: accuracy, precision, recall and F1 as the decision threshold t runs
    from ``low`` to 1 (log scale), a line at the threshold ``chosen`` (labelled
    ``chosen_label``) and one at the default 0.5."""
    tasks = list(chosen)
    if not tasks:
        raise ValueError("chosen must give a threshold for at least one task")
    figure, axes = _figure(len(tasks), 5.6 * len(tasks), 3.9)
    grid = np.geomspace(low, 1.0, 240)
    for ax, task in zip(axes, tasks, strict=True):
        curves = threshold_curves(y_true[task], predictions[task], grid)
        for metric, style in METRIC_STYLES.items():
            label = "F1" if metric == "f1" else metric
            ax.plot(curves["threshold"], curves[metric], lw=2, label=label, **style)
        t = float(chosen[task])
        box = {"facecolor": "white", "alpha": 0.9, "edgecolor": "none", "pad": 1.5}
        ax.axvline(t, color=task_color(task), lw=2.2)
        ax.axvline(0.5, color="#777777", lw=1.2, linestyle=(0, (2, 2)))
        ax.annotate(f"{chosen_label}\nt = {t:.3f}", (t, 0.62), xytext=(-6, 0),
                    textcoords="offset points", ha="right", va="center", fontsize=8.5,
                    color=task_color(task), bbox=box)
        ax.annotate("default\nt = 0.5", (0.5, 0.80), xytext=(-4, 0), textcoords="offset points",
                    ha="right", va="center", fontsize=8.5, color="#555555", bbox=box)
        at_t = threshold_curves(y_true[task], predictions[task], [t])["f1"].iloc[0]
        ax.plot([t], [at_t], "o", color=METRIC_STYLES["f1"]["color"], markersize=7, zorder=5)
        ax.annotate(f"F1 {at_t:.3f}", (t, at_t), xytext=(6, 6), textcoords="offset points",
                    fontsize=8.5, color=METRIC_STYLES["f1"]["color"], bbox=box)
        ax.set_xscale("log")
        ax.set_xlim(low, 1.0)
        ax.set_ylim(0.0, 1.02)
        ax.set_xlabel("decision threshold t (predict 'yes' when p ≥ t)", fontsize=9)
        ax.set_title(task, color=task_color(task), fontweight="bold")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("value on the split")
    axes[-1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=9, frameon=False)
    figure.suptitle(title or "Accuracy, precision, recall and F1 against the threshold",
                    fontsize=11)
    figure.tight_layout()
    return figure


#: Line styles of the models in :func:`plot_precision_recall` (first model, second, …).
MODEL_LINES: tuple[dict[str, object], ...] = (
    {"linestyle": "-", "lw": 2.2, "shade": False},
    {"linestyle": "--", "lw": 1.8, "shade": True},
    {"linestyle": ":", "lw": 1.8, "shade": True},
)


def plot_precision_recall(y_true: Mapping, predictions: Mapping[str, Mapping], *,
                          title: str | None = None):
    """One panel per task: the precision-recall curve of each model (``{model: {task: p}}``,
    the first in the task's colour, the others darker and dashed), its average precision (AP,
    the area under it) in the legend, and the positive rate, which is where a random score's
    curve lies."""
    from sklearn import metrics as skm

    models = list(predictions)
    if not models:
        raise ValueError("predictions must hold at least one model")
    tasks = [t for t in predictions[models[0]] if t in y_true]
    figure, axes = _figure(len(tasks), 5.2 * len(tasks), 4.0)
    for ax, task in zip(axes, tasks, strict=True):
        for i, model in enumerate(models):
            y, p = _observed(y_true[task], predictions[model][task])
            precision, recall, _ = skm.precision_recall_curve(y.astype(int), p)
            ap = skm.average_precision_score(y.astype(int), p)
            style = MODEL_LINES[i % len(MODEL_LINES)]
            color = task_color(task) if not style["shade"] else "#444444"
            ax.plot(recall, precision, color=color, lw=style["lw"],
                    linestyle=style["linestyle"], label=f"{model}: AP {ap:.3f}",
                    drawstyle="steps-post")
        rate = float(np.nanmean(np.asarray(y_true[task], dtype="float64")))
        ax.axhline(rate, color="#777777", lw=1.2, linestyle=(0, (2, 2)),
                   label=f"random score: AP ≈ rate {rate:.3f}")
        ax.set_yscale("log")
        ax.set_ylim(max(rate / 3, 1e-4), 1.0)
        ax.set_xlim(0.0, 1.0)
        ax.set_xlabel("recall (share of the positives found)", fontsize=9)
        ax.set_title(task, color=task_color(task), fontweight="bold")
        ax.grid(True, alpha=0.3, which="both")
        ax.legend(fontsize=8.5, loc="upper right", frameon=True)
    axes[0].set_ylabel("precision (log scale)")
    figure.suptitle(title or "Precision against recall", fontsize=11)
    figure.tight_layout()
    return figure


def plot_reliability(tables: Mapping[str, Mapping[str, pd.DataFrame]], *,
                     title: str | None = None):
    """A reliability diagram per task, ``{task: {label: reliability_table}}``: observed rate
    against mean prediction per bin (log-log), with the bins' 95 % intervals, and below it the
    ratio observed / predicted (1 when calibrated); the first label hollow and dashed, the
    second filled; the diagonal is a calibrated model."""
    import matplotlib.pyplot as plt

    tasks = list(tables)
    if not tasks:
        raise ValueError("tables must hold at least one task")
    figure, axes = plt.subplots(2, len(tasks), figsize=(5.2 * len(tasks), 6.4), squeeze=False,
                                gridspec_kw={"height_ratios": [3, 1.5]}, sharex="col")
    plt.close(figure)
    for column, task in enumerate(tasks):
        ax, below = axes[0][column], axes[1][column]
        color, marker = task_color(task), task_style(task)["marker"]
        lowest, highest = np.inf, 0.0
        for i, (label, table) in enumerate(tables[task].items()):
            x, y = table["mean_predicted"].to_numpy(), table["observed"].to_numpy()
            low, high = table["low"].to_numpy(), table["high"].to_numpy()
            style = {"fmt": marker, "color": color, "ecolor": color, "markersize": 6.5,
                     "elinewidth": 1.1, "capsize": 2.5, "markeredgewidth": 1.5,
                     "markerfacecolor": "white" if i == 0 else color,
                     "linestyle": "--" if i == 0 else "-", "lw": 1.0, "label": label}
            ax.errorbar(x, y, yerr=[np.clip(y - low, 0, None), np.clip(high - y, 0, None)],
                        **style)
            below.errorbar(x, y / x, yerr=[np.clip(y - low, 0, None) / x,
                                           np.clip(high - y, 0, None) / x], **style)
            positive = np.r_[x, y[y > 0], low[low > 0]]
            lowest = min(lowest, float(positive.min()))
            highest = max(highest, float(np.r_[x, high].max()))
        span = (lowest / 1.5, min(1.0, highest * 1.5))
        ax.plot(span, span, color="#555555", lw=1.2, linestyle=(0, (3, 2)),
                label="calibrated (observed = predicted)")
        below.axhline(1.0, color="#555555", lw=1.2, linestyle=(0, (3, 2)))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(*span)
        ax.set_ylim(*span)
        ax.set_title(task, color=color, fontweight="bold")
        ax.grid(True, alpha=0.3, which="major")
        ax.legend(fontsize=8.5, loc="lower right")
        below.set_ylim(0.0, 2.0)
        below.set_xlabel("mean predicted probability in the bin", fontsize=9)
        below.grid(True, alpha=0.3, which="major")
    axes[0][0].set_ylabel("observed rate in the bin")
    axes[1][0].set_ylabel("observed / predicted")
    figure.suptitle(title or "Reliability diagram (10 bins of equal size)", fontsize=11)
    figure.tight_layout()
    return figure


def plot_front(table: pd.DataFrame, tasks: Sequence[str] = ("click", "purchase"), *,
               chosen: str | None = None, reference: str = "single-task",
               title: str | None = None):
    """The paired difference to ``reference`` on two tasks (``fronts.front_table``'s
    ``<task> diff/low/high`` columns): one point per model with both intervals, filled on the
    Pareto front of the means (joined by a line), hollow when dominated; ``chosen`` ringed.
    The left panel shows every model, the right one zooms in on the front."""
    from matplotlib.patches import Rectangle

    if len(tasks) != 2:
        raise ValueError(f"tasks must name two tasks (x and y), got {tasks!r}")
    x_task, y_task = tasks
    needed = {"model", "on_front"} | {f"{t} {c}" for t in tasks for c in ("diff", "low", "high")}
    missing = needed - set(table.columns)
    if missing:
        raise ValueError(f"table lacks the columns {sorted(missing)} (use fronts.front_table)")
    if chosen is not None and chosen not in set(table["model"]):
        raise ValueError(f"chosen must be one of {list(table['model'])}, got {chosen!r}")
    figure, (full, zoom) = _figure(2, 12.0, 5.0)
    color, accent = "#333333", task_color(y_task)
    front = table[table["on_front"] & (table["model"] != reference)]
    front = front.sort_values(f"{x_task} diff")
    for ax in (full, zoom):
        for row in table.to_dict("records"):
            name, x, y = row["model"], row[f"{x_task} diff"], row[f"{y_task} diff"]
            if name == reference:
                ax.plot(x, y, marker="*", markersize=15, color="#777777", linestyle="none",
                        zorder=4)
                ax.annotate(reference, (x, y), xytext=(-9, -4), textcoords="offset points",
                            fontsize=9, color="#555555", ha="right", va="top")
                continue
            ax.errorbar(x, y, xerr=[[x - row[f"{x_task} low"]], [row[f"{x_task} high"] - x]],
                        yerr=[[y - row[f"{y_task} low"]], [row[f"{y_task} high"] - y]],
                        fmt="o", color=color, ecolor="#BBBBBB", elinewidth=1.1, capsize=3,
                        markersize=8, markerfacecolor=color if row["on_front"] else "white",
                        markeredgewidth=1.6, zorder=3)
            if ax is zoom or not row["on_front"]:
                ax.annotate(name, (x, y), xytext=(8, 6), textcoords="offset points",
                            fontsize=9.5, zorder=6,
                            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none",
                                  "pad": 1})
            if name == chosen:
                ax.plot(x, y, marker="o", markersize=17, markerfacecolor="none",
                        markeredgecolor=accent, markeredgewidth=2.2, zorder=5)
        ax.plot(front[f"{x_task} diff"], front[f"{y_task} diff"], color=accent, lw=1.8,
                zorder=4)
        ax.axhline(0, color="#999999", lw=0.8)
        ax.axvline(0, color="#999999", lw=0.8)
        ax.grid(True, alpha=0.3)
        ax.set_xlabel(f"{x_task} AUC − {reference} (95 % interval)", color=task_color(x_task),
                      fontsize=10)
    for ax in (full, zoom):
        ax.set_ylabel(f"{y_task} AUC − {reference} (95 % interval)", color=accent,
                      fontsize=10)
    xs, ys = front[f"{x_task} diff"].to_numpy(), front[f"{y_task} diff"].to_numpy()
    pad_x = max(float(np.ptp(xs)) * 0.8, 0.002)
    pad_y = max(float(np.ptp(ys)) * 0.8, 0.004)
    zoom.set_xlim(xs.min() - pad_x, xs.max() + pad_x)
    zoom.set_ylim(ys.min() - pad_y, ys.max() + pad_y)
    zoom.set_title("zoom on the front (grey bars: 95 % intervals)", fontsize=10)
    full.add_patch(Rectangle((xs.min() - pad_x, ys.min() - pad_y), np.ptp(xs) + 2 * pad_x,
                             np.ptp(ys) + 2 * pad_y, fill=False, edgecolor=accent, lw=1.2,
                             linestyle="--", zorder=6))
    full.set_title("every setting (dashed box: the zoom)", fontsize=10)
    handles = [
        full.plot([], [], color=accent, lw=1.8, label="Pareto front of the means")[0],
        full.plot([], [], "o", color=color, markersize=8, label="on the front (filled)")[0],
        full.plot([], [], "o", color=color, markerfacecolor="white", markersize=8,
                  label="dominated (hollow)")[0],
    ]
    if chosen is not None:
        handles.append(full.plot([], [], "o", markersize=13, markerfacecolor="none",
                                 markeredgecolor=accent, markeredgewidth=2.2, linestyle="none",
                                 label=f"chosen: {chosen}")[0])
    full.legend(handles=handles, fontsize=9, loc="lower left")
    figure.suptitle(title or "Each setting against one model per task", fontsize=11)
    figure.tight_layout()
    return figure


def plot_miscalibrated_ranking(frame: pd.DataFrame, *, title: str | None = None):
    """Two panels against the slope a of p' = σ(a · logit p) (log scale): ``frame``'s
    ``auc`` (of the distorted factor alone, flat) and ``ndcg`` (of the ranking by the
    product), with a line at a = 1 (calibrated)."""
    missing = {"slope", "auc", "ndcg"} - set(frame.columns)
    if missing:
        raise ValueError(f"frame lacks the columns {sorted(missing)}")
    figure, (left, right) = _figure(2, 10.0, 3.6)
    purchase = task_color("purchase")
    # the same height of axis in both panels, so their changes compare at a glance
    half = max(max(float(np.ptp(frame[c])) * 0.7, 0.01) for c in ("auc", "ndcg"))
    for ax, column, label, short in (
            (left, "auc", "AUC of pCVR alone", "AUC"),
            (right, "ndcg", "NDCG@5 of the ranking by pCTR × pCVR", "NDCG@5")):
        ax.plot(frame["slope"], frame[column], marker=task_style("purchase")["marker"],
                color=purchase, lw=2)
        ax.axvline(1.0, color="#555555", lw=1.2, linestyle=(0, (3, 2)))
        ax.annotate("calibrated\n(a = 1)", (1.0, 0.02), xycoords=("data", "axes fraction"),
                    xytext=(5, 0), textcoords="offset points", fontsize=8.5, color="#555555")
        ax.set_xscale("log")
        ax.set_xticks(frame["slope"], [f"{a:g}" for a in frame["slope"]])
        ax.minorticks_off()
        ax.set_xlabel("a in pCVR' = σ(a · logit pCVR): < 1 under-, > 1 over-confident",
                      fontsize=9)
        ax.set_title(label, fontsize=10.5)
        ax.grid(True, alpha=0.3)
        middle = float(frame[column].max() + frame[column].min()) / 2
        ax.set_ylim(middle - half, middle + half)
        ax.set_ylabel(f"{short} (both axes equally tall)", fontsize=9)
    figure.suptitle(title or "The same order of pCVR, different probabilities", fontsize=11)
    figure.tight_layout()
    return figure


__all__ = [
    "METRIC_STYLES",
    "plot_front",
    "plot_miscalibrated_ranking",
    "plot_precision_recall",
    "plot_reliability",
    "plot_threshold_sweep",
    "threshold_curves",
]
