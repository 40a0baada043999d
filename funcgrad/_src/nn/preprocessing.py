"""Preparing network inputs: one-hot encoding of labels and standardization of features."""

from __future__ import annotations

import operator
from typing import Any

from funcgrad._src import dtypes
from funcgrad._src.core import concrete_or_error, is_array_like
from funcgrad._src.nn._util import fname, inexact
from funcgrad._src.numpy import creation as c
from funcgrad._src.numpy import reductions as r
from funcgrad._src.numpy import shape as _shape
from funcgrad._src.numpy import ufuncs as u
from funcgrad._src.numpy.util import asarray, canonicalize_axis, convert

__all__ = ["one_hot", "standardize"]


def one_hot(x: Any, num_classes: int, *, dtype: Any = float, axis: int = -1) -> Any:
    """One-hot encoding: a new axis of size ``num_classes`` (at ``axis``) with a 1 where the
    class index equals ``x``.

    As in JAX, indices outside ``[0, num_classes)`` (negative ones included: no wrap-around),
    non-integral floats and NaN encode as all zeros. ``num_classes`` must be a concrete
    integer (it sets the output shape). The default ``dtype=float`` is float64.

    Examples:
        >>> import funcgrad.numpy as fnp, funcgrad.nn as nn
        >>> nn.one_hot(fnp.asarray([0, 2, -1]), 3).tolist()
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
        >>> nn.one_hot(fnp.asarray([1, 0]), 2, dtype=fnp.int32, axis=0).tolist()
        [[0, 1], [1, 0]]
    """
    name = fname("one_hot")
    if is_array_like(num_classes):
        num_classes = concrete_or_error(
            num_classes, name, "num_classes (the output shape)", "pass a Python int"
        ).item()
    try:
        n = operator.index(num_classes)
    except TypeError:
        raise TypeError(f"{name}: num_classes must be an integer, got {num_classes!r}") from None
    if n < 0:
        raise ValueError(f"{name}: num_classes must be non-negative, got {n}")
    dt = dtypes.canonicalize_dtype(dtype, name)
    x = asarray(x, fname=name)
    out_ndim = x.ndim + 1
    axis = canonicalize_axis(axis, out_ndim, name)
    classes_shape = [1] * out_ndim
    classes_shape[axis] = n
    classes = _shape.reshape(c.arange(n, dtype=x.dtype if x.dtype.kind in "iuf" else None),
                             tuple(classes_shape))  # fmt: skip
    return convert(u.equal(_shape.expand_dims(x, axis), classes), dt)


def standardize(
    x: Any,
    axis: Any = -1,
    mean: Any = None,
    variance: Any = None,
    epsilon: float = 1e-5,
    where: Any = None,
) -> Any:
    """``(x - mean) / sqrt(variance + epsilon)`` with the statistics over ``axis``.

    ``mean`` and ``variance`` default to the (``where``-masked) mean and the mean squared
    deviation from ``mean`` along ``axis``, both kept as size-1 axes. Unlike JAX, which
    computes ``mean(x^2) - mean^2`` (one pass, but it cancels catastrophically when the
    mean is large against the spread), the variance is computed from centred values.
    Masked-out elements are standardized too (``where`` only selects the statistics).

    Examples:
        >>> import funcgrad.numpy as fnp, funcgrad.nn as nn
        >>> [round(v, 4) for v in nn.standardize(fnp.asarray([1.0, 2.0, 3.0]), epsilon=0).tolist()]
        [-1.2247, 0.0, 1.2247]
    """
    x = inexact(x, "standardize")
    if mean is None:
        mean = r.mean(x, axis, keepdims=True, where=where)
    centred = x - mean
    if variance is None:
        variance = r.mean(u.square(centred), axis, keepdims=True, where=where)
    return centred / u.sqrt(variance + epsilon)
