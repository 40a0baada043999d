"""``funcgrad.scipy.linalg``'s special matrices (SciPy's ``circulant``, ``companion``,
``hankel``, ``pascal``, ...): built from their defining formulas.

Matrices made from array arguments (``circulant``, ``companion``, ``convolution_matrix``,
``fiedler``, ``fiedler_companion``, ``hankel``, ``leslie``) are gathers and elementwise
operations of those arguments: differentiable, and usable under jit and vmap. Those that
take a vector also take a stack of vectors ``(..., N)`` and return a stack of matrices,
as JAX's (SciPy 1.17 still ravels ``hankel``'s input). Matrices of a size alone
(``dft``, ``hadamard``, ``helmert``, ``invhilbert``, ``invpascal``, ``pascal``) are built on
the host with exact integer arithmetic where the entries are integers, then converted:
``pascal``, ``invpascal`` and ``invhilbert`` are float64 (JAX's ``pascal`` is float32;
SciPy's are integer arrays, which overflow for large ``n``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import funcgrad.numpy as fnp

__all__ = [
    "circulant", "companion", "convolution_matrix", "dft", "fiedler", "fiedler_companion",
    "hadamard", "hankel", "helmert", "invhilbert", "invpascal", "leslie", "pascal",
]  # fmt: skip


def _name(fn: str) -> str:
    return f"funcgrad.scipy.linalg.{fn}"


def _vectors(fname: str, x: Any, argname: str, min_size: int = 0) -> Any:
    """``x`` as an array of at least one dimension (a stack of vectors)."""
    x = fnp.asarray(x)
    if x.ndim == 0:
        x = x.reshape(1)
    if x.shape[-1] < min_size:
        raise ValueError(
            f"{_name(fname)}: {argname} must have at least {min_size} elements along its last "
            f"axis, got shape {x.shape}"
        )
    return x


def _size(fname: str, n: Any, argname: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"{_name(fname)}: {argname} must be a non-negative integer, got {n!r}")
    return int(n)


def circulant(c: Any) -> Any:
    """The circulant matrix whose first column is ``c``: ``out[..., i, j] = c[..., (i - j)
    mod N]``.

    Examples:
        >>> from funcgrad.scipy import linalg
        >>> linalg.circulant([1, 2, 3]).tolist()
        [[1, 3, 2], [2, 1, 3], [3, 2, 1]]
    """
    c = _vectors("circulant", c, "c")
    n = c.shape[-1]
    index = (np.arange(n)[:, None] - np.arange(n)[None, :]) % n
    return c[..., index]


def companion(a: Any) -> Any:
    """The companion matrix of the polynomial with coefficients ``a`` (highest degree
    first): first row ``-a[1:] / a[0]``, ones on the subdiagonal; its eigenvalues are the
    roots. ``a[0]`` must not be zero (the result is inf/NaN otherwise; SciPy raises).

    Examples:
        >>> from funcgrad.scipy import linalg
        >>> linalg.companion([1, -3, 2]).tolist()  # roots 1 and 2
        [[3.0, -2.0], [1.0, 0.0]]
    """
    a = _vectors("companion", a, "a", min_size=2)
    if a.dtype.kind not in "fc":
        a = a.astype(np.float64)
    n = a.shape[-1] - 1
    first_row = -a[..., 1:] / a[..., :1]
    rows = np.arange(n)[:, None]
    shift = fnp.asarray(np.eye(n, k=-1), dtype=a.dtype)
    return fnp.where(rows == 0, first_row[..., None, :], shift)


def convolution_matrix(a: Any, n: int, mode: str = "full") -> Any:
    """The matrix ``A`` with ``A @ v == numpy.convolve(a, v, mode)`` for every ``v`` of
    length ``n``: ``(m + n - 1, n)`` for ``'full'``, ``(max(m, n), n)`` for ``'same'``,
    ``(max(m, n) - min(m, n) + 1, n)`` for ``'valid'`` (SciPy's ``convolution_matrix``).

    Examples:
        >>> from funcgrad.scipy import linalg
        >>> linalg.convolution_matrix([1, 2], 3).tolist()
        [[1, 0, 0], [2, 1, 0], [0, 2, 1], [0, 0, 2]]
    """
    fname = "convolution_matrix"
    a = fnp.asarray(a)
    if a.ndim != 1 or a.shape[0] == 0:
        raise ValueError(f"{_name(fname)}: a must be a non-empty 1-D array, got shape {a.shape}")
    n = _size(fname, n)
    if n == 0:
        raise ValueError(f"{_name(fname)}: n must be positive, got 0")
    if mode not in ("full", "same", "valid"):
        raise ValueError(f"{_name(fname)}: mode must be 'full', 'same' or 'valid', got {mode!r}")
    m = a.shape[0]
    short, long = min(m, n), max(m, n)
    start, count = {"full": (0, m + n - 1), "same": ((short - 1) // 2, long),
                    "valid": (short - 1, long - short + 1)}[mode]  # fmt: skip
    offset = np.arange(start, start + count)[:, None] - np.arange(n)[None, :]  # row - column
    padded = fnp.concatenate([a, fnp.zeros(1, a.dtype)])
    return padded[np.where((offset >= 0) & (offset < m), offset, m)]


def dft(n: int, scale: str | None = None, *, dtype: Any = None) -> Any:
    """The discrete Fourier transform matrix ``m[j, k] = exp(-2 pi i j k / n)``, so that
    ``dft(n) @ x == fft(x)``; ``scale='sqrtn'`` divides by ``sqrt(n)`` (unitary), ``'n'``
    by ``n``. The phases are reduced exactly (``j k mod n``) before the exponential.

    Examples:
        >>> from funcgrad.scipy import linalg
        >>> linalg.dft(2).tolist()
        [[(1+0j), (1+0j)], [(1+0j), (-1+0j)]]
    """
    fname = "dft"
    n = _size(fname, n)
    if scale not in (None, "sqrtn", "n"):
        raise ValueError(f"{_name(fname)}: scale must be None, 'sqrtn' or 'n', got {scale!r}")
    dtype = np.dtype(np.complex128 if dtype is None else dtype)
    if dtype.kind != "c":
        raise ValueError(f"{_name(fname)}: dtype must be complex, got {dtype}")
    jk = np.outer(np.arange(n), np.arange(n)) % max(n, 1)
    m = np.exp(-2j * np.pi * jk / max(n, 1))
    # the exact values at the quarter turns (exp gives 6e-17 for cos(pi / 2))
    for quarter, value in ((0, 1), (1, -1j), (2, -1), (3, 1j)):
        m[4 * jk == quarter * n] = value
    m = m / {None: 1, "sqrtn": math.sqrt(n), "n": n}[scale] if n else m
    return fnp.asarray(m.astype(dtype))


def fiedler(a: Any) -> Any:
    """The symmetric Fiedler matrix ``out[..., i, j] = |a[..., i] - a[..., j]|``.

    Examples:
        >>> from funcgrad.scipy import linalg
        >>> linalg.fiedler([1, 4, 12]).tolist()
        [[0, 3, 11], [3, 0, 8], [11, 8, 0]]
    """
    a = _vectors("fiedler", a, "a")
    return fnp.abs(a[..., :, None] - a[..., None, :])


def fiedler_companion(a: Any) -> Any:
    """The Fiedler companion matrix of the polynomial with coefficients ``a`` (highest
    degree first, ``a[0] != 0``): pentadiagonal, with the roots as eigenvalues (SciPy's
    layout, from Fiedler, "A note on companion matrices", LAA 372, 2003). Empty for one
    coefficient, ``[[-a[1] / a[0]]]`` for two.

    Examples:
        >>> from funcgrad.scipy import linalg
        >>> linalg.fiedler_companion([1.0, -6.0, 11.0, -6.0]).tolist()  # roots 1, 2, 3
        [[6.0, -11.0, 1.0], [1.0, 0.0, 0.0], [0.0, 6.0, 0.0]]
    """
    a = _vectors("fiedler_companion", a, "a", min_size=1)
    if a.dtype.kind not in "fc":
        a = a.astype(np.float64)
    n = a.shape[-1] - 1
    if n <= 0:
        return fnp.zeros((*a.shape[:-1], 0), a.dtype) if n == 0 else a
    a = a / a[..., :1]
    # each entry of the matrix is a constant or one coefficient: map (row, col) to an index
    # into [-a[1:], 0, 1] (coefficient k at position k - 1)
    source = np.full((n, n), n)  # n: zero, n + 1: one
    source[range(3, n, 2), range(1, n - 2, 2)] = n + 1  # subdiagonal ones
    source[range(2, n, 2), range(1, n - 1, 2)] = np.arange(3, n + 1, 2) - 1  # -a[3::2]
    source[range(0, n - 2, 2), range(2, n, 2)] = n + 1  # superdiagonal ones
    source[range(0, n - 1, 2), range(1, n, 2)] = np.arange(2, n + 1, 2) - 1  # -a[2::2]
    source[0, 0] = 0  # -a[1]
    if n > 1:
        source[1, 0] = n + 1
    constants = fnp.broadcast_to(fnp.asarray([0, 1], a.dtype), (*a.shape[:-1], 2))
    table = fnp.concatenate([-a[..., 1:], constants], axis=-1)
    return table[..., source]


def hadamard(n: int, dtype: Any = int) -> Any:
    """The ``n x n`` Hadamard matrix of Sylvester's construction (``n`` a power of 2).

    Examples:
        >>> from funcgrad.scipy import linalg
        >>> linalg.hadamard(2).tolist()
        [[1, 1], [1, -1]]
    """
    fname = "hadamard"
    n = _size(fname, n)
    if n < 1 or n & (n - 1):
        raise ValueError(f"{_name(fname)}: n must be a positive power of 2, got {n}")
    h = np.ones((1, 1), dtype=np.int64)
    while h.shape[0] < n:
        h = np.block([[h, h], [h, -h]])
    return fnp.asarray(h.astype(dtype))


def hankel(c: Any, r: Any = None) -> Any:
    """The Hankel matrix with first column ``c`` and last row ``r`` (``r[0]`` is ignored;
    ``r`` defaults to zeros): ``out[..., i, j] = c[i + j]`` for ``i + j < len(c)``, else
    ``r[i + j - len(c) + 1]``. Leading axes of ``c`` and ``r`` are batch axes, broadcast
    together.

    Examples:
        >>> from funcgrad.scipy import linalg
        >>> linalg.hankel([1, 2, 3], [3, 4, 5, 6]).tolist()
        [[1, 2, 3, 4], [2, 3, 4, 5], [3, 4, 5, 6]]
        >>> linalg.hankel([1, 2, 3]).tolist()
        [[1, 2, 3], [2, 3, 0], [3, 0, 0]]
    """
    c = _vectors("hankel", c, "c")
    r = fnp.zeros_like(c) if r is None else _vectors("hankel", r, "r")
    m, n = c.shape[-1], r.shape[-1]
    batch = np.broadcast_shapes(c.shape[:-1], r.shape[:-1])
    c = fnp.broadcast_to(c, (*batch, m))
    r = fnp.broadcast_to(r, (*batch, n))
    values = fnp.concatenate([c, r[..., 1:]], axis=-1)
    return values[..., np.arange(m)[:, None] + np.arange(n)[None, :]]


def helmert(n: int, full: bool = False) -> Any:
    """The Helmert matrix of order ``n``: an orthogonal matrix whose first row is
    ``1 / sqrt(n)``; ``full=False`` (the default) drops that row, giving ``(n - 1, n)``.

    Examples:
        >>> from funcgrad.scipy import linalg
        >>> [[round(v, 6) for v in row] for row in linalg.helmert(2).tolist()]
        [[0.707107, -0.707107]]
    """
    n = _size("helmert", n)
    h = np.tril(np.ones((n, n)), -1) - np.diag(np.arange(n))
    norms = np.arange(n) * np.arange(1, n + 1)
    h[:1] = 1
    norms[:1] = n
    h = h / np.sqrt(norms)[:, None]
    return fnp.asarray(h if full else h[1:])


def _binomial(n: int, k: int) -> int:
    return math.comb(n, k) if 0 <= k <= n else 0


def invhilbert(n: int) -> Any:
    """The inverse of the ``n x n`` Hilbert matrix, from its closed form
    ``(-1)^(i+j) (i+j+1) C(n+i, n-j-1) C(n+j, n-i-1) C(i+j, i)^2`` evaluated in exact
    integers, then rounded once to float64 (SciPy's ``exact=True`` values).

    Examples:
        >>> from funcgrad.scipy import linalg
        >>> linalg.invhilbert(2).tolist()
        [[4.0, -6.0], [-6.0, 12.0]]
    """
    n = _size("invhilbert", n)
    out = [[(-1) ** (i + j) * (i + j + 1) * _binomial(n + i, n - j - 1)
            * _binomial(n + j, n - i - 1) * _binomial(i + j, i) ** 2 for j in range(n)]
           for i in range(n)]  # fmt: skip
    return fnp.asarray(np.array(out, dtype=object).astype(np.float64).reshape(n, n))


def _pascal_exact(n: int, kind: str, fname: str) -> list[list[int]]:
    if kind not in ("symmetric", "lower", "upper"):
        raise ValueError(
            f"{_name(fname)}: kind must be 'symmetric', 'lower' or 'upper', got {kind!r}"
        )
    if kind == "symmetric":
        return [[math.comb(i + j, i) for j in range(n)] for i in range(n)]
    lower = [[_binomial(i, j) for j in range(n)] for i in range(n)]
    return lower if kind == "lower" else [list(row) for row in zip(*lower)]


def pascal(n: int, kind: str | None = None) -> Any:
    """The Pascal matrix: ``kind='symmetric'`` (the default) ``C(i + j, i)``, ``'lower'``
    ``C(i, j)``, ``'upper'`` its transpose (float64, exact while below 2^53).

    Examples:
        >>> from funcgrad.scipy import linalg
        >>> linalg.pascal(3).tolist()
        [[1.0, 1.0, 1.0], [1.0, 2.0, 3.0], [1.0, 3.0, 6.0]]
    """
    n = _size("pascal", n)
    out = _pascal_exact(n, "symmetric" if kind is None else kind, "pascal")
    return fnp.asarray(np.array(out, dtype=object).astype(np.float64).reshape(n, n))


def invpascal(n: int, kind: str | None = None) -> Any:
    """The inverse of :func:`pascal` ``(n, kind)``: for ``'lower'`` ``(-1)^(i+j) C(i, j)``,
    ``'upper'`` its transpose, and for ``'symmetric'`` (``L L^T``) the product
    ``L^-T L^-1``, in exact integers.

    Examples:
        >>> from funcgrad.scipy import linalg
        >>> linalg.invpascal(3).tolist()
        [[3.0, -3.0, 1.0], [-3.0, 5.0, -2.0], [1.0, -2.0, 1.0]]
    """
    fname = "invpascal"
    n = _size(fname, n)
    kind = "symmetric" if kind is None else kind
    _pascal_exact(0, kind, fname)  # validates kind
    inv_lower = [[(-1) ** (i + j) * _binomial(i, j) for j in range(n)] for i in range(n)]
    if kind == "lower":
        out = inv_lower
    elif kind == "upper":
        out = [list(row) for row in zip(*inv_lower)]
    else:
        out = [[sum(inv_lower[k][i] * inv_lower[k][j] for k in range(n)) for j in range(n)]
               for i in range(n)]  # fmt: skip
    return fnp.asarray(np.array(out, dtype=object).astype(np.float64).reshape(n, n))


def leslie(f: Any, s: Any) -> Any:
    """The Leslie matrix: fecundities ``f`` (length ``N >= 2``) in the first row, survival
    rates ``s`` (length ``N - 1``) on the subdiagonal. Leading axes broadcast.

    Examples:
        >>> from funcgrad.scipy import linalg
        >>> linalg.leslie([0.5, 1.0, 2.0], [0.25, 0.5]).tolist()
        [[0.5, 1.0, 2.0], [0.25, 0.0, 0.0], [0.0, 0.5, 0.0]]
    """
    fname = "leslie"
    f = _vectors(fname, f, "f", min_size=2)  # as SciPy: at least one survival rate
    s = _vectors(fname, s, "s")
    n = f.shape[-1]
    if s.shape[-1] != n - 1:
        raise ValueError(
            f"{_name(fname)}: s must have one element fewer than f along the last axis, got "
            f"f of shape {f.shape} and s of shape {s.shape}"
        )
    dtype = fnp.result_type(f, s)
    batch = np.broadcast_shapes(f.shape[:-1], s.shape[:-1])
    f = fnp.broadcast_to(f.astype(dtype), (*batch, n))
    s = fnp.broadcast_to(s.astype(dtype), (*batch, n - 1))
    table = fnp.concatenate([f, s, fnp.zeros((*batch, 1), dtype)], axis=-1)
    source = np.full((n, n), 2 * n - 1)
    source[0] = np.arange(n)
    source[np.arange(1, n), np.arange(n - 1)] = n + np.arange(n - 1)
    return table[..., source]
