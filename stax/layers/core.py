"""Core layers: Dense, Dropout, elementwise functions, Flatten and Reshape."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import funcgrad.numpy as fnp
from funcgrad import random
from stax.initializers import glorot_normal, normal
from stax.layers._util import check_size, unpack
from stax.protocol import Layer, LayerError, is_training, require_key

__all__ = ["Dense", "Dropout", "Flatten", "Reshape", "elementwise"]


def Dense(
    out_dim: int,
    W_init: Callable = glorot_normal(),
    b_init: Callable = normal(),
    *,
    use_bias: bool = True,
) -> Layer:
    """A fully connected layer: ``inputs @ W + b`` on the last axis.

    Params ``(W, b)`` with ``W`` of shape ``(in, out_dim)`` and ``b`` of shape
    ``(out_dim,)`` (JAX stax's layout and initializers); ``use_bias=False`` (PyTorch's
    ``bias=False``) leaves ``b = ()``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> import stax
        >>> init_fun, apply_fun = stax.Dense(3)
        >>> out_shape, (W, b) = init_fun(random.key(0), (-1, 2))
        >>> out_shape, W.shape, b.shape
        ((-1, 3), (2, 3), (3,))
        >>> apply_fun((W, b), fnp.ones((4, 2))).shape
        (4, 3)
    """
    name = f"Dense({out_dim})"

    def init_fun(rng, input_shape):
        if len(input_shape) < 1:
            raise LayerError(
                name, f"needs inputs with a feature axis, got input shape {input_shape}"
            )
        k1, k2 = random.split(rng)
        W = W_init(k1, (input_shape[-1], out_dim))
        b = b_init(k2, (out_dim,)) if use_bias else ()
        return tuple(input_shape[:-1]) + (out_dim,), (W, b)

    def apply_fun(params, inputs, **kwargs):
        W, b = unpack(params, ("W", "b"), name)
        if inputs.ndim < 1:
            raise LayerError(
                name, f"needs inputs with a feature axis, got shape {tuple(inputs.shape)}"
            )
        check_size(inputs, -1, W.shape[0], name, "features")
        out = fnp.dot(inputs, W)
        return out + b if use_bias else out

    return Layer(init_fun, apply_fun, name=name)


def Dropout(rate: float, mode: str | None = None) -> Layer:
    """Zero each input element with probability ``rate`` in training.

    In training the kept elements are scaled by ``1 / (1 - rate)``, so the expected
    output equals the input; in evaluation the layer is the identity. Training needs a
    key: ``apply_fun(params, x, key=key)``.

    *Fixed from JAX stax*, whose ``Dropout(rate)`` took the *keep* probability and
    whose mode was fixed at construction: here ``rate`` is the drop probability (as in
    Keras, flax and PyTorch), and the apply-time ``is_training=`` / ``mode=`` keyword
    selects the mode. ``mode`` given to the constructor ('train' or 'test') is the
    default when the apply-time keyword is absent.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> import stax
        >>> init_fun, apply_fun = stax.Dropout(0.5)
        >>> y = apply_fun((), fnp.ones(6), key=random.key(0))
        >>> sorted(set(y.tolist())) in ([0.0, 2.0], [2.0], [0.0])
        True
        >>> apply_fun((), fnp.ones(3), is_training=False).tolist()
        [1.0, 1.0, 1.0]
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(
            f"stax.Dropout: rate is the drop probability and must be in [0, 1], got {rate}"
        )
    if mode not in (None, "train", "test", "eval"):
        raise ValueError(f"stax.Dropout: mode must be 'train' or 'test', got {mode!r}")
    name = f"Dropout({rate})"

    def init_fun(rng, input_shape):
        return input_shape, ()

    def apply_fun(params, inputs, **kwargs):
        if "is_training" not in kwargs and "mode" not in kwargs and mode is not None:
            kwargs = {**kwargs, "mode": mode}
        if not is_training(kwargs, name) or rate == 0.0:
            return inputs
        key = require_key(kwargs, name)
        if rate == 1.0:
            return fnp.zeros_like(inputs)
        keep = random.bernoulli(key, 1.0 - rate, inputs.shape)
        return fnp.where(keep, inputs / (1.0 - rate), 0.0)

    return Layer(init_fun, apply_fun, name=name)


def elementwise(fun: Callable, **fun_kwargs) -> Layer:
    """A layer applying ``fun(inputs, **fun_kwargs)`` (no params).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import stax
        >>> stax.elementwise(fnp.square)[1]((), fnp.asarray([2.0])).tolist()
        [4.0]
    """
    label = getattr(fun, "__name__", type(fun).__name__)
    extra = ", ".join(f"{k}={v!r}" for k, v in fun_kwargs.items())
    name = f"elementwise({label}{', ' + extra if extra else ''})"

    def init_fun(rng, input_shape):
        return input_shape, ()

    def apply_fun(params, inputs, **kwargs):
        return fun(inputs, **fun_kwargs)

    return Layer(init_fun, apply_fun, name=name)


def _Flatten() -> Layer:
    """Flatten all axes but the leading (batch) one."""

    def init_fun(rng, input_shape):
        if len(input_shape) < 1:
            raise LayerError("Flatten", f"needs a batch axis, got input shape {input_shape}")
        return (input_shape[0], math.prod(input_shape[1:])), ()

    def apply_fun(params, inputs, **kwargs):
        return fnp.reshape(inputs, (inputs.shape[0], -1))

    return Layer(init_fun, apply_fun, name="Flatten")


Flatten = _Flatten()


def Reshape(shape: Sequence[int]) -> Layer:
    """Reshape every example (all axes but the batch axis) to ``shape``; one ``-1`` allowed.

    As Keras' ``Reshape`` and PyTorch's ``nn.Unflatten(1, shape)`` on flat inputs: the
    batch axis is kept.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import stax
        >>> init_fun, apply_fun = stax.Reshape((2, -1))
        >>> init_fun(None, (-1, 6))
        ((-1, 2, 3), ())
        >>> apply_fun((), fnp.ones((4, 6))).shape
        (4, 2, 3)
    """
    shape = tuple(int(d) for d in shape)
    if sum(d == -1 for d in shape) > 1 or any(d < -1 or d == 0 for d in shape):
        raise ValueError(
            f"stax.Reshape: shape must hold positive sizes and at most one -1, got {shape}"
        )
    name = f"Reshape({shape})"

    def target(example_shape) -> tuple:
        size = math.prod(example_shape)
        known = math.prod(d for d in shape if d != -1)
        if (-1 in shape and size % known) or (-1 not in shape and size != known):
            raise LayerError(
                name,
                f"cannot reshape examples of shape {tuple(example_shape)} ({size} "
                f"elements) to {shape}",
            )
        return tuple(size // known if d == -1 else d for d in shape)

    def init_fun(rng, input_shape):
        return (input_shape[0],) + target(input_shape[1:]), ()

    def apply_fun(params, inputs, **kwargs):
        return fnp.reshape(inputs, (inputs.shape[0],) + target(inputs.shape[1:]))

    return Layer(init_fun, apply_fun, name=name)
