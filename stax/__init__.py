"""stax: neural-network layers as ``(init_fun, apply_fun)`` pairs, on funcgrad's public API.

The protocol is ``jax.example_libraries.stax``'s, so JAX code ports by changing the
import: a layer is a pair

* ``init_fun(key, input_shape) -> (output_shape, params)`` (``-1`` for an unknown batch
  size), and
* ``apply_fun(params, inputs, **kwargs) -> outputs``,

built by CamelCase constructors (``Dense(10)``, ``Conv(32, (3, 3))``), with
parameterless layers as values (``Relu``, ``Flatten``) and snake_case combinators
(``serial``, ``parallel``, ``shape_dependent``). JAX stax's names, signatures, defaults
and parameter layouts are kept (Dense ``(W, b)``, Conv ``HWIO`` kernels with a
``(1, 1, 1, C)`` bias, BatchNorm ``(beta, gamma)``); its known flaws are fixed:
``Dropout(rate)`` takes the *drop* rate and follows the training flag.

Apply-time keywords (passed by the combinators to every layer):

* ``key=`` (or JAX's ``rng=``): a ``funcgrad.random`` key; ``serial`` / ``parallel``
  split it per layer. A layer that needs one (Dropout, RRelu in training) and gets none
  raises an error saying so.
* ``is_training=`` (Python bool, default True) or ``mode='train' | 'test' | 'eval'``.

**State.** Running statistics (BatchNorm) are *state*, kept apart from params and
threaded explicitly. Every constructor returns a :class:`Layer`, a tuple that unpacks
as the JAX pair and also carries

* ``layer.init_state(input_shape) -> (output_shape, state)`` and
* ``layer.apply_with_state(params, state, inputs, **kwargs) -> (outputs, new_state)``.

Combinators build both; the state has the params' layout, with ``()`` for a layer (or a
whole combinator) without state. A training step returns the new state next to the
loss, evaluation reads it; nothing is mutated, so it works under ``grad``, ``vmap`` and
``jit``::

    net = stax.serial(stax.Conv(8, (3, 3)), stax.BatchNorm(), stax.Relu, stax.Flatten, stax.Dense(10))
    _, params = net.init_fun(key, (-1, 28, 28, 1))
    _, state = net.init_state((-1, 28, 28, 1))

    def loss(params, state, x, y):
        logits, state = net.apply_with_state(params, state, x, is_training=True)
        return cross_entropy(logits, y), state

    (value, state), grads = funcgrad.value_and_grad(loss, has_aux=True)(params, state, x, y)
    logits, _ = net.apply_with_state(params, state, x_test, is_training=False)

A network without state keeps the two-function protocol and needs none of this. To
write a new layer: return ``Layer(init_fun, apply_fun)`` (or a plain pair); a layer with
state also passes ``init_state=`` and ``apply_with_state=``. Raise
:class:`~stax.protocol.LayerError` for bad inputs; combinators add the layer's position.

Modules: :mod:`stax.protocol` (Layer, keywords, errors), :mod:`stax.combinators`,
:mod:`stax.layers` (core, conv, pooling, resampling, normalization, activations,
embedding, recurrent), :mod:`stax.initializers`, :mod:`stax.params` (count, named paths,
structure checks), :mod:`stax.models` (LeNet-5 ... DenseNet-121, as ``stax.models.resnet18``).
Following JAX stax, the initializers ``glorot_normal``, ``normal``, ``ones``, ``zeros``
(aliases ``glorot``, ``randn``) and the ``funcgrad.nn`` functions it used are
re-exported here.

Examples:
    >>> import funcgrad.numpy as fnp
    >>> from funcgrad import random
    >>> import stax
    >>> init_fun, apply_fun = stax.serial(stax.Dense(16), stax.Relu, stax.Dense(3), stax.LogSoftmax)
    >>> out_shape, params = init_fun(random.key(0), (-1, 4))
    >>> out_shape, apply_fun(params, fnp.ones((2, 4))).shape
    ((-1, 3), (2, 3))
"""

from funcgrad.nn import (
    elu,
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    selu,
    sigmoid,
    softmax,
    softplus,
    standardize,
)
from stax import initializers
from stax.combinators import (
    FanInConcat,
    FanInSum,
    FanOut,
    Identity,
    parallel,
    serial,
    shape_dependent,
)
from stax.initializers import glorot_normal, normal, ones, zeros
from stax import layers as _layers
from stax.layers import *  # noqa: F403
from stax.params import check_params, count_params, named_params
from stax.protocol import Layer, LayerError

# JAX stax's aliases
glorot = glorot_normal
randn = normal
logsoftmax = log_softmax

__all__ = [
    "FanInConcat",
    "FanInSum",
    "FanOut",
    "Identity",
    "Layer",
    "LayerError",
    "check_params",
    "count_params",
    "elu",
    "gelu",
    "glorot",
    "glorot_normal",
    "initializers",
    "leaky_relu",
    "log_softmax",
    "logsoftmax",
    "named_params",
    "normal",
    "ones",
    "parallel",
    "randn",
    "relu",
    "selu",
    "serial",
    "shape_dependent",
    "sigmoid",
    "softmax",
    "softplus",
    "standardize",
    "zeros",
] + _layers.__all__

# The tools built on the layers: the model zoo, tables and timing, and inspection.
# (stax.losses, stax.data, stax.metrics, ... are imported as submodules.)
from stax import models  # noqa: E402
from stax.inspect import (  # noqa: E402
    grad_cam,
    intermediate_grads,
    intermediates,
    split_at,
    split_params,
)
from stax.tabulate import Summary, summary  # noqa: E402
from stax.timing import time_layers  # noqa: E402

__all__ += [
    "Summary",
    "grad_cam",
    "intermediate_grads",
    "intermediates",
    "models",
    "split_at",
    "split_params",
    "summary",
    "time_layers",
]
