"""Structural primitives: dtype conversion, broadcasting, reshaping, transposition,
concatenation, padding and iota. None of them computes new values."""

from __future__ import annotations

import numpy as np

from funcgrad._src.core import Primitive, ShapedArray, get_aval
from funcgrad._src.interpreters.ad import (
    Zero,
    defjvp_zero,
    deflinear,
    differentiable_dtype,
    instantiate,
    is_undefined,
)
from funcgrad._src.lax.elementwise import real_p, select_p, sub_p

# Rules here also sum (reduce_sum) and slice (gather); those modules build on this one,
# so their primitives are imported where used.

# --- convert_element_type -------------------------------------------------------------

convert_element_type_p = Primitive("convert_element_type")


def _convert_impl(backend, x, *, new_dtype):
    if type(x) in (bool, int, float, complex):
        return [backend.xp.asarray(x, dtype=new_dtype)]
    return [x.astype(new_dtype)]


convert_element_type_p.impl = _convert_impl
convert_element_type_p.abstract_eval = lambda x, *, new_dtype: [
    x.update(dtype=new_dtype, weak_type=False)
]


def _convert_tangent(t, new_dtype):
    """``t`` cast to ``new_dtype``; complex to real keeps the real part (what the cast does)."""
    if t.dtype == new_dtype:
        return t
    if t.dtype.kind == "c" and new_dtype.kind != "c":
        t = real_p.bind1(t)
    return t if t.dtype == new_dtype else convert_element_type_p.bind1(t, new_dtype=new_dtype)


def _convert_jvp(primals, tangents, *, new_dtype):
    (x,), (t,) = primals, tangents
    out = convert_element_type_p.bind1(x, new_dtype=new_dtype)
    new_dtype = np.dtype(new_dtype)
    # Casts to integers and bools are piecewise constant; ints have no tangent to cast.
    if type(t) is Zero or not (differentiable_dtype(new_dtype) and differentiable_dtype(t.dtype)):
        return [out], [Zero(ShapedArray(get_aval(out).shape, new_dtype))]
    return [out], [_convert_tangent(t, new_dtype)]


def _convert_transpose(cts, x, *, new_dtype):
    (ct,) = cts
    if not is_undefined(x):
        return [None]
    if type(ct) is Zero or not (
        differentiable_dtype(x.aval.dtype) and differentiable_dtype(ct.dtype)
    ):
        return [Zero(x.aval)]
    # The transpose of real->complex is the real part (the real inner product's adjoint).
    return [_convert_tangent(ct, x.aval.dtype)]


convert_element_type_p.jvp = _convert_jvp
convert_element_type_p.transpose = _convert_transpose
convert_element_type_p.linear = True


# --- broadcast_in_dim -----------------------------------------------------------------

broadcast_in_dim_p = Primitive("broadcast_in_dim")


def _broadcast_in_dim_impl(backend, x, *, shape, broadcast_dimensions):
    if type(x) in (bool, int, float, complex) or not hasattr(x, "flags"):
        x = backend.xp.asarray(x)  # literals and NumPy scalars
    return [backend.broadcast_in_dim(x, shape, broadcast_dimensions)]


def _broadcast_in_dim_abstract_eval(x, *, shape, broadcast_dimensions):
    if len(broadcast_dimensions) != x.ndim:
        raise ValueError(
            f"broadcast_in_dim: operand of shape {x.shape} needs {x.ndim} broadcast "
            f"dimensions, got {broadcast_dimensions}"
        )
    if any(b >= a for a, b in zip(broadcast_dimensions[1:], broadcast_dimensions)):
        raise ValueError(
            f"broadcast_in_dim: broadcast_dimensions {broadcast_dimensions} must be increasing"
        )
    for in_dim, out_dim in enumerate(broadcast_dimensions):
        if not 0 <= out_dim < len(shape) or x.shape[in_dim] not in (1, shape[out_dim]):
            raise ValueError(
                f"broadcast_in_dim: cannot broadcast operand of shape {x.shape} to {shape} "
                f"with broadcast_dimensions {broadcast_dimensions}"
            )
    return [ShapedArray(shape, x.dtype)]


broadcast_in_dim_p.impl = _broadcast_in_dim_impl
broadcast_in_dim_p.abstract_eval = _broadcast_in_dim_abstract_eval


def _broadcast_in_dim_transpose(cts, x, *, shape, broadcast_dimensions):
    (ct,) = cts
    if not is_undefined(x):
        return [None]
    if type(ct) is Zero:
        return [Zero(x.aval)]
    # Sum over the new axes and over the size-1 axes that were stretched; the latter
    # come back as size-1 axes through the final reshape.
    kept = {out_dim for in_dim, out_dim in enumerate(broadcast_dimensions)
            if x.aval.shape[in_dim] == shape[out_dim]}  # fmt: skip
    axes = tuple(d for d in range(len(shape)) if d not in kept)
    return [_reshape_to(_sum(ct, axes), x.aval.shape)]


def _sum(x, axes):
    from funcgrad._src.lax.reductions import reduce_sum_p

    return reduce_sum_p.bind1(x, axes=tuple(axes)) if axes else x


def _reshape_to(x, shape):
    return x if x.shape == tuple(shape) else reshape_p.bind1(x, new_sizes=tuple(shape))


deflinear(broadcast_in_dim_p, _broadcast_in_dim_transpose)


# --- reshape --------------------------------------------------------------------------

reshape_p = Primitive("reshape")


def _reshape_abstract_eval(x, *, new_sizes):
    if int(np.prod(new_sizes, dtype=np.int64)) != x.size or any(d < 0 for d in new_sizes):
        raise ValueError(f"reshape: cannot reshape an array of shape {x.shape} into {new_sizes}")
    return [ShapedArray(new_sizes, x.dtype)]


reshape_p.impl = lambda backend, x, *, new_sizes: [backend.xp.reshape(x, new_sizes)]
reshape_p.abstract_eval = _reshape_abstract_eval


def _reshape_transpose(cts, x, *, new_sizes):
    (ct,) = cts
    if not is_undefined(x):
        return [None]
    return [Zero(x.aval) if type(ct) is Zero else _reshape_to(ct, x.aval.shape)]


deflinear(reshape_p, _reshape_transpose)


# --- transpose ------------------------------------------------------------------------

transpose_p = Primitive("transpose")


def _transpose_abstract_eval(x, *, permutation):
    if sorted(permutation) != list(range(x.ndim)):
        raise ValueError(
            f"transpose: permutation {permutation} is not a permutation of the "
            f"{x.ndim} axes of an array of shape {x.shape}"
        )
    return [ShapedArray(tuple(x.shape[p] for p in permutation), x.dtype)]


transpose_p.impl = lambda backend, x, *, permutation: [backend.xp.transpose(x, permutation)]
transpose_p.abstract_eval = _transpose_abstract_eval


def _transpose_transpose(cts, x, *, permutation):
    (ct,) = cts
    if not is_undefined(x):
        return [None]
    if type(ct) is Zero:
        return [Zero(x.aval)]
    inverse = tuple(int(i) for i in np.argsort(permutation))
    return [transpose_p.bind1(ct, permutation=inverse)]


deflinear(transpose_p, _transpose_transpose)


# --- concatenate ----------------------------------------------------------------------

concatenate_p = Primitive("concatenate")


def _concatenate_abstract_eval(*xs, dimension):
    first = xs[0]
    for x in xs[1:]:
        if (
            x.ndim != first.ndim
            or x.dtype != first.dtype
            or any(a != b for i, (a, b) in enumerate(zip(x.shape, first.shape)) if i != dimension)
        ):
            shapes = ", ".join(f"{y.dtype}{list(y.shape)}" for y in xs)
            raise ValueError(
                f"concatenate: operands must have one dtype and equal shapes except along "
                f"axis {dimension}; got {shapes}"
            )
    shape = list(first.shape)
    shape[dimension] = sum(x.shape[dimension] for x in xs)
    return [ShapedArray(tuple(shape), first.dtype)]


concatenate_p.impl = lambda backend, *xs, dimension: [backend.xp.concatenate(xs, axis=dimension)]
concatenate_p.abstract_eval = _concatenate_abstract_eval


def _concatenate_jvp(primals, tangents, *, dimension):
    out = concatenate_p.bind1(*primals, dimension=dimension)
    # Every piece is needed to build the output tangent; only the zero ones are materialised.
    return [out], [concatenate_p.bind1(*map(instantiate, tangents), dimension=dimension)]


def _concatenate_transpose(cts, *xs, dimension):
    from funcgrad._src.lax.indexing import IndexSlice, gather_p

    (ct,) = cts
    result, start = [], 0
    for x in xs:
        size = get_aval(x).shape[dimension]
        if not is_undefined(x):
            result.append(None)
        elif type(ct) is Zero:
            result.append(Zero(x.aval))
        else:
            everything = (IndexSlice(None, None, None),) * dimension
            result.append(
                gather_p.bind1(ct, indexer=(*everything, IndexSlice(start, start + size, None)))
            )
        start += size
    return result


concatenate_p.jvp = _concatenate_jvp
concatenate_p.transpose = _concatenate_transpose
concatenate_p.linear = True


# --- pad ------------------------------------------------------------------------------

pad_p = Primitive("pad")


def _padded_size(size: int, lo: int, hi: int, interior: int) -> int:
    return lo + hi + size + max(size - 1, 0) * interior


def _pad_impl(backend, x, padding_value, *, padding_config):
    """Pad with ``lo``/``hi`` elements at each end and ``interior`` between elements.

    Negative ``lo``/``hi`` crop, as in XLA: pad the positive parts, then slice.
    """
    xp = backend.xp
    grown = [
        _padded_size(n, max(lo, 0), max(hi, 0), interior)
        for n, (lo, hi, interior) in zip(x.shape, padding_config)
    ]
    out = xp.full(grown, padding_value, dtype=x.dtype)
    inner = tuple(
        slice(max(lo, 0), max(lo, 0) + _padded_size(n, 0, 0, interior), interior + 1)
        for n, (lo, _, interior) in zip(x.shape, padding_config)
    )
    out[inner] = x
    crop = tuple(
        slice(-min(lo, 0), g + min(hi, 0)) for g, (lo, hi, _) in zip(grown, padding_config)
    )
    return [out[crop]]


def _pad_abstract_eval(x, padding_value, *, padding_config):
    if len(padding_config) != x.ndim:
        raise ValueError(
            f"pad: padding_config has {len(padding_config)} entries for an array of rank {x.ndim}"
        )
    shape = tuple(_padded_size(n, lo, hi, i) for n, (lo, hi, i) in zip(x.shape, padding_config))
    if any(i < 0 for _, _, i in padding_config) or any(d < 0 for d in shape):
        raise ValueError(f"pad: padding_config {padding_config} is invalid for shape {x.shape}")
    return [ShapedArray(shape, x.dtype)]


pad_p.impl = _pad_impl
pad_p.abstract_eval = _pad_abstract_eval


def _pad_jvp(primals, tangents, *, padding_config):
    (x, value), (tx, tvalue) = primals, tangents
    out = pad_p.bind1(x, value, padding_config=padding_config)
    if type(tvalue) is Zero:  # a literal zero: nothing is recorded for the padding value
        tvalue = np.zeros((), tx.dtype)[()]
    return [out], [pad_p.bind1(instantiate(tx), tvalue, padding_config=padding_config)]


def _pad_operand_ct(ct, padding_config):
    """The entries of ``ct`` where the operand's elements landed (zero where cropped):
    undo the edges with the opposite padding (which re-creates cropped positions as
    zeros), then take every ``interior + 1``-th element."""
    from funcgrad._src.lax.indexing import IndexSlice, gather_p

    unpad = tuple((-lo, -hi, 0) for lo, hi, _ in padding_config)
    unedged = pad_p.bind1(ct, np.zeros((), ct.dtype)[()], padding_config=unpad)
    if all(interior == 0 for _, _, interior in padding_config):
        return unedged
    indexer = tuple(IndexSlice(None, None, interior + 1) for _, _, interior in padding_config)
    return gather_p.bind1(unedged, indexer=indexer)


def _pad_transpose(cts, x, value, *, padding_config):
    (ct,) = cts
    if type(ct) is Zero:
        return [Zero(a.aval) if is_undefined(a) else None for a in (x, value)]
    ct_x = _pad_operand_ct(ct, padding_config)
    ct_value = None
    if is_undefined(value):
        # Every output element that is not an operand element is the padding value.
        everything = tuple(range(ct.ndim))
        ct_value = sub_p.bind1(_sum(ct, everything), _sum(ct_x, everything))
        if ct_value.dtype != value.aval.dtype:
            ct_value = _convert_tangent(ct_value, value.aval.dtype)
    return [ct_x if is_undefined(x) else None, ct_value]


pad_p.jvp = _pad_jvp
pad_p.transpose = _pad_transpose
pad_p.linear = True


# --- iota -----------------------------------------------------------------------------

iota_p = Primitive("iota")


def _iota_impl(backend, *, dtype, shape, dimension):
    xp = backend.xp
    line = xp.arange(shape[dimension], dtype=dtype)
    if len(shape) == 1:
        return [line]
    expanded = [1] * len(shape)
    expanded[dimension] = shape[dimension]
    return [xp.broadcast_to(xp.reshape(line, expanded), shape)]


iota_p.impl = _iota_impl
iota_p.abstract_eval = lambda *, dtype, shape, dimension: [ShapedArray(shape, dtype)]
# No operands, so no tangents: the JVP interpreter never asks; the rule is for completeness.
defjvp_zero(iota_p)


# --- batching rules -------------------------------------------------------------------
# ``bdim`` is the batch axis of the operand; an example's axis ``a`` is the operand's
# axis ``a + (a >= bdim)``. Rules keep the batch axis where it is whenever the
# primitive can carry it there, so that no transpose is needed. iota has no operands,
# so it is never batched and has no rule.

from funcgrad._src.interpreters import batching  # imports only core: no cycle


def _operand_axis(axis: int, bdim: int) -> int:
    """The operand axis holding an example's ``axis`` when the batch axis is ``bdim``."""
    return axis + (axis >= bdim)


def _convert_batch(args, dims, *, new_dtype):
    return [convert_element_type_p.bind1(args[0], new_dtype=new_dtype)], [dims[0]]


convert_element_type_p.batch = _convert_batch


# The batch axis lands right after the output axis of the operand axis before it, so
# that broadcast_dimensions stay increasing.
def _broadcast_in_dim_batch(args, dims, *, shape, broadcast_dimensions):
    (x,), (bdim,) = args, dims
    out_bdim = broadcast_dimensions[bdim - 1] + 1 if bdim > 0 else 0
    new_dims = [d + (d >= out_bdim) for d in broadcast_dimensions]
    new_dims.insert(bdim, out_bdim)
    out_shape = (*shape[:out_bdim], x.shape[bdim], *shape[out_bdim:])
    out = broadcast_in_dim_p.bind1(x, shape=out_shape, broadcast_dimensions=tuple(new_dims))
    return [out], [out_bdim]


broadcast_in_dim_p.batch = _broadcast_in_dim_batch


# Row-major reshape of (before..., B, after...) keeps the batch axis in place when
# new_sizes splits into a part holding exactly the elements of ``before`` and a part
# holding those of ``after``; otherwise the batch axis goes first.
def _reshape_batch(args, dims, *, new_sizes):
    (x,), (bdim,) = args, dims
    size = x.shape[bdim]
    before = int(np.prod(x.shape[:bdim], dtype=np.int64))
    after = int(np.prod(x.shape[bdim + 1 :], dtype=np.int64))
    for k in sorted(range(len(new_sizes) + 1), key=lambda k: abs(k - bdim)):
        if (int(np.prod(new_sizes[:k], dtype=np.int64)) == before
                and int(np.prod(new_sizes[k:], dtype=np.int64)) == after):  # fmt: skip
            out_shape = (*new_sizes[:k], size, *new_sizes[k:])
            return [_reshape_to(x, out_shape)], [k]
    x = batching.moveaxis(x, bdim, 0)
    return [_reshape_to(x, (size, *new_sizes))], [0]


reshape_p.batch = _reshape_batch


def _transpose_batch(args, dims, *, permutation):
    (x,), (bdim,) = args, dims
    example_axes = [d for d in range(x.ndim) if d != bdim]
    perm = [example_axes[p] for p in permutation]
    perm.insert(bdim, bdim)  # the batch axis stays put
    return [transpose_p.bind1(x, permutation=tuple(perm))], [bdim]


transpose_p.batch = _transpose_batch


# All operands get the batch axis of the first batched one (unbatched operands are
# broadcast views); concatenation copies once anyway.
def _concatenate_batch(args, dims, *, dimension):
    size = batching.axis_size_of(args, dims)
    bdim = next(d for d in dims if d is not None)
    xs = [batching.move_batch_axis(x, d, size, bdim) for x, d in zip(args, dims)]
    return [concatenate_p.bind1(*xs, dimension=_operand_axis(dimension, bdim))], [bdim]


concatenate_p.batch = _concatenate_batch


# An unbatched padding value pads every example alike: no padding along the batch
# axis. A batched one (one scalar per example) cannot be a pad operand: pad with zero,
# then select each example's value where the padded example-shaped mask is False.
def _pad_batch(args, dims, *, padding_config):
    (x, value), (x_bdim, value_bdim) = args, dims
    x_aval = get_aval(x)
    if value_bdim is None:
        config = _no_padding_at(padding_config, x_bdim)
        return [pad_p.bind1(x, value, padding_config=config)], [x_bdim]
    size = value.shape[value_bdim]
    zero = np.zeros((), x_aval.dtype)[()]
    if x_bdim is None:
        out_bdim, example_shape = 0, x_aval.shape
        padded = pad_p.bind1(x, zero, padding_config=padding_config)
        padded = batching.broadcast_batch(padded, size, 0)
    else:
        out_bdim, example_shape = x_bdim, x_aval.shape[:x_bdim] + x_aval.shape[x_bdim + 1 :]
        padded = pad_p.bind1(x, zero, padding_config=_no_padding_at(padding_config, x_bdim))
    out_shape = tuple(padded.shape)
    everywhere = broadcast_in_dim_p.bind1(np.bool_(True), shape=example_shape,
                                          broadcast_dimensions=())  # fmt: skip
    from_x = pad_p.bind1(everywhere, np.bool_(False), padding_config=padding_config)
    example_axes = tuple(d for d in range(len(out_shape)) if d != out_bdim)
    mask = broadcast_in_dim_p.bind1(from_x, shape=out_shape, broadcast_dimensions=example_axes)
    if value.dtype != x_aval.dtype:
        value = convert_element_type_p.bind1(value, new_dtype=x_aval.dtype)
    values = broadcast_in_dim_p.bind1(value, shape=out_shape, broadcast_dimensions=(out_bdim,))
    return [select_p.bind1(mask, padded, values)], [out_bdim]


def _no_padding_at(padding_config, bdim: int) -> tuple:
    """``padding_config`` for the batched operand: the batch axis is left as it is."""
    config = list(padding_config)
    config.insert(bdim, (0, 0, 0))
    return tuple(config)


pad_p.batch = _pad_batch
