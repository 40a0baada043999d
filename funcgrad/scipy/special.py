"""funcgrad.scipy.special: jax.scipy.special's functions (gammaln, erf, ndtri, xlogy, ...).

Examples:
    >>> import funcgrad
    >>> from funcgrad.scipy import special
    >>> round(float(funcgrad.grad(special.gammaln)(3.0)), 12)  # digamma(3)
    0.922784335098
"""

from funcgrad._src.scipy import special as _special
from funcgrad._src.scipy.special import *

__all__ = list(_special.__all__)
