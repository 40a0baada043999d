"""``funcgrad.scipy.optimize.minimize``: unconstrained minimisation by BFGS, as JAX's.

The whole optimisation is a ``lax.while_loop`` (so ``minimize`` works inside ``jit``):
each iteration takes the quasi-Newton direction ``p = -H g``, finds a step satisfying the
strong Wolfe conditions (``c1 = 1e-4``, ``c2 = 0.9``) with the bracketing/zoom line
search of :mod:`funcgrad._src.scipy.line_search`, and updates the inverse-Hessian estimate
``H`` by the BFGS formula (Nocedal and Wright, *Numerical Optimization*, eq. 6.17)
``H+ = (I - rho s y^T) H (I - rho y s^T) + rho s s^T``, ``rho = 1 / y.s``, skipped where
``rho`` is not finite. It stops when ``norm(g, ord=norm) < gtol`` (status 0), after
``maxiter`` iterations (status 1) or when the line search fails (status ``2 +`` its
status: 3 bracketing exhausted, 4 zoom exhausted, 5 not a descent direction), JAX's
codes. SciPy's first step ``min(1, 1.01 / |g0|)`` (through ``old_old_fval = f0 + |g0| / 2``)
is used, so iteration counts follow ``scipy.optimize.minimize(method='BFGS')``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

import funcgrad.numpy as fnp
from funcgrad._src.scipy.line_search import line_search

__all__ = ["OptimizeResults", "minimize"]


class OptimizeResults(NamedTuple):
    """The result of :func:`minimize` (JAX's field names).

    Attributes:
        x: the final point.
        success: whether the gradient norm fell below ``gtol`` without a line-search failure.
        status: 0 converged, 1 maximum iterations, 3/4/5 the line search failed (bracketing
            exhausted / zoom exhausted / not a descent direction).
        fun: ``f(x)``.
        jac: the gradient at ``x``.
        hess_inv: the final inverse-Hessian estimate.
        nfev: function evaluations.
        njev: gradient evaluations (each evaluation computes both, so ``njev == nfev``).
        nit: iterations.
    """

    x: Any
    success: Any
    status: Any
    fun: Any
    jac: Any
    hess_inv: Any
    nfev: Any
    njev: Any
    nit: Any


def minimize(fun: Callable, x0: Any, args: tuple = (), *, method: str, tol: float | None = None,
             options: dict | None = None) -> OptimizeResults:  # fmt: skip
    """Minimise ``fun(x, *args)`` over a 1-d ``x`` starting at ``x0`` (``method='BFGS'``).

    ``options`` (JAX's): ``maxiter`` (default ``200 * len(x0)``), ``norm`` (the order of
    the gradient norm for convergence, default ``inf``), ``gtol`` (default ``tol`` or
    1e-5), ``line_search_maxiter`` (default 10: bracketing steps, and zoom steps).
    ``nfev`` counts the evaluations of ``value_and_grad(fun)``.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.scipy.optimize import minimize
        >>> rosen = lambda x: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
        >>> res = minimize(rosen, fnp.asarray([-1.2, 1.0]), method="BFGS")
        >>> [round(v, 4) for v in res.x.tolist()], bool(res.success)
        ([1.0, 1.0], True)
    """
    from funcgrad import lax
    from funcgrad._src.autodiff import value_and_grad

    if method.lower() != "bfgs":
        raise ValueError(f"funcgrad.scipy.optimize.minimize: method must be 'BFGS', got {method!r}")
    options = dict(options or {})
    x0 = fnp.asarray(x0)
    if x0.ndim != 1:
        raise ValueError(
            f"funcgrad.scipy.optimize.minimize: x0 must be 1-d, got shape {x0.shape}; ravel it "
            f"and reshape inside fun"
        )
    if x0.dtype.kind != "f":
        x0 = x0.astype(np.float64)
    n = x0.shape[0]
    maxiter = int(options.pop("maxiter", None) or 200 * n)
    gtol = float(options.pop("gtol", tol if tol is not None else 1e-5))
    max_ls = int(options.pop("line_search_maxiter", 10))
    norm = options.pop("norm", np.inf)
    if options:
        raise ValueError(f"funcgrad.scipy.optimize.minimize: unknown options {sorted(options)}")
    value_grad = value_and_grad(lambda x: fun(x, *args))
    dtype = x0.dtype
    eye = fnp.eye(n, dtype=dtype)

    def gnorm(g):
        return fnp.linalg.norm(g, ord=norm)

    def cond(state):
        k, status = state[0], state[6]
        return (status < 0) & (k < maxiter)

    def body(state):
        k, x, f, g, h, f_old, _, nfev = state
        p = -(h @ g)
        ls = line_search(value_grad, x, p, f, g, f_old, maxiter=max_ls)
        s = ls.a_k * p
        y = ls.g_k - g
        rho = 1.0 / fnp.dot(y, s)
        left = eye - rho * fnp.outer(s, y)
        updated = left @ h @ left.T + rho * fnp.outer(s, s)
        ok = ~ls.failed
        h_new = fnp.where(ok & fnp.isfinite(rho), updated, h)
        x_new = fnp.where(ok, x + s, x)
        f_new = fnp.where(ok, ls.f_k, f)
        g_new = fnp.where(ok, ls.g_k, g)
        status = fnp.where(gnorm(g_new) < gtol, 0, fnp.where(ok, -1, 2 + ls.status))
        return k + 1, x_new, f_new, g_new, h_new, f, status, nfev + ls.nfev

    f0, g0 = value_grad(x0)
    status0 = fnp.where(gnorm(g0) < gtol, 0, -1)
    # SciPy's and JAX's guess of the previous value, which makes the first step 1.01 / |g0|
    f_older = f0 + fnp.linalg.norm(g0) / 2
    start = (0, x0, f0, g0, eye, f_older, status0, 1)
    k, x, f, g, h, _, status, nfev = lax.while_loop(cond, body, start)
    status = fnp.where(status < 0, 1, status)
    return OptimizeResults(x=x, success=status == 0, status=status, fun=f, jac=g, hess_inv=h,
                           nfev=nfev, njev=nfev, nit=k)  # fmt: skip
