"""Differentiation rules of the elementwise primitives: check_grads on smooth domains.

Values are drawn from a continuous distribution (seeded by hypothesis) inside each
function's smooth domain, so that no draw sits on a kink or a tie, where finite
differences and the documented one-sided choices would legitimately differ.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from oracle import shapes

import funcgrad
import funcgrad.numpy as fnp
from funcgrad.test_util import check_grads
from funcgrad._src.lax import elementwise as ew

# primitive name -> (function of funcgrad arrays, domain of every operand)
UNARY = {
    "neg": (fnp.negative, (-3, 3)), "abs": (fnp.absolute, (0.2, 3)), "exp": (fnp.exp, (-3, 3)),
    "exp2": (fnp.exp2, (-3, 3)), "expm1": (fnp.expm1, (-3, 3)), "log": (fnp.log, (0.3, 3)),
    "log2": (fnp.log2, (0.3, 3)), "log10": (fnp.log10, (0.3, 3)), "log1p": (fnp.log1p, (-0.5, 3)),
    "sqrt": (fnp.sqrt, (0.3, 3)), "cbrt": (fnp.cbrt, (0.3, 3)), "sin": (fnp.sin, (-3, 3)),
    "cos": (fnp.cos, (-3, 3)), "tan": (fnp.tan, (-1.2, 1.2)), "asin": (fnp.arcsin, (-0.8, 0.8)),
    "acos": (fnp.arccos, (-0.8, 0.8)), "atan": (fnp.arctan, (-3, 3)), "sinh": (fnp.sinh, (-2, 2)),
    "cosh": (fnp.cosh, (-2, 2)), "tanh": (fnp.tanh, (-2, 2)), "asinh": (fnp.arcsinh, (-3, 3)),
    "acosh": (fnp.arccosh, (1.3, 3)), "atanh": (fnp.arctanh, (-0.8, 0.8)),
    "real": (fnp.real, (-3, 3)), "imag": (lambda x: fnp.imag(x) + x, (-3, 3)),
    "conj": (fnp.conjugate, (-3, 3)),
}  # fmt: skip
BINARY = {
    "add": (fnp.add, (-3, 3)), "sub": (fnp.subtract, (-3, 3)), "mul": (fnp.multiply, (-3, 3)),
    "div": (fnp.divide, (0.5, 3)), "pow": (fnp.power, (0.5, 2)), "max": (fnp.maximum, (-3, 3)),
    "min": (fnp.minimum, (-3, 3)), "fmax": (fnp.fmax, (-3, 3)), "fmin": (fnp.fmin, (-3, 3)),
    "rem": (fnp.remainder, (0.5, 3)), "fmod": (fnp.fmod, (0.5, 3)), "atan2": (fnp.arctan2, (0.5, 3)),
    "hypot": (fnp.hypot, (0.5, 3)), "logaddexp": (fnp.logaddexp, (-3, 3)),
    "logaddexp2": (fnp.logaddexp2, (-3, 3)), "copysign": (fnp.copysign, (0.5, 3)),
}  # fmt: skip
ZERO_DERIVATIVE = ["sign", "floor", "ceil", "round", "trunc", "floor_div", "nextafter", "heaviside", "signbit",
                   "is_finite", "is_nan", "is_inf", "not", "logical_not", "and", "or", "xor",
                   "shift_left", "shift_right", "logical_and", "logical_or", "logical_xor", "eq",
                   "ne", "lt", "le", "gt", "ge"]  # fmt: skip


def test_every_elementwise_primitive_has_a_rule_and_a_test():
    tested = set(UNARY) | set(BINARY) | set(ZERO_DERIVATIVE) | {"select"}
    everything = set(ew.UNARY_UFUNCS) | set(ew.BINARY_UFUNCS) | {"select"}
    assert tested == everything, sorted(everything ^ tested)
    for name in everything:
        prim = {**ew.unary_primitives, **ew.binary_primitives, "select": ew.select_p}[name]
        assert prim.jvp is not None, name
    for prim in (ew.neg_p, ew.add_p, ew.sub_p, ew.mul_p, ew.div_p, ew.select_p, ew.real_p, ew.conj_p):
        assert prim.transpose is not None, prim


def _draw(seed, shape, domain):
    lo, hi = domain
    return fnp.asarray(np.random.default_rng(seed).uniform(lo, hi, shape))


@pytest.mark.parametrize("name", sorted(UNARY))
@given(seed=st.integers(0, 2**31 - 1), shape=shapes(max_dims=2, max_side=3))
@settings(max_examples=6)
def test_unary_rules(name, seed, shape):
    fn, domain = UNARY[name]
    check_grads(fn, (_draw(seed, shape, domain),), order=2)


@pytest.mark.parametrize("name", sorted(BINARY))
@given(seed=st.integers(0, 2**31 - 1), shape=shapes(max_dims=2, max_side=3), scalar=st.booleans())
@settings(max_examples=6)
def test_binary_rules_including_a_0d_operand(name, seed, shape, scalar):
    fn, domain = BINARY[name]
    x = _draw(seed, shape, domain)
    y = _draw(seed + 1, () if scalar else shape, domain)
    if name == "copysign":  # the sign of y is what matters: use both signs
        y = y * fnp.asarray(np.where(np.random.default_rng(seed).uniform(size=np.shape(y)) < 0.5, -1.0, 1.0))
    if name in ("rem", "fmod"):
        x = x * 3.0  # away from the multiples of y, where the remainder jumps
        if np.any(np.abs(np.asarray(x) / np.asarray(y) - np.round(np.asarray(x) / np.asarray(y))) < 0.05):
            return
    check_grads(fn, (x, y), order=2)


def test_extrema_split_ties_equally_and_pick_the_selected_operand():
    x = fnp.asarray([1.0, 2.0, 3.0])
    y = fnp.asarray([3.0, 2.0, 1.0])
    gx, gy = funcgrad.grad(lambda a, b: fnp.sum(fnp.maximum(a, b)), argnums=(0, 1))(x, y)
    assert gx.tolist() == [0.0, 0.5, 1.0] and gy.tolist() == [1.0, 0.5, 0.0]
    nan = fnp.asarray([np.nan, 1.0])
    gx, gy = funcgrad.grad(lambda a, b: fnp.sum(fnp.fmax(a, b)), argnums=(0, 1))(nan, fnp.asarray([2.0, 0.0]))
    assert gx.tolist() == [0.0, 1.0] and gy.tolist() == [1.0, 0.0]


_INTEGER_ONLY = ("not", "and", "or", "xor", "shift_left", "shift_right")


@pytest.mark.parametrize("name", [n for n in ZERO_DERIVATIVE if n not in _INTEGER_ONLY])
def test_piecewise_constant_functions_have_zero_tangents(name):
    prim = {**ew.unary_primitives, **ew.binary_primitives}[name]
    nargs = 1 if name in ew.UNARY_UFUNCS else 2
    x = fnp.asarray([1.5, -2.5])
    _, t = funcgrad.jvp(lambda a: prim.bind1(*([a] * nargs)), (x,), (fnp.ones(2),))
    assert not np.any(np.asarray(t, dtype=float)), name


@pytest.mark.parametrize("name", _INTEGER_ONLY)
def test_integer_only_functions_have_zero_jvp_rules(name):
    prim = {**ew.unary_primitives, **ew.binary_primitives}[name]
    nargs = 1 if name in ew.UNARY_UFUNCS else 2
    i = fnp.asarray([3, 1])
    outs, tangents = prim.jvp([i] * nargs, [fnp.ones(2)] * nargs)
    assert type(tangents[0]).__name__ == "Zero" and outs[0].dtype.kind in "iub"


def test_select_rule():
    pred = fnp.asarray([True, False, True])
    a, b = fnp.asarray([1.0, 2.0, 3.0]), fnp.asarray([4.0, 5.0, 6.0])
    ga, gb = funcgrad.grad(lambda x, y: fnp.sum(fnp.where(pred, x, y) ** 2), argnums=(0, 1))(a, b)
    assert ga.tolist() == [2.0, 0.0, 6.0] and gb.tolist() == [0.0, 10.0, 0.0]
    check_grads(lambda x, y: fnp.where(pred, x * y, y), (a, b), order=2)
    g = funcgrad.grad(lambda s: fnp.sum(fnp.where(pred, s, a)))(fnp.asarray(2.0))  # 0-d branch
    assert float(g) == 2.0


def test_linear_transposes_are_exact():
    x = fnp.asarray(np.random.default_rng(0).standard_normal((2, 3)))
    for f in (lambda v: -v, lambda v: v + 2.0 * v, lambda v: v - 3.0 * v, lambda v: v * x, lambda v: v / (x * x + 1.0)):
        f_t = funcgrad.linear_transpose(f, x)
        ct = fnp.asarray(np.random.default_rng(1).standard_normal((2, 3)))
        t = fnp.asarray(np.random.default_rng(2).standard_normal((2, 3)))
        lhs = float(np.vdot(np.asarray(f_t(ct)[0]), np.asarray(t)))
        rhs = float(np.vdot(np.asarray(ct), np.asarray(f(t))))
        assert np.isclose(lhs, rhs, rtol=1e-12), (lhs, rhs)


def test_select_with_a_python_scalar_branch():
    x = fnp.asarray([1.0, -2.0])
    assert funcgrad.grad(lambda v: fnp.sum(fnp.where(v > 0, v, 1) * 1.0))(x).tolist() == [1.0, 0.0]
    assert funcgrad.grad(lambda v: fnp.sum(fnp.where(v > 0, 2, v)))(x).tolist() == [0.0, 1.0]


@pytest.mark.parametrize("name", sorted(UNARY) + sorted(BINARY))
def test_float32_gradients_stay_float32(name):
    fn, domain = UNARY[name] if name in UNARY else BINARY[name]
    x = fnp.asarray(np.linspace(domain[0] + 0.05, domain[1] - 0.05, 4), dtype=fnp.float32)
    args = (x,) if name in UNARY else (x, x[::-1] + 0.01)
    grads = funcgrad.grad(lambda *a: fnp.sum(fnp.real(fn(*a))), argnums=tuple(range(len(args))))(*args)
    assert all(g.dtype == np.float32 for g in grads), [g.dtype for g in grads]


def test_power_with_a_literal_base_or_exponent():
    y = fnp.asarray([0.5, 2.0])
    assert np.allclose(funcgrad.grad(lambda v: fnp.sum(10.0 ** v))(y), np.log(10.0) * 10.0 ** np.array([0.5, 2.0]))
    assert np.allclose(funcgrad.grad(lambda v: fnp.sum(v**3.0))(y), 3 * np.array([0.5, 2.0]) ** 2)


def test_extrema_split_ties_between_equal_infinities_and_give_nan_operands_nothing():
    x = fnp.asarray([-np.inf, np.inf, 1.0, np.nan])
    y = fnp.asarray([-np.inf, np.inf, 1.0, 2.0])
    for fn in (fnp.maximum, fnp.minimum):
        with np.errstate(invalid="ignore"):  # the summed value itself is nan (inf - inf)
            gx, gy = funcgrad.grad(lambda a, b: fnp.sum(fn(a, b)), argnums=(0, 1))(x, y)
        np.testing.assert_array_equal(np.asarray(gx), [0.5, 0.5, 0.5, 0.0])
        np.testing.assert_array_equal(np.asarray(gy), [0.5, 0.5, 0.5, 0.0])
