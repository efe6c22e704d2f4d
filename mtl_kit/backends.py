"""One model, three backends: which Keras backends are installed, and time per epoch on each.

Keras 3 runs the same model code on JAX, TensorFlow or PyTorch; the backend is read once, from
``KERAS_BACKEND``, when Keras is first imported. A running Python process therefore has exactly
one backend, and trying another means a new process::

    KERAS_BACKEND=torch python train.py

:func:`time_epochs` does exactly that for each backend: it starts a child Python with
``KERAS_BACKEND`` set, builds the course's hard-sharing model on a shop, trains one epoch to
compile (warm-up), then times ``epochs`` more:

    time per epoch = (wall time of ``epochs`` epochs) / epochs

The model, data and seed are the same everywhere; the weights are not bit-identical (each
backend draws its seeded initial weights with its own random generator), so losses agree only
roughly.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

from mtl_kit.validation import check_choice, check_int

#: The backends the course runs on, with the package each needs.
BACKEND_PACKAGES: dict[str, str] = {"jax": "jax", "tensorflow": "tensorflow", "torch": "torch"}

_SCRIPT = textwrap.dedent("""
    import json, sys, time
    import mtl_kit
    import keras
    from mtl_kit.data import make_shop
    from mtl_kit.course import model_features
    from mtl_kit.models import build_hard_sharing

    rows, epochs, batch_size = (int(a) for a in sys.argv[1:4])
    shop = make_shop(n_users=2_000, n_impressions=rows, seed=0)
    x, y = shop.to_arrays(("click", "purchase"))
    model = build_hard_sharing(("click", "purchase"), model_features(shop.features), seed=0)
    model.fit(x, y, epochs=1, batch_size=batch_size)  # compiles: not timed
    start = time.perf_counter()
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size)
    seconds = (time.perf_counter() - start) / epochs
    print(json.dumps({"backend": keras.backend.backend(), "seconds_per_epoch": seconds,
                      "click_loss": history.history["click_loss"][-1],
                      "steps_per_execution": model.steps_per_execution}))
""")


def installed_backends() -> list[str]:
    """The course's backends whose package is importable here (JAX, TensorFlow, PyTorch)."""
    return [name for name, package in BACKEND_PACKAGES.items()
            if importlib.util.find_spec(package) is not None]


def time_epochs(backend: str, rows: int = 20_000, epochs: int = 2, batch_size: int = 256,
                timeout: float = 300.0) -> dict:
    """Time per epoch of the course's hard-sharing model on ``backend``, in a child process.

    Returns ``{"backend", "seconds_per_epoch", "click_loss", "steps_per_execution"}``.
    Raises ValueError for an unknown backend and RuntimeError (with the child's last error
    lines) when the backend is not installed or the run fails.
    """
    check_choice("backend", backend, tuple(BACKEND_PACKAGES))
    check_int("rows", rows, minimum=1)
    check_int("epochs", epochs, minimum=1)
    check_int("batch_size", batch_size, minimum=1)
    if importlib.util.find_spec(BACKEND_PACKAGES[backend]) is None:
        raise RuntimeError(f"backend {backend!r} is not installed here: pip install "
                           f"{BACKEND_PACKAGES[backend]}")
    return run_script(_SCRIPT, (rows, epochs, batch_size),
                      {"KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout,
                      f"timing on {backend!r}")


def run_script(script: str, args, env: dict[str, str], timeout: float, what: str) -> dict:
    """Run ``script`` in a fresh Python process (the backend and XLA flags are read once per
    process, so trying another one needs a new process) with ``env`` added to this one's; its
    last printed line is JSON, returned as a dict. A failure raises, naming ``what``."""
    done = subprocess.run([sys.executable, "-c", script, *map(str, args)],
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def time_fit(model, x, y, epochs: int = 2, batch_size: int = 256) -> float:
    """Seconds per epoch of ``model.fit`` in this process, after one untimed warm-up epoch
    (the compile). The model is trained ``epochs + 1`` epochs."""
    import time

    check_int("epochs", epochs, minimum=1)
    check_int("batch_size", batch_size, minimum=1)
    model.fit(x, y, epochs=1, batch_size=batch_size)
    start = time.perf_counter()
    model.fit(x, y, epochs=epochs, batch_size=batch_size)
    return (time.perf_counter() - start) / epochs


__all__ = ["BACKEND_PACKAGES", "installed_backends", "run_script", "time_epochs",
           "time_fit"]
