"""funcgrad.scipy.integrate: SciPy's integration of sampled data (trapezoid).

Examples:
    >>> import funcgrad.numpy as fnp
    >>> from funcgrad.scipy import integrate
    >>> float(integrate.trapezoid(fnp.asarray([0.0, 1.0, 2.0])))
    2.0
"""

from funcgrad._src.scipy import integrate as _integrate
from funcgrad._src.scipy.integrate import *

__all__ = list(_integrate.__all__)
