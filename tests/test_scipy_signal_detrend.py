"""funcgrad.scipy.signal.detrend against SciPy: both types, every axis, breakpoints,
dtypes, errors; derivatives (it is linear), jit and vmap."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as ss
from hypothesis import given
from hypothesis import strategies as st

import funcgrad
from funcgrad.scipy import signal
from funcgrad.test_util import check_grads

_RNG = np.random.default_rng(0)
_X = _RNG.standard_normal((3, 10, 4))


@pytest.mark.parametrize("type_", ["linear", "l", "constant", "c"])
@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
def test_matches_scipy_on_every_axis(type_, axis):
    out = signal.detrend(_X, axis=axis, type=type_)
    np.testing.assert_allclose(np.asarray(out), ss.detrend(_X, axis=axis, type=type_), atol=1e-13)


@pytest.mark.parametrize("bp", [0, [3], [2, 5, 7], 10, [1, 2], [9], np.array([6, 3]), [0, 10]])
def test_breakpoints_match_scipy(bp):
    out = signal.detrend(_X, axis=1, bp=bp)
    np.testing.assert_allclose(np.asarray(out), ss.detrend(_X, axis=1, bp=bp), atol=1e-13)
    # bp is ignored by the constant type, as in SciPy
    constant = signal.detrend(_X, axis=1, type="constant", bp=bp)
    np.testing.assert_allclose(np.asarray(constant), ss.detrend(_X, axis=1, type="c"), atol=1e-14)


def test_dtypes_follow_scipy():
    for x in (np.arange(6), np.arange(6.0, dtype=np.float32), np.ones(6, np.complex64)):
        out, expected = signal.detrend(x), ss.detrend(x)
        assert out.dtype == expected.dtype, x.dtype
        np.testing.assert_allclose(np.asarray(out), expected, atol=1e-5)  # SciPy rounds in float32
    z = _X[0] + 1j * _X[1]
    np.testing.assert_allclose(np.asarray(signal.detrend(z, axis=0, bp=[4])),
                               ss.detrend(z, axis=0, bp=[4]), atol=1e-13)  # fmt: skip


def test_removes_exact_lines():
    t = np.arange(12.0)
    piecewise = np.where(t < 5, 2.0 * t - 1.0, -3.0 * t + 40.0)
    np.testing.assert_allclose(np.asarray(signal.detrend(piecewise, bp=[5])), 0.0, atol=1e-12)


@given(st.lists(st.floats(-100, 100), min_size=1, max_size=12), st.data())
def test_property_against_scipy(values, data):
    x = np.array(values)
    bp = data.draw(st.lists(st.integers(0, x.size), min_size=1, max_size=3), label="bp")
    np.testing.assert_allclose(np.asarray(signal.detrend(x, bp=bp)), ss.detrend(x, bp=bp),
                               atol=1e-9)  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [({"type": "quadratic"}, ValueError, "type must be 'linear' or 'constant'"),
     ({"bp": [11]}, ValueError, r"breakpoints bp must lie in \[0, 10\]"),
     ({"bp": [-1]}, ValueError, "breakpoints"),
     ({"bp": [1.5]}, TypeError, "bp must be integers"),
     ({"axis": 3}, ValueError, r"axis 3 is out of range for data of shape \(3, 10, 4\)")],
)  # fmt: skip
def test_bad_arguments(kwargs, error, match):
    kwargs = {"axis": 1, **kwargs}
    with pytest.raises(error, match=f"detrend: {match}"):
        signal.detrend(_X, **kwargs)


def test_derivatives_jit_and_vmap():
    def f(x):
        return signal.detrend(x, axis=1, bp=[3, 7])

    check_grads(f, (_X,), order=2)
    # linear: the VJP of a cotangent is the transposed projection, checked by the identity
    _, vjp = funcgrad.vjp(f, _X)
    ct = _RNG.standard_normal(_X.shape)
    v = _RNG.standard_normal(_X.shape)
    np.testing.assert_allclose(np.sum(vjp(ct)[0] * v), np.sum(ct * np.asarray(f(v))), rtol=1e-12)
    np.testing.assert_array_equal(np.asarray(funcgrad.jit(f)(_X)), np.asarray(f(_X)))
    mapped = funcgrad.vmap(lambda x: signal.detrend(x, bp=[3, 7]), in_axes=2)(_X)
    np.testing.assert_allclose(np.asarray(mapped), np.moveaxis(ss.detrend(_X, axis=1, bp=[3, 7]),
                                                               2, 0), atol=1e-13)  # fmt: skip
