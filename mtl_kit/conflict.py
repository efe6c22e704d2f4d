"""Reading a task conflict off the training logs: loss scales, gradient scales and cosines.

A shared parameter θ_sh gets, at every step, the sum of what the tasks ask of it,

    d = Σ_t λ_t g_t,        g_t = ∇_{θ_sh} L_t.

Two numbers per pair of tasks say how that sum treats each task (``fit`` logs them per epoch
with ``gradient_diagnostics=True``: ``<task>_grad_norm`` = ‖g_t‖ and
``grad_cosine_<a>_<b>`` = cos(g_a, g_b)):

* the **scale**: a task whose gradient is 100 times longer decides the direction of d;
* the **cosine**: cos > 0, the tasks pull the same way; cos < 0, a **gradient conflict
  (梯度冲突)**: a step for one raises the other's loss.

To first order, a plain gradient step −η d changes L_a by −η g_a · d. With two tasks,

    g_a · d = λ_a ‖g_a‖² + λ_b ‖g_a‖ ‖g_b‖ cos(g_a, g_b),

which is negative (the step *raises* L_a) exactly when

    cos(g_a, g_b) < −(λ_a ‖g_a‖) / (λ_b ‖g_b‖)          (:func:`conflict_threshold`).

So a conflict matters in proportion to the imbalance: with equal weighted norms only cos < −1
would hurt (impossible); with task b's gradient 300 times longer, cos < −0.003 is enough.
Adam rescales the step per parameter, so this is a guide to the direction of the push, not an
exact prediction of the loss.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mtl_kit.validation import check_number

Histories = Sequence[Mapping[str, Sequence[float]]]


def _check_histories(histories: Histories) -> list[Mapping[str, Sequence[float]]]:
    if isinstance(histories, Mapping):
        histories = [histories]
    histories = list(histories)
    if not histories or not all(isinstance(h, Mapping) for h in histories):
        raise TypeError("histories must be a list of fit histories (dicts of per-epoch lists), "
                        "one per seed")
    return histories


def logged(histories: Histories, key: str) -> np.ndarray:
    """``key``'s values as an array (seeds, epochs); a clear error when it was not logged."""
    histories = _check_histories(histories)
    for h in histories:
        if key not in h:
            hint = (" (log task gradients with compile(gradient_diagnostics=True))"
                    if "grad" in key or key.endswith("_weight") else "")
            raise KeyError(f"{key!r} was not logged{hint}; logged: {sorted(h)}")
    length = min(len(h[key]) for h in histories)
    return np.array([list(h[key])[:length] for h in histories], dtype="float64")


def cosine_key(first: str, second: str, histories: Histories | None = None) -> str:
    """The log key of the pair's gradient cosine (``grad_cosine_<a>_<b>``, model order)."""
    key = f"grad_cosine_{first}_{second}"
    if histories is not None and key not in _check_histories(histories)[0]:
        swapped = f"grad_cosine_{second}_{first}"
        if swapped in histories[0]:
            return swapped
    return key


def scales(histories: Histories, tasks: Sequence[str], epoch: int = -1) -> pd.DataFrame:
    """Per task, at ``epoch`` (default: the last), means over the seeds: the training loss
    L_t, its gradient norm ‖g_t‖ on the shared parameters, and both as a multiple of the
    first task's. Needs ``gradient_diagnostics=True`` (or a gradient-level strategy)."""
    tasks = list(tasks)
    if len(tasks) < 2:
        raise ValueError(f"tasks must name at least two tasks, got {tasks}")
    rows = []
    for task in tasks:
        loss = logged(histories, f"{task}_loss")[:, epoch].mean()
        norm = logged(histories, f"{task}_grad_norm")[:, epoch].mean()
        rows.append({"task": task, "loss": loss, "gradient norm": norm})
    frame = pd.DataFrame(rows).set_index("task")
    frame["loss ÷ first"] = frame["loss"] / frame["loss"].iloc[0]
    frame["norm ÷ first"] = frame["gradient norm"] / frame["gradient norm"].iloc[0]
    return frame


def conflict_threshold(norm_a, norm_b, weight_a=1.0, weight_b=1.0):
    """The cosine below which the summed step d = λ_a g_a + λ_b g_b raises L_a (first order):
    −(λ_a ‖g_a‖) / (λ_b ‖g_b‖). Works elementwise on arrays."""
    norm_a, norm_b = np.asarray(norm_a, dtype="float64"), np.asarray(norm_b, dtype="float64")
    weight_a = np.asarray(weight_a, dtype="float64")
    weight_b = np.asarray(weight_b, dtype="float64")
    if np.any(norm_a < 0) or np.any(norm_b < 0) or np.any(weight_a < 0) or np.any(weight_b < 0):
        raise ValueError("norms and weights must be >= 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(weight_b * norm_b > 0, -(weight_a * norm_a) / (weight_b * norm_b),
                        -np.inf)


def pull_on(norm_a, norm_b, cosine, weight_a=1.0, weight_b=1.0):
    """g_a · d / ‖g_a‖ = λ_a ‖g_a‖ + λ_b ‖g_b‖ cos: how fast the summed step lowers L_a per
    unit of step (negative: it raises L_a). Elementwise on arrays."""
    cosine = np.asarray(cosine, dtype="float64")
    if np.any(np.abs(cosine) > 1 + 1e-6):
        raise ValueError("cosine must lie in [-1, 1]")
    return (np.asarray(weight_a, dtype="float64") * np.asarray(norm_a, dtype="float64")
            + np.asarray(weight_b, dtype="float64") * np.asarray(norm_b, dtype="float64")
            * cosine)


def conflict_table(histories: Histories, first: str, second: str,
                   weights: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Per epoch, means over the seeds: the pair's cosine, each task's threshold
    (:func:`conflict_threshold` with the logged norms and ``weights``, default the logged
    ``<task>_weight``), and whether the summed step lowers each task's loss (first order),
    counted as the share of seeds where it does."""
    histories = _check_histories(histories)
    cosine = logged(histories, cosine_key(first, second, histories))
    norms = {t: logged(histories, f"{t}_grad_norm") for t in (first, second)}
    if weights is None:
        weights_of = {t: logged(histories, f"{t}_weight") for t in (first, second)}
    else:
        weights_of = {t: np.full_like(cosine, check_number(f"weights[{t!r}]", weights[t],
                                                           minimum=0.0))
                      for t in (first, second)}
    table = {"epoch": np.arange(1, cosine.shape[1] + 1), "cosine": cosine.mean(axis=0)}
    for a, b in ((first, second), (second, first)):
        threshold = conflict_threshold(norms[a], norms[b], weights_of[a], weights_of[b])
        helped = pull_on(norms[a], norms[b], cosine, weights_of[a], weights_of[b]) > 0
        table[f"{a} threshold"] = threshold.mean(axis=0)
        table[f"step lowers {a} (share of seeds)"] = helped.mean(axis=0)
    return pd.DataFrame(table).set_index("epoch")


__all__ = ["conflict_table", "conflict_threshold", "cosine_key", "logged", "pull_on", "scales"]
