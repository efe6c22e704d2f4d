"""Pictures of the shop for the data lesson: base rates by group, the funnel, the intent mix.

Every task has one colour across the course (:data:`TASK_COLORS`). Each function draws on the
axes you pass (or makes a figure) and returns the figure.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mtl_kit.data.features import INTENTS
from mtl_kit.data.shop import ShopData
from mtl_kit.data.summary import base_rates
from mtl_kit.palette import TASK_COLORS

INTENT_COLORS = {"browse": "#a1d99b", "purchase": "#41ab5d", "consult": "#005a32"}
NEUTRAL = "#7f7f7f"
_TASK_TITLES = {"click": "click rate", "purchase": "purchase rate"}


def _frame(shop: ShopData | pd.DataFrame) -> pd.DataFrame:
    if isinstance(shop, ShopData):
        return shop.impressions
    if isinstance(shop, pd.DataFrame):
        return shop
    raise TypeError(
        f"shop must be a ShopData or an impressions DataFrame, got {type(shop).__name__}"
    )


def plot_base_rates(
    shop: ShopData | pd.DataFrame,
    by: Sequence[str] = ("category", "channel"),
    tasks: Sequence[str] = ("click", "purchase"),
) -> Figure:
    """A grid of bar charts: one row per task (click, purchase), one column per grouping column.

    Each bar is the share of labelled impressions with a positive label in that group; the dashed
    line is the overall rate.
    """
    frame = _frame(shop)
    if isinstance(by, str):
        by = (by,)
    for task in tasks:
        if task not in _TASK_TITLES:
            raise ValueError(f"tasks must be among {tuple(_TASK_TITLES)}, got {task!r}")
    overall = base_rates(frame).iloc[0]
    widths = [max(3, frame[column].nunique()) for column in by]
    fig, axes = plt.subplots(
        len(tasks), len(by), figsize=(3.2 + 0.55 * sum(widths), 2.9 * len(tasks)),
        gridspec_kw={"width_ratios": widths}, squeeze=False, constrained_layout=True,
    )
    for column_index, column in enumerate(by):
        table = base_rates(frame, by=column)
        labels = [str(value) for value in table.index]
        for row, task in enumerate(tasks):
            ax = axes[row, column_index]
            ax.bar(labels, 100 * table[task], color=TASK_COLORS[task], width=0.7)
            ax.axhline(100 * overall[task], color="black", linestyle="--", linewidth=1,
                       label=f"all: {100 * overall[task]:.2f} %")
            ax.set_ylabel(f"{_TASK_TITLES[task]} (%)")
            ax.set_xlabel(column)
            ax.set_title(f"{_TASK_TITLES[task]} by {column}")
            ax.legend(loc="upper right", fontsize=8, frameon=False)
            ax.tick_params(axis="x", labelrotation=35 if len(labels) > 4 else 0)
            for tick in ax.get_xticklabels():
                tick.set_horizontalalignment("right" if len(labels) > 4 else "center")
            ax.set_ylim(0, 100 * table[task].max() * 1.3)
    fig.suptitle(f"Base rates in the shop ({len(frame):,} impressions)")
    return fig


def plot_funnel(shop: ShopData | pd.DataFrame, by: str | None = "channel") -> Figure:
    """The click-to-purchase funnel: impressions -> clicks -> purchases, on a log scale.

    Left: the whole shop, with the step conversion rates. Right (if ``by``): the same funnel per
    group, as rates per 100 impressions.
    """
    frame = _frame(shop)
    rows = frame[frame["click"].notna() & frame["purchase"].notna()]
    counts = [len(rows), int(rows["click"].sum()), int(rows["purchase"].sum())]
    stages = ["impressions", "clicks", "purchases"]
    colors = [NEUTRAL, TASK_COLORS["click"], TASK_COLORS["purchase"]]
    n_panels = 1 if by is None else 2
    fig, axes = plt.subplots(1, n_panels, figsize=(5.2 * n_panels, 4.0), squeeze=False,
                             constrained_layout=True)
    ax = axes[0, 0]
    bars = ax.bar(stages, counts, color=colors, width=0.6)
    ax.set_yscale("log")
    ax.set_ylim(max(1, min(counts)) / 3, max(counts) * 4)
    ax.set_ylabel("count (log scale)")
    ax.set_title("The funnel: every purchase needs a click")
    for bar, count in zip(bars, counts, strict=True):
        ax.annotate(f"{count:,}", (bar.get_x() + bar.get_width() / 2, count), ha="center",
                    va="bottom", xytext=(0, 3), textcoords="offset points", fontsize=9)
    steps = [
        f"CTR {100 * counts[1] / max(counts[0], 1):.1f} %",
        f"CVR {100 * counts[2] / max(counts[1], 1):.1f} %",
    ]
    for k, text in enumerate(steps):
        ax.annotate(f"→ {text}", (k + 0.5, np.sqrt(counts[k] * max(counts[k + 1], 1))),
                    ha="center", va="center", fontsize=9, color="black",
                    bbox={"boxstyle": "round", "fc": "white", "ec": "0.7"})
    if by is not None:
        ax = axes[0, 1]
        table = rows.groupby(by, observed=True).agg(
            click=("click", "mean"), purchase=("purchase", "mean")
        )
        positions = np.arange(len(table))
        width = 0.38
        ax.bar(positions - width / 2, 100 * table["click"], width, color=TASK_COLORS["click"],
               label="clicks")
        ax.bar(positions + width / 2, 100 * table["purchase"], width,
               color=TASK_COLORS["purchase"], label="purchases")
        ax.set_xticks(positions, [str(v) for v in table.index])
        ax.set_yscale("log")
        top = 100 * float(table["click"].max())
        ax.set_ylim(100 * float(table["purchase"].min()) / 2, top * 6)
        ax.set_ylabel("per 100 impressions (log scale)")
        ax.set_xlabel(by)
        ax.set_title(f"Clicks and purchases by {by}")
        ax.legend(frameon=False, ncols=2, loc="upper center")
    return fig


def plot_intent_mix(shop: ShopData | pd.DataFrame, by: str = "channel") -> Figure:
    """Share of sessions' intents (browse / purchase / consult) per value of ``by``."""
    frame = _frame(shop)
    labelled = frame[frame["intent"].notna()]
    shares = pd.crosstab(labelled[by], labelled["intent_name"], normalize="index")
    shares = shares.reindex(columns=list(INTENTS), fill_value=0.0)
    fig, ax = plt.subplots(figsize=(6.0, 3.6), constrained_layout=True)
    left = np.zeros(len(shares))
    labels = [str(v) for v in shares.index]
    for intent in INTENTS:
        values = 100 * shares[intent].to_numpy()
        ax.barh(labels, values, left=left, color=INTENT_COLORS[intent], label=intent)
        for y, (x0, value) in enumerate(zip(left, values, strict=True)):
            if value >= 6:
                ax.text(x0 + value / 2, y, f"{value:.0f} %", ha="center", va="center",
                        color="white" if intent != "browse" else "black", fontsize=9)
        left += values
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of impressions (%)")
    ax.set_ylabel(by)
    ax.set_title(f"Session intent by {by}")
    ax.legend(ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    ax.invert_yaxis()
    return fig
