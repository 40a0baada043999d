"""Reduction primitives (sum, prod, max, min, and, or, argmax, argmin) and cumulative scans.

Reductions keep their operand's dtype (``funcgrad.numpy`` upcasts small integers
first, as NumPy does); ``axes`` is a sorted tuple of non-negative axes.

Differentiation rules follow each family. In them ``t`` is a tangent, ``x`` the
operand and ``out`` the primal output; constants are typed NumPy scalars of the
operand's dtype, so that differentiating a rule again never meets a float64 literal
beside float32 values.
"""

from __future__ import annotations

import numpy as np

from funcgrad._src.core import Primitive, ShapedArray
from funcgrad._src.interpreters.ad import Zero, defjvp, defjvp_zero, deflinear
from funcgrad._src.lax.elementwise import add_p, div_p, eq_p, mul_p, sub_p
from funcgrad._src.lax.structural import (
    broadcast_in_dim_p,
    convert_element_type_p,
    pad_p,
    reshape_p,
    transpose_p,
)

_add, _sub, _mul, _div, _eq = add_p.bind1, sub_p.bind1, mul_p.bind1, div_p.bind1, eq_p.bind1


def _check_axes(name: str, x: ShapedArray, axes: tuple[int, ...]) -> None:
    if any(not 0 <= a < x.ndim for a in axes) or len(set(axes)) != len(axes):
        raise ValueError(f"{name}: axes {axes} are invalid for an array of shape {x.shape}")


def _reduced_shape(x: ShapedArray, axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(d for i, d in enumerate(x.shape) if i not in axes)


def _make_reducer(name: str, op: str) -> Primitive:
    """A reduction primitive computed by the backend's ``reduce(op, x, axes)``."""
    prim = Primitive(name)

    def abstract_eval(x, *, axes):
        _check_axes(name, x, axes)
        if name in ("reduce_max", "reduce_min") and any(x.shape[a] == 0 for a in axes):
            raise ValueError(
                f"{name}: cannot reduce over a zero-size axis of shape {x.shape} "
                f"(max and min have no identity); pass an initial value instead"
            )
        return [ShapedArray(_reduced_shape(x, axes), x.dtype)]

    prim.impl = lambda backend, x, *, axes: [backend.reduce(op, x, axes)]
    prim.abstract_eval = abstract_eval
    return prim


reduce_sum_p = _make_reducer("reduce_sum", "sum")
reduce_prod_p = _make_reducer("reduce_prod", "prod")
reduce_max_p = _make_reducer("reduce_max", "max")
reduce_min_p = _make_reducer("reduce_min", "min")
reduce_and_p = _make_reducer("reduce_and", "and")
reduce_or_p = _make_reducer("reduce_or", "or")


def _kept_dims(ndim: int, axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(d for d in range(ndim) if d not in axes)


def _expand_reduced(y, x_shape: tuple[int, ...], axes: tuple[int, ...]):
    """A reduced value broadcast back to the operand's shape."""
    return broadcast_in_dim_p.bind1(
        y, shape=x_shape, broadcast_dimensions=_kept_dims(len(x_shape), axes)
    )


# reduce_sum: linear; the transpose broadcasts the cotangent back over the reduced axes.
def _reduce_sum_transpose(cts, x, *, axes):
    (ct,) = cts
    if type(ct) is Zero:
        return [Zero(x.aval)]
    return [_expand_reduced(ct, x.aval.shape, axes)]


deflinear(reduce_sum_p, _reduce_sum_transpose)


# reduce_prod: d prod(x) = sum_i t_i * prod_{j != i} x_j, the products of the others
# taken without dividing by x, so zeros in x need no special case.
def _reduce_prod_jvp_fn(t, x, *, out, axes):
    if not axes:
        return t
    return reduce_sum_p.bind1(_mul(t, _product_of_others(x, axes)), axes=axes)


def _product_of_others(x, axes: tuple[int, ...]):
    """For each element of ``x``, the product of the other elements of its reduction group:
    exclusive cumulative products from both ends of the (flattened) reduced axes."""
    if len(axes) == 1:
        flat, axis = x, axes[0]
    else:
        kept = _kept_dims(x.ndim, axes)
        perm = (*kept, *axes)
        moved = x if perm == tuple(range(x.ndim)) else transpose_p.bind1(x, permutation=perm)
        group = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
        flat = reshape_p.bind1(moved, new_sizes=(*(x.shape[d] for d in kept), group))
        axis = len(kept)
    before = _shift(cumprod_p.bind1(flat, axis=axis, reverse=False), axis, 1, 1)
    after = _shift(cumprod_p.bind1(flat, axis=axis, reverse=True), axis, -1, 1)
    others = _mul(before, after)
    if len(axes) == 1:
        return others
    others = reshape_p.bind1(others, new_sizes=tuple(moved.shape))
    if perm == tuple(range(x.ndim)):
        return others
    return transpose_p.bind1(others, permutation=tuple(int(i) for i in np.argsort(perm)))


defjvp(reduce_prod_p, _reduce_prod_jvp_fn)


# reduce_max / reduce_min: the tangent of the extremum is the mean of the tangents of
# the elements equal to it, i.e. ties split the gradient equally (as JAX does):
# t_out = sum(t * mask) / sum(mask) with mask = (x == out). Where the group holds a NaN
# the output is NaN, no element equals it, and the tangent is NaN too.
def _reduce_extremum_jvp_fn(t, x, *, out, axes):
    if not axes:
        return t
    at_extremum = _eq(x, _expand_reduced(out, x.shape, axes))
    mask = convert_element_type_p.bind1(at_extremum, new_dtype=t.dtype)
    count = reduce_sum_p.bind1(mask, axes=axes)
    return _div(reduce_sum_p.bind1(_mul(t, mask), axes=axes), count)


defjvp(reduce_max_p, _reduce_extremum_jvp_fn)
defjvp(reduce_min_p, _reduce_extremum_jvp_fn)
# Boolean outputs: no tangent.
defjvp_zero(reduce_and_p)
defjvp_zero(reduce_or_p)


def _make_arg_reducer(name: str, xp_name: str) -> Primitive:
    prim = Primitive(name)

    def impl(backend, x, *, axis, index_dtype):
        return [getattr(backend.xp, xp_name)(x, axis=axis).astype(index_dtype, copy=False)]

    def abstract_eval(x, *, axis, index_dtype):
        _check_axes(name, x, (axis,))
        if x.shape[axis] == 0:
            raise ValueError(f"{name}: attempt to get {xp_name} of an empty axis (shape {x.shape})")
        return [ShapedArray(_reduced_shape(x, (axis,)), index_dtype)]

    prim.impl = impl
    prim.abstract_eval = abstract_eval
    defjvp_zero(prim)  # integer outputs: no tangent
    return prim


# Ties resolve to the first occurrence and NaN counts as the extreme, as in NumPy.
argmax_p = _make_arg_reducer("argmax", "argmax")
argmin_p = _make_arg_reducer("argmin", "argmin")


# --- cumulative scans -----------------------------------------------------------------


def _make_cumulative(name: str, op: str) -> Primitive:
    prim = Primitive(name)

    def impl(backend, x, *, axis, reverse):
        # the backend's kernel: not every array library has maximum.accumulate (CuPy)
        xp = backend.xp
        if reverse:
            return [xp.flip(backend.cumulative(op, xp.flip(x, axis), axis), axis)]
        return [backend.cumulative(op, x, axis)]

    def abstract_eval(x, *, axis, reverse):
        _check_axes(name, x, (axis,))
        return [ShapedArray(x.shape, x.dtype)]

    prim.impl = impl
    prim.abstract_eval = abstract_eval
    return prim


cumsum_p = _make_cumulative("cumsum", "sum")
cumprod_p = _make_cumulative("cumprod", "prod")
cummax_p = _make_cumulative("cummax", "max")
cummin_p = _make_cumulative("cummin", "min")


def _shift(v, axis: int, offset: int, fill):
    """``v`` moved ``offset`` places along ``axis`` (negative: backwards), ``fill`` entering."""
    config = tuple((offset, -offset, 0) if d == axis else (0, 0, 0) for d in range(v.ndim))
    return pad_p.bind1(v, v.dtype.type(fill), padding_config=config)


def _linear_recurrence(a, b, axis: int, reverse: bool):
    """``y`` with ``y[i] = a[i] * y[i-1] + b[i]`` along ``axis`` (``y[-1] = 0``), where
    "previous" follows the scan direction (``reverse`` scans from the end).

    Log-depth doubling (Hillis-Steele) over the affine maps ``y -> a y + b``: after the
    round with stride ``s``, element ``i`` holds the composition of the maps of the
    ``2 s`` elements ending at ``i``. Only multiplications and additions: the result is
    linear in ``b`` (the tangent) and nothing divides by ``a``.
    """
    n = a.shape[axis]
    stride = 1
    while stride < n:
        offset = -stride if reverse else stride
        b = _add(b, _mul(a, _shift(b, axis, offset, 0)))
        if 2 * stride < n:
            a = _mul(a, _shift(a, axis, offset, 1))
        stride *= 2
    return b


# cumsum: linear; its transpose accumulates the cotangent in the opposite direction.
def _cumsum_transpose(cts, x, *, axis, reverse):
    (ct,) = cts
    if type(ct) is Zero:
        return [Zero(x.aval)]
    return [cumsum_p.bind1(ct, axis=axis, reverse=not reverse)]


deflinear(cumsum_p, _cumsum_transpose)


# cumprod: out[i] = x[i] out[i-1], so t_out[i] = x[i] t_out[i-1] + out[i-1] t[i]: a
# linear recurrence in the tangent, solved without dividing by x (zeros are fine).
def _cumprod_jvp_fn(t, x, *, out, axis, reverse):
    previous = _shift(out, axis, -1 if reverse else 1, 1)
    return _linear_recurrence(x, _mul(t, previous), axis, reverse)


defjvp(cumprod_p, _cumprod_jvp_fn)


# cummax / cummin: out[i] is the element at the most recent position j <= i (in scan
# order) where x[j] == out[j], and that element's tangent is carried forward to i:
# t_out[i] = t[i] where x[i] == out[i], else t_out[i-1]. On ties the gradient goes
# entirely to the most recent of the tied elements (not split as in reduce_max).
def _cumulative_extremum_jvp_fn(t, x, *, out, axis, reverse):
    holds = convert_element_type_p.bind1(_eq(x, out), new_dtype=t.dtype)
    carry = _sub(t.dtype.type(1), holds)
    return _linear_recurrence(carry, _mul(t, holds), axis, reverse)


defjvp(cummax_p, _cumulative_extremum_jvp_fn)
defjvp(cummin_p, _cumulative_extremum_jvp_fn)


# --- batching rules -------------------------------------------------------------------
# The batch axis is one more kept axis: the reduced (or scanned) axes shift past it,
# and it stays in place, moved left by the reduced axes that were before it.


def _operand_axis(axis: int, bdim: int) -> int:
    """The operand axis holding an example's ``axis`` when the batch axis is ``bdim``."""
    return axis + (axis >= bdim)


def _reducer_batch(prim: Primitive):
    def rule(args, dims, *, axes):
        (x,), (bdim,) = args, dims
        moved = tuple(_operand_axis(a, bdim) for a in axes)
        return [prim.bind1(x, axes=moved)], [bdim - sum(a < bdim for a in axes)]

    return rule


def _arg_reducer_batch(prim: Primitive):
    def rule(args, dims, *, axis, index_dtype):
        (x,), (bdim,) = args, dims
        out = prim.bind1(x, axis=_operand_axis(axis, bdim), index_dtype=index_dtype)
        return [out], [bdim - (axis < bdim)]

    return rule


def _cumulative_batch(prim: Primitive):
    def rule(args, dims, *, axis, reverse):
        (x,), (bdim,) = args, dims
        return [prim.bind1(x, axis=_operand_axis(axis, bdim), reverse=reverse)], [bdim]

    return rule


for _prim in (reduce_sum_p, reduce_prod_p, reduce_max_p, reduce_min_p, reduce_and_p, reduce_or_p):
    _prim.batch = _reducer_batch(_prim)
for _prim in (argmax_p, argmin_p):
    _prim.batch = _arg_reducer_batch(_prim)
for _prim in (cumsum_p, cumprod_p, cummax_p, cummin_p):
    _prim.batch = _cumulative_batch(_prim)
del _prim
