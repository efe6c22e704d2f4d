"""The explorers as a learner uses them: JupyterLab in a real Chromium.

The hard-sharing test opens the hard-sharing explorer notebook (the lesson in
``notebooks/`` that calls ``hard_sharing_explorer(model, data)``; without one, a two-cell
notebook that builds the explorer on the course data exactly as a lesson would), runs all
cells, presses Train (5 seeds), moves the λ slider of a task with the keyboard, presses Train
again and checks that the plot image and the validation table changed. Screenshots go to
``tests/browser/screenshots/`` (git-ignored); with ``MTL_KIT_SCREENSHOTS_TO_DOCS=1`` they
are also copied to ``docs/screenshots/``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from pathlib import Path

import pytest

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # the fixtures skip (or fail in CI) with a clear message
    PlaywrightTimeout = TimeoutError

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
DOCS_SCREENSHOTS = REPO / "docs" / "screenshots"
KERNEL_TIMEOUT_MS = 240_000  # a whole lesson runs before its explorer appears
TRAIN_TIMEOUT_MS = 240_000  # the first click may train the single-task baselines

SETUP_CELL = """\
import mtl_kit
from mtl_kit.course import course_data
from mtl_kit.models import build_hard_sharing
from mtl_kit.tasks import shop_tasks

data = course_data(("click", "purchase"))  # the course's shop: ~28,000 training rows
model = build_hard_sharing(shop_tasks(data.tasks), data.features, seed=0)"""

EXPLORER_CELL = """\
from mtl_kit.widgets import hard_sharing_explorer

hard_sharing_explorer(model, data)  # 5 seeds per Train click"""

SOFT_AND_FEATURE_CELLS = [
    """\
import mtl_kit
from mtl_kit.course import course_data
from mtl_kit.models import build_soft_sharing
from mtl_kit.tasks import shop_tasks

data = course_data(("click", "purchase"))
soft_model = build_soft_sharing(shop_tasks(data.tasks), data.features, beta=1e-3, seed=0)""",
    """\
from mtl_kit.widgets import soft_sharing_explorer

soft_sharing_explorer(soft_model, data)""",
    """\
from mtl_kit.widgets import feature_sharing_explorer

feature_sharing_explorer(data)""",
]

#: How a lesson calls the hard-sharing explorer with the course data (the current API).
LESSON_CALL = re.compile(r"hard_sharing_explorer\(\s*\w+\s*,\s*data\s*[,)]")


def lesson_notebook() -> Path | None:
    """The course's lesson that shows the hard-sharing explorer (called with the course
    data, ``hard_sharing_explorer(model, data, …)``), if there is one."""
    import nbformat

    notebooks = REPO / "notebooks"
    for path in sorted(notebooks.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        if any(LESSON_CALL.search(cell.source) for cell in notebook.cells
               if cell.cell_type == "code"):
            return path
    return None


def copy_without_outputs(source: Path, target: Path) -> None:
    """Copy a notebook with its outputs, execution counts and saved widget state removed,
    so that whatever the browser shows afterwards comes from this run."""
    import nbformat

    notebook = nbformat.read(source, as_version=4)
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.write(notebook, target)


def write_notebook(path: Path, cells: list[str]) -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python",
    }
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.write(notebook, path)


def wait_for_idle_kernel(lab, name: str) -> None:
    """Wait until the notebook's own session has a started, idle kernel (server API)."""
    deadline = time.monotonic() + KERNEL_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        for session in lab.api("/api/sessions") or []:
            kernel = session.get("kernel") or {}
            if session.get("path", "").endswith(name) and kernel.get("execution_state") == "idle":
                return
        time.sleep(0.3)
    pytest.fail(f"the kernel of {name} did not start")


def open_and_run_all(page, lab, name: str) -> None:
    """Open the notebook, wait for its kernel, then Run > Run All Cells (until it runs)."""
    page.goto(lab.open_url(name))
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=KERNEL_TIMEOUT_MS)
    dialog = page.locator(".jp-Dialog").filter(has_text="Select Kernel")
    with contextlib.suppress(PlaywrightTimeout):  # if asked, pick the preferred kernel
        dialog.get_by_role("button", name="Select").click(timeout=1500)
    wait_for_idle_kernel(lab, name)
    notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    prompts = notebook.locator(".jp-InputPrompt").filter(has_text=re.compile(r"\[(\*|\d+)\]"))
    for _attempt in range(3):
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click()
        try:
            prompts.first.wait_for(timeout=15_000)
            return
        except PlaywrightTimeout:  # the kernel was not connected yet: ask again
            page.keyboard.press("Escape")
    pytest.fail("Run All Cells did not start the notebook's cells")


def explorer_box(page, title: str):
    """The outermost widget box of the explorer whose header says ``title``."""
    box = page.locator(".widget-vbox").filter(has_text=title).first
    box.locator("button", has_text="Train").wait_for(timeout=KERNEL_TIMEOUT_MS)
    return box


def press_train(box, expect: str | None = None) -> str:
    """Click Train and wait for the status line to report the finished run."""
    status = box.locator(".widget-html").filter(has_text=re.compile("Trained|Not trained|"
                                                                   "diverged|failed")).first
    before = status.inner_text() if status.count() else ""
    box.locator("button", has_text="Train").click()
    deadline = time.monotonic() + TRAIN_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        if status.count():
            text = status.inner_text()
            if text != before and "Trained" in text and (expect is None or expect in text):
                return text
            if "Not trained" in text or "failed" in text or "diverged" in text:
                pytest.fail(f"the explorer reported: {text}")
        time.sleep(0.2)
    pytest.fail(f"no finished run reported within {TRAIN_TIMEOUT_MS / 1000} s")
    raise AssertionError("unreachable")


def move_slider_left(box, label: str, presses: int) -> str:
    """Focus the slider handle for ``label`` and press ArrowLeft; return its readout."""
    slider = box.locator(".widget-slider").filter(has_text=label).first
    readout = slider.locator(".widget-readout")
    before = readout.inner_text()
    handle = slider.locator(".noUi-handle, .ui-slider-handle").first
    handle.focus()
    for _ in range(presses):
        handle.press("ArrowLeft")
    deadline = time.monotonic() + 5
    while readout.inner_text() == before and time.monotonic() < deadline:
        time.sleep(0.1)
    return readout.inner_text()


def save(image: bytes, directory: Path, name: str, docs: bool = True) -> Path:
    """Save a screenshot; with MTL_KIT_SCREENSHOTS_TO_DOCS=1 also into docs/screenshots/."""
    path = directory / name
    path.write_bytes(image)
    if docs and os.environ.get("MTL_KIT_SCREENSHOTS_TO_DOCS"):
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS_SCREENSHOTS / name)
    return path


def cell_errors(page) -> str:
    """The text of every output that shows an error (for the failure report)."""
    texts = page.locator(".jp-OutputArea-output").all_inner_texts()
    return "\n---\n".join(t for t in texts if "Traceback" in t or "Error" in t)


def no_tracebacks(page) -> None:
    errors = cell_errors(page)
    assert not errors, f"a cell raised an error:\n{errors}"


@contextlib.contextmanager
def browser_page(browser, screenshot_dir, failure_name: str):
    """A new page; if the test fails, a full-page screenshot and the cells' errors first."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        yield page
    except Exception:
        (screenshot_dir / failure_name).write_bytes(page.screenshot(full_page=True))
        print(cell_errors(page))
        raise
    finally:
        page.close()


def test_hard_sharing_explorer_in_jupyterlab(lab, playwright_chromium,
                                             screenshot_dir) -> None:
    start = time.monotonic()
    lesson = lesson_notebook()
    if lesson is not None:
        name = lesson.name
        copy_without_outputs(lesson, lab.root / name)
    else:
        name = "hard_sharing_explorer.ipynb"
        write_notebook(lab.root / name, [SETUP_CELL, EXPLORER_CELL])
    with browser_page(playwright_chromium, screenshot_dir, "failure_hard.png") as page:
        open_and_run_all(page, lab, name)
        box = explorer_box(page, "Hard parameter sharing")
        print(f"\n{name}: explorer shown after {time.monotonic() - start:.1f} s")
        plot = box.locator("img").first
        placeholder = plot.screenshot()

        press_train(box)
        print(f"first Train (and the baselines) done at {time.monotonic() - start:.1f} s")
        first_src = plot.get_attribute("src")
        first = plot.screenshot()
        assert first != placeholder

        readout = move_slider_left(box, "λ purchase", presses=10)  # 1.00 -> 0.50
        assert readout.strip() in ("0.50", "0.5"), readout
        press_train(box, expect="λ purchase=0.5")
        second_src = plot.get_attribute("src")
        second = plot.screenshot()
        table = box.locator(".widget-html").filter(has_text="Validation split").first
        assert "previous run: λ click=1, λ purchase=1" in table.inner_text()
        assert "single-task" in table.inner_text()
        assert second_src != first_src
        assert second != first, "the plot did not change after moving λ and training"
        no_tracebacks(page)

        box.scroll_into_view_if_needed()
        save(box.screenshot(), screenshot_dir, "hard_explorer.png")
        save(page.screenshot(full_page=True), screenshot_dir, "hard_explorer_page.png", docs=False)
    print(f"browser test (hard explorer) took {time.monotonic() - start:.1f} s")


def test_soft_and_feature_explorers_in_jupyterlab(lab, playwright_chromium,
                                                  screenshot_dir) -> None:
    start = time.monotonic()
    name = "soft_and_feature_explorers.ipynb"
    write_notebook(lab.root / name, SOFT_AND_FEATURE_CELLS)
    with browser_page(playwright_chromium, screenshot_dir, "failure_soft_feature.png") as page:
        open_and_run_all(page, lab, name)
        soft = explorer_box(page, "Soft parameter sharing")
        press_train(soft)
        readout = move_slider_left(soft, "β", presses=3)  # 1e-3 -> 0
        assert readout.strip() == "0", readout
        press_train(soft, expect="β=0")
        soft.scroll_into_view_if_needed()
        save(soft.screenshot(), screenshot_dir, "soft_explorer.png")

        feature = explorer_box(page, "Feature-based sharing")
        feature.scroll_into_view_if_needed()
        press_train(feature)
        feature.locator("button", has_text="MMoE").click()
        # wait until the kernel has taken the new architecture (its status line says so):
        # while the kernel is busy, the front end may hold a widget's new value back and
        # send a later button click first
        feature.locator(".widget-html", has_text="Architecture MMoE").first.wait_for(
            timeout=TRAIN_TIMEOUT_MS)
        press_train(feature, expect="MMoE")
        no_tracebacks(page)
        save(feature.screenshot(), screenshot_dir, "feature_explorer.png")
    print(f"browser test (soft + feature explorers) took {time.monotonic() - start:.1f} s")
