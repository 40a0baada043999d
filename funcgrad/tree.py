"""``funcgrad.tree``: the pytree functions under short names, as ``jax.tree``.

``tree.map`` is ``tree_util.tree_map``, ``tree.leaves`` is ``tree_util.tree_leaves``, and
so on (the same function objects); see :mod:`funcgrad.tree_util` for registration and
key paths.

Examples:
    >>> from funcgrad import tree
    >>> tree.map(lambda x: x * 2, {"a": 1, "b": (2, 3)})
    {'a': 2, 'b': (4, 6)}
    >>> tree.leaves([1, (2, None), {"c": 3}])
    [1, 2, 3]
"""

from funcgrad._src.tree_util import static
from funcgrad._src.tree_util import tree_all as all
from funcgrad._src.tree_util import tree_broadcast as broadcast
from funcgrad._src.tree_util import tree_flatten as flatten
from funcgrad._src.tree_util import tree_flatten_with_path as flatten_with_path
from funcgrad._src.tree_util import tree_leaves as leaves
from funcgrad._src.tree_util import tree_leaves_with_path as leaves_with_path
from funcgrad._src.tree_util import tree_map as map
from funcgrad._src.tree_util import tree_map_with_path as map_with_path
from funcgrad._src.tree_util import tree_reduce as reduce
from funcgrad._src.tree_util import tree_reduce_associative as reduce_associative
from funcgrad._src.tree_util import tree_structure as structure
from funcgrad._src.tree_util import tree_transpose as transpose
from funcgrad._src.tree_util import tree_unflatten as unflatten

__all__ = [
    "all",
    "broadcast",
    "flatten",
    "flatten_with_path",
    "leaves",
    "leaves_with_path",
    "map",
    "map_with_path",
    "reduce",
    "reduce_associative",
    "static",
    "structure",
    "transpose",
    "unflatten",
]
