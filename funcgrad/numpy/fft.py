"""``funcgrad.numpy.fft``: NumPy's discrete Fourier transforms, differentiable and jittable.

Examples:
    >>> import funcgrad.numpy as fnp
    >>> fnp.fft.rfft(fnp.ones(4)).tolist()
    [(4+0j), 0j, 0j]
"""

from funcgrad._src.numpy.fft import *
from funcgrad._src.numpy.fft import __all__  # noqa: F401
