"""The nonsymmetric eigendecomposition (``lax.linalg.eig``, ``numpy.linalg.eig`` /
``eigvals``) against NumPy and SciPy, its derivatives by finite differences, vmap, jit;
and ``numpy.linalg.tensorinv`` / ``tensorsolve`` against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.test_util import check_grads

_RNG = np.random.default_rng(0)
_REAL = _RNG.standard_normal((4, 4))  # two real eigenvalues and a complex pair
_COMPLEX = _RNG.standard_normal((3, 3)) + 1j * _RNG.standard_normal((3, 3))


def _eig(x, **kw):
    return [np.asarray(o) for o in lax.linalg.eig(x, **kw)]


@pytest.mark.parametrize("a", [_REAL, _COMPLEX, _RNG.standard_normal((2, 3, 5, 5))],
                         ids=["real", "complex", "stack"])  # fmt: skip
def test_eig_matches_numpy(a):
    w, vl, vr = _eig(a)
    w_np, vr_np = np.linalg.eig(a)
    np.testing.assert_allclose(w, w_np, rtol=1e-13, atol=1e-14)
    # NumPy's vectors up to the sign of a column (LAPACK leaves it free for real input)
    sign = np.sign(np.sum(vr * np.conj(vr_np), axis=-2, keepdims=True).real)
    np.testing.assert_allclose(vr, sign * vr_np, rtol=1e-12, atol=1e-14)
    if np.iscomplexobj(a):
        np.testing.assert_array_equal(sign, 1.0)
    # unit columns, largest component real and positive
    np.testing.assert_allclose(np.linalg.norm(vr, axis=-2), 1.0, rtol=1e-14)
    largest = np.take_along_axis(vr, np.argmax(np.abs(vr), axis=-2)[..., None, :], axis=-2)
    assert np.all(largest.imag == 0) and np.all(largest.real > 0)
    # the defining identities, left and right
    np.testing.assert_allclose(a @ vr, vr * w[..., None, :], atol=1e-12)
    vl_h = np.conj(np.swapaxes(vl, -1, -2))
    np.testing.assert_allclose(vl_h @ a, w[..., :, None] * vl_h, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(vl, axis=-2), 1.0, rtol=1e-14)


def test_left_eigenvectors_match_scipy_up_to_phase():
    w, vl, _ = _eig(_COMPLEX)
    w_sp, vl_sp = scipy.linalg.eig(_COMPLEX, left=True, right=False)
    np.testing.assert_allclose(w, w_sp, rtol=1e-13)
    overlap = np.abs(np.sum(np.conj(vl) * vl_sp, axis=0))
    np.testing.assert_allclose(overlap, 1.0, rtol=1e-12)


def test_eig_outputs_follow_the_flags_and_are_complex():
    assert len(lax.linalg.eig(_REAL)) == 3
    w, vr = lax.linalg.eig(_REAL, compute_left_eigenvectors=False)
    assert vr.shape == (4, 4)
    (w_only,) = lax.linalg.eig(_REAL, compute_left_eigenvectors=False,
                               compute_right_eigenvectors=False)  # fmt: skip
    np.testing.assert_array_equal(np.asarray(w_only), np.asarray(w))
    w, vl = lax.linalg.eig(_REAL, compute_right_eigenvectors=False)
    np.testing.assert_allclose(np.asarray(vl), _eig(_REAL)[1])
    assert w.dtype == np.complex128
    assert lax.linalg.eig(_REAL.astype(np.float32))[0].dtype == np.complex64
    assert fnp.linalg.eigvals(np.array([[1, 2], [3, 4]])).dtype == np.complex128
    assert fnp.linalg.eig(np.eye(2, dtype=np.complex64)).eigenvectors.dtype == np.complex64
    # NumPy returns real arrays here; funcgrad (as JAX) complex ones with the same values
    triangular = np.array([[2.0, 1.0], [0.0, 3.0]])
    w, _ = fnp.linalg.eig(triangular)
    np.testing.assert_array_equal(np.asarray(w), [2.0, 3.0])


def test_eig_of_a_matrix_with_nan_gives_nan_for_that_matrix_only():
    a = np.stack([_REAL, np.full((4, 4), np.nan), _REAL])
    w, v = fnp.linalg.eig(a)
    assert np.all(np.isnan(np.asarray(w)[1])) and np.all(np.isnan(np.asarray(v)[1]))
    np.testing.assert_allclose(np.asarray(w)[[0, 2]], np.linalg.eigvals(a[[0, 2]]))


@pytest.mark.parametrize(
    ("fn", "arg", "error", "match"),
    [
        (fnp.linalg.eig, np.ones((2, 3)), np.linalg.LinAlgError, r"eig: .*square.*\(2, 3\)"),
        (fnp.linalg.eigvals, np.ones(3), np.linalg.LinAlgError, r"eigvals: 1-dimensional"),
        (fnp.linalg.eigvals, np.ones((2, 2), np.float16), TypeError, "float16"),
        (lax.linalg.eig, np.ones((2, 3)), ValueError, r"eig: expected a stack of square"),
        (lax.linalg.eig, np.ones((2, 2), np.float16), TypeError, "eig: float16"),
    ],
)
def test_eig_bad_input_errors(fn, arg, error, match):
    with pytest.raises(error, match=match):
        fn(arg)


def test_eigenvalue_derivatives():
    check_grads(fnp.linalg.eigvals, (_REAL,), order=2)
    check_grads(fnp.linalg.eigvals, (_COMPLEX,), order=2)
    # dw_i = u_i^H dA v_i / (u_i^H v_i): the classical formula with SciPy's left vectors
    _, vl, vr = scipy.linalg.eig(_REAL, left=True, right=True)
    da = _RNG.standard_normal((4, 4))
    _, dw = funcgrad.jvp(fnp.linalg.eigvals, (_REAL,), (da,))
    expected = np.einsum("ji,jk,ki->i", vl.conj(), da, vr) / np.einsum("ji,ji->i", vl.conj(), vr)
    np.testing.assert_allclose(np.asarray(dw), expected, rtol=1e-10)


def _right(x):
    return lax.linalg.eig(x, compute_left_eigenvectors=False, enable_eigvec_derivs=True)


def test_eigenvector_derivatives_are_those_of_the_returned_vectors():
    # the gauge (largest component real and positive, unit norm) is the kernel's own, so
    # finite differences of the outputs check the vectors' derivatives directly
    check_grads(_right, (_REAL,), order=1)
    check_grads(_right, (_COMPLEX,), order=2)
    check_grads(_right, (_RNG.standard_normal((2, 3, 3)),), order=1, modes=("rev",))


def test_eigenvector_derivatives_need_the_opt_in_as_in_jax():
    with pytest.raises(NotImplementedError, match="enable_eigvec_derivs=True"):
        funcgrad.jvp(fnp.linalg.eig, (_REAL,), (_REAL,))
    with pytest.raises(NotImplementedError, match="left eigenvectors"):
        funcgrad.jvp(lambda x: lax.linalg.eig(x, enable_eigvec_derivs=True), (_REAL,), (_REAL,))
    # eigenvalues alone (no vectors asked for) need no opt-in
    funcgrad.grad(lambda x: fnp.sum(fnp.linalg.eigvals(x).real))(_REAL)


@pytest.mark.parametrize("in_axis", [0, 1, 2])
def test_vmap_matches_a_loop(in_axis):
    stack = _RNG.standard_normal((3, 3, 3))
    batched = np.moveaxis(stack, 0, in_axis)
    w, v = funcgrad.vmap(_right, in_axes=in_axis)(batched)
    for i, a in enumerate(stack):
        w_i, v_i = _right(a)
        np.testing.assert_allclose(np.asarray(w)[i], np.asarray(w_i), rtol=1e-13)
        np.testing.assert_allclose(np.asarray(v)[i], np.asarray(v_i), rtol=1e-12, atol=1e-14)
    g = funcgrad.vmap(funcgrad.grad(lambda x: fnp.sum(fnp.abs(fnp.linalg.eigvals(x)) ** 2)),
                      in_axes=in_axis)(batched)  # fmt: skip
    for i, a in enumerate(stack):
        g_i = funcgrad.grad(lambda x: fnp.sum(fnp.abs(fnp.linalg.eigvals(x)) ** 2))(a)
        np.testing.assert_allclose(np.asarray(g)[i], np.asarray(g_i), rtol=1e-12)


def test_jit_matches_eager():
    for fn in (fnp.linalg.eig, fnp.linalg.eigvals, lax.linalg.eig):
        eager, jitted = fn(_COMPLEX), funcgrad.jit(fn)(_COMPLEX)
        leaves = funcgrad.tree_util.tree_leaves
        for e, j in zip(leaves(eager), leaves(jitted)):
            assert e.dtype == j.dtype and e.shape == j.shape
            np.testing.assert_array_equal(np.asarray(e), np.asarray(j))
    grad_fn = funcgrad.grad(lambda x: fnp.sum(fnp.abs(_right(x)[1][0]) ** 2 + _right(x)[0].real))
    np.testing.assert_allclose(np.asarray(funcgrad.jit(grad_fn)(_REAL)), np.asarray(grad_fn(_REAL)),
                               rtol=1e-13)  # fmt: skip


@settings(deadline=None)
@given(st.integers(1, 5), st.integers(0, 2**32 - 1), st.booleans())
def test_eig_property_against_numpy(n, seed, complex_input):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n))
    if complex_input:
        a = a + 1j * rng.standard_normal((n, n))
    w, v = (np.asarray(o) for o in fnp.linalg.eig(a))
    np.testing.assert_allclose(w, np.linalg.eigvals(a), rtol=1e-10, atol=1e-12)
    scale = max(1.0, np.abs(a).max())
    np.testing.assert_allclose(a @ v, v * w, atol=1e-10 * scale)


# --- tensorinv and tensorsolve ---------------------------------------------------------------


@pytest.mark.parametrize(("shape", "ind"), [((6, 2, 3), 1), ((2, 3, 6), 2), ((2, 2, 4), 2),
                                            ((4, 4), 1), ((2, 3, 3, 2), 2)])  # fmt: skip
def test_tensorinv_matches_numpy(shape, ind):
    a = _RNG.standard_normal(shape)
    out = fnp.linalg.tensorinv(a, ind=ind)
    np.testing.assert_allclose(np.asarray(out), np.linalg.tensorinv(a, ind=ind), rtol=1e-10)
    check_grads(lambda x: fnp.linalg.tensorinv(x, ind=ind), (a,), order=1)


@pytest.mark.parametrize(("a_shape", "b_shape", "axes"), [((2, 3, 6), (2, 3), None),
                                                          ((6, 2, 3), (6,), None),
                                                          ((3, 2, 2, 3), (3, 2), (0, 2)),
                                                          ((2, 6, 3), (2, 3), (1,))])  # fmt: skip
def test_tensorsolve_matches_numpy(a_shape, b_shape, axes):
    a, b = _RNG.standard_normal(a_shape), _RNG.standard_normal(b_shape)
    out = fnp.linalg.tensorsolve(a, b, axes=axes)
    np.testing.assert_allclose(np.asarray(out), np.linalg.tensorsolve(a, b, axes=axes), rtol=1e-10)
    check_grads(lambda x, y: fnp.linalg.tensorsolve(x, y, axes=axes), (a, b), order=1)
    jitted = funcgrad.jit(lambda x, y: fnp.linalg.tensorsolve(x, y, axes=axes))(a, b)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(out), rtol=1e-14)


def test_tensorinv_and_tensorsolve_errors():
    with pytest.raises(ValueError, match=r"tensorinv: ind must be a positive integer, got ind=0"):
        fnp.linalg.tensorinv(np.ones((2, 2)), ind=0)
    with pytest.raises(np.linalg.LinAlgError, match=r"tensorinv: .*shape \(2, 3, 6\).*2 vs 18"):
        fnp.linalg.tensorinv(np.ones((2, 3, 6)), ind=1)
    with pytest.raises(np.linalg.LinAlgError, match=r"tensorsolve: a of shape \(2, 3, 5\)"):
        fnp.linalg.tensorsolve(np.ones((2, 3, 5)), np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"tensorsolve: b of shape \(2, 2\) must have .* = 6"):
        fnp.linalg.tensorsolve(np.ones((2, 3, 6)), np.ones((2, 2)))
    with pytest.raises(np.linalg.LinAlgError):
        fnp.linalg.tensorinv(np.zeros((2, 2, 4)))
