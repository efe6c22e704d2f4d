"""The question framework: verdicts, raising, typical wrong answers, hints, solutions."""

from __future__ import annotations

import numpy as np
import pytest

import mtl_kit  # noqa: F401  (selects the backend before anything imports keras)
from mtl_kit.exercises import (
    BLANK,
    ChoiceQuestion,
    CodeQuestion,
    CustomQuestion,
    IncorrectAnswer,
    NotAttempted,
    ValueQuestion,
    WrongAnswer,
    ____,
    check_cells,
    contains_blank,
    demo,
    marker_id,
    registry,
)

DEMO = [demo.q1, demo.q2, demo.q3]


def verdict(capsys: pytest.CaptureFixture[str], question, *answer) -> tuple[str, type | None]:
    """(printed text, exception class or None) of ``question.check(*answer)``."""
    raised = None
    try:
        question.check(*answer)
    except AssertionError as error:
        raised = type(error)
    return capsys.readouterr().out, raised


# -- the blank ----------------------------------------------------------------------------


def test_blank_is_one_object_that_refuses_to_be_used() -> None:
    assert ____ is BLANK
    assert type(____)() is ____
    assert repr(____) == "____"
    for use in (lambda: ____ + 1, lambda: 2 * ____, lambda: ____(), lambda: ____[0],
                lambda: bool(____), lambda: float(____), lambda: np.asarray(____) + 1,
                lambda: ____ < 1, lambda: len(____)):
        with pytest.raises(NotAttempted, match="replace every ____"):
            use()


def test_contains_blank_looks_inside_containers() -> None:
    assert contains_blank(____)
    assert contains_blank([1, ____])
    assert contains_blank({"click": 0.5, "purchase": ____})
    assert contains_blank((1, (2, [____])))
    assert not contains_blank([1, 2, {"a": 3}])
    assert not contains_blank(np.array([1.0]))


# -- the three verdicts -------------------------------------------------------------------


@pytest.mark.parametrize("question", DEMO, ids=lambda q: q.id)
def test_correct_answer_prints_correct_and_returns(question, capsys) -> None:
    correct, _ = question.examples()
    out, raised = verdict(capsys, question, *correct)
    assert (out, raised) == ("✓ Correct\n", None)
    assert question.last_verdict == "✓ Correct"


@pytest.mark.parametrize("question", DEMO, ids=lambda q: q.id)
def test_blank_answer_is_not_attempted_and_raises(question, capsys) -> None:
    out, raised = verdict(capsys, question)
    assert raised is NotAttempted
    assert out.startswith("Not attempted yet: ")
    assert out.count("\n") == 1


@pytest.mark.parametrize("question", DEMO, ids=lambda q: q.id)
def test_every_typical_wrong_answer_gets_its_own_feedback(question, capsys) -> None:
    _, wrong = question.examples()
    assert len(wrong) >= 2
    for answer, feedback in wrong:
        out, raised = verdict(capsys, question, *answer)
        assert raised is IncorrectAnswer
        assert out == f"✗ Incorrect: {feedback}\n"


def test_failures_are_assertion_errors_naming_the_question(capsys) -> None:
    with pytest.raises(AssertionError) as info:
        demo.q1.check(3 / 7)
    error = info.value
    assert isinstance(error, IncorrectAnswer)
    assert error.question_id == "demo.q1"
    assert str(error) == "demo.q1: " + capsys.readouterr().out.strip()
    # IPython shows _render_traceback_ instead of a stack trace: one line
    assert error._render_traceback_() == [f"IncorrectAnswer: {error}"]


def test_verdicts_are_deterministic(capsys) -> None:
    texts = {verdict(capsys, demo.q2, lambda y, p: 0.5)[0] for _ in range(3)}
    assert texts == {"✗ Incorrect: on test case 1 your loss returned 0.5, expected 0.3414\n"}


# -- value questions ----------------------------------------------------------------------


def test_value_question_tolerance_shapes_and_types(capsys) -> None:
    q = ValueQuestion("t.v1", "Mean?", 0.25, rtol=0, atol=0.005)
    assert verdict(capsys, q, 0.254)[1] is None
    assert verdict(capsys, q, np.float32(0.25))[1] is None
    assert verdict(capsys, q, [0.25])[1] is None
    out, raised = verdict(capsys, q, 0.3)
    assert raised is IncorrectAnswer and "not the expected value" in out
    out, _ = verdict(capsys, q, "0.25")
    assert out == "✗ Incorrect: your answer should be a number, got str '0.25'\n"
    out, _ = verdict(capsys, q, [0.25, 0.5])
    assert "single number" in out


def test_value_question_counts_are_exact_and_dicts_compare_per_key(capsys) -> None:
    count = ValueQuestion("t.v2", "How many?", 40_000)
    assert verdict(capsys, count, 40_000)[1] is None
    assert verdict(capsys, count, 40_001)[1] is IncorrectAnswer
    rates = ValueQuestion("t.v3", "Rates?", {"click": 0.1, "purchase": 0.02},
                          wrong=[WrongAnswer({"click": 0.02, "purchase": 0.1},
                                             "you swapped click and purchase")])
    assert verdict(capsys, rates, {"purchase": 0.02, "click": 0.1})[1] is None
    out, _ = verdict(capsys, rates, {"click": 0.02, "purchase": 0.1})
    assert out == "✗ Incorrect: you swapped click and purchase\n"
    out, raised = verdict(capsys, rates, {"click": 0.1, "purchase": ____})
    assert raised is NotAttempted
    out, _ = verdict(capsys, rates, {"click": 0.1})
    assert "keys" in out


def test_value_question_computes_expected_lazily_once() -> None:
    calls = []

    def expensive() -> float:
        calls.append(1)
        return 2.0

    q = ValueQuestion("t.v4", "Lazy?", expensive)
    assert calls == []
    for _ in range(2):
        q.check(2.0)
    assert calls == [1]


# -- code questions -----------------------------------------------------------------------


def test_code_question_reports_crashes_blanks_and_non_functions(capsys) -> None:
    out, raised = verdict(capsys, demo.q2, lambda y, p: 1 / 0)
    assert raised is IncorrectAnswer
    assert out == ("✗ Incorrect: your loss raised ZeroDivisionError on test case 1: "
                   "division by zero\n")
    out, raised = verdict(capsys, demo.q2, lambda y, p: ____)
    assert raised is NotAttempted

    def half_written(y_true, y_pred):
        return ____ * np.mean(y_pred)

    assert verdict(capsys, demo.q2, half_written)[1] is NotAttempted
    out, raised = verdict(capsys, demo.q2, 0.34)
    assert raised is IncorrectAnswer and "a function" in out
    out, _ = verdict(capsys, demo.q2, lambda y, p: np.zeros(3))
    assert "single number" in out


def test_code_question_inputs_edited_in_place_do_not_leak() -> None:
    def destructive(y_true, y_pred):
        known = ~np.isnan(y_true)
        result = demo._masked_bce(y_true, y_pred)
        y_true[~known] = 0.0  # a learner's in-place edit
        return result

    demo.q2.check(destructive)
    demo.q2.check(demo._masked_bce)
    assert np.isnan(demo.LABELS).sum() == 2


def test_code_question_with_keyword_cases_and_dict_results(capsys) -> None:
    def ref(weights, losses):
        return {k: weights[k] * losses[k] for k in losses}

    def wrong_task(weights, losses):
        return {"click": weights["purchase"] * losses["click"],
                "purchase": weights["click"] * losses["purchase"]}

    q = CodeQuestion("t.c1", "Weighted task losses.", ref,
                     cases=[{"weights": {"click": 1.0, "purchase": 0.2},
                             "losses": {"click": 0.7, "purchase": 0.3}}],
                     wrong=[WrongAnswer(wrong_task, "λ applied to the wrong task")],
                     name="weighting")
    assert verdict(capsys, q, ref)[1] is None
    assert verdict(capsys, q, wrong_task)[0] == "✗ Incorrect: λ applied to the wrong task\n"
    q.solution()
    assert "def ref" in capsys.readouterr().out


# -- multiple choice ----------------------------------------------------------------------


def test_choice_needs_right_option_and_a_reason(capsys) -> None:
    q = demo.q3
    assert verdict(capsys, q, " B ", "few purchase labels to learn from")[1] is None
    out, raised = verdict(capsys, q, "b")
    assert raised is NotAttempted and "reason" in out
    out, raised = verdict(capsys, q, "b", "")
    assert raised is IncorrectAnswer and "at least 3 words" in out
    out, raised = verdict(capsys, q, "b", "scarce")
    assert raised is IncorrectAnswer
    out, raised = verdict(capsys, q, "b", 42)
    assert raised is IncorrectAnswer and "(a str)" in out
    out, raised = verdict(capsys, q, "d", "some reason here")
    assert out == "✗ Incorrect: choice must be one of 'a', 'b', 'c', got 'd'\n"


def test_choice_without_specific_feedback_gets_a_generic_one(capsys) -> None:
    q = ChoiceQuestion("t.m1", "Pick.", {"x": "one", "y": "two", "z": "three"}, "x",
                       why_not={"y": "y is tempting but wrong"})
    assert verdict(capsys, q, "y", "a b c")[0] == "✗ Incorrect: y is tempting but wrong\n"
    assert "not the best option" in verdict(capsys, q, "z", "a b c")[0]
    assert "x" in repr(q) and "three" in repr(q)


# -- custom questions ---------------------------------------------------------------------


def test_custom_question_uses_its_checker(capsys) -> None:
    q = CustomQuestion("t.x1", "Give a list of three units.",
                       lambda a: None if len(a) == 3 else f"expected 3 layers, got {len(a)}",
                       correct_example=[64, 32, 16],
                       wrong=[WrongAnswer([64, 32], "expected 3 layers, got 2")])
    assert verdict(capsys, q, [1, 2, 3])[1] is None
    _, wrong = q.examples()
    for args, feedback in wrong:
        assert verdict(capsys, q, *args) == (f"✗ Incorrect: {feedback}\n", IncorrectAnswer)
    assert verdict(capsys, q, [64, ____, 16])[1] is NotAttempted


# -- hints and solutions -------------------------------------------------------------------


def test_hints_advance_by_level_and_stop_at_the_last(capsys) -> None:
    q = ValueQuestion("t.h1", "Hints?", 1.0, hints=["first", "second", "third"])
    for _ in range(4):
        q.hint()
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == ["Hint 1/3: first", "Hint 2/3: second", "Hint 3/3: third"]
    assert lines[3].startswith("(That is the last hint")
    assert lines[4] == "Hint 3/3: third"
    q.hint(1)
    q.hint()
    assert capsys.readouterr().out.splitlines() == ["Hint 1/3: first", "Hint 2/3: second"]


def test_hint_level_is_validated_and_missing_hints_are_said(capsys) -> None:
    q = ValueQuestion("t.h2", "Hints?", 1.0, hints=["only"])
    with pytest.raises(ValueError, match="level must be between 1 and 1"):
        q.hint(2)
    with pytest.raises(TypeError, match="level"):
        q.hint("1")
    ValueQuestion("t.h3", "No hints.", 1.0).hint()
    assert "No hints" in capsys.readouterr().out


@pytest.mark.parametrize("question", DEMO, ids=lambda q: q.id)
def test_solution_prints(question, capsys) -> None:
    question.solution()
    out = capsys.readouterr().out
    assert out.startswith("Solution:\n")
    assert len(out.strip().splitlines()) >= 2


# -- construction and registry ---------------------------------------------------------------


def test_constructors_validate_their_arguments() -> None:
    with pytest.raises(ValueError, match="id"):
        ValueQuestion("01 q1", "Prompt.", 1.0)
    with pytest.raises(ValueError, match="prompt"):
        ValueQuestion("t.e1", "  ", 1.0)
    with pytest.raises(ValueError, match="rtol"):
        ValueQuestion("t.e2", "Prompt.", 1.0, rtol=-1)
    with pytest.raises(TypeError, match="wrong"):
        ValueQuestion("t.e3", "Prompt.", 1.0, wrong=[(2.0, "no")])
    with pytest.raises(ValueError, match="example"):
        ValueQuestion("t.e4", "Prompt.", 1.0, wrong=[WrongAnswer(lambda a: True, "no")])
    with pytest.raises(ValueError, match="answer"):
        ChoiceQuestion("t.e5", "Prompt.", {"a": "x", "b": "y"}, "c")
    with pytest.raises(ValueError, match="why_not"):
        ChoiceQuestion("t.e6", "Prompt.", {"a": "x", "b": "y"}, "a", why_not={"a": "no"})
    with pytest.raises(TypeError, match="reference"):
        CodeQuestion("t.e7", "Prompt.", 3, cases=[(1,)])
    with pytest.raises(ValueError, match="cases"):
        CodeQuestion("t.e8", "Prompt.", abs, cases=[])
    with pytest.raises(ValueError, match="feedback"):
        WrongAnswer(1.0, "")


def test_registry_knows_questions_by_id() -> None:
    known = registry()
    for q in DEMO:
        assert known[q.id] is q


# -- the check-cell convention ------------------------------------------------------------


def test_check_cells_finds_markers_with_cell_and_code_indices() -> None:
    cells = [
        {"cell_type": "markdown", "source": "# CHECK: not.code"},
        {"cell_type": "code", "source": "x = 1"},
        {"cell_type": "code", "source": ["# CHECK: 01.q1\n", "q1.check(x)"]},
        {"cell_type": "markdown", "source": "text"},
        {"cell_type": "code", "source": "  #CHECK:01.q2  \nq2.check(f)"},
        {"cell_type": "code", "source": "print('# CHECK: 01.q3')"},
    ]
    assert check_cells(cells) == [(2, 1, "01.q1"), (4, 2, "01.q2")]
    assert marker_id("# CHECK: 03.q7\nq7.check(a)") == "03.q7"
    assert marker_id("q7.check(a)") is None


def test_check_cells_rejects_ambiguous_notebooks() -> None:
    with pytest.raises(ValueError, match="one check per cell"):
        check_cells([{"cell_type": "code", "source": "# CHECK: a.q1\n# CHECK: a.q2"}])
    with pytest.raises(ValueError, match="check each question once"):
        check_cells([{"cell_type": "code", "source": "# CHECK: a.q1"},
                     {"cell_type": "code", "source": "# CHECK: a.q1"}])
