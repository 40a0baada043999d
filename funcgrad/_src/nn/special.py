"""The error function and its complement, composed from elementwise primitives.

There is no ``erf`` primitive; ``gelu(approximate=False)`` needs one accurate to the
working precision. We evaluate W. J. Cody's rational Chebyshev approximations
("Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969)
631-637; the coefficients are those of his public-domain CALERF routine in netlib's
SPECFUN), whose maximal relative error is below 1e-15 in float64 on each of three
intervals of ``|x|``: [0, 0.5], (0.5, 4] and (4, inf). Every branch is evaluated on
clamped inputs, so no branch overflows or produces NaN where it is not selected.
The derivative is the closed form ``2/sqrt(pi) exp(-x^2)`` (a custom JVP), not the
derivative of the rational approximation.
"""

from __future__ import annotations

import math
from typing import Any

from funcgrad._src.nn._util import inexact, with_jvp
from funcgrad._src.numpy import ufuncs as u

# Cody's coefficients, highest power first (numerator, denominator).
# erf(x) = x * R1(x^2) for |x| <= 0.5
_R1_NUM = (1.85777706184603153e-1, 3.16112374387056560e00, 1.13864154151050156e02,
           3.77485237685302021e02, 3.20937758913846947e03)  # fmt: skip
_R1_DEN = (1.0, 2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
           2.84423683343917062e03)  # fmt: skip
# erfc(x) = exp(-x^2) * R2(x) for 0.5 < x <= 4
_R2_NUM = (2.15311535474403846e-8, 5.64188496988670089e-1, 8.88314979438837594e00,
           6.61191906371416295e01, 2.98635138197400131e02, 8.81952221241769090e02,
           1.71204761263407058e03, 2.05107837782607147e03, 1.23033935479799725e03)  # fmt: skip
_R2_DEN = (1.0, 1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
           1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
           3.43936767414372164e03, 1.23033935480374942e03)  # fmt: skip
# erfc(x) = exp(-x^2) / x * (1/sqrt(pi) - z R3(z)), z = 1/x^2, for x > 4
_R3_NUM = (1.63153871373020978e-2, 3.05326634961232344e-1, 3.60344899949804439e-1,
           1.25781726111229246e-1, 1.60837851487422766e-2, 6.58749161529837803e-4)  # fmt: skip
_R3_DEN = (1.0, 2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1,
           6.05183413124413191e-2, 2.33520497626869185e-3)  # fmt: skip

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_ONE_OVER_SQRT_PI = 1.0 / math.sqrt(math.pi)
# erfc(x) underflows to 0 in float64 for x > 27.3; clamping keeps exp() and x - trunc(x) finite
_ERFC_CLAMP = 40.0


def _horner(coeffs: tuple[float, ...], x: Any) -> Any:
    out = coeffs[0]
    for c in coeffs[1:]:
        out = out * x + c
    return out


def _exp_minus_square(a: Any) -> Any:
    """``exp(-a^2)`` without the rounding error of ``a*a`` (amplified by a^2 in the
    result): split ``a = hi + lo`` with ``hi`` a multiple of 1/16, whose square is exact."""
    hi = u.trunc(a * 16.0) / 16.0
    return u.exp(-hi * hi) * u.exp(-(a - hi) * (a + hi))


def _erf_small(x: Any) -> Any:
    """erf on [-0.5, 0.5] (``x`` already clamped to it)."""
    y = x * x
    return x * _horner(_R1_NUM, y) / _horner(_R1_DEN, y)


def _erfc_positive(a: Any) -> Any:
    """erfc for ``a >= 0.5`` (smaller values are clamped and must not be selected)."""
    mid = u.clip(a, 0.5, 4.0)
    mid_ratio = _horner(_R2_NUM, mid) / _horner(_R2_DEN, mid)
    tail = u.clip(a, 4.0, _ERFC_CLAMP)
    z = 1.0 / (tail * tail)
    tail_ratio = (_ONE_OVER_SQRT_PI - z * _horner(_R3_NUM, z) / _horner(_R3_DEN, z)) / tail
    # NaN compares False: it takes the tail branch, where clip propagates it
    ratio = u.where(a <= 4.0, mid_ratio, tail_ratio)
    return _exp_minus_square(u.minimum(a, _ERFC_CLAMP)) * ratio


def _erf_value(x: Any) -> Any:
    a = u.abs(x)
    small = _erf_small(u.clip(x, -0.5, 0.5))
    large = 1.0 - _erfc_positive(u.maximum(a, 0.5))
    return u.where(a <= 0.5, small, u.copysign(large, x))


def _erfc_value(x: Any) -> Any:
    a = u.abs(x)
    small = 1.0 - _erf_small(u.clip(x, -0.5, 0.5))
    tail = _erfc_positive(u.maximum(a, 0.5))
    return u.where(a <= 0.5, small, u.where(x > 0, tail, 2.0 - tail))


def _erf_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _erf(x), t * (_TWO_OVER_SQRT_PI * u.exp(-x * x))


def _erfc_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _erfc(x), t * (-_TWO_OVER_SQRT_PI * u.exp(-x * x))


_erf = with_jvp(_erf_value, _erf_jvp)
_erfc = with_jvp(_erfc_value, _erfc_jvp)


def erf(x: Any) -> Any:
    """The error function ``2/sqrt(pi) * integral_0^x exp(-t^2) dt`` (Cody's rational
    approximation; relative error below 1e-15 in float64).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad._src.nn.special import erf
        >>> [round(v, 12) for v in erf(fnp.asarray([0.0, 0.5, 1.0, -2.0])).tolist()]
        [0.0, 0.520499877813, 0.84270079295, -0.995322265019]
    """
    return _erf(inexact(x, "erf"))


def erfc(x: Any) -> Any:
    """The complementary error function ``1 - erf(x)``, accurate also where it is tiny.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad._src.nn.special import erfc
        >>> f"{float(erfc(fnp.asarray(10.0))):.12e}"  # 1 - erf(10) would be 0
        '2.088487583763e-45'
    """
    return _erfc(inexact(x, "erfc"))
