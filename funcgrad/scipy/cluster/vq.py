"""funcgrad.scipy.cluster.vq: SciPy's vector quantisation (vq).

Examples:
    >>> import funcgrad.numpy as fnp
    >>> from funcgrad.scipy.cluster.vq import vq
    >>> vq(fnp.asarray([[0.0, 1.0]]), fnp.asarray([[3.0, 5.0], [0.0, 0.0]]))[1].tolist()
    [1.0]
"""

from funcgrad._src.scipy import cluster_vq as _vq
from funcgrad._src.scipy.cluster_vq import *

__all__ = list(_vq.__all__)
