"""Gather and scatter primitives with NumPy indexing semantics.

An index is split into a static, hashable *indexer* and integer-array operands:
the indexer is a tuple whose entries are Python ints, ``None``, ``Ellipsis``,
``IndexSlice(start, stop, step)`` or ``ArrayIndex(k)`` (the k-th index operand).
The backend then indexes with exactly NumPy's rules (basic indexing gives views,
advanced indexing gathers), so results equal NumPy's by construction.

``gather(x, *indices, indexer)`` is ``x[index]``; ``scatter_*(x, updates, *indices,
indexer)`` is a copy of ``x`` with ``updates`` written (``set``) or combined
(``add``, ``mul``, ``min``, ``max``) at ``x[index]``; ``updates`` has exactly the
shape of ``x[index]``. Repeated indices accumulate for the combining scatters; for
``set`` the last write wins. Out-of-bounds indices raise IndexError, as in NumPy.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from funcgrad._src.core import Primitive, ShapedArray


class IndexSlice(NamedTuple):
    """A hashable ``slice``."""

    start: int | None
    stop: int | None
    step: int | None


class ArrayIndex(NamedTuple):
    """Position of an integer-array index among the index operands."""

    operand: int


def build_index(indexer: tuple, indices: tuple) -> tuple:
    """The NumPy index for ``indexer`` with index operands ``indices`` filled in."""
    out = []
    for entry in indexer:
        t = type(entry)
        if t is IndexSlice:
            out.append(slice(*entry))
        elif t is ArrayIndex:
            out.append(indices[entry.operand])
        else:
            out.append(entry)
    return tuple(out)


def _zero_strided(aval: ShapedArray) -> np.ndarray:
    # A placeholder with the right shape and dtype that allocates nothing.
    return np.broadcast_to(np.zeros((), aval.dtype), aval.shape)


def indexed_shape(x: ShapedArray, indices: tuple, indexer: tuple, name: str = "gather") -> tuple:
    """The shape of ``x[index]``, found by indexing zero-strided placeholders with NumPy."""
    for k, idx in enumerate(indices):
        if idx.dtype.kind not in "iu":
            raise TypeError(f"{name}: index operand {k} must be an integer array, got {idx.dtype}")
    try:
        return _zero_strided(x)[build_index(indexer, tuple(map(_zero_strided, indices)))].shape
    except IndexError as e:
        raise IndexError(f"{name}: {e} (indexing an array of shape {x.shape})") from None


# --- gather ---------------------------------------------------------------------------

gather_p = Primitive("gather")


def _gather_impl(backend, x, *indices, indexer):
    return [x[build_index(indexer, indices)]]


def _gather_abstract_eval(x, *indices, indexer):
    return [ShapedArray(indexed_shape(x, indices, indexer), x.dtype)]


gather_p.impl = _gather_impl
gather_p.abstract_eval = _gather_abstract_eval


# --- scatters -------------------------------------------------------------------------


def _make_scatter(name: str, mode: str) -> Primitive:
    prim = Primitive(name)

    def impl(backend, x, updates, *indices, indexer):
        return [backend.scatter(mode, x, build_index(indexer, indices), updates)]

    def abstract_eval(x, updates, *indices, indexer):
        shape = indexed_shape(x, indices, indexer, name)
        if updates.shape != shape:
            raise ValueError(
                f"{name}: updates have shape {updates.shape} but the indexed part of the "
                f"operand (shape {x.shape}) has shape {shape}"
            )
        if not updates.weak_type and updates.dtype != x.dtype:
            raise TypeError(f"{name}: updates dtype {updates.dtype} differs from operand dtype {x.dtype}")
        return [ShapedArray(x.shape, x.dtype)]

    prim.impl = impl
    prim.abstract_eval = abstract_eval
    return prim


scatter_p = _make_scatter("scatter", "set")
scatter_add_p = _make_scatter("scatter_add", "add")
scatter_mul_p = _make_scatter("scatter_mul", "multiply")
scatter_min_p = _make_scatter("scatter_min", "min")
scatter_max_p = _make_scatter("scatter_max", "max")


def static_index_entry(entry: Any) -> Any:
    """Hashable form of a static NumPy index entry (slice -> IndexSlice)."""
    if type(entry) is slice:
        return IndexSlice(entry.start, entry.stop, entry.step)
    return entry
