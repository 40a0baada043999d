"""The gradient-transformation protocol: the (init, update) pair, chaining, applying updates.

A *gradient transformation* is a pair of pure functions (optax's protocol):

- ``init(params) -> state`` builds the transformation's state from example params;
- ``update(updates, state, params=None, **extra_args) -> (updates, state)`` maps a
  pytree of candidate updates (usually gradients) to new updates and a new state.

States are NamedTuples of arrays (pytrees), so ``jit``, ``vmap``, ``tree_util`` and the
checkpoint format handle them like params. ``chain`` composes transformations left to
right; ``apply_updates`` adds the final updates to the params.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import funcgrad.numpy as fnp
from funcgrad import tree_util
from transforms import tree_utils

__all__ = [
    "EmptyState",
    "GradientTransformation",
    "GradientTransformationExtraArgs",
    "OptState",
    "Params",
    "ScalarOrSchedule",
    "Schedule",
    "TransformInitFn",
    "TransformUpdateExtraArgsFn",
    "TransformUpdateFn",
    "Updates",
    "apply_updates",
    "chain",
    "identity",
    "named_chain",
    "stateless",
    "stateless_with_tree_map",
    "with_extra_args_support",
]

PyTree = Any
Params = Any  # a pytree of arrays
Updates = Any  # a pytree of arrays with the structure of the params
OptState = Any  # a pytree (usually NamedTuples) of arrays
Schedule = Callable[[Any], Any]  # step count (int32 array) -> scalar
ScalarOrSchedule = float | Any | Schedule

NO_PARAMS_MSG = (
    "this transformation needs the current parameters: call "
    "update(updates, state, params) with params, not params=None"
)


class TransformInitFn(Protocol):
    """``init(params) -> state``: the initial state, built from example params."""

    def __call__(self, params: Params) -> OptState: ...


class TransformUpdateFn(Protocol):
    """``update(updates, state, params=None) -> (updates, state)``."""

    def __call__(
        self, updates: Updates, state: OptState, params: Params | None = None
    ) -> tuple[Updates, OptState]: ...


class TransformUpdateExtraArgsFn(Protocol):
    """``update(updates, state, params=None, **extra_args) -> (updates, state)``."""

    def __call__(
        self, updates: Updates, state: OptState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, OptState]: ...


class GradientTransformation(NamedTuple):
    """A pair of pure functions ``(init, update)``: optax's gradient transformation.

    ``init(params)`` returns the state (a pytree of arrays, usually a NamedTuple);
    ``update(updates, state, params=None)`` returns ``(new_updates, new_state)``. Neither
    holds state of its own: everything that changes from step to step lives in the state,
    so both can be jitted, vmapped and checkpointed.

    Attributes:
        init: ``params -> state``.
        update: ``(updates, state, params=None) -> (updates, state)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.sgd(learning_rate=0.1)
        >>> params = {"w": fnp.asarray([1.0, 2.0])}
        >>> state = tx.init(params)
        >>> updates, state = tx.update({"w": fnp.asarray([1.0, 1.0])}, state)
        >>> transforms.apply_updates(params, updates)["w"].tolist()
        [0.9, 1.9]
    """

    init: TransformInitFn
    update: TransformUpdateFn


class GradientTransformationExtraArgs(GradientTransformation):
    """A gradient transformation whose ``update`` also takes keyword ``**extra_args``.

    Extra arguments carry values that some transformations need at update time (the
    loss ``value`` for line searches and plateau schedules, ``grad`` and ``value_fn`` for
    L-BFGS). Transformations that do not use them ignore them; ``chain`` forwards them to
    every member.

    Attributes:
        init: ``params -> state``.
        update: ``(updates, state, params=None, **extra_args) -> (updates, state)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.with_extra_args_support(transforms.scale(2.0))
        >>> u, _ = tx.update(fnp.asarray(1.0), tx.init(None), value=3.0)
        >>> float(u)
        2.0
    """

    update: TransformUpdateExtraArgsFn


class EmptyState(NamedTuple):
    """The state of a stateless transformation (an empty NamedTuple, an empty pytree)."""


def identity() -> GradientTransformation:
    """The stateless transformation that returns the updates unchanged.

    Not to be confused with ``set_to_zero``, whose updates leave the params unchanged.

    Returns:
        A ``GradientTransformation``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.identity()
        >>> u, _ = tx.update(fnp.asarray([1.0, -2.0]), tx.init(None))
        >>> u.tolist()
        [1.0, -2.0]
    """

    def init_fn(params):
        del params
        return EmptyState()

    def update_fn(updates, state, params=None):
        del params
        return updates, state

    return GradientTransformation(init_fn, update_fn)


def stateless(f: Callable[[Updates, Params | None], Updates]) -> GradientTransformation:
    """A stateless transformation from ``f(updates, params) -> updates`` (pytree level).

    Args:
        f: maps the updates pytree and the params (``None`` when not given) to new updates.

    Returns:
        A ``GradientTransformation`` with ``EmptyState``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> from funcgrad import tree_util
        >>> tx = transforms.stateless(lambda u, p: tree_util.tree_map(lambda x: -x, u))
        >>> u, _ = tx.update([fnp.asarray(1.0)], tx.init(None))
        >>> float(u[0])
        -1.0
    """

    def init_fn(params):
        del params
        return EmptyState()

    def update_fn(updates, state, params=None):
        del state
        return f(updates, params), EmptyState()

    return GradientTransformation(init_fn, update_fn)


def stateless_with_tree_map(
    f: Callable[[Any, Any], Any],
) -> GradientTransformation:
    """A stateless transformation from ``f(update_leaf, param_leaf) -> update_leaf``.

    ``f`` is mapped over the leaves of the updates (and of the params, when given; the
    param leaf is ``None`` otherwise).

    Args:
        f: maps one update array and its param array (or ``None``) to a new update array.

    Returns:
        A ``GradientTransformation`` with ``EmptyState``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.stateless_with_tree_map(lambda u, p: 2 * u)
        >>> u, _ = tx.update({"a": fnp.asarray(1.5)}, tx.init(None))
        >>> float(u["a"])
        3.0
    """

    def update(updates, params):
        if params is None:
            return tree_util.tree_map(lambda u: f(u, None), updates)
        tree_utils.check_same_structure("stateless_with_tree_map", updates, params, "params")
        return tree_util.tree_map(f, updates, params)

    return stateless(update)


def with_extra_args_support(tx: GradientTransformation) -> GradientTransformationExtraArgs:
    """Wrap ``tx`` so that its ``update`` accepts (and ignores) ``**extra_args``.

    A transformation that already takes extra arguments is returned unchanged.

    Args:
        tx: any gradient transformation.

    Returns:
        A ``GradientTransformationExtraArgs``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.with_extra_args_support(transforms.identity())
        >>> u, _ = tx.update(fnp.asarray(1.0), tx.init(None), value=0.5)
        >>> float(u)
        1.0
    """
    if isinstance(tx, GradientTransformationExtraArgs):
        return tx

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        return tx.update(updates, state, params)

    return GradientTransformationExtraArgs(tx.init, update_fn)


def _check_transformation(fn_name: str, i: int, tx: Any) -> None:
    if not (isinstance(tx, tuple) and len(tx) == 2 and callable(tx[0]) and callable(tx[1])):
        raise TypeError(
            f"{fn_name}: argument {i} is a {type(tx).__name__}, not a GradientTransformation; "
            "pass transformations such as transforms.scale_by_adam() (call the factory)"
        )


def chain(*transformations: GradientTransformation) -> GradientTransformationExtraArgs:
    """Compose transformations: the updates flow through them left to right.

    The state is the tuple of the members' states, in order. ``**extra_args`` given to
    ``update`` are passed to every member that accepts them
    (``GradientTransformationExtraArgs``); the others are called without them.

    Args:
        *transformations: the transformations to apply, first to last.

    Returns:
        A ``GradientTransformationExtraArgs``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.chain(transforms.clip(1.0), transforms.scale(-0.5))
        >>> u, _ = tx.update(fnp.asarray([4.0, -0.5]), tx.init(fnp.zeros(2)))
        >>> u.tolist()
        [-0.5, 0.25]
    """
    for i, tx in enumerate(transformations):
        _check_transformation("chain", i, tx)
    txs = tuple(
        with_extra_args_support(GradientTransformation(*t))
        if not isinstance(t, GradientTransformationExtraArgs)
        else t
        for t in transformations
    )

    def init_fn(params):
        return tuple(tx.init(params) for tx in txs)

    def update_fn(updates, state, params=None, **extra_args):
        if not isinstance(state, tuple) or len(state) != len(txs):
            raise ValueError(
                f"chain.update: the state must be the tuple of {len(txs)} member states "
                f"returned by init, got {type(state).__name__}"
                + (f" of length {len(state)}" if isinstance(state, tuple) else "")
            )
        new_states = []
        for tx, s in zip(txs, state):
            updates, s = tx.update(updates, s, params, **extra_args)
            new_states.append(s)
        return updates, tuple(new_states)

    return GradientTransformationExtraArgs(init_fn, update_fn)


def named_chain(
    *transformations: tuple[str, GradientTransformation],
) -> GradientTransformationExtraArgs:
    """Like ``chain``, with each member's state stored under a name in a dict.

    Args:
        *transformations: ``(name, transformation)`` pairs, applied first to last; names
            must be distinct strings.

    Returns:
        A ``GradientTransformationExtraArgs`` whose state is ``{name: member_state}``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.named_chain(("clip", transforms.clip(1.0)),
        ...                             ("sgd", transforms.sgd(0.1)))
        >>> state = tx.init(fnp.zeros(2))
        >>> sorted(state)
        ['clip', 'sgd']
        >>> u, _ = tx.update(fnp.asarray([3.0, 0.5]), state)
        >>> [round(v, 6) for v in u.tolist()]
        [-0.1, -0.05]
    """
    names = []
    for i, pair in enumerate(transformations):
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], str)):
            raise TypeError(
                f"named_chain: argument {i} must be a (name, transformation) pair with a str "
                f"name, got {type(pair).__name__}"
            )
        _check_transformation("named_chain", i, pair[1])
        if pair[0] in names:
            raise ValueError(f"named_chain: the name {pair[0]!r} is used twice; names must differ")
        names.append(pair[0])
    txs = [(n, with_extra_args_support(GradientTransformation(*t))) for n, t in transformations]

    def init_fn(params):
        return {name: tx.init(params) for name, tx in txs}

    def update_fn(updates, state, params=None, **extra_args):
        if not isinstance(state, dict) or set(state) != set(names):
            got = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(
                f"named_chain.update: the state must be the dict with keys {names} returned "
                f"by init, got {got}"
            )
        new_state = {}
        for name, tx in txs:
            updates, new_state[name] = tx.update(updates, state[name], params, **extra_args)
        return updates, new_state

    return GradientTransformationExtraArgs(init_fn, update_fn)


def apply_updates(params: Params, updates: Updates) -> Params:
    """Add the updates to the params: ``params + updates``, leaf by leaf.

    Each result keeps its param's dtype (a float32 param stays float32 when the update is
    float64), as in optax. ``None`` leaves of the params stay ``None``.

    Args:
        params: a pytree of arrays.
        updates: a pytree of arrays with the params' structure and shapes.

    Returns:
        The new params.

    Raises:
        ValueError: if the structures or shapes differ (naming the key path).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> p = {"b": fnp.asarray([1.0, 2.0], dtype=fnp.float32)}
        >>> new = transforms.apply_updates(p, {"b": fnp.asarray([0.5, -1.0])})
        >>> new["b"].tolist(), str(new["b"].dtype)
        ([1.5, 1.0], 'float32')
    """
    tree_utils.check_same_structure("apply_updates", updates, params, "params")

    def add(p, u):
        if p is None:
            return None
        p = fnp.asarray(p)
        return fnp.asarray(p + u, dtype=p.dtype)

    return tree_util.tree_map(add, params, updates, is_leaf=lambda x: x is None)
