"""funcgrad.scipy.stats against scipy.stats: every function of every distribution on a
grid inside and outside the support, gradients by finite differences, vmap and jit."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as ss

import funcgrad
import funcgrad.numpy as fnp
from funcgrad.scipy import stats
from funcgrad.test_util import check_grads

_RNG = np.random.default_rng(2)
_X = np.concatenate([_RNG.uniform(-6, 6, 60), [0.0, 1.0, -1e3, 1e3]])
_POS = _RNG.uniform(0.05, 8, 64)
_U = np.concatenate([_RNG.uniform(0.001, 0.999, 62), [0.0, 1.0]])
_K = np.concatenate([_RNG.integers(0, 12, 60).astype(float), [-1.0, 2.5, 0.0, 30.0]])

# (distribution name, function, arguments as a tuple of arrays, rtol)
CASES = [
    ("norm", "logpdf", (_X, 0.5, 2.0)), ("norm", "pdf", (_X, -1.0, 0.7)),
    ("norm", "cdf", (_X, 0.0, 1.0)), ("norm", "logcdf", (_X * 6, 0.0, 1.0)),
    ("norm", "sf", (_X, 1.0, 2.0)), ("norm", "logsf", (_X * 6, 0.0, 1.0)),
    ("norm", "ppf", (_U, 1.0, 3.0)), ("norm", "isf", (_U, 0.0, 1.0)),
    ("t", "logpdf", (_X, _POS, 0.3, 1.5)), ("t", "pdf", (_X, 3.0)),
    ("gamma", "logpdf", (_X, _POS)), ("gamma", "pdf", (_X, 2.5, 0.5, 2.0)),
    ("gamma", "cdf", (_X, _POS)), ("gamma", "sf", (_X, _POS, 0.0, 3.0)),
    ("gamma", "logcdf", (np.abs(_X), _POS)), ("gamma", "logsf", (np.abs(_X), _POS)),
    ("chi2", "logpdf", (_X, _POS)), ("chi2", "cdf", (np.abs(_X), _POS)),
    ("chi2", "sf", (np.abs(_X), _POS)),
    ("expon", "logpdf", (_X, 0.5, 2.0)), ("expon", "cdf", (_X,)), ("expon", "sf", (_X, 0.0, 2.0)),
    ("expon", "logcdf", (_X,)), ("expon", "logsf", (_X,)), ("expon", "ppf", (_U, 1.0, 2.0)),
    ("beta", "logpdf", (_U, _POS, _POS[::-1])), ("beta", "pdf", (_X / 5, 2.0, 3.0)),
    ("beta", "cdf", (_U, _POS, _POS[::-1])), ("beta", "sf", (_U, _POS, _POS[::-1])),
    ("laplace", "logpdf", (_X, 0.5, 2.0)), ("laplace", "cdf", (_X, 0.0, 1.5)),
    ("logistic", "logpdf", (_X, 0.5, 2.0)), ("logistic", "cdf", (_X,)), ("logistic", "sf", (_X,)),
    ("logistic", "ppf", (_U[:-2],)), ("logistic", "isf", (_U[:-2], 1.0, 2.0)),
    ("cauchy", "logpdf", (_X, 0.5, 2.0)), ("cauchy", "cdf", (_X,)), ("cauchy", "sf", (_X,)),
    ("cauchy", "logcdf", (_X,)), ("cauchy", "logsf", (_X,)), ("cauchy", "ppf", (_U[:-2],)),
    ("cauchy", "isf", (_U[:-2],)),
    ("uniform", "logpdf", (_X, -1.0, 3.0)), ("uniform", "cdf", (_X, -1.0, 3.0)),
    ("uniform", "ppf", (_U, -1.0, 3.0)),
    ("pareto", "logpdf", (np.abs(_X) + 0.5, _POS)),
    ("gennorm", "logpdf", (_X, _POS)),
    ("poisson", "logpmf", (_K, _POS)), ("poisson", "pmf", (_K, 3.0)), ("poisson", "cdf", (_K, _POS)),
    ("binom", "logpmf", (_K, 12.0, _U)), ("binom", "pmf", (_K, 20.0, 0.3)),
    ("bernoulli", "logpmf", (np.r_[_K[:4], 0.0, 1.0], 0.3)), ("bernoulli", "cdf", (_X, 0.3)),
    ("bernoulli", "ppf", (_U, 0.3)),
    ("geom", "logpmf", (_K, _U)), ("nbinom", "logpmf", (_K, _POS, _U)),
]  # fmt: skip


@pytest.mark.parametrize("dist,fname,args", CASES, ids=[f"{d}.{f}" for d, f, _ in CASES])
def test_against_scipy(dist, fname, args):
    ours = getattr(getattr(stats, dist), fname)
    theirs = getattr(getattr(ss, dist), fname)
    with np.errstate(all="ignore"):
        expected = theirs(*args)
    actual = np.asarray(ours(*[fnp.asarray(a) for a in args]))
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_allclose(actual, expected, rtol=1e-11, atol=1e-14)


def test_multivariate_normal_against_scipy():
    d = 3
    a = _RNG.normal(size=(d, d))
    cov = a @ a.T + d * np.eye(d)
    mean = _RNG.normal(size=d)
    x = _RNG.normal(size=(5, d))
    for c in (cov, np.diag(cov), 2.0):
        np.testing.assert_allclose(
            np.asarray(
                stats.multivariate_normal.logpdf(fnp.asarray(x), fnp.asarray(mean), fnp.asarray(c))
            ),
            ss.multivariate_normal.logpdf(x, mean, np.diag(c) if np.ndim(c) == 1 else c),
            rtol=1e-12,
        )
    check_grads(lambda m, c: stats.multivariate_normal.logpdf(fnp.asarray(x), m, c),
                (fnp.asarray(mean), fnp.asarray(cov)), order=1, rtol=1e-4)  # fmt: skip
    with pytest.raises(ValueError, match=r"multivariate_normal.logpdf: cov must be \(3, 3\)"):
        stats.multivariate_normal.logpdf(fnp.asarray(x), fnp.asarray(mean), fnp.eye(2))


def test_dirichlet_against_scipy():
    alpha = np.array([0.5, 2.0, 3.5])
    x = _RNG.dirichlet(alpha, size=4).T  # SciPy's layout: (K, N)
    np.testing.assert_allclose(np.asarray(stats.dirichlet.logpdf(fnp.asarray(x), fnp.asarray(alpha))),
                               ss.dirichlet.logpdf(x, alpha), rtol=1e-12)  # fmt: skip
    assert (
        float(stats.dirichlet.logpdf(fnp.asarray([0.5, 0.6, 0.1]), fnp.asarray(alpha))) == -np.inf
    )
    check_grads(lambda a: stats.dirichlet.logpdf(fnp.asarray(x), a), (fnp.asarray(alpha),), order=1)


@pytest.mark.parametrize("dist,fname,args", [
    ("norm", "logpdf", ([0.3, -2.0], 0.5, 1.5)), ("norm", "logcdf", ([-30.0, 0.5, 4.0],)),
    ("t", "logpdf", ([0.3, -2.0], [3.0, 0.5], 0.1, 2.0)), ("gamma", "logpdf", ([0.3, 2.0], [0.7, 3.0])),
    ("gamma", "cdf", ([0.3, 2.0], [0.7, 3.0])), ("beta", "logpdf", ([0.3, 0.8], [0.7, 3.0], [2.0, 0.5])),
    ("logistic", "logpdf", ([30.0, -1.0],)),
    ("cauchy", "logpdf", ([0.3, 8.0], 1.0, 2.0)), ("laplace", "logpdf", ([0.3, -8.0], 1.0, 2.0)),
])  # fmt: skip
def test_gradients(dist, fname, args):
    fn = getattr(getattr(stats, dist), fname)
    arrays = tuple(fnp.asarray(a) for a in args)
    check_grads(fn, arrays, order=1, rtol=1e-4)


def test_gradients_in_the_continuous_parameters_only():
    """Mass functions in their rate/probability (k is integer-valued), beta.cdf in x (as
    JAX: betainc has no derivative in a and b)."""
    k = fnp.asarray([2.0, 5.0])
    check_grads(
        lambda mu: stats.poisson.logpmf(k, mu), (fnp.asarray([0.7, 3.0]),), order=2, rtol=1e-4
    )
    check_grads(
        lambda p: stats.binom.logpmf(k, 10.0, p), (fnp.asarray([0.2, 0.6]),), order=2, rtol=1e-4
    )
    check_grads(
        lambda p: stats.nbinom.logpmf(k, 3.0, p), (fnp.asarray([0.2, 0.6]),), order=1, rtol=1e-4
    )
    check_grads(
        lambda x: stats.beta.cdf(x, 2.0, 3.0), (fnp.asarray([0.3, 0.8]),), order=2, rtol=1e-4
    )


def test_jit_and_vmap():
    x = fnp.asarray(_RNG.normal(size=(4, 3)))
    loc = fnp.asarray([0.0, 1.0, -1.0])
    f = lambda x, loc: stats.norm.logcdf(x, loc, 2.0) + stats.gamma.logpdf(fnp.abs(x), 2.0)
    eager = f(x, loc)
    np.testing.assert_array_equal(np.asarray(funcgrad.jit(f)(x, loc)), np.asarray(eager))
    np.testing.assert_allclose(np.asarray(funcgrad.vmap(f, in_axes=(0, None))(x, loc)),
                               np.asarray(eager), rtol=1e-15)  # fmt: skip
    assert "norm" in repr(stats.norm) and "logpdf" in stats.norm.__all__


def test_distribution_docstring_examples_run():
    """The distributions are namespaces (instances), which pytest's doctest collection
    skips: run their Examples here."""
    import doctest

    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for name in stats.__all__:
        dist = getattr(stats, name)
        for test in finder.find(dist.__doc__ or "", name=name, globs={}):
            runner.run(test)
    assert runner.failures == 0 and runner.tries >= 2 * len(stats.__all__)
