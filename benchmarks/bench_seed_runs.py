"""K seeds at once (``mtl_kit.seed_runs.fit_seeds``) vs one seed and vs K sequential runs.

    python benchmarks/bench_seed_runs.py                      # every architecture, defaults
    python benchmarks/bench_seed_runs.py --archs hard MMoE --epochs 5 --batch-size 256
    python benchmarks/bench_seed_runs.py --auc                # + purchase/click val AUC check

Data: the course's shop (``course_data(("click", "purchase"))``: ~28k training rows, ~30k
validation rows). Per architecture, warm (after one untimed run that compiles), median over
``--runs`` repeats of:

* ``1 seed``: ``model.reseed(0)`` + ``model.fit`` (with validation data);
* ``K vmap``: ``fit_seeds(model, range(K), …)`` with validation data;
* ``K + predict``: the same, then ``runs.predict(x_val)`` (what an explorer's Train click does);
* ``K sequential``: ``fit_seeds(…, method="sequential")`` (``reseed`` + ``fit`` per seed).

Targets (JAX, 2-core CPU): ``K + predict`` <= 0.75 s with K = 5, ``1 seed`` <= 0.25 s.
The process CPU time of ``K + predict`` is printed too: less sensitive to other processes' load
on a shared machine (it counts both cores, so it can exceed the wall time).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import mtl_kit  # noqa: F401  (selects the backend before keras)

# isort: split
import keras
import numpy as np

from mtl_kit import models
from mtl_kit.course import course_data
from mtl_kit.seed_runs import DEFAULT_BATCH_SIZE, fit_seeds
from mtl_kit.tasks import shop_tasks

BUILDERS = {
    "hard": models.build_hard_sharing,
    "soft": models.build_soft_sharing,
    "cross-stitch": models.build_cross_stitch,
    "MMoE": models.build_mmoe,
    "PLE": models.build_ple,
}
TARGET_K = 0.75
TARGET_ONE = 0.25


def _timed(fn, runs: int) -> tuple[float, float, float]:
    """(median wall, min wall, median process CPU) seconds over ``runs`` calls."""
    walls, cpus = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - start_cpu)
    return statistics.median(walls), min(walls), statistics.median(cpus)


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    keep = ~np.isnan(y)
    return float(roc_auc_score(y[keep], p[keep]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", nargs="+", default=list(BUILDERS), choices=list(BUILDERS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-sequential", action="store_true",
                        help="skip the (slow) K sequential runs")
    parser.add_argument("--auc", action="store_true",
                        help="also print the mean validation AUC over the seeds, and that of "
                             "5 epochs x batch 256 (lr 1e-3) for comparison")
    args = parser.parse_args()

    data = course_data(("click", "purchase"))
    tasks = shop_tasks(("click", "purchase"))
    seeds = tuple(range(args.seeds))
    val = (data.x_val, data.y_val)
    settings = {"epochs": args.epochs, "batch_size": args.batch_size}
    print(f"backend: {keras.backend.backend()}, cpus: {os.cpu_count()}, "
          f"load average: {os.getloadavg()[0]:.2f}")
    print(f"train rows: {len(data.y_train['click'])}, validation rows: {len(data.y_val['click'])}"
          f", K = {args.seeds}, epochs = {args.epochs}, batch = {args.batch_size}, "
          f"lr = {args.learning_rate:g}, {args.runs} warm runs (median; min in brackets)")
    header = (f"{'arch':<13}{'1 seed':>15}{'K vmap':>15}{'K + predict':>15}{'(cpu)':>8}"
              f"{'K sequential':>15}{'seq / vmap':>11}  targets")
    print(header)
    for arch in args.archs:
        model = BUILDERS[arch](tasks, data.features, seed=0, learning_rate=args.learning_rate)

        def one_seed(model=model):
            model.reseed(0)
            model.fit(data.x_train, data.y_train, validation_data=val, **settings)

        def k_vmap(model=model):
            return fit_seeds(model, seeds, data.x_train, data.y_train, validation_data=val,
                             **settings)

        def k_predict(model=model):
            return k_vmap(model).predict(data.x_val)

        def k_sequential(model=model):
            fit_seeds(model, seeds, data.x_train, data.y_train, validation_data=val,
                      method="sequential", **settings)

        for fn in (one_seed, k_predict):  # compile
            fn()
        one = _timed(one_seed, args.runs)
        vmap = _timed(k_vmap, args.runs)
        both = _timed(k_predict, args.runs)
        if args.no_sequential:
            sequential, ratio = None, "-"
        else:
            k_sequential()
            sequential = _timed(k_sequential, max(1, args.runs // 2))
            ratio = f"{sequential[0] / vmap[0]:.1f}x"
        ok = "ok" if both[0] <= TARGET_K and one[0] <= TARGET_ONE else "MISSED"

        def cell(t):
            return "-" if t is None else f"{t[0]:.3f} ({t[1]:.3f})"

        print(f"{arch:<13}{cell(one):>15}{cell(vmap):>15}{cell(both):>15}{both[2]:>8.2f}"
              f"{cell(sequential):>15}{ratio:>11}  {ok}", flush=True)
        if args.auc:
            runs = k_vmap()
            predictions = runs.predict(data.x_val)
            reference = BUILDERS[arch](tasks, data.features, seed=0, learning_rate=1e-3)
            ref_runs = fit_seeds(reference, seeds, data.x_train, data.y_train, epochs=5,
                                 batch_size=256)
            ref_predictions = ref_runs.predict(data.x_val)
            for task in ("purchase", "click"):
                ours = [_auc(data.y_val[task], predictions[s][task]) for s in seeds]
                ref = [_auc(data.y_val[task], ref_predictions[s][task]) for s in seeds]
                print(f"    {task} val AUC, mean over seeds: {np.mean(ours):.4f} "
                      f"(sd {np.std(ours):.4f}) vs 5 epochs x 256 at lr 1e-3: "
                      f"{np.mean(ref):.4f} (sd {np.std(ref):.4f}); "
                      f"difference {np.mean(ours) - np.mean(ref):+.4f}", flush=True)


if __name__ == "__main__":
    main()
