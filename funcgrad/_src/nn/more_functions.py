"""The remaining ``jax.nn`` functions: ``identity``, ``tanh``, ``squareplus``, the sparse
activations, ``log1mexp`` and ``logmeanexp``.

``sparse_plus`` and ``sparse_sigmoid`` are piecewise polynomials (Blondel et al.'s sparse
counterparts of softplus and sigmoid); ``sparse_sigmoid`` is ``sparse_plus``'s derivative.
Kinks take JAX's one-sided choices (the ``x <= -1`` piece includes -1).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from funcgrad._src.nn._util import fname, inexact
from funcgrad._src.nn.softmax_family import logsumexp
from funcgrad._src.numpy import reductions as r
from funcgrad._src.numpy import shape as _shape
from funcgrad._src.numpy import ufuncs as u
from funcgrad._src.numpy.util import asarray, canonicalize_axes

__all__ = [
    "identity",
    "log1mexp",
    "logmeanexp",
    "sparse_plus",
    "sparse_sigmoid",
    "squareplus",
    "tanh",
]


def identity(x: Any) -> Any:
    """The identity activation: ``x`` itself (as an array).

    Examples:
        >>> import funcgrad.nn as nn
        >>> nn.identity([1.0, -2.0]).tolist()
        [1.0, -2.0]
    """
    return asarray(x, fname=fname("identity"))


def tanh(x: Any) -> Any:
    """The hyperbolic tangent.

    Examples:
        >>> import funcgrad.nn as nn
        >>> round(float(nn.tanh(0.5)), 10)
        0.4621171573
    """
    return u.tanh(inexact(x, "tanh"))


def squareplus(x: Any, b: Any = 4) -> Any:
    """``(x + sqrt(x^2 + b)) / 2``, a smooth ReLU (So, "Squareplus", 2021).

    Examples:
        >>> import funcgrad.nn as nn
        >>> nn.squareplus([0.0, 1.5]).tolist()
        [1.0, 2.0]
    """
    x = inexact(x, "squareplus")
    return (x + u.sqrt(x * x + b)) / 2


def sparse_plus(x: Any) -> Any:
    """0 for ``x <= -1``, ``(x + 1)^2 / 4`` for ``-1 < x < 1``, ``x`` for ``x >= 1``.

    Examples:
        >>> import funcgrad.nn as nn
        >>> nn.sparse_plus([-2.0, 0.0, 2.0]).tolist()
        [0.0, 0.25, 2.0]
    """
    x = inexact(x, "sparse_plus")
    middle = (x + 1) * (x + 1) / 4
    return u.where(x <= -1, 0.0, u.where(x < 1, middle, x)).astype(x.dtype)


def sparse_sigmoid(x: Any) -> Any:
    """0 for ``x <= -1``, ``(x + 1) / 2`` for ``-1 < x < 1``, 1 for ``x >= 1``
    (``sparse_plus``'s derivative).

    Examples:
        >>> import funcgrad.nn as nn
        >>> nn.sparse_sigmoid([-2.0, 0.0, 2.0]).tolist()
        [0.0, 0.5, 1.0]
    """
    x = inexact(x, "sparse_sigmoid")
    return u.where(x <= -1, 0.0, u.where(x < 1, (x + 1) / 2, 1.0)).astype(x.dtype)


_LOG2 = math.log(2.0)


def log1mexp(x: Any) -> Any:
    """``log(1 - exp(-x))`` for ``x > 0``, accurate for both small and large ``x``
    (Maechler, "Accurately computing log(1 - exp(-|a|))", 2012: ``log(-expm1(-x))`` below
    ``log 2``, ``log1p(-exp(-x))`` above).

    Examples:
        >>> import funcgrad.nn as nn
        >>> [round(v, 10) for v in nn.log1mexp([1e-10, 1.0, 40.0]).tolist()]
        [-23.02585093, -0.4586751454, -0.0]
    """
    x = inexact(x, "log1mexp")
    small = x <= _LOG2
    # each branch on inputs from its own range, so the other's gradient stays finite
    near = u.log(-u.expm1(-u.where(small, x, _LOG2)))
    far = u.log1p(-u.exp(-u.where(small, _LOG2, x)))
    return u.where(small, near, far)


def logmeanexp(x: Any, axis: Any = None, where: Any = None, keepdims: bool = False) -> Any:
    """``log(mean(exp(x)))`` along ``axis``: ``logsumexp`` minus the log of the number of
    (unmasked) elements.

    Examples:
        >>> import funcgrad.nn as nn
        >>> round(float(nn.logmeanexp([1000.0, 1000.0])), 6)
        1000.0
    """
    x = inexact(x, "logmeanexp")
    axes = canonicalize_axes(axis, x.ndim, fname("logmeanexp"))
    total = logsumexp(x, axis=axes, keepdims=keepdims, where=where)
    if where is None:
        count = math.prod(x.shape[a] for a in axes)
        # no elements: logsumexp is -inf and the mean is undefined (NaN, as NumPy's)
        return total - math.log(count) if count else total + np.nan
    mask = _shape.broadcast_to(asarray(where, fname=fname("logmeanexp")), x.shape)
    count = r.sum(mask.astype(x.dtype), axis=axes, keepdims=keepdims)
    return total - u.log(count)
