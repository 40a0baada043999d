"""funcgrad.lax.linalg's Householder reductions (hessenberg, tridiagonal), reflector products
(householder_product, ormqr), structured operations (symmetric_product, cholesky_update,
tridiagonal_solve), qdwh and the algorithm enums, against SciPy's LAPACK wrappers, NumPy
written from the formulas, scipy.linalg.polar and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import lapack

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.test_util import check_grads

RNG = np.random.default_rng(0)
LA = lax.linalg


def _np(x):
    return np.asarray(x)


def _matrix(shape, dtype):
    x = RNG.normal(size=shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * RNG.normal(size=shape)
    return x.astype(dtype)


# --- hessenberg and tridiagonal: LAPACK's packed outputs -------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.float32])
@pytest.mark.parametrize("n", [1, 2, 5])
def test_hessenberg_matches_lapack_gehrd(dtype, n):
    a = _matrix((n, n), dtype)
    gehrd = {np.float64: lapack.dgehrd, np.complex128: lapack.zgehrd, np.float32: lapack.sgehrd}[
        dtype
    ]
    want, want_taus, info = gehrd(a)
    assert info == 0
    packed, taus = LA.hessenberg(a)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(_np(packed), want, atol=tol)
    np.testing.assert_allclose(_np(taus), want_taus[: max(n - 1, 0)], atol=tol)
    assert packed.dtype == dtype and taus.shape == (max(n - 1, 0),)
    if n > 1 and dtype != np.float32:
        # Q^H a Q = H, with Q = 1 (+) householder_product of the reflectors (rows 1..n-1)
        q_sub = _np(LA.householder_product(_np(packed)[1:, :-1], taus))
        q = scipy.linalg.block_diag(np.eye(1, dtype=dtype), q_sub)
        np.testing.assert_allclose(q.conj().T @ a @ q, np.triu(_np(packed), -1), atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("lower", [True, False])
def test_tridiagonal_matches_lapack_sytrd_hetrd(dtype, lower):
    n = 5
    a = _matrix((n, n), dtype)
    a = a + a.conj().T
    # only the chosen triangle may be read: garbage in the other one changes nothing
    junk = np.triu(_matrix((n, n), dtype), 1)
    a_junk = a + (junk if lower else junk.conj().T)
    trd = lapack.zhetrd if dtype == np.complex128 else lapack.dsytrd
    want, d_want, e_want, taus_want, info = trd(a_junk, lower=int(lower))
    assert info == 0
    packed, d, e, taus = LA.tridiagonal(a_junk, lower=lower)
    np.testing.assert_allclose(_np(packed), want, atol=1e-12)
    np.testing.assert_allclose(_np(d), d_want, atol=1e-12)
    np.testing.assert_allclose(_np(e), e_want, atol=1e-12)
    np.testing.assert_allclose(_np(taus), taus_want, atol=1e-12)
    assert d.dtype == e.dtype == np.float64 and taus.dtype == dtype
    # T has a's eigenvalues
    t = np.diag(_np(d)) + np.diag(_np(e), 1) + np.diag(_np(e), -1)
    np.testing.assert_allclose(np.linalg.eigvalsh(t), np.linalg.eigvalsh(a), atol=1e-12)


def test_reductions_batch_vmap_jit():
    a = _matrix((3, 4, 4), np.float64)
    packed, taus = LA.hessenberg(a)
    for k in range(3):
        want, want_taus, _ = lapack.dgehrd(a[k])
        np.testing.assert_allclose(_np(packed[k]), want, atol=1e-12)
        np.testing.assert_allclose(_np(taus[k]), want_taus, atol=1e-12)
    vm = funcgrad.vmap(LA.hessenberg)(a)
    np.testing.assert_allclose(_np(vm[0]), _np(packed), atol=1e-13)
    jt = funcgrad.jit(LA.hessenberg)(a)
    np.testing.assert_allclose(_np(jt[1]), _np(taus), atol=1e-13)
    s = a + np.swapaxes(a, -1, -2)
    tri_jit = funcgrad.jit(lambda x: LA.tridiagonal(x, lower=False))(s)
    tri_vm = funcgrad.vmap(lambda x: LA.tridiagonal(x, lower=False))(s)
    for k in range(3):
        want = lapack.dsytrd(s[k], lower=0)
        for got_jit, got_vm, w in zip(tri_jit, tri_vm, want[:4]):
            np.testing.assert_allclose(_np(got_jit[k]), w, atol=1e-12)
            np.testing.assert_allclose(_np(got_vm[k]), w, atol=1e-12)


def test_reduction_errors():
    with pytest.raises(ValueError, match="hessenberg: needs square matrices"):
        LA.hessenberg(fnp.ones((2, 3)))
    with pytest.raises(TypeError, match="tridiagonal: needs a floating or complex array"):
        LA.tridiagonal(fnp.ones((2, 2), fnp.int32))


# --- householder_product and ormqr --------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("shape", [(5, 3), (4, 4)])
def test_householder_product_matches_scipy_qr(dtype, shape):
    a = _matrix(shape, dtype)
    (raw, taus), _ = scipy.linalg.qr(a, mode="raw")
    q_want = scipy.linalg.qr(a, mode="economic")[0]
    q = LA.householder_product(raw, taus)
    np.testing.assert_allclose(_np(q), q_want, atol=1e-12)
    # fewer reflectors than columns: the trailing columns of the product stay the identity's
    q2 = _np(LA.householder_product(raw, taus[:1]))
    v = np.zeros(shape[0], dtype)
    v[0], v[1:] = 1, raw[1:, 0]
    h0 = np.eye(shape[0], dtype=dtype) - taus[0] * np.outer(v, v.conj())
    np.testing.assert_allclose(q2, h0[:, : shape[1]], atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("transpose", [False, True])
def test_ormqr_matches_explicit_q(dtype, left, transpose):
    a = _matrix((5, 3), dtype)
    (raw, taus), _ = scipy.linalg.qr(a, mode="raw")
    q = scipy.linalg.qr(a)[0]  # the full 5 x 5 Q
    op = q.conj().T if transpose else q
    c = _matrix((5, 2) if left else (2, 5), dtype)
    want = op @ c if left else c @ op
    got = LA.ormqr(raw, taus, c, left=left, transpose=transpose)
    np.testing.assert_allclose(_np(got), want, atol=1e-12)


def test_reflector_products_differentiate_and_batch():
    raw = fnp.asarray(RNG.normal(size=(4, 3)))
    taus = fnp.asarray(RNG.uniform(0.5, 1.5, size=3))
    check_grads(LA.householder_product, (raw, taus), order=1)
    c = fnp.asarray(RNG.normal(size=(4, 2)))
    check_grads(lambda r, t, c: LA.ormqr(r, t, c, transpose=True), (raw, taus, c), order=1)
    raws = RNG.normal(size=(3, 4, 3))
    tauss = RNG.uniform(0.5, 1.5, size=(3, 3))
    got = funcgrad.vmap(LA.householder_product)(raws, tauss)
    for k in range(3):
        np.testing.assert_allclose(
            _np(got[k]), _np(LA.householder_product(raws[k], tauss[k])), atol=1e-14
        )
    jitted = funcgrad.jit(lambda r, t, c: LA.ormqr(r, t, c, left=False))(raw, taus, c.T)
    np.testing.assert_allclose(_np(jitted), _np(LA.ormqr(raw, taus, c.T, left=False)), atol=1e-14)
    with pytest.raises(ValueError, match="ormqr: c must have 4 rows"):
        LA.ormqr(raw, taus, fnp.ones((3, 2)))
    with pytest.raises(ValueError, match="householder_product: taus of shape"):
        LA.householder_product(raw, fnp.ones(4))


# --- symmetric_product, cholesky_update ----------------------------------------------------------


@pytest.mark.parametrize("symmetrize", [False, True])
def test_symmetric_product_formula_and_grads(symmetrize):
    a = RNG.normal(size=(2, 3, 4))
    c = RNG.normal(size=(2, 3, 3))
    c = c + np.swapaxes(c, -1, -2)
    got = LA.symmetric_product(a, c, alpha=0.5, beta=-2.0, symmetrize_output=symmetrize)
    want = 0.5 * a @ np.swapaxes(a, -1, -2) - 2.0 * c
    np.testing.assert_allclose(_np(got), want, atol=1e-13)
    if symmetrize:
        np.testing.assert_array_equal(_np(got), np.swapaxes(_np(got), -1, -2))
    f = lambda a, c: LA.symmetric_product(a, c, alpha=0.5, beta=-2.0, symmetrize_output=symmetrize)
    check_grads(f, (fnp.asarray(a), fnp.asarray(c)), order=2)
    with pytest.raises(ValueError, match="symmetric_product: needs a of shape"):
        LA.symmetric_product(fnp.ones((3, 4)), fnp.ones((4, 4)))


def _spd(n, rng):
    a = rng.normal(size=(n, n))
    return a @ a.T + n * np.eye(n)


@settings(max_examples=10)
@given(n=st.integers(1, 5), seed=st.integers(0, 2**31 - 1), zero_first=st.booleans())
def test_cholesky_update_matches_refactorisation(n, seed, zero_first):
    rng = np.random.default_rng(seed)
    a = _spd(n, rng)
    r = np.linalg.cholesky(a).T
    w = rng.normal(size=n)
    if zero_first:
        w[0] = 0.0  # the identity rotation for that row
    want = np.linalg.cholesky(a + np.outer(w, w)).T
    np.testing.assert_allclose(_np(LA.cholesky_update(r, w)), want, atol=1e-12)


def test_cholesky_update_grads_batch_and_errors():
    rng = np.random.default_rng(1)
    rs = np.stack([np.linalg.cholesky(_spd(3, rng)).T for _ in range(2)])
    ws = rng.normal(size=(2, 3))
    got = LA.cholesky_update(rs, ws)
    for k in range(2):
        want = np.linalg.cholesky(rs[k].T @ rs[k] + np.outer(ws[k], ws[k])).T
        np.testing.assert_allclose(_np(got[k]), want, atol=1e-12)
    np.testing.assert_allclose(_np(funcgrad.vmap(LA.cholesky_update)(rs, ws)), _np(got), atol=1e-14)
    np.testing.assert_allclose(_np(funcgrad.jit(LA.cholesky_update)(rs, ws)), _np(got), atol=1e-14)
    check_grads(LA.cholesky_update, (fnp.asarray(rs[0]), fnp.asarray(ws[0])), order=1)
    with pytest.raises(ValueError, match="cholesky_update: needs a square r_matrix"):
        LA.cholesky_update(fnp.eye(3), fnp.ones(2))
    with pytest.raises(TypeError, match="real floating"):
        LA.cholesky_update(fnp.eye(2, dtype=fnp.complex128), fnp.ones(2, fnp.complex128))


# --- tridiagonal_solve ----------------------------------------------------------------------------


def _tridiag_system(m, dtype, rng, batch=()):
    def draw(shape):
        x = rng.normal(size=shape)
        return (
            (x + 1j * rng.normal(size=shape)).astype(dtype)
            if np.dtype(dtype).kind == "c"
            else x.astype(dtype)
        )

    dl, du = draw(batch + (m,)), draw(batch + (m,))
    d = draw(batch + (m,)) + 5.0  # diagonally dominant: the Thomas algorithm is stable
    b = draw(batch + (m, 2))
    return dl, d, du, b


def _dense(dl, d, du):
    m = d.shape[-1]
    a = np.zeros(d.shape + (m,), d.dtype)
    idx = np.arange(m)
    a[..., idx, idx] = d
    a[..., idx[1:], idx[:-1]] = dl[..., 1:]
    a[..., idx[:-1], idx[1:]] = du[..., :-1]
    return a


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("m", [1, 2, 7])
def test_tridiagonal_solve_matches_dense_solve(dtype, m):
    dl, d, du, b = _tridiag_system(m, dtype, np.random.default_rng(m), batch=(2,))
    got = LA.tridiagonal_solve(dl, d, du, b)
    np.testing.assert_allclose(_np(got), np.linalg.solve(_dense(dl, d, du), b), atol=1e-12)
    assert got.dtype == dtype and got.shape == b.shape


def test_tridiagonal_solve_ignores_the_corner_entries_grads_vmap_jit():
    dl, d, du, b = _tridiag_system(5, np.float64, np.random.default_rng(3))
    want = np.linalg.solve(_dense(dl, d, du), b)
    dl2, du2 = dl.copy(), du.copy()
    dl2[0], du2[-1] = 123.0, -77.0  # dl[0] and du[m-1] are outside the matrix
    np.testing.assert_allclose(_np(LA.tridiagonal_solve(dl2, d, du2, b)), want, atol=1e-12)
    check_grads(LA.tridiagonal_solve, tuple(fnp.asarray(v) for v in (dl, d, du, b)), order=1)
    dls, ds, dus, bs = _tridiag_system(5, np.float64, np.random.default_rng(4), batch=(3,))
    vm = funcgrad.vmap(LA.tridiagonal_solve, in_axes=(0, 0, 0, 0))(dls, ds, dus, bs)
    for k in range(3):
        np.testing.assert_allclose(
            _np(vm[k]), np.linalg.solve(_dense(dls[k], ds[k], dus[k]), bs[k]), atol=1e-12
        )
    shared_b = funcgrad.vmap(LA.tridiagonal_solve, in_axes=(0, 0, 0, None))(dls, ds, dus, b)
    np.testing.assert_allclose(
        _np(shared_b[1]), np.linalg.solve(_dense(dls[1], ds[1], dus[1]), b), atol=1e-12
    )
    np.testing.assert_allclose(
        _np(funcgrad.jit(LA.tridiagonal_solve)(dl, d, du, b)), want, atol=1e-12
    )


def test_tridiagonal_solve_errors():
    v = fnp.ones(3)
    with pytest.raises(ValueError, match="tridiagonal_solve: dl, d and du must share a shape"):
        LA.tridiagonal_solve(v, v, fnp.ones(2), fnp.ones((3, 1)))
    with pytest.raises(TypeError, match="one floating or complex dtype"):
        LA.tridiagonal_solve(v, v, v, fnp.ones((3, 1), fnp.float32))
    with pytest.raises(NotImplementedError, match="perturb_singular"):
        LA.tridiagonal_solve(v, v, v, fnp.ones((3, 1)), perturb_singular=True)


# --- qdwh -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dtype,shape", [(np.float64, (5, 3)), (np.complex128, (4, 4)), (np.float64, (3, 3))]
)
def test_qdwh_matches_scipy_polar(dtype, shape):
    x = _matrix(shape, dtype)
    u, h, iters, ok = LA.qdwh(x)
    u_want, h_want = scipy.linalg.polar(x)
    np.testing.assert_allclose(_np(u), u_want, atol=1e-12)
    np.testing.assert_allclose(_np(h), h_want, atol=1e-12)
    assert bool(ok) and 1 <= int(iters) <= 10
    np.testing.assert_allclose(_np(u).conj().T @ _np(u), np.eye(shape[1]), atol=1e-12)


def test_qdwh_ill_conditioned_batched_and_differentiable():
    x = np.stack([np.diag([1e-9, 1.0, 3.0]), _matrix((3, 3), np.float64)])
    u, h, _, ok = LA.qdwh(x)
    for k in range(2):
        u_want, h_want = scipy.linalg.polar(x[k])
        np.testing.assert_allclose(_np(u[k]), u_want, atol=1e-10)
        np.testing.assert_allclose(_np(h[k]), h_want, atol=1e-10)
    assert _np(ok).all()
    vm = funcgrad.vmap(lambda m: LA.qdwh(m)[0])(x)
    np.testing.assert_allclose(_np(vm), _np(u), atol=1e-13)
    y = fnp.asarray(_matrix((3, 2), np.float64))
    check_grads(lambda m: LA.qdwh(m)[0], (y,), order=1, atol=1e-5, rtol=1e-5)
    _, _, it1, ok1 = LA.qdwh(y, max_iterations=1)
    assert int(it1) == 1 and not bool(ok1)  # stopped before converging
    with pytest.raises(ValueError, match="qdwh: needs matrices .* m >= n"):
        LA.qdwh(fnp.ones((2, 3)))


def test_enums_have_jax_members():
    assert [e.value for e in LA.EigImplementation] == ["cusolver", "magma", "lapack"]
    assert [e.value for e in LA.EighImplementation] == ["qr", "jacobi", "qdwh"]
    assert [e.name for e in LA.SvdAlgorithm] == [
        "DEFAULT",
        "QR",
        "JACOBI",
        "POLAR",
        "DIVIDE_AND_CONQUER",
    ]


def test_schur_reconstructs_and_matches_scipy_eigenvalues():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 5, 5))
    u, q = lax.linalg.schur(fnp.asarray(x))
    u, q = np.asarray(u), np.asarray(q)
    for b in range(2):
        np.testing.assert_allclose(q[b] @ u[b] @ q[b].T, x[b], atol=1e-10)
        np.testing.assert_allclose(q[b].T @ q[b], np.eye(5), atol=1e-12)
        assert np.allclose(np.tril(u[b], -2), 0.0)  # quasi upper triangular
        # the same eigenvalues as SciPy's real Schur form
        want = np.sort_complex(np.linalg.eigvals(scipy.linalg.schur(x[b])[0]))
        got = np.sort_complex(np.linalg.eigvals(u[b]))
        np.testing.assert_allclose(got, want, atol=1e-10)
    (only_u,) = lax.linalg.schur(fnp.asarray(x[0]), compute_schur_vectors=False)
    np.testing.assert_allclose(np.asarray(only_u), u[0])
    with pytest.raises(NotImplementedError, match="sort_eig_vals"):
        lax.linalg.schur(fnp.asarray(x[0]), sort_eig_vals=True)
    with pytest.raises(ValueError, match="square"):
        lax.linalg.schur(fnp.ones((2, 3)))


def test_qr_pivoting_matches_scipy_geqp3():
    rng = np.random.default_rng(8)
    for shape in [(5, 3), (3, 5), (4, 4)]:
        a = rng.standard_normal(shape) * np.array([1.0, 10.0, 0.1, 3.0, 7.0])[: shape[1]]
        q, r, p = lax.linalg.qr(fnp.asarray(a), pivoting=True, full_matrices=False)
        _, r_want, p_want = scipy.linalg.qr(a, pivoting=True, mode="economic")
        np.testing.assert_array_equal(np.asarray(p), p_want)
        np.testing.assert_allclose(np.abs(np.asarray(r)), np.abs(r_want), atol=1e-10)
        np.testing.assert_allclose(np.asarray(q) @ np.asarray(r), a[:, p_want], atol=1e-10)
    q, r, p = lax.linalg.qr(fnp.asarray(a), pivoting=True)
    assert q.shape == (4, 4) and r.shape == (4, 4) and p.dtype == np.int32
