"""Workshop exercises: handed-out notebooks fail exactly at their checks, solutions pass.

The solution notebooks themselves run under ``pytest --nbval-lax`` with the lessons (they
live under ``notebooks/``); these tests check what nbval alone cannot: that the handed-out
copies fail *only* at their check cells, that exercises and solutions ask the same questions
in the same order, and that every question rejects its typical wrong answers with the right hint.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import nbformat
import pytest

from mtl_kit.exercises import IncorrectAnswer, check_cells
from mtl_kit.exercises.core import Question
from mtl_kit.grade import grade_one

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = ROOT / "notebooks" / "exercises"
SOLUTIONS = ROOT / "notebooks" / "solutions"
#: Every lesson from the shop on has an exercise notebook (issue 7).
LESSONS = ["01_the_shop", "02_single_task", "03_hard_sharing", "04_soft_sharing",
           "05_feature_sharing", "06_choosing_tasks", "07_evaluating", "08_task_conflicts",
           "09_applications", "10_tools_and_outlook"]
PRESENT = [name for name in LESSONS if (EXERCISES / f"{name}.ipynb").exists()]


def _ids(path: Path) -> list[str]:
    return [qid for _, _, qid in check_cells(nbformat.read(path, as_version=4).cells)]


def _module(name: str):
    return importlib.import_module(f"mtl_kit.exercises.ex{name[:2]}")


def test_exercises_exist_for_the_written_lessons():
    lessons = sorted(p.stem for p in (ROOT / "notebooks").glob("0[1-9]_*.ipynb"))
    assert lessons, "no lessons yet"
    for name in lessons:
        assert name in LESSONS, f"{name}: add it to LESSONS"
        assert (EXERCISES / f"{name}.ipynb").exists(), f"{name} has no exercise notebook"
        assert (SOLUTIONS / f"{name}.ipynb").exists(), f"{name} has no solution notebook"


@pytest.mark.parametrize("name", PRESENT)
def test_exercise_and_solution_ask_the_same_questions_in_order(name):
    handed_out, solved = _ids(EXERCISES / f"{name}.ipynb"), _ids(SOLUTIONS / f"{name}.ipynb")
    assert handed_out == solved
    assert len(handed_out) >= 3
    assert all(qid.startswith(f"{name[:2]}.") for qid in handed_out)


@pytest.mark.parametrize("name", PRESENT)
def test_handed_out_exercises_are_stored_without_outputs(name):
    nb = nbformat.read(EXERCISES / f"{name}.ipynb", as_version=4)
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")


@pytest.mark.parametrize("name", PRESENT)
def test_every_question_accepts_its_answer_and_rejects_typical_mistakes(name, capsys):
    module = _module(name)
    questions = {q.id: q for q in vars(module).values() if isinstance(q, Question)}
    assert sorted(questions) == sorted(_ids(SOLUTIONS / f"{name}.ipynb"))
    for question in questions.values():
        correct, mistakes = question.examples()
        question.check(*correct)
        assert "Correct" in capsys.readouterr().out
        assert len(mistakes) >= 2, f"{question.id}: register at least two typical mistakes"
        for answer, feedback in mistakes:
            with pytest.raises(IncorrectAnswer):
                question.check(*answer)
            assert feedback in capsys.readouterr().out, (question.id, feedback)


@pytest.mark.slow
@pytest.mark.parametrize("name", PRESENT)
def test_handed_out_notebook_fails_only_at_its_check_cells(name):
    result = grade_one(EXERCISES / f"{name}.ipynb", name, timeout_cell=120,
                       timeout_notebook=300)
    assert result.status == "ok", result.note
    assert result.scores and not any(result.scores.values()), result.scores
