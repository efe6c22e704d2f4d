"""The kinds of questions: numbers to find, code to write, a choice with a reason, custom.

Each kind only decides *whether* an answer is right and *what to say* when it is not;
printing, raising, hints and solutions live in :class:`~mtl_kit.exercises.core.Question`.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import textwrap
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from mtl_kit.exercises.compare import difference, format_value, same, to_numpy
from mtl_kit.exercises.core import (
    BLANK,
    IncorrectAnswer,
    NotAttempted,
    Question,
    WrongAnswer,
    ____,
    contains_blank,
)

__all__ = ["ChoiceQuestion", "CodeQuestion", "CustomQuestion", "ValueQuestion"]


def _check_wrong(wrong: Sequence[WrongAnswer]) -> list[WrongAnswer]:
    if isinstance(wrong, WrongAnswer) or not all(isinstance(w, WrongAnswer) for w in wrong):
        raise TypeError("wrong must be a sequence of WrongAnswer(answer, feedback)")
    return list(wrong)


def _check_tolerance(rtol: float, atol: float) -> None:
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol >= 0:
            raise ValueError(f"{name} must be a number >= 0, got {tol!r}")


class ValueQuestion(Question):
    """A number (or array, or dict of numbers) to find.

    Correct when ``|answer - expected| <= atol + rtol * |expected|`` elementwise; an
    integer ``expected`` (a count) must be matched exactly unless ``exact_ints=False``.

    Args:
        expected: the value, or a zero-argument function computing it (called once, at the
            first check, so importing the exercise module stays fast).
        rtol, atol: relative and absolute tolerance.
        wrong: typical wrong values (or predicates) with specific feedback.
        incorrect: the message for any other wrong value.
    """

    kind = "value question"

    def __init__(self, id: str, prompt: str, expected: Any, *, rtol: float = 1e-3,
                 atol: float = 1e-6, exact_ints: bool = True,
                 wrong: Sequence[WrongAnswer] = (),
                 incorrect: str = "that is not the expected value; hint() can help",
                 **kwargs: Any) -> None:
        super().__init__(id, prompt, **kwargs)
        _check_tolerance(rtol, atol)
        if expected is BLANK:
            raise ValueError("expected must be a value or a function, not the blank")
        self._expected = expected
        self._expected_cache: Any = BLANK
        self.rtol, self.atol, self.exact_ints = float(rtol), float(atol), bool(exact_ints)
        self._wrong = _check_wrong(wrong)
        for w in self._wrong:
            if callable(w.answer) and w.example is BLANK:
                raise ValueError(f"{id}: a predicate WrongAnswer needs an example value")
        self.incorrect = incorrect

    @property
    def _expected_value(self) -> Any:
        """The expected value (computed on first use when given as a function)."""
        if self._expected_cache is BLANK:
            value = self._expected() if callable(self._expected) else self._expected
            self._expected_cache = to_numpy(value) if not isinstance(value, int) else value
        return self._expected_cache

    def check(self, answer: Any = ____) -> None:
        """Check ``answer``; prints the verdict, raises unless it is correct."""
        self._run_check(answer)

    def _evaluate(self, answer: Any = ____) -> None:
        if contains_blank(answer):
            raise NotAttempted("replace ____ with the number you found, then run this cell "
                               "again")
        reason = difference(answer, self._expected_value, rtol=self.rtol, atol=self.atol,
                            exact_ints=self.exact_ints)
        if reason is None:
            return
        for w in self._wrong:
            if callable(w.answer):
                try:
                    matched = bool(w.answer(answer))
                except Exception:  # a predicate that cannot judge this answer: no match
                    matched = False
            elif self.exact_ints and isinstance(w.answer, (int, np.integer)):
                matched = difference(answer, w.answer, rtol=0, atol=0, exact_ints=True) is None
            else:
                matched = same(answer, w.answer, rtol=self.rtol, atol=self.atol)
            if matched:
                raise IncorrectAnswer(w.feedback)
        if reason.startswith("your answer is ") and reason.endswith("not the expected value"):
            raise IncorrectAnswer(self.incorrect)
        raise IncorrectAnswer(reason)

    def _examples(self) -> tuple[tuple[Any, ...], list[tuple[tuple[Any, ...], str]]]:
        """The expected value, and every registered wrong value with its feedback."""
        return (self._expected_value,), [((w.submitted,), w.feedback) for w in self._wrong]


class CodeQuestion(Question):
    """A function to write (a loss, a metric, a data query), checked against a reference.

    The learner's function and ``reference`` are both called on every test case; the
    answer is correct when all results agree within tolerance. When they do not, and the
    learner's results agree with one of the ``wrong`` implementations on every case, that
    mistake's feedback is shown (e.g. "used sum instead of mean").

    Args:
        reference: the correct implementation.
        cases: test inputs: tuples of positional arguments, or dicts of keyword arguments;
            or a zero-argument function returning that list (called once, lazily).
        wrong: wrong implementations with specific feedback.
        name: what to call the learner's function in messages ("loss", "metric", ...).
        solution: defaults to the reference's source code.
    """

    kind = "code question"

    def __init__(self, id: str, prompt: str, reference: Callable[..., Any],
                 cases: Sequence[tuple[Any, ...] | Mapping[str, Any]]
                 | Callable[[], Sequence[Any]], *,
                 rtol: float = 1e-4, atol: float = 1e-6, wrong: Sequence[WrongAnswer] = (),
                 name: str = "function", **kwargs: Any) -> None:
        if not callable(reference):
            raise TypeError(f"reference must be callable, got {type(reference).__name__}")
        if "solution" not in kwargs:
            try:
                kwargs["solution"] = textwrap.dedent(inspect.getsource(reference))
            except (OSError, TypeError):
                kwargs["solution"] = ""
        super().__init__(id, prompt, **kwargs)
        _check_tolerance(rtol, atol)
        if not callable(cases) and (isinstance(cases, (str, bytes)) or len(cases) == 0):
            raise ValueError("cases must be a non-empty sequence of argument tuples or dicts")
        self._reference = reference
        self._cases = cases
        self._cache: dict[str, list[Any]] = {}
        self.rtol, self.atol = float(rtol), float(atol)
        self._wrong = _check_wrong(wrong)
        for w in self._wrong:
            if not callable(w.answer):
                raise TypeError(f"{id}: a code question's WrongAnswer must be a function")
        self.name = name

    @property
    def cases(self) -> list[Any]:
        """The test cases (computed on first use when given as a function)."""
        if "cases" not in self._cache:
            cases = self._cases() if callable(self._cases) else self._cases
            self._cache["cases"] = list(cases)
        return self._cache["cases"]

    @staticmethod
    def _call(fn: Callable[..., Any], case: Any) -> Any:
        # A function that edits its inputs in place must not spoil the next call; an
        # input that cannot be copied is passed as it is.
        with contextlib.suppress(Exception):
            case = copy.deepcopy(case)
        if isinstance(case, Mapping):
            return fn(**case)
        if isinstance(case, tuple):
            return fn(*case)
        return fn(case)

    def _results(self, fn: Callable[..., Any], key: str | None = None) -> list[Any]:
        if key is not None and key in self._cache:
            return self._cache[key]
        results = [to_numpy(self._call(fn, case)) for case in self.cases]
        if key is not None:
            self._cache[key] = results
        return results

    def check(self, function: Any = ____) -> None:
        """Check the learner's ``function``; prints the verdict, raises unless correct."""
        self._run_check(function)

    def _evaluate(self, function: Any = ____) -> None:
        if function is BLANK:
            raise NotAttempted(f"write your {self.name}, then pass it to check(), "
                               f"e.g. q.check(my_{self.name.replace(' ', '_')})")
        if not callable(function):
            raise IncorrectAnswer(f"pass the {self.name} itself (a function), "
                                  f"not an object of type {type(function).__name__}")
        got = []
        for i, case in enumerate(self.cases, start=1):
            try:
                result = self._call(function, case)
            except NotAttempted:
                raise
            except Exception as error:  # the learner's code failed: say how, do not crash
                raise IncorrectAnswer(
                    f"your {self.name} raised {type(error).__name__} on test case {i}: "
                    f"{_first_line(error)}") from None
            if contains_blank(result):
                raise NotAttempted(f"your {self.name} still returns ____")
            got.append(to_numpy(result))
        want = self._results(self._reference, "reference")
        first_reason = None
        for i, (g, w) in enumerate(zip(got, want, strict=True), start=1):
            reason = difference(g, w, rtol=self.rtol, atol=self.atol,
                                what=f"on test case {i} the result")
            if reason and first_reason is None:
                first_reason = reason
                if "not the expected value" in reason:
                    first_reason = (f"on test case {i} your {self.name} returned "
                                    f"{format_value(g)}, expected {format_value(w)}")
        if first_reason is None:
            return
        for k, w in enumerate(self._wrong):
            try:
                wrong_results = self._results(w.answer, f"wrong{k}")
            except Exception:  # a broken mistake model must not hide the generic message
                continue
            if all(same(g, r, rtol=self.rtol, atol=self.atol)
                   for g, r in zip(got, wrong_results, strict=True)):
                raise IncorrectAnswer(w.feedback)
        raise IncorrectAnswer(first_reason)

    def _examples(self) -> tuple[tuple[Any, ...], list[tuple[tuple[Any, ...], str]]]:
        """The reference, and every registered wrong implementation with its feedback."""
        return (self._reference,), [((w.submitted,), w.feedback) for w in self._wrong]


class ChoiceQuestion(Question):
    """Multiple choice with a reason: the right option *and* a reason of a few words.

    ``q.check(choice, reason)``: ``choice`` is an option key (case-insensitive); ``reason``
    a sentence of at least ``min_reason_words`` words saying why.

    Args:
        options: option key -> option text, e.g. ``{"a": "...", "b": "..."}``.
        answer: the right key (or several equally right keys).
        why_not: wrong key -> the specific feedback for choosing it.
        reason_solution: a model reason (also used as the correct example in tests).
        reason_keywords: the idea the reason must name, as groups of word stems: the reason
            must contain (case-insensitive) at least one stem of every group, e.g.
            ``[("calibrat", "probabilit"), ("rank", "order")]``. Empty: any reason of
            ``min_reason_words`` words is accepted.
        reason_hint: the feedback for a right choice whose reason misses a group.
    """

    kind = "multiple choice question"
    _check_signature = "choice, reason"

    def __init__(self, id: str, prompt: str, options: Mapping[str, str],
                 answer: str | Sequence[str], *, why_not: Mapping[str, str] | None = None,
                 min_reason_words: int = 3, reason_solution: str = "",
                 reason_keywords: Sequence[Sequence[str] | str] = (),
                 reason_hint: str = "",
                 **kwargs: Any) -> None:
        if not isinstance(options, Mapping) or len(options) < 2:
            raise ValueError("options must be a mapping of at least two keys to texts")
        keys = [str(k).lower() for k in options]
        answers = [answer] if isinstance(answer, str) else list(answer)
        answers = [a.lower() for a in answers]
        if not answers or any(a not in keys for a in answers):
            raise ValueError(f"answer must be among the option keys {keys}, got {answer!r}")
        why_not = {str(k).lower(): v for k, v in (why_not or {}).items()}
        if any(k not in keys or k in answers for k in why_not):
            raise ValueError("why_not keys must be wrong option keys")
        if isinstance(min_reason_words, bool) or not isinstance(min_reason_words, int) \
                or min_reason_words < 1:
            raise ValueError(f"min_reason_words must be an int >= 1, got {min_reason_words!r}")
        if "solution" not in kwargs:
            right = ", ".join(repr(a) for a in answers)
            kwargs["solution"] = f"choice = {right}\n" + (
                f"reason = {reason_solution!r}" if reason_solution else "")
        super().__init__(id, prompt, **kwargs)
        self.options = {str(k).lower(): v for k, v in options.items()}
        self._answers = answers
        self._why_not = why_not
        self.min_reason_words = min_reason_words
        groups = [(g,) if isinstance(g, str) else tuple(g) if isinstance(g, (list, tuple))
                  else () for g in reason_keywords]
        if isinstance(reason_keywords, str) or not all(
                g and all(isinstance(w, str) and w.strip() for w in g) for g in groups):
            raise TypeError("reason_keywords must be a sequence of word stems or of groups of "
                            "word stems, e.g. [('calibrat', 'probabilit')]")
        self._reason_keywords = [tuple(w.strip().lower() for w in g) for g in groups]
        self._reason_hint = reason_hint.strip()
        self._reason_solution = reason_solution or "because " + " ".join(
            ["this", "is", "the", "reason"][: max(3, min_reason_words)])

    def __repr__(self) -> str:
        lines = [super().__repr__()]
        lines += [f"  {k}) {v}" for k, v in self.options.items()]
        return "\n".join(lines)

    def check(self, choice: Any = ____, reason: Any = ____) -> None:
        """Check ``choice`` and ``reason``; prints the verdict, raises unless correct."""
        self._run_check(choice, reason)

    def _evaluate(self, choice: Any = ____, reason: Any = ____) -> None:
        keys = ", ".join(repr(k) for k in self.options)
        if choice is BLANK:
            raise NotAttempted(f"set choice to one of {keys} and write a short reason")
        key = choice.strip().lower() if isinstance(choice, str) else None
        if key not in self.options:
            raise IncorrectAnswer(f"choice must be one of {keys}, got {format_value(choice)}")
        if key not in self._answers:
            raise IncorrectAnswer(self._why_not.get(
                key, "that is not the best option; reread the options and think again"))
        if reason is BLANK:
            raise NotAttempted("right choice; now replace the reason ____ with a short "
                               "sentence saying why")
        if not isinstance(reason, str):
            raise IncorrectAnswer(f"reason must be a sentence (a str), "
                                  f"got {type(reason).__name__}")
        words = reason.split()
        if len(words) < self.min_reason_words:
            raise IncorrectAnswer(f"right choice, but give a reason of at least "
                                  f"{self.min_reason_words} words")
        said = reason.lower()
        for group in self._reason_keywords:
            if not any(stem in said for stem in group):
                raise IncorrectAnswer(self._reason_hint or (
                    f"right choice, but your reason does not name the idea behind it (a word "
                    f"like {group[0]!r})"))

    def _examples(self) -> tuple[tuple[Any, ...], list[tuple[tuple[Any, ...], str]]]:
        """The right choice with the model reason, and each wrong choice with its feedback."""
        wrong = [((k, self._reason_solution), fb) for k, fb in self._why_not.items()]
        if self._reason_keywords:
            vague = "because that is what the lesson showed us in its cells"
            wrong.append(((self._answers[0], vague), self._reason_hint or "does not name the idea"))
        return (self._answers[0], self._reason_solution), wrong


class CustomQuestion(Question):
    """Anything else (e.g. a Keras model to build): a ``checker`` decides.

    ``checker(answer)`` returns ``None`` when the answer is right or a string with the
    specific feedback when it is wrong (it may also raise ``IncorrectAnswer(msg)`` or
    ``NotAttempted(msg)``). An answer that is or contains ``____`` is "not attempted"
    before the checker runs.

    Args:
        checker: the decision function.
        correct_example: an answer the checker accepts (for tests).
        wrong: example wrong answers (``WrongAnswer(example, feedback)``) for tests.
    """

    kind = "question"

    def __init__(self, id: str, prompt: str, checker: Callable[[Any], str | None], *,
                 correct_example: Any = BLANK, wrong: Sequence[WrongAnswer] = (),
                 **kwargs: Any) -> None:
        if not callable(checker):
            raise TypeError(f"checker must be callable, got {type(checker).__name__}")
        super().__init__(id, prompt, **kwargs)
        self._checker = checker
        self._correct_example = correct_example
        self._wrong = _check_wrong(wrong)

    def check(self, answer: Any = ____) -> None:
        """Check ``answer``; prints the verdict, raises unless it is correct."""
        self._run_check(answer)

    def _evaluate(self, answer: Any = ____) -> None:
        if contains_blank(answer):
            raise NotAttempted("replace ____ with your answer, then run this cell again")
        feedback = self._checker(answer)
        if feedback is not None:
            raise IncorrectAnswer(str(feedback))

    def _examples(self) -> tuple[tuple[Any, ...], list[tuple[tuple[Any, ...], str]]]:
        """The correct example, and the registered wrong examples with their feedback."""
        return (self._correct_example,), [((w.submitted,), w.feedback) for w in self._wrong]


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else "(no message)"
