"""The model zoo: classic networks built only from public stax layers and combinators.

Each builder returns a :class:`~stax.protocol.Layer` (an ``(init_fun, apply_fun)`` pair
with state functions) for NHWC images, with ``num_classes`` logits, following
``torchvision.models``' names, architectures and parameter counts (BatchNorm running
statistics are state, not params, as in PyTorch). Networks with BatchNorm train through
``apply_with_state``; networks with Dropout need ``key=`` in training. The input size
is given to ``init_fun`` (``(-1, H, W, C)``); adaptive pooling makes the classifiers
independent of it, as in torchvision.

Modules: :mod:`~stax.models.lenet` (``lenet5``), :mod:`~stax.models.alexnet`,
:mod:`~stax.models.vgg` (``vgg11``, ``vgg16`` and ``_bn`` variants, ``VGG``),
:mod:`~stax.models.resnet` (``resnet18/34/50``, ``ResNet``, ``BasicBlock``,
``Bottleneck``), :mod:`~stax.models.densenet` (``densenet121``, ``DenseNet``, blocks),
:mod:`~stax.models.googlenet` (``googlenet``, ``InceptionBlock``),
:mod:`~stax.models.squeeze_excitation` (``SqueezeExcitation``).
"""

from stax.models.alexnet import alexnet
from stax.models.densenet import DenseBlock, DenseLayer, DenseNet, Transition, densenet121
from stax.models.googlenet import InceptionBlock, googlenet
from stax.models.lenet import lenet5
from stax.models.resnet import BasicBlock, Bottleneck, ResNet, resnet18, resnet34, resnet50
from stax.models.squeeze_excitation import FanInProduct, SqueezeExcitation
from stax.models.vgg import VGG, VGG_CONFIGS, vgg11, vgg11_bn, vgg16, vgg16_bn

__all__ = [
    "VGG",
    "VGG_CONFIGS",
    "BasicBlock",
    "Bottleneck",
    "DenseBlock",
    "DenseLayer",
    "DenseNet",
    "FanInProduct",
    "InceptionBlock",
    "ResNet",
    "SqueezeExcitation",
    "Transition",
    "alexnet",
    "densenet121",
    "googlenet",
    "lenet5",
    "resnet18",
    "resnet34",
    "resnet50",
    "vgg11",
    "vgg11_bn",
    "vgg16",
    "vgg16_bn",
]
