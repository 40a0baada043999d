"""Fused CPU loops (numba) under jit: every program gives its NumPy tier's results, the tier
switch is safe under threads, kernels come back from the disk cache, and without numba
everything runs as before.

The oracle for a fused program is the same program run as NumPy calls (``cpu_fusion="off"``:
one NumPy ufunc per operation), plus NumPy formulas for the vmap/grad programs. Numba
compiles are slow (~0.3-1 s per loop), so programs are small and share one cache
directory per session.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as fnp
from funcgrad._src.interpreters import fusion_cpu, tiering

HAS_NUMBA = importlib.util.find_spec("numba") is not None
needs_numba = pytest.mark.skipif(
    not HAS_NUMBA, reason="numba is not installed (the 'fast' extra): no fused CPU loops"
)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module", autouse=True)
def _cache_dir(tmp_path_factory):
    previous = funcgrad.config.cpu_fusion_cache_dir
    funcgrad.config.cpu_fusion_cache_dir = str(tmp_path_factory.mktemp("numba_cache"))
    yield
    funcgrad.config.cpu_fusion_cache_dir = previous


@contextlib.contextmanager
def fusion(mode: str, after: int | None = None):
    old = funcgrad.config.cpu_fusion, funcgrad.config.cpu_fusion_after_calls
    funcgrad.config.cpu_fusion = mode
    if after is not None:
        funcgrad.config.cpu_fusion_after_calls = after
    try:
        yield
    finally:
        funcgrad.config.cpu_fusion, funcgrad.config.cpu_fusion_after_calls = old


def both_tiers(f, *args):
    """``(fused results, NumPy-tier results, number of fused loops)`` of ``jit(f)``."""
    with fusion("always"):
        fused = funcgrad.jit(f)
        out_fused = fused(*args)
        loops = fused.lower(*args).as_text(tier="fused").count("def kernel(")
    with fusion("off"):
        out_numpy = funcgrad.jit(f)(*args)
    leaves_f = funcgrad.tree_util.tree_leaves(out_fused)
    leaves_n = funcgrad.tree_util.tree_leaves(out_numpy)
    return [np.asarray(x) for x in leaves_f], [np.asarray(x) for x in leaves_n], loops


def assert_same(got, expected, exact: bool, rtol: float = 0.0):
    assert got.dtype == expected.dtype and got.shape == expected.shape
    if exact:
        # bitwise, signed zeros and NaN positions included
        np.testing.assert_array_equal(got, expected)
        if got.dtype.kind == "f":
            np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))
    else:
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol, equal_nan=True)
        if got.dtype.kind == "f":  # infinities and NaNs where NumPy has them
            np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
            np.testing.assert_array_equal(np.isposinf(got), np.isposinf(expected))


# --- random programs --------------------------------------------------------------------

SHAPE = (8, 9)  # 72 elements: above the size from which groups are fused
SPECIAL = {
    "f": [0.0, -0.0, np.inf, -np.inf, np.nan, 1.5, -2.25, 3.0, 1e-3, 0.5, -7.0, 100.0],
    "i": [0, 1, -1, 7, -12, 2**31 - 1, -(2**31), 12345, -999],
    "u": [0, 1, 7, 13, 31, 32, 33, 2**31, 2**32 - 1, 12345],
    "b": [True, False],
}
FLOAT_UNARY = [fnp.negative, fnp.abs, fnp.exp, fnp.log, fnp.sqrt, fnp.tanh, fnp.sin,
               fnp.floor, fnp.sign, fnp.expm1, fnp.log1p]  # fmt: skip
FLOAT_BINARY = [fnp.add, fnp.subtract, fnp.multiply, fnp.divide, fnp.maximum, fnp.minimum,
                fnp.hypot, fnp.arctan2, fnp.copysign, fnp.fmax]  # fmt: skip
INT_UNARY = [fnp.negative, fnp.abs, fnp.sign, fnp.invert]
INT_BINARY = [fnp.add, fnp.subtract, fnp.multiply, fnp.maximum, fnp.minimum,
              fnp.bitwise_and, fnp.bitwise_or, fnp.bitwise_xor, fnp.left_shift,
              fnp.right_shift]  # fmt: skip
BOOL_UNARY = [fnp.logical_not, fnp.invert]
BOOL_BINARY = [fnp.logical_and, fnp.logical_or, fnp.logical_xor, fnp.bitwise_xor]
INEXACT = {fnp.exp, fnp.log, fnp.sqrt, fnp.tanh, fnp.sin, fnp.expm1, fnp.log1p, fnp.hypot,
           fnp.arctan2}  # fmt: skip


@st.composite
def programs(draw):
    """A random program over two (8, 9) arrays, a (9,) row and an (8, 1) column (both
    broadcast) and a Python scalar: its steps, whether its results are exact (no
    transcendental function, no reduction) and its inputs."""
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int32, np.uint32, np.bool_]))
    kind = np.dtype(dtype).kind
    pool = SPECIAL[kind]
    kind = "i" if kind == "u" else kind  # the integer operations, unsigned

    def array(shape):
        values = draw(st.lists(st.sampled_from(pool), min_size=int(np.prod(shape)),
                               max_size=int(np.prod(shape))))  # fmt: skip
        return np.array(values, dtype=dtype).reshape(shape)

    inputs = [array(SHAPE), array(SHAPE), array(SHAPE[1:]), array((SHAPE[0], 1))]
    unary, binary = {"f": (FLOAT_UNARY, FLOAT_BINARY), "i": (INT_UNARY, INT_BINARY),
                     "b": (BOOL_UNARY, BOOL_BINARY)}[kind]  # fmt: skip
    steps = []
    n_values = 4
    for _ in range(draw(st.integers(2, 5))):
        choice = draw(st.sampled_from(["unary", "binary", "scalar", "select"]))
        a = draw(st.integers(0, n_values - 1))
        b = draw(st.integers(0, n_values - 1))
        if choice == "unary":
            steps.append(("unary", draw(st.sampled_from(unary)), a))
        elif choice == "binary":
            steps.append(("binary", draw(st.sampled_from(binary)), a, b))
        elif choice == "scalar" and kind != "b":
            scalar = 2.5 if kind == "f" else 3
            steps.append(("scalar", draw(st.sampled_from(binary[:4])), a, scalar))
        else:
            steps.append(("select", a, b))
        n_values += 1
    reduction = draw(st.sampled_from([None, "sum0", "sum1", "max1", "min0", "sumall"]))
    if kind == "b":
        reduction = None
    exact = reduction is None and not any(s[1] in INEXACT for s in steps if s[0] != "select")
    return steps, reduction, exact, inputs


def run_program(steps, reduction, *xs):
    values = list(xs)
    for step in steps:
        if step[0] == "unary":
            values.append(step[1](values[step[2]]))
        elif step[0] == "binary":
            values.append(step[1](values[step[2]], values[step[3]]))
        elif step[0] == "scalar":  # a weakly typed Python scalar operand
            values.append(step[1](values[step[2]], step[3]))
        else:
            a, b = values[step[1]], values[step[2]]
            values.append(fnp.where(a > b, a, b))
    out = values[-1] + values[0] * 0 if values[-1].shape != SHAPE else values[-1]
    if reduction is None:
        return out, values[4]
    op = {"sum": fnp.sum, "max": fnp.max, "min": fnp.min}[reduction[:3]]
    axis = None if reduction.endswith("all") else int(reduction[-1])
    return out, op(out, axis=axis)


@needs_numba
@settings(deadline=None, max_examples=12)
@given(programs())
def test_random_programs_equal_their_numpy_tier(program):
    steps, reduction, exact, inputs = program
    copies = [x.copy() for x in inputs]
    args = [fnp.asarray(x) for x in inputs]
    with np.errstate(all="ignore"):
        got, expected, _ = both_tiers(lambda *xs: run_program(steps, reduction, *xs), *args)
    for g, e in zip(got, expected):
        rtol = 2e-5 if g.dtype == np.float32 else 1e-12
        assert_same(g, e, exact=exact or g.dtype.kind in "biu", rtol=rtol)
    for x, c in zip(inputs, copies):  # no input is ever written
        np.testing.assert_array_equal(x, c)


@needs_numba
def test_random_draws_fuse_and_equal_the_numpy_tier():
    """Threefry's ~110 rounds operations (shifts included) become one loop with the
    dropout that uses them, bit for bit the NumPy tier's draws; keys too (a few blocks:
    one loop of ~110 operations at any size)."""
    from funcgrad import random

    def dropout(key, x):
        keep = random.bernoulli(random.fold_in(key, 3), 0.9, x.shape)
        return fnp.where(keep, x / 0.9, 0.0), random.normal(key, (70,)), random.split(key, 3)

    x = fnp.asarray(np.random.default_rng(1).standard_normal((16, 32)).astype(np.float32))
    key = random.key(11)
    got, expected, loops = both_tiers(dropout, key, x)
    for g, e in zip(got, expected):
        assert_same(g, e, exact=g.dtype.kind != "f" or g.dtype == np.float32, rtol=1e-12)
    # fold_in (0-d, as a 1-element loop), split, and each draw with what uses it
    assert loops <= 6, loops
    with fusion("always"):
        fused = funcgrad.jit(dropout).lower(key, x).as_text(tier="fused")
    assert "threefry2x32" not in fused.split("def dropout(")[-1]


@st.composite
def row_programs(draw):
    """A random program over an (8, 9) array ``x``, an (8, 9) array ``y`` and an (8,)
    vector ``c`` whose row reductions feed later elementwise work on the same rows
    (softmax-like): its steps, whether its results are exact, and its inputs."""
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int32]))
    kind = np.dtype(dtype).kind
    pool = (
        SPECIAL[kind]
        if draw(st.booleans())
        else [v for v in SPECIAL[kind][:12] if kind != "f" or np.isfinite(v)]
    )

    def array(shape):
        n = int(np.prod(shape))
        values = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
        return np.array(values, dtype=dtype).reshape(shape)

    inputs = [array(SHAPE), array(SHAPE), array(SHAPE[:1])]
    unary, binary = {"f": (FLOAT_UNARY, FLOAT_BINARY), "i": (INT_UNARY, INT_BINARY)}[kind]
    steps = []
    for _ in range(draw(st.integers(3, 6))):
        choice = draw(st.sampled_from(["unary", "binary", "reduce", "reduce", "row"]))
        if choice == "unary":
            steps.append(("unary", draw(st.sampled_from(unary))))
        elif choice == "binary":
            steps.append(("binary", draw(st.sampled_from(binary)), draw(st.integers(0, 1))))
        elif choice == "reduce":
            # float32 sums in another order, fed to sin of their ~1e3 values, differ by
            # far more than rounding of the result: float32 rows take max/min only
            ops = ["max", "min"] if dtype == np.float32 else ["sum", "max", "min"]
            steps.append(("reduce", draw(st.sampled_from(ops)),
                          draw(st.booleans()), draw(st.sampled_from(binary[:4]))))  # fmt: skip
        else:  # elementwise work on the row values, then back to the elements
            steps.append(("row", draw(st.sampled_from(unary)), draw(st.sampled_from(binary[:4]))))
    out_reduction = draw(st.sampled_from([None, "sum0", "max1"]))
    inexact = any(s[1] in INEXACT for s in steps if s[0] in ("unary", "binary", "row")) or (
        kind == "f" and any(s[0] == "reduce" and s[1] == "sum" for s in steps)
    ) or (kind == "f" and out_reduction == "sum0")  # fmt: skip
    return steps, out_reduction, not inexact, inputs


def run_row_program(steps, out_reduction, x, y, c):
    """The program: ``v`` is the current (8, 9) value; row values ``r`` combine with it."""
    v, rows = x, c
    for step in steps:
        if step[0] == "unary":
            v = step[1](v)
        elif step[0] == "binary":
            v = step[1](v, (x, y)[step[2]])
        elif step[0] == "reduce":
            op = {"sum": fnp.sum, "max": fnp.max, "min": fnp.min}[step[1]]
            r = op(v, axis=1, keepdims=step[2])
            # (reshapes: ``r[:, None]`` is a gather, which no loop reads)
            rows = r if r.ndim == 1 else fnp.reshape(r, (-1,))
            v = step[3](v, r if step[2] else fnp.reshape(r, (-1, 1)))
        else:
            rows = step[2](step[1](rows), c)
            v = step[2](v, fnp.reshape(rows, (-1, 1)))
    outs = [v, rows]
    if out_reduction == "sum0":
        outs.append(fnp.sum(v, axis=0))
    elif out_reduction == "max1":
        outs.append(fnp.max(v, axis=1))
    return outs


@needs_numba
@settings(deadline=None, max_examples=6)
@given(row_programs())
def test_random_programs_with_row_reductions_inside_a_loop_equal_their_numpy_tier(program):
    steps, out_reduction, exact, inputs = program
    copies = [x.copy() for x in inputs]
    args = [fnp.asarray(x) for x in inputs]
    with np.errstate(all="ignore"):
        got, expected, _ = both_tiers(lambda *xs: run_row_program(steps, out_reduction, *xs),
                                      *args)  # fmt: skip
    for g, e in zip(got, expected):
        rtol = 2e-5 if g.dtype == np.float32 else 1e-12
        # rows are summed in loop order here, pairwise by NumPy: equal within rounding
        if (exact or g.dtype.kind in "biu") and g.dtype.kind == "f":
            # bitwise, except a NaN's sign bit (IEEE leaves it open: 0/0 by a row's
            # register takes numba's zero-divisor path, NumPy's the FPU's default NaN)
            np.testing.assert_array_equal(g, e)
            real = ~np.isnan(e)
            np.testing.assert_array_equal(np.signbit(g[real]), np.signbit(e[real]))
        else:
            assert_same(g, e, exact=exact or g.dtype.kind in "biu", rtol=rtol)
    for x, c in zip(inputs, copies):  # no input is ever written
        np.testing.assert_array_equal(x, c)


@needs_numba
def test_a_row_reduction_feeding_its_own_rows_is_one_loop_and_exact():
    # max over each row, subtracted from the row, then the row's sum of squares scaled
    # by its own max: the operations NumPy does, in its order, so bitwise equal
    x = np.arange(72, dtype=np.float64).reshape(8, 9) % 7 - 3.0
    x[2, 3], x[5, 0] = np.nan, -0.0

    def f(x):
        m = fnp.max(x, axis=1, keepdims=True)
        d = x - m
        s = fnp.min(d * d, axis=1)
        return d * fnp.reshape(s, (-1, 1)) + m, s

    got, expected, loops = both_tiers(f, fnp.asarray(x))
    assert loops == 1
    for g, e in zip(got, expected):
        assert_same(g, e, exact=True)
    m = x.max(1, keepdims=True)
    d = x - m
    s = (d * d).min(1)
    assert_same(got[0], d * s[:, None] + m, exact=True)
    assert_same(got[1], s, exact=True)


# --- chosen programs ----------------------------------------------------------------------


def softmax_cross_entropy(logits, labels):
    shifted = logits - fnp.max(logits, axis=1, keepdims=True)
    logp = shifted - fnp.log(fnp.sum(fnp.exp(shifted), axis=1, keepdims=True))
    return -fnp.mean(fnp.sum(labels * logp, axis=1))


@needs_numba
def test_softmax_gradient_fuses_its_reductions_and_matches_the_formula():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((16, 10)).astype(np.float32)
    labels = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 16)]
    f = funcgrad.value_and_grad(softmax_cross_entropy)
    got, expected, loops = both_tiers(f, fnp.asarray(logits), fnp.asarray(labels))
    # forward and backward after the max of the logits (an input: NumPy's reduction) are
    # one loop over rows: exp, the row sums, log, the row-wise divisions and the gradient
    assert loops == 1
    with fusion("always"):
        text = funcgrad.jit(f).lower(fnp.asarray(logits), fnp.asarray(labels)).as_text("fused")
    assert "fused_rows_" in text and "reshape" not in text.split("def kernel(")[0]
    e = np.exp(logits - logits.max(1, keepdims=True))
    p = e / e.sum(1, keepdims=True)
    loss = -np.mean(np.sum(labels * np.log(p), axis=1))
    np.testing.assert_allclose(got[0], loss, rtol=1e-5)
    np.testing.assert_allclose(got[1], (p - labels) / 16, rtol=1e-4, atol=1e-7)
    for g, e_ in zip(got, expected):
        assert_same(g, e_, exact=False, rtol=1e-5)


@needs_numba
def test_vmap_of_grad_per_example_gradients():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((128, 5))
    y = (rng.random(128) < 0.5).astype(np.float64)
    w = rng.standard_normal(5) * 0.1

    def loss(w, xi, yi):
        z = fnp.dot(xi, w)
        return fnp.logaddexp(0.0, z) - yi * z

    f = funcgrad.vmap(funcgrad.grad(loss), in_axes=(None, 0, 0))
    got, expected, loops = both_tiers(f, fnp.asarray(w), fnp.asarray(x), fnp.asarray(y))
    assert loops >= 1
    closed_form = (1 / (1 + np.exp(-(x @ w))) - y)[:, None] * x
    np.testing.assert_allclose(got[0], closed_form, rtol=1e-12, atol=1e-14)
    assert_same(got[0], expected[0], exact=False, rtol=1e-13)


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_products_that_contract_nothing_become_fused_multiplies(dtype):
    # vmap of x * s (a batch-only operand on either side, with 1 or 2 leading batch
    # axes): a dot_general contracting nothing, looped as a multiply by a broadcast;
    # one rounding per element either way, so bitwise equal to NumPy's x * s[:, None]
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((3, 16, 9)) * 8).astype(dtype)
    s = (rng.standard_normal((3, 16)) * 8).astype(dtype)
    s[0, 0], s[0, 1] = 0, -0.0 if dtype == np.float32 else 0
    by_row = funcgrad.vmap(lambda xi, si: fnp.tensordot(xi, si, axes=0))
    by_row_swapped = funcgrad.vmap(lambda xi, si: fnp.tensordot(si, xi, axes=0))
    for f in (by_row, by_row_swapped):
        got, numpy_tier, loops = both_tiers(f, fnp.asarray(x[0]), fnp.asarray(s[0]))
        assert loops == 1
        assert_same(got[0], x[0] * s[0][:, None], exact=True)
        assert_same(got[0], numpy_tier[0], exact=True)
    twice = funcgrad.vmap(by_row)  # batch axes (0, 1) of both operands
    got, numpy_tier, loops = both_tiers(twice, fnp.asarray(x), fnp.asarray(s))
    assert loops == 1
    assert_same(got[0], x * s[:, :, None], exact=True)
    assert_same(got[0], numpy_tier[0], exact=True)
    # a true outer product (free axes on both sides) stays a product
    outer = funcgrad.vmap(lambda a, b: fnp.tensordot(a, b, axes=0))
    got, numpy_tier, loops = both_tiers(outer, fnp.asarray(s), fnp.asarray(s))
    assert loops == 0
    assert_same(got[0], s[:, :, None] * s[:, None, :], exact=True)
    assert_same(got[0], numpy_tier[0], exact=True)


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weight_updates_by_a_product_are_one_gemm_into_the_donated_buffer(dtype):
    # p - a.T @ b, q + a.T @ a: one BLAS gemm with beta=1 (p's buffer when it
    # is donated); the product's sums as NumPy's matmul makes them, then one addition
    # per element, as NumPy's subtract/add: checked against NumPy written directly
    rng = np.random.default_rng(5)
    a = rng.standard_normal((6, 12)).astype(dtype)
    b = rng.standard_normal((6, 10)).astype(dtype)
    p = rng.standard_normal((12, 10)).astype(dtype)
    q = rng.standard_normal((12, 12)).astype(dtype)

    def steps(p, q, a, b):  # (a fused tier runs only with a loop: the relu)
        relu = fnp.maximum(p * 2.0, 0.0)
        return p - a.T @ b, q + a.T @ a, (b.T @ a).T + p, relu  # (the 3rd: either order)

    expected = [p - a.T @ b, q + a.T @ a, (b.T @ a).T + p, np.maximum(p * 2, 0)]
    for donate in ((), (0, 1)):
        with fusion("always"):
            f = funcgrad.jit(steps, donate_argnums=donate)
            args = [fnp.asarray(x.copy()) for x in (p, q, a, b)]
            text = f.lower(*args).as_text(tier="fused")
            got = [np.asarray(x) for x in f(*args)]
        # the first two (the third is a transpose of a product: a loop adds it)
        assert len(re.findall(r"= _gemm_update\d+\(", text)) == 2, text
        for g, e in zip(got, expected):
            assert_same(g, e, exact=False, rtol=1e-12 if dtype == np.float64 else 1e-6)
        with fusion("off"):
            numpy_tier = [
                np.asarray(x) for x in funcgrad.jit(steps)(*map(fnp.asarray, (p, q, a, b)))
            ]
        for g, e in zip(got, numpy_tier):
            assert_same(g, e, exact=False, rtol=1e-12 if dtype == np.float64 else 1e-6)
    # the helper itself, for every layout and an output overlapping an operand
    for out_kind in ("p", "new", "none", "fortran", "overlap"):
        for at in (a.T, np.asfortranarray(a.T), a.T[:, ::1].copy()[:, :]):
            pp = p.copy()
            out = {"p": pp, "new": np.empty_like(p), "none": None,
                   "fortran": np.empty_like(p, order="F"), "overlap": None}[out_kind]  # fmt: skip
            left = at
            if out_kind == "overlap":  # out is the left operand's own buffer
                left = q.copy()
                r = fusion_cpu.gemm_update(q, left, q, left, 1.0)
                assert r is left
                np.testing.assert_allclose(r, q + q @ q, rtol=1e-5)
                continue
            r = fusion_cpu.gemm_update(pp, left, b, out, -1.0)
            np.testing.assert_allclose(r, p - a.T @ b, rtol=1e-5, atol=1e-6)
            assert out is None or r is out
    np.testing.assert_array_equal(p, p.copy())  # (never written: the copies were)


@needs_numba
def test_a_constant_scale_of_a_weight_update_is_gemms_alpha():
    # w - 0.01 * (h.T @ g), h also used elsewhere: the scale (which optimize moves onto
    # the smaller operand) becomes gemm's alpha, without a scaled copy of h
    rng = np.random.default_rng(6)
    h = rng.standard_normal((16, 12)).astype(np.float32)
    g = rng.standard_normal((16, 10)).astype(np.float32)
    w = rng.standard_normal((12, 10)).astype(np.float32)

    def step(w, h, g):
        act = fnp.maximum(h, 0.0)
        return w - 0.01 * (act.T @ g), act * 3.0

    # (16 rows: the scale stays on the product; 6: optimize moves it onto the activations)
    for rows in (16, 6):
        args = (w, h[:rows], g[:rows])
        got, numpy_tier, _ = both_tiers(step, *map(fnp.asarray, args))
        act = np.maximum(h[:rows], 0)
        expected = [w - np.float32(0.01) * (act.T @ g[:rows]), act * 3]
        for a, b, e in zip(got, numpy_tier, expected):
            assert_same(a, e, exact=False, rtol=1e-6)
            assert_same(a, b, exact=False, rtol=1e-6)
        with fusion("always"):
            text = funcgrad.jit(step).lower(*map(fnp.asarray, args)).as_text(tier="fused")
        assert re.search(r"= _gemm_update\d+\([^)]*, -0\.01\)", text), text


@needs_numba
def test_bias_gradient_reduces_over_rows_and_mixed_dtypes_fall_back_per_group():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((12, 16)).astype(np.float32)
    h = rng.standard_normal((12, 16)).astype(np.float16)

    def f(a, b, h):
        d = fnp.maximum(a + b, 0.0) * 3.0
        half = fnp.exp(h) * h  # float16: stays NumPy ufuncs
        return fnp.sum(d, axis=0), d, half

    b = rng.standard_normal(16).astype(np.float32)
    got, expected, loops = both_tiers(f, fnp.asarray(a), fnp.asarray(b), fnp.asarray(h))
    assert loops == 1
    np.testing.assert_allclose(got[0], (np.maximum(a + b, 0) * 3).sum(0), rtol=1e-5)
    for g, e in zip(got, expected):
        assert_same(g, e, exact=g.ndim == 2 and g.dtype == np.float32, rtol=1e-5)
    assert got[2].dtype == np.float16


@needs_numba
def test_a_loop_that_fails_to_compile_leaves_its_group_to_numpy(monkeypatch):
    real = fusion_cpu._compile

    def failing(source, parallel, signature):
        if "np.tanh" in source:
            raise RuntimeError("simulated numba failure")
        return real(source, parallel, signature)

    monkeypatch.setattr(fusion_cpu, "_compile", failing)
    x = fnp.asarray(np.linspace(-2, 2, 80).reshape(8, 10))

    def f(x):
        y = fnp.tanh(x) * 2.0 + 1.0  # this group fails
        z = fnp.sum(y, axis=1)  # a NumPy reduction between the groups
        return fnp.maximum(x - z[:, None], 0.0) * 0.5  # this one compiles

    got, expected, loops = both_tiers(f, x)
    assert loops == 1
    assert any("simulated numba failure" in m for m in fusion_cpu.last_failures)
    assert_same(got[0], expected[0], exact=True)


@needs_numba
def test_large_groups_use_the_buffer_pool_and_keep_results_private():
    x = fnp.asarray(np.linspace(-1, 1, 1 << 16, dtype=np.float32))

    def f(x):
        y = fnp.exp(x) * 2.0 + x
        return fnp.sum(fnp.sqrt(fnp.abs(y) + 1.0) - y * y)

    with fusion("always"):
        g = funcgrad.jit(f)
        first = np.asarray(g(x))
        second = np.asarray(g(x))
        text = g.lower(x).as_text(tier="fused")
    assert "def kernel(" in text
    xn = np.asarray(x).astype(np.float64)
    y = np.exp(xn) * 2 + xn
    np.testing.assert_allclose(first, np.sum(np.sqrt(np.abs(y) + 1) - y * y), rtol=1e-5)
    assert first == second


def adam_numpy(p, g, m, v, count, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """One Adam step written from the formula (float32 throughout, as the jitted step)."""
    f32 = np.float32
    m = f32(b1) * m + f32(1 - b1) * g
    v = f32(b2) * v + f32(1 - b2) * (g * g)
    mhat = m / f32(1 - b1**count)
    vhat = v / f32(1 - b2**count)
    return p + f32(-lr) * (mhat / (np.sqrt(vhat) + f32(eps))), m, v


@needs_numba
def test_adam_update_is_one_in_place_loop_per_leaf():
    import transforms

    tx = transforms.adam(1e-3)

    def step(params, state, grads):
        updates, state = tx.update(grads, state, params)
        return transforms.apply_updates(params, updates), state

    rng = np.random.default_rng(4)
    shapes = {"w": (6, 5, 4), "b": (70,)}
    p0 = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
    g0 = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
    grads = {k: fnp.asarray(x) for k, x in g0.items()}
    results = {}
    for mode in ("always", "off"):
        with fusion(mode):
            f = funcgrad.jit(step, donate_argnums=(0, 1))
            params = {k: fnp.asarray(x.copy()) for k, x in p0.items()}
            state = tx.init(params)
            for _ in range(2):
                params, state = f(params, state, grads)
            if mode == "always":
                text = f.lower(params, state, grads).as_text(tier="fused")
            results[mode] = params, state
    # one loop per leaf: both moments, the bias corrections and the parameter update
    assert text.count("def kernel(") == 2
    # its outputs are written into the donated parameters and moments: no new buffers
    program = text[text.index("\ndef step") :]
    assert "empty" not in program
    # a 3-d leaf is one loop over its elements
    assert ".reshape(n0)" in text
    p, m = dict(p0), {k: np.zeros_like(x) for k, x in p0.items()}
    v = {k: np.zeros_like(x) for k, x in p0.items()}
    for count in (1, 2):
        for k, g in g0.items():
            p[k], m[k], v[k] = adam_numpy(p[k], g, m[k], v[k], count)
    (pf, sf), (pn, sn) = results["always"], results["off"]
    for k, expected in p.items():
        # the same operations in the same order: bitwise the NumPy tier's
        assert_same(np.asarray(pf[k]), np.asarray(pn[k]), exact=True)
        np.testing.assert_allclose(np.asarray(pf[k]), expected, rtol=1e-6, atol=1e-7)
    for a, b in zip(funcgrad.tree_util.tree_leaves(sf), funcgrad.tree_util.tree_leaves(sn)):
        assert_same(np.asarray(a), np.asarray(b), exact=True)


@needs_numba
def test_in_place_loops_never_write_inputs_that_are_not_donated():
    def f(x, y, b):
        # x's group: both outputs could be written into x or y were they donated
        z = x * 0.5 + y
        return z * y - 1.0, fnp.sum(z + b, axis=0)  # a (9,) reduction next to b's shape

    rng = np.random.default_rng(5)
    xs = [rng.standard_normal(s).astype(np.float32) for s in [(8, 9), (8, 9), (9,)]]
    copies = [x.copy() for x in xs]
    got, expected, loops = both_tiers(f, *map(fnp.asarray, xs))
    assert loops == 1
    for x, c in zip(xs, copies):
        np.testing.assert_array_equal(x, c)
    for g, e in zip(got, expected):
        assert_same(g, e, exact=g.ndim == 2, rtol=1e-6)
    # donated: a reduction's output of b's shape is never accumulated into b (b is
    # read at every row), while the elementwise output may take x's buffer
    with fusion("always"):
        donated = funcgrad.jit(f, donate_argnums=(0, 1, 2))
        out = donated(*map(fnp.asarray, xs))
    x, y, b = copies
    z = x * np.float32(0.5) + y
    np.testing.assert_allclose(np.asarray(out[1]), (z + b).sum(0), rtol=1e-5)
    np.testing.assert_array_equal(np.asarray(out[0]), z * y - np.float32(1.0))


@needs_numba
def test_groups_merge_unless_that_makes_a_cycle():
    def f(x, y):
        a = x * 2.0 + 1.0  # group A
        s = fnp.sum(a @ a.T)  # outside: depends on A
        c = y * s - 3.0  # group B: depends on A through s
        d = y * 0.5 + x  # joins... either; merging A and B would need s inside
        return a * c + d  # producers A and B: must not merge

    rng = np.random.default_rng(6)
    x = rng.standard_normal((8, 9))
    y = rng.standard_normal((8, 9))
    got, expected, loops = both_tiers(f, fnp.asarray(x), fnp.asarray(y))
    a = x * 2 + 1
    c = y * np.sum(a @ a.T) - 3
    np.testing.assert_allclose(got[0], a * c + (y * 0.5 + x), rtol=1e-12)
    assert_same(got[0], expected[0], exact=False, rtol=1e-12)
    assert loops == 2


# --- the tier switch ------------------------------------------------------------------------


@needs_numba
def test_tier_switch_under_concurrent_calls():
    rng = np.random.default_rng(3)
    w = rng.standard_normal((24, 24)).astype(np.float32)
    b = rng.standard_normal(24).astype(np.float32)

    def layer(x, w, b):
        return fnp.tanh(fnp.maximum(x @ w + b, 0.0) * 0.5 - 1.0)

    xs = [rng.standard_normal((8, 24)).astype(np.float32) for _ in range(8)]
    expected = [np.tanh(np.maximum(x @ w + b, 0) * 0.5 - 1) for x in xs]
    with fusion("tiered", after=3):
        f = funcgrad.jit(layer)
        args = [fnp.asarray(w), fnp.asarray(b)]
        errors = []

        def worker(i):
            try:
                for _ in range(40):
                    out = np.asarray(f(fnp.asarray(xs[i]), *args))
                    np.testing.assert_allclose(out, expected[i], rtol=2e-6, atol=1e-6)
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors[0]
        for t in threading.enumerate():  # the background compilation
            if t.name.startswith("funcgrad fuse"):
                t.join(timeout=120)
        for _ in range(2 * tiering.TRIAL_CALLS + 2):  # the timed trial of both tiers
            out = np.asarray(f(fnp.asarray(xs[0]), *args))
            np.testing.assert_allclose(out, expected[0], rtol=2e-6, atol=1e-6)
        text = f.lower(fnp.asarray(xs[0]), *args).as_text()
        assert "fused loops (numba); running" in text or "kept tier 1: the fused loops took" in text
        out = np.asarray(f(fnp.asarray(xs[0]), *args))
    np.testing.assert_allclose(out, expected[0], rtol=2e-6, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(args[0]), w)


def test_tiered_trial_keeps_the_faster_tier():
    """After the switch the tiers run in turn (one warm-up call each, then
    TRIAL_CALLS timed calls each) and the one with the better best time stays."""

    class Entry:
        exe_fn = None
        tier = "trial"

    def slow(x):
        time.sleep(0.003)
        return ("slow", x)

    def fast(x):
        return ("fast", x)

    for fused_fn, numpy_fn, kept in ((fast, slow, "fused"), (slow, fast, "kept tier 1")):
        entry = Entry()
        entry.exe_fn = trial = tiering._Trial(entry, numpy_fn, fused_fn)
        ran = [entry.exe_fn(i)[0] for i in range(2 * (tiering.TRIAL_CALLS + 1))]
        # calls alternate, the fused tier first
        assert ran == [fused_fn(0)[0], numpy_fn(0)[0]] * (tiering.TRIAL_CALLS + 1)
        assert entry.exe_fn is fast and entry.tier.startswith(kept), entry.tier
        assert trial.best[0] > 0 and trial.best[1] > 0
        assert entry.exe_fn(7) == ("fast", 7)


def test_config_validates_the_options():
    with pytest.raises(ValueError, match="cpu_fusion must be one of"):
        funcgrad.config.cpu_fusion = "sometimes"
    with pytest.raises(ValueError, match="at least 1"):
        funcgrad.config.cpu_fusion_after_calls = 0
    with fusion("off"):
        assert funcgrad.config.cpu_fusion_status.startswith("off: funcgrad.config.cpu_fusion")
        f = funcgrad.jit(lambda x: fnp.exp(x) * 2.0 + 1.0)
        x = fnp.ones((10, 10))
        assert f.lower(x).as_text(tier="fused") == ""
        assert "tier 2" not in f.lower(x).as_text()
    with pytest.raises(ValueError, match="tier must be"):
        f.lower(x).as_text(tier="fast")


# --- other processes: the disk cache, and no numba -------------------------------------------

_CHILD = """
import sys, numpy as np
{prelude}
import funcgrad, funcgrad.numpy as fnp
from funcgrad._src.interpreters import fusion_cpu
funcgrad.config.cpu_fusion = "always"
f = funcgrad.jit(lambda x, b: fnp.sum(fnp.maximum(x * 2.0 + b, 0.0), axis=1))
x = fnp.asarray(np.arange(-40.0, 40.0).reshape(8, 10))
out = np.asarray(f(x, fnp.ones(10)))
assert np.array_equal(out, np.maximum(np.arange(-40.0, 40.0).reshape(8, 10) * 2 + 1, 0).sum(1))
hits = sum(sum(d.stats.cache_hits.values()) for d in fusion_cpu._compiled.values())
misses = sum(sum(d.stats.cache_misses.values()) for d in fusion_cpu._compiled.values())
print(funcgrad.config.cpu_fusion_status)
print("loops", f.lower(x, fnp.ones(10)).as_text(tier="fused").count("def kernel("), hits, misses)
"""


def _child(tmp_path, prelude: str = "") -> list[str]:
    env = dict(os.environ, FUNCGRAD_CACHE_DIR=str(tmp_path), PYTHONPATH=ROOT)
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(_CHILD.format(prelude=prelude))],
                            check=False, capture_output=True, text=True, timeout=180, env=env,
                            cwd=ROOT)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()


@needs_numba
def test_a_second_process_loads_the_loops_from_the_disk_cache(tmp_path):
    status, first = _child(tmp_path)
    assert status.startswith("on: numba") and str(tmp_path) in status
    loops, hits, misses = map(int, first.split()[1:])
    assert loops == 1 and misses >= 1 and hits == 0
    _, second = _child(tmp_path)
    loops, hits, misses = map(int, second.split()[1:])
    assert loops == 1 and hits >= 1 and misses == 0


@needs_numba
def test_loops_compiled_by_a_child_process_are_loaded_from_the_cache(tmp_path):
    """precompile_in_child compiles what the cache lacks in another process; this
    process then loads it (a cache hit, no compilation); a second call spawns nothing."""
    from funcgrad._src.interpreters import optimize

    old = funcgrad.config.cpu_fusion_cache_dir
    funcgrad.config.cpu_fusion_cache_dir = str(tmp_path)
    try:
        # a program of its own (no other test compiles this source in this process)
        def f(x, b):
            return fnp.sum(fnp.tanh(x * 3.25 + b) * 0.75 - x, axis=1)

        x, b = fnp.ones((8, 16), dtype=np.float32), fnp.zeros(16, dtype=np.float32)
        closed = optimize.optimize_for_execution(funcgrad.make_jaxpr(f)(x, b))
        _, kernels = fusion_cpu.fuse(closed, compile=False)
        assert kernels
        assert fusion_cpu.precompile_in_child(kernels) is True
        paths = [fusion_cpu._kernel_file(k.source, k.parallel)[0] for k in kernels]
        assert all(fusion_cpu._cached(p) for p in paths)
        for k in kernels:
            dispatcher = k.compile()
            assert sum(dispatcher.stats.cache_hits.values()) >= 1
            assert not dispatcher.stats.cache_misses
        assert fusion_cpu.precompile_in_child(kernels) is False  # nothing left to do
    finally:
        funcgrad.config.cpu_fusion_cache_dir = old


def test_without_numba_everything_runs_as_numpy_calls(tmp_path):
    status, line = _child(tmp_path, prelude="sys.modules['numba'] = None  # import numba fails")
    assert status == "off: numba is not installed (pip install 'funcgrad[fast]')"
    assert line == "loops 0 0 0"
