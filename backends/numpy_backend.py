"""The NumPy backend: CPU arrays, BLAS through numpy."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from backends.base import Backend

# Below this many elements np.where's per-call cost dominates: the bitwise select of
# NumPyBackend.select gains nothing.
_SELECT_BITS_MIN_SIZE = 4096
_SAME_SIZE_INT = {1: np.int8, 2: np.int16, 4: np.int32, 8: np.int64}
# NumPy's ufunc loops over fewer contiguous elements than this per step run several
# times slower than over long rows (see reduce and broadcast_in_dim).
_SHORT_RUN = 64
# Below this many elements a reduction's cost is its call: no two-stage split.
_SPLIT_MIN_SIZE = 4096


def _leading_reduction_split(x: Any, axes: tuple) -> tuple[int, int] | None:
    """``(rows, block)`` to reduce contiguous ``x`` over its leading ``axes`` as a
    ``(rows, block)`` matrix along axis 0, when the kept trailing block is short; else
    None."""
    k = len(axes)
    if not 0 < k < x.ndim or axes != tuple(range(k)) or not x.flags.c_contiguous:
        return None
    block = math.prod(x.shape[k:])
    if block >= _SHORT_RUN or block == 0:
        return None
    for axis in range(k - 1, 0, -1):  # fold trailing reduced axes into the block
        if block >= _SHORT_RUN:
            break
        block *= x.shape[axis]
    if block < _SHORT_RUN or block == math.prod(x.shape[k:]):
        return None
    return x.size // block, block


# A broadcast whose contiguous inner run is short (a bias over NHWC activations: runs of
# C elements) makes every ufunc reading it loop over only that many elements per step;
# from this many output elements on, the broadcast is backed by a small contiguous tile.
_TILE_MIN_SIZE = 1 << 14
_TILE_MIN_RUN = 1024
_TILE_MAX_SIZE = 1 << 14


def _contiguous_run(view: np.ndarray) -> int:
    """How many elements of ``view`` lie contiguously at its end (its inner loop)."""
    run, expected = 1, view.itemsize
    for size, stride in zip(reversed(view.shape), reversed(view.strides)):
        if size == 1:
            continue
        if stride != expected:
            break
        run *= size
        expected *= size
    return run


def _tiled(view: np.ndarray) -> np.ndarray:
    """``view`` (a broadcast) re-expressed over a contiguous tile of its trailing axes, so
    that ufuncs reading it run over long contiguous rows; ``view`` itself where no
    tile of at most _TILE_MAX_SIZE elements would help."""
    first_real = next((d for d, st in enumerate(view.strides) if st and view.shape[d] > 1), 0)
    start = first_real
    while start > 0 and math.prod(view.shape[start:]) < _TILE_MIN_RUN:
        start -= 1
    if start == first_real or math.prod(view.shape[start:]) > _TILE_MAX_SIZE:
        return view
    tile = np.ascontiguousarray(view[(0,) * start])  # axes before start are all broadcast
    tiled = np.ndarray(view.shape, view.dtype, tile, 0, (0,) * start + tile.strides)
    tiled.flags.writeable = False
    return tiled


class NumPyBackend(Backend):
    """CPU execution on NumPy arrays; buffers handed to funcgrad are read-only."""

    name = "numpy"
    xp = np
    buffer_type = np.ndarray

    def freeze(self, buf: Any) -> np.ndarray:
        if type(buf) is not np.ndarray:
            # ufuncs on 0-d arrays return NumPy scalars; funcgrad always holds arrays.
            buf = np.asarray(buf)
        return buf

    def broadcast_in_dim(self, x: Any, shape: tuple, broadcast_dimensions: tuple) -> np.ndarray:
        if type(x) is not np.ndarray or not x.flags.c_contiguous:
            return super().broadcast_in_dim(np.asarray(x), shape, broadcast_dimensions)
        # The strided view built directly: np.broadcast_to costs several microseconds of
        # Python, and broadcasting a bias or a cotangent is on every training step's path.
        strides = [0] * len(shape)
        for in_dim, out_dim in enumerate(broadcast_dimensions):
            if x.shape[in_dim] == shape[out_dim]:
                strides[out_dim] = x.strides[in_dim]
        view = np.ndarray(shape, x.dtype, x, 0, strides)
        view.flags.writeable = False  # elements alias each other: never a write target
        if view.size >= _TILE_MIN_SIZE and _contiguous_run(view) < _SHORT_RUN:
            return _tiled(view)
        return view

    # The ufuncs' own reduce methods: np.sum and friends add microseconds of Python
    # dispatch in front of the same call.
    _UFUNC_REDUCTIONS = {"sum": np.add.reduce, "prod": np.multiply.reduce,
                         "max": np.maximum.reduce, "min": np.minimum.reduce,
                         "and": np.logical_and.reduce, "or": np.logical_or.reduce}  # fmt: skip

    def reduce(self, op: str, x: Any, axes: tuple) -> Any:
        ufunc_reduce = self._UFUNC_REDUCTIONS[op]
        dtype = {"dtype": x.dtype} if op in ("sum", "prod") else {}
        split = _leading_reduction_split(x, axes) if x.size >= _SPLIT_MIN_SIZE else None
        if split is not None:
            # Reducing the leading axes of a contiguous array onto a short trailing block
            # (a bias gradient: (N, H, W, C) -> (C,)) runs NumPy's inner loop over only
            # C elements per step, ~15x slower than over long rows. Reduce rows of
            # ``block`` trailing elements first, then the few partial rows left.
            rows, block = split
            partial = ufunc_reduce(x.reshape(rows, block), axis=0, **dtype)
            return ufunc_reduce(partial.reshape(-1, *x.shape[len(axes):]), axis=0, **dtype)
        return ufunc_reduce(x, axis=axes, **dtype)

    def select(self, pred: Any, on_true: Any, on_false: Any) -> Any:
        if (
            type(pred) is np.ndarray and pred.size >= _SELECT_BITS_MIN_SIZE
            and type(on_true) is np.ndarray and type(on_false) is np.ndarray
            and on_false.dtype == (dtype := on_true.dtype) and dtype.kind in "fiu" and pred.dtype == np.bool_
            and on_true.shape in (pred.shape, ()) and on_false.shape in (pred.shape, ())
        ):  # fmt: skip
            # np.where branches per element: on a mask without pattern (a ReLU's, in a
            # gradient) it runs ~5 ns per element. Selecting the bits through an all-ones
            # or all-zeros integer mask, b ^ ((a ^ b) & mask), is exact and ~4x faster.
            ints = _SAME_SIZE_INT[dtype.itemsize]
            mask = np.negative(pred, dtype=ints)
            a, b = on_true.view(ints), on_false.view(ints)
            if not on_false.ndim and not b.any():  # b is zero: a & mask
                out = np.bitwise_and(a, mask, out=mask)
            else:
                out = np.bitwise_xor(b, np.bitwise_and(np.bitwise_xor(a, b), mask, out=mask),
                                     out=mask)  # fmt: skip
            return out.view(dtype)
        return np.where(pred, on_true, on_false)

    def to_numpy(self, buf: Any) -> np.ndarray:
        view = buf.view()
        view.setflags(write=False)  # callers must not write into a funcgrad array's buffer
        return view

    def export_dlpack(self, buf: Any, **kwargs: Any) -> Any:
        try:
            # DLPack >= 1.0 carries a read-only flag, so consumers can share the memory.
            return self.to_numpy(buf).__dlpack__(**kwargs)
        except BufferError:
            # Older consumers cannot be told "read-only": give them a private copy.
            return buf.copy().__dlpack__(**kwargs)
