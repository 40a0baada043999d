"""NumPy's index helper objects for funcgrad.numpy: ``mgrid``, ``ogrid``, ``r_``, ``c_``,
``s_`` and ``index_exp``.

``mgrid``/``ogrid`` build coordinate grids from static slices (a complex step ``5j``
means "5 points, end included", as ``linspace``); ``r_``/``c_`` concatenate slices,
scalars and arrays along an axis with NumPy's directive strings (``"0,2,1"``); ``s_``
and ``index_exp`` are NumPy's own (they only build index tuples).
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from funcgrad._src.numpy import base as fnp
from funcgrad._src.numpy.util import asarray

__all__ = ["c_", "index_exp", "mgrid", "ogrid", "r_", "s_"]

s_ = np.s_
index_exp = np.index_exp


def _static(v: Any, name: str) -> Any:
    if v is None or isinstance(v, (int, float, complex, np.number)):
        return v
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(f"funcgrad.numpy.{name}: slice bounds must be static numbers, got "
                        f"{type(v).__name__}")  # fmt: skip


def _slice_to_array(sl: slice, name: str) -> Any:
    start, stop, step = (_static(v, name) for v in (sl.start, sl.stop, sl.step))
    start = 0 if start is None else start
    if isinstance(step, complex):
        num = int(abs(step))
        return fnp.linspace(start, stop, num)
    if stop is None:
        raise ValueError(f"funcgrad.numpy.{name}: a slice needs a stop value")
    step = 1 if step is None else step
    return fnp.arange(start, stop, step)


class _Grid:
    """``mgrid`` (dense) or ``ogrid`` (sparse): coordinate grids from slices."""

    def __init__(self, sparse: bool, name: str):
        self.sparse = sparse
        self.name = name

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            return _slice_to_array(key, self.name)
        axes = [_slice_to_array(k, self.name) for k in key]
        if not axes:
            return fnp.zeros((0,), np.int64)
        dt = fnp.result_type(*axes)
        axes = [a.astype(dt) for a in axes]
        grids = fnp.meshgrid(*axes, indexing="ij", sparse=self.sparse)
        return list(grids) if self.sparse else fnp.stack(grids)

    def __repr__(self) -> str:
        return f"funcgrad.numpy.{self.name}"


mgrid = _Grid(False, "mgrid")
mgrid.__doc__ = """A dense coordinate grid from slices, as ``numpy.mgrid``.

Examples:
    >>> import funcgrad.numpy as fnp
    >>> fnp.mgrid[0:2, 0:3].tolist()
    [[[0, 0, 0], [1, 1, 1]], [[0, 1, 2], [0, 1, 2]]]
    >>> fnp.mgrid[0:1:3j].tolist()
    [0.0, 0.5, 1.0]
"""
ogrid = _Grid(True, "ogrid")
ogrid.__doc__ = """An open (broadcastable) coordinate grid from slices, as ``numpy.ogrid``.

Examples:
    >>> import funcgrad.numpy as fnp
    >>> [g.shape for g in fnp.ogrid[0:2, 0:3]]
    [(2, 1), (1, 3)]
"""


class _Concatenator:
    """``r_`` / ``c_``: concatenation of slices, scalars and arrays, NumPy's rules."""

    def __init__(self, name: str, axis: int, ndmin: int, trans1d: int):
        self.name, self.axis, self.ndmin, self.trans1d = name, axis, ndmin, trans1d

    def __getitem__(self, key: Any) -> Any:
        fname = f"funcgrad.numpy.{self.name}"
        key = key if isinstance(key, tuple) else (key,)
        axis, ndmin, trans1d = self.axis, self.ndmin, self.trans1d
        objs, kinds = [], []
        for k, item in enumerate(key):
            if isinstance(item, str):
                if k != 0:
                    raise ValueError(f"{fname}: a directive string must come first")
                if item in ("r", "c"):
                    raise NotImplementedError(
                        f"{fname}: the 'r' and 'c' directives make NumPy matrices, which "
                        f"funcgrad does not have; use fnp.atleast_2d / reshape instead"
                    )
                try:
                    parts = [int(p) for p in item.split(",")]
                except ValueError:
                    raise ValueError(f"{fname}: unknown directive {item!r}") from None
                axis = parts[0]
                if len(parts) > 1:
                    ndmin = parts[1]
                if len(parts) > 2:
                    trans1d = parts[2]
                continue
            if isinstance(item, slice):
                obj = _slice_to_array(item, self.name)
                item_ndim = 1
                kinds.append(obj)
            elif isinstance(item, (bool, int, float, complex)):
                obj = asarray(item)
                item_ndim = 0
                kinds.append(item)  # Python scalars are weak in the promotion
            else:
                obj = asarray(item, fname=fname)
                item_ndim = obj.ndim
                kinds.append(obj)
            if obj.ndim < ndmin:
                obj = obj.reshape((1,) * (ndmin - obj.ndim) + obj.shape)
                if trans1d != -1 and item_ndim < ndmin:
                    # NumPy: the item's own axes go to position trans1d among the new ones
                    k2 = ndmin - item_ndim
                    k1 = trans1d + k2 + 1 if trans1d < 0 else trans1d
                    order = list(range(ndmin))
                    obj = fnp.transpose(obj, order[:k1] + order[k2:] + order[k1:k2])
            objs.append(obj)
        if not objs:
            return fnp.zeros((0,), np.float64)
        dt = fnp.result_type(*kinds)
        return fnp.concatenate([o.astype(dt) for o in objs], axis=axis)

    def __len__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return f"funcgrad.numpy.{self.name}"


r_ = _Concatenator("r_", axis=0, ndmin=1, trans1d=-1)
r_.__doc__ = """Concatenation along the first axis of slices (as ``arange``/``linspace``),
scalars and arrays, as ``numpy.r_`` (directive strings ``"axis,ndmin,trans1d"`` too).

Examples:
    >>> import funcgrad.numpy as fnp
    >>> fnp.r_[fnp.asarray([1, 2]), 0, 4:6].tolist()
    [1, 2, 0, 4, 5]
    >>> fnp.r_["0,2", [1, 2], [3, 4]].tolist()
    [[1, 2], [3, 4]]
"""
c_ = _Concatenator("c_", axis=-1, ndmin=2, trans1d=0)
c_.__doc__ = """Concatenation along the last axis, 1-D inputs as columns, as ``numpy.c_``.

Examples:
    >>> import funcgrad.numpy as fnp
    >>> fnp.c_[fnp.asarray([1, 2]), fnp.asarray([3, 4])].tolist()
    [[1, 3], [2, 4]]
"""
