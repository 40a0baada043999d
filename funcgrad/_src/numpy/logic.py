"""Whole-array comparisons and dtype predicates: isclose, allclose, array_equal, isdtype, ..."""

from __future__ import annotations

import numpy as np

from funcgrad._src import dtypes
from funcgrad._src.lax import reductions
from funcgrad._src.numpy import ufuncs
from funcgrad._src.numpy.util import asarray, convert, is_array

_WEAK = (bool, int, float, complex)


def _all(x):
    return reductions.reduce_and_p.bind1(x, axes=tuple(range(x.ndim)))


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``|a - b| <= atol + rtol * |b|`` elementwise, with infinities equal only to themselves.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.isclose(fnp.asarray([1.0, 1.1]), 1.0).tolist()
        [True, False]
    """
    fname = "funcgrad.numpy.isclose"
    a, b = asarray(a, fname=fname), asarray(b, fname=fname)
    dt = dtypes.result_type(a, b)
    if not dtypes.is_inexact(dt):
        dt = dtypes.to_inexact(dt)
    a, b = convert(a, dt), convert(b, dt)
    # Non-finite pairs are compared for equality only (inf - inf would be nan), and are
    # replaced by 0 in the tolerance test so that no floating-point warning is raised.
    finite = ufuncs.logical_and(ufuncs.isfinite(a), ufuncs.isfinite(b))
    af, bf = ufuncs.where(finite, a, 0), ufuncs.where(finite, b, 0)
    tol = ufuncs.add(atol, ufuncs.multiply(rtol, ufuncs.absolute(bf)))
    close = ufuncs.less_equal(ufuncs.absolute(ufuncs.subtract(af, bf)), tol)
    out = ufuncs.where(finite, close, ufuncs.equal(a, b))
    if equal_nan:
        out = ufuncs.logical_or(out, ufuncs.logical_and(ufuncs.isnan(a), ufuncs.isnan(b)))
    return out


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True if every element of ``a`` and ``b`` is :func:`isclose` (a 0-d bool array)."""
    return _all(isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def array_equal(a1, a2, equal_nan=False):
    """True if ``a1`` and ``a2`` have the same shape and elements (a 0-d bool array).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> bool(fnp.array_equal(fnp.asarray([1, 2]), [1, 2]))
        True
    """
    a1, a2 = asarray(a1), asarray(a2)
    if a1.shape != a2.shape:
        return asarray(False)
    eq = ufuncs.equal(a1, a2)
    if equal_nan and dtypes.is_inexact(dtypes.result_type(a1, a2)):
        eq = ufuncs.logical_or(eq, ufuncs.logical_and(ufuncs.isnan(a1), ufuncs.isnan(a2)))
    return _all(eq)


def array_equiv(a1, a2):
    """True if ``a1`` and ``a2`` broadcast to one shape and are equal there."""
    a1, a2 = asarray(a1), asarray(a2)
    try:
        np.broadcast_shapes(a1.shape, a2.shape)
    except ValueError:
        return asarray(False)
    return _all(ufuncs.equal(a1, a2))


def isreal(x):
    """True where the imaginary part is zero (everywhere for real dtypes)."""
    return ufuncs.equal(ufuncs.imag(asarray(x)), 0)


def iscomplex(x):
    """True where the imaginary part is nonzero."""
    return ufuncs.not_equal(ufuncs.imag(asarray(x)), 0)


def iscomplexobj(x) -> bool:
    """True if ``x`` has a complex dtype (whatever its values)."""
    return dtypes.is_complex(dtypes.result_type(x))


def isrealobj(x) -> bool:
    """True if ``x`` does not have a complex dtype."""
    return not iscomplexobj(x)


def isscalar(element) -> bool:
    """NumPy's ``isscalar``: Python and NumPy scalars, never arrays (0-d ones included)."""
    return not is_array(element) and np.isscalar(element)


def ndim(a) -> int:
    """The number of dimensions of ``a``."""
    return a.ndim if is_array(a) else np.ndim(a)


def shape(a) -> tuple[int, ...]:
    """The shape of ``a``."""
    return a.shape if is_array(a) else np.shape(a)


def size(a, axis=None) -> int:
    """The number of elements of ``a`` (along ``axis`` if given)."""
    s = shape(a)
    if axis is None:
        return int(np.prod(s, dtype=np.int64))
    from funcgrad._src.numpy.util import canonicalize_axis

    return s[canonicalize_axis(axis, len(s), "funcgrad.numpy.size")]


def astype(x, dtype, /, *, copy=True, device=None):
    """``x`` converted to ``dtype`` (the array API's function form of ``x.astype``)."""
    del copy  # immutable arrays: a conversion to the same dtype can return x itself
    out = asarray(x, dtype=dtype, fname="funcgrad.numpy.astype")
    if device is not None:
        from funcgrad._src.api import device_put

        out = device_put(out, device)
    return out


_KINDS = {
    "bool": "b", "signed integer": "i", "unsigned integer": "u", "integral": "iu",
    "real floating": "f", "complex floating": "c", "numeric": "iufc",
}  # fmt: skip


def isdtype(dtype, kind) -> bool:
    """The array API's dtype predicate: ``kind`` is a dtype, a kind name or a tuple of them.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.isdtype(fnp.float32, ("integral", "real floating"))
        True
    """
    dtype = np.dtype(dtype)
    if isinstance(kind, tuple):
        return any(isdtype(dtype, k) for k in kind)
    if isinstance(kind, str):
        if kind not in _KINDS:
            raise ValueError(
                f"funcgrad.numpy.isdtype: unknown kind {kind!r}; use one of {sorted(_KINDS)}"
            )
        return dtype.kind in _KINDS[kind]
    return dtype == np.dtype(kind)


def can_cast(from_, to, casting="safe") -> bool:
    """NumPy's ``can_cast`` for dtypes and arrays (arrays by their dtype)."""
    if is_array(from_):
        from_ = from_.dtype
    elif type(from_) in _WEAK:
        raise TypeError(
            "funcgrad.numpy.can_cast: pass a dtype or an array, not a Python scalar (as in NumPy 2)"
        )
    return bool(np.can_cast(from_, to, casting=casting))


issubdtype = np.issubdtype

__all__ = [
    "allclose", "array_equal", "array_equiv", "astype", "can_cast", "iscomplex", "iscomplexobj",
    "isclose", "isdtype", "isreal", "isrealobj", "isscalar", "issubdtype", "ndim", "shape", "size",
]  # fmt: skip
