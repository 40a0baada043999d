"""Array creation: from data (array, asarray, from_dlpack), constants (zeros, full, eye,
tri...), ``*_like`` constants, ranges (arange, linspace...), grids, and diagonals/triangles.

Constants are built from primitives (``iota``, comparisons, a broadcast scalar) rather
than as host arrays, so they land on the requested backend and can be made while
tracing. Functions with array inputs (``zeros_like``, ``tril``, ``diag``, ``diagonal``,
``linspace`` with array bounds...) compose primitives only, so they are traceable.
Arguments that fix a shape (``N``, ``num``, ``arange``'s bounds) must be static.

``device=`` names the backend (``"numpy"``, ``"cupy"``) that constants are created on;
without it, the backend of the array input is used, else the current default.
"""

from __future__ import annotations

import contextlib
import math
import operator
from typing import Any

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.core import (
    Array,
    ConcretizationError,
    Tracer,
    array_from_buffer,
    concrete_or_error,
    default_backend,
)
from funcgrad._src.lax import elementwise as ew
from funcgrad._src.lax import reductions as lax_reductions
from funcgrad._src.lax import structural
from funcgrad._src.numpy import ufuncs, util
from funcgrad._src.numpy.indexing import getitem

# --- static arguments -----------------------------------------------------------------


def _static_int(v: Any, fname: str, argname: str) -> int:
    """``v`` as a Python int (ints, NumPy integers, concrete one-element integer arrays)."""
    try:
        return operator.index(v)
    except ConcretizationError:
        raise
    except TypeError:
        raise TypeError(f"{fname}: {argname} must be an integer, got {v!r:.60}") from None


def _dimension(v: Any, fname: str, argname: str) -> int:
    n = _static_int(v, fname, argname)
    if n < 0:
        raise ValueError(f"{fname}: negative dimensions are not allowed, got {argname}={n}")
    return n


def _shape_tuple(shape: Any, fname: str) -> tuple[int, ...]:
    """``shape`` (an int or a sequence of ints) as a tuple of non-negative Python ints."""
    try:
        out = (operator.index(shape),)
    except ConcretizationError:
        raise
    except TypeError:
        try:
            out = tuple(operator.index(d) for d in shape)
        except TypeError:
            raise TypeError(
                f"{fname}: shape must be an int or a sequence of ints, got {shape!r:.60}"
            ) from None
    if any(d < 0 for d in out):
        raise ValueError(f"{fname}: negative dimensions are not allowed, got shape {out}")
    return out


def _backend_of(x: Any, device: Any = None) -> Any:
    """Where constants combined with ``x`` must live: ``device`` if given, else ``x``'s
    backend if it has a concrete value, else None (the current default)."""
    if device is not None:
        return device
    if type(x) is Array:
        return x._backend
    if isinstance(x, Tracer):
        value = x.concrete_value()
        if value is not None:
            return value._backend
    return None


def _placed_on(backend: Any) -> Any:
    """``default_backend(backend)``; nothing to do (and nothing to pay) when it is None."""
    return contextlib.nullcontext() if backend is None else default_backend(backend)


def _iota(dtype: Any, shape: tuple[int, ...], dimension: int = 0) -> Any:
    return structural.iota_p.bind1(dtype=np.dtype(dtype), shape=tuple(shape), dimension=dimension)


def _reshape(x: Any, shape: tuple[int, ...]) -> Any:
    if x.shape == shape:
        return x
    return structural.reshape_p.bind1(x, new_sizes=tuple(shape))


def _move_axis_0(x: Any, axis: int) -> Any:
    """``moveaxis(x, 0, axis)`` for a non-negative ``axis``."""
    if axis == 0:
        return x
    perm = list(range(1, x.ndim))
    perm.insert(axis, 0)
    return structural.transpose_p.bind1(x, permutation=tuple(perm))


# --- from data ------------------------------------------------------------------------


def asarray(a: Any, dtype: Any = None, order: str | None = None, *, copy: bool | None = None,
            device: str | None = None) -> Any:  # fmt: skip
    """``a`` as a funcgrad array (funcgrad arrays and tracers pass through unchanged).

    Host data is always copied, so mutating ``a`` afterwards never changes the
    array. ``order`` and ``copy`` are accepted for NumPy compatibility (arrays are
    immutable and C-ordered); ``device`` picks the backend.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.asarray([1, 2, 3])
        Array([1, 2, 3], dtype=int64, backend=numpy)
        >>> fnp.asarray([1.0], dtype=fnp.float32).dtype
        dtype('float32')
    """
    del order, copy
    if device is not None:
        from funcgrad._src.api import device_put

        with default_backend(device):
            return device_put(util.asarray(a, dtype, "funcgrad.numpy.asarray"), device)
    return util.asarray(a, dtype, "funcgrad.numpy.asarray")


asanyarray = asarray  # funcgrad has no array subclasses


def array(object: Any, dtype: Any = None, *, copy: bool = True, order: str | None = None,
          ndmin: int = 0, device: str | None = None) -> Any:  # fmt: skip
    """A funcgrad array holding ``object`` (NumPy's ``array``; always a new immutable array).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.array([[1.0, 2.0]], ndmin=3).shape
        (1, 1, 2)
    """
    out = asarray(object, dtype, order, copy=copy, device=device)
    if out.ndim < ndmin:
        out = structural.reshape_p.bind1(out, new_sizes=(1,) * (ndmin - out.ndim) + out.shape)
    return out


def ascontiguousarray(a: Any, dtype: Any = None) -> Any:
    """``asarray(a, dtype)`` with at least one dimension, as in NumPy (0-d becomes shape (1,)).

    Every funcgrad array is contiguous as far as users can observe.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.ascontiguousarray(5).shape
        (1,)
    """
    out = util.asarray(a, dtype, "funcgrad.numpy.ascontiguousarray")
    return _reshape(out, (1,)) if out.ndim == 0 else out


def copy(a: Any, order: str = "K", subok: bool = False) -> Any:
    """``a`` as an array. Arrays are immutable, so a funcgrad array is returned as it is:
    no one can observe the difference from a copy. Host data is copied in.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> x = fnp.arange(3)
        >>> fnp.copy(x) is x
        True
    """
    del order, subok
    return util.asarray(a, fname="funcgrad.numpy.copy")


def from_dlpack(x: Any, /, *, device: str | None = None, copy: bool | None = None) -> Any:
    """A funcgrad array with the contents of DLPack-capable ``x`` (a NumPy array, a torch
    tensor, a CuPy array...), on ``device`` (default: the current default backend).

    Differs from NumPy: the data is always **copied**. DLPack shares memory with the
    producer, which could then change the "immutable" array by writing into ``x``; a
    private copy keeps funcgrad's guarantee. ``copy=True`` and ``copy=None`` (the
    default) both copy; ``copy=False`` (never copy) cannot be honoured and raises
    ``BufferError``, as the array API standard specifies for an impossible no-copy import.

    Examples:
        >>> import numpy as np, funcgrad.numpy as fnp
        >>> host = np.arange(3.0)
        >>> y = fnp.from_dlpack(host)
        >>> host[0] = 7.0                  # the source changes...
        >>> y.tolist()                     # ...the funcgrad array does not
        [0.0, 1.0, 2.0]
    """
    fname = "funcgrad.numpy.from_dlpack"
    if copy not in (None, True, False):
        raise TypeError(f"{fname}: copy must be True, False or None, got {copy!r:.40}")
    if copy is False:
        raise BufferError(
            f"{fname}: copy=False is not supported: funcgrad arrays are immutable, so they "
            f"never share memory with a DLPack producer; pass copy=None or copy=True"
        )
    if util.is_array(x):
        return asarray(x, device=device)
    if not hasattr(x, "__dlpack__"):
        raise TypeError(
            f"{fname}: {type(x).__name__} does not support DLPack (it has no __dlpack__ "
            f"method); use funcgrad.numpy.asarray for host data"
        )
    with default_backend(device) as backend:
        try:
            shared = backend.from_dlpack(x)
        except (TypeError, ValueError, BufferError, RuntimeError, AttributeError) as e:
            raise type(e)(
                f"{fname}: backend {backend.name!r} cannot import {type(x).__name__} through "
                f"DLPack ({e}); move the data to that backend's device first, or pass "
                f"device= naming the backend that owns it"
            ) from None
        dtypes.canonicalize_dtype(shared.dtype, fname)
        return array_from_buffer(backend.asarray(shared), backend)


# --- constants ------------------------------------------------------------------------


def full(shape: Any, fill_value: Any, dtype: Any = None, order: str = "C", *,
         device: str | None = None) -> Any:  # fmt: skip
    """An array of ``shape`` filled with ``fill_value`` (dtype inferred from it, as in NumPy).

    ``fill_value`` may be an array that broadcasts to ``shape``; ``order`` is accepted
    for NumPy compatibility.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.full((2,), 7)
        Array([7, 7], dtype=int64, backend=numpy)
        >>> fnp.full((2, 2), [1.0, 2.0]).tolist()
        [[1.0, 2.0], [1.0, 2.0]]
    """
    del order
    fname = "funcgrad.numpy.full"
    with _placed_on(device):
        return _fill(fname, _shape_tuple(shape, fname), fill_value, dtype)


def _fill(fname: str, shape: tuple[int, ...], fill_value: Any, dtype: Any) -> Any:
    """``fill_value`` (cast to ``dtype`` if given) broadcast to ``shape``, on the current
    default backend (funcgrad arrays keep theirs)."""
    try:
        value = util.asarray(fill_value, dtype, fname)
    except OverflowError as e:
        raise OverflowError(f"{fname}: fill_value {fill_value!r:.40} does not fit: {e}") from None
    if value.shape == shape:
        return value
    util.check_allocation(fname, shape, value.dtype)
    if value.ndim > len(shape) or any(
        v not in (1, d) for v, d in zip(value.shape[::-1], shape[::-1])
    ):
        raise ValueError(
            f"{fname}: fill_value of shape {value.shape} cannot be broadcast to shape {shape}"
        )
    return util.broadcast_to_shape(value, shape)


def zeros(shape: Any, dtype: Any = None, order: str = "C", *, device: str | None = None) -> Any:
    """An array of zeros; ``dtype`` defaults to float64, as in NumPy.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.zeros((2, 3), fnp.float32).shape
        (2, 3)
    """
    del order
    return _constant("funcgrad.numpy.zeros", shape, 0, dtype, device)


def ones(shape: Any, dtype: Any = None, order: str = "C", *, device: str | None = None) -> Any:
    """An array of ones; ``dtype`` defaults to float64, as in NumPy.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.ones(2, int).tolist()
        [1, 1]
    """
    del order
    return _constant("funcgrad.numpy.ones", shape, 1, dtype, device)


def empty(shape: Any, dtype: Any = None, order: str = "C", *, device: str | None = None) -> Any:
    """Like :func:`zeros`: immutable arrays have no use for uninitialised memory.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.empty((0, 2)).shape
        (0, 2)
    """
    del order
    return _constant("funcgrad.numpy.empty", shape, 0, dtype, device)


def _constant(fname: str, shape: Any, value: int, dtype: Any, device: Any) -> Any:
    shape = _shape_tuple(shape, fname)
    dtype = dtypes.float64 if dtype is None else dtypes.canonicalize_dtype(dtype, fname)
    with _placed_on(device):
        return _fill(fname, shape, value, dtype)


def _full_like(fname: str, a: Any, fill_value: Any, dtype: Any, shape: Any, device: Any) -> Any:
    if not util.is_array(a):
        a = util.asarray(a, fname=fname)
    dtype = a.dtype if dtype is None else dtypes.canonicalize_dtype(dtype, fname)
    shape = a.shape if shape is None else _shape_tuple(shape, fname)
    with _placed_on(_backend_of(a, device)):
        return _fill(fname, shape, fill_value, dtype)


def full_like(a: Any, fill_value: Any, dtype: Any = None, order: str = "K", subok: bool = True,
              shape: Any = None, *, device: str | None = None) -> Any:  # fmt: skip
    """An array like ``a`` (its shape and dtype, unless ``shape``/``dtype`` are given)
    filled with ``fill_value``, cast to that dtype as NumPy does.

    ``a`` may be a tracer: only its shape and dtype are used. ``order``/``subok`` are
    accepted for NumPy compatibility.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.full_like(fnp.arange(3), 2.7).tolist()   # cast to int64, as in NumPy
        [2, 2, 2]
    """
    del order, subok
    return _full_like("funcgrad.numpy.full_like", a, fill_value, dtype, shape, device)


def zeros_like(a: Any, dtype: Any = None, order: str = "K", subok: bool = True,
               shape: Any = None, *, device: str | None = None) -> Any:  # fmt: skip
    """Zeros with the shape and dtype of ``a`` (or ``shape``/``dtype`` if given).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.zeros_like(fnp.ones((2, 3), fnp.int8), shape=4)
        Array([0, 0, 0, 0], dtype=int8, backend=numpy)
    """
    del order, subok
    return _full_like("funcgrad.numpy.zeros_like", a, 0, dtype, shape, device)


def ones_like(a: Any, dtype: Any = None, order: str = "K", subok: bool = True,
              shape: Any = None, *, device: str | None = None) -> Any:  # fmt: skip
    """Ones with the shape and dtype of ``a`` (or ``shape``/``dtype`` if given).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.ones_like(fnp.zeros(2), dtype=bool).tolist()
        [True, True]
    """
    del order, subok
    return _full_like("funcgrad.numpy.ones_like", a, 1, dtype, shape, device)


def empty_like(prototype: Any, dtype: Any = None, order: str = "K", subok: bool = True,
               shape: Any = None, *, device: str | None = None) -> Any:  # fmt: skip
    """Like :func:`zeros_like`: immutable arrays have no use for uninitialised memory.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.empty_like(fnp.ones(3)).tolist()
        [0.0, 0.0, 0.0]
    """
    del order, subok
    return _full_like("funcgrad.numpy.empty_like", prototype, 0, dtype, shape, device)


# --- ranges ---------------------------------------------------------------------------


def _static_scalar(v: Any, fname: str, argname: str) -> Any:
    """A range bound as a Python or NumPy scalar: the length of the result depends on it."""
    if util.is_array(v):
        v = concrete_or_error(
            v, fname, f"the length of the result (from {argname})",
            f"Pass {argname} as a Python number, or mark it static (static_argnums).",
        )  # fmt: skip
        if v.ndim:
            raise TypeError(f"{fname}: {argname} must be a scalar, got an array of shape {v.shape}")
        return v._backend.to_numpy(v._buffer)[()]
    if isinstance(v, np.ndarray):
        if v.ndim:
            raise TypeError(f"{fname}: {argname} must be a scalar, got an array of shape {v.shape}")
        return v[()]
    if not isinstance(v, (int, float, complex, np.generic)):
        raise TypeError(f"{fname}: {argname} must be a number, got {type(v).__name__} {v!r:.40}")
    return v


def _ceil_length(value: float, fname: str) -> int:
    if math.isnan(value):
        raise ValueError(f"{fname}: cannot compute the length: (stop - start) / step is NaN")
    if math.isinf(value):
        raise ValueError(
            f"{fname}: (stop - start) / step is infinite: the result would be unbounded"
        )
    return math.ceil(value)


def _arange_length(start: Any, stop: Any, step: Any, fname: str) -> int:
    """NumPy's length: ``ceil((stop - start) / step)``, computed with the arguments' own
    (Python or NumPy scalar) arithmetic, as NumPy does."""
    with np.errstate(all="ignore"):
        span = stop - start
        try:
            ratio = span / step
        except ZeroDivisionError:  # Python numbers; NumPy scalars give inf or nan below
            raise ZeroDivisionError(f"{fname}: step must not be zero") from None
    if span == 0 and not np.isnan(ratio):  # (NumPy rejects a NaN ratio first)
        return 0
    if isinstance(ratio, (complex, np.complexfloating)):
        # NumPy: the shorter of the real and imaginary extents
        return max(
            0, min(_ceil_length(float(ratio.real), fname), _ceil_length(float(ratio.imag), fname))
        )
    ratio = float(ratio)
    if ratio == 0:  # underflow: a nonzero span far smaller than step
        return 0 if math.copysign(1.0, ratio) < 0 else 1
    return max(0, _ceil_length(ratio, fname))


def arange(start: Any = None, stop: Any = None, step: Any = None, dtype: Any = None, *,
           device: str | None = None) -> Any:  # fmt: skip
    """Evenly spaced values in ``[start, stop)``: NumPy's length, dtype and values.

    As in NumPy: one argument is ``stop``; the length is ``ceil((stop - start) / step)``;
    without ``dtype`` integer arguments give int64 and any float gives float64; the
    value at ``i`` is ``start + i * delta`` computed in the result dtype, where ``delta``
    is ``(start + step) - start`` in that dtype (so ``arange(0, 5, 0.5, dtype=int)`` is
    all zeros, as in NumPy). The bounds must be static (Python numbers or concrete
    arrays): they fix the length.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.arange(4).tolist()
        [0, 1, 2, 3]
        >>> fnp.arange(1.0, 0.0, -0.25).tolist()
        [1.0, 0.75, 0.5, 0.25]
    """
    fname = "funcgrad.numpy.arange"
    if start is None and stop is None:
        raise TypeError(f"{fname}: stop must be specified")
    if stop is None:
        start, stop = 0, start
    elif start is None:
        start = 0
    if step is None:
        step = 1
    if dtype is None and all(map(_is_small_int, (start, stop, step))) and step:
        return _int_range(start, stop, step, device)
    start = _static_scalar(start, fname, "start")
    stop = _static_scalar(stop, fname, "stop")
    step = _static_scalar(step, fname, "step")
    if dtype is None:
        # NumPy: the arguments' dtype, at least the default integer
        dtype = np.result_type(np.int64, *(np.asarray(v).dtype for v in (start, stop, step)))
    dtype = dtypes.canonicalize_dtype(dtype, fname)
    length = _arange_length(start, stop, step, fname)
    with _placed_on(device):
        if length == 0:
            return full((0,), 0, dtype)
        # The first two values as NumPy stores them: start and start + step, assigned
        # as Python numbers (floats truncate into ints; out-of-range ints raise).
        first = np.zeros(2, dtype)
        try:
            first[0] = _python_number(start)
            if length > 1:
                with np.errstate(all="ignore"):
                    first[1] = _python_number(start + step)
        except (OverflowError, ValueError, TypeError) as e:
            raise type(e)(f"{fname}: the bounds do not fit dtype {dtype}: {e}") from None
        if dtype == dtypes.bool_:
            if length > 2:
                raise TypeError(
                    f"{fname}: a bool range has at most 2 elements, got length {length}; "
                    f"use an integer dtype"
                )
            return util.from_host(first[:length])
        return _arange_from_first(first, length, dtype)


def _is_small_int(v: Any) -> bool:
    # Below 2**50, NumPy's float ratio (stop - start) / step has the exact integer ceiling.
    return type(v) is int and abs(v) < 2**50


def _int_range(start: int, stop: int, step: int, device: Any) -> Any:
    """The common ``arange`` of Python ints: ``start + i * step`` in int64."""
    with _placed_on(device):
        out = _iota(dtypes.int64, (len(range(start, stop, step)),))
        if step != 1:
            out = ufuncs.multiply(out, step)
        return ufuncs.add(out, start) if start else out


def _python_number(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _arange_from_first(first: np.ndarray, length: int, dtype: np.dtype) -> Any:
    """``first[0] + i * (first[1] - first[0])`` for ``i < length``, computed as NumPy's fill
    loops do: integers in 64 bits then wrapped to ``dtype``, float16 through float32."""
    if dtype.kind in "iu":
        compute = dtypes.uint64 if dtype == dtypes.uint64 else dtypes.int64
    elif dtype == dtypes.float16:
        compute = dtypes.float32
    else:
        compute = dtype
    with np.errstate(all="ignore"):
        f = first.astype(compute)
        base, delta = f[0], (f[1] - f[0] if length > 1 else f[0] * 0)
    out = _iota(compute, (length,))
    # As Python scalars they are weak (cheap literals); their values fit ``compute`` exactly.
    if delta != 1:
        out = ufuncs.multiply(out, delta.item())
    # Adding a zero start is skipped only where it cannot change a result (a -0.0 sum).
    if compute.kind in "iu":
        needs_start = base != 0
    elif compute.kind == "f":
        needs_start = base != 0 or np.signbit(base) or not delta > 0
    else:
        needs_start = True
    if needs_start:
        out = ufuncs.add(out, base.item())
    out = util.convert(out, dtype)
    if dtype.kind in "fc":
        # NumPy stores start and start + step themselves; with rounding, start + 1 * delta
        # can differ from the latter (and start + 0 * delta from a -0.0 or inf start).
        with np.errstate(all="ignore"):
            head = (base + np.arange(2, dtype=compute) * delta).astype(dtype)
        n = min(length, 2)
        if head[:n].tobytes() != first[:n].tobytes():
            out = out.at[:n].set(util.from_host(first[:n]))
    return out


def _num_samples(num: Any, fname: str) -> int:
    num = _static_int(num, fname, "num")
    if num < 0:
        raise ValueError(f"{fname}: the number of samples num={num} must be non-negative")
    return num


def _is_host_scalar(x: Any) -> bool:
    return isinstance(x, (int, float, complex, np.generic))


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, retstep: bool = False,
             dtype: Any = None, axis: int = 0, *, device: str | None = None) -> Any:  # fmt: skip
    """``num`` evenly spaced values from ``start`` to ``stop`` (included unless
    ``endpoint=False``), computed as NumPy does: ``start + i * step`` with
    ``step = (stop - start) / div``.

    ``start``/``stop`` may be arrays (traced too); the values then run along ``axis``.
    Integer ``dtype`` floors the values, as in NumPy. With ``retstep``, returns
    ``(samples, step)``; differs from NumPy: ``step`` is always an array of the
    computation dtype, NaN when undefined (``num < 2`` with ``endpoint``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.linspace(0.0, 1.0, 5).tolist()
        [0.0, 0.25, 0.5, 0.75, 1.0]
        >>> samples, step = fnp.linspace(0, 1, 4, endpoint=False, retstep=True)
        >>> float(step)
        0.25
    """
    fname = "funcgrad.numpy.linspace"
    num = _num_samples(num, fname)
    div = num - 1 if endpoint else num
    out_dtype = None if dtype is None else dtypes.canonicalize_dtype(dtype, fname)
    with _placed_on(_backend_of(start, device) or _backend_of(stop)):
        host = _is_host_scalar(start) and _is_host_scalar(stop)
        if not host:
            start = start if _is_host_scalar(start) else util.asarray(start, fname=fname)
            stop = stop if _is_host_scalar(stop) else util.asarray(stop, fname=fname)
        dt = dtypes.to_inexact(dtypes.result_type(start, stop))
        # Scalar bounds are static: their step is computed on the host, in dt, as NumPy does.
        with np.errstate(all="ignore"):
            if host:
                delta = _as_dtype(stop, dt) - _as_dtype(start, dt)
            else:
                delta = ufuncs.subtract(_as_dtype(stop, dt), _as_dtype(start, dt))
            nd = np.ndim(delta)
            axis = util.canonicalize_axis(axis, nd + 1, fname)
            y = _iota(dt, (num,) + (1,) * nd)
            if div <= 0:  # no step: 0 samples, or 1 with the endpoint
                step = full(np.shape(delta), np.nan, dt)
                y = ufuncs.multiply(y, delta)
            elif host:
                step = delta / div
                # NumPy divides first when the step underflows to zero (gh-5437).
                # (As Python scalars, delta and step are weak literals, exact in dt.)
                y = (
                    ufuncs.multiply(ufuncs.divide(y, div), delta.item())
                    if step == 0
                    else ufuncs.multiply(y, step.item())
                )
                step = util.asarray(step)
            else:
                step = ufuncs.divide(delta, div)
                any_zero = lax_reductions.reduce_or_p.bind1(
                    ufuncs.equal(step, 0), axes=tuple(range(nd))
                )
                y = ufuncs.where(any_zero, ufuncs.multiply(ufuncs.divide(y, div), delta),
                                 ufuncs.multiply(y, step))  # fmt: skip
        y = ufuncs.add(y, start)
        if endpoint and num > 1:
            y = y.at[-1].set(_as_dtype(stop, dt))
        y = _move_axis_0(y, axis)
        if out_dtype is not None and out_dtype != dt:
            if dtypes.is_integer(out_dtype):
                y = ufuncs.floor(y)
            y = util.convert(y, out_dtype)
    return (y, step) if retstep else y


def _as_dtype(x: Any, dtype: np.dtype) -> Any:
    """``x`` converted to ``dtype``: arrays by a primitive, host scalars on the host."""
    if util.is_array(x):
        return util.convert(x, dtype)
    with np.errstate(all="ignore"):
        return np.asarray(x).astype(dtype)[()]


def logspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, base: Any = 10.0,
             dtype: Any = None, axis: int = 0, *, device: str | None = None) -> Any:  # fmt: skip
    """``base ** linspace(start, stop, num)``, as in NumPy (``base`` may be an array).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.logspace(0, 3, 4).tolist()
        [1.0, 10.0, 100.0, 1000.0]
    """
    fname = "funcgrad.numpy.logspace"
    num = _num_samples(num, fname)
    with _placed_on(_backend_of(start, device) or _backend_of(stop) or _backend_of(base)):
        if type(base) not in (int, float) and np.ndim(base):
            # NumPy: an array base broadcasts with the bounds, which become arrays too.
            ndmax = max(np.ndim(start), np.ndim(stop), np.ndim(base))
            start, stop, base = (_at_least_nd(util.asarray(v, fname=fname), ndmax)
                                 for v in (start, stop, base))  # fmt: skip
            axis = util.canonicalize_axis(axis, base.ndim + 1, fname)
            base = _reshape(base, base.shape[:axis] + (1,) + base.shape[axis:])
        elif type(base) not in (int, float):
            base = util.asarray(base, fname=fname)  # NumPy scalars and 0-d arrays are strong
        y = linspace(start, stop, num=num, endpoint=endpoint, axis=axis)
        out = ufuncs.power(base, y)
        if dtype is not None:
            out = util.convert(out, dtypes.canonicalize_dtype(dtype, fname))
    return out


def _at_least_nd(x: Any, ndim: int) -> Any:
    """``x`` with leading axes of length 1 added up to ``ndim`` (NumPy's ``ndmin``)."""
    return _reshape(x, (1,) * (ndim - x.ndim) + x.shape) if x.ndim < ndim else x


def _has_zero(x: Any) -> bool:
    """Whether concrete ``x`` holds a zero (False for traced values: the value is unknown).

    Validation only: the host reads the value, as NumPy does before it computes.
    """
    value = x.concrete_value() if isinstance(x, Tracer) else x
    if value is None:
        return False
    return bool((value._backend.to_numpy(value._buffer) == 0).any())


def geomspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None,
              axis: int = 0, *, device: str | None = None) -> Any:  # fmt: skip
    """Numbers spaced evenly on a log scale from ``start`` to ``stop`` (a geometric
    progression), as in NumPy: negative and complex bounds work, the ends are exact.

    Without ``dtype`` the result is at least float64, as in NumPy. A zero bound is an
    error when its value is known; under a transformation it gives NaN/inf instead.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.geomspace(1, 1000, 4).tolist()
        [1.0, 10.0, 100.0, 1000.0]
    """
    fname = "funcgrad.numpy.geomspace"
    num = _num_samples(num, fname)
    with _placed_on(_backend_of(start, device) or _backend_of(stop)):
        start = util.asarray(start, fname=fname)
        stop = util.asarray(stop, fname=fname)
        for bound in (start, stop):
            if _has_zero(bound):
                raise ValueError(f"{fname}: a geometric sequence cannot include zero")
        out_dtype = dtypes.float64 if dtype is None else dtypes.canonicalize_dtype(dtype, fname)
        dt = dtypes.result_type(start, stop, float(num), out_dtype)
        start, stop = util.convert(start, dt), util.convert(stop, dt)
        # Rotate start onto the positive real axis, so negative and complex bounds take
        # real logarithms where they can; rotate back at the end.
        sign = ufuncs.sign(start)
        start, stop = ufuncs.divide(start, sign), ufuncs.divide(stop, sign)
        out = logspace(ufuncs.log10(start), ufuncs.log10(stop), num=num, endpoint=endpoint,
                       base=10.0, dtype=dt)  # fmt: skip
        # exp(log(x)) need not be x: make the ends exact, as NumPy does.
        if num > 0:
            out = out.at[0].set(start)
            if num > 1 and endpoint:
                out = out.at[-1].set(stop)
        out = ufuncs.multiply(out, sign)
        out = _move_axis_0(out, util.canonicalize_axis(axis, out.ndim, fname))
        return util.convert(out, dtypes.canonicalize_dtype(dt if dtype is None else dtype, fname))


# --- grids ----------------------------------------------------------------------------


def meshgrid(*xi: Any, copy: bool = True, sparse: bool = False, indexing: str = "xy") -> tuple:
    """Coordinate arrays from 1-D coordinate vectors (inputs of other shapes are flattened).

    ``indexing="xy"`` (Cartesian, the default) swaps the first two output axes;
    ``"ij"`` (matrix) does not. ``sparse=True`` returns broadcastable arrays with
    length-1 axes. ``copy`` is accepted for NumPy compatibility: outputs are
    immutable, so no copy is needed.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> xx, yy = fnp.meshgrid(fnp.arange(3), fnp.arange(2))
        >>> xx.tolist(), yy.tolist()
        ([[0, 1, 2], [0, 1, 2]], [[0, 0, 0], [1, 1, 1]])
    """
    del copy
    fname = "funcgrad.numpy.meshgrid"
    if indexing not in ("xy", "ij"):
        raise ValueError(f"{fname}: indexing must be 'xy' or 'ij', got {indexing!r}")
    vectors = [util.asarray(x, fname=fname) for x in xi]
    vectors = [_reshape(x, (x.size,)) for x in vectors]
    axes = list(range(len(vectors)))
    if indexing == "xy" and len(vectors) > 1:
        axes[0], axes[1] = 1, 0
    shape = [1] * len(vectors)
    for x, ax in zip(vectors, axes):
        shape[ax] = x.shape[0]
    if not sparse:
        for x in vectors:
            util.check_allocation(fname, tuple(shape), x.dtype)
    out = []
    for x, ax in zip(vectors, axes):
        if sparse:
            out.append(_reshape(x, tuple(shape[ax] if i == ax else 1 for i in range(len(shape)))))
        else:
            out.append(structural.broadcast_in_dim_p.bind1(
                x, shape=tuple(shape), broadcast_dimensions=(ax,)
            ))  # fmt: skip
    return tuple(out)


def indices(dimensions: Any, dtype: Any = int, sparse: bool = False, *,
            device: str | None = None) -> Any:  # fmt: skip
    """An array of index grids: ``out[i]`` holds the index along axis ``i`` of ``dimensions``.

    With ``sparse=True``, a tuple of broadcastable arrays (length 1 except on axis ``i``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.indices((2, 3))[1].tolist()
        [[0, 1, 2], [0, 1, 2]]
    """
    fname = "funcgrad.numpy.indices"
    dims = _shape_tuple(dimensions, fname)
    dtype = dtypes.canonicalize_dtype(dtype, fname)
    if dtype == dtypes.bool_ and any(d > 2 for d in dims):
        raise TypeError(f"{fname}: dtype bool can index axes of length at most 2, got {dims}")
    n = len(dims)
    if not sparse:
        util.check_allocation(fname, (n, *dims), dtype)
    with _placed_on(device):
        if sparse:
            return tuple(
                _iota(dtype, tuple(d if j == i else 1 for j, d in enumerate(dims)), i)
                for i in range(n)
            )
        if n == 0:
            return full((0,), 0, dtype)
        grids = [_iota(dtype, (1,) + dims, i + 1) for i in range(n)]
        return structural.concatenate_p.bind1(*grids, dimension=0) if n > 1 else grids[0]


# --- diagonals and triangles ----------------------------------------------------------


def _diagonal_mask(fname: str, N: Any, M: Any, k: Any, lower: bool) -> Any:
    """Bool (N, M): ``i + k >= j`` (lower triangle) or ``i + k == j`` (diagonal)."""
    N = _dimension(N, fname, "N")
    M = N if M is None else _dimension(M, fname, "M")
    k = _static_int(k, fname, "k")
    # Any k outside [-N, M] selects the same elements as the nearest end: clamping it
    # keeps i + k inside int64.
    k = min(max(k, -N), M)
    util.check_allocation(fname, (N, M), dtypes.bool_)
    rows = _iota(dtypes.int64, (N, M), 0)
    cols = _iota(dtypes.int64, (N, M), 1)
    shifted = ufuncs.add(rows, k) if k else rows
    return ufuncs.greater_equal(shifted, cols) if lower else ufuncs.equal(shifted, cols)


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = float, order: str = "C", *,
        device: str | None = None) -> Any:  # fmt: skip
    """An ``N x M`` array with ones on the ``k``-th diagonal (above the main one for k > 0).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.eye(2, 3, k=1, dtype=int).tolist()
        [[0, 1, 0], [0, 0, 1]]
    """
    del order
    fname = "funcgrad.numpy.eye"
    dtype = dtypes.canonicalize_dtype(dtype, fname)
    with _placed_on(device):
        return util.convert(_diagonal_mask(fname, N, M, k, lower=False), dtype)


def identity(n: int, dtype: Any = None, *, device: str | None = None) -> Any:
    """The ``n x n`` identity matrix (float64 unless ``dtype`` is given).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.identity(2).tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    fname = "funcgrad.numpy.identity"
    dtype = dtypes.canonicalize_dtype(dtypes.float64 if dtype is None else dtype, fname)
    with _placed_on(device):
        return util.convert(_diagonal_mask(fname, n, None, 0, lower=False), dtype)


def tri(N: int, M: int | None = None, k: int = 0, dtype: Any = float, *,
        device: str | None = None) -> Any:  # fmt: skip
    """An ``N x M`` array with ones at and below the ``k``-th diagonal, zeros above.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.tri(2, 3, dtype=int).tolist()
        [[1, 0, 0], [1, 1, 0]]
    """
    fname = "funcgrad.numpy.tri"
    dtype = dtypes.canonicalize_dtype(dtype, fname)
    with _placed_on(device):
        return util.convert(_diagonal_mask(fname, N, M, k, lower=True), dtype)


def _triangle(fname: str, m: Any, k: Any, lower: bool) -> Any:
    m = util.asarray(m, fname=fname)
    if m.ndim == 0:
        raise ValueError(f"{fname}: needs an array of at least 1 dimension, got a 0-d array")
    k = _static_int(k, fname, "k")
    rows, cols = (m.shape[0],) * 2 if m.ndim == 1 else m.shape[-2:]  # NumPy: 1-D grows a row axis
    with _placed_on(_backend_of(m)):
        # triu keeps what tri(k - 1) does not cover
        keep = _diagonal_mask(fname, rows, cols, k if lower else k - 1, lower=True)
        if not lower:
            keep = ufuncs.logical_not(keep)
        zero = np.zeros((), m.dtype)[()]  # a literal: no backend to agree with
        shape = m.shape[:-2] + (rows, cols) if m.ndim >= 2 else (rows, cols)
        keep = util.broadcast_to_shape(keep, shape)
        return ew.select_p.bind1(keep, util.broadcast_to_shape(m, shape), zero)


def tril(m: Any, k: int = 0) -> Any:
    """``m`` with the elements above the ``k``-th diagonal zeroed; on the last two axes
    for stacks of matrices (a 1-D ``m`` is treated as each row of a square matrix, as
    in NumPy).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.tril(fnp.ones((2, 2), int)).tolist()
        [[1, 0], [1, 1]]
    """
    return _triangle("funcgrad.numpy.tril", m, k, lower=True)


def triu(m: Any, k: int = 0) -> Any:
    """``m`` with the elements below the ``k``-th diagonal zeroed (see :func:`tril`).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.triu(fnp.ones((2, 2), int)).tolist()
        [[1, 1], [0, 1]]
    """
    return _triangle("funcgrad.numpy.triu", m, k, lower=False)


def _diag_matrix(v: Any, k: int) -> Any:
    """The square matrix with 1-D ``v`` on its ``k``-th diagonal, zeros elsewhere.

    Built by padding: in the flattened ``n x n`` matrix, consecutive diagonal elements
    are ``n + 1`` apart, so ``v`` with ``n`` zeros between its elements (pad's interior
    padding), shifted to the diagonal's first position, is the whole matrix.
    """
    length = v.shape[0]
    n = length + abs(k)
    lo = k if k >= 0 else -k * n
    body = length + max(length - 1, 0) * n
    zero = np.zeros((), v.dtype)[()]
    flat = structural.pad_p.bind1(v, zero, padding_config=((lo, n * n - lo - body, n),))
    return _reshape(flat, (n, n))


def diag(v: Any, k: int = 0) -> Any:
    """For 1-D ``v``: a square matrix with ``v`` on the ``k``-th diagonal. For 2-D ``v``:
    its ``k``-th diagonal (a new array; NumPy returns a read-only view).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.diag(fnp.array([1, 2]), k=1).tolist()
        [[0, 1, 0], [0, 0, 2], [0, 0, 0]]
        >>> fnp.diag(fnp.array([[1, 2], [3, 4]])).tolist()
        [1, 4]
    """
    fname = "funcgrad.numpy.diag"
    v = util.asarray(v, fname=fname)
    k = _static_int(k, fname, "k")
    if v.ndim == 1:
        return _diag_matrix(v, k)
    if v.ndim == 2:
        return diagonal(v, k)
    raise ValueError(f"{fname}: v must be 1-d or 2-d, got shape {v.shape}")


def diagflat(v: Any, k: int = 0) -> Any:
    """A square matrix with the flattened ``v`` on the ``k``-th diagonal.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.diagflat(fnp.array([[1, 2]])).tolist()
        [[1, 0], [0, 2]]
    """
    fname = "funcgrad.numpy.diagflat"
    v = util.asarray(v, fname=fname)
    return _diag_matrix(_reshape(v, (v.size,)), _static_int(k, fname, "k"))


def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """The ``offset``-th diagonal of the matrices on axes ``(axis1, axis2)`` of ``a``.

    As in NumPy, both axes are removed and the diagonal becomes the last axis. Differs
    from NumPy: a new immutable array, not a read-only view.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> x = fnp.arange(8).reshape(2, 2, 2)
        >>> fnp.diagonal(x, axis1=1, axis2=2).tolist()
        [[0, 3], [4, 7]]
    """
    fname = "funcgrad.numpy.diagonal"
    a = util.asarray(a, fname=fname)
    if a.ndim < 2:
        raise ValueError(f"{fname}: needs an array of at least 2 dimensions, got shape {a.shape}")
    offset = _static_int(offset, fname, "offset")
    ax1 = util.canonicalize_axis(axis1, a.ndim, fname, "axis1")
    ax2 = util.canonicalize_axis(axis2, a.ndim, fname, "axis2")
    if ax1 == ax2:
        raise ValueError(f"{fname}: axis1 and axis2 must differ, both are axis {ax1}")
    perm = tuple(i for i in range(a.ndim) if i not in (ax1, ax2)) + (ax1, ax2)
    if perm != tuple(range(a.ndim)):
        a = structural.transpose_p.bind1(a, permutation=perm)
    n1, n2 = a.shape[-2:]
    row0, col0 = max(-offset, 0), max(offset, 0)
    length = max(0, min(n1 - row0, n2 - col0))
    # On the flattened matrices the diagonal is a strided slice: one basic index, no
    # index arrays.
    flat = _reshape(a, a.shape[:-2] + (n1 * n2,))
    if not length:
        return getitem(flat, (Ellipsis, slice(0, 0)))
    first = row0 * n2 + col0
    return getitem(flat, (Ellipsis, slice(first, first + (length - 1) * (n2 + 1) + 1, n2 + 1)))


# --- at least n dimensions ------------------------------------------------------------


def _at_least(fname: str, arys: tuple, new_shape) -> Any:
    out = []
    for a in arys:
        a = util.asarray(a, fname=fname)
        out.append(_reshape(a, new_shape(a.shape)))
    return out[0] if len(out) == 1 else tuple(out)


def atleast_1d(*arys: Any) -> Any:
    """Each input as an array of at least 1 dimension (0-d becomes shape (1,)); one input
    gives one array, several give a tuple.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.atleast_1d(1.0).shape
        (1,)
    """
    return _at_least("funcgrad.numpy.atleast_1d", arys, lambda s: s or (1,))


def atleast_2d(*arys: Any) -> Any:
    """Each input with at least 2 dimensions: ``(n,)`` becomes ``(1, n)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.atleast_2d(fnp.arange(3)).shape
        (1, 3)
    """
    return _at_least("funcgrad.numpy.atleast_2d", arys, lambda s: (1,) * (2 - len(s)) + s)


def atleast_3d(*arys: Any) -> Any:
    """Each input with at least 3 dimensions: ``(n,)`` becomes ``(1, n, 1)`` and
    ``(m, n)`` becomes ``(m, n, 1)``, as in NumPy.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.atleast_3d(fnp.ones((2, 3))).shape
        (2, 3, 1)
    """

    def grow(s):
        return {0: (1, 1, 1), 1: (1, *s, 1), 2: (*s, 1)}.get(len(s), s)

    return _at_least("funcgrad.numpy.atleast_3d", arys, grow)


__all__ = [
    "arange", "array", "asanyarray", "asarray", "ascontiguousarray", "atleast_1d",
    "atleast_2d", "atleast_3d", "copy", "diag", "diagflat", "diagonal", "empty",
    "empty_like", "eye", "from_dlpack", "full", "full_like", "geomspace", "identity",
    "indices", "linspace", "logspace", "meshgrid", "ones", "ones_like", "tri", "tril",
    "triu", "zeros", "zeros_like",
]  # fmt: skip
