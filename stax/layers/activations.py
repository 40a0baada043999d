"""Activation layers: every ``funcgrad.nn`` activation as a layer, plus PRelu and RRelu.

JAX stax's names (``Relu``, ``Tanh``, ``Exp``, ``LogSoftmax``, ``Softmax``, ``Softplus``,
``Sigmoid``, ``Elu``, ``LeakyRelu``, ``Selu``, ``Gelu``) are layer *values* with
``jax.nn``'s defaults, as in JAX. Each can also be called with its function's keyword
arguments to get a configured layer, PyTorch style: ``LeakyRelu(negative_slope=0.2)``,
``Elu(alpha=0.5)``, ``Softmax(axis=1)``, ``Gelu(approximate=False)``.
"""

from __future__ import annotations

from collections.abc import Callable

import funcgrad.numpy as fnp
from funcgrad import nn, random
from stax.initializers import constant
from stax.layers._util import unpack
from stax.protocol import Layer, LayerError, is_training, require_key

__all__ = [
    "ActivationLayer",
    "Celu",
    "Elu",
    "Exp",
    "Gelu",
    "Glu",
    "HardSigmoid",
    "HardSilu",
    "HardSwish",
    "HardTanh",
    "LeakyRelu",
    "LogSigmoid",
    "LogSoftmax",
    "Mish",
    "PRelu",
    "RRelu",
    "Relu",
    "Relu6",
    "Selu",
    "Sigmoid",
    "Silu",
    "SoftSign",
    "Softmax",
    "Softplus",
    "Swish",
    "Tanh",
]


class ActivationLayer(Layer):
    """An elementwise layer that can be called with its function's keywords for a variant.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import stax
        >>> stax.LeakyRelu[1]((), fnp.asarray([-1.0])).tolist()
        [-0.01]
        >>> stax.LeakyRelu(negative_slope=0.5)[1]((), fnp.asarray([-1.0])).tolist()
        [-0.5]
    """

    def __new__(cls, fun: Callable, name: str, shape_fun: Callable | None = None, **fun_kwargs):
        def init_fun(rng, input_shape):
            return (shape_fun(input_shape, **fun_kwargs) if shape_fun else input_shape), ()

        def apply_fun(params, inputs, **kwargs):
            return fun(inputs, **fun_kwargs)

        self = super().__new__(cls, init_fun, apply_fun, name=name)
        self.fun, self.shape_fun, self.fun_kwargs = fun, shape_fun, fun_kwargs
        return self

    def __getnewargs__(self):
        return (self.fun, self.name, self.shape_fun)

    def __call__(self, **fun_kwargs) -> ActivationLayer:
        merged = {**self.fun_kwargs, **fun_kwargs}
        label = ", ".join(f"{k}={v!r}" for k, v in fun_kwargs.items())
        base = self.name.split("(")[0]
        return ActivationLayer(
            self.fun, f"{base}({label})" if label else base, self.shape_fun, **merged
        )


def _glu_shape(input_shape, axis=-1):
    shape = list(input_shape)
    if shape[axis] != -1:
        if shape[axis] % 2:
            raise LayerError(
                "Glu", f"needs an even size on axis {axis}, got input shape {tuple(input_shape)}"
            )
        shape[axis] //= 2
    return tuple(shape)


Relu = ActivationLayer(nn.relu, "Relu")
Tanh = ActivationLayer(fnp.tanh, "Tanh")
Exp = ActivationLayer(fnp.exp, "Exp")
LogSoftmax = ActivationLayer(nn.log_softmax, "LogSoftmax", axis=-1)
Softmax = ActivationLayer(nn.softmax, "Softmax", axis=-1)
Softplus = ActivationLayer(nn.softplus, "Softplus")
Sigmoid = ActivationLayer(nn.sigmoid, "Sigmoid")
Elu = ActivationLayer(nn.elu, "Elu")
LeakyRelu = ActivationLayer(nn.leaky_relu, "LeakyRelu")
Selu = ActivationLayer(nn.selu, "Selu")
Gelu = ActivationLayer(nn.gelu, "Gelu")
# beyond JAX stax: the rest of funcgrad.nn's activations
Celu = ActivationLayer(nn.celu, "Celu")
Glu = ActivationLayer(nn.glu, "Glu", _glu_shape)
HardSigmoid = ActivationLayer(nn.hard_sigmoid, "HardSigmoid")
HardSilu = ActivationLayer(nn.hard_silu, "HardSilu")
HardSwish = ActivationLayer(nn.hard_swish, "HardSwish")
HardTanh = ActivationLayer(nn.hard_tanh, "HardTanh")
LogSigmoid = ActivationLayer(nn.log_sigmoid, "LogSigmoid")
Mish = ActivationLayer(nn.mish, "Mish")
Relu6 = ActivationLayer(nn.relu6, "Relu6")
Silu = ActivationLayer(nn.silu, "Silu")
Swish = ActivationLayer(nn.swish, "Swish")
SoftSign = ActivationLayer(nn.soft_sign, "SoftSign")


def PRelu(num_parameters: int = 1, init: float = 0.25, a_init: Callable | None = None) -> Layer:
    """Leaky ReLU with a learned slope: ``max(0, x) + a * min(0, x)`` (PyTorch's ``PReLU``).

    The params are ``(a,)``: one slope shared by all channels (``num_parameters=1``, the
    default) or one per channel, i.e. per entry of the last axis. ``a`` starts at
    ``init`` (0.25), or is drawn by ``a_init``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> import stax
        >>> init_fun, apply_fun = stax.PRelu()
        >>> _, params = init_fun(random.key(0), (-1, 3))
        >>> apply_fun(params, fnp.asarray([[-2.0, 0.0, 3.0]])).tolist()
        [[-0.5, 0.0, 3.0]]
    """
    name = f"PRelu({num_parameters})"
    a_init = a_init or constant(init)

    def check_slopes(count, shape):
        if count != 1 and (len(shape) < 1 or shape[-1] != count):
            raise LayerError(
                name,
                f"has {count} slopes, one per channel (last axis), but the "
                f"input shape is {tuple(shape)}",
            )

    def init_fun(rng, input_shape):
        check_slopes(num_parameters, input_shape)
        return input_shape, (a_init(rng, (num_parameters,)),)

    def apply_fun(params, inputs, **kwargs):
        (a,) = unpack(params, ("a",), name)
        check_slopes(a.shape[0], inputs.shape)
        return fnp.where(inputs >= 0, inputs, a * inputs)

    return Layer(init_fun, apply_fun, name=name)


def RRelu(lower: float = 1.0 / 8, upper: float = 1.0 / 3) -> Layer:
    """Randomized leaky ReLU (PyTorch's ``RReLU``).

    In training each negative element is multiplied by its own slope drawn from
    ``U(lower, upper)`` (needs a key); in evaluation by the fixed slope
    ``(lower + upper) / 2``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import stax
        >>> init_fun, apply_fun = stax.RRelu(0.1, 0.3)
        >>> [round(v, 6) for v in apply_fun((), fnp.asarray([-1.0, 2.0]), is_training=False).tolist()]
        [-0.2, 2.0]
    """
    if not lower <= upper:
        raise ValueError(f"stax.RRelu: needs lower <= upper, got {lower} and {upper}")
    name = f"RRelu({lower}, {upper})"

    def init_fun(rng, input_shape):
        return input_shape, ()

    def apply_fun(params, inputs, **kwargs):
        if is_training(kwargs, name):
            key = require_key(kwargs, name)
            slope = random.uniform(key, inputs.shape, inputs.dtype, minval=lower, maxval=upper)
        else:
            slope = (lower + upper) / 2
        return fnp.where(inputs >= 0, inputs, slope * inputs)

    return Layer(init_fun, apply_fun, name=name)
