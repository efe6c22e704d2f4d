"""Single-task model: one network for one task, the baseline every MTL model is compared to.

    ŷ = g(f(h(x))),   L(θ) = L_t(θ)

(h the input encoder, f a stack of Dense+ReLU layers, g the task's output unit(s)); rows whose
label is missing are masked out of L_t.
"""

from __future__ import annotations

import keras

from mtl_kit.models.base import MultiTaskNet, trainable_of
from mtl_kit.models.hard import BOTTOM_SEED, head_seed
from mtl_kit.models.layers import apply_stack, dense_stack, output_layer
from mtl_kit.tasks import as_task
from mtl_kit.validation import check_units


@keras.saving.register_keras_serializable(package="mtl_kit")
class SingleTaskNet(MultiTaskNet):
    """One task: ŷ = g(f(h(x))), trained on that task's masked loss L_t.

    Args:
        task: the TaskSpec (or a shop task name).
        hidden: widths of the Dense+ReLU layers.
    """

    def __init__(self, tasks, features, hidden=(64, 32), **kwargs):
        if not isinstance(tasks, (list, tuple)):
            tasks = [tasks]
        if len(tasks) != 1:
            raise ValueError(f"a single-task model takes exactly one task, got {len(tasks)}")
        hidden = check_units("hidden", hidden)
        super().__init__([as_task(tasks[0])], features, **kwargs)
        self.hidden_units = hidden
        self.encoder = self.make_encoder()
        self.hidden = dense_stack(hidden, self.seed + BOTTOM_SEED, "hidden")
        self.output_ = output_layer(self.tasks[0], head_seed(self.seed, 0) + 9)
        self._finish_init()

    @property
    def task(self):
        return self.tasks[0]

    def call(self, inputs, training=False):
        return {self.task.name: self.output_(apply_stack(self.hidden, self.encoder(inputs)))}

    def parameter_readers(self) -> list:
        """The one task reads everything; nothing is shared."""
        return [(trainable_of(self.encoder, self.hidden, self.output_), (self.task.name,))]

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(hidden=list(self.hidden_units))
        return config


def build_single_task(task, features, hidden=(64, 32), seed: int = 0,
                      learning_rate: float = 1e-3, embedding_dim: int = 8,
                      **compile_kwargs) -> SingleTaskNet:
    """A compiled single-task model (Adam)."""
    keras.utils.set_random_seed(seed)
    model = SingleTaskNet([as_task(task)], features, hidden=hidden, seed=seed,
                          embedding_dim=embedding_dim)
    model.compile(learning_rate=learning_rate, **compile_kwargs)
    return model
