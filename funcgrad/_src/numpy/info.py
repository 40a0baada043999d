"""What funcgrad.numpy can represent: ``finfo``/``iinfo`` and the array API's
``__array_namespace_info__`` (devices, default dtypes, supported dtypes, capabilities)."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from funcgrad._src import dtypes

#: The revision of the Python array API standard that ``funcgrad.numpy`` follows.
ARRAY_API_VERSION = "2024.12"


def _dtype_argument(fname: str, type: Any) -> np.dtype:  # noqa: A002  (the standard's name)
    """The dtype of ``type``: a dtype, a scalar type, a dtype name, or an array."""
    if hasattr(type, "dtype") and not isinstance(type, (np.dtype, builtins.type)):
        type = type.dtype
    try:
        return np.dtype(type)
    except TypeError:
        raise TypeError(
            f"{fname}: expected a dtype, a dtype name or an array, got {type!r:.60}"
        ) from None


def finfo(type: Any) -> np.finfo:  # noqa: A002  (NumPy's and the standard's name)
    """Machine limits of a floating-point (or complex) dtype: ``eps``, ``max``, ``tiny``...

    Args:
        type: a float or complex dtype, scalar type, dtype name, or array of one.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> float(fnp.finfo(fnp.float32).eps)
        1.1920928955078125e-07
    """
    fname = "funcgrad.numpy.finfo"
    dt = _dtype_argument(fname, type)
    if dt.kind not in "fc":
        raise ValueError(
            f"{fname}: {dt} is not a floating-point dtype; use funcgrad.numpy.iinfo for "
            f"integer dtypes"
        )
    return np.finfo(dt)


def iinfo(type: Any) -> np.iinfo:  # noqa: A002  (NumPy's and the standard's name)
    """Machine limits of an integer dtype: ``min``, ``max``, ``bits``.

    Args:
        type: an integer dtype, scalar type, dtype name, or array of one.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.iinfo(fnp.int8).max
        127
    """
    fname = "funcgrad.numpy.iinfo"
    dt = _dtype_argument(fname, type)
    if dt.kind not in "iu":
        raise ValueError(
            f"{fname}: {dt} is not an integer dtype; use funcgrad.numpy.finfo for "
            f"floating-point dtypes"
        )
    return np.iinfo(dt)


_KINDS = {
    "bool": ("b",),
    "signed integer": ("i",),
    "unsigned integer": ("u",),
    "integral": ("i", "u"),
    "real floating": ("f",),
    "complex floating": ("c",),
    "numeric": ("i", "u", "f", "c"),
}


class ArrayNamespaceInfo:
    """The array API's inspection object: what ``funcgrad.numpy`` supports.

    Devices are funcgrad's backend names (``"numpy"``, and ``"cupy"`` where CuPy can
    run); an array's ``.device`` is one of them.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> info = fnp.__array_namespace_info__()
        >>> info.default_dtypes()["real floating"]
        dtype('float64')
        >>> info.capabilities()["boolean indexing"]
        True
    """

    def capabilities(self) -> dict[str, Any]:
        """Optional features: boolean indexing and data-dependent shapes work eagerly
        (under ``jit`` they need ``size=``); ``max dimensions`` is NumPy's limit."""
        return {"boolean indexing": True, "data-dependent shapes": True, "max dimensions": 64}

    def default_device(self) -> str:
        """The backend that arrays created from Python data go to now."""
        from funcgrad._src.core import current_backend

        return current_backend().name

    def devices(self) -> list[str]:
        """The backends that can run on this machine."""
        from funcgrad._src.api import devices

        return devices()

    def default_dtypes(self, *, device: str | None = None) -> dict[str, np.dtype]:
        """The dtypes creation functions use by default (NumPy's, on every device)."""
        self._check_device(device)
        return {
            "real floating": dtypes.default_float_dtype,
            "complex floating": dtypes.default_complex_dtype,
            "integral": dtypes.default_int_dtype,
            "indexing": dtypes.default_int_dtype,
        }

    def dtypes(self, *, device: str | None = None, kind: Any = None) -> dict[str, np.dtype]:
        """The supported dtypes by name, optionally of one ``kind`` (a kind name, a dtype,
        or a tuple of either), as the standard specifies."""
        self._check_device(device)
        supported = sorted(dtypes.SUPPORTED_DTYPES, key=lambda d: (d.kind, d.itemsize))
        return {d.name: d for d in supported if self._of_kind(d, kind)}

    def _of_kind(self, dt: np.dtype, kind: Any) -> bool:
        if kind is None:
            return True
        if isinstance(kind, tuple):
            return any(self._of_kind(dt, k) for k in kind)
        if isinstance(kind, str) and kind in _KINDS:
            return dt.kind in _KINDS[kind]
        try:
            return dt == np.dtype(kind)
        except TypeError:
            raise ValueError(
                f"funcgrad.numpy.__array_namespace_info__().dtypes: unknown kind {kind!r}; "
                f"use a dtype or one of {sorted(_KINDS)}"
            ) from None

    def _check_device(self, device: str | None) -> None:
        if device is not None and device not in self.devices():
            raise ValueError(
                f"funcgrad.numpy.__array_namespace_info__: unknown device {device!r}; "
                f"available: {self.devices()}"
            )


def __array_namespace_info__() -> ArrayNamespaceInfo:
    """The array API's inspection namespace for ``funcgrad.numpy``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> "numpy" in fnp.__array_namespace_info__().devices()
        True
    """
    return ArrayNamespaceInfo()
