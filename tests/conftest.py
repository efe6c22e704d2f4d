"""Shared test set-up.

* ``mtl_kit`` is imported first, so that it chooses the Keras backend.
* The course must work offline once installed: any attempt by the code under test to open a
  connection to a non-loopback address fails the test (kernels, JupyterLab and the browser test
  talk over loopback only).
"""

from __future__ import annotations

import ipaddress
import socket

import pytest

import mtl_kit  # noqa: F401  (must come before any keras import)

_real_connect = socket.socket.connect


def _is_loopback(address: object) -> bool:
    if isinstance(address, str):  # a Unix socket path
        return True
    host = address[0] if isinstance(address, tuple) else address
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _loopback_only_connect(self: socket.socket, address: object) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise OSError(f"test tried to reach the network: {address!r} (the course runs offline)")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _loopback_only_connect)
