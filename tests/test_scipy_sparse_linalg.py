"""funcgrad.scipy.sparse.linalg (cg, bicgstab, gmres) against numpy.linalg.solve on SPD
and general systems, with matrices, functions and pytree right-hand sides,
preconditioners and initial guesses; implicit derivatives (forward, reverse, second
order, and a zero right-hand side, where differentiating through the iterations fails)
against the formula dx = A^{-1}(db - dA x); jit and vmap."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
from funcgrad.scipy.sparse import linalg
from funcgrad.test_util import check_grads

_RNG = np.random.default_rng(5)
_N = 6
_Q = _RNG.normal(size=(_N, _N))
_SPD = _Q @ _Q.T + _N * np.eye(_N)
_GENERAL = _RNG.normal(size=(_N, _N)) + 4 * np.eye(_N)
_B = _RNG.normal(size=_N)
_TIGHT = {"tol": 1e-12}


def _gmres_incremental(*args, **kwargs):
    return linalg.gmres(*args, solve_method="incremental", **kwargs)


def _gmres_small_restart(*args, **kwargs):
    return linalg.gmres(*args, restart=2, **kwargs)


_GENERAL_SOLVERS = [linalg.bicgstab, linalg.gmres, _gmres_incremental, _gmres_small_restart]
_ALL = [linalg.cg, *_GENERAL_SOLVERS]


def _matrix_for(solver):
    return _SPD if solver is linalg.cg else _GENERAL


@pytest.mark.parametrize("solver", _ALL)
def test_solution_against_numpy(solver):
    a = _matrix_for(solver)
    want = np.linalg.solve(a, _B)
    for operator in (a, lambda v: a @ v):
        x, _ = solver(operator, _B, **_TIGHT)
        np.testing.assert_allclose(np.asarray(x), want, rtol=1e-9, atol=1e-10)
    # a preconditioner (the inverse diagonal) and an initial guess change nothing
    m = np.diag(1 / np.diag(a))
    x, _ = solver(a, _B, x0=np.ones(_N), M=lambda v: m @ v, **_TIGHT)
    np.testing.assert_allclose(np.asarray(x), want, rtol=1e-9, atol=1e-10)


@settings(max_examples=8)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 7))
def test_property_random_systems(seed, n):
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(n, n))
    spd = q @ q.T + n * np.eye(n)
    general = rng.normal(size=(n, n)) + 3 * n * np.eye(n)
    b = rng.normal(size=n)
    x, _ = linalg.cg(spd, b, **_TIGHT)
    np.testing.assert_allclose(np.asarray(x), np.linalg.solve(spd, b), rtol=1e-8, atol=1e-9)
    for solver in (linalg.bicgstab, linalg.gmres):
        x, _ = solver(general, b, **_TIGHT)
        np.testing.assert_allclose(np.asarray(x), np.linalg.solve(general, b), rtol=1e-8, atol=1e-9)


def test_tolerance_is_respected():
    x, _ = linalg.cg(_SPD, _B, tol=1e-3)
    residual = np.linalg.norm(_SPD @ np.asarray(x) - _B)
    assert residual <= 1e-3 * np.linalg.norm(_B)
    x, _ = linalg.cg(_SPD, _B, tol=0.0, atol=1e-4)
    assert np.linalg.norm(_SPD @ np.asarray(x) - _B) <= 1e-4
    # one iteration of CG from zero is the steepest-descent step (b.b / b.Ab) b
    x, _ = linalg.cg(_SPD, _B, maxiter=1)
    np.testing.assert_allclose(np.asarray(x), (_B @ _B) / (_B @ _SPD @ _B) * _B, rtol=1e-12)


@pytest.mark.parametrize("solver", _ALL)
def test_pytree_right_hand_side(solver):
    a = _matrix_for(solver)

    def operator(tree):  # a acting on the concatenation of the leaves
        flat = funcgrad.numpy.concatenate([tree["u"], tree["w"].ravel()])
        out = a @ flat
        return {"u": out[:2], "w": out[2:].reshape(2, 2)}

    b = {"u": _B[:2], "w": _B[2:].reshape(2, 2)}
    x, _ = solver(operator, b, **_TIGHT)
    want = np.linalg.solve(a, _B)
    np.testing.assert_allclose(np.asarray(x["u"]), want[:2], rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(np.asarray(x["w"]).ravel(), want[2:], rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("solver", _ALL)
def test_reverse_mode_matches_implicit_formula(solver):
    a = _matrix_for(solver)
    weights = _RNG.normal(size=_N)

    def loss(m, b):
        x, _ = solver(lambda v: m @ v, b, **_TIGHT)
        return (weights * x).sum()

    g_m, g_b = funcgrad.grad(loss, argnums=(0, 1))(a, _B)
    x = np.linalg.solve(a, _B)
    lam = np.linalg.solve(a.T, weights)  # adjoint solve
    np.testing.assert_allclose(np.asarray(g_b), lam, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(np.asarray(g_m), -np.outer(lam, x), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("solver", _ALL)
def test_forward_mode_matches_implicit_formula(solver):
    a = _matrix_for(solver)
    da, db = _RNG.normal(size=(_N, _N)), _RNG.normal(size=_N)
    _, dx = funcgrad.jvp(lambda m, b: solver(lambda v: m @ v, b, **_TIGHT)[0], (a, _B), (da, db))
    x = np.linalg.solve(a, _B)
    np.testing.assert_allclose(np.asarray(dx), np.linalg.solve(a, db - da @ x), rtol=1e-8)


@pytest.mark.parametrize("solver", [linalg.cg, linalg.bicgstab, linalg.gmres])
def test_check_grads_second_order(solver):
    a = _matrix_for(solver)
    f = lambda m, b: solver(lambda v: m @ v, b, **_TIGHT)[0]
    check_grads(f, (a, _B), order=2, atol=1e-5, rtol=1e-5)


def test_derivative_at_zero_rhs():
    # b = 0 solves in zero iterations; the derivative is still A^{-1}
    jac = funcgrad.jacfwd(lambda b: linalg.cg(_SPD, b)[0])(np.zeros(_N))
    np.testing.assert_allclose(np.asarray(jac), np.linalg.inv(_SPD), rtol=1e-4, atol=1e-6)
    jac = funcgrad.jacrev(lambda b: linalg.gmres(_GENERAL, b, **_TIGHT)[0])(np.zeros(_N))
    np.testing.assert_allclose(np.asarray(jac), np.linalg.inv(_GENERAL), rtol=1e-8, atol=1e-10)


def test_jit_vmap_and_grad_of_vmap():
    solve = funcgrad.jit(lambda m, b: linalg.bicgstab(m, b, **_TIGHT)[0])
    np.testing.assert_allclose(
        np.asarray(solve(_GENERAL, _B)), np.linalg.solve(_GENERAL, _B), rtol=1e-9
    )
    rhs = _RNG.normal(size=(3, _N))
    batched = funcgrad.vmap(lambda b: linalg.cg(_SPD, b, **_TIGHT)[0])(rhs)
    np.testing.assert_allclose(np.asarray(batched), np.linalg.solve(_SPD, rhs.T).T, rtol=1e-9)
    matrices = np.stack([_GENERAL, _GENERAL.T, _GENERAL + np.eye(_N)])
    batched = funcgrad.vmap(lambda m, b: linalg.gmres(m, b, **_TIGHT)[0])(matrices, rhs)
    want = np.stack([np.linalg.solve(m, b) for m, b in zip(matrices, rhs)])
    np.testing.assert_allclose(np.asarray(batched), want, rtol=1e-9)

    def loss(m):
        xs = funcgrad.vmap(lambda b: linalg.bicgstab(lambda v: m @ v, b, **_TIGHT)[0])(rhs)
        return xs.sum()

    lam = np.linalg.solve(_GENERAL.T, np.ones(_N))
    want = sum(-np.outer(lam, np.linalg.solve(_GENERAL, b)) for b in rhs)
    np.testing.assert_allclose(np.asarray(funcgrad.grad(loss)(_GENERAL)), want, rtol=1e-8)


def test_gmres_info_and_complex():
    x, info = linalg.gmres(_GENERAL, _B, **_TIGHT)
    assert int(info) == 0
    a = _GENERAL + 1j * _RNG.normal(size=(_N, _N))
    b = _B + 1j * _B[::-1]
    for solver in (linalg.gmres, linalg.bicgstab):
        x, _ = solver(a, b, **_TIGHT)
        np.testing.assert_allclose(np.asarray(x), np.linalg.solve(a, b), rtol=1e-8)
    herm = _SPD + 1j * (_Q - _Q.T)
    x, _ = linalg.cg(herm, b, **_TIGHT)
    np.testing.assert_allclose(np.asarray(x), np.linalg.solve(herm, b), rtol=1e-8)


def test_errors():
    with pytest.raises(ValueError, match="square matrix"):
        linalg.cg(np.ones((2, 3)), np.ones(2))
    with pytest.raises(ValueError, match="x0 must have the shapes"):
        linalg.cg(_SPD, _B, x0=np.ones(3))
    with pytest.raises(ValueError, match="solve_method must be"):
        linalg.gmres(_GENERAL, _B, solve_method="qr")
    with pytest.raises(TypeError, match="must be a function, a square matrix"):
        linalg.bicgstab(object(), _B)
