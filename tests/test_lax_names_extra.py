"""The smaller jax.lax names (reciprocal, tile, stack, unstack, empty, mulhi, broadcast_like,
dtype, the conv / reduce_window shape arithmetic and the type names) against NumPy, exact
integer arithmetic, values JAX 0.10.2 printed, and the shapes real convolutions produce."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.test_util import check_grads

RNG = np.random.default_rng(0)


def _np(x):
    return np.asarray(x)


# --- reciprocal ---------------------------------------------------------------------------


def test_reciprocal_values_grads_jit_vmap():
    x = RNG.uniform(0.5, 2.0, size=(3, 4)) * RNG.choice([-1, 1], size=(3, 4))
    np.testing.assert_allclose(_np(lax.reciprocal(x)), 1.0 / x, rtol=1e-15)
    x32 = fnp.asarray(x, fnp.float32)
    assert lax.reciprocal(x32).dtype == np.float32
    check_grads(lax.reciprocal, (fnp.asarray(x),), order=2)
    np.testing.assert_allclose(_np(funcgrad.grad(lambda v: lax.reciprocal(v))(2.0)), -0.25)
    np.testing.assert_array_equal(_np(funcgrad.jit(lax.reciprocal)(x)), _np(lax.reciprocal(x)))
    np.testing.assert_allclose(_np(funcgrad.vmap(lax.reciprocal)(x)), 1.0 / x, rtol=1e-15)
    with pytest.raises(TypeError, match="integer"):
        lax.reciprocal(fnp.asarray([1, 2]))


# --- tile, stack, unstack ---------------------------------------------------------------------


@settings(max_examples=15)
@given(shape=st.lists(st.integers(0, 3), min_size=0, max_size=3), data=st.data())
def test_tile_matches_numpy(shape, data):
    reps = data.draw(st.lists(st.integers(0, 3), min_size=len(shape), max_size=len(shape)))
    x = RNG.normal(size=shape)
    np.testing.assert_array_equal(_np(lax.tile(x, reps)), np.tile(x, reps))


def test_tile_grads_jit_vmap_and_errors():
    x = fnp.asarray(RNG.normal(size=(2, 3)))
    check_grads(lambda v: lax.tile(v, (2, 3)), (x,), order=2)
    # the cotangent of a tile is the sum over the copies
    g = funcgrad.grad(lambda v: (lax.tile(v, (2, 3)) * fnp.arange(36.0).reshape(4, 9)).sum())(x)
    w = np.arange(36.0).reshape(2, 2, 3, 3).sum(axis=(0, 2))  # (rep0, row, rep1, col)
    np.testing.assert_allclose(_np(g), w)
    np.testing.assert_array_equal(
        _np(funcgrad.jit(lambda v: lax.tile(v, (1, 2)))(x)), np.tile(_np(x), (1, 2))
    )
    xs = RNG.normal(size=(4, 2, 3))
    got = funcgrad.vmap(lambda v: lax.tile(v, (3, 1)))(xs)
    np.testing.assert_array_equal(_np(got), np.stack([np.tile(v, (3, 1)) for v in xs]))
    with pytest.raises(ValueError, match="lax.tile: reps must have one entry per axis"):
        lax.tile(fnp.arange(3), (2, 2))


@settings(max_examples=15)
@given(n=st.integers(1, 4), shape=st.lists(st.integers(0, 3), max_size=3), data=st.data())
def test_stack_unstack_match_numpy(n, shape, data):
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    xs = [RNG.normal(size=shape) for _ in range(n)]
    stacked = lax.stack(xs, axis=axis)
    np.testing.assert_array_equal(_np(stacked), np.stack(xs, axis=axis))
    parts = lax.unstack(stacked, axis=axis)
    assert isinstance(parts, tuple) and len(parts) == n
    for p, x in zip(parts, xs):
        np.testing.assert_array_equal(_np(p), x)


def test_stack_unstack_grads_jit_vmap_and_errors():
    a, b = fnp.asarray(RNG.normal(size=(2, 3))), fnp.asarray(RNG.normal(size=(2, 3)))
    check_grads(lambda a, b: lax.stack([a, b], axis=1), (a, b), order=2)
    check_grads(lambda x: lax.unstack(x, axis=-1)[1], (a,), order=2)
    stack_j = funcgrad.jit(lambda a, b: lax.stack([a, b], axis=-1))
    np.testing.assert_array_equal(_np(stack_j(a, b)), np.stack([_np(a), _np(b)], axis=-1))
    xs = RNG.normal(size=(5, 2, 3))
    got = funcgrad.vmap(lambda x: lax.unstack(x, axis=1)[2])(xs)
    np.testing.assert_array_equal(_np(got), xs[:, :, 2])
    with pytest.raises(TypeError, match="lax.stack: operands must have one dtype"):
        lax.stack([fnp.ones(2), fnp.zeros(2, fnp.int32)])
    with pytest.raises(ValueError, match="lax.stack: operands must have one shape"):
        lax.stack([fnp.ones(2), fnp.ones(3)])
    with pytest.raises(ValueError, match="at least one operand"):
        lax.stack([])
    with pytest.raises(ValueError, match="unstack: x must have at least one axis"):
        lax.unstack(fnp.asarray(1.0))


def test_empty_shape_dtype_and_contents():
    e = lax.empty((2, 3), fnp.float32)
    assert e.shape == (2, 3) and e.dtype == np.float32
    np.testing.assert_array_equal(_np(e), np.zeros((2, 3)))  # documented: zeros
    assert lax.empty(4, "int8").shape == (4,)
    assert funcgrad.jit(lambda: lax.empty((3,), np.int32))().dtype == np.int32
    with pytest.raises(ValueError, match="out_sharding"):
        lax.empty(3, np.float32, out_sharding="x")


# --- mulhi ----------------------------------------------------------------------------------


def _mulhi_oracle(a, b, dt):
    """Exact Python-int product, high half reinterpreted in two's complement."""
    bits = 8 * dt.itemsize
    out = []
    for x, y in zip(a.tolist(), b.tolist()):
        hi = (x * y) >> bits  # Python ints: exact, arithmetic shift for negatives
        hi &= (1 << bits) - 1
        if dt.kind == "i" and hi >= 1 << (bits - 1):
            hi -= 1 << bits
        out.append(hi)
    return np.array(out, dtype=dt)


@pytest.mark.parametrize(
    "dt", ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"]
)
@settings(max_examples=10)
@given(seed=st.integers(0, 2**32 - 1))
def test_mulhi_matches_exact_integer_product(dt, seed):
    dt = np.dtype(dt)
    info = np.iinfo(dt)
    rng = np.random.default_rng(seed)
    a = rng.integers(info.min, info.max, size=12, dtype=dt, endpoint=True)
    b = rng.integers(info.min, info.max, size=12, dtype=dt, endpoint=True)
    a[:4] = [info.min, info.max, info.max, 0]  # the extremes
    b[:4] = [info.min, info.max, info.min, info.max]
    got = lax.mulhi(a, b)
    assert got.dtype == dt
    np.testing.assert_array_equal(_np(got), _mulhi_oracle(a, b, dt))


_MULHI_JIT = funcgrad.jit(lax.mulhi)


def test_mulhi_jit_vmap_scalars_and_errors():
    a = np.array([[2**63 - 1, -7], [5, -(2**63)]], np.int64)
    b = np.array([[3, 2**62], [-1, -1]], np.int64)
    want = np.stack([_mulhi_oracle(r, s, a.dtype) for r, s in zip(a, b)])
    np.testing.assert_array_equal(_np(_MULHI_JIT(a, b)), want)
    np.testing.assert_array_equal(_np(funcgrad.vmap(lax.mulhi)(a, b)), want)
    np.testing.assert_array_equal(_np(lax.mulhi(np.array([2**31 - 1], np.int32), 6)), [2])
    with pytest.raises(TypeError, match="integer dtype"):
        lax.mulhi(fnp.asarray([2.0]), fnp.asarray([3.0]))
    with pytest.raises(TypeError, match="one dtype"):
        lax.mulhi(np.array([1], np.int32), np.array([1], np.int64))
    with pytest.raises(ValueError, match="one shape"):
        lax.mulhi(np.ones(2, np.int32), np.ones(3, np.int32))


# --- broadcast_like, dtype ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape,target", [((3,), (2, 3)), ((3, 1), (2, 3, 4)), ((), (2,)), ((1, 1), (1, 5))]
)
def test_broadcast_like_matches_numpy_and_differentiates(shape, target):
    x = RNG.normal(size=shape)
    like = fnp.zeros(target, fnp.int32)  # only the shape of like_arr matters
    got = lax.broadcast_like(x, like)
    np.testing.assert_array_equal(_np(got), np.broadcast_to(x, target))
    assert got.dtype == np.float64
    check_grads(lambda v: lax.broadcast_like(v, like), (fnp.asarray(x),), order=2)
    jitted = funcgrad.jit(lax.broadcast_like)(x, like)
    np.testing.assert_array_equal(_np(jitted), np.broadcast_to(x, target))


def test_broadcast_like_error_names_shapes():
    with pytest.raises(ValueError, match=r"broadcast_like: arr of shape \(3,\) .* \(2, 4\)"):
        lax.broadcast_like(fnp.ones(3), fnp.ones((2, 4)))


def test_dtype_of_values_and_types():
    assert lax.dtype(1) == np.int64 and lax.dtype(1.0) == np.float64
    assert lax.dtype(True) == np.bool_ and lax.dtype(1j) == np.complex128
    assert lax.dtype(float) == np.float64 and lax.dtype(int) == np.int64
    assert lax.dtype(np.float32) == np.float32 and lax.dtype("float16") == np.float16
    assert (
        lax.dtype(np.ones(2, np.int8)) == np.int8
        and lax.dtype(fnp.ones(2, fnp.uint16)) == np.uint16
    )
    assert lax.dtype(np.float32(1)) == np.float32
    with pytest.raises(TypeError, match="lax.dtype"):
        lax.dtype("object")
    with pytest.raises(TypeError, match="lax.dtype"):
        lax.dtype([1, 2])
    with pytest.raises(ValueError, match="None"):
        lax.dtype(None)


# --- shape arithmetic -------------------------------------------------------------------------


def test_shape_tuples_match_values_jax_printed():
    dn = ("NHWC", "HWIO", "NHWC")
    assert lax.conv_general_permutations(dn) == ((0, 3, 1, 2), (3, 2, 0, 1), (0, 3, 1, 2))
    assert lax.conv_general_shape_tuple((1, 8, 8, 3), (3, 3, 3, 4), (2, 2), "SAME", dn) == (
        1,
        4,
        4,
        4,
    )
    assert lax.conv_transpose_shape_tuple((1, 8, 8, 3), (3, 3, 3, 4), (2, 2), "SAME", dn) == (
        1,
        16,
        16,
        4,
    )
    assert lax.conv_transpose_shape_tuple((1, 8, 8, 3), (3, 3, 3, 4), (2, 2), "VALID", dn) == (
        1,
        17,
        17,
        4,
    )
    pads = [(1, 2), (0, 0)]
    assert lax.conv_transpose_shape_tuple((1, 8, 8, 3), (3, 3, 3, 4), (2, 2), pads, dn) == (
        1,
        16,
        13,
        4,
    )
    assert lax.conv_shape_tuple((2, 3, 9, 9), (4, 3, 3, 3), (1, 2), "VALID") == (2, 4, 7, 4)
    assert lax.conv_shape_tuple((4, 3, 9, 9), (4, 3, 3, 3), (1, 2), [(1, 1), (0, 0)], 2) == (
        2,
        4,
        9,
        4,
    )
    assert lax.reduce_window_shape_tuple((10, 10), (3, 3), (2, 2), [(1, 1), (0, 0)]) == (5, 4)
    assert lax.reduce_window_shape_tuple(
        (10, 10), (3, 3), (2, 2), [(1, 1), (0, 0)], (2, 1), (1, 2)
    ) == (10, 3)
    spec = lax.conv_dimension_numbers((1, 8, 8, 3), (3, 3, 3, 4), dn)
    assert lax.conv_general_permutations(spec) == lax.conv_general_permutations(dn)


@settings(max_examples=15)
@given(
    size=st.lists(st.integers(1, 7), min_size=1, max_size=2),
    data=st.data(),
)
def test_conv_general_shape_tuple_equals_the_shape_of_a_real_conv(size, data):
    nsp = len(size)
    k = data.draw(st.lists(st.integers(1, 3), min_size=nsp, max_size=nsp))
    strides = data.draw(st.lists(st.integers(1, 3), min_size=nsp, max_size=nsp))
    padding = data.draw(st.sampled_from(["SAME", "VALID", [(1, 0)] * nsp]))
    layouts = {1: ("NWC", "WIO", "NCW"), 2: ("NHWC", "HWIO", "NCHW")}[nsp]
    lhs = np.ones((2, *size, 3))
    rhs = np.ones((*k, 3, 5))
    want = lax.conv_general_dilated(lhs, rhs, strides, padding, dimension_numbers=layouts).shape
    assert lax.conv_general_shape_tuple(lhs.shape, rhs.shape, strides, padding, layouts) == want


@settings(max_examples=15)
@given(size=st.integers(1, 8), k=st.integers(1, 3), s=st.integers(1, 3), lo=st.integers(0, 2),
       hi=st.integers(0, 2), base=st.integers(1, 2), wdil=st.integers(1, 2))  # fmt: skip
def test_reduce_window_shape_tuple_equals_the_shape_of_a_real_reduce_window(
    size, k, s, lo, hi, base, wdil
):
    x = np.ones((size, 2))
    out = lax.reduce_window(
        x, 0.0, lax.add, (k, 1), (s, 1), [(lo, hi), (0, 0)], (base, 1), (wdil, 1)
    )
    got = lax.reduce_window_shape_tuple(
        x.shape, (k, 1), (s, 1), [(lo, hi), (0, 0)], (base, 1), (wdil, 1)
    )
    assert got == out.shape


def test_shape_tuple_errors_are_explicit():
    with pytest.raises(
        ValueError, match="conv_general_permutations: dimension_numbers .* not valid"
    ):
        lax.conv_general_permutations(("HWC", "HWIO", "NHWC"))
    with pytest.raises(ValueError, match="the same spatial letters"):
        lax.conv_general_permutations(("NHWC", "DWIO", "NHWC"))
    with pytest.raises(ValueError, match="expected 2 .* pads"):
        lax.conv_shape_tuple((1, 1, 4, 4), (1, 1, 2, 2), (1, 1), [(0, 0)])
    with pytest.raises(ValueError, match="one entry per axis"):
        lax.reduce_window_shape_tuple((4, 4), (2,), (1, 1), [(0, 0), (0, 0)])


# --- type names --------------------------------------------------------------------------------


def test_type_names():
    assert {m.name for m in lax.AccuracyMode} == {"HIGHEST", "DEFAULT"}
    t = lax.Tolerance(atol=1e-3, ulps=2)
    assert (t.atol, t.rtol, t.ulps) == (1e-3, 0.0, 2)
    with pytest.raises(ValueError, match="at least one"):
        lax.Tolerance()
    with pytest.raises(ValueError, match="non-negative"):
        lax.Tolerance(atol=-1.0)
    # the aliases are usable in annotations and name what the functions accept
    assert lax.ConvDimensionNumbers in lax.ConvGeneralDilatedDimensionNumbers.__args__
    assert lax.Precision in lax.PrecisionLike.__args__
    assert lax.DotDimensionNumbers.__origin__ is tuple


# --- conv_general_dilated_local ---------------------------------------------------------


def _local_conv_reference(x, w, strides, pads, filt, lhs_dil, rhs_dil):
    """NCHW input, (O, C*taps, OH, OW) kernels: every output position by explicit sums."""
    n, c, h, wd = x.shape
    dil = np.zeros((n, c, (h - 1) * lhs_dil[0] + 1, (wd - 1) * lhs_dil[1] + 1), x.dtype)
    dil[:, :, :: lhs_dil[0], :: lhs_dil[1]] = x
    xp = np.pad(dil, ((0, 0), (0, 0), pads[0], pads[1]))
    kh, kw = filt
    oh = (xp.shape[2] - ((kh - 1) * rhs_dil[0] + 1)) // strides[0] + 1
    ow = (xp.shape[3] - ((kw - 1) * rhs_dil[1] + 1)) // strides[1] + 1
    out = np.zeros((n, w.shape[0], oh, ow))
    for i in range(oh):
        for j in range(ow):
            for ci in range(c):
                for a in range(kh):
                    for b in range(kw):
                        v = xp[
                            :, ci, i * strides[0] + a * rhs_dil[0], j * strides[1] + b * rhs_dil[1]
                        ]
                        out[:, :, i, j] += v[:, None] * w[None, :, ci * kh * kw + a * kw + b, i, j]
    return out


@pytest.mark.parametrize(
    "strides, pads, filt, lhs_dil, rhs_dil",
    [((1, 1), ((0, 0), (0, 0)), (2, 2), (1, 1), (1, 1)),
     ((2, 1), ((1, 0), (2, 1)), (2, 3), (1, 1), (1, 2)),
     ((1, 2), ((2, 1), (1, 0)), (3, 2), (2, 1), (1, 1))],
)  # fmt: skip
def test_conv_general_dilated_local_matches_explicit_sums(strides, pads, filt, lhs_dil, rhs_dil):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 6, 5))
    oh_ow = lax.conv_general_dilated_patches(fnp.asarray(x), filt, strides, pads, lhs_dil,
                                             rhs_dil).shape[2:]  # fmt: skip
    w = rng.standard_normal((4, 3 * filt[0] * filt[1], *oh_ow))
    want = _local_conv_reference(x, w, strides, pads, filt, lhs_dil, rhs_dil)
    got = lax.conv_general_dilated_local(fnp.asarray(x), fnp.asarray(w), strides, pads, filt,
                                         lhs_dilation=lhs_dil, rhs_dilation=rhs_dil)  # fmt: skip
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12, atol=1e-12)
    # the same computation in NHWC / HWIO layout
    nhwc = lax.conv_general_dilated_local(
        fnp.asarray(x.transpose(0, 2, 3, 1)), fnp.asarray(w.transpose(2, 3, 1, 0)), strides,
        pads, filt, lhs_dilation=lhs_dil, rhs_dilation=rhs_dil,
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
    )  # fmt: skip
    np.testing.assert_allclose(np.asarray(nhwc), want.transpose(0, 2, 3, 1), rtol=1e-12, atol=1e-12)


def test_conv_general_dilated_local_grads_vmap_jit_and_errors():
    rng = np.random.default_rng(4)
    x = fnp.asarray(rng.standard_normal((1, 2, 4, 4)))
    w = fnp.asarray(rng.standard_normal((3, 2 * 4, 3, 3)))

    def f(x, w):
        return lax.conv_general_dilated_local(x, w, (1, 1), "VALID", (2, 2))

    check_grads(f, (x, w), order=2, modes=("fwd", "rev"))
    np.testing.assert_allclose(np.asarray(funcgrad.jit(f)(x, w)), np.asarray(f(x, w)), rtol=1e-14)
    xs = fnp.asarray(rng.standard_normal((3, 1, 2, 4, 4)))
    batched = funcgrad.vmap(f, in_axes=(0, None))(xs, w)
    for i in range(3):
        np.testing.assert_allclose(np.asarray(batched[i]), np.asarray(f(xs[i], w)), rtol=1e-12)
    with pytest.raises(ValueError, match="conv_general_dilated_local: rhs must hold"):
        f(x, w[:, :5])
