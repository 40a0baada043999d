"""The CuPy backend: NVIDIA GPU arrays; cupy is imported only when this backend is built.

Most primitives run as the same array-namespace calls as on NumPy (``cupy`` mirrors
NumPy's API). This module holds the places where CuPy differs:

- scatter with repeated indices: CuPy's ``ufunc.at`` exists only for a few
  (operation, dtype) pairs (atomic adds and integer min/max); the others, and
  ``set`` (whose last write must win, as in NumPy, not a racing one), go through a
  stable sort of the flat target positions;
- running max/min (CuPy's ``maximum.accumulate`` is not implemented): a log-step scan;
- multi-key sort (``cupy.lexsort`` takes one 2-D array of keys and no axis): successive
  stable argsorts, least significant key first;
- integer-array indices: CuPy wraps out-of-bounds indices silently; they are checked
  (one device synchronisation) so that they raise IndexError, as in NumPy;
- fused elementwise kernels for jit: ``cupy.ElementwiseKernel``, compiled once per
  kernel signature.

The helpers are written over an array namespace ``xp`` so that they can be tested
with NumPy on machines without a GPU.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from backends.base import Backend, BackendUnavailableError


def _import_cupy():
    """Import cupy and check for a usable CUDA device, naming the missing piece if not."""
    try:
        import cupy
    except ImportError as e:
        raise BackendUnavailableError(
            "backend 'cupy' is unavailable: the cupy package is not installed "
            f"({e}). Install it with pip install 'funcgrad[cuda12]' or 'funcgrad[cuda13]'."
        ) from e
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # CUDA driver missing or broken: cupy raises its own types
        raise BackendUnavailableError(
            f"backend 'cupy' is unavailable: cupy is installed but CUDA reports no usable "
            f"GPU ({type(e).__name__}: {e})."
        ) from e
    if count == 0:
        raise BackendUnavailableError(
            "backend 'cupy' is unavailable: cupy is installed but no CUDA device was found."
        )
    return cupy


# --- indices ---------------------------------------------------------------------------------


def array_index_axes(index: tuple, ndim: int, is_array) -> list[tuple[int, Any]]:
    """``(axis, entry)`` for each integer-array entry of NumPy index ``index`` into an
    array of ``ndim`` dimensions (``None`` takes no axis, ``Ellipsis`` the axes that
    the other entries leave)."""
    taken = sum(1 for e in index if e is not None and e is not Ellipsis)
    found, axis = [], 0
    for entry in index:
        if entry is None:
            continue
        if entry is Ellipsis:
            axis += ndim - taken
            continue
        if is_array(entry):
            found.append((axis, entry))
        axis += 1
    return found


def check_bounds(xp, shape: tuple, index: tuple, is_array) -> None:
    """Raise NumPy's IndexError if an integer-array entry of ``index`` is out of bounds
    (one device synchronisation for all of them)."""
    entries = array_index_axes(index, len(shape), is_array)
    if not entries:
        return
    bad = [((i < -shape[a]) | (i >= shape[a])).any() for a, i in entries]
    if not bool(xp.stack(bad).any()):
        return
    for a, i in entries:
        outside = i[(i < -shape[a]) | (i >= shape[a])]
        if outside.size:
            raise IndexError(
                f"index {int(outside[0])} is out of bounds for axis {a} with size {shape[a]}"
            )


def flat_positions(xp, shape: tuple, index: tuple) -> Any:
    """The flat (C-order) positions of the elements ``x[index]`` selects in an array of
    ``shape``, as an int64 array of the shape of ``x[index]``.

    Indexing only selects, so the positions are the sum, over axes, of the index applied
    to ``position along the axis * stride``, each a zero-stride broadcast view: nothing of
    the operand's size is allocated.
    """
    positions = None
    stride = 1
    for axis in range(len(shape) - 1, -1, -1):
        n = shape[axis]
        if n > 1:
            line = xp.arange(n, dtype=np.int64) * stride
            view = xp.broadcast_to(
                xp.reshape(line, [n if d == axis else 1 for d in range(len(shape))]), shape
            )
            part = view[index]
            positions = part if positions is None else positions + part
        stride *= n
    if positions is None:  # every axis has size <= 1: position 0
        positions = xp.broadcast_to(xp.zeros((), dtype=np.int64), shape)[index]
    return positions


def _stable_argsort(xp, a: Any, axis: int = -1) -> Any:
    return xp.argsort(a, axis=axis, kind="stable")


def scatter_by_sorting(xp, mode: str, flat: Any, positions: Any, updates: Any) -> None:
    """Combine ``updates`` into 1-D ``flat`` at ``positions`` (1-D, same length), in place,
    with NumPy's semantics for repeated positions: ``set`` keeps the last update, the
    combining modes apply the updates one after another in their order (as
    ``ufunc.at`` does, so results are bit-identical to NumPy's).

    A stable sort groups the updates of each position; round ``r`` applies the ``r``-th
    update of every position at once (positions are distinct within a round).
    """
    n = positions.shape[0]
    if n == 0:
        return
    order = _stable_argsort(xp, positions)
    pos, upd = positions[order], updates[order]
    if mode == "set":
        last = xp.concatenate([pos[1:] != pos[:-1], xp.ones(1, dtype=bool)])
        flat[pos[last]] = upd[last]
        return
    ufunc = {"add": xp.add, "multiply": xp.multiply, "min": xp.minimum, "max": xp.maximum}[mode]
    first = xp.concatenate([xp.ones(1, dtype=bool), pos[1:] != pos[:-1]])
    starts = xp.nonzero(first)[0]
    rank = xp.arange(n) - starts[xp.cumsum(first) - 1]  # occurrence number of each update
    for r in range(int(rank.max()) + 1):
        chosen = rank == r
        p = pos[chosen]
        flat[p] = ufunc(flat[p], upd[chosen])


def running_extremum(xp, op: str, x: Any, axis: int) -> Any:
    """The running max or min of ``x`` along ``axis`` by a log-step scan (Hillis-Steele):
    after the step with offset ``k`` each element holds the extremum of the ``2k`` values
    ending at it. NaN propagates, as in ``maximum.accumulate``."""
    ufunc = xp.maximum if op == "max" else xp.minimum
    n = x.shape[axis]
    out = x
    k = 1
    while k < n:
        head = [slice(None)] * x.ndim
        tail = [slice(None)] * x.ndim
        shifted = [slice(None)] * x.ndim
        head[axis], tail[axis], shifted[axis] = slice(0, k), slice(k, None), slice(0, n - k)
        # a new array each step: the update reads values the step overwrites
        out = xp.concatenate(
            [out[tuple(head)], ufunc(out[tuple(tail)], out[tuple(shifted)])], axis=axis
        )
        k *= 2
    return xp.array(out, copy=True) if out is x else out


def lexsort_by_argsorts(xp, keys: tuple, axis: int) -> Any:
    """``numpy.lexsort(keys, axis)`` (last key primary) as stable argsorts, least
    significant key first: each sort keeps the order the previous ones made among ties."""
    perm = None
    for key in keys:
        if perm is None:
            perm = _stable_argsort(xp, key, axis)
        else:
            ranked = xp.take_along_axis(key, perm, axis=axis)
            perm = xp.take_along_axis(perm, _stable_argsort(xp, ranked, axis), axis=axis)
    return perm


# (operation, dtype) pairs for which CuPy's ufunc.at is exact and implemented (atomics);
# float min/max are left out: the atomics' NaN handling is not NumPy's.
ATOMIC_AT = {
    "add": frozenset(
        np.dtype(t) for t in (np.int32, np.uint32, np.uint64, np.float16, np.float32, np.float64)
    ),
    "min": frozenset(np.dtype(t) for t in (np.int32, np.uint32, np.uint64)),
    "max": frozenset(np.dtype(t) for t in (np.int32, np.uint32, np.uint64)),
}


def scatter(xp, mode: str, operand: Any, index: tuple, updates: Any, is_array,
            atomic_at: dict = ATOMIC_AT) -> Any:  # fmt: skip
    """A copy of ``operand`` with ``updates`` combined at NumPy index ``index`` (see
    :meth:`Backend.scatter`), using ``ufunc.at`` only where ``atomic_at`` says it works."""
    out = xp.array(operand, copy=True)
    arrays = any(is_array(i) for i in index)
    if not arrays:  # basic indices select each element once: a buffered update is exact
        if mode == "set":
            out[index] = updates
        else:
            ufunc = {"add": xp.add, "multiply": xp.multiply, "min": xp.minimum,
                     "max": xp.maximum}[mode]  # fmt: skip
            out[index] = ufunc(out[index], updates)
        return out
    dt = out.dtype
    updates = xp.asarray(updates, dtype=dt)
    ufunc = {"add": xp.add, "min": xp.minimum, "max": xp.maximum}.get(mode)
    if ufunc is not None and dt in atomic_at.get(mode, ()):
        ufunc.at(out, index, updates)
        return out
    if mode == "add" and dt == np.int64 and np.dtype(np.uint64) in atomic_at["add"]:
        # two's-complement addition is the same operation on uint64: an exact atomic add
        wide = xp.ascontiguousarray(xp.broadcast_to(updates, out[index].shape))
        xp.add.at(out.view(np.uint64), index, wide.view(np.uint64))
        return out
    positions = xp.reshape(flat_positions(xp, out.shape, index), (-1,))
    values = xp.reshape(xp.broadcast_to(updates, out[index].shape), (-1,))
    scatter_by_sorting(xp, mode, xp.reshape(out, (-1,)), positions, values)
    return out


# --- the backend -----------------------------------------------------------------------------


class CuPyBackend(Backend):
    """GPU execution on CuPy arrays (cuBLAS through CuPy; convolution as im2col + matmul).

    Attributes:
        check_index_bounds: check integer-array indices of gathers and scatters (one
            device synchronisation each) so that out-of-bounds indices raise IndexError
            as in NumPy; CuPy alone would wrap them around silently.
    """

    name = "cupy"
    fuses_elementwise = True
    check_index_bounds = True

    def __init__(self) -> None:
        cupy = _import_cupy()
        self.xp = cupy
        self.buffer_type = cupy.ndarray
        self._elementwise_kernels: dict = {}

    def _is_array(self, x: Any) -> bool:
        return isinstance(x, self.buffer_type)

    def freeze(self, buf: Any) -> Any:
        # CuPy has no read-only flag; funcgrad never writes into a buffer it handed out.
        if type(buf) is not self.buffer_type:
            buf = self.xp.asarray(buf)
        return buf

    def synchronize(self, buf: Any) -> None:
        # kernels run asynchronously on the current stream of the buffer's device
        with buf.device:
            self.xp.cuda.get_current_stream().synchronize()

    def to_numpy(self, buf: Any) -> Any:
        host = self.xp.asnumpy(buf)
        host.setflags(write=False)  # the same contract as NumPy's read-only views
        return host

    def gather(self, x: Any, index: tuple) -> Any:
        if self.check_index_bounds:
            check_bounds(self.xp, x.shape, index, self._is_array)
        return x[index]

    def scatter(self, mode: str, operand: Any, index: tuple, updates: Any) -> Any:
        if self.check_index_bounds:
            check_bounds(self.xp, operand.shape, index, self._is_array)
        return scatter(self.xp, mode, operand, index, updates, self._is_array)

    def cumulative(self, op: str, x: Any, axis: int) -> Any:
        if op in ("max", "min"):
            return running_extremum(self.xp, op, x, axis)
        return super().cumulative(op, x, axis)

    def lexsort(self, keys: tuple, axis: int) -> Any:
        return lexsort_by_argsorts(self.xp, keys, axis)

    def elementwise_kernel(self, description: Any) -> Any:
        cupy = self.xp
        key = description.signature
        kernel = self._elementwise_kernels.get(key)
        if kernel is None:
            kernel = self._elementwise_kernels[key] = cupy.ElementwiseKernel(
                description.in_params, description.out_params, description.operation,
                description.name, preamble=description.preamble,
            )  # fmt: skip
        return _kernel_call(cupy, kernel, description)


def _kernel_call(xp, kernel, description) -> Any:
    """``fn(*inputs) -> outputs`` for one call site: inputs reshaped to the views the
    kernel broadcasts, outputs allocated with the group's shape (the inputs may all be
    0-d)."""
    in_shapes = description.in_shapes
    out_shape, out_dtypes = description.out_shape, description.out_dtypes
    empty, reshape = xp.empty, xp.reshape

    def run(*inputs):
        args = [
            reshape(x, s) if getattr(x, "ndim", 0) and x.shape != s else x
            for x, s in zip(inputs, in_shapes)
        ]
        outs = tuple(empty(out_shape, dtype=dt) for dt in out_dtypes)
        if math.prod(out_shape):
            kernel(*args, *outs)
        return outs

    return run
