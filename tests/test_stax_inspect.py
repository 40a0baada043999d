"""stax.intermediates, intermediate_grads and grad_cam against NumPy written from the formulas,
hand-built networks and the networks' own apply; eager == jit."""

from __future__ import annotations

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as fnp
import stax
from funcgrad import random
from stax.inspect import parse_path, walk
from stax.protocol import LayerError

KEY = random.key(0)


def np_(x):
    return np.asarray(x)


def mlp():
    return stax.serial(stax.Dense(3), stax.Tanh, stax.serial(stax.Dense(2), stax.Relu))


# --------------------------------------------------------------------------- intermediates


def test_intermediates_equal_numpy_layer_by_layer():
    net = mlp()
    _, params = net.init_fun(KEY, (-1, 4))
    x = np.random.default_rng(0).standard_normal((5, 4))
    y, acts = stax.intermediates(net, params, fnp.asarray(x))
    (W1, b1), _, ((W2, b2), _) = params
    z1 = x @ np_(W1) + np_(b1)
    h1 = np.tanh(z1)
    z2 = h1 @ np_(W2) + np_(b2)
    h2 = np.maximum(z2, 0)
    assert list(acts) == ["[0]", "[1]", "[2][0]", "[2][1]", "[2]"]  # execution order
    expected = {"[0]": z1, "[1]": h1, "[2][0]": z2, "[2][1]": h2, "[2]": h2}
    for path, value in expected.items():
        np.testing.assert_allclose(np_(acts[path]), value, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np_(y), h2, rtol=1e-12, atol=1e-12)


def branchy():
    return stax.serial(
        stax.Conv(3, (3, 3), padding="SAME"),
        stax.BatchNorm(),
        stax.FanOut(2),
        stax.parallel(stax.serial(stax.Conv(3, (1, 1)), stax.Dropout(0.5)), stax.Identity),
        stax.FanInSum,
        stax.Flatten,
        stax.Dense(2),
    )


def test_intermediates_reproduce_apply_with_keys_and_state():
    net = branchy()
    _, params = net.init_fun(KEY, (-1, 5, 5, 2))
    _, state = net.init_state((-1, 5, 5, 2))
    x = random.normal(random.key(1), (4, 5, 5, 2))
    k = random.key(2)
    # training: the same per-layer keys, so the Dropout masks agree with apply_fun's
    y, acts = stax.intermediates(net, params, x, key=k)
    np.testing.assert_array_equal(np_(y), np_(net.apply_fun(params, x, key=k)))
    assert isinstance(acts["[2]"], list) and len(acts["[2]"]) == 2
    assert isinstance(acts["[3]"], list)
    np.testing.assert_array_equal(np_(acts["[4]"]), np_(acts["[3]"][0]) + np_(acts["[3]"][1]))
    # with state, in evaluation: BatchNorm uses the running statistics like apply_with_state
    state = [
        s if i != 1 else s._replace(mean=s.mean + 0.5, var=s.var * 2) for i, s in enumerate(state)
    ]
    y, acts = stax.intermediates(net, params, x, state=state, is_training=False)
    expected, _ = net.apply_with_state(params, state, x, is_training=False)
    np.testing.assert_array_equal(np_(y), np_(expected))
    beta, gamma = params[1]
    bn = (np_(acts["[0]"]) - 0.5) / np.sqrt(2 + 1e-5) * np_(gamma) + np_(beta)
    np.testing.assert_allclose(np_(acts["[1]"]), bn, rtol=1e-10)


def test_intermediates_under_jit_and_vmap():
    net = mlp()
    _, params = net.init_fun(KEY, (-1, 4))
    x = random.normal(random.key(1), (3, 2, 4))
    eager = stax.intermediates(net, params, x[0])
    jitted = funcgrad.jit(lambda p, x: stax.intermediates(net, p, x))(params, x[0])
    for a, b in zip(funcgrad.tree_util.tree_leaves(eager), funcgrad.tree_util.tree_leaves(jitted)):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(np_(a), np_(b), rtol=1e-12)
    batched = funcgrad.vmap(lambda x: stax.intermediates(net, params, x)[1])(x)
    for i in range(3):
        for path, a in stax.intermediates(net, params, x[i])[1].items():
            np.testing.assert_allclose(np_(batched[path][i]), np_(a), rtol=1e-12)


def test_walk_visits_leaves_with_their_inputs():
    net = branchy()
    _, params = net.init_fun(KEY, (-1, 5, 5, 2))
    seen = []
    walk(
        net,
        params,
        fnp.ones((2, 5, 5, 2)),
        key=KEY,
        on_leaf=lambda path, layer, p, s, x, kw: seen.append((path, layer.name, s)),
    )
    assert [(p, n) for p, n, _ in seen] == [
        ((0,), "Conv(3, (3, 3))"),
        ((1,), "BatchNorm"),
        ((2,), "FanOut(2)"),
        ((3, 0, 0), "Conv(3, (1, 1))"),
        ((3, 0, 1), "Dropout(0.5)"),
        ((3, 1), "Identity"),
        ((4,), "FanInSum"),
        ((5,), "Flatten"),
        ((6,), "Dense(2)"),
    ]
    assert all(s is None for _, _, s in seen)


def test_parse_path():
    assert parse_path("[3][0][12]") == (3, 0, 12) and parse_path([1, 2]) == (1, 2)
    for bad in ("1.0", "[a]", (1, -1), 1.5, True):
        with pytest.raises(TypeError, match="layer path"):
            parse_path(bad)


# --------------------------------------------------------------------------- gradients


def test_intermediate_grads_equal_the_chain_rule_by_hand():
    net = mlp()
    _, params = net.init_fun(KEY, (-1, 4))
    x = np.random.default_rng(1).standard_normal((5, 4))

    def fn(y):
        return fnp.sum(y**2)

    value, acts, grads = stax.intermediate_grads(net, params, fnp.asarray(x), fn)
    (W1, b1), _, ((W2, b2), _) = [funcgrad.tree_util.tree_map(np_, p) for p in params]
    z1 = x @ W1 + b1
    h1 = np.tanh(z1)
    z2 = h1 @ W2 + b2
    h2 = np.maximum(z2, 0)
    g_h2 = 2 * h2  # d sum(h2^2) / d h2
    g_z2 = g_h2 * (z2 > 0)
    g_h1 = g_z2 @ W2.T
    g_z1 = g_h1 * (1 - h1**2)
    np.testing.assert_allclose(float(value), np.sum(h2**2), rtol=1e-12)
    expected = {"[0]": g_z1, "[1]": g_h1, "[2][0]": g_z2, "[2][1]": g_h2, "[2]": g_h2}
    assert set(grads) == set(expected)
    for path, g in expected.items():
        np.testing.assert_allclose(np_(grads[path]), g, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np_(acts["[1]"]), h1, rtol=1e-12)


def test_intermediate_grads_by_finite_differences_and_at_fanout():
    net = branchy()
    _, params = net.init_fun(KEY, (-1, 5, 5, 2))
    x = random.normal(random.key(1), (2, 5, 5, 2))

    def fn(y):
        return fnp.sum(fnp.sin(y))

    kw = {"is_training": False, "state": net.init_state((-1, 5, 5, 2))[1]}
    _, acts, grads = stax.intermediate_grads(net, params, x, fn, at=["[1]", "[2]", (3, 0, 0)], **kw)
    assert list(grads) == ["[1]", "[2]", "[3][0][0]"]
    # the gradient w.r.t. FanOut's input is the sum over its two copies (chain rule)
    np.testing.assert_allclose(
        np_(grads["[1]"]), np_(grads["[2]"][0]) + np_(grads["[2]"][1]), rtol=1e-10
    )
    # central differences of the network downstream of [1] (Conv 3x3 + BatchNorm output)
    downstream = stax.serial(*net.children[2:])
    A = np_(acts["[1]"])
    direction = np.random.default_rng(2).standard_normal(A.shape)
    eps = 1e-5

    def tail(a):
        return float(fn(downstream.apply_fun(params[2:], fnp.asarray(a), is_training=False)))

    numeric = (tail(A + eps * direction) - tail(A - eps * direction)) / (2 * eps)
    np.testing.assert_allclose(np.sum(np_(grads["[1]"]) * direction), numeric, rtol=1e-6)


def test_intermediate_grads_under_jit():
    net = mlp()
    _, params = net.init_fun(KEY, (-1, 4))
    x = random.normal(random.key(1), (3, 4))

    def f(p, x):
        return stax.intermediate_grads(net, p, x, fnp.sum, at="[1]")

    eager, jitted = f(params, x), funcgrad.jit(f)(params, x)
    for a, b in zip(funcgrad.tree_util.tree_leaves(eager), funcgrad.tree_util.tree_leaves(jitted)):
        np.testing.assert_allclose(np_(a), np_(b), rtol=1e-12)


def test_intermediate_grads_errors():
    net = mlp()
    _, params = net.init_fun(KEY, (-1, 4))
    x = fnp.ones((2, 4))
    with pytest.raises(KeyError, match=r"no layer at path '\[7\]'.*'\[2\]\[1\]'"):
        stax.intermediate_grads(net, params, x, fnp.sum, at="[7]")
    with pytest.raises(TypeError, match="fn must return a scalar"):
        stax.intermediate_grads(net, params, x, lambda y: y, at="[1]")
    to_int = stax.serial(stax.elementwise(lambda v: v.astype("int32")), stax.Dense(1))
    _, p = to_int.init_fun(KEY, (-1, 4))
    with pytest.raises(TypeError, match=r"'\[0\]' is not floating point \(int32\)"):
        stax.intermediate_grads(to_int, p, x, fnp.sum, at="[0]")


# --------------------------------------------------------------------------- Grad-CAM


def conv_valid_np(x, W, b):
    """Channels-last VALID convolution (cross-correlation) with an HWIO kernel, by loops."""
    n, h, w, _ = x.shape
    kh, kw, _, k = W.shape
    out = np.zeros((n, h - kh + 1, w - kw + 1, k))
    for i in range(h - kh + 1):
        for j in range(w - kw + 1):
            out[:, i, j, :] = np.einsum("nhwc,hwck->nk", x[:, i : i + kh, j : j + kw, :], W)
    return out + b.reshape(-1)


def test_grad_cam_equals_the_paper_formula_by_hand():
    # A = relu(conv(x)); score_c = Dense(Flatten(A))_c, so d score_c / d A[i, j, k] is the
    # Dense weight W[(i, j, k), c]: alpha_k = its mean over (i, j).
    net = stax.serial(stax.Conv(3, (2, 2)), stax.Relu, stax.Flatten, stax.Dense(4))
    _, params = net.init_fun(KEY, (-1, 4, 5, 2))
    x = np.random.default_rng(3).standard_normal((2, 4, 5, 2))
    labels = np.array([1, 3])
    cam = stax.grad_cam(net, params, fnp.asarray(x), fnp.asarray(labels), at="[1]", normalize=False)
    (Wc, bc), _, _, (Wd, _) = [funcgrad.tree_util.tree_map(np_, p) for p in params]
    A = np.maximum(conv_valid_np(x, Wc, bc), 0)  # (2, 3, 4, 3)
    for n, c in enumerate(labels):
        alpha = Wd[:, c].reshape(3, 4, 3).mean(axis=(0, 1))
        expected = np.maximum(np.einsum("ijk,k->ij", A[n], alpha), 0)
        np.testing.assert_allclose(np_(cam[n]), expected, rtol=1e-10, atol=1e-12)
    normalized = stax.grad_cam(net, params, fnp.asarray(x), fnp.asarray(labels), at="[1]")
    peak = np_(cam).max(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(np_(normalized), np.where(peak > 0, np_(cam) / peak, 0), rtol=1e-12)
    # eager == jit
    jitted = funcgrad.jit(lambda p, x: stax.grad_cam(net, p, x, fnp.asarray(labels), at="[1]"))
    np.testing.assert_allclose(np_(jitted(params, fnp.asarray(x))), np_(normalized), rtol=1e-12)


def bilinear_np(img, size):
    """PyTorch's bilinear resize, align_corners=False, of (N, h, w) maps, from the formula."""
    out = img
    for axis, n_out in ((1, size[0]), (2, size[1])):
        n_in = out.shape[axis]
        src = np.maximum((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0)
        i0 = np.minimum(np.floor(src).astype(int), n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        t = src - i0
        a, b = np.take(out, i0, axis=axis), np.take(out, i1, axis=axis)
        shape = [1, 1, 1]
        shape[axis] = n_out
        out = a * (1 - t.reshape(shape)) + b * t.reshape(shape)
    return out


def test_grad_cam_upsampling():
    net = stax.serial(
        stax.Conv(2, (3, 3), strides=(2, 2)), stax.Relu, stax.GlobalAvgPool, stax.Dense(2)
    )
    _, params = net.init_fun(KEY, (-1, 7, 7, 1))
    x = random.normal(random.key(4), (3, 7, 7, 1))
    small = np_(stax.grad_cam(net, params, x, 0, at="[1]", normalize=False))
    assert small.shape == (3, 3, 3)
    big = np_(stax.grad_cam(net, params, x, 0, at="[1]", upsample=True))
    up = bilinear_np(small, (7, 7))
    peak = up.max(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(
        big, np.where(peak > 0, up / np.where(peak > 0, peak, 1), 0), rtol=1e-10, atol=1e-12
    )
    assert np_(stax.grad_cam(net, params, x, 0, at="[1]", upsample=(5, 6))).shape == (3, 5, 6)


def test_grad_cam_highlights_the_region_that_drives_the_score():
    # Hand-set network: a 1x1 conv copies the two input channels, global average pooling,
    # and class c's score is the mean of channel c. Channel 0 is bright in the top-left
    # corner, channel 1 in the bottom-right: class 0's map must light up the top-left.
    net = stax.serial(stax.Conv(2, (1, 1)), stax.Relu, stax.GlobalAvgPool, stax.Dense(2))
    _, params = net.init_fun(KEY, (-1, 8, 8, 2))
    params = [
        (fnp.eye(2).reshape(1, 1, 2, 2), fnp.zeros((1, 1, 1, 2))),
        (),
        (),
        (fnp.eye(2), fnp.zeros(2)),
    ]
    image = np.zeros((1, 8, 8, 2))
    image[0, 1:3, 0:3, 0] = 1.0
    image[0, 5:8, 6:8, 1] = 1.0
    image += 0.01 * np.random.default_rng(5).random(image.shape)
    x = fnp.asarray(np.concatenate([image, image]))
    cam = np_(stax.grad_cam(net, params, x, fnp.asarray([0, 1]), at="[1]"))
    for n, (rows, cols) in enumerate([(slice(1, 3), slice(0, 3)), (slice(5, 8), slice(6, 8))]):
        inside = np.zeros((8, 8), bool)
        inside[rows, cols] = True
        assert cam[n][inside].min() > 0.9 and cam[n][~inside].max() < 0.1
        assert cam[n].max() == pytest.approx(1.0)


def test_grad_cam_errors():
    net = stax.serial(stax.Conv(2, (3, 3)), stax.Relu, stax.Flatten, stax.Dense(2))
    _, params = net.init_fun(KEY, (-1, 4, 4, 1))
    x = fnp.ones((1, 4, 4, 1))
    with pytest.raises(LayerError, match=r"'\[2\]' must be a feature map"):
        stax.grad_cam(net, params, x, 0, at="[2]")
    with pytest.raises(TypeError, match="class_index must be an int"):
        stax.grad_cam(net, params, x, 0.5, at="[1]")
    with pytest.raises(LayerError, match=r"scores of shape \(N, num_classes\)"):
        stax.grad_cam(stax.serial(*net.children[:2]), params[:2], x, 0, at="[1]")


# --------------------------------------------------------------------------- split_at


def split_net():
    return stax.serial(
        stax.Dense(4),
        stax.serial(stax.Relu, stax.Dropout(0.5), stax.Dense(3)),
        stax.BatchNorm(axis=(0,)),
        stax.Dropout(0.3),
        stax.Dense(2),
    )


@pytest.mark.parametrize("at", ["[0]", "[1][1]", (1, 2), 3])
def test_split_at_reproduces_the_network_exactly(at):
    net = split_net()
    k, kx = random.key(3), random.key(4)
    x = random.normal(kx, (6, 5))
    _, params = net.init_fun(KEY, (-1, 5))
    _, state = net.init_state((-1, 5))
    head, tail = stax.split_at(net, at)
    hp, tp = stax.split_params(params, at)
    hs, ts = stax.split_params(state, at)
    # the same init key draws the same params in the halves
    mid_shape, hp_init = head.init_fun(KEY, (-1, 5))
    _, tp_init = tail.init_fun(KEY, mid_shape)
    for a, b in zip(
        funcgrad.tree_util.tree_leaves((hp_init, tp_init)), funcgrad.tree_util.tree_leaves((hp, tp))
    ):
        np.testing.assert_array_equal(np_(a), np_(b))
    # the same apply key gives the same Dropout masks: tail(head(x)) == net(x) exactly
    expected = net.apply_fun(params, x, key=k)
    mid = head.apply_fun(hp, x, key=k)
    np.testing.assert_array_equal(np_(tail.apply_fun(tp, mid, key=k)), np_(expected))
    assert tuple(mid.shape)[1:] == mid_shape[1:]
    name = "".join(f"[{i}]" for i in parse_path(at))
    np.testing.assert_array_equal(np_(mid), np_(stax.intermediates(net, params, x, key=k)[1][name]))
    # with state: the halves' new states are the network's, cut at the same place
    y, new_state = net.apply_with_state(params, state, x, key=k)
    mid, new_hs = head.apply_with_state(hp, hs, x, key=k)
    y2, new_ts = tail.apply_with_state(tp, ts, mid, key=k)
    np.testing.assert_array_equal(np_(y2), np_(y))
    for a, b in zip(
        funcgrad.tree_util.tree_leaves((new_hs, new_ts)),
        funcgrad.tree_util.tree_leaves(stax.split_params(new_state, at)),
    ):
        np.testing.assert_array_equal(np_(a), np_(b))


def test_split_at_errors():
    net = stax.serial(
        stax.FanOut(2), stax.parallel(stax.Dense(2), stax.Identity), stax.FanInConcat()
    )
    with pytest.raises(ValueError, match=r"'\[1\]\[0\]' runs into a 'parallel'"):
        stax.split_at(net, "[1][0]")
    with pytest.raises(ValueError, match="layer 5 of a serial with 3 layers"):
        stax.split_at(net, 5)
    with pytest.raises(ValueError, match="inside the network"):
        stax.split_at(net, "")
    with pytest.raises(
        ValueError, match=r"stax.split_params: the params have no entry at '\[0\]\[1\]'"
    ):
        stax.split_params([[0], 1], "[0][1]")
