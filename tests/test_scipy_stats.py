"""funcgrad.scipy.stats against scipy.stats: every function of every distribution on a
grid inside and outside the support, gradients by finite differences, vmap and jit."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as ss
from hypothesis import given
from hypothesis import strategies as st

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
    # truncnorm: bounds on both sides of 0, far in either tail, and empty (a >= b)
    ("truncnorm", "logpdf", (_X, -1.0, 2.0, 0.5, 1.5)), ("truncnorm", "pdf", (_X, _X[::-1] - 3, _X[::-1] + 0.5)),
    ("truncnorm", "logpdf", (_X / 10 + 31, 30.0, 32.0)), ("truncnorm", "logpdf", (-_X / 10 - 31, -32.0, -30.0)),
    ("truncnorm", "cdf", (_X, -1.0, 2.0)), ("truncnorm", "sf", (_X, -0.5, 3.0, 1.0, 2.0)),
    ("truncnorm", "logcdf", (_X / 10 + 31, 30.0, 32.0)), ("truncnorm", "logsf", (_X / 10 - 31, -32.0, -30.0)),
    ("truncnorm", "logcdf", (_X, _X[::-1] - 3, _X[::-1] + 0.5)), ("truncnorm", "logsf", (_X, -1.0, 1.0)),
    ("truncnorm", "ppf", (_U, -1.0, 2.0, 0.5, 1.5)), ("truncnorm", "ppf", (_U, 5.0, 7.0)),
    ("truncnorm", "ppf", (_U, -7.0, -5.0)), ("truncnorm", "logpdf", (_X, 2.0, 1.0)),
    ("vonmises", "logpdf", (_X, _POS * 10, 0.3, 1.0)), ("vonmises", "pdf", (_X, 1.5)),
    ("vonmises", "logpdf", (_X, np.r_[_POS[:62], 0.0, -1.0])),
    ("wrapcauchy", "logpdf", (_X, _U)), ("wrapcauchy", "pdf", (np.abs(_X), 0.3)),
    ("gumbel_r", "logpdf", (_X, 0.5, 2.0)), ("gumbel_r", "cdf", (_X,)), ("gumbel_r", "sf", (_X, 1.0, 2.0)),
    ("gumbel_r", "logcdf", (_X[:-2],)), ("gumbel_r", "logsf", (_X[:-2],)), ("gumbel_r", "ppf", (_U, 1.0, 2.0)),
    ("gumbel_l", "logpdf", (_X, 0.5, 2.0)), ("gumbel_l", "cdf", (_X,)), ("gumbel_l", "sf", (_X, 1.0, 2.0)),
    ("gumbel_l", "logcdf", (_X[:-2],)), ("gumbel_l", "logsf", (_X[:-2],)), ("gumbel_l", "ppf", (_U, 1.0, 2.0)),
    ("betabinom", "logpmf", (_K, 12.0, _POS, _POS[::-1])), ("betabinom", "pmf", (_K, 20.0, 0.7, 2.5)),
    ("betabinom", "logpmf", (_K, 12.0, np.r_[_POS[:62], 0.0, -1.0], 2.0)),
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

    from funcgrad._src.scipy.stats import _Distribution

    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    names = [n for n in stats.__all__ if isinstance(getattr(stats, n), _Distribution)]
    for name in names:
        dist = getattr(stats, name)
        for test in finder.find(dist.__doc__ or "", name=name, globs={}):
            runner.run(test)
    assert runner.failures == 0 and runner.tries >= 2 * len(names)


def test_multinomial_against_scipy():
    p = np.array([0.2, 0.3, 0.5])
    x = np.array(
        [[1.0, 2.0, 3.0], [0.0, 0.0, 6.0], [2.0, 2.0, 1.0], [-1.0, 3.0, 4.0], [1.5, 1.5, 3.0]]
    )
    expected = ss.multinomial.logpmf(x, 6, p)
    actual = np.asarray(stats.multinomial.logpmf(fnp.asarray(x), 6.0, fnp.asarray(p)))
    np.testing.assert_allclose(actual, np.where(np.isnan(expected), -np.inf, expected), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(stats.multinomial.pmf(fnp.asarray(x[:3]), 6.0, fnp.asarray(p))),
                               ss.multinomial.pmf(x[:3], 6, p), rtol=1e-12)  # fmt: skip
    check_grads(lambda q: stats.multinomial.logpmf(fnp.asarray(x[:3]), 6.0, q), (fnp.asarray(p),),
                order=2, rtol=1e-4)  # fmt: skip
    with pytest.raises(ValueError, match=r"multinomial.logpmf: x and p need a category axis"):
        stats.multinomial.logpmf(1.0, 1.0, 0.5)


@pytest.mark.parametrize("dist,fname,args,argnums", [
    ("truncnorm", "logpdf", ([0.3, -0.5, 1.9], [-1.0, -2.0, 1.5], [2.0, 0.5, 4.0], 0.1, 1.5), (0, 1, 2, 3, 4)),
    ("truncnorm", "logpdf", ([30.5, 31.0], 30.0, [32.0, 31.5]), (0, 1, 2)),
    ("truncnorm", "logcdf", ([0.3, -0.5, 1.9], -1.0, [2.0, 0.5, 4.0]), (0, 1, 2)),
    ("truncnorm", "logsf", ([0.3, -0.5, 1.9], -1.0, [2.0, 0.5, 4.0]), (0, 1, 2)),
    ("truncnorm", "cdf", ([0.3, 1.9], [-1.0, 1.5], 2.5), (0, 1, 2)),
    ("truncnorm", "ppf", ([0.3, 0.9], [-1.0, 5.0], [2.0, 6.0]), (0, 1, 2)),
    ("vonmises", "logpdf", ([0.3, -2.0, 3.0], [0.5, 3.0, 40.0], 0.2), (0, 1, 2)),
    ("wrapcauchy", "logpdf", ([0.3, 2.0, 6.0], [0.1, 0.5, 0.9]), (0, 1)),
    ("gumbel_r", "logpdf", ([0.3, -2.0, 5.0], 0.5, 1.5), (0, 1, 2)),
    ("gumbel_r", "logsf", ([0.3, -2.0, 5.0],), (0,)),
    ("gumbel_l", "logcdf", ([0.3, -2.0, 5.0],), (0,)),
    ("gumbel_l", "ppf", ([0.3, 0.9], 1.0, 2.0), (0, 1, 2)),
    ("betabinom", "logpmf", ([2.0, 5.0], 10.0, [0.7, 3.0], [2.0, 0.4]), (2, 3)),
])  # fmt: skip
def test_gradients_of_the_later_distributions(dist, fname, args, argnums):
    fn = getattr(getattr(stats, dist), fname)
    arrays = [fnp.asarray(a, dtype=float) for a in args]

    def f(*diff):
        full = list(arrays)
        for i, v in zip(argnums, diff):
            full[i] = v
        return fn(*full)

    check_grads(f, tuple(arrays[i] for i in argnums), order=1, rtol=1e-4)


def test_truncnorm_far_tail_is_finite_and_jit_vmap_match_eager():
    x = fnp.asarray([[40.1, 40.5], [40.9, 40.2]])
    f = lambda x, a: stats.truncnorm.logpdf(x, a, 41.0) + stats.truncnorm.logcdf(x, a, 41.0)
    eager = f(x, 40.0)
    assert np.all(np.isfinite(np.asarray(eager)))
    np.testing.assert_allclose(np.asarray(stats.truncnorm.logpdf(x, 40.0, 41.0)),
                               ss.truncnorm.logpdf(np.asarray(x), 40.0, 41.0), rtol=1e-10)  # fmt: skip
    np.testing.assert_array_equal(np.asarray(funcgrad.jit(f)(x, 40.0)), np.asarray(eager))
    batched = funcgrad.vmap(f, in_axes=(0, None))(x, 40.0)
    np.testing.assert_allclose(np.asarray(batched), np.asarray(eager), rtol=1e-14)
    assert batched.dtype == eager.dtype and batched.shape == eager.shape


# --- gaussian_kde ----------------------------------------------------------------------------

_KDE_DATA = _RNG.normal(size=(2, 25))
_KDE_WEIGHTS = _RNG.uniform(0.1, 1.0, 25)
_KDE_POINTS = _RNG.normal(size=(2, 6)) * 2


@pytest.mark.parametrize("bw", [None, "scott", "silverman", 0.4, lambda kde: 0.5])
@pytest.mark.parametrize("weighted", [False, True])
def test_gaussian_kde_against_scipy(bw, weighted):
    w = _KDE_WEIGHTS if weighted else None
    ours = stats.gaussian_kde(fnp.asarray(_KDE_DATA), bw, None if w is None else fnp.asarray(w))
    theirs = ss.gaussian_kde(_KDE_DATA, bw, w)
    points = fnp.asarray(_KDE_POINTS)
    np.testing.assert_allclose(np.asarray(ours.evaluate(points)), theirs.evaluate(_KDE_POINTS),
                               rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(np.asarray(ours(points)), theirs(_KDE_POINTS), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(ours.pdf(points)), theirs.pdf(_KDE_POINTS), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(ours.logpdf(points)), theirs.logpdf(_KDE_POINTS),
                               rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(np.asarray(ours.covariance), theirs.covariance, rtol=1e-12)
    np.testing.assert_allclose(float(ours.neff), theirs.neff, rtol=1e-12)
    cov = np.array([[1.0, 0.3], [0.3, 0.5]])
    np.testing.assert_allclose(float(ours.integrate_gaussian(fnp.asarray([0.2, -0.1]), fnp.asarray(cov))),
                               theirs.integrate_gaussian([0.2, -0.1], cov), rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(float(ours.integrate_kde(ours)), theirs.integrate_kde(theirs),
                               rtol=1e-12)  # fmt: skip


def test_gaussian_kde_one_dimensional_box_far_points_and_errors():
    data = _KDE_DATA[0]
    ours, theirs = stats.gaussian_kde(fnp.asarray(data)), ss.gaussian_kde(data)
    for lo, hi in ((-1.0, 0.5), (-np.inf, 0.0), (2.0, 1.0)):
        np.testing.assert_allclose(float(ours.integrate_box_1d(lo, hi)),
                                   theirs.integrate_box_1d(lo, hi), rtol=1e-12, atol=1e-15)  # fmt: skip
    # far from the data the density underflows but its log stays exact: the log of the
    # nearest point's kernel dominates, -(x - x_i)^2 / (2 h^2) - log(sqrt(2 pi) h) + log(1/n)
    far = 60.0
    h = np.sqrt(float(ours.covariance[0, 0]))
    nearest = data.max()
    expected = (
        -0.5 * ((far - nearest) / h) ** 2 - np.log(np.sqrt(2 * np.pi) * h) - np.log(data.size)
    )
    np.testing.assert_allclose(float(ours.logpdf(fnp.asarray([far]))[0]), expected, rtol=1e-6)
    with pytest.raises(ValueError, match=r"integrate_box_1d: needs 1-dimensional"):
        stats.gaussian_kde(fnp.asarray(_KDE_DATA)).integrate_box_1d(0.0, 1.0)
    with pytest.raises(ValueError, match=r"gaussian_kde.evaluate: points must have shape \(2, m\)"):
        stats.gaussian_kde(fnp.asarray(_KDE_DATA)).evaluate(fnp.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"gaussian_kde: weights must have shape \(25,\)"):
        stats.gaussian_kde(fnp.asarray(_KDE_DATA), weights=fnp.ones(3))
    with pytest.raises(ValueError, match=r"bw_method must be 'scott', 'silverman'"):
        stats.gaussian_kde(fnp.asarray(data), bw_method="wide")


def test_gaussian_kde_is_a_pytree_under_jit_vmap_and_grad():
    points = fnp.asarray(_KDE_POINTS)
    kde = stats.gaussian_kde(fnp.asarray(_KDE_DATA))
    eager = kde.logpdf(points)
    np.testing.assert_allclose(np.asarray(funcgrad.jit(lambda k, p: k.logpdf(p))(kde, points)),
                               np.asarray(eager), rtol=1e-14)  # fmt: skip
    batched = funcgrad.vmap(lambda p: kde.logpdf(p[:, None])[0], in_axes=1)(points)
    np.testing.assert_allclose(np.asarray(batched), np.asarray(eager), rtol=1e-14)
    check_grads(lambda data: stats.gaussian_kde(data).logpdf(points), (fnp.asarray(_KDE_DATA),),
                order=1, rtol=1e-4)  # fmt: skip
    check_grads(lambda p: kde.logpdf(p), (points,), order=2, rtol=1e-4)


def test_gaussian_kde_resample_follows_the_estimate():
    data, weights = _KDE_DATA[0], _KDE_WEIGHTS
    kde = stats.gaussian_kde(fnp.asarray(data), weights=fnp.asarray(weights))
    draws = kde.resample(funcgrad.random.key(3), (4000,))
    assert draws.shape == (1, 4000)
    theirs = ss.gaussian_kde(data, weights=weights)
    cdf = np.vectorize(lambda v: theirs.integrate_box_1d(-np.inf, v))
    assert ss.kstest(np.asarray(draws)[0], cdf).pvalue > 1e-3
    two_d = stats.gaussian_kde(fnp.asarray(_KDE_DATA)).resample(funcgrad.random.key(0), (3, 5))
    assert two_d.shape == (2, 3, 5)


# --- summary statistics --------------------------------------------------------------------

_TIES = _RNG.integers(0, 4, (3, 5, 4)).astype(float)
_WITH_NAN = _TIES.copy()
_WITH_NAN[0, 1, 2] = np.nan


@pytest.mark.parametrize("method", ["average", "min", "max", "dense", "ordinal"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_rankdata_against_scipy(method, axis):
    for a in (_TIES, _WITH_NAN, _TIES.astype(np.int64)):
        expected = ss.rankdata(a, method, axis=axis)
        actual = stats.rankdata(fnp.asarray(a), method, axis=axis)
        np.testing.assert_array_equal(np.asarray(actual), expected)
        # floating inputs: float64 ranks for every method (NaN rows need a float)
        assert actual.dtype == (np.float64 if method == "average" or a.dtype.kind == "f"
                                else np.int64)  # fmt: skip
    jitted = funcgrad.jit(lambda x: stats.rankdata(x, method, axis=axis))(fnp.asarray(_TIES))
    np.testing.assert_array_equal(np.asarray(jitted), ss.rankdata(_TIES, method, axis=axis))


@given(st.lists(st.integers(-3, 3), min_size=1, max_size=12))
def test_rankdata_and_mode_properties(values):
    a = np.array(values, dtype=float)
    np.testing.assert_array_equal(np.asarray(stats.rankdata(fnp.asarray(a))), ss.rankdata(a))
    m = stats.mode(fnp.asarray(a))
    expected = ss.mode(a)
    assert (float(m.mode), int(m.count)) == (expected.mode, expected.count)


@pytest.mark.parametrize("axis", [None, 0, 1, 2])
@pytest.mark.parametrize("keepdims", [False, True])
def test_mode_against_scipy(axis, keepdims):
    for a in (_TIES, _WITH_NAN):
        expected = ss.mode(a, axis, keepdims=keepdims)
        actual = stats.mode(fnp.asarray(a), axis, keepdims=keepdims)
        np.testing.assert_array_equal(np.asarray(actual.mode), expected.mode)
        np.testing.assert_array_equal(np.asarray(actual.count), expected.count)
    batched = funcgrad.vmap(lambda r: stats.mode(r, axis=None).mode)(fnp.asarray(_TIES))
    np.testing.assert_array_equal(np.asarray(batched),
                                  [ss.mode(r, None).mode for r in _TIES])  # fmt: skip
    with pytest.raises(ValueError, match=r"mode: nan_policy must be one of"):
        stats.mode(fnp.asarray(_TIES), nan_policy="omit")


@pytest.mark.parametrize("axis", [None, 0, -1])
def test_sem_against_scipy(axis):
    for ddof in (0, 1):
        np.testing.assert_allclose(np.asarray(stats.sem(fnp.asarray(_TIES), axis, ddof)),
                                   ss.sem(_TIES, axis, ddof), rtol=1e-13)  # fmt: skip
    np.testing.assert_array_equal(np.isnan(np.asarray(stats.sem(fnp.asarray(_WITH_NAN), axis))),
                                  np.isnan(ss.sem(_WITH_NAN, axis)))  # fmt: skip
    np.testing.assert_allclose(
        np.asarray(stats.sem(fnp.asarray(_WITH_NAN), axis, nan_policy="omit")),
        np.asarray(ss.sem(_WITH_NAN, axis, nan_policy="omit")),
        rtol=1e-13,
    )
    np.testing.assert_allclose(np.asarray(stats.sem(fnp.asarray(_TIES), axis, keepdims=True)),
                               ss.sem(_TIES, axis, keepdims=True), rtol=1e-13)  # fmt: skip
    check_grads(lambda x: stats.sem(x, axis), (fnp.asarray(_RNG.normal(size=(2, 3, 4))),), order=2)


def test_pareto_gennorm_distribution_functions_against_scipy():
    x = np.r_[np.linspace(0.5, 30, 60), 1.0, 1.09, 1e6]
    for fname in ("cdf", "logcdf", "sf", "logsf"):
        actual = np.asarray(getattr(stats.pareto, fname)(x, 2.5, 0.1, 0.9))
        with np.errstate(all="ignore"):
            expected = getattr(ss.pareto, fname)(x, 2.5, 0.1, 0.9)
        np.testing.assert_array_equal(np.isinf(actual), np.isinf(expected))
        finite = np.isfinite(expected)
        np.testing.assert_allclose(actual[finite], expected[finite], rtol=1e-13, err_msg=fname)
    # just above the support's edge SciPy's 1 - z^-b cancels; ours is -expm1(-b log z)
    assert float(stats.pareto.cdf(1 + 1e-12, 2.0)) == pytest.approx(2e-12, rel=1e-10)
    q = np.r_[_U, -0.1, 1.1]
    with np.errstate(all="ignore"):
        expected = ss.pareto.ppf(q, _POS[: q.size - 2].mean(), 0.5, 2.0)
    actual = np.asarray(stats.pareto.ppf(q, _POS[: q.size - 2].mean(), 0.5, 2.0))
    np.testing.assert_allclose(actual, expected, rtol=1e-13)
    xg = np.r_[_X, -30.0, 30.0]
    for beta in (0.7, 1.7, 2.0, 5.0):
        np.testing.assert_allclose(np.asarray(stats.gennorm.cdf(xg, beta, 0.3, 2.0)),
                                   ss.gennorm.cdf(xg, beta, 0.3, 2.0), rtol=1e-13, atol=1e-300)  # fmt: skip
    check_grads(lambda v, b: stats.gennorm.cdf(v, b), (fnp.asarray([-1.0, 0.4, 2.0]), fnp.asarray([1.5, 2.0, 3.0])),
                order=1, rtol=1e-4)  # fmt: skip
    check_grads(
        lambda v: stats.pareto.logcdf(v, 3.0), (fnp.asarray([1.5, 4.0]),), order=2, rtol=1e-4
    )


def test_poisson_entropy_against_scipy():
    mu = np.r_[0.0, 1e-3, 0.5, 3.0, 17.5, 50.0, 299.0, 301.0, 2000.0]
    np.testing.assert_allclose(np.asarray(stats.poisson.entropy(mu)), ss.poisson.entropy(mu),
                               rtol=1e-11, atol=1e-16)  # fmt: skip
    assert np.isnan(float(stats.poisson.entropy(-1.0)))
    # d H / d mu by finite differences, on both sides of the series split
    check_grads(stats.poisson.entropy, (fnp.asarray([0.7, 5.0, 320.0]),), order=1, rtol=1e-4)
    jitted = funcgrad.jit(stats.poisson.entropy)
    np.testing.assert_allclose(
        np.asarray(jitted(mu)), np.asarray(stats.poisson.entropy(mu)), rtol=1e-15
    )
