"""funcgrad.scipy.signal against scipy.signal for every mode, shapes where either input is
larger, complex and integer inputs, gradients and jit."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as ss

import funcgrad
import funcgrad.numpy as fnp
from funcgrad.scipy import signal
from funcgrad.test_util import check_grads

_RNG = np.random.default_rng(4)
_SHAPES = [((7,), (3,)), ((4,), (6,)), ((5, 6), (2, 3)), ((3, 4), (4, 2)), ((4, 5, 3), (2, 2, 2))]


def _nested(s1, s2):
    return all(a >= b for a, b in zip(s1, s2)) or all(a <= b for a, b in zip(s1, s2))


# 'valid' only where one input is at least as large in every axis (SciPy rejects the rest)
_CASES = [(mode, shapes) for mode in ("full", "same", "valid") for shapes in _SHAPES
          if mode != "valid" or _nested(*shapes)]  # fmt: skip


@pytest.mark.parametrize("fname", ["convolve", "correlate"])
@pytest.mark.parametrize("mode,shapes", _CASES, ids=str)
def test_against_scipy(fname, mode, shapes):
    s1, s2 = shapes
    x, k = _RNG.normal(size=s1), _RNG.normal(size=s2)
    got = getattr(signal, fname)(fnp.asarray(x), fnp.asarray(k), mode=mode)
    np.testing.assert_allclose(np.asarray(got), getattr(ss, fname)(x, k, mode=mode, method="direct"),
                               rtol=1e-12, atol=1e-12)  # fmt: skip


@pytest.mark.parametrize("fname", ["convolve2d", "correlate2d"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_2d_against_scipy(fname, mode):
    x, k = _RNG.normal(size=(5, 6)), _RNG.normal(size=(2, 3))
    got = getattr(signal, fname)(fnp.asarray(x), fnp.asarray(k), mode=mode)
    np.testing.assert_allclose(
        np.asarray(got), getattr(ss, fname)(x, k, mode=mode), rtol=1e-12, atol=1e-12
    )


def test_complex_and_integer_inputs():
    x = _RNG.normal(size=6) + 1j * _RNG.normal(size=6)
    k = _RNG.normal(size=3) + 1j * _RNG.normal(size=3)
    for fname in ("convolve", "correlate"):
        np.testing.assert_allclose(np.asarray(getattr(signal, fname)(fnp.asarray(x), fnp.asarray(k))),
                                   getattr(ss, fname)(x, k, method="direct"), rtol=1e-12)  # fmt: skip
    xi, ki = np.array([1, 2, 3]), np.array([4, 5])
    out = signal.convolve(fnp.asarray(xi), fnp.asarray(ki))
    assert out.dtype == np.int64
    np.testing.assert_array_equal(np.asarray(out), ss.convolve(xi, ki))


def test_errors_name_the_function():
    with pytest.raises(ValueError, match=r"signal.convolve: in1 and in2 must have the same number"):
        signal.convolve(fnp.ones(3), fnp.ones((2, 2)))
    with pytest.raises(ValueError, match=r"mode must be 'full', 'same' or 'valid'"):
        signal.correlate(fnp.ones(3), fnp.ones(2), mode="wrap")
    with pytest.raises(NotImplementedError, match=r"convolve2d: only boundary='fill'"):
        signal.convolve2d(fnp.ones((2, 2)), fnp.ones((2, 2)), boundary="wrap")
    with pytest.raises(ValueError, match=r"there is no FFT method"):
        signal.convolve(fnp.ones(3), fnp.ones(2), method="fft")


def test_gradients_jit_and_vmap():
    x, k = fnp.asarray(_RNG.normal(size=(4, 5))), fnp.asarray(_RNG.normal(size=(2, 2)))
    check_grads(lambda a, b: signal.convolve2d(a, b, mode="same"), (x, k), order=2)
    eager = signal.correlate(x, k, mode="valid")
    np.testing.assert_array_equal(np.asarray(funcgrad.jit(lambda a, b: signal.correlate(a, b, mode="valid"))(x, k)),
                                  np.asarray(eager))  # fmt: skip
    batch = fnp.stack([x, 2 * x])
    mapped = funcgrad.vmap(lambda a: signal.convolve(a, k))(batch)
    np.testing.assert_allclose(
        np.asarray(mapped[1]), ss.convolve(2 * np.asarray(x), np.asarray(k)), rtol=1e-12
    )
