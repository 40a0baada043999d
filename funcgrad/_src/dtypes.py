"""Dtypes: the supported set, NumPy 2 (NEP 50) promotion, and the defaults of creation.

funcgrad follows NumPy 2 exactly: arrays are strongly typed, Python scalars are weak
(``float32_array * 2.0`` stays float32, ``int8_array + 1`` stays int8), and a
float64 array is never silently made float32.

Defaults, as in NumPy on 64-bit Linux: creation functions without ``dtype`` make
float64 from floats (``zeros``, ``ones``, ``linspace``, ``eye``, ``array([1.0])``),
int64 from Python ints and bool from Python bools. Pass ``dtype=fnp.float32`` (or
cast with ``.astype``) for single precision; stax initialisers default to float32.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

bool_ = np.dtype(np.bool_)
int8, int16, int32, int64 = (np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64))
uint8, uint16, uint32, uint64 = (np.dtype(t) for t in (np.uint8, np.uint16, np.uint32, np.uint64))
float16, float32, float64 = (np.dtype(t) for t in (np.float16, np.float32, np.float64))
complex64, complex128 = np.dtype(np.complex64), np.dtype(np.complex128)

SUPPORTED_DTYPES = frozenset(
    [bool_, int8, int16, int32, int64, uint8, uint16, uint32, uint64,
     float16, float32, float64, complex64, complex128]
)  # fmt: skip

default_float_dtype = float64
default_int_dtype = int64
default_complex_dtype = complex128

_PYTHON_SCALAR_TYPES = (bool, int, float, complex)


@lru_cache(maxsize=256)
def _canonicalize(dtype: Any) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in SUPPORTED_DTYPES:
        raise TypeError(
            f"dtype {dt} is not supported by funcgrad; supported dtypes are bool, "
            f"int8-64, uint8-64, float16/32/64 and complex64/128"
        )
    return dt


def canonicalize_dtype(dtype: Any, fname: str = "funcgrad") -> np.dtype:
    """``dtype`` (a NumPy dtype, type, or name such as ``"float32"``) as a supported np.dtype.

    Raises:
        TypeError: the dtype is not one funcgrad supports (strings, objects, datetimes,
            float128...), naming ``fname``.
    """
    try:
        return _canonicalize(dtype)
    except TypeError as e:
        raise TypeError(f"{fname}: {e}") from None


def is_weak_scalar(x: Any) -> bool:
    """True for Python bool/int/float/complex, whose dtype yields to arrays'."""
    return type(x) in _PYTHON_SCALAR_TYPES


#: The Python scalar type a weakly typed traced value stands for, by dtype kind.
_WEAK_TYPE_OF_KIND = {"b": bool, "i": int, "u": int, "f": float, "c": complex}


def weak_type_of(x: Any) -> type | None:
    """For a traced value that stands for a Python scalar (a weakly typed jit argument),
    that scalar's Python type: it promotes like the scalar, not like its default dtype."""
    aval = getattr(x, "aval", None) if not isinstance(x, np.ndarray) else None
    if aval is not None and getattr(aval, "weak_type", False):
        return _WEAK_TYPE_OF_KIND.get(aval.dtype.kind)
    return None


def dtype_of(x: Any) -> Any:
    """The dtype of an array-like, or the Python type of a weak scalar (or of a traced
    value standing for one)."""
    t = type(x)
    if t in _PYTHON_SCALAR_TYPES:
        return t
    weak = weak_type_of(x) if hasattr(x, "_trace") else None
    if weak is not None:
        return weak
    dt = getattr(x, "dtype", None)
    if dt is not None:
        return dt
    return np.asarray(x).dtype


@lru_cache(maxsize=1024)
def _result_type_cached(*dtypes_or_types: Any) -> np.dtype:
    return np.result_type(*(_scalar_placeholder(t) for t in dtypes_or_types))


def _scalar_placeholder(t: Any) -> Any:
    # np.result_type treats Python scalar *values* as weak; their types would be strong.
    # (isinstance first: np.dtype("float64") == float is True.)
    if isinstance(t, type) and t in _PYTHON_SCALAR_TYPES:
        return {bool: False, int: 0, float: 0.0, complex: 0j}[t]
    return t


def result_type(*args: Any) -> np.dtype:
    """The dtype NumPy 2 gives an operation on ``args`` (arrays, dtypes, Python scalars).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.result_type(fnp.float32, 2.0)
        dtype('float32')
        >>> fnp.result_type(fnp.int8, fnp.uint8)
        dtype('int16')
    """
    keys = []
    for a in args:
        if isinstance(a, type) and a in _PYTHON_SCALAR_TYPES:
            keys.append(a)
        elif isinstance(a, (np.dtype, type, str)):
            keys.append(np.dtype(a))
        else:
            keys.append(dtype_of(a))
    return _canonicalize(_result_type_cached(*keys))


def promote_types(type1: Any, type2: Any) -> np.dtype:
    """The smallest dtype both ``type1`` and ``type2`` convert to safely (``np.promote_types``)."""
    return _canonicalize(np.promote_types(type1, type2))


def is_float(dtype: Any) -> bool:
    return np.dtype(dtype).kind == "f"


def is_complex(dtype: Any) -> bool:
    return np.dtype(dtype).kind == "c"


def is_inexact(dtype: Any) -> bool:
    return np.dtype(dtype).kind in "fc"


def is_integer(dtype: Any) -> bool:
    return np.dtype(dtype).kind in "iu"


def is_bool(dtype: Any) -> bool:
    return np.dtype(dtype).kind == "b"


def to_inexact(dtype: Any) -> np.dtype:
    """The dtype NumPy computes in when a float function (sqrt, mean, /) meets ``dtype``."""
    dt = np.dtype(dtype)
    if dt.kind in "fc":
        return dt
    return _canonicalize(np.result_type(dt, 1.0) if dt.kind != "b" else np.float64)


def weak_scalar_dtype(x: Any) -> np.dtype:
    """The dtype a lone Python scalar becomes: bool, int64, float64 or complex128."""
    return {bool: bool_, int: default_int_dtype, float: default_float_dtype,
            complex: default_complex_dtype}[type(x)]  # fmt: skip
