"""Time per training step of each loss-balancing strategy, relative to fixed λ.

    python benchmarks/bench_strategies.py                         # JAX (the default backend)
    python benchmarks/bench_strategies.py --backend tensorflow    # re-runs itself on TensorFlow
    KERAS_BACKEND=tensorflow .tox/tensorflow/bin/python benchmarks/bench_strategies.py

``--backend`` re-executes this script with ``KERAS_BACKEND`` set, under the same Python (or
``--python``): TensorFlow must be importable there (this repository's ``.tox/tensorflow`` has it).

Model: hard sharing with the course's default sizes (shared (64, 32), heads (16,), embeddings of
width 8), Adam, batch 256, on the course's training split (``course_data``, ~28,000 rows: 110
steps an epoch), with 2 tasks (click, purchase) and 4 tasks (click, purchase, intent, dwell).
Every strategy's model is built and trained once (compiling its epoch), then timed warm:
``model.reset(); model.fit(x, y, epochs=E)`` (the fast loop on JAX, Keras' ``fit`` with
``steps_per_execution=16`` on TensorFlow), no validation data. The strategies take turns inside
each repeat, so a change of machine load hits them alike; the table shows the median over the
repeats. Process CPU time is printed too, with its own ratio (less sensitive to other
processes on a shared machine; it counts every core, so it can exceed the wall time). The row
``fixed+diag`` is fixed λ trained through the per-task gradient step
(``gradient_diagnostics=True``): the cost of the T backward passes alone, before any strategy's
arithmetic (Gram matrix, solver).

Targets (issue 12, JAX, 2-core CPU): loss-level strategies (uncertainty, DWA) <= 1.1x fixed λ;
gradient-level ones (GradNorm, PCGrad, MGDA, CAGrad) <= 2.5x fixed λ with two tasks.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time

LOSS_LEVEL = ("fixed", "uncertainty", "dwa")
GRADIENT_LEVEL = ("gradnorm", "pcgrad", "mgda", "cagrad")
STRATEGIES = LOSS_LEVEL + GRADIENT_LEVEL
#: fixed λ trained through the per-task gradient step (``gradient_diagnostics=True``): what
#: the T backward passes cost before any strategy's arithmetic
DIAGNOSTICS = "fixed+diag"
TASK_SETS = {2: ("click", "purchase"), 4: ("click", "purchase", "intent", "dwell")}
TARGETS = {"loss": 1.1, "gradient": 2.5}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("jax", "tensorflow"),
                        help="re-run this script with KERAS_BACKEND set to this backend")
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter for --backend (default: this one)")
    parser.add_argument("--tasks", type=int, nargs="+", choices=sorted(TASK_SETS),
                        default=sorted(TASK_SETS), help="numbers of tasks to time")
    parser.add_argument("--strategies", nargs="+", choices=(*STRATEGIES, DIAGNOSTICS),
                        default=[*STRATEGIES, DIAGNOSTICS])
    parser.add_argument("--epochs", type=int, default=10, help="epochs per timed fit")
    parser.add_argument("--repeats", type=int, default=7, help="timed fits per strategy")
    parser.add_argument("--batch-size", type=int, default=256)
    return parser.parse_args(argv)


def reexec_with_backend(args: argparse.Namespace) -> None:
    """Run this script again under ``KERAS_BACKEND=args.backend`` (Keras reads it once)."""
    if args.backend is None or os.environ.get("KERAS_BACKEND") == args.backend:
        return
    env = {**os.environ, "KERAS_BACKEND": args.backend}
    # the same arguments: the new process finds KERAS_BACKEND set and does not re-execute
    os.execve(args.python, [args.python, os.path.abspath(__file__), *sys.argv[1:]], env)


def time_strategies(task_names, strategies, epochs: int, repeats: int, batch_size: int):
    """``{strategy: (median s/epoch, median CPU s/epoch, steps/epoch)}`` for one task set."""
    from mtl_kit.course import course_data
    from mtl_kit.models import build_hard_sharing

    data = course_data(task_names)
    x, y = data.x_train, data.y_train
    steps = -(-len(y[task_names[0]]) // batch_size)
    models = {}
    for name in strategies:
        model = build_hard_sharing(data.tasks, data.features, shared=(64, 32), head=(16,),
                                   weighting="fixed" if name == DIAGNOSTICS else name, seed=0,
                                   gradient_diagnostics=name == DIAGNOSTICS)
        model.fit(x, y, epochs=1, batch_size=batch_size)  # adapts, traces and compiles
        models[name] = model
    walls = {name: [] for name in strategies}
    cpus = {name: [] for name in strategies}
    for _ in range(repeats):
        for name, model in models.items():
            model.reset()
            start, start_cpu = time.perf_counter(), time.process_time()
            model.fit(x, y, epochs=epochs, batch_size=batch_size)
            walls[name].append((time.perf_counter() - start) / epochs)
            cpus[name].append((time.process_time() - start_cpu) / epochs)
    return {name: (statistics.median(walls[name]), statistics.median(cpus[name]), steps)
            for name in strategies}


def main(argv=None) -> None:
    args = parse_args(argv)
    reexec_with_backend(args)
    backend = os.environ.get("KERAS_BACKEND")
    if backend and importlib.util.find_spec(backend) is None:
        raise SystemExit(f"{backend} is not installed in {sys.executable}; run with an "
                         f"interpreter that has it, e.g. --python .tox/{backend}/bin/python")

    import mtl_kit  # noqa: F401  (selects the backend before keras)

    # isort: split
    import keras

    strategies = list(dict.fromkeys(["fixed", *args.strategies]))  # fixed λ is the reference
    load_before = os.getloadavg()
    rows = []
    for n_tasks in args.tasks:
        timings = time_strategies(TASK_SETS[n_tasks], strategies, args.epochs, args.repeats,
                                  args.batch_size)
        reference, reference_cpu = timings["fixed"][:2]
        for name, (wall, cpu, steps) in timings.items():
            rows.append((n_tasks, name, wall, cpu, steps, wall / reference, cpu / reference_cpu))
    load_after = os.getloadavg()

    print(f"backend: {keras.backend.backend()}, cpus: {os.cpu_count()}, load average (1 min) "
          f"before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    print(f"hard sharing (64, 32) + (16,) heads, batch {args.batch_size}, warm, median of "
          f"{args.repeats} fits x {args.epochs} epochs")
    print(f"{'backend':<11}{'tasks':>5}  {'strategy':<12}{'s/epoch':>8}{'steps':>6}"
          f"{'ms/step':>8}{'ratio':>7}{'CPU s':>7}{'CPU ratio':>10}  target (wall ratio)")
    for n_tasks, name, wall, cpu, steps, ratio, cpu_ratio in rows:
        kind = "loss" if name in LOSS_LEVEL else "gradient"
        target = ""
        if name in STRATEGIES and name != "fixed" and (kind == "loss" or n_tasks == 2):
            met = "ok" if ratio <= TARGETS[kind] else "MISSED"
            target = f"<= {TARGETS[kind]}x {met}"
        print(f"{keras.backend.backend():<11}{n_tasks:>5}  {name:<12}{wall:8.3f}{steps:6d}"
              f"{1000 * wall / steps:8.2f}{ratio:6.2f}x{cpu:7.3f}{cpu_ratio:9.2f}x  {target}")


if __name__ == "__main__":
    main()
