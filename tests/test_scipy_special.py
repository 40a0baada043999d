"""funcgrad.scipy.special against SciPy: values (including the tails), gradients by finite
differences at many points (log_ndtr at -40, gammaln near 0), vmap and jit."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special as sp

import funcgrad
import funcgrad.numpy as fnp
from funcgrad.scipy import special
from funcgrad.test_util import check_grads

_RNG = np.random.default_rng(1)
_X = np.concatenate([_RNG.uniform(-8, 8, 200), [0.0, 1e-300, 1e-8, 0.5, 3.0, 30.0]])
_POS = np.concatenate([_RNG.uniform(0.01, 30, 200), [1e-300, 1e-8, 1.0, 2.0, 170.0]])
_P = np.concatenate([_RNG.uniform(0, 1, 200), [1e-300, 1e-20, 0.5, 1 - 1e-12, 0.0, 1.0]])

# name -> (function, SciPy oracle, arguments, rtol)
CASES = {
    "gammaln": (special.gammaln, sp.gammaln, (_X,), 1e-13),
    "digamma": (special.digamma, sp.digamma, (_POS,), 1e-13),
    "gamma": (special.gamma, sp.gamma, (np.clip(_X, -8, 8),), 1e-12),
    "gammasgn": (special.gammasgn, sp.gammasgn, (_X[_X != 0],), 0),
    "beta": (special.beta, sp.beta, (_POS[:50] / 3, _POS[50:100] / 3), 1e-12),
    "betaln": (special.betaln, sp.betaln, (_POS[:50], _POS[50:100]), 1e-12),
    "betainc": (special.betainc, sp.betainc, (_POS[:50] / 3, _POS[50:100] / 3, _P[:50]), 1e-11),
    "gammainc": (special.gammainc, sp.gammainc, (_POS[:100], _POS[100:200]), 1e-12),
    "gammaincc": (special.gammaincc, sp.gammaincc, (_POS[:100], _POS[100:200]), 1e-12),
    "erf": (special.erf, sp.erf, (_X,), 1e-15),
    "erfc": (special.erfc, sp.erfc, (_X,), 1e-14),
    "erfinv": (special.erfinv, sp.erfinv, (2 * _P - 1,), 1e-13),
    "ndtr": (special.ndtr, sp.ndtr, (np.concatenate([_X * 4, [-37.0, -20.0]]),), 1e-13),
    "ndtri": (special.ndtri, sp.ndtri, (_P,), 1e-14),
    "log_ndtr": (special.log_ndtr, sp.log_ndtr,
                 (np.concatenate([_X * 5, [-40.0, -20.0, -19.9, -1e3, 10.0, 40.0]]),), 1e-13),
    "logit": (special.logit, sp.logit, (_P[1:200],), 1e-13),
    "expit": (special.expit, sp.expit, (_X * 10,), 1e-14),
    "xlogy": (special.xlogy, sp.xlogy, (np.where(_P > 0.8, 0.0, _X[:206]), np.abs(_X[:206])), 1e-14),
    "xlog1py": (special.xlog1py, sp.xlog1py, (np.where(_P > 0.8, 0.0, _X[:206]), _P), 1e-14),
    "entr": (special.entr, sp.entr, (np.concatenate([_POS, [0.0, -1.0]]),), 1e-14),
    "rel_entr": (special.rel_entr, sp.rel_entr, (np.r_[_P[:100], 0.0, 0.0, 1.0, -1.0],
                                                 np.r_[_P[100:200], 0.5, 0.0, 0.0, 1.0]), 1e-13),
    "kl_div": (special.kl_div, sp.kl_div, (np.r_[_P[:100], 0.0, -1.0], np.r_[_P[100:200], 2.0, 1.0]), 1e-13),
    "i0e": (special.i0e, sp.i0e, (_X * 5,), 1e-14),
    "i1e": (special.i1e, sp.i1e, (_X * 5,), 1e-14),
    "i0": (special.i0, sp.i0, (_X * 5,), 1e-13),
    "i1": (special.i1, sp.i1, (_X * 5,), 1e-13),
    "zeta": (special.zeta, sp.zeta, (_POS[:100] + 1.01, _POS[100:200]), 1e-13),
    "polygamma": (special.polygamma, sp.polygamma, (_RNG.integers(0, 5, 100), _POS[:100]), 1e-13),
    "factorial": (special.factorial, sp.factorial, (np.array([-2.0, 0, 1, 5, 10, 20, 3.5]),), 1e-13),
    "poch": (special.poch, sp.poch, (_POS[:50], _RNG.uniform(-2, 5, 50)), 1e-11),
    # the exponential integrals and the dilogarithm: both sides of the series/fraction
    # splits (x = 1, 40), the tails and the special points 0 and inf
    "exp1": (special.exp1, sp.exp1, (np.r_[_POS, 1e-12, 1.0, 1 + 1e-9, 600.0, 0.0, np.inf, -1.0],),
             1e-13),
    "expi": (special.expi, sp.expi, (np.r_[_X * 8, 40.0, 40.5, 700.0, -700.0, 0.0, np.inf],),
             1e-13),
    "expn": (special.expn, sp.expn, (_RNG.integers(0, 40, 205), np.r_[_POS[:200], 0, 0, 1, 1, 0]),
             1e-13),
    "spence": (special.spence, sp.spence, (np.r_[_POS, np.geomspace(1e-12, 1e12, 50), 0.5,
                                                 1.5, 2.0, 0.0, -1.0],), 1e-13),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_against_scipy(name):
    fn, oracle, args, rtol = CASES[name]
    with np.errstate(all="ignore"):
        expected = oracle(*args)
    actual = np.asarray(fn(*[fnp.asarray(a) for a in args]))
    assert actual.shape == np.shape(expected)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    # lgamma's negative zeros, kl_div's p log(p/q) - p + q: cancellation limits the
    # relative accuracy near zero, in SciPy as here
    atol = 1e-15 if name in ("gammaln", "kl_div") else 1e-300
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def test_multigammaln_and_riemann_zeta():
    a = np.array([2.5, 3.0, 10.0])
    for d in (1, 2, 4):
        np.testing.assert_allclose(np.asarray(special.multigammaln(fnp.asarray(a), d)),
                                   [sp.multigammaln(v, d) for v in a], rtol=1e-13)  # fmt: skip
    np.testing.assert_allclose(float(special.zeta(4.0)), np.pi**4 / 90, rtol=1e-15)
    with pytest.raises(ValueError, match=r"multigammaln: d must be a positive int"):
        special.multigammaln(2.0, 0)


def test_softmax_family_matches_scipy():
    x = _RNG.normal(size=(3, 4)) * 30
    np.testing.assert_allclose(np.asarray(special.logsumexp(fnp.asarray(x), axis=1)),
                               sp.logsumexp(x, axis=1), rtol=1e-14)  # fmt: skip
    b = _RNG.uniform(0.1, 2, (3, 4))
    np.testing.assert_allclose(np.asarray(special.logsumexp(fnp.asarray(x), b=fnp.asarray(b))),
                               sp.logsumexp(x, b=b), rtol=1e-14)  # fmt: skip
    np.testing.assert_allclose(
        np.asarray(special.softmax(fnp.asarray(x))), sp.softmax(x), rtol=1e-12
    )
    np.testing.assert_allclose(np.asarray(special.log_softmax(fnp.asarray(x), axis=0)),
                               sp.log_softmax(x, axis=0), rtol=1e-13)  # fmt: skip


# points where derivatives are checked: tails, near poles, near zeros of the function
GRAD_POINTS = {
    "gammaln": ([1e-3, 0.01, 0.5, 1.0, 2.0, 7.5, 50.0, -0.5, -3.3],),
    "digamma": ([1e-2, 0.7, 1.46, 5.0, -1.5],),
    "log_ndtr": ([-40.0, -25.0, -20.5, -19.5, -5.0, 0.0, 3.0, 9.0],),
    "ndtr": ([-30.0, -3.0, 0.0, 2.0],),
    "ndtri": ([1e-3, 0.02, 0.3, 0.5, 0.9, 0.999],),
    "erfinv": ([-0.999, -0.5, 0.0, 0.3, 0.99],),
    "logit": ([1e-3, 0.2, 0.5, 0.99],),
    "i0": ([-3.0, 0.5, 2.0],),
    "i1": ([-3.0, 0.1, 2.0],),
    "entr": ([0.01, 0.5, 3.0],),
    "gamma": ([0.3, 2.5, -0.5, 5.0],),
    "betaln": ([0.2, 1.0, 5.0], [0.7, 3.0, 0.1]),
    "gammainc": ([0.5, 2.0, 9.0], [0.3, 2.5, 7.0]),
    "gammaincc": ([0.5, 2.0, 9.0], [0.3, 2.5, 7.0]),
    "xlogy": ([0.5, 2.0, -1.0], [0.3, 2.5, 7.0]),
    "xlog1py": ([0.5, 2.0, -1.0], [0.3, 2.5, -0.5]),
    "rel_entr": ([0.5, 2.0, 1.0], [0.3, 2.5, 1.0]),
    "kl_div": ([0.5, 2.0, 1.0], [0.3, 2.5, 1.0]),
    "exp1": ([1e-3, 0.5, 1.0, 1.01, 7.0, 60.0],),
    "expi": ([-50.0, -1.0, -1e-3, 1e-3, 0.9, 39.0, 41.0, 80.0],),
    "spence": ([1e-4, 0.3, 0.9995, 1.0, 1.0004, 2.1, 40.0],),
}


@pytest.mark.parametrize("name", sorted(GRAD_POINTS))
def test_gradients_against_finite_differences(name):
    fn = CASES[name][0]
    args = tuple(fnp.asarray(a) for a in GRAD_POINTS[name])
    check_grads(fn, args, order=2 if len(args) == 1 else 1, rtol=2e-4, atol=1e-7)


def test_expn_gradient_in_x_and_not_in_n():
    n = fnp.asarray([0.0, 1.0, 2.0, 5.0, 12.0])
    x = fnp.asarray([0.2, 1.0, 1.5, 3.0, 20.0])
    check_grads(lambda v: special.expn(n, v), (x,), order=2, rtol=2e-4, atol=1e-7)
    with pytest.raises(NotImplementedError, match=r"expn: the derivative with respect to n"):
        funcgrad.grad(lambda m: special.expn(m, 1.0))(2.0)


def test_log_ndtr_gradient_in_the_far_tail_is_the_mills_ratio():
    x = np.array([-40.0, -100.0, -20.0, -19.0])
    grad = funcgrad.vmap(funcgrad.grad(special.log_ndtr))(fnp.asarray(x))
    # d/dx log ndtr(x) = pdf(x) / ndtr(x), from SciPy's log_ndtr
    mills = np.exp(-0.5 * x * x - sp.log_ndtr(x)) / np.sqrt(2 * np.pi)
    np.testing.assert_allclose(np.asarray(grad), mills, rtol=1e-12)
    # where SciPy's exp(-x^2/2 - log_ndtr(x)) cancels: the asymptotic -x - 1/x + 2/x^3
    far = float(funcgrad.grad(special.log_ndtr)(-1e4))
    np.testing.assert_allclose(far, 1e4 + 1e-4 - 2e-12, rtol=1e-15)


def test_ndtri_gradient_for_tiny_p():
    p = np.array([1e-300, 1e-30, 1e-10])
    grad = funcgrad.vmap(funcgrad.grad(special.ndtri))(fnp.asarray(p))
    x = sp.ndtri(p)  # d ndtri / dp = 1 / pdf(ndtri(p))
    np.testing.assert_allclose(
        np.asarray(grad), np.sqrt(2 * np.pi) * np.exp(0.5 * x * x), rtol=1e-12
    )


def test_xlogy_at_zero_is_zero_with_finite_gradients():
    gx, gy = funcgrad.grad(lambda x, y: special.xlogy(x, y), argnums=(0, 1))(0.0, 0.5)
    assert (float(gx), float(gy)) == (float(np.log(0.5)), 0.0)
    assert float(special.xlogy(0.0, 0.0)) == 0.0


def test_integers_promote_to_float64():
    out = special.gammaln(fnp.asarray([1, 2, 3]))
    assert out.dtype == np.float64
    out32 = special.gammaln(fnp.asarray([1.0, 2.0], dtype=np.float32))
    assert out32.dtype == np.float32
    with pytest.raises(TypeError, match=r"funcgrad.scipy.special.erf: arguments must be real"):
        special.erf(fnp.asarray([1j]))


_JIT_LOG_NDTR = funcgrad.jit(special.log_ndtr)


def test_jit_and_vmap_match_eager():
    x = fnp.asarray(_X.reshape(2, -1)[:, :10] * 6)
    for fn, jitted in (
        (special.log_ndtr, _JIT_LOG_NDTR),
        (special.gammaln, funcgrad.jit(special.gammaln)),
        (special.expi, funcgrad.jit(special.expi)),
        (lambda v: special.spence(v * v), funcgrad.jit(lambda v: special.spence(v * v))),
    ):
        eager = fn(x)
        np.testing.assert_array_equal(np.asarray(jitted(x)), np.asarray(eager))
        np.testing.assert_array_equal(np.asarray(funcgrad.vmap(fn)(x)), np.asarray(eager))
    g = funcgrad.jit(funcgrad.grad(lambda a: special.gammainc(a, 2.0).sum()))(
        fnp.asarray([0.5, 3.0])
    )
    eps = 1e-6
    fd = (
        sp.gammainc(np.array([0.5, 3.0]) + eps, 2.0) - sp.gammainc(np.array([0.5, 3.0]) - eps, 2.0)
    ) / (2 * eps)
    np.testing.assert_allclose(np.asarray(g), fd, rtol=1e-6)


# --- the long tail: hyp1f1, bessel_jn, bernoulli, loggamma ---------------------------------


def test_hyp1f1_against_mpmath():
    import mpmath

    rng = np.random.default_rng(5)
    n = 150
    a, b, x = rng.uniform(-5, 5, n), rng.uniform(0.1, 10, n), rng.uniform(-30, 30, n)
    a[:20] = np.round(a[:20])  # terminating series
    x[20:25] = 0.0
    expected = np.array([float(mpmath.hyp1f1(*map(mpmath.mpf, t))) for t in zip(a, b, x)])
    actual = np.asarray(special.hyp1f1(fnp.asarray(a), fnp.asarray(b), fnp.asarray(x)))
    np.testing.assert_allclose(actual, expected, rtol=3e-13)
    # against SciPy on its reliable region, and the poles
    np.testing.assert_allclose(np.asarray(special.hyp1f1(0.5, 1.5, fnp.asarray([-100.0, 200.0]))),
                               sp.hyp1f1(0.5, 1.5, [-100.0, 200.0]), rtol=1e-12)  # fmt: skip
    assert np.isnan(float(special.hyp1f1(1.0, -2.0, 0.5)))


def test_hyp1f1_gradient_in_x_and_not_in_a_or_b():
    a, b = fnp.asarray([0.5, 2.0, -1.5]), fnp.asarray([1.5, 0.7, 3.0])
    check_grads(lambda x: special.hyp1f1(a, b, x), (fnp.asarray([-3.0, 0.5, 4.0]),), order=2,
                rtol=2e-4)  # fmt: skip
    with pytest.raises(NotImplementedError, match=r"hyp1f1: the derivative with respect to a"):
        funcgrad.grad(lambda v: special.hyp1f1(v, 1.0, 1.0))(2.0)


def test_bessel_jn_against_scipy():
    z = np.r_[np.linspace(-30, 30, 121), 1e-8, 0.0]
    actual = special.bessel_jn(fnp.asarray(z), v=8)
    assert actual.shape == (9, z.size)
    expected = np.stack([sp.jv(n, z) for n in range(9)])
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=1e-12, atol=1e-13)
    two_d = special.bessel_jn(fnp.asarray(z[:6].reshape(2, 3)), v=0)
    assert two_d.shape == (1, 2, 3)
    # d J_0 / dz = -J_1, d J_n / dz = (J_(n-1) - J_(n+1)) / 2
    points = np.array([-7.0, 0.0, 0.5, 3.0, 12.0])
    grads = funcgrad.vmap(funcgrad.jacfwd(lambda v: special.bessel_jn(v, v=3)))(fnp.asarray(points))
    np.testing.assert_allclose(np.asarray(grads)[:, 0], -sp.jv(1, points), atol=1e-13)
    np.testing.assert_allclose(np.asarray(grads)[:, 2], (sp.jv(1, points) - sp.jv(3, points)) / 2,
                               atol=1e-13)  # fmt: skip
    check_grads(lambda v: special.bessel_jn(v, v=2), (fnp.asarray(points),), order=2, rtol=2e-4)
    with pytest.raises(ValueError, match=r"bessel_jn: v must be a non-negative int"):
        special.bessel_jn(1.0, v=-1)


def test_bernoulli_against_mpmath_and_scipy():
    import mpmath

    # exact (mpmath's B_1 is -1/2 as SciPy's); SciPy's own float recurrence drifts by 1e-12
    exact = [float(mpmath.bernoulli(k)) for k in range(31)]
    np.testing.assert_array_equal(np.asarray(special.bernoulli(30)), exact)
    np.testing.assert_allclose(np.asarray(special.bernoulli(30)), sp.bernoulli(30), rtol=1e-11)
    assert special.bernoulli(0).tolist() == [1.0]
    with pytest.raises(ValueError, match=r"bernoulli: n must be a non-negative int"):
        special.bernoulli(-1)


def test_loggamma_against_scipy():
    x = np.r_[_POS, 0.0, -0.5, -3.0, np.inf]
    with np.errstate(all="ignore"):
        expected = sp.loggamma(x)
    actual = np.asarray(special.loggamma(fnp.asarray(x)))
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_allclose(actual, expected, rtol=1e-13)
    check_grads(special.loggamma, (fnp.asarray([0.3, 2.0, 9.0]),), order=2, rtol=2e-4)


def test_long_tail_jit_and_vmap_match_eager():
    x = fnp.asarray(_X[:12].reshape(3, 4))
    fns = (lambda v: special.hyp1f1(0.5, 2.5, v), lambda v: special.bessel_jn(v, v=2),
           lambda v: special.loggamma(fnp.abs(v)))  # fmt: skip
    for fn in fns:
        eager = fn(x)
        jitted = funcgrad.jit(fn)(x)
        np.testing.assert_allclose(np.asarray(jitted), np.asarray(eager), rtol=1e-14)
        assert jitted.dtype == eager.dtype and jitted.shape == eager.shape
        batched = funcgrad.vmap(fn, out_axes=-2 if fn is fns[1] else 0)(x)
        np.testing.assert_allclose(np.asarray(batched), np.asarray(eager), rtol=1e-14)


# --- erfcx, fresnel, sici, owens_t, comb, hyp2f1, lpmn, sph_harm ------------------------------

_WIDE = np.r_[_RNG.uniform(-40, 40, 300), _RNG.uniform(-3, 3, 200), 1e-8, -1e-8, 1.5, 4.0, 4.5,
              1e3, 1234.5, 1e5, 0.0, np.inf, -np.inf]  # fmt: skip


def _assert_matches(actual, expected, rtol, atol=0.0):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_array_equal(np.isinf(actual), np.isinf(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(actual[finite], expected[finite], rtol=rtol, atol=atol)


def test_erfcx_fresnel_sici_against_scipy():
    with np.errstate(all="ignore"):
        _assert_matches(special.erfcx(_WIDE), sp.erfcx(_WIDE), 1e-13)
        s, c = special.fresnel(fnp.asarray(_WIDE))
        s_ref, c_ref = sp.fresnel(_WIDE)
        si, ci = special.sici(fnp.asarray(_WIDE))
        si_ref, ci_ref = sp.sici(_WIDE)
    _assert_matches(s, s_ref, 1e-14, atol=1e-300)
    _assert_matches(c, c_ref, 1e-14, atol=1e-300)
    _assert_matches(si, si_ref, 1e-14)
    # Ci has zeros (0.6165, 3.384, ...): absolute error there, relative elsewhere
    _assert_matches(ci, ci_ref, 1e-13, atol=1e-15)
    # the far tails: erfcx(x) ~ 1 / (x sqrt(pi)), S, C -> 1/2, Si -> pi/2, Ci -> 0
    assert float(special.erfcx(1e10)) == pytest.approx(1 / (1e10 * np.sqrt(np.pi)), rel=1e-14)
    assert float(special.erfcx(-30.0)) == np.inf


def test_owens_t_against_scipy():
    h = np.r_[_RNG.uniform(-30, 30, 200), _RNG.uniform(-3, 3, 200), 0.0, 5.0, 0.5, 8.0]
    a = np.r_[_RNG.uniform(-100, 100, 200), _RNG.uniform(-1.5, 1.5, 200), 1.0, 0.0, 1e3, -1.0]
    expected = sp.owens_t(h, a)
    keep = np.abs(expected) > 1e-290  # away from underflow
    np.testing.assert_allclose(np.asarray(special.owens_t(h, a))[keep], expected[keep], rtol=3e-13)
    assert float(special.owens_t(0.0, 1.0)) == pytest.approx(0.125, rel=1e-15)


def test_comb_against_scipy():
    n = np.r_[_RNG.integers(0, 60, 100), _RNG.uniform(0, 30, 50), -1.0, 5.0, 5.0]
    k = np.r_[_RNG.integers(-2, 62, 100), _RNG.uniform(0, 30, 50), 0.0, 6.0, -1.0]
    np.testing.assert_allclose(np.asarray(special.comb(n, k)), sp.comb(n, k), rtol=1e-13)
    kr = np.abs(k[:100])  # SciPy gives NaN for negative k with repetition
    np.testing.assert_allclose(np.asarray(special.comb(n[:100], kr, repetition=True)),
                               sp.comb(n[:100], kr, repetition=True), rtol=1e-13)  # fmt: skip
    with pytest.raises(NotImplementedError, match="comb: exact=True"):
        special.comb(5, 2, exact=True)


def test_hyp2f1_against_mpmath_and_scipy():
    import mpmath

    rng = np.random.default_rng(3)
    a, b = rng.uniform(-4, 4, 60), rng.uniform(-4, 4, 60)
    c = rng.uniform(0.3, 8, 60)
    # the series, the 1 - z connection above 0.9, Pfaff below 0 (both sides of -1)
    z = np.r_[rng.uniform(-0.9, 0.9, 20), rng.uniform(0.9, 0.999, 15), rng.uniform(-5, -1, 15),
              rng.uniform(-30, -5, 10)]  # fmt: skip
    expected = np.array([float(mpmath.hyp2f1(*map(float, v))) for v in zip(a, b, c, z)])
    np.testing.assert_allclose(np.asarray(special.hyp2f1(a, b, c, z)), expected, rtol=1e-12)
    # special points: terminating series, Gauss's sum at 1, a pole of c, z > 1
    a2, b2 = np.array([-2.0, 1.0, 1.0, 1.5, 1.0, 1.0]), np.array([3.0, 1.0, 2.0, 0.5, 1.0, 1.0])
    c2, z2 = np.array([4.0, 2.0, 3.0, 4.0, -1.0, 2.0]), np.array([7.0, 0.5, 1.0, 1.0, 0.5, 1.5])
    out = np.asarray(special.hyp2f1(a2, b2, c2, z2))
    np.testing.assert_allclose(out[:4], [1 - 2 * 3 / 4 * 7 + 3 * 4 / 20 * 49,
                                         2 * np.log(2), np.inf, sp.hyp2f1(1.5, 0.5, 4.0, 1.0)],
                               rtol=1e-13)  # fmt: skip
    assert np.isnan(out[4:]).all()


def test_new_functions_gradients():
    x = fnp.asarray([-2.5, -0.3, 0.7, 1.4, 1.6, 3.0, 4.2, 6.0])
    for fn in (special.erfcx, lambda v: special.fresnel(v)[0], lambda v: special.fresnel(v)[1],
               lambda v: special.sici(v)[0], lambda v: special.sici(v)[1]):  # fmt: skip
        check_grads(fn, (x,), order=2, rtol=2e-4, atol=1e-7)
    check_grads(lambda v: special.sici(v)[0], (fnp.asarray([0.0, 1e-3, -1e-5]),), order=2,
                rtol=2e-4, atol=1e-7)  # fmt: skip
    check_grads(special.owens_t, (fnp.asarray([0.3, -1.2, 2.0, 4.0]),
                                  fnp.asarray([0.5, 3.0, -0.8, 1.5])), order=2, rtol=2e-4)  # fmt: skip
    check_grads(lambda z: special.hyp2f1(0.5, 1.5, 2.5, z),
                (fnp.asarray([-3.0, -0.5, 0.2, 0.8, 0.95]),), order=2, rtol=2e-4)  # fmt: skip
    check_grads(lambda n: special.comb(n, 3.5), (fnp.asarray([4.0, 7.5, 20.0]),), order=1,
                rtol=2e-4)  # fmt: skip
    with pytest.raises(NotImplementedError, match="hyp2f1: the derivative with respect to a"):
        funcgrad.grad(lambda a: special.hyp2f1(a, 1.0, 2.0, 0.5))(1.0)


def test_lpmn_against_scipy():
    z = np.r_[np.linspace(-1, 1, 41), _RNG.uniform(-1, 1, 20)]
    vals, derivs = special.lpmn(3, 5, fnp.asarray(z))
    ref = sp.assoc_legendre_p_all(5, 3, z, diff_n=1)  # [value/derivative, l, j (then -j), z]
    ref_vals = np.transpose(ref[0][:, :4], (1, 0, 2))
    ref_derivs = np.transpose(ref[1][:, :4], (1, 0, 2))
    assert vals.shape == derivs.shape == (4, 6, z.size)
    np.testing.assert_allclose(np.asarray(vals), ref_vals, rtol=1e-13, atol=1e-13)
    _assert_matches(derivs, ref_derivs, 1e-12, atol=1e-12)
    normalized = np.asarray(special.lpmn_values(3, 5, fnp.asarray(z), True))
    factor = np.array([[np.sqrt((2 * l + 1) / (4 * np.pi) * sp.factorial(l - j) / sp.factorial(l + j))
                        if l >= j else 0.0 for l in range(6)] for j in range(4)])  # fmt: skip
    np.testing.assert_allclose(normalized, ref_vals * factor[..., None], rtol=1e-13, atol=1e-13)
    check_grads(lambda v: special.lpmn_values(2, 3, v, True), (fnp.asarray([-0.6, 0.1, 0.8]),),
                order=2, rtol=2e-4)  # fmt: skip
    with pytest.raises(ValueError, match="lpmn: z must be a 1-d array"):
        special.lpmn(1, 1, fnp.ones((2, 2)))
    with pytest.raises(ValueError, match="lpmn_values: m must be a non-negative Python int"):
        special.lpmn_values(-1, 1, fnp.ones(2), False)


def test_sph_harm_against_scipy():
    n = _RNG.integers(0, 6, 60)
    m = _RNG.integers(-6, 7, 60)
    theta, phi = _RNG.uniform(0, np.pi, 60), _RNG.uniform(0, 2 * np.pi, 60)
    expected = sp.sph_harm_y(n, m, theta, phi)
    y = special.sph_harm_y(n, m, theta, phi)
    assert y.dtype == np.complex128
    np.testing.assert_allclose(np.asarray(y), expected, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(np.asarray(special.sph_harm(m, n, phi, theta, n_max=7)), expected,
                               rtol=1e-13, atol=1e-14)  # fmt: skip
    jitted = funcgrad.jit(lambda t, p: special.sph_harm_y(fnp.asarray(n), fnp.asarray(m), t, p,
                                                          n_max=5).real)  # fmt: skip
    np.testing.assert_allclose(
        np.asarray(jitted(theta, phi)), expected.real, rtol=1e-13, atol=1e-14
    )
    check_grads(lambda t, p: special.sph_harm_y(n[:5], m[:5], t, p).real,
                (fnp.asarray(theta[:5]), fnp.asarray(phi[:5])), order=1, rtol=2e-4)  # fmt: skip
    with pytest.raises(TypeError, match="sph_harm_y: n is traced"):
        funcgrad.jit(lambda k: special.sph_harm_y(k, k, 0.5, 0.5))(fnp.asarray([1]))
    with pytest.raises(NotImplementedError, match="diff_n must be 0"):
        special.sph_harm_y(1, 0, 0.5, 0.5, diff_n=1)


_JIT_NEW = {
    "erfcx": funcgrad.jit(special.erfcx),
    "fresnel": funcgrad.jit(special.fresnel),
    "sici": funcgrad.jit(special.sici),
    "owens_t": funcgrad.jit(lambda v: special.owens_t(v, 0.5 * v)),
    "hyp2f1": funcgrad.jit(lambda v: special.hyp2f1(0.5, 1.5, 2.5, v / 5)),
}


@pytest.mark.parametrize("name", sorted(_JIT_NEW))
def test_new_functions_jit_and_vmap_match_eager(name):
    fn = {"owens_t": lambda v: special.owens_t(v, 0.5 * v),
          "hyp2f1": lambda v: special.hyp2f1(0.5, 1.5, 2.5, v / 5)}.get(name, getattr(special, name))  # fmt: skip
    x = fnp.asarray([[-3.0, 0.5, 2.0], [4.5, -0.1, 1.7]])
    eager = fn(x)
    for out in (
        _JIT_NEW[name](x),
        funcgrad.vmap(fn)(x),
        funcgrad.vmap(fn, in_axes=1, out_axes=1)(x),
    ):
        for a, b in zip(*(v if isinstance(v, tuple) else (v,) for v in (out, eager))):
            assert a.shape == b.shape and a.dtype == b.dtype
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-15)
    x32 = x.astype(np.float32)
    out32 = fn(x32)
    assert all(v.dtype == np.float32 for v in (out32 if isinstance(out32, tuple) else (out32,)))
