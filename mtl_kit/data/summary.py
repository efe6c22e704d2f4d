"""Measured base rates of a shop: how often each label fires, overall or by a column."""

from __future__ import annotations

import pandas as pd

from mtl_kit.data.features import INTENTS


def base_rates(impressions: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Rates measured on the labelled rows, overall (one row, ``"all"``) or per value of ``by``.

    Columns: ``impressions``; ``click`` = clicks / labelled impressions; ``purchase`` =
    purchases / labelled impressions; ``cvr`` = purchases / clicks (rows with both labels);
    ``intent_<class>`` = share of labelled rows of each intent; ``dwell`` = mean dwell seconds;
    ``labelled_<task>`` = share of rows that carry the task's label.
    """
    if not isinstance(impressions, pd.DataFrame):
        raise TypeError(f"impressions must be a pandas DataFrame, got {type(impressions).__name__}")
    if by is not None and by not in impressions.columns:
        raise ValueError(f"by must be None or a column of impressions, got {by!r}")
    frame = impressions.assign(
        _clicked_purchase=impressions["purchase"].where(impressions["click"] == 1),
        **{f"_intent_{name}": (impressions["intent"] == k).where(impressions["intent"].notna())
           for k, name in enumerate(INTENTS)},
    )
    keys = frame[by] if by is not None else pd.Series("all", index=frame.index, name="group")
    grouped = frame.groupby(keys, observed=True, sort=True)
    table = pd.DataFrame(
        {
            "impressions": grouped.size(),
            "click": grouped["click"].mean(),
            "purchase": grouped["purchase"].mean(),
            "cvr": grouped["_clicked_purchase"].mean(),
            **{f"intent_{name}": grouped[f"_intent_{name}"].mean() for name in INTENTS},
            "dwell": grouped["dwell"].mean(),
            **{f"labelled_{task}": grouped[task].apply(lambda s: s.notna().mean())
               for task in ("click", "purchase", "intent", "dwell")},
        }
    )
    table.index.name = by or "group"
    return table
