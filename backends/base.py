"""The backend protocol: an array namespace plus the kernels that are not plain calls on it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import ModuleType
from typing import Any


class BackendUnavailableError(RuntimeError):
    """A known backend cannot run on this machine (e.g. cupy without a GPU)."""


class UnknownBackendError(ValueError):
    """No backend is registered under the requested name."""


class Backend(ABC):
    """One array library (NumPy, CuPy) as seen by funcgrad's engine.

    A backend is written once over its array namespace ``xp``: NumPy and CuPy share
    the NumPy API, so most primitives' implementations are ``backend.xp.<name>``
    calls. The methods below are the places where that is not enough.

    Attributes:
        name: the registry name (``"numpy"``, ``"cupy"``).
        xp: the array namespace module.
        buffer_type: the type of this backend's arrays (``numpy.ndarray``, ...).
    """

    name: str
    xp: ModuleType
    buffer_type: type

    # --- buffers -------------------------------------------------------------------

    def is_buffer(self, x: Any) -> bool:
        """True if ``x`` is an array of this backend (not a scalar, not another library's)."""
        return isinstance(x, self.buffer_type)

    def asarray(self, x: Any, dtype: Any = None) -> Any:
        """A new buffer holding ``x`` (host data, scalars or nested lists).

        Always copies, so later mutation of ``x`` by its owner can never reach a
        funcgrad array.
        """
        return self.freeze(self.xp.array(x, dtype=dtype, copy=True))

    @abstractmethod
    def freeze(self, buf: Any) -> Any:
        """``buf`` as this backend's array type (0-d arrays for scalars).

        funcgrad never writes into a buffer after wrapping it; buffers leave only
        through :meth:`to_numpy`, which hands out read-only views.
        """

    @abstractmethod
    def to_numpy(self, buf: Any) -> Any:
        """A read-only NumPy array with the contents of ``buf`` (copied from a device)."""

    def synchronize(self, buf: Any) -> None:
        """Wait until every computation writing ``buf`` has finished (a no-op on the CPU)."""

    def is_ufunc(self, kernel: Any) -> bool:
        """True if ``kernel`` is a universal function of ``xp`` (``xp.ufunc``).

        jit relies on what such a kernel guarantees: called without ``out=`` it returns
        a newly allocated, writable buffer that shares no memory with its operands
        (a 0-d result may be a scalar), and it accepts ``out=``. Other namespace
        functions with ufunc-like names (``real``, ``imag``, sometimes ``conj``) may
        return an operand or a view of it, so jit never writes into their results.
        """
        ufunc_type = getattr(self.xp, "ufunc", None)
        return isinstance(ufunc_type, type) and isinstance(kernel, ufunc_type)

    def export_dlpack(self, buf: Any, **kwargs: Any) -> Any:
        """A DLPack capsule for ``buf`` (``__dlpack__`` of a funcgrad array)."""
        return buf.__dlpack__(**kwargs)

    def from_dlpack(self, x: Any) -> Any:
        """A buffer sharing memory with a DLPack-capable object ``x``."""
        return self.xp.from_dlpack(x)

    # --- kernels that are not single namespace calls ------------------------------

    def broadcast_in_dim(self, x: Any, shape: tuple, broadcast_dimensions: tuple) -> Any:
        """A read-only view of ``x`` broadcast to ``shape``, its axis ``i`` becoming output
        axis ``broadcast_dimensions[i]`` (where it has size 1, it is broadcast too)."""
        xp = self.xp
        expanded = [1] * len(shape)
        for in_dim, out_dim in enumerate(broadcast_dimensions):
            expanded[out_dim] = x.shape[in_dim]
        return xp.broadcast_to(xp.reshape(x, expanded), shape)

    #: The namespace functions behind ``reduce``'s operations.
    _REDUCTIONS = {
        "sum": "sum",
        "prod": "prod",
        "max": "max",
        "min": "min",
        "and": "all",
        "or": "any",
    }

    def reduce(self, op: str, x: Any, axes: tuple) -> Any:
        """``x`` reduced over ``axes`` by ``op`` (sum, prod, max, min, and, or), in ``x``'s
        dtype for sum and prod: a new writable buffer (jit may write later results
        into it), or a scalar for a 0-d result."""
        fn = getattr(self.xp, self._REDUCTIONS[op])
        if op in ("sum", "prod"):
            return fn(x, axis=axes, dtype=x.dtype)
        return fn(x, axis=axes)

    def select(self, pred: Any, on_true: Any, on_false: Any) -> Any:
        """``on_true`` where ``pred``, else ``on_false`` (arrays of one dtype or 0-d scalars
        of it, broadcast together): a new writable buffer, never an operand or a view
        of one (jit may write later results into it)."""
        return self.xp.where(pred, on_true, on_false)

    def scatter(self, mode: str, operand: Any, index: tuple, updates: Any) -> Any:
        """A copy of ``operand`` with ``updates`` combined at NumPy index ``index``.

        ``mode`` is one of ``"set"``, ``"add"``, ``"multiply"``, ``"min"``, ``"max"``.
        Repeated indices accumulate for the combining modes; for ``"set"`` the last
        write wins, as in NumPy.
        """
        xp = self.xp
        out = xp.array(operand, copy=True)
        if mode == "set":
            out[index] = updates
            return out
        ufunc = {"add": xp.add, "multiply": xp.multiply, "min": xp.minimum, "max": xp.maximum}[mode]
        if any(isinstance(i, self.buffer_type) for i in index):
            ufunc.at(out, index, updates)  # unbuffered: repeated indices accumulate
        else:
            # Basic indices select each element at most once: a buffered update is exact.
            out[index] = ufunc(out[index], updates)
        return out

    def gather(self, x: Any, index: tuple) -> Any:
        """``x[index]`` with NumPy's indexing rules (out-of-bounds indices raise IndexError)."""
        return x[index]

    def cumulative(self, op: str, x: Any, axis: int) -> Any:
        """The running ``op`` (sum, prod, max, min) of ``x`` along ``axis``, in ``x``'s dtype;
        NaN propagates through max and min, as in NumPy."""
        xp = self.xp
        if op == "sum":
            return xp.cumsum(x, axis=axis, dtype=x.dtype)
        if op == "prod":
            return xp.cumprod(x, axis=axis, dtype=x.dtype)
        return {"max": xp.maximum, "min": xp.minimum}[op].accumulate(x, axis=axis)

    def lexsort(self, keys: tuple, axis: int) -> Any:
        """The stable permutation along ``axis`` that sorts by ``keys`` (arrays of one shape,
        possibly of different dtypes), the last key first, as ``numpy.lexsort``."""
        return self.xp.lexsort(keys, axis=axis)

    # --- fused elementwise kernels (jit) --------------------------------------------

    #: Whether jit should hand groups of elementwise equations to
    #: :meth:`elementwise_kernel` (one pass over memory for the group instead of one per
    #: operation). False for NumPy: its ufuncs cannot be fused.
    fuses_elementwise: bool = False

    def elementwise_kernel(self, description: Any) -> Any:
        """A callable running a fused elementwise group: ``fn(*inputs) -> tuple of outputs``.

        ``description`` is a
        :class:`funcgrad._src.interpreters.fusion.ElementwiseKernelDescription` (the C
        source, parameters, dtypes and shapes); the code is compiled once per signature.
        """
        raise NotImplementedError(f"backend {self.name!r} does not compile elementwise kernels")

    def __repr__(self) -> str:
        return f"<backend {self.name!r}>"
