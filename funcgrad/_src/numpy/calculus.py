"""Finite-difference calculus on sampled data: NumPy's ``gradient`` and ``unwrap``.

Both are differences of shifted slices, so they trace under ``jit`` and are
differentiable in the samples (and in the coordinates for ``gradient``).
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from funcgrad._src.numpy import base as fnp
from funcgrad._src.numpy.util import asarray, canonicalize_axis

__all__ = ["gradient", "unwrap"]


def _sl(x: Any, axis: int, start: int | None, stop: int | None) -> Any:
    key = [slice(None)] * x.ndim
    key[axis] = slice(start, stop)
    return x[tuple(key)]


def _along(v: Any, axis: int, ndim: int) -> Any:
    """1-D ``v`` shaped to broadcast along ``axis`` of an ``ndim``-D array."""
    shape = [1] * ndim
    shape[axis] = v.shape[0]
    return v.reshape(tuple(shape))


def _gradient_1axis(f: Any, axis: int, h: Any, edge_order: int) -> Any:
    n = f.shape[axis]
    if n < edge_order + 1:
        raise ValueError(
            f"funcgrad.numpy.gradient: the array's size along axis {axis} ({n}) must be at "
            f"least edge_order + 1 = {edge_order + 1}"
        )
    if h.ndim == 0:  # uniform spacing
        interior = (_sl(f, axis, 2, None) - _sl(f, axis, None, -2)) / (2.0 * h)
        if edge_order == 1:
            first = (_sl(f, axis, 1, 2) - _sl(f, axis, 0, 1)) / h
            last = (_sl(f, axis, -1, None) - _sl(f, axis, -2, -1)) / h
        else:
            first = (-1.5 * _sl(f, axis, 0, 1) + 2.0 * _sl(f, axis, 1, 2)
                     - 0.5 * _sl(f, axis, 2, 3)) / h  # fmt: skip
            last = (0.5 * _sl(f, axis, -3, -2) - 2.0 * _sl(f, axis, -2, -1)
                    + 1.5 * _sl(f, axis, -1, None)) / h  # fmt: skip
    else:  # coordinates: second-order interior formula for uneven spacing
        dx = fnp.diff(h)
        dx1, dx2 = dx[:-1], dx[1:]
        a = _along(-dx2 / (dx1 * (dx1 + dx2)), axis, f.ndim)
        b = _along((dx2 - dx1) / (dx1 * dx2), axis, f.ndim)
        c = _along(dx1 / (dx2 * (dx1 + dx2)), axis, f.ndim)
        interior = a * _sl(f, axis, None, -2) + b * _sl(f, axis, 1, -1) + c * _sl(f, axis, 2, None)
        if edge_order == 1:
            first = (_sl(f, axis, 1, 2) - _sl(f, axis, 0, 1)) / dx[0]
            last = (_sl(f, axis, -1, None) - _sl(f, axis, -2, -1)) / dx[-1]
        else:
            d1, d2 = dx[0], dx[1]
            first = (-(2.0 * d1 + d2) / (d1 * (d1 + d2)) * _sl(f, axis, 0, 1)
                     + (d1 + d2) / (d1 * d2) * _sl(f, axis, 1, 2)
                     - d1 / (d2 * (d1 + d2)) * _sl(f, axis, 2, 3))  # fmt: skip
            d1, d2 = dx[-2], dx[-1]
            last = (d2 / (d1 * (d1 + d2)) * _sl(f, axis, -3, -2)
                    - (d2 + d1) / (d1 * d2) * _sl(f, axis, -2, -1)
                    + (2.0 * d2 + d1) / (d2 * (d1 + d2)) * _sl(f, axis, -1, None))  # fmt: skip
    if n == 2 and edge_order == 1:
        return fnp.concatenate([first, last], axis=axis)
    return fnp.concatenate([first, interior, last], axis=axis)


def gradient(f, *varargs, axis=None, edge_order=None):
    """The gradient of sampled ``f``: second-order central differences inside, one-sided
    differences of order ``edge_order`` (1, the default, or 2) at the boundaries, NumPy's
    ``gradient``.

    ``varargs`` gives the spacing: nothing (1), one scalar for every axis, or one scalar or
    1-D coordinate array per axis. Returns one array, or a list with one per axis when
    more than one axis is differentiated. Integer input is computed in float64.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.gradient(fnp.asarray([1.0, 4.0, 9.0, 16.0])).tolist()
        [3.0, 4.0, 6.0, 7.0]
        >>> [g.tolist() for g in fnp.gradient(fnp.asarray([[1.0, 2.0], [4.0, 8.0]]))]
        [[[3.0, 6.0], [3.0, 6.0]], [[1.0, 1.0], [4.0, 4.0]]]
    """
    fname = "funcgrad.numpy.gradient"
    f = asarray(f, fname=fname)
    if f.dtype.kind not in "fc":
        f = f.astype(np.float64)
    if axis is None:
        axes = tuple(range(f.ndim))
    else:
        raw = (axis,) if np.ndim(axis) == 0 else tuple(axis)
        axes = []
        for ax in raw:
            axes.append(canonicalize_axis(ax, f.ndim, fname))
        axes = tuple(axes)
    edge_order = 1 if edge_order is None else operator.index(edge_order)
    if edge_order not in (1, 2):
        raise ValueError(f"{fname}: edge_order must be 1 or 2, got {edge_order}")
    if len(varargs) == 0:
        spacings = [asarray(1.0)] * len(axes)
    elif len(varargs) == 1 and np.ndim(varargs[0]) == 0:
        spacings = [asarray(varargs[0])] * len(axes)
    elif len(varargs) == len(axes):
        spacings = [asarray(v, fname=fname) for v in varargs]
    else:
        raise TypeError(
            f"{fname}: give no spacing, one scalar, or one spacing per axis ({len(axes)}); "
            f"got {len(varargs)}"
        )
    outs = []
    for ax, h in zip(axes, spacings):
        if h.ndim == 1 and h.shape[0] != f.shape[ax]:
            raise ValueError(f"{fname}: coordinates for axis {ax} have length {h.shape[0]}, "
                             f"the array has {f.shape[ax]}")  # fmt: skip
        if h.ndim > 1:
            raise ValueError(f"{fname}: spacing must be a scalar or 1-D, got shape {h.shape}")
        if h.dtype.kind not in "fc":
            h = h.astype(np.float64)
        outs.append(_gradient_1axis(f, ax, h.astype(fnp.result_type(h, f)), edge_order))
    return outs[0] if len(outs) == 1 else outs


def unwrap(p, discont=None, axis=-1, period=2 * np.pi):
    """``p`` with jumps larger than ``discont`` (default ``period / 2``) between neighbours
    along ``axis`` replaced by their ``period``-complement, NumPy's ``unwrap``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> [round(v, 6) for v in fnp.unwrap(fnp.asarray([0.0, 3.0, 6.5, 0.2])).tolist()]
        [0.0, 3.0, 0.216815, 0.2]
    """
    fname = "funcgrad.numpy.unwrap"
    p = asarray(p, fname=fname)
    if p.dtype.kind not in "f":
        p = p.astype(np.float64)
    axis = canonicalize_axis(axis, p.ndim, fname)
    if p.shape[axis] < 2:
        return p
    dd = fnp.diff(p, axis=axis)
    if discont is None:
        discont = period / 2
    high = period / 2
    low = -high
    ddmod = fnp.mod(dd - low, period) + low
    # NumPy: the ambiguous boundary (-period/2) takes the sign of the original jump
    ddmod = fnp.where((ddmod == low) & (dd > 0), high, ddmod)
    correct = fnp.where(fnp.abs(dd) < discont, fnp.zeros_like(dd), ddmod - dd)
    head = _sl(p, axis, 0, 1)
    return fnp.concatenate([head, _sl(p, axis, 1, None) + fnp.cumsum(correct, axis=axis)],
                           axis=axis)  # fmt: skip
