"""Pytrees: nested containers seen as a flat list of leaves plus a reusable structure.

A *pytree* is a nested Python value built from *nodes* (containers the registry knows how
to take apart) and *leaves* (everything else, e.g. arrays and scalars). Flattening splits a
pytree into its leaves, in a fixed order, and a `PyTreeDef` that records everything else;
unflattening puts them back together. Every transformation (`grad`, `vmap`, `jit`) works on
flat lists of arrays and uses these functions at its boundary.

Nodes by default:

* ``tuple``, ``list``: children in order.
* ``dict``: children in *sorted key order*; the keys are kept in the treedef.
* ``collections.OrderedDict``: children in insertion order.
* ``collections.defaultdict``: sorted key order; ``default_factory`` is kept in the treedef.
* namedtuples (any ``tuple`` subclass with ``_fields``): children in field order.
* ``None``: a node with no children, so ``tree_leaves(None) == []``.

Other types become nodes through `register_pytree_node`, `register_pytree_with_keys`,
`register_pytree_node_class`, `register_pytree_with_keys_class`, `register_dataclass` or
`register_static` (a node without children, kept whole in the treedef); `Partial` is a
registered `functools.partial`. Lookup is by exact type, so a subclass of a registered
type (other than a namedtuple) is a leaf until it is registered.

Examples:
  >>> from funcgrad.tree_util import tree_flatten, tree_unflatten
  >>> leaves, treedef = tree_flatten({'b': (2, 3), 'a': 1})
  >>> leaves
  [1, 2, 3]
  >>> treedef
  PyTreeDef({'a': *, 'b': (*, *)})
  >>> tree_unflatten(treedef, [10, 20, 30])
  {'a': 10, 'b': (20, 30)}
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import itertools
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, Tuple, TypeVar  # noqa: UP035 (typing.Tuple: KeyPath has a docstring)

PyTree = Any
T = TypeVar("T")

KeyEntry = TypeVar("KeyEntry", bound=Hashable)
KeyEntry.__doc__ = """The type of one step of a key path: any hashable value.

Built-in nodes give `SequenceKey`, `DictKey`, `GetAttrKey` or `FlattenedIndexKey`;
a type registered with `register_pytree_with_keys` may use any hashable key.

Examples:
  >>> from funcgrad.tree_util import KeyEntry, SequenceKey
  >>> isinstance(SequenceKey(0), KeyEntry.__bound__)
  True
"""

KeyPath = Tuple[KeyEntry, ...]  # noqa: UP006
KeyPath.__doc__ = """The type of a key path: a tuple of `KeyEntry`, from the root down to a leaf.

Examples:
  >>> from funcgrad.tree_util import keystr, tree_leaves_with_path
  >>> path, leaf = tree_leaves_with_path({'w': [1.0]})[0]
  >>> path
  (DictKey(key='w'), SequenceKey(idx=0))
  >>> keystr(path)
  "['w'][0]"
"""
_TypeT = TypeVar("_TypeT", bound=type)


class _NoInitializer:
    """Default of `tree_reduce`'s initializer: distinguishes "not given" from None."""

    def __repr__(self) -> str:
        return "<no initializer>"


_NO_INITIALIZER = _NoInitializer()

# ---------------------------------------------------------------------------------------
# Key entries: one step of a key path.
# ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SequenceKey:
    """Key of a child of a tuple or list: its position.

    Examples:
      >>> from funcgrad.tree_util import SequenceKey
      >>> str(SequenceKey(0))
      '[0]'
    """

    idx: int

    def __str__(self) -> str:
        return f"[{self.idx!r}]"


@dataclasses.dataclass(frozen=True)
class DictKey:
    """Key of a child of a dict (or OrderedDict, defaultdict): its dict key.

    Examples:
      >>> from funcgrad.tree_util import DictKey
      >>> str(DictKey('w'))
      "['w']"
    """

    key: Hashable

    def __str__(self) -> str:
        return f"[{self.key!r}]"


@dataclasses.dataclass(frozen=True)
class GetAttrKey:
    """Key of a child stored as an attribute: namedtuple fields, registered dataclasses.

    Examples:
      >>> from funcgrad.tree_util import GetAttrKey
      >>> str(GetAttrKey('bias'))
      '.bias'
    """

    name: str

    def __str__(self) -> str:
        return f".{self.name}"


@dataclasses.dataclass(frozen=True)
class FlattenedIndexKey:
    """Key of a child of a custom node registered without key information: its position.

    Examples:
      >>> from funcgrad.tree_util import FlattenedIndexKey
      >>> str(FlattenedIndexKey(1))
      '[<flat index 1>]'
    """

    key: int

    def __str__(self) -> str:
        return f"[<flat index {self.key}>]"


def _simple_key_str(key: Any) -> str:
    if isinstance(key, SequenceKey):
        return str(key.idx)
    if isinstance(key, DictKey):
        return str(key.key)
    if isinstance(key, GetAttrKey):
        return key.name
    if isinstance(key, FlattenedIndexKey):
        return str(key.key)
    return str(key)


def keystr(keys: KeyPath, *, simple: bool = False, separator: str = "") -> str:
    """Renders a key path as a string.

    Args:
      keys: a key path, as produced by `tree_flatten_with_path`.
      simple: if True, render each key bare (``0``, ``w``) instead of in indexing syntax
        (``[0]``, ``['w']``, ``.w``). Shorter, but ``0`` may then mean a list position or
        a dict key.
      separator: string placed between keys.

    Returns:
      The joined string; ``''`` for the empty path (the root).

    Examples:
      >>> from funcgrad.tree_util import DictKey, GetAttrKey, SequenceKey, keystr
      >>> path = (DictKey('params'), SequenceKey(0), GetAttrKey('w'))
      >>> keystr(path)
      "['params'][0].w"
      >>> keystr(path, simple=True, separator='/')
      'params/0/w'
    """
    if simple:
        return separator.join(_simple_key_str(k) for k in keys)
    return separator.join(str(k) for k in keys)


# ---------------------------------------------------------------------------------------
# The registry: node type -> how to take it apart and put it back together.
# ---------------------------------------------------------------------------------------


class _NodeRule:
    """How one node type flattens and unflattens. `kind` selects repr and error wording."""

    __slots__ = ("flatten", "flatten_with_keys", "kind", "node_type", "unflatten")

    def __init__(self, node_type, kind, flatten, unflatten, flatten_with_keys):
        self.node_type = node_type
        self.kind = kind
        # flatten(x) -> (children: Sequence, aux); unflatten(aux, children: list) -> x;
        # flatten_with_keys(x) -> (list of (key, child), aux).
        self.flatten = flatten
        self.unflatten = unflatten
        self.flatten_with_keys = flatten_with_keys


_registry: dict[type, _NodeRule] = {}
_registry_get = _registry.get


def _sorted_keys(d: dict) -> tuple:
    try:
        return tuple(sorted(d))
    except TypeError:
        pass
    # Keys of different types (1 and 'a') do not compare; grouping by type name first
    # still gives every dict with the same keys the same order.
    try:
        return tuple(sorted(d, key=lambda k: (type(k).__qualname__, k)))
    except TypeError:
        raise TypeError(
            f"tree_flatten: cannot order the keys {list(d)!r} of a {type(d).__name__}; "
            "dict children are stored in sorted key order, so the keys of a dict in a "
            "pytree must be comparable (e.g. all strings). Use an OrderedDict to keep "
            "insertion order instead."
        ) from None


def _seq_with_keys(x):
    return [(SequenceKey(i), c) for i, c in enumerate(x)], None


def _tuple_flatten(x):
    return x, None


def _tuple_unflatten(aux, children):
    return tuple(children)


def _list_flatten(x):
    return x, None


def _list_unflatten(aux, children):
    return list(children)


def _dict_flatten(x):
    keys = _sorted_keys(x)
    return [x[k] for k in keys], keys


def _dict_flatten_with_keys(x):
    keys = _sorted_keys(x)
    return [(DictKey(k), x[k]) for k in keys], keys


def _dict_unflatten(keys, children):
    return dict(zip(keys, children))


def _ordereddict_flatten(x):
    keys = tuple(x)
    return [x[k] for k in keys], keys


def _ordereddict_flatten_with_keys(x):
    keys = tuple(x)
    return [(DictKey(k), x[k]) for k in keys], keys


def _ordereddict_unflatten(keys, children):
    return collections.OrderedDict(zip(keys, children))


def _defaultdict_flatten(x):
    keys = _sorted_keys(x)
    return [x[k] for k in keys], (x.default_factory, keys)


def _defaultdict_flatten_with_keys(x):
    keys = _sorted_keys(x)
    return [(DictKey(k), x[k]) for k in keys], (x.default_factory, keys)


def _defaultdict_unflatten(aux, children):
    default_factory, keys = aux
    return collections.defaultdict(default_factory, zip(keys, children))


def _none_flatten(x):
    return (), None


def _none_flatten_with_keys(x):
    return [], None


def _none_unflatten(aux, children):
    return None


def _fields_of(x: tuple) -> tuple:
    # the tuple's own items: a namedtuple may redefine __len__, __iter__ or __getitem__
    # (a batch of rotations counts its rotations, not its fields)
    return tuple.__getitem__(x, slice(None))


def _namedtuple_flatten(x):
    return _fields_of(x), type(x)


def _namedtuple_flatten_with_keys(x):
    return [(GetAttrKey(f), c) for f, c in zip(x._fields, _fields_of(x))], type(x)


def _namedtuple_unflatten(cls, children):
    return cls(*children)


for _rule in (
    _NodeRule(tuple, "tuple", _tuple_flatten, _tuple_unflatten, _seq_with_keys),
    _NodeRule(list, "list", _list_flatten, _list_unflatten, _seq_with_keys),
    _NodeRule(dict, "dict", _dict_flatten, _dict_unflatten, _dict_flatten_with_keys),
    _NodeRule(
        collections.OrderedDict,
        "OrderedDict",
        _ordereddict_flatten,
        _ordereddict_unflatten,
        _ordereddict_flatten_with_keys,
    ),
    _NodeRule(
        collections.defaultdict,
        "defaultdict",
        _defaultdict_flatten,
        _defaultdict_unflatten,
        _defaultdict_flatten_with_keys,
    ),
    _NodeRule(type(None), "None", _none_flatten, _none_unflatten, _none_flatten_with_keys),
):
    _registry[_rule.node_type] = _rule
del _rule

# Namedtuples are not in the registry: each namedtuple class is a new type, so they are
# recognised structurally after the exact-type lookup misses.
_NAMEDTUPLE_RULE = _NodeRule(
    tuple, "namedtuple", _namedtuple_flatten, _namedtuple_unflatten, _namedtuple_flatten_with_keys
)


def _rule_for(x: Any) -> _NodeRule | None:
    """The rule for node `x`, or None if `x` is a leaf."""
    rule = _registry_get(type(x))
    if rule is None and isinstance(x, tuple) and hasattr(x, "_fields"):
        return _NAMEDTUPLE_RULE
    return rule


# ---------------------------------------------------------------------------------------
# PyTreeDef
# ---------------------------------------------------------------------------------------

_new_object = object.__new__

# A treedef's structure is one flat tuple, its *spec*: the nodes in preorder, a leaf as the
# single item None and any other node as the three items ``rule, aux data, number of
# children`` followed by its children. Preorder with child counts determines the tree, so
# two treedefs are equal exactly when their specs are, and a flat tuple of mostly shared
# objects compares and hashes at C speed: jit looks up the treedef of every call's
# arguments, and tree_map compares the structures of its trees.


class PyTreeDef:
    """The structure of a pytree: its nodes and their aux data, with holes for leaves.

    Treedefs are immutable (read-only properties over private slots, as in
    `fractions.Fraction`) and hashable; two are equal when they have the same node types,
    the same aux data (dict keys, namedtuple classes, custom aux data) and the same
    children. Get one from `tree_flatten` or `tree_structure`; they are not constructed
    directly.

    Examples:
      >>> from funcgrad.tree_util import tree_structure
      >>> treedef = tree_structure({'a': 1, 'b': (2, 3)})
      >>> treedef
      PyTreeDef({'a': *, 'b': (*, *)})
      >>> treedef.num_leaves, treedef.num_nodes
      (3, 5)
      >>> treedef == tree_structure({'a': 'x', 'b': ('y', 'z')})
      True
      >>> treedef == tree_structure({'a': 1, 'c': (2, 3)})
      False
    """

    # _builder: the generated unflatten function of this structure once there is one (see
    # _builder_for), False where there will be none.
    __slots__ = ("_builder", "_hash", "_num_leaves", "_spec")

    def __init__(self, *args, **kwargs):
        raise TypeError(
            "PyTreeDef: treedefs are not constructed directly; "
            "get one from tree_structure(tree) or tree_flatten(tree)."
        )

    @property
    def num_leaves(self) -> int:
        """Number of leaves in trees of this structure."""
        return self._num_leaves

    @property
    def num_nodes(self) -> int:
        """Number of nodes, counting leaves and childless nodes such as None."""
        # The spec has one item per leaf and three per other node.
        return self._num_leaves + (len(self._spec) - self._num_leaves) // 3

    # Views of the root node, for the paths that walk treedefs node by node.
    @property
    def _rule(self) -> _NodeRule | None:
        """The root's rule; None exactly for the leaf treedef `*`."""
        return self._spec[0]

    @property
    def _aux(self) -> Any:
        return None if self._spec[0] is None else self._spec[1]

    @property
    def _node_type(self) -> type | None:
        rule = self._spec[0]
        return None if rule is None else _node_type_of(rule, self._spec[1])

    @property
    def _children(self) -> tuple[PyTreeDef, ...]:
        spec = self._spec
        if spec[0] is None:
            return ()
        children = []
        pos = 3
        for _ in range(spec[2]):
            end, num_leaves = _subtree_end(spec, pos)
            children.append(_LEAF if end == pos + 1 else _from_spec(spec[pos:end], num_leaves))
            pos = end
        return tuple(children)

    def children(self) -> list[PyTreeDef]:
        """The treedefs of the root's children; ``[]`` for a leaf.

        Examples:
          >>> from funcgrad.tree_util import tree_structure
          >>> tree_structure((1, [2, 3])).children()
          [PyTreeDef(*), PyTreeDef([*, *])]
        """
        return list(self._children)

    def unflatten(self, leaves: Iterable[Any]) -> PyTree:
        """Builds a tree of this structure from `leaves`; same as `tree_unflatten`.

        Examples:
          >>> from funcgrad.tree_util import tree_structure
          >>> tree_structure([0, (0, 0)]).unflatten('abc')
          ['a', ('b', 'c')]
        """
        return tree_unflatten(self, leaves)

    def flatten_up_to(self, xs: PyTree) -> list[PyTree]:
        """Flattens `xs` only as deep as this treedef goes.

        `xs` must have this structure, except that where this treedef has a leaf, `xs`
        may have any subtree; that subtree is returned whole.

        Args:
          xs: a pytree that has this treedef as a prefix.

        Returns:
          One entry per leaf of this treedef, in leaf order.

        Raises:
          ValueError: if `xs` differs from this structure; the message names the key path.

        Examples:
          >>> from funcgrad.tree_util import tree_structure
          >>> tree_structure((0, 0)).flatten_up_to(([1, 2], {'a': 3}))
          [[1, 2], {'a': 3}]
        """
        return _flatten_up_to_or_raise(
            self, xs, "PyTreeDef.flatten_up_to", "xs does not match this treedef"
        )

    def compose(self, inner: PyTreeDef) -> PyTreeDef:
        """The treedef of this structure with every leaf replaced by `inner`.

        Examples:
          >>> from funcgrad.tree_util import tree_structure
          >>> tree_structure([0, 0]).compose(tree_structure((0, 0)))
          PyTreeDef([(*, *), (*, *)])
        """
        if not isinstance(inner, PyTreeDef):
            raise TypeError(
                f"PyTreeDef.compose: inner must be a PyTreeDef, got {type(inner).__name__}; "
                "use tree_structure(tree) to get one."
            )
        return _compose(self, inner)

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, PyTreeDef):
            return NotImplemented
        return self._spec == other._spec

    def __hash__(self) -> int:
        h = self._hash
        if h is None:
            # Computed on first use: a treedef whose aux data is unhashable stays usable
            # for everything except hashing.
            h = self._hash = hash(self._spec)
        return h

    def __repr__(self) -> str:
        return f"PyTreeDef({_treedef_str(self)})"

    def __reduce__(self):
        return _rebuild_treedef, (self._node_type, self._aux, self._children)

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


def _from_spec(spec: tuple, num_leaves: int) -> PyTreeDef:
    # Bypasses __init__, which refuses public construction.
    td = _new_object(PyTreeDef)
    td._spec = spec
    td._num_leaves = num_leaves
    td._hash = None
    td._builder = None
    return td


def _node_type_of(rule: _NodeRule, aux: Any) -> type:
    # A namedtuple node's aux data is its class; every other rule serves one type.
    return aux if rule is _NAMEDTUPLE_RULE else rule.node_type


def _subtree_end(spec: tuple, pos: int) -> tuple[int, int]:
    """Where the subtree starting at ``spec[pos]`` ends, and how many leaves it has."""
    pending = 1  # subtrees still to skip
    leaves = 0
    while pending:
        if spec[pos] is None:
            pos += 1
            leaves += 1
            pending -= 1
        else:
            pending += spec[pos + 2] - 1
            pos += 3
    return pos, leaves


def _node_treedef(rule: _NodeRule, aux: Any, children: Sequence[PyTreeDef]) -> PyTreeDef:
    """The treedef of a node with the given child treedefs (for the non-hot paths)."""
    spec = (rule, aux, len(children), *itertools.chain.from_iterable(c._spec for c in children))
    return _from_spec(spec, sum(c._num_leaves for c in children))


# Every leaf position shares this one treedef.
_LEAF = _from_spec((None,), 1)


def _rebuild_treedef(node_type, aux, children) -> PyTreeDef:
    if node_type is None:
        return _LEAF
    rule = _registry_get(node_type)
    if rule is None:
        if issubclass(node_type, tuple) and hasattr(node_type, "_fields"):
            rule = _NAMEDTUPLE_RULE
        else:
            raise ValueError(
                f"PyTreeDef: cannot unpickle a treedef with node type {node_type!r}: it is "
                "not registered as a pytree node in this process; register it before loading."
            )
    return _node_treedef(rule, aux, children)


def _compose(td: PyTreeDef, inner: PyTreeDef) -> PyTreeDef:
    spec, inner_spec = td._spec, inner._spec
    out: list = []
    pos = 0
    while pos < len(spec):
        if spec[pos] is None:
            out.extend(inner_spec)
            pos += 1
        else:
            out.extend(spec[pos : pos + 3])
            pos += 3
    return _from_spec(tuple(out), td._num_leaves * inner._num_leaves)


def _type_name(t: type) -> str:
    return getattr(t, "__qualname__", None) or repr(t)


def _treedef_str(td: PyTreeDef) -> str:
    rule = td._rule
    if rule is None:
        return "*"
    kind = rule.kind
    parts = [_treedef_str(c) for c in td._children]
    if kind == "None":
        return "None"
    if kind == "tuple":
        return f"({parts[0]},)" if len(parts) == 1 else f"({', '.join(parts)})"
    if kind == "list":
        return f"[{', '.join(parts)}]"
    if kind in ("dict", "OrderedDict", "defaultdict"):
        keys = td._aux[1] if kind == "defaultdict" else td._aux
        body = "{" + ", ".join(f"{k!r}: {p}" for k, p in zip(keys, parts)) + "}"
        if kind == "dict":
            return body
        if kind == "OrderedDict":
            return f"OrderedDict({body})"
        factory = td._aux[0]
        factory_name = "None" if factory is None else getattr(factory, "__name__", repr(factory))
        return f"defaultdict({factory_name}, {body})"
    if kind == "namedtuple":
        fields = td._node_type._fields
        inner = ", ".join(f"{f}={p}" for f, p in zip(fields, parts))
        return f"{td._node_type.__name__}({inner})"
    return f"CustomNode({_type_name(td._node_type)}[{td._aux!r}], [{', '.join(parts)}])"


# ---------------------------------------------------------------------------------------
# Flatten / unflatten
# ---------------------------------------------------------------------------------------

_TUPLE_RULE = _registry[tuple]
_LIST_RULE = _registry[list]
_DICT_RULE = _registry[dict]
_NONE_RULE = _registry[type(None)]


def _flatten_into(tree: Any, leaves: list, spec: list) -> None:
    """Appends the leaves of `tree` to `leaves` and its spec items to `spec`.

    The hot path of every transformation, so the built-in containers are dispatched on
    their exact type before the registry is asked, and a child that is a leaf is handled
    here rather than by a recursive call.
    """
    node_type = type(tree)
    if node_type is tuple:
        rule, children, aux = _TUPLE_RULE, tree, None
    elif node_type is list:
        rule, children, aux = _LIST_RULE, tree, None
    elif node_type is dict:
        aux = _sorted_keys(tree)
        rule, children = _DICT_RULE, list(map(tree.__getitem__, aux))
    elif tree is None:
        spec += (_NONE_RULE, None, 0)
        return
    else:
        rule = _registry_get(node_type)
        if rule is not None:
            children, aux = rule.flatten(tree)
        elif isinstance(tree, tuple) and hasattr(tree, "_fields"):
            rule, children, aux = _NAMEDTUPLE_RULE, _fields_of(tree), node_type
        else:
            leaves.append(tree)
            spec.append(None)
            return
    n = len(children)
    spec += (rule, aux, n)
    if n > 6:
        # A long node whose children are all leaves (a list of arrays, a dict of
        # parameters): the type test runs once per distinct child type, at C speed.
        child_types = set(map(type, children))
        if child_types.isdisjoint(_registry) and not any(issubclass(t, tuple) for t in child_types):
            leaves.extend(children)
            spec.extend(itertools.repeat(None, n))
            return
    for child in children:
        if type(child) in _registry or isinstance(child, tuple):
            _flatten_into(child, leaves, spec)
        else:
            leaves.append(child)
            spec.append(None)


def _flatten_into_is_leaf(tree: Any, is_leaf: Callable, leaves: list, spec: list) -> None:
    """`_flatten_into` that first asks ``is_leaf`` of every subtree, the root included."""
    if is_leaf(tree):
        leaves.append(tree)
        spec.append(None)
        return
    rule = _rule_for(tree)
    if rule is None:
        leaves.append(tree)
        spec.append(None)
        return
    children, aux = rule.flatten(tree)
    spec += (rule, aux, len(children))
    for child in children:
        _flatten_into_is_leaf(child, is_leaf, leaves, spec)


def _flatten(tree, is_leaf, leaves: list) -> PyTreeDef:
    """Appends the leaves of `tree` to `leaves` and returns its treedef."""
    start = len(leaves)
    spec: list = []
    if is_leaf is None:
        _flatten_into(tree, leaves, spec)
    else:
        _flatten_into_is_leaf(tree, is_leaf, leaves, spec)
    if len(spec) == 1:
        return _LEAF
    return _from_spec(tuple(spec), len(leaves) - start)


def tree_flatten(
    tree: PyTree, is_leaf: Callable[[Any], bool] | None = None
) -> tuple[list[Any], PyTreeDef]:
    """Splits a pytree into its leaves and its structure.

    Args:
      tree: the pytree to flatten.
      is_leaf: optional predicate called on every subtree, the root included, before it is
        taken apart; where it returns True the subtree is kept whole as one leaf.

    Returns:
      ``(leaves, treedef)``: the leaves in order (tuples and lists by position, dicts by
      sorted key, namedtuples by field) and the `PyTreeDef` that `tree_unflatten` needs
      to rebuild the tree.

    Examples:
      >>> from funcgrad.tree_util import tree_flatten
      >>> tree_flatten([1, {'y': 3, 'x': 2}, None])
      ([1, 2, 3], PyTreeDef([*, {'x': *, 'y': *}, None]))
      >>> tree_flatten([1, (2, 3)], is_leaf=lambda x: isinstance(x, tuple))
      ([1, (2, 3)], PyTreeDef([*, *]))
    """
    leaves: list[Any] = []
    treedef = _flatten(tree, is_leaf, leaves)
    return leaves, treedef


# A structure unflattened this many times gets a generated builder (see _builder_for); a
# structure used once is not worth the compilation (tens of microseconds per node).
_BUILD_AFTER = 3
# Limits of the generated code: Python's parser refuses deeper nesting than about 200, and
# compiling a huge expression costs more than it saves.
_BUILD_MAX_DEPTH = 64
_BUILD_MAX_NODES = 5000
_MAX_BUILDERS = 1024
_builders: dict = {}  # treedef -> times unflattened, then its builder (or False: none)


def _unflatten_walk(spec: tuple, leaves: list) -> Any:
    """Builds the tree of structure `spec` from `leaves` by walking the spec."""
    next_leaf = iter(leaves).__next__
    pos = 0

    def build():
        nonlocal pos
        rule = spec[pos]
        if rule is None:
            pos += 1
            return next_leaf()
        aux, n = spec[pos + 1], spec[pos + 2]
        pos += 3
        return rule.unflatten(aux, [build() for _ in range(n)])

    return build()


def _builder_for(td: PyTreeDef) -> Callable | None:
    """The generated ``build(leaves, spec)`` of `td`'s structure, once it has been
    unflattened `_BUILD_AFTER` times (counted across equal treedefs); None until then."""
    try:
        seen = _builders.get(td, 0)
    except TypeError:  # aux data that cannot be hashed: no cache, the walk does it
        td._builder = False
        return None
    if type(seen) is int:
        if seen + 1 < _BUILD_AFTER:
            if len(_builders) >= _MAX_BUILDERS:
                _builders.clear()  # a bound on memory; hot structures come back quickly
            _builders[td] = seen + 1
            return None
        seen = _builders[td] = _generate_builder(td)
    td._builder = seen
    return seen or None


class _TooDeep(Exception):
    pass


def _generate_builder(td: PyTreeDef) -> Callable | bool:
    """Straight-line Python that builds a tree of `td`'s structure: one expression of
    literals and constructor calls, with no per-node dispatch. It reads the aux data from
    the spec it is given, so it serves every treedef equal to `td`. False where the
    structure is too large or too deep for it."""
    spec = td._spec
    if td.num_nodes > _BUILD_MAX_NODES:
        return False
    hoisted: list[str] = []
    num_leaves = 0
    pos = 0

    def expr(depth: int) -> str:
        nonlocal pos, num_leaves
        if depth > _BUILD_MAX_DEPTH:
            raise _TooDeep
        p = pos
        rule = spec[p]
        if rule is None:
            pos += 1
            num_leaves += 1
            return f"x{num_leaves - 1}"
        n = spec[p + 2]
        pos += 3
        items = [expr(depth + 1) for _ in range(n)]
        parts = ", ".join(items)
        if rule is _TUPLE_RULE:
            return f"({parts},)" if n == 1 else f"({parts})"
        if rule is _LIST_RULE:
            return f"[{parts}]"
        if rule is _NONE_RULE:
            return "None"
        hoisted.append(f"    a{p} = spec[{p + 1}]\n")
        if rule is _NAMEDTUPLE_RULE:  # aux is the class
            return f"a{p}({parts})"
        if rule is _DICT_RULE:  # aux is the sorted keys
            return "{" + ", ".join(f"a{p}[{i}]: {v}" for i, v in enumerate(items)) + "}"
        hoisted.append(f"    r{p} = spec[{p}]\n")
        return f"r{p}.unflatten(a{p}, [{parts}])"

    try:
        body = expr(0)
    except _TooDeep:
        return False
    names = "".join(f"x{i}, " for i in range(num_leaves))
    source = (
        "def build(leaves, spec):\n"
        + (f"    {names}= leaves\n" if num_leaves else "")
        + "".join(hoisted)
        + f"    return {body}\n"
    )
    scope: dict = {}
    try:
        exec(compile(source, "<funcgrad.tree_util unflatten>", "exec"), scope)  # noqa: S102
    except (SyntaxError, RecursionError, MemoryError):
        return False
    return scope["build"]


def tree_unflatten(treedef: PyTreeDef, leaves: Iterable[Any]) -> PyTree:
    """Rebuilds a pytree from its structure and its leaves; inverse of `tree_flatten`.

    Args:
      treedef: the structure, from `tree_flatten` or `tree_structure`.
      leaves: exactly ``treedef.num_leaves`` leaves, in `tree_leaves` order.

    Returns:
      The pytree with `treedef`'s structure and the given leaves.

    Raises:
      ValueError: if the number of leaves is not ``treedef.num_leaves``.

    Examples:
      >>> from funcgrad.tree_util import tree_structure, tree_unflatten
      >>> treedef = tree_structure({'w': 0, 'b': 0})
      >>> tree_unflatten(treedef, [1.0, 2.0])
      {'b': 1.0, 'w': 2.0}
    """
    if not isinstance(treedef, PyTreeDef):
        raise TypeError(
            f"tree_unflatten: treedef must be a PyTreeDef, got {type(treedef).__name__}; "
            "the arguments are (treedef, leaves), in that order."
        )
    if not isinstance(leaves, list):
        if not hasattr(leaves, "__iter__"):
            raise TypeError(
                f"tree_unflatten: leaves must be an iterable of {treedef._num_leaves} leaves "
                f"(a list, as tree_leaves returns), got {type(leaves).__name__} {leaves!r:.40}"
            )
        leaves = list(leaves)
    if len(leaves) != treedef._num_leaves:
        raise ValueError(
            f"tree_unflatten: the treedef {treedef} has {treedef._num_leaves} leaves, but "
            f"{len(leaves)} leaves were given; pass exactly treedef.num_leaves leaves, in "
            "the order tree_leaves returns them."
        )
    spec = treedef._spec
    if spec[0] is None:
        return leaves[0]
    if len(spec) == 3 + spec[2]:
        # Every child is a single spec item, that is, a leaf: hand the leaves straight to
        # the root's rule, no walk needed.
        return spec[0].unflatten(spec[1], list(leaves))
    build = treedef._builder
    if build is None:
        build = _builder_for(treedef)
    if build:
        return build(leaves, spec)
    return _unflatten_walk(spec, leaves)


def _match_source(
    td: PyTreeDef, root: str, scope: dict, prefix: str
) -> tuple[list[str], list[str]]:
    """Python statements that test that the value named `root` has `td`'s node structure.

    For code generators that recognise a structure seen before (jit's check of its
    arguments) without flattening: the statements execute ``return None`` at the first
    node that differs (or when a pytree type was registered since), and bind the values
    at `td`'s leaf positions to names. They do not test that those values are leaves: the
    caller tests each, by exact type, and its test must reject pytree nodes. A dict with
    other keys of the same number raises KeyError, which the caller turns into None too.

    Args:
      td: the structure.
      root: the name of the value to test.
      scope: the generated code's globals; the constants the statements use are added.
      prefix: start of every name the statements bind, unique within the caller's code.

    Returns:
      ``(statements, leaf_names)``: the statements, unindented, one per string, and the
      names of the leaf values in leaf order.
    """
    spec = td._spec
    scope[f"{prefix}registry"] = _registry
    lines = [f"if len({prefix}registry) != {len(_registry)}: return None"]
    leaf_names: list[str] = []
    pos = 0
    count = 0

    def fresh() -> str:
        nonlocal count
        count += 1
        return f"{prefix}{count}"

    def visit(var: str) -> None:
        nonlocal pos
        rule, p = spec[pos], pos
        if rule is None:
            leaf_names.append(var)
            pos += 1
            return
        aux, n = spec[p + 1], spec[p + 2]
        pos += 3
        names = [fresh() for _ in range(n)]
        unpack = f"{', '.join(names)}, = {var}" if n else None
        if rule is _NONE_RULE:
            lines.append(f"if {var} is not None: return None")
        elif rule in (_TUPLE_RULE, _LIST_RULE, _DICT_RULE) or rule is _NAMEDTUPLE_RULE:
            node_type = scope[f"{prefix}t{p}"] = _node_type_of(rule, aux)
            lines.append(f"if type({var}) is not {prefix}t{p} or len({var}) != {n}: return None")
            if node_type is dict:
                for i, (name, key) in enumerate(zip(names, aux)):
                    scope[f"{prefix}k{p}_{i}"] = key
                    lines.append(f"{name} = {var}[{prefix}k{p}_{i}]")
                unpack = None
        else:  # OrderedDict, defaultdict, registered types: their flatten and aux data
            scope[f"{prefix}t{p}"] = _node_type_of(rule, aux)
            scope[f"{prefix}r{p}"], scope[f"{prefix}a{p}"] = rule, aux
            children, node_aux = fresh(), fresh()
            lines.append(f"if type({var}) is not {prefix}t{p}: return None")
            lines.append(f"{children}, {node_aux} = {prefix}r{p}.flatten({var})")
            lines.append(f"if len({children}) != {n} or {node_aux} != {prefix}a{p}: return None")
            unpack = f"{', '.join(names)}, = {children}" if n else None
        if unpack:
            lines.append(unpack)
        for name in names:
            visit(name)

    visit(root)
    return lines, leaf_names


def tree_leaves(tree: PyTree, is_leaf: Callable[[Any], bool] | None = None) -> list[Any]:
    """The leaves of a pytree, in flattening order.

    Args:
      tree: the pytree.
      is_leaf: optional predicate marking subtrees to keep whole, as in `tree_flatten`.

    Returns:
      The list of leaves.

    Examples:
      >>> from funcgrad.tree_util import tree_leaves
      >>> tree_leaves({'b': [2, 3], 'a': 1, 'c': None})
      [1, 2, 3]
    """
    leaves: list[Any] = []
    _flatten(tree, is_leaf, leaves)
    return leaves


def tree_structure(tree: PyTree, is_leaf: Callable[[Any], bool] | None = None) -> PyTreeDef:
    """The `PyTreeDef` of a pytree.

    Args:
      tree: the pytree.
      is_leaf: optional predicate marking subtrees to keep whole, as in `tree_flatten`.

    Returns:
      The treedef.

    Examples:
      >>> from funcgrad.tree_util import tree_structure
      >>> tree_structure((1, {'a': 2}, [3]))
      PyTreeDef((*, {'a': *}, [*]))
    """
    return _flatten(tree, is_leaf, [])


def treedef_is_leaf(treedef: PyTreeDef) -> bool:
    """Whether `treedef` is the structure of a single leaf.

    ``None`` is a node with no children, not a leaf, so its treedef gives False.

    Examples:
      >>> from funcgrad.tree_util import tree_structure, treedef_is_leaf
      >>> treedef_is_leaf(tree_structure(1.0))
      True
      >>> treedef_is_leaf(tree_structure([1.0]))
      False
      >>> treedef_is_leaf(tree_structure(None))
      False
    """
    return treedef._rule is None


def treedef_children(treedef: PyTreeDef) -> list[PyTreeDef]:
    """The treedefs of the root's children; same as ``treedef.children()``.

    Examples:
      >>> from funcgrad.tree_util import tree_structure, treedef_children
      >>> treedef_children(tree_structure([(1, 2), 3, {'a': 4}]))
      [PyTreeDef((*, *)), PyTreeDef(*), PyTreeDef({'a': *})]
      >>> treedef_children(tree_structure(1.0))
      []
    """
    if not isinstance(treedef, PyTreeDef):
        raise TypeError(
            f"treedef_children: treedef must be a PyTreeDef, got {type(treedef).__name__}; "
            "use tree_structure(tree) to get one."
        )
    return treedef.children()


def treedef_tuple(treedefs: Iterable[PyTreeDef]) -> PyTreeDef:
    """The treedef of a tuple whose children have the structures `treedefs`.

    Examples:
      >>> from funcgrad.tree_util import tree_structure, treedef_tuple
      >>> pair = treedef_tuple([tree_structure([1, 2]), tree_structure({'a': 3})])
      >>> pair
      PyTreeDef(([*, *], {'a': *}))
      >>> pair == tree_structure(([0, 0], {'a': 0}))
      True
    """
    children = list(treedefs)
    for i, td in enumerate(children):
        if not isinstance(td, PyTreeDef):
            raise TypeError(
                f"treedef_tuple: treedefs[{i}] must be a PyTreeDef, got {type(td).__name__}; "
                "use tree_structure(tree) to get one."
            )
    return _node_treedef(_TUPLE_RULE, None, children)


def all_leaves(iterable: Iterable[Any], is_leaf: Callable[[Any], bool] | None = None) -> bool:
    """Whether every element of `iterable` is a leaf.

    Args:
      iterable: the values to test.
      is_leaf: optional predicate; values for which it returns True count as leaves.

    Returns:
      True if no element is a pytree node.

    Examples:
      >>> from funcgrad.tree_util import all_leaves
      >>> all_leaves([1.0, 'a', object()])
      True
      >>> all_leaves([1.0, (2.0,)])
      False
      >>> all_leaves([None])
      False
    """
    for x in iterable:
        if is_leaf is not None and is_leaf(x):
            continue
        if _rule_for(x) is not None:
            return False
    return True


def flatten_one_level(tree: PyTree) -> tuple[list[Any], Hashable]:
    """Takes one node apart, one level deep: its children (whole) and its aux data.

    Args:
      tree: a pytree node: a built-in container, None, a namedtuple or a registered type.

    Returns:
      ``(children, aux_data)``: a new list of the children in flattening order (dict
      values by sorted key) and what the treedef keeps (dict keys, the namedtuple class,
      a registered type's aux data; None for tuples, lists and None).

    Raises:
      ValueError: if `tree` is a leaf.

    Examples:
      >>> from funcgrad.tree_util import flatten_one_level
      >>> flatten_one_level({'b': {'c': 3}, 'a': [1, 2]})
      ([[1, 2], {'c': 3}], ('a', 'b'))
      >>> flatten_one_level(None)
      ([], None)
    """
    rule = _rule_for(tree)
    if rule is None:
        raise ValueError(
            f"flatten_one_level: {_describe_leaf(tree)} is not a pytree node; check "
            "is_tree_node(type(tree)) first, or register the type as a pytree node."
        )
    children, aux = rule.flatten(tree)
    return list(children), aux


def flatten_one_level_with_keys(tree: PyTree) -> tuple[list[tuple[KeyEntry, Any]], Hashable]:
    """`flatten_one_level` with each child paired with its key.

    Returns:
      ``([(key, child), ...], aux_data)``, the keys as in `tree_flatten_with_path`.

    Raises:
      ValueError: if `tree` is a leaf.

    Examples:
      >>> from collections import namedtuple
      >>> from funcgrad.tree_util import flatten_one_level_with_keys
      >>> Point = namedtuple('Point', ['x', 'y'])
      >>> keyed, aux = flatten_one_level_with_keys(Point(1, (2, 3)))
      >>> keyed
      [(GetAttrKey(name='x'), 1), (GetAttrKey(name='y'), (2, 3))]
      >>> aux is Point
      True
    """
    rule = _rule_for(tree)
    if rule is None:
        raise ValueError(
            f"flatten_one_level_with_keys: {_describe_leaf(tree)} is not a pytree node; "
            "check is_tree_node(type(tree)) first, or register the type as a pytree node."
        )
    keyed_children, aux = rule.flatten_with_keys(tree)
    return list(keyed_children), aux


def is_tree_node(typ: type) -> bool:
    """Whether instances of `typ` are pytree nodes rather than leaves.

    True for the built-in node types (tuple, list, dict, OrderedDict, defaultdict,
    ``type(None)``), namedtuple classes, and registered types; a subclass of a
    registered type (other than a namedtuple) is a leaf, as in `tree_flatten`.

    Raises:
      TypeError: if `typ` is not a type (pass ``type(x)`` to ask about a value).

    Examples:
      >>> from collections import namedtuple
      >>> from funcgrad.tree_util import is_tree_node
      >>> is_tree_node(dict), is_tree_node(type(None)), is_tree_node(float)
      (True, True, False)
      >>> is_tree_node(namedtuple('Point', ['x', 'y']))
      True
    """
    if not isinstance(typ, type):
        raise TypeError(
            f"is_tree_node: typ must be a type, got {type(typ).__name__} {typ!r:.40}; pass "
            "type(x) to ask whether the value x is a node."
        )
    return typ in _registry or (issubclass(typ, tuple) and hasattr(typ, "_fields"))


# ---------------------------------------------------------------------------------------
# Flattening one tree up to another's structure, with key-path errors.
# ---------------------------------------------------------------------------------------


class _StructureMismatch(Exception):
    """A difference found by `_flatten_up_to`; callers turn it into a ValueError.

    `child_indices` collects, while the exception unwinds, the child positions leading to
    the mismatch (innermost first); the key path is only worked out when an error is
    reported, so matching trees pay nothing for it.
    """

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail
        self.child_indices: list[int] = []


def _children_phrase(n: int) -> str:
    return "1 child" if n == 1 else f"{n} children"


def _describe_node(rule: _NodeRule, node_type: type, aux: Any, num_children: int) -> str:
    kind = rule.kind
    if kind == "None":
        return "None"
    if kind in ("tuple", "list"):
        return f"a {kind} with {_children_phrase(num_children)}"
    if kind in ("dict", "OrderedDict", "defaultdict"):
        keys = aux[1] if kind == "defaultdict" else aux
        article = "an" if kind == "OrderedDict" else "a"
        return f"{article} {kind} with keys {list(keys)!r}"
    children = _children_phrase(num_children)
    if kind == "namedtuple":
        return f"a namedtuple {node_type.__name__} with {children}"
    return f"a {_type_name(node_type)} node with {children}"


def _describe_leaf(x: Any) -> str:
    return f"a leaf of type {_type_name(type(x))}"


def _flatten_up_to(spec: tuple, pos: int, tree: Any, out: list) -> int:
    """Appends to `out` the subtrees of `tree` at the leaves of the structure that starts
    at ``spec[pos]``; returns where that structure ends in `spec`."""
    rule = spec[pos]
    if rule is None:
        out.append(tree)
        return pos + 1
    aux, n = spec[pos + 1], spec[pos + 2]
    node_type = _node_type_of(rule, aux)
    tree_rule = _rule_for(tree)
    if tree_rule is None:
        raise _StructureMismatch(
            f"expected {_describe_node(rule, node_type, aux, n)}, got {_describe_leaf(tree)}"
        )
    children, tree_aux = tree_rule.flatten(tree)
    if type(tree) is not node_type or len(children) != n:
        raise _StructureMismatch(
            f"expected {_describe_node(rule, node_type, aux, n)}"
            f", got {_describe_node(tree_rule, type(tree), tree_aux, len(children))}"
        )
    if tree_aux != aux:
        if rule.kind in ("dict", "OrderedDict", "defaultdict"):
            detail = (
                f"expected {_describe_node(rule, node_type, aux, n)}"
                f", got {_describe_node(tree_rule, type(tree), tree_aux, len(children))}"
            )
        else:
            detail = (
                f"expected a {_type_name(node_type)} node with aux data {aux!r}, "
                f"got one with aux data {tree_aux!r}"
            )
        raise _StructureMismatch(detail)
    pos += 3
    for i, child in enumerate(children):
        try:
            pos = _flatten_up_to(spec, pos, child, out)
        except _StructureMismatch as e:
            e.child_indices.append(i)
            raise
    return pos


def _key_path_along(tree: Any, child_indices: Sequence[int]) -> KeyPath:
    """The key path reached by following child positions down from `tree`."""
    path = []
    node = tree
    for i in child_indices:
        keyed_children, _ = _rule_for(node).flatten_with_keys(node)
        key, node = keyed_children[i]
        path.append(key)
    return tuple(path)


def _flatten_up_to_or_raise(
    td: PyTreeDef, tree: Any, fn_name: str, what: str, hint: str = ""
) -> list:
    # Most often `tree` has exactly the structure `td` (tree_map over params and their
    # gradients): then its leaves are the answer, and the flat walk finds them faster.
    leaves: list = []
    try:
        same = _flatten(tree, None, leaves) == td
    except Exception:  # noqa: BLE001 (e.g. unsortable keys below a leaf of td: walk instead)
        same = False
    if same:
        return leaves
    out: list = []
    try:
        _flatten_up_to(td._spec, 0, tree, out)
    except _StructureMismatch as e:
        path = _key_path_along(tree, e.child_indices[::-1])
        where = f"key path {keystr(path)}" if path else "the root"
        raise ValueError(f"{fn_name}: {what} at {where}: {e.detail}.{hint}") from None
    return out


# ---------------------------------------------------------------------------------------
# Mapping and reducing
# ---------------------------------------------------------------------------------------

_MAP_HINT = (
    " Every tree in rest must have the structure of the first tree (where the first "
    "tree has a leaf, the others may have any subtree); compare tree_structure() of "
    "each argument."
)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _leaves_of_rest(treedef: PyTreeDef, rest: tuple, fn_name: str) -> list[list]:
    return [
        _flatten_up_to_or_raise(
            treedef,
            other,
            fn_name,
            f"rest[{i}] (the {_ordinal(i + 2)} tree) differs from the first tree",
            _MAP_HINT,
        )
        for i, other in enumerate(rest)
    ]


def tree_map(
    f: Callable[..., Any],
    tree: PyTree,
    *rest: PyTree,
    is_leaf: Callable[[Any], bool] | None = None,
) -> PyTree:
    """Applies `f` to the leaves of one or more pytrees, keeping the structure.

    Args:
      f: function called as ``f(x, *xs)``, where ``x`` is a leaf of `tree` and ``xs``
        are the values at the same position in each tree of `rest`.
      tree: the pytree that fixes the structure of the result.
      *rest: more pytrees, each with the structure of `tree`, or with `tree` as a prefix
        (a leaf of `tree` may correspond to a whole subtree, which is passed to `f`).
      is_leaf: optional predicate marking subtrees of `tree` to treat as leaves.

    Returns:
      A pytree with the structure of `tree` and leaves ``f(x, *xs)``.

    Raises:
      ValueError: if a tree in `rest` has a different structure; the message names the
        key path of the first difference and what differs there.

    Examples:
      >>> from funcgrad.tree_util import tree_map
      >>> tree_map(lambda x: x * 2, {'a': 1, 'b': (2, None)})
      {'a': 2, 'b': (4, None)}
      >>> tree_map(lambda x, y: x + y, [1, 2], [10, 20])
      [11, 22]
      >>> tree_map(lambda x, y: (x, y), [1, 2], [(3, 4), {'k': 5}])
      [(1, (3, 4)), (2, {'k': 5})]
    """
    leaves, treedef = tree_flatten(tree, is_leaf)
    if not rest:
        return treedef.unflatten([f(x) for x in leaves])
    columns = _leaves_of_rest(treedef, rest, "tree_map")
    return treedef.unflatten([f(*xs) for xs in zip(leaves, *columns)])


def tree_reduce(
    function: Callable[[T, Any], T],
    tree: PyTree,
    initializer: Any = _NO_INITIALIZER,
    is_leaf: Callable[[Any], bool] | None = None,
) -> T:
    """Folds `function` over the leaves of a pytree, like `functools.reduce`.

    Args:
      function: binary function ``function(accumulated, leaf)``.
      tree: the pytree.
      initializer: optional start value; without it the first leaf is the start.
      is_leaf: optional predicate marking subtrees to treat as leaves.

    Returns:
      The reduced value.

    Raises:
      TypeError: if the tree has no leaves and no initializer is given.

    Examples:
      >>> import operator
      >>> from funcgrad.tree_util import tree_reduce
      >>> tree_reduce(operator.add, {'a': 1, 'b': [2, 3]})
      6
      >>> tree_reduce(operator.add, [], initializer=0)
      0
    """
    leaves = tree_leaves(tree, is_leaf)
    if initializer is _NO_INITIALIZER:
        if not leaves:
            raise TypeError(
                "tree_reduce: the tree has no leaves and no initializer was given; "
                "pass initializer= to define the result for an empty tree."
            )
        return functools.reduce(function, leaves)
    return functools.reduce(function, leaves, initializer)


def tree_all(tree: PyTree, *, is_leaf: Callable[[Any], bool] | None = None) -> bool:
    """Whether every leaf of a pytree is truthy (True for a tree with no leaves).

    Examples:
      >>> from funcgrad.tree_util import tree_all
      >>> tree_all({'a': True, 'b': [1, 2]})
      True
      >>> tree_all([True, (0,)])
      False
      >>> tree_all(None)
      True
    """
    return all(tree_leaves(tree, is_leaf))


def tree_broadcast(
    prefix_tree: PyTree, full_tree: PyTree, is_leaf: Callable[[Any], bool] | None = None
) -> PyTree:
    """`prefix_tree`'s leaves repeated over `full_tree`'s structure.

    `prefix_tree` must be a prefix of `full_tree`: the same nodes down to each of its
    leaves, where `full_tree` may have any subtree. Each leaf of `prefix_tree` fills every
    leaf position of the matching subtree.

    Args:
      prefix_tree: the tree whose leaves are broadcast.
      full_tree: the tree that gives the result's structure (its leaves are not used).
      is_leaf: optional predicate marking subtrees of `prefix_tree` to treat as leaves.

    Returns:
      A pytree with `full_tree`'s structure.

    Raises:
      ValueError: if `prefix_tree` is not a prefix of `full_tree`; the message names the
        key path of the first difference.

    Examples:
      >>> from funcgrad.tree_util import tree_broadcast
      >>> tree_broadcast({'a': 1, 'b': 2}, {'a': (0, 0), 'b': [0]})
      {'a': (1, 1), 'b': [2]}
      >>> tree_broadcast([1, None], [{'x': 0, 'y': 0}, None])
      [{'x': 1, 'y': 1}, None]
    """
    leaves, prefix_def = tree_flatten(prefix_tree, is_leaf)
    subtrees = _flatten_up_to_or_raise(
        prefix_def,
        full_tree,
        "tree_broadcast",
        "full_tree does not have prefix_tree's structure as a prefix",
        " Each node of prefix_tree must be the same node in full_tree; compare "
        "tree_structure() of both.",
    )
    full_leaves: list = []
    for x, subtree in zip(leaves, subtrees):
        full_leaves.extend([x] * tree_structure(subtree).num_leaves)
    return tree_structure(full_tree).unflatten(full_leaves)


def tree_reduce_associative(
    operation: Callable[[T, T], T],
    tree: PyTree,
    *,
    identity: Any = _NO_INITIALIZER,
    is_leaf: Callable[[Any], bool] | None = None,
) -> T:
    """Combines the leaves with an associative `operation`, as a balanced binary tree.

    The leaves ``x_0 .. x_{n-1}`` are split into halves, each half reduced the same way,
    and the two results combined: ``op(reduce(x_0 .. x_{m-1}), reduce(x_m .. x_{n-1}))``
    with ``m = n // 2``. The result equals a left fold's when `operation` is associative,
    with nesting depth ``log2(n)`` instead of ``n`` (smaller rounding error for sums).

    Args:
      operation: binary associative function.
      tree: the pytree.
      identity: the result for a tree without leaves.
      is_leaf: optional predicate marking subtrees to treat as leaves.

    Returns:
      The reduced value.

    Raises:
      TypeError: if the tree has no leaves and no identity is given.

    Examples:
      >>> from funcgrad.tree_util import tree_reduce_associative
      >>> tree_reduce_associative(lambda a, b: f'({a}{b})', ['a', ('b', 'c'), {'d': 'd', 'e': 'e'}])
      '((ab)(c(de)))'
      >>> tree_reduce_associative(max, [], identity=0)
      0
    """
    leaves = tree_leaves(tree, is_leaf)
    if not leaves:
        if identity is _NO_INITIALIZER:
            raise TypeError(
                "tree_reduce_associative: the tree has no leaves and no identity was given; "
                "pass identity= to define the result for an empty tree."
            )
        return identity

    def reduce(start: int, stop: int) -> Any:
        if stop - start == 1:
            return leaves[start]
        middle = start + (stop - start) // 2
        return operation(reduce(start, middle), reduce(middle, stop))

    return reduce(0, len(leaves))


def tree_transpose(
    outer_treedef: PyTreeDef, inner_treedef: PyTreeDef | None, pytree_to_transpose: PyTree
) -> PyTree:
    """Turns an outer tree of inner trees into an inner tree of outer trees.

    Args:
      outer_treedef: structure of the outer level.
      inner_treedef: structure of each inner tree; None to take it from the first one.
      pytree_to_transpose: a tree of structure ``outer_treedef.compose(inner_treedef)``.

    Returns:
      A tree of structure ``inner_treedef.compose(outer_treedef)`` whose leaf at outer
      position ``i`` of inner position ``j`` is the input's leaf at inner position ``j``
      of outer position ``i``.

    Raises:
      ValueError: if `pytree_to_transpose` does not have the composed structure; the
        message names the key path of the first difference.

    Examples:
      >>> from funcgrad.tree_util import tree_structure, tree_transpose
      >>> outer = tree_structure([0, 0])
      >>> inner = tree_structure({'x': 0, 'y': 0})
      >>> tree_transpose(outer, inner, [{'x': 1, 'y': 2}, {'x': 3, 'y': 4}])
      {'x': [1, 3], 'y': [2, 4]}
      >>> tree_transpose(outer, None, [(1, 2, 3), (4, 5, 6)])
      ([1, 4], [2, 5], [3, 6])
    """
    if inner_treedef is None:
        subtrees = _flatten_up_to_or_raise(
            outer_treedef,
            pytree_to_transpose,
            "tree_transpose",
            "pytree_to_transpose does not match outer_treedef",
        )
        if not subtrees:
            raise ValueError(
                "tree_transpose: cannot infer inner_treedef because outer_treedef has no "
                "leaves; pass inner_treedef explicitly."
            )
        inner_treedef = tree_structure(subtrees[0])
    flat = _flatten_up_to_or_raise(
        outer_treedef.compose(inner_treedef),
        pytree_to_transpose,
        "tree_transpose",
        "pytree_to_transpose does not match outer_treedef composed with inner_treedef",
    )
    # `flat` is outer-major: the leaf at (outer i, inner j) sits at i * n_inner + j.
    n_inner = inner_treedef.num_leaves
    outer_trees = [outer_treedef.unflatten(flat[j::n_inner]) for j in range(n_inner)]
    return inner_treedef.unflatten(outer_trees)


# ---------------------------------------------------------------------------------------
# Key paths
# ---------------------------------------------------------------------------------------


def _flatten_with_path_into(tree, is_leaf, path: KeyPath, out: list, spec: list,
                            takes_path: bool) -> None:  # fmt: skip
    """Appends the ``(path, leaf)`` pairs of `tree` to `out` and its spec items to `spec`;
    `is_leaf` is called as ``is_leaf(path, x)`` when `takes_path`."""
    if is_leaf is not None and (is_leaf(path, tree) if takes_path else is_leaf(tree)):
        out.append((path, tree))
        spec.append(None)
        return
    rule = _rule_for(tree)
    if rule is None:
        out.append((path, tree))
        spec.append(None)
        return
    keyed_children, aux = rule.flatten_with_keys(tree)
    spec += (rule, aux, len(keyed_children))
    for key, child in keyed_children:
        _flatten_with_path_into(child, is_leaf, (*path, key), out, spec, takes_path)


def _flatten_with_path(
    tree, is_leaf, path: KeyPath, out: list, takes_path: bool = False
) -> PyTreeDef:
    """Appends the ``(path, leaf)`` pairs of `tree` to `out` and returns its treedef."""
    start = len(out)
    spec: list = []
    _flatten_with_path_into(tree, is_leaf, path, out, spec, takes_path)
    if len(spec) == 1:
        return _LEAF
    return _from_spec(tuple(spec), len(out) - start)


def tree_flatten_with_path(
    tree: PyTree, is_leaf: Callable[..., bool] | None = None, is_leaf_takes_path: bool = False
) -> tuple[list[tuple[KeyPath, Any]], PyTreeDef]:
    """Like `tree_flatten`, but each leaf comes with its key path.

    Keys: `SequenceKey` for tuples and lists, `DictKey` for dicts, `GetAttrKey` for
    namedtuples and registered dataclasses, `FlattenedIndexKey` for custom nodes
    registered without keys.

    Args:
      tree: the pytree.
      is_leaf: optional predicate marking subtrees to treat as leaves.
      is_leaf_takes_path: call `is_leaf` as ``is_leaf(path, x)``, with the subtree's key
        path, instead of ``is_leaf(x)``.

    Returns:
      ``([(path, leaf), ...], treedef)``, in the same order as `tree_flatten`.

    Examples:
      >>> from funcgrad.tree_util import keystr, tree_flatten_with_path
      >>> pairs, treedef = tree_flatten_with_path({'params': [1, 2]})
      >>> [(keystr(path), leaf) for path, leaf in pairs]
      [("['params'][0]", 1), ("['params'][1]", 2)]
    """
    out: list[tuple[KeyPath, Any]] = []
    treedef = _flatten_with_path(tree, is_leaf, (), out, is_leaf_takes_path)
    return out, treedef


def tree_leaves_with_path(
    tree: PyTree, is_leaf: Callable[..., bool] | None = None, is_leaf_takes_path: bool = False
) -> list[tuple[KeyPath, Any]]:
    """The ``(key path, leaf)`` pairs of a pytree, in flattening order.

    `is_leaf` and `is_leaf_takes_path` are as in `tree_flatten_with_path`.

    Examples:
      >>> from collections import namedtuple
      >>> from funcgrad.tree_util import keystr, tree_leaves_with_path
      >>> Layer = namedtuple('Layer', ['w', 'b'])
      >>> for path, leaf in tree_leaves_with_path([Layer(w=1, b=2)]):
      ...     print(keystr(path), leaf)
      [0].w 1
      [0].b 2
    """
    out: list[tuple[KeyPath, Any]] = []
    _flatten_with_path(tree, is_leaf, (), out, is_leaf_takes_path)
    return out


def tree_map_with_path(
    f: Callable[..., Any],
    tree: PyTree,
    *rest: PyTree,
    is_leaf: Callable[..., bool] | None = None,
    is_leaf_takes_path: bool = False,
) -> PyTree:
    """Like `tree_map`, but `f` also receives the key path of each leaf.

    Args:
      f: function called as ``f(path, x, *xs)``.
      tree: the pytree that fixes the structure of the result.
      *rest: more pytrees with the structure of `tree` (or with `tree` as a prefix).
      is_leaf: optional predicate marking subtrees of `tree` to treat as leaves.
      is_leaf_takes_path: call `is_leaf` as ``is_leaf(path, x)``.

    Returns:
      A pytree with the structure of `tree` and leaves ``f(path, x, *xs)``.

    Raises:
      ValueError: if a tree in `rest` has a different structure; the message names the
        key path of the first difference.

    Examples:
      >>> from funcgrad.tree_util import keystr, tree_map_with_path
      >>> tree_map_with_path(lambda p, x: f'{keystr(p)}={x}', {'a': [1, 2]})
      {'a': ["['a'][0]=1", "['a'][1]=2"]}
    """
    pairs, treedef = tree_flatten_with_path(tree, is_leaf, is_leaf_takes_path)
    if not rest:
        return treedef.unflatten([f(path, x) for path, x in pairs])
    columns = _leaves_of_rest(treedef, rest, "tree_map_with_path")
    return treedef.unflatten([f(path, x, *xs) for (path, x), *xs in zip(pairs, *columns)])


# ---------------------------------------------------------------------------------------
# Registration
# ---------------------------------------------------------------------------------------


def _check_registrable(fn_name: str, nodetype: Any, funcs: dict[str, Any]) -> None:
    if not isinstance(nodetype, type):
        raise TypeError(
            f"{fn_name}: nodetype must be a class, got {nodetype!r}; pass the class itself, "
            "not an instance."
        )
    for arg_name, func in funcs.items():
        if func is not None and not callable(func):
            raise TypeError(f"{fn_name}: {arg_name} must be callable, got {func!r}.")
    if nodetype in _registry:
        raise ValueError(
            f"{fn_name}: {_type_name(nodetype)} is already registered as a pytree node; "
            "register each type once (at import time, not inside a function that may run "
            "again)."
        )


def _checked_flatten(nodetype: type, flatten_func: Callable) -> Callable:
    name = _type_name(nodetype)

    def flatten(x):
        out = flatten_func(x)
        try:
            children, aux = out
            children = tuple(children)
        except (TypeError, ValueError):
            raise TypeError(
                f"tree_flatten: the flatten function registered for {name} must return a "
                f"pair (children, aux_data), got {out!r}."
            ) from None
        return children, aux

    return flatten


def _checked_flatten_with_keys(nodetype: type, flatten_with_keys: Callable) -> Callable:
    name = _type_name(nodetype)

    def flatten(x):
        out = flatten_with_keys(x)
        try:
            keyed_children, aux = out
            keyed_children = [(key, child) for key, child in keyed_children]
        except (TypeError, ValueError):
            raise TypeError(
                f"tree_flatten_with_path: the flatten_with_keys function registered for "
                f"{name} must return a pair ([(key, child), ...], aux_data), got {out!r}."
            ) from None
        return keyed_children, aux

    return flatten


def _register(nodetype, flatten, unflatten_func, flatten_with_keys) -> None:
    _registry[nodetype] = _NodeRule(nodetype, "custom", flatten, unflatten_func, flatten_with_keys)


def register_pytree_node(
    nodetype: type[T],
    flatten_func: Callable[[T], tuple[Iterable[Any], Hashable]],
    unflatten_func: Callable[[Hashable, Iterable[Any]], T],
    flatten_with_keys_func: Callable[[T], tuple[Iterable[tuple[KeyEntry, Any]], Hashable]]
    | None = None,
) -> None:
    """Makes `nodetype` a pytree node.

    Args:
      nodetype: the class to treat as a node (matched exactly, not its subclasses).
      flatten_func: ``flatten_func(x) -> (children, aux_data)``. `aux_data` is the
        non-leaf information needed to rebuild `x`; it is stored in the treedef, so it
        should be hashable and comparable with ``==``.
      unflatten_func: ``unflatten_func(aux_data, children) -> x``.
      flatten_with_keys_func: optional ``x -> ([(key, child), ...], aux_data)`` giving the
        children in the same order, for key paths. Without it, paths through this node
        use `FlattenedIndexKey`.

    Raises:
      ValueError: if `nodetype` is already registered.

    Examples:
      >>> from funcgrad.tree_util import register_pytree_node, tree_map
      >>> class Pair:
      ...     def __init__(self, first, second):
      ...         self.first, self.second = first, second
      ...     def __repr__(self):
      ...         return f'Pair({self.first}, {self.second})'
      >>> register_pytree_node(
      ...     Pair,
      ...     lambda p: ((p.first, p.second), None),
      ...     lambda aux, children: Pair(*children),
      ... )
      >>> tree_map(lambda x: x + 1, Pair(1, 2))
      Pair(2, 3)
    """
    _check_registrable(
        "register_pytree_node",
        nodetype,
        {
            "flatten_func": flatten_func,
            "unflatten_func": unflatten_func,
            "flatten_with_keys_func": flatten_with_keys_func,
        },
    )
    flatten = _checked_flatten(nodetype, flatten_func)
    if flatten_with_keys_func is None:

        def flatten_with_keys(x):
            children, aux = flatten(x)
            return [(FlattenedIndexKey(i), c) for i, c in enumerate(children)], aux

    else:
        flatten_with_keys = _checked_flatten_with_keys(nodetype, flatten_with_keys_func)
    _register(nodetype, flatten, unflatten_func, flatten_with_keys)


def register_pytree_with_keys(
    nodetype: type[T],
    flatten_with_keys: Callable[[T], tuple[Iterable[tuple[KeyEntry, Any]], Hashable]],
    unflatten_func: Callable[[Hashable, Iterable[Any]], T],
    flatten_func: Callable[[T], tuple[Iterable[Any], Hashable]] | None = None,
) -> None:
    """Makes `nodetype` a pytree node whose children have key-path keys.

    Args:
      nodetype: the class to treat as a node.
      flatten_with_keys: ``x -> ([(key, child), ...], aux_data)``; keys are usually
        `GetAttrKey`, `DictKey` or `SequenceKey`.
      unflatten_func: ``unflatten_func(aux_data, children) -> x``.
      flatten_func: optional faster ``x -> (children, aux_data)`` for the functions that
        need no keys; it must give the same children in the same order and the same
        aux data. Derived from `flatten_with_keys` when omitted.

    Raises:
      ValueError: if `nodetype` is already registered.

    Examples:
      >>> from funcgrad.tree_util import (
      ...     GetAttrKey, keystr, register_pytree_with_keys, tree_leaves_with_path)
      >>> class Affine:
      ...     def __init__(self, w, b):
      ...         self.w, self.b = w, b
      >>> register_pytree_with_keys(
      ...     Affine,
      ...     lambda a: ([(GetAttrKey('w'), a.w), (GetAttrKey('b'), a.b)], None),
      ...     lambda aux, children: Affine(*children),
      ... )
      >>> [keystr(p) for p, _ in tree_leaves_with_path({'layer': Affine(1.0, 0.0)})]
      ["['layer'].w", "['layer'].b"]
    """
    _check_registrable(
        "register_pytree_with_keys",
        nodetype,
        {
            "flatten_with_keys": flatten_with_keys,
            "unflatten_func": unflatten_func,
            "flatten_func": flatten_func,
        },
    )
    keyed = _checked_flatten_with_keys(nodetype, flatten_with_keys)
    if flatten_func is None:

        def flatten(x):
            keyed_children, aux = keyed(x)
            return tuple(c for _, c in keyed_children), aux

    else:
        flatten = _checked_flatten(nodetype, flatten_func)
    _register(nodetype, flatten, unflatten_func, keyed)


def register_pytree_node_class(cls: _TypeT) -> _TypeT:
    """Class decorator: registers `cls` using its own ``tree_flatten``/``tree_unflatten``.

    `cls` must define a method ``tree_flatten(self) -> (children, aux_data)`` and a
    classmethod ``tree_unflatten(cls, aux_data, children) -> instance``.

    Returns:
      `cls`, unchanged.

    Raises:
      TypeError: if either method is missing.
      ValueError: if `cls` is already registered.

    Examples:
      >>> from funcgrad.tree_util import register_pytree_node_class, tree_leaves
      >>> @register_pytree_node_class
      ... class Scaled:
      ...     def __init__(self, value, scale):
      ...         self.value, self.scale = value, scale
      ...     def tree_flatten(self):
      ...         return (self.value,), self.scale
      ...     @classmethod
      ...     def tree_unflatten(cls, scale, children):
      ...         return cls(children[0], scale)
      >>> tree_leaves([Scaled(3.0, scale=2)])
      [3.0]
    """
    missing = [m for m in ("tree_flatten", "tree_unflatten") if not hasattr(cls, m)]
    if missing:
        raise TypeError(
            f"register_pytree_node_class: {_type_name(cls)} has no {' or '.join(missing)}; "
            "define tree_flatten(self) -> (children, aux_data) and a classmethod "
            "tree_unflatten(cls, aux_data, children)."
        )
    register_pytree_node(cls, lambda x: x.tree_flatten(), cls.tree_unflatten)
    return cls


def register_pytree_with_keys_class(cls: _TypeT) -> _TypeT:
    """Class decorator: registers `cls` using its ``tree_flatten_with_keys``/``tree_unflatten``.

    `cls` must define a method ``tree_flatten_with_keys(self) -> ([(key, child), ...],
    aux_data)`` and a classmethod ``tree_unflatten(cls, aux_data, children)``; a
    ``tree_flatten(self)`` method, if it has one, serves the functions that need no keys.

    Returns:
      `cls`, unchanged.

    Raises:
      TypeError: if either required method is missing.
      ValueError: if `cls` is already registered.

    Examples:
      >>> from funcgrad.tree_util import (
      ...     GetAttrKey, keystr, register_pytree_with_keys_class, tree_leaves_with_path)
      >>> @register_pytree_with_keys_class
      ... class Linear:
      ...     def __init__(self, w, b):
      ...         self.w, self.b = w, b
      ...     def tree_flatten_with_keys(self):
      ...         return [(GetAttrKey('w'), self.w), (GetAttrKey('b'), self.b)], None
      ...     @classmethod
      ...     def tree_unflatten(cls, aux, children):
      ...         return cls(*children)
      >>> [keystr(p) for p, _ in tree_leaves_with_path([Linear(1.0, 0.0)])]
      ['[0].w', '[0].b']
    """
    missing = [m for m in ("tree_flatten_with_keys", "tree_unflatten") if not hasattr(cls, m)]
    if missing:
        raise TypeError(
            f"register_pytree_with_keys_class: {_type_name(cls)} has no "
            f"{' or '.join(missing)}; define tree_flatten_with_keys(self) -> "
            "([(key, child), ...], aux_data) and a classmethod "
            "tree_unflatten(cls, aux_data, children)."
        )
    flatten = (lambda x: x.tree_flatten()) if hasattr(cls, "tree_flatten") else None
    register_pytree_with_keys(
        cls, lambda x: x.tree_flatten_with_keys(), cls.tree_unflatten, flatten
    )
    return cls


def _static_flatten(x):
    return (), x


def _static_unflatten(x, children):
    return x


def register_static(cls: _TypeT) -> _TypeT:
    """Registers `cls` as a pytree node without children: its instances are static.

    An instance is kept whole in the treedef as aux data, so it is part of a tree's
    structure: ``jit`` treats it as a static argument (no ``static_argnums`` needed; an
    unequal value traces again) and ``tree_map`` leaves it as it is. Instances must
    therefore be hashable and compare with ``==``.

    Returns:
      `cls`, unchanged (usable as a decorator).

    Raises:
      TypeError: if `cls` is unhashable (its ``__hash__`` is None), which would make
        every treedef holding an instance unusable as a cache key. (JAX accepts it and
        fails later.)
      ValueError: if `cls` is already registered.

    Examples:
      >>> from funcgrad.tree_util import register_static, tree_flatten
      >>> @register_static
      ... class Mode(str):
      ...     pass
      >>> leaves, treedef = tree_flatten({'x': 1.0, 'mode': Mode('train')})
      >>> leaves
      [1.0]
      >>> treedef.unflatten([2.0])
      {'mode': 'train', 'x': 2.0}
    """
    if isinstance(cls, type) and cls.__hash__ is None:
        raise TypeError(
            f"register_static: {_type_name(cls)} is unhashable; static values are kept in "
            "treedefs, which jit hashes as cache keys. Define __hash__ (and __eq__), or "
            "make it a frozen dataclass."
        )
    _check_registrable("register_static", cls, {})
    _register(
        cls,
        _static_flatten,
        _static_unflatten,
        lambda x: ([], x),
    )
    return cls


def register_dataclass(
    nodetype: _TypeT | None = None,
    data_fields: Sequence[str] | None = None,
    meta_fields: Sequence[str] | None = None,
) -> Any:
    """Registers a dataclass as a pytree node; usable as a decorator.

    Data fields are the children (leaves or subtrees); meta fields are static: stored in
    the treedef as aux data, so they must be hashable and compare with ``==``, and trees
    whose meta fields differ have different structures.

    Without `data_fields` and `meta_fields`, `nodetype` must be a dataclass, and the fields
    are taken from it: a field is a meta field when its metadata has ``static=True``
    (``dataclasses.field(metadata={'static': True})``), and a data field otherwise.
    Fields with ``init=False`` are left out either way: unflattening calls the
    constructor with the data and meta fields as keyword arguments, and ``__init__`` /
    ``__post_init__`` set them again.

    Args:
      nodetype: the class. Omit it to get a decorator (with the field lists bound).
      data_fields: names of the child fields, in flattening order.
      meta_fields: names of the static fields. Give both lists or neither.

    Returns:
      `nodetype` (or, when `nodetype` is omitted, a decorator that registers its argument).

    Raises:
      TypeError: if fields must be inferred but `nodetype` is not a dataclass, or only
        one of the field lists is given.
      ValueError: if the field lists do not match the dataclass's ``__init__`` fields, or
        `nodetype` is already registered.

    Examples:
      >>> import dataclasses
      >>> from funcgrad.tree_util import register_dataclass, tree_flatten
      >>> @register_dataclass
      ... @dataclasses.dataclass
      ... class Dense:
      ...     w: float
      ...     b: float
      ...     activation: str = dataclasses.field(default='relu', metadata={'static': True})
      >>> leaves, treedef = tree_flatten(Dense(w=1.0, b=0.5))
      >>> leaves
      [1.0, 0.5]
      >>> treedef.unflatten([2.0, 0.0])
      Dense(w=2.0, b=0.0, activation='relu')
    """
    if nodetype is None:
        return lambda cls: register_dataclass(cls, data_fields, meta_fields)
    if not isinstance(nodetype, type):
        raise TypeError(
            f"register_dataclass: nodetype must be a class, got {nodetype!r}; pass the "
            "class itself, or use @register_dataclass as a decorator."
        )
    name = _type_name(nodetype)
    if (data_fields is None) != (meta_fields is None):
        raise TypeError(
            f"register_dataclass: for {name}, got only one of data_fields and meta_fields; "
            "pass both (use [] for none), or neither to read them from the dataclass fields."
        )
    init_fields = None
    if dataclasses.is_dataclass(nodetype):
        init_fields = [f for f in dataclasses.fields(nodetype) if f.init]
    if data_fields is None:
        if init_fields is None:
            raise TypeError(
                f"register_dataclass: {name} is not a dataclass, so its fields cannot be "
                "inferred; apply @dataclasses.dataclass first (put @register_dataclass "
                "above it) or pass data_fields and meta_fields."
            )
        data_fields = [f.name for f in init_fields if not f.metadata.get("static", False)]
        meta_fields = [f.name for f in init_fields if f.metadata.get("static", False)]
    data_fields, meta_fields = tuple(data_fields), tuple(meta_fields)
    both = set(data_fields) & set(meta_fields)
    if both:
        raise ValueError(
            f"register_dataclass: fields {sorted(both)} of {name} are listed in both "
            "data_fields and meta_fields; each field is either data or meta."
        )
    if init_fields is not None:
        expected = {f.name for f in init_fields}
        given = set(data_fields) | set(meta_fields)
        if given != expected:
            missing, extra = sorted(expected - given), sorted(given - expected)
            raise ValueError(
                f"register_dataclass: data_fields and meta_fields of {name} must list every "
                f"__init__ field exactly once; missing {missing}, not __init__ fields "
                f"{extra}."
            )

    def flatten(x):
        return (
            tuple([getattr(x, n) for n in data_fields]),
            tuple([getattr(x, n) for n in meta_fields]),
        )

    def flatten_with_keys(x):
        return (
            [(GetAttrKey(n), getattr(x, n)) for n in data_fields],
            tuple([getattr(x, n) for n in meta_fields]),
        )

    def unflatten(meta, children):
        return nodetype(**dict(zip(data_fields, children)), **dict(zip(meta_fields, meta)))

    _check_registrable("register_dataclass", nodetype, {})
    _register(nodetype, flatten, unflatten, flatten_with_keys)
    return nodetype


def static(**kwargs: Any) -> Any:
    """A dataclass field that `register_dataclass` makes static (aux data, not a child).

    ``dataclasses.field(**kwargs)`` with ``'static': True`` added to its metadata (other
    metadata given is kept; ``static`` is always True, whatever the given metadata says).

    Examples:
      >>> import dataclasses
      >>> from funcgrad import tree
      >>> from funcgrad.tree_util import register_dataclass
      >>> @register_dataclass
      ... @dataclasses.dataclass
      ... class Op:
      ...     x: float
      ...     kind: str = tree.static(default='add')
      >>> tree.flatten(Op(1.0))
      ([1.0], PyTreeDef(CustomNode(Op[('add',)], [*])))
    """
    metadata = dict(kwargs.pop("metadata", None) or {})
    metadata["static"] = True
    return dataclasses.field(metadata=metadata, **kwargs)


# ---------------------------------------------------------------------------------------
# Partial: a function with bound arguments, as a pytree
# ---------------------------------------------------------------------------------------


class _PartialFunc:
    """A `functools.partial` used as a `Partial`'s function.

    Calls, equals and hashes as the partial it holds, but is no partial itself, so that
    ``functools.partial`` does not merge its bound arguments into the new `Partial`'s:
    those stay part of the function (aux data), not pytree children.
    """

    __slots__ = ("wrapped",)

    def __init__(self, wrapped: functools.partial):
        self.wrapped = wrapped

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.wrapped(*args, **kwargs)

    # introspection as of the partial itself: p.func.func, p.func.args, p.func.keywords
    @property
    def func(self) -> Callable:
        return self.wrapped.func

    @property
    def args(self) -> tuple:
        return self.wrapped.args

    @property
    def keywords(self) -> dict:
        return self.wrapped.keywords

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _PartialFunc):
            return self.wrapped == other.wrapped
        return self.wrapped == other

    def __hash__(self) -> int:
        return hash(self.wrapped)

    def __repr__(self) -> str:
        return repr(self.wrapped)


class Partial(functools.partial):
    """`functools.partial` as a pytree: the bound arguments are its children.

    ``Partial(fun, *args, **kwargs)`` calls like ``functools.partial``; flattened, its
    leaves are those of ``args`` and ``kwargs`` and its aux data is ``fun``. So a function
    with bound arrays can be passed to (and returned from) ``jit``, ``vmap`` or ``grad``:
    the arrays are traced, the function is part of the structure (compared with ``==``).
    When `fun` is itself a ``functools.partial``, its own bound arguments stay part of the
    function (they are not merged into this one's, as ``functools.partial`` would).

    Examples:
      >>> import funcgrad, funcgrad.numpy as fnp
      >>> from funcgrad.tree_util import Partial, tree_flatten
      >>> add_one = Partial(fnp.add, 1.0)
      >>> add_one(2.0).tolist()
      3.0
      >>> tree_flatten(Partial(max, 1, key=abs))[0]
      [1, <built-in function abs>]
      >>> call = funcgrad.jit(lambda f, x: f(x))
      >>> call(Partial(fnp.multiply, fnp.asarray(3.0)), fnp.asarray(2.0)).tolist()
      6.0
    """

    def __new__(cls, func: Callable, /, *args: Any, **keywords: Any) -> Partial:  # noqa: PYI034
        if isinstance(func, functools.partial):
            func = _PartialFunc(func)
        return super().__new__(cls, func, *args, **keywords)


register_pytree_node(
    Partial,
    lambda p: ((p.args, p.keywords), p.func),
    lambda func, children: Partial(func, *children[0], **children[1]),
)


# ---------------------------------------------------------------------------------------
# The registry as an object, for code written against JAX's default_registry
# ---------------------------------------------------------------------------------------


class PyTreeRegistry:
    """The pytree registry as an object: `default_registry`, its one instance.

    funcgrad has one registry, the one the module functions use; this object gives code
    written against JAX's ``default_registry`` the same methods on it.

    Examples:
      >>> from funcgrad.tree_util import default_registry
      >>> default_registry.flatten({'b': 2, 'a': (1,)})
      ([1, 2], PyTreeDef({'a': (*,), 'b': *}))
      >>> default_registry.flatten_one_level([1, (2, 3)])
      ([1, (2, 3)], None)
      >>> default_registry.flatten_one_level(1.0) is None
      True
      >>> default_registry.is_node(tuple)
      True
    """

    def __init__(self, *args, **kwargs):
        raise TypeError(
            "PyTreeRegistry: funcgrad has one pytree registry; use "
            "funcgrad.tree_util.default_registry."
        )

    def flatten(
        self, tree: PyTree, leaf_predicate: Callable[[Any], bool] | None = None
    ) -> tuple[list[Any], PyTreeDef]:
        """`tree_flatten`, with `leaf_predicate` as its `is_leaf`."""
        return tree_flatten(tree, leaf_predicate)

    def flatten_with_path(
        self, tree: PyTree, leaf_predicate: Callable[[KeyPath, Any], bool] | None = None
    ) -> tuple[list[tuple[KeyPath, Any]], PyTreeDef]:
        """`tree_flatten_with_path`; `leaf_predicate` is called as ``(path, x)``."""
        return tree_flatten_with_path(tree, leaf_predicate, is_leaf_takes_path=True)

    def flatten_one_level(self, tree: PyTree) -> tuple[list[Any], Hashable] | None:
        """`flatten_one_level`, but None for a leaf."""
        return flatten_one_level(tree) if _rule_for(tree) is not None else None

    def flatten_one_level_with_keys(
        self, tree: PyTree
    ) -> tuple[list[tuple[KeyEntry, Any]], Hashable] | None:
        """`flatten_one_level_with_keys`, but None for a leaf."""
        return flatten_one_level_with_keys(tree) if _rule_for(tree) is not None else None

    def is_node(self, typ: type) -> bool:
        """`is_tree_node`."""
        return is_tree_node(typ)

    def register_node(
        self,
        nodetype: type,
        to_iterable: Callable,
        from_iterable: Callable,
        to_iterable_with_keys: Callable | None = None,
    ) -> None:
        """`register_pytree_node`."""
        register_pytree_node(nodetype, to_iterable, from_iterable, to_iterable_with_keys)

    def register_dataclass_node(
        self, nodetype: type, data_fields: Sequence[str], meta_fields: Sequence[str], /
    ) -> None:
        """`register_dataclass` with both field lists."""
        register_dataclass(nodetype, data_fields, meta_fields)

    def __repr__(self) -> str:
        return "<funcgrad.tree_util.default_registry>"


default_registry = _new_object(PyTreeRegistry)
