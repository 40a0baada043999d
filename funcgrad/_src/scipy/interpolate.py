"""``funcgrad.scipy.interpolate``: interpolation on a rectilinear grid.

``RegularGridInterpolator`` finds, per query point and axis, the grid cell holding the
point (``searchsorted``) and the point's fractional position in it, then takes the
nearest vertex or the multilinear combination of the cell's ``2^N`` vertices. The
interpolator is a pytree (grid, values and fill value are its leaves), so it can be an
argument of ``jit``/``grad``/``vmap``, and results are differentiable in the values,
the grid and the query points.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

import funcgrad.numpy as fnp
from funcgrad._src import dtypes
from funcgrad._src.tree_util import register_pytree_node

__all__ = ["RegularGridInterpolator"]

_NAME = "funcgrad.scipy.interpolate.RegularGridInterpolator"
_METHODS = ("linear", "nearest")


def _check_method(method: Any) -> None:
    if method not in _METHODS:
        raise ValueError(f"{_NAME}: method {method!r} is not defined; use 'linear' or 'nearest'")


class RegularGridInterpolator:
    """Interpolation of values given on a rectilinear grid (SciPy's class, as in JAX).

    Args:
        points: N 1-D arrays, the grid coordinates along each axis, each strictly
            increasing (as in JAX; a decreasing axis gives wrong results, so reverse it
            and the matching axis of ``values`` first).
        values: the values on the grid, of shape ``(len(points[0]), ..., len(points[N-1]),
            *trailing)``; trailing axes are interpolated independently.
        method: ``"linear"`` (default) or ``"nearest"``.
        bounds_error: must be ``False``, as in JAX: checking the query points against the
            grid would need their values on the host, which ``jit`` does not have. Points
            outside the grid get ``fill_value`` instead.
        fill_value: the value for points outside the grid (default NaN); ``None``
            extrapolates from the edge cells.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy.interpolate import RegularGridInterpolator
        >>> points = (fnp.asarray([1.0, 2.0, 3.0]), fnp.asarray([4.0, 5.0, 6.0]))
        >>> values = fnp.asarray([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0], [70.0, 80.0, 90.0]])
        >>> interp = RegularGridInterpolator(points, values)
        >>> interp(fnp.asarray([[1.5, 4.5], [2.2, 5.8]])).round(6).tolist()
        [30.0, 64.0]
        >>> interp(fnp.asarray([[0.0, 5.0]])).tolist()
        [nan]
    """

    def __init__(self, points: Any, values: Any, method: str = "linear",
                 bounds_error: bool = False, fill_value: Any = np.nan) -> None:  # fmt: skip
        _check_method(method)
        if bounds_error:
            raise NotImplementedError(
                f"{_NAME}: bounds_error=True is not supported (as in JAX): it needs the query "
                "points' values on the host, which jit does not have. Pass bounds_error=False "
                "and check the result for fill_value (NaN by default)"
            )
        values = fnp.asarray(values)
        values = values.astype(dtypes.to_inexact(values.dtype))
        if isinstance(points, (str, bytes)) or not hasattr(points, "__len__"):
            raise TypeError(f"{_NAME}: points must be a sequence of 1-D arrays")
        grid = tuple(fnp.asarray(p) for p in points)
        if len(grid) > values.ndim:
            raise ValueError(
                f"{_NAME}: there are {len(grid)} point arrays, but values (shape "
                f"{values.shape}) has only {values.ndim} dimensions"
            )
        for d, g in enumerate(grid):
            if g.ndim != 1:
                raise ValueError(f"{_NAME}: points[{d}] must be 1-D, got shape {g.shape}")
            if g.shape[0] != values.shape[d]:
                raise ValueError(
                    f"{_NAME}: points[{d}] has {g.shape[0]} entries but values (shape "
                    f"{values.shape}) has {values.shape[d]} along axis {d}; they must match"
                )
            if g.shape[0] < 2:
                raise ValueError(
                    f"{_NAME}: points[{d}] needs at least 2 grid points, got {g.shape[0]}"
                )
        if fill_value is not None:
            fill_value = fnp.asarray(fill_value)
            if not np.can_cast(fill_value.dtype, values.dtype, casting="same_kind"):
                raise ValueError(
                    f"{_NAME}: fill_value (dtype {fill_value.dtype}) must be None or of a "
                    f"type that casts to values' dtype {values.dtype}"
                )
        self.method = method
        self.bounds_error = bounds_error
        self.fill_value = fill_value
        self.grid = grid
        self.values = values

    def __call__(self, xi: Any, method: str | None = None) -> Any:
        """The interpolated values at ``xi``.

        Args:
            xi: the query points, ``(..., N)``, or a tuple of N arrays (broadcast together)
                holding one coordinate each; a 1-D array is read as points of N coordinates.
            method: overrides the interpolator's method for this call.

        Returns:
            An array of shape ``xi.shape[:-1] + values.shape[N:]``.
        """
        method = self.method if method is None else method
        _check_method(method)
        ndim = len(self.grid)
        xi = self._points(xi, ndim)
        if xi.shape[-1] != ndim:
            raise ValueError(
                f"{_NAME}: the query points xi (shape {xi.shape}) have dimension "
                f"{xi.shape[-1]}, but the grid has {ndim} dimensions"
            )
        shape = xi.shape[:-1]
        flat = xi.reshape(-1, ndim)
        indices, fractions, outside = self._find_indices(flat)
        if method == "linear":
            result = self._linear(indices, fractions)
        else:
            result = self._nearest(indices, fractions)
        if self.fill_value is not None:
            mask = outside.reshape(outside.shape + (1,) * (result.ndim - 1))
            result = fnp.where(mask, self.fill_value.astype(result.dtype), result)
        return result.reshape(shape + self.values.shape[ndim:])

    @staticmethod
    def _points(xi: Any, ndim: int) -> Any:
        if isinstance(xi, tuple):
            if len(xi) == 1:
                xi = xi[0]
            else:
                return fnp.stack(fnp.broadcast_arrays(*[fnp.asarray(c) for c in xi]), axis=-1)
        xi = fnp.asarray(xi)
        if xi.ndim == 1:
            xi = xi.reshape(-1, ndim)
        return xi

    def _find_indices(self, xi: Any) -> tuple[list, list, Any]:
        dtype = fnp.result_type(self.values.dtype, xi.dtype, *[g.dtype for g in self.grid])
        dtype = dtypes.to_inexact(dtype)
        indices, fractions = [], []
        outside = fnp.zeros(xi.shape[0], dtype=bool)
        for d, g in enumerate(self.grid):
            x = xi[:, d].astype(dtype)
            g = g.astype(dtype)
            # the cell [g[i], g[i+1]] holding x, the edge cells for points outside
            i = fnp.clip(fnp.searchsorted(g, x) - 1, 0, g.shape[0] - 2)
            lo, hi = g[i], g[i + 1]
            indices.append(i)
            fractions.append((x - lo) / (hi - lo))
            outside = outside | (x < g[0]) | (x > g[-1])
        return indices, fractions, outside

    def _linear(self, indices: list, fractions: list) -> Any:
        trailing = (slice(None),) + (None,) * (self.values.ndim - len(indices))
        total = None
        for corner in itertools.product((0, 1), repeat=len(indices)):
            weight = None
            for upper, y in zip(corner, fractions):
                w = y if upper else 1 - y
                weight = w if weight is None else weight * w
            vertex = tuple(i + upper for i, upper in zip(indices, corner))
            term = self.values[vertex] * weight[trailing]
            total = term if total is None else total + term
        return total

    def _nearest(self, indices: list, fractions: list) -> Any:
        # halfway points go to the lower vertex, as in SciPy
        vertex = tuple(fnp.where(y <= 0.5, i, i + 1) for i, y in zip(indices, fractions))
        return self.values[vertex]


register_pytree_node(
    RegularGridInterpolator,
    lambda obj: ((obj.grid, obj.values, obj.fill_value), (obj.method, obj.bounds_error)),
    lambda aux, children: _rebuild(aux, children),
)


def _rebuild(aux: tuple, children: tuple) -> RegularGridInterpolator:
    # leaves may be tracers or placeholders: skip the constructor's checks
    obj = object.__new__(RegularGridInterpolator)
    obj.grid, obj.values, obj.fill_value = children
    obj.method, obj.bounds_error = aux
    return obj
