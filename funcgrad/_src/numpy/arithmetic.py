"""Number-theoretic and floating-point decomposition functions of funcgrad.numpy.

``gcd``/``lcm`` (Euclid's algorithm in a ``while_loop``), ``ldexp``/``frexp``/``modf``/
``spacing`` (a float split into its parts), ``fabs``, ``i0`` and ``bitwise_count``:
NumPy's elementwise functions that are compositions of the primitive set rather than
primitives of their own. Dtypes follow NumPy's ufunc loops (``fabs`` of an int array is
float64, ``frexp``'s exponent is int32).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from funcgrad._src.numpy import base as fnp
from funcgrad._src.numpy.ufuncs import _as_ufunc_input
from funcgrad._src.numpy.util import asarray, operand

__all__ = ["bitwise_count", "fabs", "frexp", "gcd", "i0", "lcm", "ldexp", "modf", "spacing"]


def _real_float(x: Any, name: str) -> Any:
    """``x`` as the float dtype of NumPy's real-only loops (``fabs``'s: int8 -> float16,
    int32 -> float64); ``i0`` is no ufunc in NumPy and computes ints in float64."""
    x = asarray(x, fname=f"funcgrad.numpy.{name}")
    if x.dtype.kind == "c":
        raise TypeError(f"funcgrad.numpy.{name}: complex input ({x.dtype}) is not supported")
    if name == "i0" and x.dtype.kind != "f":
        return x.astype(np.float64)
    return _as_ufunc_input(x, "fabs")


def fabs(x, /):
    """The absolute value of real ``x`` as a float (NumPy's ``fabs``: ints become float64).

    Complex input is a ``TypeError`` (use ``fnp.abs``), as in NumPy and JAX.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.fabs(fnp.asarray([-2, 3])).tolist()
        [2.0, 3.0]
    """
    return fnp.absolute(_real_float(x, "fabs"))


def _integer_operands(name: str, x1: Any, x2: Any) -> tuple[Any, Any]:
    x1, x2 = operand(x1, name), operand(x2, name)
    dt = fnp.result_type(x1, x2)
    if dt.kind not in "iu":
        raise TypeError(
            f"funcgrad.numpy.{name}: arguments must be integers, got dtype {dt}; "
            f"round floats first (fnp.round(x).astype(int))"
        )
    return tuple(fnp.broadcast_arrays(asarray(x1, dt), asarray(x2, dt)))


def gcd(x1, x2, /):
    """The greatest common divisor of ``|x1|`` and ``|x2|``, elementwise (``gcd(0, 0) == 0``).

    Euclid's algorithm runs in a ``lax.while_loop`` until every element has converged, so
    it works under ``jit`` and ``vmap``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.gcd(fnp.asarray([12, 20, 0]), 8).tolist()
        [4, 4, 8]
    """
    from funcgrad._src.control_flow import while_loop

    a, b = _integer_operands("gcd", x1, x2)
    a, b = fnp.absolute(a), fnp.absolute(b)

    def step(ab):
        a, b = ab
        nonzero = b != 0
        safe_b = fnp.where(nonzero, b, fnp.ones_like(b))
        return fnp.where(nonzero, b, a), fnp.where(nonzero, a % safe_b, b)

    return while_loop(lambda ab: fnp.any(ab[1] != 0), step, (a, b))[0]


def lcm(x1, x2, /):
    """The least common multiple of ``|x1|`` and ``|x2|``, elementwise (0 if either is 0).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.lcm(fnp.asarray([4, 6, 0]), 6).tolist()
        [12, 6, 0]
    """
    a, b = _integer_operands("lcm", x1, x2)
    g = gcd(a, b)
    safe_g = fnp.where(g == 0, fnp.ones_like(g), g)
    return fnp.where(g == 0, fnp.zeros_like(g), fnp.absolute(a // safe_g * b))


def ldexp(x1, x2, /):
    """``x1 * 2**x2`` elementwise, for integer ``x2``; the result has ``x1``'s float dtype.

    The power of two is applied in two halves, so results in range are exact even where
    ``2**x2`` alone would overflow or underflow (``ldexp(1e-300, 1100)``). Differentiable in
    ``x1``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.ldexp(fnp.asarray([1.0, 3.0]), fnp.asarray([3, -1])).tolist()
        [8.0, 1.5]
    """
    x1 = _real_float(x1, "ldexp")
    x2 = operand(x2, "funcgrad.numpy.ldexp")
    if not fnp.issubdtype(fnp.result_type(x2), np.integer):
        raise TypeError(
            f"funcgrad.numpy.ldexp: the exponent x2 must be an integer array, got dtype "
            f"{fnp.result_type(x2)}"
        )
    x2 = asarray(x2)
    half = x2 // 2
    return x1 * fnp.exp2(half.astype(x1.dtype)) * fnp.exp2((x2 - half).astype(x1.dtype))


def frexp(x, /):
    """``(mantissa, exponent)`` with ``x == mantissa * 2**exponent`` and
    ``0.5 <= |mantissa| < 1``; zeros, infinities and NaNs give ``(x, 0)``.

    The exponent is int32 (NumPy's). The mantissa is differentiable in ``x``
    (``d mantissa / dx = 2**-exponent``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> m, e = fnp.frexp(fnp.asarray([8.0, -3.0, 0.0]))
        >>> m.tolist(), e.tolist()
        ([0.5, -0.75, 0.0], [4, 2, 0])
    """
    from funcgrad._src.custom_derivatives import stop_gradient

    x = _real_float(x, "frexp")
    special = (x == 0) | ~fnp.isfinite(x)
    ax = stop_gradient(fnp.where(special, fnp.ones_like(x), fnp.absolute(x)))
    e = fnp.floor(fnp.log2(ax)) + 1
    e = e.astype(np.int32)
    m = ldexp(x, -e)
    # log2 may round to the neighbouring integer near powers of two: fix by one step
    am = stop_gradient(fnp.absolute(m))
    up, down = am >= 1, am < 0.5
    e = e + up.astype(np.int32) - down.astype(np.int32)
    m = ldexp(x, -e)
    zero = fnp.zeros_like(e)
    return fnp.where(special, x, m), fnp.where(special, zero, e)


def modf(x, /):
    """``(fractional part, integral part)`` of ``x``, both with ``x``'s sign
    (``modf(inf) == (0.0, inf)``, as NumPy).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> f, i = fnp.modf(fnp.asarray([2.5, -1.25]))
        >>> f.tolist(), i.tolist()
        ([0.5, -0.25], [2.0, -1.0])
    """
    x = _real_float(x, "modf")
    whole = fnp.trunc(x)
    frac = fnp.where(fnp.isinf(x), fnp.copysign(fnp.zeros_like(x), x), x - whole)
    return frac, whole


def spacing(x, /):
    """The distance from ``x`` to the next representable number away from zero
    (negative for negative ``x``; NaN for infinities), as NumPy's ``spacing`` for float32
    and float64 (NumPy's float16 loop returns positive values for negative ``x``; this
    keeps the sign for every dtype).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> float(fnp.spacing(fnp.asarray(1.0))) == 2.0**-52
        True
    """
    x = _real_float(x, "spacing")
    # -0.0 steps towards +inf, as NumPy
    toward = fnp.where(x < 0, fnp.full_like(x, -np.inf), fnp.full_like(x, np.inf))
    return fnp.nextafter(x, toward) - x


def i0(x, /):
    """The modified Bessel function of the first kind of order 0, ``I0(x)``.

    Computed as ``exp(|x|) * bessel_i0e(x)``; differentiable (``I0' = I1``). Real input
    only, as NumPy.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> round(float(fnp.i0(fnp.asarray(1.0))), 12)
        1.266065877752
    """
    from funcgrad import lax

    x = _real_float(x, "i0")
    return fnp.exp(fnp.absolute(x)) * lax.bessel_i0e(x)


def bitwise_count(x, /):
    """The number of 1 bits in ``|x|`` (NumPy's ``bitwise_count``), as uint8.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.bitwise_count(fnp.asarray([0, 7, -1, 255])).tolist()
        [0, 3, 1, 8]
    """
    from funcgrad import lax

    x = asarray(x, fname="funcgrad.numpy.bitwise_count")
    if x.dtype.kind not in "biu":
        raise TypeError(
            f"funcgrad.numpy.bitwise_count: input must be an integer or bool array, got "
            f"dtype {x.dtype}"
        )
    if x.dtype.kind == "b":
        return x.astype(np.uint8)
    if x.dtype.kind == "i":
        x = fnp.absolute(x)
    return lax.population_count(x).astype(np.uint8)
