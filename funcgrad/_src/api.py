"""Placement: which backends exist, and moving arrays between them."""

from __future__ import annotations

from typing import Any

import backends
from funcgrad._src.core import Array, array_from_buffer, default_backend, is_array_like
from funcgrad._src.tree_util import tree_map


def devices() -> list[str]:
    """Names of the backends that can run on this machine (``"numpy"`` always)."""
    return backends.available_backends()


def block_until_ready(x: Any) -> Any:
    """Wait until every array leaf of pytree ``x`` has been computed; return ``x``.

    Backends may run kernels asynchronously (CuPy queues them on the GPU); time a
    computation only after this returns. On NumPy it returns at once.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> funcgrad.block_until_ready({"y": fnp.ones(3) * 2})["y"].tolist()
        [2.0, 2.0, 2.0]
    """

    def wait(leaf):
        if type(leaf) is Array:
            leaf._backend.synchronize(leaf._buffer)

    tree_map(wait, x)
    return x


def device_put(x: Any, device: str | None = None) -> Any:
    """Every array leaf of pytree ``x`` placed on backend ``device`` (default: the current default).

    Host data (NumPy arrays, lists, scalars) is copied in; funcgrad arrays already on
    ``device`` are returned as they are.

    Examples:
        >>> import funcgrad, numpy as np
        >>> funcgrad.device_put(np.arange(3), "numpy").backend
        'numpy'
    """
    from funcgrad._src.numpy.util import asarray

    target = backends.get_backend(device) if device is not None else None

    def put(leaf):
        if type(leaf) is Array:
            if target is None or leaf._backend is target:
                return leaf
            host = leaf._backend.to_numpy(leaf._buffer)
            return array_from_buffer(target.asarray(host), target)
        if is_array_like(leaf):  # tracers: placement is decided where they are made concrete
            return leaf
        if target is None:
            return asarray(leaf, fname="device_put")
        with default_backend(target):
            return asarray(leaf, fname="device_put")

    return tree_map(put, x)


def device_get(x: Any) -> Any:
    """Every array leaf of pytree ``x`` as a NumPy array on the host.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> funcgrad.device_get({"w": fnp.ones(2)})["w"]
        array([1., 1.])
    """

    def get(leaf):
        if type(leaf) is Array:
            return leaf._backend.to_numpy(leaf._buffer)
        return leaf

    return tree_map(get, x)
