"""Elementwise functions of funcgrad.numpy: NumPy's ufuncs and their compositions.

A ufunc wrapper converts its inputs (Python scalars stay weak literals), casts them
to the input dtypes of the loop NumPy itself would pick (so dtype results are
NumPy 2's, NEP 50 included), broadcasts, and binds one elementwise primitive.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.core import Array, Primitive, Tracer
from funcgrad._src.lax import elementwise as ew
from funcgrad._src.numpy.util import asarray, broadcast_operands, convert, operand

_WEAK = (bool, int, float, complex)


# NumPy's resolver takes Python int/float/complex as weak scalars; a Python bool is the
# lowest kind anyway, so it is passed as the bool dtype.
_RESOLVER_KEYS = {bool: np.dtype(np.bool_), int: int, float: float, complex: complex}


def _resolver_key(a: Any) -> Any:
    if type(a) in _WEAK:
        return _RESOLVER_KEYS[type(a)]
    if isinstance(a, Tracer):
        weak = dtypes.weak_type_of(a)  # a traced Python scalar (jit argument) is weak too
        if weak is not None:
            return _RESOLVER_KEYS[weak]
    return a.dtype


def _loop_dtypes(fname: str, ufunc_name: str, args: list) -> tuple:
    key = tuple(_resolver_key(a) for a in args)
    try:
        return ew.ufunc_loop_dtypes(ufunc_name, key)[0]
    except TypeError as e:
        raise TypeError(f"{fname}: {e}") from None


def _fast_path_cache(ufunc_name: str):
    """Cache: does the loop for these operand dtypes leave every *array* operand's dtype
    unchanged? Then promotion is a no-op and the wrapper can bind at once.

    Keys are tuples of dtypes and Python scalar types (``(float32, float)`` for
    ``x * 2.0``); Python scalars are weak literals the kernel absorbs.
    """
    cache: dict[tuple, bool] = {}

    def ok(key: tuple) -> bool:
        hit = cache.get(key)
        if hit is None:
            resolver_key = tuple(
                _RESOLVER_KEYS.get(k, k) if isinstance(k, type) else k for k in key
            )
            try:
                loop = ew.ufunc_loop_dtypes(ufunc_name, resolver_key)[0]
                hit = all(isinstance(k, type) or d == k for k, d in zip(key, loop))
                # a weak scalar must not change the result kind (int array * 2.5 -> float)
                hit = hit and all(d == loop[0] for d in loop)
            except TypeError:
                hit = False
            cache[key] = hit
        return hit

    return ok


def apply_ufunc(fname: str, prim: Primitive, ufunc_name: str, args: tuple) -> Any:
    """Promote, broadcast and bind: the general path of every ufunc wrapper."""
    args = [operand(a, fname) for a in args]
    if all(type(a) in _WEAK for a in args):
        args[0] = asarray(args[0], fname=fname)  # NumPy computes on scalars in default dtypes
    in_dtypes = _loop_dtypes(fname, ufunc_name, args)
    args = [convert(a, d) for a, d in zip(args, in_dtypes)]
    return prim.bind1(*broadcast_operands(fname, args))


def _unary(name: str, prim_name: str) -> Any:
    prim = ew.unary_primitives[prim_name]
    ufunc_name = ew.UNARY_UFUNCS[prim_name]
    fname = f"funcgrad.numpy.{name}"
    fast = _fast_path_cache(ufunc_name)

    def fn(x, /):
        t = type(x)
        if (t is Array or isinstance(x, Tracer)) and fast((x.dtype,)):
            return prim.bind1(x)
        return apply_ufunc(fname, prim, ufunc_name, (x,))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise ``numpy.{ufunc_name}``; see NumPy's documentation for the semantics."
    fn._names_itself = True  # one primitive: its errors name it (see numpy/errors.py)
    return fn


def _binary(name: str, prim_name: str) -> Any:
    prim = ew.binary_primitives[prim_name]
    ufunc_name = ew.BINARY_UFUNCS[prim_name]
    fname = f"funcgrad.numpy.{name}"
    fast = _fast_path_cache(ufunc_name)

    def fn(x1, x2, /):
        # Fast paths for the common eager cases; everything else goes through apply_ufunc.
        t1, t2 = type(x1), type(x2)
        a1 = t1 is Array or isinstance(x1, Tracer)
        a2 = t2 is Array or isinstance(x2, Tracer)
        if a1:
            if a2:
                if x1.shape == x2.shape and fast((x1.dtype, x2.dtype)):
                    return prim.bind1(x1, x2)
            elif t2 in _WEAK and fast((x1.dtype, t2)):
                return prim.bind1(x1, x2)
        elif a2 and t1 in _WEAK and fast((t1, x2.dtype)):
            return prim.bind1(x1, x2)
        return apply_ufunc(fname, prim, ufunc_name, (x1, x2))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (
        f"Elementwise ``numpy.{ufunc_name}`` with NumPy broadcasting and NEP 50 "
        f"promotion (Python scalars are weak)."
    )
    fn._names_itself = True
    return fn


# --- direct ufuncs (NumPy name, primitive name) ---------------------------------------

negative = _unary("negative", "neg")
absolute = _unary("absolute", "abs")
abs = absolute  # noqa: A001 (NumPy's name)
sign = _unary("sign", "sign")
floor = _unary("floor", "floor")
ceil = _unary("ceil", "ceil")
rint = _unary("rint", "round")
trunc = _unary("trunc", "trunc")
fix = trunc
exp = _unary("exp", "exp")
exp2 = _unary("exp2", "exp2")
expm1 = _unary("expm1", "expm1")
log = _unary("log", "log")
log2 = _unary("log2", "log2")
log10 = _unary("log10", "log10")
log1p = _unary("log1p", "log1p")
sqrt = _unary("sqrt", "sqrt")
cbrt = _unary("cbrt", "cbrt")
sin = _unary("sin", "sin")
cos = _unary("cos", "cos")
tan = _unary("tan", "tan")
arcsin = asin = _unary("arcsin", "asin")
arccos = acos = _unary("arccos", "acos")
arctan = atan = _unary("arctan", "atan")
sinh = _unary("sinh", "sinh")
cosh = _unary("cosh", "cosh")
tanh = _unary("tanh", "tanh")
arcsinh = asinh = _unary("arcsinh", "asinh")
arccosh = acosh = _unary("arccosh", "acosh")
arctanh = atanh = _unary("arctanh", "atanh")
conjugate = conj = _unary("conjugate", "conj")
real = _unary("real", "real")
imag = _unary("imag", "imag")
isfinite = _unary("isfinite", "is_finite")
isnan = _unary("isnan", "is_nan")
isinf = _unary("isinf", "is_inf")
invert = bitwise_not = bitwise_invert = _unary("invert", "not")
logical_not = _unary("logical_not", "logical_not")
signbit = _unary("signbit", "signbit")

add = _binary("add", "add")
subtract = _binary("subtract", "sub")
multiply = _binary("multiply", "mul")
divide = true_divide = _binary("true_divide", "div")
floor_divide = _binary("floor_divide", "floor_div")
remainder = mod = _binary("remainder", "rem")
fmod = _binary("fmod", "fmod")
power = pow = _binary("power", "pow")  # noqa: A001
maximum = _binary("maximum", "max")
minimum = _binary("minimum", "min")
fmax = _binary("fmax", "fmax")
fmin = _binary("fmin", "fmin")
arctan2 = atan2 = _binary("arctan2", "atan2")
hypot = _binary("hypot", "hypot")
logaddexp = _binary("logaddexp", "logaddexp")
logaddexp2 = _binary("logaddexp2", "logaddexp2")
copysign = _binary("copysign", "copysign")
nextafter = _binary("nextafter", "nextafter")
heaviside = _binary("heaviside", "heaviside")
bitwise_and = _binary("bitwise_and", "and")
bitwise_or = _binary("bitwise_or", "or")
bitwise_xor = _binary("bitwise_xor", "xor")
left_shift = bitwise_left_shift = _binary("left_shift", "shift_left")
right_shift = bitwise_right_shift = _binary("right_shift", "shift_right")
logical_and = _binary("logical_and", "logical_and")
logical_or = _binary("logical_or", "logical_or")
logical_xor = _binary("logical_xor", "logical_xor")
equal = _binary("equal", "eq")
not_equal = _binary("not_equal", "ne")
less = _binary("less", "lt")
less_equal = _binary("less_equal", "le")
greater = _binary("greater", "gt")
greater_equal = _binary("greater_equal", "ge")


# --- compositions ---------------------------------------------------------------------


def positive(x, /):
    """``+x``: the input itself (arrays are immutable, so no copy is needed)."""
    x = asarray(x, fname="funcgrad.numpy.positive")
    if dtypes.is_bool(x.dtype):
        raise TypeError("funcgrad.numpy.positive: not defined for bool arrays (as in NumPy)")
    return x


def square(x, /):
    """``x * x`` elementwise.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.square(fnp.array([1, -3])).tolist()
        [1, 9]
    """
    x = asarray(x, fname="funcgrad.numpy.square")
    if dtypes.is_bool(x.dtype):
        x = convert(x, dtypes.int8)  # NumPy's square of bool is int8
    return multiply(x, x)


def reciprocal(x, /):
    """``1 / x`` elementwise, in ``x``'s dtype (integer inputs truncate, as in NumPy)."""
    x = asarray(x, fname="funcgrad.numpy.reciprocal")
    if dtypes.is_inexact(x.dtype):
        return divide(1, x)
    return convert(trunc(divide(1, x)), x.dtype)


def divmod(x1, x2, /):  # noqa: A001 (NumPy's name)
    """``(floor_divide(x1, x2), remainder(x1, x2))``."""
    return floor_divide(x1, x2), remainder(x1, x2)


def float_power(x1, x2, /):
    """``x1 ** x2`` computed in at least float64 (complex128 for complex inputs)."""
    x1, x2 = asarray(x1), asarray(x2)
    kind = dtypes.complex128 if dtypes.is_complex(dtypes.result_type(x1, x2)) else dtypes.float64
    return power(convert(x1, kind), convert(x2, kind))


def deg2rad(x, /):
    """Degrees to radians."""
    return multiply(_as_ufunc_input(x, "deg2rad"), np.pi / 180)


def rad2deg(x, /):
    """Radians to degrees."""
    return multiply(_as_ufunc_input(x, "rad2deg"), 180 / np.pi)


radians, degrees = deg2rad, rad2deg


def angle(z, deg=False):
    """The argument of complex ``z`` (0 or pi for reals), in radians unless ``deg``."""
    z = asarray(z, fname="funcgrad.numpy.angle")
    a = arctan2(imag(z), real(z))
    return rad2deg(a) if deg else a


def sinc(x, /):
    """``sin(pi x) / (pi x)``, equal to 1 at 0."""
    x = _inexact(x, "sinc")
    is_zero = equal(x, 0)
    safe = where(is_zero, 1, x)
    pix = multiply(safe, np.pi)
    return where(is_zero, 1, divide(sin(pix), pix))


def isposinf(x, /):
    """True where ``x`` is +inf."""
    return logical_and(isinf(x), logical_not(signbit(x)))


def isneginf(x, /):
    """True where ``x`` is -inf."""
    return logical_and(isinf(x), signbit(x))


def _as_ufunc_input(x: Any, ufunc_name: str):
    """``x`` cast to the input dtype of NumPy's loop for ufunc ``ufunc_name`` (int8 -> float16...)."""
    x = asarray(x, fname=f"funcgrad.numpy.{ufunc_name}")
    return convert(x, _loop_dtypes(f"funcgrad.numpy.{ufunc_name}", ufunc_name, [x])[0])


def _inexact(x: Any, fname: str):
    x = asarray(x, fname=f"funcgrad.numpy.{fname}")
    return convert(x, dtypes.to_inexact(x.dtype))


def where(condition, x=None, y=None, /):
    """``x`` where ``condition`` is true, else ``y``, with broadcasting and promotion.

    With only ``condition``, returns ``nonzero(condition)`` as NumPy does.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.where(fnp.array([True, False]), 1.0, fnp.array([5.0, 6.0])).tolist()
        [1.0, 6.0]
    """
    if x is None and y is None:
        from funcgrad._src.numpy.searching import nonzero

        return nonzero(condition)
    if x is None or y is None:
        raise ValueError("funcgrad.numpy.where: pass both x and y, or neither")
    fname = "funcgrad.numpy.where"
    condition = operand(condition, fname)
    if type(condition) in _WEAK:
        condition = asarray(condition, fname=fname)
    condition = convert(condition, dtypes.bool_)
    x, y = operand(x, fname), operand(y, fname)
    if type(x) in _WEAK and type(y) in _WEAK:
        x = asarray(x, fname=fname)
    dt = dtypes.result_type(x, y)
    return ew.select_p.bind1(
        *broadcast_operands(fname, [condition, convert(x, dt), convert(y, dt)])
    )


def clip(a, /, a_min=None, a_max=None, *, min=None, max=None):  # noqa: A002
    """``a`` limited to ``[a_min, a_max]`` (either bound may be None); NumPy's and the
    array API's argument names (``min``/``max``) are both accepted. Where ``a_min > a_max``
    the result is ``a_max``, as in NumPy. Without bounds ``a`` is returned as it is (the
    array API standard; NumPy 2.1+ does the same).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.clip(fnp.array([-1.0, 0.5, 2.0]), min=0.0, max=1.0).tolist()
        [0.0, 0.5, 1.0]
    """
    fname = "funcgrad.numpy.clip"
    for np_name, api_name, np_value, api_value in (
        ("a_min", "min", a_min, min), ("a_max", "max", a_max, max)
    ):  # fmt: skip
        if np_value is not None and api_value is not None:
            raise TypeError(f"{fname}: give {np_name} or {api_name}, not both")
    lo = a_min if a_min is not None else min
    hi = a_max if a_max is not None else max
    out = asarray(a, fname=fname)
    if lo is not None:
        out = maximum(out, lo)
    if hi is not None:
        out = minimum(out, hi)
    return out


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """NaN to ``nan``, +/-inf to ``posinf``/``neginf`` (default: the dtype's largest
    finite magnitudes). ``copy`` is accepted for NumPy compatibility; arrays are
    immutable, so the result is always new.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.nan_to_num(fnp.array([float("nan"), 1.0]), nan=-1.0).tolist()
        [-1.0, 1.0]
    """
    del copy
    x = asarray(x, fname="funcgrad.numpy.nan_to_num")
    if not dtypes.is_inexact(x.dtype):
        return x
    if dtypes.is_complex(x.dtype):
        re = nan_to_num(real(x), nan=nan, posinf=posinf, neginf=neginf)
        im = nan_to_num(imag(x), nan=nan, posinf=posinf, neginf=neginf)
        return add(convert(re, x.dtype), multiply(convert(im, x.dtype), 1j))
    info = np.finfo(x.dtype)
    posinf = float(info.max) if posinf is None else posinf
    neginf = float(info.min) if neginf is None else neginf
    out = where(isnan(x), nan, x)
    out = where(isposinf(x), posinf, out)
    return where(isneginf(x), neginf, out)


def round(a, decimals=0):  # noqa: A001  (NumPy's and the array API's name)
    """``a`` rounded to ``decimals`` decimal places, halves to even (NumPy's ``round``).

    For ``decimals != 0`` the value is scaled by ``10**decimals``, rounded and scaled
    back, as NumPy does (so results can differ from exact decimal rounding in the last
    bit, exactly as NumPy's do). Integers are returned as they are for ``decimals >= 0``;
    complex numbers round both parts.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.round(fnp.array([0.5, 1.5, 2.5]))
        Array([0., 2., 2.], dtype=float64, backend=numpy)
        >>> fnp.round(fnp.array([1.234, 5.678]), 1).tolist()
        [1.2, 5.7]
        >>> fnp.round(fnp.array([1234]), -2).tolist()
        [1200]
    """
    fname = "funcgrad.numpy.round"
    x = asarray(a, fname=fname)
    try:
        decimals = operator.index(decimals)
    except TypeError:
        raise TypeError(f"{fname}: decimals must be an integer, got {decimals!r:.40}") from None
    if x.dtype.kind in "biu":
        if decimals >= 0 or x.dtype.kind == "b":
            return x
        factor = 10 ** (-decimals)
        return convert(multiply(rint(true_divide(x, factor)), factor), x.dtype)
    if decimals == 0:
        return rint(x)
    if x.dtype.kind == "c":  # each part on its own, in real arithmetic, as NumPy does
        parts = [round(part, decimals) for part in (real(x), imag(x))]
        return add(convert(parts[0], x.dtype), multiply(convert(parts[1], x.dtype), 1j))
    factor = x.dtype.type(10.0 ** abs(decimals))
    if decimals > 0:
        return true_divide(rint(multiply(x, factor)), factor)
    return multiply(rint(true_divide(x, factor)), factor)


around = round


__all__ = [
    "abs", "absolute", "around", "round", "acos", "acosh", "add", "angle", "arccos", "arccosh", "arcsin",
    "arcsinh", "arctan", "arctan2", "arctanh", "asin", "asinh", "atan", "atan2", "atanh",
    "bitwise_and", "bitwise_invert", "bitwise_left_shift", "bitwise_not", "bitwise_or",
    "bitwise_right_shift", "bitwise_xor", "cbrt", "ceil", "clip", "conj", "conjugate",
    "copysign", "cos", "cosh", "deg2rad", "degrees", "divide", "divmod", "equal", "exp",
    "exp2", "expm1", "fix", "float_power", "floor", "floor_divide", "fmax", "fmin", "fmod",
    "greater", "greater_equal", "heaviside", "hypot", "imag", "invert", "isfinite", "isinf",
    "isnan", "isneginf", "isposinf", "left_shift", "less", "less_equal", "log", "log10",
    "log1p", "log2", "logaddexp", "logaddexp2", "logical_and", "logical_not", "logical_or",
    "logical_xor", "maximum", "minimum", "mod", "multiply", "nan_to_num", "negative",
    "nextafter", "not_equal", "positive", "pow", "power", "rad2deg", "radians", "real",
    "reciprocal", "remainder", "right_shift", "rint", "sign", "signbit", "sin", "sinc", "sinh",
    "sqrt", "square", "subtract", "tan", "tanh", "true_divide", "trunc", "where",
]  # fmt: skip
