"""``funcgrad.scipy.signal``: direct (not FFT) convolution and correlation of N-d arrays,
and ``detrend``.

Each is one ``lax.conv_general_dilated`` (a correlation) over the full output, then the
slice that ``mode`` asks for, exactly as SciPy's direct method: ``'full'`` (size
``n + k - 1`` per axis), ``'same'`` (size ``n``, centred on the full output) or
``'valid'`` (size ``max(n, k) - min(n, k) + 1``). Complex inputs use four real
correlations; integer inputs are computed in float64 and rounded back, as SciPy returns
integers for them. The FFT-based functions (``fftconvolve``, ``stft``, ``istft``,
``csd``, ``welch``) live in :mod:`funcgrad._src.scipy.spectral`.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

import funcgrad.numpy as fnp
from funcgrad._src.lax.convolution import conv_general_dilated

__all__ = ["convolve", "convolve2d", "correlate", "correlate2d", "detrend"]
# the FFT-based functions are re-exported by funcgrad.scipy.signal from .spectral


def _real_correlate(x: Any, k: Any) -> Any:
    """The full correlation of two real arrays of one rank."""
    pads = [(s - 1, s - 1) for s in k.shape]
    out = conv_general_dilated(x[None, None], k[None, None], (1,) * x.ndim, pads)
    return out[0, 0]


def _full_correlate(x: Any, k: Any) -> Any:
    if x.dtype.kind != "c" and k.dtype.kind != "c":
        return _real_correlate(x, k)
    # correlation conjugates the kernel: (a + ib) * conj(c + id) = ac + bd + i(bc - ad)
    a, b, c, d = fnp.real(x), fnp.imag(x), fnp.real(k), fnp.imag(k)
    real = _real_correlate(a, c) + _real_correlate(b, d)
    imag = _real_correlate(b, c) - _real_correlate(a, d)
    return real + 1j * imag


def _operands(fname: str, in1: Any, in2: Any) -> tuple[Any, Any, np.dtype]:
    in1, in2 = fnp.asarray(in1), fnp.asarray(in2)
    if in1.ndim != in2.ndim:
        raise ValueError(
            f"funcgrad.scipy.signal.{fname}: in1 and in2 must have the same number of "
            f"dimensions, got shapes {in1.shape} and {in2.shape}"
        )
    if in1.size == 0 or in2.size == 0:
        raise ValueError(f"funcgrad.scipy.signal.{fname}: inputs must not be empty")
    dtype = fnp.result_type(in1, in2)
    work = dtype if dtype.kind in "fc" else np.dtype(np.float64)
    return in1.astype(work), in2.astype(work), dtype


def _crop(full: Any, s1: tuple, s2: tuple, mode: str, fname: str, late: bool = False) -> Any:
    """The ``mode`` part of the full output; ``late`` centres ``'same'`` from the other
    end (SciPy's ``correlate2d`` does, unlike its ``correlate``; they differ for even k)."""
    if mode == "full":
        return full
    index = []
    for n, k in zip(s1, s2):
        if mode == "same":
            start = (k - 1) - (k - 1) // 2 if late else (k - 1) // 2
            index.append(slice(start, start + n))
        elif mode == "valid":
            index.append(slice(min(n, k) - 1, max(n, k)))
        else:
            raise ValueError(f"funcgrad.scipy.signal.{fname}: mode must be 'full', 'same' or "
                             f"'valid', got {mode!r}")  # fmt: skip
    return full[tuple(index)]


def _finish(out: Any, dtype: np.dtype) -> Any:
    if dtype.kind in "fc":
        return out
    if dtype.kind == "b":
        return out != 0
    return fnp.round(out).astype(dtype)


def _check_method(fname: str, method: str) -> None:
    if method not in ("auto", "direct"):
        raise ValueError(
            f"funcgrad.scipy.signal.{fname}: method must be 'auto' or 'direct' (for the FFT "
            f"method call signal.fftconvolve), got {method!r}"
        )


def correlate(
    in1: Any, in2: Any, mode: str = "full", method: str = "auto", precision: Any = None
) -> Any:
    """The cross-correlation ``z[l] = sum_n in1[n + l] conj(in2[n])`` of two N-d arrays.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import signal
        >>> signal.correlate(fnp.asarray([1.0, 2.0, 3.0]), fnp.asarray([0.0, 1.0, 0.5])).tolist()
        [0.5, 2.0, 3.5, 3.0, 0.0]
    """
    del precision
    _check_method("correlate", method)
    x, k, dtype = _operands("correlate", in1, in2)
    return _finish(_crop(_full_correlate(x, k), x.shape, k.shape, mode, "correlate"), dtype)


def convolve(
    in1: Any, in2: Any, mode: str = "full", method: str = "auto", precision: Any = None
) -> Any:
    """The convolution ``z[m] = sum_n in1[n] in2[m - n]`` of two N-d arrays.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import signal
        >>> signal.convolve(fnp.asarray([1.0, 2.0, 3.0]), fnp.asarray([0.0, 1.0, 0.5])).tolist()
        [0.0, 1.0, 2.5, 4.0, 1.5]
    """
    del precision
    _check_method("convolve", method)
    x, k, dtype = _operands("convolve", in1, in2)
    flipped = fnp.conj(fnp.flip(k)) if k.dtype.kind == "c" else fnp.flip(k)
    return _finish(_crop(_full_correlate(x, flipped), x.shape, k.shape, mode, "convolve"), dtype)


def _two_d(fname: str, in1: Any, in2: Any, boundary: str, fillvalue: Any) -> None:
    if np.ndim(in1) != 2 or np.ndim(in2) != 2:
        raise ValueError(f"funcgrad.scipy.signal.{fname}: inputs must be 2-d, got shapes "
                         f"{np.shape(in1)} and {np.shape(in2)}")  # fmt: skip
    if boundary != "fill" or fillvalue != 0:
        raise NotImplementedError(
            f"funcgrad.scipy.signal.{fname}: only boundary='fill' with fillvalue=0 is "
            f"supported (as in JAX), got boundary={boundary!r}, fillvalue={fillvalue!r}"
        )


def convolve2d(in1: Any, in2: Any, mode: str = "full", boundary: str = "fill", fillvalue: Any = 0,
               precision: Any = None) -> Any:  # fmt: skip
    """2-d :func:`convolve` (``boundary='fill'``, ``fillvalue=0`` only, as in JAX).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import signal
        >>> signal.convolve2d(fnp.ones((2, 2)), fnp.ones((2, 2))).tolist()
        [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]
    """
    _two_d("convolve2d", in1, in2, boundary, fillvalue)
    return convolve(in1, in2, mode=mode, precision=precision)


def correlate2d(in1: Any, in2: Any, mode: str = "full", boundary: str = "fill", fillvalue: Any = 0,
                precision: Any = None) -> Any:  # fmt: skip
    """2-d :func:`correlate` (``boundary='fill'``, ``fillvalue=0`` only, as in JAX).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import signal
        >>> signal.correlate2d(fnp.eye(2), fnp.asarray([[1.0, 2.0]]), mode="same").tolist()
        [[1.0, 0.0], [2.0, 1.0]]
    """
    del precision
    _two_d("correlate2d", in1, in2, boundary, fillvalue)
    x, k, dtype = _operands("correlate2d", in1, in2)
    full = _full_correlate(x, k)
    return _finish(_crop(full, x.shape, k.shape, mode, "correlate2d", late=True), dtype)


# --- detrending ---------------------------------------------------------------------------------


def _breakpoints(fname: str, bp: Any, n: int) -> list[int]:
    """The segment boundaries ``0 = b_0 < b_1 < ... < b_k = n`` from SciPy's ``bp``."""
    points = np.atleast_1d(np.asarray(bp))
    if points.size and points.dtype.kind not in "iu":
        raise TypeError(f"{fname}: bp must be integers (indices along axis), got {bp!r}")
    if np.any(points > n) or np.any(points < 0):
        raise ValueError(
            f"{fname}: breakpoints bp must lie in [0, {n}] (the length of data along axis), "
            f"got {points.tolist()}"
        )
    return sorted({0, n, *(int(p) for p in points)})


def detrend(data: Any, axis: int = -1, type: str = "linear", bp: Any = 0,
            overwrite_data: None = None) -> Any:  # fmt: skip
    """``data`` minus its least-squares trend along ``axis`` (SciPy's ``detrend``):
    ``type='linear'`` (or ``'l'``) removes a straight line fitted to each segment between
    the breakpoints ``bp`` (indices; 0 and the length are always breakpoints),
    ``'constant'`` (or ``'c'``) the mean (``bp`` is then ignored). Integer input is
    computed in float64; float32 and complex stay in their precision.

    Each segment's residual is computed in closed form, ``y - mean(y) - slope (t -
    mean(t))`` with ``slope = sum((t - mean t)(y - mean y)) / sum((t - mean t)^2)``; a
    one-point segment becomes 0, as with SciPy's least squares. ``detrend`` is linear in
    ``data``, so its derivative is itself.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import signal
        >>> [round(v, 12) + 0.0 for v in signal.detrend(fnp.asarray([1.0, 3.0, 5.0, 8.0])).tolist()]
        [0.2, -0.1, -0.4, 0.3]
        >>> signal.detrend(fnp.asarray([1.0, 2.0, 6.0]), type="constant").tolist()
        [-2.0, -1.0, 3.0]
    """
    del overwrite_data
    fname = "funcgrad.scipy.signal.detrend"
    if type not in ("linear", "l", "constant", "c"):
        raise ValueError(f"{fname}: type must be 'linear' or 'constant', got {type!r}")
    x = fnp.asarray(data)
    if x.dtype.kind not in "fc":
        x = x.astype(np.float64)
    if x.ndim == 0:
        raise ValueError(f"{fname}: data must have at least one dimension, got a scalar")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{fname}: axis {axis} is out of range for data of shape {x.shape}")
    if type in ("constant", "c"):
        return x - fnp.mean(x, axis=axis, keepdims=True)
    x = fnp.moveaxis(x, axis, -1)
    bounds = _breakpoints(fname, bp, x.shape[-1])
    pieces = []
    real = np.finfo(x.dtype).dtype
    for start, stop in itertools.pairwise(bounds):
        y = x[..., start:stop]
        t = np.arange(stop - start) - (stop - start - 1) / 2  # centred sample positions
        spread = float(np.sum(t * t)) or 1.0  # 0 for one point, whose residual is 0 anyway
        t = t.astype(real)
        y = y - fnp.mean(y, axis=-1, keepdims=True)
        slope = fnp.sum(y * t, axis=-1, keepdims=True) / spread
        pieces.append(y - slope * t)
    out = fnp.concatenate(pieces, axis=-1) if len(pieces) > 1 else pieces[0]
    return fnp.moveaxis(out, -1, axis)
