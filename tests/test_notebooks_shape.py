"""Every notebook follows the course pattern: Colab badge, guarded install, committed executed."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("*.ipynb"))
SOLUTIONS = sorted((NOTEBOOKS / "solutions").glob("*.ipynb"))
EXERCISES = sorted((NOTEBOOKS / "exercises").glob("*.ipynb"))
ALL = LESSONS + SOLUTIONS + EXERCISES
REPO = "mtl-kit/mtl-kit"


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", ALL, ids=_name)
def test_opens_with_a_colab_badge_for_itself(path):
    first = _read(path).cells[0]
    assert first.cell_type == "markdown"
    url = f"https://colab.research.google.com/github/{REPO}/blob/main/{_name(path)}"
    assert url in first.source


@pytest.mark.parametrize("path", ALL, ids=_name)
def test_first_code_cell_installs_mtl_kit_only_on_colab(path):
    code = next(cell for cell in _read(path).cells if cell.cell_type == "code").source
    assert 'if "google.colab" in sys.modules:' in code
    assert re.search(r'^\s+%pip install .*git\+https://github.com/' + REPO, code, re.M)


@pytest.mark.parametrize("path", LESSONS + SOLUTIONS, ids=_name)
def test_committed_executed_without_errors(path):
    for cell in _read(path).cells:
        if cell.cell_type != "code":
            continue
        assert cell.execution_count is not None, f"not executed: {cell.source[:60]!r}"
        assert not [out for out in cell.outputs if out.output_type == "error"], cell.source[:60]


@pytest.mark.parametrize("path", LESSONS, ids=_name)
def test_lessons_prove_their_numbers_with_checked_cells(path):
    checked = [c for c in _read(path).cells
               if c.cell_type == "code" and c.source.startswith("# NBVAL_CHECK_OUTPUT")]
    assert checked and all(cell.outputs for cell in checked)


@pytest.mark.parametrize("path", [p for p in LESSONS if not p.name.startswith("00")], ids=_name)
def test_lessons_close_with_a_link_to_their_exercises(path):
    last = [c for c in _read(path).cells if c.cell_type == "markdown"][-1].source
    assert f"exercises/{path.name}" in last


@pytest.mark.parametrize("path", LESSONS, ids=_name)
def test_readme_lists_every_lesson_with_its_badge(path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"`{path.stem}`" in readme
    assert f"blob/main/notebooks/{path.name}" in readme


#: Numbers the prose states as definitions or settings, not as results (nothing to print).
DEFINITIONS = {
    "01_the_shop.ipynb": set(),
    "02_single_task.ipynb": {"0.6"},  # the shop's task correlation, a knob
    "03_hard_sharing.ipynb": {"0.2"},  # a λ value the learner is invited to try
    "04_soft_sharing.ipynb": {"0.1", "0.2", "0.01"},  # β convention example; the β grid
    # the cross-stitch α initialisation (0.9 / 0.1), the bound on α's change (0.1) and the
    # tolerance of the "click hardly moves" claims (0.01)
    "05_feature_sharing.ipynb": {"0.9", "0.1", "0.01"},
    # the course's knobs (task correlation 0.6, purchase labels 0.15, noise 0.5), the tolerance
    # of "click hardly moves" (0.015), the synthetic setups' constants (σ = 0.3 and the paper's
    # 0.1; 8,000 / 4,000 rows) and the affinity's measuring batch (4,096 rows)
    "06_choosing_tasks.ipynb": {"0.6", "0.15", "0.5", "0.015", "0.3", "0.1", "8,000",
                                "4,000", "4,096"},
    # the default threshold (0.5), a calibration example (0.03), the λ grid (0.1, 0.3) and the
    # tolerances of the claims (0.95 for predicted / observed, 0.01 and 0.02 for "hardly moves")
    "07_evaluating.ipynb": {"0.5", "0.03", "0.1", "0.3", "0.95", "0.01", "0.02"},
    # the budget's learning rate (0.003), the λ_dwell grid (0.01, 0.0001), the unit
    # change seconds → minutes (3,600 = 60²), the knobs' grids (T 0.5; α 1.5, 0.5; c 0.4, 0.8)
    # the tolerances of "no difference" (0.01 AUC and 0.1 s for λ × 10; 0.005 and 0.05 for α)
    # and the bounds on the conflict thresholds (0.02, 0.1, 0.5)
    "08_task_conflicts.ipynb": {"0.003", "0.01", "0.0001", "3,600", "0.5", "1.5", "0.4", "0.8",
                                "0.1", "0.005", "0.05", "0.02"},
    # the budget's learning rate (0.003) and λ_dwell (0.01), the share of ambiguous requests
    # (0.1), the accuracy a reader of the words alone can reach (0.9 + 0.1 / 3 ≈ 0.93) and the
    # tolerance of the accuracy claim (0.85, 0.95)
    "09_applications.ipynb": {"0.003", "0.01", "0.1", "0.9", "0.93", "0.85", "0.95",
                              "0.0003"},  # the fine-tuning learning rate, a setting
    # the tolerances of the gate claims (spread below 0.1 at the start, growth above 0.1)
    "10_tools_and_outlook.ipynb": {"0.1"},
}
NUMBER = re.compile(r"(?<![\w.])[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\w.])[+-]?\d+\.\d+")


@pytest.mark.parametrize("path", [p for p in LESSONS if p.name in DEFINITIONS], ids=_name)
def test_every_measured_number_in_the_prose_is_printed_by_a_checked_cell(path):
    """A decimal (0.734) or grouped (4,172) number in the text must be printed by a cell that
    proves it: an exact ``# NBVAL_CHECK_OUTPUT`` cell (numbers no backend changes) or a cell that
    asserts its claim (an interval excluding 0, a value within a tolerance)."""
    cells = _read(path).cells
    printed = "".join(
        out.get("text", "") + out.get("data", {}).get("text/plain", "")
        for cell in cells
        if cell.cell_type == "code" and (cell.source.startswith("# NBVAL_CHECK_OUTPUT")
                                         or re.search(r"^\s*assert\b", cell.source, re.M))
        for out in cell.outputs
    )
    missing = []
    for cell in cells:
        if cell.cell_type != "markdown":
            continue
        text = re.sub(r"\$\$.*?\$\$|```.*?```", "", cell.source, flags=re.S)
        for number in NUMBER.findall(text):
            bare = number.lstrip("+-")
            if bare not in DEFINITIONS[path.name] and bare not in printed:
                missing.append(number)
    assert not missing, f"numbers in the text that no checked cell prints: {missing}"
