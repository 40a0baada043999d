"""conv_general_dilated and conv_transpose against loop references, gradients, errors.

The references (``conv_reference`` in records_convolution.py and
``_conv_transpose_reference`` here) are written from the definitions with explicit
loops over output (or input) positions and kernel taps, on small sizes.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from records_convolution import conv_configs, conv_reference

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad._src.lax.convolution import ConvDimensionNumbers, conv_general_dilated_p
from funcgrad.test_util import check_grads


def _public(lhs, rhs, params):
    return lax.conv_general_dilated(
        lhs, rhs, params["window_strides"], params["padding"], params["lhs_dilation"],
        params["rhs_dilation"], params["dimension_numbers"], params["feature_group_count"],
        params["batch_group_count"],
    )  # fmt: skip


def _params(nsp, **given):
    """Primitive parameters: no strides, padding or dilation, canonical layouts, no groups."""
    canon = tuple(range(nsp + 2))
    defaults = {
        "window_strides": (1,) * nsp, "padding": ((0, 0),) * nsp, "lhs_dilation": (1,) * nsp,
        "rhs_dilation": (1,) * nsp, "dimension_numbers": ConvDimensionNumbers(canon, canon, canon),
        "feature_group_count": 1, "batch_group_count": 1,
    }  # fmt: skip
    return {**defaults, **given}


def _tol(dtype):
    return 1e-5 if np.dtype(dtype) == np.float32 else 1e-12


# --- values --------------------------------------------------------------------------


@given(dtype=st.sampled_from([np.float64, np.float32, np.int32]), data=st.data())
def test_conv_against_loop_reference(dtype, data):
    lhs, rhs, params = data.draw(conv_configs(dtype=dtype, allow_empty=True))
    expected = conv_reference(lhs, rhs, **params)
    actual = _public(fnp.asarray(lhs), fnp.asarray(rhs), params)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=_tol(dtype), atol=_tol(dtype))
    shape = funcgrad.eval_shape(
        lambda a, b: _public(a, b, params), fnp.asarray(lhs), fnp.asarray(rhs)
    )
    assert shape.shape == expected.shape


# Layout strings and the ConvDimensionNumbers they stand for (written out by hand).
_LAYOUTS = [
    (("NCW", "OIW", "NCW"), ((0, 1, 2), (0, 1, 2), (0, 1, 2))),
    (("NWC", "WIO", "NWC"), ((0, 2, 1), (2, 1, 0), (0, 2, 1))),
    (("NCHW", "OIHW", "NCHW"), ((0, 1, 2, 3), (0, 1, 2, 3), (0, 1, 2, 3))),
    (("NHWC", "HWIO", "NHWC"), ((0, 3, 1, 2), (3, 2, 0, 1), (0, 3, 1, 2))),
    (("NHWC", "OIHW", "NCHW"), ((0, 3, 1, 2), (0, 1, 2, 3), (0, 1, 2, 3))),
    (("NCHW", "HWIO", "NHWC"), ((0, 1, 2, 3), (3, 2, 0, 1), (0, 3, 1, 2))),
    (("NWHC", "HWIO", "NHWC"), ((0, 3, 2, 1), (3, 2, 0, 1), (0, 3, 1, 2))),
    (("NDHWC", "DHWIO", "NDHWC"), ((0, 4, 1, 2, 3), (4, 3, 0, 1, 2), (0, 4, 1, 2, 3))),
]


@pytest.mark.parametrize(
    "strings, specs", _LAYOUTS, ids=lambda v: ",".join(v) if isinstance(v[0], str) else ""
)
def test_layout_strings(strings, specs):
    dn = ConvDimensionNumbers(*specs)
    nd = len(strings[0])
    rng = np.random.default_rng(nd)
    lhs_c, rhs_c = (2, 4, *([5] * (nd - 2))), (6, 2, *([2] * (nd - 2)))
    lhs = np.transpose(rng.normal(size=lhs_c), np.argsort(dn.lhs_spec))
    rhs = np.transpose(rng.normal(size=rhs_c), np.argsort(dn.rhs_spec))
    pads = tuple((1, 0) for _ in range(nd - 2))
    params = _params(
        nd - 2,
        window_strides=(2,) * (nd - 2),
        padding=pads,
        dimension_numbers=dn,
        feature_group_count=2,
    )
    expected = conv_reference(lhs, rhs, **params)
    actual = lax.conv_general_dilated(lhs, rhs, (2,) * (nd - 2), pads, dimension_numbers=strings,
                                      feature_group_count=2)  # fmt: skip
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=1e-12, atol=1e-12)


def test_default_layout_is_nchw_oihw():
    # the worked example of FEATURES.md 4.2: Conv2d(2, 16, 3) on (1, 2, 28, 28)
    x, w = fnp.ones((1, 2, 28, 28)), fnp.ones((16, 2, 3, 3))
    assert lax.conv_general_dilated(x, w, (1, 1), "VALID").shape == (1, 16, 26, 26)
    assert lax.conv_general_dilated(x, w, (1, 1), [(1, 1), (1, 1)]).shape == (1, 16, 28, 28)
    # F.conv2d(x [1,3,28,28], w [16,3,5,5], padding=1) -> [1,16,26,26] (13.2 corrects the lecture)
    y = lax.conv_general_dilated(
        fnp.ones((1, 3, 28, 28)), fnp.ones((16, 3, 5, 5)), (1, 1), [(1, 1)] * 2
    )
    assert y.shape == (1, 16, 26, 26)


@given(
    n=st.integers(1, 9), k=st.integers(1, 4), s=st.integers(1, 3), d=st.integers(1, 2),
    mode=st.sampled_from(["SAME", "SAME_LOWER", "VALID"]),
)  # fmt: skip
def test_string_padding(n, k, s, d, mode):
    window = (k - 1) * d + 1
    if mode == "VALID":
        pads, size = (0, 0), max(0, (n - window) // s + 1)
    else:
        size = -(-n // s)  # ceil(n / s) outputs
        total = max((size - 1) * s + window - n, 0)
        pads = (
            (total // 2, total - total // 2) if mode == "SAME" else (total - total // 2, total // 2)
        )
    rng = np.random.default_rng(n * 100 + k)
    x, w = rng.normal(size=(1, 2, n)), rng.normal(size=(3, 2, k))
    params = _params(1, window_strides=(s,), padding=(pads,), rhs_dilation=(d,))
    actual = lax.conv_general_dilated(x, w, (s,), mode, rhs_dilation=(d,))
    assert actual.shape == (1, 3, size)
    np.testing.assert_allclose(np.asarray(actual), conv_reference(x, w, **params), atol=1e-12)


def test_hand_computed_values():
    x = fnp.asarray(np.arange(16.0).reshape(1, 1, 4, 4))
    w = fnp.asarray([[[[1.0, 0.0], [0.0, -1.0]]]])
    # x[i, j] - x[i + 1, j + 1] = -5 everywhere, sampled with stride 2
    y = lax.conv_general_dilated(x, w, (2, 2), "VALID")
    assert y.tolist() == [[[[-5.0, -5.0], [-5.0, -5.0]]]]
    # depthwise: each channel with its own kernel
    x2 = fnp.asarray(np.stack([np.ones((3,)), 2 * np.ones((3,))])[None])  # (1, 2, 3)
    w2 = fnp.asarray([[[1.0, 1.0]], [[10.0, 0.0]]])  # (2, 1, 2)
    assert lax.conv_general_dilated(x2, w2, (1,), "VALID", feature_group_count=2).tolist() == [
        [[2.0, 2.0], [20.0, 20.0]]
    ]
    # lhs dilation inserts zeros: [1, 0, 2, 0, 3] * [1, 1]
    x3 = fnp.asarray([[[1.0, 2.0, 3.0]]])
    y3 = lax.conv_general_dilated(x3, fnp.ones((1, 1, 2)), (1,), [(0, 0)], lhs_dilation=(2,))
    assert y3.tolist() == [[[1.0, 2.0, 2.0, 3.0]]]
    # batch groups: output features block b comes from batch block b
    x4 = fnp.asarray(np.arange(2.0).reshape(2, 1, 1) + 1)  # batch [1, 2]
    w4 = fnp.asarray([[[1.0]], [[10.0]]])
    assert lax.conv_general_dilated(x4, w4, (1,), "VALID", batch_group_count=2).tolist() == [
        [[1.0], [20.0]]
    ]


# --- gradients ---------------------------------------------------------------------------


@settings(max_examples=25)
@given(data=st.data())
def test_conv_grads_both_operands(data):
    lhs, rhs, params = data.draw(conv_configs())
    check_grads(lambda x, w: _public(x, w, params), (fnp.asarray(lhs), fnp.asarray(rhs)),
                order=2, modes=("fwd", "rev"))  # fmt: skip


@settings(max_examples=5)
@given(data=st.data())
def test_conv_grads_float32(data):
    lhs, rhs, params = data.draw(conv_configs(dtype=np.float32, max_nsp=2))
    check_grads(lambda x, w: _public(x, w, params), (fnp.asarray(lhs), fnp.asarray(rhs)),
                order=1, atol=2e-2, rtol=2e-2)  # fmt: skip


@settings(max_examples=25)
@given(data=st.data())
def test_conv_transposes_exactly(data):
    """<T(ct), x> == <ct, L(x)> for the map linear in each operand (both transpose rules)."""
    lhs, rhs, params = data.draw(conv_configs(allow_empty=True))
    rng = np.random.default_rng(0)
    out = conv_reference(lhs, rhs, **params)
    ct = rng.normal(size=out.shape)
    x, w = fnp.asarray(lhs), fnp.asarray(rhs)
    for operand, other, linear in [
        (lhs, w, lambda a: conv_general_dilated_p.bind1(a, w, **params)),
        (rhs, x, lambda b: conv_general_dilated_p.bind1(x, b, **params)),
    ]:
        (t,) = funcgrad.linear_transpose(linear, fnp.asarray(operand))(fnp.asarray(ct))
        assert t.shape == operand.shape
        lhs_side = float(np.sum(np.asarray(t) * operand))
        rhs_side = float(np.sum(ct * np.asarray(linear(fnp.asarray(operand)))))
        np.testing.assert_allclose(lhs_side, rhs_side, rtol=1e-10, atol=1e-10)


def test_grad_of_a_small_cnn_under_jit():
    rng = np.random.default_rng(1)
    x = fnp.asarray(rng.normal(size=(4, 6, 6, 1)))
    w1 = fnp.asarray(rng.normal(size=(3, 3, 1, 4)))
    w2 = fnp.asarray(rng.normal(size=(4, 2, 3, 3)))  # OIHW, two groups

    def loss(w1, w2):
        h = lax.conv_general_dilated(
            x, w1, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NCHW")
        )
        h = fnp.tanh(h)
        h = lax.conv_general_dilated(
            h, w2, (2, 2), "VALID", rhs_dilation=(1, 1), feature_group_count=2
        )
        return fnp.sum(h**2)

    check_grads(loss, (w1, w2), order=1)
    g = funcgrad.grad(loss, argnums=(0, 1))(w1, w2)
    gj = funcgrad.jit(funcgrad.grad(loss, argnums=(0, 1)))(w1, w2)
    for a, b in zip(g, gj):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-12)


# --- vmap ----------------------------------------------------------------------------------


@settings(max_examples=25)
@given(data=st.data())
def test_vmap_against_loop(data):
    lhs, rhs, params = data.draw(conv_configs(max_nsp=2))
    la = data.draw(st.sampled_from([None, 0, lhs.ndim]), label="lhs axis")
    ra = data.draw(
        st.sampled_from([None, 0, rhs.ndim] if la is not None else [0, rhs.ndim]), label="rhs axis"
    )
    rng = np.random.default_rng(0)
    size = 3
    stack = lambda a, axis: (
        a if axis is None else np.stack([rng.normal(size=a.shape) for _ in range(size)], axis=axis)
    )
    big_l, big_r = stack(lhs, la), stack(rhs, ra)
    out = funcgrad.vmap(lambda a, b: _public(a, b, params), in_axes=(la, ra))(big_l, big_r)
    for i in range(size):
        li = big_l if la is None else np.take(big_l, i, axis=la)
        ri = big_r if ra is None else np.take(big_r, i, axis=ra)
        np.testing.assert_allclose(np.asarray(out[i]), conv_reference(li, ri, **params), atol=1e-12)


@settings(max_examples=10)
@given(data=st.data())
def test_vmap_of_grad_against_loop(data):
    """Per-example gradients: the batching rule applied to both transpose rules."""
    lhs, rhs, params = data.draw(conv_configs(max_nsp=2))
    rng = np.random.default_rng(1)
    xs = rng.normal(size=(2, *lhs.shape))
    loss = lambda x, w: fnp.sum(fnp.sin(_public(x, w, params)))
    grads = funcgrad.vmap(funcgrad.grad(loss, argnums=(0, 1)), in_axes=(0, None))(xs, rhs)
    for i in range(2):
        expected = funcgrad.grad(loss, argnums=(0, 1))(xs[i], rhs)
        for g, e in zip(grads, expected):
            np.testing.assert_allclose(np.asarray(g[i]), np.asarray(e), rtol=1e-12, atol=1e-12)


# --- conv_transpose -------------------------------------------------------------------------


def _conv_transpose_reference(x, w, stride, padding, output_padding, dilation, groups):
    """PyTorch's ConvTranspose by its scatter definition, NC... / IO... layouts: each input
    element adds ``x * w[tap]`` at output position ``i * stride - padding + tap * dilation``."""
    n, c_in, *in_sp = x.shape
    _, cout_g, *k_sp = w.shape
    cin_g = c_in // groups
    out_sp = [
        (i - 1) * s - 2 * p + d * (k - 1) + op + 1
        for i, s, p, d, k, op in zip(in_sp, stride, padding, dilation, k_sp, output_padding)
    ]
    out = np.zeros((n, cout_g * groups, *out_sp))
    for pos in itertools.product(*(range(i) for i in in_sp)):
        for tap in itertools.product(*(range(k) for k in k_sp)):
            target = [
                i * s - p + t * d for i, t, s, p, d in zip(pos, tap, stride, padding, dilation)
            ]
            if not all(0 <= t < o for t, o in zip(target, out_sp)):
                continue
            for g in range(groups):
                xs = x[(slice(None), slice(g * cin_g, (g + 1) * cin_g), *pos)]  # (N, Cin_g)
                ws = w[(slice(g * cin_g, (g + 1) * cin_g), slice(None), *tap)]  # (Cin_g, Cout_g)
                out[(slice(None), slice(g * cout_g, (g + 1) * cout_g), *target)] += xs @ ws
    return out


@st.composite
def _transpose_configs(draw):
    nsp = draw(st.integers(1, 3))
    small = nsp == 3
    groups = draw(st.integers(1, 2))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nsp))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nsp))
    k_sp = tuple(draw(st.integers(1, 2 if small else 3)) for _ in range(nsp))
    padding = tuple(draw(st.integers(0, d * (k - 1))) for k, d in zip(k_sp, dilation))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    in_sp = tuple(draw(st.integers(1, 2 if small else 4)) for _ in range(nsp))
    assume(
        all(
            (i - 1) * s - 2 * p + d * (k - 1) + 1 >= 1
            for i, s, p, d, k in zip(in_sp, stride, padding, dilation, k_sp)
        )
    )
    n = draw(st.integers(1, 2))
    cin_g, cout_g = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.normal(size=(n, cin_g * groups, *in_sp))
    w = rng.normal(size=(cin_g * groups, cout_g, *k_sp))
    return x, w, stride, padding, output_padding, dilation, groups


@given(cfg=_transpose_configs())
def test_conv_transpose_against_loop_reference(cfg):
    x, w, stride, padding, output_padding, dilation, groups = cfg
    expected = _conv_transpose_reference(*cfg)
    actual = lax.conv_transpose(
        x, w, stride, padding, output_padding, dilation, feature_group_count=groups
    )
    # PyTorch's size formula: (in - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1
    size = tuple(
        (i - 1) * s - 2 * p + d * (k - 1) + op + 1
        for i, s, p, d, k, op in zip(x.shape[2:], stride, padding, dilation, w.shape[2:], output_padding)
    )  # fmt: skip
    assert actual.shape == (x.shape[0], w.shape[1] * groups, *size)
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=1e-12, atol=1e-12)


@settings(max_examples=10)
@given(cfg=_transpose_configs())
def test_conv_transpose_is_the_input_gradient_of_conv(cfg):
    """conv_transpose(y, w) is the vjp of the strided convolution that maps back to y's size."""
    y, w, stride, padding, output_padding, dilation, groups = cfg
    # with output_padding >= stride (allowed when below the dilation) the result is
    # larger than any input that the forward convolution maps to y's size
    assume(all(op < s for op, s in zip(output_padding, stride)))
    out = lax.conv_transpose(
        y, w, stride, padding, output_padding, dilation, feature_group_count=groups
    )
    # PyTorch's ConvTranspose weight (C_in, C_out / g, k...) is the weight of that
    # forward convolution (C_in outputs from C_out / g inputs per group) as it is
    wf = w
    pads = [(p, p) for p in padding]
    conv = lambda a: lax.conv_general_dilated(a, wf, stride, pads, rhs_dilation=dilation,
                                              feature_group_count=groups)  # fmt: skip
    _, vjp = funcgrad.vjp(conv, fnp.zeros(out.shape))
    (expected,) = vjp(fnp.asarray(y))
    np.testing.assert_allclose(np.asarray(out), np.asarray(expected), rtol=1e-12, atol=1e-12)


def test_conv_transpose_layouts_and_grads():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3, 3, 4))  # NHWC
    w = rng.normal(size=(2, 2, 4, 3))  # HWIO: I = 4 input channels, O = 3 output channels
    out = lax.conv_transpose(x, w, 2, 0, 1, dimension_numbers=("NHWC", "HWIO", "NHWC"))
    expected = _conv_transpose_reference(
        x.transpose(0, 3, 1, 2), w.transpose(2, 3, 0, 1), (2, 2), (0, 0), (1, 1), (1, 1), 1
    )
    assert out.shape == (2, 7, 7, 3)
    np.testing.assert_allclose(
        np.asarray(out), expected.transpose(0, 2, 3, 1), rtol=1e-12, atol=1e-12
    )
    f = lambda a, b: lax.conv_transpose(a, b, (2, 1), (1, 0), (1, 0), feature_group_count=2)
    check_grads(f, (fnp.asarray(rng.normal(size=(1, 4, 3, 3))), fnp.asarray(rng.normal(size=(4, 1, 3, 2)))),
                order=2, modes=("fwd", "rev"))  # fmt: skip


# --- errors ----------------------------------------------------------------------------------

_CG = "funcgrad.lax.conv_general_dilated"


@pytest.mark.parametrize(
    "lhs_shape, rhs_shape, kwargs, error, match",
    [
        ((1, 4, 5, 5), (2, 3, 3, 3), {}, ValueError, r"lhs feature dimension \(4\) must equal the rhs input-feature dimension \(3\)"),
        ((1, 4, 5, 5), (3, 2, 3, 3), {"feature_group_count": 2}, ValueError, r"output-feature dimension \(3\) must be a multiple"),
        ((3, 4, 5, 5), (2, 4, 3, 3), {"batch_group_count": 2}, ValueError, r"lhs batch dimension \(3\) must be a multiple of batch_group_count \(2\)"),
        ((2, 4, 5, 5), (4, 2, 3, 3), {"batch_group_count": 2, "feature_group_count": 2}, ValueError, "at most one of"),
        ((1, 4, 5, 5), (2, 4, 3), {}, ValueError, r"same number of axes, at least 3.*\(1, 4, 5, 5\) and \(2, 4, 3\)"),
        ((1, 4, 5, 5), (2, 4, 3, 3), {"padding": "FULL"}, ValueError, "padding must be 'SAME'"),
        ((1, 4, 5, 5), (2, 4, 3, 3), {"padding": [(1, 1)]}, ValueError, r"one \(low, high\) pair per spatial dimension \(2\)"),
        ((1, 4, 5, 5), (2, 4, 3, 3), {"window_strides": (1,)}, ValueError, r"window_strides must have one entry per spatial dimension \(2\)"),
        ((1, 4, 5, 5), (2, 4, 3, 3), {"window_strides": (0, 1)}, ValueError, "window_strides must be positive"),
        ((1, 4, 5, 5), (2, 4, 3, 3), {"padding": "SAME", "lhs_dilation": (2, 2)}, ValueError, "not defined with lhs_dilation"),
        ((1, 4, 5, 5), (2, 4, 3, 3), {"dimension_numbers": ("NHWC", "HWIO")}, ValueError, "dimension_numbers must be None"),
        ((1, 4, 5, 5), (2, 4, 3, 3), {"dimension_numbers": ("NHWC", "HWIO", "NHW")}, ValueError, "not valid for operands with 4 axes"),
        ((1, 4, 5, 5), (2, 4, 3, 3), {"dimension_numbers": ("NHWC", "HWXO", "NHWC")}, ValueError, "not valid"),
        ((1, 4, 5, 5), (2, 4, 3, 3), {"dimension_numbers": ((0, 1, 2, 2), (0, 1, 2, 3), (0, 1, 2, 3))}, ValueError, "must be a permutation"),
    ],
)  # fmt: skip
def test_conv_errors(lhs_shape, rhs_shape, kwargs, error, match):
    kwargs = dict(kwargs)
    strides = kwargs.pop("window_strides", (1, 1))
    padding = kwargs.pop("padding", "VALID")
    with pytest.raises(error, match=r"^funcgrad\.lax\.conv_general_dilated: .*" + match):
        lax.conv_general_dilated(
            fnp.ones(lhs_shape), fnp.ones(rhs_shape), strides, padding, **kwargs
        )


def test_conv_dtype_error():
    with pytest.raises(
        TypeError, match=f"{_CG}: lhs and rhs must have one dtype, got float64 and float32"
    ):
        lax.conv_general_dilated(
            fnp.ones((1, 1, 3)), fnp.ones((1, 1, 2), dtype=np.float32), (1,), "VALID"
        )


def test_primitive_errors_without_the_wrapper():
    """Eager binds skip abstract eval: a bad direct bind still gets the primitive's message."""
    params = _params(1)
    with pytest.raises(ValueError, match="conv_general_dilated: the lhs feature dimension"):
        conv_general_dilated_p.bind1(fnp.ones((1, 2, 4)), fnp.ones((1, 3, 2)), **params)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            {"strides": 2, "output_padding": 2},
            r"output_padding \(2, 2\) must be smaller than the stride",
        ),
        ({"padding": -1}, "padding and output_padding must be >= 0"),
        ({"strides": 0}, "strides and rhs_dilation must be positive"),
        (
            {"feature_group_count": 3},
            r"input has 4 channels.*divisible by feature_group_count \(3\)",
        ),
        (
            {"padding": 3},
            r"output size .* is \[-1, -1\] for input \[3, 3\] and kernel \[3, 3\]: too small",
        ),
        ({"strides": (1, 2, 3)}, r"strides must have one entry per spatial dimension \(2\)"),
    ],
)
def test_conv_transpose_errors(kwargs, match):
    with pytest.raises(ValueError, match=r"^funcgrad\.lax\.conv_transpose: .*" + match):
        lax.conv_transpose(fnp.ones((1, 4, 3, 3)), fnp.ones((4, 2, 3, 3)), **kwargs)


def test_conv_transpose_channel_mismatch():
    with pytest.raises(
        ValueError, match=r"input has 4 channels but the kernel's input-channel axis \('I'\) has 3"
    ):
        lax.conv_transpose(fnp.ones((1, 4, 3, 3)), fnp.ones((3, 2, 3, 3)))
