"""funcgrad.lax beyond the core wrappers: dynamic slicing, XLA gather/scatter, bits, scans,
solvers, lax.linalg and fft, against NumPy loops, finite differences and explicit vmap loops."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.test_util import check_grads

RNG = np.random.default_rng(0)


def _np(x):
    return np.asarray(x)


# --- dynamic slicing --------------------------------------------------------------------


@settings(max_examples=20)
@given(start=st.integers(-8, 8), size=st.integers(0, 5))
def test_dynamic_slice_in_dim_matches_numpy_clamping(start, size):
    x = np.arange(5.0)
    s = start + 5 if start < 0 else start
    s = min(max(s, 0), 5 - size)
    for st_ in (start, fnp.asarray(start)):
        np.testing.assert_array_equal(_np(lax.dynamic_slice_in_dim(x, st_, size)), x[s : s + size])


def test_dynamic_slice_grad_vmap_jit():
    x = fnp.asarray(RNG.normal(size=(4, 5)))
    f = lambda x, i: lax.dynamic_slice(x, (i, 1), (2, 3))
    check_grads(lambda x: f(x, 1), (x,), order=2)
    idx = fnp.asarray([0, 3, 2])
    batched = funcgrad.vmap(f, in_axes=(None, 0))(x, idx)
    loop = np.stack([_np(f(x, int(i))) for i in idx])
    np.testing.assert_array_equal(_np(batched), loop)
    np.testing.assert_array_equal(_np(funcgrad.jit(f)(x, fnp.asarray(2))), _np(f(x, 2)))
    xs = fnp.asarray(RNG.normal(size=(3, 4, 5)))
    both = funcgrad.vmap(f)(xs, idx)
    np.testing.assert_array_equal(
        _np(both), np.stack([_np(f(xs[k], int(idx[k]))) for k in range(3)])
    )


def test_dynamic_update_slice_grad_and_batched_starts():
    x = fnp.asarray(RNG.normal(size=(5, 3)))
    u = fnp.asarray(RNG.normal(size=(2, 3)))
    f = lambda x, u, i: lax.dynamic_update_slice(x, u, (i, 0))
    check_grads(lambda x, u: f(x, u, 2), (x, u), order=2)
    idx = fnp.asarray([0, 4, -1])
    us = fnp.asarray(RNG.normal(size=(3, 2, 3)))
    got = funcgrad.vmap(f, in_axes=(None, 0, 0))(x, us, idx)
    loop = np.stack([_np(f(x, us[k], int(idx[k]))) for k in range(3)])
    np.testing.assert_array_equal(_np(got), loop)
    jit_grad = funcgrad.jit(funcgrad.grad(lambda u, i: (f(x, u, i) ** 2).sum()))(u, fnp.asarray(1))
    np.testing.assert_allclose(_np(jit_grad), 2 * _np(u))


def test_index_forms():
    x = fnp.arange(12).reshape(3, 4)
    assert lax.index_in_dim(x, -1, axis=0, keepdims=False).tolist() == [8, 9, 10, 11]
    assert lax.dynamic_index_in_dim(x, fnp.asarray(1), axis=1).tolist() == [[1], [5], [9]]
    out = lax.dynamic_update_index_in_dim(x, fnp.asarray([0, 0, 0]), 2, axis=1)
    assert out.tolist() == [[0, 1, 0, 3], [4, 5, 0, 7], [8, 9, 0, 11]]
    with pytest.raises(IndexError, match="index_in_dim: index 3"):
        lax.index_in_dim(x, 3)
    with pytest.raises(ValueError, match="dynamic_slice: got 1 start indices"):
        lax.dynamic_slice(x, (0,), (1, 1))


# --- XLA gather / scatter ---------------------------------------------------------------


def _gather_loop(x, idx, window, fill=None):
    """Rows-of-windows gather for start_index_map=(0, 1), offset dims last."""
    out = []
    for i, j in idx.reshape(-1, 2):
        if fill is not None and not (
            0 <= i <= x.shape[0] - window[0] and 0 <= j <= x.shape[1] - window[1]
        ):
            out.append(np.full(window, fill))
            continue
        i = min(max(i, 0), x.shape[0] - window[0])
        j = min(max(j, 0), x.shape[1] - window[1])
        out.append(x[i : i + window[0], j : j + window[1]])
    return np.stack(out).reshape(idx.shape[:-1] + tuple(window))


@pytest.mark.parametrize("mode", ["clip", "fill"])
def test_gather_windows_against_loop(mode):
    x = RNG.normal(size=(5, 6))
    idx = np.array([[[0, 0], [4, 5]], [[2, 3], [-1, 2]]])
    dn = lax.GatherDimensionNumbers(
        offset_dims=(2, 3), collapsed_slice_dims=(), start_index_map=(0, 1)
    )
    got = lax.gather(x, idx, dn, (2, 3), mode=mode)
    ref = _gather_loop(x, idx, (2, 3), fill=np.nan if mode == "fill" else None)
    np.testing.assert_array_equal(_np(got), ref)
    check_grads(lambda x: lax.gather(x, idx, dn, (2, 3), mode="clip"), (fnp.asarray(x),), order=1)


def test_gather_batching_dims_and_index_take():
    x = RNG.normal(size=(3, 5))
    idx = np.array([[1], [4], [0]])
    dn = lax.GatherDimensionNumbers(
        offset_dims=(),
        collapsed_slice_dims=(1,),
        start_index_map=(1,),
        operand_batching_dims=(0,),
        start_indices_batching_dims=(0,),
    )
    np.testing.assert_array_equal(_np(lax.gather(x, idx, dn, (1, 1))), x[np.arange(3), idx[:, 0]])
    got = lax.index_take(x, (np.array([2, 0]), np.array([1, 4])), (0, 1))
    np.testing.assert_array_equal(_np(got), x[[2, 0], [1, 4]])


@pytest.mark.parametrize("name,combine", [("scatter_add", np.add), ("scatter_mul", np.multiply),
                                          ("scatter_min", np.minimum), ("scatter_max", np.maximum),
                                          ("scatter", None)])  # fmt: skip
def test_scatter_family_against_loop(name, combine):
    x = RNG.normal(size=(6,))
    idx = np.array([[1], [4], [1], [9], [-2]])  # repeated, and two out of bounds (dropped)
    upd = RNG.normal(size=(5,))
    dn = lax.ScatterDimensionNumbers(update_window_dims=(), inserted_window_dims=(0,),
                                     scatter_dims_to_operand_dims=(0,))  # fmt: skip
    ref = x.copy()
    for (i,), u in zip(idx, upd):
        if 0 <= i < 6:
            ref[i] = u if combine is None else combine(ref[i], u)
    np.testing.assert_allclose(_np(getattr(lax, name)(x, idx, upd, dn)), ref)
    clipped = x.copy()
    for (i,), u in zip(idx, upd):
        i = min(max(i, 0), 5)
        clipped[i] = u if combine is None else combine(clipped[i], u)
    np.testing.assert_allclose(_np(getattr(lax, name)(x, idx, upd, dn, mode="clip")), clipped)


def test_scatter_add_windows_grad():
    dn = lax.ScatterDimensionNumbers(update_window_dims=(1,), inserted_window_dims=(0,),
                                     scatter_dims_to_operand_dims=(0,))  # fmt: skip
    x = fnp.asarray(RNG.normal(size=(4, 3)))
    u = fnp.asarray(RNG.normal(size=(2, 3)))
    idx = np.array([[3], [0]])
    ref = _np(x).copy()
    ref[3] += _np(u)[0]
    ref[0] += _np(u)[1]
    np.testing.assert_allclose(_np(lax.scatter_add(x, idx, u, dn)), ref)
    check_grads(lambda x, u: lax.scatter_add(x, idx, u, dn), (x, u), order=2)


# --- bits -------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.int8, np.uint16, np.int32, np.int64, np.uint64])
def test_population_count_and_clz(dtype):
    info = np.iinfo(dtype)
    x = RNG.integers(info.min, info.max, size=40, dtype=dtype, endpoint=True)
    x[:2] = [0, info.max]
    bits = 8 * x.itemsize
    unsigned = x.view(f"u{x.itemsize}")
    assert _np(lax.population_count(x)).tolist() == [int(v).bit_count() for v in unsigned]
    assert _np(lax.clz(x)).tolist() == [bits - int(v).bit_length() for v in unsigned]
    jitted = funcgrad.jit(lax.population_count)(x)
    assert jitted.dtype == x.dtype


def test_shift_right_logical():
    x = np.array([-128, -1, 64, 5], np.int8)
    y = np.array([7, 1, 9, 0], np.int8)
    ref = [(int(v) & 0xFF) >> int(s) if s < 8 else 0 for v, s in zip(x, y)]
    assert _np(lax.shift_right_logical(x, y)).view(np.uint8).tolist() == ref


def test_reduce_precision_is_linear_and_batches():
    x = fnp.asarray(RNG.normal(size=(3, 4)).astype(np.float32))
    f = lambda x: lax.reduce_precision(x, 8, 7)
    np.testing.assert_array_equal(_np(funcgrad.vmap(f)(x)), _np(f(x)))
    g = funcgrad.grad(lambda x: f(x * 3.0).sum())(x)
    np.testing.assert_array_equal(_np(g), np.full((3, 4), 3.0, np.float32))


# --- compositions ---------------------------------------------------------------------------


def test_associative_scan_pytree_reverse_and_grad():
    a = RNG.normal(size=(7, 2))
    b = RNG.normal(size=(7, 2))

    def affine(p, q):  # composition of x -> a x + b maps, associative
        return (q[0] * p[0], q[0] * p[1] + q[1])

    A, B = lax.associative_scan(affine, (a, b))
    ra, rb = [a[0]], [b[0]]
    for k in range(1, 7):
        ra.append(a[k] * ra[-1])
        rb.append(a[k] * rb[-1] + b[k])
    np.testing.assert_allclose(_np(A), np.stack(ra))
    np.testing.assert_allclose(_np(B), np.stack(rb))
    rev = lax.associative_scan(fnp.add, a, reverse=True, axis=0)
    np.testing.assert_allclose(_np(rev), np.cumsum(a[::-1], 0)[::-1])
    check_grads(lambda x: lax.cumlogsumexp(x, axis=1), (fnp.asarray(a.T),), order=2)
    np.testing.assert_allclose(_np(lax.cumlogsumexp(a, axis=0)), np.logaddexp.accumulate(a, 0))


def test_reduce_monoid_and_general():
    x = RNG.normal(size=(3, 5))
    np.testing.assert_allclose(_np(lax.reduce(x, 0.0, lax.add, (1,))), x.sum(1))
    np.testing.assert_allclose(_np(lax.reduce(x, -np.inf, lax.max, (0, 1))), x.max())
    got = lax.reduce(x, -np.inf, fnp.logaddexp, (1,))
    np.testing.assert_allclose(_np(got), np.logaddexp.reduce(x, axis=1))
    a, b = lax.reduce((x, -x), (0.0, 0.0), lambda p, q: (p[0] + q[0], p[1] + q[1]), (0,))
    np.testing.assert_allclose(_np(a), x.sum(0))
    np.testing.assert_allclose(_np(b), -x.sum(0))
    assert int(lax.reduce_xor(np.array([5, 3, 12]), (0,))) == 5 ^ 3 ^ 12


def test_select_n_sort_key_val_top_k():
    cases = [np.full(4, float(i)) for i in range(3)]
    assert lax.select_n(np.array([2, 0, 1, 2]), *cases).tolist() == [2.0, 0.0, 1.0, 2.0]
    assert lax.select_n(np.array([True, False]), np.zeros(2), np.ones(2)).tolist() == [1.0, 0.0]
    k = RNG.permutation(6)
    v = RNG.normal(size=6)
    ks, vs = lax.sort_key_val(k, v)
    np.testing.assert_array_equal(_np(ks), np.sort(k))
    np.testing.assert_array_equal(_np(vs), v[np.argsort(k)])
    vals, idx = lax.top_k(np.array([3.0, 9.0, 1.0, 9.0]), 3)
    assert vals.tolist() == [9.0, 9.0, 3.0] and idx.tolist() == [1, 3, 0]


def test_shape_helpers():
    assert lax.collapse(fnp.ones((2, 3, 4)), 0, 2).shape == (6, 4)
    assert [p.shape for p in lax.split(fnp.ones((2, 7)), (3, 4), axis=1)] == [(2, 3), (2, 4)]
    assert lax.complex(np.float64(1), np.float64(-2)).tolist() == 1 - 2j
    assert lax.padtype_to_pads((7,), (4,), (2,), "SAME_LOWER") == [(2, 1)]


def test_conv_general_dilated_patches_against_loop():
    x = RNG.normal(size=(2, 3, 6, 5))
    p = _np(lax.conv_general_dilated_patches(x, (2, 3), (2, 1), "VALID"))
    ref = np.zeros((2, 18, 3, 3))
    for c in range(3):
        for i in range(2):
            for j in range(3):
                ref[:, c * 6 + i * 3 + j] = x[:, c, i : i + 5 : 2, j : j + 3]
    np.testing.assert_allclose(p, ref)


# --- solvers and lax.linalg --------------------------------------------------------------------


def test_custom_root_implicit_gradient_never_differentiates_the_solver():
    calls = []

    def solve(f, x):
        calls.append(1)
        for _ in range(40):
            x = x - f(x) / (3 * x * x)
        return x

    def cube_root(a):
        return lax.custom_root(lambda x: x**3 - a, 1.0, solve, lambda g, y: y / g(1.0))

    a = fnp.asarray(5.0)
    np.testing.assert_allclose(float(cube_root(a)), 5.0 ** (1 / 3))
    np.testing.assert_allclose(float(funcgrad.grad(cube_root)(a)), 5.0 ** (-2 / 3) / 3, rtol=1e-10)
    check_grads(cube_root, (a,), order=2)


def test_custom_linear_solve_gradients_match_dense_solve():
    m = RNG.normal(size=(3, 3)) + 4 * np.eye(3)

    def f(a, b):
        return lax.custom_linear_solve(lambda x: a @ x, b, lambda mv, r: fnp.linalg.solve(a, r))

    a, b = fnp.asarray(m), fnp.asarray(RNG.normal(size=3))
    np.testing.assert_allclose(_np(f(a, b)), np.linalg.solve(m, _np(b)))
    check_grads(f, (a, b), order=2)


def test_lax_linalg_triangular_solve_and_lu():
    a = np.tril(RNG.normal(size=(4, 4))) + 4 * np.eye(4)
    b = RNG.normal(size=(4, 2))
    got = lax.linalg.triangular_solve(a, b, left_side=True, lower=True)
    np.testing.assert_allclose(_np(got), scipy.linalg.solve_triangular(a, b, lower=True))
    c = RNG.normal(size=(2, 4))
    got = lax.linalg.triangular_solve(a, c, left_side=False, lower=True, transpose_a=True)
    np.testing.assert_allclose(_np(got) @ a.T, c)
    m = RNG.normal(size=(2, 4, 4))
    lu_, piv, perm = lax.linalg.lu(m)
    for k in range(2):
        p_ref, l_ref, u_ref = scipy.linalg.lu(m[k])
        lower = np.tril(_np(lu_)[k], -1) + np.eye(4)
        upper = np.triu(_np(lu_)[k])
        np.testing.assert_allclose(lower, l_ref, atol=1e-12)
        np.testing.assert_allclose(upper, u_ref, atol=1e-12)
        np.testing.assert_array_equal(m[k][_np(perm)[k]], (p_ref.T @ m[k]))
    np.testing.assert_array_equal(_np(lax.linalg.lu_pivots_to_permutation(piv, 4)), _np(perm))
    v, w = lax.linalg.eigh(np.diag([3.0, 1.0]))
    assert w.tolist() == [1.0, 3.0]
    np.testing.assert_allclose(np.abs(_np(v)), [[0.0, 1.0], [1.0, 0.0]])


# --- fft --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"])
@pytest.mark.parametrize("norm", [None, "ortho", "forward"])
def test_numpy_fft_1d_matches_numpy(name, norm):
    real_in = name in ("rfft", "ihfft")
    x = RNG.normal(size=(3, 8)).astype(np.float32)
    if not real_in:
        x = (x + 1j * RNG.normal(size=(3, 8))).astype(np.complex64)
    for n in (None, 5, 12):
        got = getattr(fnp.fft, name)(x, n=n, axis=0, norm=norm)
        ref = getattr(np.fft, name)(x, n=n, axis=0, norm=norm)
        assert got.dtype == ref.dtype and got.shape == ref.shape
        np.testing.assert_allclose(_np(got), ref, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("name", ["fftn", "ifftn", "rfftn", "irfftn"])
def test_numpy_fft_nd_matches_numpy(name):
    x = RNG.normal(size=(2, 3, 4, 5, 6))
    if name in ("ifftn", "irfftn"):
        x = x + 1j * RNG.normal(size=x.shape)
    for kw in ({}, {"axes": (0, 2)}, {"s": (3, 4), "axes": (1, 4)}, {"axes": (4, 0, 1, 3)}):
        got = getattr(fnp.fft, name)(x, **kw)
        np.testing.assert_allclose(_np(got), getattr(np.fft, name)(x, **kw), atol=1e-9)
    np.testing.assert_allclose(_np(fnp.fft.rfft2(x.real)), np.fft.rfft2(x.real), atol=1e-9)


@pytest.mark.parametrize("name", ["fft", "ifft", "rfft", "irfft", "fft2", "irfft2", "hfft"])
def test_fft_gradients_vmap_jit(name):
    real_in = name in ("rfft",)
    shape = (3, 4, 3) if name.endswith("2") else (3, 4)
    x = RNG.normal(size=shape)
    if not real_in:
        x = x + 1j * RNG.normal(size=shape)
    f = getattr(fnp.fft, name)
    check_grads(f, (fnp.asarray(x),), order=2)
    axis = x.ndim - 1  # batch over the last axis: the transform axes move
    np.testing.assert_allclose(_np(funcgrad.vmap(f, in_axes=axis, out_axes=axis)(x)),
                               np.stack([_np(f(x[..., k])) for k in range(x.shape[-1])], axis=axis),
                               atol=1e-12)  # fmt: skip
    np.testing.assert_allclose(_np(funcgrad.jit(f)(x)), _np(f(x)), atol=1e-12)


def test_fft_helpers():
    np.testing.assert_allclose(_np(fnp.fft.fftfreq(7, 0.3)), np.fft.fftfreq(7, 0.3))
    np.testing.assert_allclose(_np(fnp.fft.rfftfreq(8, 2.0)), np.fft.rfftfreq(8, 2.0))
    x = np.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(_np(fnp.fft.fftshift(x)), np.fft.fftshift(x))
    np.testing.assert_array_equal(_np(fnp.fft.ifftshift(x, axes=1)), np.fft.ifftshift(x, axes=1))
    with pytest.raises(ValueError, match="norm must be"):
        fnp.fft.fft(x, norm="bad")


def _cg_solve(mv, r):
    """Conjugate gradients as a while_loop (no derivative of its own), on a flat vector."""

    def cond(state):
        _, res, _, k = state
        return (fnp.vdot(res, res) > 1e-26) & (k < 50)

    def body(state):
        x, res, p, k = state
        ap = mv(p)
        alpha = fnp.vdot(res, res) / fnp.vdot(p, ap)
        new_res = res - alpha * ap
        beta = fnp.vdot(new_res, new_res) / fnp.vdot(res, res)
        return x + alpha * p, new_res, new_res + beta * p, k + 1

    x0 = fnp.zeros_like(r)
    return lax.while_loop(cond, body, (x0, r, r, 0))[0]


def test_custom_linear_solve_differentiates_implicitly_through_an_iterative_solver():
    # dx = A^{-1} (db - dA x) and ct_b = A^{-T} ct_x, never through the loop's steps
    # (which has no reverse mode, and whose forward derivative at b = 0 would be 0)
    q = RNG.normal(size=(4, 4))
    m = q @ q.T + 4 * np.eye(4)
    a = fnp.asarray(m)

    def f(a, b):
        return lax.custom_linear_solve(lambda x: a @ x, b, _cg_solve, symmetric=True)

    b = fnp.asarray(RNG.normal(size=4))
    np.testing.assert_allclose(_np(f(a, b)), np.linalg.solve(m, _np(b)), rtol=1e-10)
    check_grads(f, (a, b), order=2, modes=("fwd", "rev"))
    db = RNG.normal(size=4)
    _, dx = funcgrad.jvp(lambda b: f(a, b), (fnp.zeros(4),), (fnp.asarray(db),))
    np.testing.assert_allclose(_np(dx), np.linalg.solve(m, db), rtol=1e-10)
    # a general matrix: its transpose solve given, and a pytree right-hand side with aux
    g = fnp.asarray(m + np.triu(RNG.normal(size=(4, 4)), 1))

    def solve_tree(mv, r):
        x = fnp.linalg.solve(g, r["u"] + 0.0)
        return {"u": x}, fnp.sum(x)

    def t_solve_tree(vm, r):
        x = fnp.linalg.solve(g.T, r["u"])
        return {"u": x}, fnp.sum(x)

    def h(b):
        x, aux = lax.custom_linear_solve(lambda v: {"u": g @ v["u"]}, {"u": b}, solve_tree,
                                         transpose_solve=t_solve_tree, has_aux=True)  # fmt: skip
        return x["u"], aux

    x, aux = h(b)
    np.testing.assert_allclose(_np(x), np.linalg.solve(_np(g), _np(b)), rtol=1e-10)
    np.testing.assert_allclose(float(aux), _np(x).sum(), rtol=1e-12)
    check_grads(lambda b: h(b)[0], (b,), order=2, modes=("fwd", "rev"))
    np.testing.assert_allclose(
        _np(funcgrad.grad(lambda b: h(b)[0].sum())(b)),
        np.linalg.solve(_np(g).T, np.ones(4)), rtol=1e-10,
    )  # fmt: skip
