"""Wrappers that route, freeze, reshape or guard the updates of another transformation.

optax's names and semantics: `masked`, `partition` / `multi_transform`, `set_to_zero`,
`freeze`, `selective_transform`, `flatten`, `apply_if_finite`. (Gradient accumulation
lives in `transforms.multi_steps`, hyperparameter injection in `transforms.inject`,
lookahead in `transforms.lookahead`.)

Examples:
    Per-parameter-group learning rates and freezing (PyTorch's ``param_groups`` and
    ``requires_grad=False`` in fine-tuning) are `partition` over a label pytree:

    >>> import funcgrad.numpy as fnp
    >>> import transforms
    >>> params = {"backbone": {"w": fnp.ones(3)}, "head": {"w": fnp.ones(2)},
    ...           "embed": fnp.ones(2)}
    >>> labels = {"backbone": "slow", "head": "fast", "embed": "frozen"}
    >>> tx = transforms.partition(
    ...     {"slow": transforms.pytorch.sgd(lr=0.01, momentum=0.9),
    ...      "fast": transforms.pytorch.sgd(lr=0.1, momentum=0.9),
    ...      "frozen": transforms.set_to_zero()},
    ...     labels)
    >>> state = tx.init(params)
    >>> grads = {"backbone": {"w": fnp.ones(3)}, "head": {"w": fnp.ones(2)},
    ...          "embed": fnp.ones(2)}
    >>> updates, state = tx.update(grads, state, params)
    >>> new = transforms.apply_updates(params, updates)
    >>> new["backbone"]["w"].tolist(), new["head"]["w"].tolist(), new["embed"].tolist()
    ([0.99, 0.99, 0.99], [0.9, 0.9], [1.0, 1.0])
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any, NamedTuple

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import lax, tree_util
from transforms import tree_utils
from transforms.base import (
    EmptyState,
    GradientTransformation,
    GradientTransformationExtraArgs,
    with_extra_args_support,
)

__all__ = [
    "ApplyIfFiniteState",
    "MaskedNode",
    "MaskedState",
    "MultiTransformState",
    "PartitionState",
    "apply_if_finite",
    "flatten",
    "freeze",
    "masked",
    "multi_transform",
    "partition",
    "selective_transform",
    "set_to_zero",
]


def set_to_zero() -> GradientTransformation:
    """Stateless transformation whose updates are all zeros (the params do not move).

    Returns:
        A ``GradientTransformation`` with ``EmptyState``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> tx = set_to_zero()
        >>> u, _ = tx.update({"w": fnp.asarray([3.0, -1.0])}, tx.init(None))
        >>> u["w"].tolist()
        [0.0, 0.0]
    """

    def init_fn(params):
        del params
        return EmptyState()

    def update_fn(updates, state, params=None):
        del params
        return tree_utils.tree_zeros_like(updates), state

    return GradientTransformation(init_fn, update_fn)


class MaskedNode(NamedTuple):
    """Stands in for a masked-out subtree: an empty node, so ``tree_map`` skips it."""


class MaskedState(NamedTuple):
    """State of `masked`: the inner state, built on the params with masked leaves removed."""

    inner_state: Any


def _resolve(mask_or_fn: Any, tree: Any) -> Any:
    return mask_or_fn(tree) if callable(mask_or_fn) else mask_or_fn


def _mask_tree(fn_name: str, tree: Any, mask: Any) -> Any:
    """``tree`` with every subtree whose mask entry is false replaced by a `MaskedNode`."""
    try:
        return tree_util.tree_map(lambda m, t: t if m else MaskedNode(), mask, tree)
    except ValueError as e:
        raise ValueError(
            f"{fn_name}: the mask must have the structure of the params (or be a prefix of it): {e}"
        ) from None


def masked(
    inner: GradientTransformation,
    mask: Any,
    *,
    mask_compatible_extra_args: bool = False,
) -> GradientTransformationExtraArgs:
    """Apply ``inner`` to the leaves where ``mask`` is true; pass the others through.

    ``inner`` only ever sees (and keeps state for) the masked-in leaves: the others are
    replaced by empty `MaskedNode` subtrees. The updates of masked-out leaves come back
    unchanged (use `freeze` to zero them instead).

    Args:
        inner: the transformation to apply to part of the params.
        mask: a pytree of bools with the structure of the params, or a prefix of it
            (one bool for a whole subtree), or a function ``params -> such a pytree``.
            The mask must be static (Python bools), not traced.
        mask_compatible_extra_args: also mask every extra argument whose pytree structure
            is the updates' structure.

    Returns:
        A ``GradientTransformationExtraArgs``.

    Examples:
        Weight decay on matrices only, not on biases:

        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> params = {"w": fnp.ones((2, 2)), "b": fnp.ones(2)}
        >>> decay = transforms.pytorch.sgd(lr=1.0, weight_decay=0.5)
        >>> tx = masked(decay, lambda p: {k: v.ndim > 1 for k, v in p.items()})
        >>> zeros = {"w": fnp.zeros((2, 2)), "b": fnp.zeros(2)}
        >>> u, _ = tx.update(zeros, tx.init(params), params)
        >>> u["w"].tolist(), u["b"].tolist()
        ([[-0.5, -0.5], [-0.5, -0.5]], [0.0, 0.0])
    """
    inner = with_extra_args_support(inner)

    def init_fn(params):
        mask_tree = _resolve(mask, params)
        return MaskedState(inner_state=inner.init(_mask_tree("masked.init", params, mask_tree)))

    def update_fn(updates, state, params=None, **extra_args):
        mask_tree = _resolve(mask, updates)
        masked_updates = _mask_tree("masked.update", updates, mask_tree)
        masked_params = None if params is None else _mask_tree("masked.update", params, mask_tree)
        if mask_compatible_extra_args:
            structure = tree_util.tree_structure(updates)
            extra_args = {
                k: _mask_tree("masked.update", v, mask_tree)
                if tree_util.tree_structure(v) == structure
                else v
                for k, v in extra_args.items()
            }
        new_masked, inner_state = inner.update(
            masked_updates, state.inner_state, masked_params, **extra_args
        )
        new_updates = tree_util.tree_map(
            lambda m, new, old: new if m else old, mask_tree, new_masked, updates
        )
        return new_updates, MaskedState(inner_state=inner_state)

    return GradientTransformationExtraArgs(init_fn, update_fn)


def freeze(mask: Any) -> GradientTransformationExtraArgs:
    """Zero the updates of the leaves where ``mask`` is true (they stay constant).

    Args:
        mask: a bool, or a pytree of bools with the params' structure (or a prefix of
            it): ``True`` freezes the leaf or subtree.

    Returns:
        A ``GradientTransformationExtraArgs``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> tx = freeze({"a": True, "b": False})
        >>> g = {"a": fnp.ones(2), "b": fnp.ones(2)}
        >>> u, _ = tx.update(g, tx.init(g))
        >>> u["a"].tolist(), u["b"].tolist()
        ([0.0, 0.0], [1.0, 1.0])
    """
    return masked(set_to_zero(), mask)


class PartitionState(NamedTuple):
    """State of `partition`: ``{label: masked inner state}``."""

    inner_states: Mapping[Hashable, Any]


MultiTransformState = PartitionState


def partition(
    transforms: Mapping[Hashable, GradientTransformation],
    param_labels: Any,
    *,
    mask_compatible_extra_args: bool = False,
) -> GradientTransformationExtraArgs:
    """Apply a different transformation to each labelled group of parameters.

    Each leaf (or subtree) of ``param_labels`` names the entry of ``transforms`` that
    transforms it; internally each group is ``masked(transforms[label], label == ...)``.
    This is how PyTorch's per-parameter-group options and frozen layers port: see the
    example in this module's docstring.

    Args:
        transforms: ``{label: transformation}``.
        param_labels: a pytree of labels with the params' structure (or a prefix of it),
            or a function ``params -> such a pytree``.
        mask_compatible_extra_args: as in `masked`.

    Returns:
        A ``GradientTransformationExtraArgs`` whose state is a `PartitionState`.

    Raises:
        ValueError: at ``init`` if a label has no transformation.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> params = {"w": fnp.ones(2), "b": fnp.ones(2)}
        >>> tx = partition({"w": transforms.pytorch.sgd(lr=0.5), "b": freeze(True)},
        ...                {"w": "w", "b": "b"})
        >>> u, _ = tx.update(params, tx.init(params), params)
        >>> u["w"].tolist(), u["b"].tolist()
        ([-0.5, -0.5], [0.0, 0.0])
    """
    transforms = {k: with_extra_args_support(v) for k, v in transforms.items()}

    def masked_group(labels, group):
        mask = tree_util.tree_map(lambda label: label == group, labels)
        return masked(
            transforms[group], mask, mask_compatible_extra_args=mask_compatible_extra_args
        )

    def init_fn(params):
        labels = _resolve(param_labels, params)
        missing = set(tree_util.tree_leaves(labels)) - set(transforms)
        if missing:
            raise ValueError(
                f"partition.init: labels {sorted(map(repr, missing))} have no transformation; "
                f"transforms has keys {sorted(map(repr, transforms))}. Add them to transforms "
                "or relabel those parameters"
            )
        return PartitionState(
            {group: masked_group(labels, group).init(params) for group in transforms}
        )

    def update_fn(updates, state, params=None, **extra_args):
        labels = _resolve(param_labels, updates)
        new_states = {}
        for group in transforms:
            updates, new_states[group] = masked_group(labels, group).update(
                updates, state.inner_states[group], params, **extra_args
            )
        return updates, PartitionState(new_states)

    return GradientTransformationExtraArgs(init_fn, update_fn)


multi_transform = partition


def selective_transform(
    optimizer: GradientTransformation, *, freeze_mask: Any
) -> GradientTransformationExtraArgs:
    """Run ``optimizer`` on the leaves where ``freeze_mask`` is false; zero the others.

    Unlike ``chain(optimizer, freeze(mask))``, the optimizer keeps no state for the
    frozen leaves.

    Args:
        optimizer: the transformation for the trainable leaves.
        freeze_mask: a bool or a pytree of bools (``True`` = frozen), static.

    Returns:
        A ``GradientTransformationExtraArgs``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> p = {"a": fnp.ones(1), "b": fnp.ones(1)}
        >>> tx = selective_transform(transforms.pytorch.sgd(lr=1.0),
        ...                          freeze_mask={"a": True, "b": False})
        >>> u, _ = tx.update(p, tx.init(p), p)
        >>> u["a"].tolist(), u["b"].tolist()
        ([0.0], [-1.0])
    """

    def labels(params):
        del params
        return tree_util.tree_map(lambda m: "freeze" if m else "train", freeze_mask)

    return partition({"train": optimizer, "freeze": set_to_zero()}, labels)


def flatten(inner: GradientTransformation) -> GradientTransformationExtraArgs:
    """Run ``inner`` on one vector: all leaves raveled and concatenated.

    Fewer, larger arrays mean fewer operations per step for trees of many small leaves,
    at the cost of a copy. The updates come back in the original structure, each leaf in
    its own dtype; the vector has the leaves' common (promoted) dtype.

    Args:
        inner: the transformation to run on the flat vector.

    Returns:
        A ``GradientTransformationExtraArgs``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = flatten(transforms.pytorch.sgd(lr=0.5))
        >>> g = {"a": fnp.ones((2, 2)), "b": fnp.ones(3)}
        >>> state = tx.init(g)
        >>> u, _ = tx.update(g, state)
        >>> u["a"].shape, u["b"].tolist()
        ((2, 2), [-0.5, -0.5, -0.5])
    """
    inner = with_extra_args_support(inner)

    def ravel(tree):
        leaves = tree_util.tree_leaves(tree)
        if not leaves:
            return fnp.zeros((0,))
        return fnp.concatenate([fnp.ravel(x) for x in leaves])

    def unravel(like, flat):
        leaves, treedef = tree_util.tree_flatten(like)
        out, start = [], 0
        for leaf in leaves:
            leaf = fnp.asarray(leaf)
            piece = flat[start : start + leaf.size]
            out.append(fnp.asarray(fnp.reshape(piece, leaf.shape), dtype=leaf.dtype))
            start += leaf.size
        return tree_util.tree_unflatten(treedef, out)

    def init_fn(params):
        return inner.init(ravel(params))

    def update_fn(updates, state, params=None, **extra_args):
        flat_params = None if params is None else ravel(params)
        flat_updates, state = inner.update(ravel(updates), state, flat_params, **extra_args)
        return unravel(updates, flat_updates), state

    return GradientTransformationExtraArgs(init_fn, update_fn)


def _all_finite(tree: Any) -> Any:
    flags = [fnp.all(fnp.isfinite(x)) for x in tree_util.tree_leaves(tree)]
    out = fnp.asarray(True)
    for flag in flags:
        out = out & flag
    return out


class ApplyIfFiniteState(NamedTuple):
    """State of `apply_if_finite`.

    Attributes:
        notfinite_count: consecutive non-finite updates so far (reset by a finite one).
        last_finite: whether the last updates were all finite.
        total_notfinite: non-finite updates since ``init`` (never reset).
        inner_state: the inner transformation's state.
    """

    notfinite_count: Any
    last_finite: Any
    total_notfinite: Any
    inner_state: Any


def apply_if_finite(
    inner: GradientTransformation, max_consecutive_errors: int
) -> GradientTransformationExtraArgs:
    """Skip updates that hold a NaN or an infinity (zero update, state unchanged).

    After more than ``max_consecutive_errors`` non-finite updates in a row, the wrapper
    gives up and applies them (so a training run that has truly diverged shows it).

    Args:
        inner: the transformation to guard.
        max_consecutive_errors: how many non-finite updates in a row to skip.

    Returns:
        A ``GradientTransformationExtraArgs`` whose state is an `ApplyIfFiniteState`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = apply_if_finite(transforms.pytorch.sgd(lr=1.0), max_consecutive_errors=2)
        >>> state = tx.init(fnp.zeros(2))
        >>> u, state = tx.update(fnp.asarray([1.0, fnp.nan]), state)
        >>> u.tolist(), int(state.notfinite_count), bool(state.last_finite)
        ([0.0, 0.0], 1, False)
    """
    if max_consecutive_errors < 0:
        raise ValueError(
            f"apply_if_finite: max_consecutive_errors must be >= 0, got {max_consecutive_errors}"
        )
    inner = with_extra_args_support(inner)

    def init_fn(params):
        return ApplyIfFiniteState(
            notfinite_count=fnp.zeros((), fnp.int32),
            last_finite=fnp.asarray(True),
            total_notfinite=fnp.zeros((), fnp.int32),
            inner_state=inner.init(params),
        )

    def update_fn(updates, state, params=None, **extra_args):
        finite = _all_finite(updates)
        notfinite_count = fnp.where(
            finite, fnp.zeros((), fnp.int32), tree_utils.safe_increment(state.notfinite_count)
        )

        def apply(updates, inner_state, params):
            new_updates, new_state = inner.update(updates, inner_state, params, **extra_args)
            return new_updates, _cast_like(new_state, inner_state)

        def skip(updates, inner_state, params):
            shapes = funcgrad.eval_shape(
                lambda u, s, p: inner.update(u, s, p, **extra_args)[0], updates, inner_state, params
            )
            zeros = tree_util.tree_map(lambda sd: fnp.zeros(sd.shape, sd.dtype), shapes)
            return zeros, inner_state

        new_updates, inner_state = lax.cond(
            finite | (notfinite_count > max_consecutive_errors),
            apply, skip, updates, state.inner_state, params,
        )  # fmt: skip
        return new_updates, ApplyIfFiniteState(
            notfinite_count=notfinite_count,
            last_finite=finite,
            total_notfinite=fnp.where(
                finite, state.total_notfinite, tree_utils.safe_increment(state.total_notfinite)
            ),
            inner_state=inner_state,
        )

    return GradientTransformationExtraArgs(init_fn, update_fn)


def _cast_like(tree: Any, like: Any) -> Any:
    """``tree`` with each leaf in the dtype of ``like``'s leaf (branches of a cond agree)."""
    return tree_util.tree_map(lambda x, y: fnp.asarray(x, dtype=fnp.asarray(y).dtype), tree, like)
