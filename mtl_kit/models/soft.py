"""Soft parameter sharing: one tower per task, pulled together by a penalty.

    L = Σ_t λ_t L_t(θ_t) + β Σ_{i<j} d(θ_i, θ_j)

θ_t is task t's tower: its own input encoder (embedding tables) and its Dense layers; the
penalty compares *corresponding* parameters of every pair of towers (each pair once):

    d(θ_i, θ_j) = Σ_l ‖θ_i^l − θ_j^l‖²   (distance="l2", squared Euclidean, the default)
    d(θ_i, θ_j) = Σ_l |θ_i^l − θ_j^l|₁   (distance="l1")

over the embedding tables and the kernels *and biases* of the tower layers. Biases are
included so that β → ∞ ties the towers completely, which is exactly hard sharing (a shared
bottom); the task heads (their own small layers and output units) stay free, as in hard
sharing. β = 0 trains the towers independently: nothing connects task i's tower to task j's
loss (this is also why each tower has its own embeddings here, unlike the other models).

With Adam, very large β (>= 1 on the shop data) makes the loss stiff: the penalty's gradient
dominates Adam's per-parameter step normalisation, the towers stay tied but the task losses
fall slowly, so after a few epochs the model is *further* from a trained hard-sharing model
than at β ≈ 0.01–0.1. Sliders over β are best kept to about 0 … 0.1.

All towers start from the same initial weights (the same seeds as ``build_hard_sharing``'s
bottom), so the tower distance starts at 0 and measures how far the tasks pull the towers
apart. β lives in a non-trainable variable: ``set_beta`` needs no rebuild or recompile.
"""

from __future__ import annotations

import keras
from keras import ops

from mtl_kit.models.base import MultiTaskNet, trainable_of
from mtl_kit.models.hard import BOTTOM_SEED, head_seed
from mtl_kit.models.layers import apply_stack, dense_stack, output_layer
from mtl_kit.validation import check_number, check_units

DISTANCES = ("l2", "l1")


def _check_distance(distance) -> str:
    if distance not in DISTANCES:
        raise ValueError(f"distance must be one of {DISTANCES} (squared L2 or L1), "
                         f"got {distance!r}")
    return distance


@keras.saving.register_keras_serializable(package="mtl_kit")
class SoftSharingNet(MultiTaskNet):
    """Soft sharing: ŷ_t = g_t(f_t(h_t(x))); L = Σ_t λ_t L_t + β Σ_{i<j} d(θ_i, θ_j).

    Args:
        tower: widths of each task's Dense+ReLU tower layers (compared by the penalty).
        head: widths of each task's free head layers before its output.
        beta: β >= 0, the strength of the penalty.
        distance: "l2" (squared Euclidean, default) or "l1".
    """

    def __init__(self, tasks, features, tower=(64, 32), head=(16,), beta: float = 1e-3,
                 distance: str = "l2", **kwargs):
        tower = check_units("tower", tower)
        head = check_units("head", head)
        beta = check_number("beta", beta, minimum=0)
        distance = _check_distance(distance)
        super().__init__(tasks, features, **kwargs)
        self.tower_units, self.head_units, self.distance = tower, head, distance
        self.beta_variable = self.add_weight(
            name="beta", shape=(), initializer=keras.initializers.Constant(beta),
            trainable=False)
        self.tower_encoders = [self.make_encoder(name=f"{t.name}_encoder") for t in self.tasks]
        self.towers = [dense_stack(tower, self.seed + BOTTOM_SEED, f"{t.name}_tower")
                       for t in self.tasks]
        self.heads = [dense_stack(head, head_seed(self.seed, i), f"{t.name}_head")
                      for i, t in enumerate(self.tasks)]
        self.outputs_ = [output_layer(t, head_seed(self.seed, i) + 9)
                         for i, t in enumerate(self.tasks)]
        self.penalty_tracker = keras.metrics.Mean(name="penalty")
        self.distance_tracker = keras.metrics.Mean(name="tower_distance")
        self._finish_init()

    @property
    def encoders(self):
        return list(self.tower_encoders)

    @property
    def encoder(self):
        return self.tower_encoders[0]

    def parameter_readers(self) -> list:
        """Nothing is shared: task t alone reads its encoder, tower, head and output (the
        penalty couples the towers, but no task's loss L_t reads another task's tower; β is a
        control, not a parameter)."""
        return [(trainable_of(encoder, tower, head, out), (t.name,))
                for t, encoder, tower, head, out in zip(self.tasks, self.tower_encoders,
                                                        self.towers, self.heads, self.outputs_,
                                                        strict=True)]

    def call(self, inputs, training=False):
        outputs = {}
        for task, encoder, tower, head, out in zip(self.tasks, self.tower_encoders, self.towers,
                                                   self.heads, self.outputs_, strict=True):
            outputs[task.name] = out(apply_stack(head, apply_stack(tower, encoder(inputs))))
        return outputs

    # -- the penalty -----------------------------------------------------------------------
    def tower_parameters(self, index: int) -> list:
        """Task ``index``'s compared parameters: embeddings, then each tower layer's W and b."""
        encoder = self.tower_encoders[index]
        params = [] if encoder.embedding is None else [encoder.embedding.embeddings]
        for layer in self.towers[index]:
            params += [layer.kernel, layer.bias]
        return params

    def _d(self, a, b):
        diff = a - b
        return ops.sum(ops.square(diff)) if self.distance == "l2" else ops.sum(ops.abs(diff))

    def tower_distance(self):
        """Σ_{i<j} d(θ_i, θ_j) (a scalar tensor)."""
        total = ops.zeros(())
        params = [self.tower_parameters(i) for i in range(len(self.tasks))]
        for i in range(len(params)):
            for j in range(i + 1, len(params)):
                for a, b in zip(params[i], params[j], strict=True):
                    total = total + self._d(a, b)
        return total

    def sharing_penalty(self):
        distance = self.tower_distance()
        penalty = self.beta_variable * distance
        self.distance_tracker.update_state(distance)
        self.penalty_tracker.update_state(penalty)
        return penalty

    def _extra_trackers(self) -> list:
        return [self.penalty_tracker, self.distance_tracker]

    # -- β -----------------------------------------------------------------------------------
    @property
    def beta(self) -> float:
        return float(ops.convert_to_numpy(self.beta_variable.value))

    def set_beta(self, beta: float) -> None:
        """Set β >= 0 (no rebuild, no recompile)."""
        self.beta_variable.assign(check_number("beta", beta, minimum=0))

    @property
    def control_variables(self) -> list:
        return [*super().control_variables, self.beta_variable]

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(tower=list(self.tower_units), head=list(self.head_units), beta=self.beta,
                      distance=self.distance)
        return config


def build_soft_sharing(tasks, features, tower=(64, 32), head=(16,), beta: float = 1e-3,
                       distance: str = "l2", loss_weights=None, seed: int = 0,
                       learning_rate: float = 1e-3, embedding_dim: int = 8,
                       weighting=None, **compile_kwargs) -> SoftSharingNet:
    """A compiled soft-sharing model (Adam); β and λ can change later without recompiling."""
    check_number("beta", beta, minimum=0)
    _check_distance(distance)
    keras.utils.set_random_seed(seed)
    model = SoftSharingNet(tasks, features, tower=tower, head=head, beta=beta,
                           distance=distance, loss_weights=loss_weights, weighting=weighting,
                           embedding_dim=embedding_dim, seed=seed)
    model.compile(learning_rate=learning_rate, **compile_kwargs)
    return model
