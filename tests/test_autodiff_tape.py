"""Eager reverse mode on the tape (interpreters/tape.py) against the general route.

``grad``, ``value_and_grad`` and ``vjp`` called eagerly record compiled per-primitive
linearizations on a tape; under another transformation they take the general route
(JVP + partial evaluation + transpose). Both must give the same numbers; the tape's
linearizations must keep symbolic zeros; cotangents that are not concrete (a vjp
function called under vmap) must still work.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import funcgrad
import funcgrad.numpy as fnp
from funcgrad._src import autodiff
from funcgrad._src.interpreters import tape

FUNCTIONS = {
    "tanh_x": lambda x, w: fnp.sum(fnp.tanh(x) * x * w),
    "relu_mlp": lambda x, w: fnp.sum(fnp.maximum(x[:, None] * w, 0.0) ** 2),
    "softmax_xent": lambda x, w: -fnp.sum(fnp.log(fnp.exp(x * w) / fnp.sum(fnp.exp(x * w)))[:2]),
    "indexing": lambda x, w: fnp.sum(x.at[1:].multiply(w[:-1]) ** 2) + x[0] * fnp.cumsum(w)[-1],
    "sort_and_where": lambda x, w: fnp.sum(fnp.sort(x * w) * fnp.arange(x.shape[0])) + fnp.sum(fnp.where(x > 0, w, x)),
    "matmul": lambda x, w: fnp.sum(fnp.outer(x, w) @ fnp.outer(w, x)),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@given(seed=st.integers(0, 2**31 - 1))
@settings(max_examples=10)
def test_tape_and_general_route_agree(name, seed):
    f = FUNCTIONS[name]
    rng = np.random.default_rng(seed)
    x, w = (fnp.asarray(rng.uniform(-2, 2, 4)) for _ in range(2))
    on_tape = autodiff._vjp_flat("test", f, [x, w], False)
    assert isinstance(on_tape, autodiff._TapeLinearized)
    general = autodiff._linearize_flat("test", f, [x, w], False)
    one = fnp.asarray(1.0)
    for a, b in zip(on_tape.transpose([one]), general.transpose([one])):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(on_tape.primal_outs[0]), np.asarray(general.primal_outs[0]))


def test_linearizations_are_cached_per_signature():
    f = lambda x: fnp.sum(fnp.sin(x) * x)
    g = funcgrad.grad(f)
    tape._cache.clear()
    g(fnp.ones(3))
    before = len(tape._cache)
    g(fnp.asarray([0.5, 1.5, 2.5]))  # same signature: nothing new
    assert len(tape._cache) == before
    g(fnp.ones(7))  # new shapes: new linearizations
    assert len(tape._cache) > before


def test_symbolic_zeros_on_the_tape():
    """Differentiating loss(W, x) w.r.t. W: the recorded matmul's transpose computes
    only W's cotangent (one dot_general), nothing for the data x."""
    W, x = fnp.ones((3, 2)), fnp.ones((5, 3))
    trace, _, _ = tape.linearize_on_tape(lambda W: fnp.sum(x @ W), [W], "test")
    (lin,) = [e[0] for e in trace.entries  # entries are (linearization, residuals, ...)
              if any(q.primitive.name == "dot_general" for q in e[0].known.closed.jaxpr.eqns)]  # fmt: skip
    t_jaxpr, _ = lin.transpose_program
    assert [e.primitive.name for e in t_jaxpr.eqns].count("dot_general") == 1
    assert len(lin.ct_inputs) == 1 and len(t_jaxpr.outvars) == 1
    assert t_jaxpr.outvars[0].aval.shape == (3, 2)


def test_vjp_function_under_vmap_and_jvp_uses_traced_cotangents():
    x = fnp.asarray([0.3, -1.2, 2.0])
    _, f_vjp = funcgrad.vjp(lambda v: fnp.tanh(v) * v, x)
    cts = fnp.asarray(np.eye(3))
    rows = funcgrad.vmap(lambda c: f_vjp(c)[0])(cts)
    expected = np.diag((1 - np.tanh(np.asarray(x)) ** 2) * np.asarray(x) + np.tanh(np.asarray(x)))
    np.testing.assert_allclose(np.asarray(rows), expected, rtol=1e-12)
    # the vjp function is linear: its own jvp is itself
    _, t = funcgrad.jvp(lambda c: f_vjp(c)[0], (cts[0],), (cts[1],))
    np.testing.assert_allclose(np.asarray(t), expected[1], rtol=1e-12)


def test_nested_and_mixed_transformations_leave_the_tape():
    f = lambda x: fnp.sin(x) * x
    x = fnp.asarray(0.7)
    second = funcgrad.grad(funcgrad.grad(f))(x)
    np.testing.assert_allclose(float(second), 2 * np.cos(0.7) - 0.7 * np.sin(0.7), rtol=1e-12)
    per_example = funcgrad.vmap(funcgrad.grad(f))(fnp.asarray([0.7, 0.1]))
    np.testing.assert_allclose(np.asarray(per_example), [np.sin(v) + v * np.cos(v) for v in (0.7, 0.1)])


def test_custom_rules_on_the_tape():
    @funcgrad.custom_jvp
    def f(x):
        return fnp.sin(x)

    f.defjvp(lambda p, t: (f(p[0]), 2.0 * t[0]))

    @funcgrad.custom_vjp
    def g(x, y):
        return x * y

    g.defvjp(lambda x, y: (x * y, (x, y)), lambda res, ct: (ct * 10.0, None))
    x = fnp.asarray(1.5)
    assert float(funcgrad.grad(f)(x)) == 2.0
    gx, gy = funcgrad.grad(lambda a, b: g(a, b) * 2.0, argnums=(0, 1))(x, fnp.asarray(3.0))
    assert (float(gx), float(gy)) == (20.0, 0.0)


def test_errors_on_the_tape_name_the_primitive():
    with pytest.raises(ValueError, match=r"dot_general: cannot contract shapes \(2, 3\) and \(2, 3\)"):
        funcgrad.grad(lambda a: fnp.sum(funcgrad.lax.dot_general(a, a, (((1,), (0,)), ((), ())))))(fnp.ones((2, 3)))
    leaked = []
    funcgrad.grad(lambda x: leaked.append(x) or x)(fnp.asarray(1.0))
    with pytest.raises(funcgrad.UnexpectedTracerError, match="grad"):
        fnp.sin(leaked[0])


def test_index_true_and_index_one_are_different_signatures():
    """``x[True]`` adds an axis, ``x[1]`` picks a row; equal as parameters (True == 1), they
    must not share a cached linearization."""
    x = fnp.asarray(np.arange(6.0).reshape(3, 2))
    g_one = funcgrad.grad(lambda v: fnp.sum(v[1] ** 2))(x)
    g_true = funcgrad.grad(lambda v: fnp.sum(v[True] ** 2))(x)
    np.testing.assert_array_equal(np.asarray(g_one), [[0, 0], [4, 6], [0, 0]])
    np.testing.assert_array_equal(np.asarray(g_true), 2 * np.arange(6.0).reshape(3, 2))
    g_one_again = funcgrad.grad(lambda v: fnp.sum(v[1] ** 2))(x)
    np.testing.assert_array_equal(np.asarray(g_one_again), np.asarray(g_one))
