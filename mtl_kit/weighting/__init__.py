"""How task losses are balanced: the second, independent half of a multi-task model.

The architecture (``mtl_kit.models``) decides *how parameters are shared*; a weighting strategy
decides *how the tasks pull on them*. Any architecture combines with any strategy::

    build_hard_sharing(tasks, features, weighting="pcgrad")
    build_mmoe(tasks, features, weighting=CAGrad(task_names, c=0.4))

========================  ====================================================  ===============
strategy (name)           what it does                                          needs
========================  ====================================================  ===============
``"fixed"``               L = Σ λ_t L_t with λ set by hand (lessons 03-05)       losses
``"uncertainty"``         learns w_t = c_t/σ_t² per task (Kendall et al. 2018)    losses
``"dwa"``                 w_t from how fast each loss fell (Liu et al. 2019)      losses per epoch
``"gradnorm"``            learns w_t that equalise training rates (Chen 2018)    task gradients
``"pcgrad"``              projects conflicting gradients apart (Yu et al. 2020)   task gradients
``"mgda"``                min-norm point of the gradients' hull (Sener 2018)      task gradients
``"cagrad"``              average step bent toward the worst task (Liu 2021)      task gradients
========================  ====================================================  ===============

Loss-level strategies cost nothing extra; gradient-level ones take one backward pass per task
(``mtl_kit.task_gradients``) and run on JAX, TensorFlow and PyTorch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mtl_kit.validation import check_choice
from mtl_kit.weighting.base import GradientWeighting, TaskGradients, Weighting, gram_of
from mtl_kit.weighting.cagrad import CAGrad, cagrad_direction, cagrad_weights
from mtl_kit.weighting.dwa import DynamicWeightAverage, dwa_weights
from mtl_kit.weighting.fixed import FixedWeights
from mtl_kit.weighting.gradnorm import GradNorm
from mtl_kit.weighting.mgda import MGDA, mgda_direction, min_norm_weights
from mtl_kit.weighting.pcgrad import PCGrad, pcgrad_coefficients, pcgrad_direction
from mtl_kit.weighting.uncertainty import UncertaintyWeighting

#: Every strategy by its short name (``weighting="…"`` in the model builders).
STRATEGIES: dict[str, type[Weighting]] = {
    "fixed": FixedWeights,
    "uncertainty": UncertaintyWeighting,
    "dwa": DynamicWeightAverage,
    "gradnorm": GradNorm,
    "pcgrad": PCGrad,
    "mgda": MGDA,
    "cagrad": CAGrad,
}

#: Each strategy's hyperparameters and the papers' defaults.
DEFAULTS: dict[str, dict[str, float]] = {
    "fixed": {},
    "uncertainty": {},
    "dwa": {"temperature": 2.0},
    "gradnorm": {"alpha": 1.5},
    "pcgrad": {},
    "mgda": {},
    "cagrad": {"c": 0.4},
}


def make_weighting(name: str, task_names: Sequence[str], task_kinds: Sequence[str] | None = None,
                   **hyperparameters: Any) -> Weighting:
    """A strategy by name, e.g. ``make_weighting("cagrad", ["click", "purchase"], c=0.2)``.

    ``task_kinds`` (one per task) matters for uncertainty weighting only.
    """
    check_choice("weighting", name, tuple(STRATEGIES))
    # besides the hyperparameters: fixed's λ and the solvers' iteration counts
    extra = {"fixed": {"weights"}, "mgda": {"iterations"}, "cagrad": {"iterations"}}
    unknown = sorted(set(hyperparameters) - set(DEFAULTS[name]) - extra.get(name, set()))
    if unknown:
        raise ValueError(f"weighting {name!r} has no hyperparameter(s) {unknown}; "
                         f"it takes {sorted(DEFAULTS[name]) or 'none'}")
    if name == "uncertainty":
        hyperparameters["task_kinds"] = task_kinds
    return STRATEGIES[name](list(task_names), name="weighting", **hyperparameters)


__all__ = [
    "DEFAULTS",
    "MGDA",
    "STRATEGIES",
    "CAGrad",
    "DynamicWeightAverage",
    "FixedWeights",
    "GradNorm",
    "GradientWeighting",
    "PCGrad",
    "TaskGradients",
    "UncertaintyWeighting",
    "Weighting",
    "cagrad_direction",
    "cagrad_weights",
    "dwa_weights",
    "gram_of",
    "make_weighting",
    "mgda_direction",
    "min_norm_weights",
    "pcgrad_coefficients",
    "pcgrad_direction",
]
