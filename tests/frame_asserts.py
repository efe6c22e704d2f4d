"""Comparing generated data frames in tests."""

import numpy as np
import pandas as pd


def assert_same_frame(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """Like ``pd.testing.assert_frame_equal``, but fast on categoricals (codes + categories)."""
    assert list(left.columns) == list(right.columns)
    assert left.index.equals(right.index)
    for column in left.columns:
        a, b = left[column], right[column]
        if isinstance(a.dtype, pd.CategoricalDtype):
            assert isinstance(b.dtype, pd.CategoricalDtype), column
            assert list(a.cat.categories) == list(b.cat.categories), column
            np.testing.assert_array_equal(a.cat.codes.to_numpy(), b.cat.codes.to_numpy(), column)
        else:
            pd.testing.assert_series_equal(a, b)
