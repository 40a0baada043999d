"""Boolean masks over params (a prefix pytree or a callable), for the blocks that take ``mask``."""

from __future__ import annotations

from typing import Any

import funcgrad.numpy as fnp
from funcgrad import tree_util


def resolve_mask(fn_name: str, mask: Any, params: Any) -> Any:
    """The full boolean tree of ``mask`` (a prefix of ``params``, or a callable of them).

    A leaf of ``mask`` that stands for a subtree of ``params`` applies to all its leaves.
    """
    if callable(mask):
        mask = mask(params)
    try:
        return tree_util.tree_map(lambda m, sub: tree_util.tree_map(lambda _: m, sub), mask, params)
    except ValueError as e:
        raise ValueError(
            f"{fn_name}: mask must be a pytree of bools with the structure of the params (or a "
            f"prefix of it), or a callable returning one: {e}"
        ) from None


def select(mask_tree: Any, new: Any, old: Any) -> Any:
    """``new`` where the mask is true, ``old`` elsewhere (leafwise)."""

    def pick(m, a, b):
        if isinstance(m, (bool, fnp.bool_)) or m is None:
            return a if m else b
        return fnp.where(m, a, b)

    return tree_util.tree_map(pick, mask_tree, new, old)
