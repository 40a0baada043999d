"""Residual networks (He et al., 2016) as torchvision builds them: ResNet-18/34/50."""

from __future__ import annotations

from collections.abc import Sequence

from stax.combinators import FanInSum, FanOut, Identity, parallel, serial
from stax.initializers import zeros
from stax.layers import BatchNorm, GlobalAvgPool, MaxPool, Relu
from stax.models._common import conv2d, kaiming_fan_out, linear
from stax.protocol import Layer

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50"]


def _conv(out_chan: int, kernel: int, stride: int = 1) -> Layer:
    """A bias-free convolution with PyTorch's "same" padding and torchvision's init."""
    return conv2d(out_chan, kernel, stride, kernel // 2, bias=False, W_init=kaiming_fan_out)


def _residual(main: Layer, planes_out: int, stride: int, downsample: bool) -> Layer:
    """``relu(main(x) + skip(x))``; the skip is a 1x1 convolution + BatchNorm if needed."""
    skip = serial(_conv(planes_out, 1, stride), BatchNorm()) if downsample else Identity
    return serial(FanOut(2), parallel(main, skip), FanInSum, Relu)


def BasicBlock(planes: int, stride: int = 1, downsample: bool = False) -> Layer:
    """ResNet's basic block: two 3x3 convolutions with BatchNorm, and a skip connection.

    ``relu(bn(conv3x3(relu(bn(conv3x3(x, stride)))) + skip(x))``, ``planes`` output
    channels. ``downsample`` makes the skip a strided 1x1 convolution + BatchNorm (needed
    when ``stride != 1`` or the input has other than ``planes`` channels); otherwise the
    skip is the identity. Parallel branches are summed by ``FanInSum``.

    Examples:
        >>> from funcgrad import random
        >>> import stax
        >>> block = stax.models.BasicBlock(8, stride=2, downsample=True)
        >>> block.init_fun(random.key(0), (-1, 16, 16, 4))[0]
        (-1, 8, 8, 8)
    """
    main = serial(_conv(planes, 3, stride), BatchNorm(), Relu, _conv(planes, 3), BatchNorm())
    return _residual(main, planes, stride, downsample)


BasicBlock.expansion = 1


def Bottleneck(planes: int, stride: int = 1, downsample: bool = False) -> Layer:
    """ResNet's bottleneck block (torchvision's "v1.5": the stride on the 3x3 convolution).

    1x1 convolution to ``planes``, 3x3 (stride) to ``planes``, 1x1 to ``4 * planes``
    channels, each with BatchNorm, ReLUs between; skip and sum as :func:`BasicBlock`.

    Examples:
        >>> from funcgrad import random
        >>> import stax
        >>> block = stax.models.Bottleneck(4, downsample=True)
        >>> block.init_fun(random.key(0), (-1, 8, 8, 3))[0]
        (-1, 8, 8, 16)
    """
    main = serial(
        _conv(planes, 1), BatchNorm(), Relu,
        _conv(planes, 3, stride), BatchNorm(), Relu,
        _conv(planes * 4, 1), BatchNorm(),
    )  # fmt: skip
    return _residual(main, planes * 4, stride, downsample)


Bottleneck.expansion = 4


def ResNet(
    block, layers: Sequence[int], num_classes: int = 1000, *, stem: str = "imagenet"
) -> Layer:
    """A residual network as ``torchvision.models.ResNet`` (NHWC inputs).

    The stem: ``'imagenet'`` (torchvision's) is a 7x7/2 convolution to 64 channels
    (padding 3), BatchNorm, ReLU and a 3x3/2 max-pool (padding 1), dividing the size by
    4; ``'cifar'`` (for 32x32 images, as in the CIFAR ResNets of the literature) is a
    3x3/1 convolution, BatchNorm and ReLU, keeping the size. Then four stages of
    ``layers[i]`` blocks with 64, 128, 256, 512 planes (the first block of stages 2-4
    with stride 2), global average pooling and Dense(num_classes).

    Initialization as torchvision: convolutions kaiming-normal (fan-out, ReLU gain),
    BatchNorm ``gamma = 1``, ``beta = 0``. BatchNorm keeps running statistics as state:
    train with ``apply_with_state`` (see :mod:`stax`).

    Args:
        block: :func:`BasicBlock` or :func:`Bottleneck`.
        layers: the number of blocks per stage, e.g. ``(2, 2, 2, 2)`` for ResNet-18.
        num_classes: the number of output logits.
        stem: ``'imagenet'`` or ``'cifar'``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> import stax
        >>> net = stax.models.ResNet(stax.models.BasicBlock, (1, 1, 1, 1), 10, stem="cifar")
        >>> out_shape, params = net.init_fun(random.key(0), (-1, 8, 8, 3))
        >>> _, state = net.init_state((-1, 8, 8, 3))
        >>> logits, state = net.apply_with_state(params, state, fnp.ones((2, 8, 8, 3)))
        >>> out_shape, logits.shape
        ((-1, 10), (2, 10))
    """
    if stem == "imagenet":
        stem_layers = [
            _conv(64, 7, 2), BatchNorm(), Relu, MaxPool((3, 3), (2, 2), padding=1)
        ]  # fmt: skip
    elif stem == "cifar":
        stem_layers = [_conv(64, 3), BatchNorm(), Relu]
    else:
        raise ValueError(f"stax.models.ResNet: stem must be 'imagenet' or 'cifar', got {stem!r}")
    blocks, in_planes = [], 64
    for i, (planes, count) in enumerate(zip((64, 128, 256, 512), layers)):
        for j in range(count):
            stride = 2 if i > 0 and j == 0 else 1
            downsample = stride != 1 or in_planes != planes * block.expansion
            blocks.append(block(planes, stride, downsample))
            in_planes = planes * block.expansion
    return serial(*stem_layers, *blocks, GlobalAvgPool, linear(num_classes, b_init=zeros))


def resnet18(num_classes: int = 1000, *, stem: str = "imagenet") -> Layer:
    """ResNet-18: basic blocks ``(2, 2, 2, 2)``; 11,689,512 params with 1000 classes.

    Examples:
        >>> import stax
        >>> stax.models.resnet18(10, stem="cifar").stateful
        True
    """
    return ResNet(BasicBlock, (2, 2, 2, 2), num_classes, stem=stem)


def resnet34(num_classes: int = 1000, *, stem: str = "imagenet") -> Layer:
    """ResNet-34: basic blocks ``(3, 4, 6, 3)``; 21,797,672 params with 1000 classes.

    Examples:
        >>> import stax
        >>> stax.models.resnet34(10).stateful
        True
    """
    return ResNet(BasicBlock, (3, 4, 6, 3), num_classes, stem=stem)


def resnet50(num_classes: int = 1000, *, stem: str = "imagenet") -> Layer:
    """ResNet-50: bottleneck blocks ``(3, 4, 6, 3)``; 25,557,032 params with 1000 classes.

    Examples:
        >>> import stax
        >>> stax.models.resnet50(10).stateful
        True
    """
    return ResNet(Bottleneck, (3, 4, 6, 3), num_classes, stem=stem)
