"""The grader's results and the score table (text and CSV), for one lesson or a workshop.

One lesson (every submission answers the same lesson's questions): one row per submission,
one column per question (``✓`` / ``✗``, then ``h2`` for two hints taken and ``s`` for a
solution seen), a total and a note.

A workshop (submissions of several lessons): one row per learner (the folder holding their
notebooks), one column per lesson (``4/5``; ``-`` when no notebook of that lesson was found), a
total over every lesson and the notes, each prefixed with its lesson. The CSV has the same rows
with every question's score, hints and solution flag, so the detail is one spreadsheet away.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mtl_kit.grading.scoring import Looks

__all__ = ["Result", "csv_text", "format_table", "question_ids", "write_csv"]

PASS, FAIL, NOT_RUN = "✓", "✗", "-"


@dataclass
class Result:
    """The grade of one submission.

    ``status`` is ``"ok"``, ``"error"`` (a non-check cell failed), ``"timeout"``,
    ``"memory limit"``, ``"kernel died"``, ``"corrupt"``, ``"not a notebook"`` or
    ``"failed to run"``; ``scores`` maps question id to True/False and is empty when the
    notebook could not be run; ``looks`` counts hints and solutions per question;
    ``questions`` lists the lesson's questions (all of them score, even when a check cell
    is missing).
    """

    submission: str
    status: str = "ok"
    scores: dict[str, bool] = field(default_factory=dict)
    note: str = ""
    seconds: float = 0.0
    looks: dict[str, Looks] = field(default_factory=dict)
    questions: list[str] = field(default_factory=list)
    lesson: str = ""
    peak_mb: int | None = None
    sandbox_notes: list[str] = field(default_factory=list)

    @property
    def graded(self) -> bool:
        """True when the notebook ran (its question columns mean something)."""
        return self.status in ("ok", "error", "timeout", "memory limit", "kernel died")

    @property
    def learner(self) -> str:
        """The folder holding the submission (the learner in a workshop layout)."""
        return os.path.dirname(self.submission) or "."


def _natural_key(text: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def question_ids(results: Iterable[Result]) -> list[str]:
    """Every question id seen in ``results``, in natural order (q2 before q10)."""
    return sorted({qid for r in results for qid in [*r.scores, *r.questions]},
                  key=lambda qid: [_natural_key(part) for part in qid.split(".", 1)])


def lessons(results: Iterable[Result]) -> list[str]:
    """The lessons of the results that have one, in natural order."""
    return sorted({r.lesson for r in results if r.lesson}, key=_natural_key)


def _note(r: Result, qids: Sequence[str]) -> str:
    missing = [q for q in qids if r.graded and q not in r.scores]
    if missing:
        return "; ".join(filter(None, [r.note, "no check cell for " + ", ".join(missing)]))
    return r.note


def _lesson_questions(results: Sequence[Result], lesson: str) -> list[str]:
    return [q for q in question_ids(r for r in results if r.lesson == lesson)]


def _cell(r: Result, qid: str, symbols: tuple[str, str, str]) -> str:
    if not r.graded:
        return symbols[2]
    mark = symbols[0] if r.scores.get(qid) else symbols[1]
    looks = r.looks.get(qid)
    return f"{mark} {looks.marks()}" if looks and looks.marks() and symbols[0] == PASS else mark


def _workshop(results: Sequence[Result]) -> bool:
    return len(lessons(results)) > 1


def _groups(results: Sequence[Result]) -> dict[str, list[Result]]:
    groups: dict[str, list[Result]] = {}
    for r in results:
        groups.setdefault(r.learner, []).append(r)
    return dict(sorted(groups.items(), key=lambda item: _natural_key(item[0])))


def _workshop_rows(results: Sequence[Result]) -> tuple[list[str], list[list[str]]]:
    names = lessons(results)
    per_lesson = {lesson: _lesson_questions(results, lesson) for lesson in names}
    header = ["learner", *names, "total", "note"]
    rows = []
    for learner, mine in _groups(results).items():
        cells, notes, total = [], [], 0
        for lesson in names:
            qids = per_lesson[lesson]
            found = [r for r in mine if r.lesson == lesson]
            if not found:
                cells.append(NOT_RUN)
                continue
            r = found[-1]
            if len(found) > 1:
                notes.append(f"{lesson}: {len(found)} notebooks, graded {r.submission}")
            score = sum(bool(r.scores.get(q)) for q in qids)
            total += score
            cells.append(f"{score}/{len(qids)}")
            note = _note(r, qids)
            if note:
                notes.append(f"{lesson}: {note}")
        for r in mine:
            if not r.lesson:
                notes.append(f"{os.path.basename(r.submission)}: {r.note or r.status}")
        maximum = sum(len(q) for q in per_lesson.values())
        rows.append([learner, *cells, f"{total}/{maximum}", "; ".join(notes)])
    return header, rows


def _lesson_rows(results: Sequence[Result]) -> tuple[list[str], list[list[str]]]:
    qids = question_ids(results)
    header = ["submission", *qids, "total", "note"]
    rows = []
    for r in results:
        total = sum(bool(r.scores.get(q)) for q in qids)
        rows.append([r.submission, *[_cell(r, q, (PASS, FAIL, NOT_RUN)) for q in qids],
                     f"{total}/{len(qids)}", _note(r, qids)])
    return header, rows


def format_table(results: Sequence[Result]) -> str:
    """The score table as aligned plain text (one lesson, or one row per learner)."""
    header, rows = (_workshop_rows if _workshop(results) else _lesson_rows)(results)
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]
    return "\n".join(lines)


def csv_text(results: Sequence[Result]) -> str:
    """The table as CSV, every question with its score (1/0, empty when not run), hints taken
    and solution seen (1/0), then the total, the maximum and the note; in a workshop one row
    per learner with a total per lesson as well."""
    qids = question_ids(results)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    detail = [f"{q} {part}" for q in qids for part in ("hints", "solution")]
    if _workshop(results):
        names = lessons(results)
        _, rows = _workshop_rows(results)
        writer.writerow(["learner", "status", *names, *qids, *detail, "total", "max", "note"])
        for (learner, mine), row in zip(_groups(results).items(), rows, strict=True):
            by_q = {q: r for r in mine for q in r.questions or r.scores}
            status = "; ".join(f"{r.lesson or os.path.basename(r.submission)}: {r.status}"
                               for r in mine)
            scores = [("" if q not in by_q or not by_q[q].graded
                       else "1" if by_q[q].scores.get(q) else "0") for q in qids]
            looks = []
            for q in qids:
                look = by_q[q].looks.get(q, Looks()) if q in by_q else Looks()
                looks += [str(look.hints), str(int(bool(look.solutions)))]
            lesson_totals = [cell.split("/")[0] if cell != NOT_RUN else "" for cell in
                             row[1:1 + len(names)]]
            total, maximum = row[-2].split("/")
            writer.writerow([learner, status, *lesson_totals, *scores, *looks, total, maximum,
                             row[-1]])
        return buffer.getvalue()
    _, rows = _lesson_rows(results)
    writer.writerow(["submission", "status", *qids, *detail, "total", "max", "peak MB", "note"])
    for r, row in zip(results, rows, strict=True):
        scores = ["" if not r.graded else "1" if r.scores.get(q) else "0" for q in qids]
        looks = []
        for q in qids:
            look = r.looks.get(q, Looks())
            looks += [str(look.hints), str(int(bool(look.solutions)))]
        peak = "" if r.peak_mb is None else str(r.peak_mb)
        writer.writerow([r.submission, r.status, *scores, *looks, row[-2].split("/")[0],
                         len(qids), peak, row[-1]])
    return buffer.getvalue()


def write_csv(results: Sequence[Result], path: str | os.PathLike[str]) -> None:
    """Write :func:`csv_text` to ``path`` (UTF-8)."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(csv_text(results))
