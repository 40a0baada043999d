"""funcgrad.nn against NumPy/SciPy formulas, including extreme inputs; gradients by finite
differences (check_grads) and by closed forms at extreme logits; vmap and jit against eager."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import arrays, shapes

import funcgrad
import funcgrad.nn as nn
import funcgrad.numpy as fnp
from funcgrad._src.nn import activations, attention, preprocessing, softmax_family
from funcgrad._src.nn.special import erf, erfc
from funcgrad.test_util import check_grads

FLOATS = [np.float32, np.float64]


# --- NumPy references (float64), written differently from the implementation -----------


class sp:
    """The few special functions the references need, from NumPy and the math module."""

    erf = staticmethod(np.vectorize(math.erf, otypes=[np.float64]))
    erfc = staticmethod(np.vectorize(math.erfc, otypes=[np.float64]))

    @staticmethod
    def expit(x):
        return np.exp(-np.logaddexp(0, -x))

    @staticmethod
    def log_expit(x):
        return -np.logaddexp(0, -x)

    @staticmethod
    def ndtr(x):
        return 0.5 * sp.erfc(-x / np.sqrt(2))

    @staticmethod
    def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
        m = np.max(a, axis=axis, keepdims=True) if a.size else np.zeros([1] * a.ndim)
        m = np.where(np.isfinite(m), m, 0)
        total = np.sum(np.exp(a - m) * (1 if b is None else b), axis=axis, keepdims=True)
        sign = np.sign(total)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.log(np.abs(total)) + m
        if not keepdims:
            axes = tuple(range(a.ndim)) if axis is None else axis
            out, sign = np.squeeze(out, axes), np.squeeze(sign, axes)
        if return_sign:
            return out, sign
        return np.where(sign < 0, np.nan, out)

    @staticmethod
    def softmax(x, axis=None):
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)

    @staticmethod
    def log_softmax(x, axis=None):
        return x - sp.logsumexp(x, axis=axis, keepdims=True)


# values every elementwise test includes: the extremes, zero, tiny and subnormal numbers
EXTREMES = [0.0, -0.0, 1000.0, -1000.0, 1e-300, -1e-300, 5e-324, 1e-30, -1e-30,
            1.0, -1.0, 40.0, -40.0]  # fmt: skip
TOL = {np.float64: {"rtol": 1e-13, "atol": 1e-300}, np.float32: {"rtol": 2e-6, "atol": 1e-6}}


def _tol(dtype, scale=1.0):
    t = TOL[np.dtype(dtype).type]
    return {"rtol": t["rtol"] * scale, "atol": t["atol"] * scale}


# --- elementwise activations: (function, float64 NumPy formula) ---------------------------

SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x**3)))


SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

ELEMENTWISE = {
    "relu": (nn.relu, lambda x: np.maximum(x, 0)),
    "relu6": (nn.relu6, lambda x: np.minimum(np.maximum(x, 0), 6)),
    "leaky_relu": (nn.leaky_relu, lambda x: np.where(x >= 0, x, 0.01 * x)),
    "leaky_relu_0.2": (lambda x: nn.leaky_relu(x, 0.2), lambda x: np.where(x >= 0, x, 0.2 * x)),
    "elu": (nn.elu, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0)))),
    "elu_2": (lambda x: nn.elu(x, alpha=2.0), lambda x: np.where(x > 0, x, 2 * np.expm1(np.minimum(x, 0)))),
    "celu_0.5": (lambda x: nn.celu(x, alpha=0.5),
                 lambda x: np.maximum(x, 0) + 0.5 * np.expm1(np.minimum(x, 0) / 0.5)),
    "selu": (nn.selu, lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0)))),
    "gelu_tanh": (nn.gelu, _gelu_tanh),
    "gelu_exact": (lambda x: nn.gelu(x, approximate=False), lambda x: 0.5 * x * sp.erfc(-x / np.sqrt(2))),
    "silu": (nn.silu, lambda x: x * sp.expit(x)),
    "swish": (nn.swish, lambda x: x * sp.expit(x)),
    "softplus": (nn.softplus, lambda x: np.logaddexp(x, 0)),
    "soft_sign": (nn.soft_sign, lambda x: x / (np.abs(x) + 1)),
    "sigmoid": (nn.sigmoid, sp.expit),
    "log_sigmoid": (nn.log_sigmoid, sp.log_expit),
    "hard_sigmoid": (nn.hard_sigmoid, lambda x: np.clip(x + 3, 0, 6) / 6),
    "hard_tanh": (nn.hard_tanh, lambda x: np.clip(x, -1, 1)),
    "hard_swish": (nn.hard_swish, lambda x: x * np.clip(x + 3, 0, 6) / 6),
    "hard_silu": (nn.hard_silu, lambda x: x * np.clip(x + 3, 0, 6) / 6),
    "mish": (nn.mish, lambda x: x * np.tanh(np.logaddexp(x, 0))),
}  # fmt: skip

# kinks to stay away from in finite-difference gradient checks
KINKS = {"relu": [0], "relu6": [0, 6], "leaky_relu": [0], "leaky_relu_0.2": [0], "elu": [0],
         "elu_2": [0], "selu": [0], "celu_0.5": [0], "hard_sigmoid": [-3, 3], "hard_tanh": [-1, 1],
         "hard_swish": [-3, 3], "hard_silu": [-3, 3], "soft_sign": [0]}  # fmt: skip


def _with_extremes(x: np.ndarray) -> np.ndarray:
    extremes = np.asarray(EXTREMES, dtype=np.float64).astype(x.dtype)
    return np.concatenate([x.ravel(), extremes])


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@settings(max_examples=10)
@given(data=st.data())
def test_elementwise_against_formula(name, data):
    fn, reference = ELEMENTWISE[name]
    dtype = data.draw(st.sampled_from(FLOATS))
    x = _with_extremes(data.draw(arrays(dtype, shapes(0, 2), min_value=-50, max_value=50)))
    with np.errstate(over="ignore", under="ignore"):
        expected = reference(x.astype(np.float64))
    out = fn(fnp.asarray(x))
    assert out.dtype == dtype and out.shape == x.shape
    # float32: the result rounded from an exact float64 evaluation, give or take a few ulps;
    # tanh-gelu cancels in 1 + tanh for large negative x, hence an absolute tolerance there
    np.testing.assert_allclose(
        np.asarray(out, np.float64), expected, **_tol(dtype, 4), err_msg=name
    )
    assert not np.isnan(np.asarray(out)).any(), name


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_shape_dtype_and_abstract_eval(name):
    fn, _ = ELEMENTWISE[name]
    for shape in [(), (0,), (2, 3)]:
        x = fnp.ones(shape, dtype=np.float32)
        out = funcgrad.eval_shape(fn, x)
        assert (out.shape, out.dtype) == (shape, np.float32)
    assert fn(fnp.asarray([1, 2])).dtype.kind == "f" or name in (
        "relu",
        "relu6",
        "leaky_relu",
        "hard_tanh",
    )


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_gradients(name):
    fn, _ = ELEMENTWISE[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    x = rng.uniform(-7, 7, size=12)
    for k in KINKS.get(name, []):
        x = np.where(np.abs(x - k) < 0.05, x + 0.1, x)
    check_grads(fn, (fnp.asarray(x),), order=2, modes=("fwd", "rev"))


def test_derivatives_at_kinks_follow_jax():
    g = lambda f, v: float(funcgrad.grad(f)(fnp.asarray(v)))
    assert g(nn.relu, 0.0) == 0.0 and g(nn.relu, 1.0) == 1.0
    assert g(nn.relu6, 0.0) == 0.0 and g(nn.relu6, 6.0) == 0.0 and g(nn.relu6, 3.0) == 1.0
    assert g(nn.leaky_relu, 0.0) == 1.0 and g(nn.leaky_relu, -1.0) == 0.01
    assert (
        g(nn.hard_tanh, 1.0) == 1.0 and g(nn.hard_tanh, -1.0) == 1.0 and g(nn.hard_tanh, 2.0) == 0
    )
    assert g(lambda x: nn.elu(x, alpha=2.0), 0.0) == 2.0
    assert g(nn.celu, 0.0) == 1.0
    # forward mode agrees
    assert float(funcgrad.jvp(nn.relu, (fnp.asarray(0.0),), (fnp.asarray(1.0),))[1]) == 0.0


def test_second_derivatives_of_sigmoid_and_gelu():
    x = np.linspace(-6, 6, 13)
    s = sp.expit(x)
    d2 = funcgrad.vmap(funcgrad.grad(funcgrad.grad(nn.sigmoid)))(fnp.asarray(x))
    np.testing.assert_allclose(np.asarray(d2), s * (1 - s) * (1 - 2 * s), rtol=1e-12, atol=1e-15)
    phi = np.exp(-x * x / 2) / np.sqrt(2 * np.pi)
    exact = lambda v: nn.gelu(v, approximate=False)
    d1 = funcgrad.vmap(funcgrad.grad(exact))(fnp.asarray(x))
    np.testing.assert_allclose(np.asarray(d1), sp.ndtr(x) + x * phi, rtol=1e-13, atol=1e-15)
    d2 = funcgrad.vmap(funcgrad.grad(funcgrad.grad(exact)))(fnp.asarray(x))
    np.testing.assert_allclose(np.asarray(d2), phi * (2 - x * x), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["softplus", "log_sigmoid", "sigmoid", "silu", "mish", "gelu_exact",
                                  "gelu_tanh", "elu", "selu", "celu_0.5"])  # fmt: skip
@pytest.mark.parametrize("dtype", FLOATS)
def test_elementwise_gradients_finite_at_extremes(name, dtype):
    fn, _ = ELEMENTWISE[name]
    x = fnp.asarray(np.asarray([-1000.0, -40.0, 0.0, 40.0, 1000.0], dtype))
    rev = np.asarray(funcgrad.vmap(funcgrad.grad(fn))(x))
    fwd = np.asarray(funcgrad.jvp(fn, (x,), (fnp.ones_like(x),))[1])
    assert np.isfinite(rev).all() and np.isfinite(fwd).all(), (rev, fwd)
    np.testing.assert_allclose(rev, fwd, rtol=1e-6)


def test_gelu_tanh_huge_inputs_float32():
    # x^3 would overflow float32 beyond 7e12; the tanh saturates long before
    x = np.asarray([-1e30, -1e13, 1e13, 1e30], np.float32)
    out = np.asarray(nn.gelu(fnp.asarray(x)))
    np.testing.assert_array_equal(out, np.where(x > 0, x, 0))
    grads = np.asarray(funcgrad.vmap(funcgrad.grad(nn.gelu))(fnp.asarray(x)))
    np.testing.assert_array_equal(grads, [0, 0, 1, 1])


@pytest.mark.parametrize("dtype", FLOATS)
def test_softplus_log_sigmoid_sigmoid_gradients_at_extremes(dtype):
    x = np.asarray([-1000.0, -30.0, 0.0, 30.0, 1000.0], dtype)
    expected = sp.expit(x.astype(np.float64))
    for fn, ref in ((nn.softplus, expected), (nn.log_sigmoid, sp.expit(-x.astype(np.float64))),
                    (nn.sigmoid, expected * sp.expit(-x.astype(np.float64)))):  # fmt: skip
        got = funcgrad.vmap(funcgrad.grad(fn))(fnp.asarray(x))
        np.testing.assert_allclose(np.asarray(got, np.float64), ref, **_tol(dtype, 8))


# --- erf, erfc (private compositions used by gelu) ---------------------------------------


def test_erf_erfc_accuracy_float64():
    x = np.concatenate([np.linspace(-27, 27, 5401), np.geomspace(1e-300, 0.5, 50),
                        [0.5, 4.0, -0.5, -4.0, np.nextafter(0.5, 1), np.nextafter(4, 5)]])  # fmt: skip
    got_erf, got_erfc = np.asarray(erf(fnp.asarray(x))), np.asarray(erfc(fnp.asarray(x)))
    np.testing.assert_allclose(got_erf, sp.erf(x), rtol=1e-15, atol=0)
    normal = sp.erfc(x) > np.finfo(np.float64).tiny  # subnormal results lose relative precision
    np.testing.assert_allclose(got_erfc[normal], sp.erfc(x)[normal], rtol=2e-15, atol=0)
    np.testing.assert_allclose(got_erfc, sp.erfc(x), rtol=2e-15, atol=1e-320)
    specials = fnp.asarray([np.inf, -np.inf, np.nan, 0.0, 1000.0])
    np.testing.assert_array_equal(np.asarray(erf(specials)), [1, -1, np.nan, 0, 1])
    np.testing.assert_array_equal(np.asarray(erfc(specials)), [0, 2, np.nan, 1, 0])


def test_erf_float32_and_gradients():
    x = np.linspace(-5, 5, 101).astype(np.float32)
    out = erf(fnp.asarray(x))
    assert out.dtype == np.float32
    np.testing.assert_allclose(np.asarray(out), sp.erf(x.astype(np.float64)), rtol=1e-6, atol=1e-7)
    xs = fnp.asarray([-3.0, -0.7, -0.2, 0.3, 1.1, 4.5])
    check_grads(erf, (xs,), order=2, modes=("fwd", "rev"))
    check_grads(erfc, (xs,), order=2, modes=("fwd", "rev"))


# --- softmax, log_softmax, logsumexp --------------------------------------------------------


def _logits(data, dtype, min_dims=1):
    shape = data.draw(shapes(min_dims, 3, min_side=1, max_side=4))
    x = data.draw(arrays(dtype, shape, min_value=-1000, max_value=1000))
    # plant extremes: +-1000 side by side and a zero
    flat = x.reshape(-1)
    flat[: min(3, flat.size)] = np.asarray([1000.0, -1000.0, 0.0], dtype)[: min(3, flat.size)]
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1) | st.none())
    return x, axis


@pytest.mark.parametrize("dtype", FLOATS)
@settings(max_examples=15)
@given(data=st.data())
def test_softmax_family_against_scipy(dtype, data):
    x, axis = _logits(data, dtype)
    x64 = x.astype(np.float64)
    out = nn.softmax(fnp.asarray(x), axis=axis)
    assert out.dtype == dtype
    np.testing.assert_allclose(
        np.asarray(out, np.float64), sp.softmax(x64, axis=axis), **_tol(dtype, 4)
    )
    out = nn.log_softmax(fnp.asarray(x), axis=axis)
    np.testing.assert_allclose(np.asarray(out, np.float64), sp.log_softmax(x64, axis=axis),
                               rtol=_tol(dtype, 4)["rtol"], atol=1e-13 if dtype == np.float64 else 2e-4)  # fmt: skip
    keepdims = data.draw(st.booleans())
    out = nn.logsumexp(fnp.asarray(x), axis=axis, keepdims=keepdims)
    expected = sp.logsumexp(x64, axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(expected) and out.dtype == dtype
    np.testing.assert_allclose(np.asarray(out, np.float64), expected, **_tol(dtype, 4))


@settings(max_examples=15)
@given(data=st.data())
def test_logsumexp_with_b_and_sign(data):
    x, axis = _logits(data, np.float64)
    b = data.draw(
        arrays(np.float64, x.shape[data.draw(st.integers(0, x.ndim)) :], min_value=-2, max_value=2)
    )
    out, sign = nn.logsumexp(fnp.asarray(x), axis=axis, b=fnp.asarray(b), return_sign=True)
    e_out, e_sign = sp.logsumexp(x, axis=axis, b=b, return_sign=True)
    np.testing.assert_allclose(np.asarray(out), e_out, rtol=1e-12)
    np.testing.assert_array_equal(np.asarray(sign), e_sign)
    plain = np.asarray(nn.logsumexp(fnp.asarray(x), axis=axis, b=fnp.asarray(b)))
    np.testing.assert_allclose(plain, np.where(e_sign < 0, np.nan, e_out), rtol=1e-12)


def _masked_reference(x, mask, axis):
    xm = np.where(mask, x, -np.inf)
    m = np.max(xm, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    e = np.exp(xm - m)
    s = e.sum(axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        soft = np.where(s > 0, e / np.where(s > 0, s, 1), 0)
        lse = np.where(s > 0, np.log(np.where(s > 0, s, 1)) + m, -np.inf)
        return soft, np.where(mask, xm - lse, -np.inf), lse


@settings(max_examples=20)
@given(data=st.data())
def test_softmax_family_with_where(data):
    x, axis = _logits(data, np.float64)
    mask = data.draw(arrays(np.bool_, x.shape))
    if data.draw(st.booleans()):  # a fully masked slice
        mask[(0,) * (x.ndim - 1)] = False
    soft, logsoft, lse = _masked_reference(x, mask, axis)
    np.testing.assert_allclose(np.asarray(nn.softmax(fnp.asarray(x), axis, where=fnp.asarray(mask))),
                               soft, rtol=1e-13, atol=1e-300)  # fmt: skip
    np.testing.assert_allclose(np.asarray(nn.log_softmax(fnp.asarray(x), axis, where=fnp.asarray(mask))),
                               logsoft, rtol=1e-13, atol=1e-13)  # fmt: skip
    got = nn.logsumexp(fnp.asarray(x), axis, keepdims=True, where=fnp.asarray(mask))
    np.testing.assert_allclose(np.asarray(got), lse, rtol=1e-13)


@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_family_gradients_at_extreme_logits(dtype):
    x = np.asarray([[1000.0, -1000.0, 0.0, 999.0], [-1000.0, -1000.0, -1000.0, -1000.0],
                    [0.5, -0.25, 3.0, -2.0]], dtype)  # fmt: skip
    w = np.asarray([1.0, -2.0, 3.0, 0.5], dtype)
    s = sp.softmax(x.astype(np.float64), axis=-1)
    cases = [
        (lambda v: (nn.softmax(v) * w).sum(), s * (w - (s * w).sum(-1, keepdims=True))),
        (lambda v: (nn.log_softmax(v) * w).sum(), w - s * w.sum()),
        (lambda v: nn.logsumexp(v, axis=-1).sum(), s),
        (lambda v: nn.logsumexp(v), sp.softmax(x.astype(np.float64))),
    ]
    for f, expected in cases:
        rev = np.asarray(funcgrad.grad(f)(fnp.asarray(x)), np.float64)
        fwd = np.asarray(funcgrad.jacfwd(f)(fnp.asarray(x)), np.float64)
        assert np.isfinite(rev).all() and np.isfinite(fwd).all()
        np.testing.assert_allclose(rev, expected, **_tol(dtype, 16))
        np.testing.assert_allclose(fwd, expected, **_tol(dtype, 16))


def test_softmax_family_gradients_with_masks_and_minus_inf():
    x = np.asarray([[1.0, 2.0, -np.inf, 0.5], [3.0, -1.0, 2.0, 0.0], [0.3, 0.1, 0.2, 0.4]])
    mask = np.asarray([[True, True, True, True], [True, False, True, False], [False] * 4])
    cases = [  # (loss, gradient at the -inf logit)
        (lambda v: (nn.softmax(v, where=mask) * fnp.arange(4.0)).sum(), 0.0),
        (lambda v: fnp.where(mask, nn.log_softmax(v, where=mask), 0).sum(), 1.0),  # d(x_j)/dx_j
        (lambda v: fnp.where(mask[:, 0], nn.logsumexp(v, axis=1, where=mask), 0).sum(), 0.0),
    ]
    for f, at_minus_inf in cases:
        g = np.asarray(funcgrad.grad(f)(fnp.asarray(x)))
        assert np.isfinite(g).all()
        assert (g[~mask] == 0).all() and g[0, 2] == at_minus_inf
    # all -inf / fully masked: zeros and -inf with zero gradients
    g = funcgrad.grad(lambda v: nn.softmax(v, where=fnp.zeros(3, bool)).sum())(fnp.ones(3))
    assert np.asarray(g).tolist() == [0.0, 0.0, 0.0]
    assert nn.softmax(fnp.full(3, -np.inf)).tolist() == [0.0, 0.0, 0.0]
    assert float(nn.logsumexp(fnp.full(3, -np.inf))) == -np.inf
    assert float(nn.logsumexp(fnp.zeros((0,)))) == -np.inf
    assert nn.softmax(fnp.zeros((2, 0))).shape == (2, 0)
    with np.errstate(invalid="ignore"):  # +inf logits: NaN (inf - inf), as in JAX
        assert np.isnan(np.asarray(nn.softmax(fnp.asarray([np.inf, 0.0])))).all()
        assert np.isnan(np.asarray(nn.log_softmax(fnp.asarray([np.inf, 0.0])))).all()
    assert float(nn.logsumexp(fnp.asarray([np.inf, 0.0]))) == np.inf


@pytest.mark.parametrize("axis", [-1, 0, (0, 1), None])
def test_softmax_family_check_grads(axis):
    x = fnp.asarray(np.random.default_rng(1).normal(size=(3, 4)) * 3)
    for f in (lambda v: nn.softmax(v, axis), lambda v: nn.log_softmax(v, axis),
              lambda v: nn.logsumexp(v, axis), lambda v: nn.logsumexp(v, axis, b=fnp.arange(1.0, 5.0)),
              lambda v: nn.softmax(v, axis, where=v > 0)):  # fmt: skip
        check_grads(f, (x,), order=2, modes=("fwd", "rev"))


# --- glu, one_hot, standardize ----------------------------------------------------------------


@settings(max_examples=15)
@given(data=st.data())
def test_glu_against_formula(data):
    dtype = data.draw(st.sampled_from(FLOATS))
    shape = list(data.draw(shapes(1, 3, min_side=1, max_side=3)))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    shape[axis] *= 2
    x = data.draw(arrays(dtype, tuple(shape), min_value=-1000, max_value=1000))
    a, b = np.split(x.astype(np.float64), 2, axis=axis)
    out = nn.glu(fnp.asarray(x), axis=axis)
    assert out.dtype == dtype
    np.testing.assert_allclose(np.asarray(out, np.float64), a * sp.expit(b), **_tol(dtype, 4))
    check_grads(lambda v: nn.glu(v, axis), (fnp.asarray(x.astype(np.float64) / 400),), order=2)


@settings(max_examples=15)
@given(data=st.data())
def test_one_hot_against_numpy(data):
    x = data.draw(
        arrays(
            st.sampled_from([np.int32, np.int64, np.float64]),
            shapes(0, 3),
            min_value=-2,
            max_value=6,
        )
    )
    n = data.draw(st.integers(0, 5))
    axis = data.draw(st.integers(-x.ndim - 1, x.ndim))
    dtype = data.draw(st.sampled_from([np.float32, np.float64, np.int32, np.bool_]))
    expected = np.moveaxis(x[..., None] == np.arange(n), -1, axis).astype(dtype)
    out = nn.one_hot(fnp.asarray(x), n, dtype=dtype, axis=axis)
    assert out.dtype == dtype
    np.testing.assert_array_equal(np.asarray(out), expected)


def test_one_hot_defaults_and_errors():
    out = nn.one_hot(fnp.asarray([1, 5, -1]), 3)
    assert out.dtype == np.float64 and out.tolist() == [[0, 1, 0], [0, 0, 0], [0, 0, 0]]
    assert nn.one_hot(fnp.asarray([0.5, np.nan]), 2).tolist() == [[0, 0], [0, 0]]
    with pytest.raises(TypeError, match="funcgrad.nn.one_hot: num_classes must be an integer"):
        nn.one_hot(fnp.asarray([1]), 2.5)
    with pytest.raises(ValueError, match="funcgrad.nn.one_hot: num_classes must be non-negative"):
        nn.one_hot(fnp.asarray([1]), -1)
    with pytest.raises(ValueError, match="funcgrad.nn.one_hot: axis=3 is out of bounds"):
        nn.one_hot(fnp.asarray([1]), 2, axis=3)
    with pytest.raises(funcgrad.ConcretizationError, match="one_hot"):
        funcgrad.jit(lambda n: nn.one_hot(fnp.asarray([1]), n))(fnp.asarray(3))
    # traced labels are fine
    assert funcgrad.jit(lambda x: nn.one_hot(x, 3))(fnp.asarray([2])).tolist() == [[0, 0, 1]]


@pytest.mark.parametrize("dtype", FLOATS)
@settings(max_examples=15)
@given(data=st.data())
def test_standardize_against_numpy(dtype, data):
    x = data.draw(arrays(dtype, shapes(1, 3, min_side=1), min_value=-100, max_value=100))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    x64 = x.astype(np.float64) + 1000  # a large mean: a one-pass variance would cancel
    x = x64.astype(dtype)
    x64 = x.astype(np.float64)
    mean = x64.mean(axis, keepdims=True)
    expected = (x64 - mean) / np.sqrt(((x64 - mean) ** 2).mean(axis, keepdims=True) + 1e-5)
    out = nn.standardize(fnp.asarray(x), axis=axis)
    assert out.dtype == dtype
    # the mean's rounding error (a few ulps of max|x|) divided by the standard deviation
    var = ((x64 - mean) ** 2).mean(axis, keepdims=True)
    atol = 16 * np.finfo(dtype).eps * np.abs(x64).max() / np.sqrt(var + 1e-5)
    err = np.abs(np.asarray(out, np.float64) - expected)
    assert (err <= atol + 1e-4 * np.abs(expected)).all(), (err, atol)


def test_standardize_options():
    x = np.random.default_rng(2).normal(size=(3, 5))
    mask = x > -0.5
    m = np.sum(x * mask, 1, keepdims=True) / mask.sum(1, keepdims=True)
    v = np.sum((x - m) ** 2 * mask, 1, keepdims=True) / mask.sum(1, keepdims=True)
    out = nn.standardize(fnp.asarray(x), where=fnp.asarray(mask), epsilon=0.1)
    np.testing.assert_allclose(np.asarray(out), (x - m) / np.sqrt(v + 0.1), rtol=1e-12)
    out = nn.standardize(fnp.asarray(x), axis=(0, 1), mean=0.5, variance=4.0, epsilon=0.0)
    np.testing.assert_allclose(np.asarray(out), (x - 0.5) / 2, rtol=1e-14)
    check_grads(lambda v: nn.standardize(v, axis=0), (fnp.asarray(x),), order=2)


def test_errors_name_the_function():
    with pytest.raises(ValueError, match="funcgrad.nn.glu: axis 1 of x .* has odd size 3"):
        nn.glu(fnp.ones((2, 3)))
    with pytest.raises(ValueError, match="funcgrad.nn.glu: x must have at least one axis"):
        nn.glu(fnp.ones(()))
    with pytest.raises(ValueError, match="funcgrad.nn.softmax: axis=2 is out of bounds"):
        nn.softmax(fnp.ones((2, 3)), axis=2)
    with pytest.raises(ValueError, match="funcgrad.nn.log_softmax: axis=-3 is out of bounds"):
        nn.log_softmax(fnp.ones((2, 3)), axis=-3)
    with pytest.raises(ValueError, match="funcgrad.nn.logsumexp: axis=5"):
        nn.logsumexp(fnp.ones((2, 3)), axis=5)
    with pytest.raises(ValueError, match="logsumexp.*broadcast"):
        nn.logsumexp(fnp.ones((2, 3)), b=fnp.ones(2))


# --- transformations: vmap and jit against eager -------------------------------------------

ROWWISE = {
    **{k: v[0] for k, v in ELEMENTWISE.items()},
    "softmax": nn.softmax, "log_softmax": nn.log_softmax,
    "logsumexp": lambda x: nn.logsumexp(x, axis=-1), "glu": nn.glu, "standardize": nn.standardize,
    "softmax_where": lambda x: nn.softmax(x, where=x > 0), "one_hot": lambda x: nn.one_hot(x > 0, 2),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(ROWWISE))
def test_vmap_and_jit_match_eager(name):
    fn = ROWWISE[name]
    x = fnp.asarray(np.random.default_rng(3).normal(size=(3, 4, 6)) * 4)
    eager = np.asarray(fn(x))
    np.testing.assert_allclose(np.asarray(funcgrad.vmap(fn)(x)), eager, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(np.asarray(funcgrad.vmap(fn, in_axes=1, out_axes=1)(x)), eager,
                               rtol=1e-13, atol=1e-15)  # fmt: skip
    np.testing.assert_allclose(np.asarray(funcgrad.jit(fn)(x)), eager, rtol=1e-13, atol=1e-15)
    if name != "one_hot":
        w = fnp.asarray(np.cos(np.arange(eager.size)).reshape(eager.shape))
        loss = lambda v, w: (fn(v) * w).sum()
        g = np.asarray(funcgrad.grad(loss)(x, w))
        np.testing.assert_allclose(np.asarray(funcgrad.jit(funcgrad.grad(loss))(x, w)), g,
                                   rtol=1e-12, atol=1e-14)  # fmt: skip
        per_example = funcgrad.vmap(funcgrad.grad(loss))(x, w)
        np.testing.assert_allclose(np.asarray(per_example), g, rtol=1e-12, atol=1e-14)


def test_masks_traced_under_vmap_and_jit():
    x = fnp.asarray(np.random.default_rng(4).normal(size=(5, 4)))
    mask = fnp.asarray(np.random.default_rng(5).random((5, 4)) > 0.3)
    for f in (lambda v, m: nn.softmax(v, where=m), lambda v, m: nn.log_softmax(v, where=m),
              lambda v, m: nn.logsumexp(v, axis=-1, where=m), lambda v, m: nn.standardize(v, where=m)):  # fmt: skip
        eager = np.asarray(f(x, mask))
        np.testing.assert_allclose(np.asarray(funcgrad.jit(f)(x, mask)), eager, rtol=1e-13)
        np.testing.assert_allclose(np.asarray(funcgrad.vmap(f)(x, mask)), eager, rtol=1e-13)
        np.testing.assert_allclose(np.asarray(funcgrad.vmap(f, in_axes=(None, 0))(x[0], mask)),
                                   np.stack([np.asarray(f(x[0], mask[i])) for i in range(5)]),
                                   rtol=1e-13)  # fmt: skip


# --- dot_product_attention ----------------------------------------------------------------------


def _attention_reference(q, k, v, bias, mask, scale, is_causal, q_len, kv_len, window):
    """Direct loops over batch, head and query position; float64."""
    B, T, N, H = q.shape
    S, K = k.shape[1], k.shape[2]
    G = N // K
    scale = 1 / np.sqrt(H) if scale is None else scale
    bias = np.zeros((B, N, T, S)) if bias is None else np.broadcast_to(bias, (B, N, T, S))
    mask = np.ones((B, N, T, S), bool) if mask is None else np.broadcast_to(mask, (B, N, T, S))
    big = -0.7 * np.finfo(np.float64).max
    out = np.zeros((B, T, N, v.shape[-1]))
    for b in range(B):
        for n in range(N):
            for t in range(T):
                logits = k[b, :, n // G] @ q[b, t, n] * scale + bias[b, n, t]
                ok = mask[b, n, t].copy()
                s_idx = np.arange(S)
                if is_causal:
                    ok &= s_idx <= t
                if window is not None:
                    ok &= (s_idx >= t - window[0]) & (s_idx <= t + window[1])
                if q_len is not None:
                    ok &= t < q_len[b]
                if kv_len is not None:
                    ok &= s_idx < kv_len[b]
                logits = np.where(ok, logits, big)
                p = np.exp(logits - logits.max())
                out[b, t, n] = (p / p.sum()) @ v[b, :, n // G]
    return out


@settings(max_examples=25)
@given(data=st.data())
def test_dot_product_attention_against_reference(data):
    B, T, S = (
        data.draw(st.integers(1, 2)),
        data.draw(st.integers(1, 4)),
        data.draw(st.integers(1, 4)),
    )
    K, G, H = (
        data.draw(st.integers(1, 2)),
        data.draw(st.integers(1, 2)),
        data.draw(st.integers(1, 3)),
    )
    N = K * G
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    q, k, v = (rng.normal(size=s) for s in [(B, T, N, H), (B, S, K, H), (B, S, K, H)])
    bias_shape = data.draw(st.sampled_from([None, (B, N, T, S), (T, S), (1, N, 1, S)]))
    bias = None if bias_shape is None else rng.normal(size=bias_shape)
    mask_shape = data.draw(st.sampled_from([None, (B, N, T, S), (B, 1, T, S), (S,)]))
    mask = None if mask_shape is None else rng.random(mask_shape) > 0.3
    scale = data.draw(st.sampled_from([None, 0.5]))
    is_causal = data.draw(st.booleans())
    window = data.draw(st.sampled_from([None, 1, (0, 2)]))
    q_len = rng.integers(0, T + 1, B) if data.draw(st.booleans()) else None
    kv_len = rng.integers(1, S + 1, B) if data.draw(st.booleans()) else None
    out = nn.dot_product_attention(
        fnp.asarray(q), fnp.asarray(k), fnp.asarray(v),
        None if bias is None else fnp.asarray(bias), None if mask is None else fnp.asarray(mask),
        scale=scale, is_causal=is_causal, local_window_size=window,
        query_seq_lengths=None if q_len is None else fnp.asarray(q_len),
        key_value_seq_lengths=None if kv_len is None else fnp.asarray(kv_len),
    )  # fmt: skip
    win = (window, window) if isinstance(window, int) else window
    expected = _attention_reference(q, k, v, bias, mask, scale, is_causal, q_len, kv_len, win)
    assert out.shape == (B, T, N, H) and out.dtype == np.float64
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-12, atol=1e-12)


def test_dot_product_attention_unbatched_float32_and_extreme_logits():
    rng = np.random.default_rng(7)
    q, k, v = (rng.normal(size=(3, 2, 4)).astype(np.float32) for _ in range(3))
    out = nn.dot_product_attention(fnp.asarray(q), fnp.asarray(k), fnp.asarray(v), is_causal=True)
    expected = _attention_reference(q[None].astype(np.float64), k[None].astype(np.float64),
                                    v[None].astype(np.float64), None, None, None, True, None, None, None)[0]  # fmt: skip
    assert out.dtype == np.float32 and out.shape == (3, 2, 4)
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-5, atol=1e-6)
    # logits of +-1000: one key wins outright, gradients stay finite
    f = lambda q_: nn.dot_product_attention(q_, fnp.asarray(k), fnp.asarray(v), scale=1000.0).sum()
    g = funcgrad.grad(f)(fnp.asarray(q))
    assert np.isfinite(np.asarray(g)).all()


def test_dot_product_attention_gradients_vmap_jit():
    rng = np.random.default_rng(8)
    q, k, v = (fnp.asarray(rng.normal(size=s)) for s in [(2, 3, 4, 2), (2, 5, 2, 2), (2, 5, 2, 2)])
    bias = fnp.asarray(rng.normal(size=(2, 4, 3, 5)))
    mask = fnp.asarray(rng.random((2, 1, 3, 5)) > 0.2)

    def f(q, k, v, bias):
        return nn.dot_product_attention(q, k, v, bias, mask, is_causal=True)

    check_grads(f, (q, k, v, bias), order=2, modes=("fwd", "rev"))
    eager = np.asarray(f(q, k, v, bias))
    np.testing.assert_allclose(np.asarray(funcgrad.jit(f)(q, k, v, bias)), eager, rtol=1e-13)
    per_example = funcgrad.vmap(
        lambda q, k, v, b: nn.dot_product_attention(q, k, v, b, is_causal=True)
    )
    np.testing.assert_allclose(
        np.asarray(per_example(q, k, v, bias)),
        np.asarray(nn.dot_product_attention(q, k, v, bias, is_causal=True)), rtol=1e-13)  # fmt: skip


def test_dot_product_attention_errors():
    q, kv = fnp.ones((1, 2, 3, 4)), fnp.ones((1, 2, 2, 4))
    with pytest.raises(
        ValueError, match=r"funcgrad.nn.dot_product_attention: the number of query heads \(3\)"
    ):
        nn.dot_product_attention(q, kv, kv)
    with pytest.raises(ValueError, match="key and value must have shape"):
        nn.dot_product_attention(q, fnp.ones((1, 2, 3, 5)), fnp.ones((1, 2, 3, 5)))
    with pytest.raises(ValueError, match="query must have shape"):
        nn.dot_product_attention(fnp.ones((2, 3)), kv, kv)
    with pytest.raises(TypeError, match="mask must be boolean"):
        nn.dot_product_attention(q, q, q, mask=fnp.ones((2, 2)))
    with pytest.raises(ValueError, match=r"bias of shape \(3,\) does not broadcast"):
        nn.dot_product_attention(q, q, q, bias=fnp.ones(3))
    ok = nn.dot_product_attention(q, q, q, implementation="xla")
    np.testing.assert_allclose(np.asarray(ok), np.ones((1, 2, 3, 4)))
    with pytest.raises(ValueError, match="implementation='cudnn' is not available"):
        nn.dot_product_attention(q, q, q, implementation="cudnn")
    with pytest.raises(TypeError, match="share a dtype"):
        nn.dot_product_attention(q, q.astype(np.float32), q)
    with pytest.raises(
        ValueError, match=r"query_seq_lengths must be an integer array of shape \(1,\)"
    ):
        nn.dot_product_attention(q, q, q, query_seq_lengths=fnp.asarray([1, 2]))
    with pytest.raises(ValueError, match="local_window_size must be non-negative"):
        nn.dot_product_attention(q, q, q, local_window_size=-1)


def test_public_module():
    expected = {"relu", "relu6", "leaky_relu", "elu", "celu", "selu", "gelu", "silu", "swish",
                "softplus", "soft_sign", "sigmoid", "log_sigmoid", "hard_sigmoid", "hard_tanh",
                "hard_swish", "hard_silu", "mish", "glu", "softmax", "log_softmax", "logsumexp",
                "one_hot", "standardize", "dot_product_attention", "identity", "tanh",
                "squareplus", "sparse_plus", "sparse_sigmoid", "log1mexp", "logmeanexp",
                "initializers"}  # fmt: skip
    assert set(nn.__all__) == expected
    assert all(callable(getattr(nn, name)) for name in nn.__all__ if name != "initializers")
    from funcgrad._src.nn import more_functions

    modules = (activations, attention, preprocessing, softmax_family, more_functions)
    names = [name for m in modules for name in m.__all__] + ["initializers"]
    assert sorted(nn.__all__) == sorted(names)
