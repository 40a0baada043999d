"""Window functions of funcgrad.numpy (Bartlett, Blackman, Hamming, Hanning, Kaiser).

Each takes a static window length ``M`` and returns ``M`` float64 samples, symmetric,
as NumPy's (``M < 1`` gives an empty array, ``M == 1`` gives ``[1.0]``). ``kaiser``'s
``beta`` may be traced and is differentiable.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from funcgrad._src.numpy import base as fnp

__all__ = ["bartlett", "blackman", "hamming", "hanning", "kaiser"]


def _length(M: Any, name: str) -> int:
    try:
        return operator.index(M)
    except TypeError:
        raise TypeError(
            f"funcgrad.numpy.{name}: the window length M must be a static int, got "
            f"{type(M).__name__}; mark it static (static_argnums) under jit"
        ) from None


def _centred(M: int) -> Any:
    """``n = 1-M, 3-M, ..., M-1`` as float64: NumPy's symmetric sample positions, so the
    windows are exactly symmetric (and equal to NumPy's to the last bit)."""
    return fnp.arange(1 - M, M, 2, dtype=np.float64)


def _cosine_sum(M: Any, name: str, coeffs: tuple[float, ...]) -> Any:
    """``sum_k a_k cos(pi k n / (M - 1))`` over the centred positions ``n``: the
    generalised cosine window."""
    M = _length(M, name)
    if M < 1:
        return fnp.zeros((0,), np.float64)
    if M == 1:
        return fnp.ones((1,), np.float64)
    n = _centred(M)
    out = fnp.full((M,), coeffs[0], np.float64)
    for k, a in enumerate(coeffs[1:], start=1):
        out = out + a * fnp.cos(np.pi * k * n / (M - 1))
    return out


def hanning(M):
    """The Hann window: ``0.5 - 0.5 cos(2 pi n / (M - 1))``, ``n = 0 .. M-1``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.hanning(5).tolist()
        [0.0, 0.5, 1.0, 0.5, 0.0]
    """
    return _cosine_sum(M, "hanning", (0.5, 0.5))


def hamming(M):
    """The Hamming window: ``0.54 - 0.46 cos(2 pi n / (M - 1))``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> [round(v, 6) for v in fnp.hamming(3).tolist()]
        [0.08, 1.0, 0.08]
    """
    return _cosine_sum(M, "hamming", (0.54, 0.46))


def blackman(M):
    """The Blackman window: ``0.42 - 0.5 cos(2 pi n / (M-1)) + 0.08 cos(4 pi n / (M-1))``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> [round(v, 6) for v in fnp.blackman(3).tolist()]
        [-0.0, 1.0, -0.0]
    """
    return _cosine_sum(M, "blackman", (0.42, 0.5, 0.08))


def bartlett(M):
    """The Bartlett (triangular) window: ``1 - |2 n / (M - 1) - 1|``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.bartlett(5).tolist()
        [0.0, 0.5, 1.0, 0.5, 0.0]
    """
    M = _length(M, "bartlett")
    if M < 1:
        return fnp.zeros((0,), np.float64)
    if M == 1:
        return fnp.ones((1,), np.float64)
    n = _centred(M)
    return fnp.where(n <= 0, 1.0 + n / (M - 1), 1.0 - n / (M - 1))


def kaiser(M, beta):
    """The Kaiser window: ``I0(beta sqrt(1 - (2 n / (M - 1) - 1)^2)) / I0(beta)``.

    ``beta`` may be a traced scalar and the window is differentiable in it.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> [round(v, 6) for v in fnp.kaiser(3, 2.0).tolist()]
        [0.438676, 1.0, 0.438676]
    """
    from funcgrad._src.numpy.arithmetic import i0

    M = _length(M, "kaiser")
    if M < 1:
        return fnp.zeros((0,), np.float64)
    if M == 1:
        return fnp.ones((1,), np.float64)
    beta = fnp.asarray(beta, dtype=np.float64)
    alpha = (M - 1) / 2.0
    r = (fnp.arange(M, dtype=np.float64) - alpha) / alpha
    arg = fnp.sqrt(fnp.maximum(1.0 - r * r, 0.0))
    return i0(beta * arg) / i0(beta)
