"""Window reductions (pooling): ``reduce_window`` for max, sum and average pooling.

Five primitives, all with JAX's window parameters over *every* axis of the operand
(``window_dimensions``, ``window_strides``, ``padding`` as ``(lo, hi)`` pairs,
``base_dilation``, ``window_dilation``; pooling helpers give window 1 to the batch and
channel axes):

=========================  ===============================================================
``reduce_window_sum``      sum over each window; padding and dilation holes are 0 (linear)
``reduce_window_max/min``  extremum over each window; padding is the identity (-inf / +inf)
``select_and_gather_add``  per window, the ``tangent`` element at the operand's selected
                           position (linear in ``tangent``): the JVP of max pooling
``select_and_scatter_add`` the ``source`` value of each window added at the operand's
                           selected position (linear in ``source``): its transpose
=========================  ===============================================================

The *selected position* of a window is its first maximum (minimum) in row-major window
order, as in PyTorch's max pooling: on ties the whole gradient goes to that one element.
NaN counts as the maximum (the first NaN is selected). A padding position is never
selected while the window holds an operand element; a window made of padding only
selects nothing (its gradient is dropped).

On NumPy (and CuPy) the impls work on strided views of the padded, dilated operand.
Window reductions go one axis at a time (a box window is separable), each axis
combining one strided slice per window position; the selection of windows of up to
``_MAX_TAPS`` taps (pooling's 2x2, 3x3) compares one strided slice per tap. Both run
several times faster on NumPy than a reduction over small trailing window axes; wider
windows reduce a view shaped ``out_shape + window_shape`` over its window axes
(selection: one argmax over the flattened window axes). No Python loop runs over
pixels, batch or channels.

Output size per axis, with ``P = lo + hi + (n - 1) * base_dilation + 1`` (``lo + hi`` if
``n == 0``) and the effective window ``K = (k - 1) * window_dilation + 1``:
``out = max(0, (P - K) // stride + 1)``.

The pooling helpers (:func:`max_pool`, :func:`avg_pool`, :func:`sum_pool`), the adaptive
pools, :func:`max_unpool` and :func:`resize` are compositions of primitives.
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from funcgrad._src.core import Array, Primitive, ShapedArray, Tracer, get_aval
from funcgrad._src.interpreters import batching
from funcgrad._src.interpreters.ad import Zero, deflinear, is_undefined, zeros_like_aval
from funcgrad._src.lax.elementwise import add_p, div_p, max_p, min_p
from funcgrad._src.lax.structural import (
    _pad_operand_ct,
    broadcast_in_dim_p,
    convert_element_type_p,
    iota_p,
    pad_p,
    reshape_p,
)

__all__ = [
    "adaptive_avg_pool",
    "adaptive_max_pool",
    "avg_pool",
    "max_pool",
    "max_unpool",
    "pool_output_shape",
    "pool_output_size",
    "reduce_window",
    "resize",
    "sum_pool",
]

_WINDOW_PARAMS = (
    "window_dimensions",
    "window_strides",
    "padding",
    "base_dilation",
    "window_dilation",
)


# --- shapes -----------------------------------------------------------------------------


def _dilated_size(n: int, lo: int, hi: int, base_dilation: int) -> int:
    return lo + hi + (n - 1) * base_dilation + 1 if n else lo + hi


def _window_out_size(padded: int, k: int, stride: int, dilation: int) -> int:
    return max(0, (padded - ((k - 1) * dilation + 1)) // stride + 1)


def _check_window_params(name: str, x: ShapedArray, window_dimensions, window_strides, padding,
                         base_dilation, window_dilation) -> None:  # fmt: skip
    n = x.ndim
    for pname, value in zip(_WINDOW_PARAMS, (window_dimensions, window_strides, padding,
                                             base_dilation, window_dilation)):  # fmt: skip
        if len(value) != n:
            raise ValueError(
                f"{name}: {pname} {value} must have one entry per operand axis "
                f"(operand shape {x.shape})"
            )
    checks = (
        ("window_dimensions", window_dimensions, 1),
        ("window_strides", window_strides, 1),
        ("base_dilation", base_dilation, 1),
        ("window_dilation", window_dilation, 1),
    )
    for pname, value, least in checks:
        if any(v < least for v in value):
            raise ValueError(f"{name}: {pname} must be >= {least}, got {value}")
    if any(lo < 0 or hi < 0 for lo, hi in padding):
        raise ValueError(f"{name}: padding must be non-negative (lo, hi) pairs, got {padding}")


def _window_out_shape(x_shape, window_dimensions, window_strides, padding, base_dilation,
                      window_dilation) -> tuple[int, ...]:  # fmt: skip
    return tuple(
        _window_out_size(_dilated_size(n, lo, hi, b), k, s, d)
        for n, k, s, (lo, hi), b, d in zip(
            x_shape, window_dimensions, window_strides, padding, base_dilation, window_dilation
        )
    )


# --- the NumPy/CuPy kernels ------------------------------------------------------------


def _identity(op: str, dtype: np.dtype):
    """The value that padding and dilation holes hold: the reduction's identity."""
    if op == "sum":
        return dtype.type(0)
    if dtype.kind == "b":
        return np.bool_(op == "min")
    if dtype.kind == "f":
        return dtype.type(-np.inf if op == "max" else np.inf)
    info = np.iinfo(dtype)
    return dtype.type(info.min if op == "max" else info.max)


def _is_trivial(padding, base_dilation) -> bool:
    return all(lo == 0 and hi == 0 for lo, hi in padding) and all(b == 1 for b in base_dilation)


def _pad_dilate(xp, x, padding, base_dilation, fill):
    """``x`` with ``base_dilation - 1`` holes between elements and ``padding`` at the ends,
    all filled with ``fill``: a new contiguous array."""
    if _is_trivial(padding, base_dilation):
        return x
    shape = tuple(
        _dilated_size(n, lo, hi, b) for n, (lo, hi), b in zip(x.shape, padding, base_dilation)
    )
    out = xp.full(shape, fill, dtype=x.dtype)
    inner = tuple(
        slice(lo, lo + _dilated_size(n, 0, 0, b), b)
        for n, (lo, _), b in zip(x.shape, padding, base_dilation)
    )
    out[inner] = x
    return out


def _windows(xp, x, window_dimensions, window_strides, window_dilation):
    """A strided view of ``x`` shaped ``out_shape + window_dimensions``: element
    ``[o..., w...]`` is ``x[o * stride + w * dilation]`` (per axis)."""
    out_shape = tuple(
        _window_out_size(n, k, s, d)
        for n, k, s, d in zip(x.shape, window_dimensions, window_strides, window_dilation)
    )
    if any(d == 0 for d in out_shape) or x.size == 0:
        return xp.zeros(out_shape + tuple(window_dimensions), dtype=x.dtype)
    strides = tuple(st * s for st, s in zip(x.strides, window_strides))
    strides += tuple(st * d for st, d in zip(x.strides, window_dilation))
    # only ever read (no writeable=False: CuPy's as_strided has no such argument)
    return xp.lib.stride_tricks.as_strided(
        x, shape=out_shape + tuple(window_dimensions), strides=strides
    )


# A box window's sum (max, min) is separable: it is reduced one axis at a time, each axis
# by accumulating one strided slice per window position, on arrays that shrink as the
# axes are done. NumPy reduces a strided window view over its small trailing window axes
# several times more slowly (2x2 pooling of a 64x24x24x6 batch: about 0.25 ms by axes,
# 6 ms by the view). Beyond this many slices in all (very wide windows) the view is
# used, where the per-slice overhead would dominate.
_MAX_SLICES = 64
# Selections (max pooling's gradient) compare whole windows tap by tap up to this many taps.
_MAX_TAPS = 16


def _reduce_window_impl(op):
    ufunc_name = {"sum": "add", "max": "maximum", "min": "minimum"}[op]

    def impl(
        backend, x, *, window_dimensions, window_strides, padding, base_dilation, window_dilation
    ):
        xp = backend.xp
        padded = _pad_dilate(xp, x, padding, base_dilation, _identity(op, x.dtype))
        out_shape = tuple(
            _window_out_size(n, k, s, d)
            for n, k, s, d in zip(padded.shape, window_dimensions, window_strides, window_dilation)
        )
        if 0 in out_shape:
            return [xp.zeros(out_shape, dtype=x.dtype)]
        if sum(window_dimensions) <= _MAX_SLICES:
            ufunc = getattr(xp, ufunc_name)
            acc = padded
            for axis, (k, d, o, s) in enumerate(
                zip(window_dimensions, window_dilation, out_shape, window_strides)
            ):
                index = [slice(None)] * x.ndim
                parts = []
                for t in range(k):
                    index[axis] = slice(t * d, t * d + (o - 1) * s + 1, s)
                    parts.append(acc[tuple(index)])
                if k == 1:  # only the strided selection along this axis
                    acc = parts[0]
                    continue
                acc = ufunc(parts[0], parts[1])
                for part in parts[2:]:
                    ufunc(acc, part, out=acc)
            return [xp.array(acc, copy=True) if acc.base is not None or acc is x else acc]
        windows = _windows(xp, padded, window_dimensions, window_strides, window_dilation)
        axes = tuple(range(x.ndim, 2 * x.ndim))
        if op == "sum":
            return [xp.sum(windows, axis=axes, dtype=x.dtype)]
        return [(xp.max if op == "max" else xp.min)(windows, axis=axes)]

    return impl


def _selected_flat_positions(backend, operand, select, window_dimensions, window_strides, padding,
                             base_dilation, window_dilation):  # fmt: skip
    """For each window, the flat (C-order) index into the padded, dilated operand of its
    selected element (see the module docstring), and that padded shape."""
    xp = backend.xp
    padded = _pad_dilate(xp, operand, padding, base_dilation, _identity(select, operand.dtype))
    windows = _windows(xp, padded, window_dimensions, window_strides, window_dilation)
    ndim = operand.ndim
    out_shape = windows.shape[:ndim]
    window_size = math.prod(window_dimensions)
    if 0 in out_shape:
        return xp.zeros(out_shape, dtype=np.int64), padded.shape
    if window_size <= _MAX_TAPS:
        chosen = _first_extremum_by_taps(
            xp, padded, select, out_shape, window_dimensions, window_strides, window_dilation
        )
    else:
        flat_windows = xp.reshape(windows, out_shape + (window_size,))
        chosen = (xp.argmax if select == "max" else xp.argmin)(flat_windows, axis=-1)
    # C-order element strides of the padded array; window offset table and window origins
    elem_strides = [math.prod(padded.shape[a + 1 :]) for a in range(ndim)]
    offsets = np.zeros(window_dimensions, dtype=np.int64)
    origins = xp.zeros(out_shape, dtype=np.int64)
    for a in range(ndim):
        shape = [1] * ndim
        shape[a] = window_dimensions[a]
        offsets = offsets + (
            np.arange(window_dimensions[a]) * window_dilation[a] * elem_strides[a]
        ).reshape(shape)
        shape[a] = out_shape[a]
        origins = origins + xp.reshape(
            xp.arange(out_shape[a], dtype=np.int64) * (window_strides[a] * elem_strides[a]), shape
        )
    offsets = xp.asarray(offsets.reshape(-1))
    positions = origins + offsets[chosen]
    if not _is_trivial(padding, base_dilation):
        real = _pad_dilate(xp, xp.ones(operand.shape, dtype=bool), padding, base_dilation, False)
        if not bool(xp.all(xp.reshape(real, (-1,))[positions])):
            # A padding element tied with the extremum (the operand holds the dtype's
            # extreme value): select the first operand element equal to the extremum.
            real_windows = xp.reshape(
                _windows(xp, real, window_dimensions, window_strides, window_dilation),
                out_shape + (window_size,),
            )
            flat_windows = xp.reshape(windows, out_shape + (window_size,))
            best = (xp.max if select == "max" else xp.min)(flat_windows, axis=-1, keepdims=True)
            is_best = flat_windows == best
            if operand.dtype.kind == "f":
                is_best = is_best | (xp.isnan(flat_windows) & xp.isnan(best))
            chosen = xp.argmax(is_best & real_windows, axis=-1)
            positions = origins + offsets[chosen]
    return positions, padded.shape


def _first_extremum_by_taps(
    xp, padded, select, out_shape, window_dimensions, window_strides, window_dilation
):
    """The row-major window index of each window's first extremum, one strided slice per
    tap (NaN counts as the extremum: the first NaN is chosen)."""
    parts = [
        padded[tuple(slice(t * d, t * d + (o - 1) * s + 1, s)
                     for t, d, o, s in zip(tap, window_dilation, out_shape, window_strides))]
        for tap in itertools.product(*(range(k) for k in window_dimensions))
    ]  # fmt: skip
    ufunc = xp.maximum if select == "max" else xp.minimum
    best = xp.array(parts[0], copy=True)
    for part in parts[1:]:
        ufunc(best, part, out=best)
    with_nan = padded.dtype.kind == "f" and bool(xp.isnan(best).any())
    chosen = xp.zeros(out_shape, dtype=np.int64)
    for t in range(len(parts) - 1, 0, -1):  # backwards, so that the first match is kept
        hit = parts[t] == best
        if with_nan:
            hit |= xp.isnan(parts[t])
        chosen[hit] = t
    hit = parts[0] == best
    if with_nan:
        hit |= xp.isnan(parts[0])
    chosen[hit] = 0
    return chosen


def _unpad(xp, padded, shape, padding, base_dilation):
    if _is_trivial(padding, base_dilation):
        return padded
    inner = tuple(
        slice(lo, lo + _dilated_size(n, 0, 0, b), b)
        for n, (lo, _), b in zip(shape, padding, base_dilation)
    )
    return xp.ascontiguousarray(padded[inner])


# --- reduce_window_sum / max / min ------------------------------------------------------


def _make_reduce_window(name: str, op: str) -> Primitive:
    prim = Primitive(name)

    def abstract_eval(x, **params):
        _check_window_params(name, x, **params)
        if op == "sum" and x.dtype.kind == "b":
            raise TypeError(f"{name}: operand must be numeric, got {x.dtype}")
        if op != "sum" and x.dtype.kind == "c":
            raise TypeError(f"{name}: complex operands have no order, got {x.dtype}")
        return [ShapedArray(_window_out_shape(x.shape, **params), x.dtype)]

    prim.impl = _reduce_window_impl(op)
    prim.abstract_eval = abstract_eval
    return prim


reduce_window_sum_p = _make_reduce_window("reduce_window_sum", "sum")
reduce_window_max_p = _make_reduce_window("reduce_window_max", "max")
reduce_window_min_p = _make_reduce_window("reduce_window_min", "min")


# reduce_window_sum is linear. Per axis, out[j] = sum_t xp[j s + t d] (xp: the padded,
# dilated operand), so the cotangent of xp[p] is sum over (j, t) with j s + t d = p of
# ct[j]: the cotangent dilated by s, padded by K - 1 below and by what the windows left
# uncovered above, summed over windows of k taps spaced d apart with stride 1. Undoing
# the operand's padding and dilation (pad's transpose) gives the operand's cotangent.
def _reduce_window_sum_transpose(
    cts, x, *, window_dimensions, window_strides, padding, base_dilation, window_dilation
):
    (ct,) = cts
    if type(ct) is Zero:
        return [Zero(x.aval)]
    shape = x.aval.shape
    padded_shape = [
        _dilated_size(n, lo, hi, b) for n, (lo, hi), b in zip(shape, padding, base_dilation)
    ]
    if ct.size == 0:
        return [zeros_like_aval(x.aval)]
    if _tiles_exactly(shape, ct.shape, window_dimensions, window_strides, padding, base_dilation,
                      window_dilation):  # fmt: skip
        # Windows that tile the operand (pooling with stride == window): each element's
        # cotangent is its window's, repeated along one window axis at a time (a
        # broadcast and a reshape each), innermost first: each copy then runs over longer
        # contiguous rows than one copy of the whole broadcast would (2x faster on NHWC).
        spread = ct
        for axis in reversed(range(len(shape))):
            m, k = ct.shape[axis], window_dimensions[axis]
            if k == 1:
                continue
            rest = spread.shape[axis + 1 :]
            repeated = broadcast_in_dim_p.bind1(
                spread, shape=(*spread.shape[:axis], m, k, *rest),
                broadcast_dimensions=(*range(axis + 1), *range(axis + 2, len(shape) + 1)),
            )  # fmt: skip
            spread = reshape_p.bind1(repeated, new_sizes=(*spread.shape[:axis], m * k, *rest))
        return [spread]
    ct_padding = []
    for p, m, k, s, d in zip(
        padded_shape, ct.shape, window_dimensions, window_strides, window_dilation
    ):
        eff = (k - 1) * d + 1
        ct_padding.append((eff - 1, p - (m - 1) * s - 1))
    ct_padded = reduce_window_sum_p.bind1(
        ct,
        window_dimensions=window_dimensions,
        window_strides=(1,) * len(shape),
        padding=tuple(ct_padding),
        base_dilation=window_strides,
        window_dilation=window_dilation,
    )
    config = tuple((lo, hi, b - 1) for (lo, hi), b in zip(padding, base_dilation))
    return [_pad_operand_ct(ct_padded, config)]


def _tiles_exactly(shape, out_shape, window, strides, padding, base_dilation, window_dilation):
    return (
        tuple(window) == tuple(strides)
        and _is_trivial(padding, base_dilation)
        and all(d == 1 for d in window_dilation)
        and all(n == m * k for n, m, k in zip(shape, out_shape, window))
    )


deflinear(reduce_window_sum_p, _reduce_window_sum_transpose)


# max / min: the output tangent is the tangent at each window's selected position.
def _reduce_window_extremum_jvp(prim, select):
    def jvp(primals, tangents, **params):
        (x,), (t,) = primals, tangents
        out = prim.bind1(x, **params)
        if type(t) is Zero:
            return [out], [Zero(get_aval(out).update(weak_type=False))]
        return [out], [select_and_gather_add_p.bind1(t, x, select=select, **params)]

    return jvp


# --- select_and_gather_add / select_and_scatter_add ------------------------------------

select_and_gather_add_p = Primitive("select_and_gather_add")
select_and_scatter_add_p = Primitive("select_and_scatter_add")


def _select_and_gather_add_impl(backend, tangent, operand, *, select, **params):
    xp = backend.xp
    positions, _ = _selected_flat_positions(backend, operand, select, **params)
    padded = _pad_dilate(
        xp, tangent, params["padding"], params["base_dilation"], tangent.dtype.type(0)
    )
    flat = xp.reshape(padded, (-1,))
    if positions.size == 0:
        return [xp.zeros(positions.shape, dtype=tangent.dtype)]
    return [flat[positions]]


def _select_and_scatter_add_impl(backend, source, operand, *, select, **params):
    xp = backend.xp
    positions, padded_shape = _selected_flat_positions(backend, operand, select, **params)
    flat = xp.zeros(math.prod(padded_shape), dtype=source.dtype)
    if positions.size:
        overlapping = any(
            s < (k - 1) * d + 1 and m > 1
            for s, k, d, m in zip(
                params["window_strides"],
                params["window_dimensions"],
                params["window_dilation"],
                positions.shape,
            )
        )
        if overlapping:  # several windows may select one element: accumulate
            flat = backend.scatter(
                "add", flat, (xp.reshape(positions, (-1,)),), xp.reshape(source, (-1,))
            )
        else:  # each element is selected at most once
            flat[xp.reshape(positions, (-1,))] = xp.reshape(source, (-1,))
    padded = xp.reshape(flat, padded_shape)
    return [_unpad(xp, padded, operand.shape, params["padding"], params["base_dilation"])]


def _select_abstract_eval(name):
    def abstract_eval(values, operand, *, select, **params):
        _check_window_params(name, operand, **params)
        if select not in ("max", "min"):
            raise ValueError(f"{name}: select must be 'max' or 'min', got {select!r}")
        out_shape = _window_out_shape(operand.shape, **params)
        if name == "select_and_gather_add":
            if values.shape != operand.shape:
                raise ValueError(
                    f"{name}: tangent shape {values.shape} differs from operand shape {operand.shape}"
                )
            return [ShapedArray(out_shape, values.dtype)]
        if values.shape != out_shape:
            raise ValueError(
                f"{name}: source shape {values.shape} differs from the window output shape {out_shape}"
            )
        return [ShapedArray(operand.shape, values.dtype)]

    return abstract_eval


select_and_gather_add_p.impl = _select_and_gather_add_impl
select_and_gather_add_p.abstract_eval = _select_abstract_eval("select_and_gather_add")
select_and_scatter_add_p.impl = _select_and_scatter_add_impl
select_and_scatter_add_p.abstract_eval = _select_abstract_eval("select_and_scatter_add")


# Both are linear in their first operand; the selection (the operand) is piecewise
# constant, so it contributes no tangent. Each is the other's transpose.
def _select_linear_jvp(prim):
    def jvp(primals, tangents, **params):
        (values, operand), (t, _) = primals, tangents
        out = prim.bind1(values, operand, **params)
        if type(t) is Zero:
            return [out], [Zero(get_aval(out).update(weak_type=False))]
        return [out], [prim.bind1(t, operand, **params)]

    return jvp


def _select_transpose(other):
    def transpose(cts, values, operand, **params):
        (ct,) = cts
        if is_undefined(operand):
            raise ValueError(
                f"{other.name}: transpose with respect to the selecting operand (not linear)"
            )
        if type(ct) is Zero:
            return [Zero(values.aval), None]
        return [other.bind1(ct, operand, **params), None]

    return transpose


select_and_gather_add_p.jvp = _select_linear_jvp(select_and_gather_add_p)
select_and_scatter_add_p.jvp = _select_linear_jvp(select_and_scatter_add_p)
select_and_gather_add_p.transpose = _select_transpose(select_and_scatter_add_p)
select_and_scatter_add_p.transpose = _select_transpose(select_and_gather_add_p)
select_and_gather_add_p.linear = select_and_scatter_add_p.linear = True

reduce_window_max_p.jvp = _reduce_window_extremum_jvp(reduce_window_max_p, "max")
reduce_window_min_p.jvp = _reduce_window_extremum_jvp(reduce_window_min_p, "min")


# --- batching rules ------------------------------------------------------------------------
# The batch axis is one more axis with a trivial window (size 1, stride 1, no padding or
# dilation): it stays where it is.


def _with_batch_axis(params: dict, bdim: int) -> dict:
    trivial = {
        "window_dimensions": 1,
        "window_strides": 1,
        "padding": (0, 0),
        "base_dilation": 1,
        "window_dilation": 1,
    }
    out = dict(params)
    for pname, value in trivial.items():
        entries = list(params[pname])
        entries.insert(bdim, value)
        out[pname] = tuple(entries)
    return out


def _reduce_window_batch(prim):
    def rule(args, dims, **params):
        (x,), (bdim,) = args, dims
        return [prim.bind1(x, **_with_batch_axis(params, bdim))], [bdim]

    return rule


def _select_batch(prim):
    def rule(args, dims, *, select, **params):
        size = batching.axis_size_of(args, dims)
        bdim = next(d for d in dims if d is not None)
        values, operand = (batching.move_batch_axis(x, d, size, bdim) for x, d in zip(args, dims))
        return [prim.bind1(values, operand, select=select, **_with_batch_axis(params, bdim))], [
            bdim
        ]

    return rule


for _prim in (reduce_window_sum_p, reduce_window_max_p, reduce_window_min_p):
    _prim.batch = _reduce_window_batch(_prim)
for _prim in (select_and_gather_add_p, select_and_scatter_add_p):
    _prim.batch = _select_batch(_prim)
del _prim


# --- argument normalisation ---------------------------------------------------------------


def _operand(x: Any, fname: str) -> Any:
    if type(x) is Array or isinstance(x, Tracer):
        return x
    from funcgrad._src.numpy.util import asarray

    return asarray(x, fname=fname)


def _int_tuple(
    value: Any, n: int, fname: str, argname: str, default: int | None = None
) -> tuple[int, ...]:
    """``value`` (an int, or a sequence of ``n`` ints; ``None`` means ``default``) as a tuple."""
    if value is None:
        value = default
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),) * n
    try:
        out = tuple(operator.index(v) for v in value)
    except TypeError:
        raise TypeError(
            f"{fname}: {argname} must be an int or a sequence of {n} ints, got {value!r}"
        ) from None
    if len(out) != n:
        raise ValueError(
            f"{fname}: {argname} {value!r} must have {n} entries (one per window axis)"
        )
    return out


def _padding_pairs(padding: Any, in_sizes, window, strides, dilation, fname: str) -> tuple:
    """``padding`` ('SAME', 'VALID', an int, ints per axis or (lo, hi) pairs) as pairs.

    'SAME' pads so that ``out = ceil(in / stride)``, the extra element at the high end
    (as JAX and TensorFlow do); 'VALID' does not pad.
    """
    n = len(window)
    if isinstance(padding, str):
        mode = padding.upper()
        if mode == "VALID":
            return ((0, 0),) * n
        if mode == "SAME":
            pairs = []
            for size, k, s, d in zip(in_sizes, window, strides, dilation):
                out = -(-size // s)
                total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
                pairs.append((total // 2, total - total // 2))
            return tuple(pairs)
        raise ValueError(
            f"{fname}: padding must be 'SAME', 'VALID' or (lo, hi) pairs, got {padding!r}"
        )
    if isinstance(padding, (int, np.integer)):
        return ((int(padding), int(padding)),) * n
    try:
        entries = list(padding)
    except TypeError:
        raise TypeError(
            f"{fname}: padding must be 'SAME', 'VALID' or (lo, hi) pairs, got {padding!r}"
        ) from None
    if len(entries) != n:
        raise ValueError(
            f"{fname}: padding {padding!r} must have {n} entries (one per window axis)"
        )
    pairs = []
    for e in entries:
        if isinstance(e, (int, np.integer)):
            pairs.append((int(e), int(e)))
        else:
            lo, hi = e
            pairs.append((operator.index(lo), operator.index(hi)))
    if any(lo < 0 or hi < 0 for lo, hi in pairs):
        raise ValueError(f"{fname}: padding must be non-negative, got {padding!r}")
    return tuple(pairs)


# --- reduce_window: JAX's generic entry point -------------------------------------------------

_MONOIDS = {"add": "sum", "sum": "sum", "max": "max", "min": "min"}
_PRIMS = {"sum": reduce_window_sum_p, "max": reduce_window_max_p, "min": reduce_window_min_p}


def _monoid_of(computation: Any) -> str | None:
    if isinstance(computation, str):
        return _MONOIDS.get(computation)
    if computation is operator.add:
        return "sum"
    if computation is max or computation is min:
        return computation.__name__
    from funcgrad._src.lax import wrappers
    from funcgrad._src.numpy import ufuncs

    known = {
        id(wrappers.ELEMENTWISE["add"]): "sum",
        id(wrappers.ELEMENTWISE["max"]): "max",
        id(wrappers.ELEMENTWISE["min"]): "min",
        id(ufuncs.add): "sum",
        id(ufuncs.maximum): "max",
        id(ufuncs.minimum): "min",
    }
    return known.get(id(computation))


def reduce_window(operand, init_value, computation, window_dimensions, window_strides, padding,
                  base_dilation=None, window_dilation=None):  # fmt: skip
    """Reduce each window of ``operand`` with ``computation``, as ``jax.lax.reduce_window``.

    ``computation`` is addition, maximum or minimum: ``funcgrad.lax.add`` / ``max`` /
    ``min``, ``funcgrad.numpy.add`` / ``maximum`` / ``minimum``, ``operator.add``, or the
    strings ``"add"``, ``"max"``, ``"min"`` (arbitrary computations are not supported).
    Padding and the holes of ``base_dilation`` hold ``init_value``, which also enters
    each window's reduction once. Every window argument has one entry per operand axis;
    ``padding`` is 'SAME', 'VALID' or a sequence of non-negative ``(lo, hi)`` pairs.
    Max and min send the gradient to the first extremum of each window (row-major order).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> x = fnp.arange(6.0).reshape(2, 3)
        >>> lax.reduce_window(x, 0.0, lax.add, (2, 2), (1, 1), "VALID").tolist()
        [[8.0, 12.0]]
        >>> lax.reduce_window(x, -fnp.inf, lax.max, (1, 2), (1, 2), ((0, 0), (0, 1))).tolist()
        [[1.0, 2.0], [4.0, 5.0]]
    """
    fname = "funcgrad.lax.reduce_window"
    x = _operand(operand, fname)
    monoid = _monoid_of(computation)
    if monoid is None:
        raise NotImplementedError(
            f"{fname}: computation {computation!r} is not supported; use lax.add, lax.max or "
            f"lax.min (or 'add', 'max', 'min')"
        )
    n = x.ndim
    window = _int_tuple(window_dimensions, n, fname, "window_dimensions")
    strides = _int_tuple(window_strides, n, fname, "window_strides")
    base = _int_tuple(base_dilation, n, fname, "base_dilation", 1)
    wdil = _int_tuple(window_dilation, n, fname, "window_dilation", 1)
    dilated = tuple(_dilated_size(s, 0, 0, b) for s, b in zip(x.shape, base))
    pads = _padding_pairs(padding, dilated, window, strides, wdil, fname)
    params = {
        "window_dimensions": window,
        "window_strides": strides,
        "padding": pads,
        "base_dilation": base,
        "window_dilation": wdil,
    }
    prim = _PRIMS[monoid]
    prim.abstract_eval(get_aval(x), **params)  # errors name the primitive and the shapes
    identity = _identity(monoid, x.dtype)
    if _is_static_equal(init_value, identity):
        return prim.bind1(x, **params)
    # A general initial value: pad with it explicitly, reduce, and combine it once more.
    init = init_value
    if type(init) in (bool, int, float):
        init = x.dtype.type(init)
    init = _operand(init, fname)
    if init.shape != () or init.dtype != x.dtype:
        raise TypeError(
            f"{fname}: init_value must be a scalar of the operand's dtype {x.dtype}, got {get_aval(init).str_short()}"
        )
    config = tuple((lo, hi, b - 1) for (lo, hi), b in zip(pads, base))
    padded = pad_p.bind1(x, init, padding_config=config)
    out = prim.bind1(padded, **dict(params, padding=((0, 0),) * n, base_dilation=(1,) * n))
    combine = {"sum": add_p, "max": max_p, "min": min_p}[monoid]
    init_b = broadcast_in_dim_p.bind1(init, shape=out.shape, broadcast_dimensions=())
    return combine.bind1(out, init_b)


def _is_static_equal(value: Any, identity: Any) -> bool:
    if type(value) in (bool, int, float) or isinstance(value, np.generic):
        return bool(value == identity) and not (isinstance(value, float) and math.isnan(value))
    if isinstance(value, np.ndarray) and value.shape == ():
        return bool(value == identity)
    return False


# --- pooling helpers -----------------------------------------------------------------------


class _PoolGeometry:
    """Where the window axes are and how each one is windowed (static, from shapes)."""

    def __init__(
        self, fname, x, window_shape, strides, padding, dilation, ceil_mode, channels_last
    ):
        try:
            window = tuple(operator.index(k) for k in window_shape)
        except TypeError:
            raise TypeError(
                f"{fname}: window_shape must be a sequence of ints (one per spatial axis), got {window_shape!r}"
            ) from None
        k = len(window)
        needed = k + 1 if channels_last else k
        if k == 0 or x.ndim < needed:
            raise ValueError(
                f"{fname}: a window of {k} axes needs an input with at least {needed} axes "
                f"({'..., spatial, channels' if channels_last else '..., channels, spatial'}), got shape {x.shape}"
            )
        if any(w < 1 for w in window):
            raise ValueError(f"{fname}: window_shape entries must be >= 1, got {window}")
        self.axes = (
            tuple(range(x.ndim - 1 - k, x.ndim - 1))
            if channels_last
            else tuple(range(x.ndim - k, x.ndim))
        )
        self.window = window
        self.strides = _int_tuple(strides, k, fname, "strides", 1)
        self.dilation = _int_tuple(dilation, k, fname, "dilation", 1)
        if any(s < 1 for s in self.strides) or any(d < 1 for d in self.dilation):
            raise ValueError(
                f"{fname}: strides and dilation must be >= 1, got {self.strides} and {self.dilation}"
            )
        self.in_sizes = tuple(x.shape[a] for a in self.axes)
        self.padding = _padding_pairs(
            padding, self.in_sizes, window, self.strides, self.dilation, fname
        )
        self.out_sizes = tuple(
            pool_output_size(n, kk, s, lo, hi, d, ceil_mode)
            for n, kk, s, (lo, hi), d in zip(
                self.in_sizes, window, self.strides, self.padding, self.dilation
            )
        )
        # The high padding the primitive gets so that exactly out_sizes windows fit: with
        # ceil_mode more (room for a last window hanging over the end), or less where
        # PyTorch's rule drops a last window that would start in the high padding.
        self.hi = []
        for o, n, kk, s, (lo, hi), d in zip(self.out_sizes, self.in_sizes, window, self.strides,
                                            self.padding, self.dilation):  # fmt: skip
            eff = (kk - 1) * d + 1
            if o == 0 or _window_out_size(n + lo + hi, kk, s, d) == o:
                self.hi.append(hi)
            else:
                self.hi.append(max(0, (o - 1) * s + eff - n - lo))
        self.ndim = x.ndim

    def params(self) -> dict:
        """The primitive's full-rank window parameters (window 1 on the other axes)."""
        padding = self.padding
        full = {"window_dimensions": [1] * self.ndim, "window_strides": [1] * self.ndim,
                "padding": [(0, 0)] * self.ndim, "base_dilation": [1] * self.ndim,
                "window_dilation": [1] * self.ndim}  # fmt: skip
        for i, a in enumerate(self.axes):
            full["window_dimensions"][a] = self.window[i]
            full["window_strides"][a] = self.strides[i]
            full["window_dilation"][a] = self.dilation[i]
            full["padding"][a] = (padding[i][0], self.hi[i])
        return {k: tuple(v) for k, v in full.items()}


def pool_output_size(size: int, window: int, stride: int, pad_lo: int, pad_hi: int,
                     dilation: int = 1, ceil_mode: bool = False) -> int:  # fmt: skip
    """The pooled size of one axis, with PyTorch's formula.

    ``out = floor((size + pad_lo + pad_hi - dilation * (window - 1) - 1) / stride) + 1``;
    ``ceil_mode`` rounds up instead, except that the last window must start inside the
    input or the low padding (PyTorch's rule). Never negative (0 when the window does not fit).

    Examples:
        >>> from funcgrad import lax
        >>> lax.pool_output_size(28, 2, 4, 0, 0)  # nn.AvgPool2d(2, stride=4) on 28 pixels
        7
        >>> lax.pool_output_size(5, 2, 2, 0, 0), lax.pool_output_size(5, 2, 2, 0, 0, ceil_mode=True)
        (2, 3)
    """
    span = size + pad_lo + pad_hi - dilation * (window - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and out > 0 and (out - 1) * stride >= size + pad_lo:
        out -= 1
    return max(out, 0)


def pool_output_shape(shape: Sequence[int], window_shape: Sequence[int], strides=None, padding="VALID", *,
                      dilation=None, ceil_mode: bool = False, channels_last: bool = True) -> tuple[int, ...]:  # fmt: skip
    """The output shape of :func:`max_pool` / :func:`avg_pool` / :func:`sum_pool` on ``shape``.

    Examples:
        >>> from funcgrad import lax
        >>> lax.pool_output_shape((1, 16, 28, 28), (2, 2), 4, channels_last=False)
        (1, 16, 7, 7)
        >>> lax.pool_output_shape((1, 5, 5, 3), (2, 2), 2, ceil_mode=True)
        (1, 3, 3, 3)
    """
    geometry = _PoolGeometry("funcgrad.lax.pool_output_shape", ShapedArray(tuple(shape), np.float64), window_shape,
                             strides, padding, dilation, ceil_mode, channels_last)  # fmt: skip
    out = list(shape)
    for a, o in zip(geometry.axes, geometry.out_sizes):
        out[a] = o
    return tuple(out)


_POOL_DOC = """
    The window slides over the ``len(window_shape)`` spatial axes: with ``channels_last``
    (the default, as in flax and stax: ``(..., H, W, C)``) those before the last axis;
    otherwise (PyTorch's ``(..., C, H, W)``) the last ones. Other leading axes are batch axes.
    ``strides`` defaults to 1 (flax's and stax's default; PyTorch's is the window size).
    ``padding`` is 'SAME', 'VALID', an int, one int per axis (symmetric) or ``(lo, hi)`` pairs.
    ``ceil_mode`` computes output sizes with PyTorch's ceil rule (see
    :func:`pool_output_size`): the last window may hang over the high end."""


def max_pool(x, window_shape, strides=None, padding="VALID", *, dilation=None, ceil_mode=False,
             channels_last=True, return_indices=False):  # fmt: skip
    (
        """Max pooling: the maximum of each window (padding never wins).

    The gradient goes to the first maximum of each window in row-major window order
    (PyTorch's tie rule; JAX's reduce_window max splits ties instead).
    With ``return_indices`` also returns, as PyTorch does, each maximum's int64 index
    into the flattened spatial axes of the input (``h * W + w`` in 2-D), for
    :func:`max_unpool`.
    """
        + _POOL_DOC
        + """

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> x = fnp.asarray([[1.0, 3.0, 2.0, 0.0], [4.0, 2.0, 1.0, 5.0]])
        >>> lax.max_pool(x, (2,), 2).tolist()
        [[3.0, 2.0], [4.0, 5.0]]
        >>> values, indices = lax.max_pool(x, (2,), 2, channels_last=False, return_indices=True)
        >>> indices.tolist()
        [[1, 2], [0, 3]]
    """
    )
    fname = "funcgrad.lax.max_pool"
    x = _operand(x, fname)
    if x.dtype.kind == "c":
        raise TypeError(f"{fname}: complex inputs have no maximum, got {x.dtype}")
    geometry = _PoolGeometry(
        fname, x, window_shape, strides, padding, dilation, ceil_mode, channels_last
    )
    params = geometry.params()
    out = reduce_window_max_p.bind1(x, **params)
    if not return_indices:
        return out
    # The index of each window's selected element: gather the flat spatial positions.
    int64 = np.dtype(np.int64)
    spatial = geometry.in_sizes
    positions = iota_p.bind1(dtype=int64, shape=(math.prod(spatial),), dimension=0)
    positions = reshape_p.bind1(positions, new_sizes=spatial)
    positions = broadcast_in_dim_p.bind1(
        positions, shape=tuple(x.shape), broadcast_dimensions=geometry.axes
    )
    indices = select_and_gather_add_p.bind1(positions, x, select="max", **params)
    return out, indices


def sum_pool(
    x, window_shape, strides=None, padding="VALID", *, ceil_mode=False, channels_last=True
):
    (
        """Sum pooling: the sum of each window (padding counts as zero).
    """
        + _POOL_DOC
        + """

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.sum_pool(fnp.arange(8.0).reshape(1, 4, 2), (2,), 2).tolist()
        [[[2.0, 4.0], [10.0, 12.0]]]
    """
    )
    fname = "funcgrad.lax.sum_pool"
    x = _operand(x, fname)
    geometry = _PoolGeometry(
        fname, x, window_shape, strides, padding, None, ceil_mode, channels_last
    )
    return reduce_window_sum_p.bind1(x, **geometry.params())


def avg_pool(x, window_shape, strides=None, padding="VALID", *, ceil_mode=False, count_include_pad=True,
             divisor_override=None, channels_last=True):  # fmt: skip
    (
        """Average pooling: each window's sum divided by its element count.

    The count is PyTorch's: with ``count_include_pad`` the window elements inside the
    padded input (padding counts, the extra overhang of ``ceil_mode`` does not);
    otherwise only the input elements. ``divisor_override`` replaces the count.
    Integer inputs are averaged in float64, as ``numpy.mean`` does.
    """
        + _POOL_DOC
        + """

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> x = fnp.asarray([[1.0, 2.0, 3.0, 4.0, 5.0]])
        >>> lax.avg_pool(x, (2,), 2, channels_last=False).tolist()
        [[1.5, 3.5]]
        >>> lax.avg_pool(x, (2,), 2, channels_last=False, ceil_mode=True).tolist()
        [[1.5, 3.5, 5.0]]
        >>> lax.avg_pool(x, (3,), 3, 1, channels_last=False, count_include_pad=False).tolist()
        [[1.5, 4.0]]
    """
    )
    fname = "funcgrad.lax.avg_pool"
    x = _operand(x, fname)
    if x.dtype.kind in "biu":
        x = convert_element_type_p.bind1(x, new_dtype=np.dtype(np.float64))
    geometry = _PoolGeometry(
        fname, x, window_shape, strides, padding, None, ceil_mode, channels_last
    )
    total = reduce_window_sum_p.bind1(x, **geometry.params())
    if divisor_override is not None:
        return div_p.bind1(total, x.dtype.type(divisor_override))
    if count_include_pad and geometry.hi == [hi for _, hi in geometry.padding]:
        return div_p.bind1(total, x.dtype.type(math.prod(geometry.window)))
    # Per-window counts depend on the window's place only: window sums of ones over the
    # spatial axes, where the padding (if it counts) is ones too.
    k = len(geometry.axes)
    if count_include_pad:
        sizes = tuple(
            n + lo + min(hi, h)
            for n, (lo, hi), h in zip(geometry.in_sizes, geometry.padding, geometry.hi)
        )
        count_padding = tuple(
            (0, max(0, h - hi)) for (_, hi), h in zip(geometry.padding, geometry.hi)
        )
    else:
        sizes = geometry.in_sizes
        count_padding = tuple((lo, h) for (lo, _), h in zip(geometry.padding, geometry.hi))
    ones = broadcast_in_dim_p.bind1(x.dtype.type(1), shape=sizes, broadcast_dimensions=())
    counts = reduce_window_sum_p.bind1(
        ones,
        window_dimensions=geometry.window,
        window_strides=geometry.strides,
        padding=count_padding,
        base_dilation=(1,) * k,
        window_dilation=(1,) * k,
    )
    counts = broadcast_in_dim_p.bind1(
        counts, shape=tuple(total.shape), broadcast_dimensions=geometry.axes
    )
    return div_p.bind1(total, counts)


# --- adaptive pooling ------------------------------------------------------------------------


def _spatial_axes(fname: str, x, k: int, channels_last: bool) -> tuple[int, ...]:
    needed = k + 1 if channels_last else k
    if k == 0 or x.ndim < needed:
        raise ValueError(
            f"{fname}: {k} spatial axes need an input with at least {needed} axes "
            f"({'..., spatial, channels' if channels_last else '..., channels, spatial'}), got shape {x.shape}"
        )
    return (
        tuple(range(x.ndim - 1 - k, x.ndim - 1))
        if channels_last
        else tuple(range(x.ndim - k, x.ndim))
    )


def _output_sizes(fname: str, output_size, in_sizes) -> tuple[int, ...]:
    """``output_size`` per spatial axis; ``None`` entries keep the input size (PyTorch)."""
    sizes = tuple(n if o is None else operator.index(o) for o, n in zip(output_size, in_sizes))
    if any(o < 1 for o in sizes):
        raise ValueError(f"{fname}: output_size entries must be >= 1, got {tuple(output_size)}")
    if any(n == 0 for n in in_sizes):
        raise ValueError(f"{fname}: the spatial axes must not be empty, got sizes {in_sizes}")
    return sizes


def _adaptive_bounds(n: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's adaptive windows: ``start = floor(i n / out)``, ``end = ceil((i + 1) n / out)``."""
    i = np.arange(out)
    return (i * n) // out, -((-(i + 1) * n) // out)


def _apply_along(x, matrix: np.ndarray, axis: int):
    """``matrix`` (out x in, a constant) applied to ``x`` along ``axis``."""
    import funcgrad.numpy as fnp
    from funcgrad._src.numpy.util import from_host

    m = from_host(matrix.astype(x.dtype))
    return fnp.moveaxis(fnp.tensordot(x, m, axes=([axis], [1])), -1, axis)


def _adaptive_setup(fname, x, output_size, channels_last):
    x = _operand(x, fname)
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        raise TypeError(
            f"{fname}: output_size must be a sequence with one size per spatial axis, got {output_size!r}"
        )
    output_size = tuple(output_size)
    axes = _spatial_axes(fname, x, len(output_size), channels_last)
    in_sizes = tuple(x.shape[a] for a in axes)
    return x, axes, in_sizes, _output_sizes(fname, output_size, in_sizes)


def adaptive_avg_pool(x, output_size, *, channels_last=True):
    """Average pooling to a given output size, with PyTorch's ``AdaptiveAvgPool`` windows.

    Output element ``i`` of a spatial axis of size ``n`` averages the input elements
    ``floor(i n / out) <= j < ceil((i + 1) n / out)``. ``output_size`` has one entry per
    spatial axis (``None`` keeps that axis' size); the spatial axes are placed as in
    :func:`avg_pool`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> x = fnp.asarray([[1.0, 2.0, 3.0, 4.0, 5.0]])
        >>> lax.adaptive_avg_pool(x, (3,), channels_last=False).tolist()
        [[1.5, 3.0, 4.5]]
    """
    fname = "funcgrad.lax.adaptive_avg_pool"
    x, axes, in_sizes, out_sizes = _adaptive_setup(fname, x, output_size, channels_last)
    if x.dtype.kind in "biu":
        x = convert_element_type_p.bind1(x, new_dtype=np.dtype(np.float64))
    if all(n % o == 0 for n, o in zip(in_sizes, out_sizes)):  # equal windows: plain pooling
        window = tuple(n // o for n, o in zip(in_sizes, out_sizes))
        return avg_pool(x, window, window, channels_last=channels_last)
    # The mean over a box is separable: one averaging matrix per axis.
    for a, n, o in zip(axes, in_sizes, out_sizes):
        if n == o:
            continue
        start, end = _adaptive_bounds(n, o)
        j = np.arange(n)
        inside = (j >= start[:, None]) & (j < end[:, None])
        x = _apply_along(x, inside / (end - start)[:, None], a)
    return x


def adaptive_max_pool(x, output_size, *, channels_last=True, return_indices=False):
    """Max pooling to a given output size, with PyTorch's ``AdaptiveMaxPool`` windows.

    Windows as in :func:`adaptive_avg_pool`. The gradient goes to the first maximum of
    each window in row-major window order; ``return_indices`` also returns its int64
    index into the flattened spatial axes (as PyTorch does).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> x = fnp.asarray([[1.0, 5.0, 3.0, 4.0, 2.0]])
        >>> values, indices = lax.adaptive_max_pool(x, (3,), channels_last=False, return_indices=True)
        >>> values.tolist(), indices.tolist()
        ([[5.0, 5.0, 4.0]], [[1, 1, 3]])
    """
    import funcgrad.numpy as fnp

    fname = "funcgrad.lax.adaptive_max_pool"
    x, axes, in_sizes, out_sizes = _adaptive_setup(fname, x, output_size, channels_last)
    if x.dtype.kind == "c":
        raise TypeError(f"{fname}: complex inputs have no maximum, got {x.dtype}")
    if all(n % o == 0 for n, o in zip(in_sizes, out_sizes)):  # equal windows: plain pooling
        window = tuple(n // o for n, o in zip(in_sizes, out_sizes))
        return max_pool(
            x, window, window, channels_last=channels_last, return_indices=return_indices
        )
    k = len(axes)
    # Gather every window, padded to the largest one by repeating its last element (which
    # cannot change the maximum and, coming later, never wins a tie): per axis an index
    # table (out, K); the advanced indices broadcast to (out_0, K_0, out_1, K_1, ...).
    tables = []
    for n, o in zip(in_sizes, out_sizes):
        start, end = _adaptive_bounds(n, o)
        width = int((end - start).max())
        tables.append(np.minimum(start[:, None] + np.arange(width), end[:, None] - 1))
    index = [slice(None)] * x.ndim
    flat = np.zeros((1,) * (2 * k), dtype=np.int64)
    for i, table in enumerate(tables):
        shape = [1] * (2 * k)
        shape[2 * i], shape[2 * i + 1] = table.shape
        index[axes[i]] = table.reshape(shape)
        flat = flat * in_sizes[i] + table.reshape(shape)
    index = tuple(index[: axes[0]]) + (tuple(index[a] for a in axes)) + tuple(index[axes[-1] + 1 :])
    windows = x[index]
    # (..., out_0, K_0, ..., out_k, K_k, [C]) -> (..., out_0, ..., out_k, [C], K_0 ... K_k)
    first = axes[0]
    pairs = list(range(first, first + 2 * k))
    outs, ks = pairs[0::2], pairs[1::2]
    rest = list(range(first + 2 * k, windows.ndim))
    windows = fnp.transpose(windows, list(range(first)) + outs + rest + ks)
    window_size = math.prod(t.shape[1] for t in tables)
    windows = fnp.reshape(windows, windows.shape[: windows.ndim - k] + (window_size,))
    chosen = fnp.argmax(windows, axis=-1)
    values = fnp.take_along_axis(windows, chosen[..., None], axis=-1)[..., 0]
    if not return_indices:
        return values
    # flat spatial index of each candidate, laid out as the windows: (out..., [1], K...)
    flat = flat.transpose([*range(0, 2 * k, 2), *range(1, 2 * k, 2)])
    flat = flat.reshape(tuple(out_sizes) + (1,) * len(rest) + (window_size,))
    candidates = fnp.broadcast_to(_from_host_int(flat), windows.shape)
    return values, fnp.take_along_axis(candidates, chosen[..., None], axis=-1)[..., 0]


def _from_host_int(value: np.ndarray):
    from funcgrad._src.numpy.util import from_host

    return from_host(value.astype(np.int64))


# --- max unpooling -----------------------------------------------------------------------------


def max_unpool(
    x, indices, window_shape, strides=None, padding=0, *, output_size=None, channels_last=True
):
    """The inverse of :func:`max_pool` with ``return_indices``: each value of ``x`` is put
    at its index (into the flattened spatial axes) in an array of zeros, as PyTorch's
    ``MaxUnpool`` does.

    The output's spatial sizes are ``output_size`` if given, else PyTorch's
    ``(in - 1) * stride - pad_lo - pad_hi + window``. ``padding`` is an int, one int
    per axis or ``(lo, hi)`` pairs. Indices must lie in ``[0, prod(output spatial sizes))``
    (a negative index counts from the end, as in NumPy); where two values share an
    index one of them is kept (they are equal when they come from one max pool).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> x = fnp.asarray([[1.0, 3.0, 2.0, 0.0]])
        >>> values, indices = lax.max_pool(x, (2,), 2, channels_last=False, return_indices=True)
        >>> lax.max_unpool(values, indices, (2,), 2, channels_last=False).tolist()
        [[0.0, 3.0, 2.0, 0.0]]
    """
    import funcgrad.numpy as fnp

    fname = "funcgrad.lax.max_unpool"
    x, indices = _operand(x, fname), _operand(indices, fname)
    window = _int_tuple(window_shape, len(window_shape), fname, "window_shape")
    k = len(window)
    axes = _spatial_axes(fname, x, k, channels_last)
    if indices.shape != x.shape:
        raise ValueError(
            f"{fname}: indices shape {indices.shape} differs from the input shape {x.shape}"
        )
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{fname}: indices must be integers, got {indices.dtype}")
    stride = _int_tuple(strides, k, fname, "strides", 1)
    if isinstance(padding, str):
        raise TypeError(f"{fname}: padding must be ints or (lo, hi) pairs, got {padding!r}")
    pads = _padding_pairs(padding, [x.shape[a] for a in axes], window, stride, (1,) * k, fname)
    if output_size is None:
        sizes = tuple(
            (x.shape[a] - 1) * s - lo - hi + w
            for a, s, (lo, hi), w in zip(axes, stride, pads, window)
        )
    else:
        sizes = tuple(operator.index(s) for s in output_size)[-k:]
        if len(sizes) != k:
            raise ValueError(f"{fname}: output_size {output_size!r} must give {k} spatial sizes")
    if channels_last:  # work as (..., C, spatial...)
        x, indices = fnp.moveaxis(x, -1, axes[0]), fnp.moveaxis(indices, -1, axes[0])
    lead = x.shape[: x.ndim - k]
    rows = math.prod(lead)
    flat_x = fnp.reshape(x, (rows, -1))
    flat_i = fnp.reshape(indices, (rows, -1))
    row_ids = fnp.arange(rows)[:, None]
    out = fnp.zeros((rows, math.prod(sizes)), x.dtype).at[row_ids, flat_i].set(flat_x)
    out = fnp.reshape(out, lead + sizes)
    return fnp.moveaxis(out, axes[0], -1) if channels_last else out


# --- resizing ------------------------------------------------------------------------------------

_RESIZE_METHODS = ("nearest", "nearest-exact", "linear", "bilinear", "trilinear")


def _source_coordinates(
    n_in: int, n_out: int, scale: float | None, method: str, align_corners: bool
):
    """PyTorch's source coordinate of each output element along one axis."""
    dst = np.arange(n_out, dtype=np.float64)
    if scale is None:
        scale = n_in / n_out
    if method == "nearest":
        return np.minimum(np.floor(dst * scale).astype(np.int64), n_in - 1)
    if method == "nearest-exact":
        return np.minimum(np.floor((dst + 0.5) * scale).astype(np.int64), n_in - 1)
    if align_corners:
        return dst * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
    return np.maximum(scale * (dst + 0.5) - 0.5, 0.0)


def resize(
    x, size=None, *, scale_factor=None, method="nearest", align_corners=False, channels_last=True
):
    """Resize the spatial axes of ``x`` (upsampling or downsampling), as PyTorch's
    ``F.interpolate``.

    Give either ``size`` (one output size per spatial axis) or ``scale_factor`` (a
    number or one per axis; the output size is ``floor(in * scale_factor)`` and, as in
    PyTorch, the coordinate scale is ``1 / scale_factor``). Without ``size`` the spatial
    axes are all but the batch and channel axes. Methods, per spatial axis with ``scale =
    in / out``:

    * ``"nearest"``: PyTorch's ``'nearest'``, source ``floor(dst * scale)``;
    * ``"nearest-exact"``: half-pixel centres, source ``floor((dst + 0.5) * scale)``
      (PyTorch's ``'nearest-exact'``, JAX's ``'nearest'``);
    * ``"linear"`` (also ``"bilinear"``, ``"trilinear"``): separable linear interpolation
      between the two neighbours of the source coordinate. With ``align_corners=True`` the
      corner pixels' centres line up: source ``dst * (in - 1) / (out - 1)``; with False
      (the default) pixel areas line up: source ``(dst + 0.5) * scale - 0.5``, clamped at 0
      (PyTorch's ``align_corners`` semantics; JAX's resize matches False without antialiasing).

    ``align_corners`` applies to the linear methods only. Integer inputs are
    interpolated in float64 by the linear methods.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> x = fnp.asarray([[[1.0, 2.0]]])
        >>> lax.resize(x, scale_factor=2, channels_last=False).tolist()
        [[[1.0, 1.0, 2.0, 2.0]]]
        >>> lax.resize(x, (4,), method="linear", channels_last=False).tolist()
        [[[1.0, 1.25, 1.75, 2.0]]]
        >>> lax.resize(x, (3,), method="linear", align_corners=True, channels_last=False).tolist()
        [[[1.0, 1.5, 2.0]]]
    """
    import funcgrad.numpy as fnp

    fname = "funcgrad.lax.resize"
    x = _operand(x, fname)
    if method not in _RESIZE_METHODS:
        raise ValueError(f"{fname}: method must be one of {_RESIZE_METHODS}, got {method!r}")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{fname}: give exactly one of size and scale_factor")
    if size is not None:
        sizes = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
        k = len(sizes)
        scales = (None,) * k
    else:
        k = len(scale_factor) if isinstance(scale_factor, (tuple, list)) else x.ndim - 2
        factors = (
            tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * k
        )
        if len(factors) != k or any(not f > 0 for f in factors):
            raise ValueError(
                f"{fname}: scale_factor {scale_factor!r} must be positive, one per spatial axis"
            )
    axes = _spatial_axes(fname, x, k, channels_last)
    in_sizes = tuple(x.shape[a] for a in axes)
    if scale_factor is not None:
        sizes = tuple(math.floor(n * f) for n, f in zip(in_sizes, factors))
        scales = tuple(1.0 / f for f in factors)
    sizes = tuple(operator.index(s) for s in sizes)
    if any(s < 1 for s in sizes) or any(n < 1 for n in in_sizes):
        raise ValueError(f"{fname}: input sizes {in_sizes} and output sizes {sizes} must be >= 1")
    linear = method in ("linear", "bilinear", "trilinear")
    if linear and x.dtype.kind in "biu":
        x = convert_element_type_p.bind1(x, new_dtype=np.dtype(np.float64))
    for a, n, o, scale in zip(axes, in_sizes, sizes, scales):
        coords = _source_coordinates(n, o, scale, method if not linear else "linear", align_corners)
        if not linear:
            if not (n == o and np.array_equal(coords, np.arange(n))):
                x = fnp.take(x, coords, axis=a)
            continue
        lower = np.floor(coords).astype(np.int64)
        upper = np.minimum(lower + 1, n - 1)
        frac = coords - lower
        matrix = np.zeros((o, n))
        np.add.at(matrix, (np.arange(o), lower), 1.0 - frac)
        np.add.at(matrix, (np.arange(o), upper), frac)
        x = _apply_along(x, matrix, a)
    return x
