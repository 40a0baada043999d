"""``funcgrad.scipy.special``: jax.scipy.special's functions, composed from funcgrad.lax's
special-function primitives and funcgrad.numpy.

Arguments are promoted as NumPy does (integers and bools become float64, Python scalars
take the arrays' dtype) and broadcast. Every function works under grad, vmap and jit;
derivatives that are not plain compositions (``xlogy`` at ``x = 0``, ``log_ndtr`` in the
far tail) are written so that they stay finite where the function is.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

import funcgrad.numpy as fnp
from funcgrad._src import dtypes
from funcgrad._src.core import Primitive
from funcgrad._src.interpreters.ad import defjvp
from funcgrad._src.interpreters.batching import defbroadcasting
from funcgrad._src.lax import special as ls
from funcgrad._src.lax import special_kernels as _kernels
from funcgrad._src.nn import activations as _act
from funcgrad._src.nn import softmax_family as _softmax
from funcgrad._src.nn._util import with_jvp

__all__ = [
    "bernoulli",
    "bessel_jn",
    "beta",
    "betainc",
    "betaln",
    "boxcox",
    "boxcox1p",
    "comb",
    "dawsn",
    "digamma",
    "entr",
    "erf",
    "erfc",
    "erfcx",
    "erfinv",
    "exp1",
    "expi",
    "expit",
    "expn",
    "factorial",
    "fresnel",
    "gamma",
    "gammainc",
    "gammaincc",
    "gammaln",
    "gammasgn",
    "hyp1f1",
    "hyp2f1",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "kl_div",
    "log_ndtr",
    "log_softmax",
    "loggamma",
    "logit",
    "logsumexp",
    "lpmn",
    "lpmn_values",
    "multigammaln",
    "ndtr",
    "ndtri",
    "owens_t",
    "poch",
    "polygamma",
    "psi",
    "rel_entr",
    "sici",
    "softmax",
    "spence",
    "sph_harm",
    "sph_harm_y",
    "wofz",
    "xlog1py",
    "xlogy",
    "zeta",
]  # fmt: skip


def _floats(fname: str, *args: Any) -> list:
    """The arguments as arrays of one inexact dtype, broadcast together."""
    try:
        arrays = [fnp.asarray(a) for a in args]
    except TypeError as e:
        raise TypeError(f"funcgrad.scipy.special.{fname}: {e}") from None
    for a, x in zip(arrays, args):
        if a.dtype.kind not in "biuf":
            raise TypeError(
                f"funcgrad.scipy.special.{fname}: arguments must be real numbers, got an array "
                f"of dtype {a.dtype}"
            )
    dtype = dtypes.to_inexact(fnp.result_type(*args))
    arrays = [a.astype(dtype) if a.dtype != dtype else a for a in arrays]
    return list(fnp.broadcast_arrays(*arrays)) if len(arrays) > 1 else arrays


def _unary(prim, fname):
    def fn(x):
        (x,) = _floats(fname, x)
        return prim.bind1(x)

    return fn


_gammaln = _unary(ls.lgamma_p, "gammaln")


def gammaln(x: Any) -> Any:
    """``log|Gamma(x)|`` (inf at the poles ``0, -1, ...``).

    Examples:
        >>> from funcgrad.scipy import special
        >>> round(float(special.gammaln(0.5)), 12)  # log(sqrt(pi))
        0.572364942925
    """
    return _gammaln(x)


def digamma(x: Any) -> Any:
    """The digamma function ``psi(x) = d/dx log Gamma(x)``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> round(float(special.digamma(1.0)), 12)
        -0.577215664902
    """
    (x,) = _floats("digamma", x)
    return ls.digamma_p.bind1(x)


psi = digamma


def gammasgn(x: Any) -> Any:
    """The sign of ``Gamma(x)``: 1 for ``x > 0``, alternating between the negative poles
    (-1 on ``(-1, 0)``); as SciPy, the sign of zero at +-0 and NaN at the negative poles.

    Examples:
        >>> from funcgrad.scipy import special
        >>> special.gammasgn(fnp.asarray([2.5, -0.5, -1.5])).tolist()
        [1.0, -1.0, 1.0]
    """
    (x,) = _floats("gammasgn", x)
    floor = fnp.floor(x)
    odd = fnp.remainder(floor, 2) == 1
    sign = fnp.where(x > 0, 1.0, fnp.where(odd, -1.0, 1.0)).astype(x.dtype)
    pole = (x < 0) & (x == floor)
    sign = fnp.where(x == 0, fnp.copysign(1.0, x), sign).astype(x.dtype)
    return fnp.where(pole | fnp.isnan(x), np.nan, sign)


def gamma(x: Any) -> Any:
    """The gamma function, ``gammasgn(x) * exp(gammaln(x))``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> special.gamma(fnp.asarray([1.0, 5.0, 0.5])).round(10).tolist()
        [1.0, 24.0, 1.7724538509]
    """
    (x,) = _floats("gamma", x)
    return gammasgn(x) * fnp.exp(ls.lgamma_p.bind1(x))


def betaln(a: Any, b: Any) -> Any:
    """``log|B(a, b)| = gammaln(a) + gammaln(b) - gammaln(a + b)``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> round(float(special.betaln(2.0, 3.0)), 12)  # log(1/12)
        -2.484906649788
    """
    a, b = _floats("betaln", a, b)
    lg = ls.lgamma_p.bind1
    return lg(a) + lg(b) - lg(a + b)


def beta(a: Any, b: Any) -> Any:
    """The beta function ``Gamma(a) Gamma(b) / Gamma(a + b)``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> round(float(special.beta(2.0, 3.0)), 12)
        0.083333333333
    """
    a, b = _floats("beta", a, b)
    sign = gammasgn(a) * gammasgn(b) * gammasgn(a + b)
    return sign * fnp.exp(betaln(a, b))


def betainc(a: Any, b: Any, x: Any) -> Any:
    """The regularized incomplete beta function ``I_x(a, b)`` (differentiable in ``x``).

    Examples:
        >>> from funcgrad.scipy import special
        >>> float(special.betainc(2.0, 3.0, 0.5))
        0.6875
    """
    a, b, x = _floats("betainc", a, b, x)
    return ls.betainc_p.bind1(a, b, x)


def gammainc(a: Any, x: Any) -> Any:
    """The regularized lower incomplete gamma function ``P(a, x)``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> round(float(special.gammainc(1.0, 2.0)), 12)
        0.864664716763
    """
    a, x = _floats("gammainc", a, x)
    return ls.igamma_p.bind1(a, x)


def gammaincc(a: Any, x: Any) -> Any:
    """The regularized upper incomplete gamma function ``Q(a, x) = 1 - P(a, x)``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> round(float(special.gammaincc(1.0, 2.0)), 12)
        0.135335283237
    """
    a, x = _floats("gammaincc", a, x)
    return ls.igammac_p.bind1(a, x)


def erf(x: Any) -> Any:
    """The error function.

    Examples:
        >>> from funcgrad.scipy import special
        >>> round(float(special.erf(0.5)), 12)
        0.520499877813
    """
    (x,) = _floats("erf", x)
    return ls.erf_p.bind1(x)


def erfc(x: Any) -> Any:
    """The complementary error function ``1 - erf(x)``, accurate in the tail.

    Examples:
        >>> from funcgrad.scipy import special
        >>> f"{float(special.erfc(6.0)):.6e}"
        '2.151974e-17'
    """
    (x,) = _floats("erfc", x)
    return ls.erfc_p.bind1(x)


def erfinv(x: Any) -> Any:
    """The inverse error function on ``[-1, 1]``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> round(float(special.erfinv(0.5)), 12)
        0.476936276204
    """
    (x,) = _floats("erfinv", x)
    return ls.erf_inv_p.bind1(x)


_SQRT_HALF = math.sqrt(0.5)


def ndtr(x: Any) -> Any:
    """The standard normal CDF ``(1 + erf(x / sqrt 2)) / 2``, computed as
    ``erfc(-x / sqrt 2) / 2`` so that the lower tail keeps its relative accuracy.

    Examples:
        >>> from funcgrad.scipy import special
        >>> round(float(special.ndtr(1.0)), 12)
        0.841344746069
    """
    (x,) = _floats("ndtr", x)
    return 0.5 * ls.erfc_p.bind1(-_SQRT_HALF * x)


def ndtri(p: Any) -> Any:
    """The inverse of :func:`ndtr` (``-inf`` at 0, ``inf`` at 1, NaN outside ``[0, 1]``),
    accurate also for tiny ``p``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> round(float(special.ndtri(0.975)), 12)
        1.95996398454
    """
    (p,) = _floats("ndtri", p)
    return ls.ndtri_p.bind1(p)


# log_ndtr: log(ndtr(x)) above -20, Laplace's asymptotic series below, where ndtr underflows:
# log ndtr(x) = -x^2/2 - log(-x) - log(2 pi)/2 + log(sum_k (-1)^k (2k-1)!! / x^(2k)),
# whose terms at x <= -20 fall below 1e-17 by k = 10.
_LOG_NDTR_SPLIT = -20.0
_LOG_NDTR_TERMS = 10
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def log_ndtr(x: Any, series_order: int = 3) -> Any:
    """``log(ndtr(x))``, accurate in both tails (``log_ndtr(-40) = -804.6``), with finite
    gradients everywhere.

    Below ``x = -20`` it is the asymptotic series ``log ndtr(x) = -x^2/2 - log(-x) -
    log(2 pi)/2 + log(1 + sum_{k>=1} (-1)^k (2k-1)!! / x^(2k))``. ``series_order`` (a
    Python int in ``[0, 30]``, as JAX) is the most terms taken, but never fewer than the
    9 that float64 needs at ``x = -20``: a small order does not lower the accuracy
    (JAX's default of 3 would leave a relative error of about ``4e-9`` there).

    Examples:
        >>> from funcgrad.scipy import special
        >>> round(float(special.log_ndtr(-40.0)), 8)
        -804.60844201
    """
    if not isinstance(series_order, int) or isinstance(series_order, bool):
        raise TypeError(
            "funcgrad.scipy.special.log_ndtr: series_order must be a Python int, got "
            f"{type(series_order).__name__}"
        )
    if not 0 <= series_order <= 30:
        raise ValueError(
            f"funcgrad.scipy.special.log_ndtr: series_order must be in [0, 30], got {series_order}"
        )
    (x,) = _floats("log_ndtr", x)
    # each branch sees only inputs in its own range (clamped by where, not maximum, whose
    # derivative at a tie is 1/2), so the branch not taken has finite gradients
    above = x > _LOG_NDTR_SPLIT
    hi = fnp.where(above, x, 0.0)
    lo = fnp.where(above, _LOG_NDTR_SPLIT, x)
    positive = hi > 0
    upper = ls.erfc_p.bind1(_SQRT_HALF * fnp.where(positive, hi, 0.0))  # 2 (1 - ndtr(hi))
    lower = ls.erfc_p.bind1(-_SQRT_HALF * fnp.where(positive, 0.0, hi))  # 2 ndtr(hi)
    middle = fnp.where(positive, fnp.log1p(-0.5 * upper), fnp.log(0.5 * lower))
    r2 = 1.0 / (lo * lo)
    series, term = 1.0, 1.0
    for k in range(1, max(series_order + 1, _LOG_NDTR_TERMS)):
        term = term * -(2 * k - 1) * r2
        series = series + term
    tail = -0.5 * lo * lo - fnp.log(-lo) - _HALF_LOG_2PI + fnp.log(series)
    return fnp.where(above, middle, tail)


def logit(x: Any) -> Any:
    """``log(p / (1 - p))``, the inverse of :func:`expit`.

    Examples:
        >>> from funcgrad.scipy import special
        >>> float(special.logit(0.5))
        0.0
    """
    (x,) = _floats("logit", x)
    return fnp.log(x) - fnp.log1p(-x)


def expit(x: Any) -> Any:
    """The logistic sigmoid ``1 / (1 + exp(-x))``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> float(special.expit(0.0))
        0.5
    """
    (x,) = _floats("expit", x)
    return _act.sigmoid(x)


def logsumexp(a: Any, axis: Any = None, b: Any = None, keepdims: bool = False,
              return_sign: bool = False, where: Any = None) -> Any:  # fmt: skip
    """``log(sum(b * exp(a)))`` along ``axis``, stable for any ``a`` (see
    ``funcgrad.nn.logsumexp``; identical arguments, as in JAX).

    Examples:
        >>> from funcgrad.scipy import special
        >>> round(float(special.logsumexp(fnp.asarray([1000.0, 1000.0]))), 6)
        1000.693147
    """
    return _softmax.logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=return_sign,
                              where=where)  # fmt: skip


def softmax(x: Any, /, *, axis: Any = None) -> Any:
    """``exp(x) / sum(exp(x))`` along ``axis`` (default: all axes, as SciPy).

    Examples:
        >>> from funcgrad.scipy import special
        >>> special.softmax(fnp.asarray([0.0, 0.0])).tolist()
        [0.5, 0.5]
    """
    return _softmax.softmax(x, axis=axis)


def log_softmax(x: Any, /, *, axis: Any = None) -> Any:
    """``x - logsumexp(x)`` along ``axis`` (default: all axes, as SciPy).

    Examples:
        >>> from funcgrad.scipy import special
        >>> [round(v, 6) for v in special.log_softmax(fnp.asarray([0.0, 0.0])).tolist()]
        [-0.693147, -0.693147]
    """
    return _softmax.log_softmax(x, axis=axis)


def _xlogy_value(x, y):
    safe_y = fnp.where(x == 0, 1.0, y).astype(y.dtype)
    return fnp.where(x == 0, 0.0, x * fnp.log(safe_y)).astype(x.dtype)


def _xlogy_jvp(primals, tangents):
    x, y = primals
    tx, ty = tangents
    # JAX's rule: d = log(y) dx + x / y dy (the x = 0 value is a limit; its derivative
    # in x is log(y))
    return _xlogy(x, y), tx * fnp.log(y) + ty * _safe_ratio(x, y)


def _safe_ratio(x, y):
    return fnp.where(x == 0, 0.0, x / fnp.where(x == 0, 1.0, y)).astype(x.dtype)


_xlogy = with_jvp(_xlogy_value, _xlogy_jvp)


def xlogy(x: Any, y: Any) -> Any:
    """``x * log(y)``, taken as 0 where ``x == 0`` (even for ``y == 0``).

    Examples:
        >>> from funcgrad.scipy import special
        >>> special.xlogy(fnp.asarray([0.0, 2.0]), fnp.asarray([0.0, 1.0])).tolist()
        [0.0, 0.0]
    """
    x, y = _floats("xlogy", x, y)
    return _xlogy(x, y)


def _xlog1py_value(x, y):
    safe_y = fnp.where(x == 0, 0.0, y).astype(y.dtype)
    return fnp.where(x == 0, 0.0, x * fnp.log1p(safe_y)).astype(x.dtype)


def _xlog1py_jvp(primals, tangents):
    x, y = primals
    tx, ty = tangents
    return _xlog1py(x, y), tx * fnp.log1p(y) + ty * _safe_ratio(x, 1 + y)


_xlog1py = with_jvp(_xlog1py_value, _xlog1py_jvp)


def xlog1py(x: Any, y: Any) -> Any:
    """``x * log1p(y)``, taken as 0 where ``x == 0``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> special.xlog1py(fnp.asarray([0.0, 1.0]), fnp.asarray([-1.0, 0.0])).tolist()
        [0.0, 0.0]
    """
    x, y = _floats("xlog1py", x, y)
    return _xlog1py(x, y)


def entr(x: Any) -> Any:
    """Elementwise entropy ``-x log x`` (0 at 0, -inf for negative x).

    Examples:
        >>> from funcgrad.scipy import special
        >>> special.entr(fnp.asarray([0.0, 0.5, -1.0])).round(6).tolist()
        [0.0, 0.346574, -inf]
    """
    (x,) = _floats("entr", x)
    return fnp.where(x < 0, -np.inf, xlogy(-x, x))


def rel_entr(p: Any, q: Any) -> Any:
    """``p log(p / q)`` for ``p, q > 0``; 0 where ``p == 0`` and ``q >= 0``; inf elsewhere.

    Examples:
        >>> from funcgrad.scipy import special
        >>> special.rel_entr(fnp.asarray([0.0, 1.0, 1.0]), fnp.asarray([0.5, 1.0, 0.0])).tolist()
        [0.0, 0.0, inf]
    """
    p, q = _floats("rel_entr", p, q)
    both = (p > 0) & (q > 0)
    safe_p = fnp.where(both, p, 1.0)
    safe_q = fnp.where(both, q, 1.0)
    value = safe_p * (fnp.log(safe_p) - fnp.log(safe_q))
    return fnp.where(both, value, fnp.where((p == 0) & (q >= 0), 0.0, np.inf)).astype(p.dtype)


def kl_div(p: Any, q: Any) -> Any:
    """``p log(p / q) - p + q`` (the elementwise term of the generalised KL divergence).

    Examples:
        >>> from funcgrad.scipy import special
        >>> special.kl_div(fnp.asarray([1.0, 0.0]), fnp.asarray([1.0, 2.0])).tolist()
        [0.0, 2.0]
    """
    p, q = _floats("kl_div", p, q)
    return fnp.where((p >= 0) & (q >= 0), rel_entr(p, q) - p + q, np.inf).astype(p.dtype)


def i0e(x: Any) -> Any:
    """``exp(-|x|) I0(x)``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> round(float(special.i0e(0.0)), 12)
        1.0
    """
    (x,) = _floats("i0e", x)
    return ls.bessel_i0e_p.bind1(x)


def i1e(x: Any) -> Any:
    """``exp(-|x|) I1(x)``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> float(special.i1e(0.0))
        0.0
    """
    (x,) = _floats("i1e", x)
    return ls.bessel_i1e_p.bind1(x)


def i0(x: Any) -> Any:
    """The modified Bessel function ``I0(x) = exp(|x|) i0e(x)``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> round(float(special.i0(1.0)), 12)
        1.266065877752
    """
    (x,) = _floats("i0", x)
    return fnp.exp(fnp.abs(x)) * ls.bessel_i0e_p.bind1(x)


def i1(x: Any) -> Any:
    """The modified Bessel function ``I1(x) = exp(|x|) i1e(x)``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> round(float(special.i1(1.0)), 12)
        0.565159103992
    """
    (x,) = _floats("i1", x)
    return fnp.exp(fnp.abs(x)) * ls.bessel_i1e_p.bind1(x)


def zeta(x: Any, q: Any = None) -> Any:
    """The Hurwitz zeta function ``sum_k (q + k)^-x`` (Riemann's when ``q`` is None).

    Examples:
        >>> from funcgrad.scipy import special
        >>> round(float(special.zeta(2.0)), 12)
        1.644934066848
    """
    x, q = _floats("zeta", x, 1.0 if q is None else q)
    return ls.zeta_p.bind1(x, q)


def polygamma(n: Any, x: Any) -> Any:
    """The ``n``-th derivative of digamma (``n`` integer-valued, >= 0).

    Examples:
        >>> from funcgrad.scipy import special
        >>> round(float(special.polygamma(1, 1.0)), 12)
        1.644934066848
    """
    n, x = _floats("polygamma", n, x)
    return ls.polygamma_p.bind1(n, x)


def multigammaln(a: Any, d: int) -> Any:
    """The log of the multivariate gamma function of dimension ``d``:
    ``d (d - 1) / 4 log(pi) + sum_{j=1}^{d} gammaln(a + (1 - j) / 2)``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> round(float(special.multigammaln(3.0, 2)), 12)
        1.550194993958
    """
    if not isinstance(d, (int, np.integer)) or d < 1:
        raise ValueError(
            f"funcgrad.scipy.special.multigammaln: d must be a positive int, got {d!r}"
        )
    (a,) = _floats("multigammaln", a)
    total = d * (d - 1) / 4 * math.log(math.pi)
    for j in range(1, int(d) + 1):
        total = total + ls.lgamma_p.bind1(a + (1 - j) / 2)
    return total


def factorial(n: Any, exact: bool = False) -> Any:
    """``n! = Gamma(n + 1)``, 0 for negative ``n`` (as SciPy). ``exact=True`` is not
    supported (as in JAX): it needs Python integers.

    Examples:
        >>> from funcgrad.scipy import special
        >>> special.factorial(fnp.asarray([0, 4, -1])).round(10).tolist()
        [1.0, 24.0, 0.0]
    """
    if exact:
        raise NotImplementedError(
            "funcgrad.scipy.special.factorial: exact=True is not supported (as in JAX); "
            "use math.factorial on Python ints"
        )
    (n,) = _floats("factorial", n)
    return fnp.where(n < 0, 0.0, fnp.exp(ls.lgamma_p.bind1(n + 1))).astype(n.dtype)


def poch(z: Any, m: Any) -> Any:
    """The rising factorial ``Gamma(z + m) / Gamma(z)``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> round(float(special.poch(3.0, 2.0)), 10)  # 3 * 4
        12.0
    """
    z, m = _floats("poch", z, m)
    lg = ls.lgamma_p.bind1
    return gammasgn(z + m) * gammasgn(z) * fnp.exp(lg(z + m) - lg(z))


def exp1(x: Any) -> Any:
    """The exponential integral ``E1(x) = integral_x^inf e^-t / t dt`` (NaN for ``x < 0``).

    Series for ``x <= 1``, continued fraction above; relative error below 1e-14 against
    SciPy. Differentiable: ``d E1 / dx = -e^-x / x``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> round(float(special.exp1(1.0)), 12)
        0.219383934396
    """
    (x,) = _floats("exp1", x)
    return ls.exp1_p.bind1(x)


def expi(x: Any) -> Any:
    """The exponential integral ``Ei(x) = -PV integral_-x^inf e^-t / t dt`` (real ``x``).

    ``-E1(-x)`` for ``x < 0``; series up to 40 and the asymptotic series above; relative
    error below 1e-13 against SciPy. Differentiable: ``d Ei / dx = e^x / x``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> round(float(special.expi(1.0)), 12)
        1.895117816356
    """
    (x,) = _floats("expi", x)
    return ls.expi_p.bind1(x)


def expn(n: Any, x: Any) -> Any:
    """The generalized exponential integral ``E_n(x) = integral_1^inf e^(-x t) / t^n dt``.

    ``n`` must be a non-negative integer (NaN otherwise: SciPy truncates a float ``n``
    with a warning; funcgrad does not guess) and ``x >= 0``. Relative error below 1e-14
    against SciPy. Differentiable in ``x`` only (as JAX): ``d E_n / dx = -E_(n-1)``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> round(float(special.expn(2, 1.0)), 12)
        0.148495506776
    """
    n, x = _floats("expn", n, x)
    return ls.expn_p.bind1(n, x)


def spence(x: Any) -> Any:
    """SciPy's dilogarithm ``spence(x) = integral_1^x log(t) / (1 - t) dt = Li2(1 - x)``.

    Real ``x >= 0`` (NaN below; ``-inf`` at ``+inf``, the limit, where SciPy gives NaN).
    The power series of ``Li2`` after reflection/Landen/inversion identities bring its
    argument to ``|z| <= 1/2``; relative error below 1e-14 against SciPy.
    Differentiable: ``d spence / dx = log(x) / (1 - x)`` (-1 at ``x = 1``).

    Examples:
        >>> from funcgrad.scipy import special
        >>> round(float(special.spence(0.0)), 12)  # pi^2 / 6
        1.644934066848
    """
    (x,) = _floats("spence", x)
    return ls.spence_p.bind1(x)


def loggamma(x: Any) -> Any:
    """The principal branch of ``log Gamma(x)`` for real ``x``: ``gammaln(x)`` for
    ``x >= 0`` and NaN for ``x < 0`` (where the real logarithm does not exist; as SciPy and
    JAX for real input). Complex input is not supported.

    Examples:
        >>> from funcgrad.scipy import special
        >>> special.loggamma(fnp.asarray([1.0, 3.0, -0.5])).round(12).tolist()
        [0.0, 0.69314718056, nan]
    """
    (x,) = _floats("loggamma", x)
    safe = fnp.where(x < 0, 1.0, x)
    return fnp.where(x < 0, np.nan, ls.lgamma_p.bind1(safe)).astype(x.dtype)


def bernoulli(n: int) -> Any:
    """The Bernoulli numbers ``B_0 .. B_n`` (``B_1 = -1/2``, as SciPy), a float64 array of
    length ``n + 1``, computed exactly in fractions (``n`` is static, as in JAX).

    Examples:
        >>> from funcgrad.scipy import special
        >>> special.bernoulli(4).tolist()
        [1.0, -0.5, 0.16666666666666666, 0.0, -0.03333333333333333]
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise ValueError(
            f"funcgrad.scipy.special.bernoulli: n must be a non-negative int, got {n!r}"
        )
    # Akiyama-Tanigawa: row m of the table ends in B_m (with B_1 = +1/2, flipped below)
    table, numbers = [Fraction(0)] * (int(n) + 1), []
    for m in range(int(n) + 1):
        table[m] = Fraction(1, m + 1)
        for j in range(m, 0, -1):
            table[j - 1] = j * (table[j - 1] - table[j])
        numbers.append(table[0])
    if n >= 1:
        numbers[1] = -numbers[1]
    return fnp.asarray([float(b) for b in numbers], dtype=np.float64)


def hyp1f1(a: Any, b: Any, x: Any) -> Any:
    """Kummer's confluent hypergeometric function
    ``1F1(a; b; x) = sum_k (a)_k / (b)_k x^k / k!`` for real operands.

    The series for ``x >= 0``, and ``e^x 1F1(b - a; b; -x)`` (Kummer's transformation)
    for ``x < 0``; relative error below 3e-13 against mpmath for ``|a| <= 5``,
    ``0.1 <= b <= 10``, ``|x| <= 30`` (less where the series cancels: ``a`` far below 0
    with large positive ``x``). NaN at the poles (``b`` a non-positive integer).
    Differentiable in ``x`` only, as JAX: ``d/dx 1F1(a; b; x) = a / b 1F1(a + 1; b + 1; x)``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> round(float(special.hyp1f1(1.0, 1.0, 2.0)), 12)  # e^2
        7.389056098931
    """
    a, b, x = _floats("hyp1f1", a, b, x)
    return ls.hyp1f1_p.bind1(a, b, x)


def bessel_jn(z: Any, *, v: int, n_iter: int = 50) -> Any:
    """The Bessel functions of the first kind ``J_0(z) .. J_v(z)``, stacked on a new
    leading axis (shape ``(v + 1, *z.shape)``), as ``jax.scipy.special.bessel_jn``.

    Miller's backward recurrence in ratios ``r_k = J_k / J_(k-1) = z / (2k - z r_(k+1))``
    from ``k = v + n_iter`` (which cannot overflow), normalised by
    ``J_0 + 2 sum_k J_2k = 1``. A composition of array operations, so differentiable to
    any order in ``z``. With the default ``n_iter`` the absolute error against SciPy's ``jv``
    is below 1e-13 for ``|z| <= 30`` (relative below 1e-12 where ``|J| > 1e-3``); the
    recurrence needs ``|z|`` well below ``v + n_iter``, so raise ``n_iter`` for larger ``z``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> special.bessel_jn(fnp.asarray(1.0), v=2).round(12).tolist()
        [0.765197686558, 0.440050585745, 0.114903484932]
    """
    if not isinstance(v, (int, np.integer)) or v < 0:
        raise ValueError(
            f"funcgrad.scipy.special.bessel_jn: v must be a non-negative int, got {v!r}"
        )
    if not isinstance(n_iter, (int, np.integer)) or n_iter < 1:
        raise ValueError(
            f"funcgrad.scipy.special.bessel_jn: n_iter must be a positive int, got {n_iter!r}"
        )
    (z,) = _floats("bessel_jn", z)
    top = int(v) + int(n_iter)
    ratio = fnp.zeros_like(z)
    ratios = {}
    for k in range(top, 0, -1):
        ratio = z / (2 * k - z * ratio)
        ratios[k] = ratio
    # J_k / J_0 = r_1 r_2 ... r_k; the normalisation sums the even ones
    relative, value, norm = [fnp.ones_like(z)], fnp.ones_like(z), fnp.ones_like(z)
    for k in range(1, top + 1):
        value = value * ratios[k]
        if k <= v:
            relative.append(value)
        if k % 2 == 0:
            norm = norm + 2 * value
    j0 = 1.0 / norm
    return fnp.stack([j0 * r for r in relative])


def erfcx(x: Any) -> Any:
    """The scaled complementary error function ``exp(x^2) erfc(x)``, accurate for large
    ``x`` (where ``erfc`` underflows) and ``inf`` below about -26.6.

    Differentiable: ``d erfcx / dx = 2 x erfcx(x) - 2 / sqrt(pi)``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> f"{float(special.erfcx(100.0)):.10e}"  # ~ 1 / (x sqrt(pi))
        '5.6416137830e-03'
    """
    (x,) = _floats("erfcx", x)
    return ls.erfcx_p.bind1(x)


def fresnel(x: Any) -> tuple[Any, Any]:
    """The Fresnel integrals ``(S(x), C(x))``, ``S = integral_0^x sin(pi t^2 / 2) dt`` and
    ``C`` the same with cosine; the order of SciPy's (and JAX's) result.

    Power series for ``|x| <= 1.5``, erfc's continued fraction (``C + iS`` is an erf of a
    complex argument) above; both odd, ``+-1/2`` at ``+-inf``. Differentiable:
    ``dS/dx = sin(pi x^2 / 2)``, ``dC/dx = cos(pi x^2 / 2)``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> s, c = special.fresnel(1.0)
        >>> round(float(s), 12), round(float(c), 12)
        (0.43825914739, 0.779893400377)
    """
    (x,) = _floats("fresnel", x)
    return ls.fresnel_s_p.bind1(x), ls.fresnel_c_p.bind1(x)


def sici(x: Any) -> tuple[Any, Any]:
    """The sine and cosine integrals ``(Si(x), Ci(x))``: ``Si = integral_0^x sin t / t dt``,
    ``Ci = gamma + log|x| + integral_0^|x| (cos t - 1) / t dt``.

    For real ``x < 0``, as SciPy: ``Si`` is odd and ``Ci(x)`` is the real part
    ``Ci(|x|)``; ``Ci(0) = -inf``. Power series for ``|x| <= 4``, the continued fraction
    of ``E1(ix) = -Ci(x) + i (Si(x) - pi/2)`` above. Differentiable:
    ``dSi/dx = sin(x) / x``, ``dCi/dx = cos(x) / x``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> si, ci = special.sici(1.0)
        >>> round(float(si), 12), round(float(ci), 12)
        (0.946083070367, 0.337403922901)
    """
    (x,) = _floats("sici", x)
    return ls.sici_si_p.bind1(x), ls.sici_ci_p.bind1(x)


def hyp2f1(a: Any, b: Any, c: Any, x: Any) -> Any:
    """Gauss's hypergeometric function ``2F1(a, b; c; x) = sum_k (a)_k (b)_k / (c)_k x^k / k!``
    for real operands and ``x <= 1``.

    The series on ``[0, 0.9]``; the ``x -> 1 - x`` connection formula (DLMF 15.8.4) on
    ``(0.9, 1)``, or where ``c - a - b`` is an integer ``m`` its limit form (A&S
    15.3.10-12, with digammas; ``c - a - b`` within 1e-8 of ``m`` counts as ``m``: relative
    error about 1e-13 on an integer, up to about 1e-6 just off one, where both forms lose
    accuracy); Pfaff's transformation
    ``(1 - x)^-a 2F1(a, c - b; c; x / (x - 1))`` for ``x < 0``; Gauss's sum at ``x = 1``
    (inf where ``c - a - b <= 0``); a terminating series (``a`` or ``b`` a non-positive
    integer) is summed as the polynomial it is, for any ``x``. Relative error below 1e-12
    against mpmath for ``|a|, |b| <= 4``, ``0.3 <= c <= 8``, ``-30 <= x < 1``. NaN for
    ``x > 1``, where the real-valued function does not exist (SciPy returns inf or a branch
    value) unless the series terminates, and where ``c`` is a non-positive integer. Differentiable in ``x`` only, as JAX:
    ``d/dx 2F1(a, b; c; x) = a b / c 2F1(a + 1, b + 1; c + 1; x)``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> round(float(special.hyp2f1(1.0, 1.0, 2.0, 0.5)), 12)  # -log(1 - x) / x
        1.38629436112
    """
    a, b, c, x = _floats("hyp2f1", a, b, c, x)
    return ls.hyp2f1_p.bind1(a, b, c, x)


def comb(N: Any, k: Any, *, exact: bool = False, repetition: bool = False) -> Any:
    """The number of combinations ``N! / (k! (N - k)!)`` for real ``N, k`` (SciPy's
    ``comb`` with ``exact=False``): ``exp(gammaln(N + 1) - gammaln(k + 1) -
    gammaln(N - k + 1))``, 0 unless ``0 <= k <= N``. ``repetition=True`` counts multisets,
    ``comb(N + k - 1, k)``. Relative error about ``1e-16 * log(result)`` (the exponential of
    a difference of log-gammas); ``exact=True`` needs Python integers and is not supported.

    Examples:
        >>> from funcgrad.scipy import special
        >>> special.comb(fnp.asarray([10.0, 10.0, 3.0]), fnp.asarray([3.0, 11.0, 2.0])).round(9).tolist()
        [120.0, 0.0, 3.0]
    """
    if exact:
        raise NotImplementedError(
            "funcgrad.scipy.special.comb: exact=True is not supported (it needs Python "
            "integers); use math.comb"
        )
    N, k = _floats("comb", N, k)
    if repetition:
        N = N + k - 1
    inside = (k >= 0) & (k <= N) & (N >= 0)
    safe_n = fnp.where(inside, N, 1.0)
    safe_k = fnp.where(inside, k, 0.0)
    lg = ls.lgamma_p.bind1
    value = fnp.exp(lg(safe_n + 1) - lg(safe_k + 1) - lg(safe_n - safe_k + 1))
    return fnp.where(inside, value, 0.0).astype(N.dtype)


# Owen's T by Gauss-Legendre quadrature in u = x / a on [0, min(1, 12 / |h a|)]: beyond
# |h a u| = 12 the integrand is below e^-72 of its value at 0, and the cut keeps the nodes
# on the Gaussian peak however large h is.
_OWENS_NODES, _OWENS_WEIGHTS = np.polynomial.legendre.leggauss(48)
_OWENS_CUT = 12.0


def _owens_t_small_a(h, a):
    """``T(h, a)`` for ``0 <= a <= 1`` (``h`` of any sign: T is even in h)."""
    prod = fnp.abs(h * a)
    big = prod > _OWENS_CUT
    upper = fnp.where(big, _OWENS_CUT / fnp.where(big, prod, 1.0), 1.0)
    u = (fnp.asarray(_OWENS_NODES + 1.0, h.dtype) / 2) * upper[..., None]
    ax2 = (a[..., None] * u) ** 2
    integrand = fnp.exp(-0.5 * h[..., None] ** 2 * (1 + ax2)) / (1 + ax2)
    weights = fnp.asarray(_OWENS_WEIGHTS / 2, h.dtype)
    return a * upper * fnp.sum(integrand * weights, axis=-1) / (2 * math.pi)


def owens_t(h: Any, a: Any) -> Any:
    """Owen's T function ``T(h, a) = 1/(2 pi) integral_0^a exp(-h^2 (1 + x^2) / 2) / (1 + x^2) dx``.

    Even in ``h``, odd in ``a``. Gauss-Legendre quadrature (48 nodes, on the part of the
    interval where the integrand is not negligible) for ``|a| <= 1``, and for ``|a| > 1``
    Owen's identity ``T(h, a) = (ndtr(h) Q(a h) + ndtr(a h) Q(h)) / 2 - T(a h, 1/a)``
    (``h >= 0``, ``Q = 1 - ndtr`` taken from erfc, so nothing cancels). Relative error
    below 1e-13 against SciPy for ``|h| <= 30``, ``|a| <= 100`` (away from underflow).
    A composition of array operations, so differentiable to any order in both arguments.

    Examples:
        >>> from funcgrad.scipy import special
        >>> round(float(special.owens_t(0.0, 1.0)), 12)  # atan(a) / (2 pi)
        0.125
    """
    h, a = _floats("owens_t", h, a)
    sign = fnp.sign(a)
    h, a = fnp.abs(h), fnp.abs(a)
    small = a <= 1
    a_small = fnp.where(small, a, 0.0)
    a_big = fnp.where(small, 2.0, a)
    inner = _owens_t_small_a(h, a_small)
    ah = a_big * h
    upper_h, upper_ah = ndtr(-h), ndtr(-ah)  # Q(h), Q(ah) without cancellation
    outer = 0.5 * (ndtr(h) * upper_ah + ndtr(ah) * upper_h) - _owens_t_small_a(ah, 1 / a_big)
    return sign * fnp.where(small, inner, outer)


def _legendre_table(m: int, n: int, z, normalized: bool):
    """``P_l^j(z)`` for ``j <= m``, ``l <= n`` as a nested list ``[j][l]`` (zeros for
    ``l < j``), with the Condon-Shortley phase ``(-1)^j``, by the three-term recurrence in
    ``l`` from ``P_j^j = (-1)^j (2j - 1)!! (1 - z^2)^(j/2)``; ``normalized`` multiplies
    by ``sqrt((2l + 1) (l - j)! / (4 pi (l + j)!))`` (the spherical-harmonic factor)."""
    zero = fnp.zeros_like(z)
    root = fnp.sqrt(fnp.maximum(1 - z * z, 0.0))
    table, diagonal = [], fnp.ones_like(z)
    for j in range(m + 1):
        if j:
            diagonal = -(2 * j - 1) * root * diagonal
        row = [zero] * min(j, n + 1)
        if j <= n:
            row.append(diagonal)
        if j + 1 <= n:
            row.append((2 * j + 1) * z * diagonal)
        for l in range(j + 2, n + 1):
            row.append(((2 * l - 1) * z * row[l - 1] - (l + j - 1) * row[l - 2]) / (l - j))
        table.append(row)
    if normalized:
        for j in range(m + 1):
            for l in range(j, n + 1):
                factor = math.exp(0.5 * (math.log((2 * l + 1) / (4 * math.pi))
                                         + math.lgamma(l - j + 1) - math.lgamma(l + j + 1)))  # fmt: skip
                table[j][l] = factor * table[j][l]
    return table


def _lpmn_args(fname: str, m: Any, n: Any, z: Any):
    for name, v in (("m", m), ("n", n)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 0:
            raise ValueError(
                f"funcgrad.scipy.special.{fname}: {name} must be a non-negative Python int "
                f"(it fixes the output shape), got {v!r}"
            )
    (z,) = _floats(fname, z)
    if z.ndim != 1:
        raise ValueError(
            f"funcgrad.scipy.special.{fname}: z must be a 1-d array (as JAX), got shape "
            f"{z.shape}; use z.ravel() and reshape the result"
        )
    return int(m), int(n), z


def lpmn_values(m: int, n: int, z: Any, is_normalized: bool) -> Any:
    """The associated Legendre functions ``P_l^j(z)`` for ``j <= m``, ``l <= n``, shape
    ``(m + 1, n + 1, len(z))`` (``[j, l]``; zero where ``l < j``), with the Condon-Shortley
    phase (as SciPy's ``lpmn``). ``is_normalized=True`` multiplies by
    ``sqrt((2l + 1) (l - j)! / (4 pi (l + j)!))``, so that ``Y_l^j = P e^(i j phi)`` are the
    orthonormal spherical harmonics. ``z`` is a 1-d array in ``[-1, 1]``; ``m`` and ``n``
    are static. Unlike JAX, ``m != n`` is allowed. Unnormalized values grow like
    ``(2m - 1)!!`` and overflow float64 for ``m`` above about 150.

    Examples:
        >>> from funcgrad.scipy import special
        >>> special.lpmn_values(1, 2, fnp.asarray([0.5]), False)[:, :, 0].round(6).tolist()
        [[1.0, 0.5, -0.125], [0.0, -0.866025, -1.299038]]
    """
    m, n, z = _lpmn_args("lpmn_values", m, n, z)
    table = _legendre_table(m, n, z, bool(is_normalized))
    return fnp.stack([fnp.stack(row) for row in table])


def lpmn(m: int, n: int, z: Any) -> tuple[Any, Any]:
    """The associated Legendre functions and their derivatives in ``z``:
    ``(p_vals, p_derivs)``, each of shape ``(m + 1, n + 1, len(z))`` (``[j, l]`` holds
    ``P_l^j``; see :func:`lpmn_values`), as JAX's ``lpmn``.

    Derivatives from ``(z^2 - 1) P_l^j' = l z P_l^j - (l + j) P_(l-1)^j``; at ``z = +-1``
    their limits: ``l (l + 1) / 2 (+-1)^(l + 1)`` for ``j = 0``, infinite for ``j = 1``
    (``+inf`` at 1, ``(-1)^l inf`` at -1), ``-(l - 1) l (l + 1) (l + 2) / 4 (+-1)^(l + 1)``
    for ``j = 2`` and 0 for ``j >= 3``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> vals, derivs = special.lpmn(1, 1, fnp.asarray([0.5]))
        >>> derivs[:, :, 0].round(6).tolist()
        [[0.0, 1.0], [0.0, 0.57735]]
    """
    m, n, z = _lpmn_args("lpmn", m, n, z)
    table = _legendre_table(m, n, z, False)
    edge = fnp.abs(z) == 1
    safe = fnp.where(edge, 0.0, z)
    zero = fnp.zeros_like(z)
    sign = fnp.where(z > 0, 1.0, -1.0).astype(z.dtype)
    derivs = []
    for j in range(m + 1):
        row = []
        for l in range(n + 1):
            if l < j or l == 0:
                row.append(zero)
                continue
            previous = table[j][l - 1] if l - 1 >= j else zero
            inner = (l * safe * fnp.where(edge, 0.0, table[j][l]) - (l + j) *
                     fnp.where(edge, 0.0, previous)) / (safe * safe - 1)  # fmt: skip
            if j == 0:
                limit = l * (l + 1) / 2 * sign ** (l + 1)
            elif j == 1:
                limit = np.inf * fnp.where(z > 0, 1.0, (-1.0) ** l)
            elif j == 2:  # (1 - z^2) P_l'' has slope -2z P_l''(z), P_l''(+-1) = (+-1)^l (l-1)_4 / 8
                limit = -(l - 1) * l * (l + 1) * (l + 2) / 4 * sign ** (l + 1)
            else:
                limit = zero
            row.append(fnp.where(edge, limit, inner))
        derivs.append(fnp.stack(row))
    vals = fnp.stack([fnp.stack(row) for row in table])
    return vals, fnp.stack(derivs)


def sph_harm_y(n: Any, m: Any, theta: Any, phi: Any, diff_n: int | None = None,
               n_max: int | None = None) -> Any:  # fmt: skip
    """The orthonormal spherical harmonics ``Y_n^m(theta, phi)`` of degree ``n`` and order
    ``m`` (``|m| <= n``, 0 otherwise), with ``theta`` the polar and ``phi`` the azimuthal
    angle (SciPy >= 1.15's ``sph_harm_y`` convention): ``Y_n^m = N P_n^m(cos theta)
    e^(i m phi)`` with the Condon-Shortley phase and ``Y_n^-m = (-1)^m conj(Y_n^m)``.

    ``n`` and ``m`` are integer arrays broadcast with the angles; the Legendre table is
    built up to the static degree ``n_max`` (by default ``max(n)``, which needs a concrete
    ``n``: pass ``n_max`` under jit). Complex result (complex128 for float64 angles).
    ``diff_n`` must be None (JAX's default) or 0 (SciPy's, the values); use ``funcgrad.grad``
    for derivatives in the angles.

    Examples:
        >>> from funcgrad.scipy import special
        >>> y = special.sph_harm_y(fnp.asarray([1]), fnp.asarray([0]), fnp.asarray([0.0]), fnp.asarray([0.0]))
        >>> round(float(y.real[0]), 12)  # sqrt(3 / (4 pi))
        0.488602511903
    """
    if diff_n not in (None, 0):
        raise NotImplementedError(
            "funcgrad.scipy.special.sph_harm_y: diff_n must be 0 or None; differentiate "
            "with funcgrad.grad / jacfwd instead"
        )
    n, m = fnp.asarray(n), fnp.asarray(m)
    theta, phi = _floats("sph_harm_y", theta, phi)
    if n_max is None:
        try:
            n_max = int(np.max(np.asarray(n))) if n.size else 0
        except TypeError:  # a tracer (funcgrad's ConcretizationError is a TypeError)
            raise TypeError(
                "funcgrad.scipy.special.sph_harm_y: n is traced, so the table size is "
                "unknown; pass n_max (a Python int) as a static argument"
            ) from None
    n_max = max(int(n_max), 0)
    shape = np.broadcast_shapes(n.shape, m.shape, theta.shape)
    shape = np.broadcast_shapes(shape, phi.shape)
    n, m, theta, phi = (fnp.broadcast_to(v, shape).ravel() for v in (n, m, theta, phi))
    table = _legendre_table(n_max, n_max, fnp.cos(theta), True)
    stacked = fnp.stack([fnp.stack(row) for row in table])  # (n_max + 1, n_max + 1, N)
    abs_m = fnp.abs(m)
    valid = (abs_m <= n) & (n >= 0) & (n <= n_max)
    j = fnp.clip(abs_m, 0, n_max).astype(np.int32)
    l = fnp.clip(n, 0, n_max).astype(np.int32)
    p = stacked[j, l, fnp.arange(theta.shape[0])]
    # Y_n^-|m| = (-1)^m conj(Y_n^|m|): the real factor below times e^(i m phi)
    parity = fnp.where((m < 0) & (fnp.remainder(abs_m, 2) == 1), -1.0, 1.0)
    p = fnp.where(valid, p * parity, 0.0)
    angle = m.astype(phi.dtype) * phi
    y = p * fnp.cos(angle) + 1j * (p * fnp.sin(angle))
    return y.reshape(shape)


def sph_harm(m: Any, n: Any, theta: Any, phi: Any, n_max: int | None = None) -> Any:
    """The spherical harmonics in SciPy's older ``sph_harm`` convention (as JAX's): order
    ``m`` first, ``theta`` the azimuthal and ``phi`` the polar angle;
    ``sph_harm(m, n, theta, phi) = sph_harm_y(n, m, phi, theta)``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> y = special.sph_harm(fnp.asarray([0]), fnp.asarray([1]), fnp.asarray([0.0]), fnp.asarray([0.0]))
        >>> round(float(y.real[0]), 12)
        0.488602511903
    """
    return sph_harm_y(n, m, phi, theta, n_max=n_max)


# --- Box-Cox transforms ------------------------------------------------------------------


def _exprel(u):
    """``expm1(u) / u`` (1 at 0): its Taylor polynomial for ``|u| < 1e-3`` (error below
    u^5 / 720 < 2e-18), so that derivatives of every order are right at ``u = 0``."""
    small = fnp.abs(u) < 1e-3
    safe = fnp.where(small, 1.0, u)
    poly = 1.0 + u * (1 / 2 + u * (1 / 6 + u * (1 / 24 + u * (1 / 120))))
    return fnp.where(small, poly, fnp.expm1(safe) / safe)


def _boxcox_of_log(log_x, lmbda):
    """``(exp(lmbda log_x) - 1) / lmbda`` as ``log_x * exprel(lmbda log_x)``, which is
    ``log_x`` at ``lmbda = 0`` with the right derivative there (``log_x^2 / 2`` in
    ``lmbda``; JAX's gives 0), and its limits where ``log_x`` is infinite."""
    # each branch sees only its own points (the others get harmless stand-ins), so that
    # no inf or NaN of the branch not taken reaches the derivatives
    finite = fnp.isfinite(log_x)
    finite_log = fnp.where(finite, log_x, 0.0)
    inside = finite_log * _exprel(lmbda * finite_log)
    infinite_log = fnp.where(finite, -1.0, log_x)
    # at log_x = +-inf the transform tends to -1 / lmbda where lmbda log_x -> -inf, and to
    # log_x itself otherwise (lmbda = 0 included)
    decays = lmbda * infinite_log < 0
    at_infinity = fnp.where(decays, -1.0 / fnp.where(decays, lmbda, 1.0), infinite_log)
    return fnp.where(finite, inside, at_infinity)


def boxcox(x: Any, lmbda: Any) -> Any:
    """The Box-Cox transformation ``(x^lmbda - 1) / lmbda``, and ``log(x)`` for
    ``lmbda = 0`` (SciPy's ``boxcox``): NaN for ``x < 0``; at ``x = 0``, ``-1 / lmbda`` for
    ``lmbda > 0`` and ``-inf`` otherwise.

    Differentiable in both arguments, also at ``lmbda = 0`` (where
    ``d/d lmbda = log(x)^2 / 2``: the function is computed as
    ``log(x) expm1(u) / u`` with ``u = lmbda log(x)`` and a Taylor polynomial near ``u = 0``).

    Examples:
        >>> from funcgrad.scipy import special
        >>> special.boxcox(4.0, 0.5).item()  # (sqrt(4) - 1) / 0.5
        2.0
        >>> round(special.boxcox(2.0, 0.0).item(), 12)  # log(2)
        0.69314718056
    """
    x, lmbda = _floats("boxcox", x, lmbda)
    return _boxcox_of_log(fnp.log(x), lmbda)


def boxcox1p(x: Any, lmbda: Any) -> Any:
    """The Box-Cox transformation of ``1 + x``: ``((1 + x)^lmbda - 1) / lmbda``, and
    ``log1p(x)`` for ``lmbda = 0``, accurate for small ``x`` (SciPy's ``boxcox1p``); NaN
    for ``x < -1``. Differentiable in both arguments, as :func:`boxcox`.

    Examples:
        >>> from funcgrad.scipy import special
        >>> special.boxcox1p(3.0, 0.5).item()  # (sqrt(4) - 1) / 0.5
        2.0
        >>> f"{special.boxcox1p(1e-20, 2.0).item():.3e}"
        '1.000e-20'
    """
    x, lmbda = _floats("boxcox1p", x, lmbda)
    return _boxcox_of_log(fnp.log1p(x), lmbda)


# --- the Faddeeva function and Dawson's integral -------------------------------------------
# Elementwise primitives (not in jax.lax) over float64 kernels that branch per element,
# like the ones of funcgrad._src.lax.special.

dawsn_p = ls._special_primitive("dawsn", _kernels.dawsn)
# D'(x) = 1 - 2 x D(x)
defjvp(dawsn_p, lambda t, x, *, out: t * (1.0 - 2.0 * x * out))

wofz_p = Primitive("wofz")


def _wofz_impl(backend, z):
    xp = backend.xp
    z = xp.asarray(z)
    shape, dtype = z.shape, z.dtype
    flat = z.astype(np.complex128).ravel()
    with np.errstate(all="ignore"):
        out = _kernels.wofz(xp, flat) if flat.size else flat
    return [out.reshape(shape).astype(dtype, copy=False)]


def _wofz_abstract_eval(z):
    if z.dtype.kind != "c":
        raise TypeError(
            f"wofz: the operand must be a complex array, got {z.str_short()}; "
            f"funcgrad.scipy.special.wofz converts real input for you"
        )
    return [z]


wofz_p.impl = _wofz_impl
wofz_p.abstract_eval = _wofz_abstract_eval
# w is entire: w'(z) = -2 z w(z) + 2i / sqrt(pi)
defjvp(wofz_p, lambda t, z, *, out: t * (-2.0 * z * out + 2j / math.sqrt(math.pi)))
defbroadcasting(dawsn_p, wofz_p)


def dawsn(x: Any) -> Any:
    """Dawson's integral ``D(x) = exp(-x^2) integral_0^x exp(t^2) dt`` (real ``x``).

    Its power series below ``|x| = 0.5``, ``(sqrt(pi) / 2) Im w(x)`` (Weideman's rational
    approximation of the Faddeeva function) up to 6 and Laplace's continued fraction
    above; relative error below 1e-14 against SciPy. Differentiable:
    ``D'(x) = 1 - 2 x D(x)``.

    Examples:
        >>> from funcgrad.scipy import special
        >>> round(special.dawsn(1.0).item(), 12)
        0.538079506913
    """
    (x,) = _floats("dawsn", x)
    return dawsn_p.bind1(x)


def wofz(z: Any) -> Any:
    """The Faddeeva function ``w(z) = exp(-z^2) erfc(-iz)`` of complex ``z`` (real input is
    taken as complex: float32 gives complex64, integers and float64 complex128).

    Upper half plane: Weideman's rational approximation (40 terms) for ``|z| < 6``,
    Laplace's continued fraction (20 levels) beyond; the real axis as
    ``exp(-x^2) + (2i / sqrt(pi)) D(x)`` (each part to full relative accuracy); the lower
    half plane by ``w(z) = 2 exp(-z^2) - w(-z)`` (which overflows, as SciPy's, once
    ``y^2 - x^2`` passes about 709). Relative error below 3e-14 against
    ``scipy.special.wofz``. Differentiable (``w`` is entire):
    ``w'(z) = -2 z w(z) + 2i / sqrt(pi)``; gradients of real functions of ``w`` follow
    funcgrad's (JAX's) convention for complex arguments.

    Examples:
        >>> from funcgrad.scipy import special
        >>> w = special.wofz(1.0 + 1.0j)
        >>> round(w.real.item(), 12), round(w.imag.item(), 12)
        (0.304744205257, 0.208218938203)
    """
    try:
        z = fnp.asarray(z)
    except TypeError as e:
        raise TypeError(f"funcgrad.scipy.special.wofz: {e}") from None
    if z.dtype.kind not in "biufc":
        raise TypeError(f"funcgrad.scipy.special.wofz: z must be numeric, got dtype {z.dtype}")
    if z.dtype.kind != "c":
        single = z.dtype in (dtypes.float32, dtypes.float16)
        z = z.astype(dtypes.complex64 if single else dtypes.complex128)
    return wofz_p.bind1(z)
