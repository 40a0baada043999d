"""funcgrad.scipy.sparse.linalg: SciPy's iterative solvers (cg, bicgstab, gmres), with
implicit derivatives.

Examples:
    >>> import funcgrad.numpy as fnp
    >>> from funcgrad.scipy.sparse.linalg import cg
    >>> cg(lambda x: 4.0 * x, fnp.asarray([2.0]))[0].tolist()
    [0.5]
"""

from funcgrad._src.scipy import sparse_linalg as _sparse_linalg
from funcgrad._src.scipy.sparse_linalg import *

__all__ = list(_sparse_linalg.__all__)
