"""Combinators: layers built from layers (serial, parallel, shape_dependent, fan-out/in).

Each combinator builds both halves of the protocol (see :mod:`stax.protocol`): the JAX
pair, with JAX stax's parameter layout (``serial``: a list with one entry per layer;
``parallel``: a tuple), and the state functions, whose state has the same layout as the
params (``()`` for a combinator none of whose layers has state). Random keys are split
per layer; every other apply-time keyword reaches every layer unchanged. ``serial`` and
``parallel`` record their sub-layers as ``layer.children`` and every combinator its
``layer.kind``, so tools (``stax.summary``, ``stax.intermediates``) can walk a network.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import funcgrad.numpy as fnp
from funcgrad import random
from stax.protocol import Layer, LayerError, as_layer, get_key, located

__all__ = [
    "FanInConcat",
    "FanInSum",
    "FanOut",
    "Identity",
    "parallel",
    "serial",
    "shape_dependent",
]


def check_entries(name: str, tree: Any, n: int, what: str) -> None:
    """Check that a combinator's ``params`` or ``state`` (``what``) has one entry per layer."""
    if not isinstance(tree, (list, tuple)) or len(tree) != n:
        got = f"{len(tree)} entries" if isinstance(tree, (list, tuple)) else type(tree).__name__
        raise LayerError(
            name,
            f"{what} must be a list or tuple with one entry per layer ({n}), got {got}; "
            f"pass the {what} that this network's init gave",
        )


def _split_keys(kwargs: dict, n: int) -> tuple[str, list]:
    name, key = get_key(kwargs)
    kwargs.pop("key", None)
    kwargs.pop("rng", None)
    return name, (list(random.split(key, n)) if key is not None else [None] * n)


def _with_key(kwargs: dict, name: str, key: Any) -> dict:
    return kwargs if key is None else {**kwargs, name: key}


def _combinator(kind, layers, init_fun, apply_fun, init_state, apply_with_state) -> Layer:
    """The combinator's Layer; it has the state functions only where a child has state."""
    stateful = any(layer.stateful for layer in layers)
    state_funs = {"init_state": init_state, "apply_with_state": apply_with_state}
    return Layer(
        init_fun,
        apply_fun,
        name=kind,
        kind=kind,
        children=layers,
        **(state_funs if stateful else {}),
    )


def serial(*layers) -> Layer:
    """Compose layers in sequence: the output of each is the input of the next.

    Params are a list with one entry per layer (JAX stax's layout); so is the state of a
    network with state. ``key`` is split into one key per layer.

    Args:
        *layers: layers, each an ``(init_fun, apply_fun)`` pair.

    Returns:
        The composed :class:`~stax.protocol.Layer`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> import stax
        >>> init_fun, apply_fun = stax.serial(stax.Dense(8), stax.Relu, stax.Dense(2))
        >>> out_shape, params = init_fun(random.key(0), (-1, 3))
        >>> out_shape, len(params), apply_fun(params, fnp.ones((5, 3))).shape
        ((-1, 2), 3, (5, 2))
    """
    layers = tuple(as_layer(layer, f"stax.serial (argument {i})") for i, layer in enumerate(layers))
    n = len(layers)
    stateful = any(layer.stateful for layer in layers)

    def init_fun(rng, input_shape):
        params = []
        for i, layer in enumerate(layers):
            rng, layer_rng = random.split(rng)
            with located(i, layer.name):
                input_shape, param = layer.init_fun(layer_rng, input_shape)
            params.append(param)
        return input_shape, params

    def apply_fun(params, inputs, **kwargs):
        check_entries("serial", params, n, "params")
        name, keys = _split_keys(kwargs, n)
        for i, (layer, param, key) in enumerate(zip(layers, params, keys)):
            with located(i, layer.name):
                inputs = layer.apply_fun(param, inputs, **_with_key(kwargs, name, key))
        return inputs

    def init_state(input_shape):
        state = []
        for i, layer in enumerate(layers):
            with located(i, layer.name):
                input_shape, layer_state = layer.init_state(input_shape)
            state.append(layer_state)
        return input_shape, (state if stateful else ())

    def apply_with_state(params, state, inputs, **kwargs):
        if not stateful:
            return apply_fun(params, inputs, **kwargs), state
        check_entries("serial", params, n, "params")
        check_entries("serial", state, n, "state")
        name, keys = _split_keys(kwargs, n)
        new_state = []
        for i, (layer, param, s, key) in enumerate(zip(layers, params, state, keys)):
            with located(i, layer.name):
                inputs, s = layer.apply_with_state(param, s, inputs, **_with_key(kwargs, name, key))
            new_state.append(s)
        return inputs, new_state

    return _combinator("serial", layers, init_fun, apply_fun, init_state, apply_with_state)


def parallel(*layers) -> Layer:
    """Apply layers side by side: layer ``i`` to input ``i`` of a sequence of inputs.

    Usually between ``FanOut`` and ``FanInSum`` / ``FanInConcat``. The output shape and
    params are tuples and the outputs a list, one entry per layer (JAX stax's layout).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> import stax
        >>> init_fun, apply_fun = stax.serial(stax.FanOut(2), stax.parallel(stax.Dense(3), stax.Identity),
        ...                                   stax.FanInConcat())
        >>> out_shape, params = init_fun(random.key(0), (-1, 2))
        >>> out_shape, apply_fun(params, fnp.ones((4, 2))).shape
        ((-1, 5), (4, 5))
    """
    layers = tuple(
        as_layer(layer, f"stax.parallel (argument {i})") for i, layer in enumerate(layers)
    )
    n = len(layers)

    def _inputs(inputs, what="inputs"):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != n:
            got = f"{len(inputs)}" if isinstance(inputs, (list, tuple)) else type(inputs).__name__
            raise LayerError(
                "parallel",
                f"expects a sequence of {n} {what} (one per layer), got {got}; "
                f"put a FanOut({n}) before it",
            )
        return inputs

    def init_fun(rng, input_shape):
        rngs = random.split(rng, n)
        shapes, params = [], []
        for i, (layer, key, shape) in enumerate(
            zip(layers, rngs, _inputs(input_shape, "input shapes"))
        ):
            with located(i, layer.name):
                shape, param = layer.init_fun(key, shape)
            shapes.append(shape)
            params.append(param)
        return tuple(shapes), tuple(params)

    def apply_fun(params, inputs, **kwargs):
        check_entries("parallel", params, n, "params")
        name, keys = _split_keys(kwargs, n)
        outputs = []
        for i, (layer, param, x, key) in enumerate(zip(layers, params, _inputs(inputs), keys)):
            with located(i, layer.name):
                outputs.append(layer.apply_fun(param, x, **_with_key(kwargs, name, key)))
        return outputs

    def init_state(input_shape):
        shapes, states = [], []
        for i, (layer, shape) in enumerate(zip(layers, _inputs(input_shape, "input shapes"))):
            with located(i, layer.name):
                shape, s = layer.init_state(shape)
            shapes.append(shape)
            states.append(s)
        return tuple(shapes), tuple(states)

    def apply_with_state(params, state, inputs, **kwargs):
        check_entries("parallel", params, n, "params")
        check_entries("parallel", state, n, "state")
        name, keys = _split_keys(kwargs, n)
        outputs, states = [], []
        for i, (layer, p, s, x, key) in enumerate(
            zip(layers, params, state, _inputs(inputs), keys)
        ):
            with located(i, layer.name):
                y, s = layer.apply_with_state(p, s, x, **_with_key(kwargs, name, key))
            outputs.append(y)
            states.append(s)
        return outputs, tuple(states)

    return _combinator("parallel", layers, init_fun, apply_fun, init_state, apply_with_state)


def shape_dependent(make_layer: Callable[[tuple], Any]) -> Layer:
    """Delay building a layer until its input shape is known.

    ``make_layer(shape)`` returns a layer; it is called with the input shape at init
    (batch size ``-1`` as given) and with ``inputs.shape`` at apply, as in JAX stax. The
    layer may have state: ``init_state`` and ``apply_with_state`` use the built layer's.
    ``layer.build(input_shape)`` returns the built layer (tools that walk a network use it).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> import stax
        >>> square = stax.shape_dependent(lambda shape: stax.Dense(shape[-1]))
        >>> out_shape, params = square[0](random.key(0), (-1, 3))
        >>> out_shape, square.kind, square.build((-1, 3)).name
        ((-1, 3), 'shape_dependent', 'Dense(3)')
    """

    def build(shape):
        return as_layer(make_layer(tuple(shape)), "stax.shape_dependent (make_layer's result)")

    def init_fun(rng, input_shape):
        return build(input_shape).init_fun(rng, input_shape)

    def apply_fun(params, inputs, **kwargs):
        return build(inputs.shape).apply_fun(params, inputs, **kwargs)

    def init_state(input_shape):
        return build(input_shape).init_state(input_shape)

    def apply_with_state(params, state, inputs, **kwargs):
        return build(inputs.shape).apply_with_state(params, state, inputs, **kwargs)

    layer = Layer(
        init_fun,
        apply_fun,
        init_state=init_state,
        apply_with_state=apply_with_state,
        name="shape_dependent",
        kind="shape_dependent",
    )
    layer.build = build  # the layer it stands for at a given input shape (for stax.summary)
    return layer


def _Identity() -> Layer:
    """The identity layer: returns its input (no params)."""
    return Layer(
        lambda rng, input_shape: (input_shape, ()),
        lambda params, inputs, **kwargs: inputs,
        name="Identity",
    )


Identity = _Identity()


def FanOut(num: int) -> Layer:
    """Copy the input into a list of ``num`` references (for ``parallel``).

    Examples:
        >>> import stax
        >>> stax.FanOut(2)[0](None, (-1, 3))
        ([(-1, 3), (-1, 3)], ())
    """

    def init_fun(rng, input_shape):
        return [input_shape] * num, ()

    def apply_fun(params, inputs, **kwargs):
        return [inputs] * num

    return Layer(init_fun, apply_fun, name=f"FanOut({num})")


def _shapes(name: str, shapes: Any) -> list:
    if (
        not isinstance(shapes, (list, tuple))
        or not shapes
        or not all(isinstance(s, (list, tuple)) for s in shapes)
    ):
        raise LayerError(
            name, f"expects a sequence of input shapes (from parallel), got {shapes!r}"
        )
    return list(shapes)


def _FanInSum() -> Layer:
    """Sum a sequence of inputs of one shape (residual connections)."""

    def init_fun(rng, input_shape):
        shapes = _shapes("FanInSum", input_shape)
        first = tuple(shapes[0])
        for s in shapes[1:]:
            if len(s) != len(first) or any(a != b and -1 not in (a, b) for a, b in zip(s, first)):
                raise LayerError("FanInSum", f"inputs must have one shape, got shapes {shapes}")
        return shapes[0], ()

    def apply_fun(params, inputs, **kwargs):
        shapes = [tuple(x.shape) for x in inputs]
        if len(set(shapes)) != 1:
            raise LayerError("FanInSum", f"inputs must have one shape, got shapes {shapes}")
        return sum(inputs[1:], inputs[0])

    return Layer(init_fun, apply_fun, name="FanInSum")


FanInSum = _FanInSum()


def FanInConcat(axis: int = -1) -> Layer:
    """Concatenate a sequence of inputs along ``axis`` (default: the channels).

    Examples:
        >>> import stax
        >>> stax.FanInConcat()[0](None, [(-1, 4, 2), (-1, 4, 3)])
        ((-1, 4, 5), ())
    """

    def init_fun(rng, input_shape):
        shapes = _shapes("FanInConcat", input_shape)
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes) or not -rank <= axis < rank:
            raise LayerError("FanInConcat", f"cannot concatenate shapes {shapes} along axis {axis}")
        ax = axis % rank
        for s in shapes[1:]:
            if any(
                a != b and -1 not in (a, b) for i, (a, b) in enumerate(zip(s, shapes[0])) if i != ax
            ):
                raise LayerError("FanInConcat", f"shapes {shapes} differ off the axis {axis}")
        size = sum(s[ax] for s in shapes)
        if any(s[ax] == -1 for s in shapes):
            size = -1
        return tuple(shapes[0][:ax]) + (size,) + tuple(shapes[0][ax + 1 :]), ()

    def apply_fun(params, inputs, **kwargs):
        return fnp.concatenate(inputs, axis)

    return Layer(init_fun, apply_fun, name=f"FanInConcat(axis={axis})")
