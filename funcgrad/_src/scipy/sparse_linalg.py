"""``funcgrad.scipy.sparse.linalg``: Krylov solvers for ``A x = b`` with ``A`` given as a
function (or a matrix): conjugate gradients, BiCGSTAB and restarted GMRES.

The right-hand side may be any pytree of arrays; the solvers work on one flat vector
holding all its leaves (in their common inexact dtype) and give the solution back in
``b``'s structure and dtypes. Each solve is one ``linear_solve`` primitive
(:mod:`funcgrad._src.scipy.linear_solve`), so derivatives are implicit (``dx = A^{-1}
(db - dA x)``, one more solve, never through the iterations), in forward and reverse
mode and under ``jit`` and ``vmap``. The iterations are ``lax.while_loop``\\ s, as in
JAX; like JAX, convergence is ``|r| <= max(tol |b|, atol)`` (SciPy's non-legacy rule).
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad._src import dtypes
from funcgrad._src.scipy.linalg import solve_triangular
from funcgrad._src.scipy.linear_solve import linear_solve
from funcgrad._src.tree_util import tree_flatten, tree_unflatten

__all__ = ["bicgstab", "cg", "gmres"]

_NAME = "funcgrad.scipy.sparse.linalg"


def _identity(x: Any) -> Any:
    return x


def _operator(fname: str, what: str, op: Any) -> Callable:
    """A matrix, a ``@``-able object or a function, as a function."""
    if callable(op) and not hasattr(op, "shape"):
        return op
    shape = getattr(op, "shape", None)
    if shape is not None or isinstance(op, (list, tuple)):
        matrix = fnp.asarray(op)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise ValueError(
                f"{_NAME}.{fname}: {what} must be a square matrix or a function, got shape "
                f"{matrix.shape}"
            )
        return functools.partial(fnp.matmul, matrix)
    if hasattr(op, "__matmul__"):
        return functools.partial(operator.matmul, op)
    raise TypeError(
        f"{_NAME}.{fname}: {what} must be a function, a square matrix or an object with "
        f"__matmul__, got {type(op).__name__}"
    )


class _Packing:
    """Flattens a pytree of arrays into one vector of their common inexact dtype, and back."""

    def __init__(self, fname: str, b: Any):
        leaves, self.tree = tree_flatten(b)
        if not leaves:
            raise ValueError(f"{_NAME}.{fname}: b has no arrays")
        leaves = [fnp.asarray(x) for x in leaves]
        self.shapes = [x.shape for x in leaves]
        self.dtypes = [dtypes.to_inexact(x.dtype) for x in leaves]
        self.dtype = dtypes.to_inexact(fnp.result_type(*self.dtypes))
        self.sizes = [math.prod(s) for s in self.shapes]
        self.size = sum(self.sizes)

    def pack(self, fname: str, what: str, tree: Any) -> Any:
        leaves, tree_def = tree_flatten(tree)
        if tree_def != self.tree:
            raise ValueError(
                f"{_NAME}.{fname}: {what} must have the structure of b ({self.tree}), got "
                f"{tree_def}"
            )
        leaves = [fnp.asarray(x) for x in leaves]
        shapes = [x.shape for x in leaves]
        if shapes != self.shapes:
            raise ValueError(
                f"{_NAME}.{fname}: {what} must have the shapes of b's arrays ({self.shapes}), "
                f"got {shapes}"
            )
        return fnp.concatenate([fnp.ravel(x).astype(self.dtype) for x in leaves])

    def unpack(self, vector: Any, cast: bool = True) -> Any:
        leaves, start = [], 0
        for shape, size, dt in zip(self.shapes, self.sizes, self.dtypes):
            leaf = vector[start : start + size].reshape(shape)
            leaves.append(leaf.astype(dt) if cast else leaf)
            start += size
        return tree_unflatten(self.tree, leaves)

    def vector_fn(self, fname: str, what: str, fn: Callable) -> Callable:
        """``fn`` (pytree to pytree) as a function of the flat vector."""
        return lambda v: self.pack(fname, f"the output of {what}", fn(self.unpack(v, cast=False)))


def _vdot_real(x: Any, y: Any) -> Any:
    """``Re <x, y>``: the real inner product of (possibly complex) vectors."""
    return fnp.real(fnp.vdot(x, y))


def _setup(fname: str, A: Any, b: Any, x0: Any, M: Any, maxiter: Any):
    packing = _Packing(fname, b)
    A = packing.vector_fn(fname, "A", _operator(fname, "A", A))
    M = _identity if M is None else packing.vector_fn(fname, "M", _operator(fname, "M", M))
    b_vec = packing.pack(fname, "b", b)
    x0_vec = fnp.zeros_like(b_vec) if x0 is None else packing.pack(fname, "x0", x0)
    maxiter = 10 * packing.size if maxiter is None else operator.index(maxiter)
    return packing, A, M, b_vec, x0_vec, maxiter


def _cg_solve(A, b, x0, *, tol, atol, maxiter, M):
    atol2 = fnp.maximum(tol**2 * _vdot_real(b, b), atol**2)
    r0 = b - A(x0)
    z0 = M(r0)
    gamma0 = _vdot_real(r0, z0).astype(b.dtype)

    def cond(state):
        _, r, gamma, _, k = state
        rs = fnp.real(gamma) if M is _identity else _vdot_real(r, r)
        return (rs > atol2) & (k < maxiter)

    def body(state):
        x, r, gamma, p, k = state
        ap = A(p)
        alpha = gamma / _vdot_real(p, ap).astype(b.dtype)
        x = x + alpha * p
        r = r - alpha * ap
        z = M(r)
        gamma_new = _vdot_real(r, z).astype(b.dtype)
        p = z + (gamma_new / gamma) * p
        return x, r, gamma_new, p, k + 1

    return lax.while_loop(cond, body, (x0, r0, gamma0, z0, 0))[0]


def _bicgstab_solve(A, b, x0, *, tol, atol, maxiter, M):
    atol2 = fnp.maximum(tol**2 * _vdot_real(b, b), atol**2)
    r0 = b - A(x0)
    one = fnp.ones((), b.dtype)

    def cond(state):
        _, r, *_, k = state
        # k < 0 marks a breakdown (rho, alpha or omega became 0)
        return (_vdot_real(r, r) > atol2) & (k < maxiter) & (k >= 0)

    def body(state):
        x, r, rhat, alpha, omega, rho, p, q, k = state
        rho_new = fnp.vdot(rhat, r)
        beta = rho_new / rho * alpha / omega
        p = r + beta * (p - omega * q)
        phat = M(p)
        q = A(phat)
        alpha = rho_new / fnp.vdot(rhat, q)
        s = r - alpha * q
        done = _vdot_real(s, s) < atol2
        shat = M(s)
        t = A(shat)
        tt = fnp.vdot(t, t)
        # t = 0 only when s = 0 (converged): avoid 0/0 in the branch not taken
        omega = fnp.where(tt == 0, 0, fnp.vdot(t, s) / fnp.where(tt == 0, 1, tt))
        x = fnp.where(done, x + alpha * phat, x + alpha * phat + omega * shat)
        r = fnp.where(done, s, s - omega * t)
        k = fnp.where((omega == 0) | (alpha == 0), -11, k + 1)
        k = fnp.where(rho_new == 0, -10, k)
        return x, r, rhat, alpha, omega, rho_new, p, q, k

    state = (x0, r0, r0, one, one, one, r0, r0, 0)
    return lax.while_loop(cond, body, state)[0]


def _safe_normalize(v: Any, threshold: Any) -> tuple[Any, Any]:
    """``v / |v|`` and ``|v|``, both zero where ``|v| <= threshold``."""
    norm = fnp.sqrt(_vdot_real(v, v))
    use = norm > threshold
    unit = fnp.where(use, v / fnp.where(use, norm, 1).astype(v.dtype), 0)
    return unit, fnp.where(use, norm, 0)


def _givens(a: Any, b: Any) -> tuple[Any, Any]:
    """``(c, s)`` with ``[[c, s], [-conj(s), c]] @ [a, b] = [r, 0]``, ``c`` real."""
    abs_a, abs_b = fnp.abs(a), fnp.abs(b)
    r = fnp.sqrt(abs_a**2 + abs_b**2)
    safe_r = fnp.where(r == 0, 1, r)
    phase = fnp.where(abs_a == 0, 1, a / fnp.where(abs_a == 0, 1, abs_a).astype(a.dtype))
    c = fnp.where(r == 0, 1, abs_a / safe_r)
    s = fnp.where(r == 0, 0, phase * fnp.conj(b) / safe_r.astype(a.dtype))
    return c.astype(a.dtype), s.astype(a.dtype)


def _rotate(v: Any, i: Any, c: Any, s: Any) -> Any:
    """Apply the rotation ``(c, s)`` to entries ``i`` and ``i + 1`` of ``v``."""
    x, y = v[i], v[i + 1]
    return v.at[i].set(c * x + s * y).at[i + 1].set(-fnp.conj(s) * x + c * y)


def _gmres_cycle(A, M, b, x, restart, ptol, early_exit):
    """One restart: ``restart`` Arnoldi steps on ``M A`` from the preconditioned residual,
    with the least-squares problem kept triangular by Givens rotations; returns the
    improved ``x``."""
    n = b.shape[0]
    eps = np.finfo(np.dtype(b.dtype).type(0).real.dtype).eps
    residual = M(b - A(x))
    unit, beta = _safe_normalize(residual, eps)
    basis = fnp.zeros((restart + 1, n), b.dtype).at[0].set(unit)
    # R starts as the identity so that unused columns give zero coefficients
    r_mat = fnp.eye(restart, dtype=b.dtype)
    g = fnp.zeros(restart + 1, b.dtype).at[0].set(beta.astype(b.dtype))
    cs = fnp.zeros(restart, b.dtype)
    sn = fnp.zeros(restart, b.dtype)

    def cond(state):
        j, _basis, _, g, _, _, breakdown = state
        going = (j < restart) & ~breakdown
        if early_exit:
            going = going & (fnp.abs(g[j]) > ptol)
        return going

    def body(state):
        j, basis, r_mat, g, cs, sn, _ = state
        w = M(A(basis[j]))
        w_norm = fnp.sqrt(_vdot_real(w, w))
        h = fnp.zeros(restart + 1, b.dtype)
        # classical Gram-Schmidt, twice (rows > j of the basis are still zero)
        for _ in range(2):
            overlap = fnp.conj(basis) @ w
            w = w - basis.T @ overlap
            h = h + overlap
        unit, norm = _safe_normalize(w, eps * w_norm)
        basis = basis.at[j + 1].set(unit)
        h = h.at[j + 1].set(norm.astype(b.dtype))

        def apply_previous(i, h):
            return _rotate(h, i, cs[i], sn[i])

        h = lax.fori_loop(0, j, apply_previous, h)
        c, s = _givens(h[j], h[j + 1])
        h = _rotate(h, j, c, s)
        g = _rotate(g, j, c, s)
        r_mat = r_mat.at[:, j].set(h[:restart])
        return j + 1, basis, r_mat, g, cs.at[j].set(c), sn.at[j].set(s), norm == 0

    state = (0, basis, r_mat, g, cs, sn, fnp.asarray(False))
    _, basis, r_mat, g, *_ = lax.while_loop(cond, body, state)
    # a column whose Krylov vector vanished (breakdown) has a zero pivot and a zero
    # right-hand side: give it coefficient 0
    diagonal = fnp.diagonal(r_mat)
    r_mat = r_mat + fnp.diag(fnp.where(diagonal == 0, 1, 0).astype(b.dtype))
    y = solve_triangular(r_mat, g[:restart])
    return x + basis[:restart].T @ y


def _gmres_solve(A, b, x0, *, tol, atol, restart, maxiter, M, early_exit):
    # tolerances from this right-hand side (the derivative solves have their own)
    b_norm = fnp.sqrt(_vdot_real(b, b))
    atol = fnp.maximum(tol * b_norm, atol)
    mb = M(b)
    # the in-cycle target for the preconditioned residual, as JAX
    safe_norm = fnp.where(b_norm == 0, 1, b_norm)
    ptol = fnp.sqrt(_vdot_real(mb, mb)) * fnp.minimum(1.0, atol / safe_norm)

    def residual_norm(x):
        r = M(b - A(x))
        return fnp.sqrt(_vdot_real(r, r))

    def cond(state):
        _, k, norm = state
        return (k < maxiter) & (norm > atol)

    def body(state):
        x, k, _ = state
        x = _gmres_cycle(A, M, b, x, restart, ptol, early_exit)
        return x, k + 1, residual_norm(x)

    return lax.while_loop(cond, body, (x0, 0, residual_norm(x0)))[0]


def _solve(packing: _Packing, A: Callable, b_vec: Any, x0_vec: Any, algorithm: Callable,
           symmetric: bool) -> Any:  # fmt: skip
    """Run ``algorithm`` as one implicitly differentiated ``linear_solve``."""

    def solve(matvec, rhs):
        (v,) = rhs
        return [algorithm(lambda u: matvec([u])[0], v, x0_vec)]

    def transpose_solve(vecmat, rhs):
        (v,) = rhs
        return [algorithm(lambda u: vecmat([u])[0], v, fnp.zeros_like(v))]

    (x,) = linear_solve(lambda v: [A(v[0])], [b_vec], solve, transpose_solve, symmetric)
    return packing.unpack(x)


def cg(A: Any, b: Any, x0: Any = None, *, tol: float = 1e-5, atol: float = 0.0,
       maxiter: int | None = None, M: Any = None) -> tuple[Any, None]:  # fmt: skip
    r"""Solve ``A x = b`` by (preconditioned) conjugate gradients, ``A`` Hermitian
    positive definite.

    Each step minimises the ``A``-norm of the error over the Krylov space
    :math:`x_0 + \mathrm{span}\{r_0, A r_0, \dots\}`; the iteration stops when
    :math:`\lVert r \rVert \le \max(\mathrm{tol} \lVert b \rVert, \mathrm{atol})` or
    after ``maxiter`` steps. Derivatives are implicit: another CG solve.

    Args:
        A: the operator: a function ``x -> A x`` (on ``b``'s pytree structure), a square
            matrix, or an object with ``@``.
        b: the right-hand side, an array or a pytree of arrays.
        x0: the initial guess, of ``b``'s structure (default zeros).
        tol: the relative tolerance.
        atol: the absolute tolerance.
        maxiter: the most iterations (default ``10 * size(b)``, as SciPy).
        M: a preconditioner approximating ``A^{-1}`` (same forms as ``A``).

    Returns:
        ``(x, None)``: the solution, of ``b``'s structure, and JAX's placeholder for
        convergence information.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy.sparse.linalg import cg
        >>> a = fnp.asarray([[4.0, 1.0], [1.0, 3.0]])
        >>> x, info = cg(a, fnp.asarray([1.0, 2.0]), tol=1e-10)
        >>> x.round(6).tolist()  # numpy.linalg.solve: [1/11, 7/11]
        [0.090909, 0.636364]
    """
    packing, A, M, b_vec, x0_vec, maxiter = _setup("cg", A, b, x0, M, maxiter)
    algorithm = functools.partial(_cg_solve, tol=tol, atol=atol, maxiter=maxiter, M=M)
    # real symmetric: the transposed solve is the solve itself
    symmetric = b_vec.dtype.kind != "c"
    x = _solve(packing, A, b_vec, x0_vec, algorithm, symmetric)
    return x, None


def bicgstab(A: Any, b: Any, x0: Any = None, *, tol: float = 1e-5, atol: float = 0.0,
             maxiter: int | None = None, M: Any = None) -> tuple[Any, None]:  # fmt: skip
    r"""Solve ``A x = b`` for a general (non-symmetric) ``A`` by BiCGSTAB (van der Vorst).

    Stops when :math:`\lVert r \rVert \le \max(\mathrm{tol} \lVert b \rVert,
    \mathrm{atol})`, after ``maxiter`` steps, or on a breakdown. Derivatives are
    implicit: a BiCGSTAB solve with ``A^T``.

    Args:
        A: the operator: a function ``x -> A x`` (on ``b``'s pytree structure), a square
            matrix, or an object with ``@``.
        b: the right-hand side, an array or a pytree of arrays.
        x0: the initial guess, of ``b``'s structure (default zeros).
        tol: the relative tolerance.
        atol: the absolute tolerance.
        maxiter: the most iterations (default ``10 * size(b)``).
        M: a preconditioner approximating ``A^{-1}`` (same forms as ``A``).

    Returns:
        ``(x, None)``: the solution and JAX's placeholder for convergence information.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy.sparse.linalg import bicgstab
        >>> a = fnp.asarray([[3.0, 1.0], [-1.0, 2.0]])
        >>> x, _ = bicgstab(lambda v: a @ v, fnp.asarray([5.0, 3.0]), tol=1e-10)
        >>> x.round(6).tolist()
        [1.0, 2.0]
    """
    packing, A, M, b_vec, x0_vec, maxiter = _setup("bicgstab", A, b, x0, M, maxiter)
    algorithm = functools.partial(_bicgstab_solve, tol=tol, atol=atol, maxiter=maxiter, M=M)
    x = _solve(packing, A, b_vec, x0_vec, algorithm, False)
    return x, None


def gmres(A: Any, b: Any, x0: Any = None, *, tol: float = 1e-5, atol: float = 0.0,
          restart: int = 20, maxiter: int | None = None, M: Any = None,
          solve_method: str = "batched") -> tuple[Any, Any]:  # fmt: skip
    r"""Solve ``A x = b`` for a general ``A`` by restarted GMRES (left-preconditioned).

    Each cycle builds an orthonormal basis of the Krylov space of ``M A`` of dimension
    ``restart`` (Arnoldi) and takes the ``x`` in it minimising the preconditioned
    residual :math:`\lVert M (b - A x) \rVert`; cycles repeat from the new ``x`` until
    that residual is at most :math:`\max(\mathrm{tol} \lVert b \rVert, \mathrm{atol})`
    or ``maxiter`` cycles have run. Derivatives are implicit: a GMRES solve with ``A^T``.

    Args:
        A: the operator: a function ``x -> A x`` (on ``b``'s pytree structure), a square
            matrix, or an object with ``@``.
        b: the right-hand side, an array or a pytree of arrays.
        x0: the initial guess, of ``b``'s structure (default zeros).
        tol: the relative tolerance.
        atol: the absolute tolerance.
        restart: the Krylov dimension of one cycle (at most ``size(b)``).
        maxiter: the most cycles (default ``10 * size(b)``).
        M: a preconditioner approximating ``A^{-1}`` (same forms as ``A``).
        solve_method: ``"incremental"`` ends a cycle early once the residual (tracked by
            the Givens rotations that keep the least-squares problem triangular) is small
            enough; ``"batched"`` (default) always builds the whole basis, which has fewer
            loop tests (JAX's GPU-friendly choice). Both give the same solution.

    Returns:
        ``(x, info)``: the solution, and ``0``, or ``-1`` if it contains NaN (as JAX).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy.sparse.linalg import gmres
        >>> a = fnp.asarray([[3.0, 1.0], [-1.0, 2.0]])
        >>> x, info = gmres(a, fnp.asarray([5.0, 3.0]), tol=1e-10)
        >>> x.round(6).tolist(), int(info)
        ([1.0, 2.0], 0)
    """
    if solve_method not in ("incremental", "batched"):
        raise ValueError(
            f"{_NAME}.gmres: solve_method must be 'incremental' or 'batched', got {solve_method!r}"
        )
    packing, A, M, b_vec, x0_vec, maxiter = _setup("gmres", A, b, x0, M, maxiter)
    restart = max(1, min(operator.index(restart), packing.size))
    algorithm = functools.partial(
        _gmres_solve, tol=tol, atol=atol, restart=restart, maxiter=maxiter, M=M,
        early_exit=solve_method == "incremental",
    )  # fmt: skip
    x = _solve(packing, A, b_vec, x0_vec, algorithm, False)
    norm = sum(fnp.sum(fnp.abs(leaf)) for leaf in tree_flatten(x)[0])
    info = fnp.where(fnp.isnan(norm), -1, 0)
    return x, info
