"""stax.losses' optax-named losses against NumPy written from optax's documented formulas.

Class axis last, one loss per example, no reduction. References use SciPy's logsumexp and
log_expit; hypothesis draws shapes, values and options; a table of cases checks
jit == eager, vmap == a loop and the gradients of every loss.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import expit, log_expit, logsumexp

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import nn
from funcgrad.test_util import check_grads
from stax import losses as L

SEEDS = st.integers(0, 2**31 - 1)
SHAPES = st.sampled_from([(3,), (2, 4), (2, 3, 2)])


def close(actual, expected, rtol=1e-9, atol=1e-10):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)


@given(SEEDS, SHAPES, st.sampled_from([1.0, 30.0]), st.booleans())
def test_softmax_cross_entropy_and_poly_loss(seed, shape, scale, masked):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * scale
    y = rng.dirichlet(np.ones(shape[-1]), shape[:-1])
    where = None
    if masked:  # mask some classes (never all of a row), their labels 0
        where = rng.random(shape) < 0.7
        where[..., 0] = True
        y = np.where(where, y, 0.0)
    got = L.softmax_cross_entropy(
        fnp.asarray(x), fnp.asarray(y), where=None if where is None else fnp.asarray(where)
    )
    mask = np.ones(shape, bool) if where is None else where
    xm = np.where(mask, x, -np.inf)
    lse = logsumexp(xm, axis=-1, keepdims=True)
    ref = -np.sum(np.where(mask, y * (x - lse), 0.0), axis=-1)
    close(got, ref)
    if not masked:
        eps = float(rng.random() * 3)
        pt = np.sum(y * np.exp(x - lse), axis=-1)
        close(L.poly_loss_cross_entropy(fnp.asarray(x), fnp.asarray(y), eps), ref + eps * (1 - pt))


@given(SEEDS, SHAPES, st.integers(0, 2), st.booleans(), st.sampled_from([1.0, 1000.0]))
def test_softmax_cross_entropy_with_integer_labels(seed, shape, axis, negative, scale):
    rng = np.random.default_rng(seed)
    axis = axis % len(shape)
    x = rng.standard_normal(shape) * scale
    lshape = shape[:axis] + shape[axis + 1 :]
    t = rng.integers(0, shape[axis], lshape)
    given_axis = axis - len(shape) if negative else axis
    got = L.softmax_cross_entropy_with_integer_labels(fnp.asarray(x), fnp.asarray(t), given_axis)
    xm = np.moveaxis(x, axis, -1)
    ref = logsumexp(xm, axis=-1) - np.take_along_axis(xm, t[..., None], -1)[..., 0]
    close(got, ref, rtol=1e-12)
    assert np.isfinite(np.asarray(got)).all()


@given(SEEDS, SHAPES, st.sampled_from([1.0, 1000.0]), st.sampled_from([None, 0.25]),
       st.sampled_from([0.0, 1.0, 2.0]), st.booleans())  # fmt: skip
def test_sigmoid_binary_cross_entropy_and_focal_loss(seed, shape, scale, alpha, gamma, soft):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * scale
    y = rng.random(shape) if soft else rng.integers(0, 2, shape).astype(float)
    ce = -(y * log_expit(x) + (1 - y) * log_expit(-x))
    close(L.sigmoid_binary_cross_entropy(fnp.asarray(x), fnp.asarray(y)), ce)
    p = expit(x)
    p_t = p * y + (1 - p) * (1 - y)
    ref = ce * (1 - p_t) ** gamma
    if alpha is not None:
        ref = (alpha * y + (1 - alpha) * (1 - y)) * ref
    got = L.sigmoid_focal_loss(fnp.asarray(x), fnp.asarray(y), alpha, gamma)
    close(got, ref, rtol=1e-8, atol=1e-12)


@given(SEEDS, SHAPES, st.booleans())
def test_regression_losses(seed, shape, with_targets):
    rng = np.random.default_rng(seed)
    p, t = rng.standard_normal(shape) * 3, rng.standard_normal(shape)
    e = p - t if with_targets else p
    ft = fnp.asarray(t) if with_targets else None
    close(L.squared_error(fnp.asarray(p), ft), e**2)
    close(L.l2_loss(fnp.asarray(p), ft), 0.5 * e**2)
    close(L.log_cosh(fnp.asarray(p), ft), np.log(np.cosh(e)), rtol=1e-9, atol=1e-12)
    s = rng.choice([-1.0, 1.0], shape)
    close(L.hinge_loss(fnp.asarray(p), fnp.asarray(s)), np.maximum(0, 1 - p * s))


@given(SEEDS, SHAPES, st.sampled_from([0.0, 0.5, 10.0]))
def test_cosine_similarity_and_distance(seed, shape, epsilon):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(shape), rng.standard_normal(shape)
    na = np.maximum(np.linalg.norm(a, axis=-1), epsilon)
    nb = np.maximum(np.linalg.norm(b, axis=-1), epsilon)
    ref = np.sum(a * b, axis=-1) / (na * nb)
    close(L.cosine_similarity(fnp.asarray(a), fnp.asarray(b), epsilon), ref)
    close(L.cosine_distance(fnp.asarray(a), fnp.asarray(b), epsilon), 1 - ref)


@given(SEEDS, SHAPES)
def test_kl_divergence_and_smooth_labels(seed, shape):
    rng = np.random.default_rng(seed)
    logq = np.log(rng.dirichlet(np.ones(shape[-1]), shape[:-1]))
    y = rng.dirichlet(np.ones(shape[-1]), shape[:-1])
    y = np.where(rng.random(shape) < 0.3, 0.0, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        ref = np.sum(np.where(y > 0, y * (np.log(y) - logq), 0.0), axis=-1)
    close(L.kl_divergence(fnp.asarray(logq), fnp.asarray(y)), ref)
    alpha = float(rng.random())
    close(L.smooth_labels(fnp.asarray(y), alpha), (1 - alpha) * y + alpha / shape[-1])


def test_extreme_logits_and_golden_values():
    x = fnp.asarray([[1000.0, -1000.0], [-1000.0, 1000.0]])
    onehot = fnp.asarray([[0.0, 1.0], [0.0, 1.0]])
    close(L.softmax_cross_entropy(x, onehot), [2000.0, 0.0])
    close(L.softmax_cross_entropy_with_integer_labels(x, fnp.asarray([1, 1])), [2000.0, 0.0])
    g = funcgrad.grad(lambda x: fnp.sum(L.softmax_cross_entropy(x, onehot)))(x)
    close(g, [[1.0, -1.0], [0.0, 0.0]])
    close(L.sigmoid_binary_cross_entropy(x, onehot), [[1000.0, 1000.0], [0.0, 0.0]])
    for fn in (L.sigmoid_focal_loss, L.sigmoid_binary_cross_entropy, L.poly_loss_cross_entropy):
        value, g = funcgrad.value_and_grad(lambda x, fn=fn: fnp.sum(fn(x, onehot)))(x)
        assert np.isfinite(float(value)) and np.isfinite(np.asarray(g)).all(), fn.__name__
    close(L.log_cosh(fnp.asarray([1000.0, -1000.0])), [1000 - math.log(2)] * 2)
    # uniform logits over 4 classes cost log 4 (lectures' entropy: H(p, p) = H(p))
    close(L.softmax_cross_entropy(fnp.zeros((1, 4)), fnp.full((1, 4), 0.25)), [math.log(4)])
    # a masked class with a zero label adds nothing, even with a -inf log-probability
    where = fnp.asarray([[True, False, True]])
    got = L.softmax_cross_entropy(fnp.zeros((1, 3)), fnp.asarray([[0.5, 0.0, 0.5]]), where=where)
    close(got, [math.log(2)])


def test_integer_labels_out_of_range():
    with pytest.raises(
        ValueError, match=r"softmax_cross_entropy_with_integer_labels: label 4 .*3 classes"
    ):
        L.softmax_cross_entropy_with_integer_labels(fnp.zeros((2, 3)), fnp.asarray([0, 4]))
    with pytest.raises(TypeError, match="labels must hold integer"):
        L.softmax_cross_entropy_with_integer_labels(fnp.zeros((2, 3)), fnp.asarray([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"labels of shape \(3,\)"):
        L.softmax_cross_entropy_with_integer_labels(fnp.zeros((2, 3)), fnp.asarray([0, 1, 2]))
    jitted = funcgrad.jit(L.softmax_cross_entropy_with_integer_labels)
    out = np.asarray(jitted(fnp.zeros((3, 3)), fnp.asarray([0, 4, -1])))
    assert out[0] == pytest.approx(math.log(3)) and np.isnan(out[1:]).all()


_R = np.random.default_rng(3)
_X = _R.standard_normal(4)
_Y = _R.standard_normal(4)
_P = _R.dirichlet(np.ones(4))

CASES = {
    "softmax_cross_entropy": (lambda x, y: L.softmax_cross_entropy(x, nn.softmax(y)), (_X, _Y)),
    "softmax_cross_entropy_with_integer_labels": (lambda x: L.softmax_cross_entropy_with_integer_labels(x, fnp.asarray(2)), (_X,)),
    "sigmoid_binary_cross_entropy": (lambda x, y: L.sigmoid_binary_cross_entropy(x, nn.sigmoid(y)), (_X, _Y)),
    "sigmoid_focal_loss": (lambda x: L.sigmoid_focal_loss(x, fnp.asarray([0.0, 1.0, 1.0, 0.0]), 0.3, 2.0), (_X,)),
    "l2_loss": (lambda p, t: L.l2_loss(p, t), (_X, _Y)),
    "squared_error": (lambda p: L.squared_error(p), (_X,)),
    "log_cosh": (lambda p, t: L.log_cosh(p, t), (_X, _Y)),
    "hinge_loss": (lambda s: L.hinge_loss(s, fnp.asarray([1.0, -1.0, 1.0, -1.0])), (_X,)),
    "cosine_similarity": (lambda a, b: L.cosine_similarity(a, b, 0.1), (_X, _Y)),
    "cosine_distance": (lambda a, b: L.cosine_distance(a, b), (_X, _Y)),
    "kl_divergence": (lambda x, y: L.kl_divergence(nn.log_softmax(x), nn.softmax(y)), (_X, _Y)),
    "poly_loss_cross_entropy": (lambda x, y: L.poly_loss_cross_entropy(x, nn.softmax(y), 1.5), (_X, _Y)),
    "smooth_labels": (lambda y: L.smooth_labels(y, 0.3), (_P,)),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_jit_vmap_and_gradients(name):
    fn, arrays = CASES[name]
    args = tuple(fnp.asarray(a) for a in arrays)
    eager = fn(*args)
    jitted = funcgrad.jit(fn)(*args)
    assert jitted.shape == eager.shape and jitted.dtype == eager.dtype
    close(jitted, eager, rtol=1e-12, atol=1e-12)
    batch = tuple(fnp.asarray(np.stack([a, a[::-1] * 0.7])) for a in arrays)
    mapped = funcgrad.vmap(fn)(*batch)
    close(mapped, np.stack([np.asarray(fn(*(b[i] for b in batch))) for i in range(2)]))
    check_grads(fn, args, order=1, atol=1e-5, rtol=1e-5)
    out32 = fn(*(fnp.asarray(a.astype(np.float32)) for a in arrays))
    assert out32.dtype == np.float32
