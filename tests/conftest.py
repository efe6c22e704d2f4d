"""Shared test set-up: import mtl_kit first so that it chooses the Keras backend."""

import mtl_kit  # noqa: F401  (must come before any keras import)
