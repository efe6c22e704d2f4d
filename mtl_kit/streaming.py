"""Training from data bigger than memory: the shards on disk as a ``keras.utils.PyDataset``.

``ShardBatches(directory, batch_size)`` hands Keras' ``fit`` one batch at a time from the
shards ``mtl_kit.data.shards.write_shards`` wrote. It keeps a single shard in memory:

    memory ≈ one shard's arrays + the model, whatever the number of shards

Each epoch visits the shards in a new random order and, inside a shard, the rows in a new random
order (``shuffle=True``; ``np.random``, so ``keras.utils.set_random_seed`` fixes it). A batch
never spans two shards, so the last batch of each shard may be short. Loading a shard checks
and packs it once (``mtl_kit.inputs``), so a batch is a slice of ready arrays.

Several devices: under ``keras.distribution.DataParallel`` every batch is split over the N
devices, so each batch is padded to a multiple of N with unlabelled rows
(``mtl_kit.distributed.PaddedBatches`` explains why that changes no gradient). The same
pipeline feeds one device or N; on several hosts each host would read its own shards.

>>> model.fit(ShardBatches("shards/", batch_size=1024), epochs=1)   # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import keras
import numpy as np

from mtl_kit import distributed
from mtl_kit.data.shards import (
    batches_per_shard,
    manifest_features,
    read_manifest,
    read_shard,
    total_rows,
)
from mtl_kit.inputs import prepare_inputs, prepare_labels
from mtl_kit.tasks import as_tasks
from mtl_kit.validation import check_flag, check_int

#: Rows of the first shard used to fit the numeric normalisation (μ, σ).
ADAPT_ROWS = 100_000


def _feature_config(features) -> dict:
    """``{"categorical": {name: vocab}, "numeric": [names]}`` from a FeatureSpec or such a dict
    (what ``prepare_inputs`` reads)."""
    if isinstance(features, dict):
        categorical, numeric = features.get("categorical", {}), features.get("numeric", [])
    elif hasattr(features, "categorical") and hasattr(features, "numeric"):
        categorical, numeric = features.categorical, features.numeric
    else:
        raise TypeError(f"features must be a FeatureSpec or a dict with 'categorical' and "
                        f"'numeric', got {type(features).__name__}")
    return {"categorical": {str(k): int(v) for k, v in dict(categorical).items()},
            "numeric": [str(n) for n in numeric]}


class ShardBatches(keras.utils.PyDataset):
    """Batches of prepared ``(x, y)`` streamed from the shards in ``directory``.

    Args:
        directory: a folder written by ``mtl_kit.data.shards.write_shards``.
        batch_size: rows per batch (before padding for several devices).
        features: the model's inputs (a ``FeatureSpec`` or feature config); default: the
            shards' features without the id features (``manifest_features``).
        tasks: the model's tasks (names or TaskSpecs); default: the tasks written.
        shuffle: new shard and row orders every epoch.
        multiple: pad every batch to a multiple of this many rows; default: the devices of
            the active ``keras.distribution`` (1 without one).
    """

    def __init__(self, directory: str | os.PathLike, batch_size: int = 1024, *,
                 features=None, tasks: Sequence | None = None, shuffle: bool = True,
                 multiple: int | None = None):
        check_int("batch_size", batch_size, minimum=1)
        check_flag("shuffle", shuffle)
        if multiple is not None:
            check_int("multiple", multiple, minimum=1)
        manifest = read_manifest(directory)
        super().__init__()
        self.directory = directory
        self.manifest = manifest
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.multiple = int(multiple or distributed.data_parallel_devices())
        self.features = _feature_config(
            manifest_features(manifest) if features is None else features)
        self.tasks = as_tasks(manifest["tasks"] if tasks is None else tasks)
        missing = [t.name for t in self.tasks if t.name not in manifest["tasks"]]
        if missing:
            raise ValueError(f"tasks must be among the tasks written {manifest['tasks']}, "
                             f"got {missing}")
        self.counts = batches_per_shard(manifest, self.batch_size)
        self.n_rows = total_rows(manifest)
        self.shard_order = np.arange(len(self.counts))
        self._loaded: tuple[int, dict, dict, np.ndarray] | None = None
        self.loads = 0  # shards read from disk so far (a check that access is sequential)
        self.epoch_loads = 0  # shards read since the current epoch began

    def __len__(self) -> int:
        return int(sum(self.counts))

    def on_epoch_begin(self) -> None:
        if self.shuffle:
            self.shard_order = np.random.permutation(len(self.counts))
        self._loaded = None  # new row orders inside the shards too
        self.epoch_loads = 0

    def _locate(self, index: int) -> tuple[int, int]:
        """(shard, batch within it) of batch ``index`` in this epoch's shard order."""
        if not 0 <= index < len(self):
            raise IndexError(f"index must be in 0..{len(self) - 1}, got {index}")
        for shard in self.shard_order:
            if index < self.counts[shard]:
                return int(shard), index
            index -= self.counts[shard]
        raise AssertionError("unreachable")

    def _shard(self, shard: int) -> tuple[dict, dict, np.ndarray]:
        if self._loaded is None or self._loaded[0] != shard:
            self._loaded = None  # free the previous shard before reading the next
            x_raw, y_raw = read_shard(self.directory, shard)
            x, n_rows = prepare_inputs(self.features, x_raw, f"shard {shard} x")
            y = prepare_labels(self.tasks, y_raw, n_rows, f"shard {shard} y")
            del x_raw, y_raw
            order = np.random.permutation(n_rows) if self.shuffle else np.arange(n_rows)
            self._loaded = (shard, x, y, order)
            self.loads += 1
            self.epoch_loads += 1
        return self._loaded[1:]

    def __getitem__(self, index: int):
        shard, local = self._locate(int(index))
        x, y, order = self._shard(shard)
        rows = order[local * self.batch_size:(local + 1) * self.batch_size]
        return distributed.padded_batch(x, y, rows, self.multiple)

    def adapt_inputs(self) -> dict[str, np.ndarray]:
        """Prepared inputs of up to ``ADAPT_ROWS`` rows of the first shard (to fit the
        normalisation before training)."""
        x_raw, _ = read_shard(self.directory, 0)
        x_raw = {key: value[:ADAPT_ROWS] for key, value in x_raw.items()}
        return prepare_inputs(self.features, x_raw, "shard 0 x")[0]


__all__ = ["ADAPT_ROWS", "ShardBatches"]
