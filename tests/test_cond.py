"""cond and switch against Python branches: values, jvp, grad (check_grads, order 2), vmap
with batched and unbatched predicates (against a loop), jit (one trace for both outcomes),
nesting, closures, pytrees, error messages, and that the staged programs typecheck."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import counting

import funcgrad
import funcgrad.numpy as fnp
from funcgrad._src.control_flow import cond, cond_p, switch
from funcgrad._src.ir import ClosedJaxpr, typecheck
from funcgrad.test_util import check_grads
from funcgrad.tree_util import tree_leaves


def assert_close(actual, expected, rtol=1e-7, atol=1e-12):
    if isinstance(expected, (list, float, int)):  # a list of numbers: one array
        expected = np.asarray(expected)
    a_leaves, e_leaves = tree_leaves(actual), tree_leaves(expected)
    assert len(a_leaves) == len(e_leaves)
    for a, e in zip(a_leaves, e_leaves):
        a, e = np.asarray(a), np.asarray(e)
        assert a.shape == e.shape, (a.shape, e.shape)
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol)


def typecheck_all(closed: ClosedJaxpr) -> int:
    """Typecheck a program and (recursively) every branch of its cond equations; returns
    the number of cond equations met."""
    typecheck(closed)
    found = 0
    for eqn in closed.jaxpr.eqns:
        for value in eqn.params.values():
            subs = value if isinstance(value, tuple) else (value,)
            for sub in subs:
                if isinstance(sub, ClosedJaxpr):
                    found += typecheck_all(sub)
        found += eqn.primitive is cond_p
    return found


# Branch pairs: (true_fun, false_fun) of one array, smooth on all of R.
BRANCHES = {
    "sin_cube": (lambda v: fnp.sin(v) * v, lambda v: v**3),
    "exp_const": (lambda v: fnp.exp(v), lambda v: fnp.zeros_like(v) + 2.0),  # a constant branch
    "reduce_shape": (lambda v: fnp.tanh(v) * fnp.sum(v), lambda v: v * fnp.prod(v)),
    "ignore_input": (lambda v: v * 0.0 + 1.5, lambda v: fnp.cos(v)),
}


def python_cond(pred, t, f, *ops):
    return t(*ops) if pred else f(*ops)


def _data(seed, shape):
    return fnp.asarray(np.random.default_rng(seed).uniform(-2.0, 2.0, shape))


# --- values ---------------------------------------------------------------------------


@settings(max_examples=20)
@given(name=st.sampled_from(sorted(BRANCHES)), pred=st.booleans(), seed=st.integers(0, 2**16),
       shape=st.sampled_from([(), (3,), (2, 3), (0,)]))  # fmt: skip
def test_cond_values(name, pred, seed, shape):
    t, f = BRANCHES[name]
    x = _data(seed, shape)
    assert_close(cond(pred, t, f, x), python_cond(pred, t, f, x))
    assert_close(cond(fnp.asarray(pred), t, f, x), python_cond(pred, t, f, x))


@pytest.mark.parametrize("pred", [0, 1, -3, np.int8(2), np.bool_(False), np.uint8(0)])
def test_cond_integer_and_numpy_predicates(pred):
    x = fnp.asarray(3.0)
    out = cond(pred, lambda v: v + 1, lambda v: v - 1, x)
    assert float(out) == (4.0 if pred else 2.0)


@pytest.mark.parametrize("index", [-5, -1, 0, 1, 2, 3, 100, np.int64(2**40), np.uint8(1)])
def test_switch_values_and_clamping(index):
    branches = [lambda v: v + 1, lambda v: v * 2, lambda v: -v]
    x = fnp.asarray([1.0, -2.0])
    expected = branches[min(max(int(index), 0), 2)](x)
    assert_close(switch(index, branches, x), expected)
    assert_close(funcgrad.jit(lambda i, v: switch(i, branches, v))(index, x), expected)


def test_switch_single_branch_calls_it():
    assert float(switch(5, [lambda v: v * 3], fnp.asarray(2.0))) == 6.0


def test_pytree_operands_and_outputs():
    params = {"w": fnp.asarray([1.0, 2.0]), "b": fnp.asarray(0.5)}
    xs = (fnp.asarray([3.0, 4.0]), None)

    def t(p, xs):
        return {"out": p["w"] * xs[0] + p["b"], "aux": (p["b"], fnp.asarray(1))}

    def f(p, xs):
        return {"out": p["w"] - xs[0], "aux": (p["b"] * 2, fnp.asarray(7))}

    for pred in (True, False):
        out = cond(pred, t, f, params, xs)
        expected = (t if pred else f)(params, xs)
        assert set(out) == {"out", "aux"} and isinstance(out["aux"], tuple)
        assert_close(out, expected)
        assert out["aux"][1].dtype == expected["aux"][1].dtype


def test_no_operands_and_closures_over_arrays():
    a, b = fnp.asarray([1.0, 2.0]), fnp.asarray([10.0, 20.0])
    assert_close(cond(True, lambda: a * 2, lambda: b + 1), a * 2)
    assert_close(cond(False, lambda: a * 2, lambda: b + 1), b + 1)
    # branches closing over different arrays, plus operands
    x = fnp.asarray(3.0)
    assert_close(switch(1, [lambda v: a * v, lambda v: b - v, lambda v: a + b + v], x), b - 3.0)


def test_weak_scalar_output_takes_the_other_branchs_dtype():
    x = fnp.asarray([1.0, 2.0], dtype=np.float32)
    for pred in (True, False):
        out = cond(pred, lambda v: v * 2, lambda v: fnp.zeros_like(v) + 0.0, x)
        assert out.dtype == np.float32
        out = cond(pred, lambda v: fnp.sum(v), lambda v: 0.0, x)
        assert out.dtype == np.float32 and float(out) == (3.0 if pred else 0.0)


def test_nested_cond():
    def f(x, p, q):
        return cond(p, lambda v: cond(q, lambda u: u * 2, lambda u: u + 100, v) ** 2,
                    lambda v: fnp.sin(v), x)  # fmt: skip

    def ref(x, p, q):
        return ((x * 2 if q else x + 100) ** 2) if p else np.sin(x)

    x = fnp.asarray(1.5)
    for p in (True, False):
        for q in (True, False):
            assert_close(f(x, p, q), ref(1.5, p, q))
            assert_close(funcgrad.jit(f)(x, p, q), ref(1.5, p, q))
            g = 8 * 1.5 if p and q else 2 * (101.5) if p else np.cos(1.5)
            assert_close(funcgrad.grad(f)(x, p, q), g)
            check_grads(lambda v, p=p, q=q: f(v, p, q), (x,), order=2)


# --- differentiation -------------------------------------------------------------------


@settings(max_examples=10)
@given(name=st.sampled_from(sorted(BRANCHES)), pred=st.booleans(), seed=st.integers(0, 2**16),
       shape=st.sampled_from([(), (3,)]))  # fmt: skip
def test_check_grads_order_2(name, pred, seed, shape):
    t, f = BRANCHES[name]
    x = _data(seed, shape)
    check_grads(lambda v: cond(pred, t, f, v), (x,), order=2)
    check_grads(funcgrad.jit(lambda v: cond(pred, t, f, v)), (x,), order=2)


def test_grad_matches_python_branches():
    def f(x, y):
        return cond(fnp.sum(x) > 0, lambda a, b: fnp.sum(fnp.sin(a) * b),
                    lambda a, b: fnp.sum(a * a) - fnp.sum(b), x, y)  # fmt: skip

    y = fnp.asarray([0.5, -1.0])
    for x_np in ([1.0, 2.0], [-1.0, -3.0]):
        x = fnp.asarray(x_np)
        gx, gy = funcgrad.grad(f, argnums=(0, 1))(x, y)
        if sum(x_np) > 0:
            ex, ey = np.cos(x_np) * np.asarray(y), np.sin(x_np)
        else:
            ex, ey = 2 * np.asarray(x_np), -np.ones(2)
        assert_close(gx, ex)
        assert_close(gy, ey)
        for g in (
            funcgrad.jit(funcgrad.grad(f, argnums=(0, 1))),
            funcgrad.grad(funcgrad.jit(f), argnums=(0, 1)),
        ):
            assert_close(g(x, y), (ex, ey))


def test_grad_through_closure_over_differentiated_value():
    def f(x, y):
        return cond(x > 0, lambda v: v * y**2, lambda v: v + fnp.sin(y), x)

    y = fnp.asarray(0.7)
    for x in (fnp.asarray(2.0), fnp.asarray(-2.0)):
        gy = funcgrad.grad(f, argnums=1)(x, y)
        expected = 2 * float(x) * 0.7 if float(x) > 0 else np.cos(0.7)
        assert_close(gy, expected)
        assert_close(funcgrad.jit(funcgrad.grad(f, argnums=1))(x, y), expected)
        check_grads(lambda y, x=x: f(x, y), (y,), order=2)


def test_jvp_matches_python_branches():
    t, f = BRANCHES["sin_cube"]
    x, dx = fnp.asarray([0.3, -1.2]), fnp.asarray([1.0, 0.5])
    for pred in (True, False):
        y, dy = funcgrad.jvp(lambda v, pred=pred: cond(pred, t, f, v), (x,), (dx,))
        xn, dxn = np.asarray(x), np.asarray(dx)
        ey = np.sin(xn) * xn if pred else xn**3
        edy = (np.cos(xn) * xn + np.sin(xn)) * dxn if pred else 3 * xn**2 * dxn
        assert_close(y, ey)
        assert_close(dy, edy)


def test_switch_grad_and_integer_outputs():
    branches = [lambda v: (v**2, fnp.asarray(0)), lambda v: (fnp.exp(v), fnp.asarray(1)),
                lambda v: (v * 0.0 + 4.0, fnp.asarray(2))]  # fmt: skip

    def f(i, x):
        y, k = switch(i, branches, x)
        return fnp.sum(y) + k

    x = fnp.asarray([0.5, 1.5])
    for i, expected in (
        (0, 2 * np.asarray(x)),
        (1, np.exp(np.asarray(x))),
        (2, np.zeros(2)),
        (9, np.zeros(2)),
    ):
        assert_close(funcgrad.grad(f, argnums=1)(i, x), expected)
        assert_close(funcgrad.grad(funcgrad.jit(f), argnums=1)(i, x), expected)
        check_grads(lambda v, i=i: f(i, v), (x,), order=2)


def test_grad_with_integer_operand():
    def f(x, n):
        return cond(n > 2, lambda v, m: v * m, lambda v, m: v**2 + m, x, n)

    x = fnp.asarray(3.0)
    assert float(funcgrad.grad(f)(x, fnp.asarray(5))) == 5.0
    assert float(funcgrad.grad(f)(x, fnp.asarray(1))) == 6.0


def test_linear_transpose_of_cond():
    def lin(v, p):
        return cond(p, lambda u: 3.0 * u[::-1], lambda u: u - 2.0 * u, v)

    ct = fnp.asarray([1.0, 2.0, 5.0])
    for p, expected in ((True, [15.0, 6.0, 3.0]), (False, [-1.0, -2.0, -5.0])):
        (out,) = funcgrad.linear_transpose(lambda v, p=p: lin(v, p), fnp.zeros(3))(ct)
        assert_close(out, expected)


# --- vmap -----------------------------------------------------------------------------


@settings(max_examples=15)
@given(name=st.sampled_from(sorted(BRANCHES)), seed=st.integers(0, 2**16),
       batched_pred=st.booleans(), x_axis=st.sampled_from([0, 1, None]))  # fmt: skip
def test_vmap_against_loop(name, seed, batched_pred, x_axis):
    if x_axis is None and not batched_pred:
        x_axis = 0  # something must be batched
    t, f = BRANCHES[name]
    rng = np.random.default_rng(seed)
    n = 4
    preds = rng.integers(0, 2, n).astype(bool)
    if not batched_pred:
        preds[:] = preds[0]
    x = fnp.asarray(rng.uniform(-2, 2, (n, 3) if x_axis != 1 else (3, n)))

    def one(p, v):
        return cond(p, t, f, v)

    p_arg = fnp.asarray(preds) if batched_pred else bool(preds[0])
    out = funcgrad.vmap(one, in_axes=(0 if batched_pred else None, x_axis))(p_arg, x)
    rows = [x if x_axis is None else (x[i] if x_axis == 0 else x[:, i]) for i in range(n)]
    expected = np.stack([np.asarray(python_cond(preds[i], t, f, rows[i])) for i in range(n)])
    assert_close(out, expected)
    # and the gradient of each example
    g = funcgrad.vmap(
        funcgrad.grad(lambda p, v: fnp.sum(one(p, v)), argnums=1),
        in_axes=(0 if batched_pred else None, x_axis),
    )(p_arg, x)
    g_loop = np.stack([np.asarray(funcgrad.grad(lambda v, i=i: fnp.sum(python_cond(preds[i], t, f, v)))(rows[i]))
                       for i in range(n)])  # fmt: skip
    assert_close(g, g_loop)


def test_vmap_batched_switch_index_with_pytrees():
    branches = [lambda d: {"a": d["x"] + 1, "b": fnp.asarray(0)},
                lambda d: {"a": d["x"] * d["y"], "b": fnp.asarray(1)},
                lambda d: {"a": fnp.sin(d["x"]), "b": fnp.asarray(2)}]  # fmt: skip
    idx = fnp.asarray([2, 0, 1, 7, -1])
    xs = fnp.asarray(np.linspace(-1, 1, 5))
    y = fnp.asarray(3.0)
    out = funcgrad.vmap(lambda i, x: switch(i, branches, {"x": x, "y": y}))(idx, xs)
    for k in range(5):
        i = min(max(int(idx[k]), 0), 2)
        e = branches[i]({"x": xs[k], "y": y})
        assert_close(out["a"][k], e["a"])
        assert int(out["b"][k]) == i
    out = funcgrad.jit(funcgrad.vmap(lambda i, x: switch(i, branches, {"x": x, "y": y})))(idx, xs)
    assert [int(b) for b in out["b"]] == [2, 0, 1, 2, 0]


def test_vmap_unbatched_pred_with_one_unbatched_branch():
    # the true branch ignores the batched operand: its output is batched by broadcasting
    c = fnp.asarray([1.0, 2.0])
    xs = fnp.asarray([[3.0, 4.0], [5.0, 6.0], [7.0, 8.0]])
    for p in (True, False):
        out = funcgrad.vmap(lambda x, p=p: cond(p, lambda v: c * 2, lambda v: v + c, x))(xs)
        expected = np.tile([2.0, 4.0], (3, 1)) if p else np.asarray(xs) + [1.0, 2.0]
        assert_close(out, expected)


def test_vmap_batched_pred_closing_over_batched_value():
    ys = fnp.asarray([1.0, -1.0, 2.0])
    xs = fnp.asarray([0.5, 0.6, 0.7])

    def f(x, y):
        return cond(y > 0, lambda v: v * y, lambda v: v - y, x)

    out = funcgrad.vmap(f)(xs, ys)
    assert_close(out, [0.5, 1.6, 1.4])


# --- jit ------------------------------------------------------------------------------


def test_jit_one_trace_serves_both_outcomes():
    @counting
    def f(x):
        return cond(fnp.sum(x) > 0, lambda v: v * 2, lambda v: -v, x)

    jf = funcgrad.jit(f)
    for xv in ([1.0, 2.0], [-1.0, -2.0], [3.0, 1.0], [-5.0, 0.0]):
        x = fnp.asarray(xv)
        expected = np.asarray(xv) * 2 if sum(xv) > 0 else -np.asarray(xv)
        assert_close(jf(x), expected)
    assert f.count == 1
    jaxpr = funcgrad.make_jaxpr(f)(fnp.asarray([1.0, 2.0]))
    assert typecheck_all(jaxpr) == 1


def test_branch_functions_traced_once_per_jit_trace():
    t = counting(lambda v: v + 1)
    fb = counting(lambda v: v - 1)
    jf = funcgrad.jit(lambda p, x: cond(p, t, fb, x))
    for p in (True, False, True, False):
        jf(p, fnp.asarray(1.0))
    assert t.count == 1 and fb.count == 1


def test_jit_closure_over_traced_value():
    @funcgrad.jit
    def f(x, y):
        return switch(fnp.argmax(x), [lambda: x * y, lambda: x + y, lambda: y - x])

    x, y = fnp.asarray([3.0, 1.0, 2.0]), fnp.asarray(2.0)
    assert_close(f(x, y), [6.0, 2.0, 4.0])
    assert_close(f(fnp.asarray([0.0, 5.0, 1.0]), y), [2.0, 7.0, 3.0])
    assert_close(f(fnp.asarray([0.0, 1.0, 5.0]), y), [2.0, 1.0, -3.0])


def test_programs_typecheck():
    def f(x, p):
        return fnp.sum(cond(p, lambda v: fnp.sin(v) * v, lambda v: v**3, x))

    x = fnp.asarray([0.5, 1.0])
    for fun in (f, funcgrad.grad(f), funcgrad.jit(funcgrad.grad(f)),
                lambda x, p: funcgrad.jvp(lambda v: f(v, p), (x,), (x,)),
                lambda x, p: funcgrad.vmap(f, in_axes=(0, None))(fnp.stack([x, x]), p),
                lambda x, p: funcgrad.vmap(lambda v, q: f(v, q))(fnp.stack([x, x]), fnp.asarray([True, False])),
                funcgrad.grad(lambda v, p: fnp.sum(funcgrad.grad(f)(v, p)))):  # fmt: skip
        typecheck_all(funcgrad.make_jaxpr(fun)(x, True))
    assert typecheck_all(funcgrad.make_jaxpr(funcgrad.grad(f))(x, True)) >= 2


# --- errors ---------------------------------------------------------------------------


def test_error_branch_output_shape_mismatch():
    x = fnp.ones(3)
    with pytest.raises(
        TypeError,
        match=r"cond: .*same types.*true_fun returns float64\[3\].*false_fun returns float64\[2\]|false_fun returns float64\[2\].*true_fun returns float64\[3\]",
    ):
        cond(True, lambda v: v, lambda v: v[:2], x)


def test_error_branch_output_dtype_mismatch_names_the_path():
    x = fnp.ones(3)
    with pytest.raises(
        TypeError, match=r"\['b'\].*float64\[3\].*int64\[3\]|\['b'\].*int64\[3\].*float64\[3\]"
    ):
        cond(True, lambda v: {"a": v, "b": v}, lambda v: {"a": v, "b": v.astype(np.int64)}, x)
    with pytest.raises(TypeError, match=r"switch: .*branches\[0\].*branches\[2\]"):
        switch(0, [lambda v: v, lambda v: v, lambda v: v.astype(np.float32)], x)


def test_error_branch_structure_mismatch():
    with pytest.raises(TypeError, match="same pytree structure"):
        cond(True, lambda v: (v, v), lambda v: [v, v], fnp.ones(2))
    with pytest.raises(TypeError, match="same pytree structure"):
        cond(True, lambda v: (v, v), lambda v: v, fnp.ones(2))


def test_error_non_scalar_or_float_predicate():
    with pytest.raises(TypeError, match=r"cond: pred must be a scalar.*shape \(2,\).*where"):
        cond(fnp.asarray([True, False]), lambda v: v, lambda v: v, fnp.ones(2))
    with pytest.raises(TypeError, match=r"cond: pred must be a scalar"):
        funcgrad.jit(lambda p, x: cond(p, lambda v: v, lambda v: v, x))(
            fnp.ones(2) > 0, fnp.ones(2)
        )
    with pytest.raises(
        TypeError, match=r"cond: pred must be a boolean or integer scalar, got float64"
    ):
        cond(1.0, lambda v: v, lambda v: v, fnp.ones(2))
    with pytest.raises(TypeError, match=r"switch: index must be an integer scalar, got float64"):
        switch(fnp.asarray(1.0), [lambda v: v, lambda v: v], fnp.ones(2))
    with pytest.raises(TypeError, match=r"switch: index must be a scalar"):
        switch(fnp.asarray([0, 1]), [lambda v: v, lambda v: v], fnp.ones(2))
    with pytest.raises(ValueError, match="branches is empty"):
        switch(0, [], fnp.ones(2))
    with pytest.raises(TypeError, match="true_fun must be callable"):
        cond(True, 3, lambda v: v, fnp.ones(2))
    with pytest.raises(TypeError, match="branches must return arrays"):
        cond(True, lambda v: "yes", lambda v: "no", fnp.ones(2))


def test_error_inside_a_branch_propagates():
    with pytest.raises(ValueError, match="boom"):
        cond(True, lambda v: v, lambda v: (_ for _ in ()).throw(ValueError("boom")), fnp.ones(2))


def test_grad_of_vmapped_cond():
    # the batching rule binds cond_p under eager reverse mode (the tape linearizes it)
    t, f = BRANCHES["sin_cube"]
    xs = fnp.asarray([[0.5, -1.0], [1.5, 0.3], [-0.7, 2.0]])
    preds = fnp.asarray([True, False, True])
    for in_p, p_arg in ((None, True), (None, False), (0, preds)):

        def loss(x, p_arg=p_arg, in_p=in_p):
            return fnp.sum(
                funcgrad.vmap(lambda p, v: cond(p, t, f, v), in_axes=(in_p, 0))(p_arg, x)
            )

        ps = np.broadcast_to(np.asarray(p_arg), (3,))
        xn = np.asarray(xs)
        expected = np.stack([np.cos(r) * r + np.sin(r) if q else 3 * r**2 for q, r in zip(ps, xn)])
        assert_close(funcgrad.grad(loss)(xs), expected)
        check_grads(loss, (xs,), order=2)


@pytest.mark.parametrize(
    "unknowns", [(False, True, False), (False, False, True), (True, False, False)]
)
def test_partial_eval_jaxpr_split_recombines(unknowns):
    # a program split by which inputs are known, then run as known part + unknown part,
    # gives the original outputs (the index unknown: the whole cond is unknown)
    from funcgrad._src.ir import eval_closed, partial_eval_jaxpr

    def f(i, x, y):
        return switch(i, [lambda a, b: (a * b, b), lambda a, b: (fnp.sin(a), a + b),
                          lambda a, b: (a + 1.0, fnp.ones_like(b))], x, y)  # fmt: skip

    args = [fnp.asarray(1), fnp.asarray([0.5, 2.0]), fnp.asarray([3.0, -1.0])]
    closed = funcgrad.make_jaxpr(f)(*args)
    split = partial_eval_jaxpr(closed, unknowns)
    typecheck_all(split.known)
    typecheck_all(split.unknown)
    for i in (0, 1, 2):
        args[0] = fnp.asarray(i)
        known = eval_closed(split.known, [a for a, u in zip(args, unknowns) if not u])
        n_known = len(known) - split.num_res
        unknown = eval_closed(
            split.unknown, [*known[n_known:], *(a for a, u in zip(args, unknowns) if u)]
        )
        k_it, u_it = iter(known[:n_known]), iter(unknown)
        outs = [next(u_it) if u else next(k_it) for u in split.out_unknowns]
        assert_close(tuple(outs), tuple(f(*args)))


@pytest.mark.parametrize("pred", [True, False])
def test_float32_grads_and_dtypes(pred):
    # (v * v * v, not v**3: pow's JVP with a Python exponent promotes float32 tangents to
    # float64, an engine issue outside cond)
    t, f = (lambda v: fnp.sin(v) * v, lambda v: v * v * v)
    x = fnp.asarray([0.3, -1.1, 0.8], dtype=np.float32)
    out = cond(pred, t, f, x)
    assert out.dtype == np.float32
    assert funcgrad.grad(lambda v: fnp.sum(cond(pred, t, f, v)))(x).dtype == np.float32
    check_grads(lambda v: cond(pred, t, f, v), (x,), order=2, atol=5e-2, rtol=5e-2)
