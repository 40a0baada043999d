"""Accuracy of the rewritten lgamma/digamma kernels on every path (against mpmath and SciPy,
and the recurrences as identities), and of hyp2f1 near z = 1 where c - a - b is an integer
(against mpmath)."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import scipy.special as sp
from hypothesis import given
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.scipy import special

mpmath.mp.dps = 40
_RNG = np.random.default_rng(18)

# every path of lgamma: the rising recurrence (below 1/2, [1/2, 3/2)), the falling one
# ([3/2, 7), one point per number of steps), Stirling from 7, and the path boundaries
_EDGES = [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.0]
_LGAMMA_X = np.concatenate([
    [np.nextafter(e, -np.inf) for e in _EDGES], _EDGES, [np.nextafter(e, np.inf) for e in _EDGES],
    _RNG.uniform(0, 8, 120), 10 ** _RNG.uniform(-300, 300, 40), [1 + 1e-12, 2 - 1e-12, 1e-320],
])  # fmt: skip


def _mp(fn, x):
    return np.array([float(fn(mpmath.mpf(float(v)))) for v in x])


def test_lgamma_every_path_against_mpmath():
    got = np.asarray(lax.lgamma(fnp.asarray(_LGAMMA_X)))
    want = _mp(lambda v: mpmath.log(abs(mpmath.gamma(v))) if v < 1e300 else mpmath.loggamma(v),
               _LGAMMA_X)  # fmt: skip
    np.testing.assert_allclose(got, want, rtol=2e-15, atol=0)


def test_lgamma_negative_against_mpmath():
    # away from the zeros of log|Gamma| (there any reflection loses relative accuracy):
    # the absolute error stays at a few ulps of the reflected lgamma(1 - x)
    x = -_RNG.uniform(0, 12, 150)
    x = x[x != np.floor(x)]
    got = np.asarray(lax.lgamma(fnp.asarray(x)))
    want = _mp(lambda v: mpmath.log(abs(mpmath.gamma(v))), x)
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=2e-15)
    np.testing.assert_array_equal(np.asarray(lax.lgamma(fnp.asarray([-np.inf, -3.0, -0.0]))),
                                  [np.inf, np.inf, np.inf])  # fmt: skip


def test_digamma_every_path_against_mpmath():
    x = np.concatenate([_RNG.uniform(0, 8, 120), [1.4616321449683622, 1.3, 1.7, 7.0],
                        10 ** _RNG.uniform(-300, 300, 30), -_RNG.uniform(0, 9, 60)])  # fmt: skip
    x = x[x != np.floor(x)]
    got = np.asarray(lax.digamma(fnp.asarray(x)))
    want = _mp(mpmath.digamma, x)
    np.testing.assert_allclose(got, want, rtol=5e-15, atol=5e-15)


@pytest.mark.parametrize("name", ["lgamma", "digamma"])
def test_blocks_of_a_large_array_against_scipy(name):
    """Arrays larger than a block are evaluated block by block on NumPy: every block, the
    last partial one included, against SciPy (away from the zeros, where SciPy itself is
    inaccurate), and jit equals eager."""
    fn, oracle = {"lgamma": (lax.lgamma, sp.gammaln), "digamma": (lax.digamma, sp.digamma)}[name]
    x = np.concatenate([_RNG.uniform(2.5, 100, 40000), _RNG.uniform(0.001, 0.9, 30000),
                        -_RNG.uniform(0.1, 0.4, 5)])  # fmt: skip
    _RNG.shuffle(x)
    out = np.asarray(fn(fnp.asarray(x.reshape(5, -1)))).reshape(-1)
    np.testing.assert_allclose(out, oracle(x), rtol=1e-13)
    np.testing.assert_array_equal(np.asarray(funcgrad.jit(fn)(fnp.asarray(x))), out)


@given(st.floats(1e-3, 50.0))
def test_lgamma_digamma_recurrences(x):
    # lgamma(x + 1) - lgamma(x) = log x and digamma(x + 1) - digamma(x) = 1/x, with the
    # tolerance of a difference of two values of size |lgamma|
    pair = fnp.asarray([x, x + 1.0])
    lg = np.asarray(lax.lgamma(pair))
    scale = max(abs(lg[0]), abs(lg[1]), 1.0)
    assert abs((lg[1] - lg[0]) - np.log(x)) <= 4e-16 * scale + 1e-15 * abs(np.log(x))
    # digamma below 7 is psi(x + 7) (about 2) less a sum: a few ulps of 2 at least
    psi = np.asarray(lax.digamma(pair))
    assert abs((psi[1] - psi[0]) - 1 / x) <= 2e-15 * max(abs(psi[0]), abs(psi[1]), 1 / x, 2.0)


# --- hyp2f1 near z = 1 with c - a - b an integer ---------------------------------------------


def _hyp2f1_check(rows, rtol):
    a, b, c, z = np.array(rows, dtype=float).T
    got = np.asarray(special.hyp2f1(fnp.asarray(a), fnp.asarray(b), fnp.asarray(c), fnp.asarray(z)))
    want = np.array([float(mpmath.hyp2f1(*map(mpmath.mpf, r))) for r in zip(a, b, c, z)])
    np.testing.assert_allclose(got, want, rtol=rtol)


_Z_NEAR_ONE = [0.9000001, 0.97, 0.999, 1 - 1e-6, 1 - 1e-12]


def test_hyp2f1_integer_c_minus_a_minus_b_near_one():
    # c = a + b + m exactly (m from -3 to 4: A&S 15.3.10, 15.3.11, and 15.3.12 through
    # Euler's transformation), where the 1 - z connection's two terms have cancelling poles
    # (c > 0 here: at a pole of c the result is NaN, documented)
    rows = [(a, b, a + b + m, z) for a, b in [(0.5, 1.5), (1.0, 1.0), (-1.75, 2.5), (2.25, -0.25)]
            for m in (-3, -1, 0, 1, 2, 4) for z in _Z_NEAR_ONE if a + b + m > 0]  # fmt: skip
    _hyp2f1_check(rows, 1e-13)


def test_hyp2f1_integer_up_to_rounding_near_one_and_far_left():
    # c = a + b + m computed in floating point (c - a - b off m by a few ulps); z far below 0
    # reaches the same case through Pfaff's transformation when b - a is an integer
    rng = np.random.default_rng(4)
    rows = []
    for _ in range(40):
        a, b = np.round(rng.uniform(-4, 4, 2), 3)
        m = int(rng.integers(-3, 5))
        rows.append((a, b, a + b + m, rng.choice(_Z_NEAR_ONE)))
    rows += [(0.3, 1.3, 2.5, -1e4), (1.5, 3.5, 0.7, -50.0), (0.25, -0.75, 1.5, -300.0)]
    _hyp2f1_check(rows, 2e-12)


def test_hyp2f1_close_to_an_integer_is_bounded():
    # within 1e-8 of an integer the limit form is used (error about 30 |eps|), beyond it the
    # connection (about 1e-14 / |eps|): both bounded near the switch, documented in the kernel
    for eps, rtol in ((1e-12, 1e-10), (1e-9, 1e-7), (1e-7, 1e-6), (1e-3, 1e-11)):
        rows = [(a, b, a + b + m + eps, z) for a, b in [(0.5, 0.7), (1.3, 2.2)]
                for m in (-1, 0, 2) for z in (0.95, 0.999, 1 - 1e-8)]  # fmt: skip
        _hyp2f1_check(rows, rtol)


def test_hyp2f1_terminating_after_euler_transformation():
    # c - a = -1: F(a, b; c; z) = (1 - z)^(c-a-b) F(c - a, c - b; c; z) with a polynomial
    # second factor, whose A&S 15.3.11 second part vanishes (1 / Gamma(c - a) = 0)
    a, b, c = 2.5, 0.5, 1.5
    z = np.array([0.95, 0.999])
    expected = (1 - z) ** (c - a - b) * (1 - (c - b) / c * z)  # F(-1, 1; 1.5; z) = 1 - z/1.5
    got = np.asarray(special.hyp2f1(a, b, c, fnp.asarray(z)))
    np.testing.assert_allclose(got, expected, rtol=1e-13)
