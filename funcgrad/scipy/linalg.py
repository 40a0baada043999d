"""funcgrad.scipy.linalg: SciPy's linear-algebra functions (cho_factor, lu, expm, ...).

Examples:
    >>> import funcgrad.numpy as fnp
    >>> from funcgrad.scipy import linalg
    >>> [round(v, 6) for v in linalg.expm(fnp.zeros((2, 2))).ravel().tolist()]
    [1.0, 0.0, 0.0, 1.0]
"""

from funcgrad._src.scipy import linalg as _linalg
from funcgrad._src.scipy import special_matrices as _special_matrices
from funcgrad._src.scipy.linalg import *
from funcgrad._src.scipy.special_matrices import *

__all__ = list(_linalg.__all__) + list(_special_matrices.__all__)
