"""Reductions of funcgrad.numpy: sums, extrema, moments, scans and their NaN-ignoring forms.

Every function converts its input to the dtype NumPy accumulates in (the reduction
primitives keep their operand's dtype), masks with ``where``/NaN by substituting the
operation's identity, and binds one ``reduce_*``/``arg*``/``cum*`` primitive.

Differences from NumPy: no ``out=``; the arguments after ``dtype`` are
keyword-only (NumPy's positional ``out`` slot is gone, so positional use would
shift meanings silently); float16 means and variances are computed in float32
and rounded once (NumPy accumulates variances in float16); ``nanargmin``/
``nanargmax`` return -1 for all-NaN slices of a *traced* array, where they cannot
raise.
"""

from __future__ import annotations

import builtins
import math
from functools import lru_cache
from typing import Any

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.core import EVAL_TRACE, Array, Tracer, set_current_trace
from funcgrad._src.lax import reductions as lax_red
from funcgrad._src.lax import structural
from funcgrad._src.numpy import ufuncs
from funcgrad._src.numpy.util import (
    asarray,
    broadcast_shapes_cached,
    broadcast_to_shape,
    canonicalize_axes,
    canonicalize_axis,
    convert,
)

_int64 = dtypes.int64
_bool = dtypes.bool_


def _fname(name: str) -> str:
    return f"funcgrad.numpy.{name}"


# --- shared helpers ------------------------------------------------------------------


@lru_cache(maxsize=64)
def _accumulator_dtype(dtype: np.dtype) -> np.dtype:
    """NumPy's sum/prod/cumsum dtype: bool and integers narrower than 64 bits widen."""
    if dtype.kind == "b" or (dtype.kind == "i" and dtype.itemsize < 8):
        return _int64
    if dtype.kind == "u" and dtype.itemsize < 8:
        return dtypes.uint64
    return dtype


def _real_dtype(dtype: np.dtype) -> np.dtype:
    return np.dtype(f"f{dtype.itemsize // 2}") if dtype.kind == "c" else dtype


def _reshape(x: Any, shape: tuple[int, ...]) -> Any:
    if x.shape == shape:
        return x
    return structural.reshape_p.bind1(x, new_sizes=tuple(shape))


def _ravel(x: Any) -> Any:
    return _reshape(x, (x.size,))


def _reduced_shape(shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool) -> tuple:
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _keep(out: Any, shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool) -> Any:
    """``out`` (reduced over ``axes`` of ``shape``) with size-1 axes put back if asked."""
    return _reshape(out, _reduced_shape(shape, axes, True)) if keepdims else out


def _full(shape: tuple[int, ...], value: Any, dtype: np.dtype) -> Any:
    return broadcast_to_shape(asarray(value, dtype), tuple(shape))


def _mask(where: Any, shape: tuple[int, ...], fname: str) -> Any:
    """``where`` as a bool array of exactly ``shape`` (it must broadcast *to* ``shape``)."""
    mask = convert(asarray(where, fname=fname), _bool)
    try:
        fits = broadcast_shapes_cached(fname, mask.shape, tuple(shape)) == tuple(shape)
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"{fname}: where of shape {mask.shape} cannot be broadcast to the input shape {shape}"
        )
    return broadcast_to_shape(mask, tuple(shape))


def _no_mask(where: Any) -> bool:
    return where is None or where is True


def _static_count(shape: tuple[int, ...], axes: tuple[int, ...]) -> int:
    return math.prod(shape[a] for a in axes)


def _concrete(x: Any) -> Any:
    """The concrete array behind ``x``, or None while tracing (checks are skipped then)."""
    if type(x) is Array:
        return x
    if isinstance(x, Tracer):
        return x.concrete_value()
    return x


def eager():
    """A context in which checks on concrete values run eagerly, even while a
    transformation traces (there, operations on constants would give tracers)."""
    return set_current_trace(EVAL_TRACE)


def _cast_initial(initial: Any, dtype: np.dtype, fname: str) -> Any:
    if type(initial) in (bool, int, float, complex):
        return asarray(initial, dtype, fname)
    return convert(asarray(initial, fname=fname), dtype)


# --- sum and prod --------------------------------------------------------------------


def _fast_axes(a: Any, axis: Any) -> tuple[int, ...] | None:
    """Reduced axes of the common call (an array or tracer, ``axis`` None or an in-range
    int), or None: the general path then converts, checks and explains errors."""
    if type(a) is not Array and not isinstance(a, Tracer):
        return None
    ndim = a.ndim
    if axis is None:
        return tuple(range(ndim))
    if type(axis) is int and -ndim <= axis < ndim:
        return (axis % ndim,)
    return None


def _sum_like(name, prim, combine, identity, a, axis, dtype, keepdims, initial, where):
    fname = _fname(name)
    x = asarray(a, fname=fname)
    dt = _accumulator_dtype(x.dtype) if dtype is None else dtypes.canonicalize_dtype(dtype, fname)
    x = convert(x, dt)
    if not _no_mask(where):
        x = ufuncs.where(_mask(where, x.shape, fname), x, identity)
    axes = canonicalize_axes(axis, x.ndim, fname)
    out = prim.bind1(x, axes=axes)
    if initial is not None:
        out = combine(out, _cast_initial(initial, dt, fname))
    return _keep(out, x.shape, axes, keepdims)


def sum(a, axis=None, dtype=None, *, keepdims=False, initial=None, where=None):  # noqa: A001
    """Sum of elements over ``axis`` (None: all; an int or a tuple of ints).

    Bool and integers narrower than 64 bits accumulate in int64 (uint64 for unsigned),
    as in NumPy. ``where`` masks elements out; ``initial`` is added to the result.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> x = fnp.asarray([[1, 2], [3, 4]], dtype=fnp.int8)
        >>> fnp.sum(x, axis=0)
        Array([4, 6], dtype=int64, backend=numpy)
        >>> fnp.sum(x, where=x > 1, initial=10).item()
        19
    """
    if dtype is None and initial is None and where is None:
        axes = _fast_axes(a, axis)
        # floats accumulate in their own dtype: nothing to convert
        if axes is not None and a.dtype.kind in "fc":
            out = lax_red.reduce_sum_p.bind1(a, axes=axes)
            return _keep(out, a.shape, axes, True) if keepdims else out
    return _sum_like("sum", lax_red.reduce_sum_p, ufuncs.add, 0, a, axis, dtype, keepdims,
                     initial, where)  # fmt: skip


def prod(a, axis=None, dtype=None, *, keepdims=False, initial=None, where=None):
    """Product of elements over ``axis``; integer dtypes widen as in :func:`sum`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.prod(fnp.asarray([[1.0, 2.0], [3.0, 4.0]]), axis=1).tolist()
        [2.0, 12.0]
    """
    return _sum_like("prod", lax_red.reduce_prod_p, ufuncs.multiply, 1, a, axis, dtype, keepdims,
                     initial, where)  # fmt: skip


# --- extrema -------------------------------------------------------------------------


def _extremum(name, prim, combine, a, axis, keepdims, initial, where):
    fname = _fname(name)
    x = asarray(a, fname=fname)
    axes = canonicalize_axes(axis, x.ndim, fname)
    if initial is not None:
        init = _cast_initial(initial, x.dtype, fname)
    if not _no_mask(where):
        if initial is None:
            raise ValueError(
                f"{fname}: where= needs initial= ({name} has no identity to put in the "
                f"masked-out places)"
            )
        x = ufuncs.where(_mask(where, x.shape, fname), x, init)
    if builtins.any(x.shape[ax] == 0 for ax in axes):
        if initial is None:
            raise ValueError(
                f"{fname}: zero-size array (shape {x.shape}) reduced over axis {axis}; "
                f"{name} has no identity, so pass initial= or reduce a non-empty axis"
            )
        return _full(_reduced_shape(x.shape, axes, keepdims), init, x.dtype)
    out = prim.bind1(x, axes=axes)
    if initial is not None:
        out = combine(out, init)
    return _keep(out, x.shape, axes, keepdims)


def max(a, axis=None, *, keepdims=False, initial=None, where=None):  # noqa: A001
    """Largest element over ``axis``; NaN propagates. An empty reduction needs ``initial``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.max(fnp.asarray([[1, 5], [7, 2]]), axis=1).tolist()
        [5, 7]
        >>> fnp.max(fnp.zeros((0,)), initial=-1.0).item()
        -1.0
    """
    if initial is None and where is None:
        axes = _fast_axes(a, axis)
        if axes is not None and not builtins.any(a.shape[ax] == 0 for ax in axes):
            out = lax_red.reduce_max_p.bind1(a, axes=axes)
            return _keep(out, a.shape, axes, True) if keepdims else out
    return _extremum("max", lax_red.reduce_max_p, ufuncs.maximum, a, axis, keepdims, initial, where)


def min(a, axis=None, *, keepdims=False, initial=None, where=None):  # noqa: A001
    """Smallest element over ``axis``; NaN propagates. An empty reduction needs ``initial``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.min(fnp.asarray([[1, 5], [7, 2]]), axis=0).tolist()
        [1, 2]
    """
    return _extremum("min", lax_red.reduce_min_p, ufuncs.minimum, a, axis, keepdims, initial, where)


amax, amin = max, min


def ptp(a, axis=None, *, keepdims=False):
    """Range ``max - min`` over ``axis`` (integers wrap around, as in NumPy).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.ptp(fnp.asarray([[1, 5], [7, 2]]), axis=1).tolist()
        [4, 5]
    """
    fname = _fname("ptp")
    x = asarray(a, fname=fname)
    if dtypes.is_bool(x.dtype):
        raise TypeError(f"{fname}: not defined for bool arrays (max - min would subtract bools)")
    return ufuncs.subtract(max(x, axis, keepdims=keepdims), min(x, axis, keepdims=keepdims))


def _arg_extremum(name, prim, a, axis, keepdims):
    fname = _fname(name)
    x = asarray(a, fname=fname)
    shape = x.shape
    if axis is None:
        x = _ravel(x)
        ax = 0
    else:
        ax = canonicalize_axis(axis, x.ndim, fname)
    if x.shape[ax] == 0:
        raise ValueError(f"{fname}: attempt to get {name} of an empty sequence (shape {shape})")
    out = prim.bind1(x, axis=ax, index_dtype=_int64)
    if keepdims:
        axes = tuple(range(len(shape))) if axis is None else (ax,)
        out = _reshape(out, _reduced_shape(shape, axes, True))
    return out


def argmax(a, axis=None, *, keepdims=False):
    """Index of the largest element along ``axis`` (None: of the flattened array).

    Ties resolve to the first occurrence; NaN counts as the largest, as in NumPy.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.argmax(fnp.asarray([[1, 5], [7, 2]]), axis=1).tolist()
        [1, 0]
        >>> fnp.argmax(fnp.asarray([[1, 5], [7, 2]])).item()
        2
    """
    return _arg_extremum("argmax", lax_red.argmax_p, a, axis, keepdims)


def argmin(a, axis=None, *, keepdims=False):
    """Index of the smallest element along ``axis`` (None: of the flattened array).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.argmin(fnp.asarray([3, 1, 1])).item()
        1
    """
    return _arg_extremum("argmin", lax_red.argmin_p, a, axis, keepdims)


# --- logical reductions --------------------------------------------------------------


def all(a, axis=None, *, keepdims=False, where=None):  # noqa: A001
    """True if every element along ``axis`` is nonzero (NaN counts as nonzero).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.all(fnp.asarray([[1, 0], [1, 1]]), axis=1).tolist()
        [False, True]
    """
    fname = _fname("all")
    x = convert(asarray(a, fname=fname), _bool)
    if not _no_mask(where):
        # Masked-out places become True, the identity of "and".
        x = ufuncs.logical_or(x, ufuncs.logical_not(_mask(where, x.shape, fname)))
    axes = canonicalize_axes(axis, x.ndim, fname)
    return _keep(lax_red.reduce_and_p.bind1(x, axes=axes), x.shape, axes, keepdims)


def any(a, axis=None, *, keepdims=False, where=None):  # noqa: A001
    """True if some element along ``axis`` is nonzero (NaN counts as nonzero).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.any(fnp.asarray([[1, 0], [0, 0]]), axis=1).tolist()
        [True, False]
    """
    fname = _fname("any")
    x = convert(asarray(a, fname=fname), _bool)
    if not _no_mask(where):
        x = ufuncs.logical_and(x, _mask(where, x.shape, fname))
    axes = canonicalize_axes(axis, x.ndim, fname)
    return _keep(lax_red.reduce_or_p.bind1(x, axes=axes), x.shape, axes, keepdims)


def count_nonzero(a, axis=None, *, keepdims=False):
    """Number of nonzero elements along ``axis``, as int64.

    Unlike NumPy, ``axis=None`` gives a 0-d array rather than a Python int (so that it
    can be traced).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.count_nonzero(fnp.asarray([[0, 1], [2, 3]]), axis=0).tolist()
        [1, 2]
    """
    fname = _fname("count_nonzero")
    x = convert(convert(asarray(a, fname=fname), _bool), _int64)
    axes = canonicalize_axes(axis, x.ndim, fname)
    return _keep(lax_red.reduce_sum_p.bind1(x, axes=axes), x.shape, axes, keepdims)


# --- means and moments ---------------------------------------------------------------


def _mean_dtypes(dtype: np.dtype, requested: Any, fname: str) -> tuple[np.dtype, np.dtype]:
    """(dtype to accumulate in, dtype of the result) of NumPy's mean."""
    if requested is not None:
        dt = dtypes.canonicalize_dtype(requested, fname)
        return dt, dt
    if dtype.kind in "biu":
        return dtypes.float64, dtypes.float64
    if dtype == dtypes.float16:
        # NumPy sums float16 in float32 and rounds the mean once; so do we.
        return dtypes.float32, dtypes.float16
    return dtype, dtype


def _sum_and_count(x, axes, mask, keepdims):
    """Masked sum of ``x`` over ``axes`` and the number of elements it summed."""
    if mask is None:
        total = lax_red.reduce_sum_p.bind1(x, axes=axes)
        count = _static_count(x.shape, axes)
    else:
        total = lax_red.reduce_sum_p.bind1(ufuncs.where(mask, x, 0), axes=axes)
        count = lax_red.reduce_sum_p.bind1(convert(mask, _int64), axes=axes)
    if keepdims:
        total = _keep(total, x.shape, axes, True)
        if mask is not None:
            count = _keep(count, x.shape, axes, True)
    return total, count


def _divide(total, count):
    # A traced count has dtype int64: cast it so it does not promote float32 sums.
    if type(count) is not int:
        count = convert(count, total.dtype if dtypes.is_inexact(total.dtype) else dtypes.float64)
    return ufuncs.divide(total, count)


def mean(a, axis=None, dtype=None, *, keepdims=False, where=None):
    """Arithmetic mean over ``axis``.

    Integers and bool give float64; float16 is accumulated in float32 and the result
    rounded to float16, as NumPy does. The mean of an empty slice is NaN.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.mean(fnp.asarray([[1, 2], [3, 4]]), axis=0).tolist()
        [2.0, 3.0]
    """
    if dtype is None and where is None and not keepdims:
        axes = _fast_axes(a, axis)
        dt = None if axes is None else a.dtype
        # floats (but float16) average in their own dtype: nothing to convert
        if dt is not None and dt.kind in "fc" and dt != dtypes.float16:
            total = lax_red.reduce_sum_p.bind1(a, axes=axes)
            return ufuncs.divide(total, _static_count(a.shape, axes))
    fname = _fname("mean")
    x = asarray(a, fname=fname)
    acc, out_dt = _mean_dtypes(x.dtype, dtype, fname)
    x = convert(x, acc)
    axes = canonicalize_axes(axis, x.ndim, fname)
    mask = None if _no_mask(where) else _mask(where, x.shape, fname)
    total, count = _sum_and_count(x, axes, mask, keepdims)
    return convert(_divide(total, count), out_dt)


def _ddof(ddof: Any, correction: Any, fname: str) -> Any:
    if correction is not None:
        if ddof != 0:
            raise ValueError(f"{fname}: pass ddof or correction (the array API's name), not both")
        return correction
    return ddof


def _variance(name, a, axis, dtype, ddof, keepdims, where, mean_, correction, *, nan, sqrt):
    """var/std/nanvar/nanstd: the mean squared deviation, divided by ``count - ddof``."""
    fname = _fname(name)
    ddof = _ddof(ddof, correction, fname)
    x = asarray(a, fname=fname)
    if dtype is not None:
        acc = out_dt = dtypes.canonicalize_dtype(dtype, fname)
    else:
        acc = out_dt = dtypes.to_inexact(x.dtype)
        if acc == dtypes.float16:
            acc = dtypes.float32  # accumulate in float32, round once at the end
    out_dt = _real_dtype(out_dt)
    axes = canonicalize_axes(axis, x.ndim, fname)
    mask = None if _no_mask(where) else _mask(where, x.shape, fname)
    # Integer inputs have no NaN: NumPy's nanvar is then var (no NaN for ddof >= N).
    nan = nan and dtypes.is_inexact(x.dtype)
    x = convert(x, acc)
    if nan:
        valid = ufuncs.logical_not(ufuncs.isnan(x))
        mask = valid if mask is None else ufuncs.logical_and(mask, valid)
    if mean_ is None:
        total, count = _sum_and_count(x, axes, mask, True)
        mu = _divide(total, count)
    else:
        mu = convert(asarray(mean_, fname=fname), acc)
    dev = ufuncs.subtract(x, mu)
    if dtypes.is_complex(dev.dtype):
        re, im = ufuncs.real(dev), ufuncs.imag(dev)
        sq = ufuncs.add(ufuncs.multiply(re, re), ufuncs.multiply(im, im))
    else:
        sq = ufuncs.multiply(dev, dev)
    total, count = _sum_and_count(sq, axes, mask, keepdims)
    if type(count) is int and type(ddof) in (int, float):
        dof = count - ddof  # static: no array needed
    else:
        dof = ufuncs.subtract(count, ddof)
    if nan:
        # NumPy's nanvar gives NaN wherever the degrees of freedom are not positive.
        out = ufuncs.where(ufuncs.less_equal(dof, 0), np.nan, _divide(total, dof))
    elif type(dof) in (int, float):
        out = _divide(total, builtins.max(dof, 0))
    else:
        out = _divide(total, ufuncs.maximum(dof, 0))
    if sqrt:
        # sqrt's derivative is infinite at 0: where the variance is 0 (a length-1 axis,
        # a constant slice) std's gradient is taken as 0 (a subgradient; for a length-1
        # axis std is constant) instead of 0 * inf = NaN
        positive = ufuncs.greater(out, 0)
        out = ufuncs.where(positive, ufuncs.sqrt(ufuncs.where(positive, out, 1)), out)
    return convert(out, out_dt)


def var(a, axis=None, dtype=None, *, ddof=0, keepdims=False, where=None, mean=None,
        correction=None):  # fmt: skip
    """Variance over ``axis``: ``sum(|x - mean|**2) / (N - ddof)``.

    ``correction`` is the array API's name for ``ddof``. ``mean`` may pass a
    precomputed mean (with ``keepdims=True`` shape). Integers give float64, complex
    inputs a real result; float16 is accumulated in float32 (NumPy uses float16).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.var(fnp.asarray([1.0, 2.0, 3.0, 4.0])).item()
        1.25
        >>> fnp.var(fnp.asarray([1.0, 2.0, 3.0, 4.0]), ddof=1).item()
        1.6666666666666667
    """
    return _variance("var", a, axis, dtype, ddof, keepdims, where, mean, correction,
                     nan=False, sqrt=False)  # fmt: skip


def std(a, axis=None, dtype=None, *, ddof=0, keepdims=False, where=None, mean=None,
        correction=None):  # fmt: skip
    """Standard deviation over ``axis``: the square root of :func:`var`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.std(fnp.asarray([[1.0, 3.0], [2.0, 2.0]]), axis=1).tolist()
        [1.0, 0.0]
    """
    return _variance("std", a, axis, dtype, ddof, keepdims, where, mean, correction,
                     nan=False, sqrt=True)  # fmt: skip


def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    """Weighted average over ``axis``: ``sum(a * w) / sum(w)``.

    ``weights`` has ``a``'s shape, or is 1-D (or has the shape of the reduced axes)
    along ``axis``. With ``returned=True`` also returns the sum of the weights,
    broadcast to the result's shape. A zero weight sum raises ZeroDivisionError
    when the weights are concrete; under a trace it gives inf/NaN.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.average(fnp.asarray([1.0, 2.0, 4.0]), weights=fnp.asarray([1, 1, 2])).item()
        2.75
    """
    fname = _fname("average")
    x = asarray(a, fname=fname)
    if weights is None:
        avg = mean(x, axis, keepdims=keepdims)
        if not returned:
            return avg
        scale = x.size / builtins.max(avg.size, 1) if x.size else 0.0
        return avg, _full(avg.shape, scale, avg.dtype)
    w = asarray(weights, fname=fname)
    if dtypes.is_inexact(x.dtype):
        dt = dtypes.result_type(x.dtype, w.dtype)
    else:
        dt = dtypes.result_type(x.dtype, w.dtype, dtypes.float64)
    axes = canonicalize_axes(axis, x.ndim, fname)
    if w.shape != x.shape:
        if axis is None:
            raise TypeError(
                f"{fname}: axis must be given when weights (shape {w.shape}) and a "
                f"(shape {x.shape}) have different shapes"
            )
        if w.shape != tuple(x.shape[ax] for ax in axes):
            raise ValueError(
                f"{fname}: weights of shape {w.shape} do not match a of shape {x.shape} "
                f"along axis {axis}; they need shape {tuple(x.shape[ax] for ax in axes)}"
            )
        # Lay the weights along the reduced axes, with size 1 elsewhere.
        w = _reshape(w, tuple(x.shape[i] if i in axes else 1 for i in range(x.ndim)))
        w = broadcast_to_shape(w, x.shape)
    w = convert(w, dt)
    scale = lax_red.reduce_sum_p.bind1(w, axes=axes)
    concrete = _concrete(scale)
    if concrete is not None:
        with eager():
            zero = bool(any(ufuncs.equal(concrete, 0)))
        if zero:
            raise ZeroDivisionError(f"{fname}: weights sum to zero, so they cannot be normalised")
    total = lax_red.reduce_sum_p.bind1(ufuncs.multiply(convert(x, dt), w), axes=axes)
    avg = ufuncs.divide(total, scale)
    avg = _keep(avg, x.shape, axes, keepdims)
    if returned:
        return avg, broadcast_to_shape(_keep(scale, x.shape, axes, keepdims), avg.shape)
    return avg


# --- cumulative scans ----------------------------------------------------------------


def _cumulative(name, prim, a, axis, dtype, include_initial=False, identity=0):
    fname = _fname(name)
    x = asarray(a, fname=fname)
    dt = _accumulator_dtype(x.dtype) if dtype is None else dtypes.canonicalize_dtype(dtype, fname)
    x = convert(x, dt)
    if axis is None:
        x = _ravel(x)
        ax = 0
    else:
        ax = canonicalize_axis(axis, x.ndim, fname)
    out = prim.bind1(x, axis=ax, reverse=False)
    if include_initial:
        config = tuple((1, 0, 0) if i == ax else (0, 0, 0) for i in range(out.ndim))
        out = structural.pad_p.bind1(out, identity, padding_config=config)
    return out


def cumsum(a, axis=None, dtype=None):
    """Cumulative sum along ``axis`` (None: of the flattened array); dtypes as :func:`sum`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.cumsum(fnp.asarray([[1, 2], [3, 4]])).tolist()
        [1, 3, 6, 10]
    """
    return _cumulative("cumsum", lax_red.cumsum_p, a, axis, dtype)


def cumprod(a, axis=None, dtype=None):
    """Cumulative product along ``axis`` (None: of the flattened array).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.cumprod(fnp.asarray([[1, 2], [3, 4]]), axis=1).tolist()
        [[1, 2], [3, 12]]
    """
    return _cumulative("cumprod", lax_red.cumprod_p, a, axis, dtype)


def _array_api_axis(x, axis, fname):
    if axis is None:
        if x.ndim > 1:
            raise ValueError(
                f"{fname}: axis must be given for arrays of more than one dimension "
                f"(got shape {x.shape})"
            )
        return 0
    return axis


def cumulative_sum(x, /, *, axis=None, dtype=None, include_initial=False):
    """The array API's cumulative sum: like :func:`cumsum`, but ``axis`` is required for
    arrays of more than one dimension, and ``include_initial`` prepends a zero.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.cumulative_sum(fnp.asarray([1, 2, 3]), include_initial=True).tolist()
        [0, 1, 3, 6]
    """
    fname = _fname("cumulative_sum")
    x = asarray(x, fname=fname)
    if x.ndim == 0:
        x = _reshape(x, (1,))  # NumPy treats a 0-d input as 1-D
    axis = _array_api_axis(x, axis, fname)
    return _cumulative("cumulative_sum", lax_red.cumsum_p, x, axis, dtype, include_initial, 0)


def cumulative_prod(x, /, *, axis=None, dtype=None, include_initial=False):
    """The array API's cumulative product (see :func:`cumulative_sum`); the initial value is 1.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.cumulative_prod(fnp.asarray([2, 3]), include_initial=True).tolist()
        [1, 2, 6]
    """
    fname = _fname("cumulative_prod")
    x = asarray(x, fname=fname)
    if x.ndim == 0:
        x = _reshape(x, (1,))
    axis = _array_api_axis(x, axis, fname)
    return _cumulative("cumulative_prod", lax_red.cumprod_p, x, axis, dtype, include_initial, 1)


# --- NaN-ignoring forms ----------------------------------------------------------------


def _replace_nan(x: Any, value: Any) -> Any:
    if not dtypes.is_inexact(x.dtype):
        return x
    return ufuncs.where(ufuncs.isnan(x), value, x)


def nansum(a, axis=None, dtype=None, *, keepdims=False, initial=None, where=None):
    """:func:`sum` treating NaN as zero.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.nansum(fnp.asarray([1.0, float("nan"), 2.0])).item()
        3.0
    """
    x = _replace_nan(asarray(a, fname=_fname("nansum")), 0)
    return _sum_like("nansum", lax_red.reduce_sum_p, ufuncs.add, 0, x, axis, dtype, keepdims,
                     initial, where)  # fmt: skip


def nanprod(a, axis=None, dtype=None, *, keepdims=False, initial=None, where=None):
    """:func:`prod` treating NaN as one.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.nanprod(fnp.asarray([2.0, float("nan"), 3.0])).item()
        6.0
    """
    x = _replace_nan(asarray(a, fname=_fname("nanprod")), 1)
    return _sum_like("nanprod", lax_red.reduce_prod_p, ufuncs.multiply, 1, x, axis, dtype,
                     keepdims, initial, where)  # fmt: skip


def nanmean(a, axis=None, dtype=None, *, keepdims=False, where=None):
    """:func:`mean` of the non-NaN elements; NaN for slices with none.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.nanmean(fnp.asarray([1.0, float("nan"), 3.0])).item()
        2.0
    """
    fname = _fname("nanmean")
    x = asarray(a, fname=fname)
    if not dtypes.is_inexact(x.dtype):
        return mean(x, axis, dtype, keepdims=keepdims, where=where)
    if dtype is not None and not dtypes.is_inexact(dtypes.canonicalize_dtype(dtype, fname)):
        raise TypeError(f"{fname}: dtype must be inexact for an inexact input, got {dtype}")
    acc, out_dt = _mean_dtypes(x.dtype, dtype, fname)
    x = convert(x, acc)
    axes = canonicalize_axes(axis, x.ndim, fname)
    valid = ufuncs.logical_not(ufuncs.isnan(x))
    if not _no_mask(where):
        valid = ufuncs.logical_and(valid, _mask(where, x.shape, fname))
    total, count = _sum_and_count(x, axes, valid, keepdims)
    return convert(_divide(total, count), out_dt)


def nanvar(a, axis=None, dtype=None, *, ddof=0, keepdims=False, where=None, mean=None,
           correction=None):  # fmt: skip
    """:func:`var` of the non-NaN elements; NaN where fewer than ``ddof + 1`` remain.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.nanvar(fnp.asarray([1.0, float("nan"), 3.0])).item()
        1.0
    """
    return _variance("nanvar", a, axis, dtype, ddof, keepdims, where, mean, correction,
                     nan=True, sqrt=False)  # fmt: skip


def nanstd(a, axis=None, dtype=None, *, ddof=0, keepdims=False, where=None, mean=None,
           correction=None):  # fmt: skip
    """:func:`std` of the non-NaN elements.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.nanstd(fnp.asarray([1.0, float("nan"), 3.0])).item()
        1.0
    """
    return _variance("nanstd", a, axis, dtype, ddof, keepdims, where, mean, correction,
                     nan=True, sqrt=True)  # fmt: skip


def _nan_extremum(name, prim, combine, fill, a, axis, keepdims, initial, where):
    fname = _fname(name)
    x = asarray(a, fname=fname)
    if not dtypes.is_inexact(x.dtype):
        return _extremum(name, prim, combine, x, axis, keepdims, initial, where)
    axes = canonicalize_axes(axis, x.ndim, fname)
    if initial is None and builtins.any(x.shape[ax] == 0 for ax in axes):
        raise ValueError(
            f"{fname}: zero-size array (shape {x.shape}) reduced over axis {axis}; "
            f"pass initial= or reduce a non-empty axis"
        )
    valid = ufuncs.logical_not(ufuncs.isnan(x))
    if not _no_mask(where):
        if initial is None:
            raise ValueError(f"{fname}: where= needs initial= ({name} has no identity)")
        valid = ufuncs.logical_and(valid, _mask(where, x.shape, fname))
    if dtypes.is_complex(x.dtype):
        fill = complex(fill, fill)  # the end of the lexicographic order of complex numbers
    out = _extremum(name, prim, combine, ufuncs.where(valid, x, fill), axis, keepdims,
                    initial, None)  # fmt: skip
    if initial is None:
        # All-NaN slices give NaN (NumPy also warns).
        seen = lax_red.reduce_or_p.bind1(valid, axes=axes)
        out = ufuncs.where(_keep(seen, x.shape, axes, keepdims), out, np.nan)
    return out


def nanmax(a, axis=None, *, keepdims=False, initial=None, where=None):
    """:func:`max` ignoring NaN; all-NaN slices give NaN.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.nanmax(fnp.asarray([1.0, float("nan"), 3.0])).item()
        3.0
    """
    return _nan_extremum("nanmax", lax_red.reduce_max_p, ufuncs.maximum, -np.inf, a, axis,
                         keepdims, initial, where)  # fmt: skip


def nanmin(a, axis=None, *, keepdims=False, initial=None, where=None):
    """:func:`min` ignoring NaN; all-NaN slices give NaN.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.nanmin(fnp.asarray([[float("nan"), 2.0], [1.0, 4.0]]), axis=0).tolist()
        [1.0, 2.0]
    """
    return _nan_extremum("nanmin", lax_red.reduce_min_p, ufuncs.minimum, np.inf, a, axis,
                         keepdims, initial, where)  # fmt: skip


def _nan_arg_extremum(name, prim, fill, a, axis, keepdims):
    fname = _fname(name)
    x = asarray(a, fname=fname)
    if not dtypes.is_inexact(x.dtype):
        return _arg_extremum(name, prim, x, axis, keepdims)
    is_nan = ufuncs.isnan(x)
    out = _arg_extremum(name, prim, ufuncs.where(is_nan, fill, x), axis, keepdims)
    concrete = _concrete(x)
    if concrete is not None:
        with eager():
            found = bool(any(all(ufuncs.isnan(concrete), axis)))
        if found:
            raise ValueError(f"{fname}: all-NaN slice encountered (input shape {x.shape})")
        return out
    return ufuncs.where(all(is_nan, axis, keepdims=keepdims), -1, out)


def nanargmax(a, axis=None, *, keepdims=False):
    """:func:`argmax` ignoring NaN.

    An all-NaN slice raises ValueError, as in NumPy, when the input is concrete; for
    a traced input (where raising is impossible) its index is -1.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.nanargmax(fnp.asarray([1.0, float("nan"), 3.0])).item()
        2
    """
    return _nan_arg_extremum("nanargmax", lax_red.argmax_p, -np.inf, a, axis, keepdims)


def nanargmin(a, axis=None, *, keepdims=False):
    """:func:`argmin` ignoring NaN (see :func:`nanargmax` for all-NaN slices).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.nanargmin(fnp.asarray([float("nan"), 3.0, 1.0])).item()
        2
    """
    return _nan_arg_extremum("nanargmin", lax_red.argmin_p, np.inf, a, axis, keepdims)


def nancumsum(a, axis=None, dtype=None):
    """:func:`cumsum` treating NaN as zero.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.nancumsum(fnp.asarray([1.0, float("nan"), 2.0])).tolist()
        [1.0, 1.0, 3.0]
    """
    x = _replace_nan(asarray(a, fname=_fname("nancumsum")), 0)
    return _cumulative("nancumsum", lax_red.cumsum_p, x, axis, dtype)


def nancumprod(a, axis=None, dtype=None):
    """:func:`cumprod` treating NaN as one.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.nancumprod(fnp.asarray([2.0, float("nan"), 3.0])).tolist()
        [2.0, 2.0, 6.0]
    """
    x = _replace_nan(asarray(a, fname=_fname("nancumprod")), 1)
    return _cumulative("nancumprod", lax_red.cumprod_p, x, axis, dtype)


__all__ = [
    "all", "amax", "amin", "any", "argmax", "argmin", "average", "count_nonzero",
    "cumprod", "cumsum", "cumulative_prod", "cumulative_sum", "max", "mean", "min",
    "nanargmax", "nanargmin", "nancumprod", "nancumsum", "nanmax", "nanmean", "nanmin",
    "nanprod", "nanstd", "nansum", "nanvar", "prod", "ptp", "std", "sum", "var",
]  # fmt: skip
