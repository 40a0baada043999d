"""Small ``funcgrad.lax`` array operations with JAX's names (``reciprocal``, ``tile``,
``stack``, ``unstack``, ``empty``, ``mulhi``, ``broadcast_like``, ``dtype``), written as
compositions of the lax wrappers, so they differentiate, batch and compile through them.

Like the rest of ``funcgrad.lax`` they do not promote: operands that must agree in dtype
raise an error naming the function when they do not (Python scalars are weak and take the
array's dtype).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.lax import wrappers as _w
from funcgrad._src.lax.bits import bitcast_convert_type, shift_right_logical

__all__ = [
    "broadcast_like", "dtype", "empty", "mulhi", "reciprocal", "stack", "tile", "unstack",
]  # fmt: skip


def reciprocal(x):
    """Elementwise ``1 / x`` (``integer_pow(x, -1)``, as in JAX), for inexact dtypes.

    Integer operands are an error, as in JAX (an integer reciprocal would truncate).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.reciprocal(fnp.asarray([2.0, 4.0])).tolist()
        [0.5, 0.25]
    """
    return _w.integer_pow(x, -1)


def tile(operand, reps: Sequence[int]):
    """``operand`` repeated ``reps[i]`` times along each axis ``i``; ``reps`` has one entry
    per axis (unlike ``numpy.tile``, which pads ``reps``), as in JAX.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.tile(fnp.asarray([[1, 2], [3, 4]]), (2, 3)).tolist()
        [[1, 2, 1, 2, 1, 2], [3, 4, 3, 4, 3, 4], [1, 2, 1, 2, 1, 2], [3, 4, 3, 4, 3, 4]]
    """
    operand = _w._arr(operand, "tile")
    try:
        reps = tuple(operator.index(r) for r in reps)
    except TypeError:
        raise TypeError(
            f"funcgrad.lax.tile: reps must be a sequence of ints, got {reps!r}"
        ) from None
    shape = np.shape(operand)
    if len(reps) != len(shape):
        raise ValueError(
            f"funcgrad.lax.tile: reps must have one entry per axis of the operand, got "
            f"len(reps)={len(reps)} for shape {shape}; use funcgrad.numpy.tile to pad reps"
        )
    if any(r < 0 for r in reps):
        raise ValueError(f"funcgrad.lax.tile: reps must be non-negative, got {reps}")
    # (r0, d0, r1, d1, ...) then merge each (ri, di) pair: a broadcast and a reshape
    interleaved = tuple(s for pair in zip(reps, shape) for s in pair)
    wide = _w.broadcast_in_dim(operand, interleaved, range(1, 2 * len(shape), 2))
    return _w.reshape(wide, [r * d for r, d in zip(reps, shape)])


def stack(operands: Sequence[Any], axis: int = 0):
    """The operands (one shape, one dtype) joined along a new axis ``axis``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.stack([fnp.asarray([1, 2]), fnp.asarray([3, 4])], axis=1).tolist()
        [[1, 3], [2, 4]]
    """
    operands = [_w._arr(x, "stack") for x in operands]
    if not operands:
        raise ValueError("funcgrad.lax.stack: needs at least one operand")
    _w._check_same_dtype("stack", *operands)
    shapes = {np.shape(x) for x in operands}
    if len(shapes) > 1:
        raise ValueError(
            f"funcgrad.lax.stack: operands must have one shape, got "
            f"{', '.join(str(np.shape(x)) for x in operands)}"
        )
    ndim = len(shapes.pop())
    axis = _w._axis("stack", "axis", axis, ndim + 1)
    return _w.concatenate([_w.expand_dims(x, (axis,)) for x in operands], axis)


def unstack(x, axis: int = 0):
    """A tuple of the slices of ``x`` along ``axis``, each without that axis.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> [p.tolist() for p in lax.unstack(fnp.asarray([[1, 2], [3, 4]]), axis=1)]
        [[1, 3], [2, 4]]
    """
    x = _w._arr(x, "unstack")
    if type(x) in _w._WEAK or x.ndim == 0:
        raise ValueError("funcgrad.lax.unstack: x must have at least one axis, got a 0-d value")
    axis = _w._axis("unstack", "axis", axis, x.ndim)
    n = x.shape[axis]
    return tuple(_w.squeeze(_w.slice_in_dim(x, i, i + 1, axis=axis), (axis,)) for i in range(n))


def empty(shape, dtype, *, out_sharding=None):
    """An array of ``shape`` and ``dtype`` whose values are unspecified.

    JAX leaves the contents to the backend; funcgrad fills it with zeros, so programs that
    read it by mistake stay deterministic. ``out_sharding`` is accepted for JAX
    compatibility and must be None (funcgrad arrays live on one device).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.empty(3, fnp.float32).shape, lax.empty((2, 2), "int32").dtype
        ((3,), dtype('int32'))
    """
    if out_sharding is not None:
        raise ValueError(
            f"funcgrad.lax.empty: out_sharding must be None (funcgrad has no sharding), got "
            f"{out_sharding!r}"
        )
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    dt = dtypes.canonicalize_dtype(dtype, "funcgrad.lax.empty")
    return _w.full(shape, 0, dt)


_add, _sub, _mul, _lt = (_w.ELEMENTWISE[n] for n in ("add", "sub", "mul", "lt"))
_and, _shr = _w.ELEMENTWISE["bitwise_and"], _w.ELEMENTWISE["shift_right_arithmetic"]
_U64 = np.dtype(np.uint64)


def _mulhi_unsigned64(a, b):
    """High 64 bits of ``a * b`` for uint64 ``a``, ``b``, from their 32-bit halves (the
    128-bit product fits no dtype): schoolbook multiplication with the middle carry."""
    mask, shift = np.array(2**32 - 1, _U64), np.array(32, _U64)
    a0, a1 = _and(a, mask), shift_right_logical(a, shift)
    b0, b1 = _and(b, mask), shift_right_logical(b, shift)
    lo_lo, lo_hi, hi_lo, hi_hi = _mul(a0, b0), _mul(a0, b1), _mul(a1, b0), _mul(a1, b1)
    # each term is below 2**32, so the sum (< 2**34) cannot overflow
    middle = _add(_add(_and(lo_hi, mask), _and(hi_lo, mask)), shift_right_logical(lo_lo, shift))
    high = _add(hi_hi, shift_right_logical(lo_hi, shift))
    high = _add(high, shift_right_logical(hi_lo, shift))
    return _add(high, shift_right_logical(middle, shift))


def mulhi(x, y, /):
    """Elementwise multiply-high: the upper N bits of the 2N-bit product of N-bit integers
    (signed products in two's complement, as in JAX).

    Both operands must have one integer dtype and one shape (0-d operands and Python ints
    broadcast). Integer results have no derivative.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.mulhi(fnp.asarray([2**31, 5], fnp.uint32), fnp.asarray([6, 7], fnp.uint32)).tolist()
        [3, 0]
        >>> lax.mulhi(fnp.asarray([-5], fnp.int32), fnp.asarray([7], fnp.int32)).tolist()
        [-1]
    """
    x, y = _w._arr(x, "mulhi"), _w._arr(y, "mulhi")
    _w._check_same_dtype("mulhi", x, y)
    dt = np.dtype(x.dtype if type(x) not in _w._WEAK else y.dtype)
    if dt.kind not in "iu":
        raise TypeError(f"funcgrad.lax.mulhi: operands must have an integer dtype, got {dt}")
    _w._check_same_shape("mulhi", x, y)
    x, y = (_w.full((), v, dt) if type(v) in _w._WEAK else v for v in (x, y))
    if dt.itemsize < 8:
        # the exact product fits in 64 bits: widen, multiply, keep the high half
        wide = np.dtype(np.int64 if dt.kind == "i" else np.uint64)
        prod = _mul(_w.convert_element_type(x, wide), _w.convert_element_type(y, wide))
        bits = np.array(8 * dt.itemsize, wide)
        high = _shr(prod, bits) if dt.kind == "i" else shift_right_logical(prod, bits)
        return _w.convert_element_type(high, dt)
    if dt.kind == "u":
        return _mulhi_unsigned64(x, y)
    # signed: hi(x*y) = hi_unsigned(x, y) - (y if x < 0) - (x if y < 0)   (mod 2**64)
    xu, yu = bitcast_convert_type(x, _U64), bitcast_convert_type(y, _U64)
    high = _mulhi_unsigned64(xu, yu)
    zero, izero = _w.full((), 0, _U64), np.array(0, dt)
    high = _sub(high, _w.select(_lt(x, izero), yu, _w.full_like(yu, zero)))
    high = _sub(high, _w.select(_lt(y, izero), xu, _w.full_like(xu, zero)))
    return bitcast_convert_type(high, dt)


def broadcast_like(arr, like_arr):
    """``arr`` broadcast (NumPy rules: trailing axes aligned) to the shape of ``like_arr``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.broadcast_like(fnp.asarray([1, 2, 3]), fnp.zeros((2, 3))).tolist()
        [[1, 2, 3], [1, 2, 3]]
    """
    arr = _w._arr(arr, "broadcast_like")
    target = tuple(np.shape(like_arr))
    shape = np.shape(arr)
    if len(shape) > len(target) or any(s not in (1, t) for s, t in zip(shape[::-1], target[::-1])):
        raise ValueError(
            f"funcgrad.lax.broadcast_like: arr of shape {shape} does not broadcast to "
            f"like_arr's shape {target}"
        )
    lead = len(target) - len(shape)
    # size-1 axes that grow are dropped first: broadcast_in_dim maps them to the new size
    keep = [i for i, s in enumerate(shape) if s == target[lead + i]]
    squeezed = _w.reshape(arr, [shape[i] for i in keep]) if len(keep) != len(shape) else arr
    return _w.broadcast_in_dim(squeezed, target, [lead + i for i in keep])


def dtype(x: Any) -> np.dtype:
    """The dtype funcgrad gives a value or type: an array's own dtype; for Python scalars
    and their types the default dtypes (bool, int64, float64, complex128: funcgrad
    computes in 64 bits by default, as JAX with ``jax_enable_x64``); NumPy dtypes, scalar
    types and names as they are. Dtypes funcgrad does not support (object, strings,
    float128, ...) raise TypeError.

    Unlike ``funcgrad.numpy.dtype`` (``numpy.dtype`` itself), this reads the dtype *of*
    a value.

    Examples:
        >>> import numpy as np
        >>> from funcgrad import lax
        >>> lax.dtype(1.0), lax.dtype(np.float32), lax.dtype(np.ones(2, np.int8))
        (dtype('float64'), dtype('float32'), dtype('int8'))
    """
    if x is None:
        raise ValueError("funcgrad.lax.dtype: got None; pass a value, a dtype or a scalar type")
    if isinstance(x, type) and x in (bool, int, float, complex):
        return dtypes.weak_scalar_dtype(x(0))
    if type(x) in (bool, int, float, complex):
        return dtypes.weak_scalar_dtype(x)
    if isinstance(x, (str, np.dtype, type)):
        found = np.dtype(x)
    elif isinstance(getattr(x, "dtype", None), np.dtype):
        found = x.dtype
    else:
        try:
            found = np.result_type(x)
        except TypeError as e:
            raise TypeError(
                f"funcgrad.lax.dtype: cannot determine the dtype of {type(x).__name__} value; "
                f"pass an array, a scalar, a dtype or a dtype name"
            ) from e
    return dtypes.canonicalize_dtype(found, "funcgrad.lax.dtype")
