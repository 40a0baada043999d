"""Reduction primitives (sum, prod, max, min, and, or, argmax, argmin) and cumulative scans.

Reductions keep their operand's dtype (``funcgrad.numpy`` upcasts small integers
first, as NumPy does); ``axes`` is a sorted tuple of non-negative axes.
"""

from __future__ import annotations

from funcgrad._src.core import Primitive, ShapedArray


def _check_axes(name: str, x: ShapedArray, axes: tuple[int, ...]) -> None:
    if any(not 0 <= a < x.ndim for a in axes) or len(set(axes)) != len(axes):
        raise ValueError(f"{name}: axes {axes} are invalid for an array of shape {x.shape}")


def _reduced_shape(x: ShapedArray, axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(d for i, d in enumerate(x.shape) if i not in axes)


def _make_reducer(name: str, impl_fn) -> Primitive:
    prim = Primitive(name)

    def abstract_eval(x, *, axes):
        _check_axes(name, x, axes)
        if name in ("reduce_max", "reduce_min") and any(x.shape[a] == 0 for a in axes):
            raise ValueError(
                f"{name}: cannot reduce over a zero-size axis of shape {x.shape} "
                f"(max and min have no identity); pass an initial value instead"
            )
        return [ShapedArray(_reduced_shape(x, axes), x.dtype)]

    prim.impl = lambda backend, x, *, axes: [impl_fn(backend.xp, x, axes)]
    prim.abstract_eval = abstract_eval
    return prim


reduce_sum_p = _make_reducer("reduce_sum", lambda xp, x, axes: xp.sum(x, axis=axes, dtype=x.dtype))
reduce_prod_p = _make_reducer("reduce_prod", lambda xp, x, axes: xp.prod(x, axis=axes, dtype=x.dtype))
reduce_max_p = _make_reducer("reduce_max", lambda xp, x, axes: xp.max(x, axis=axes))
reduce_min_p = _make_reducer("reduce_min", lambda xp, x, axes: xp.min(x, axis=axes))
reduce_and_p = _make_reducer("reduce_and", lambda xp, x, axes: xp.all(x, axis=axes))
reduce_or_p = _make_reducer("reduce_or", lambda xp, x, axes: xp.any(x, axis=axes))


def _make_arg_reducer(name: str, xp_name: str) -> Primitive:
    prim = Primitive(name)

    def impl(backend, x, *, axis, index_dtype):
        return [getattr(backend.xp, xp_name)(x, axis=axis).astype(index_dtype, copy=False)]

    def abstract_eval(x, *, axis, index_dtype):
        _check_axes(name, x, (axis,))
        if x.shape[axis] == 0:
            raise ValueError(f"{name}: attempt to get {xp_name} of an empty axis (shape {x.shape})")
        return [ShapedArray(_reduced_shape(x, (axis,)), index_dtype)]

    prim.impl = impl
    prim.abstract_eval = abstract_eval
    return prim


# Ties resolve to the first occurrence and NaN counts as the extreme, as in NumPy.
argmax_p = _make_arg_reducer("argmax", "argmax")
argmin_p = _make_arg_reducer("argmin", "argmin")


# --- cumulative scans -----------------------------------------------------------------


def _make_cumulative(name: str, scan) -> Primitive:
    prim = Primitive(name)

    def impl(backend, x, *, axis, reverse):
        xp = backend.xp
        if reverse:
            return [xp.flip(scan(xp, xp.flip(x, axis), axis), axis)]
        return [scan(xp, x, axis)]

    def abstract_eval(x, *, axis, reverse):
        _check_axes(name, x, (axis,))
        return [ShapedArray(x.shape, x.dtype)]

    prim.impl = impl
    prim.abstract_eval = abstract_eval
    return prim


cumsum_p = _make_cumulative("cumsum", lambda xp, x, axis: xp.cumsum(x, axis=axis, dtype=x.dtype))
cumprod_p = _make_cumulative("cumprod", lambda xp, x, axis: xp.cumprod(x, axis=axis, dtype=x.dtype))
cummax_p = _make_cumulative("cummax", lambda xp, x, axis: xp.maximum.accumulate(x, axis=axis))
cummin_p = _make_cumulative("cummin", lambda xp, x, axis: xp.minimum.accumulate(x, axis=axis))
