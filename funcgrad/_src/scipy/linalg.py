"""``funcgrad.scipy.linalg``: SciPy's linear-algebra names over funcgrad.numpy.linalg.

SciPy's conventions where they differ from NumPy's: ``cholesky`` returns the *upper*
factor unless ``lower=True``; ``qr`` defaults to ``mode='full'``; ``eigh`` takes
``lower``. Triangular solves use the general solver on the triangle (correct values and
derivatives; no triangular speed-up). ``lu_factor`` is partial-pivoting Gaussian
elimination written as ``n`` traced steps (pivots by ``argmax``), so it works under jit,
vmap and grad; it is meant for the small and medium matrices where that is reasonable.
``expm`` is Higham's scaling and squaring with the degree-13 Pade approximant
("The scaling and squaring method for the matrix exponential revisited", SIAM J. Matrix
Anal. Appl. 26(4), 2005). ``sqrtm`` is the scaled Denman-Beavers iteration, for matrices
with no eigenvalues on the closed negative real axis.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import funcgrad.numpy as fnp
from funcgrad._src.core import Tracer
from funcgrad._src.custom_derivatives import stop_gradient

__all__ = [
    "block_diag", "cho_factor", "cho_solve", "cholesky", "det", "eigh", "eigh_tridiagonal",
    "expm", "expm_frechet", "funm", "hessenberg", "hilbert", "inv", "lu", "lu_factor",
    "lu_solve", "polar", "qr", "qr_multiply", "rsf2csf", "schur", "solve", "solve_sylvester",
    "solve_triangular", "sqrtm", "svd", "toeplitz",
]  # fmt: skip


def _name(fn: str) -> str:
    return f"funcgrad.scipy.linalg.{fn}"


def _square(fname: str, a: Any) -> Any:
    a = fnp.asarray(a)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(
            f"{_name(fname)}: expected a square matrix (..., n, n), got shape {a.shape}"
        )
    if a.dtype.kind not in "fc":
        a = a.astype(np.float64)
    return a


def _ct(a: Any) -> Any:
    return fnp.conj(fnp.swapaxes(a, -1, -2))


def cholesky(
    a: Any, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True
) -> Any:
    """The Cholesky factor of a Hermitian positive-definite matrix: upper ``U`` with
    ``a = U^H U`` (SciPy's default), or lower ``L`` with ``a = L L^H``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> linalg.cholesky(fnp.asarray([[4.0, 2.0], [2.0, 5.0]])).tolist()
        [[2.0, 1.0], [0.0, 2.0]]
    """
    del overwrite_a, check_finite
    low = fnp.linalg.cholesky(_square("cholesky", a))
    return low if lower else _ct(low)


def cho_factor(a: Any, lower: bool = False, overwrite_a: bool = False,
               check_finite: bool = True) -> tuple[Any, bool]:  # fmt: skip
    """``(c, lower)`` for :func:`cho_solve`; ``c`` is the Cholesky factor (the other
    triangle is zero, unlike SciPy's, which leaves garbage there).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> c = linalg.cho_factor(fnp.asarray([[4.0, 2.0], [2.0, 5.0]]))
        >>> linalg.cho_solve(c, fnp.asarray([6.0, 7.0])).tolist()
        [1.0, 1.0]
    """
    return cholesky(a, lower=lower), lower


def cho_solve(c_and_lower: tuple[Any, bool], b: Any, overwrite_b: bool = False,
              check_finite: bool = True) -> Any:  # fmt: skip
    """Solve ``a x = b`` given :func:`cho_factor`'s result.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> c = linalg.cho_factor(fnp.asarray([[2.0, 0.0], [0.0, 8.0]]), lower=True)
        >>> linalg.cho_solve(c, fnp.asarray([2.0, 4.0])).round(12).tolist()
        [1.0, 0.5]
    """
    del overwrite_b, check_finite
    c, lower = c_and_lower
    low = c if lower else _ct(c)
    y = solve_triangular(low, b, lower=True)
    return solve_triangular(_ct(low), y, lower=False)


def solve_triangular(a: Any, b: Any, trans: Any = 0, lower: bool = False,
                     unit_diagonal: bool = False, overwrite_b: bool = False,
                     debug: Any = None, check_finite: bool = True) -> Any:  # fmt: skip
    """Solve ``op(T) x = b`` for the lower or upper triangle ``T`` of ``a``, with ``op``
    the identity (``trans=0``/``'N'``), the transpose (1/``'T'``) or the conjugate
    transpose (2/``'C'``); ``unit_diagonal`` takes the diagonal as ones. ``overwrite_b``,
    ``debug`` and ``check_finite`` are accepted and unused, as in JAX.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> t = fnp.asarray([[2.0, 0.0], [1.0, 1.0]])
        >>> linalg.solve_triangular(t, fnp.asarray([2.0, 3.0]), lower=True).tolist()
        [1.0, 2.0]
    """
    del overwrite_b, debug, check_finite
    a = _square("solve_triangular", a)
    t = fnp.tril(a) if lower else fnp.triu(a)
    if unit_diagonal:
        n = a.shape[-1]
        t = t * (1 - fnp.eye(n, dtype=a.dtype)) + fnp.eye(n, dtype=a.dtype)
    modes = {0: 0, "N": 0, 1: 1, "T": 1, 2: 2, "C": 2}
    if trans not in modes:
        raise ValueError(
            f"{_name('solve_triangular')}: trans must be 0, 1, 2, 'N', 'T' or 'C', got {trans!r}"
        )
    mode = modes[trans]
    if mode == 1:
        t = fnp.swapaxes(t, -1, -2)
    elif mode == 2:
        t = _ct(t)
    return solve(t, b)


def solve(a: Any, b: Any, lower: bool = False, overwrite_a: bool = False,
          overwrite_b: bool = False, debug: bool = False, check_finite: bool = True,
          assume_a: str = "gen") -> Any:  # fmt: skip
    """Solve ``a x = b`` (``b`` a vector or a matrix of right-hand sides). ``assume_a``
    ``'sym'``/``'her'``/``'pos'`` read only the ``lower`` (or upper) triangle, as SciPy.
    ``overwrite_a``, ``overwrite_b``, ``debug`` and ``check_finite`` are accepted and
    unused, as in JAX.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> linalg.solve(fnp.asarray([[3.0, 1.0], [1.0, 2.0]]), fnp.asarray([9.0, 8.0])).tolist()
        [2.0, 3.0]
    """
    del overwrite_a, overwrite_b, debug, check_finite
    a = _square("solve", a)
    if assume_a in ("sym", "her", "pos"):
        tri = fnp.tril(a) if lower else fnp.triu(a)
        other = fnp.swapaxes(tri, -1, -2) if assume_a == "sym" else _ct(tri)
        a = (
            tri
            + other
            - fnp.eye(a.shape[-1], dtype=a.dtype)
            * fnp.diagonal(a, axis1=-2, axis2=-1)[..., None, :]
        )
    elif assume_a != "gen":
        raise ValueError(
            f"{_name('solve')}: assume_a must be 'gen', 'sym', 'her' or 'pos', got {assume_a!r}"
        )
    b = fnp.asarray(b)
    if b.ndim == a.ndim - 1:
        return fnp.linalg.solve(a, b[..., None])[..., 0]
    return fnp.linalg.solve(a, b)


def inv(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    """The inverse of a square matrix.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> linalg.inv(fnp.asarray([[2.0, 0.0], [0.0, 4.0]])).tolist()
        [[0.5, 0.0], [0.0, 0.25]]
    """
    del overwrite_a, check_finite
    return fnp.linalg.inv(_square("inv", a))


def det(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    """The determinant.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> round(float(linalg.det(fnp.asarray([[1.0, 2.0], [3.0, 4.0]]))), 10)
        -2.0
    """
    del overwrite_a, check_finite
    return fnp.linalg.det(_square("det", a))


def eigh(
    a: Any,
    b: Any = None,
    lower: bool = True,
    eigvals_only: bool = False,
    overwrite_a: bool = False,
    overwrite_b: bool = False,
    turbo: bool = True,
    eigvals: Any = None,
    type: int = 1,
    check_finite: bool = True,
) -> Any:
    """Eigenvalues (ascending) and eigenvectors (columns) of a Hermitian matrix, from its
    ``lower`` (or upper) triangle. The generalized problem (``b``) is not supported.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> linalg.eigh(fnp.asarray([[2.0, 0.0], [0.0, 1.0]]), eigvals_only=True).tolist()
        [1.0, 2.0]
    """
    del overwrite_a, overwrite_b, turbo, check_finite, type
    if b is not None or eigvals is not None:
        raise NotImplementedError(
            f"{_name('eigh')}: b (generalized problems) and eigvals are not supported"
        )
    w, v = fnp.linalg.eigh(_square("eigh", a), UPLO="L" if lower else "U")
    return w if eigvals_only else (w, v)


def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True, overwrite_a: bool = False,
        check_finite: bool = True, lapack_driver: str = "gesdd") -> Any:  # fmt: skip
    """The singular value decomposition ``a = u diag(s) vh`` (``s`` alone without
    ``compute_uv``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> linalg.svd(fnp.asarray([[3.0, 0.0], [0.0, 4.0]]), compute_uv=False).tolist()
        [4.0, 3.0]
    """
    del overwrite_a, check_finite, lapack_driver
    out = fnp.linalg.svd(fnp.asarray(a), full_matrices=full_matrices, compute_uv=compute_uv)
    return tuple(out) if compute_uv else out


def qr(a: Any, overwrite_a: bool = False, lwork: Any = None, mode: str = "full",
       pivoting: bool = False, check_finite: bool = True) -> tuple:  # fmt: skip
    """The QR decomposition ``a = Q R`` of each matrix of ``a`` (shape ``(..., M, N)``,
    ``K = min(M, N)``).

    ``mode='full'`` gives ``Q`` of shape ``(..., M, M)`` and ``R`` of ``(..., M, N)``;
    ``'economic'`` gives ``(..., M, K)`` and ``(..., K, N)``; ``'r'`` gives only ``R``
    (``(..., M, N)``) in a 1-tuple, as SciPy and JAX. SciPy's ``'raw'`` mode is not
    supported (nor is it in JAX).

    With ``pivoting=True`` the columns are first ordered as LAPACK's rank-revealing
    ``geqp3`` does: at step ``k`` the remaining column of largest norm orthogonal to the
    ``k`` already taken (the first on ties) is swapped into place ``k``, so
    ``|diag(R)|`` is non-increasing. The index vector ``P`` (shape ``(..., N)``, int32)
    is returned last: ``(Q, R, P)``, or ``(R, P)`` for ``mode='r'``, with
    ``a[..., :, P] = Q R``. For matrices of deficient rank the order of the columns after
    the rank is decided by rounding noise, as in LAPACK.

    ``Q`` and ``R`` carry LAPACK's Householder signs (``diag(R)`` may be negative), so
    the values are SciPy's. Derivatives (real ``a`` of full rank) are those of the QR
    decomposition of the permuted ``a``: the pivot order is piecewise constant and is
    not differentiated. The extra columns of ``Q`` in ``'full'`` mode for ``M > N`` are
    not unique and have no derivative; ``'r'`` and ``'economic'`` are differentiable for
    every shape.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> q, r = linalg.qr(fnp.ones((3, 2)))
        >>> q.shape, r.shape
        ((3, 3), (3, 2))
        >>> a = fnp.asarray([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]])
        >>> r, p = linalg.qr(a, mode="r", pivoting=True)
        >>> p.tolist(), [abs(v) for v in fnp.diagonal(r).tolist()]
        ([1, 2, 0], [3.0, 2.0])
    """
    del overwrite_a, lwork, check_finite
    fname = _name("qr")
    if mode not in ("full", "economic", "r"):
        raise ValueError(
            f"{fname}: mode must be 'full', 'economic' or 'r', got {mode!r} (SciPy's 'raw' "
            "mode is not supported)"
        )
    a = fnp.asarray(a)
    if a.ndim < 2:
        raise ValueError(f"{fname}: a must be a matrix (..., M, N), got shape {a.shape}")
    if a.dtype.kind not in "fc":
        a = a.astype(np.float64)
    perm = None
    if pivoting:  # the order is piecewise constant: compute it outside differentiation
        perm = _pivoted_order(stop_gradient(a))
        a = fnp.take_along_axis(a, perm[..., None, :], axis=-1)
    m, n = a.shape[-2:]
    if mode == "r":
        # the reduced R padded with the zero rows of the full one: equal values, and
        # differentiable for M > N too (the complete Q is not)
        r = fnp.linalg.qr(a, mode="r")
        if m > n:
            r = fnp.concatenate([r, fnp.zeros((*r.shape[:-2], m - n, n), r.dtype)], axis=-2)
        return (r,) if perm is None else (r, perm)
    q, r = fnp.linalg.qr(a, mode="complete" if mode == "full" else "reduced")
    return (q, r) if perm is None else (q, r, perm)


# --- LU --------------------------------------------------------------------------------------


def lu_factor(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> tuple[Any, Any]:
    """LU decomposition with partial pivoting in LAPACK's packed form: ``lu`` holds ``U``
    and the strictly lower part of ``L`` (unit diagonal); row ``i`` was interchanged with
    row ``piv[i]``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> lu, piv = linalg.lu_factor(fnp.asarray([[1.0, 2.0], [3.0, 4.0]]))
        >>> piv.tolist(), lu.tolist()
        ([1, 1], [[3.0, 4.0], [0.3333333333333333, 0.6666666666666667]])
    """
    del overwrite_a, check_finite
    a = _square("lu_factor", a)
    if a.ndim != 2:
        raise ValueError(f"{_name('lu_factor')}: expected one matrix (n, n), got shape {a.shape}; "
                         f"use funcgrad.vmap for a batch")  # fmt: skip
    n = a.shape[0]
    rows = fnp.arange(n)
    pivots = []
    for k in range(n):
        p = k + fnp.argmax(fnp.abs(a[k:, k]))
        pivots.append(p)
        # swap rows k and p: a permutation of the row indices
        order = fnp.where(rows == k, p, fnp.where(rows == p, k, rows))
        a = fnp.take(a, order, axis=0)
        pivot = a[k, k]
        safe = fnp.where(pivot == 0, 1, pivot)  # a singular column: leave it (as LAPACK)
        below = fnp.where(rows > k, a[:, k] / safe, 0)
        a = a - fnp.outer(below, fnp.where(rows > k, a[k, :], 0))
        a = fnp.where((rows > k)[:, None] & (rows == k)[None, :], below[:, None], a)
    return a, fnp.stack(pivots).astype(np.int32)


def lu_solve(lu_and_piv: tuple[Any, Any], b: Any, trans: int = 0, overwrite_b: bool = False,
             check_finite: bool = True) -> Any:  # fmt: skip
    """Solve ``a x = b`` (``trans=0``), ``a^T x = b`` (1) or ``a^H x = b`` (2) from
    :func:`lu_factor`'s result.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> f = linalg.lu_factor(fnp.asarray([[1.0, 2.0], [3.0, 4.0]]))
        >>> [round(v, 10) for v in linalg.lu_solve(f, fnp.asarray([5.0, 11.0])).tolist()]
        [1.0, 2.0]
    """
    del overwrite_b, check_finite
    lu_, piv = lu_and_piv
    perm = _permutation_from_pivots(piv, lu_.shape[0])
    b = fnp.asarray(b)
    if trans == 0:
        y = solve_triangular(lu_, fnp.take(b, perm, axis=0), lower=True, unit_diagonal=True)
        return solve_triangular(lu_, y, lower=False)
    if trans not in (1, 2):
        raise ValueError(f"{_name('lu_solve')}: trans must be 0, 1 or 2, got {trans!r}")
    # a = P^T L U, so a^T x = b is U^T L^T (P x) = b
    y = solve_triangular(lu_, b, trans=trans, lower=False)
    z = solve_triangular(lu_, y, trans=trans, lower=True, unit_diagonal=True)
    return fnp.take(z, fnp.argsort(perm), axis=0)


def _permutation_from_pivots(piv: Any, n: int) -> Any:
    """Row order ``perm`` with ``(P a) = a[perm]`` from LAPACK's interchange list."""
    perm = fnp.arange(n)
    for k in range(n):
        p = piv[k]
        pk, pp = perm[k], fnp.take(perm, p)
        perm = fnp.where(fnp.arange(n) == k, pp, fnp.where(fnp.arange(n) == p, pk, perm))
    return perm


def lu(a: Any, permute_l: bool = False, overwrite_a: bool = False,
       check_finite: bool = True) -> Any:  # fmt: skip
    """``(p, l, u)`` with ``a = p @ l @ u``; with ``permute_l``, ``(p @ l, u)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> a = fnp.asarray([[1.0, 2.0], [3.0, 4.0]])
        >>> p, l, u = linalg.lu(a)
        >>> bool(fnp.allclose(p @ l @ u, a))
        True
    """
    del overwrite_a, check_finite
    packed, piv = lu_factor(a)
    n = packed.shape[0]
    eye = fnp.eye(n, dtype=packed.dtype)
    lower = fnp.tril(packed, -1) + eye
    upper = fnp.triu(packed)
    perm = _permutation_from_pivots(piv, n)
    p = fnp.take(eye, perm, axis=0).T  # a[perm] = L U, so P[perm[i], i] = 1
    return (p @ lower, upper) if permute_l else (p, lower, upper)


# --- matrix functions ----------------------------------------------------------------------------

# Higham (2005), Table 2.3 and the degree-13 Pade coefficients b_0..b_13
_THETA_13 = 5.371920351148152
_PADE_13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
            129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
            40840800.0, 960960.0, 16380.0, 182.0, 1.0)  # fmt: skip


def expm(A: Any, *, upper_triangular: bool = False, max_squarings: int = 16) -> Any:
    """The matrix exponential by scaling and squaring with a degree-13 Pade approximant.

    The number of squarings ``s`` is chosen from the 1-norm; when ``A`` is traced without
    a value (under jit) ``min(s, max_squarings)`` squarings are applied by selection, so
    the program has a fixed shape, as in JAX.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> [round(v, 10) for v in linalg.expm(fnp.asarray([[0.0, 1.0], [0.0, 0.0]])).ravel().tolist()]
        [1.0, 1.0, 0.0, 1.0]
    """
    del upper_triangular
    a = _square("expm", A)
    n = a.shape[-1]
    norm = fnp.max(fnp.sum(fnp.abs(a), axis=-2), axis=-1)
    s = fnp.maximum(0, fnp.ceil(fnp.log2(fnp.maximum(norm, 1e-300) / _THETA_13)))
    s = fnp.minimum(s, float(max_squarings))
    concrete = _concrete(s)
    a = a / (2.0**s)[..., None, None]
    eye = fnp.broadcast_to(fnp.eye(n, dtype=a.dtype), a.shape)
    b = _PADE_13
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2
             + b[1] * eye)  # fmt: skip
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * eye
    r = fnp.linalg.solve(v - u, v + u)
    if concrete is not None and concrete.size and np.all(concrete == concrete.flat[0]):
        for _ in range(int(concrete.flat[0])):  # s is known: exactly s squarings
            r = r @ r
        return r
    for i in range(max_squarings):  # s unknown (jit) or differing across a batch
        r = fnp.where((i < s)[..., None, None], r @ r, r)
    return r


def _concrete(x: Any) -> Any:
    if isinstance(x, Tracer):
        value = x.concrete_value()
        return None if value is None else np.asarray(value)
    return np.asarray(x)


def sqrtm(A: Any, blocksize: int = 1, *, iterations: int = 40) -> Any:
    """A square root ``X`` of ``A`` (``X @ X = A``): the principal one, for matrices with
    no eigenvalues on the closed negative real axis, by the Denman-Beavers iteration
    ``Y <- (Y + Z^-1) / 2``, ``Z <- (Z + Y^-1) / 2`` from ``Y = A``, ``Z = I`` (a fixed
    number of steps, so it traces; quadratic convergence once close).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> [round(v, 10) for v in linalg.sqrtm(fnp.asarray([[4.0, 0.0], [0.0, 9.0]])).ravel().tolist()]
        [2.0, 0.0, 0.0, 3.0]
    """
    del blocksize
    a = _square("sqrtm", A)
    y = a
    z = fnp.broadcast_to(fnp.eye(a.shape[-1], dtype=a.dtype), a.shape)
    for _ in range(iterations):
        y, z = (y + fnp.linalg.inv(z)) / 2, (z + fnp.linalg.inv(y)) / 2
    return y


# --- structured matrices -------------------------------------------------------------------------


def block_diag(*arrs: Any) -> Any:
    """The block-diagonal matrix of the given matrices (1-d inputs are rows, 0-d are 1x1).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> linalg.block_diag(fnp.asarray([[1.0]]), fnp.asarray([[2.0, 3.0]])).tolist()
        [[1.0, 0.0, 0.0], [0.0, 2.0, 3.0]]
    """
    if not arrs:
        return fnp.zeros((1, 0))
    mats = []
    for i, x in enumerate(arrs):
        x = fnp.asarray(x)
        if x.ndim > 2:
            raise ValueError(f"{_name('block_diag')}: argument {i} has {x.ndim} dimensions; "
                             f"expected at most 2")  # fmt: skip
        mats.append(fnp.atleast_2d(x))
    dtype = fnp.result_type(*mats)
    cols = sum(m.shape[1] for m in mats)
    rows, start = [], 0
    for m in mats:
        width = m.shape[1]
        rows.append(fnp.pad(m.astype(dtype), ((0, 0), (start, cols - start - width))))
        start += width
    return fnp.concatenate(rows, axis=0)


def toeplitz(c: Any, r: Any = None) -> Any:
    """The Toeplitz matrix with first column ``c`` and first row ``r`` (``r``'s first
    element is ignored; ``r`` defaults to ``conj(c)``, giving a Hermitian matrix).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> linalg.toeplitz(fnp.asarray([1, 2, 3]), fnp.asarray([1, 4, 5])).tolist()
        [[1, 4, 5], [2, 1, 4], [3, 2, 1]]
    """
    c = fnp.ravel(fnp.asarray(c))
    r = fnp.conj(c) if r is None else fnp.ravel(fnp.asarray(r))
    # values: reversed column then the row without its first element
    vals = fnp.concatenate([c[::-1], r[1:]])
    i = fnp.arange(c.shape[0])[:, None]
    j = fnp.arange(r.shape[0])[None, :]
    return fnp.take(vals, c.shape[0] - 1 - i + j)


# --- Hessenberg and Schur forms ------------------------------------------------------------------


def _over_batch(fn: Any, *mats: Any) -> Any:
    """Apply ``fn`` (written for single matrices) over the leading batch dimensions."""
    from funcgrad._src.vmap import vmap

    if mats[0].ndim == 2:
        return fn(*mats)
    return vmap(lambda *ms: _over_batch(fn, *ms))(*mats)


def hessenberg(a: Any, *, calc_q: bool = False, overwrite_a: bool = False,
               check_finite: bool = True) -> Any:  # fmt: skip
    """The Hessenberg form ``h = q^H a q`` (zero below the first subdiagonal, ``q``
    unitary); ``(h, q)`` with ``calc_q``.

    Householder reflections ``I - tau v v^H`` in LAPACK's convention (``gehrd``:
    ``v[k+1] = 1``, ``beta = -sign(Re alpha) |x|``, real subdiagonal), so the result
    matches SciPy's, signs included. Written with array operations (``n - 1`` traced steps): it works under jit
    and vmap, and unlike JAX's it is differentiable (away from columns whose part below
    the subdiagonal is zero, where the reflection's derivative is undefined).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> h, q = linalg.hessenberg(fnp.asarray([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0],
        ...                                       [0.0, 8.0, 9.0]]), calc_q=True)
        >>> h[2, 0].item(), bool(fnp.allclose(q @ h @ q.T, fnp.asarray([[1.0, 2.0, 3.0],
        ...     [4.0, 5.0, 6.0], [0.0, 8.0, 9.0]])))
        (0.0, True)
    """
    del overwrite_a, check_finite
    a = _square("hessenberg", a)
    h, q = _over_batch(_hessenberg_one, a)
    return (h, q) if calc_q else h


def _hessenberg_one(a: Any) -> tuple[Any, Any]:
    n = a.shape[-1]
    rows = fnp.arange(n)
    q = fnp.eye(n, dtype=a.dtype)
    # n - 1 reflections as zgehrd: the last only makes a complex subdiagonal entry real
    for k in range(n - 1):
        col = a[:, k]
        alpha = col[k + 1]
        tail = fnp.where(rows > k + 1, col, 0)
        t2 = fnp.sum(fnp.real(tail * fnp.conj(tail)))
        noop = (t2 == 0) & (fnp.imag(alpha) == 0)  # already reduced: H = I, as dlarfg
        n2 = fnp.real(alpha * fnp.conj(alpha)) + t2
        norm = fnp.sqrt(fnp.where(noop, 1.0, n2))  # safe sqrt: no NaN derivative when unused
        beta = -fnp.where(fnp.real(alpha) >= 0, norm, -norm)
        tau = fnp.where(noop, 0, (beta - alpha) / beta)
        v = tail / fnp.where(noop, 1, alpha - beta) + (rows == k + 1)
        vh = fnp.conj(v)
        a = a - tau * fnp.outer(a @ v, vh)  # a H
        a = a - fnp.conj(tau) * fnp.outer(v, vh @ a)  # H^H a H
        q = q - tau * fnp.outer(q @ v, vh)
    return fnp.triu(a, -1), q


def _householder_np(x: np.ndarray) -> tuple[np.ndarray, float]:
    """``(v, beta)`` with ``(I - beta v v^T) x = -sign(x0) |x| e_0`` (real ``x``)."""
    v = x.astype(np.float64).copy()
    alpha = np.linalg.norm(x)
    if alpha == 0.0:
        return v, 0.0
    v[0] += np.copysign(alpha, x[0])
    return v, 2.0 / (v @ v)


def _hessenberg_np(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Householder reduction to Hessenberg form on the host (real or complex)."""
    h = a.copy()
    n = h.shape[0]
    z = np.eye(n, dtype=h.dtype)
    for k in range(n - 2):
        x = h[k + 1 :, k].copy()
        alpha = np.linalg.norm(x)
        if alpha == 0.0:
            continue
        phase = x[0] / abs(x[0]) if x[0] != 0 else 1.0
        x[0] += phase * alpha
        v = x / np.linalg.norm(x)
        h[k + 1 :, :] -= 2.0 * np.outer(v, v.conj() @ h[k + 1 :, :])
        h[:, k + 1 :] -= 2.0 * np.outer(h[:, k + 1 :] @ v, v.conj())
        z[:, k + 1 :] -= 2.0 * np.outer(z[:, k + 1 :] @ v, v.conj())
        h[k + 2 :, k] = 0.0
    return h, z


_EPS64 = float(np.finfo(np.float64).eps)


def _deflation_start(h: np.ndarray, hi: int, scale: float) -> int:
    """The start ``l`` of the unreduced block ending at row ``hi`` (negligible subdiagonal
    entries, relative to their diagonal neighbours, are set to zero)."""
    lo = hi
    while lo > 0:
        s = abs(h[lo - 1, lo - 1]) + abs(h[lo, lo])
        if abs(h[lo, lo - 1]) <= _EPS64 * (s if s != 0 else scale):
            h[lo, lo - 1] = 0.0
            break
        lo -= 1
    return lo


def _francis_step(h: np.ndarray, z: np.ndarray, lo: int, hi: int, exceptional: bool) -> None:
    """One implicit double-shift QR step on the unreduced block ``h[lo:hi+1, lo:hi+1]``
    (Golub and Van Loan, Algorithm 7.5.1), applied to the whole matrix and to ``z``."""
    p, q = hi - 1, hi
    if exceptional:  # break a cycle with an ad hoc double shift
        w = abs(h[q, p]) + abs(h[p, p - 1] if p - 1 >= lo else 0.0)
        s, t = 2.0 * (h[q, q] + 0.75 * w), (h[q, q] + 0.75 * w) ** 2
    else:  # the eigenvalues of the trailing 2x2 block
        s = h[p, p] + h[q, q]
        t = h[p, p] * h[q, q] - h[p, q] * h[q, p]
    x = h[lo, lo] * h[lo, lo] + h[lo, lo + 1] * h[lo + 1, lo] - s * h[lo, lo] + t
    y = h[lo + 1, lo] * (h[lo, lo] + h[lo + 1, lo + 1] - s)
    zz = h[lo + 1, lo] * h[lo + 2, lo + 1]
    for k in range(lo, hi - 1):
        v, beta = _householder_np(np.array([x, y, zz]))
        c0 = max(lo, k - 1)
        h[k : k + 3, c0:] -= beta * np.outer(v, v @ h[k : k + 3, c0:])
        r1 = min(k + 3, hi) + 1
        h[:r1, k : k + 3] -= beta * np.outer(h[:r1, k : k + 3] @ v, v)
        z[:, k : k + 3] -= beta * np.outer(z[:, k : k + 3] @ v, v)
        if k > lo:
            h[k + 1 : k + 3, k - 1] = 0.0
        x, y = h[k + 1, k], h[k + 2, k]
        if k < hi - 2:
            zz = h[k + 3, k]
    v, beta = _householder_np(np.array([x, y]))
    c0 = max(lo, hi - 2)
    h[hi - 1 : hi + 1, c0:] -= beta * np.outer(v, v @ h[hi - 1 : hi + 1, c0:])
    h[: hi + 1, hi - 1 : hi + 1] -= beta * np.outer(h[: hi + 1, hi - 1 : hi + 1] @ v, v)
    z[:, hi - 1 : hi + 1] -= beta * np.outer(z[:, hi - 1 : hi + 1] @ v, v)
    if hi - 2 >= lo:
        h[hi, hi - 2] = 0.0


def _rotate(h: np.ndarray, z: np.ndarray, p: int, g: np.ndarray) -> None:
    """``h <- g^H h g`` and ``z <- z g`` for a 2x2 unitary ``g`` acting on rows/columns
    ``p, p + 1``."""
    h[p : p + 2, :] = g.conj().T @ h[p : p + 2, :]
    h[:, p : p + 2] = h[:, p : p + 2] @ g
    z[:, p : p + 2] = z[:, p : p + 2] @ g


def _settle_2x2(h: np.ndarray, z: np.ndarray, p: int) -> None:
    """Split a converged real 2x2 block with real eigenvalues into triangular form, or
    put one with complex eigenvalues into LAPACK's standard form (equal diagonal)."""
    a, b, c, d = h[p, p], h[p, p + 1], h[p + 1, p], h[p + 1, p + 1]
    if c == 0.0:
        return
    half = 0.5 * (a - d)
    disc = half * half + b * c
    if disc >= 0.0:
        lam = 0.5 * (a + d) + np.copysign(np.sqrt(disc), half)
        v1, v2 = np.array([b, lam - a]), np.array([lam - d, c])
        v = v1 if np.linalg.norm(v1) >= np.linalg.norm(v2) else v2
        cs, sn = v / np.linalg.norm(v)
        _rotate(h, z, p, np.array([[cs, -sn], [sn, cs]]))
        h[p + 1, p] = 0.0
    else:
        theta = 0.5 * np.arctan2(d - a, b + c)
        cs, sn = np.cos(theta), np.sin(theta)
        _rotate(h, z, p, np.array([[cs, -sn], [sn, cs]]))
        mean = 0.5 * (h[p, p] + h[p + 1, p + 1])
        h[p, p] = h[p + 1, p + 1] = mean


def _complex_qr_step(h: np.ndarray, z: np.ndarray, lo: int, hi: int, exceptional: bool) -> None:
    """One explicitly shifted QR step (Wilkinson shift, Givens rotations) on the
    unreduced complex block ``h[lo:hi+1, lo:hi+1]``."""
    a, b, c, d = h[hi - 1, hi - 1], h[hi - 1, hi], h[hi, hi - 1], h[hi, hi]
    if exceptional:
        mu = d + 0.75 * abs(c) * (1 + 1j)
    else:
        half = 0.5 * (a - d)
        root = np.sqrt(half * half + b * c)
        l1, l2 = 0.5 * (a + d) + root, 0.5 * (a + d) - root
        mu = l1 if abs(l1 - d) <= abs(l2 - d) else l2
    idx = np.arange(lo, hi + 1)
    h[idx, idx] -= mu
    rots = []
    for k in range(lo, hi):
        x, y = h[k, k], h[k + 1, k]
        r = np.hypot(abs(x), abs(y))
        g = np.eye(2, dtype=h.dtype) if r == 0 else np.array(
            [[np.conj(x / r), np.conj(y / r)], [-y / r, x / r]])  # fmt: skip
        h[k : k + 2, k:] = g @ h[k : k + 2, k:]
        h[k + 1, k] = 0.0
        rots.append(g)
    for k, g in zip(range(lo, hi), rots):
        h[: min(k + 2, hi) + 1, k : k + 2] = h[: min(k + 2, hi) + 1, k : k + 2] @ g.conj().T
        z[:, k : k + 2] = z[:, k : k + 2] @ g.conj().T
    h[idx, idx] += mu


def _schur_np(a: np.ndarray, complex_output: bool) -> tuple[np.ndarray, np.ndarray]:
    """Schur form of one matrix on the host: Hessenberg reduction, then Francis
    double-shift QR (real) or Wilkinson-shifted complex QR, with deflation."""
    n = a.shape[0]
    h, z = _hessenberg_np(a.astype(np.complex128 if complex_output else np.float64))
    scale = float(np.abs(h).sum()) or 1.0
    hi, iters, total = n - 1, 0, 0
    while hi > 0:
        lo = _deflation_start(h, hi, scale)
        if lo == hi:  # a 1x1 block has converged
            hi, iters = hi - 1, 0
            continue
        if lo == hi - 1 and not complex_output:  # a real 2x2 block has converged
            _settle_2x2(h, z, lo)
            hi, iters = hi - 2, 0
            continue
        iters += 1
        total += 1
        if total > 40 * n:
            raise np.linalg.LinAlgError(
                f"{_name('schur')}: the QR iteration did not converge in {40 * n} steps"
            )
        exceptional = iters % 11 == 10
        if complex_output:
            _complex_qr_step(h, z, lo, hi, exceptional)
        else:
            _francis_step(h, z, lo, hi, exceptional)
    keep = -1 if not complex_output else 0
    return np.triu(h, keep), z


def _schur_host(a: np.ndarray, complex_output: bool, out_dtype: np.dtype) -> tuple:
    batch = a.shape[:-2]
    flat = a.reshape((-1,) + a.shape[-2:])
    ts, zs = [], []
    for m in flat:
        t, z = _schur_np(m, complex_output)
        ts.append(t)
        zs.append(z)
    shape = batch + a.shape[-2:]
    t = np.asarray(ts).reshape(shape).astype(out_dtype)
    z = np.asarray(zs).reshape(shape).astype(out_dtype)
    return t, z


def schur(a: Any, output: str = "real") -> tuple[Any, Any]:
    """The Schur decomposition ``a = z t z^H``: ``z`` unitary, ``t`` upper triangular
    (``output='complex'``) or quasi upper triangular with 2x2 blocks for complex
    conjugate eigenvalue pairs (``output='real'``, real input only).

    Computed on the host with NumPy (Householder reduction to Hessenberg form, then
    the Francis implicit double-shift QR iteration for real output or the
    Wilkinson-shifted complex QR iteration, with deflation; 2x2 blocks are put in
    LAPACK's standard form, equal diagonal entries). The decomposition is not unique:
    the order of the eigenvalues on the diagonal may differ from SciPy's (LAPACK's
    shifts differ), while ``z t z^H == a`` holds to rounding. Works under jit and vmap
    (a host callback, so the matrices travel to NumPy); not differentiable, as in JAX.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> a = fnp.asarray([[0.0, 2.0, 2.0], [0.0, 1.0, 2.0], [1.0, 0.0, 1.0]])
        >>> t, z = linalg.schur(a)
        >>> bool(fnp.allclose(z @ t @ z.T, a)), bool(fnp.allclose(z.T @ z, fnp.eye(3)))
        (True, True)
    """
    from types import SimpleNamespace

    from funcgrad._src.callback import pure_callback

    if output not in ("real", "complex", "r", "c"):
        raise ValueError(f"{_name('schur')}: output must be 'real' or 'complex', got {output!r}")
    a = _square("schur", a)
    complex_output = output in ("complex", "c") or a.dtype.kind == "c"
    out_dtype = a.dtype
    if complex_output and a.dtype.kind != "c":
        out_dtype = np.result_type(a.dtype, np.complex64)
    spec = SimpleNamespace(shape=a.shape, dtype=np.dtype(out_dtype))

    def host(x: np.ndarray) -> tuple:
        return _schur_host(np.asarray(x), complex_output, np.dtype(out_dtype))

    t, z = pure_callback(host, (spec, spec), a, vmap_method="expand_dims")
    return t, z


def rsf2csf(T: Any, Z: Any, check_finite: bool = True) -> tuple[Any, Any]:
    """Convert a real Schur form ``(T, Z)`` to the complex one: each 2x2 block of ``T``
    (a complex conjugate eigenvalue pair) is made triangular by a unitary rotation,
    from the bottom up, as SciPy does (the eigenvalue with positive imaginary part goes
    first). Written with array operations, so it works under jit, vmap and grad;
    batch dimensions of ``T`` and ``Z`` must agree.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> t, z = linalg.rsf2csf(fnp.asarray([[1.0, 2.0], [-2.0, 1.0]]), fnp.eye(2))
        >>> [complex(round(v.real, 12), round(v.imag, 12)) for v in fnp.diagonal(t).tolist()]
        [(1+2j), (1-2j)]
    """
    del check_finite
    t = _square("rsf2csf", T)
    z = _square("rsf2csf", Z)
    if t.shape != z.shape:
        raise ValueError(f"{_name('rsf2csf')}: T and Z must have one shape, got {t.shape} and "
                         f"{z.shape}")  # fmt: skip
    dtype = np.result_type(t.dtype, z.dtype, np.complex64)
    return _over_batch(_rsf2csf_one, t.astype(dtype), z.astype(dtype))


def _rsf2csf_one(t: Any, z: Any) -> tuple[Any, Any]:
    n = t.shape[-1]
    eps = float(np.finfo(t.dtype).eps)
    for m in range(n - 1, 0, -1):
        sub = t[m, m - 1]
        split = fnp.abs(sub) > eps * (fnp.abs(t[m - 1, m - 1]) + fnp.abs(t[m, m]))
        a, b, c, d = t[m - 1, m - 1], t[m - 1, m], t[m, m - 1], t[m, m]
        half = (a - d) / 2
        root = fnp.sqrt(half * half + b * c)  # principal root: the +imag eigenvalue first
        root = fnp.where(fnp.imag(root) < 0, -root, root)
        mu = (a + d) / 2 + root - d
        r = fnp.sqrt(fnp.abs(mu) ** 2 + fnp.abs(sub) ** 2)
        r = fnp.where(split, r, 1)
        cs = fnp.where(split, mu / r, 1)
        sn = fnp.where(split, sub / r, 0)
        g = fnp.stack([fnp.stack([fnp.conj(cs), sn]), fnp.stack([-sn, cs])])
        gh = _ct(g)
        t = t.at[m - 1 : m + 1, :].set(g @ t[m - 1 : m + 1, :])
        t = t.at[:, m - 1 : m + 1].set(t[:, m - 1 : m + 1] @ gh)
        z = z.at[:, m - 1 : m + 1].set(z[:, m - 1 : m + 1] @ gh)
        t = t.at[m, m - 1].set(0)
    return t, z


# --- polar, funm, expm_frechet, tridiagonal eigenvalues --------------------------------------------


def polar(a: Any, side: str = "right", *, method: str = "qdwh", eps: Any = None,
          max_iterations: Any = None) -> tuple[Any, Any]:  # fmt: skip
    """The polar decomposition ``a = u p`` (``side='right'``) or ``a = p u``
    (``'left'``): ``u`` with orthonormal columns (or rows), ``p`` Hermitian positive
    semi-definite. ``a`` is ``(m, n)``; ``u`` is ``(m, n)`` and ``p`` is ``(n, n)``
    (right) or ``(m, m)`` (left).

    Both methods are computed from the SVD ``a = w diag(s) vh``: ``u = w vh``,
    ``p = vh^H diag(s) vh`` (right) or ``w diag(s) w^H`` (left). ``method='qdwh'`` (JAX's
    default) gives the same factors as ``'svd'``; ``eps``/``max_iterations`` (QDWH
    settings) are accepted and unused. Differentiable through the SVD (distinct
    nonzero singular values).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> u, p = linalg.polar(fnp.asarray([[2.0, 0.0], [0.0, -3.0]]))
        >>> u.round(12).tolist(), p.round(12).tolist()
        ([[1.0, 0.0], [0.0, -1.0]], [[2.0, 0.0], [0.0, 3.0]])
    """
    del eps, max_iterations
    if side not in ("right", "left"):
        raise ValueError(f"{_name('polar')}: side must be 'right' or 'left', got {side!r}")
    if method not in ("qdwh", "svd"):
        raise ValueError(f"{_name('polar')}: method must be 'qdwh' or 'svd', got {method!r}")
    a = fnp.asarray(a)
    if a.ndim < 2:
        raise ValueError(f"{_name('polar')}: expected a matrix (..., m, n), got shape {a.shape}")
    if a.dtype.kind not in "fc":
        a = a.astype(np.float64)
    w, s, vh = fnp.linalg.svd(a, full_matrices=False)
    u = w @ vh
    if side == "right":
        p = _ct(vh) @ (s[..., :, None] * vh)
    else:
        p = (w * s[..., None, :]) @ _ct(w)
    return u, p


def expm_frechet(A: Any, E: Any, *, method: str | None = None,
                 compute_expm: bool = True) -> Any:  # fmt: skip
    """The Frechet derivative ``L(A, E) = d/dt expm(A + t E) at t = 0``, with ``expm(A)``
    too unless ``compute_expm=False``. Computed by the block identity
    ``expm([[A, E], [0, A]]) = [[expm(A), L(A, E)], [0, expm(A)]]`` (SciPy's
    ``'blockEnlarge'``; ``method='SPS'`` is accepted and gives the same values).
    Differentiable (through :func:`expm`), under jit and vmap.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> e, l = linalg.expm_frechet(fnp.zeros((2, 2)), fnp.eye(2))
        >>> l.round(12).tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    if method not in (None, "SPS", "blockEnlarge"):
        raise ValueError(f"{_name('expm_frechet')}: method must be None, 'SPS' or "
                         f"'blockEnlarge', got {method!r}")  # fmt: skip
    a = _square("expm_frechet", A)
    e = _square("expm_frechet", E)
    if a.shape != e.shape:
        raise ValueError(f"{_name('expm_frechet')}: A and E must have one shape, got {a.shape} "
                         f"and {e.shape}")  # fmt: skip
    dtype = fnp.result_type(a, e)
    a, e = a.astype(dtype), e.astype(dtype)
    n = a.shape[-1]
    top = fnp.concatenate([a, e], axis=-1)
    bottom = fnp.concatenate([fnp.zeros_like(a), a], axis=-1)
    big = expm(fnp.concatenate([top, bottom], axis=-2))
    frechet = big[..., :n, n:]
    return (big[..., :n, :n], frechet) if compute_expm else frechet


def eigh_tridiagonal(d: Any, e: Any, *, eigvals_only: bool = False, select: str = "a",
                     select_range: Any = None, tol: Any = None, key: Any = None) -> Any:  # fmt: skip
    """Eigenvalues (ascending) of the real symmetric tridiagonal matrix with diagonal
    ``d`` (n,) and off-diagonal ``e`` (n - 1,); with ``eigvals_only=False`` also the
    eigenvectors (columns), as ``(w, v)``.

    ``select='a'`` gives all; ``'i'`` the ones with indices ``select_range = (lo, hi)``
    (inclusive, Python ints, as SciPy). ``'v'`` (a value interval: a data-dependent
    count) is not supported, as in JAX. Computed by :func:`eigh` of the assembled
    matrix, so differentiable (distinct eigenvalues) and usable under jit and vmap;
    ``tol`` (a bisection tolerance in JAX) and ``key`` (JAX's random start for inverse
    iteration; the eigenvectors here are deterministic) are accepted and unused.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> w = linalg.eigh_tridiagonal(fnp.asarray([2.0, 2.0]), fnp.asarray([1.0]),
        ...                             eigvals_only=True)
        >>> w.round(12).tolist()
        [1.0, 3.0]
    """
    del tol, key
    d = fnp.asarray(d)
    e = fnp.asarray(e)
    if d.ndim != 1 or e.ndim != 1 or e.shape[0] != max(d.shape[0] - 1, 0):
        raise ValueError(f"{_name('eigh_tridiagonal')}: expected d of shape (n,) and e of shape "
                         f"(n - 1,), got {d.shape} and {e.shape}")  # fmt: skip
    if d.dtype.kind == "c" or e.dtype.kind == "c":
        raise TypeError(f"{_name('eigh_tridiagonal')}: d and e must be real, got {d.dtype} and "
                        f"{e.dtype}")  # fmt: skip
    dtype = fnp.result_type(d, e, np.float32) if d.dtype.kind == "f" else np.float64
    d, e = d.astype(dtype), e.astype(dtype)
    mat = fnp.diag(d) + fnp.diag(e, 1) + fnp.diag(e, -1)
    w, v = fnp.linalg.eigh(mat)
    n = d.shape[0]
    if select == "i":
        if select_range is None or len(select_range) != 2:
            raise ValueError(f"{_name('eigh_tridiagonal')}: select='i' needs select_range="
                             f"(lo, hi), got {select_range!r}")  # fmt: skip
        lo, hi = (int(i) for i in select_range)
        if not 0 <= lo <= hi < n:
            raise ValueError(f"{_name('eigh_tridiagonal')}: select_range {(lo, hi)} must "
                             f"satisfy 0 <= lo <= hi < n = {n}")  # fmt: skip
        w, v = w[lo : hi + 1], v[:, lo : hi + 1]
    elif select == "v":
        raise NotImplementedError(f"{_name('eigh_tridiagonal')}: select='v' (a value range, "
                                  f"data-dependent size) is not supported; use select='i'")  # fmt: skip
    elif select != "a":
        raise ValueError(f"{_name('eigh_tridiagonal')}: select must be 'a' or 'i', got {select!r}")
    return w if eigvals_only else (w, v)


def funm(A: Any, func: Any, disp: bool = True) -> Any:
    """The matrix function ``f(A)`` of a scalar function ``func`` (applied elementwise to
    an array of eigenvalues, so it must take and return arrays, e.g. ``fnp.sin``).

    From the complex Schur form ``A = z t z^H`` (:func:`schur`), ``f(t)`` is upper
    triangular with ``f(t_ii)`` on the diagonal and the rest by Parlett's recurrence
    ``f_ij = (t_ij (f_jj - f_ii) + sum_{i<k<j} (t_ik f_kj - f_ik t_kj)) / (t_jj - t_ii)``,
    computed one superdiagonal at a time; ``f(A) = z f(t) z^H``. The result is complex
    (as JAX's; SciPy returns a real array when the imaginary parts are negligible).
    Repeated or close eigenvalues make the recurrence divide by (nearly) zero, as in
    SciPy. With ``disp=False`` returns ``(f(A), err)``, SciPy's error estimate. Works
    under jit and vmap (the Schur step is a host callback); not differentiable in ``A``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> f = linalg.funm(fnp.asarray([[1.0, 2.0], [0.0, 3.0]]), fnp.exp)
        >>> [round(v.real, 6) for v in f.ravel().tolist()]
        [2.718282, 17.367255, 0.0, 20.085537]
    """
    a = _square("funm", A)
    if a.ndim != 2:
        raise ValueError(f"{_name('funm')}: expected one matrix (n, n), got shape {a.shape}; "
                         f"use funcgrad.vmap for a batch")  # fmt: skip
    t, z = schur(a, output="complex")
    n = a.shape[-1]
    diag = fnp.diagonal(t)
    fd = fnp.asarray(func(diag)).astype(t.dtype)
    f = fnp.diag(fd)
    i_idx = fnp.arange(n)
    gaps = []
    for p in range(1, n):
        i = i_idx[: n - p]
        j = i + p
        # (t f - f t)_ij over k in [i, j] equals the recurrence's numerator while f_ij = 0
        s = (t @ f - f @ t)[i, j]
        den = diag[j] - diag[i]
        gaps.append(fnp.abs(den))
        f = f.at[i, j].set(s / den)
    out = z @ f @ _ct(z)
    if disp:
        return out
    tol = float(np.finfo(t.dtype).eps)
    minden = fnp.min(fnp.concatenate([fnp.abs(diag[:1])] + gaps))
    minden = fnp.where(minden == 0, tol, minden)
    offdiag = fnp.max(fnp.sum(fnp.abs(fnp.triu(t, 1)), axis=0))
    err = fnp.minimum(1.0, fnp.maximum(tol, (tol / minden) * offdiag))
    return out, err


# --- special matrices ------------------------------------------------------------------------------


def hilbert(n: int) -> Any:
    """The ``n x n`` Hilbert matrix ``h_ij = 1 / (i + j + 1)`` (0-based), float64.

    Examples:
        >>> from funcgrad.scipy import linalg
        >>> linalg.hilbert(2).tolist()
        [[1.0, 0.5], [0.5, 0.3333333333333333]]
    """
    i = fnp.arange(int(n), dtype=np.float64)
    return 1.0 / (i[:, None] + i[None, :] + 1.0)


# --- QR products and the Sylvester equation --------------------------------------------------


def _pivoted_order(a: Any) -> Any:
    """The column order of LAPACK's pivoted QR (``geqp3``): at step ``k`` the column of
    largest norm orthogonal to the ``k`` columns already taken is swapped into place
    ``k`` (the first on ties). ``min(m, n)`` traced steps; shape ``(..., n)``, int32."""
    m, n = a.shape[-2:]
    order = fnp.broadcast_to(fnp.arange(n, dtype=np.int32), (*a.shape[:-2], n))
    residual = a
    positions = fnp.arange(n)
    for k in range(min(m, n)):
        norms = fnp.sum(fnp.abs(residual) ** 2, axis=-2)
        j = fnp.argmax(fnp.where(positions >= k, norms, -1.0), axis=-1)[..., None]
        swap = fnp.where(positions == k, j, fnp.where(positions == j, k, positions))
        residual = fnp.take_along_axis(residual, swap[..., None, :], axis=-1)
        order = fnp.take_along_axis(order, swap.astype(np.int32), axis=-1)
        column = residual[..., :, k : k + 1]
        length = fnp.sqrt(fnp.sum(fnp.abs(column) ** 2, axis=-2, keepdims=True))
        unit = column / fnp.where(length == 0, 1.0, length)
        residual = residual - unit @ (_ct(unit) @ residual)
    return order


def qr_multiply(a: Any, c: Any, mode: str = "right", pivoting: bool = False,
                conjugate: bool = False, overwrite_a: bool = False,
                overwrite_c: bool = False) -> tuple:  # fmt: skip
    """The economic QR decomposition ``a = Q R`` (``Q`` of shape ``(M, K)``, ``R`` of
    ``(K, N)``, ``K = min(M, N)``) and a product with ``Q``: ``(c @ Q, R)`` for
    ``mode='right'`` (``c`` of shape ``(..., P, M)``, or ``(M,)``), ``(Q @ c, R)`` for
    ``'left'`` (``c`` of ``(..., K, P)``, or ``(K,)``); a 1-D ``c`` gives a 1-D product.
    ``conjugate=True`` uses ``conj(Q)``. With ``pivoting=True`` the columns of ``a`` are
    first permuted as LAPACK's rank-revealing ``geqp3`` does (largest remaining norm
    first) and the permutation is returned third: ``a[:, P] = Q R``.

    ``Q`` and ``R`` are ``numpy.linalg.qr``'s (LAPACK's signs), so the values are SciPy's;
    derivatives are those of the QR decomposition (real, full-rank ``a``; the pivot order
    is piecewise constant).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> a = fnp.asarray([[1.0, 1.0], [1.0, 2.0], [1.0, 3.0], [1.0, 4.0]])
        >>> qtb, r = linalg.qr_multiply(a, fnp.asarray([2.0, 4.0, 5.0, 4.0]))
        >>> x = linalg.solve_triangular(r, qtb)  # least squares
        >>> [round(v, 6) for v in x.tolist()]
        [2.0, 0.7]
    """
    del overwrite_a, overwrite_c
    fname = _name("qr_multiply")
    if mode not in ("left", "right"):
        raise ValueError(f"{fname}: mode must be 'left' or 'right', got {mode!r}")
    a, c = fnp.asarray(a), fnp.asarray(c)
    if a.ndim < 2:
        raise ValueError(f"{fname}: a must be a matrix (..., M, N), got shape {a.shape}")
    if a.dtype.kind not in "fc":
        a = a.astype(np.float64)
    m, n = a.shape[-2:]
    k = min(m, n)
    perm = None
    if pivoting:
        perm = _pivoted_order(a)
        a = fnp.take_along_axis(a, perm[..., None, :], axis=-1)
    q, r = fnp.linalg.qr(a, mode="reduced")
    if conjugate:
        q = fnp.conj(q)
    inner = k if mode == "left" else m
    axis = -2 if mode == "left" else -1
    if c.ndim == 0 or c.shape[axis if c.ndim > 1 else 0] != inner:
        matrix = f"(..., {inner}, P)" if mode == "left" else f"(..., P, {inner})"
        wanted = f"({inner},) or {matrix}"
        raise ValueError(
            f"{fname}: with mode={mode!r} and a of shape {a.shape}, c must have shape {wanted}; "
            f"got {c.shape}"
        )
    product = q @ c if mode == "left" else c @ q  # matmul treats a 1-D c as a vector
    return (product, r) if perm is None else (product, r, perm)


def solve_sylvester(A: Any, B: Any, C: Any, *, method: str = "schur", tol: float = 1e-8) -> Any:
    """The ``X`` with ``A X + X B = C`` (``A``: ``(..., m, m)``, ``B``: ``(..., n, n)``,
    ``C``: ``(..., m, n)``; batch axes broadcast), as ``jax.scipy.linalg.solve_sylvester``.

    The equation is solved as the linear system ``(A kron I_n + I_m kron B^T) vec(X) =
    vec(C)`` (row-major ``vec``) by one LU solve, whatever ``method`` (``'schur'`` or
    ``'eigen'``: JAX's two algorithms, which differ in speed, are accepted for
    compatibility): exact up to rounding and differentiable in ``A``, ``B`` and ``C``,
    at ``O((m n)^3)`` cost, so meant for small and medium sizes. As in JAX, where some
    ``|lambda_i(A) + mu_j(B)| < tol`` (no unique solution) the result is all NaN.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> a = fnp.asarray([[1.0, 2.0], [3.0, 4.0]])
        >>> b = fnp.asarray([[5.0, 6.0], [7.0, 8.0]])
        >>> x = linalg.solve_sylvester(a, b, fnp.asarray([[6.0, 8.0], [10.0, 12.0]]))
        >>> [[round(v, 6) + 0.0 for v in row] for row in x.tolist()]  # + 0.0: no -0.0
        [[1.0, 0.0], [0.0, 1.0]]
    """
    fname = _name("solve_sylvester")
    if method not in ("schur", "eigen"):
        raise ValueError(f"{fname}: method must be 'schur' or 'eigen', got {method!r}")
    A, B, C = _square("solve_sylvester", A), _square("solve_sylvester", B), fnp.asarray(C)
    m, n = A.shape[-1], B.shape[-1]
    if C.ndim < 2 or C.shape[-2:] != (m, n):
        raise ValueError(
            f"{fname}: C must have shape (..., {m}, {n}) for A of shape {A.shape} and B of "
            f"shape {B.shape}; got {C.shape}"
        )
    dtype = fnp.result_type(A, B, C, np.float64 if A.dtype.itemsize > 4 else np.float32)
    A, B, C = A.astype(dtype), B.astype(dtype), C.astype(dtype)
    batch = np.broadcast_shapes(A.shape[:-2], B.shape[:-2], C.shape[:-2])
    eye_m, eye_n = fnp.eye(m, dtype=dtype), fnp.eye(n, dtype=dtype)
    # (A kron I_n)[(i, j), (k, l)] = A[i, k] d_jl and (I_m kron B^T)[(i, j), (k, l)] = d_ik B[l, j]
    system = (A[..., :, None, :, None] * eye_n[:, None, :]
              + eye_m[:, None, :, None] * fnp.swapaxes(B, -1, -2)[..., None, :, None, :])  # fmt: skip
    system = fnp.broadcast_to(system, (*batch, m, n, m, n)).reshape(*batch, m * n, m * n)
    rhs = fnp.broadcast_to(C, (*batch, m, n)).reshape(*batch, m * n, 1)
    # the system's eigenvalues are the sums lambda_i + mu_j: singular when one is ~0, and
    # then it is replaced by the identity (the solve would raise) and the result by NaN
    sums = fnp.linalg.eigvals(A)[..., :, None] + fnp.linalg.eigvals(B)[..., None, :]
    singular = fnp.broadcast_to(fnp.any(fnp.abs(sums) < tol, axis=(-2, -1)), batch)
    system = fnp.where(singular[..., None, None], fnp.eye(m * n, dtype=dtype), system)
    x = fnp.linalg.solve(system, rhs).reshape(*batch, m, n)
    return fnp.where(singular[..., None, None], fnp.nan, x)
