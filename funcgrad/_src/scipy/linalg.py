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

__all__ = [
    "block_diag", "cho_factor", "cho_solve", "cholesky", "det", "eigh", "expm", "inv",
    "lu", "lu_factor", "lu_solve", "qr", "solve", "solve_triangular", "sqrtm", "svd",
    "toeplitz",
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
                     check_finite: bool = True) -> Any:  # fmt: skip
    """Solve ``op(T) x = b`` for the lower or upper triangle ``T`` of ``a``, with ``op``
    the identity (``trans=0``/``'N'``), the transpose (1/``'T'``) or the conjugate
    transpose (2/``'C'``); ``unit_diagonal`` takes the diagonal as ones.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> t = fnp.asarray([[2.0, 0.0], [1.0, 1.0]])
        >>> linalg.solve_triangular(t, fnp.asarray([2.0, 3.0]), lower=True).tolist()
        [1.0, 2.0]
    """
    del overwrite_b, check_finite
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
          overwrite_b: bool = False, check_finite: bool = True, assume_a: str = "gen") -> Any:  # fmt: skip
    """Solve ``a x = b`` (``b`` a vector or a matrix of right-hand sides). ``assume_a``
    ``'sym'``/``'her'``/``'pos'`` read only the ``lower`` (or upper) triangle, as SciPy.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> linalg.solve(fnp.asarray([[3.0, 1.0], [1.0, 2.0]]), fnp.asarray([9.0, 8.0])).tolist()
        [2.0, 3.0]
    """
    del overwrite_a, overwrite_b, check_finite
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
       pivoting: bool = False, check_finite: bool = True) -> Any:  # fmt: skip
    """The QR decomposition: ``mode='full'`` (``q`` square), ``'economic'`` (reduced) or
    ``'r'`` (``(r,)`` only, as SciPy returns it). Pivoting is not supported.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import linalg
        >>> q, r = linalg.qr(fnp.ones((3, 2)))
        >>> q.shape, r.shape
        ((3, 3), (3, 2))
    """
    del overwrite_a, lwork, check_finite
    if pivoting:
        raise NotImplementedError(f"{_name('qr')}: pivoting=True is not supported")
    modes = {"full": "complete", "economic": "reduced", "r": "complete"}
    if mode not in modes:
        raise ValueError(f"{_name('qr')}: mode must be 'full', 'economic' or 'r', got {mode!r}")
    out = fnp.linalg.qr(fnp.asarray(a), mode=modes[mode])
    if mode == "r":  # SciPy's r-only mode gives the full (M, N) R, in a 1-tuple
        return (tuple(out)[-1],)
    return tuple(out)


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
