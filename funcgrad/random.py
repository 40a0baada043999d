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

from funcgrad._src import random as _random
from funcgrad._src.random import *

__all__ = list(_random.__all__)
