"""The grader: finding submissions, scoring nbval results, the table, the CSV, the CLI."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mtl_kit  # noqa: F401  (selects the backend before anything imports keras)
from mtl_kit import grade as grader
from mtl_kit.grade import Result

FIXTURES = Path(__file__).parent / "fixtures" / "grading"


def _load_builder():
    spec = importlib.util.spec_from_file_location("build_submissions",
                                                  FIXTURES / "build_submissions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_submissions = _load_builder()

EXPECTED_TABLE = """\
submission                 demo.q1  demo.q2  demo.q3  total  note
subs/corrupt.ipynb         -        -        -        0/3    corrupt: not valid JSON
subs/crash.ipynb           ✓        ✓        ✗        2/3    error in cell 6 (ZeroDivisionError)
subs/half_done.ipynb       ✓        ✗        ✗        1/3
subs/loop.ipynb            ✓        ✓        ✗        2/3    timeout in cell 6 (ran over 5 s)
subs/not_a_notebook.ipynb  -        -        -        0/3    not a notebook
subs/solved.ipynb          ✓        ✓        ✓        3/3

Wrote grades.csv
"""

#: The learners who try to score without the work, one who peeked and a memory hog: the row
#: each must get (scores, status, what the note must say).
INTEGRITY = {
    "swallowed": ((False, False, False), "ok", ["demo.q1: check cell altered",
                                                "demo.q3: check cell altered"]),
    "edited": ((False, True, True), "ok", ["demo.q1: check cell altered"]),
    "expected": ((False, True, True), "error", ["error in cell 4 (AttributeError)"]),
    "peeked": ((True, True, True), "ok", []),
    "faker": ((True, False, False), "ok", [
        "demo.q2: check cell ran but recorded no verdict", "demo.q3: check() or its checker "
        "was replaced", "forged verdict record in cell 10", "look at cell 7: it reassigns"]),
    "hog": ((True, True, True), "memory limit", ["memory limit: cell 6 went over the 1.5 GB"]),
}


def _notebook(*sources: str) -> dict:
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
            "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": s,
                       "outputs": [], "execution_count": None}
                      for i, s in enumerate(sources)]}


# -- end to end ---------------------------------------------------------------------------


def _run_grader(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "mtl_kit.grade", *args, "--handouts", "handouts",
               "--timeout-cell", "5", "--timeout-notebook", "30", "--jobs", "2"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(Path(grader.__file__).parents[1]), os.environ.get("PYTHONPATH")])))
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True,
                          timeout=180, env=env)


@pytest.mark.slow
def test_grader_scores_the_fixture_folder(tmp_path: Path) -> None:
    """Six submissions, two at a time: the exact table, and the CSV with its detail."""
    build_submissions.build(tmp_path / "subs")
    start = time.monotonic()
    done = _run_grader(tmp_path, "subs")
    elapsed = time.monotonic() - start
    assert done.returncode == 0, done.stderr
    assert done.stdout == EXPECTED_TABLE
    rows = list(csv.reader(io.StringIO((tmp_path / "grades.csv").read_text(encoding="utf-8"))))
    assert rows[0][:5] == ["submission", "status", "demo.q1", "demo.q2", "demo.q3"]
    assert rows[0][5:7] == ["demo.q1 hints", "demo.q1 solution"]
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["subs/loop.ipynb"][:5] == ["subs/loop.ipynb", "timeout", "1", "1", "0"]
    assert by_name["subs/corrupt.ipynb"][1:5] == ["corrupt", "", "", ""]
    assert "[6/6]" in done.stderr
    print(f"grader on 6 fixture submissions: {elapsed:.1f} s")


@pytest.mark.slow
def test_cheats_score_nothing_peeks_are_flagged_and_a_hog_hits_its_cap(tmp_path: Path) -> None:
    """Swallowed and edited checks, q.expected, a replaced checker, a forged record, a
    solution() call and a memory hog: each gets its row, and the others are still graded."""
    build_submissions.build_handouts(tmp_path / "handouts")
    build_submissions.build_integrity(tmp_path / "subs")
    handouts = grader.load_handout_files([tmp_path / "handouts"])
    results = grader.grade([tmp_path / "subs"], timeout_cell=5, timeout_notebook=30, jobs=2,
                           memory_gb=1.5, handouts=[tmp_path / "handouts"])
    assert handouts.lessons["demo"] == ["demo.q1", "demo.q2", "demo.q3"]
    for result in results:
        name = Path(result.submission).stem
        scores, status, notes = INTEGRITY[name]
        got = tuple(result.scores.get(q, False) for q in ("demo.q1", "demo.q2", "demo.q3"))
        assert (got, result.status) == (scores, status), (name, result.note)
        for note in notes:
            assert note in result.note, (name, result.note)
    peeked = next(r for r in results if "peeked" in r.submission)
    assert peeked.looks["demo.q2"].solutions == 1 and not peeked.note
    assert "✓ s" in grader.format_table([peeked])
    assert "demo.q2" not in next(r for r in results if "solved" in r.submission or
                                 "edited" in r.submission).looks


@pytest.mark.slow
def test_a_two_lesson_workshop_gives_one_row_per_learner(tmp_path: Path) -> None:
    """Each notebook is scored against its own lesson; the table has a column per lesson."""
    build_submissions.build_handouts(tmp_path / "handouts")
    build_submissions.build_workshop(tmp_path / "subs", learners=2)
    done = _run_grader(tmp_path, "subs")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:3] == [
        "learner        demo  demo2  total  note",
        "subs/learner1  3/3   2/2    5/5",
        "subs/learner2  3/3   1/2    4/5",
    ]
    rows = list(csv.reader(io.StringIO((tmp_path / "grades.csv").read_text(encoding="utf-8"))))
    assert rows[0][:7] == ["learner", "status", "demo", "demo2", "demo.q1", "demo.q2",
                           "demo.q3"]
    assert rows[2][:9] == ["subs/learner2", "demo: ok; demo2: ok", "3", "1", "1", "1", "1",
                           "1", "0"]


@pytest.mark.slow
def test_notebook_timeout_kills_the_kernel_and_keeps_earlier_scores(tmp_path: Path) -> None:
    pid_file = tmp_path / "kernel.pid"
    nb = _notebook(
        "from mtl_kit.exercises.demo import q1",
        "# CHECK: demo.q1\nq1.check(0.6)",
        f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "while True:\n    try:\n        time.sleep(60)\n    except KeyboardInterrupt:\n"
        "        pass",
        "# CHECK: demo.q3\nq3.check('b', 'few labels of its own')",
    )
    path = tmp_path / "stubborn.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    result = grader.grade_one(path, "stubborn.ipynb", timeout_cell=60, timeout_notebook=12)
    assert result.status == "timeout"
    assert result.note.startswith("timeout: notebook ran over 12 s and was stopped")
    assert result.scores == {"demo.q1": True, "demo.q3": False}
    kernel = int(pid_file.read_text())
    status = Path(f"/proc/{kernel}/status")
    if status.exists():  # gone, or a zombie nobody has reaped yet
        assert "State:\tZ" in status.read_text()


# -- reading and preparing submissions -------------------------------------------------------


def test_find_submissions_recurses_skips_checkpoints_and_dedupes(tmp_path: Path,
                                                               monkeypatch) -> None:
    (tmp_path / "a" / ".ipynb_checkpoints").mkdir(parents=True)
    (tmp_path / "a" / "b").mkdir()
    for name in ("a/x.ipynb", "a/b/y.ipynb", "a/.ipynb_checkpoints/x-checkpoint.ipynb",
                 "a/notes.txt"):
        (tmp_path / name).write_text("{}")
    monkeypatch.chdir(tmp_path)
    found = grader.find_submissions(["a", "a/x.ipynb", "a/notes.txt"])
    assert [name for name, _ in found] == ["a/b/y.ipynb", "a/notes.txt", "a/x.ipynb"]
    with pytest.raises(FileNotFoundError, match=r"missing\.ipynb"):
        grader.find_submissions(["a", "missing.ipynb"])
    with pytest.raises(TypeError):
        grader.find_submissions("a")


@pytest.mark.parametrize(("content", "note"), [
    (b"{not json", "corrupt: not valid JSON"),
    (b"\xff\xfe\x00", "corrupt: not valid JSON"),
    (b"[1, 2, 3]", "not a notebook"),
    (b'{"cells": "nope", "nbformat": 4}', "not a notebook"),
    (b'{"cells": [], "nbformat": 3}', "not a notebook: nbformat 3 (need 4)"),
    (b'{"cells": [{"cell_type": "image"}], "nbformat": 4}', "not a notebook: malformed cell"),
])
def test_unrunnable_submissions_get_a_clear_row(tmp_path: Path, content: bytes,
                                                note: str) -> None:
    path = tmp_path / "bad.ipynb"
    path.write_bytes(content)
    result = grader.grade_one(path, "bad.ipynb", timeout_cell=5, timeout_notebook=5)
    assert (result.note, result.scores, result.graded) == (note, {}, False)


def test_two_checks_of_one_question_are_not_gradable(tmp_path: Path) -> None:
    path = tmp_path / "twice.ipynb"
    path.write_text(json.dumps(_notebook("# CHECK: a.q1\n1", "# CHECK: a.q1\n2")))
    result = grader.grade_one(path, "twice.ipynb")
    assert result.note.startswith("not gradable: question a.q1 is checked in cells 1 and 2")


def test_prepare_for_grading_clears_outputs_and_strips_output_markers() -> None:
    nb = _notebook("# NBVAL_RAISES_EXCEPTION\n# CHECK: a.q1\nq1.check(1)",
                   "# NBVAL_SKIP\nslow()", "# NBVAL_CHECK_OUTPUT\nprint(1)")
    nb["cells"][0]["metadata"]["tags"] = ["raises-exception", "keep-me"]
    nb["cells"][2]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "1\n"}]
    nb["cells"][2]["execution_count"] = 3
    out = grader.prepare_for_grading(nb)
    sources = [c["source"] for c in out["cells"]]
    assert "NBVAL_RAISES_EXCEPTION" not in sources[0] and "# CHECK: a.q1" in sources[0]
    assert sources[1].startswith("# NBVAL_SKIP")
    assert "NBVAL_CHECK_OUTPUT" not in sources[2]
    assert out["cells"][0]["metadata"]["tags"] == ["keep-me"]
    assert out["cells"][2]["outputs"] == [] and out["cells"][2]["execution_count"] is None
    assert nb["cells"][2]["execution_count"] == 3  # the original is untouched


# -- scoring from verdict records --------------------------------------------------------------


def _record(key: str, **fields) -> dict:
    from mtl_kit.exercises.record import MIME, sign

    fields["mac"] = sign(key, fields)
    return {"output_type": "display_data", "metadata": {}, "data": {MIME: fields}}


def test_only_a_signed_correct_verdict_in_an_unaltered_check_cell_scores() -> None:
    from mtl_kit.grading.scoring import load_handouts, score_executed

    handout = _notebook("answer = ____", "# CHECK: a.q1\nq1.check(answer)",
                        "# CHECK: a.q2\nq2.check(answer)", "# CHECK: a.q3\nq3.check(x)")
    handouts = load_handouts([handout])
    submitted = _notebook("answer = 1", "# CHECK: a.q1\nq1.check(answer)   ",
                          "# CHECK: a.q2\nq2.check(answer)", "# CHECK: a.q3\nq3.check(x)")
    executed = json.loads(json.dumps(submitted))
    good = dict(event="check", verdict="correct", hints=2, solution=0, intact=True, seq=1)
    executed["cells"][1]["outputs"] = [_record("k" * 32, question="a.q1", **good)]
    executed["cells"][2]["outputs"] = [_record("another key 12345", question="a.q2", **good)]
    executed["cells"][3]["outputs"] = [_record("k" * 32, question="a.q1", **good)]
    ran = {0: "passed", 1: "passed", 2: "passed", 3: "passed"}
    scored = score_executed(submitted, executed, ran, handouts, "k" * 32)
    assert scored.scores == {"a.q1": True, "a.q2": False, "a.q3": False}
    assert scored.looks["a.q1"].hints == 2
    assert "a.q2: forged verdict record" in scored.notes
    assert "a.q3: check cell ran but recorded no verdict (check replaced?)" in scored.notes
    submitted["cells"][1]["source"] = "# CHECK: a.q1\ntry:\n    q1.check(answer)\nexcept: pass"
    assert score_executed(submitted, executed, ran, handouts, "k" * 32).scores["a.q1"] is False


RECORDING = """
import json
import IPython.display
from mtl_kit.exercises import ValueQuestion, record
from mtl_kit.exercises.core import IncorrectAnswer

shown = []
IPython.display.display = lambda obj, raw=False: shown.append(obj[record.MIME])
key = "s" * 32
record.arm(key)
try:
    record.arm(key)
except RuntimeError:
    shown.append({"event": "refused"})
q = ValueQuestion("rec.q1", "Two?", expected=2, hints=["it is even"])
public = [n for n in ("expected", "reference", "answers") if n in dir(q)]
q.hint()
q.solution()
q.check(2)
try:
    q.check(3)
except IncorrectAnswer:
    pass
q._evaluate = lambda *a: None
q.check(3)
print(json.dumps({"public": public, "shown": shown,
                  "signed": all(r["mac"] == record.sign(key, r) for r in shown if "mac" in r)}))
"""


def test_a_graded_kernel_records_checks_hints_and_solutions() -> None:
    """An armed recorder (in a fresh process) signs every verdict and look; a replaced
    checker is recorded as not intact; no public attribute holds the answer."""
    done = subprocess.run([sys.executable, "-c", RECORDING], capture_output=True, text=True,
                          timeout=60, cwd=Path(grader.__file__).parents[1])
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["public"] == [] and out["signed"]
    events = [(r["event"], r.get("verdict"), r.get("intact")) for r in out["shown"]]
    assert events == [("refused", None, None), ("hint", None, None), ("solution", None, None),
                      ("check", "correct", True), ("check", "incorrect", True),
                      ("check", "correct", False)]
    assert out["shown"][3]["hints"] == 1 and out["shown"][3]["solution"] == 1


# -- the table and the CSV ----------------------------------------------------------------


def test_table_and_csv_for_mixed_results() -> None:
    results = [
        Result("b.ipynb", "ok", {"01.q10": True, "01.q2": False}),
        Result("a.ipynb", "error", {"01.q2": True}, "error in cell 3 (KeyError)"),
        Result("c.ipynb", "corrupt", {}, "corrupt: not valid JSON"),
    ]
    assert grader.question_ids(results) == ["01.q2", "01.q10"]
    assert grader.format_table(results).splitlines() == [
        "submission  01.q2  01.q10  total  note",
        "b.ipynb     ✗      ✓       1/2",
        "a.ipynb     ✓      ✗       1/2    error in cell 3 (KeyError); no check cell for 01.q10",
        "c.ipynb     -      -       0/2    corrupt: not valid JSON",
    ]
    rows = list(csv.reader(io.StringIO(grader.csv_text(results))))
    assert rows[0] == ["submission", "status", "01.q2", "01.q10", "01.q2 hints",
                       "01.q2 solution", "01.q10 hints", "01.q10 solution", "total", "max",
                       "peak MB", "note"]
    assert rows[2] == ["a.ipynb", "error", "1", "0", "0", "0", "0", "0", "1", "2", "",
                       "error in cell 3 (KeyError); no check cell for 01.q10"]
    assert rows[3][:4] == ["c.ipynb", "corrupt", "", ""]


# -- command line ---------------------------------------------------------------------------


@pytest.mark.parametrize(("argv", "message"), [
    ([], "give at least one notebook or folder"),
    (["nowhere.ipynb"], "no such file or folder: nowhere.ipynb"),
    (["."], "no notebooks (*.ipynb) found in ."),
    ([".", "--timeout-cell", "0"], "expected seconds > 0"),
    ([".", "--timeout-notebook", "soon"], "expected seconds > 0"),
    ([".", "--jobs", "0"], "expected an integer >= 1"),
])
def test_usage_errors_name_the_problem(tmp_path: Path, capsys, monkeypatch, argv,
                                       message) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        grader.main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_grade_validates_its_arguments() -> None:
    with pytest.raises(ValueError, match="timeout_cell"):
        grader.grade(["."], timeout_cell=0)
    with pytest.raises(ValueError, match="timeout_notebook"):
        grader.grade(["."], timeout_notebook=-1)
    with pytest.raises(ValueError, match="jobs"):
        grader.grade(["."], jobs=0)
