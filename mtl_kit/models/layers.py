"""Building blocks shared by the architectures: the input encoder and dense stacks.

Every model starts with a :class:`FeatureEncoder`:

    h = [E_1[x_1], …, E_C[x_C], (x_num - μ) / σ]

one embedding table E_c per categorical feature (ids 0 … vocab-1) and a Keras
``Normalization`` of the numeric matrix, concatenated. When ``features`` is an int d the
input is a plain float matrix (n, d) and h = (x - μ) / σ. The normalisation statistics μ, σ
are adapted on the training data at the first ``fit`` (no TensorFlow needed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras
import numpy as np
from keras import layers, ops

# The input keys are defined with the input checks (kept importable from here too).
from mtl_kit.inputs import IDS_KEY, NUMERIC_KEY


def as_feature_config(features) -> dict | int:
    """A plain description of the inputs: ``{"categorical": {name: vocab}, "numeric": [names]}``
    from a data ``FeatureSpec`` (or such a dict), or an int d for a plain float matrix input."""
    if isinstance(features, (bool, np.bool_)):
        raise TypeError("features must be a FeatureSpec, a dict or an int d >= 1, got a bool")
    if isinstance(features, (int, np.integer)):
        if features < 1:
            raise ValueError(f"features as an int is the input width d and must be >= 1, "
                             f"got {features}")
        return int(features)
    if isinstance(features, Mapping):
        categorical = features.get("categorical", {})
        numeric = features.get("numeric", [])
    elif hasattr(features, "categorical") and hasattr(features, "numeric"):
        categorical, numeric = features.categorical, features.numeric
    else:
        raise TypeError(
            "features must be a FeatureSpec (from mtl_kit.data), a dict with 'categorical' and "
            f"'numeric', or an int d, got {type(features).__name__}"
        )
    categorical = {str(k): int(v) for k, v in dict(categorical).items()}
    numeric = [str(n) for n in numeric]
    bad = {k: v for k, v in categorical.items() if v < 1}
    if bad:
        raise ValueError(f"features.categorical vocabulary sizes must be >= 1, got {bad}")
    if NUMERIC_KEY in categorical or IDS_KEY in categorical:
        raise ValueError(f"a categorical feature may not be called {NUMERIC_KEY!r} "
                         f"or {IDS_KEY!r}")
    if not categorical and not numeric:
        raise ValueError("features must have at least one categorical or numeric feature")
    return {"categorical": categorical, "numeric": numeric}


def dense_stack(units: Sequence[int], seed: int, name: str,
                activation: str = "relu") -> list[layers.Dense]:
    """Dense layers of the given widths, Glorot-initialised with seeds seed, seed+1, …"""
    return [
        layers.Dense(
            u,
            activation=activation,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed + k),
            name=f"{name}_{k}",
        )
        for k, u in enumerate(units)
    ]


def output_layer(task, seed: int, name: str | None = None) -> layers.Dense:
    """The task's output: 1 sigmoid unit (binary), k softmax units, or 1 linear unit."""
    return layers.Dense(
        task.output_units,
        activation=task.output_activation,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        name=name or f"{task.name}_output",
    )


def apply_stack(stack: Sequence[layers.Layer], h):
    for layer in stack:
        h = layer(h)
    return h


@keras.saving.register_keras_serializable(package="mtl_kit")
class FeatureEncoder(layers.Layer):
    """h = concat(E_c[x_c] for each categorical c, Normalization(x_numeric)).

    All embedding tables E_c live in one Keras ``Embedding`` of Σ_c vocab_c rows: feature c
    owns rows offset_c … offset_c + vocab_c − 1 and its id i is looked up at row offset_c + i.
    That is exactly one table per feature, but a single lookup per batch (twelve small lookups
    and their gradient updates cost about as much as the rest of a small model's step).
    ``embedding_table(feature)`` returns one feature's rows.

    Args:
        features: ``{"categorical": {name: vocab}, "numeric": [names]}`` or an int d.
        embedding_dim: width of every embedding (the same for all categoricals).
        seed: seed of the embedding initialiser.
    """

    def __init__(self, features, embedding_dim: int = 8, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.features = as_feature_config(features)
        self.embedding_dim = int(embedding_dim)
        self.seed = int(seed)
        self.plain = isinstance(self.features, int)
        vocabularies = [] if self.plain else list(self.features["categorical"].values())
        self.categorical_names = [] if self.plain else list(self.features["categorical"])
        self.offsets = np.concatenate([[0], np.cumsum(vocabularies)[:-1]]).astype("int32") \
            if vocabularies else np.zeros((0,), "int32")
        self.embedding = None
        if vocabularies:
            self.embedding = layers.Embedding(
                int(sum(vocabularies)),
                self.embedding_dim,
                embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05,
                                                                        seed=self.seed),
                name="embeddings",
            )
        self.n_numeric = self.features if self.plain else len(self.features["numeric"])
        self.normalizer = layers.Normalization(name="normalize_numeric") if self.n_numeric else None
        self.adapted = self.add_weight(name="adapted", shape=(), initializer="zeros",
                                       trainable=False)

    def embedding_table(self, feature: str):
        """E_c: the rows of ``feature``'s embeddings (vocab_c, embedding_dim)."""
        c = self.categorical_names.index(feature)
        start = int(self.offsets[c])
        stop = start + self.features["categorical"][feature]
        return self.embedding.embeddings[start:stop]

    @property
    def output_dim(self) -> int:
        return len(self.categorical_names) * self.embedding_dim + self.n_numeric

    def build(self, input_shape=None):
        if self.embedding is not None:
            self.embedding.build((None, len(self.categorical_names)))
        if self.normalizer is not None:
            self.normalizer.build((None, self.n_numeric))
        self.built = True

    def is_adapted(self) -> bool:
        return self.normalizer is None or bool(ops.convert_to_numpy(self.adapted.value) > 0.5)

    def adapt(self, x) -> None:
        """Fit μ and σ of the numeric normalisation on (training) data x."""
        if self.normalizer is None:
            return
        numeric = x if self.plain else x[NUMERIC_KEY]
        self.normalizer.adapt(np.asarray(numeric, dtype="float32"))
        self.adapted.assign(1.0)

    def call(self, inputs):
        if self.plain:
            return self.normalizer(ops.cast(inputs, "float32"))
        parts = []
        if self.embedding is not None:
            if IDS_KEY in inputs:
                ids = ops.cast(inputs[IDS_KEY], "int32")
            else:
                ids = ops.stack([ops.cast(ops.reshape(inputs[f], (-1,)), "int32")
                                 for f in self.categorical_names], axis=1)
            offsets = ops.convert_to_tensor(self.offsets, dtype="int32")
            vectors = self.embedding(ids + offsets)  # (n, C, embedding_dim)
            parts.append(ops.reshape(vectors, (-1, len(self.categorical_names)
                                               * self.embedding_dim)))
        if self.normalizer is not None:
            parts.append(self.normalizer(ops.cast(inputs[NUMERIC_KEY], "float32")))
        return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)

    def dummy_inputs(self, n: int = 2):
        """A tiny batch of valid inputs (used to build a model)."""
        if self.plain:
            return np.zeros((n, self.features), dtype="float32")
        x = {f: np.zeros((n,), dtype="int32") for f in self.features["categorical"]}
        if self.n_numeric:
            x[NUMERIC_KEY] = np.zeros((n, self.n_numeric), dtype="float32")
        return x

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(features=self.features, embedding_dim=self.embedding_dim, seed=self.seed)
        return config
