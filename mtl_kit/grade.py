"""Grade exercise notebooks, one lesson or a whole workshop, into a score table.

Usage::

    python -m mtl_kit.grade PATH... [--timeout-cell S] [--timeout-notebook S] [--jobs N]
                                    [--csv grades.csv] [--memory GB] [--max-processes N]
                                    [--handouts FOLDER]

Every ``PATH`` is a notebook or a folder (searched recursively for ``*.ipynb``, skipping
``.ipynb_checkpoints``). Each submission runs alone (:mod:`mtl_kit.grading.runner`) in a
fresh temporary home and working folder, in its own process and kernel, under a memory cap,
a process cap and without network where the system allows it
(:mod:`mtl_kit.grading.sandbox`), with a per-cell timeout and an overall wall-clock timeout
after which everything it started is killed.

A question scores 1 only when its check cell (``# CHECK: <id>``) is the handed-out cell and
``check()`` itself recorded a correct verdict, signed with a key fresh for the run
(:mod:`mtl_kit.grading.scoring`); hints and solutions seen are counted per question. Each
notebook is scored against its own lesson's questions; a folder of several lessons gives one
row per learner with a column per lesson (:mod:`mtl_kit.grading.report`).

Grading runs the submitted code: it is untrusted. Run the grader in a container, a
virtual machine or a throwaway account.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mtl_kit.exercises.cells import check_cells
from mtl_kit.grading import sandbox
from mtl_kit.grading.report import Result, csv_text, format_table, question_ids, write_csv
from mtl_kit.grading.scoring import (
    Handouts,
    load_handout_files,
    score_executed,
    suspicious_cells,
)

__all__ = ["Result", "csv_text", "find_submissions", "format_table", "grade", "grade_one",
           "main", "question_ids", "write_csv"]

DEFAULT_TIMEOUT_CELL = 120.0
DEFAULT_TIMEOUT_NOTEBOOK = 600.0
DEFAULT_MEMORY_GB = 4.0
DEFAULT_MAX_PROCESSES = 256
#: The handed-out exercise notebooks shipped with the course.
DEFAULT_HANDOUTS = Path(__file__).resolve().parent.parent / "notebooks" / "exercises"
NBVAL_OUTPUT_MARKERS = ("NBVAL_RAISES_EXCEPTION", "NBVAL_CHECK_OUTPUT")
NBVAL_OUTPUT_TAGS = ("raises-exception", "nbval-raises-exception", "nbval-check-output")
_TOKEN_VARIABLE = "MTL_KIT_GRADE_TOKEN"


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


def _run_env(token: str, root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JPY_", "JUPYTER_"))}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (_package_root(), env.get("PYTHONPATH", "")) if p)
    env.update(HOME=str(root / "home"), TMPDIR=str(root / "tmp"),
               IPYTHONDIR=str(root / "home" / ".ipython"), PYTHONDONTWRITEBYTECODE="1",
               PYTHONUNBUFFERED="1")
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


def _kill_everything(process: subprocess.Popen[bytes], token: str,
                     group: Path | None) -> None:
    """Kill the runner, its kernel and anything they started."""
    if os.name == "nt":  # pragma: no cover - Windows
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(process.pid)],
                       capture_output=True, check=False)
        return
    victims = set(_descendants(process.pid)) | set(_processes_with_token(token))
    if group is not None:
        victims |= set(sandbox.group_members(group))
    _kill([process.pid, *victims])


def _lesson(qids: Sequence[str]) -> str:
    prefixes = {qid.split(".", 1)[0] for qid in qids}
    return prefixes.pop() if len(prefixes) == 1 else ""


def _cell_notes(nb: dict[str, Any], state: dict[str, Any], timeout_cell: float,
                memory_bytes: int | None) -> tuple[str, list[str]]:
    """The status and the notes about errors, timeouts, memory and dead kernels."""
    checks = {index for index, _, _ in check_cells(nb["cells"])}
    cap = f"the {memory_bytes / 2**30:g} GB cap" if memory_bytes else "the machine's memory"
    memory, died, timeouts, errors = [], [], [], []
    for entry in state.get("cells", []):
        cell = entry["cell"] + 1
        if entry["outcome"] == "timeout":
            why = ("kernel did not respond and was stopped" if entry["ename"] == "stuck"
                   else f"ran over {timeout_cell:g} s")
            timeouts.append(f"timeout in cell {cell} ({why})")
        elif entry["outcome"] == "dead":
            died.append(f"kernel died in cell {cell} (over {cap}, or a crash)")
        elif entry["outcome"] == "failed" and entry["ename"] == "MemoryError":
            memory.append(f"memory limit: cell {cell} went over {cap}")
        elif entry["outcome"] == "failed" and entry["cell"] not in checks:
            errors.append(f"error in cell {cell} ({entry['ename']})")
    if len(errors) > 1:
        more = len(errors) - 1
        errors = [f"{errors[0]} and {more} more failing cell{'s' if more > 1 else ''}"]
    status = ("memory limit" if memory else "kernel died" if died else "timeout" if timeouts
              else "error" if errors else "ok")
    return status, memory[:1] + died + timeouts + errors


def grade_one(path: Path, name: str, *, timeout_cell: float = DEFAULT_TIMEOUT_CELL,
              timeout_notebook: float = DEFAULT_TIMEOUT_NOTEBOOK,
              memory_gb: float | None = DEFAULT_MEMORY_GB,
              max_processes: int | None = DEFAULT_MAX_PROCESSES,
              handouts: Handouts | None = None) -> Result:
    """Run one submission in its own bounded process and score it (never raises for bad
    input). ``handouts`` defaults to the course's ``notebooks/exercises``."""
    start = time.monotonic()
    if handouts is None:
        handouts = load_handout_files([DEFAULT_HANDOUTS] if DEFAULT_HANDOUTS.is_dir() else [])
    memory_bytes = None if memory_gb is None else int(memory_gb * 2**30)
    try:
        nb = load_notebook(path)
        try:
            checks = check_cells(nb["cells"])
        except ValueError as error:
            raise SubmissionError("not a notebook", f"not gradable: {error}") from None
        qids = [qid for _, _, qid in checks]
        lesson = _lesson(qids)
        token, key = uuid.uuid4().hex, secrets.token_hex(32)
        group = (sandbox.make_process_group(f"mtl-kit-grade-{token}", max_processes)
                 if max_processes else None)
        with tempfile.TemporaryDirectory(prefix="mtl-kit-grade-") as tmp:
            root = Path(tmp)
            for folder in ("home", "work", "out", "tmp"):
                (root / folder).mkdir()
            notebook = root / "work" / "submission.ipynb"
            notebook.write_text(json.dumps(prepare_for_grading(nb)), encoding="utf-8")
            config = {"notebook": str(notebook), "out": str(root / "out"), "key": key,
                      "timeout_cell": timeout_cell, "memory_bytes": memory_bytes,
                      "max_processes": max_processes,
                      "process_group": str(group) if group else None,
                      "isolate_network": True}
            log_path = root / "out" / "runner.log"
            timed_out = False
            try:
                with open(log_path, "wb") as log:
                    process = subprocess.Popen(
                        [sys.executable, "-m", "mtl_kit.grading.runner"], cwd=root / "work",
                        env=_run_env(token, root), stdin=subprocess.PIPE, stdout=log,
                        stderr=subprocess.STDOUT, start_new_session=os.name != "nt")
                    with contextlib.suppress(OSError):
                        process.stdin.write(json.dumps(config).encode())
                        process.stdin.close()
                    try:
                        process.wait(timeout=timeout_notebook)
                    except subprocess.TimeoutExpired:
                        timed_out = True
                        _kill_everything(process, token, group)
                        process.wait()
                    finally:
                        if os.name != "nt":  # leftovers, e.g. a process the notebook started
                            _kill_everything(process, token, group)
            finally:
                for _ in range(50):  # a cgroup goes once its killed members are reaped
                    if group is None or not sandbox.group_members(group):
                        break
                    time.sleep(0.1)
                sandbox.remove_process_group(group)
            try:
                state = json.loads((root / "out" / "state.json").read_text(encoding="utf-8"))
                executed = json.loads((root / "out" / "executed.ipynb").read_text(
                    encoding="utf-8"))
            except (OSError, ValueError):
                tail = log_path.read_text(encoding="utf-8", errors="replace").strip()
                last = " ".join(tail.splitlines()[-1:])[:120]
                raise SubmissionError("failed to run", f"failed to run (exit "
                                      f"{process.returncode}: {last})") from None
    except SubmissionError as error:
        return Result(name, error.status, {}, error.note, time.monotonic() - start)
    ran = {e["cell"]: e["outcome"] for e in state.get("cells", [])
           if e["outcome"] in ("passed", "failed")}
    scored = score_executed(nb, executed, ran, handouts, key)
    status, notes = _cell_notes(nb, state, timeout_cell, memory_bytes)
    if timed_out:
        status = "timeout"
        notes.append(f"timeout: notebook ran over {timeout_notebook:g} s and was stopped")
    notes += scored.notes + suspicious_cells(nb, handouts)
    if not checks:
        notes.append("no check cells found")
    elif lesson and lesson not in handouts.lessons:
        notes.append(f"check cells not compared (no handed-out notebook of lesson {lesson})")
    questions = handouts.lessons.get(lesson, qids)
    result = Result(name, status, scored.scores, "; ".join(notes), time.monotonic() - start,
                    looks=scored.looks, questions=list(questions), lesson=lesson,
                    peak_mb=state.get("peak_mb"), sandbox_notes=list(state.get("notes", [])))
    return result


# -- grading many ------------------------------------------------------------------------


def _validate_positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a number of seconds > 0, got {value!r}")
    return float(value)


def grade(paths: Sequence[str | os.PathLike[str]], *,
          timeout_cell: float = DEFAULT_TIMEOUT_CELL,
          timeout_notebook: float = DEFAULT_TIMEOUT_NOTEBOOK, jobs: int = 1,
          memory_gb: float | None = DEFAULT_MEMORY_GB,
          max_processes: int | None = DEFAULT_MAX_PROCESSES,
          handouts: Sequence[str | os.PathLike[str]] | None = None,
          progress: Callable[[int, int, Result], None] | None = None) -> list[Result]:
    """Grade every submission under ``paths``; one :class:`Result` each, sorted by name.

    ``jobs`` submissions run at the same time, each in its own process, each with at most
    ``memory_gb`` GB of virtual memory (None: no cap) and ``max_processes`` tasks. Check cells
    are compared with the notebooks in ``handouts`` (default: the course's
    ``notebooks/exercises``). ``progress`` is called as ``progress(done, total, result)``
    after each one.
    """
    timeout_cell = _validate_positive("timeout_cell", timeout_cell)
    timeout_notebook = _validate_positive("timeout_notebook", timeout_notebook)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an int >= 1, got {jobs!r}")
    if memory_gb is not None and (isinstance(memory_gb, bool)
                                  or not isinstance(memory_gb, (int, float))
                                  or not memory_gb > 0):
        raise ValueError(f"memory_gb must be a number of GB > 0 or None, got {memory_gb!r}")
    if max_processes is not None and (isinstance(max_processes, bool)
                                      or not isinstance(max_processes, int)
                                      or max_processes < 8):
        raise ValueError(f"max_processes must be an int >= 8 or None, got {max_processes!r}")
    folders = [Path(p) for p in handouts] if handouts is not None else (
        [DEFAULT_HANDOUTS] if DEFAULT_HANDOUTS.is_dir() else [])
    for folder in folders:
        if not folder.exists():
            raise FileNotFoundError(f"handouts: no such file or folder: {folder}")
    handed = load_handout_files(folders)
    submissions = find_submissions(paths)
    results: dict[str, Result] = {}

    def work(item: tuple[str, Path]) -> Result:
        result = grade_one(item[1], item[0], timeout_cell=timeout_cell,
                           timeout_notebook=timeout_notebook, memory_gb=memory_gb,
                           max_processes=max_processes, handouts=handed)
        results[item[0]] = result
        if progress is not None:
            progress(len(results), len(submissions), result)
        return result

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(work, submissions))
    return [results[name] for name, _ in submissions]


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


def _gigabytes(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected GB >= 0, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected GB >= 0, got {text!r}")
    return value or None


def _processes(text: str) -> int | None:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 0 or an integer >= 8, got {text!r}") from None
    if value != 0 and value < 8:
        raise argparse.ArgumentTypeError(f"expected 0 or an integer >= 8, got {text!r}")
    return value or None


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface of ``python -m mtl_kit.grade``."""
    parser = argparse.ArgumentParser(
        prog="python -m mtl_kit.grade",
        description="Run exercise notebooks, one bounded process and kernel each, and "
                    "print a score table (one row per submission and a column per question; "
                    "for several lessons, one row per learner and a column per lesson). "
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
    parser.add_argument("--memory", type=_gigabytes, default=DEFAULT_MEMORY_GB, metavar="GB",
                        help="virtual memory one submission's kernel may use, RLIMIT_AS "
                             "(default: %(default)g; 0 for no cap)")
    parser.add_argument("--max-processes", type=_processes, default=DEFAULT_MAX_PROCESSES,
                        metavar="N", help="processes and threads one submission may run "
                                          "(default: %(default)s; 0 for no cap)")
    parser.add_argument("--handouts", action="append", metavar="PATH",
                        help="handed-out exercise notebooks (or folders of them) whose check "
                             "cells the submissions must keep; repeatable (default: "
                             "the course's notebooks/exercises)")
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
    try:
        results = grade(args.paths, timeout_cell=args.timeout_cell,
                        timeout_notebook=args.timeout_notebook, jobs=args.jobs,
                        memory_gb=args.memory, max_processes=args.max_processes,
                        handouts=args.handouts, progress=report)
    except FileNotFoundError as error:
        parser.error(str(error))
    for warning in sorted({n for r in results for n in r.sandbox_notes}):
        print(f"note: {warning}", file=sys.stderr)
    write_csv(results, csv_path)
    print(format_table(results))
    print(f"\nWrote {csv_path}")
    print(f"Graded {len(results)} submission(s) in {time.monotonic() - start:.1f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
