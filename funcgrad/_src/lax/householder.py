"""Householder reflectors in LAPACK's packed form, for ``funcgrad.lax.linalg``: building
them (``hessenberg`` as LAPACK's gehrd, ``tridiagonal`` as sytrd/hetrd) and applying them
(``householder_product`` as orgqr/ungqr, ``ormqr`` as ormqr/unmqr).

A reflector is ``H = I - tau v v^H`` with ``v[i] = 1`` at its pivot, zeros on one side and
the stored entries on the other, exactly as LAPACK's ``larfg`` makes them (``beta =
-sign(Re alpha) * ||(alpha, x)||``), so results match SciPy's LAPACK wrappers. Everything
is a composition of ``funcgrad.numpy`` operations over the leading batch axes (one
vectorised step per column, a Python loop unrolled under ``jit``), so it batches under
``vmap``, compiles under ``jit``, runs on either backend and is differentiable (JAX gives
``hessenberg`` and ``tridiagonal`` no derivative; here they come with the compositions).
"""

from __future__ import annotations

import numpy as np

from funcgrad._src.core import is_array_like

__all__ = ["hessenberg", "householder_product", "ormqr", "tridiagonal"]


def _fnp():
    import funcgrad.numpy as fnp

    return fnp


def _inexact(x, fname: str):
    fnp = _fnp()
    x = x if is_array_like(x) else fnp.asarray(x)
    if x.dtype.kind not in "fc":
        raise TypeError(
            f"funcgrad.lax.linalg.{fname}: needs a floating or complex array, got dtype "
            f"{x.dtype}; convert it first (x.astype(float))"
        )
    return x


def _square(x, fname: str):
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(
            f"funcgrad.lax.linalg.{fname}: needs square matrices (..., n, n), got shape {x.shape}"
        )


def _larfg(alpha, x):
    """LAPACK's ``larfg`` over a batch: ``(beta, tau, v_tail)`` with ``H^H (alpha, x) =
    (beta, 0)``, ``H = I - tau v v^H``, ``v = (1, v_tail)``; ``tau = 0`` (and ``H = I``)
    when ``x`` is zero and ``alpha`` real."""
    fnp = _fnp()
    complex_ = alpha.dtype.kind == "c"
    xnorm2 = fnp.sum(fnp.real(x * fnp.conj(x)), axis=-1)
    re = fnp.real(alpha)
    identity = (xnorm2 == 0) & (fnp.imag(alpha) == 0) if complex_ else xnorm2 == 0
    norm = fnp.sqrt(fnp.real(alpha * fnp.conj(alpha)) + xnorm2)
    beta = -fnp.copysign(norm, re)
    safe_beta = fnp.where(identity, 1.0, beta)
    tau = fnp.where(identity, 0.0, (safe_beta - alpha) / safe_beta)
    scale = fnp.where(identity, 1.0, 1.0 / fnp.where(identity, 1.0, alpha - safe_beta))
    beta = fnp.where(identity, re if not complex_ else fnp.real(alpha), beta)
    return beta, tau.astype(alpha.dtype), x * scale[..., None]


def _reflector(v_tail, pivot: int, n: int, before: bool):
    """The full-length ``v``: 1 at ``pivot``, ``v_tail`` after it (``before=False``) or
    before it (``before=True``), zeros elsewhere."""
    fnp = _fnp()
    batch, dt = v_tail.shape[:-1], v_tail.dtype
    one = fnp.ones(batch + (1,), dt)
    if before:
        parts = [v_tail, one, fnp.zeros(batch + (n - pivot - 1,), dt)]
    else:
        parts = [fnp.zeros(batch + (pivot,), dt), one, v_tail]
    return fnp.concatenate(parts, axis=-1)


def _apply_left(a, v, tau, cols=None):
    """``(I - tau v v^H) @ a`` (only on the columns where ``cols`` is true, if given)."""
    fnp = _fnp()
    vh_a = fnp.sum(fnp.conj(v)[..., :, None] * a, axis=-2)
    if cols is not None:
        vh_a = fnp.where(cols, vh_a, 0)
    return a - tau[..., None, None] * v[..., :, None] * vh_a[..., None, :]


def _apply_right(a, v, tau):
    """``a @ (I - tau v v^H)``."""
    fnp = _fnp()
    a_v = fnp.sum(a * v[..., None, :], axis=-1)
    return a - tau[..., None, None] * a_v[..., :, None] * fnp.conj(v)[..., None, :]


def hessenberg(a):
    """Reduce each square matrix of ``a`` to upper Hessenberg form ``H = Q^H a Q``, in
    LAPACK's packed form (``gehrd``), as ``jax.lax.linalg.hessenberg``.

    Returns ``(packed, taus)``: the upper triangle and first subdiagonal of ``packed`` are
    ``H``; below the subdiagonal, column ``i`` holds reflector ``i``'s vector ``v`` (its
    entry ``i + 1`` is an implicit 1), and ``taus`` (shape ``(..., n - 1)``) the scale
    factors, so ``Q = householder_product`` of those columns shifted down by one row.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> packed, taus = lax.linalg.hessenberg(fnp.asarray([[1.0, 2, 3], [4, 5, 6], [7, 8, 10]]))
        >>> h = fnp.triu(packed, -1)
        >>> round(float(h[0, 0]), 6), round(float(h[1, 0]), 6), taus.shape
        (1.0, -8.062258, (2,))
    """
    fnp = _fnp()
    a = _inexact(a, "hessenberg")
    _square(a, "hessenberg")
    n = a.shape[-1]
    taus, cols = [], fnp.arange(n)
    # n - 1 reflectors: the last has no entries to annihilate, but for complex input it
    # still makes the last subdiagonal entry real (for real input its tau is 0)
    for i in range(n - 1):
        beta, tau, v_tail = _larfg(a[..., i + 1, i], a[..., i + 2 :, i])
        v = _reflector(v_tail, i + 1, n, before=False)
        # A := H^H A H; the left product spares columns <= i, which hold earlier reflectors
        a = _apply_right(a, v, tau)
        a = _apply_left(a, v, fnp.conj(tau), cols=cols > i)
        a = a.at[..., i + 1, i].set(beta.astype(a.dtype))
        a = a.at[..., i + 2 :, i].set(v_tail)
        taus.append(tau)
    if not taus:
        return a, fnp.zeros(a.shape[:-2] + (0,), a.dtype)
    return a, fnp.stack(taus, axis=-1)


def tridiagonal(a, *, lower: bool = True):
    """Reduce each Hermitian (real symmetric) matrix of ``a`` to real tridiagonal form
    ``T = Q^H a Q``, reading only the ``lower`` (or upper) triangle, in LAPACK's packed
    form (``sytrd``/``hetrd``), as ``jax.lax.linalg.tridiagonal``.

    Returns ``(packed, d, e, taus)``: ``d`` (shape ``(..., n)``) and ``e`` (``(..., n - 1)``)
    are T's diagonal and off-diagonal (real), ``taus`` the reflectors' scale factors.
    With ``lower=True`` the reflector vectors are stored below the first subdiagonal of
    ``packed`` (vector ``i`` in column ``i``, its implicit 1 at row ``i + 1``) and the
    upper triangle is ``a``'s, untouched; with ``lower=False`` they are stored above the
    first superdiagonal (vector ``i`` in column ``i + 1``, its 1 at row ``i``) and the
    lower triangle is untouched.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> a = fnp.asarray([[4.0, 1, 2], [1, 3, 0], [2, 0, 1]])
        >>> packed, d, e, taus = lax.linalg.tridiagonal(a)
        >>> [round(float(v), 6) for v in e]
        [-2.236068, 0.8]
    """
    fnp = _fnp()
    a = _inexact(a, "tridiagonal")
    _square(a, "tridiagonal")
    n = a.shape[-1]
    real_dt = np.dtype(a.dtype.char.lower()) if a.dtype.kind == "c" else a.dtype
    tri = fnp.tril if lower else fnp.triu
    diag = fnp.real(fnp.diagonal(a, axis1=-2, axis2=-1))
    strict = tri(a, -1 if lower else 1)
    # the full Hermitian matrix the chosen triangle stands for (its diagonal taken real)
    w = (
        strict
        + fnp.conj(fnp.swapaxes(strict, -1, -2))
        + diag[..., None] * fnp.eye(n, dtype=a.dtype)
    )
    packed, es, taus, tails = a, [None] * (n - 1), [None] * (n - 1), [None] * (n - 1)
    order = range(n - 1) if lower else range(n - 2, -1, -1)
    for i in order:
        if lower:  # annihilate w[i+2:, i]; v = (0.., 1 at i+1, tail)
            beta, tau, tail = _larfg(w[..., i + 1, i], w[..., i + 2 :, i])
            v = _reflector(tail, i + 1, n, before=False)
        else:  # annihilate w[:i, i+1]; v = (tail, 1 at i, 0..)
            beta, tau, tail = _larfg(w[..., i, i + 1], w[..., :i, i + 1])
            v = _reflector(tail, i, n, before=True)
        w = _apply_left(_apply_right(w, v, tau), v, fnp.conj(tau))  # W := H^H W H
        es[i], taus[i], tails[i] = beta, tau, tail
    d = fnp.real(fnp.diagonal(w, axis1=-2, axis2=-1)).astype(real_dt)
    batch = a.shape[:-2]
    e = fnp.stack(es, axis=-1).astype(real_dt) if n > 1 else fnp.zeros(batch + (0,), real_dt)
    taus = fnp.stack(taus, axis=-1) if n > 1 else fnp.zeros(batch + (0,), a.dtype)
    rows, cols = np.indices((n, n))
    keep = (rows < cols) if lower else (rows > cols)  # the triangle LAPACK never touches
    packed = fnp.where(keep, a, 0) + fnp.eye(n, dtype=a.dtype) * d[..., None].astype(a.dtype)
    for i in range(n - 1):
        if lower:
            packed = packed.at[..., i + 1, i].set(e[..., i].astype(a.dtype))
            packed = packed.at[..., i + 2 :, i].set(tails[i])
        else:
            packed = packed.at[..., i, i + 1].set(e[..., i].astype(a.dtype))
            packed = packed.at[..., :i, i + 1].set(tails[i])
    return packed, d, e, taus


def _reflectors(a, taus, fname: str):
    fnp = _fnp()
    a = _inexact(a, fname)
    taus = taus if is_array_like(taus) else fnp.asarray(taus)
    if a.ndim < 2 or taus.ndim < 1:
        raise ValueError(
            f"funcgrad.lax.linalg.{fname}: a must be (..., m, n) and taus (..., k), got shapes "
            f"{a.shape} and {taus.shape}"
        )
    m, n = a.shape[-2:]
    k = taus.shape[-1]
    if k > min(m, n) or taus.shape[:-1] != a.shape[:-2]:
        raise ValueError(
            f"funcgrad.lax.linalg.{fname}: taus of shape {taus.shape} must be (..., k) with "
            f"k <= min(m, n) and a's batch shape, for a of shape {a.shape}"
        )
    return a, taus.astype(a.dtype), m, k


def householder_product(a, taus):
    """The first ``n`` columns of ``Q = H_0 H_1 ... H_{k-1}``, ``H_i = I - taus[i] v_i v_i^H``
    with ``v_i`` stored below the diagonal of column ``i`` of ``a`` (implicit 1 on the
    diagonal), as LAPACK's orgqr/ungqr and ``jax.lax.linalg.householder_product``; ``a``
    is ``(..., m, n)`` with ``m >= n``, ``taus`` ``(..., k)`` with ``k <= n``.

    A composition (one rank-1 update per reflector), so it differentiates with respect to
    both ``a`` and ``taus``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> q = lax.linalg.householder_product(fnp.asarray([[1.0], [1.0]]), fnp.asarray([1.0]))
        >>> q.tolist()
        [[0.0], [-1.0]]
    """
    fnp = _fnp()
    a, taus, m, k = _reflectors(a, taus, "householder_product")
    n = a.shape[-1]
    if m < n:
        raise ValueError(
            f"funcgrad.lax.linalg.householder_product: needs m >= n, got a of shape {a.shape}"
        )
    q = fnp.broadcast_to(fnp.eye(m, n, dtype=a.dtype), a.shape)
    for i in reversed(range(k)):
        v = _reflector(a[..., i + 1 :, i], i, m, before=False)
        q = _apply_left(q, v, taus[..., i])
    return q


def ormqr(a, taus, c, *, left: bool = True, transpose: bool = False):
    """``Q @ c``, ``Q^H @ c`` (``transpose=True``), ``c @ Q`` or ``c @ Q^H`` (``left=False``)
    for ``Q = H_0 ... H_{k-1}`` (``m x m``) given by the reflectors stored below the
    diagonal of ``a`` (``(..., m, n)``) and ``taus`` (``(..., k)``), without forming ``Q``,
    as LAPACK's ormqr/unmqr and ``jax.lax.linalg.ormqr``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad import lax
        >>> a, taus = fnp.asarray([[1.0], [1.0]]), fnp.asarray([1.0])
        >>> lax.linalg.ormqr(a, taus, fnp.asarray([[1.0], [2.0]])).tolist()
        [[-2.0], [-1.0]]
    """
    fnp = _fnp()
    a, taus, m, k = _reflectors(a, taus, "ormqr")
    c = c if is_array_like(c) else fnp.asarray(c)
    side = -2 if left else -1
    if c.ndim < 2 or c.shape[side] != m:
        raise ValueError(
            f"funcgrad.lax.linalg.ormqr: c must have {m} {'rows' if left else 'columns'} (Q is "
            f"{m} x {m}) with left={left}, got shape {c.shape}"
        )
    c = c.astype(np.result_type(c.dtype, a.dtype))
    # Q = H_0 ... H_{k-1}; Q c applies H_{k-1} first, Q^H c applies H_0^H first, etc.
    first_to_last = left == transpose
    for i in range(k) if first_to_last else reversed(range(k)):
        v = _reflector(a[..., i + 1 :, i], i, m, before=False)
        tau = fnp.conj(taus[..., i]) if transpose else taus[..., i]
        c = _apply_left(c, v, tau) if left else _apply_right(c, v, tau)
    return c
