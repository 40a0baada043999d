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
    with pytest.raises(ValueError, match=r"for the FFT method call signal.fftconvolve"):
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


# --------------------------------------------------------------------------- FFT-based


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("shapes,axes", [(((9,), (4,)), None), (((3, 40), (3, 7)), 1),
                                         (((5, 6), (2, 3)), None), (((4, 5), (1, 3)), [1]),
                                         (((3, 4), (6, 8)), None)], ids=str)  # fmt: skip
def test_fftconvolve_against_scipy(mode, shapes, axes):
    x, k = _RNG.normal(size=shapes[0]), _RNG.normal(size=shapes[1])
    got = signal.fftconvolve(fnp.asarray(x), fnp.asarray(k), mode=mode, axes=axes)
    np.testing.assert_allclose(np.asarray(got), ss.fftconvolve(x, k, mode=mode, axes=axes),
                               rtol=1e-10, atol=1e-12)  # fmt: skip


def test_fftconvolve_complex_integer_and_errors():
    x = _RNG.normal(size=7) + 1j * _RNG.normal(size=7)
    k = _RNG.normal(size=3) - 1j * _RNG.normal(size=3)
    np.testing.assert_allclose(np.asarray(signal.fftconvolve(fnp.asarray(x), fnp.asarray(k))),
                               ss.fftconvolve(x, k), rtol=1e-12, atol=1e-12)  # fmt: skip
    out = signal.fftconvolve(fnp.asarray([1, 2, 3]), fnp.asarray([1, 1]))
    assert out.dtype == np.float64
    np.testing.assert_allclose(np.asarray(out), [1.0, 3.0, 5.0, 3.0], atol=1e-12)
    with pytest.raises(ValueError, match=r"fftconvolve: for mode='valid' one input must be"):
        signal.fftconvolve(fnp.ones((3, 2)), fnp.ones((2, 3)), mode="valid")
    with pytest.raises(ValueError, match=r"fftconvolve: axis 0 is not convolved"):
        signal.fftconvolve(fnp.ones((3, 2)), fnp.ones((2, 3)), axes=1)


_STFT_CASES = [
    {},
    {"nperseg": 16},
    {"nperseg": 20, "noverlap": 5, "nfft": 32, "boundary": "even", "detrend": "linear"},
    {"nperseg": 16, "boundary": "odd", "padded": False, "window": "hamming", "scaling": "psd"},
    {"nperseg": 12, "return_onesided": False, "boundary": None, "window": "blackman",
     "detrend": "constant"},
    {"window": _RNG.uniform(0.5, 1.0, size=10), "nperseg": 10, "noverlap": 7,
     "boundary": "constant",
     "fs": 3.0},
]  # fmt: skip


@pytest.mark.parametrize("kw", _STFT_CASES, ids=range(len(_STFT_CASES)))
def test_stft_against_scipy(kw):
    x = _RNG.normal(size=(2, 70))
    f, t, z = signal.stft(fnp.asarray(x), **kw)
    f_ref, t_ref, z_ref = ss.stft(x, **kw)
    np.testing.assert_allclose(f, f_ref, rtol=1e-14)
    np.testing.assert_allclose(t, t_ref, rtol=1e-14)
    np.testing.assert_allclose(np.asarray(z), z_ref, rtol=1e-10, atol=1e-13)


def test_stft_other_axis_and_complex_input():
    x = _RNG.normal(size=(50, 3)) + 1j * _RNG.normal(size=(50, 3))
    with pytest.warns(UserWarning):
        f_ref, t_ref, z_ref = ss.stft(x, nperseg=16, axis=0)
    f, t, z = signal.stft(fnp.asarray(x), nperseg=16, axis=0)  # complex: two-sided, as SciPy
    assert z.shape == z_ref.shape
    np.testing.assert_allclose(f, f_ref, rtol=1e-14)
    np.testing.assert_allclose(t, t_ref, rtol=1e-14)
    np.testing.assert_allclose(np.asarray(z), z_ref, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("kw,onesided", [({"nperseg": 16}, True),
                                         ({"nperseg": 20, "noverlap": 15, "nfft": 24}, True),
                                         ({"nperseg": 16, "window": "hamming"}, False),
                                         ({"nperseg": 16, "scaling": "psd", "fs": 2.0}, True)],
                         ids=range(4))  # fmt: skip
def test_istft_against_scipy_and_round_trip(kw, onesided):
    x = _RNG.normal(size=(2, 64))
    _, _, z = ss.stft(x, return_onesided=onesided, **kw)
    t_ref, x_ref = ss.istft(z, input_onesided=onesided, **kw)
    t, got = signal.istft(fnp.asarray(z), input_onesided=onesided, **kw)
    np.testing.assert_allclose(t, t_ref, rtol=1e-14)
    np.testing.assert_allclose(np.asarray(got), x_ref, rtol=1e-10, atol=1e-12)
    # perfect reconstruction (hann/hamming with 50% overlap satisfy COLA)
    np.testing.assert_allclose(np.real(np.asarray(got))[:, :64], x, atol=1e-12)


def test_istft_axes():
    z = _RNG.normal(size=(9, 3, 5)) + 1j * _RNG.normal(size=(9, 3, 5))  # (freq, batch, time)
    t_ref, x_ref = ss.istft(z, freq_axis=0, time_axis=2)
    np.testing.assert_allclose(signal.istft(fnp.asarray(z), freq_axis=0, time_axis=2)[0], t_ref)
    _, got = signal.istft(fnp.asarray(z), freq_axis=0, time_axis=2)
    np.testing.assert_allclose(np.asarray(got), x_ref, rtol=1e-10, atol=1e-12)


_WELCH_CASES = [
    {},
    {"nperseg": 16, "average": "median"},
    {"nperseg": 20, "detrend": "linear", "scaling": "spectrum", "window": ("kaiser", 4.0)},
    {"nperseg": 15, "return_onesided": False, "detrend": False, "noverlap": 3},
    {"nperseg": 16, "nfft": 20, "window": "bartlett", "fs": 10.0},
]  # fmt: skip


@pytest.mark.parametrize("kw", _WELCH_CASES, ids=range(len(_WELCH_CASES)))
def test_csd_and_welch_against_scipy(kw):
    x, y = _RNG.normal(size=(2, 90)), _RNG.normal(size=90)
    f, p = signal.csd(fnp.asarray(x), fnp.asarray(y), **kw)
    f_ref, p_ref = ss.csd(x, y, **kw)
    np.testing.assert_allclose(f, f_ref, rtol=1e-14)
    np.testing.assert_allclose(np.asarray(p), p_ref, rtol=1e-10, atol=1e-14)
    f, p = signal.welch(fnp.asarray(x), **kw)
    np.testing.assert_allclose(np.asarray(p), ss.welch(x, **kw)[1], rtol=1e-10, atol=1e-14)


def test_welch_axis_zero_and_unequal_lengths():
    x, y = _RNG.normal(size=(60, 2)), _RNG.normal(size=(45, 2))
    np.testing.assert_allclose(np.asarray(signal.welch(fnp.asarray(x), nperseg=16, axis=0)[1]),
                               ss.welch(x, nperseg=16, axis=0)[1], rtol=1e-10)  # fmt: skip
    np.testing.assert_allclose(
        np.asarray(signal.csd(fnp.asarray(x), fnp.asarray(y), nperseg=16, axis=0)[1]),
        ss.csd(x, y, nperseg=16, axis=0)[1], rtol=1e-10, atol=1e-14,
    )  # fmt: skip


def test_spectral_errors_name_the_function_and_argument():
    with pytest.raises(ValueError, match=r"signal.stft: noverlap=8 must be in \[0, nperseg=8\)"):
        signal.stft(fnp.ones(20), nperseg=8, noverlap=8)
    with pytest.raises(ValueError, match=r"signal.welch: nfft=4 must be at least nperseg=8"):
        signal.welch(fnp.ones(20), nperseg=8, nfft=4)
    with pytest.raises(ValueError, match=r"signal.stft: window 'gauss' is not supported"):
        signal.stft(fnp.ones(20), window="gauss", nperseg=8)
    with pytest.raises(ValueError, match=r"signal.csd: nperseg=5 differs from the window"):
        signal.csd(fnp.ones(20), fnp.ones(20), window=np.ones(4), nperseg=5)
    with pytest.raises(ValueError, match=r"signal.istft: Zxx must be at least 2-d"):
        signal.istft(fnp.ones(5))
    with pytest.raises(ValueError, match=r"signal.welch: average must be 'mean' or 'median'"):
        signal.welch(fnp.ones(40), nperseg=8, average="max")


def test_spectral_gradients():
    x = fnp.asarray(_RNG.normal(size=24))
    k = fnp.asarray(_RNG.normal(size=5))
    check_grads(lambda a, b: signal.fftconvolve(a, b, mode="same"), (x, k), order=2)
    check_grads(lambda a: fnp.abs(signal.stft(a, nperseg=8)[2]) ** 2, (x,), order=1)
    check_grads(lambda a: signal.welch(a, nperseg=8, detrend="linear")[1], (x,), order=2)
    check_grads(lambda a: fnp.real(signal.csd(a, 2.0 * a[::-1], nperseg=8)[1]), (x,), order=1)
    _, _, z = ss.stft(np.asarray(x), nperseg=8)
    zr, zi = fnp.asarray(z.real), fnp.asarray(z.imag)
    check_grads(lambda a, b: signal.istft(a + 1j * b, nperseg=8)[1], (zr, zi), order=1)


def test_spectral_jit_and_vmap_equal_eager():
    xs = fnp.asarray(_RNG.normal(size=(3, 40)))
    for fn in (lambda a: signal.stft(a, nperseg=8)[2],
               lambda a: signal.istft(signal.stft(a, nperseg=8)[2], nperseg=8)[1],
               lambda a: signal.welch(a, nperseg=16, average="median")[1],
               lambda a: signal.fftconvolve(a, a[:5], mode="valid")):  # fmt: skip
        eager = np.stack([np.asarray(fn(xs[i])) for i in range(3)])
        jitted = funcgrad.jit(fn)(xs[1])
        np.testing.assert_array_equal(np.asarray(jitted), eager[1])
        assert jitted.dtype == eager.dtype
        mapped = funcgrad.vmap(fn)(xs)
        np.testing.assert_allclose(np.asarray(mapped), eager, rtol=1e-12, atol=1e-14)
