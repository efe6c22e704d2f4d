"""The machinery every exercise question shares: blanks, verdicts, hints and solutions.

A question is an object ``q`` with three methods a learner calls from a notebook:

* ``q.check(answer)`` prints one short, deterministic verdict line::

      ✓ Correct
      ✗ Incorrect: <a specific hint about what is wrong>
      Not attempted yet: <what to do>

  and **raises** on the last two (:class:`IncorrectAnswer`, :class:`NotAttempted`, both
  subclasses of ``AssertionError``), so ``pytest --nbval-lax`` fails exactly that cell;
* ``q.hint()`` prints the next hint (``q.hint(2)`` a given level);
* ``q.solution()`` prints the solution.

Verdicts are plain text, the same in a terminal and in Jupyter. In IPython the raised
exception renders as a single line (no stack trace), so a learner sees the verdict and
one red line, not a wall of frames.

Handed-out notebooks write ``answer = ____``: :data:`____` is the blank, and checking it
(or anything that still contains it) says "Not attempted yet". Using the blank in
arithmetic, calling it or indexing it raises :class:`NotAttempted` too, so a half-written
function such as ``return ____ * loss`` is reported as unattempted, not as a crash.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn

from mtl_kit.exercises import record

__all__ = [
    "BLANK",
    "CheckError",
    "IncorrectAnswer",
    "NotAttempted",
    "Question",
    "WrongAnswer",
    "____",
    "contains_blank",
    "registry",
]

ID_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
CORRECT = "✓ Correct"
INCORRECT = "✗ Incorrect"
NOT_ATTEMPTED = "Not attempted yet"


class CheckError(AssertionError):
    """Base class of the two ways a check can fail; carries the question id."""

    label: ClassVar[str] = "Check failed"

    def __init__(self, message: str, question_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.question_id = question_id

    @property
    def verdict(self) -> str:
        """The line ``check()`` prints, e.g. ``"✗ Incorrect: used sum instead of mean"``."""
        return f"{self.label}: {self.message}"

    def __str__(self) -> str:
        prefix = f"{self.question_id}: " if self.question_id else ""
        return prefix + self.verdict

    def _render_traceback_(self) -> list[str]:
        """IPython hook: show one line instead of a stack trace."""
        return [f"{type(self).__name__}: {self}"]


class IncorrectAnswer(CheckError):  # noqa: N818 - learners read this name
    """Raised by ``check()`` for a wrong answer.

    Question authors may also raise it (with a specific message) from a custom checker.
    """

    label = INCORRECT


class NotAttempted(CheckError):  # noqa: N818 - learners read this name
    """Raised by ``check()`` while the answer is still blank (or contains a blank)."""

    label = NOT_ATTEMPTED


class _Blank:
    """The ``____`` placeholder of handed-out notebooks. There is exactly one."""

    _instance: ClassVar[_Blank | None] = None

    def __new__(cls) -> _Blank:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "____"

    def __reduce__(self) -> str:
        return "BLANK"

    def _refuse(self, *args: object, **kwargs: object) -> NoReturn:
        raise NotAttempted("replace every ____ with your own code or value, then run again")

    __call__ = __getitem__ = __iter__ = __len__ = __bool__ = _refuse
    __float__ = __int__ = __index__ = __complex__ = __array__ = _refuse
    __neg__ = __pos__ = __abs__ = __invert__ = _refuse
    __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = _refuse
    __mod__ = __rmod__ = __pow__ = __rpow__ = __matmul__ = __rmatmul__ = _refuse
    __and__ = __rand__ = __or__ = __ror__ = __xor__ = __rxor__ = _refuse


#: The blank learners replace: ``answer = ____``.
____ = _Blank()
BLANK = ____


def contains_blank(value: object, _depth: int = 0) -> bool:
    """True when ``value`` is the blank or a list/tuple/set/dict that still holds one."""
    if value is BLANK:
        return True
    if _depth > 20:
        return False
    if isinstance(value, Mapping):
        return any(contains_blank(v, _depth + 1) for v in value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(contains_blank(v, _depth + 1) for v in value)
    return False


@dataclass(frozen=True)
class WrongAnswer:
    """A typical wrong answer and the specific feedback it deserves.

    What ``answer`` is depends on the kind of question:

    * value questions: the wrong value (compared with the question's tolerance), or a
      predicate ``answer(value) -> bool`` (then give ``example``, a value it accepts);
    * code questions: a wrong *implementation* with the reference's signature; a learner's
      function that returns the same results on every test case gets ``feedback``;
    * multiple choice: the key of the wrong option.

    ``example`` is what a learner would submit to trigger this feedback; it defaults to
    ``answer`` and lets tests replay every registered mistake.
    """

    answer: Any
    feedback: str
    example: Any = BLANK

    def __post_init__(self) -> None:
        if not isinstance(self.feedback, str) or not self.feedback.strip():
            raise ValueError("feedback must be a non-empty string")

    @property
    def submitted(self) -> Any:
        """The learner's answer that should produce ``feedback``."""
        return self.answer if self.example is BLANK else self.example


_REGISTRY: dict[str, Question] = {}


def registry() -> dict[str, Question]:
    """All questions created so far, by id (a copy). Re-creating an id replaces it."""
    return dict(_REGISTRY)


class Question:
    """Base class: id, prompt, hints, solution text and the check/hint/solution methods.

    Subclasses implement :meth:`_evaluate`, which raises :class:`NotAttempted` or
    :class:`IncorrectAnswer` (with a specific message) or returns ``None`` when correct,
    and :meth:`examples`, which lists answers for tests.

    Args:
        id: stable id such as ``"01.q1"``; the grader maps ``# CHECK: 01.q1`` cells to it.
        prompt: the question, one or two sentences (shown by ``repr`` and ``help``).
        hints: hint texts, from gentle to explicit.
        solution: the solution text (usually code) printed by :meth:`solution`.
        correct_note: optional remark appended to ``✓ Correct`` (e.g. why it matters).
    """

    kind: ClassVar[str] = "question"
    _check_signature: ClassVar[str] = "answer"

    def __init__(
        self,
        id: str,
        prompt: str,
        *,
        hints: Sequence[str] = (),
        solution: str = "",
        correct_note: str = "",
    ) -> None:
        if not isinstance(id, str) or not ID_PATTERN.match(id):
            raise ValueError(f"id must be a string like '01.q1' (letters, digits, '.', '_', '-'); "
                             f"got {id!r}")
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError("prompt must be a non-empty string")
        if isinstance(hints, str) or not all(isinstance(h, str) and h.strip() for h in hints):
            raise TypeError("hints must be a sequence of non-empty strings")
        if not isinstance(solution, str):
            raise TypeError("solution must be a string")
        self.id = id
        self.prompt = textwrap.dedent(prompt).strip()
        self._hints = [textwrap.dedent(h).strip() for h in hints]
        self._solution = textwrap.dedent(solution).strip("\n")
        self.correct_note = correct_note.strip()
        self._hint_level = 0
        self.last_verdict: str | None = None
        _REGISTRY[id] = self

    # -- the learner's three methods ------------------------------------------------------

    def _run_check(self, *answer: Any) -> None:
        """Print the verdict for ``answer``; raise on incorrect or unattempted."""
        try:
            self._evaluate(*answer)
        except CheckError as failure:
            error = type(failure)(failure.message, self.id)
            self.last_verdict = error.verdict
            print(error.verdict)
            record.verdict(self, "not attempted" if isinstance(error, NotAttempted)
                           else "incorrect")
            raise error from None
        self.last_verdict = CORRECT + (f": {self.correct_note}" if self.correct_note else "")
        print(self.last_verdict)
        record.verdict(self, "correct")

    def hint(self, level: int | None = None) -> None:
        """Print a hint: the next one on each call, or the given ``level`` (1 = gentlest)."""
        n = len(self._hints)
        if level is not None and (isinstance(level, bool) or not isinstance(level, int)):
            raise TypeError(f"level must be an int from 1 to {max(n, 1)} or None, got {level!r}")
        if n == 0:
            print("No hints for this question: try solution() if you are stuck.")
            return
        if level is None:
            level = min(self._hint_level + 1, n)
        elif not 1 <= level <= n:
            raise ValueError(f"level must be between 1 and {n} for question {self.id}, "
                             f"got {level}")
        self._hint_level = level
        record.looked(self.id, "hint")
        text = f"Hint {level}/{n}: {self._hints[level - 1]}"
        if level == n:
            text += "\n(That is the last hint; solution() shows the answer.)"
        print(text)

    def solution(self) -> None:
        """Print the solution (while graded, the grader's table flags the question)."""
        record.looked(self.id, "solution")
        print("Solution:")
        print(self._solution or "(no solution text for this question)")

    # -- for authors and tests ------------------------------------------------------------

    def _evaluate(self, *answer: Any) -> None:
        raise NotImplementedError

    def examples(self) -> tuple[tuple[Any, ...], list[tuple[tuple[Any, ...], str]]]:
        """``(correct_args, [(wrong_args, feedback), ...])``: replayable answers for tests.

        The correct answer is in there, so a graded call counts as looking at the solution.
        """
        record.looked(self.id, "solution")
        return self._examples()

    def _examples(self) -> tuple[tuple[Any, ...], list[tuple[tuple[Any, ...], str]]]:
        raise NotImplementedError

    def __repr__(self) -> str:
        first = self.prompt.splitlines()[0]
        return f"<{self.kind} {self.id}: {first}>"


def fail(message: str) -> NoReturn:
    """Raise :class:`IncorrectAnswer` with ``message`` (for custom checkers)."""
    raise IncorrectAnswer(message)


def not_attempted(message: str) -> NoReturn:
    """Raise :class:`NotAttempted` with ``message`` (for custom checkers)."""
    raise NotAttempted(message)
