"""Numerically safe scalar reductions used by the building blocks (norms, rms, |x|^2)."""

from __future__ import annotations

from typing import Any

import funcgrad.numpy as fnp

__all__ = ["abs_sq", "safe_norm", "safe_root_mean_squares"]


def abs_sq(x: Any) -> Any:
    """``|x|^2`` elementwise, real for complex ``x`` (``x * conj(x)``'s real part).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from transforms import numerics
        >>> numerics.abs_sq(fnp.asarray([-3.0, 2.0])).tolist()
        [9.0, 4.0]
    """
    if fnp.iscomplexobj(x):
        return fnp.real(x * fnp.conj(x))
    return x * x


def safe_norm(x: Any, min_norm: Any, ord: Any = None, axis: Any = None, keepdims: bool = False):
    """``max(norm(x), min_norm)`` whose gradient is finite even where ``norm(x) == 0``.

    Where the norm is at most ``min_norm`` the norm is recomputed on ones instead of
    ``x``, so the (discarded) branch never differentiates ``sqrt`` at zero.

    Args:
        x: an array.
        min_norm: the lower bound of the result.
        ord, axis, keepdims: as in ``funcgrad.numpy.linalg.norm``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from transforms import numerics
        >>> float(numerics.safe_norm(fnp.asarray([3.0, 4.0]), 1.0))
        5.0
        >>> float(numerics.safe_norm(fnp.zeros(2), 1e-3))
        0.001
    """
    norm = fnp.linalg.norm(x, ord=ord, axis=axis, keepdims=True)
    small = norm <= min_norm
    x = fnp.where(small, fnp.ones_like(x), x)
    if not keepdims and axis is None:
        small = fnp.squeeze(small)
    elif not keepdims:
        small = fnp.squeeze(small, axis=axis)
    return fnp.where(small, min_norm, fnp.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims))


def safe_root_mean_squares(x: Any, min_rms: Any) -> Any:
    """``max(sqrt(mean(x**2)), min_rms)`` with a finite gradient at zero.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from transforms import numerics
        >>> round(float(numerics.safe_root_mean_squares(fnp.asarray([3.0, 4.0]), 0.0)) ** 2, 6)
        12.5
    """
    rms = fnp.sqrt(fnp.mean(abs_sq(x)))
    x = fnp.where(rms <= min_rms, fnp.ones_like(x), x)
    return fnp.where(rms <= min_rms, min_rms, fnp.sqrt(fnp.mean(abs_sq(x))))
