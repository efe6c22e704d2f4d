"""The check-cell convention shared by exercise notebooks, their tests and the grader.

A *check cell* is a code cell containing a marker comment line naming the question id::

    # CHECK: 01.q1
    q1.check(answer)

Rules:

* one marker per cell, on a line of its own (anywhere in the cell; first line by habit);
* the id is the question's ``id`` (``q1.id == "01.q1"``); ids are unique in a notebook;
* the cell should do nothing but the check, so it fails only when the answer is wrong.

The grader scores a question 1 when its check cell runs without error under
``pytest --nbval-lax`` and 0 otherwise (failed, skipped, missing or never reached).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["MARKER", "check_cells", "marker_id"]

#: ``# CHECK: <id>`` on a line of its own.
MARKER = re.compile(r"^[ \t]*#[ \t]*CHECK:[ \t]*([A-Za-z0-9_][A-Za-z0-9_.\-]*)[ \t]*$",
                    re.MULTILINE)


def _source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def marker_id(source: str) -> str | None:
    """The question id of the first ``# CHECK:`` marker in ``source``, or None."""
    match = MARKER.search(source)
    return match.group(1) if match else None


def check_cells(cells: Iterable[Mapping[str, Any]]) -> list[tuple[int, int, str]]:
    """``(cell_index, code_index, question_id)`` for each check cell, in notebook order.

    ``cell_index`` counts every cell from 0; ``code_index`` counts code cells only (nbval
    names its test items ``Cell <code_index>``). Raises ``ValueError`` when a cell holds two
    markers or an id appears twice: the grader could not tell which check scores it.
    """
    found: list[tuple[int, int, str]] = []
    seen: dict[str, int] = {}
    code_index = -1
    for cell_index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        code_index += 1
        ids = MARKER.findall(_source(cell))
        if not ids:
            continue
        if len(ids) > 1:
            raise ValueError(f"cell {cell_index + 1} has {len(ids)} CHECK markers; "
                             f"put one check per cell")
        qid = ids[0]
        if qid in seen:
            raise ValueError(f"question {qid} is checked in cells {seen[qid] + 1} and "
                             f"{cell_index + 1}; check each question once")
        seen[qid] = cell_index
        found.append((cell_index, code_index, qid))
    return found
