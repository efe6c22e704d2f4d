"""How fast is the shop generator, and does its memory grow in proportion to the rows?

    python benchmarks/bench_data.py [--sizes 10000 100000 300000 1000000] [--repeat 3]

For each size (users = rows / 20, items = max(400, rows / 100), as in the default shop) it
prints the best wall and CPU time of ``repeat`` runs, the peak memory traced by ``tracemalloc``
(NumPy and pandas report their buffers to it) in a separate run, and that peak per row: a
constant bytes-per-row column means memory proportional to the rows. The issue's bar: one
million impressions in at most 3 s on a 2-core CPU. CPU time is printed beside wall time
because wall time also counts waiting for a busy machine (the load average is printed too).
"""

from __future__ import annotations

import argparse
import gc
import os
import time
import tracemalloc

from mtl_kit.data import make_shop


def shop_size(rows: int) -> dict:
    return {"n_users": max(1, rows // 20), "n_items": max(400, rows // 100), "n_impressions": rows}


def measure(rows: int, repeat: int) -> tuple[float, float, int]:
    walls, cpus = [], []
    for _ in range(repeat):
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        shop = make_shop(**shop_size(rows), seed=1)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        del shop
    gc.collect()
    tracemalloc.start()
    shop = make_shop(**shop_size(rows), seed=1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del shop
    return min(walls), min(cpus), peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 300_000,
                                                                  1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    make_shop(n_impressions=1_000)  # warm up imports and caches
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"make_shop benchmark, {os.cpu_count()} CPUs, load average {load:.1f}")
    print(f"{'rows':>10} {'wall s':>8} {'cpu s':>8} {'rows/s (cpu)':>13} {'peak MB':>9} "
          f"{'bytes/row':>10}")
    for rows in args.sizes:
        wall, cpu, peak = measure(rows, args.repeat)
        print(f"{rows:>10,} {wall:>8.2f} {cpu:>8.2f} {rows / cpu:>13,.0f} {peak / 1e6:>9.1f} "
              f"{peak / rows:>10.0f}")


if __name__ == "__main__":
    main()
