"""Wrappers' semantics against hand-written NumPy expectations.

masked / partition / freeze leave the other leaves untouched; MultiSteps equals one step
on the averaged (or summed) gradient; apply_every emits sums; apply_if_finite skips
non-finite updates; inject_hyperparams changes the learning rate without retracing;
lookahead's slow/fast params; flatten; contrib.reduce_on_plateau's patience/cooldown.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as fnp
import transforms
from funcgrad import tree_util
from transforms import pytorch

RNG = np.random.default_rng(1)


def _tree(*shapes):
    return {f"p{i}": fnp.asarray(RNG.normal(size=s)) for i, s in enumerate(shapes)}


def _np(tree):
    return tree_util.tree_map(np.asarray, tree)


def _ref_adam(grads_seq, lr, b1=0.9, b2=0.999, eps=1e-8):
    """Adam (PyTorch form) updates for one array over a sequence of gradients."""
    m = v = 0.0
    out = []
    for t, g in enumerate(grads_seq, 1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        out.append(-lr * (m / (1 - b1**t)) / (np.sqrt(v) / np.sqrt(1 - b2**t) + eps))
    return out


def test_masked_transforms_masked_in_leaves_and_passes_the_rest_through():
    params = {"w": fnp.ones((2, 3)), "b": fnp.ones(3), "nested": {"k": fnp.ones(2)}}
    grads = tree_util.tree_map(lambda x: fnp.asarray(RNG.normal(size=x.shape)), params)
    mask = {"w": True, "b": False, "nested": True}  # a prefix of the params
    tx = transforms.masked(pytorch.adam(lr=0.1), mask)
    state = tx.init(params)
    # the inner state holds nothing for the masked-out leaf
    assert isinstance(state.inner_state[2].exp_avg["b"], transforms.MaskedNode)
    g_np = _np(grads)
    for step in range(3):
        u, state = tx.update(grads, state, params)
        np.testing.assert_array_equal(np.asarray(u["b"]), g_np["b"])  # untouched
        expected_w = _ref_adam([g_np["w"]] * (step + 1), 0.1)[-1]
        np.testing.assert_allclose(np.asarray(u["w"]), expected_w, rtol=1e-12)
        expected_k = _ref_adam([g_np["nested"]["k"]] * (step + 1), 0.1)[-1]
        np.testing.assert_allclose(np.asarray(u["nested"]["k"]), expected_k, rtol=1e-12)
    jitted = funcgrad.jit(tx.update)
    u2, _ = jitted(grads, tx.init(params), params)
    np.testing.assert_array_equal(np.asarray(u2["b"]), g_np["b"])


def test_masked_with_callable_mask_and_bad_mask_structure():
    params = {"w": fnp.ones((2, 2)), "b": fnp.ones(2)}
    tx = transforms.masked(pytorch.sgd(lr=1.0), lambda p: {k: v.ndim == 2 for k, v in p.items()})
    u, _ = tx.update(params, tx.init(params), params)
    assert u["w"].tolist() == [[-1.0, -1.0], [-1.0, -1.0]] and u["b"].tolist() == [1.0, 1.0]
    bad = transforms.masked(pytorch.sgd(lr=1.0), {"w": True, "c": False})
    with pytest.raises(ValueError, match="masked.init: the mask"):
        bad.init(params)


def test_partition_per_group_learning_rates_and_frozen_group():
    params = {"backbone": _tree((3,), (2, 2)), "head": _tree((2,)), "embed": fnp.ones(4)}
    labels = {"backbone": "slow", "head": "fast", "embed": "frozen"}
    tx = transforms.multi_transform(
        {"slow": pytorch.sgd(lr=0.01, momentum=0.9), "fast": pytorch.adam(lr=0.1),
         "frozen": transforms.set_to_zero()}, labels)  # fmt: skip
    state = tx.init(params)
    step = funcgrad.jit(lambda g, s, p: tx.update(g, s, p))
    grads_seq = [tree_util.tree_map(lambda x: fnp.asarray(RNG.normal(size=x.shape)), params)
                 for _ in range(4)]  # fmt: skip
    buf = None
    for i, g in enumerate(grads_seq):
        u, state = step(g, state, params)
        gb = _np(g)["backbone"]["p0"]
        buf = gb if buf is None else 0.9 * buf + gb
        np.testing.assert_allclose(np.asarray(u["backbone"]["p0"]), -0.01 * buf, rtol=1e-12)
        head = _ref_adam([_np(x)["head"]["p0"] for x in grads_seq[: i + 1]], 0.1)[-1]
        np.testing.assert_allclose(np.asarray(u["head"]["p0"]), head, rtol=1e-12)
        assert np.all(np.asarray(u["embed"]) == 0)
    with pytest.raises(ValueError, match="partition.init: labels"):
        transforms.partition({"slow": pytorch.sgd()}, labels).init(params)


def test_freeze_and_selective_transform():
    params = {"a": fnp.ones(2), "b": fnp.ones(2)}
    freezer = transforms.freeze({"a": True, "b": False})
    u, _ = freezer.update(params, freezer.init(params))
    assert u["a"].tolist() == [0.0, 0.0] and u["b"].tolist() == [1.0, 1.0]
    tx = transforms.selective_transform(pytorch.adam(lr=0.1), freeze_mask={"a": False, "b": True})
    state = tx.init(params)
    u, state = tx.update(params, state, params)
    assert u["b"].tolist() == [0.0, 0.0]
    np.testing.assert_allclose(np.asarray(u["a"]), [-0.1, -0.1], rtol=1e-6)
    frozen_inner = state.inner_states["train"].inner_state[2].exp_avg["b"]
    assert isinstance(frozen_inner, transforms.MaskedNode)  # no state for frozen leaves


@pytest.mark.parametrize("use_grad_mean", [True, False])
def test_multisteps_equals_one_step_on_the_mean_or_sum(use_grad_mean):
    k = 3
    params = _tree((2, 3), (4,))
    inner = pytorch.adam(lr=0.05)
    multi = transforms.MultiSteps(inner, every_k_schedule=k, use_grad_mean=use_grad_mean)
    plain_state, multi_state = inner.init(params), multi.init(params)
    step = funcgrad.jit(multi.update)
    for cycle in range(4):
        grads = [tree_util.tree_map(lambda x: fnp.asarray(RNG.normal(size=x.shape)), params)
                 for _ in range(k)]  # fmt: skip
        for j, g in enumerate(grads):
            u, multi_state = step(g, multi_state, params)
            if j < k - 1:
                assert all(np.all(np.asarray(x) == 0) for x in tree_util.tree_leaves(u))
                assert not bool(multi.has_updated(multi_state))
        combined = tree_util.tree_map(
            lambda *gs: sum(np.asarray(x) for x in gs) / (k if use_grad_mean else 1), *grads
        )
        expected, plain_state = inner.update(tree_util.tree_map(fnp.asarray, combined),
                                             plain_state, params)  # fmt: skip
        assert bool(multi.has_updated(multi_state))
        assert int(multi_state.gradient_step) == cycle + 1
        for a, b in zip(tree_util.tree_leaves(u), tree_util.tree_leaves(expected)):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-14)


def test_multisteps_skips_non_finite_mini_steps():
    multi = transforms.MultiSteps(pytorch.sgd(lr=1.0), 2,
                                  should_skip_update_fn=transforms.skip_not_finite)  # fmt: skip
    state = multi.init(fnp.zeros(1))
    _, state = multi.update(fnp.asarray([1.0]), state)
    u, state = multi.update(fnp.asarray([np.nan]), state)  # skipped: as if it never happened
    assert u.tolist() == [0.0] and int(state.mini_step) == 1
    assert int(state.skip_state["num_not_finite"]) == 1
    u, state = multi.update(fnp.asarray([3.0]), state)
    assert u.tolist() == [-2.0]
    skip_big = functools.partial(transforms.skip_large_updates, max_squared_norm=4.0)
    multi = transforms.MultiSteps(pytorch.sgd(lr=1.0), 1, should_skip_update_fn=skip_big)
    u, _ = multi.update(fnp.asarray([3.0]), multi.init(fnp.zeros(1)))
    assert u.tolist() == [0.0]
    with pytest.raises(ValueError, match="MultiSteps: every_k_schedule"):
        transforms.MultiSteps(pytorch.sgd(), 0)


def test_apply_every_emits_the_sum_every_k_calls():
    tx = transforms.chain(transforms.apply_every(3), pytorch.sgd(lr=1.0))
    state = tx.init(fnp.zeros(2))
    grads = RNG.normal(size=(9, 2))
    step = funcgrad.jit(tx.update)
    for i, g in enumerate(grads):
        u, state = step(fnp.asarray(g), state)
        expected = -grads[i - 2 : i + 1].sum(0) if i % 3 == 2 else np.zeros(2)
        np.testing.assert_allclose(np.asarray(u), expected, rtol=1e-12, atol=0)


def test_apply_if_finite_skips_then_gives_up():
    tx = transforms.apply_if_finite(pytorch.sgd(lr=1.0, momentum=0.5), max_consecutive_errors=2)
    state = tx.init(fnp.zeros(1))
    u, state = tx.update(fnp.asarray([1.0]), state)
    assert u.tolist() == [-1.0]
    for n in (1, 2):
        u, state = tx.update(fnp.asarray([np.inf]), state)
        assert u.tolist() == [0.0] and int(state.notfinite_count) == n
    u, state = tx.update(fnp.asarray([2.0]), state)  # momentum buffer was not polluted
    assert u.tolist() == [-(0.5 * 1.0 + 2.0)] and bool(state.last_finite)
    for _ in range(3):
        u, state = tx.update(fnp.asarray([np.nan]), state)
    assert np.isnan(u.item()) and int(state.total_notfinite) == 5  # gave up after 2


def test_inject_hyperparams_changes_lr_without_retracing():
    traces = []
    opt = transforms.inject_hyperparams(pytorch.adam)(lr=0.1)
    params = fnp.zeros(3)

    def step(g, state):
        traces.append(1)
        return opt.update(g, state, params)

    step = funcgrad.jit(step)
    state = opt.init(params)
    g = fnp.asarray([1.0, -2.0, 0.5])
    lrs = [0.1, 0.05, 0.2, 0.01]
    expected = _ref_adam([np.asarray(g)] * 4, 1.0)
    for lr, e in zip(lrs, expected):
        state.hyperparams["lr"] = fnp.asarray(lr)
        u, state = step(g, state)
        np.testing.assert_allclose(np.asarray(u), lr * e, rtol=1e-12)
    assert len(traces) == 1


def test_inject_hyperparams_with_a_schedule_and_float32():
    sched = transforms.linear_schedule(1.0, 0.0, 4)
    opt = transforms.inject_hyperparams(pytorch.sgd)(lr=sched)
    p = fnp.zeros(2, dtype=fnp.float32)
    state = opt.init(p)
    for t in range(5):
        u, state = opt.update(fnp.ones(2, dtype=fnp.float32), state, p)
        assert u.dtype == np.float32 and state.hyperparams["lr"].dtype == np.float32
        assert u.tolist() == pytest.approx([-(1 - min(t, 4) / 4)] * 2)
    with pytest.raises(ValueError, match="inject_hyperparams: static_args"):
        transforms.inject_hyperparams(pytorch.sgd, static_args="learning_rate")


def test_lookahead_slow_and_fast_params():
    opt = transforms.lookahead(pytorch.sgd(lr=0.1), sync_period=3, slow_step_size=0.5)
    params = transforms.LookaheadParams.init_synced(fnp.asarray([1.0, -1.0]))
    state = opt.init(params)
    fast = slow = np.array([1.0, -1.0])
    for i in range(9):
        g = 2 * fast
        u, state = opt.update(fnp.asarray(g), state, params)
        params = transforms.apply_updates(params, u)
        fast = fast - 0.1 * g
        if i % 3 == 2:
            slow = slow + 0.5 * (fast - slow)
            fast = slow.copy()
        np.testing.assert_allclose(np.asarray(params.fast), fast, rtol=1e-12)
        np.testing.assert_allclose(np.asarray(params.slow), slow, rtol=1e-12)
    with pytest.raises(ValueError, match="lookahead.update: params must be"):
        opt.update(fnp.ones(2), state, fnp.ones(2))


def test_flatten_equals_the_unflattened_optimizer():
    params = _tree((2, 3), (4,), ())
    grads = tree_util.tree_map(lambda x: fnp.asarray(RNG.normal(size=np.shape(x))), params)
    a_tx, b_tx = transforms.flatten(pytorch.adam(lr=0.1)), pytorch.adam(lr=0.1)
    a_state, b_state = a_tx.init(params), b_tx.init(params)
    for _ in range(3):
        a, a_state = a_tx.update(grads, a_state, params)
        b, b_state = b_tx.update(grads, b_state, params)
    for x, y in zip(tree_util.tree_leaves(a), tree_util.tree_leaves(b)):
        assert x.shape == y.shape
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-12)


def _ref_reduce_on_plateau(values, factor, patience, rtol, atol, cooldown, acc, min_scale):
    """optax.contrib.reduce_on_plateau's documented logic, one value at a time."""
    scale, best, plateau, cool, count, total = 1.0, np.inf, 0, 0, 0, 0.0
    scales = []
    for v in values:
        count += 1
        total += v
        if count == acc:
            avg = total / acc
            count, total = 0, 0.0
            if avg < (1 - rtol) * best - atol:
                best, plateau = avg, 0
            else:
                plateau += 1
            if cool > 0:
                cool -= 1
                plateau = 0
            elif plateau == patience:
                scale = max(scale * factor, min_scale)
                plateau, cool = 0, cooldown
        scales.append(scale)
    return scales


@pytest.mark.parametrize("patience,cooldown,acc", [(2, 0, 1), (3, 2, 1), (1, 1, 3)])
def test_reduce_on_plateau_patience_and_cooldown(patience, cooldown, acc):
    kwargs = dict(factor=0.5, patience=patience, rtol=1e-3, atol=0.01, cooldown=cooldown,
                  accumulation_size=acc, min_scale=0.05)  # fmt: skip
    tx = transforms.contrib.reduce_on_plateau(**kwargs)
    values = np.concatenate([np.linspace(3, 1, 10), np.full(30, 1.0), np.linspace(1, 0.5, 10)])
    expected = _ref_reduce_on_plateau(values, **{k: v for k, v in
                                                 zip(["factor", "patience", "rtol", "atol",
                                                      "cooldown", "acc", "min_scale"],
                                                     kwargs.values())})  # fmt: skip
    step = funcgrad.jit(lambda u, s, v: tx.update(u, s, value=v))
    state = tx.init(fnp.zeros(1))
    for v, e in zip(values, expected):
        u, state = step(fnp.ones(1), state, fnp.asarray(v))
        assert float(state.scale) == pytest.approx(e) and u.item() == pytest.approx(e)
    assert min(expected) < 1.0
    with pytest.raises(ValueError, match="reduce_on_plateau.update: pass the monitored value"):
        tx.update(fnp.ones(1), state)
    with pytest.raises(ValueError, match="reduce_on_plateau: factor"):
        transforms.contrib.reduce_on_plateau(factor=1.5)
