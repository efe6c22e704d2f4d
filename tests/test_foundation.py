"""The skeleton a learner, an instructor and a contributor meet first."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", section, re.S)]


def test_layout_has_the_fixed_top_level_shape():
    for name in ("README.md", "requirements.txt", "pyproject.toml", "LICENSE", ".ci/run"):
        assert (ROOT / name).is_file(), name
    for name in ("notebooks", "mtl_kit", "data", "tests"):
        assert (ROOT / name).is_dir(), name


def test_quick_start_is_exactly_two_commands():
    commands = _quick_start_commands()
    assert len(commands) == 2, commands
    assert all("\n" not in command for command in commands)
    course, tests = commands
    assert course.startswith("pip install -r requirements.txt")
    assert "jupyter lab notebooks" in course
    assert tests.startswith("pip install -r requirements-test.txt")


def test_ci_runs_the_readme_test_command_word_for_word():
    test_command = _quick_start_commands()[1]
    ci_lines = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()]
    assert test_command in ci_lines


def test_license_is_mit_and_readme_says_so():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert "MIT" in README.split("## License", 1)[1]
    assert PYPROJECT["project"]["license"]["text"] == "MIT"


def test_requirements_name_the_package_jupyterlab_and_jax():
    lines = [
        line.strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert "-e .[jax]" in lines
    assert any(line.startswith("jupyterlab") for line in lines)


def test_package_dependencies_are_ranges_that_admit_colab_and_today():
    deps = [Requirement(text) for text in PYPROJECT["project"]["dependencies"]]
    extras = PYPROJECT["project"]["optional-dependencies"]
    deps += [Requirement(text) for group in extras.values() for text in group]
    for dep in deps:
        if dep.name == "torch":
            # The one exception: the CPU build on the machine's disk is torch 2.13.0 exactly; a
            # range lets pip take a newer CUDA build of several GB from the registry.
            assert str(dep.specifier) == "==2.13.0", dep
            continue
        assert "==" not in str(dep.specifier), f"{dep}: no exact pins in the package"
    by_name = {dep.name.lower(): dep for dep in deps}
    assert not by_name["ipywidgets"].specifier.contains("7.7.0")
    must_admit = {
        # Google Colab's runtime ...
        "keras": ["3.13.2", "3.15.0"],
        "ipywidgets": ["7.7.1", "8.1.7"],
        "ipython": ["7.34.0", "9.0.0"],
        "scikit-learn": ["1.6.1", "1.9.0"],
        "matplotlib": ["3.10.0"],
        "jax": ["0.7.2", "0.10.0"],
        "tensorflow": ["2.20.0"],
        "jupyterlab": ["4.6.0"],
    }
    for name, versions in must_admit.items():
        for version in versions:
            assert by_name[name].specifier.contains(Version(version)), (name, version)


def test_colab_constraints_fit_the_package_ranges():
    pins = {}
    for line in (ROOT / ".ci/colab-constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    assert {"keras", "ipywidgets", "ipython", "jax", "tensorflow", "scikit-learn"} <= set(pins)
    extras = PYPROJECT["project"]["optional-dependencies"]
    texts = PYPROJECT["project"]["dependencies"] + [t for g in extras.values() for t in g]
    for dep in map(Requirement, texts):
        if dep.name.lower() in pins:
            assert dep.specifier.contains(Version(pins[dep.name.lower()])), dep


def test_tox_runs_both_backends_and_the_colab_pins():
    tox = (ROOT / "tox.ini").read_text()
    env_list = re.search(r"env_list = (.*)", tox).group(1)
    envs = [env.strip() for env in env_list.split(",")]
    assert {"lint", "jax", "tensorflow", "colab"} <= set(envs)
    assert envs.index("tensorflow") < envs.index("jax")  # the longest env starts first
    assert "KERAS_BACKEND = tensorflow" in tox
    assert "PIP_CONSTRAINT = {tox_root}/.ci/colab-constraints.txt" in tox


def test_bare_pytest_collects_unit_tests_and_notebooks():
    options = PYPROJECT["tool"]["pytest"]["ini_options"]
    assert options["testpaths"] == ["tests", "notebooks"]
    assert "--nbval-lax" in options["addopts"]


def _run_python(code: str, env_updates: dict[str, str | None], tmp_path: Path) -> str:
    # A clean slate: no backend choice and no cache settings (this very process made some).
    env = {k: v for k, v in os.environ.items()
           if k not in ("KERAS_BACKEND", "KERAS_HOME") and not k.startswith(("JAX_", "MTL_KIT_"))}
    env["KERAS_HOME"] = str(tmp_path / "keras_home")
    for key, value in env_updates.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    result = subprocess.run(
        [sys.executable, "-W", "always", "-c", code],
        env=env, capture_output=True, text=True, timeout=120, check=True,
    )
    return result.stdout + result.stderr


SHOW_CHOICE = "import os, mtl_kit; print('chosen:', os.environ.get('KERAS_BACKEND'))"


def test_jax_is_selected_when_nothing_was_chosen(tmp_path):
    pytest.importorskip("jax")
    assert "chosen: jax" in _run_python(SHOW_CHOICE, {}, tmp_path)


def test_a_backend_chosen_by_environment_variable_is_kept(tmp_path):
    out = _run_python(SHOW_CHOICE, {"KERAS_BACKEND": "tensorflow"}, tmp_path)
    assert "chosen: tensorflow" in out


def test_a_backend_chosen_in_keras_json_is_kept(tmp_path):
    (tmp_path / "keras_home").mkdir()
    (tmp_path / "keras_home" / "keras.json").write_text(json.dumps({"backend": "torch"}))
    assert "chosen: None" in _run_python(SHOW_CHOICE, {}, tmp_path)


def test_keras_own_default_in_keras_json_is_not_a_choice(tmp_path):
    # Keras writes {"backend": "tensorflow"} by itself on its first import.
    pytest.importorskip("jax")
    (tmp_path / "keras_home").mkdir()
    (tmp_path / "keras_home" / "keras.json").write_text(json.dumps({"backend": "tensorflow"}))
    assert "chosen: jax" in _run_python(SHOW_CHOICE, {}, tmp_path)


def test_warns_with_the_fix_when_keras_was_imported_with_another_backend(tmp_path):
    pytest.importorskip("jax")  # Keras' numpy backend borrows from JAX
    code = (
        "import os\n"
        "os.environ['KERAS_BACKEND'] = 'numpy'\n"
        "import keras\n"
        "os.environ['KERAS_BACKEND'] = 'jax'\n"
        "import mtl_kit\n"
    )
    out = _run_python(code, {}, tmp_path)
    assert "RuntimeWarning" in out
    assert "'numpy'" in out and "'jax'" in out
    assert "import mtl_kit" in out and "before keras" in out


def test_no_warning_when_the_backends_agree(tmp_path):
    pytest.importorskip("jax")  # Keras' numpy backend borrows from JAX
    code = "import os\nos.environ['KERAS_BACKEND']='numpy'\nimport keras\nimport mtl_kit\n"
    assert "RuntimeWarning" not in _run_python(code, {}, tmp_path)


def test_environment_report_names_backend_versions_and_devices():
    import keras

    import mtl_kit

    report = mtl_kit.environment_report()
    assert report["backend"] == keras.backend.backend()
    assert report["versions"]["keras"] == keras.__version__
    assert report["accelerator"] in ("CPU only", "GPU")
    assert report["devices"]
    text = mtl_kit.describe_environment()
    assert f"Backend       {keras.backend.backend()}" in text


SHOW_CACHE = "import os, mtl_kit; print('cache:', os.environ.get('JAX_COMPILATION_CACHE_DIR'))"


def test_jax_compilation_cache_is_on_when_jax_is_chosen(tmp_path):
    out = _run_python(SHOW_CACHE, {"KERAS_BACKEND": "jax", "XDG_CACHE_HOME": str(tmp_path)},
                      tmp_path)
    assert f"cache: {tmp_path / 'mtl_kit' / 'jax'}" in out


def test_jax_compilation_cache_keeps_the_users_folder_and_can_be_switched_off(tmp_path):
    env = {"KERAS_BACKEND": "jax", "JAX_COMPILATION_CACHE_DIR": "/somewhere/else"}
    assert "cache: /somewhere/else" in _run_python(SHOW_CACHE, env, tmp_path)
    env = {"KERAS_BACKEND": "jax", "MTL_KIT_JAX_CACHE": "off", "JAX_COMPILATION_CACHE_DIR": None}
    assert "cache: None" in _run_python(SHOW_CACHE, env, tmp_path)
    env = {"KERAS_BACKEND": "tensorflow", "JAX_COMPILATION_CACHE_DIR": None}
    assert "cache: None" in _run_python(SHOW_CACHE, env, tmp_path)
