"""funcgrad.numpy.linalg against NumPy, on well-conditioned random matrices.

Decompositions whose factors are defined only up to signs or phases (svd, qr, eigh)
are compared through invariants: reconstruction, orthonormality, equal singular
values / eigenvalues / |R| diagonals, and columns equal up to phase.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import check_against_numpy

import funcgrad
import funcgrad.numpy as fnp

LA_DTYPES = [np.float32, np.float64, np.complex64, np.complex128]


def tol(dtype):
    single = np.dtype(dtype) in (np.dtype(np.float32), np.dtype(np.complex64))
    return {"rtol": 1e-3, "atol": 1e-3} if single else {"rtol": 1e-6, "atol": 1e-8}


def close(actual, expected, dtype=None, **kw):
    expected = np.asarray(expected)
    actual = np.asarray(actual)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    opts = tol(dtype or expected.dtype)
    opts.update(kw)
    np.testing.assert_allclose(actual, expected, **opts)


def check(fnp_fn, np_fn, *args, dtype=None, **kwargs):
    dt = dtype or next(a.dtype for a in args if isinstance(a, np.ndarray))
    return check_against_numpy(fnp_fn, np_fn, *args, **tol(dt), **kwargs)


def _random(rng, shape, dtype):
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x


def _unitary(rng, batch, n, dtype):
    q, _ = np.linalg.qr(_random(rng, (*batch, n, n), dtype))
    return q


def well_conditioned(rng, batch, m, n, dtype, s_range=(1.0, 10.0)):
    """U diag(s) V^H with s in s_range: condition number at most 10."""
    k = min(m, n)
    u = _unitary(rng, batch, m, dtype)[..., :k]
    v = _unitary(rng, batch, n, dtype)[..., :k]
    s = rng.uniform(*s_range, size=(*batch, k))
    return ((u * s[..., None, :]) @ np.conj(np.swapaxes(v, -1, -2))).astype(dtype)


def hermitian(rng, batch, n, dtype, positive=True):
    q = _unitary(rng, batch, n, dtype)
    w = rng.uniform(1.0, 10.0, size=(*batch, n))
    if not positive:
        w = w * rng.choice([-1.0, 1.0], size=w.shape)
    a = (q * w[..., None, :]) @ np.conj(np.swapaxes(q, -1, -2))
    a = (a + np.conj(np.swapaxes(a, -1, -2))) / 2
    return a.astype(dtype)


batches = st.sampled_from([(), (2,), (3, 1), (2, 2)])
sizes = st.integers(1, 5)
la_dtypes = st.sampled_from(LA_DTYPES)
seeds = st.integers(0, 2**32 - 1)


def mT(x):
    return np.conj(np.swapaxes(np.asarray(x), -1, -2))


# --- solve, inv, det, slogdet ---------------------------------------------------------------


@given(batches, sizes, la_dtypes, seeds, st.integers(0, 3))
def test_solve_matrix_rhs(batch, n, dtype, seed, k):
    rng = np.random.default_rng(seed)
    a = well_conditioned(rng, batch, n, n, dtype)
    b = _random(rng, (*batch[1:], n, k), dtype).astype(dtype)  # b broadcasts over a's batch
    check(fnp.linalg.solve, np.linalg.solve, a, b)


@given(batches, sizes, la_dtypes, seeds)
def test_solve_vector_rhs(batch, n, dtype, seed):
    rng = np.random.default_rng(seed)
    a = well_conditioned(rng, batch, n, n, dtype)
    b = _random(rng, (n,), dtype).astype(dtype)
    check(fnp.linalg.solve, np.linalg.solve, a, b)


def test_solve_integer_and_mixed_dtypes():
    a = np.array([[4, 1], [2, 3]], dtype=np.int32)
    b = np.array([1, 2], dtype=np.int8)
    out = check(fnp.linalg.solve, np.linalg.solve, a, b, dtype=np.float64)
    assert out.dtype == np.float64
    check(fnp.linalg.solve, np.linalg.solve, a.astype(np.float32), b, dtype=np.float64)
    check(fnp.linalg.solve, np.linalg.solve, a.astype(np.float32), b.astype(np.complex64))


def test_solve_errors():
    with pytest.raises(
        ValueError,
        match=r"funcgrad.numpy.linalg.solve: a of shape \(3, 3\) and b of shape \(4,\) are incompatible",
    ):
        fnp.linalg.solve(fnp.ones((3, 3)), fnp.ones(4))
    with pytest.raises(
        ValueError,
        match=r"funcgrad.numpy.linalg.solve: a of shape \(3, 3\) and b of shape \(2, 3\)",
    ):
        fnp.linalg.solve(fnp.ones((3, 3)), fnp.ones((2, 3)))
    with pytest.raises(ValueError, match="funcgrad.numpy.linalg.solve: the batch dimensions"):
        fnp.linalg.solve(fnp.ones((2, 3, 3)), fnp.ones((4, 3, 1)))
    with pytest.raises(
        fnp.linalg.LinAlgError,
        match=r"funcgrad.numpy.linalg.solve: the last 2 dimensions .* square, got shape \(3, 4\)",
    ):
        fnp.linalg.solve(fnp.ones((3, 4)), fnp.ones(3))
    with pytest.raises(
        TypeError, match="funcgrad.numpy.linalg.solve: array type float16 is unsupported"
    ):
        fnp.linalg.solve(fnp.ones((2, 2), fnp.float16), fnp.ones(2))


def test_singular_matrix_raises_numpy_linalgerror():
    assert fnp.linalg.LinAlgError is np.linalg.LinAlgError
    singular = fnp.asarray([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(np.linalg.LinAlgError):
        fnp.linalg.solve(singular, fnp.ones(2))
    with pytest.raises(np.linalg.LinAlgError):
        fnp.linalg.inv(singular)


@given(batches, st.integers(0, 5), la_dtypes, seeds)
def test_inv(batch, n, dtype, seed):
    rng = np.random.default_rng(seed)
    a = well_conditioned(rng, batch, n, n, dtype)
    check(fnp.linalg.inv, np.linalg.inv, a)


def test_inv_of_integers_and_errors():
    check(fnp.linalg.inv, np.linalg.inv, np.array([[2, 1], [1, 1]]))
    with pytest.raises(
        fnp.linalg.LinAlgError,
        match=r"funcgrad.numpy.linalg.inv: 1-dimensional array given \(shape \(3,\)\)",
    ):
        fnp.linalg.inv(fnp.ones(3))
    with pytest.raises(ValueError, match="funcgrad.numpy.linalg.inv: the last 2 dimensions"):
        fnp.linalg.inv(fnp.ones((2, 3)))


@given(batches, st.integers(0, 5), la_dtypes, seeds)
def test_det_slogdet(batch, n, dtype, seed):
    rng = np.random.default_rng(seed)
    a = well_conditioned(rng, batch, n, n, dtype)
    check(fnp.linalg.det, np.linalg.det, a)
    out = check(fnp.linalg.slogdet, np.linalg.slogdet, a)
    assert isinstance(out, fnp.linalg.SlogdetResult)
    assert out.sign is out[0] and out.logabsdet is out[1]


def test_det_integers():
    a = np.array([[[2, 1], [1, 3]], [[0, 1], [1, 0]]], dtype=np.int8)
    check(fnp.linalg.det, np.linalg.det, a, dtype=np.float64)
    check(fnp.linalg.slogdet, np.linalg.slogdet, a, dtype=np.float64)


@given(
    batches,
    sizes,
    st.sampled_from([np.float64, np.complex128, np.int64]),
    seeds,
    st.integers(-4, 6),
)
def test_matrix_power(batch, n, dtype, seed, power):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "i":
        # strictly diagonally dominant, hence invertible
        a = (
            rng.integers(-2, 3, size=(*batch, n, n)) + (2 * n + 1) * np.eye(n, dtype=np.int64)
        ).astype(dtype)
    else:
        a = well_conditioned(rng, batch, n, n, dtype, s_range=(0.8, 1.25))
    scale = max(1.0, float(np.abs(np.linalg.matrix_power(a, power)).max()))
    check_against_numpy(
        lambda x: fnp.linalg.matrix_power(x, power),
        lambda x: np.linalg.matrix_power(x, power),
        a,
        rtol=1e-6,
        atol=1e-9 * scale,
    )


def test_matrix_power_dtypes_and_errors():
    a = np.array([[1, 1], [0, 1]], dtype=np.int8)
    check(lambda x: fnp.linalg.matrix_power(x, 0), lambda x: np.linalg.matrix_power(x, 0), a)
    check(lambda x: fnp.linalg.matrix_power(x, 3), lambda x: np.linalg.matrix_power(x, 3), a)
    b = np.array([[True, False], [True, True]])
    check(lambda x: fnp.linalg.matrix_power(x, 3), lambda x: np.linalg.matrix_power(x, 3), b)
    with pytest.raises(
        TypeError, match="funcgrad.numpy.linalg.matrix_power: exponent must be an integer"
    ):
        fnp.linalg.matrix_power(fnp.ones((2, 2)), 1.5)
    with pytest.raises(
        ValueError, match=r"funcgrad.numpy.linalg.matrix_power: .*got shape \(2, 3\)"
    ):
        fnp.linalg.matrix_power(fnp.ones((2, 3)), 2)


# --- decompositions ---------------------------------------------------------------------


@given(batches, sizes, la_dtypes, seeds, st.booleans())
def test_cholesky(batch, n, dtype, seed, upper):
    rng = np.random.default_rng(seed)
    a = hermitian(rng, batch, n, dtype)
    check(
        lambda x: fnp.linalg.cholesky(x, upper=upper),
        lambda x: np.linalg.cholesky(x, upper=upper),
        a,
    )


def test_cholesky_not_positive_definite():
    with pytest.raises(np.linalg.LinAlgError):
        fnp.linalg.cholesky(fnp.asarray([[1.0, 2.0], [2.0, 1.0]]))
    check(fnp.linalg.cholesky, np.linalg.cholesky, np.array([[4, 2], [2, 3]]), dtype=np.float64)


@given(batches, sizes, sizes, la_dtypes, seeds, st.sampled_from(["reduced", "complete", "r"]))
def test_qr(batch, m, n, dtype, seed, mode):
    rng = np.random.default_rng(seed)
    a = well_conditioned(rng, batch, m, n, dtype)
    expected = np.linalg.qr(a, mode=mode)
    out = fnp.linalg.qr(fnp.asarray(a), mode=mode)
    if mode == "r":
        close(
            np.abs(np.diagonal(out, axis1=-2, axis2=-1)),
            np.abs(np.diagonal(expected, axis1=-2, axis2=-1)),
            dtype,
        )
        return
    assert isinstance(out, fnp.linalg.QRResult)
    q, r = np.asarray(out.Q), np.asarray(out.R)
    assert q.shape == expected.Q.shape and r.shape == expected.R.shape
    assert q.dtype == expected.Q.dtype and r.dtype == expected.R.dtype
    close(q @ r if mode == "reduced" else q[..., :, : min(m, n)] @ r[..., : min(m, n), :], a, dtype)
    close(mT(q) @ q, np.broadcast_to(np.eye(q.shape[-1]), q.shape[:-2] + (q.shape[-1],) * 2), dtype)
    close(np.tril(r, -1), np.zeros_like(r), dtype)
    close(
        np.abs(np.diagonal(r, axis1=-2, axis2=-1)),
        np.abs(np.diagonal(expected.R, axis1=-2, axis2=-1)),
        dtype,
    )


def test_qr_errors():
    with pytest.raises(ValueError, match="funcgrad.numpy.linalg.qr: mode must be"):
        fnp.linalg.qr(fnp.ones((2, 2)), mode="raw")
    with pytest.raises(ValueError, match="funcgrad.numpy.linalg.qr: 1-dimensional array given"):
        fnp.linalg.qr(fnp.ones(2))


@given(batches, sizes, sizes, la_dtypes, seeds, st.booleans())
def test_svd(batch, m, n, dtype, seed, full_matrices):
    rng = np.random.default_rng(seed)
    a = well_conditioned(rng, batch, m, n, dtype)
    expected = np.linalg.svd(a, full_matrices=full_matrices)
    out = fnp.linalg.svd(fnp.asarray(a), full_matrices=full_matrices)
    assert isinstance(out, fnp.linalg.SVDResult)
    u, s, vh = (np.asarray(x) for x in out)
    for got, exp in zip((u, s, vh), expected):
        assert (got.shape, got.dtype) == (exp.shape, exp.dtype)
    close(s, expected.S, dtype)
    k = min(m, n)
    close((u[..., :, :k] * s[..., None, :]) @ vh[..., :k, :], a, dtype)
    close(mT(u) @ u, np.broadcast_to(np.eye(u.shape[-1]), u.shape[:-2] + (u.shape[-1],) * 2), dtype)
    close(
        vh @ mT(vh),
        np.broadcast_to(np.eye(vh.shape[-2]), vh.shape[:-2] + (vh.shape[-2],) * 2),
        dtype,
    )
    check(
        lambda x: fnp.linalg.svd(x, compute_uv=False),
        lambda x: np.linalg.svd(x, compute_uv=False),
        a,
    )
    check(fnp.linalg.svdvals, np.linalg.svdvals, a)


def test_svd_hermitian_flag_and_integers():
    a = np.array([[2, 1], [1, 2]])
    check(
        lambda x: fnp.linalg.svd(x, compute_uv=False, hermitian=True),
        lambda x: np.linalg.svd(x, compute_uv=False, hermitian=True),
        a,
        dtype=np.float64,
    )
    u, s, vh = fnp.linalg.svd(a, hermitian=True)
    close(np.asarray(u) * np.asarray(s) @ np.asarray(vh), a, np.float64)


@given(batches, sizes, la_dtypes, seeds, st.sampled_from(["L", "U"]))
def test_eigh(batch, n, dtype, seed, uplo):
    rng = np.random.default_rng(seed)
    a = hermitian(rng, batch, n, dtype, positive=False)
    expected = np.linalg.eigh(a, UPLO=uplo)
    out = fnp.linalg.eigh(fnp.asarray(a), UPLO=uplo)
    assert isinstance(out, fnp.linalg.EighResult)
    w, v = np.asarray(out.eigenvalues), np.asarray(out.eigenvectors)
    assert (w.dtype, v.dtype) == (expected.eigenvalues.dtype, expected.eigenvectors.dtype)
    close(w, expected.eigenvalues, dtype)
    scale = float(np.abs(a).max()) if a.size else 1.0
    close(a @ v, v * w[..., None, :], dtype, atol=tol(dtype)["atol"] * 10 * scale)
    # Eigenvectors agree with NumPy's up to a phase per column (eigenvalues are
    # distinct with probability 1).
    close(np.abs(mT(expected.eigenvectors) @ v).sum(-1), np.ones(w.shape), dtype, atol=1e-2)
    check(
        lambda x: fnp.linalg.eigvalsh(x, UPLO=uplo), lambda x: np.linalg.eigvalsh(x, UPLO=uplo), a
    )


def test_eigh_errors():
    with pytest.raises(ValueError, match="funcgrad.numpy.linalg.eigh: UPLO must be 'L' or 'U'"):
        fnp.linalg.eigh(fnp.ones((2, 2)), UPLO="X")
    with pytest.raises(ValueError, match="funcgrad.numpy.linalg.eigvalsh: the last 2 dimensions"):
        fnp.linalg.eigvalsh(fnp.ones((2, 3)))


# --- pinv, matrix_rank, lstsq, cond ---------------------------------------------------------


@given(batches, st.integers(0, 5), sizes, la_dtypes, seeds)
def test_pinv(batch, m, n, dtype, seed):
    rng = np.random.default_rng(seed)
    a = well_conditioned(rng, batch, m, n, dtype)
    check(fnp.linalg.pinv, np.linalg.pinv, a)
    check(lambda x: fnp.linalg.pinv(x, rtol=None), lambda x: np.linalg.pinv(x, rtol=None), a)


def test_pinv_cutoffs():
    a = np.diag([1.0, 1e-16, 0.3])
    check(fnp.linalg.pinv, np.linalg.pinv, a)
    check(lambda x: fnp.linalg.pinv(x, rcond=0.5), lambda x: np.linalg.pinv(x, rcond=0.5), a)
    stack = np.stack([a, 2 * a])
    rc = np.array([0.2, 0.4])
    check(lambda x: fnp.linalg.pinv(x, rcond=rc), lambda x: np.linalg.pinv(x, rcond=rc), stack)
    with pytest.raises(ValueError, match="funcgrad.numpy.linalg.pinv: pass rcond or rtol"):
        fnp.linalg.pinv(fnp.ones((2, 2)), rcond=0.1, rtol=0.1)


@given(
    batches,
    sizes,
    sizes,
    st.integers(0, 5),
    seeds,
    st.sampled_from([np.float32, np.float64, np.complex128]),
)
def test_matrix_rank(batch, m, n, r, seed, dtype):
    rng = np.random.default_rng(seed)
    r = min(r, m, n)
    a = (_random(rng, (*batch, m, r), dtype) @ _random(rng, (*batch, r, n), dtype)).astype(dtype)
    out = check_against_numpy(fnp.linalg.matrix_rank, np.linalg.matrix_rank, a)
    assert np.all(np.asarray(out) == r)
    check_against_numpy(
        lambda x: fnp.linalg.matrix_rank(x, tol=0.5), lambda x: np.linalg.matrix_rank(x, tol=0.5), a
    )


def test_matrix_rank_vectors_and_rtol():
    check_against_numpy(fnp.linalg.matrix_rank, np.linalg.matrix_rank, np.zeros(3))
    check_against_numpy(fnp.linalg.matrix_rank, np.linalg.matrix_rank, np.array([0.0, 1.0]))
    a = np.diag([1.0, 0.1, 0.001])
    check_against_numpy(
        lambda x: fnp.linalg.matrix_rank(x, rtol=0.01),
        lambda x: np.linalg.matrix_rank(x, rtol=0.01),
        a,
    )


def test_matrix_rank_is_traceable():
    out = funcgrad.eval_shape(fnp.linalg.matrix_rank, fnp.ones((4, 3, 2)))
    assert (out.shape, out.dtype) == ((4,), np.int64)


@given(
    st.integers(1, 6),
    st.integers(1, 6),
    st.sampled_from([0, 1, 3]),
    seeds,
    st.sampled_from([np.float64, np.float32, np.complex128]),
)
def test_lstsq_full_rank(m, n, k, seed, dtype):
    rng = np.random.default_rng(seed)
    a = well_conditioned(rng, (), m, n, dtype)
    b = (_random(rng, (m, k), dtype) if k else _random(rng, (m,), dtype)).astype(dtype)
    check(fnp.linalg.lstsq, np.linalg.lstsq, a, b, check_abstract=True)


def test_lstsq_rank_deficient_has_empty_residuals():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((6, 2)) @ rng.standard_normal((2, 3))
    b = rng.standard_normal((6, 2))
    _, res, rank, _ = check_against_numpy(
        fnp.linalg.lstsq, np.linalg.lstsq, a, b, rtol=1e-6, atol=1e-8, check_abstract=False
    )
    assert res.shape == (0,) and rank.item() == 2
    # (check_abstract=False: under tracing the rank is unknown, so residuals keep shape (K,).)
    check(
        lambda u, v: fnp.linalg.lstsq(u, v, rcond=0.5),
        lambda u, v: np.linalg.lstsq(u, v, rcond=0.5),
        a,
        b,
        check_abstract=False,
    )


def test_lstsq_traced_residuals_and_errors():
    out = funcgrad.eval_shape(fnp.linalg.lstsq, fnp.ones((5, 2)), fnp.ones(5))
    assert [o.shape for o in out] == [(2,), (1,), (), (2,)]
    with pytest.raises(ValueError, match=r"funcgrad.numpy.linalg.lstsq: a must be 2-dimensional"):
        fnp.linalg.lstsq(fnp.ones((2, 2, 2)), fnp.ones(2))
    with pytest.raises(
        ValueError, match=r"funcgrad.numpy.linalg.lstsq: a of shape \(3, 2\) and b of shape \(2,\)"
    ):
        fnp.linalg.lstsq(fnp.ones((3, 2)), fnp.ones(2))


@given(batches, sizes, st.sampled_from([None, 2, -2, 1, -1, np.inf, -np.inf, "fro", "nuc"]), seeds)
def test_cond(batch, n, p, seed):
    rng = np.random.default_rng(seed)
    a = well_conditioned(rng, batch, n, n, np.float64)
    check(lambda x: fnp.linalg.cond(x, p), lambda x: np.linalg.cond(x, p), a)


# --- norms ---------------------------------------------------------------------------------

VECTOR_ORDS = [None, 2, 1, np.inf, -np.inf, 0, 3, 0.5, -1, -2]
MATRIX_ORDS = [None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]


@st.composite
def norm_inputs(draw, min_dims=1):
    ndim = draw(st.integers(min_dims, 3))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
    dtype = draw(st.sampled_from([np.float32, np.float64, np.complex128, np.int32, np.float16]))
    seed = draw(seeds)
    rng = np.random.default_rng(seed)
    x = _random(rng, shape, dtype) * 3
    if np.dtype(dtype).kind in "iu":
        x = np.round(x)
    return x.astype(dtype)


def _norm_tol(x):
    return {"rtol": 2e-3, "atol": 2e-3} if x.dtype == np.float16 else tol(x.dtype)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # negative ords meet zeros
@given(st.data(), norm_inputs(), st.sampled_from(VECTOR_ORDS), st.booleans())
def test_norm_vector(data, x, ord, keepdims):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    check_against_numpy(
        lambda v: fnp.linalg.norm(v, ord, axis, keepdims),
        lambda v: np.linalg.norm(v, ord, axis, keepdims),
        x,
        **_norm_tol(x),
    )


@given(st.data(), norm_inputs(min_dims=2), st.sampled_from(MATRIX_ORDS), st.booleans())
def test_norm_matrix(data, x, ord, keepdims):
    if x.dtype == np.float16 and ord in ("nuc", 2, -2):
        x = x.astype(np.float32)
    axes = data.draw(
        st.lists(
            st.integers(-x.ndim, x.ndim - 1), min_size=2, max_size=2, unique_by=lambda v: v % x.ndim
        )
    )
    axis = tuple(axes)
    check_against_numpy(
        lambda v: fnp.linalg.norm(v, ord, axis, keepdims),
        lambda v: np.linalg.norm(v, ord, axis, keepdims),
        x,
        **_norm_tol(x),
    )


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # negative ords meet zeros
@given(norm_inputs(), st.booleans())
def test_norm_default_axis(x, keepdims):
    check_against_numpy(
        lambda v: fnp.linalg.norm(v, keepdims=keepdims),
        lambda v: np.linalg.norm(v, keepdims=keepdims),
        x,
        **_norm_tol(x),
    )
    ords = VECTOR_ORDS if x.ndim == 1 else MATRIX_ORDS if x.ndim == 2 else []
    if x.dtype == np.float16:
        ords = [o for o in ords if o not in ("nuc", 2, -2) or x.ndim == 1]
    for ord in ords:
        check_against_numpy(
            lambda v, o=ord: fnp.linalg.norm(v, o),
            lambda v, o=ord: np.linalg.norm(v, o),
            x,
            **_norm_tol(x),
        )


def test_norm_errors():
    with pytest.raises(
        ValueError, match="funcgrad.numpy.linalg.norm: invalid norm order 'fro' for vectors"
    ):
        fnp.linalg.norm(fnp.ones(3), "fro")
    with pytest.raises(
        ValueError, match="funcgrad.numpy.linalg.norm: invalid norm order 3 for matrices"
    ):
        fnp.linalg.norm(fnp.ones((2, 2)), 3)
    with pytest.raises(ValueError, match="funcgrad.numpy.linalg.norm: ord=1 needs axis="):
        fnp.linalg.norm(fnp.ones((2, 2, 2)), 1)
    with pytest.raises(ValueError, match="funcgrad.numpy.linalg.norm: duplicate axes"):
        fnp.linalg.norm(fnp.ones((2, 2)), axis=(0, -2))
    with pytest.raises(ValueError, match="funcgrad.numpy.linalg.norm: axis=3 is out of bounds"):
        fnp.linalg.norm(fnp.ones((2, 2)), axis=3)


@given(st.data(), norm_inputs(), st.sampled_from([2, 1, np.inf, -np.inf, 0, 3]), st.booleans())
def test_vector_norm(data, x, ord, keepdims):
    axis = data.draw(
        st.one_of(
            st.none(),
            st.integers(-x.ndim, x.ndim - 1),
            st.lists(st.integers(0, x.ndim - 1), unique=True, min_size=1).map(tuple),
        )
    )
    check_against_numpy(
        lambda v: fnp.linalg.vector_norm(v, axis=axis, keepdims=keepdims, ord=ord),
        lambda v: np.linalg.vector_norm(v, axis=axis, keepdims=keepdims, ord=ord),
        x,
        **_norm_tol(x),
    )


@given(
    norm_inputs(min_dims=2),
    st.sampled_from(["fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]),
    st.booleans(),
)
def test_matrix_norm(x, ord, keepdims):
    if x.dtype == np.float16:
        x = x.astype(np.float32)
    check_against_numpy(
        lambda v: fnp.linalg.matrix_norm(v, keepdims=keepdims, ord=ord),
        lambda v: np.linalg.matrix_norm(v, keepdims=keepdims, ord=ord),
        x,
        **_norm_tol(x),
    )


# --- multi_dot and array-API helpers ---------------------------------------------------------


@settings(max_examples=20)
@given(st.lists(st.integers(1, 6), min_size=3, max_size=6), st.booleans(), st.booleans(), seeds)
def test_multi_dot(dims, first_1d, last_1d, seed):
    rng = np.random.default_rng(seed)
    mats = [rng.standard_normal((dims[i], dims[i + 1])) for i in range(len(dims) - 1)]
    if first_1d:
        mats[0] = mats[0][0]
    if last_1d:
        mats[-1] = mats[-1][:, 0]
    check(lambda *a: fnp.linalg.multi_dot(list(a)), lambda *a: np.linalg.multi_dot(list(a)), *mats)


def test_multi_dot_order_and_errors():
    from funcgrad._src.numpy.linalg import _chain_order

    # (10x100)(100x5)(5x50): ((AB)C) costs 7500, (A(BC)) 75000.
    assert _chain_order([10, 100, 5, 50])[0][2] == 1
    check(
        lambda a, b: fnp.linalg.multi_dot([a, b]),
        lambda a, b: np.linalg.multi_dot([a, b]),
        np.ones((2, 3)),
        np.ones(3),
    )
    with pytest.raises(ValueError, match="funcgrad.numpy.linalg.multi_dot: expecting at least two"):
        fnp.linalg.multi_dot([fnp.ones((2, 2))])
    with pytest.raises(
        ValueError, match=r"funcgrad.numpy.linalg.multi_dot: arrays 1 and 2 are not aligned"
    ):
        fnp.linalg.multi_dot([fnp.ones((2, 3)), fnp.ones((3, 4)), fnp.ones((5, 2))])
    with pytest.raises(
        ValueError, match=r"funcgrad.numpy.linalg.multi_dot: array 1 has shape \(3,\)"
    ):
        fnp.linalg.multi_dot([fnp.ones((2, 3)), fnp.ones(3), fnp.ones((3, 2))])


def test_array_api_helpers():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4))
    check(fnp.linalg.matrix_transpose, np.linalg.matrix_transpose, x)
    for offset in (-2, 0, 1, 5):
        check(
            lambda v, k=offset: fnp.linalg.diagonal(v, offset=k),
            lambda v, k=offset: np.linalg.diagonal(v, offset=k),
            x,
        )
        check(
            lambda v, k=offset: fnp.linalg.trace(v, offset=k),
            lambda v, k=offset: np.linalg.trace(v, offset=k),
            x,
        )
    ints = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    check_against_numpy(fnp.linalg.trace, np.linalg.trace, ints)
    check_against_numpy(
        lambda v: fnp.linalg.trace(v, dtype=np.int8),
        lambda v: np.linalg.trace(v, dtype=np.int8),
        ints,
    )
    check_against_numpy(fnp.linalg.outer, np.linalg.outer, np.arange(3), np.arange(4.0))
    check_against_numpy(
        fnp.linalg.cross, np.linalg.cross, rng.standard_normal((4, 3)), rng.standard_normal(3)
    )
    check_against_numpy(
        lambda a, b: fnp.linalg.cross(a, b, axis=0),
        lambda a, b: np.linalg.cross(a, b, axis=0),
        rng.standard_normal((3, 2)),
        rng.standard_normal((3, 2)),
    )
    check_against_numpy(fnp.linalg.matmul, np.linalg.matmul, x, rng.standard_normal((4, 2)))
    check_against_numpy(
        fnp.linalg.tensordot, np.linalg.tensordot, x, rng.standard_normal((3, 4, 2))
    )
    with pytest.raises(ValueError, match="funcgrad.numpy.linalg.outer: x1 and x2 must be 1-D"):
        fnp.linalg.outer(fnp.ones((2, 2)), fnp.ones(2))
    with pytest.raises(
        ValueError, match=r"funcgrad.numpy.linalg.cross: x1 \(shape \(2,\)\) must have 3 elements"
    ):
        fnp.linalg.cross(fnp.ones(2), fnp.ones(3))
    for fn in (fnp.linalg.diagonal, fnp.linalg.trace, fnp.linalg.matrix_transpose):
        with pytest.raises(
            ValueError, match=f"funcgrad.numpy.linalg.{fn.__name__}: x must have at least 2"
        ):
            fn(fnp.ones(3))


def test_decompositions_under_eval_shape():
    x = funcgrad.ShapeDtypeStruct((3, 4, 4), np.float32)
    assert funcgrad.eval_shape(fnp.linalg.inv, x).shape == (3, 4, 4)
    u, s, vh = funcgrad.eval_shape(lambda a: fnp.linalg.svd(a, full_matrices=False), x)
    assert (u.shape, s.shape, vh.shape) == ((3, 4, 4), (3, 4), (3, 4, 4))
    assert funcgrad.eval_shape(
        fnp.linalg.pinv, funcgrad.ShapeDtypeStruct((5, 2), np.float64)
    ).shape == (2, 5)
    assert funcgrad.eval_shape(lambda a: fnp.linalg.matrix_power(a, -3), x).dtype == np.float32
    assert funcgrad.eval_shape(lambda a: fnp.linalg.norm(a, 2, axis=(1, 2)), x).shape == (3,)


@pytest.mark.parametrize(
    "name, fn",
    [
        ("inv", fnp.linalg.inv),
        ("solve", lambda a: fnp.linalg.solve(a, fnp.ones(3))),
        ("det", fnp.linalg.det),
        ("slogdet", lambda a: fnp.linalg.slogdet(a).logabsdet),
        ("pinv", fnp.linalg.pinv),
        ("norm_fro", fnp.linalg.norm),
        ("norm_nuc", lambda a: fnp.linalg.norm(a, "nuc")),
        ("norm_inf", lambda a: fnp.linalg.norm(a, np.inf)),
        ("vector_norm_3", lambda a: fnp.linalg.vector_norm(a, ord=3, axis=0)),
        ("matrix_power", lambda a: fnp.linalg.matrix_power(a, -2)),
        ("lstsq", lambda a: fnp.linalg.lstsq(a, fnp.ones(3))[0]),
    ],
)
def test_compositions_are_differentiable(name, fn):
    from funcgrad.test_util import check_grads

    a = well_conditioned(np.random.default_rng(0), (), 3, 3, np.float64)
    check_grads(fn, (fnp.asarray(a),), order=1)
