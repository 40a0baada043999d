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
