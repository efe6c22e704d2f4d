"""Hard parameter sharing: one shared bottom, one head per task.

    z = f_shared(h(x)),   ŷ_t = g_t(z),   L(θ) = Σ_t λ_t L_t(θ_shared, θ_t)

h is the input encoder (embeddings + normalisation), f_shared a stack of Dense+ReLU layers all
tasks read, g_t a small task-specific head ending in the task's output unit(s).

``MultiTaskModel`` is the minimal version from the course's seed text, kept exactly usable as
written there.
"""

from __future__ import annotations

import keras
from keras import layers

from mtl_kit.models.base import MultiTaskNet, trainable_of
from mtl_kit.models.layers import apply_stack, dense_stack, output_layer
from mtl_kit.validation import check_int, check_units

# Seed offsets: the soft-sharing towers use the same ones, so with the same seed a soft-sharing
# model starts with every tower equal to the hard-sharing bottom (and the same heads).
BOTTOM_SEED = 100
HEAD_SEED = 200


def head_seed(seed: int, task_index: int) -> int:
    return seed + HEAD_SEED + 10 * task_index


@keras.saving.register_keras_serializable(package="mtl_kit")
class HardSharingNet(MultiTaskNet):
    """Hard sharing: z = f_shared(h(x)); ŷ_t = g_t(z); L = Σ_t λ_t L_t.

    Args:
        shared: widths of the shared Dense+ReLU layers (the bottom).
        head: widths of each task's own Dense+ReLU layers before its output.
        (other arguments: see ``MultiTaskNet``)
    """

    def __init__(self, tasks, features, shared=(64, 32), head=(16,), **kwargs):
        shared = check_units("shared", shared)
        head = check_units("head", head)
        super().__init__(tasks, features, **kwargs)
        self.shared_units, self.head_units = shared, head
        self.encoder = self.make_encoder()
        self.bottom = dense_stack(shared, self.seed + BOTTOM_SEED, "shared")
        self.heads = [
            dense_stack(head, head_seed(self.seed, i), f"{t.name}_head")
            for i, t in enumerate(self.tasks)
        ]
        self.outputs_ = [
            output_layer(t, head_seed(self.seed, i) + 9) for i, t in enumerate(self.tasks)
        ]
        self._finish_init()

    def call(self, inputs, training=False):
        z = apply_stack(self.bottom, self.encoder(inputs))
        return {
            t.name: out(apply_stack(head, z))
            for t, head, out in zip(self.tasks, self.heads, self.outputs_, strict=True)
        }

    def parameter_readers(self) -> list:
        """Every task reads the encoder h and the bottom f_shared; g_t only task t."""
        everyone = tuple(self.task_names)
        return [(trainable_of(self.encoder, self.bottom), everyone)] + [
            (trainable_of(head, out), (t.name,))
            for t, head, out in zip(self.tasks, self.heads, self.outputs_, strict=True)]

    @property
    def last_shared_variables(self) -> list:
        """The last bottom layer (the encoder if the bottom is empty)."""
        return self._only_shared(trainable_of(self.bottom[-1] if self.bottom else self.encoder))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(shared=list(self.shared_units), head=list(self.head_units))
        return config


@keras.saving.register_keras_serializable(package="mtl_kit")
class MultiTaskModel(keras.Model):
    """The seed's minimal hard-sharing model, for a plain float matrix input:

        z = ReLU(W x + b)  (Dense(128), shared),   ŷ_t = w_t·z + b_t  (one Dense(1) per task)

    Used exactly like the seed text does::

        model = MultiTaskModel(num_tasks=2)
        model.compile(loss='mse', optimizer='adam', metrics=['mae'])
        model.fit(x, [y1, y2])

    Keras 3 needs one metrics list *per output* for a model with several outputs
    (``metrics=[['mae'], ['mae']]``); a single flat list such as ``['mae']`` raises there, so
    ``compile`` repeats it for every task. A single ``loss='mse'`` is applied to every output by
    Keras itself. With a plain list of outputs Keras 3.15 names the History keys ``loss``,
    ``mse_loss``, ``mae`` and ``mae_1`` (no per-task loss names); ``HardSharingNet`` logs
    ``<task>_loss`` for every task.
    """

    def __init__(self, num_tasks: int, units: int = 128, **kwargs):
        check_int("num_tasks", num_tasks, minimum=1)
        check_int("units", units, minimum=1)
        super().__init__(**kwargs)
        self.num_tasks = int(num_tasks)
        self.units = int(units)
        self.shared = layers.Dense(self.units, activation="relu", name="shared")
        self.task_heads = [layers.Dense(1, name=f"task_{i}") for i in range(self.num_tasks)]

    def call(self, x):
        z = self.shared(x)
        return [head(z) for head in self.task_heads]

    def compile(self, *args, metrics=None, **kwargs):
        if (self.num_tasks > 1 and isinstance(metrics, (list, tuple)) and metrics
                and not any(isinstance(m, (list, tuple, dict)) for m in metrics)):
            metrics = [list(metrics) for _ in range(self.num_tasks)]
        return super().compile(*args, metrics=metrics, **kwargs)

    def compile_from_config(self, config) -> None:
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable, "num_tasks": self.num_tasks,
                "units": self.units}


def build_hard_sharing(tasks, features, shared=(64, 32), head=(16,), loss_weights=None,
                       seed: int = 0, learning_rate: float = 1e-3, embedding_dim: int = 8,
                       weighting=None, **compile_kwargs) -> HardSharingNet:
    """A compiled hard-sharing model (Adam); same seed, same initial weights and run."""
    keras.utils.set_random_seed(seed)
    model = HardSharingNet(tasks, features, shared=shared, head=head, loss_weights=loss_weights,
                           weighting=weighting, embedding_dim=embedding_dim, seed=seed)
    model.compile(learning_rate=learning_rate, **compile_kwargs)
    return model
