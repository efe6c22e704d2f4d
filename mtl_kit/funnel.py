"""The click → purchase funnel: the sample-selection bias of a CVR model trained on clicks.

A conversion model answers pCVR = P(purchase | click, x) for *every* impression the shop could
show, yet its labels exist only where the customer clicked. Trained on the clicked rows alone
(**CVR on clicks**), it learns from a sample chosen by the click, which is not the population it
serves: the **sample-selection bias (样本选择偏差)** of Ma et al. (2018). ESMM (``build_esmm``)
instead learns pCVR over the entire space through pCTCVR = pCTR × pCVR.

The shop's generator knows each impression's true conversion probability ``cvr_true``, so the
bias is visible directly. For a model's predictions p_n, rows R (e.g. the impressions nobody
clicked) and truth t_n:

    bias_R = (1/|R|) Σ_{n∈R} (p_n − t_n)

and the **funnel gap** compares the two populations,

    gap = mean_{n: not clicked} p_n − mean_{n: clicked} p_n,

negative in truth (customers skip items they would not buy). Each value comes per seed with
its per-row influence ψ (a mean's ψ_n = (e_n − m) / |R| on R, 0 elsewhere), so
``mtl_kit.intervals.seed_interval`` gives its 95 % interval over users and seeds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mtl_kit.intervals import Estimate, seed_interval

POPULATIONS = ("all", "clicked", "not clicked")


def cvr_on_clicks_labels(click, purchase) -> np.ndarray:
    """The labels of a CVR-on-clicks model: the purchase label where the row was clicked, NaN
    elsewhere (the masked loss then trains on the clicked rows only)."""
    click = np.asarray(click, dtype="float32")
    purchase = np.asarray(purchase, dtype="float32")
    if click.shape != purchase.shape or click.ndim != 1:
        raise ValueError(f"click and purchase must be arrays (n,) of the same length, got "
                         f"{click.shape} and {purchase.shape}")
    return np.where(click == 1, purchase, np.float32(np.nan)).astype("float32")


def _rows(population: str, clicked: np.ndarray) -> np.ndarray:
    if population not in POPULATIONS:
        raise ValueError(f"population must be one of {POPULATIONS}, got {population!r}")
    if population == "all":
        return np.ones_like(clicked)
    return clicked if population == "clicked" else ~clicked


def _mean_and_psi(values: np.ndarray, rows: np.ndarray) -> tuple[float, np.ndarray]:
    n = int(rows.sum())
    if n == 0:
        raise ValueError("no row in this population: its mean is undefined")
    mean = float(values[rows].mean())
    return mean, np.where(rows, (values - mean) / n, 0.0)


def _check(predictions: Sequence, truth, clicked, users):
    truth = np.asarray(truth, dtype="float64").reshape(-1)
    clicked = np.asarray(clicked).reshape(-1)
    if clicked.dtype != bool:
        if not np.isin(clicked, (0, 1)).all():
            raise ValueError("clicked must hold True/False (or 0/1) per row")
        clicked = clicked.astype(bool)
    users = np.asarray(users).reshape(-1)
    predictions = [np.asarray(p, dtype="float64").reshape(-1) for p in predictions]
    if not predictions:
        raise ValueError("predictions must hold one array per seed, got none")
    sizes = {truth.size, clicked.size, users.size, *(p.size for p in predictions)}
    if len(sizes) != 1:
        raise ValueError(f"truth, clicked, users and every prediction must have one entry per "
                         f"row, got sizes {sorted(sizes)}")
    return predictions, truth, clicked, users


def bias(predictions: Sequence, truth, clicked, users, population: str = "not clicked",
         confidence: float = 0.95) -> Estimate:
    """The mean of p − t over ``population`` ("all", "clicked", "not clicked"), with its
    interval over users and seeds (one prediction array per seed)."""
    predictions, truth, clicked, users = _check(predictions, truth, clicked, users)
    rows = _rows(population, clicked)
    pairs = [_mean_and_psi(p - truth, rows) for p in predictions]
    return seed_interval([m for m, _ in pairs], np.stack([s for _, s in pairs]), users,
                         confidence)


def funnel_gap(predictions: Sequence, clicked, users, confidence: float = 0.95) -> Estimate:
    """mean p over the unclicked rows − mean p over the clicked rows, with its interval.
    Pass the truth as the single "prediction" for the true gap."""
    predictions, _, clicked, users = _check(predictions, np.zeros(len(users)), clicked, users)
    values, psis = [], []
    for p in predictions:
        off, psi_off = _mean_and_psi(p, ~clicked)
        on, psi_on = _mean_and_psi(p, clicked)
        values.append(off - on)
        psis.append(psi_off - psi_on)
    return seed_interval(values, np.stack(psis), users, confidence)


def funnel_table(predictions: Mapping[str, Sequence], truth, clicked, users) -> pd.DataFrame:
    """Per model and population: the mean prediction, the mean truth and the bias with its
    interval (model, population, predicted, true, bias, low, high)."""
    rows = []
    for name, preds in predictions.items():
        checked, truth_, clicked_, _ = _check(preds, truth, clicked, users)
        for population in POPULATIONS:
            mask = _rows(population, clicked_)
            est = bias(preds, truth, clicked, users, population)
            rows.append({"model": name, "population": population,
                         "predicted": float(np.mean([p[mask].mean() for p in checked])),
                         "true": float(truth_[mask].mean()),
                         "bias": est.mean, "low": est.low, "high": est.high})
    return pd.DataFrame(rows)


__all__ = ["POPULATIONS", "bias", "cvr_on_clicks_labels", "funnel_gap", "funnel_table"]
