"""Densely connected networks (Huang et al., 2017) as torchvision builds them: DenseNet-121."""

from __future__ import annotations

from collections.abc import Sequence

from stax.combinators import FanInConcat, FanOut, Identity, parallel, serial
from stax.layers import AvgPool, BatchNorm, Dropout, GlobalAvgPool, MaxPool, Relu
from stax.models._common import conv2d, kaiming_fan_in, linear
from stax.protocol import Layer

__all__ = ["DenseBlock", "DenseLayer", "DenseNet", "Transition", "densenet121"]

_conv_init = kaiming_fan_in  # torchvision: nn.init.kaiming_normal_ (fan-in, gain sqrt(2))


def DenseLayer(growth_rate: int, bn_size: int = 4, drop_rate: float = 0.0) -> Layer:
    """One layer of a dense block: its new features concatenated after its input's.

    New features: BatchNorm, ReLU, 1x1 convolution to ``bn_size * growth_rate``
    channels, BatchNorm, ReLU, 3x3 convolution (padding 1) to ``growth_rate`` channels
    (both bias-free), then Dropout if ``drop_rate > 0``. Output:
    ``concat([x, new(x)], channels)`` through ``FanOut``, ``parallel`` and ``FanInConcat``.

    Examples:
        >>> from funcgrad import random
        >>> import stax
        >>> stax.models.DenseLayer(4).init_fun(random.key(0), (-1, 5, 5, 6))[0]
        (-1, 5, 5, 10)
    """
    new = [
        BatchNorm(), Relu, conv2d(bn_size * growth_rate, 1, bias=False, W_init=_conv_init),
        BatchNorm(), Relu, conv2d(growth_rate, 3, padding=1, bias=False, W_init=_conv_init),
    ]  # fmt: skip
    if drop_rate > 0:
        new.append(Dropout(drop_rate))
    return serial(FanOut(2), parallel(Identity, serial(*new)), FanInConcat(-1))


def DenseBlock(
    num_layers: int, growth_rate: int, bn_size: int = 4, drop_rate: float = 0.0
) -> Layer:
    """``num_layers`` :func:`DenseLayer` s in sequence: ``num_layers * growth_rate`` more channels.

    Examples:
        >>> from funcgrad import random
        >>> import stax
        >>> stax.models.DenseBlock(3, 4).init_fun(random.key(0), (-1, 5, 5, 6))[0]
        (-1, 5, 5, 18)
    """
    return serial(*(DenseLayer(growth_rate, bn_size, drop_rate) for _ in range(num_layers)))


def Transition(out_chan: int) -> Layer:
    """Between dense blocks: BatchNorm, ReLU, 1x1 convolution, 2x2 average pooling (stride 2).

    Examples:
        >>> from funcgrad import random
        >>> import stax
        >>> stax.models.Transition(3).init_fun(random.key(0), (-1, 8, 8, 6))[0]
        (-1, 4, 4, 3)
    """
    return serial(
        BatchNorm(), Relu, conv2d(out_chan, 1, bias=False, W_init=_conv_init),
        AvgPool((2, 2), (2, 2)),
    )  # fmt: skip


def DenseNet(
    growth_rate: int = 32,
    block_config: Sequence[int] = (6, 12, 24, 16),
    num_init_features: int = 64,
    bn_size: int = 4,
    drop_rate: float = 0.0,
    num_classes: int = 1000,
) -> Layer:
    """A DenseNet as ``torchvision.models.DenseNet`` (NHWC inputs; torchvision's arguments).

    Stem: 7x7/2 convolution to ``num_init_features`` (padding 3, no bias), BatchNorm,
    ReLU, 3x3/2 max-pool (padding 1). Then a :func:`DenseBlock` per entry of
    ``block_config``, with a :func:`Transition` halving the channels (and the size)
    between blocks; a final BatchNorm and ReLU, global average pooling and
    Dense(num_classes). Every BatchNorm keeps running statistics as state.

    Examples:
        >>> from funcgrad import random
        >>> import stax
        >>> net = stax.models.DenseNet(4, (2, 2), num_init_features=8, num_classes=3)
        >>> net.init_fun(random.key(0), (-1, 16, 16, 3))[0]
        (-1, 3)
    """
    layers = [
        conv2d(num_init_features, 7, 2, 3, bias=False, W_init=_conv_init), BatchNorm(), Relu,
        MaxPool((3, 3), (2, 2), padding=1),
    ]  # fmt: skip
    channels = num_init_features
    for i, num_layers in enumerate(block_config):
        layers.append(DenseBlock(num_layers, growth_rate, bn_size, drop_rate))
        channels += num_layers * growth_rate
        if i != len(block_config) - 1:
            layers.append(Transition(channels // 2))
            channels //= 2
    return serial(*layers, BatchNorm(), Relu, GlobalAvgPool, linear(num_classes))


def densenet121(num_classes: int = 1000, drop_rate: float = 0.0) -> Layer:
    """DenseNet-121: growth 32, blocks (6, 12, 24, 16), 64 initial features; 7,978,856 params.

    Examples:
        >>> import stax
        >>> stax.models.densenet121(10).stateful
        True
    """
    return DenseNet(32, (6, 12, 24, 16), 64, 4, drop_rate, num_classes)
