"""funcgrad.scipy.interpolate: SciPy's interpolation on a grid (RegularGridInterpolator).

Examples:
    >>> import funcgrad.numpy as fnp
    >>> from funcgrad.scipy import interpolate
    >>> f = interpolate.RegularGridInterpolator((fnp.asarray([0.0, 1.0]),), fnp.asarray([0.0, 4.0]))
    >>> f(fnp.asarray([[0.25]])).tolist()
    [1.0]
"""

from funcgrad._src.scipy import interpolate as _interpolate
from funcgrad._src.scipy.interpolate import *

__all__ = list(_interpolate.__all__)
