"""Transformations that constrain the updates: non-negative params, NaN gradients zeroed."""

from __future__ import annotations

from typing import Any, NamedTuple

import funcgrad.numpy as fnp
from funcgrad import tree_util
from transforms import base, tree_utils

__all__ = ["NonNegativeParamsState", "ZeroNansState", "keep_params_nonnegative", "zero_nans"]

NonNegativeParamsState = base.EmptyState


def keep_params_nonnegative() -> base.GradientTransformation:
    """Modify the updates so that ``params + updates >= 0`` (an entry that would go negative
    is sent to exactly 0). Chain it last; it needs ``params``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.keep_params_nonnegative()
        >>> p = fnp.asarray([1.0, 2.0])
        >>> tx.update(fnp.asarray([-3.0, -1.0]), tx.init(p), p)[0].tolist()
        [-1.0, -1.0]
    """

    def init_fn(params):
        del params
        return NonNegativeParamsState()

    def update_fn(updates, state, params=None):
        return tree_utils.tree_map_params(
            "keep_params_nonnegative.update",
            lambda u, p: fnp.where(p + u < 0.0, -p, u),
            updates,
            params,
        ), state

    return base.GradientTransformation(init_fn, update_fn)


class ZeroNansState(NamedTuple):
    """One bool per leaf: whether the last updates of that leaf held a NaN."""

    found_nan: Any


def zero_nans() -> base.GradientTransformation:
    """Replace NaN update entries by 0, recording per leaf in the state whether one was found.

    This is the transformation made to turn NaN gradients into finite updates; nothing
    else in ``transforms`` does so silently.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> tx = transforms.zero_nans()
        >>> u, s = tx.update({"a": fnp.asarray([1.0, fnp.nan])}, tx.init({"a": fnp.zeros(2)}))
        >>> u["a"].tolist(), bool(s.found_nan["a"])
        ([1.0, 0.0], True)
    """

    def init_fn(params):
        return ZeroNansState(found_nan=tree_util.tree_map(lambda _: fnp.asarray(False), params))

    def update_fn(updates, state, params=None):
        del params
        tree_utils.check_same_structure(
            "zero_nans.update", updates, state.found_nan, "state.found_nan", check_shapes=False
        )
        found = tree_util.tree_map(lambda u: fnp.any(fnp.isnan(u)), updates)
        updates = tree_util.tree_map(
            lambda u: fnp.where(fnp.isnan(u), fnp.zeros_like(u), u), updates
        )
        return updates, ZeroNansState(found_nan=found)

    return base.GradientTransformation(init_fn, update_fn)
