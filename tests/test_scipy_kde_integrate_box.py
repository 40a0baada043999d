"""funcgrad.scipy.stats.gaussian_kde.integrate_box against scipy.stats.gaussian_kde and
the sum of normal CDFs written from the formula; gradients, jit and vmap."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as ss
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtr

import funcgrad
import funcgrad.numpy as fnp
from funcgrad.scipy import stats
from funcgrad.test_util import check_grads

DATA = np.array([-1.0, 0.3, 0.5, 2.0, 4.5])
WEIGHTS = np.array([1.0, 2.0, 0.5, 1.0, 3.0])


@settings(deadline=None)
@given(
    low=st.floats(-8.0, 8.0),
    width=st.floats(0.0, 10.0),
    weighted=st.booleans(),
    bw=st.sampled_from([None, "silverman", 0.4]),
)
def test_integrate_box_matches_scipy(low, width, weighted, bw):
    w = WEIGHTS if weighted else None
    ours = stats.gaussian_kde(DATA, bw_method=bw, weights=w)
    theirs = ss.gaussian_kde(DATA, bw_method=bw, weights=w)
    high = low + width
    want = theirs.integrate_box([low], [high], rng=np.random.default_rng(0))
    got = ours.integrate_box(np.array([low]), np.array([high]))
    assert got.shape == () and got.dtype == np.float64
    np.testing.assert_allclose(float(got), want, rtol=1e-7, atol=1e-12)
    # the formula: sum_i w_i (Phi((high - x_i) / h) - Phi((low - x_i) / h))
    h = np.sqrt(theirs.covariance[0, 0])
    wn = theirs.weights
    formula = np.sum(wn * (ndtr((high - DATA) / h) - ndtr((low - DATA) / h)))
    np.testing.assert_allclose(float(got), formula, rtol=1e-12, atol=1e-15)


def test_scalar_bounds_and_whole_line():
    kde = stats.gaussian_kde(DATA)
    assert float(kde.integrate_box(-1e3, 1e3)) == pytest.approx(1.0, abs=1e-14)
    assert float(kde.integrate_box([2.0], [2.0])) == 0.0
    # reversed bounds give the negative mass, as SciPy's CDF difference
    forward = float(kde.integrate_box([0.0], [1.0]))
    assert float(kde.integrate_box([1.0], [0.0])) == pytest.approx(-forward)


def test_integrate_box_gradients():
    def mass(data, low, high):
        return stats.gaussian_kde(data).integrate_box(fnp.reshape(low, (1,)), high)

    check_grads(mass, (DATA, np.array(-0.5), np.array([1.5])), order=2)


_box = funcgrad.jit(lambda kde, lo, hi: kde.integrate_box(lo, hi))


def test_integrate_box_jit_and_vmap_equal_eager():
    kde = stats.gaussian_kde(DATA, weights=WEIGHTS)
    lows = np.array([[-2.0], [0.0], [1.0]])
    highs = np.array([[0.0], [3.0], [1.5]])
    eager = [float(kde.integrate_box(lo, hi)) for lo, hi in zip(lows, highs)]
    jitted = [float(_box(kde, lo, hi)) for lo, hi in zip(lows, highs)]
    mapped = funcgrad.vmap(_box, in_axes=(None, 0, 0))(kde, lows, highs)
    assert mapped.shape == (3,) and mapped.dtype == np.float64
    np.testing.assert_allclose(jitted, eager, rtol=1e-14)
    np.testing.assert_allclose(np.asarray(mapped), eager, rtol=1e-14)


def test_integrate_box_errors():
    kde = stats.gaussian_kde(DATA)
    with pytest.raises(ValueError, match=r"integrate_box: low_bounds must have shape \(1,\)"):
        kde.integrate_box([0.0, 1.0], [1.0])
    kde2 = stats.gaussian_kde(np.random.default_rng(0).normal(size=(2, 10)))
    with pytest.raises(NotImplementedError, match="integrate_box: only 1-dimensional.*d = 2"):
        kde2.integrate_box([0.0, 0.0], [1.0, 1.0])
