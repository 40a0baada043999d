"""funcgrad.scipy.signal: direct N-d convolution and correlation (``convolve``,
``correlate``, ``convolve2d``, ``correlate2d``) with SciPy's modes.

Examples:
    >>> import funcgrad.numpy as fnp
    >>> from funcgrad.scipy import signal
    >>> signal.convolve(fnp.asarray([1.0, 1.0]), fnp.asarray([1.0, 1.0])).tolist()
    [1.0, 2.0, 1.0]
"""

from funcgrad._src.scipy import signal as _signal
from funcgrad._src.scipy.signal import *

__all__ = list(_signal.__all__)
