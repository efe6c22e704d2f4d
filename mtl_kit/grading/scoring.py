"""Score one executed submission from its verdict records, not from cells that did not raise.

A question scores 1 only when all of these hold:

* its check cell (``# CHECK: <id>``, see :mod:`mtl_kit.exercises.cells`) has the source of
  the handed-out cell (compared line by line, trailing spaces and nbval markers ignored, as
  nbgrader checks its read-only cells) and stands in the handed-out order;
* that cell's outputs hold a verdict record (:mod:`mtl_kit.exercises.record`) for this
  question whose HMAC verifies with this run's key, saying ``correct`` with the checker
  intact (the last record of the cell counts).

Anything else scores 0, with a note naming the question when the check was altered, moved,
silenced (the cell ran but recorded nothing) or replaced. ``hint()`` and ``solution()`` calls
are counted per question from the same records.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtl_kit.exercises.cells import check_cells
from mtl_kit.exercises.record import MIME, sign

__all__ = ["Handouts", "Looks", "Scored", "load_handouts", "normalise", "score_executed",
           "suspicious_cells"]

NBVAL_MARKERS = ("NBVAL_RAISES_EXCEPTION", "NBVAL_CHECK_OUTPUT", "NBVAL_SKIP",
                 "(nbval marker removed by the grader)")

#: Code that reaches into the checking machinery, with the name shown in the note.
SUSPICIOUS = [
    (re.compile(r"\bq\d+\s*\.\s*_\w|\._(evaluate|run_check|expected\w*|reference|answers"
                r"|hints|solution|wrong|checker|correct_example|reason_\w+|why_not)\b"),
     "reaches for a question's private parts"),
    (re.compile(r"\bq\d+\s*\.\s*(check|hint|solution|examples)\s*=(?!=)"),
     "reassigns a question's method"),
    (re.compile(r"mtl_kit\.exercises\.(core|kinds|record|compare|experiment)\b"
                r"|from\s+mtl_kit\.exercises\s+import\s+[^\n]*\b(core|kinds|record)\b"),
     "imports the checking library's internals"),
    (re.compile(r"__closure__|__code__|__globals__|__dict__|__class__|\bgc\.|\bctypes\b"
                r"|/proc/|importlib|sys\.modules|\bsetattr\s*\("), "uses Python internals"),
    (re.compile(r"capture_output|raw\s*=\s*True|vnd\.mtl-kit"),
     "captures output or displays raw records"),
]


def _text(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def normalise(source: str) -> str:
    """A check cell's source for comparison: nbval markers, trailing spaces, blank edges out."""
    lines = [line.rstrip() for line in source.replace("\r\n", "\n").split("\n")
             if line.strip().lstrip("#").strip() not in NBVAL_MARKERS]
    return "\n".join(lines).strip("\n")


@dataclass
class Handouts:
    """The handed-out notebooks: each question's check-cell source and position, per lesson."""

    checks: dict[str, tuple[str, int]] = field(default_factory=dict)
    code_cells: set[str] = field(default_factory=set)
    lessons: dict[str, list[str]] = field(default_factory=dict)

    def lesson_of(self, qid: str) -> str:
        """The lesson a question belongs to: its id up to the first dot (``01.q2`` → ``01``)."""
        return qid.split(".", 1)[0]


def load_handouts(notebooks: Iterable[Mapping[str, Any]]) -> Handouts:
    """:class:`Handouts` from handed-out notebooks (as dicts)."""
    handouts = Handouts()
    for nb in notebooks:
        cells = nb.get("cells", [])
        for position, (cell_index, _, qid) in enumerate(check_cells(cells)):
            handouts.checks[qid] = (normalise(_text(cells[cell_index])), position)
            handouts.lessons.setdefault(handouts.lesson_of(qid), []).append(qid)
        handouts.code_cells |= {normalise(_text(c)) for c in cells
                                if c.get("cell_type") == "code"}
    return handouts


def load_handout_files(paths: Iterable[Path]) -> Handouts:
    """:func:`load_handouts` from ``*.ipynb`` files and folders of them."""
    import json

    notebooks = []
    for path in paths:
        files = sorted(path.glob("*.ipynb")) if path.is_dir() else [path]
        notebooks += [json.loads(f.read_text(encoding="utf-8")) for f in files]
    return load_handouts(notebooks)


@dataclass
class Looks:
    """How often a learner asked a question for help while graded."""

    hints: int = 0
    solutions: int = 0

    def marks(self) -> str:
        """Short marks for the table: ``h2`` (two hints), ``s`` (saw the solution)."""
        return " ".join(filter(None, [f"h{self.hints}" if self.hints else "",
                                      "s" if self.solutions else ""]))


@dataclass
class Scored:
    """Scores, looks and notes for one executed notebook."""

    scores: dict[str, bool]
    looks: dict[str, Looks]
    notes: list[str]


def _records(cell: Mapping[str, Any], key: str) -> tuple[list[dict[str, Any]], int]:
    """Verified records in ``cell``'s outputs, and how many failed to verify."""
    good, bad = [], 0
    for output in cell.get("outputs", []):
        data = output.get("data") if isinstance(output, Mapping) else None
        if not isinstance(data, Mapping) or MIME not in data:
            continue
        record = data[MIME]
        mac = record.get("mac") if isinstance(record, Mapping) else None
        if isinstance(mac, str) and hmac.compare_digest(mac, sign(key, record)):
            good.append(dict(record))
        else:
            bad += 1
    return good, bad


def suspicious_cells(nb: Mapping[str, Any], handouts: Handouts) -> list[str]:
    """Notes for code cells (not handed out as they are) that touch the checking machinery."""
    notes = []
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        text = _text(cell)
        if normalise(text) in handouts.code_cells:
            continue
        found = [what for pattern, what in SUSPICIOUS if pattern.search(text)]
        if found:
            notes.append(f"look at cell {index + 1}: it {', '.join(found)}")
    return notes


def score_executed(submitted: Mapping[str, Any], executed: Mapping[str, Any],
                   ran: Mapping[int, str], handouts: Handouts, key: str) -> Scored:
    """Score ``executed`` (the run of ``submitted``, before the grader's preparation).

    ``ran`` maps the index of each cell that ran to ``"passed"`` or ``"failed"``. Notes name
    the questions whose checks were altered, moved, silenced or replaced, and cells holding
    records that do not verify.
    """
    checks = check_cells(submitted["cells"])
    cells = executed["cells"]
    scores: dict[str, bool] = {}
    looks: dict[str, Looks] = {}
    notes: list[str] = []
    last_position = -1
    check_indexes = {index for index, _, _ in checks}
    for index, cell in enumerate(cells):
        if index in check_indexes:
            continue
        records, bad = _records(cell, key)
        if bad:
            notes.append(f"forged verdict record in cell {index + 1}")
        for rec in records:
            if rec.get("event") in ("hint", "solution"):
                look = looks.setdefault(str(rec.get("question")), Looks())
                if rec["event"] == "hint":
                    look.hints += 1
                else:
                    look.solutions += 1
    for index, _, qid in checks:
        scores[qid] = False
        records, bad = _records(cells[index], key)
        if bad:
            notes.append(f"{qid}: forged verdict record")
        verdicts = [r for r in records if r.get("event") == "check"
                    and r.get("question") == qid]
        for rec in records:
            if rec.get("event") in ("hint", "solution"):
                look = looks.setdefault(str(rec.get("question")), Looks())
                look.hints += rec["event"] == "hint"
                look.solutions += rec["event"] == "solution"
        if verdicts:
            look = looks.setdefault(qid, Looks())
            look.hints = max(look.hints, int(verdicts[-1].get("hints", 0)))
            look.solutions = max(look.solutions, int(verdicts[-1].get("solution", 0)))
        handed = handouts.checks.get(qid)
        if handed is None:
            if handouts.lesson_of(qid) in handouts.lessons:
                notes.append(f"{qid}: not a handed-out question")
                continue
        else:
            if normalise(_text(submitted["cells"][index])) != handed[0]:
                notes.append(f"{qid}: check cell altered")
                continue
            if handed[1] < last_position:
                notes.append(f"{qid}: check cell moved")
                continue
            last_position = handed[1]
        if index not in ran:
            continue
        if not verdicts:
            if ran[index] == "failed":  # e.g. NameError: the answer was never defined
                continue
            notes.append(f"{qid}: check cell ran but recorded no verdict (check replaced?)")
            continue
        if not verdicts[-1].get("intact", False):
            notes.append(f"{qid}: check() or its checker was replaced")
            continue
        scores[qid] = verdicts[-1].get("verdict") == "correct"
    return Scored(scores, {q: v for q, v in looks.items() if v.hints or v.solutions}, notes)
