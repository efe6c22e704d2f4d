"""Re-execute the course's notebooks in place, so the committed outputs are current.

Usage:  python .ci/execute_notebooks.py [NOTEBOOK_OR_FOLDER ...]

With no arguments it runs every lesson in notebooks/ and every solution in
notebooks/solutions/. Handed-out exercises in notebooks/exercises/ are stored without
outputs (students fill them in), so they are cleared rather than executed.
Each notebook runs in its own kernel (this interpreter), from its own folder.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
CELL_TIMEOUT_S = 600


def _targets(args: list[str]) -> list[Path]:
    if not args:
        folders = (NOTEBOOKS, NOTEBOOKS / "solutions", NOTEBOOKS / "exercises")
        return [path for folder in folders for path in sorted(folder.glob("*.ipynb"))]
    found: list[Path] = []
    for arg in args:
        path = Path(arg).resolve()
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        elif path.suffix == ".ipynb" and path.exists():
            found.append(path)
        else:
            raise SystemExit(f"not a notebook or folder: {arg}")
    return found


def _clear(nb: nbformat.NotebookNode) -> None:
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None


def main(args: list[str]) -> int:
    for path in _targets(args):
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        if path.parent.name == "exercises":
            _clear(nb)
            action = "cleared"
        else:
            client = NotebookClient(
                nb,
                timeout=CELL_TIMEOUT_S,
                kernel_name="python3",
                resources={"metadata": {"path": str(path.parent)}},
            )
            client.execute()
            action = "executed"
        nbformat.write(nb, path)
        print(f"{action:>8}  {path.relative_to(ROOT)}  ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
