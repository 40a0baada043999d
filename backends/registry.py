"""Backend registry: names to factories, and the default chosen by FUNCGRAD_BACKEND."""

from __future__ import annotations

import os
from typing import Callable

from backends.base import Backend, BackendUnavailableError, UnknownBackendError

BACKEND_ENV_VAR = "FUNCGRAD_BACKEND"

_factories: dict[str, Callable[[], Backend]] = {}
_instances: dict[str, Backend] = {}


def register_backend(name: str, factory: Callable[[], Backend]) -> None:
    """Register ``factory`` (called once, lazily) under ``name``.

    Raises:
        ValueError: if ``name`` is already registered.
    """
    if name in _factories:
        raise ValueError(f"register_backend: a backend named {name!r} is already registered")
    _factories[name] = factory


def backend_names() -> list[str]:
    """Names of all registered backends, whether or not they can run here."""
    return sorted(_factories)


def default_backend_name() -> str:
    """The name in ``$FUNCGRAD_BACKEND``, or ``"numpy"`` when it is unset or empty."""
    return os.environ.get(BACKEND_ENV_VAR) or "numpy"


def get_backend(name: str | Backend | None = None) -> Backend:
    """The backend called ``name``; ``None`` means the default (``$FUNCGRAD_BACKEND``, else numpy).

    Raises:
        UnknownBackendError: no backend has that name.
        BackendUnavailableError: the backend exists but cannot run on this machine;
            the message names the missing piece (package, driver, device).
    """
    if isinstance(name, Backend):
        return name
    if name is None:
        name = default_backend_name()
    backend = _instances.get(name)
    if backend is not None:
        return backend
    factory = _factories.get(name)
    if factory is None:
        where = f" (from ${BACKEND_ENV_VAR})" if name == os.environ.get(BACKEND_ENV_VAR) else ""
        raise UnknownBackendError(
            f"get_backend: unknown backend {name!r}{where}; registered backends are "
            f"{backend_names()}"
        )
    backend = _instances[name] = factory()
    return backend


def available_backends() -> list[str]:
    """Names of the registered backends that can run on this machine."""
    names = []
    for name in backend_names():
        try:
            get_backend(name)
        except BackendUnavailableError:
            continue
        names.append(name)
    return names


def _numpy_factory() -> Backend:
    from backends.numpy_backend import NumPyBackend

    return NumPyBackend()


def _cupy_factory() -> Backend:
    from backends.cupy_backend import CuPyBackend

    return CuPyBackend()


register_backend("numpy", _numpy_factory)
register_backend("cupy", _cupy_factory)
