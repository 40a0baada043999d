"""``funcgrad.scipy.fft``: discrete cosine transforms (types 1-4) built on ``fnp.fft``.

Each 1-D transform of length ``N`` is one complex FFT of length ``2N`` (``2(N-1)`` for
type 1) of the zero-padded, possibly twiddled input, then a twiddle and a real part:

* type 1: ``y_k = x_0 + (-1)^k x_{N-1} + 2 sum_{n=1}^{N-2} x_n cos(pi k n / (N-1))``
* type 2: ``y_k = 2 sum_n x_n cos(pi k (2n+1) / (2N))``
* type 3: ``y_k = x_0 + 2 sum_{n>=1} x_n cos(pi n (2k+1) / (2N))``
* type 4: ``y_k = 2 sum_n x_n cos(pi (2n+1) (2k+1) / (4N))``

(SciPy's definitions), because ``cos(a + b)`` is the real part of ``e^{-ia} e^{-ib}``.
The FFT is a linear primitive with jvp and transpose rules, so every transform here
differentiates in both modes, batches under ``vmap`` and compiles under ``jit``.

JAX implements only type 2 and raises ``NotImplementedError`` for the others; here all
four of SciPy's types work, as does SciPy's ``norm="forward"`` beside JAX's ``None``,
``"backward"`` and ``"ortho"``. Complex input is transformed as its real and imaginary
parts (the transforms are real-linear), integer input in floating point.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

import funcgrad.numpy as fnp
from funcgrad._src import dtypes

__all__ = ["dct", "dctn", "idct", "idctn"]

_NORMS = (None, "backward", "ortho", "forward")
# the inverse of each type is (a multiple of) this type
_INVERSE_TYPE = {1: 1, 2: 3, 3: 2, 4: 4}


def _check(fname: str, x: Any, type: Any, norm: Any) -> Any:
    if type not in (1, 2, 3, 4) or isinstance(type, bool):
        raise ValueError(f"funcgrad.scipy.fft.{fname}: type must be 1, 2, 3 or 4, got {type!r}")
    if norm not in _NORMS:
        raise ValueError(
            f"funcgrad.scipy.fft.{fname}: norm must be one of None, 'backward', 'ortho' or "
            f"'forward', got {norm!r}"
        )
    x = fnp.asarray(x)
    dt = dtypes.to_inexact(x.dtype)
    return x if dt == x.dtype else x.astype(dt)


def _resize_last(x: Any, n: int) -> Any:
    """Truncate or zero-pad the last axis to length ``n``."""
    size = x.shape[-1]
    if n < size:
        return x[..., :n]
    if n > size:
        return fnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, n - size)])
    return x


def _twiddle(num: int, scale: float, offset: float, dtype: np.dtype) -> np.ndarray:
    """``exp(-i pi (scale k + offset))`` for ``k = 0 .. num-1``."""
    k = np.arange(num, dtype=np.float64)
    return np.exp(-1j * np.pi * (scale * k + offset)).astype(dtype)


def _raw(x: Any, type: int) -> Any:
    """The unnormalised type-``type`` DCT of a real array along its last axis."""
    n = x.shape[-1]
    cdt = np.result_type(x.dtype, np.complex64)
    if type == 1:
        spectrum = fnp.fft.rfft(x, n=2 * (n - 1))[..., :n]
        alternating = np.where(np.arange(n) % 2 == 0, 1.0, -1.0).astype(x.dtype)
        return 2 * fnp.real(spectrum) - x[..., :1] - alternating * x[..., -1:]
    if type == 2:
        spectrum = fnp.fft.rfft(x, n=2 * n)[..., :n]
        return 2 * fnp.real(spectrum * _twiddle(n, 1 / (2 * n), 0.0, cdt))
    spectrum = fnp.fft.fft(x * _twiddle(n, 1 / (2 * n), 0.0, cdt), n=2 * n)[..., :n]
    if type == 3:
        return 2 * fnp.real(spectrum) - x[..., :1]
    return 2 * fnp.real(spectrum * _twiddle(n, 1 / (2 * n), 1 / (4 * n), cdt))


def _ortho(x: Any, type: int) -> Any:
    """The orthonormal type-``type`` DCT along the last axis (its matrix is orthogonal)."""
    n = x.shape[-1]
    if type == 1:
        ends = np.ones(n)
        ends[[0, -1]] = np.sqrt(2.0)
        y = _raw(x * ends.astype(x.dtype), 1) / ends.astype(x.dtype)
        return y * np.asarray(np.sqrt(1 / (2 * (n - 1))), x.dtype)
    if type == 2:
        post = np.full(n, np.sqrt(1 / (2 * n)))
        post[0] = np.sqrt(1 / (4 * n))
        return _raw(x, 2) * post.astype(x.dtype)
    if type == 3:  # the transpose of the orthonormal type 2
        pre = np.full(n, np.sqrt(1 / (2 * n)))
        pre[0] = np.sqrt(1 / n)
        return _raw(x * pre.astype(x.dtype), 3)
    return _raw(x, 4) * np.asarray(np.sqrt(1 / (2 * n)), x.dtype)


def _transform_last(fname: str, x: Any, type: int, n: int | None, norm: Any, inverse: bool) -> Any:
    if n is not None:
        n = operator.index(n)
        if n < 1:
            raise ValueError(f"funcgrad.scipy.fft.{fname}: n must be positive, got {n}")
        x = _resize_last(x, n)
    size = x.shape[-1]
    if size < (2 if type == 1 else 1):
        raise ValueError(
            f"funcgrad.scipy.fft.{fname}: a type-{type} DCT needs at least "
            f"{2 if type == 1 else 1} points along the axis, got {size} (shape {x.shape})"
        )
    if x.dtype.kind == "c":
        real = _transform_last(fname, fnp.real(x), type, None, norm, inverse)
        imag = _transform_last(fname, fnp.imag(x), type, None, norm, inverse)
        return real + 1j * imag
    kind = _INVERSE_TYPE[type] if inverse else type
    if norm == "ortho":
        return _ortho(x, kind)
    y = _raw(x, kind)
    # the unnormalised inverse of the (backward) forward transform divides by this
    scale = np.asarray(2 * (size - 1) if type == 1 else 2 * size, x.dtype)
    if (norm == "forward") != inverse:
        return y / scale
    return y


def _one_axis(fname: str, x: Any, type: int, n: Any, axis: int, norm: Any, inverse: bool) -> Any:
    x = _check(fname, x, type, norm)
    if x.ndim == 0:
        raise ValueError(f"funcgrad.scipy.fft.{fname}: x must have at least one dimension")
    axis = operator.index(axis)
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(
            f"funcgrad.scipy.fft.{fname}: axis {axis} is out of range for x of shape {x.shape}"
        )
    moved = fnp.moveaxis(x, axis, -1)
    return fnp.moveaxis(_transform_last(fname, moved, type, n, norm, inverse), -1, axis)


def _many_axes(fname: str, x: Any, type: int, s: Any, axes: Any, norm: Any, inverse: bool) -> Any:
    x = _check(fname, x, type, norm)
    if s is not None:
        s = [operator.index(v) for v in (s if isinstance(s, Sequence) else [s])]
        if len(s) > x.ndim:
            raise ValueError(
                f"funcgrad.scipy.fft.{fname}: s must have at most x.ndim ({x.ndim}) entries, "
                f"got s={tuple(s)}"
            )
    if axes is None:
        axes = list(range(x.ndim - len(s), x.ndim)) if s is not None else list(range(x.ndim))
    else:
        axes = [operator.index(a) for a in (axes if isinstance(axes, Sequence) else [axes])]
        for a in axes:
            if not -x.ndim <= a < x.ndim:
                raise ValueError(
                    f"funcgrad.scipy.fft.{fname}: axis {a} in axes={tuple(axes)} is out of "
                    f"range for x of shape {x.shape}"
                )
        axes = [a % x.ndim for a in axes]
        if len(set(axes)) != len(axes):
            raise ValueError(f"funcgrad.scipy.fft.{fname}: axes {tuple(axes)} repeat an axis")
    if s is not None and len(s) != len(axes):
        raise ValueError(
            f"funcgrad.scipy.fft.{fname}: s={tuple(s)} and axes={tuple(axes)} must have the "
            "same length"
        )
    for i, a in enumerate(axes):
        n = None if s is None else s[i]
        x = _one_axis(fname, x, type, n, a, norm, inverse)
    return x


def dct(
    x: Any, type: int = 2, n: int | None = None, axis: int = -1, norm: str | None = None
) -> Any:
    """The discrete cosine transform of ``x`` along ``axis`` (SciPy's definitions).

    Args:
        x: the input; integer input is transformed in floating point, complex input as
            its real and imaginary parts.
        type: the DCT type, 1, 2 (default), 3 or 4 (JAX has only 2).
        n: the length to truncate or zero-pad ``axis`` to first (default: unchanged).
        axis: the axis to transform.
        norm: ``None``/``"backward"`` (unnormalised), ``"ortho"`` (orthonormal) or
            ``"forward"`` (divided by ``2N``, ``2(N-1)`` for type 1).

    Returns:
        The transform, of ``x``'s inexact dtype and shape (with ``n`` along ``axis``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy.fft import dct
        >>> dct(fnp.asarray([1.0, 1.0, 1.0])).round(6).tolist()
        [6.0, 0.0, 0.0]
        >>> dct(fnp.asarray([1.0, 2.0, 3.0]), type=1).round(6).tolist()
        [8.0, -2.0, 0.0]
    """
    return _one_axis("dct", x, type, n, axis, norm, inverse=False)


def idct(
    x: Any, type: int = 2, n: int | None = None, axis: int = -1, norm: str | None = None
) -> Any:
    """The inverse discrete cosine transform of ``x`` along ``axis``:
    ``idct(dct(x, type, norm=norm), type, norm=norm) == x``.

    Type 1's inverse is type 1, 2's is 3, 3's is 2 and 4's is 4, divided by ``2N``
    (``2(N-1)`` for type 1) with the default norm.

    Args:
        x: the input; integer input is transformed in floating point, complex input as
            its real and imaginary parts.
        type: the DCT type whose inverse to take, 1, 2 (default), 3 or 4.
        n: the length to truncate or zero-pad ``axis`` to first (default: unchanged).
        axis: the axis to transform.
        norm: ``None``/``"backward"``, ``"ortho"`` or ``"forward"``, as for :func:`dct`.

    Returns:
        The inverse transform, of ``x``'s inexact dtype.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy.fft import dct, idct
        >>> idct(dct(fnp.asarray([1.0, 2.0, 4.0]))).round(6).tolist()
        [1.0, 2.0, 4.0]
    """
    return _one_axis("idct", x, type, n, axis, norm, inverse=True)


def dctn(x: Any, type: int = 2, s: Sequence[int] | None = None,
         axes: Sequence[int] | None = None, norm: str | None = None) -> Any:  # fmt: skip
    """The multidimensional discrete cosine transform: :func:`dct` along each of ``axes``.

    Args:
        x: the input.
        type: the DCT type, 1, 2 (default), 3 or 4.
        s: the lengths to truncate or zero-pad ``axes`` to (default: unchanged).
        axes: the axes to transform (default: the last ``len(s)`` axes if ``s`` is given,
            else all axes).
        norm: ``None``/``"backward"``, ``"ortho"`` or ``"forward"``, as for :func:`dct`.

    Returns:
        The transform, of ``x``'s inexact dtype.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy.fft import dctn
        >>> dctn(fnp.ones((2, 2))).round(6).tolist()
        [[16.0, 0.0], [0.0, 0.0]]
    """
    return _many_axes("dctn", x, type, s, axes, norm, inverse=False)


def idctn(x: Any, type: int = 2, s: Sequence[int] | None = None,
          axes: Sequence[int] | None = None, norm: str | None = None) -> Any:  # fmt: skip
    """The multidimensional inverse discrete cosine transform: :func:`idct` along each
    of ``axes``, so ``idctn(dctn(x)) == x``.

    Args:
        x: the input.
        type: the DCT type whose inverse to take, 1, 2 (default), 3 or 4.
        s: the lengths to truncate or zero-pad ``axes`` to (default: unchanged).
        axes: the axes to transform (default: the last ``len(s)`` axes if ``s`` is given,
            else all axes).
        norm: ``None``/``"backward"``, ``"ortho"`` or ``"forward"``, as for :func:`dct`.

    Returns:
        The inverse transform, of ``x``'s inexact dtype.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy.fft import dctn, idctn
        >>> x = fnp.asarray([[1.0, 2.0], [3.0, 5.0]])
        >>> idctn(dctn(x, norm="ortho"), norm="ortho").round(6).tolist()
        [[1.0, 2.0], [3.0, 5.0]]
    """
    return _many_axes("idctn", x, type, s, axes, norm, inverse=True)
