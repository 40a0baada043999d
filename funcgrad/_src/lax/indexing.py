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

import functools
from typing import Any, NamedTuple

import numpy as np

from funcgrad._src.core import Primitive, ShapedArray, get_aval
from funcgrad._src.interpreters.ad import (
    Zero,
    add_tangents,
    instantiate,
    is_undefined,
    zeros_like_aval,
)
from funcgrad._src.lax import elementwise as _ew
from funcgrad._src.lax import structural as _structural


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
    # the backend's kernel: out-of-bounds indices must raise (CuPy's indexing wraps them)
    return [backend.gather(x, build_index(indexer, indices))]


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
            raise TypeError(
                f"{name}: updates dtype {updates.dtype} differs from operand dtype {x.dtype}"
            )
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


# --- differentiation rules --------------------------------------------------------------
# gather and the scatters are linear in the operand and (except scatter_mul/min/max) in
# the updates; the index operands are integers, never differentiated (their cotangent
# entries are None).


def _gather(x, indices, indexer):
    return gather_p.bind1(x, *indices, indexer=indexer)


def _scalar(value, dtype):
    """A typed (not weak) scalar literal: recorded in programs as a literal, never as an array."""
    return np.full((), value, dtype)[()]


def _may_repeat(indexer: tuple) -> bool:
    # Only integer-array indices can name one element twice; basic indices never do.
    return any(type(e) is ArrayIndex for e in indexer)


def _gather_jvp(primals, tangents, *, indexer):
    x, *indices = primals
    out = _gather(x, indices, indexer)
    return [out], [_gather(tangents[0], indices, indexer)]  # the rule runs only if tx != 0


def _gather_transpose(cts, x, *indices, indexer):
    (ct,) = cts
    rest = [None] * len(indices)
    if not is_undefined(x):
        return [None, *rest]
    if type(ct) is Zero:
        return [Zero(x.aval), *rest]
    # Repeated indices read one element several times: their cotangents add up.
    return [scatter_add_p.bind1(zeros_like_aval(x.aval), ct, *indices, indexer=indexer), *rest]


gather_p.jvp = _gather_jvp
gather_p.transpose = _gather_transpose
gather_p.linear = True


def _updates_tangent(t, x):
    """An updates tangent, a zero one materialised in the operand's dtype (the updates
    may have been a weak Python scalar)."""
    if type(t) is Zero:
        return zeros_like_aval(ShapedArray(t.aval.shape, x.dtype))
    return t


# scatter_add: linear in operand and updates jointly.
def _scatter_add_jvp(primals, tangents, *, indexer):
    x, u, *indices = primals
    tx, tu = tangents[:2]
    out = scatter_add_p.bind1(x, u, *indices, indexer=indexer)
    if type(tu) is Zero:
        return [out], [tx]
    return [out], [scatter_add_p.bind1(instantiate(tx), tu, *indices, indexer=indexer)]


def _scatter_add_transpose(cts, x, u, *indices, indexer):
    (ct,) = cts
    ct_x = ct_u = None
    if is_undefined(x):
        ct_x = ct
    if is_undefined(u):
        ct_u = Zero(u.aval) if type(ct) is Zero else _gather(ct, indices, indexer)
    return [ct_x, ct_u, *[None] * len(indices)]


scatter_add_p.jvp = _scatter_add_jvp
scatter_add_p.transpose = _scatter_add_transpose
scatter_add_p.linear = True


# scatter (set): out = x with x[idx] replaced by u, linear in (x, u) jointly. With
# repeated indices the last write wins; the tangent is scattered the same way, so the
# JVP is exact, and the transpose sends each output element's cotangent to the update
# that was actually written there (found by scattering the updates' positions with the
# same primitive). On backends whose duplicate writes are not deterministic (CuPy), the
# transpose may pick a different writer than the primal did.
def _scatter_jvp(primals, tangents, *, indexer):
    x, u, *indices = primals
    tx, tu = tangents[:2]
    out = scatter_p.bind1(x, u, *indices, indexer=indexer)
    t_out = scatter_p.bind1(instantiate(tx), _updates_tangent(tu, x), *indices, indexer=indexer)
    return [out], [t_out]


def _last_writers(x_shape, u_shape, indices, indexer):
    """True for each update that is the one left in the output (the last write)."""
    int64 = np.dtype(np.int64)
    n = int(np.prod(u_shape, dtype=np.int64))
    ids = _structural.iota_p.bind1(dtype=int64, shape=(n,), dimension=0)
    ids = _structural.reshape_p.bind1(ids, new_sizes=tuple(u_shape))
    nobody = _structural.broadcast_in_dim_p.bind1(
        _scalar(-1, int64), shape=tuple(x_shape), broadcast_dimensions=()
    )
    writers = scatter_p.bind1(nobody, ids, *indices, indexer=indexer)
    return _ew.eq_p.bind1(_gather(writers, indices, indexer), ids)


def _scatter_transpose(cts, x, u, *indices, indexer):
    (ct,) = cts
    ct_x = ct_u = None
    if is_undefined(x):
        if type(ct) is Zero:
            ct_x = Zero(x.aval)
        else:  # overwritten elements do not reach the output
            u_shape = u.aval.shape if is_undefined(u) else get_aval(u).shape
            zeros_u = zeros_like_aval(ShapedArray(u_shape, ct.dtype))
            ct_x = scatter_p.bind1(ct, zeros_u, *indices, indexer=indexer)
    if is_undefined(u):
        if type(ct) is Zero:
            ct_u = Zero(u.aval)
        else:
            ct_u = _gather(ct, indices, indexer)
            if _may_repeat(indexer):  # updates overwritten by a later one get nothing
                x_shape = x.aval.shape if is_undefined(x) else get_aval(x).shape
                written = _last_writers(x_shape, u.aval.shape, indices, indexer)
                ct_u = _ew.select_p.bind1(written, ct_u, _scalar(0, ct_u.dtype))
    return [ct_x, ct_u, *[None] * len(indices)]


scatter_p.jvp = _scatter_jvp
scatter_p.transpose = _scatter_transpose
scatter_p.linear = True


# scatter_mul: out = x * P with P = scatter_mul(ones, u), the product of the updates
# landing on each element. Linear in x only:
#   d out = scatter_mul(dx, u) + scatter_add(0, x[idx] * du * E),
# where E_j is the product of the *other* updates landing where update j lands (1 when
# indices cannot repeat). E is computed without dividing by zero: count the zero
# updates per element; E_j is 0 if another update there is zero, else the product of
# the nonzero updates divided by u_j (by 1 if u_j itself is the zero). First
# derivatives are exact everywhere; higher ones only where no update is exactly zero
# (there E is taken piecewise: the E_j that are 0 because another update is 0 get a zero
# derivative).
def _exclusive_products(x, u, indices, indexer):
    dt = u.dtype
    one, zero = _scalar(1, dt), _scalar(0, dt)
    is_zero = _ew.eq_p.bind1(u, zero)
    safe_u = _ew.select_p.bind1(is_zero, one, u)
    zero_flags = _ew.select_p.bind1(is_zero, one, zero)
    x_aval = ShapedArray(get_aval(x).shape, dt)
    ones_x = _structural.broadcast_in_dim_p.bind1(one, shape=x_aval.shape, broadcast_dimensions=())
    zeros_x = zeros_like_aval(x_aval)
    zero_counts = scatter_add_p.bind1(zeros_x, zero_flags, *indices, indexer=indexer)
    nonzero_products = scatter_mul_p.bind1(ones_x, safe_u, *indices, indexer=indexer)
    zeros_here = _gather(zero_counts, indices, indexer)
    nonzero_product = _gather(nonzero_products, indices, indexer)
    others_nonzero = _ew.eq_p.bind1(_ew.sub_p.bind1(zeros_here, zero_flags), zero)
    return _ew.select_p.bind1(others_nonzero, _ew.div_p.bind1(nonzero_product, safe_u), zero)


def _scatter_mul_jvp(primals, tangents, *, indexer):
    x, u, *indices = primals
    tx, tu = tangents[:2]
    out = scatter_mul_p.bind1(x, u, *indices, indexer=indexer)
    t_out = Zero(get_aval(out).update(weak_type=False))
    if type(tx) is not Zero:
        t_out = scatter_mul_p.bind1(tx, u, *indices, indexer=indexer)
    if type(tu) is not Zero:
        coeff = _gather(x, indices, indexer)
        if _may_repeat(indexer):
            coeff = _ew.mul_p.bind1(coeff, _exclusive_products(x, u, indices, indexer))
        du = _ew.mul_p.bind1(tu, coeff)
        zeros_x = zeros_like_aval(get_aval(out).update(weak_type=False))
        t_out = add_tangents(t_out, scatter_add_p.bind1(zeros_x, du, *indices, indexer=indexer))
    return [out], [t_out]


def _scatter_mul_transpose(cts, x, u, *indices, indexer):
    if is_undefined(u):
        raise ValueError(
            "scatter_mul: transpose with respect to the updates (the program is not linear in them)"
        )
    (ct,) = cts
    rest = [None] * len(indices)
    if not is_undefined(x):
        return [None, None, *rest]
    if type(ct) is Zero:
        return [Zero(x.aval), None, *rest]
    # Multiplying by P elementwise is its own transpose.
    return [scatter_mul_p.bind1(ct, u, *indices, indexer=indexer), None, *rest]


scatter_mul_p.jvp = _scatter_mul_jvp
scatter_mul_p.transpose = _scatter_mul_transpose
scatter_mul_p.linear = True


# scatter_min / scatter_max: each output element's tangent comes from the value that
# was selected (the operand's element or one of the updates). Ties split the tangent
# equally among all tied candidates (as the elementwise max/min rules do). Where the
# output is NaN no candidate compares equal and the tangent is zero.
def _make_scatter_extremum_jvp(prim):
    def jvp(primals, tangents, *, indexer):
        x, u, *indices = primals
        tx, tu = tangents[:2]
        out = prim.bind1(x, u, *indices, indexer=indexer)
        out_aval = get_aval(out).update(weak_type=False)
        one, zero = _scalar(1, out_aval.dtype), _scalar(0, out_aval.dtype)
        zeros_x = zeros_like_aval(out_aval)
        x_won = _ew.select_p.bind1(_ew.eq_p.bind1(x, out), one, zero)
        u_won = _ew.select_p.bind1(_ew.eq_p.bind1(u, _gather(out, indices, indexer)), one, zero)
        u_wins = scatter_add_p.bind1(zeros_x, u_won, *indices, indexer=indexer)
        winners = _ew.add_p.bind1(x_won, u_wins)
        winners = _ew.max_p.bind1(winners, one)  # NaN outputs have no winner: avoid 0/0
        t_out = Zero(out_aval)
        if type(tx) is not Zero:
            t_out = _ew.mul_p.bind1(tx, x_won)
        if type(tu) is not Zero:
            t_u = scatter_add_p.bind1(
                zeros_x, _ew.mul_p.bind1(tu, u_won), *indices, indexer=indexer
            )
            t_out = add_tangents(t_out, t_u)
        return [out], [_ew.div_p.bind1(t_out, winners)]

    return jvp


scatter_min_p.jvp = _make_scatter_extremum_jvp(scatter_min_p)
scatter_max_p.jvp = _make_scatter_extremum_jvp(scatter_max_p)


# --- batching rules ---------------------------------------------------------------------
# A batched gather or scatter stays one gather or scatter on the batched operand, with
# the indexer rewritten:
# - index operands unbatched: the operand's batch axis is left unindexed (a full slice,
#   or taken by an Ellipsis or the trailing axes), so it stays where it is;
# - some index operand batched: batched index arrays get their batch axis first, so they
#   broadcast to (batch, *per-example index shape) against the others, and the operand's
#   batch axis is indexed by an extra arange placed just before the first advanced entry.
# Either way the advanced entries keep their adjacency, hence NumPy's placement of their
# dimensions (in place when adjacent, in front when a slice, None or Ellipsis separates
# them), and the batch axis of x[index] is read off the rewritten indexer.

from funcgrad._src.interpreters.batching import axis_size_of, move_batch_axis, moveaxis

_FULL_SLICE = IndexSlice(None, None, None)
_ADVANCED = "advanced"  # marks the advanced indices' broadcast dimensions in _output_axes


def _is_bool(entry: Any) -> bool:
    return type(entry) is bool or type(entry) is np.bool_


def _is_int(entry: Any) -> bool:
    return not _is_bool(entry) and isinstance(entry, (int, np.integer))


def _consumes_axis(entry: Any) -> bool:
    """Whether the entry indexes exactly one operand axis (Ellipsis is counted apart)."""
    return type(entry) is IndexSlice or type(entry) is ArrayIndex or _is_int(entry)


def _advanced_positions(indexer: tuple) -> list[int]:
    """Positions of the advanced entries: integer arrays, boolean scalars (0-d masks) and,
    when one of those is present, the integers too (NumPy then reads them as 0-d arrays)."""
    if not any(type(e) is ArrayIndex or _is_bool(e) for e in indexer):
        return []
    return [p for p, e in enumerate(indexer) if type(e) is ArrayIndex or _is_bool(e) or _is_int(e)]


def _adjacent(positions: list[int]) -> bool:
    return positions[-1] - positions[0] == len(positions) - 1


def _start_axes(indexer: tuple, ndim: int) -> tuple[list[int], int]:
    """The operand axis each entry starts at, and how many axes the Ellipsis takes."""
    ellipsis_len = ndim - sum(map(_consumes_axis, indexer))
    starts, axis = [], 0
    for e in indexer:
        starts.append(axis)
        if e is Ellipsis:
            axis += ellipsis_len
        elif _consumes_axis(e):
            axis += 1
    return starts, ellipsis_len


def _output_axes(indexer: tuple, ndim: int, advanced_rank: int) -> list:
    """Where each axis of ``x[index]`` comes from: an operand axis (int), ``None`` (a new
    axis), or ``_ADVANCED`` (the advanced indices' broadcast shape)."""
    advanced = _advanced_positions(indexer)
    starts, ellipsis_len = _start_axes(indexer, ndim)
    out: list = []
    block = 0
    for p, e in enumerate(indexer):
        if advanced and p == advanced[0]:
            block = len(out)
        if p in advanced:
            continue
        if e is None:
            out.append(None)
        elif e is Ellipsis:
            out.extend(range(starts[p], starts[p] + ellipsis_len))
        elif type(e) is IndexSlice:
            out.append(starts[p])
    if not any(e is Ellipsis for e in indexer):  # the unindexed trailing axes
        out.extend(range(ndim - ellipsis_len, ndim))
    if advanced:
        if not _adjacent(advanced):
            block = 0
        out[block:block] = [_ADVANCED] * advanced_rank
    return out


def _advanced_rank(indexer: tuple, index_ranks: list[int]) -> int:
    """The number of dimensions the advanced entries broadcast to (a boolean scalar adds one)."""
    ranks = [index_ranks[e.operand] for e in indexer if type(e) is ArrayIndex]
    ranks += [1 for e in indexer if _is_bool(e)]
    return max(ranks, default=0)


def _leave_axis_unindexed(indexer: tuple, ndim: int, bdim: int) -> tuple[tuple, int]:
    """The indexer that indexes each example of an operand batched at ``bdim`` (``ndim``
    axes per example) as ``indexer`` does, leaving the batch axis whole; returns it with
    the batch axis it expects, which moves only where a slice at ``bdim`` would separate
    adjacent advanced entries (and so move their dimensions)."""
    starts, ellipsis_len = _start_axes(indexer, ndim)
    at = None
    for p, e in enumerate(indexer):
        if e is Ellipsis and starts[p] <= bdim <= starts[p] + ellipsis_len:
            return indexer, bdim  # the Ellipsis takes the batch axis too
        if _consumes_axis(e) and starts[p] == bdim:
            at = p
            break
    if at is None:  # the batch axis is last
        if any(e is Ellipsis for e in indexer):
            return indexer + (_FULL_SLICE,), bdim  # (an Ellipsis would take it, shifting the rest)
        return indexer, bdim  # among the trailing, unindexed axes
    advanced = _advanced_positions(indexer)
    if advanced and _adjacent(advanced) and advanced[0] < at <= advanced[-1]:
        at = advanced[0]
        bdim = starts[at]
    return indexer[:at] + (_FULL_SLICE,) + indexer[at:], bdim


class _BatchPlan(NamedTuple):
    """One gather/scatter on batched values in place of a batch of them."""

    indexer: tuple  # the rewritten indexer
    x_bdim: int | None  # where the operand's batch axis goes (None: the operand stays unbatched)
    index_shapes: tuple  # per index operand: its shape with the batch axis first (None: unbatched)
    ids_shape: tuple | None  # shape of the arange that indexes the operand's batch axis, if any
    out_bdim: int  # the batch axis of x[index]


def _batch_plan(prim: Primitive, args: list, dims: list, indexer: tuple, n_front: int):
    """The plan for ``prim`` on ``args`` batched along ``dims``; the first ``n_front``
    operands are the operand (and updates), the rest index operands. A scatter's operand
    is always batched (one copy per example); a gather's may stay unbatched."""
    key = (prim, tuple(map(get_aval, args)), tuple(dims), indexer, n_front)
    if any(map(_is_bool, indexer)):  # True == 1 as a cache key, yet not as an index
        return _make_batch_plan(*key)
    return _cached_batch_plan(*key)


def _make_batch_plan(prim: Primitive, avals: tuple, dims: tuple, indexer: tuple, n_front: int):
    # per-example checks first, so that errors name an example's shapes
    examples = [a if d is None else a.update(shape=a.shape[:d] + a.shape[d + 1 :])
                for a, d in zip(avals, dims)]  # fmt: skip
    prim.abstract_eval(*examples, indexer=indexer)
    size = next(a.shape[d] for a, d in zip(avals, dims) if d is not None)
    x_bdim, index_bdims = dims[0], dims[n_front:]
    ndim = examples[0].ndim
    index_ranks = [a.ndim for a in examples[n_front:]]
    rank = _advanced_rank(indexer, index_ranks)
    if all(d is None for d in index_bdims):
        indexer, bdim = _leave_axis_unindexed(indexer, ndim, 0 if x_bdim is None else x_bdim)
        out_bdim = _output_axes(indexer, ndim + 1, rank).index(bdim)
        return _BatchPlan(indexer, bdim, (None,) * len(index_bdims), None, out_bdim)
    index_shapes = tuple(
        None if d is None else (size,) + (1,) * (rank - a.ndim) + a.shape
        for a, d in zip(examples[n_front:], index_bdims)
    )
    bdim = ids_shape = None
    if x_bdim is not None or n_front == 2:
        first = _advanced_positions(indexer)[0]
        bdim = _start_axes(indexer, ndim)[0][first]
        ids_shape = (size,) + (1,) * rank
        indexer = indexer[:first] + (ArrayIndex(len(index_bdims)),) + indexer[first:]
    out_bdim = _output_axes(indexer, ndim + (bdim is not None), rank + 1).index(_ADVANCED)
    return _BatchPlan(indexer, bdim, index_shapes, ids_shape, out_bdim)


_cached_batch_plan = functools.lru_cache(maxsize=1024)(_make_batch_plan)


def _planned_operands(plan: _BatchPlan, x, x_bdim, indices, index_bdims, size) -> tuple[Any, list]:
    """The operand and index operands laid out as ``plan`` says."""
    if plan.x_bdim is not None:
        x = move_batch_axis(x, x_bdim, size, plan.x_bdim)
    new_indices = []
    for i, d, shape in zip(indices, index_bdims, plan.index_shapes):
        if d is not None:
            i = moveaxis(i, d, 0)
            if get_aval(i).shape != shape:
                i = _structural.reshape_p.bind1(i, new_sizes=shape)
        new_indices.append(i)
    if plan.ids_shape is not None:
        ids = _structural.iota_p.bind1(dtype=np.dtype(np.int64), shape=plan.ids_shape, dimension=0)
        new_indices.append(ids)
    return x, new_indices


def _gather_batch(args, dims, *, indexer):
    x, *indices = args
    x_bdim, *index_bdims = dims
    size = axis_size_of(args, dims)
    plan = _batch_plan(gather_p, args, dims, indexer, 1)
    x, indices = _planned_operands(plan, x, x_bdim, indices, index_bdims, size)
    return [gather_p.bind1(x, *indices, indexer=plan.indexer)], [plan.out_bdim]


gather_p.batch = _gather_batch


def _scatter_batcher(prim: Primitive):
    def rule(args, dims, *, indexer):
        x, u, *indices = args
        x_bdim, u_bdim, *index_bdims = dims
        size = axis_size_of(args, dims)
        plan = _batch_plan(prim, args, dims, indexer, 2)
        x, indices = _planned_operands(plan, x, x_bdim, indices, index_bdims, size)
        u = move_batch_axis(u, u_bdim, size, plan.out_bdim)  # updates are laid out as x[index]
        return [prim.bind1(x, u, *indices, indexer=plan.indexer)], [plan.x_bdim]

    return rule


for _prim in (scatter_p, scatter_add_p, scatter_mul_p, scatter_min_p, scatter_max_p):
    _prim.batch = _scatter_batcher(_prim)
del _prim
