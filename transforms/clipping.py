"""Clipping of the updates: elementwise, by global norm, by block rms, unit-wise (AGC)."""

from __future__ import annotations

from typing import Any

import funcgrad.numpy as fnp
from funcgrad import tree_util
from transforms import base, numerics, tree_utils
from transforms._checks import check_nonnegative

__all__ = [
    "AdaptiveGradClipState",
    "ClipByGlobalNormState",
    "ClipState",
    "adaptive_grad_clip",
    "clip",
    "clip_by_block_rms",
    "clip_by_global_norm",
    "global_norm",
    "unitwise_clip",
    "unitwise_norm",
]

ClipState = base.EmptyState
ClipByGlobalNormState = base.EmptyState
AdaptiveGradClipState = base.EmptyState


def _init_empty(params):
    del params
    return base.EmptyState()


def global_norm(updates: Any) -> Any:
    """The l2 norm of all the updates' entries together: ``sqrt(sum_leaves sum(|u|^2))``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> float(transforms.global_norm({"a": fnp.asarray([3.0]), "b": fnp.asarray([[4.0]])}))
        5.0
    """
    return tree_utils.tree_l2_norm(updates)


def clip(max_delta: Any) -> base.GradientTransformation:
    """Clip each update entry to ``[-max_delta, max_delta]``. NaN stays NaN.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.clip(1.0)
        >>> tx.update(fnp.asarray([-3.0, 0.5, 2.0]), tx.init(None))[0].tolist()
        [-1.0, 0.5, 1.0]
    """
    check_nonnegative("clip", "max_delta", max_delta)

    def update_fn(updates, state, params=None):
        del params
        return tree_util.tree_map(lambda g: fnp.clip(g, -max_delta, max_delta), updates), state

    return base.GradientTransformation(_init_empty, update_fn)


def clip_by_block_rms(threshold: float) -> base.GradientTransformation:
    r"""Divide each leaf by ``max(1, rms(leaf) / threshold)`` (its rms is then <= threshold).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.clip_by_block_rms(1.0)
        >>> tx.update(fnp.asarray([3.0, 4.0]), tx.init(None))[0].tolist()  # doctest: +ELLIPSIS
        [0.848..., 1.131...]
    """
    check_nonnegative("clip_by_block_rms", "threshold", threshold)

    def clip_leaf(u):
        denom = fnp.maximum(1.0, fnp.sqrt(fnp.mean(numerics.abs_sq(u))) / threshold)
        return u / tree_utils.cast_scalar(denom, u)

    def update_fn(updates, state, params=None):
        del params
        return tree_util.tree_map(clip_leaf, updates), state

    return base.GradientTransformation(_init_empty, update_fn)


def clip_by_global_norm(max_norm: float) -> base.GradientTransformation:
    r"""Rescale all updates together so that their global norm is at most ``max_norm``.

    .. math:: u \leftarrow u \text{ if } \|u\| < c, \text{ else } u \cdot c / \|u\|

    A NaN or infinite norm makes every update NaN (never silently finite).

    References:
        Pascanu et al., On the difficulty of training Recurrent Neural Networks, 2012
        (https://arxiv.org/abs/1211.5063).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.clip_by_global_norm(1.0)
        >>> tx.update(fnp.asarray([3.0, 4.0]), tx.init(None))[0].tolist()
        [0.6, 0.8]
    """
    check_nonnegative("clip_by_global_norm", "max_norm", max_norm)

    def update_fn(updates, state, params=None):
        del params
        g_norm = global_norm(updates)
        trigger = g_norm < max_norm
        # Where the updates are kept, divide by 1 instead (no 0/0 in the discarded branch);
        # a NaN norm is not < max_norm, so NaN still reaches every update.
        safe_norm = fnp.where(trigger, 1.0, g_norm)
        updates = tree_util.tree_map(
            lambda t: fnp.where(trigger, t, (t / tree_utils.cast_scalar(safe_norm, t)) * max_norm),
            updates,
        )
        return updates, state

    return base.GradientTransformation(_init_empty, update_fn)


def unitwise_norm(x: Any) -> Any:
    """The l2 norm of each output unit, broadcast to ``x``'s shape.

    Scalars and vectors: the whole norm; rank 2-3 (``(in, out)`` linear, multi-head):
    over axis 0; rank 4 (``HWIO`` convolution): over axes 0-2.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from transforms import clipping
        >>> clipping.unitwise_norm(fnp.asarray([[3.0, 0.0], [4.0, 1.0]])).tolist()
        [[5.0, 1.0], [5.0, 1.0]]
    """
    x = fnp.asarray(x)
    if fnp.squeeze(x).ndim <= 1:
        sq = fnp.sum(numerics.abs_sq(x), keepdims=True)
    elif x.ndim in (2, 3):
        sq = fnp.sum(numerics.abs_sq(x), axis=0, keepdims=True)
    elif x.ndim == 4:
        sq = fnp.sum(numerics.abs_sq(x), axis=(0, 1, 2), keepdims=True)
    else:
        raise ValueError(
            f"unitwise_norm: expected an array of rank 0-4 (scalar, vector, linear or HWIO "
            f"convolution weights), got shape {x.shape}"
        )
    return fnp.broadcast_to(fnp.sqrt(sq), x.shape)


def unitwise_clip(g_norm: Any, max_norm: Any, grad: Any, div_eps: float = 1e-6) -> Any:
    """``grad`` where ``g_norm < max_norm``, else ``grad * max_norm / max(g_norm, div_eps)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from transforms import clipping
        >>> g = fnp.asarray([3.0, 4.0])
        >>> [round(v, 6) for v in clipping.unitwise_clip(fnp.full(2, 5.0), fnp.full(2, 1.0), g).tolist()]
        [0.6, 0.8]
    """
    clipped = grad * (max_norm / fnp.maximum(g_norm, div_eps))
    return fnp.where(g_norm < max_norm, grad, clipped)


def adaptive_grad_clip(clipping: float, eps: float = 1e-3) -> base.GradientTransformation:
    r"""Adaptive gradient clipping: clip each unit to ``clipping * max(||w unit||, eps)``.

    .. math::
        g_i \leftarrow g_i \text{ if } \|g_i\| < \lambda \max(\|w_i\|, \epsilon),
        \text{ else } \lambda \max(\|w_i\|, \epsilon)\, g_i / \|g_i\|

    per unit :math:`i` (see ``unitwise_norm``).

    References:
        Brock et al., High-Performance Large-Scale Image Recognition Without
        Normalization, 2021 (https://arxiv.org/abs/2102.06171).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.adaptive_grad_clip(0.1)
        >>> p = fnp.asarray([3.0, 4.0])
        >>> [round(v, 6) for v in tx.update(fnp.asarray([6.0, 8.0]), tx.init(p), p)[0].tolist()]
        [0.3, 0.4]
    """
    check_nonnegative("adaptive_grad_clip", "clipping", clipping)

    def clip_leaf(g, p):
        g_norm = unitwise_norm(g)
        max_norm = clipping * fnp.maximum(unitwise_norm(p), eps)
        return fnp.asarray(unitwise_clip(g_norm, max_norm, g), dtype=fnp.asarray(g).dtype)

    def update_fn(updates, state, params=None):
        return tree_utils.tree_map_params(
            "adaptive_grad_clip.update", clip_leaf, updates, params
        ), state

    return base.GradientTransformation(_init_empty, update_fn)
