"""Data bigger than memory: write a shop in shards, then train one epoch streaming from them.

    python benchmarks/bench_shards.py [--rows 10000000] [--shard-size 500000]
                                      [--batch-size 4096] [--directory DIR] [--keep]

Prints, for writing (``mtl_kit.data.shards.write_shards``) and for one epoch of
``MultiTaskNet.fit`` on ``mtl_kit.streaming.ShardBatches``: wall time, CPU time and rows per
second, then the peak resident memory of the whole process (``ru_maxrss``) and the size of the
shards on disk. The issue's bar: 10 million impressions with a peak resident memory under
2 GB. Each phase runs in its own child process, so each peak is that phase's alone. The load
average is printed too: wall time also counts waiting for a busy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHOP = {"n_users": 200_000, "n_items": 20_000}


def write(directory: str, rows: int, shard_size: int) -> dict:
    from mtl_kit.data import shards

    wall, cpu = time.perf_counter(), time.process_time()
    shards.write_shards(directory, rows, shard_size, seed=0, **SHOP)
    return {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}


def train(directory: str, batch_size: int) -> dict:
    from mtl_kit.data import shards
    from mtl_kit.models import build_hard_sharing
    from mtl_kit.streaming import ShardBatches

    batches = ShardBatches(directory, batch_size=batch_size)
    model = build_hard_sharing(("click", "purchase"), shards.manifest_features(batches.manifest),
                               seed=0)
    wall, cpu = time.perf_counter(), time.process_time()
    history = model.fit(batches, epochs=1)
    return {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu,
            "click_loss": history.history["click_loss"][-1], "shard_reads": batches.loads}


def child(phase: str, directory: str, rows: int, shard_size: int, batch_size: int) -> None:
    result = (write(directory, rows, shard_size) if phase == "write"
              else train(directory, batch_size))
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def run_phase(phase: str, args: argparse.Namespace, directory: str) -> dict:
    command = [sys.executable, __file__, "--phase", phase, "--directory", directory,
               "--rows", str(args.rows), "--shard-size", str(args.shard_size),
               "--batch-size", str(args.batch_size)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--shard-size", type=int, default=500_000)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--directory")
    parser.add_argument("--keep", action="store_true", help="keep the shards afterwards")
    parser.add_argument("--phase", choices=("write", "train"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        child(args.phase, args.directory, args.rows, args.shard_size, args.batch_size)
        return
    directory = args.directory or tempfile.mkdtemp(prefix="mtl_kit_shards_")
    try:
        print(f"{args.rows:,} impressions in shards of {args.shard_size:,}, batches of "
              f"{args.batch_size:,}; load average {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} cores")
        for phase in ("write", "train"):
            result = run_phase(phase, args, directory)
            extra = (f", last click loss {result['click_loss']:.4f}, "
                     f"{result['shard_reads']} shard reads" if phase == "train" else "")
            print(f"{phase:<6} wall {result['wall_s']:7.1f} s  cpu {result['cpu_s']:7.1f} s  "
                  f"{args.rows / result['wall_s']:>10,.0f} rows/s  "
                  f"peak RSS {result['peak_rss_mb']:,.0f} MB{extra}")
        size = sum(p.stat().st_size for p in Path(directory).glob("shard_*.npz"))
        print(f"shards on disk: {size / 2**20:,.0f} MB; target peak RSS < 2,048 MB")
    finally:
        if not args.keep and not args.directory:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
