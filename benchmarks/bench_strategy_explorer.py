"""Latency of the strategy explorer (lesson 8): from a Train click to the final figure.

One click (``mtl_kit.widgets.strategy_explorer`` / ``mtl_kit.explorer.StrategyLogic``): set the
strategy's knob (a variable of the strategy, or DWA's temperature: nothing is recompiled), train
K seeds with ``mtl_kit.seed_runs.fit_seeds`` (all K at once on JAX; DWA, which changes its
weights between epochs, one seed after the other) at the explorer's defaults
(``mtl_kit.balancing.DEFAULT_*``: 8 epochs of batch 512 on the ~28,000 training rows of click +
dwell, the validation loss on a fixed sample of 8,192 validation rows after every epoch, task
gradients logged), draw the losses, weights and gradient cosine to PNG (*click to final
figure*), then predict the whole validation split and score it against fixed λ = 1 and the
single-task baselines (*with the table*). Between clicks the benchmark moves
the knob, as a learner does; each strategy's first click (compiling its model, and the
reference runs) is reported apart as *cold*.

Targets (issue 14), warm, JAX, at the explorer's defaults, for the gradient strategies (GradNorm,
PCGrad, MGDA, CAGrad): one seed <= 0.5 s and K = 5 seeds <= 2 s, click to final figure.

Run::

    python benchmarks/bench_strategy_explorer.py                      # every strategy, K = 1, 5
    python benchmarks/bench_strategy_explorer.py --strategies pcgrad cagrad --runs 9
    python benchmarks/bench_strategy_explorer.py --strict   # exit 1 when a target is missed

The machine's other work slows every number: the load average is printed with the results, and
process CPU time per click (which counts both cores) is printed next to the wall time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import mtl_kit  # noqa: F401  (selects JAX before keras is imported)

#: Click-to-final-figure targets (seconds, warm median) per K on JAX, gradient strategies.
TARGETS = {1: 0.5, 5: 2.0}
GRADIENT = ("gradnorm", "pcgrad", "mgda", "cagrad")
ALL = ("fixed", "uncertainty", "dwa", *GRADIENT)


def bench(explorer, strategy: str, runs: int) -> dict[str, float]:
    """Time ``runs`` warm Train clicks of ``strategy`` (after one cold click)."""
    knob = explorer.logic.knob(strategy)
    start = time.perf_counter()
    explorer.run(strategy)
    cold = time.perf_counter() - start
    assert explorer.table is not None, explorer.status.value
    figure, total, train, cpu = [], [], [], []
    values = list(knob.choices) if knob is not None else [None]
    for i in range(runs):
        value = values[i % len(values)]
        start_cpu = time.process_time()
        explorer.run(strategy, value)
        cpu.append(time.process_time() - start_cpu)
        assert explorer.table is not None, explorer.status.value
        figure.append(explorer.timings["figure"])
        total.append(explorer.timings["total"])
        train.append(explorer.timings["train"])
    return {"cold": cold, "median": statistics.median(figure), "min": min(figure),
            "train": statistics.median(train), "total": statistics.median(total),
            "cpu": statistics.median(cpu)}


def main(argv: list[str] | None = None) -> int:
    import keras

    from mtl_kit.balancing import DEFAULT_BATCH_SIZE, DEFAULT_EPOCHS, DEFAULT_VALIDATION_ROWS
    from mtl_kit.course import course_data
    from mtl_kit.widgets import strategy_explorer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="warm clicks per strategy")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 5], help="K values")
    parser.add_argument("--strategies", nargs="+", default=list(ALL), choices=list(ALL))
    parser.add_argument("--strict", action="store_true", help="exit 1 if a JAX target is missed")
    args = parser.parse_args(argv)
    data = course_data(("click", "dwell"))
    load_before = os.getloadavg()[0]
    rows = []
    for k in args.seeds:
        explorer = strategy_explorer(data, seeds=k)
        explorer.logic.reference_run()  # fixed λ = 1, trained once per explorer
        for strategy in args.strategies:
            rows.append((k, strategy, bench(explorer, strategy, args.runs)))
    load_after = os.getloadavg()[0]
    print(f"strategy explorer: Train click -> final figure (warm median of {args.runs}); "
          f"backend {keras.backend.backend()}; click + dwell, {len(data.y_train['click']):,} "
          f"training rows, validation loss on {DEFAULT_VALIDATION_ROWS:,} of the "
          f"{len(data.y_val['click']):,} validation rows every epoch; "
          f"{DEFAULT_EPOCHS} epochs, batch {DEFAULT_BATCH_SIZE}; targets (JAX, gradient "
          f"strategies): " + ", ".join(f"K={k} <= {t} s" for k, t in TARGETS.items())
          + f"; {os.cpu_count()} CPUs, load average {load_before:.1f} before, "
            f"{load_after:.1f} after")
    print(f"{'strategy':>12} {'K':>2} {'cold s':>7} {'figure s':>9} {'min':>6} {'train':>6} "
          f"{'CPU s':>6} {'+table':>7}  target")
    missed = False
    for k, strategy, r in rows:
        verdict = "–"
        target = TARGETS.get(k)
        if target is not None and strategy in GRADIENT:
            if keras.backend.backend() == "jax":
                ok = r["median"] <= target
                missed |= not ok
                verdict = "OK" if ok else "MISSED"
            else:
                verdict = f"(JAX target {target} s)"
        print(f"{strategy:>12} {k:>2} {r['cold']:>7.2f} {r['median']:>9.3f} {r['min']:>6.3f} "
              f"{r['train']:>6.3f} {r['cpu']:>6.3f} {r['total']:>7.3f}  {verdict}", flush=True)
    return 1 if (missed and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
