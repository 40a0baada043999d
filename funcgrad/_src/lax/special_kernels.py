"""Float64 kernels of the special functions, written against an array namespace ``xp``.

These are the impls behind the primitives of ``funcgrad._src.lax.special``; they take and
return float64 buffers of one shape and never see a tracer, so they may branch on data
(boolean masks, loops that run until every element has converged). Each piece is
evaluated only on the elements it applies to. No SciPy: the algorithms are the textbook
ones, and the accuracies quoted are relative errors against SciPy measured on the test
grids (``tests/test_special.py``):

=================  ==========================================================  =========
function           method                                                      accuracy
=================  ==========================================================  =========
erf, erfc          W. J. Cody's rational approximations (Math. Comp. 23, 1969)  2e-16
erf_inv, ndtri     A&S 26.2.23 start, three Halley steps on erf / scaled erfc   1e-15
lgamma             Taylor series at 2 on [1.5, 2.5), recurrences to reach it    1e-15
                   below 7, Stirling's series above, reflection for x < 0
digamma            Taylor series at its positive root, recurrence + asymptotic  1e-15
                   series elsewhere, reflection for x < 0
zeta (Hurwitz)     Euler-Maclaurin summation (9 terms + 12 Bernoulli terms)     1e-15
polygamma          ``(-1)^(n+1) n! zeta(n+1, x)``; digamma for n = 0           1e-15
igamma, igammac    power series (x < a + 1) / Lentz's continued fraction       1e-14*a
igamma_grad_a      the same loops, differentiated in ``a`` alongside            1e-13*a
betainc            Lentz's continued fraction with the x <-> 1-x symmetry       1e-13
bessel_i0e, i1e    power series (|x| <= 20) / asymptotic expansion (|x| > 20)   1e-15
expn, exp1         A&S 5.1.12 series (x <= 1) / Lentz's continued fraction     1e-14
expi               power series (|x| <= 40) / asymptotic series; -E1(-x) x<0   3e-14
spence             Li2 power series after reflection / Landen / inversion      1e-14
hyp1f1             power series; Kummer's transformation for x < 0              3e-13**
erfcx              Cody's scaled fractions; 2 exp(x^2) - erfcx(-x) for x < 0    1e-13
fresnel S, C       power series (|x| <= 1.5) / erfc's complex continued         1e-14
                   fraction (C + iS = (1+i)/2 erf(sqrt(pi)/2 (1-i) x))
sici Si, Ci        power series (|x| <= 4) / continued fraction of E1(ix)      1e-13***
hyp2f1             series on [0, 0.9], DLMF 15.8.4 (1 - z) above, Pfaff z < 0  1e-12****
=================  ==========================================================  =========

(``a`` above: the shape parameter; for large ``a`` the prefactor ``x^a e^-x / Gamma(a)``
is computed from logarithms of size ``a``, whose rounding limits the relative accuracy.
``**``: against mpmath for ``|a| <= 5``, ``0.1 <= b <= 10``, ``|x| <= 30``; the series
cancels for ``a`` far below 0 with large positive ``x``. ``***``: absolute 1e-15 near
the zeros of Ci. ``****``: against mpmath for ``|a|, |b| <= 4``, ``0.3 <= c <= 8``,
``-30 <= z < 1``; with ``c - a - b`` an integer, A&S 15.3.10-12 above 0.9 (1e-13); within
1e-8 of an integer but not on it, up to 1e-6.)
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from funcgrad._src.nn.special import (
    _R1_DEN,
    _R1_NUM,
    _R2_DEN,
    _R2_NUM,
    _R3_DEN,
    _R3_NUM,
)

_EPS = float(np.finfo(np.float64).eps)
_TINY = 1e-300
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_SQRT_PI = math.sqrt(math.pi)
_EULER = 0.57721566490153286061
_MAX_ITERATIONS = 5000


def _bernoulli_even(count: int) -> list[float]:
    """``B_2, B_4, ..., B_2count`` (the Akiyama-Tanigawa algorithm, in exact fractions)."""
    n_max = 2 * count
    table, numbers = [Fraction(0)] * (n_max + 1), []
    for m in range(n_max + 1):
        table[m] = Fraction(1, m + 1)
        for j in range(m, 0, -1):
            table[j - 1] = j * (table[j - 1] - table[j])
        numbers.append(table[0])  # B_m (with B_1 = +1/2, unused)
    return [float(numbers[2 * k]) for k in range(1, count + 1)]


_B2K = _bernoulli_even(12)


def _horner(coeffs, x: Any) -> Any:
    out = coeffs[0] + 0 * x
    for c in coeffs[1:]:
        out = out * x + c
    return out


def _apply(xp, out, mask, fn, *args):
    """``out[mask] = fn(*(a[mask] for a in args))``, skipping empty masks (1-d arrays:
    integer indices are several times faster than boolean ones to gather and scatter)."""
    idx = xp.flatnonzero(mask)
    if not idx.size:
        return
    if idx.size == out.size:
        out[...] = fn(*args)
    else:
        out[idx] = fn(*(a[idx] for a in args))


# --- erf, erfc and the scaled erfc --------------------------------------------------------


def _exp_minus_square(xp, a):
    """``exp(-a^2)`` without the rounding error of ``a*a`` (amplified by a^2): ``a = hi + lo``
    with ``hi`` a multiple of 1/16, whose square is exact."""
    hi = xp.trunc(a * 16.0) / 16.0
    return xp.exp(-hi * hi) * xp.exp(-(a - hi) * (a + hi))


def _erfcx_large(xp, a):
    """``exp(a^2) erfc(a)`` for ``a >= 0.5`` (Cody's second and third intervals)."""
    out = xp.empty_like(a)
    mid = a <= 4.0
    _apply(xp, out, mid, lambda v: _horner(_R2_NUM, v) / _horner(_R2_DEN, v), a)
    _apply(xp, out, ~mid, _erfcx_tail, a)
    return out


def _erfcx_tail(a):
    z = 1.0 / (a * a)
    return (1 / _SQRT_PI - z * _horner(_R3_NUM, z) / _horner(_R3_DEN, z)) / a


def _erf_small(x):
    y = x * x
    return x * _horner(_R1_NUM, y) / _horner(_R1_DEN, y)


def _erfc_nonneg(xp, a):
    """erfc for ``a >= 0.5`` (0 beyond underflow; NaN stays NaN)."""
    a = xp.minimum(a, 40.0)  # erfc(27.3) already underflows; keeps exp finite
    return _exp_minus_square(xp, a) * _erfcx_large(xp, a)


def erf(xp, x):
    out = xp.empty_like(x)
    small = xp.abs(x) <= 0.5
    _apply(xp, out, small, _erf_small, x)
    _apply(xp, out, ~small, lambda v: xp.copysign(1.0 - _erfc_nonneg(xp, xp.abs(v)), v), x)
    return out


def erfc(xp, x):
    out = xp.empty_like(x)
    small = xp.abs(x) <= 0.5
    _apply(xp, out, small, lambda v: 1.0 - _erf_small(v), x)
    large = ~small
    _apply(xp, out, large, lambda v: xp.where(v > 0, 0.0, 2.0) + xp.sign(v) *
           _erfc_nonneg(xp, xp.abs(v)), x)  # fmt: skip
    return out


# --- inverses: erf_inv and ndtri ----------------------------------------------------------


def _erfcinv_small(xp, q):
    """``x >= 0`` with ``erfc(x) = q`` for ``0 < q <= 0.5``.

    Start from Abramowitz & Stegun 26.2.23 (the normal quantile of ``q/2``, error below
    4.5e-4), then Halley's method on ``erfc(x) = q``, whose residual is taken relative to
    ``q`` through the scaled erfc, so it stays accurate where ``q`` is subnormal."""
    t = xp.sqrt(-2.0 * xp.log(q / 2))
    z = t - (2.515517 + t * (0.802853 + t * 0.010328)) / (
        1 + t * (1.432788 + t * (0.189269 + t * 0.001308))
    )
    x = xp.maximum(z / math.sqrt(2.0), 0.4)
    for _ in range(3):
        # u = f / f' for f = erfc(x) - q: (erfcx(x) - q e^{x^2}) * (-sqrt(pi) / 2)
        u = (xp.exp(x * x + xp.log(q)) - _erfcx_nonneg(xp, x)) * (_SQRT_PI / 2)
        x = xp.maximum(x - u / (1 + x * u), 0.4)  # erfc_inv(0.5) = 0.4769
    return x


def _erfcx_nonneg(xp, a):
    """``exp(a^2) erfc(a)`` for ``a >= 0``."""
    out = xp.empty_like(a)
    small = a < 0.5
    _apply(xp, out, small, lambda v: (1.0 - _erf_small(v)) * xp.exp(v * v), a)
    _apply(xp, out, ~small, lambda v: _erfcx_large(xp, v), a)
    return out


def _erfinv_central(xp, y):
    """erf_inv for ``|y| <= 0.5``: a series start and three Halley steps on erf."""
    y2 = y * y
    x = (_SQRT_PI / 2) * y * (1 + y2 * (math.pi / 12 + y2 * (7 * math.pi**2 / 480)))
    for _ in range(3):
        u = (_erf_small_or_any(xp, x) - y) * (_SQRT_PI / 2) * xp.exp(x * x)
        x = x - u / (1 + x * u)
    return x


def _erf_small_or_any(xp, x):
    # the iterates of _erfinv_central stay below 0.48 in magnitude (erf_inv(0.5) = 0.4769)
    return _erf_small(xp.clip(x, -0.5, 0.5))


def erf_inv(xp, y):
    out = xp.full_like(y, np.nan)
    a = xp.abs(y)
    central = a <= 0.5
    _apply(xp, out, central, lambda v: _erfinv_central(xp, v), y)
    tail = (a > 0.5) & (a < 1)  # 1 - |y| is exact here (Sterbenz)
    _apply(xp, out, tail, lambda v: xp.copysign(_erfcinv_small(xp, 1.0 - xp.abs(v)), v), y)
    out[a == 1] = xp.copysign(np.inf, y[a == 1])
    return out


def ndtri(xp, p):
    out = xp.full_like(p, np.nan)
    root2 = math.sqrt(2.0)
    lower = (p > 0) & (p <= 0.25)
    _apply(xp, out, lower, lambda v: -root2 * _erfcinv_small(xp, 2 * v), p)
    middle = (p > 0.25) & (p < 0.75)  # 2p - 1 is exact here
    _apply(xp, out, middle, lambda v: root2 * _erfinv_central(xp, 2 * v - 1), p)
    upper = (p >= 0.75) & (p < 1)  # 1 - p is exact here
    _apply(xp, out, upper, lambda v: root2 * _erfcinv_small(xp, 2 * (1 - v)), p)
    out[p == 0] = -np.inf
    out[p == 1] = np.inf
    return out


# --- Hurwitz zeta -----------------------------------------------------------------------------

_ZETA_TERMS = 9  # explicit terms before the Euler-Maclaurin tail
_ZETA_BERNOULLI = [b / math.factorial(2 * k + 2) for k, b in enumerate(_B2K)]


def _zeta_positive_q(xp, s, q):
    """``sum_k (q + k)^-s`` for ``s > 1``, ``q > 0`` by Euler-Maclaurin summation."""
    total = xp.zeros_like(q)
    for k in range(_ZETA_TERMS):
        total += (q + k) ** -s
    w = q + _ZETA_TERMS
    w_pow = w**-s
    total += w * w_pow / (s - 1) + 0.5 * w_pow
    # term j: B_2j / (2j)! * s (s+1) ... (s+2j-2) * w^(-s-2j+1)
    factor = s * w_pow / w
    w2 = w * w
    for j, coeff in enumerate(_ZETA_BERNOULLI):
        if j:
            factor = factor * (s + 2 * j - 1) * (s + 2 * j) / w2
        total += coeff * factor
    return total


def zeta(xp, s, q):
    """Hurwitz zeta ``sum_k (q + k)^-s``. As SciPy: ``s == 1`` gives inf, ``s < 1`` NaN; ``q``
    a non-positive integer gives inf; other negative ``q`` are shifted up by the
    recurrence ``zeta(s, q) = q^-s + zeta(s, q + 1)`` when ``s`` is an integer (NaN for
    non-integer ``s``, where the terms would be complex)."""
    s, q = xp.broadcast_arrays(s, q)
    out = xp.full(s.shape, np.nan)
    ok = s > 1
    positive = ok & (q > 0)
    _apply(xp, out, positive, lambda a, b: _zeta_positive_q(xp, a, b), s, q)
    out[(s == 1) & ~xp.isnan(q)] = np.inf
    pole = ok & (q <= 0) & (q == xp.floor(q))
    out[pole] = np.inf
    shifted = ok & (q < 0) & ~pole & (s == xp.floor(s))
    _apply(xp, out, shifted, lambda a, b: _zeta_shifted(xp, a, b), s, q)
    return out


def _zeta_shifted(xp, s, q):
    steps = xp.ceil(-q)  # q + steps > 0
    total = xp.zeros_like(q)
    for k in range(int(steps.max())):
        active = k < steps
        total = total + xp.where(active, xp.abs(q + k) ** -s * xp.where(
            (s % 2 == 1) & (q + k < 0), -1.0, 1.0), 0.0)  # fmt: skip
    return total + _zeta_positive_q(xp, s, q + steps)


# --- lgamma -----------------------------------------------------------------------------------

# lgamma(2 + z) = (1 - gamma) z + sum_{k >= 2} (-1)^k (zeta(k) - 1) / k z^k, for |z| <= 1/2
_LGAMMA2_TERMS = 30
_LGAMMA2_COEFFS = [1 - _EULER] + [
    (-1) ** k * (float(_zeta_positive_q(np, np.float64(k), np.float64(2.0)))) / k
    for k in range(2, _LGAMMA2_TERMS + 1)
]  # zeta(k) - 1 = zeta(k, 2), without the cancellation


def _lgamma2(z):
    """lgamma(2 + z) for |z| <= 1/2, by its Taylor series (Horner, highest power first)."""
    out = _horner_inplace(None, _LGAMMA2_COEFFS[::-1], z)
    out *= z
    return out


# Stirling from 7 on (9 terms: the first omitted is below 2e-17 of the value at 7): a low
# threshold keeps the recurrence below short (at most 5 unit steps from x < 7)
_STIRLING_FROM = 7.0
_STIRLING = [b / ((2 * k + 2) * (2 * k + 1)) for k, b in enumerate(_B2K[:9])]
# NumPy: lgamma and digamma make a few dozen passes over their operand; in blocks of this
# many elements (256 KiB of float64) every temporary stays in the core's L2 cache instead of
# streaming through memory, about twice as fast on 10^6 values
_BLOCK = 32768


def _blockwise(xp, kernel, x):
    """``kernel(xp, x)`` on the flattened ``x``, in blocks of ``_BLOCK`` elements on NumPy.
    CuPy takes the whole array at once (blocks would only multiply kernel launches)."""
    flat = x.reshape(-1)
    if xp is not np or flat.size <= 2 * _BLOCK:
        return kernel(xp, flat).reshape(x.shape)
    out = np.empty_like(flat)
    for start in range(0, flat.size, _BLOCK):
        out[start : start + _BLOCK] = kernel(xp, flat[start : start + _BLOCK])
    return out.reshape(x.shape)


def _lgamma_stirling(xp, x):
    """Stirling's series ``(x - 1/2)(log x - 1) + log(2 pi)/2 - 1/2 + sum ...`` for
    ``x >= 7`` (or +inf, NaN), in place: three buffers in all. Grouped so that nothing
    cancels (``log x - 1`` is exact) and +inf gives +inf; the product overflows only where
    lgamma itself does (x > 2.5e305)."""
    r = xp.divide(1.0, x)
    y = xp.multiply(r, r)
    series = _horner_inplace(xp, _STIRLING[::-1], y)
    series *= r
    series += _LOG_SQRT_2PI - 0.5
    out = xp.log(x, out=r)
    out -= 1.0
    out *= xp.subtract(x, 0.5, out=y)
    out += series
    return out


def _horner_inplace(xp, coeffs, y):
    out = y * coeffs[0]
    for c in coeffs[1:-1]:
        out += c
        out *= y
    out += coeffs[-1]
    return out


def _lgamma_rising(xp, v):
    """lgamma on (0, 3/2): ``lgamma(2 + z) - log v`` with ``z = v - 1`` from 1/2 on, and
    ``lgamma(2 + z) - log(v (v + 1))`` with ``z = v`` below (both ``z`` exact, so the
    zero at 1 keeps its relative accuracy)."""
    below = v < 0.5
    z = xp.subtract(1.0, below)
    xp.subtract(v, z, out=z)
    scale = xp.multiply(below, v)
    scale += 1.0
    scale *= v  # v (v + 1) below 1/2, else v
    out = _lgamma2(z)
    out -= xp.log(scale, out=scale)
    return out


# 1.5^(7 - m) for m = round(v) in 2..7 (exact): the factors max(v - k, 3/2) of
# _lgamma_falling that stand for a step not taken
_EXCLUDED_FACTORS = np.array([1.0, 1.0] + [1.5 ** (7 - m) for m in range(2, 8)])


def _lgamma_falling(xp, v):
    """lgamma on [3/2, 7): ``lgamma(2 + z) + log((v - 1) ... (2 + z))`` with ``z = v - m``,
    ``m = round(v)`` (exact; all factors at least 3/2, so nothing cancels). The factor of
    step ``k`` is ``max(v - k, 3/2)`` for every ``k`` in 1..5, without masks; the steps not
    taken each contribute exactly 3/2, divided out at the end in one correctly rounded
    division."""
    m = xp.floor(v + 0.5)
    z = v - m
    product = xp.subtract(v, 1.0)
    xp.maximum(product, 1.5, out=product)
    factor = xp.empty_like(v)
    for k in range(2, 6):
        xp.subtract(v, float(k), out=factor)
        xp.maximum(factor, 1.5, out=factor)
        product *= factor
    product /= xp.asarray(_EXCLUDED_FACTORS)[m.astype(np.intp)]
    out = _lgamma2(z)
    out += xp.log(product, out=product)
    return out


def _lgamma_positive_block(xp, x):
    # each element takes one path, each path one log
    below = x < _STIRLING_FROM
    out = _large_then_small(xp, x, below, lambda v: _lgamma_stirling(xp, v), _STIRLING_FROM)
    _apply(xp, out, below & (x < 1.5), lambda v: _lgamma_rising(xp, v), x)
    _apply(xp, out, below & (x >= 1.5), lambda v: _lgamma_falling(xp, v), x)
    return out


def _large_then_small(xp, x, below, large_fn, threshold):
    """``out`` holding ``large_fn`` where ``x`` is not ``below`` (NaN included), for the
    caller to fill in the rest. When at least 4/5 of the elements are large, ``large_fn``
    runs on all of them (clamped to ``threshold``) rather than on a gathered copy: cheaper
    than gathering and scattering almost everything."""
    count = int(xp.count_nonzero(below))
    if 5 * count <= x.size:
        return large_fn(xp.maximum(x, threshold))
    out = xp.empty_like(x)
    _apply(xp, out, ~below, large_fn, x)
    return out


def _lgamma_positive(xp, x):
    """lgamma for ``x > 0`` (NaN stays NaN; callers patch ``x <= 0``)."""
    return _blockwise(xp, _lgamma_positive_block, x)


def _sinpi_reduced(xp, x):
    """``(r, sin(pi r))`` with ``r = x - round(x)`` in [-1/2, 1/2] (exact reduction)."""
    r = x - xp.round(x)
    return r, xp.sin(math.pi * r)


def _with_reflection(xp, x, positive_block, reflect):
    """``positive_block`` where ``x > 0``; for ``x <= 0``, ``reflect(x, f(1 - x))`` with ``f``
    the same positive kernel: one evaluation of it for every element."""
    nonpositive = x <= 0
    if not nonpositive.any():
        return positive_block(xp, x)
    out = positive_block(xp, xp.where(nonpositive, 1.0 - x, x))
    idx = xp.flatnonzero(nonpositive)
    out[idx] = reflect(x[idx], out[idx])
    return out


def _lgamma_reflect(xp, v, lgamma_1_minus_v):
    # log|Gamma(v)| = log(pi / |sin(pi v)|) - lgamma(1 - v), from Gamma(v) Gamma(1 - v) =
    # pi / sin(pi v)
    _, s = _sinpi_reduced(xp, v)
    value = math.log(math.pi) - xp.log(xp.abs(s)) - lgamma_1_minus_v
    value[v == xp.floor(v)] = np.inf  # the poles, and -inf
    return value


def _lgamma_block(xp, x):
    return _with_reflection(xp, x, _lgamma_positive_block, lambda v, f: _lgamma_reflect(xp, v, f))


def lgamma(xp, x):
    """``log|Gamma(x)|``: inf at the poles (non-positive integers) and at +-inf, as SciPy
    except that ``lgamma(-inf)`` is +inf (log|Gamma| grows without bound; SciPy says -inf)."""
    return _blockwise(xp, _lgamma_block, x)


# --- digamma ----------------------------------------------------------------------------------

# the positive zero of digamma, 1.46163214496836234126..., as a float64 plus the remainder
_DIGAMMA_ROOT = 1.4616321449683622
_DIGAMMA_ROOT_LO = 9.549995429965697e-17
_ROOT_TERMS = 26
# psi(x0 + z) = sum_{k >= 1} (-1)^(k+1) zeta(k+1, x0) z^k
_DIGAMMA_ROOT_COEFFS = [
    (-1) ** (k + 1) * float(_zeta_positive_q(np, np.float64(k + 1), np.float64(_DIGAMMA_ROOT)))
    for k in range(1, _ROOT_TERMS + 1)
]
# the asymptotic series from 7 on (11 terms: the first omitted is below 2e-17 of the value)
_ASYMPTOTIC_FROM = 7.0
_ASYMPTOTIC_PSI = [b / (2 * k + 2) for k, b in enumerate(_B2K[:11])]


def _digamma_large(xp, x):
    """The asymptotic series ``log x - 1/(2x) - sum B_2k / (2k x^2k)`` for ``x >= 7``, in
    place."""
    r = xp.divide(1.0, x)
    r2 = xp.multiply(r, r)
    series = _horner_inplace(xp, _ASYMPTOTIC_PSI[::-1], r2)
    series *= r2
    out = xp.log(x, out=r2)
    r *= 0.5
    out -= r
    out -= series
    return out


def _digamma_positive_block(xp, x):
    # the asymptotic series from 7 on (NaN and inf too), the recurrence below
    small = x < _ASYMPTOTIC_FROM
    out = _large_then_small(xp, x, small, lambda v: _digamma_large(xp, v), _ASYMPTOTIC_FROM)
    _apply(xp, out, small, lambda v: _digamma_small_positive(xp, v), x)
    return out


def _digamma_positive(xp, x):
    """digamma for ``x > 0`` (NaN stays NaN; callers patch ``x <= 0``)."""
    return _blockwise(xp, _digamma_positive_block, x)


def _digamma_small_positive(xp, x):
    out = _digamma_shifted(xp, x)
    _apply(xp, out, xp.abs(x - _DIGAMMA_ROOT) < 0.25, _digamma_root, x)
    return out


def _digamma_root(x):
    z = (x - _DIGAMMA_ROOT) - _DIGAMMA_ROOT_LO
    return z * _horner(_DIGAMMA_ROOT_COEFFS[::-1], z)


def _digamma_shifted(xp, x):
    # psi(x) = psi(x + 7) - sum_{k < 7} 1 / (x + k): the same 7 steps for every x in (0, 7)
    # (no masks; all terms positive) puts x + 7 in the asymptotic range (in place)
    total = xp.divide(1.0, x)
    term = xp.empty_like(x)
    for k in range(1, 7):
        xp.add(x, float(k), out=term)
        xp.divide(1.0, term, out=term)
        total += term
    out = _digamma_large(xp, xp.add(x, 7.0, out=term))
    out -= total
    return out


def _digamma_reflect(xp, v, digamma_1_minus_v):
    # psi(v) = psi(1 - v) - pi / tan(pi v), and tan(pi v) = tan(pi r)
    r, _ = _sinpi_reduced(xp, v)
    value = digamma_1_minus_v - math.pi / xp.tan(math.pi * r)
    value[v == xp.floor(v)] = np.nan  # the poles, and -inf
    zero = v == 0
    value[zero] = xp.where(xp.signbit(v[zero]), np.inf, -np.inf)
    return value


def _digamma_block(xp, x):
    return _with_reflection(xp, x, _digamma_positive_block, lambda v, f: _digamma_reflect(xp, v, f))


def digamma(xp, x):
    """As SciPy: -inf at +0, +inf at -0, NaN at negative integers and -inf."""
    return _blockwise(xp, _digamma_block, x)


def polygamma(xp, n, x):
    """``psi^(n)(x)`` for integer ``n >= 0`` (NaN for other ``n``)."""
    n, x = xp.broadcast_arrays(n, x)
    out = xp.full(x.shape, np.nan)
    zero = n == 0
    _apply(xp, out, zero, lambda v: digamma(xp, v), x)
    higher = (n >= 1) & (n == xp.floor(n))
    _apply(xp, out, higher, lambda m, v: _polygamma_higher(xp, m, v), n, x)
    return out


def _polygamma_higher(xp, n, x):
    # psi^(n)(x) = (-1)^(n+1) n! zeta(n + 1, x)
    log_factorial = _lgamma_positive(xp, n + 1.0)
    sign = xp.where(n % 2 == 1, 1.0, -1.0)
    return sign * xp.exp(log_factorial) * zeta(xp, n + 1.0, x)


# --- incomplete gamma -------------------------------------------------------------------------


def _loop(xp, active, step):
    """Call ``step(index_array, iteration)`` on the still-active elements until none is.

    ``step`` returns the mask (over the indices it got) of elements that stay active."""
    idx = xp.nonzero(active)[0]
    i = 1
    while idx.size and i < _MAX_ITERATIONS:
        idx = idx[step(idx, i)]
        i += 1


def _gamma_series(xp, a, x, with_derivative):
    """``S = sum_n x^n / ((a+1)...(a+n))`` and ``dS/da`` (``P = x^a e^-x / Gamma(a+1) S``)."""
    term = xp.ones_like(x)
    total = xp.ones_like(x)
    d_term = xp.zeros_like(x)
    d_total = xp.zeros_like(x)

    def step(idx, n):
        ai, xi = a[idx], x[idx]
        ratio = xi / (ai + n)
        t = term[idx] * ratio
        term[idx] = t
        total[idx] += t
        if with_derivative:
            dt = d_term[idx] * ratio - t / (ai + n)
            d_term[idx] = dt
            d_total[idx] += dt
            return (t > _EPS * total[idx] * 0.25) | (
                xp.abs(dt) > _EPS * 0.25 * xp.abs(d_total[idx])
            )
        return t > _EPS * total[idx] * 0.25

    _loop(xp, xp.ones(x.shape, bool), step)
    return total, d_total


def _gamma_fraction(xp, a, x, with_derivative):
    """Lentz's evaluation of the continued fraction ``h`` of ``Q = x^a e^-x / Gamma(a) h``
    (Numerical Recipes' ``gcf``), and ``dh/da`` by differentiating each step."""
    b = x + 1 - a
    c = xp.full_like(x, 1 / _TINY)
    d = 1 / b
    h = d.copy()
    db = -xp.ones_like(x)
    dc = xp.zeros_like(x)
    dd = 1 / (b * b)  # d(1/b)/da with db/da = -1
    dh = dd.copy()

    def step(idx, i):
        ai = a[idx]
        an = -i * (i - ai)
        bi = b[idx] + 2
        b[idx] = bi
        di, ci = d[idx], c[idx]
        big_d = an * di + bi
        big_d = xp.where(xp.abs(big_d) < _TINY, _TINY, big_d)
        big_c = bi + an / ci
        big_c = xp.where(xp.abs(big_c) < _TINY, _TINY, big_c)
        new_d = 1 / big_d
        delta = new_d * big_c
        hi = h[idx]
        if with_derivative:
            ddi, dci = dd[idx], dc[idx]
            d_big_d = i * di + an * ddi + db[idx]
            d_big_c = db[idx] + i / ci - an * dci / ci / ci
            new_dd = -d_big_d * new_d * new_d
            d_delta = new_dd * big_c + new_d * d_big_c
            dh[idx] = dh[idx] * delta + hi * d_delta
            dd[idx], dc[idx] = new_dd, d_big_c
        d[idx], c[idx] = new_d, big_c
        h[idx] = hi * delta
        going = xp.abs(delta - 1) > _EPS
        if with_derivative:
            going |= xp.abs(d_delta) > _EPS * xp.abs(dh[idx] / h[idx])
        return going

    _loop(xp, xp.ones(x.shape, bool), step)
    return h, dh


def _gamma_domain(xp, a, x):
    a, x = xp.broadcast_arrays(a, x)
    valid = (a >= 0) & (x >= 0) & ~(xp.isnan(a) | xp.isnan(x))
    return a, x, valid


def _igamma_parts(xp, a, x, lower: bool):
    """P (``lower``) or Q for valid ``a > 0``, ``0 < x < inf``."""
    out = xp.empty_like(x)
    series = x < a + 1

    def by_series(ai, xi):
        s, _ = _gamma_series(xp, ai, xi, False)
        p = xp.exp(ai * xp.log(xi) - xi - _lgamma_positive(xp, ai + 1)) * s
        return p if lower else 1 - p

    def by_fraction(ai, xi):
        h, _ = _gamma_fraction(xp, ai, xi, False)
        q = xp.exp(ai * xp.log(xi) - xi - _lgamma_positive(xp, ai)) * h
        return 1 - q if lower else q

    _apply(xp, out, series, by_series, a, x)
    _apply(xp, out, ~series, by_fraction, a, x)
    return out


def _igamma(xp, a, x, lower: bool):
    a, x, valid = _gamma_domain(xp, a, x)
    out = xp.full(x.shape, np.nan)
    # boundaries as SciPy: P(a, 0) = 0, P(0, x > 0) = 1, P(a, inf) = 1
    regular = valid & (a > 0) & (x > 0) & ~xp.isinf(x) & ~xp.isinf(a)
    _apply(xp, out, regular, lambda ai, xi: _igamma_parts(xp, ai, xi, lower), a, x)
    p_is_zero = valid & (x == 0) & (a > 0) | valid & xp.isinf(a) & ~xp.isinf(x)
    p_is_one = valid & (a == 0) & (x > 0) | valid & xp.isinf(x) & ~xp.isinf(a)
    out[p_is_zero] = 0.0 if lower else 1.0
    out[p_is_one] = 1.0 if lower else 0.0
    return out


def igamma(xp, a, x):
    return _igamma(xp, a, x, True)


def igammac(xp, a, x):
    return _igamma(xp, a, x, False)


def _igamma_derivatives(xp, a, x):
    """``(dP/da, -(dP/da) / density(x))`` for ``a > 0``, ``0 < x < inf``.

    The second is the implicit reparameterisation gradient of a Gamma(a) sample ``x``;
    it is formed from the series (or fraction) terms without the prefactor, so it stays
    finite where the density and ``dP/da`` underflow."""
    grad = xp.empty_like(x)
    reparam = xp.empty_like(x)
    series = x < a + 1
    if series.any():
        ai, xi = a[series], x[series]
        s, ds = _gamma_series(xp, ai, xi, True)
        log_x = xp.log(xi)
        inner = s * (log_x - _digamma_positive(xp, ai + 1)) + ds
        # P = pref * S with pref = x^a e^-x / Gamma(a + 1) = density(x) * x / a
        grad[series] = xp.exp(ai * log_x - xi - _lgamma_positive(xp, ai + 1)) * inner
        reparam[series] = -(xi / ai) * inner
    fraction = ~series
    if fraction.any():
        ai, xi = a[fraction], x[fraction]
        h, dh = _gamma_fraction(xp, ai, xi, True)
        log_x = xp.log(xi)
        inner = h * (log_x - _digamma_positive(xp, ai)) + dh
        # Q = pref * h with pref = x^a e^-x / Gamma(a) = density(x) * x; dP/da = -dQ/da
        grad[fraction] = -xp.exp(ai * log_x - xi - _lgamma_positive(xp, ai)) * inner
        reparam[fraction] = xi * inner
    return grad, reparam


def igamma_grad_a(xp, a, x):
    a, x = xp.broadcast_arrays(a, x)
    out = xp.full(x.shape, np.nan)
    regular = (a > 0) & (x > 0) & ~xp.isinf(x) & ~xp.isinf(a)
    _apply(xp, out, regular, lambda ai, xi: _igamma_derivatives(xp, ai, xi)[0], a, x)
    out[(a > 0) & ((x == 0) | xp.isinf(x))] = 0.0
    return out


def random_gamma_grad(xp, a, x):
    a, x = xp.broadcast_arrays(a, x)
    out = xp.full(x.shape, np.nan)
    regular = (a > 0) & (x > 0) & ~xp.isinf(x) & ~xp.isinf(a)
    _apply(xp, out, regular, lambda ai, xi: _igamma_derivatives(xp, ai, xi)[1], a, x)
    # a sample that underflowed to 0 stays at 0 however a moves
    out[(a > 0) & (x == 0)] = 0.0
    return out


# --- regularized incomplete beta --------------------------------------------------------------


def _beta_fraction(xp, a, b, x):
    """Lentz's evaluation of the continued fraction of I_x(a, b) (Numerical Recipes'
    ``betacf``)."""
    qab, qap, qam = a + b, a + 1, a - 1
    c = xp.ones_like(x)
    d = 1 - qab * x / qap
    d = 1 / xp.where(xp.abs(d) < _TINY, _TINY, d)
    h = d.copy()

    def step(idx, m):
        ai, bi, xi, ci, di = a[idx], b[idx], x[idx], c[idx], d[idx]
        m2 = 2 * m
        for aa in (m * (bi - m) * xi / ((qam[idx] + m2) * (ai + m2)),
                   -(ai + m) * (qab[idx] + m) * xi / ((ai + m2) * (qap[idx] + m2))):  # fmt: skip
            di = 1 + aa * di
            di = 1 / xp.where(xp.abs(di) < _TINY, _TINY, di)
            ci = 1 + aa / ci
            ci = xp.where(xp.abs(ci) < _TINY, _TINY, ci)
            delta = di * ci
            h[idx] *= delta
        c[idx], d[idx] = ci, di
        return xp.abs(delta - 1) > _EPS

    _loop(xp, xp.ones(x.shape, bool), step)
    return h


def _betainc_regular(xp, a, b, x):
    log_front = (_lgamma_positive(xp, a + b) - _lgamma_positive(xp, a) - _lgamma_positive(xp, b)
                 + a * xp.log(x) + b * xp.log1p(-x))  # fmt: skip
    front = xp.exp(log_front)
    out = xp.empty_like(x)
    direct = x < (a + 1) / (a + b + 2)
    _apply(xp, out, direct, lambda f, ai, bi, xi: f * _beta_fraction(xp, ai, bi, xi) / ai,
           front, a, b, x)  # fmt: skip
    _apply(xp, out, ~direct, lambda f, ai, bi, xi: 1 - f * _beta_fraction(xp, bi, ai, 1 - xi)
           / bi, front, a, b, x)  # fmt: skip
    return out


def betainc(xp, a, b, x):
    """I_x(a, b) for ``a, b > 0`` and ``0 <= x <= 1``; NaN elsewhere."""
    a, b, x = xp.broadcast_arrays(a, b, x)
    out = xp.full(x.shape, np.nan)
    valid = (a > 0) & (b > 0) & (x >= 0) & (x <= 1) & ~xp.isinf(a) & ~xp.isinf(b)
    regular = valid & (x > 0) & (x < 1)
    _apply(xp, out, regular, lambda *v: _betainc_regular(xp, *v), a, b, x)
    out[valid & (x == 0)] = 0.0
    out[valid & (x == 1)] = 1.0
    return out


# --- exponentially scaled modified Bessel functions --------------------------------------------

_BESSEL_SPLIT = 20.0
_SERIES_TERMS = 60
_ASYMPTOTIC_TERMS = 42


def _bessel_series(xp, x, order):
    """``I_order(x)`` for ``|x| <= 20``: ``(x/2)^order sum_k (x^2/4)^k / (k! (k+order)!)``."""
    y = x * x / 4
    term = xp.ones_like(x) / math.factorial(order)
    total = term.copy()
    for k in range(1, _SERIES_TERMS):
        term = term * y / (k * (k + order))
        total += term
    return total * (x / 2) ** order


def _bessel_asymptotic(xp, a, order):
    """``e^-a I_order(a)`` for ``a > 20``: ``sum_k (-1)^k prod_j (4 nu^2 - (2j-1)^2) /
    (k! (8a)^k) / sqrt(2 pi a)`` (the terms shrink up to k ~ 2a > 40)."""
    mu = 4.0 * order * order
    term = xp.ones_like(a)
    total = term.copy()
    for k in range(1, _ASYMPTOTIC_TERMS):
        term = term * -(mu - (2 * k - 1) ** 2) / (k * 8 * a)
        total += term
    return total / xp.sqrt(2 * math.pi * a)


def _bessel_ie(xp, x, order):
    out = xp.empty_like(x)
    a = xp.abs(x)
    small = a <= _BESSEL_SPLIT
    _apply(xp, out, small, lambda v: _bessel_series(xp, v, order) * xp.exp(-xp.abs(v)), x)
    large = a > _BESSEL_SPLIT  # NaN is in neither
    _apply(xp, out, large, lambda v: _bessel_asymptotic(xp, xp.abs(v), order) *
           (xp.sign(v) if order % 2 else 1.0), x)  # fmt: skip
    out[xp.isnan(x)] = np.nan
    return out


def bessel_i0e(xp, x):
    return _bessel_ie(xp, x, 0)


def bessel_i1e(xp, x):
    return _bessel_ie(xp, x, 1)


# --- exponential integrals: exp1, expi, expn -----------------------------------------------


def _expn_series(xp, n, x):
    """``E_n(x)`` for ``0 < x <= 1`` (A&S 5.1.12): ``(-x)^(n-1)/(n-1)! (psi(n) - log x)
    - sum_{k != n-1} (-x)^k / ((k - n + 1) k!)``, summed until the terms are below eps."""
    out = xp.empty_like(x)
    for order in np.unique(n):
        sel = xp.flatnonzero(n == order)
        v = x[sel]
        m = int(order)
        psi = -_EULER + sum(1.0 / j for j in range(1, m))  # psi(m) for integer m >= 1
        total = (-v) ** (m - 1) / math.factorial(m - 1) * (psi - xp.log(v))
        term = xp.ones_like(v)  # (-x)^k / k!
        for k in range(60):
            if k > 0:
                term = term * -v / k
            if k != m - 1:
                total -= term / (k - m + 1)
        out[sel] = total
    return out


def _expn_fraction(xp, n, x):
    """``E_n(x)`` for ``x > 1`` by the modified Lentz evaluation of the continued fraction
    ``e^-x (1/(x+n-) 1*n/(x+n+2-) 2(n+1)/(x+n+4-) ...)`` (Numerical Recipes 6.3)."""
    b = x + n
    c = xp.full_like(x, 1.0 / _TINY)
    d = 1.0 / b
    h = d.copy()
    out = xp.empty_like(x)

    def step(idx, i):
        nonlocal b, c, d, h
        an = -i * (n[idx] - 1 + i)
        b[idx] += 2.0
        d[idx] = 1.0 / (an * d[idx] + b[idx])
        c[idx] = b[idx] + an / c[idx]
        delta = c[idx] * d[idx]
        h[idx] *= delta
        return xp.abs(delta - 1.0) > _EPS

    _loop(xp, xp.ones(x.shape, bool), step)
    out[...] = h * xp.exp(-x)
    return out


def expn(xp, n, x):
    """``E_n(x) = integral_1^inf e^(-x t) / t^n dt`` for integer ``n >= 0`` and ``x >= 0``."""
    out = xp.full_like(x, np.nan)
    ok = (n >= 0) & (n == xp.floor(n)) & (x >= 0)
    zero_n = ok & (n == 0) & (x > 0)
    _apply(xp, out, zero_n, lambda v: xp.exp(-v) / v, x)
    at_zero = ok & (x == 0)
    out[at_zero & (n <= 1)] = np.inf
    high = at_zero & (n > 1)
    out[high] = 1.0 / (n[high] - 1.0)
    small = ok & (n >= 1) & (x > 0) & (x <= 1)
    _apply(xp, out, small, lambda m, v: _expn_series(xp, m, v), n, x)
    large = ok & (n >= 1) & (x > 1)
    _apply(xp, out, large, lambda m, v: _expn_fraction(xp, m, v), n, x)
    out[ok & (x == np.inf)] = 0.0
    return out


def exp1(xp, x):
    """``E_1(x)``; NaN for ``x < 0`` (the real-argument SciPy convention)."""
    return expn(xp, xp.ones_like(x), x)


def _expi_series(xp, x):
    """``Ei(x) = gamma + log|x| + sum_k x^k / (k k!)`` (converges for all x; used |x| <= 40)."""
    total = xp.zeros_like(x)
    term = xp.ones_like(x)
    for k in range(1, 200):
        term = term * x / k
        total += term / k
        if not k % 10 and xp.all(xp.abs(term / k) <= _EPS * xp.abs(total)):
            break
    return _EULER + xp.log(xp.abs(x)) + total


def _expi_asymptotic(xp, x):
    """``Ei(x) ~ e^x / x sum_k k! / x^k`` for ``x > 40`` (smallest term ~ e^-x at k ~ x)."""
    total = xp.ones_like(x)
    term = xp.ones_like(x)
    for k in range(1, 40):
        term = term * k / x
        total += term
    return xp.exp(x) / x * total


def expi(xp, x):
    """The exponential integral ``Ei(x) = -PV integral_{-x}^inf e^-t / t dt`` (real x)."""
    out = xp.full_like(x, np.nan)
    neg = x < 0
    _apply(xp, out, neg, lambda v: -exp1(xp, -v), x)
    mid = (x > 0) & (x <= 40)
    _apply(xp, out, mid, lambda v: _expi_series(xp, v), x)
    big = x > 40
    _apply(xp, out, big, lambda v: _expi_asymptotic(xp, v), x)
    out[x == 0] = -np.inf
    out[x == np.inf] = np.inf
    return out


# --- spence (the dilogarithm) --------------------------------------------------------------


def _li2_series(xp, z):
    """``Li2(z) = sum_k z^k / k^2`` for ``|z| <= 1/2`` (60 terms: 2^-60 / 3600 < eps)."""
    total = xp.zeros_like(z)
    power = xp.ones_like(z)
    for k in range(1, 61):
        power = power * z
        total += power / (k * k)
    return total


def _li2_le_one(xp, z):
    """``Li2(z)`` for ``-1 <= z <= 1`` by reflection and Landen's identity to ``|z| <= 1/2``."""
    out = xp.empty_like(z)
    _apply(xp, out, xp.abs(z) <= 0.5, lambda v: _li2_series(xp, v), z)
    # Li2(z) = pi^2/6 - log z log(1 - z) - Li2(1 - z)
    _apply(xp, out, z > 0.5, lambda v: math.pi**2 / 6 - xp.log(v) * xp.log1p(-v)
           - _li2_series(xp, 1.0 - v), z)  # fmt: skip
    # Li2(z) = -Li2(z / (z - 1)) - log(1 - z)^2 / 2, with z / (z - 1) in (1/3, 1/2]
    _apply(xp, out, z < -0.5, lambda v: -_li2_series(xp, v / (v - 1.0))
           - 0.5 * xp.log1p(-v) ** 2, z)  # fmt: skip
    return out


def spence(xp, x):
    """SciPy's ``spence(x) = integral_1^x log t / (1 - t) dt = Li2(1 - x)`` for ``x >= 0``."""
    out = xp.full_like(x, np.nan)
    z = 1.0 - x
    # 0 < x < 1/2: Li2(1 - x) = pi^2/6 - log(1 - x) log(x) - Li2(x), in x itself so that
    # tiny x (where 1 - x rounds to 1) keeps its digits
    _apply(xp, out, (x > 0) & (x < 0.5), lambda v: math.pi**2 / 6 - xp.log1p(-v) * xp.log(v)
           - _li2_series(xp, v), x)  # fmt: skip
    _apply(xp, out, (x >= 0.5) & (z >= -1), lambda v: _li2_le_one(xp, v), z)
    # Li2(z) = -pi^2/6 - log(-z)^2 / 2 - Li2(1/z) for z < -1
    _apply(xp, out, z < -1, lambda v: -math.pi**2 / 6 - 0.5 * xp.log(-v) ** 2
           - _li2_le_one(xp, 1.0 / v), z)  # fmt: skip
    out[x == 0] = math.pi**2 / 6
    out[x == np.inf] = -np.inf
    return out


# --- confluent hypergeometric function 1F1 ------------------------------------------------------


def _hyp1f1_series(xp, a, b, x):
    """``sum_k (a)_k / (b)_k x^k / k!``, run per element until a term no longer changes the
    sum (a terminating series, ``a`` a non-positive integer, stops when its terms hit 0)."""
    term = xp.ones_like(x)
    total = xp.ones_like(x)

    def step(idx, k):
        term[idx] *= (a[idx] + (k - 1)) / (b[idx] + (k - 1)) * x[idx] / k
        total[idx] += term[idx]
        return (xp.abs(term[idx]) > _EPS * xp.abs(total[idx])) | (k <= xp.abs(x[idx]))

    _loop(xp, xp.ones(x.shape, bool), step)
    return total


def hyp1f1(xp, a, b, x):
    """Kummer's confluent hypergeometric function ``M(a, b, x)`` for real operands: the
    power series for ``x >= 0``, and for ``x < 0`` Kummer's transformation
    ``M(a, b, x) = e^x M(b - a, b, -x)``, whose series has positive terms when ``b > a``
    (a terminating series, ``a`` a non-positive integer, is summed directly). NaN where
    ``b`` is a non-positive integer (a pole), except for a terminating series of ``a``
    with ``a >= b`` (as SciPy: SciPy returns inf there; see the docstring)."""
    out = xp.full_like(x, np.nan)
    pole = (b <= 0) & (b == xp.floor(b))
    terminating = (a <= 0) & (a == xp.floor(a))
    direct = ~pole & ((x >= 0) | terminating)
    _apply(xp, out, direct, lambda a_, b_, x_: _hyp1f1_series(xp, a_, b_, x_), a, b, x)
    _apply(xp, out, ~pole & ~direct,
           lambda a_, b_, x_: xp.exp(x_) * _hyp1f1_series(xp, b_ - a_, b_, -x_), a, b, x)  # fmt: skip
    out[~pole & (x == 0)] = 1.0
    return out


# --- scaled complementary error function --------------------------------------------------------


def _exp_square(xp, a):
    """``exp(a^2)`` without the rounding error of ``a*a`` (the mirror of _exp_minus_square)."""
    hi = xp.trunc(a * 16.0) / 16.0
    return xp.exp(hi * hi) * xp.exp((a - hi) * (a + hi))


def erfcx(xp, x):
    """``exp(x^2) erfc(x)``: Cody's scaled fractions for ``x >= 0``; for ``x < 0`` the
    reflection ``2 exp(x^2) - erfcx(-x)`` (inf once ``exp(x^2)`` overflows, below -26.6)."""
    out = xp.empty_like(x)
    nonneg = x >= 0
    _apply(xp, out, nonneg, lambda v: _erfcx_nonneg(xp, v), x)
    negative = x < 0
    _apply(xp, out, negative,
           lambda v: 2.0 * _exp_square(xp, xp.maximum(v, -27.0)) - _erfcx_nonneg(xp, -v), x)  # fmt: skip
    out[x < -27.0] = np.inf
    return out


# --- Fresnel integrals ------------------------------------------------------------------------

_FRESNEL_SPLIT = 1.5


def _fresnel_series(xp, x):
    """``S`` and ``C`` by their power series in ``t = pi x^2 / 2`` (``|x| <= 1.5``: the
    largest term is below 10, so at most one digit cancels)."""
    t = (math.pi / 2) * x * x
    s_term = t * x / 3  # n = 0 terms: t x / (1! 3) and x / (0! 1)
    c_term = x.copy()
    s_total, c_total = s_term.copy(), c_term.copy()
    # term_n = (-1)^n t^(2n+1) x / ((2n+1)! (4n+3)) for S, t^(2n) x / ((2n)! (4n+1)) for C
    s_power, c_power = t * x, x.copy()
    for n in range(1, 30):
        c_power = -c_power * t * t / ((2 * n - 1) * (2 * n))
        s_power = -s_power * t * t / ((2 * n) * (2 * n + 1))
        c_total += c_power / (4 * n + 1)
        s_total += s_power / (4 * n + 3)
    return s_total, c_total


def _half_pi_x_squared_phase(xp, x):
    """``(pi/2) x^2`` reduced modulo ``2 pi`` with ``x^2`` formed exactly (Veltkamp split),
    so cos/sin of it stay accurate for large ``x``."""
    c = 134217729.0 * x
    hi = c - (c - x)
    lo = x - hi
    sq = xp.fmod(hi * hi, 4.0) + xp.fmod(2.0 * hi * lo, 4.0) + lo * lo
    return (math.pi / 2) * xp.fmod(sq, 4.0)


def _complex_lentz(xp, b0, a_of, b_of, n_max=_MAX_ITERATIONS):
    """``b0 + a1/(b1 + a2/(b2 + ...))`` for complex arrays (modified Lentz), run until every
    element has converged; ``a_of(n)`` / ``b_of(n)`` give the n-th partial terms."""
    tiny = 1e-300
    f = xp.where(b0 == 0, tiny, b0)
    c = f.copy()
    d = xp.zeros_like(f)
    active = xp.arange(f.size)
    for n in range(1, n_max):
        a_n, b_n = a_of(n, active), b_of(n, active)
        d_n = b_n + a_n * d[active]
        d_n = xp.where(d_n == 0, tiny, d_n)
        d_n = 1.0 / d_n
        c_n = b_n + a_n / c[active]
        c_n = xp.where(c_n == 0, tiny, c_n)
        delta = c_n * d_n
        d[active], c[active] = d_n, c_n
        f[active] *= delta
        keep = xp.abs(delta - 1.0) > _EPS
        active = active[keep]
        if not active.size:
            break
    return f


def _fresnel_fraction(xp, x):
    """``S`` and ``C`` for ``x > 1.5`` from ``C + iS = (1+i)/2 (1 - erfc(z))`` with
    ``z = sqrt(pi)/2 (1-i) x``; erfc's continued fraction
    ``erfc(z) = e^(-z^2) / sqrt(pi) / (z + (1/2)/(z + 1/(z + (3/2)/(z + ...))))``."""
    z = (_SQRT_PI / 2) * (1 - 1j) * x
    fraction = _complex_lentz(xp, z, lambda n, idx: n / 2.0, lambda n, idx: z[idx])
    phase = _half_pi_x_squared_phase(xp, x)  # -z^2 = i pi x^2 / 2
    erfc_z = (xp.cos(phase) + 1j * xp.sin(phase)) / (_SQRT_PI * fraction)
    value = (0.5 + 0.5j) * (1.0 - erfc_z)
    return value.imag.copy(), value.real.copy()


def _fresnel(xp, x):
    s, c = xp.full_like(x, np.nan), xp.full_like(x, np.nan)
    a = xp.abs(x)
    sign = xp.sign(x)

    def assign(mask, fn):
        idx = xp.flatnonzero(mask)
        if idx.size:
            s_part, c_part = fn(a[idx])
            s[idx], c[idx] = sign[idx] * s_part, sign[idx] * c_part

    assign(a <= _FRESNEL_SPLIT, lambda v: _fresnel_series(xp, v))
    assign((a > _FRESNEL_SPLIT) & xp.isfinite(a), lambda v: _fresnel_fraction(xp, v))
    inf = xp.isinf(x)
    s[inf], c[inf] = 0.5 * sign[inf], 0.5 * sign[inf]
    return s, c


def fresnel_s(xp, x):
    return _fresnel(xp, x)[0]


def fresnel_c(xp, x):
    return _fresnel(xp, x)[1]


# --- sine and cosine integrals ------------------------------------------------------------------

_SICI_SPLIT = 4.0


def _sici_series(xp, x):
    """``Si`` and ``Ci - gamma - log x`` by their power series (``0 <= x <= 4``)."""
    x2 = x * x
    power = x.copy()  # x^(2n+1) / (2n+1)! for Si, x^(2n) / (2n)! for Ci
    si = x.copy()
    cin = xp.zeros_like(x)
    even = xp.ones_like(x)
    for n in range(1, 40):
        even = -even * x2 / ((2 * n - 1) * (2 * n))
        power = -power * x2 / ((2 * n) * (2 * n + 1))
        cin += even / (2 * n)
        si += power / (2 * n + 1)
    return si, cin


def _sici_fraction(xp, x):
    """``E1(ix) = -Ci(x) + i (Si(x) - pi/2)`` for ``x > 4``, from the continued fraction
    ``E1(z) = e^-z / (z + 1 - 1/(z + 3 - 4/(z + 5 - 9/(z + 7 - ...))))``."""
    z = 1j * x
    fraction = _complex_lentz(xp, z + 1.0, lambda n, idx: -float(n * n),
                              lambda n, idx: z[idx] + (2 * n + 1))  # fmt: skip
    e1 = (xp.cos(x) - 1j * xp.sin(x)) / fraction
    return math.pi / 2 + e1.imag, -e1.real


def _sici(xp, x):
    si, ci = xp.full_like(x, np.nan), xp.full_like(x, np.nan)
    a = xp.abs(x)
    small = a <= _SICI_SPLIT
    idx = xp.flatnonzero(small & (a > 0))
    if idx.size:
        s_part, cin = _sici_series(xp, a[idx])
        si[idx] = xp.sign(x[idx]) * s_part
        ci[idx] = _EULER + xp.log(a[idx]) + cin
    idx = xp.flatnonzero(~small & xp.isfinite(a))
    if idx.size:
        s_part, c_part = _sici_fraction(xp, a[idx])
        si[idx], ci[idx] = xp.sign(x[idx]) * s_part, c_part
    zero = x == 0
    si[zero], ci[zero] = x[zero], -np.inf
    inf = xp.isinf(x)
    # Ci(-inf) is NaN, as SciPy (the real part of Ci(x + i0) oscillates out towards -inf)
    si[inf], ci[inf] = xp.sign(x[inf]) * (math.pi / 2), xp.where(x[inf] > 0, 0.0, np.nan)
    return si, ci


def sici_si(xp, x):
    return _sici(xp, x)[0]


def sici_ci(xp, x):
    """``Ci(|x|)`` (the real part for ``x < 0``, as SciPy for real input)."""
    return _sici(xp, x)[1]


# --- Gauss hypergeometric function 2F1 -----------------------------------------------------------

_HYP2F1_SERIES_MAX = 0.9


def _hyp2f1_series(xp, a, b, c, z):
    """``sum_k (a)_k (b)_k / ((c)_k k!) z^k``, run per element until a term no longer
    changes the sum and the terms have started to shrink."""
    term = xp.ones_like(z)
    total = xp.ones_like(z)
    start = xp.abs(a) + xp.abs(b) + 2

    def step(idx, k):
        term[idx] *= (a[idx] + (k - 1)) * (b[idx] + (k - 1)) / ((c[idx] + (k - 1)) * k) * z[idx]
        total[idx] += term[idx]
        return (xp.abs(term[idx]) > _EPS * xp.abs(total[idx])) | (k <= start[idx])

    _loop(xp, xp.ones(z.shape, bool), step)
    return total


def _signed_lgamma(xp, x):
    """``(log|Gamma(x)|, sign Gamma(x))``, with sign 0 at the poles (so 1/Gamma is 0)."""
    pole = (x <= 0) & (x == xp.floor(x))
    safe = xp.where(pole, 0.5, x)
    log = lgamma(xp, safe)
    odd = xp.fmod(xp.floor(safe), 2.0) != 0
    sign = xp.where(safe > 0, 1.0, xp.where(odd, -1.0, 1.0))
    return log, xp.where(pole, 0.0, sign)


def _gamma_ratio(xp, top, bottom):
    """``prod Gamma(top_i) / prod Gamma(bottom_j)`` from logarithms and signs (0 where a
    bottom argument is a pole; the callers keep top arguments off the poles)."""
    log, sign = xp.zeros_like(top[0]), xp.ones_like(top[0])
    for t in top:
        lg, sg = _signed_lgamma(xp, t)
        log, sign = log + lg, sign * sg
    for t in bottom:
        lg, sg = _signed_lgamma(xp, t)
        log, sign = log - lg, sign * sg
    return xp.where(sign == 0, 0.0, sign * xp.exp(log))


def _hyp2f1_near_one(xp, a, b, c, z):
    """DLMF 15.8.4, the ``z -> 1 - z`` connection, for ``c - a - b`` not an integer:
    ``F = G(c)G(s)/(G(c-a)G(c-b)) F(a, b; 1-s; 1-z)
    + (1-z)^s G(c)G(-s)/(G(a)G(b)) F(c-a, c-b; 1+s; 1-z)`` with ``s = c - a - b``."""
    s = c - a - b
    w = 1.0 - z
    first = _gamma_ratio(xp, [c, s], [c - a, c - b]) * _hyp2f1_series(xp, a, b, 1.0 - s, w)
    second = _gamma_ratio(xp, [c, -s], [a, b]) * _hyp2f1_series(xp, c - a, c - b, 1.0 + s, w)
    return first + w**s * second


# Within this of an integer m, c - a - b is taken as m: DLMF 15.8.4's two terms have poles
# there that cancel, costing a relative error of about 1e-14 / |c - a - b - m|, while the
# limit form (A&S 15.3.10-12, at c' = a + b + m) is off by about 30 |c - a - b - m|; the
# switch bounds both near 5e-7 (and c = a + b + m rounded in floating point gets ~1e-13)
_HYP2F1_INTEGER_WITHIN = 1e-8
_HYP2F1_INTEGER_MAX = 1000  # larger |m|: the series converges fast up to z = 1


def _hyp2f1_integer_s(xp, a, b, c, z):
    """A&S 15.3.10-11 for ``0 < z < 1`` and ``m = c - a - b`` a non-negative integer, with
    ``w = 1 - z``:
    ``F = G(m)G(c)/(G(c-a)G(c-b)) sum_{n<m} (a)_n (b)_n / (n! (1-m)_n) w^n
    - (-w)^m G(c)/(G(a)G(b)m!) sum_n (a+m)_n (b+m)_n / (n! (m+1)_n) w^n
    [log w - psi(n+1) - psi(n+m+1) + psi(a+n+m) + psi(b+n+m)]``. The digammas follow by
    ``psi(x + 1) = psi(x) + 1/x`` from one evaluation each."""
    m = xp.round(c - a - b)
    w = 1.0 - z
    finite = xp.zeros_like(z)
    term = xp.ones_like(z)

    def finite_step(idx, n):  # adds the term of index n - 1
        finite[idx] += term[idx]
        ratio = (a[idx] + (n - 1)) * (b[idx] + (n - 1)) / (n * (n - m[idx]))
        term[idx] *= ratio * w[idx]
        return n < m[idx]

    _loop(xp, m >= 1, finite_step)
    log_w = xp.log(w)
    am, bm = a + m, b + m
    psi = _EULER - digamma(xp, m + 1.0) + digamma(xp, am) + digamma(xp, bm)  # n = 0
    term = xp.ones_like(z)
    total = log_w + psi
    start = xp.abs(am) + xp.abs(bm) + 2

    def tail_step(idx, n):
        k = n - 1
        ai, bi, mi = am[idx], bm[idx], m[idx]
        t = term[idx] * ((ai + k) * (bi + k) / (n * (n + mi)) * w[idx])
        term[idx] = t
        psi[idx] += 1.0 / (ai + k) + 1.0 / (bi + k) - 1.0 / n - 1.0 / (n + mi)
        piece = t * (log_w[idx] + psi[idx])
        total[idx] += piece
        return (xp.abs(piece) > _EPS * xp.abs(total[idx])) | (n <= start[idx])

    _loop(xp, xp.ones(z.shape, bool), tail_step)
    first = _gamma_ratio(xp, [xp.maximum(m, 1.0), c], [c - a, c - b]) * finite
    outer = _gamma_ratio(xp, [c], [a, b, m + 1.0])
    # outer is 0 where a or b is a non-positive integer (reached through Euler's
    # transformation below), where the digammas above may be poles
    second = xp.where(outer == 0, 0.0, outer * (-w) ** m * total)
    return first - second


def _hyp2f1_integer(xp, a, b, c, z):
    """``F(a, b; c; z)`` for ``0.9 < z < 1`` and ``c - a - b`` an integer: A&S 15.3.10-11
    when it is non-negative, else Euler's transformation
    ``F(a, b; c; z) = (1 - z)^(c-a-b) F(c - a, c - b; c; z)`` onto them (A&S 15.3.12)."""
    out = xp.empty_like(z)
    negative = xp.round(c - a - b) < 0
    _apply(xp, out, ~negative, lambda *v: _hyp2f1_integer_s(xp, *v), a, b, c, z)

    def euler(a_, b_, c_, z_):
        power = (1.0 - z_) ** xp.round(c_ - a_ - b_)
        return power * _hyp2f1_integer_s(xp, c_ - a_, c_ - b_, c_, z_)

    _apply(xp, out, negative, euler, a, b, c, z)
    return out


def _hyp2f1_unit_interval(xp, a, b, c, z):
    """``F(a, b; c; z)`` for ``0 <= z < 1``: the series up to 0.9; above, the ``1 - z``
    connection, or its limit form when ``c - a - b`` is an integer."""
    out = xp.empty_like(z)
    m = xp.round(c - a - b)
    c_int = a + b + m
    integer = (xp.abs(c - c_int) <= _HYP2F1_INTEGER_WITHIN) & (xp.abs(m) <= _HYP2F1_INTEGER_MAX)
    integer &= ~((c_int <= 0) & (c_int == xp.floor(c_int)))  # c at a pole: no limit form
    near = z > _HYP2F1_SERIES_MAX
    _apply(xp, out, ~near, lambda *v: _hyp2f1_series(xp, *v), a, b, c, z)
    _apply(xp, out, near & ~integer, lambda *v: _hyp2f1_near_one(xp, *v), a, b, c, z)
    _apply(xp, out, near & integer, lambda *v: _hyp2f1_integer(xp, *v), a, b, c_int, z)
    return out


def hyp2f1(xp, a, b, c, z):
    """Gauss's ``2F1(a, b; c; z)`` for real operands and ``z <= 1``: terminating series
    directly; ``z < 0`` through Pfaff's transformation
    ``F(a, b; c; z) = (1-z)^-a F(a, c-b; c; z/(z-1))`` onto ``[0, 1)``; Gauss's sum at
    ``z = 1`` (``c - a - b > 0``, inf otherwise). NaN for ``z > 1`` (the real-valued
    function is not defined there) unless the series terminates, and at the poles of ``c``
    (a non-positive integer)."""
    out = xp.full_like(z, np.nan)
    pole = (c <= 0) & (c == xp.floor(c))
    ok = ~pole & (z <= 1)
    terminating = ((a <= 0) & (a == xp.floor(a))) | ((b <= 0) & (b == xp.floor(b)))
    direct = ~pole & terminating  # a polynomial in z: summed directly, for any z
    _apply(xp, out, direct, lambda *v: _hyp2f1_series(xp, *v), a, b, c, z)
    unit = ok & ~direct & (z >= 0) & (z < 1)
    _apply(xp, out, unit, lambda *v: _hyp2f1_unit_interval(xp, *v), a, b, c, z)

    def pfaff(a_, b_, c_, z_):
        return (1.0 - z_) ** -a_ * _hyp2f1_unit_interval(xp, a_, c_ - b_, c_, z_ / (z_ - 1.0))

    _apply(xp, out, ok & ~direct & (z < 0), pfaff, a, b, c, z)
    at_one = ok & ~direct & (z == 1)

    def gauss_sum(a_, b_, c_, z_):
        s = c_ - a_ - b_
        return xp.where(s > 0, _gamma_ratio(xp, [c_, xp.where(s > 0, s, 1.0)], [c_ - a_, c_ - b_]),
                        np.inf)  # fmt: skip

    _apply(xp, out, at_one, gauss_sum, a, b, c, z)
    return out


# --- Faddeeva function and Dawson's integral -------------------------------------------------
# w(z) = exp(-z^2) erfc(-iz) (scipy.special.wofz) and D(x) = (sqrt(pi) / 2) Im w(x) for real
# x. In the upper half plane: Weideman's rational approximation (SIAM J. Numer. Anal. 31,
# 1994) for |z| < 6, Laplace's continued fraction beyond; the lower half plane by the
# reflection w(z) = 2 exp(-z^2) - w(-z). Measured against scipy.special.wofz on grids up to
# |z| = 40: relative error below 3e-14 in the upper half plane and on both axes.

_WEIDEMAN_TERMS = 40  # 32 terms leave 3e-13, 40 reach the 1e-14 floor set by rounding
_FADDEEVA_SPLIT = 6.0  # |z| from which the continued fraction converges in 20 levels
_FADDEEVA_FRACTION_DEPTH = 20
_DAWSON_SERIES_BELOW = 0.5


def _weideman_coefficients(n: int) -> tuple[float, list[float]]:
    """``(L, a)`` for ``w(z) ~ 2 p(Z) / (L - iz)^2 + 1 / (sqrt(pi) (L - iz))`` with
    ``Z = (L + iz) / (L - iz)`` and ``p(Z) = sum_k a_k Z^k`` (``a`` highest degree first):
    the ``a_k`` are the Fourier coefficients of ``(L^2 + t^2) exp(-t^2)`` in the angle
    ``theta`` of ``t = L tan(theta / 2)``, computed by an FFT on ``4n`` points."""
    m = 2 * n
    scale = math.sqrt(n / math.sqrt(2))
    t = scale * np.tan(np.arange(-m + 1, m) * math.pi / (2 * m))
    samples = np.concatenate([[0.0], np.exp(-t * t) * (scale * scale + t * t)])
    fourier = np.fft.fft(np.fft.fftshift(samples)).real / (2 * m)
    return scale, [float(c) for c in fourier[n:0:-1]]


_WEIDEMAN_L, _WEIDEMAN_A = _weideman_coefficients(_WEIDEMAN_TERMS)


def _faddeeva_rational(z):
    """Weideman's approximation of ``w(z)``, ``Im z >= 0`` (absolute error 1e-15 for
    ``|z| < 6``, where ``|w| > 0.09``)."""
    denominator = _WEIDEMAN_L - 1j * z
    p = _horner(_WEIDEMAN_A, (_WEIDEMAN_L + 1j * z) / denominator)
    return 2.0 * p / (denominator * denominator) + (1 / _SQRT_PI) / denominator


def _faddeeva_fraction_denominator(z):
    """``z - (1/2) / (z - (2/2) / (z - (3/2) / ...))`` evaluated backwards from a fixed
    depth, so that ``w(z) = (i / sqrt(pi)) / result`` (Laplace's continued fraction; on the
    real axis it is real and gives Dawson's integral as ``1 / (2 result)``)."""
    t = z
    for k in range(_FADDEEVA_FRACTION_DEPTH, 0, -1):
        t = z - (k / 2) / t
    return t


def _faddeeva_upper(xp, z):
    """``w(z)`` for ``Im z >= 0``."""
    out = xp.full_like(z, complex(np.nan, np.nan))
    near = xp.abs(z) < _FADDEEVA_SPLIT
    _apply(xp, out, near, _faddeeva_rational, z)
    far = ~near & ~xp.isnan(z)
    _apply(xp, out, far, lambda v: (1j / _SQRT_PI) / _faddeeva_fraction_denominator(v), z)
    return out


def _complex(xp, real, imag):
    """``real + i imag`` built part by part (``real + 1j * imag`` turns ``inf * 0`` into NaN)."""
    out = xp.empty(real.shape, np.complex128)
    out.real, out.imag = real, imag
    return out


def _exp_minus_square_complex(xp, z):
    """``exp(-z^2)`` with ``Re(z^2) = (x - y)(x + y)`` (no cancellation on the diagonals),
    zero imaginary part kept exact where the phase is 0 (even if the modulus overflows)."""
    x, y = z.real, z.imag
    modulus = xp.exp(-(x - y) * (x + y))
    phase = 2.0 * x * y
    sine = xp.sin(phase)
    return _complex(xp, modulus * xp.cos(phase), xp.where(sine == 0, 0.0, -modulus * sine))


def _dawson_series(x):
    """``D(x) = sum_k (-2)^k x^(2k+1) / (2k+1)!!`` for ``|x| < 0.5`` (ratio of terms below
    ``1 / (4k + 2)``: 22 terms reach double precision)."""
    x2 = x * x
    term, total = x.copy(), x.copy()
    for k in range(1, 22):
        term = term * (-2.0 * x2 / (2 * k + 1))
        total += term
    return total


def dawsn(xp, x):
    """Dawson's integral ``D(x) = exp(-x^2) integral_0^x exp(t^2) dt``: the power series
    below 0.5, ``(sqrt(pi) / 2) Im w(x)`` by Weideman's approximation up to 6, the real
    continued fraction above (odd in ``x``)."""
    a = xp.abs(x)
    out = xp.full_like(x, np.nan)
    small = a < _DAWSON_SERIES_BELOW
    _apply(xp, out, small, _dawson_series, a)
    middle = (a >= _DAWSON_SERIES_BELOW) & (a < _FADDEEVA_SPLIT)
    _apply(xp, out, middle, lambda v: (_SQRT_PI / 2) * _faddeeva_rational(v + 0j).imag, a)
    far = a >= _FADDEEVA_SPLIT
    _apply(xp, out, far, lambda v: 0.5 / _faddeeva_fraction_denominator(v), a)
    return xp.copysign(out, x)


def wofz(xp, z):
    """The Faddeeva function ``w(z) = exp(-z^2) erfc(-iz)`` of complex128 ``z``. On the real
    axis the parts are formed separately, ``exp(-x^2) + (2i / sqrt(pi)) D(x)``, so each has
    full relative accuracy (the rational approximation has it only for the modulus)."""
    x, y = z.real, z.imag
    lower = y < 0
    out = _faddeeva_upper(xp, xp.where(lower, -z, z))
    real_axis = (y == 0) & xp.isfinite(x)
    _apply(xp, out, real_axis, lambda v: _complex(xp, _exp_minus_square(xp, xp.abs(v)),
                                                  (2 / _SQRT_PI) * dawsn(xp, v)), x)  # fmt: skip
    out[(y == 0) & xp.isinf(x)] = 0.0

    def reflect(v, w):
        e = _exp_minus_square_complex(xp, v)
        return _complex(xp, 2.0 * e.real - w.real, 2.0 * e.imag - w.imag)

    _apply(xp, out, lower, reflect, z, out)
    return out
