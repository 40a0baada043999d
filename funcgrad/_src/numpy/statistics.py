"""Statistics of funcgrad.numpy: order statistics, histograms, covariance and interpolation.

Order statistics (median, quantile, percentile and their NaN-ignoring forms) sort
the reduced axes into one last axis and gather the elements they need; the
NaN-ignoring forms count each slice's non-NaN elements, which NaN-last sorting
puts first. Histograms and bincount scatter-add into a zero array. Where an output
*shape* depends on data (``bincount`` without ``length=``, ``histogram`` with an
integer ``bins`` and no ``range=``), the data must be concrete; the documented
arguments make them traceable.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.core import Array, Tracer, concrete_or_error
from funcgrad._src.lax import indexing as lax_indexing
from funcgrad._src.lax import linalg as lax_linalg
from funcgrad._src.lax import reductions as lax_red
from funcgrad._src.lax import sorting as lax_sorting
from funcgrad._src.lax import structural
from funcgrad._src.lax.indexing import ArrayIndex, IndexSlice
from funcgrad._src.numpy import reductions as red
from funcgrad._src.numpy import sorting, ufuncs
from funcgrad._src.numpy.reductions import eager
from funcgrad._src.numpy.util import (
    asarray,
    broadcast_to_shape,
    canonicalize_axes,
    canonicalize_axis,
    convert,
    is_array,
)

_int64 = dtypes.int64
_float64 = dtypes.float64
_WEAK = (bool, int, float, complex)


def _fname(name: str) -> str:
    return f"funcgrad.numpy.{name}"


# --- helpers -------------------------------------------------------------------------


def _reshape(x: Any, shape: tuple[int, ...]) -> Any:
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return structural.reshape_p.bind1(x, new_sizes=shape)


def _transpose(x: Any, perm: tuple[int, ...]) -> Any:
    if tuple(perm) == tuple(range(x.ndim)):
        return x
    return structural.transpose_p.bind1(x, permutation=tuple(perm))


def _slice(x: Any, axis: int, start: int | None, stop: int | None) -> Any:
    indexer = (IndexSlice(None, None, None),) * axis + (IndexSlice(start, stop, None),)
    return lax_indexing.gather_p.bind1(x, indexer=indexer)


def _diff(x: Any, axis: int = -1) -> Any:
    axis = axis % x.ndim
    return ufuncs.subtract(_slice(x, axis, 1, None), _slice(x, axis, None, -1))


def _take(v: Any, idx: Any) -> Any:
    """``v[..., idx]``: gather along the last axis with an index array of any shape."""
    return lax_indexing.gather_p.bind1(v, idx, indexer=(Ellipsis, ArrayIndex(0)))


def _take_along_last(v: Any, idx: Any) -> Any:
    """``out[k..., j...] = v[k..., idx[k..., j...]]`` for ``v`` of shape ``K + (n,)`` and
    ``idx`` of shape ``K + J``."""
    nk = v.ndim - 1
    iotas = [structural.iota_p.bind1(dtype=_int64, shape=idx.shape, dimension=d) for d in range(nk)]
    indexer = tuple(ArrayIndex(i) for i in range(nk + 1))
    return lax_indexing.gather_p.bind1(v, *iotas, idx, indexer=indexer)


def _full(shape: tuple[int, ...], value: Any, dtype: np.dtype) -> Any:
    return broadcast_to_shape(asarray(value, dtype), tuple(shape))


def _concrete(x: Any) -> Any:
    """The concrete value behind ``x`` (arrays, Python values), or None while tracing."""
    if type(x) is Array:
        return x
    if isinstance(x, Tracer):
        return x.concrete_value()
    return x


def _sorted_last(x: Any, axes: tuple[int, ...]) -> tuple[Any, tuple[int, ...]]:
    """``x`` with the ``axes`` moved last, merged into one axis and sorted (NaN last);
    also the shape of the remaining axes."""
    kept = [i for i in range(x.ndim) if i not in axes]
    kept_shape = tuple(x.shape[i] for i in kept)
    n = math.prod(x.shape[i] for i in axes)
    y = _reshape(_transpose(x, (*kept, *axes)), (*kept_shape, n))
    return lax_sorting.sort_p.bind1(y, dimension=y.ndim - 1, num_keys=1), kept_shape


def _finish(out: Any, nq: int, x_shape: tuple, axes: tuple, keepdims: bool) -> Any:
    """Move the ``nq`` trailing quantile axes of ``out`` to the front (NumPy's layout)
    and restore the reduced axes as size 1 if ``keepdims``."""
    nk = out.ndim - nq
    out = _transpose(out, (*range(nk, nk + nq), *range(nk)))
    if keepdims:
        kept = tuple(1 if i in axes else d for i, d in enumerate(x_shape))
        out = _reshape(out, out.shape[:nq] + kept)
    return out


# --- median --------------------------------------------------------------------------


def _nan_count(y: Any) -> Any:
    """Number of non-NaN elements along the last axis."""
    valid = ufuncs.logical_not(ufuncs.isnan(y))
    return lax_red.reduce_sum_p.bind1(convert(valid, _int64), axes=(y.ndim - 1,))


def median(a, axis=None, *, overwrite_input=False, keepdims=False):
    """Median over ``axis`` (None: all; an int or a tuple); NaN if the slice has a NaN.

    The mean of the middle element(s), so the dtype is :func:`mean`'s (float64 for
    integers). ``overwrite_input`` is accepted and ignored (arrays are immutable).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.median(fnp.asarray([[3, 1, 2], [4, 6, 5]]), axis=1).tolist()
        [2.0, 5.0]
        >>> fnp.median(fnp.asarray([4.0, 1.0, 3.0, 2.0])).item()
        2.5
    """
    del overwrite_input
    fname = _fname("median")
    x = asarray(a, fname=fname)
    axes = canonicalize_axes(axis, x.ndim, fname)
    y, _ = _sorted_last(x, axes)
    n = y.shape[-1]
    last = y.ndim - 1
    out = red.mean(_slice(y, last, (n - 1) // 2, n // 2 + 1), axis=-1)
    if dtypes.is_inexact(x.dtype) and n > 0:
        top = _reshape(_slice(y, last, n - 1, n), y.shape[:-1])
        out = ufuncs.where(ufuncs.isnan(top), top, out)
    return _finish(out, 0, x.shape, axes, keepdims)


def nanmedian(a, axis=None, *, overwrite_input=False, keepdims=False):
    """:func:`median` of the non-NaN elements; NaN for slices with none.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.nanmedian(fnp.asarray([1.0, float("nan"), 4.0])).item()
        2.5
    """
    del overwrite_input
    fname = _fname("nanmedian")
    x = asarray(a, fname=fname)
    if not dtypes.is_inexact(x.dtype):
        return median(x, axis, keepdims=keepdims)
    axes = canonicalize_axes(axis, x.ndim, fname)
    y, _ = _sorted_last(x, axes)
    if y.shape[-1] == 0:
        return red.mean(x, axis, keepdims=keepdims)  # NaN, in mean's dtype
    count = _nan_count(y)
    lo_i = ufuncs.maximum(ufuncs.floor_divide(ufuncs.subtract(count, 1), 2), 0)
    hi_i = ufuncs.minimum(ufuncs.floor_divide(count, 2), y.shape[-1] - 1)
    lo = _take_along_last(y, _reshape(lo_i, (*lo_i.shape, 1)))
    hi = _take_along_last(y, _reshape(hi_i, (*hi_i.shape, 1)))
    # NumPy averages the middle pair as a mean does: float16 goes through float32.
    acc = dtypes.float32 if x.dtype == dtypes.float16 else x.dtype
    mid = ufuncs.divide(ufuncs.add(convert(lo, acc), convert(hi, acc)), 2)
    mid = convert(_reshape(mid, count.shape), x.dtype)
    out = ufuncs.where(ufuncs.equal(count, 0), np.nan, mid)
    return _finish(out, 0, x.shape, axes, keepdims)


# --- quantiles -----------------------------------------------------------------------

_METHODS = ("linear", "lower", "higher", "nearest", "midpoint")


def _lerp(a: Any, b: Any, t: Any) -> Any:
    """NumPy's quantile interpolation: from ``a`` for t < 1/2, from ``b`` otherwise, so
    that ``t = 0`` and ``t = 1`` reproduce the end points exactly."""
    diff = ufuncs.subtract(b, a)
    from_a = ufuncs.add(a, ufuncs.multiply(diff, t))
    from_b = ufuncs.subtract(b, ufuncs.multiply(diff, ufuncs.subtract(1, t)))
    return ufuncs.where(ufuncs.greater_equal(t, 0.5), from_b, from_a)


def _quantile_args(name, a, q, method, interpolation, weights, percent):
    fname = _fname(name)
    if weights is not None:
        raise NotImplementedError(
            f"{fname}: weights= (NumPy supports it only with method='inverted_cdf') is not "
            f"supported"
        )
    if interpolation is not None:
        if method != "linear":
            raise TypeError(f"{fname}: pass method= only; interpolation= is its old name")
        method = interpolation
    if method not in _METHODS:
        raise ValueError(f"{fname}: method={method!r} is not supported; use one of {_METHODS}")
    x = asarray(a, fname=fname)
    if dtypes.is_complex(x.dtype):
        raise TypeError(f"{fname}: a must be an array of real numbers, got {x.dtype}")
    weak_q = type(q) in (int, float)  # a Python q leaves the result in a's dtype
    qa = asarray(q, fname=fname)
    if qa.ndim > 2:
        raise ValueError(f"{fname}: q must be a scalar or at most 2-D, got shape {qa.shape}")
    concrete = _concrete(qa)
    if concrete is not None and concrete.size:
        with eager():
            v = ufuncs.divide(concrete, 100) if percent else concrete
            ok = bool(
                red.all(ufuncs.logical_and(ufuncs.greater_equal(v, 0), ufuncs.less_equal(v, 1)))
            )
        if not ok:
            bound = "[0, 100]" if percent else "[0, 1]"
            raise ValueError(f"{fname}: q must lie in {bound}, got {concrete.tolist()}")
    if percent:
        qa = ufuncs.divide(qa, 100)
    return fname, x, qa, weak_q, method


def _quantile(name, a, q, axis, method, keepdims, interpolation, weights, *, nan, percent):
    fname, x, q, weak_q, method = _quantile_args(
        name, a, q, method, interpolation, weights, percent
    )
    axes = canonicalize_axes(axis, x.ndim, fname)
    y, kept_shape = _sorted_last(x, axes)
    n = y.shape[-1]
    nk, nq = len(kept_shape), q.ndim
    if n == 0:
        if not nan:
            raise ValueError(
                f"{fname}: cannot take quantiles over an empty axis (a of shape {x.shape})"
            )
        out = _full(kept_shape + q.shape, np.nan, dtypes.to_inexact(x.dtype))  # as NumPy's nanmean
        return _finish(out, nq, x.shape, axes, keepdims)
    nan = nan and dtypes.is_inexact(x.dtype)
    if nan:
        # NaN sorts last, so each slice's non-NaN elements are its first `count`.
        count = _reshape(_nan_count(y), kept_shape + (1,) * nq)
        last = ufuncs.maximum(ufuncs.subtract(count, 1), 0)
        vi = ufuncs.multiply(q, convert(last, q.dtype))
        take = _take_along_last
    else:
        last = n - 1
        vi = ufuncs.multiply(q, last)
        take = _take
    if method in ("lower", "higher", "nearest") or (
        method == "linear" and not dtypes.is_inexact(vi.dtype)
    ):
        rounding = {"lower": ufuncs.floor, "higher": ufuncs.ceil, "nearest": ufuncs.rint}
        if method in rounding:
            vi = rounding[method](vi)
        out = take(y, ufuncs.minimum(ufuncs.maximum(convert(vi, _int64), 0), last))
    else:
        if dtypes.is_bool(x.dtype):
            raise TypeError(
                f"{fname}: method={method!r} interpolates, which bool arrays cannot; use "
                f"method='lower', 'higher' or 'nearest', or cast to float"
            )
        if method == "midpoint":
            vi = ufuncs.multiply(0.5, ufuncs.add(ufuncs.floor(vi), ufuncs.ceil(vi)))
        below = ufuncs.floor(vi)
        if method == "midpoint":
            gamma = convert(ufuncs.where(ufuncs.equal(vi, below), 0.0, 0.5), vi.dtype)
        else:
            gamma = ufuncs.subtract(vi, below)
        prev = ufuncs.minimum(ufuncs.maximum(convert(below, _int64), 0), last)
        lo, hi = take(y, prev), take(y, ufuncs.minimum(ufuncs.add(prev, 1), last))
        if not dtypes.is_inexact(x.dtype):
            # NumPy subtracts integers in their own dtype and can overflow; we do not.
            lo, hi = convert(lo, _float64), convert(hi, _float64)
        if weak_q:
            gamma = convert(gamma, lo.dtype)  # a Python q is weakly typed (NumPy 2.4)
        out = _lerp(lo, hi, gamma)
    if nan:
        out = ufuncs.where(ufuncs.equal(count, 0), np.nan, out)
    elif dtypes.is_inexact(x.dtype):
        # A NaN anywhere makes the slice's quantiles NaN (NumPy's rule); it sorts last.
        top = _reshape(_slice(y, nk, n - 1, n), kept_shape + (1,) * nq)
        out = ufuncs.where(ufuncs.isnan(top), top, out)
    return _finish(out, nq, x.shape, axes, keepdims)


def quantile(a, q, axis=None, *, overwrite_input=False, method="linear", keepdims=False,
             weights=None, interpolation=None):  # fmt: skip
    """The ``q``-th quantiles (``q`` in [0, 1], scalar or array) over ``axis``.

    Methods: ``linear`` (default), ``lower``, ``higher``, ``nearest`` (round half to
    even) and ``midpoint``. The result has ``q``'s axes first. A Python ``q`` keeps
    ``a``'s float dtype; integer input interpolates in float64 (NumPy subtracts in
    the integer dtype, which can overflow). A slice containing NaN gives NaN.
    ``overwrite_input`` is ignored; ``weights`` is not supported.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> x = fnp.asarray([[1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 30.0, 40.0]])
        >>> fnp.quantile(x, 0.5, axis=1).tolist()
        [2.5, 25.0]
        >>> fnp.quantile(x, fnp.asarray([0.0, 1.0]), axis=1).tolist()
        [[1.0, 10.0], [4.0, 40.0]]
        >>> fnp.quantile(x[0], 0.4, method="lower").item()
        2.0
    """
    del overwrite_input
    return _quantile("quantile", a, q, axis, method, keepdims, interpolation, weights,
                     nan=False, percent=False)  # fmt: skip


def percentile(a, q, axis=None, *, overwrite_input=False, method="linear", keepdims=False,
               weights=None, interpolation=None):  # fmt: skip
    """:func:`quantile` with ``q`` in percent ([0, 100]).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.percentile(fnp.asarray([1.0, 2.0, 3.0, 4.0, 5.0]), 25).item()
        2.0
    """
    del overwrite_input
    return _quantile("percentile", a, q, axis, method, keepdims, interpolation, weights,
                     nan=False, percent=True)  # fmt: skip


def nanquantile(a, q, axis=None, *, overwrite_input=False, method="linear", keepdims=False,
                weights=None, interpolation=None):  # fmt: skip
    """:func:`quantile` of the non-NaN elements; NaN for slices with none.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.nanquantile(fnp.asarray([1.0, float("nan"), 3.0]), 0.5).item()
        2.0
    """
    del overwrite_input
    return _quantile("nanquantile", a, q, axis, method, keepdims, interpolation, weights,
                     nan=True, percent=False)  # fmt: skip


def nanpercentile(a, q, axis=None, *, overwrite_input=False, method="linear", keepdims=False,
                  weights=None, interpolation=None):  # fmt: skip
    """:func:`percentile` of the non-NaN elements; NaN for slices with none.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.nanpercentile(fnp.asarray([1.0, float("nan"), 3.0]), 100).item()
        3.0
    """
    del overwrite_input
    return _quantile("nanpercentile", a, q, axis, method, keepdims, interpolation, weights,
                     nan=True, percent=True)  # fmt: skip


# --- histograms ----------------------------------------------------------------------


def _linspace(start: Any, stop: Any, num: int, dtype: np.dtype) -> Any:
    """``num`` evenly spaced values from ``start`` to ``stop`` inclusive, computed the way
    NumPy's linspace does (``i * step + start``, last value exactly ``stop``), so the
    edges match NumPy's bit for bit."""
    dt = dtypes.result_type(start, stop, float)
    delta = ufuncs.subtract(_as(stop, dt), _as(start, dt))
    step = ufuncs.divide(delta, num - 1)
    ramp = structural.iota_p.bind1(dtype=dt, shape=(num,), dimension=0)
    y = convert(ufuncs.add(ufuncs.multiply(ramp, step), start), dt)
    end = _reshape(_as(stop, dt), (1,))
    y = structural.concatenate_p.bind1(_slice(y, 0, None, num - 1), end, dimension=0)
    return convert(y, dtype)


def _as(v: Any, dtype: np.dtype) -> Any:
    return asarray(v, dtype) if type(v) in _WEAK else convert(asarray(v), dtype)


def _outer_edges(x: Any, range_: Any, fname: str) -> tuple[Any, Any]:
    """(first, last) edge: ``range`` or the data's min and max, widened by 1/2 if equal."""
    if range_ is not None:
        first, last = range_
        cf, cl = _concrete(first), _concrete(last)
        if cf is not None and cl is not None:
            lo, hi = float(cf), float(cl)
            if lo > hi:
                raise ValueError(f"{fname}: range=({lo}, {hi}): max must be larger than min")
            if not (np.isfinite(lo) and np.isfinite(hi)):
                raise ValueError(f"{fname}: the supplied range [{lo}, {hi}] is not finite")
    elif x.size == 0:
        first, last = 0, 1  # NumPy's range for empty data
    else:
        cx = concrete_or_error(
            x, fname, "the bin edges (from the data's min and max)",
            "Pass range=(lo, hi) to make histogram traceable.",
        )  # fmt: skip
        with eager():
            first, last = red.min(cx), red.max(cx)
        if not (np.isfinite(float(first)) and np.isfinite(float(last))):
            raise ValueError(
                f"{fname}: the autodetected range [{first.item()}, {last.item()}] is not "
                f"finite; pass range= or remove non-finite values"
            )
    cf, cl = _concrete(first), _concrete(last)
    if cf is not None and cl is not None:
        if float(cf) == float(cl):
            first, last = _shift(first, -0.5), _shift(last, 0.5)
    else:
        same = ufuncs.equal(first, last)
        first = ufuncs.where(same, ufuncs.subtract(first, 0.5), first)
        last = ufuncs.where(same, ufuncs.add(last, 0.5), last)
    return first, last


def _shift(v: Any, delta: float) -> Any:
    # Python numbers stay Python numbers: they must stay weakly typed for the bin dtype.
    return v + delta if type(v) in _WEAK else ufuncs.add(v, delta)


def _bin_count(bins: Any, fname: str) -> int | None:
    """The number of bins if ``bins`` is a scalar, else None (``bins`` are the edges)."""
    if isinstance(bins, str):
        raise NotImplementedError(
            f"{fname}: bin estimators such as bins={bins!r} are not supported; pass the "
            f"number of bins or the edges"
        )
    if is_array(bins):
        if bins.ndim != 0:
            return None
        bins = concrete_or_error(bins, fname, "the number of bins", "Pass bins as a Python int.")
        bins = bins.item()
    elif np.ndim(bins) != 0:
        return None
    try:
        count = operator.index(bins)
    except TypeError:
        raise TypeError(
            f"{fname}: bins must be an int or a 1-D array of edges, got {bins!r}"
        ) from None
    if count < 1:
        raise ValueError(f"{fname}: bins must be positive when an integer, got {count}")
    return count


def _edges_and_bins(a, bins, range_, weights, fname):
    """Flattened data and weights, the bin edges, and each element's bin (or -1 if it
    falls outside the edges)."""
    x = asarray(a, fname=fname)
    if dtypes.is_complex(x.dtype):
        raise TypeError(f"{fname}: complex data cannot be binned; take the real part first")
    if dtypes.is_bool(x.dtype):
        x = convert(x, dtypes.uint8)  # NumPy bins bools as 0/1
    w = None
    if weights is not None:
        w = asarray(weights, fname=fname)
        if w.shape != x.shape:
            raise ValueError(f"{fname}: weights of shape {w.shape} must have a's shape {x.shape}")
        w = _reshape(w, (w.size,))
    x = _reshape(x, (x.size,))
    count = _bin_count(bins, fname)
    if count is not None:
        first, last = _outer_edges(x, range_, fname)
        bin_dtype = dtypes.result_type(first, last, x)
        if not dtypes.is_inexact(bin_dtype):
            bin_dtype = dtypes.result_type(bin_dtype, float)
        edges = _linspace(first, last, count + 1, bin_dtype)
        inside = ufuncs.logical_and(ufuncs.greater_equal(x, first), ufuncs.less_equal(x, last))
        xb, eb = convert(x, edges.dtype), edges
    else:
        edges = asarray(bins, fname=fname)
        if edges.ndim != 1 or edges.shape[0] < 1:
            raise ValueError(
                f"{fname}: bin edges must be 1-D and non-empty, got shape {edges.shape}"
            )
        ce = _concrete(edges)
        if ce is not None:
            with eager():
                bad = bool(red.any(ufuncs.greater(_slice(ce, 0, None, -1), _slice(ce, 0, 1, None))))
            if bad:
                raise ValueError(
                    f"{fname}: bin edges must increase monotonically, got {ce.tolist()}"
                )
        count = edges.shape[0] - 1
        dt = dtypes.result_type(x, edges)
        xb, eb = convert(x, dt), convert(edges, dt)
        lo = _reshape(_slice(eb, 0, 0, 1), ())
        hi = _reshape(_slice(eb, 0, count, count + 1), ())
        inside = ufuncs.logical_and(ufuncs.greater_equal(xb, lo), ufuncs.less_equal(xb, hi))
    # Bin i holds edges[i] <= x < edges[i + 1]; the last bin also holds its right edge.
    idx = ufuncs.subtract(lax_sorting.searchsorted_p.bind1(eb, xb, side="right", dtype=_int64), 1)
    idx = ufuncs.where(inside, ufuncs.minimum(idx, count - 1), -1)
    return x, w, edges, idx, count


def _scatter_add(idx: Any, values: Any, length: int, dtype: np.dtype) -> Any:
    """A length-``length`` array with ``values`` summed at ``idx``; ``idx < 0`` is dropped."""
    if length == 0:
        return _full((0,), 0, dtype)
    keep = ufuncs.greater_equal(idx, 0)
    values = ufuncs.where(keep, values, 0) if values is not None else convert(keep, dtype)
    return _full((length,), 0, dtype).at[ufuncs.where(keep, idx, 0)].add(convert(values, dtype))


def histogram(a, bins=10, range=None, weights=None, density=None):  # noqa: A002
    """Histogram of the flattened ``a``: ``(hist, bin_edges)``.

    ``bins`` is a number of equal-width bins over ``range`` (default: the data's min
    and max, which needs concrete data; pass ``range`` to trace) or a 1-D array of
    monotonically increasing edges. Bin ``i`` counts ``edges[i] <= x < edges[i+1]``,
    the last bin also its right edge; values outside are ignored. ``weights`` sum
    instead of counting (the result has their dtype); ``density`` normalises to unit
    area (float64). Bin estimator strings (``"auto"``...) are not supported.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> hist, edges = fnp.histogram(fnp.asarray([1, 2, 2, 3, 4]), bins=3)
        >>> hist.tolist(), edges.tolist()
        ([1, 2, 2], [1.0, 2.0, 3.0, 4.0])
        >>> fnp.histogram(fnp.asarray([0.5, 1.5]), bins=[0, 1, 2], density=True)[0].tolist()
        [0.5, 0.5]
    """
    fname = _fname("histogram")
    _, w, edges, idx, count = _edges_and_bins(a, bins, range, weights, fname)
    if w is None:
        hist = _scatter_add(idx, None, count, _int64)
    else:
        # NumPy accumulates weights in double precision and casts to their dtype.
        acc = dtypes.complex128 if dtypes.is_complex(w.dtype) else _float64
        hist = convert(_scatter_add(idx, convert(w, acc), count, acc), w.dtype)
    if density:
        widths = convert(_diff(edges), _float64)
        hist = ufuncs.divide(ufuncs.divide(hist, widths), red.sum(hist))
    return hist, edges


def histogram_bin_edges(a, bins=10, range=None, weights=None):  # noqa: A002
    """The bin edges :func:`histogram` would use (``weights`` is accepted and unused).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.histogram_bin_edges(fnp.asarray([0.0, 1.0]), bins=2).tolist()
        [0.0, 0.5, 1.0]
    """
    del weights
    return _edges_and_bins(a, bins, range, None, _fname("histogram_bin_edges"))[2]


def bincount(x, /, weights=None, minlength=0, *, length=None):
    """Number of occurrences (or sum of ``weights``) of each value in non-negative int ``x``.

    The output length is ``max(max(x) + 1, minlength)``, which needs concrete ``x``.
    ``length=`` (a funcgrad extension, as in JAX) fixes the output length instead,
    making bincount traceable: values outside ``[0, length)`` are then dropped.
    Negative values raise ValueError when ``x`` is concrete, as in NumPy. Counts are
    int64, weighted sums float64.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.bincount(fnp.asarray([0, 2, 2, 3])).tolist()
        [1, 0, 2, 1]
        >>> fnp.bincount(fnp.asarray([1, 1]), weights=fnp.asarray([0.5, 2.0]), length=3).tolist()
        [0.0, 2.5, 0.0]
    """
    fname = _fname("bincount")
    x = asarray(x, fname=fname)
    if x.ndim != 1:
        raise ValueError(f"{fname}: x must be 1-D, got shape {x.shape}")
    if not (dtypes.is_integer(x.dtype) or dtypes.is_bool(x.dtype)):
        raise TypeError(f"{fname}: x must hold non-negative integers, got dtype {x.dtype}")
    minlength = operator.index(minlength) if minlength is not None else 0
    if minlength < 0:
        raise ValueError(f"{fname}: minlength must not be negative, got {minlength}")
    x = convert(x, _int64)
    cx = _concrete(x)
    if cx is not None and x.size:
        with eager():
            lowest, highest = int(red.min(cx)), int(red.max(cx))
        if lowest < 0:
            raise ValueError(f"{fname}: x must have no negative elements, got min {lowest}")
    if length is None:
        concrete_or_error(
            x, fname, "the output length (max(x) + 1)",
            "Pass length= (a static int) to fix the output length under jit.",
        )  # fmt: skip
        length = max(highest + 1 if x.size else 0, minlength)
        idx = x
    else:
        length = operator.index(length)
        if length < 0:
            raise ValueError(f"{fname}: length must not be negative, got {length}")
        idx = ufuncs.where(ufuncs.less(x, length), x, -1)  # dropped, as are negatives
    if weights is None:
        return _scatter_add(idx, None, length, _int64)
    w = asarray(weights, fname=fname)
    if w.shape != x.shape:
        raise ValueError(f"{fname}: weights of shape {w.shape} must match x's shape {x.shape}")
    if dtypes.is_complex(w.dtype):
        raise TypeError(f"{fname}: weights must be real, got {w.dtype}")
    return _scatter_add(idx, convert(w, _float64), length, _float64)


def digitize(x, bins, right=False):
    """Index of the bin each ``x`` falls in: ``i`` with ``bins[i-1] <= x < bins[i]``.

    ``bins`` is 1-D and monotonic (increasing or decreasing); ``right=True`` closes
    the bins on the right instead. Returns int64. A traced ``bins`` is assumed
    monotonic; its direction is read from its end points.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.digitize(fnp.asarray([0.5, 1.0, 2.5]), fnp.asarray([1.0, 2.0, 3.0])).tolist()
        [0, 1, 2]
        >>> fnp.digitize(fnp.asarray([0.5, 1.0, 2.5]), fnp.asarray([1.0, 2.0, 3.0]), right=True).tolist()
        [0, 0, 2]
    """
    fname = _fname("digitize")
    x = asarray(x, fname=fname)
    b = asarray(bins, fname=fname)
    if dtypes.is_complex(x.dtype):
        raise TypeError(f"{fname}: x may not be complex")
    if b.ndim != 1:
        raise ValueError(f"{fname}: bins must be 1-D, got shape {b.shape}")
    side = "left" if right else "right"
    n = b.shape[0]
    dt = dtypes.result_type(x, b)
    xs, bs = convert(x, dt), convert(b, dt)

    def increasing():
        return lax_sorting.searchsorted_p.bind1(bs, xs, side=side, dtype=_int64)

    def decreasing():
        flipped = lax_indexing.gather_p.bind1(bs, indexer=(IndexSlice(None, None, -1),))
        found = lax_sorting.searchsorted_p.bind1(flipped, xs, side=side, dtype=_int64)
        return ufuncs.subtract(n, found)

    if n < 2:
        return increasing()
    cb = _concrete(b)
    if cb is not None:
        with eager():
            head, tail = _slice(cb, 0, None, -1), _slice(cb, 0, 1, None)
            up = bool(red.all(ufuncs.less_equal(head, tail)))
            down = bool(red.all(ufuncs.greater_equal(head, tail)))
        if up:
            return increasing()
        if down:
            return decreasing()
        raise ValueError(f"{fname}: bins must be monotonically increasing or decreasing")
    first, last = _reshape(_slice(b, 0, 0, 1), ()), _reshape(_slice(b, 0, n - 1, n), ())
    return ufuncs.where(ufuncs.less_equal(first, last), increasing(), decreasing())


# --- covariance ----------------------------------------------------------------------


def _atleast_2d_rows(v: Any) -> Any:
    return _reshape(v, (1, v.size)) if v.ndim < 2 else v


def _check_weights(w: Any, n: int, name: str, fname: str, integral: bool) -> Any:
    w = asarray(w, _float64, fname)
    if w.ndim > 1:
        raise RuntimeError(f"{fname}: cannot handle multidimensional {name} (shape {w.shape})")
    if w.shape[0] != n:
        raise RuntimeError(f"{fname}: {name} has {w.shape[0]} entries for {n} observations")
    cw = _concrete(w)
    if cw is not None:
        with eager():
            fractional = bool(red.any(ufuncs.not_equal(cw, ufuncs.rint(cw))))
            negative = bool(red.any(ufuncs.less(cw, 0)))
        if integral and fractional:
            raise TypeError(f"{fname}: {name} must be integers")
        if negative:
            raise ValueError(f"{fname}: {name} cannot be negative")
    return w


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *,
        dtype=None):  # fmt: skip
    """Covariance matrix of the variables in the rows of ``m`` (columns if not ``rowvar``).

    Normalised by ``N - 1`` (``N`` with ``bias=True``, or ``N - ddof``); ``fweights``
    are integer frequencies and ``aweights`` observation weights, as in NumPy. The
    result is float64 (complex128 for complex data) unless ``dtype`` is given, and
    0-d for a single variable.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.cov(fnp.asarray([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]])).tolist()
        [[1.0, -1.0], [-1.0, 1.0]]
    """
    fname = _fname("cov")
    if ddof is not None and ddof != int(ddof):
        raise ValueError(f"{fname}: ddof must be an integer, got {ddof!r}")
    m = asarray(m, fname=fname)
    if m.ndim > 2:
        raise ValueError(f"{fname}: m has more than 2 dimensions (shape {m.shape})")
    if y is not None:
        y = asarray(y, fname=fname)
        if y.ndim > 2:
            raise ValueError(f"{fname}: y has more than 2 dimensions (shape {y.shape})")
    if dtype is None:
        dt = dtypes.result_type(m, _float64) if y is None else dtypes.result_type(m, y, _float64)
    else:
        dt = dtypes.canonicalize_dtype(dtype, fname)
    X = _atleast_2d_rows(convert(m, dt))
    if not rowvar and m.ndim == 2:
        X = _transpose(X, (1, 0))
    if X.shape[0] == 0:
        return _full((0, 0), 0, _float64)
    if y is not None:
        Y = _atleast_2d_rows(convert(y, dt))
        if not rowvar and Y.shape[0] != 1:
            Y = _transpose(Y, (1, 0))
        if Y.shape[1] != X.shape[1]:
            raise ValueError(
                f"{fname}: m has {X.shape[1]} observations and y has {Y.shape[1]}; they must match"
            )
        X = structural.concatenate_p.bind1(X, Y, dimension=0)
    if ddof is None:
        ddof = 0 if bias else 1
    n_obs = X.shape[1]
    w = None
    if fweights is not None:
        w = _check_weights(fweights, n_obs, "fweights", fname, integral=True)
    if aweights is not None:
        aw = _check_weights(aweights, n_obs, "aweights", fname, integral=False)
        w = aw if w is None else ufuncs.multiply(w, aw)
    avg, w_sum = red.average(X, axis=1, weights=w, returned=True)
    w_sum = _reshape(_slice(w_sum, 0, 0, 1), ())
    if w is None:
        fact = n_obs - ddof
    elif ddof == 0:
        fact = w_sum
    elif aweights is None:
        fact = ufuncs.subtract(w_sum, ddof)
    else:
        fact = ufuncs.subtract(
            w_sum, ufuncs.divide(ufuncs.multiply(ddof, red.sum(ufuncs.multiply(w, aw))), w_sum)
        )
    fact = ufuncs.where(ufuncs.less_equal(fact, 0), 0.0, fact)  # NumPy also warns
    X = ufuncs.subtract(X, _reshape(avg, (avg.shape[0], 1)))
    Xw = X if w is None else ufuncs.multiply(X, w)
    Xw = convert(Xw, X.dtype)
    c = lax_linalg.dot_general_p.bind1(
        X, ufuncs.conjugate(Xw), dimension_numbers=(((1,), (1,)), ((), ()))
    )
    c = convert(ufuncs.multiply(c, ufuncs.divide(1, fact)), c.dtype)
    return _reshape(c, tuple(d for d in c.shape if d != 1))


def corrcoef(x, y=None, rowvar=True, bias=None, ddof=None, *, dtype=None):
    """Pearson correlation coefficients: :func:`cov` normalised by the standard deviations,
    clipped to [-1, 1]. ``bias`` and ``ddof`` have no effect (as in NumPy, where they
    are deprecated).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.corrcoef(fnp.asarray([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])).tolist()
        [[1.0, -1.0], [-1.0, 1.0]]
    """
    del bias, ddof
    c = cov(x, y, rowvar, dtype=dtype)
    if c.ndim == 0:
        return ufuncs.divide(c, c)  # NaN for a zero, non-finite or NaN variance, else 1
    n = c.shape[0]
    diag_idx = structural.iota_p.bind1(dtype=_int64, shape=(n,), dimension=0)
    d = lax_indexing.gather_p.bind1(c, diag_idx, diag_idx, indexer=(ArrayIndex(0), ArrayIndex(1)))
    stddev = ufuncs.sqrt(ufuncs.real(d))
    c = ufuncs.divide(c, _reshape(stddev, (n, 1)))
    c = ufuncs.divide(c, _reshape(stddev, (1, n)))
    if not dtypes.is_complex(c.dtype):
        return ufuncs.clip(c, -1, 1)
    re = convert(ufuncs.clip(ufuncs.real(c), -1, 1), c.dtype)
    im = convert(ufuncs.clip(ufuncs.imag(c), -1, 1), c.dtype)
    return ufuncs.add(re, ufuncs.multiply(im, 1j))


# --- interpolation and polynomials ---------------------------------------------------


def _interp_real(x, xp, fp, left, right):
    """NumPy's piecewise-linear interpolation for real ``fp`` (all float64)."""
    n = xp.shape[0]
    j = ufuncs.subtract(lax_sorting.searchsorted_p.bind1(xp, x, side="right", dtype=_int64), 1)
    jc = ufuncs.minimum(ufuncs.maximum(j, 0), max(n - 2, 0))
    jn = ufuncs.minimum(ufuncs.add(jc, 1), n - 1)
    x0, x1, y0, y1 = _take(xp, jc), _take(xp, jn), _take(fp, jc), _take(fp, jn)
    slope = ufuncs.divide(ufuncs.subtract(y1, y0), ufuncs.subtract(x1, x0))
    res = ufuncs.add(ufuncs.multiply(slope, ufuncs.subtract(x, x0)), y0)
    # Like NumPy: if NaN, interpolate from the right end; if still NaN on a flat
    # segment (an infinite x), the segment's value.
    res = ufuncs.where(
        ufuncs.isnan(res), ufuncs.add(ufuncs.multiply(slope, ufuncs.subtract(x, x1)), y1), res
    )
    res = ufuncs.where(ufuncs.logical_and(ufuncs.isnan(res), ufuncs.equal(y0, y1)), y0, res)
    res = ufuncs.where(ufuncs.equal(x, x0), y0, res)  # exact hits need no arithmetic
    last_x = _reshape(_slice(xp, 0, n - 1, n), ())
    last_y = _reshape(_slice(fp, 0, n - 1, n), ())
    first_x = _reshape(_slice(xp, 0, 0, 1), ())
    res = ufuncs.where(ufuncs.equal(j, n - 1), last_y, res)
    res = ufuncs.where(ufuncs.greater(x, last_x), right, res)
    res = ufuncs.where(ufuncs.less(x, first_x), left, res)
    return ufuncs.where(ufuncs.isnan(x), np.nan, res)


def interp(x, xp, fp, left=None, right=None, period=None):
    """Piecewise-linear interpolant of the points ``(xp, fp)`` evaluated at ``x``.

    ``xp`` must be increasing (not checked, as in NumPy; with ``period`` it is sorted
    for you). Outside ``[xp[0], xp[-1]]`` the result is ``left``/``right`` (default
    ``fp[0]``/``fp[-1]``). Computed in float64 (complex128 for complex ``fp``). A NaN
    ``x`` gives NaN.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.interp(fnp.asarray([0.5, 2.5, 9.0]), fnp.asarray([0.0, 1.0, 3.0]),
        ...            fnp.asarray([0.0, 10.0, 30.0])).tolist()
        [5.0, 25.0, 30.0]
    """
    fname = _fname("interp")
    x, xp, fp = (asarray(v, fname=fname) for v in (x, xp, fp))
    if dtypes.is_complex(x.dtype) or dtypes.is_complex(xp.dtype):
        raise TypeError(f"{fname}: x and xp must be real, got {x.dtype} and {xp.dtype}")
    if xp.ndim != 1 or fp.ndim != 1:
        raise ValueError(f"{fname}: xp and fp must be 1-D, got shapes {xp.shape} and {fp.shape}")
    if xp.shape[0] != fp.shape[0]:
        raise ValueError(f"{fname}: xp has {xp.shape[0]} points but fp has {fp.shape[0]}")
    if xp.shape[0] == 0:
        raise ValueError(f"{fname}: the array of sample points xp is empty")
    out_dt = dtypes.complex128 if dtypes.is_complex(fp.dtype) else _float64
    x, xp, fp = convert(x, _float64), convert(xp, _float64), convert(fp, out_dt)
    if period is not None:
        cp = _concrete(period)
        if cp is not None and float(cp) == 0:
            raise ValueError(f"{fname}: period must be a non-zero value")
        period = ufuncs.absolute(asarray(period, _float64, fname))
        left = right = None
        x, xp = ufuncs.remainder(x, period), ufuncs.remainder(xp, period)
        order = sorting.argsort(xp)
        xp, fp = _take(xp, order), _take(fp, order)
        n = xp.shape[0]
        xp = structural.concatenate_p.bind1(
            ufuncs.subtract(_slice(xp, 0, n - 1, n), period), xp,
            ufuncs.add(_slice(xp, 0, 0, 1), period), dimension=0,
        )  # fmt: skip
        fp = structural.concatenate_p.bind1(
            _slice(fp, 0, n - 1, n), fp, _slice(fp, 0, 0, 1), dimension=0
        )
    n = fp.shape[0]
    lo = (
        _reshape(_slice(fp, 0, 0, 1), ())
        if left is None
        else convert(asarray(left, fname=fname), out_dt)
    )
    hi = (
        _reshape(_slice(fp, 0, n - 1, n), ())
        if right is None
        else convert(asarray(right, fname=fname), out_dt)
    )
    if out_dt == _float64:
        return _interp_real(x, xp, fp, lo, hi)
    re = _interp_real(x, xp, ufuncs.real(fp), ufuncs.real(lo), ufuncs.real(hi))
    im = _interp_real(x, xp, ufuncs.imag(fp), ufuncs.imag(lo), ufuncs.imag(hi))
    return ufuncs.add(convert(re, out_dt), ufuncs.multiply(convert(im, out_dt), 1j))


def polyval(p, x):
    """The polynomial with coefficients ``p`` (highest degree first) at ``x``, by Horner's rule.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.polyval(fnp.asarray([1, 0, -1]), fnp.asarray([2.0, 3.0])).tolist()
        [3.0, 8.0]
    """
    fname = _fname("polyval")
    p = asarray(p, fname=fname)
    x = asarray(x, fname=fname)
    if p.ndim == 0:
        raise TypeError(f"{fname}: p must be a 1-D sequence of coefficients, got a 0-d array")
    y = _full(x.shape, 0, x.dtype)  # NumPy starts from zeros_like(x): 0 * inf stays NaN
    for i in range(p.shape[0]):
        coeff = lax_indexing.gather_p.bind1(p, indexer=(i,))
        y = ufuncs.add(ufuncs.multiply(y, x), coeff)
    return y


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Integral of ``y`` along ``axis`` by the trapezoidal rule, with sample points ``x``
    (1-D, or ``y``'s shape) or uniform spacing ``dx``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.trapezoid(fnp.asarray([1.0, 2.0, 3.0])).item()
        4.0
        >>> fnp.trapezoid(fnp.asarray([1.0, 2.0, 3.0]), x=fnp.asarray([0.0, 1.0, 3.0])).item()
        6.5
    """
    fname = _fname("trapezoid")
    y = asarray(y, fname=fname)
    ax = canonicalize_axis(axis, y.ndim, fname)
    if x is None:
        d = dx
    else:
        x = asarray(x, fname=fname)
        if x.ndim == 1:
            d = _diff(x)
            d = _reshape(d, tuple(d.shape[0] if i == ax else 1 for i in range(y.ndim)))
        else:
            d = _diff(x, canonicalize_axis(axis, x.ndim, fname))
    pairs = ufuncs.add(_slice(y, ax, 1, None), _slice(y, ax, None, -1))
    return red.sum(ufuncs.divide(ufuncs.multiply(d, pairs), 2.0), axis=ax)


def ediff1d(ary, to_end=None, to_begin=None):
    """Differences of consecutive elements of the flattened ``ary``, with ``to_begin`` and
    ``to_end`` (cast to ``ary``'s dtype, which must be safe in kind) around them.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.ediff1d(fnp.asarray([1, 2, 4, 7]), to_begin=0).tolist()
        [0, 1, 2, 3]
    """
    fname = _fname("ediff1d")
    a = asarray(ary, fname=fname)
    a = _reshape(a, (a.size,))
    if dtypes.is_bool(a.dtype):
        raise TypeError(f"{fname}: differences of bools are not defined; cast to int first")
    n = a.shape[0]
    parts = [ufuncs.subtract(_slice(a, 0, 1, None), _slice(a, 0, None, max(n - 1, 0)))]

    def extra(v, name):
        v = asarray(v, fname=fname)
        if not np.can_cast(v.dtype, a.dtype, casting="same_kind"):
            raise TypeError(
                f"{fname}: {name} of dtype {v.dtype} cannot be cast to {a.dtype} safely in kind"
            )
        return convert(_reshape(v, (v.size,)), a.dtype)

    if to_begin is not None:
        parts.insert(0, extra(to_begin, "to_begin"))
    if to_end is not None:
        parts.append(extra(to_end, "to_end"))
    if len(parts) == 1:
        return parts[0]
    return structural.concatenate_p.bind1(*parts, dimension=0)


__all__ = [
    "bincount", "corrcoef", "cov", "digitize", "ediff1d", "histogram", "histogram_bin_edges",
    "interp", "median", "nanmedian", "nanpercentile", "nanquantile", "percentile", "polyval",
    "quantile", "trapezoid",
]  # fmt: skip
