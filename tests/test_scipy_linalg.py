"""funcgrad.scipy.linalg against scipy.linalg: values, reconstructions, gradients by finite
differences, vmap and jit."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sl

import funcgrad
import funcgrad.numpy as fnp
from funcgrad.scipy import linalg
from funcgrad.test_util import check_grads

_RNG = np.random.default_rng(3)
_A = _RNG.normal(size=(4, 4))
_SPD = _A @ _A.T + 4 * np.eye(4)
_B = _RNG.normal(size=(4, 2))


def _np(x):
    return np.asarray(x)


def test_cholesky_family():
    for lower in (False, True):
        np.testing.assert_allclose(_np(linalg.cholesky(fnp.asarray(_SPD), lower=lower)),
                                   sl.cholesky(_SPD, lower=lower), rtol=1e-12, atol=1e-12)  # fmt: skip
        c = linalg.cho_factor(fnp.asarray(_SPD), lower=lower)
        np.testing.assert_allclose(_np(linalg.cho_solve(c, fnp.asarray(_B))),
                                   sl.cho_solve(sl.cho_factor(_SPD, lower=lower), _B), rtol=1e-11)  # fmt: skip
    check_grads(lambda a, b: linalg.cho_solve(linalg.cho_factor(a @ a.T + 4 * fnp.eye(4)), b),
                (fnp.asarray(_A), fnp.asarray(_B)), order=1, rtol=1e-4)  # fmt: skip


@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("trans", [0, 1, 2, "T"])
@pytest.mark.parametrize("unit", [False, True])
def test_solve_triangular(lower, trans, unit):
    a = _A + 3 * np.eye(4)
    got = linalg.solve_triangular(
        fnp.asarray(a), fnp.asarray(_B), trans=trans, lower=lower, unit_diagonal=unit
    )
    np.testing.assert_allclose(_np(got), sl.solve_triangular(a, _B, trans=trans, lower=lower,
                                                             unit_diagonal=unit), rtol=1e-11)  # fmt: skip


def test_general_functions_against_scipy():
    a = fnp.asarray(_A)
    np.testing.assert_allclose(_np(linalg.solve(a, fnp.asarray(_B))), sl.solve(_A, _B), rtol=1e-11)
    np.testing.assert_allclose(_np(linalg.solve(fnp.asarray(_SPD), fnp.asarray(_B[:, 0]), assume_a="pos")),
                               sl.solve(_SPD, _B[:, 0], assume_a="pos"), rtol=1e-11)  # fmt: skip
    np.testing.assert_allclose(_np(linalg.solve(fnp.asarray(np.triu(_SPD)), fnp.asarray(_B), assume_a="sym")),
                               sl.solve(_SPD, _B), rtol=1e-11)  # fmt: skip
    np.testing.assert_allclose(_np(linalg.inv(a)), sl.inv(_A), rtol=1e-11)
    np.testing.assert_allclose(float(linalg.det(a)), sl.det(_A), rtol=1e-12)
    w = linalg.eigh(fnp.asarray(_SPD), eigvals_only=True)
    np.testing.assert_allclose(_np(w), sl.eigh(_SPD, eigvals_only=True), rtol=1e-12)
    np.testing.assert_allclose(
        _np(linalg.svd(a, compute_uv=False)), sl.svd(_A, compute_uv=False), rtol=1e-12
    )
    q, r = linalg.qr(fnp.asarray(_B))
    assert q.shape == (4, 4) and r.shape == (4, 2)
    np.testing.assert_allclose(_np(q @ r), _B, atol=1e-12)
    (r_only,) = linalg.qr(fnp.asarray(_B), mode="r")
    np.testing.assert_allclose(np.abs(_np(r_only)), np.abs(sl.qr(_B, mode="r")[0]), atol=1e-12)


def test_lu_against_scipy():
    for a in (_A, _RNG.normal(size=(5, 5)), np.array([[0.0, 1.0], [1.0, 0.0]])):
        lu, piv = linalg.lu_factor(fnp.asarray(a))
        lu_ref, piv_ref = sl.lu_factor(a)
        np.testing.assert_allclose(_np(lu), lu_ref, rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(_np(piv), piv_ref)
        p, low, up = linalg.lu(fnp.asarray(a))
        for got, want in zip((p, low, up), sl.lu(a)):
            np.testing.assert_allclose(_np(got), want, rtol=1e-12, atol=1e-14)
        b = _RNG.normal(size=(a.shape[0], 2))
        for trans in (0, 1):
            np.testing.assert_allclose(_np(linalg.lu_solve((lu, piv), fnp.asarray(b), trans=trans)),
                                       sl.lu_solve((lu_ref, piv_ref), b, trans=trans), rtol=1e-10)  # fmt: skip
    check_grads(lambda a: linalg.lu_solve(linalg.lu_factor(a), fnp.asarray(_B)), (fnp.asarray(_A),),
                order=1, rtol=1e-4)  # fmt: skip


def test_expm_and_sqrtm():
    for scale in (0.1, 1.0, 30.0):
        np.testing.assert_allclose(
            _np(linalg.expm(fnp.asarray(_A * scale))), sl.expm(_A * scale), rtol=1e-10
        )
    jitted = funcgrad.jit(linalg.expm)  # squarings chosen by selection under jit
    np.testing.assert_allclose(_np(jitted(fnp.asarray(_A * 30))), sl.expm(_A * 30), rtol=1e-10)
    batch = np.stack([_A * 0.1, _A * 20])
    np.testing.assert_allclose(
        _np(linalg.expm(fnp.asarray(batch))), [sl.expm(m) for m in batch], rtol=1e-10
    )
    check_grads(linalg.expm, (fnp.asarray(_A * 0.5),), order=1, rtol=1e-4)
    np.testing.assert_allclose(_np(linalg.sqrtm(fnp.asarray(_SPD))), sl.sqrtm(_SPD), rtol=1e-10)
    nonsym = _A + 5 * np.eye(4)
    np.testing.assert_allclose(_np(linalg.sqrtm(fnp.asarray(nonsym))), sl.sqrtm(nonsym), rtol=1e-9)


def test_structured_matrices():
    blocks = [np.array([[1.0, 2.0]]), np.array(3.0), np.array([[4.0], [5.0]])]
    np.testing.assert_array_equal(
        _np(linalg.block_diag(*map(fnp.asarray, blocks))), sl.block_diag(*blocks)
    )
    c, r = np.array([1.0, 2.0, 3.0]), np.array([9.0, 4.0, 5.0, 6.0])
    np.testing.assert_array_equal(
        _np(linalg.toeplitz(fnp.asarray(c), fnp.asarray(r))), sl.toeplitz(c, r)
    )
    cz = np.array([1.0, 2.0 + 1j])
    np.testing.assert_array_equal(_np(linalg.toeplitz(fnp.asarray(cz))), sl.toeplitz(cz))
    with pytest.raises(ValueError, match=r"block_diag: argument 0 has 3 dimensions"):
        linalg.block_diag(fnp.ones((1, 1, 1)))
    with pytest.raises(ValueError, match=r"funcgrad.scipy.linalg.inv: expected a square matrix"):
        linalg.inv(fnp.ones((2, 3)))


def test_vmap_matches_a_loop():
    mats = fnp.asarray(np.stack([_SPD, _SPD + np.eye(4)]))
    out = funcgrad.vmap(lambda m: linalg.cho_solve(linalg.cho_factor(m), fnp.asarray(_B)))(mats)
    for i in range(2):
        np.testing.assert_allclose(
            _np(out[i]), sl.cho_solve(sl.cho_factor(_np(mats[i])), _B), rtol=1e-11
        )
    lus = funcgrad.vmap(lambda m: linalg.lu_factor(m)[0])(mats)
    np.testing.assert_allclose(_np(lus[1]), sl.lu_factor(_np(mats[1]))[0], rtol=1e-12)


# --- Hessenberg, Schur, polar, funm, expm_frechet, eigh_tridiagonal -------------------------------

_SQ = _RNG.normal(size=(5, 5))
_CSQ = _RNG.normal(size=(4, 4)) + 1j * _RNG.normal(size=(4, 4))


@pytest.mark.parametrize("a", [_SQ, _CSQ, np.triu(_SQ, -1), np.array([[2.0]])], ids=str)
def test_hessenberg_matches_scipy(a):
    h, q = linalg.hessenberg(fnp.asarray(a), calc_q=True)
    h_ref, q_ref = sl.hessenberg(a, calc_q=True)
    np.testing.assert_allclose(_np(h), h_ref, atol=1e-12)
    np.testing.assert_allclose(_np(q), q_ref, atol=1e-12)
    np.testing.assert_allclose(_np(linalg.hessenberg(fnp.asarray(a))), h_ref, atol=1e-12)


def test_hessenberg_transformations():
    batch = np.stack([_SQ, _SQ.T + np.eye(5)])
    jitted = funcgrad.jit(lambda m: linalg.hessenberg(m, calc_q=True))
    for got in (jitted(fnp.asarray(batch)), funcgrad.vmap(jitted)(fnp.asarray(batch))):
        for i in range(2):
            for g, w in zip(got, sl.hessenberg(batch[i], calc_q=True)):
                np.testing.assert_allclose(_np(g[i]), w, atol=1e-12)
    check_grads(lambda m: linalg.hessenberg(m), (fnp.asarray(_SQ[:4, :4]),), order=1, rtol=1e-4)


def _assert_schur(a, t, z, complex_output):
    n = a.shape[-1]
    t, z = _np(t), _np(z)
    np.testing.assert_allclose(z @ t @ z.conj().T, a, atol=1e-12)
    np.testing.assert_allclose(z.conj().T @ z, np.eye(n), atol=1e-12)
    if complex_output:
        assert np.iscomplexobj(t) and np.all(np.tril(t, -1) == 0)
        ev = np.diag(t)
    else:
        assert np.all(np.tril(t, -2) == 0)
        sub = np.diag(t, -1)
        assert not np.any((sub[:-1] != 0) & (sub[1:] != 0))  # blocks at most 2x2
        for k in np.flatnonzero(sub):  # standard form: equal diagonal, complex pair
            assert t[k, k] == t[k + 1, k + 1] and t[k, k + 1] * t[k + 1, k] < 0
        ev = sl.eigvals(t)
    ref = sl.eigvals(a)
    np.testing.assert_allclose(np.sort_complex(np.round(ev, 10)),
                               np.sort_complex(np.round(ref, 10)), atol=1e-9)  # fmt: skip


_SCHUR_CASES = [
    _SQ, _RNG.normal(size=(9, 9)), np.roll(np.eye(5), 1, axis=0), np.zeros((3, 3)),
    np.diag(np.ones(3), 1), np.array([[0.0, 2.0, 2.0], [0.0, 1.0, 2.0], [1.0, 0.0, 1.0]]),
    np.outer(np.arange(4.0), np.arange(4.0) + 1), np.array([[1.0, 1e8], [1e-8, 1.0]]),
]  # fmt: skip


@pytest.mark.parametrize("a", _SCHUR_CASES, ids=range(len(_SCHUR_CASES)))
@pytest.mark.parametrize("output", ["real", "complex"])
def test_schur_decomposes(a, output):
    t, z = linalg.schur(fnp.asarray(a), output=output)
    _assert_schur(a, t, z, output == "complex")


def test_schur_complex_input_jit_vmap_and_errors():
    t, z = linalg.schur(fnp.asarray(_CSQ))
    _assert_schur(_CSQ, t, z, True)
    assert t.dtype == np.complex128
    t32, _ = linalg.schur(fnp.asarray(_SQ, dtype=np.float32))
    assert t32.dtype == np.float32
    batch = fnp.asarray(np.stack([_SQ, _SQ.T]))
    eager = [linalg.schur(m) for m in batch]
    for tb, zb in (funcgrad.jit(linalg.schur)(batch), funcgrad.vmap(linalg.schur)(batch)):
        for i in range(2):
            np.testing.assert_array_equal(_np(tb[i]), _np(eager[i][0]))
            np.testing.assert_array_equal(_np(zb[i]), _np(eager[i][1]))
    with pytest.raises(ValueError, match=r"schur: output must be 'real' or 'complex'"):
        linalg.schur(batch[0], output="x")
    with pytest.raises(ValueError, match=r"schur: expected a square matrix"):
        linalg.schur(fnp.ones((2, 3)))


def test_rsf2csf_matches_scipy():
    for a in (_SQ, _SCHUR_CASES[5], _SCHUR_CASES[2]):
        t, z = sl.schur(a)
        want_t, want_z = sl.rsf2csf(t, z)
        got_t, got_z = linalg.rsf2csf(fnp.asarray(t), fnp.asarray(z))
        np.testing.assert_allclose(_np(got_t), want_t, atol=1e-12)
        np.testing.assert_allclose(_np(got_z), want_z, atol=1e-12)
        t2, z2 = funcgrad.jit(linalg.rsf2csf)(*linalg.schur(fnp.asarray(a)))  # ours end to end
        _assert_schur(a, t2, z2, True)
    ts, zs = zip(*(sl.schur(m) for m in (_SQ, _SQ.T)))
    bt, bz = linalg.rsf2csf(fnp.asarray(np.stack(ts)), fnp.asarray(np.stack(zs)))
    for got, want in zip((bt[1], bz[1]), sl.rsf2csf(ts[1], zs[1])):
        np.testing.assert_allclose(_np(got), want, atol=1e-12)


@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
@pytest.mark.parametrize("side", ["right", "left"])
def test_polar_matches_scipy(shape, side):
    a = _RNG.normal(size=shape)
    u, p = linalg.polar(fnp.asarray(a), side=side)
    u_ref, p_ref = sl.polar(a, side=side)
    np.testing.assert_allclose(_np(u), u_ref, atol=1e-12)
    np.testing.assert_allclose(_np(p), p_ref, atol=1e-12)
    u2, p2 = funcgrad.jit(lambda m: linalg.polar(m, side=side, method="svd"))(fnp.asarray(a))
    np.testing.assert_allclose(_np(u2), u_ref, atol=1e-12)
    np.testing.assert_allclose(_np(p2), p_ref, atol=1e-12)


def test_polar_grads_vmap_and_errors():
    a = fnp.asarray(_A + 3 * np.eye(4))
    check_grads(lambda m: linalg.polar(m)[0], (a,), order=1, rtol=1e-4)
    check_grads(lambda m: linalg.polar(m, side="left")[1], (a,), order=1, rtol=1e-4)
    us, _ = funcgrad.vmap(linalg.polar)(fnp.asarray(np.stack([_A, _A.T])))
    np.testing.assert_allclose(_np(us[1]), sl.polar(_A.T)[0], atol=1e-12)
    with pytest.raises(ValueError, match=r"polar: side must be 'right' or 'left'"):
        linalg.polar(a, side="up")


def test_expm_frechet_matches_scipy():
    a, e = _A * 0.7, _RNG.normal(size=(4, 4))
    want_expm, want_l = sl.expm_frechet(a, e)
    got_expm, got_l = linalg.expm_frechet(fnp.asarray(a), fnp.asarray(e))
    np.testing.assert_allclose(_np(got_expm), want_expm, rtol=1e-10)
    np.testing.assert_allclose(_np(got_l), want_l, rtol=1e-10, atol=1e-12)
    only = funcgrad.jit(lambda x, y: linalg.expm_frechet(x, y, compute_expm=False))
    np.testing.assert_allclose(_np(only(fnp.asarray(a), fnp.asarray(e))), want_l, rtol=1e-10,
                               atol=1e-12)  # fmt: skip
    # the Frechet derivative is the directional derivative of expm: an independent check
    _, tangent = funcgrad.jvp(linalg.expm, (fnp.asarray(a),), (fnp.asarray(e),))
    np.testing.assert_allclose(_np(tangent), want_l, rtol=1e-9, atol=1e-11)
    check_grads(lambda x: linalg.expm_frechet(x, fnp.asarray(e), compute_expm=False),
                (fnp.asarray(a * 0.5),), order=1, rtol=1e-4)  # fmt: skip
    with pytest.raises(ValueError, match=r"expm_frechet: A and E must have one shape"):
        linalg.expm_frechet(fnp.eye(2), fnp.eye(3))


def test_eigh_tridiagonal_matches_scipy():
    d, e = _RNG.normal(size=6), _RNG.normal(size=5)
    np.testing.assert_allclose(_np(linalg.eigh_tridiagonal(fnp.asarray(d), fnp.asarray(e),
                                                           eigvals_only=True)),
                               sl.eigh_tridiagonal(d, e, eigvals_only=True), rtol=1e-12)  # fmt: skip
    w, v = linalg.eigh_tridiagonal(fnp.asarray(d), fnp.asarray(e))
    w_ref, v_ref = sl.eigh_tridiagonal(d, e)
    np.testing.assert_allclose(_np(w), w_ref, rtol=1e-12)
    np.testing.assert_allclose(np.abs(_np(v)), np.abs(v_ref), atol=1e-10)  # up to sign
    sub = linalg.eigh_tridiagonal(fnp.asarray(d), fnp.asarray(e), eigvals_only=True, select="i",
                                  select_range=(1, 3))  # fmt: skip
    np.testing.assert_allclose(_np(sub), sl.eigh_tridiagonal(
        d, e, eigvals_only=True, select="i", select_range=(1, 3)), rtol=1e-12)  # fmt: skip
    f = funcgrad.jit(lambda x, y: linalg.eigh_tridiagonal(x, y, eigvals_only=True))
    batched = funcgrad.vmap(f)(fnp.asarray(np.stack([d, -d])), fnp.asarray(np.stack([e, e])))
    np.testing.assert_allclose(_np(batched[1]), sl.eigh_tridiagonal(-d, e, eigvals_only=True),
                               rtol=1e-12)  # fmt: skip
    check_grads(lambda x, y: linalg.eigh_tridiagonal(x, y, eigvals_only=True),
                (fnp.asarray(d), fnp.asarray(e)), order=1, rtol=1e-4)  # fmt: skip
    with pytest.raises(ValueError, match=r"eigh_tridiagonal: expected d of shape \(n,\)"):
        linalg.eigh_tridiagonal(fnp.ones(3), fnp.ones(3))
    with pytest.raises(NotImplementedError, match=r"select='v'"):
        linalg.eigh_tridiagonal(fnp.ones(3), fnp.ones(2), select="v", select_range=(0.0, 1.0))


@pytest.mark.parametrize("func, ref", [(fnp.exp, sl.expm), (fnp.sin, sl.sinm),
                                       (fnp.cos, sl.cosm)])  # fmt: skip
def test_funm_matches_scipy(func, ref):
    for a in (_SQ, _CSQ, np.array([[1.0, 2.0], [3.0, 4.0]])):
        got = linalg.funm(fnp.asarray(a), func)
        assert np.iscomplexobj(_np(got))
        np.testing.assert_allclose(_np(got), ref(a), rtol=1e-9, atol=1e-10)
    _, err = linalg.funm(fnp.asarray(_SQ), func, disp=False)
    _, err_ref = sl.funm(_SQ, lambda x: getattr(np, func.__name__)(x), disp=False)
    assert float(err) == pytest.approx(err_ref, rel=0.5)  # depends on the eigenvalue order
    jitted = funcgrad.jit(lambda m: linalg.funm(m, func))
    np.testing.assert_allclose(_np(jitted(fnp.asarray(_SQ))), ref(_SQ), rtol=1e-9, atol=1e-10)


def test_hilbert():
    for n in (1, 3, 6):
        np.testing.assert_array_equal(_np(linalg.hilbert(n)), sl.hilbert(n))
