"""Verdict records: what ``check()``, ``hint()`` and ``solution()`` leave behind while graded.

Outside the grader nothing here does anything. When the grader runs a submission it *arms*
the kernel with a fresh secret key before the first cell (a silent execute request, kept out
of IPython's history). From then on every ``check()`` adds one output to its cell,
a record of MIME type :data:`MIME`::

    {"event": "check", "question": "01.q2", "verdict": "correct", "hints": 1,
     "solution": 0, "intact": true, "seq": 7, "mac": "<hex>"}

and every ``hint()`` / ``solution()`` / ``examples()`` call adds an ``event: "hint"`` or
``"solution"`` record. ``mac = HMAC-SHA256(key, canonical JSON of the other fields)``, so a
printed "✓ Correct", a hand-made record or one from another run does not verify. ``intact``
is false when the question's ``check``, ``_run_check`` or ``_evaluate`` resolve to code
outside the ``mtl_kit`` package (a learner replaced them).

The key lives only in a closure of this module. Code in the learner's kernel that digs it out
of memory (or patches the checking library itself) can still forge a record: the grader reports
the naive routes and README states that limit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["MIME", "arm", "armed", "looked", "sign", "verdict"]

#: The MIME type of a record in a cell's outputs.
MIME = "application/vnd.mtl-kit.record+json"
_PACKAGE = str(Path(__file__).resolve().parent.parent)
#: Methods whose code must come from the package for a verdict to count as intact.
GUARDED = ("check", "_run_check", "_evaluate")


def sign(key: str, payload: Mapping[str, Any]) -> str:
    """HMAC-SHA256 of the canonical JSON of ``payload`` (its ``mac`` field left out)."""
    body = json.dumps({k: v for k, v in payload.items() if k != "mac"}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=True)
    return hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest()


def _from_package(function: Any) -> bool:
    code = getattr(getattr(function, "__func__", function), "__code__", None)
    return code is not None and str(Path(code.co_filename).resolve()).startswith(_PACKAGE)


def intact(question: Any) -> bool:
    """True when the question's guarded methods are the package's own code."""
    own = getattr(question, "__dict__", {})
    if any(name in own for name in GUARDED):
        return False
    return all(_from_package(getattr(type(question), name, None)) for name in GUARDED)


def _recorder() -> tuple[Callable[[str], None], Callable[[], bool],
                         Callable[[str, str], None], Callable[[Any, str], None]]:
    key: list[str] = []
    seq = [0]
    looks: dict[tuple[str, str], int] = {}

    def emit(payload: dict[str, Any]) -> None:
        seq[0] += 1
        payload["seq"] = seq[0]
        payload["mac"] = sign(key[0], payload)
        try:
            from IPython.display import display
        except ImportError:  # pragma: no cover - graded runs always have IPython
            return
        display({MIME: payload}, raw=True)

    def arm_(secret: str) -> None:
        if key:
            raise RuntimeError("the verdict recorder is already armed")
        if not isinstance(secret, str) or len(secret) < 16:
            raise ValueError("secret must be a str of at least 16 characters")
        key.append(secret)

    def armed_() -> bool:
        return bool(key)

    def looked_(question_id: str, what: str) -> None:
        looks[question_id, what] = looks.get((question_id, what), 0) + 1
        if key:
            emit({"event": what, "question": question_id})

    def verdict_(question: Any, outcome: str) -> None:
        if key:
            qid = question.id
            emit({"event": "check", "question": qid, "verdict": outcome,
                  "hints": looks.get((qid, "hint"), 0),
                  "solution": looks.get((qid, "solution"), 0), "intact": intact(question)})

    return arm_, armed_, looked_, verdict_


#: ``arm(secret)``: start recording (once per kernel; the grader calls it before any cell).
#: ``armed()``: True while recording. ``looked(question_id, "hint" | "solution")``: count a
#: look. ``verdict(question, "correct" | "incorrect" | "not attempted")``: record a check.
arm, armed, looked, verdict = _recorder()
