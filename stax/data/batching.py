"""Mini-batches over a pytree of arrays that share a leading axis, in a key-determined order."""

from __future__ import annotations

import queue
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import numpy as np

import funcgrad
import funcgrad.random
from funcgrad.tree_util import keystr, tree_flatten_with_path, tree_unflatten

__all__ = ["batches", "num_batches", "num_examples", "shuffled_order", "take"]


def _leaves(data: Any, fname: str) -> tuple[list, Any, int]:
    """The array leaves of ``data``, its structure, and the shared leading size."""
    with_path, treedef = tree_flatten_with_path(data)
    if not with_path:
        raise ValueError(f"{fname}: data holds no arrays; pass an array or a pytree of arrays")
    sizes = {}
    leaves = []
    for path, leaf in with_path:
        if not hasattr(leaf, "shape"):
            leaf = np.asarray(leaf)
        if len(leaf.shape) == 0:
            raise ValueError(
                f"{fname}: leaf {keystr(path) or '<root>'} is a scalar; every leaf needs a "
                f"leading example axis"
            )
        sizes[keystr(path) or "<root>"] = leaf.shape[0]
        leaves.append(leaf)
    if len(set(sizes.values())) > 1:
        raise ValueError(
            f"{fname}: leaves have different leading sizes {sizes}; every leaf must hold "
            f"one row per example"
        )
    return leaves, treedef, next(iter(sizes.values()))


def num_examples(data: Any) -> int:
    """The number of examples (the shared leading size) of a pytree of arrays.

    Examples:
        >>> import numpy as np
        >>> num_examples({"x": np.zeros((5, 3)), "y": np.zeros(5)})
        5
    """
    return _leaves(data, "stax.data.num_examples")[2]


def _check_batch_size(batch_size: Any, fname: str) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"{fname}: batch_size must be a positive int, got {batch_size!r}")
    if batch_size < 1:
        raise ValueError(f"{fname}: batch_size must be a positive int, got {batch_size}")
    return int(batch_size)


def num_batches(n: int, batch_size: int, *, drop_last: bool = False) -> int:
    """How many batches one epoch over ``n`` examples gives.

    Examples:
        >>> num_batches(10, 4), num_batches(10, 4, drop_last=True)
        (3, 2)
    """
    batch_size = _check_batch_size(batch_size, "stax.data.num_batches")
    return n // batch_size if drop_last else -(-n // batch_size)


def shuffled_order(key: Any, n: int) -> np.ndarray:
    """A permutation of ``range(n)`` determined by ``key`` alone, as a NumPy int64 array.

    It comes from funcgrad's counter-based generator (threefry), so the same key gives
    the same order on every machine and backend.

    Examples:
        >>> import funcgrad
        >>> order = shuffled_order(funcgrad.random.key(0), 5)
        >>> sorted(order.tolist())
        [0, 1, 2, 3, 4]
    """
    return np.asarray(funcgrad.random.permutation(key, n)).astype(np.int64)


def take(data: Any, indices: Any) -> Any:
    """The examples at ``indices`` of every leaf (a fresh copy, as the leaf's kind).

    NumPy arrays and memory-mapped files give NumPy arrays (only the selected rows are
    read); funcgrad arrays give funcgrad arrays on the same backend.

    Examples:
        >>> import numpy as np
        >>> take((np.arange(5), np.arange(10).reshape(5, 2)), [4, 0])[1].tolist()
        [[8, 9], [0, 1]]
    """
    leaves, treedef, _ = _leaves(data, "stax.data.take")
    idx = np.asarray(indices, dtype=np.int64)
    return tree_unflatten(treedef, [_take_rows(leaf, idx) for leaf in leaves])


def _take_rows(leaf: Any, idx: np.ndarray) -> Any:
    if isinstance(leaf, funcgrad.Array):
        return funcgrad.numpy.take(leaf, idx, axis=0)
    if isinstance(leaf, np.ndarray):
        if idx.size and np.all(np.diff(idx) == 1):  # a contiguous run: one slice copy
            return np.array(leaf[idx[0] : idx[-1] + 1])
        return leaf[idx]  # fancy indexing copies (and reads only these rows of a memmap)
    return np.asarray(leaf)[idx]


def batches(
    data: Any,
    batch_size: int,
    *,
    key: Any = None,
    drop_last: bool = False,
    skip: int = 0,
    prefetch: int = 0,
) -> Iterator[Any]:
    """Iterate once (one epoch) over ``data`` in mini-batches.

    ``data`` is an array or a pytree of arrays (features, labels, anything) whose
    leaves share the leading axis; every batch has the same structure, each leaf
    holding ``batch_size`` rows (the last one fewer unless ``drop_last``). Leaves may
    be NumPy arrays (also ``np.load(..., mmap_mode="r")`` files larger than memory:
    only a batch's rows are read) or funcgrad arrays; batches are fresh copies of the
    same kind.

    Args:
        data: the pytree of arrays.
        batch_size: examples per batch.
        key: a ``funcgrad.random`` key: with one, the order is the key's permutation
            (the same on every machine and backend); without one, the stored order.
            For several epochs pass ``funcgrad.random.fold_in(key, epoch)``.
        drop_last: drop the final, smaller batch.
        skip: start after this many batches of the epoch (resuming mid-epoch gives
            exactly the batches an uninterrupted run would have seen).
        prefetch: when positive, a background thread prepares up to this many batches
            ahead (a bounded queue). The thread stops when the loop ends, breaks or
            raises; an error in it is raised in the loop.

    Yields:
        Pytrees with ``data``'s structure.

    Examples:
        >>> import numpy as np, funcgrad
        >>> x, y = np.arange(10.0).reshape(5, 2), np.arange(5)
        >>> [b[1].tolist() for b in batches((x, y), 2)]
        [[0, 1], [2, 3], [4]]
        >>> key = funcgrad.random.key(0)
        >>> seen = [b[1].tolist() for b in batches((x, y), 2, key=key, drop_last=True)]
        >>> len(seen), all(len(b) == 2 for b in seen)
        (2, True)
    """
    fname = "stax.data.batches"
    batch_size = _check_batch_size(batch_size, fname)
    if isinstance(skip, bool) or not isinstance(skip, (int, np.integer)) or skip < 0:
        raise ValueError(f"{fname}: skip must be a non-negative int, got {skip!r}")
    if isinstance(prefetch, bool) or not isinstance(prefetch, (int, np.integer)) or prefetch < 0:
        raise ValueError(f"{fname}: prefetch must be a non-negative int, got {prefetch!r}")
    leaves, treedef, n = _leaves(data, fname)
    order = shuffled_order(key, n) if key is not None else np.arange(n, dtype=np.int64)
    count = num_batches(n, batch_size, drop_last=drop_last)

    def make(i: int) -> Any:
        idx = order[i * batch_size : (i + 1) * batch_size]
        return tree_unflatten(treedef, [_take_rows(leaf, idx) for leaf in leaves])

    if prefetch:
        return _prefetched(make, range(skip, count), prefetch)
    return (make(i) for i in range(skip, count))


_DONE = object()


def _prefetched(make, indices, depth: int) -> Iterator[Any]:
    """``make(i)`` for each index, computed ahead by a daemon thread into a bounded queue.

    The thread holds no reference to the iterator, so when the loop breaks, raises or
    drops the iterator, its finaliser stops the thread; an exception in the producer
    is re-raised in the loop.
    """
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for i in indices:
                if not put((True, make(i))):
                    return
        except BaseException as error:  # handed to the consumer and raised there
            put((False, error))
            return
        put((True, _DONE))

    thread = threading.Thread(target=produce, daemon=True, name="stax.data.prefetch")

    def consume() -> Iterator[Any]:
        try:
            while True:
                ok, item = items.get()
                if not ok:
                    raise item
                if item is _DONE:
                    return
                yield item
        finally:
            stop.set()

    iterator = consume()
    weakref.finalize(iterator, stop.set)
    thread.start()
    return iterator
