"""funcgrad.io: checkpoint round trips, templates, malformed files, the manager, exact resume.

Oracles: the saved values themselves compared bit for bit (dtype, shape, bytes, Python
types), safetensors' own reader for the file format, hand-built files (struct + json,
never our writer) for every malformed case, hand-computed keep sets for the manager, and
an uninterrupted training run for resumption.
"""

from __future__ import annotations

import ast
import collections
import dataclasses
import json
import math
import os
import pathlib
import re
import stat
import struct
from typing import Any, NamedTuple

import numpy as np
import pytest
import safetensors.numpy
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad
import funcgrad.numpy as fnp
import funcgrad.random as frandom
from funcgrad import io
from funcgrad.io import CheckpointError, CheckpointManager
from funcgrad.tree_util import register_dataclass, register_pytree_node

ALL_DTYPES = [
    np.dtype(t)
    for t in (
        np.bool_,
        np.int8,
        np.int16,
        np.int32,
        np.int64,
        np.uint8,
        np.uint16,
        np.uint32,
        np.uint64,
        np.float16,
        np.float32,
        np.float64,
        np.complex64,
        np.complex128,
    )
]


# ---------------------------------------------------------------------------------------
# Exact comparison (the oracle for round trips)
# ---------------------------------------------------------------------------------------


def _same_float(a: float, b: float) -> bool:
    return struct.pack("<d", a) == struct.pack("<d", b) or (math.isnan(a) and math.isnan(b))


def assert_same(a: Any, b: Any, path: str = "", *, dict_order: bool = True) -> None:
    """``a`` and ``b`` are the same pytree: node types, keys, leaf types, dtypes, bytes.

    With ``dict_order=False`` plain dicts may differ in key order (pytrees built from a
    treedef, as ``like=`` results are, have their dict keys sorted)."""
    assert type(a) is type(b), f"{path}: {type(a)} != {type(b)}"
    if isinstance(a, (funcgrad.Array, np.ndarray, np.generic)):
        x, y = np.asarray(a), np.asarray(b)
        assert (x.dtype, x.shape) == (y.dtype, y.shape), (
            f"{path}: {x.dtype}{x.shape} != {y.dtype}{y.shape}"
        )
        assert x.tobytes() == y.tobytes(), f"{path}: data differs"
        if isinstance(a, funcgrad.Array):
            assert a.backend == b.backend, path
    elif type(a) is float:
        assert _same_float(a, b), f"{path}: {a!r} != {b!r}"
    elif type(a) is complex:
        assert _same_float(a.real, b.real) and _same_float(a.imag, b.imag), path
    elif isinstance(a, dict):
        ordered = dict_order or type(a) is not dict
        ka, kb = (list(a), list(b)) if ordered else (sorted(a, key=repr), sorted(b, key=repr))
        assert ka == kb, f"{path}: keys {list(a)} != {list(b)}"
        for k in a:
            assert_same(a[k], b[k], f"{path}[{k!r}]", dict_order=dict_order)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]", dict_order=dict_order)
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            assert_same(
                getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}", dict_order=dict_order
            )
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def roundtrip(tmp_path: pathlib.Path, tree: Any, **kwargs: Any) -> Any:
    path = tmp_path / "tree.safetensors"
    io.save(path, tree)
    return io.load(path, **kwargs)


def special_values(dtype: np.dtype, shape: tuple) -> np.ndarray:
    """Edge values of ``dtype`` (extremes, NaN, infinities, -0.0) filling ``shape``."""
    n = math.prod(shape)
    if dtype.kind == "b":
        base = np.array([True, False, True])
    elif dtype.kind in "iu":
        info = np.iinfo(dtype)
        base = np.array([info.min, info.max, 0, 1, info.max - 1], dtype)
    else:
        real = np.dtype(f"f{dtype.itemsize // 2}") if dtype.kind == "c" else dtype
        info = np.finfo(real)
        vals = np.array(
            [np.nan, np.inf, -np.inf, -0.0, info.max, info.tiny, info.smallest_subnormal, 1 / 3],
            real,
        )
        base = vals
        if dtype.kind == "c":  # set the parts directly: arithmetic would mix NaN into both
            base = np.empty(len(vals), dtype)
            base.real, base.imag = vals, vals[::-1]
    return np.resize(base.astype(dtype), n).reshape(shape)


# ---------------------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_every_dtype_and_shape_round_trips_exactly(tmp_path, dtype):
    shapes = [(), (0,), (3, 0, 2), (5,), (2, 3, 4)]
    tree = {
        "numpy": [special_values(dtype, s) for s in shapes],
        "funcgrad": [fnp.asarray(special_values(dtype, s)) for s in shapes],
        "scalar": special_values(dtype, ())[()],
        # non-contiguous and big-endian inputs are stored as their values
        "strided": special_values(dtype, (4, 6))[::2, ::3],
        "big_endian": special_values(dtype, (3,)).astype(dtype.newbyteorder(">")),
    }
    out = roundtrip(tmp_path, tree)
    expected = dict(
        tree,
        strided=np.ascontiguousarray(tree["strided"]),
        big_endian=tree["big_endian"].astype(dtype),
    )
    assert_same(out, expected)
    assert out["big_endian"].dtype.isnative


def test_python_scalar_and_string_leaves_round_trip(tmp_path):
    tree = [
        True,
        False,
        0,
        -(2**80),
        2**64 + 1,
        0.1,
        -0.0,
        math.inf,
        -math.inf,
        math.nan,
        1e-310,
        complex(-0.0, math.nan),
        "",
        "ü ✓ [weird] 'key'",
        None,
        (),
    ]
    assert_same(roundtrip(tmp_path, tree), tree)


def test_file_is_plain_safetensors_with_key_path_names(tmp_path):
    """safetensors' own reader sees the arrays, named by key path (complex as (..., 2))."""
    path = tmp_path / "t.safetensors"
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    z = np.array([1 + 2j, 3 - 4j], np.complex128)
    io.save(path, {"params": [{"w": w}], "z": funcgrad.device_put(z), "step": 7})
    tensors = safetensors.numpy.load_file(str(path))
    assert sorted(tensors) == ["['params'][0]['w']", "['z']"]
    np.testing.assert_array_equal(tensors["['params'][0]['w']"], w)
    np.testing.assert_array_equal(tensors["['z']"], np.stack([z.real, z.imag], axis=-1))


def _trees(leaves: st.SearchStrategy) -> st.SearchStrategy:
    keys = st.one_of(
        st.lists(st.text(max_size=4), max_size=3, unique=True),
        st.lists(st.integers(-5, 5), max_size=3, unique=True),
    )

    def nodes(children):
        return st.one_of(
            st.lists(children, max_size=3),
            st.lists(children, max_size=3).map(tuple),
            keys.flatmap(
                lambda ks: st.tuples(*[children] * len(ks)).map(lambda cs: dict(zip(ks, cs)))
            ),
            st.lists(children, max_size=3).map(lambda cs: collections.OrderedDict(zip("cab", cs))),
            st.just(None),
        )

    return st.recursive(leaves, nodes, max_leaves=8)


_arrays = st.sampled_from(ALL_DTYPES).flatmap(
    lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3))
)
_leaves = st.one_of(
    _arrays,
    _arrays.map(fnp.asarray),
    _arrays.map(lambda a: a[()] if a.ndim == 0 else a),  # NumPy scalars too
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.complex_numbers(allow_nan=True),
    st.text(max_size=5),
)


@settings(max_examples=40)
@given(tree=_trees(_leaves))
def test_hypothesis_round_trip_without_like(tmp_path_factory, tree):
    assert_same(roundtrip(tmp_path_factory.mktemp("rt"), tree), tree)


class Point(NamedTuple):
    x: Any
    y: Any


@register_dataclass
@dataclasses.dataclass
class Layer:
    w: Any
    b: Any
    activation: str = dataclasses.field(default="relu", metadata={"static": True})


@settings(max_examples=25)
@given(tree=_trees(_leaves.filter(lambda x: not isinstance(x, np.generic))), data=st.data())
def test_hypothesis_round_trip_into_like(tmp_path_factory, tree, data):
    """Wrapped in NamedTuple/dataclass nodes, the tree comes back exactly via like=."""
    wrapped = Point(
        x=Layer(w=tree, b=[tree], activation=data.draw(st.sampled_from(["relu", "tanh"]))),
        y={"inner": Point(tree, None)},
    )
    out = roundtrip(tmp_path_factory.mktemp("like"), wrapped, like=wrapped)
    assert_same(out, wrapped, dict_order=False)
    assert out.x.activation == wrapped.x.activation


# ---------------------------------------------------------------------------------------
# like= templates and backends
# ---------------------------------------------------------------------------------------


class AdamState(NamedTuple):
    count: Any
    mu: Any
    nu: Any


class Pair:
    """A custom node registered without keys (its children get FlattenedIndexKey)."""

    def __init__(self, first, second, tag):
        self.first, self.second, self.tag = first, second, tag


register_pytree_node(
    Pair, lambda p: ((p.first, p.second), p.tag), lambda tag, c: Pair(c[0], c[1], tag)
)


def test_namedtuple_dataclass_and_custom_nodes_without_like_come_back_as_dicts(tmp_path):
    tree = {
        "opt": AdamState(fnp.zeros((), dtype="int32"), {"w": fnp.ones(2)}, {"w": fnp.ones(2)}),
        "layer": Layer(w=fnp.ones(3), b=np.zeros(3), activation="tanh"),
        "pair": Pair(1, 2.5, "t"),
        "dd": collections.defaultdict(list, {"a": 1}),
        "od": collections.OrderedDict([("z", 1), ("a", 2)]),
    }
    out = roundtrip(tmp_path, tree)
    assert_same(
        out["opt"], {"count": tree["opt"].count, "mu": tree["opt"].mu, "nu": tree["opt"].nu}
    )
    assert_same(out["layer"], {"w": tree["layer"].w, "b": tree["layer"].b})
    assert_same(out["pair"], {0: 1, 1: 2.5})
    assert_same(out["dd"], {"a": 1})
    assert_same(out["od"], collections.OrderedDict([("z", 1), ("a", 2)]))


def test_like_restores_node_types_static_fields_and_leaf_kinds(tmp_path):
    saved = {
        "opt": AdamState(
            fnp.asarray(3, dtype="int32"), {"w": fnp.full(2, 0.5)}, {"w": fnp.full(2, 0.25)}
        ),
        "layer": Layer(w=fnp.ones(3), b=fnp.zeros(3), activation="tanh"),
        "pair": Pair(np.arange(2), 7, "x"),
        "step": 12,
    }
    like = funcgrad.tree_util.tree_map(lambda x: x, saved)
    like["step"] = 0
    like["layer"] = Layer(w=fnp.zeros(3), b=np.zeros(3), activation="tanh")  # b as NumPy
    out = roundtrip(tmp_path, saved, like=like)
    assert type(out["opt"]) is AdamState and type(out["pair"]) is Pair and out["pair"].tag == "x"
    assert out["step"] == 12 and out["layer"].activation == "tanh"
    assert isinstance(out["layer"].b, np.ndarray)  # the template's leaf kind wins
    np.testing.assert_array_equal(out["layer"].b, np.zeros(3))
    assert_same(out["opt"], saved["opt"], dict_order=False)


def test_like_accepts_shape_dtype_structs(tmp_path):
    params = {"w": fnp.ones((2, 3), dtype="float32"), "b": fnp.zeros(3, dtype="float32")}
    like = funcgrad.eval_shape(lambda: params)
    assert_same(roundtrip(tmp_path, params, like=like), params, dict_order=False)


def test_backend_choice(tmp_path):
    tree = {"w": fnp.arange(3.0), "host": np.arange(2)}
    out = roundtrip(tmp_path, tree, backend="numpy")
    assert out["w"].backend == "numpy" and isinstance(out["host"], np.ndarray)
    with pytest.raises(Exception, match="no_such_backend"):
        io.load(tmp_path / "tree.safetensors", backend="no_such_backend")


def test_cupy_backend(tmp_path):
    if "cupy" not in funcgrad.devices():
        pytest.skip("CuPy backend not available on this machine (no GPU or no cupy)")
    tree = {
        "w": fnp.arange(4.0, dtype="float32"),
        "c": fnp.asarray(np.array([1 + 1j], np.complex64)),
    }
    out = roundtrip(tmp_path, tree, backend="cupy")
    assert out["w"].backend == "cupy"
    np.testing.assert_array_equal(np.asarray(out["c"]), np.array([1 + 1j], np.complex64))
    # saved from CuPy, loaded onto the default (NumPy) backend
    back = roundtrip(tmp_path, out, backend="numpy")
    assert back["w"].backend == "numpy" and back["w"].tolist() == [0.0, 1.0, 2.0, 3.0]
    # like's arrays choose the backend when backend= is not given
    assert io.load(tmp_path / "tree.safetensors", like=out)["w"].backend == "cupy"


# ---------------------------------------------------------------------------------------
# What save refuses
# ---------------------------------------------------------------------------------------


def test_save_rejects_unstorable_leaves_naming_the_key_path(tmp_path):
    path = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match=r"save: .*\['a'\]\[1\].*object"):
        io.save(path, {"a": [1, object()]})
    with pytest.raises(TypeError, match=r"\['s'\].*dtype <U1"):
        io.save(path, {"s": np.array(["x"])})
    with pytest.raises(TypeError, match=r"dict key \(1, 2\)"):
        io.save(path, {"d": {(1, 2): 3}})
    with pytest.raises(TypeError, match=r"tracer.*outside jit"):
        funcgrad.jit(lambda x: io.save(path, {"x": x}) or x)(fnp.ones(2))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        io.save(tmp_path / "missing_dir" / "x.safetensors", {"a": 1})
    assert not path.exists() and os.listdir(tmp_path) == []  # nothing half-written


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "x.safetensors"
    io.save(path, {"v": 1})

    def broken(tensors, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.numpy, "save_file", broken)
    with pytest.raises(OSError, match="disk full"):
        io.save(path, {"v": 2})
    assert os.listdir(tmp_path) == ["x.safetensors"]
    assert io.load(path) == {"v": 1}


def test_saved_file_has_the_permissions_open_would_give(tmp_path):
    path = tmp_path / "x.safetensors"
    io.save(path, {"v": np.zeros(3)})
    reference = tmp_path / "reference"
    reference.write_bytes(b"")
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(reference.stat().st_mode)


# ---------------------------------------------------------------------------------------
# Malformed files, built by hand
# ---------------------------------------------------------------------------------------


def raw_file(
    path: pathlib.Path, header: Any, data: bytes = b"", *, header_bytes: bytes | None = None
) -> pathlib.Path:
    """A safetensors-like file written byte by byte (not by any safetensors writer)."""
    hb = json.dumps(header).encode() if header_bytes is None else header_bytes
    path.write_bytes(struct.pack("<Q", len(hb)) + hb + data)
    return path


def tree_meta(tree_json: Any, version: str = "1") -> dict:
    return {"funcgrad_checkpoint": version, "funcgrad_tree": json.dumps(tree_json)}


def array_leaf(name: str, dtype: str, shape: list) -> dict:
    return {"leaf": "array", "tensor": name, "dtype": dtype, "shape": shape, "type": "numpy"}


def good_header(**changes: Any) -> dict:
    """A valid two-tensor checkpoint header: 'a' float32[2] then 'b' int8[3] (11 bytes)."""
    tree = {
        "node": "dict",
        "keys": [["dict", ["str", "a"]], ["dict", ["str", "b"]]],
        "children": [array_leaf("a", "float32", [2]), array_leaf("b", "int8", [3])],
    }
    header = {
        "__metadata__": tree_meta(tree),
        "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "b": {"dtype": "I8", "shape": [3], "data_offsets": [8, 11]},
    }
    header.update(changes)
    return header


GOOD_DATA = np.array([1.5, -2.0], "<f4").tobytes() + np.array([1, -2, 3], "i1").tobytes()


def test_hand_built_file_loads(tmp_path):
    """The oracle for the malformed cases: the unmodified hand-built file is accepted."""
    out = io.load(raw_file(tmp_path / "ok.safetensors", good_header(), GOOD_DATA))
    assert_same(out, {"a": np.array([1.5, -2.0], np.float32), "b": np.array([1, -2, 3], np.int8)})


def expect_rejected(path: pathlib.Path, match: str, **kwargs: Any) -> None:
    with pytest.raises(CheckpointError, match=match) as info:
        io.load(path, **kwargs)
    assert str(path) in str(info.value) and info.value.path == str(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.safetensors.* does not exist"):
        io.load(tmp_path / "nope.safetensors")
    with pytest.raises(IsADirectoryError, match="is a directory.*CheckpointManager"):
        io.load(tmp_path)


def test_every_truncation_of_a_checkpoint_is_rejected(tmp_path):
    full = tmp_path / "full.safetensors"
    io.save(full, {"w": np.arange(5, dtype=np.float32), "n": 3, "z": np.ones(2, np.complex64)})
    data = full.read_bytes()
    cut = tmp_path / "cut.safetensors"
    for n in range(len(data)):
        cut.write_bytes(data[:n])
        with pytest.raises(CheckpointError) as info:
            io.load(cut)
        assert str(cut) in str(info.value)
        assert re.search("too short|truncated|header length|not UTF-8 JSON", str(info.value)), n


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("huge_header_length", "header length field says"),
        ("not_json", "not UTF-8 JSON"),
        ("not_utf8", "not UTF-8 JSON"),
        ("json_list", "JSON list, not an object"),
        ("duplicate_name", "lists the name 'a' twice"),
        ("size_lie", r"lies about tensor 'a': shape \(2,\) of F32 needs 8 bytes"),
        ("overlap", "overlaps the tensor before it"),
        ("gap", "leaves a gap before it"),
        ("past_end", "truncated: its header describes 12 bytes"),
        ("trailing_bytes", "4 unexpected bytes follow the last tensor"),
        ("bf16", "dtype 'BF16', which funcgrad cannot load"),
        ("unknown_dtype", "dtype 'Q7'"),
        ("negative_shape", r"shape \[-2\]"),
        ("bad_offsets", "data_offsets"),
        ("extra_field", "exactly the fields"),
        ("bad_metadata", "__metadata__ is not a map of strings"),
    ],
)
def test_lying_or_broken_headers_are_rejected(tmp_path, case, match):
    path = tmp_path / f"{case}.safetensors"
    data = GOOD_DATA
    a = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
    if case == "huge_header_length":
        path.write_bytes(struct.pack("<Q", 2**63) + b"{}")
    elif case == "not_json":
        raw_file(path, None, header_bytes=b"{not json")
    elif case == "not_utf8":
        raw_file(path, None, header_bytes=b"\xff\xfe{}")
    elif case == "json_list":
        raw_file(path, [1, 2])
    elif case == "duplicate_name":
        hb = json.dumps(good_header())[:-1] + ', "a": ' + json.dumps(a) + "}"
        raw_file(path, None, data, header_bytes=hb.encode())
    else:
        header = {
            "size_lie": good_header(a={**a, "data_offsets": [0, 7]}),
            "overlap": good_header(b={"dtype": "I8", "shape": [3], "data_offsets": [7, 10]}),
            "gap": good_header(b={"dtype": "I8", "shape": [3], "data_offsets": [9, 12]}),
            "past_end": good_header(b={"dtype": "I8", "shape": [4], "data_offsets": [8, 12]}),
            "trailing_bytes": good_header(),
            "bf16": good_header(a={**a, "dtype": "BF16", "shape": [4]}),
            "unknown_dtype": good_header(a={**a, "dtype": "Q7"}),
            "negative_shape": good_header(a={**a, "shape": [-2]}),
            "bad_offsets": good_header(a={**a, "data_offsets": [8, 0]}),
            "extra_field": good_header(a={**a, "note": 1}),
            "bad_metadata": good_header(__metadata__={"funcgrad_checkpoint": 1}),
        }[case]
        raw_file(path, header, data + (b"\0" * 4 if case == "trailing_bytes" else b""))
    expect_rejected(path, match)


def test_plain_safetensors_file_is_not_a_checkpoint_unless_allowed(tmp_path):
    path = tmp_path / "plain.safetensors"
    weights = {
        "layer.weight": np.arange(6, dtype=np.float16).reshape(2, 3),
        "c": np.array([1j], np.complex64),
    }
    safetensors.numpy.save_file(weights, str(path), metadata={"format": "pt"})
    expect_rejected(path, r"not a funcgrad checkpoint.*allow_plain=True")
    flat = io.load(path, allow_plain=True)
    assert sorted(flat) == ["c", "layer.weight"] and isinstance(flat["c"], funcgrad.Array)
    for name, value in weights.items():
        assert_same(np.asarray(flat[name]), value)
    with pytest.raises(ValueError, match="like= cannot be used with allow_plain"):
        io.load(path, like={"c": 0}, allow_plain=True)


@pytest.mark.parametrize(
    ("tree", "match"),
    [
        ({"node": "set", "keys": [], "children": []}, "is not a node or leaf description"),
        (array_leaf("missing", "float32", [2]), "tensor 'missing' is not in the file"),
        (array_leaf("a", "float64", [1]), r"structure says float64\[1\].*stored as F32\[2\]"),
        (array_leaf("a", "float128", [2]), "unknown dtype 'float128'"),
        (array_leaf("a", "float32", [2]), r"tensors no leaf refers to: \['b'\]"),
        (
            {
                "node": "list",
                "keys": [["seq", 0], ["seq", 1]],
                "children": [array_leaf("a", "float32", [2])],
            },
            "2 keys for 1 children",
        ),
        (
            {
                "node": "tuple",
                "keys": [["seq", 0], ["seq", 1]],
                "children": [array_leaf("a", "float32", [2]), array_leaf("a", "float32", [2])],
            },
            "same tensor",
        ),
        ({"leaf": "scalar", "type": "int", "value": "12"}, "scalar leaf of type 'int'"),
        (
            {
                "node": "dict",
                "keys": [["dict", ["tuple", [1]]]],
                "children": [array_leaf("a", "float32", [2])],
            },
            "is not a key entry",
        ),
    ],
)
def test_malformed_structure_metadata_is_rejected(tmp_path, tree, match):
    path = raw_file(
        tmp_path / "m.safetensors", good_header(__metadata__=tree_meta(tree)), GOOD_DATA
    )
    expect_rejected(path, "structure metadata is malformed.*" + match)


def test_other_metadata_problems(tmp_path):
    newer = raw_file(
        tmp_path / "v2.safetensors", good_header(__metadata__=tree_meta({}, "2")), GOOD_DATA
    )
    expect_rejected(newer, "format version '2'; this funcgrad reads version 1")
    no_tree = raw_file(
        tmp_path / "nt.safetensors",
        good_header(__metadata__={"funcgrad_checkpoint": "1"}),
        GOOD_DATA,
    )
    expect_rejected(no_tree, "structure metadata is malformed")
    not_json = raw_file(
        tmp_path / "nj.safetensors",
        good_header(__metadata__={"funcgrad_checkpoint": "1", "funcgrad_tree": "{"}),
        GOOD_DATA,
    )
    expect_rejected(not_json, "structure metadata is malformed")


def test_named_classes_are_never_looked_up(tmp_path):
    """A file naming a class (here os.system) gets a dict: nothing it names is imported or run."""
    tree = {
        "node": "namedtuple",
        "type": "os.system",
        "keys": [["attr", "a"], ["attr", "b"]],
        "children": [array_leaf("a", "float32", [2]), array_leaf("b", "int8", [3])],
    }
    path = raw_file(
        tmp_path / "evil.safetensors", good_header(__metadata__=tree_meta(tree)), GOOD_DATA
    )
    assert sorted(io.load(path)) == ["a", "b"]


def test_io_code_never_unpickles_or_evaluates():
    root = pathlib.Path(funcgrad.__file__).parent
    files = [root / "io.py", *sorted((root / "_src" / "io").glob("*.py"))]
    forbidden_modules = {"pickle", "cPickle", "dill", "marshal", "shelve", "importlib", "pydoc"}
    for file in files:
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + (
                    [node.module] if isinstance(node, ast.ImportFrom) else []
                )
                assert not {n.split(".")[0] for n in names if n} & forbidden_modules, file
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"eval", "exec", "__import__", "getattr"}, (
                    file,
                    node.func.id,
                )
            if isinstance(node, ast.Attribute):
                assert node.attr not in {"allow_pickle", "import_module", "locate"}, file


# ---------------------------------------------------------------------------------------
# like mismatches name the key path
# ---------------------------------------------------------------------------------------


def test_structure_mismatch_with_like_names_key_paths(tmp_path):
    path = tmp_path / "s.safetensors"
    io.save(path, {"params": {"w": fnp.ones((2, 3)), "b": fnp.zeros(3)}, "step": 1})
    expect_rejected(
        path,
        r"like has key path\(s\) the checkpoint lacks: \['params'\]\['v'\]",
        like={"params": {"w": 0.0, "b": 0.0, "v": 0.0}, "step": 0},
    )
    expect_rejected(
        path,
        r"the checkpoint has key path\(s\) like lacks: \['params'\]\['b'\]",
        like={"params": {"w": fnp.ones((2, 3))}, "step": 0},
    )
    expect_rejected(
        path,
        r"at key path \['params'\]\['w'\] it holds an array of shape \(2, 3\) and "
        r"dtype float64, but like holds an array of shape \(3, 2\)",
        like={"params": {"w": fnp.ones((3, 2)), "b": fnp.zeros(3)}, "step": 0},
    )
    expect_rejected(
        path,
        r"\['params'\]\['b'\].*dtype float32",
        like={"params": {"w": fnp.ones((2, 3)), "b": np.zeros(3, np.float32)}, "step": 0},
    )
    expect_rejected(
        path,
        r"at key path \['step'\] it holds a Python int, but like holds an array",
        like={"params": {"w": fnp.ones((2, 3)), "b": fnp.zeros(3)}, "step": fnp.zeros(())},
    )
    expect_rejected(
        path,
        r"at key path \['params'\]\['b'\] it holds an array .* like holds a Python float",
        like={"params": {"w": fnp.ones((2, 3)), "b": 0.0}, "step": 0},
    )
    with pytest.raises(TypeError, match=r"like leaf at key path \['step'\] is a object"):
        io.load(path, like={"params": {"w": fnp.ones((2, 3)), "b": fnp.zeros(3)}, "step": object()})


# ---------------------------------------------------------------------------------------
# CheckpointManager
# ---------------------------------------------------------------------------------------


def expected_kept(
    history: list[tuple[int, float]], max_to_keep: int, keep_best: int, mode: str
) -> set:
    """The keep rule written out directly: the last K steps plus the best ``keep_best``."""
    steps = sorted(s for s, _ in history)
    sign = 1 if mode == "min" else -1
    ranked = sorted(
        history,
        key=lambda sv: (math.isnan(sv[1]), sign * sv[1] if not math.isnan(sv[1]) else 0, sv[0]),
    )
    return set(steps[-max_to_keep:]) | {s for s, _ in ranked[:keep_best]}


def test_manager_keeps_last_k_and_best(tmp_path):
    manager = CheckpointManager(tmp_path, save_every=2, max_to_keep=2, best_metric="loss")
    losses = [9.0, 8.0, 3.0, 7.0, 5.0, 6.0, 4.0, 8.5, 9.5, 7.5]
    written = [
        manager.save(step, {"step": step, "w": np.full(2, step)}, metrics={"loss": v})
        for step, v in enumerate(losses)
    ]
    assert written == [True, False] * 5
    # saved at 0, 2, 4, 6, 8 with losses 9, 3, 5, 4, 9.5: keep the last two and the best (2)
    assert (
        manager.all_steps() == [2, 6, 8] and manager.best_step() == 2 and manager.latest_step() == 8
    )
    assert sorted(os.listdir(tmp_path)) == [f"ckpt_{s:08d}.safetensors" for s in (2, 6, 8)]
    assert manager.restore()["step"] == 8 and manager.restore(2)["step"] == 2
    assert manager.metrics(6) == {"loss": 4.0}
    assert manager.save(9, {"step": 9}, metrics={"loss": 1.0}, force=True)
    assert manager.all_steps() == [8, 9] and manager.best_step() == 9


def test_manager_max_mode_nan_and_reopening(tmp_path):
    manager = CheckpointManager(tmp_path, max_to_keep=1, best_metric="acc", mode="max", keep_best=2)
    for step, acc in enumerate([0.5, float("nan"), 0.9, 0.7, 0.8, 0.1]):
        manager.save(step, {"step": step}, metrics={"acc": np.float32(acc), "loss": 1 - acc})
    assert manager.all_steps() == [2, 4, 5] and manager.best_step() == 2
    # a new manager on the same directory reads the steps and metrics back from the files
    stray = tmp_path / ".ckpt_00000006.safetensors.0123456789abcdef.tmp"  # a killed save's
    stray.mkdir()
    (stray / "ckpt_00000006.safetensors").write_bytes(b"half")
    (stray / ".tmpAbC123").write_bytes(b"half")
    reopened = CheckpointManager(
        tmp_path, max_to_keep=1, best_metric="acc", mode="max", keep_best=2
    )
    assert reopened.all_steps() == [2, 4, 5] and reopened.best_step() == 2
    assert reopened.metrics(4) == {"acc": pytest.approx(0.8), "loss": pytest.approx(0.2)}
    assert not stray.exists()


@settings(max_examples=15)
@given(
    metrics=st.lists(st.one_of(st.floats(-10, 10), st.just(float("nan"))), min_size=1, max_size=9),
    max_to_keep=st.integers(1, 4),
    keep_best=st.integers(0, 2),
    mode=st.sampled_from(["min", "max"]),
)
def test_manager_keep_rule_property(tmp_path_factory, metrics, max_to_keep, keep_best, mode):
    directory = tmp_path_factory.mktemp("mgr")
    manager = CheckpointManager(
        directory, max_to_keep=max_to_keep, best_metric="m", mode=mode, keep_best=keep_best
    )
    for step, m in enumerate(metrics):
        manager.save(step, {"s": step}, metrics={"m": m})
    # Pruning runs after every save; with the rule above the kept set only depends on history.
    kept = set()
    history = []
    for step, m in enumerate(metrics):
        history.append((step, m))
        kept = expected_kept(
            [h for h in history if h[0] in kept | {step}], max_to_keep, keep_best, mode
        )
    assert set(manager.all_steps()) == kept
    assert {int(n[5:13]) for n in os.listdir(directory)} == kept


def test_manager_errors(tmp_path):
    manager = CheckpointManager(tmp_path / "new", best_metric="loss")
    with pytest.raises(FileNotFoundError, match="no checkpoints in"):
        manager.restore()
    with pytest.raises(ValueError, match="best_metric 'loss' is missing from metrics"):
        manager.save(0, {"a": 1})
    manager.save(0, {"a": 1}, metrics={"loss": 1.0})
    with pytest.raises(FileNotFoundError, match=r"no checkpoint for step 3.*\[0\]"):
        manager.restore(3)
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        CheckpointManager(tmp_path, mode="best")
    with pytest.raises(ValueError, match="save_every must be >= 1"):
        CheckpointManager(tmp_path, save_every=0)
    with pytest.raises(ValueError, match="without best_metric"):
        CheckpointManager(tmp_path).best_step()


# ---------------------------------------------------------------------------------------
# Exact resume of a training loop
# ---------------------------------------------------------------------------------------

N_EXAMPLES, BATCH, STEPS_PER_EPOCH, TOTAL_STEPS = 24, 6, 4, 14
_rng = np.random.default_rng(0)
X = _rng.standard_normal((N_EXAMPLES, 3)).astype(np.float32)
Y = (X @ np.array([1.0, -2.0, 0.5], np.float32))[:, None]


class TrainState(NamedTuple):
    params: Any
    opt: AdamState
    bn: Any  # running mean and variance, as BatchNorm keeps them
    key: Any
    step: int
    epoch: int


def _init_state() -> TrainState:
    k1, k2, k3 = frandom.split(frandom.key(42), 3)
    params = {
        "w1": frandom.normal(k1, (3, 8), "float32") * 0.5,
        "b1": fnp.zeros(8, dtype="float32"),
        "w2": frandom.normal(k2, (8, 1), "float32") * 0.5,
        "b2": fnp.zeros(1, dtype="float32"),
    }
    zeros = funcgrad.tree_util.tree_map(fnp.zeros_like, params)
    opt = AdamState(fnp.zeros((), dtype="int32"), zeros, zeros)
    bn = {"mean": fnp.zeros(8, dtype="float32"), "var": fnp.ones(8, dtype="float32")}
    return TrainState(params, opt, bn, k3, 0, 0)


def _loss(params, x, y, mask):
    h = x @ params["w1"] + params["b1"]
    mean, var = fnp.mean(h, axis=0), fnp.var(h, axis=0)
    h = fnp.maximum((h - mean) / fnp.sqrt(var + 1e-5), 0.0) * mask / 0.9
    out = h @ params["w2"] + params["b2"]
    return fnp.mean((out - y) ** 2), (mean, var)


@funcgrad.jit
def _train_step(params, opt, bn, key, x, y):
    key, dropout_key = frandom.split(key)
    mask = frandom.bernoulli(dropout_key, 0.9, (x.shape[0], 8))
    (loss, (mean, var)), grads = funcgrad.value_and_grad(_loss, has_aux=True)(params, x, y, mask)
    count = opt.count + 1
    mu = funcgrad.tree_util.tree_map(lambda m, g: 0.9 * m + 0.1 * g, opt.mu, grads)
    nu = funcgrad.tree_util.tree_map(lambda v, g: 0.999 * v + 0.001 * g * g, opt.nu, grads)
    c = count.astype("float32")
    params = funcgrad.tree_util.tree_map(
        lambda p, m, v: p - 0.05 * (m / (1 - 0.9**c)) / (fnp.sqrt(v / (1 - 0.999**c)) + 1e-8),
        params,
        mu,
        nu,
    )
    bn = {"mean": 0.9 * bn["mean"] + 0.1 * mean, "var": 0.9 * bn["var"] + 0.1 * var}
    return params, AdamState(count, mu, nu), bn, key, loss


def _train(state: TrainState, stop: int, manager: CheckpointManager | None = None, losses=None):
    data_key = frandom.key(7)
    while state.step < stop:
        epoch, batch = divmod(state.step, STEPS_PER_EPOCH)
        order = np.asarray(frandom.permutation(frandom.fold_in(data_key, epoch), N_EXAMPLES))
        idx = order[batch * BATCH : (batch + 1) * BATCH]
        params, opt, bn, key, loss = _train_step(
            state.params, state.opt, state.bn, state.key, X[idx], Y[idx]
        )
        state = TrainState(
            params, opt, bn, key, state.step + 1, (state.step + 1) // STEPS_PER_EPOCH
        )
        if losses is not None:
            losses.append(np.asarray(loss).tobytes())
        if manager is not None:
            manager.save(state.step, state)
    return state


def test_interrupted_and_resumed_training_is_bit_identical(tmp_path):
    uninterrupted_losses: list = []
    reference = _train(_init_state(), TOTAL_STEPS, losses=uninterrupted_losses)

    manager = CheckpointManager(tmp_path, save_every=5, max_to_keep=2)
    _train(_init_state(), 9, manager)  # "crashes" after step 9; the last checkpoint is step 5
    del manager

    resumed_manager = CheckpointManager(tmp_path, save_every=5, max_to_keep=2)
    assert resumed_manager.latest_step() == 5
    state = resumed_manager.restore(like=_init_state())
    assert type(state) is TrainState and type(state.opt) is AdamState and state.step == 5
    resumed_losses: list = []
    final = _train(state, TOTAL_STEPS, resumed_manager, resumed_losses)

    assert resumed_losses == uninterrupted_losses[5:]
    assert_same(final, reference)
    assert resumed_manager.all_steps() == [5, 10]
