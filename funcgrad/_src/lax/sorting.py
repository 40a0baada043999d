"""Sorting primitives: a stable multi-operand sort and searchsorted."""

from __future__ import annotations

from funcgrad._src.core import Primitive, ShapedArray

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
        # lexsort sorts by its last key first
        keys = xp.stack([xp.moveaxis(k, dimension, -1) for k in operands[:num_keys][::-1]])
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
