"""LeNet-5 (LeCun et al., 1998) as a stax network."""

from __future__ import annotations

from stax.combinators import serial
from stax.layers import AvgPool, Flatten, Tanh
from stax.models._common import conv2d, linear
from stax.protocol import Layer

__all__ = ["lenet5"]


def lenet5(num_classes: int = 10, input_size: int = 32) -> Layer:
    """LeNet-5 on NHWC images: C1-S2-C3-S4-C5-F6-output.

    C1: 6 filters 5x5, S2: 2x2 average pooling, C3: 16 filters 5x5 (fully connected to
    S2's maps; the paper's sparse table is not kept), S4: 2x2 average pooling, C5: 120
    units over S4's 5x5x16 maps (a Dense after ``Flatten``, the same parameters as the
    paper's 5x5 convolution), F6: 84 units, then ``num_classes`` logits. Tanh between
    layers; the paper's scaled tanh, trainable pooling coefficients and RBF output are
    replaced by their modern equivalents (tanh, average pooling, a Dense layer).

    The network is built for ``input_size x input_size`` images: smaller inputs are
    zero-padded by C1 to 32x32 (``input_size=28`` pads 2 on each side, the usual MNIST
    setting); larger ones give C5 more inputs. Params with 10 classes: 61,706.

    Args:
        num_classes: the number of output logits.
        input_size: the images' height and width.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> import stax
        >>> init_fun, apply_fun = stax.models.lenet5(10, input_size=28)
        >>> out_shape, params = init_fun(random.key(0), (-1, 28, 28, 1))
        >>> out_shape, stax.count_params(params)
        ((-1, 10), 61706)
        >>> apply_fun(params, fnp.zeros((2, 28, 28, 1))).shape
        (2, 10)
    """
    padding = max(0, (32 - input_size) // 2)
    return serial(
        conv2d(6, 5, padding=padding), Tanh, AvgPool((2, 2), (2, 2)),
        conv2d(16, 5), Tanh, AvgPool((2, 2), (2, 2)),
        Flatten, linear(120), Tanh, linear(84), Tanh, linear(num_classes),
    )  # fmt: skip
