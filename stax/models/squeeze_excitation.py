"""Squeeze-and-excitation (Hu et al., 2018): a composition example of channel attention."""

from __future__ import annotations

from stax.combinators import FanOut, Identity, parallel, serial
from stax.layers import Dense, GlobalAvgPool, Relu, Reshape, Sigmoid
from stax.protocol import Layer, LayerError

__all__ = ["FanInProduct", "SqueezeExcitation"]


def _FanInProduct() -> Layer:
    """Multiply a pair of inputs, the second broadcast to the first's shape."""

    def init_fun(rng, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2:
            raise LayerError("FanInProduct", f"expects two input shapes, got {input_shape!r}")
        return tuple(input_shape[0]), ()

    def apply_fun(params, inputs, **kwargs):
        x, scale = inputs
        return x * scale

    return Layer(init_fun, apply_fun, name="FanInProduct")


FanInProduct = _FanInProduct()
"""Multiply the pair ``[x, s]`` (after ``parallel``), ``s`` broadcast to ``x``; output shape ``x``'s."""


def SqueezeExcitation(input_channels: int, squeeze_channels: int) -> Layer:
    """Rescale each channel of NHWC inputs by a gate computed from all channels.

    ``x * sigmoid(W2 relu(W1 mean_hw(x) + b1) + b2)`` per example, with ``W1`` of
    ``input_channels -> squeeze_channels`` and ``W2`` back (torchvision's
    ``SqueezeExcitation``; its 1x1 convolutions on the pooled vector are Dense layers
    here, with the same parameter counts). Built only from public layers::

        serial(FanOut(2),
               parallel(Identity, serial(GlobalAvgPool, Dense(s), Relu, Dense(c), Sigmoid,
                                         Reshape((1, 1, c)))),
               FanInProduct)

    Put it at the end of a residual block's main branch for an SE-ResNet.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> import stax
        >>> se = stax.models.SqueezeExcitation(8, 2)
        >>> out_shape, params = se.init_fun(random.key(0), (-1, 4, 4, 8))
        >>> out_shape, stax.count_params(params)  # 8*2 + 2 + 2*8 + 8
        ((-1, 4, 4, 8), 42)
        >>> se.apply_fun(params, fnp.ones((1, 4, 4, 8))).shape
        (1, 4, 4, 8)
    """
    gate = serial(
        GlobalAvgPool,
        Dense(squeeze_channels),
        Relu,
        Dense(input_channels),
        Sigmoid,
        Reshape((1, 1, input_channels)),
    )
    return serial(FanOut(2), parallel(Identity, gate), FanInProduct)
