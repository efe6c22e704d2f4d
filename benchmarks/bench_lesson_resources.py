"""Peak kernel memory and CPU time per lesson, and per graded submission: sizing a class server.

    python benchmarks/bench_lesson_resources.py [NOTEBOOK ...]

Each notebook (default: every lesson in notebooks/) runs top to bottom in a fresh kernel,
started by a fresh helper process; the helper's ``RUSAGE_CHILDREN`` after the kernel is
reaped gives the kernel's peak resident memory (``ru_maxrss``) and CPU time (user + system).
Then the grader grades the solved copy of the first lesson given, and the same figures are
taken for it (runner and kernel). Prints one line per notebook with what it implies for a class
server:

* memory: a learner's kernel lives for the whole session and holds about its peak, so a server
  needs (learners × the heaviest lesson's peak) plus headroom: ``learners/GB`` = 1024 / peak MB;
* CPU: a class runs a lesson's cells at about the same time; ``cores for 30`` is the cores that
  keep up when 30 learners run the whole lesson within the same ``WINDOW_S`` (15 minutes):
  30 × CPU s / 900 (explorer clicks come on top: a click costs about a second).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WINDOW_S = 15 * 60
CLASS = 30

HELPER = """
import json, resource, sys
import nbformat
from nbclient import NotebookClient
path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
NotebookClient(nb, timeout=900, kernel_name="python3",
               resources={"metadata": {"path": str(__import__('pathlib').Path(path).parent)}}
               ).execute()
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"peak_mb": usage.ru_maxrss / 1024, "cpu_s": usage.ru_utime + usage.ru_stime}))
"""


def measure(notebook: Path) -> dict[str, float]:
    """Peak MB and CPU seconds of ``notebook``'s kernel, and the wall time."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", HELPER, str(notebook)], capture_output=True,
                          text=True, check=True, cwd=ROOT)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["wall_s"] = time.perf_counter() - start
    return figures


def measure_grading(solution: Path) -> dict[str, float]:
    """The grader's figures for one solved notebook (runner + kernel, from its CSV)."""
    import csv
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mtl_kit.grade", str(solution), "--csv",
                        f"{tmp}/g.csv"], capture_output=True, text=True, check=True, cwd=ROOT)
        wall = time.perf_counter() - start
        with open(f"{tmp}/g.csv", encoding="utf-8") as handle:
            row = next(iter(csv.DictReader(handle)))
    return {"peak_mb": float(row["peak MB"] or 0), "wall_s": wall}


def main(args: list[str]) -> int:
    notebooks = [Path(a) for a in args] or sorted((ROOT / "notebooks").glob("0*.ipynb"))
    print(f"{'notebook':32} {'peak MB':>8} {'CPU s':>7} {'wall s':>7} "
          f"{'learners/GB':>11} {f'cores for {CLASS}':>13}")
    for notebook in notebooks:
        f = measure(notebook)
        cores = CLASS * f["cpu_s"] / WINDOW_S
        print(f"{notebook.name:32} {f['peak_mb']:8.0f} {f['cpu_s']:7.1f} {f['wall_s']:7.1f} "
              f"{1024 / f['peak_mb']:11.1f} {cores:13.1f}", flush=True)
    solution = ROOT / "notebooks" / "solutions" / notebooks[0].name
    if solution.exists():
        g = measure_grading(solution)
        print(f"grading {solution.name}: kernel peak {g['peak_mb']:.0f} MB, "
              f"{g['wall_s']:.1f} s wall per submission (one job)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
