"""The NumPy backend: CPU arrays, BLAS through numpy."""

from __future__ import annotations

from typing import Any

import numpy as np

from backends.base import Backend


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
        return view

    # The ufuncs' own reduce methods: np.sum and friends add microseconds of Python
    # dispatch in front of the same call.
    _UFUNC_REDUCTIONS = {"sum": np.add.reduce, "prod": np.multiply.reduce,
                         "max": np.maximum.reduce, "min": np.minimum.reduce,
                         "and": np.logical_and.reduce, "or": np.logical_or.reduce}  # fmt: skip

    def reduce(self, op: str, x: Any, axes: tuple) -> Any:
        if op in ("sum", "prod"):
            return self._UFUNC_REDUCTIONS[op](x, axis=axes, dtype=x.dtype)
        return self._UFUNC_REDUCTIONS[op](x, axis=axes)

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
