"""``funcgrad.scipy.stats``: densities, mass functions and CDFs of jax.scipy.stats's
distributions, with SciPy's parameterisation (``loc``, ``scale``).

Each distribution is a namespace of functions (``norm.logpdf``, ``norm.cdf``, ...), as
``jax.scipy.stats.norm`` is a module. Log densities are computed in log space (so
``norm.logpdf(1e3)`` is finite) and are ``-inf`` outside the support; the other
functions derive from them or from the special functions (``gamma.cdf`` is
``gammainc``), so all are differentiable, batched under vmap and compiled under jit.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np

import funcgrad.numpy as fnp
from funcgrad._src.scipy import special as sp

__all__ = [
    "bernoulli",
    "beta",
    "betabinom",
    "binom",
    "cauchy",
    "chi2",
    "dirichlet",
    "expon",
    "gamma",
    "gennorm",
    "geom",
    "gumbel_l",
    "gumbel_r",
    "laplace",
    "logistic",
    "multinomial",
    "multivariate_normal",
    "nbinom",
    "norm",
    "pareto",
    "poisson",
    "t",
    "truncnorm",
    "uniform",
    "vonmises",
    "wrapcauchy",
]  # fmt: skip

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


class _Distribution:
    """A named group of functions, used as ``norm.logpdf(x)`` (like a module)."""

    def __init__(self, name: str, doc: str, **functions):
        self.__name__ = self._name = name
        self.__doc__ = doc
        for fname, fn in functions.items():
            fn.__name__ = fn.__qualname__ = fname
            fn.__doc__ = f"``{name}.{fname}``: {fn.__doc__ or ''}"
            setattr(self, fname, fn)
        self.__all__ = sorted(functions)

    def __repr__(self) -> str:
        return f"<funcgrad.scipy.stats.{self._name}: {', '.join(self.__all__)}>"


def _f(*args: Any) -> list:
    return sp._floats("stats", *args)


def _standardize(x, loc, scale):
    x, loc, scale = _f(x, loc, scale)
    return (x - loc) / scale, scale


def _then(inner, outer):
    """``outer(inner(...))``, showing ``inner``'s signature (JAX's parameter names)."""

    def composed(*args, **kwargs):
        return outer(inner(*args, **kwargs))

    composed.__signature__ = inspect.signature(inner)
    return composed


def _from_logpdf(logpdf):
    return _then(logpdf, fnp.exp)


def _nan_if_bad_scale(value, scale):
    return fnp.where(scale > 0, value, np.nan)


# --- normal --------------------------------------------------------------------------------


def _norm_logpdf(x, loc=0.0, scale=1.0):
    """``-((x - loc) / scale)^2 / 2 - log(scale) - log(2 pi) / 2``."""
    z, scale = _standardize(x, loc, scale)
    return _nan_if_bad_scale(-0.5 * z * z - fnp.log(scale) - _HALF_LOG_2PI, scale)


def _norm_cdf(x, loc=0.0, scale=1.0):
    z, _ = _standardize(x, loc, scale)
    return sp.ndtr(z)


def _norm_logcdf(x, loc=0.0, scale=1.0):
    z, _ = _standardize(x, loc, scale)
    return sp.log_ndtr(z)


def _norm_sf(x, loc=0.0, scale=1.0):
    z, _ = _standardize(x, loc, scale)
    return sp.ndtr(-z)


def _norm_logsf(x, loc=0.0, scale=1.0):
    z, _ = _standardize(x, loc, scale)
    return sp.log_ndtr(-z)


def _norm_ppf(q, loc=0.0, scale=1.0):
    q, loc, scale = _f(q, loc, scale)
    return loc + scale * sp.ndtri(q)


def _norm_isf(q, loc=0.0, scale=1.0):
    q, loc, scale = _f(q, loc, scale)
    return loc - scale * sp.ndtri(q)


norm = _Distribution(
    "norm",
    """The normal distribution with mean ``loc`` and standard deviation ``scale``.

    Examples:
        >>> from funcgrad.scipy import stats
        >>> round(float(stats.norm.logpdf(1.0, 0.0, 2.0)), 10)
        -1.7370857138
        >>> round(float(stats.norm.ppf(0.975)), 6)
        1.959964
    """,
    logpdf=_norm_logpdf, pdf=_from_logpdf(_norm_logpdf), cdf=_norm_cdf, logcdf=_norm_logcdf,
    sf=_norm_sf, logsf=_norm_logsf, ppf=_norm_ppf, isf=_norm_isf,
)  # fmt: skip


# --- Student's t ---------------------------------------------------------------------------


def _t_logpdf(x, df, loc=0.0, scale=1.0):
    """``log Gamma((df+1)/2) - log Gamma(df/2) - log(pi df)/2 - log(scale)
    - (df+1)/2 log(1 + z^2/df)``."""
    x, df, loc, scale = _f(x, df, loc, scale)
    z = (x - loc) / scale
    half = 0.5 * (df + 1)
    value = (sp.gammaln(half) - sp.gammaln(0.5 * df) - 0.5 * fnp.log(math.pi * df) - fnp.log(scale)
             - half * fnp.log1p(z * z / df))  # fmt: skip
    return _nan_if_bad_scale(value, scale)


t = _Distribution(
    "t",
    """Student's t distribution with ``df`` degrees of freedom.

    Examples:
        >>> from funcgrad.scipy import stats
        >>> round(float(stats.t.logpdf(0.5, 3.0)), 10)
        -1.160974265
    """,
    logpdf=_t_logpdf, pdf=_from_logpdf(_t_logpdf),
)  # fmt: skip


# --- gamma, chi2, expon ------------------------------------------------------------------------


def _gamma_logpdf(x, a, loc=0.0, scale=1.0):
    """``(a - 1) log z - z - log Gamma(a) - log(scale)``, ``z = (x - loc) / scale >= 0``."""
    x, a, loc, scale = _f(x, a, loc, scale)
    z = (x - loc) / scale
    inside = z >= 0
    safe = fnp.where(inside, z, 1.0)
    value = sp.xlogy(a - 1, safe) - safe - sp.gammaln(a) - fnp.log(scale)
    return _nan_if_bad_scale(fnp.where(inside, value, -np.inf), scale)


def _gamma_cdf(x, a, loc=0.0, scale=1.0):
    x, a, loc, scale = _f(x, a, loc, scale)
    return sp.gammainc(a, fnp.maximum((x - loc) / scale, 0.0))


def _gamma_sf(x, a, loc=0.0, scale=1.0):
    x, a, loc, scale = _f(x, a, loc, scale)
    return sp.gammaincc(a, fnp.maximum((x - loc) / scale, 0.0))


gamma = _Distribution(
    "gamma",
    """The gamma distribution with shape ``a`` (density ``z^(a-1) e^-z / Gamma(a)``).

    Examples:
        >>> from funcgrad.scipy import stats
        >>> round(float(stats.gamma.logpdf(2.0, 3.0)), 10)
        -1.3068528194
        >>> round(float(stats.gamma.cdf(2.0, 1.0)), 10)
        0.8646647168
    """,
    logpdf=_gamma_logpdf, pdf=_from_logpdf(_gamma_logpdf), cdf=_gamma_cdf,
    logcdf=_then(_gamma_cdf, fnp.log), sf=_gamma_sf,
    logsf=_then(_gamma_sf, fnp.log),
)  # fmt: skip


def _chi2_logpdf(x, df, loc=0.0, scale=1.0):
    """The gamma density with ``a = df / 2`` and scale 2."""
    x, df, loc, scale = _f(x, df, loc, scale)
    return _gamma_logpdf(x, df / 2, loc, 2 * scale)


def _chi2_cdf(x, df, loc=0.0, scale=1.0):
    x, df, loc, scale = _f(x, df, loc, scale)
    return _gamma_cdf(x, df / 2, loc, 2 * scale)


def _chi2_sf(x, df, loc=0.0, scale=1.0):
    x, df, loc, scale = _f(x, df, loc, scale)
    return _gamma_sf(x, df / 2, loc, 2 * scale)


chi2 = _Distribution(
    "chi2",
    """The chi-squared distribution with ``df`` degrees of freedom.

    Examples:
        >>> from funcgrad.scipy import stats
        >>> round(float(stats.chi2.cdf(3.84, 1.0)), 4)
        0.95
    """,
    logpdf=_chi2_logpdf, pdf=_from_logpdf(_chi2_logpdf), cdf=_chi2_cdf,
    logcdf=_then(_chi2_cdf, fnp.log), sf=_chi2_sf, logsf=_then(_chi2_sf, fnp.log),
)  # fmt: skip


def _expon_logpdf(x, loc=0.0, scale=1.0):
    """``-z - log(scale)`` for ``z = (x - loc) / scale >= 0``."""
    z, scale = _standardize(x, loc, scale)
    return _nan_if_bad_scale(fnp.where(z >= 0, -z - fnp.log(scale), -np.inf), scale)


def _expon_logsf(x, loc=0.0, scale=1.0):
    z, _ = _standardize(x, loc, scale)
    return -fnp.maximum(z, 0.0)


def _expon_logcdf(x, loc=0.0, scale=1.0):
    z, _ = _standardize(x, loc, scale)
    return fnp.where(z > 0, fnp.log(-fnp.expm1(-fnp.maximum(z, 0.0))), -np.inf)


def _expon_ppf(q, loc=0.0, scale=1.0):
    q, loc, scale = _f(q, loc, scale)
    return loc - scale * fnp.log1p(-q)


expon = _Distribution(
    "expon",
    """The exponential distribution (rate ``1 / scale``).

    Examples:
        >>> from funcgrad.scipy import stats
        >>> round(float(stats.expon.cdf(1.0)), 10)
        0.6321205588
    """,
    logpdf=_expon_logpdf, pdf=_from_logpdf(_expon_logpdf),
    cdf=_then(_expon_logsf, lambda v: -fnp.expm1(v)), logcdf=_expon_logcdf,
    sf=_then(_expon_logsf, fnp.exp), logsf=_expon_logsf, ppf=_expon_ppf,
)  # fmt: skip


# --- beta, dirichlet ---------------------------------------------------------------------------


def _beta_logpdf(x, a, b, loc=0.0, scale=1.0):
    """``(a-1) log z + (b-1) log(1-z) - log B(a, b) - log(scale)`` on ``0 <= z <= 1``."""
    x, a, b, loc, scale = _f(x, a, b, loc, scale)
    z = (x - loc) / scale
    inside = (z >= 0) & (z <= 1)
    safe = fnp.where(inside, z, 0.5)
    value = sp.xlogy(a - 1, safe) + sp.xlog1py(b - 1, -safe) - sp.betaln(a, b) - fnp.log(scale)
    return _nan_if_bad_scale(fnp.where(inside, value, -np.inf), scale)


def _beta_cdf(x, a, b, loc=0.0, scale=1.0):
    x, a, b, loc, scale = _f(x, a, b, loc, scale)
    return sp.betainc(a, b, fnp.clip((x - loc) / scale, 0.0, 1.0))


def _beta_sf(x, a, b, loc=0.0, scale=1.0):
    x, a, b, loc, scale = _f(x, a, b, loc, scale)
    return sp.betainc(b, a, fnp.clip(1 - (x - loc) / scale, 0.0, 1.0))


beta = _Distribution(
    "beta",
    """The beta distribution on ``[loc, loc + scale]``.

    Examples:
        >>> from funcgrad.scipy import stats
        >>> round(float(stats.beta.logpdf(0.3, 2.0, 5.0)), 10)
        0.7705248016
    """,
    logpdf=_beta_logpdf, pdf=_from_logpdf(_beta_logpdf), cdf=_beta_cdf,
    logcdf=_then(_beta_cdf, fnp.log), sf=_beta_sf, logsf=_then(_beta_sf, fnp.log),
)  # fmt: skip


def _dirichlet_logpdf(x, alpha):
    """``sum (alpha_i - 1) log x_i - sum log Gamma(alpha_i) + log Gamma(sum alpha_i)``, over
    the first axis of ``x`` (SciPy's layout: ``x`` of shape ``(K, ...)``, ``alpha`` ``(K,)``);
    ``-inf`` off the simplex."""
    x, alpha = fnp.asarray(x), fnp.asarray(alpha)
    if alpha.ndim != 1 or x.shape[:1] != alpha.shape:
        raise ValueError(
            f"funcgrad.scipy.stats.dirichlet.logpdf: alpha must have shape (K,) and x shape "
            f"(K, ...), got alpha {alpha.shape} and x {x.shape}"
        )
    x, alpha_b = _f(x, fnp.reshape(alpha, alpha.shape + (1,) * (x.ndim - 1)))
    normalizer = sp.gammaln(fnp.sum(alpha_b, axis=0)) - fnp.sum(sp.gammaln(alpha_b), axis=0)
    inside = fnp.all(x >= 0, axis=0) & (fnp.abs(fnp.sum(x, axis=0) - 1) < 1e-6 * x.shape[0])
    value = fnp.sum(sp.xlogy(alpha_b - 1, x), axis=0) + normalizer
    return fnp.where(inside, value, -np.inf)


dirichlet = _Distribution(
    "dirichlet",
    """The Dirichlet distribution with concentrations ``alpha`` (``x`` on the simplex).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import stats
        >>> round(float(stats.dirichlet.logpdf(fnp.asarray([0.2, 0.3, 0.5]),
        ...                                     fnp.asarray([1.0, 2.0, 3.0]))), 10)
        1.5040773968
    """,
    logpdf=_dirichlet_logpdf, pdf=_from_logpdf(_dirichlet_logpdf),
)  # fmt: skip


# --- location-scale families with closed forms -------------------------------------------------


def _laplace_logpdf(x, loc=0.0, scale=1.0):
    """``-|z| - log(2 scale)``."""
    z, scale = _standardize(x, loc, scale)
    return _nan_if_bad_scale(-fnp.abs(z) - fnp.log(2 * scale), scale)


def _laplace_cdf(x, loc=0.0, scale=1.0):
    z, _ = _standardize(x, loc, scale)
    half_tail = 0.5 * fnp.exp(-fnp.abs(z))
    return fnp.where(z < 0, half_tail, 1 - half_tail)


laplace = _Distribution(
    "laplace",
    """The Laplace distribution (density ``exp(-|z|) / (2 scale)``).

    Examples:
        >>> from funcgrad.scipy import stats
        >>> round(float(stats.laplace.cdf(-1.0)), 10)
        0.1839397206
    """,
    logpdf=_laplace_logpdf, pdf=_from_logpdf(_laplace_logpdf), cdf=_laplace_cdf,
)  # fmt: skip


def _logistic_logpdf(x, loc=0.0, scale=1.0):
    """``-z - 2 softplus(-z) - log(scale)`` (symmetric, so no overflow for any z)."""
    z, scale = _standardize(x, loc, scale)
    a = fnp.abs(z)
    return _nan_if_bad_scale(-a - 2 * fnp.log1p(fnp.exp(-a)) - fnp.log(scale), scale)


def _logistic_ppf(x, loc=0.0, scale=1.0):
    x, loc, scale = _f(x, loc, scale)
    return loc + scale * sp.logit(x)


def _logistic_isf(x, loc=0.0, scale=1.0):
    x, loc, scale = _f(x, loc, scale)
    return loc - scale * sp.logit(x)


logistic = _Distribution(
    "logistic",
    """The logistic distribution (CDF ``expit(z)``).

    Examples:
        >>> from funcgrad.scipy import stats
        >>> round(float(stats.logistic.logpdf(0.0)), 10)
        -1.3862943611
    """,
    logpdf=_logistic_logpdf, pdf=_from_logpdf(_logistic_logpdf),
    cdf=lambda x, loc=0.0, scale=1.0: sp.expit(_standardize(x, loc, scale)[0]),
    sf=lambda x, loc=0.0, scale=1.0: sp.expit(-_standardize(x, loc, scale)[0]),
    ppf=_logistic_ppf, isf=_logistic_isf,
)  # fmt: skip


def _cauchy_logpdf(x, loc=0.0, scale=1.0):
    """``-log(pi scale (1 + z^2))``."""
    z, scale = _standardize(x, loc, scale)
    return _nan_if_bad_scale(-math.log(math.pi) - fnp.log(scale) - fnp.log1p(z * z), scale)


def _cauchy_cdf(x, loc=0.0, scale=1.0):
    z, _ = _standardize(x, loc, scale)
    return 0.5 + fnp.arctan(z) / math.pi


def _cauchy_sf(x, loc=0.0, scale=1.0):
    z, _ = _standardize(x, loc, scale)
    return 0.5 - fnp.arctan(z) / math.pi


def _cauchy_ppf(q, loc=0.0, scale=1.0):
    q, loc, scale = _f(q, loc, scale)
    return loc + scale * fnp.tan(math.pi * (q - 0.5))


cauchy = _Distribution(
    "cauchy",
    """The Cauchy distribution.

    Examples:
        >>> from funcgrad.scipy import stats
        >>> round(float(stats.cauchy.cdf(1.0)), 10)
        0.75
    """,
    logpdf=_cauchy_logpdf, pdf=_from_logpdf(_cauchy_logpdf), cdf=_cauchy_cdf,
    logcdf=_then(_cauchy_cdf, fnp.log), sf=_cauchy_sf,
    logsf=_then(_cauchy_sf, fnp.log), ppf=_cauchy_ppf,
    isf=lambda q, loc=0.0, scale=1.0: _cauchy_ppf(1 - fnp.asarray(q), loc, scale),
)  # fmt: skip


def _uniform_logpdf(x, loc=0.0, scale=1.0):
    """``-log(scale)`` on ``[loc, loc + scale]``."""
    z, scale = _standardize(x, loc, scale)
    inside = (z >= 0) & (z <= 1)
    return _nan_if_bad_scale(fnp.where(inside, -fnp.log(scale), -np.inf), scale)


def _uniform_ppf(q, loc=0.0, scale=1.0):
    q, loc, scale = _f(q, loc, scale)
    return fnp.where((q >= 0) & (q <= 1), loc + q * scale, np.nan)


uniform = _Distribution(
    "uniform",
    """The uniform distribution on ``[loc, loc + scale]``.

    Examples:
        >>> from funcgrad.scipy import stats
        >>> float(stats.uniform.cdf(0.25))
        0.25
    """,
    logpdf=_uniform_logpdf, pdf=_from_logpdf(_uniform_logpdf),
    cdf=lambda x, loc=0.0, scale=1.0: fnp.clip(_standardize(x, loc, scale)[0], 0.0, 1.0),
    ppf=_uniform_ppf,
)  # fmt: skip


def _pareto_logpdf(x, b, loc=0.0, scale=1.0):
    """``log b - (b + 1) log z - log(scale)`` for ``z >= 1``."""
    x, b, loc, scale = _f(x, b, loc, scale)
    z = (x - loc) / scale
    inside = z >= 1
    safe = fnp.where(inside, z, 1.0)
    value = fnp.log(b) - (b + 1) * fnp.log(safe) - fnp.log(scale)
    return _nan_if_bad_scale(fnp.where(inside, value, -np.inf), scale)


def _pareto_logsf(x, b, loc=0.0, scale=1.0):
    """``-b log z`` for ``z >= 1``, 0 below (the survival function is ``z^-b``)."""
    x, b, loc, scale = _f(x, b, loc, scale)
    z = (x - loc) / scale
    safe = fnp.where(z >= 1, z, 1.0)
    return _nan_if_bad_scale(fnp.where(z >= 1, -b * fnp.log(safe), 0.0), scale)


def _pareto_sf(x, b, loc=0.0, scale=1.0):
    return fnp.exp(_pareto_logsf(x, b, loc, scale))


def _pareto_cdf(x, b, loc=0.0, scale=1.0):
    # -expm1(log sf): no cancellation just above z = 1, where the cdf is tiny
    return -fnp.expm1(_pareto_logsf(x, b, loc, scale))


def _pareto_logcdf(x, b, loc=0.0, scale=1.0):
    """``log(1 - z^-b)`` from ``s = log sf``: ``log(-expm1(s))`` near the edge and
    ``log1p(-exp(s))`` in the tail (the two halves of a stable log(1 - e^s)); -inf below 1."""
    log_sf = _pareto_logsf(x, b, loc, scale)
    edge = log_sf > -math.log(2)
    near = fnp.log(-fnp.expm1(fnp.where(edge, log_sf, -1.0)))
    tail = fnp.log1p(-fnp.exp(fnp.where(edge, -1.0, log_sf)))
    return fnp.where(edge, near, tail)


def _pareto_ppf(q, b, loc=0.0, scale=1.0):
    """``loc + scale (1 - q)^(-1/b)``; NaN outside ``[0, 1]``."""
    q, b, loc, scale = _f(q, b, loc, scale)
    value = loc + scale * fnp.exp(-fnp.log1p(-q) / b)
    return _nan_if_bad_scale(fnp.where((q >= 0) & (q <= 1), value, np.nan), scale)


pareto = _Distribution(
    "pareto",
    """The Pareto distribution with shape ``b``.

    Examples:
        >>> from funcgrad.scipy import stats
        >>> round(float(stats.pareto.logpdf(2.0, 3.0)), 10)
        -1.6739764336
    """,
    logpdf=_pareto_logpdf, pdf=_from_logpdf(_pareto_logpdf), cdf=_pareto_cdf,
    logcdf=_pareto_logcdf, sf=_pareto_sf, logsf=_pareto_logsf, ppf=_pareto_ppf,
)  # fmt: skip


def _gennorm_logpdf(x, beta, loc=0.0, scale=1.0):
    """``log(beta / (2 Gamma(1/beta))) - |z|^beta - log(scale)``."""
    x, beta, loc, scale = _f(x, beta, loc, scale)
    z = (x - loc) / scale
    value = fnp.log(beta) - math.log(2) - sp.gammaln(1 / beta) - fnp.abs(z) ** beta - fnp.log(scale)
    return _nan_if_bad_scale(value, scale)


def _gennorm_cdf(x, beta, loc=0.0, scale=1.0):
    """``1/2 + sign(z)/2 P(1/beta, |z|^beta)``, taken as ``Q(1/beta, |z|^beta) / 2`` for
    ``z < 0`` so that the lower tail keeps its relative accuracy."""
    x, beta, loc, scale = _f(x, beta, loc, scale)
    z = (x - loc) / scale
    power = fnp.abs(z) ** beta
    half_tail = 0.5 * sp.gammaincc(1 / beta, power)
    return _nan_if_bad_scale(fnp.where(z < 0, half_tail, 1.0 - half_tail), scale)


gennorm = _Distribution(
    "gennorm",
    """The generalized normal distribution with shape ``beta`` (2: normal with variance 1/2).

    Examples:
        >>> from funcgrad.scipy import stats
        >>> round(float(stats.gennorm.logpdf(0.5, 1.0)), 10)  # Laplace
        -1.1931471806
    """,
    logpdf=_gennorm_logpdf, pdf=_from_logpdf(_gennorm_logpdf),
    cdf=_gennorm_cdf,
)  # fmt: skip


# --- discrete -----------------------------------------------------------------------------------


def _on_integers(k, loc, low=0.0):
    """``(k - loc, inside)`` where ``inside`` says ``k - loc`` is an integer ``>= low``."""
    k = k - loc
    return k, (k == fnp.floor(k)) & (k >= low)


def _poisson_logpmf(k, mu, loc=0.0):
    """``k log(mu) - mu - log(k!)`` on the non-negative integers."""
    k, mu, loc = _f(k, mu, loc)
    k, inside = _on_integers(k, loc)
    safe = fnp.where(inside, k, 0.0)
    return fnp.where(inside, sp.xlogy(safe, mu) - mu - sp.gammaln(safe + 1), -np.inf)


def _poisson_cdf(k, mu, loc=0.0):
    k, mu, loc = _f(k, mu, loc)
    k = fnp.floor(k - loc)
    return fnp.where(k >= 0, sp.gammaincc(fnp.maximum(k, 0.0) + 1, mu), 0.0)


# Poisson entropy: the sum -sum_k pmf log pmf over k < 500 for mu < 300 (the terms beyond
# lie more than 11 standard deviations out), and the asymptotic series
# log(2 pi e mu) / 2 - 1/(12 mu) - 1/(24 mu^2) - 19/(360 mu^3) above, whose next term is
# below 1e-11.
_POISSON_ENTROPY_TERMS = 500
_POISSON_ENTROPY_SPLIT = 300.0


def _poisson_entropy(mu, loc=0.0):
    """The entropy ``-sum_k pmf(k) log pmf(k)`` (``loc`` only shifts the support)."""
    del loc
    (mu,) = _f(mu)
    small = mu < _POISSON_ENTROPY_SPLIT
    mu_small = fnp.where(small, mu, 1.0)
    mu_big = fnp.where(small, _POISSON_ENTROPY_SPLIT, mu)
    k = fnp.arange(_POISSON_ENTROPY_TERMS, dtype=mu.dtype)
    m = mu_small[..., None]
    logpmf = sp.xlogy(k, m) - m - sp.gammaln(k + 1)
    exact = -fnp.sum(fnp.exp(logpmf) * logpmf, axis=-1)
    r = 1 / mu_big
    series = 0.5 * fnp.log(2 * math.pi * math.e * mu_big) - r * (
        1 / 12 + r * (1 / 24 + r * 19 / 360)
    )
    value = fnp.where(small, exact, series)
    return fnp.where(mu > 0, value, fnp.where(mu == 0, 0.0, np.nan)).astype(mu.dtype)


poisson = _Distribution(
    "poisson",
    """The Poisson distribution with mean ``mu``.

    Examples:
        >>> from funcgrad.scipy import stats
        >>> round(float(stats.poisson.pmf(2.0, 3.0)), 10)
        0.2240418077
    """,
    logpmf=_poisson_logpmf, pmf=_from_logpdf(_poisson_logpmf), cdf=_poisson_cdf,
    entropy=_poisson_entropy,
)  # fmt: skip


def _binom_logpmf(k, n, p, loc=0.0):
    """``log C(n, k) + k log p + (n - k) log(1 - p)`` for integers ``0 <= k <= n``."""
    k, n, p, loc = _f(k, n, p, loc)
    k, inside = _on_integers(k, loc)
    inside = inside & (k <= n)
    safe = fnp.where(inside, k, 0.0)
    log_choose = sp.gammaln(n + 1) - sp.gammaln(safe + 1) - sp.gammaln(n - safe + 1)
    value = log_choose + sp.xlogy(safe, p) + sp.xlog1py(n - safe, -p)
    return fnp.where(inside, value, -np.inf)


binom = _Distribution(
    "binom",
    """The binomial distribution of ``n`` trials with success probability ``p``.

    Examples:
        >>> from funcgrad.scipy import stats
        >>> round(float(stats.binom.pmf(3.0, 10.0, 0.3)), 10)
        0.266827932
    """,
    logpmf=_binom_logpmf, pmf=_from_logpdf(_binom_logpmf),
)  # fmt: skip


def _bernoulli_logpmf(k, p, loc=0.0):
    """``log p`` at 1, ``log(1 - p)`` at 0, ``-inf`` elsewhere."""
    k, p, loc = _f(k, p, loc)
    k = k - loc
    return fnp.where(k == 1, sp.xlogy(1.0, p), fnp.where(k == 0, fnp.log1p(-p), -np.inf))


def _bernoulli_cdf(k, p, loc=0.0):
    k, p, loc = _f(k, p, loc)
    k = k - loc
    return fnp.where(k < 0, 0.0, fnp.where(k < 1, 1 - p, 1.0))


def _bernoulli_ppf(q, p):
    q, p = _f(q, p)
    # as SciPy: ppf(0) is the support's lower end minus one
    value = fnp.where(q == 0, -1.0, fnp.where(q <= 1 - p, 0.0, 1.0))
    return fnp.where((q < 0) | (q > 1), np.nan, value)


bernoulli = _Distribution(
    "bernoulli",
    """The Bernoulli distribution with success probability ``p``.

    Examples:
        >>> from funcgrad.scipy import stats
        >>> round(float(stats.bernoulli.pmf(1.0, 0.3)), 10)
        0.3
    """,
    logpmf=_bernoulli_logpmf, pmf=_from_logpdf(_bernoulli_logpmf), cdf=_bernoulli_cdf,
    ppf=_bernoulli_ppf,
)  # fmt: skip


def _geom_logpmf(k, p, loc=0.0):
    """``(k - 1) log(1 - p) + log p`` on ``k = 1, 2, ...``."""
    k, p, loc = _f(k, p, loc)
    k, inside = _on_integers(k, loc, low=1.0)
    safe = fnp.where(inside, k, 1.0)
    value = fnp.where(inside, sp.xlog1py(safe - 1, -p) + fnp.log(p), -np.inf)
    return fnp.where((p > 0) & (p <= 1), value, np.nan)  # SciPy's parameter domain


geom = _Distribution(
    "geom",
    """The geometric distribution: the trial of the first success (``k >= 1``).

    Examples:
        >>> from funcgrad.scipy import stats
        >>> round(float(stats.geom.pmf(2.0, 0.25)), 10)
        0.1875
    """,
    logpmf=_geom_logpmf, pmf=_from_logpdf(_geom_logpmf),
)  # fmt: skip


def _nbinom_logpmf(k, n, p, loc=0.0):
    """``log C(k + n - 1, k) + n log p + k log(1 - p)`` on ``k = 0, 1, ...``."""
    k, n, p, loc = _f(k, n, p, loc)
    k, inside = _on_integers(k, loc)
    safe = fnp.where(inside, k, 0.0)
    log_choose = sp.gammaln(safe + n) - sp.gammaln(safe + 1) - sp.gammaln(n)
    value = fnp.where(inside, log_choose + sp.xlogy(n, p) + sp.xlog1py(safe, -p), -np.inf)
    return fnp.where((p > 0) & (p <= 1), value, np.nan)  # SciPy's parameter domain


nbinom = _Distribution(
    "nbinom",
    """The negative binomial distribution: failures before the ``n``-th success.

    Examples:
        >>> from funcgrad.scipy import stats
        >>> round(float(stats.nbinom.pmf(2.0, 3.0, 0.5)), 10)
        0.1875
    """,
    logpmf=_nbinom_logpmf, pmf=_from_logpdf(_nbinom_logpmf),
)  # fmt: skip


# --- multivariate normal ---------------------------------------------------------------------


def _mvn_logpdf(x, mean, cov, allow_singular=None):
    """``-(d log(2 pi) + log det(cov) + (x - mean)^T cov^-1 (x - mean)) / 2`` by a Cholesky
    factor (``cov`` must be positive definite; ``allow_singular=True`` is not supported,
    as in JAX). ``x`` has shape ``(..., d)``; ``cov`` may be a scalar, a vector of
    variances or a ``(d, d)`` matrix."""
    if allow_singular:
        raise NotImplementedError(
            "funcgrad.scipy.stats.multivariate_normal.logpdf: allow_singular=True is not "
            "supported (as in JAX)"
        )
    x, mean, cov = fnp.asarray(x), fnp.asarray(mean), fnp.asarray(cov)
    dtype = fnp.result_type(x, mean, cov, 1.0)
    x, mean, cov = x.astype(dtype), mean.astype(dtype), cov.astype(dtype)
    d = x.shape[-1] if x.ndim else 1
    if cov.ndim < 2:
        cov = fnp.eye(d, dtype=dtype) * cov
    if cov.shape[-2:] != (d, d):
        raise ValueError(
            f"funcgrad.scipy.stats.multivariate_normal.logpdf: cov must be ({d}, {d}) for x of "
            f"shape {x.shape}, got {cov.shape}"
        )
    diff = x - mean
    chol = fnp.linalg.cholesky(cov)
    # L^-1 (x - mean) as a solve against the lower triangle
    z = fnp.linalg.solve(chol, diff[..., None])[..., 0]
    log_det = 2 * fnp.sum(fnp.log(fnp.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)
    return -0.5 * (d * math.log(2 * math.pi) + log_det + fnp.sum(z * z, axis=-1))


multivariate_normal = _Distribution(
    "multivariate_normal",
    """The multivariate normal distribution.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import stats
        >>> round(float(stats.multivariate_normal.logpdf(fnp.zeros(2), fnp.zeros(2),
        ...                                               fnp.eye(2))), 10)
        -1.8378770664
    """,
    logpdf=_mvn_logpdf, pdf=_from_logpdf(_mvn_logpdf),
)  # fmt: skip


# --- truncated normal ------------------------------------------------------------------------


def _log_normal_mass(lo, hi):
    """``log(ndtr(hi) - ndtr(lo))`` for ``lo <= hi``, in whichever tail keeps it accurate:
    in the upper tail as ``log(sf(lo) - sf(hi))``, so ``[30, 31]`` keeps its ~-450 instead
    of ``log(1 - 1) = -inf``."""
    upper = lo > 0
    lower = hi < 0
    # each branch sees only its own inputs, so the branches not taken have finite gradients
    lo_u, hi_u = fnp.where(upper, lo, 1.0), fnp.where(upper, hi, 2.0)
    lo_l, hi_l = fnp.where(lower, lo, -2.0), fnp.where(lower, hi, -1.0)
    lo_m, hi_m = fnp.where(upper | lower, -1.0, lo), fnp.where(upper | lower, 1.0, hi)
    log_sf_lo = sp.log_ndtr(-lo_u)
    in_upper = log_sf_lo + fnp.log1p(-fnp.exp(sp.log_ndtr(-hi_u) - log_sf_lo))
    log_cdf_hi = sp.log_ndtr(hi_l)
    in_lower = log_cdf_hi + fnp.log1p(-fnp.exp(sp.log_ndtr(lo_l) - log_cdf_hi))
    middle = fnp.log1p(-sp.ndtr(lo_m) - sp.ndtr(-hi_m))
    return fnp.where(upper, in_upper, fnp.where(lower, in_lower, middle))


def _truncnorm_args(x, a, b, loc, scale):
    x, a, b, loc, scale = _f(x, a, b, loc, scale)
    return (x - loc) / scale, a, b, scale


def _truncnorm_logpdf(x, a, b, loc=0.0, scale=1.0):
    """``norm.logpdf(z) - log(ndtr(b) - ndtr(a)) - log(scale)`` on ``a <= z <= b``
    (``z = (x - loc) / scale``; ``a``, ``b`` in standard units, as SciPy)."""
    z, a, b, scale = _truncnorm_args(x, a, b, loc, scale)
    value = -0.5 * z * z - _HALF_LOG_2PI - _log_normal_mass(a, b) - fnp.log(scale)
    value = fnp.where((z >= a) & (z <= b), value, -np.inf)
    return _nan_if_bad_scale(fnp.where(a < b, value, np.nan), scale)


def _truncnorm_log_tails(x, a, b, loc, scale):
    """``(log cdf, log sf)`` of the truncated normal: each as a difference of log masses,
    which is accurate while it is below ``log(0.9)``; above, each is ``log1p(-exp(other))``
    (the switch SciPy makes at -0.1)."""
    z, a, b, scale = _truncnorm_args(x, a, b, loc, scale)
    inside = (z > a) & (z < b)
    zc = fnp.where(inside, z, 0.5 * (a + b))
    log_mass = _log_normal_mass(a, b)
    raw_cdf = _log_normal_mass(a, zc) - log_mass
    raw_sf = _log_normal_mass(zc, b) - log_mass
    big_cdf, big_sf = raw_cdf > -0.1, raw_sf > -0.1
    # clamped before exp so the branch not taken keeps finite gradients
    log_cdf = fnp.where(big_cdf, fnp.log1p(-fnp.exp(fnp.minimum(raw_sf, -0.01))), raw_cdf)
    log_sf = fnp.where(big_sf, fnp.log1p(-fnp.exp(fnp.minimum(raw_cdf, -0.01))), raw_sf)
    log_cdf = fnp.where(inside, log_cdf, fnp.where(z <= a, -np.inf, 0.0))
    log_sf = fnp.where(inside, log_sf, fnp.where(z <= a, 0.0, -np.inf))
    valid = lambda v: _nan_if_bad_scale(fnp.where(a < b, v, np.nan), scale)
    return valid(log_cdf), valid(log_sf)


def _truncnorm_logcdf(x, a, b, loc=0.0, scale=1.0):
    return _truncnorm_log_tails(x, a, b, loc, scale)[0]


def _truncnorm_logsf(x, a, b, loc=0.0, scale=1.0):
    return _truncnorm_log_tails(x, a, b, loc, scale)[1]


def _truncnorm_ppf(q, a, b, loc=0.0, scale=1.0):
    """``ndtri(ndtr(a) + q (ndtr(b) - ndtr(a)))``, mirrored (``-ndtri`` of the survival
    function) when ``a > 0`` so that upper-tail truncations keep their accuracy."""
    q, a, b, loc, scale = _f(q, a, b, loc, scale)
    upper = a > 0
    sa, sb = fnp.where(upper, -a, a), fnp.where(upper, -b, b)  # mirrored: sa > sb
    cdf_a, cdf_b = sp.ndtr(sa), sp.ndtr(sb)
    z = sp.ndtri(cdf_a + q * (cdf_b - cdf_a))
    z = fnp.clip(fnp.where(upper, -z, z), a, b)
    value = fnp.where((q >= 0) & (q <= 1) & (a < b), loc + scale * z, np.nan)
    return _nan_if_bad_scale(value, scale)


truncnorm = _Distribution(
    "truncnorm",
    """The normal distribution truncated to ``[a, b]`` in standard units (SciPy's
    parameterisation: the support is ``[loc + a scale, loc + b scale]``). Log masses are
    taken in whichever tail keeps them accurate, so truncations far in a tail (``a = 30``)
    stay finite. NaN where ``a >= b``. ``ppf`` is SciPy's (JAX has none).

    Examples:
        >>> from funcgrad.scipy import stats
        >>> round(float(stats.truncnorm.logpdf(0.5, -1.0, 2.0)), 9)
        -0.843772239
        >>> round(float(stats.truncnorm.cdf(0.0, -1.0, 1.0)), 10)
        0.5
    """,
    logpdf=_truncnorm_logpdf, pdf=_from_logpdf(_truncnorm_logpdf), logcdf=_truncnorm_logcdf,
    cdf=_from_logpdf(_truncnorm_logcdf), logsf=_truncnorm_logsf, sf=_from_logpdf(_truncnorm_logsf),
    ppf=_truncnorm_ppf,
)  # fmt: skip


# --- circular distributions -----------------------------------------------------------------


def _vonmises_logpdf(x, kappa, loc=0.0, scale=1.0):
    """``kappa (cos z - 1) - log(2 pi i0e(kappa)) - log(scale)`` (``i0e`` keeps large
    ``kappa`` finite); as SciPy, not wrapped to one period, uniform at ``kappa = 0`` and
    NaN for ``kappa < 0``."""
    x, kappa, loc, scale = _f(x, kappa, loc, scale)
    z = (x - loc) / scale
    value = (kappa * (fnp.cos(z) - 1) - math.log(2 * math.pi) - fnp.log(sp.i0e(kappa))
             - fnp.log(scale))  # fmt: skip
    return _nan_if_bad_scale(fnp.where(kappa >= 0, value, np.nan), scale)


vonmises = _Distribution(
    "vonmises",
    """The von Mises distribution with concentration ``kappa``.

    Examples:
        >>> from funcgrad.scipy import stats
        >>> round(float(stats.vonmises.logpdf(0.5, 2.0)), 10)
        -0.9067054841
    """,
    logpdf=_vonmises_logpdf, pdf=_from_logpdf(_vonmises_logpdf),
)  # fmt: skip


def _wrapcauchy_logpdf(x, c, loc=0.0, scale=1.0):
    """``log((1 - c^2) / (2 pi (1 + c^2 - 2 c cos z))) - log(scale)`` on ``0 <= z <= 2 pi``;
    NaN unless ``0 < c < 1``."""
    x, c, loc, scale = _f(x, c, loc, scale)
    z = (x - loc) / scale
    value = (fnp.log1p(-c * c) - math.log(2 * math.pi) - fnp.log1p(c * c - 2 * c * fnp.cos(z))
             - fnp.log(scale))  # fmt: skip
    value = fnp.where((z >= 0) & (z <= 2 * math.pi), value, -np.inf)
    return _nan_if_bad_scale(fnp.where((c > 0) & (c < 1), value, np.nan), scale)


wrapcauchy = _Distribution(
    "wrapcauchy",
    """The wrapped Cauchy distribution with shape ``0 < c < 1`` on ``[0, 2 pi]``.

    Examples:
        >>> from funcgrad.scipy import stats
        >>> round(float(stats.wrapcauchy.logpdf(1.0, 0.5)), 10)
        -1.7826429563
    """,
    logpdf=_wrapcauchy_logpdf, pdf=_from_logpdf(_wrapcauchy_logpdf),
)  # fmt: skip


# --- Gumbel ----------------------------------------------------------------------------------


def _gumbel_r_logpdf(x, loc=0.0, scale=1.0):
    """``-z - exp(-z) - log(scale)``."""
    z, scale = _standardize(x, loc, scale)
    return _nan_if_bad_scale(-z - fnp.exp(-z) - fnp.log(scale), scale)


def _gumbel_r_logcdf(x, loc=0.0, scale=1.0):
    z, _ = _standardize(x, loc, scale)
    return -fnp.exp(-z)


def _gumbel_r_logsf(x, loc=0.0, scale=1.0):
    z, _ = _standardize(x, loc, scale)
    return fnp.log(-fnp.expm1(-fnp.exp(-z)))


def _gumbel_r_ppf(p, loc=0.0, scale=1.0):
    p, loc, scale = _f(p, loc, scale)
    return loc - scale * fnp.log(-fnp.log(p))


gumbel_r = _Distribution(
    "gumbel_r",
    """The right-skewed Gumbel distribution (CDF ``exp(-exp(-z))``).

    Examples:
        >>> from funcgrad.scipy import stats
        >>> round(float(stats.gumbel_r.cdf(0.0)), 10)
        0.3678794412
    """,
    logpdf=_gumbel_r_logpdf, pdf=_from_logpdf(_gumbel_r_logpdf), logcdf=_gumbel_r_logcdf,
    cdf=_from_logpdf(_gumbel_r_logcdf), logsf=_gumbel_r_logsf,
    sf=_then(_gumbel_r_logcdf, lambda v: -fnp.expm1(v)),
    ppf=_gumbel_r_ppf,
)  # fmt: skip


def _gumbel_l_logpdf(x, loc=0.0, scale=1.0):
    """``z - exp(z) - log(scale)``."""
    z, scale = _standardize(x, loc, scale)
    return _nan_if_bad_scale(z - fnp.exp(z) - fnp.log(scale), scale)


def _gumbel_l_logsf(x, loc=0.0, scale=1.0):
    z, _ = _standardize(x, loc, scale)
    return -fnp.exp(z)


def _gumbel_l_logcdf(x, loc=0.0, scale=1.0):
    z, _ = _standardize(x, loc, scale)
    return fnp.log(-fnp.expm1(-fnp.exp(z)))


def _gumbel_l_ppf(p, loc=0.0, scale=1.0):
    p, loc, scale = _f(p, loc, scale)
    return loc + scale * fnp.log(-fnp.log1p(-p))


gumbel_l = _Distribution(
    "gumbel_l",
    """The left-skewed Gumbel distribution (survival function ``exp(-exp(z))``).

    Examples:
        >>> from funcgrad.scipy import stats
        >>> round(float(stats.gumbel_l.sf(0.0)), 10)
        0.3678794412
    """,
    logpdf=_gumbel_l_logpdf, pdf=_from_logpdf(_gumbel_l_logpdf), logcdf=_gumbel_l_logcdf,
    cdf=_then(_gumbel_l_logsf, lambda v: -fnp.expm1(v)),
    logsf=_gumbel_l_logsf, sf=_from_logpdf(_gumbel_l_logsf), ppf=_gumbel_l_ppf,
)  # fmt: skip


# --- beta-binomial and multinomial ------------------------------------------------------------


def _betabinom_logpmf(k, n, a, b, loc=0.0):
    """``log C(n, k) + log B(k + a, n - k + b) - log B(a, b)`` for integers ``0 <= k <= n``;
    differentiable in ``a`` and ``b``."""
    k, n, a, b, loc = _f(k, n, a, b, loc)
    k, inside = _on_integers(k, loc)
    inside = inside & (k <= n)
    safe = fnp.where(inside, k, 0.0)
    log_choose = sp.gammaln(n + 1) - sp.gammaln(safe + 1) - sp.gammaln(n - safe + 1)
    value = log_choose + sp.betaln(safe + a, n - safe + b) - sp.betaln(a, b)
    value = fnp.where(inside, value, -np.inf)
    return fnp.where((a > 0) & (b > 0) & (n >= 0), value, np.nan)  # SciPy's parameter domain


betabinom = _Distribution(
    "betabinom",
    """The beta-binomial distribution: ``n`` trials with a Beta(``a``, ``b``) success rate.

    Examples:
        >>> from funcgrad.scipy import stats
        >>> round(float(stats.betabinom.pmf(2.0, 5.0, 2.0, 3.0)), 10)
        0.2380952381
    """,
    logpmf=_betabinom_logpmf, pmf=_from_logpdf(_betabinom_logpmf),
)  # fmt: skip


def _multinomial_logpmf(x, n, p):
    """``log n! + sum_i (x_i log p_i - log x_i!)`` over the last axis; ``-inf`` unless the
    counts are non-negative integers summing to ``n`` (``p`` is used as given, as in JAX:
    it should sum to one)."""
    x, p = fnp.asarray(x), fnp.asarray(p)
    if x.ndim == 0 or p.ndim == 0:
        raise ValueError(
            f"funcgrad.scipy.stats.multinomial.logpmf: x and p need a category axis (the last), "
            f"got x {x.shape} and p {p.shape}"
        )
    x, n, p = _f(x, fnp.expand_dims(fnp.asarray(n), -1), p)
    n = n[..., 0]
    value = sp.gammaln(n + 1) + fnp.sum(sp.xlogy(x, p) - sp.gammaln(x + 1), axis=-1)
    valid = (fnp.sum(x, axis=-1) == n) & fnp.all((x >= 0) & (x == fnp.floor(x)), axis=-1)
    return fnp.where(valid, value, -np.inf)


multinomial = _Distribution(
    "multinomial",
    """The multinomial distribution of ``n`` draws over the categories of ``p`` (last axis).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import stats
        >>> round(float(stats.multinomial.pmf(fnp.asarray([1.0, 2.0]), 3.0,
        ...                                    fnp.asarray([0.5, 0.5]))), 10)
        0.375
    """,
    logpmf=_multinomial_logpmf, pmf=_from_logpdf(_multinomial_logpmf),
)  # fmt: skip
