"""NumPy indexing for funcgrad arrays: ``x[key]`` and the functional ``x.at[key]`` updates.

A key is split into a static indexer and integer-array operands (see
``funcgrad._src.lax.indexing``): ints, slices, ``None`` and ``...`` are static,
integer arrays become gather operands, and boolean masks become the integer
arrays of their nonzero positions (which needs the mask's concrete value: under
``jit`` use ``fnp.where`` or ``nonzero(size=...)`` instead).
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.core import Tracer, array_from_buffer, concrete_or_error
from funcgrad._src.lax import indexing as lax_indexing
from funcgrad._src.lax.indexing import ArrayIndex, IndexSlice
from funcgrad._src.numpy.util import (
    asarray,
    broadcast_to_shape,
    convert,
    is_array,
    operand,
)


def _static_int(v: Any, what: str) -> int | None:
    if v is None:
        return None
    if isinstance(v, Tracer) and v.concrete_value() is None:
        raise IndexError(
            f"array indexing: {what} is a traced value ({v!r}); slice bounds must be "
            f"static. Use funcgrad.lax.dynamic_slice for traced offsets, or mark the "
            f"argument static (static_argnums)"
        )
    try:
        return operator.index(v)
    except TypeError:
        raise IndexError(f"array indexing: {what} must be an integer or None, got {v!r}") from None


def parse_index(key: Any, fname: str = "array indexing", shape: tuple | None = None):
    """Split a NumPy index into (static indexer, list of integer-array operands).

    With ``shape`` (that of the indexed array), boolean masks are checked against the
    axes they index: NumPy raises IndexError when a mask is shorter or longer than its
    axis, and so does funcgrad, rather than selecting from a prefix.
    """
    if not isinstance(key, tuple):
        key = (key,)
    entries = [_convert_entry(k, fname) for k in key]
    if shape is not None:
        _check_masks(entries, shape, fname)
    indexer: list = []
    operands: list = []
    for k in entries:
        t = type(k)
        if k is None or k is Ellipsis or t is IndexSlice or t is bool or t is int:
            indexer.append(k)
        elif dtypes.is_bool(k.dtype):
            _append_mask(k, indexer, operands, fname)
        else:
            operands.append(k)
            indexer.append(ArrayIndex(len(operands) - 1))
    return tuple(indexer), operands


def _convert_entry(k: Any, fname: str) -> Any:
    """One index entry as None, Ellipsis, an IndexSlice, a Python bool or int, or an array."""
    t = type(k)
    if k is None or k is Ellipsis:
        return k
    if t is slice:
        step = _static_int(k.step, "a slice step")
        if step == 0:
            raise ValueError(f"{fname}: slice step cannot be zero (in {k!r})")
        return IndexSlice(
            _static_int(k.start, "a slice start"), _static_int(k.stop, "a slice stop"), step
        )
    if t is bool or t is np.bool_:
        return bool(k)
    if t is int or isinstance(k, np.integer):
        return int(k)
    if isinstance(k, (str, float, dict, set)) or (
        not is_array(k) and not isinstance(k, (list, tuple, np.ndarray, np.generic))
    ):
        raise IndexError(
            f"{fname}: only integers, slices, None, Ellipsis and integer or boolean "
            f"arrays are valid indices, got {type(k).__name__} {k!r:.40}"
        )
    arr = asarray(k, fname=fname)
    if dtypes.is_bool(arr.dtype) or dtypes.is_integer(arr.dtype):
        return arr
    if arr.size == 0 and not is_array(k):
        return convert(arr, dtypes.int64)  # NumPy accepts an empty list as an (integer) index
    raise IndexError(
        f"{fname}: index arrays must be integer or boolean, got dtype {arr.dtype}; "
        f"convert with .astype(int)"
    )


def _consumed(entry: Any) -> int:
    """How many axes of the indexed array an index entry consumes."""
    if entry is None or entry is Ellipsis or type(entry) is bool:
        return 0
    if type(entry) in (IndexSlice, int):
        return 1
    return entry.ndim if dtypes.is_bool(entry.dtype) else 1


def _check_masks(entries: list, shape: tuple, fname: str) -> None:
    """Every boolean mask must have exactly the shape of the axes it indexes."""
    if not any(type(e) not in (bool, int, IndexSlice) and e is not None and e is not Ellipsis
               and dtypes.is_bool(e.dtype) and e.ndim for e in entries):  # fmt: skip
        return
    counts = [_consumed(e) for e in entries]
    ellipsis_axes = len(shape) - sum(counts)
    axis = 0
    for entry, count in zip(entries, counts):
        if entry is Ellipsis:
            axis += max(ellipsis_axes, 0)
            continue
        if count and type(entry) not in (int, IndexSlice) and dtypes.is_bool(entry.dtype):
            covered = tuple(shape[axis : axis + count])
            if covered != tuple(entry.shape):
                raise IndexError(
                    f"{fname}: boolean index of shape {tuple(entry.shape)} does not match "
                    f"the indexed array (shape {tuple(shape)}) along "
                    + (f"axis {axis}" if count == 1 else f"axes {axis}..{axis + count - 1}")
                    + f", of shape {covered}; a mask must have "
                    f"exactly the shape of the axes it selects from"
                )
        axis += count


def _append_mask(mask: Any, indexer: list, operands: list, fname: str) -> None:
    concrete = concrete_or_error(
        mask, fname, "the shape of a boolean-mask index",
        "Under jit use fnp.where(mask, x, 0), or fnp.nonzero(mask, size=...) for a fixed size.",
    )  # fmt: skip
    if concrete.ndim == 0:
        indexer.append(bool(concrete._buffer))
        return
    backend = concrete._backend
    for positions in backend.xp.nonzero(concrete._buffer):
        operands.append(array_from_buffer(positions, backend))
        indexer.append(ArrayIndex(len(operands) - 1))


def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    return all(a in (1, b) for a, b in zip(shape[::-1], target[::-1]))


def _dtype_name(x: Any) -> str:
    dt = dtypes.dtype_of(x)
    return f"{dt.__name__} (a Python scalar)" if isinstance(dt, type) else str(dt)


def _plain_bound(v: Any) -> bool:
    return v is None or type(v) is int


_FULL_SLICE = (IndexSlice(None, None, None),)


def getitem(x: Any, key: Any) -> Any:
    """``x[key]`` with NumPy's basic and advanced indexing semantics."""
    # The most common eager indices skip the general parser.
    t = type(key)
    if t is int:
        return lax_indexing.gather_p.bind1(x, indexer=(key,))
    if (
        t is slice and _plain_bound(key.start) and _plain_bound(key.stop)
        and _plain_bound(key.step) and key.step != 0
    ):  # fmt: skip
        if key.start is None and key.stop is None and key.step is None:
            return x
        return lax_indexing.gather_p.bind1(x, indexer=(IndexSlice(key.start, key.stop, key.step),))
    indexer, operands = parse_index(key, shape=x.shape)
    if indexer == _FULL_SLICE or indexer == (Ellipsis,):
        return x
    return lax_indexing.gather_p.bind1(x, *operands, indexer=indexer)


# --- x.at[key] ------------------------------------------------------------------------

_SCATTERS = {
    "set": lax_indexing.scatter_p,
    "add": lax_indexing.scatter_add_p,
    "multiply": lax_indexing.scatter_mul_p,
    "min": lax_indexing.scatter_min_p,
    "max": lax_indexing.scatter_max_p,
}


class IndexUpdateHelper:
    """The ``x.at`` property: ``x.at[key]`` names the elements a functional update touches.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> x = fnp.zeros(4)
        >>> x.at[1].set(5.0).tolist()
        [0.0, 5.0, 0.0, 0.0]
        >>> x.at[fnp.array([0, 0, 2])].add(1.0).tolist()   # repeated indices accumulate
        [2.0, 0.0, 1.0, 0.0]
        >>> x.tolist()                                       # x itself never changes
        [0.0, 0.0, 0.0, 0.0]
    """

    __slots__ = ("array",)

    def __init__(self, array: Any):
        self.array = array

    def __getitem__(self, key: Any) -> IndexUpdateRef:
        return IndexUpdateRef(self.array, key)

    def __repr__(self) -> str:
        return f"IndexUpdateHelper({self.array!r})"


class IndexUpdateRef:
    """``x.at[key]``: methods return a new array with the elements at ``key`` updated.

    Updates broadcast to the shape of ``x[key]`` and must not need a dtype change
    of ``x`` (a float update into an int array is an error, not a silent cast).
    With repeated indices, ``add``/``multiply``/``min``/``max`` combine every
    update, ``set`` keeps the last one, and ``divide``/``power`` apply once per
    element, as NumPy's in-place operators do.
    """

    __slots__ = ("array", "key")

    def __init__(self, array: Any, key: Any):
        self.array = array
        self.key = key

    def get(self) -> Any:
        """``x[key]``."""
        return getitem(self.array, self.key)

    def set(self, values: Any) -> Any:
        """A copy of ``x`` with ``x[key] = values``."""
        return self._scatter("set", values)

    def add(self, values: Any) -> Any:
        """A copy of ``x`` with ``x[key] += values`` (repeated indices accumulate)."""
        return self._scatter("add", values)

    def multiply(self, values: Any) -> Any:
        """A copy of ``x`` with ``x[key] *= values`` (repeated indices accumulate)."""
        return self._scatter("multiply", values)

    mul = multiply

    def min(self, values: Any) -> Any:
        """A copy of ``x`` with ``x[key] = minimum(x[key], values)``."""
        return self._scatter("min", values)

    def max(self, values: Any) -> Any:
        """A copy of ``x`` with ``x[key] = maximum(x[key], values)``."""
        return self._scatter("max", values)

    def divide(self, values: Any) -> Any:
        """A copy of ``x`` with ``x[key] /= values``."""
        from funcgrad._src.numpy.ufuncs import divide

        return self._scatter("set", divide(self.get(), values), "at[].divide")

    def power(self, values: Any) -> Any:
        """A copy of ``x`` with ``x[key] **= values``."""
        from funcgrad._src.numpy.ufuncs import power

        return self._scatter("set", power(self.get(), values), "at[].power")

    def _scatter(self, mode: str, values: Any, fname: str | None = None) -> Any:
        fname = fname or f"at[].{mode}"
        x = self.array
        indexer, operands = parse_index(self.key, fname, x.shape)
        shape = lax_indexing.indexed_shape(x.aval, tuple(o.aval for o in operands), indexer, fname)
        values = operand(values, fname)
        if dtypes.result_type(x.dtype, values) != x.dtype:
            raise TypeError(
                f"{fname}: updates of dtype {_dtype_name(values)} do not fit an array of "
                f"dtype {x.dtype} without a lossy cast; cast them explicitly with "
                f".astype({x.dtype.name!r}) if that is what you want"
            )
        values = asarray(values, dtype=x.dtype, fname=fname)
        while values.ndim > len(shape) and values.shape[0] == 1:  # NumPy drops leading 1s
            values = values.reshape(values.shape[1:])
        if values.ndim > len(shape) or not _broadcasts_to(values.shape, shape):
            raise ValueError(
                f"{fname}: updates of shape {values.shape} cannot be broadcast to the indexed "
                f"shape {shape} (array of shape {x.shape})"
            )
        values = broadcast_to_shape(values, shape)
        return _SCATTERS[mode].bind1(x, values, *operands, indexer=indexer)

    def __repr__(self) -> str:
        return f"IndexUpdateRef({self.array!r}, {self.key!r})"
