"""Array backends: the NumPy (CPU) and CuPy (NVIDIA GPU) implementations behind one protocol.

funcgrad's engine never imports numpy or cupy to compute: it asks a backend object
(``backend.xp`` plus the few kernels that are not plain array-namespace calls).
This package never imports funcgrad.

Examples:
    >>> from backends import get_backend
    >>> b = get_backend("numpy")
    >>> b.name
    'numpy'
    >>> b.to_numpy(b.xp.ones(2)).tolist()
    [1.0, 1.0]
"""

from backends.base import Backend, BackendUnavailableError, UnknownBackendError
from backends.registry import (
    BACKEND_ENV_VAR,
    available_backends,
    backend_names,
    default_backend_name,
    get_backend,
    register_backend,
)

__all__ = [
    "BACKEND_ENV_VAR",
    "Backend",
    "BackendUnavailableError",
    "UnknownBackendError",
    "available_backends",
    "backend_names",
    "default_backend_name",
    "get_backend",
    "register_backend",
]
