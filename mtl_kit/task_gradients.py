"""The training step that sees every task's gradient (gradient-level strategies, diagnostics).

Keras' own step differentiates one number, L = Σ_t w_t L_t. PCGrad, MGDA, CAGrad and GradNorm
need each task's gradient of the shared parameters θ_sh separately, g_t = ∇_{θ_sh} L_t, and so
do the diagnostics (how much the tasks' gradients agree). This step computes them all with one
forward pass and one backward pass per task, then:

1. M_ab = g_a · g_b (the Gram matrix, summed over the shared variables) and the same on the last
   shared layer (for GradNorm);
2. w = the strategy's weights (``Weighting.gradient_weights``, or ``task_weights`` for a
   loss-level strategy);
3. the update: shared parameters get d = Σ_t w_t g_t; a task's own parameters (its tower, its
   head) get w_t ∇L_t, or ∇L_t for strategies that only reshape the shared step (PCGrad, MGDA,
   CAGrad); a sharing penalty or regulariser adds its own gradient; the strategy's learned
   variables get the gradient of ``Weighting.weighting_loss``;
4. the optimiser applies it, and the step logs, averaged over the epoch: each task's gradient
   norm ``<task>_grad_norm`` = ‖g_t‖, each pair's cosine ``grad_cosine_<a>_<b>`` = M_ab / (‖g_a‖
   ‖g_b‖), and the weights ``<task>_weight`` = w_t.

On JAX the step is a pure function of the training state (``jax.vjp`` once, then its pullback
once per task: T backward passes that reuse one forward pass), so it runs inside
``mtl_kit.epoch_loop``'s compiled epochs and ``jax.vmap`` over seeds. On TensorFlow a persistent
``GradientTape`` gives the T gradients, on PyTorch ``torch.autograd.grad`` once per task. Other
backends get a clear error.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import ops

from mtl_kit.weighting import GradientWeighting, TaskGradients

#: Backends with a per-task gradient step.
SUPPORTED_BACKENDS = ("jax", "tensorflow", "torch")


def check_backend(weighting_name: str) -> None:
    """Raise before training when this backend has no per-task gradient step."""
    backend = keras.backend.backend()
    if backend not in SUPPORTED_BACKENDS:
        raise ValueError(
            f"{weighting_name} needs each task's gradient, which mtl_kit computes on the "
            f"{', '.join(SUPPORTED_BACKENDS)} backends; this is {backend!r}. Set "
            f"KERAS_BACKEND=jax (or tensorflow, torch) before importing keras, or a loss-level "
            f"strategy ('fixed', 'uncertainty', 'dwa')")


@dataclass(frozen=True)
class GradientPlan:
    """Where each trainable variable's gradient comes from (positions in
    ``model.trainable_variables``)."""

    shared: tuple[int, ...]
    last_shared: tuple[int, ...]
    weighting: tuple[int, ...]


def plan_for(model) -> GradientPlan:
    """The model's :class:`GradientPlan` (computed once, Python-side)."""
    plan = getattr(model, "_gradient_plan", None)
    trainable = model.trainable_variables
    key = tuple(id(v) for v in trainable)  # freezing or unfreezing a layer changes it
    if plan is None or key != getattr(model, "_gradient_plan_key", None):
        positions = {identity: i for i, identity in enumerate(key)}

        def where(variables):
            return tuple(sorted(positions[id(v)] for v in variables if id(v) in positions))

        plan = GradientPlan(shared=where(model.shared_variables),
                            last_shared=where(model.last_shared_variables),
                            weighting=where(model.weighting.trainable_variables))
        object.__setattr__(model, "_gradient_plan", plan)
        object.__setattr__(model, "_gradient_plan_key", key)
    return plan


def gram_matrix(grads, positions, n_tasks: int):
    """M = Σ_v G_v G_vᵀ over the variables at ``positions`` (G_v: (T, size of v))."""
    gram = ops.zeros((n_tasks, n_tasks))
    for i in positions:
        flat = ops.reshape(grads[i][:n_tasks], (n_tasks, -1))
        gram = gram + ops.matmul(flat, ops.transpose(flat))
    return gram


def combine_gradients(model, grads, losses, step):
    """The update for every trainable variable from per-task gradients.

    ``grads``: one tensor per trainable variable, shape (T + extra, *variable shape): row t is
    ∇L_t, and a last row (when the model has a penalty or regulariser) that term's gradient.
    Returns ``(updates, weights, gram)``; the strategy's own variables are left as zeros here.
    """
    plan = plan_for(model)
    weighting = model.weighting
    n_tasks = len(model.tasks)
    gram = gram_matrix(grads, plan.shared, n_tasks)
    gradients = TaskGradients(gram=gram, losses=losses, step=step,
                              last_layer_gram=gram_matrix(grads, plan.last_shared, n_tasks))
    if isinstance(weighting, GradientWeighting):
        weights = weighting.gradient_weights(gradients)
    else:
        weights = weighting.task_weights()
    weights = ops.stop_gradient(ops.convert_to_tensor(weights, dtype="float32"))
    own = weights if weighting.weights_task_parameters else ops.ones((n_tasks,))
    shared, skip = set(plan.shared), set(plan.weighting)
    updates = []
    for i, grad in enumerate(grads):
        if i in skip:
            updates.append(ops.zeros(grad.shape[1:], dtype=grad.dtype))
            continue
        coefficients = weights if i in shared else own
        update = ops.tensordot(coefficients, grad[:n_tasks], axes=1)
        if grad.shape[0] > n_tasks:
            update = update + grad[n_tasks]
        updates.append(update)
    return updates, weights, gradients


def logged_loss(model, losses, extra):
    """The "loss" the step reports, the same number ``evaluate`` reports: the strategy's
    L = Σ_t w_t L_t (+ R) (Σ_t L_t for PCGrad, MGDA and CAGrad, which weight gradients, not
    losses) plus the penalty and regularisers."""
    return model.weighting.combine([losses[t] for t in range(len(model.tasks))]) + extra


def update_diagnostics(model, gram, weights) -> None:
    """Feed this step's gradient norms, cosines and weights to the model's trackers."""
    norms = ops.sqrt(ops.maximum(ops.diagonal(gram), 0.0))
    trackers = model.gradient_trackers
    for t, name in enumerate(model.task_names):
        trackers[f"{name}_grad_norm"].update_state(norms[t])
        trackers[f"{name}_weight"].update_state(weights[t])
    for a, first in enumerate(model.task_names):
        for b in range(a + 1, len(model.task_names)):
            cosine = gram[a, b] / ops.maximum(norms[a] * norms[b], 1e-12)
            trackers[f"grad_cosine_{first}_{model.task_names[b]}"].update_state(cosine)


# --------------------------------------------------------------------------------------------
# JAX
# --------------------------------------------------------------------------------------------
def train_step_jax(model, state, data):
    """``MultiTaskNet.train_step`` on JAX: ``(logs, state) = step(state, data)``, pure."""
    import jax
    from keras.src.backend import StatelessScope
    from keras.utils import unpack_x_y_sample_weight

    trainable, non_trainable, optimizer_values, metrics_values = state
    x, y, _ = unpack_x_y_sample_weight(data)
    n_tasks = len(model.tasks)
    found_extra = []  # set while JAX traces ``forward``: is there a penalty or regulariser?

    def forward(trainable_values):
        y_pred, non_trainable_values, extra_losses = model.stateless_call(
            trainable_values, non_trainable, x, training=True, return_losses=True)
        mapping = [*zip(model.trainable_variables, trainable_values, strict=True),
                   *zip(model.non_trainable_variables, non_trainable_values, strict=True),
                   *zip(model.metrics_variables, metrics_values, strict=True)]
        with StatelessScope(state_mapping=mapping) as scope:
            losses = model.task_losses(y, y_pred, update_trackers=True)
            extra = model.extra_loss(extra_losses)
        new_metrics = [scope.get_current_value(v) for v in model.metrics_variables]
        found_extra.append(extra is not None)
        outputs = ops.stack(losses + ([extra] if extra is not None else []))
        return outputs, (non_trainable_values, new_metrics)

    outputs, pullback, (non_trainable, metrics_values) = jax.vjp(forward, trainable,
                                                                 has_aux=True)
    # one pullback per output (∇L_t: the cotangent e_t), stacked per variable: (T, *shape).
    # Called one by one rather than jax.vmap-ed over the T cotangents: on the course's
    # hard-sharing model (batch 512, 5 seeds vmapped) that took about 15 % less CPU per step.
    unit = jax.numpy.eye(outputs.shape[0], dtype=outputs.dtype)
    per_output = [pullback(unit[t])[0] for t in range(outputs.shape[0])]
    grads = [jax.numpy.stack(values) for values in zip(*per_output, strict=True)]
    losses = outputs[:n_tasks]
    extra = outputs[n_tasks] if found_extra[0] else 0.0

    plan = plan_for(model)
    step = next(value for variable, value in zip(model.optimizer.variables, optimizer_values,
                                                 strict=True)
                if variable is model.optimizer.iterations)
    weighting = model.weighting
    weighting_mapping = [*zip(model.trainable_variables, trainable, strict=True),
                         *zip(model.non_trainable_variables, non_trainable, strict=True)]
    with StatelessScope(state_mapping=weighting_mapping) as scope:
        updates, weights, gradients = combine_gradients(model, grads, losses, step)
        # logged with the weights of this step (before the update), as Keras' own step does
        total = logged_loss(model, losses, extra)
    non_trainable = [_current(scope, v, value) for v, value in
                     zip(model.non_trainable_variables, non_trainable, strict=True)]
    if plan.weighting:
        own_values = [trainable[i] for i in plan.weighting]
        fixed_mapping = list(zip(model.non_trainable_variables, non_trainable, strict=True))

        def strategy_loss(values):
            mapping = [*zip(weighting.trainable_variables, values, strict=True), *fixed_mapping]
            with StatelessScope(state_mapping=mapping):
                return weighting.weighting_loss(_constant(gradients))

        for i, grad in zip(plan.weighting, jax.grad(strategy_loss)(own_values), strict=True):
            updates[i] = grad

    trainable, optimizer_values = model.optimizer.stateless_apply(
        optimizer_values, updates, trainable)

    mapping = [*zip(model.metrics_variables, metrics_values, strict=True),
               *zip(model.trainable_variables, trainable, strict=True),
               *zip(model.non_trainable_variables, non_trainable, strict=True)]
    with StatelessScope(state_mapping=mapping) as scope:
        model._loss_tracker.update_state(total, sample_weight=_batch_rows(x))
        update_diagnostics(model, gradients.gram, weights)
        logs = model.training_logs()
    metrics_values = [_current(scope, v, value) for v, value in
                      zip(model.metrics_variables, metrics_values, strict=True)]
    return logs, (trainable, non_trainable, optimizer_values, metrics_values)


def _current(scope, variable, default):
    value = scope.get_current_value(variable)
    return default if value is None else value


def _constant(gradients: TaskGradients) -> TaskGradients:
    return TaskGradients(*(ops.stop_gradient(v) for v in (
        gradients.gram, gradients.last_layer_gram, gradients.losses)), step=gradients.step)


def _batch_rows(x):
    import jax

    return jax.tree_util.tree_leaves(x)[0].shape[0]


# --------------------------------------------------------------------------------------------
# TensorFlow
# --------------------------------------------------------------------------------------------
def train_step_tensorflow(model, data):
    """``MultiTaskNet.train_step`` on TensorFlow: per-task gradients from a persistent tape."""
    import tensorflow as tf
    from keras.utils import unpack_x_y_sample_weight

    x, y, _ = unpack_x_y_sample_weight(data)
    n_tasks = len(model.tasks)
    variables = model.trainable_variables
    with tf.GradientTape(persistent=True) as tape:
        y_pred = model(x, training=True)
        losses = model.task_losses(y, y_pred, update_trackers=True)
        extra = model.extra_loss(model.losses)
    targets = losses + ([extra] if extra is not None else [])
    watched = [v.value for v in variables]  # the tf.Variables (Keras' dtype is a string)
    per_output = [tape.gradient(target, watched,
                                unconnected_gradients=tf.UnconnectedGradients.ZERO)
                  for target in targets]
    del tape
    grads = [tf.stack([tf.convert_to_tensor(per_output[k][i]) for k in range(len(targets))])
             for i in range(len(variables))]
    losses = tf.stack(losses)
    step = model.optimizer.iterations
    updates, weights, gradients = combine_gradients(model, grads, losses, step)
    plan = plan_for(model)
    # Embedding gradients come as tf.IndexedSlices (one row per lookup), and Keras' optimisers
    # treat them apart from dense ones; every task's slices name the same lookups, so combine
    # their values and keep them sparse: the step then matches Keras' own on TensorFlow too.
    own = weights if model.weighting.weights_task_parameters else tf.ones((n_tasks,))
    for i in range(len(variables)):
        rows = [per_output[k][i] for k in range(len(targets))]
        if i not in plan.weighting and all(isinstance(g, tf.IndexedSlices) for g in rows):
            coefficients = weights if i in plan.shared else own
            scale = [coefficients[k] for k in range(n_tasks)] + [1.0] * (len(rows) - n_tasks)
            values = tf.add_n([c * g.values for c, g in zip(scale, rows, strict=True)])
            updates[i] = tf.IndexedSlices(values, rows[0].indices, rows[0].dense_shape)
    if plan.weighting:
        weighting = model.weighting
        with tf.GradientTape() as strategy_tape:
            strategy_loss = weighting.weighting_loss(_constant(gradients))
        own = strategy_tape.gradient(strategy_loss,
                                     [v.value for v in weighting.trainable_variables],
                                     unconnected_gradients=tf.UnconnectedGradients.ZERO)
        for i, grad in zip(plan.weighting, own, strict=True):
            updates[i] = grad
    total = logged_loss(model, losses, 0.0 if extra is None else extra)  # this step's weights
    model.optimizer.apply(updates, variables)
    model._loss_tracker.update_state(total, sample_weight=tf.shape(tf.nest.flatten(x)[0])[0])
    update_diagnostics(model, gradients.gram, weights)
    return model.training_logs()


# --------------------------------------------------------------------------------------------
# PyTorch
# --------------------------------------------------------------------------------------------
def train_step_torch(model, data):
    """``MultiTaskNet.train_step`` on PyTorch: one forward pass, then ``torch.autograd.grad``
    once per task (the graph kept between them)."""
    import torch
    from keras.utils import unpack_x_y_sample_weight

    x, y, _ = unpack_x_y_sample_weight(data)
    variables = model.trainable_variables
    y_pred = model(x, training=True)
    losses = model.task_losses(y, y_pred, update_trackers=True)
    extra = model.extra_loss(model.losses)
    targets = losses + ([extra] if extra is not None else [])
    watched = [v.value for v in variables]  # the torch Parameters
    grads = []
    for target in targets:
        found = torch.autograd.grad(target, watched, retain_graph=True, allow_unused=True)
        grads.append([torch.zeros_like(w) if g is None else g  # unconnected: zero
                      for w, g in zip(watched, found, strict=True)])
    grads = [torch.stack([grads[k][i] for k in range(len(targets))])
             for i in range(len(variables))]
    losses = torch.stack([loss.detach() for loss in losses])
    plan = plan_for(model)
    with torch.no_grad():
        updates, weights, gradients = combine_gradients(model, grads, losses,
                                                        model.optimizer.iterations)
    if plan.weighting:
        weighting = model.weighting
        strategy_loss = weighting.weighting_loss(_constant(gradients))
        own = torch.autograd.grad(strategy_loss, [v.value for v in weighting.trainable_variables],
                                  allow_unused=True)
        for i, grad, variable in zip(plan.weighting, own, weighting.trainable_variables,
                                     strict=True):
            updates[i] = torch.zeros_like(variable.value) if grad is None else grad
    with torch.no_grad():
        total = logged_loss(model, losses, 0.0 if extra is None else extra.detach())
        model.optimizer.apply(updates, variables)
        model._loss_tracker.update_state(total, sample_weight=_torch_rows(x))
        update_diagnostics(model, gradients.gram, weights)
    return model.training_logs()


def _torch_rows(x) -> int:
    from keras import tree

    return int(next(i for i in tree.flatten(x) if i is not None).shape[0])


def train_step(model, *args):
    """Dispatch to the backend's per-task gradient step."""
    backend = keras.backend.backend()
    if backend == "jax":
        return train_step_jax(model, *args)
    if backend == "tensorflow":
        return train_step_tensorflow(model, *args)
    if backend == "torch":
        return train_step_torch(model, *args)
    check_backend(type(model.weighting).__name__)
    raise AssertionError("unreachable")


__all__ = ["SUPPORTED_BACKENDS", "check_backend", "combine_gradients", "gram_matrix",
           "plan_for", "train_step"]
