"""stax layers against NumPy references written from the definitions (loops on small sizes).

Every layer is also checked for: init_fun's output shape equal to apply's real output
shape, jit == eager, vmap == a loop, and gradients by finite differences (check_grads).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import erf

import funcgrad
import funcgrad.numpy as fnp
import stax
from funcgrad import random
from funcgrad.test_util import check_grads

KEY = random.key(0)


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _init(layer, shape, seed=0):
    return layer[0](random.key(seed), shape)


def _np_params(params):
    return funcgrad.tree_util.tree_map(np.asarray, params)


# --- NumPy references ---------------------------------------------------------------------


def ref_conv(x, w, b, strides, pads, dilation, groups, mode="constant"):
    """Channels-last convolution by loops: x (N, *S, C), w (*K, C/g, O), b broadcastable."""
    nsp = x.ndim - 2
    x = np.pad(x, [(0, 0), *pads, (0, 0)], mode=mode)
    ksz = w.shape[:nsp]
    cin_g, cout = w.shape[-2], w.shape[-1]
    out_g = cout // groups
    out_sizes = [
        (x.shape[1 + i] - (ksz[i] - 1) * dilation[i] - 1) // strides[i] + 1 for i in range(nsp)
    ]
    y = np.zeros((x.shape[0], *out_sizes, cout))
    for pos in itertools.product(*map(range, out_sizes)):
        for g in range(groups):
            acc = np.zeros((x.shape[0], out_g))
            for tap in itertools.product(*map(range, ksz)):
                idx = tuple(p * s + t * d for p, s, t, d in zip(pos, strides, tap, dilation))
                patch = x[(slice(None), *idx, slice(g * cin_g, (g + 1) * cin_g))]
                acc += patch @ w[(*tap, slice(None), slice(g * out_g, (g + 1) * out_g))]
            y[(slice(None), *pos, slice(g * out_g, (g + 1) * out_g))] = acc
    return y + b


def ref_conv_transpose_torch(x, w, strides, crop, dilation, output_padding):
    """PyTorch's transposed convolution by scatter, with the kernel flipped spatially."""
    nsp = x.ndim - 2
    ksz = w.shape[:nsp]
    wt = w[tuple(slice(None, None, -1) for _ in range(nsp))]
    full = [
        (n - 1) * s + d * (k - 1) + 1 + op
        for n, s, d, k, op in zip(x.shape[1:-1], strides, dilation, ksz, output_padding)
    ]
    y = np.zeros((x.shape[0], *full, w.shape[-1]))
    for pos in itertools.product(*map(range, x.shape[1:-1])):
        for tap in itertools.product(*map(range, ksz)):
            idx = tuple(p * s + t * d for p, s, t, d in zip(pos, strides, tap, dilation))
            y[(slice(None), *idx, slice(None))] += x[(slice(None), *pos, slice(None))] @ wt[tap]
    crop_slices = tuple(slice(c, n - c) for c, n in zip(crop, full))
    return y[(slice(None), *crop_slices, slice(None))]


def ref_pool(x, window, strides, pads, kind, ceil_mode=False, count_include_pad=True):
    """Channels-last pooling by loops, PyTorch's output size and counting rules."""
    nsp = x.ndim - 2
    sizes = x.shape[1:-1]
    outs = []
    for n, k, s, (lo, hi) in zip(sizes, window, strides, pads):
        span = n + lo + hi - k
        o = (span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (o - 1) * s >= n + lo:
            o -= 1
        outs.append(o)
    y = np.zeros((x.shape[0], *outs, x.shape[-1]))
    for pos in itertools.product(*map(range, outs)):
        starts = [p * s - lo for p, s, (lo, _) in zip(pos, strides, pads)]
        ranges = [range(max(st_, 0), min(st_ + k, n)) for st_, k, n in zip(starts, window, sizes)]
        idx = tuple(slice(r.start, r.stop) for r in ranges)
        block = x[(slice(None), *idx, slice(None))]
        axes = tuple(range(1, 1 + nsp))
        if kind == "max":
            y[(slice(None), *pos, slice(None))] = block.max(axis=axes)
        elif kind == "sum":
            y[(slice(None), *pos, slice(None))] = block.sum(axis=axes)
        else:
            if count_include_pad:  # window within the padded input
                count = math.prod(
                    min(st_ + k, n + hi) - st_
                    for st_, k, n, (_, hi) in zip(starts, window, sizes, pads)
                )
            else:
                count = math.prod(len(r) for r in ranges)
            y[(slice(None), *pos, slice(None))] = block.sum(axis=axes) / count
    return y


# --- generic properties: shapes, jit, vmap, gradients -------------------------------------

CASES = [
    ("Dense", stax.Dense(3), (2, 4)),
    ("Dense3d", stax.Dense(2, use_bias=False), (2, 3, 4)),
    ("Conv", stax.Conv(3, (2, 2), padding="SAME"), (2, 4, 5, 2)),
    ("Conv1D", stax.Conv1D(2, 3, strides=2, padding=1, padding_mode="reflect"), (2, 7, 2)),
    ("Conv3D", stax.Conv3D(2, (2, 1, 2), dilation=(1, 1, 2)), (1, 3, 2, 4, 1)),
    ("ConvGroups", stax.Conv(4, (3, 3), padding=1, groups=2), (2, 3, 3, 4)),
    ("GeneralConvNCHW", stax.GeneralConv(("NCHW", "OIHW", "NCHW"), 2, (2, 2)), (2, 3, 4, 4)),
    ("ConvTranspose", stax.ConvTranspose(2, (3, 3), strides=(2, 2), padding="SAME"), (2, 3, 3, 2)),
    ("Conv1DTranspose", stax.Conv1DTranspose(2, (3,), strides=(2,)), (2, 4, 1)),
    (
        "ConvT_torch",
        stax.ConvTranspose(2, (3, 3), (2, 2), padding=1, output_padding=1),
        (1, 3, 3, 2),
    ),
    ("MaxPool", stax.MaxPool((2, 2), strides=(2, 2)), (2, 4, 5, 3)),
    ("MaxPoolNCHW", stax.MaxPool((2, 2), spec="NCHW"), (2, 3, 4, 4)),
    ("AvgPool", stax.AvgPool((3, 3), (2, 2), "SAME"), (2, 5, 5, 2)),
    ("SumPool", stax.SumPool((2,), ceil_mode=True, strides=(2,)), (2, 5, 2)),
    ("AdaptiveAvg", stax.AdaptiveAvgPool((2, 3)), (2, 5, 4, 2)),
    ("AdaptiveMax", stax.AdaptiveMaxPool((3,)), (2, 5, 2)),
    ("GlobalAvg", stax.GlobalAvgPool, (2, 3, 3, 2)),
    ("GlobalMax", stax.GlobalMaxPool, (2, 3, 2)),
    ("Flatten", stax.Flatten, (2, 3, 4)),
    ("Reshape", stax.Reshape((2, -1)), (2, 6)),
    ("Pad", stax.Pad([(1, 0), 2], mode="replicate"), (2, 3, 3, 1)),
    ("Upsample", stax.Upsample(scale_factor=2, method="bilinear"), (2, 3, 2, 1)),
    ("UpsampleNearest", stax.Upsample(size=(5,)), (2, 3, 1)),
    ("BatchNorm", stax.BatchNorm(), (3, 2, 2, 2)),
    ("BatchNorm1D", stax.BatchNorm1D(), (4, 3)),
    ("LayerNorm", stax.LayerNorm(), (2, 5)),
    ("GroupNorm", stax.GroupNorm(2), (2, 3, 4)),
    ("InstanceNorm", stax.InstanceNorm(affine=True), (2, 4, 3)),
    ("LRN", stax.LocalResponseNorm(3), (2, 3, 4)),
    ("Relu", stax.Relu, (2, 3)),
    ("Gelu", stax.Gelu(approximate=False), (2, 3)),
    ("LogSoftmax", stax.LogSoftmax, (2, 3)),
    ("Glu", stax.Glu, (2, 4)),
    ("PRelu", stax.PRelu(3), (2, 3)),
    ("RReluEval", stax.RRelu(), (2, 3)),
    ("Identity", stax.Identity, (2, 3)),
]

# Random float inputs are almost surely away from the ties and kinks of max-like layers,
# so finite differences apply to every layer.


@pytest.fixture(scope="module")
def initialized():
    out = {}
    for name, layer, shape in CASES:
        batchless = (-1, *shape[1:])
        out_shape, params = _init(layer, batchless)
        out[name] = (layer, shape, out_shape, params)
    return out


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_init_shape_is_apply_shape_and_jit_vmap_match(name, initialized):
    layer, shape, out_shape, params = initialized[name]
    x = fnp.asarray(_x(shape))
    kw = {"is_training": False} if name == "RReluEval" else {}
    y = layer[1](params, x, **kw)
    assert (y.shape[0], *y.shape[1:]) == (shape[0], *out_shape[1:])
    assert out_shape[0] == -1
    y_jit = funcgrad.jit(lambda p, x: layer[1](p, x, **kw))(params, x)
    np.testing.assert_allclose(np.asarray(y_jit), np.asarray(y), rtol=1e-12, atol=1e-12)
    assert y_jit.dtype == y.dtype
    xs = fnp.asarray(_x((2, *shape), seed=1))
    y_vmap = funcgrad.vmap(lambda x: layer[1](params, x, **kw))(xs)
    loop = np.stack([np.asarray(layer[1](params, xs[i], **kw)) for i in range(2)])
    np.testing.assert_allclose(np.asarray(y_vmap), loop, rtol=1e-10, atol=1e-12)


GRAD_CASES = [
    c[0]
    for c in CASES
    if c[0] not in ("Flatten", "Reshape", "Identity", "GlobalMax", "RReluEval", "UpsampleNearest")
]


@pytest.mark.parametrize("name", GRAD_CASES)
def test_gradients(name, initialized):
    layer, shape, _, params = initialized[name]
    x = fnp.asarray(_x(shape, seed=2))
    check_grads(lambda p, x: layer[1](p, x), (params, x), order=1)


# --- each layer against its reference -----------------------------------------------------


@settings(max_examples=12)
@given(
    nsp=st.integers(1, 2),
    k=st.integers(1, 3),
    stride=st.integers(1, 2),
    dilation=st.integers(1, 2),
    groups=st.sampled_from([1, 2]),
    padding=st.sampled_from(["VALID", "SAME", 1, "pairs"]),
    mode=st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
)
def test_conv_matches_loops(nsp, k, stride, dilation, groups, padding, mode):
    size = 5
    if padding == "pairs":
        padding = [(1, 0)] * nsp
    layer = (stax.Conv1D if nsp == 1 else stax.Conv)(
        4, (k,) * nsp, (stride,) * nsp, padding, dilation=dilation, groups=groups, padding_mode=mode
    )
    shape = (2, *(size,) * nsp, 4)
    out_shape, (w, b) = _init(layer, shape)
    b = b + 0.5  # make the bias visible
    x = _x(shape)
    y = np.asarray(layer[1]((w, b), fnp.asarray(x)))
    kd = (k - 1) * dilation + 1
    if padding == "VALID":
        pads = [(0, 0)] * nsp
    elif padding == "SAME":
        total = max((-(-size // stride) - 1) * stride + kd - size, 0)
        pads = [(total // 2, total - total // 2)] * nsp
    elif isinstance(padding, int):
        pads = [(padding, padding)] * nsp
    else:
        pads = padding
    np_mode = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}
    want = ref_conv(
        x, np.asarray(w), np.asarray(b), (stride,) * nsp, pads, (dilation,) * nsp, groups,
        np_mode[mode],
    )  # fmt: skip
    np.testing.assert_allclose(y, want, rtol=1e-10, atol=1e-10)
    assert out_shape[1:] == want.shape[1:]
    assert b.shape == (1,) * (nsp + 1) + (4,)


def test_conv_nchw_layout_and_3d_match_loops():
    layer = stax.GeneralConv(("NCHW", "OIHW", "NCHW"), 3, (2, 3), strides=(1, 2), padding="SAME")
    _, (w, b) = _init(layer, (-1, 2, 4, 5))
    x = _x((2, 2, 4, 5))
    y = np.asarray(layer[1]((w, b), fnp.asarray(x)))
    # the same computation channels-last: NCHW -> NHWC, OIHW -> HWIO
    want = ref_conv(
        x.transpose(0, 2, 3, 1), np.asarray(w).transpose(2, 3, 1, 0),
        np.asarray(b).transpose(0, 2, 3, 1), (1, 2), [(0, 1), (1, 1)], (1, 1), 1,
    ).transpose(0, 3, 1, 2)  # fmt: skip
    np.testing.assert_allclose(y, want, rtol=1e-10, atol=1e-10)
    layer3 = stax.Conv3D(2, (2, 2, 2), strides=(1, 2, 1), padding=1)
    _, (w3, b3) = _init(layer3, (-1, 3, 3, 3, 1))
    x3 = _x((1, 3, 3, 3, 1))
    want3 = ref_conv(x3, np.asarray(w3), np.asarray(b3), (1, 2, 1), [(1, 1)] * 3, (1, 1, 1), 1)
    np.testing.assert_allclose(np.asarray(layer3[1]((w3, b3), fnp.asarray(x3))), want3, atol=1e-10)


@settings(max_examples=12)
@given(
    nsp=st.integers(1, 2),
    k=st.integers(1, 3),
    stride=st.integers(1, 3),
    dilation=st.integers(1, 2),
    crop=st.integers(0, 1),
    output_padding=st.integers(0, 1),
)
def test_conv_transpose_matches_pytorch_scatter(nsp, k, stride, dilation, crop, output_padding):
    if output_padding >= max(stride, dilation) or crop > (k - 1) * dilation:
        output_padding = 0
        crop = 0
    layer = (stax.Conv1DTranspose if nsp == 1 else stax.ConvTranspose)(
        3, (k,) * nsp, (stride,) * nsp, crop, dilation=dilation, output_padding=output_padding,
        b_init=stax.zeros,
    )  # fmt: skip
    shape = (2, *(3,) * nsp, 2)
    out_shape, (w, b) = _init(layer, shape)
    x = _x(shape)
    y = np.asarray(layer[1]((w, b), fnp.asarray(x)))
    want = ref_conv_transpose_torch(
        x, np.asarray(w), (stride,) * nsp, (crop,) * nsp, (dilation,) * nsp, (output_padding,) * nsp
    )
    np.testing.assert_allclose(y, want, rtol=1e-10, atol=1e-10)
    assert tuple(out_shape[1:]) == want.shape[1:]


@pytest.mark.parametrize(
    "padding,k,s", [("SAME", 3, 2), ("VALID", 3, 2), ("SAME", 2, 3), ("VALID", 1, 2)]
)
def test_conv_transpose_string_padding_sizes_are_jaxs(padding, k, s):
    # JAX: 'SAME' gives n * s outputs, 'VALID' n * s + max(k - s, 0); both are the
    # scatter above, cropped by JAX's padding rule (low crop = k - 1 - pad_low).
    layer = stax.Conv1DTranspose(1, (k,), (s,), padding, b_init=stax.zeros)
    n = 4
    _, (w, b) = _init(layer, (1, n, 1))
    x = _x((1, n, 1))
    y = np.asarray(layer[1]((w, b), fnp.asarray(x)))[0, :, 0]
    expected_size = n * s if padding == "SAME" else n * s + max(k - s, 0)
    assert y.shape == (expected_size,)
    full = ref_conv_transpose_torch(x, np.asarray(w), (s,), (0,), (1,), (0,))[0, :, 0]
    if padding == "SAME":
        pad_len = k + s - 2
        pad_a = k - 1 if s > k - 1 else math.ceil(pad_len / 2)
    else:
        pad_a = k - 1
    start = k - 1 - pad_a
    padded = np.concatenate([full, np.zeros(expected_size)])
    np.testing.assert_allclose(y, padded[start : start + expected_size], atol=1e-12)


@settings(max_examples=15)
@given(
    kind=st.sampled_from(["max", "avg", "sum"]),
    nsp=st.integers(1, 2),
    k=st.integers(1, 3),
    stride=st.integers(1, 3),
    pad=st.integers(0, 1),
    ceil_mode=st.booleans(),
    count_include_pad=st.booleans(),
)
def test_pooling_matches_loops(kind, nsp, k, stride, pad, ceil_mode, count_include_pad):
    pad = min(pad, k // 2)  # PyTorch: padding at most half the window
    ctor = {"max": stax.MaxPool, "avg": stax.AvgPool, "sum": stax.SumPool}[kind]
    opts = {"ceil_mode": ceil_mode}
    if kind == "avg":
        opts["count_include_pad"] = count_include_pad
    layer = ctor((k,) * nsp, (stride,) * nsp, pad, **opts)
    shape = (2, *(5,) * nsp, 3)
    out_shape, _ = _init(layer, shape)
    x = _x(shape)
    y = np.asarray(layer[1]((), fnp.asarray(x)))
    want = ref_pool(
        x, (k,) * nsp, (stride,) * nsp, [(pad, pad)] * nsp, kind, ceil_mode, count_include_pad
    )
    np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-12)
    assert out_shape == want.shape


def test_avg_pool_default_divides_by_input_elements_as_jax():
    x = _x((1, 4, 4, 2))
    y = np.asarray(stax.AvgPool((3, 3), padding="SAME")[1]((), fnp.asarray(x)))
    want = ref_pool(x, (3, 3), (1, 1), [(1, 1), (1, 1)], "avg", count_include_pad=False)
    np.testing.assert_allclose(y, want, atol=1e-12)


def test_adaptive_pools_match_loops():
    x = _x((2, 5, 7, 3))
    out = (3, 2)
    want_avg = np.zeros((2, *out, 3))
    want_max = np.zeros((2, *out, 3))
    for i, j in itertools.product(range(out[0]), range(out[1])):
        h0, h1 = (i * 5) // 3, -(-(i + 1) * 5 // 3)
        w0, w1 = (j * 7) // 2, -(-(j + 1) * 7 // 2)
        want_avg[:, i, j] = x[:, h0:h1, w0:w1].mean(axis=(1, 2))
        want_max[:, i, j] = x[:, h0:h1, w0:w1].max(axis=(1, 2))
    xa = fnp.asarray(x)
    np.testing.assert_allclose(
        np.asarray(stax.AdaptiveAvgPool(out)[1]((), xa)), want_avg, atol=1e-12
    )
    np.testing.assert_allclose(np.asarray(stax.AdaptiveMaxPool(out)[1]((), xa)), want_max)
    np.testing.assert_allclose(
        np.asarray(stax.GlobalAvgPool[1]((), xa)), x.mean(axis=(1, 2)), atol=1e-12
    )
    np.testing.assert_allclose(np.asarray(stax.GlobalMaxPool[1]((), xa)), x.max(axis=(1, 2)))


def test_max_unpool_puts_maxima_back():
    x = _x((2, 4, 6, 3))
    net = stax.serial(
        stax.MaxPool((2, 2), (2, 2), return_indices=True), stax.MaxUnpool((2, 2), (2, 2))
    )
    out_shape, params = net[0](KEY, (-1, 4, 6, 3))
    y = np.asarray(net[1](params, fnp.asarray(x)))
    want = np.zeros_like(x)
    for n, i, j, c in itertools.product(range(2), range(2), range(3), range(3)):
        block = x[n, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2, c]
        a, b = np.unravel_index(np.argmax(block), (2, 2))
        want[n, 2 * i + a, 2 * j + b, c] = block[a, b]
    np.testing.assert_array_equal(y, want)
    assert out_shape == (-1, 4, 6, 3)


def test_dense_flatten_reshape_match_numpy():
    layer = stax.Dense(3)
    _, (w, b) = _init(layer, (-1, 4))
    x = _x((5, 4))
    np.testing.assert_allclose(
        np.asarray(layer[1]((w, b), fnp.asarray(x))), x @ np.asarray(w) + np.asarray(b), atol=1e-12
    )
    assert w.shape == (4, 3) and b.shape == (3,)
    x3 = _x((2, 3, 4))
    np.testing.assert_array_equal(
        np.asarray(stax.Flatten[1]((), fnp.asarray(x3))), x3.reshape(2, 12)
    )
    np.testing.assert_array_equal(
        np.asarray(stax.Reshape((4, 3))[1]((), fnp.asarray(x3))), x3.reshape(2, 4, 3)
    )


def test_pad_matches_numpy_pad():
    x = _x((2, 3, 4, 1))
    for mode, np_mode in [("zeros", "constant"), ("reflect", "reflect"), ("replicate", "edge"),
                          ("circular", "wrap")]:  # fmt: skip
        y = stax.Pad([(1, 2), (2, 0)], mode=mode)[1]((), fnp.asarray(x))
        np.testing.assert_array_equal(
            np.asarray(y), np.pad(x, [(0, 0), (1, 2), (2, 0), (0, 0)], np_mode)
        )
    y = stax.Pad(1, mode="constant", value=7.0)[1]((), fnp.asarray(x))
    np.testing.assert_array_equal(
        np.asarray(y), np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)], constant_values=7.0)
    )


def test_upsample_nearest_and_bilinear_by_hand():
    x = _x((1, 2, 3, 1))
    y = np.asarray(stax.Upsample(scale_factor=2)[1]((), fnp.asarray(x)))
    np.testing.assert_array_equal(y, x.repeat(2, axis=1).repeat(2, axis=2))
    # bilinear, align_corners=False: source = (dst + 0.5) / 2 - 0.5, clamped at 0
    row = fnp.asarray(np.array([0.0, 4.0]).reshape(1, 1, 2, 1))
    y = stax.Upsample(scale_factor=(1, 2), method="bilinear")[1]((), row)
    np.testing.assert_allclose(np.asarray(y)[0, 0, :, 0], [0.0, 1.0, 3.0, 4.0])
    y = stax.Upsample(size=(1, 3), method="bilinear", align_corners=True)[1]((), row)
    np.testing.assert_allclose(np.asarray(y)[0, 0, :, 0], [0.0, 2.0, 4.0])


def _standardize(x, axes, eps=1e-5):
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def _random_affine(layer, shape, seed=3):
    _, (beta, gamma) = _init(layer, shape)
    rng = np.random.default_rng(seed)
    beta = rng.standard_normal(beta.shape) if not isinstance(beta, tuple) else beta
    gamma = rng.standard_normal(gamma.shape) if not isinstance(gamma, tuple) else gamma
    return beta, gamma


@settings(max_examples=10)
@given(
    c=st.integers(1, 4),
    spatial=st.lists(st.integers(1, 3), min_size=0, max_size=2),
    center=st.booleans(),
    scale=st.booleans(),
)
def test_norms_match_numpy(c, spatial, center, scale):
    shape = (3, *spatial, c)
    x = _x(shape)
    nd = len(shape)
    # BatchNorm (JAX's apply: batch statistics over every axis but the channels)
    bn = stax.BatchNorm(axis=tuple(range(nd - 1)), center=center, scale=scale)
    beta, gamma = _random_affine(bn, shape)
    want = _standardize(x, tuple(range(nd - 1)))
    want = want * (gamma if scale else 1) + (beta if center else 0)
    np.testing.assert_allclose(np.asarray(bn[1]((beta, gamma), fnp.asarray(x))), want, atol=1e-10)
    # LayerNorm over the last axis
    ln = stax.LayerNorm(center=center, scale=scale)
    beta, gamma = _random_affine(ln, shape)
    want = _standardize(x, (nd - 1,)) * (gamma if scale else 1) + (beta if center else 0)
    np.testing.assert_allclose(np.asarray(ln[1]((beta, gamma), fnp.asarray(x))), want, atol=1e-10)
    if spatial:
        inorm = stax.InstanceNorm(center=center, scale=scale)
        beta, gamma = _random_affine(inorm, shape)
        want = _standardize(x, tuple(range(1, nd - 1))) * (gamma if scale else 1) + (
            beta if center else 0
        )
        np.testing.assert_allclose(
            np.asarray(inorm[1]((beta, gamma), fnp.asarray(x))), want, atol=1e-10
        )


def test_group_norm_and_lrn_match_loops():
    x = _x((2, 3, 6))
    gn = stax.GroupNorm(3)
    beta, gamma = _random_affine(gn, x.shape)
    want = np.zeros_like(x)
    for n, g in itertools.product(range(2), range(3)):
        block = x[n, :, 2 * g : 2 * g + 2]
        want[n, :, 2 * g : 2 * g + 2] = (block - block.mean()) / np.sqrt(block.var() + 1e-5)
    want = want * gamma + beta
    np.testing.assert_allclose(np.asarray(gn[1]((beta, gamma), fnp.asarray(x))), want, atol=1e-10)
    size, alpha, beta_, k = 3, 0.5, 0.75, 2.0
    y = stax.LocalResponseNorm(size, alpha, beta_, k)[1]((), fnp.asarray(x))
    want = np.zeros_like(x)
    C = x.shape[-1]
    for c in range(C):
        lo, hi = max(0, c - size // 2), min(C, c + (size - 1) // 2 + 1)
        s = (x[..., lo:hi] ** 2).sum(axis=-1)
        want[..., c] = x[..., c] / (k + alpha / size * s) ** beta_
    np.testing.assert_allclose(np.asarray(y), want, atol=1e-12)


def _np_activation(name, x):
    sig = 1 / (1 + np.exp(-x))
    softplus = np.log1p(np.exp(x))
    table = {
        "Relu": np.maximum(x, 0), "Tanh": np.tanh(x), "Exp": np.exp(x), "Sigmoid": sig,
        "Softplus": softplus, "Elu": np.where(x > 0, x, np.expm1(x)),
        "LeakyRelu": np.where(x >= 0, x, 0.01 * x),
        "Selu": 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x)),
        "Gelu": 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
        "Celu": np.where(x > 0, x, np.expm1(x)), "HardTanh": np.clip(x, -1, 1),
        "Relu6": np.clip(x, 0, 6), "HardSigmoid": np.clip(x + 3, 0, 6) / 6,
        "HardSwish": x * np.clip(x + 3, 0, 6) / 6, "HardSilu": x * np.clip(x + 3, 0, 6) / 6,
        "LogSigmoid": -np.log1p(np.exp(-x)), "Mish": x * np.tanh(softplus), "Silu": x * sig,
        "Swish": x * sig, "SoftSign": x / (1 + np.abs(x)),
        "LogSoftmax": x - x.max(-1, keepdims=True)
        - np.log(np.exp(x - x.max(-1, keepdims=True)).sum(-1, keepdims=True)),
    }  # fmt: skip
    table["Softmax"] = np.exp(table["LogSoftmax"])
    return table[name]


ACTIVATIONS = [
    "Relu", "Tanh", "Exp", "Sigmoid", "Softplus", "Elu", "LeakyRelu", "Selu", "Gelu", "Celu",
    "HardTanh", "Relu6", "HardSigmoid", "HardSwish", "HardSilu", "LogSigmoid", "Mish", "Silu",
    "Swish", "SoftSign", "LogSoftmax", "Softmax",
]  # fmt: skip


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activations_match_numpy(name):
    x = _x((3, 4)) * 3
    layer = getattr(stax, name)
    np.testing.assert_allclose(
        np.asarray(layer[1]((), fnp.asarray(x))), _np_activation(name, x), rtol=1e-6, atol=1e-7
    )
    assert layer[0](None, (-1, 4)) == ((-1, 4), ())


def test_configured_activations_and_glu():
    x = _x((3, 4))
    y = stax.LeakyRelu(negative_slope=0.2)[1]((), fnp.asarray(x))
    np.testing.assert_allclose(np.asarray(y), np.where(x >= 0, x, 0.2 * x))
    y = stax.Gelu(approximate=False)[1]((), fnp.asarray(x))
    np.testing.assert_allclose(np.asarray(y), 0.5 * x * (1 + erf(x / np.sqrt(2))), atol=1e-7)
    y = stax.Softmax(axis=0)[1]((), fnp.asarray(x))
    np.testing.assert_allclose(np.asarray(y), np.exp(x) / np.exp(x).sum(0), atol=1e-12)
    y = stax.Glu[1]((), fnp.asarray(x))
    np.testing.assert_allclose(np.asarray(y), x[:, :2] / (1 + np.exp(-x[:, 2:])), atol=1e-12)
    assert stax.Glu[0](None, (-1, 4)) == ((-1, 2), ())
    assert stax.Elu(alpha=2.0)[1]((), fnp.asarray([-1.0])).tolist() == pytest.approx(
        [2 * np.expm1(-1)]
    )


def test_prelu_learns_one_slope_per_channel():
    layer = stax.PRelu(3)
    _, (a,) = _init(layer, (-1, 3))
    assert a.tolist() == [0.25, 0.25, 0.25]
    a = fnp.asarray([0.1, 0.2, 0.3])
    x = _x((4, 3))
    y = layer[1]((a,), fnp.asarray(x))
    np.testing.assert_allclose(np.asarray(y), np.where(x >= 0, x, np.asarray(a) * x))
    g = funcgrad.grad(lambda a: fnp.sum(layer[1]((a,), fnp.asarray(x))))(a)
    np.testing.assert_allclose(np.asarray(g), np.where(x < 0, x, 0).sum(0))


def test_rrelu_slopes_in_training_and_eval():
    layer = stax.RRelu(0.1, 0.3)
    x = -np.ones((2000,))
    y = np.asarray(layer[1]((), fnp.asarray(x), key=KEY))
    slopes = -y
    assert 0.1 <= slopes.min() and slopes.max() < 0.3
    assert abs(slopes.mean() - 0.2) < 0.01
    assert len(np.unique(slopes)) > 1000
    np.testing.assert_allclose(
        np.asarray(layer[1]((), fnp.asarray(x), is_training=False)), -0.2 * np.ones(2000)
    )
    with pytest.raises(stax.LayerError, match="needs a random key"):
        layer[1]((), fnp.asarray(x))


def test_dropout_drops_rate_and_rescales():
    rate = 0.3
    init_fun, apply_fun = stax.Dropout(rate)
    x = np.ones((4000,))
    y = np.asarray(apply_fun((), fnp.asarray(x), key=KEY))
    kept = y != 0
    assert abs(1 - kept.mean() - rate) < 0.03
    np.testing.assert_allclose(y[kept], 1 / (1 - rate))
    np.testing.assert_array_equal(np.asarray(apply_fun((), fnp.asarray(x), is_training=False)), x)
    np.testing.assert_array_equal(np.asarray(apply_fun((), fnp.asarray(x), mode="test")), x)
    np.testing.assert_array_equal(
        np.asarray(apply_fun((), fnp.asarray(x), rng=KEY)), y
    )  # JAX's rng=
    with pytest.raises(stax.LayerError, match=r"Dropout\(0.3\).*needs a random key"):
        apply_fun((), fnp.asarray(x))
    # the constructor's mode (JAX's signature) is the default
    assert np.asarray(stax.Dropout(0.5, mode="test")[1]((), fnp.asarray(x))).tolist() == x.tolist()
    # jit with the flag closed over; vmap over keys gives independent masks
    f = funcgrad.jit(lambda x, k: apply_fun((), x, key=k, is_training=True))
    np.testing.assert_array_equal(np.asarray(f(fnp.asarray(x), KEY)), y)
    masks = funcgrad.vmap(lambda k: apply_fun((), fnp.ones(50), key=k))(random.split(KEY, 2))
    assert not np.array_equal(np.asarray(masks[0]), np.asarray(masks[1]))


@pytest.mark.parametrize(
    "layer,shape,match",
    [
        (stax.Dense(3), (2, 5), r"Dense\(3\).*expects 4 features on axis -1, got shape \(2, 5\)"),
        (
            stax.Conv(2, (3, 3)),
            (2, 5, 5),
            r"Conv.*expects inputs of rank 4 \(NHWC\), got shape \(2, 5, 5\)",
        ),
        (
            stax.Conv(2, (3, 3)),
            (2, 5, 5, 3),
            r"Conv.*\(3 channels\) need a kernel of shape \(3, 3, 3, 2\)",
        ),
        (stax.MaxPool((2, 2)), (2, 5, 5), r"MaxPool.*expects inputs of rank 4"),
        (
            stax.BatchNorm(),
            (2, 4, 4, 3),
            r"BatchNorm: beta has shape \(4,\) but the input needs \(3,\)",
        ),
    ],
)
def test_wrong_inputs_name_layer_and_shapes(layer, shape, match):
    init_shape = {
        "Dense": (-1, 4),
        "Conv": (-1, 5, 5, 4),
        "MaxPool": (-1, 4, 4, 1),
        "BatchNorm": (-1, 4, 4, 4),
    }
    key = layer.name.split("(")[0]
    _, params = layer[0](KEY, init_shape[key])
    with pytest.raises(stax.LayerError, match=match):
        layer[1](params, fnp.asarray(_x(shape)))
