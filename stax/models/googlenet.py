"""GoogLeNet / Inception-v1 (Szegedy et al., 2015) as torchvision builds it."""

from __future__ import annotations

from stax.combinators import FanInConcat, FanOut, parallel, serial
from stax.initializers import normal
from stax.layers import Dropout, GlobalAvgPool, MaxPool
from stax.models._common import conv_bn_relu, linear
from stax.protocol import Layer

__all__ = ["InceptionBlock", "googlenet"]

# torchvision: trunc_normal_(std=0.01, a=-2, b=2); the bounds are absolute, 200 standard
# deviations out, so this is a plain normal
_init = normal(0.01)


def _basic_conv(out_chan: int, kernel: int, stride: int = 1, padding: int = 0) -> Layer:
    """torchvision's BasicConv2d: bias-free convolution, BatchNorm (eps 0.001), ReLU."""
    return conv_bn_relu(out_chan, kernel, stride, padding, W_init=_init, epsilon=1e-3)


def _max_pool(window: int, stride: int, padding: int = 0) -> Layer:
    return MaxPool((window, window), (stride, stride), padding=padding, ceil_mode=True)


def InceptionBlock(
    ch1x1: int,
    ch3x3red: int,
    ch3x3: int,
    ch5x5red: int,
    ch5x5: int,
    pool_proj: int,
    *,
    branch3_kernel: int = 3,
) -> Layer:
    """An Inception-v1 module: four parallel branches concatenated along the channels.

    Branches (each convolution a bias-free convolution + BatchNorm + ReLU): a 1x1
    convolution to ``ch1x1``; 1x1 to ``ch3x3red`` then 3x3 to ``ch3x3``; 1x1 to
    ``ch5x5red`` then a ``branch3_kernel`` convolution to ``ch5x5``; a 3x3/1 max-pool
    then 1x1 to ``pool_proj``. Output channels: ``ch1x1 + ch3x3 + ch5x5 + pool_proj``.
    ``branch3_kernel`` is 3 as in torchvision (whose weights and parameter counts use a
    3x3 there, a known deviation kept for compatibility); the paper's is 5.

    Examples:
        >>> from funcgrad import random
        >>> import stax
        >>> block = stax.models.InceptionBlock(4, 2, 4, 2, 4, 4)
        >>> block.init_fun(random.key(0), (-1, 7, 7, 8))[0]
        (-1, 7, 7, 16)
    """
    pad = branch3_kernel // 2
    return serial(
        FanOut(4),
        parallel(
            _basic_conv(ch1x1, 1),
            serial(_basic_conv(ch3x3red, 1), _basic_conv(ch3x3, 3, padding=1)),
            serial(_basic_conv(ch5x5red, 1), _basic_conv(ch5x5, branch3_kernel, padding=pad)),
            serial(_max_pool(3, 1, 1), _basic_conv(pool_proj, 1)),
        ),
        FanInConcat(-1),
    )


def googlenet(num_classes: int = 1000, dropout: float = 0.2) -> Layer:
    """GoogLeNet as ``torchvision.models.googlenet(aux_logits=False)`` (NHWC inputs).

    Stem: 7x7/2 conv (64), 3x3/2 max-pool, 1x1 conv (64), 3x3 conv (192), 3x3/2 max-pool;
    Inception 3a, 3b, max-pool, 4a-4e, 2x2/2 max-pool, 5a, 5b (torchvision's channel
    table); global average pooling, Dropout, Dense(num_classes). Max-pools use PyTorch's
    ``ceil_mode=True``. 6,624,904 params with 1000 classes. The auxiliary classifiers
    (training-only heads) and torchvision's ``transform_input`` are not included.

    Examples:
        >>> from funcgrad import random
        >>> import stax
        >>> stax.models.googlenet(10).init_fun(random.key(0), (-1, 32, 32, 3))[0]
        (-1, 10)
    """
    return serial(
        _basic_conv(64, 7, 2, 3), _max_pool(3, 2),
        _basic_conv(64, 1), _basic_conv(192, 3, padding=1), _max_pool(3, 2),
        InceptionBlock(64, 96, 128, 16, 32, 32),
        InceptionBlock(128, 128, 192, 32, 96, 64),
        _max_pool(3, 2),
        InceptionBlock(192, 96, 208, 16, 48, 64),
        InceptionBlock(160, 112, 224, 24, 64, 64),
        InceptionBlock(128, 128, 256, 24, 64, 64),
        InceptionBlock(112, 144, 288, 32, 64, 64),
        InceptionBlock(256, 160, 320, 32, 128, 128),
        _max_pool(2, 2),
        InceptionBlock(256, 160, 320, 32, 128, 128),
        InceptionBlock(384, 192, 384, 48, 128, 128),
        GlobalAvgPool, Dropout(dropout), linear(num_classes, _init),
    )  # fmt: skip
