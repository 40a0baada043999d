"""Conversions shared by funcgrad.numpy: inputs to arrays, dtype promotion, broadcasting.

This is the one place where NumPy's implicit conventions (broadcasting, NEP 50
promotion, axis normalisation) are turned into the explicit operands primitives
expect.
"""

from __future__ import annotations

import math
import operator
import os
from functools import lru_cache
from typing import Any, Sequence

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.core import Array, array_from_buffer, current_backend, is_array_like
from funcgrad._src.lax import structural

_WEAK = (bool, int, float, complex)


# True for funcgrad arrays and tracers (values that primitives accept as operands).
is_array = is_array_like


def asarray(x: Any, dtype: Any = None, fname: str = "asarray") -> Any:
    """``x`` as a funcgrad array (tracers pass through), converted to ``dtype`` if given.

    Host data (lists, NumPy arrays, scalars) is copied onto the current default backend.
    """
    if is_array(x):
        if dtype is not None:
            dt = dtypes.canonicalize_dtype(dtype, fname)
            if x.dtype != dt:
                return structural.convert_element_type_p.bind1(x, new_dtype=dt)
        return x
    backend = current_backend()
    if dtype is not None:
        dtype = dtypes.canonicalize_dtype(dtype, fname)
    if isinstance(x, (list, tuple)) and any(is_array(e) for e in _flatten_sequence(x)):
        from funcgrad._src.numpy.shape import stack  # nested sequences of arrays: stack them

        return asarray(stack([asarray(e) for e in x]), dtype, fname)
    if backend.is_buffer(x):
        if dtype is None:  # object, string and datetime buffers are no funcgrad values
            dtypes.canonicalize_dtype(x.dtype, fname)
        buf = backend.asarray(x, dtype=dtype)
    else:
        try:
            host = np.asarray(x, dtype=dtype)
        except (TypeError, ValueError) as e:
            raise TypeError(
                f"{fname}: cannot convert {type(x).__name__} to an array: {e}"
            ) from None
        dt = dtypes.canonicalize_dtype(host.dtype, fname)
        buf = backend.asarray(host, dtype=dt)
    return array_from_buffer(buf, backend)


def _flatten_sequence(x):
    for e in x:
        if isinstance(e, (list, tuple)):
            yield from _flatten_sequence(e)
        else:
            yield e


def operand(x: Any, fname: str) -> Any:
    """An operand for an elementwise function: arrays and Python scalars stay as they are
    (scalars are weak literals), anything else is converted with :func:`asarray`."""
    if type(x) in _WEAK or is_array(x):
        return x
    return asarray(x, fname=fname)


@lru_cache(maxsize=2048)
def broadcast_shapes_cached(fname: str, *shapes: tuple[int, ...]) -> tuple[int, ...]:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        shown = " ".join(str(s) for s in shapes)
        raise ValueError(
            f"{fname}: operands could not be broadcast together with shapes {shown}"
        ) from None


def broadcast_to_shape(x: Any, shape: tuple[int, ...]) -> Any:
    """``x`` broadcast (NumPy rules: align trailing axes) to ``shape``."""
    if x.shape == shape:
        return x
    lead = len(shape) - x.ndim
    # Size-1 axes that must grow are dropped first, so broadcast_in_dim sees exact matches.
    keep = [i for i, d in enumerate(x.shape) if d == shape[lead + i]]
    if len(keep) != x.ndim:
        x = structural.reshape_p.bind1(x, new_sizes=tuple(x.shape[i] for i in keep))
    return structural.broadcast_in_dim_p.bind1(
        x, shape=shape, broadcast_dimensions=tuple(lead + i for i in keep)
    )


def broadcast_operands(fname: str, args: Sequence[Any]) -> list:
    """Broadcast array operands to their common shape; 0-d operands and scalars stay,
    since elementwise primitives broadcast them."""
    shape = None
    same = True
    for a in args:
        if type(a) not in _WEAK and a.ndim:
            if shape is None:
                shape = a.shape
            elif a.shape != shape:
                same = False
    if same:
        return list(args)
    out_shape = broadcast_shapes_cached(fname, *(a.shape for a in args if type(a) not in _WEAK))
    return [
        a if type(a) in _WEAK or a.ndim == 0 else broadcast_to_shape(a, out_shape) for a in args
    ]


def convert(x: Any, dtype: np.dtype) -> Any:
    """``x`` (array or weak scalar) as ``dtype``; weak scalars stay literals."""
    if type(x) in _WEAK:
        return x
    if x.dtype == dtype:
        return x
    return structural.convert_element_type_p.bind1(x, new_dtype=dtype)


def canonicalize_axis(axis: int, ndim: int, fname: str, argname: str = "axis") -> int:
    """``axis`` made non-negative; an error naming ``fname`` if it is out of range.

    The one axis normaliser of ``funcgrad.numpy``: ``axis`` must be an integer in the
    ``operator.index`` sense (Python and NumPy ints, not floats, strings or bools, which
    NumPy rejects too), and ``-ndim <= axis < ndim``. Out-of-range axes raise NumPy's
    ``AxisError``, which is both a ``ValueError`` (NumPy) and an ``IndexError`` (the array
    API standard).
    """
    axis = static_axis(axis, fname, argname)
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(
            f"{fname}: {argname}={axis} is out of bounds for an array of dimension {ndim}"
        )
    return axis % ndim if ndim else 0


def static_axis(axis: Any, fname: str, argname: str = "axis") -> int:
    """``axis`` as a Python int; a TypeError naming ``fname`` for floats, strings, bools,
    arrays with more than one element and traced values without a concrete value."""
    if type(axis) is bool or isinstance(axis, np.bool_):
        raise TypeError(f"{fname}: {argname} must be an integer, got the bool {axis!r}")
    try:
        return operator.index(axis)
    except TypeError:
        raise TypeError(
            f"{fname}: {argname} must be an integer (or a tuple of integers), got "
            f"{type(axis).__name__} {axis!r:.40}"
        ) from None


def canonicalize_axes(axis: Any, ndim: int, fname: str, argname: str = "axis") -> tuple[int, ...]:
    """``axis`` (None, an int or a sequence) as a sorted tuple of distinct non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        axes = tuple(canonicalize_axis(a, ndim, fname, argname) for a in axis)
        if len(set(axes)) != len(axes):
            raise ValueError(f"{fname}: repeated axis in {argname}={axis}")
        return tuple(sorted(axes))
    return (canonicalize_axis(axis, ndim, fname, argname),)


def check_allocation(fname: str, shape: tuple[int, ...], dtype: Any) -> None:
    """Raise MemoryError, naming ``fname`` and ``shape``, if an array of ``shape`` and
    ``dtype`` could not fit in this machine's memory.

    Constants are broadcast views of one scalar, so making them costs nothing whatever
    their size, and the cost would only show later, when a reduction or a copy loops over
    terabytes. NumPy fails at once with MemoryError; so does funcgrad, by checking the
    size against the machine's physical memory before creating the view.
    """
    n = math.prod(shape)
    if n == 0:
        return
    nbytes = n * np.dtype(dtype).itemsize
    limit = physical_memory_bytes()
    if nbytes > limit:
        raise MemoryError(
            f"{fname}: an array of shape {tuple(shape)} and dtype {np.dtype(dtype).name} "
            f"needs {_human_bytes(nbytes)}, more than this machine's "
            f"{_human_bytes(limit)} of memory; use a smaller shape (or "
            f"funcgrad.numpy.broadcast_to for a read-only view of a smaller array)"
        )


@lru_cache(maxsize=1)
def physical_memory_bytes() -> int:
    """The machine's physical memory in bytes (``2**63 - 1`` where it cannot be read)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return 2**63 - 1


def _human_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    return f"{n} B"


def from_host(value: np.ndarray) -> Array:
    """A constant array made from host data on the current default backend."""
    backend = current_backend()
    return array_from_buffer(backend.asarray(value), backend)
