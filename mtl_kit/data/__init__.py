"""The course's data: a synthetic shop with known truth, and the MMoE-style task pair.

>>> from mtl_kit.data import make_shop
>>> shop = make_shop(n_impressions=2_000, seed=1)
>>> train, val, test = shop.split()
>>> x, y = train.to_arrays(("click", "purchase"))

Plots live in :mod:`mtl_kit.data.plots_shop` (imported on demand: it needs matplotlib).
No module here imports Keras: the data is plain NumPy and pandas.
"""

from mtl_kit.data._validation import TASKS
from mtl_kit.data.features import FeatureSpec
from mtl_kit.data.io import default_data_dir, load_sample, load_shop, save_shop
from mtl_kit.data.mmoe import MMoETasks, make_mmoe_tasks
from mtl_kit.data.shop import ShopData, make_shop
from mtl_kit.data.summary import base_rates
from mtl_kit.data.utterances import translate

__all__ = [
    "TASKS",
    "FeatureSpec",
    "MMoETasks",
    "ShopData",
    "base_rates",
    "default_data_dir",
    "load_sample",
    "load_shop",
    "make_mmoe_tasks",
    "make_shop",
    "save_shop",
    "translate",
]
