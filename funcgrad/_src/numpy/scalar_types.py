"""NumPy's scalar type hierarchy, dtype aliases and printing options, as funcgrad.numpy
names.

These are NumPy's own objects (as in JAX), so ``fnp.issubdtype(x.dtype, fnp.floating)``
and ``isinstance(np.float32(1), fnp.number)`` work; the aliases (``int_``, ``float_``,
``double``...) name funcgrad's default dtypes, which are NumPy's (int64, float64).
Printing options are NumPy's, which ``repr`` and ``str`` of arrays use.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from funcgrad._src.core import concrete_or_error
from funcgrad._src.numpy.util import asarray

__all__ = [
    "ComplexWarning", "array_repr", "array_str", "cdouble", "character", "complex_",
    "complexfloating", "csingle", "double", "flexible", "float_", "floating", "generic",
    "get_printoptions", "inexact", "int_", "integer", "iterable", "number", "object_",
    "printoptions", "set_printoptions", "signedinteger", "single", "uint", "unsignedinteger",
]  # fmt: skip

generic = np.generic
number = np.number
integer = np.integer
signedinteger = np.signedinteger
unsignedinteger = np.unsignedinteger
inexact = np.inexact
floating = np.floating
complexfloating = np.complexfloating
flexible = np.flexible
character = np.character
object_ = np.object_

int_ = np.int64
uint = np.uint64
float_ = np.float64
complex_ = np.complex128
double = np.float64
single = np.float32
csingle = np.complex64
cdouble = np.complex128

ComplexWarning = np.exceptions.ComplexWarning
iterable = np.iterable
printoptions = np.printoptions
set_printoptions = np.set_printoptions
get_printoptions = np.get_printoptions


def _host(a: Any, fname: str) -> np.ndarray:
    return np.asarray(concrete_or_error(asarray(a, fname=fname), fname, "the values to print",
                                        "use funcgrad.debug.print under jit"))  # fmt: skip


def array_str(a, max_line_width=None, precision=None, suppress_small=None):
    """The text of ``a``'s values as ``str`` shows them (NumPy's ``array_str``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.array_str(fnp.asarray([1.5, 2.0]))
        '[1.5 2. ]'
    """
    return np.array_str(_host(a, "funcgrad.numpy.array_str"), max_line_width, precision,
                        suppress_small)  # fmt: skip


def array_repr(arr, max_line_width=None, precision=None, suppress_small=None):
    """``repr`` of an array with NumPy's formatting options, as
    ``Array([...], dtype=...)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> fnp.array_repr(fnp.asarray([1, 2]))
        'Array([1, 2], dtype=int64)'
    """
    text = np.array_repr(_host(arr, "funcgrad.numpy.array_repr"), max_line_width, precision,
                         suppress_small)  # fmt: skip
    if text.startswith("array("):
        body = text[len("array(") : -1]
        if ", dtype=" not in body:
            body += f", dtype={_host(arr, 'funcgrad.numpy.array_repr').dtype.name}"
        text = "Array(" + body + ")"
    return text
