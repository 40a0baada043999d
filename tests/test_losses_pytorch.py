"""stax.losses' PyTorch-named losses against NumPy written from PyTorch's documented formulas.

Each reference below is the formula of PyTorch's documentation (FEATURES.md 6.2, with the
lecture errors of 13.2 corrected), written with NumPy/SciPy loops and never with the
implementation's helpers. Hypothesis draws shapes, values and options; a table of cases
checks jit == eager, vmap == a loop and the gradients (check_grads) of every loss.
"""

from __future__ import annotations

import math
import warnings

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

REDUCTIONS = st.sampled_from(["none", "mean", "sum"])
SEEDS = st.integers(0, 2**31 - 1)


def reduce_ref(loss, reduction):
    loss = np.asarray(loss, dtype=np.float64)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / loss.size if loss.size else np.nan


def close(actual, expected, rtol=1e-9, atol=1e-10):
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)


# --- references -----------------------------------------------------------------------


def ref_class_rows(x, t):
    """Rows (M, C) with the class axis last and flattened targets (M,)."""
    if x.ndim == 1:
        return x[None], np.asarray(t).reshape(1)
    return np.moveaxis(x, 1, -1).reshape(-1, x.shape[1]), np.asarray(t).reshape(-1)


def ref_cross_entropy(x, t, weight=None, ignore_index=-100, reduction="mean", ls=0.0):
    rows, tt = ref_class_rows(x, t)
    c = rows.shape[1]
    w = np.ones(c) if weight is None else weight
    losses, denominators = [], []
    for row, k in zip(rows, tt):
        if k == ignore_index:
            losses.append(0.0)
            denominators.append(0.0)
            continue
        logp = row - logsumexp(row)
        nll = -w[k] * logp[k]
        smooth = -np.sum(w * logp)
        losses.append((1 - ls) * nll + ls / c * smooth)
        denominators.append(w[k])
    losses = np.array(losses)
    if reduction == "none":
        return losses.reshape(np.shape(t))
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / np.sum(denominators) if np.sum(denominators) else np.nan


def ref_cross_entropy_probs(x, y, weight=None, reduction="mean", ls=0.0):
    rows, _ = ref_class_rows(x, np.zeros(()))
    probs, _ = ref_class_rows(y, np.zeros(()))
    c = rows.shape[1]
    w = np.ones(c) if weight is None else weight
    out = []
    for row, p in zip(rows, probs):
        p = (1 - ls) * p + ls / c
        out.append(-np.sum(w * p * (row - logsumexp(row))))
    out = np.array(out)
    if reduction == "none":
        return out.reshape(x.shape[:1] + x.shape[2:]) if x.ndim > 1 else out[0]
    return reduce_ref(out, reduction)


def ref_nll(x, t, weight=None, ignore_index=-100, reduction="mean"):
    rows, tt = ref_class_rows(x, t)
    w = np.ones(rows.shape[1]) if weight is None else weight
    out = np.array([0.0 if k == ignore_index else -w[k] * r[k] for r, k in zip(rows, tt)])
    den = sum(w[k] for k in tt if k != ignore_index)
    if reduction == "none":
        return out.reshape(np.shape(t))
    if reduction == "sum":
        return out.sum()
    return out.sum() / den if den else np.nan


# --- class losses ---------------------------------------------------------------------


@st.composite
def class_problem(draw, probabilities=False):
    seed = draw(SEEDS)
    rng = np.random.default_rng(seed)
    n = draw(st.integers(1, 4))
    c = draw(st.integers(2, 5))
    extra = draw(st.sampled_from([(), (), (3,), (2, 2)]))
    unbatched = draw(st.booleans()) and not extra
    shape = (c,) if unbatched else (n, c) + extra
    scale = draw(st.sampled_from([1.0, 10.0]))
    x = rng.standard_normal(shape) * scale
    tshape = () if unbatched else (n,) + extra
    if probabilities:
        y = rng.random(shape)
        y = y / y.sum(axis=0 if unbatched else 1, keepdims=True)
        return x, y, c
    ignore_index = draw(st.sampled_from([-100, 0, 1]))
    t = rng.integers(0, c, tshape)
    if draw(st.booleans()):  # some targets ignored
        t = np.where(rng.random(tshape) < 0.3, ignore_index, t)
    return x, t, c, ignore_index


@given(class_problem(), REDUCTIONS, st.booleans(), st.sampled_from([0.0, 0.1, 0.5]), SEEDS)
def test_cross_entropy_class_indices(problem, reduction, weighted, ls, seed):
    x, t, c, ignore_index = problem
    w = np.random.default_rng(seed).random(c) + 0.1 if weighted else None
    got = L.cross_entropy(fnp.asarray(x), fnp.asarray(t), None if w is None else fnp.asarray(w),
                          ignore_index=ignore_index, reduction=reduction, label_smoothing=ls)  # fmt: skip
    close(got, ref_cross_entropy(x, t, w, ignore_index, reduction, ls))


@given(class_problem(probabilities=True), REDUCTIONS, st.booleans(), st.sampled_from([0.0, 0.2]))
def test_cross_entropy_class_probabilities(problem, reduction, weighted, ls):
    x, y, c = problem
    w = np.linspace(0.5, 2.0, c) if weighted else None
    got = L.cross_entropy(fnp.asarray(x), fnp.asarray(y), None if w is None else fnp.asarray(w),
                          reduction=reduction, label_smoothing=ls)  # fmt: skip
    close(got, ref_cross_entropy_probs(x, y, w, reduction, ls))


@given(class_problem(), REDUCTIONS, st.booleans())
def test_nll_loss(problem, reduction, weighted):
    x, t, c, ignore_index = problem
    w = np.linspace(0.5, 2.0, c) if weighted else None
    got = L.nll_loss(fnp.asarray(x), fnp.asarray(t), None if w is None else fnp.asarray(w),
                     ignore_index=ignore_index, reduction=reduction)  # fmt: skip
    close(got, ref_nll(x, t, w, ignore_index, reduction))


def test_cross_entropy_is_nll_of_log_softmax_lecture_example():
    """FEATURES 6.1: x = randn(1, 784), w = randn(10, 784), logits = x @ w.T;
    nll_loss(log(softmax(logits)), [1]) == cross_entropy(logits, [1])."""
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((1, 784)), rng.standard_normal((10, 784))
    logits = fnp.asarray(x @ w.T)
    target = fnp.asarray([1])
    ce = L.cross_entropy(logits, target)
    nll = L.nll_loss(fnp.log(nn.softmax(logits, axis=1)), target)
    close(ce, nll, rtol=1e-9)
    close(ce, ref_cross_entropy(np.asarray(logits), np.array([1])), rtol=1e-12)


def test_binary_and_class_losses_golden_values():
    # PyTorch's documented examples for the margin losses
    x = fnp.asarray([[0.1, 0.2, 0.4, 0.8]])
    close(L.multilabel_margin_loss(x, fnp.asarray([[3, 0, -1, 1]])), 0.85, rtol=1e-12)
    close(L.multi_margin_loss(x, fnp.asarray([3])), 0.325, rtol=1e-12)
    # uniform logits: CE is log C; a confident right logit costs 0, a wrong one 1000
    close(L.cross_entropy(fnp.zeros((3, 4)), fnp.asarray([0, 1, 3])), math.log(4))
    close(L.cross_entropy(fnp.asarray([[1000.0, -1000.0]]), fnp.asarray([1])), 2000.0)
    # MSE gradient of the lectures: d/dw (x w - y)^2 = 2 x (x w - y) = 2 at x=1, w=2, y=1
    g = funcgrad.grad(lambda w: L.mse_loss(fnp.ones(1) * w, fnp.ones(1)))(2.0)
    close(g, 2.0)


# --- binary cross-entropies -------------------------------------------------------------


@given(SEEDS, st.sampled_from([(4,), (2, 3), (2, 2, 2)]), REDUCTIONS, st.booleans(),
       st.booleans())  # fmt: skip
def test_binary_cross_entropy(seed, shape, reduction, weighted, extremes):
    rng = np.random.default_rng(seed)
    x = rng.random(shape)
    if extremes:  # probabilities of exactly 0 and 1, where PyTorch clamps the log at -100
        x = np.where(rng.random(shape) < 0.3, np.round(x), x)
    y = rng.random(shape)
    w = rng.random(shape[-1:]) if weighted else None
    got = L.binary_cross_entropy(
        fnp.asarray(x), fnp.asarray(y), None if w is None else fnp.asarray(w), reduction=reduction
    )
    with np.errstate(divide="ignore"):
        ref = -(y * np.maximum(np.log(x), -100) + (1 - y) * np.maximum(np.log(1 - x), -100))
    close(got, reduce_ref(ref * (1 if w is None else w), reduction))


def test_binary_cross_entropy_gradient_at_zero_and_one_is_pytorchs():
    x = fnp.asarray([0.0, 1.0, 0.0, 1.0, 0.25])
    y = fnp.asarray([1.0, 0.0, 0.0, 1.0, 1.0])
    g = funcgrad.grad(lambda x: L.binary_cross_entropy(x, y, reduction="sum"))(x)
    xn, yn = np.asarray(x), np.asarray(y)
    close(g, (xn - yn) / np.maximum(xn * (1 - xn), 1e-12))  # PyTorch's backward formula
    assert np.isfinite(np.asarray(g)).all()
    value = L.binary_cross_entropy(x, y, reduction="none")
    close(value, [100.0, 100.0, 0.0, 0.0, -math.log(0.25)])
    gy = funcgrad.grad(lambda y: L.binary_cross_entropy(x, y, reduction="sum"))(y)
    close(gy, [100.0, -100.0, 100.0, -100.0, math.log(0.75) - math.log(0.25)])


@given(SEEDS, st.sampled_from([(4,), (2, 3), (2, 2, 3)]), REDUCTIONS, st.booleans(),
       st.booleans(), st.sampled_from([1.0, 1000.0]))  # fmt: skip
def test_binary_cross_entropy_with_logits(seed, shape, reduction, weighted, pos, scale):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * scale
    y = rng.random(shape)
    w = rng.random(shape[-1:]) if weighted else None
    pw = rng.random(shape[-1:]) * 3 if pos else None
    got = L.binary_cross_entropy_with_logits(
        fnp.asarray(x), fnp.asarray(y), None if w is None else fnp.asarray(w),
        reduction=reduction, pos_weight=None if pw is None else fnp.asarray(pw))  # fmt: skip
    p = 1.0 if pw is None else pw
    ref = -(p * y * log_expit(x) + (1 - y) * log_expit(-x)) * (1 if w is None else w)
    close(got, reduce_ref(ref, reduction), rtol=1e-9, atol=1e-9)


# --- regression losses ------------------------------------------------------------------


ELEMENTWISE_SHAPES = st.sampled_from([(), (3,), (2, 3), (2, 1, 4)])


@given(SEEDS, ELEMENTWISE_SHAPES, REDUCTIONS, st.booleans())
def test_l1_and_mse_with_weights(seed, shape, reduction, weighted):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal(shape), rng.standard_normal(shape)
    w = rng.random(shape) if weighted else None
    fw = None if w is None else fnp.asarray(w)
    for fn, ref in ((L.l1_loss, np.abs(x - y)), (L.mse_loss, (x - y) ** 2)):
        got = fn(fnp.asarray(x), fnp.asarray(y), reduction=reduction, weight=fw)
        if w is None:
            close(got, reduce_ref(ref, reduction))
        elif reduction == "mean":  # PyTorch: sum(w l) / sum(w)
            close(got, np.sum(w * ref) / np.sum(w))
        else:
            close(got, reduce_ref(w * ref, reduction))


@given(SEEDS, ELEMENTWISE_SHAPES, REDUCTIONS, st.sampled_from([0.0, 0.5, 1.0, 2.0]),
       st.booleans())  # fmt: skip
def test_smooth_l1_and_huber(seed, shape, reduction, beta, weighted):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal(shape) * 2, rng.standard_normal(shape)
    d = np.abs(x - y)
    ref = np.array([di - beta / 2 if di >= beta else 0.5 * di * di / beta for di in d.ravel()])
    got = L.smooth_l1_loss(fnp.asarray(x), fnp.asarray(y), reduction=reduction, beta=beta)
    close(got, reduce_ref(ref.reshape(shape), reduction))
    if beta > 0:
        w = rng.random(shape) if weighted else None
        href = np.where(d < beta, 0.5 * d * d, beta * (d - 0.5 * beta)) * (1 if w is None else w)
        got = L.huber_loss(fnp.asarray(x), fnp.asarray(y), reduction=reduction, delta=beta,
                           weight=None if w is None else fnp.asarray(w))  # fmt: skip
        close(got, reduce_ref(href, reduction))  # weighted huber 'mean' is the plain mean


@given(SEEDS, ELEMENTWISE_SHAPES, REDUCTIONS, st.booleans(), st.booleans(),
       st.sampled_from([1e-8, 0.5]))  # fmt: skip
def test_poisson_nll_loss(seed, shape, reduction, log_input, full, eps):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) if log_input else rng.random(shape) * 3
    y = rng.integers(0, 5, shape).astype(float)
    got = L.poisson_nll_loss(fnp.asarray(x), fnp.asarray(y), log_input, full, eps=eps,
                             reduction=reduction)  # fmt: skip
    ref = np.exp(x) - y * x if log_input else x - y * np.log(x + eps)
    if full:  # Stirling's term only where target > 1
        with np.errstate(divide="ignore", invalid="ignore"):
            stirling = y * np.log(y) - y + 0.5 * np.log(2 * np.pi * y)
        ref = ref + np.where(y > 1, stirling, 0)
    close(got, reduce_ref(ref, reduction))


@given(SEEDS, st.sampled_from([(3,), (2, 3), (2, 2, 3)]), REDUCTIONS, st.booleans(),
       st.sampled_from(["same", "short", "one", "scalar"]), st.sampled_from([1e-6, 0.3]))  # fmt: skip
def test_gaussian_nll_loss(seed, shape, reduction, full, var_form, eps):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal(shape), rng.standard_normal(shape)
    vshape = {"same": shape, "short": shape[:-1], "one": shape[:-1] + (1,), "scalar": ()}
    var = rng.random(vshape[var_form]) * 0.6
    got = L.gaussian_nll_loss(fnp.asarray(x), fnp.asarray(y), fnp.asarray(var), full, eps,
                              reduction)  # fmt: skip
    v = np.maximum(var[..., None] if var_form == "short" else var, eps)
    ref = 0.5 * (np.log(v) + (x - y) ** 2 / v) + (0.5 * np.log(2 * np.pi) if full else 0)
    close(got, reduce_ref(ref, reduction))


def test_gaussian_nll_var_gradient_passes_the_clamp():
    # PyTorch clamps var under no_grad: d/dvar is taken at the clamped value
    x, y, var = fnp.asarray([1.0, 1.0]), fnp.asarray([3.0, 3.0]), fnp.asarray([1e-9, 2.0])
    g = funcgrad.grad(lambda v: L.gaussian_nll_loss(x, y, v, eps=1e-3, reduction="sum"))(var)
    vc = np.array([1e-3, 2.0])
    close(g, 0.5 * (1 / vc - 4.0 / vc**2))


@given(SEEDS, st.sampled_from([(3,), (2, 3), (2, 2, 2)]),
       st.sampled_from(["none", "mean", "sum", "batchmean"]), st.booleans())  # fmt: skip
def test_kl_div(seed, shape, reduction, log_target):
    rng = np.random.default_rng(seed)
    x = np.log(rng.dirichlet(np.ones(shape[-1]), shape[:-1]))
    y = rng.dirichlet(np.ones(shape[-1]), shape[:-1])
    y = np.where(rng.random(shape) < 0.2, 0.0, y)  # zero targets contribute 0
    yt = np.log(y + 1e-3) if log_target else y
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = L.kl_div(fnp.asarray(x), fnp.asarray(yt), reduction=reduction, log_target=log_target)
    if log_target:
        ref = np.exp(yt) * (yt - x)
    else:
        ref = np.array(
            [0.0 if t == 0 else t * (np.log(t) - q) for t, q in zip(y.ravel(), x.ravel())]
        )
        ref = ref.reshape(shape)
    expected = ref.sum() / shape[0] if reduction == "batchmean" else reduce_ref(ref, reduction)
    close(got, expected)


# --- margin and embedding losses -----------------------------------------------------------


@given(SEEDS, st.sampled_from([(4,), (2, 3)]), REDUCTIONS, st.sampled_from([0.0, 0.5]))
def test_margin_ranking_hinge_embedding_soft_margin(seed, shape, reduction, margin):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.standard_normal(shape), rng.standard_normal(shape)
    y = rng.choice([-1.0, 1.0], shape)
    got = L.margin_ranking_loss(fnp.asarray(x1), fnp.asarray(x2), fnp.asarray(y), margin,
                                reduction=reduction)  # fmt: skip
    close(got, reduce_ref(np.maximum(0, -y * (x1 - x2) + margin), reduction))
    d = np.abs(x1)
    ref = np.array(
        [di if yi == 1 else max(0.0, margin + 1 - di) for di, yi in zip(d.ravel(), y.ravel())]
    )
    got = L.hinge_embedding_loss(fnp.asarray(d), fnp.asarray(y), margin + 1, reduction=reduction)
    close(got, reduce_ref(ref.reshape(shape), reduction))
    got = L.soft_margin_loss(fnp.asarray(x1 * 5), fnp.asarray(y), reduction=reduction)
    close(got, reduce_ref(np.log1p(np.exp(-y * x1 * 5)), reduction))  # log(1 + e^{-yx})


@given(SEEDS, st.integers(1, 3), st.integers(2, 5), REDUCTIONS, st.booleans(), st.booleans())
def test_multilabel_soft_margin_loss(seed, n, c, reduction, weighted, unbatched):
    rng = np.random.default_rng(seed)
    shape = (c,) if unbatched else (n, c)
    x, y = rng.standard_normal(shape) * 3, rng.integers(0, 2, shape).astype(float)
    w = rng.random(c) if weighted else np.ones(c)
    got = L.multilabel_soft_margin_loss(
        fnp.asarray(x), fnp.asarray(y), fnp.asarray(w) if weighted else None, reduction=reduction
    )
    rows, ys = np.atleast_2d(x), np.atleast_2d(y)
    ref = np.array([-np.mean(w * (yr * np.log(expit(xr)) + (1 - yr) * np.log(expit(-xr))))
                    for xr, yr in zip(rows, ys)])  # fmt: skip
    close(got, reduce_ref(ref[0] if unbatched else ref, reduction))


@given(SEEDS, st.integers(1, 3), st.integers(2, 5), REDUCTIONS, st.booleans())
def test_multilabel_margin_loss(seed, n, c, reduction, unbatched):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c))
    t = np.full((n, c), -1)
    for row in t:  # a random set of classes, then -1, then junk PyTorch ignores
        k = rng.integers(0, c + 1)
        row[:k] = rng.permutation(c)[:k]
        if k + 1 < c:
            row[k + 1 :] = rng.integers(-1, c, c - k - 1)
    ref = []
    for xr, tr in zip(x, t):
        listed = []
        for k in tr:
            if k == -1:
                break
            listed.append(k)
        total = sum(
            max(0.0, 1 - (xr[j] - xr[i])) for j in listed for i in range(c) if i not in listed
        )
        ref.append(total / c)
    ref = np.array(ref)
    if unbatched:
        x, t, ref = x[0], t[0], ref[0]
    got = L.multilabel_margin_loss(fnp.asarray(x), fnp.asarray(t), reduction=reduction)
    close(got, reduce_ref(ref, reduction))


@given(SEEDS, st.integers(1, 3), st.integers(2, 5), REDUCTIONS, st.sampled_from([1, 2]),
       st.sampled_from([1.0, 0.3]), st.booleans(), st.booleans())  # fmt: skip
def test_multi_margin_loss(seed, n, c, reduction, p, margin, weighted, unbatched):
    rng = np.random.default_rng(seed)
    x, t = rng.standard_normal((n, c)), rng.integers(0, c, n)
    w = rng.random(c) if weighted else np.ones(c)
    ref = np.array([sum(w[k] * max(0.0, margin - xr[k] + xr[i]) ** p for i in range(c) if i != k) / c
                    for xr, k in zip(x, t)])  # fmt: skip
    if unbatched:
        x, t, ref = x[0], t[0], ref[0]
    got = L.multi_margin_loss(
        fnp.asarray(x),
        fnp.asarray(t),
        p,
        margin,
        fnp.asarray(w) if weighted else None,
        reduction=reduction,
    )
    close(got, reduce_ref(ref, reduction))


@given(SEEDS, st.sampled_from([(3,), (2, 3), (4, 2)]), REDUCTIONS, st.sampled_from([0.0, 0.5]))
def test_cosine_embedding_loss(seed, shape, reduction, margin):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.standard_normal(shape), rng.standard_normal(shape)
    y = rng.choice([-1.0, 1.0], shape[:-1])
    cos = np.sum(x1 * x2, -1) / np.sqrt((np.sum(x1**2, -1) + 1e-12) * (np.sum(x2**2, -1) + 1e-12))
    ref = np.where(y == 1, 1 - cos, np.maximum(0, cos - margin))
    got = L.cosine_embedding_loss(fnp.asarray(x1), fnp.asarray(x2), fnp.asarray(y), margin,
                                  reduction=reduction)  # fmt: skip
    close(got, reduce_ref(ref, reduction))


@given(SEEDS, st.sampled_from([(3,), (2, 3), (4, 2)]), REDUCTIONS,
       st.sampled_from([1, 2, 3.5, math.inf]), st.sampled_from([1e-6, 0.1]), st.booleans(),
       st.sampled_from([1.0, 0.2]))  # fmt: skip
def test_triplet_margin_losses(seed, shape, reduction, p, eps, swap, margin):
    rng = np.random.default_rng(seed)
    a, pos, neg = (rng.standard_normal(shape) for _ in range(3))

    def dist(u, v):
        return np.linalg.norm(u - v + eps, ord=p, axis=-1)

    d_neg = np.minimum(dist(a, neg), dist(pos, neg)) if swap else dist(a, neg)
    ref = np.maximum(margin + dist(a, pos) - d_neg, 0)
    args = (fnp.asarray(a), fnp.asarray(pos), fnp.asarray(neg))
    got = L.triplet_margin_loss(*args, margin, p, eps, swap, reduction=reduction)
    close(got, reduce_ref(ref, reduction))

    def l1(u, v):
        return fnp.sum(fnp.abs(u - v), axis=-1)

    d1 = np.abs(a - neg).sum(-1)
    d_neg = np.minimum(d1, np.abs(pos - neg).sum(-1)) if swap else d1
    ref = np.maximum(margin + np.abs(a - pos).sum(-1) - d_neg, 0)
    got = L.triplet_margin_with_distance_loss(*args, distance_function=l1, margin=margin,
                                              swap=swap, reduction=reduction)  # fmt: skip
    close(got, reduce_ref(ref, reduction))
    default = L.triplet_margin_with_distance_loss(*args, margin=margin, reduction=reduction)
    d2 = np.linalg.norm(a - pos + 1e-6, axis=-1) - np.linalg.norm(a - neg + 1e-6, axis=-1)
    close(default, reduce_ref(np.maximum(margin + d2, 0), reduction))


# --- extreme inputs and empty batches ----------------------------------------------------


def test_logits_of_plus_minus_1000_give_finite_values_and_gradients():
    x = fnp.asarray([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 1000.0]])
    t = fnp.asarray([1, 0])
    value, g = funcgrad.value_and_grad(lambda x: L.cross_entropy(x, t, reduction="sum"))(x)
    close(value, 2000.0 + 2000.0 + math.log(2))
    soft = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])
    close(g, soft - np.eye(3)[[1, 0]])
    y = fnp.asarray([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0]])
    for fn in (L.binary_cross_entropy_with_logits, L.soft_margin_loss,
               L.multilabel_soft_margin_loss):  # fmt: skip
        value, g = funcgrad.value_and_grad(lambda x, fn=fn: fn(x, y))(x)
        assert np.isfinite(float(value)) and np.isfinite(np.asarray(g)).all(), fn.__name__
    value = L.binary_cross_entropy_with_logits(x, y, reduction="none")
    close(value, [[1000.0, 1000.0, math.log(2)], [1000.0, 1000.0, 0.0]])


def test_empty_batches_follow_pytorch():
    """A mean over nothing is NaN (PyTorch's 0/0), a sum 0, 'none' an empty array."""
    x, t = fnp.zeros((0, 3)), fnp.zeros((0,), dtype=fnp.int32)
    assert np.isnan(float(L.cross_entropy(x, t)))
    assert float(L.cross_entropy(x, t, reduction="sum")) == 0.0
    assert L.cross_entropy(x, t, reduction="none").shape == (0,)
    assert np.isnan(float(L.nll_loss(x, t)))
    assert np.isnan(float(L.mse_loss(fnp.zeros((0,)), fnp.zeros((0,)))))
    assert float(L.l1_loss(fnp.zeros((0,)), fnp.zeros((0,)), reduction="sum")) == 0.0
    # every target ignored: 0 / 0
    assert np.isnan(float(L.cross_entropy(fnp.zeros((2, 3)), fnp.asarray([-100, -100]))))
    g = funcgrad.grad(lambda x: L.cross_entropy(x, t, reduction="sum"))(x)
    assert g.shape == (0, 3)


# --- errors, eager and under jit -------------------------------------------------------------


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: L.cross_entropy(fnp.zeros((2, 3)), fnp.asarray([0, 5])), ["cross_entropy", "5", "3 classes"]),
        (lambda: L.cross_entropy(fnp.zeros((2, 3)), fnp.asarray([0])), ["cross_entropy", "target", "(1,)", "(2,)"]),
        (lambda: L.cross_entropy(fnp.zeros((2, 3)), fnp.asarray([0, 1]), label_smoothing=1.5), ["label_smoothing", "1.5"]),
        (lambda: L.cross_entropy(fnp.zeros((2, 3)), fnp.asarray([0, 1]), fnp.ones(2)), ["weight", "(2,)", "(3,)"]),
        (lambda: L.cross_entropy(fnp.zeros((2, 3)), fnp.asarray([0.0, 1.0])), ["cross_entropy", "target", "(2,)", "(2, 3)"]),
        (lambda: L.nll_loss(fnp.zeros((2, 3)), fnp.asarray([-1, 0])), ["nll_loss", "-1", "ignore_index"]),
        (lambda: L.mse_loss(fnp.zeros(2), fnp.zeros(2), reduction="avg"), ["mse_loss", "reduction", "'avg'"]),
        (lambda: L.binary_cross_entropy(fnp.asarray([0.5, 1.5]), fnp.zeros(2)), ["binary_cross_entropy", "1.5", "(1,)"]),
        (lambda: L.binary_cross_entropy(fnp.asarray([0.5]), fnp.zeros(2)), ["binary_cross_entropy", "target", "(2,)"]),
        (lambda: L.binary_cross_entropy_with_logits(fnp.zeros(3), fnp.zeros(2)), ["with_logits", "(2,)", "(3,)"]),
        (lambda: L.gaussian_nll_loss(fnp.zeros(2), fnp.zeros(2), fnp.asarray([1.0, -2.0])), ["gaussian_nll_loss", "var", "-2.0"]),
        (lambda: L.gaussian_nll_loss(fnp.zeros((2, 3)), fnp.zeros((2, 3)), fnp.ones(4)), ["var", "(4,)"]),
        (lambda: L.multilabel_margin_loss(fnp.zeros((1, 3)), fnp.asarray([[7, -1, 0]])), ["multilabel_margin_loss", "7"]),
        (lambda: L.multi_margin_loss(fnp.zeros((1, 3)), fnp.asarray([0]), p=3), ["multi_margin_loss", "p", "3"]),
        (lambda: L.multi_margin_loss(fnp.zeros((1, 3)), fnp.asarray([4])), ["multi_margin_loss", "4"]),
        (lambda: L.margin_ranking_loss(fnp.zeros(2), fnp.zeros((1, 2)), fnp.zeros(2)), ["margin_ranking_loss", "dimensions"]),
        (lambda: L.kl_div(fnp.zeros(2), fnp.zeros(2), reduction="batch"), ["kl_div", "batchmean"]),
        (lambda: L.huber_loss(fnp.zeros(2), fnp.zeros(2), delta=0.0), ["huber_loss", "delta"]),
        (lambda: L.smooth_l1_loss(fnp.zeros(2), fnp.zeros(2), beta=-1.0), ["smooth_l1_loss", "beta"]),
        (lambda: L.triplet_margin_loss(fnp.zeros((2, 3)), fnp.zeros((2, 3)), fnp.zeros(3)), ["triplet_margin_loss", "dimensions"]),
        (lambda: L.cosine_embedding_loss(fnp.zeros((2, 3)), fnp.zeros((2, 3)), fnp.zeros(3)), ["cosine_embedding_loss", "(3,)"]),
        (lambda: L.l1_loss(fnp.zeros((2, 3)), fnp.zeros(4)), ["l1_loss", "(4,)", "broadcast"]),
        (lambda: L.l1_loss(fnp.zeros(3), fnp.zeros(3), weight=fnp.ones(2)), ["l1_loss", "weight", "(2,)"]),
    ],
)  # fmt: skip
def test_bad_input_raises_naming_the_loss_argument_and_value(call, words):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_invalid_values_under_jit_give_nan_not_a_number():
    ce = funcgrad.jit(lambda x, t: L.cross_entropy(x, t, reduction="none"))
    out = np.asarray(ce(fnp.zeros((3, 3)), fnp.asarray([0, 5, -100])))
    assert np.isnan(out[1]) and out[0] == pytest.approx(math.log(3)) and out[2] == 0.0
    nll = funcgrad.jit(lambda x, t: L.nll_loss(x, t))
    assert np.isnan(float(nll(fnp.zeros((2, 3)), fnp.asarray([0, -1]))))
    bce = funcgrad.jit(lambda x: L.binary_cross_entropy(x, fnp.ones(2), reduction="none"))
    out = np.asarray(bce(fnp.asarray([1.5, 0.5])))
    assert np.isnan(out[0]) and out[1] == pytest.approx(math.log(2))
    g = funcgrad.jit(lambda v: L.gaussian_nll_loss(fnp.zeros(2), fnp.ones(2), v, reduction="none"))
    assert np.isnan(np.asarray(g(fnp.asarray([-1.0, 1.0])))[0])
    mm = funcgrad.jit(lambda t: L.multi_margin_loss(fnp.zeros((2, 3)), t, reduction="none"))
    assert np.isnan(np.asarray(mm(fnp.asarray([0, 3])))[1])
    ml = funcgrad.jit(lambda t: L.multilabel_margin_loss(fnp.zeros((1, 3)), t))
    assert np.isnan(float(ml(fnp.asarray([[5, -1, 0]]))))
    # vmap sees traced values too
    per = funcgrad.vmap(lambda x, t: L.cross_entropy(x, t))(fnp.zeros((2, 3)), fnp.asarray([1, 9]))
    assert np.isnan(np.asarray(per)[1]) and np.isfinite(np.asarray(per)[0])


def test_legacy_size_average_and_reduce_map_to_reduction():
    x, y = fnp.asarray([1.0, 3.0]), fnp.zeros(2)
    with pytest.warns(UserWarning, match="reduction='sum'"):
        close(L.mse_loss(x, y, size_average=False), 10.0)
    with pytest.warns(UserWarning, match="reduction='none'"):
        close(L.mse_loss(x, y, reduce=False), [1.0, 9.0])
    with pytest.warns(UserWarning, match="broadcast"):
        close(L.mse_loss(fnp.ones((2, 2)), fnp.zeros(2)), 1.0)


# --- transformations: jit == eager, vmap == loop, gradients ------------------------------------

_R = np.random.default_rng(7)
_X23 = _R.standard_normal((2, 3))
_Y23 = _R.standard_normal((2, 3))
_P23 = _R.random((2, 3)) * 0.8 + 0.1
_T2 = np.array([2, 0])
_S2 = np.array([1.0, -1.0])
_POS = _R.random((2, 3)) + 0.2

# name -> (function of the differentiable arrays, those arrays for one example, batch of 2)
CASES = {
    "l1_loss": (lambda x, y: L.l1_loss(x, y, weight=fnp.asarray([1.0, 2.0, 0.5])), (_X23[0], _Y23[0])),
    "mse_loss": (lambda x, y: L.mse_loss(x, y), (_X23[0], _Y23[0])),
    "huber_loss": (lambda x, y: L.huber_loss(x, 2 * y, delta=0.7), (_X23[0], _Y23[0])),
    "smooth_l1_loss": (lambda x, y: L.smooth_l1_loss(x, 2 * y, beta=0.7), (_X23[0], _Y23[0])),
    "cross_entropy": (lambda x: L.cross_entropy(x, fnp.asarray(2), fnp.asarray([1.0, 2.0, 3.0]), label_smoothing=0.1), (_X23[0],)),
    "cross_entropy_probs": (lambda x, y: L.cross_entropy(x, nn.softmax(y)), (_X23[0], _Y23[0])),
    "nll_loss": (lambda x: L.nll_loss(nn.log_softmax(x), fnp.asarray(1)), (_X23[0],)),
    "binary_cross_entropy": (lambda p, y: L.binary_cross_entropy(p, y, fnp.asarray([1.0, 0.5, 2.0])), (_P23[0], _P23[1])),
    "binary_cross_entropy_with_logits": (lambda x, y: L.binary_cross_entropy_with_logits(x, y, pos_weight=fnp.asarray([1.0, 3.0, 0.5])), (_X23[0], _P23[0])),
    "kl_div": (lambda x, y: L.kl_div(nn.log_softmax(x), nn.softmax(y), reduction="batchmean"), (_X23[0], _Y23[0])),
    "poisson_nll_loss": (lambda x: L.poisson_nll_loss(x, fnp.asarray([0.0, 2.0, 4.0]), full=True), (_X23[0],)),
    "poisson_nll_loss_linear": (lambda x: L.poisson_nll_loss(x, fnp.asarray([0.0, 2.0, 4.0]), log_input=False), (_POS[0],)),
    "gaussian_nll_loss": (lambda x, v: L.gaussian_nll_loss(x, fnp.zeros(3), v, full=True), (_X23[0], _POS[0])),
    "margin_ranking_loss": (lambda a, b: L.margin_ranking_loss(a, b, fnp.asarray([1.0, -1.0, 1.0]), 0.1), (_X23[0], _Y23[0])),
    "hinge_embedding_loss": (lambda x: L.hinge_embedding_loss(x, fnp.asarray([1.0, -1.0, -1.0]), 2.0), (_POS[0],)),
    "multilabel_margin_loss": (lambda x: L.multilabel_margin_loss(x, fnp.asarray([2, -1, 0])), (_X23[0],)),
    "soft_margin_loss": (lambda x: L.soft_margin_loss(x, fnp.asarray([1.0, -1.0, 1.0])), (_X23[0],)),
    "multilabel_soft_margin_loss": (lambda x, y: L.multilabel_soft_margin_loss(x, y, fnp.asarray([1.0, 2.0, 3.0])), (_X23[0], _P23[0])),
    "cosine_embedding_loss": (lambda a, b: L.cosine_embedding_loss(a, b, fnp.asarray(-1.0), -0.5), (_X23[0], _Y23[0])),
    "multi_margin_loss": (lambda x: L.multi_margin_loss(x, fnp.asarray(1), p=2, margin=2.0, weight=fnp.asarray([1.0, 2.0, 3.0])), (_X23[0],)),
    "triplet_margin_loss": (lambda a, p, n: L.triplet_margin_loss(a, p, n, margin=3.0, p=3, swap=True), (_X23[0], _Y23[0], _POS[0])),
    "triplet_margin_with_distance_loss": (lambda a, p, n: L.triplet_margin_with_distance_loss(a, p, n, margin=3.0), (_X23[0], _Y23[0], _POS[0])),
}  # fmt: skip


def _batch(arrays):
    """Two examples per argument: the case's own and a shifted one."""
    return tuple(np.stack([a, np.roll(a, 1) * 0.9 + 0.05]) for a in arrays)


@pytest.mark.parametrize("name", sorted(CASES))
def test_jit_equals_eager_and_vmap_equals_a_loop(name):
    fn, arrays = CASES[name]
    args = tuple(fnp.asarray(a) for a in arrays)
    eager = fn(*args)
    jitted = funcgrad.jit(fn)(*args)
    assert jitted.shape == eager.shape and jitted.dtype == eager.dtype
    close(jitted, eager, rtol=1e-12, atol=1e-12)
    batch = tuple(fnp.asarray(b) for b in _batch(arrays))
    mapped = funcgrad.vmap(fn)(*batch)
    loop = np.stack([np.asarray(fn(*(b[i] for b in batch))) for i in range(2)])
    close(mapped, loop, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients(name):
    fn, arrays = CASES[name]
    check_grads(fn, tuple(fnp.asarray(a) for a in arrays), order=1, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(CASES))
def test_float32_stays_float32(name):
    fn, arrays = CASES[name]
    out = fn(*(fnp.asarray(a.astype(np.float32)) for a in arrays))
    assert out.dtype == np.float32
    close(out, fn(*(fnp.asarray(a) for a in arrays)), rtol=1e-5, atol=1e-6)
