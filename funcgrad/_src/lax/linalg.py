"""Contraction and linear-algebra primitives: dot_general and the matrix decompositions.

Decompositions act on the last two axes and batch over the leading ones, as
``numpy.linalg`` does. inv, pinv, matrix_power, norm, lstsq... are compositions in
``funcgrad.numpy.linalg``.
"""

from __future__ import annotations

import numpy as np

from funcgrad._src.core import Primitive, ShapedArray

# --- dot_general ----------------------------------------------------------------------

dot_general_p = Primitive("dot_general")


def _dot_general_impl(backend, lhs, rhs, *, dimension_numbers):
    """Contract via one batched matmul: (batch, free, contract) @ (batch, contract, free)."""
    xp = backend.xp
    (lc, rc), (lb, rb) = dimension_numbers
    lf = [d for d in range(lhs.ndim) if d not in lc and d not in lb]
    rf = [d for d in range(rhs.ndim) if d not in rc and d not in rb]
    batch = [lhs.shape[d] for d in lb]
    lfree = [lhs.shape[d] for d in lf]
    rfree = [rhs.shape[d] for d in rf]
    k = int(np.prod([lhs.shape[d] for d in lc], dtype=np.int64))
    m = int(np.prod(lfree, dtype=np.int64))
    n = int(np.prod(rfree, dtype=np.int64))
    a = xp.reshape(xp.transpose(lhs, (*lb, *lf, *lc)), (*batch, m, k))
    b = xp.reshape(xp.transpose(rhs, (*rb, *rc, *rf)), (*batch, k, n))
    return [xp.reshape(xp.matmul(a, b), (*batch, *lfree, *rfree))]


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


# --- decompositions -------------------------------------------------------------------


def _check_matrix(name: str, x: ShapedArray, square: bool = True) -> None:
    if x.ndim < 2 or (square and x.shape[-1] != x.shape[-2]):
        kind = "square matrices" if square else "matrices"
        raise ValueError(f"{name}: expected a stack of {kind} (shape (..., M, M)), got shape {x.shape}")
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

eigh_p = Primitive("eigh")  # outputs: eigenvalues (ascending), eigenvectors (columns)


def _eigh_impl(backend, x, *, lower):
    w, v = backend.xp.linalg.eigh(x, UPLO="L" if lower else "U")
    return [w, v]


def _eigh_abstract_eval(x, *, lower):
    _check_matrix("eigh", x)
    return [ShapedArray(x.shape[:-1], _real_dtype(x.dtype)), x]


eigh_p.impl = _eigh_impl
eigh_p.abstract_eval = _eigh_abstract_eval

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

solve_p = Primitive("solve")  # a x = b for a of shape (..., M, M), b of shape (..., M, K)


def _solve_abstract_eval(a, b):
    _check_matrix("solve", a)
    if b.ndim != a.ndim or b.shape[:-2] != a.shape[:-2] or b.shape[-2] != a.shape[-1]:
        raise ValueError(f"solve: cannot solve a system with a of shape {a.shape} and b of shape {b.shape}")
    if a.dtype != b.dtype:
        raise TypeError(f"solve: dtypes differ: {a.dtype} and {b.dtype}")
    return [b]


solve_p.impl = lambda backend, a, b: [backend.xp.linalg.solve(a, b)]
solve_p.abstract_eval = _solve_abstract_eval

det_p = Primitive("det")


def _det_abstract_eval(x):
    _check_matrix("det", x)
    return [x.update(shape=x.shape[:-2])]


det_p.impl = lambda backend, x: [backend.xp.linalg.det(x)]
det_p.abstract_eval = _det_abstract_eval

slogdet_p = Primitive("slogdet")  # outputs: sign, log|det|


def _slogdet_impl(backend, x):
    sign, logabsdet = backend.xp.linalg.slogdet(x)
    return [sign, logabsdet]


def _slogdet_abstract_eval(x):
    _check_matrix("slogdet", x)
    return [x.update(shape=x.shape[:-2]), ShapedArray(x.shape[:-2], _real_dtype(x.dtype))]


slogdet_p.impl = _slogdet_impl
slogdet_p.abstract_eval = _slogdet_abstract_eval
