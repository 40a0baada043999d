"""Lookahead: a slow copy of the params pulled towards the fast optimizer's every k steps."""

from __future__ import annotations

from typing import Any, NamedTuple

import funcgrad.numpy as fnp
from funcgrad import tree_util
from transforms.base import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    with_extra_args_support,
)

__all__ = ["LookaheadParams", "LookaheadState", "lookahead"]


class LookaheadState(NamedTuple):
    """State of `lookahead`: the fast optimizer's state and the steps since the last sync."""

    fast_state: Any
    steps_since_sync: Any


class LookaheadParams(NamedTuple):
    """The fast params (compute gradients at these) and the slow ones (evaluate these)."""

    fast: Any
    slow: Any

    @classmethod
    def init_synced(cls, params: Any) -> LookaheadParams:
        """Fast and slow params both equal to ``params``."""
        return cls(fast=params, slow=params)


def lookahead(
    fast_optimizer: GradientTransformation,
    sync_period: int,
    slow_step_size: float,
    reset_state: bool = False,
) -> GradientTransformationExtraArgs:
    r"""Lookahead (Zhang et al., 2019): k fast steps forward, one slow step back.

    The fast params :math:`\phi` follow ``fast_optimizer``; every ``sync_period`` steps
    the slow params move towards them and the fast ones restart from there:

    .. math:: \theta \leftarrow \theta + \alpha(\phi - \theta),\qquad \phi \leftarrow \theta

    Params are `LookaheadParams`; gradients are taken at ``params.fast``, and the
    returned updates are a `LookaheadParams` of updates for both (apply them unchanged).

    Args:
        fast_optimizer: the inner optimizer.
        sync_period: :math:`k >= 1`, fast steps per synchronisation.
        slow_step_size: :math:`\alpha`.
        reset_state: re-initialise the fast optimizer's state at each synchronisation.

    Returns:
        A ``GradientTransformationExtraArgs`` whose state is `LookaheadState`.

    References:
        Zhang, Lucas, Hinton & Ba, "Lookahead Optimizer: k steps forward, 1 step back",
        NeurIPS 2019.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> opt = lookahead(transforms.pytorch.sgd(lr=1.0), sync_period=2, slow_step_size=0.5)
        >>> params = LookaheadParams.init_synced(fnp.zeros(1))
        >>> state = opt.init(params)
        >>> for _ in range(2):
        ...     u, state = opt.update(fnp.ones(1), state, params)
        ...     params = transforms.apply_updates(params, u)
        >>> params.fast.tolist(), params.slow.tolist()   # fast reached -2; pulled to -1
        ([-1.0], [-1.0])
    """
    if not (isinstance(sync_period, int) and sync_period >= 1):
        raise ValueError(f"lookahead: sync_period must be an int >= 1, got {sync_period!r}")
    fast_optimizer = with_extra_args_support(fast_optimizer)

    def init_fn(params):
        fast = params.fast if isinstance(params, LookaheadParams) else params
        return LookaheadState(fast_optimizer.init(fast), fnp.zeros((), fnp.int32))

    def update_fn(updates, state, params=None, **extra_args):
        if not isinstance(params, LookaheadParams):
            raise ValueError(
                "lookahead.update: params must be a LookaheadParams(fast, slow); wrap them "
                "with LookaheadParams.init_synced(params) and take gradients at params.fast"
            )
        updates, fast_state = fast_optimizer.update(
            updates, state.fast_state, params.fast, **extra_args
        )
        sync = state.steps_since_sync == sync_period - 1
        # diff = where the fast params would land minus the slow params.
        diff = tree_util.tree_map(lambda f, u, s: f + u - s, params.fast, updates, params.slow)
        slow_updates = tree_util.tree_map(
            lambda d: fnp.where(sync, slow_step_size * d, fnp.zeros_like(d)), diff
        )
        fast_updates = tree_util.tree_map(
            lambda u, d: fnp.where(sync, u - (1 - slow_step_size) * d, u), updates, diff
        )
        if reset_state:
            fresh = fast_optimizer.init(params.fast)
            fast_state = tree_util.tree_map(
                lambda current, initial: fnp.where(sync, initial, current), fast_state, fresh
            )
        steps = (state.steps_since_sync + fnp.asarray(1, fnp.int32)) % sync_period
        return LookaheadParams(fast_updates, slow_updates), LookaheadState(
            fast_state, fnp.asarray(steps, fnp.int32)
        )

    return GradientTransformationExtraArgs(init_fn, update_fn)
