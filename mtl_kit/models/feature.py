"""Feature-based sharing: tasks share *features*, mixed by learned weights.

Cross-stitch (Misra et al., 2016): one tower per task; after every layer l the towers'
activations are mixed by a learned matrix α^l (T × T):

    h̃_i^l = Σ_j α_ij^l h_j^l,   α initialised to 0.9 on the diagonal and 0.1/(T−1) elsewhere
    (0.9 / 0.1 for two tasks), so each tower starts mostly itself.

MMoE (Ma et al., 2018): E experts f_e shared by all tasks, one softmax gate per task:

    g_t(x) = softmax(W_t h(x)) ∈ R^E,   z_t = Σ_e g_t,e(x) f_e(h(x)),   ŷ_t = tower_t(z_t)

With ``one_gate=True`` every task reads the same gate g(x) = softmax(W h(x)): the paper's
one-gate mixture of experts (OMoE), its baseline between shared bottom and MMoE.

PLE (Tang et al., 2020): at every level l, shared experts S and task-specific experts E_t;
task t's gate mixes its own and the shared experts, and at intermediate levels a shared gate
mixes all experts to feed the next level's shared experts:

    z_t^l = Σ_e g_t,e^l(z_t^{l−1}) f_e^l(·)   over e ∈ E_t^l ∪ S^l   (task experts read z_t^{l−1},
    z_s^l = Σ_e g_s,e^l(z_s^{l−1}) f_e^l(·)   over all experts        shared experts read z_s^{l−1})
    ŷ_t = tower_t(z_t^L),  with z_t^0 = z_s^0 = h(x)

All three share the input encoder h (embeddings + normalisation). ``gate_weights(x)`` returns
each task's gate g_t(x) for a batch (MMoE; PLE: the last level's), for the lesson's pictures.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from mtl_kit.inputs import prepare_inputs
from mtl_kit.models.base import MultiTaskNet, trainable_of
from mtl_kit.models.hard import BOTTOM_SEED, head_seed
from mtl_kit.models.layers import apply_stack, dense_stack, output_layer
from mtl_kit.validation import check_flag, check_int, check_units

EXPERT_SEED = 300
GATE_SEED = 600


@keras.saving.register_keras_serializable(package="mtl_kit")
class CrossStitch(layers.Layer):
    """h̃_i = Σ_j α_ij h_j for a list of T same-shaped activations (α trainable, T × T).

    Args:
        n_tasks: T.
        same: initial α_ii (default 0.9); the rest, 1 − same, is split over the other towers.
    """

    def __init__(self, n_tasks: int, same: float = 0.9, **kwargs):
        super().__init__(**kwargs)
        self.n_tasks = int(n_tasks)
        self.same = float(same)
        other = (1.0 - self.same) / max(self.n_tasks - 1, 1)
        init = np.full((self.n_tasks, self.n_tasks), other, dtype="float32")
        np.fill_diagonal(init, self.same)
        self.alpha = self.add_weight(name="alpha", shape=(self.n_tasks, self.n_tasks),
                                     initializer=keras.initializers.Constant(init))
        self.built = True

    def call(self, activations):
        alpha = self.alpha
        return [sum(alpha[i, j] * h_j for j, h_j in enumerate(activations))
                for i in range(self.n_tasks)]

    def get_config(self):
        config = super().get_config()
        config.update(n_tasks=self.n_tasks, same=self.same)
        return config


@keras.saving.register_keras_serializable(package="mtl_kit")
class CrossStitchNet(MultiTaskNet):
    """Cross-stitch: per-task towers whose activations are mixed by α after every layer.

    h_t^l = ReLU(W_t^l h̃_t^{l−1} + b_t^l),  h̃^l = α^l h^l (over tasks),  ŷ_t = g_t(h̃_t^L)

    Args:
        tower: widths of each task's layers (a cross-stitch unit after each).
        head: widths of each task's own layers before the output.
    """

    def __init__(self, tasks, features, tower=(64, 32), head=(16,), **kwargs):
        tower = check_units("tower", tower, allow_empty=False)
        head = check_units("head", head)
        super().__init__(tasks, features, **kwargs)
        self.tower_units, self.head_units = tower, head
        self.encoder = self.make_encoder()
        self.towers = [dense_stack(tower, self.seed + BOTTOM_SEED + 10 * i, f"{t.name}_tower")
                       for i, t in enumerate(self.tasks)]
        self.stitches = [CrossStitch(len(self.tasks), name=f"cross_stitch_{k}")
                         for k in range(len(tower))]
        self.heads = [dense_stack(head, head_seed(self.seed, i), f"{t.name}_head")
                      for i, t in enumerate(self.tasks)]
        self.outputs_ = [output_layer(t, head_seed(self.seed, i) + 9)
                         for i, t in enumerate(self.tasks)]
        self._finish_init()

    def call(self, inputs, training=False):
        h = self.encoder(inputs)
        states = [h for _ in self.tasks]
        for k, stitch in enumerate(self.stitches):
            states = stitch([tower[k](s) for tower, s in zip(self.towers, states, strict=True)])
        parts = zip(self.tasks, self.heads, self.outputs_, states, strict=True)
        return {t.name: out(apply_stack(head, s)) for t, head, out, s in parts}

    def alphas(self) -> list[np.ndarray]:
        """The learned α matrices, one (T × T) per layer."""
        return [ops.convert_to_numpy(s.alpha.value) for s in self.stitches]

    def parameter_readers(self) -> list:
        """After every tower layer l, h̃_i^l = Σ_j α_ij^l h_j^l feeds tower j's layer l into
        every task i (α_ij starts > 0): so the encoder, *every* task's tower layers and the
        cross-stitch units (one α matrix per layer, all rows) are shared; only each task's
        head and output are its own."""
        everyone = tuple(self.task_names)
        return [(trainable_of(self.encoder, self.towers, self.stitches), everyone)] + [
            (trainable_of(head, out), (t.name,))
            for t, head, out in zip(self.tasks, self.heads, self.outputs_, strict=True)]

    @property
    def last_shared_variables(self) -> list:
        """The last level of the towers: every tower's last layer and the last cross-stitch
        unit, which mixes them into every task's head."""
        return self._only_shared(trainable_of([tower[-1] for tower in self.towers],
                                              self.stitches[-1]))

    def get_config(self):
        config = super().get_config()
        config.update(tower=list(self.tower_units), head=list(self.head_units))
        return config


class _GatedExperts:
    """Shared helpers for MMoE and PLE."""

    def _experts(self, units, seed, name, count):
        return [dense_stack(units, seed + 10 * e, f"{name}_{e}") for e in range(count)]

    @staticmethod
    def _gate(n_experts, seed, name):
        return layers.Dense(n_experts, activation="softmax", name=name,
                            kernel_initializer=keras.initializers.GlorotUniform(seed=seed))

    def _build_towers(self, tower) -> None:
        """One tower (Dense+ReLU widths ``tower``) and one output layer per task."""
        self.towers = [dense_stack(tower, head_seed(self.seed, i), f"{t.name}_tower")
                       for i, t in enumerate(self.tasks)]
        self.outputs_ = [output_layer(t, head_seed(self.seed, i) + 9)
                         for i, t in enumerate(self.tasks)]

    @staticmethod
    def _mix(gate_values, expert_outputs):
        """z = Σ_e g_e f_e: each expert's output (n, units) times its gate value (n, 1)."""
        return sum(gate_values[:, e:e + 1] * f_e for e, f_e in enumerate(expert_outputs))

    def gate_weights(self, x, batch_size: int = 4096) -> dict[str, np.ndarray]:
        """Each task's gate weights for a batch: ``{task: (n, n_experts)}``, rows sum to 1."""
        check_int("batch_size", batch_size, minimum=1)
        x, n_rows = prepare_inputs(self.feature_config, x)
        if n_rows == 0:
            raise ValueError("x has no rows: gate_weights needs at least one")
        parts = {t: [] for t in self.task_names}
        for start in range(0, n_rows, batch_size):
            if isinstance(x, dict):
                batch = {k: v[start:start + batch_size] for k, v in x.items()}
            else:
                batch = x[start:start + batch_size]
            gates = self._gates(batch)
            for t in self.task_names:
                parts[t].append(ops.convert_to_numpy(gates[t]))
        return {t: np.concatenate(v, axis=0) for t, v in parts.items()}


@keras.saving.register_keras_serializable(package="mtl_kit")
class MMoENet(_GatedExperts, MultiTaskNet):
    """MMoE: z_t = Σ_e softmax(W_t h)_e f_e(h); ŷ_t = tower_t(z_t).

    Args:
        n_experts: number of shared experts E (>= 1).
        expert_units: widths of each expert's Dense+ReLU layers.
        tower: widths of each task's tower layers before its output.
        one_gate: False (MMoE: one gate per task) or True (OMoE: one gate g(x) that every
            task reads, so all tasks get the same mixture z = Σ_e g_e(x) f_e(h(x))).
    """

    def __init__(self, tasks, features, n_experts: int = 4, expert_units=(16,), tower=(16,),
                 one_gate: bool = False, **kwargs):
        check_int("n_experts", n_experts, minimum=1)
        expert_units = check_units("expert_units", expert_units, allow_empty=False)
        tower = check_units("tower", tower)
        one_gate = check_flag("one_gate", one_gate)
        super().__init__(tasks, features, **kwargs)
        self.n_experts, self.expert_units, self.tower_units = int(n_experts), expert_units, tower
        self.one_gate = one_gate
        self.encoder = self.make_encoder()
        self.experts = self._experts(expert_units, self.seed + EXPERT_SEED, "expert", n_experts)
        if one_gate:
            self.gates = [self._gate(n_experts, self.seed + GATE_SEED, "gate")]
        else:
            self.gates = [self._gate(n_experts, self.seed + GATE_SEED + i, f"{t.name}_gate")
                          for i, t in enumerate(self.tasks)]
        self._build_towers(tower)
        self._finish_init()

    def _task_gates(self) -> list:
        """The gate each task reads, in task order (the same one for every task in OMoE)."""
        return self.gates * len(self.tasks) if self.one_gate else list(self.gates)

    def _gates(self, inputs):
        h = self.encoder(inputs)
        values = [gate(h) for gate in self.gates]
        if self.one_gate:
            values = values * len(self.tasks)
        return {t.name: value for t, value in zip(self.tasks, values, strict=True)}

    def call(self, inputs, training=False):
        h = self.encoder(inputs)
        expert_outputs = [apply_stack(expert, h) for expert in self.experts]
        mixed = [self._mix(gate(h), expert_outputs) for gate in self.gates]
        if self.one_gate:
            mixed = mixed * len(self.tasks)
        outputs = {}
        for t, z, tower, out in zip(self.tasks, mixed, self.towers, self.outputs_, strict=True):
            outputs[t.name] = out(apply_stack(tower, z))
        return outputs

    def parameter_readers(self) -> list:
        """Every task's gate mixes every expert (softmax weights > 0): the encoder and the
        experts are shared; task t's gate, tower and output are its own. With one gate
        (OMoE) the gate is shared too."""
        everyone = tuple(self.task_names)
        shared = trainable_of(self.encoder, self.experts)
        if self.one_gate:
            shared += trainable_of(self.gates)
        own = [[] if self.one_gate else trainable_of(gate) for gate in self._task_gates()]
        return [(shared, everyone)] + [
            (own_gate + trainable_of(tower, out), (t.name,))
            for t, own_gate, tower, out in zip(self.tasks, own, self.towers, self.outputs_,
                                               strict=True)]

    @property
    def last_shared_variables(self) -> list:
        """Every expert's last layer (the experts are the last layers all tasks read)."""
        return self._only_shared(trainable_of([expert[-1] for expert in self.experts]))

    def get_config(self):
        config = super().get_config()
        config.update(n_experts=self.n_experts, expert_units=list(self.expert_units),
                      tower=list(self.tower_units), one_gate=self.one_gate)
        return config


@keras.saving.register_keras_serializable(package="mtl_kit")
class PLENet(_GatedExperts, MultiTaskNet):
    """PLE: per level, task experts E_t and shared experts S; gates mix E_t ∪ S per task, and
    (intermediate levels) all experts for the shared path; ŷ_t = tower_t(z_t^L).

    Args:
        n_levels: number of extraction levels L (>= 1).
        n_shared_experts: shared experts per level (>= 1).
        n_task_experts: task-specific experts per task and level (>= 1).
        expert_units: widths of each expert's Dense+ReLU layers.
        tower: widths of each task's tower layers before its output.
    """

    def __init__(self, tasks, features, n_levels: int = 2, n_shared_experts: int = 2,
                 n_task_experts: int = 1, expert_units=(16,), tower=(16,), **kwargs):
        check_int("n_levels", n_levels, minimum=1)
        check_int("n_shared_experts", n_shared_experts, minimum=1)
        check_int("n_task_experts", n_task_experts, minimum=1)
        expert_units = check_units("expert_units", expert_units, allow_empty=False)
        tower = check_units("tower", tower)
        super().__init__(tasks, features, **kwargs)
        self.n_levels, self.n_shared_experts = int(n_levels), int(n_shared_experts)
        self.n_task_experts, self.expert_units = int(n_task_experts), expert_units
        self.tower_units = tower
        self.encoder = self.make_encoder()
        T = len(self.tasks)
        self.shared_experts, self.task_experts, self.task_gates, self.shared_gates = [], [], [], []
        for level in range(n_levels):
            base = self.seed + EXPERT_SEED + 1000 * level
            self.shared_experts.append(self._experts(
                expert_units, base, f"level{level}_shared_expert", n_shared_experts))
            self.task_experts.append([
                self._experts(expert_units, base + 100 * (i + 1),
                              f"level{level}_{t.name}_expert", n_task_experts)
                for i, t in enumerate(self.tasks)])
            gate_base = self.seed + GATE_SEED + 1000 * level
            self.task_gates.append([
                self._gate(n_task_experts + n_shared_experts, gate_base + i,
                           f"level{level}_{t.name}_gate")
                for i, t in enumerate(self.tasks)])
            if level < n_levels - 1:
                self.shared_gates.append(self._gate(T * n_task_experts + n_shared_experts,
                                                    gate_base + 99, f"level{level}_shared_gate"))
        self._build_towers(tower)
        self._finish_init()

    def _levels(self, inputs):
        """(task representations z_t^L, last level's task gates)."""
        h = self.encoder(inputs)
        task_inputs = [h for _ in self.tasks]
        shared_input = h
        gates = {}
        for level in range(self.n_levels):
            shared_out = [apply_stack(e, shared_input) for e in self.shared_experts[level]]
            task_out = [[apply_stack(e, z) for e in experts]
                        for experts, z in zip(self.task_experts[level], task_inputs, strict=True)]
            new_task_inputs = []
            for i, t in enumerate(self.tasks):
                g = self.task_gates[level][i](task_inputs[i])
                gates[t.name] = g
                new_task_inputs.append(self._mix(g, task_out[i] + shared_out))
            if level < self.n_levels - 1:
                everything = [o for outs in task_out for o in outs] + shared_out
                shared_input = self._mix(self.shared_gates[level](shared_input), everything)
            task_inputs = new_task_inputs
        return task_inputs, gates

    def _gates(self, inputs):
        return self._levels(inputs)[1]

    def call(self, inputs, training=False):
        task_inputs, _ = self._levels(inputs)
        parts = zip(self.tasks, self.towers, self.outputs_, task_inputs, strict=True)
        return {t.name: out(apply_stack(tower, z)) for t, tower, out, z in parts}

    def parameter_readers(self) -> list:
        """Who reads what, level l = 0 … L−1 (L = n_levels):

        * the encoder, the shared experts S^l and the shared gates: every task (the shared path
          z_s^{l+1} feeds the next level's shared experts, which every task's gate mixes);
        * task t's experts E_t^l: every task for l <= L−2 (the shared gate of level l mixes
          them into z_s^{l+1}), only task t at the last level;
        * task t's gate of level l feeds only z_t^{l+1}, which E_t^{l+1} reads: every task for
          l <= L−3, only task t for the last two levels (with L = 2: all task gates are own);
        * task t's tower and output: task t.
        """
        everyone, last = tuple(self.task_names), self.n_levels - 1
        readers = [(trainable_of(self.encoder, self.shared_experts, self.shared_gates),
                    everyone)]
        for level in range(self.n_levels):
            for t, experts, gate in zip(self.tasks, self.task_experts[level],
                                        self.task_gates[level], strict=True):
                readers.append((trainable_of(experts), everyone if level < last else (t.name,)))
                readers.append((trainable_of(gate),
                                everyone if level < last - 1 else (t.name,)))
        readers += [(trainable_of(tower, out), (t.name,))
                    for t, tower, out in zip(self.tasks, self.towers, self.outputs_, strict=True)]
        return readers

    @property
    def last_shared_variables(self) -> list:
        """The last level's shared experts' last layers (every task's last gate mixes them)."""
        return self._only_shared(trainable_of([expert[-1]
                                               for expert in self.shared_experts[-1]]))

    def get_config(self):
        config = super().get_config()
        config.update(n_levels=self.n_levels, n_shared_experts=self.n_shared_experts,
                      n_task_experts=self.n_task_experts, expert_units=list(self.expert_units),
                      tower=list(self.tower_units))
        return config


def _compile(model, learning_rate, compile_kwargs):
    model.compile(learning_rate=learning_rate, **compile_kwargs)
    return model


def build_cross_stitch(tasks, features, tower=(64, 32), head=(16,), loss_weights=None,
                       seed: int = 0, learning_rate: float = 1e-3, embedding_dim: int = 8,
                       weighting=None, **compile_kwargs) -> CrossStitchNet:
    """A compiled cross-stitch network (Adam)."""
    check_units("tower", tower, allow_empty=False)
    keras.utils.set_random_seed(seed)
    return _compile(CrossStitchNet(tasks, features, tower=tower, head=head,
                                   loss_weights=loss_weights, weighting=weighting,
                                   embedding_dim=embedding_dim, seed=seed),
                    learning_rate, compile_kwargs)


def build_mmoe(tasks, features, n_experts: int = 4, expert_units=(16,), tower=(16,),
               loss_weights=None, seed: int = 0, learning_rate: float = 1e-3,
               embedding_dim: int = 8, weighting=None, one_gate: bool = False,
               **compile_kwargs) -> MMoENet:
    """A compiled MMoE (Adam); ``one_gate=True``: the one-gate OMoE (every task reads the
    same gate)."""
    check_int("n_experts", n_experts, minimum=1)
    check_flag("one_gate", one_gate)
    keras.utils.set_random_seed(seed)
    return _compile(MMoENet(tasks, features, n_experts=n_experts, expert_units=expert_units,
                            tower=tower, loss_weights=loss_weights, weighting=weighting,
                            embedding_dim=embedding_dim, seed=seed, one_gate=one_gate),
                    learning_rate, compile_kwargs)


def build_ple(tasks, features, n_levels: int = 2, n_shared_experts: int = 2,
              n_task_experts: int = 1, expert_units=(16,), tower=(16,), loss_weights=None,
              seed: int = 0, learning_rate: float = 1e-3, embedding_dim: int = 8,
              weighting=None, **compile_kwargs) -> PLENet:
    """A compiled PLE (Adam)."""
    check_int("n_levels", n_levels, minimum=1)
    check_int("n_shared_experts", n_shared_experts, minimum=1)
    check_int("n_task_experts", n_task_experts, minimum=1)
    keras.utils.set_random_seed(seed)
    return _compile(PLENet(tasks, features, n_levels=n_levels,
                           n_shared_experts=n_shared_experts, n_task_experts=n_task_experts,
                           expert_units=expert_units, tower=tower, loss_weights=loss_weights,
                           weighting=weighting, embedding_dim=embedding_dim, seed=seed),
                    learning_rate, compile_kwargs)
