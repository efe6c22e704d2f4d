"""One colour and one line style / marker per task, the same in every picture (no Keras needed).

The colours are Okabe & Ito's colour-blind-safe hues: click blue ``#0072B2``, purchase
vermillion ``#D55E00``, intent bluish green ``#009E73``, dwell sky blue ``#56B4E9``. Simulated
for deuteranopia and protanopia (Machado et al. 2009, full severity), every two shop tasks stay
at least 25 CIELAB units apart, click and purchase (the pair of every lesson) more than 90; the
old red/green pair fell to 7 (``tests/test_plots.py`` checks this). Intent's bluish green is
far from purchase's vermillion for these viewers because they differ in lightness, which
orange (``#E69F00``) would not.

Colour is never the only cue: ``TASK_STYLES`` gives each task a line style and a marker, so a
plot printed in grey still tells the tasks apart. Tasks outside the shop (e.g. the MMoE-style
``y1``/``y2``) get a fixed colour and style picked from their name.
"""

from __future__ import annotations

import zlib

#: One colour per shop task, used by every plot in the course (Okabe-Ito hues).
TASK_COLORS: dict[str, str] = {
    "click": "#0072B2",
    "purchase": "#D55E00",
    "intent": "#009E73",
    "dwell": "#56B4E9",
}

#: The second cue: a line style and a marker per shop task.
TASK_STYLES: dict[str, dict[str, str]] = {
    "click": {"linestyle": "-", "marker": "o"},
    "purchase": {"linestyle": "--", "marker": "s"},
    "intent": {"linestyle": "-.", "marker": "^"},
    "dwell": {"linestyle": ":", "marker": "D"},
}

#: Colours for tasks outside the shop, chosen by name (the other Okabe-Ito hues, and grey).
EXTRA_COLORS: tuple[str, ...] = ("#CC79A7", "#E69F00", "#000000", "#999999", "#7F5F00")

#: Styles for tasks outside the shop, chosen by name.
EXTRA_STYLES: tuple[dict[str, str], ...] = (
    {"linestyle": "-", "marker": "v"},
    {"linestyle": "--", "marker": "P"},
    {"linestyle": "-.", "marker": "X"},
    {"linestyle": ":", "marker": "*"},
)


def _check(task: object) -> str:
    if not isinstance(task, str):
        raise TypeError(f"task must be a str, got {type(task).__name__}")
    return task


def task_color(task: str) -> str:
    """The colour of ``task``: ``TASK_COLORS[task]``, or a fixed colour picked by its name."""
    if _check(task) in TASK_COLORS:
        return TASK_COLORS[task]
    return EXTRA_COLORS[zlib.crc32(task.encode("utf-8")) % len(EXTRA_COLORS)]


def task_style(task: str) -> dict[str, str]:
    """``{"linestyle": …, "marker": …}`` of ``task`` (a copy: ``TASK_STYLES`` or by name)."""
    if _check(task) in TASK_STYLES:
        return dict(TASK_STYLES[task])
    return dict(EXTRA_STYLES[zlib.crc32(task.encode("utf-8")) % len(EXTRA_STYLES)])


__all__ = ["EXTRA_COLORS", "EXTRA_STYLES", "TASK_COLORS", "TASK_STYLES", "task_color",
           "task_style"]
