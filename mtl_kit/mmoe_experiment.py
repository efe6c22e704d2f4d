"""The MMoE paper's synthetic experiment (Ma et al., KDD 2018), on a CPU, over several seeds.

Two regression tasks whose relatedness is set by the cosine p of their weight vectors
(``mtl_kit.data.make_mmoe_tasks``) are learned by three models with about the same number of
parameters:

* **shared bottom**: one Dense+ReLU bottom all tasks read, a head per task;
* **OMoE** (one-gate mixture of experts): E experts, *one* softmax gate g(x) shared by the
  tasks: every task gets the same mixture Σ_e g_e(x) f_e(x);
* **MMoE**: the same experts, one gate per task: z_t = Σ_e g_t,e(x) f_e(x).

The paper found that as p falls from 1 to 0, shared bottom gets much worse, OMoE somewhat
worse, and MMoE hardly at all. How much of that shows up depends on the models' capacity and
on the generator's constants (the weight scale c and the sine terms' scale σ), so an
experiment is a :class:`Setup` (both) plus the list of correlations.

Every model is trained for a fixed number of epochs over K seeds at once
(``mtl_kit.seed_runs.fit_seeds``: one compiled model per architecture, re-initialised per seed)
on one draw of the generator per p (the same inputs x for every p: only the labels change), and
scored by the RMSE averaged over the two tasks on held-out rows, with a 95 % interval over the
rows and the seeds (``mtl_kit.intervals``; rows are independent here, so each row is its own
cluster). Differences between models, and between two correlations for one model, are paired
on the same rows and seeds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mtl_kit.data import make_mmoe_tasks
from mtl_kit.experiments import check_seeds
from mtl_kit.intervals import Estimate, influence, seed_interval
from mtl_kit.tasks import TaskSpec
from mtl_kit.validation import check_choice, check_int, check_number

#: The two regression tasks.
TASKS = (TaskSpec("y1", "regression"), TaskSpec("y2", "regression"))
#: The models, in the paper's order.
MODELS = ("shared bottom", "OMoE", "MMoE")
#: The paper's correlations.
PAPER_CORRELATIONS = (1.0, 0.9, 0.5, 0.0)


@dataclass(frozen=True)
class Setup:
    """The generator's constants and the models' sizes.

    Attributes:
        c: scale of the task weights (|w_k| = c).
        sine_scale: σ of the sine terms' α_i, β_i (the paper: 0.1).
        n_experts, expert_units: E experts of one Dense+ReLU layer each (OMoE and MMoE).
        bottom: width of the shared bottom's one Dense+ReLU layer.
        tower: width of every task tower's hidden layer (0: none, the output reads the
            bottom or the mixture directly).
        epochs, batch_size: training of every run.
        n_train, n_test: rows to train on and to score on.
        d: input dimension.
        data_seed: the generator's seed (its weights, sine terms and rows).
    """

    c: float = 3.0
    sine_scale: float = 0.3
    n_experts: int = 4
    expert_units: int = 8
    bottom: int = 40
    tower: int = 0
    epochs: int = 30
    batch_size: int = 256
    n_train: int = 8000
    n_test: int = 4000
    d: int = 100
    data_seed: int = 0

    def __post_init__(self) -> None:
        check_number("c", self.c, 0.0, 100.0, low_open=True)
        check_number("sine_scale", self.sine_scale, 0.0, 10.0)
        for name, minimum in (("n_experts", 1), ("expert_units", 1), ("bottom", 1),
                              ("tower", 0), ("epochs", 1), ("batch_size", 1),
                              ("n_train", 2), ("n_test", 2), ("d", 2), ("data_seed", 0)):
            check_int(name, getattr(self, name), minimum=minimum)


#: Capacity-limited: about 4,300 parameters per model (a 40-unit bottom vs 4 experts of 8
#: units, no towers) and bent labels (c = 3, σ = 0.3), 30 epochs.
SMALL = Setup()
#: The paper's sizes and constants: 8 experts of 16 units vs a 113-unit bottom, 8-unit towers
#: (about 13,500-15,000 parameters), c = 1, σ = 0.1, trained 20 epochs.
PAPER = Setup(c=1.0, sine_scale=0.1, n_experts=8, expert_units=16, bottom=113, tower=8,
              epochs=20)


def build_models(setup: Setup = SMALL, seed: int = 0) -> dict[str, Any]:
    """Shared bottom, OMoE and MMoE for ``setup`` (compiled; Adam, learning rate 1e-3)."""
    from mtl_kit.models import build_hard_sharing, build_mmoe

    if not isinstance(setup, Setup):
        raise TypeError(f"setup must be a mtl_kit.mmoe_experiment.Setup, got "
                        f"{type(setup).__name__}")
    tower = (setup.tower,) if setup.tower else ()
    experts = {"n_experts": setup.n_experts, "expert_units": (setup.expert_units,),
               "tower": tower, "seed": seed}
    return {
        "shared bottom": build_hard_sharing(TASKS, setup.d, shared=(setup.bottom,), head=tower,
                                            seed=seed),
        "OMoE": build_mmoe(TASKS, setup.d, one_gate=True, **experts),
        "MMoE": build_mmoe(TASKS, setup.d, **experts),
    }


def parameter_counts(models: Mapping[str, Any]) -> dict[str, int]:
    """Trainable parameters of each model."""
    return {name: int(sum(np.prod(v.shape) for v in model.trainable_variables))
            for name, model in models.items()}


def mean_rmse_influence(y_true: Mapping[str, np.ndarray],
                        prediction: Mapping[str, np.ndarray]) -> tuple[float, np.ndarray]:
    """``(value, ψ)`` of (RMSE_1 + RMSE_2) / 2 and each row's influence on it."""
    parts = [influence("rmse", "regression", y_true[t.name], prediction[t.name]) for t in TASKS]
    return float(np.mean([v for v, _ in parts])), np.mean([psi for _, psi in parts], axis=0)


@dataclass
class MMoEResult:
    """Every model's mean RMSE at every correlation, with the per-row influences behind it.

    Attributes:
        setup: the generator's constants and the models' sizes.
        correlations: the cosines p, in the order run.
        label_correlations: the measured Pearson correlation of y1 and y2 at each p.
        seeds: the seeds (initialisations) of every model.
        parameters: trainable parameters per model.
    """

    setup: Setup
    correlations: tuple[float, ...]
    label_correlations: dict[float, float]
    seeds: tuple[int, ...]
    parameters: dict[str, int]
    influences: dict[tuple[float, str], tuple[np.ndarray, np.ndarray]] = field(repr=False)
    confidence: float = 0.95

    def _key(self, p: float, model: str) -> tuple[float, str]:
        check_choice("model", model, MODELS)
        for known in self.correlations:
            if np.isclose(known, p):
                return known, model
        raise ValueError(f"p must be one of {list(self.correlations)}, got {p!r}")

    def _interval(self, values: np.ndarray, psis: np.ndarray) -> Estimate:
        rows = np.arange(psis.shape[1])
        return seed_interval(values, psis, rows, self.confidence)

    def estimate(self, p: float, model: str) -> Estimate:
        """The model's mean RMSE (over the two tasks) at cosine p, with its interval."""
        return self._interval(*self.influences[self._key(p, model)])

    def difference(self, p: float, model: str, reference: str) -> Estimate:
        """RMSE of ``model`` − RMSE of ``reference`` at p, paired (negative: model better)."""
        values, psis = self.influences[self._key(p, model)]
        ref_values, ref_psis = self.influences[self._key(p, reference)]
        return self._interval(values - ref_values, psis - ref_psis)

    def rise(self, model: str, related: float = 1.0, unrelated: float = 0.0) -> Estimate:
        """How much worse ``model`` does at p = ``unrelated`` than at p = ``related``:
        RMSE(unrelated) − RMSE(related), paired on the rows and seeds."""
        values, psis = self.influences[self._key(unrelated, model)]
        ref_values, ref_psis = self.influences[self._key(related, model)]
        return self._interval(values - ref_values, psis - ref_psis)

    def rise_difference(self, model: str, reference: str, related: float = 1.0,
                        unrelated: float = 0.0) -> Estimate:
        """``rise(model) − rise(reference)``: negative when ``model`` suffers less from the
        tasks drifting apart."""
        parts = [self.influences[self._key(p, m)] for p, m in
                 ((unrelated, model), (related, model), (unrelated, reference),
                  (related, reference))]
        values = parts[0][0] - parts[1][0] - parts[2][0] + parts[3][0]
        psis = parts[0][1] - parts[1][1] - parts[2][1] + parts[3][1]
        return self._interval(values, psis)

    def table(self) -> pd.DataFrame:
        """p, label correlation, model, mean RMSE, low, high."""
        rows = []
        for p in self.correlations:
            for model in MODELS:
                est = self.estimate(p, model)
                rows.append({"p": p, "label correlation": self.label_correlations[p],
                             "model": model, "RMSE": est.mean, "low": est.low,
                             "high": est.high})
        return pd.DataFrame(rows)

    def plot(self, *, title: str | None = None, ax: Any = None) -> Any:
        """Mean RMSE against the label correlation, one line per model, 95 % error bars."""
        import matplotlib.pyplot as plt

        if ax is None:
            figure, ax = plt.subplots(figsize=(7.4, 4.3))
            plt.close(figure)  # shown once, as the cell's result
        else:
            figure = ax.figure
        styles = {"shared bottom": ("#000000", "-", "o"), "OMoE": ("#E69F00", "--", "s"),
                  "MMoE": ("#CC79A7", "-.", "D")}
        table = self.table()
        for i, model in enumerate(MODELS):
            rows = table[table["model"] == model]
            color, line, marker = styles[model]
            x = rows["p"].to_numpy(float) + (i - 1) * 0.012
            ax.errorbar(x, rows["RMSE"], yerr=[rows["RMSE"] - rows["low"],
                                               rows["high"] - rows["RMSE"]],
                        color=color, linestyle=line, marker=marker, capsize=4, lw=1.8,
                        markersize=7, label=f"{model} ({self.parameters[model]:,} parameters)")
        ax.set_xlabel("cosine p of the task weights (1: same task, 0: unrelated)")
        ax.set_ylabel("held-out RMSE, mean of the two tasks")
        ax.set_xticks(list(self.correlations))
        ax.invert_xaxis()
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=9)
        ax.set_title(title or f"MMoE paper's synthetic tasks, {len(self.seeds)} seeds "
                     f"(95 % intervals)", fontsize=10.5)
        figure.tight_layout()
        return figure


def run_mmoe_experiment(correlations: Sequence[float] = PAPER_CORRELATIONS,
                        setup: Setup = SMALL, *, seeds: Any = 5,
                        models: Mapping[str, Any] | None = None,
                        confidence: float = 0.95) -> MMoEResult:
    """Train shared bottom, OMoE and MMoE at every cosine p over the seeds (module doc).

    Args:
        correlations: the cosines p in [-1, 1], e.g. ``(1.0, 0.5, 0.0)``.
        setup: the generator's constants and the models' sizes (``SMALL`` or ``PAPER``).
        seeds: K (seeds 0 … K-1) or a list of seeds: the models' initialisations.
        models: ready models from ``build_models(setup)`` (reused: no rebuild, no recompile).
        confidence: the intervals' level.
    """
    from mtl_kit.seed_runs import fit_seeds

    if not isinstance(setup, Setup):
        raise TypeError(f"setup must be a mtl_kit.mmoe_experiment.Setup, got "
                        f"{type(setup).__name__}")
    if isinstance(correlations, (str, bytes)) or not isinstance(correlations, Sequence) \
            or not correlations:
        raise TypeError(f"correlations must be a non-empty list of cosines in [-1, 1], got "
                        f"{correlations!r}")
    correlations = tuple(check_number("correlations", p, -1.0, 1.0) for p in correlations)
    seeds = check_seeds(seeds)
    if models is None:
        models = build_models(setup, seed=seeds[0])
    elif set(models) != set(MODELS):
        raise ValueError(f"models must have the keys {MODELS} (build_models(setup)), got "
                         f"{sorted(models)}")
    n = setup.n_train + setup.n_test
    influences, label_correlations = {}, {}
    for p in correlations:
        data = make_mmoe_tasks(n=n, d=setup.d, p=p, c=setup.c, seed=setup.data_seed,
                               sine_scale=setup.sine_scale)
        label_correlations[p] = float(np.corrcoef(data.y1[:setup.n_train],
                                                  data.y2[:setup.n_train])[0, 1])
        train, test = slice(0, setup.n_train), slice(setup.n_train, n)
        y = {"y1": data.y1, "y2": data.y2}
        y_train = {k: v[train] for k, v in y.items()}
        y_test = {k: v[test] for k, v in y.items()}
        for name in MODELS:
            runs = fit_seeds(models[name], seeds, data.x[train], y_train, epochs=setup.epochs,
                             batch_size=setup.batch_size)
            predictions = runs.predict(data.x[test])
            pairs = [mean_rmse_influence(y_test, predictions[s]) for s in seeds]
            influences[p, name] = (np.array([v for v, _ in pairs]),
                                   np.stack([psi for _, psi in pairs]))
    return MMoEResult(setup, correlations, label_correlations, seeds,
                      parameter_counts(models), influences, confidence)


__all__ = [
    "MODELS",
    "PAPER",
    "PAPER_CORRELATIONS",
    "SMALL",
    "TASKS",
    "MMoEResult",
    "Setup",
    "build_models",
    "mean_rmse_influence",
    "parameter_counts",
    "run_mmoe_experiment",
]
