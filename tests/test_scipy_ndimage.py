"""funcgrad.scipy.ndimage.map_coordinates against scipy.ndimage for both orders and every
mode (JAX's "constant"/"wrap" are SciPy's "grid-constant"/"grid-wrap"), integer input,
hand-computed values, gradients, jit and vmap."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as nd
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as fnp
from funcgrad.scipy.ndimage import map_coordinates
from funcgrad.test_util import check_grads

_RNG = np.random.default_rng(7)
_SCIPY_MODE = {
    "constant": "grid-constant", "nearest": "nearest", "wrap": "grid-wrap",
    "mirror": "mirror", "reflect": "reflect",
}  # fmt: skip


def _coords(shape, count, rng):
    # keep clear of half-integers, where order-0 rounding conventions differ
    coords = [rng.uniform(-3, s + 3, size=count) for s in shape]
    return [np.where(np.abs(c - np.round(c - 0.5) - 0.5) < 1e-3, c + 0.01, c) for c in coords]


@pytest.mark.parametrize("mode", sorted(_SCIPY_MODE))
@pytest.mark.parametrize("order", [0, 1])
@pytest.mark.parametrize("shape", [(6,), (4, 5), (3, 2, 4)])
def test_against_scipy(shape, order, mode):
    x = _RNG.normal(size=shape)
    coords = _coords(shape, 9, _RNG)
    got = map_coordinates(x, coords, order, mode=mode, cval=1.5)
    want = nd.map_coordinates(x, np.stack(coords), order=order, mode=_SCIPY_MODE[mode], cval=1.5)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12, atol=1e-12)


@settings(max_examples=15)
@given(
    size=st.integers(1, 6),
    mode=st.sampled_from(sorted(_SCIPY_MODE)),
    seed=st.integers(0, 2**16),
)
def test_property_1d(size, mode, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=size)
    coords = _coords((size,), 5, rng)
    got = map_coordinates(x, coords, 1, mode=mode)
    want = nd.map_coordinates(x, np.stack(coords), order=1, mode=_SCIPY_MODE[mode])
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12, atol=1e-12)


def test_hand_computed():
    image = np.arange(12.0).reshape(3, 4)
    got = map_coordinates(image, [np.asarray([0.5, 1.5]), np.asarray([1.5, 2.5])], order=1)
    # (0.5, 1.5): mean of image[0:2, 1:3] = (1 + 2 + 5 + 6) / 4
    np.testing.assert_allclose(np.asarray(got), [3.5, 8.5])
    nearest = map_coordinates(image, [np.asarray([2.4]), np.asarray([-0.4])], order=0)
    assert nearest.tolist() == [8.0]


def test_integer_input_rounds_and_keeps_dtype():
    x = np.asarray([0, 10, 20], dtype=np.int32)
    got = map_coordinates(x, [np.asarray([0.26, 1.5])], order=1)
    assert got.dtype == np.int32
    assert got.tolist() == [3, 15]


def test_grads_in_input_and_coordinates():
    x = _RNG.normal(size=(4, 5))
    coords = [np.asarray([0.3, 2.7, 1.2]), np.asarray([1.4, 3.6, 0.1])]
    for mode in ("constant", "reflect"):
        check_grads(lambda x, c0, c1, m=mode: map_coordinates(x, [c0, c1], 1, mode=m),
                    (x, *coords), order=1)  # fmt: skip
    # linear in the input: the gradient of sum(out) is the sum of the bilinear weights
    weights = funcgrad.grad(lambda x: map_coordinates(x, coords, 1).sum())(x)
    np.testing.assert_allclose(float(np.sum(np.asarray(weights))), 3.0)


def test_jit_and_vmap_match_eager():
    x = _RNG.normal(size=(4, 5))
    coords = np.stack(_coords((4, 5), 6, _RNG))
    f = lambda x, c: map_coordinates(x, [c[0], c[1]], 1, mode="wrap")
    eager = f(x, coords)
    jitted = funcgrad.jit(f)(x, coords)
    np.testing.assert_array_equal(np.asarray(jitted), np.asarray(eager))
    assert jitted.dtype == eager.dtype
    stack = _RNG.normal(size=(3, 4, 5))
    batched = funcgrad.vmap(f, in_axes=(0, None))(stack, coords)
    loop = np.stack([np.asarray(f(s, coords)) for s in stack])
    np.testing.assert_allclose(np.asarray(batched), loop, rtol=1e-14)


def test_errors():
    x = fnp.ones((2, 3))
    with pytest.raises(ValueError, match="one array per axis"):
        map_coordinates(x, [np.zeros(2)], 1)
    with pytest.raises(NotImplementedError, match="mode 'grid-wrap' is not supported"):
        map_coordinates(x, [np.zeros(2), np.zeros(2)], 1, mode="grid-wrap")
    with pytest.raises(NotImplementedError, match="order must be 0 or 1"):
        map_coordinates(x, [np.zeros(2), np.zeros(2)], 3)
