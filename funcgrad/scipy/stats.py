"""funcgrad.scipy.stats: log densities, CDFs and quantiles with SciPy's parameterisation.

Each distribution is used as in ``jax.scipy.stats``: ``stats.norm.logpdf(x, loc, scale)``.

Examples:
    >>> import funcgrad
    >>> from funcgrad.scipy import stats
    >>> round(float(funcgrad.grad(stats.norm.logpdf)(1.0)), 10)  # -x
    -1.0
"""

from funcgrad._src.scipy import stats as _stats
from funcgrad._src.scipy.stats import *

__all__ = list(_stats.__all__)
