"""The MMoE-style task pair: shapes, determinism, the cosine knob vs label correlation."""

import numpy as np
import pytest

from mtl_kit.data import make_mmoe_tasks


def test_shapes_dtypes_and_weights():
    tasks = make_mmoe_tasks(n=500, d=20, p=0.3, c=2.0, m=5)
    assert tasks.x.shape == (500, 20) and tasks.x.dtype == np.float32
    assert tasks.y1.shape == tasks.y2.shape == (500,) and tasks.y1.dtype == np.float32
    assert np.linalg.norm(tasks.w1) == pytest.approx(2.0)
    assert np.linalg.norm(tasks.w2) == pytest.approx(2.0)
    cosine = tasks.w1 @ tasks.w2 / (np.linalg.norm(tasks.w1) * np.linalg.norm(tasks.w2))
    assert cosine == pytest.approx(0.3) and tasks.p == 0.3
    assert tasks.alpha.shape == tasks.beta.shape == (5,)
    assert tasks.label_correlation == pytest.approx(np.corrcoef(tasks.y1, tasks.y2)[0, 1])
    assert len(tasks) == 500


def test_formula_without_sines_or_noise():
    tasks = make_mmoe_tasks(n=200, d=8, p=0.5, m=0, noise=0.0)
    np.testing.assert_allclose(tasks.y1, tasks.x @ tasks.w1, rtol=1e-4, atol=1e-5)
    waves = make_mmoe_tasks(n=200, d=8, p=0.5, m=3, noise=0.0)
    projection = waves.x.astype(np.float64) @ waves.w2
    expected = projection + np.sin(np.outer(projection, waves.alpha) + waves.beta).sum(axis=1)
    np.testing.assert_allclose(waves.y2, expected, rtol=1e-4, atol=1e-4)


def test_deterministic():
    a, b = make_mmoe_tasks(n=300, d=10, seed=7), make_mmoe_tasks(n=300, d=10, seed=7)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y2, b.y2)
    c = make_mmoe_tasks(n=300, d=10, seed=8)
    assert not np.array_equal(a.y1, c.y1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_label_correlation_rises_with_p(seed):
    grid = (0.0, 0.5, 0.9, 1.0)
    measured = [make_mmoe_tasks(n=4_000, d=50, p=p, seed=seed).label_correlation for p in grid]
    assert np.all(np.diff(measured) > 0), measured
    assert measured[-1] > 0.95 and abs(measured[0]) < 0.1
    assert make_mmoe_tasks(n=4_000, d=50, p=-1.0, seed=seed).label_correlation < 0


def test_p_is_not_the_label_correlation():
    # Strong sine terms (sigma = 1) bend the labels away from the linear parts w_k^T x ...
    tasks = make_mmoe_tasks(n=4_000, p=0.5, sine_scale=1.0)
    assert abs(tasks.label_correlation - 0.5) > 0.2
    # ... and label noise alone shrinks the correlation below the cosine of the weights.
    noisy = make_mmoe_tasks(n=4_000, p=0.5, noise=1.0)
    assert 0.1 < noisy.label_correlation < 0.4


def test_sine_scale_defaults_to_the_papers_small_parameters():
    tasks = make_mmoe_tasks(n=100, m=200)
    assert tasks.params["sine_scale"] == 0.1
    assert 0.05 < tasks.alpha.std() < 0.15 and 0.05 < tasks.beta.std() < 0.15
