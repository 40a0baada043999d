"""Shape manipulation: reshaping, transposing, joining, splitting, tiling and padding.

Every function here moves elements without computing new values, so each is a
composition of the structural primitives (reshape, transpose, broadcast_in_dim,
concatenate, pad) and of static-index gathers (``x[...]``). Shapes, axes, split
points and pad widths are static: Python values, or concrete funcgrad arrays whose
values are read (a traced one raises ConcretizationError). ``roll`` also takes a traced
shift, and ``repeat`` traced repeats when ``total_repeat_length`` is given.
"""

from __future__ import annotations

import itertools
import math
import operator
from typing import Any

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.core import (
    EVAL_TRACE,
    ConcretizationError,
    Tracer,
    concrete_or_error,
    set_current_trace,
)
from funcgrad._src.lax import reductions, sorting, structural
from funcgrad._src.numpy import ufuncs
from funcgrad._src.numpy.indexing import getitem
from funcgrad._src.numpy.util import (
    asarray,
    broadcast_to_shape,
    canonicalize_axes,
    canonicalize_axis,
    check_allocation,
    convert,
    from_host,
    is_array,
    static_axis,
)

_FULL = slice(None)
_REVERSED = slice(None, None, -1)


def _fn(name: str) -> str:
    return f"funcgrad.numpy.{name}"


def _eager(fn: Any, *concrete_args: Any) -> Any:
    """``fn(*concrete_args)`` evaluated eagerly, even inside a transformation.

    For sizes and checks that depend on values already known to be concrete:
    under a trace, operations on concrete arrays would otherwise give tracers.
    """
    with set_current_trace(EVAL_TRACE):
        return fn(*concrete_args)


def _static_int(v: Any, fname: str, argname: str) -> int:
    """``v`` as a Python int: ints, NumPy integers and concrete integer arrays of one element."""
    try:
        return operator.index(v)
    except ConcretizationError:
        raise
    except TypeError:
        raise TypeError(f"{fname}: {argname} must be an integer, got {v!r:.60}") from None


def _static_ints(v: Any, fname: str, argname: str) -> tuple[int, ...]:
    """``v`` (an int or a sequence of ints, possibly an array) as a tuple of Python ints."""
    if type(v) is tuple and all(type(e) is int for e in v):
        return v  # the common case, kept fast
    if type(v) is int:
        return (v,)
    if is_array(v):
        v = np.asarray(concrete_or_error(
            v, fname, f"the value of {argname}", f"pass {argname} as Python ints (static)."
        ))  # fmt: skip
    if isinstance(v, np.ndarray):
        if v.dtype.kind not in "iu" and v.size:
            raise TypeError(f"{fname}: {argname} must be integers, got dtype {v.dtype}")
        return tuple(int(e) for e in v.reshape(-1))
    # Axes go through the one axis check (which also refuses bools, as NumPy does).
    check = static_axis if argname in _AXIS_ARGS else _static_int
    if isinstance(v, (list, tuple)):
        return tuple(check(e, fname, argname) for e in v)
    return (check(v, fname, argname),)


_AXIS_ARGS = ("axis", "source", "destination", "axes", "axis1", "axis2")


def _reshape(x: Any, shape: tuple[int, ...]) -> Any:
    if x.shape == shape:
        return x
    return structural.reshape_p.bind1(x, new_sizes=shape)


def _transpose(x: Any, perm: tuple[int, ...]) -> Any:
    if perm == tuple(range(x.ndim)):
        return x
    return structural.transpose_p.bind1(x, permutation=perm)


def _slice_axis(x: Any, axis: int, s: slice) -> Any:
    """``x[..., s, ...]`` with ``s`` applied to ``axis``."""
    if s == _FULL:
        return x
    return getitem(x, (_FULL,) * axis + (s,))


# --- reshaping ------------------------------------------------------------------------


def _resolve_shape(shape: Any, x: Any, fname: str) -> tuple[int, ...]:
    """``shape`` with its one ``-1`` (if any) filled in; an error naming both shapes otherwise."""
    shape = _static_ints(shape, fname, "shape")
    size = x.size
    if math.prod(shape) == size and min(shape, default=0) >= 0:
        return shape
    unknown = [i for i, d in enumerate(shape) if d == -1]
    if len(unknown) > 1:
        raise ValueError(f"{fname}: can only specify one unknown dimension (-1), got shape {shape}")
    if any(d < -1 for d in shape):
        raise ValueError(f"{fname}: negative dimensions are not allowed, got shape {shape}")
    known = math.prod(d for d in shape if d != -1)
    if unknown:
        if known == 0 or size % known:
            raise ValueError(
                f"{fname}: cannot reshape an array of shape {x.shape} (size {size}) into "
                f"shape {shape}"
            )
        shape = shape[: unknown[0]] + (size // known,) + shape[unknown[0] + 1 :]
    elif known != size:
        raise ValueError(
            f"{fname}: cannot reshape an array of shape {x.shape} (size {size}) into shape "
            f"{shape} (size {known})"
        )
    return shape


def reshape(a, /, shape=None, order="C", *, newshape=None, copy=None):
    """``a`` with a new shape holding the same elements; one dimension may be ``-1``.

    ``order="F"`` reads and writes elements in Fortran order (implemented with
    transposes); ``"A"`` is ``"C"``, since funcgrad arrays are always C-ordered.
    ``newshape`` is an alias of ``shape`` (NumPy's deprecated name); ``copy`` is
    accepted and ignored, since arrays are immutable.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.reshape(fnp.array([0, 1, 2, 3, 4, 5]), (2, -1)).tolist()
        [[0, 1, 2], [3, 4, 5]]
        >>> fnp.reshape(fnp.array([0, 1, 2, 3, 4, 5]), (2, 3), order="F").tolist()
        [[0, 2, 4], [1, 3, 5]]
    """
    del copy
    fname = _fn("reshape")
    if newshape is not None:
        if shape is not None:
            raise TypeError(f"{fname}: pass shape or newshape, not both")
        shape = newshape
    if shape is None:
        raise TypeError(f"{fname}: missing the shape argument")
    a = asarray(a, fname=fname)
    shape = _resolve_shape(shape, a, fname)
    if order in ("C", "A"):
        return _reshape(a, shape)
    if order == "F":
        reversed_in = tuple(range(a.ndim))[::-1]
        out = _reshape(_transpose(a, reversed_in), shape[::-1])
        return _transpose(out, tuple(range(len(shape)))[::-1])
    raise ValueError(f"{fname}: order must be 'C', 'F' or 'A', got {order!r}")


def ravel(a, order="C"):
    """``a`` flattened to 1-D; ``order="F"`` reads it in Fortran order ("A", "K": as "C").

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.ravel(fnp.array([[1, 2], [3, 4]]), order="F").tolist()
        [1, 3, 2, 4]
    """
    fname = _fn("ravel")
    a = asarray(a, fname=fname)
    if order == "F":
        a = _transpose(a, tuple(range(a.ndim))[::-1])
    elif order not in ("C", "A", "K"):
        raise ValueError(f"{fname}: order must be 'C', 'F', 'A' or 'K', got {order!r}")
    return _reshape(a, (a.size,))


# --- transposing ----------------------------------------------------------------------


def transpose(a, axes=None):
    """``a`` with its axes permuted by ``axes`` (default: reversed).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.transpose(fnp.zeros((2, 3, 4)), (1, 0, 2)).shape
        (3, 2, 4)
    """
    fname = _fn("transpose")
    a = asarray(a, fname=fname)
    if axes is None:
        return _transpose(a, tuple(range(a.ndim))[::-1])
    axes = _static_ints(axes, fname, "axes")
    if len(axes) != a.ndim:
        raise ValueError(
            f"{fname}: axes {axes} don't match an array of shape {a.shape}: give one entry per axis"
        )
    perm = tuple(canonicalize_axis(ax, a.ndim, fname, "axes") for ax in axes)
    if len(set(perm)) != len(perm):
        raise ValueError(f"{fname}: repeated axis in axes={axes}")
    return _transpose(a, perm)


def permute_dims(a, /, axes=None):
    """The array API name of :func:`transpose`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.permute_dims(fnp.zeros((2, 3)), (1, 0)).shape
        (3, 2)
    """
    return transpose(a, axes)


def matrix_transpose(x, /):
    """``x`` with its last two axes swapped (a stack of matrices, each transposed).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.matrix_transpose(fnp.zeros((5, 2, 3))).shape
        (5, 3, 2)
    """
    x = asarray(x, fname=_fn("matrix_transpose"))
    if x.ndim < 2:
        raise ValueError(
            f"funcgrad.numpy.matrix_transpose: the input must have at least 2 dimensions, "
            f"got shape {x.shape}"
        )
    perm = tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)
    return _transpose(x, perm)


def moveaxis(a, source, destination):
    """``a`` with axes ``source`` moved to positions ``destination``; the others keep their order.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.moveaxis(fnp.zeros((2, 3, 4)), 0, -1).shape
        (3, 4, 2)
    """
    fname = _fn("moveaxis")
    a = asarray(a, fname=fname)
    src = [
        canonicalize_axis(s, a.ndim, fname, "source") for s in _static_ints(source, fname, "source")
    ]
    dst = [canonicalize_axis(d, a.ndim, fname, "destination")
           for d in _static_ints(destination, fname, "destination")]  # fmt: skip
    if len(src) != len(dst):
        raise ValueError(
            f"{fname}: source {source} and destination {destination} must have the same "
            f"number of elements"
        )
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError(f"{fname}: repeated axis in source={source} or destination={destination}")
    perm: list[int | None] = [None] * a.ndim
    for s, d in zip(src, dst):
        perm[d] = s
    rest = iter(ax for ax in range(a.ndim) if ax not in src)
    return _transpose(a, tuple(next(rest) if p is None else p for p in perm))


def swapaxes(a, axis1, axis2):
    """``a`` with axes ``axis1`` and ``axis2`` interchanged.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.swapaxes(fnp.zeros((2, 3, 4)), 0, 2).shape
        (4, 3, 2)
    """
    fname = _fn("swapaxes")
    a = asarray(a, fname=fname)
    i = canonicalize_axis(axis1, a.ndim, fname, "axis1")
    j = canonicalize_axis(axis2, a.ndim, fname, "axis2")
    perm = list(range(a.ndim))
    perm[i], perm[j] = j, i
    return _transpose(a, tuple(perm))


# --- adding and removing unit axes ----------------------------------------------------


def expand_dims(a, axis):
    """``a`` with new size-1 axes inserted at positions ``axis`` (an int or a tuple) of the result.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.expand_dims(fnp.zeros((2, 3)), (0, -1)).shape
        (1, 2, 3, 1)
    """
    fname = _fn("expand_dims")
    a = asarray(a, fname=fname)
    axes = _static_ints(axis, fname, "axis")
    out_ndim = a.ndim + len(axes)
    new = set(canonicalize_axes(list(axes), out_ndim, fname))
    dims = iter(a.shape)
    return _reshape(a, tuple(1 if i in new else next(dims) for i in range(out_ndim)))


def squeeze(a, axis=None):
    """``a`` without its size-1 axes (all of them, or those in ``axis``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.squeeze(fnp.zeros((1, 3, 1)), axis=0).shape
        (3, 1)
    """
    fname = _fn("squeeze")
    a = asarray(a, fname=fname)
    if axis is None:
        axes = tuple(i for i, d in enumerate(a.shape) if d == 1)
    else:
        axes = canonicalize_axes(list(_static_ints(axis, fname, "axis")), a.ndim, fname)
        for ax in axes:
            if a.shape[ax] != 1:
                raise ValueError(
                    f"{fname}: cannot squeeze axis {ax} of an array of shape {a.shape}: its "
                    f"size is {a.shape[ax]}, not 1"
                )
    return _reshape(a, tuple(d for i, d in enumerate(a.shape) if i not in axes))


# --- broadcasting ---------------------------------------------------------------------


def broadcast_shapes(*shapes):
    """The shape that arrays of ``shapes`` broadcast to together (NumPy's rules).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.broadcast_shapes((3, 1), (4,))
        (3, 4)
    """
    fname = _fn("broadcast_shapes")
    shapes = [_static_ints(s, fname, "shape") for s in shapes]
    try:
        return tuple(int(d) for d in np.broadcast_shapes(*shapes))
    except ValueError:
        shown = " ".join(str(s) for s in shapes)
        raise ValueError(f"{fname}: shapes {shown} cannot be broadcast together") from None


def broadcast_to(array, shape):
    """``array`` broadcast to ``shape`` (trailing axes aligned; only size-1 axes may grow).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.broadcast_to(fnp.array([1, 2]), (2, 2)).tolist()
        [[1, 2], [1, 2]]
    """
    fname = _fn("broadcast_to")
    x = asarray(array, fname=fname)
    shape = _static_ints(shape, fname, "shape")
    if any(d < 0 for d in shape):
        raise ValueError(f"{fname}: negative dimensions are not allowed, got shape {shape}")
    lead = len(shape) - x.ndim
    if lead < 0 or any(d not in (1, shape[lead + i]) for i, d in enumerate(x.shape)):
        raise ValueError(f"{fname}: cannot broadcast an array of shape {x.shape} to shape {shape}")
    return broadcast_to_shape(x, shape)


def broadcast_arrays(*args):
    """The arrays ``args`` broadcast to their common shape, as a tuple.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> [x.shape for x in fnp.broadcast_arrays(fnp.zeros((3, 1)), fnp.zeros(4))]
        [(3, 4), (3, 4)]
    """
    fname = _fn("broadcast_arrays")
    arrays = [asarray(a, fname=fname) for a in args]
    try:
        shape = tuple(np.broadcast_shapes(*(a.shape for a in arrays)))
    except ValueError:
        shown = " ".join(str(a.shape) for a in arrays)
        raise ValueError(f"{fname}: shapes {shown} cannot be broadcast together") from None
    return tuple(broadcast_to_shape(a, shape) for a in arrays)


# --- joining --------------------------------------------------------------------------


def _as_array_list(arrays: Any, fname: str, what: str) -> list:
    if (is_array(arrays) or isinstance(arrays, np.ndarray)) and arrays.ndim:
        arrays = list(arrays)  # NumPy iterates an array's first axis
    elif not isinstance(arrays, (list, tuple)):
        if (
            not hasattr(arrays, "__iter__")
            or isinstance(arrays, (str, bytes, dict))
            or getattr(arrays, "ndim", 1) == 0
        ):
            raise TypeError(
                f"{fname}: expected a sequence of arrays (a list or tuple), got "
                f"{type(arrays).__name__} {arrays!r:.40}; wrap a single array in a list"
            )
        arrays = list(arrays)
    if not arrays:
        raise ValueError(f"{fname}: need at least one array to {what}")
    return [asarray(x, fname=fname) for x in arrays]


def _join_dtype(arrays: list, dtype: Any, casting: str, fname: str) -> np.dtype:
    """NumPy's result dtype for joining ``arrays`` (all strongly typed) into ``dtype``."""
    if dtype is None:
        first = arrays[0].dtype
        if all(x.dtype == first for x in arrays):
            return first
        return dtypes.result_type(*(x.dtype for x in arrays))
    dtype = dtypes.canonicalize_dtype(dtype, fname)
    for x in arrays:
        if not np.can_cast(x.dtype, dtype, casting=casting):
            raise TypeError(
                f"{fname}: cannot cast an array of dtype {x.dtype} to dtype {dtype} with "
                f"casting={casting!r}"
            )
    return dtype


def _concatenate(arrays: list, axis: int, dtype: np.dtype) -> Any:
    arrays = [convert(x, dtype) for x in arrays]
    if len(arrays) == 1:
        return arrays[0]
    return structural.concatenate_p.bind1(*arrays, dimension=axis)


def concatenate(arrays, /, axis=0, *, dtype=None, casting="same_kind"):
    """The arrays joined along an existing axis (``axis=None`` flattens them first).

    The result dtype is NumPy's promotion of the inputs' dtypes, or ``dtype``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.concatenate([fnp.array([1, 2]), fnp.array([3.0])]).tolist()
        [1.0, 2.0, 3.0]
    """
    fname = _fn("concatenate")
    arrays = _as_array_list(arrays, fname, "concatenate")
    if axis is None:
        arrays = [_reshape(x, (x.size,)) for x in arrays]
        axis = 0
    ndim = arrays[0].ndim
    if ndim == 0:
        raise ValueError(f"{fname}: zero-dimensional arrays cannot be concatenated")
    axis = canonicalize_axis(axis, ndim, fname)
    shapes = [x.shape for x in arrays]
    for i, s in enumerate(shapes):
        if len(s) != ndim:
            raise ValueError(
                f"{fname}: all input arrays must have the same number of dimensions, but "
                f"the array at index 0 has shape {shapes[0]} and the array at index {i} has "
                f"shape {s}"
            )
        if any(d != e for k, (d, e) in enumerate(zip(s, shapes[0])) if k != axis):
            raise ValueError(
                f"{fname}: all input array dimensions except for the concatenation axis "
                f"{axis} must match, got shapes {', '.join(map(str, shapes))}"
            )
    return _concatenate(arrays, axis, _join_dtype(arrays, dtype, casting, fname))


def concat(arrays, /, *, axis=0, dtype=None, casting="same_kind"):
    """The array API name of :func:`concatenate`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.concat([fnp.zeros((1, 2)), fnp.ones((1, 2))], axis=1).shape
        (1, 4)
    """
    return concatenate(arrays, axis=axis, dtype=dtype, casting=casting)


def stack(arrays, axis=0, *, dtype=None, casting="same_kind"):
    """The arrays, which must share one shape, joined along a new axis ``axis``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.stack([fnp.zeros(3), fnp.ones(3)], axis=1).shape
        (3, 2)
    """
    fname = _fn("stack")
    arrays = _as_array_list(arrays, fname, "stack")
    shape = arrays[0].shape
    if any(x.shape != shape for x in arrays):
        raise ValueError(
            f"{fname}: all input arrays must have the same shape, got shapes "
            f"{', '.join(str(x.shape) for x in arrays)}"
        )
    axis = canonicalize_axis(axis, len(shape) + 1, fname)
    expanded = shape[:axis] + (1,) + shape[axis:]
    dt = _join_dtype(arrays, dtype, casting, fname)
    return _concatenate([_reshape(x, expanded) for x in arrays], axis, dt)


def _at_least(x: Any, ndim: int) -> Any:
    """``x`` with unit axes added as NumPy's ``atleast_{1,2,3}d`` add them."""
    if x.ndim >= ndim:
        return x
    if ndim == 3 and x.ndim == 2:
        return _reshape(x, x.shape + (1,))
    if ndim == 3 and x.ndim == 1:
        return _reshape(x, (1,) + x.shape + (1,))
    return _reshape(x, (1,) * (ndim - x.ndim) + x.shape)


def hstack(tup, *, dtype=None, casting="same_kind"):
    """The arrays joined column-wise: along axis 1, or axis 0 for 1-D arrays.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.hstack([fnp.array([1, 2]), fnp.array([3])]).tolist()
        [1, 2, 3]
    """
    fname = _fn("hstack")
    arrays = [_at_least(x, 1) for x in _as_array_list(tup, fname, "concatenate")]
    return concatenate(arrays, 0 if arrays[0].ndim == 1 else 1, dtype=dtype, casting=casting)


def vstack(tup, *, dtype=None, casting="same_kind"):
    """The arrays joined row-wise (along axis 0), 1-D arrays counting as rows.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.vstack([fnp.array([1, 2]), fnp.array([3, 4])]).tolist()
        [[1, 2], [3, 4]]
    """
    fname = _fn("vstack")
    arrays = [_at_least(x, 2) for x in _as_array_list(tup, fname, "concatenate")]
    return concatenate(arrays, 0, dtype=dtype, casting=casting)


def dstack(tup):
    """The arrays joined depth-wise (along axis 2), after making them at least 3-D.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.dstack([fnp.array([1, 2]), fnp.array([3, 4])]).shape
        (1, 2, 2)
    """
    fname = _fn("dstack")
    arrays = [_at_least(x, 3) for x in _as_array_list(tup, fname, "concatenate")]
    return concatenate(arrays, 2)


def column_stack(tup):
    """1-D arrays as columns of a 2-D array; 2-D arrays are joined along axis 1 as they are.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.column_stack([fnp.array([1, 2]), fnp.array([3, 4])]).tolist()
        [[1, 3], [2, 4]]
    """
    fname = _fn("column_stack")
    arrays = _as_array_list(tup, fname, "concatenate")
    arrays = [_reshape(x, (x.size, 1)) if x.ndim < 2 else x for x in arrays]
    return concatenate(arrays, 1)


def unstack(x, /, *, axis=0):
    """The slices of ``x`` along ``axis``, as a tuple (the inverse of :func:`stack`).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> [a.tolist() for a in fnp.unstack(fnp.array([[1, 2], [3, 4]]), axis=1)]
        [[1, 3], [2, 4]]
    """
    fname = _fn("unstack")
    x = asarray(x, fname=fname)
    if x.ndim == 0:
        raise ValueError(f"{fname}: input must be at least 1-dimensional, got a 0-d array")
    axis = canonicalize_axis(axis, x.ndim, fname)
    return tuple(getitem(x, (_FULL,) * axis + (i,)) for i in range(x.shape[axis]))


def block(arrays):
    """An array assembled from nested lists of blocks: the innermost lists are joined along
    the last axis, the next level along the second-last, and so on.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.block([[fnp.ones((2, 2)), fnp.zeros((2, 1))], [fnp.ones((1, 3))]]).tolist()
        [[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]
    """
    fname = _fn("block")

    def depths(x, path):
        if isinstance(x, tuple):
            raise TypeError(f"{fname}: blocks must be nested lists, got a tuple at arrays{path}")
        if isinstance(x, list):
            if not x:
                raise ValueError(f"{fname}: lists cannot be empty (arrays{path} is [])")
            found = [d for i, e in enumerate(x) for d in depths(e, f"{path}[{i}]")]
            return [(d + 1, p) for d, p in found]
        return [(0, path)]

    leaves = depths(arrays, "")
    if len({d for d, _ in leaves}) != 1:
        (d0, p0), (d1, p1) = leaves[0], next(lp for lp in leaves if lp[0] != leaves[0][0])
        raise ValueError(
            f"{fname}: list depths are mismatched: arrays{p0} is at depth {d0} but "
            f"arrays{p1} is at depth {d1}"
        )
    depth = leaves[0][0]

    def leaf_ndim(x):
        return max(leaf_ndim(e) for e in x) if isinstance(x, list) else asarray(x, fname=fname).ndim

    ndim = max(depth, leaf_ndim(arrays))

    def assemble(x, level):
        if not isinstance(x, list):
            return _at_least_left(asarray(x, fname=fname), ndim)
        return concatenate([assemble(e, level + 1) for e in x], axis=level - depth)

    return assemble(arrays, 0)


def _at_least_left(x: Any, ndim: int) -> Any:
    return _reshape(x, (1,) * (ndim - x.ndim) + x.shape) if x.ndim < ndim else x


# --- splitting ------------------------------------------------------------------------


def _split(ary: Any, indices_or_sections: Any, axis: Any, fname: str, equal: bool) -> list:
    x = asarray(ary, fname=fname)
    if x.ndim == 0:
        raise ValueError(f"{fname}: cannot split a 0-d array")
    axis = canonicalize_axis(axis, x.ndim, fname)
    n = x.shape[axis]
    if isinstance(indices_or_sections, (list, tuple, np.ndarray)) or (
        is_array(indices_or_sections) and indices_or_sections.ndim > 0
    ):
        points = _static_ints(indices_or_sections, fname, "indices_or_sections")
        bounds = [0, *points, n]
    else:
        sections = _static_int(indices_or_sections, fname, "indices_or_sections")
        if sections <= 0:
            raise ValueError(f"{fname}: the number of sections must be positive, got {sections}")
        if equal and n % sections:
            raise ValueError(
                f"{fname}: array split does not result in an equal division: axis {axis} of "
                f"size {n} cannot be split into {sections} equal sections (use array_split "
                f"for unequal ones)"
            )
        small, extra = divmod(n, sections)
        sizes = [small + 1] * extra + [small] * (sections - extra)
        bounds = [0, *np.cumsum(sizes).tolist()]
    # Python slicing semantics, as NumPy: out-of-range points give empty pieces.
    return [_slice_axis(x, axis, slice(lo, hi)) for lo, hi in itertools.pairwise(bounds)]


def split(ary, indices_or_sections, axis=0):
    """``ary`` split along ``axis`` into equal sections (an int) or at indices (a sequence).

    Returns a list of arrays. Split points are static.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> [p.tolist() for p in fnp.split(fnp.array([0, 1, 2, 3, 4]), [2, 3])]
        [[0, 1], [2], [3, 4]]
    """
    return _split(ary, indices_or_sections, axis, _fn("split"), equal=True)


def array_split(ary, indices_or_sections, axis=0):
    """Like :func:`split`, but a number of sections need not divide the axis: the first
    ``size % sections`` pieces get one element more.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> [p.tolist() for p in fnp.array_split(fnp.array([0, 1, 2, 3, 4]), 3)]
        [[0, 1], [2, 3], [4]]
    """
    return _split(ary, indices_or_sections, axis, _fn("array_split"), equal=False)


def hsplit(ary, indices_or_sections):
    """:func:`split` along axis 1 (axis 0 for 1-D arrays).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> [p.shape for p in fnp.hsplit(fnp.zeros((2, 4)), 2)]
        [(2, 2), (2, 2)]
    """
    fname = _fn("hsplit")
    x = asarray(ary, fname=fname)
    if x.ndim == 0:
        raise ValueError(f"{fname}: hsplit only works on arrays of 1 or more dimensions")
    return _split(x, indices_or_sections, 1 if x.ndim > 1 else 0, fname, equal=True)


def vsplit(ary, indices_or_sections):
    """:func:`split` along axis 0, for arrays of 2 or more dimensions.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> [p.shape for p in fnp.vsplit(fnp.zeros((4, 2)), 2)]
        [(2, 2), (2, 2)]
    """
    fname = _fn("vsplit")
    x = asarray(ary, fname=fname)
    if x.ndim < 2:
        raise ValueError(
            f"{fname}: vsplit only works on arrays of 2 or more dimensions, got shape {x.shape}"
        )
    return _split(x, indices_or_sections, 0, fname, equal=True)


def dsplit(ary, indices_or_sections):
    """:func:`split` along axis 2, for arrays of 3 or more dimensions.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> [p.shape for p in fnp.dsplit(fnp.zeros((1, 1, 4)), [1])]
        [(1, 1, 1), (1, 1, 3)]
    """
    fname = _fn("dsplit")
    x = asarray(ary, fname=fname)
    if x.ndim < 3:
        raise ValueError(
            f"{fname}: dsplit only works on arrays of 3 or more dimensions, got shape {x.shape}"
        )
    return _split(x, indices_or_sections, 2, fname, equal=True)


# --- tiling and repeating -------------------------------------------------------------


def tile(A, reps):
    """``A`` repeated ``reps`` times along each axis (``reps`` an int or a tuple; the
    shorter of ``A.shape`` and ``reps`` is padded with leading 1s).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.tile(fnp.array([1, 2]), (2, 2)).tolist()
        [[1, 2, 1, 2], [1, 2, 1, 2]]
    """
    fname = _fn("tile")
    x = asarray(A, fname=fname)
    reps = _static_ints(reps, fname, "reps")
    if any(r < 0 for r in reps):
        raise ValueError(f"{fname}: reps must be non-negative, got {reps}")
    ndim = max(len(reps), x.ndim)
    reps = (1,) * (ndim - len(reps)) + reps
    shape = (1,) * (ndim - x.ndim) + x.shape
    x = _reshape(x, shape)
    if all(r == 1 for r in reps):
        return x
    check_allocation(fname, tuple(r * s for r, s in zip(reps, shape)), x.dtype)
    # Broadcast to (r0, s0, r1, s1, ...) and merge each (r_i, s_i) pair.
    interleaved = tuple(d for r, s in zip(reps, shape) for d in (r, s))
    x = structural.broadcast_in_dim_p.bind1(
        x, shape=interleaved, broadcast_dimensions=tuple(range(1, 2 * ndim, 2))
    )
    return _reshape(x, tuple(r * s for r, s in zip(reps, shape)))


def repeat(a, repeats, axis=None, *, total_repeat_length=None):
    """Each element of ``a`` repeated ``repeats`` times along ``axis`` (flattened if None).

    ``repeats`` is an int or an integer array broadcastable to ``a.shape[axis]``. The
    output length is the sum of the repeats, so array ``repeats`` must be concrete,
    unless ``total_repeat_length`` (a static int, an addition from JAX) gives it: the
    output is then truncated to that length, or padded by repeating the last element.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.repeat(fnp.array([1, 2]), 2).tolist()
        [1, 1, 2, 2]
        >>> fnp.repeat(fnp.array([[1, 2]]), fnp.array([1, 3]), axis=1).tolist()
        [[1, 2, 2, 2]]
    """
    fname = _fn("repeat")
    x = asarray(a, fname=fname)
    if axis is None:
        x = _reshape(x, (x.size,))
        axis = 0
    axis = canonicalize_axis(axis, x.ndim, fname)
    n = x.shape[axis]
    if total_repeat_length is not None:
        total_repeat_length = _static_int(total_repeat_length, fname, "total_repeat_length")
    scalar = None
    if not is_array(repeats) and np.ndim(repeats) == 0:
        scalar = _static_int(repeats, fname, "repeats")
    elif isinstance(repeats, (np.ndarray, list, tuple)):
        host = np.asarray(repeats)
        if host.size == 1 and host.dtype.kind in "iu":
            scalar = int(host.reshape(()))
    if scalar is not None:
        if scalar < 0:
            raise ValueError(f"{fname}: repeats may not be negative, got {scalar}")
        if total_repeat_length is None or total_repeat_length == n * scalar:
            check_allocation(fname, x.shape[:axis] + (n * scalar,) + x.shape[axis + 1 :], x.dtype)
            expanded = x.shape[: axis + 1] + (scalar,) + x.shape[axis + 1 :]
            out = structural.broadcast_in_dim_p.bind1(
                x, shape=expanded,
                broadcast_dimensions=tuple(i if i <= axis else i + 1 for i in range(x.ndim)),
            )  # fmt: skip
            return _reshape(out, x.shape[:axis] + (n * scalar,) + x.shape[axis + 1 :])
    return _repeat_array(x, repeats, axis, total_repeat_length, fname)


def _repeat_array(x: Any, repeats: Any, axis: int, total: int | None, fname: str) -> Any:
    n = x.shape[axis]
    repeats = asarray(repeats, fname=fname)
    if not dtypes.is_integer(repeats.dtype):
        raise TypeError(f"{fname}: repeats must be integers, got dtype {repeats.dtype}")
    if repeats.ndim > 1 or repeats.size not in (1, n):
        raise ValueError(
            f"{fname}: repeats of shape {repeats.shape} cannot be broadcast to the {n} "
            f"elements along axis {axis} (shape {x.shape})"
        )
    if total is None:
        concrete = concrete_or_error(
            repeats, fname, "the output length (the sum of the repeats)",
            "Pass total_repeat_length=<a static int>, or repeats as a Python int.",
        )  # fmt: skip
        negative, total = _eager(_negative_and_sum, concrete)
        if negative:
            raise ValueError(f"{fname}: repeats may not contain negative values")
        total *= n if repeats.size == 1 else 1
    check_allocation(fname, x.shape[:axis] + (total,) + x.shape[axis + 1 :], x.dtype)
    repeats = broadcast_to_shape(_reshape(convert(repeats, dtypes.int64), (repeats.size,)), (n,))
    if n == 0:
        if total:
            raise ValueError(f"{fname}: cannot repeat the elements of an empty axis into {total}")
        return x
    # Output position j comes from the element whose block [ends[k-1], ends[k]) holds j.
    ends = reductions.cumsum_p.bind1(repeats, axis=0, reverse=False)
    positions = structural.iota_p.bind1(dtype=dtypes.int64, shape=(total,), dimension=0)
    source = sorting.searchsorted_p.bind1(ends, positions, side="right", dtype=dtypes.int64)
    source = ufuncs.minimum(source, n - 1)  # past the sum of repeats: the last element
    return getitem(x, (_FULL,) * axis + (source,))


def _negative_and_sum(repeats: Any) -> tuple[bool, int]:
    axes = tuple(range(repeats.ndim))
    negative = reductions.reduce_or_p.bind1(ufuncs.less(repeats, 0), axes=axes)
    total = reductions.reduce_sum_p.bind1(convert(repeats, dtypes.int64), axes=axes)
    return bool(negative), int(total)


# --- reversing and rotating -----------------------------------------------------------


def flip(m, axis=None):
    """``m`` with the order of elements reversed along ``axis`` (all axes if None).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.flip(fnp.array([[1, 2], [3, 4]]), axis=1).tolist()
        [[2, 1], [4, 3]]
    """
    fname = _fn("flip")
    x = asarray(m, fname=fname)
    axes = canonicalize_axes(None if axis is None else list(_static_ints(axis, fname, "axis")),
                             x.ndim, fname)  # fmt: skip
    if not axes:
        return x
    return getitem(x, tuple(_REVERSED if i in axes else _FULL for i in range(x.ndim)))


def fliplr(m):
    """``m`` reversed along axis 1 (left/right); ``m`` must be at least 2-D.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.fliplr(fnp.array([[1, 2]])).tolist()
        [[2, 1]]
    """
    x = asarray(m, fname=_fn("fliplr"))
    if x.ndim < 2:
        raise ValueError(
            f"funcgrad.numpy.fliplr: the input must be at least 2-D, got shape {x.shape}"
        )
    return flip(x, 1)


def flipud(m):
    """``m`` reversed along axis 0 (up/down); ``m`` must be at least 1-D.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.flipud(fnp.array([1, 2, 3])).tolist()
        [3, 2, 1]
    """
    x = asarray(m, fname=_fn("flipud"))
    if x.ndim < 1:
        raise ValueError("funcgrad.numpy.flipud: the input must be at least 1-D, got a 0-d array")
    return flip(x, 0)


def roll(a, shift, axis=None):
    """``a`` with elements shifted by ``shift`` along ``axis``, those leaving one end
    re-entering at the other (flattened first if ``axis`` is None).

    ``shift`` and ``axis`` may be tuples (broadcast against each other; shifts of one
    axis add up). A static ``shift`` becomes two slices and a concatenation; a traced
    one becomes a gather.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.roll(fnp.array([0, 1, 2, 3, 4]), 2).tolist()
        [3, 4, 0, 1, 2]
        >>> fnp.roll(fnp.array([[1, 2], [3, 4]]), (1, 1), axis=(0, 1)).tolist()
        [[4, 3], [2, 1]]
    """
    fname = _fn("roll")
    x = asarray(a, fname=fname)
    if axis is None:
        return _reshape(roll(_reshape(x, (x.size,)), shift, 0), x.shape)
    axes = _static_ints(axis, fname, "axis")
    if isinstance(shift, Tracer):
        return _roll_traced(x, asarray(shift), axes, fname)
    shifts = _static_ints(shift, fname, "shift")
    if len(shifts) != len(axes) and 1 not in (len(shifts), len(axes)):
        raise ValueError(
            f"{fname}: shift {shift} and axis {axis} must be broadcastable sequences of the "
            f"same length"
        )
    total = [0] * x.ndim
    for s, ax in zip(shifts * (len(axes) if len(shifts) == 1 else 1),
                     axes * (len(shifts) if len(axes) == 1 else 1)):  # fmt: skip
        total[canonicalize_axis(ax, x.ndim, fname)] += s
    for ax, s in enumerate(total):
        n = x.shape[ax]
        if n and s % n:
            cut = n - s % n
            x = concatenate(
                [_slice_axis(x, ax, slice(cut, None)), _slice_axis(x, ax, slice(cut))], ax
            )
    return x


def _roll_traced(x: Any, shift: Any, axes: tuple[int, ...], fname: str) -> Any:
    if not dtypes.is_integer(shift.dtype) or shift.ndim > 1:
        raise TypeError(f"{fname}: shift must be an integer or 1-D integer array, got {shift.aval}")
    shifts = [getitem(shift, i) if shift.ndim else shift for i in range(max(shift.size, 1))]
    if shift.ndim and len(shifts) != len(axes) and 1 not in (len(shifts), len(axes)):
        raise ValueError(f"{fname}: {len(shifts)} shifts do not match axis {axes}")
    if len(shifts) == 1:
        shifts = shifts * len(axes)
    if len(axes) == 1:
        axes = axes * len(shifts)
    for s, ax in zip(shifts, axes):
        ax = canonicalize_axis(ax, x.ndim, fname)
        n = x.shape[ax]
        if n == 0:
            continue
        positions = structural.iota_p.bind1(dtype=dtypes.int64, shape=(n,), dimension=0)
        source = ufuncs.remainder(ufuncs.subtract(positions, convert(s, dtypes.int64)), n)
        x = getitem(x, (_FULL,) * ax + (source,))
    return x


def rot90(m, k=1, axes=(0, 1)):
    """``m`` rotated by 90 degrees ``k`` times in the plane of ``axes``, from the first
    axis towards the second.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.rot90(fnp.array([[1, 2], [3, 4]])).tolist()
        [[2, 4], [1, 3]]
    """
    fname = _fn("rot90")
    x = asarray(m, fname=fname)
    axes = _static_ints(axes, fname, "axes")
    if len(axes) != 2:
        raise ValueError(f"{fname}: axes must hold exactly 2 axes, got {axes}")
    if x.ndim < 2:
        raise ValueError(f"{fname}: the input must be at least 2-D, got shape {x.shape}")
    a0, a1 = (canonicalize_axis(ax, x.ndim, fname, "axes") for ax in axes)
    if a0 == a1:
        raise ValueError(f"{fname}: axes must be different, got {axes}")
    k = _static_int(k, fname, "k") % 4
    if k == 0:
        return x
    if k == 2:
        return flip(x, (a0, a1))
    perm = list(range(x.ndim))
    perm[a0], perm[a1] = a1, a0
    if k == 1:
        return _transpose(flip(x, a1), tuple(perm))
    return flip(_transpose(x, tuple(perm)), a1)


# --- padding --------------------------------------------------------------------------

_PAD_MODES = ("constant", "empty", "edge", "reflect", "symmetric", "wrap")


def _as_pairs(value: Any, ndim: int, fname: str, argname: str) -> np.ndarray:
    """A ``(ndim, 2)`` host array of (before, after) values from any of NumPy's forms."""
    v = np.asarray(value)
    if v.size == 1:
        return np.broadcast_to(v.reshape(()), (ndim, 2))
    if v.size == 2 and v.shape != (2, 1):
        return np.broadcast_to(v.reshape(2), (ndim, 2))  # one (before, after) for every axis
    try:
        return np.broadcast_to(v, (ndim, 2))
    except ValueError:
        raise ValueError(
            f"{fname}: {argname} of shape {v.shape} cannot be broadcast to ({ndim}, 2), one "
            f"(before, after) pair per axis"
        ) from None


def _pad_widths(pad_width: Any, ndim: int, fname: str) -> list[tuple[int, int]]:
    if isinstance(pad_width, dict):  # NumPy >= 2.3: {axis: width or (before, after)}
        pairs = [(0, 0)] * ndim
        for ax, w in pad_width.items():
            pairs[canonicalize_axis(ax, ndim, fname, "pad_width axis")] = tuple(
                _as_pairs(w, 1, fname, "pad_width")[0]
            )
        widths = np.asarray(pairs).reshape(ndim, 2)
    else:
        if is_array(pad_width):
            pad_width = np.asarray(concrete_or_error(
                pad_width, fname, "pad_width", "pass pad_width as Python ints (static)."
            ))  # fmt: skip
        widths = np.asarray(pad_width)
        if widths.dtype.kind not in "iu":
            raise TypeError(f"{fname}: pad_width must be integers, got {pad_width!r:.60}")
        widths = _as_pairs(widths, ndim, fname, "pad_width")
    if (widths < 0).any():
        raise ValueError(f"{fname}: pad_width may not be negative, got {pad_width!r:.60}")
    return [(int(lo), int(hi)) for lo, hi in widths]


def _padding_value(value: Any, dtype: np.dtype, fname: str) -> Any:
    """A pad value in ``dtype``: a NumPy scalar for host values (cast as NumPy assigns
    them), a 0-d converted array for funcgrad ones."""
    if is_array(value):
        if value.ndim:
            raise ValueError(f"{fname}: array constant_values must be 0-d, got shape {value.shape}")
        return convert(value, dtype)
    return np.asarray(value).astype(dtype)[()]


def _source_index(mode: str, n: int, before: int, after: int) -> np.ndarray:
    """For each output position along a padded axis, the input position it copies."""
    i = np.arange(-before, n + after)
    if mode == "edge":
        return np.clip(i, 0, n - 1)
    if mode == "wrap":
        return i % n
    if mode == "symmetric":  # ... 1 0 | 0 1 2 | 2 1 ...: period 2n
        j = i % (2 * n)
        return np.where(j < n, j, 2 * n - 1 - j)
    if n == 1:  # reflect about a single element: it repeats
        return np.zeros_like(i)
    period = 2 * (n - 1)  # reflect: ... 2 1 | 0 1 2 | 1 0 ...
    j = i % period
    return np.where(j < n, j, period - j)


def _gather_static(x: Any, axis: int, index: np.ndarray) -> Any:
    """``x`` indexed along ``axis`` by a static index: slices and a concatenation when the
    index is a few runs of consecutive (or repeated) positions, else one gather."""
    runs = []
    start = 0
    while start < len(index):
        stop = start + 1
        step = int(index[stop] - index[start]) if stop < len(index) else 1
        if step not in (-1, 0, 1):
            step = 1
        while stop < len(index) and index[stop] - index[stop - 1] == step:
            stop += 1
        runs.append((int(index[start]), stop - start, step))
        start = stop
    if len(runs) > 8:
        return getitem(x, (_FULL,) * axis + (from_host(index.astype(np.int64)),))
    pieces = []
    for first, length, step in runs:
        if step == 1:
            pieces.append(_slice_axis(x, axis, slice(first, first + length)))
        elif step == -1:
            stop = first - length
            pieces.append(_slice_axis(x, axis, slice(first, stop if stop >= 0 else None, -1)))
        else:
            one = _slice_axis(x, axis, slice(first, first + 1))
            pieces.append(broadcast_to_shape(one, x.shape[:axis] + (length,) + x.shape[axis + 1 :]))
    return (
        pieces[0] if len(pieces) == 1 else structural.concatenate_p.bind1(*pieces, dimension=axis)
    )


def pad(array, pad_width, mode="constant", **kwargs):
    """``array`` padded along each axis by ``pad_width`` elements before and after.

    ``pad_width`` takes NumPy's forms: an int, ``(before, after)``, one pair per axis,
    or a dict ``{axis: width or (before, after)}``. Modes: ``"constant"``
    (``constant_values``: a scalar or pairs, like ``pad_width``), ``"edge"``,
    ``"reflect"``, ``"symmetric"`` and ``"wrap"``; reflecting and wrapping repeat as
    often as needed, so widths may exceed the axis, as in NumPy. ``"empty"`` pads with
    zeros (NumPy leaves the values undefined). The statistic modes (``"mean"``, ...),
    ``"linear_ramp"``, ``reflect_type="odd"`` and callable modes are not supported.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.pad(fnp.array([1, 2, 3]), (2, 1)).tolist()
        [0, 0, 1, 2, 3, 0]
        >>> fnp.pad(fnp.array([1, 2, 3]), 2, mode="reflect").tolist()
        [3, 2, 1, 2, 3, 2, 1]
    """
    fname = _fn("pad")
    x = asarray(array, fname=fname)
    if not isinstance(mode, str) or mode not in _PAD_MODES:
        raise ValueError(
            f"{fname}: mode {mode!r} is not supported; use one of {', '.join(_PAD_MODES)}"
        )
    allowed = {"constant": {"constant_values"}, "reflect": {"reflect_type"},
               "symmetric": {"reflect_type"}}.get(mode, set())  # fmt: skip
    if set(kwargs) - allowed:
        raise ValueError(
            f"{fname}: unsupported keyword arguments for mode {mode!r}: "
            f"{sorted(set(kwargs) - allowed)}"
        )
    if kwargs.get("reflect_type", "even") != "even":
        raise NotImplementedError(
            f"{fname}: only reflect_type='even' is supported, got {kwargs['reflect_type']!r}"
        )
    widths = _pad_widths(pad_width, x.ndim, fname)
    if mode in ("constant", "empty"):
        return _pad_constant(x, widths, kwargs.get("constant_values", 0), fname)
    for ax, (lo, hi) in enumerate(widths):
        if not (lo or hi):
            continue
        n = x.shape[ax]
        if n == 0:
            raise ValueError(
                f"{fname}: cannot pad the empty axis {ax} (shape {x.shape}) with mode "
                f"{mode!r}; only 'constant' and 'empty' can extend an empty axis"
            )
        # Axis by axis, each on the already padded array: corners follow NumPy.
        x = _gather_static(x, ax, _source_index(mode, n, lo, hi))
    return x


def _pad_constant(x: Any, widths: list, constant_values: Any, fname: str) -> Any:
    if not any(lo or hi for lo, hi in widths):
        return x
    if is_array(constant_values) and constant_values.ndim == 0:
        values = None  # one (possibly traced) value for every side
        uniform = _padding_value(constant_values, x.dtype, fname)
    else:
        if is_array(constant_values):
            constant_values = np.asarray(concrete_or_error(
                constant_values, fname, "constant_values", "pass a scalar or a 0-d array."
            ))  # fmt: skip
        values = _as_pairs(constant_values, x.ndim, fname, "constant_values")
        uniform = _padding_value(values[0, 0], x.dtype, fname)
        if (values == values[0, 0]).all():
            values = None
    if values is None:
        config = tuple((lo, hi, 0) for lo, hi in widths)
        return structural.pad_p.bind1(x, uniform, padding_config=config)
    # Different values per side: one axis at a time, later axes covering the corners (NumPy).
    for ax, (lo, hi) in enumerate(widths):
        for config_entry, side in (((lo, 0, 0), 0), ((0, hi, 0), 1)):
            if config_entry[side]:
                config = tuple(config_entry if i == ax else (0, 0, 0) for i in range(x.ndim))
                value = _padding_value(values[ax, side], x.dtype, fname)
                x = structural.pad_p.bind1(x, value, padding_config=config)
    return x


def trim_zeros(filt, trim="fb", axis=None):
    """``filt`` without its leading (``"f"``) and/or trailing (``"b"``) zeros along
    ``axis`` (all axes if None: the smallest box holding every nonzero element).

    Needs concrete values: the output shape depends on them.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.trim_zeros(fnp.array([0, 0, 1, 2, 0])).tolist()
        [1, 2]
    """
    fname = _fn("trim_zeros")
    x = asarray(filt, fname=fname)
    concrete = concrete_or_error(
        x, fname, "the output shape", "trim_zeros has no traceable form; slice with static bounds."
    )
    trim = trim.lower() if isinstance(trim, str) else trim
    if trim not in ("f", "b", "fb", "bf"):
        raise ValueError(f"{fname}: trim must be 'f', 'b', 'fb' or 'bf', got {trim!r}")
    if x.ndim == 0:
        return x
    axes = canonicalize_axes(None if axis is None else list(_static_ints(axis, fname, "axis")),
                             x.ndim, fname)  # fmt: skip
    key = [_FULL] * x.ndim
    for ax in axes:
        n = x.shape[ax]
        first, last = _eager(_nonzero_span, concrete, ax) if n else (None, None)
        start = (n if first is None else first) if "f" in trim else 0
        stop = (0 if last is None else last + 1) if "b" in trim else n
        key[ax] = slice(start, max(start, stop))
    return getitem(x, tuple(key))  # slicing x itself keeps it differentiable


def _nonzero_span(x: Any, axis: int) -> tuple[int | None, int | None]:
    """First and last index along ``axis`` of a slice holding a nonzero (None if none)."""
    others = tuple(i for i in range(x.ndim) if i != axis)
    line = reductions.reduce_or_p.bind1(ufuncs.not_equal(x, 0), axes=others)
    if not bool(reductions.reduce_or_p.bind1(line, axes=(0,))):
        return None, None
    first = int(reductions.argmax_p.bind1(line, axis=0, index_dtype=dtypes.int64))
    last_from_end = int(reductions.argmax_p.bind1(flip(line), axis=0, index_dtype=dtypes.int64))
    return first, x.shape[axis] - 1 - last_from_end


__all__ = [
    "array_split",
    "block",
    "broadcast_arrays",
    "broadcast_shapes",
    "broadcast_to",
    "column_stack",
    "concat",
    "concatenate",
    "dsplit",
    "dstack",
    "expand_dims",
    "flip",
    "fliplr",
    "flipud",
    "hsplit",
    "hstack",
    "matrix_transpose",
    "moveaxis",
    "pad",
    "permute_dims",
    "ravel",
    "repeat",
    "reshape",
    "roll",
    "rot90",
    "split",
    "squeeze",
    "stack",
    "swapaxes",
    "tile",
    "transpose",
    "trim_zeros",
    "unstack",
    "vsplit",
    "vstack",
]
