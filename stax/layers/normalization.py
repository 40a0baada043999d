"""Normalization layers: BatchNorm (with running statistics), LayerNorm, GroupNorm,
InstanceNorm and LocalResponseNorm.

Params are JAX stax's ``(beta, gamma)`` (shift, scale; ``()`` for a disabled one),
shaped like the axes that are not reduced over. The normalization is
``(x - mean) / sqrt(var + epsilon)`` with the biased variance, then ``gamma * z + beta``.

BatchNorm's running statistics are *state* (see :mod:`stax.protocol`):
``init_state(input_shape)`` gives ``BatchNormState(mean=0, var=1, count=0)``, and
``apply_with_state`` in training normalizes with the batch statistics and returns the
state updated as PyTorch does::

    mean_run = (1 - momentum) * mean_run + momentum * mean_batch
    var_run  = (1 - momentum) * var_run  + momentum * var_batch * n / (n - 1)

(the unbiased batch variance, ``n`` the number of reduced elements; ``momentum=None`` is
the cumulative average ``1 / (count + 1)``). In evaluation it normalizes with the
running statistics and returns the state unchanged. Nothing is mutated.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import lax
from stax.initializers import ones, zeros
from stax.layers._util import check_rank, check_shape_rank, unpack
from stax.protocol import Layer, LayerError, is_training

__all__ = [
    "BatchNorm",
    "BatchNorm1D",
    "BatchNorm2D",
    "BatchNorm3D",
    "BatchNormState",
    "GroupNorm",
    "InstanceNorm",
    "LayerNorm",
    "LocalResponseNorm",
]


class BatchNormState(NamedTuple):
    """BatchNorm's running statistics: ``mean``, ``var`` and the number of updates ``count``."""

    mean: Any
    var: Any
    count: Any


def _axes(axis: Any) -> tuple[int, ...]:
    return (int(axis),) if isinstance(axis, (int, np.integer)) else tuple(int(a) for a in axis)


def _affine_params(rng, shape, center, scale, beta_init, gamma_init):
    k1, k2 = funcgrad.random.split(rng)
    beta = beta_init(k1, shape) if center else ()
    gamma = gamma_init(k2, shape) if scale else ()
    return beta, gamma


def _affine(z, beta, gamma, expand):
    if not isinstance(gamma, tuple):
        z = z * expand(gamma)
    if not isinstance(beta, tuple):
        z = z + expand(beta)
    return z


def _check_affine(params, kept_shape, name):
    beta, gamma = unpack(params, ("beta", "gamma"), name)
    for what, p in (("beta", beta), ("gamma", gamma)):
        if not isinstance(p, tuple) and tuple(p.shape) != tuple(kept_shape):
            raise LayerError(
                name,
                f"{what} has shape {tuple(p.shape)} but the input needs {tuple(kept_shape)}; "
                f"the params were initialized for another input shape",
            )
    return beta, gamma


def _batch_norm(
    name: str,
    axis: Any,
    ranks: tuple[int, ...] | None,
    epsilon,
    center,
    scale,
    beta_init,
    gamma_init,
    momentum,
    track_running_stats,
    dtype,
) -> Layer:
    """BatchNorm over ``axis`` (None: every axis but the last)."""

    def reduced(ndim: int) -> tuple[int, ...]:
        axes = tuple(range(ndim - 1)) if axis is None else _axes(axis)
        if any(not -ndim <= a < ndim for a in axes):
            raise LayerError(
                name, f"reduces over axes {axes}, which a rank-{ndim} input does not have"
            )
        return tuple(sorted(a % ndim for a in axes))

    def kept_shape(shape) -> tuple[int, ...]:
        axes = reduced(len(shape))
        return tuple(d for i, d in enumerate(shape) if i not in axes)

    def check(shape, given):
        if ranks is not None:
            layout = "N, C" if ranks == (2, 3) else "N, *spatial, C"
            if given is not None:
                check_rank(given, ranks, name, layout)
            else:
                check_shape_rank(shape, ranks, name, layout)
        return kept_shape(shape)

    def expander(x):
        """Broadcast a statistic (the kept axes' shape) to ``x``'s shape."""
        kept = tuple(i for i in range(x.ndim) if i not in reduced(x.ndim))
        return lambda v: lax.broadcast_in_dim(v, tuple(x.shape), kept)

    def init_fun(rng, input_shape):
        shape = check(input_shape, None)
        if any(d == -1 for d in shape):
            raise LayerError(
                name, f"the non-reduced axes of input shape {tuple(input_shape)} must be known"
            )
        return tuple(input_shape), _affine_params(rng, shape, center, scale, beta_init, gamma_init)

    def normalize(params, x, mean, var, centered=None):
        beta, gamma = _check_affine(params, check(x.shape, x), name)
        expand = expander(x)
        centered = x - expand(mean) if centered is None else centered
        z = centered * expand(lax.rsqrt(var + epsilon))
        return _affine(z, beta, gamma, expand)

    def batch_stats(x):
        """The batch mean, biased variance, and the centered input (reused by normalize)."""
        axes = reduced(x.ndim)
        mean = fnp.mean(x, axis=axes)
        centered = x - expander(x)(mean)
        return mean, fnp.mean(centered * centered, axis=axes), centered

    def apply_fun(params, inputs, **kwargs):
        if track_running_stats and not is_training(kwargs, name):
            raise LayerError(
                name,
                "evaluation (is_training=False) uses the running statistics, which live in the "
                "state: call net.apply_with_state(params, state, inputs, is_training=False) with "
                "state from net.init_state(input_shape), or build BatchNorm(track_running_stats=False)",
            )
        check(inputs.shape, inputs)
        mean, var, centered = batch_stats(inputs)
        return normalize(params, inputs, mean, var, centered)

    if not track_running_stats:
        return Layer(init_fun, apply_fun, name=name)

    def init_state(input_shape):
        shape = check(input_shape, None)
        dt = np.dtype(np.float64 if dtype is None else dtype)
        return tuple(input_shape), BatchNormState(
            fnp.zeros(shape, dt), fnp.ones(shape, dt), fnp.zeros((), np.int64)
        )

    def apply_with_state(params, state, inputs, **kwargs):
        if not isinstance(state, BatchNormState):
            raise LayerError(
                name,
                f"state must be a BatchNormState (from init_state), got {type(state).__name__}",
            )
        shape = check(inputs.shape, inputs)
        if tuple(state.mean.shape) != shape:
            raise LayerError(
                name,
                f"the running statistics have shape {tuple(state.mean.shape)} but the "
                f"input shape {tuple(inputs.shape)} needs {shape}",
            )
        if not is_training(kwargs, name):
            mean = state.mean.astype(inputs.dtype)
            var = state.var.astype(inputs.dtype)
            return normalize(params, inputs, mean, var), state
        n = math.prod(inputs.shape[a] for a in reduced(inputs.ndim))
        if n < 2:
            raise LayerError(
                name,
                f"training needs more than one value per channel to estimate the "
                f"variance, got input shape {tuple(inputs.shape)}",
            )
        mean, var, centered = batch_stats(inputs)
        out = normalize(params, inputs, mean, var, centered)
        dt = state.mean.dtype
        if momentum is None:  # cumulative moving average
            factor = 1.0 / (state.count + 1).astype(dt)
        else:
            factor = momentum  # a Python float keeps the state's dtype
        batch_mean = lax.stop_gradient(mean).astype(dt)
        batch_var = lax.stop_gradient(var).astype(dt) * (n / (n - 1))
        new_state = BatchNormState(
            (1 - factor) * state.mean + factor * batch_mean,
            (1 - factor) * state.var + factor * batch_var,
            state.count + 1,
        )
        return out, new_state

    return Layer(
        init_fun, apply_fun, init_state=init_state, apply_with_state=apply_with_state, name=name
    )


def BatchNorm(
    axis: Any = (0, 1, 2),
    epsilon: float = 1e-5,
    center: bool = True,
    scale: bool = True,
    beta_init: Callable = zeros,
    gamma_init: Callable = ones,
    *,
    momentum: float | None = 0.1,
    track_running_stats: bool = True,
    affine: bool | None = None,
    dtype: Any = None,
) -> Layer:
    """Batch normalization over the axes ``axis`` (JAX stax's ``BatchNorm``, with PyTorch's
    running statistics).

    Args:
        axis: the reduced axes (default ``(0, 1, 2)``: batch and spatial axes of NHWC).
            Params and running statistics have the shape of the other axes.
        epsilon: added to the variance.
        center, scale: learn ``beta`` / ``gamma`` (JAX); ``affine`` (PyTorch) sets both.
        beta_init, gamma_init: their initializers.
        momentum: the running statistics' update factor (PyTorch's, default 0.1); None for
            the cumulative average.
        track_running_stats: keep running statistics as state (PyTorch's default). With
            False the layer has no state and always uses the batch statistics.
        dtype: the running statistics' dtype (default float64; updates are cast to it).

    ``apply_fun`` is JAX's: it normalizes with the batch statistics. Running statistics
    need the state functions (module docstring); ``apply_fun(..., is_training=False)``
    is an error that says so.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> import stax
        >>> net = stax.BatchNorm(axis=(0,))
        >>> _, params = net.init_fun(random.key(0), (-1, 2))
        >>> _, state = net.init_state((-1, 2))
        >>> x = fnp.asarray([[1.0, 2.0], [3.0, 6.0]])
        >>> y, state = net.apply_with_state(params, state, x)  # training
        >>> [round(v, 3) for v in y[:, 0].tolist()]
        [-1.0, 1.0]
        >>> state.mean.tolist(), state.var.tolist()  # 0.9 * (0, 1) + 0.1 * (mean, unbiased var)
        ([0.2, 0.4], [1.1, 1.7000000000000002])
        >>> y, _ = net.apply_with_state(params, state, x, is_training=False)
    """
    if affine is not None:
        center = scale = affine
    return _batch_norm(
        "BatchNorm",
        axis,
        None,
        epsilon,
        center,
        scale,
        beta_init,
        gamma_init,
        momentum,
        track_running_stats,
        dtype,
    )


def _batch_norm_nd(rank_name: str, ranks: tuple[int, ...]):
    def layer(
        epsilon: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        beta_init: Callable = zeros,
        gamma_init: Callable = ones,
        dtype: Any = None,
    ) -> Layer:
        return _batch_norm(
            rank_name,
            None,
            ranks,
            epsilon,
            affine,
            affine,
            beta_init,
            gamma_init,
            momentum,
            track_running_stats,
            dtype,
        )

    layer.__name__ = layer.__qualname__ = rank_name
    return layer


BatchNorm1D = _batch_norm_nd("BatchNorm1D", (2, 3))
BatchNorm1D.__doc__ = """PyTorch's ``BatchNorm1d`` on channels-last inputs ``(N, C)`` or ``(N, L, C)``.

    Statistics over every axis but the channels (the last); arguments and state as
    :func:`BatchNorm` with PyTorch's names and defaults.

    Examples:
        >>> import stax
        >>> stax.BatchNorm1D().init_state((-1, 5, 3))[1].mean.shape
        (3,)
    """
BatchNorm2D = _batch_norm_nd("BatchNorm2D", (4,))
BatchNorm2D.__doc__ = """PyTorch's ``BatchNorm2d`` on NHWC inputs (statistics over N, H, W); see :func:`BatchNorm1D`.

    Examples:
        >>> from funcgrad import random
        >>> import stax
        >>> stax.BatchNorm2D().init_fun(random.key(0), (-1, 4, 4, 3))[1][1].shape
        (3,)
    """
BatchNorm3D = _batch_norm_nd("BatchNorm3D", (5,))
BatchNorm3D.__doc__ = """PyTorch's ``BatchNorm3d`` on NDHWC inputs; see :func:`BatchNorm1D`.

    Examples:
        >>> from funcgrad import random
        >>> import stax
        >>> stax.BatchNorm3D().init_fun(random.key(0), (-1, 2, 4, 4, 3))[0]
        (-1, 2, 4, 4, 3)
    """


def _normalize(x, axes, epsilon):
    mean = fnp.mean(x, axis=axes, keepdims=True)
    centered = x - mean
    var = fnp.mean(centered * centered, axis=axes, keepdims=True)
    return centered * lax.rsqrt(var + epsilon)


def LayerNorm(
    axis: Any = -1,
    epsilon: float = 1e-5,
    center: bool = True,
    scale: bool = True,
    beta_init: Callable = zeros,
    gamma_init: Callable = ones,
) -> Layer:
    """Layer normalization: statistics per example over ``axis`` (default the last).

    PyTorch's ``LayerNorm(normalized_shape)`` is ``axis=(-k, ..., -1)`` for the last ``k``
    axes; its ``elementwise_affine=False`` is ``center=scale=False``. Params
    ``(beta, gamma)`` have the shape of the normalized axes.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> import stax
        >>> init_fun, apply_fun = stax.LayerNorm()
        >>> _, params = init_fun(random.key(0), (-1, 2))
        >>> [round(v, 3) for v in apply_fun(params, fnp.asarray([[1.0, 3.0]]))[0].tolist()]
        [-1.0, 1.0]
    """
    axes_spec = _axes(axis)
    name = f"LayerNorm(axis={axis})"

    def axes_of(ndim):
        if any(not -ndim <= a < ndim for a in axes_spec) or 0 in [a % ndim for a in axes_spec]:
            raise LayerError(
                name,
                f"normalizes axes {axes_spec}, which a rank-{ndim} input with a batch "
                f"axis first does not have",
            )
        return tuple(sorted(a % ndim for a in axes_spec))

    def init_fun(rng, input_shape):
        axes = axes_of(len(input_shape))
        shape = tuple(input_shape[a] for a in axes)
        return tuple(input_shape), _affine_params(rng, shape, center, scale, beta_init, gamma_init)

    def apply_fun(params, inputs, **kwargs):
        axes = axes_of(inputs.ndim)
        beta, gamma = _check_affine(params, tuple(inputs.shape[a] for a in axes), name)

        def expand(v):
            return lax.broadcast_in_dim(v, tuple(inputs.shape), axes)

        return _affine(_normalize(inputs, axes, epsilon), beta, gamma, expand)

    return Layer(init_fun, apply_fun, name=name)


def GroupNorm(
    num_groups: int,
    epsilon: float = 1e-5,
    center: bool = True,
    scale: bool = True,
    beta_init: Callable = zeros,
    gamma_init: Callable = ones,
) -> Layer:
    """Group normalization (PyTorch's ``GroupNorm``) on channels-last inputs ``(N, ..., C)``.

    The channels split into ``num_groups`` groups; each example's group is normalized
    over its channels and spatial axes. Params ``(beta, gamma)`` have shape ``(C,)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> import stax
        >>> init_fun, apply_fun = stax.GroupNorm(2)
        >>> _, params = init_fun(random.key(0), (-1, 4))
        >>> [round(v, 3) for v in apply_fun(params, fnp.asarray([[1.0, 3.0, 0.0, 10.0]]))[0].tolist()]
        [-1.0, 1.0, -1.0, 1.0]
    """
    name = f"GroupNorm({num_groups})"

    def channels(shape):
        if len(shape) < 2 or shape[-1] % num_groups:
            raise LayerError(
                name,
                f"expects inputs (N, ..., C) with C divisible by {num_groups}, got "
                f"shape {tuple(shape)}",
            )
        return shape[-1]

    def init_fun(rng, input_shape):
        c = channels(input_shape)
        return tuple(input_shape), _affine_params(rng, (c,), center, scale, beta_init, gamma_init)

    def apply_fun(params, inputs, **kwargs):
        c = channels(inputs.shape)
        beta, gamma = _check_affine(params, (c,), name)
        grouped = fnp.reshape(inputs, (*inputs.shape[:-1], num_groups, c // num_groups))
        axes = (*range(1, inputs.ndim - 1), inputs.ndim)  # spatial axes and channels in the group
        z = fnp.reshape(_normalize(grouped, axes, epsilon), inputs.shape)
        return _affine(z, beta, gamma, lambda v: v)

    return Layer(init_fun, apply_fun, name=name)


def InstanceNorm(
    epsilon: float = 1e-5,
    center: bool = False,
    scale: bool = False,
    beta_init: Callable = zeros,
    gamma_init: Callable = ones,
    *,
    affine: bool | None = None,
) -> Layer:
    """Instance normalization (PyTorch's ``InstanceNorm``, channels-last ``(N, *spatial, C)``).

    Each example's channel is normalized over the spatial axes. As PyTorch, no affine
    params by default (``affine=True`` or ``center``/``scale`` add ``(C,)``-shaped ones)
    and no running statistics: the statistics are always the instance's.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import stax
        >>> init_fun, apply_fun = stax.InstanceNorm()
        >>> x = fnp.asarray([[[1.0], [3.0]]])  # (N=1, L=2, C=1)
        >>> [round(v, 3) for v in apply_fun(init_fun(None, (-1, 2, 1))[1], x)[0, :, 0].tolist()]
        [-1.0, 1.0]
    """
    if affine is not None:
        center = scale = affine
    name = "InstanceNorm"

    def init_fun(rng, input_shape):
        shape = check_shape_rank(input_shape, tuple(range(3, 8)), name, "N, *spatial, C")
        if not (center or scale):
            return shape, ((), ())
        return shape, _affine_params(rng, (shape[-1],), center, scale, beta_init, gamma_init)

    def apply_fun(params, inputs, **kwargs):
        check_rank(inputs, tuple(range(3, 8)), name, "N, *spatial, C")
        beta, gamma = _check_affine(params, (inputs.shape[-1],), name)
        z = _normalize(inputs, tuple(range(1, inputs.ndim - 1)), epsilon)
        return _affine(z, beta, gamma, lambda v: v)

    return Layer(init_fun, apply_fun, name=name)


def LocalResponseNorm(size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Layer:
    """Local response normalization across channels (PyTorch's ``LocalResponseNorm``).

    With channels last, ``y_c = x_c / (k + alpha / size * sum_{c'} x_{c'}**2) ** beta``,
    the sum over ``c - size // 2 <= c' <= c + (size - 1) // 2`` (zero outside).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import stax
        >>> y = stax.LocalResponseNorm(2, alpha=1.0, beta=1.0, k=0.0)[1]((), fnp.asarray([[1.0, 1.0]]))
        >>> y.tolist()
        [[2.0, 1.0]]
    """
    name = f"LocalResponseNorm({size})"

    def init_fun(rng, input_shape):
        if len(input_shape) < 2:
            raise LayerError(
                name, f"expects inputs (N, ..., C), got input shape {tuple(input_shape)}"
            )
        return tuple(input_shape), ()

    def apply_fun(params, inputs, **kwargs):
        if inputs.ndim < 2:
            raise LayerError(name, f"expects inputs (N, ..., C), got shape {tuple(inputs.shape)}")
        window = lax.sum_pool(
            inputs * inputs, (size,), 1, [(size // 2, (size - 1) // 2)], channels_last=False
        )
        return inputs / (k + alpha / size * window) ** beta

    return Layer(init_fun, apply_fun, name=name)
