"""Helpers for data-parallel training loops: each process's share of a batch, identical
initial parameters everywhere, checkpoints written once, synchronised BatchNorm state.

The training step itself needs nothing new: inside ``distributed.pmap(step, "data")``,
``lax.pmean(grads, "data")`` averages the gradients (one packed allreduce), and every
process applies the same update to the same parameters.
"""

from __future__ import annotations

import os
from collections.abc import Hashable
from typing import Any

import numpy as np

from funcgrad._src.core import Array, array_from_buffer, get_aval, is_array_like
from funcgrad._src.distributed import process
from funcgrad._src.tree_util import keystr, tree_flatten, tree_flatten_with_path, tree_unflatten


def shard_batch(batch: Any, *, axis: int = 0) -> Any:
    """This process's equal share of a global batch: block ``process_index()`` of
    ``process_count()`` along ``axis`` of every leaf.

    Every process loads (or generates from one seed) the same global batch and keeps its
    block, so that averaging the processes' gradients equals the gradient of the global
    batch's mean loss. Joins the processes if that has not happened yet.

    Args:
        batch: a pytree of arrays (funcgrad or NumPy), each with the global batch size
            along ``axis``.
        axis: the batch axis.

    Returns:
        The same structure, each leaf cut to ``size // process_count()`` along ``axis``.

    Raises:
        ValueError: a leaf's batch size is not a multiple of the number of processes (the
            processes' steps would not be the same); the message names the leaf.

    Examples:
        >>> import numpy as np
        >>> import funcgrad
        >>> x = np.arange(8).reshape(4, 2)
        >>> funcgrad.distributed.shard_batch({"x": x})["x"].shape  # one process: all of it
        (4, 2)
    """
    group = process.group()
    n, rank = group.size, group.rank
    leaves, tree = tree_flatten_with_path(batch)
    out = []
    for path, leaf in leaves:
        shape = np.shape(leaf)
        if not -len(shape) <= axis < len(shape):
            raise ValueError(
                f"funcgrad.distributed.shard_batch: batch{keystr(path)} of shape {shape} has "
                f"no axis {axis}"
            )
        size = shape[axis]
        if size % n:
            raise ValueError(
                f"funcgrad.distributed.shard_batch: batch{keystr(path)} has {size} examples "
                f"along axis {axis}, not a multiple of the {n} processes; use a global batch "
                f"size divisible by {n} (or drop the last incomplete batch)"
            )
        block = size // n
        index = [slice(None)] * len(shape)
        index[axis] = slice(rank * block, (rank + 1) * block)
        out.append(leaf[tuple(index)])
    return tree_unflatten(tree, out)


def broadcast_one_to_all(tree: Any, *, root: int = 0) -> Any:
    """Process ``root``'s ``tree`` on every process (e.g. the initial parameters).

    Leaves of one backend and dtype are packed into one buffer and broadcast with one
    call (MPI ``Bcast``, or NCCL for CuPy arrays); nothing is pickled. Every process
    passes a tree of the same structure, shapes and dtypes (checked).

    Args:
        tree: a pytree of funcgrad arrays, NumPy arrays and Python scalars.
        root: the process whose values everyone gets.

    Returns:
        The tree with ``root``'s values, each leaf of the kind it was passed as.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> params = {"w": fnp.ones(3), "step": 0}
        >>> funcgrad.distributed.broadcast_one_to_all(params)["w"].tolist()
        [1.0, 1.0, 1.0]
    """
    group = process.group()
    if not 0 <= root < group.size:
        raise ValueError(
            f"funcgrad.distributed.broadcast_one_to_all: root {root} is not a process index "
            f"(there are {group.size} processes)"
        )
    leaves, treedef = tree_flatten(tree)
    from backends import get_backend

    host = get_backend("numpy")
    entries = []  # (backend, writable copy, how to give it back)
    for leaf in leaves:
        if type(leaf) is Array:
            backend = leaf._backend
            entries.append((backend, backend.xp.array(leaf._buffer, copy=True), "array"))
        elif is_array_like(leaf):
            raise TypeError(
                "funcgrad.distributed.broadcast_one_to_all: got a traced value; call it "
                "outside jit, grad and vmap (on the initial parameters)"
            )
        else:
            kind = "numpy" if isinstance(leaf, np.ndarray) else "scalar"
            entries.append((host, np.array(leaf, copy=True), kind))
    what = f"broadcast_one_to_all from process {root} of {treedef}"
    group.begin(what, ", ".join(f"{b.dtype.name}[{','.join(map(str, b.shape))}]"
                                for _, b, _ in entries))  # fmt: skip
    groups: dict = {}
    for i, (backend, buf, _) in enumerate(entries):
        groups.setdefault((backend.name, buf.dtype), []).append(i)
    for (_, dtype), idx in groups.items():
        backend = entries[idx[0]][0]
        xp = backend.xp
        sizes = [entries[i][1].size for i in idx]
        packed = xp.empty(sum(sizes), dtype=dtype)
        offset = 0
        for i, n in zip(idx, sizes):
            packed[offset : offset + n] = entries[i][1].reshape(-1)
            offset += n
        group.transport(backend).check_dtype(np.dtype(dtype), "copy", what)
        group.transport(backend).broadcast(packed, root)
        offset = 0
        for i, n in zip(idx, sizes):
            # a buffer of its own per leaf (once, at set-up): parameters that are views of
            # one block would tie their lifetimes and memory together for the whole run
            b, buf, kind = entries[i]
            entries[i] = (b, packed[offset : offset + n].reshape(buf.shape).copy(), kind)
            offset += n
    out = []
    for backend, buf, kind in entries:
        if kind == "array":
            out.append(array_from_buffer(buf, backend))
        elif kind == "numpy":
            out.append(buf)
        else:
            out.append(buf.item())
    return tree_unflatten(treedef, out)


def save(path: str | os.PathLike, tree: Any) -> None:
    """``funcgrad.io.save(path, tree)`` on process 0 only; every process calls it and
    returns once the file is complete (a barrier), so any process may read it next.

    Data-parallel processes hold identical parameters, so one writer suffices; several
    writers to one path would race.

    Examples:
        >>> import os, tempfile
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> path = os.path.join(tempfile.mkdtemp(), "params.safetensors")
        >>> funcgrad.distributed.save(path, {"w": fnp.ones(2)})
        >>> funcgrad.io.load(path)["w"].tolist()
        [1.0, 1.0]
    """
    group = process.group()
    if group.rank == 0:
        from funcgrad import io

        io.save(path, tree)
    group.barrier()


def barrier() -> None:
    """Wait until every process has reached this call.

    Examples:
        >>> import funcgrad
        >>> funcgrad.distributed.barrier()
    """
    process.group().barrier()


def sync_batch_stats(state: Any, axis_name: Hashable) -> Any:
    """The floating leaves of ``state`` averaged over the named axis (one collective); other
    leaves (step counters) unchanged.

    Use it inside ``distributed.pmap`` (or a named ``vmap``) on BatchNorm's running
    statistics, so that every process keeps the statistics of the whole global batch
    rather than of its own share (PyTorch's ``SyncBatchNorm`` in spirit, applied to the
    state after each step). Averaging per-process means equals the global mean because
    the shares have equal sizes; the running variance is averaged as well (the mean of
    the shares' variances, without the spread between their means).

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> state = {"mean": fnp.asarray([1.0, 3.0]), "count": fnp.asarray(5)}
        >>> sync_stats = funcgrad.distributed.sync_batch_stats
        >>> sync = funcgrad.vmap(lambda s: sync_stats(s, "i"), axis_name="i")
        >>> out = sync({"mean": fnp.asarray([[0.0, 2.0], [2.0, 4.0]]), "count": fnp.asarray([5, 5])})
        >>> out["mean"].tolist(), out["count"].tolist()
        ([[1.0, 3.0], [1.0, 3.0]], [5, 5])
    """
    from funcgrad._src.lax.parallel import pmean

    leaves, tree = tree_flatten(state)
    floating = [i for i, x in enumerate(leaves) if get_aval(x).dtype.kind in "fc"]
    averaged = pmean([leaves[i] for i in floating], axis_name)
    out = list(leaves)
    for i, v in zip(floating, averaged):
        out[i] = v
    return tree_unflatten(tree, out)
