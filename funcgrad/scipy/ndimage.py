"""funcgrad.scipy.ndimage: SciPy's N-d image interpolation (map_coordinates).

Examples:
    >>> import funcgrad.numpy as fnp
    >>> from funcgrad.scipy import ndimage
    >>> ndimage.map_coordinates(fnp.asarray([0.0, 10.0]), [fnp.asarray([0.25])], order=1).tolist()
    [2.5]
"""

from funcgrad._src.scipy import ndimage as _ndimage
from funcgrad._src.scipy.ndimage import *

__all__ = list(_ndimage.__all__)
