"""Epoch time of ``fit`` vs hand-written jitted JAX loops, same model and optimiser.

    python benchmarks/bench_fit_vs_jax.py [--epochs 5]

Model: hard sharing on a plain float matrix (20,000 rows x 32 features), shared (64, 32), one
(16,) head per task, two regression tasks; Adam (lr 1e-3, β1 0.9, β2 0.999, ε 1e-7), batch 256,
shuffled every epoch. The JAX loops start from the Keras model's initial weights and
normalisation. Target: ``fit`` epoch time / JAX epoch time <= 1.5 (JAX backend, 2-core CPU).

Four loops are timed in the same run:

* ``MultiTaskNet.fit``: on JAX, whole epochs in one compiled call (``mtl_kit.epoch_loop``);
* Keras' own ``fit`` on the same model (one compiled call per batch; what ``MultiTaskNet.fit``
  falls back to with per-batch callbacks or a progress bar);
* a hand-written loop calling a jitted train step once per batch (the usual JAX loop; the
  issue's reference);
* a hand-written epoch in ``jax.lax.scan`` (what a JAX expert would write for small data).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from functools import partial

import mtl_kit  # noqa: F401  (selects the backend before keras)

# isort: split
import keras
import numpy as np

from mtl_kit.models import build_hard_sharing
from mtl_kit.tasks import TaskSpec


def make_data(n=20_000, d=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    w1, w2 = rng.normal(size=d), rng.normal(size=d)
    y = {"a": (np.tanh(x @ w1 / 4) + 0.1 * rng.normal(size=n)).astype("float32"),
         "b": (np.sin(x @ w2 / 4) + 0.1 * rng.normal(size=n)).astype("float32")}
    return x, y


def jax_loop(model, x, y, epochs, batch_size, seed=0):
    """A plain jitted JAX training loop of the same network (returns seconds per epoch)."""
    import jax
    import jax.numpy as jnp

    mean = np.asarray(model.encoder.normalizer.mean).reshape(-1)
    var = np.asarray(model.encoder.normalizer.variance).reshape(-1)
    layers = [model.bottom, *model.heads]
    params = {
        "bottom": [(layer.kernel.value, layer.bias.value) for layer in model.bottom],
        "heads": [[(layer.kernel.value, layer.bias.value) for layer in head]
                  for head in model.heads],
        "outputs": [(layer.kernel.value, layer.bias.value) for layer in model.outputs_],
    }
    del layers
    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-7

    def forward(p, xb):
        h = (xb - mean) / jnp.sqrt(jnp.maximum(var, 1e-7))
        for w, b in p["bottom"]:
            h = jax.nn.relu(h @ w + b)
        outs = []
        for head, (w, b) in zip(p["heads"], p["outputs"], strict=True):
            z = h
            for hw, hb in head:
                z = jax.nn.relu(z @ hw + hb)
            outs.append((z @ w + b)[:, 0])
        return outs

    def loss_fn(p, xb, ya, yb):
        pa, pb = forward(p, xb)
        return jnp.mean((ya - pa) ** 2) + jnp.mean((yb - pb) ** 2)

    @jax.jit
    def step(p, m, v, t, xb, ya, yb):
        loss, g = jax.value_and_grad(loss_fn)(p, xb, ya, yb)
        t = t + 1
        m = jax.tree.map(lambda m_, g_: b1 * m_ + (1 - b1) * g_, m, g)
        v = jax.tree.map(lambda v_, g_: b2 * v_ + (1 - b2) * g_ * g_, v, g)
        alpha = lr * jnp.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        p = jax.tree.map(lambda p_, m_, v_: p_ - alpha * m_ / (jnp.sqrt(v_) + eps), p, m, v)
        return p, m, v, t, loss

    m = jax.tree.map(jnp.zeros_like, params)
    v = jax.tree.map(jnp.zeros_like, params)
    t = jnp.zeros((), "float32")
    rng = np.random.default_rng(seed)
    n = x.shape[0]

    def run_epoch(p, m, v, t):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            p, m, v, t, loss = step(p, m, v, t, x[idx], y["a"][idx], y["b"][idx])
        loss.block_until_ready()
        return p, m, v, t, float(loss)

    xd, ya, yb = jnp.asarray(x), jnp.asarray(y["a"]), jnp.asarray(y["b"])
    n_full = n // batch_size

    @jax.jit
    def scanned_epoch(p, m, v, t, order):
        def body(carry, idx):
            *carry, loss = step(*carry, xd[idx], ya[idx], yb[idx])
            return tuple(carry), loss

        carry, losses = jax.lax.scan(
            body, (p, m, v, t), order[: n_full * batch_size].reshape(n_full, batch_size))
        if n > n_full * batch_size:
            carry, loss = body(carry, order[n_full * batch_size:])
        else:
            loss = losses[-1]
        return (*carry, loss)

    def run_scanned_epoch(p, m, v, t):
        p, m, v, t, loss = scanned_epoch(p, m, v, t, jnp.asarray(rng.permutation(n)))
        return p, m, v, t, float(loss)

    times = {}
    for name, epoch_fn in (("per-batch", run_epoch), ("scanned", run_scanned_epoch)):
        state = epoch_fn(params, m, v, t)[:4]  # warm-up: compiles both batch shapes
        times[name] = []
        for _ in range(epochs):
            start = time.perf_counter()
            *state, _ = epoch_fn(*state)
            times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if keras.backend.backend() != "jax":
        raise SystemExit("this benchmark compares with JAX: run it with KERAS_BACKEND=jax")

    x, y = make_data()
    tasks = [TaskSpec("a", "regression"), TaskSpec("b", "regression")]
    model = build_hard_sharing(tasks, 32, shared=(64, 32), head=(16,), seed=0)
    model.fit(x, y, epochs=1, batch_size=256)  # adapts, traces and compiles (warm-up)
    keras.Model.fit(model, x, y, epochs=1, batch_size=256, verbose=0)  # Keras' loop, warm-up
    model.reset()  # the JAX loops start from these initial weights
    times: dict[str, list[float]] = {"fit": [], "keras": [], "per-batch": [], "scanned": []}
    for _ in range(args.repeats):
        for name, values in jax_loop(model, x, y, args.epochs, 256).items():
            times[name] += values
        for name, fit in (("fit", model.fit), ("keras", partial(keras.Model.fit, model))):
            model.reset()
            start = time.perf_counter()
            fit(x, y, epochs=args.epochs, batch_size=256, verbose=0)
            times[name].append((time.perf_counter() - start) / args.epochs)
    ms = {name: statistics.median(values) * 1000 for name, values in times.items()}
    print(f"backend: {keras.backend.backend()}, cpus: {os.cpu_count()}, "
          f"load average: {os.getloadavg()[0]:.2f}")
    print("ms per epoch (20,000 x 32, batch 256, median):")
    print(f"  MultiTaskNet.fit (one compiled call per epoch)     {ms['fit']:6.1f}")
    print(f"  Keras' own fit (steps_per_execution "
          f"{model.steps_per_execution})            {ms['keras']:6.1f}")
    print(f"  hand-written JAX, jitted step per batch            {ms['per-batch']:6.1f}")
    print(f"  hand-written JAX, epoch in lax.scan                {ms['scanned']:6.1f}")
    print(f"ratio fit / hand-written per-batch loop: {ms['fit'] / ms['per-batch']:.2f}x "
          f"(target <= 1.5x)")
    print(f"ratio fit / hand-written scanned epoch: {ms['fit'] / ms['scanned']:.2f}x")
    print(f"ratio Keras' own fit / hand-written per-batch loop: "
          f"{ms['keras'] / ms['per-batch']:.2f}x")

if __name__ == "__main__":
    main()
