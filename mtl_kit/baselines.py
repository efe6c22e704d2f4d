"""Single-task baselines: one model per task, the B_t of Δm (``mtl_kit.metrics``).

    Δm = 100 · (1/T) Σ_t s_t (M_t − B_t) / B_t

compares a multi-task model's metric M_t with B_t, what a model trained on task t alone reaches
on the same data (s_t = +1 when higher is better, −1 otherwise). This module sits above
``mtl_kit.models``.
"""

from __future__ import annotations

from collections.abc import Sequence

from mtl_kit.models import MultiTaskNet, build_single_task
from mtl_kit.tasks import as_tasks
from mtl_kit.validation import check_int


def train_single_task_baselines(tasks, features, x, y, *, validation_data=None,
                                epochs: int = 5, batch_size: int = 256,
                                hidden: Sequence[int] = (64, 32), seed: int = 0,
                                **build_kwargs) -> dict[str, MultiTaskNet]:
    """Train one single-task model per task; returns ``{task_name: model}``.

    Each baseline sees only its own task's labels (rows without a label are masked out of
    its loss), so B_t in Δm is what one model per task achieves on the same data.
    """
    specs = as_tasks(tasks)
    check_int("epochs", epochs, minimum=1)
    check_int("batch_size", batch_size, minimum=1)
    models = {}
    for task in specs:
        model = build_single_task(task, features, hidden=hidden, seed=seed, **build_kwargs)
        model.fit(x, y, validation_data=validation_data, epochs=epochs, batch_size=batch_size)
        models[task.name] = model
    return models


__all__ = ["train_single_task_baselines"]
