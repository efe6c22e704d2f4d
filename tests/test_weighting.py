"""Each loss-balancing strategy's defining property (mtl_kit.weighting, issue 12).

The gradient-level strategies are pure functions of the task gradients (their Gram matrix), so
they are checked on random gradients against what the papers say they compute: PCGrad against a
direct NumPy transcription of its algorithm, MGDA against a brute-force search of the simplex,
CAGrad against SciPy's SLSQP (what the paper's code uses). The loss-level strategies are checked
on hand-computed numbers (DWA) and by what they learn on problems whose answer is known
(uncertainty weighting: 1/σ²; GradNorm: equal weighted gradient norms for α = 0, and
norm ratios that move toward r_t^α for α = 1.5).
"""

import mtl_kit  # noqa: F401  (selects the backend before keras)

# isort: split
import math

import keras
import numpy as np
import pytest
from keras import ops
from scipy.optimize import minimize

from mtl_kit.models import build_hard_sharing
from mtl_kit.tasks import TaskSpec
from mtl_kit.weighting import (
    DynamicWeightAverage,
    GradNorm,
    TaskGradients,
    UncertaintyWeighting,
    cagrad_direction,
    cagrad_weights,
    dwa_weights,
    gram_of,
    mgda_direction,
    min_norm_weights,
    pcgrad_coefficients,
    pcgrad_direction,
)
from mtl_kit.weighting.cagrad import cagrad_objective


def compiled(function):
    """``function`` compiled once per input shape (an eager call of a solver with a
    ``fori_loop`` traces it again, ~40 ms; many random problems would take seconds)."""
    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(function)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(function)
    return function


def gradient_of(loss, variable) -> np.ndarray:
    """d loss() / d variable with the backend's automatic differentiation."""
    if keras.backend.backend() == "jax":
        import jax
        from keras.src.backend import StatelessScope

        def at(value):
            with StatelessScope(state_mapping=[(variable, value)]):
                return loss()

        return np.asarray(jax.grad(at)(variable.value))
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            value = loss()
        return tape.gradient(value, variable.value).numpy()
    pytest.skip("automatic differentiation on JAX or TensorFlow")


def numpy(tensor) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(tensor), dtype="float64")


def random_gradients(rng, n_tasks: int, size: int = 12, spread: float = 1.0) -> np.ndarray:
    """(T, P) float32 gradients with norms differing by up to a factor ``spread``."""
    scales = np.exp(rng.uniform(-np.log(spread), np.log(spread), size=(n_tasks, 1))) \
        if spread > 1 else np.ones((n_tasks, 1))
    return (rng.normal(size=(n_tasks, size)) * scales).astype("float32")


# --------------------------------------------------------------------------------------------
# PCGrad (Yu et al. 2020)
# --------------------------------------------------------------------------------------------
def pcgrad_reference(grads: np.ndarray, step: int) -> tuple[np.ndarray, list[list[int]]]:
    """The paper's algorithm on the gradients themselves (float64): for each task i, for each
    other task j in the order j = (step + k) mod T, k = 0..T-1, project g_i' off the original
    g_j when g_i' · g_j < 0. Returns the projected g_i' and, per i, the j it was projected on
    (in order)."""
    grads = np.asarray(grads, dtype="float64")
    n_tasks = len(grads)
    projected, projected_on = [], []
    for i in range(n_tasks):
        g = grads[i].copy()
        done = []
        for k in range(n_tasks):
            j = (step + k) % n_tasks
            if j != i and g @ grads[j] < 0:
                g = g - (g @ grads[j]) / (grads[j] @ grads[j]) * grads[j]
                done.append(j)
        projected.append(g)
        projected_on.append(done)
    return np.stack(projected), projected_on


def pcgrad_problems(n_tasks: int, count: int = 60):
    """Random gradients, every other one with a strongly conflicting pair (g_1 ≈ −g_0)."""
    rng = np.random.default_rng(100 + n_tasks)
    for index in range(count):
        grads = random_gradients(rng, n_tasks, spread=5.0)
        if index % 2:
            grads[1] = -rng.uniform(0.5, 3.0) * grads[0] + 0.1 * grads[1]
        yield index, grads


@pytest.mark.parametrize("n_tasks", [2, 3, 4])
def test_pcgrad_matches_the_papers_algorithm_in_every_visiting_order(n_tasks):
    coefficients = compiled(pcgrad_coefficients)
    for index, grads in pcgrad_problems(n_tasks):
        scale = np.abs(grads).max()
        for step in range(n_tasks):
            expected, _ = pcgrad_reference(grads, step)
            c = numpy(coefficients(gram_of(grads), step))
            np.testing.assert_allclose(c @ grads, expected, atol=2e-5 * scale,
                                       err_msg=f"problem {index}, step {step}")
            if index < 6:  # the (uncompiled) convenience function, on a few problems
                np.testing.assert_allclose(numpy(pcgrad_direction(grads, step)),
                                           expected.sum(0), atol=5e-5 * scale)
        # the order rotates with the step counter and wraps around after T steps
        np.testing.assert_allclose(numpy(coefficients(gram_of(grads), n_tasks + 1)),
                                   numpy(coefficients(gram_of(grads), 1)), atol=1e-6)


@pytest.mark.parametrize("n_tasks", [2, 3, 4])
def test_pcgrad_leaves_no_conflict_with_the_gradient_last_projected_on(n_tasks):
    """Right after g_i' is projected off g_j, g_i' · g_j = 0; the last projection is never
    undone. For two tasks that is every projection: no conflict is left at all."""
    coefficients = compiled(pcgrad_coefficients)
    conflicts = 0
    for index, grads in pcgrad_problems(n_tasks):
        step = index % n_tasks
        g = grads.astype("float64")
        projected = numpy(coefficients(gram_of(grads), step)) @ g
        _, projected_on = pcgrad_reference(grads, step)
        for i, done in enumerate(projected_on):
            conflicts += bool(done)
            if done:
                last = done[-1]
                assert projected[i] @ g[last] >= -1e-4 * (g[i] @ g[i] + g[last] @ g[last])
            if n_tasks == 2:
                j = 1 - i
                assert projected[i] @ g[j] >= -1e-4 * (g[i] @ g[i] + g[j] @ g[j]), (index, i)
    assert conflicts >= 30  # the problems do conflict (half of them strongly)


def test_pcgrad_with_three_tasks_can_bring_back_an_earlier_conflict():
    """The paper's projections are sequential: projecting g_0' off g_2 after g_1 can point it
    against g_1 again (the docstring must not promise "no conflict with any g_j" for T > 2)."""
    grads = np.array([[1.0, 0.0], [-0.2, 1.0], [-1.0, -1.0]], dtype="float32")
    projected = numpy(pcgrad_coefficients(gram_of(grads), 0)) @ grads.astype("float64")
    reference, projected_on = pcgrad_reference(grads, 0)
    np.testing.assert_allclose(projected, reference, atol=1e-6)
    assert projected_on[0] == [1, 2]                 # g_0 was projected off g_1, then g_2
    assert projected[0] @ grads[2] == pytest.approx(0.0, abs=1e-6)  # the last: no conflict
    assert projected[0] @ grads[1] < -0.1            # the first conflict is back


def test_pcgrad_without_conflict_is_the_plain_sum():
    rng = np.random.default_rng(7)
    for n_tasks in (2, 3, 4):
        base = rng.normal(size=12)
        # every pair agrees: g_t = base + small noise (all inner products > 0)
        grads = (base + 0.3 * rng.normal(size=(n_tasks, 12))).astype("float32")
        assert (grads @ grads.T > 0).all()
        for step in range(n_tasks):
            np.testing.assert_allclose(numpy(pcgrad_coefficients(gram_of(grads), step)),
                                       np.eye(n_tasks), atol=1e-7)
            np.testing.assert_allclose(numpy(pcgrad_direction(grads, step)), grads.sum(0),
                                       rtol=1e-5, atol=1e-5)
    # exactly orthogonal gradients do not conflict either
    grads = np.array([[1.0, 0.0], [0.0, 2.0]], dtype="float32")
    np.testing.assert_allclose(numpy(pcgrad_direction(grads)), [1.0, 2.0], atol=1e-7)


# --------------------------------------------------------------------------------------------
# MGDA (Sener & Koltun 2018)
# --------------------------------------------------------------------------------------------
def simplex_grid(n_tasks: int, spacing: float) -> np.ndarray:
    steps = round(1 / spacing)
    if n_tasks == 2:
        first = np.arange(steps + 1) / steps
        return np.stack([first, 1 - first], axis=1)
    a, b = np.meshgrid(np.arange(steps + 1), np.arange(steps + 1), indexing="ij")
    keep = a + b <= steps
    a, b = a[keep] / steps, b[keep] / steps
    return np.stack([a, b, np.clip(1 - a - b, 0.0, 1.0)], axis=1)


#: MGDA is exact (closed form for two tasks, face by face for three): float32 rounding only,
#: relative to max_t ‖g_t‖². The grid is coarser than that, so the solver may beat it.
MGDA_TOLERANCE = 1e-5


@pytest.mark.parametrize(("n_tasks", "spacing"), [(2, 0.005), (3, 0.01)])
def test_mgda_finds_the_min_norm_point_of_the_simplex(n_tasks, spacing):
    grid = simplex_grid(n_tasks, spacing)
    solve = compiled(min_norm_weights)
    rng = np.random.default_rng(n_tasks)
    for index in range(60):
        grads = random_gradients(rng, n_tasks, size=8, spread=3.0)
        if index % 3 == 0:  # a strong conflict: the min-norm point is inside the simplex
            grads[1] = -0.8 * grads[0] + 0.2 * grads[1]
        gram = grads.astype("float64") @ grads.T.astype("float64")
        weights = numpy(solve(gram_of(grads)))
        assert weights.min() >= -1e-6 and weights.sum() == pytest.approx(1.0, abs=1e-5)
        value = weights @ gram @ weights
        best_on_grid = np.einsum("ni,ij,nj->n", grid, gram, grid).min()
        tolerance = MGDA_TOLERANCE * gram.diagonal().max()
        assert value <= best_on_grid + tolerance, (index, value, best_on_grid)
        # the min-norm direction helps every task: d · g_t >= ‖d‖² (KKT of the problem)
        d = weights @ grads.astype("float64")
        assert (grads @ d >= d @ d - tolerance).all(), (index, grads @ d, d @ d)
        if index < 6:
            np.testing.assert_allclose(numpy(mgda_direction(grads)), d,
                                       atol=1e-4 * np.abs(d).max() + 1e-6)


@pytest.mark.parametrize("n_tasks", [4, 5])
def test_mgda_direction_decreases_every_tasks_loss(n_tasks):
    """The min-norm direction satisfies d · g_t >= ‖d‖² for every task (its optimality
    condition), also with more tasks than gradient dimensions and with collinear gradients
    (Frank-Wolfe, the papers' solver, missed this on 3 of 900 random problems)."""
    solve = compiled(min_norm_weights)
    rng = np.random.default_rng(40 + n_tasks)
    for index in range(200):
        grads = random_gradients(rng, n_tasks, size=(3 if index % 2 else 12), spread=3.0)
        if index % 5 == 0:
            grads[1] = -0.7 * grads[0]
        if index % 7 == 0:
            grads[2] = grads[0]
        g = grads.astype("float64")
        weights = numpy(solve(gram_of(grads)))
        assert weights.min() >= -1e-6 and weights.sum() == pytest.approx(1.0, abs=1e-5)
        d = weights @ g
        tolerance = 1e-5 * (g * g).sum(1).max()
        assert (g @ d >= d @ d - tolerance).all(), (index, g @ d, d @ d)


def test_solvers_beyond_the_exact_range_stay_close():
    """More than MAX_EXACT_TASKS tasks: Frank-Wolfe (MGDA) and exponentiated gradient (CAGrad)
    approximate the optimum; they stay on the simplex and near the exact answer."""
    from mtl_kit.weighting.simplex import MAX_EXACT_TASKS, exact_cagrad, exact_min_norm

    n_tasks = MAX_EXACT_TASKS + 1
    rng = np.random.default_rng(5)
    grads = random_gradients(rng, n_tasks, size=30, spread=2.0)
    gram = gram_of(grads)
    g = numpy(gram)
    approximate = numpy(min_norm_weights(gram, 250))
    exact = numpy(exact_min_norm(gram))
    assert approximate.min() >= -1e-6 and approximate.sum() == pytest.approx(1.0, abs=1e-5)
    assert approximate @ g @ approximate <= exact @ g @ exact + 1e-2 * g.diagonal().max()
    lifted = numpy(cagrad_weights(gram, 0.4))
    best = (1 + 0.16) * lifted - 1 / n_tasks
    best = best / best.sum()
    mine = float(numpy(cagrad_objective(best.astype("float32"), gram, 0.4)))
    phi = 0.4 * math.sqrt(g.mean())
    optimum = float(numpy(cagrad_objective(exact_cagrad(gram, phi), gram, 0.4)))
    assert mine <= optimum + 0.03 * g.mean()


def test_mgda_two_tasks_closed_form_and_pareto_stationary_points():
    """T = 2: minimise ‖γ g_1 + (1 − γ) g_2‖² over γ ∈ [0, 1], a parabola in γ."""
    rng = np.random.default_rng(11)
    for _ in range(50):
        g1, g2 = rng.normal(size=(2, 6)) * rng.uniform(0.2, 3.0, size=(2, 1))
        # ‖γ g1 + (1-γ) g2‖² = γ² ‖g1 − g2‖² + 2γ (g1 − g2)·g2 + ‖g2‖², vertex at:
        gamma = float(np.clip(-((g1 - g2) @ g2) / ((g1 - g2) @ (g1 - g2)), 0.0, 1.0))
        weights = numpy(min_norm_weights(gram_of(np.stack([g1, g2]))))
        np.testing.assert_allclose(weights, [gamma, 1 - gamma], atol=1e-5)
    opposite = np.array([[1.0, 2.0], [-2.0, -4.0]], dtype="float32")  # g_2 = −2 g_1
    np.testing.assert_allclose(numpy(min_norm_weights(gram_of(opposite))), [2 / 3, 1 / 3],
                               atol=1e-6)
    np.testing.assert_allclose(numpy(mgda_direction(opposite)), [0.0, 0.0], atol=1e-6)
    same = np.array([[1.0, 2.0], [1.0, 2.0]], dtype="float32")  # no conflict, no preference
    np.testing.assert_allclose(numpy(mgda_direction(same)), [1.0, 2.0], atol=1e-6)
    dominated = np.array([[3.0, 0.0], [1.0, 0.0]], dtype="float32")  # the shorter one wins
    np.testing.assert_allclose(numpy(min_norm_weights(gram_of(dominated))), [0.0, 1.0])


# --------------------------------------------------------------------------------------------
# CAGrad (Liu et al. 2021)
# --------------------------------------------------------------------------------------------
def cagrad_reference(gram: np.ndarray, c: float) -> np.ndarray:
    """w* = argmin_{w ∈ Δ} w·b + c‖g_0‖‖g_w‖ with SciPy's SLSQP (as the paper's code), the best
    of T + 1 starting points."""
    n_tasks = len(gram)
    b = gram.mean(axis=1)
    phi = c * math.sqrt(gram.mean())

    def objective(w):
        return w @ b + phi * math.sqrt(max(w @ gram @ w, 0.0) + 1e-12)

    starts = [np.full(n_tasks, 1 / n_tasks), *np.eye(n_tasks)]
    results = [minimize(objective, start, method="SLSQP", bounds=[(0, 1)] * n_tasks,
                        constraints={"type": "eq", "fun": lambda w: w.sum() - 1})
               for start in starts]
    return min(results, key=lambda r: r.fun).x


def cagrad_problems():
    rng = np.random.default_rng(21)
    for n_tasks in (2, 3, 4):
        for index in range(40):
            c = (0.1, 0.4, 1.0)[index % 3]
            yield n_tasks, c, random_gradients(rng, n_tasks, size=10, spread=3.0)


def test_cagrad_with_c_zero_is_the_average_gradient():
    rng = np.random.default_rng(3)
    for n_tasks in (2, 3, 4):
        grads = random_gradients(rng, n_tasks)
        weights = numpy(cagrad_weights(gram_of(grads), 0.0))
        assert (weights == np.float32(1 / n_tasks)).all()
        np.testing.assert_allclose(numpy(cagrad_direction(grads, 0.0)), grads.mean(0),
                                   rtol=1e-6, atol=1e-7)


def test_cagrad_reaches_scipys_objective():
    """F(w) = g_w · g_0 + c‖g_0‖‖g_w‖ at the solver's w* against SLSQP's, relative to ‖g_0‖².

    The in-graph solver is exact (the optimum of every face of the simplex in closed form): it
    matches SciPy to float32 rounding, and beats it where SLSQP stops short.
    """
    solve = {}
    gaps = []
    for n_tasks, c, grads in cagrad_problems():
        key = (n_tasks, c)
        if key not in solve:
            solve[key] = compiled(lambda gram, c=c: cagrad_weights(gram, c))
        gram = grads.astype("float64") @ grads.T.astype("float64")
        lifted = numpy(solve[key](gram_of(grads)))
        # w' = (1/T + lift · w*) / (1 + c²): recover w* (it sums to one)
        best = (1 + c * c) * lifted - 1 / n_tasks
        best = best / best.sum()
        assert best.min() >= -1e-5
        reference = cagrad_reference(gram, c)
        mine = float(numpy(cagrad_objective(best.astype("float32"), gram_of(grads), c)))
        theirs = float(numpy(cagrad_objective(reference.astype("float32"), gram_of(grads), c)))
        # cagrad_objective is the formula of the docstring
        b, g0 = gram.mean(1), math.sqrt(gram.mean())
        assert theirs == pytest.approx(reference @ b + c * g0 * math.sqrt(
            reference @ gram @ reference), rel=1e-4, abs=1e-4 * gram.mean())
        gaps.append((mine - theirs) / gram.mean())
    gaps = np.array(gaps)
    assert gaps.max() <= 1e-4, np.sort(gaps)[-5:]


def test_cagrad_direction_stays_in_the_ball_and_lifts_the_worst_task():
    """d = (g_0 + (c‖g_0‖/‖g_w‖) g_w) / (1 + c²) (the official rescaling): (1 + c²) d lies on
    the sphere ‖· − g_0‖ = c‖g_0‖, and its worst task's rate min_t g_t · (1 + c²) d is never
    below the average gradient's and reaches the optimum F(w*) (SciPy's w* in the official
    formula) to float32 rounding."""
    gaps, solve = [], {}
    for index, (n_tasks, c, grads) in enumerate(list(cagrad_problems())[::2]):
        g = grads.astype("float64")
        gram = g @ g.T
        g0 = g.mean(0)
        radius = c * np.linalg.norm(g0)
        if (n_tasks, c) not in solve:
            solve[n_tasks, c] = compiled(lambda gram, c=c: cagrad_weights(gram, c))
        d = numpy(solve[n_tasks, c](gram_of(grads))) @ g
        if index % 20 == 0:  # the (uncompiled) convenience function, on a few problems
            np.testing.assert_allclose(numpy(cagrad_direction(grads, c)), d, rtol=1e-5,
                                       atol=1e-5 * np.abs(d).max())
        d = d * (1 + c * c)
        assert np.linalg.norm(d - g0) <= radius + 1e-4 * np.linalg.norm(g0)
        assert np.linalg.norm(d - g0) == pytest.approx(radius, rel=1e-3)  # on the sphere
        reference = cagrad_reference(gram, c)
        g_w = reference @ g
        official = g0 + radius / np.linalg.norm(g_w) * g_w
        dual = reference @ gram.mean(1) + radius * np.linalg.norm(g_w)
        assert (g @ official).min() == pytest.approx(dual, abs=1e-3 * gram.mean())
        assert (g @ d).min() >= (g @ g0).min() + 1e-3 * gram.mean()  # better than the average
        gaps.append((dual - (g @ d).min()) / gram.mean())
    gaps = np.array(gaps)
    assert np.abs(gaps).max() <= 1e-3, np.sort(gaps)[-5:]


# --------------------------------------------------------------------------------------------
# DWA (Liu et al. 2019)
# --------------------------------------------------------------------------------------------
def test_dwa_weights_formula():
    # r = (0.5, 0.9), τ = 2: w = 2 · softmax(r / 2) = (2 / (1 + e^0.2), 2 e^0.2 / (1 + e^0.2))
    weights = dwa_weights([0.5, 1.8], [1.0, 2.0], temperature=2.0)
    np.testing.assert_allclose(weights, [0.9003320053750442, 1.0996679946249558], rtol=1e-12)
    rng = np.random.default_rng(0)
    for n_tasks in (2, 3, 5):
        previous, before = rng.uniform(0.1, 2.0, size=(2, n_tasks))
        for temperature in (0.5, 2.0, 10.0):
            weights = dwa_weights(previous, before, temperature)
            assert weights.sum() == pytest.approx(n_tasks) and (weights > 0).all()
            # the task whose loss fell least gets the largest weight
            assert np.argmax(weights) == np.argmax(previous / before)
        np.testing.assert_allclose(dwa_weights(previous, before, 1e6), np.ones(n_tasks),
                                   rtol=1e-5)
        np.testing.assert_allclose(dwa_weights(previous, previous, 0.1), np.ones(n_tasks))
    # a large ratio does not overflow at a small temperature
    assert np.isfinite(dwa_weights([1e3, 1.0], [1.0, 1.0], 0.01)).all()


def test_dwa_layer_updates_after_every_epoch_from_the_second_on():
    strategy = DynamicWeightAverage(["a", "b"], temperature=2.0)

    def weights():
        return numpy(strategy.task_weights())

    assert strategy.updates_per_epoch and not strategy.needs_task_gradients
    np.testing.assert_array_equal(weights(), [1.0, 1.0])         # epoch 1
    strategy.end_epoch({"a": 1.0, "b": 2.0})
    np.testing.assert_array_equal(weights(), [1.0, 1.0])         # epoch 2: no ratio yet
    strategy.end_epoch({"a": 0.5, "b": 1.8})                     # r = (0.5, 0.9)
    np.testing.assert_allclose(weights(), [0.9003320, 1.0996680], rtol=1e-6)   # epoch 3
    strategy.end_epoch({"b": 1.0, "a": 0.45})                    # r = (0.9, 0.5556)
    expected_a = 2 / (1 + math.exp((1.0 / 1.8 - 0.9) / 2))
    np.testing.assert_allclose(weights(), [expected_a, 2 - expected_a], rtol=1e-6)
    assert expected_a == pytest.approx(1.0859, abs=1e-4)
    np.testing.assert_allclose(numpy(strategy.loss_history.value), [[0.5, 1.8], [0.45, 1.0]],
                               rtol=1e-6)
    assert float(numpy(strategy.epochs_seen.value)) == 3.0
    # L = Σ w_t L_t with the current weights (no regulariser)
    total = float(numpy(strategy.combine([ops.convert_to_tensor(2.0),
                                          ops.convert_to_tensor(3.0)])))
    assert total == pytest.approx(2 * expected_a + 3 * (2 - expected_a), rel=1e-6)
    hot = DynamicWeightAverage(["a", "b", "c"], temperature=1e4)
    for losses in ({"a": 1.0, "b": 1.0, "c": 1.0}, {"a": 0.1, "b": 0.9, "c": 2.0}):
        hot.end_epoch(losses)
    np.testing.assert_allclose(numpy(hot.task_weights()), [1.0, 1.0, 1.0], rtol=1e-3)


# --------------------------------------------------------------------------------------------
# Uncertainty weighting (Kendall et al. 2018)
# --------------------------------------------------------------------------------------------
def test_uncertainty_weights_and_regulariser_by_hand():
    strategy = UncertaintyWeighting(["r", "b", "m"], ["regression", "binary", "multiclass"])
    strategy.log_variances.assign([math.log(4.0), 0.0, math.log(0.5)])
    np.testing.assert_allclose(numpy(strategy.task_weights()), [0.5 / 4.0, 1.0, 2.0],
                               rtol=1e-6)
    losses = [ops.convert_to_tensor(v) for v in (8.0, 0.5, 0.25)]
    expected = 8.0 / 8.0 + 0.5 + 0.5 + 0.5 * (math.log(4.0) + math.log(0.5))
    assert float(numpy(strategy.combine(losses))) == pytest.approx(expected, rel=1e-6)
    assert strategy.variances() == pytest.approx({"r": 4.0, "b": 1.0, "m": 0.5}, rel=1e-6)


def regression_problem(n: int = 2048, d: int = 4, seed: int = 0):
    """y_a = f(x) + N(0, 0.5²), y_b = g(x) + N(0, 2²): two regression tasks of known noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    f = np.sin(x[:, 0]) + 0.5 * x[:, 1]
    g = 0.5 * x[:, 2] * x[:, 3] + x[:, 1]
    y = {"a": (f + rng.normal(0.0, 0.5, n)).astype("float32"),
         "b": (g + rng.normal(0.0, 2.0, n)).astype("float32")}
    return x, y


def test_uncertainty_weighting_learns_each_tasks_noise():
    """At the optimum of ½ e^{-s} MSE + ½ s, e^{s} = MSE: the learned σ_t² equal the tasks'
    mean squared errors, which are close to the noise variances 0.25 and 4."""
    x, y = regression_problem()
    tasks = [TaskSpec("a", "regression"), TaskSpec("b", "regression")]
    model = build_hard_sharing(tasks, x.shape[1], shared=(32,), head=(16,),
                               weighting="uncertainty", learning_rate=0.01, seed=0)
    history = model.fit(x, y, epochs=60, batch_size=256).history
    variances = model.weighting.variances()
    assert variances["a"] == pytest.approx(0.25, rel=0.25)
    assert variances["b"] == pytest.approx(4.0, rel=0.25)
    for task in ("a", "b"):  # the optimum given the model's error, within a few %
        assert variances[task] == pytest.approx(history[f"{task}_loss"][-1], rel=0.05)
    weights = numpy(model.weighting.task_weights())
    assert weights[0] / weights[1] == pytest.approx(4.0 / 0.25, rel=0.4)  # the noisy task: less


# --------------------------------------------------------------------------------------------
# GradNorm (Chen et al. 2018)
# --------------------------------------------------------------------------------------------
def test_gradnorm_loss_and_its_gradient_by_hand():
    """L_grad = Σ_t |G_t − Ḡ r_t^α| with G_t = w_t ‖∇_W L_t‖; the task with the larger
    weighted norm has its logit pushed down."""
    strategy = GradNorm(["a", "b"], alpha=1.0)
    strategy.initial_losses.assign([2.0, 1.0])
    strategy.started.assign(1.0)
    gradients = TaskGradients(gram=np.eye(2, dtype="float32"),
                              last_layer_gram=np.diag([9.0, 1.0]).astype("float32"),
                              losses=np.array([1.0, 1.0], dtype="float32"), step=0)
    # w = (1, 1): G = (3, 1), Ḡ = 2; L̃ = (0.5, 1), r = (2/3, 4/3); target = (4/3, 8/3)
    value = float(numpy(strategy.weighting_loss(gradients)))
    assert value == pytest.approx(abs(3 - 4 / 3) + abs(1 - 8 / 3), rel=1e-6)

    # dL/dw = (+3, −1) (signs of G − target, the target held constant by stop_gradient);
    # dw/ds = T (diag(p) − p pᵀ) = [[.5, −.5], [−.5, .5]] at s = 0, so dL/ds = (2, −2).
    np.testing.assert_allclose(gradient_of(lambda: strategy.weighting_loss(gradients),
                                           strategy.logits), [2.0, -2.0], rtol=1e-6)
    # the first step of a run records L_t(0)
    fresh = GradNorm(["a", "b"])
    fresh.gradient_weights(TaskGradients(gram=np.eye(2, dtype="float32"),
                                         last_layer_gram=np.eye(2, dtype="float32"),
                                         losses=np.array([0.7, 3.0], dtype="float32"), step=0))
    np.testing.assert_allclose(numpy(fresh.initial_losses.value), [0.7, 3.0])


def test_gradnorm_equalises_the_weighted_gradient_norms():
    """One task's targets are 10× larger, so its gradient on the shared layer W is ~10× larger;
    with α = 0 GradNorm asks for equal weighted norms w_t ‖∇_W L_t‖ and learns the weights
    that give them."""
    rng = np.random.default_rng(0)
    n, d = 1024, 4
    x = rng.normal(size=(n, d)).astype("float32")
    y = {"small": (np.sin(x[:, 0]) + 0.5 * x[:, 1] * x[:, 2]
                   + 0.1 * rng.normal(size=n)).astype("float32"),
         "big": (10 * (np.sin(x[:, 3]) + 0.5 * x[:, 0] * x[:, 1])
                 + rng.normal(size=n)).astype("float32")}
    tasks = [TaskSpec("small", "regression"), TaskSpec("big", "regression")]
    model = build_hard_sharing(tasks, d, shared=(16,), head=(8,), learning_rate=0.02,
                               weighting=GradNorm(["small", "big"], alpha=0.0,
                                                  name="weighting"))
    # the only shared parameters are W (a float input has no trainable encoder), so the logged
    # ‖g_t‖ (on all shared variables) is ‖∇_W L_t‖
    assert {id(v) for v in model.shared_variables} == {
        id(v) for v in model.last_shared_variables}
    history = model.fit(x, y, epochs=15, batch_size=64).history
    weighted = {t: np.array(history[f"{t}_grad_norm"]) * np.array(history[f"{t}_weight"])
                for t in ("small", "big")}
    ratio = weighted["big"] / weighted["small"]
    raw = np.array(history["big_grad_norm"]) / np.array(history["small_grad_norm"])
    assert ratio[0] > 4.0                                 # far apart at the start
    assert abs(np.log(ratio[-3:]).mean()) < 0.5 * abs(np.log(ratio[0]))
    assert ratio[-1] < 0.1 * raw[-1]                      # the weights do the equalising
    weights = np.stack([history["small_weight"], history["big_weight"]])
    assert (weights > 0).all()
    np.testing.assert_allclose(weights.sum(0), 2.0, rtol=1e-5)
    assert weights[0, -1] > 1.5                           # the small-gradient task: up-weighted
    final = numpy(model.weighting.task_weights())
    assert final.sum() == pytest.approx(2.0, rel=1e-6) and (final > 0).all()


def test_gradnorm_moves_the_norm_ratios_toward_their_targets():
    """α = 1.5, three tasks that trained at different rates: descending L_grad moves the
    ratios G_t / Ḡ toward r_t^α (the slow task's gradient up, the fast one's down), as far
    as Σ_t G_t / Ḡ = T allows: Σ_t |G_t/Ḡ − r_t^α| >= |Σ_t r_t^α − T|, reached to rounding."""
    strategy = GradNorm(["a", "b", "c"], alpha=1.5)
    strategy.initial_losses.assign([1.0, 2.0, 0.5])
    strategy.started.assign(1.0)
    losses = np.array([0.9, 1.0, 0.1], dtype="float32")  # L̃ = (0.9, 0.5, 0.2)
    raw = np.array([1.0, 4.0, 0.5])                        # ‖∇_W L_t‖
    gradients = TaskGradients(gram=np.eye(3, dtype="float32"), losses=losses, step=0,
                              last_layer_gram=np.diag(raw ** 2).astype("float32"))
    progress = losses / np.array([1.0, 2.0, 0.5])
    target = (progress / progress.mean()) ** 1.5          # r_t^α
    bound = abs(target.sum() - 3)

    def distance():
        norms = numpy(strategy.task_weights()) * raw
        return np.abs(norms / norms.mean() - target).sum(), norms / norms.mean()

    start, start_ratios = distance()
    assert start > 2.5 and np.argmax(start_ratios) == 1   # task b's gradient dominates
    found = []
    for _ in range(120):
        step = gradient_of(lambda: strategy.weighting_loss(gradients), strategy.logits)
        strategy.logits.assign(numpy(strategy.logits.value) - 0.05 * step)
        found.append(distance())
    distances = np.array([d for d, _ in found])
    assert distances[40:].max() < 0.2 * start, distances[40:].max()
    assert distances.min() == pytest.approx(bound, abs=1e-3)
    # the ratios end in the targets' order: a (slowest) > b > c (fastest)
    assert list(np.argsort(-found[-1][1])) == list(np.argsort(-target)) == [0, 1, 2]


def test_every_strategy_is_built_at_construction():
    """Each strategy makes its variables in __init__ (PCGrad and MGDA have none), so it is
    built at once: an unbuilt layer makes Keras' fit draw a batch to build the model first,
    which uses up a shuffle (``tests/test_epoch_loop.py`` checks the runs then agree)."""
    from mtl_kit.weighting import STRATEGIES, make_weighting

    for name in STRATEGIES:
        assert make_weighting(name, ["a", "b"]).built, name
