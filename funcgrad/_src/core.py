"""The engine's core: abstract values, primitives, and the stackless trace context.

A :class:`Primitive` is a name plus rules. ``prim.bind(*args, **params)`` hands the
operation to the *current trace*: one per thread, held in a context variable, with
a parent link. Eager evaluation is the bottom trace, :class:`EvalTrace`; the
autodiff, batching and jit interpreters install their own traces on top of it and
process an operation by binding simpler ones in their parent trace.

Rule tables live on the primitive itself:

===============  ============================================================
``impl``         ``impl(backend, *buffers, **params) -> list of buffers``
``abstract_eval`` ``abstract_eval(*avals, **params) -> list of ShapedArray``
``jvp``          forward-mode rule (added by the autodiff interpreter)
``transpose``    for primitives linear in some operands (reverse mode)
``batch``        the vmap rule
===============  ============================================================

Arrays are positional arguments, static parameters are keyword arguments, and every
rule returns a list, so multi-output primitives need no special case.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Callable

import numpy as np

from backends import Backend, get_backend

# Python scalars are "weak": they take the dtype of the arrays they meet (NEP 50).
WEAK_SCALAR_TYPES = (bool, int, float, complex)


class ShapedArray:
    """The abstract value of an array: its shape and dtype.

    ``weak_type`` marks a Python scalar literal, whose dtype yields to the other
    operands' (NumPy 2 / NEP 50 promotion).
    """

    __slots__ = ("shape", "dtype", "weak_type")

    def __init__(self, shape: tuple[int, ...], dtype: Any, weak_type: bool = False):
        # Created for every traced operation: skip conversions that are already done.
        self.shape = shape if type(shape) is tuple else tuple(shape)
        self.dtype = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)
        self.weak_type = weak_type

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def update(self, shape=None, dtype=None, weak_type=None) -> ShapedArray:
        if shape is None and dtype is None and weak_type == self.weak_type:
            return self  # avals are immutable: nothing to copy
        return ShapedArray(
            self.shape if shape is None else shape,
            self.dtype if dtype is None else dtype,
            self.weak_type if weak_type is None else weak_type,
        )

    def str_short(self) -> str:
        """Short form used in printed programs and messages, e.g. ``float32[3,4]``."""
        return f"{self.dtype.name}[{','.join(map(str, self.shape))}]"

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is ShapedArray
            and self.shape == other.shape
            and self.dtype == other.dtype
            and self.weak_type == other.weak_type
        )

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype, self.weak_type))

    def __repr__(self) -> str:
        return f"ShapedArray({self.str_short()}{', weak' if self.weak_type else ''})"


_WEAK_SCALAR_DTYPES = {
    bool: np.dtype(np.bool_),
    int: np.dtype(np.int64),
    float: np.dtype(np.float64),
    complex: np.dtype(np.complex128),
}


def get_aval(x: Any) -> ShapedArray:
    """The abstract value of an array, tracer or Python scalar literal."""
    aval = getattr(x, "aval", None)
    if aval is not None:
        return aval
    t = type(x)
    if t in _WEAK_SCALAR_DTYPES:
        return ShapedArray((), _WEAK_SCALAR_DTYPES[t], weak_type=True)
    if isinstance(x, (np.ndarray, np.generic)):
        return ShapedArray(x.shape, x.dtype)
    raise TypeError(f"{type(x).__name__} is not a valid funcgrad value: {x!r:.60}")


class Primitive:
    """A named operation with rules attached (see the module docstring)."""

    __slots__ = (
        "name",
        "impl",
        "abstract_eval",
        "jvp",
        "transpose",
        "batch",
        "linear",
        "__weakref__",
    )

    def __init__(self, name: str, *, linear: bool = False):
        self.name = name
        self.impl: Callable[..., list] | None = None
        self.abstract_eval: Callable[..., list[ShapedArray]] | None = None
        self.jvp: Callable | None = None
        self.transpose: Callable | None = None
        self.batch: Callable | None = None
        # Linear primitives need a transpose rule for reverse mode.
        self.linear = linear

    def bind(self, *args: Any, **params: Any) -> list:
        """Apply the primitive in the current trace; returns a list of outputs."""
        return _context.trace.process_primitive(self, args, params)

    def bind1(self, *args: Any, **params: Any) -> Any:
        """``bind`` for single-output primitives: returns the one output."""
        return _context.trace.process_primitive(self, args, params)[0]

    def __repr__(self) -> str:
        return self.name


# ------------------------------------------------------------------------------------
# Traces and the thread-local context
# ------------------------------------------------------------------------------------


class Trace:
    """One interpreter level. ``parent`` is the trace its operations are lowered to."""

    parent: Trace | None = None
    #: Name shown in error messages ("jvp", "vmap", "jit", ...).
    transformation = "eval"
    #: False once the transformation that owns the trace has returned: its tracers are dead.
    active = True

    def process_primitive(self, prim: Primitive, args: tuple, params: dict) -> list:
        raise NotImplementedError(f"{type(self).__name__}.process_primitive")


class Tracer:
    """A value inside a transformation: a stand-in for an array with its abstract value.

    Interpreters subclass it. Operators and methods are attached by
    ``funcgrad._src.array_methods`` so tracers behave like arrays.
    """

    __slots__ = ("_trace",)
    __array_priority__ = 1000

    @property
    def aval(self) -> ShapedArray:
        raise NotImplementedError(f"{type(self).__name__}.aval")

    @property
    def shape(self) -> tuple[int, ...]:
        return self.aval.shape

    @property
    def dtype(self) -> np.dtype:
        return self.aval.dtype

    @property
    def ndim(self) -> int:
        return len(self.aval.shape)

    @property
    def size(self) -> int:
        return self.aval.size

    def _trace_is_live(self) -> bool:
        return self._trace.active

    def concrete_value(self) -> Any:
        """The concrete :class:`Array` behind this tracer, or ``None`` if it has none.

        Forward-mode tracers wrap concrete primals; jit tracers have no value.
        """
        return None

    def __repr__(self) -> str:
        return tracer_repr(self)


def tracer_repr(tracer: Tracer) -> str:
    return f"Traced<{tracer.aval.str_short()}> in {tracer._trace.transformation}"


class _Context(threading.local):
    def __init__(self) -> None:
        self.trace: Trace = EVAL_TRACE
        self.default_backend: str | None = None


class EvalTrace(Trace):
    """Eager evaluation: run each primitive's impl on its backend."""

    def process_primitive(self, prim: Primitive, args: tuple, params: dict) -> list:
        # The hot path of every eager operation: keep it flat.
        backend = None
        buffers = []
        for x in args:
            t = type(x)
            if t is Array:
                b = x._backend
                if b is not backend:
                    if backend is not None:
                        raise _mixed_backends_error(prim, args)
                    backend = b
                buffers.append(x._buffer)
            elif t in _WEAK_SCALAR_DTYPES or isinstance(x, np.generic):
                buffers.append(x)  # a literal: every backend's kernels accept scalars
            elif isinstance(x, Tracer):
                raise escaped_tracer_error(x, prim)
            else:
                raise TypeError(
                    f"{prim.name}: operand of type {type(x).__name__} is not a funcgrad "
                    f"array; convert it with funcgrad.numpy.asarray first"
                )
        if backend is None:
            backend = current_backend()
        impl = prim.impl
        if impl is None:
            raise NotImplementedError(f"primitive '{prim.name}' has no implementation")
        try:
            outs = impl(backend, *buffers, **params)
        except Exception as e:
            raise _explain_impl_error(prim, args, params, e) from None
        buffer_type = backend.buffer_type
        results = []
        for out in outs:
            if type(out) is not buffer_type:
                out = backend.freeze(out)  # scalars from 0-d ufuncs become 0-d arrays
            a = object.__new__(Array)
            a._buffer = out
            a._backend = backend
            results.append(a)
        return results


def _explain_impl_error(prim: Primitive, args: tuple, params: dict, error: Exception) -> Exception:
    """The error to show for a failed impl call.

    Eager evaluation skips abstract evaluation for speed; when a kernel fails, the
    abstract rule is consulted so that invalid operands get funcgrad's message (which
    names the primitive and the shapes) instead of the backend's.
    """
    try:
        avals = [get_aval(x) for x in args]
        if prim.abstract_eval is not None:
            prim.abstract_eval(*avals, **params)
    except (TypeError, ValueError, IndexError) as explained:
        return explained
    shapes = ", ".join(a.str_short() for a in avals)
    if hasattr(error, "add_note"):
        error.add_note(f"(in primitive '{prim.name}' applied to {shapes})")
    return error


def _mixed_backends_error(prim: Primitive, args: tuple) -> ValueError:
    names = sorted({x._backend.name for x in args if type(x) is Array})
    return ValueError(
        f"{prim.name}: operands live on different backends ({' and '.join(names)}); "
        f"move them to one with funcgrad.device_put(x, {names[0]!r})"
    )


def escaped_tracer_error(
    tracer: Tracer, prim: Primitive | None = None, fname: str | None = None
) -> Exception:
    where = (
        f" was passed to '{prim.name}'" if prim is not None
        else f" was used by {fname}" if fname is not None
        else " was used"
    )  # fmt: skip
    return UnexpectedTracerError(
        f"a traced value ({tracer.aval.str_short()}) made by {tracer._trace.transformation}"
        f"{where} after that transformation ended: the tracer escaped, e.g. through a "
        f"global, a closure or a side effect. Return it from the transformed function "
        f"instead."
    )


class UnexpectedTracerError(RuntimeError):
    """A tracer was used outside the transformation that made it."""


class ConcretizationError(TypeError):
    """A Python value (bool, int, shape, ...) was needed from a traced value."""


class TracerArrayConversionError(ConcretizationError):
    """A traced value was converted to a NumPy array (``np.asarray``, a NumPy function)."""


EVAL_TRACE = EvalTrace()
_context = _Context()


def current_trace() -> Trace:
    return _context.trace


@contextmanager
def set_current_trace(trace: Trace):
    """Make ``trace`` current for the duration of the block."""
    prev = _context.trace
    _context.trace = trace
    try:
        yield trace
    finally:
        _context.trace = prev


def current_backend() -> Backend:
    """The backend for values created from nothing: the :func:`default_backend`
    override if one is active, else ``$FUNCGRAD_BACKEND`` (read once, at first use),
    else numpy."""
    name = _context.default_backend
    if name is not None:
        return get_backend(name)
    global _process_default
    if _process_default is None:
        _process_default = get_backend(None)
    return _process_default


_process_default: Backend | None = None


@contextmanager
def default_backend(name: str | Backend | None):
    """Within the block, arrays created from Python data live on backend ``name``.

    Examples:
        >>> import funcgrad
        >>> import funcgrad.numpy as fnp
        >>> with funcgrad.default_backend("numpy"):
        ...     fnp.zeros(2).backend
        'numpy'
    """
    if name is None:  # no override requested: keep whatever is in force
        yield current_backend()
        return
    backend = get_backend(name)  # fail at the with-statement, not at the first array
    prev = _context.default_backend
    _context.default_backend = backend.name
    try:
        yield backend
    finally:
        _context.default_backend = prev


def inputs_backend_name(values) -> str | None:
    """The backend name of the first concrete array among ``values`` if it is not the
    current default (see :class:`on_inputs_backend`), else None; cheap on the hot path."""
    default = _process_default if _context.default_backend is None else None
    if default is None:
        default = current_backend()
    for x in values:
        if type(x) is Array:
            return None if x._backend is default else x._backend.name
    return None


class on_inputs_backend:
    """Within the block, values created from nothing (a rule's zeros, iota, literals
    broadcast to arrays, a traced program's constants) live on the backend of the first
    concrete array among ``values``, so that transforming a function of CuPy arrays never
    mixes in NumPy ones. Costs one attribute check per value when that backend is the
    default already.
    """

    __slots__ = ("_name", "_prev")

    def __init__(self, values) -> None:
        self._name = inputs_backend_name(values)

    def __enter__(self) -> None:
        if self._name is not None:
            self._prev = _context.default_backend
            _context.default_backend = self._name

    def __exit__(self, *exc) -> None:
        if self._name is not None:
            _context.default_backend = self._prev


# ------------------------------------------------------------------------------------
# Arrays
# ------------------------------------------------------------------------------------


class _ArrayType(type):
    """``isinstance(tracer, Array)`` is True, as ``isinstance(tracer, jax.Array)`` is in JAX:
    user code that checks types behaves the same inside ``grad``, ``vmap`` and ``jit``.

    funcgrad's own code tells concrete arrays apart with ``type(x) is Array``.
    """

    def __instancecheck__(cls, instance: Any) -> bool:
        return type.__instancecheck__(cls, instance) or (
            cls is Array and isinstance(instance, Tracer)
        )

    def __subclasscheck__(cls, subclass: type) -> bool:
        return type.__subclasscheck__(cls, subclass) or (
            cls is Array and isinstance(subclass, type) and issubclass(subclass, Tracer)
        )


class Array(metaclass=_ArrayType):
    """An immutable n-dimensional array on one backend.

    Create arrays with ``funcgrad.numpy`` (``fnp.asarray``, ``fnp.zeros``, ...).
    Operators and NumPy-style methods are attached by ``funcgrad._src.array_methods``.

    Immutability: the buffer is private. Host data is copied in, and every way out
    (``np.asarray(x)``, ``device_get``, DLPack on NumPy) hands out a read-only view,
    so no one can write into a buffer an array holds.
    """

    __slots__ = ("_buffer", "_backend", "__weakref__")
    __array_priority__ = 100

    @property
    def aval(self) -> ShapedArray:
        buf = self._buffer
        return ShapedArray(buf.shape, buf.dtype)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._buffer.shape

    @property
    def dtype(self) -> np.dtype:
        return self._buffer.dtype

    @property
    def ndim(self) -> int:
        return self._buffer.ndim

    @property
    def size(self) -> int:
        return self._buffer.size

    @property
    def backend(self) -> str:
        """The name of the backend holding this array's buffer."""
        return self._backend.name

    def concrete_value(self) -> Array:
        return self


def _new_array(buffer: Any, backend: Backend) -> Array:
    # Bypasses __init__: this is the hot path of every eager operation.
    a = object.__new__(Array)
    a._buffer = buffer
    a._backend = backend
    return a


def array_from_buffer(buffer: Any, backend: Backend) -> Array:
    """Wrap a backend buffer (taking ownership: it must not be written afterwards)."""
    return _new_array(backend.freeze(buffer), backend)


def is_array_like(x: Any) -> bool:
    """True for funcgrad arrays and tracers."""
    # Array has no subclasses; its metaclass counts tracers as instances, but that check
    # runs in Python, so tracers are tested directly.
    return type(x) is Array or isinstance(x, Tracer)


def concrete_or_error(x: Any, fname: str, what: str, hint: str) -> Array:
    """The concrete array behind ``x``, or a :class:`ConcretizationError` saying what to do.

    Args:
        x: an array or tracer.
        fname: the public function that needs the value (named in the message).
        what: what the value is needed for, e.g. "the number of nonzero elements".
        hint: what to do instead under jit, e.g. "pass size=".
    """
    if type(x) is Array:
        return x
    if isinstance(x, Tracer) and not x._trace_is_live():
        raise escaped_tracer_error(x, None, fname)
    value = x.concrete_value() if isinstance(x, Tracer) else None
    if value is None:
        raise ConcretizationError(
            f"{fname}: {what} depends on the value of a traced array ({x!r}), which is "
            f"not known while tracing. {hint}"
        )
    return value
