"""``funcgrad.numpy.fft``: NumPy's FFT API on the ``fft`` primitive.

Each transform pads or truncates the chosen axes to the requested lengths (``n``/``s``),
moves them last, binds ``fft`` over at most three axes at a time (more are done as
successive transforms) and moves them back. ``norm`` is ``"backward"`` (default: the
inverse scales by ``1/n``), ``"ortho"`` (both by ``1/sqrt(n)``) or ``"forward"``.
Results have NumPy 2's dtypes: single precision stays single (float32 -> complex64);
integer and bool input is transformed in double precision. Every function is
differentiable (the primitive is linear), batches under ``vmap`` and compiles under
``jit``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from funcgrad._src.core import is_array_like
from funcgrad._src.lax.fft import FftType
from funcgrad._src.lax.fft import fft as _lax_fft

__all__ = [
    "fft", "fft2", "fftfreq", "fftn", "fftshift", "hfft", "ifft", "ifft2", "ifftn",
    "ifftshift", "ihfft", "irfft", "irfft2", "irfftn", "rfft", "rfft2", "rfftfreq", "rfftn",
]  # fmt: skip


def _fnp():
    import funcgrad.numpy as fnp

    return fnp


def _prepare(fname: str, a: Any):
    a = a if is_array_like(a) else _fnp().asarray(a)
    if a.dtype.kind in "biu":
        a = a.astype(np.float64)
    return a


def _resize(a, axis: int, n: int):
    """``a`` truncated or zero-padded to length ``n`` along ``axis``."""
    size = a.shape[axis]
    if n == size:
        return a
    if n < size:
        return a[(slice(None),) * axis + (slice(0, n),)]
    pad = [(0, 0)] * a.ndim
    pad[axis] = (0, n - size)
    return _fnp().pad(a, pad)


def _norm_scale(norm: str | None, n: int, inverse: bool, fname: str) -> float | None:
    """The factor to apply on top of the primitive's unnormalised forward / 1/n inverse."""
    if norm is None or norm == "backward":
        return None
    if norm == "ortho":
        return math.sqrt(n) if inverse else 1 / math.sqrt(n)
    if norm == "forward":
        return n if inverse else 1 / n
    raise ValueError(
        f"funcgrad.numpy.fft.{fname}: norm must be 'backward', 'ortho', 'forward' or None, "
        f"got {norm!r}"
    )


def _swap_norm(norm: str | None) -> str:
    return {None: "forward", "backward": "forward", "forward": "backward"}.get(norm, norm)


def _axes_and_shape(fname, a, s, axes, default_rank=None):
    if axes is None:
        if s is not None:
            axes = tuple(range(a.ndim - len(s), a.ndim))
        elif default_rank is not None:
            axes = tuple(range(a.ndim - default_rank, a.ndim))
        else:
            axes = tuple(range(a.ndim))
    axes = tuple(operator.index(ax) for ax in axes)
    for ax in axes:
        if not -a.ndim <= ax < a.ndim:
            raise np.exceptions.AxisError(
                f"funcgrad.numpy.fft.{fname}: axis {ax} is out of bounds for an array of rank {a.ndim}"
            )
    axes = tuple(ax % a.ndim for ax in axes)
    if s is not None:
        s = tuple(operator.index(n) for n in s)
        if len(s) != len(axes):
            raise ValueError(
                f"funcgrad.numpy.fft.{fname}: s {s} and axes {axes} must have the same length"
            )
        if any(n < 1 for n in s):
            raise ValueError(f"funcgrad.numpy.fft.{fname}: invalid number of data points in s {s}")
    return axes, s


def _apply(a, fft_type: FftType, axes: tuple, lengths: tuple):
    """The primitive over ``axes`` (moved last, in order) with the given lengths."""
    fnp = _fnp()
    k = len(axes)
    last = tuple(range(a.ndim - k, a.ndim))
    moved = axes != last
    if moved:
        a = fnp.moveaxis(a, axes, last)
    out = _lax_fft(a, fft_type, lengths)
    return fnp.moveaxis(out, last, axes) if moved else out


def _complex_transform(fname, a, s, axes, norm, inverse, default_rank=None):
    a = _prepare(fname, a)
    axes, s = _axes_and_shape(fname, a, s, axes, default_rank)
    if not axes:
        return a.astype(np.result_type(a.dtype, np.complex64))
    if s is not None:
        for ax, n in zip(axes, s):
            a = _resize(a, ax, n)
    lengths = tuple(a.shape[ax] for ax in axes)
    kind = FftType.IFFT if inverse else FftType.FFT
    # at most three axes per primitive: the leading ones first (the transforms commute)
    out = a
    for start in range(0, len(axes), 3):
        group = axes[start : start + 3]
        out = _apply(out, kind, group, tuple(out.shape[ax] for ax in group))
    scale = _norm_scale(norm, math.prod(lengths), inverse, fname)
    return out if scale is None else out * scale


def _real_forward(fname, a, s, axes, norm, default_rank=None):
    a = _prepare(fname, a)
    if a.dtype.kind == "c":
        raise TypeError(f"funcgrad.numpy.fft.{fname}: the input must be real, got {a.dtype}")
    axes, s = _axes_and_shape(fname, a, s, axes, default_rank)
    if s is not None:
        for ax, n in zip(axes, s):
            a = _resize(a, ax, n)
    lengths = tuple(a.shape[ax] for ax in axes)
    out = _apply(a, FftType.RFFT, axes[-1:], lengths[-1:])
    rest = axes[:-1]
    for start in range(0, len(rest), 3):
        group = rest[start : start + 3]
        out = _apply(out, FftType.FFT, group, tuple(out.shape[ax] for ax in group))
    scale = _norm_scale(norm, math.prod(lengths), False, fname)
    return out if scale is None else out * scale


def _real_inverse(fname, a, s, axes, norm, default_rank=None):
    a = _prepare(fname, a)
    axes, s = _axes_and_shape(fname, a, s, axes, default_rank)
    if s is None:
        s = tuple(a.shape[ax] for ax in axes[:-1]) + (2 * (a.shape[axes[-1]] - 1),)
    if s[-1] < 1:
        raise ValueError(f"funcgrad.numpy.fft.{fname}: invalid number of data points {s[-1]}")
    for ax, n in zip(axes[:-1], s[:-1]):
        a = _resize(a, ax, n)
    a = _resize(a, axes[-1], s[-1] // 2 + 1)
    if a.dtype.kind != "c":
        a = a.astype(np.result_type(a.dtype, np.complex64))
    rest = axes[:-1]
    out = a
    for start in range(0, len(rest), 3):
        group = rest[start : start + 3]
        out = _apply(out, FftType.IFFT, group, tuple(out.shape[ax] for ax in group))
    out = _apply(out, FftType.IRFFT, axes[-1:], (s[-1],))
    scale = _norm_scale(norm, math.prod(s), True, fname)
    return out if scale is None else out * scale


def _one_axis(n, axis):
    return (None if n is None else (n,)), (axis,)


def fft(a, n=None, axis=-1, norm=None):
    """The 1-D discrete Fourier transform along ``axis`` (``n``: pad or truncate first).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.fft.fft(fnp.asarray([1.0, 1.0, 1.0, 1.0])).tolist()
        [(4+0j), 0j, 0j, 0j]
    """
    s, axes = _one_axis(n, axis)
    return _complex_transform("fft", a, s, axes, norm, inverse=False)


def ifft(a, n=None, axis=-1, norm=None):
    """The inverse of :func:`fft`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.fft.ifft(fnp.asarray([4.0, 0.0, 0.0, 0.0])).real.tolist()
        [1.0, 1.0, 1.0, 1.0]
    """
    s, axes = _one_axis(n, axis)
    return _complex_transform("ifft", a, s, axes, norm, inverse=True)


def rfft(a, n=None, axis=-1, norm=None):
    """The FFT of real input: the ``n // 2 + 1`` non-negative frequency bins.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.fft.rfft(fnp.asarray([0.0, 1.0, 0.0, -1.0])).tolist()
        [0j, -2j, 0j]
    """
    s, axes = _one_axis(n, axis)
    return _real_forward("rfft", a, s, axes, norm)


def irfft(a, n=None, axis=-1, norm=None):
    """The inverse of :func:`rfft`: ``n`` real samples (default ``2 * (m - 1)``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.fft.irfft(fnp.asarray([0.0, -2.0j, 0.0])).tolist()
        [0.0, 1.0, 0.0, -1.0]
    """
    s, axes = _one_axis(n, axis)
    return _real_inverse("irfft", a, s, axes, norm)


def hfft(a, n=None, axis=-1, norm=None):
    """The FFT of a Hermitian-symmetric signal given by its first half: ``n`` real values.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.fft.hfft(fnp.asarray([1.0, 0.0, 0.0])).tolist()
        [1.0, 1.0, 1.0, 1.0]
    """
    fnp = _fnp()
    s, axes = _one_axis(n, axis)
    return _real_inverse("hfft", fnp.conj(_prepare("hfft", a)), s, axes, _swap_norm(norm))


def ihfft(a, n=None, axis=-1, norm=None):
    """The inverse of :func:`hfft`: the first half of the spectrum of real input.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.fft.ihfft(fnp.asarray([1.0, 1.0, 1.0, 1.0])).tolist()
        [(1-0j), -0j, -0j]
    """
    fnp = _fnp()
    s, axes = _one_axis(n, axis)
    return fnp.conj(_real_forward("ihfft", a, s, axes, _swap_norm(norm)))


def fftn(a, s=None, axes=None, norm=None):
    """The N-D FFT over ``axes`` (default: all, or the last ``len(s)``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.fft.fftn(fnp.ones((2, 2))).real.tolist()
        [[4.0, 0.0], [0.0, 0.0]]
    """
    return _complex_transform("fftn", a, s, axes, norm, inverse=False)


def ifftn(a, s=None, axes=None, norm=None):
    """The inverse of :func:`fftn`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.fft.ifftn(fnp.asarray([[4.0, 0.0], [0.0, 0.0]])).real.tolist()
        [[1.0, 1.0], [1.0, 1.0]]
    """
    return _complex_transform("ifftn", a, s, axes, norm, inverse=True)


def rfftn(a, s=None, axes=None, norm=None):
    """The N-D FFT of real input (the last axis halved).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.fft.rfftn(fnp.ones((2, 4))).shape
        (2, 3)
    """
    return _real_forward("rfftn", a, s, axes, norm)


def irfftn(a, s=None, axes=None, norm=None):
    """The inverse of :func:`rfftn`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.fft.irfftn(fnp.fft.rfftn(fnp.ones((2, 4)))).tolist()
        [[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]]
    """
    return _real_inverse("irfftn", a, s, axes, norm)


def fft2(a, s=None, axes=(-2, -1), norm=None):
    """The 2-D FFT (over the last two axes by default).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.fft.fft2(fnp.ones((2, 2))).real.tolist()
        [[4.0, 0.0], [0.0, 0.0]]
    """
    return _complex_transform("fft2", a, s, axes, norm, inverse=False)


def ifft2(a, s=None, axes=(-2, -1), norm=None):
    """The inverse of :func:`fft2`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.fft.ifft2(fnp.asarray([[4.0, 0.0], [0.0, 0.0]])).real.tolist()
        [[1.0, 1.0], [1.0, 1.0]]
    """
    return _complex_transform("ifft2", a, s, axes, norm, inverse=True)


def rfft2(a, s=None, axes=(-2, -1), norm=None):
    """The 2-D FFT of real input.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.fft.rfft2(fnp.ones((2, 4))).shape
        (2, 3)
    """
    return _real_forward("rfft2", a, s, axes, norm)


def irfft2(a, s=None, axes=(-2, -1), norm=None):
    """The inverse of :func:`rfft2`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.fft.irfft2(fnp.fft.rfft2(fnp.ones((2, 4)))).shape
        (2, 4)
    """
    return _real_inverse("irfft2", a, s, axes, norm)


def fftfreq(n: int, d: float = 1.0, *, dtype=None, device=None):
    """The sample frequencies of an ``n``-point FFT with sample spacing ``d``
    (``[0, 1, ..., -1] / (d n)``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.fft.fftfreq(4, 0.5).tolist()
        [0.0, 0.5, -1.0, -0.5]
    """
    del device
    return _fnp().asarray(np.fft.fftfreq(operator.index(n), d), dtype=dtype)


def rfftfreq(n: int, d: float = 1.0, *, dtype=None, device=None):
    """The sample frequencies of :func:`rfft`'s bins.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.fft.rfftfreq(4).tolist()
        [0.0, 0.25, 0.5]
    """
    del device
    return _fnp().asarray(np.fft.rfftfreq(operator.index(n), d), dtype=dtype)


def _shift(fname: str, x, axes, sign: int):
    fnp = _fnp()
    x = x if is_array_like(x) else fnp.asarray(x)
    if axes is None:
        axes = tuple(range(x.ndim))
    elif isinstance(axes, int):
        axes = (axes,)
    axes = tuple(ax % x.ndim for ax in axes)
    shifts = tuple(sign * (x.shape[ax] // 2) for ax in axes)
    return fnp.roll(x, shifts, axes) if axes else x


def fftshift(x, axes: int | Sequence[int] | None = None):
    """``x`` with the zero frequency moved to the centre of ``axes`` (default all).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.fft.fftshift(fnp.fft.fftfreq(5)).tolist()
        [-0.4, -0.2, 0.0, 0.2, 0.4]
    """
    return _shift("fftshift", x, axes, 1)


def ifftshift(x, axes: int | Sequence[int] | None = None):
    """The inverse of :func:`fftshift`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.fft.ifftshift(fnp.asarray([-2, -1, 0, 1, 2])).tolist()
        [0, 1, 2, -2, -1]
    """
    return _shift("ifftshift", x, axes, -1)
