"""A shop too big for memory, written to disk in shards and read back one shard at a time.

``write_shards(directory, n_impressions, shard_size)`` generates the impressions in
⌈n / shard_size⌉ pieces and saves each as ``shard_00000.npz`` … (the ``to_arrays`` inputs
``x/<feature>`` and labels ``y/<task>``, uncompressed), plus ``manifest.json`` (rows per shard,
tasks, feature spec, knobs). Only one shard is ever in memory, so writing 10 million impressions
needs about as much memory as one shard, not as the whole log::

    peak memory ≈ memory(make_shop(shard_size)) + memory(one shard's arrays)

Each shard is an independent draw of a shop with the same knobs and its own seed (spawned from
``seed`` by ``np.random.SeedSequence``): the same distribution of impressions, labels and
truth, but its own users and items. Ids are therefore not comparable across shards; train on
the attribute features (``SHARD_MODEL_DROP`` names the id features to leave out).

``read_shard(directory, k)`` loads shard k back as ``(x, y)``; ``read_manifest`` the manifest.
Plain NumPy and JSON: no Keras (the streaming input that feeds ``fit`` is
``mtl_kit.streaming.ShardBatches``).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from mtl_kit.data._validation import TASKS
from mtl_kit.data.features import FeatureSpec
from mtl_kit.data.shop import MAX_IMPRESSIONS, make_shop
from mtl_kit.validation import check_int

MANIFEST = "manifest.json"
#: Id features whose meaning changes from shard to shard (each shard draws its own entities).
SHARD_MODEL_DROP: tuple[str, ...] = ("user_id", "item_id")
DEFAULT_SHARD_SIZE = 500_000


def shard_path(directory: str | os.PathLike, index: int) -> Path:
    """Where shard ``index`` lives: ``<directory>/shard_<index:05d>.npz``."""
    return Path(directory) / f"shard_{int(index):05d}.npz"


def shard_sizes(n_impressions: int, shard_size: int) -> list[int]:
    """Rows per shard: full shards of ``shard_size`` and a last one with the rest."""
    check_int("n_impressions", n_impressions, 1, MAX_IMPRESSIONS)
    check_int("shard_size", shard_size, 1, MAX_IMPRESSIONS)
    full, rest = divmod(int(n_impressions), int(shard_size))
    return [int(shard_size)] * full + ([rest] if rest else [])


def _check_tasks(tasks: Sequence[str]) -> tuple[str, ...]:
    if isinstance(tasks, str) or not isinstance(tasks, Sequence) or not tasks:
        raise TypeError(f"tasks must be a non-empty sequence of names from {TASKS}, got {tasks!r}")
    unknown = [task for task in tasks if task not in TASKS]
    if unknown:
        raise ValueError(f"tasks must be names from {TASKS}, got unknown {unknown}")
    return tuple(tasks)


def write_shards(directory: str | os.PathLike, n_impressions: int,
                 shard_size: int = DEFAULT_SHARD_SIZE, tasks: Sequence[str] = ("click", "purchase"),
                 *, seed: int = 0, **knobs: object) -> dict:
    """Generate ``n_impressions`` rows in shards of ``shard_size`` and write them to
    ``directory`` (created if needed). Returns the manifest (also in ``manifest.json``).

    ``knobs`` are further ``make_shop`` arguments (``n_users``, ``task_correlation``, …), the
    same for every shard; shard k uses a seed spawned from ``seed``.
    """
    sizes = shard_sizes(n_impressions, shard_size)
    tasks = _check_tasks(tasks)
    check_int("seed", seed, minimum=0)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(len(sizes))]
    features = None
    for index, (rows, shard_seed) in enumerate(zip(sizes, seeds, strict=True)):
        shop = make_shop(n_impressions=rows, seed=shard_seed, **knobs)
        x, y = shop.to_arrays(tasks)
        features = shop.features
        del shop  # keep one shard in memory, not two
        arrays = {f"x/{key}": value for key, value in x.items()}
        arrays.update({f"y/{task}": value for task, value in y.items()})
        with open(shard_path(folder, index), "wb") as handle:
            np.savez(handle, **arrays)
    manifest = {
        "rows": sizes,
        "tasks": list(tasks),
        "features": features.to_dict(),
        "seed": int(seed),
        "knobs": {key: value for key, value in knobs.items()},
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


def read_manifest(directory: str | os.PathLike) -> dict:
    """The manifest ``write_shards`` left in ``directory``."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"directory {str(directory)!r} holds no {MANIFEST}: write it "
                                f"with mtl_kit.data.shards.write_shards first")
    return json.loads(path.read_text(encoding="utf-8"))


def manifest_features(manifest: Mapping, drop: Sequence[str] = SHARD_MODEL_DROP) -> FeatureSpec:
    """The shards' ``FeatureSpec`` without the features in ``drop`` (a model's inputs)."""
    spec = FeatureSpec.from_dict(manifest["features"])
    return FeatureSpec({k: v for k, v in spec.categorical.items() if k not in drop},
                       list(spec.numeric),
                       {k: v for k, v in spec.vocabularies.items() if k not in drop})


def read_shard(directory: str | os.PathLike,
               index: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Shard ``index`` as ``(x, y)``, the ``to_arrays`` form of its rows."""
    n_shards = len(read_manifest(directory)["rows"])
    check_int("index", index, 0, n_shards - 1)
    with np.load(shard_path(directory, index)) as stored:
        x = {key[2:]: stored[key] for key in stored.files if key.startswith("x/")}
        y = {key[2:]: stored[key] for key in stored.files if key.startswith("y/")}
    return x, y


def total_rows(manifest: Mapping) -> int:
    """Rows over all shards."""
    return int(sum(manifest["rows"]))


def batches_per_shard(manifest: Mapping, batch_size: int) -> list[int]:
    """⌈rows_k / batch_size⌉ for every shard k (a batch never spans two shards)."""
    check_int("batch_size", batch_size, minimum=1)
    return [math.ceil(rows / batch_size) for rows in manifest["rows"]]


__all__ = [
    "DEFAULT_SHARD_SIZE",
    "MANIFEST",
    "SHARD_MODEL_DROP",
    "batches_per_shard",
    "manifest_features",
    "read_manifest",
    "read_shard",
    "shard_path",
    "shard_sizes",
    "total_rows",
    "write_shards",
]
