"""The layer protocol: the ``Layer`` pair, its state functions, apply-time keywords, errors.

A layer is JAX stax's pair ``(init_fun, apply_fun)``:

* ``init_fun(key, input_shape) -> (output_shape, params)``; shapes use ``-1`` for an
  unknown batch size;
* ``apply_fun(params, inputs, **kwargs) -> outputs``.

Constructors in ``stax`` return a :class:`Layer`, a ``tuple`` subclass that unpacks
exactly as ``init_fun, apply_fun = layer`` and in addition carries the two *state*
functions (running statistics of BatchNorm):

* ``layer.init_state(input_shape) -> (output_shape, state)``;
* ``layer.apply_with_state(params, state, inputs, **kwargs) -> (outputs, new_state)``.

A layer without state has state ``()``; its ``apply_with_state`` calls ``apply_fun`` and
returns the state unchanged. Plain ``(init_fun, apply_fun)`` tuples written for JAX
(the user's own layers) are accepted everywhere a layer is, as layers without state.

Apply-time keywords are passed by the combinators to every layer:

* ``key=`` (or JAX stax's ``rng=``): a ``funcgrad.random`` key, split per layer by
  ``serial`` and ``parallel`` and forwarded under the name the caller used;
* ``is_training=`` (a Python bool, default ``True`` as in PyTorch's modules and JAX
  stax's ``Dropout(mode='train')``), or ``mode='train'`` / ``'test'`` / ``'eval'``.
  Under ``jit`` the flag must be static (close over it or use ``static_argnames``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import funcgrad
from funcgrad import random

__all__ = [
    "Layer",
    "LayerError",
    "as_layer",
    "get_key",
    "is_training",
    "layer_name",
    "require_key",
]

InitFun = Callable[[Any, tuple], tuple]
ApplyFun = Callable[..., Any]


class LayerError(ValueError):
    """A layer got inputs or params it cannot use.

    The message names the layer, where it sits in the network (the key path of its
    params, e.g. ``[1][2]`` for the third layer of the second layer of a ``serial``),
    and what was expected and given. Combinators add their index to ``path`` as the
    error travels out.
    """

    def __init__(self, layer: str, detail: str, path: tuple = ()):
        self.layer, self.detail, self.path = layer, detail, tuple(path)
        super().__init__(self._message())

    def _message(self) -> str:
        where = "".join(f"[{i}]" for i in self.path)
        if not where:
            return f"{self.layer}: {self.detail}"
        return f"{self.layer} (layer {where} of the network; its params are params{where}): {self.detail}"

    def at(self, index: int) -> LayerError:
        """Prefix ``index`` to the position (done by a combinator) and return self."""
        self.path = (index, *self.path)
        self.args = (self._message(),)
        return self


def locate_error(err: BaseException, index: int, name: str) -> None:
    """Record that ``err`` came out of sub-layer ``index`` (named ``name``) of a combinator.

    A :class:`LayerError` gets the index in its path; any other error gets one note
    naming the innermost layer and its position (updated as it travels out).
    """
    if isinstance(err, LayerError):
        err.at(index)
        return
    path = (index, *getattr(err, "_stax_path", ()))
    layer = getattr(err, "_stax_layer", name)
    notes = getattr(err, "__notes__", [])
    old = getattr(err, "_stax_note", None)
    if old in notes:
        notes.remove(old)
    note = f"raised in stax layer {layer} at params{''.join(f'[{i}]' for i in path)}"
    err._stax_path, err._stax_layer, err._stax_note = path, layer, note
    err.add_note(note)


class located:  # lower case: used as a function, ``with located(i, name): ...``
    """Run a combinator's call of sub-layer ``index`` (named ``name``); an error raised in it
    goes through :func:`locate_error` and on out (one ``with`` instead of a try/except at
    every call of a child)."""

    __slots__ = ("index", "name")

    def __init__(self, index: int, name: str):
        self.index, self.name = index, name

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, err, tb) -> bool:
        if isinstance(err, Exception):
            locate_error(err, self.index, self.name)
        return False


def layer_name(layer: Any) -> str:
    """A readable name: the Layer's own, or the function's qualified name."""
    name = getattr(layer, "name", None)
    if name:
        return name
    apply_fun = layer[1] if isinstance(layer, tuple) and len(layer) == 2 else layer
    qualname = getattr(apply_fun, "__qualname__", type(apply_fun).__name__)
    parts = qualname.split(".<locals>.")  # "Maker.<locals>.apply_fun" -> "Maker"
    return parts[-2].split(".")[-1] if len(parts) > 1 else qualname


def abstract_init(init_fun: InitFun, input_shape) -> tuple[Any, Any]:
    """``(output_shape, params)`` of ``init_fun`` without creating its params.

    ``init_fun`` is evaluated abstractly (``funcgrad.eval_shape``), so no random numbers
    are drawn and the params are ``ShapeDtypeStruct``s; an ``init_fun`` that cannot be
    traced is called with a fixed key instead (and its params are arrays).
    """
    box = []

    def params_only(key):
        output_shape, params = init_fun(key, input_shape)
        box.append(output_shape)
        return params

    try:
        params = funcgrad.eval_shape(params_only, random.key(0))
    except LayerError:
        raise
    except Exception:  # an init_fun that needs concrete values: run it for real
        return init_fun(random.key(0), input_shape)
    return box[0], params


class Layer(tuple):
    """A layer: the pair ``(init_fun, apply_fun)`` plus its state functions.

    Unpacks exactly as JAX stax's pair. ``stateful`` says whether the layer may carry
    state (``shape_dependent`` layers say True without knowing); layers without state
    have state ``()``.

    Args:
        init_fun: ``(key, input_shape) -> (output_shape, params)``.
        apply_fun: ``(params, inputs, **kwargs) -> outputs``.
        init_state: ``(input_shape) -> (output_shape, state)``; omit for a layer without
            state.
        apply_with_state: ``(params, state, inputs, **kwargs) -> (outputs, new_state)``;
            omit for a layer without state.
        name: shown in error messages and reprs.
        kind: what builds the layer, for tools that walk a network (``stax.summary``,
            ``stax.intermediates``): ``'serial'``, ``'parallel'`` or ``'shape_dependent'``
            for the combinators, ``'layer'`` (the default) for everything else.
        children: the sub-layers of a ``serial`` or ``parallel``, in params order
            (``layer.children[i]`` owns ``params[i]``); ``()`` for other layers. A
            ``shape_dependent`` layer has no fixed children: its ``build(input_shape)``
            returns the layer it stands for at that shape.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import random
        >>> import stax
        >>> init_fun, apply_fun = stax.Dense(3)  # unpacks like JAX's pair
        >>> out_shape, params = init_fun(random.key(0), (-1, 2))
        >>> out_shape
        (-1, 3)
        >>> net = stax.serial(stax.Dense(4), stax.BatchNorm(axis=(0,)), stax.Relu)
        >>> out_shape, state = net.init_state((-1, 2))
        >>> [type(s).__name__ for s in state]
        ['tuple', 'BatchNormState', 'tuple']
        >>> net.kind, [child.name for child in net.children]
        ('serial', ['Dense(4)', 'BatchNorm', 'Relu'])
    """

    def __new__(
        cls,
        init_fun: InitFun,
        apply_fun: ApplyFun,
        *,
        init_state=None,
        apply_with_state=None,
        name: str | None = None,
        kind: str = "layer",
        children: Sequence[Layer] = (),
    ):
        self = super().__new__(cls, (init_fun, apply_fun))
        if (init_state is None) != (apply_with_state is None):
            raise TypeError("Layer: give both init_state and apply_with_state, or neither")
        self.init_fun, self.apply_fun = init_fun, apply_fun
        self.stateful = init_state is not None
        self.name = name or layer_name((init_fun, apply_fun))
        self.kind, self.children = kind, tuple(children)
        if init_state is None:

            def init_state(input_shape):
                return abstract_init(init_fun, input_shape)[0], ()

            def apply_with_state(params, state, inputs, **kwargs):
                return apply_fun(params, inputs, **kwargs), state

        self.init_state, self.apply_with_state = init_state, apply_with_state
        return self

    def __repr__(self) -> str:
        return f"<stax layer {self.name}>"

    def __getnewargs__(self):  # keep copy/pickle of the tuple part working
        return tuple(self)


def as_layer(layer: Any, where: str = "layer") -> Layer:
    """``layer`` as a :class:`Layer`; a plain JAX-style pair becomes one without state."""
    if isinstance(layer, Layer):
        return layer
    if not (isinstance(layer, Sequence) and len(layer) == 2 and all(map(callable, layer))):
        raise TypeError(
            f"{where}: expected a layer, i.e. an (init_fun, apply_fun) pair, got "
            f"{type(layer).__name__}; parameterless layers are values (stax.Relu, not stax.Relu())"
        )
    return Layer(layer[0], layer[1], name=layer_name(layer))


# --- apply-time keywords -----------------------------------------------------------------


def get_key(kwargs: dict) -> tuple[str, Any]:
    """The random key among the apply-time keywords: ``(name used, key or None)``."""
    key, rng = kwargs.get("key"), kwargs.get("rng")
    if key is not None and rng is not None and key is not rng:
        raise TypeError("stax: pass the random key once, as key= (or JAX stax's rng=), not both")
    if rng is not None:
        return "rng", rng
    return "key", key


def require_key(kwargs: dict, layer: str) -> Any:
    """The random key, or an error saying that ``layer`` needs one."""
    _, key = get_key(kwargs)
    if key is None:
        raise LayerError(
            layer,
            "needs a random key in training: call apply_fun(params, inputs, key=key) (or "
            "rng=key) with a funcgrad.random key, or pass is_training=False for evaluation",
        )
    return key


_MODES = {"train": True, "training": True, "test": False, "eval": False, "inference": False}


def is_training(kwargs: dict, layer: str = "stax") -> bool:
    """The training flag: ``is_training=`` or ``mode=``; default True (training)."""
    flag, mode = kwargs.get("is_training"), kwargs.get("mode")
    if mode is not None:
        if mode not in _MODES:
            raise ValueError(f"{layer}: mode must be one of {sorted(_MODES)}, got {mode!r}")
        if flag is not None and bool(flag) != _MODES[mode]:
            raise ValueError(f"{layer}: is_training={flag} contradicts mode={mode!r}")
        return _MODES[mode]
    if flag is None:
        return True
    if not isinstance(flag, (bool, np.bool_)):
        raise TypeError(
            f"{layer}: is_training must be a Python bool, got {type(flag).__name__}; under jit "
            f"close over it or mark it static (static_argnames=('is_training',))"
        )
    return bool(flag)
