"""Building blocks shared by the model zoo: PyTorch-style convolutions, their initializers."""

from __future__ import annotations

import math
from collections.abc import Callable

from stax.combinators import serial
from stax.initializers import kaiming_uniform, variance_scaling, zeros
from stax.layers import BatchNorm, Conv, Dense, Relu
from stax.protocol import Layer

# PyTorch's default weight initialization of nn.Linear / nn.Conv2d: kaiming_uniform with
# a = sqrt(5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
torch_default = kaiming_uniform(a=math.sqrt(5))
# torchvision's ResNet / VGG convolutions: torch's kaiming_normal_(mode='fan_out',
# nonlinearity='relu'), a plain normal of variance 2 / fan_out (stax's kaiming_normal is
# truncated, as JAX's he_normal)
kaiming_fan_out = variance_scaling(2.0, "fan_out", "normal")
# DenseNet's: torch's kaiming_normal_() defaults, variance 2 / fan_in
kaiming_fan_in = variance_scaling(2.0, "fan_in", "normal")


def conv2d(
    out_chan: int,
    kernel: int,
    stride: int = 1,
    padding: int = 0,
    *,
    bias: bool = True,
    W_init: Callable = torch_default,
    b_init: Callable = zeros,
) -> Layer:
    """``nn.Conv2d(in, out_chan, kernel, stride, padding, bias=bias)`` on NHWC inputs.

    ``padding`` is PyTorch's: that many zeros on both sides of each spatial axis (not
    'SAME', which pads asymmetrically for even sizes with stride 2).
    """
    return Conv(
        out_chan,
        (kernel, kernel),
        (stride, stride),
        padding,
        W_init=W_init,
        b_init=b_init,
        use_bias=bias,
    )


def conv_bn_relu(out_chan: int, kernel: int, stride: int = 1, padding: int = 0, **kw) -> Layer:
    """A bias-free convolution, BatchNorm and ReLU (torchvision's common triple)."""
    eps = kw.pop("epsilon", 1e-5)
    return serial(
        conv2d(out_chan, kernel, stride, padding, bias=False, **kw), BatchNorm(epsilon=eps), Relu
    )


def linear(out_dim: int, W_init: Callable = torch_default, b_init: Callable = zeros) -> Layer:
    """``nn.Linear(in, out_dim)``: a Dense layer with PyTorch's weight initialization.

    Biases start at zero (PyTorch draws them from ``U(±1/sqrt(fan_in))``, which depends
    on the input size an initializer of shape ``(out,)`` does not see).
    """
    return Dense(out_dim, W_init, b_init)
