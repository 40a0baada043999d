"""``funcgrad.lax`` slicing with dynamic starts and XLA-style gather/scatter (JAX's names).

``dynamic_slice`` and ``dynamic_update_slice`` (and their ``_in_dim``/``index`` forms)
bind the dynamic slicing primitives. ``gather`` and the ``scatter*`` family take JAX's
``GatherDimensionNumbers``/``ScatterDimensionNumbers`` and are compositions: each operand
axis gets one integer index array (window start + offset, broadcast over the batch of
indices), so they lower to one NumPy-style integer-array gather or scatter and inherit
its derivatives, batching and jit support.

Out-of-bounds handling follows JAX's ``mode``: ``"clip"`` (or ``"promise_in_bounds"``)
clamps each window into the operand; ``"fill"``/``"drop"``/``None`` (the default, as in
JAX) fills a gather window that does not fit with ``fill_value`` and drops a scatter
window that does not fit.
"""

from __future__ import annotations

import enum
import operator
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from funcgrad._src.core import Tracer, get_aval, is_array_like
from funcgrad._src.lax import slicing as _slicing

__all__ = [
    "GatherDimensionNumbers", "GatherScatterMode", "ScatterDimensionNumbers",
    "dynamic_index_in_dim", "dynamic_slice", "dynamic_slice_in_dim", "dynamic_update_index_in_dim",
    "dynamic_update_slice", "dynamic_update_slice_in_dim", "gather", "index_in_dim", "index_take",
    "scatter", "scatter_add", "scatter_apply", "scatter_max", "scatter_min", "scatter_mul",
    "scatter_sub",
]  # fmt: skip


def _fnp():
    import funcgrad.numpy as fnp  # lax modules load before funcgrad.numpy

    return fnp


def _as_array(x: Any, fname: str) -> Any:
    if is_array_like(x):
        return x
    return _fnp().asarray(x)


# --- dynamic slices -----------------------------------------------------------------------


def _start(fname: str, s: Any, n: int, k: int, allow_negative: bool) -> Any:
    """One start index as a primitive operand; negative starts wrapped when allowed."""
    if not is_array_like(s):
        if isinstance(s, (bool, np.bool_)) or not hasattr(s, "__index__"):
            raise TypeError(f"funcgrad.lax.{fname}: start index {k} must be an integer, got {s!r:.40}")
        s = operator.index(s)
        if allow_negative and s < 0:
            s += n
        return np.int64(s)
    if get_aval(s).shape != () or get_aval(s).dtype.kind not in "iu":
        raise TypeError(
            f"funcgrad.lax.{fname}: start index {k} must be a 0-d integer, got "
            f"{get_aval(s).str_short()}"
        )
    if allow_negative and get_aval(s).dtype.kind == "i":
        s = _fnp().where(s < 0, s + n, s)
    return s


def _starts(fname: str, start_indices: Any, shape: tuple, allow_negative: Any) -> list:
    if is_array_like(start_indices) or isinstance(start_indices, np.ndarray):
        arr = _as_array(start_indices, fname)
        if arr.ndim != 1:
            raise TypeError(
                f"funcgrad.lax.{fname}: start_indices must be a sequence of scalars or a 1-D "
                f"array, got shape {arr.shape}"
            )
        items = [arr[i] for i in range(arr.shape[0])]
    else:
        items = list(start_indices)
    if len(items) != len(shape):
        raise ValueError(
            f"funcgrad.lax.{fname}: got {len(items)} start indices for an operand of shape "
            f"{shape}; pass one per axis"
        )
    flags = (
        [bool(allow_negative)] * len(shape)
        if isinstance(allow_negative, (bool, np.bool_))
        else list(allow_negative)
    )
    return [_start(fname, s, n, k, f) for k, (s, n, f) in enumerate(zip(items, shape, flags))]


def dynamic_slice(operand, start_indices, slice_sizes, *, allow_negative_indices=True):
    """The block of ``operand`` of shape ``slice_sizes`` starting at ``start_indices``.

    The starts may be traced. As in JAX, a negative start counts from the end (unless
    ``allow_negative_indices=False``) and each start is then clamped so that the block
    lies inside the operand.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> x = fnp.arange(10)
        >>> lax.dynamic_slice(x, (fnp.asarray(3),), (4,)).tolist()
        [3, 4, 5, 6]
        >>> lax.dynamic_slice(x, (8,), (4,)).tolist()  # clamped to fit
        [6, 7, 8, 9]
    """
    operand = _as_array(operand, "dynamic_slice")
    starts = _starts("dynamic_slice", start_indices, operand.shape, allow_negative_indices)
    sizes = tuple(operator.index(k) for k in slice_sizes)
    return _bind1("dynamic_slice", _slicing.dynamic_slice_p, operand, *starts, slice_sizes=sizes)


def dynamic_update_slice(operand, update, start_indices, *, allow_negative_indices=True):
    """``operand`` with the block at ``start_indices`` replaced by ``update``.

    Starts are wrapped (negative) and clamped as in :func:`dynamic_slice`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.dynamic_update_slice(fnp.zeros(5), fnp.ones(2), (1,)).tolist()
        [0.0, 1.0, 1.0, 0.0, 0.0]
    """
    operand = _as_array(operand, "dynamic_update_slice")
    update = _as_array(update, "dynamic_update_slice")
    starts = _starts("dynamic_update_slice", start_indices, operand.shape, allow_negative_indices)
    return _bind1("dynamic_update_slice", _slicing.dynamic_update_slice_p, operand, update, *starts)


def _axis(fname: str, axis: Any, ndim: int) -> int:
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(
            f"funcgrad.lax.{fname}: axis={axis} is out of bounds for an operand of rank {ndim}"
        )
    return axis % ndim


def dynamic_slice_in_dim(operand, start_index, slice_size, axis=0, *, allow_negative_indices=True):
    """:func:`dynamic_slice` along one ``axis`` (the others are taken whole).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.dynamic_slice_in_dim(fnp.arange(6).reshape(2, 3), 1, 2, axis=1).tolist()
        [[1, 2], [4, 5]]
    """
    operand = _as_array(operand, "dynamic_slice_in_dim")
    axis = _axis("dynamic_slice_in_dim", axis, operand.ndim)
    starts = [0] * operand.ndim
    starts[axis] = start_index
    sizes = list(operand.shape)
    sizes[axis] = slice_size
    flags = [False] * operand.ndim
    flags[axis] = allow_negative_indices
    return dynamic_slice(operand, starts, sizes, allow_negative_indices=flags)


def dynamic_update_slice_in_dim(operand, update, start_index, axis, *, allow_negative_indices=True):
    """:func:`dynamic_update_slice` at ``start_index`` along one ``axis`` (0 elsewhere).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.dynamic_update_slice_in_dim(fnp.zeros(4), fnp.ones(1), 2, 0).tolist()
        [0.0, 0.0, 1.0, 0.0]
    """
    operand = _as_array(operand, "dynamic_update_slice_in_dim")
    axis = _axis("dynamic_update_slice_in_dim", axis, operand.ndim)
    starts = [0] * operand.ndim
    starts[axis] = start_index
    flags = [False] * operand.ndim
    flags[axis] = allow_negative_indices
    return dynamic_update_slice(operand, update, starts, allow_negative_indices=flags)


def dynamic_index_in_dim(operand, index, axis=0, keepdims=True, *, allow_negative_indices=True):
    """The ``index``-th entry along ``axis`` (a traced index is fine); ``keepdims`` keeps
    the axis with size 1.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.dynamic_index_in_dim(fnp.arange(6).reshape(3, 2), -1, keepdims=False).tolist()
        [4, 5]
    """
    out = dynamic_slice_in_dim(operand, index, 1, axis, allow_negative_indices=allow_negative_indices)
    if keepdims:
        return out
    axis = _axis("dynamic_index_in_dim", axis, out.ndim)
    return out.reshape(out.shape[:axis] + out.shape[axis + 1 :])


def dynamic_update_index_in_dim(operand, update, index, axis, *, allow_negative_indices=True):
    """``operand`` with its ``index``-th entry along ``axis`` replaced by ``update`` (which
    may lack that axis).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.dynamic_update_index_in_dim(fnp.zeros((3, 2)), fnp.ones(2), 1, 0).tolist()
        [[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
    """
    operand = _as_array(operand, "dynamic_update_index_in_dim")
    update = _as_array(update, "dynamic_update_index_in_dim")
    axis = _axis("dynamic_update_index_in_dim", axis, operand.ndim)
    if update.ndim == operand.ndim - 1:
        update = update.reshape(update.shape[:axis] + (1,) + update.shape[axis:])
    return dynamic_update_slice_in_dim(
        operand, update, index, axis, allow_negative_indices=allow_negative_indices
    )


def index_in_dim(operand, index, axis=0, keepdims=True):
    """The static ``index``-th entry along ``axis`` (negative counts from the end).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.index_in_dim(fnp.arange(6).reshape(2, 3), 1, axis=1).tolist()
        [[1], [4]]
    """
    operand = _as_array(operand, "index_in_dim")
    axis = _axis("index_in_dim", axis, operand.ndim)
    n = operand.shape[axis]
    index = operator.index(index)
    if not -n <= index < n:
        raise IndexError(
            f"funcgrad.lax.index_in_dim: index {index} is out of bounds for axis {axis} of "
            f"size {n}"
        )
    index %= n
    key = (slice(None),) * axis + (slice(index, index + 1) if keepdims else index,)
    return operand[key]


def _bind1(fname: str, prim, *args, **params):
    from funcgrad._src.lax.wrappers import _bind1 as bind1

    return bind1(fname, prim, *args, **params)


# --- XLA gather / scatter -----------------------------------------------------------------


class GatherScatterMode(enum.Enum):
    """How ``gather``/``scatter`` treat windows that do not fit in the operand."""

    CLIP = "clip"
    FILL_OR_DROP = "fill"
    PROMISE_IN_BOUNDS = "promise_in_bounds"
    ONE_HOT = "one_hot"

    @staticmethod
    def from_any(mode: Any) -> GatherScatterMode:
        if isinstance(mode, GatherScatterMode):
            return mode
        if mode is None or mode in ("fill", "drop"):
            return GatherScatterMode.FILL_OR_DROP
        if mode == "clip":
            return GatherScatterMode.CLIP
        if mode == "promise_in_bounds":
            return GatherScatterMode.PROMISE_IN_BOUNDS
        raise ValueError(
            f"funcgrad.lax: unknown gather/scatter mode {mode!r}; use 'clip', 'fill', 'drop' "
            f"or 'promise_in_bounds'"
        )


class GatherDimensionNumbers(NamedTuple):
    """How the axes of ``operand``, ``start_indices`` and the output of :func:`gather` relate.

    ``start_indices`` has the index vector on its last axis; its other axes are the batch
    axes. ``offset_dims``: output positions of the window axes (the operand axes that are
    neither collapsed nor batching, in order); ``collapsed_slice_dims``: operand axes of
    window size 1 that are dropped; ``start_index_map``: the operand axis each index
    vector entry starts; ``operand_batching_dims``/``start_indices_batching_dims``: operand
    axes indexed in lockstep with batch axes of the indices.
    """

    offset_dims: tuple[int, ...]
    collapsed_slice_dims: tuple[int, ...]
    start_index_map: tuple[int, ...]
    operand_batching_dims: tuple[int, ...] = ()
    start_indices_batching_dims: tuple[int, ...] = ()


class ScatterDimensionNumbers(NamedTuple):
    """How the axes of ``operand``, ``scatter_indices`` and ``updates`` of a scatter relate.

    ``update_window_dims``: the axes of ``updates`` that are window axes;
    ``inserted_window_dims``: operand axes of window size 1 absent from the updates;
    ``scatter_dims_to_operand_dims``: the operand axis each index vector entry starts;
    the batching fields as in :class:`GatherDimensionNumbers`.
    """

    update_window_dims: tuple[int, ...]
    inserted_window_dims: tuple[int, ...]
    scatter_dims_to_operand_dims: tuple[int, ...]
    operand_batching_dims: tuple[int, ...] = ()
    scatter_indices_batching_dims: tuple[int, ...] = ()


def _window_indices(fname, operand_shape, indices, index_map, batching_dims,
                    indices_batching_dims, slice_sizes, window_axes, mode):  # fmt: skip
    """Per operand axis, an integer index array of shape ``batch + window`` (broadcastable)
    of the clamped windows; the mask (shape ``batch``) of windows that do not fit (None
    when clipping); and the clamped start of each indexed axis."""
    fnp = _fnp()
    batch_shape = indices.shape[:-1]
    nb, nw = len(batch_shape), len(window_axes)
    idx, oob, starts = [], None, {}
    for d, n in enumerate(operand_shape):
        size = slice_sizes[d]
        if d in index_map:
            s = indices[..., index_map.index(d)].astype(np.int64)
            if mode is GatherScatterMode.FILL_OR_DROP:
                bad = (s < 0) | (s > n - size)
                oob = bad if oob is None else oob | bad
            s = fnp.clip(s, 0, max(n - size, 0))
            s = s.reshape(batch_shape + (1,) * nw)
            starts[d] = s
        elif d in batching_dims:
            b = indices_batching_dims[batching_dims.index(d)]
            shape = [1] * (nb + nw)
            shape[b] = batch_shape[b]
            s = fnp.arange(batch_shape[b], dtype=np.int64).reshape(shape)
        else:
            s = np.zeros((1,) * (nb + nw), np.int64)
        if d in window_axes:
            shape = [1] * (nb + nw)
            shape[nb + window_axes.index(d)] = size
            s = s + fnp.arange(size, dtype=np.int64).reshape(shape)
        idx.append(fnp.asarray(s))
    return idx, oob, starts


def _check_indices(fname, indices, n_map):
    if indices.dtype.kind not in "iu":
        raise TypeError(f"funcgrad.lax.{fname}: indices must be integers, got {indices.dtype}")
    if indices.ndim < 1 or indices.shape[-1] != n_map:
        raise ValueError(
            f"funcgrad.lax.{fname}: the last axis of the indices (shape {indices.shape}) is the "
            f"index vector and must have {n_map} entries, one per entry of the index map"
        )


def _default_fill(dtype: np.dtype):
    if dtype.kind in "fc":
        return np.nan
    if dtype.kind == "b":
        return True
    info = np.iinfo(dtype)
    return info.min if dtype.kind == "i" else info.max


def gather(operand, start_indices, dimension_numbers, slice_sizes, *, unique_indices=False,
           indices_are_sorted=False, mode=None, fill_value=None):  # fmt: skip
    """XLA's gather: windows of ``operand`` of ``slice_sizes`` at each index vector.

    See :class:`GatherDimensionNumbers` for the axis bookkeeping. ``unique_indices`` and
    ``indices_are_sorted`` are accepted for JAX compatibility and change nothing.
    ``fill_value`` (mode ``"fill"``) defaults as in JAX: NaN for inexact dtypes, the
    most negative value for signed, the largest for unsigned integers, True for bools.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> x = fnp.arange(12.0).reshape(3, 4)
        >>> dn = lax.GatherDimensionNumbers(offset_dims=(1,), collapsed_slice_dims=(0,),
        ...                                 start_index_map=(0,))
        >>> lax.gather(x, fnp.asarray([[2], [0]]), dn, (1, 4)).tolist()  # rows 2 and 0
        [[8.0, 9.0, 10.0, 11.0], [0.0, 1.0, 2.0, 3.0]]
    """
    del unique_indices, indices_are_sorted
    fnp = _fnp()
    operand = _as_array(operand, "gather")
    indices = _as_array(start_indices, "gather")
    dn = GatherDimensionNumbers(*(tuple(v) for v in dimension_numbers))
    mode = GatherScatterMode.from_any(mode)
    _check_indices("gather", indices, len(dn.start_index_map))
    sizes = tuple(operator.index(k) for k in slice_sizes)
    if len(sizes) != operand.ndim or any(not 0 <= k <= n for k, n in zip(sizes, operand.shape)):
        raise ValueError(
            f"funcgrad.lax.gather: slice_sizes {sizes} must have one entry per axis of the "
            f"operand of shape {operand.shape}, each at most that axis' size"
        )
    dropped = set(dn.collapsed_slice_dims) | set(dn.operand_batching_dims)
    if any(sizes[d] != 1 for d in dropped):
        raise ValueError(
            f"funcgrad.lax.gather: collapsed and batching axes {sorted(dropped)} must have "
            f"slice size 1, got slice_sizes {sizes}"
        )
    window_axes = tuple(d for d in range(operand.ndim) if d not in dropped)
    if len(window_axes) != len(dn.offset_dims):
        raise ValueError(
            f"funcgrad.lax.gather: offset_dims {dn.offset_dims} must name one output axis per "
            f"window axis of the operand ({window_axes})"
        )
    idx, oob, _ = _window_indices(
        "gather", operand.shape, indices, dn.start_index_map, dn.operand_batching_dims,
        dn.start_indices_batching_dims, sizes, window_axes, mode,
    )  # fmt: skip
    out = operand[tuple(idx)] if idx else fnp.broadcast_to(operand, indices.shape[:-1])
    out = fnp.broadcast_to(out, indices.shape[:-1] + tuple(sizes[d] for d in window_axes))
    nb = indices.ndim - 1
    if oob is not None:
        fill = _default_fill(operand.dtype) if fill_value is None else fill_value
        mask = oob.reshape(oob.shape + (1,) * len(window_axes))
        out = fnp.where(mask, fnp.asarray(fill, dtype=operand.dtype), out)
    # window axes go to offset_dims, batch axes fill the other output positions in order
    rank = nb + len(window_axes)
    perm, b, w = [], iter(range(nb)), iter(range(nb, rank))
    offsets = set(dn.offset_dims)
    for p in range(rank):
        perm.append(next(w) if p in offsets else next(b))
    return fnp.transpose(out, perm) if perm != list(range(rank)) else out


_SCATTER_OPS = {
    "scatter": "set", "scatter_add": "add", "scatter_mul": "multiply", "scatter_min": "min",
    "scatter_max": "max",
}  # fmt: skip


def _scatter(fname, operand, scatter_indices, updates, dimension_numbers, mode, op):
    fnp = _fnp()
    operand = _as_array(operand, fname)
    indices = _as_array(scatter_indices, fname)
    updates = _as_array(updates, fname)
    dn = ScatterDimensionNumbers(*(tuple(v) for v in dimension_numbers))
    mode = GatherScatterMode.from_any(mode)
    _check_indices(fname, indices, len(dn.scatter_dims_to_operand_dims))
    dropped = set(dn.inserted_window_dims) | set(dn.operand_batching_dims)
    window_axes = tuple(d for d in range(operand.ndim) if d not in dropped)
    scatter_dims = tuple(d for d in range(updates.ndim) if d not in dn.update_window_dims)
    batch_shape = indices.shape[:-1]
    if (len(window_axes) != len(dn.update_window_dims)
            or tuple(updates.shape[d] for d in scatter_dims) != batch_shape):  # fmt: skip
        raise ValueError(
            f"funcgrad.lax.{fname}: updates of shape {updates.shape} do not match "
            f"{dn}: their non-window axes must be the index batch shape {batch_shape} and "
            f"their window axes one per operand axis in {window_axes}"
        )
    sizes = [1] * operand.ndim
    for d, u in zip(window_axes, dn.update_window_dims):
        sizes[d] = updates.shape[u]
    if any(k > n for k, n in zip(sizes, operand.shape)):
        raise ValueError(
            f"funcgrad.lax.{fname}: windows of size {tuple(sizes)} do not fit in the operand "
            f"of shape {operand.shape}"
        )
    updates = fnp.transpose(updates, scatter_dims + tuple(dn.update_window_dims))
    idx, oob, starts = _window_indices(
        fname, operand.shape, indices, dn.scatter_dims_to_operand_dims, dn.operand_batching_dims,
        dn.scatter_indices_batching_dims, sizes, window_axes, mode,
    )  # fmt: skip
    target = operand
    if oob is not None:
        # a dropped window is redirected into padding past the end, which is then cut off
        indexed = set(dn.scatter_dims_to_operand_dims)
        target = fnp.pad(operand, [(0, sizes[d] if d in indexed else 0) for d in range(operand.ndim)])
        mask = oob.reshape(oob.shape + (1,) * len(window_axes))
        idx = [fnp.where(mask, i - starts[d] + operand.shape[d], i) if d in indexed else i
               for d, i in enumerate(idx)]  # fmt: skip
    updates = updates.astype(operand.dtype)
    ref = target.at[tuple(idx)]
    out = op(ref, updates)
    if oob is not None:
        out = out[tuple(slice(0, n) for n in operand.shape)]
    return out


def _make_scatter(fname: str, method: str, doc_example: str) -> Callable:
    def fn(operand, scatter_indices, updates, dimension_numbers, *, indices_are_sorted=False,
           unique_indices=False, mode=None):  # fmt: skip
        del indices_are_sorted, unique_indices
        return _scatter(fname, operand, scatter_indices, updates, dimension_numbers, mode,
                        lambda ref, u: getattr(ref, method)(u))  # fmt: skip

    fn.__name__ = fn.__qualname__ = fname
    fn.__doc__ = (
        f"XLA's scatter, combining with ``{method}``: ``updates`` written into ``operand``.\n\n"
        f"    See :class:`ScatterDimensionNumbers`. Repeated indices {'combine' if method != 'set' else 'leave the last write'}; "
        f"windows that do not fit are dropped\n    (mode ``'fill'``/``'drop'``, the default) "
        f"or clamped (``'clip'``).\n\n    Examples:\n{doc_example}"
    )
    return fn


_EX = """        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> dn = lax.ScatterDimensionNumbers(update_window_dims=(), inserted_window_dims=(0,),
        ...                                  scatter_dims_to_operand_dims=(0,))
        >>> lax.{name}(fnp.ones(4), fnp.asarray([[1], [3], [9]]), fnp.full(3, 5.0), dn).tolist()
        {result}
"""
scatter = _make_scatter("scatter", "set", _EX.format(name="scatter", result="[1.0, 5.0, 1.0, 5.0]"))
scatter_add = _make_scatter("scatter_add", "add", _EX.format(name="scatter_add", result="[1.0, 6.0, 1.0, 6.0]"))
scatter_mul = _make_scatter("scatter_mul", "multiply", _EX.format(name="scatter_mul", result="[1.0, 5.0, 1.0, 5.0]"))
scatter_min = _make_scatter("scatter_min", "min", _EX.format(name="scatter_min", result="[1.0, 1.0, 1.0, 1.0]"))
scatter_max = _make_scatter("scatter_max", "max", _EX.format(name="scatter_max", result="[1.0, 5.0, 1.0, 5.0]"))


def scatter_sub(operand, scatter_indices, updates, dimension_numbers, *, indices_are_sorted=False,
                unique_indices=False, mode=None):  # fmt: skip
    """:func:`scatter_add` of ``-updates``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> dn = lax.ScatterDimensionNumbers((), (0,), (0,))
        >>> lax.scatter_sub(fnp.ones(3), fnp.asarray([[1]]), fnp.asarray([2.0]), dn).tolist()
        [1.0, -1.0, 1.0]
    """
    return scatter_add(operand, scatter_indices, -_as_array(updates, "scatter_sub"),
                       dimension_numbers, mode=mode)  # fmt: skip


def scatter_apply(operand, scatter_indices, func, dimension_numbers, *, update_shape=(),
                  indices_are_sorted=False, unique_indices=False, mode=None):  # fmt: skip
    """``operand`` with ``func`` applied (elementwise) to the windows at ``scatter_indices``.

    The windows are gathered, ``func`` is applied, and the results are scattered back;
    an element named by several indices gets ``func`` applied once (JAX applies it once
    per index: the two agree when indices are unique).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> dn = lax.ScatterDimensionNumbers((), (0,), (0,))
        >>> lax.scatter_apply(fnp.arange(4.0), fnp.asarray([[1], [2]]), fnp.exp, dn,
        ...                   update_shape=(2,)).round(3).tolist()
        [0.0, 2.718, 7.389, 3.0]
    """
    del indices_are_sorted, unique_indices
    fnp = _fnp()
    operand = _as_array(operand, "scatter_apply")
    dn = ScatterDimensionNumbers(*(tuple(v) for v in dimension_numbers))
    dropped = set(dn.inserted_window_dims) | set(dn.operand_batching_dims)
    window_axes = tuple(d for d in range(operand.ndim) if d not in dropped)
    scatter_dims = tuple(d for d in range(len(update_shape)) if d not in dn.update_window_dims)
    sizes = [1] * operand.ndim
    for d, u in zip(window_axes, dn.update_window_dims):
        sizes[d] = update_shape[u]
    gdn = GatherDimensionNumbers(
        offset_dims=dn.update_window_dims, collapsed_slice_dims=dn.inserted_window_dims,
        start_index_map=dn.scatter_dims_to_operand_dims,
        operand_batching_dims=dn.operand_batching_dims,
        start_indices_batching_dims=dn.scatter_indices_batching_dims,
    )  # fmt: skip
    del scatter_dims
    values = gather(operand, scatter_indices, gdn, sizes, mode="clip")
    return scatter(operand, scatter_indices, fnp.asarray(func(values)), dn, mode=mode)


def index_take(src, idxs, axes):
    """``src`` indexed along ``axes`` by the integer arrays ``idxs`` (one per axis, of one
    shape); the result has the index shape followed by the remaining axes.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> x = fnp.arange(12).reshape(3, 4)
        >>> lax.index_take(x, (fnp.asarray([2, 0]),), (0,)).tolist()
        [[8, 9, 10, 11], [0, 1, 2, 3]]
    """
    fnp = _fnp()
    src = _as_array(src, "index_take")
    axes = tuple(_axis("index_take", a, src.ndim) for a in axes)
    if len(idxs) != len(axes):
        raise ValueError(
            f"funcgrad.lax.index_take: got {len(idxs)} index arrays for {len(axes)} axes"
        )
    indices = fnp.stack([fnp.asarray(i) for i in idxs], axis=-1)
    rest = tuple(d for d in range(src.ndim) if d not in axes)
    nb = indices.ndim - 1
    dn = GatherDimensionNumbers(
        offset_dims=tuple(range(nb, nb + len(rest))), collapsed_slice_dims=axes,
        start_index_map=axes,
    )  # fmt: skip
    sizes = [1 if d in axes else src.shape[d] for d in range(src.ndim)]
    return gather(src, indices, dn, sizes, mode="clip")


del Tracer, Sequence
