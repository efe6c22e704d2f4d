"""Saving a shop to CSV files, loading it back, and the committed sample.

A shop named ``name`` in ``directory`` is four files::

    <name>_impressions.csv[.gz]   one row per impression (first column "row": its index)
    <name>_users.csv[.gz]         the users table, hidden traits included
    <name>_items.csv[.gz]         the items table, hidden traits included
    <name>_meta.json              knobs, feature spec, and every column's dtype and categories

Floats are written with 9 significant digits, enough to read every float32 back exactly, and
categorical columns get their categories (in order) back from the meta file, so
``load_shop(save_shop(shop))`` equals ``shop``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from mtl_kit.data.features import FeatureSpec
from mtl_kit.data.shop import ShopData, make_shop

SAMPLE_NAME = "shop_sample"
SAMPLE_KNOBS: dict = {}
"""The sample is ``make_shop()`` with its default knobs (40,000 impressions, p = 0.6, seed 0)."""

_TABLES = ("impressions", "users", "items")


def default_data_dir() -> Path:
    """``$MTL_KIT_DATA_DIR`` if set, else the repository's ``data/`` folder, else ``./data``."""
    if os.environ.get("MTL_KIT_DATA_DIR"):
        return Path(os.environ["MTL_KIT_DATA_DIR"])
    repository_data = Path(__file__).resolve().parents[2] / "data"
    return repository_data if repository_data.is_dir() else Path.cwd() / "data"


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name or any(c in name for c in "/\\"):
        raise ValueError(f"name must be a non-empty file name prefix without slashes, got {name!r}")
    return name


def _check_directory(directory: object) -> Path:
    if directory is None:
        return default_data_dir()
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"directory must be None, a str or a path, got {type(directory).__name__}")
    return Path(directory)


def _describe_columns(frame: pd.DataFrame) -> dict:
    columns = {}
    for column, dtype in frame.dtypes.items():
        if isinstance(dtype, pd.CategoricalDtype):
            columns[column] = {"dtype": "category", "categories": dtype.categories.tolist()}
        else:
            columns[column] = {"dtype": str(dtype)}
    return columns


def save_shop(
    shop: ShopData, directory: str | os.PathLike | None = None, name: str = "shop",
    *, compress: bool = False,
) -> Path:
    """Write ``shop`` as CSV files (gzip-compressed if ``compress``) plus a JSON meta file.

    Returns the path of the meta file. ``directory=None`` means :func:`default_data_dir`.
    """
    if not isinstance(shop, ShopData):
        raise TypeError(f"shop must be a ShopData, got {type(shop).__name__}")
    directory = _check_directory(directory)
    name = _check_name(name)
    if not isinstance(compress, bool):
        raise TypeError(f"compress must be True or False, got {compress!r}")
    directory.mkdir(parents=True, exist_ok=True)
    suffix = ".csv.gz" if compress else ".csv"
    meta = {
        "format": "mtl-kit shop v1",
        "params": shop.params,
        "features": shop.features.to_dict(),
        "files": {},
        "columns": {},
    }
    for table in _TABLES:
        frame: pd.DataFrame = getattr(shop, table)
        file_name = f"{name}_{table}{suffix}"
        options = {"compression": {"method": "gzip", "mtime": 0}} if compress else {}
        frame.to_csv(
            directory / file_name, float_format="%.9g", index=table == "impressions",
            index_label="row" if table == "impressions" else None, lineterminator="\n",
            **options,
        )
        meta["files"][table] = file_name
        meta["columns"][table] = _describe_columns(frame)
    meta_path = directory / f"{name}_meta.json"
    meta_path.write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return meta_path


def _read_table(path: Path, columns: dict, index: bool) -> pd.DataFrame:
    string_columns = {
        column: str
        for column, info in columns.items()
        if info["dtype"] == "category" and all(isinstance(c, str) for c in info["categories"])
    }
    frame = pd.read_csv(
        path, dtype=string_columns, keep_default_na=False, na_values=[""],
        index_col="row" if index else None,
    )
    if index:
        frame.index.name = None
    for column, info in columns.items():
        if info["dtype"] == "category":
            frame[column] = pd.Categorical(frame[column], categories=info["categories"])
        else:
            frame[column] = frame[column].astype(info["dtype"])
    return frame[list(columns)]


def load_shop(directory: str | os.PathLike | None = None, name: str = "shop") -> ShopData:
    """Read a shop written by :func:`save_shop`."""
    directory = _check_directory(directory)
    name = _check_name(name)
    meta_path = directory / f"{name}_meta.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"no saved shop {name!r} in {directory} (missing {meta_path.name})")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    tables = {
        table: _read_table(
            directory / meta["files"][table], meta["columns"][table], table == "impressions"
        )
        for table in _TABLES
    }
    return ShopData(
        tables["impressions"], tables["users"], tables["items"],
        FeatureSpec.from_dict(meta["features"]), meta["params"],
    )


def load_sample() -> ShopData:
    """The committed sample (``data/shop_sample_*``): ``make_shop()`` with default knobs.

    When the files are not there (e.g. the package was installed without the repository), the
    sample is regenerated instead: it is deterministic, so it is the same data.
    """
    directory = default_data_dir()
    if (directory / f"{SAMPLE_NAME}_meta.json").is_file():
        return load_shop(directory, SAMPLE_NAME)
    return make_shop(**SAMPLE_KNOBS)
