"""funcgrad.random.gamma and beta: Kolmogorov-Smirnov tests against SciPy, vmap, jit, dtypes."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

import funcgrad
from funcgrad import random


@pytest.mark.parametrize("a", [0.05, 0.3, 1.0, 2.5, 40.0])
def test_gamma_follows_scipys_distribution(a):
    x = np.asarray(random.gamma(random.key(7), a, (4000,)))
    assert np.all(x > 0) or a < 0.1  # tiny shapes may round to 0 in float64
    assert scipy.stats.kstest(x, scipy.stats.gamma(a).cdf).pvalue > 1e-3


@pytest.mark.parametrize("a, b", [(0.2, 0.2), (1.0, 1.0), (2.0, 5.0), (30.0, 0.5)])
def test_beta_follows_scipys_distribution(a, b):
    x = np.asarray(random.beta(random.key(3), a, b, (4000,)))
    assert np.all((x >= 0) & (x <= 1)) and not np.isnan(x).any()
    assert scipy.stats.kstest(x, scipy.stats.beta(a, b).cdf).pvalue > 1e-3


def test_array_parameters_broadcast_and_invalid_shapes_give_nan():
    a = np.array([0.5, 2.0, 10.0])
    x = np.asarray(random.gamma(random.key(0), a, (2000, 3)))
    np.testing.assert_allclose(x.mean(axis=0), a, rtol=0.1)
    assert np.isnan(np.asarray(random.gamma(random.key(0), [-1.0, 0.0, np.nan]))).all()
    assert random.beta(random.key(0), np.ones((2, 1)), np.ones(3)).shape == (2, 3)


def test_dtype_vmap_and_jit():
    assert random.gamma(random.key(0), 2.0, (5,), dtype=np.float32).dtype == np.float32
    assert random.gamma(random.key(0), np.float32(2.0)).dtype == np.float32
    keys = random.split(random.key(1), 4)
    eager = np.stack([np.asarray(random.beta(k, 0.5, 2.0, (3,))) for k in keys])
    batched = funcgrad.vmap(lambda k: random.beta(k, 0.5, 2.0, (3,)))(keys)
    jitted = funcgrad.jit(funcgrad.vmap(lambda k: random.beta(k, 0.5, 2.0, (3,))))(keys)
    np.testing.assert_allclose(batched, eager, rtol=1e-12)
    np.testing.assert_allclose(jitted, eager, rtol=1e-12)
    with pytest.raises(TypeError, match="gamma"):
        random.gamma(random.key(0), "x")
