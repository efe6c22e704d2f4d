"""Train / validation / test splits *by user*: no user appears in two splits.

Splitting impressions at random would leak: the same user's taste would be in the training and
the test rows, and the test score would flatter the model. Instead the users are shuffled (from
the seed) and cut where the running count of their impressions passes each fraction, so the
splits hold about ``fractions`` of the impressions (exactly, up to one user's rows).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mtl_kit.data._validation import check_seed
from mtl_kit.validation import check_number


def check_fractions(fractions: object) -> tuple[float, ...]:
    """Two or more positive fractions that sum to 1 (within 1e-6)."""
    if not isinstance(fractions, (list, tuple)) or len(fractions) < 2:
        raise TypeError(
            f"fractions must be a tuple of at least two numbers in (0, 1) summing to 1, "
            f"got {fractions!r}"
        )
    checked = tuple(
        check_number(f"fractions[{i}]", value, 0.0, 1.0, low_open=True, high_open=True)
        for i, value in enumerate(fractions)
    )
    if abs(sum(checked) - 1.0) > 1e-6:
        raise ValueError(f"fractions must sum to 1, got {checked} (sum {sum(checked)})")
    return checked


def split_rows_by_user(
    user_id: np.ndarray, fractions: Sequence[float] = (0.7, 0.15, 0.15), seed: int = 0
) -> list[np.ndarray]:
    """Row indices of each split: users shuffled with ``seed``, cut by cumulative impressions.

    Every user's rows land in exactly one split; a split can be empty only when there are
    fewer users than splits.
    """
    fractions = check_fractions(fractions)
    seed = check_seed(seed)
    user_id = np.asarray(user_id)
    users, counts = np.unique(user_id, return_counts=True)
    order = np.random.default_rng(seed).permutation(len(users))
    cumulative = np.cumsum(counts[order]) / max(len(user_id), 1)
    edges = np.cumsum(fractions)[:-1]
    # split of each shuffled user: how many edges its running share has passed (midpoint rule)
    midpoints = cumulative - counts[order] / max(len(user_id), 1) / 2
    split_of_shuffled = np.searchsorted(edges, midpoints, side="right")
    split_of_user = np.empty(len(users), dtype=np.int64)
    split_of_user[order] = split_of_shuffled
    split_of_row = split_of_user[np.searchsorted(users, user_id)]
    return [np.flatnonzero(split_of_row == k) for k in range(len(fractions))]
