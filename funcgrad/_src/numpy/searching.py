"""Finding elements by value or position: nonzero, take, select, unique and set operations,
and conversions between flat and multi-dimensional indices.

Functions whose output *shape* depends on values (``nonzero``, ``unique``,
``intersect1d``, ...) need concrete inputs, unless ``size=`` (a static int, an
addition from JAX) fixes the output length: the result is then truncated or padded
with ``fill_value``, and the function is traceable (``jit``, ``vmap``, ``eval_shape``).
They are compositions of cumsum, searchsorted and sort: the k-th true entry of a mask
is the first position where the running count of true entries reaches k + 1.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.core import EVAL_TRACE, Array, concrete_or_error, current_trace
from funcgrad._src.lax import reductions, sorting, structural
from funcgrad._src.lax.indexing import ArrayIndex, scatter_p
from funcgrad._src.numpy import ufuncs
from funcgrad._src.numpy.indexing import getitem
from funcgrad._src.numpy.shape import _eager, _static_int, _static_ints, concatenate, ravel, stack
from funcgrad._src.numpy.util import (
    asarray,
    broadcast_shapes_cached,
    broadcast_to_shape,
    canonicalize_axis,
    convert,
    from_host,
    is_array,
    operand,
)

_FULL = slice(None)
_INT = dtypes.int64  # NumPy's intp on 64-bit platforms: the dtype of every index output


def _fn(name: str) -> str:
    return f"funcgrad.numpy.{name}"


def _iota(n: int) -> Any:
    return structural.iota_p.bind1(dtype=_INT, shape=(n,), dimension=0)


def _full(shape: tuple[int, ...], value: Any, dtype: Any) -> Any:
    """An array of ``shape`` filled with ``value`` (a host scalar or a 0-d array)."""
    value = asarray(value, dtype=dtype) if not is_array(value) else convert(value, dtype)
    return broadcast_to_shape(value, shape)


def _check_size(size: Any, fname: str) -> int | None:
    if size is None:
        return None
    size = _static_int(size, fname, "size")
    if size < 0:
        raise ValueError(f"{fname}: size must be non-negative, got {size}")
    return size


def _count(mask_flat: Any) -> Any:
    """The number of true entries of a 1-D bool array (an int64 0-d array)."""
    return reductions.reduce_sum_p.bind1(convert(mask_flat, _INT), axes=(0,))


def _true_positions(mask_flat: Any, size: int) -> Any:
    """Positions of the first ``size`` true entries of a 1-D bool array, in order; slots
    past the number of true entries hold ``len(mask_flat)``."""
    n = mask_flat.shape[0]
    if n == 0:
        return _full((size,), 0, _INT)
    running = reductions.cumsum_p.bind1(convert(mask_flat, _INT), axis=0, reverse=False)
    wanted = ufuncs.add(_iota(size), 1)
    return sorting.searchsorted_p.bind1(running, wanted, side="left", dtype=_INT)


def _sized(size: int | None, stage1: Any, inputs: tuple, fname: str, what: str) -> tuple:
    """Run ``stage1(*inputs)``, whose last output is a 1-D bool mask of the entries to
    output, and settle the output size: ``size`` if given (padded output), else the
    mask's count on the concrete inputs. Returns (stage1's outputs, size, padded)."""
    if size is not None:
        return stage1(*inputs), size, True
    concretes = [
        concrete_or_error(
            x, fname, what, "Pass size=<a static int> (and fill_value=) for a fixed-size result."
        )
        for x in inputs
    ]
    state = stage1(*inputs)
    if current_trace() is EVAL_TRACE:  # eager: the mask is concrete already
        return state, int(_count(state[-1])), False
    # Inside a transformation, count on the concrete inputs without tracing.
    return state, _eager(lambda *c: int(_count(stage1(*c)[-1])), *concretes), False


def _per_dim_fill(fill_value: Any, ndim: int, fname: str) -> list:
    """One fill value per dimension, from None (0), a scalar or a sequence of ``ndim``."""
    if fill_value is None:
        return [0] * ndim
    if isinstance(fill_value, (tuple, list)):
        if len(fill_value) != ndim:
            raise ValueError(
                f"{fname}: fill_value must be a scalar or a sequence of {ndim} values (one "
                f"per dimension), got {len(fill_value)}"
            )
        return list(fill_value)
    if is_array(fill_value) and fill_value.ndim:
        raise ValueError(
            f"{fname}: fill_value must be a scalar or a tuple, got shape {fill_value.shape}"
        )
    return [fill_value] * ndim


def _unravel(flat: Any, shape: tuple[int, ...]) -> list:
    """C-order multi-indices (int64 arrays) of flat positions ``flat`` in ``shape``."""
    out = []
    stride = int(np.prod(shape, dtype=np.int64))
    for d in shape:
        stride //= d if d else 1
        idx = ufuncs.floor_divide(flat, stride) if stride != 1 else flat
        out.append(ufuncs.remainder(idx, d) if out else idx)
    return out


# --- nonzero --------------------------------------------------------------------------


def nonzero(a, *, size=None, fill_value=None):
    """The indices of the nonzero elements of ``a``: a tuple of one int64 array per dimension.

    The number of nonzero elements must be concrete, unless ``size`` (a static int)
    fixes the output length: the first ``size`` indices are returned, padded with
    ``fill_value`` (default 0; a scalar or one value per dimension). With ``size``
    the function is traceable.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> [i.tolist() for i in fnp.nonzero(fnp.array([[0, 3], [4, 0]]))]
        [[0, 1], [1, 0]]
        >>> fnp.nonzero(fnp.array([0, 5, 6]), size=3, fill_value=-1)[0].tolist()
        [1, 2, -1]
    """
    fname = _fn("nonzero")
    x = asarray(a, fname=fname)
    if x.ndim == 0:
        raise ValueError(
            f"{fname}: calling nonzero on 0-d arrays is not allowed; use "
            f"fnp.atleast_1d(x).nonzero() instead"
        )
    size = _check_size(size, fname)
    fills = _per_dim_fill(fill_value, x.ndim, fname)
    (mask,), size, padded = _sized(size, _flat_mask, (x,), fname, "the number of nonzero elements")
    if x.size == 0:
        return tuple(_full((size,), f, _INT) for f in fills)
    flat = _true_positions(mask, size)
    indices = _unravel(flat, x.shape)
    if not padded:
        return tuple(indices)
    valid = ufuncs.less(flat, x.size)
    return tuple(ufuncs.where(valid, i, asarray(f, dtype=_INT)) for i, f in zip(indices, fills))


def _flat_mask(x: Any) -> tuple:
    mask = x if dtypes.is_bool(x.dtype) else ufuncs.not_equal(x, 0)
    return (structural.reshape_p.bind1(mask, new_sizes=(x.size,)) if x.ndim != 1 else mask,)


def flatnonzero(a, *, size=None, fill_value=None):
    """The indices of the nonzero elements of ``a`` flattened (``size``: see :func:`nonzero`).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.flatnonzero(fnp.array([[0, 3], [4, 0]])).tolist()
        [1, 2]
    """
    return nonzero(ravel(a), size=size, fill_value=fill_value)[0]


def argwhere(a, *, size=None, fill_value=None):
    """The indices of the nonzero elements of ``a`` as rows of a ``(N, a.ndim)`` array
    (``size``: see :func:`nonzero`).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.argwhere(fnp.array([[0, 3], [4, 0]])).tolist()
        [[0, 1], [1, 0]]
    """
    fname = _fn("argwhere")
    x = asarray(a, fname=fname)
    if x.ndim == 0:  # as NumPy: a 0-d array is a 1-element vector with no index columns
        rows = nonzero(structural.reshape_p.bind1(x, new_sizes=(1,)), size=size)[0]
        return structural.reshape_p.bind1(rows, new_sizes=(rows.shape[0], 1))[:, :0]
    fills = _per_dim_fill(fill_value, x.ndim, fname)
    return stack(nonzero(x, size=size, fill_value=tuple(fills)), axis=1)


# --- gathering by index ---------------------------------------------------------------


def _int_indices(indices: Any, fname: str, argname: str = "indices") -> Any:
    idx = asarray(indices, fname=fname)
    if not dtypes.is_integer(idx.dtype):
        if idx.size == 0 and not is_array(indices):
            return convert(idx, _INT)  # NumPy accepts an empty list
        raise TypeError(f"{fname}: {argname} must be integers, got dtype {idx.dtype}")
    return idx


def _gather(x: Any, key: tuple, fname: str) -> Any:
    try:
        return getitem(x, key)
    except IndexError as e:  # out-of-bounds indices, detected on concrete values
        raise IndexError(f"{fname}: {e}") from None


def take(a, indices, axis=None, mode=None):
    """Elements of ``a`` at ``indices`` along ``axis`` (of the flattened array if None).

    ``mode``: ``"raise"`` (the default, as in NumPy; negative indices count from
    the end; out-of-range indices raise IndexError on concrete values, while under a
    transformation they cannot be checked), ``"wrap"`` (indices modulo the axis
    length) or ``"clip"`` (indices clipped to ``[0, n - 1]``, so negative ones give 0).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.take(fnp.array([[1, 2], [3, 4]]), fnp.array([1, 1, 0]), axis=1).tolist()
        [[2, 2, 1], [4, 4, 3]]
        >>> fnp.take(fnp.array([1, 2, 3]), 5, mode="wrap").tolist()
        3
    """
    fname = _fn("take")
    x = asarray(a, fname=fname)
    if axis is None:
        x = ravel(x)
        axis = 0
    axis = canonicalize_axis(axis, x.ndim, fname)
    idx = _int_indices(indices, fname)
    n = x.shape[axis]
    mode = "raise" if mode is None else mode
    if mode in ("wrap", "clip"):
        if n == 0:
            if idx.size:
                raise IndexError(
                    f"{fname}: cannot take {idx.size} elements from the empty axis {axis}"
                )
            idx = convert(idx, _INT)
        elif mode == "wrap":
            idx = ufuncs.remainder(idx, n)
        else:
            idx = ufuncs.clip(idx, 0, n - 1)
    elif mode != "raise":
        raise ValueError(f"{fname}: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    return _gather(x, (_FULL,) * axis + (idx,), fname)


def take_along_axis(arr, indices, axis=-1):
    """``arr`` indexed along ``axis`` by ``indices``, matching 1-D slices (as ``argsort``
    returns them); the other axes of ``indices`` broadcast against ``arr``'s.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> x = fnp.array([[3, 1, 2], [9, 7, 8]])
        >>> fnp.take_along_axis(x, fnp.array([[1], [0]]), axis=1).tolist()
        [[1], [9]]
    """
    fname = _fn("take_along_axis")
    x = asarray(arr, fname=fname)
    idx = _int_indices(indices, fname)
    if axis is None:
        if idx.ndim != 1:
            raise ValueError(f"{fname}: with axis=None, indices must be 1-D, got shape {idx.shape}")
        x = ravel(x)
        axis = 0
    if idx.ndim != x.ndim:
        raise ValueError(
            f"{fname}: indices (shape {idx.shape}) and arr (shape {x.shape}) must have the "
            f"same number of dimensions"
        )
    axis = canonicalize_axis(axis, x.ndim, fname)
    shape = list(x.shape)
    shape[axis] = idx.shape[axis]
    broadcast_shapes_cached(fname, tuple(shape), idx.shape)  # errors name the shapes
    key = []
    for d, n in enumerate(x.shape):
        if d == axis:
            key.append(idx)
        else:  # arange(n) along dimension d, broadcasting against the index
            line = [1] * x.ndim
            line[d] = n
            key.append(structural.reshape_p.bind1(_iota(n), new_sizes=tuple(line)))
    return _gather(x, tuple(key), fname)


def compress(condition, a, axis=None):
    """The slices of ``a`` along ``axis`` where the 1-D ``condition`` is true (``a``
    flattened if ``axis`` is None). Needs a concrete ``condition``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.compress(fnp.array([False, True]), fnp.array([[1, 2], [3, 4]]), axis=0).tolist()
        [[3, 4]]
    """
    fname = _fn("compress")
    cond = asarray(condition, fname=fname)
    if cond.ndim != 1:
        raise ValueError(f"{fname}: condition must be 1-D, got shape {cond.shape}")
    concrete_or_error(cond, fname, "the output shape", "Use fnp.where(condition, a, 0) instead.")
    positions = nonzero(cond)[0] if cond.size else _int_indices([], fname)
    return take(a, positions, axis=axis)


def extract(condition, arr):
    """The elements of ``arr`` (flattened) where ``condition`` (flattened) is nonzero.
    Needs a concrete ``condition``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> x = fnp.array([[1, 2], [3, 4]])
        >>> fnp.extract(x % 2 == 0, x).tolist()
        [2, 4]
    """
    fname = _fn("extract")
    cond = asarray(condition, fname=fname)
    concrete_or_error(cond, fname, "the output shape", "Use fnp.where(condition, arr, 0) instead.")
    return take(ravel(arr), flatnonzero(cond))


def select(condlist, choicelist, default=0):
    """For each element, the entry of the first choice whose condition is true, else
    ``default``; everything broadcasts, and the dtype is the promotion of the choices
    and ``default`` (Python scalars are weak).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> x = fnp.array([-2, 0, 3])
        >>> fnp.select([x < 0, x > 0], [-x, x * 10], default=99).tolist()
        [2, 99, 30]
    """
    fname = _fn("select")
    if len(condlist) != len(choicelist):
        raise ValueError(
            f"{fname}: condlist has {len(condlist)} entries but choicelist has "
            f"{len(choicelist)}; give one choice per condition"
        )
    if not condlist:
        raise ValueError(f"{fname}: select with an empty condition list is not possible")
    conds = [asarray(c, fname=fname) for c in condlist]
    for i, c in enumerate(conds):
        if not dtypes.is_bool(c.dtype):
            raise TypeError(
                f"{fname}: invalid entry {i} in condlist: should be a boolean array, got "
                f"dtype {c.dtype}"
            )
    # As NumPy: Python int/float/complex stay weak; bools and everything else are arrays.
    choices = [c if type(c) in (int, float, complex) else asarray(c, fname=fname)
               for c in [*choicelist, default]]  # fmt: skip
    dtype = dtypes.result_type(*choices)
    # NumPy writes the choices into the result with a cast (Python ints wrap into uints).
    choices = [np.asarray(c).astype(dtype)[()] if type(c) in (int, float, complex)
               else convert(c, dtype) for c in choices]  # fmt: skip
    shape = broadcast_shapes_cached(fname, *(c.shape for c in conds),
                                    *(c.shape for c in choices if is_array(c)))  # fmt: skip
    out = broadcast_to_shape(asarray(choices[-1], dtype=dtype), shape)
    for cond, choice in zip(reversed(conds), reversed(choices[:-1])):
        out = ufuncs.where(cond, choice, out)
    return broadcast_to_shape(out, shape)


# --- unique ---------------------------------------------------------------------------


class UniqueAllResult(NamedTuple):
    values: Any
    indices: Any
    inverse_indices: Any
    counts: Any


class UniqueCountsResult(NamedTuple):
    values: Any
    counts: Any


class UniqueInverseResult(NamedTuple):
    values: Any
    inverse_indices: Any


class _Groups(NamedTuple):
    """Sorted keys and the groups of equal ones, before truncation to a size."""

    sorted_keys: list  # the key operands (columns), sorted; one for axis=None
    perm: Any  # sorted position -> original position (stable: first occurrences first)
    group: Any  # sorted position -> index of its unique value (int64)
    starts: Any  # 1-D bool: the first sorted position of each group


def _group(keys: list, n: int, equal_nan: bool) -> _Groups:
    """Sort ``n`` rows (one key operand per column, lexicographically) and find the runs
    of equal ones."""
    if keys:
        *sorted_keys, perm = sorting.sort_p.bind(*keys, _iota(n), dimension=0, num_keys=len(keys))
    else:  # rows without columns: all equal, already in order
        sorted_keys, perm = [], _iota(n)
    if n == 0:
        empty = _full((0,), 0, _INT)
        return _Groups(sorted_keys, perm, empty, _full((0,), False, dtypes.bool_))
    differs = _full((n - 1,), False, dtypes.bool_)
    for s in sorted_keys:
        a, b = s[1:], s[:-1]
        d = ufuncs.not_equal(a, b)
        if equal_nan and dtypes.is_inexact(s.dtype):  # NaNs sort last, so they are adjacent
            both_nan = ufuncs.logical_and(ufuncs.isnan(a), ufuncs.isnan(b))
            d = ufuncs.logical_and(d, ufuncs.logical_not(both_nan))
        differs = ufuncs.logical_or(differs, d)
    starts = concatenate([_full((1,), True, dtypes.bool_), differs])
    running = reductions.cumsum_p.bind1(convert(starts, _INT), axis=0, reverse=False)
    return _Groups(sorted_keys, perm, ufuncs.subtract(running, 1), starts)


def _unique_rows(ar: Any, axis: int | None) -> tuple[Any, list]:
    """The input as (array of rows moved to the front, key columns)."""
    if axis is None:
        flat = ravel(ar)
        return flat, [flat]
    moved = structural.transpose_p.bind1(
        ar, permutation=(axis, *(d for d in range(ar.ndim) if d != axis))
    )
    n = moved.shape[0]
    m = int(np.prod(moved.shape[1:], dtype=np.int64))
    rows = structural.reshape_p.bind1(moved, new_sizes=(n, m))
    return moved, [rows[:, j] for j in range(m)]


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *,
           equal_nan=True, sorted=True, size=None, fill_value=None):  # fmt: skip
    """The sorted unique elements of ``ar`` (flattened if ``axis`` is None, else the unique
    slices along ``axis``), optionally with the index of each one's first occurrence,
    the inverse (``values[inverse]`` rebuilds ``ar``; shaped like ``ar`` when ``axis`` is
    None, as in NumPy 2) and the counts.

    The number of unique elements must be concrete, unless ``size`` (a static int)
    fixes it: the first ``size`` unique elements are returned, padded with
    ``fill_value`` (default: the smallest element), indices padded with 0 and counts
    with 0. With ``size`` the function is traceable. ``sorted=False`` is accepted;
    results are always sorted. With ``equal_nan`` all NaNs form one group.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> values, counts = fnp.unique(fnp.array([3, 1, 3, 2]), return_counts=True)
        >>> values.tolist(), counts.tolist()
        ([1, 2, 3], [1, 1, 2])
        >>> fnp.unique(fnp.array([3, 3, 1]), size=3, fill_value=0).tolist()
        [1, 3, 0]
    """
    del sorted
    fname = _fn("unique")
    x = asarray(ar, fname=fname)
    size = _check_size(size, fname)
    if axis is not None:
        axis = canonicalize_axis(axis, x.ndim, fname)

    def stage1(arr):
        rows, keys = _unique_rows(arr, axis)
        groups = _group(keys, rows.shape[0], equal_nan)
        return rows, groups, groups.starts

    (rows, groups, _), size, padded = _sized(
        size, stage1, (x,), fname, "the number of unique elements"
    )
    n = rows.shape[0]
    # Sorted position where each group starts; slots past the last group hold n.
    bounds = _true_positions(groups.starts, size + 1)
    first, ends = bounds[:-1], bounds[1:]
    valid = ufuncs.less(first, n)
    if n == 0:
        values = _full((size,) + rows.shape[1:], 0 if fill_value is None else fill_value, x.dtype)
        index = counts = _full((size,), 0, _INT)
    else:
        index = getitem(groups.perm, ufuncs.minimum(first, n - 1))
        values = getitem(rows, index)
        counts = ufuncs.subtract(ends, first)
        if padded:
            fill = getitem(rows, groups.perm[0]) if fill_value is None else fill_value
            fill = convert(operand(fill, fname), x.dtype)
            row_valid = structural.reshape_p.bind1(
                valid, new_sizes=(size,) + (1,) * (values.ndim - 1)
            )
            values = ufuncs.where(row_valid, values, fill)
            index = ufuncs.where(valid, index, 0)
    if axis is not None:
        inv_perm = (*range(1, axis + 1), 0, *range(axis + 1, x.ndim))
        values = structural.transpose_p.bind1(values, permutation=inv_perm)
    outputs = [values]
    if return_index:
        outputs.append(index)
    if return_inverse:
        # Scatter each sorted position's group back to its original position.
        inverse = scatter_p.bind1(groups.group, groups.group, groups.perm, indexer=(ArrayIndex(0),))
        if padded and size < n:
            inverse = ufuncs.minimum(inverse, max(size - 1, 0))  # truncated: clamp to the last
        if axis is None:
            inverse = structural.reshape_p.bind1(inverse, new_sizes=x.shape)
        outputs.append(inverse)
    if return_counts:
        outputs.append(counts)
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


def unique_values(x, /, *, size=None, fill_value=None):
    """The unique elements of ``x``, NaNs counted as distinct (array API). Sorted (NumPy
    leaves the order unspecified).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.unique_values(fnp.array([2, 1, 2])).tolist()
        [1, 2]
    """
    return unique(x, equal_nan=False, size=size, fill_value=fill_value)


def unique_counts(x, /, *, size=None, fill_value=None):
    """``(values, counts)`` of the unique elements of ``x``, NaNs distinct (array API).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.unique_counts(fnp.array([2, 1, 2])).counts.tolist()
        [1, 2]
    """
    return UniqueCountsResult(*unique(x, return_counts=True, equal_nan=False, size=size,
                                      fill_value=fill_value))  # fmt: skip


def unique_inverse(x, /, *, size=None, fill_value=None):
    """``(values, inverse_indices)`` of ``x``, NaNs distinct; the inverse has ``x``'s shape.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.unique_inverse(fnp.array([2, 1, 2])).inverse_indices.tolist()
        [1, 0, 1]
    """
    return UniqueInverseResult(*unique(x, return_inverse=True, equal_nan=False, size=size,
                                       fill_value=fill_value))  # fmt: skip


def unique_all(x, /, *, size=None, fill_value=None):
    """``(values, indices, inverse_indices, counts)`` of ``x``, NaNs distinct (array API).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.unique_all(fnp.array([2, 1, 2])).indices.tolist()
        [1, 0]
    """
    return UniqueAllResult(*unique(x, return_index=True, return_inverse=True, return_counts=True,
                                   equal_nan=False, size=size, fill_value=fill_value))  # fmt: skip


# --- set operations -------------------------------------------------------------------


def isin(element, test_elements, assume_unique=False, invert=False, *, kind=None):
    """True where an element of ``element`` equals some element of ``test_elements``
    (compared in their promoted dtype; NaN is in nothing). ``assume_unique`` and
    ``kind`` are accepted for NumPy compatibility: the test elements are always sorted
    and searched.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.isin(fnp.array([1, 2, 3]), [2, 4]).tolist()
        [False, True, False]
    """
    del assume_unique, kind
    fname = _fn("isin")
    e = asarray(element, fname=fname)
    t = ravel(asarray(test_elements, fname=fname))
    dtype = dtypes.result_type(e.dtype, t.dtype)
    e, t = convert(e, dtype), convert(t, dtype)
    found = _isin_sorted(e, sorting.sort_p.bind1(t, dimension=0, num_keys=1))
    return ufuncs.logical_not(found) if invert else found


def _isin_sorted(e: Any, s: Any) -> Any:
    """``e`` found in the sorted 1-D ``s`` (same dtype)."""
    m = s.shape[0]
    if m == 0:
        return _full(e.shape, False, dtypes.bool_)
    pos = sorting.searchsorted_p.bind1(s, e, side="left", dtype=_INT)
    return ufuncs.equal(getitem(s, ufuncs.minimum(pos, m - 1)), e)


def _compact(values: Any, keep: Any, size: int, padded: bool, fill_value: Any) -> tuple:
    """The first ``size`` entries of 1-D ``values`` where ``keep``; if ``padded``, the slots
    past them hold ``fill_value`` (default: the smallest kept value, or 0 if none). Also
    returns the kept positions (clamped) and which slots are valid."""
    n = values.shape[0]
    positions = _true_positions(keep, size)
    safe = ufuncs.minimum(positions, max(n - 1, 0))
    valid = ufuncs.less(positions, n)
    if n == 0:
        return _full((size,), 0 if fill_value is None else fill_value, values.dtype), safe, valid
    out = getitem(values, safe)
    if padded and size:
        if fill_value is None:
            fill = ufuncs.where(valid[0], out[0], _full((), 0, values.dtype))
        else:
            fill = convert(operand(fill_value, _fn("set operation")), values.dtype)
        out = ufuncs.where(valid, out, fill)
    return out, safe, valid


def _sorted_unique(x: Any, assume_unique: bool) -> tuple:
    """Sorted 1-D ``x`` with a mask of the first of each run of equal values, and perm."""
    if assume_unique:
        s, perm = sorting.sort_p.bind(x, _iota(x.shape[0]), dimension=0, num_keys=1)
        return s, _full(s.shape, True, dtypes.bool_), perm
    groups = _group([x], x.shape[0], equal_nan=True)
    return groups.sorted_keys[0], groups.starts, groups.perm


def _two_sets(ar1: Any, ar2: Any, fname: str) -> tuple:
    """Both inputs flattened and converted to their promoted dtype."""
    a1 = ravel(asarray(ar1, fname=fname))
    a2 = ravel(asarray(ar2, fname=fname))
    dtype = dtypes.result_type(a1.dtype, a2.dtype)
    return convert(a1, dtype), convert(a2, dtype)


def intersect1d(ar1, ar2, assume_unique=False, return_indices=False, *, size=None,
                fill_value=None):  # fmt: skip
    """The sorted unique values found in both ``ar1`` and ``ar2`` (flattened), optionally
    with the indices of their first occurrences in each.

    The output length depends on values: concrete inputs, or ``size``/``fill_value``
    as in :func:`unique` (padded indices are 0).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.intersect1d(fnp.array([1, 3, 4, 3]), fnp.array([3, 1, 2, 1])).tolist()
        [1, 3]
    """
    fname = _fn("intersect1d")
    size = _check_size(size, fname)

    def stage1(ar1, ar2):
        a1, a2 = _two_sets(ar1, ar2, fname)
        s1, first1, perm1 = _sorted_unique(a1, assume_unique)
        s2, perm2 = sorting.sort_p.bind(a2, _iota(a2.shape[0]), dimension=0, num_keys=1)
        return s1, perm1, s2, perm2, ufuncs.logical_and(first1, _isin_sorted(s1, s2))

    inputs = (asarray(ar1, fname=fname), asarray(ar2, fname=fname))
    (s1, perm1, s2, perm2, keep), size, padded = _sized(
        size, stage1, inputs, fname, "the number of common elements"
    )
    values, where1, valid = _compact(s1, keep, size, padded, fill_value)
    if not return_indices:
        return values
    n1, n2 = s1.shape[0], s2.shape[0]
    if n1 == 0 or n2 == 0:
        zeros = _full(values.shape, 0, _INT)
        return values, zeros, zeros
    idx1 = getitem(perm1, where1)
    # The leftmost match in the stably sorted ar2 is its first occurrence.
    pos2 = sorting.searchsorted_p.bind1(s2, values, side="left", dtype=_INT)
    idx2 = getitem(perm2, ufuncs.minimum(pos2, n2 - 1))
    return values, ufuncs.where(valid, idx1, 0), ufuncs.where(valid, idx2, 0)


def union1d(ar1, ar2, *, size=None, fill_value=None):
    """The sorted unique values found in ``ar1`` or ``ar2`` (flattened); ``size`` and
    ``fill_value`` as in :func:`unique`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.union1d(fnp.array([3, 1]), fnp.array([2, 1])).tolist()
        [1, 2, 3]
    """
    fname = _fn("union1d")
    a1, a2 = _two_sets(ar1, ar2, fname)
    return unique(concatenate([a1, a2]), size=size, fill_value=fill_value)


def setdiff1d(ar1, ar2, assume_unique=False, *, size=None, fill_value=None):
    """The unique values of ``ar1`` not in ``ar2``, sorted (with ``assume_unique``: the
    elements of ``ar1`` not in ``ar2``, in their order). ``size``/``fill_value`` as in
    :func:`unique`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.setdiff1d(fnp.array([5, 1, 3, 1]), fnp.array([3])).tolist()
        [1, 5]
    """
    fname = _fn("setdiff1d")
    size = _check_size(size, fname)

    def stage1(ar1, ar2):
        a1 = ravel(ar1)
        if assume_unique:
            candidates, first = a1, _full(a1.shape, True, dtypes.bool_)
        else:
            candidates, first, _ = _sorted_unique(a1, False)
        c, t = _two_sets(candidates, ar2, fname)
        absent = ufuncs.logical_not(
            _isin_sorted(c, sorting.sort_p.bind1(t, dimension=0, num_keys=1))
        )
        return candidates, ufuncs.logical_and(first, absent)

    inputs = (asarray(ar1, fname=fname), asarray(ar2, fname=fname))
    (candidates, keep), size, padded = _sized(size, stage1, inputs, fname, "the number of elements")
    return _compact(candidates, keep, size, padded, fill_value)[0]


def setxor1d(ar1, ar2, assume_unique=False, *, size=None, fill_value=None):
    """The sorted unique values in exactly one of ``ar1`` and ``ar2``; ``size`` and
    ``fill_value`` as in :func:`unique`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.setxor1d(fnp.array([1, 2, 3]), fnp.array([2, 3, 4])).tolist()
        [1, 4]
    """
    fname = _fn("setxor1d")
    size = _check_size(size, fname)

    def stage1(ar1, ar2):
        a1, a2 = _two_sets(ar1, ar2, fname)
        s1, first1, _ = _sorted_unique(a1, assume_unique)
        s2, first2, _ = _sorted_unique(a2, assume_unique)
        only1 = ufuncs.logical_and(first1, ufuncs.logical_not(_isin_sorted(s1, s2)))
        only2 = ufuncs.logical_and(first2, ufuncs.logical_not(_isin_sorted(s2, s1)))
        # Sort the kept values first (key 0), in order of value; the dropped ones follow.
        dropped = convert(ufuncs.logical_not(concatenate([only1, only2])), dtypes.int8)
        dropped, merged = sorting.sort_p.bind(
            dropped, concatenate([s1, s2]), dimension=0, num_keys=2
        )
        return merged, ufuncs.equal(dropped, 0)

    inputs = (asarray(ar1, fname=fname), asarray(ar2, fname=fname))
    (merged, keep), size, padded = _sized(size, stage1, inputs, fname, "the number of elements")
    return _compact(merged, keep, size, padded, fill_value)[0]


# --- index conversions ----------------------------------------------------------------


def _index_modes(mode: Any, ndim: int, fname: str) -> list[str]:
    modes = [mode] * ndim if isinstance(mode, str) else list(mode)
    if len(modes) != ndim:
        raise ValueError(
            f"{fname}: mode must be a string or one per dimension ({ndim}), got {mode!r}"
        )
    for m in modes:
        if m not in ("raise", "wrap", "clip"):
            raise ValueError(f"{fname}: mode must be 'raise', 'wrap' or 'clip', got {m!r}")
    return modes


def _any_out_of_range(idx: Any, lo: int, hi: int) -> bool:
    """True if a concrete ``idx`` has an entry outside ``[lo, hi)``; False if traced."""
    if type(idx) is not Array or idx.size == 0:
        return False

    def check(i):
        bad = ufuncs.logical_or(ufuncs.less(i, lo), ufuncs.greater_equal(i, hi))
        return bool(reductions.reduce_or_p.bind1(ravel(bad), axes=(0,)))

    return _eager(check, idx)


def ravel_multi_index(multi_index, dims, mode="raise", order="C"):
    """Flat indices into an array of shape ``dims`` from a tuple of index arrays.

    ``mode`` (one, or one per dimension): ``"raise"`` (out-of-range indices raise
    ValueError on concrete values; traced ones cannot be checked and are clipped),
    ``"wrap"`` or ``"clip"``. ``dims`` is static.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.ravel_multi_index((fnp.array([0, 1]), fnp.array([2, 0])), (2, 3)).tolist()
        [2, 3]
    """
    fname = _fn("ravel_multi_index")
    dims = _static_ints(dims, fname, "dims")
    if len(multi_index) != len(dims):
        raise ValueError(
            f"{fname}: multi_index has {len(multi_index)} index arrays for {len(dims)} dims"
        )
    indices = [_int_indices(i, fname, "multi_index") for i in multi_index]
    modes = _index_modes(mode, len(dims), fname)
    if order not in ("C", "F"):
        raise ValueError(f"{fname}: order must be 'C' or 'F', got {order!r}")
    shape = broadcast_shapes_cached(fname, *(i.shape for i in indices))
    out = None
    stride = 1
    axes = range(len(dims) - 1, -1, -1) if order == "C" else range(len(dims))
    for d in axes:
        n, m = dims[d], modes[d]
        if m == "raise" and _any_out_of_range(indices[d], 0, n):
            raise ValueError(
                f"{fname}: invalid entry in coordinates array: index out of range for "
                f"dimension {d} of size {n}"
            )
        idx = convert(indices[d], _INT)
        if m == "wrap":
            idx = ufuncs.remainder(idx, n) if n else idx
        else:
            idx = ufuncs.clip(idx, 0, max(n - 1, 0))
        term = ufuncs.multiply(idx, stride) if stride != 1 else idx
        out = term if out is None else ufuncs.add(out, term)
        stride *= n
    if out is None:
        return _full(shape, 0, _INT)
    return broadcast_to_shape(out, shape)


def unravel_index(indices, shape, order="C"):
    """The multi-indices, into an array of ``shape``, of flat ``indices``: a tuple of
    int64 arrays shaped like ``indices``. ``shape`` is static.

    Out-of-range indices raise ValueError on concrete values; traced ones cannot be
    checked and are clipped to ``[0, size - 1]``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> [i.tolist() for i in fnp.unravel_index(fnp.array([5, 1]), (2, 3))]
        [[1, 0], [2, 1]]
    """
    fname = _fn("unravel_index")
    dims = _static_ints(shape, fname, "shape")
    idx = _int_indices(indices, fname)
    if order not in ("C", "F"):
        raise ValueError(f"{fname}: order must be 'C' or 'F', got {order!r}")
    total = int(np.prod(dims, dtype=np.int64))
    if _any_out_of_range(idx, 0, total):
        raise ValueError(
            f"{fname}: an index is out of bounds for an array of size {total} (shape {dims})"
        )
    if total == 0:
        return tuple(_full(idx.shape, 0, _INT) for _ in dims)
    idx = ufuncs.clip(convert(idx, _INT), 0, total - 1)
    if order == "C":
        return tuple(_unravel(idx, dims)) if dims else ()
    return tuple(_unravel(idx, dims[::-1])[::-1]) if dims else ()


def _host_indices(arrays: tuple) -> tuple:
    return tuple(from_host(a.astype(np.int64)) for a in arrays)


def _triangle(n: int, k: int, m: int | None, lower: bool, fname: str) -> tuple:
    n = _static_int(n, fname, "n")
    k = _static_int(k, fname, "k")
    m = n if m is None else _static_int(m, fname, "m")
    offset = np.arange(m)[None, :] - np.arange(n)[:, None]  # column - row, a static mask
    return _host_indices(np.nonzero(offset <= k if lower else offset >= k))


def tril_indices(n, k=0, m=None):
    """Row and column indices of the lower triangle (on and below diagonal ``k``) of an
    ``(n, m)`` array.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> [i.tolist() for i in fnp.tril_indices(2)]
        [[0, 1, 1], [0, 0, 1]]
    """
    return _triangle(n, k, m, True, _fn("tril_indices"))


def triu_indices(n, k=0, m=None):
    """Row and column indices of the upper triangle (on and above diagonal ``k``) of an
    ``(n, m)`` array.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> [i.tolist() for i in fnp.triu_indices(2)]
        [[0, 0, 1], [0, 1, 1]]
    """
    return _triangle(n, k, m, False, _fn("triu_indices"))


def _shape_of_2d(arr: Any, fname: str) -> tuple[int, int]:
    shape = np.shape(arr) if not is_array(arr) else arr.shape
    if len(shape) != 2:
        raise ValueError(f"{fname}: the input must be 2-D, got shape {shape}")
    return shape


def tril_indices_from(arr, k=0):
    """:func:`tril_indices` for the shape of the 2-D ``arr``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> [i.tolist() for i in fnp.tril_indices_from(fnp.zeros((2, 3)), k=-1)]
        [[1], [0]]
    """
    n, m = _shape_of_2d(arr, _fn("tril_indices_from"))
    return tril_indices(n, k, m)


def triu_indices_from(arr, k=0):
    """:func:`triu_indices` for the shape of the 2-D ``arr``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> [i.tolist() for i in fnp.triu_indices_from(fnp.zeros((2, 3)), k=2)]
        [[0], [2]]
    """
    n, m = _shape_of_2d(arr, _fn("triu_indices_from"))
    return triu_indices(n, k, m)


def diag_indices(n, ndim=2):
    """Indices of the main diagonal of an ``(n,) * ndim`` array: ``ndim`` copies of ``arange(n)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> [i.tolist() for i in fnp.diag_indices(2)]
        [[0, 1], [0, 1]]
    """
    fname = _fn("diag_indices")
    line = _iota(_static_int(n, fname, "n"))
    return (line,) * _static_int(ndim, fname, "ndim")


def diag_indices_from(arr):
    """:func:`diag_indices` for ``arr``, whose dimensions (at least 2) must all be equal.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> len(fnp.diag_indices_from(fnp.zeros((3, 3, 3))))
        3
    """
    fname = _fn("diag_indices_from")
    shape = np.shape(arr) if not is_array(arr) else arr.shape
    if len(shape) < 2:
        raise ValueError(f"{fname}: the input must be at least 2-D, got shape {shape}")
    if len(set(shape)) != 1:
        raise ValueError(f"{fname}: all dimensions of the input must be equal, got shape {shape}")
    return diag_indices(shape[0], len(shape))


def ix_(*args):
    """Open-mesh index arrays from 1-D sequences: ``x[ix_(rows, cols)]`` is the
    cross product of ``rows`` and ``cols``. Boolean sequences become the positions of
    their true entries (which needs concrete values).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> [i.shape for i in fnp.ix_([0, 1], [2, 3, 4])]
        [(2, 1), (1, 3)]
    """
    fname = _fn("ix_")
    out = []
    for k, seq in enumerate(args):
        a = asarray(seq, fname=fname)
        if a.size == 0 and not is_array(seq):
            a = convert(a, _INT)  # an empty list indexes nothing, as integers
        if a.ndim != 1:
            raise ValueError(f"{fname}: cross index must be 1-D, argument {k} has shape {a.shape}")
        if dtypes.is_bool(a.dtype):
            a = nonzero(a)[0]
        shape = [1] * len(args)
        shape[k] = a.shape[0]
        out.append(structural.reshape_p.bind1(a, new_sizes=tuple(shape)))
    return tuple(out)


__all__ = [
    "argwhere",
    "compress",
    "diag_indices",
    "diag_indices_from",
    "extract",
    "flatnonzero",
    "intersect1d",
    "isin",
    "ix_",
    "nonzero",
    "ravel_multi_index",
    "select",
    "setdiff1d",
    "setxor1d",
    "take",
    "take_along_axis",
    "tril_indices",
    "tril_indices_from",
    "triu_indices",
    "triu_indices_from",
    "union1d",
    "unique",
    "unique_all",
    "unique_counts",
    "unique_inverse",
    "unique_values",
    "unravel_index",
]
