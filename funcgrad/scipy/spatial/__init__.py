"""funcgrad.scipy.spatial: SciPy's spatial tools (the ``transform`` submodule: rotations).

Examples:
    >>> from funcgrad.scipy.spatial import transform
    >>> transform.Rotation.identity().as_quat().tolist()
    [0.0, 0.0, 0.0, 1.0]
"""

from funcgrad.scipy.spatial import transform

__all__ = ["transform"]
