"""funcgrad.scipy.integrate.trapezoid, interpolate.RegularGridInterpolator and
cluster.vq.vq against SciPy and hand-computed values; gradients, jit and vmap; the
namespace registration."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.cluster.vq as svq
import scipy.integrate as sint
import scipy.interpolate as sinterp
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as fnp
import funcgrad.scipy
from funcgrad.scipy import cluster, integrate, interpolate
from funcgrad.test_util import check_grads

_RNG = np.random.default_rng(11)


def test_submodules_registered():
    for name in ("fft", "ndimage", "integrate", "interpolate", "cluster", "sparse", "spatial"):
        assert name in funcgrad.scipy.__all__ and hasattr(funcgrad.scipy, name)
    assert funcgrad.scipy.cluster.vq.vq is cluster.vq.vq
    assert callable(funcgrad.scipy.sparse.linalg.cg)
    assert funcgrad.scipy.spatial.transform.Rotation.__name__ == "Rotation"


# --- integrate ---------------------------------------------------------------------------


def test_trapezoid_hand_computed():
    y = np.asarray([1, 2, 3, 2, 3, 2, 1])
    assert float(integrate.trapezoid(y)) == 13.0
    assert float(integrate.trapezoid(y, np.asarray([0, 2, 5, 7, 10, 15, 20]))) == 43.0
    assert integrate.trapezoid(y).dtype.kind == "f"


@settings(max_examples=15)
@given(n=st.integers(2, 8), axis=st.sampled_from([0, 1, -1]), seed=st.integers(0, 999))
def test_trapezoid_against_scipy(n, axis, seed):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(n, n + 1))
    x = np.sort(rng.normal(size=y.shape[axis]))
    np.testing.assert_allclose(
        np.asarray(integrate.trapezoid(y, x, axis=axis)), sint.trapezoid(y, x, axis=axis)
    )
    np.testing.assert_allclose(
        np.asarray(integrate.trapezoid(y, dx=0.3, axis=axis)),
        sint.trapezoid(y, dx=0.3, axis=axis),
    )


def test_trapezoid_grads():
    check_grads(lambda y, x: integrate.trapezoid(y, x), (_RNG.normal(size=5), np.arange(5.0)), 2)


# --- interpolate -------------------------------------------------------------------------


def _grid():
    points = (np.sort(_RNG.uniform(0, 5, 4)), np.sort(_RNG.uniform(-1, 1, 5)))
    points[0][0], points[0][-1] = 0.0, 5.0
    points[1][0], points[1][-1] = -1.0, 1.0
    return points


@pytest.mark.parametrize("fill_value", [np.nan, None, 3.0])
@pytest.mark.parametrize("method", ["linear", "nearest"])
def test_interpolator_against_scipy(method, fill_value):
    points = _grid()
    values = _RNG.normal(size=(4, 5, 2))
    xi = np.stack([_RNG.uniform(-0.5, 5.5, 9), _RNG.uniform(-1.2, 1.2, 9)], -1)
    ours = interpolate.RegularGridInterpolator(points, values, method, fill_value=fill_value)
    theirs = sinterp.RegularGridInterpolator(
        points, values, method, bounds_error=False, fill_value=fill_value
    )
    np.testing.assert_allclose(np.asarray(ours(xi)), theirs(xi), rtol=1e-12, equal_nan=True)
    # the per-call method override and the tuple-of-coordinates form
    other = "nearest" if method == "linear" else "linear"
    np.testing.assert_allclose(
        np.asarray(ours((xi[:, 0], xi[:, 1]), method=other)),
        theirs((xi[:, 0], xi[:, 1]), method=other),
        rtol=1e-12,
        equal_nan=True,
    )


def test_interpolator_hand_computed():
    f = interpolate.RegularGridInterpolator(
        (np.asarray([1.0, 2.0, 3.0]), np.asarray([4.0, 5.0, 6.0])),
        np.asarray([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0], [70.0, 80.0, 90.0]]),
    )
    # bilinear: 10 + 30 (x - 1) + 10 (y - 4)
    np.testing.assert_allclose(np.asarray(f(np.asarray([[1.5, 4.5], [2.2, 5.8]]))), [30.0, 64.0])


def test_interpolator_pytree_jit_vmap_grad():
    points = _grid()
    values = _RNG.normal(size=(4, 5))
    f = interpolate.RegularGridInterpolator(points, values)
    xi = np.stack([_RNG.uniform(0.1, 4.9, 6), _RNG.uniform(-0.9, 0.9, 6)], -1)
    eager = f(xi)
    jitted = funcgrad.jit(lambda f, x: f(x))(f, xi)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(eager), rtol=1e-14)
    batched = funcgrad.vmap(lambda p: f(p[None])[0])(xi)
    np.testing.assert_allclose(np.asarray(batched), np.asarray(eager), rtol=1e-14)
    check_grads(lambda x: f(x), (xi,), order=1)
    # linear in the values: d sum(f(xi)) / d values sums to the number of points
    grad_values = funcgrad.grad(lambda g: g(xi).sum())(f).values
    np.testing.assert_allclose(float(np.sum(np.asarray(grad_values))), 6.0)


def test_interpolator_errors():
    points = (np.arange(3.0), np.arange(4.0))
    with pytest.raises(ValueError, match="method 'cubic' is not defined"):
        interpolate.RegularGridInterpolator(points, np.ones((3, 4)), method="cubic")
    with pytest.raises(NotImplementedError, match="bounds_error=True is not supported"):
        interpolate.RegularGridInterpolator(points, np.ones((3, 4)), bounds_error=True)
    with pytest.raises(ValueError, match=r"points\[1\] has 4 entries but values"):
        interpolate.RegularGridInterpolator(points, np.ones((3, 5)))
    f = interpolate.RegularGridInterpolator(points, np.ones((3, 4)))
    with pytest.raises(ValueError, match="have dimension 3, but the grid has 2"):
        f(np.ones((2, 3)))


# --- cluster.vq --------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(7,), (7, 3)])
def test_vq_against_scipy(shape):
    obs = _RNG.normal(size=shape)
    book = _RNG.normal(size=(4,) + shape[1:])
    code, dist = cluster.vq.vq(obs, book)
    want_code, want_dist = svq.vq(obs, book)
    np.testing.assert_array_equal(np.asarray(code), want_code)
    np.testing.assert_allclose(np.asarray(dist), want_dist, rtol=1e-12)


def test_vq_hand_computed_jit_vmap_grad():
    obs = fnp.asarray([[1.0, 2.0], [4.0, 6.0]])
    book = fnp.asarray([[1.0, 2.5], [4.0, 2.0], [4.0, 5.0]])
    code, dist = cluster.vq.vq(obs, book)
    assert code.tolist() == [0, 2] and dist.tolist() == [0.5, 1.0]
    jitted = funcgrad.jit(cluster.vq.vq)(obs, book)
    assert jitted[0].tolist() == [0, 2] and jitted[1].tolist() == [0.5, 1.0]
    batched = funcgrad.vmap(lambda o: cluster.vq.vq(o[None], book)[1][0])(obs)
    assert batched.tolist() == [0.5, 1.0]
    # d dist / d obs is the unit vector from the nearest code
    g = funcgrad.grad(lambda o: cluster.vq.vq(o, book)[1].sum())(obs)
    np.testing.assert_allclose(np.asarray(g), [[0.0, -1.0], [0.0, 1.0]])


def test_vq_errors():
    with pytest.raises(ValueError, match="same rank"):
        cluster.vq.vq(np.ones((2, 3)), np.ones(3))
    with pytest.raises(ValueError, match="features per row"):
        cluster.vq.vq(np.ones((2, 3)), np.ones((2, 2)))
