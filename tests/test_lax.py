"""funcgrad.lax wrappers against NumPy, and their no-implicit-promotion errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from oracle import arrays, assert_same, dtypes, shapes

import funcgrad.numpy as fnp
from funcgrad import lax


@given(arrays(dtypes("f"), shapes(max_dims=3), min_value=0.5, max_value=4))
def test_elementwise_wrappers(x):
    fx = fnp.asarray(x)
    assert_same(lax.add(fx, fx), x + x)
    assert_same(lax.mul(fx, 2.0), x * x.dtype.type(2))
    assert_same(lax.rsqrt(fx), (1 / np.sqrt(x)).astype(x.dtype), rtol=1e-3)
    assert_same(lax.logistic(fx), (1 / (1 + np.exp(-x))).astype(x.dtype), rtol=1e-3)
    assert_same(lax.square(fx), x * x)
    assert_same(lax.clamp(1.0, fx, 2.0), np.clip(x, 1, 2))
    assert_same(lax.select(fx > 1, fx, fx * 0), np.where(x > 1, x, 0))


@pytest.mark.parametrize("n", [-3, -1, 0, 1, 2, 5, 8])
def test_integer_pow_against_power(n):
    x = np.linspace(0.5, 2.0, 7)
    assert_same(lax.integer_pow(fnp.asarray(x), n), x**n, rtol=1e-12)


@given(arrays(dtypes(), shapes(min_dims=1, max_dims=3, min_side=1)))
def test_structural_wrappers(x):
    fx = fnp.asarray(x)
    assert_same(lax.rev(fx, [0]), x[::-1])
    assert_same(lax.transpose(fx, tuple(reversed(range(x.ndim)))), x.T)
    assert_same(lax.reshape(fx, (x.size,)), x.reshape(-1))
    assert_same(lax.expand_dims(fx, [0, -1]), x[None, ..., None])
    assert_same(lax.squeeze(lax.expand_dims(fx, [0]), [0]), x)
    assert_same(lax.broadcast(fx, [2]), np.broadcast_to(x, (2, *x.shape)))
    assert_same(lax.slice_in_dim(fx, 0, None, 2, axis=-1), x[..., ::2])
    assert_same(lax.concatenate([fx, fx], 0), np.concatenate([x, x]))
    assert_same(lax.broadcasted_iota(np.int32, x.shape, x.ndim - 1), np.indices(x.shape)[-1].astype(np.int32))


@given(arrays(dtypes("iuf"), shapes(min_dims=1, max_dims=3, min_side=1), min_value=-5, max_value=5))
def test_reductions_sort_and_dot(x):
    fx = fnp.asarray(x)
    assert_same(lax.reduce_sum(fx, [0]), x.sum(0, dtype=x.dtype))
    assert_same(lax.reduce_max(fx, [-1]), x.max(-1))
    assert_same(lax.argmax(fx, -1, np.int32), x.argmax(-1).astype(np.int32))
    assert_same(lax.cumsum(fx, axis=-1, reverse=True), np.flip(np.cumsum(np.flip(x, -1), -1, dtype=x.dtype), -1))
    assert_same(lax.sort(fx), np.sort(x, axis=-1))
    m = x.reshape(x.shape[0], -1)
    assert_same(lax.dot(fnp.asarray(m), fnp.asarray(m.T)), np.einsum("ij,kj->ik", m, m).astype(x.dtype))


def test_lax_refuses_mixed_dtypes_and_bad_squeeze():
    with pytest.raises(TypeError, match="funcgrad.lax.add: operands must have one dtype"):
        lax.add(fnp.ones(2), fnp.ones(2, fnp.float32))
    with pytest.raises(ValueError, match=r"lax.add: operands must have one shape.*\(3, 1\), \(1, 4\)"):
        lax.add(fnp.ones((3, 1)), fnp.ones((1, 4)))
    with pytest.raises(ValueError, match="squeeze: axes"):
        lax.squeeze(fnp.ones((2, 1)), [0])
    with pytest.raises(TypeError, match="integer_pow: the exponent must be a Python int"):
        lax.integer_pow(fnp.ones(2), 2.5)
    with pytest.raises(ValueError, match=r"dot_general: cannot contract shapes \(2, 3\) and \(4, 5\)"):
        lax.dot_general(fnp.ones((2, 3)), fnp.ones((4, 5)), (((1,), (0,)), ((), ())))
