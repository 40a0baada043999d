"""``funcgrad.tree``: the pytree functions under short names, as ``jax.tree``.

``tree.map`` is ``tree_util.tree_map``, ``tree.leaves`` is ``tree_util.tree_leaves``, and
so on; see :mod:`funcgrad.tree_util` for registration and key paths.

Examples:
    >>> from funcgrad import tree
    >>> tree.map(lambda x: x * 2, {"a": 1, "b": (2, 3)})
    {'a': 2, 'b': (4, 6)}
    >>> tree.leaves([1, (2, None), {"c": 3}])
    [1, 2, 3]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from funcgrad._src.tree_util import (
    tree_all as all,
)
from funcgrad._src.tree_util import (
    tree_flatten as flatten,
)
from funcgrad._src.tree_util import (
    tree_flatten_with_path as flatten_with_path,
)
from funcgrad._src.tree_util import (
    tree_leaves as leaves,
)
from funcgrad._src.tree_util import (
    tree_leaves_with_path as leaves_with_path,
)
from funcgrad._src.tree_util import (
    tree_map as map,
)
from funcgrad._src.tree_util import (
    tree_map_with_path as map_with_path,
)
from funcgrad._src.tree_util import (
    tree_reduce as reduce,
)
from funcgrad._src.tree_util import (
    tree_structure as structure,
)
from funcgrad._src.tree_util import (
    tree_transpose as transpose,
)
from funcgrad._src.tree_util import (
    tree_unflatten as unflatten,
)

__all__ = [
    "all", "broadcast", "flatten", "flatten_with_path", "leaves", "leaves_with_path", "map",
    "map_with_path", "reduce", "reduce_associative", "structure", "transpose", "unflatten",
]  # fmt: skip

_NO_IDENTITY = object()


def broadcast(
    prefix_tree: Any, full_tree: Any, is_leaf: Callable[[Any], bool] | None = None
) -> Any:
    """``prefix_tree`` with each leaf repeated over the matching subtree of ``full_tree``,
    so the result has ``full_tree``'s structure.

    Examples:
        >>> from funcgrad import tree
        >>> tree.broadcast({"a": 1, "b": 2}, {"a": (0, 0), "b": [0]})
        {'a': (1, 1), 'b': [2]}
    """
    return map(lambda p, sub: map(lambda _: p, sub, is_leaf=is_leaf), prefix_tree, full_tree,
               is_leaf=is_leaf)  # fmt: skip


def reduce_associative(operation: Callable[[Any, Any], Any], tree: Any, *,
                       identity: Any = _NO_IDENTITY,
                       is_leaf: Callable[[Any], bool] | None = None) -> Any:  # fmt: skip
    """The leaves of ``tree`` combined by the associative ``operation`` in a balanced
    pairwise order (depth ``log2(n)``, better rounding than a left fold); an empty tree
    gives ``identity``.

    Examples:
        >>> import operator
        >>> from funcgrad import tree
        >>> tree.reduce_associative(operator.add, [1, (2, 3), {"x": 4}])
        10
    """
    values = leaves(tree, is_leaf=is_leaf)
    if not values:
        if identity is _NO_IDENTITY:
            raise TypeError(
                "funcgrad.tree.reduce_associative: the tree has no leaves; pass identity="
            )
        return identity
    while len(values) > 1:
        paired = [operation(values[i], values[i + 1]) for i in range(0, len(values) - 1, 2)]
        if len(values) % 2:
            paired.append(values[-1])
        values = paired
    return values[0]
