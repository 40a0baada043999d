"""funcgrad.scipy.sparse: SciPy's sparse-operator tools (the ``linalg`` submodule: Krylov
solvers for operators given as functions).

Examples:
    >>> import funcgrad.numpy as fnp
    >>> from funcgrad.scipy.sparse import linalg
    >>> linalg.cg(lambda x: 2.0 * x, fnp.asarray([1.0, 4.0]))[0].tolist()
    [0.5, 2.0]
"""

from funcgrad.scipy.sparse import linalg

__all__ = ["linalg"]
