"""Abstract evaluation: run a function on shapes and dtypes only (``funcgrad.eval_shape``)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from funcgrad._src.core import (
    Primitive,
    ShapedArray,
    Trace,
    Tracer,
    escaped_tracer_error,
    get_aval,
    set_current_trace,
)
from funcgrad._src.tree_util import tree_flatten, tree_unflatten


class ShapeDtypeStruct:
    """A stand-in for an array: just ``shape`` and ``dtype``.

    Examples:
        >>> import funcgrad
        >>> funcgrad.ShapeDtypeStruct((2, 3), "float32")
        ShapeDtypeStruct(shape=(2, 3), dtype=float32)
    """

    __slots__ = ("shape", "dtype")

    def __init__(self, shape: tuple[int, ...], dtype: Any):
        self.shape = tuple(int(d) for d in shape)
        self.dtype = np.dtype(dtype)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ShapeDtypeStruct)
            and other.shape == self.shape
            and other.dtype == self.dtype
        )

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype))

    def __repr__(self) -> str:
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name})"


class ShapeTracer(Tracer):
    __slots__ = ("_aval",)

    def __init__(self, trace: ShapeTrace, aval: ShapedArray):
        self._trace = trace
        self._aval = aval

    @property
    def aval(self) -> ShapedArray:
        return self._aval


class ShapeTrace(Trace):
    """Evaluates every primitive with its ``abstract_eval`` rule only."""

    transformation = "eval_shape"

    def __init__(self) -> None:
        self.active = True

    def process_primitive(self, prim: Primitive, args: tuple, params: dict) -> list:
        avals = []
        for x in args:
            if isinstance(x, Tracer) and (x._trace is not self or not self.active):
                raise escaped_tracer_error(x, prim)
            avals.append(get_aval(x))
        if prim.abstract_eval is None:
            raise NotImplementedError(f"primitive '{prim.name}' has no abstract evaluation rule")
        return [ShapeTracer(self, a) for a in prim.abstract_eval(*avals, **params)]


def eval_shape(fun: Callable, *args: Any, **kwargs: Any) -> Any:
    """The shapes and dtypes ``fun(*args, **kwargs)`` would return, computed without
    running any kernel.

    Array leaves of ``args`` may be arrays or anything with ``shape`` and ``dtype``
    (e.g. :class:`ShapeDtypeStruct`); other leaves are passed through unchanged.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> funcgrad.eval_shape(lambda x: fnp.sum(x, axis=0), funcgrad.ShapeDtypeStruct((3, 4), "float32"))
        ShapeDtypeStruct(shape=(4,), dtype=float32)
    """
    trace = ShapeTrace()
    leaves, treedef = tree_flatten((args, kwargs))
    in_leaves = [
        ShapeTracer(trace, ShapedArray(x.shape, x.dtype))
        if hasattr(x, "dtype") and hasattr(x, "shape")
        else x
        for x in leaves
    ]
    in_args, in_kwargs = tree_unflatten(treedef, in_leaves)
    try:
        with set_current_trace(trace):
            out = fun(*in_args, **in_kwargs)
    finally:
        trace.active = False
    out_leaves, out_tree = tree_flatten(out)
    return tree_unflatten(
        out_tree,
        [ShapeDtypeStruct(x.shape, x.dtype) if isinstance(x, Tracer) or hasattr(x, "aval") else x
         for x in out_leaves],
    )  # fmt: skip
