"""The rest of jax.tree_util / jax.tree (issue 18), and the fast paths of issue 16.

Oracles: hand-computed values, a naive reference walk written here (it knows nothing of
the registry or of PyTreeDef), round trips to the original tree, and eager execution for
jit's pytree signature check.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import tree
from funcgrad import tree_util
from funcgrad._src import tree_util as impl
from funcgrad.tree_util import (
    DictKey,
    FlattenedIndexKey,
    GetAttrKey,
    KeyEntry,
    KeyPath,
    Partial,
    SequenceKey,
    default_registry,
    flatten_one_level,
    flatten_one_level_with_keys,
    is_tree_node,
    keystr,
    register_dataclass,
    register_pytree_node,
    register_pytree_with_keys_class,
    register_static,
    tree_broadcast,
    tree_flatten,
    tree_flatten_with_path,
    tree_leaves,
    tree_leaves_with_path,
    tree_map,
    tree_map_with_path,
    tree_reduce_associative,
    tree_structure,
    tree_unflatten,
    treedef_children,
    treedef_tuple,
)

Point = collections.namedtuple("Point", ["x", "y"])


class Box:
    """A registered custom node (children: the contents; aux: the label)."""

    def __init__(self, contents, label):
        self.contents, self.label = contents, label

    def __eq__(self, other):
        return type(other) is Box and (self.contents, self.label) == (other.contents, other.label)

    __hash__ = None


register_pytree_node(Box, lambda b: (b.contents, b.label), lambda label, c: Box(tuple(c), label))


class Tagged:
    """A custom node whose aux data is unhashable (a list)."""

    def __init__(self, value, tags):
        self.value, self.tags = value, tags


register_pytree_node(
    Tagged, lambda t: ((t.value,), list(t.tags)), lambda tags, c: Tagged(c[0], tags)
)


# --- a naive reference walk ---------------------------------------------------------------


def ref_leaves(t):
    if t is None:
        return []
    if isinstance(t, dict):  # dict, OrderedDict (insertion order), defaultdict
        keys = list(t) if type(t) is collections.OrderedDict else sorted(t)
        return [leaf for k in keys for leaf in ref_leaves(t[k])]
    if isinstance(t, Box):
        return [leaf for c in t.contents for leaf in ref_leaves(c)]
    if isinstance(t, (list, tuple)):
        return [leaf for c in t for leaf in ref_leaves(c)]
    return [t]


def same(a, b):
    """Equal, with identical container types and dict key types at every level."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        keys_a, keys_b = sorted(a, key=repr), sorted(b, key=repr)
        return [(type(k), k) for k in keys_a] == [(type(k), k) for k in keys_b] and all(
            same(a[k], b[k]) for k in a
        )
    if isinstance(a, Box):
        return a.label == b.label and same(a.contents, b.contents)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def _containers(children):
    return st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(st.sampled_from("abcde"), children, max_size=4),
        st.dictionaries(st.sampled_from("xyz"), children, max_size=3).map(collections.OrderedDict),
        st.builds(Point, children, children),
        st.builds(Box, st.lists(children, max_size=3).map(tuple), st.sampled_from(["p", "q"])),
    )


trees = st.recursive(st.one_of(st.integers(), st.none()), _containers, max_leaves=20)


# --- issue 16: the flat-spec treedefs and the generated unflatten --------------------------


@given(trees)
def test_repeated_unflatten_round_trips_through_the_generated_builder(t):
    leaves, treedef = tree_flatten(t)
    assert leaves == ref_leaves(t)
    for _ in range(impl._BUILD_AFTER + 2):  # past the count that generates a builder
        assert same(tree_unflatten(tree_structure(t), leaves), t)
    assert same(treedef.unflatten(leaves), t)


@given(trees, trees)
def test_treedef_equality_and_hash_follow_the_structure(a, b):
    ta, tb = tree_structure(a), tree_structure(b)
    relabel = functools.partial(tree_map, lambda _: 0)
    assert (ta == tb) == same(relabel(a), relabel(b))
    assert ta == tree_structure(a) and hash(ta) == hash(tree_structure(a))
    assert pickle.loads(pickle.dumps(ta)) == ta


def test_builder_reads_each_treedefs_own_aux_data():
    # 1 == True, so the structures are equal (as JAX's are), yet each rebuilds its own keys.
    ints, bools = [{1: 0, 2: [0]}], [{True: 0, 2: [0]}]
    assert tree_structure(ints) == tree_structure(bools)
    for _ in range(impl._BUILD_AFTER + 1):
        assert same(tree_structure(ints).unflatten([5, 6]), [{1: 5, 2: [6]}])
    assert same(tree_structure(bools).unflatten([5, 6]), [{True: 5, 2: [6]}])


def test_deep_trees_and_unhashable_aux_data_still_unflatten():
    deep = 0
    for _ in range(impl._BUILD_MAX_DEPTH + 20):  # deeper than generated code goes
        deep = [deep, (1,)]
    tagged = [Tagged(1.0, ["a"]), {"k": (2.0,)}]
    for t in (deep, tagged):
        leaves, _ = tree_flatten(t)
        for _ in range(impl._BUILD_AFTER + 1):
            rebuilt = tree_unflatten(tree_structure(t), leaves)
        assert tree_leaves(rebuilt) == leaves and tree_structure(rebuilt) == tree_structure(t)
    with pytest.raises(TypeError):
        hash(tree_structure(tagged))
    assert tree_unflatten(tree_structure(tagged), [3.0, 4.0])[0].tags == ["a"]


def test_tree_map_over_equal_and_prefix_structures():
    params = {"w": [1.0, 2.0], "b": (3.0, None)}
    grads = {"w": [10.0, 20.0], "b": (30.0, None)}
    assert tree_map(lambda p, g: p + g, params, grads) == {"w": [11.0, 22.0], "b": (33.0, None)}
    # a leaf of the first tree matches a whole subtree of the second
    assert tree_map(lambda p, g: (p, g), [1, 2], [(3, 4), {"k": 5}]) == [(1, (3, 4)), (2, {"k": 5})]
    # unsortable keys below a leaf of the first tree are never flattened
    assert tree_map(lambda p, g: g, [1], [{1: "a", "b": 2}]) == [{1: "a", "b": 2}]
    with pytest.raises(ValueError, match=r"key path \['b'\]\[1\]: expected None"):
        tree_map(lambda p, g: p, params, {"w": [1, 2], "b": (3, 4)})


# --- issue 18: the remaining names ---------------------------------------------------------


def test_key_entry_and_key_path_types():
    path = tree_leaves_with_path({"a": [Point(1, 2)]})[1][0]
    assert path == (DictKey("a"), SequenceKey(0), GetAttrKey("y"))
    assert all(isinstance(k, KeyEntry.__bound__) for k in path)
    assert KeyPath.__origin__ is tuple


def test_flatten_one_level():
    assert flatten_one_level({"b": [1], "a": (2, 3)}) == ([(2, 3), [1]], ("a", "b"))
    assert flatten_one_level([1, [2]]) == ([1, [2]], None)
    assert flatten_one_level((1,)) == ([1], None)
    assert flatten_one_level(None) == ([], None)
    assert flatten_one_level(Point(1, (2,))) == ([1, (2,)], Point)
    od = collections.OrderedDict([("z", 1), ("a", 2)])
    assert flatten_one_level(od) == ([1, 2], ("z", "a"))
    dd = collections.defaultdict(list, {"z": 1, "a": 2})
    assert flatten_one_level(dd) == ([2, 1], (list, ("a", "z")))
    assert flatten_one_level(Box((1, 2), "p")) == ([1, 2], "p")
    children = [1, 2]
    assert flatten_one_level(children)[0] is not children  # a new list
    with pytest.raises(ValueError, match="flatten_one_level: a leaf of type float"):
        flatten_one_level(1.0)


def test_flatten_one_level_with_keys():
    assert flatten_one_level_with_keys(Point(1, 2)) == (
        [(GetAttrKey("x"), 1), (GetAttrKey("y"), 2)],
        Point,
    )
    assert flatten_one_level_with_keys({"b": 1, "a": 2}) == (
        [(DictKey("a"), 2), (DictKey("b"), 1)],
        ("a", "b"),
    )
    assert flatten_one_level_with_keys([5]) == ([(SequenceKey(0), 5)], None)
    assert flatten_one_level_with_keys(Box((7,), "q")) == ([(FlattenedIndexKey(0), 7)], "q")
    with pytest.raises(ValueError, match="flatten_one_level_with_keys: a leaf of type str"):
        flatten_one_level_with_keys("leaf")


def test_is_tree_node():
    for t in (tuple, list, dict, collections.OrderedDict, collections.defaultdict, type(None)):
        assert is_tree_node(t)
    assert is_tree_node(Point) and is_tree_node(Box) and is_tree_node(Partial)
    assert (
        not is_tree_node(int) and not is_tree_node(np.ndarray) and not is_tree_node(funcgrad.Array)
    )

    class SubList(list):
        pass

    assert not is_tree_node(SubList)  # lookup is by exact type, as in tree_flatten
    assert tree_leaves(SubList([1, 2])) == [SubList([1, 2])]
    with pytest.raises(TypeError, match=r"is_tree_node: typ must be a type.*type\(x\)"):
        is_tree_node([1, 2])


def test_treedef_children_and_treedef_tuple():
    x = [(1, 2), 3, {"a": 4}, None]
    assert treedef_children(tree_structure(x)) == [tree_structure(c) for c in x]
    assert treedef_children(tree_structure(1.0)) == []
    pair = treedef_tuple([tree_structure([1, 2]), tree_structure({"a": 3})])
    assert pair == tree_structure(([0, 0], {"a": 0}))
    assert pair.num_leaves == 3 and pair.num_nodes == 6
    assert pair.unflatten([1, 2, 3]) == ([1, 2], {"a": 3})
    assert treedef_tuple([]) == tree_structure(())
    assert treedef_tuple(iter([tree_structure(1)])) == tree_structure((1,))
    with pytest.raises(TypeError, match=r"treedef_tuple: treedefs\[1\] must be a PyTreeDef"):
        treedef_tuple([tree_structure(1), 2])
    with pytest.raises(TypeError, match="treedef_children: treedef must be a PyTreeDef"):
        treedef_children([1])


def _ref_broadcast(prefix, full):
    """Each leaf of `prefix` repeated over the matching subtree of `full` (plain containers)."""
    if isinstance(prefix, dict):
        return {k: _ref_broadcast(prefix[k], full[k]) for k in full}
    if isinstance(prefix, (list, tuple)) and not isinstance(prefix, Point):
        return type(full)(_ref_broadcast(p, f) for p, f in zip(prefix, full))
    if prefix is None:
        return None
    return tree_map(lambda _: prefix, full)


@given(trees)
def test_tree_broadcast_against_a_reference(full):
    # the prefix: full cut at depth one, each direct child replaced by a marker leaf
    if isinstance(full, dict) and type(full) is dict:
        prefix = {k: f"<{k}>" for k in full}
    elif type(full) in (list, tuple):
        prefix = type(full)(f"<{i}>" for i in range(len(full)))
    else:
        prefix = "<root>"
    got = tree_broadcast(prefix, full)
    assert same(got, _ref_broadcast(prefix, full))
    assert tree_structure(got) == tree_structure(full)


def test_tree_broadcast_values_is_leaf_and_errors():
    assert tree_broadcast({"a": 1, "b": 2}, {"a": (0, 0), "b": [0]}) == {"a": (1, 1), "b": [2]}
    assert tree_broadcast([1, None], [(0, 0), None]) == [(1, 1), None]
    assert tree_broadcast(7, None) is None
    # is_leaf applies to the prefix: the pair (1, 2) is one leaf, repeated
    got = tree_broadcast([(1, 2)], [[0, 0]], is_leaf=lambda x: isinstance(x, tuple))
    assert got == [[(1, 2), (1, 2)]]
    assert tree.broadcast is tree_broadcast
    with pytest.raises(ValueError, match=r"tree_broadcast: .* at key path \[1\]: expected None"):
        tree_broadcast([1, None], [0, 0])
    with pytest.raises(ValueError, match=r"at the root: expected a list with 2 children"):
        tree_broadcast([1, 2], [0])


@given(st.lists(st.text(alphabet="abcxyz", min_size=1, max_size=2), max_size=12))
def test_tree_reduce_associative_matches_a_fold_for_an_associative_operation(words):
    # string concatenation is associative but not commutative: any reordering would show
    t = {"w": words[: len(words) // 2], "v": tuple(words[len(words) // 2 :])}
    expected = "".join(tree_leaves(t))
    assert tree_reduce_associative(lambda a, b: a + b, t, identity="") == expected


def test_tree_reduce_associative_pairs_halves():
    def show(a, b):
        return f"({a}{b})"

    assert tree_reduce_associative(show, list("abcde")) == "((ab)(c(de)))"
    assert tree_reduce_associative(show, ["a", ("b",), {"c": "c", "d": "d"}]) == "((ab)(cd))"
    assert tree_reduce_associative(show, [[], ["x"]]) == "x"
    assert (
        tree_reduce_associative(show, [(1, 2), (3, 4)], is_leaf=lambda x: isinstance(x, tuple))
        == "((1, 2)(3, 4))"
    )
    assert tree_reduce_associative(show, {}, identity=0) == 0
    assert tree.reduce_associative is tree_reduce_associative
    with pytest.raises(TypeError, match="tree_reduce_associative: .*pass identity="):
        tree_reduce_associative(show, [None, ()])


def test_register_pytree_with_keys_class():
    flattened = []

    @register_pytree_with_keys_class
    class Pair:
        def __init__(self, first, second):
            self.first, self.second = first, second

        def tree_flatten_with_keys(self):
            return [(GetAttrKey("first"), self.first), (GetAttrKey("second"), self.second)], "aux"

        def tree_flatten(self):
            flattened.append(self)
            return (self.first, self.second), "aux"

        @classmethod
        def tree_unflatten(cls, aux, children):
            assert aux == "aux"
            return cls(*children)

    p = Pair(1, [2, 3])
    assert [keystr(k) for k, _ in tree_leaves_with_path(p)] == [
        ".first",
        ".second[0]",
        ".second[1]",
    ]
    assert tree_leaves(p) == [1, 2, 3] and flattened  # tree_flatten serves the key-less walk
    doubled = tree_map(lambda x: 2 * x, p)
    assert (doubled.first, doubled.second) == (2, [4, 6])

    @register_pytree_with_keys_class
    class KeysOnly:
        def __init__(self, v):
            self.v = v

        def tree_flatten_with_keys(self):
            return [(DictKey("v"), self.v)], None

        @classmethod
        def tree_unflatten(cls, aux, children):
            return cls(children[0])

    assert tree_leaves([KeysOnly(5)]) == [5]
    assert tree_flatten_with_path(KeysOnly(5))[0] == [((DictKey("v"),), 5)]

    class Missing:
        def tree_flatten_with_keys(self):
            return [], None

    with pytest.raises(
        TypeError, match="register_pytree_with_keys_class: .*Missing has no tree_unflatten"
    ):
        register_pytree_with_keys_class(Missing)
    with pytest.raises(ValueError, match="already registered"):
        register_pytree_with_keys_class(Pair)


@register_static
class Mode(str):
    pass


def test_register_static_values_are_structure_not_leaves():
    t = {"x": 1.0, "mode": Mode("train")}
    leaves, treedef = tree_flatten(t)
    assert leaves == [1.0]
    assert treedef != tree_structure({"x": 1.0, "mode": Mode("eval")})
    rebuilt = treedef.unflatten([2.0])
    assert rebuilt == {"x": 2.0, "mode": "train"} and type(rebuilt["mode"]) is Mode
    assert tree_map(lambda v: v * 3, t) == {"x": 3.0, "mode": "train"}
    assert tree_leaves_with_path(t) == [((DictKey("x"),), 1.0)]

    traces = []

    @funcgrad.jit
    def f(x, mode):
        traces.append(mode)
        return x * 2 if mode == "train" else x - 1

    x = fnp.asarray([1.0, 2.0])
    for _ in range(3):
        np.testing.assert_allclose(f(x, Mode("train")), [2.0, 4.0])
    np.testing.assert_allclose(f(x, Mode("eval")), [0.0, 1.0])
    np.testing.assert_allclose(f(x, Mode("train")), [2.0, 4.0])
    assert traces == ["train", "eval"]  # static by value, no static_argnums

    class Unhashable:
        __hash__ = None

    with pytest.raises(TypeError, match="register_static: .*Unhashable is unhashable"):
        register_static(Unhashable)
    with pytest.raises(ValueError, match="already registered"):
        register_static(Mode)


def test_partial_is_a_pytree_function():
    add_one = Partial(fnp.add, 1.0)
    assert float(add_one(2.0)) == 3.0
    leaves, treedef = tree_flatten(Partial(max, 1, key=abs))
    assert leaves == [1, abs]
    rebuilt = treedef.unflatten([-5, abs])
    assert type(rebuilt) is Partial and rebuilt(3) == -5  # max(-5, 3, key=abs)
    assert tree_structure(Partial(max, 1)) == tree_structure(Partial(max, 2))
    assert tree_structure(Partial(max, 1)) != tree_structure(Partial(min, 1))

    # a functools.partial function keeps its own bound arguments out of the pytree
    inner = functools.partial(lambda a, b, c: 100 * a + 10 * b + c, 1)
    p = Partial(inner, 2)
    assert tree_leaves(p) == [2] and p(3) == 123
    assert p.func.func is inner.func and p.func.args == (1,)
    assert tree_map(lambda v: v + 5, p)(3) == 173
    assert tree_structure(Partial(inner, 0)) == tree_structure(p)

    traces = []

    @funcgrad.jit
    def call(f, x):
        traces.append(1)
        return f(x)

    scale = Partial(fnp.multiply, fnp.asarray(3.0))
    assert float(call(scale, fnp.asarray(2.0))) == 6.0
    assert float(call(Partial(fnp.multiply, fnp.asarray(5.0)), fnp.asarray(2.0))) == 10.0
    assert len(traces) == 1  # the bound array is traced, not baked in
    grad = funcgrad.grad(lambda f, x: f(x) ** 2, argnums=1)(scale, 2.0)
    assert float(grad) == pytest.approx(2 * 6.0 * 3.0)


def test_default_registry():
    r = default_registry
    assert r.flatten({"b": 2, "a": (1,)}) == tree_flatten({"b": 2, "a": (1,)})
    assert r.flatten([1, (2, 3)], lambda x: isinstance(x, tuple)) == (
        [1, (2, 3)],
        tree_structure([0, 0]),
    )
    assert r.flatten_one_level([1, (2, 3)]) == ([1, (2, 3)], None)
    assert r.flatten_one_level(1.0) is None and r.flatten_one_level_with_keys(1.0) is None
    assert r.flatten_one_level_with_keys((4,)) == ([(SequenceKey(0), 4)], None)
    seen = []
    pairs, _ = r.flatten_with_path([1, (2,)], lambda path, x: seen.append(path) or False)
    assert seen == [(), (SequenceKey(0),), (SequenceKey(1),), (SequenceKey(1), SequenceKey(0))]
    assert pairs == [((SequenceKey(0),), 1), ((SequenceKey(1), SequenceKey(0)), 2)]
    assert r.is_node(list) and not r.is_node(float)

    class Node:
        def __init__(self, a):
            self.a = a

    r.register_node(Node, lambda n: ((n.a,), None), lambda _, c: Node(c[0]))
    assert tree_leaves([Node(3)]) == [3]

    @dataclasses.dataclass
    class Cfg:
        w: float
        name: str

    r.register_dataclass_node(Cfg, ["w"], ["name"])
    assert tree_flatten(Cfg(1.0, "n")) == ([1.0], tree_structure(Cfg(9.0, "n")))
    with pytest.raises(TypeError, match="one pytree registry"):
        type(r)()


def test_is_leaf_takes_path():
    t = {"a": (1, 2), "b": [(3, 4)]}
    pairs, treedef = tree_flatten_with_path(
        t, is_leaf=lambda path, x: len(path) == 2 and isinstance(x, tuple), is_leaf_takes_path=True
    )
    assert pairs == [
        ((DictKey("a"), SequenceKey(0)), 1),
        ((DictKey("a"), SequenceKey(1)), 2),
        ((DictKey("b"), SequenceKey(0)), (3, 4)),
    ]
    assert treedef == tree_structure({"a": (0, 0), "b": [0]})
    assert tree_leaves_with_path(t, lambda p, x: p == (DictKey("a"),), True)[0] == (
        (DictKey("a"),),
        (1, 2),
    )
    out = tree_map_with_path(
        lambda p, x: len(p), t, is_leaf=lambda p, x: p == (DictKey("b"),), is_leaf_takes_path=True
    )
    assert out == {"a": (2, 2), "b": 1}


def test_tree_static_marks_dataclass_fields():
    field = tree.static(default="add", metadata={"doc": "op", "static": False})
    assert dict(field.metadata) == {"doc": "op", "static": True} and field.default == "add"

    @register_dataclass
    @dataclasses.dataclass
    class Op:
        x: float
        kind: str = tree.static(default="add")
        items: tuple = tree.static(default_factory=tuple)

    leaves, treedef = tree_flatten(Op(1.0))
    assert leaves == [1.0]
    assert treedef == tree_structure(Op(5.0)) and treedef != tree_structure(Op(1.0, "sub"))
    assert treedef.unflatten([2.0]) == Op(2.0, "add", ())


# --- issue 16: jit's check of a whole argument pytree ---------------------------------------

# (each signature change below is meant: its recompilation warning is not the subject)
pytestmark_jit = pytest.mark.filterwarnings("ignore::UserWarning")


def _counting_jit(fun, **kwargs):
    traces = []

    def body(*args):
        traces.append(1)
        return fun(*args)

    return funcgrad.jit(body, **kwargs), traces


def _step(params, state, x, i):
    """A training-step-shaped function; the oracle is the same function run eagerly."""
    w = params["w"][0] * state.scale + i
    return {"w": [w, params["w"][1]]}, state._replace(count=state.count + 1), fnp.sum(x) * w


State = collections.namedtuple("State", ["scale", "count"])


def _assert_tree_close(got, want):
    assert tree_structure(got) == tree_structure(want)
    for g, w in zip(tree_leaves(got), tree_leaves(want)):
        assert type(g) is funcgrad.Array and g.dtype == np.asarray(w).dtype
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6)


@pytestmark_jit
def test_pytree_calls_take_the_check_and_step_aside_when_anything_differs():
    f, traces = _counting_jit(_step)
    params = {"w": [fnp.ones(3), fnp.zeros(2)]}
    state = State(fnp.asarray(2.0), fnp.asarray(0))
    x = np.arange(4.0)  # a NumPy batch, converted on every call
    calls = [
        (params, state, x, 1),
        (params, state, x, 2),  # the check now exists: same program, new int value
        (params, state, x + 1, 3),
        (params, state, np.arange(5.0), 1),  # new shape
        (params, state, x.astype(np.float32), 1),  # new dtype
        (params, state, fnp.asarray(x), 1),  # an Array where a NumPy array was
        (params, state, x, 1.5),  # a float where an int was (weak float, new program)
        (params, state, x, True),  # a bool where an int was
        ({"w": [fnp.ones(3), fnp.zeros(2)], "v": fnp.ones(1)}, state, x, 1),  # new key
        ({"v": [fnp.ones(3), fnp.zeros(2)]}, state, x, 1),  # same count, other key
        ({"w": (fnp.ones(3), fnp.zeros(2))}, state, x, 1),  # tuple for list
        ({"w": [fnp.ones(3), fnp.zeros(2), None]}, state, x, 1),  # longer list
        (params, (fnp.asarray(2.0), fnp.asarray(0)), x, 1),  # tuple for namedtuple
        (params, state, x, 1),
        (params, state, x, 4),
    ]
    f(*calls[0])
    f(*calls[0])
    assert f._last[4], "the second call of a pytree signature installs its check"
    for args in calls:
        try:
            want = _step(*args)
        except (KeyError, AttributeError) as e:  # the function itself refuses these
            with pytest.raises(type(e)):
                f(*args)
            continue
        _assert_tree_close(f(*args), want)
    # one trace per signature: the first, shape, dtype, float, bool, the two key
    # changes, tuple for list, longer list, tuple for namedtuple (new int values and the
    # Array batch, of the NumPy batch's shape and dtype, reuse programs)
    assert len(traces) == 10


@pytestmark_jit
def test_pytree_check_with_ordered_dicts_custom_nodes_and_registration():
    f, traces = _counting_jit(lambda d, b: (d["a"] * 2, b.contents[0] + 1))
    d = collections.OrderedDict([("b", fnp.ones(2)), ("a", fnp.ones(2))])
    for _ in range(3):
        out = f(d, Box((fnp.zeros(1),), "p"))
        np.testing.assert_allclose(out[0], [2.0, 2.0])
    reordered = collections.OrderedDict([("a", fnp.ones(2)), ("b", fnp.ones(2))])
    np.testing.assert_allclose(f(reordered, Box((fnp.zeros(1),), "p"))[0], [2.0, 2.0])
    f(d, Box((fnp.zeros(1),), "q"))  # other aux data: another structure
    assert len(traces) == 3

    class Late:  # a leaf type now, a node after registration
        pass

    g, g_traces = _counting_jit(lambda x: x[0] * 2)
    for _ in range(3):
        np.testing.assert_allclose(g([fnp.ones(1)]), [2.0])
    check = g._last[1]  # the generated pytree check
    assert check(([fnp.ones(1)],)) is not None and check(([fnp.ones(2)],)) is None
    register_pytree_node(Late, lambda n: ((), None), lambda aux, c: Late())
    assert check(([fnp.ones(1)],)) is None  # a node type was registered since: step aside
    np.testing.assert_allclose(g([fnp.ones(1)]), [2.0])
    assert len(g_traces) == 1


@pytestmark_jit
def test_pytree_check_with_donation():
    step = funcgrad.jit(lambda p, g: tree_map(lambda a, b: a - 0.5 * b, p, g), donate_argnums=0)
    params = {"w": [fnp.ones(3), fnp.ones(2)]}
    grads = {"w": [fnp.ones(3), fnp.full(2, 2.0)]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(4):
            old = params
            params = step(params, grads)
            with pytest.raises(RuntimeError, match="donated"):
                np.asarray(old["w"][0]) + 0
    np.testing.assert_allclose(params["w"][0], [-1.0] * 3)
    np.testing.assert_allclose(params["w"][1], [-3.0] * 2)
    np.testing.assert_allclose(grads["w"][1], [2.0] * 2)  # not donated: untouched


def test_namedtuple_that_redefines_len_iter_and_getitem_flattens_by_its_fields():
    # (scipy.spatial.transform.Rotation-like classes count their items, not their fields)
    from typing import NamedTuple

    class Batch(NamedTuple):
        a: object
        b: object

        def __len__(self):
            return 7

        def __iter__(self):
            return iter(range(7))

        def __getitem__(self, i):
            return "item"

    tree = Batch(fnp.ones(2), fnp.zeros(3))
    leaves, treedef = tree_util.tree_flatten(tree)
    assert len(leaves) == 2 and treedef.num_leaves == 2
    paths = [p for p, _ in tree_util.tree_flatten_with_path(tree)[0]]
    assert [p[0].name for p in paths] == ["a", "b"]
    f = funcgrad.jit(lambda t: t.a.sum() + t.b.sum() * 2)
    assert float(f(tree)) == float(f(tree)) == 2.0  # the traced call and the checked fast call
    doubled = tree_util.tree_map(lambda x: x * 2, tree)
    np.testing.assert_array_equal(np.asarray(tuple.__getitem__(doubled, 0)), [2.0, 2.0])
