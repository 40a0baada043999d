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
        # key's own dtype, so int64 keys beside float keys lose no precision (the
        # backend's kernel: CuPy's lexsort takes one stacked array and no axis)
        perm = backend.lexsort(tuple(operands[:num_keys][::-1]), dimension)
    return [xp.take_along_axis(op, perm, axis=dimension) for op in operands]


def _sort_abstract_eval(*operands, dimension, num_keys):
    shape = operands[0].shape
    if any(op.shape != shape for op in operands):
        raise ValueError(f"sort: operands must have one shape, got {[op.shape for op in operands]}")
    if not 0 <= dimension < len(shape) or not 1 <= num_keys <= len(operands):
        raise ValueError(
            f"sort: dimension={dimension}, num_keys={num_keys} invalid for shape {shape}"
        )
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
        raise ValueError(
            f"searchsorted: the sorted array must be 1-D, got shape {sorted_array.shape}"
        )
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    return [ShapedArray(queries.shape, dtype)]


searchsorted_p.impl = _searchsorted_impl
searchsorted_p.abstract_eval = _searchsorted_abstract_eval
defjvp_zero(searchsorted_p)  # integer positions: piecewise constant


# --- batching rules -------------------------------------------------------------------

from funcgrad._src.interpreters import batching
from funcgrad._src.lax import elementwise, reductions


# Every operand takes the batch axis of the first batched one (unbatched operands are
# broadcast views: sort needs one shape); the batch axis is one more independent lane.
def _sort_batch(args, dims, *, dimension, num_keys):
    size = batching.axis_size_of(args, dims)
    bdim = next(d for d in dims if d is not None)
    operands = [batching.move_batch_axis(x, d, size, bdim) for x, d in zip(args, dims)]
    outs = sort_p.bind(*operands, dimension=dimension + (dimension >= bdim), num_keys=num_keys)
    return outs, [bdim] * len(outs)


sort_p.batch = _sort_batch


def _searchsorted_batch(args, dims, *, side, dtype):
    (sorted_array, queries), (sorted_bdim, queries_bdim) = args, dims
    if sorted_bdim is None:
        # One sorted array for all examples: the queries carry the batch axis through.
        return [searchsorted_p.bind1(sorted_array, queries, side=side, dtype=dtype)], [queries_bdim]
    out = _batched_searchsorted(sorted_array, sorted_bdim, queries, queries_bdim, side, dtype)
    return [out], [0]


def _batched_searchsorted(sorted_array, sorted_bdim, queries, queries_bdim, side, dtype):
    """searchsorted with one sorted array per example, batch axis first in the result.

    Per example, sort the sorted array's elements together with the queries by
    (value, tag), where the tag puts a query before the elements equal to it for
    side="left" and after them for "right"; a query's insertion point is then the
    number of elements before it. A second sort by original position brings the
    counts back to the queries' order. Sorting (NaNs last) uses NumPy's order, so
    results match searchsorted for every dtype; the cost is O((n + m) log(n + m))
    per example for n elements and m queries.
    """
    size = sorted_array.shape[sorted_bdim]
    elements = batching.moveaxis(sorted_array, sorted_bdim, 0)
    queries = batching.bdim_at_front(queries, queries_bdim, size)
    query_shape = tuple(queries.shape[1:])
    n, m = elements.shape[1], int(np.prod(query_shape, dtype=np.int64))
    out_shape = (size, *query_shape)
    zero = np.zeros((), dtype)[()]
    if n == 0 or m == 0:
        return structural.broadcast_in_dim_p.bind1(zero, shape=out_shape, broadcast_dimensions=())
    # NumPy's searchsorted compares in the common dtype of the two operands.
    common = np.result_type(elements.dtype, queries.dtype)
    if elements.dtype != common:
        elements = structural.convert_element_type_p.bind1(elements, new_dtype=common)
    if queries.dtype != common:
        queries = structural.convert_element_type_p.bind1(queries, new_dtype=common)
    queries = structural.reshape_p.bind1(queries, new_sizes=(size, m))
    values = structural.concatenate_p.bind1(elements, queries, dimension=1)
    element_tag = np.bool_(side == "left")
    tags = structural.concatenate_p.bind1(
        structural.broadcast_in_dim_p.bind1(element_tag, shape=(size, n), broadcast_dimensions=()),
        structural.broadcast_in_dim_p.bind1(~element_tag, shape=(size, m), broadcast_dimensions=()),
        dimension=1,
    )
    positions = structural.iota_p.bind1(dtype=np.dtype(np.int64), shape=(size, n + m), dimension=1)
    _, tags, positions = sort_p.bind(values, tags, positions, dimension=1, num_keys=2)
    is_element = structural.convert_element_type_p.bind1(
        elementwise.eq_p.bind1(tags, element_tag), new_dtype=np.dtype(dtype)
    )
    # at a query, the inclusive count of elements is the count of those before it
    counts = reductions.cumsum_p.bind1(is_element, axis=1, reverse=False)
    _, counts = sort_p.bind(positions, counts, dimension=1, num_keys=1)
    # drop the elements' columns: a negative low padding crops
    counts = structural.pad_p.bind1(counts, zero, padding_config=((0, 0, 0), (-n, 0, 0)))
    return structural.reshape_p.bind1(counts, new_sizes=out_shape)


searchsorted_p.batch = _searchsorted_batch
