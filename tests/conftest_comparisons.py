"""Small synthetic ``Comparison`` objects (no training) for the evaluation tests.

Every model scores the same hidden signal plus its own noise; ``gains`` shifts a model's purchase
scores up on the buyers (a better purchase model). Users have 6 rows each.
"""

from __future__ import annotations

import numpy as np

from mtl_kit.experiments import Comparison, SeedRun
from mtl_kit.tasks import as_tasks

TASKS = ("click", "purchase")


def fake_comparison(gains: dict[str, float], split: str = "val", seeds: int = 3,
                    n: int = 3000, seed: int = 0, reference: str | None = None) -> Comparison:
    """A ``Comparison`` of the models ``gains`` names (probabilities in (0, 1))."""
    rng = np.random.default_rng(seed)
    users = np.repeat(np.arange(n // 6), 6)
    y = {"click": (rng.random(n) < 0.25).astype("float32"),
         "purchase": (rng.random(n) < 0.06).astype("float32")}
    signal = {t: 1.5 * y[t] + rng.normal(size=n) for t in TASKS}
    runs = {}
    for name, gain in gains.items():
        runs[name] = []
        for _ in range(seeds):
            scores = {t: signal[t] + rng.normal(scale=0.6, size=n) for t in TASKS}
            scores["purchase"] = scores["purchase"] + gain * y["purchase"]
            probs = {"click": 1 / (1 + np.exp(-(scores["click"] - 2.0))),
                     "purchase": 1 / (1 + np.exp(-(scores["purchase"] - 3.5)))}
            runs[name].append(SeedRun({}, 3, {split: probs}))
    return Comparison(split, tuple(range(seeds)), as_tasks(TASKS), y, users, runs,
                      reference or next(iter(gains)))
