"""Epoch time of Keras ``fit`` vs a hand-written jitted JAX loop, same model and optimiser.

    python benchmarks/bench_fit_vs_jax.py [--epochs 5]

Model: hard sharing on a plain float matrix (20,000 rows x 32 features), shared (64, 32), one
(16,) head per task, two regression tasks; Adam (lr 1e-3, β1 0.9, β2 0.999, ε 1e-7), batch 256,
shuffled every epoch. The JAX loop starts from the Keras model's initial weights and
normalisation. Target: Keras epoch time / JAX epoch time <= 1.5 (JAX backend, 2-core CPU).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

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

    params, m, v, t, _ = run_epoch(params, m, v, t)  # warm-up: compiles both batch shapes
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        params, m, v, t, _ = run_epoch(params, m, v, t)
        times.append(time.perf_counter() - start)
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
    model.reset()  # the JAX loop starts from these initial weights
    jax_times = []
    keras_times = []
    for _ in range(args.repeats):
        jax_times += jax_loop(model, x, y, args.epochs, 256)
        model.reset()
        start = time.perf_counter()
        model.fit(x, y, epochs=args.epochs, batch_size=256)
        keras_times.append((time.perf_counter() - start) / args.epochs)
    keras_epoch, jax_epoch = statistics.median(keras_times), statistics.median(jax_times)
    print(f"backend: {keras.backend.backend()}, cpus: {os.cpu_count()}, "
          f"load average: {os.getloadavg()[0]:.2f}")
    print(f"steps_per_execution: {model.steps_per_execution}")
    print(f"Keras fit: {keras_epoch * 1000:.1f} ms/epoch; hand-written jitted JAX loop: "
          f"{jax_epoch * 1000:.1f} ms/epoch (20,000 x 32, batch 256, median)")
    print(f"ratio: {keras_epoch / jax_epoch:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
