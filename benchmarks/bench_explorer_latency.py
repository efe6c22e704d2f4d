"""Latency of the explorers: from a Train click to the final figure, at the learners' settings.

What one click does (``mtl_kit.widgets`` / ``mtl_kit.explorer``): read the sliders, set λ (and
β) in the model's variables, train K seeds from their own initial weights (``mtl_kit.seed_runs.
fit_seeds``: all K at once on JAX, one after the other elsewhere), each the explorer's default
epochs and batch size on the course data's ~28,000 training rows with validation on ~30,000
rows every epoch, draw the mean curves with their bands to PNG once and put it into the Image
widget (*click to final figure*); then predict the validation split and build the table (paired
intervals against the cached single-task baselines: *with the table*). Between clicks the
benchmark moves one slider, as a learner does. The first click (compiling, and the baselines
read from disk or trained) is reported apart as *cold*.

Targets (issue 11), warm, JAX, at the explorers' defaults, every architecture: K = 5 seeds,
click to final figure <= 1 s; K = 1 <= 0.3 s.

Run::

    python benchmarks/bench_explorer_latency.py                 # every explorer, K = 1 and 5
    python benchmarks/bench_explorer_latency.py --kinds hard soft --seeds 5 --runs 11
    python benchmarks/bench_explorer_latency.py --strict        # exit 1 when a target is missed
    KERAS_BACKEND=tensorflow python benchmarks/bench_explorer_latency.py   # sequential seeds

On TensorFlow (and PyTorch) the seeds run one after the other, so K = 5 costs about 5 times
K = 1; the targets are for JAX, and the script prints the other backends' figures as they are.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import mtl_kit  # noqa: F401  (selects JAX before keras is imported)

#: Click-to-final-figure targets (seconds, warm median) per K on JAX.
TARGETS = {1: 0.3, 5: 1.0}

#: The hard- and soft-sharing explorers, and the feature-sharing explorer's architectures.
KINDS = ("hard", "soft", "cross-stitch", "MMoE", "PLE")


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def make_explorer(kind: str, data, seeds: int):
    from mtl_kit.models import build_hard_sharing, build_soft_sharing
    from mtl_kit.tasks import shop_tasks
    from mtl_kit.widgets import (
        feature_sharing_explorer,
        hard_sharing_explorer,
        soft_sharing_explorer,
    )

    specs = shop_tasks(data.tasks)
    if kind == "hard":
        model = build_hard_sharing(specs, data.features, seed=0)
        return hard_sharing_explorer(model, data, seeds=seeds)
    if kind == "soft":
        model = build_soft_sharing(specs, data.features, beta=1e-3, seed=0)
        return soft_sharing_explorer(model, data, seeds=seeds)
    return feature_sharing_explorer(data, seeds=seeds, architectures=[kind])


def bench(kind: str, data, seeds: int, runs: int) -> dict[str, float]:
    """Time ``runs`` warm Train clicks of one explorer (after one cold click)."""
    import keras

    from mtl_kit import explorer as explorer_module

    explorer = make_explorer(kind, data, seeds)
    start = time.perf_counter()
    explorer.train_button.click()
    cold = time.perf_counter() - start
    assert explorer.table is not None, explorer.status.value
    figure, total, train, render = [], [], [], []
    lambdas = [0.25, 0.5, 1.0, 1.5, 2.0]
    betas = [b for b in (explorer.betas or ()) if b > 0]
    tasks = explorer.task_names
    for i in range(runs):
        # a learner moves one slider, then presses Train: λ of the last task, or (soft
        # sharing, every other run) β, which rescales the tower-distance panel
        if kind == "soft" and i % 2 == 1:
            explorer.sliders["beta"].value = betas[(i // 2) % len(betas)]
        else:
            explorer.sliders[tasks[-1]].value = lambdas[i % len(lambdas)]
        drawn_before = len(explorer.plot.render_seconds)
        explorer.train_button.click()
        assert explorer.table is not None, explorer.status.value
        figure.append(explorer.timings["figure"])
        total.append(explorer.timings["total"])
        train.append(explorer.timings["train"])
        render.append(sum(explorer.plot.render_seconds[drawn_before:]))
    method = "vmap" if seeds > 1 and explorer_module._seeds_at_once() else "sequential"
    return {
        "backend": keras.backend.backend(),
        "method": method,
        "cold": cold,
        "median": statistics.median(figure),
        "p90": _quantile(figure, 0.9),
        "min": min(figure),
        "median_total": statistics.median(total),
        "median_train": statistics.median(train),
        "median_png": statistics.median(render),
    }


def main(argv: list[str] | None = None) -> int:
    from mtl_kit.course import course_data
    from mtl_kit.explorer import DEFAULT_BATCH_SIZE, DEFAULT_EPOCHS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="warm clicks to time (default 7)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 5], help="K values")
    parser.add_argument("--tasks", nargs="+", default=["click", "purchase"])
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=list(KINDS),
                        help="explorers to time (default: all)")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a JAX target is missed")
    args = parser.parse_args(argv)
    data = course_data(tuple(args.tasks))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"explorer latency: Train click -> final figure (warm median of {args.runs}); "
          f"{len(data.y_train[args.tasks[0]]):,} training rows, validation "
          f"{len(data.y_val[args.tasks[0]]):,} rows every epoch; {DEFAULT_EPOCHS} epochs, "
          f"batch {DEFAULT_BATCH_SIZE}; tasks {', '.join(args.tasks)}; targets (JAX): "
          + ", ".join(f"K={k} <= {t} s" for k, t in TARGETS.items())
          + f"; {os.cpu_count()} CPUs, load average {load:.1f} (other work slows every number)")
    print(f"{'explorer':>12} {'K':>2} {'backend':>10} {'seeds run':>10} {'cold s':>7} "
          f"{'figure s':>9} {'p90':>6} {'train':>6} {'png':>6} {'+table':>7}  target")
    missed = False
    for kind in args.kinds:
        for k in args.seeds:
            r = bench(kind, data, k, args.runs)
            target = TARGETS.get(k)
            verdict = "–"
            if target is not None and r["backend"] == "jax":
                ok = r["median"] <= target
                missed |= not ok
                verdict = "OK" if ok else "MISSED"
            elif target is not None:
                verdict = f"(JAX target {target} s)"
            print(f"{kind:>12} {k:>2} {r['backend']:>10} {r['method']:>10} {r['cold']:>7.2f} "
                  f"{r['median']:>9.3f} {r['p90']:>6.3f} {r['median_train']:>6.3f} "
                  f"{r['median_png']:>6.3f} {r['median_total']:>7.3f}  {verdict}", flush=True)
    return 1 if (missed and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
