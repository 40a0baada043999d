"""Differential dtype test: every primitive and the main composites give the same dtypes and
shapes (and values within rounding) through eager grad, jit(grad), vmap(grad), jvp and
linearize, with float32 inputs and Python-scalar constants.

A float32 program must stay float32 whichever way it is differentiated: a Python scalar
(``x ** 2``, ``lr * 0.5``, ``arctan2(x, 2.0)``) is weak and must not turn a gradient, a
tangent or a jitted result into float64. The primitive records of ``test_primitives`` draw
the operands, with every float dtype they would draw replaced by float32; a 0-d operand of
an elementwise primitive may become a Python scalar constant.
"""

from __future__ import annotations

import numpy as np
import pytest
import test_primitives
from hypothesis import given, settings
from hypothesis import strategies as st
from op_record import OpRecord
from test_primitives import RECORDS, _matrices

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import lax, nn
from funcgrad._src.lax import ALL_PRIMITIVES
from funcgrad._src.lax import elementwise as ew

F32 = np.dtype(np.float32)
_ELEMENTWISE = set(ew.UNARY_UFUNCS) | set(ew.BINARY_UFUNCS) | {"select"}


def _full_rank(d, square=False):
    """A well-conditioned matrix (distinct singular values): decompositions' derivatives exist."""
    a = _matrices(d, square=square)
    m, n = a.shape[-2:]
    # a dominant diagonal 4 max(m, n) * (1, 2, 3...): well separated singular values
    return (a + 4 * max(m, n) * np.eye(m, n) * np.arange(1, n + 1)).astype(a.dtype)


def _symmetric(d):
    a = _matrices(d, spd=True)
    m = a.shape[-1]
    return (a + 8 * np.diag(np.arange(m))).astype(a.dtype)  # distinct eigenvalues


_DECOMPOSITIONS = [
    OpRecord("eigh", lambda d: ([_symmetric(d)], {"lower": True}), None),
    OpRecord("qr", lambda d: ([_full_rank(d)], {"full_matrices": False}), None),
    OpRecord("svd", lambda d: ([_full_rank(d)], {"full_matrices": False,
                                                "compute_uv": d.draw(st.booleans())}), None),
]  # fmt: skip
# iota has no operands: nothing to differentiate or batch.
DIFF_RECORDS = [r for r in RECORDS if r.name != "iota"] + _DECOMPOSITIONS


def _float32_dtypes(original):
    """``test_primitives.dtypes`` drawing float32 wherever a float dtype is allowed."""

    def dtypes(kinds="biufc", exclude=()):
        return st.just(F32) if "f" in kinds else original(kinds, exclude)

    return dtypes


def _draw_float32(record, data):
    original = test_primitives.dtypes
    test_primitives.dtypes = _float32_dtypes(original)
    try:
        return record.draw(data)
    finally:
        test_primitives.dtypes = original


def _weights(x) -> np.ndarray:
    """Fixed, distinct cotangent weights for an output (so that grads are not all ones)."""
    n = int(np.prod(x.shape, dtype=np.int64))
    return np.linspace(0.5, 1.5, max(n, 1))[:n].reshape(x.shape).astype(x.dtype)


def _close(what, actual, expected, rtol=2e-3):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    finite = np.isfinite(expected)
    scale = float(np.max(np.abs(expected[finite]), initial=1.0)) if expected.size else 1.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, equal_nan=True,
                               err_msg=what)  # fmt: skip


def check_modes(name, fun, diff_args, constants_ok=True):
    """``fun(*diff_args)`` (a list of outputs) through every differentiation route.

    Eager outputs give the expected dtypes; gradients of ``sum(out * w)`` must have their
    argument's dtype and shape in every route and agree in value; jvp and linearize tangents
    must have their output's dtype.
    """
    del constants_ok
    with np.errstate(all="ignore"):
        outs = fun(*diff_args)
    float_outs = [i for i, o in enumerate(outs) if o.dtype.kind == "f"]
    weights = {i: fnp.asarray(_weights(outs[i])) for i in float_outs}
    # jit gives the same outputs as eager
    with np.errstate(all="ignore"):
        jitted = funcgrad.jit(fun)(*diff_args)
    for i, (o, j) in enumerate(zip(outs, jitted)):
        _close(f"{name}: jit output {i}", j, o)
    if not float_outs or not diff_args:
        return

    def scalar(*xs):
        ys = fun(*xs)
        return sum((fnp.sum(ys[i] * weights[i]) for i in float_outs), 0.0)

    argnums = tuple(range(len(diff_args)))
    with np.errstate(all="ignore"):
        eager = funcgrad.grad(scalar, argnums)(*diff_args)
        jit_grad = funcgrad.jit(funcgrad.grad(scalar, argnums))(*diff_args)
        stacked = [fnp.stack([x, x]) for x in diff_args]
        vmapped = funcgrad.vmap(funcgrad.grad(scalar, argnums))(*stacked)
    for k, (x, g) in enumerate(zip(diff_args, eager)):
        assert (g.shape, g.dtype) == (x.shape, x.dtype), (
            f"{name}: eager grad of argument {k} is {g.dtype}{list(g.shape)}, "
            f"the argument {x.dtype}{list(x.shape)}"
        )
        _close(f"{name}: jit(grad) argument {k}", jit_grad[k], g)
        for b in range(2):
            _close(f"{name}: vmap(grad) argument {k} row {b}", vmapped[k][b], g)

    rng = np.random.default_rng(0)
    tangents = tuple(fnp.asarray(rng.uniform(-1, 1, x.shape).astype(x.dtype)) for x in diff_args)
    with np.errstate(all="ignore"):
        primal_out, tangent_out = funcgrad.jvp(lambda *xs: fun(*xs), diff_args, tangents)
        lin_out, f_jvp = funcgrad.linearize(lambda *xs: fun(*xs), *diff_args)
        lin_tangent = f_jvp(*tangents)
    for i in float_outs:
        _close(f"{name}: jvp primal output {i}", primal_out[i], outs[i])
        _close(f"{name}: linearize primal output {i}", lin_out[i], outs[i])
        _close(f"{name}: jvp tangent {i} (dtype of its output)", tangent_out[i],
               np.asarray(lin_tangent[i]).astype(outs[i].dtype))  # fmt: skip
        _close(f"{name}: linearize tangent {i}", lin_tangent[i], tangent_out[i])


@pytest.mark.parametrize("record", DIFF_RECORDS, ids=lambda r: r.name)
@given(data=st.data())
@settings(max_examples=5)
def test_primitive_dtypes_agree_across_differentiation_routes(record, data):
    operands, params = _draw_float32(record, data)
    params = {k: v for k, v in params.items() if k != "_spec"}
    prim = ALL_PRIMITIVES[record.name]
    args = []
    for i, x in enumerate(operands):
        if (
            record.name in _ELEMENTWISE
            and isinstance(x, np.ndarray)
            and x.ndim == 0
            and x.dtype == F32
            and i > 0
            and data.draw(st.booleans(), label=f"x{i} literal")
        ):
            x = float(x)  # a Python-scalar constant: weak, never differentiated
        args.append(fnp.asarray(x) if isinstance(x, np.ndarray) else x)
    diff = [
        i
        for i, a in enumerate(args)
        if getattr(a, "dtype", None) == F32 and i not in record.nondiff
    ]

    def fun(*xs):
        full = list(args)
        for i, x in zip(diff, xs):
            full[i] = x
        return prim.bind(*full, **params)

    check_modes(record.name, fun, [args[i] for i in diff])


# --- composites: funcgrad.numpy / lax / nn functions with Python-scalar constants -------

_X = np.linspace(-0.9, 0.8, 12).reshape(3, 4).astype(np.float32)
_POS = (np.abs(_X) + 0.5).astype(np.float32)
_SPD = (_X[:, :3].T @ _X[:, :3] + 3 * np.eye(3)).astype(np.float32)

COMPOSITES = {
    "mse_of_matmul": (lambda w: fnp.mean((fnp.asarray(_X) @ w - 1.0) ** 2), [_X[0]]),
    "sgd_step_with_lr": (lambda p: p - (0.01 * 0.5) * p, [_X]),
    "arctan2_literal": (lambda x: fnp.arctan2(x, 2.0), [_X]),
    "arctan2_literal_first": (lambda x: fnp.arctan2(2.0, x), [_X]),
    "hypot_literal": (lambda x: fnp.hypot(x, 1.5), [_X]),
    "power_int": (lambda x: x**2, [_X]),
    "power_float": (lambda x: x**0.5, [_POS]),
    "power_literal_base": (lambda x: 2.0**x, [_X]),
    "power_zero": (lambda x: x**0.0, [_X]),
    "integer_pow": (lambda x: lax.integer_pow(x, -3), [_POS]),
    "remainder": (lambda x: fnp.remainder(x, 0.7), [_X]),
    "fmod_literal_first": (lambda x: fnp.fmod(2.5, x), [_POS]),
    "maximum_literal": (lambda x: fnp.maximum(x, 0.1), [_X]),
    "clip": (lambda x: fnp.clip(x, -0.5, 0.5), [_X]),
    "where_literal": (lambda x: fnp.where(x > 0, x, 0.5), [_X]),
    "logaddexp_literal": (lambda x: fnp.logaddexp(x, 1.0), [_X]),
    "mean": (lambda x: fnp.mean(x, axis=0), [_X]),
    "var": (lambda x: fnp.var(x, axis=1, ddof=1), [_X]),
    "std": (lambda x: fnp.std(x), [_X]),
    "norm": (lambda x: fnp.linalg.norm(x, axis=1), [_X]),
    "cumsum": (lambda x: fnp.cumsum(x * 3.0, axis=1), [_X]),
    "sort": (lambda x: fnp.sort(x, axis=0), [_X]),
    "take": (lambda x: fnp.take(x, np.array([2, 0]), axis=1), [_X]),
    "einsum": (lambda x: fnp.einsum("ij,kj->ik", x, x), [_X]),
    "softmax": (lambda x: nn.softmax(x / 0.5), [_X]),
    "log_softmax": (lambda x: nn.log_softmax(x), [_X]),
    "logsumexp": (lambda x: nn.logsumexp(x, axis=1), [_X]),
    "relu": (lambda x: nn.relu(x - 0.1), [_X]),
    "gelu": (lambda x: nn.gelu(x), [_X]),
    "sigmoid": (lambda x: nn.sigmoid(x), [_X]),
    "softplus": (lambda x: nn.softplus(x), [_X]),
    "silu": (lambda x: nn.silu(x), [_X]),
    "elu": (lambda x: nn.elu(x, 0.5), [_X]),
    "leaky_relu": (lambda x: nn.leaky_relu(x, 0.2), [_X]),
    "abs": (lambda x: fnp.abs(x), [_X]),
    "det": (lambda a: fnp.linalg.det(a), [_SPD]),
    "slogdet": (lambda a: fnp.linalg.slogdet(a)[1], [_SPD]),
    "inv": (lambda a: fnp.linalg.inv(a), [_SPD]),
    "solve": (lambda a: fnp.linalg.solve(a, fnp.ones(3, dtype=fnp.float32)), [_SPD]),
    "eigh": (lambda a: fnp.linalg.eigh(a)[0], [_SPD]),
    "cholesky": (lambda a: fnp.linalg.cholesky(a), [_SPD]),
    "svd_values": (lambda a: fnp.linalg.svd(a, compute_uv=False), [_X]),
    "two_args_scaled": (lambda x, y: x * 0.5 + y / 3.0, [_X, _POS]),
}


@pytest.mark.parametrize("name", sorted(COMPOSITES))
def test_composite_dtypes_agree_across_differentiation_routes(name):
    fn, inputs = COMPOSITES[name]
    check_modes(name, lambda *xs: [fn(*xs)], [fnp.asarray(x) for x in inputs])


def test_weak_jit_argument_keeps_float32():
    p = fnp.ones(3, dtype=fnp.float32)
    out = funcgrad.jit(lambda p, lr: p - (lr * 0.5) * p)(p, 0.01)
    assert out.dtype == F32
    np.testing.assert_allclose(np.asarray(out), np.full(3, 0.995, np.float32))
    g = funcgrad.jit(funcgrad.grad(lambda p, lr: fnp.sum(p**2 * lr)))(p, 0.5)
    assert g.dtype == F32


def test_integer_pow_of_integers_with_a_negative_exponent_raises_like_jax():
    with pytest.raises(TypeError, match="integer_pow: integers cannot be raised to a negative"):
        lax.integer_pow(fnp.arange(1, 4, dtype=fnp.int32), -1)
    assert lax.integer_pow(fnp.arange(1, 4, dtype=fnp.int32), 2).dtype == np.int32
