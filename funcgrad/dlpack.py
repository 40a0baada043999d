"""``funcgrad.dlpack``: importing arrays from other libraries through DLPack, as ``jax.dlpack``,
and which dtypes can cross it.

Export is the array protocol itself: ``x.__dlpack__()`` (``numpy.from_dlpack(x)``,
``torch.from_dlpack(x)``).

Examples:
    >>> import numpy as np, funcgrad.dlpack
    >>> funcgrad.dlpack.from_dlpack(np.arange(3)).tolist()
    [0, 1, 2]
"""

from typing import Any

import numpy as _np

from funcgrad._src.dtypes import SUPPORTED_DTYPES as _SUPPORTED
from funcgrad._src.numpy.creation import from_dlpack

__all__ = ["from_dlpack", "is_supported_dtype"]


def is_supported_dtype(dtype: Any) -> bool:
    """Whether arrays of ``dtype`` can cross DLPack in and out of funcgrad: bool, the
    signed and unsigned integers of 8-64 bits, float16/32/64 and complex64/128.

    JAX's list also has bfloat16, which funcgrad does not offer (NumPy has no bfloat16).
    ``None`` is an error, as in JAX (``numpy.dtype(None)`` would silently mean float64).

    Examples:
        >>> import numpy as np, funcgrad.dlpack
        >>> funcgrad.dlpack.is_supported_dtype(np.float32), funcgrad.dlpack.is_supported_dtype("U3")
        (True, False)
    """
    if dtype is None:
        raise TypeError(
            "funcgrad.dlpack.is_supported_dtype: expected a dtype, a dtype name or a scalar "
            "type, got None"
        )
    return _np.dtype(dtype) in _SUPPORTED
