"""Training on several devices: ``keras.distribution.DataParallel`` with ``MultiTaskNet``.

Data parallelism keeps one copy of every weight on each of N devices and splits each batch of
B rows into N shards of B / N rows. Every device computes the gradient of its shard; an
all-reduce averages them, so every copy takes the same step::

    g = (1 / N) Σ_d g_d        (with equal shards, exactly the gradient of the whole batch)

``MultiTaskNet.fit``, ``evaluate`` and ``predict_tasks`` work under
``keras.distribution.set_distribution(DataParallel(...))`` (JAX only: Keras 3 has no
distribution path on TensorFlow or PyTorch). Two things differ from one device:

* **Every batch must split evenly over the devices.** The last batch of an epoch usually has
  fewer rows (5,013 rows in batches of 256 leave 149). :class:`PaddedBatches` gives Keras the
  same batches, in the same order, as one-device ``fit``, and pads a batch whose size does not
  divide by N with copies of its last row whose labels are missing (NaN). Each task's loss
  averages over the labelled rows only (``TaskSpec.masked_loss``), so the padding changes no
  gradient and no ``<task>_loss``. Only the logged total ``loss`` moves a little: Keras weights
  each batch's total by its row count, padding included.
* **No whole-epoch compiled loop.** The lean epoch loop (``mtl_kit.epoch_loop``) is for one
  device; under a distribution ``fit`` falls back to Keras' own loop, batch by batch.

Simulated devices: ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` splits one CPU into
N JAX devices. It must be set before JAX is imported (a fresh process), and it simulates the
*program*, not the speed: the N devices share the CPU's cores.
"""

from __future__ import annotations

import importlib.util
import math
import os
import textwrap
from typing import Any

import keras
import numpy as np

from mtl_kit.backends import run_script
from mtl_kit.validation import check_flag, check_int

#: The XLA flag that splits the host CPU into N devices.
DEVICE_COUNT_FLAG = "--xla_force_host_platform_device_count"


def simulated_devices_flags(n_devices: int, flags: str | None = None) -> str:
    """``XLA_FLAGS`` for ``n_devices`` simulated CPU devices (other flags in ``flags`` kept).

    Put the result in ``os.environ["XLA_FLAGS"]`` *before* JAX is imported.
    """
    check_int("n_devices", n_devices, minimum=1)
    kept = [f for f in (flags or "").split() if not f.startswith(DEVICE_COUNT_FLAG)]
    return " ".join([*kept, f"{DEVICE_COUNT_FLAG}={int(n_devices)}"])


def data_parallel_devices() -> int:
    """How many devices share each batch: the batch axis of the active distribution (1 when
    none is set)."""
    distribution = keras.distribution.distribution()
    if distribution is None:
        return 1
    mesh = distribution.device_mesh
    name = getattr(distribution, "batch_dim_name", None) or mesh.axis_names[0]
    return int(mesh.shape[list(mesh.axis_names).index(name)])


def padded_size(n_rows: int, multiple: int) -> int:
    """The smallest multiple of ``multiple`` that is at least ``n_rows``: ⌈n / m⌉ · m."""
    check_int("n_rows", n_rows, minimum=0)
    check_int("multiple", multiple, minimum=1)
    return math.ceil(n_rows / multiple) * multiple


def _take(data: Any, rows: np.ndarray) -> Any:
    if isinstance(data, dict):
        return {key: value[rows] for key, value in data.items()}
    return data[rows]


def _rows(data: Any) -> int:
    first = next(iter(data.values())) if isinstance(data, dict) else data
    return int(first.shape[0])


def padded_batch(x: Any, y: dict | None, rows: np.ndarray, multiple: int) -> tuple:
    """The batch ``rows`` of (x, y), padded to a multiple of ``multiple`` rows by repeating its
    last row with NaN labels, which every task's masked loss skips: ``(x,)`` when y is None."""
    extra = padded_size(len(rows), multiple) - len(rows)
    if extra:
        rows = np.concatenate([rows, np.repeat(rows[-1:], extra)])
    batch_x = _take(x, rows)
    if y is None:
        return (batch_x,)
    batch_y = {task: labels[rows].astype("float32", copy=True) for task, labels in y.items()}
    if extra:
        for labels in batch_y.values():
            labels[-extra:] = np.nan
    return batch_x, batch_y


class PaddedBatches(keras.utils.PyDataset):
    """Prepared arrays as batches whose sizes divide by ``multiple`` (the device count).

    Batch i holds rows ``order[i·B : (i+1)·B]``, where ``order`` is ``np.random.permutation(n)``
    drawn at the start of every epoch (``shuffle=True``, the draw one-device ``fit`` makes) or
    0 … n − 1. A batch of b rows with b mod N ≠ 0 gets N − b mod N copies of its last row, with
    every label set to NaN (missing), so no loss counts them.

    Args:
        x: prepared inputs (a dict of arrays or one matrix, as ``MultiTaskNet`` prepares them).
        y: prepared labels ``{task: (n,) float32}``, or None (for prediction).
        batch_size: B, rows per batch before padding.
        multiple: N, the number of devices each batch is split over.
        shuffle: draw a new row order every epoch.
    """

    def __init__(self, x, y=None, *, batch_size: int, multiple: int, shuffle: bool = False):
        check_int("batch_size", batch_size, minimum=1)
        check_int("multiple", multiple, minimum=1)
        check_flag("shuffle", shuffle)
        super().__init__()
        self.x, self.y = x, y
        self.batch_size, self.multiple, self.shuffle = int(batch_size), int(multiple), shuffle
        self.n_rows = _rows(x)
        if self.n_rows == 0:
            raise ValueError("x has no rows: there is nothing to batch")
        self.order = np.arange(self.n_rows)

    def __len__(self) -> int:
        return math.ceil(self.n_rows / self.batch_size)

    def on_epoch_begin(self) -> None:
        if self.shuffle:
            self.order = np.random.permutation(self.n_rows)

    def __getitem__(self, index: int):
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        return padded_batch(self.x, self.y, rows, self.multiple)


def cpu_cores() -> int:
    """The CPU cores this process may use (``os.sched_getaffinity`` where it exists)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


_CHECK_SCRIPT = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    import keras, jax
    from mtl_kit.course import course_data
    from mtl_kit.models import build_hard_sharing

    n_devices, epochs, batch_size = (int(a) for a in sys.argv[1:4])
    assert len(jax.devices()) == n_devices, jax.devices()
    data = course_data()

    def run(distribution):
        keras.distribution.set_distribution(distribution)
        model = build_hard_sharing(data.tasks, data.features, seed=0)
        start = time.perf_counter()
        history = model.fit(data.x_train, data.y_train, epochs=epochs, batch_size=batch_size,
                            validation_data=(data.x_val, data.y_val))
        seconds = time.perf_counter() - start
        return history.history, model.predict_tasks(data.x_val), seconds

    h1, p1, s1 = run(None)
    hn, pn, sn = run(keras.distribution.DataParallel(devices=jax.devices()))
    tasks = [f"{t}_loss" for t in data.tasks] + [f"val_{t}_loss" for t in data.tasks]
    print(json.dumps({
        "devices": n_devices, "train_rows": int(len(data.x_train["numeric"])),
        "task_loss_difference": max(abs(a - b) for k in tasks for a, b in zip(h1[k], hn[k])),
        "loss_difference": max(abs(a - b) for a, b in zip(h1["loss"], hn["loss"])),
        "prediction_difference": max(float(np.abs(p1[t] - pn[t]).max()) for t in p1),
        "one_device_seconds": s1, "data_parallel_seconds": sn}))
""")


def data_parallel_check(n_devices: int = 2, epochs: int = 2, batch_size: int = 256,
                        timeout: float = 600.0) -> dict:
    """Train the course's hard-sharing model on one device and under ``DataParallel`` on
    ``n_devices`` simulated CPU devices, in a child process (JAX), and compare.

    Returns the largest absolute differences between the two runs: of the per-task losses
    (training and validation, every epoch), of the logged total loss, and of the predicted
    probabilities on the validation split, plus both runs' ``fit`` wall times (the first run
    includes the compile). Raises RuntimeError when JAX is missing or the child fails.
    """
    check_int("n_devices", n_devices, minimum=1)
    check_int("epochs", epochs, minimum=1)
    check_int("batch_size", batch_size, minimum=1)
    if batch_size % n_devices:
        raise ValueError(f"batch_size must be a multiple of n_devices={n_devices}, "
                         f"got {batch_size}")
    if importlib.util.find_spec("jax") is None:
        raise RuntimeError("keras.distribution needs JAX: pip install jax")
    env = {"KERAS_BACKEND": "jax",
           "XLA_FLAGS": simulated_devices_flags(n_devices, os.environ.get("XLA_FLAGS"))}
    return run_script(_CHECK_SCRIPT, (n_devices, epochs, batch_size), env, timeout,
                      "the data-parallel run")


__all__ = [
    "DEVICE_COUNT_FLAG",
    "PaddedBatches",
    "cpu_cores",
    "data_parallel_check",
    "data_parallel_devices",
    "padded_batch",
    "padded_size",
    "simulated_devices_flags",
]
