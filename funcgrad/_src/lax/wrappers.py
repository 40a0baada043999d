"""User-facing wrappers of the primitives (``funcgrad.lax``), with JAX's names and signatures.

Unlike ``funcgrad.numpy``, lax functions do not broadcast or promote: operands must
already agree in shape (0-d operands excepted) and dtype, and errors say so. Python
scalars are weak and take the other operand's dtype.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.core import Array, Tracer
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
    return ew.select_p.bind1(pred, on_true, on_false)


def clamp(min, x, max):  # noqa: A002  (JAX's argument names)
    """``x`` clipped elementwise to ``[min, max]``."""
    x = _arr(x, "clamp")
    return ew.min_p.bind1(ew.max_p.bind1(x, _arr(min, "clamp")), _arr(max, "clamp"))


def integer_pow(x, y: int):
    """``x ** y`` for a static Python integer ``y`` (by repeated multiplication)."""
    x = _arr(x, "integer_pow")
    if not isinstance(y, int):
        raise TypeError(f"funcgrad.lax.integer_pow: the exponent must be a Python int, got {y!r}")
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
    """An array of ``shape`` filled with ``fill_value``."""
    from funcgrad._src.numpy.creation import full as fnp_full

    return fnp_full(shape, fill_value, dtype)


def full_like(x, fill_value, dtype=None, shape=None):
    """Like ``x`` (or with ``shape``), filled with ``fill_value``."""
    return full(
        x.shape if shape is None else shape, fill_value, x.dtype if dtype is None else dtype
    )


def broadcast_in_dim(operand, shape: Sequence[int], broadcast_dimensions: Sequence[int]):
    """``operand`` broadcast to ``shape``; its axis ``i`` becomes axis ``broadcast_dimensions[i]``."""
    operand = _arr(operand, "broadcast_in_dim")
    return structural.broadcast_in_dim_p.bind1(
        operand, shape=tuple(shape), broadcast_dimensions=tuple(broadcast_dimensions)
    )


def broadcast(operand, sizes: Sequence[int]):
    """``operand`` with new leading axes of the given ``sizes``."""
    operand = _arr(operand, "broadcast")
    n = len(sizes)
    return broadcast_in_dim(operand, (*sizes, *operand.shape), range(n, n + operand.ndim))


def reshape(operand, new_sizes: Sequence[int], dimensions: Sequence[int] | None = None):
    """``operand`` (transposed by ``dimensions`` first, if given) reshaped to ``new_sizes``."""
    operand = _arr(operand, "reshape")
    if dimensions is not None:
        operand = transpose(operand, dimensions)
    return structural.reshape_p.bind1(operand, new_sizes=tuple(int(d) for d in new_sizes))


def transpose(operand, permutation: Sequence[int]):
    """``operand`` with axes permuted: output axis ``i`` is input axis ``permutation[i]``."""
    return structural.transpose_p.bind1(_arr(operand, "transpose"), permutation=tuple(permutation))


def squeeze(array, dimensions: Sequence[int]):
    """``array`` without the size-1 axes ``dimensions``."""
    array = _arr(array, "squeeze")
    dims = {d % array.ndim for d in dimensions}
    if any(array.shape[d] != 1 for d in dims):
        raise ValueError(
            f"funcgrad.lax.squeeze: axes {sorted(dims)} of shape {array.shape} are not all 1"
        )
    return reshape(array, [s for i, s in enumerate(array.shape) if i not in dims])


def expand_dims(array, dimensions: Sequence[int]):
    """``array`` with size-1 axes inserted at ``dimensions`` (positions in the result)."""
    array = _arr(array, "expand_dims")
    ndim = array.ndim + len(dimensions)
    dims = sorted(d % ndim for d in dimensions)
    shape = list(array.shape)
    for d in dims:
        shape.insert(d, 1)
    return reshape(array, shape)


def concatenate(operands: Sequence[Any], dimension: int):
    """The operands joined along ``dimension``."""
    operands = [_arr(x, "concatenate") for x in operands]
    if not operands:
        raise ValueError("funcgrad.lax.concatenate: needs at least one operand")
    return structural.concatenate_p.bind1(*operands, dimension=dimension % operands[0].ndim)


def pad(operand, padding_value, padding_config: Sequence[tuple[int, int, int]]):
    """``operand`` padded with ``padding_value``: ``(low, high, interior)`` per axis; negative
    low/high crop."""
    operand = _arr(operand, "pad")
    value = convert_element_type(padding_value, operand.dtype)
    return structural.pad_p.bind1(
        operand, value, padding_config=tuple(tuple(int(v) for v in c) for c in padding_config)
    )


def iota(dtype, size: int):
    """``[0, 1, ..., size - 1]`` of ``dtype``."""
    return broadcasted_iota(dtype, (size,), 0)


def broadcasted_iota(dtype, shape: Sequence[int], dimension: int):
    """An array of ``shape`` whose values count along ``dimension``."""
    dtype = dtypes.canonicalize_dtype(dtype, "funcgrad.lax.broadcasted_iota")
    return structural.iota_p.bind1(dtype=dtype, shape=tuple(shape), dimension=dimension)


def slice(operand, start_indices, limit_indices, strides=None):  # noqa: A001  (JAX's name)
    """``operand[start:limit:stride]`` along every axis (static bounds)."""
    operand = _arr(operand, "slice")
    strides = strides or (1,) * operand.ndim
    indexer = tuple(
        IndexSlice(int(a), int(b), int(s)) for a, b, s in zip(start_indices, limit_indices, strides)
    )
    return indexing.gather_p.bind1(operand, indexer=indexer)


def slice_in_dim(operand, start_index, limit_index, stride=1, axis=0):
    """``operand`` sliced along one ``axis``."""
    operand = _arr(operand, "slice_in_dim")
    axis %= operand.ndim
    start = [0] * operand.ndim
    limit = list(operand.shape)
    strides = [1] * operand.ndim
    start[axis] = start_index if start_index is not None else 0
    limit[axis] = limit_index if limit_index is not None else operand.shape[axis]
    strides[axis] = stride
    return slice(operand, start, limit, strides)


def rev(operand, dimensions: Sequence[int]):
    """``operand`` reversed along ``dimensions``."""
    operand = _arr(operand, "rev")
    dims = {d % operand.ndim for d in dimensions}
    indexer = tuple(IndexSlice(None, None, -1 if i in dims else None) for i in range(operand.ndim))
    return indexing.gather_p.bind1(operand, indexer=indexer)


def _reducer(prim, name):
    def fn(operand, axes: Sequence[int]):
        operand = _arr(operand, name)
        return prim.bind1(operand, axes=tuple(sorted(a % operand.ndim for a in axes)))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``{name}`` over ``axes`` in the operand's own dtype."
    return fn


reduce_sum = _reducer(reductions.reduce_sum_p, "reduce_sum")
reduce_prod = _reducer(reductions.reduce_prod_p, "reduce_prod")
reduce_max = _reducer(reductions.reduce_max_p, "reduce_max")
reduce_min = _reducer(reductions.reduce_min_p, "reduce_min")
reduce_and = _reducer(reductions.reduce_and_p, "reduce_and")
reduce_or = _reducer(reductions.reduce_or_p, "reduce_or")


def argmax(operand, axis: int, index_dtype=np.int64):
    """Index of the largest element along ``axis`` (first one on ties; NaN counts as largest)."""
    operand = _arr(operand, "argmax")
    return reductions.argmax_p.bind1(
        operand, axis=axis % operand.ndim, index_dtype=np.dtype(index_dtype)
    )


def argmin(operand, axis: int, index_dtype=np.int64):
    """Index of the smallest element along ``axis`` (first one on ties; NaN counts as smallest)."""
    operand = _arr(operand, "argmin")
    return reductions.argmin_p.bind1(
        operand, axis=axis % operand.ndim, index_dtype=np.dtype(index_dtype)
    )


def _cumulative(prim, name):
    def fn(operand, axis: int = 0, reverse: bool = False):
        operand = _arr(operand, name)
        return prim.bind1(operand, axis=axis % operand.ndim, reverse=bool(reverse))

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
    out = sorting.sort_p.bind(*operands, dimension=dimension % operands[0].ndim, num_keys=num_keys)
    return out[0] if single else tuple(out)


def dot_general(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
    """Contract ``lhs`` and ``rhs``: ``dimension_numbers = ((lhs_contract, rhs_contract),
    (lhs_batch, rhs_batch))``. The result's axes are batch, then lhs free, then rhs free."""
    del precision
    lhs, rhs = _arr(lhs, "dot_general"), _arr(rhs, "dot_general")
    _check_same_dtype("dot_general", lhs, rhs)
    (lc, rc), (lb, rb) = dimension_numbers
    dn = ((tuple(lc), tuple(rc)), (tuple(lb), tuple(rb)))
    out = linalg.dot_general_p.bind1(lhs, rhs, dimension_numbers=dn)
    return (
        out if preferred_element_type is None else convert_element_type(out, preferred_element_type)
    )


def dot(lhs, rhs, precision=None, preferred_element_type=None):
    """Vector/matrix product contracting the last axis of ``lhs`` with the first of ``rhs``."""
    lhs, rhs = _arr(lhs, "dot"), _arr(rhs, "dot")
    dn = (((lhs.ndim - 1,), (0,)), ((), ()))
    return dot_general(lhs, rhs, dn, precision, preferred_element_type)


__all__ = [
    "argmax", "argmin", "broadcast", "broadcast_in_dim", "broadcasted_iota",
    "clamp", "concatenate", "convert_element_type", "cummax", "cummin", "cumprod", "cumsum",
    "dot", "dot_general", "expand_dims", "full", "full_like", "integer_pow", "iota", "logistic",
    "pad", "reduce_and", "reduce_max", "reduce_min", "reduce_or", "reduce_prod", "reduce_sum",
    "reshape", "rev", "rsqrt", "select", "slice", "slice_in_dim", "sort", "square", "squeeze",
    "transpose",
]  # fmt: skip
