"""funcgrad.scipy.optimize: ``minimize`` by BFGS (jax.scipy.optimize's one method).

Examples:
    >>> import funcgrad.numpy as fnp
    >>> from funcgrad.scipy.optimize import minimize
    >>> res = minimize(lambda x: fnp.sum((x - 3.0) ** 2), fnp.zeros(2), method="BFGS")
    >>> [round(v, 6) for v in res.x.tolist()]
    [3.0, 3.0]
"""

from funcgrad._src.scipy.optimize import OptimizeResults, minimize

__all__ = ["OptimizeResults", "minimize"]
