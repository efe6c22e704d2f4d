"""mtl-kit: multi-task learning for e-commerce shopping guides, as a course and a library.

Import ``mtl_kit`` before ``keras``: it chooses the Keras backend (JAX when you have
not chosen one) and Keras reads that choice only once, at its first import.
"""

from mtl_kit.backend import select_backend

select_backend()

from mtl_kit.backend import describe_environment, environment_report  # noqa: E402

__version__ = "0.1.0"

__all__ = ["__version__", "describe_environment", "environment_report"]
