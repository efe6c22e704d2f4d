"""The shop's figures draw, with titles and labelled axes."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from mtl_kit.data import make_shop, translate
from mtl_kit.data.plots_shop import (
    TASK_COLORS,
    plot_base_rates,
    plot_funnel,
    plot_intent_mix,
)


@pytest.fixture(scope="module")
def shop():
    return make_shop(n_users=500, n_items=100, n_impressions=5_000)


@pytest.mark.parametrize("draw", [plot_base_rates, plot_funnel, plot_intent_mix])
def test_figures_have_titles_and_labels(shop, draw):
    fig = draw(shop)
    for ax in fig.axes:
        assert ax.get_title() and ax.get_ylabel()
        assert ax.get_xlabel() or ax.get_xticklabels()
    plt.close(fig)


def test_task_colours_are_okabe_ito_hues():
    """Colour-blind-safe hues (Okabe & Ito); tests/test_plots.py checks their separation under
    simulated deuteranopia and protanopia."""
    assert TASK_COLORS == {"click": "#0072B2", "purchase": "#D55E00", "intent": "#009E73",
                           "dwell": "#56B4E9"}


def test_translation_to_chinese(shop):
    english = shop.impressions["utterance"].astype(str).head(20)
    chinese = translate(english, "zh")
    assert chinese.notna().all()
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in text) for text in chinese)
