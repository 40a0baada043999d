"""``funcgrad.scipy.ndimage``: interpolation of an N-d array at arbitrary coordinates.

``map_coordinates`` gathers the ``2^N`` (linear) or one (nearest) grid neighbours of each
coordinate and sums them with their weights. The neighbours' indices are first mapped
into the array by the boundary mode; in ``"constant"`` mode a neighbour outside the
array contributes ``cval`` instead. The result is differentiable in ``input`` and (for
``order=1``) in the coordinates, batches under ``vmap`` and compiles under ``jit``.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import funcgrad.numpy as fnp

__all__ = ["map_coordinates"]


def _mirror(index: Any, size: int) -> Any:
    # a triangle wave of period 2(size-1): ... 1 0 1 2 .. size-1 size-2 ...
    if size == 1:
        return fnp.zeros_like(index)
    period = size - 1
    return fnp.abs((index + period) % (2 * period) - period)


def _reflect(index: Any, size: int) -> Any:
    # the half-sample mirror ... 1 0 0 1 .. size-1 size-1 ... is the whole-sample mirror
    # of the doubled grid 2i+1, halved
    return (_mirror(2 * index + 1, 2 * size + 1) - 1) // 2


_FIX_INDEX: dict[str, Callable[[Any, int], Any]] = {
    "constant": lambda index, size: index,
    "nearest": lambda index, size: fnp.clip(index, 0, size - 1),
    "wrap": lambda index, size: index % size,
    "mirror": _mirror,
    "reflect": _reflect,
}


def _round_half_away(x: Any) -> Any:
    return fnp.sign(x) * fnp.floor(fnp.abs(x) + 0.5)


def _nearest(coordinate: Any) -> list[tuple[Any, Any]]:
    index = coordinate if coordinate.dtype.kind in "iu" else _round_half_away(coordinate)
    return [(index.astype(np.int64), None)]


def _linear(coordinate: Any) -> list[tuple[Any, Any]]:
    lower = fnp.floor(coordinate)
    upper_weight = coordinate - lower
    index = lower.astype(np.int64)
    return [(index, 1 - upper_weight), (index + 1, upper_weight)]


def map_coordinates(input: Any, coordinates: Sequence[Any], order: int,
                    mode: str = "constant", cval: Any = 0.0) -> Any:  # fmt: skip
    """The values of ``input`` interpolated at ``coordinates`` (SciPy's function, with
    JAX's boundary conventions).

    Args:
        input: the N-d array to sample.
        coordinates: N arrays of one shape (broadcast together); entry ``d`` holds the
            (fractional) indices along axis ``d``.
        order: 0 (nearest neighbour, halves rounded away from zero) or 1 (linear), the
            orders JAX supports.
        mode: how neighbours outside the array are found, as JAX defines them:
            ``"constant"`` (they are ``cval``: SciPy's ``"grid-constant"``),
            ``"nearest"`` (the edge value), ``"wrap"`` (periodic: SciPy's
            ``"grid-wrap"``), ``"mirror"`` (reflected about the edge samples) or
            ``"reflect"`` (reflected about the edges, edge samples repeated).
        cval: the value outside the array in ``"constant"`` mode.

    Returns:
        The interpolated values, of the coordinates' shape and ``input``'s dtype (integer
        input is rounded, as in JAX).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy.ndimage import map_coordinates
        >>> image = fnp.arange(12.0).reshape(3, 4)
        >>> coords = [fnp.asarray([0.5, 1.5]), fnp.asarray([1.5, 2.5])]
        >>> map_coordinates(image, coords, order=1).tolist()
        [3.5, 8.5]
    """
    fname = "funcgrad.scipy.ndimage.map_coordinates"
    input = fnp.asarray(input)
    if isinstance(coordinates, (str, bytes)) or not isinstance(coordinates, Sequence):
        if hasattr(coordinates, "shape") and coordinates.ndim >= 1:
            coordinates = list(coordinates)  # SciPy's (ndim, ...) array form
        else:
            raise TypeError(
                f"{fname}: coordinates must be a sequence of input.ndim arrays, got "
                f"{type(coordinates).__name__}"
            )
    coords = [fnp.asarray(c) for c in coordinates]
    if len(coords) != input.ndim:
        raise ValueError(
            f"{fname}: coordinates must hold one array per axis of input (shape "
            f"{input.shape}, {input.ndim} axes), got {len(coords)}"
        )
    if mode not in _FIX_INDEX:
        raise NotImplementedError(
            f"{fname}: mode {mode!r} is not supported; use one of {sorted(_FIX_INDEX)}"
        )
    order = operator.index(order)
    if order not in (0, 1):
        raise NotImplementedError(f"{fname}: order must be 0 or 1 (as in JAX), got {order}")
    if input.ndim == 0:
        raise ValueError(f"{fname}: input must have at least one dimension")
    if any(c.dtype.kind not in "biuf" for c in coords):
        raise TypeError(f"{fname}: coordinates must be real numbers")
    coords = fnp.broadcast_arrays(*coords)
    cval = fnp.asarray(cval).astype(input.dtype)
    nodes = _nearest if order == 0 else _linear

    per_axis = []
    for coordinate, size in zip(coords, input.shape):
        if order == 1 and coordinate.dtype.kind not in "fc":
            coordinate = coordinate.astype(fnp.result_type(input.dtype, float))
        entries = []
        for index, weight in nodes(coordinate):
            valid = (index >= 0) & (index < size) if mode == "constant" else None
            fixed = _FIX_INDEX[mode](index, size)
            if mode == "constant":  # keep the gather in bounds; the value is replaced
                fixed = fnp.clip(fixed, 0, size - 1)
            entries.append((fixed, valid, weight))
        per_axis.append(entries)

    terms = []
    for combo in itertools.product(*per_axis):
        indices, valids, weights = zip(*combo)
        value = input[tuple(indices)]
        valids = [v for v in valids if v is not None]
        if valids:
            value = fnp.where(functools.reduce(operator.and_, valids), value, cval)
        weights = [w for w in weights if w is not None]
        if weights:
            value = functools.reduce(operator.mul, weights) * value
        terms.append(value)
    result = functools.reduce(operator.add, terms)
    if input.dtype.kind in "iub":
        result = _round_half_away(result) if result.dtype.kind == "f" else result
    return result.astype(input.dtype)
