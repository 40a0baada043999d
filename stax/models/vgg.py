"""VGG networks (Simonyan and Zisserman, 2014) as torchvision builds them."""

from __future__ import annotations

from collections.abc import Sequence

from stax.combinators import serial
from stax.initializers import normal, zeros
from stax.layers import AdaptiveAvgPool, BatchNorm, Dropout, Flatten, MaxPool, Relu
from stax.models._common import conv2d, kaiming_fan_out, linear
from stax.protocol import Layer

__all__ = ["VGG", "VGG_CONFIGS", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn"]

# torchvision's configurations: output channels of each 3x3 convolution, "M" a 2x2 max-pool
VGG_CONFIGS = {
    "A": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),  # VGG-11
    "D": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
}


def VGG(
    config: Sequence[int | str],
    num_classes: int = 1000,
    batch_norm: bool = False,
    dropout: float = 0.5,
    *,
    hidden: int = 4096,
) -> Layer:
    """A VGG network from a configuration, as ``torchvision.models.VGG`` (NHWC inputs).

    Each int of ``config`` is a 3x3 convolution (padding 1) with that many channels,
    followed by BatchNorm when ``batch_norm`` and a ReLU; each ``"M"`` is a 2x2 max-pool
    of stride 2. Then adaptive average pooling to 7x7 (any input of at least 32x32
    works), ``Flatten``, and the classifier Dense(hidden), ReLU, Dropout, Dense(hidden),
    ReLU, Dropout, Dense(num_classes). ``hidden`` is torchvision's 4096; smaller values
    make small experiments cheap. torchvision's initialization: convolutions
    kaiming-normal (fan-out, ReLU gain) with zero bias, Dense layers ``normal(0.01)`` with
    zero bias. The flatten order is NHWC's (H, W, C), not torchvision's (C, H, W).

    BatchNorm (``batch_norm=True``) keeps running statistics as state: train with
    ``apply_with_state`` (see :mod:`stax`). Dropout needs ``key=`` in training.

    Examples:
        >>> from funcgrad import random
        >>> import stax
        >>> net = stax.models.VGG((8, "M", 16, "M"), num_classes=3, batch_norm=True, hidden=16)
        >>> net.init_fun(random.key(0), (-1, 32, 32, 3))[0]
        (-1, 3)
    """
    layers = []
    for v in config:
        if v == "M":
            layers.append(MaxPool((2, 2), (2, 2)))
            continue
        layers.append(conv2d(int(v), 3, padding=1, W_init=kaiming_fan_out, b_init=zeros))
        if batch_norm:
            layers.append(BatchNorm())
        layers.append(Relu)
    return serial(
        *layers,
        AdaptiveAvgPool((7, 7)), Flatten,
        linear(hidden, normal(0.01)), Relu, Dropout(dropout),
        linear(hidden, normal(0.01)), Relu, Dropout(dropout),
        linear(num_classes, normal(0.01)),
    )  # fmt: skip


def vgg11(num_classes: int = 1000, **kwargs) -> Layer:
    """VGG-11 (configuration "A"): 132,863,336 params with 1000 classes.

    Keyword arguments as :func:`VGG`.

    Examples:
        >>> import stax
        >>> stax.models.vgg11(10, hidden=64)
        <stax layer serial>
    """
    return VGG(VGG_CONFIGS["A"], num_classes, **kwargs)


def vgg11_bn(num_classes: int = 1000, **kwargs) -> Layer:
    """VGG-11 with BatchNorm after each convolution: 132,868,840 params with 1000 classes.

    Examples:
        >>> import stax
        >>> stax.models.vgg11_bn(10).stateful
        True
    """
    return VGG(VGG_CONFIGS["A"], num_classes, batch_norm=True, **kwargs)


def vgg16(num_classes: int = 1000, **kwargs) -> Layer:
    """VGG-16 (configuration "D"): 138,357,544 params with 1000 classes.

    Examples:
        >>> import stax
        >>> stax.models.vgg16(10).stateful
        False
    """
    return VGG(VGG_CONFIGS["D"], num_classes, **kwargs)


def vgg16_bn(num_classes: int = 1000, **kwargs) -> Layer:
    """VGG-16 with BatchNorm after each convolution: 138,365,992 params with 1000 classes.

    Examples:
        >>> import stax
        >>> stax.models.vgg16_bn(10).stateful
        True
    """
    return VGG(VGG_CONFIGS["D"], num_classes, batch_norm=True, **kwargs)
