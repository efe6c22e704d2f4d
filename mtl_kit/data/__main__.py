"""Regenerate the committed sample and its figures: ``python -m mtl_kit.data``.

Writes ``data/shop_sample_*`` (``make_shop()`` with default knobs, seed 0) and
``data/figures/*.png``, then prints the base rates measured on the sample (the numbers quoted in
``data/README.md``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from mtl_kit.data.io import SAMPLE_KNOBS, SAMPLE_NAME, default_data_dir, save_shop
from mtl_kit.data.shop import make_shop
from mtl_kit.data.summary import base_rates


def save_figures(shop, directory: Path) -> list[Path]:
    """Draw the data lesson's figures of ``shop`` into ``directory`` (PNG, 120 dpi)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mtl_kit.data.plots_shop import plot_base_rates, plot_funnel, plot_intent_mix

    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, draw in (
        ("base_rates", plot_base_rates),
        ("funnel", plot_funnel),
        ("intent_mix", plot_intent_mix),
    ):
        fig = draw(shop)
        path = directory / f"{name}.png"
        fig.savefig(path, dpi=120, metadata={"Software": None})
        plt.close(fig)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mtl_kit.data", description=__doc__)
    parser.add_argument("--out", type=Path, default=None, help="directory (default: data/)")
    parser.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    args = parser.parse_args(argv)
    directory = args.out or default_data_dir()
    shop = make_shop(**SAMPLE_KNOBS)
    meta = save_shop(shop, directory, SAMPLE_NAME, compress=True)
    print(f"wrote {shop} to {meta.parent}")
    if not args.no_figures:
        for path in save_figures(shop, directory / "figures"):
            print(f"wrote {path}")
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(base_rates(shop.impressions).round(4).T.to_string())
        for column in ("category", "channel"):
            print(base_rates(shop.impressions, by=column)[["impressions", "click", "purchase",
                                                          "cvr"]].round(4).to_string())


if __name__ == "__main__":
    main()
