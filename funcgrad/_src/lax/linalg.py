"""Contraction and linear-algebra primitives: dot_general and the matrix decompositions.

Decompositions act on the last two axes and batch over the leading ones, as
``numpy.linalg`` does. inv, pinv, matrix_power, norm, lstsq... are compositions in
``funcgrad.numpy.linalg``.

Differentiation rules follow each primitive; they are written with batched matrix
products (``dot_general`` with the leading axes as batch dimensions), so stacks of
matrices need no special case. The decomposition rules hold for real and complex matrices
(qr: real only) where the decomposition is differentiable (conditions in each rule's
comment).
"""

from __future__ import annotations

import math

import numpy as np

from funcgrad._src.core import Primitive, ShapedArray, get_aval
from funcgrad._src.interpreters.ad import Zero, defjvp, is_undefined
from funcgrad._src.interpreters.batching import axis_size_of, move_batch_axis, moveaxis
from funcgrad._src.lax.elementwise import (
    add_p,
    conj_p,
    div_p,
    eq_p,
    gt_p,
    mul_p,
    neg_p,
    real_p,
    select_p,
    sub_p,
)
from funcgrad._src.lax.reductions import reduce_prod_p, reduce_sum_p
from funcgrad._src.lax.structural import (
    broadcast_in_dim_p,
    concatenate_p,
    iota_p,
    pad_p,
    reshape_p,
    transpose_p,
)

_add, _sub, _mul, _div, _neg = add_p.bind1, sub_p.bind1, mul_p.bind1, div_p.bind1, neg_p.bind1

# --- dot_general ----------------------------------------------------------------------

dot_general_p = Primitive("dot_general")


# The four 2-D contractions of a matmul and its two transposes: one BLAS call on
# (transposed) views, no copies. Keys are (lhs contracting, rhs contracting) axes.
_MATMUL_2D = {
    ((1,), (0,)): lambda a, b: a @ b,
    ((0,), (0,)): lambda a, b: a.T @ b,
    ((1,), (1,)): lambda a, b: a @ b.T,
    ((0,), (1,)): lambda a, b: a.T @ b.T,
}


def _dot_general_impl(backend, lhs, rhs, *, dimension_numbers):
    """Contract via one batched matmul: (batch, free, contract) @ (batch, contract, free)."""
    xp = backend.xp
    contracting, (lb, rb) = dimension_numbers
    if lhs.ndim == 2 and rhs.ndim == 2 and not lb:
        matmul_2d = _MATMUL_2D.get(contracting)
        if matmul_2d is not None:
            return [matmul_2d(lhs, rhs)]
    lc, rc = contracting
    lf = [d for d in range(lhs.ndim) if d not in lc and d not in lb]
    rf = [d for d in range(rhs.ndim) if d not in rc and d not in rb]
    batch = [lhs.shape[d] for d in lb]
    lfree = [lhs.shape[d] for d in lf]
    rfree = [rhs.shape[d] for d in rf]
    k = math.prod(lhs.shape[d] for d in lc)
    a = _as_matrix_stack(xp, lhs, (*lb, *lf, *lc), (*batch, math.prod(lfree), k))
    b = _as_matrix_stack(xp, rhs, (*rb, *rc, *rf), (*batch, k, math.prod(rfree)))
    out = xp.matmul(a, b)
    shape = (*batch, *lfree, *rfree)
    return [out if out.shape == shape else xp.reshape(out, shape)]


def _as_matrix_stack(xp, x, permutation, shape):
    """``x`` with axes permuted and grouped into ``shape``, skipping no-op steps."""
    if permutation != tuple(range(x.ndim)):
        x = xp.transpose(x, permutation)
    return x if x.shape == shape else xp.reshape(x, shape)


def _dot_general_abstract_eval(lhs, rhs, *, dimension_numbers):
    (lc, rc), (lb, rb) = dimension_numbers
    ok = (
        len(lc) == len(rc)
        and len(lb) == len(rb)
        and all(0 <= d < lhs.ndim for d in (*lc, *lb))
        and all(0 <= d < rhs.ndim for d in (*rc, *rb))
        and len({*lc, *lb}) == len(lc) + len(lb)
        and len({*rc, *rb}) == len(rc) + len(rb)
        and all(lhs.shape[a] == rhs.shape[b] for a, b in zip((*lc, *lb), (*rc, *rb)))
    )
    if not ok:
        raise ValueError(
            f"dot_general: cannot contract shapes {lhs.shape} and {rhs.shape} with "
            f"contracting dimensions {(lc, rc)} and batch dimensions {(lb, rb)}"
        )
    if lhs.dtype != rhs.dtype:
        raise TypeError(f"dot_general: operand dtypes differ: {lhs.dtype} and {rhs.dtype}")
    shape = (
        *(lhs.shape[d] for d in lb),
        *(lhs.shape[d] for d in range(lhs.ndim) if d not in lc and d not in lb),
        *(rhs.shape[d] for d in range(rhs.ndim) if d not in rc and d not in rb),
    )
    return [ShapedArray(shape, lhs.dtype)]


dot_general_p.impl = _dot_general_impl
dot_general_p.abstract_eval = _dot_general_abstract_eval


def _dot(lhs, rhs, contract, batch):
    return dot_general_p.bind1(lhs, rhs, dimension_numbers=(contract, batch))


def _free_dims(ndim: int, contract: tuple, batch: tuple) -> tuple[int, ...]:
    return tuple(d for d in range(ndim) if d not in contract and d not in batch)


def _transpose_to(x, result_dims: list[int]):
    """``x``, whose axis ``i`` is the operand's axis ``result_dims[i]``, in operand order."""
    perm = tuple(result_dims.index(d) for d in range(len(result_dims)))
    return x if perm == tuple(range(len(perm))) else transpose_p.bind1(x, permutation=perm)


# dot_general is bilinear: each operand's tangent enters through the same contraction
# with the other operand, and only the non-zero ones are computed.
defjvp(
    dot_general_p,
    lambda t, lhs, rhs, *, out, dimension_numbers: dot_general_p.bind1(
        t, rhs, dimension_numbers=dimension_numbers
    ),
    lambda t, lhs, rhs, *, out, dimension_numbers: dot_general_p.bind1(
        lhs, t, dimension_numbers=dimension_numbers
    ),
)


# The transposes contract the cotangent (batch, lhs free, rhs free) with the other
# operand over that operand's free dimensions, then put the axes in the operand's order.
# For x @ W they are one dot_general each, ct @ W.T and x.T @ ct, and the impl takes
# the transposes as views: nothing is copied.
def _dot_general_transpose_lhs(ct, rhs, lhs_ndim, dimension_numbers):
    (lc, rc), (lb, rb) = dimension_numbers
    lf = _free_dims(lhs_ndim, lc, lb)
    rf = _free_dims(rhs.ndim, rc, rb)
    nb, nlf = len(lb), len(lf)
    ct_batch = tuple(range(nb))
    ct_rfree = tuple(range(nb + nlf, nb + nlf + len(rf)))
    # result axes: batch, lhs free, then rhs's remaining (contracting) axes in rhs order
    out = _dot(ct, rhs, (ct_rfree, rf), (ct_batch, rb))
    return _transpose_to(out, [*lb, *lf, *(lc[rc.index(r)] for r in sorted(rc))])


def _dot_general_transpose_rhs(ct, lhs, rhs_ndim, dimension_numbers):
    (lc, rc), (lb, rb) = dimension_numbers
    lf = _free_dims(lhs.ndim, lc, lb)
    rf = _free_dims(rhs_ndim, rc, rb)
    nb = len(lb)
    ct_batch = tuple(range(nb))
    ct_lfree = tuple(range(nb, nb + len(lf)))
    # result axes: batch, lhs's remaining (contracting) axes in lhs order, then rhs free
    out = _dot(lhs, ct, (lf, ct_lfree), (lb, ct_batch))
    return _transpose_to(out, [*rb, *(rc[lc.index(a)] for a in sorted(lc)), *rf])


def _dot_general_transpose(cts, lhs, rhs, *, dimension_numbers):
    (ct,) = cts
    if is_undefined(lhs) and is_undefined(rhs):
        raise ValueError(
            "dot_general: transpose of a product of two linear values (the program is not linear)"
        )
    if is_undefined(lhs):
        if type(ct) is Zero:
            return [Zero(lhs.aval), None]
        return [_dot_general_transpose_lhs(ct, rhs, lhs.aval.ndim, dimension_numbers), None]
    if type(ct) is Zero:
        return [None, Zero(rhs.aval)]
    return [None, _dot_general_transpose_rhs(ct, lhs, rhs.aval.ndim, dimension_numbers)]


dot_general_p.transpose = _dot_general_transpose
dot_general_p.linear = True


# --- matrix helpers for the decomposition rules ---------------------------------------
# All act on the last two axes of stacks of matrices; masks are built from iota, so
# they are constants of the linearized program.


def _mT(x):
    """The matrix transpose (last two axes swapped)."""
    n = x.ndim
    return transpose_p.bind1(x, permutation=(*range(n - 2), n - 1, n - 2))


def _matmul(a, b):
    """Batched matrix product ``a @ b`` of stacks with equal batch shapes."""
    batch = tuple(range(a.ndim - 2))
    return _dot(a, b, ((a.ndim - 1,), (b.ndim - 2,)), (batch, batch))


def _index_grids(shape):
    """Row and column indices of every element of a stack of matrices of ``shape``."""
    n = len(shape)
    rows = iota_p.bind1(dtype=np.dtype(np.int64), shape=tuple(shape), dimension=n - 2)
    cols = iota_p.bind1(dtype=np.dtype(np.int64), shape=tuple(shape), dimension=n - 1)
    return rows, cols


def _diagonal_mask(shape):
    return eq_p.bind1(*_index_grids(shape))


def _strictly_lower_mask(shape):
    return gt_p.bind1(*_index_grids(shape))


def _keep(mask, x):
    """``x`` where ``mask``, else zero."""
    return select_p.bind1(mask, x, x.dtype.type(0))


def _diagonal(x):
    """The diagonals of a stack of square matrices, shape ``(..., n)``."""
    return reduce_sum_p.bind1(_keep(_diagonal_mask(x.shape), x), axes=(x.ndim - 1,))


def _identity_like(x):
    """Identity matrices of ``x``'s (square) shape and dtype."""
    return select_p.bind1(_diagonal_mask(x.shape), x.dtype.type(1), x.dtype.type(0))


def _spread(v, shape, axis):
    """A stack of vectors ``v`` of shape ``(..., n)`` laid along ``axis`` (-2: the value
    depends on the row, -1: on the column) of matrices of ``shape``."""
    nb = v.ndim - 1
    return broadcast_in_dim_p.bind1(
        v, shape=tuple(shape), broadcast_dimensions=(*range(nb), len(shape) + axis)
    )


def _inverse_differences(w, shape):
    """``F[..., i, j] = 1 / (w_j - w_i)`` off the diagonal, 0 on it."""
    diagonal = _diagonal_mask(shape)
    differences = _sub(_spread(w, shape, -1), _spread(w, shape, -2))
    one, zero = w.dtype.type(1), w.dtype.type(0)
    safe = select_p.bind1(diagonal, one, differences)
    return select_p.bind1(diagonal, zero, _div(one, safe))


def _mH(x):
    """The conjugate transpose (the transpose for real matrices)."""
    return conj_p.bind1(_mT(x)) if x.dtype.kind == "c" else _mT(x)


def _symmetrize(t):
    """The Hermitian (symmetric) part ``(T + T^H) / 2``."""
    return _mul(_add(t, _mH(t)), t.dtype.type(0.5))


def _real_part(x):
    return real_p.bind1(x) if x.dtype.kind == "c" else x


def _crop_columns(x, start, stop):
    """Columns ``start:stop`` of a stack of matrices (a negative pad crops)."""
    config = ((0, 0, 0),) * (x.ndim - 1) + ((-start, stop - x.shape[-1], 0),)
    return pad_p.bind1(x, x.dtype.type(0), padding_config=config)


def _require_real(name, x):
    if get_aval(x).dtype.kind == "c":
        raise NotImplementedError(
            f"differentiation of {name} is implemented for real matrices only, got {x.dtype}"
        )


def _as_dtype(x, dtype):
    from funcgrad._src.lax.structural import convert_element_type_p

    return x if x.dtype == dtype else convert_element_type_p.bind1(x, new_dtype=dtype)


# --- decompositions -------------------------------------------------------------------


def _check_matrix(name: str, x: ShapedArray, square: bool = True) -> None:
    if x.ndim < 2 or (square and x.shape[-1] != x.shape[-2]):
        kind = "square matrices" if square else "matrices"
        raise ValueError(
            f"{name}: expected a stack of {kind} (shape (..., M, M)), got shape {x.shape}"
        )
    if x.dtype.kind not in "fc":
        raise TypeError(f"{name}: expected a floating or complex matrix, got dtype {x.dtype}")


def _real_dtype(dtype: np.dtype) -> np.dtype:
    return np.finfo(dtype).dtype


cholesky_p = Primitive("cholesky")
cholesky_p.impl = lambda backend, x: [backend.xp.linalg.cholesky(x)]


def _cholesky_abstract_eval(x):
    _check_matrix("cholesky", x)
    return [x]


cholesky_p.abstract_eval = _cholesky_abstract_eval


# cholesky (Murray 2016, "Differentiation of the Cholesky decomposition"): for A = L L^H,
# dL = L Phi(L^{-1} dA L^{-H}) where Phi keeps the lower triangle and halves the
# diagonal (real for Hermitian dA). The kernel reads only one triangle of A, so the rule
# takes the Hermitian part of dA: it is the derivative along Hermitian perturbations
# (funcgrad.numpy.linalg.cholesky passes a matrix built from the triangle it reads).
# A must be positive definite.
def _cholesky_jvp_fn(t, a, *, out):
    inner = _solve(out, _mH(_solve(out, _symmetrize(t))))  # L^{-1} dA L^{-H}, dA Hermitian
    return _matmul(out, _mul(inner, _lower_half_diagonal(out)))


def _lower_half_diagonal(x):
    """1 below the diagonal, 1/2 on it, 0 above, in ``x``'s shape and dtype."""
    one, half, zero = x.dtype.type(1), x.dtype.type(0.5), x.dtype.type(0)
    on_diagonal = select_p.bind1(_diagonal_mask(x.shape), half, zero)
    return select_p.bind1(_strictly_lower_mask(x.shape), one, on_diagonal)


defjvp(cholesky_p, _cholesky_jvp_fn)

eigh_p = Primitive("eigh")  # outputs: eigenvalues (ascending), eigenvectors (columns)


def _eigh_impl(backend, x, *, lower):
    w, v = backend.xp.linalg.eigh(x, UPLO="L" if lower else "U")
    return [w, v]


def _eigh_abstract_eval(x, *, lower):
    _check_matrix("eigh", x)
    return [ShapedArray(x.shape[:-1], _real_dtype(x.dtype)), x]


eigh_p.impl = _eigh_impl
eigh_p.abstract_eval = _eigh_abstract_eval


# eigh, for distinct eigenvalues (the eigenvectors are not differentiable, or not even
# unique, where eigenvalues coincide): with P = V^H dA V, dw = Re diag(P) and
# dV = V (F * P), F_ij = 1 / (w_j - w_i) off the diagonal and 0 on it. The kernel reads
# one triangle of A, so dA is symmetrized first, as for cholesky. For complex A the
# eigenvectors' phases are free; the rule picks the gauge diag(V^H dV) = 0 (as JAX does).
def _eigh_jvp(primals, tangents, *, lower):
    (a,), (da,) = primals, tangents
    w, v = eigh_p.bind(a, lower=lower)
    p = _matmul(_mH(v), _matmul(_symmetrize(da), v))
    f = _as_dtype(_inverse_differences(w, v.shape), p.dtype)
    dv = _matmul(v, _mul(f, p))
    return [w, v], [_real_part(_diagonal(p)), dv]


eigh_p.jvp = _eigh_jvp

qr_p = Primitive("qr")  # outputs: q, r


def _qr_impl(backend, x, *, full_matrices):
    q, r = backend.xp.linalg.qr(x, mode="complete" if full_matrices else "reduced")
    return [q, r]


def _qr_abstract_eval(x, *, full_matrices):
    _check_matrix("qr", x, square=False)
    *batch, m, n = x.shape
    k = m if full_matrices else min(m, n)
    return [x.update(shape=(*batch, m, k)), x.update(shape=(*batch, k, n))]


qr_p.impl = _qr_impl
qr_p.abstract_eval = _qr_abstract_eval


# qr, for A of full rank. Tall or square A (m >= n, reduced): with X = dA R^{-1} and
# C = Q^T X, Q^T dQ = Omega is antisymmetric and dR R^{-1} = C - Omega is upper
# triangular, which fixes Omega = tril(C, -1) - tril(C, -1)^T; then dR = (C - Omega) R
# and dQ = X + Q (Omega - C) (this includes the part of dQ orthogonal to Q). Wide A
# (m < n): A = Q [R1 R2] with Q R1 the factorization of the first m columns and
# R2 = Q^T A2. The extra columns of Q for full_matrices with m > n are not unique:
# not differentiable.
def _qr_jvp(primals, tangents, *, full_matrices):
    (a,), (da,) = primals, tangents
    _require_real("qr", a)
    q, r = qr_p.bind(a, full_matrices=full_matrices)
    m, n = a.shape[-2:]
    if m >= n:
        if full_matrices and m > n:
            raise NotImplementedError(
                "differentiation of qr with full_matrices=True is only defined for m <= n "
                f"(got a matrix of shape {a.shape}); use the reduced mode"
            )
        dq, dr = _qr_square_or_tall_jvp(q, r, da)
    else:
        dq, dr1 = _qr_square_or_tall_jvp(q, _crop_columns(r, 0, m), _crop_columns(da, 0, m))
        a2, da2 = _crop_columns(a, m, n), _crop_columns(da, m, n)
        dr2 = _add(_matmul(_mT(dq), a2), _matmul(_mT(q), da2))
        dr = concatenate_p.bind1(dr1, dr2, dimension=a.ndim - 1)
    return [q, r], [dq, dr]


def _qr_square_or_tall_jvp(q, r, da):
    x = _mT(_solve(_mT(r), _mT(da)))  # dA R^{-1}
    c = _matmul(_mT(q), x)
    below = _keep(_strictly_lower_mask(c.shape), c)
    omega = _sub(below, _mT(below))
    return _add(x, _matmul(q, _sub(omega, c))), _matmul(_sub(c, omega), r)


qr_p.jvp = _qr_jvp

svd_p = Primitive("svd")  # outputs: s, or u, s, vh when compute_uv


def _svd_impl(backend, x, *, full_matrices, compute_uv):
    if not compute_uv:
        return [backend.xp.linalg.svd(x, compute_uv=False)]
    u, s, vh = backend.xp.linalg.svd(x, full_matrices=full_matrices)
    return [u, s, vh]


def _svd_abstract_eval(x, *, full_matrices, compute_uv):
    _check_matrix("svd", x, square=False)
    *batch, m, n = x.shape
    k = min(m, n)
    s = ShapedArray((*batch, k), _real_dtype(x.dtype))
    if not compute_uv:
        return [s]
    um, vn = (m, n) if full_matrices else (k, k)
    return [x.update(shape=(*batch, m, um)), s, x.update(shape=(*batch, vn, n))]


svd_p.impl = _svd_impl
svd_p.abstract_eval = _svd_abstract_eval


# svd, for distinct nonzero singular values (Townsend 2016, "Differentiating the singular
# value decomposition"). With A = U S V^T (k = min(m, n) singular values),
# P = U^T dA V and F_ij = 1 / (s_j^2 - s_i^2) off the diagonal (0 on it):
#   ds = diag(P)
#   dU = U (F * (P S + S P^T)) + (I - U U^T) dA V S^{-1}
#   dV = V (F * (S P + P^T S)) + (I - V V^T) dA^T U S^{-1}
# The last terms vanish for square A. Singular values alone need U and V too: the rule
# computes the full decomposition once, and its s is returned as the primal output. With
# full_matrices and m != n, the extra singular vectors are not unique: not differentiable.
def _svd_jvp(primals, tangents, *, full_matrices, compute_uv):
    (a,), (da,) = primals, tangents
    m, n = a.shape[-2:]
    complex_ = a.dtype.kind == "c"
    if not compute_uv:
        u, s, vh = svd_p.bind(a, full_matrices=False, compute_uv=True)
        u_bar = conj_p.bind1(u) if complex_ else u
        ds = reduce_sum_p.bind1(_mul(u_bar, _matmul(da, _mH(vh))), axes=(a.ndim - 2,))
        return [s], [_real_part(ds)]
    if full_matrices and m != n:
        raise NotImplementedError(
            "differentiation of svd with full_matrices=True is only defined for square "
            f"matrices (got shape {a.shape}); use full_matrices=False"
        )
    u, s, vh = svd_p.bind(a, full_matrices=full_matrices, compute_uv=True)
    v = _mH(vh)
    da_v = _matmul(da, v)
    p = _matmul(_mH(u), da_v)
    pt = _mH(p)
    k = s.shape[-1]
    dt = a.dtype
    s_i, s_j = _as_dtype(_spread(s, p.shape, -2), dt), _as_dtype(_spread(s, p.shape, -1), dt)
    f = _as_dtype(_inverse_differences(_mul(s, s), p.shape), dt)
    inner_u = _mul(f, _add(_mul(p, s_j), _mul(s_i, pt)))
    if complex_:
        # the phase of each pair (u_i, v_i) is free: the gauge puts i Im(P_ii) / s_i in dU
        # only, (P - P^H) / 2 on the diagonal scaled by 1 / s (JAX's choice)
        inv_s_diagonal = _keep(_diagonal_mask(p.shape), _div(dt.type(1), s_j))
        inner_u = _add(inner_u, _mul(_mul(_sub(p, pt), dt.type(0.5)), inv_s_diagonal))
    du = _matmul(u, inner_u)
    dv = _matmul(v, _mul(f, _add(_mul(s_i, p), _mul(pt, s_j))))
    inv_s = _as_dtype(_div(s.dtype.type(1), s), dt)
    if m > k:
        du = _add(du, _mul(_sub(da_v, _matmul(u, p)), _spread(inv_s, u.shape, -1)))
    if n > k:
        da_h_u = _matmul(_mH(da), u)
        dv = _add(dv, _mul(_sub(da_h_u, _matmul(v, pt)), _spread(inv_s, v.shape, -1)))
    return [u, s, vh], [du, _real_part(_diagonal(p)), _mH(dv)]


svd_p.jvp = _svd_jvp

solve_p = Primitive("solve")  # a x = b for a of shape (..., M, M), b of shape (..., M, K)


def _solve_abstract_eval(a, b):
    _check_matrix("solve", a)
    if b.ndim != a.ndim or b.shape[:-2] != a.shape[:-2] or b.shape[-2] != a.shape[-1]:
        raise ValueError(
            f"solve: cannot solve a system with a of shape {a.shape} and b of shape {b.shape}"
        )
    if a.dtype != b.dtype:
        raise TypeError(f"solve: dtypes differ: {a.dtype} and {b.dtype}")
    return [b]


solve_p.impl = lambda backend, a, b: [backend.xp.linalg.solve(a, b)]
solve_p.abstract_eval = _solve_abstract_eval


def _solve(a, b):
    return solve_p.bind1(a, b)


# solve: x = A^{-1} b, so dx = A^{-1} (db - dA x). It is linear in b, with transpose
# ct -> A^{-T} ct.
def _solve_jvp(primals, tangents):
    a, b = primals
    da, db = tangents
    x = _solve(a, b)
    rhs = db
    if type(da) is not Zero:
        da_x = _matmul(da, x)
        rhs = _neg(da_x) if type(db) is Zero else _sub(db, da_x)
    return [x], [_solve(a, rhs)]


def _solve_transpose(cts, a, b):
    (ct,) = cts
    if is_undefined(a):
        raise ValueError("solve: transpose with respect to the matrix (the program is not linear)")
    return [None, Zero(b.aval) if type(ct) is Zero else _solve(_mT(a), ct)]


solve_p.jvp = _solve_jvp
solve_p.transpose = _solve_transpose
solve_p.linear = True

det_p = Primitive("det")


def _det_abstract_eval(x):
    _check_matrix("det", x)
    return [x.update(shape=x.shape[:-2])]


det_p.impl = lambda backend, x: [backend.xp.linalg.det(x)]
det_p.abstract_eval = _det_abstract_eval


def _trace_of_inverse_times(a, t):
    """tr(A^{-1} T) = sum(A^{-T} * T) over the last two axes; A must be invertible."""
    inverse_t = _solve(_mT(a), _identity_like(a))
    return reduce_sum_p.bind1(_mul(inverse_t, t), axes=(a.ndim - 2, a.ndim - 1))


def _over_matrices(v, shape):
    """A value per matrix of a stack (shape ``batch``) broadcast to the matrices' ``shape``."""
    return broadcast_in_dim_p.bind1(
        v, shape=tuple(shape), broadcast_dimensions=tuple(range(v.ndim))
    )


def _adjugate_transpose(a, det):
    """``adj(A)^T``, the matrix of cofactors, for every square ``A`` (singular ones too).

    For invertible A it is ``det(A) A^{-T}`` (one LU solve). Where ``det(A) == 0`` it comes
    from the SVD ``A = U diag(s) V^H``: ``adj(A)^T = det(U) det(V^H) conj(U) diag(c) conj(V^H)``
    with ``c_i = prod_{j != i} s_j`` (zero if the rank is below n - 1). Both are computed
    and the right one selected (the choice depends on values; ``select`` keeps a NaN of the
    branch not taken out of values and derivatives).
    """
    eye = _identity_like(a)
    singular = _over_matrices(eq_p.bind1(det, det.dtype.type(0)), a.shape)
    invertible_part = _solve(_mT(select_p.bind1(singular, eye, a)), eye)
    by_inverse = _mul(_over_matrices(det, a.shape), invertible_part)
    u, s, vh = svd_p.bind(a, full_matrices=False, compute_uv=True)
    one = s.dtype.type(1)
    others = reduce_prod_p.bind1(
        select_p.bind1(_diagonal_mask(a.shape), one, _spread(s, a.shape, -1)), axes=(a.ndim - 1,)
    )
    others = _as_dtype(others, a.dtype)
    if a.dtype.kind == "c":
        u, vh = conj_p.bind1(u), conj_p.bind1(vh)
    phase = _mul(det_p.bind1(u), det_p.bind1(vh))  # det(conj U) det(conj V^H) = conj of ...
    if a.dtype.kind == "c":
        phase = conj_p.bind1(phase)  # ... det(U) det(V^H)
    by_svd = _mul(
        _over_matrices(phase, a.shape), _matmul(_mul(u, _spread(others, a.shape, -1)), vh)
    )
    return select_p.bind1(singular, by_svd, by_inverse)


# det (Jacobi's formula): d det(A) = tr(adj(A) dA), which is det(A) tr(A^{-1} dA) for
# invertible A. det is a polynomial, so the adjugate form holds for singular A as well.
defjvp(det_p, lambda t, a, *, out: reduce_sum_p.bind1(
    _mul(_adjugate_transpose(a, out), t), axes=(a.ndim - 2, a.ndim - 1)))  # fmt: skip

slogdet_p = Primitive("slogdet")  # outputs: sign, log|det|


def _slogdet_impl(backend, x):
    sign, logabsdet = backend.xp.linalg.slogdet(x)
    return [sign, logabsdet]


def _slogdet_abstract_eval(x):
    _check_matrix("slogdet", x)
    return [x.update(shape=x.shape[:-2]), ShapedArray(x.shape[:-2], _real_dtype(x.dtype))]


slogdet_p.impl = _slogdet_impl
slogdet_p.abstract_eval = _slogdet_abstract_eval


# slogdet: with tau = tr(A^{-1} dA) for invertible A, d log|det A| = Re(tau) and the
# sign (det / |det|) moves by d sign = i Im(tau) sign; a real sign is piecewise constant.
def _slogdet_jvp(primals, tangents):
    (a,), (da,) = primals, tangents
    sign, logabsdet = slogdet_p.bind(a)
    tau = _trace_of_inverse_times(a, da)
    if a.dtype.kind != "c":
        return [sign, logabsdet], [Zero(get_aval(sign).update(weak_type=False)), tau]
    i_im_tau = _sub(tau, _as_dtype(real_p.bind1(tau), tau.dtype))
    return [sign, logabsdet], [_mul(i_im_tau, sign), real_p.bind1(tau)]


slogdet_p.jvp = _slogdet_jvp


# --- batching rules -------------------------------------------------------------------


def _with_batch_axis(dims: tuple, bdim: int) -> tuple[int, ...]:
    """Per-example axes ``dims`` as axes of the operand that has a batch axis at ``bdim``."""
    return tuple(d + (d >= bdim) for d in dims)


# dot_general: the batch axis never needs a copy of its own. Batched on both sides, it
# becomes one more (leading) batch dimension of the contraction; batched on one side,
# it is one more free dimension of that operand, and its place among the output's free
# axes is the output's batch dimension, so no transpose follows. vmap of a
# matrix-vector product is then a plain 2-D matmul of the matrix with the stack of
# vectors, which the impl runs as one BLAS call.
def _dot_general_batch(args, dims, *, dimension_numbers):
    (lhs, rhs), (ld, rd) = args, dims
    (lc, rc), (lb, rb) = dimension_numbers
    if ld is not None:
        lc, lb = _with_batch_axis(lc, ld), _with_batch_axis(lb, ld)
    if rd is not None:
        rc, rb = _with_batch_axis(rc, rd), _with_batch_axis(rb, rd)
    if ld is not None and rd is not None:
        out = _dot(lhs, rhs, (lc, rc), ((ld, *lb), (rd, *rb)))
        return [out], [0]
    out = _dot(lhs, rhs, (lc, rc), (lb, rb))
    if ld is not None:
        return [out], [len(lb) + _free_dims(lhs.ndim, lc, lb).index(ld)]
    lhs_free = lhs.ndim - len(lc) - len(lb)
    return [out], [len(lb) + lhs_free + _free_dims(rhs.ndim, rc, rb).index(rd)]


dot_general_p.batch = _dot_general_batch


def _matrix_batcher(prim: Primitive):
    """The batching rule of a one-operand primitive that maps over leading axes: the
    batch axis stays where it is if it is one of them, else it moves to the front."""

    def rule(args, dims, **params):
        (x,), (bdim,) = args, dims
        if bdim >= x.ndim - 2:
            x, bdim = moveaxis(x, bdim, 0), 0
        outs = prim.bind(x, **params)
        return outs, [bdim] * len(outs)

    return rule


for _prim in (cholesky_p, eigh_p, qr_p, svd_p, det_p, slogdet_p):
    _prim.batch = _matrix_batcher(_prim)


# solve: with only b batched, all examples share one matrix: they become extra columns
# of b, (..., M, K, B) -> (..., M, K * B), so the matrix is factorized once. Otherwise
# both operands get the batch axis in one leading position (an unbatched b is
# broadcast there, a view).
def _solve_batch(args, dims):
    (a, b), (ad, bd) = args, dims
    if ad is None:
        last = b.ndim - 1
        b = moveaxis(b, bd, last)
        *lead, m, k, size = b.shape
        x = _solve(a, reshape_p.bind1(b, new_sizes=(*lead, m, k * size)))
        return [reshape_p.bind1(x, new_sizes=(*lead, m, k, size))], [last]
    target = ad if ad < a.ndim - 2 else 0
    a = moveaxis(a, ad, target)
    b = move_batch_axis(b, bd, axis_size_of(args, dims), target)
    return [_solve(a, b)], [target]


solve_p.batch = _solve_batch
