"""One colour per task, the same in every picture of the course (no Keras needed).

Click is blue, purchase red, intent green, dwell purple (matplotlib's tab10 hues). Tasks outside
the shop (e.g. the MMoE-style ``y1``/``y2``) get a fixed colour picked from their name.
"""

from __future__ import annotations

import zlib

#: One colour per shop task, used by every plot in the course.
TASK_COLORS: dict[str, str] = {
    "click": "#1f77b4",
    "purchase": "#d62728",
    "intent": "#2ca02c",
    "dwell": "#9467bd",
}

#: Colours for tasks outside the shop, chosen by name.
EXTRA_COLORS: tuple[str, ...] = (
    "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
)


def task_color(task: str) -> str:
    """The colour of ``task``: ``TASK_COLORS[task]``, or a fixed colour picked by its name."""
    if not isinstance(task, str):
        raise TypeError(f"task must be a str, got {type(task).__name__}")
    if task in TASK_COLORS:
        return TASK_COLORS[task]
    return EXTRA_COLORS[zlib.crc32(task.encode("utf-8")) % len(EXTRA_COLORS)]


__all__ = ["EXTRA_COLORS", "TASK_COLORS", "task_color"]
