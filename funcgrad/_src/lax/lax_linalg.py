"""``funcgrad.lax.linalg``: JAX's lax-level decompositions and solves, on the linalg
primitives (cholesky, eigh, qr, svd, solve) and compositions of them.

Results and argument conventions follow ``jax.lax.linalg``: ``eigh`` returns
``(eigenvectors, eigenvalues)``, ``lu`` returns ``(lu, pivots, permutation)``, and
``triangular_solve`` solves ``op(a) x = b`` (``left_side=True``) or ``x op(a) = b``.
"""

from __future__ import annotations

import numpy as np

from funcgrad._src.core import is_array_like

__all__ = [
    "EigImplementation", "EighImplementation", "SvdAlgorithm", "cholesky", "cholesky_update",
    "eig", "eigh", "hessenberg", "householder_product", "lu", "lu_pivots_to_permutation", "ormqr",
    "qdwh", "qr", "schur", "svd", "symmetric_product", "triangular_solve", "tridiagonal",
    "tridiagonal_solve",
]  # fmt: skip


def _fnp():
    import funcgrad.numpy as fnp

    return fnp


def _as_array(x):
    return x if is_array_like(x) else _fnp().asarray(x)


def _symmetrize(x):
    fnp = _fnp()
    return (x + fnp.conj(fnp.swapaxes(x, -1, -2))) / 2


def cholesky(x, *, symmetrize_input: bool = True):
    """The lower Cholesky factor of each Hermitian positive-definite matrix of ``x``
    (NaN where a matrix is not positive definite, as in JAX).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.linalg.cholesky(fnp.asarray([[4.0, 2.0], [2.0, 5.0]])).tolist()
        [[2.0, 0.0], [1.0, 2.0]]
    """
    x = _as_array(x)
    return _fnp().linalg.cholesky(_symmetrize(x) if symmetrize_input else x)


def eig(x, *, compute_left_eigenvectors: bool = True, compute_right_eigenvectors: bool = True,
        enable_eigvec_derivs: bool = False, implementation=None, use_magma=None):  # fmt: skip
    """Eigenvalues and, on request, left and right eigenvectors (columns) of general square
    matrices, as complex arrays: ``[w, vl, vr]``, leaving out the vectors not asked for.

    ``vr`` is ``numpy.linalg.eig``'s: unit columns whose component of largest modulus is
    real, and here also positive (for real ``x`` NumPy's may be negative: such a column is
    NumPy's times -1; the fixed sign keeps the vectors continuous in ``x``).
    ``vl[..., i]`` satisfies ``vl_i^H x = w_i vl_i^H``, normalised the same way.
    Eigenvalues are differentiable where they are distinct: ``dw = diag(V^{-1} dx V)``.
    Right eigenvectors are, with ``enable_eigvec_derivs=True`` (as in JAX; distinct
    eigenvalues are needed, which cannot be checked under a trace), in the gauge of the
    kernel's normalisation: unit norm, the phase of each column's largest component held
    fixed, so that the tangent is the derivative of the returned vectors. Left
    eigenvectors have no derivative. ``implementation`` and ``use_magma`` are accepted for
    JAX compatibility and ignored (the kernel is LAPACK's ``geev`` through NumPy).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> w, vr = lax.linalg.eig(fnp.asarray([[2.0, 1.0], [0.0, 3.0]]),
        ...                        compute_left_eigenvectors=False)
        >>> w.tolist()
        [(2+0j), (3+0j)]
    """
    del implementation, use_magma
    from funcgrad._src.lax.eig import eig_p

    x = _as_array(x)
    if x.dtype.kind not in "fc":
        x = x.astype(np.float64)
    return eig_p.bind(x, compute_left_eigenvectors=compute_left_eigenvectors,
                      compute_right_eigenvectors=compute_right_eigenvectors,
                      enable_eigvec_derivs=enable_eigvec_derivs)  # fmt: skip


def eigh(x, *, lower: bool = True, symmetrize_input: bool = True, sort_eigenvalues: bool = True):
    """``(v, w)``: eigenvectors (columns) and ascending eigenvalues of Hermitian matrices;
    ``lower`` picks the triangle read when ``symmetrize_input=False``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> v, w = lax.linalg.eigh(fnp.asarray([[2.0, 0.0], [0.0, 1.0]]))
        >>> w.tolist()
        [1.0, 2.0]
    """
    del sort_eigenvalues  # the eigenvalues are always ascending
    x = _as_array(x)
    w, v = _fnp().linalg.eigh(_symmetrize(x) if symmetrize_input else x, UPLO="L" if lower else "U")
    return v, w


def qr(x, *, pivoting: bool = False, full_matrices: bool = True, use_magma=None):
    """``(q, r)`` of each matrix of ``x``; ``full_matrices=False`` gives the reduced form.
    ``pivoting=True`` returns ``(q, r, p)`` with LAPACK ``geqp3``'s column order ``p``
    (int32): ``x[..., :, p] = q @ r`` (see :func:`funcgrad.scipy.linalg.qr`).
    ``use_magma`` is accepted for JAX compatibility and ignored.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> q, r = lax.linalg.qr(fnp.ones((3, 2)), full_matrices=False)
        >>> q.shape, r.shape
        ((3, 2), (2, 2))
        >>> lax.linalg.qr(fnp.asarray([[1.0, 5.0], [0.0, 1.0]]), pivoting=True)[2].tolist()
        [1, 0]
    """
    del use_magma
    if pivoting:
        from funcgrad._src.scipy.linalg import qr as _scipy_qr

        return _scipy_qr(_as_array(x), mode="full" if full_matrices else "economic", pivoting=True)
    q, r = _fnp().linalg.qr(_as_array(x), mode="complete" if full_matrices else "reduced")
    return q, r


def svd(x, *, full_matrices: bool = True, compute_uv: bool = True):
    """``(u, s, vh)`` (or only ``s`` when ``compute_uv=False``), singular values descending.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.linalg.svd(fnp.asarray([[3.0, 0.0], [0.0, 4.0]]), compute_uv=False).tolist()
        [4.0, 3.0]
    """
    return _fnp().linalg.svd(_as_array(x), full_matrices=full_matrices, compute_uv=compute_uv)


def triangular_solve(a, b, *, left_side: bool = False, lower: bool = False,
                     transpose_a: bool = False, conjugate_a: bool = False,
                     unit_diagonal: bool = False):  # fmt: skip
    """Solve ``op(a) @ x = b`` (``left_side=True``) or ``x @ op(a) = b`` for ``x``, reading
    only the ``lower`` (or upper) triangle of ``a`` (its diagonal taken as ones with
    ``unit_diagonal``); ``op`` transposes and/or conjugates ``a``.

    The solve runs through the general ``solve`` primitive on the masked triangle, so its
    derivatives (with respect to both ``a``'s triangle and ``b``) are those of a linear
    solve.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> a = fnp.asarray([[2.0, 0.0], [1.0, 1.0]])
        >>> lax.linalg.triangular_solve(a, fnp.asarray([[2.0], [3.0]]), left_side=True,
        ...                             lower=True).tolist()
        [[1.0], [2.0]]
    """
    fnp = _fnp()
    a, b = _as_array(a), _as_array(b)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"funcgrad.lax.linalg.triangular_solve: a must be square, got {a.shape}")
    n = a.shape[-1]
    tri = fnp.tril(a) if lower else fnp.triu(a)
    if unit_diagonal:
        eye = fnp.eye(n, dtype=a.dtype)
        tri = tri * (1 - eye) + eye
    if conjugate_a:
        tri = fnp.conj(tri)
    if transpose_a:
        tri = fnp.swapaxes(tri, -1, -2)
    if left_side:
        return fnp.linalg.solve(tri, b)
    # x @ t = b  <=>  t^T @ x^T = b^T
    return fnp.swapaxes(fnp.linalg.solve(fnp.swapaxes(tri, -1, -2), fnp.swapaxes(b, -1, -2)), -1, -2)


def lu_pivots_to_permutation(pivots, permutation_size: int):
    """The permutation that LAPACK-style row swaps ``pivots`` (row ``i`` swapped with row
    ``pivots[i]``, in order) apply to ``arange(permutation_size)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lax.linalg.lu_pivots_to_permutation(fnp.asarray([2, 2, 2]), 3).tolist()
        [2, 0, 1]
    """
    fnp = _fnp()
    pivots = _as_array(pivots)
    batch = pivots.shape[:-1]
    perm = fnp.broadcast_to(fnp.arange(permutation_size, dtype=np.int32), batch + (permutation_size,))
    for i in range(pivots.shape[-1]):
        j = pivots[..., i : i + 1].astype(np.int32)
        pi = perm[..., i : i + 1]
        pj = fnp.take_along_axis(perm, j, axis=-1)
        perm = _put(perm, j, pi)
        perm = perm.at[..., i].set(pj[..., 0])
    return perm


def _put(perm, j, value):
    """``perm`` with entry ``j`` (shape ``batch + (1,)``) set to ``value`` in each row."""
    return _fnp().where(_fnp().arange(perm.shape[-1]) == j, value, perm)


def lu(x):
    """LU decomposition with partial pivoting of each matrix of ``x`` (m x n):
    ``(lu, pivots, permutation)`` with ``x[permutation] = L @ U``, ``L`` unit lower
    triangular (strictly below ``lu``'s diagonal) and ``U`` upper triangular (on and above
    it); ``pivots[i]`` is the row swapped with row ``i`` at step ``i``.

    One vectorised step per column (a Python loop of ``min(m, n)`` steps, unrolled under
    ``jit``), so it suits small and medium matrices; differentiable where the pivots do
    not change.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> lu_, piv, perm = lax.linalg.lu(fnp.asarray([[1.0, 2.0], [3.0, 4.0]]))
        >>> perm.tolist(), lu_.tolist()
        ([1, 0], [[3.0, 4.0], [0.3333333333333333, 0.6666666666666667]])
    """
    fnp = _fnp()
    a = _as_array(x)
    if a.ndim < 2:
        raise ValueError(f"funcgrad.lax.linalg.lu: needs matrices, got shape {a.shape}")
    if a.dtype.kind not in "fc":
        a = a.astype(np.float64)
    m, n = a.shape[-2:]
    batch = a.shape[:-2]
    rows = fnp.arange(m)
    pivots = []
    perm = fnp.broadcast_to(fnp.arange(m, dtype=np.int32), batch + (m,))
    for k in range(min(m, n)):
        col = fnp.abs(a[..., :, k])
        col = fnp.where(rows >= k, col, -1.0)
        p = fnp.argmax(col, axis=-1)  # the pivot row of each matrix
        pivots.append(p.astype(np.int32))
        # swap rows k and p (a permutation gather, so gradients flow through it)
        swap = fnp.where(rows == k, p[..., None], fnp.where(rows == p[..., None], k, rows))
        a = fnp.take_along_axis(a, swap[..., :, None], axis=-2)
        perm = fnp.take_along_axis(perm, swap.astype(np.int32), axis=-1)
        pivot = a[..., k : k + 1, k : k + 1]
        below = (rows > k)[:, None]
        factors = fnp.where(below, a[..., :, k : k + 1] / fnp.where(pivot == 0, 1, pivot), 0)
        update = factors * a[..., k : k + 1, :] * (fnp.arange(n) > k)
        a = a - update
        a = fnp.where(below & (fnp.arange(n) == k), factors, a)
    pivots = fnp.stack(pivots, axis=-1) if pivots else fnp.zeros(batch + (0,), np.int32)
    return a, pivots, perm


def schur(x, *, compute_schur_vectors: bool = True, sort_eig_vals: bool = False,
          select_callable=None):  # fmt: skip
    """The Schur decomposition ``x = q u q^H`` of square matrices (batched over leading
    axes): ``u`` quasi upper triangular (real input: 2x2 blocks for complex eigenvalue
    pairs) or upper triangular (complex input), ``q`` orthogonal/unitary. Returns
    ``(u, q)``, or a list holding ``u`` alone when ``compute_schur_vectors=False`` (as
    JAX does). Computed by :func:`funcgrad.scipy.linalg.schur` (NumPy QR iterations on
    the host); not differentiable, as in JAX. ``sort_eig_vals`` and ``select_callable``
    are unused in JAX: here they must keep their defaults (an error says so otherwise).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> x = fnp.asarray([[0.0, 2.0, 2.0], [0.0, 1.0, 2.0], [1.0, 0.0, 1.0]])
        >>> u, q = lax.linalg.schur(x)
        >>> bool(fnp.allclose(q @ u @ q.T, x))
        True
    """
    from funcgrad._src.scipy.linalg import schur as _host_schur
    from funcgrad._src.vmap import vmap

    if sort_eig_vals or select_callable is not None:
        raise NotImplementedError(
            "funcgrad.lax.linalg.schur: sort_eig_vals and select_callable are not supported "
            "(JAX ignores them); reorder the eigenvalues of the result instead"
        )
    x = _as_array(x)
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(
            f"funcgrad.lax.linalg.schur: x must be a (batch of) square matrices, got shape "
            f"{x.shape}"
        )
    fun = _host_schur
    for _ in range(x.ndim - 2):
        fun = vmap(fun)
    u, q = fun(x)
    return (u, q) if compute_schur_vectors else [u]


# The Householder reductions and the structured products/solves live in their own modules.
from funcgrad._src.lax.householder import hessenberg, householder_product, ormqr, tridiagonal
from funcgrad._src.lax.linalg_structured import (
    EighImplementation,
    EigImplementation,
    SvdAlgorithm,
    cholesky_update,
    qdwh,
    symmetric_product,
    tridiagonal_solve,
)
