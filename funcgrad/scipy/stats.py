"""funcgrad.scipy.stats: log densities, CDFs and quantiles with SciPy's parameterisation,
a Gaussian kernel density estimate and summary statistics (mode, rankdata, sem).

Each distribution is used as in ``jax.scipy.stats``: ``stats.norm.logpdf(x, loc, scale)``.

Examples:
    >>> import funcgrad
    >>> from funcgrad.scipy import stats
    >>> round(float(funcgrad.grad(stats.norm.logpdf)(1.0)), 10)  # -x
    -1.0
"""

from funcgrad._src.scipy import stats as _stats
from funcgrad._src.scipy import stats_kde as _stats_kde
from funcgrad._src.scipy import stats_summary as _stats_summary
from funcgrad._src.scipy.stats import *
from funcgrad._src.scipy.stats_kde import *
from funcgrad._src.scipy.stats_summary import *

__all__ = list(_stats.__all__) + list(_stats_kde.__all__) + list(_stats_summary.__all__)
