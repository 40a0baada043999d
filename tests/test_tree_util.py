"""Tests for funcgrad.tree_util against hand-computed values and a plain reference walk."""

import ast
import collections
import copy
import dataclasses
import doctest
import inspect
import itertools
import operator
import pickle
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

import funcgrad._src.tree_util
from funcgrad import tree_util
from funcgrad.tree_util import (
    DictKey,
    FlattenedIndexKey,
    GetAttrKey,
    PyTreeDef,
    SequenceKey,
    all_leaves,
    keystr,
    register_dataclass,
    register_pytree_node,
    register_pytree_node_class,
    register_pytree_with_keys,
    tree_all,
    tree_flatten,
    tree_flatten_with_path,
    tree_leaves,
    tree_leaves_with_path,
    tree_map,
    tree_map_with_path,
    tree_reduce,
    tree_structure,
    tree_transpose,
    tree_unflatten,
    treedef_is_leaf,
)

Point = collections.namedtuple("Point", ["x", "y"])
Layer = collections.namedtuple("Layer", ["w", "b"])


# ---------------------------------------------------------------------------------------
# Reference: a deliberately naive walk over the default node types, the oracle for the
# property tests. It knows nothing about the registry or PyTreeDef.
# ---------------------------------------------------------------------------------------


def ref_leaves(t):
    if t is None:
        return []
    if isinstance(t, dict):
        return [leaf for k in sorted(t) for leaf in ref_leaves(t[k])]
    if isinstance(t, (list, tuple)):
        return [leaf for c in t for leaf in ref_leaves(c)]
    return [t]


def ref_map(f, t):
    if t is None:
        return None
    if isinstance(t, dict):
        # Sorted, so that a stateful f (see relabel) sees leaves in flattening order.
        return {k: ref_map(f, t[k]) for k in sorted(t)}
    if isinstance(t, Point):
        return Point(*(ref_map(f, c) for c in t))
    if isinstance(t, (list, tuple)):
        return type(t)(ref_map(f, c) for c in t)
    return f(t)


def ref_num_nodes(t):
    if isinstance(t, dict):
        return 1 + sum(ref_num_nodes(v) for v in t.values())
    if isinstance(t, (list, tuple)):
        return 1 + sum(ref_num_nodes(c) for c in t)
    return 1  # a leaf or None


def same(a, b):
    """Equal with identical container types at every level (Point(1, 2) != (1, 2) here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        # Plain dicts come back in sorted key order, as in JAX; only the key set matters.
        return set(a) == set(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def follow(tree, path):
    for key in path:
        if isinstance(key, SequenceKey):
            tree = tree[key.idx]
        elif isinstance(key, DictKey):
            tree = tree[key.key]
        elif isinstance(key, GetAttrKey):
            tree = getattr(tree, key.name)
        else:
            pytest.fail(f"unexpected key {key!r}")
    return tree


def _containers(children):
    return st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(st.text(max_size=3), children, max_size=4),
        st.builds(Point, children, children),
    )


trees = st.recursive(st.one_of(st.integers(), st.none()), _containers, max_leaves=25)


def relabel(tree):
    """The same structure with leaves 0, 1, 2, ... in reference order, so order shows."""
    counter = itertools.count()
    return ref_map(lambda _: next(counter), tree)


# ---------------------------------------------------------------------------------------
# Property tests
# ---------------------------------------------------------------------------------------


@given(trees)
def test_flatten_unflatten_round_trip(tree):
    leaves, treedef = tree_flatten(tree)
    assert same(tree_unflatten(treedef, leaves), tree)
    assert same(treedef.unflatten(leaves), tree)


@given(trees.map(relabel))
def test_leaves_in_reference_order(tree):
    leaves, treedef = tree_flatten(tree)
    assert leaves == ref_leaves(tree)
    assert leaves == list(range(len(leaves)))
    assert treedef.num_leaves == len(leaves)
    assert treedef.num_nodes == ref_num_nodes(tree)


@given(trees)
def test_tree_map_matches_reference_and_keeps_structure(tree):
    out = tree_map(lambda x: x * 2 + 1, tree)
    assert same(out, ref_map(lambda x: x * 2 + 1, tree))
    assert tree_structure(out) == tree_structure(tree)
    assert hash(tree_structure(out)) == hash(tree_structure(tree))


@given(trees)
def test_paths_point_at_their_leaves(tree):
    pairs, treedef = tree_flatten_with_path(tree)
    assert [leaf for _, leaf in pairs] == ref_leaves(tree)
    assert treedef == tree_structure(tree)
    for path, leaf in pairs:
        assert follow(tree, path) == leaf


@given(trees.map(relabel))
def test_tree_map_two_trees_pairs_matching_leaves(tree):
    # Leaves are distinct, so any mispairing changes some x * 1000 + y.
    other = ref_map(lambda i: i + 1, tree)
    out = tree_map(lambda x, y: x * 1000 + y, tree, other)
    assert same(out, ref_map(lambda i: i * 1000 + i + 1, tree))


# ---------------------------------------------------------------------------------------
# Flatten, unflatten and PyTreeDef on hand-written examples
# ---------------------------------------------------------------------------------------


def test_dict_children_in_sorted_key_order():
    leaves, treedef = tree_flatten({"b": 2, "c": {"z": 5, "a": 4}, "a": 1})
    assert leaves == [1, 2, 4, 5]
    assert repr(treedef) == "PyTreeDef({'a': *, 'b': *, 'c': {'a': *, 'z': *}})"
    rebuilt = tree_unflatten(treedef, ["A", "B", "CA", "CZ"])
    assert rebuilt == {"a": "A", "b": "B", "c": {"a": "CA", "z": "CZ"}}


def test_mixed_type_dict_keys_flatten_deterministically():
    # Not mutually orderable: grouped by type name ('int' < 'str'), then by value.
    assert tree_leaves({"b": "B", 2: "two", "a": "A", 1: "one"}) == ["one", "two", "A", "B"]


def test_unorderable_dict_keys_error_says_what_to_do():
    with pytest.raises(TypeError, match=r"tree_flatten: cannot order the keys.*OrderedDict"):
        tree_leaves({(1,): 1, ("a",): 2})


def test_treedef_counts_children_and_repr():
    treedef = tree_structure({"a": 1, "b": (2, None, [3])})
    assert treedef.num_leaves == 3
    # dict, leaf a, tuple, leaf, None, list, leaf.
    assert treedef.num_nodes == 7
    assert treedef.children() == [tree_structure(0), tree_structure((0, None, [0]))]
    assert repr(treedef) == "PyTreeDef({'a': *, 'b': (*, None, [*])})"
    assert repr(tree_structure((1,))) == "PyTreeDef((*,))"
    assert repr(tree_structure(Point(1, [2]))) == "PyTreeDef(Point(x=*, y=[*]))"
    assert tree_structure(7).children() == []


def test_treedef_equality_and_hash():
    a = tree_structure({"a": 1, "b": [2, 3]})
    b = tree_structure({"a": "x", "b": ["y", "z"]})
    assert a == b and hash(a) == hash(b)
    assert {a: "cached"}[b] == "cached"
    different = [
        tree_structure({"a": 1, "c": [2, 3]}),  # dict keys
        tree_structure({"a": 1, "b": (2, 3)}),  # list vs tuple
        tree_structure({"a": 1, "b": [2, 3, 4]}),  # number of children
        tree_structure({"a": None, "b": [2, 3]}),  # None vs leaf
    ]
    for other in different:
        assert a != other
    assert tree_structure(Point(1, 2)) != tree_structure((1, 2))
    assert tree_structure(None) != tree_structure(1)
    assert tree_structure(1) == tree_structure("anything")
    assert a != "not a treedef"


def test_treedef_is_immutable_and_not_constructible():
    treedef = tree_structure([1, 2])
    with pytest.raises(AttributeError):
        treedef.num_leaves = 5
    with pytest.raises(TypeError, match="tree_structure"):
        PyTreeDef()
    assert copy.copy(treedef) is treedef
    assert copy.deepcopy(treedef) is treedef


def test_treedef_pickles():
    treedef = tree_structure({"p": Point(1, [2, None]), "q": collections.OrderedDict(z=1, a=2)})
    restored = pickle.loads(pickle.dumps(treedef))
    assert restored == treedef
    assert restored.unflatten([1, 2, 3, 4]) == {
        "p": Point(1, [2, None]),
        "q": collections.OrderedDict(z=3, a=4),
    }


def test_unflatten_wrong_leaf_count_names_both_counts():
    treedef = tree_structure({"a": 1, "b": (2, 3)})
    with pytest.raises(
        ValueError, match=r"tree_unflatten: .* has 3 leaves, but 2 leaves were given"
    ):
        tree_unflatten(treedef, [1, 2])
    with pytest.raises(ValueError, match="has 3 leaves, but 4 leaves"):
        treedef.unflatten([1, 2, 3, 4])
    with pytest.raises(TypeError, match="tree_unflatten: treedef must be a PyTreeDef"):
        tree_unflatten([1, 2, 3], treedef)


def test_unflatten_accepts_any_iterable_and_leaf_treedef():
    assert tree_unflatten(tree_structure([0, (0,)]), iter("ab")) == ["a", ("b",)]
    assert tree_unflatten(tree_structure(5), ["leaf"]) == "leaf"


def test_subclass_of_list_is_a_leaf_until_registered():
    class MyList(list):
        pass

    assert tree_leaves([MyList([1, 2])]) == [MyList([1, 2])]


def test_is_leaf_keeps_subtrees_whole():
    tree = {"a": (1, 2), "b": [(3, 4), 5]}
    is_pair = lambda x: isinstance(x, tuple)
    leaves, treedef = tree_flatten(tree, is_leaf=is_pair)
    assert leaves == [(1, 2), (3, 4), 5]
    assert repr(treedef) == "PyTreeDef({'a': *, 'b': [*, *]})"
    total = lambda x: sum(x) if isinstance(x, tuple) else x
    assert tree_map(total, tree, is_leaf=is_pair) == {"a": 3, "b": [7, 5]}
    # is_leaf sees the root too.
    assert tree_leaves((1, 2), is_leaf=is_pair) == [(1, 2)]
    assert tree_structure([1], is_leaf=lambda x: True) == tree_structure(0)


def test_none_is_a_node_without_children():
    assert tree_leaves(None) == []
    assert tree_leaves([None, 1, {"a": None}]) == [1]
    assert repr(tree_structure(None)) == "PyTreeDef(None)"
    assert tree_structure(None).num_nodes == 1
    assert tree_structure(None).num_leaves == 0
    assert tree_map(lambda x: x + 1, [None, 1]) == [None, 2]
    assert tree_map(lambda x: x + 1, None) is None
    # With is_leaf, None can be a leaf after all.
    assert tree_leaves([None, 1], is_leaf=lambda x: x is None) == [None, 1]
    assert tree_map(lambda x: 0 if x is None else x, [None, 1], is_leaf=lambda x: x is None) == [
        0,
        1,
    ]


def test_defaultdict_keeps_factory_and_sorts_keys():
    tree = collections.defaultdict(list, {"b": 2, "a": 1})
    leaves, treedef = tree_flatten(tree)
    assert leaves == [1, 2]
    assert repr(treedef) == "PyTreeDef(defaultdict(list, {'a': *, 'b': *}))"
    out = tree_map(lambda x: x * 10, tree)
    assert type(out) is collections.defaultdict
    assert out.default_factory is list
    assert dict(out) == {"a": 10, "b": 20}
    assert treedef != tree_structure(collections.defaultdict(set, {"b": 2, "a": 1}))
    assert treedef != tree_structure({"b": 2, "a": 1})


def test_ordereddict_keeps_insertion_order():
    tree = collections.OrderedDict([("b", 1), ("a", 2)])
    leaves, treedef = tree_flatten(tree)
    assert leaves == [1, 2]
    assert repr(treedef) == "PyTreeDef(OrderedDict({'b': *, 'a': *}))"
    out = tree_unflatten(treedef, ["B", "A"])
    assert type(out) is collections.OrderedDict
    assert list(out.items()) == [("b", "B"), ("a", "A")]
    assert treedef != tree_structure(collections.OrderedDict([("a", 2), ("b", 1)]))
    assert tree_leaves_with_path(tree)[0] == ((DictKey("b"),), 1)


def test_namedtuple_round_trip_and_children():
    tree = Layer(w=[1, 2], b=3)
    leaves, treedef = tree_flatten(tree)
    assert leaves == [1, 2, 3]
    rebuilt = treedef.unflatten([4, 5, 6])
    assert type(rebuilt) is Layer
    assert rebuilt == Layer(w=[4, 5], b=6)


def test_treedef_is_leaf_and_all_leaves():
    assert treedef_is_leaf(tree_structure(3.0))
    assert not treedef_is_leaf(tree_structure((3.0,)))
    assert not treedef_is_leaf(tree_structure(None))
    assert not treedef_is_leaf(tree_structure([]))
    assert all_leaves([1, "a", 2.5])
    assert not all_leaves([1, [2]])
    assert not all_leaves([None])
    assert not all_leaves([Point(1, 2)])
    assert all_leaves([(1, 2), 3], is_leaf=lambda x: isinstance(x, tuple))
    assert all_leaves([])


def test_flatten_up_to_and_compose():
    treedef = tree_structure([0, {"k": 0}])
    assert treedef.flatten_up_to([(1, 2), {"k": [3]}]) == [(1, 2), [3]]
    with pytest.raises(ValueError, match=r"PyTreeDef.flatten_up_to: .* key path \[1\]"):
        treedef.flatten_up_to([1, [2]])
    composed = tree_structure([0, 0]).compose(tree_structure((0, None)))
    assert composed == tree_structure([(1, None), (2, None)])
    assert composed.num_leaves == 2
    assert composed.num_nodes == 7


# ---------------------------------------------------------------------------------------
# tree_map, tree_reduce, tree_all, tree_transpose
# ---------------------------------------------------------------------------------------


def test_tree_map_multiple_trees():
    a = {"x": 1, "y": [2, 3]}
    b = {"x": 10, "y": [20, 30]}
    c = {"x": 100, "y": [200, 300]}
    assert tree_map(lambda p, q, r: p + q + r, a, b, c) == {"x": 111, "y": [222, 333]}


def test_tree_map_rest_may_be_deeper_than_first_tree():
    # A leaf of the first tree is matched with the whole subtree of the others.
    out = tree_map(lambda axis, arg: (axis, arg), [0, None, 1], [(1, 2), None, {"a": 3}])
    assert out == [(0, (1, 2)), None, (1, {"a": 3})]


def test_tree_map_mismatch_names_key_path_and_both_sides():
    with pytest.raises(ValueError) as info:
        tree_map(lambda x, y: x, {"a": 0, "b": [1, (2, 3)]}, {"a": 0, "b": [1, [2, 3, 4]]})
    message = str(info.value)
    assert message.startswith("tree_map: rest[0] (the 2nd tree) differs from the first tree")
    assert "at key path ['b'][1]: expected a tuple with 2 children, got a list with 3 children" in (
        message
    )
    assert "compare tree_structure()" in message


def test_tree_map_mismatch_dict_keys():
    with pytest.raises(ValueError) as info:
        tree_map(lambda *xs: 0, {"p": {"w": 1, "b": 2}}, {"p": {"w": 1, "bias": 2}})
    assert (
        "at key path ['p']: expected a dict with keys ['b', 'w'], "
        "got a dict with keys ['bias', 'w']" in str(info.value)
    )


def test_tree_map_mismatch_in_third_tree_at_root_and_leaf_vs_node():
    with pytest.raises(
        ValueError,
        match=r"rest\[1\] \(the 3rd tree\) .* at the root: "
        r"expected a list with 1 child, got a tuple with 1 child",
    ):
        tree_map(lambda *xs: 0, [1], [2], (3,))
    with pytest.raises(
        ValueError, match=r"at key path \[0\]\.y: expected None, got a leaf of type int"
    ):
        tree_map(lambda *xs: 0, [Point(1, None)], [Point(1, 2)])
    with pytest.raises(
        ValueError,
        match=r"at key path \[0\]: expected a namedtuple Point with "
        r"2 children, got a leaf of type str",
    ):
        tree_map(lambda *xs: 0, [Point(1, 2)], ["p"])


def test_tree_map_with_path_passes_paths_and_checks_structure():
    tree = {"a": [1, 2], "b": Point(3, 4)}
    out = tree_map_with_path(lambda p, x, y: f"{keystr(p)}:{x + y}", tree, tree)
    assert out == {"a": ["['a'][0]:2", "['a'][1]:4"], "b": Point("['b'].x:6", "['b'].y:8")}
    with pytest.raises(
        ValueError,
        match=r"tree_map_with_path: rest\[0\] .* at key path \['a'\]: "
        r"expected a list with 2 children, got a list with 1 child",
    ):
        tree_map_with_path(lambda p, x, y: x, tree, {"a": [1], "b": Point(3, 4)})


def test_tree_reduce_with_and_without_initializer():
    tree = {"b": ["c", "d"], "a": "a"}
    # Non-commutative op shows the order: sorted keys, then list order.
    assert tree_reduce(operator.add, tree) == "acd"
    assert tree_reduce(operator.add, tree, "start:") == "start:acd"
    assert tree_reduce(operator.add, tree, initializer=">") == ">acd"
    assert tree_reduce(operator.add, [None], 0) == 0
    append = lambda acc, x: acc + [x]
    is_list = lambda x: isinstance(x, list)
    assert tree_reduce(append, ([1, 2], 3), initializer=[], is_leaf=is_list) == [[1, 2], 3]
    with pytest.raises(TypeError, match="tree_reduce: the tree has no leaves and no initializer"):
        tree_reduce(operator.add, {"a": None})


def test_tree_all():
    assert tree_all([1, (True, "x")])
    assert not tree_all([1, (True, 0)])
    assert tree_all([None, {}])
    assert not tree_all([[]], is_leaf=lambda x: x == [])


def test_tree_transpose():
    outer = tree_structure([0, 0, 0])
    inner = tree_structure({"a": 0, "b": (0, 0)})
    tree = [{"a": i, "b": (10 + i, 20 + i)} for i in range(3)]
    expected = {"a": [0, 1, 2], "b": ([10, 11, 12], [20, 21, 22])}
    assert tree_transpose(outer, inner, tree) == expected
    assert tree_transpose(outer, None, tree) == expected
    # Transposing twice gives the original back.
    assert tree_transpose(inner, outer, expected) == tree


def test_tree_transpose_mismatch_names_full_key_path():
    outer = tree_structure([0, 0])
    inner = tree_structure((0, 0))
    # A subtree where inner_treedef has a leaf is fine: it moves as one leaf.
    assert tree_transpose(outer, inner, [(1, 2), (3, [4, 5])]) == ([1, 3], [2, [4, 5]])
    with pytest.raises(
        ValueError,
        match=r"tree_transpose: .* at key path \[1\]: expected a tuple "
        r"with 2 children, got a tuple with 3 children",
    ):
        tree_transpose(outer, inner, [(1, 2), (3, 4, 5)])
    with pytest.raises(ValueError, match="cannot infer inner_treedef"):
        tree_transpose(tree_structure([]), None, [])


# ---------------------------------------------------------------------------------------
# Key paths
# ---------------------------------------------------------------------------------------


def test_key_strings():
    assert str(SequenceKey(3)) == "[3]"
    assert str(DictKey("w")) == "['w']"
    assert str(DictKey(1)) == "[1]"
    assert str(GetAttrKey("bias")) == ".bias"
    assert str(FlattenedIndexKey(2)) == "[<flat index 2>]"
    assert keystr(()) == ""
    path = (DictKey("params"), SequenceKey(0), GetAttrKey("w"))
    assert keystr(path) == "['params'][0].w"
    assert keystr(path, simple=True, separator="/") == "params/0/w"
    assert keystr(path, separator=" ") == "['params'] [0] .w"
    assert SequenceKey(0) == SequenceKey(0) and hash(DictKey("a")) == hash(DictKey("a"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        SequenceKey(0).idx = 1


def test_paths_on_hand_written_tree():
    tree = {"step": 7, "params": [Layer(w=1, b=2), (3, None)]}
    pairs, treedef = tree_flatten_with_path(tree)
    assert [(keystr(p), leaf) for p, leaf in pairs] == [
        ("['params'][0].w", 1),
        ("['params'][0].b", 2),
        ("['params'][1][0]", 3),
        ("['step']", 7),
    ]
    assert pairs[0][0] == (DictKey("params"), SequenceKey(0), GetAttrKey("w"))
    assert treedef == tree_structure(tree)
    assert tree_leaves_with_path(tree) == pairs
    assert tree_leaves_with_path(5) == [((), 5)]
    assert tree_leaves_with_path({"a": (1, 2)}, is_leaf=lambda x: isinstance(x, tuple)) == [
        ((DictKey("a"),), (1, 2))
    ]


# ---------------------------------------------------------------------------------------
# Registration
# ---------------------------------------------------------------------------------------


def test_register_pytree_node():
    class Box:
        def __init__(self, items, label):
            self.items, self.label = items, label

    register_pytree_node(
        Box,
        lambda box: (box.items, box.label),
        lambda label, children: Box(list(children), label),
    )
    tree = {"box": Box([1, (2, 3)], label="L")}
    leaves, treedef = tree_flatten(tree)
    assert leaves == [1, 2, 3]
    assert treedef.num_nodes == 6  # dict, Box, 1, tuple, 2, 3
    assert repr(treedef) == (
        "PyTreeDef({'box': CustomNode(test_register_pytree_node.<locals>.Box['L'], [*, (*, *)])})"
    )
    rebuilt = treedef.unflatten([4, 5, 6])["box"]
    assert (rebuilt.items, rebuilt.label) == ([4, (5, 6)], "L")
    assert treedef != tree_structure({"box": Box([1, (2, 3)], label="other")})
    paths = [p for p, _ in tree_leaves_with_path(tree)]
    assert paths[1] == (DictKey("box"), FlattenedIndexKey(1), SequenceKey(0))
    with pytest.raises(
        ValueError,
        match=r"tree_map: .* at key path \['box'\]: expected a "
        r"test_register_pytree_node.<locals>.Box node with aux data 'L', got one "
        r"with aux data 'M'",
    ):
        tree_map(lambda x, y: x, tree, {"box": Box([1, (2, 3)], label="M")})


def test_register_pytree_node_bad_flatten_output_is_reported():
    class Bad:
        pass

    register_pytree_node(Bad, lambda x: [1, 2, 3], lambda aux, children: Bad())
    with pytest.raises(
        TypeError,
        match=r"tree_flatten: the flatten function registered for "
        r".*Bad must return a pair \(children, aux_data\)",
    ):
        tree_leaves(Bad())


def test_register_pytree_with_keys():
    class Affine:
        def __init__(self, w, b):
            self.w, self.b = w, b

    register_pytree_with_keys(
        Affine,
        lambda a: ([(GetAttrKey("w"), a.w), (GetAttrKey("b"), a.b)], None),
        lambda aux, children: Affine(*children),
    )
    tree = [Affine(w=1.0, b=(2.0,))]
    assert tree_leaves(tree) == [1.0, 2.0]
    assert [keystr(p) for p, _ in tree_leaves_with_path(tree)] == ["[0].w", "[0].b[0]"]
    out = tree_map(lambda x: -x, tree)[0]
    assert (out.w, out.b) == (-1.0, (-2.0,))


def test_register_pytree_node_class():
    @register_pytree_node_class
    class Scaled:
        def __init__(self, value, scale):
            self.value, self.scale = value, scale

        def tree_flatten(self):
            return (self.value,), self.scale

        @classmethod
        def tree_unflatten(cls, scale, children):
            return cls(children[0], scale)

    assert isinstance(Scaled, type)  # the decorator returns the class
    tree = {"s": Scaled([1, 2], scale=3)}
    assert tree_leaves(tree) == [1, 2]
    out = tree_map(lambda x: x * 10, tree)["s"]
    assert (out.value, out.scale) == ([10, 20], 3)
    assert tree_structure(tree) != tree_structure({"s": Scaled([1, 2], scale=4)})

    class Incomplete:
        def tree_flatten(self):
            return (), None

    with pytest.raises(
        TypeError, match="register_pytree_node_class: .*Incomplete has no tree_unflatten"
    ):
        register_pytree_node_class(Incomplete)


def test_register_dataclass_static_field_via_metadata():
    @register_dataclass
    @dataclasses.dataclass
    class Dense:
        w: list
        b: float
        activation: str = dataclasses.field(default="relu", metadata={"static": True})
        calls: int = dataclasses.field(default=0, init=False)

    layer = Dense(w=[1.0, 2.0], b=0.5, activation="tanh")
    leaves, treedef = tree_flatten(layer)
    assert leaves == [1.0, 2.0, 0.5]
    rebuilt = treedef.unflatten([3.0, 4.0, 5.0])
    assert rebuilt == Dense(w=[3.0, 4.0], b=5.0, activation="tanh")
    # The static field is aux data: a different value is a different structure.
    assert treedef != tree_structure(Dense(w=[1.0, 2.0], b=0.5, activation="relu"))
    assert treedef == tree_structure(Dense(w=[9.0, 9.0], b=9.0, activation="tanh"))
    assert [keystr(p) for p, _ in tree_leaves_with_path(layer)] == [".w[0]", ".w[1]", ".b"]


def test_register_dataclass_explicit_fields():
    @dataclasses.dataclass
    class Opt:
        lr: float
        momentum: float
        name: str

    assert register_dataclass(Opt, data_fields=["momentum", "lr"], meta_fields=["name"]) is Opt
    leaves, treedef = tree_flatten(Opt(lr=0.1, momentum=0.9, name="sgd"))
    assert leaves == [0.9, 0.1]  # in data_fields order
    assert treedef.unflatten([1, 2]) == Opt(lr=2, momentum=1, name="sgd")


def test_register_dataclass_as_decorator_factory_and_plain_class():
    @register_dataclass(data_fields=["x"], meta_fields=[])
    class Plain:
        def __init__(self, x):
            self.x = x

    assert tree_leaves(Plain([1, 2])) == [1, 2]
    assert tree_map(lambda v: v + 1, Plain(1)).x == 2


def test_register_dataclass_errors():
    @dataclasses.dataclass
    class Two:
        a: int
        b: int

    with pytest.raises(
        ValueError,
        match=r"register_dataclass: .* missing \['b'\], not __init__ "
        r"fields \['c'\]",
    ):
        register_dataclass(Two, data_fields=["a", "c"], meta_fields=[])
    with pytest.raises(ValueError, match=r"fields \['a'\] of .* listed in both"):
        register_dataclass(Two, data_fields=["a", "b"], meta_fields=["a"])
    with pytest.raises(TypeError, match="only one of data_fields and meta_fields"):
        register_dataclass(Two, data_fields=["a", "b"])

    class NotADataclass:
        pass

    with pytest.raises(TypeError, match=r"register_dataclass: .*NotADataclass is not a dataclass"):
        register_dataclass(NotADataclass)
    # None of the failed attempts registered anything.
    assert tree_leaves(Two(1, 2)) == [Two(1, 2)]


def test_duplicate_registration_raises():
    class Once:
        pass

    register_pytree_node(Once, lambda x: ((), None), lambda aux, children: Once())
    with pytest.raises(ValueError, match=r"register_pytree_node: .*Once is already registered"):
        register_pytree_node(Once, lambda x: ((), None), lambda aux, children: Once())
    with pytest.raises(ValueError, match="register_pytree_with_keys: list is already registered"):
        register_pytree_with_keys(list, lambda x: ([], None), lambda aux, children: [])
    with pytest.raises(ValueError, match="register_dataclass: .*Once is already registered"):
        register_dataclass(Once, data_fields=[], meta_fields=[])


def test_register_rejects_non_types_and_non_callables():
    with pytest.raises(TypeError, match="nodetype must be a class"):
        register_pytree_node([], lambda x: ((), None), lambda aux, children: None)

    class Fresh:
        pass

    with pytest.raises(TypeError, match="unflatten_func must be callable"):
        register_pytree_node(Fresh, lambda x: ((), None), "not callable")


# ---------------------------------------------------------------------------------------
# Module hygiene
# ---------------------------------------------------------------------------------------


def test_doctests():
    results = doctest.testmod(funcgrad._src.tree_util)
    assert results.attempted > 0
    assert results.failed == 0


def test_public_module_exports_and_documents_everything():
    assert sorted(tree_util.__all__) == sorted(set(tree_util.__all__))
    for name in tree_util.__all__:
        obj = getattr(tree_util, name)
        assert obj is getattr(funcgrad._src.tree_util, name)
        assert ">>>" in (inspect.getdoc(obj) or ""), f"{name} has no runnable example"


def test_implementation_imports_only_the_standard_library():
    source = inspect.getsource(funcgrad._src.tree_util)
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)
