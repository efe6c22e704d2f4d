"""The package's imports go one way: down a fixed order of layers, never back up.

A cycle (``models.base`` → ``training`` → ``models.layers`` → ``models/__init__`` → every model)
makes the import order matter and drags Keras models into modules that only check arrays. The
layers, lowest first::

    foundation → inputs and data → tasks → weighting → training plumbing → models
      → baselines and seed runs → metrics → experiments → plots and explorer → widgets → exercises

A module may import from its own layer or below. ``mtl_kit.training`` sits *below* the models:
it holds what every model uses between fits (``InitialState``, steps per execution), which
``mtl_kit.models.base`` imports; the single-task baselines, which build models, live above them
in ``mtl_kit.baselines``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mtl_kit"

#: Every module of the package by layer, lowest first; a package name covers its submodules.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    # the root package only selects the Keras backend: importing any submodule runs it first
    ("foundation", ("mtl_kit", "mtl_kit.backend", "mtl_kit.validation", "mtl_kit.palette",
                    "mtl_kit.backends")),
    ("inputs and data", ("mtl_kit.inputs", "mtl_kit.data", "mtl_kit.course", "mtl_kit.text")),
    ("tasks", ("mtl_kit.tasks",)),
    ("weighting", ("mtl_kit.weighting",)),  # mtl_kit/weighting.py or the package weighting/
    ("training plumbing", ("mtl_kit.training", "mtl_kit.epoch_loop", "mtl_kit.task_gradients",
                           "mtl_kit.distributed", "mtl_kit.streaming")),
    ("models", ("mtl_kit.models",)),
    ("baselines and seed runs", ("mtl_kit.baselines", "mtl_kit.seed_runs", "mtl_kit.frames",
                                 "mtl_kit.transfer")),
    ("metrics", ("mtl_kit.metrics", "mtl_kit.intervals", "mtl_kit.ranking",
                 "mtl_kit.calibration")),
    ("experiments", ("mtl_kit.experiments", "mtl_kit.evaluation", "mtl_kit.fronts",
                     "mtl_kit.selection", "mtl_kit.affinity", "mtl_kit.relatedness",
                     "mtl_kit.mmoe_experiment", "mtl_kit.balancing", "mtl_kit.conflict",
                     "mtl_kit.gate_history",
                     "mtl_kit.paired", "mtl_kit.recommend", "mtl_kit.funnel",
                     "mtl_kit.assistant")),
    ("plots and explorer", ("mtl_kit.plots", "mtl_kit.explorer", "mtl_kit.evaluation_plots",
                            "mtl_kit.balancing_plots")),
    ("widgets", ("mtl_kit.widgets",)),
    ("exercises", ("mtl_kit.exercises", "mtl_kit.grade", "mtl_kit.grading")),
]

#: Function-level imports allowed to go *up* a layer, each with the reason. None today: a lazy
#: upward import hides a cycle instead of removing it.
ALLOWED_LAZY_UPWARD: dict[tuple[str, str], str] = {}


def layer_of(module: str) -> int | None:
    """Index of the layer holding ``module`` (the longest listed prefix wins), or None."""
    best, best_length = None, -1
    for index, (_, names) in enumerate(LAYERS):
        for name in names:
            covers = module == name or (name != "mtl_kit" and module.startswith(name + "."))
            if covers and len(name) > best_length:
                best, best_length = index, len(name)
    return best


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or path.is_dir()


def imported_modules(node: ast.Import | ast.ImportFrom, importer: str,
                     is_package: bool) -> list[str]:
    """The mtl_kit modules an import statement loads (with their parent packages)."""
    if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:  # relative: from the importer's package
            package = importer.split(".") if is_package else importer.split(".")[:-1]
            package = package[:len(package) - node.level + 1]
            base = ".".join(package + ([base] if base else []))
        # ``from mtl_kit import training`` loads the module mtl_kit.training
        targets = [f"{base}.{a.name}" if _is_module(f"{base}.{a.name}") else base
                   for a in node.names]
    loaded = set()
    for target in targets:
        if target != "mtl_kit" and not target.startswith("mtl_kit."):
            continue
        parts = target.split(".")
        loaded.update(".".join(parts[:k]) for k in range(2, len(parts) + 1))
    # a submodule's own parent packages are already loading when it runs
    ancestors = {".".join(importer.split(".")[:k]) for k in range(1, importer.count(".") + 2)}
    return sorted(loaded - ancestors)


def package_imports() -> list[tuple[str, str, int, bool]]:
    """(importer, imported, line, lazy) for every mtl_kit import in the package."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        lazy_lines = {
            inner.lineno
            for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            for inner in ast.walk(node) if isinstance(inner, (ast.Import, ast.ImportFrom))
        }
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in imported_modules(node, importer, path.name == "__init__.py"):
                    found.append((importer, target, node.lineno, node.lineno in lazy_lines))
    return found


def test_every_module_has_a_layer():
    modules = sorted({module_name(p) for p in PACKAGE.rglob("*.py")})
    assert [m for m in modules if layer_of(m) is None] == []


def test_module_level_imports_only_go_down():
    upward = [
        f"{importer} ({LAYERS[layer_of(importer)][0]}) imports {target} "
        f"({LAYERS[layer_of(target)][0]}) at line {line}"
        for importer, target, line, lazy in package_imports()
        if not lazy and layer_of(target) is not None and layer_of(importer) is not None
        and layer_of(target) > layer_of(importer)
    ]
    assert upward == []


def test_lazy_imports_only_go_down_too():
    upward = [
        f"{importer} imports {target} inside a function at line {line}"
        for importer, target, line, lazy in package_imports()
        if lazy and layer_of(target) is not None and layer_of(importer) is not None
        and layer_of(target) > layer_of(importer)
        and (importer, target) not in ALLOWED_LAZY_UPWARD
    ]
    assert upward == []


def test_no_import_cycle_between_modules():
    graph: dict[str, set[str]] = {}
    for importer, target, _, lazy in package_imports():
        if not lazy:
            graph.setdefault(importer, set()).add(target)
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def cycle_from(module: str, path: list[str]) -> list[str] | None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                return [*path[path.index(target):], target] if target in path else [target]
            if target not in state:
                found = cycle_from(target, [*path, target])
                if found:
                    return found
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state:
            found = cycle_from(module, [module])
            assert found is None, " -> ".join(found)


def test_the_checker_sees_an_upward_import():
    """The rules above can fail: the pre-fix import of training (models.layers) is caught."""
    node = ast.parse("from mtl_kit.models.layers import IDS_KEY").body[0]
    targets = imported_modules(node, "mtl_kit.training", is_package=False)
    assert targets == ["mtl_kit.models", "mtl_kit.models.layers"]
    assert all(layer_of(t) > layer_of("mtl_kit.training") for t in targets)
    node = ast.parse("from mtl_kit import epoch_loop, training").body[0]
    assert imported_modules(node, "mtl_kit.models.base", is_package=False) == [
        "mtl_kit.epoch_loop", "mtl_kit.training"]


@pytest.mark.parametrize("module", ["mtl_kit.training", "mtl_kit.inputs",
                                    "mtl_kit.validation", "mtl_kit.tasks"])
def test_low_modules_load_no_model(module):
    code = (f"import sys, {module}\n"
            "print(sorted(m for m in sys.modules if m.startswith('mtl_kit.models')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=PACKAGE.parent, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"import {module} loaded {result.stdout.strip()}"
