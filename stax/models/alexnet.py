"""AlexNet (Krizhevsky et al., 2012) in torchvision's single-tower form."""

from __future__ import annotations

from stax.combinators import serial
from stax.layers import AdaptiveAvgPool, Dropout, Flatten, MaxPool, Relu
from stax.models._common import conv2d, linear
from stax.protocol import Layer

__all__ = ["alexnet"]


def alexnet(num_classes: int = 1000, dropout: float = 0.5, *, hidden: int = 4096) -> Layer:
    """AlexNet as ``torchvision.models.alexnet`` (NHWC inputs, typically 224x224x3).

    Features: conv 11x11/4 (64, padding 2), ReLU, max-pool 3/2, conv 5x5 (192, padding
    2), ReLU, max-pool 3/2, convs 3x3 (384, 256, 256, padding 1) with ReLUs, max-pool 3/2;
    then adaptive average pooling to 6x6 (so any input of at least 63x63 works),
    ``Flatten`` and the classifier Dropout, Dense(hidden), ReLU, Dropout, Dense(hidden),
    ReLU, Dense(num_classes). With the defaults it has torchvision's 61,100,840 params
    (1000 classes). ``hidden`` (torchvision: 4096) shrinks the classifier for small
    experiments. The flatten order is NHWC's (H, W, C), not torchvision's (C, H, W):
    permute the first classifier weight when porting torchvision's weights.

    Dropout needs ``key=`` in training (``is_training=False`` for evaluation).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> import stax
        >>> init_fun, apply_fun = stax.models.alexnet(num_classes=5, hidden=32)
        >>> out_shape, params = init_fun(random.key(0), (-1, 63, 63, 3))
        >>> out_shape, apply_fun(params, fnp.zeros((1, 63, 63, 3)), is_training=False).shape
        ((-1, 5), (1, 5))
    """
    return serial(
        conv2d(64, 11, 4, 2), Relu, MaxPool((3, 3), (2, 2)),
        conv2d(192, 5, padding=2), Relu, MaxPool((3, 3), (2, 2)),
        conv2d(384, 3, padding=1), Relu,
        conv2d(256, 3, padding=1), Relu,
        conv2d(256, 3, padding=1), Relu, MaxPool((3, 3), (2, 2)),
        AdaptiveAvgPool((6, 6)), Flatten,
        Dropout(dropout), linear(hidden), Relu,
        Dropout(dropout), linear(hidden), Relu,
        linear(num_classes),
    )  # fmt: skip
