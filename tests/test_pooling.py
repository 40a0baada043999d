"""Pooling, adaptive pooling, unpooling and resizing against explicit NumPy loops.

The references follow PyTorch's definitions (its pooling output-size formula with
ceil_mode, the avg-pool divisor, the adaptive windows, interpolate's source
coordinates), written per output element; gradients are checked with check_grads at
points without ties, and the tie rule of max pooling by hand.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import assert_same
from records_windowed import draw_window_params, reduce_window_loop

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad._src.lax import windowed
from funcgrad.test_util import check_grads

# --- references ---------------------------------------------------------------------------


def torch_out_size(n, k, s, pad_lo, pad_hi, d, ceil_mode):
    """PyTorch's pooling_output_shape (pad_l + pad_r in place of 2 * pad)."""
    numerator = n + pad_lo + pad_hi - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = numerator // s + 1  # division rounding towards -inf
    if ceil_mode and (out - 1) * s >= n + pad_lo:
        out -= 1
    return out


def _to_channels_first(x, k, channels_last):
    return np.moveaxis(x, -1, x.ndim - 1 - k) if channels_last else x


def _from_channels_first(y, k, channels_last):
    return np.moveaxis(y, y.ndim - 1 - k, -1) if channels_last else y


def pool_loop(x, kind, window, strides, pads, *, dilation=None, ceil_mode=False, count_include_pad=True,
              divisor_override=None, channels_last=True):  # fmt: skip
    """Max/avg/sum pooling per output element, PyTorch style; max also returns indices."""
    k = len(window)
    dilation = dilation or (1,) * k
    x = _to_channels_first(x, k, channels_last)
    lead, spatial = x.shape[: x.ndim - k], x.shape[x.ndim - k :]
    out_sizes = [torch_out_size(n, w, s, lo, hi, d, ceil_mode)
                 for n, w, s, (lo, hi), d in zip(spatial, window, strides, pads, dilation)]  # fmt: skip
    dtype = x.dtype if kind != "avg" or x.dtype.kind == "f" else np.dtype(np.float64)
    out = np.zeros(lead + tuple(out_sizes), dtype=dtype)
    idx = np.zeros(lead + tuple(out_sizes), dtype=np.int64)
    for li in np.ndindex(*lead):
        plane = x[li]
        for o in np.ndindex(*out_sizes):
            starts = [oi * s - lo for oi, s, (lo, _) in zip(o, strides, pads)]
            positions = [p for p in itertools.product(*(range(st_, st_ + (w - 1) * d + 1, d)
                                                        for st_, w, d in zip(starts, window, dilation)))
                         if all(0 <= pi < n for pi, n in zip(p, spatial))]  # fmt: skip
            if kind == "max" and not positions:  # a window of padding only (a rare dilated case)
                out[li + o] = -np.inf if dtype.kind == "f" else np.iinfo(dtype).min
                continue
            if kind == "max":
                best = None
                for p in positions:  # first maximum in row-major order
                    if best is None or plane[p] > plane[best]:
                        best = p
                out[li + o] = plane[best]
                idx[li + o] = np.ravel_multi_index(best, spatial)
                continue
            total = sum((plane[p] for p in positions), dtype.type(0))
            if kind == "sum":
                out[li + o] = total
                continue
            if divisor_override:
                divisor = divisor_override
            elif count_include_pad:
                ends = [
                    min(st_ + w, n + hi)
                    for st_, w, n, (_, hi) in zip(starts, window, spatial, pads)
                ]
                divisor = math.prod(e - st_ for e, st_ in zip(ends, starts))
            else:
                divisor = len(positions)
            out[li + o] = dtype.type(total) / dtype.type(divisor)
    return _from_channels_first(out, k, channels_last), _from_channels_first(idx, k, channels_last)


# --- strategies ---------------------------------------------------------------------------------


@st.composite
def pool_configs(draw, max_k=2, dilation=False):
    k = draw(st.integers(1, max_k), label="spatial axes")
    window = tuple(draw(st.lists(st.integers(1, 3), min_size=k, max_size=k), label="window"))
    strides = tuple(draw(st.lists(st.integers(1, 3), min_size=k, max_size=k), label="strides"))
    dil = (
        tuple(draw(st.lists(st.integers(1, 2), min_size=k, max_size=k), label="dilation"))
        if dilation
        else (1,) * k
    )
    # PyTorch's constraint: padding at most half the (effective) window
    pads = tuple(
        (draw(st.integers(0, ((w - 1) * d + 1) // 2)), draw(st.integers(0, ((w - 1) * d + 1) // 2)))
        for w, d in zip(window, dil)
    )
    spatial = tuple(max(draw(st.integers(1, 6)), (w - 1) * d + 1) for w, d in zip(window, dil))
    lead = tuple(draw(st.lists(st.integers(1, 2), min_size=1, max_size=2), label="lead"))
    channels_last = draw(st.booleans(), label="channels_last")
    shape = lead + spatial + (2,) if channels_last else lead + (2,) + spatial
    return dict(shape=shape, window=window, strides=strides, pads=pads, dilation=dil,
                ceil_mode=draw(st.booleans(), label="ceil_mode"), channels_last=channels_last)  # fmt: skip


def _distinct(shape, seed, dtype=np.float64):
    """Values without ties (a shuffled range, scaled), so max pooling is differentiable."""
    rng = np.random.default_rng(seed)
    n = math.prod(shape)
    return (rng.permutation(n).reshape(shape) * 0.37 - n * 0.1 + rng.uniform(0, 0.1)).astype(dtype)


# --- pooling values --------------------------------------------------------------------------


@given(
    cfg=pool_configs(dilation=True),
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from([np.float32, np.float64, np.int32]),
)
def test_max_pool_against_loop(cfg, seed, dtype):
    x = np.random.default_rng(seed).integers(-5, 5, cfg["shape"]).astype(dtype)  # ties galore
    values, indices = lax.max_pool(fnp.asarray(x), cfg["window"], cfg["strides"], cfg["pads"], dilation=cfg["dilation"],
                                   ceil_mode=cfg["ceil_mode"], channels_last=cfg["channels_last"], return_indices=True)  # fmt: skip
    ref, ref_idx = pool_loop(x, "max", cfg["window"], cfg["strides"], cfg["pads"], dilation=cfg["dilation"],
                             ceil_mode=cfg["ceil_mode"], channels_last=cfg["channels_last"])  # fmt: skip
    assert_same(values, ref)
    assert_same(indices, ref_idx)
    assert lax.pool_output_shape(x.shape, cfg["window"], cfg["strides"], cfg["pads"], dilation=cfg["dilation"],
                                 ceil_mode=cfg["ceil_mode"], channels_last=cfg["channels_last"]) == ref.shape  # fmt: skip


@given(cfg=pool_configs(), seed=st.integers(0, 2**16), include=st.booleans(), divisor=st.sampled_from([None, 3]),
       dtype=st.sampled_from([np.float32, np.float64, np.int64]))  # fmt: skip
def test_avg_and_sum_pool_against_loop(cfg, seed, include, divisor, dtype):
    x = np.random.default_rng(seed).uniform(-3, 3, cfg["shape"]).astype(dtype)
    common = dict(ceil_mode=cfg["ceil_mode"], channels_last=cfg["channels_last"])
    avg = lax.avg_pool(fnp.asarray(x), cfg["window"], cfg["strides"], cfg["pads"], count_include_pad=include,
                       divisor_override=divisor, **common)  # fmt: skip
    ref, _ = pool_loop(x, "avg", cfg["window"], cfg["strides"], cfg["pads"], count_include_pad=include,
                       divisor_override=divisor, **common)  # fmt: skip
    assert_same(avg, ref)
    total = lax.sum_pool(fnp.asarray(x), cfg["window"], cfg["strides"], cfg["pads"], **common)
    ref, _ = pool_loop(x, "sum", cfg["window"], cfg["strides"], cfg["pads"], **common)
    assert_same(total, ref)


@given(n=st.integers(1, 40), k=st.integers(1, 6), s=st.integers(1, 5), lo=st.integers(0, 3), hi=st.integers(0, 3),
       d=st.integers(1, 3), ceil_mode=st.booleans())  # fmt: skip
def test_output_size_is_pytorchs(n, k, s, lo, hi, d, ceil_mode):
    expected = max(torch_out_size(n, k, s, lo, hi, d, ceil_mode), 0)
    assert windowed.pool_output_size(n, k, s, lo, hi, d, ceil_mode) == expected
    shape = lax.pool_output_shape((2, n, 3), (k,), s, [(lo, hi)], dilation=d, ceil_mode=ceil_mode)
    assert shape == (2, expected, 3)
    if expected:  # the values agree with that shape
        out = lax.max_pool(
            fnp.ones((2, n, 3)), (k,), s, [(lo, hi)], dilation=d, ceil_mode=ceil_mode
        )
        assert out.shape == shape


def test_worked_examples_of_the_lectures():
    x = fnp.zeros((1, 16, 28, 28))
    # nn.AvgPool2d(2, stride=4) and F.max_pool2d(out, 2, stride=4) on [1,16,28,28] -> [1,16,7,7]
    assert lax.avg_pool(x, (2, 2), 4, channels_last=False).shape == (1, 16, 7, 7)
    assert lax.max_pool(x, (2, 2), 4, channels_last=False).shape == (1, 16, 7, 7)
    # ceil_mode: 5 with window 2 stride 2 gives 3 (floor: 2); the last window must start inside
    assert lax.pool_output_shape((1, 1, 5, 5), (2, 2), 2, ceil_mode=True, channels_last=False) == (
        1,
        1,
        3,
        3,
    )
    assert lax.pool_output_shape((1, 1, 5, 5), (2, 2), 2, channels_last=False) == (1, 1, 2, 2)
    assert lax.pool_output_shape((1, 1, 6), (2,), 2, 1, ceil_mode=True, channels_last=False) == (
        1,
        1,
        4,
    )
    assert windowed.pool_output_size(4, 2, 2, 1, 1, 1, True) == 3  # (4+2-2+1)//2+1 = 3; 2*2 < 5
    # 'SAME' keeps ceil(in / stride); flax/stax layout by default
    assert lax.max_pool(fnp.zeros((2, 7, 5, 3)), (3, 3), (2, 2), "SAME").shape == (2, 4, 3, 3)


# --- ties and gradients --------------------------------------------------------------------------


def test_max_pool_ties_go_to_the_first_maximum_in_row_major_order():
    x = fnp.asarray(np.array([[1.0, 1.0, 0.0, 2.0], [1.0, 1.0, 2.0, 2.0]])[None, :, :, None])
    g = funcgrad.grad(lambda v: lax.max_pool(v, (2, 2), (2, 2)).sum())(x)
    expected = np.array([[1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]])[None, :, :, None]
    assert_same(g, expected)
    # overlapping windows: an element that is first maximum of two windows gets both
    g = funcgrad.grad(lambda v: lax.max_pool(v, (2,), 1, channels_last=False).sum())(
        fnp.asarray([[3.0, 3.0, 3.0]])
    )
    assert_same(g, np.array([[1.0, 1.0, 0.0]]))
    # a padding element never wins, even when the input is -inf
    x = fnp.asarray([[-np.inf, -np.inf]])
    g = funcgrad.grad(lambda v: lax.max_pool(v, (2,), 2, [(1, 1)], channels_last=False).sum())(x)
    assert_same(g, np.array([[1.0, 1.0]]))
    _, idx = lax.max_pool(x, (2,), 2, [(1, 1)], channels_last=False, return_indices=True)
    assert idx.tolist() == [[0, 1]]


@settings(max_examples=8)
@given(data=st.data())
def test_primitive_gradients(data):
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=3), label="shape"))
    params = draw_window_params(data, shape)
    seed = data.draw(st.integers(0, 2**16), label="seed")
    x = fnp.asarray(_distinct(shape, seed))
    for prim in (
        windowed.reduce_window_sum_p,
        windowed.reduce_window_max_p,
        windowed.reduce_window_min_p,
    ):
        if not np.isfinite(np.asarray(prim.bind1(x, **params))).all():
            continue  # a window of padding only: -inf, where finite differences are NaN
        check_grads(
            lambda v, prim=prim: prim.bind1(v, **params), (x,), order=2, modes=("fwd", "rev")
        )
    out_shape = windowed.reduce_window_sum_p.abstract_eval(x.aval, **params)[0].shape
    rng = np.random.default_rng(seed)
    source = fnp.asarray(rng.standard_normal(out_shape))
    t = fnp.asarray(rng.standard_normal(shape))
    scatter, gather = windowed.select_and_scatter_add_p, windowed.select_and_gather_add_p
    for select in ("max", "min"):
        check_grads(
            lambda s, sel=select: scatter.bind1(s, x, select=sel, **params), (source,), order=2
        )
        check_grads(lambda u, sel=select: gather.bind1(u, x, select=sel, **params), (t,), order=2)


@settings(max_examples=8)
@given(cfg=pool_configs(dilation=True), seed=st.integers(0, 2**16), include=st.booleans())
def test_pooling_gradients(cfg, seed, include):
    x = fnp.asarray(_distinct(cfg["shape"], seed))
    common = dict(ceil_mode=cfg["ceil_mode"], channels_last=cfg["channels_last"])
    args = (cfg["window"], cfg["strides"], cfg["pads"])
    check_grads(lambda v: lax.max_pool(v, *args, dilation=cfg["dilation"], **common), (x,), order=2)
    check_grads(
        lambda v: lax.avg_pool(v, *args, count_include_pad=include, **common), (x,), order=2
    )
    x32 = fnp.asarray(_distinct(cfg["shape"], seed, np.float32))
    check_grads(lambda v: lax.max_pool(v, *args, **common), (x32,), order=1)


def test_max_pool_gradient_is_the_loop_routing():
    rng = np.random.default_rng(0)
    x = _distinct((2, 5, 6, 3), 1)
    ct = rng.standard_normal((2, 3, 3, 3))
    _, vjp = funcgrad.vjp(lambda v: lax.max_pool(v, (2, 2), 2, "SAME"), fnp.asarray(x))
    (g,) = vjp(fnp.asarray(ct))
    _, idx = pool_loop(x, "max", (2, 2), (2, 2), ((0, 1), (0, 0)))
    expected = np.zeros_like(x)
    for b, i, j, c in np.ndindex(*ct.shape):
        h, w = divmod(int(idx[b, i, j, c]), 6)
        expected[b, h, w, c] += ct[b, i, j, c]
    assert_same(g, expected)


@settings(max_examples=10)
@given(data=st.data())
def test_reduce_window_sum_transpose_is_exact(data):
    shape = tuple(data.draw(st.lists(st.integers(0, 4), min_size=1, max_size=3), label="shape"))
    params = draw_window_params(data, shape)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x = rng.standard_normal(shape)
    f = lambda v: windowed.reduce_window_sum_p.bind1(v, **params)
    y_shape = f(fnp.asarray(x)).shape
    ct = rng.standard_normal(y_shape)
    (t,) = funcgrad.linear_transpose(f, fnp.zeros(shape))(fnp.asarray(ct))
    ref = reduce_window_loop(x, "sum", **params)
    np.testing.assert_allclose(np.vdot(np.asarray(t), x), np.vdot(ct, ref), rtol=1e-10, atol=1e-10)


def test_sum_pool_transpose_when_windows_tile_the_input():
    rng = np.random.default_rng(5)
    x, ct = rng.standard_normal((3, 8, 6, 2)), rng.standard_normal((3, 4, 2, 2))
    f = lambda v: lax.sum_pool(v, (2, 3), (2, 3))  # noqa: E731
    (t,) = funcgrad.linear_transpose(f, fnp.zeros(x.shape))(fnp.asarray(ct))
    expected = np.repeat(np.repeat(ct, 2, axis=1), 3, axis=2)  # each window's cotangent, spread
    assert_same(t, expected)
    assert_same(f(fnp.asarray(x)), x.reshape(3, 4, 2, 2, 3, 2).sum(axis=(2, 4)))


def test_pooling_under_vmap_jit_and_grad():
    x = _distinct((3, 2, 6, 6), 2)
    f = lambda v: lax.max_pool(v, (3, 3), 2, 1, channels_last=False, ceil_mode=True).sum()
    per_example = np.stack([np.asarray(funcgrad.grad(f)(fnp.asarray(e))) for e in x])
    assert_same(funcgrad.vmap(funcgrad.grad(f))(fnp.asarray(x)), per_example)
    assert_same(funcgrad.jit(funcgrad.vmap(funcgrad.grad(f)))(fnp.asarray(x)), per_example)
    g = lambda v: lax.avg_pool(
        v, (2, 2), 2, channels_last=False, count_include_pad=False, padding=1
    ).sum()
    assert_same(funcgrad.jit(funcgrad.grad(g))(fnp.asarray(x)), funcgrad.grad(g)(fnp.asarray(x)))


# --- reduce_window --------------------------------------------------------------------------------


@given(data=st.data())
@settings(max_examples=15)
def test_reduce_window_general_init_values(data):
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=2), label="shape"))
    params = draw_window_params(data, shape)
    x = np.random.default_rng(data.draw(st.integers(0, 99))).uniform(-5, 5, shape)
    args = (params["window_dimensions"], params["window_strides"], params["padding"],
            params["base_dilation"], params["window_dilation"])  # fmt: skip
    for computation, op, init in [(lax.add, "sum", 1.5), (fnp.maximum, "max", 2.0), ("min", "min", -1.0),
                                  (lax.max, "max", -np.inf), (lax.add, "sum", 0.0)]:  # fmt: skip
        out = lax.reduce_window(fnp.asarray(x), init, computation, *args)
        # explicit: pad with init, reduce every window, combine init once more
        padded = np.full(
            [
                lo + hi + (n - 1) * b + 1
                for n, (lo, hi), b in zip(shape, params["padding"], params["base_dilation"])
            ],
            init,
        )
        padded[
            tuple(
                slice(lo, None, b) for (lo, _), b in zip(params["padding"], params["base_dilation"])
            )
        ][tuple(slice(0, n) for n in shape)] = x
        ref = reduce_window_loop(
            padded, op, args[0], args[1], ((0, 0),) * len(shape), (1,) * len(shape), args[4]
        )
        ref = {"sum": np.add, "max": np.maximum, "min": np.minimum}[op](ref, init)
        assert_same(out, ref)


def test_reduce_window_same_padding_and_errors():
    x = fnp.arange(10.0)
    assert lax.reduce_window(x, 0.0, lax.add, (3,), (2,), "SAME").tolist() == [
        3.0,
        9.0,
        15.0,
        21.0,
        17.0,
    ]  # pads (0, 1)
    with pytest.raises(NotImplementedError, match="reduce_window: computation"):
        lax.reduce_window(x, 0.0, lambda a, b: a * b, (3,), (1,), "VALID")
    with pytest.raises(
        ValueError, match=r"reduce_window: window_dimensions \(3, 3\) must have 1 entries"
    ):
        lax.reduce_window(x, 0.0, lax.add, (3, 3), (1,), "VALID")
    with pytest.raises(
        ValueError, match=r"reduce_window: padding \[\(0, 0\), \(0, 0\)\] must have 1 entries"
    ):
        lax.reduce_window(x, 0.0, lax.add, (3,), (1,), [(0, 0), (0, 0)])
    with pytest.raises(ValueError, match="padding must be non-negative"):
        lax.reduce_window(x, 0.0, lax.add, (3,), (1,), [(-1, 0)])
    with pytest.raises(ValueError, match="window_strides must be >= 1"):
        lax.reduce_window(x, 0.0, lax.add, (3,), (0,), "VALID")
    with pytest.raises(
        ValueError, match="max_pool: a window of 2 axes needs an input with at least 3 axes"
    ):
        lax.max_pool(fnp.ones((4, 4)), (2, 2))
    with pytest.raises(ValueError, match="max_pool: padding must be 'SAME', 'VALID'"):
        lax.max_pool(fnp.ones((1, 4, 4, 1)), (2, 2), padding="FULL")
    with pytest.raises(ValueError, match="strides .* must have 2 entries"):
        lax.avg_pool(fnp.ones((1, 4, 4, 1)), (2, 2), (1, 1, 1))
    with pytest.raises(TypeError, match="reduce_window_sum: operand must be numeric"):
        lax.reduce_window(fnp.ones(3, bool), False, lax.add, (1,), (1,), "VALID")


# --- adaptive pooling -----------------------------------------------------------------------------


def adaptive_loop(x, out_sizes, kind, channels_last):
    k = len(out_sizes)
    x = _to_channels_first(x, k, channels_last)
    lead, spatial = x.shape[: x.ndim - k], x.shape[x.ndim - k :]
    dtype = x.dtype if kind == "max" or x.dtype.kind == "f" else np.dtype(np.float64)
    out = np.zeros(lead + tuple(out_sizes), dtype=dtype)
    idx = np.zeros(lead + tuple(out_sizes), dtype=np.int64)
    for li in np.ndindex(*lead):
        for o in np.ndindex(*out_sizes):
            ranges = [
                range(math.floor(i * n / m), math.ceil((i + 1) * n / m))
                for i, n, m in zip(o, spatial, out_sizes)
            ]
            positions = list(itertools.product(*ranges))
            values = [x[li + p] for p in positions]
            if kind == "max":
                j = int(np.argmax(values))
                out[li + o], idx[li + o] = values[j], np.ravel_multi_index(positions[j], spatial)
            else:
                out[li + o] = np.sum(values, dtype=dtype) / len(values)
    return _from_channels_first(out, k, channels_last), _from_channels_first(idx, k, channels_last)


@settings(max_examples=15)
@given(data=st.data())
def test_adaptive_pooling_against_loop(data):
    k = data.draw(st.integers(1, 2), label="k")
    spatial = tuple(data.draw(st.lists(st.integers(1, 7), min_size=k, max_size=k), label="in"))
    outs = tuple(data.draw(st.lists(st.integers(1, 5), min_size=k, max_size=k), label="out"))
    channels_last = data.draw(st.booleans(), label="channels_last")
    shape = (2, *spatial, 3) if channels_last else (2, 3, *spatial)
    seed = data.draw(st.integers(0, 2**16))
    x = np.random.default_rng(seed).integers(-3, 3, shape).astype(np.float64)  # with ties
    values, indices = lax.adaptive_max_pool(
        fnp.asarray(x), outs, channels_last=channels_last, return_indices=True
    )
    ref, ref_idx = adaptive_loop(x, outs, "max", channels_last)
    assert_same(values, ref)
    assert_same(indices, ref_idx)
    ref, _ = adaptive_loop(x, outs, "avg", channels_last)
    assert_same(lax.adaptive_avg_pool(fnp.asarray(x), outs, channels_last=channels_last), ref)
    xd = fnp.asarray(_distinct(shape, seed))
    check_grads(
        lambda v: lax.adaptive_max_pool(v, outs, channels_last=channels_last), (xd,), order=2
    )
    check_grads(
        lambda v: lax.adaptive_avg_pool(v, outs, channels_last=channels_last), (xd,), order=1
    )


def test_adaptive_pooling_none_keeps_a_size_and_global_pool():
    x = fnp.asarray(np.arange(2 * 5 * 4 * 3, dtype=np.float64).reshape(2, 5, 4, 3))
    assert lax.adaptive_avg_pool(x, (3, None)).shape == (2, 3, 4, 3)
    assert_same(lax.adaptive_avg_pool(x, (1, 1)), np.asarray(x).mean(axis=(1, 2), keepdims=True))
    with pytest.raises(ValueError, match="output_size entries must be >= 1"):
        lax.adaptive_max_pool(x, (0, 2))


# --- unpooling ----------------------------------------------------------------------------------


@settings(max_examples=10)
@given(cfg=pool_configs(), seed=st.integers(0, 2**16))
def test_max_unpool_puts_values_at_their_indices(cfg, seed):
    x = _distinct(cfg["shape"], seed)
    args = (cfg["window"], cfg["strides"], cfg["pads"])
    values, indices = lax.max_pool(
        fnp.asarray(x), *args, channels_last=cfg["channels_last"], return_indices=True
    )
    k = len(cfg["window"])
    spatial = [cfg["shape"][a] for a in windowed._spatial_axes("", x, k, cfg["channels_last"])]
    out = lax.max_unpool(
        values, indices, *args, output_size=spatial, channels_last=cfg["channels_last"]
    )
    v = _to_channels_first(np.asarray(values), k, cfg["channels_last"])
    ix = _to_channels_first(np.asarray(indices), k, cfg["channels_last"])
    sizes = tuple(spatial)
    ref = np.zeros(v.shape[: v.ndim - k] + sizes)
    for i in np.ndindex(*v.shape):
        lead, pos = i[: v.ndim - k], np.unravel_index(ix[i], sizes)
        ref[lead + tuple(pos)] = v[i]
    assert_same(out, _from_channels_first(ref, k, cfg["channels_last"]))
    check_grads(lambda u: lax.max_unpool(u, indices, *args, output_size=spatial, channels_last=cfg["channels_last"]),
                (values,), order=1)  # fmt: skip


def test_max_unpool_output_size_and_errors():
    x = fnp.asarray(np.arange(20.0).reshape(1, 1, 4, 5))
    values, indices = lax.max_pool(x, (2, 2), 2, channels_last=False, return_indices=True)
    out = lax.max_unpool(values, indices, (2, 2), 2, output_size=(4, 5), channels_last=False)
    expected = np.zeros((1, 1, 4, 5))
    expected[0, 0, 1, [1, 3]] = [6.0, 8.0]
    expected[0, 0, 3, [1, 3]] = [16.0, 18.0]
    assert_same(out, expected)
    # PyTorch's default size: (in - 1) * stride - 2 * pad + window
    x = fnp.asarray(np.arange(16.0).reshape(1, 4, 4, 1))
    values, indices = lax.max_pool(x, (2, 2), 2, return_indices=True)
    out = lax.max_unpool(values, indices, (2, 2), 2)
    assert out.shape == (1, 4, 4, 1)
    assert np.asarray(out)[0, :, :, 0].tolist() == [
        [0, 0, 0, 0],
        [0, 5, 0, 7],
        [0, 0, 0, 0],
        [0, 13, 0, 15],
    ]
    with pytest.raises(ValueError, match="max_unpool: indices shape"):
        lax.max_unpool(values, indices[:, :1], (2, 2), 2)


# --- resizing ----------------------------------------------------------------------------------


def resize_loop(x, sizes, method, align_corners, scale_factors=None):
    """PyTorch's interpolate on (N, C, spatial...), one output element at a time."""
    k = len(sizes)
    spatial = x.shape[-k:]
    out = np.zeros(x.shape[:-k] + tuple(sizes))
    scales = [
        (1 / f if scale_factors else n / m)
        for n, m, f in zip(spatial, sizes, scale_factors or sizes)
    ]

    def source(d, n, m, scale):
        if method == "nearest":
            return min(math.floor(d * scale), n - 1)
        if method == "nearest-exact":
            return min(math.floor((d + 0.5) * scale), n - 1)
        if align_corners:
            return d * (n - 1) / (m - 1) if m > 1 else 0.0
        return max(scale * (d + 0.5) - 0.5, 0.0)

    for lead in np.ndindex(*x.shape[:-k]):
        for o in np.ndindex(*sizes):
            src = [source(d, n, m, s) for d, n, m, s in zip(o, spatial, sizes, scales)]
            if method.startswith("nearest"):
                out[lead + o] = x[lead + tuple(src)]
                continue
            value = 0.0
            for corner in itertools.product((0, 1), repeat=k):  # the 2^k neighbours
                weight, pos = 1.0, []
                for c, sc, n in zip(corner, src, spatial):
                    i0 = math.floor(sc)
                    frac = sc - i0
                    pos.append(min(i0 + c, n - 1))
                    weight *= frac if c else 1 - frac
                value += weight * x[lead + tuple(pos)]
            out[lead + o] = value
    return out


@settings(max_examples=15)
@given(data=st.data())
def test_resize_against_loop(data):
    k = data.draw(st.integers(1, 2), label="k")
    spatial = tuple(data.draw(st.lists(st.integers(1, 5), min_size=k, max_size=k), label="in"))
    method = data.draw(st.sampled_from(["nearest", "nearest-exact", "linear"]), label="method")
    align = data.draw(st.booleans(), label="align_corners")
    x = np.random.default_rng(data.draw(st.integers(0, 99))).standard_normal((2, 3, *spatial))
    if data.draw(st.booleans(), label="by scale"):
        factors = tuple(
            data.draw(st.lists(st.sampled_from([0.5, 1.5, 2.0, 3.0]), min_size=k, max_size=k))
        )
        sizes = tuple(math.floor(n * f) for n, f in zip(spatial, factors))
        if min(sizes) < 1:
            return
        out = lax.resize(
            fnp.asarray(x),
            scale_factor=factors,
            method=method,
            align_corners=align,
            channels_last=False,
        )
        ref = resize_loop(x, sizes, method, align, factors)
    else:
        sizes = tuple(data.draw(st.lists(st.integers(1, 7), min_size=k, max_size=k), label="out"))
        out = lax.resize(
            fnp.asarray(x), sizes, method=method, align_corners=align, channels_last=False
        )
        ref = resize_loop(x, sizes, method, align)
    assert_same(out, ref)
    # channels last (by size): the loop on moved axes
    moved = lax.resize(
        fnp.asarray(np.moveaxis(x, 1, -1)), sizes, method=method, align_corners=align
    )
    assert_same(moved, np.moveaxis(resize_loop(x, sizes, method, align), 1, -1))
    check_grads(lambda v: lax.resize(v, sizes, method=method, align_corners=align, channels_last=False),
                (fnp.asarray(x),), order=1)  # fmt: skip


def test_resize_upsample_example_and_errors():
    x = fnp.zeros((1, 16, 28, 28))
    assert lax.resize(x, scale_factor=2, channels_last=False).shape == (1, 16, 56, 56)
    img = fnp.asarray([[[[0.0, 1.0], [2.0, 3.0]]]])
    assert lax.resize(
        img, (3, 3), method="bilinear", align_corners=True, channels_last=False
    ).tolist() == [[[[0.0, 0.5, 1.0], [1.0, 1.5, 2.0], [2.0, 2.5, 3.0]]]]
    with pytest.raises(ValueError, match="resize: method must be one of"):
        lax.resize(img, (3, 3), method="cubic")
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        lax.resize(img, (3, 3), scale_factor=2)


def test_compositions_under_vmap_match_a_loop():
    x = _distinct((3, 2, 7, 5, 2), 3)
    fns = [
        lambda v: lax.adaptive_max_pool(v, (3, 2), return_indices=True),
        lambda v: lax.adaptive_avg_pool(v, (3, 4)),
        lambda v: lax.resize(v, (9, 4), method="bilinear"),
        lambda v: lax.max_unpool(
            *lax.max_pool(v, (2, 2), 2, return_indices=True), (2, 2), 2, output_size=(7, 5)
        ),
        lambda v: lax.avg_pool(v, (2, 2), 2, ceil_mode=True, count_include_pad=False),
    ]
    for f in fns:
        batched = funcgrad.vmap(f)(fnp.asarray(x))
        batched = batched if isinstance(batched, tuple) else (batched,)
        for j, b in enumerate(batched):
            loop = [f(fnp.asarray(e)) for e in x]
            loop = [r if isinstance(r, tuple) else (r,) for r in loop]
            assert_same(b, np.stack([np.asarray(r[j]) for r in loop]))
