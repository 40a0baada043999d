"""``funcgrad.scipy.stats``'s summary statistics of samples: ``mode``, ``rankdata``, ``sem``
(jax.scipy.stats's), computed by sorting, so they run under jit and vmap."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

import funcgrad
import funcgrad.numpy as fnp

__all__ = ["ModeResult", "mode", "rankdata", "sem"]


class ModeResult(NamedTuple):
    """The result of :func:`mode`: the most common value and how often it occurs."""

    mode: Any
    count: Any


def _check_nan_policy(fname: str, nan_policy: str, allowed: tuple[str, ...]) -> None:
    if nan_policy not in allowed:
        raise ValueError(
            f"funcgrad.scipy.stats.{fname}: nan_policy must be one of {allowed}, got "
            f"{nan_policy!r} (as in JAX; 'raise' cannot inspect values under jit)"
        )


def _rows(a: Any, axis: Any) -> tuple[Any, tuple[int, ...]]:
    """``a`` with ``axis`` moved last (flattened for ``None``) and the other axes' shape."""
    a = fnp.asarray(a)
    if axis is None:
        return fnp.ravel(a), ()
    a = fnp.moveaxis(a, axis, -1)
    return a, a.shape[:-1]


def _sorted_bounds(a: Any) -> tuple[Any, Any]:
    """For each element of the last axis: the number of elements below it and the number
    at or below it (in its own row), by two searches in the sorted row."""
    s = fnp.sort(a, axis=-1)

    def row(s_row, a_row):
        return (fnp.searchsorted(s_row, a_row, side="left"),
                fnp.searchsorted(s_row, a_row, side="right"))  # fmt: skip

    fn = row
    for _ in range(a.ndim - 1):
        fn = funcgrad.vmap(fn)
    return fn(s, a)


def rankdata(a: Any, method: str = "average", *, axis: Any = None,
             nan_policy: str = "propagate") -> Any:  # fmt: skip
    """The ranks (1 to n) of ``a``'s values, flattened (``axis=None``) or along ``axis``.

    Ties get, by ``method``: ``"average"`` the mean of their ranks (float64, as SciPy),
    ``"min"``/``"max"`` the lowest/highest, ``"dense"`` consecutive ranks of the distinct
    values, ``"ordinal"`` their order of appearance (int64 for integer and bool inputs).
    With ``nan_policy="propagate"`` a row holding NaN is all NaN, so floating inputs get
    float64 ranks for every method (a dtype cannot depend on values under jit);
    ``"omit"`` is not supported, as in JAX.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import stats
        >>> stats.rankdata(fnp.asarray([10, 20, 20, 5])).tolist()
        [2.0, 3.5, 3.5, 1.0]
        >>> stats.rankdata(fnp.asarray([10, 20, 20, 5]), "dense").tolist()
        [2, 3, 3, 1]
    """
    methods = ("average", "min", "max", "dense", "ordinal")
    if method not in methods:
        raise ValueError(
            f"funcgrad.scipy.stats.rankdata: method must be one of {methods}, got {method!r}"
        )
    _check_nan_policy("rankdata", nan_policy, ("propagate",))
    x, batch = _rows(a, axis)
    if method == "ordinal":
        ranks = fnp.argsort(fnp.argsort(x, axis=-1, stable=True), axis=-1) + 1
    elif method == "dense":
        s = fnp.sort(x, axis=-1)
        new = fnp.concatenate([fnp.ones(batch + (1,), bool), s[..., 1:] != s[..., :-1]], -1)
        dense_sorted = fnp.cumsum(new, axis=-1)
        below, _ = _sorted_bounds(x)
        ranks = fnp.take_along_axis(dense_sorted, below, axis=-1)
    else:
        below, at_or_below = _sorted_bounds(x)
        ranks = {"min": below + 1, "max": at_or_below,
                 "average": 0.5 * (below + 1 + at_or_below)}[method]  # fmt: skip
    ranks = ranks.astype(np.float64 if method == "average" else np.int64)
    if x.dtype.kind == "f":
        has_nan = fnp.any(fnp.isnan(x), axis=-1, keepdims=True)
        ranks = fnp.where(has_nan, np.nan, ranks.astype(np.float64))
        if method == "average":
            ranks = ranks.astype(np.float64)
    if axis is None:
        return ranks
    return fnp.moveaxis(ranks, -1, axis)


def mode(
    a: Any, axis: Any = 0, nan_policy: str = "propagate", keepdims: bool = False
) -> ModeResult:
    """The most common value along ``axis`` (all values for ``None``) and its count; the
    smallest such value where several tie, as SciPy. With ``"propagate"`` NaNs count as
    values larger than all others (as in a sort); ``"omit"`` is not supported (as in JAX).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import stats
        >>> m = stats.mode(fnp.asarray([[1, 3], [2, 3], [2, 1]]))
        >>> m.mode.tolist(), m.count.tolist()
        ([2, 3], [2, 2])
    """
    _check_nan_policy("mode", nan_policy, ("propagate",))
    x, _ = _rows(a, axis)
    if x.shape[-1] == 0:
        raise ValueError(f"funcgrad.scipy.stats.mode: the axis to reduce is empty ({fnp.shape(a)})")
    s = fnp.sort(x, axis=-1)
    below, at_or_below = _sorted_bounds(s)
    counts = at_or_below - below
    # argmax takes the first maximum: in sorted order, the smallest most common value
    best = fnp.argmax(counts, axis=-1, keepdims=True)
    value = fnp.take_along_axis(s, best, axis=-1)[..., 0]
    count = fnp.take_along_axis(counts, best, axis=-1)[..., 0].astype(np.int64)
    if keepdims:
        target = 0 if axis is None else axis
        if axis is None:
            value = fnp.reshape(value, (1,) * fnp.ndim(a))
            count = fnp.reshape(count, (1,) * fnp.ndim(a))
        else:
            value, count = fnp.expand_dims(value, target), fnp.expand_dims(count, target)
    return ModeResult(value, count)


def sem(a: Any, axis: Any = 0, ddof: int = 1, nan_policy: str = "propagate", *,
        keepdims: bool = False) -> Any:  # fmt: skip
    """The standard error of the mean, ``std(a, ddof=ddof) / sqrt(n)`` along ``axis`` (all
    values for ``None``); ``nan_policy="omit"`` ignores NaNs (``n`` counts the others).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy import stats
        >>> round(float(stats.sem(fnp.asarray([1.0, 2.0, 3.0, 4.0]))), 10)
        0.6454972244
    """
    _check_nan_policy("sem", nan_policy, ("propagate", "omit"))
    a = fnp.asarray(a)
    if a.dtype.kind not in "f":
        a = a.astype(np.float64)
    if nan_policy == "omit":
        n = fnp.sum(~fnp.isnan(a), axis=axis, keepdims=keepdims)
        return fnp.nanstd(a, axis=axis, ddof=ddof, keepdims=keepdims) / fnp.sqrt(n)
    n = a.size if axis is None else a.shape[axis]
    return fnp.std(a, axis=axis, ddof=ddof, keepdims=keepdims) / math.sqrt(n)
