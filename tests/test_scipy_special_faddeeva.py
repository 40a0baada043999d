"""funcgrad.scipy.special's wofz (Faddeeva function), dawsn, boxcox and boxcox1p against
SciPy: values over the complex plane (large |z|, both axes, both half planes), the
derivatives by finite differences and by their closed forms, dtypes, vmap and jit."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special as sp
from hypothesis import given
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as fnp
from funcgrad.scipy import special
from funcgrad.test_util import check_grads

_LOG_GRID = np.logspace(-10, 2, 60)  # |coordinate| from 1e-10 to 100
_AXIS = np.concatenate([-_LOG_GRID[::-1], [0.0], _LOG_GRID])
_Z = (_AXIS[None, :] + 1j * _AXIS[:, None]).ravel()
_Z = np.concatenate([_Z, [1e5 + 1e5j, 3e8 + 0.1j, 0.1 + 3e8j, 1e300 + 1e300j, -1e300 + 0j]])


def _relative_error(actual, expected):
    with np.errstate(invalid="ignore"):
        return np.abs(np.asarray(actual) - expected) / np.abs(expected)


def test_wofz_matches_scipy_over_the_complex_plane():
    expected = sp.wofz(_Z)
    finite = np.isfinite(expected) & (expected != 0)
    error = _relative_error(special.wofz(_Z), expected)[finite]
    assert finite.sum() > 0.9 * _Z.size
    assert error.max() < 1e-13, _Z[finite][np.argmax(error)]


@pytest.mark.parametrize("axis", ["real", "imaginary"])
def test_wofz_on_the_axes_has_accurate_parts(axis):
    # w(x) = exp(-x^2) + (2i / sqrt(pi)) D(x) and w(iy) = erfcx(y): each part separately
    if axis == "real":
        x = np.concatenate([_AXIS, np.linspace(-27.0, 27.0, 541)])
        w = np.asarray(special.wofz(x))
        np.testing.assert_allclose(w.real, np.exp(-x * x), rtol=1e-13, atol=0)
        np.testing.assert_allclose(w.imag, 2 / math.sqrt(math.pi) * sp.dawsn(x), rtol=1e-13,
                                   atol=0)  # fmt: skip
    else:
        y = _AXIS[_AXIS > -26]
        w = np.asarray(special.wofz(1j * y))
        np.testing.assert_allclose(w.real, sp.erfcx(y), rtol=1e-13, atol=0)
        np.testing.assert_array_equal(w.imag, 0.0)


def test_wofz_special_values_are_scipys():
    z = np.array([np.inf, -np.inf, np.nan, complex(np.nan, 1.0), -30j, 30 - 30j, 0.0])
    np.testing.assert_allclose(np.asarray(special.wofz(z)), sp.wofz(z), rtol=1e-13)


@given(st.floats(-40, 40), st.floats(0, 25))  # exp(y^2) finite
def test_wofz_symmetries(x, y):
    # w(-conj z) = conj w(z), and the reflection w(-z) = 2 exp(-z^2) - w(z)
    z = complex(x, y)
    w, w_mirror, w_reflected = (
        complex(v) for v in np.asarray(special.wofz(np.array([z, -z.conjugate(), -z])))
    )
    assert abs(w_mirror - w.conjugate()) <= 1e-15 * abs(w)
    expected = complex(sp.wofz(-z))
    assert abs(w_reflected - expected) <= 1e-13 * max(abs(expected), 1e-300)


def test_wofz_dtypes():
    assert special.wofz(np.float32(1.0)).dtype == np.complex64
    assert special.wofz(np.complex64(1.0)).dtype == np.complex64
    assert special.wofz(1).dtype == np.complex128
    assert special.wofz(np.ones((2, 3))).shape == (2, 3)
    assert special.wofz(np.ones((0,))).shape == (0,)
    w32 = np.asarray(special.wofz(np.asarray([0.5 + 2j, 7 - 1j], np.complex64)))
    np.testing.assert_allclose(w32, sp.wofz([0.5 + 2j, 7 - 1j]), rtol=1e-6)


def test_wofz_rejects_non_numeric_input():
    with pytest.raises(TypeError, match="wofz"):
        special.wofz(np.array(["a"]))


_POINTS = np.array([0.2 + 0.1j, 1.0 + 1.0j, -2.0 + 0.5j, 0.3 - 0.2j, 5.5 + 1.0j, 7.0 + 0.5j,
                    -1.5 - 1.0j, 0.0 + 3.0j])  # fmt: skip


def test_wofz_derivative_against_finite_differences_and_the_closed_form():
    check_grads(special.wofz, (_POINTS,), order=2, modes=("fwd", "rev"))
    # the complex derivative of SciPy's w by a central difference, and w' = -2 z w + 2i/sqrt(pi)
    _, tangent = funcgrad.jvp(special.wofz, (_POINTS,), (np.ones_like(_POINTS),))
    h = 1e-6
    difference = (sp.wofz(_POINTS + h) - sp.wofz(_POINTS - h)) / (2 * h)
    np.testing.assert_allclose(np.asarray(tangent), difference, rtol=1e-7, atol=1e-9)
    closed = -2 * _POINTS * sp.wofz(_POINTS) + 2j / math.sqrt(math.pi)
    np.testing.assert_allclose(np.asarray(tangent), closed, rtol=1e-13, atol=1e-14)


def test_dawsn_matches_scipy():
    x = np.concatenate([_AXIS, np.linspace(-12, 12, 2401), np.logspace(-300, 300, 121),
                        -np.logspace(-300, 300, 121)])  # fmt: skip
    # SciPy's own dawsn is off by up to 1.7e-14 near x = 0.01 (checked against mpmath)
    np.testing.assert_allclose(np.asarray(special.dawsn(x)), sp.dawsn(x), rtol=3e-14, atol=0)
    special_values = np.asarray(special.dawsn(np.array([np.inf, -np.inf, np.nan, -0.0])))
    np.testing.assert_array_equal(special_values, [0.0, -0.0, np.nan, -0.0])
    assert special.dawsn(np.float32(1.0)).dtype == np.float32
    assert special.dawsn(2).dtype == np.float64


def test_dawsn_derivatives():
    x = np.array([-7.0, -1.2, -0.3, 0.0, 0.45, 0.55, 2.0, 5.9, 6.1, 30.0])
    check_grads(special.dawsn, (x,), order=2)
    g = funcgrad.vmap(funcgrad.grad(special.dawsn))(x)
    np.testing.assert_allclose(np.asarray(g), 1 - 2 * x * sp.dawsn(x), rtol=1e-13, atol=1e-14)


_X = np.array([0.0, 1e-300, 1e-8, 0.3, 1.0, 2.0, 50.0, np.inf, -1.0])
_LAMBDA = np.array([-2.0, -0.5, -1e-9, 0.0, 1e-9, 0.5, 1.0, 3.0])


@pytest.mark.parametrize("name", ["boxcox", "boxcox1p"])
def test_boxcox_matches_scipy(name):
    fn, oracle = getattr(special, name), getattr(sp, name)
    x = _X[:, None] - (1.0 if name == "boxcox1p" else 0.0)
    np.testing.assert_allclose(np.asarray(fn(x, _LAMBDA)), oracle(x, _LAMBDA), rtol=1e-14)
    assert fn(np.float32(2.0), np.float32(0.5)).dtype == np.float32
    assert fn(2, 1).dtype == np.float64


def test_boxcox1p_is_accurate_for_tiny_x():
    x = np.array([1e-20, -1e-17, 1e-10])
    np.testing.assert_allclose(np.asarray(special.boxcox1p(x, 0.7)), sp.boxcox1p(x, 0.7),
                               rtol=1e-15)  # fmt: skip


@given(st.floats(1e-3, 1e3), st.floats(-3, 3))
def test_boxcox_property_against_scipy(x, lmbda):
    np.testing.assert_allclose(float(special.boxcox(x, lmbda)), sp.boxcox(x, lmbda), rtol=1e-13)
    np.testing.assert_allclose(float(special.boxcox1p(x, lmbda)), sp.boxcox1p(x, lmbda),
                               rtol=1e-13)  # fmt: skip


@pytest.mark.parametrize("name", ["boxcox", "boxcox1p"])
def test_boxcox_derivatives_in_both_arguments(name):
    fn = getattr(special, name)
    x = np.array([0.5, 2.0, 3.0, 0.9, 4.0, 1.5])
    lmbda = np.array([0.0, 0.3, -1.2, 2.0, 1e-5, -1e-4])
    check_grads(fn, (x, lmbda), order=2)
    # at lmbda = 0 the derivative in lmbda is log(x)^2 / 2 (the limit of the difference
    # quotient), not 0
    log_x = np.log(x) if name == "boxcox" else np.log1p(x)
    g = funcgrad.vmap(funcgrad.grad(fn, argnums=1))(x, np.zeros_like(x))
    np.testing.assert_allclose(np.asarray(g), log_x**2 / 2, rtol=1e-13)
    # at x = 0 (boxcox) the value is -1/lmbda for lmbda > 0, so the derivative is 1/lmbda^2
    if name == "boxcox":
        assert float(funcgrad.grad(fn, argnums=1)(0.0, 2.0)) == 0.25


def test_boxcox_rejects_complex_input():
    with pytest.raises(TypeError, match="boxcox"):
        special.boxcox(1j, 0.5)


@pytest.mark.parametrize("name", ["wofz", "dawsn", "boxcox", "boxcox1p"])
def test_jit_and_vmap_match_eager(name):
    fn = getattr(special, name)
    if name == "wofz":
        args = (np.array([[0.5 + 1j, -3 - 0.5j, 8 + 0j], [0.1j, 2.0 + 7j, -0.01 + 0.01j]]),)
    elif name == "dawsn":
        args = (np.array([[0.1, -3.0, 8.0], [0.6, 5.0, -20.0]]),)
    else:
        args = (np.array([[0.1, 3.0, 8.0], [0.6, 5.0, 20.0]]), np.array([0.0, -0.5, 1.5]))
    eager = fn(*args)
    jitted = funcgrad.jit(fn)(*args)
    in_axes = (0,) + (None,) * (len(args) - 1)
    mapped = funcgrad.vmap(fn, in_axes=in_axes)(*args)
    for out in (jitted, mapped):
        assert out.dtype == eager.dtype and out.shape == eager.shape
        np.testing.assert_array_equal(np.asarray(out), np.asarray(eager))
    grad_fn = funcgrad.grad(lambda *a: fnp.sum(fnp.abs(fn(*a)) ** 2))
    np.testing.assert_allclose(np.asarray(funcgrad.jit(grad_fn)(*args)),
                               np.asarray(grad_fn(*args)), rtol=1e-14)  # fmt: skip
