"""stax.losses.ctc_loss against two independent oracles.

* a brute-force sum over every alignment (all C**T frame labellings whose collapse --
  merge repeats, drop blanks -- is the target), for tiny T and C;
* the textbook forward recursion in probability space (Graves et al., 2006), for longer
  sequences.

Gradients are checked with check_grads and against the brute-force posterior: through
log_softmax, d loss / d logits = softmax - gamma (what PyTorch returns too).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import nn
from funcgrad.test_util import check_grads
from stax import losses as L


def collapse(path, blank):
    out, prev = [], None
    for c in path:
        if c != prev and c != blank:
            out.append(c)
        prev = c
    return out


def brute_force(lp, target, frames, blank):
    """-log of the summed probability of every alignment of ``target`` in ``frames`` frames,
    and the posterior gamma[t, c] of class c at frame t."""
    probs = np.exp(lp)
    total, gamma = 0.0, np.zeros_like(lp)
    for path in itertools.product(range(lp.shape[1]), repeat=frames):
        if collapse(path, blank) == list(target):
            p = np.prod([probs[t, c] for t, c in enumerate(path)]) if frames else 1.0
            total += p
            for t, c in enumerate(path):
                gamma[t, c] += p
    loss = -math.log(total) if total > 0 else math.inf
    return loss, gamma / total if total > 0 else gamma


def forward_probabilities(lp, target, frames, blank):
    """The forward recursion in probability space: alpha over l' = b l1 b l2 ... lL b."""
    ext = [blank]
    for c in target:
        ext += [c, blank]
    probs = np.exp(lp)
    alpha = np.zeros(len(ext))
    if frames == 0:
        return 0.0 if not target else math.inf
    alpha[0] = probs[0, blank]
    if len(ext) > 1:
        alpha[1] = probs[0, ext[1]]
    for t in range(1, frames):
        new = np.zeros_like(alpha)
        for s in range(len(ext)):
            a = alpha[s] + (alpha[s - 1] if s >= 1 else 0.0)
            if s >= 2 and ext[s] != blank and ext[s] != ext[s - 2]:
                a += alpha[s - 2]
            new[s] = a * probs[t, ext[s]]
        alpha = new
    p = alpha[-1] + (alpha[-2] if len(ext) > 1 else 0.0)
    return -math.log(p) if p > 0 else math.inf


def reduce_ref(losses, target_lengths, reduction):
    losses = np.asarray(losses, dtype=float)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return np.mean(losses / np.maximum(target_lengths, 1)) if len(losses) else np.nan


def close(actual, expected, rtol=1e-9, atol=1e-10):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)


@st.composite
def ctc_problem(draw, max_t=5, max_c=3, max_s=3):
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    t = draw(st.integers(1, max_t))
    c = draw(st.integers(2, max_c))
    n = draw(st.integers(1, 3))
    s = draw(st.integers(0, max_s))
    blank = draw(st.integers(0, c - 1))
    logits = rng.standard_normal((t, n, c)) * draw(st.sampled_from([1.0, 3.0]))
    lp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    labels = [k for k in range(c) if k != blank]
    targets = rng.choice(labels, (n, s)) if s else np.zeros((n, 0), int)
    target_lengths = rng.integers(0, s + 1, n)
    input_lengths = rng.integers(0, t + 1, n)
    input_lengths[0] = t  # at least one full-length entry
    return lp, targets, input_lengths, target_lengths, blank


@given(ctc_problem(max_t=4), st.sampled_from(["none", "mean", "sum"]), st.booleans(), st.booleans())
def test_against_the_sum_over_all_alignments(problem, reduction, zero_infinity, concatenated):
    lp, targets, input_lengths, target_lengths, blank = problem
    refs = [brute_force(lp[: input_lengths[i], i], targets[i, : target_lengths[i]],
                        input_lengths[i], blank)[0] for i in range(lp.shape[1])]  # fmt: skip
    if zero_infinity:
        refs = [0.0 if math.isinf(r) else r for r in refs]
    if concatenated:
        flat = np.concatenate([targets[i, : target_lengths[i]] for i in range(lp.shape[1])])
        given_targets = fnp.asarray(flat.astype(np.int64))
    else:
        given_targets = fnp.asarray(targets)
    got = L.ctc_loss(fnp.asarray(lp), given_targets, fnp.asarray(input_lengths),
                     fnp.asarray(target_lengths), blank, reduction, zero_infinity)  # fmt: skip
    close(got, reduce_ref(refs, target_lengths, reduction))


@given(ctc_problem(max_t=10, max_c=6, max_s=4))
def test_against_the_probability_space_recursion(problem):
    lp, targets, input_lengths, target_lengths, blank = problem
    got = L.ctc_loss(fnp.asarray(lp), fnp.asarray(targets), fnp.asarray(input_lengths),
                     fnp.asarray(target_lengths), blank, reduction="none")  # fmt: skip
    refs = [forward_probabilities(lp[:, i], list(targets[i, : target_lengths[i]]),
                                  input_lengths[i], blank) for i in range(lp.shape[1])]  # fmt: skip
    close(got, refs, rtol=1e-9)


def test_repeated_labels_need_a_blank_between_them():
    lp = fnp.log(fnp.full((2, 1, 2), 0.5))
    # "aa" needs "a-a": 3 frames; in 2 frames it is impossible
    loss = L.ctc_loss(
        lp, fnp.asarray([[1, 1]]), fnp.asarray([2]), fnp.asarray([2]), reduction="sum"
    )
    assert math.isinf(float(loss))
    lp3 = fnp.log(fnp.full((3, 1, 2), 0.5))
    loss = L.ctc_loss(
        lp3, fnp.asarray([[1, 1]]), fnp.asarray([3]), fnp.asarray([2]), reduction="sum"
    )
    close(loss, 3 * math.log(2))  # the one alignment "a-a"


def test_golden_value_and_unbatched_form():
    lp = np.log(np.full((2, 2), 0.5))
    # "a" in 2 frames: "aa", "-a", "a-": probability 3/4
    got = L.ctc_loss(fnp.asarray(lp), fnp.asarray([1]), fnp.asarray(2), fnp.asarray(1),
                     reduction="none")  # fmt: skip
    assert got.shape == ()
    close(got, -math.log(0.75))
    # empty target: only the all-blank alignment
    close(L.ctc_loss(fnp.asarray(lp), fnp.zeros((0,), fnp.int32), fnp.asarray(2), fnp.asarray(0)),
          2 * math.log(2))  # fmt: skip


def _posterior_problem():
    rng = np.random.default_rng(5)
    t, n, c = 4, 2, 3
    logits = rng.standard_normal((t, n, c))
    targets = np.array([[1, 2], [2, 2]])
    input_lengths = np.array([4, 3])
    target_lengths = np.array([2, 1])
    return logits, targets, input_lengths, target_lengths


def test_gradient_through_log_softmax_is_softmax_minus_posterior():
    logits, targets, il, tl = _posterior_problem()

    def loss(x):
        return L.ctc_loss(nn.log_softmax(x, axis=-1), fnp.asarray(targets), fnp.asarray(il),
                          fnp.asarray(tl), reduction="sum")  # fmt: skip

    g = np.asarray(funcgrad.grad(loss)(fnp.asarray(logits)))
    soft = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    for i in range(logits.shape[1]):
        lp = np.log(soft[:, i])
        _, gamma = brute_force(lp[: il[i]], targets[i, : tl[i]], il[i], 0)
        expected = np.zeros_like(soft[:, i])
        expected[: il[i]] = soft[: il[i], i] - gamma
        close(g[:, i], expected, rtol=1e-9, atol=1e-12)
    # and the exact gradient w.r.t. log_probs themselves is -gamma (not PyTorch's p - gamma)
    lp = nn.log_softmax(fnp.asarray(logits), axis=-1)
    g_lp = funcgrad.grad(lambda lp: L.ctc_loss(lp, fnp.asarray(targets), fnp.asarray(il),
                                               fnp.asarray(tl), reduction="sum"))(lp)  # fmt: skip
    _, gamma = brute_force(np.asarray(lp)[:, 0], targets[0], 4, 0)
    close(np.asarray(g_lp)[:, 0], -gamma, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_check_grads(reduction):
    logits, targets, il, tl = _posterior_problem()

    def loss(lp):
        return L.ctc_loss(lp, fnp.asarray(targets), fnp.asarray(il), fnp.asarray(tl),
                          reduction=reduction)  # fmt: skip

    check_grads(loss, (nn.log_softmax(fnp.asarray(logits), axis=-1),), order=1, atol=1e-6,
                rtol=1e-6)  # fmt: skip


def test_zero_infinity_zeroes_the_loss_and_its_gradient():
    rng = np.random.default_rng(0)
    logits = fnp.asarray(rng.standard_normal((3, 2, 3)))
    targets = fnp.asarray([[1, 2, 1], [1, 0, 0]])
    il, tl = fnp.asarray([3, 3]), fnp.asarray([3, 1])  # entry 0 needs 3 frames: fits exactly

    def loss(x, zero_infinity, il=il, tl=tl, targets=targets):
        return L.ctc_loss(nn.log_softmax(x, axis=-1), targets, il, tl, reduction="sum",
                          zero_infinity=zero_infinity)  # fmt: skip

    short = fnp.asarray([2, 3])  # entry 0 now impossible
    assert math.isinf(float(loss(logits, False, short)))
    g = funcgrad.grad(lambda x: loss(x, True, short))(logits)
    g = np.asarray(g)
    assert np.isfinite(g).all() and np.all(g[:, 0] == 0)
    _, g_one = funcgrad.value_and_grad(
        lambda x: loss(x[:, 1:], False, short[1:], tl[1:], targets[1:])
    )(logits)
    close(g[:, 1], np.asarray(g_one)[:, 1], rtol=1e-12)  # the finite entry is untouched
    jitted = funcgrad.jit(funcgrad.grad(lambda x: loss(x, True, short)))
    close(jitted(logits), g, rtol=1e-12)


def test_extreme_logits_are_finite():
    x = np.full((4, 1, 3), -1000.0)
    x[:, 0, 1] = 1000.0  # every frame certain of class 1
    value, g = funcgrad.value_and_grad(
        lambda x: L.ctc_loss(nn.log_softmax(x, axis=-1), fnp.asarray([[1, 2]]), fnp.asarray([4]),
                             fnp.asarray([2]), reduction="sum"))(fnp.asarray(x))  # fmt: skip
    assert np.isfinite(float(value)) and np.isfinite(np.asarray(g)).all()
    close(value, 2000.0, rtol=1e-9)  # "1112": one frame switched to class 2 costs 2000


def test_jit_and_vmap_equal_eager():
    logits, targets, il, tl = _posterior_problem()
    lp = nn.log_softmax(fnp.asarray(logits), axis=-1)
    args = (lp, fnp.asarray(targets), fnp.asarray(il), fnp.asarray(tl))
    eager = L.ctc_loss(*args, reduction="none")
    jitted = funcgrad.jit(lambda *a: L.ctc_loss(*a, reduction="none"))(*args)
    assert jitted.shape == eager.shape and jitted.dtype == eager.dtype
    close(jitted, eager, rtol=1e-12)
    # vmap over the batch of unbatched (T, C) calls
    mapped = funcgrad.vmap(lambda lp, t, i, k: L.ctc_loss(lp, t, i, k, reduction="none"),
                           in_axes=(1, 0, 0, 0))(*args)  # fmt: skip
    close(mapped, eager, rtol=1e-12)
    g_eager = funcgrad.grad(lambda lp: L.ctc_loss(lp, *args[1:]))(lp)
    g_jit = funcgrad.jit(funcgrad.grad(lambda lp: L.ctc_loss(lp, *args[1:])))(lp)
    close(g_jit, g_eager, rtol=1e-12)
    # traced lengths and concatenated targets under jit
    flat = fnp.asarray([1, 2, 2])
    f = funcgrad.jit(lambda lp, il, tl: L.ctc_loss(lp, flat, il, tl, reduction="none"))
    close(f(lp, args[2], args[3]), eager, rtol=1e-12)
    lp32 = lp.astype(fnp.float32)
    assert L.ctc_loss(lp32, *args[1:]).dtype == np.float32


def test_empty_batch():
    lp = fnp.zeros((3, 0, 4))
    args = (fnp.zeros((0, 2), fnp.int32), fnp.zeros((0,), fnp.int32), fnp.zeros((0,), fnp.int32))
    assert np.isnan(float(L.ctc_loss(lp, *args)))
    assert float(L.ctc_loss(lp, *args, reduction="sum")) == 0.0
    assert L.ctc_loss(lp, *args, reduction="none").shape == (0,)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"input_lengths": [4, 3]}, ["input_lengths[0] = 4", "T=3"]),
        ({"target_lengths": [-1, 1]}, ["target_lengths[0] = -1"]),
        ({"target_lengths": [3, 1]}, ["target_lengths[0] = 3", "[0, 2]"]),
        ({"targets": [[0, 1], [1, 1]]}, ["target label 0", "blank"]),
        ({"targets": [[1, 5], [1, 1]], "target_lengths": [2, 1]}, ["target label 5", "[0, 3)"]),
        ({"targets": [1, 2, 1]}, ["concatenated targets have 3 labels", "sum to 2"]),
        ({"blank": 3}, ["blank", "3"]),
        ({"reduction": "batchmean"}, ["reduction", "'batchmean'"]),
        ({"input_lengths": [3]}, ["input_lengths of shape (1,)", "(2,)"]),
    ],
)
def test_bad_input_raises(kwargs, words):
    call = {"log_probs": fnp.zeros((3, 2, 3)), "targets": [[1, 2], [1, 1]],
            "input_lengths": [3, 3], "target_lengths": [1, 1]}  # fmt: skip
    call.update(kwargs)
    call = {k: fnp.asarray(v) if isinstance(v, list) else v for k, v in call.items()}
    with pytest.raises(ValueError) as info:
        L.ctc_loss(**call)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_invalid_values_under_jit_give_nan():
    lp = fnp.log(fnp.full((3, 3, 3), 1 / 3))
    f = funcgrad.jit(lambda tg, il, tl: L.ctc_loss(lp, tg, il, tl, reduction="none"))
    out = np.asarray(f(fnp.asarray([[1, 2], [0, 1], [1, 1]]), fnp.asarray([3, 3, 4]),
                       fnp.asarray([2, 1, 1])))  # fmt: skip
    assert np.isfinite(out[0]) and np.isnan(out[1]) and np.isnan(out[2])
