"""``funcgrad.scipy.optimize.minimize``: unconstrained minimisation by BFGS, as JAX's.

The whole optimisation is a ``lax.while_loop`` (so ``minimize`` works inside ``jit``):
each iteration takes the quasi-Newton direction ``p = -H g``, finds a step by a
backtracking line search that halves ``alpha`` from 1 until the Armijo condition
``f(x + alpha p) <= f(x) + c1 alpha g.p`` holds (at most ``line_search_maxiter`` halvings),
and updates the inverse-Hessian estimate ``H`` by the BFGS formula (Nocedal and Wright,
*Numerical Optimization*, eq. 6.17) when the curvature ``y.s`` is positive. It stops
when ``max|g| <= gtol`` (status 0), after ``maxiter`` iterations (status 1) or when the
line search fails (status 5, JAX's code for it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

import funcgrad.numpy as fnp

__all__ = ["OptimizeResults", "minimize"]

_C1 = 1e-4


class OptimizeResults(NamedTuple):
    """The result of :func:`minimize` (JAX's field names).

    Attributes:
        x: the final point.
        success: whether the gradient norm reached ``gtol``.
        status: 0 converged, 1 maximum iterations, 5 line search failed.
        fun: ``f(x)``.
        jac: the gradient at ``x``.
        hess_inv: the final inverse-Hessian estimate.
        nfev: function evaluations.
        njev: gradient evaluations (each evaluation computes both).
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

    ``options``: ``maxiter`` (default ``200 * len(x0)``), ``gtol`` (default ``tol`` or
    1e-5: the largest gradient component at convergence), ``line_search_maxiter``
    (default 30 halvings).

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
    max_ls = int(options.pop("line_search_maxiter", 30))
    options.pop("norm", None)
    if options:
        raise ValueError(f"funcgrad.scipy.optimize.minimize: unknown options {sorted(options)}")
    value_grad = value_and_grad(lambda x: fun(x, *args))
    dtype = x0.dtype

    def line_search(x, f, g, p):
        slope = fnp.dot(g, p)

        def cond(s):
            alpha, f_new, _, i = s
            bad = ~fnp.isfinite(f_new) | (f_new > f + _C1 * alpha * slope)
            return bad & (i < max_ls)

        def body(s):
            alpha, _, _, i = s
            alpha = alpha * 0.5
            f_new, g_new = value_grad(x + alpha * p)
            return alpha, f_new, g_new, i + 1

        f1, g1 = value_grad(x + p)
        alpha, f_new, g_new, evals = lax.while_loop(
            cond, body, (fnp.asarray(1.0, dtype), f1, g1, 0)
        )
        ok = fnp.isfinite(f_new) & (f_new <= f + _C1 * alpha * slope)
        return alpha, f_new, g_new, evals + 1, ok

    def cond(state):
        k, status = state[0], state[5]
        return (status < 0) & (k < maxiter)

    def body(state):
        k, x, f, g, h, _, nfev = state
        p = -(h @ g)
        alpha, f_new, g_new, evals, ok = line_search(x, f, g, p)
        s = alpha * p
        y = g_new - g
        sy = fnp.dot(s, y)
        rho = 1.0 / fnp.where(sy > 0, sy, 1.0)
        eye = fnp.eye(n, dtype=dtype)
        left = eye - rho * fnp.outer(s, y)
        updated = left @ h @ left.T + rho * fnp.outer(s, s)
        h_new = fnp.where(ok & (sy > 0), updated, h)
        x_new = fnp.where(ok, x + s, x)
        f_next = fnp.where(ok, f_new, f)
        g_next = fnp.where(ok, g_new, g)
        converged = fnp.max(fnp.abs(g_next)) <= gtol
        status = fnp.where(converged, 0, fnp.where(ok, -1, 5))
        return k + 1, x_new, f_next, g_next, h_new, status, nfev + evals

    f0, g0 = value_grad(x0)
    status0 = fnp.where(fnp.max(fnp.abs(g0)) <= gtol, 0, -1)
    start = (0, x0, f0, g0, fnp.eye(n, dtype=dtype), status0, 1)
    k, x, f, g, h, status, nfev = lax.while_loop(cond, body, start)
    status = fnp.where(status < 0, 1, status)
    return OptimizeResults(x=x, success=status == 0, status=status, fun=f, jac=g, hess_inv=h,
                           nfev=nfev, njev=nfev, nit=k)  # fmt: skip
