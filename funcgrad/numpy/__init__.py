"""funcgrad.numpy: NumPy's API over immutable funcgrad arrays.

Write ``import funcgrad.numpy as fnp``. Names, signatures and results follow NumPy 2
(including NEP 50 promotion: Python scalars are weak); differences come from
immutability (no ``out=``, no in-place operators: use ``x.at[idx].set(v)``) and
from tracing (functions whose output shape depends on values, such as ``nonzero``
and ``unique``, take a ``size=`` argument under ``jit``). The namespace also
follows the Python array API standard (``__array_namespace__``).
"""

import numpy as _np

from funcgrad._src.core import Array as ndarray
from funcgrad._src.dtypes import (
    bool_,
    complex64,
    complex128,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    promote_types,
    result_type,
    uint8,
    uint16,
    uint32,
    uint64,
)
from funcgrad._src.numpy.contractions import *  # noqa: F403
from funcgrad._src.numpy.creation import *  # noqa: F403
from funcgrad._src.numpy.logic import *  # noqa: F403
from funcgrad._src.numpy.reductions import *  # noqa: F403
from funcgrad._src.numpy.searching import *  # noqa: F403
from funcgrad._src.numpy.shape import *  # noqa: F403
from funcgrad._src.numpy.sorting import *  # noqa: F403
from funcgrad._src.numpy.statistics import *  # noqa: F403
from funcgrad._src.numpy.ufuncs import *  # noqa: F403
from funcgrad.numpy import linalg  # noqa: E402

bool = bool_  # noqa: A001  (array API name)
finfo = _np.finfo
iinfo = _np.iinfo
dtype = _np.dtype
pi = _np.pi
e = _np.e
inf = _np.inf
nan = _np.nan
newaxis = None
euler_gamma = _np.euler_gamma
