"""Which backends are installed, and time per epoch in a child process (mtl_kit.backends)."""

from __future__ import annotations

import keras
import pytest

from mtl_kit import backends


def test_the_running_backend_is_installed():
    assert keras.backend.backend() in backends.installed_backends()
    assert set(backends.installed_backends()) <= set(backends.BACKEND_PACKAGES)


def test_bad_arguments_are_named_before_any_process_starts():
    with pytest.raises(ValueError, match="backend must be one of"):
        backends.time_epochs("theano")
    with pytest.raises(ValueError, match="epochs"):
        backends.time_epochs(keras.backend.backend(), epochs=0)


def test_a_missing_backend_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(backends.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RuntimeError, match="pip install torch"):
        backends.time_epochs("torch")
    assert backends.installed_backends() == []


@pytest.mark.slow
def test_time_epochs_runs_the_asked_backend_in_a_child():
    backend = keras.backend.backend()
    result = backends.time_epochs(backend, rows=2_000, epochs=1)
    assert result["backend"] == backend
    assert 0 < result["seconds_per_epoch"] < 60
    assert 0 < result["click_loss"] < 1
