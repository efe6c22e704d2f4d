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

EXPECTED_CSV = """\
submission,status,demo.q1,demo.q2,demo.q3,total,max,note
subs/corrupt.ipynb,corrupt,,,,0,3,corrupt: not valid JSON
subs/crash.ipynb,error,1,1,0,2,3,error in cell 6 (ZeroDivisionError)
subs/half_done.ipynb,ok,1,0,0,1,3,
subs/loop.ipynb,timeout,1,1,0,2,3,timeout in cell 6 (ran over 5 s)
subs/not_a_notebook.ipynb,not a notebook,,,,0,3,not a notebook
subs/solved.ipynb,ok,1,1,1,3,3,
"""


def _notebook(*sources: str) -> dict:
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
            "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": s,
                       "outputs": [], "execution_count": None}
                      for i, s in enumerate(sources)]}


# -- end to end ---------------------------------------------------------------------------


@pytest.mark.slow
def test_grader_scores_the_fixture_folder(tmp_path: Path) -> None:
    """Six submissions, two at a time: the exact table and CSV, well within the bound."""
    build_submissions.build(tmp_path / "subs")
    command = [sys.executable, "-m", "mtl_kit.grade", "subs", "--timeout-cell", "5",
               "--timeout-notebook", "30", "--jobs", "2"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(Path(grader.__file__).parents[1]), os.environ.get("PYTHONPATH")])))
    start = time.monotonic()
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env=env)
    elapsed = time.monotonic() - start
    assert done.returncode == 0, done.stderr
    assert done.stdout == EXPECTED_TABLE
    assert (tmp_path / "grades.csv").read_text(encoding="utf-8") == EXPECTED_CSV
    assert "[6/6]" in done.stderr
    print(f"grader on 6 fixture submissions: {elapsed:.1f} s")


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
    assert result.note == "timeout: notebook ran over 12 s and was stopped"
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


# -- scoring nbval's report ---------------------------------------------------------------------


JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite>
<testcase classname="submission.ipynb" name="Cell 0" />
<testcase classname="submission.ipynb" name="Cell 1"><failure message="x">#x1B[94mCell 1: \
Cell execution caused an exception
Traceback:#x1B[0m
#x1B[0;31mNameError#x1B[0m                         Traceback (most recent call last)
#x1B[0;31mNameError#x1B[0m: name 'labels' is not defined</failure></testcase>
<testcase classname="submission.ipynb" name="Cell 2"><failure message="y">Traceback:
NotAttempted: 01.q1: Not attempted yet: replace ____</failure></testcase>
<testcase classname="submission.ipynb" name="Cell 3"><failure message="z">Cell 3: \
Timeout of 5 seconds exceeded executing cell</failure></testcase>
<testcase classname="submission.ipynb" name="Cell 4"><skipped type="pytest.xfail" \
message="Previous cell timed out, expected cell to fail" /></testcase>
<testcase classname="submission.ipynb" name="Cell 5" />
</testsuite></testsuites>"""


def test_scores_and_notes_from_a_junit_report(tmp_path: Path) -> None:
    report = tmp_path / "report.xml"
    report.write_text(JUNIT, encoding="utf-8")
    outcomes = grader._cell_outcomes(report, "")
    assert {k: v[0] for k, v in outcomes.items()} == {
        0: "passed", 1: "failed", 2: "failed", 3: "failed", 4: "skipped", 5: "passed"}
    nb = {"cells": [{"cell_type": "markdown", "source": "intro"},
                    *_notebook("x = labels", "data = load()", "# CHECK: 01.q1\nq1.check(x)",
                               "while True: pass", "# CHECK: 01.q2\nq2.check(f)",
                               "# CHECK: 01.q3\nq3.check(c, r)")["cells"]]}
    scores, errors, timeouts = grader._score(nb, outcomes, 5)
    assert scores == {"01.q1": False, "01.q2": False, "01.q3": True}
    assert errors == ["error in cell 3 (NameError)"]
    assert timeouts == ["timeout in cell 5 (ran over 5 s)"]


def test_outcomes_fall_back_to_the_verbose_log(tmp_path: Path) -> None:
    log = ("submission.ipynb::Cell 0 PASSED   [ 33%]\n"
           "submission.ipynb::Cell 1 FAILED   [ 66%]\n"
           "submission.ipynb::Cell 2 XPASS (Previous cell timed out) [100%]\n")
    outcomes = grader._cell_outcomes(tmp_path / "never-written.xml", log)
    assert {k: v[0] for k, v in outcomes.items()} == {0: "passed", 1: "failed", 2: "passed"}


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
    assert rows[0] == ["submission", "status", "01.q2", "01.q10", "total", "max", "note"]
    assert rows[2] == ["a.ipynb", "error", "1", "0", "1", "2",
                       "error in cell 3 (KeyError); no check cell for 01.q10"]
    assert rows[3] == ["c.ipynb", "corrupt", "", "", "0", "2", "corrupt: not valid JSON"]


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
