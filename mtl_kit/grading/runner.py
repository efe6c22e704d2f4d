"""Run one submission inside its bounds: ``python -m mtl_kit.grading.runner < config.json``.

The grader starts this module in a fresh process (own session, temporary home and working
folder) and writes its configuration to its standard input, the secret key included (never
in the environment or the command line, which other processes can read)::

    {"notebook": ".../submission.ipynb", "out": ".../out", "key": "<hex>",
     "timeout_cell": 120, "memory_bytes": 4294967296, "max_processes": 256,
     "process_group": "/sys/fs/cgroup/pids/mtl-kit-...", "isolate_network": true}

The runner confines itself (:func:`mtl_kit.grading.sandbox.confine`), starts a kernel,
arms its verdict recorder (:mod:`mtl_kit.exercises.record`) with a silent request kept out of
the history, then runs the code cells one by one with nbclient, errors allowed. After every
cell it rewrites ``out/executed.ipynb`` and ``out/state.json`` (cell outcomes, notes), so a run
the grader kills at its notebook timeout still leaves what it did. A cell that times out is
interrupted and the run goes on; a kernel that ignores the interrupt, or dies, ends the run.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from queue import Empty
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync

from mtl_kit.grading.sandbox import confine

__all__ = ["ARM_CODE", "main", "run"]

#: Seconds a kernel has to stop after the interrupt that ends a timed-out cell.
INTERRUPT_WAIT_S = 10.0
#: Sent to the kernel before any cell; ``{key}`` is the secret.
ARM_CODE = "import mtl_kit.exercises.record as _r\n_r.arm({key!r})\ndel _r"


def _write(path: Path, text: str) -> None:
    partial = path.with_suffix(path.suffix + ".part")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def _silent(client: NotebookClient, code: str, timeout: float) -> dict[str, Any] | None:
    """Run ``code`` out of the history; its reply content, or None after ``timeout`` s."""
    msg_id = client.kc.execute(code, silent=True, store_history=False)
    deadline = time.monotonic() + timeout
    while True:
        try:
            reply = run_sync(client.kc.get_shell_msg)(
                timeout=max(0.01, deadline - time.monotonic()))
        except Empty:
            return None
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply["content"]


def _arm(client: NotebookClient, key: str) -> str | None:
    """Arm the kernel's recorder; None, or why it failed."""
    content = _silent(client, ARM_CODE.format(key=key), 120)
    if content is None:
        return "no reply"
    if content.get("status") != "ok":
        return f"{content.get('ename', 'error')}: {content.get('evalue', '')}"[:200]
    return None


def _outcome(cell: Any) -> tuple[str, str]:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return "failed", str(output.get("ename", "exception"))
    return "passed", ""


def run(config: dict[str, Any]) -> int:
    """Execute the configured notebook; 0 when it ran (whatever its cells did)."""
    out = Path(config["out"])
    notes = confine(memory_bytes=config.get("memory_bytes"),
                    max_processes=config.get("max_processes"),
                    process_group=Path(config["process_group"])
                    if config.get("process_group") else None,
                    isolate_network=bool(config.get("isolate_network", True)))
    nb = nbformat.read(config["notebook"], as_version=4)
    cells: list[dict[str, Any]] = []
    state: dict[str, Any] = {"notes": notes, "cells": cells, "finished": False}

    def save() -> None:
        _write(out / "executed.ipynb", nbformat.writes(nb))
        _write(out / "state.json", json.dumps(state))

    client = NotebookClient(nb, timeout=float(config["timeout_cell"]), allow_errors=True,
                            kernel_name="python3", interrupt_on_timeout=False,
                            shutdown_kernel="immediate", startup_timeout=120,
                            resources={"metadata": {"path": os.getcwd()}})
    save()
    with client.setup_kernel():
        why = _arm(client, config["key"])
        if why is not None:
            notes.append(f"verdict recorder not armed ({why})")
        code_index = -1
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            code_index += 1
            entry = {"cell": index, "code": code_index, "outcome": "passed", "ename": ""}
            cells.append(entry)
            try:
                client.execute_cell(cell, index)
                entry["outcome"], entry["ename"] = _outcome(cell)
            except CellTimeoutError:
                entry["outcome"] = "timeout"
                run_sync(client.km.interrupt_kernel)()
                if _silent(client, "pass", INTERRUPT_WAIT_S) is None:
                    entry["ename"] = "stuck"  # the kernel ignored the interrupt: stop here
                    save()
                    break
            except DeadKernelError:
                entry["outcome"] = "dead"
                save()
                break
            save()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    state.update(finished=True, peak_mb=round(usage.ru_maxrss / 1024),
                 cpu_s=round(usage.ru_utime + usage.ru_stime, 2))
    save()
    return 0


def main() -> int:
    """Read the configuration from standard input and run."""
    return run(json.loads(sys.stdin.read()))


if __name__ == "__main__":
    sys.exit(main())
