"""Parameter initializers: functions ``(key, shape, dtype=None) -> array``, and their factories.

The names, signatures and distributions are ``jax.nn.initializers``' (``zeros`` and
``ones`` are initializers; ``normal(stddev)``, ``glorot_normal(...)`` ... are factories
that return one). PyTorch's ``torch.nn.init`` choices are added as keyword arguments or
extra names: ``xavier_*(gain=)``, ``kaiming_*(a=, mode=, nonlinearity=)``,
``uniform(minval=, maxval=)``, ``eye``/``identity``, ``sparse`` and ``calculate_gain``.

Fans follow JAX's layouts, where a kernel's input and output feature axes are given by
``in_axis`` (default -2) and ``out_axis`` (default -1), as in a Dense ``(in, out)``
matrix or an ``HWIO`` convolution kernel: ``fan_in = shape[in_axis] * receptive_field``,
``fan_out = shape[out_axis] * receptive_field``, with the receptive field the product of
the other (non-batch) axes. PyTorch computes the same numbers from its ``(out, in, *k)``
layout, so the variances agree with ``torch.nn.init`` for the same layer.

``dtype=None`` means funcgrad's default float (float64), as ``funcgrad.random``'s.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import nn, random

# JAX's initializers that PyTorch adds nothing to are funcgrad.nn.initializers' own.
zeros = nn.initializers.zeros
ones = nn.initializers.ones
orthogonal = nn.initializers.orthogonal
delta_orthogonal = nn.initializers.delta_orthogonal

__all__ = [
    "calculate_gain",
    "constant",
    "delta_orthogonal",
    "eye",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "identity",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_uniform",
    "normal",
    "ones",
    "orthogonal",
    "sparse",
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]

Initializer = Callable[..., Any]

# The standard deviation of a standard normal truncated to [-2, 2]: dividing by it makes
# the truncated samples' variance the requested one (JAX's and TensorFlow's constant).
_TRUNCATED_STD = 0.87962566103423978


def _dtype(dtype: Any) -> np.dtype:
    return np.dtype(np.float64 if dtype is None else dtype)


def _shape(shape: Any, fname: str) -> tuple[int, ...]:
    try:
        return tuple(int(d) for d in shape)
    except TypeError:
        raise TypeError(
            f"stax.initializers.{fname}: shape must be a sequence of ints, got {shape!r}"
        ) from None


def constant(value: Any, dtype: Any = None) -> Initializer:
    """An initializer filling with ``value`` (a scalar, or an array broadcast to the shape).

    Examples:
        >>> from stax import initializers
        >>> initializers.constant(0.5)(None, (2,)).tolist()
        [0.5, 0.5]
    """

    def init(key, shape, dtype=dtype):
        del key
        return fnp.broadcast_to(fnp.asarray(value, _dtype(dtype)), _shape(shape, "constant"))

    return init


def eye(key: Any, shape: Sequence[int], dtype: Any = None):
    """The identity matrix of a 2-D ``shape`` (rectangular allowed), as ``torch.nn.init.eye_``.

    Examples:
        >>> from stax import initializers
        >>> initializers.eye(None, (2, 3)).tolist()
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    del key
    shape = _shape(shape, "eye")
    if len(shape) != 2:
        raise ValueError(f"stax.initializers.eye: needs a 2-D shape, got {shape}")
    return fnp.eye(shape[0], shape[1], dtype=_dtype(dtype))


identity = eye


def uniform(
    scale: float = 1e-2,
    dtype: Any = None,
    *,
    minval: float | None = None,
    maxval: float | None = None,
) -> Initializer:
    """Uniform on ``[0, scale)`` (JAX), or on ``[minval, maxval)`` when those are given (PyTorch).

    Examples:
        >>> from funcgrad import random
        >>> from stax import initializers
        >>> w = initializers.uniform(minval=-1.0, maxval=1.0)(random.key(0), (1000,))
        >>> bool(w.min() >= -1.0 and w.max() < 1.0)
        True
    """
    lo = 0.0 if minval is None else minval
    hi = scale if maxval is None else maxval

    def init(key, shape, dtype=dtype):
        return random.uniform(key, _shape(shape, "uniform"), _dtype(dtype), minval=lo, maxval=hi)

    return init


def normal(stddev: float = 1e-2, dtype: Any = None, *, mean: float = 0.0) -> Initializer:
    """Normal with standard deviation ``stddev`` (and ``mean``, PyTorch's ``normal_``).

    Examples:
        >>> from funcgrad import random
        >>> from stax import initializers
        >>> initializers.normal(0.1)(random.key(0), (3, 2)).shape
        (3, 2)
    """

    def init(key, shape, dtype=dtype):
        dt = _dtype(dtype)
        return random.normal(key, _shape(shape, "normal"), dt) * dt.type(stddev) + dt.type(mean)

    return init


def truncated_normal(
    stddev: float = 1e-2, dtype: Any = None, lower: float = -2.0, upper: float = 2.0
) -> Initializer:
    """A standard normal truncated to ``[lower, upper]``, times ``stddev`` (JAX's).

    Examples:
        >>> from funcgrad import random
        >>> from stax import initializers
        >>> w = initializers.truncated_normal(1.0)(random.key(0), (100,))
        >>> bool(abs(w).max() <= 2.0)
        True
    """

    def init(key, shape, dtype=dtype):
        dt = _dtype(dtype)
        draws = random.truncated_normal(key, lower, upper, _shape(shape, "truncated_normal"), dt)
        return draws * dt.type(stddev)

    return init


def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(int(a) % ndim for a in axes)


def compute_fans(
    shape: Sequence[int], in_axis: Any = -2, out_axis: Any = -1, batch_axis: Any = ()
) -> tuple[float, float]:
    """``(fan_in, fan_out)`` of ``shape`` (JAX's rule; see the module docstring).

    Examples:
        >>> from stax.initializers import compute_fans
        >>> compute_fans((3, 3, 16, 32))  # an HWIO kernel
        (144.0, 288.0)
    """
    shape = _shape(shape, "compute_fans")
    if len(shape) < 2:
        raise ValueError(
            f"stax.initializers: fan-based initializers need a shape of rank >= 2 (a kernel), got "
            f"{shape}; use normal() or zeros for biases"
        )
    n = len(shape)
    ins, outs, batch = _axes(in_axis, n), _axes(out_axis, n), _axes(batch_axis, n)
    size_in = math.prod(shape[a] for a in ins)
    size_out = math.prod(shape[a] for a in outs)
    receptive = math.prod(shape) / size_in / size_out / math.prod(shape[a] for a in batch)
    return float(size_in * receptive), float(size_out * receptive)


_MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
_DISTRIBUTIONS = ("truncated_normal", "normal", "uniform")


def variance_scaling(
    scale: float,
    mode: str,
    distribution: str,
    in_axis: Any = -2,
    out_axis: Any = -1,
    batch_axis: Any = (),
    dtype: Any = None,
) -> Initializer:
    """Samples with variance ``scale / n``, ``n`` the fan chosen by ``mode`` (JAX's).

    ``mode``: 'fan_in', 'fan_out', 'fan_avg' ((in + out) / 2) or 'fan_geo_avg'
    (sqrt(in * out)). ``distribution``: 'truncated_normal' (within two standard
    deviations, rescaled so the variance is exact), 'normal', or 'uniform' on
    ``[-sqrt(3 scale / n), sqrt(3 scale / n))``.

    Examples:
        >>> from funcgrad import random
        >>> from stax import initializers
        >>> init = initializers.variance_scaling(2.0, "fan_in", "uniform")
        >>> w = init(random.key(0), (50, 10))
        >>> bool(abs(w).max() <= (3 * 2.0 / 50) ** 0.5)
        True
    """
    if mode not in _MODES:
        raise ValueError(
            f"stax.initializers.variance_scaling: mode must be one of {_MODES}, got {mode!r}"
        )
    if distribution not in _DISTRIBUTIONS:
        raise ValueError(
            f"stax.initializers.variance_scaling: distribution must be one of {_DISTRIBUTIONS}, got {distribution!r}"
        )

    def init(key, shape, dtype=dtype):
        dt = _dtype(dtype)
        shape = _shape(shape, "variance_scaling")
        fan_in, fan_out = compute_fans(shape, in_axis, out_axis, batch_axis)
        denominator = {
            "fan_in": fan_in,
            "fan_out": fan_out,
            "fan_avg": (fan_in + fan_out) / 2,
            "fan_geo_avg": math.sqrt(fan_in * fan_out),
        }[mode]
        variance = scale / denominator
        if distribution == "truncated_normal":
            std = math.sqrt(variance) / _TRUNCATED_STD
            return random.truncated_normal(key, -2.0, 2.0, shape, dt) * dt.type(std)
        if distribution == "normal":
            return random.normal(key, shape, dt) * dt.type(math.sqrt(variance))
        bound = math.sqrt(3.0 * variance)
        return random.uniform(key, shape, dt, minval=-bound, maxval=bound)

    return init


def glorot_uniform(
    in_axis: Any = -2,
    out_axis: Any = -1,
    batch_axis: Any = (),
    dtype: Any = None,
    *,
    gain: float = 1.0,
) -> Initializer:
    """Glorot (Xavier) uniform: ``U(-a, a)``, ``a = gain * sqrt(6 / (fan_in + fan_out))``.

    ``gain`` is PyTorch's ``xavier_uniform_`` argument (``calculate_gain``).

    Examples:
        >>> from funcgrad import random
        >>> from stax import initializers
        >>> initializers.glorot_uniform()(random.key(0), (4, 3)).shape
        (4, 3)
    """
    return variance_scaling(gain**2, "fan_avg", "uniform", in_axis, out_axis, batch_axis, dtype)


def glorot_normal(
    in_axis: Any = -2,
    out_axis: Any = -1,
    batch_axis: Any = (),
    dtype: Any = None,
    *,
    gain: float = 1.0,
) -> Initializer:
    """Glorot (Xavier) normal: variance ``gain**2 * 2 / (fan_in + fan_out)``.

    Drawn from a normal truncated at two standard deviations and rescaled to that
    variance, as JAX's ``glorot_normal`` (PyTorch's ``xavier_normal_`` has the same
    variance without truncation).

    Examples:
        >>> from funcgrad import random
        >>> from stax import initializers
        >>> initializers.glorot_normal()(random.key(0), (4, 3)).shape
        (4, 3)
    """
    return variance_scaling(
        gain**2, "fan_avg", "truncated_normal", in_axis, out_axis, batch_axis, dtype
    )


def lecun_uniform(
    in_axis: Any = -2, out_axis: Any = -1, batch_axis: Any = (), dtype: Any = None
) -> Initializer:
    """LeCun uniform: ``U(-a, a)``, ``a = sqrt(3 / fan_in)``.

    Examples:
        >>> from funcgrad import random
        >>> from stax import initializers
        >>> initializers.lecun_uniform()(random.key(0), (4, 3)).shape
        (4, 3)
    """
    return variance_scaling(1.0, "fan_in", "uniform", in_axis, out_axis, batch_axis, dtype)


def lecun_normal(
    in_axis: Any = -2, out_axis: Any = -1, batch_axis: Any = (), dtype: Any = None
) -> Initializer:
    """LeCun normal: variance ``1 / fan_in`` (truncated normal, JAX's).

    Examples:
        >>> from funcgrad import random
        >>> from stax import initializers
        >>> initializers.lecun_normal()(random.key(0), (4, 3)).shape
        (4, 3)
    """
    return variance_scaling(1.0, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis, dtype)


def kaiming_uniform(
    in_axis: Any = -2,
    out_axis: Any = -1,
    batch_axis: Any = (),
    dtype: Any = None,
    *,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
) -> Initializer:
    """He (Kaiming) uniform: ``U(-b, b)``, ``b = gain * sqrt(3 / fan)``.

    ``gain = calculate_gain(nonlinearity, a)`` and ``fan`` by ``mode``, as PyTorch's
    ``kaiming_uniform_``; the defaults (gain ``sqrt(2)``, fan_in) are JAX's ``he_uniform``.

    Examples:
        >>> from funcgrad import random
        >>> from stax import initializers
        >>> w = initializers.kaiming_uniform()(random.key(0), (6, 5))
        >>> bool(abs(w).max() <= (6 / 6) ** 0.5)
        True
    """
    scale = _kaiming_scale("kaiming_uniform", a, mode, nonlinearity)
    return variance_scaling(scale, mode, "uniform", in_axis, out_axis, batch_axis, dtype)


def kaiming_normal(
    in_axis: Any = -2,
    out_axis: Any = -1,
    batch_axis: Any = (),
    dtype: Any = None,
    *,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
) -> Initializer:
    """He (Kaiming) normal: variance ``gain**2 / fan`` (truncated normal, as JAX's ``he_normal``).

    Arguments as :func:`kaiming_uniform`.

    Examples:
        >>> from funcgrad import random
        >>> from stax import initializers
        >>> initializers.kaiming_normal(mode="fan_out")(random.key(0), (6, 5)).shape
        (6, 5)
    """
    scale = _kaiming_scale("kaiming_normal", a, mode, nonlinearity)
    return variance_scaling(scale, mode, "truncated_normal", in_axis, out_axis, batch_axis, dtype)


def _kaiming_scale(name: str, a: float, mode: str, nonlinearity: str) -> float:
    """``gain**2`` of the Kaiming initializer ``name``, after checking its ``mode``."""
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(
            f"stax.initializers.{name}: mode must be 'fan_in' or 'fan_out', got {mode!r}"
        )
    return calculate_gain(nonlinearity, a) ** 2


he_uniform = kaiming_uniform
he_normal = kaiming_normal
xavier_uniform = glorot_uniform
xavier_normal = glorot_normal


def sparse(sparsity: float, stddev: float = 0.01, dtype: Any = None) -> Initializer:
    """A normal(0, stddev) 2-D matrix with ``ceil(sparsity * rows)`` zeros in each column,
    as PyTorch's ``sparse_`` (Martens, 2010).

    Examples:
        >>> import numpy as np
        >>> from funcgrad import random
        >>> from stax import initializers
        >>> w = np.asarray(initializers.sparse(0.5)(random.key(0), (4, 3)))
        >>> (w == 0).sum(axis=0).tolist()
        [2, 2, 2]
    """
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"stax.initializers.sparse: sparsity must be in [0, 1], got {sparsity}")

    def init(key, shape, dtype=dtype):
        dt = _dtype(dtype)
        shape = _shape(shape, "sparse")
        if len(shape) != 2:
            raise ValueError(f"stax.initializers.sparse: needs a 2-D shape, got {shape}")
        rows, _ = shape
        num_zeros = math.ceil(sparsity * rows)
        k_values, k_order = random.split(key)
        values = random.normal(k_values, shape, dt) * dt.type(stddev)
        # A random permutation of the rows of each column: ranks of uniform draws.
        ranks = fnp.argsort(fnp.argsort(random.uniform(k_order, shape), axis=0), axis=0)
        return fnp.where(ranks < num_zeros, dt.type(0), values)

    return init


_LINEAR = (
    "linear",
    "identity",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's ``calculate_gain`` table).

    =================================  =====================================
    linear, identity, conv*, sigmoid   1
    tanh                               5/3
    relu                               sqrt(2)
    leaky_relu                         sqrt(2 / (1 + slope**2)), slope ``param`` (default 0.01)
    selu                               3/4
    =================================  =====================================

    Examples:
        >>> from stax.initializers import calculate_gain
        >>> calculate_gain("tanh"), round(calculate_gain("leaky_relu", 0.2), 6)
        (1.6666666666666667, 1.38675)
    """
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 3.0 / 4
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (bool, np.bool_)) or not isinstance(param, (int, float, np.number)):
            raise ValueError(
                f"stax.initializers.calculate_gain: negative_slope {param!r} is not a number"
            )
        else:
            slope = float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    raise ValueError(
        f"stax.initializers.calculate_gain: unsupported nonlinearity {nonlinearity!r}; use one of "
        f"{[*_LINEAR, 'tanh', 'relu', 'leaky_relu', 'selu']}"
    )
