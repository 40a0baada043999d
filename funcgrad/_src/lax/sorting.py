"""Sorting primitives: a stable multi-operand sort and searchsorted."""

from __future__ import annotations

import numpy as np

from funcgrad._src.core import Primitive, ShapedArray, get_aval
from funcgrad._src.interpreters.ad import Zero, defjvp_zero
from funcgrad._src.lax import indexing, structural

sort_p = Primitive("sort")


def _sort_impl(backend, *operands, dimension, num_keys):
    """Sort every operand along ``dimension`` by the lexicographic order of the first
    ``num_keys`` operands; stable, NaNs last (NumPy's order)."""
    xp = backend.xp
    if len(operands) == 1:
        return [xp.sort(operands[0], axis=dimension, kind="stable")]
    if num_keys == 1:
        perm = xp.argsort(operands[0], axis=dimension, kind="stable")
    else:
        # lexsort sorts by its last key first; a tuple (not a stacked array) keeps each
        # key's own dtype, so int64 keys beside float keys lose no precision
        keys = tuple(xp.moveaxis(k, dimension, -1) for k in operands[:num_keys][::-1])
        perm = xp.moveaxis(xp.lexsort(keys, axis=-1), -1, dimension)
    return [xp.take_along_axis(op, perm, axis=dimension) for op in operands]


def _sort_abstract_eval(*operands, dimension, num_keys):
    shape = operands[0].shape
    if any(op.shape != shape for op in operands):
        raise ValueError(f"sort: operands must have one shape, got {[op.shape for op in operands]}")
    if not 0 <= dimension < len(shape) or not 1 <= num_keys <= len(operands):
        raise ValueError(f"sort: dimension={dimension}, num_keys={num_keys} invalid for shape {shape}")
    return [ShapedArray(shape, op.dtype) for op in operands]


sort_p.impl = _sort_impl
sort_p.abstract_eval = _sort_abstract_eval


def _sort_jvp(primals, tangents, *, dimension, num_keys):
    # Sorting permutes each lane; the tangents follow the same permutation. Sorting
    # positions along (as a non-key operand) gives it, and a gather applies it, so
    # reverse mode needs only gather's transpose (sort itself is not linear).
    shape = get_aval(primals[0]).shape
    int64 = np.dtype(np.int64)
    positions = structural.iota_p.bind1(dtype=int64, shape=shape, dimension=dimension)
    *outs, perm = sort_p.bind(*primals, positions, dimension=dimension, num_keys=num_keys)
    # take_along_axis as NumPy advanced indexing: perm on `dimension`, a broadcasting
    # iota on every other axis.
    index = [perm if d == dimension else _axis_positions(shape, d) for d in range(len(shape))]
    indexer = tuple(indexing.ArrayIndex(d) for d in range(len(shape)))
    t_outs = [
        Zero(get_aval(o).update(weak_type=False)) if type(t) is Zero
        else indexing.gather_p.bind1(t, *index, indexer=indexer)
        for o, t in zip(outs, tangents)
    ]  # fmt: skip
    return outs, t_outs


def _axis_positions(shape, axis):
    """0, 1, ... along ``axis``, shaped to broadcast against ``shape`` (size 1 elsewhere)."""
    line_shape = tuple(n if k == axis else 1 for k, n in enumerate(shape))
    return structural.iota_p.bind1(dtype=np.dtype(np.int64), shape=line_shape, dimension=axis)


sort_p.jvp = _sort_jvp


searchsorted_p = Primitive("searchsorted")  # a primitive for speed: O(log n) per query


def _searchsorted_impl(backend, sorted_array, queries, *, side, dtype):
    return [backend.xp.searchsorted(sorted_array, queries, side=side).astype(dtype, copy=False)]


def _searchsorted_abstract_eval(sorted_array, queries, *, side, dtype):
    if sorted_array.ndim != 1:
        raise ValueError(f"searchsorted: the sorted array must be 1-D, got shape {sorted_array.shape}")
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    return [ShapedArray(queries.shape, dtype)]


searchsorted_p.impl = _searchsorted_impl
searchsorted_p.abstract_eval = _searchsorted_abstract_eval
defjvp_zero(searchsorted_p)  # integer positions: piecewise constant
