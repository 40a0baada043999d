"""funcgrad.numpy: NumPy's API over immutable funcgrad arrays.

Write ``import funcgrad.numpy as fnp``. Names, signatures and results follow NumPy 2
(including NEP 50 promotion: Python scalars are weak); differences come from
immutability (no ``out=``, no in-place operators: use ``x.at[idx].set(v)``) and
from tracing (functions whose output shape depends on values, such as ``nonzero``
and ``unique``, take a ``size=`` argument under ``jit``). The namespace also
follows the Python array API standard, revision ``__array_api_version__``
(``x.__array_namespace__()``, ``__array_namespace_info__()``).

The dtype names are NumPy's scalar types, as in JAX: ``fnp.float32(1.5)`` is a
NumPy scalar, ``x.dtype == fnp.float32`` and ``x.dtype.type is fnp.float32``.
"""

import numpy as _np

from funcgrad._src.core import Array as ndarray
from funcgrad._src.dtypes import promote_types, result_type
from funcgrad._src.numpy.contractions import *  # noqa: F403
from funcgrad._src.numpy.creation import *  # noqa: F403
from funcgrad._src.numpy.errors import wrap_namespace as _wrap_namespace
from funcgrad._src.numpy.info import ARRAY_API_VERSION as __array_api_version__
from funcgrad._src.numpy.info import __array_namespace_info__, finfo, iinfo
from funcgrad._src.numpy.logic import *  # noqa: F403
from funcgrad._src.numpy.reductions import *  # noqa: F403
from funcgrad._src.numpy.searching import *  # noqa: F403
from funcgrad._src.numpy.shape import *  # noqa: F403
from funcgrad._src.numpy.sorting import *  # noqa: F403
from funcgrad._src.numpy.statistics import *  # noqa: F403
from funcgrad._src.numpy.ufuncs import *  # noqa: F403
from funcgrad._src.numpy.arithmetic import *  # noqa: F403
from funcgrad._src.numpy.bits import *  # noqa: F403
from funcgrad._src.numpy.calculus import *  # noqa: F403
from funcgrad._src.numpy.editing import *  # noqa: F403
from funcgrad._src.numpy.functional import *  # noqa: F403
from funcgrad._src.numpy.histograms import *  # noqa: F403
from funcgrad._src.numpy.host_io import *  # noqa: F403
from funcgrad._src.numpy.index_tricks import *  # noqa: F403
from funcgrad._src.numpy.polynomial import *  # noqa: F403
from funcgrad._src.numpy.scalar_types import *  # noqa: F403
from funcgrad._src.numpy.ufunc_objects import *  # noqa: F403
from funcgrad._src.numpy.windows import *  # noqa: F403
from funcgrad.numpy import linalg  # noqa: E402
from funcgrad.numpy import fft  # noqa: E402

# Scalar types (callable, and equal to the dtypes they name), as in NumPy and JAX.
bool_ = _np.bool_
bool = _np.bool_  # noqa: A001  (array API name)
int8, int16, int32, int64 = _np.int8, _np.int16, _np.int32, _np.int64
uint8, uint16, uint32, uint64 = _np.uint8, _np.uint16, _np.uint32, _np.uint64
float16, float32, float64 = _np.float16, _np.float32, _np.float64
complex64, complex128 = _np.complex64, _np.complex128
dtype = _np.dtype
pi = _np.pi
e = _np.e
inf = _np.inf
nan = _np.nan
newaxis = None
euler_gamma = _np.euler_gamma

# Errors raised inside a composite name the function that was called (numpy/errors.py).
_wrap_namespace(globals(), "funcgrad.numpy.")
