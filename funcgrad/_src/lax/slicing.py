"""The dynamic slicing primitives: ``dynamic_slice`` and ``dynamic_update_slice``.

A dynamic slice reads (or overwrites) a block of static size at start indices that are
0-d integer operands, so they may be traced values under ``jit``. As in XLA, every
start is clamped to ``[0, size - slice_size]`` so the block always lies inside the
operand (the wrappers in ``funcgrad.lax`` first wrap negative starts, as JAX does).

``dynamic_slice(x, *starts, slice_sizes)`` is linear in ``x``; its transpose writes the
cotangent into zeros with ``dynamic_update_slice``. ``dynamic_update_slice(x, u,
*starts)`` is linear in ``(x, u)`` jointly. Under ``vmap`` with unbatched starts the
batch axis is sliced whole; with batched starts the block of each example is read by
one integer-array gather (written by one scatter).
"""

from __future__ import annotations

import numpy as np

from funcgrad._src.core import Primitive, ShapedArray, get_aval
from funcgrad._src.interpreters.ad import Zero, instantiate, is_undefined, zeros_like_aval
from funcgrad._src.interpreters.batching import axis_size_of, moveaxis
from funcgrad._src.lax import elementwise as _ew
from funcgrad._src.lax import indexing as _indexing
from funcgrad._src.lax import structural as _structural


def _clamped_slices(shape, starts, sizes) -> tuple:
    out = []
    for n, s, k in zip(shape, starts, sizes):
        s = min(max(int(s), 0), n - k)
        out.append(slice(s, s + k))
    return tuple(out)


def _check_starts(name: str, x: ShapedArray, starts, sizes=None) -> None:
    if len(starts) != x.ndim:
        raise ValueError(
            f"{name}: got {len(starts)} start indices for an operand of rank {x.ndim} "
            f"(shape {x.shape}); pass one per axis"
        )
    for k, s in enumerate(starts):
        if s.shape != () or s.dtype.kind not in "iu":
            raise TypeError(
                f"{name}: start index {k} must be a 0-d integer, got {s.str_short()}"
            )


# --- dynamic_slice ----------------------------------------------------------------------

dynamic_slice_p = Primitive("dynamic_slice")


def _dynamic_slice_impl(backend, x, *starts, slice_sizes):
    return [x[_clamped_slices(x.shape, starts, slice_sizes)]]


def _dynamic_slice_abstract_eval(x, *starts, slice_sizes):
    _check_starts("dynamic_slice", x, starts)
    if len(slice_sizes) != x.ndim or any(not 0 <= k <= n for k, n in zip(slice_sizes, x.shape)):
        raise ValueError(
            f"dynamic_slice: slice_sizes {tuple(slice_sizes)} must have one entry per axis of "
            f"the operand of shape {x.shape}, each between 0 and that axis' size"
        )
    return [ShapedArray(tuple(slice_sizes), x.dtype)]


def _dynamic_slice_jvp(primals, tangents, *, slice_sizes):
    x, *starts = primals
    out = dynamic_slice_p.bind1(x, *starts, slice_sizes=slice_sizes)
    if type(tangents[0]) is Zero:
        return [out], [Zero(get_aval(out).update(weak_type=False))]
    return [out], [dynamic_slice_p.bind1(tangents[0], *starts, slice_sizes=slice_sizes)]


def _dynamic_slice_transpose(cts, x, *starts, slice_sizes):
    (ct,) = cts
    rest = [None] * len(starts)
    if not is_undefined(x):
        return [None, *rest]
    if type(ct) is Zero:
        return [Zero(x.aval), *rest]
    zeros = zeros_like_aval(ShapedArray(x.aval.shape, ct.dtype))
    return [dynamic_update_slice_p.bind1(zeros, ct, *starts), *rest]


dynamic_slice_p.impl = _dynamic_slice_impl
dynamic_slice_p.abstract_eval = _dynamic_slice_abstract_eval
dynamic_slice_p.jvp = _dynamic_slice_jvp
dynamic_slice_p.transpose = _dynamic_slice_transpose
dynamic_slice_p.linear = True


# --- dynamic_update_slice ---------------------------------------------------------------

dynamic_update_slice_p = Primitive("dynamic_update_slice")


def _dynamic_update_slice_impl(backend, x, update, *starts):
    out = backend.xp.array(x, copy=True)
    out[_clamped_slices(x.shape, starts, np.shape(update))] = update
    return [out]


def _dynamic_update_slice_abstract_eval(x, update, *starts):
    _check_starts("dynamic_update_slice", x, starts)
    if update.ndim != x.ndim or any(k > n for k, n in zip(update.shape, x.shape)):
        raise ValueError(
            f"dynamic_update_slice: the update of shape {update.shape} must have the rank of "
            f"the operand (shape {x.shape}) and fit inside it"
        )
    if not update.weak_type and update.dtype != x.dtype:
        raise TypeError(
            f"dynamic_update_slice: update dtype {update.dtype} differs from operand dtype "
            f"{x.dtype}; convert one of them"
        )
    return [ShapedArray(x.shape, x.dtype)]


def _dynamic_update_slice_jvp(primals, tangents):
    x, u, *starts = primals
    tx, tu = tangents[:2]
    out = dynamic_update_slice_p.bind1(x, u, *starts)
    if type(tx) is Zero and type(tu) is Zero:
        return [out], [Zero(get_aval(out).update(weak_type=False))]
    tx = instantiate(tx)
    tu = zeros_like_aval(ShapedArray(get_aval(u).shape, get_aval(x).dtype)) if type(tu) is Zero else tu
    return [out], [dynamic_update_slice_p.bind1(tx, tu, *starts)]


def _dynamic_update_slice_transpose(cts, x, u, *starts):
    (ct,) = cts
    u_aval = u.aval if is_undefined(u) else get_aval(u)
    ct_x = ct_u = None
    if is_undefined(x):
        if type(ct) is Zero:
            ct_x = Zero(x.aval)
        else:  # the overwritten block does not reach the output
            zeros = zeros_like_aval(ShapedArray(u_aval.shape, ct.dtype))
            ct_x = dynamic_update_slice_p.bind1(ct, zeros, *starts)
    if is_undefined(u):
        if type(ct) is Zero:
            ct_u = Zero(u.aval)
        else:
            ct_u = dynamic_slice_p.bind1(ct, *starts, slice_sizes=u_aval.shape)
    return [ct_x, ct_u, *[None] * len(starts)]


dynamic_update_slice_p.impl = _dynamic_update_slice_impl
dynamic_update_slice_p.abstract_eval = _dynamic_update_slice_abstract_eval
dynamic_update_slice_p.jvp = _dynamic_update_slice_jvp
dynamic_update_slice_p.transpose = _dynamic_update_slice_transpose
dynamic_update_slice_p.linear = True


# --- batching ---------------------------------------------------------------------------


def _block_indices(shape, starts, starts_dims, sizes, batch: int):
    """Integer-array indices of each example's clamped block, for an operand with its batch
    axis first: ``(arange(batch), start_0 + arange(size_0), ...)`` broadcast against each
    other to shape ``(batch, *sizes)``."""
    int64 = np.dtype(np.int64)
    nd = len(sizes)
    out = [
        _structural.broadcast_in_dim_p.bind1(
            _structural.iota_p.bind1(dtype=int64, shape=(batch,), dimension=0),
            shape=(batch,) + (1,) * nd, broadcast_dimensions=(0,),
        )
    ]  # fmt: skip
    for axis, (n, s, d, k) in enumerate(zip(shape, starts, starts_dims, sizes)):
        s = _structural.convert_element_type_p.bind1(s, new_dtype=int64) if get_aval(s).dtype != int64 else s
        s = _ew.min_p.bind1(_ew.max_p.bind1(s, np.int64(0)), np.int64(n - k))
        s = (
            _structural.broadcast_in_dim_p.bind1(s, shape=(batch,) + (1,) * nd, broadcast_dimensions=(0,))
            if d is not None
            else _structural.reshape_p.bind1(s, new_sizes=(1,) * (nd + 1))
        )
        offsets = _structural.iota_p.bind1(dtype=int64, shape=(k,), dimension=0)
        offsets = _structural.broadcast_in_dim_p.bind1(
            offsets, shape=(1,) * (axis + 1) + (k,) + (1,) * (nd - axis - 1),
            broadcast_dimensions=(axis + 1,),
        )  # fmt: skip
        out.append(_ew.add_p.bind1(s, offsets))
    return out


def _moved_starts(starts, dims):
    return [s if d is None else moveaxis(s, d, 0) for s, d in zip(starts, dims)]


def _dynamic_slice_batch(args, dims, *, slice_sizes):
    x, *starts = args
    x_dim, *s_dims = dims
    size = axis_size_of(args, dims)
    if all(d is None for d in s_dims):
        # only the operand is batched: slice its batch axis whole
        starts = list(starts)
        starts.insert(x_dim, np.int64(0))
        sizes = list(slice_sizes)
        sizes.insert(x_dim, size)
        return [dynamic_slice_p.bind1(x, *starts, slice_sizes=tuple(sizes))], [x_dim]
    x = moveaxis(x, x_dim, 0) if x_dim is not None else _batch_broadcast(x, size)
    idx = _block_indices(x.shape[1:], _moved_starts(starts, s_dims), s_dims, slice_sizes, size)
    indexer = tuple(_indexing.ArrayIndex(i) for i in range(len(idx)))
    return [_indexing.gather_p.bind1(x, *idx, indexer=indexer)], [0]


def _batch_broadcast(x, size):
    from funcgrad._src.interpreters.batching import broadcast_batch

    return broadcast_batch(x, size, 0)


def _dynamic_update_slice_batch(args, dims):
    x, u, *starts = args
    x_dim, u_dim, *s_dims = dims
    size = axis_size_of(args, dims)
    x = moveaxis(x, x_dim, 0) if x_dim is not None else _batch_broadcast(x, size)
    u = moveaxis(u, u_dim, 0) if u_dim is not None else _batch_broadcast(u, size)
    if get_aval(u).dtype != get_aval(x).dtype:  # a weak scalar update
        u = _structural.convert_element_type_p.bind1(u, new_dtype=get_aval(x).dtype)
    if all(d is None for d in s_dims):
        return [dynamic_update_slice_p.bind1(x, u, np.int64(0), *starts)], [0]
    idx = _block_indices(x.shape[1:], _moved_starts(starts, s_dims), s_dims, u.shape[1:], size)
    indexer = tuple(_indexing.ArrayIndex(i) for i in range(len(idx)))
    return [_indexing.scatter_p.bind1(x, u, *idx, indexer=indexer)], [0]


dynamic_slice_p.batch = _dynamic_slice_batch
dynamic_update_slice_p.batch = _dynamic_update_slice_batch
