"""Operators and NumPy-style methods, attached to both concrete arrays and tracers.

Everything here forwards to ``funcgrad.numpy``, so ``x + y`` inside ``grad`` or
``jit`` is the same primitive as ``fnp.add(x, y)``. What needs a concrete value
(``bool(x)``, ``x.item()``, ``np.asarray(x)``) works on arrays and raises a
:class:`ConcretizationError` with advice on traced values.
"""

from __future__ import annotations

import importlib

import numpy as np

from funcgrad._src.core import (
    Array,
    Tracer,
    TracerArrayConversionError,
    concrete_or_error,
    escaped_tracer_error,
    tracer_repr,
)
from funcgrad._src.numpy import indexing, ufuncs

_WEAK = (bool, int, float, complex)
_OPERAND_TYPES = (Array, Tracer, np.ndarray, np.generic, list, tuple)
_fnp = None


def _numpy_namespace():
    global _fnp
    if _fnp is None:
        _fnp = importlib.import_module("funcgrad.numpy")
    return _fnp


def _binary_operator(fn, reflected: bool = False):
    def op(self, other):
        if (
            type(other) is not Array
            and type(other) not in _WEAK
            and not isinstance(other, _OPERAND_TYPES)
        ):
            return NotImplemented
        return fn(other, self) if reflected else fn(self, other)

    return op


def _forward(name: str, doc_name: str | None = None):
    """A method that calls ``funcgrad.numpy.<name>(self, ...)``."""

    def method(self, *args, **kwargs):
        return getattr(_numpy_namespace(), name)(self, *args, **kwargs)

    method.__name__ = doc_name or name
    method.__doc__ = f"``funcgrad.numpy.{name}(self, ...)``."
    return method


def _concrete(x, what: str) -> Array:
    return concrete_or_error(
        x, what, "converting a traced array to a Python value",
        "Inside jit, use funcgrad.lax.cond / funcgrad.numpy.where instead of Python "
        "control flow, or mark the argument static with static_argnums.",
    )  # fmt: skip


def _python_scalar(x, convert, what: str):
    x = _concrete(x, what)
    if x.size != 1:
        raise TypeError(
            f"{what}: only arrays with one element can be converted to Python scalars; "
            f"this array has shape {x.shape}. Reduce it first (e.g. .any(), .all(), .sum())"
        )
    return convert(x._backend.to_numpy(x._buffer).reshape(()).item())


def _setitem(self, key, value):
    raise TypeError(
        "funcgrad arrays are immutable: x[idx] = v is not supported. Write "
        "x = x.at[idx].set(v) instead (also .add, .multiply, .min, .max)."
    )


def _reshape(self, *shape, order="C"):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return _numpy_namespace().reshape(self, shape, order=order)


def _transpose(self, *axes):
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)) or axes == (None,):
        axes = axes[0]
    return _numpy_namespace().transpose(self, axes or None)


def _astype(self, dtype, copy=True):
    del copy  # arrays are immutable: a same-dtype astype can return self
    from funcgrad._src.numpy.util import asarray

    return asarray(self, dtype=dtype, fname="astype")


def _iter(self):
    if self.ndim == 0:
        raise TypeError("iteration over a 0-d array")
    for i in range(self.shape[0]):
        yield self[i]


def _len(self):
    if self.ndim == 0:
        raise TypeError("len() of unsized object (a 0-d array)")
    return self.shape[0]


def _array(self, dtype=None, copy=None):
    if isinstance(self, Tracer):
        raise _conversion_error(self, "numpy.asarray (the __array__ method)")
    host = self._backend.to_numpy(self._buffer)
    if dtype is not None and host.dtype != dtype:
        return host.astype(dtype)
    if copy:
        return host.copy()
    view = host.view()
    view.setflags(write=False)  # the caller must not be able to mutate our buffer
    return view


def _conversion_error(tracer, what: str) -> Exception:
    """Converting a traced value to NumPy is refused, as in JAX: NumPy would compute on a
    constant, silently cutting the value out of the derivative (grad), the batch (vmap) or
    the compiled program (jit)."""
    if not tracer._trace_is_live():
        return escaped_tracer_error(tracer, None, what)
    return TracerArrayConversionError(
        f"{what} was called on the traced value {tracer_repr(tracer)}: NumPy cannot compute "
        f"on traced values (the result would drop out of the transformation). Use the "
        f"funcgrad.numpy function of the same name instead of NumPy's, or call it outside "
        f"the transformed function"
    )


def _host_args(tree, func):
    """``tree`` (arguments of a NumPy function) with funcgrad arrays made NumPy arrays."""
    t = type(tree)
    if t is Array:
        return _array(tree)
    if isinstance(tree, Tracer):
        raise _conversion_error(tree, f"numpy.{getattr(func, '__name__', func)}")
    if t in (list, tuple):
        return t(_host_args(e, func) for e in tree)
    if t is dict:
        return {k: _host_args(v, func) for k, v in tree.items()}
    return tree


def _array_function(self, func, types, args, kwargs):
    """NumPy's functions on funcgrad arrays (``np.sum(x)``, ``np.concatenate([x, y])``)
    compute in NumPy: the arrays convert through ``__array__`` (read-only host views) and
    the result is NumPy's. Only functions that read metadata (``np.shape``, ``np.ndim``,
    ``np.size``, ``np.result_type``) also accept traced values; for the others a traced
    value raises TracerArrayConversionError naming it (use ``funcgrad.numpy``)."""
    del types
    metadata = _METADATA_FUNCTIONS.get(func)
    if metadata is not None:
        return metadata(*args, **kwargs)
    return func(*_host_args(args, func), **_host_args(kwargs, func))


def _result_type(*args):
    from funcgrad._src.dtypes import result_type

    return result_type(*args)


_METADATA_FUNCTIONS = {
    np.shape: lambda a: tuple(a.shape),
    np.ndim: lambda a: a.ndim,
    np.size: lambda a, axis=None: a.size if axis is None else a.shape[axis],
    np.result_type: _result_type,
}


_API_VERSIONS = ("2021.12", "2022.12", "2023.12", "2024.12")


def _array_namespace(api_version):
    """The array API namespace of funcgrad arrays: ``funcgrad.numpy``."""
    if api_version is not None and api_version not in _API_VERSIONS:
        raise ValueError(
            f"__array_namespace__: api_version {api_version!r} is not supported; funcgrad."
            f"numpy implements the array API standard {_API_VERSIONS[-1]} (and accepts "
            f"{', '.join(_API_VERSIONS[:-1])})"
        )
    return _numpy_namespace()


def _tolist(self):
    x = _concrete(self, "tolist")
    return x._backend.to_numpy(x._buffer).tolist()


def _dlpack(self, *, stream=None, max_version=None, dl_device=None, copy=None):
    x = _concrete(self, "__dlpack__")
    kwargs = {k: v for k, v in dict(stream=stream, max_version=max_version,
                                    dl_device=dl_device, copy=copy).items() if v is not None}  # fmt: skip
    return x._backend.export_dlpack(x._buffer, **kwargs)


def _dlpack_device(self):
    return _concrete(self, "__dlpack_device__")._buffer.__dlpack_device__()


def _repr(self):
    if isinstance(self, Tracer):
        return tracer_repr(self)
    body = np.array2string(
        self._backend.to_numpy(self._buffer), separator=", ", prefix="Array(",
        threshold=1000,
    )  # fmt: skip
    return f"Array({body}, dtype={self.dtype.name}, backend={self.backend})"


def _str(self):
    if isinstance(self, Tracer):
        return tracer_repr(self)
    return str(self._backend.to_numpy(self._buffer))


def _format(self, spec):
    if self.ndim == 0 and not isinstance(self, Tracer):
        return format(self.item(), spec)
    return format(str(self), spec)


def _round(self, decimals=0):
    return _numpy_namespace().round(self, decimals)


def _device(self):
    return self._backend.name if type(self) is Array else None


def _to_device(self, device, /, *, stream=None):
    del stream
    from funcgrad._src.api import device_put

    return device_put(self, device)


def _mT(self):
    if self.ndim < 2:
        raise ValueError(f"x.mT needs at least 2 dimensions, got shape {self.shape}")
    return _numpy_namespace().swapaxes(self, -1, -2)


_OPERATORS = {
    "__add__": _binary_operator(ufuncs.add),
    "__radd__": _binary_operator(ufuncs.add, True),
    "__sub__": _binary_operator(ufuncs.subtract),
    "__rsub__": _binary_operator(ufuncs.subtract, True),
    "__mul__": _binary_operator(ufuncs.multiply),
    "__rmul__": _binary_operator(ufuncs.multiply, True),
    "__truediv__": _binary_operator(ufuncs.true_divide),
    "__rtruediv__": _binary_operator(ufuncs.true_divide, True),
    "__floordiv__": _binary_operator(ufuncs.floor_divide),
    "__rfloordiv__": _binary_operator(ufuncs.floor_divide, True),
    "__mod__": _binary_operator(ufuncs.remainder),
    "__rmod__": _binary_operator(ufuncs.remainder, True),
    "__divmod__": _binary_operator(ufuncs.divmod),
    "__rdivmod__": _binary_operator(ufuncs.divmod, True),
    "__pow__": _binary_operator(ufuncs.power),
    "__rpow__": _binary_operator(ufuncs.power, True),
    "__and__": _binary_operator(ufuncs.bitwise_and),
    "__rand__": _binary_operator(ufuncs.bitwise_and, True),
    "__or__": _binary_operator(ufuncs.bitwise_or),
    "__ror__": _binary_operator(ufuncs.bitwise_or, True),
    "__xor__": _binary_operator(ufuncs.bitwise_xor),
    "__rxor__": _binary_operator(ufuncs.bitwise_xor, True),
    "__lshift__": _binary_operator(ufuncs.left_shift),
    "__rlshift__": _binary_operator(ufuncs.left_shift, True),
    "__rshift__": _binary_operator(ufuncs.right_shift),
    "__rrshift__": _binary_operator(ufuncs.right_shift, True),
    "__eq__": _binary_operator(ufuncs.equal),
    "__ne__": _binary_operator(ufuncs.not_equal),
    "__lt__": _binary_operator(ufuncs.less),
    "__le__": _binary_operator(ufuncs.less_equal),
    "__gt__": _binary_operator(ufuncs.greater),
    "__ge__": _binary_operator(ufuncs.greater_equal),
    "__matmul__": _binary_operator(lambda a, b: _numpy_namespace().matmul(a, b)),
    "__rmatmul__": _binary_operator(lambda a, b: _numpy_namespace().matmul(a, b), True),
    "__neg__": lambda self: ufuncs.negative(self),
    "__pos__": lambda self: ufuncs.positive(self),
    "__abs__": lambda self: ufuncs.absolute(self),
    "__invert__": lambda self: ufuncs.invert(self),
    "__getitem__": indexing.getitem,
    "__setitem__": _setitem,
    "__iter__": _iter,
    "__len__": _len,
    "__bool__": lambda self: _python_scalar(self, bool, "bool()"),
    "__int__": lambda self: _python_scalar(self, int, "int()"),
    "__float__": lambda self: _python_scalar(self, float, "float()"),
    "__complex__": lambda self: _python_scalar(self, complex, "complex()"),
    "__index__": lambda self: _index(self),
    "__array__": _array,
    "__array_function__": _array_function,
    "__dlpack__": _dlpack,
    "__dlpack_device__": _dlpack_device,
    "__array_namespace__": lambda self, /, *, api_version=None: _array_namespace(api_version),
    "__repr__": _repr,
    "__str__": _str,
    "__format__": _format,
    "__round__": _round,
    "__hash__": None,
}


def _item(self, *args):
    """NumPy's ``item``: no argument (one-element arrays), a flat index, or one index per axis."""
    if len(args) == 1 and not isinstance(args[0], tuple):
        self = _numpy_namespace().ravel(self)[args[0]]
    elif args:
        self = self[args[0] if isinstance(args[0], tuple) else args]
    return _python_scalar(self, lambda v: v, "item()")


def _index(self):
    if self.dtype.kind not in "iu":
        raise TypeError(f"only integer arrays can be used as an index, got dtype {self.dtype}")
    return _python_scalar(self, int, "__index__")


_METHODS = {
    "at": property(indexing.IndexUpdateHelper, doc="Functional updates: ``x.at[idx].set(v)``."),
    "T": property(lambda self: _numpy_namespace().transpose(self), doc="Axes reversed."),
    "mT": property(_mT, doc="The last two axes swapped (matrix transpose)."),
    "real": property(lambda self: ufuncs.real(self)),
    "imag": property(lambda self: ufuncs.imag(self)),
    "device": property(_device, doc="The name of the backend holding the array."),
    "to_device": _to_device,
    "item": lambda self, *args: _item(self, *args),
    "tolist": _tolist,
    "astype": _astype,
    "reshape": _reshape,
    "transpose": _transpose,
    "round": _round,
    "copy": lambda self: self,
    "conj": lambda self: ufuncs.conjugate(self),
    "conjugate": lambda self: ufuncs.conjugate(self),
    "flatten": lambda self, order="C": _numpy_namespace().ravel(self, order=order),
    "__copy__": lambda self: self,
    "__deepcopy__": lambda self, memo: self,
}
for _name in (
    "all", "any", "argmax", "argmin", "argsort", "clip", "cumprod", "cumsum", "diagonal",
    "dot", "max", "mean", "min", "nonzero", "prod", "ptp", "ravel", "repeat", "searchsorted",
    "sort", "squeeze", "std", "sum", "swapaxes", "take", "trace", "var",
):  # fmt: skip
    _METHODS[_name] = _forward(_name)


def attach_methods(cls: type) -> None:
    """Give ``cls`` (Array or a Tracer) every operator and array method."""
    for name, value in {**_OPERATORS, **_METHODS}.items():
        setattr(cls, name, value)


attach_methods(Array)
attach_methods(Tracer)
