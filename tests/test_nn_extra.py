"""The remaining jax.nn functions and funcgrad.nn.initializers, against NumPy formulas,
SciPy's distributions and finite differences."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as ss

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import nn, random
from funcgrad.nn import initializers as init
from funcgrad.test_util import check_grads

_X = np.array([-3.0, -1.0, -0.5, 0.0, 0.3, 1.0, 2.5])


def test_values_against_numpy_formulas():
    np.testing.assert_array_equal(np.asarray(nn.identity(_X)), _X)
    np.testing.assert_allclose(np.asarray(nn.tanh(_X)), np.tanh(_X), rtol=1e-15)
    np.testing.assert_allclose(
        np.asarray(nn.squareplus(_X)), (_X + np.sqrt(_X**2 + 4)) / 2, rtol=1e-15
    )
    np.testing.assert_allclose(np.asarray(nn.squareplus(_X, b=1.0)), (_X + np.sqrt(_X**2 + 1)) / 2)
    expected_plus = np.where(_X <= -1, 0, np.where(_X < 1, (_X + 1) ** 2 / 4, _X))
    np.testing.assert_allclose(np.asarray(nn.sparse_plus(_X)), expected_plus, rtol=1e-15)
    expected_sig = np.where(_X <= -1, 0, np.where(_X < 1, (_X + 1) / 2, 1))
    np.testing.assert_allclose(np.asarray(nn.sparse_sigmoid(_X)), expected_sig, rtol=1e-15)


def test_sparse_sigmoid_is_the_derivative_of_sparse_plus():
    x = fnp.asarray([-2.0, -0.5, 0.0, 0.7, 3.0])
    grads = funcgrad.vmap(funcgrad.grad(nn.sparse_plus))(x)
    np.testing.assert_allclose(np.asarray(grads), np.asarray(nn.sparse_sigmoid(x)), rtol=1e-15)


def test_log1mexp_is_accurate_at_both_ends():
    x = np.array([1e-300, 1e-10, 0.5, np.log(2.0), 1.0, 40.0, 700.0])
    mpmath.mp.dps = 50
    # mpmath's expm1 and log1p keep every digit at both ends
    expected = [float(mpmath.log(-mpmath.expm1(-mpmath.mpf(v))) if v < 1
                      else mpmath.log1p(-mpmath.exp(-mpmath.mpf(v)))) for v in x]  # fmt: skip
    np.testing.assert_allclose(np.asarray(nn.log1mexp(fnp.asarray(x))), expected, rtol=1e-14)
    check_grads(nn.log1mexp, (fnp.asarray([1e-3, 0.5, 0.7, 5.0, 30.0]),), order=2, rtol=1e-4)


def test_logmeanexp_against_scipy():
    x = np.random.default_rng(0).normal(size=(3, 5)) * 50
    np.testing.assert_allclose(np.asarray(nn.logmeanexp(fnp.asarray(x), axis=1)),
                               sp.logsumexp(x, axis=1) - np.log(5), rtol=1e-14)  # fmt: skip
    mask = np.array([True, False, True, True, False])
    np.testing.assert_allclose(
        np.asarray(nn.logmeanexp(fnp.asarray(x), axis=1, where=fnp.asarray(mask))),
        sp.logsumexp(x[:, mask], axis=1) - np.log(3),
        rtol=1e-14,
    )
    assert nn.logmeanexp(fnp.asarray(x), keepdims=True).shape == (1, 1)
    check_grads(lambda v: nn.logmeanexp(v, axis=0), (fnp.asarray(x[:, :2]),), order=2)


def test_gradients():
    x = fnp.asarray([-2.0, -0.4, 0.3, 2.0])
    for fn in (nn.squareplus, nn.sparse_plus, nn.tanh, nn.identity):
        check_grads(fn, (x,), order=2)


# --- initializers --------------------------------------------------------------------

_KEY = random.key(11)


@pytest.mark.parametrize("name,scale,mode,dist", [
    ("glorot_uniform", 1.0, "fan_avg", "uniform"), ("glorot_normal", 1.0, "fan_avg", "truncated_normal"),
    ("lecun_uniform", 1.0, "fan_in", "uniform"), ("lecun_normal", 1.0, "fan_in", "truncated_normal"),
    ("he_uniform", 2.0, "fan_in", "uniform"), ("he_normal", 2.0, "fan_in", "truncated_normal"),
])  # fmt: skip
def test_variance_scaling_family_distributions(name, scale, mode, dist):
    shape = (3, 3, 40, 60)  # HWIO: fan_in = 9 * 40, fan_out = 9 * 60
    fan_in, fan_out = 9 * 40, 9 * 60
    n = {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2}[mode]
    std = math.sqrt(scale / n)
    w = np.asarray(getattr(init, name)()(_KEY, shape)).ravel()
    assert w.shape == (math.prod(shape),) and w.dtype == np.float64
    if dist == "uniform":
        reference = ss.uniform(-std * math.sqrt(3), 2 * std * math.sqrt(3))
    else:
        reference = ss.truncnorm(-2, 2, scale=std / 0.87962566103423978)
    assert ss.kstest(w, reference.cdf).pvalue > 1e-3
    np.testing.assert_allclose(w.std(), std, rtol=0.02)


def test_simple_initializers():
    assert np.asarray(init.zeros(_KEY, (2, 3))).tolist() == [[0.0] * 3] * 2
    assert init.ones(_KEY, (2,), np.float32).dtype == np.float32
    assert np.asarray(init.constant(-0.5)(_KEY, (2,))).tolist() == [-0.5, -0.5]
    w = np.asarray(init.uniform(0.5)(_KEY, (5000,)))
    assert ss.kstest(w, ss.uniform(0, 0.5).cdf).pvalue > 1e-3
    w = np.asarray(init.normal(0.3)(_KEY, (5000,)))
    assert ss.kstest(w, ss.norm(0, 0.3).cdf).pvalue > 1e-3
    w = np.asarray(init.truncated_normal(0.3, lower=-1.0, upper=1.5)(_KEY, (5000,)))
    assert ss.kstest(w, ss.truncnorm(-1.0, 1.5, scale=0.3).cdf).pvalue > 1e-3
    w = np.asarray(
        init.variance_scaling(3.0, "fan_out", "normal", in_axis=0, out_axis=1)(_KEY, (300, 200))
    )
    np.testing.assert_allclose(w.std(), math.sqrt(3.0 / 200), rtol=0.02)


def test_orthogonal_and_delta_orthogonal():
    for shape, axis in (((6, 4), -1), ((4, 6), -1), ((3, 2, 5), 1)):
        w = np.asarray(init.orthogonal(scale=2.0, column_axis=axis)(_KEY, shape))
        assert w.shape == shape
        m = np.moveaxis(w, axis, -1).reshape(-1, shape[axis]) / 2.0
        small = min(m.shape)
        gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
        np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)
    k = np.asarray(init.delta_orthogonal()(_KEY, (3, 5, 2, 4)))
    centre = k[1, 2]
    np.testing.assert_allclose(centre @ centre.T, np.eye(2), atol=1e-12)
    assert np.abs(k).sum() == pytest.approx(np.abs(centre).sum())


def test_initializer_errors_name_the_problem():
    with pytest.raises(
        ValueError, match=r"glorot_uniform|variance_scaling: needs a kernel with at least 2 axes"
    ):
        init.glorot_uniform()(_KEY, (5,))
    with pytest.raises(ValueError, match=r"mode must be 'fan_in', 'fan_out' or 'fan_avg'"):
        init.variance_scaling(1.0, "fan_sum", "normal")
    with pytest.raises(ValueError, match=r"delta_orthogonal: needs in_channels <= out_channels"):
        init.delta_orthogonal()(_KEY, (3, 3, 5, 2))


def test_initializers_under_jit_and_vmap():
    fn = init.he_normal()
    keys = random.split(_KEY, 3)
    eager = np.stack([np.asarray(fn(k, (4, 5))) for k in keys])
    np.testing.assert_array_equal(np.asarray(funcgrad.vmap(lambda k: fn(k, (4, 5)))(keys)), eager)
    np.testing.assert_array_equal(
        np.asarray(funcgrad.jit(lambda k: fn(k, (4, 5)))(keys[0])), eager[0]
    )
