"""``MultiTaskNet``: what every architecture of the course has in common.

An architecture only says how inputs become one output per task (``call``). Training is the
same for all of them and lives here:

    L(θ) = W(L_1(θ), …, L_T(θ)) + P(θ)

* L_t is task t's loss averaged over the rows that have a label (``TaskSpec.masked_loss``);
* W is the weighting strategy (``mtl_kit.weighting``), by default fixed weights Σ_t λ_t L_t;
* P is the architecture's sharing penalty (soft sharing: β Σ_{i<j} d(θ_i, θ_j); else 0).

``compute_loss`` logs every L_t (raw, unweighted) as ``<task>_loss`` and, for soft sharing, P as
``penalty`` and Σ d as ``tower_distance``, so ``History.history`` has them (and their ``val_``
versions) every epoch, as does ``evaluate``.
"""

from __future__ import annotations

from collections.abc import Mapping

import keras
import numpy as np
from keras import ops

from mtl_kit import distributed, epoch_loop, task_gradients, training
from mtl_kit.inputs import prepare_inputs, prepare_labels, warn_unlabelled_tasks
from mtl_kit.models.layers import FeatureEncoder, as_feature_config
from mtl_kit.tasks import TaskSpec, as_tasks
from mtl_kit.validation import check_choice, check_int
from mtl_kit.weighting import STRATEGIES, FixedWeights, Weighting, make_weighting


@keras.saving.register_keras_serializable(package="mtl_kit")
class MultiTaskNet(keras.Model):
    """Base class of the course's models: one output per task, trained on Σ_t λ_t L_t + P.

    Args:
        tasks: TaskSpecs (or shop task names), at least one.
        features: a data ``FeatureSpec`` (dict inputs from ``ShopData.to_arrays``) or an int d
            (a plain float matrix input).
        loss_weights: ``{task: λ >= 0}`` for the default fixed weighting (missing tasks: 1).
        weighting: another strategy: a ``Weighting`` or a name from
            ``mtl_kit.weighting.STRATEGIES`` (``"uncertainty"``, ``"pcgrad"``, …, with the
            papers' defaults); then ``loss_weights`` must be None.
        embedding_dim: width of each categorical embedding.
        seed: seed of every initialiser and of the shuffling when re-training.
    """

    def __init__(self, tasks, features, *, loss_weights=None, weighting=None,
                 embedding_dim: int = 8, seed: int = 0, **kwargs):
        task_specs = tuple(as_tasks(tasks))
        feature_config = as_feature_config(features)
        check_int("embedding_dim", embedding_dim, minimum=1)
        check_int("seed", seed, minimum=0)
        super().__init__(**kwargs)
        self._task_specs = task_specs
        self.feature_config = feature_config
        names = [t.name for t in self._task_specs]
        if isinstance(weighting, Mapping):
            weighting = keras.saving.deserialize_keras_object(weighting)
        if isinstance(weighting, str):
            check_choice("weighting", weighting, tuple(STRATEGIES))
            if loss_weights is not None and weighting != "fixed":
                raise ValueError("pass either loss_weights or a weighting strategy, not both")
            weighting = make_weighting(weighting, names, [t.kind for t in task_specs],
                                       **({"weights": loss_weights} if loss_weights else {}))
            loss_weights = None
        if weighting is None:
            weighting = FixedWeights(names, loss_weights, name="weighting")
        elif not isinstance(weighting, Weighting):
            raise TypeError(f"weighting must be a mtl_kit.weighting.Weighting, "
                            f"got {type(weighting).__name__}")
        elif loss_weights is not None:
            if not isinstance(weighting, FixedWeights):
                raise ValueError("pass either loss_weights or a weighting strategy, not both")
            weighting.set(loss_weights)
        if tuple(weighting.task_names) != tuple(names):
            raise ValueError(f"weighting.task_names {weighting.task_names} must equal the "
                             f"model's tasks {tuple(names)}")
        self.weighting = weighting
        self.embedding_dim = int(embedding_dim)
        self.seed = int(seed)
        self.task_loss_trackers = [keras.metrics.Mean(name=f"{n}_loss") for n in names]
        # per-task gradient diagnostics (logged only when the step computes task gradients)
        # (kept out of Keras' tracking: ``metrics`` lists them only when they are in use)
        object.__setattr__(self, "gradient_trackers", {
            name: keras.metrics.Mean(name=name) for name in gradient_log_names(names)})
        self._gradient_diagnostics = False
        self._initial_state = None
        self._fresh = True  # no training since build or reset: the next fit reseeds

    def __setattr__(self, name, value):
        # Keras' JAX trainer stores its per-epoch state dict here twice an epoch; tracking it
        # (wrapping the dict and its lists) costs more than the epoch itself on small data.
        if name == "_jax_state":
            object.__setattr__(self, name, value)
            return
        super().__setattr__(name, value)

    # -- the parts subclasses provide ------------------------------------------------------
    def make_encoder(self, seed_offset: int = 0, name: str = "encoder") -> FeatureEncoder:
        """The input encoder (embeddings + normalisation); seeds are offset for copies."""
        return FeatureEncoder(self.feature_config, self.embedding_dim,
                              seed=self.seed + seed_offset, name=name)

    @property
    def encoders(self) -> list[FeatureEncoder]:
        """All input encoders (one shared encoder, or one per tower for soft sharing)."""
        return [self.encoder]

    # -- ownership: which task's loss reads which parameters --------------------------------
    def parameter_readers(self) -> list[tuple[list, tuple[str, ...]]]:
        """Who reads what: ``[(variables, task names), …]`` over every trainable parameter θ of
        the architecture, each part with the tasks whose loss L_t reads it (∂L_t/∂θ is not
        identically zero).

        Each architecture lists its parts; ``shared_variables``, ``task_variables`` and the
        sharing of a parameter follow from it (θ read by several tasks is shared, θ read by one
        task t is owned by t). Not listed, because they are no task's model parameters: the
        weighting strategy's variables (``model.weighting.trainable_variables``, e.g. learned
        log σ²) and soft sharing's β. The default covers a one-task model (its task reads every
        parameter); an architecture with several tasks must say it.
        """
        if len(self._task_specs) == 1:
            return [(self._model_parameters(), tuple(self.task_names))]
        raise NotImplementedError(
            f"{type(self).__name__} must override parameter_readers() to say which tasks read "
            f"which parameters (see MultiTaskNet.parameter_readers)")

    def _model_parameters(self) -> list:
        """The trainable variables except the weighting strategy's."""
        strategy = {id(v) for v in self.weighting.variables}
        return [v for v in self.trainable_variables if id(v) not in strategy]

    def _readers_by_variable(self) -> list[tuple]:
        """[(variable, frozenset of the task names that read it)], in parameter_readers order."""
        readers: dict[int, tuple] = {}
        for variables, tasks in self.parameter_readers():
            for variable in variables:
                readers.setdefault(id(variable), (variable, set()))[1].update(tasks)
        return [(variable, frozenset(tasks)) for variable, tasks in readers.values()]

    @property
    def shared_variables(self) -> list:
        """θ_sh: the trainable parameters more than one task's loss reads (∂L_t/∂θ can be
        nonzero for several t), e.g. the encoder and bottom of hard sharing. Gradient-based
        weighting strategies combine the task gradients ∇_{θ_sh} L_t there. Neither shared nor
        any task's: the weighting strategy's variables and soft sharing's β."""
        return [v for v, tasks in self._readers_by_variable() if len(tasks) > 1]

    def task_variables(self, task: str) -> list:
        """θ_t: the trainable parameters only task ``task``'s loss reads (∂L_s/∂θ = 0 for every
        other task s), e.g. its head and output layer. L_t depends on θ_sh ∪ θ_t only. The
        weighting strategy's variables and soft sharing's β belong to no task."""
        check_choice("task", task, self.task_names)
        return [v for v, tasks in self._readers_by_variable() if tasks == {task}]

    @property
    def last_shared_variables(self) -> list:
        """The variables of the last shared layer every task reads (GradNorm, Chen et al. 2018,
        balances the task gradient norms ‖∇_W w_t L_t‖ there); a subset of
        ``shared_variables``, empty when nothing is shared. Default: all shared variables."""
        return self.shared_variables

    def _only_shared(self, variables) -> list:
        """``variables`` that are shared (none for a one-task model)."""
        shared = {id(v) for v in self.shared_variables}
        return [v for v in variables if id(v) in shared]

    def sharing_penalty(self):
        """(P, Σ d) for architectures with a sharing penalty, else None."""
        return None

    def _finish_init(self) -> None:
        """Build every layer by a forward pass on a tiny batch (the model is ready to save)."""
        self(self.encoders[0].dummy_inputs(), training=False)

    def build(self, input_shape=None):
        self.built = True

    # -- tasks, λ, β -----------------------------------------------------------------------
    @property
    def tasks(self) -> list[TaskSpec]:
        return list(self._task_specs)

    @property
    def task_names(self) -> list[str]:
        return [t.name for t in self._task_specs]

    def set_loss_weights(self, weights: Mapping[str, float]) -> None:
        """Set λ_t for some tasks (no rebuild, no recompile): ``{task: λ >= 0}``."""
        if not isinstance(self.weighting, FixedWeights):
            raise TypeError(f"set_loss_weights needs FixedWeights, this model uses "
                            f"{type(self.weighting).__name__}")
        self.weighting.set(weights)

    @property
    def loss_weights(self) -> dict[str, float]:
        """The current ``{task: λ}`` (fixed weighting)."""
        if isinstance(self.weighting, FixedWeights):
            return self.weighting.get()
        return {}

    @property
    def control_variables(self) -> list:
        """Variables the user sets (λ, β): ``reset`` leaves them alone. A strategy's learned
        state (uncertainty's σ_t, DWA's loss history, GradNorm's weights) is not among them:
        ``reset`` restarts it."""
        return list(self.weighting.control_variables)

    @property
    def beta(self) -> float | None:
        """β of the soft-sharing penalty; None for architectures without one."""
        return None

    def set_beta(self, beta: float) -> None:
        raise TypeError(f"{type(self).__name__} has no sharing penalty β; "
                        f"set_beta is for soft sharing (build_soft_sharing)")

    # -- the loss --------------------------------------------------------------------------
    def task_losses(self, y, y_pred, update_trackers: bool = False) -> list:
        """[L_1, …, L_T]: each task's loss over its observed labels (model order)."""
        losses = []
        for task, tracker in zip(self._task_specs, self.task_loss_trackers, strict=True):
            loss, n_observed = task.masked_loss(y[task.name], y_pred[task.name])
            if update_trackers:
                tracker.update_state(loss, sample_weight=n_observed)
            losses.append(loss)
        return losses

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """L = W(L_1, …, L_T) + P, logging each L_t and P through metric trackers."""
        losses = self.task_losses(y, y_pred, update_trackers=True)
        total = self.weighting.combine(losses)
        penalty = self.sharing_penalty()
        if penalty is not None:
            total = total + penalty
        for extra in self.losses:  # regularisers, if a learner adds some
            total = total + ops.sum(extra)
        return total

    def extra_loss(self, extra_losses=()):
        """P + Σ regularisers: what the loss adds to the tasks' (None if nothing)."""
        penalty = self.sharing_penalty()
        parts = ([] if penalty is None else [penalty]) + [ops.sum(x) for x in extra_losses]
        if not parts:
            return None
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        return total

    def stateless_task_losses(self, trainable_values, non_trainable_values, x, y) -> list:
        """[L_1, …, L_T] as a pure function of the variable values (for per-task gradients,
        e.g. ``jax.grad`` per task on JAX). No tracker is updated."""
        y_pred, _ = self.stateless_call(trainable_values, non_trainable_values, x,
                                        training=True)
        return self.task_losses(y, y_pred)

    @property
    def metrics(self):
        found = list(super().metrics)
        known = {id(m) for m in found}
        extra = list(self.task_loss_trackers) + self._extra_trackers()
        if self.uses_task_gradients:
            extra += list(self.gradient_trackers.values())
        return found + [m for m in extra if id(m) not in known]

    def get_metrics_result(self) -> dict:
        """Keras' logged values, without the gradient diagnostics (they exist in training only,
        so ``evaluate`` and the ``val_`` logs leave them out). Built on Keras' own method, so the
        values are Python floats wherever the installed Keras makes them so."""
        logs = super().get_metrics_result()
        for tracker in self.gradient_trackers.values():
            logs.pop(tracker.name, None)
        return logs

    def training_logs(self) -> dict:
        """A training step's logs: the losses and, with task gradients, the diagnostics."""
        logs = self.get_metrics_result()
        if self.uses_task_gradients:
            logs.update({m.name: m.result() for m in self.gradient_trackers.values()})
        return logs

    @property
    def uses_task_gradients(self) -> bool:
        """True when training computes each task's gradient (a gradient-level strategy, or
        ``compile(gradient_diagnostics=True)``)."""
        return bool(self.weighting.needs_task_gradients
                    or getattr(self, "_gradient_diagnostics", False))

    def train_step(self, *args):
        """Keras' step, or the per-task gradient step (``mtl_kit.task_gradients``)."""
        if self.uses_task_gradients:
            return task_gradients.train_step(self, *args)
        return super().train_step(*args)

    def _extra_trackers(self) -> list:
        return []

    # -- compile and train -----------------------------------------------------------------
    def compile(self, optimizer="adam", learning_rate: float | None = 1e-3,
                steps_per_execution: int | None = None, jit_compile="auto",
                gradient_diagnostics: bool = False, **kwargs):
        """Compile with the model's own loss; ``steps_per_execution`` defaults per backend.

        ``gradient_diagnostics=True`` logs each task's gradient norm, every pair's gradient
        cosine and the task weights per epoch (``<task>_grad_norm``, ``grad_cosine_<a>_<b>``,
        ``<task>_weight``) for any strategy, at the cost of one backward pass per task;
        gradient-level strategies always log them.
        """
        if "loss" in kwargs and kwargs["loss"] is not None:
            raise ValueError("MultiTaskNet computes its own loss from the TaskSpecs; "
                             "do not pass loss= to compile")
        kwargs.pop("loss", None)
        if not isinstance(gradient_diagnostics, (bool, np.bool_)):
            raise TypeError(f"gradient_diagnostics must be True or False, "
                            f"got {gradient_diagnostics!r}")
        self._gradient_diagnostics = bool(gradient_diagnostics)
        if self.uses_task_gradients:
            self._check_task_gradients()
        if isinstance(optimizer, str) and learning_rate is not None:
            optimizer = keras.optimizers.get(
                {"class_name": optimizer, "config": {"learning_rate": learning_rate}})
        if steps_per_execution is None:
            steps_per_execution = training.default_steps_per_execution()
        super().compile(optimizer=optimizer, steps_per_execution=steps_per_execution,
                        jit_compile=jit_compile, **kwargs)
        if self.optimizer is not None and not self.optimizer.built:
            self.optimizer.build(self.trainable_variables)
        self._initial_state = None

    def _check_task_gradients(self) -> None:
        """Per-task gradients need a supported backend and something shared to balance."""
        what = (f"weighting {self.weighting.describe()!r}" if self.weighting.needs_task_gradients
                else "gradient_diagnostics=True")
        task_gradients.check_backend(what)
        if not self.shared_variables:
            raise ValueError(
                f"{what} works on the task gradients of the shared parameters, and "
                f"{type(self).__name__} shares none (each task has its own parameters"
                f"{'; β couples them through the penalty' if self.beta is not None else ''}): "
                f"use a loss-level strategy ('fixed', 'uncertainty', 'dwa') or an "
                f"architecture that shares parameters")

    def get_compile_config(self) -> dict | None:
        if self.optimizer is None:
            return None
        return {"optimizer": keras.saving.serialize_keras_object(self.optimizer),
                "jit_compile": self._compile_config.config.get("jit_compile", "auto")
                if getattr(self, "_compile_config", None) else "auto",
                "gradient_diagnostics": bool(self._gradient_diagnostics)}

    def compile_from_config(self, config) -> None:
        """Recompile a loaded model (steps_per_execution: the loading backend's default)."""
        optimizer = keras.saving.deserialize_keras_object(config["optimizer"])
        self.compile(optimizer=optimizer, learning_rate=None,
                     jit_compile=config.get("jit_compile", "auto"),
                     gradient_diagnostics=config.get("gradient_diagnostics", False))

    def _prepare(self, x, y=None, argument="x"):
        x, n_rows = prepare_inputs(self.feature_config, x, argument)
        if y is None:
            return x, None
        if n_rows == 0:
            raise ValueError(f"{argument} has no rows: training and evaluating need at least one")
        label_argument = "y" if argument == "x" else argument.replace("x", "y")
        return x, prepare_labels(self._task_specs, y, n_rows, label_argument)

    def _ensure_ready(self, x) -> None:
        """Adapt the normalisation on the first training data, then store the initial state."""
        if self._initial_state is None:
            for encoder in self.encoders:
                if not encoder.is_adapted():
                    encoder.adapt(x)
            self._initial_state = training.InitialState(self, exclude=self.control_variables)

    def fit(self, x=None, y=None, *, validation_data=None, epochs: int = 1,
            batch_size: int = 256, verbose=0, **kwargs):
        """Train; returns a History with "loss", "<task>_loss" (+ "val_…" with validation_data).

        x: dict of input arrays (``ShopData.to_arrays``) or a float matrix (int features);
        y: ``{task: labels}`` with NaN for missing labels (or a list in task order).
        Or x: a ``keras.utils.PyDataset`` of prepared ``(x, y)`` batches (data streamed from
        disk, ``mtl_kit.streaming.ShardBatches``) and y None; it shuffles by itself.
        """
        check_int("epochs", epochs, minimum=1)
        check_int("batch_size", batch_size, minimum=1)
        if kwargs.get("validation_batch_size") is not None:
            check_int("validation_batch_size", kwargs["validation_batch_size"], minimum=1)
        if self.optimizer is None:
            raise RuntimeError("compile the model first (the build_* functions do)")
        streamed = isinstance(x, keras.utils.PyDataset)
        if streamed:
            if y is not None:
                raise ValueError("y must be None when x is a keras.utils.PyDataset: its batches "
                                 "hold the labels")
            sample = x.adapt_inputs() if hasattr(x, "adapt_inputs") else x[0][0]
        else:
            x, y = self._prepare(x, y)
            warn_unlabelled_tasks(y)
            sample = x
        if validation_data is not None and not isinstance(validation_data,
                                                          keras.utils.PyDataset):
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data must be a pair (x_val, y_val) or a "
                                 "keras.utils.PyDataset")
            validation_data = self._prepare(*validation_data, argument="validation_data x")
        self._ensure_ready(sample)
        if self.weighting.updates_per_epoch:  # e.g. DWA: new weights after every epoch
            kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), EndEpoch(self.weighting)]
        if self._fresh:  # the first run after build/reset shuffles the same way every time
            keras.utils.set_random_seed(self.seed)
            self._fresh = False
        devices = distributed.data_parallel_devices()
        if streamed:  # the PyDataset orders its rows itself (Keras' shuffle reorders batches)
            kwargs.pop("shuffle", None)
            validation_data = _split_evenly(validation_data, devices, batch_size, kwargs)
            return super().fit(x, validation_data=validation_data, epochs=int(epochs),
                               shuffle=False, verbose=verbose, **kwargs)
        if epoch_loop.can_run(self, {"verbose": verbose, **kwargs}, (x, y, validation_data)):
            return epoch_loop.fit(self, x, y, validation_data=validation_data,
                                  epochs=int(epochs), batch_size=int(batch_size),
                                  verbose=verbose, **kwargs)
        if devices > 1:  # batches must split evenly over the devices (mtl_kit.distributed)
            x = distributed.PaddedBatches(x, y, batch_size=int(batch_size), multiple=devices,
                                          shuffle=bool(kwargs.pop("shuffle", True)))
            y = None
            validation_data = _split_evenly(validation_data, devices, batch_size, kwargs)
            # PaddedBatches draws the row order itself (Keras' shuffle would reorder batches)
            return super().fit(x, validation_data=validation_data, epochs=int(epochs),
                               shuffle=False, verbose=verbose, **kwargs)
        return super().fit(x, y, validation_data=validation_data, epochs=int(epochs),
                           batch_size=int(batch_size), verbose=verbose, **kwargs)

    def evaluate(self, x=None, y=None, *, batch_size: int = 1024, verbose=0,
                 return_dict: bool = True, **kwargs):
        """Losses on (x, y): ``{"loss": …, "<task>_loss": …}`` (a dict by default)."""
        if isinstance(x, keras.utils.PyDataset):  # batches made already (validation in fit)
            return super().evaluate(x, y, batch_size=None, verbose=verbose,
                                    return_dict=return_dict, **kwargs)
        check_int("batch_size", batch_size, minimum=1)
        x, y = self._prepare(x, y)
        devices = distributed.data_parallel_devices()
        if devices > 1:  # batches must split evenly over the devices (mtl_kit.distributed)
            batches = distributed.PaddedBatches(x, y, batch_size=batch_size, multiple=devices)
            return super().evaluate(batches, verbose=verbose, return_dict=return_dict, **kwargs)
        return super().evaluate(x, y, batch_size=batch_size, verbose=verbose,
                                return_dict=return_dict, **kwargs)

    def reset(self) -> None:
        """Back to the initial weights and a fresh optimiser state; λ and β are kept.

        No rebuild and no recompile: the next ``fit`` reuses the compiled training step.
        The next ``fit`` reseeds the shuffling with the model's seed, so the same λ, β and data
        give the same run.
        """
        if self._initial_state is not None:
            self._initial_state.restore()
        for metric in self.metrics:
            metric.reset_state()
        self._fresh = True

    def seed_weights(self, seed: int) -> list[np.ndarray]:
        """The initial trainable weights ``build_*(…, seed=seed)`` would give this model.

        A model's only randomness is its seeded initialisers, so a fresh, uncompiled copy built
        from this model's config with another seed holds exactly those weights; they are
        returned in ``trainable_variables`` order (nothing of this model changes).
        """
        check_int("seed", seed, minimum=0)
        fresh = type(self).from_config({**self.get_config(), "seed": int(seed)})
        values = [np.array(keras.ops.convert_to_numpy(v.value))
                  for v in fresh.trainable_variables]
        shapes = [tuple(v.shape) for v in self.trainable_variables]
        if [tuple(v.shape) for v in values] != shapes:
            raise RuntimeError(f"{type(self).__name__}.from_config built other variables; "
                               f"reseed needs the same architecture")
        return values

    def reseed(self, seed: int) -> None:
        """Start again from seed ``seed``'s initial weights, without a rebuild or recompile.

        Afterwards the model is what ``build_*(…, seed=seed)`` returns (same initial weights,
        fresh optimiser state, and the next ``fit`` shuffles with ``seed``), but the compiled
        training step is reused: repeating an experiment over seeds costs one compile.
        λ, β and the input normalisation (adapted on the training data) are kept.
        """
        values = self.seed_weights(seed)
        if self._initial_state is None:
            for variable, value in zip(self.trainable_variables, values, strict=True):
                variable.assign(value)
        else:
            self._initial_state.replace(self.trainable_variables, values)
        self.seed = int(seed)
        self.reset()

    def retrain(self, x, y, **fit_kwargs):
        """``reset()`` then ``fit(x, y, **fit_kwargs)``: the fast path behind the sliders."""
        self.reset()
        return self.fit(x, y, **fit_kwargs)

    # -- predictions -----------------------------------------------------------------------
    def predict_tasks(self, x, batch_size: int = 4096) -> dict[str, np.ndarray]:
        """``{task: predictions}``: probabilities (n,) for binary, (n, k) for multiclass,
        values (n,) for regression."""
        check_int("batch_size", batch_size, minimum=1)
        x, n_rows = prepare_inputs(self.feature_config, x)
        if n_rows == 0:  # Keras' predict fails on no rows and leaves the model unusable
            raise ValueError("x has no rows: predict_tasks needs at least one")
        # Pad to whole batches: every call then reuses one compiled predict step, whatever n.
        batch_size = int(min(batch_size, max(256, 1 << (max(n_rows, 1) - 1).bit_length())))
        # under DataParallel every batch splits evenly over the devices
        batch_size = distributed.padded_size(batch_size, distributed.data_parallel_devices())
        padded = -n_rows % batch_size
        if padded:
            x = {k: _pad_rows(v, padded) for k, v in x.items()} if isinstance(x, dict) \
                else _pad_rows(x, padded)
        outputs = self.predict(x, batch_size=batch_size, verbose=0)
        result = {}
        for name, value in outputs.items():
            value = np.asarray(value)[:n_rows]
            if value.ndim == 2 and value.shape[1] == 1:
                value = value[:, 0]
            result[name] = value
        return result

    def encode(self, inputs):
        return self.encoder(inputs)

    # -- saving ----------------------------------------------------------------------------
    def get_config(self) -> dict:
        return {
            "name": self.name,
            "trainable": self.trainable,
            "tasks": [t.to_config() for t in self._task_specs],
            "features": self.feature_config,
            "weighting": keras.saving.serialize_keras_object(self.weighting),
            "embedding_dim": self.embedding_dim,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def trainable_of(*parts) -> list:
    """The trainable variables of layers, given as layers or (nested) lists of layers."""
    found = []
    for part in parts:
        if isinstance(part, (list, tuple)):
            found += trainable_of(*part)
        else:
            found += list(part.trainable_variables)
    return found


def gradient_log_names(task_names) -> list[str]:
    """The diagnostics' log names: ``<task>_grad_norm``, ``<task>_weight`` per task and
    ``grad_cosine_<a>_<b>`` per pair of tasks."""
    names = [f"{t}_grad_norm" for t in task_names] + [f"{t}_weight" for t in task_names]
    names += [f"grad_cosine_{a}_{b}" for i, a in enumerate(task_names)
              for b in task_names[i + 1:]]
    return names


class EndEpoch(keras.callbacks.Callback):
    """Hands each epoch's mean training loss per task to the strategy (``end_epoch``)."""

    def __init__(self, weighting: Weighting):
        super().__init__()
        self.weighting = weighting

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.weighting.end_epoch({t: logs[f"{t}_loss"] for t in self.weighting.task_names})


def _split_evenly(validation_data, devices: int, batch_size: int, kwargs: dict):
    """Prepared validation pairs as ``PaddedBatches`` when a distribution splits each batch over
    ``devices`` > 1 (``validation_batch_size`` is taken out of ``kwargs``); else unchanged."""
    if devices > 1 and isinstance(validation_data, tuple):
        return distributed.PaddedBatches(
            *validation_data, multiple=devices,
            batch_size=int(kwargs.pop("validation_batch_size", None) or batch_size))
    return validation_data


def _pad_rows(array: np.ndarray, extra: int) -> np.ndarray:
    return np.concatenate([array, np.repeat(array[-1:], extra, axis=0)], axis=0)
