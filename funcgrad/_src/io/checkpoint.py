"""`save` and `load`: one pytree in one safetensors file, with its structure as metadata."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

import backends
from funcgrad._src.core import Array, is_array_like
from funcgrad._src.io import tree_codec
from funcgrad._src.io.errors import CheckpointError
from funcgrad._src.io.safetensors_file import SafetensorsReader, write_file
from funcgrad._src.tree_util import keystr, tree_flatten_with_path, tree_unflatten

FORMAT_KEY = "funcgrad_checkpoint"  # its presence marks a funcgrad checkpoint
FORMAT_VERSION = "1"
TREE_KEY = "funcgrad_tree"


def write_checkpoint(
    path: str | os.PathLike,
    tree: Any,
    extra_metadata: dict[str, str] | None = None,
    *,
    fname: str = "save",
) -> None:
    """`save` with extra ``__metadata__`` entries (the checkpoint manager's metrics)."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            2,
            f"{fname}: the directory {directory!r} of checkpoint {path!r} does not exist; "
            "create it first (os.makedirs)",
            directory,
        )
    tensors, structure = tree_codec.encode(tree, fname=fname)
    metadata = {
        **(extra_metadata or {}),
        FORMAT_KEY: FORMAT_VERSION,
        TREE_KEY: json.dumps(structure, separators=(",", ":"), allow_nan=False),
    }
    write_file(path, tensors, metadata)


def save(path: str | os.PathLike, tree: Any) -> None:
    """Saves pytree ``tree`` to the file ``path``, atomically.

    The arrays are stored as safetensors tensors named by their key paths (``['params']
    [0]['w']``, as `funcgrad.tree_util.keystr` writes them), with their exact dtypes; the
    structure and the Python scalar leaves are JSON in the file's metadata. Nothing is
    pickled. The file is written to a temporary file in the same directory, fsynced and
    renamed over ``path``, so a process killed at any moment leaves the previous file
    intact.

    Leaves may be funcgrad arrays (on any backend), NumPy arrays and scalars (``bool``,
    ``int8``-``int64``, ``uint8``-``uint64``, ``float16``/``32``/``64``,
    ``complex64``/``128``, any shape including 0-d and empty), and Python ``bool``,
    ``int``, ``float``, ``complex`` and ``str``; nodes may be anything
    `funcgrad.tree_util` flattens with keys (dicts with str/int/float/bool/None keys,
    lists, tuples, None, namedtuples, registered dataclasses and custom nodes).

    Args:
        path: the file to write (the directory must exist). ``.safetensors`` is a good
            suffix: the tensors can be read by any safetensors reader.
        tree: the pytree to save.

    Raises:
        TypeError: a leaf cannot be stored (an unsupported type or dtype, or a tracer:
            call ``save`` outside ``jit``/``grad``/``vmap``), named by its key path.
        FileNotFoundError: the directory of ``path`` does not exist.

    Examples:
        >>> import os, tempfile
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import io
        >>> path = os.path.join(tempfile.mkdtemp(), "state.safetensors")
        >>> io.save(path, {"w": fnp.ones((2, 3)), "step": 10})
        >>> state = io.load(path)
        >>> state["w"].shape, state["step"]
        ((2, 3), 10)
    """
    write_checkpoint(path, tree)


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The ``__metadata__`` map of a checked safetensors file (the manager's metrics)."""
    with SafetensorsReader(os.fspath(path)) as reader:
        return dict(reader.metadata)


def load(
    path: str | os.PathLike,
    like: Any = None,
    backend: str | None = None,
    *,
    allow_plain: bool = False,
) -> Any:
    """Loads the pytree saved in ``path`` by `save`.

    Without ``like``, nodes come back as plain containers: dicts (also for
    ``defaultdict``, whose factory is code a checkpoint never holds), ``OrderedDict``,
    lists, tuples and None; namedtuples, dataclasses and other custom nodes come back as
    dicts from field name (or key) to child, because a checkpoint never names a class to
    import; dicts keep the key order they were saved with. Leaves come back as what was
    saved: funcgrad arrays (on ``backend``), NumPy arrays and scalars, Python scalars
    and strings, all with their exact dtypes.

    With ``like`` (a pytree of the wanted structure: the output of ``init``, an earlier
    state, or `funcgrad.eval_shape`'s `ShapeDtypeStruct` leaves), the result has
    ``like``'s node types (NamedTuples, dataclasses, custom nodes, with their static
    fields, and dicts in the sorted key order of `funcgrad.tree_util.tree_unflatten`)
    and is matched to the file by key path. Each array leaf must have ``like``'s
    shape and dtype, and comes back as a NumPy array where ``like`` has one, else as a
    funcgrad array on ``backend``, or on the backend of ``like``'s array, or on the
    default backend. Python scalar leaves of ``like`` take the saved scalar (whatever its
    type).

    Args:
        path: the checkpoint file.
        like: optional template pytree.
        backend: where funcgrad arrays go (``"numpy"``, ``"cupy"``); default: ``like``'s
            backend for that leaf, else the default backend. NumPy leaves stay NumPy.
        allow_plain: accept a safetensors file that is not a funcgrad checkpoint (no
            funcgrad metadata, e.g. written by another library) and return its tensors as
            a flat dict ``{name: funcgrad array}``. ``like`` cannot be used with it.

    Returns:
        The pytree.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CheckpointError: (a ValueError) the file is truncated, its header lies about
            sizes or offsets, it holds a dtype funcgrad lacks, it is not a funcgrad
            checkpoint, or its structure does not match ``like`` (naming the key paths).
            The message names the file.

    Examples:
        >>> import os, tempfile
        >>> from typing import NamedTuple
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import io
        >>> class State(NamedTuple):
        ...     count: int
        ...     mu: dict
        >>> path = os.path.join(tempfile.mkdtemp(), "opt.safetensors")
        >>> io.save(path, State(count=3, mu={"w": fnp.zeros(2)}))
        >>> plain = io.load(path)  # no template: the namedtuple comes back as a dict
        >>> sorted(plain), plain["mu"]["w"].tolist()
        (['count', 'mu'], [0.0, 0.0])
        >>> io.load(path, like=State(count=0, mu={"w": fnp.ones(2)})).count
        3
    """
    path = os.fspath(path)
    target = None if backend is None else backends.get_backend(backend)
    with SafetensorsReader(path) as reader:
        version = reader.metadata.get(FORMAT_KEY)
        if version is None:
            if not allow_plain:
                raise CheckpointError(
                    path,
                    "this is a safetensors file but not a funcgrad checkpoint (its metadata "
                    f"has no {FORMAT_KEY!r} entry). To read its tensors as a flat "
                    "{name: array} dict, call funcgrad.io.load(path, allow_plain=True).",
                )
            if like is not None:
                raise ValueError(
                    f"load: like= cannot be used with allow_plain=True ({path!r} is a plain "
                    "safetensors file, which holds no structure to match like against)"
                )
            stored = reader.read_all()
            return {n: tree_codec.materialize(a, "funcgrad", target) for n, a in stored.items()}
        if version != FORMAT_VERSION:
            raise CheckpointError(
                path,
                f"it was written in funcgrad checkpoint format version {version!r}; this "
                f"funcgrad reads version {FORMAT_VERSION}. Load it with a newer funcgrad.",
            )
        try:
            structure = json.loads(reader.metadata[TREE_KEY])
            shapes = {n: (e.code, e.shape) for n, e in reader.entries.items()}
            build, saved = tree_codec.parse_structure(structure, shapes)
        except (KeyError, ValueError, RecursionError) as e:
            raise CheckpointError(
                path, f"its funcgrad structure metadata is malformed: {e}"
            ) from None
        if like is None:
            plan = [(leaf, leaf.type, target) for _, leaf in saved]
            return build(_read_leaves(reader, plan))
        like_pairs, like_def = tree_flatten_with_path(like)
        plan = _match_like(path, saved, like_pairs, target)
        return tree_unflatten(like_def, _read_leaves(reader, plan))


def _read_leaves(reader: SafetensorsReader, plan: list) -> list:
    """Values of ``plan``'s ``(SavedLeaf, leaf type, backend)`` entries."""
    stored = reader.read_all()
    values = []
    for leaf, leaf_type, backend in plan:
        if leaf.kind == "scalar":
            values.append(leaf.value)
        else:
            host = tree_codec.from_storage(stored[leaf.tensor], leaf)
            values.append(tree_codec.materialize(host, leaf_type, backend))
    return values


def _path_str(path: tuple) -> str:
    return keystr(path) or "<root>"


def _list_paths(paths: list[str]) -> str:
    shown = ", ".join(paths[:5])
    return shown + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")


def _match_like(path: str, saved: list, like_pairs: list, target: Any) -> list:
    """The read plan for ``like``'s leaves, or a CheckpointError naming what differs."""
    by_path = {_path_str(p): leaf for p, leaf in saved}
    like_paths = [_path_str(p) for p, _ in like_pairs]
    missing = [p for p in like_paths if p not in by_path]
    extra = [p for p in by_path if p not in set(like_paths)]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"like has key path(s) the checkpoint lacks: {_list_paths(missing)}")
        if extra:
            parts.append(f"the checkpoint has key path(s) like lacks: {_list_paths(extra)}")
        raise CheckpointError(path, "its structure does not match like: " + "; ".join(parts))
    plan = []
    for key_path, (_, like_leaf) in zip(like_paths, like_pairs):
        leaf = by_path[key_path]
        if is_array_like(like_leaf) and type(like_leaf) is not Array:
            raise TypeError(
                f"load: the like leaf at key path {key_path} is a tracer; build the "
                "template outside jit/grad/vmap (funcgrad.eval_shape gives shapes cheaply)"
            )
        if tree_codec.is_like_array(like_leaf):
            like_shape, like_dtype = tuple(like_leaf.shape), np.dtype(like_leaf.dtype)
            if leaf.kind != "array" or (leaf.shape, leaf.dtype) != (like_shape, like_dtype):
                raise CheckpointError(
                    path,
                    f"at key path {key_path} it holds {leaf.describe()}, but like holds an "
                    f"array of shape {like_shape} and dtype {like_dtype.name}",
                )
            if isinstance(like_leaf, np.ndarray):
                plan.append((leaf, "numpy", None))
            elif isinstance(like_leaf, np.generic):
                plan.append((leaf, "numpy_scalar", None))
            elif target is None and type(like_leaf) is Array:
                plan.append((leaf, "funcgrad", like_leaf._backend))
            else:
                plan.append((leaf, "funcgrad", target))
        elif type(like_leaf) in (bool, int, float, complex, str):
            if leaf.kind != "scalar":
                raise CheckpointError(
                    path,
                    f"at key path {key_path} it holds {leaf.describe()}, but like holds a "
                    f"Python {type(like_leaf).__name__}",
                )
            plan.append((leaf, leaf.type, None))
        else:
            raise TypeError(
                f"load: the like leaf at key path {key_path} is a "
                f"{type(like_leaf).__qualname__}; like leaves must be arrays, "
                "ShapeDtypeStructs, NumPy scalars or Python scalars"
            )
    return plan
