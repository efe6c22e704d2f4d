"""Choosing the Keras backend, and reporting what the course runs on.

Keras 3 reads its backend once, when ``keras`` is first imported, from the
``KERAS_BACKEND`` environment variable or else from ``~/.keras/keras.json``.
``mtl_kit`` therefore picks a backend *before* it imports Keras:

1. a backend the user chose is always kept: ``KERAS_BACKEND``, or a ``keras.json`` naming a
   backend other than Keras' own default (Keras writes ``"backend": "tensorflow"`` into that
   file by itself on its first import, so that value alone is not a choice; set
   ``KERAS_BACKEND=tensorflow`` to insist on TensorFlow);
2. otherwise JAX is used when it is importable: it is the smallest install and the
   fastest to import and train on a CPU;
3. otherwise Keras falls back to its own default (TensorFlow).

If Keras was already imported with a different backend than the one asked for,
nothing can be changed any more, so a warning says how to fix it.

On JAX, ``mtl_kit`` also switches on JAX's persistent compilation cache (in
``~/.cache/mtl_kit/jax``, or ``$XDG_CACHE_HOME/mtl_kit/jax``): compiling a model's training
step costs seconds on a CPU, and with the cache a re-run of a lesson, or the next lesson's
model of the same shape, skips it. Set ``MTL_KIT_JAX_CACHE=off`` to keep it off; JAX's own
``JAX_COMPILATION_CACHE_DIR`` wins when you set it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import platform
import sys
import warnings

DEFAULT_BACKEND = "jax"
KERAS_OWN_DEFAULT = "tensorflow"  # what Keras writes into a new keras.json by itself
KNOWN_BACKENDS = ("jax", "tensorflow", "torch", "numpy", "openvino")


def _keras_config_backend() -> str | None:
    """The backend a user chose in ``$KERAS_HOME/keras.json`` (``~/.keras`` by default), if any.

    Keras' own default, which it writes into a new file on first import, does not count.
    """
    home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    path = os.path.join(home, "keras.json")
    try:
        with open(path, encoding="utf-8") as handle:
            backend = json.load(handle).get("backend")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(backend, str) or backend == KERAS_OWN_DEFAULT:
        return None
    return backend


def requested_backend() -> str | None:
    """The backend the user chose: ``KERAS_BACKEND``, else a non-default ``keras.json``."""
    return os.environ.get("KERAS_BACKEND") or _keras_config_backend()


def jax_cache_dir() -> str:
    """Where ``mtl_kit`` keeps JAX's compilation cache."""
    cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache_home, "mtl_kit", "jax")


def enable_jax_compilation_cache() -> str | None:
    """Turn on JAX's persistent compilation cache for every compile, however short.

    Returns the cache folder, or None when switched off with ``MTL_KIT_JAX_CACHE=off``.
    Settings the user made through JAX's own environment variables are kept.
    """
    if os.environ.get("MTL_KIT_JAX_CACHE", "").lower() in ("0", "off", "false", "no"):
        return None
    settings = {
        "JAX_COMPILATION_CACHE_DIR": jax_cache_dir(),
        # JAX caches only compiles slower than 1 s by default; on a CPU the many small ones add up.
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
    }
    for key, value in settings.items():
        os.environ.setdefault(key, value)
    if "jax" in sys.modules:  # too late for the environment: tell JAX directly
        jax = sys.modules["jax"]
        jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return os.environ["JAX_COMPILATION_CACHE_DIR"]


def select_backend() -> str | None:
    """Select JAX for Keras unless the user chose a backend; warn if it is too late.

    Returns the backend that was asked for (by the user or by us), or None when
    neither the user chose one nor JAX is installed.
    """
    wanted = requested_backend()
    if wanted is None and importlib.util.find_spec("jax") is not None:
        os.environ["KERAS_BACKEND"] = DEFAULT_BACKEND
        wanted = DEFAULT_BACKEND
    if wanted == "jax":
        enable_jax_compilation_cache()
    if wanted is not None and "keras" in sys.modules:
        active = _active_backend()
        if active is not None and active != wanted:
            warnings.warn(
                f"Keras was imported before mtl_kit and runs on the {active!r} backend, "
                f"but {wanted!r} was asked for. Restart the kernel and import mtl_kit "
                f"before keras (or set KERAS_BACKEND={wanted} before importing keras).",
                RuntimeWarning,
                stacklevel=3,
            )
    return wanted


def _active_backend() -> str | None:
    keras = sys.modules.get("keras")
    try:
        return keras.backend.backend()  # type: ignore[union-attr]
    except AttributeError:
        return None


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _devices(backend: str) -> list[str]:
    """Names of the compute devices the backend sees (e.g. ``['cpu']`` or ``['gpu', ...]``)."""
    try:
        if backend == "jax":
            import jax

            return [d.platform for d in jax.devices()]
        if backend == "tensorflow":
            import tensorflow as tf

            return [d.device_type.lower() for d in tf.config.list_logical_devices()]
        if backend == "torch":
            import torch

            return ["gpu"] * torch.cuda.device_count() or ["cpu"]
    except Exception:  # a broken accelerator setup should not break the report
        return ["unknown"]
    return ["cpu"]


def environment_report() -> dict[str, object]:
    """Which backend, versions and devices the course runs on.

    The welcome notebook prints this so a learner (or an instructor reading a bug
    report) sees at once what is installed.
    """
    import keras

    backend = keras.backend.backend()
    devices = _devices(backend)
    packages = ("keras", "jax", "tensorflow", "torch", "numpy", "pandas", "scikit-learn",
                "matplotlib", "ipywidgets", "ipython", "mtl-kit")
    return {
        "python": platform.python_version(),
        "backend": backend,
        "devices": devices,
        "accelerator": "GPU" if "gpu" in devices or "cuda" in devices else "CPU only",
        "on_colab": "google.colab" in sys.modules,
        "versions": {name: _version(name) for name in packages if _version(name) is not None},
    }


def describe_environment() -> str:
    """``environment_report()`` as a few readable lines."""
    report = environment_report()
    lines = [
        f"Python        {report['python']}",
        f"Backend       {report['backend']}",
        f"Devices       {', '.join(report['devices'])} ({report['accelerator']})",
        f"On Colab      {'yes' if report['on_colab'] else 'no'}",
    ]
    lines += [f"{name:<14}{version}" for name, version in report["versions"].items()]
    return "\n".join(lines)
