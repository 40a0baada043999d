"""Normalised exponentials: ``softmax``, ``log_softmax`` and ``logsumexp``, stable for any logits.

All three subtract the maximum along the reduced axes before exponentiating, so logits of
+-1000 neither overflow nor underflow to a useless result, and their gradients stay
finite. The maximum is a constant for differentiation (the functions do not depend on
it mathematically). Masking (``where=``) replaces masked logits by ``-inf`` before
anything else, so a masked logit never reaches ``exp``; a slice with nothing unmasked
(or only ``-inf`` logits) gives ``softmax`` 0, ``log_softmax`` -inf and ``logsumexp``
-inf, with zero gradients rather than NaN.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from funcgrad._src.custom_derivatives import stop_gradient
from funcgrad._src.nn._util import fname, inexact, with_jvp
from funcgrad._src.numpy import reductions as r
from funcgrad._src.numpy import shape as _shape
from funcgrad._src.numpy import ufuncs as u
from funcgrad._src.numpy.util import asarray, broadcast_operands, canonicalize_axes

__all__ = ["log_softmax", "logsumexp", "softmax"]


def _prepare(x: Any, axis: Any, where: Any, name: str) -> tuple[Any, tuple[int, ...]]:
    """Float logits with masked entries set to -inf, and the reduced axes."""
    x = inexact(x, name)
    axes = canonicalize_axes(axis, x.ndim, fname(name))
    if where is not None:
        x = u.where(asarray(where, fname=fname(name)), x, -np.inf)
    return x, axes


def _shift(x: Any, axes: tuple[int, ...], *, finite: bool) -> Any:
    """The maximum over ``axes`` (kept), 0 where it is -inf (so that all -inf stays -inf
    after the shift instead of becoming NaN), and with ``finite`` also where it is +inf
    (logsumexp([inf, 0]) is inf; softmax's is NaN, inf / inf, as in JAX). A constant for
    differentiation: the results do not depend on it mathematically, and the maximum's
    derivative rule (ties between -inf entries) would compute -inf - -inf."""
    empty = any(x.shape[a] == 0 for a in axes)
    m = r.max(stop_gradient(x), axes, keepdims=True, initial=-np.inf if empty else None)
    return u.where(u.isfinite(m) if finite else m != -np.inf, m, 0)


def _nonzero(s: Any) -> Any:
    return u.where(s == 0, 1, s)


def _softmax_value(axes, x):
    unnormalized = u.exp(x - _shift(x, axes, finite=False))
    # the sum is >= 1 (exp(0) at the maximum) unless the slice is all -inf: then 0 / tiny = 0
    tiny = float(np.finfo(unnormalized.dtype).tiny)
    return unnormalized / u.maximum(r.sum(unnormalized, axes, keepdims=True), tiny)


def _softmax_jvp(axes, primals, tangents):
    (x,) = primals
    (t,) = tangents
    y = _softmax(axes, x)  # the custom function itself: higher orders use this rule too
    # d softmax = y * (t - <y, t>): finite wherever y is
    return y, y * (t - r.sum(y * t, axes, keepdims=True))


_softmax = with_jvp(_softmax_value, _softmax_jvp, nondiff_argnums=(0,))


def softmax(x: Any, axis: Any = -1, where: Any = None) -> Any:
    """``exp(x) / sum(exp(x))`` along ``axis`` (an int, a tuple, or None for all axes).

    Masked-out elements (``where`` False) are excluded and get 0. A slice with nothing
    to normalise (all masked, or all ``-inf``) gives zeros. Any ``+inf`` logit gives NaN
    (inf / inf), as in JAX. The derivative is the custom JVP ``y * (t - sum(y * t))``.

    Examples:
        >>> import funcgrad.numpy as fnp, funcgrad.nn as nn
        >>> nn.softmax(fnp.asarray([1000.0, 1000.0, -1000.0])).tolist()
        [0.5, 0.5, 0.0]
        >>> mask = fnp.asarray([True, False, True])
        >>> [round(v, 4) for v in nn.softmax(fnp.asarray([1.0, 2.0, 3.0]), where=mask).tolist()]
        [0.1192, 0.0, 0.8808]
    """
    x, axes = _prepare(x, axis, where, "softmax")
    return _softmax(axes, x)


def log_softmax(x: Any, axis: Any = -1, where: Any = None) -> Any:
    """``x - logsumexp(x)`` along ``axis``; masked-out elements (``where`` False) get -inf.

    Examples:
        >>> import funcgrad.numpy as fnp, funcgrad.nn as nn
        >>> nn.log_softmax(fnp.asarray([0.0, 1000.0])).tolist()
        [-1000.0, 0.0]
    """
    x, axes = _prepare(x, axis, where, "log_softmax")
    shifted = x - _shift(x, axes, finite=False)
    total = r.sum(u.exp(shifted), axes, keepdims=True)
    return shifted - u.log(_nonzero(total))


def logsumexp(
    a: Any,
    axis: Any = None,
    b: Any = None,
    keepdims: bool = False,
    return_sign: bool = False,
    where: Any = None,
) -> Any:
    """``log(sum(b * exp(a)))`` along ``axis``, as ``jax.nn.logsumexp``
    (``jax.scipy.special.logsumexp``).

    ``b`` scales each term (broadcast against ``a``). With ``return_sign=True`` the result
    is ``(log(|sum|), sign(sum))``; otherwise a negative sum gives NaN. An empty or
    all-``-inf`` (or all-masked) slice gives -inf with a zero gradient.

    Examples:
        >>> import funcgrad.numpy as fnp, funcgrad.nn as nn
        >>> float(nn.logsumexp(fnp.asarray([1000.0, 1000.0])))  # 1000 + log(2)
        1000.6931471805599
        >>> [float(v) for v in nn.logsumexp(fnp.asarray([0.0, 0.0]), b=fnp.asarray([1.0, -2.0]),
        ...                                 return_sign=True)]
        [0.0, -1.0]
    """
    name = "logsumexp"
    a = inexact(a, name)
    if b is not None:
        a, b = broadcast_operands(fname(name), [a, asarray(b, fname=fname(name))])
    a, axes = _prepare(a, axis, where, name)
    shift = _shift(a, axes, finite=True)
    terms = u.exp(a - shift)
    if b is not None:
        terms = terms * b
    total = r.sum(terms, axes, keepdims=True)
    sign = u.sign(total)
    total = u.abs(total) if b is not None else total
    empty = total == 0
    out = u.where(empty, -np.inf, u.log(_nonzero(total)) + shift)
    if not keepdims:
        out, sign = _shape.squeeze(out, axes), _shape.squeeze(sign, axes)
    if return_sign:
        return out, sign
    if b is not None:
        out = u.where(sign < 0, np.nan, out)
    return out
