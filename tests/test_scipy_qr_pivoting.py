"""funcgrad.scipy.linalg.qr, pivoted and not, in every mode, against scipy.linalg.qr:
the permutation exactly, Q and R to rounding (both carry LAPACK's Householder signs), the
defining properties (``a[:, P] = Q R``, ``Q`` orthonormal, ``R`` upper triangular,
``|diag R|`` non-increasing), gradients by finite differences, eager == jit == vmap."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sl
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as fnp
from funcgrad.scipy import linalg
from funcgrad.test_util import check_grads

SHAPES = [(5, 3), (3, 5), (4, 4), (6, 1), (1, 4)]


def _matrix(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    # columns of very different norms, so the pivot order is far from the identity and
    # the greedy choice at every step is well separated from the runner-up
    return rng.normal(size=shape) * rng.permutation(np.geomspace(0.1, 30.0, shape[-1]))


def _expected_shapes(mode: str, m: int, n: int) -> list:
    k = min(m, n)
    return {"full": [(m, m), (m, n)], "economic": [(m, k), (k, n)], "r": [(m, n)]}[mode]


@pytest.mark.parametrize("mode", ["full", "economic", "r"])
@pytest.mark.parametrize("shape", SHAPES)
def test_pivoted_qr_matches_scipy(shape, mode):
    rng = np.random.default_rng([*shape, len(mode)])
    a = _matrix(rng, shape)
    ours = linalg.qr(a, mode=mode, pivoting=True)
    theirs = sl.qr(a, mode=mode, pivoting=True)
    assert len(ours) == len(theirs) == (2 if mode == "r" else 3)
    perm = np.asarray(ours[-1])
    assert ours[-1].dtype == np.int32 and perm.shape == (shape[1],)
    np.testing.assert_array_equal(perm, theirs[-1])
    for got, want, want_shape in zip(ours[:-1], theirs[:-1], _expected_shapes(mode, *shape)):
        assert got.shape == want_shape and got.dtype == np.float64
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("mode", ["full", "economic", "r"])
def test_unpivoted_qr_matches_scipy(mode):
    a = _matrix(np.random.default_rng(3), (5, 3))
    ours = linalg.qr(a, mode=mode)
    theirs = sl.qr(a, mode=mode)
    assert len(ours) == len(theirs)
    for got, want in zip(ours, theirs):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10, atol=1e-10)


@settings(deadline=None)
@given(
    m=st.integers(1, 5),
    n=st.integers(1, 5),
    seed=st.integers(0, 2**31 - 1),
)
def test_pivoted_qr_properties(m, n, seed):
    a = np.random.default_rng(seed).normal(size=(m, n))
    q, r, p = (np.asarray(v) for v in linalg.qr(a, pivoting=True, mode="economic"))
    assert sorted(p.tolist()) == list(range(n))
    np.testing.assert_allclose(q @ r, a[:, p], atol=1e-12)
    np.testing.assert_allclose(q.T @ q, np.eye(min(m, n)), atol=1e-12)
    np.testing.assert_array_equal(np.tril(r, -1), 0.0)
    d = np.abs(np.diagonal(r))
    assert np.all(d[1:] <= d[:-1] * (1 + 1e-12))
    # the first pivot is the column of largest norm (greedy), hand-checked from a
    norms = np.linalg.norm(a, axis=0)
    assert norms[p[0]] == norms.max()


def test_pivot_order_by_hand():
    # column norms 1, 3, 2: column 1 first; then, orthogonal to it, columns 2 (norm 2)
    # and 0 (norm 1)
    a = np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]])
    r, p = linalg.qr(a, mode="r", pivoting=True)
    assert p.tolist() == [1, 2, 0]
    np.testing.assert_allclose(np.abs(np.asarray(r)), [[3.0, 0.0, 0.0], [0.0, 2.0, 1.0]])
    # ties go to the first column, as LAPACK's idamax
    assert linalg.qr(np.eye(3), pivoting=True)[2].tolist() == [0, 1, 2]
    # an integer matrix is computed in float64, as SciPy
    q, r, p = linalg.qr(np.array([[0, 2], [1, 0]]), pivoting=True)
    assert q.dtype == r.dtype == np.float64 and p.tolist() == [1, 0]


def test_complex_pivoted_qr_matches_scipy():
    rng = np.random.default_rng(7)
    a = _matrix(rng, (4, 3)) + 1j * _matrix(rng, (4, 3))
    q, r, p = linalg.qr(a, pivoting=True)
    sq, sr, sp = sl.qr(a, pivoting=True)
    np.testing.assert_array_equal(np.asarray(p), sp)
    np.testing.assert_allclose(np.asarray(q), sq, atol=1e-10)
    np.testing.assert_allclose(np.asarray(r), sr, atol=1e-10)


@pytest.mark.parametrize(
    ("shape", "mode"),
    [((4, 3), "economic"), ((3, 3), "full"), ((3, 5), "full"), ((4, 2), "r"), ((2, 4), "r")],
)
def test_pivoted_qr_gradients(shape, mode):
    a = _matrix(np.random.default_rng(11), shape)

    def f(x):
        return linalg.qr(x, mode=mode, pivoting=True)[:-1]  # the permutation is constant

    check_grads(f, (a,), order=2, modes=("fwd", "rev"))


def test_full_mode_of_a_tall_matrix_has_no_derivative():
    a = _matrix(np.random.default_rng(12), (4, 2))
    with pytest.raises(NotImplementedError, match="reduced"):
        funcgrad.grad(lambda x: fnp.sum(linalg.qr(x, pivoting=True)[0]))(a)


_jitted = funcgrad.jit(lambda x: linalg.qr(x, mode="economic", pivoting=True))


def test_pivoted_qr_jit_and_vmap_equal_eager():
    rng = np.random.default_rng(5)
    stack = np.stack([_matrix(rng, (4, 3)) for _ in range(3)])
    eager = [linalg.qr(x, mode="economic", pivoting=True) for x in stack]
    mapped = funcgrad.vmap(_jitted)(stack)
    batched = linalg.qr(stack, mode="economic", pivoting=True)  # leading batch dimensions
    for i, (x, ref) in enumerate(zip(stack, eager)):
        for got in (_jitted(x), [v[i] for v in mapped], [v[i] for v in batched]):
            for g, e in zip(got, ref):
                assert g.shape == e.shape and g.dtype == e.dtype
                np.testing.assert_allclose(np.asarray(g), np.asarray(e), atol=1e-12)
        np.testing.assert_array_equal(np.asarray(ref[2]), sl.qr(x, pivoting=True)[2])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: linalg.qr(np.ones((3, 2)), mode="raw", pivoting=True), "mode must be"),
        (lambda: linalg.qr(np.ones(3), pivoting=True), r"qr: a must be a matrix.*\(3,\)"),
    ],
)
def test_bad_input_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
