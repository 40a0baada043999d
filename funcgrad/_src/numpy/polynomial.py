"""Polynomials as coefficient arrays, highest degree first: NumPy's ``poly*`` family,
``vander``, ``polyfit`` and ``roots``.

Everything but ``roots`` is a composition of array operations, so it traces under
``jit``/``vmap`` and is differentiable in the coefficients. Output lengths depend only on
input shapes (``polyadd`` pads the shorter input on the left; ``polydiv``'s remainder has
``u``'s length, as JAX's), so leading zeros are kept unless ``trim_leading_zeros=True``
asks for NumPy's trimmed result on concrete values. ``roots`` needs a general
eigenvalue solver, which the primitive set does not have: it runs eagerly on concrete
coefficients and always returns complex roots (as JAX's).
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.core import concrete_or_error
from funcgrad._src.numpy import base as fnp
from funcgrad._src.numpy.util import asarray

__all__ = [
    "poly", "polyadd", "polyder", "polydiv", "polyfit", "polyint", "polymul", "polysub",
    "roots", "vander",
]  # fmt: skip


def _coeffs(p: Any, name: str, inexact: bool = False) -> Any:
    p = asarray(p, fname=f"funcgrad.numpy.{name}")
    if p.ndim != 1:
        raise ValueError(
            f"funcgrad.numpy.{name}: coefficients must be a 1-D array, got shape {p.shape}"
        )
    if inexact and p.dtype.kind not in "fc":
        p = p.astype(dtypes.result_type(p.dtype, np.float64))
    return p


def _common(a1: Any, a2: Any, name: str, inexact: bool = False) -> tuple[Any, Any]:
    a1, a2 = _coeffs(a1, name, inexact), _coeffs(a2, name, inexact)
    dt = fnp.result_type(a1, a2)
    return a1.astype(dt), a2.astype(dt)


def _left_pad(a: Any, n: int) -> Any:
    return fnp.concatenate([fnp.zeros((n - a.shape[0],), a.dtype), a]) if a.shape[0] < n else a


def _trim_leading(a: Any, name: str, tol: float = 0.0) -> Any:
    value = np.asarray(concrete_or_error(a, f"funcgrad.numpy.{name}",
                                         "where the leading zeros end",
                                         "leave trim_leading_zeros=False under jit"))  # fmt: skip
    nonzero = np.flatnonzero(np.abs(value) > tol)
    start = int(nonzero[0]) if nonzero.size else value.shape[0] - 1
    return a[start:]


def polyadd(a1, a2):
    """The sum of two polynomials (the shorter is padded with leading zeros).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.polyadd(fnp.asarray([1, 2]), fnp.asarray([1, 0, 3])).tolist()
        [1, 1, 5]
    """
    a1, a2 = _common(a1, a2, "polyadd")
    n = max(a1.shape[0], a2.shape[0])
    return _left_pad(a1, n) + _left_pad(a2, n)


def polysub(a1, a2):
    """The difference ``a1 - a2`` of two polynomials.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.polysub(fnp.asarray([1, 2]), fnp.asarray([1, 0, 3])).tolist()
        [-1, 1, -1]
    """
    a1, a2 = _common(a1, a2, "polysub")
    n = max(a1.shape[0], a2.shape[0])
    return _left_pad(a1, n) - _left_pad(a2, n)


def polymul(a1, a2, *, trim_leading_zeros=False):
    """The product of two polynomials (the full convolution of their coefficients).

    Leading zeros of the inputs are kept (the result has ``len(a1) + len(a2) - 1``
    coefficients) unless ``trim_leading_zeros=True``, which trims them as NumPy does and
    needs concrete values.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.polymul(fnp.asarray([1, 1]), fnp.asarray([1, -1])).tolist()
        [1, 0, -1]
    """
    a1, a2 = _common(a1, a2, "polymul")
    if trim_leading_zeros:
        a1, a2 = _trim_leading(a1, "polymul"), _trim_leading(a2, "polymul")
    if a1.shape[0] == 0 or a2.shape[0] == 0:
        return fnp.zeros((1,), a1.dtype)
    return fnp.convolve(a1, a2)


def polydiv(u, v, *, trim_leading_zeros=False):
    """Polynomial long division: ``(q, r)`` with ``u == polyadd(polymul(q, v), r)``.

    ``q`` has ``len(u) - len(v) + 1`` coefficients (at least 1); ``r`` has ``len(u)``
    coefficients, its leading ones (numerically) zero, as JAX's. With
    ``trim_leading_zeros=True`` the remainder's leading near-zeros (``|r| <= sqrt(eps)``)
    are trimmed, like NumPy's, on concrete values. Division by a leading zero of ``v``
    gives infinities, as NumPy.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> q, r = fnp.polydiv(fnp.asarray([1.0, 0.0, -1.0]), fnp.asarray([1.0, 1.0]))
        >>> q.tolist(), r.tolist()
        ([1.0, -1.0], [0.0, 0.0, 0.0])
    """
    u, v = _common(u, v, "polydiv", inexact=True)
    m, n = u.shape[0] - 1, v.shape[0] - 1
    if n < 0:
        raise ZeroDivisionError("funcgrad.numpy.polydiv: the divisor v has no coefficients")
    scale = 1.0 / v[0]
    q = []
    for k in range(m - n + 1):
        d = scale * u[k]
        q.append(d)
        u = u.at[k : k + n + 1].add(-d * v)
    q = fnp.stack(q) if q else fnp.zeros((1,), u.dtype)
    if trim_leading_zeros:
        u = _trim_leading(u, "polydiv", float(np.sqrt(np.finfo(u.dtype).eps)))
    return q, u


def _order(m: Any, name: str) -> int:
    try:
        m = operator.index(m)
    except TypeError:
        raise TypeError(f"funcgrad.numpy.{name}: the order m must be a static int") from None
    if m < 0:
        raise ValueError(f"funcgrad.numpy.{name}: the order m must be non-negative, got {m}")
    return m


def polyder(p, m=1):
    """The ``m``-th derivative of the polynomial ``p``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.polyder(fnp.asarray([1, 2, 3, 4])).tolist()
        [3, 4, 3]
    """
    p = _coeffs(p, "polyder")
    m = _order(m, "polyder")
    for _ in range(m):  # a derivative past the degree is empty, as NumPy's and JAX's
        n = max(p.shape[0] - 1, 0)
        p = p[:-1] * fnp.arange(n, 0, -1).astype(p.dtype)
    return p


def polyint(p, m=1, k=None):
    """The ``m``-th antiderivative of ``p``, with integration constants ``k`` (a scalar for
    all, or ``m`` values, the first used first; default 0).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.polyint(fnp.asarray([3.0, 2.0, 1.0]), k=5.0).tolist()
        [1.0, 1.0, 1.0, 5.0]
    """
    p = _coeffs(p, "polyint", inexact=True)
    m = _order(m, "polyint")
    if m == 0:
        return p
    k = fnp.zeros((m,), p.dtype) if k is None else asarray(k, fname="funcgrad.numpy.polyint")
    if k.ndim == 0:
        k = fnp.full((m,), k)
    if k.shape != (m,):
        raise ValueError(
            f"funcgrad.numpy.polyint: k must be a scalar or have m={m} values, got shape {k.shape}"
        )
    dt = fnp.result_type(p, k)
    p, k = p.astype(dt), k.astype(dt)
    for i in range(m):
        n = p.shape[0]
        p = fnp.concatenate([p / fnp.arange(n, 0, -1).astype(dt), k[i : i + 1]])
    return p


def poly(seq_of_zeros):
    """The coefficients of the monic polynomial with the given roots (``prod (x - r)``).

    A square 2-D input is taken as a matrix whose characteristic polynomial is wanted;
    that needs its eigenvalues, computed eagerly with NumPy (concrete values only). The
    result is complex for complex roots, even conjugate pairs (JAX's choice; take
    ``.real`` for NumPy's).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.poly(fnp.asarray([1.0, 2.0])).tolist()
        [1.0, -3.0, 2.0]
    """
    z = asarray(seq_of_zeros, fname="funcgrad.numpy.poly")
    if z.ndim == 2 and z.shape[0] == z.shape[1] and z.shape[0] > 0:
        value = np.asarray(concrete_or_error(z, "funcgrad.numpy.poly",
                                             "the eigenvalues of a matrix",
                                             "pass the roots (a 1-D array) instead"))  # fmt: skip
        z = asarray(np.linalg.eigvals(value))
    elif z.ndim != 1:
        raise ValueError(
            f"funcgrad.numpy.poly: input must be 1-D or a square 2-D array, got shape {z.shape}"
        )
    dt = dtypes.result_type(z.dtype, np.float64) if z.dtype.kind not in "fc" else z.dtype
    z = z.astype(dt)
    a = fnp.ones((1,), dt)
    for i in range(z.shape[0]):
        a = fnp.convolve(a, fnp.stack([fnp.ones((), dt), -z[i]]))
    return a


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of 1-D ``x``: column ``j`` is ``x**(N-1-j)`` (or ``x**j`` if
    ``increasing``); ``N`` defaults to ``len(x)``.

    Powers are running products, so the matrix is differentiable everywhere (also at 0).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.vander(fnp.asarray([1, 2, 3]), 3).tolist()
        [[1, 1, 1], [4, 2, 1], [9, 3, 1]]
    """
    x = asarray(x, fname="funcgrad.numpy.vander")
    if x.ndim != 1:
        raise ValueError(f"funcgrad.numpy.vander: x must be 1-D, got shape {x.shape}")
    n = x.shape[0] if N is None else operator.index(N)
    if n < 0:
        raise ValueError(f"funcgrad.numpy.vander: N must be non-negative, got {n}")
    if n == 0:
        return fnp.zeros((x.shape[0], 0), x.dtype)
    factors = fnp.concatenate(
        [fnp.ones((x.shape[0], 1), x.dtype), fnp.broadcast_to(x[:, None], (x.shape[0], n - 1))],
        axis=1,
    )
    powers = fnp.cumprod(factors, axis=1)
    return powers if increasing else powers[:, ::-1]


def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """The least-squares polynomial of degree ``deg`` through ``(x, y)``, NumPy's algorithm:
    a column-scaled Vandermonde system solved by ``linalg.lstsq``.

    ``y`` may be 2-D (one fit per column); ``w`` weights the residuals; ``full=True``
    returns ``(coeffs, residuals, rank, singular_values, rcond)``; ``cov=True`` (or
    ``"unscaled"``) returns ``(coeffs, covariance)``. Differentiable in ``x``, ``y`` and
    ``w``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> x = fnp.asarray([0.0, 1.0, 2.0, 3.0])
        >>> [round(c, 6) for c in fnp.polyfit(x, 2 * x + 1, 1).tolist()]
        [2.0, 1.0]
    """
    fname = "funcgrad.numpy.polyfit"
    order = operator.index(deg) + 1
    if order < 1:
        raise ValueError(f"{fname}: deg must be non-negative, got {deg}")
    x, y = asarray(x, fname=fname), asarray(y, fname=fname)
    dt = fnp.result_type(x, y, np.float64) if x.dtype.kind != "c" else fnp.result_type(x, y)
    x, y = x.astype(dt), y.astype(dt)
    if x.ndim != 1:
        raise TypeError(f"{fname}: x must be 1-D, got shape {x.shape}")
    if x.shape[0] == 0:
        raise TypeError(f"{fname}: x must not be empty")
    if y.ndim not in (1, 2) or y.shape[0] != x.shape[0]:
        raise TypeError(f"{fname}: y must be 1-D or 2-D with len(x)={x.shape[0]} rows, got "
                        f"shape {y.shape}")  # fmt: skip
    if rcond is None:
        rcond = x.shape[0] * float(np.finfo(np.dtype(dt)).eps)
    lhs, rhs = vander(x, order), y
    if w is not None:
        w = asarray(w, fname=fname).astype(dt)
        if w.shape != (x.shape[0],):
            raise TypeError(f"{fname}: w must be 1-D of length {x.shape[0]}, got {w.shape}")
        lhs = lhs * w[:, None]
        rhs = rhs * (w[:, None] if rhs.ndim == 2 else w)
    scale = fnp.sqrt(fnp.sum(fnp.abs(lhs) ** 2, axis=0))
    lhs = lhs / scale
    from funcgrad._src.numpy.linalg import inv, lstsq

    c, resids, rank, s = lstsq(lhs, rhs, rcond)
    c = (c.T / scale).T
    if full:
        return c, resids, rank, s, rcond
    if cov:
        vbase = inv(fnp.conj(lhs).T @ lhs) / fnp.outer(scale, scale)
        if cov == "unscaled":
            fac = 1.0
        else:
            if x.shape[0] <= order:
                raise ValueError(
                    f"{fname}: the number of data points must exceed order to scale the "
                    f"covariance matrix (or pass cov='unscaled')"
                )
            fac = resids / (x.shape[0] - order)
        return c, (vbase * fac if y.ndim == 1 else vbase[:, :, None] * fac)
    return c


def roots(p, *, strip_zeros=True):
    """The roots of the polynomial ``p``, as the eigenvalues of its companion matrix.

    Runs eagerly on concrete coefficients (the primitive set has no general eigenvalue
    solver, so this neither traces nor differentiates) and always returns complex roots,
    as JAX's. Leading zeros are stripped; trailing zeros give zero roots. With
    ``strip_zeros=False`` leading zeros give NaN roots, as JAX's.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> sorted(fnp.roots(fnp.asarray([1.0, -3.0, 2.0])).real.tolist())
        [1.0, 2.0]
    """
    fname = "funcgrad.numpy.roots"
    p = _coeffs(p, "roots")
    value = np.asarray(concrete_or_error(p, fname, "the roots (eigenvalues, computed eagerly)",
                                         "compute the roots outside jit"))  # fmt: skip
    cdt = np.result_type(value.dtype, np.complex64)
    if cdt == np.complex64 and value.dtype != np.float32:
        cdt = np.dtype(np.complex128)
    nonzero = np.flatnonzero(value)
    if nonzero.size == 0:
        return asarray(np.zeros((0,), cdt))
    trailing = value.shape[0] - int(nonzero[-1]) - 1
    value = value[: int(nonzero[-1]) + 1]
    if strip_zeros:
        value = value[int(nonzero[0]) :]
    n = value.shape[0]
    if n > 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            companion = np.diag(np.ones(n - 2, value.dtype), -1)
            companion[0, :] = -value[1:] / value[0]
        if np.all(np.isfinite(companion)):
            found = np.linalg.eigvals(companion)
        else:
            found = np.full(n - 1, np.nan)
    else:
        found = np.zeros((0,))
    return asarray(np.concatenate([found, np.zeros(trailing)]).astype(cdt))
