"""Users and items of the shop: observable attributes and hidden traits.

Each hidden trait is *partly recoverable* from the observable attributes, which is what makes
the shop learnable. For every hidden trait ``t`` of an entity with attributes ``a_1 .. a_K``::

    observed_part = standardise( Σ_k E_k[a_k] )          E_k[level] ~ N(0, 1), one per level
    t             = sqrt(r) · observed_part + sqrt(1 - r) · ξ,      ξ ~ N(0, 1)

so ``r`` (:data:`RECOVERABLE`, 0.9) is the share of the trait's variance that the attributes
explain; the rest is individual and only learnable from the entity's id (by an embedding that
sees enough of that user or item). All hidden traits have mean 0 and variance about 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mtl_kit.data.features import (
    ACTIVITY_LEVELS,
    AGE_BANDS,
    BRAND_TIERS,
    CATEGORIES,
    CITY_TIERS,
    DEVICES,
    MEMBERSHIPS,
    PRICE_BANDS,
)

RECOVERABLE = 0.9
"""Share of a hidden trait's variance explained by the observable attributes."""

N_MATCH = 4
"""Number of generic user × item "match" dimensions (like a matrix factorisation's factors)."""

# Level probabilities of the user attributes.
AGE_P = (0.18, 0.32, 0.24, 0.15, 0.11)
CITY_P = (0.2, 0.35, 0.3, 0.15)
MEMBERSHIP_P = (0.6, 0.28, 0.12)
DEVICE_P = (0.45, 0.4, 0.15)
ACTIVITY_P = (0.5, 0.35, 0.15)
ACTIVITY_SESSIONS = (1.0, 3.0, 8.0)
"""Relative number of sessions of a low / medium / high activity user."""

# Items: share of the catalogue, typical price (yuan) per category; brand price factor.
CATEGORY_P = (0.14, 0.16, 0.1, 0.12, 0.08, 0.08, 0.07, 0.1, 0.08, 0.07)
CATEGORY_PRICE = (800.0, 300.0, 150.0, 200.0, 120.0, 50.0, 150.0, 60.0, 100.0, 400.0)
BRAND_P = (0.35, 0.45, 0.2)
BRAND_PRICE_FACTOR = (0.7, 1.0, 1.8)


def _standardise(values: np.ndarray) -> np.ndarray:
    """Centre and scale each column to mean 0, standard deviation 1 (a constant column -> 0)."""
    centred = values - values.mean(axis=0)
    scale = centred.std(axis=0)
    return centred / np.where(scale > 0, scale, 1.0)


def _partly_recoverable(
    rng: np.random.Generator, codes: list[np.ndarray], sizes: list[int], n_traits: int
) -> np.ndarray:
    """Traits ``sqrt(r)·standardise(Σ_k E_k[codes_k]) + sqrt(1-r)·ξ`` of shape (n, n_traits)."""
    n = len(codes[0])
    observed = np.zeros((n, n_traits))
    for level_codes, size in zip(codes, sizes, strict=True):
        effects = rng.standard_normal((size, n_traits))
        observed += effects[level_codes]
    individual = rng.standard_normal((n, n_traits))
    return np.sqrt(RECOVERABLE) * _standardise(observed) + np.sqrt(1 - RECOVERABLE) * individual


def _draw(rng: np.random.Generator, probabilities: tuple[float, ...], n: int) -> np.ndarray:
    return rng.choice(len(probabilities), size=n, p=np.asarray(probabilities) / sum(probabilities))


def make_users(n_users: int, rng: np.random.Generator) -> pd.DataFrame:
    """The users table: observable attributes and the hidden traits (columns ``hidden_*``).

    Hidden traits: ``taste_<category>`` (liking of each category), ``price_sensitivity``,
    ``match_0..3`` (generic factors matched with the items'), ``user_0``, ``user_1`` (general
    propensities that act on every item).
    """
    codes = [
        _draw(rng, AGE_P, n_users),
        _draw(rng, CITY_P, n_users),
        _draw(rng, MEMBERSHIP_P, n_users),
        _draw(rng, DEVICE_P, n_users),
        _draw(rng, ACTIVITY_P, n_users),
    ]
    sizes = [len(AGE_BANDS), len(CITY_TIERS), len(MEMBERSHIPS), len(DEVICES), len(ACTIVITY_LEVELS)]
    n_traits = len(CATEGORIES) + 1 + N_MATCH + 2
    traits = _partly_recoverable(rng, codes, sizes, n_traits)
    users = pd.DataFrame(
        {
            "user_id": np.arange(n_users, dtype=np.int64),
            "age_band": pd.Categorical.from_codes(codes[0], AGE_BANDS),
            "city_tier": pd.Categorical.from_codes(codes[1], CITY_TIERS),
            "membership": pd.Categorical.from_codes(codes[2], MEMBERSHIPS),
            "device": pd.Categorical.from_codes(codes[3], DEVICES),
            "activity": pd.Categorical.from_codes(codes[4], ACTIVITY_LEVELS),
        }
    )
    names = (
        [f"hidden_taste_{category}" for category in CATEGORIES]
        + ["hidden_price_sensitivity"]
        + [f"hidden_match_{j}" for j in range(N_MATCH)]
        + ["hidden_user_0", "hidden_user_1"]
    )
    hidden = pd.DataFrame(traits.astype(np.float32), columns=names)
    return pd.concat([users, hidden], axis=1)


def make_items(n_items: int, rng: np.random.Generator) -> pd.DataFrame:
    """The items table: category, brand tier, price, price band, rating, reviews, hidden traits.

    ``price = CATEGORY_PRICE[category] · BRAND_PRICE_FACTOR[brand] · exp(0.45·ξ)`` (yuan,
    rounded to 0.1); ``price_band`` is the price quintile within the catalogue. Hidden traits
    ``match_0..3``, ``item_0`` and ``item_1`` are recoverable from category, brand and price
    band; ``item_0`` (quality) shows in ``rating = clip(4.1 + 0.35·item_0 + 0.2·ξ, 1, 5)`` and
    ``item_1`` (popularity) in ``n_reviews = round(exp(4 + 0.9·item_1 + 0.5·ξ))``.
    The first ten items cover the ten categories, so every category has at least one item.
    """
    category = _draw(rng, CATEGORY_P, n_items)
    category[: len(CATEGORIES)] = np.arange(len(CATEGORIES))
    brand = _draw(rng, BRAND_P, n_items)
    price = (
        np.asarray(CATEGORY_PRICE)[category]
        * np.asarray(BRAND_PRICE_FACTOR)[brand]
        * np.exp(0.45 * rng.standard_normal(n_items))
    )
    price = np.round(price, 1)
    ranks = np.argsort(np.argsort(price, kind="stable"), kind="stable")
    band = (ranks * len(PRICE_BANDS)) // n_items
    traits = _partly_recoverable(
        rng, [category, brand, band], [len(CATEGORIES), len(BRAND_TIERS), len(PRICE_BANDS)], 6
    )
    quality, popularity = traits[:, N_MATCH], traits[:, N_MATCH + 1]
    rating = np.clip(4.1 + 0.35 * quality + 0.2 * rng.standard_normal(n_items), 1.0, 5.0)
    n_reviews = np.round(np.exp(4.0 + 0.9 * popularity + 0.5 * rng.standard_normal(n_items)))
    items = pd.DataFrame(
        {
            "item_id": np.arange(n_items, dtype=np.int64),
            "category": pd.Categorical.from_codes(category, CATEGORIES),
            "price_band": pd.Categorical.from_codes(band, PRICE_BANDS),
            "brand_tier": pd.Categorical.from_codes(brand, BRAND_TIERS),
            "price": price.astype(np.float32),
            "rating": np.round(rating, 1).astype(np.float32),
            "n_reviews": n_reviews.astype(np.float32),
        }
    )
    names = [f"hidden_match_{j}" for j in range(N_MATCH)] + ["hidden_item_0", "hidden_item_1"]
    hidden = pd.DataFrame(traits.astype(np.float32), columns=names)
    return pd.concat([items, hidden], axis=1)
