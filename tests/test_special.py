"""The special-function primitives of funcgrad.lax against SciPy (and mpmath where SciPy
itself is inaccurate), their derivatives against finite differences, vmap against a loop
and jit against eager, in float64 and float32."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import scipy.special as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.test_util import check_grads

_RNG = np.random.default_rng(0)


def _grid(lo, hi, n=400, log=False):
    if log:
        return 10 ** _RNG.uniform(lo, hi, n)
    return _RNG.uniform(lo, hi, n)


_X_WIDE = np.concatenate([_grid(-10, 10), _grid(-40, 40, 100), _grid(-300, 3, 100, log=True),
                          -_grid(-300, 2, 100, log=True), [0.0, -0.0, 1.0, 2.0, 1.4616321449683622,
                                                           np.inf, -np.inf, np.nan]])  # fmt: skip
_A = _grid(0.05, 40, 300)
_X_FOR_A = _A * _grid(0.02, 3, 300)

# name -> (lax function, SciPy oracle, operands, rtol in float64)
UNARY = {
    "erf": (lax.erf, sp.erf, _X_WIDE, 1e-15),
    "erfc": (lax.erfc, sp.erfc, _X_WIDE, 1e-13),  # SciPy's own erfc(25) is off by 6e-14
    "lgamma": (lax.lgamma, sp.gammaln, _X_WIDE, 1e-13),
    "digamma": (lax.digamma, sp.digamma, _X_WIDE, 1e-12),  # cancellation at negative zeros
    "bessel_i0e": (lax.bessel_i0e, sp.i0e, _X_WIDE, 1e-14),
    "bessel_i1e": (lax.bessel_i1e, sp.i1e, _X_WIDE, 1e-14),
    "erf_inv": (lax.erf_inv, sp.erfinv, np.concatenate([_grid(-1, 1), 1 - _grid(-16, 0, 100, log=True),
                                                         [-1.0, 1.0, 0.0, 1.5, -2.0]]), 1e-14),
}  # fmt: skip
BINARY = {
    "igamma": (lax.igamma, sp.gammainc, (_A, _X_FOR_A), 1e-13),
    "igammac": (lax.igammac, sp.gammaincc, (_A, _X_FOR_A), 1e-13),
    "zeta": (lax.zeta, sp.zeta, (_grid(1.01, 30, 300), _grid(-3, 3, 300, log=True)), 1e-14),
    "polygamma": (lax.polygamma, lambda n, x: sp.polygamma(n.astype(int), x),
                  (_RNG.integers(0, 6, 300).astype(float), _grid(-3, 3, 300, log=True)), 1e-14),
}  # fmt: skip


def _close(actual, expected, rtol, atol=1e-300):
    actual, expected = np.asarray(actual), np.asarray(expected)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_array_equal(np.isposinf(actual), np.isposinf(expected))
    np.testing.assert_array_equal(np.isneginf(actual), np.isneginf(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(actual[finite], expected[finite], rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_against_scipy(name):
    fn, oracle, x, rtol = UNARY[name]
    with np.errstate(all="ignore"):
        expected = oracle(x)
    if name == "lgamma":  # log|Gamma| grows without bound at -inf; SciPy says -inf there
        expected = np.where(x == -np.inf, np.inf, expected)
    # near a zero of the function relative error is meaningless: allow an absolute one
    _close(fn(fnp.asarray(x)), expected, rtol, atol=1e-15 if name == "digamma" else 1e-300)
    x32 = x.astype(np.float32)
    with np.errstate(all="ignore"):
        out32 = fn(fnp.asarray(x32))
        expected32 = oracle(x32.astype(np.float64)).astype(np.float32)
    assert out32.dtype == np.float32
    finite = np.isfinite(expected32) & (np.abs(expected32) > 1e-30)
    np.testing.assert_allclose(np.asarray(out32)[finite], expected32[finite], rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_values_against_scipy(name):
    fn, oracle, (a, x), rtol = BINARY[name]
    _close(fn(fnp.asarray(a), fnp.asarray(x)), oracle(a, x), rtol)


def test_betainc_against_scipy():
    a, b, x = _grid(0.1, 20, 300), _grid(0.1, 20, 300), _grid(0, 1, 300)
    _close(lax.betainc(fnp.asarray(a), fnp.asarray(b), fnp.asarray(x)), sp.betainc(a, b, x), 1e-12)
    edges = lax.betainc(fnp.asarray([2.0, 2.0, 2.0, 2.0, -1.0]), 3.0,
                        fnp.asarray([0.0, 1.0, -0.1, 1.1, 0.5]))  # fmt: skip
    np.testing.assert_array_equal(np.asarray(edges), [0.0, 1.0, np.nan, np.nan, np.nan])


def test_accuracy_where_scipy_is_not_the_reference():
    """Near the zeros of lgamma and digamma, and deep in erfc's tail, against mpmath."""
    mpmath.mp.dps = 40
    x = np.array([1.0 + 1e-9, 1.9998607735979856, 2.0 - 3e-12, 1.4616321449683622, 1.46163214497,
                  0.75, 24.533386150853346])  # fmt: skip
    got_lgamma = np.asarray(lax.lgamma(fnp.asarray(x[:3])))
    want_lgamma = [float(mpmath.loggamma(mpmath.mpf(v))) for v in x[:3]]
    np.testing.assert_allclose(got_lgamma, want_lgamma, rtol=1e-14)
    got_psi = np.asarray(lax.digamma(fnp.asarray(x[3:6])))
    want_psi = [float(mpmath.digamma(mpmath.mpf(v))) for v in x[3:6]]
    np.testing.assert_allclose(got_psi, want_psi, rtol=1e-14)
    np.testing.assert_allclose(float(lax.erfc(fnp.asarray(x[6]))),
                               float(mpmath.erfc(mpmath.mpf(x[6]))), rtol=1e-15)  # fmt: skip


def test_special_values_and_poles():
    lg = np.asarray(lax.lgamma(fnp.asarray([0.0, -1.0, -2.0, np.inf, np.nan])))
    np.testing.assert_array_equal(lg, [np.inf, np.inf, np.inf, np.inf, np.nan])
    psi = np.asarray(lax.digamma(fnp.asarray([0.0, -0.0, -1.0, np.inf])))
    np.testing.assert_array_equal(psi, [-np.inf, np.inf, np.nan, np.inf])
    np.testing.assert_array_equal(np.asarray(lax.zeta(fnp.asarray([1.0, 0.5, 2.0]), fnp.asarray([1.0, 1.0, -1.0]))),
                                  [np.inf, np.nan, np.inf])  # fmt: skip
    np.testing.assert_allclose(
        float(lax.zeta(fnp.asarray(2.0), -1.5)), sp.zeta(2, -1.5), rtol=1e-14
    )
    igs = lax.igamma(fnp.asarray([0.0, 1.0, 1.0, -1.0]), fnp.asarray([1.0, 0.0, np.inf, 1.0]))
    np.testing.assert_array_equal(np.asarray(igs), [1.0, 0.0, 1.0, np.nan])


def test_igamma_grad_a_and_random_gamma_grad_against_mpmath():
    mpmath.mp.dps = 30
    a = np.array([0.3, 1.0, 2.5, 7.0, 0.05])
    x = np.array([0.1, 1.0, 4.0, 5.0, 1e-8])
    want = np.array([float(mpmath.diff(lambda t, xv=xv: mpmath.gammainc(t, 0, xv, regularized=True), av))
                     for av, xv in zip(a, x)])  # fmt: skip
    np.testing.assert_allclose(
        np.asarray(lax.igamma_grad_a(fnp.asarray(a), fnp.asarray(x))), want, rtol=1e-12
    )
    density = np.array([float(mpmath.rgamma(av) * mpmath.power(xv, av - 1) * mpmath.exp(-xv))
                        for av, xv in zip(a, x)])  # fmt: skip
    got = np.asarray(lax.random_gamma_grad(fnp.asarray(a), fnp.asarray(x)))
    np.testing.assert_allclose(got, -want / density, rtol=1e-12)
    # a sample that underflowed to 0 does not move
    assert float(lax.random_gamma_grad(fnp.asarray(0.01), 0.0)) == 0.0


# points where each derivative is checked: away from poles, in the tails, near the zeros
_GRAD_POINTS = {
    "erf": [-3.0, -0.3, 0.0, 0.7, 5.0],
    "erfc": [-2.0, 0.2, 3.0, 10.0],
    "erf_inv": [-0.99, -0.2, 0.0, 0.5, 0.999],
    "lgamma": [1e-3, 0.1, 1.0, 2.0, 4.5, 30.0, -0.5, -2.7],
    "digamma": [0.05, 1.46, 3.0, 25.0, -1.5],
    "bessel_i0e": [-25.0, -1.0, 0.3, 4.0, 30.0],
    "bessel_i1e": [-25.0, -1.0, 0.0, 0.3, 4.0, 30.0],
}


@pytest.mark.parametrize("name", sorted(_GRAD_POINTS))
def test_unary_derivatives(name):
    fn = UNARY[name][0]
    check_grads(fn, (fnp.asarray(_GRAD_POINTS[name]),), order=2, rtol=1e-4, atol=1e-6)


def test_binary_derivatives():
    a, x = fnp.asarray([0.3, 1.0, 2.5, 8.0]), fnp.asarray([0.2, 1.5, 2.0, 12.0])
    check_grads(lax.igamma, (a, x), order=1, rtol=1e-4)
    check_grads(lax.igammac, (a, x), order=1, rtol=1e-4)
    check_grads(lambda x: lax.igamma(a, x), (x,), order=2, rtol=1e-4)
    check_grads(lambda q: lax.zeta(fnp.asarray([2.0, 3.5, 2.0, 5.0]), q), (x,), order=2, rtol=1e-4)
    check_grads(
        lambda x: lax.polygamma(fnp.asarray([0.0, 1.0, 2.0, 3.0]), x), (x,), order=2, rtol=1e-4
    )
    check_grads(lambda x: lax.betainc(a, fnp.asarray([2.0, 0.5, 1.0, 3.0]), x),
                (fnp.asarray([0.1, 0.5, 0.9, 0.3]),), order=2, rtol=1e-4)  # fmt: skip


def test_undefined_derivatives_raise_with_the_operand_named():
    with pytest.raises(NotImplementedError, match=r"betainc: the derivative with respect to a"):
        funcgrad.grad(lambda a: lax.betainc(a, 2.0, 0.5))(fnp.asarray(1.0))
    with pytest.raises(NotImplementedError, match=r"zeta: the derivative with respect to x"):
        funcgrad.grad(lambda s: lax.zeta(s, 2.0))(fnp.asarray(3.0))
    # a constant operand needs no derivative
    assert np.isfinite(float(funcgrad.grad(lambda x: lax.betainc(fnp.asarray(1.0), 2.0, x))(0.5)))


def test_bad_operands_name_the_function():
    with pytest.raises(TypeError, match=r"lgamma: operands must be floating-point"):
        lax.lgamma(fnp.asarray([1, 2]))
    with pytest.raises(TypeError, match=r"funcgrad.lax.igamma: operands must have one dtype"):
        lax.igamma(fnp.asarray([1.0], dtype=np.float32), fnp.asarray([1.0]))
    with pytest.raises(ValueError, match=r"funcgrad.lax.zeta: operands must have one shape"):
        lax.zeta(fnp.ones(2), fnp.ones(3))


_JITTED = {name: funcgrad.jit(spec[0]) for name, spec in UNARY.items()}


@settings(max_examples=10)
@given(name=st.sampled_from(sorted(UNARY)), n=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_eager_jit_and_vmap_agree(name, n, seed):
    x = fnp.asarray(
        np.random.default_rng(seed).uniform(-0.9, 0.9, (n, 3)) * (1 if name == "erf_inv" else 5)
    )
    fn = UNARY[name][0]
    eager = fn(x)
    jitted = _JITTED[name](x)
    mapped = funcgrad.vmap(fn, in_axes=1, out_axes=1)(x)
    loop = np.stack([np.asarray(fn(x[:, j])) for j in range(3)], axis=1)
    for other in (jitted, mapped):
        assert other.shape == eager.shape and other.dtype == eager.dtype
        np.testing.assert_array_equal(np.asarray(other), np.asarray(eager))
    np.testing.assert_array_equal(loop, np.asarray(eager))


def test_vmap_of_a_binary_primitive_with_an_unbatched_operand():
    a = fnp.asarray([[0.5, 1.0], [2.0, 3.0]])
    x = fnp.asarray([0.7, 1.1])
    out = funcgrad.vmap(lax.igamma, in_axes=(0, None))(a, x)
    np.testing.assert_allclose(
        np.asarray(out), sp.gammainc(np.asarray(a), np.asarray(x)), rtol=1e-13
    )
    g = funcgrad.jit(funcgrad.vmap(funcgrad.grad(lambda x: lax.lgamma(x) * 2.0)))(x)
    np.testing.assert_allclose(np.asarray(g), 2 * sp.digamma([0.7, 1.1]), rtol=1e-14)


# The op records handed to the per-primitive table (test_primitives.py) once the special
# primitives are registered in ALL_PRIMITIVES; exercised here meanwhile.
_RECORDS = __import__("records_special").RECORDS


@pytest.mark.parametrize("record", _RECORDS, ids=lambda r: r.name)
@settings(max_examples=5)
@given(data=st.data())
def test_op_records(record, data):
    from oracle import assert_same

    from funcgrad._src.core import get_aval
    from funcgrad._src.lax import special as ls

    prim = getattr(ls, f"{record.name}_p")
    operands, params = record.draw(data)
    expected = record.reference(*operands)
    args = [fnp.asarray(x) for x in operands]
    actual = prim.bind(*args, **params)
    aval = prim.abstract_eval(*[get_aval(a) for a in args])[0]
    dtype = np.asarray(actual[0]).dtype
    rtol = {np.float16: 2e-3, np.float32: 2e-6}.get(dtype.type, record.rtol)
    assert_same(actual[0], expected[0], rtol=rtol, atol=1e-300 if dtype == np.float64 else 1e-6,
                what=record.name)  # fmt: skip
    assert (aval.shape, aval.dtype) == (actual[0].shape, actual[0].dtype)
