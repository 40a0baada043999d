"""funcgrad.random's distributions against SciPy: Kolmogorov-Smirnov tests for the
continuous ones, chi-squared tests against the exact mass functions for the discrete ones,
the gamma family's implicit reparameterisation gradients, and jit/vmap agreement."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as ss

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import random

_N = 4000
_KEY = random.key(7)
_P_MIN = 1e-3  # fixed keys: a correct sampler passes deterministically; a wrong one fails

# name -> (sample(key, n), SciPy frozen distribution)
CONTINUOUS = {
    "chisquare": (lambda k, n: random.chisquare(k, 3.5, (n,)), ss.chi2(3.5)),
    "t": (lambda k, n: random.t(k, 2.5, (n,)), ss.t(2.5)),
    "f": (lambda k, n: random.f(k, 4.0, 7.0, (n,)), ss.f(4.0, 7.0)),
    "cauchy": (lambda k, n: random.cauchy(k, (n,)), ss.cauchy()),
    "logistic": (lambda k, n: random.logistic(k, (n,)), ss.logistic()),
    "lognormal": (lambda k, n: random.lognormal(k, 0.7, (n,)), ss.lognorm(0.7)),
    "pareto": (lambda k, n: random.pareto(k, 2.5, (n,)), ss.pareto(2.5)),
    "weibull_min": (lambda k, n: random.weibull_min(k, 2.0, 1.5, (n,)), ss.weibull_min(1.5, scale=2.0)),
    "rayleigh": (lambda k, n: random.rayleigh(k, 1.5, (n,)), ss.rayleigh(scale=1.5)),
    "wald": (lambda k, n: random.wald(k, 2.0, (n,)), ss.invgauss(2.0)),
    "triangular": (lambda k, n: random.triangular(k, -1.0, 0.5, 3.0, (n,)), ss.triang(0.375, loc=-1.0, scale=4.0)),
    "generalized_normal": (lambda k, n: random.generalized_normal(k, 1.5, (n,)), ss.gennorm(1.5)),
    "maxwell": (lambda k, n: random.maxwell(k, (n,)), ss.maxwell()),
    "gamma_small_a": (lambda k, n: random.gamma(k, 0.3, (n,)), ss.gamma(0.3)),
    "beta": (lambda k, n: random.beta(k, 0.5, 2.0, (n,)), ss.beta(0.5, 2.0)),
    "dirichlet_marginal": (lambda k, n: random.dirichlet(k, fnp.asarray([2.0, 1.0, 3.0]), (n,))[:, 0],
                           ss.beta(2.0, 4.0)),
    "multivariate_normal_marginal": (
        lambda k, n: random.multivariate_normal(k, fnp.asarray([1.0, -1.0]),
                                                fnp.asarray([[2.0, 0.6], [0.6, 1.0]]), (n,))[:, 1],
        ss.norm(-1.0, 1.0)),
    "multivariate_normal_eigh": (
        lambda k, n: random.multivariate_normal(k, fnp.zeros(2), fnp.asarray([[2.0, 0.6], [0.6, 1.0]]),
                                                (n,), method="eigh")[:, 0],
        ss.norm(0.0, np.sqrt(2.0))),
    "double_sided_maxwell_abs": (lambda k, n: fnp.abs(random.double_sided_maxwell(k, 0.0, 2.0, (n,))),
                                 ss.maxwell(scale=2.0)),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_continuous_ks(name):
    sample, dist = CONTINUOUS[name]
    x = np.asarray(sample(_KEY, _N))
    assert np.isfinite(x).all()
    assert ss.kstest(x, dist.cdf).pvalue > _P_MIN


def _chi2_pvalue(x, pmf, support):
    counts = np.array([(x == k).sum() for k in support])
    expected = len(x) * pmf(np.asarray(support))
    rest = len(x) - counts.sum()
    counts, expected = np.append(counts, rest), np.append(expected, len(x) - expected.sum())
    keep = expected > 5  # the chi-squared approximation's usual requirement
    extra_obs, extra_exp = counts[~keep].sum(), expected[~keep].sum()
    counts, expected = np.append(counts[keep], extra_obs), np.append(expected[keep], extra_exp)
    if expected[-1] == 0:
        counts, expected = counts[:-1], expected[:-1]
    return ss.chisquare(counts, expected * counts.sum() / expected.sum()).pvalue


@pytest.mark.parametrize("lam", [0.7, 6.0, 25.0, 400.0])
def test_poisson_chi_squared(lam):
    x = np.asarray(random.poisson(_KEY, lam, (_N,)))
    assert x.dtype == np.int64
    support = range(int(max(0, lam - 6 * np.sqrt(lam))), int(lam + 6 * np.sqrt(lam) + 6))
    assert _chi2_pvalue(x, lambda k: ss.poisson.pmf(k, lam), support) > _P_MIN


@pytest.mark.parametrize("n,p", [(7, 0.3), (60, 0.5), (200, 0.9), (1000, 0.02)])
def test_binomial_chi_squared(n, p):
    x = np.asarray(random.binomial(_KEY, float(n), p, (_N,)))
    assert ((x >= 0) & (x <= n)).all() and (x == np.floor(x)).all()
    assert _chi2_pvalue(x, lambda k: ss.binom.pmf(k, n, p), range(n + 1)) > _P_MIN


def test_geometric_and_rademacher():
    x = np.asarray(random.geometric(_KEY, 0.3, (_N,)))
    assert _chi2_pvalue(x, lambda k: ss.geom.pmf(k, 0.3), range(1, 40)) > _P_MIN
    r = np.asarray(random.rademacher(_KEY, (_N,)))
    assert set(np.unique(r)) == {-1, 1} and ss.binomtest(int((r == 1).sum()), _N).pvalue > _P_MIN


def test_multinomial_counts_and_marginals():
    p = np.array([0.1, 0.2, 0.3, 0.4])
    x = np.asarray(random.multinomial(_KEY, 12.0, fnp.asarray(p), (_N,)))
    assert x.shape == (_N, 4) and (x.sum(-1) == 12).all()
    for i in range(4):  # each count is Binomial(12, p_i)
        assert _chi2_pvalue(x[:, i], lambda k, q=p[i]: ss.binom.pmf(k, 12, q), range(13)) > _P_MIN


def test_invalid_parameters():
    assert np.asarray(random.poisson(_KEY, fnp.asarray([-1.0, 0.0]))).tolist() == [-1, 0]
    assert np.isnan(np.asarray(random.binomial(_KEY, fnp.asarray([2.5, 3.0]), 1.5))).all()
    with pytest.raises(ValueError, match=r"multivariate_normal: mean must have shape \(..., n\)"):
        random.multivariate_normal(_KEY, fnp.zeros(2), fnp.eye(3))
    with pytest.raises(ValueError, match=r"method must be 'cholesky', 'eigh' or 'svd'"):
        random.multivariate_normal(_KEY, fnp.zeros(2), fnp.eye(2), method="lu")
    with pytest.raises(TypeError, match=r"wrap_key_data: key_bits must be uint32"):
        random.wrap_key_data(np.zeros(2, np.int32))


def test_ball_is_uniform_in_the_ball():
    d = 3
    x = np.asarray(random.ball(_KEY, d, shape=(_N,)))
    radius = np.linalg.norm(x, axis=-1)
    assert (radius <= 1).all()
    # uniform in the ball: P(r <= s) = s^d
    assert ss.kstest(radius, lambda s: np.clip(s, 0, 1) ** d).pvalue > _P_MIN
    x1 = np.asarray(random.ball(_KEY, 2, p=1, shape=(_N,)))
    assert (np.abs(x1).sum(-1) <= 1).all()


def test_key_utilities():
    k = random.key(3)
    assert random.key_data(k).tolist() == k.tolist()
    assert random.wrap_key_data(np.asarray(k)).tolist() == k.tolist()
    assert random.clone(k).tolist() == k.tolist()
    np.testing.assert_array_equal(np.asarray(random.normal(random.clone(k), (3,))),
                                  np.asarray(random.normal(k, (3,))))  # fmt: skip


def test_gamma_reparameterisation_gradient_per_sample():
    """dx/da at a fixed quantile, against central differences of SciPy's gamma quantile."""
    a = np.array([0.2, 1.0, 3.5, 30.0])
    x = fnp.asarray([0.05, 0.7, 4.0, 28.0])
    got = np.asarray(funcgrad.lax.random_gamma_grad(fnp.asarray(a), x))
    u = sp.gammainc(a, np.asarray(x))
    eps = 1e-6 * a
    fd = (ss.gamma.ppf(u, a + eps) - ss.gamma.ppf(u, a - eps)) / (2 * eps)
    np.testing.assert_allclose(got, fd, rtol=1e-5)


def test_gamma_and_beta_gradients_match_expectations():
    n = 20000
    grad_mean = funcgrad.grad(lambda a: random.gamma(_KEY, a, (n,)).mean())
    assert abs(float(grad_mean(2.0)) - 1.0) < 0.03  # E[x] = a
    # E[log x] = digamma(a): its derivative is polygamma(1, a)
    grad_log = funcgrad.grad(lambda a: fnp.log(random.gamma(_KEY, a, (n,))).mean())
    assert abs(float(grad_log(0.5)) - sp.polygamma(1, 0.5)) < 0.05 * sp.polygamma(1, 0.5)
    # E[beta] = a / (a + b): d/da = b / (a + b)^2
    grad_beta = funcgrad.grad(lambda a: random.beta(_KEY, a, 3.0, (n,)).mean())
    assert abs(float(grad_beta(2.0)) - 3.0 / 25.0) < 0.01
    # a sample that underflows still has a finite gradient
    g = funcgrad.grad(lambda a: random.loggamma(_KEY, a, (50,)).sum())(1e-3)
    assert np.isfinite(float(g))


def test_dirichlet_gradient_and_chisquare_gradient():
    n = 20000
    alpha = fnp.asarray([1.0, 2.0, 3.0])
    g = funcgrad.grad(lambda al: random.dirichlet(_KEY, al, (n,))[:, 0].mean())(alpha)
    # E[x_0] = a_0 / A: gradient (A - a_0, -a_0, -a_0) / A^2
    np.testing.assert_allclose(np.asarray(g), np.array([5.0, -1.0, -1.0]) / 36.0, atol=0.01)
    gc = funcgrad.grad(lambda df: random.chisquare(_KEY, df, (n,)).mean())(3.0)
    assert abs(float(gc) - 1.0) < 0.05


_JIT_SAMPLERS = {
    "poisson": funcgrad.jit(lambda k: random.poisson(k, 12.0, (5,))),
    "binomial": funcgrad.jit(lambda k: random.binomial(k, 30.0, 0.4, (5,))),
    "t": funcgrad.jit(lambda k: random.t(k, 3.0, (5,))),
}


@pytest.mark.parametrize("name", sorted(_JIT_SAMPLERS))
def test_jit_and_vmap_match_eager(name):
    eager = {
        "poisson": lambda k: random.poisson(k, 12.0, (5,)),
        "binomial": lambda k: random.binomial(k, 30.0, 0.4, (5,)),
        "t": lambda k: random.t(k, 3.0, (5,)),
    }[name]
    keys = random.split(_KEY, 3)
    loop = np.stack([np.asarray(eager(k)) for k in keys])
    np.testing.assert_array_equal(np.asarray(_JIT_SAMPLERS[name](keys[0])), loop[0])
    mapped = np.asarray(funcgrad.vmap(eager)(keys))
    assert mapped.dtype == loop.dtype
    np.testing.assert_array_equal(mapped, loop)
