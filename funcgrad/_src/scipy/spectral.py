"""``funcgrad.scipy.signal``'s FFT-based functions: ``fftconvolve``, ``stft``/``istft`` and
Welch's cross/power spectral densities (``csd``, ``welch``), with SciPy's legacy defaults.

Everything is a composition of ``funcgrad.numpy.fft`` with gathers (segments are one
fancy index ``x[..., idx]`` with ``idx[s, n] = s * nstep + n``) and one scatter-add (the
overlap-add of ``istft``), so grad, vmap and jit come from those primitives. Windows are
computed on the host with NumPy as SciPy's *periodic* windows (``get_window``'s default
``fftbins=True``); an array window is used as given.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import funcgrad.numpy as fnp

__all__ = ["csd", "fftconvolve", "istft", "stft", "welch"]


# ----------------------------------------------------------------------------- fftconvolve


def fftconvolve(in1: Any, in2: Any, mode: str = "full", axes: Any = None) -> Any:
    """The convolution of two N-d arrays computed with FFTs (as ``scipy.signal.fftconvolve``).

    The convolved ``axes`` (default all) are zero-padded to ``n + k - 1`` and multiplied in
    the frequency domain (``rfftn`` for real inputs, ``fftn`` for complex ones); the other
    axes broadcast. ``mode`` crops as :func:`convolve`. Integer and bool inputs give
    float64, as SciPy's. Agrees with the direct :func:`convolve` to rounding (about
    ``1e-15`` relative to the largest output in float64).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import signal
        >>> out = signal.fftconvolve(fnp.asarray([1.0, 2.0, 3.0]), fnp.asarray([0.0, 1.0, 0.5]))
        >>> [round(v, 10) + 0.0 for v in out.tolist()]
        [0.0, 1.0, 2.5, 4.0, 1.5]
    """
    x, k = fnp.asarray(in1), fnp.asarray(in2)
    if x.ndim != k.ndim:
        raise ValueError(
            f"funcgrad.scipy.signal.fftconvolve: in1 and in2 must have the same number of "
            f"dimensions, got shapes {x.shape} and {k.shape}"
        )
    if mode not in ("full", "same", "valid"):
        raise ValueError(f"funcgrad.scipy.signal.fftconvolve: mode must be 'full', 'same' or "
                         f"'valid', got {mode!r}")  # fmt: skip
    if x.size == 0 or k.size == 0:
        return fnp.zeros((0,) * x.ndim, dtype=np.float64)
    ndim = x.ndim
    axes = list(range(ndim)) if axes is None else [a % ndim for a in np.atleast_1d(axes)]
    for a in range(ndim):
        if a not in axes and x.shape[a] != k.shape[a] and 1 not in (x.shape[a], k.shape[a]):
            raise ValueError(
                f"funcgrad.scipy.signal.fftconvolve: axis {a} is not convolved, so in1 and in2 "
                f"must broadcast there; got shapes {x.shape} and {k.shape}"
            )
    if mode == "valid":
        x_fits = all(x.shape[a] >= k.shape[a] for a in axes)
        if not x_fits:
            if not all(k.shape[a] >= x.shape[a] for a in axes):
                raise ValueError(
                    f"funcgrad.scipy.signal.fftconvolve: for mode='valid' one input must be at "
                    f"least as large as the other in every convolved axis, got shapes {x.shape} "
                    f"and {k.shape}"
                )
            x, k = k, x
    dtype = fnp.result_type(x, k, np.float32) if x.dtype.kind in "fc" or k.dtype.kind in "fc" \
        else np.dtype(np.float64)  # fmt: skip
    x, k = x.astype(dtype), k.astype(dtype)
    full = [x.shape[a] + k.shape[a] - 1 for a in axes]
    if dtype.kind == "c":
        out = fnp.fft.ifftn(fnp.fft.fftn(x, s=full, axes=axes) * fnp.fft.fftn(k, s=full, axes=axes),
                            s=full, axes=axes)  # fmt: skip
    else:
        spec = fnp.fft.rfftn(x, s=full, axes=axes) * fnp.fft.rfftn(k, s=full, axes=axes)
        out = fnp.fft.irfftn(spec, s=full, axes=axes).astype(dtype)
    if mode == "full":
        return out
    index = [slice(None)] * out.ndim
    for a, n_full in zip(axes, full):
        n = x.shape[a] if mode == "same" else x.shape[a] - k.shape[a] + 1
        start = (n_full - n) // 2
        index[a] = slice(start, start + n)
    return out[tuple(index)]


# ----------------------------------------------------------------------------- windows

# SciPy's periodic windows: the symmetric window of length N + 1 without its last point
_COSINE_WINDOWS = {
    "hann": (0.5, 0.5),
    "hanning": (0.5, 0.5),
    "hann_periodic": (0.5, 0.5),
    "hamming": (0.54, 0.46),
    "blackman": (0.42, 0.5, 0.08),
}


def _window(fname: str, window: Any, nperseg: int) -> np.ndarray:
    name = window
    if isinstance(window, tuple):
        name, *params = window
        if name == "kaiser" and len(params) == 1:
            return np.kaiser(nperseg + 1, float(params[0]))[:-1]
        raise ValueError(f"funcgrad.scipy.signal.{fname}: window tuple {window!r} is not "
                         f"supported; pass ('kaiser', beta) or the window values as an array")  # fmt: skip
    n = np.arange(nperseg) / nperseg
    if name in _COSINE_WINDOWS:
        coef = _COSINE_WINDOWS[name]
        return sum((-1) ** j * c * np.cos(2 * np.pi * j * n) for j, c in enumerate(coef))
    if name in ("boxcar", "rect", "rectangular", "ones"):
        return np.ones(nperseg)
    if name in ("bartlett", "triang_periodic"):
        return 1.0 - np.abs(2.0 * n - 1.0)
    raise ValueError(
        f"funcgrad.scipy.signal.{fname}: window {window!r} is not supported; use 'hann', "
        f"'hamming', 'blackman', 'bartlett', 'boxcar', ('kaiser', beta) or an array"
    )


def _window_and_length(fname: str, window: Any, nperseg: Any, length: int | None):
    """SciPy's ``_triage_segments``: a named window takes ``nperseg`` (default 256, at most
    the input length); an array window fixes ``nperseg`` to its length."""
    if isinstance(window, (str, tuple)):
        nperseg = 256 if nperseg is None else int(nperseg)
        if length is not None:
            nperseg = min(nperseg, length)
        if nperseg < 1:
            raise ValueError(f"funcgrad.scipy.signal.{fname}: nperseg must be a positive "
                             f"integer, got {nperseg}")  # fmt: skip
        return _window(fname, window, nperseg), nperseg
    win = np.asarray(window)
    if win.ndim != 1:
        raise ValueError(f"funcgrad.scipy.signal.{fname}: window must be 1-d, got shape "
                         f"{win.shape}")  # fmt: skip
    if length is not None and win.shape[0] > length:
        raise ValueError(f"funcgrad.scipy.signal.{fname}: the window (length {win.shape[0]}) is "
                         f"longer than the input (length {length})")  # fmt: skip
    if nperseg is not None and int(nperseg) != win.shape[0]:
        raise ValueError(f"funcgrad.scipy.signal.{fname}: nperseg={nperseg} differs from the "
                         f"window's length {win.shape[0]}")  # fmt: skip
    return win, win.shape[0]


def _overlap_and_fft_length(fname: str, nperseg: int, noverlap: Any, nfft: Any):
    nfft = nperseg if nfft is None else int(nfft)
    if nfft < nperseg:
        raise ValueError(f"funcgrad.scipy.signal.{fname}: nfft={nfft} must be at least "
                         f"nperseg={nperseg}")  # fmt: skip
    noverlap = nperseg // 2 if noverlap is None else int(noverlap)
    if not 0 <= noverlap < nperseg:
        raise ValueError(f"funcgrad.scipy.signal.{fname}: noverlap={noverlap} must be in "
                         f"[0, nperseg={nperseg})")  # fmt: skip
    return noverlap, nfft


# ----------------------------------------------------------------------------- segments


def _extend(fname: str, x: Any, n: int, boundary: str) -> Any:
    """Extend the last axis by ``n`` points on each side (SciPy's ``*_ext`` functions)."""
    if n == 0:
        return x
    if boundary == "zeros":
        return fnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(n, n)])
    if boundary == "constant":
        left = fnp.repeat(x[..., :1], n, axis=-1)
        right = fnp.repeat(x[..., -1:], n, axis=-1)
    elif boundary in ("even", "odd"):
        if x.shape[-1] <= n:
            raise ValueError(f"funcgrad.scipy.signal.{fname}: boundary={boundary!r} needs more "
                             f"than nperseg // 2 = {n} samples, got {x.shape[-1]}")  # fmt: skip
        left = x[..., n:0:-1]
        right = x[..., -2 : -(n + 2) : -1]
        if boundary == "odd":
            left, right = 2 * x[..., :1] - left, 2 * x[..., -1:] - right
    else:
        raise ValueError(f"funcgrad.scipy.signal.{fname}: boundary must be 'zeros', 'even', "
                         f"'odd', 'constant' or None, got {boundary!r}")  # fmt: skip
    return fnp.concatenate([left, x, right], axis=-1)


def _detrend(fname: str, d: Any, detrend: Any) -> Any:
    """Detrend each segment along the last axis: False, 'constant', 'linear' or a callable."""
    if detrend is False or detrend is None:
        return d
    if callable(detrend):
        return detrend(d)
    if detrend == "constant":
        return d - fnp.mean(d, axis=-1, keepdims=True)
    if detrend == "linear":
        # least-squares line: slope = sum(t_c d) / sum(t_c^2) with centred times t_c
        t = np.arange(d.shape[-1], dtype=np.float64)
        t = t - t.mean()
        denom = float(np.sum(t * t)) or 1.0
        tc = fnp.asarray(t, dtype=d.dtype) if d.dtype.kind == "f" else fnp.asarray(t)
        slope = fnp.sum(d * tc, axis=-1, keepdims=True) / denom
        return d - fnp.mean(d, axis=-1, keepdims=True) - slope * tc
    raise ValueError(f"funcgrad.scipy.signal.{fname}: detrend must be False, 'constant', "
                     f"'linear' or a callable, got {detrend!r}")  # fmt: skip


def _segment_spectra(x, win, nperseg, noverlap, nfft, detrend, onesided, fname):
    """``fft(win * detrend(x[..., s*nstep : s*nstep + nperseg]))`` for every segment ``s``:
    shape ``(..., segments, frequencies)``."""
    nstep = nperseg - noverlap
    nseg = (x.shape[-1] - nperseg) // nstep + 1
    idx = np.arange(nseg)[:, None] * nstep + np.arange(nperseg)[None, :]
    segments = _detrend(fname, x[..., idx], detrend)
    wdtype = x.dtype if x.dtype.kind == "f" else fnp.real(x).dtype
    segments = segments * fnp.asarray(win, dtype=wdtype)
    if onesided:
        return fnp.fft.rfft(fnp.real(segments), n=nfft, axis=-1)
    return fnp.fft.fft(segments, n=nfft, axis=-1)


def _as_inexact(x: Any) -> Any:
    x = fnp.asarray(x)
    return x if x.dtype.kind in "fc" else x.astype(np.float64)


def _spectral(fname, x, y, fs, window, nperseg, noverlap, nfft, detrend, return_onesided,
              scaling, axis, mode, boundary, padded):  # fmt: skip
    """SciPy's legacy ``_spectral_helper``: ``(freqs, times, result)`` with the data axis
    replaced by ``(frequencies, segments)``."""
    x = fnp.moveaxis(_as_inexact(x), axis, -1)
    if y is not None:
        y = fnp.moveaxis(_as_inexact(y), axis, -1)
        n = max(x.shape[-1], y.shape[-1])
        x = fnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, n - x.shape[-1])])
        y = fnp.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, n - y.shape[-1])])
    win, nperseg = _window_and_length(fname, window, nperseg, x.shape[-1])
    noverlap, nfft = _overlap_and_fft_length(fname, nperseg, noverlap, nfft)
    nstep = nperseg - noverlap
    if boundary is not None:
        x = _extend(fname, x, nperseg // 2, boundary)
        y = None if y is None else _extend(fname, y, nperseg // 2, boundary)
    if padded:
        extra = (-(x.shape[-1] - nperseg) % nstep) % nperseg
        x = fnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, extra)])
        y = None if y is None else fnp.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, extra)])
    if scaling == "density":
        scale = 1.0 / (fs * float(np.sum(win * win)))
    elif scaling in ("spectrum", "magnitude"):
        scale = 1.0 / float(np.sum(win)) ** 2
    else:
        raise ValueError(f"funcgrad.scipy.signal.{fname}: scaling must be 'density' or "
                         f"'spectrum', got {scaling!r}")  # fmt: skip
    if mode == "stft":
        scale = np.sqrt(scale)
    complex_in = x.dtype.kind == "c" or (y is not None and y.dtype.kind == "c")
    onesided = bool(return_onesided) and not complex_in
    freqs = np.fft.rfftfreq(nfft, 1 / fs) if onesided else np.fft.fftfreq(nfft, 1 / fs)
    if x.shape[-1] < nperseg:
        raise ValueError(f"funcgrad.scipy.signal.{fname}: the input (length {x.shape[-1]}) is "
                         f"shorter than nperseg={nperseg}")  # fmt: skip
    spec = _segment_spectra(x, win, nperseg, noverlap, nfft, detrend, onesided, fname)
    if y is not None:
        spec = fnp.conj(spec) * _segment_spectra(y, win, nperseg, noverlap, nfft, detrend,
                                                 onesided, fname)  # fmt: skip
    elif mode == "psd":
        spec = fnp.conj(spec) * spec
    spec = spec * scale
    if onesided and mode == "psd":
        # fold the negative frequencies onto the positive ones (not DC, not Nyquist)
        double = np.full(spec.shape[-1], 2.0)
        double[0] = 1.0
        if nfft % 2 == 0:
            double[-1] = 1.0
        spec = spec * fnp.asarray(double, dtype=fnp.real(spec).dtype)
    times = np.arange(nperseg / 2, x.shape[-1] - nperseg / 2 + 1, nstep) / float(fs)
    if boundary is not None:
        times = times - (nperseg / 2) / fs
    return freqs, times, fnp.swapaxes(spec, -1, -2)


def _move_result(result: Any, axis: int) -> Any:
    """Put the frequency axis where the data axis was and keep segments last (SciPy's
    convention: ``(50, 3)`` with ``axis=0`` gives ``(freqs, 3, segments)``)."""
    return fnp.moveaxis(result, -2, axis if axis >= 0 else axis - 1)


# ----------------------------------------------------------------------------- public


def stft(x: Any, fs: float = 1.0, window: Any = "hann", nperseg: int = 256,
         noverlap: int | None = None, nfft: int | None = None, detrend: Any = False,
         return_onesided: bool = True, boundary: str | None = "zeros", padded: bool = True,
         axis: int = -1, scaling: str = "spectrum") -> tuple[np.ndarray, np.ndarray, Any]:  # fmt: skip
    """The short-time Fourier transform, as SciPy's (legacy) ``scipy.signal.stft``.

    The signal (along ``axis``) is extended by ``nperseg // 2`` points each side
    (``boundary``), zero-padded to a whole number of steps (``padded``), cut into segments
    of ``nperseg`` overlapping by ``noverlap`` (default ``nperseg // 2``), each
    windowed and transformed:
    ``Z[f, s] = sum_n w[n] x[s * step + n] exp(-2 pi i f n / nfft) / sum(w)``
    (``scaling='spectrum'``; ``'psd'`` divides by ``sqrt(fs * sum(w^2))`` instead).
    A named ``window`` is SciPy's periodic window; ``nperseg`` is capped at the input
    length as SciPy does.

    Returns:
        ``(f, t, Zxx)``: the frequencies and segment times (NumPy arrays, as they depend
        only on shapes) and the complex transform of shape
        ``x.shape[:axis] + (len(f),) + x.shape[axis+1:] + (len(t),)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import signal
        >>> f, t, z = signal.stft(fnp.ones(8), nperseg=4)
        >>> z.shape, [round(v, 6) for v in fnp.abs(z[0]).tolist()]
        ((3, 5), [0.75, 1.0, 1.0, 1.0, 0.25])
    """
    scaling = "density" if scaling == "psd" else scaling
    if scaling not in ("spectrum", "density"):
        raise ValueError(f"funcgrad.scipy.signal.stft: scaling must be 'spectrum' or 'psd', got "
                         f"{scaling!r}")  # fmt: skip
    f, t, z = _spectral("stft", x, None, fs, window, nperseg, noverlap, nfft, detrend,
                        return_onesided, scaling, axis, "stft", boundary, padded)  # fmt: skip
    return f, t, _move_result(z, axis)


def istft(Zxx: Any, fs: float = 1.0, window: Any = "hann", nperseg: int | None = None,
          noverlap: int | None = None, nfft: int | None = None, input_onesided: bool = True,
          boundary: bool = True, time_axis: int = -1, freq_axis: int = -2,
          scaling: str = "spectrum") -> tuple[np.ndarray, Any]:  # fmt: skip
    """The inverse of :func:`stft` by weighted overlap-add, as SciPy's ``scipy.signal.istft``.

    Each segment is inverse-transformed (``irfft`` when ``input_onesided``), scaled back,
    windowed and added at its offset; the sum is divided by the overlapped ``sum w^2``
    (where that exceeds ``1e-10``) and, with ``boundary``, the ``nperseg // 2`` extension
    points are cut from each end. Defaults are deduced from ``Zxx`` as SciPy's:
    ``nperseg = 2 (frequencies - 1)`` for one-sided input.

    Returns:
        ``(t, x)``: the sample times (NumPy) and the signal, the time axis in place of
        the two transform axes.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import signal
        >>> x = fnp.arange(8.0)
        >>> _, _, z = signal.stft(x, nperseg=4)
        >>> t, y = signal.istft(z, nperseg=4)
        >>> [round(v, 6) for v in y.tolist()]
        [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    """
    z = fnp.asarray(Zxx)
    if z.ndim < 2:
        raise ValueError(f"funcgrad.scipy.signal.istft: Zxx must be at least 2-d (frequencies, "
                         f"segments), got shape {z.shape}")  # fmt: skip
    freq_axis, time_axis = freq_axis % z.ndim, time_axis % z.ndim
    if freq_axis == time_axis:
        raise ValueError(f"funcgrad.scipy.signal.istft: time_axis and freq_axis must differ, both "
                         f"are {time_axis}")  # fmt: skip
    if z.dtype.kind != "c":
        z = z.astype(fnp.result_type(z.dtype, np.complex64))
    z = fnp.moveaxis(z, (freq_axis, time_axis), (-2, -1))
    nseg = z.shape[-1]
    n_default = 2 * (z.shape[-2] - 1) if input_onesided else z.shape[-2]
    if nperseg is None and not isinstance(window, (str, tuple)):
        nperseg = np.shape(window)[0]
    nperseg = n_default if nperseg is None else int(nperseg)
    if nperseg < 1:
        raise ValueError(f"funcgrad.scipy.signal.istft: nperseg must be a positive integer, got "
                         f"{nperseg}")  # fmt: skip
    if nfft is None:
        nfft = nperseg if input_onesided and nperseg == n_default + 1 else n_default
    win, _ = _window_and_length("istft", window, nperseg, None)
    noverlap, nfft = _overlap_and_fft_length("istft", nperseg, noverlap, nfft)
    nstep = nperseg - noverlap
    inverse = fnp.fft.irfft if input_onesided else fnp.fft.ifft
    segments = inverse(z, n=nfft, axis=-2)[..., :nperseg, :]
    if scaling == "spectrum":
        back = float(np.sum(win))
    elif scaling == "psd":
        back = float(np.sqrt(fs * np.sum(win**2)))
    else:
        raise ValueError(f"funcgrad.scipy.signal.istft: scaling must be 'spectrum' or 'psd', got "
                         f"{scaling!r}")  # fmt: skip
    real_dtype = fnp.real(segments).dtype
    wins = fnp.asarray(win * back, dtype=real_dtype)
    segments = fnp.swapaxes(segments, -1, -2) * wins  # (..., segments, nperseg)
    length = nperseg + (nseg - 1) * nstep
    idx = np.arange(nseg)[:, None] * nstep + np.arange(nperseg)[None, :]
    out = fnp.zeros(segments.shape[:-2] + (length,), dtype=segments.dtype)
    out = out.at[..., idx].add(segments)
    norm = np.zeros(length)
    np.add.at(norm, idx, np.broadcast_to(win**2, idx.shape))
    if boundary:
        half = nperseg // 2
        out, norm = out[..., half : length - half], norm[half : length - half]
    out = out / fnp.asarray(np.where(norm > 1e-10, norm, 1.0), dtype=real_dtype)
    if input_onesided:
        out = fnp.real(out)
    if out.ndim > 1 and time_axis != z.ndim - 1:
        out = fnp.moveaxis(out, -1, time_axis - 1 if freq_axis < time_axis else time_axis)
    return np.arange(out.shape[-1] if out.ndim == 1 else out.shape[0]) / float(fs), out


def _average(fname: str, pxy: Any, average: str) -> Any:
    """Average periodograms over the last (segment) axis: mean, or the bias-corrected median
    (SciPy's ``_median_bias``: the median of ``n`` chi-square(2) periodograms over their mean)."""
    if pxy.shape[-1] == 1:
        return pxy[..., 0]
    if average == "mean":
        return fnp.mean(pxy, axis=-1)
    if average == "median":
        n = pxy.shape[-1]
        even = 2 * np.arange(1.0, (n - 1) // 2 + 1)
        bias = 1 + float(np.sum(1.0 / (even + 1) - 1.0 / even))
        if pxy.dtype.kind == "c":
            med = fnp.median(fnp.real(pxy), axis=-1) + 1j * fnp.median(fnp.imag(pxy), axis=-1)
        else:
            med = fnp.median(pxy, axis=-1)
        return med / bias
    raise ValueError(f"funcgrad.scipy.signal.{fname}: average must be 'mean' or 'median', got "
                     f"{average!r}")  # fmt: skip


def csd(x: Any, y: Any, fs: float = 1.0, window: Any = "hann", nperseg: int | None = None,
        noverlap: int | None = None, nfft: int | None = None, detrend: Any = "constant",
        return_onesided: bool = True, scaling: str = "density", axis: int = -1,
        average: str = "mean") -> tuple[np.ndarray, Any]:  # fmt: skip
    """The cross power spectral density by Welch's method, as ``scipy.signal.csd``.

    ``P[f] = average_s conj(X_s[f]) Y_s[f] * scale`` over detrended, windowed segments
    (``nperseg`` default 256 capped at the input length, ``noverlap = nperseg // 2``);
    ``scale = 1 / (fs sum w^2)`` (``'density'``) or ``1 / (sum w)^2`` (``'spectrum'``);
    a one-sided result doubles every frequency but DC and Nyquist. The shorter input is
    zero-padded to the longer; the other axes broadcast.

    Returns:
        ``(f, Pxy)``: frequencies (NumPy) and the complex cross spectrum, frequencies in
        place of ``axis``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import signal
        >>> f, p = signal.csd(fnp.ones(8), fnp.ones(8), nperseg=4, detrend=False)
        >>> f.tolist(), [round(v, 6) for v in fnp.real(p).tolist()]
        ([0.0, 0.25, 0.5], [2.666667, 1.333333, 0.0])
    """
    x, y = _as_inexact(x), _as_inexact(y)
    outer = np.broadcast_shapes(tuple(np.delete(x.shape, axis)), tuple(np.delete(y.shape, axis)))
    ndim = len(outer) + 1
    f, _, pxy = _spectral("csd", x, y, fs, window, nperseg, noverlap, nfft, detrend,
                          return_onesided, scaling, axis, "psd", None, False)  # fmt: skip
    pxy = _average("csd", pxy, average)
    return f, fnp.moveaxis(pxy, -1, axis % ndim)


def welch(x: Any, fs: float = 1.0, window: Any = "hann", nperseg: int | None = None,
          noverlap: int | None = None, nfft: int | None = None, detrend: Any = "constant",
          return_onesided: bool = True, scaling: str = "density", axis: int = -1,
          average: str = "mean") -> tuple[np.ndarray, Any]:  # fmt: skip
    """The power spectral density by Welch's method: the real part of ``csd(x, x)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import signal
        >>> f, p = signal.welch(fnp.asarray([1.0, -1.0] * 4), nperseg=4)
        >>> [round(v, 6) for v in p.tolist()]
        [0.0, 1.333333, 2.666667]
    """
    x = _as_inexact(x)
    ndim = x.ndim
    f, _, pxx = _spectral("welch", x, None, fs, window, nperseg, noverlap, nfft, detrend,
                          return_onesided, scaling, axis, "psd", None, False)  # fmt: skip
    pxx = _average("welch", fnp.real(pxx), average)
    return f, fnp.moveaxis(pxx, -1, axis % ndim)
