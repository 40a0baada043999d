"""Special-function primitives (``lax.erf``, ``lax.lgamma``, ``lax.igamma``, ...) and their rules.

Each is a dedicated elementwise primitive rather than a composition of ufunc
primitives, for speed and stability: its kernel (``special_kernels``) branches per
element, loops until each element's series has converged and works in float64
whatever the operand dtype, none of which a traced composition can do without
evaluating every branch on every element. Operands follow the elementwise primitives'
conventions: floating dtypes, one dtype, equal shapes except 0-d operands (weak
Python scalars take the other operands' dtype). Results have the operands' dtype.

Derivatives follow JAX: ``igamma``/``igammac`` in both operands, ``betainc`` in ``x``
only, ``zeta`` in ``q`` only and ``polygamma`` in ``x`` only (the other derivatives
raise ``NotImplementedError`` when a tangent reaches them); the rules are written with
primitives, so every order is available.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from funcgrad._src.core import Primitive, ShapedArray
from funcgrad._src.interpreters.ad import defjvp
from funcgrad._src.interpreters.batching import defbroadcasting
from funcgrad._src.lax import elementwise as ew
from funcgrad._src.lax import special_kernels as kernels

__all__ = [
    "bessel_i0e",
    "bessel_i1e",
    "betainc",
    "digamma",
    "erf",
    "erf_inv",
    "erfc",
    "igamma",
    "igamma_grad_a",
    "igammac",
    "lgamma",
    "polygamma",
    "random_gamma_grad",
    "zeta",
]

_F64 = np.dtype(np.float64)


def _result_dtype(name: str, avals) -> np.dtype:
    strong = {a.dtype for a in avals if not a.weak_type}
    for a in avals:
        if a.dtype.kind not in ("f" if not a.weak_type else "biuf"):
            shown = ", ".join(x.str_short() for x in avals)
            raise TypeError(
                f"{name}: operands must be floating-point arrays, got ({shown}); convert "
                f"them first (funcgrad.scipy.special promotes integers for you)"
            )
    if len(strong) > 1:
        raise TypeError(
            f"{name}: operands must have one dtype, got {', '.join(map(str, sorted(strong, key=str)))}"
        )
    return strong.pop() if strong else _F64


def _special_primitive(name: str, kernel) -> Primitive:
    prim = Primitive(name)

    def impl(backend, *xs):
        xp = backend.xp
        # eager evaluation skips abstract_eval: the dtype check happens here too
        dtype = _result_dtype(
            name,
            [
                ShapedArray(
                    np.shape(x),
                    np.asarray(x).dtype if type(x) in ew._PY_SCALARS else x.dtype,
                    type(x) in ew._PY_SCALARS,
                )
                for x in xs
            ],
        )
        args = [xp.asarray(x, dtype=_F64) for x in xs]
        shape = np.broadcast_shapes(*(a.shape for a in args))
        if not math.prod(shape):
            return [xp.zeros(shape, dtype)]
        flat = [xp.broadcast_to(a, shape).ravel() for a in args]
        with np.errstate(all="ignore"):
            out = kernel(xp, *flat)
        return [out.reshape(shape).astype(dtype, copy=False)]

    def abstract_eval(*avals):
        shape = ew.elementwise_shape(name, avals)
        dtype = _result_dtype(name, avals)
        return [ShapedArray(shape, dtype, all(a.weak_type for a in avals))]

    prim.impl = impl
    prim.abstract_eval = abstract_eval
    return prim


erf_p = _special_primitive("erf", kernels.erf)
erfc_p = _special_primitive("erfc", kernels.erfc)
erf_inv_p = _special_primitive("erf_inv", kernels.erf_inv)
lgamma_p = _special_primitive("lgamma", kernels.lgamma)
digamma_p = _special_primitive("digamma", kernels.digamma)
polygamma_p = _special_primitive("polygamma", kernels.polygamma)
zeta_p = _special_primitive("zeta", kernels.zeta)
igamma_p = _special_primitive("igamma", kernels.igamma)
igammac_p = _special_primitive("igammac", kernels.igammac)
igamma_grad_a_p = _special_primitive("igamma_grad_a", kernels.igamma_grad_a)
random_gamma_grad_p = _special_primitive("random_gamma_grad", kernels.random_gamma_grad)
betainc_p = _special_primitive("betainc", kernels.betainc)
bessel_i0e_p = _special_primitive("bessel_i0e", kernels.bessel_i0e)
bessel_i1e_p = _special_primitive("bessel_i1e", kernels.bessel_i1e)
# not in jax.lax; funcgrad.scipy.special.ndtri needs full relative accuracy for tiny p,
# which sqrt(2) erf_inv(2p - 1) loses (2p - 1 rounds to -1)
ndtri_p = _special_primitive("ndtri", kernels.ndtri)
# not in jax.lax either: jax.scipy.special's exponential integrals and dilogarithm, whose
# kernels pick a series or a continued fraction per element
exp1_p = _special_primitive("exp1", kernels.exp1)
expi_p = _special_primitive("expi", kernels.expi)
expn_p = _special_primitive("expn", kernels.expn)
spence_p = _special_primitive("spence", kernels.spence)
# jax.scipy.special.hyp1f1's kernel: a series run per element until it converges
hyp1f1_p = _special_primitive("hyp1f1", kernels.hyp1f1)

# jax.scipy.special's erfcx, fresnel, sici and hyp2f1 (the pairs as one primitive per
# output: each kernel evaluates one branch per element, so a pair costs two passes)
erfcx_p = _special_primitive("erfcx", kernels.erfcx)
fresnel_s_p = _special_primitive("fresnel_s", kernels.fresnel_s)
fresnel_c_p = _special_primitive("fresnel_c", kernels.fresnel_c)
sici_si_p = _special_primitive("sici_si", kernels.sici_si)
sici_ci_p = _special_primitive("sici_ci", kernels.sici_ci)
hyp2f1_p = _special_primitive("hyp2f1", kernels.hyp2f1)

SPECIAL_PRIMITIVES = (erf_p, erfc_p, erf_inv_p, lgamma_p, digamma_p, polygamma_p, zeta_p,
                      igamma_p, igammac_p, igamma_grad_a_p, random_gamma_grad_p, betainc_p,
                      bessel_i0e_p, bessel_i1e_p, ndtri_p, exp1_p, expi_p, expn_p,
                      spence_p, hyp1f1_p, erfcx_p, fresnel_s_p, fresnel_c_p, sici_si_p,
                      sici_ci_p, hyp2f1_p)  # fmt: skip


# --- derivatives ---------------------------------------------------------------------------

_mul, _add, _sub, _div, _neg = ew._mul, ew._add, ew._sub, ew._div, ew._neg
_exp, _log = ew._exp, ew._log
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


def _not_implemented(prim_name: str, operand: str):
    def rule(t, *primals, out):
        raise NotImplementedError(
            f"funcgrad.lax.{prim_name}: the derivative with respect to {operand} is not "
            f"implemented (as in JAX); wrap that operand in funcgrad.lax.stop_gradient if "
            f"it should be treated as a constant"
        )

    return rule


def _gaussian(x):
    return _exp(_neg(_mul(x, x)))


defjvp(erf_p, lambda t, x, *, out: _mul(t, _mul(_TWO_OVER_SQRT_PI, _gaussian(x))))
defjvp(erfc_p, lambda t, x, *, out: _mul(t, _mul(-_TWO_OVER_SQRT_PI, _gaussian(x))))
defjvp(erf_inv_p, lambda t, x, *, out: _mul(t, _mul(math.sqrt(math.pi) / 2,
                                                     _exp(_mul(out, out)))))  # fmt: skip
# d ndtri(p) / dp = 1 / normal_pdf(ndtri(p)) = sqrt(2 pi) exp(out^2 / 2)
defjvp(ndtri_p, lambda t, p, *, out: _mul(t, _mul(math.sqrt(2 * math.pi),
                                                 _exp(_mul(_mul(out, out), 0.5)))))  # fmt: skip
defjvp(lgamma_p, lambda t, x, *, out: _mul(t, digamma_p.bind1(x)))
defjvp(digamma_p, lambda t, x, *, out: _mul(t, polygamma_p.bind1(1.0, x)))
defjvp(polygamma_p, _not_implemented("polygamma", "m"),
       lambda t, m, x, *, out: _mul(t, polygamma_p.bind1(_add(m, 1.0), x)))  # fmt: skip
defjvp(zeta_p, _not_implemented("zeta", "x"),
       lambda t, s, q, *, out: _mul(t, _neg(_mul(s, zeta_p.bind1(_add(s, 1.0), q)))))  # fmt: skip


def _igamma_dx(a, x):
    # the Gamma(a) density: x^(a-1) e^-x / Gamma(a)
    return _exp(_sub(_sub(_mul(_sub(a, 1.0), _log(x)), x), lgamma_p.bind1(a)))


defjvp(igamma_p, lambda t, a, x, *, out: _mul(t, igamma_grad_a_p.bind1(a, x)),
       lambda t, a, x, *, out: _mul(t, _igamma_dx(a, x)))  # fmt: skip
defjvp(igammac_p, lambda t, a, x, *, out: _neg(_mul(t, igamma_grad_a_p.bind1(a, x))),
       lambda t, a, x, *, out: _neg(_mul(t, _igamma_dx(a, x))))  # fmt: skip
defjvp(igamma_grad_a_p, _not_implemented("igamma_grad_a", "a"),
       _not_implemented("igamma_grad_a", "x"))  # fmt: skip
defjvp(random_gamma_grad_p, _not_implemented("random_gamma_grad", "a"),
       _not_implemented("random_gamma_grad", "x"))  # fmt: skip


def _betainc_dx(t, a, b, x, *, out):
    log_beta = _sub(_add(lgamma_p.bind1(a), lgamma_p.bind1(b)), lgamma_p.bind1(_add(a, b)))
    log_density = _add(_mul(_sub(a, 1.0), _log(x)),
                       _mul(_sub(b, 1.0), ew.log1p_p.bind1(_neg(x))))  # fmt: skip
    return _mul(t, _exp(_sub(log_density, log_beta)))


defjvp(betainc_p, _not_implemented("betainc", "a"), _not_implemented("betainc", "b"), _betainc_dx)


def _sign(x):
    return ew.sign_p.bind1(x)


# d/dx e^-|x| I0(x) = e^-|x| (I1(x) - sign(x) I0(x))
defjvp(bessel_i0e_p, lambda t, x, *, out: _mul(t, _sub(bessel_i1e_p.bind1(x),
                                                        _mul(_sign(x), out))))  # fmt: skip


def _i1e_dx(t, x, *, out):
    # e^-|x| (I0(x) - I1(x) (sign(x) + 1/x)); the limit at 0 is 1/2
    zero = ew._eq(x, 0.0)
    one = np.ones((), x.dtype)[()] if hasattr(x, "dtype") else 1.0
    safe = ew._select(zero, one, x)
    slope = _sub(bessel_i0e_p.bind1(x), _mul(out, _add(_sign(x), _div(1.0, safe))))
    return _mul(t, ew._select(zero, _mul(one, 0.5), slope))


defjvp(bessel_i1e_p, _i1e_dx)

# d E1/dx = -e^-x / x, d Ei/dx = e^x / x, d E_n/dx = -E_(n-1) (E_0(x) = e^-x / x, whose
# derivative is -(1 + x) e^-x / x^2)
defjvp(exp1_p, lambda t, x, *, out: _mul(t, _neg(_div(_exp(_neg(x)), x))))
defjvp(expi_p, lambda t, x, *, out: _mul(t, _div(_exp(x), x)))


def _expn_dx(t, n, x, *, out):
    e0_slope = _neg(_div(_mul(_add(x, 1.0), _exp(_neg(x))), _mul(x, x)))
    lower = _neg(expn_p.bind1(_select_max(_sub(n, 1.0), 0.0), x))
    return _mul(t, ew._select(ew._eq(n, 0.0), e0_slope, lower))


def _select_max(a, b):
    return ew.max_p.bind1(a, b)


defjvp(expn_p, _not_implemented("expn", "n"), _expn_dx)


def _spence_dx(t, x, *, out):
    # d/dx Li2(1 - x) = log(x) / (1 - x) = -log1p(u) / u with u = x - 1; near u = 0 its
    # Taylor polynomial -(1 - u/2 + u^2/3 - u^3/4 + u^4/5), so higher derivatives stay right
    u = _sub(x, 1.0)
    near = ew._lt(ew.abs_p.bind1(u), 1e-3)
    safe = ew._select(near, _add(_mul(u, 0.0), 1.0), u)
    far = _neg(_div(ew.log1p_p.bind1(safe), safe))
    poly = _mul(u, 0.2)
    for c in (-0.25, 1 / 3, -0.5, 1.0):
        poly = _add(_mul(poly, u), c)
    return _mul(t, ew._select(near, _neg(poly), far))


defjvp(spence_p, _spence_dx)

# d M(a, b, x) / dx = a / b M(a + 1, b + 1, x); no derivative in a or b, as JAX
defjvp(hyp1f1_p, _not_implemented("hyp1f1", "a"), _not_implemented("hyp1f1", "b"),
       lambda t, a, b, x, *, out: _mul(t, _mul(_div(a, b),
                                               hyp1f1_p.bind1(_add(a, 1.0), _add(b, 1.0), x))))  # fmt: skip

# d erfcx / dx = 2 x erfcx(x) - 2 / sqrt(pi)
defjvp(erfcx_p, lambda t, x, *, out: _mul(t, _sub(_mul(_mul(x, 2.0), out), _TWO_OVER_SQRT_PI)))


def _half_pi_square(x):
    return _mul(_mul(x, x), math.pi / 2)


# d S / dx = sin(pi x^2 / 2), d C / dx = cos(pi x^2 / 2)
defjvp(fresnel_s_p, lambda t, x, *, out: _mul(t, ew._sin(_half_pi_square(x))))
defjvp(fresnel_c_p, lambda t, x, *, out: _mul(t, ew._cos(_half_pi_square(x))))


def _si_dx(t, x, *, out):
    # d Si / dx = sin(x) / x; near 0 its Taylor polynomial 1 - x^2/6 + x^4/120 - x^6/5040,
    # so that every order of derivative stays right at 0
    near = ew._lt(ew.abs_p.bind1(x), 1e-2)
    safe = ew._select(near, _add(_mul(x, 0.0), 1.0), x)
    far = _div(ew._sin(safe), safe)
    x2 = _mul(x, x)
    poly = _mul(x2, -1 / 5040)
    for c in (1 / 120, -1 / 6):
        poly = _mul(_add(poly, c), x2)
    poly = _add(poly, 1.0)
    return _mul(t, ew._select(near, poly, far))


defjvp(sici_si_p, _si_dx)
# d Ci / dx = cos(x) / x
defjvp(sici_ci_p, lambda t, x, *, out: _mul(t, _div(ew._cos(x), x)))
# d 2F1(a, b; c; z) / dz = a b / c 2F1(a + 1, b + 1; c + 1; z); none in a, b, c
defjvp(hyp2f1_p, _not_implemented("hyp2f1", "a"), _not_implemented("hyp2f1", "b"),
       _not_implemented("hyp2f1", "c"),
       lambda t, a, b, c, z, *, out: _mul(t, _mul(_div(_mul(a, b), c),
                                                  hyp2f1_p.bind1(_add(a, 1.0), _add(b, 1.0),
                                                                 _add(c, 1.0), z))))  # fmt: skip

defbroadcasting(*SPECIAL_PRIMITIVES)


# --- user-facing wrappers (funcgrad.lax) ---------------------------------------------------


def _bind(prim: Primitive, name: str, *operands: Any) -> Any:
    from funcgrad._src.lax.wrappers import _arr, _check_same_dtype, _check_same_shape

    args = [_arr(x, name) for x in operands]
    _check_same_dtype(name, *args)
    _check_same_shape(name, *args)
    return prim.bind1(*args)


def erf(x):
    """The error function ``2/sqrt(pi) * integral_0^x exp(-t^2) dt``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> round(float(lax.erf(fnp.asarray(1.0))), 12)
        0.84270079295
    """
    return _bind(erf_p, "erf", x)


def erfc(x):
    """``1 - erf(x)``, accurate where it is tiny (``erfc(10) = 2.09e-45``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> f"{float(lax.erfc(fnp.asarray(10.0))):.6e}"
        '2.088488e-45'
    """
    return _bind(erfc_p, "erfc", x)


def erf_inv(x):
    """The inverse error function on ``[-1, 1]`` (+-inf at +-1, NaN outside).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> round(float(lax.erf_inv(fnp.asarray(0.5))), 12)
        0.476936276204
    """
    return _bind(erf_inv_p, "erf_inv", x)


def lgamma(x):
    """``log|Gamma(x)|``; +inf at the poles ``0, -1, -2, ...``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> [round(v, 12) for v in lax.lgamma(fnp.asarray([0.5, 1.0, 10.0])).tolist()]
        [0.572364942925, 0.0, 12.801827480081]
    """
    return _bind(lgamma_p, "lgamma", x)


def digamma(x):
    """The digamma function ``d/dx log Gamma(x)``; NaN at negative integers, -inf at +0.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> round(float(lax.digamma(fnp.asarray(1.0))), 12)  # -Euler's constant
        -0.577215664902
    """
    return _bind(digamma_p, "digamma", x)


def polygamma(m, x):
    """The ``m``-th derivative of digamma (``m`` a non-negative integer-valued float).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> round(float(lax.polygamma(1.0, fnp.asarray(1.0))), 12)  # pi^2 / 6
        1.644934066848
    """
    return _bind(polygamma_p, "polygamma", m, x)


def zeta(x, q):
    """The Hurwitz zeta function ``sum_k (q + k)^-x`` (``x > 1``; the Riemann zeta at
    ``q = 1``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> round(float(lax.zeta(fnp.asarray(2.0), 1.0)), 12)
        1.644934066848
    """
    return _bind(zeta_p, "zeta", x, q)


def igamma(a, x):
    """The regularized lower incomplete gamma function ``P(a, x)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> round(float(lax.igamma(fnp.asarray(1.0), 2.0)), 12)  # 1 - e^-2
        0.864664716763
    """
    return _bind(igamma_p, "igamma", a, x)


def igammac(a, x):
    """The regularized upper incomplete gamma function ``Q(a, x) = 1 - P(a, x)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> round(float(lax.igammac(fnp.asarray(1.0), 2.0)), 12)  # e^-2
        0.135335283237
    """
    return _bind(igammac_p, "igammac", a, x)


def igamma_grad_a(a, x):
    """``dP(a, x)/da``, the derivative of :func:`igamma` in its first operand.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> round(float(lax.igamma_grad_a(fnp.asarray(1.0), 1.0)), 10)
        -0.4317297106
    """
    return _bind(igamma_grad_a_p, "igamma_grad_a", a, x)


def random_gamma_grad(a, x):
    """``dx/da`` of a Gamma(a, 1) sample ``x`` at fixed quantile (implicit
    reparameterisation): ``-(dP(a, x)/da) / density(x)``, computed without forming the
    density, so it stays finite for samples that underflow it.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> round(float(lax.random_gamma_grad(fnp.asarray(1.0), 1.0)), 10)
        1.1735630272
    """
    return _bind(random_gamma_grad_p, "random_gamma_grad", a, x)


def betainc(a, b, x):
    """The regularized incomplete beta function ``I_x(a, b)`` (``a, b > 0``, ``x`` in
    ``[0, 1]``; NaN elsewhere). Differentiable in ``x`` only, as in JAX.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> round(float(lax.betainc(fnp.asarray(2.0), 3.0, 0.5)), 12)
        0.6875
    """
    return _bind(betainc_p, "betainc", a, b, x)


def bessel_i0e(x):
    """The exponentially scaled modified Bessel function ``exp(-|x|) I0(x)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> round(float(lax.bessel_i0e(fnp.asarray(1.0))), 12)
        0.465759607594
    """
    return _bind(bessel_i0e_p, "bessel_i0e", x)


def bessel_i1e(x):
    """The exponentially scaled modified Bessel function ``exp(-|x|) I1(x)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> round(float(lax.bessel_i1e(fnp.asarray(1.0))), 12)
        0.20791041535
    """
    return _bind(bessel_i1e_p, "bessel_i1e", x)
