"""Shared argument handling for the losses: validation, eager value checks and reductions.

Every loss checks shapes, dtypes and options before computing (static, so also under
``jit``). Checks of *values* (a class index out of range, a probability outside [0, 1])
run only where the values are known, that is eagerly or under ``grad``; inside ``jit`` or
``vmap`` the values are traced, and each loss turns an invalid value into NaN with
``where`` instead, so a bad input never gives a silent wrong number.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

import funcgrad
import funcgrad.numpy as fnp

_LEGACY_NOTE = "size_average and reduce are deprecated (as in PyTorch); use reduction={!r}"


def concrete(x: Any) -> np.ndarray | None:
    """The value of ``x`` as a NumPy array, or None while it is traced (jit, vmap)."""
    try:
        return np.asarray(x)
    except funcgrad.ConcretizationError:
        return None


def floating(name: str, arg: str, x: Any, dtype: Any = None) -> Any:
    """``x`` as a floating array: integers and bools become the default float dtype (or
    ``dtype`` when given, used to keep auxiliary arrays in the input's precision)."""
    if x is None:
        raise TypeError(f"{name}: {arg} is required, got None")
    x = fnp.asarray(x)
    if dtype is not None:
        return x.astype(dtype) if x.dtype != dtype else x
    if not fnp.isdtype(x.dtype, "real floating"):
        x = x.astype(fnp.asarray(0.0).dtype)
    return x


def integer(name: str, arg: str, x: Any) -> Any:
    """``x`` as an integer array; floats are refused (class indices must be exact)."""
    x = fnp.asarray(x)
    if not fnp.isdtype(x.dtype, ("integral", "bool")):
        raise TypeError(
            f"{name}: {arg} must hold integer class indices, got dtype {x.dtype}; "
            f"cast it with .astype(int)"
        )
    return x.astype(fnp.int32) if x.dtype == fnp.bool_ else x


def legacy_reduction(
    name: str, size_average: Any, reduce: Any, reduction: str, stacklevel: int = 3
) -> str:
    """PyTorch's mapping of the deprecated ``size_average`` / ``reduce`` flags."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    out = ("mean" if size_average else "sum") if reduce else "none"
    warnings.warn(f"{name}: " + _LEGACY_NOTE.format(out), UserWarning, stacklevel=stacklevel)
    return out


def check_reduction(name: str, reduction: str, allowed=("none", "mean", "sum")) -> str:
    if reduction not in allowed:
        raise ValueError(
            f"{name}: reduction must be one of {', '.join(map(repr, allowed))}, got {reduction!r}"
        )
    return reduction


def reduction_arg(
    name: str,
    size_average: Any,
    reduce: Any,
    reduction: str,
    allowed=("none", "mean", "sum"),
    stacklevel: int = 4,
) -> str:
    """The checked ``reduction`` of a loss that takes PyTorch's deprecated flags too; the
    flags' warning is shown at the loss's caller (``stacklevel`` counted from here)."""
    return check_reduction(
        name, legacy_reduction(name, size_average, reduce, reduction, stacklevel), allowed
    )


def float_pair(name: str, input: Any, target: Any) -> tuple[Any, Any]:
    """``input`` and ``target`` as float arrays, the target in the input's dtype."""
    x = floating(name, "input", input)
    return x, floating(name, "target", target, x.dtype)


def broadcast_pair(name: str, input: Any, target: Any, *, warn: bool = True) -> tuple[Any, Any]:
    """Broadcast ``input`` and ``target`` as PyTorch's elementwise losses do: different
    shapes are allowed when they broadcast (with PyTorch's warning), others raise."""
    try:
        shape = fnp.broadcast_shapes(input.shape, target.shape)
    except ValueError:
        raise ValueError(
            f"{name}: input of shape {input.shape} and target of shape {target.shape} do not "
            "broadcast; give them the same shape"
        ) from None
    if warn and input.shape != target.shape:
        warnings.warn(
            f"{name}: target shape {target.shape} differs from input shape {input.shape}; they "
            f"are broadcast to {shape}, which is rarely intended (PyTorch warns likewise)",
            UserWarning,
            stacklevel=3,
        )
    return fnp.broadcast_to(input, shape), fnp.broadcast_to(target, shape)


def same_shape(name: str, a_name: str, a: Any, b_name: str, b: Any) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{name}: {b_name} of shape {b.shape} must have the shape of {a_name}, {a.shape}"
        )


def broadcastable_to(name: str, arg: str, x: Any, shape: tuple[int, ...]) -> Any:
    try:
        return fnp.broadcast_to(x, shape)
    except ValueError:
        raise ValueError(
            f"{name}: {arg} of shape {x.shape} does not broadcast to the loss shape {shape}"
        ) from None


def first_bad(bad: np.ndarray) -> tuple[int, ...]:
    """The index of the first True entry of a boolean array."""
    return tuple(int(i) for i in np.argwhere(bad)[0])


def nan_where(bad: Any, loss: Any) -> Any:
    """NaN where ``bad`` (an invalid value, seen only under jit/vmap), else ``loss``."""
    return fnp.where(bad, fnp.nan, loss)


def safe_mean(total: Any, count: Any) -> Any:
    """``total / count``; NaN where ``count`` is 0 (PyTorch's mean over nothing), without
    NumPy's divide warning."""
    count = fnp.asarray(count).astype(total.dtype)
    empty = count == 0
    return fnp.where(empty, fnp.nan, total / fnp.where(empty, 1, count)).astype(total.dtype)


def reduce(loss: Any, reduction: str) -> Any:
    """'none' keeps the per-element losses; 'sum' adds them; 'mean' averages them (NaN
    for an empty loss, as PyTorch)."""
    if reduction == "none":
        return loss
    total = fnp.sum(loss)
    if reduction == "sum":
        return total
    return safe_mean(total, loss.size)


def xlogy(x: Any, y: Any) -> Any:
    """``x * log(y)``, 0 where ``x == 0`` (also its gradients: no 0 * inf)."""
    zero = x == 0
    return fnp.where(zero, 0, x * fnp.log(fnp.where(zero, 1, y)))
