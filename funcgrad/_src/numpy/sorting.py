"""Sorting of funcgrad.numpy: sort, argsort, lexsort, partition, top_k and searchsorted.

All sorts are stable (equal keys keep their order) and put NaN last, as NumPy's
do; ``kind`` is accepted and ignored. argsort sorts the values together with an
iota of positions through the multi-operand ``sort`` primitive. Descending order
(the array API's ``descending=True``) is the exact reverse of the ascending order
of the reversed input, so it is stable too and puts NaN first.
"""

from __future__ import annotations

import operator
from typing import Any

from funcgrad._src import dtypes
from funcgrad._src.core import Array, Tracer
from funcgrad._src.lax import indexing as lax_indexing
from funcgrad._src.lax import sorting as lax_sorting
from funcgrad._src.lax import structural
from funcgrad._src.lax.indexing import ArrayIndex, IndexSlice
from funcgrad._src.numpy import ufuncs
from funcgrad._src.numpy.util import asarray, canonicalize_axis, convert

_int64 = dtypes.int64


def _fname(name: str) -> str:
    return f"funcgrad.numpy.{name}"


# --- helpers -------------------------------------------------------------------------


def _ravel(x: Any) -> Any:
    if x.ndim == 1:
        return x
    return structural.reshape_p.bind1(x, new_sizes=(x.size,))


def _flip(x: Any, axis: int) -> Any:
    """``x`` reversed along ``axis`` (a basic-indexing gather with step -1)."""
    if x.shape[axis] <= 1:
        return x
    indexer = (IndexSlice(None, None, None),) * axis + (IndexSlice(None, None, -1),)
    return lax_indexing.gather_p.bind1(x, indexer=indexer)


def _slice(x: Any, axis: int, start: int | None, stop: int | None) -> Any:
    """``x[..., start:stop, ...]`` along ``axis``."""
    indexer = (IndexSlice(None, None, None),) * axis + (IndexSlice(start, stop, None),)
    return lax_indexing.gather_p.bind1(x, indexer=indexer)


def _iota(shape: tuple[int, ...], axis: int) -> Any:
    return structural.iota_p.bind1(dtype=_int64, shape=tuple(shape), dimension=axis)


def _check_order(order: Any, fname: str) -> None:
    if order is not None:
        raise ValueError(
            f"{fname}: order= sorts structured arrays by field, and funcgrad arrays have "
            f"no fields; use lexsort for several keys"
        )


def _prepare(a: Any, axis: Any, fname: str) -> tuple[Any, int]:
    x = asarray(a, fname=fname)
    if axis is None:
        return _ravel(x), 0
    return x, canonicalize_axis(axis, x.ndim, fname)


def _argsort_ascending(x: Any, axis: int) -> Any:
    return lax_sorting.sort_p.bind(x, _iota(x.shape, axis), dimension=axis, num_keys=1)[1]


def _argsort_descending(x: Any, axis: int) -> Any:
    # Sort the reversed input and reverse the result: equal keys then keep their
    # original order (stable), and positions are mapped back with n - 1 - i.
    n = x.shape[axis]
    perm = _flip(_argsort_ascending(_flip(x, axis), axis), axis)
    return ufuncs.subtract(n - 1, perm)


# --- public functions ----------------------------------------------------------------


def sort(a, axis=-1, kind=None, order=None, *, stable=None, descending=False):
    """``a`` sorted along ``axis`` (None: flattened first); stable, NaN last.

    ``kind`` and ``stable`` are accepted for NumPy and array API compatibility: every
    sort is stable. ``descending=True`` (the array API's) sorts largest first, NaN first.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.sort(fnp.asarray([[3, 1, 2], [0, 5, 4]])).tolist()
        [[1, 2, 3], [0, 4, 5]]
        >>> fnp.sort(fnp.asarray([2.0, float("nan"), 1.0])).tolist()
        [1.0, 2.0, nan]
        >>> fnp.sort(fnp.asarray([2, 3, 1]), descending=True).tolist()
        [3, 2, 1]
    """
    del kind, stable
    fname = _fname("sort")
    _check_order(order, fname)
    x, ax = _prepare(a, axis, fname)
    out = lax_sorting.sort_p.bind1(x, dimension=ax, num_keys=1)
    return _flip(out, ax) if descending else out


def argsort(a, axis=-1, kind=None, order=None, *, stable=None, descending=False):
    """Indices that sort ``a`` along ``axis`` (None: the flattened array), as int64.

    Stable: equal elements keep their original order, also with ``descending=True``
    (largest first), as the array API requires. NaN sorts last (first if descending).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.argsort(fnp.asarray([3, 1, 3, 0])).tolist()
        [3, 1, 0, 2]
        >>> fnp.argsort(fnp.asarray([3, 1, 3, 0]), descending=True).tolist()
        [0, 2, 1, 3]
    """
    del kind, stable
    fname = _fname("argsort")
    _check_order(order, fname)
    x, ax = _prepare(a, axis, fname)
    return _argsort_descending(x, ax) if descending else _argsort_ascending(x, ax)


def top_k(operand, k):
    """The ``k`` largest entries along the last axis and their indices, largest first.

    Like ``jax.lax.top_k``: returns ``(values, indices)``, each of shape
    ``operand.shape[:-1] + (k,)``; among equal values the lower index comes first,
    and NaN counts as larger than every number.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> values, indices = fnp.top_k(fnp.asarray([1.0, 4.0, 2.0, 4.0]), 3)
        >>> values.tolist(), indices.tolist()
        ([4.0, 4.0, 2.0], [1, 3, 2])
    """
    fname = _fname("top_k")
    x = asarray(operand, fname=fname)
    if x.ndim == 0:
        raise ValueError(f"{fname}: operand must have at least one dimension, got a 0-d array")
    try:
        k = operator.index(k)
    except TypeError:
        raise TypeError(f"{fname}: k must be a static int, got {k!r}") from None
    ax = x.ndim - 1
    n = x.shape[ax]
    if not 0 <= k <= n:
        raise ValueError(f"{fname}: k={k} is out of range for a last axis of size {n}")
    # Descending stable sort: sort the reversed operand, then reverse.
    values, perm = lax_sorting.sort_p.bind(
        _flip(x, ax), _iota(x.shape, ax), dimension=ax, num_keys=1
    )
    values = _slice(_flip(values, ax), ax, None, k)
    indices = ufuncs.subtract(n - 1, _slice(_flip(perm, ax), ax, None, k))
    return values, indices


def lexsort(keys, axis=-1):
    """Indices that sort by several keys: the *last* key is the primary one (NumPy's rule).

    ``keys`` is a sequence of arrays of one shape, or an array whose first axis
    enumerates the keys. Stable.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> surnames = fnp.asarray([2, 1, 2, 1])
        >>> first_names = fnp.asarray([0, 1, 1, 0])
        >>> fnp.lexsort((first_names, surnames)).tolist()
        [3, 1, 0, 2]
    """
    fname = _fname("lexsort")
    if isinstance(keys, (list, tuple)):
        keys = [asarray(k, fname=fname) for k in keys]
    else:
        arr = asarray(keys, fname=fname)
        if arr.ndim == 0:
            raise TypeError(
                f"{fname}: keys must be a sequence of arrays or an array, got a 0-d array"
            )
        keys = [lax_indexing.gather_p.bind1(arr, indexer=(i,)) for i in range(arr.shape[0])]
    if not keys:
        raise TypeError(f"{fname}: need at least one key")
    shape = keys[0].shape
    if any(k.shape != shape for k in keys):
        raise ValueError(f"{fname}: all keys need one shape, got {[k.shape for k in keys]}")
    if len(shape) == 0:
        return asarray(0, _int64)  # NumPy: sorting 0-d keys gives index 0
    ax = canonicalize_axis(axis, len(shape), fname)
    primary_first = keys[::-1]
    outs = lax_sorting.sort_p.bind(*primary_first, _iota(shape, ax), dimension=ax,
                                   num_keys=len(keys))  # fmt: skip
    return outs[-1]


def _check_kth(kth: Any, n: int, fname: str) -> None:
    if isinstance(kth, Tracer) and kth.concrete_value() is None:
        return  # a traced kth cannot be checked; every kth is valid for a full sort
    values = kth.tolist() if type(kth) is Array else kth
    for k in values if isinstance(values, (list, tuple)) else [values]:
        try:
            k = operator.index(k)
        except TypeError:
            raise TypeError(f"{fname}: kth must be integers, got {kth!r}") from None
        if not -n <= k < n:
            raise ValueError(f"{fname}: kth={k} is out of bounds for an axis of size {n}")


def partition(a, kth, axis=-1, kind="introselect", order=None):
    """``a`` partitioned around the ``kth`` element(s) along ``axis``.

    funcgrad sorts fully, which satisfies the contract (element ``kth`` is where a sort
    puts it, smaller ones before, larger after) but may order the other elements
    differently from NumPy's introselect.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.partition(fnp.asarray([3, 4, 2, 1]), 2)[2].item()
        3
    """
    del kind
    fname = _fname("partition")
    _check_order(order, fname)
    x, ax = _prepare(a, axis, fname)
    _check_kth(kth, x.shape[ax] if x.ndim else 0, fname)
    return lax_sorting.sort_p.bind1(x, dimension=ax, num_keys=1)


def argpartition(a, kth, axis=-1, kind="introselect", order=None):
    """Indices that partition ``a`` around ``kth``: a full stable :func:`argsort` (see
    :func:`partition`).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.argpartition(fnp.asarray([3, 4, 2, 1]), 0)[0].item()
        3
    """
    del kind
    fname = _fname("argpartition")
    _check_order(order, fname)
    x, ax = _prepare(a, axis, fname)
    _check_kth(kth, x.shape[ax] if x.ndim else 0, fname)
    return _argsort_ascending(x, ax)


def searchsorted(a, v, side="left", sorter=None):
    """Indices where ``v`` would be inserted into sorted 1-D ``a`` to keep it sorted.

    ``side='left'`` gives the first suitable position, ``'right'`` the last; ``sorter``
    is an argsort of an unsorted ``a``. Comparison happens in the common dtype of
    ``a`` and ``v`` (a Python scalar ``v`` counts as int64/float64, as in NumPy); NaN
    sorts last. Returns int64 of ``v``'s shape.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.searchsorted(fnp.asarray([1, 2, 2, 3]), fnp.asarray([2, 5])).tolist()
        [1, 4]
        >>> fnp.searchsorted(fnp.asarray([1, 2, 2, 3]), 2, side="right").item()
        3
    """
    fname = _fname("searchsorted")
    a = asarray(a, fname=fname)
    if a.ndim != 1:
        raise ValueError(f"{fname}: a must be 1-D, got shape {a.shape}")
    if side not in ("left", "right"):
        raise ValueError(f"{fname}: side must be 'left' or 'right', got {side!r}")
    if sorter is not None:
        sorter = asarray(sorter, fname=fname)
        if not dtypes.is_integer(sorter.dtype) or sorter.shape != a.shape:
            raise ValueError(
                f"{fname}: sorter must be an integer array of a's shape {a.shape}, got "
                f"{sorter.dtype} of shape {sorter.shape}"
            )
        a = lax_indexing.gather_p.bind1(a, sorter, indexer=(ArrayIndex(0),))
    # Unlike ufuncs, NumPy's searchsorted types a Python scalar strongly (int64,
    # float64...), so that it is compared exactly rather than rounded to a's dtype.
    v = asarray(v, fname=fname)
    dt = dtypes.promote_types(a.dtype, v.dtype)
    return lax_sorting.searchsorted_p.bind1(convert(a, dt), convert(v, dt), side=side, dtype=_int64)


__all__ = [
    "argpartition", "argsort", "lexsort", "partition", "searchsorted", "sort", "top_k",
]  # fmt: skip
