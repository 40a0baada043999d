"""User-facing wrappers of the primitives (``funcgrad.lax``), with JAX's names and signatures.

Unlike ``funcgrad.numpy``, lax functions do not broadcast or promote: operands must
already agree in shape (0-d operands excepted) and dtype, and errors say so. Python
scalars are weak and take the other operand's dtype.
"""

from __future__ import annotations

import operator
from typing import Any, Sequence

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.core import Array, Tracer, get_aval
from funcgrad._src.lax import elementwise as ew
from funcgrad._src.lax import indexing, linalg, reductions, sorting, structural
from funcgrad._src.lax.indexing import IndexSlice

_WEAK = (bool, int, float, complex)


def _arr(x: Any, fname: str) -> Any:
    if type(x) is Array or isinstance(x, Tracer) or type(x) in _WEAK:
        return x
    from funcgrad._src.numpy.util import asarray

    return asarray(x, fname=f"funcgrad.lax.{fname}")


def _check_same_dtype(fname: str, *xs: Any) -> None:
    strong = [x.dtype for x in xs if type(x) not in _WEAK]
    if len(set(strong)) > 1:
        raise TypeError(
            f"funcgrad.lax.{fname}: operands must have one dtype, got "
            f"{', '.join(map(str, strong))}; convert explicitly (funcgrad.numpy promotes for you)"
        )
    if not strong:
        raise TypeError(f"funcgrad.lax.{fname}: at least one operand must be an array")


def _check_same_shape(fname: str, *xs: Any) -> None:
    shapes = {x.shape for x in xs if type(x) not in _WEAK and x.ndim}
    if len(shapes) > 1:
        raise ValueError(
            f"funcgrad.lax.{fname}: operands must have one shape (or be 0-d), got "
            f"{', '.join(str(x.shape) for x in xs if type(x) not in _WEAK)}; lax does not "
            f"broadcast: use broadcast_in_dim (funcgrad.numpy broadcasts for you)"
        )


def _elementwise(prim_name: str, nargs: int):
    prim = {**ew.unary_primitives, **ew.binary_primitives}[prim_name]

    def fn(*xs):
        if len(xs) != nargs:
            raise TypeError(f"funcgrad.lax.{prim_name} takes {nargs} operands, got {len(xs)}")
        xs = [_arr(x, prim_name) for x in xs]
        _check_same_dtype(prim_name, *xs)
        _check_same_shape(prim_name, *xs)
        return prim.bind1(*xs)

    fn.__name__ = fn.__qualname__ = prim_name
    fn.__doc__ = f"Elementwise ``{ew.UNARY_UFUNCS.get(prim_name) or ew.BINARY_UFUNCS[prim_name]}``; operands of one shape and dtype."
    return fn


_UNARY_EXPORTS = ["neg", "abs", "sign", "floor", "ceil", "round", "trunc", "exp", "exp2",
                  "expm1", "log", "log1p", "sqrt", "cbrt", "sin", "cos", "tan", "asin", "acos",
                  "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "conj", "real",
                  "imag", "is_finite", "not"]  # fmt: skip
_BINARY_EXPORTS = ["add", "sub", "mul", "div", "rem", "pow", "max", "min", "atan2", "nextafter",
                   "and", "or", "xor", "shift_left", "shift_right", "eq", "ne", "lt", "le", "gt",
                   "ge"]  # fmt: skip

# Primitive names that are Python keywords get JAX's public names.
_PUBLIC_NAMES = {"and": "bitwise_and", "or": "bitwise_or", "xor": "bitwise_xor",
                 "not": "bitwise_not", "shift_right": "shift_right_arithmetic"}  # fmt: skip

ELEMENTWISE = {_PUBLIC_NAMES.get(n, n): _elementwise(n, 1) for n in _UNARY_EXPORTS}
ELEMENTWISE.update({_PUBLIC_NAMES.get(n, n): _elementwise(n, 2) for n in _BINARY_EXPORTS})


def select(pred, on_true, on_false):
    """``on_true`` where ``pred`` else ``on_false``; ``pred`` is a bool array of the same shape."""
    pred, on_true, on_false = (_arr(x, "select") for x in (pred, on_true, on_false))
    _check_same_dtype("select", on_true, on_false)
    _check_same_shape("select", pred, on_true, on_false)
    return _bind1("select", ew.select_p, pred, on_true, on_false)


def clamp(min, x, max):  # noqa: A002  (JAX's argument names)
    """``x`` clipped elementwise to ``[min, max]``."""
    x, lo, hi = (_arr(v, "clamp") for v in (x, min, max))
    _check_same_dtype("clamp", x, lo, hi)
    for name, bound in (("min", lo), ("max", hi)):
        if type(bound) not in _WEAK and bound.ndim and bound.shape != x.shape:
            raise ValueError(
                f"funcgrad.lax.clamp: {name} of shape {bound.shape} must be 0-d or have the "
                f"shape of x, {x.shape}"
            )
    return ew.min_p.bind1(ew.max_p.bind1(x, lo), hi)


def integer_pow(x, y: int):
    """``x ** y`` for a static Python integer ``y`` (by repeated multiplication)."""
    x = _arr(x, "integer_pow")
    if type(y) is bool or not isinstance(y, (int, np.integer)):
        raise TypeError(f"funcgrad.lax.integer_pow: the exponent must be a Python int, got {y!r}")
    y = int(y)
    if y < 0 and x.dtype.kind in "biu":  # as in JAX: the result would not be an integer
        raise TypeError(
            f"funcgrad.lax.integer_pow: integers cannot be raised to a negative power "
            f"(x has dtype {x.dtype}, y={y}); convert x to a float dtype first"
        )
    if y == 0:
        return full_like(x, 1)
    result, base, n = None, x, abs(y)
    while n:
        if n & 1:
            result = base if result is None else ew.mul_p.bind1(result, base)
        n >>= 1
        if n:
            base = ew.mul_p.bind1(base, base)
    return ew.div_p.bind1(1, result) if y < 0 else result


def square(x):
    """``x * x``."""
    return integer_pow(x, 2)


def rsqrt(x):
    """``1 / sqrt(x)``."""
    return ew.div_p.bind1(1, ew.sqrt_p.bind1(_arr(x, "rsqrt")))


def logistic(x):
    """The logistic sigmoid ``1 / (1 + exp(-x))``."""
    x = _arr(x, "logistic")
    return ew.div_p.bind1(1, ew.add_p.bind1(1, ew.exp_p.bind1(ew.neg_p.bind1(x))))


def convert_element_type(operand, new_dtype):
    """``operand`` cast to ``new_dtype`` (C-style: floats to ints truncate)."""
    operand = _arr(operand, "convert_element_type")
    new_dtype = dtypes.canonicalize_dtype(new_dtype, "funcgrad.lax.convert_element_type")
    if type(operand) not in _WEAK and operand.dtype == new_dtype:
        return operand
    return structural.convert_element_type_p.bind1(operand, new_dtype=new_dtype)


def full(shape: Sequence[int], fill_value, dtype=None):
    """An array of ``shape`` filled with ``fill_value`` (a scalar).

    Raises MemoryError at once when the array could not fit in memory (see
    ``funcgrad.numpy.zeros``).
    """
    from funcgrad._src.numpy.creation import full as fnp_full

    shape = _shape("full", "shape", shape)
    if np.ndim(fill_value) != 0:
        raise TypeError(
            f"funcgrad.lax.full: fill_value must be a scalar, got shape {np.shape(fill_value)}"
        )
    _check_size("full", shape, dtype if dtype is not None else dtypes.dtype_of(fill_value))
    return fnp_full(shape, fill_value, dtype)


def full_like(x, fill_value, dtype=None, shape=None):
    """Like ``x`` (or with ``shape``), filled with ``fill_value``."""
    return full(
        x.shape if shape is None else shape, fill_value, x.dtype if dtype is None else dtype
    )


def broadcast_in_dim(operand, shape: Sequence[int], broadcast_dimensions: Sequence[int]):
    """``operand`` broadcast to ``shape``; its axis ``i`` becomes axis ``broadcast_dimensions[i]``.

    As in JAX, the result is an array of its own: a shape too large for memory raises
    MemoryError at once (``funcgrad.numpy.broadcast_to`` gives a cheap read-only view).
    """
    operand = _arr(operand, "broadcast_in_dim")
    shape = _shape("broadcast_in_dim", "shape", shape)
    dims = _ints("broadcast_in_dim", "broadcast_dimensions", broadcast_dimensions)
    _check_size("broadcast_in_dim", shape, operand.dtype if type(operand) not in _WEAK
                else dtypes.weak_scalar_dtype(operand))  # fmt: skip
    return _bind1(
        "broadcast_in_dim", structural.broadcast_in_dim_p, operand, shape=shape,
        broadcast_dimensions=dims,
    )  # fmt: skip


def broadcast(operand, sizes: Sequence[int]):
    """``operand`` with new leading axes of the given ``sizes``."""
    operand = _arr(operand, "broadcast")
    sizes = _shape("broadcast", "sizes", sizes)
    n = len(sizes)
    return broadcast_in_dim(operand, (*sizes, *operand.shape), range(n, n + operand.ndim))


def reshape(operand, new_sizes: Sequence[int], dimensions: Sequence[int] | None = None):
    """``operand`` (transposed by ``dimensions`` first, if given) reshaped to ``new_sizes``.

    Every size is given explicitly (no ``-1``), as in JAX's ``lax.reshape``.
    """
    operand = _arr(operand, "reshape")
    new_sizes = _shape("reshape", "new_sizes", new_sizes)
    if dimensions is not None:
        operand = transpose(operand, dimensions)
    return _bind1("reshape", structural.reshape_p, operand, new_sizes=new_sizes)


def transpose(operand, permutation: Sequence[int]):
    """``operand`` with axes permuted: output axis ``i`` is input axis ``permutation[i]``."""
    operand = _arr(operand, "transpose")
    permutation = _ints("transpose", "permutation", permutation)
    return _bind1("transpose", structural.transpose_p, operand, permutation=permutation)


def squeeze(array, dimensions: Sequence[int]):
    """``array`` without the size-1 axes ``dimensions``."""
    array = _arr(array, "squeeze")
    dims = set(_axes("squeeze", "dimensions", dimensions, array.ndim))
    if any(array.shape[d] != 1 for d in dims):
        raise ValueError(
            f"funcgrad.lax.squeeze: axes {sorted(dims)} of shape {array.shape} are not all 1"
        )
    return reshape(array, [s for i, s in enumerate(array.shape) if i not in dims])


def expand_dims(array, dimensions: Sequence[int]):
    """``array`` with size-1 axes inserted at ``dimensions`` (positions in the result)."""
    array = _arr(array, "expand_dims")
    dimensions = _ints("expand_dims", "dimensions", dimensions)
    dims = _axes("expand_dims", "dimensions", dimensions, array.ndim + len(dimensions))
    shape = list(array.shape)
    for d in sorted(dims):
        shape.insert(d, 1)
    return reshape(array, shape)


def concatenate(operands: Sequence[Any], dimension: int):
    """The operands joined along ``dimension``."""
    operands = [_arr(x, "concatenate") for x in operands]
    if not operands:
        raise ValueError("funcgrad.lax.concatenate: needs at least one operand")
    dimension = _axis("concatenate", "dimension", dimension, operands[0].ndim)
    return _bind1("concatenate", structural.concatenate_p, *operands, dimension=dimension)


def pad(operand, padding_value, padding_config: Sequence[tuple[int, int, int]]):
    """``operand`` padded with ``padding_value``: ``(low, high, interior)`` per axis; negative
    low/high crop."""
    operand = _arr(operand, "pad")
    if np.ndim(padding_value) != 0:
        raise TypeError(
            f"funcgrad.lax.pad: padding_value must be a scalar (0-d), got shape "
            f"{np.shape(padding_value)}"
        )
    value = convert_element_type(padding_value, operand.dtype)
    try:
        config = tuple(tuple(operator.index(v) for v in c) for c in padding_config)
    except TypeError:
        config = None
    if config is None or any(len(c) != 3 for c in config):
        raise TypeError(
            f"funcgrad.lax.pad: padding_config must be a sequence of (low, high, interior) "
            f"integer triples, one per axis, got {padding_config!r:.80}"
        )
    return _bind1("pad", structural.pad_p, operand, value, padding_config=config)


def iota(dtype, size: int):
    """``[0, 1, ..., size - 1]`` of ``dtype``."""
    return broadcasted_iota(dtype, (size,), 0)


def broadcasted_iota(dtype, shape: Sequence[int], dimension: int):
    """An array of ``shape`` whose values count along ``dimension``."""
    dtype = dtypes.canonicalize_dtype(dtype, "funcgrad.lax.broadcasted_iota")
    shape = _shape("broadcasted_iota", "shape", shape)
    dimension = _axis("broadcasted_iota", "dimension", dimension, len(shape))
    _check_size("broadcasted_iota", shape, dtype)
    return structural.iota_p.bind1(dtype=dtype, shape=shape, dimension=dimension)


def slice(operand, start_indices, limit_indices, strides=None):  # noqa: A001  (JAX's name)
    """``operand[start:limit:stride]`` along every axis (static bounds).

    As in JAX, ``0 <= start <= limit <= size`` on every axis and strides are positive:
    bounds are not clipped the way Python slices are.
    """
    operand = _arr(operand, "slice")
    start = _ints("slice", "start_indices", start_indices)
    limit = _ints("slice", "limit_indices", limit_indices)
    strides = (1,) * operand.ndim if strides is None else _ints("slice", "strides", strides)
    if not len(start) == len(limit) == len(strides) == operand.ndim:
        raise ValueError(
            f"funcgrad.lax.slice: start_indices {start}, limit_indices {limit} and strides "
            f"{strides} must each have one entry per axis of the operand of shape {operand.shape}"
        )
    for a, b, s, n in zip(start, limit, strides, operand.shape):
        if not (0 <= a <= b <= n) or s < 1:
            raise ValueError(
                f"funcgrad.lax.slice: start_indices {start}, limit_indices {limit}, strides "
                f"{strides} are invalid for shape {operand.shape}: need 0 <= start <= limit <= "
                f"size and stride >= 1 on every axis"
            )
    indexer = tuple(IndexSlice(a, b, s) for a, b, s in zip(start, limit, strides))
    return indexing.gather_p.bind1(operand, indexer=indexer)


def slice_in_dim(operand, start_index, limit_index, stride=1, axis=0):
    """``operand`` sliced along one ``axis`` (negative start/limit count from the end)."""
    operand = _arr(operand, "slice_in_dim")
    axis = _axis("slice_in_dim", "axis", axis, operand.ndim)
    size = operand.shape[axis]
    start = [0] * operand.ndim
    limit = list(operand.shape)
    strides = [1] * operand.ndim
    if start_index is not None:
        start[axis] = _int("slice_in_dim", "start_index", start_index)
        start[axis] += size if start[axis] < 0 else 0
    if limit_index is not None:
        limit[axis] = _int("slice_in_dim", "limit_index", limit_index)
        limit[axis] += size if limit[axis] < 0 else 0
    strides[axis] = stride
    return slice(operand, start, limit, strides)


def rev(operand, dimensions: Sequence[int]):
    """``operand`` reversed along ``dimensions``."""
    operand = _arr(operand, "rev")
    dims = set(_axes("rev", "dimensions", dimensions, operand.ndim))
    indexer = tuple(IndexSlice(None, None, -1 if i in dims else None) for i in range(operand.ndim))
    return indexing.gather_p.bind1(operand, indexer=indexer)


def _reducer(prim, name):
    def fn(operand, axes: Sequence[int]):
        operand = _arr(operand, name)
        return prim.bind1(operand, axes=tuple(sorted(_axes(name, "axes", axes, operand.ndim))))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``{name}`` over ``axes`` in the operand's own dtype."
    return fn


reduce_sum = _reducer(reductions.reduce_sum_p, "reduce_sum")
reduce_prod = _reducer(reductions.reduce_prod_p, "reduce_prod")
reduce_max = _reducer(reductions.reduce_max_p, "reduce_max")
reduce_min = _reducer(reductions.reduce_min_p, "reduce_min")
reduce_and = _reducer(reductions.reduce_and_p, "reduce_and")
reduce_or = _reducer(reductions.reduce_or_p, "reduce_or")


def _index_dtype(fname: str, index_dtype) -> np.dtype:
    dt = dtypes.canonicalize_dtype(index_dtype, f"funcgrad.lax.{fname}")
    if dt.kind not in "iu":
        raise TypeError(f"funcgrad.lax.{fname}: index_dtype must be an integer dtype, got {dt}")
    return dt


def argmax(operand, axis: int, index_dtype=np.int64):
    """Index of the largest element along ``axis`` (first one on ties; NaN counts as largest)."""
    operand = _arr(operand, "argmax")
    return reductions.argmax_p.bind1(
        operand, axis=_axis("argmax", "axis", axis, operand.ndim),
        index_dtype=_index_dtype("argmax", index_dtype),
    )  # fmt: skip


def argmin(operand, axis: int, index_dtype=np.int64):
    """Index of the smallest element along ``axis`` (first one on ties; NaN counts as smallest)."""
    operand = _arr(operand, "argmin")
    return reductions.argmin_p.bind1(
        operand, axis=_axis("argmin", "axis", axis, operand.ndim),
        index_dtype=_index_dtype("argmin", index_dtype),
    )  # fmt: skip


def _cumulative(prim, name):
    def fn(operand, axis: int = 0, reverse: bool = False):
        operand = _arr(operand, name)
        axis = _axis(name, "axis", axis, operand.ndim)
        return prim.bind1(operand, axis=axis, reverse=bool(reverse))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Running ``{name[3:]}`` along ``axis`` (from the end if ``reverse``)."
    return fn


cumsum = _cumulative(reductions.cumsum_p, "cumsum")
cumprod = _cumulative(reductions.cumprod_p, "cumprod")
cummax = _cumulative(reductions.cummax_p, "cummax")
cummin = _cumulative(reductions.cummin_p, "cummin")


def sort(operand, dimension: int = -1, is_stable: bool = True, num_keys: int = 1):
    """Sort one array, or a tuple of arrays by the lexicographic order of the first ``num_keys``.

    Sorting is always stable (``is_stable`` is accepted for JAX compatibility).
    """
    del is_stable
    single = not isinstance(operand, (tuple, list))
    operands = [_arr(x, "sort") for x in ([operand] if single else operand)]
    if not operands:
        raise ValueError("funcgrad.lax.sort: needs at least one operand")
    num_keys = _int("sort", "num_keys", num_keys)
    if not 1 <= num_keys <= len(operands):
        raise ValueError(
            f"funcgrad.lax.sort: num_keys={num_keys} must be between 1 and the number of "
            f"operands, {len(operands)}"
        )
    _check_same_shape("sort", *operands)
    dimension = _axis("sort", "dimension", dimension, operands[0].ndim)
    out = sorting.sort_p.bind(*operands, dimension=dimension, num_keys=num_keys)
    return out[0] if single else tuple(out)


def dot_general(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
    """Contract ``lhs`` and ``rhs``: ``dimension_numbers = ((lhs_contract, rhs_contract),
    (lhs_batch, rhs_batch))``. The result's axes are batch, then lhs free, then rhs free.

    Contracted and batch axes must have equal sizes on both sides (no broadcasting), and
    axes are non-negative, as in JAX.
    """
    del precision
    lhs, rhs = _arr(lhs, "dot_general"), _arr(rhs, "dot_general")
    _check_same_dtype("dot_general", lhs, rhs)
    try:
        (lc, rc), (lb, rb) = dimension_numbers
    except (TypeError, ValueError):
        raise TypeError(
            "funcgrad.lax.dot_general: dimension_numbers must be ((lhs_contracting, "
            f"rhs_contracting), (lhs_batch, rhs_batch)), got {dimension_numbers!r:.80}"
        ) from None
    dn = tuple(
        tuple(_ints("dot_general", "dimension_numbers", d) for d in pair)
        for pair in ((lc, rc), (lb, rb))
    )
    out = _bind1("dot_general", linalg.dot_general_p, lhs, rhs, dimension_numbers=dn)
    return (
        out if preferred_element_type is None else convert_element_type(out, preferred_element_type)
    )


def dot(lhs, rhs, precision=None, preferred_element_type=None):
    """Vector/matrix product contracting the last axis of ``lhs`` with the first of ``rhs``."""
    lhs, rhs = _arr(lhs, "dot"), _arr(rhs, "dot")
    if not (1 <= lhs.ndim <= 2 and 1 <= rhs.ndim <= 2):
        raise ValueError(
            f"funcgrad.lax.dot: operands must be vectors or matrices, got shapes {lhs.shape} "
            f"and {rhs.shape}; use dot_general for other ranks"
        )
    dn = (((lhs.ndim - 1,), (0,)), ((), ()))
    return dot_general(lhs, rhs, dn, precision, preferred_element_type)


# --- argument checks ------------------------------------------------------------------
# Eager evaluation skips abstract evaluation for speed, so each wrapper normalises its
# static arguments and runs the primitive's shape rule itself: bad arguments fail here,
# on every path, with the lax name, instead of being wrapped or broadcast by the kernel.


def _int(fname: str, argname: str, v: Any) -> int:
    if type(v) is bool or isinstance(v, np.bool_):
        raise TypeError(f"funcgrad.lax.{fname}: {argname} must be an integer, got {v!r}")
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(
            f"funcgrad.lax.{fname}: {argname} must be an integer, got {type(v).__name__} {v!r:.40}"
        ) from None


def _ints(fname: str, argname: str, seq: Any) -> tuple[int, ...]:
    if isinstance(seq, (str, bytes)) or not hasattr(seq, "__iter__"):
        raise TypeError(
            f"funcgrad.lax.{fname}: {argname} must be a sequence of integers, got {seq!r:.60}"
        )
    return tuple(_int(fname, argname, v) for v in seq)


def _shape(fname: str, argname: str, shape: Any) -> tuple[int, ...]:
    out = _ints(fname, argname, shape)
    if any(d < 0 for d in out):
        raise ValueError(f"funcgrad.lax.{fname}: {argname} {out} has a negative size")
    return out


def _axis(fname: str, argname: str, axis: Any, ndim: int) -> int:
    axis = _int(fname, argname, axis)
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(
            f"funcgrad.lax.{fname}: {argname}={axis} is out of bounds for an operand of "
            f"rank {ndim}"
        )
    return axis % ndim


def _axes(fname: str, argname: str, axes: Any, ndim: int) -> tuple[int, ...]:
    out = tuple(_axis(fname, argname, a, ndim) for a in _ints(fname, argname, axes))
    if len(set(out)) != len(out):
        raise ValueError(f"funcgrad.lax.{fname}: repeated axis in {argname}={tuple(axes)}")
    return out


def _check_size(fname: str, shape: tuple[int, ...], dtype: Any) -> None:
    from funcgrad._src.numpy.util import check_allocation

    check_allocation(f"funcgrad.lax.{fname}", shape, dtype)


def _bind1(fname: str, prim, *args, **params):
    """``prim.bind1(*args, **params)`` after its shape rule accepted the operands."""
    try:
        prim.abstract_eval(*(get_aval(a) for a in args), **params)
    except (TypeError, ValueError, IndexError) as e:
        msg = str(e)
        prefix = f"{prim.name}: "
        msg = msg[len(prefix):] if msg.startswith(prefix) else msg
        raise type(e)(f"funcgrad.lax.{fname}: {msg}") from None
    return prim.bind1(*args, **params)


__all__ = [
    "argmax", "argmin", "broadcast", "broadcast_in_dim", "broadcasted_iota",
    "clamp", "concatenate", "convert_element_type", "cummax", "cummin", "cumprod", "cumsum",
    "dot", "dot_general", "expand_dims", "full", "full_like", "integer_pow", "iota", "logistic",
    "pad", "reduce_and", "reduce_max", "reduce_min", "reduce_or", "reduce_prod", "reduce_sum",
    "reshape", "rev", "rsqrt", "select", "slice", "slice_in_dim", "sort", "square", "squeeze",
    "transpose",
]  # fmt: skip
