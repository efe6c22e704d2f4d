"""How long the checks of x and y take before training (``mtl_kit.inputs``), on 170,000 rows.

``fit``, ``evaluate`` and ``predict_tasks`` check every id against its vocabulary, every number
for NaN or inf and every label against its task's range before any work. They must cost next to
nothing beside an epoch: target, a few milliseconds for the course's full shop.

Run::

    python benchmarks/bench_input_checks.py
"""

from __future__ import annotations

import time

import numpy as np

import mtl_kit  # noqa: F401  (selects the backend before keras is imported)
from mtl_kit.inputs import prepare_inputs, prepare_labels
from mtl_kit.tasks import shop_tasks

ROWS = 170_000
TARGET_S = 0.020


def main() -> None:
    rng = np.random.default_rng(0)
    vocabularies = [400, 5, 4, 3, 3, 3, 10, 5, 3, 3, 24]
    features = {"categorical": {f"c{k}": v for k, v in enumerate(vocabularies)},
                "numeric": ["a", "b", "c", "d"]}
    x = {name: rng.integers(0, vocab, ROWS).astype("int32")
         for name, vocab in features["categorical"].items()}
    x["numeric"] = rng.normal(size=(ROWS, 4)).astype("float32")
    y = {"click": (rng.random(ROWS) < 0.1).astype("float32"),
         "purchase": np.where(rng.random(ROWS) < 0.15, 1.0, np.nan).astype("float32")}
    tasks = shop_tasks(("click", "purchase"))
    seconds = []
    for _ in range(9):
        start = time.perf_counter()
        _, n_rows = prepare_inputs(features, x)
        prepare_labels(tasks, y, n_rows)
        seconds.append(time.perf_counter() - start)
    best, median = min(seconds), float(np.median(seconds))
    print(f"checks of x and y on {ROWS:,} rows: best {best * 1000:.1f} ms, median "
          f"{median * 1000:.1f} ms (target {TARGET_S * 1000:.0f} ms: "
          f"{'met' if best < TARGET_S else 'MISSED'})")


if __name__ == "__main__":
    main()
