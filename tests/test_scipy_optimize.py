"""funcgrad.scipy.optimize.minimize (BFGS) against known minima and scipy.optimize."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize as so

import funcgrad
import funcgrad.numpy as fnp
from funcgrad._src.scipy.line_search import line_search
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
    # the same Wolfe line search and first step as SciPy: iteration counts close to its
    assert abs(int(res.nit) - ref.nit) <= 0.25 * ref.nit, (int(res.nit), ref.nit)


@pytest.mark.parametrize("x0", [[-1.2, 1.0], [2.0, 2.0, 2.0], [0.0, 0.0, 0.0, 0.0, 0.0]], ids=str)
def test_rosenbrock_iterations_comparable_to_scipy(x0):
    x0 = np.asarray(x0)
    res = minimize(_rosen, fnp.asarray(x0), method="BFGS")
    ref = so.minimize(so.rosen, x0, method="BFGS", jac=so.rosen_der)
    np.testing.assert_allclose(np.asarray(res.x), ref.x, atol=1e-4)
    assert int(res.status) == 0 and abs(int(res.nit) - ref.nit) <= 0.25 * ref.nit + 2


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
    ref = so.minimize(lambda x: fun(x, a, b), np.zeros(2), jac=lambda x: a @ x - b, method="BFGS",
                      options={"gtol": 1e-10})  # fmt: skip
    assert int(res.nit) <= ref.nit + 1  # BFGS with exact-enough line searches: ~n steps


def test_line_search_matches_scipy():
    value_grad = funcgrad.value_and_grad(_rosen)
    cases = [([-1.2, 1.0], None), ([0.0, 0.0], None), ([2.0, 2.0], [-1.0, -3.0]),
             ([1.5, 0.3, -0.7], None), ([0.5, -0.5, 0.2, 1.1], None)]  # fmt: skip
    for x0, p in cases:
        x = fnp.asarray(x0)
        f, g = value_grad(x)
        p = -g if p is None else fnp.asarray(p)
        res = line_search(value_grad, x, p, f, g)
        alpha, _, _, f_new, _, _ = so.line_search(so.rosen, so.rosen_der, np.asarray(x0),
                                                  np.asarray(p), maxiter=10)  # fmt: skip
        assert not bool(res.failed) and int(res.status) == 0
        np.testing.assert_allclose(float(res.a_k), alpha, rtol=1e-10)
        np.testing.assert_allclose(float(res.f_k), f_new, rtol=1e-10)
        # the strong Wolfe conditions hold at the step
        slope = float(fnp.dot(g, p))
        assert float(res.f_k) <= float(f) + 1e-4 * float(res.a_k) * slope
        assert abs(float(fnp.dot(res.g_k, p))) <= 0.9 * abs(slope)
    x = fnp.asarray([1.0, 1.0])
    uphill = line_search(value_grad, x + 0.1, fnp.asarray([1.0, 1.0]), *value_grad(x + 0.1))
    assert bool(uphill.failed) and int(uphill.status) == 3


def test_under_jit_and_maxiter_status():
    solve = funcgrad.jit(lambda x0: minimize(_rosen, x0, method="BFGS").x)
    np.testing.assert_allclose(np.asarray(solve(fnp.asarray([-1.2, 1.0]))), [1.0, 1.0], atol=1e-4)
    res = minimize(_rosen, fnp.asarray([-1.2, 1.0]), method="BFGS", options={"maxiter": 3})
    assert int(res.status) == 1 and not bool(res.success) and int(res.nit) == 3


def test_vmap_over_starting_points_equals_eager():
    starts = fnp.asarray([[-1.2, 1.0], [0.0, 0.0], [2.0, -1.0]])
    mapped = funcgrad.vmap(lambda x0: minimize(_rosen, x0, method="BFGS"))(starts)
    for i in range(3):
        eager = minimize(_rosen, starts[i], method="BFGS")
        np.testing.assert_allclose(np.asarray(mapped.x[i]), np.asarray(eager.x), rtol=1e-10)
        assert int(mapped.nit[i]) == int(eager.nit) and int(mapped.status[i]) == 0


def test_line_search_failure_sets_status():
    # a linear function is unbounded below: bracketing doubles the step until it runs out
    res = minimize(lambda x: fnp.sum(x), fnp.zeros(2), method="BFGS", options={"maxiter": 5})
    assert not bool(res.success) and int(res.status) == 3 and int(res.nit) == 1


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"method must be 'BFGS'"):
        minimize(_rosen, fnp.zeros(2), method="Nelder-Mead")
    with pytest.raises(ValueError, match=r"x0 must be 1-d"):
        minimize(_rosen, fnp.zeros((2, 2)), method="BFGS")
    with pytest.raises(ValueError, match=r"unknown options \['bogus'\]"):
        minimize(_rosen, fnp.zeros(2), method="BFGS", options={"bogus": 1})
