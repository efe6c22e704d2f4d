"""Grade a folder of exercise notebooks with nbval and print a score table.

Usage::

    python -m mtl_kit.grade PATH... [--timeout-cell S] [--timeout-notebook S]
                                    [--csv grades.csv] [--jobs N]

Every ``PATH`` is a notebook or a folder (searched recursively for ``*.ipynb``, skipping
``.ipynb_checkpoints``). Each submission is copied into a fresh temporary folder and run
in its own process, ``python -m pytest --nbval-lax --nbval-current-env`` with a per-cell
timeout, under an overall wall-clock timeout after which the whole process tree is killed.

A question scores 1 when its *check cell* (a code cell with a ``# CHECK: <id>`` marker
line, see :mod:`mtl_kit.exercises.cells`) ran without error, else 0. One row per
submission, one column per question, a total and a note: ``error in cell 4
(ZeroDivisionError)``, ``timeout in cell 6 (ran over 120 s)``, ``corrupt: not valid
JSON``, ``not a notebook``. Cell numbers count every cell from 1, markdown included.

Grading runs the submitted code: it is untrusted. Run the grader in a container, a
virtual machine or a throwaway account.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtl_kit.exercises.cells import check_cells

__all__ = ["Result", "find_submissions", "format_table", "grade", "main", "write_csv"]

DEFAULT_TIMEOUT_CELL = 120.0
DEFAULT_TIMEOUT_NOTEBOOK = 600.0
NBVAL_OUTPUT_MARKERS = ("NBVAL_RAISES_EXCEPTION", "NBVAL_CHECK_OUTPUT")
NBVAL_OUTPUT_TAGS = ("raises-exception", "nbval-raises-exception", "nbval-check-output")
PASS, FAIL, NOT_RUN = "✓", "✗", "-"
_TOKEN_VARIABLE = "MTL_KIT_GRADE_TOKEN"
# colour codes, raw or as pytest's JUnit writer escapes them ("#x1B[...m")
_ANSI = re.compile(r"(?:\x1b|#x1B)\[[0-9;]*[A-Za-z]")
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*)(?::|$)")
_VERBOSE_ITEM = re.compile(r"::Cell (\d+) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b")

# pytest started through this one-liner instead of ``python -m pytest``: identical, except
# that ``rfc3987_syntax`` is kept out. jsonschema (imported by nbformat, imported by nbval)
# treats it as optional and it costs seconds to import on every run; no notebook needs it.
_PYTEST_RUNNER = (
    "import sys; sys.modules['rfc3987_syntax'] = None; import pytest; "
    "sys.exit(pytest.main(sys.argv[1:]))"
)


@dataclass
class Result:
    """The grade of one submission.

    ``status`` is ``"ok"``, ``"error"`` (a non-check cell failed), ``"timeout"``,
    ``"corrupt"``, ``"not a notebook"`` or ``"failed to run"``; ``scores`` maps question
    id to True/False and is empty when the notebook could not be run.
    """

    submission: str
    status: str = "ok"
    scores: dict[str, bool] = field(default_factory=dict)
    note: str = ""
    seconds: float = 0.0

    @property
    def graded(self) -> bool:
        """True when the notebook ran (its question columns mean something)."""
        return self.status in ("ok", "error", "timeout")


class SubmissionError(Exception):
    """A submission that cannot be run at all: its status and note."""

    def __init__(self, status: str, note: str) -> None:
        super().__init__(note)
        self.status, self.note = status, note


# -- finding and reading submissions ---------------------------------------------------


def find_submissions(paths: Sequence[str | os.PathLike[str]]) -> list[tuple[str, Path]]:
    """``(display name, path)`` of every submission under ``paths``, sorted by name.

    Files are taken as given (whatever their extension); folders are searched recursively
    for ``*.ipynb``, skipping ``.ipynb_checkpoints`` and hidden folders. A file reached
    twice is graded once. Raises ``FileNotFoundError`` naming a path that does not exist.
    """
    if isinstance(paths, (str, os.PathLike)):
        raise TypeError("paths must be a sequence of paths, not a single path")
    found: dict[Path, str] = {}
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise FileNotFoundError(f"no such file or folder: {raw}")
        if path.is_dir():
            for nb in sorted(path.rglob("*.ipynb")):
                rel = nb.relative_to(path)
                if any(part.startswith(".") for part in rel.parts) or not nb.is_file():
                    continue
                found.setdefault(nb.resolve(), os.path.normpath(os.path.join(raw, rel)))
        else:
            found.setdefault(path.resolve(), os.path.normpath(raw))
    return sorted(((name, path) for path, name in found.items()), key=lambda item: item[0])


def load_notebook(path: Path) -> dict[str, Any]:
    """The notebook at ``path`` as a dict; :class:`SubmissionError` if it is not one.

    Plain JSON checks (no nbformat import): a v4 notebook is an object with an integer
    ``nbformat`` of 4 and a ``cells`` list of objects with a ``cell_type``.
    """
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise SubmissionError("corrupt", "corrupt: not valid JSON") from None
    except OSError as error:
        raise SubmissionError("corrupt", f"corrupt: cannot read ({error.strerror})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise SubmissionError("not a notebook", "not a notebook")
    version = data.get("nbformat")
    if version != 4:
        raise SubmissionError("not a notebook",
                              f"not a notebook: nbformat {version!r} (need 4)")
    for cell in data["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown",
                                                                        "raw"):
            raise SubmissionError("not a notebook", "not a notebook: malformed cell")
        source = cell.get("source", "")
        if not isinstance(source, (str, list)):
            raise SubmissionError("not a notebook", "not a notebook: malformed cell")
    return data


def prepare_for_grading(nb: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``nb`` ready for nbval: outputs cleared, output-affecting markers removed.

    Stored outputs are cleared (nbval must not compare them, and "unrun cell has outputs"
    must not fail a cell); ``# NBVAL_RAISES_EXCEPTION`` / ``# NBVAL_CHECK_OUTPUT`` lines
    and their tags are removed, so a learner cannot turn a failing check into a pass.
    ``# NBVAL_SKIP`` stays: a skipped check cell simply scores 0.
    """
    out = json.loads(json.dumps(nb))
    needs_ids = isinstance(out.get("nbformat_minor"), int) and out["nbformat_minor"] >= 5
    for index, cell in enumerate(out["cells"]):
        cell.setdefault("metadata", {})
        if needs_ids and not isinstance(cell.get("id"), str):
            cell["id"] = f"graded-cell-{index}"  # nbformat 4.5 requires cell ids
        if cell["cell_type"] != "code":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else source
        lines = [
            "# (nbval marker removed by the grader)"
            if line.strip().lstrip("#").strip() in NBVAL_OUTPUT_MARKERS else line
            for line in text.split("\n")
        ]
        cell["source"] = "\n".join(lines)
        tags = cell["metadata"].get("tags")
        if isinstance(tags, list):
            cell["metadata"]["tags"] = [t for t in tags if t not in NBVAL_OUTPUT_TAGS]
        cell["outputs"] = []
        cell["execution_count"] = None
    return out


# -- running one submission ----------------------------------------------------------


def _package_root() -> str:
    return str(Path(__file__).resolve().parent.parent)


def _pytest_command(notebook: Path, junit: Path, timeout_cell: float) -> list[str]:
    return [sys.executable, "-c", _PYTEST_RUNNER, "-p", "nbval.plugin", "-p",
            "no:cacheprovider", "-c", "pytest.ini", "--nbval-lax", "--nbval-current-env",
            f"--nbval-cell-timeout={timeout_cell:g}", f"--junitxml={junit}", "-v",
            "--color=no", "-W", "ignore::DeprecationWarning", notebook.name]


def _run_env(token: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (_package_root(), env.get("PYTHONPATH", "")) if p)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONUNBUFFERED"] = "1"  # progress lines reach the log even if pytest is killed
    env[_TOKEN_VARIABLE] = token
    return env


def _processes_with_token(token: str) -> list[int]:
    """Linux: ids of processes whose environment carries ``token`` (our runs' leftovers)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    needle = f"{_TOKEN_VARIABLE}={token}".encode()
    pids = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                pids.append(int(entry.name))
    return pids


def _descendants(pid: int) -> list[int]:
    """Ids of all processes below ``pid`` (POSIX, from ``ps``); empty when unknown."""
    try:
        listing = subprocess.run(["ps", "-A", "-o", "pid=", "-o", "ppid="],
                                 capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    children: dict[int, list[int]] = {}
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            children.setdefault(int(parts[1]), []).append(int(parts[0]))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _kill(pids: Iterable[int]) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            if os.getpgid(pid) == pid:  # a group leader (the kernel is one): kill its group
                os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _kill_tree(process: subprocess.Popen[bytes], token: str) -> None:
    """Kill pytest, its kernel and anything they started."""
    if os.name == "nt":  # pragma: no cover - Windows
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(process.pid)],
                       capture_output=True, check=False)
        return
    victims = set(_descendants(process.pid)) | set(_processes_with_token(token))
    _kill([process.pid, *victims])


def _cell_outcomes(junit: Path, log: str) -> dict[int, tuple[str, str]]:
    """``code_index -> (outcome, message)``; outcome is passed, failed or skipped.

    Read from the JUnit XML report; when pytest was killed before writing it, from the
    ``-v`` progress lines of the log (outcomes only).
    """
    outcomes: dict[int, tuple[str, str]] = {}
    if junit.is_file():
        with contextlib.suppress(ET.ParseError):
            for case in ET.parse(junit).iter("testcase"):
                match = re.fullmatch(r"Cell (\d+)", case.get("name", ""))
                if not match:
                    continue
                outcome, message = "passed", ""
                for child in case:
                    if child.tag in ("failure", "error"):
                        outcome = "failed"
                        message = child.get("message", "") + "\n" + (child.text or "")
                    elif child.tag == "skipped":
                        outcome, message = "skipped", child.get("message", "")
                outcomes[int(match.group(1))] = (outcome, _ANSI.sub("", message))
            return outcomes
    for match in _VERBOSE_ITEM.finditer(log):
        word = match.group(2)
        outcome = {"PASSED": "passed", "XPASS": "passed", "FAILED": "failed",
                   "ERROR": "failed"}.get(word, "skipped")
        outcomes[int(match.group(1))] = (outcome, "")
    return outcomes


def _exception_name(message: str) -> str:
    """The exception class named at the end of an nbval failure report."""
    _, _, traceback = message.partition("Traceback:")
    for line in reversed((traceback or message).strip().splitlines()):
        match = _EXCEPTION_LINE.match(line.strip())
        if match and match.group(1)[:1].isupper() and match.group(1) != "Traceback":
            return match.group(1).rsplit(".", 1)[-1]
    if "Kernel dead" in message:
        return "kernel died"
    return "exception"


def _score(nb: dict[str, Any], outcomes: dict[int, tuple[str, str]],
           timeout_cell: float) -> tuple[dict[str, bool], list[str], list[str]]:
    """Scores per question, plus notes about errors and about timeouts."""
    checks = check_cells(nb["cells"])
    check_codes = {code for _, code, _ in checks}
    scores = {qid: outcomes.get(code, ("missing", ""))[0] == "passed"
              for _, code, qid in checks}
    cell_of_code = [i for i, cell in enumerate(nb["cells"]) if cell["cell_type"] == "code"]
    errors: list[str] = []
    timeouts: list[str] = []
    for code in sorted(outcomes):
        outcome, message = outcomes[code]
        if outcome != "failed" or code >= len(cell_of_code):
            continue
        cell = cell_of_code[code] + 1
        if "Timeout of" in message:
            why = ("kernel did not respond and was stopped" if "Failed to interrupt" in message
                   else f"ran over {timeout_cell:g} s")
            timeouts.append(f"timeout in cell {cell} ({why})")
        elif code not in check_codes:
            errors.append(f"error in cell {cell} ({_exception_name(message)})")
    if len(errors) > 1:
        more = len(errors) - 1
        errors = [f"{errors[0]} and {more} more failing cell{'s' if more > 1 else ''}"]
    return scores, errors, timeouts


def grade_one(path: Path, name: str, *, timeout_cell: float = DEFAULT_TIMEOUT_CELL,
              timeout_notebook: float = DEFAULT_TIMEOUT_NOTEBOOK) -> Result:
    """Run one submission in its own process and score it (never raises for bad input)."""
    start = time.monotonic()
    try:
        nb = load_notebook(path)
        try:
            checks = check_cells(nb["cells"])
        except ValueError as error:
            raise SubmissionError("not a notebook", f"not gradable: {error}") from None
        with tempfile.TemporaryDirectory(prefix="mtl-kit-grade-") as tmp:
            work = Path(tmp)
            notebook = work / "submission.ipynb"
            notebook.write_text(json.dumps(prepare_for_grading(nb)), encoding="utf-8")
            (work / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
            junit, log_path = work / "report.xml", work / "pytest.log"
            token = uuid.uuid4().hex
            timed_out = False
            with open(log_path, "wb") as log:
                process = subprocess.Popen(
                    _pytest_command(notebook, junit, timeout_cell), cwd=work,
                    env=_run_env(token), stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=os.name != "nt")
                try:
                    process.wait(timeout=timeout_notebook)
                except subprocess.TimeoutExpired:
                    timed_out = True
                    _kill_tree(process, token)
                    process.wait()
                finally:
                    if os.name != "nt":  # leftovers, e.g. a process the notebook started
                        _kill(_processes_with_token(token))
            log_text = log_path.read_text(encoding="utf-8", errors="replace")
            outcomes = _cell_outcomes(junit, log_text)
            if not outcomes and not timed_out and process.returncode not in (0, 1):
                tail = " ".join(log_text.strip().splitlines()[-1:])[:120]
                raise SubmissionError("failed to run",
                                      f"failed to run (pytest exit {process.returncode}: "
                                      f"{tail})")
    except SubmissionError as error:
        return Result(name, error.status, {}, error.note, time.monotonic() - start)
    scores, errors, timeouts = _score(nb, outcomes, timeout_cell)
    if timed_out:
        timeouts.append(f"timeout: notebook ran over {timeout_notebook:g} s and was stopped")
    notes = timeouts + errors
    if not checks:
        notes.append("no check cells found")
    status = "timeout" if timeouts else "error" if errors else "ok"
    return Result(name, status, scores, "; ".join(notes), time.monotonic() - start)


# -- grading many, reporting ------------------------------------------------------------


def _validate_positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a number of seconds > 0, got {value!r}")
    return float(value)


def grade(paths: Sequence[str | os.PathLike[str]], *,
          timeout_cell: float = DEFAULT_TIMEOUT_CELL,
          timeout_notebook: float = DEFAULT_TIMEOUT_NOTEBOOK, jobs: int = 1,
          progress: Callable[[int, int, Result], None] | None = None) -> list[Result]:
    """Grade every submission under ``paths``; one :class:`Result` each, sorted by name.

    ``jobs`` submissions run at the same time, each in its own process. ``progress`` is
    called as ``progress(done, total, result)`` after each one.
    """
    timeout_cell = _validate_positive("timeout_cell", timeout_cell)
    timeout_notebook = _validate_positive("timeout_notebook", timeout_notebook)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an int >= 1, got {jobs!r}")
    submissions = find_submissions(paths)
    results: dict[str, Result] = {}

    def work(item: tuple[str, Path]) -> Result:
        result = grade_one(item[1], item[0], timeout_cell=timeout_cell,
                           timeout_notebook=timeout_notebook)
        results[item[0]] = result
        if progress is not None:
            progress(len(results), len(submissions), result)
        return result

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(work, submissions))
    return [results[name] for name, _ in submissions]


def _natural_key(text: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def question_ids(results: Iterable[Result]) -> list[str]:
    """Every question id seen in ``results``, in natural order (q2 before q10)."""
    return sorted({qid for r in results for qid in r.scores}, key=_natural_key)


def _rows(results: Sequence[Result], symbols: tuple[str, str, str]) -> tuple[list[str],
                                                                             list[list[str]]]:
    qids = question_ids(results)
    header = ["submission", *qids, "total", "note"]
    rows = []
    for r in results:
        cells = []
        for qid in qids:
            if not r.graded:
                cells.append(symbols[2])
            else:
                cells.append(symbols[0] if r.scores.get(qid) else symbols[1])
        missing = [q for q in qids if r.graded and q not in r.scores]
        note = r.note
        if missing:
            note = "; ".join(filter(None, [note, "no check cell for " + ", ".join(missing)]))
        total = sum(bool(r.scores.get(q)) for q in qids)
        rows.append([r.submission, *cells, f"{total}/{len(qids)}", note])
    return header, rows


def format_table(results: Sequence[Result]) -> str:
    """The score table as aligned plain text (✓ passed, ✗ failed, - not run)."""
    header, rows = _rows(results, (PASS, FAIL, NOT_RUN))
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]
    return "\n".join(lines)


def csv_text(results: Sequence[Result]) -> str:
    """The score table as CSV: 1/0 per question (empty when not run), total, max, note."""
    qids = question_ids(results)
    _, rows = _rows(results, ("1", "0", ""))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["submission", "status", *qids, "total", "max", "note"])
    for r, row in zip(results, rows, strict=True):
        total = row[-2].split("/")[0]
        writer.writerow([row[0], r.status, *row[1:-2], total, len(qids), row[-1]])
    return buffer.getvalue()


def write_csv(results: Sequence[Result], path: str | os.PathLike[str]) -> None:
    """Write :func:`csv_text` to ``path`` (UTF-8)."""
    Path(path).write_text(csv_text(results), encoding="utf-8")


# -- command line ---------------------------------------------------------------------------


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}")
    return value


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface of ``python -m mtl_kit.grade``."""
    parser = argparse.ArgumentParser(
        prog="python -m mtl_kit.grade",
        description="Run exercise notebooks with pytest --nbval-lax, one process each, and "
                    "print a score table (one row per submission, one column per question). "
                    "WARNING: this executes the submitted code; run it in a container, a VM "
                    "or a throwaway account.")
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="notebooks, or folders searched recursively for *.ipynb")
    parser.add_argument("--timeout-cell", type=_seconds, default=DEFAULT_TIMEOUT_CELL,
                        metavar="S", help="seconds one cell may run (default: %(default)g)")
    parser.add_argument("--timeout-notebook", type=_seconds, default=DEFAULT_TIMEOUT_NOTEBOOK,
                        metavar="S",
                        help="seconds one whole submission may run, kernel start included "
                             "(default: %(default)g)")
    parser.add_argument("--csv", default="grades.csv", metavar="FILE",
                        help="where to write the CSV table (default: %(default)s)")
    parser.add_argument("--jobs", type=_jobs, default=1, metavar="N",
                        help="submissions graded at the same time (default: %(default)s)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Grade from the command line; 0 when grading completed, 2 on a usage error."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.paths:
        parser.error("give at least one notebook or folder to grade")
    try:
        submissions = find_submissions(args.paths)
    except FileNotFoundError as error:
        parser.error(str(error))
    if not submissions:
        parser.error("no notebooks (*.ipynb) found in " + ", ".join(args.paths))
    csv_path = Path(args.csv)
    if not csv_path.parent.is_dir():
        parser.error(f"--csv: folder {csv_path.parent} does not exist")

    def report(done: int, total: int, result: Result) -> None:
        status = result.status + (f": {result.note}" if result.note else "")
        print(f"[{done}/{total}] {result.submission}: {status} ({result.seconds:.1f} s)",
              file=sys.stderr, flush=True)

    start = time.monotonic()
    results = grade(args.paths, timeout_cell=args.timeout_cell,
                    timeout_notebook=args.timeout_notebook, jobs=args.jobs, progress=report)
    write_csv(results, csv_path)
    print(format_table(results))
    print(f"\nWrote {csv_path}")
    print(f"Graded {len(results)} submission(s) in {time.monotonic() - start:.1f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
