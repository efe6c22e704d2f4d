"""Adaptive sharing, watched: how an MMoE's gates move during training.

An MMoE gate is a softmax over the E experts, g_t(x) = softmax(W_t h(x)). At the start every
gate is close to uniform (1/E per expert); training moves each task's gate towards the experts
that lower its loss. :func:`track_gates` trains a gated model epoch by epoch and records each
task's mean gate weight per expert on some rows (the validation split) after every epoch;
:func:`gate_spread` sums a gate up in one number:

    spread_t = max_e ḡ_{t,e} − min_e ḡ_{t,e},   ḡ_{t,e} = mean over the rows of g_t(x)_e

0 for a uniform gate, up to 1 when a task uses a single expert.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mtl_kit.inputs import prepare_inputs
from mtl_kit.validation import check_int


def mean_gates(model, x) -> dict[str, np.ndarray]:
    """``{task: (E,) mean gate weight per expert}`` over the rows of ``x``."""
    if not hasattr(model, "gate_weights"):
        raise TypeError(f"model must have gates (build_mmoe), got {type(model).__name__}")
    return {task: gates.mean(axis=0) for task, gates in model.gate_weights(x).items()}


def track_gates(model, x, y, x_watch, *, epochs: int, batch_size: int = 256) -> pd.DataFrame:
    """Train ``model`` ``epochs`` epochs, one ``fit`` call each, and return the mean gate
    weights on ``x_watch`` before training (epoch 0) and after every epoch: columns
    ``epoch``, ``task``, ``expert`` (1 … E) and ``weight``."""
    check_int("epochs", epochs, minimum=1)
    check_int("batch_size", batch_size, minimum=1)
    rows = []

    def record(epoch: int) -> None:
        for task, weights in mean_gates(model, x_watch).items():
            rows.extend({"epoch": epoch, "task": task, "expert": e + 1, "weight": float(w)}
                        for e, w in enumerate(weights))

    prepared, _ = prepare_inputs(model.feature_config, x)
    for encoder in model.encoders:  # normalise as fit will, so epoch 0 shows the real start
        if not encoder.is_adapted():
            encoder.adapt(prepared)
    record(0)
    for epoch in range(1, epochs + 1):
        model.fit(x, y, epochs=1, batch_size=batch_size)
        record(epoch)
    return pd.DataFrame(rows)


def gate_spread(history: pd.DataFrame) -> pd.DataFrame:
    """max − min of the mean gate weights, per epoch (rows) and task (columns)."""
    grouped = history.groupby(["epoch", "task"])["weight"]
    return (grouped.max() - grouped.min()).unstack("task")


def seed_mean_interval(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``: the mean of per-seed values and its Student-t interval,
    mean ± t_{K−1} · s / √K over K >= 2 seeds (s: the seeds' standard deviation)."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or len(values) < 2:
        raise ValueError(f"values must hold one number per seed, at least 2, got {values!r}")
    mean = float(values.mean())
    half = float(stats.t.ppf(0.5 + confidence / 2, len(values) - 1)
                 * values.std(ddof=1) / np.sqrt(len(values)))
    return mean, mean - half, mean + half


__all__ = ["gate_spread", "mean_gates", "seed_mean_interval", "track_gates"]
