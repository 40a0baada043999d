"""funcgrad.nn: neural-network functions with ``jax.nn``'s names and conventions.

Activations (``relu``, ``gelu``, ``silu``, ...), the numerically stable softmax family
(``softmax``, ``log_softmax``, ``logsumexp``), ``one_hot``, ``standardize`` and
``dot_product_attention``. All are compositions of ``funcgrad.numpy`` operations, so they
work under ``grad``, ``vmap`` and ``jit``.

Examples:
    >>> import funcgrad.numpy as fnp
    >>> import funcgrad.nn as nn
    >>> nn.relu(fnp.asarray([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    >>> [round(v, 4) for v in nn.softmax(fnp.asarray([0.0, 1.0])).tolist()]
    [0.2689, 0.7311]
"""

from funcgrad._src.nn import initializers
from funcgrad._src.nn.activations import (
    celu,
    elu,
    gelu,
    glu,
    hard_sigmoid,
    hard_silu,
    hard_swish,
    hard_tanh,
    leaky_relu,
    log_sigmoid,
    mish,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    soft_sign,
    softplus,
    swish,
)
from funcgrad._src.nn.attention import dot_product_attention
from funcgrad._src.nn.more_functions import (
    identity,
    log1mexp,
    logmeanexp,
    sparse_plus,
    sparse_sigmoid,
    squareplus,
    tanh,
)
from funcgrad._src.nn.preprocessing import one_hot, standardize
from funcgrad._src.nn.softmax_family import log_softmax, logsumexp, softmax

__all__ = [
    "celu",
    "dot_product_attention",
    "elu",
    "gelu",
    "glu",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "identity",
    "initializers",
    "leaky_relu",
    "log1mexp",
    "log_sigmoid",
    "log_softmax",
    "logmeanexp",
    "logsumexp",
    "mish",
    "one_hot",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "soft_sign",
    "softmax",
    "softplus",
    "sparse_plus",
    "sparse_sigmoid",
    "squareplus",
    "standardize",
    "swish",
    "tanh",
]
