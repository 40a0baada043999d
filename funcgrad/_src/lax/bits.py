"""Bit-level operations: the ``bitcast_convert_type`` primitive and what is built on it.

``bitcast_convert_type`` reinterprets the bits of each element as another dtype (NumPy's
``view``): of equal width, the shape is kept; to a narrower dtype a trailing axis of
``old_width / new_width`` entries is added; to a wider one the trailing axis of that
many entries is consumed, as in JAX. It has no derivative (its tangent is zero).

``reduce_precision`` is a primitive working on the float's bits (round to nearest even
on the mantissa, overflow to infinity, as XLA does), linear by decree as in JAX.
``population_count``, ``clz`` and ``shift_right_logical`` are compositions of integer
elementwise primitives.
"""

from __future__ import annotations

import numpy as np

from funcgrad._src.core import Primitive, ShapedArray, get_aval, is_array_like
from funcgrad._src.interpreters.ad import Zero, defjvp_zero, deflinear
from funcgrad._src.interpreters.batching import defbroadcasting, moveaxis

__all__ = [
    "bitcast_convert_type", "clz", "population_count", "reduce_precision",
    "shift_right_logical",
]  # fmt: skip

bitcast_convert_type_p = Primitive("bitcast_convert_type")


def _bitcast_shape(fname: str, shape: tuple, old: np.dtype, new: np.dtype) -> tuple:
    if old.itemsize == new.itemsize:
        return shape
    if old.itemsize > new.itemsize:
        return (*shape, old.itemsize // new.itemsize)
    ratio = new.itemsize // old.itemsize
    if not shape or shape[-1] != ratio:
        raise ValueError(
            f"{fname}: converting {old} to the wider {new} needs a trailing axis of size "
            f"{ratio}, got an operand of shape {shape}"
        )
    return shape[:-1]


def _contiguous(xp, x):
    # (ascontiguousarray would turn a 0-d array into a 1-d one)
    x = xp.asarray(x)
    return x if x.flags.c_contiguous else xp.array(x, order="C", copy=True)


def _bitcast_impl(backend, x, *, new_dtype):
    xp = backend.xp
    x = _contiguous(xp, x)
    old = x.dtype
    if old.itemsize == new_dtype.itemsize:
        return [x.view(new_dtype)]
    if old.itemsize > new_dtype.itemsize:  # (a 0-d array cannot change its itemsize)
        return [x.reshape(x.shape + (1,)).view(new_dtype).reshape(
            _bitcast_shape("", x.shape, old, new_dtype))]
    return [x.view(new_dtype).reshape(x.shape[:-1])]


def _bitcast_abstract_eval(x, *, new_dtype):
    if x.dtype.kind == "b" or new_dtype.kind == "b":
        raise TypeError(f"bitcast_convert_type: bool is not bitcastable ({x.dtype} -> {new_dtype})")
    return [ShapedArray(_bitcast_shape("bitcast_convert_type", x.shape, x.dtype, new_dtype), new_dtype)]


def _bitcast_batch(args, dims, *, new_dtype):
    (x,), (d,) = args, dims
    # the batch axis must not be the trailing axis the conversion may consume
    x = moveaxis(x, d, 0)
    return [bitcast_convert_type_p.bind1(x, new_dtype=new_dtype)], [0]


bitcast_convert_type_p.impl = _bitcast_impl
bitcast_convert_type_p.abstract_eval = _bitcast_abstract_eval
bitcast_convert_type_p.batch = _bitcast_batch
defjvp_zero(bitcast_convert_type_p)


def _fnp():
    import funcgrad.numpy as fnp

    return fnp


def _as_array(x):
    return x if is_array_like(x) else _fnp().asarray(x)


def bitcast_convert_type(operand, new_dtype):
    """The bits of ``operand`` reinterpreted as ``new_dtype`` (see the module docstring).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> hex(int(lax.bitcast_convert_type(fnp.float32(1.0), fnp.uint32)))
        '0x3f800000'
        >>> lax.bitcast_convert_type(fnp.asarray([1], fnp.uint16), fnp.uint8).shape
        (1, 2)
    """
    operand = _as_array(operand)
    new_dtype = np.dtype(new_dtype)
    _bitcast_abstract_eval(get_aval(operand), new_dtype=new_dtype)
    return bitcast_convert_type_p.bind1(operand, new_dtype=new_dtype)


def _unsigned(dtype: np.dtype) -> np.dtype:
    return np.dtype(f"u{dtype.itemsize}")


def _check_int(fname: str, x) -> None:
    if x.dtype.kind not in "iu":
        raise TypeError(f"funcgrad.lax.{fname}: the operand must be an integer array, got {x.dtype}")


def shift_right_logical(x, y):
    """``x >> y`` filling with zeros (the bits of a signed ``x`` are shifted as unsigned);
    shifts of the bit width or more give 0, as in XLA.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> int(lax.shift_right_logical(fnp.int8(-128), fnp.int8(7)))
        1
    """
    fnp = _fnp()
    x, y = _as_array(x), _as_array(y)
    _check_int("shift_right_logical", x)
    u = _unsigned(x.dtype)
    xu = bitcast_convert_type(x, u) if x.dtype != u else x
    yu = y.astype(u)
    bits = 8 * x.dtype.itemsize
    out = fnp.where(yu >= bits, u.type(0), xu >> fnp.minimum(yu, u.type(bits - 1)))
    return bitcast_convert_type(out, x.dtype) if x.dtype != u else out


def population_count(x):
    """The number of set bits of each element (of the two's complement bits for signed).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.population_count(fnp.asarray([0, 7, -1], fnp.int8)).tolist()
        [0, 3, 8]
    """
    x = _as_array(x)
    _check_int("population_count", x)
    u = _unsigned(x.dtype)
    v = bitcast_convert_type(x, u) if x.dtype != u else x
    bits = 8 * u.itemsize
    # SWAR popcount (Hacker's Delight 5-1): pairwise sums of ever wider bit fields
    m1, m2, m4 = (u.type(int(p * (bits // 8), 16)) for p in ("55", "33", "0f"))
    v = v - ((v >> u.type(1)) & m1)
    v = (v & m2) + ((v >> u.type(2)) & m2)
    v = (v + (v >> u.type(4))) & m4
    shift = 8
    while shift < bits:
        v = v + (v >> u.type(shift))
        shift *= 2
    v = v & u.type(0xFF)
    return v.astype(x.dtype)


def clz(x):
    """The number of leading zero bits of each element (the bit width for 0).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.clz(fnp.asarray([0, 1, 255, -1], fnp.int32)).tolist()
        [32, 31, 24, 0]
    """
    x = _as_array(x)
    _check_int("clz", x)
    u = _unsigned(x.dtype)
    v = bitcast_convert_type(x, u) if x.dtype != u else x
    bits = 8 * u.itemsize
    # smear the highest set bit into every lower position; clz = bits - popcount
    shift = 1
    while shift < bits:
        v = v | (v >> u.type(shift))
        shift *= 2
    return (bits - population_count(v).astype(np.int64)).astype(x.dtype)


_FLOAT_LAYOUT = {2: (5, 10), 4: (8, 23), 8: (11, 52)}  # itemsize: (exponent, mantissa) bits


def reduce_precision(operand, exponent_bits: int, mantissa_bits: int):
    """``operand`` rounded to a float format with the given exponent and mantissa bits,
    kept in its own dtype (XLA's ReducePrecision: round to nearest even, values beyond
    the format's range become infinities, values below its smallest normal become
    signed zeros, NaNs stay NaN). Differentiable: the tangent is rounded the same way,
    as in JAX.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> float(lax.reduce_precision(fnp.float32(1.0 + 2**-9), 8, 7))  # to bfloat16
        1.0
        >>> float(lax.reduce_precision(fnp.float32(70000.0), 5, 10))  # float16 overflows
        inf
    """
    operand = _as_array(operand)
    if operand.dtype.kind != "f":
        raise TypeError(
            f"funcgrad.lax.reduce_precision: the operand must be a float array, got {operand.dtype}"
        )
    exponent_bits, mantissa_bits = int(exponent_bits), int(mantissa_bits)
    if exponent_bits < 1 or mantissa_bits < 0:
        raise ValueError(
            f"funcgrad.lax.reduce_precision: need exponent_bits >= 1 and mantissa_bits >= 0, "
            f"got {exponent_bits} and {mantissa_bits}"
        )
    return _reduce_precision(operand, exponent_bits, mantissa_bits)


def _reduce_precision_impl(backend, x, *, exponent_bits, mantissa_bits):
    xp = backend.xp
    x = xp.asarray(x)
    src_exp, src_mant = _FLOAT_LAYOUT[x.dtype.itemsize]
    u = _unsigned(x.dtype)
    c = u.type
    v = _contiguous(xp, x).view(u)
    if mantissa_bits < src_mant:
        drop = src_mant - mantissa_bits
        ties_to_even = (v >> c(drop)) & c(1)
        keep = c(~((1 << drop) - 1) & ((1 << 8 * u.itemsize) - 1))
        v = (v + ties_to_even + c((1 << (drop - 1)) - 1)) & keep
    if exponent_bits < src_exp:
        sign_mask = c(1 << (8 * u.itemsize - 1))
        exp_mask = c(((1 << src_exp) - 1) << src_mant)
        bias, reduced_bias = (1 << (src_exp - 1)) - 1, (1 << (exponent_bits - 1)) - 1
        exponent = v & exp_mask
        signed_zero = v & sign_mask
        v = xp.where(exponent > c((bias + reduced_bias) << src_mant), signed_zero | exp_mask, v)
        v = xp.where(exponent <= c((bias - reduced_bias) << src_mant), signed_zero, v)
    out = v.view(x.dtype)
    if mantissa_bits > 0:
        out = xp.where(xp.isnan(x), x, out)
    return [out]


def _reduce_precision_abstract_eval(x, *, exponent_bits, mantissa_bits):
    if x.dtype.kind != "f":
        raise TypeError(f"reduce_precision: the operand must be a float array, got {x.dtype}")
    return [ShapedArray(x.shape, x.dtype)]


reduce_precision_p = Primitive("reduce_precision")
reduce_precision_p.impl = _reduce_precision_impl
reduce_precision_p.abstract_eval = _reduce_precision_abstract_eval
# Linear by decree, as in JAX: tangents and cotangents are rounded the same way.
deflinear(
    reduce_precision_p,
    lambda cts, x, **params: [
        cts[0] if type(cts[0]) is Zero else reduce_precision_p.bind1(cts[0], **params)
    ],
)
defbroadcasting(reduce_precision_p)


def _reduce_precision(x, exponent_bits, mantissa_bits):
    return reduce_precision_p.bind1(x, exponent_bits=exponent_bits, mantissa_bits=mantissa_bits)
