"""funcgrad.scipy.signal: N-d convolution and correlation (direct: ``convolve``,
``correlate``, ``convolve2d``, ``correlate2d``; by FFT: ``fftconvolve``) with SciPy's modes,
and spectral analysis (``stft``, ``istft``, ``csd``, ``welch``) with SciPy's defaults.

Examples:
    >>> import funcgrad.numpy as fnp
    >>> from funcgrad.scipy import signal
    >>> signal.convolve(fnp.asarray([1.0, 1.0]), fnp.asarray([1.0, 1.0])).tolist()
    [1.0, 2.0, 1.0]
"""

from funcgrad._src.scipy.signal import convolve, convolve2d, correlate, correlate2d, detrend
from funcgrad._src.scipy.spectral import csd, fftconvolve, istft, stft, welch

__all__ = ["convolve", "convolve2d", "correlate", "correlate2d", "csd", "detrend", "fftconvolve",
           "istft", "stft", "welch"]  # fmt: skip
