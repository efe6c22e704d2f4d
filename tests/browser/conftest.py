"""A real JupyterLab and a real Chromium for the browser tests (marker ``browser``).

* JupyterLab runs from this interpreter on a free loopback port with a random token, in a
  temporary root directory, with every network feature off (news, update checks, the
  extension manager's PyPI lookups). It runs in its own process group and is always
  stopped at teardown (its kernels first, then the whole group).
* Chromium is Debian's ``chromium`` package, driven by Playwright for Python through
  ``executable_path``: no browser download (never run ``playwright install``).

When Playwright, Chromium or JupyterLab is missing the tests are skipped on a laptop, but
they FAIL when the ``CI`` environment variable is set: CI must install them
(``apt-get install -y chromium``; ``pip install playwright jupyterlab``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

#: Flags from the issue: no GPU, no sandbox (containers), nothing reaching the network.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT_DIR = Path(__file__).parent / "screenshots"
START_TIMEOUT = 60.0


def _missing(what: str) -> None:
    """Skip on a laptop, fail in CI: CI must have everything the browser test needs."""
    message = (f"{what}; install it for the browser tests (apt-get install -y chromium; "
               f"pip install playwright jupyterlab). Never run `playwright install`.")
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {message}", pytrace=False)
    pytest.skip(message)


def chromium_path() -> str:
    """Debian's chromium (``$CHROMIUM`` overrides), or skip/fail."""
    candidates = [os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    _missing("chromium is not installed (looked for $CHROMIUM, /usr/bin/chromium, PATH)")
    raise AssertionError("unreachable")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Lab:
    """A running JupyterLab: where it serves, its token and its root directory."""

    url: str
    token: str
    root: Path
    process: subprocess.Popen
    log: Path

    def api(self, path: str, method: str = "GET") -> object:
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def open_url(self, notebook: str) -> str:
        """The notebook alone in a fresh workspace (no tabs restored from a previous test)."""
        workspace = notebook.replace(".ipynb", "").replace("/", "-")
        return f"{self.url}/lab/workspaces/{workspace}/tree/{notebook}?reset&token={self.token}"

    def shutdown_kernels(self) -> None:
        """Stop every kernel the server runs (between tests, and at teardown)."""
        for kernel in self.api("/api/kernels") or []:  # type: ignore[union-attr]
            self.api(f"/api/kernels/{kernel['id']}", method="DELETE")


def _lab_settings(settings_dir: Path) -> None:
    """User settings that keep JupyterLab offline and quiet (no news, no update check)."""
    settings = {
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True,
        },
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
            "autoStartDefaultKernel": True,  # no "Select Kernel" dialog
            "windowingMode": "none",  # render every cell, also those scrolled out of view
        },
        "@jupyterlab/extensionmanager-extension/plugin.jupyterlab-settings": {
            "enabled": False, "disclaimed": False,
        },
    }
    for name, values in settings.items():
        path = settings_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")


def _stop(lab: Lab) -> None:
    """Shut the kernels down through the API, then stop the server's process group."""
    with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
        lab.shutdown_kernels()
    try:
        pgid = os.getpgid(lab.process.pid)
    except ProcessLookupError:
        return
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        try:
            lab.process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="session")
def playwright_chromium() -> Iterator[object]:
    """A headless Chromium browser (Debian's) driven by Playwright."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright Python package is not installed")
    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def jupyter_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab on a free loopback port with a random token, in a temporary root."""
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        _missing("jupyterlab is not installed")
    import secrets

    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    settings_dir = base / "settings"
    _lab_settings(settings_dir)
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    env.update(
        JUPYTERLAB_SETTINGS_DIR=str(settings_dir),
        JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        JUPYTER_CONFIG_DIR=str(base / "config"),
        PYTHONUNBUFFERED="1",
    )
    if "KERAS_BACKEND" not in env and _has_module("jax"):
        env["KERAS_BACKEND"] = "jax"  # what mtl_kit would choose; keeps ~/.keras out of it
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        f"--port={port}", "--port-retries=0",
        f"--IdentityProvider.token={token}", "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers and CI often run as root
    log = base / "jupyterlab.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            command, cwd=root, env=env, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: we stop all of it at teardown
        )
    lab = Lab(url=f"http://127.0.0.1:{port}", token=token, root=root, process=process, log=log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"JupyterLab exited ({process.returncode}):\n{_tail(log)}")
            try:
                lab.api("/api/status")
                break
            except (OSError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start in {START_TIMEOUT} s:\n{_tail(log)}")
                time.sleep(0.3)
        yield lab
    finally:
        _stop(lab)


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@pytest.fixture()
def lab(jupyter_lab: Lab) -> Iterator[Lab]:
    """The shared JupyterLab, with every kernel stopped after each test."""
    yield jupyter_lab
    with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
        jupyter_lab.shutdown_kernels()


@pytest.fixture()
def screenshot_dir() -> Path:
    """tests/browser/screenshots/ (git-ignored): every run's pictures land here."""
    SCREENSHOT_DIR.mkdir(exist_ok=True)
    return SCREENSHOT_DIR
