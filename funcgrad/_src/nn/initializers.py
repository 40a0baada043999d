"""``funcgrad.nn.initializers``: jax.nn.initializers' parameter initializers.

An initializer is a function ``init(key, shape, dtype=float64) -> array``. ``zeros`` and
``ones`` are initializers; the others are factories that return one (``normal(0.02)``,
``glorot_uniform()``, ...). Fans follow JAX's layouts: the input and output feature axes
are ``in_axis`` (default -2) and ``out_axis`` (default -1), as in a Dense ``(in, out)``
kernel or an ``HWIO`` convolution kernel, and the receptive field is the product of the
remaining (non-batch) axes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import funcgrad.numpy as fnp
from funcgrad._src import random

__all__ = [
    "constant", "delta_orthogonal", "glorot_normal", "glorot_uniform", "he_normal",
    "he_uniform", "kaiming_normal", "kaiming_uniform", "lecun_normal", "lecun_uniform",
    "normal", "ones", "orthogonal", "truncated_normal", "uniform", "variance_scaling",
    "xavier_normal", "xavier_uniform", "zeros",
]  # fmt: skip

Initializer = Callable[..., Any]
_F64 = np.dtype(np.float64)


def _shape(shape: Any, name: str) -> tuple[int, ...]:
    try:
        return tuple(int(d) for d in ((shape,) if isinstance(shape, (int, np.integer)) else shape))
    except TypeError:
        raise TypeError(f"funcgrad.nn.initializers.{name}: shape must be a tuple of ints, "
                        f"got {shape!r:.60}") from None  # fmt: skip


def zeros(key: Any, shape: Sequence[int], dtype: Any = _F64) -> Any:
    """An array of zeros (``key`` is unused).

    Examples:
        >>> from funcgrad import random
        >>> from funcgrad.nn import initializers
        >>> initializers.zeros(random.key(0), (2,)).tolist()
        [0.0, 0.0]
    """
    del key
    return fnp.zeros(_shape(shape, "zeros"), dtype)


def ones(key: Any, shape: Sequence[int], dtype: Any = _F64) -> Any:
    """An array of ones (``key`` is unused).

    Examples:
        >>> from funcgrad import random
        >>> from funcgrad.nn import initializers
        >>> initializers.ones(random.key(0), (2,)).tolist()
        [1.0, 1.0]
    """
    del key
    return fnp.ones(_shape(shape, "ones"), dtype)


def constant(value: Any, dtype: Any = _F64) -> Initializer:
    """An initializer filling every element with ``value``.

    Examples:
        >>> from funcgrad import random
        >>> from funcgrad.nn import initializers
        >>> initializers.constant(0.5)(random.key(0), (2,)).tolist()
        [0.5, 0.5]
    """

    def init(key, shape, dtype=dtype):
        del key
        return fnp.full(_shape(shape, "constant"), value, dtype)

    return init


def uniform(scale: float = 1e-2, dtype: Any = _F64) -> Initializer:
    """Uniform samples on ``[0, scale)``.

    Examples:
        >>> from funcgrad import random
        >>> from funcgrad.nn import initializers
        >>> w = initializers.uniform(0.1)(random.key(0), (100,))
        >>> bool(((w >= 0) & (w < 0.1)).all())
        True
    """

    def init(key, shape, dtype=dtype):
        return random.uniform(key, _shape(shape, "uniform"), dtype) * scale

    return init


def normal(stddev: float = 1e-2, dtype: Any = _F64) -> Initializer:
    """Normal samples with mean 0 and standard deviation ``stddev``.

    Examples:
        >>> from funcgrad import random
        >>> from funcgrad.nn import initializers
        >>> initializers.normal(0.02)(random.key(0), (3, 4)).shape
        (3, 4)
    """

    def init(key, shape, dtype=dtype):
        return random.normal(key, _shape(shape, "normal"), dtype) * stddev

    return init


def truncated_normal(stddev: float = 1e-2, dtype: Any = _F64, lower: float = -2.0,
                     upper: float = 2.0) -> Initializer:  # fmt: skip
    """``stddev`` times standard normal samples truncated to ``[lower, upper]``.

    Examples:
        >>> from funcgrad import random
        >>> from funcgrad.nn import initializers
        >>> w = initializers.truncated_normal(1.0)(random.key(0), (1000,))
        >>> bool((abs(w) <= 2).all())
        True
    """

    def init(key, shape, dtype=dtype):
        shape = _shape(shape, "truncated_normal")
        return random.truncated_normal(key, lower, upper, shape, dtype) * stddev

    return init


def _compute_fans(shape: tuple[int, ...], in_axis: Any, out_axis: Any, batch_axis: Any,
                  name: str) -> tuple[float, float]:  # fmt: skip
    if len(shape) < 2:
        raise ValueError(
            f"funcgrad.nn.initializers.{name}: needs a kernel with at least 2 axes (input and "
            f"output features) to compute fans, got shape {shape}; use normal() or zeros "
            f"for biases"
        )
    ndim = len(shape)
    as_tuple = lambda a: tuple(x % ndim for x in ((a,) if isinstance(a, int) else a))
    ins, outs, batch = as_tuple(in_axis), as_tuple(out_axis), as_tuple(batch_axis)
    in_size = math.prod(shape[a] for a in ins)
    out_size = math.prod(shape[a] for a in outs)
    receptive = math.prod(shape) / (in_size * out_size * math.prod(shape[a] for a in batch))
    return in_size * receptive, out_size * receptive


# the standard deviation of a standard normal truncated to [-2, 2]
_TRUNCATED_STD = 0.87962566103423978


def variance_scaling(scale: float, mode: str, distribution: str, in_axis: Any = -2,
                     out_axis: Any = -1, batch_axis: Any = (), dtype: Any = _F64) -> Initializer:  # fmt: skip
    """Samples with variance ``scale / n``, ``n`` the fan in, fan out or their mean.

    ``mode`` is ``'fan_in'``, ``'fan_out'`` or ``'fan_avg'``; ``distribution`` is
    ``'truncated_normal'`` (normal truncated to two standard deviations, rescaled to the
    variance), ``'normal'`` or ``'uniform'`` (on ``+-sqrt(3 variance)``).

    Examples:
        >>> from funcgrad import random
        >>> from funcgrad.nn import initializers
        >>> w = initializers.variance_scaling(2.0, "fan_in", "normal")(random.key(0), (500, 400))
        >>> abs(float(w.var()) - 2.0 / 500) < 2e-4
        True
    """
    if mode not in ("fan_in", "fan_out", "fan_avg"):
        raise ValueError(f"funcgrad.nn.initializers.variance_scaling: mode must be 'fan_in', "
                         f"'fan_out' or 'fan_avg', got {mode!r}")  # fmt: skip
    if distribution not in ("truncated_normal", "normal", "uniform"):
        raise ValueError(
            f"funcgrad.nn.initializers.variance_scaling: distribution must be "
            f"'truncated_normal', 'normal' or 'uniform', got {distribution!r}"
        )

    def init(key, shape, dtype=dtype):
        shape = _shape(shape, "variance_scaling")
        fan_in, fan_out = _compute_fans(shape, in_axis, out_axis, batch_axis, "variance_scaling")
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
        variance = scale / n
        if distribution == "truncated_normal":
            std = math.sqrt(variance) / _TRUNCATED_STD
            return random.truncated_normal(key, -2.0, 2.0, shape, dtype) * std
        if distribution == "normal":
            return random.normal(key, shape, dtype) * math.sqrt(variance)
        limit = math.sqrt(3 * variance)
        return random.uniform(key, shape, dtype, -limit, limit)

    return init


def _family(scale: float, mode: str, distribution: str, doc: str):
    def factory(in_axis: Any = -2, out_axis: Any = -1, batch_axis: Any = (),
                dtype: Any = _F64) -> Initializer:  # fmt: skip
        return variance_scaling(scale, mode, distribution, in_axis, out_axis, batch_axis, dtype)

    factory.__doc__ = doc
    return factory


glorot_uniform = _family(
    1.0,
    "fan_avg",
    "uniform",
    """Glorot/Xavier uniform:
    ``variance_scaling(1, 'fan_avg', 'uniform')`` (Glorot and Bengio, AISTATS 2010).

    Examples:
        >>> from funcgrad import random
        >>> from funcgrad.nn import initializers
        >>> w = initializers.glorot_uniform()(random.key(0), (3, 5))
        >>> bool((abs(w) <= (6 / 8) ** 0.5).all())
        True
    """,
)
glorot_normal = _family(
    1.0,
    "fan_avg",
    "truncated_normal",
    """Glorot/Xavier normal:
    ``variance_scaling(1, 'fan_avg', 'truncated_normal')``.

    Examples:
        >>> from funcgrad import random
        >>> from funcgrad.nn import initializers
        >>> initializers.glorot_normal()(random.key(0), (3, 5)).shape
        (3, 5)
    """,
)
lecun_uniform = _family(
    1.0,
    "fan_in",
    "uniform",
    """LeCun uniform:
    ``variance_scaling(1, 'fan_in', 'uniform')``.

    Examples:
        >>> from funcgrad import random
        >>> from funcgrad.nn import initializers
        >>> initializers.lecun_uniform()(random.key(0), (3, 5)).shape
        (3, 5)
    """,
)
lecun_normal = _family(
    1.0,
    "fan_in",
    "truncated_normal",
    """LeCun normal:
    ``variance_scaling(1, 'fan_in', 'truncated_normal')``.

    Examples:
        >>> from funcgrad import random
        >>> from funcgrad.nn import initializers
        >>> initializers.lecun_normal()(random.key(0), (3, 5)).shape
        (3, 5)
    """,
)
he_uniform = _family(
    2.0,
    "fan_in",
    "uniform",
    """He/Kaiming uniform:
    ``variance_scaling(2, 'fan_in', 'uniform')`` (He et al., ICCV 2015).

    Examples:
        >>> from funcgrad import random
        >>> from funcgrad.nn import initializers
        >>> initializers.he_uniform()(random.key(0), (3, 5)).shape
        (3, 5)
    """,
)
he_normal = _family(
    2.0,
    "fan_in",
    "truncated_normal",
    """He/Kaiming normal:
    ``variance_scaling(2, 'fan_in', 'truncated_normal')``.

    Examples:
        >>> from funcgrad import random
        >>> from funcgrad.nn import initializers
        >>> initializers.he_normal()(random.key(0), (3, 5)).shape
        (3, 5)
    """,
)
xavier_uniform, xavier_normal = glorot_uniform, glorot_normal
kaiming_uniform, kaiming_normal = he_uniform, he_normal


def orthogonal(scale: float = 1.0, column_axis: int = -1, dtype: Any = _F64) -> Initializer:
    """A (semi-)orthogonal matrix (Haar-distributed, from the QR decomposition of a normal
    matrix with R's diagonal signs fixed) reshaped to ``shape``, the columns along
    ``column_axis``, times ``scale`` (Saxe et al., ICLR 2014).

    Examples:
        >>> import numpy as np
        >>> from funcgrad import random
        >>> from funcgrad.nn import initializers
        >>> w = np.asarray(initializers.orthogonal()(random.key(0), (5, 3)))
        >>> bool(np.allclose(w.T @ w, np.eye(3)))
        True
    """

    def init(key, shape, dtype=dtype):
        shape = _shape(shape, "orthogonal")
        if len(shape) < 2:
            raise ValueError(f"funcgrad.nn.initializers.orthogonal: shape must have at least 2 "
                             f"axes, got {shape}")  # fmt: skip
        axis = column_axis % len(shape)
        n_cols = shape[axis]
        n_rows = math.prod(shape) // n_cols
        matrix_shape = (n_cols, n_rows) if n_rows < n_cols else (n_rows, n_cols)
        q, r = fnp.linalg.qr(random.normal(key, matrix_shape, dtype))
        signs = fnp.sign(fnp.diagonal(r))
        q = q * fnp.where(signs == 0, 1, signs)
        if n_rows < n_cols:
            q = q.T
        q = fnp.reshape(q, tuple(np.delete(shape, axis)) + (n_cols,))
        return scale * fnp.moveaxis(q, -1, axis)

    return init


def delta_orthogonal(scale: float = 1.0, column_axis: int = -1, dtype: Any = _F64) -> Initializer:
    """For convolution kernels (3 to 5 axes, spatial axes first, ``in <= out`` channels
    last): zero except an orthogonal ``(in, out)`` matrix at the spatial centre (Xiao et
    al., ICML 2018), so the convolution starts out norm-preserving.

    Examples:
        >>> from funcgrad import random
        >>> from funcgrad.nn import initializers
        >>> w = initializers.delta_orthogonal()(random.key(0), (3, 3, 2, 4))
        >>> float(abs(w[0]).sum()), w[1, 1].shape
        (0.0, (2, 4))
    """

    def init(key, shape, dtype=dtype):
        shape = _shape(shape, "delta_orthogonal")
        if len(shape) not in (3, 4, 5):
            raise ValueError(f"funcgrad.nn.initializers.delta_orthogonal: kernels must have 3, "
                             f"4 or 5 axes, got shape {shape}")  # fmt: skip
        if shape[-2] > shape[-1]:
            raise ValueError(
                f"funcgrad.nn.initializers.delta_orthogonal: needs in_channels <= "
                f"out_channels (shape[-2] <= shape[-1]), got shape {shape}"
            )
        matrix = orthogonal(scale, column_axis, dtype)(key, shape[-2:], dtype)
        centre = tuple((k - 1) // 2 for k in shape[:-2])
        return fnp.zeros(shape, dtype).at[centre].set(matrix)

    return init
