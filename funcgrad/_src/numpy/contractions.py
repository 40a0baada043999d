"""Products and contractions of arrays: dot, matmul, tensordot, einsum and their relatives.

Every contraction lowers to the ``dot_general`` primitive (contracting and batch
dimensions) plus structural primitives. ``einsum`` asks opt_einsum for a pairwise
contraction order and performs each pair with one ``dot_general``; repeated indices
within one operand become a strided diagonal slice and indices summed in one operand
only become ``reduce_sum``.

Promotion follows NumPy: operands are converted to arrays first (for ``dot``,
``tensordot``, ``kron``... NumPy treats Python scalars as arrays, not as weak
literals) and computed in their ``result_type``; boolean matrix products give bool.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.core import Array
from funcgrad._src.lax import reductions, structural
from funcgrad._src.lax.indexing import IndexSlice, gather_p
from funcgrad._src.lax.linalg import dot_general_p
from funcgrad._src.numpy import ufuncs
from funcgrad._src.numpy.util import (
    asarray,
    broadcast_shapes_cached,
    broadcast_to_shape,
    canonicalize_axis,
    convert,
)

# ------------------------------------------------------------------------------------
# Private helpers (linalg.py uses them too)
# ------------------------------------------------------------------------------------

_MATMUL_2D = (((1,), (0,)), ((), ()))


def _arrays(fname: str, *xs: Any) -> list:
    """``xs`` as arrays converted to their common dtype (NumPy's result_type)."""
    arrs = [asarray(x, fname=fname) for x in xs]
    dt = dtypes.result_type(*(a.dtype for a in arrs))
    return [convert(a, dt) for a in arrs]


def _transpose(x: Any, perm: Sequence[int]) -> Any:
    perm = tuple(perm)
    if perm == tuple(range(len(perm))):
        return x
    return structural.transpose_p.bind1(x, permutation=perm)


def _reshape(x: Any, shape: Sequence[int]) -> Any:
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return structural.reshape_p.bind1(x, new_sizes=shape)


def _moveaxis(x: Any, src: int, dst: int) -> Any:
    """``x`` with axis ``src`` moved to position ``dst`` (both non-negative)."""
    perm = [d for d in range(x.ndim) if d != src]
    perm.insert(dst, src)
    return _transpose(x, perm)


def _swap_last(x: Any) -> Any:
    """The matrix transpose: the last two axes swapped."""
    n = x.ndim
    return _transpose(x, (*range(n - 2), n - 1, n - 2))


def _sum(x: Any, axes: Sequence[int], keepdims: bool = False) -> Any:
    """Sum over ``axes`` (non-negative) in ``x``'s own dtype."""
    axes = tuple(sorted(axes))
    if not axes:
        return x
    out = reductions.reduce_sum_p.bind1(x, axes=axes)
    if keepdims:
        out = _reshape(out, tuple(1 if d in axes else n for d, n in enumerate(x.shape)))
    return out


def _sum_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype NumPy's ``sum`` accumulates in: small ints and bool widen to 64 bits."""
    if dtype.kind == "b" or (dtype.kind == "i" and dtype.itemsize < 8):
        return dtypes.int64
    if dtype.kind == "u" and dtype.itemsize < 8:
        return dtypes.uint64
    return dtype


def _dot_general(a: Any, b: Any, contract: tuple, batch: tuple = ((), ())) -> Any:
    return dot_general_p.bind1(
        a,
        b,
        dimension_numbers=(
            (tuple(contract[0]), tuple(contract[1])),
            (tuple(batch[0]), tuple(batch[1])),
        ),
    )


def _conj(x: Any) -> Any:
    return ufuncs.conjugate(x) if x.dtype.kind == "c" else x


def _diagonal(x: Any, offset: int = 0) -> Any:
    """The diagonal of the last two axes, as the new last axis (NumPy's ``diagonal``).

    Element ``(i, i + offset)`` of an ``(n1, n2)`` matrix sits at flat position
    ``start + i * (n2 + 1)``, so flattening the matrix makes the diagonal one strided
    slice: no index arrays are needed.
    """
    *batch, n1, n2 = x.shape
    if offset >= 0:
        length = max(0, min(n1, n2 - offset))
        start = offset
    else:
        length = max(0, min(n1 + offset, n2))
        start = -offset * n2
    flat = _reshape(x, (*batch, n1 * n2))
    stop = start + (length - 1) * (n2 + 1) + 1 if length else start
    return gather_p.bind1(flat, indexer=(Ellipsis, IndexSlice(start, stop, n2 + 1)))


def _concatenate(xs: Sequence[Any], axis: int) -> Any:
    dt = dtypes.result_type(*(x.dtype for x in xs))
    xs = [convert(x, dt) for x in xs]
    if len(xs) == 1:
        return xs[0]
    return structural.concatenate_p.bind1(*xs, dimension=axis)


def _not_aligned(fname: str, s1: tuple, s2: tuple, d1: int, d2: int) -> ValueError:
    return ValueError(
        f"{fname}: shapes {s1} and {s2} are not aligned: {s1[d1]} (dim {d1}) != {s2[d2]} (dim {d2})"
    )


def _batched_contract(
    fname: str, a: Any, b: Any, a_core: int, b_core: int, ca: int, cb: int
) -> Any:
    """Contract core axis ``ca`` of ``a`` with core axis ``cb`` of ``b``, broadcasting the
    leading (batch) axes as a generalized ufunc does.

    ``a`` has ``a_core`` trailing core axes, ``b`` has ``b_core``; the result is
    ``(*batch, *a's other core axes, *b's other core axes)``.
    """
    na, nb = a.ndim, b.ndim
    ia, ib = na - a_core + ca, nb - b_core + cb
    if a.shape[ia] != b.shape[ib]:
        raise _not_aligned(fname, a.shape, b.shape, ia, ib)
    a_batch, b_batch = a.shape[: na - a_core], b.shape[: nb - b_core]
    # No broadcasting needed when b has no batch axes (a's batch axes lead the result as
    # free axes), or when a has no batch and no other core axes (b's batch axes lead).
    if not b_batch or (not a_batch and a_core == 1):
        return _dot_general(a, b, ((ia,), (ib,)))
    try:
        batch = broadcast_shapes_cached(fname, a_batch, b_batch)
    except ValueError:
        raise ValueError(
            f"{fname}: batch dimensions of shapes {a.shape} and {b.shape} cannot be "
            f"broadcast together: {a_batch} and {b_batch}"
        ) from None
    a = broadcast_to_shape(a, batch + a.shape[na - a_core :])
    b = broadcast_to_shape(b, batch + b.shape[nb - b_core :])
    k = len(batch)
    nbatch = tuple(range(k))
    return _dot_general(a, b, ((k + ca,), (k + cb,)), (nbatch, nbatch))


# ------------------------------------------------------------------------------------
# Matrix and vector products
# ------------------------------------------------------------------------------------


def matmul(x1: Any, x2: Any, /) -> Any:
    """Matrix product with NumPy's ``matmul`` rules (batch axes broadcast; 1-D operands
    are promoted to matrices and the added axis removed afterwards).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> a = fnp.asarray([[1.0, 2.0], [3.0, 4.0]])
        >>> (a @ fnp.asarray([1.0, 1.0])).tolist()
        [3.0, 7.0]
        >>> fnp.matmul(fnp.ones((5, 2, 3)), fnp.ones((3, 4))).shape
        (5, 2, 4)
    """
    # The hot path of every dense layer: one dot_general, no copies or transposes.
    if type(x1) is Array and type(x2) is Array:
        s1, s2 = x1.shape, x2.shape
        if len(s1) == 2 and len(s2) == 2 and s1[1] == s2[0] and x1.dtype == x2.dtype:
            return dot_general_p.bind1(x1, x2, dimension_numbers=_MATMUL_2D)
    fname = "funcgrad.numpy.matmul"
    a, b = _arrays(fname, x1, x2)
    for i, x in enumerate((a, b)):
        if x.ndim == 0:
            raise ValueError(
                f"{fname}: operand {i} is 0-d (shape ()); matmul needs at least one "
                f"dimension: use fnp.multiply to scale by a scalar"
            )
    if b.ndim == 1:
        if a.shape[-1] != b.shape[0]:
            raise _not_aligned(fname, a.shape, b.shape, a.ndim - 1, 0)
        return _dot_general(a, b, ((a.ndim - 1,), (0,)))
    if a.ndim == 1:
        if a.shape[0] != b.shape[-2]:
            raise _not_aligned(fname, a.shape, b.shape, 0, b.ndim - 2)
        return _dot_general(a, b, ((0,), (b.ndim - 2,)))
    return _batched_contract(fname, a, b, 2, 2, 1, 0)


def dot(a: Any, b: Any, /) -> Any:
    """NumPy's ``dot``: a product for 0-d operands, the inner product of vectors, and
    otherwise a sum over the last axis of ``a`` and the second-to-last of ``b``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.dot(fnp.asarray([1, 2]), fnp.asarray([3, 4])).item()
        11
        >>> fnp.dot(fnp.ones((2, 3, 4)), fnp.ones((5, 4, 6))).shape
        (2, 3, 5, 6)
    """
    fname = "funcgrad.numpy.dot"
    a, b = _arrays(fname, a, b)
    if a.ndim == 0 or b.ndim == 0:
        return ufuncs.multiply(a, b)
    ia, ib = a.ndim - 1, max(b.ndim - 2, 0)
    if a.shape[ia] != b.shape[ib]:
        raise _not_aligned(fname, a.shape, b.shape, ia, ib)
    return _dot_general(a, b, ((ia,), (ib,)))


def vdot(a: Any, b: Any, /) -> Any:
    """The dot product of the flattened arrays, conjugating ``a`` (NumPy's ``vdot``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.vdot(fnp.asarray([1j, 2.0]), fnp.asarray([1j, 1.0])).item()
        (3+0j)
    """
    fname = "funcgrad.numpy.vdot"
    a, b = _arrays(fname, a, b)
    if a.size != b.size:
        raise ValueError(
            f"{fname}: a (shape {a.shape}, {a.size} elements) and b (shape {b.shape}, "
            f"{b.size} elements) must have the same number of elements"
        )
    a = _reshape(_conj(a), (a.size,))
    b = _reshape(b, (b.size,))
    return _dot_general(a, b, ((0,), (0,)))


def inner(a: Any, b: Any, /) -> Any:
    """Sum-product over the last axes of ``a`` and ``b`` (a product if either is 0-d).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.inner(fnp.ones((2, 3)), fnp.ones((4, 3))).shape
        (2, 4)
    """
    fname = "funcgrad.numpy.inner"
    a, b = _arrays(fname, a, b)
    if a.ndim == 0 or b.ndim == 0:
        return ufuncs.multiply(a, b)
    if a.shape[-1] != b.shape[-1]:
        raise _not_aligned(fname, a.shape, b.shape, a.ndim - 1, b.ndim - 1)
    return _dot_general(a, b, ((a.ndim - 1,), (b.ndim - 1,)))


def outer(a: Any, b: Any) -> Any:
    """The outer product of the flattened ``a`` and ``b``: ``out[i, j] = a[i] * b[j]``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.outer(fnp.asarray([1, 2]), fnp.asarray([1, 10, 100])).tolist()
        [[1, 10, 100], [2, 20, 200]]
    """
    fname = "funcgrad.numpy.outer"
    a = asarray(a, fname=fname)
    b = asarray(b, fname=fname)
    return ufuncs.multiply(_reshape(a, (a.size, 1)), _reshape(b, (1, b.size)))


def kron(a: Any, b: Any, /) -> Any:
    """The Kronecker product: blocks ``a[i, j, ...] * b`` laid out in ``a``'s shape.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.kron(fnp.asarray([1, 10]), fnp.asarray([1, 2, 3])).tolist()
        [1, 2, 3, 10, 20, 30]
    """
    fname = "funcgrad.numpy.kron"
    a = asarray(a, fname=fname)
    b = asarray(b, fname=fname)
    nd = max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + a.shape
    sb = (1,) * (nd - b.ndim) + b.shape
    # Interleave the axes: a as (a0, 1, a1, 1, ...), b as (1, b0, 1, b1, ...).
    a = _reshape(a, tuple(d for n in sa for d in (n, 1)))
    b = _reshape(b, tuple(d for n in sb for d in (1, n)))
    return _reshape(ufuncs.multiply(a, b), tuple(m * n for m, n in zip(sa, sb)))


def vecdot(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    """The dot product of vectors along ``axis``, conjugating ``x1``; other axes broadcast
    (NumPy 2's ``vecdot`` gufunc).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.vecdot(fnp.ones((2, 3)), fnp.asarray([1.0, 2.0, 3.0])).tolist()
        [6.0, 6.0]
    """
    fname = "funcgrad.numpy.vecdot"
    a, b = _arrays(fname, x1, x2)
    for i, x in enumerate((a, b)):
        if x.ndim == 0:
            raise ValueError(f"{fname}: operand {i} is 0-d (shape ()); vecdot needs vectors")
    a = _moveaxis(a, canonicalize_axis(axis, a.ndim, fname), a.ndim - 1)
    b = _moveaxis(b, canonicalize_axis(axis, b.ndim, fname), b.ndim - 1)
    return _batched_contract(fname, _conj(a), b, 1, 1, 0, 0)


def matvec(x1: Any, x2: Any, /) -> Any:
    """Matrix-vector products ``x1[..., :, :] @ x2[..., :]`` with broadcast batch axes
    (NumPy 2.2's ``matvec``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.matvec(fnp.ones((4, 2, 3)), fnp.ones(3)).shape
        (4, 2)
    """
    fname = "funcgrad.numpy.matvec"
    a, b = _arrays(fname, x1, x2)
    if a.ndim < 2 or b.ndim < 1:
        raise ValueError(
            f"{fname}: x1 must have at least 2 dimensions and x2 at least 1, got shapes "
            f"{a.shape} and {b.shape}"
        )
    return _batched_contract(fname, a, b, 2, 1, 1, 0)


def vecmat(x1: Any, x2: Any, /) -> Any:
    """Vector-matrix products ``conj(x1[..., :]) @ x2[..., :, :]`` with broadcast batch
    axes (NumPy 2.2's ``vecmat``; the vector is conjugated).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.vecmat(fnp.ones(2), fnp.ones((4, 2, 3))).shape
        (4, 3)
    """
    fname = "funcgrad.numpy.vecmat"
    a, b = _arrays(fname, x1, x2)
    if a.ndim < 1 or b.ndim < 2:
        raise ValueError(
            f"{fname}: x1 must have at least 1 dimension and x2 at least 2, got shapes "
            f"{a.shape} and {b.shape}"
        )
    return _batched_contract(fname, _conj(a), b, 1, 2, 0, 0)


def tensordot(a: Any, b: Any, /, axes: Any = 2) -> Any:
    """Sum-product over the last ``axes`` axes of ``a`` and the first of ``b``, or over
    the axes listed in a pair ``(axes_a, axes_b)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.tensordot(fnp.ones((2, 3, 4)), fnp.ones((3, 4, 5))).shape
        (2, 5)
        >>> fnp.tensordot(fnp.ones((3, 2)), fnp.ones((4, 3)), axes=([0], [1])).shape
        (2, 4)
    """
    fname = "funcgrad.numpy.tensordot"
    a, b = _arrays(fname, a, b)
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n < 0 or n > a.ndim or n > b.ndim:
            raise ValueError(
                f"{fname}: axes={n} must be between 0 and the smaller rank of shapes "
                f"{a.shape} and {b.shape}"
            )
        axes_a, axes_b = tuple(range(a.ndim - n, a.ndim)), tuple(range(n))
    else:
        try:
            axes_a, axes_b = axes
        except (TypeError, ValueError):
            raise TypeError(
                f"{fname}: axes must be an int or a pair of axis sequences, got {axes!r}"
            ) from None
        axes_a = (axes_a,) if isinstance(axes_a, (int, np.integer)) else tuple(axes_a)
        axes_b = (axes_b,) if isinstance(axes_b, (int, np.integer)) else tuple(axes_b)
        if len(axes_a) != len(axes_b):
            raise ValueError(
                f"{fname}: axes {axes_a} of a and {axes_b} of b must have the same length"
            )
        axes_a = tuple(canonicalize_axis(x, a.ndim, fname, "axes") for x in axes_a)
        axes_b = tuple(canonicalize_axis(x, b.ndim, fname, "axes") for x in axes_b)
        if len(set(axes_a)) != len(axes_a) or len(set(axes_b)) != len(axes_b):
            raise ValueError(f"{fname}: repeated axis in axes={axes!r}")
    for da, db in zip(axes_a, axes_b):
        if a.shape[da] != b.shape[db]:
            raise ValueError(
                f"{fname}: shape-mismatch for sum: a of shape {a.shape} has {a.shape[da]} "
                f"at axis {da}, b of shape {b.shape} has {b.shape[db]} at axis {db}"
            )
    return _dot_general(a, b, (axes_a, axes_b))


# ------------------------------------------------------------------------------------
# einsum
# ------------------------------------------------------------------------------------

_EINSUM = "funcgrad.numpy.einsum"
_LETTERS = frozenset(string.ascii_letters)


def _sublist_to_subscripts(sublist: Sequence[Any]) -> str:
    # NumPy's mapping for the interleaved form: 0-25 -> 'A'-'Z', 26-51 -> 'a'-'z'.
    out = []
    for s in sublist:
        if s is Ellipsis:
            out.append("...")
            continue
        try:
            k = int(s)
        except TypeError:
            raise TypeError(
                f"{_EINSUM}: subscript {s!r} in a sublist must be an int or Ellipsis"
            ) from None
        if not 0 <= k < 52:
            raise ValueError(f"{_EINSUM}: subscript {k} in a sublist is not in [0, 52)")
        out.append(string.ascii_uppercase[k] if k < 26 else string.ascii_lowercase[k - 26])
    return "".join(out)


def _einsum_args(subscripts: Any, operands: tuple) -> tuple[str, list]:
    """Accept both the string form and the interleaved ``(op, sublist, ..., [out])`` form."""
    if isinstance(subscripts, str):
        return subscripts, list(operands)
    args = [subscripts, *operands]
    ops = args[0::2]
    subs = args[1::2]
    out = None
    if len(args) % 2:  # an output sublist ends the list
        out = ops.pop()
    if len(subs) != len(ops):
        raise TypeError(f"{_EINSUM}: the interleaved form needs one sublist per operand")
    spec = ",".join(_sublist_to_subscripts(s) for s in subs)
    if out is not None:
        spec += "->" + _sublist_to_subscripts(out)
    return spec, ops


def _fresh_symbols(used: set, n: int) -> list[str]:
    import opt_einsum

    out, i = [], 0
    while len(out) < n:
        s = opt_einsum.get_symbol(i)
        if s not in used:
            out.append(s)
        i += 1
    return out


@lru_cache(maxsize=512)
def _parse_einsum(subscripts: str, ndims: tuple[int, ...]) -> tuple[tuple[str, ...], str]:
    """Input terms (one symbol per axis, ellipses expanded) and the output term."""
    spec = subscripts.replace(" ", "")
    if "->" in spec:
        lhs, out = spec.split("->", 1)
        explicit = True
    else:
        lhs, out, explicit = spec, "", False
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(
            f"{_EINSUM}: subscripts {subscripts!r} name {len(terms)} operands but "
            f"{len(ndims)} were given"
        )
    for t in (*terms, out):
        bad = set(t.replace("...", "")) - _LETTERS
        if bad or t.count("...") > 1 or ("." in t.replace("...", "")):
            raise ValueError(
                f"{_EINSUM}: invalid subscripts {subscripts!r}: use letters a-z, A-Z, one "
                f"'...' per term, ',' between operands and '->' before the output"
            )
    used = set(lhs) | set(out)
    n_ell = 0
    for t, nd in zip(terms, ndims):
        named = len(t.replace("...", ""))
        if ("..." in t and named > nd) or ("..." not in t and named != nd):
            raise ValueError(
                f"{_EINSUM}: term {t!r} of subscripts {subscripts!r} does not match an "
                f"operand with {nd} dimensions"
            )
        if "..." in t:
            n_ell = max(n_ell, nd - named)
    ell = "".join(_fresh_symbols(used, n_ell))
    inputs = []
    for t, nd in zip(terms, ndims):
        if "..." in t:
            k = nd - len(t.replace("...", ""))
            t = t.replace("...", ell[n_ell - k :])
        inputs.append(t)
    if explicit:
        if "..." in out:
            out = out.replace("...", ell)
        elif n_ell:
            raise ValueError(
                f"{_EINSUM}: subscripts {subscripts!r} have '...' in an input but not in "
                f"the output; add '...' to the output"
            )
        for c in out:
            if out.count(c) > 1:
                raise ValueError(f"{_EINSUM}: output subscript {c!r} appears more than once")
            if not any(c in t for t in inputs):
                raise ValueError(f"{_EINSUM}: output subscript {c!r} appears in no input")
    else:
        counts = {}
        for t in inputs:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        # NumPy's implicit output: the ellipsis axes, then labels seen once, in ASCII order.
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    return tuple(inputs), out


def _einsum_optimize_arg(optimize: Any, n_operands: int) -> Any:
    """opt_einsum's ``optimize`` for NumPy's (``False``: left to right; ``True``: greedy)."""
    if optimize is False or optimize is None:
        return tuple((0, 1) for _ in range(n_operands - 1))
    if optimize is True:
        return "greedy"
    if isinstance(optimize, str):
        return optimize
    path = list(optimize)
    if path and path[0] == "einsum_path":  # NumPy's einsum_path output
        path = path[1:]
    return tuple(tuple(int(i) for i in step) for step in path)


@lru_cache(maxsize=512)
def _contraction_path(terms: tuple[str, ...], out: str, shapes: tuple, optimize: Any) -> tuple:
    if isinstance(optimize, tuple):
        return optimize
    import opt_einsum

    path, _ = opt_einsum.contract_path(
        ",".join(terms) + "->" + out, *shapes, shapes=True, optimize=optimize
    )
    return tuple(tuple(step) for step in path)


def _einsum_prepare(x: Any, term: str, keep: set, sizes: dict | None = None) -> tuple[Any, str]:
    """Take diagonals for repeated labels, drop size-1 axes that broadcast against a
    longer axis of the same label (``sizes``), and sum the labels not in ``keep``."""
    while len(set(term)) != len(term):
        c = next(c for c in term if term.count(c) > 1)
        p = term.index(c)
        q = term.index(c, p + 1)
        if x.shape[p] != x.shape[q]:
            raise ValueError(
                f"{_EINSUM}: repeated subscript {c!r} labels axes {p} and {q} of an operand "
                f"of shape {x.shape}, whose sizes differ"
            )
        rest = [d for d in range(x.ndim) if d not in (p, q)]
        x = _diagonal(_transpose(x, (*rest, p, q)))
        term = "".join(term[d] for d in rest) + c
    drop = [d for d, c in enumerate(term) if sizes and x.shape[d] == 1 and sizes[c] != 1]
    if drop:
        x = _reshape(x, tuple(n for d, n in enumerate(x.shape) if d not in drop))
        term = "".join(c for d, c in enumerate(term) if d not in drop)
    summed = [d for d, c in enumerate(term) if c not in keep]
    if summed:
        x = _sum(x, summed)
        term = "".join(c for d, c in enumerate(term) if d not in summed)
    return x, term


def _einsum_pair(a: Any, ta: str, b: Any, tb: str, keep: set) -> tuple[Any, str]:
    """One pairwise contraction with one dot_general; returns the result and its term."""
    a, ta = _einsum_prepare(a, ta, keep | set(tb))
    b, tb = _einsum_prepare(b, tb, keep | set(ta))
    shared = [c for c in ta if c in tb]
    batch = [c for c in shared if c in keep]
    contract = [c for c in shared if c not in keep]
    out = _dot_general(
        a,
        b,
        (tuple(ta.index(c) for c in contract), tuple(tb.index(c) for c in contract)),
        (tuple(ta.index(c) for c in batch), tuple(tb.index(c) for c in batch)),
    )
    term = (
        "".join(batch)
        + "".join(c for c in ta if c not in tb)
        + "".join(c for c in tb if c not in ta)
    )
    return out, term


def einsum(
    subscripts: Any,
    /,
    *operands: Any,
    dtype: Any = None,
    order: str = "K",
    casting: str = "safe",
    optimize: Any = "auto",
) -> Any:
    """Einstein summation, evaluated as a sequence of pairwise ``dot_general`` contractions
    in the order opt_einsum's path optimiser picks.

    Supports NumPy's string form (implicit ``'ij,jk'`` and explicit ``'ij,jk->ik'``
    outputs, ``...`` for broadcast axes, repeated labels for diagonals) and the
    interleaved form ``einsum(a, [0, 1], b, [1, 2], [0, 2])``.

    Differences from NumPy: ``optimize`` defaults to ``'auto'`` (opt_einsum's choice)
    rather than ``False``; ``False`` contracts left to right, pair by pair. ``order`` is
    ignored (arrays are immutable).

    Args:
        dtype: compute in (and return) this dtype; operands are cast following
            ``casting`` as in NumPy.
        optimize: ``'auto'``, ``True`` (greedy), ``False``, an opt_einsum strategy name
            (``'greedy'``, ``'optimal'``, ``'dp'``, ...) or an explicit path such as the
            first output of :func:`einsum_path`.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> a = fnp.asarray([[1, 2], [3, 4]])
        >>> fnp.einsum('ii', a).item()
        5
        >>> fnp.einsum('ij,jk->ik', a, a).tolist()
        [[7, 10], [15, 22]]
        >>> fnp.einsum('...ij->...ji', fnp.ones((5, 2, 3))).shape
        (5, 3, 2)
    """
    del order
    spec, ops = _einsum_args(subscripts, operands)
    if not ops:
        raise ValueError(f"{_EINSUM}: at least one operand is required")
    arrs = [asarray(x, fname=_EINSUM) for x in ops]
    if dtype is None:
        dt = dtypes.result_type(*(a.dtype for a in arrs))
    else:
        dt = dtypes.canonicalize_dtype(dtype, _EINSUM)
        for a in arrs:
            if not np.can_cast(a.dtype, dt, casting):
                raise TypeError(
                    f"{_EINSUM}: cannot cast an operand from {a.dtype} to dtype={dt} under "
                    f"casting={casting!r}"
                )
    arrs = [convert(a, dt) for a in arrs]
    terms, out = _parse_einsum(spec, tuple(a.ndim for a in arrs))

    sizes: dict[str, int] = {}
    for a, t in zip(arrs, terms):
        for c, n in zip(t, a.shape):
            prev = sizes.get(c)
            if prev is None or prev == 1:
                sizes[c] = n
            elif n not in (1, prev):
                raise ValueError(
                    f"{_EINSUM}: subscript {c!r} labels axes of sizes {prev} and {n}, which "
                    f"neither match nor broadcast (operand shapes {[x.shape for x in arrs]})"
                )

    # Prepare each operand against the labels the output and the other operands need.
    prepared = []
    for i, (a, t) in enumerate(zip(arrs, terms)):
        keep = set(out).union(*(terms[j] for j in range(len(terms)) if j != i))
        prepared.append(_einsum_prepare(a, t, keep, sizes))

    if len(prepared) > 1:
        if len(prepared) == 2 and isinstance(optimize, (str, bool)):
            path = ((0, 1),)  # the only order there is: skip the optimiser
        else:
            path = _contraction_path(
                tuple(t for _, t in prepared),
                out,
                tuple(x.shape for x, _ in prepared),
                _einsum_optimize_arg(optimize, len(prepared)),
            )
        for step in path:
            # As in opt_einsum: pop the listed operands, append their contraction.
            picked = [prepared.pop(i) for i in sorted(step, reverse=True)][::-1]
            x, t = picked[0]
            for k, (y, u) in enumerate(picked[1:], 1):
                rest = picked[k + 1 :] + prepared
                keep = set(out).union(*(v for _, v in rest))
                x, t = _einsum_pair(x, t, y, u, keep)
            if len(picked) == 1:
                keep = set(out).union(*(v for _, v in prepared))
                x, t = _einsum_prepare(x, t, keep)
            prepared.append((x, t))
        if len(prepared) != 1:
            raise ValueError(
                f"{_EINSUM}: the contraction path {path} leaves {len(prepared)} operands"
            )
    x, t = prepared[0]
    x, t = _einsum_prepare(x, t, set(out))
    return _transpose(x, tuple(t.index(c) for c in out))


def einsum_path(subscripts: Any, /, *operands: Any, optimize: Any = "greedy") -> tuple[list, str]:
    """The contraction order :func:`einsum` would use, from opt_einsum's path optimiser.

    Returns NumPy's pair: the path as ``['einsum_path', (i, j), ...]`` (which
    ``einsum(..., optimize=path)`` accepts) and opt_einsum's printed report.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> a = fnp.ones((2, 3)); b = fnp.ones((3, 4)); c = fnp.ones((4, 5))
        >>> fnp.einsum_path('ij,jk,kl->il', a, b, c)[0]
        ['einsum_path', (1, 2), (0, 1)]
    """
    import opt_einsum

    spec, ops = _einsum_args(subscripts, operands)
    shapes = [tuple(getattr(x, "shape", np.shape(x))) for x in ops]
    opt = _einsum_optimize_arg(optimize, len(ops))
    if isinstance(opt, tuple):
        opt = [tuple(s) for s in opt]
    path, info = opt_einsum.contract_path(spec, *shapes, shapes=True, optimize=opt)
    return ["einsum_path", *(tuple(s) for s in path)], str(info)


# ------------------------------------------------------------------------------------
# Other products
# ------------------------------------------------------------------------------------


def cross(
    a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: int | None = None
) -> Any:
    """The cross product of 3-vectors (or 2-vectors, as NumPy still allows) along the
    given axes; the other axes broadcast.

    Two 2-vectors give the scalar z-component; a 2-vector meeting a 3-vector is
    treated as having z = 0.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.cross(fnp.asarray([1, 0, 0]), fnp.asarray([0, 1, 0])).tolist()
        [0, 0, 1]
    """
    fname = "funcgrad.numpy.cross"
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = _arrays(fname, a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(
            f"{fname}: a and b must be arrays of vectors, got shapes {a.shape} and {b.shape}"
        )
    a = _moveaxis(a, canonicalize_axis(axisa, a.ndim, fname, "axisa"), a.ndim - 1)
    b = _moveaxis(b, canonicalize_axis(axisb, b.ndim, fname, "axisb"), b.ndim - 1)
    na, nb = a.shape[-1], b.shape[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(
            f"{fname}: incompatible dimensions for cross product (dimension must be 2 or 3), "
            f"got vectors of length {na} and {nb}"
        )
    batch = broadcast_shapes_cached(fname, a.shape[:-1], b.shape[:-1])
    if a.dtype.kind == "b":
        raise TypeError(f"{fname}: boolean vectors are not supported (subtraction of booleans)")
    comp_a = [a[..., i] for i in range(na)]
    comp_b = [b[..., i] for i in range(nb)]
    mul, sub = ufuncs.multiply, ufuncs.subtract
    if na == 2 and nb == 2:
        return broadcast_to_shape(sub(mul(comp_a[0], comp_b[1]), mul(comp_a[1], comp_b[0])), batch)
    a0, a1 = comp_a[:2]
    b0, b1 = comp_b[:2]
    z = sub(mul(a0, b1), mul(a1, b0))
    if na == 3 and nb == 3:
        a2, b2 = comp_a[2], comp_b[2]
        parts = [sub(mul(a1, b2), mul(a2, b1)), sub(mul(a2, b0), mul(a0, b2)), z]
    elif na == 2:
        b2 = comp_b[2]
        parts = [mul(a1, b2), ufuncs.negative(mul(a0, b2)), z]
    else:
        a2 = comp_a[2]
        parts = [ufuncs.negative(mul(a2, b1)), mul(a2, b0), z]
    parts = [_reshape(broadcast_to_shape(p, batch), (*batch, 1)) for p in parts]
    out = _concatenate(parts, len(batch))
    return _moveaxis(out, len(batch), canonicalize_axis(axisc, out.ndim, fname, "axisc"))


def trace(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None) -> Any:
    """The sum along a diagonal of ``a`` (the diagonal of axes ``axis1``, ``axis2``).

    As NumPy's ``sum``, small integers and bool accumulate in 64 bits unless ``dtype``
    is given.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.trace(fnp.asarray([[1, 2], [3, 4]])).item()
        5
    """
    fname = "funcgrad.numpy.trace"
    a = asarray(a, fname=fname)
    if a.ndim < 2:
        raise ValueError(f"{fname}: a must have at least 2 dimensions, got shape {a.shape}")
    ax1 = canonicalize_axis(axis1, a.ndim, fname, "axis1")
    ax2 = canonicalize_axis(axis2, a.ndim, fname, "axis2")
    if ax1 == ax2:
        raise ValueError(f"{fname}: axis1 and axis2 cannot be the same (both {ax1})")
    rest = [d for d in range(a.ndim) if d not in (ax1, ax2)]
    diag = _diagonal(_transpose(a, (*rest, ax1, ax2)), int(offset))
    dt = _sum_dtype(a.dtype) if dtype is None else dtypes.canonicalize_dtype(dtype, fname)
    return _sum(convert(diag, dt), (diag.ndim - 1,))


def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = None, append: Any = None) -> Any:
    """The ``n``-th discrete difference along ``axis`` (``a[1:] - a[:-1]``; ``!=`` for bool).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.diff(fnp.asarray([1, 4, 9, 16])).tolist()
        [3, 5, 7]
        >>> fnp.diff(fnp.asarray([1, 4, 9]), n=2).tolist()
        [2]
    """
    fname = "funcgrad.numpy.diff"
    a = asarray(a, fname=fname)
    try:
        n = int(n)
    except TypeError:
        raise TypeError(f"{fname}: order n must be an integer, got {n!r}") from None
    if n < 0:
        raise ValueError(f"{fname}: order must be non-negative but got n={n}")
    if n == 0:
        return a
    if a.ndim == 0:
        raise ValueError(f"{fname}: diff requires input that is at least one dimensional")
    axis = canonicalize_axis(axis, a.ndim, fname)
    parts = []
    for name, extra in (("prepend", prepend), ("append", append)):
        if extra is None:
            parts.append(None)
            continue
        extra = asarray(extra, fname=fname)
        if extra.ndim == 0:
            extra = broadcast_to_shape(extra, a.shape[:axis] + (1,) + a.shape[axis + 1 :])
        if extra.ndim != a.ndim:
            raise ValueError(
                f"{fname}: {name} of shape {extra.shape} must be 0-d or have the rank of a "
                f"(shape {a.shape})"
            )
        parts.append(extra)
    if parts[0] is not None or parts[1] is not None:
        a = _concatenate([p for p in (parts[0], a, parts[1]) if p is not None], axis)
    op = ufuncs.not_equal if a.dtype.kind == "b" else ufuncs.subtract
    lead = (slice(None),) * axis
    for _ in range(n):
        a = op(a[lead + (slice(1, None),)], a[lead + (slice(None, -1),)])
    return a


# --- 1-D convolution and correlation ----------------------------------------------------


def _sliding_dot(a: Any, w: Any, start: int, length: int) -> Any:
    """``out[i] = sum_n ap[start + i + n] * w[n]`` for ``i < length``, where ``ap`` is
    ``a`` zero-padded by ``len(w) - 1`` on each side: one gather of all windows, one
    dot_general."""
    k = w.shape[0]
    ap = structural.pad_p.bind1(a, 0, padding_config=((k - 1, k - 1, 0),))
    pos = structural.iota_p.bind1(dtype=dtypes.int64, shape=(length, k), dimension=0)
    off = structural.iota_p.bind1(dtype=dtypes.int64, shape=(length, k), dimension=1)
    idx = ufuncs.add(ufuncs.add(pos, off), start)
    windows = ap[idx]
    return _dot_general(windows, w, ((1,), (0,)))


def _vectors_1d(fname: str, a: Any, v: Any) -> tuple[Any, Any]:
    a, v = _arrays(fname, a, v)
    if a.ndim != 1 or v.ndim != 1:
        raise ValueError(f"{fname}: a and v must be 1-D, got shapes {a.shape} and {v.shape}")
    if a.shape[0] == 0 or v.shape[0] == 0:
        raise ValueError(f"{fname}: a (shape {a.shape}) and v (shape {v.shape}) cannot be empty")
    return a, v


def _mode_window(fname: str, mode: str, m: int, n: int, same_start: int, valid_start: int):
    if mode == "full":
        return 0, m + n - 1
    if mode == "same":
        return same_start, max(m, n)
    if mode == "valid":
        return valid_start, max(m, n) - min(m, n) + 1
    raise ValueError(f"{fname}: mode must be 'full', 'same' or 'valid', got {mode!r}")


def convolve(a: Any, v: Any, mode: str = "full") -> Any:
    """The discrete linear convolution of two 1-D arrays (NumPy's ``convolve``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.convolve(fnp.asarray([1, 2, 3]), fnp.asarray([0, 1, 0.5])).tolist()
        [0.0, 1.0, 2.5, 4.0, 1.5]
    """
    fname = "funcgrad.numpy.convolve"
    a, v = _vectors_1d(fname, a, v)
    m, n = a.shape[0], v.shape[0]
    start, length = _mode_window(fname, mode, m, n, (min(m, n) - 1) // 2, min(m, n) - 1)
    return _sliding_dot(a, v[::-1], start, length)


def correlate(a: Any, v: Any, mode: str = "valid") -> Any:
    """The cross-correlation ``c[k] = sum_n a[n + k] * conj(v[n])`` of two 1-D arrays.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.correlate(fnp.asarray([1, 2, 3]), fnp.asarray([0, 1, 0.5])).tolist()
        [3.5]
        >>> fnp.correlate(fnp.asarray([1, 2, 3]), fnp.asarray([0, 1, 0.5]), 'full').tolist()
        [0.5, 2.0, 3.5, 3.0, 0.0]
    """
    fname = "funcgrad.numpy.correlate"
    a, v = _vectors_1d(fname, a, v)
    m, n = a.shape[0], v.shape[0]
    # NumPy centres 'same' on the longer input (found against NumPy for all small sizes).
    same = (n - 1) // 2 if m >= n else m - 1 - (m - 1) // 2
    start, length = _mode_window(fname, mode, m, n, same, min(m, n) - 1)
    return _sliding_dot(a, _conj(v), start, length)


__all__ = [
    "convolve", "correlate", "cross", "diff", "dot", "einsum", "einsum_path", "inner",
    "kron", "matmul", "matvec", "outer", "tensordot", "trace", "vdot", "vecdot", "vecmat",
]  # fmt: skip
