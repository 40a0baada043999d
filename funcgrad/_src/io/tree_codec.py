"""Pytrees to and from checkpoint form: named NumPy tensors plus a JSON structure.

`encode` walks a pytree with the public key-path API and returns the tensors to store
(named by the leaf's key path, as `funcgrad.tree_util.keystr` spells it) and a JSON-able
description of every node and leaf. `decode` rebuilds a pytree from that description,
either generically (dicts, lists, tuples, None) or in the shape of a ``like`` template.
The description names classes only for messages: loading never imports, looks up or
calls anything a file names, so a checkpoint cannot run code.

JSON form of a node: ``{"node": kind, "type": "module.QualName", "keys": [...],
"children": [...]}`` with kind one of dict, OrderedDict, defaultdict, list, tuple, None,
namedtuple, custom, and keys encoded as ``["seq", i]``, ``["dict", key]``,
``["attr", name]`` or ``["flat", i]`` (dict keys as ``[type, value]``). A leaf is
``{"leaf": "array", "tensor": name, "dtype": "complex64", "shape": [...], "type":
"funcgrad" | "numpy" | "numpy_scalar"}`` or ``{"leaf": "scalar", "type": "int" | "float" |
"bool" | "complex" | "str", "value": ...}``.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from funcgrad._src import dtypes as _dtypes
from funcgrad._src.core import Array, array_from_buffer, current_backend, is_array_like
from funcgrad._src.io.safetensors_file import DTYPE_TO_CODE
from funcgrad._src.tree_util import (
    DictKey,
    FlattenedIndexKey,
    GetAttrKey,
    SequenceKey,
    keystr,
    tree_flatten_with_path,
    treedef_is_leaf,
)

ROOT_TENSOR_NAME = "<root>"  # keystr of the empty path is "", an unhelpful tensor name
_BUILTIN_NODE_KINDS = {
    dict: "dict",
    list: "list",
    tuple: "tuple",
    type(None): "None",
    collections.OrderedDict: "OrderedDict",
    collections.defaultdict: "defaultdict",
}
_NODE_KINDS = frozenset([*_BUILTIN_NODE_KINDS.values(), "namedtuple", "custom"])
_SCALAR_TYPES = {bool: "bool", int: "int", float: "float", complex: "complex", str: "str"}
_DICT_KEY_TYPES = {str: "str", int: "int", float: "float", bool: "bool", type(None): "None"}
_ARRAY_LEAF_TYPES = frozenset(["funcgrad", "numpy", "numpy_scalar"])
_DTYPE_NAMES = {dt.name: dt for dt in _dtypes.SUPPORTED_DTYPES}


def _type_name(t: type) -> str:
    return f"{t.__module__}.{t.__qualname__}"


# ---------------------------------------------------------------------------------------
# Scalars and keys as JSON
# ---------------------------------------------------------------------------------------


def _float_to_json(x: float) -> float | str:
    # JSON has no NaN or infinities; finite floats survive json's repr exactly.
    return x if math.isfinite(x) else repr(x)


def _float_from_json(v: Any) -> float:
    if type(v) in (int, float):
        return float(v)
    if v in ("nan", "inf", "-inf"):
        return float(v)
    raise ValueError(f"{v!r} is not a float")


def _scalar_to_json(x: Any) -> Any:
    if type(x) is float:
        return _float_to_json(x)
    if type(x) is complex:
        return [_float_to_json(x.real), _float_to_json(x.imag)]
    return x


def _scalar_from_json(kind: str, v: Any) -> Any:
    if kind == "bool" and type(v) is bool:
        return v
    if kind == "int" and type(v) is int:
        return v
    if kind == "str" and type(v) is str:
        return v
    if kind == "float":
        return _float_from_json(v)
    if kind == "complex" and type(v) is list and len(v) == 2:
        return complex(_float_from_json(v[0]), _float_from_json(v[1]))
    raise ValueError(f"a scalar leaf of type {kind!r} has the value {v!r}")


def _key_to_json(key: Any, path: tuple, fname: str) -> list:
    if isinstance(key, SequenceKey):
        return ["seq", key.idx]
    if isinstance(key, GetAttrKey):
        return ["attr", key.name]
    if isinstance(key, FlattenedIndexKey):
        return ["flat", key.key]
    if isinstance(key, DictKey):
        k = key.key
        kind = _DICT_KEY_TYPES.get(type(k))
        if kind is None:
            raise TypeError(
                f"{fname}: the dict key {k!r} at key path {keystr(path) or '<root>'} is a "
                f"{type(k).__name__}; checkpoints store dict keys of type str, int, float, "
                "bool or None. Convert the key (e.g. to a string) before saving."
            )
        return ["dict", [kind, _float_to_json(k) if kind == "float" else k]]
    raise TypeError(
        f"{fname}: key path {keystr(path) or '<root>'} has a key entry of type "
        f"{type(key).__name__}; checkpoints store SequenceKey, DictKey, GetAttrKey and "
        "FlattenedIndexKey entries (register the node with one of these keys)."
    )


def _key_from_json(entry: Any) -> Any:
    """A tree_util key entry from its JSON form (ValueError when malformed)."""
    if type(entry) is not list or len(entry) != 2 or type(entry[0]) is not str:
        raise ValueError(f"{entry!r} is not a key entry")
    kind, v = entry
    if kind == "seq" and type(v) is int:
        return SequenceKey(v)
    if kind == "flat" and type(v) is int:
        return FlattenedIndexKey(v)
    if kind == "attr" and type(v) is str:
        return GetAttrKey(v)
    if kind == "dict" and type(v) is list and len(v) == 2:
        key_kind, k = v
        if key_kind == "float":
            return DictKey(_float_from_json(k))
        if key_kind == "None" and k is None:
            return DictKey(None)
        if key_kind in ("str", "int", "bool") and type(k).__name__ == key_kind:
            return DictKey(k)
    raise ValueError(f"{entry!r} is not a key entry")


# ---------------------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------------------


def _storage_array(host: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``host`` as safetensors can store it: contiguous, native, complex as (..., 2) reals."""
    host = host.astype(dtype, copy=False)
    if not host.flags.c_contiguous:  # (np.ascontiguousarray would turn 0-d into 1-d)
        host = host.copy(order="C")
    if dtype.kind == "c":
        real = np.dtype(f"f{dtype.itemsize // 2}")
        host = host.reshape(-1).view(real).reshape(host.shape + (2,))
    return host


def encode(tree: Any, *, fname: str = "save") -> tuple[dict[str, np.ndarray], dict]:
    """``(tensors, structure)``: the arrays of ``tree`` by tensor name, and its JSON form.

    Raises:
        TypeError: a leaf or a dict key cannot be stored, or a leaf is a tracer
            (named by key path).
    """
    tensors: dict[str, np.ndarray] = {}

    def leaf_error(path: tuple, what: str) -> TypeError:
        return TypeError(f"{fname}: the leaf at key path {keystr(path) or '<root>'} {what}")

    def array_leaf(path: tuple, host: np.ndarray, leaf_type: str) -> dict:
        dtype = host.dtype.newbyteorder("=") if host.dtype.byteorder == ">" else host.dtype
        if dtype not in _dtypes.SUPPORTED_DTYPES:
            raise leaf_error(
                path,
                f"has dtype {host.dtype}, which funcgrad does not support; checkpoints hold "
                "bool, int8-64, uint8-64, float16/32/64 and complex64/128 arrays.",
            )
        name = keystr(path) or ROOT_TENSOR_NAME
        if name in tensors:
            raise TypeError(
                f"{fname}: two leaves have the key path {name}, which names their tensor; "
                "give their dict keys distinct string forms."
            )
        tensors[name] = _storage_array(host, dtype)
        return {
            "leaf": "array",
            "tensor": name,
            "dtype": dtype.name,
            "shape": list(host.shape),
            "type": leaf_type,
        }

    def walk(x: Any, path: tuple) -> dict:
        if type(x) is Array:
            return array_leaf(path, np.asarray(x), "funcgrad")
        if is_array_like(x):
            raise leaf_error(
                path,
                "is a tracer: checkpoints are written from concrete values. Call save "
                "outside jit/grad/vmap (return the values from the transformed function).",
            )
        if isinstance(x, np.ndarray):
            return array_leaf(path, x, "numpy")
        if isinstance(x, np.generic):
            return array_leaf(path, np.asarray(x), "numpy_scalar")
        scalar_kind = _SCALAR_TYPES.get(type(x))
        if scalar_kind is not None:
            return {"leaf": "scalar", "type": scalar_kind, "value": _scalar_to_json(x)}
        # One level of flattening: everything below the root counts as a leaf here.
        keyed, treedef = tree_flatten_with_path(x, is_leaf=lambda y: y is not x)
        if treedef_is_leaf(treedef):
            raise leaf_error(
                path,
                f"is a {_type_name(type(x))}; checkpoints hold arrays (funcgrad or NumPy), "
                "Python bool/int/float/complex/str and pytree nodes. Convert it, or "
                "register its type with funcgrad.tree_util.register_pytree_with_keys.",
            )
        kind = _BUILTIN_NODE_KINDS.get(type(x))
        if kind is None:
            kind = "namedtuple" if isinstance(x, tuple) and hasattr(x, "_fields") else "custom"
        if kind in ("dict", "defaultdict"):
            # Flattening sorts dict keys; the file keeps the dict's own order to rebuild it.
            position = {k: i for i, k in enumerate(x)}
            keyed = sorted(keyed, key=lambda kc: position[kc[0][-1].key])
        keys = [k[-1] for k, _ in keyed]
        node = {
            "node": kind,
            "keys": [_key_to_json(k, (*path, k), fname) for k in keys],
            "children": [walk(child, (*path, k)) for k, (_, child) in zip(keys, keyed)],
        }
        if kind in ("namedtuple", "custom"):
            node["type"] = _type_name(type(x))
        return node

    return tensors, walk(tree, ())


# ---------------------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------------------


class SavedLeaf:
    """A leaf as the structure describes it, before its data is read."""

    __slots__ = ("dtype", "kind", "shape", "tensor", "type", "value")

    def __init__(self, spec: Any, where: str, tensor_shapes: dict[str, tuple]):
        if type(spec) is not dict:
            raise ValueError(f"{where}: {spec!r} is not a leaf description")
        self.kind = spec.get("leaf")
        self.type = spec.get("type")
        if self.kind == "scalar" and set(spec) == {"leaf", "type", "value"}:
            if self.type not in _SCALAR_TYPES.values():
                raise ValueError(f"{where}: unknown scalar type {self.type!r}")
            self.value = _scalar_from_json(self.type, spec["value"])
            return
        if self.kind != "array" or set(spec) != {"leaf", "tensor", "dtype", "shape", "type"}:
            raise ValueError(f"{where}: {spec!r} is not a leaf description")
        if self.type not in _ARRAY_LEAF_TYPES:
            raise ValueError(f"{where}: unknown array leaf type {self.type!r}")
        self.dtype = _DTYPE_NAMES.get(spec["dtype"])
        if self.dtype is None:
            raise ValueError(
                f"{where}: unknown dtype {spec['dtype']!r} (funcgrad checkpoints hold "
                f"{', '.join(sorted(_DTYPE_NAMES))})"
            )
        shape = spec["shape"]
        if type(shape) is not list or not all(type(d) is int and d >= 0 for d in shape):
            raise ValueError(f"{where}: shape {shape!r} is not a list of sizes >= 0")
        self.shape = tuple(shape)
        self.tensor = spec["tensor"]
        stored = tensor_shapes.get(self.tensor)
        if stored is None:
            raise ValueError(f"{where}: tensor {self.tensor!r} is not in the file")
        expected = storage_layout(self.dtype, self.shape)
        if stored != expected:
            raise ValueError(
                f"{where}: the structure says {self.dtype.name}{list(self.shape)}, stored as "
                f"{expected[0]}{list(expected[1])}, but tensor {self.tensor!r} is stored as "
                f"{stored[0]}{list(stored[1])}"
            )

    def describe(self) -> str:
        if self.kind == "scalar":
            return f"a Python {self.type}"
        return f"an array of shape {self.shape} and dtype {self.dtype.name}"


def storage_layout(dtype: np.dtype, shape: tuple) -> tuple[str, tuple]:
    """The safetensors (dtype code, shape) that an array of ``dtype`` and ``shape`` is stored as."""
    if dtype.kind == "c":
        return DTYPE_TO_CODE[np.dtype(f"f{dtype.itemsize // 2}")], (*shape, 2)
    return DTYPE_TO_CODE[dtype], tuple(shape)


def parse_structure(structure: Any, tensor_shapes: dict[str, tuple]):
    """``(build, leaves)`` from a structure's JSON form.

    ``leaves`` lists ``(key path, SavedLeaf)`` in flattening order; ``build(values)`` makes
    the like-free pytree from one value per leaf. Raises ValueError naming the key path of
    anything malformed, or a tensor used twice or not at all.
    """
    leaves: list[tuple[tuple, SavedLeaf]] = []

    def walk(spec: Any, path: tuple) -> Callable[[Any], Any]:
        where = f"key path {keystr(path) or '<root>'}"
        if type(spec) is dict and "leaf" in spec:
            index = len(leaves)
            leaves.append((path, SavedLeaf(spec, where, tensor_shapes)))
            return lambda values: values[index]
        if type(spec) is not dict or spec.get("node") not in _NODE_KINDS:
            raise ValueError(f"{where}: {str(spec)[:80]!r} is not a node or leaf description")
        kind, keys, children = spec["node"], spec.get("keys"), spec.get("children")
        allowed = {"node", "keys", "children"} | (
            {"type"} if kind in ("namedtuple", "custom") else set()
        )
        if set(spec) != allowed or type(keys) is not list or type(children) is not list:
            raise ValueError(f"{where}: malformed {kind} node")
        if len(keys) != len(children):
            raise ValueError(f"{where}: {len(keys)} keys for {len(children)} children")
        keys = [_key_from_json(k) for k in keys]
        builders = [walk(child, (*path, k)) for k, child in zip(keys, children)]
        if kind == "None":
            if keys:
                raise ValueError(f"{where}: a None node has children")
            return lambda values: None
        if kind in ("list", "tuple"):
            if keys != [SequenceKey(i) for i in range(len(keys))]:
                raise ValueError(f"{where}: {kind} children are not keyed 0, 1, 2, ...")
            container = list if kind == "list" else tuple
            return lambda values: container([b(values) for b in builders])
        if kind in ("dict", "OrderedDict", "defaultdict"):
            if not all(isinstance(k, DictKey) for k in keys):
                raise ValueError(f"{where}: a {kind} child is not keyed by a dict key")
            # defaultdict's factory is code, which a checkpoint never holds: a plain dict.
            container = collections.OrderedDict if kind == "OrderedDict" else dict
        else:
            # namedtuples and custom nodes: their classes are never looked up (that could
            # run code), so without a like template they come back as dicts of children.
            container = dict
        names = [_plain_key(k) for k in keys]
        if len(set(names)) != len(names):
            raise ValueError(f"{where}: two children have the same key")
        return lambda values: container((n, b(values)) for n, b in zip(names, builders))

    build = walk(structure, ())
    used = [leaf.tensor for _, leaf in leaves if leaf.kind == "array"]
    if len(set(used)) != len(used):
        raise ValueError("two leaves refer to the same tensor")
    unused = sorted(set(tensor_shapes) - set(used))
    if unused:
        raise ValueError(f"the file holds tensors no leaf refers to: {unused[:5]}")
    return build, leaves


def _plain_key(key: Any) -> Any:
    if isinstance(key, DictKey):
        return key.key
    if isinstance(key, GetAttrKey):
        return key.name
    return key.idx if isinstance(key, SequenceKey) else key.key


# ---------------------------------------------------------------------------------------
# Leaves: stored arrays to what the caller asked for
# ---------------------------------------------------------------------------------------


def from_storage(stored: np.ndarray, leaf: SavedLeaf) -> np.ndarray:
    """The stored tensor of ``leaf`` as a NumPy array of its true dtype and shape."""
    if leaf.dtype.kind == "c":
        return stored.reshape(-1).view(leaf.dtype).reshape(leaf.shape)
    return stored


def materialize(host: np.ndarray, leaf_type: str, backend: Any) -> Any:
    """``host`` as a funcgrad array on ``backend`` (None: the default), a NumPy array or a
    NumPy scalar."""
    if leaf_type == "numpy":
        return host
    if leaf_type == "numpy_scalar":
        return host[()]
    backend = current_backend() if backend is None else backend
    # ``host`` is a fresh array nobody else holds: the NumPy backend can own it as it is.
    return array_from_buffer(backend.freeze(host), backend)


def is_like_array(x: Any) -> bool:
    """Template leaves that stand for arrays: arrays, NumPy scalars, ShapeDtypeStructs..."""
    return isinstance(x, (Array, np.ndarray, np.generic)) or (
        hasattr(x, "shape") and hasattr(x, "dtype")
    )
