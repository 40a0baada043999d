"""funcgrad.scipy.optimize.minimize (BFGS) against known minima and scipy.optimize."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize as so

import funcgrad
import funcgrad.numpy as fnp
from funcgrad.scipy.optimize import minimize


def _rosen(x):
    return fnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def test_rosenbrock_converges_like_scipy():
    x0 = np.array([-1.2, 1.0, 0.5, -0.3])
    res = minimize(_rosen, fnp.asarray(x0), method="BFGS")
    ref = so.minimize(so.rosen, x0, method="BFGS", jac=so.rosen_der)
    assert bool(res.success) and int(res.status) == 0
    np.testing.assert_allclose(np.asarray(res.x), ref.x, atol=1e-4)
    np.testing.assert_allclose(np.asarray(res.x), np.ones(4), atol=1e-4)
    assert float(res.fun) < 1e-9
    assert np.max(np.abs(np.asarray(res.jac))) <= 1e-5
    assert int(res.nit) > 0 and int(res.nfev) >= int(res.nit)


def test_quadratic_hessian_inverse_and_args():
    a = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -1.0])
    fun = lambda x, a, b: 0.5 * x @ a @ x - b @ x
    res = minimize(
        fun,
        fnp.zeros(2),
        args=(fnp.asarray(a), fnp.asarray(b)),
        method="BFGS",
        options={"gtol": 1e-10},
    )
    np.testing.assert_allclose(np.asarray(res.x), np.linalg.solve(a, b), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(res.hess_inv), np.linalg.inv(a), rtol=1e-2)


def test_under_jit_and_maxiter_status():
    solve = funcgrad.jit(lambda x0: minimize(_rosen, x0, method="BFGS").x)
    np.testing.assert_allclose(np.asarray(solve(fnp.asarray([-1.2, 1.0]))), [1.0, 1.0], atol=1e-4)
    res = minimize(_rosen, fnp.asarray([-1.2, 1.0]), method="BFGS", options={"maxiter": 3})
    assert int(res.status) == 1 and not bool(res.success) and int(res.nit) == 3


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"method must be 'BFGS'"):
        minimize(_rosen, fnp.zeros(2), method="Nelder-Mead")
    with pytest.raises(ValueError, match=r"x0 must be 1-d"):
        minimize(_rosen, fnp.zeros((2, 2)), method="BFGS")
    with pytest.raises(ValueError, match=r"unknown options \['bogus'\]"):
        minimize(_rosen, fnp.zeros(2), method="BFGS", options={"bogus": 1})
