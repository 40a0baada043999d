"""stax.initializers: sample statistics against the formulas, orthogonality, the gain table."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funcgrad import random
from stax import initializers as init

KEY = random.key(0)


def _draw(initializer, shape, dtype=None):
    return np.asarray(initializer(KEY, shape) if dtype is None else initializer(KEY, shape, dtype))


def test_constant_initializers():
    assert _draw(init.zeros, (2, 3)).tolist() == [[0.0] * 3] * 2
    assert _draw(init.ones, (2,)).tolist() == [1.0, 1.0]
    assert _draw(init.constant(-0.5), (3,)).tolist() == [-0.5] * 3
    assert _draw(init.eye, (2, 3)).tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    assert init.identity is init.eye
    assert _draw(init.zeros, (2,), np.float32).dtype == np.float32
    assert _draw(init.normal(), (2,)).dtype == np.float64  # funcgrad's default float
    assert _draw(init.normal(), (2,), np.float32).dtype == np.float32
    assert init.glorot_normal(dtype=np.float32)(KEY, (3, 2)).dtype == np.float32


def test_normal_uniform_truncated_statistics():
    w = _draw(init.normal(0.5), (40000,))
    assert abs(w.mean()) < 0.01 and abs(w.std() - 0.5) < 0.01
    w = _draw(init.normal(2.0, mean=1.0), (40000,))
    assert abs(w.mean() - 1.0) < 0.05
    w = _draw(init.uniform(0.2), (40000,))  # JAX: U[0, scale)
    assert w.min() >= 0 and w.max() < 0.2 and abs(w.mean() - 0.1) < 0.002
    w = _draw(init.uniform(minval=-3.0, maxval=1.0), (40000,))
    assert w.min() >= -3 and w.max() < 1 and abs(w.mean() + 1) < 0.03
    w = _draw(init.truncated_normal(0.1), (20000,))
    assert np.abs(w).max() <= 0.2
    # a standard normal truncated at +-2 has standard deviation 0.8796
    assert abs(w.std() - 0.1 * 0.87962566) < 0.003


def test_compute_fans_by_hand():
    assert init.compute_fans((3, 5)) == (3.0, 5.0)
    assert init.compute_fans((3, 3, 16, 32)) == (144.0, 288.0)  # HWIO
    assert init.compute_fans((32, 16, 3, 3), in_axis=1, out_axis=0) == (144.0, 288.0)  # OIHW
    assert init.compute_fans((7, 4, 5), batch_axis=0) == (4.0, 5.0)
    with pytest.raises(ValueError, match="rank >= 2"):
        init.compute_fans((5,))


@settings(max_examples=12)
@given(
    mode=st.sampled_from(["fan_in", "fan_out", "fan_avg", "fan_geo_avg"]),
    distribution=st.sampled_from(["truncated_normal", "normal", "uniform"]),
    scale=st.sampled_from([0.5, 1.0, 2.0]),
)
def test_variance_scaling_variance(mode, distribution, scale):
    shape = (5, 5, 8, 40)  # fan_in 200, fan_out 1000
    fan = {"fan_in": 200, "fan_out": 1000, "fan_avg": 600, "fan_geo_avg": math.sqrt(200 * 1000)}[
        mode
    ]
    w = _draw(init.variance_scaling(scale, mode, distribution), shape)
    variance = scale / fan
    assert abs(w.var() / variance - 1) < 0.05
    assert abs(w.mean()) < 0.05 * math.sqrt(variance)
    if distribution == "uniform":
        assert np.abs(w).max() <= math.sqrt(3 * variance)
    if distribution == "truncated_normal":
        assert np.abs(w).max() <= 2 * math.sqrt(variance) / 0.87962566103423978


@pytest.mark.parametrize(
    "initializer,variance,bound",
    [
        (init.glorot_uniform(), 2 / (100 + 50), math.sqrt(6 / 150)),
        (init.glorot_normal(), 2 / 150, None),
        (init.xavier_uniform(gain=2.0), 4 * 2 / 150, 2 * math.sqrt(6 / 150)),
        (init.he_normal(), 2 / 100, None),
        (init.he_uniform(), 2 / 100, math.sqrt(6 / 100)),
        (
            init.kaiming_uniform(a=math.sqrt(5)),
            2 / 6 / 100,
            math.sqrt(6 / 6 / 100),
        ),  # PyTorch Linear
        (init.kaiming_normal(mode="fan_out", nonlinearity="relu"), 2 / 50, None),
        (init.kaiming_normal(nonlinearity="tanh"), (5 / 3) ** 2 / 100, None),
        (init.lecun_normal(), 1 / 100, None),
        (init.lecun_uniform(), 1 / 100, math.sqrt(3 / 100)),
    ],
)
def test_named_variance_scalings(initializer, variance, bound):
    w = _draw(initializer, (100, 50))
    samples = np.concatenate([w.ravel(), np.asarray(initializer(random.key(1), (100, 50))).ravel()])
    assert abs(samples.var() / variance - 1) < 0.06
    if bound is not None:
        assert np.abs(samples).max() <= bound and np.abs(samples).max() > 0.95 * bound


@pytest.mark.parametrize(
    "shape,column_axis", [((6, 4), -1), ((4, 6), -1), ((3, 3, 2, 5), -1), ((5, 3), 0)]
)
def test_orthogonal(shape, column_axis):
    w = _draw(init.orthogonal(scale=2.0, column_axis=column_axis), shape)
    assert w.shape == shape
    cols = np.moveaxis(w, column_axis, -1).reshape(-1, shape[column_axis])
    rows, ncols = cols.shape
    gram = cols.T @ cols if rows >= ncols else cols @ cols.T
    np.testing.assert_allclose(gram, 4.0 * np.eye(min(rows, ncols)), atol=1e-10)


def test_delta_orthogonal_is_orthogonal_at_the_centre():
    w = _draw(init.delta_orthogonal(), (3, 3, 4, 4)).copy()
    centre = w[1, 1]
    np.testing.assert_allclose(centre.T @ centre, np.eye(4), atol=1e-10)
    w[1, 1] = 0
    assert not w.any()


def test_sparse():
    w = _draw(init.sparse(0.3, stddev=0.5), (10, 2000))
    zeros_per_column = (w == 0).sum(axis=0)
    assert (zeros_per_column == math.ceil(0.3 * 10)).all()
    nonzero = w[w != 0]
    assert abs(nonzero.std() - 0.5) < 0.02
    with pytest.raises(ValueError, match="2-D"):
        init.sparse(0.1)(KEY, (2, 2, 2))


def test_calculate_gain_table():
    for name in ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose2d", "sigmoid", "identity"]:
        assert init.calculate_gain(name) == 1.0
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("selu") == 0.75
    assert init.calculate_gain("leaky_relu") == math.sqrt(2 / (1 + 0.01**2))
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    assert init.calculate_gain("leaky_relu", 0) == math.sqrt(2)
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a number"):
        init.calculate_gain("leaky_relu", True)


def test_bad_arguments():
    with pytest.raises(ValueError, match="mode must be one of"):
        init.variance_scaling(1.0, "fan_sum", "normal")
    with pytest.raises(ValueError, match="distribution must be one of"):
        init.variance_scaling(1.0, "fan_in", "laplace")
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_uniform(mode="fan_avg")
    with pytest.raises(ValueError, match="sparsity must be in"):
        init.sparse(1.5)
