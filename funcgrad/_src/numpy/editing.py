"""Functional versions of NumPy's array-editing functions: ``append``/``insert``/``delete``,
``put``/``put_along_axis``/``fill_diagonal``/``place``, ``choose``, ``resize``,
``rollaxis``, ``sort_complex`` and ``mask_indices``.

Arrays are immutable, so each returns a new array. NumPy's in-place functions (``put``,
``put_along_axis``, ``fill_diagonal``, ``place``) take ``inplace=False`` as JAX's do; their
default ``inplace=True`` raises a ``ValueError`` saying so. Index arguments that decide
the output shape (``insert``/``delete``'s ``obj``, ``place``'s mask) must be concrete;
NumPy itself computes the index maps, so its index semantics and errors are kept. The
results are gathers and scatters, hence differentiable in the array values.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from funcgrad._src.core import Tracer, concrete_or_error
from funcgrad._src.numpy import base as fnp
from funcgrad._src.numpy.util import asarray, canonicalize_axis, is_array, static_axis

__all__ = [
    "append", "choose", "delete", "fill_diagonal", "insert", "mask_indices", "place", "put",
    "put_along_axis", "resize", "rollaxis", "sort_complex",
]  # fmt: skip


def _fn(name: str) -> str:
    return f"funcgrad.numpy.{name}"


def _axis(axis: Any, ndim: int, name: str) -> int:
    return canonicalize_axis(axis, ndim, _fn(name))


def _static_index(obj: Any, name: str) -> Any:
    """``obj`` (a slice, int, or index array) as something NumPy can index with."""
    if isinstance(obj, slice):
        return obj
    if isinstance(obj, Tracer) or is_array(obj):
        obj = np.asarray(concrete_or_error(asarray(obj), _fn(name), "the output shape",
                                           "pass obj as a static Python int, list or slice"))  # fmt: skip
    elif isinstance(obj, (list, tuple)) and any(isinstance(o, Tracer) for o in obj):
        raise TypeError(f"{_fn(name)}: obj must be concrete (it fixes the output shape)")
    return obj


def _numpy_index_map(name: str, fn, *args) -> np.ndarray:
    try:
        return fn(*args)
    except (IndexError, ValueError, TypeError) as e:
        raise type(e)(f"{_fn(name)}: {e}") from None


def append(arr, values, axis=None):
    """``arr`` with ``values`` appended along ``axis`` (both flattened if ``axis`` is None).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.append(fnp.asarray([1, 2]), fnp.asarray([[3], [4]])).tolist()
        [1, 2, 3, 4]
    """
    arr, values = asarray(arr, fname=_fn("append")), asarray(values, fname=_fn("append"))
    if axis is None:
        return fnp.concatenate([fnp.ravel(arr), fnp.ravel(values)])
    return fnp.concatenate([arr, values], axis=axis)


def delete(arr, obj, axis=None, *, assume_unique_indices=False):
    """``arr`` without the entries ``obj`` (an int, slice, index list or boolean mask) along
    ``axis`` (flattened if ``axis`` is None), as NumPy's ``delete``.

    ``obj`` fixes the output shape, so it must be concrete. ``assume_unique_indices`` is
    accepted for JAX compatibility; repeated indices delete once, as in NumPy.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.delete(fnp.asarray([1, 2, 3, 4]), [0, 2]).tolist()
        [2, 4]
    """
    del assume_unique_indices
    arr = asarray(arr, fname=_fn("delete"))
    if axis is None:
        arr, axis = fnp.ravel(arr), 0
    axis = _axis(axis, arr.ndim, "delete")
    keep = _numpy_index_map("delete", np.delete, np.arange(arr.shape[axis]),
                            _static_index(obj, "delete"))  # fmt: skip
    return fnp.take(arr, asarray(keep.astype(np.int64)), axis=axis)


def insert(arr, obj, values, axis=None):
    """``arr`` with ``values`` inserted before the indices ``obj`` along ``axis`` (flattened
    if ``axis`` is None), with NumPy's rules for a scalar ``obj`` (all of ``values``
    inserted there) and for a sequence (one value per index, broadcasting).

    ``obj`` must be concrete; ``values`` may be traced and are cast to ``arr``'s dtype.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.insert(fnp.asarray([1, 2, 3]), 1, fnp.asarray([8, 9])).tolist()
        [1, 8, 9, 2, 3]
    """
    fname = _fn("insert")
    arr = asarray(arr, fname=fname)
    values = asarray(values, fname=fname).astype(arr.dtype)
    if axis is None:
        arr, axis = fnp.ravel(arr), 0
    axis = _axis(axis, arr.ndim, "insert")
    n = arr.shape[axis]
    obj = _static_index(obj, "insert")
    if isinstance(obj, slice):
        idx = np.arange(*obj.indices(n))
    else:
        idx = np.asarray(obj)
        if idx.dtype == np.bool_ or idx.dtype.kind not in "iu":
            raise IndexError(f"{fname}: obj must be integer indices or a slice, got dtype "
                             f"{idx.dtype}")  # fmt: skip
    if idx.size == 1:
        # NumPy: a single index inserts every value there; a scalar index treats the
        # leading axis of values as the insertion axis.
        vals = values.reshape((1,) * (arr.ndim - values.ndim) + values.shape)
        if idx.ndim == 0:
            vals = fnp.moveaxis(vals, 0, axis)
        numnew = vals.shape[axis]
    else:
        vals, numnew = values, idx.size
    target = list(arr.shape)
    target[axis] = numnew
    try:
        vals = fnp.broadcast_to(vals, tuple(target))
    except ValueError:
        raise ValueError(f"{fname}: values of shape {values.shape} cannot be broadcast to "
                         f"{tuple(target)} (arr {arr.shape}, {numnew} insertions along axis "
                         f"{axis})") from None  # fmt: skip
    marks = -1 - np.arange(numnew)  # the new entries, in value order
    if idx.size == 1:
        index_obj = int(idx.reshape(-1)[0])
        index_obj = index_obj if idx.ndim == 0 else [index_obj]
    else:
        index_obj = idx
    order = _numpy_index_map("insert", np.insert, np.arange(n), index_obj, marks)
    order = np.where(order < 0, n + (-1 - order), order)
    return fnp.take(fnp.concatenate([arr, vals], axis=axis), asarray(order.astype(np.int64)),
                    axis=axis)  # fmt: skip


def _refuse_inplace(name: str, inplace: Any) -> None:
    if inplace:
        raise ValueError(
            f"{_fn(name)} cannot modify arrays in place: funcgrad arrays are immutable. "
            f"Pass inplace=False to get the updated array back"
        )


def _cycle(values: Any, n: int, dtype: Any) -> Any:
    """The flattened ``values`` repeated cyclically to length ``n`` (NumPy's put/place)."""
    v = fnp.ravel(asarray(values)).astype(dtype)
    if v.shape[0] == 0:
        raise ValueError("values must not be empty")
    if v.shape[0] != n:
        v = fnp.tile(v, -(-n // v.shape[0]))[:n]
    return v


def _flat_indices(ind: Any, size: int, mode: Any, name: str) -> tuple[Any, bool]:
    """Indices into a flat array of ``size`` by NumPy's ``mode``; returns whether
    out-of-range ones must be dropped."""
    ind = fnp.ravel(asarray(ind, fname=_fn(name)))
    if ind.dtype.kind not in "iu":
        raise TypeError(f"{_fn(name)}: indices must be integers, got dtype {ind.dtype}")
    ind = ind.astype(np.int64)
    if mode == "clip":
        return fnp.clip(ind, 0, size - 1), False
    if mode == "wrap":
        return ind % size, False
    if mode == "raise":
        value = np.asarray(concrete_or_error(ind, _fn(name), "an index bounds check",
                                             "use mode='clip', 'wrap' or None (drop)"))  # fmt: skip
        bad = value[(value < -size) | (value >= size)]
        if bad.size:
            raise IndexError(f"{_fn(name)}: index {int(bad[0])} is out of bounds for size {size}")
        return fnp.where(ind < 0, ind + size, ind), False
    if mode is None or mode in ("drop", "fill"):
        return fnp.where(ind < 0, ind + size, ind), True
    raise ValueError(f"{_fn(name)}: mode must be None, 'raise', 'wrap' or 'clip', got {mode!r}")


def _set_flat(flat: Any, ind: Any, vals: Any, drop: bool) -> Any:
    if not drop:
        return flat.at[ind].set(vals)
    size = flat.shape[0]
    # out-of-range writes go to one extra slot that is cut off afterwards
    ind = fnp.where((ind < 0) | (ind >= size), size, ind)
    padded = fnp.concatenate([flat, fnp.zeros((1,), flat.dtype)])
    return padded.at[ind].set(vals)[:size]


def put(a, ind, v, mode=None, *, inplace=True):
    """``a`` with the flat positions ``ind`` set to ``v`` (repeated cyclically), NumPy's
    ``put`` made functional: pass ``inplace=False``.

    ``mode``: None (out-of-range indices are dropped, JAX's default), ``"clip"``,
    ``"wrap"``, or ``"raise"`` (checks concrete indices). Where ``ind`` repeats an index,
    which value wins is unspecified.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.put(fnp.zeros(4), fnp.asarray([0, 2]), 5.0, inplace=False).tolist()
        [5.0, 0.0, 5.0, 0.0]
    """
    _refuse_inplace("put", inplace)
    a = asarray(a, fname=_fn("put"))
    ind, drop = _flat_indices(ind, a.size, mode, "put")
    if ind.shape[0] == 0 or fnp.size(v) == 0:
        return a
    vals = _cycle(v, ind.shape[0], a.dtype)
    return _set_flat(fnp.ravel(a), ind, vals, drop).reshape(a.shape)


def put_along_axis(arr, indices, values, axis, inplace=True, mode=None):
    """``arr`` with the entries ``take_along_axis(arr, indices, axis)`` picks replaced by
    ``values`` (broadcast), NumPy's ``put_along_axis`` made functional: pass
    ``inplace=False``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> x = fnp.asarray([[10, 30, 20], [60, 40, 50]])
        >>> fnp.put_along_axis(x, fnp.asarray([[1], [0]]), 0, axis=1, inplace=False).tolist()
        [[10, 0, 20], [0, 40, 50]]
    """
    _refuse_inplace("put_along_axis", inplace)
    fname = _fn("put_along_axis")
    arr = asarray(arr, fname=fname)
    idx = asarray(indices, fname=fname)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{fname}: indices must be integers, got dtype {idx.dtype}")
    if axis is None:
        if idx.ndim != 1:
            raise ValueError(f"{fname}: with axis=None, indices must be 1-D, got {idx.shape}")
        flat = put_along_axis(fnp.ravel(arr), idx, values, 0, inplace=False, mode=mode)
        return flat.reshape(arr.shape)
    if idx.ndim != arr.ndim:
        raise ValueError(
            f"{fname}: indices (shape {idx.shape}) and arr (shape {arr.shape}) must have the "
            f"same number of dimensions"
        )
    axis = _axis(axis, arr.ndim, "put_along_axis")
    n = arr.shape[axis]
    if mode == "clip":
        idx = fnp.clip(idx, 0, n - 1)
    elif mode == "wrap":
        idx = idx % n
    else:
        idx = fnp.where(idx < 0, idx + n, idx)
    key = []
    for d, size in enumerate(arr.shape):
        if d == axis:
            key.append(idx)
        else:
            line = [1] * arr.ndim
            line[d] = size
            key.append(fnp.arange(size).reshape(tuple(line)))
    shape = fnp.broadcast_shapes(*(k.shape for k in key))
    vals = fnp.broadcast_to(asarray(values, fname=fname).astype(arr.dtype), shape)
    return arr.at[tuple(key)].set(vals)


def fill_diagonal(a, val, wrap=False, *, inplace=True):
    """``a`` with its main diagonal set to ``val`` (repeated cyclically), NumPy's
    ``fill_diagonal`` made functional: pass ``inplace=False``.

    For 2-D ``a`` taller than wide, ``wrap=True`` restarts the diagonal every
    ``ncols + 1`` rows, as NumPy. More than 2 dims need all sizes equal.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.fill_diagonal(fnp.zeros((2, 3)), 7.0, inplace=False).tolist()
        [[7.0, 0.0, 0.0], [0.0, 7.0, 0.0]]
    """
    _refuse_inplace("fill_diagonal", inplace)
    fname = _fn("fill_diagonal")
    a = asarray(a, fname=fname)
    if a.ndim < 2:
        raise ValueError(f"{fname}: array must be at least 2-D, got shape {a.shape}")
    if a.ndim > 2 and len(set(a.shape)) != 1:
        raise ValueError(f"{fname}: all dimensions of input must be of equal length, got "
                         f"{a.shape}")  # fmt: skip
    if a.ndim == 2:
        step = a.shape[1] + 1
        end = a.size if wrap else min(a.size, a.shape[1] * a.shape[1])
    else:
        step = 1 + int(np.sum(np.cumprod(a.shape[:-1])))
        end = a.size
    pos = np.arange(0, end, step)
    if pos.size == 0:
        return a
    vals = _cycle(val, pos.size, a.dtype)
    return fnp.ravel(a).at[asarray(pos)].set(vals).reshape(a.shape)


def place(arr, mask, vals, *, inplace=True):
    """``arr`` with the positions where ``mask`` is true set to ``vals`` in order
    (repeated cyclically), NumPy's ``place`` made functional: pass ``inplace=False``.

    ``mask`` must be concrete (it decides how many values are used); ``vals`` may be
    traced.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> x = fnp.arange(5)
        >>> fnp.place(x, x > 2, fnp.asarray([-1, -2]), inplace=False).tolist()
        [0, 1, 2, -1, -2]
    """
    _refuse_inplace("place", inplace)
    fname = _fn("place")
    arr = asarray(arr, fname=fname)
    m = np.asarray(concrete_or_error(asarray(mask, fname=fname), fname, "the masked positions",
                                     "use fnp.where(mask, values, arr)"))  # fmt: skip
    if m.size != arr.size:
        raise ValueError(f"{fname}: mask (shape {m.shape}) must have the same size as arr "
                         f"(shape {arr.shape})")  # fmt: skip
    pos = np.flatnonzero(m.reshape(-1))
    if pos.size == 0:
        return arr
    vals = _cycle(vals, pos.size, arr.dtype)
    return fnp.ravel(arr).at[asarray(pos)].set(vals).reshape(arr.shape)


def choose(a, choices, out=None, mode="raise"):
    """``choices[a[i]][i]`` for every position ``i`` (all broadcast together), NumPy's
    ``choose``.

    ``mode``: ``"raise"`` (concrete ``a`` only: checks the range), ``"wrap"`` or
    ``"clip"`` (work under ``jit``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.choose(fnp.asarray([0, 1, 0]), [fnp.asarray([1, 2, 3]), 10]).tolist()
        [1, 10, 3]
    """
    fname = _fn("choose")
    if out is not None:
        raise TypeError(f"{fname}: out= is not supported (arrays are immutable)")
    a = asarray(a, fname=fname)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{fname}: a must be an integer array, got dtype {a.dtype}")
    choices = [asarray(c, fname=fname) for c in choices]
    if not choices:
        raise ValueError(f"{fname}: choices must not be empty")
    n = len(choices)
    if mode == "raise":
        value = np.asarray(concrete_or_error(a, fname, "an index range check",
                                             "use mode='wrap' or mode='clip'"))  # fmt: skip
        if value.size and (value.min() < 0 or value.max() >= n):
            raise ValueError(f"{fname}: invalid entry in choice array (must be in [0, {n}))")
    elif mode == "wrap":
        a = a % n
    elif mode == "clip":
        a = fnp.clip(a, 0, n - 1)
    else:
        raise ValueError(f"{fname}: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    dt = fnp.result_type(*choices)
    arrays = fnp.broadcast_arrays(a, *[c.astype(dt) for c in choices])
    stacked = fnp.stack(arrays[1:])
    return fnp.take_along_axis(stacked, arrays[0][None].astype(np.int64), axis=0)[0]


def resize(a, new_shape):
    """An array of ``new_shape`` filled with ``a``'s flattened entries, repeated as often as
    needed (NumPy's ``resize``; an empty ``a`` gives zeros).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.resize(fnp.asarray([1, 2, 3]), (2, 2)).tolist()
        [[1, 2], [3, 1]]
    """
    a = fnp.ravel(asarray(a, fname=_fn("resize")))
    shape = (operator.index(new_shape),) if np.ndim(new_shape) == 0 else tuple(
        operator.index(d) for d in new_shape)  # fmt: skip
    if any(d < 0 for d in shape):
        raise ValueError(f"{_fn('resize')}: all elements of new_shape must be non-negative, "
                         f"got {shape}")  # fmt: skip
    size = int(np.prod(shape, dtype=np.int64))
    if a.shape[0] == 0 or size == 0:
        return fnp.zeros(shape, a.dtype)
    return fnp.tile(a, -(-size // a.shape[0]))[:size].reshape(shape)


def rollaxis(a, axis, start=0):
    """``a`` with ``axis`` moved to sit before position ``start`` (NumPy's ``rollaxis``;
    prefer ``moveaxis``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.rollaxis(fnp.zeros((3, 4, 5)), 2).shape
        (5, 3, 4)
    """
    a = asarray(a, fname=_fn("rollaxis"))
    n = a.ndim
    axis = _axis(axis, n, "rollaxis")
    start = static_axis(start, _fn("rollaxis"), "start")
    if not -n <= start <= n:
        raise np.exceptions.AxisError(f"{_fn('rollaxis')}: start={start} is out of range "
                                      f"for an array of dimension {n}")  # fmt: skip
    start = start + n if start < 0 else start
    if axis < start:
        start -= 1
    return fnp.moveaxis(a, axis, start)


def sort_complex(a):
    """``a`` sorted lexicographically (real part, then imaginary part) along its last axis,
    as a complex array (NumPy's ``sort_complex``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.sort_complex(fnp.asarray([3, 1, 2])).tolist()
        [(1+0j), (2+0j), (3+0j)]
    """
    a = asarray(a, fname=_fn("sort_complex"))
    a = fnp.sort(a)
    if a.dtype.kind != "c":
        small = a.dtype.kind in "iu" and a.dtype.itemsize <= 2  # NumPy: 'bhBH' -> complex64
        a = a.astype(np.complex64 if small else np.complex128)
    return a


def mask_indices(n, mask_func, k=0, *, size=None):
    """The indices ``(rows, cols)`` where ``mask_func(ones((n, n)), k)`` is nonzero, e.g.
    ``mask_indices(3, fnp.triu)``; ``size`` fixes their count under ``jit``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> [i.tolist() for i in fnp.mask_indices(2, fnp.triu)]
        [[0, 0, 1], [0, 1, 1]]
    """
    m = mask_func(fnp.ones((n, n), np.int64), k)
    return fnp.nonzero(m, size=size)
