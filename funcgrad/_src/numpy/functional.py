"""NumPy's function-mapping helpers built on ``vmap``: ``vectorize`` (with generalized-ufunc
signatures), ``apply_along_axis``, ``apply_over_axes``, ``piecewise`` and ``fromfunction``.

NumPy runs these as Python loops over elements; here the function is traced once and
batched by ``vmap``, so they work under ``jit`` and ``grad`` and cost one call. The
function therefore sees tracers, not NumPy scalars, and must be written with
``funcgrad.numpy`` (as in JAX).
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from funcgrad._src.numpy import base as fnp
from funcgrad._src.numpy.util import asarray, canonicalize_axis

__all__ = ["apply_along_axis", "apply_over_axes", "fromfunction", "piecewise", "vectorize"]

_DIM = r"\w+"
_CORE = rf"\((?:{_DIM}(?:,{_DIM})*)?\)"
_ARGS = rf"{_CORE}(?:,{_CORE})*"
_SIGNATURE = re.compile(rf"^({_ARGS})?->({_ARGS})$")


def _vmap(*args: Any, **kwargs: Any) -> Any:
    from funcgrad._src.vmap import vmap

    return vmap(*args, **kwargs)


def _parse_signature(signature: str) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]] | None]:
    """``"(m,n),(n)->(m)"`` -> ``([("m", "n"), ("n",)], [("m",)])``; the output list is
    None for a single output (no comma between output groups)."""
    text = signature.replace(" ", "")
    match = _SIGNATURE.match(text)
    if match is None:
        raise ValueError(
            f"funcgrad.numpy.vectorize: not a valid gufunc signature: {signature!r} "
            f"(expected e.g. '(m,n),(n)->(m)')"
        )

    def groups(part: str | None) -> list[tuple[str, ...]]:
        if not part:
            return []
        return [tuple(d for d in g.split(",") if d) for g in re.findall(r"\(([^)]*)\)", part)]

    ins, outs = groups(match.group(1)), groups(match.group(2))
    return ins, outs


class vectorize:
    """``pyfunc`` applied over the leading (loop) axes of its arguments by ``vmap``, NumPy's
    ``vectorize``.

    Without ``signature`` every argument is a scalar to ``pyfunc`` and all arguments
    broadcast together. With a generalized-ufunc ``signature`` such as
    ``"(m,n),(n)->(m)"``, the trailing core dimensions are passed whole, the leading ones
    broadcast and are mapped over, and the outputs' core shapes are checked. Positional
    indices or keyword names in ``excluded`` are passed through unchanged. Keyword
    arguments that are not excluded are mapped like positional ones (as scalars; with a
    ``signature``, exclude them). ``pyfunc`` is traced once; write it with
    ``funcgrad.numpy``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> f = fnp.vectorize(lambda a, b: fnp.where(a > b, a - b, a + b))
        >>> f(fnp.asarray([1.0, 5.0]), 2.0).tolist()
        [3.0, 3.0]
        >>> matvec = fnp.vectorize(fnp.dot, signature="(m,n),(n)->(m)")
        >>> matvec(fnp.ones((4, 2, 3)), fnp.ones(3)).shape
        (4, 2)
    """

    def __init__(
        self, pyfunc: Callable, *, excluded: Any = frozenset(), signature: str | None = None
    ):
        if not callable(pyfunc):
            raise TypeError(f"funcgrad.numpy.vectorize: pyfunc must be callable, got {pyfunc!r}")
        self.pyfunc = pyfunc
        self.excluded = frozenset(excluded)
        self.signature = signature
        self._parsed = None if signature is None else _parse_signature(signature)
        functools.update_wrapper(self, pyfunc)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        fname = "funcgrad.numpy.vectorize"
        excluded_pos = {i for i in self.excluded if isinstance(i, int)}
        static_kwargs = {k: v for k, v in kwargs.items() if k in self.excluded}
        mapped_kwargs = {k: v for k, v in kwargs.items() if k not in self.excluded}
        if self._parsed is not None and mapped_kwargs:
            raise TypeError(
                f"{fname}: with a signature, keyword arguments must be excluded; got "
                f"{sorted(mapped_kwargs)} (add them to excluded=)"
            )
        positions = [i for i in range(len(args)) if i not in excluded_pos]
        names = list(mapped_kwargs)
        operands = [asarray(args[i], fname=fname) for i in positions]
        operands += [asarray(mapped_kwargs[k], fname=fname) for k in names]

        def call(*ops: Any) -> Any:
            full = list(args)
            for i, v in zip(positions, ops):
                full[i] = v
            kw = dict(static_kwargs)
            kw.update(zip(names, ops[len(positions) :]))
            return self.pyfunc(*full, **kw)

        if self._parsed is None:
            core_in: list[tuple[str, ...]] = [()] * len(operands)
            core_out = None
        else:
            core_in, core_out = self._parsed
            if len(core_in) != len(operands):
                raise TypeError(
                    f"{fname}: signature {self.signature!r} has {len(core_in)} inputs, got "
                    f"{len(operands)} non-excluded arguments"
                )
        sizes: dict[str, int] = {}
        loop_shapes = []
        for k, (x, core) in enumerate(zip(operands, core_in)):
            if x.ndim < len(core):
                raise ValueError(
                    f"{fname}: argument {k} has shape {x.shape}, fewer dims than its core "
                    f"dimensions {core} in signature {self.signature!r}"
                )
            core_shape = x.shape[x.ndim - len(core) :]
            for name, size in zip(core, core_shape):
                if sizes.setdefault(name, size) != size:
                    raise ValueError(
                        f"{fname}: inconsistent size for core dimension {name!r}: {sizes[name]} "
                        f"vs {size} (argument {k}, shape {x.shape})"
                    )
            loop_shapes.append(x.shape[: x.ndim - len(core)])
        try:
            loop = tuple(np.broadcast_shapes(*loop_shapes)) if loop_shapes else ()
        except ValueError:
            raise ValueError(f"{fname}: the loop dimensions {loop_shapes} of the arguments do not "
                             f"broadcast") from None  # fmt: skip
        # Pad every loop shape on the left; size-1 loop axes are squeezed and not mapped.
        padded = []
        for x, core in zip(operands, core_in):
            nloop = x.ndim - len(core)
            padded.append(x.reshape((1,) * (len(loop) - nloop) + x.shape))
        fn = call
        for level in reversed(range(len(loop))):
            in_axes = tuple(0 if x.shape[level] != 1 or loop[level] == 1 else None
                            for x in padded)  # fmt: skip
            fn = _vmap(fn, in_axes=in_axes, axis_size=loop[level])

        squeezed = []
        for x in padded:
            keep = tuple(i for i in range(len(loop)) if x.shape[i] == 1 and loop[i] != 1)
            squeezed.append(fnp.squeeze(x, axis=keep) if keep else x)
        # vmap needs a mapped axis at position 0 at each level: axes kept in order work since
        # each vmap level strips the leading remaining mapped axis.
        out = fn(*squeezed)
        if core_out is not None:
            self._check_outputs(out, core_out, loop, sizes)
        return out

    def _check_outputs(self, out: Any, core_out: list, loop: tuple, sizes: dict) -> None:
        fname = "funcgrad.numpy.vectorize"
        if len(core_out) == 1:
            outs = [out]
        elif isinstance(out, (tuple, list)) and len(out) == len(core_out):
            outs = list(out)
        else:
            raise ValueError(
                f"{fname}: signature {self.signature!r} has {len(core_out)} outputs; pyfunc "
                f"must return a tuple of that many"
            )
        for k, (o, core) in enumerate(zip(outs, core_out)):
            core_shape = tuple(getattr(o, "shape", ()))[len(loop) :]
            if len(core_shape) != len(core) or any(
                sizes.setdefault(name, size) != size for name, size in zip(core, core_shape)
            ):
                raise ValueError(
                    f"{fname}: output {k} has core shape {core_shape}, which does not match "
                    f"{core} in signature {self.signature!r}"
                )


def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    """``func1d`` applied to every 1-D slice of ``arr`` along ``axis`` (by ``vmap``); the
    slices' results replace that axis, as NumPy's ``apply_along_axis``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> x = fnp.asarray([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
        >>> fnp.apply_along_axis(lambda r: r.max() - r.min(), 1, x).tolist()
        [4.0, 4.0]
        >>> fnp.apply_along_axis(fnp.sort, 0, x).tolist()
        [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    """
    fname = "funcgrad.numpy.apply_along_axis"
    arr = asarray(arr, fname=fname)
    ndim = arr.ndim
    axis = canonicalize_axis(axis, ndim, fname)

    def fn(x):
        return func1d(x, *args, **kwargs)

    # axes after `axis` are mapped last-in-first-out so their outputs stay after the
    # slice's result; axes before it are mapped over the leading position.
    for i in range(1, ndim - axis):
        fn = _vmap(fn, in_axes=i, out_axes=-1)
    for _ in range(axis):
        fn = _vmap(fn, in_axes=0, out_axes=0)
    return fn(arr)


def apply_over_axes(func, a, axes):
    """``func(a, axis)`` applied for each axis in ``axes`` in turn; a result with one dim
    fewer gets it back as size 1 (NumPy's ``apply_over_axes``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.apply_over_axes(fnp.sum, fnp.ones((2, 3, 4)), [0, 2]).shape
        (1, 3, 1)
    """
    fname = "funcgrad.numpy.apply_over_axes"
    a = asarray(a, fname=fname)
    for axis in [axes] if np.ndim(axes) == 0 else axes:
        b = asarray(func(a, axis), fname=fname)
        if b.ndim == a.ndim - 1:
            b = fnp.expand_dims(b, axis)
        elif b.ndim != a.ndim:
            raise ValueError(
                f"{fname}: func returned shape {b.shape} for input {a.shape} and axis {axis}; "
                f"it must keep the dims or drop the one axis"
            )
        a = b
    return a


def piecewise(x, condlist, funclist, *args, **kw):
    """``funclist[i](x)`` where ``condlist[i]`` holds (later conditions win), an optional
    extra last function where none holds, else 0 — NumPy's ``piecewise``.

    Each function is applied to scalars by ``vmap`` and ``lax.switch`` (so it must be
    elementwise, as in JAX), and results are cast to ``x``'s dtype. Entries of
    ``funclist`` may be constants.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> x = fnp.asarray([-2.0, -0.5, 0.5, 2.0])
        >>> fnp.piecewise(x, [x < 0, x >= 0], [lambda v: -v, lambda v: v * v]).tolist()
        [2.0, 0.5, 0.25, 4.0]
    """
    from funcgrad._src.control_flow import switch

    fname = "funcgrad.numpy.piecewise"
    x = asarray(x, fname=fname)
    if isinstance(condlist, (list, tuple)):
        if x.ndim != 0 and condlist and all(isinstance(c, (bool, np.bool_)) for c in condlist):
            conds = [asarray(condlist, fname=fname)]  # one condition written as a list
        else:
            conds = [asarray(c, fname=fname) for c in condlist]
    else:
        c = asarray(condlist, fname=fname)
        conds = list(c) if c.ndim == x.ndim + 1 else [c]
    n = len(conds)
    funcs = list(funclist)
    if len(funcs) not in (n, n + 1):
        raise ValueError(
            f"{fname}: with {n} condition(s), funclist must have {n} or {n + 1} entries, "
            f"got {len(funcs)}"
        )
    if len(funcs) == n:
        funcs = [0] + funcs  # the default where no condition holds
    else:
        funcs = [funcs[-1]] + funcs[:-1]
    conds = [fnp.broadcast_to(c.astype(bool), x.shape) for c in conds]
    # index of the last true condition (1-based), 0 where none holds
    index = fnp.zeros(x.shape, np.int32)
    for i, c in enumerate(conds):
        index = fnp.where(c, np.int32(i + 1), index)

    def branch(f: Any) -> Callable:
        if callable(f):
            return lambda v: asarray(f(v, *args, **kw)).astype(x.dtype)
        return lambda v: fnp.full((), f, x.dtype)

    branches = [branch(f) for f in funcs]
    flat = _vmap(lambda i, v: switch(i, branches, v))(fnp.ravel(index), fnp.ravel(x))
    return flat.reshape(x.shape)


def fromfunction(function, shape, *, dtype=float, **kwargs):
    """The array whose entry at index ``(i, j, ...)`` is ``function(i, j, ..., **kwargs)``,
    the indices given as ``dtype`` values.

    ``function`` is traced once on scalar indices and mapped by ``vmap`` over the grid, so
    it may return a constant (broadcast to ``shape``) and works under ``jit``; NumPy
    instead calls it once with whole index grids, which agrees for elementwise code.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.fromfunction(lambda i, j: i + 10 * j, (2, 3), dtype=int).tolist()
        [[0, 10, 20], [1, 11, 21]]
    """
    shape = (operator.index(shape),) if np.ndim(shape) == 0 else tuple(
        operator.index(s) for s in shape)  # fmt: skip
    fn = functools.partial(function, **kwargs)
    for i in range(len(shape)):
        in_axes = [None] * len(shape)
        in_axes[len(shape) - 1 - i] = 0
        fn = _vmap(fn, in_axes=tuple(in_axes))
    return fn(*(fnp.arange(s, dtype=dtype) for s in shape))
