"""What a task is: its name, its kind, its loss with missing labels masked out, its metrics.

Models and metrics read these specs, so adding a task to the course is one line in
``SHOP_TASKS`` (or one ``TaskSpec(...)`` passed to a builder).

A task's loss on a batch averages only over the rows whose label is observed:

    L_t = Σ_n m_n ℓ_t(y_n, ŷ_n) / max(1, Σ_n m_n),   m_n = 1 if y_n is not NaN else 0

and is 0 when no row of the batch has a label. The NaN labels are replaced by 0 *before*
ℓ_t is evaluated, so no NaN ever reaches a gradient.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

KINDS = ("binary", "multiclass", "regression")

#: Metrics reported by ``mtl_kit.metrics`` for each kind; the first is the task's primary one.
KIND_METRICS = {
    "binary": ("auc", "accuracy", "f1", "recall"),
    "multiclass": ("auc", "accuracy", "f1", "recall"),
    "regression": ("rmse", "mae"),
}
#: Whether a larger value of a metric is better (s_t = +1) or worse (s_t = -1) in Δm.
HIGHER_IS_BETTER = {
    "auc": True,
    "accuracy": True,
    "f1": True,
    "recall": True,
    "mae": False,
    "rmse": False,
    "loss": False,
}

_EPSILON = 1e-7


@dataclass(frozen=True)
class TaskSpec:
    """One prediction task.

    Attributes:
        name: the label's name in ``y`` (e.g. ``"click"``).
        kind: ``"binary"`` (sigmoid output, binary cross-entropy), ``"multiclass"`` (softmax over
            ``n_classes``, sparse categorical cross-entropy, labels are class ids 0..k-1) or
            ``"regression"`` (linear output, mean squared error).
        n_classes: number of classes, only for ``"multiclass"`` (at least 2).
    """

    name: str
    kind: str
    n_classes: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"TaskSpec name must be a non-empty string, got {self.name!r}")
        if self.kind not in KINDS:
            raise ValueError(f"TaskSpec kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "multiclass":
            if not isinstance(self.n_classes, int) or self.n_classes < 2:
                raise ValueError(
                    f"TaskSpec n_classes must be an int >= 2 for a multiclass task, "
                    f"got {self.n_classes!r}"
                )
        elif self.n_classes is not None:
            raise ValueError(f"TaskSpec n_classes is only for multiclass tasks, got {self.kind!r}")

    # -- what the model's output layer looks like -------------------------------------------
    @property
    def output_units(self) -> int:
        """Width of the task's output layer: 1, or ``n_classes`` for multiclass."""
        return self.n_classes if self.kind == "multiclass" else 1

    @property
    def output_activation(self) -> str:
        """``sigmoid`` (binary), ``softmax`` (multiclass) or ``linear`` (regression)."""
        return {"binary": "sigmoid", "multiclass": "softmax", "regression": "linear"}[self.kind]

    @property
    def loss_name(self) -> str:
        """The loss ℓ_t: binary_crossentropy, sparse_categorical_crossentropy or mse."""
        return {
            "binary": "binary_crossentropy",
            "multiclass": "sparse_categorical_crossentropy",
            "regression": "mse",
        }[self.kind]

    @property
    def metrics(self) -> tuple[str, ...]:
        """Default metrics (``mtl_kit.metrics``), the primary metric first."""
        return KIND_METRICS[self.kind]

    @property
    def primary_metric(self) -> str:
        """AUC for classification, RMSE for regression."""
        return self.metrics[0]

    # -- the loss --------------------------------------------------------------------------
    def per_example_loss(self, y_true, y_pred):
        """ℓ_t(y, ŷ) for every row, shape (n,); ``y_true`` must not contain NaN.

        binary:      -[y log p + (1 - y) log(1 - p)]
        multiclass:  -log p_y
        regression:  (y - ŷ)²
        """
        from keras import ops

        if self.kind == "binary":
            p = ops.clip(ops.reshape(y_pred, (-1,)), _EPSILON, 1.0 - _EPSILON)
            return -(y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p))
        if self.kind == "multiclass":
            p = ops.clip(y_pred, _EPSILON, 1.0)
            onehot = ops.one_hot(ops.cast(y_true, "int32"), self.output_units)
            return -ops.sum(onehot * ops.log(p), axis=-1)
        return ops.square(y_true - ops.reshape(y_pred, (-1,)))

    def masked_loss(self, y_true, y_pred):
        """The task's loss over observed labels: returns ``(L_t, n_observed)``.

        L_t = Σ m_n ℓ_t(y_n, ŷ_n) / max(1, Σ m_n) with m_n = [y_n is not NaN];
        NaN labels are replaced by 0 before ℓ_t so their gradient is exactly zero.
        """
        from keras import ops

        y_true = ops.cast(ops.reshape(y_true, (-1,)), "float32")
        observed = ops.logical_not(ops.isnan(y_true))
        y_safe = ops.where(observed, y_true, ops.zeros_like(y_true))
        mask = ops.cast(observed, "float32")
        n_observed = ops.sum(mask)
        losses = self.per_example_loss(y_safe, y_pred)
        return ops.sum(losses * mask) / ops.maximum(n_observed, 1.0), n_observed

    # -- (de)serialisation -------------------------------------------------------------------
    def to_config(self) -> dict:
        return {"name": self.name, "kind": self.kind, "n_classes": self.n_classes}

    @classmethod
    def from_config(cls, config: Mapping) -> TaskSpec:
        return cls(config["name"], config["kind"], config.get("n_classes"))


#: The shop's tasks (see ``mtl_kit.data``). Adding a task is one line here.
SHOP_TASKS: dict[str, TaskSpec] = {
    "click": TaskSpec("click", "binary"),
    "purchase": TaskSpec("purchase", "binary"),
    "intent": TaskSpec("intent", "multiclass", n_classes=3),
    "dwell": TaskSpec("dwell", "regression"),
}


def shop_tasks(names: Sequence[str] | str = ("click", "purchase")) -> list[TaskSpec]:
    """The shop's task specs in the order given, e.g. ``shop_tasks(("click", "dwell"))``."""
    if isinstance(names, str):
        names = (names,)
    names = list(names)
    if not names:
        raise ValueError(f"names must list at least one task out of {tuple(SHOP_TASKS)}")
    unknown = [n for n in names if n not in SHOP_TASKS]
    if unknown:
        raise ValueError(f"unknown task(s) {unknown} in names; known tasks: {tuple(SHOP_TASKS)}")
    if len(set(names)) != len(names):
        raise ValueError(f"names lists a task twice: {names}")
    return [SHOP_TASKS[n] for n in names]


def as_task(task: TaskSpec | str | Mapping) -> TaskSpec:
    """A TaskSpec from a spec, a shop task name, or a config dict."""
    if isinstance(task, TaskSpec):
        return task
    if isinstance(task, str):
        if task not in SHOP_TASKS:
            raise ValueError(
                f"unknown task {task!r}; known shop tasks: {tuple(SHOP_TASKS)} "
                f"(or pass a TaskSpec)"
            )
        return SHOP_TASKS[task]
    if isinstance(task, Mapping):
        return TaskSpec.from_config(task)
    raise TypeError(f"task must be a TaskSpec, a task name or a dict, got {type(task).__name__}")


def as_tasks(tasks: Iterable[TaskSpec | str | Mapping] | TaskSpec | str) -> list[TaskSpec]:
    """A non-empty list of TaskSpecs with distinct names (raises ValueError otherwise)."""
    if isinstance(tasks, (TaskSpec, str, Mapping)):
        tasks = [tasks]
    if tasks is None:
        raise ValueError("tasks must list at least one task, got None")
    specs = [as_task(t) for t in tasks]
    if not specs:
        raise ValueError(f"tasks must list at least one task, e.g. {tuple(SHOP_TASKS)}, got []")
    names = [t.name for t in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"tasks lists a task name twice: {names}")
    return specs


__all__ = [
    "HIGHER_IS_BETTER",
    "KINDS",
    "KIND_METRICS",
    "SHOP_TASKS",
    "TaskSpec",
    "as_task",
    "as_tasks",
    "shop_tasks",
]
