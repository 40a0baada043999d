"""Structured products, updates and solves of ``funcgrad.lax.linalg``: ``symmetric_product``,
``cholesky_update``, ``tridiagonal_solve``, the ``qdwh`` polar decomposition, and JAX's
algorithm-choice enums (``EigImplementation``, ``EighImplementation``, ``SvdAlgorithm``).

All are compositions of ``funcgrad.numpy``/``funcgrad.lax`` operations (no new
primitives), so ``grad``, ``vmap`` and ``jit`` go through them.
"""

from __future__ import annotations

import enum

import numpy as np

from funcgrad._src.core import is_array_like

__all__ = [
    "EigImplementation", "EighImplementation", "SvdAlgorithm", "cholesky_update", "qdwh",
    "symmetric_product", "tridiagonal_solve",
]  # fmt: skip


def _fnp():
    import funcgrad.numpy as fnp

    return fnp


def _as_array(x):
    return x if is_array_like(x) else _fnp().asarray(x)


class EigImplementation(enum.Enum):
    """JAX's ``eig`` backends (GPU cuSOLVER, MAGMA, CPU LAPACK); accepted for compatibility,
    funcgrad computes with its backend's own routine."""

    CUSOLVER = "cusolver"
    MAGMA = "magma"
    LAPACK = "lapack"


class EighImplementation(enum.Enum):
    """JAX's ``eigh`` algorithms (QR, Jacobi, QDWH spectral divide and conquer); accepted
    for compatibility, funcgrad computes with its backend's own routine."""

    QR = "qr"
    JACOBI = "jacobi"
    QDWH = "qdwh"


class SvdAlgorithm(enum.Enum):
    """JAX's SVD algorithms; accepted for compatibility, funcgrad computes with its
    backend's own routine."""

    DEFAULT = "default"
    QR = "QR"
    JACOBI = "Jacobi"
    POLAR = "polar"
    DIVIDE_AND_CONQUER = "divide_and_conquer"


def _mT(x):
    return _fnp().swapaxes(x, -1, -2)


def symmetric_product(a_matrix, c_matrix, *, alpha: float = 1.0, beta: float = 0.0,
                      symmetrize_output: bool = False):  # fmt: skip
    r"""``alpha * a @ a^T + beta * c`` for ``a`` of shape ``(..., m, n)`` and symmetric ``c``
    of shape ``(..., m, m)``, as ``jax.lax.linalg.symmetric_product``.

    .. math:: \alpha \, A A^T + \beta \, C

    The whole matrix is computed (JAX guarantees only the lower triangle on some
    platforms); with ``symmetrize_output`` the upper triangle is replaced by the transpose
    of the lower one, so the result is exactly symmetric.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> a = fnp.asarray([[1.0, 2.0], [3.0, 4.0]])
        >>> lax.linalg.symmetric_product(a, fnp.eye(2), alpha=1.0, beta=2.0).tolist()
        [[7.0, 11.0], [11.0, 27.0]]
    """
    fnp = _fnp()
    a, c = _as_array(a_matrix), _as_array(c_matrix)
    if a.ndim < 2 or c.ndim < 2 or c.shape[-1] != c.shape[-2] or c.shape[-1] != a.shape[-2]:
        raise ValueError(
            f"funcgrad.lax.linalg.symmetric_product: needs a of shape (..., m, n) and c of "
            f"shape (..., m, m), got {a.shape} and {c.shape}"
        )
    out = alpha * fnp.matmul(a, _mT(a)) + beta * c
    if symmetrize_output:
        lower = fnp.tril(out)
        out = lower + _mT(fnp.tril(out, -1))
    return out


def cholesky_update(r_matrix, w_vector):
    r"""The upper Cholesky factor of :math:`A + w w^T`, given the upper factor ``R`` of
    :math:`A = R^T R` and a vector ``w``, in :math:`O(n^2)` by Givens rotations, as
    ``jax.lax.linalg.cholesky_update``.

    For ``k = 0..n-1`` the rotation with ``c = R_kk / r``, ``s = w_k / r``, ``r = hypot(R_kk,
    w_k)`` maps row ``k`` to ``c R_k + s w`` and ``w`` to ``c w - s R_k``, zeroing ``w_k``.
    Real floating dtypes; leading batch axes are allowed. Differentiable (a composition).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> r = fnp.asarray([[2.0, 1.0], [0.0, 1.0]])   # A = R^T R = [[4, 2], [2, 2]]
        >>> lax.linalg.cholesky_update(r, fnp.asarray([0.0, 1.0])).round(6).tolist()
        [[2.0, 1.0], [0.0, 1.414214]]
    """
    fnp = _fnp()
    r, w = _as_array(r_matrix), _as_array(w_vector)
    if r.ndim < 2 or r.shape[-1] != r.shape[-2] or w.shape != r.shape[:-1]:
        raise ValueError(
            f"funcgrad.lax.linalg.cholesky_update: needs a square r_matrix (..., n, n) and a "
            f"w_vector (..., n), got shapes {r.shape} and {w.shape}"
        )
    if r.dtype.kind != "f" or w.dtype != r.dtype:
        raise TypeError(
            f"funcgrad.lax.linalg.cholesky_update: needs real floating operands of one dtype, "
            f"got {r.dtype} and {w.dtype}"
        )
    n = r.shape[-1]
    for k in range(n):
        x, y = r[..., k, k], w[..., k]
        rad = fnp.sqrt(x * x + y * y)
        # y == 0 (nothing to rotate in): the identity rotation, without dividing by 0
        safe = fnp.where(y == 0, 1.0, rad)
        c = fnp.where(y == 0, 1.0, x / safe)[..., None]
        s = fnp.where(y == 0, 0.0, y / safe)[..., None]
        row = r[..., k, :]
        r = r.at[..., k, :].set(c * row + s * w)
        w = c * w - s * row
    return r


def tridiagonal_solve(dl, d, du, b, *, perturb_singular: bool = False):
    r"""Solve :math:`A X = B` for tridiagonal ``A`` given by its three diagonals, as
    ``jax.lax.linalg.tridiagonal_solve``: ``dl[i] = A[i, i-1]`` (``dl[0]`` is ignored),
    ``d[i] = A[i, i]``, ``du[i] = A[i, i+1]`` (``du[m-1]`` is ignored), each ``(..., m)``;
    ``b`` is ``(..., m, k)``.

    The Thomas algorithm (elimination without pivoting, as JAX's portable implementation)
    as two ``lax.scan`` passes, :math:`O(m)`; it suits diagonally dominant or otherwise
    well-conditioned systems (JAX's CPU path pivots). Differentiable with respect to all
    four operands through the scans; batches over leading axes and under ``vmap``.
    ``perturb_singular=True`` (LAPACK's tiny-pivot perturbation) is not supported, as in
    JAX off CPU/GPU.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> dl, d, du = fnp.asarray([0.0, 1, 1]), fnp.asarray([4.0, 4, 4]), fnp.asarray([1.0, 1, 0])
        >>> lax.linalg.tridiagonal_solve(dl, d, du, fnp.asarray([[5.0], [6.0], [5.0]])).tolist()
        [[1.0], [1.0], [1.0]]
    """
    from funcgrad._src.control_flow import scan

    fnp = _fnp()
    if perturb_singular:
        raise NotImplementedError(
            "funcgrad.lax.linalg.tridiagonal_solve: perturb_singular=True is not supported; "
            "regularise the system (e.g. add a small multiple of the identity to d)"
        )
    dl, d, du, b = (_as_array(x) for x in (dl, d, du, b))
    if not (dl.shape == d.shape == du.shape) or d.ndim < 1 or b.shape[:-1] != d.shape:
        raise ValueError(
            f"funcgrad.lax.linalg.tridiagonal_solve: dl, d and du must share a shape (..., m) "
            f"and b be (..., m, k), got {dl.shape}, {d.shape}, {du.shape} and {b.shape}"
        )
    if len({x.dtype for x in (dl, d, du, b)}) != 1 or d.dtype.kind not in "fc":
        raise TypeError(
            f"funcgrad.lax.linalg.tridiagonal_solve: operands must share one floating or "
            f"complex dtype, got {dl.dtype}, {d.dtype}, {du.dtype} and {b.dtype}"
        )
    if d.shape[-1] == 0:
        return b
    # scan over the row axis (moved to the front); batch axes ride along
    lo, mid, up = (fnp.moveaxis(x, -1, 0) for x in (dl, d, du))
    rhs = fnp.moveaxis(b, -2, 0)

    def forward(carry, row):
        cp, dp = carry
        a_i, b_i, c_i, r_i = row
        denom = b_i - a_i * cp
        cp_i, dp_i = c_i / denom, (r_i - a_i[..., None] * dp) / denom[..., None]
        return (cp_i, dp_i), (cp_i, dp_i)

    cp0, dp0 = up[0] / mid[0], rhs[0] / mid[0][..., None]
    (_, last), (cps, dps) = scan(forward, (cp0, dp0), (lo[1:], mid[1:], up[1:], rhs[1:]))
    m = d.shape[-1]
    cps = fnp.concatenate([cp0[None], cps], axis=0)[: m - 1]  # c'_0 .. c'_{m-2}
    dps = fnp.concatenate([dp0[None], dps], axis=0)[: m - 1]  # d'_0 .. d'_{m-2}; last is d'_{m-1}

    def backward(x_next, row):
        cp_i, dp_i = row
        x_i = dp_i - cp_i[..., None] * x_next
        return x_i, x_i

    _, xs = scan(backward, last, (cps, dps), reverse=True)
    return fnp.moveaxis(fnp.concatenate([xs, last[None]], axis=0), 0, -2)


def _qdwh_coefficients(lower: float, steps: int, eps: float) -> list[tuple[float, float, float]]:
    """The dynamically weighted Halley coefficients ``(a, b, c)`` of each step, from the
    lower bound ``l`` on the smallest singular value of the scaled matrix (Nakatsukasa,
    Bai and Gygi 2010, eq. 3.3-3.5), while ``l`` is measurably below 1 (at most ``steps``).
    They depend only on ``l``, so they are computed here, in Python, once."""
    out, l_k = [], lower
    while l_k + 5.0 * eps < 1.0 and len(out) < steps:
        l2 = l_k * l_k
        dd = (4.0 * (1.0 - l2) / (l2 * l2)) ** (1.0 / 3.0)
        sqd = np.sqrt(1.0 + dd)
        a = sqd + 0.5 * np.sqrt(max(8.0 - 4.0 * dd + 8.0 * (2.0 - l2) / (l2 * sqd), 0.0))
        b = (a - 1.0) ** 2 / 4.0
        c = a + b - 1.0
        out.append((float(a), float(b), float(c)))
        l_k = min(l_k * (a + b * l2) / (1.0 + c * l2), 1.0)
    return out


def qdwh(x, *, is_hermitian: bool = False, max_iterations: int | None = None,
         eps: float | None = None, dynamic_shape: tuple[int, int] | None = None):  # fmt: skip
    r"""Polar decomposition ``x = u @ h`` (``u`` with orthonormal columns, ``h`` Hermitian
    positive semi-definite) by the QR-based dynamically weighted Halley iteration, as
    ``jax.lax.linalg.qdwh``. Returns ``(u, h, num_iters, is_converged)``.

    ``x`` (``(..., m, n)``, ``m >= n``, full rank) is scaled by its Frobenius norm, then
    each step is :math:`X \leftarrow \frac{b}{c} X + (a - \frac{b}{c}) X (I + c X^H X)^{-1}`
    (through a QR factorisation of :math:`[\sqrt{c} X; I]` while ``c > 100``, a Cholesky
    factorisation after), with the weights ``(a, b, c)`` of Nakatsukasa, Bai and Gygi
    (2010) from a lower bound ``eps`` on the smallest singular value. It stops when
    :math:`\|X_k - X_{k-1}\|_F < \|X_k\|_F (4 \epsilon)^{1/3}` or after ``max_iterations``
    (default 10) steps. Finally ``h = (u^H x + (u^H x)^H) / 2``.

    The steps are unrolled with each matrix frozen once it has converged, so the result is
    differentiable (also in reverse mode), batched over leading axes and under ``vmap``,
    and ``num_iters`` counts the steps until convergence; it may differ from JAX's count.
    ``is_hermitian`` is unused (as in JAX); ``dynamic_shape`` (padding) is not supported.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> u, h, iters, ok = lax.linalg.qdwh(fnp.asarray([[2.0, 0.0], [0.0, -3.0]]))
        >>> u.round(6).tolist(), h.round(6).tolist(), bool(ok)
        ([[1.0, 0.0], [0.0, -1.0]], [[2.0, 0.0], [0.0, 3.0]], True)
    """
    fnp = _fnp()
    del is_hermitian
    if dynamic_shape is not None:
        raise NotImplementedError(
            "funcgrad.lax.linalg.qdwh: dynamic_shape (a padded matrix) is not supported; "
            "pass the unpadded matrix"
        )
    x = _as_array(x)
    if x.ndim < 2 or x.shape[-2] < x.shape[-1]:
        raise ValueError(
            f"funcgrad.lax.linalg.qdwh: needs matrices (..., m, n) with m >= n, got shape "
            f"{x.shape}; for m < n decompose the conjugate transpose"
        )
    if x.dtype.kind not in "fc":
        x = x.astype(np.float64)
    m, n = x.shape[-2:]
    finfo = np.finfo(x.dtype)
    eps = float(finfo.eps) if eps is None else float(eps)
    steps = 10 if max_iterations is None else int(max_iterations)
    tol = (4.0 * eps) ** (1.0 / 3.0)
    norm = fnp.sqrt(fnp.sum(fnp.real(x * fnp.conj(x)), axis=(-2, -1)))[..., None, None]
    u = x / fnp.where(norm == 0, 1.0, norm)
    eye = fnp.eye(n, dtype=x.dtype)
    batch = x.shape[:-2]
    done = fnp.zeros(batch, dtype=bool)
    iters = fnp.zeros(batch, dtype=np.int32)
    weighted = _qdwh_coefficients(eps, steps, eps)
    # The weighted steps always run (the first ones barely move the large singular values,
    # so a convergence test there would stop too early); then Halley steps (3, 1, 3) until
    # the iterate stops changing, each matrix frozen once it has.
    for k, (a, b, c) in enumerate(weighted + [(3.0, 1.0, 3.0)] * (steps - len(weighted))):
        if c > 100:  # QR form: stable while the weights are large
            stacked = fnp.concatenate([np.sqrt(c) * u, fnp.broadcast_to(eye, batch + (n, n))], -2)
            q, _ = fnp.linalg.qr(stacked)
            q1, q2 = q[..., :m, :], q[..., m:, :]
            new = (b / c) * u + (a - b / c) / np.sqrt(c) * fnp.matmul(q1, fnp.conj(_mT(q2)))
        else:  # the solve form, cheaper and stable once c is small
            z = eye + c * fnp.matmul(fnp.conj(_mT(u)), u)
            # u z^{-1} = (z^{-1} u^H)^H, z Hermitian
            new = (b / c) * u + (a - b / c) * fnp.conj(_mT(fnp.linalg.solve(z, fnp.conj(_mT(u)))))
        iters = iters + (~done).astype(np.int32)
        if k >= len(weighted):
            change = fnp.sqrt(fnp.sum(fnp.abs(new - u) ** 2, axis=(-2, -1)))
            size = fnp.sqrt(fnp.sum(fnp.abs(new) ** 2, axis=(-2, -1)))
            u = fnp.where(done[..., None, None], u, new)
            done = done | (change < tol * size)
        else:
            u = new
    h = fnp.matmul(fnp.conj(_mT(u)), x)
    h = (h + fnp.conj(_mT(h))) / 2
    return u, h, iters, done
