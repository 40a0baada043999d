"""stax.models: parameter counts equal torchvision's, blocks against NumPy, jitted forwards.

* Parameter counts of every model at torchvision's configuration (1000 classes), found by
  shape inference of ``init_fun`` (``funcgrad.eval_shape``: no random numbers drawn), equal
  both torchvision's published number and a count written here from the architecture's
  layer table with the formulas below (BatchNorm running statistics are state, not
  params, as in PyTorch).
* The building blocks (BasicBlock, Bottleneck, DenseLayer, Transition, InceptionBlock,
  SqueezeExcitation) and LeNet-5 against NumPy written from their definitions.
* Every model's training-mode forward on a small batch under ``jit``, with its BatchNorm
  state threaded through.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as fnp
import stax
from funcgrad import random, tree_util

M = stax.models

# --- counting by formula ----------------------------------------------------------------


def conv(k, cin, cout, bias=False):
    """A k x k convolution: k*k*cin*cout weights (+ cout biases)."""
    return k * k * cin * cout + (cout if bias else 0)


def bn(c):
    """BatchNorm's learned gamma and beta (running mean/var are not parameters)."""
    return 2 * c


def fc(n_in, n_out):
    return n_in * n_out + n_out


def resnet_count(block, layers, classes=1000):
    total = conv(7, 3, 64) + bn(64)  # stem
    in_planes, expansion = 64, 1 if block == "basic" else 4
    for stage, (planes, n) in enumerate(zip((64, 128, 256, 512), layers)):
        for j in range(n):
            stride = 2 if stage > 0 and j == 0 else 1
            out = planes * expansion
            if block == "basic":  # 3x3, 3x3
                total += (
                    conv(3, in_planes, planes) + bn(planes) + conv(3, planes, planes) + bn(planes)
                )
            else:  # 1x1, 3x3, 1x1 (x4)
                total += conv(1, in_planes, planes) + bn(planes) + conv(3, planes, planes)
                total += bn(planes) + conv(1, planes, out) + bn(out)
            if stride != 1 or in_planes != out:  # projection shortcut
                total += conv(1, in_planes, out) + bn(out)
            in_planes = out
    return total + fc(512 * expansion, classes)


def vgg_count(config, batch_norm, classes=1000):
    total, c = 0, 3
    for v in config:
        if v != "M":
            total += conv(3, c, v, bias=True) + (bn(v) if batch_norm else 0)
            c = v
    return total + fc(512 * 7 * 7, 4096) + fc(4096, 4096) + fc(4096, classes)


def densenet_count(growth=32, blocks=(6, 12, 24, 16), init=64, bn_size=4, classes=1000):
    total, c = conv(7, 3, init) + bn(init), init
    for i, n in enumerate(blocks):
        for _ in range(n):  # BN, 1x1 to bn_size*growth, BN, 3x3 to growth
            total += bn(c) + conv(1, c, bn_size * growth) + bn(bn_size * growth)
            total += conv(3, bn_size * growth, growth)
            c += growth
        if i != len(blocks) - 1:  # transition: BN, 1x1 halving
            total += bn(c) + conv(1, c, c // 2)
            c //= 2
    return total + bn(c) + fc(c, classes)


def googlenet_count(classes=1000):
    def basic(k, cin, cout):  # conv (no bias) + BatchNorm
        return conv(k, cin, cout) + bn(cout)

    def inception(cin, c1, c3r, c3, c5r, c5, pp):  # torchvision's 3x3 in the "5x5" branch
        return (
            basic(1, cin, c1) + basic(1, cin, c3r) + basic(3, c3r, c3)
            + basic(1, cin, c5r) + basic(3, c5r, c5) + basic(1, cin, pp)
        )  # fmt: skip

    total = basic(7, 3, 64) + basic(1, 64, 64) + basic(3, 64, 192)
    table = [
        (192, 64, 96, 128, 16, 32, 32), (256, 128, 128, 192, 32, 96, 64),
        (480, 192, 96, 208, 16, 48, 64), (512, 160, 112, 224, 24, 64, 64),
        (512, 128, 128, 256, 24, 64, 64), (512, 112, 144, 288, 32, 64, 64),
        (528, 256, 160, 320, 32, 128, 128), (832, 256, 160, 320, 32, 128, 128),
        (832, 384, 192, 384, 48, 128, 128),
    ]  # fmt: skip
    return total + sum(inception(*row) for row in table) + fc(1024, classes)


# AlexNet: conv 11x11 3->64, 5x5 64->192, 3x3 192->384, 384->256, 256->256 (with bias),
# then 256*6*6 -> 4096 -> 4096 -> classes.
ALEXNET = (
    conv(11, 3, 64, True) + conv(5, 64, 192, True) + conv(3, 192, 384, True)
    + conv(3, 384, 256, True) + conv(3, 256, 256, True)
    + fc(256 * 6 * 6, 4096) + fc(4096, 4096) + fc(4096, 1000)
)  # fmt: skip
# LeNet-5: C1 5x5 1->6, C3 5x5 6->16, C5 400->120, F6 120->84, output 84->10
LENET5 = conv(5, 1, 6, True) + conv(5, 6, 16, True) + fc(400, 120) + fc(120, 84) + fc(84, 10)

CFG_A, CFG_D = M.VGG_CONFIGS["A"], M.VGG_CONFIGS["D"]
COUNTS = {
    # name: (builder, torchvision's published count, the count by formula)
    "resnet18": (M.resnet18, 11_689_512, resnet_count("basic", (2, 2, 2, 2))),
    "resnet34": (M.resnet34, 21_797_672, resnet_count("basic", (3, 4, 6, 3))),
    "resnet50": (M.resnet50, 25_557_032, resnet_count("bottleneck", (3, 4, 6, 3))),
    "vgg11": (M.vgg11, 132_863_336, vgg_count(CFG_A, False)),
    "vgg11_bn": (M.vgg11_bn, 132_868_840, vgg_count(CFG_A, True)),
    "vgg16": (M.vgg16, 138_357_544, vgg_count(CFG_D, False)),
    "vgg16_bn": (M.vgg16_bn, 138_365_992, vgg_count(CFG_D, True)),
    "alexnet": (M.alexnet, 61_100_840, ALEXNET),
    "densenet121": (M.densenet121, 7_978_856, densenet_count()),
    "googlenet": (M.googlenet, 6_624_904, googlenet_count()),
}

_SHAPES: dict[str, object] = {}


def param_shapes(name):
    """The params' shapes at 224x224x3, by shape inference only (cached for the forwards)."""
    if name not in _SHAPES:
        net = COUNTS[name][0](1000)
        _SHAPES[name] = funcgrad.eval_shape(
            lambda k: net.init_fun(k, (-1, 224, 224, 3))[1], random.key(0)
        )
    return _SHAPES[name]


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_parameter_counts_equal_torchvision(name):
    _, published, by_formula = COUNTS[name]
    assert published == by_formula  # the formula reproduces torchvision's number
    count = sum(math.prod(leaf.shape) for leaf in tree_util.tree_leaves(param_shapes(name)))
    assert count == published


def test_lenet5_count_and_forward_against_numpy():
    net = M.lenet5(10, input_size=28)
    out_shape, params = net.init_fun(random.key(0), (-1, 28, 28, 1))
    assert out_shape == (-1, 10) and stax.count_params(params) == LENET5 == 61_706
    x = np.random.default_rng(0).standard_normal((2, 28, 28, 1))
    p = [tuple(np.asarray(a) for a in layer) for layer in params]
    h = np.tanh(np_conv(x, p[0][0], pad=2) + p[0][1])
    h = np_avg_pool2(h)
    h = np_avg_pool2(np.tanh(np_conv(h, p[3][0]) + p[3][1]))
    h = h.reshape(2, -1)
    h = np.tanh(h @ p[7][0] + p[7][1])
    h = np.tanh(h @ p[9][0] + p[9][1])
    expected = h @ p[11][0] + p[11][1]
    y = funcgrad.jit(net.apply_fun)(params, fnp.asarray(x))
    np.testing.assert_allclose(np.asarray(y), expected, rtol=1e-9, atol=1e-12)


# --- NumPy references of the blocks -----------------------------------------------------


def np_conv(x, w, stride=1, pad=0):
    """NHWC x HWIO cross-correlation, summing one shifted slice per kernel tap."""
    x = np.pad(x, [(0, 0), (pad, pad), (pad, pad), (0, 0)])
    kh, kw = w.shape[:2]
    ho, wo = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], ho, wo, w.shape[-1]))
    for i in range(kh):
        for j in range(kw):
            out += x[:, i : i + stride * ho : stride, j : j + stride * wo : stride] @ w[i, j]
    return out


def np_bn(x, p, eps=1e-5):
    """Training-mode BatchNorm: the batch's mean and biased variance per channel."""
    beta, gamma = p
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def np_max_pool3_same(x):
    """3x3 max-pool, stride 1, padding 1 (padding never wins)."""
    xp = np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)], constant_values=-np.inf)
    h, w = x.shape[1:3]
    return np.max([xp[:, i : i + h, j : j + w] for i in range(3) for j in range(3)], axis=0)


def np_avg_pool2(x):
    n, h, w, c = x.shape
    return x[:, : h // 2 * 2, : w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def relu(x):
    return np.maximum(x, 0.0)


def _np(tree):
    return tree_util.tree_map(np.asarray, tree)


def _run_block(block, shape, seed=0):
    _, params = block.init_fun(random.key(seed), (-1, *shape[1:]))
    _, state = block.init_state((-1, *shape[1:]))
    x = np.random.default_rng(seed).standard_normal(shape)
    y, _ = block.apply_with_state(params, state, fnp.asarray(x), is_training=True)
    return x, _np(params), np.asarray(y)


def test_basic_block_against_numpy():
    x, p, y = _run_block(M.BasicBlock(4, stride=2, downsample=True), (2, 6, 6, 3))
    (main, skip) = p[1]
    h = relu(np_bn(np_conv(x, main[0][0], 2, 1), main[1]))
    h = np_bn(np_conv(h, main[3][0], 1, 1), main[4])
    s = np_bn(np_conv(x, skip[0][0], 2, 0), skip[1])
    np.testing.assert_allclose(y, relu(h + s), rtol=1e-9, atol=1e-12)
    # identity skip
    x, p, y = _run_block(M.BasicBlock(3), (2, 4, 4, 3), seed=1)
    main = p[1][0]
    h = relu(np_bn(np_conv(x, main[0][0], 1, 1), main[1]))
    h = np_bn(np_conv(h, main[3][0], 1, 1), main[4])
    np.testing.assert_allclose(y, relu(h + x), rtol=1e-9, atol=1e-12)


def test_bottleneck_against_numpy():
    x, p, y = _run_block(M.Bottleneck(2, stride=2, downsample=True), (2, 5, 5, 3))
    (main, skip) = p[1]
    h = relu(np_bn(np_conv(x, main[0][0]), main[1]))
    h = relu(np_bn(np_conv(h, main[3][0], 2, 1), main[4]))
    h = np_bn(np_conv(h, main[6][0]), main[7])
    s = np_bn(np_conv(x, skip[0][0], 2), skip[1])
    assert y.shape == (2, 3, 3, 8)
    np.testing.assert_allclose(y, relu(h + s), rtol=1e-9, atol=1e-12)


def test_dense_layer_and_transition_against_numpy():
    x, p, y = _run_block(M.DenseLayer(3, bn_size=2), (2, 4, 4, 5))
    new = p[1][1]
    h = np_conv(relu(np_bn(x, new[0])), new[2][0])
    h = np_conv(relu(np_bn(h, new[3])), new[5][0], 1, 1)
    np.testing.assert_allclose(y, np.concatenate([x, h], -1), rtol=1e-9, atol=1e-12)

    x, p, y = _run_block(M.Transition(2), (2, 5, 5, 4))
    expected = np_avg_pool2(np_conv(relu(np_bn(x, p[0])), p[2][0]))
    np.testing.assert_allclose(y, expected, rtol=1e-9, atol=1e-12)


def test_inception_block_against_numpy():
    x, p, y = _run_block(M.InceptionBlock(2, 2, 3, 1, 2, 2), (2, 4, 4, 3))
    b1, b2, b3, b4 = p[1]

    def basic(h, q, pad=0):  # conv, BatchNorm (eps 0.001), relu
        return relu(np_bn(np_conv(h, q[0][0], 1, pad), q[1], eps=1e-3))

    branches = [
        basic(x, b1),
        basic(basic(x, b2[0]), b2[1], pad=1),
        basic(basic(x, b3[0]), b3[1], pad=1),
        basic(np_max_pool3_same(x), b4[1]),
    ]
    np.testing.assert_allclose(y, np.concatenate(branches, -1), rtol=1e-9, atol=1e-12)
    assert y.shape == (2, 4, 4, 2 + 3 + 2 + 2)


def test_squeeze_excitation_against_numpy():
    se = M.SqueezeExcitation(4, 2)
    x, p, y = _run_block(se, (3, 2, 5, 4))
    (W1, b1), (W2, b2) = p[1][1][1], p[1][1][3]
    s = relu(x.mean(axis=(1, 2)) @ W1 + b1) @ W2 + b2
    np.testing.assert_allclose(y, x / (1 + np.exp(-s))[:, None, None], rtol=1e-9, atol=1e-12)
    # a composition example: SE at the end of a residual branch (SE-ResNet block)
    main = stax.serial(stax.Conv(4, (3, 3), padding="SAME"), stax.BatchNorm(), se)
    block = stax.serial(stax.FanOut(2), stax.parallel(main, stax.Identity), stax.FanInSum)
    assert block.init_fun(random.key(0), (-1, 6, 6, 4))[0] == (-1, 6, 6, 4)


# --- every model's forward under jit ------------------------------------------------------


def _cheap_params(shapes, seed=0):
    """float32 params of the given shapes from NumPy's generator (the models' own init
    draws 10^7 values slowly; it is exercised by the counts above and the doctests):
    weights scaled by 1/sqrt(fan-in), vectors and biases small."""
    rng = np.random.default_rng(seed)

    def make(leaf):
        fan_in = math.prod(leaf.shape[:-1])
        scale = 0.1 if fan_in == 1 else math.sqrt(1.0 / fan_in)
        return fnp.asarray(rng.standard_normal(leaf.shape, dtype=np.float32) * np.float32(scale))

    return tree_util.tree_map(make, shapes)


FORWARD = {
    # name: (network, input (N, H, W, C), classes). AlexNet and VGG get small classifiers
    # (hidden=32; their convolutions are torchvision's); the others are the 1000-class
    # networks of the counts above, whose inferred param shapes are reused (the shapes do
    # not depend on the input size, thanks to global pooling)
    "alexnet": (M.alexnet(10, hidden=32), (2, 63, 63, 3), 10),
    "vgg11": (M.vgg11(10, hidden=32), (2, 32, 32, 3), 10),
    "vgg11_bn": (M.vgg11_bn(10, hidden=32), (2, 32, 32, 3), 10),
    "vgg16": (M.vgg16(10, hidden=32), (2, 32, 32, 3), 10),
    "vgg16_bn": (M.vgg16_bn(10, hidden=32), (2, 32, 32, 3), 10),
    "resnet18": (None, (2, 32, 32, 3), 1000),
    "resnet34": (None, (2, 32, 32, 3), 1000),
    "resnet50": (None, (2, 32, 32, 3), 1000),
    "densenet121": (None, (2, 32, 32, 3), 1000),
    "googlenet": (None, (2, 32, 32, 3), 1000),
}


@pytest.mark.parametrize("name", sorted(FORWARD))
def test_forward_under_jit_threads_state(name):
    net, shape, classes = FORWARD[name]
    in_shape = (-1, *shape[1:])
    if net is None:
        net, shapes = COUNTS[name][0](1000), param_shapes(name)
    else:
        out_shape, shapes = funcgrad.eval_shape(lambda k: net.init_fun(k, in_shape), random.key(0))
        assert out_shape == (-1, classes)
    params = _cheap_params(shapes)
    _, state = net.init_state(in_shape)
    x = fnp.asarray(np.random.default_rng(1).standard_normal(shape, dtype=np.float32))

    @funcgrad.jit
    def forward(params, state, x, key):
        return net.apply_with_state(params, state, x, is_training=True, key=key)

    logits, new_state = forward(params, state, x, random.key(2))
    assert logits.shape == (2, classes) and np.isfinite(np.asarray(logits)).all()
    assert tree_util.tree_structure(new_state) == tree_util.tree_structure(state)
    counts = [s.count for s in tree_util.tree_leaves(
        new_state, is_leaf=lambda s: isinstance(s, stax.BatchNormState)
    )]  # fmt: skip
    assert all(int(c) == 1 for c in counts)  # every BatchNorm updated once
    assert (len(counts) > 0) == net.stateful
