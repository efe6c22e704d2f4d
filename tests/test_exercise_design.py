"""Exercises test understanding (issue 17): rules over every ``mtl_kit.exercises.exNN`` module.

* **Nothing to copy.** No number the executed lesson ``notebooks/NN_*.ipynb`` prints, typed in
  as the answer, passes a value question's check (its own tolerance decides; a dict answer is
  copyable when every entry is printed). Numbers are read from the outputs with thousands
  separators ("4,172") and percentages ("94.3 %" also counts as 0.943).
* **Correct options spread.** Over all multiple-choice questions of all modules: no option
  position (a, b, c, …) holds more than half of the correct answers, and once there are at
  least as many questions as positions every position (up to the fewest options any question
  offers) holds at least one.
* **A reason names an idea.** Every multiple-choice question judges its reason by keyword
  groups (the idea it must name) and has a hint saying what a wrong reason misses.
* **An experiment per notebook.** Every handed-out exercise notebook checks at least one
  ``ExperimentQuestion`` (the learner runs a small experiment and judges it by its interval).
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from mtl_kit.exercises import ChoiceQuestion, ValueQuestion, check_cells
from mtl_kit.exercises.compare import difference
from mtl_kit.exercises.core import CheckError, Question
from mtl_kit.exercises.experiment import ExperimentQuestion

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
#: Every exercise module there is (lessons being written count as soon as their module exists).
MODULES = sorted(p.stem for p in (ROOT / "mtl_kit" / "exercises").glob("ex[0-9][0-9].py"))

NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?(\s?%)?")


def _module(name: str):
    return importlib.import_module(f"mtl_kit.exercises.{name}")


def _questions(name: str) -> list[Question]:
    return [q for q in vars(_module(name)).values() if isinstance(q, Question)]


def _notebook(folder: Path, name: str) -> Path | None:
    found = sorted(folder.glob(f"{name[2:]}_*.ipynb"))
    return found[0] if found else None


# -- the rules, as functions (each tested on a case that must fail) --------------------------


def numbers_in(text: str) -> set[float]:
    """Every number in ``text`` as a learner could type it: "4,172" is 4172 (and 4 and 172),
    "94.3 %" is 94.3 and 0.943."""
    found: set[float] = set()
    for match in NUMBER.finditer(text):
        token = match.group(0).replace("%", "").strip()
        for part in {token.replace(",", ""), *token.split(",")}:
            try:
                value = float(part) if any(c in part for c in ".eE") else int(part)
            except ValueError:
                continue
            found.add(value)
            if match.group(1):
                found.add(float(part) / 100)
    return found


def printed_numbers(notebook: nbformat.NotebookNode) -> set[float]:
    """The numbers an executed notebook shows in its outputs (streams, text, HTML)."""
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") == "stream":
                texts.append(output["text"])
            for mime in ("text/plain", "text/html", "text/markdown"):
                texts.append(output.get("data", {}).get(mime, ""))
    return numbers_in("\n".join(texts))


def copied_by(question: ValueQuestion, numbers: set[float]) -> list[float]:
    """The printed numbers that would pass ``question``'s check (for a dict answer: all the
    numbers it takes, when every entry can be copied, else none)."""
    expected = question._expected_value

    def passes(value: float, want) -> bool:
        return difference(value, want, rtol=question.rtol, atol=question.atol,
                          exact_ints=question.exact_ints) is None

    if isinstance(expected, dict):
        per_key = {k: [v for v in numbers if passes(v, want)] for k, want in expected.items()}
        return sorted({v for hits in per_key.values() for v in hits}) \
            if all(per_key.values()) else []
    accepted = []
    for value in numbers:
        try:
            question._evaluate(value)
        except CheckError:
            continue
        accepted.append(value)
    return sorted(accepted)


def position_problems(positions: list[int], n_positions: int) -> list[str]:
    """What is wrong with the spread of correct option positions (0 = a), or nothing."""
    problems = []
    counts = np.bincount(positions, minlength=n_positions)
    letters = "abcdefghij"
    for position, count in enumerate(counts):
        if count > len(positions) / 2:
            problems.append(f"option {letters[position]} is right in {count} of "
                            f"{len(positions)} questions (more than half)")
    if len(positions) >= n_positions:
        problems += [f"option {letters[p]} is never the right one"
                     for p in range(n_positions) if counts[p] == 0]
    return problems


# -- the rules' own tests -----------------------------------------------------------------


def test_numbers_are_read_as_a_learner_would_copy_them():
    found = numbers_in("train 4,172 rows: AUC 0.943 (94.3 %), seed 6; [-0.012, +0.030]")
    assert {4172, 0.943, 94.3, 6, -0.012, 0.030} <= found
    assert 0.4 not in numbers_in("item_04 and v2.4.1x")  # parts of names are not numbers


def test_a_printed_answer_is_caught_and_an_unprinted_one_is_not():
    q = ValueQuestion("design.q1", "How many?", 4172, hints=["count"])
    assert copied_by(q, numbers_in("train 4,172 rows")) == [4172]
    assert copied_by(q, numbers_in("train 4,180 rows")) == []
    close = ValueQuestion("design.q2", "AUC?", 0.9432, atol=5e-4, rtol=0.0)
    assert copied_by(close, numbers_in("best achievable AUC 0.943")) == [0.943]
    assert copied_by(close, numbers_in("best achievable AUC 0.926")) == []
    counts = ValueQuestion("design.q3", "Labels?", {"click": 28060, "purchase": 1353})
    assert copied_by(counts, numbers_in("click 28,060")) == []  # purchase is not printed
    assert copied_by(counts, numbers_in("click 28,060, purchase 1,353")) == [1353, 28060]


def test_the_spread_rule_rejects_the_audited_pattern():
    assert position_problems([1, 1, 1, 1, 1, 2], 4) == [
        "option b is right in 5 of 6 questions (more than half)", "option a is never the right "
        "one", "option d is never the right one"]
    assert position_problems([0, 1, 2, 3, 1, 0], 4) == []
    assert position_problems([2, 2], 4) == ["option c is right in 2 of 2 questions (more than "
                                            "half)"]


# -- the rules on the course's exercises ----------------------------------------------------


@pytest.mark.slow  # computes every expected value (lesson 5's trains one small MMoE)
@pytest.mark.parametrize("name", MODULES)
def test_no_answer_can_be_copied_from_the_lessons_printed_output(name):
    lesson = _notebook(NOTEBOOKS, name)
    if lesson is None:
        pytest.skip(f"no lesson notebook for {name} yet")
    numbers = printed_numbers(nbformat.read(lesson, as_version=4))
    copyable = {q.id: copied_by(q, numbers)[:5] for q in _questions(name)
                if isinstance(q, ValueQuestion)}
    copyable = {qid: hits for qid, hits in copyable.items() if hits}
    assert not copyable, (f"{lesson.name} prints these answers (ask for the same computation on "
                          f"another knob, task, split or seed): {copyable}")


def test_correct_options_spread_over_the_positions():
    choices = [q for name in MODULES for q in _questions(name) if isinstance(q, ChoiceQuestion)]
    assert choices
    positions = [list(q.options).index(q._answers[0]) for q in choices]
    n_positions = min(len(q.options) for q in choices)
    assert not position_problems(positions, n_positions), (
        position_problems(positions, n_positions),
        {q.id: "abcdefghij"[p] for q, p in zip(choices, positions, strict=True)})


def test_the_longest_option_is_not_a_tell():
    """Length must carry no signal: a test-wise learner picks the longest option (a right
    answer tends to collect qualifications, a distractor written in haste stays short). At
    most a third of all multiple-choice questions (one in four options would be chance) may
    have their right option strictly longer, in characters, than every other option; ties
    tell nothing. When this fails, make the distractors as specific as the right answer (a
    real mechanism, wrong for a stated reason) and trim the right answer's explanations."""
    choices = [q for name in MODULES for q in _questions(name) if isinstance(q, ChoiceQuestion)]
    assert choices
    tells = [q.id for q in choices
             if all(len(q.options[q._answers[0]]) > len(text)
                    for key, text in q.options.items() if key not in q._answers)]
    assert len(tells) <= len(choices) / 3, (
        f"the right option is the longest in {len(tells)} of {len(choices)} questions: {tells}")


@pytest.mark.parametrize("name", MODULES)
def test_every_reason_is_judged_by_the_idea_it_names(name):
    for q in _questions(name):
        if not isinstance(q, ChoiceQuestion):
            continue
        assert q._reason_keywords, f"{q.id}: give reason_keywords (the idea a reason must name)"
        assert q._reason_hint, f"{q.id}: give reason_hint (what a wrong reason misses)"
        said = q._reason_solution.lower()
        assert all(any(stem in said for stem in group) for group in q._reason_keywords), q.id


@pytest.mark.parametrize("name", MODULES)
def test_every_exercise_notebook_has_an_experiment_question(name):
    handed_out = _notebook(NOTEBOOKS / "exercises", name)
    if handed_out is None:
        pytest.skip(f"no exercise notebook for {name} yet")
    checked = {qid for _, _, qid in check_cells(nbformat.read(handed_out, as_version=4).cells)}
    experiments = [q.id for q in _questions(name)
                   if isinstance(q, ExperimentQuestion) and q.id in checked]
    assert experiments, f"{handed_out.name} checks no ExperimentQuestion"
