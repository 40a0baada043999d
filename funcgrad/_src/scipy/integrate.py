"""``funcgrad.scipy.integrate``: integration of sampled data (the trapezoidal rule)."""

from __future__ import annotations

from typing import Any

import funcgrad.numpy as fnp

__all__ = ["trapezoid"]


def trapezoid(y: Any, x: Any = None, dx: Any = 1.0, axis: int = -1) -> Any:
    r"""Integral of ``y`` along ``axis`` by the composite trapezoidal rule (SciPy's name
    for :func:`funcgrad.numpy.trapezoid`).

    .. math:: \int y \, dx \approx \sum_i \tfrac{1}{2} (x_{i+1} - x_i) (y_i + y_{i+1})

    Args:
        y: the samples.
        x: the sample points, 1-D (along ``axis``) or of ``y``'s shape; ``None`` for
            uniform spacing ``dx``.
        dx: the spacing when ``x`` is ``None``.
        axis: the axis to integrate along.

    Returns:
        The integral, with ``axis`` removed. Integer samples give a floating result,
        as in JAX.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy.integrate import trapezoid
        >>> float(trapezoid(fnp.asarray([1, 2, 3, 2, 3, 2, 1])))
        13.0
        >>> y = fnp.asarray([1, 2, 3, 2, 3, 2, 1])
        >>> float(trapezoid(y, fnp.asarray([0, 2, 5, 7, 10, 15, 20])))
        43.0
    """
    return fnp.trapezoid(y, x, dx, axis)
