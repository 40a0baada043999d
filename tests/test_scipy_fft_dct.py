"""funcgrad.scipy.fft (dct, idct, dctn, idctn) against scipy.fft for every type and norm,
padding/truncation, axes, complex and integer input; gradients, jit and vmap."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft as sf
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
from funcgrad.scipy import fft
from funcgrad.test_util import check_grads

_RNG = np.random.default_rng(18)
_TYPES = [1, 2, 3, 4]
_NORMS = [None, "backward", "ortho", "forward"]


@pytest.mark.parametrize("norm", _NORMS)
@pytest.mark.parametrize("dct_type", _TYPES)
@pytest.mark.parametrize("fname", ["dct", "idct"])
def test_1d_against_scipy(fname, dct_type, norm):
    x = _RNG.normal(size=(3, 5))
    ours, theirs = getattr(fft, fname), getattr(sf, fname)
    for n in (None, 3, 8):
        for axis in (0, 1, -1):
            got = ours(x, type=dct_type, n=n, axis=axis, norm=norm)
            want = theirs(x, type=dct_type, n=n, axis=axis, norm=norm)
            assert got.shape == want.shape
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("norm", [None, "ortho"])
@pytest.mark.parametrize("dct_type", _TYPES)
@pytest.mark.parametrize("fname", ["dctn", "idctn"])
def test_nd_against_scipy(fname, dct_type, norm):
    x = _RNG.normal(size=(3, 4, 5)) + 1j * _RNG.normal(size=(3, 4, 5))
    ours, theirs = getattr(fft, fname), getattr(sf, fname)
    for s, axes in [(None, None), ((4, 6), None), (None, (0, 2)), ((2, 3), (1, 0)), (None, -1)]:
        got = ours(x, type=dct_type, s=s, axes=axes, norm=norm)
        want = theirs(x, type=dct_type, s=s, axes=axes, norm=norm)
        assert got.dtype == np.complex128
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10, atol=1e-12)


def test_hand_computed_type2():
    # y_k = 2 sum_n x_n cos(pi k (2n+1) / (2N)) for x = [1, 2]: y_0 = 6, y_1 = 2 (cos(pi/4)
    # - 2 cos(pi/4)... ) = 2 (1 - 2) / sqrt(2)
    got = np.asarray(fft.dct(np.asarray([1.0, 2.0])))
    np.testing.assert_allclose(got, [6.0, -np.sqrt(2.0)], rtol=1e-12)


def test_dtypes():
    assert fft.dct(np.arange(4, dtype=np.float32)).dtype == np.float32
    assert fft.dct(np.arange(4)).dtype == np.float64
    assert fft.idct(np.arange(4, dtype=np.complex64)).dtype == np.complex64
    np.testing.assert_allclose(
        np.asarray(fft.dct(np.arange(5))), sf.dct(np.arange(5.0)), atol=1e-12
    )


@settings(max_examples=10)
@given(
    n=st.integers(2, 9),
    dct_type=st.sampled_from(_TYPES),
    norm=st.sampled_from(_NORMS),
)
def test_roundtrip_property(n, dct_type, norm):
    x = np.random.default_rng(n).normal(size=n)
    back = fft.idct(fft.dct(x, type=dct_type, norm=norm), type=dct_type, norm=norm)
    np.testing.assert_allclose(np.asarray(back), x, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("dct_type", _TYPES)
def test_ortho_is_orthogonal(dct_type):
    # the orthonormal transform's matrix times its transpose is the identity
    matrix = np.asarray(fft.dct(np.eye(6), type=dct_type, norm="ortho", axis=0))
    np.testing.assert_allclose(matrix @ matrix.T, np.eye(6), atol=1e-12)


@pytest.mark.parametrize("dct_type", _TYPES)
def test_grads(dct_type):
    x = _RNG.normal(size=(2, 5))
    check_grads(lambda x: fft.dct(x, type=dct_type, norm="ortho"), (x,), order=2)
    check_grads(lambda x: fft.idctn(x, type=dct_type, s=(3, 4)), (x,), order=1)


def test_vjp_is_transpose_of_matrix():
    # the DCT is linear: its vjp is the transposed matrix, built independently by SciPy
    matrix = sf.dct(np.eye(5), type=3, axis=0)
    ct = _RNG.normal(size=5)
    _, vjp = funcgrad.vjp(lambda x: fft.dct(x, type=3), np.zeros(5))
    np.testing.assert_allclose(np.asarray(vjp(ct)[0]), matrix.T @ ct, rtol=1e-10, atol=1e-12)


def test_jit_and_vmap_match_eager():
    x = _RNG.normal(size=(4, 6))
    eager = fft.dctn(x, type=2, norm="ortho")
    jitted = funcgrad.jit(lambda x: fft.dctn(x, type=2, norm="ortho"))(x)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(eager), rtol=1e-12)
    assert jitted.dtype == eager.dtype and jitted.shape == eager.shape
    batched = funcgrad.vmap(lambda r: fft.dct(r, type=4))(x)
    np.testing.assert_allclose(np.asarray(batched), sf.dct(x, type=4, axis=-1), rtol=1e-10)


def test_errors():
    with pytest.raises(ValueError, match="type must be 1, 2, 3 or 4"):
        fft.dct(np.ones(3), type=5)
    with pytest.raises(ValueError, match="norm must be one of"):
        fft.dct(np.ones(3), norm="bogus")
    with pytest.raises(ValueError, match="type-1 DCT needs at least 2 points"):
        fft.dct(np.ones(1), type=1)
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        fft.dct(np.ones((2, 2)), axis=2)
    with pytest.raises(ValueError, match="same length"):
        fft.dctn(np.ones((2, 2)), s=(2, 2), axes=(0,))
    with pytest.raises(ValueError, match="repeat an axis"):
        fft.dctn(np.ones((2, 2)), axes=(0, 0))
