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
    "cholesky", "eigh", "lu", "lu_pivots_to_permutation", "qr", "svd", "triangular_solve",
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


def qr(x, *, full_matrices: bool = True):
    """``(q, r)`` of each matrix of ``x``; ``full_matrices=False`` gives the reduced form.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> q, r = lax.linalg.qr(fnp.ones((3, 2)), full_matrices=False)
        >>> q.shape, r.shape
        ((3, 2), (2, 2))
    """
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
