"""Bounds for one graded submission: memory, processes, network, its own folders.

:func:`confine` runs in the grader's runner process before the kernel starts, so the kernel
and everything it starts inherit the bounds:

* memory: ``RLIMIT_AS`` (virtual memory per process) of ``memory_bytes``; a cell that goes
  over gets ``MemoryError`` (or its kernel dies), which the grader reports as "memory limit";
* processes: a cgroup ``pids.max`` of ``max_processes`` tasks (threads count) when the
  machine lets us create one (root, cgroup v1 or v2 with the pids controller), else
  ``RLIMIT_NPROC`` for an ordinary user; root ignores ``RLIMIT_NPROC``, then no cap applies
  and a note says so;
* network: a fresh network namespace (``unshare(CLONE_NEWNET)``) with only the loopback
  interface up (the kernel talks to the runner over 127.0.0.1); where that is not permitted,
  a note says the network stays reachable.

Linux only; on other systems :func:`confine` applies what ``resource`` offers and notes the
rest. Folders (own temporary home and working folder) are chosen by the caller.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import os
import socket
import struct
from pathlib import Path

__all__ = ["CGROUP_ROOTS", "confine", "make_process_group", "remove_process_group"]

CLONE_NEWNET = 0x40000000
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1
#: Where a pids cgroup may be created: cgroup v1's pids hierarchy, then cgroup v2.
CGROUP_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup/unified"),
                Path("/sys/fs/cgroup"))


def make_process_group(name: str, max_processes: int) -> Path | None:
    """A fresh pids cgroup capped at ``max_processes`` tasks, or None when not permitted."""
    for root in CGROUP_ROOTS:
        if not (root / "pids.max").exists() and not (root / "cgroup.procs").exists():
            continue
        folder = root / name
        try:
            folder.mkdir()
        except OSError:
            continue
        try:
            (folder / "pids.max").write_text(str(max_processes))
            return folder
        except OSError:
            with contextlib.suppress(OSError):
                folder.rmdir()
    return None


def group_members(folder: Path) -> list[int]:
    """Process ids in the cgroup ``folder`` (empty when unreadable)."""
    with contextlib.suppress(OSError, ValueError):
        return [int(p) for p in (folder / "cgroup.procs").read_text().split()]
    return []


def remove_process_group(folder: Path | None) -> None:
    """Remove a cgroup made by :func:`make_process_group` (its processes must be gone)."""
    if folder is not None:
        with contextlib.suppress(OSError):
            folder.rmdir()


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(sock, _SIOCGIFFLAGS, request)[:18])[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | _IFF_UP))


def _new_network_namespace() -> str | None:
    """Enter a fresh network namespace with loopback up; None, or why it was not possible."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return "no libc found"
    libc = ctypes.CDLL(libc_name, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        return os.strerror(ctypes.get_errno())
    try:
        _loopback_up()
    except OSError as error:  # without loopback the kernel cannot talk to us
        return f"loopback: {error.strerror}"
    return None


def confine(*, memory_bytes: int | None, max_processes: int | None,
            process_group: Path | None, isolate_network: bool = True) -> list[str]:
    """Bound this process (and everything it starts afterwards); notes on what was not bound.

    ``process_group`` is a cgroup from :func:`make_process_group` to join, or None.
    """
    import resource

    notes: list[str] = []
    if memory_bytes is not None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    if max_processes is not None:
        if process_group is not None:
            (process_group / "cgroup.procs").write_text(str(os.getpid()))
        elif os.geteuid() != 0 and hasattr(resource, "RLIMIT_NPROC"):
            resource.setrlimit(resource.RLIMIT_NPROC, (max_processes, max_processes))
        else:
            notes.append("no process cap (no cgroup could be made, and root ignores "
                         "RLIMIT_NPROC)")
    if isolate_network:
        why = _new_network_namespace() if os.uname().sysname == "Linux" else "not Linux"
        if why is not None:
            notes.append(f"network not isolated ({why})")
    return notes
