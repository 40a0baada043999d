"""funcgrad.scipy.cluster: SciPy's clustering helpers (the ``vq`` submodule).

Examples:
    >>> import funcgrad.numpy as fnp
    >>> from funcgrad.scipy.cluster import vq
    >>> vq.vq(fnp.asarray([0.1, 0.9]), fnp.asarray([0.0, 1.0]))[0].tolist()
    [0, 1]
"""

from funcgrad.scipy.cluster import vq

__all__ = ["vq"]
