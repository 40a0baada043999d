"""funcgrad.scipy.fft: SciPy's discrete cosine transforms (dct, idct, dctn, idctn).

Examples:
    >>> import funcgrad.numpy as fnp
    >>> from funcgrad.scipy import fft
    >>> fft.dct(fnp.asarray([1.0, 1.0])).round(6).tolist()
    [4.0, 0.0]
"""

from funcgrad._src.scipy import fft as _fft
from funcgrad._src.scipy.fft import *

__all__ = list(_fft.__all__)
