"""Activation functions: elementwise nonlinearities (and ``glu``), following ``jax.nn``.

Derivatives at kinks follow JAX's conventions: ``relu'(0) = 0``, ``relu6'`` is 0 at 0 and
at 6, ``leaky_relu'(0) = 1``, ``hard_tanh'(+-1) = 1``, ``elu'(0) = alpha``. Where a naive
formula would overflow (``exp(1000)``) in a branch that ``where`` discards, the branch is
evaluated on a clamped input, so that neither values nor gradients become NaN.
"""

from __future__ import annotations

import math
from typing import Any

from funcgrad._src.nn._util import fname, inexact, with_jvp
from funcgrad._src.nn.special import _erfc
from funcgrad._src.numpy import shape as _shape
from funcgrad._src.numpy import ufuncs as u
from funcgrad._src.numpy.util import asarray, canonicalize_axis

__all__ = [
    "celu", "elu", "gelu", "glu", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh",
    "leaky_relu", "log_sigmoid", "mish", "relu", "relu6", "selu", "sigmoid", "silu",
    "soft_sign", "softplus", "swish",
]  # fmt: skip


# --- piecewise linear ----------------------------------------------------------------


def _relu_value(x):
    return u.maximum(x, 0)


def _relu_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _relu(x), u.where(x > 0, t, 0)


_relu = with_jvp(_relu_value, _relu_jvp)


def relu(x: Any) -> Any:
    """The rectified linear unit ``max(x, 0)``; its derivative at 0 is taken as 0 (as in JAX).

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp, funcgrad.nn as nn
        >>> nn.relu(fnp.asarray([-2.0, 0.0, 3.0])).tolist()
        [0.0, 0.0, 3.0]
        >>> funcgrad.grad(lambda x: nn.relu(x).sum())(fnp.asarray([-1.0, 0.0, 1.0])).tolist()
        [0.0, 0.0, 1.0]
    """
    return _relu(asarray(x, fname=fname("relu")))


def _relu6_value(x):
    return u.minimum(u.maximum(x, 0), 6)


def _relu6_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _relu6(x), u.where((x > 0) & (x < 6), t, 0)


_relu6 = with_jvp(_relu6_value, _relu6_jvp)


def relu6(x: Any) -> Any:
    """``min(max(x, 0), 6)``; the derivative is 0 at both kinks (as in JAX).

    Examples:
        >>> import funcgrad.numpy as fnp, funcgrad.nn as nn
        >>> nn.relu6(fnp.asarray([-1.0, 3.0, 7.0])).tolist()
        [0.0, 3.0, 6.0]
    """
    return _relu6(asarray(x, fname=fname("relu6")))


def leaky_relu(x: Any, negative_slope: Any = 0.01) -> Any:
    """``x`` where ``x >= 0``, else ``negative_slope * x``; the derivative at 0 is 1.

    Examples:
        >>> import funcgrad.numpy as fnp, funcgrad.nn as nn
        >>> nn.leaky_relu(fnp.asarray([-2.0, 3.0]), negative_slope=0.5).tolist()
        [-1.0, 3.0]
    """
    x = asarray(x, fname=fname("leaky_relu"))
    return u.where(x >= 0, x, negative_slope * x)


def hard_tanh(x: Any) -> Any:
    """``x`` clipped to [-1, 1]; the derivative is 1 on the closed interval (as in JAX).

    Examples:
        >>> import funcgrad.numpy as fnp, funcgrad.nn as nn
        >>> nn.hard_tanh(fnp.asarray([-3.0, 0.5, 2.0])).tolist()
        [-1.0, 0.5, 1.0]
    """
    x = asarray(x, fname=fname("hard_tanh"))
    return u.where(x > 1, 1, u.where(x < -1, -1, x))


def hard_sigmoid(x: Any) -> Any:
    """``relu6(x + 3) / 6``, a piecewise-linear sigmoid.

    Examples:
        >>> import funcgrad.numpy as fnp, funcgrad.nn as nn
        >>> nn.hard_sigmoid(fnp.asarray([-4.0, 0.0, 4.0])).tolist()
        [0.0, 0.5, 1.0]
    """
    return relu6(inexact(x, "hard_sigmoid") + 3) / 6


def hard_silu(x: Any) -> Any:
    """``x * hard_sigmoid(x)`` (also called ``hard_swish``).

    Examples:
        >>> import funcgrad.numpy as fnp, funcgrad.nn as nn
        >>> nn.hard_silu(fnp.asarray([-4.0, 0.0, 3.0])).tolist()
        [-0.0, 0.0, 3.0]
    """
    x = inexact(x, "hard_silu")
    return x * hard_sigmoid(x)


hard_swish = hard_silu


# --- exponential family ----------------------------------------------------------------


def elu(x: Any, alpha: Any = 1.0) -> Any:
    """The exponential linear unit: ``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``.

    Examples:
        >>> import funcgrad.numpy as fnp, funcgrad.nn as nn
        >>> [round(v, 6) for v in nn.elu(fnp.asarray([-1.0, 2.0])).tolist()]
        [-0.632121, 2.0]
    """
    x = inexact(x, "elu")
    positive = x > 0
    # expm1 of the clamped input: the discarded branch must not overflow (its gradient
    # would be 0 * inf = NaN)
    return u.where(positive, x, alpha * u.expm1(u.where(positive, 0, x)))


def celu(x: Any, alpha: Any = 1.0) -> Any:
    """The continuously differentiable ELU ``max(x, 0) + alpha * expm1(min(x, 0) / alpha)``.

    Examples:
        >>> import funcgrad.numpy as fnp, funcgrad.nn as nn
        >>> [round(v, 6) for v in nn.celu(fnp.asarray([-1.0, 2.0]), alpha=2.0).tolist()]
        [-0.786939, 2.0]
    """
    x = inexact(x, "celu")
    return u.maximum(x, 0) + alpha * u.expm1(u.minimum(x, 0) / alpha)


# Klambauer et al., "Self-normalizing neural networks" (2017), eq. 14 constants.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(x: Any) -> Any:
    """The scaled ELU ``scale * elu(x, alpha)`` with the self-normalizing constants
    ``alpha = 1.67326...`` and ``scale = 1.05070...`` (Klambauer et al., 2017).

    Examples:
        >>> import funcgrad.numpy as fnp, funcgrad.nn as nn
        >>> [round(v, 6) for v in nn.selu(fnp.asarray([-1.0, 1.0])).tolist()]
        [-1.111331, 1.050701]
    """
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


# --- sigmoid family ----------------------------------------------------------------------


def _sigmoid_value(x):
    # from exp(-|x|) <= 1: no overflow for any x (the kink of |x| at 0 is invisible to
    # differentiation, which uses the rule below)
    e = u.exp(-u.abs(x))
    d = 1 + e
    return u.where(x >= 0, 1 / d, e / d)


def _sigmoid_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    # sigmoid(x) * sigmoid(-x): accurate in both tails, unlike s * (1 - s). Rules call the
    # custom function itself, so that derivatives of every order use this rule.
    return _sigmoid(x), t * (_sigmoid(x) * _sigmoid(-x))


_sigmoid = with_jvp(_sigmoid_value, _sigmoid_jvp)


def sigmoid(x: Any) -> Any:
    """The logistic function ``1 / (1 + exp(-x))``, computed from ``exp(-|x|)`` so that no
    intermediate overflows; its derivative ``sigmoid(x) * sigmoid(-x)`` is accurate in both
    tails (a custom JVP).

    Examples:
        >>> import funcgrad.numpy as fnp, funcgrad.nn as nn
        >>> nn.sigmoid(fnp.asarray([-1000.0, 0.0, 1000.0])).tolist()
        [0.0, 0.5, 1.0]
    """
    return _sigmoid(inexact(x, "sigmoid"))


def softplus(x: Any) -> Any:
    """``log(1 + exp(x))``, computed as ``logaddexp(x, 0)`` (no overflow).

    Examples:
        >>> import funcgrad.numpy as fnp, funcgrad.nn as nn
        >>> [round(v, 6) for v in nn.softplus(fnp.asarray([-1000.0, 0.0, 1000.0])).tolist()]
        [0.0, 0.693147, 1000.0]
    """
    return u.logaddexp(inexact(x, "softplus"), 0)


def log_sigmoid(x: Any) -> Any:
    """``log(sigmoid(x)) = -softplus(-x)``, finite for all finite x.

    Examples:
        >>> import funcgrad.numpy as fnp, funcgrad.nn as nn
        >>> nn.log_sigmoid(fnp.asarray([-1000.0, 1000.0])).tolist()
        [-1000.0, -0.0]
    """
    return -softplus(-inexact(x, "log_sigmoid"))


def silu(x: Any) -> Any:
    """The sigmoid linear unit ``x * sigmoid(x)`` (also called ``swish``).

    Examples:
        >>> import funcgrad.numpy as fnp, funcgrad.nn as nn
        >>> [round(v, 6) for v in nn.silu(fnp.asarray([-1.0, 0.0, 2.0])).tolist()]
        [-0.268941, 0.0, 1.761594]
    """
    x = inexact(x, "silu")
    return x * sigmoid(x)


swish = silu


def soft_sign(x: Any) -> Any:
    """``x / (|x| + 1)``.

    Examples:
        >>> import funcgrad.numpy as fnp, funcgrad.nn as nn
        >>> nn.soft_sign(fnp.asarray([-3.0, 1.0])).tolist()
        [-0.75, 0.5]
    """
    x = inexact(x, "soft_sign")
    return x / (u.abs(x) + 1)


def mish(x: Any) -> Any:
    """``x * tanh(softplus(x))`` (Misra, 2019).

    Examples:
        >>> import funcgrad.numpy as fnp, funcgrad.nn as nn
        >>> [round(v, 6) for v in nn.mish(fnp.asarray([-1.0, 1.0])).tolist()]
        [-0.303401, 0.865098]
    """
    x = inexact(x, "mish")
    return x * u.tanh(softplus(x))


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_SQRT_HALF = math.sqrt(0.5)


def gelu(x: Any, approximate: bool = True) -> Any:
    """The Gaussian error linear unit ``x * Phi(x)`` (Hendrycks and Gimpel, 2016).

    With ``approximate=True`` (the default, as in JAX) the tanh form
    ``x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))``; otherwise the exact
    ``x/2 * erfc(-x / sqrt(2))``, written with ``erfc`` rather than ``1 + erf`` so that it
    keeps full relative precision for negative x (where ``1 + erf`` cancels). ``erfc`` is
    a composition (Cody's rational approximation, see ``funcgrad._src.nn.special``).

    Examples:
        >>> import funcgrad.numpy as fnp, funcgrad.nn as nn
        >>> [round(v, 6) for v in nn.gelu(fnp.asarray([-1.0, 1.0]), approximate=False).tolist()]
        [-0.158655, 0.841345]
        >>> [round(v, 6) for v in nn.gelu(fnp.asarray([-1.0, 1.0])).tolist()]
        [-0.158808, 0.841192]
    """
    x = inexact(x, "gelu")
    if approximate:
        # beyond |x| = 10 the tanh is +-1 to float64 precision (its argument exceeds 43):
        # clamping keeps x^3 from overflowing (and its gradient from becoming 0 * inf)
        c = u.clip(x, -10, 10)
        inner = _SQRT_2_OVER_PI * (c + 0.044715 * (c * c * c))
        return x * (0.5 * (1 + u.tanh(inner)))
    return x * (0.5 * _erfc(-_SQRT_HALF * x))


# --- gated -------------------------------------------------------------------------------


def glu(x: Any, axis: int = -1) -> Any:
    """The gated linear unit: split ``x`` in halves ``a, b`` along ``axis``; ``a * sigmoid(b)``.

    Examples:
        >>> import funcgrad.numpy as fnp, funcgrad.nn as nn
        >>> nn.glu(fnp.asarray([[2.0, 4.0, 0.0, 1000.0]])).tolist()
        [[1.0, 4.0]]
    """
    name = fname("glu")
    x = inexact(x, "glu")
    if x.ndim == 0:
        raise ValueError(f"{name}: x must have at least one axis, got a 0-d array")
    axis = canonicalize_axis(axis, x.ndim, name)
    size = x.shape[axis]
    if size % 2:
        raise ValueError(
            f"{name}: axis {axis} of x (shape {x.shape}) has odd size {size}; glu splits it "
            f"into two equal halves"
        )
    a, b = _shape.split(x, 2, axis=axis)
    return a * sigmoid(b)
