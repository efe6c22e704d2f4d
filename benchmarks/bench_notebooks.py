"""Time each lesson notebook from a fresh kernel to its last cell (target: ≤ 45 s each on JAX).

Usage:  python benchmarks/bench_notebooks.py [NOTEBOOK ...]

Runs every notebook in notebooks/ (the lessons) by default, each in its own kernel from its own
folder, without writing anything back, and prints one line per notebook plus the slowest.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 45.0


def time_notebook(path: Path) -> float:
    """Wall-clock seconds to execute ``path`` top to bottom, kernel start included."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main(args: list[str]) -> int:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    paths = [Path(a).resolve() for a in args] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    times = {}
    for path in paths:
        key = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name
        times[key] = time_notebook(path)
        verdict = "ok" if times[key] <= TARGET_S else f"OVER {TARGET_S:.0f} s"
        print(f"{key:<44} {times[key]:6.1f} s  {verdict}", flush=True)
    slowest = max(times, key=times.get)
    print(f"slowest: {slowest} {times[slowest]:.1f} s (target ≤ {TARGET_S:.0f} s, "
          f"backend {os.environ['KERAS_BACKEND']}, {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
