"""User-defined ufuncs: ``frompyfunc`` and the ``ufunc`` class with NumPy's methods
(``outer``, ``reduce``, ``accumulate``, ``reduceat``, ``at``).

A scalar function becomes elementwise by ``vectorize`` (``vmap``); ``reduce`` and
``accumulate`` fold it along an axis with ``lax.scan`` (so no associativity is
assumed, and the fold is sequential, as NumPy's); ``at`` applies it at each index in
turn, so repeated indices accumulate as in NumPy's unbuffered ``ufunc.at``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from funcgrad._src.numpy import base as fnp
from funcgrad._src.numpy.functional import vectorize
from funcgrad._src.numpy.util import asarray

__all__ = ["frompyfunc", "ufunc"]


class ufunc:
    """A ufunc made from ``func`` of ``nin`` scalar inputs and ``nout`` outputs (see
    :func:`frompyfunc`); ``identity`` is the value a reduction of nothing gives.

    Examples:
        >>> import operator, funcgrad.numpy as fnp
        >>> add = fnp.ufunc(operator.add, 2, 1, identity=0)
        >>> add.accumulate(fnp.arange(4)).tolist()
        [0, 1, 3, 6]
    """

    def __init__(self, func: Callable, /, nin: int, nout: int, *, name: str | None = None,
                 identity: Any = None):  # fmt: skip
        if not callable(func):
            raise TypeError(f"funcgrad.numpy.ufunc: func must be callable, got {func!r}")
        self.func = func
        self.nin, self.nout = operator.index(nin), operator.index(nout)
        self.nargs = self.nin + self.nout
        self.identity = identity
        self.__name__ = name or getattr(func, "__name__", "ufunc")
        self._vectorized = vectorize(func)

    def __repr__(self) -> str:
        return f"<funcgrad.numpy.ufunc '{self.__name__}'>"

    def __call__(self, *args: Any) -> Any:
        if len(args) != self.nin:
            raise TypeError(f"{self.__name__}: expected {self.nin} arguments, got {len(args)}")
        return self._vectorized(*args)

    def _binary(self, method: str) -> None:
        if self.nin != 2 or self.nout != 1:
            raise ValueError(f"{self.__name__}.{method} needs a binary ufunc with one output "
                             f"(nin=2, nout=1), this one has nin={self.nin}, nout={self.nout}")  # fmt: skip

    def outer(self, A, B, /):
        """``func(A[i..., None...], B[..., j...])`` over all pairs of elements.

        Examples:
            >>> import operator, funcgrad.numpy as fnp
            >>> mul = fnp.frompyfunc(operator.mul, 2, 1)
            >>> mul.outer(fnp.asarray([1, 2]), fnp.asarray([3, 4, 5])).tolist()
            [[3, 4, 5], [6, 8, 10]]
        """
        self._binary("outer")
        A, B = asarray(A), asarray(B)
        return self(A.reshape(A.shape + (1,) * B.ndim), B)

    def _fold(self, a: Any, initial: Any, keep_all: bool) -> Any:
        """Left fold of ``func`` over axis 0 of ``a``, from ``initial`` (or ``a[0]``)."""
        from funcgrad._src.control_flow import scan

        if initial is None:
            init, rest = a[0], a[1:]
        else:
            init, rest = fnp.full(a.shape[1:], initial, a.dtype), a

        def step(carry, x):
            y = asarray(self(carry, x)).astype(a.dtype)
            return y, y

        last, ys = scan(step, init, rest)
        if keep_all:
            return ys if initial is not None else fnp.concatenate([init[None], ys])
        return last

    def reduce(self, a, axis=0, dtype=None, out=None, keepdims=False, initial=None, where=None):
        """``func`` folded over ``axis`` (None: all axes; a tuple: each in turn), from
        ``initial``, the ``identity``, or the first element.

        Examples:
            >>> import operator, funcgrad.numpy as fnp
            >>> mul = fnp.frompyfunc(operator.mul, 2, 1, identity=1)
            >>> mul.reduce(fnp.asarray([[1, 2], [3, 4]]), axis=1).tolist()
            [2, 12]
        """
        self._binary("reduce")
        if out is not None:
            raise TypeError(f"{self.__name__}.reduce: out= is not supported (arrays are immutable)")
        a = asarray(a)
        if dtype is not None:
            a = a.astype(dtype)
        axes = tuple(range(a.ndim)) if axis is None else (
            (axis,) if np.ndim(axis) == 0 else tuple(axis))  # fmt: skip
        axes = tuple(sorted(operator.index(ax) % a.ndim for ax in axes)) if a.ndim else ()
        if initial is None:
            initial = self.identity
        if where is not None:
            if initial is None:
                raise ValueError(f"{self.__name__}.reduce: where= needs an identity or initial")
            a = fnp.where(asarray(where), a, fnp.full((), initial, a.dtype))
        result = a
        for ax in reversed(axes):
            moved = fnp.moveaxis(result, ax, 0)
            if moved.shape[0] == 0 and initial is None:
                raise ValueError(f"{self.__name__}.reduce: zero-size array to reduction with no "
                                 f"identity")  # fmt: skip
            result = self._fold(moved, initial, keep_all=False)
        if keepdims:
            result = fnp.expand_dims(result, axes) if axes else result
        return result

    def accumulate(self, a, axis=0, dtype=None, out=None):
        """The running fold of ``func`` along ``axis`` (``add.accumulate`` is ``cumsum``).

        Examples:
            >>> import funcgrad.numpy as fnp
            >>> fmax = fnp.frompyfunc(fnp.maximum, 2, 1)
            >>> fmax.accumulate(fnp.asarray([1, 3, 2, 5])).tolist()
            [1, 3, 3, 5]
        """
        self._binary("accumulate")
        if out is not None:
            raise TypeError(f"{self.__name__}.accumulate: out= is not supported")
        a = asarray(a)
        if dtype is not None:
            a = a.astype(dtype)
        axis = operator.index(axis) % a.ndim
        moved = fnp.moveaxis(a, axis, 0)
        if moved.shape[0] == 0:
            return a
        return fnp.moveaxis(self._fold(moved, None, keep_all=True), 0, axis)

    def reduceat(self, a, indices, axis=0, dtype=None, out=None):
        """Reductions over the slices ``a[indices[i]:indices[i+1]]`` along ``axis`` (just
        ``a[indices[i]]`` where ``indices[i] >= indices[i+1]``), NumPy's rule; ``indices``
        must be concrete.

        Examples:
            >>> import operator, funcgrad.numpy as fnp
            >>> add = fnp.frompyfunc(operator.add, 2, 1, identity=0)
            >>> add.reduceat(fnp.arange(6), [0, 2, 5]).tolist()
            [1, 9, 5]
        """
        from funcgrad._src.core import concrete_or_error

        self._binary("reduceat")
        if out is not None:
            raise TypeError(f"{self.__name__}.reduceat: out= is not supported")
        a = asarray(a)
        if dtype is not None:
            a = a.astype(dtype)
        idx = np.asarray(concrete_or_error(asarray(indices), f"{self.__name__}.reduceat",
                                           "the slice bounds", "pass concrete indices"))  # fmt: skip
        axis = operator.index(axis) % a.ndim
        moved = fnp.moveaxis(a, axis, 0)
        n = moved.shape[0]
        pieces = []
        for i, start in enumerate(idx.tolist()):
            if not 0 <= start < n:
                raise IndexError(f"{self.__name__}.reduceat: index {start} out of bounds for "
                                 f"size {n}")  # fmt: skip
            stop = idx[i + 1] if i + 1 < idx.size else n
            if stop > start:
                pieces.append(self._fold(moved[start:stop], None, keep_all=False))
            else:
                pieces.append(moved[start])
        return fnp.moveaxis(fnp.stack(pieces), 0, axis)

    def at(self, a, indices, b=None, /, *, inplace=True):
        """``a`` with ``func(a[i], b)`` stored at each index ``i`` in turn (repeated indices
        apply repeatedly, as NumPy's unbuffered ``ufunc.at``). Pass ``inplace=False``.

        Examples:
            >>> import operator, funcgrad.numpy as fnp
            >>> add = fnp.frompyfunc(operator.add, 2, 1, identity=0)
            >>> add.at(fnp.zeros(3), fnp.asarray([0, 0, 2]), 1.0, inplace=False).tolist()
            [2.0, 0.0, 1.0]
        """
        from funcgrad._src.control_flow import scan

        if inplace:
            raise ValueError(f"{self.__name__}.at cannot modify arrays in place: funcgrad "
                             f"arrays are immutable. Pass inplace=False")  # fmt: skip
        if (b is None) != (self.nin == 1):
            raise TypeError(f"{self.__name__}.at: pass b for a binary ufunc (and only then)")
        a = asarray(a)
        if isinstance(indices, tuple):
            parts = fnp.broadcast_arrays(*[asarray(i) for i in indices])
            shape = parts[0].shape
            flat = tuple(fnp.ravel(p) for p in parts)
            sub = a.shape[len(indices) :]
        else:
            ind = asarray(indices)
            shape = ind.shape
            flat = (fnp.ravel(ind),)
            sub = a.shape[1:]
        k = int(np.prod(shape, dtype=np.int64))
        if b is None:
            bs = fnp.zeros((k,), a.dtype)
        else:
            bs = fnp.broadcast_to(asarray(b), shape + sub).reshape((k,) + sub)

        def step(x, item):
            idx, bv = item
            cur = x[idx]
            new = self(cur) if self.nin == 1 else self(cur, bv)
            return x.at[idx].set(asarray(new).astype(x.dtype)), None

        return scan(step, a, (flat if len(flat) > 1 else flat[0], bs))[0] if k else a


def frompyfunc(func, /, nin, nout, *, identity=None):
    """A :class:`ufunc` from a scalar function of ``nin`` inputs and ``nout`` outputs,
    written with ``funcgrad.numpy`` (it is traced, as in JAX).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> hyp = fnp.frompyfunc(lambda x, y: fnp.sqrt(x * x + y * y), 2, 1)
        >>> hyp(fnp.asarray([3.0, 5.0]), 4.0).tolist()
        [5.0, 6.4031242374328485]
    """
    return ufunc(func, nin, nout, identity=identity)
