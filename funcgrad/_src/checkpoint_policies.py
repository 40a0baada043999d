"""Which values ``checkpoint(fun, policy=...)`` keeps from the forward pass, and
``checkpoint_name``, the marker that names a value for the name-based policies.

A policy is ``policy(primitive, *input_avals, **params) -> bool``, asked once per
equation of the checkpointed program that the forward pass computes: ``True`` saves
that equation's outputs for the backward pass (when the backward pass needs them),
``False`` lets the backward pass recompute them from the checkpoint's inputs and the
saved values. These are ``jax.checkpoint_policies``' names and meanings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from funcgrad._src.core import Primitive
from funcgrad._src.lax.linalg import dot_general_p

__all__ = [
    "checkpoint_dots", "checkpoint_name", "dots_saveable", "dots_with_no_batch_dims_saveable",
    "everything_saveable", "nothing_saveable", "save_any_names_but_these",
    "save_anything_except_these_names", "save_from_both_policies", "save_only_these_names",
]  # fmt: skip

# --- the naming marker -------------------------------------------------------------------

# An identity on its operand whose parameter is the name; the name-based policies look
# for it. jit's optimiser forwards it away like stop_gradient (optimize._trivial_operand).
name_p = Primitive("checkpoint_name")
name_p.impl = lambda backend, x, *, name: [x]
name_p.abstract_eval = lambda x, *, name: [x]


def _name_jvp(primals, tangents, *, name):
    # only the primal carries the name: it is what the forward pass may save
    return [name_p.bind1(primals[0], name=name)], [tangents[0]]


name_p.jvp = _name_jvp
name_p.batch = lambda args, dims, *, name: ([name_p.bind1(args[0], name=name)], [dims[0]])


def checkpoint_name(x: Any, name: str) -> Any:
    """``x`` unchanged, marked ``name`` so that :func:`save_only_these_names` (and the other
    name-based policies) can save it, as ``jax.ad_checkpoint.checkpoint_name``. Leaves of
    a pytree ``x`` are each marked.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> from funcgrad.ad_checkpoint import checkpoint_name
        >>> f = lambda x: fnp.sin(checkpoint_name(x * 2.0, "h"))
        >>> "checkpoint_name[name='h']" in str(funcgrad.make_jaxpr(f)(fnp.ones(2)))
        True
    """
    from funcgrad._src.numpy.util import asarray
    from funcgrad._src.tree_util import tree_map

    if not isinstance(name, str):
        raise TypeError(f"checkpoint_name: name must be a str, got {type(name).__name__}")
    return tree_map(lambda leaf: name_p.bind1(asarray(leaf), name=name), x)


# --- policies ---------------------------------------------------------------------------


def everything_saveable(prim: Primitive, *avals: Any, **params: Any) -> bool:
    """Save every value: the checkpoint then recomputes nothing (as no checkpoint).

    Examples:
        >>> import funcgrad
        >>> funcgrad.checkpoint_policies.everything_saveable(None)
        True
    """
    return True


def nothing_saveable(prim: Primitive, *avals: Any, **params: Any) -> bool:
    """Save nothing: the backward pass recomputes every intermediate value (the default).

    Examples:
        >>> import funcgrad
        >>> funcgrad.checkpoint_policies.nothing_saveable(None)
        False
    """
    return False


def dots_saveable(prim: Primitive, *avals: Any, **params: Any) -> bool:
    """Save the results of matrix products (``dot_general``); recompute the cheap
    elementwise work around them.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> layer = funcgrad.checkpoint(lambda x, w: fnp.tanh(x @ w),
        ...                             policy=funcgrad.checkpoint_policies.dots_saveable)
        >>> funcgrad.grad(lambda w: layer(fnp.ones((2, 3)), w).sum())(fnp.eye(3)).shape
        (3, 3)
    """
    return prim is dot_general_p


checkpoint_dots = dots_saveable


def dots_with_no_batch_dims_saveable(prim: Primitive, *avals: Any, **params: Any) -> bool:
    """Save the results of matrix products without batch dimensions (plain matmuls, not
    batched ones such as attention's per-head products).

    Examples:
        >>> import funcgrad
        >>> funcgrad.checkpoint_policies.dots_with_no_batch_dims_saveable(None)
        False
    """
    if prim is not dot_general_p:
        return False
    _, (lhs_batch, rhs_batch) = params["dimension_numbers"]
    return not lhs_batch and not rhs_batch


def save_only_these_names(*names: str) -> Callable[..., bool]:
    """A policy saving exactly the values marked with one of ``names`` by
    :func:`checkpoint_name`.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> from funcgrad.ad_checkpoint import checkpoint_name
        >>> policy = funcgrad.checkpoint_policies.save_only_these_names("pre")
        >>> layer = funcgrad.checkpoint(lambda x: fnp.sin(checkpoint_name(x * 3.0, "pre")),
        ...                             policy=policy)
        >>> round(float(funcgrad.grad(layer)(fnp.asarray(0.0))), 6)
        3.0
    """
    chosen = frozenset(_check_names("save_only_these_names", names))

    def policy(prim: Primitive, *avals: Any, **params: Any) -> bool:
        return prim is name_p and params["name"] in chosen

    policy.__name__ = f"save_only_these_names{tuple(sorted(chosen))}"
    return policy


def save_any_names_but_these(*names: str) -> Callable[..., bool]:
    """A policy saving every value marked by :func:`checkpoint_name` except those named
    one of ``names`` (unmarked values are recomputed).

    Examples:
        >>> import funcgrad
        >>> policy = funcgrad.checkpoint_policies.save_any_names_but_these("big")
        >>> callable(policy)
        True
    """
    excluded = frozenset(_check_names("save_any_names_but_these", names))

    def policy(prim: Primitive, *avals: Any, **params: Any) -> bool:
        return prim is name_p and params["name"] not in excluded

    policy.__name__ = f"save_any_names_but_these{tuple(sorted(excluded))}"
    return policy


def save_anything_except_these_names(*names: str) -> Callable[..., bool]:
    """A policy saving every value (named or not) except those marked with one of
    ``names`` by :func:`checkpoint_name`.

    Examples:
        >>> import funcgrad
        >>> policy = funcgrad.checkpoint_policies.save_anything_except_these_names("h")
        >>> callable(policy)
        True
    """
    excluded = frozenset(_check_names("save_anything_except_these_names", names))

    def policy(prim: Primitive, *avals: Any, **params: Any) -> bool:
        return not (prim is name_p and params["name"] in excluded)

    policy.__name__ = f"save_anything_except_these_names{tuple(sorted(excluded))}"
    return policy


def save_from_both_policies(
    policy_1: Callable[..., bool], policy_2: Callable[..., bool]
) -> Callable[..., bool]:
    """A policy saving what either policy saves.

    Examples:
        >>> import funcgrad
        >>> cp = funcgrad.checkpoint_policies
        >>> both = cp.save_from_both_policies(cp.dots_saveable, cp.save_only_these_names("h"))
        >>> callable(both)
        True
    """

    def policy(prim: Primitive, *avals: Any, **params: Any) -> bool:
        return bool(policy_1(prim, *avals, **params)) or bool(policy_2(prim, *avals, **params))

    policy.__name__ = (
        f"save_from_both_policies({getattr(policy_1, '__name__', 'policy_1')}, "
        f"{getattr(policy_2, '__name__', 'policy_2')})"
    )
    return policy


def _check_names(fname: str, names: tuple) -> tuple:
    for n in names:
        if not isinstance(n, str):
            raise TypeError(
                f"checkpoint_policies.{fname}: names must be str, got {type(n).__name__} "
                f"({n!r}); pass each name as its own argument"
            )
    return names
