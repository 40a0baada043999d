"""funcgrad.scipy.spatial.transform: SciPy's 3-D rotations (Rotation) and their
interpolation (Slerp).

Examples:
    >>> from funcgrad.scipy.spatial.transform import Rotation
    >>> round(float(Rotation.from_rotvec([0.0, 0.0, 0.5]).magnitude()), 6)
    0.5
"""

from funcgrad._src.scipy import spatial_transform as _spatial_transform
from funcgrad._src.scipy.spatial_transform import *

__all__ = list(_spatial_transform.__all__)
