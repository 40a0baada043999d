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
            t_u = scatter_add_p.bind1(zeros_x, _ew.mul_p.bind1(tu, u_won), *indices, indexer=indexer)
            t_out = add_tangents(t_out, t_u)
        return [out], [_ew.div_p.bind1(t_out, winners)]

    return jvp


scatter_min_p.jvp = _make_scatter_extremum_jvp(scatter_min_p)
scatter_max_p.jvp = _make_scatter_extremum_jvp(scatter_max_p)
