"""funcgrad.numpy.linalg: NumPy's linear algebra over stacks of matrices.

Decompositions and solves bind the primitives of ``funcgrad._src.lax.linalg``
(cholesky, eigh, qr, svd, solve, det, slogdet); everything else (inv, pinv, norms,
lstsq, matrix_power, matrix_rank, multi_dot...) is a composition of them. Every
function acts on the last two axes and batches over the leading ones, as NumPy does.

Dtypes follow NumPy's linalg: integer and boolean inputs are computed in float64,
float32/complex64 stay single precision unless mixed with double precision or
integers, and float16 is rejected. Failures of the numerical kernels (a singular
matrix in ``solve``/``inv``, a matrix that is not positive definite in
``cholesky``) raise :class:`LinAlgError`, which is ``numpy.linalg.LinAlgError``.

``eig`` and ``eigvals`` bind the nonsymmetric eigendecomposition primitive of
``funcgrad._src.lax.eig`` and always return complex arrays, as JAX's.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.core import Array, Tracer
from funcgrad._src.lax import linalg as lax_linalg
from funcgrad._src.lax import reductions, structural
from funcgrad._src.numpy import contractions as _c
from funcgrad._src.numpy import ufuncs
from funcgrad._src.numpy.util import (
    asarray,
    broadcast_shapes_cached,
    broadcast_to_shape,
    canonicalize_axis,
    convert,
)

LinAlgError = np.linalg.LinAlgError

# Aliases of the array API's linalg namespace.
matmul = _c.matmul
vecdot = _c.vecdot
tensordot = _c.tensordot


class EigResult(NamedTuple):
    eigenvalues: Any
    eigenvectors: Any


class EighResult(NamedTuple):
    eigenvalues: Any
    eigenvectors: Any


class QRResult(NamedTuple):
    Q: Any
    R: Any


class SlogdetResult(NamedTuple):
    sign: Any
    logabsdet: Any


class SVDResult(NamedTuple):
    U: Any
    S: Any
    Vh: Any


class LstsqResult(NamedTuple):
    x: Any
    residuals: Any
    rank: Any
    s: Any


# ------------------------------------------------------------------------------------
# Operand checks and conversions
# ------------------------------------------------------------------------------------


def _name(fn: str) -> str:
    return f"funcgrad.numpy.linalg.{fn}"


def _linalg_dtype(fname: str, *dts: np.dtype) -> np.dtype:
    """NumPy linalg's computation dtype: single precision only if every operand is
    float32/complex64; integers and bool count as double; complex if any is."""
    double = False
    cplx = False
    for dt in dts:
        if dt.kind in "fc":
            real = np.finfo(dt).dtype
            if real == dtypes.float16:
                raise TypeError(
                    f"{fname}: array type float16 is unsupported in linalg; convert to "
                    f"float32 first (x.astype(fnp.float32))"
                )
            double = double or real == dtypes.float64
            cplx = cplx or dt.kind == "c"
        else:
            double = True
    if cplx:
        return dtypes.complex128 if double else dtypes.complex64
    return dtypes.float64 if double else dtypes.float32


def _real(dt: np.dtype) -> np.dtype:
    return np.finfo(dt).dtype


def _matrices(fname: str, x: Any, square: bool = True) -> Any:
    """``x`` as a stack of (square) matrices in NumPy linalg's computation dtype."""
    x = asarray(x, fname=fname)
    if x.ndim < 2:
        raise LinAlgError(
            f"{fname}: {x.ndim}-dimensional array given (shape {x.shape}); expected a "
            f"matrix or a stack of matrices (at least 2 dimensions)"
        )
    if square and x.shape[-1] != x.shape[-2]:
        raise LinAlgError(
            f"{fname}: the last 2 dimensions of the array must be square, got shape {x.shape}"
        )
    return convert(x, _linalg_dtype(fname, x.dtype))


def _eye(n: int, dtype: np.dtype) -> Any:
    rows = structural.iota_p.bind1(dtype=dtypes.int64, shape=(n, n), dimension=0)
    cols = structural.iota_p.bind1(dtype=dtypes.int64, shape=(n, n), dimension=1)
    return convert(ufuncs.equal(rows, cols), dtype)


def _hermitian_from_triangle(x: Any, lower: bool) -> Any:
    """The Hermitian matrices that LAPACK sees when it reads one triangle of ``x`` (and the
    real part of its diagonal), built explicitly so that derivatives see exactly what is
    read: a perturbation of the other triangle changes nothing and gets a zero gradient,
    one of a read off-diagonal entry moves both mirrored entries."""
    n = x.shape[-1]
    rows = structural.iota_p.bind1(dtype=dtypes.int64, shape=(n, n), dimension=0)
    cols = structural.iota_p.bind1(dtype=dtypes.int64, shape=(n, n), dimension=1)
    read = ufuncs.greater(rows, cols) if lower else ufuncs.less(rows, cols)
    zero = x.dtype.type(0)
    triangle = ufuncs.where(read, x, zero)
    diagonal = ufuncs.where(ufuncs.equal(rows, cols), x, zero)
    if x.dtype.kind == "c":
        diagonal = convert(ufuncs.real(diagonal), x.dtype)
    return ufuncs.add(ufuncs.add(triangle, _ct(triangle)), diagonal)


def _ct(x: Any) -> Any:
    """Conjugate transpose of the last two axes."""
    return _c._conj(_c._swap_last(x))


def _reduce(prim, x: Any, axes: Sequence[int], keepdims: bool) -> Any:
    out = prim.bind1(x, axes=tuple(sorted(axes)))
    if keepdims:
        out = _c._reshape(out, tuple(1 if d in axes else n for d, n in enumerate(x.shape)))
    return out


# ------------------------------------------------------------------------------------
# Solves, inverses and determinants
# ------------------------------------------------------------------------------------


def solve(a: Any, b: Any) -> Any:
    """Solve ``a @ x = b`` for ``x`` (NumPy 2 semantics).

    ``b`` is a vector (or, batched against ``a``, a stack of vectors) only when it is
    1-D; otherwise it is a stack of matrices ``(..., M, K)``. Batch axes broadcast.

    Raises:
        LinAlgError: ``a`` is singular (raised by the backend).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> a = fnp.asarray([[3.0, 1.0], [1.0, 2.0]])
        >>> fnp.linalg.solve(a, fnp.asarray([9.0, 8.0])).tolist()
        [2.0, 3.0]
    """
    fname = _name("solve")
    a = _matrices(fname, a)
    b = asarray(b, fname=fname)
    dt = _linalg_dtype(fname, a.dtype, b.dtype)
    a, b = convert(a, dt), convert(b, dt)
    m = a.shape[-1]
    if b.ndim == 1:
        if b.shape[0] != m:
            raise ValueError(
                f"{fname}: a of shape {a.shape} and b of shape {b.shape} are incompatible: "
                f"b must have shape ({m},) or (..., {m}, K)"
            )
        b = broadcast_to_shape(_c._reshape(b, (m, 1)), (*a.shape[:-2], m, 1))
        return _c._reshape(lax_linalg.solve_p.bind1(a, b), a.shape[:-1])
    if b.ndim == 0 or b.shape[-2] != m:
        raise ValueError(
            f"{fname}: a of shape {a.shape} and b of shape {b.shape} are incompatible: "
            f"b must have shape ({m},) or (..., {m}, K)"
        )
    try:
        batch = broadcast_shapes_cached(fname, a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(
            f"{fname}: the batch dimensions of a (shape {a.shape}) and b (shape {b.shape}) "
            f"cannot be broadcast together"
        ) from None
    a = broadcast_to_shape(a, (*batch, m, m))
    b = broadcast_to_shape(b, (*batch, m, b.shape[-1]))
    return lax_linalg.solve_p.bind1(a, b)


def inv(a: Any) -> Any:
    """The inverse of each square matrix in ``a`` (a solve against the identity).

    Raises:
        LinAlgError: a matrix is singular.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.linalg.inv(fnp.asarray([[2.0, 0.0], [0.0, 4.0]])).tolist()
        [[0.5, 0.0], [0.0, 0.25]]
    """
    a = _matrices(_name("inv"), a)
    eye = broadcast_to_shape(_eye(a.shape[-1], a.dtype), a.shape)
    return lax_linalg.solve_p.bind1(a, eye)


def det(a: Any) -> Any:
    """The determinant of each square matrix in ``a``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> round(fnp.linalg.det(fnp.asarray([[1, 2], [3, 4]])).item(), 6)
        -2.0
    """
    return lax_linalg.det_p.bind1(_matrices(_name("det"), a))


def slogdet(a: Any) -> SlogdetResult:
    """The sign and the natural log of the absolute determinant, ``(sign, logabsdet)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> r = fnp.linalg.slogdet(fnp.asarray([[2.0, 0.0], [0.0, -3.0]]))
        >>> r.sign.item(), round(r.logabsdet.item(), 6)
        (-1.0, 1.791759)
    """
    sign, logabsdet = lax_linalg.slogdet_p.bind(_matrices(_name("slogdet"), a))
    return SlogdetResult(sign, logabsdet)


def matrix_power(a: Any, n: int) -> Any:
    """``a`` raised to the integer power ``n`` by repeated squaring (``n < 0`` inverts
    first; ``n == 0`` gives the identity in ``a``'s dtype).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.linalg.matrix_power(fnp.asarray([[1, 1], [0, 1]]), 5).tolist()
        [[1, 5], [0, 1]]
    """
    fname = _name("matrix_power")
    a = asarray(a, fname=fname)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise LinAlgError(
            f"{fname}: expected a stack of square matrices (shape (..., M, M)), got shape {a.shape}"
        )
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"{fname}: exponent must be an integer, got {n!r}") from None
    if n == 0:
        return broadcast_to_shape(_eye(a.shape[-1], a.dtype), a.shape)
    if n < 0:
        a, n = inv(a), -n
    result = None
    square = a
    while True:
        if n & 1:
            result = square if result is None else _c.matmul(result, square)
        n >>= 1
        if not n:
            return result
        square = _c.matmul(square, square)


# ------------------------------------------------------------------------------------
# Decompositions
# ------------------------------------------------------------------------------------


def cholesky(a: Any, /, *, upper: bool = False) -> Any:
    """The Cholesky factor of each Hermitian positive-definite matrix: lower triangular
    ``L`` with ``a = L @ L^H``, or upper ``U = L^H`` with ``upper=True``.

    Raises:
        LinAlgError: a matrix is not positive definite.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.linalg.cholesky(fnp.asarray([[4.0, 2.0], [2.0, 2.0]])).tolist()
        [[2.0, 0.0], [1.0, 1.0]]
    """
    # NumPy reads the lower triangle; the derivative is taken of exactly that function
    x = _hermitian_from_triangle(_matrices(_name("cholesky"), a), lower=True)
    low = lax_linalg.cholesky_p.bind1(x)
    return _ct(low) if upper else low


def qr(a: Any, mode: str = "reduced") -> Any:
    """The QR decomposition ``a = Q @ R`` of each matrix.

    ``mode``: ``'reduced'`` (Q is ``(M, K)``, K = min(M, N)), ``'complete'`` (Q is
    ``(M, M)``) or ``'r'`` (only R). NumPy's ``'raw'`` mode is not supported.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> q, r = fnp.linalg.qr(fnp.ones((4, 3)))
        >>> q.shape, r.shape
        ((4, 3), (3, 3))
    """
    fname = _name("qr")
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"{fname}: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    q, r = lax_linalg.qr_p.bind(_matrices(fname, a, square=False), full_matrices=mode == "complete")
    return r if mode == "r" else QRResult(q, r)


def svd(
    a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False
) -> Any:
    """The singular value decomposition ``a = U @ diag(S) @ Vh`` of each matrix, singular
    values in descending order; only ``S`` when ``compute_uv=False``.

    ``hermitian=True`` is accepted for compatibility and computed with the general
    algorithm (the result is a valid SVD; NumPy's eigh-based one may differ in signs).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.linalg.svd(fnp.asarray([[3.0, 0.0], [0.0, -4.0]]), compute_uv=False).tolist()
        [4.0, 3.0]
    """
    del hermitian
    x = _matrices(_name("svd"), a, square=False)
    if not compute_uv:
        return lax_linalg.svd_p.bind1(x, full_matrices=False, compute_uv=False)
    u, s, vh = lax_linalg.svd_p.bind(x, full_matrices=bool(full_matrices), compute_uv=True)
    return SVDResult(u, s, vh)


def svdvals(x: Any, /) -> Any:
    """The singular values of each matrix, in descending order.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.linalg.svdvals(fnp.asarray([[0.0, 2.0], [1.0, 0.0]])).tolist()
        [2.0, 1.0]
    """
    x = _matrices(_name("svdvals"), x, square=False)
    return lax_linalg.svd_p.bind1(x, full_matrices=False, compute_uv=False)


def _uplo(fname: str, UPLO: str) -> bool:
    if UPLO not in ("L", "U"):
        raise ValueError(f"{fname}: UPLO must be 'L' or 'U', got {UPLO!r}")
    return UPLO == "L"


def eigh(a: Any, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending) and eigenvectors (columns) of each Hermitian matrix, reading
    the lower (``UPLO='L'``) or upper triangle.

    As in NumPy only that triangle (and the real part of the diagonal) is read, and the
    derivative is the derivative of exactly that function: the other triangle gets a
    zero gradient, and a read off-diagonal entry stands for both mirrored entries. (JAX
    instead symmetrizes its input, ``(a + a^H) / 2``, which gives different values for a
    non-Hermitian ``a``; funcgrad's values are NumPy's.) Eigenvectors are differentiable
    where the eigenvalues are distinct; for complex matrices their phases follow the
    gauge ``diag(V^H dV) = 0``, so differentiate phase-independent functions of them.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> w, v = fnp.linalg.eigh(fnp.asarray([[2.0, 1.0], [1.0, 2.0]]))
        >>> [round(e, 6) for e in w.tolist()]
        [1.0, 3.0]
    """
    fname = _name("eigh")
    lower = _uplo(fname, UPLO)
    x = _hermitian_from_triangle(_matrices(fname, a), lower)
    w, v = lax_linalg.eigh_p.bind(x, lower=lower)
    return EighResult(w, v)


def eigvalsh(a: Any, UPLO: str = "L") -> Any:
    """The eigenvalues (ascending) of each Hermitian matrix.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> [round(e, 6) for e in fnp.linalg.eigvalsh(fnp.asarray([[2.0, 0.0], [0.0, 1.0]])).tolist()]
        [1.0, 2.0]
    """
    fname = _name("eigvalsh")
    lower = _uplo(fname, UPLO)
    x = _hermitian_from_triangle(_matrices(fname, a), lower)  # see eigh
    return lax_linalg.eigh_p.bind(x, lower=lower)[0]


def eig(a: Any) -> EigResult:
    """Eigenvalues and right eigenvectors (columns) of each general square matrix, as
    complex arrays (complex64 for float32/complex64 input, complex128 otherwise; NumPy
    returns real arrays when every eigenvalue is real, JAX and funcgrad do not).

    The eigenvectors are ``numpy.linalg.eig``'s: unit 2-norm, largest component real.
    As in JAX, only the eigenvalues are differentiable here (use :func:`eigvals`); for
    eigenvector derivatives call ``funcgrad.lax.linalg.eig(a,
    compute_left_eigenvectors=False, enable_eigvec_derivs=True)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> w, v = fnp.linalg.eig(fnp.asarray([[0.0, -1.0], [1.0, 0.0]]))
        >>> w.tolist()
        [1j, -1j]
    """
    from funcgrad._src.lax.eig import eig_p

    w, v = eig_p.bind(_matrices(_name("eig"), a), compute_left_eigenvectors=False,
                      compute_right_eigenvectors=True, enable_eigvec_derivs=False)  # fmt: skip
    return EigResult(w, v)


def eigvals(a: Any) -> Any:
    """The eigenvalues of each general square matrix (complex, in LAPACK's order, as
    ``numpy.linalg.eigvals``). Differentiable where they are distinct:
    ``dw = diag(V^{-1} da V)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.linalg.eigvals(fnp.asarray([[2.0, 1.0], [0.0, 3.0]])).tolist()
        [(2+0j), (3+0j)]
    """
    from funcgrad._src.lax.eig import eig_p

    return eig_p.bind1(_matrices(_name("eigvals"), a), compute_left_eigenvectors=False,
                       compute_right_eigenvectors=False, enable_eigvec_derivs=False)  # fmt: skip


# ------------------------------------------------------------------------------------
# SVD-based: pseudo-inverse, rank, least squares, condition number
# ------------------------------------------------------------------------------------

_NO_VALUE = object()


def _cutoff_mask(s: Any, rcond: Any) -> Any:
    """``s > rcond * max(s)`` per matrix (``s`` has at least one singular value)."""
    smax = _reduce(reductions.reduce_max_p, s, (s.ndim - 1,), keepdims=True)
    rcond = asarray(rcond)
    if rcond.ndim:  # one cutoff per matrix of the stack
        rcond = _c._reshape(rcond, (*rcond.shape, 1))
    return ufuncs.greater(s, ufuncs.multiply(convert(rcond, s.dtype), smax))


def _reciprocal_where(keep: Any, s: Any) -> Any:
    """``1 / s`` where ``keep``, else 0, without dividing by the dropped values."""
    # Constants as arrays of s's dtype: select's derivative needs both branches of one dtype.
    one = broadcast_to_shape(convert(asarray(1), s.dtype), s.shape)
    zero = broadcast_to_shape(convert(asarray(0), s.dtype), s.shape)
    return ufuncs.where(keep, ufuncs.reciprocal(ufuncs.where(keep, s, one)), zero)


def pinv(a: Any, rcond: Any = None, hermitian: bool = False, *, rtol: Any = _NO_VALUE) -> Any:
    """The Moore-Penrose pseudo-inverse of each matrix, from its SVD.

    Singular values ``<= rcond * max(s)`` are treated as zero. As in NumPy, ``rcond``
    defaults to ``1e-15``; ``rtol`` is the array-API name for it, and ``rtol=None``
    means ``max(M, N) * eps``. ``hermitian`` is accepted and uses the general SVD.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.linalg.pinv(fnp.asarray([[2.0, 0.0], [0.0, 0.0]])).tolist()
        [[0.5, 0.0], [0.0, 0.0]]
    """
    del hermitian
    fname = _name("pinv")
    x = _matrices(fname, a, square=False)
    *batch, m, n = x.shape
    if rtol is not _NO_VALUE:
        if rcond is not None:
            raise ValueError(f"{fname}: pass rcond or rtol, not both")
        rcond = max(m, n) * np.finfo(x.dtype).eps if rtol is None else rtol
    elif rcond is None:
        rcond = 1e-15
    if m == 0 or n == 0:
        return broadcast_to_shape(convert(asarray(0), x.dtype), (*batch, n, m))
    u, s, vh = lax_linalg.svd_p.bind(x, full_matrices=False, compute_uv=True)
    keep = _cutoff_mask(s, rcond)
    s_inv = convert(_reciprocal_where(keep, s), x.dtype)
    v_scaled = ufuncs.multiply(_ct(vh), _c._reshape(s_inv, (*s_inv.shape[:-1], 1, s_inv.shape[-1])))
    return _c.matmul(v_scaled, _ct(u))


def matrix_rank(A: Any, tol: Any = None, hermitian: bool = False, *, rtol: Any = None) -> Any:
    """The number of singular values greater than ``tol`` for each matrix.

    ``tol`` defaults to ``S.max() * rtol`` with ``rtol = max(M, N) * eps``. Vectors and
    scalars have rank 1 unless all zero. The result is an array (the count), so the
    function works under ``jit``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.linalg.matrix_rank(fnp.asarray([[1.0, 2.0], [2.0, 4.0]])).item()
        1
    """
    del hermitian
    fname = _name("matrix_rank")
    A = asarray(A, fname=fname)
    if A.ndim < 2:
        nonzero = ufuncs.not_equal(A, 0)
        any_nonzero = reductions.reduce_or_p.bind1(nonzero, axes=tuple(range(A.ndim)))
        return convert(any_nonzero, dtypes.int64)
    if tol is not None and rtol is not None:
        raise ValueError(f"{fname}: pass tol or rtol, not both")
    s = svdvals(A)
    *batch, m, n = A.shape
    if min(m, n) == 0:
        return broadcast_to_shape(convert(asarray(0), dtypes.int64), tuple(batch))
    if tol is None:
        if rtol is None:
            rtol = max(m, n) * np.finfo(s.dtype).eps
        above = _cutoff_mask(s, rtol)
    else:
        tol = asarray(tol)
        if tol.ndim:
            tol = _c._reshape(tol, (*tol.shape, 1))
        above = ufuncs.greater(s, tol)
    return _c._sum(convert(above, dtypes.int64), (s.ndim - 1,))


def lstsq(a: Any, b: Any, rcond: Any = None) -> LstsqResult:
    """The least-squares solution of ``a @ x = b``: ``(x, residuals, rank, s)`` as NumPy.

    ``a`` is ``(M, N)``; ``b`` is ``(M,)`` or ``(M, K)``. Singular values below
    ``rcond * max(s)`` (default ``max(M, N) * eps``) are treated as zero. ``residuals``
    holds the squared 2-norm of each column of ``b - a @ x`` when ``M > N`` and ``a``
    has full rank, and is empty otherwise.

    Under ``jit`` the rank is unknown while tracing, so for ``M > N`` the residuals are
    always returned (shape ``(K,)``, or ``(1,)`` for 1-D ``b``), whatever the rank.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> a = fnp.asarray([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        >>> x, res, rank, s = fnp.linalg.lstsq(a, fnp.asarray([1.0, 1.0, 3.0]))
        >>> [round(v, 6) for v in x.tolist()], rank.item()
        ([1.333333, 1.333333], 2)
    """
    fname = _name("lstsq")
    a = asarray(a, fname=fname)
    b = asarray(b, fname=fname)
    if a.ndim != 2:
        raise LinAlgError(f"{fname}: a must be 2-dimensional (M, N), got shape {a.shape}")
    if b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise LinAlgError(
            f"{fname}: a of shape {a.shape} and b of shape {b.shape} are incompatible: b "
            f"must have shape ({a.shape[0]},) or ({a.shape[0]}, K)"
        )
    dt = _linalg_dtype(fname, a.dtype, b.dtype)
    rdt = _real(dt)
    a, b = convert(a, dt), convert(b, dt)
    m, n = a.shape
    vector_b = b.ndim == 1
    b2 = _c._reshape(b, (m, 1)) if vector_b else b
    k = b2.shape[1]
    if rcond is None:
        rcond = np.finfo(rdt).eps * max(m, n)
    if min(m, n) == 0:
        x = broadcast_to_shape(convert(asarray(0), dt), (n, k))
        s = broadcast_to_shape(convert(asarray(0), rdt), (0,))
        rank = convert(asarray(0), dtypes.int32)
    else:
        u, s, vh = lax_linalg.svd_p.bind(a, full_matrices=False, compute_uv=True)
        keep = _cutoff_mask(s, rcond)
        s_inv = convert(_reciprocal_where(keep, s), dt)
        coef = ufuncs.multiply(_c.matmul(_ct(u), b2), _c._reshape(s_inv, (s_inv.shape[0], 1)))
        x = _c.matmul(_ct(vh), coef)
        rank = convert(_c._sum(convert(keep, dtypes.int64), (0,)), dtypes.int32)
    if m > n and _full_rank_or_traced(rank, n):
        r = ufuncs.subtract(b2, _c.matmul(a, x))
        residuals = _c._sum(ufuncs.real(ufuncs.multiply(_c._conj(r), r)), (0,))
    else:
        residuals = broadcast_to_shape(convert(asarray(0), rdt), (0,))
    if vector_b:
        x = _c._reshape(x, (n,))
    return LstsqResult(x, residuals, rank, s)


def _full_rank_or_traced(rank: Any, n: int) -> bool:
    value = (
        rank
        if type(rank) is Array
        else (rank.concrete_value() if isinstance(rank, Tracer) else None)
    )
    if value is None:  # traced (jit): the rank is unknown, keep the residuals
        return True
    return int(np.asarray(value)) == n


def cond(x: Any, p: Any = None) -> Any:
    """The condition number of each matrix in the norm ``p`` (NumPy's ``cond``).

    ``p`` in (None, 2, -2) uses the singular values (a singular matrix gives inf);
    other norms multiply ``norm(x, p) * norm(inv(x), p)``, where a singular matrix
    raises :class:`LinAlgError` (NumPy returns inf there).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.linalg.cond(fnp.asarray([[2.0, 0.0], [0.0, 0.5]])).item()
        4.0
    """
    fname = _name("cond")
    x = _matrices(fname, x, square=p not in (None, 2, -2))
    if p in (None, 2, -2):
        s = svdvals(x)
        hi, lo = s[..., 0], s[..., -1]
        return ufuncs.divide(lo, hi) if p == -2 else ufuncs.divide(hi, lo)
    return ufuncs.multiply(norm(x, p, axis=(-2, -1)), norm(inv(x), p, axis=(-2, -1)))


# ------------------------------------------------------------------------------------
# Norms
# ------------------------------------------------------------------------------------


def _inexact_operand(fname: str, x: Any) -> Any:
    x = asarray(x, fname=fname)
    return x if x.dtype.kind in "fc" else convert(x, dtypes.float64)


def _sum_squares(x: Any, axes: Sequence[int], keepdims: bool) -> Any:
    sq = (
        ufuncs.real(ufuncs.multiply(_c._conj(x), x))
        if x.dtype.kind == "c"
        else ufuncs.multiply(x, x)
    )
    return _c._sum(sq, axes, keepdims)


def _vector_norm(fname: str, x: Any, ord: Any, axis: int, keepdims: bool) -> Any:
    axes = (axis,)
    if ord is None or (not isinstance(ord, str) and ord == 2):
        return ufuncs.sqrt(_sum_squares(x, axes, keepdims))
    if isinstance(ord, str):
        raise ValueError(f"{fname}: invalid norm order {ord!r} for vectors")  # noqa: TRY004 (NumPy's)
    absx = ufuncs.absolute(x)
    if ord == np.inf:
        return _reduce(reductions.reduce_max_p, absx, axes, keepdims)
    if ord == -np.inf:
        return _reduce(reductions.reduce_min_p, absx, axes, keepdims)
    if ord == 0:
        return _c._sum(convert(ufuncs.not_equal(x, 0), absx.dtype), axes, keepdims)
    if ord == 1:
        return _c._sum(absx, axes, keepdims)
    p = np.asarray(ord, dtype=absx.dtype)
    total = _c._sum(ufuncs.power(absx, asarray(p)), axes, keepdims)
    return ufuncs.power(total, asarray(np.reciprocal(p)))


def _matrix_norm(fname: str, x: Any, ord: Any, row: int, col: int, keepdims: bool) -> Any:
    if ord in (None, "fro", "f"):
        return ufuncs.sqrt(_sum_squares(x, (row, col), keepdims))
    if ord in (2, -2, "nuc"):
        rest = [d for d in range(x.ndim) if d not in (row, col)]
        s = svdvals(_c._transpose(x, (*rest, row, col)))
        last = (s.ndim - 1,)
        if ord == 2:
            out = _reduce(reductions.reduce_max_p, s, last, False)
        elif ord == -2:
            out = _reduce(reductions.reduce_min_p, s, last, False)
        else:
            out = _c._sum(s, last)
        if keepdims:
            out = _c._reshape(
                out, tuple(1 if d in (row, col) else n for d, n in enumerate(x.shape))
            )
        return out
    if isinstance(ord, str) or ord not in (1, -1, np.inf, -np.inf):
        raise ValueError(f"{fname}: invalid norm order {ord!r} for matrices")
    # ord 1 / -1: max / min over columns of the column sums; inf / -inf: over rows.
    summed, other = (row, col) if ord in (1, -1) else (col, row)
    sums = _c._sum(ufuncs.absolute(x), (summed,), keepdims=True)
    prim = reductions.reduce_max_p if ord in (1, np.inf) else reductions.reduce_min_p
    out = _reduce(prim, sums, (other,), keepdims=True)
    if not keepdims:
        out = _c._reshape(out, tuple(n for d, n in enumerate(x.shape) if d not in (row, col)))
    return out


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    """A vector or matrix norm (NumPy's ``norm``).

    With ``axis=None``: the 2-norm of the flattened array when ``ord`` is None,
    otherwise a vector norm of a 1-D or a matrix norm of a 2-D ``x``. An int ``axis``
    selects vector norms (``ord``: None/2, 1, inf, -inf, 0, any other number p), a
    pair of axes matrix norms (``ord``: None/'fro', 'nuc', 1, -1, 2, -2, inf, -inf).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.linalg.norm(fnp.asarray([3.0, 4.0])).item()
        5.0
        >>> fnp.linalg.norm(fnp.asarray([[1.0, -2.0], [3.0, 4.0]]), ord=1).item()
        6.0
    """
    fname = _name("norm")
    x = _inexact_operand(fname, x)
    nd = x.ndim
    if axis is None:
        if (
            ord is None
            or (ord in ("f", "fro") and nd == 2)
            or (not isinstance(ord, str) and ord == 2 and nd == 1)
        ):
            return ufuncs.sqrt(_sum_squares(x, tuple(range(nd)), keepdims))
        if nd not in (1, 2):
            raise ValueError(
                f"{fname}: ord={ord!r} needs axis= for an array of {nd} dimensions "
                f"(shape {x.shape}); only 1-D and 2-D arrays have a default"
            )
        axis = tuple(range(nd))
    elif not isinstance(axis, tuple):
        axis = (axis,)
    if len(axis) == 1:
        return _vector_norm(fname, x, ord, canonicalize_axis(axis[0], nd, fname), keepdims)
    if len(axis) == 2:
        row = canonicalize_axis(axis[0], nd, fname)
        col = canonicalize_axis(axis[1], nd, fname)
        if row == col:
            raise ValueError(f"{fname}: duplicate axes given: axis={axis}")
        return _matrix_norm(fname, x, ord, row, col, keepdims)
    raise ValueError(f"{fname}: axis must name 1 or 2 axes, got axis={axis}")


def vector_norm(x: Any, /, *, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:
    """The vector norm over ``axis`` (all axes when None; a tuple of axes is treated as
    one flattened axis), as the array API's ``vector_norm``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.linalg.vector_norm(fnp.ones((2, 2)), ord=1).item()
        4.0
    """
    fname = _name("vector_norm")
    x = _inexact_operand(fname, x)
    axes = _vector_axes(axis, x.ndim, fname)
    if len(axes) == 1:
        return _vector_norm(fname, x, ord, axes[0], keepdims)
    rest = [d for d in range(x.ndim) if d not in axes]
    flat = _c._reshape(
        _c._transpose(x, (*rest, *axes)),
        (*(x.shape[d] for d in rest), int(np.prod([x.shape[d] for d in axes], dtype=np.int64))),
    )
    out = _vector_norm(fname, flat, ord, flat.ndim - 1, False)
    if keepdims:
        out = _c._reshape(out, tuple(1 if d in axes else n for d, n in enumerate(x.shape)))
    return out


def _vector_axes(axis: Any, ndim: int, fname: str) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        axes = tuple(canonicalize_axis(a, ndim, fname) for a in axis)
        if len(set(axes)) != len(axes):
            raise ValueError(f"{fname}: repeated axis in axis={axis}")
        return axes
    return (canonicalize_axis(axis, ndim, fname),)


def matrix_norm(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> Any:
    """The matrix norm of the last two axes (the array API's ``matrix_norm``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.linalg.matrix_norm(fnp.ones((3, 2, 2)), ord=1).tolist()
        [2.0, 2.0, 2.0]
    """
    fname = _name("matrix_norm")
    x = _inexact_operand(fname, x)
    if x.ndim < 2:
        raise ValueError(f"{fname}: x must have at least 2 dimensions, got shape {x.shape}")
    return _matrix_norm(fname, x, ord, x.ndim - 2, x.ndim - 1, keepdims)


# ------------------------------------------------------------------------------------
# Products and array-API helpers
# ------------------------------------------------------------------------------------


def multi_dot(arrays: Sequence[Any]) -> Any:
    """The product of a chain of matrices, multiplied in the cheapest order.

    The first and last arrays may be 1-D (a row and a column vector); the others must
    be 2-D. The order comes from the classic matrix-chain dynamic programme.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.linalg.multi_dot([fnp.ones((10, 2)), fnp.ones((2, 30)), fnp.ones(30)]).shape
        (10,)
    """
    fname = _name("multi_dot")
    arrs = [asarray(x, fname=fname) for x in arrays]
    if len(arrs) < 2:
        raise ValueError(f"{fname}: expecting at least two arrays, got {len(arrs)}")
    if len(arrs) == 2:
        return _c.dot(arrs[0], arrs[1])
    first_1d, last_1d = arrs[0].ndim == 1, arrs[-1].ndim == 1
    if first_1d:
        arrs[0] = _c._reshape(arrs[0], (1, arrs[0].shape[0]))
    if last_1d:
        arrs[-1] = _c._reshape(arrs[-1], (arrs[-1].shape[0], 1))
    for i, x in enumerate(arrs):
        if x.ndim != 2:
            raise ValueError(
                f"{fname}: array {i} has shape {x.shape}; only the first and last arrays may "
                f"be 1-D, all others must be 2-D"
            )
    for i in range(len(arrs) - 1):
        if arrs[i].shape[1] != arrs[i + 1].shape[0]:
            raise ValueError(
                f"{fname}: arrays {i} and {i + 1} are not aligned: shapes {arrs[i].shape} "
                f"and {arrs[i + 1].shape}"
            )
    split = _chain_order([x.shape[0] for x in arrs] + [arrs[-1].shape[1]])

    def product(i: int, j: int) -> Any:
        if i == j:
            return arrs[i]
        k = split[i][j]
        return _c.matmul(product(i, k), product(k + 1, j))

    out = product(0, len(arrs) - 1)
    if first_1d and last_1d:
        return _c._reshape(out, ())
    if first_1d:
        return _c._reshape(out, (out.shape[1],))
    if last_1d:
        return _c._reshape(out, (out.shape[0],))
    return out


def _chain_order(dims: list[int]) -> list[list[int]]:
    """split[i][j]: where to split the product of matrices i..j (dims[i] x dims[i+1], ...)
    to minimise scalar multiplications (Cormen et al., section 15.2)."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = None
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if cost[i][j] is None or c < cost[i][j]:
                    cost[i][j] = c
                    split[i][j] = k
    return split


def outer(x1: Any, x2: Any, /) -> Any:
    """The outer product of two 1-D arrays (the array API's ``outer``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.linalg.outer(fnp.asarray([1, 2]), fnp.asarray([3, 4])).tolist()
        [[3, 4], [6, 8]]
    """
    fname = _name("outer")
    a, b = asarray(x1, fname=fname), asarray(x2, fname=fname)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"{fname}: x1 and x2 must be 1-D, got shapes {a.shape} and {b.shape}")
    return _c.outer(a, b)


def cross(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    """The cross product of 3-vectors along ``axis`` (the array API's ``cross``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.linalg.cross(fnp.asarray([0, 1, 0]), fnp.asarray([0, 0, 1])).tolist()
        [1, 0, 0]
    """
    fname = _name("cross")
    a, b = asarray(x1, fname=fname), asarray(x2, fname=fname)
    for name, x in (("x1", a), ("x2", b)):
        if x.ndim == 0 or x.shape[canonicalize_axis(axis, x.ndim, fname)] != 3:
            raise ValueError(
                f"{fname}: {name} (shape {x.shape}) must have 3 elements along axis {axis}"
            )
    return _c.cross(a, b, axis=axis)


def diagonal(x: Any, /, *, offset: int = 0) -> Any:
    """The diagonal of the last two axes (the array API's ``diagonal``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.linalg.diagonal(fnp.asarray([[1, 2], [3, 4]]), offset=1).tolist()
        [2]
    """
    fname = _name("diagonal")
    x = asarray(x, fname=fname)
    if x.ndim < 2:
        raise ValueError(f"{fname}: x must have at least 2 dimensions, got shape {x.shape}")
    return _c._diagonal(x, operator.index(offset))


def trace(x: Any, /, *, offset: int = 0, dtype: Any = None) -> Any:
    """The sum of the diagonal of the last two axes (the array API's ``trace``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.linalg.trace(fnp.ones((2, 3, 3))).tolist()
        [3.0, 3.0]
    """
    fname = _name("trace")
    x = asarray(x, fname=fname)
    if x.ndim < 2:
        raise ValueError(f"{fname}: x must have at least 2 dimensions, got shape {x.shape}")
    return _c.trace(x, offset, axis1=-2, axis2=-1, dtype=dtype)


def tensorinv(a: Any, ind: int = 2) -> Any:
    """The inverse of ``a`` as a linear map from its last ``a.ndim - ind`` axes to its
    first ``ind`` ones (NumPy's ``tensorinv``): ``tensordot(tensorinv(a, ind), b, ind)``
    solves ``tensordot(a, x, a.ndim - ind) = b``. The result has shape
    ``a.shape[ind:] + a.shape[:ind]``.

    Raises:
        ValueError: ``ind`` is not a positive integer.
        LinAlgError: the two groups of axes have different sizes, or the map is singular.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> a = fnp.eye(6).reshape(6, 2, 3) * 2.0
        >>> fnp.linalg.tensorinv(a, ind=1).shape
        (2, 3, 6)
    """
    fname = _name("tensorinv")
    a = asarray(a, fname=fname)
    if isinstance(ind, bool) or not isinstance(ind, (int, np.integer)) or ind <= 0:
        raise ValueError(f"{fname}: ind must be a positive integer, got ind={ind!r}")
    head, tail = a.shape[:ind], a.shape[ind:]
    rows, cols = int(np.prod(head)), int(np.prod(tail))
    if ind > a.ndim or rows != cols:
        raise LinAlgError(
            f"{fname}: the first ind={ind} axes of a (shape {a.shape}) must have as many "
            f"elements as the remaining ones ({rows} vs {cols}); choose ind so that "
            f"prod(a.shape[:ind]) == prod(a.shape[ind:])"
        )
    return _c._reshape(inv(_c._reshape(a, (rows, cols))), (*tail, *head))


def tensorsolve(a: Any, b: Any, axes: Any = None) -> Any:
    """The ``x`` with ``tensordot(a, x, x.ndim) == b`` (NumPy's ``tensorsolve``): ``x`` has
    shape ``a.shape[b.ndim:]``, and ``axes`` (if given) are axes of ``a`` moved to the end
    first.

    Raises:
        LinAlgError: ``prod(a.shape[:b.ndim]) != prod(a.shape[b.ndim:])``, or the map is
            singular.
        ValueError: ``b`` does not have ``prod(a.shape[:b.ndim])`` elements.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> a = fnp.eye(6).reshape(2, 3, 6) * 2.0
        >>> fnp.linalg.tensorsolve(a, fnp.ones((2, 3))).tolist()
        [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    """
    fname = _name("tensorsolve")
    a = asarray(a, fname=fname)
    b = asarray(b, fname=fname)
    if axes is not None:
        moved = [canonicalize_axis(ax, a.ndim, fname, "axes") for ax in np.atleast_1d(axes)]
        order = tuple(d for d in range(a.ndim) if d not in moved) + tuple(moved)
        if order != tuple(range(a.ndim)):
            a = structural.transpose_p.bind1(a, permutation=order)
    head, tail = a.shape[: b.ndim], a.shape[b.ndim :]
    rows, cols = int(np.prod(head)), int(np.prod(tail))
    if b.ndim > a.ndim or rows != cols:
        raise LinAlgError(
            f"{fname}: a of shape {a.shape} must satisfy prod(a.shape[:b.ndim]) == "
            f"prod(a.shape[b.ndim:]) with b.ndim={b.ndim} (got {rows} and {cols})"
        )
    if b.size != rows:
        raise ValueError(
            f"{fname}: b of shape {b.shape} must have prod(a.shape[:b.ndim]) = {rows} elements "
            f"(a has shape {a.shape})"
        )
    x = solve(_c._reshape(a, (rows, cols)), _c._reshape(b, (rows,)))
    return _c._reshape(x, tail)


def matrix_transpose(x: Any, /) -> Any:
    """The last two axes swapped.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.linalg.matrix_transpose(fnp.ones((4, 2, 3))).shape
        (4, 3, 2)
    """
    fname = _name("matrix_transpose")
    x = asarray(x, fname=fname)
    if x.ndim < 2:
        raise ValueError(f"{fname}: x must have at least 2 dimensions, got shape {x.shape}")
    return _c._swap_last(x)


__all__ = [
    "EigResult", "EighResult", "LinAlgError", "LstsqResult", "QRResult", "SVDResult",
    "SlogdetResult", "cholesky", "cond", "cross", "det", "diagonal", "eig", "eigh", "eigvals",
    "eigvalsh", "inv", "lstsq", "matmul", "matrix_norm", "matrix_power", "matrix_rank",
    "matrix_transpose", "multi_dot", "norm", "outer", "pinv", "qr", "slogdet", "solve", "svd",
    "svdvals", "tensordot", "tensorinv", "tensorsolve", "trace", "vecdot", "vector_norm",
]  # fmt: skip
