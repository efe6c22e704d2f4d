"""Experiment questions: the learner runs ``compare`` and reads a verdict off an interval.

``q.check(result, verdict)``: ``result`` is the ``Comparison`` that
``mtl_kit.experiments.compare`` returned, ``verdict`` one of :data:`VERDICTS`. The checker never
trains anything: it checks that the experiment was the asked-for one (validation split, K seeds,
the right models) and that the verdict is what the learner's *own* interval says.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from mtl_kit.exercises.core import (
    IncorrectAnswer,
    NotAttempted,
    WrongAnswer,
    ____,
    contains_blank,
)
from mtl_kit.exercises.kinds import CustomQuestion

VERDICTS = ("better", "worse", "no difference we can detect")

WRONG_SPLIT = ("choices and explorations are made on the validation split: run compare(..., "
               "split='val'); the test split is kept for the lesson's final numbers")
SAYS_DETECTED = ("includes 0: a difference is 'better' or 'worse' only when the whole "
                 "interval lies on one side of 0")
SAYS_NOTHING = ("lies entirely on one side of 0: that is a difference we can detect; say which "
                "way it goes")


def wrong_seeds(n_seeds: int) -> str:
    return f"run {n_seeds} seeds (seeds={n_seeds}): a run or two cannot tell a gain from luck"


def check_comparison(result: Any, n_seeds: int) -> str | None:
    """Feedback when ``result`` is not a validation ``Comparison`` over ``n_seeds`` seeds."""
    if not all(hasattr(result, a) for a in ("difference", "split", "seeds", "models",
                                            "reference", "tasks", "y_true")):
        return (f"result must be what compare(...) returns (a Comparison), got "
                f"{type(result).__name__}")
    if result.split != "val":
        return WRONG_SPLIT
    if len(result.seeds) != n_seeds:
        return wrong_seeds(n_seeds)
    return None


def judge_verdict(estimate: Any, verdict: Any, what: str, wrong_sign: str) -> str | None:
    """None when ``verdict`` is what ``estimate``'s interval says (higher is better), else the
    feedback; ``what`` names the interval (e.g. "purchase's interval"), ``wrong_sign`` is the
    feedback for a detected difference read the wrong way round."""
    from mtl_kit.experiments import verdict as verdict_of

    if not isinstance(verdict, str) or verdict.strip().lower() not in VERDICTS:
        return f"verdict must be one of {', '.join(repr(v) for v in VERDICTS)}, got {verdict!r}"
    said = verdict.strip().lower()
    right = verdict_of(estimate)
    if said == right:
        return None
    if right == VERDICTS[2]:
        return f"{what} {estimate} {SAYS_DETECTED}"
    if said == VERDICTS[2]:
        return f"{what} {estimate} {SAYS_NOTHING}"
    return f"{what} is {estimate}: {wrong_sign}"


def synthetic_scores(seed: int, n: int = 3000) -> tuple[np.random.Generator, dict, np.ndarray,
                                                         dict]:
    """Labels and a shared signal for a synthetic click/purchase experiment (tests of a
    question; trains nothing): ``(rng, y, users, signal)`` with 3 rows per user, 30 % clicks,
    5 % purchases, and ``signal[task] = y + N(0, 1.2²)``; each model adds its own noise to the
    signal, drawn from the returned ``rng``."""
    rng = np.random.default_rng(seed)
    users = np.repeat(np.arange(n // 3), 3)
    y = {"click": (rng.random(n) < 0.3).astype("float32"),
         "purchase": (rng.random(n) < 0.05).astype("float32")}
    signal = {t: y[t] + rng.normal(scale=1.2, size=n) for t in y}
    return rng, y, users, signal


def check_two_models(result: Any, verdict: Any, *, model: str, reference: str, n_seeds: int,
                     setup_hint: str, sign_hint: str, task_hint: str,
                     tasks: tuple[str, ...] = ("click", "purchase"),
                     also_allowed: tuple[str, ...] = ()) -> str | None:
    """The checker of an experiment that compares ``model`` with ``reference`` on purchase: None
    when ``result`` is a validation comparison over ``n_seeds`` seeds of exactly those two
    (``also_allowed`` may be there too, e.g. "single-task"), scoring ``tasks``, and ``verdict``
    is what purchase's interval says; else the feedback (``setup_hint`` for the wrong models,
    ``task_hint`` for missing tasks, ``sign_hint`` for a difference read the wrong way)."""
    problem = check_comparison(result, n_seeds)
    if problem is not None:
        return problem
    if set(result.models) - set(also_allowed) != {model, reference} \
            or result.reference != reference:
        return setup_hint
    if not set(tasks) <= {t.name for t in result.tasks}:
        return task_hint
    return judge_verdict(result.difference(model, "purchase"), verdict, "purchase's interval",
                         sign_hint)


def fake_comparison(seed: int, names: tuple[str, str], *, split: str = "val", seeds: int = 5,
                    purchase_shift: float = 0.0, n: int = 3000) -> Any:
    """A synthetic validation ``Comparison`` of two models shaped like an experiment question's
    (for tests of the question; trains nothing). Both score :func:`synthetic_scores`' signal with
    their own noise N(0, 0.3²) per seed; ``names[0]``'s purchase scores are shifted up by
    ``purchase_shift`` on the buyers (a detectable gain when large); ``names[1]`` is the
    reference."""
    from mtl_kit.experiments import Comparison, SeedRun
    from mtl_kit.tasks import as_tasks

    rng, y, users, signal = synthetic_scores(seed, n=n)
    model, reference = [], []
    for _ in range(seeds):
        theirs = {t: signal[t] + rng.normal(scale=0.3, size=len(users)) for t in y}
        ours = {t: signal[t] + rng.normal(scale=0.3, size=len(users)) for t in y}
        ours["purchase"] = ours["purchase"] + purchase_shift * y["purchase"]
        model.append(SeedRun({}, 3, {split: ours}))
        reference.append(SeedRun({}, 3, {split: theirs}))
    return Comparison(split, tuple(range(seeds)), as_tasks(("click", "purchase")), y, users,
                      {names[0]: model, names[1]: reference}, names[1])


def sign_hint(model: str, reference: str, metric: str = "AUC") -> str:
    """The feedback for a verdict read the wrong way round: which way the difference goes."""
    return (f"check the sign: the difference is {model} minus {reference}, and a higher {metric} "
            f"is better")


def verdict_mistakes(fake: Callable[..., Any], shifted: Mapping[str, Any], wrong_sign: str,
                     n_seeds: int) -> list[WrongAnswer]:
    """The mistakes every experiment question tests, on synthetic comparisons ``fake(**kw)``
    (``fake(split=…)``, ``fake(seeds=…)``; ``fake(**shifted)`` has a detectable gain): a verdict
    read from an interval that includes 0, "no difference" for a detected one, the wrong sign,
    the test split, too few seeds."""
    return [
        WrongAnswer(lambda: (fake(), "better"), SAYS_DETECTED),
        WrongAnswer(lambda: (fake(**shifted), VERDICTS[2]), SAYS_NOTHING),
        WrongAnswer(lambda: (fake(**shifted), "worse"), wrong_sign),
        WrongAnswer(lambda: (fake(split="test"), VERDICTS[2]), WRONG_SPLIT),
        WrongAnswer(lambda: (fake(seeds=2), VERDICTS[2]), wrong_seeds(n_seeds)),
    ]


class ExperimentQuestion(CustomQuestion):
    """An experiment to run and a verdict to read off its interval:
    ``q.check(result, verdict)`` with ``result`` the ``Comparison`` that ``compare`` returned.

    ``checker(result, verdict)`` returns None or the feedback; it never trains anything.
    ``correct_example`` and each wrong answer's example may be functions that build the pair
    (they are only built when the examples are asked for). ``verdict_prompt`` tells a learner
    who has run the experiment where to read the verdict."""

    kind = "experiment"
    _check_signature = "result, verdict"

    def __init__(self, *args: Any, verdict_prompt: str = "read the verdict off the interval",
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.verdict_prompt = verdict_prompt

    def check(self, result: Any = ____, verdict: Any = ____) -> None:
        """Check the experiment ``result`` and the ``verdict`` read from it."""
        self._run_check(result, verdict)

    def _evaluate(self, result: Any = ____, verdict: Any = ____) -> None:
        if contains_blank(result):
            raise NotAttempted("run the experiment first: result = compare(...)")
        if contains_blank(verdict):
            raise NotAttempted(f"{self.verdict_prompt} and set verdict to one of "
                               f"{', '.join(repr(v) for v in VERDICTS)}")
        feedback = self._checker(result, verdict)
        if feedback is not None:
            raise IncorrectAnswer(str(feedback))

    def _examples(self) -> tuple[tuple[Any, ...], list[tuple[tuple[Any, ...], str]]]:
        """The correct (result, verdict), and each wrong pair with its feedback."""
        def build(example):
            return tuple(example() if callable(example) else example)

        return build(self._correct_example), [(build(w.submitted), w.feedback)
                                              for w in self._wrong]


__all__ = [
    "VERDICTS",
    "ExperimentQuestion",
    "check_comparison",
    "check_two_models",
    "fake_comparison",
    "judge_verdict",
    "sign_hint",
    "synthetic_scores",
    "verdict_mistakes",
    "wrong_seeds",
]
