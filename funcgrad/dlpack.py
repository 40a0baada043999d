"""``funcgrad.dlpack``: importing arrays from other libraries through DLPack, as ``jax.dlpack``.

Export is the array protocol itself: ``x.__dlpack__()`` (``numpy.from_dlpack(x)``,
``torch.from_dlpack(x)``).

Examples:
    >>> import numpy as np, funcgrad.dlpack
    >>> funcgrad.dlpack.from_dlpack(np.arange(3)).tolist()
    [0, 1, 2]
"""

from funcgrad._src.numpy.creation import from_dlpack

__all__ = ["from_dlpack"]
