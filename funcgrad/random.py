"""funcgrad.random: pseudo-random numbers from explicit keys (counter-based threefry-2x32).

A key is a ``uint32`` array of shape ``(2,)``; a batch of keys has shape ``(n, 2)``.
The same key always gives the same numbers, on every run, machine and backend; derive
fresh keys with ``split`` or ``fold_in`` instead of reusing one. Samplers take the key
first, then ``shape`` and ``dtype`` (default float64), and work under ``vmap`` (over a
batch of keys) and ``jit``.

Examples:
    >>> import funcgrad
    >>> from funcgrad import random
    >>> key = random.key(0)
    >>> key_w, key_b = random.split(key)
    >>> w = random.normal(key_w, (3, 2))
    >>> b = random.uniform(key_b, (2,), minval=-1.0, maxval=1.0)
    >>> w.shape, b.shape
    ((3, 2), (2,))
    >>> keys = random.split(key, 4)  # one row per key
    >>> funcgrad.vmap(lambda k: random.normal(k, (5,)))(keys).shape
    (4, 5)
"""

from typing import Any

import numpy as _np

from funcgrad._src import random as _random
from funcgrad._src.random import *

__all__ = list(_random.__all__)
__all__ += ["key_dtype", "key_impl"]

#: The one PRNG implementation funcgrad has (JAX's default, threefry-2x32).
_IMPL = "threefry2x32"


def key_impl(keys: Any) -> str:
    """The name of the PRNG implementation of a key or batch of keys: always
    ``'threefry2x32'``.

    Unlike JAX, funcgrad has no typed key arrays: a key *is* its raw ``uint32`` data of
    shape ``(..., 2)``, and threefry-2x32 is the only implementation, so this checks that
    ``keys`` look like keys (uint32, last axis 2) and returns that name (JAX returns a
    spec object for custom implementations; there are none here).

    Examples:
        >>> from funcgrad import random
        >>> random.key_impl(random.key(0)), random.key_impl(random.split(random.key(0), 3))
        ('threefry2x32', 'threefry2x32')
    """
    shape, dtype = _np.shape(keys), getattr(keys, "dtype", None)
    if dtype is None or _np.dtype(dtype) != _np.uint32 or len(shape) < 1 or shape[-1] != 2:
        raise TypeError(
            f"funcgrad.random.key_impl: expected a key or batch of keys (uint32 of shape "
            f"(..., 2)), got {type(keys).__name__} of shape {shape} and dtype {dtype}; make "
            f"keys with funcgrad.random.key(seed)"
        )
    return _IMPL


def key_dtype(impl_spec: Any = None) -> _np.dtype:
    """The dtype of keys of an implementation: ``uint32``.

    JAX returns a ``key<impl>`` extended dtype for its typed keys; funcgrad's keys are raw
    ``uint32[..., 2]`` threefry-2x32 data, so their dtype is ``uint32``. ``impl_spec`` must
    be None or ``'threefry2x32'`` (the only implementation).

    Examples:
        >>> from funcgrad import random
        >>> random.key_dtype() == random.key(0).dtype
        True
    """
    if impl_spec not in (None, _IMPL):
        raise ValueError(
            f"funcgrad.random.key_dtype: impl_spec must be None or {_IMPL!r} (the only PRNG "
            f"implementation funcgrad has), got {impl_spec!r}"
        )
    return _np.dtype(_np.uint32)
