"""The state mechanism: BatchNorm's running statistics against PyTorch's update formula,
threaded through combinators and through jitted training steps, under grad and vmap."""

from __future__ import annotations

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as fnp
import stax
from funcgrad import random

KEY = random.key(0)


def _batches(n, shape, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) * 2 + 1 for _ in range(n)]


def _torch_running_stats(batches, axes, momentum):
    """PyTorch's BatchNorm update, written from its documentation."""
    mean, var = None, None
    for t, x in enumerate(batches):
        n = np.prod([x.shape[a] for a in axes])
        bm, bv = x.mean(axis=axes), x.var(axis=axes) * n / (n - 1)  # unbiased in the estimate
        if mean is None:
            mean, var = np.zeros_like(bm), np.ones_like(bv)
        f = 1.0 / (t + 1) if momentum is None else momentum
        mean, var = (1 - f) * mean + f * bm, (1 - f) * var + f * bv
    return mean, var


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batchnorm_running_stats_follow_pytorch(momentum):
    layer = stax.BatchNorm(momentum=momentum)
    shape = (4, 3, 3, 2)
    _, params = layer[0](KEY, (-1, *shape[1:]))
    _, state = layer.init_state((-1, *shape[1:]))
    assert isinstance(state, stax.BatchNormState)
    np.testing.assert_array_equal(np.asarray(state.mean), np.zeros(2))
    np.testing.assert_array_equal(np.asarray(state.var), np.ones(2))
    batches = _batches(3, shape)
    for x in batches:
        y, state = layer.apply_with_state(params, state, fnp.asarray(x))
        # training output: batch statistics (biased variance), as JAX's apply_fun
        mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
        np.testing.assert_allclose(np.asarray(y), (x - mean) / np.sqrt(var + 1e-5), atol=1e-10)
    want_mean, want_var = _torch_running_stats(batches, (0, 1, 2), momentum)
    np.testing.assert_allclose(np.asarray(state.mean), want_mean, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(state.var), want_var, rtol=1e-12)
    assert int(state.count) == 3
    # evaluation: the running statistics, state unchanged
    x = _batches(1, shape, seed=9)[0]
    beta, gamma = fnp.asarray([0.5, -1.0]), fnp.asarray([2.0, 3.0])
    y, same = layer.apply_with_state((beta, gamma), state, fnp.asarray(x), is_training=False)
    want = (x - want_mean) / np.sqrt(want_var + 1e-5) * np.asarray(gamma) + np.asarray(beta)
    np.testing.assert_allclose(np.asarray(y), want, atol=1e-10)
    assert same is state


def test_plain_apply_is_jaxs_and_refuses_evaluation():
    layer = stax.BatchNorm(axis=(0,))
    _, params = layer[0](KEY, (-1, 3))
    x = fnp.asarray(_batches(1, (5, 3))[0])
    y_plain = layer[1](params, x)
    _, state = layer.init_state((-1, 3))
    y_state, _ = layer.apply_with_state(params, state, x, is_training=True)
    np.testing.assert_array_equal(np.asarray(y_plain), np.asarray(y_state))
    with pytest.raises(stax.LayerError, match="apply_with_state"):
        layer[1](params, x, is_training=False)
    free = stax.BatchNorm(axis=(0,), track_running_stats=False)
    assert not free.stateful and free.init_state((-1, 3)) == ((-1, 3), ())
    np.testing.assert_array_equal(np.asarray(free[1](params, x, mode="test")), np.asarray(y_plain))


def _net():
    return stax.serial(
        stax.Dense(4),
        stax.FanOut(2),
        stax.parallel(stax.BatchNorm1D(), stax.serial(stax.Relu, stax.BatchNorm1D(momentum=0.5))),
        stax.FanInConcat(),
        stax.shape_dependent(lambda s: stax.serial(stax.BatchNorm(axis=(0,)), stax.Dense(1))),
    )


def test_state_layout_mirrors_params_through_combinators():
    net = _net()
    _, params = net[0](KEY, (-1, 3))
    out_shape, state = net.init_state((-1, 3))
    assert out_shape == (-1, 1)
    assert state[0] == () and state[1] == () and state[3] == ()
    assert isinstance(state[2], tuple) and isinstance(state[2][0], stax.BatchNormState)
    assert state[2][1][0] == () and isinstance(state[2][1][1], stax.BatchNormState)
    assert isinstance(state[4][0], stax.BatchNormState) and state[4][1] == ()
    assert state[4][0].mean.shape == (8,)
    # a stateless network: state () and the plain apply
    plain = stax.serial(stax.Dense(2), stax.Relu)
    assert not plain.stateful
    assert plain.init_state((-1, 3)) == ((-1, 2), ())
    _, pparams = plain[0](KEY, (-1, 3))
    y, s = plain.apply_with_state(pparams, (), fnp.ones((1, 3)))
    assert s == () and np.array_equal(
        np.asarray(y), np.asarray(plain[1](pparams, fnp.ones((1, 3))))
    )


def test_nested_running_stats_are_the_branch_activations_stats():
    net = _net()
    _, params = net[0](KEY, (-1, 3))
    _, state = net.init_state((-1, 3))
    x = _batches(1, (6, 3))[0]
    _, new = net.apply_with_state(params, state, fnp.asarray(x))
    w, b = (np.asarray(p) for p in params[0])
    h = x @ w + b
    m, v = _torch_running_stats([h], (0,), 0.1)
    np.testing.assert_allclose(np.asarray(new[2][0].mean), m, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(new[2][0].var), v, rtol=1e-12)
    m, v = _torch_running_stats([np.maximum(h, 0)], (0,), 0.5)
    np.testing.assert_allclose(np.asarray(new[2][1][1].mean), m, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.asarray(new[2][1][1].var), v, rtol=1e-12)


def test_state_threads_through_a_jitted_training_step():
    net = stax.serial(stax.BatchNorm(axis=(0,)), stax.Dense(1))
    _, params = net[0](KEY, (-1, 3))
    _, state = net.init_state((-1, 3))

    def loss(params, state, x, y):
        pred, state = net.apply_with_state(params, state, x, is_training=True)
        return fnp.mean((pred[:, 0] - y) ** 2), state

    def step(params, state, x, y):
        (value, state), grads = funcgrad.value_and_grad(loss, has_aux=True)(params, state, x, y)
        params = funcgrad.tree_util.tree_map(lambda p, g: p - 0.1 * g, params, grads)
        return params, state, value

    jitted = funcgrad.jit(step)
    batches = _batches(4, (8, 3), seed=3)
    targets = [np.sum(x, axis=1) for x in batches]
    p_e, s_e, p_j, s_j = params, state, params, state
    losses = []
    for x, y in zip(batches, targets):
        p_e, s_e, _ = step(p_e, s_e, fnp.asarray(x), fnp.asarray(y))
        p_j, s_j, value = jitted(p_j, s_j, fnp.asarray(x), fnp.asarray(y))
        losses.append(float(value))
    for a, b in zip(
        funcgrad.tree_util.tree_leaves((p_e, s_e)), funcgrad.tree_util.tree_leaves((p_j, s_j))
    ):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10)
    m, v = _torch_running_stats(batches, (0,), 0.1)  # the first layer sees the raw data
    np.testing.assert_allclose(np.asarray(s_j[0].mean), m, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(s_j[0].var), v, rtol=1e-12)
    assert int(s_j[0].count) == 4 and s_j[0].count.dtype == np.int64
    assert losses[-1] < losses[0]
    # evaluation, jitted with the flag closed over, reads the state
    evaluate = funcgrad.jit(lambda p, s, x: net.apply_with_state(p, s, x, is_training=False)[0])
    x = batches[0]
    w, b = (np.asarray(t) for t in p_j[1])
    beta, gamma = (np.asarray(t) for t in p_j[0])
    want = ((x - m) / np.sqrt(v + 1e-5) * gamma + beta) @ w + b
    np.testing.assert_allclose(np.asarray(evaluate(p_j, s_j, fnp.asarray(x))), want, rtol=1e-10)


def test_state_under_vmap_and_grad_wrt_params_equals_plain_apply():
    net = stax.serial(stax.Dense(3), stax.BatchNorm(axis=(0,)), stax.Relu)
    _, params = net[0](KEY, (-1, 2))
    _, state = net.init_state((-1, 2))
    xs = fnp.asarray(np.stack(_batches(3, (4, 2), seed=5)))
    ys, states = funcgrad.vmap(lambda x: net.apply_with_state(params, state, x))(xs)
    for i in range(3):
        y, s = net.apply_with_state(params, state, xs[i])
        np.testing.assert_allclose(np.asarray(ys[i]), np.asarray(y), rtol=1e-12)
        np.testing.assert_allclose(np.asarray(states[1].mean[i]), np.asarray(s[1].mean), rtol=1e-12)
    g_state = funcgrad.grad(lambda p: fnp.sum(net.apply_with_state(p, state, xs[0])[0]))(params)
    g_plain = funcgrad.grad(lambda p: fnp.sum(net[1](p, xs[0])))(params)
    for a, b in zip(
        funcgrad.tree_util.tree_leaves(g_state), funcgrad.tree_util.tree_leaves(g_plain)
    ):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12)


def test_state_errors_and_dtypes():
    layer = stax.BatchNorm2D(dtype=np.float32)
    _, params = layer[0](KEY, (-1, 2, 2, 3))
    _, state = layer.init_state((-1, 2, 2, 3))
    assert state.mean.dtype == np.float32
    x = fnp.asarray(_batches(1, (2, 2, 2, 3))[0])
    _, new = layer.apply_with_state(params, state, x)
    assert new.mean.dtype == np.float32 and new.var.dtype == np.float32
    with pytest.raises(stax.LayerError, match="state must be a BatchNormState"):
        layer.apply_with_state(params, (), x)
    with pytest.raises(stax.LayerError, match=r"BatchNorm2D: expects inputs of rank 4"):
        layer.apply_with_state(params, state, fnp.ones((2, 3)))
    with pytest.raises(stax.LayerError, match="more than one value per channel"):
        stax.BatchNorm1D().apply_with_state(
            stax.BatchNorm1D()[0](KEY, (-1, 3))[1],
            stax.BatchNorm1D().init_state((-1, 3))[1],
            fnp.ones((1, 3)),
        )
    net = stax.serial(stax.Dense(2), stax.BatchNorm(axis=(0,)))
    _, p = net[0](KEY, (-1, 3))
    with pytest.raises(
        stax.LayerError,
        match=r"serial: state must be a list or tuple with one entry per layer \(2\)",
    ):
        net.apply_with_state(p, [()], fnp.ones((2, 3)))
