"""jit: values against eager evaluation, the signature cache, static and donated
arguments, errors, composition with grad/vmap/jvp, generated code, debug.print."""

from __future__ import annotations

import functools
import itertools
import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import arrays, counting

import funcgrad
import funcgrad.numpy as fnp
from funcgrad._src.config import Config
from funcgrad._src.interpreters.jit import jit_p
from funcgrad._src.ir import ClosedJaxpr, typecheck
from funcgrad._src.jit import CacheMissWarning
from funcgrad.tree_util import tree_leaves, tree_map

pytestmark = pytest.mark.filterwarnings("ignore::funcgrad._src.jit.CacheMissWarning")


def assert_tree_close(actual, expected, rtol=1e-6, atol=1e-12):
    a_leaves, e_leaves = tree_leaves(actual), tree_leaves(expected)
    assert len(a_leaves) == len(e_leaves)
    for a, e in zip(a_leaves, e_leaves):
        a, e = np.asarray(a), np.asarray(e)
        assert a.shape == e.shape and a.dtype == e.dtype, (a.shape, a.dtype, e.shape, e.dtype)
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol)


# --- a small zoo of composite functions ---------------------------------------------------


def mlp_loss(params, x, y):
    h = x
    for layer in params[:-1]:
        h = fnp.tanh(h @ layer["w"] + layer["b"])
    logits = h @ params[-1]["w"] + params[-1]["b"]
    logp = logits - fnp.log(fnp.sum(fnp.exp(logits - fnp.max(logits, axis=1, keepdims=True)), axis=1,
                                    keepdims=True)) - fnp.max(logits, axis=1, keepdims=True)  # fmt: skip
    return -fnp.mean(fnp.sum(y * logp, axis=1))


def _mlp_data(seed=0):
    rng = np.random.default_rng(seed)
    sizes = [5, 7, 3]
    params = [{"w": fnp.asarray(rng.standard_normal((a, b))), "b": fnp.asarray(rng.standard_normal(b))}
              for a, b in zip(sizes, sizes[1:])]  # fmt: skip
    x = fnp.asarray(rng.standard_normal((4, 5)))
    y = fnp.asarray(np.eye(3)[rng.integers(0, 3, 4)])
    return params, x, y


ZOO = {
    "tanh_x": lambda x: fnp.sum(fnp.tanh(x) * x),
    "softmax_norm": lambda x: fnp.sum(fnp.exp(x - fnp.max(x)) / fnp.sum(fnp.exp(x - fnp.max(x))) * x),
    "structural": lambda x: fnp.sum(fnp.concatenate([x[::-1], x[1:] * 2.0]) ** 2) + fnp.prod(fnp.cos(x)),
    "where_relu": lambda x: fnp.sum(fnp.where(x > 0, x, 0.1 * x) ** 2),
    "cumsum_sort": lambda x: fnp.sum(fnp.cumsum(fnp.sort(x)) * fnp.arange(x.shape[0])),
    "outer": lambda x: fnp.sum(fnp.outer(x, fnp.sin(x)) @ x),
}


@pytest.mark.parametrize("name", sorted(ZOO))
@settings(max_examples=5)
@given(x=arrays(np.float64, st.integers(2, 6), min_value=-2, max_value=2))
def test_zoo_values_and_gradients(name, x):
    f = ZOO[name]
    x = fnp.asarray(x)
    assert_tree_close(funcgrad.jit(f)(x), f(x))
    g = funcgrad.grad(f)(x)
    assert_tree_close(funcgrad.jit(funcgrad.grad(f))(x), g)
    assert_tree_close(funcgrad.grad(funcgrad.jit(f))(x), g)
    assert_tree_close(funcgrad.jit(funcgrad.grad(funcgrad.jit(f)))(x), g)
    typecheck(funcgrad.make_jaxpr(funcgrad.grad(funcgrad.jit(f)))(x))


def test_composition_matrix_on_the_zoo():
    """grad, vmap, jit and jvp in orders of two and three agree with the eager result."""
    xs = fnp.asarray(np.linspace(-1.0, 1.5, 12).reshape(3, 4))
    v = fnp.asarray(np.linspace(0.5, 1.0, 4))
    for name in ("tanh_x", "structural", "where_relu"):
        f = ZOO[name]
        g = funcgrad.grad(f)
        eager = np.stack([np.asarray(g(row)) for row in xs])
        jvp_eager = np.stack([np.asarray(funcgrad.jvp(f, (row,), (v,))[1]) for row in xs])
        jit, vmap = funcgrad.jit, funcgrad.vmap
        for combo in (
            jit(vmap(g)), vmap(jit(g)), vmap(funcgrad.grad(jit(f))), jit(vmap(jit(g))),
            vmap(g), jit(vmap(funcgrad.grad(jit(f)))),
        ):  # fmt: skip
            np.testing.assert_allclose(np.asarray(combo(xs)), eager, rtol=1e-10, atol=1e-12)

        def jvp_of(fun):
            return lambda x: funcgrad.jvp(fun, (x,), (v,))[1]

        def inner_product(fun):
            return lambda x: fnp.sum(fun(x) * v)

        for combo in (jit(vmap(jvp_of(f))), vmap(jvp_of(jit(f))), vmap(jit(jvp_of(f)))):
            np.testing.assert_allclose(np.asarray(combo(xs)), jvp_eager, rtol=1e-10, atol=1e-12)
        # second order: grad of grad through jit, and jvp of grad
        x0 = xs[0]
        h = funcgrad.grad(inner_product(g))(x0)
        np.testing.assert_allclose(np.asarray(funcgrad.grad(inner_product(jit(g)))(x0)), np.asarray(h),
                                   rtol=1e-9, atol=1e-12)  # fmt: skip
        np.testing.assert_allclose(np.asarray(funcgrad.jvp(jit(g), (x0,), (v,))[1]), np.asarray(h), rtol=1e-9,
                                   atol=1e-12)  # fmt: skip


def test_mlp_step_values_gradients_and_pytrees():
    params, x, y = _mlp_data()

    @funcgrad.jit
    def step(params, x, y):
        loss, grads = funcgrad.value_and_grad(mlp_loss)(params, x, y)
        return tree_map(lambda p, g: p - 0.1 * g, params, grads), {"loss": loss}

    new_params, aux = step(params, x, y)
    loss, grads = funcgrad.value_and_grad(mlp_loss)(params, x, y)
    assert_tree_close(aux["loss"], loss)
    assert_tree_close(new_params, tree_map(lambda p, g: p - 0.1 * g, params, grads))
    assert isinstance(new_params, list) and set(new_params[0]) == {"w", "b"}


@pytest.mark.parametrize("dims", [
    (((), ()), ((0,), (0,))),  # per-example outer products
    (((), ()), ((), ())),  # plain outer product
    (((), ()), ((1,), (0,))),  # batch axis not in front
    (((1,), (0,)), ((), ())),  # matrix-vector
    (((0,), (0,)), ((), ())),  # transposed matrix-vector
])
def test_dot_general_special_cases_match_eager(dims):
    from funcgrad._src.lax.linalg import dot_general_p

    rng = np.random.default_rng(0)
    shapes = {
        (((), ()), ((0,), (0,))): ((4, 3), (4, 2)),
        (((), ()), ((), ())): ((3,), (2, 5)),
        (((), ()), ((1,), (0,))): ((3, 4), (4, 2)),
        (((1,), (0,)), ((), ())): ((3, 4), (4,)),
        (((0,), (0,)), ((), ())): ((4, 3), (4,)),
    }[dims]
    a, b = (fnp.asarray(rng.standard_normal(s)) for s in shapes)
    f = lambda a, b: dot_general_p.bind1(a * 1.0, b, dimension_numbers=dims)
    np.testing.assert_allclose(np.asarray(funcgrad.jit(f)(a, b)), np.asarray(f(a, b)), rtol=1e-12)
    assert "_dot_general" not in funcgrad.jit(f).lower(a, b).as_text()  # a direct kernel


def test_nested_jit_and_hessian_through_jit():
    f = ZOO["tanh_x"]
    inner = funcgrad.jit(f)
    outer = funcgrad.jit(lambda x: inner(x) * 2.0 + inner(x * 0.5))
    x = fnp.asarray([0.3, -0.7, 1.1])
    assert_tree_close(outer(x), f(x) * 2.0 + f(x * 0.5))
    printed = str(funcgrad.make_jaxpr(outer)(x))
    assert printed.count("jit[") == 3 and "tanh" in printed  # the inner programs are shown
    assert_tree_close(funcgrad.hessian(funcgrad.jit(f))(x), funcgrad.hessian(f)(x), rtol=1e-9)


def test_grad_of_jit_runs_two_compiled_calls():
    """Under grad the JVP program is split: the primal part runs as one jit call, the
    transposed linear part as another; nothing runs equation by equation outside."""
    f = funcgrad.jit(lambda x: fnp.sum(fnp.sin(x) * x))
    closed = funcgrad.make_jaxpr(funcgrad.grad(f))(fnp.ones(3))
    typecheck(closed)
    prims = [e.primitive for e in closed.eqns]
    assert prims == [jit_p, jit_p], prims
    known, transposed = (e.params["jaxpr"] for e in closed.eqns)
    assert "sin" in str(known) and "sin" not in str(transposed)


# --- calling conventions ------------------------------------------------------------------


def test_decorator_partial_kwargs_and_methods():
    @functools.partial(funcgrad.jit, static_argnames="mode")
    def f(x, y=2.0, *, mode="add"):
        return x + y if mode == "add" else x * y

    x = fnp.asarray([1.0, 2.0])
    assert f(x).tolist() == [3.0, 4.0]
    assert f(x, y=fnp.asarray(3.0)).tolist() == [4.0, 5.0]
    assert f(y=fnp.asarray(3.0), x=x, mode="mul").tolist() == [3.0, 6.0]

    class Model:
        scale = 3.0

        @functools.partial(funcgrad.jit, static_argnums=0)  # self: a hashable Python value
        def apply(self, x):
            return x * self.scale

    assert Model().apply(x).tolist() == [3.0, 6.0]
    g = funcgrad.jit(static_argnums=1)(lambda x, n: x**n)  # jit(**options) as a decorator
    assert g(x, 3).tolist() == [1.0, 8.0]


def test_cache_hits_and_misses():
    f = counting(lambda x, y: x * y)
    jf = funcgrad.jit(f)
    a, b = fnp.ones((3, 4)), fnp.ones((3, 4))
    jf(a, b)
    jf(a, b)
    jf(fnp.zeros((3, 4)), b)  # same signature, other values: no trace
    assert f.count == 1
    jf(fnp.ones((5, 4)), fnp.ones((5, 4)))  # shape
    assert f.count == 2
    jf(a.astype(fnp.float32), b.astype(fnp.float32))  # dtype
    assert f.count == 3
    jf(a, 2.0)  # a Python scalar is weakly typed: its own signature
    jf(a, 3.0)
    assert f.count == 4
    jf(a, fnp.asarray(2.0))  # a 0-d array is not weak
    assert f.count == 5
    g = counting(lambda t: t["x"] + t["y"][0])
    jg = funcgrad.jit(g)
    jg({"x": a, "y": [b]})
    jg({"x": a, "y": [b]})
    jg({"x": a, "y": (b,)})  # pytree structure
    assert g.count == 2
    assert jf._cache_size() == 5
    jf.clear_cache()
    jf(a, b)
    assert f.count == 6


def test_static_arguments():
    f = counting(lambda x, n, scale=1.0: x**n * scale)
    jf = funcgrad.jit(f, static_argnums=(1,), static_argnames=("scale",))
    x = fnp.asarray([2.0, 3.0])
    assert jf(x, 2).tolist() == [4.0, 9.0]
    assert jf(x, 2).tolist() == [4.0, 9.0]
    assert f.count == 1
    assert jf(x, 3, scale=2.0).tolist() == [16.0, 54.0]
    assert jf(x, n=3, scale=2.0).tolist() == [16.0, 54.0]
    assert f.count == 2
    with pytest.raises(TypeError, match=r"jit of <lambda>: static argument 'n' is unhashable \(list"):
        jf(x, [1, 2])
    neg = funcgrad.jit(lambda x, flag: x if flag else -x, static_argnums=-1)
    assert neg(x, False).tolist() == [-2.0, -3.0]


def test_closures_are_constants_and_closed_over_tracers_are_inputs():
    w = fnp.asarray([1.0, 2.0, 3.0])
    f = funcgrad.jit(lambda x: fnp.sum(x * w))
    assert float(f(fnp.ones(3))) == 6.0
    assert len(funcgrad.make_jaxpr(lambda x: fnp.sum(x * w))(fnp.ones(3)).consts) == 1

    def outer(a):
        inner = funcgrad.jit(lambda x: fnp.sum(x * a))  # closes over grad's tracer
        return inner(fnp.ones(3)) * a[0]

    a = fnp.asarray([2.0, 3.0, 4.0])
    expected = funcgrad.grad(lambda a: fnp.sum(fnp.ones(3) * a) * a[0])(a)
    assert_tree_close(funcgrad.grad(outer)(a), expected)
    assert_tree_close(funcgrad.jit(funcgrad.grad(outer))(a), expected)


def test_donated_arguments_are_reused_and_invalidated():
    def update(w, g):
        return w - 0.5 * g

    jitted = funcgrad.jit(update, donate_argnums=0)
    w, g = fnp.asarray(np.arange(4.0)), fnp.ones(4)
    source = jitted.lower(fnp.zeros(4), g).as_text()
    assert "out=x0" in source  # the donated buffer receives the result
    address = w._buffer.__array_interface__["data"][0]
    new = jitted(w, g)
    assert new.tolist() == [-0.5, 0.5, 1.5, 2.5]
    assert new._buffer.__array_interface__["data"][0] == address  # written in place
    with pytest.raises(RuntimeError, match="donated to jit of update"):
        w + 1
    # not donated: the input stays intact and is never an out= target
    plain = funcgrad.jit(update)
    w2 = fnp.asarray(np.arange(4.0))
    assert "out=x0" not in plain.lower(w2, g).as_text()
    plain(w2, g)
    assert w2.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_donation_never_changes_another_array():
    jitted = funcgrad.jit(lambda w, g: w - g, donate_argnums=0)
    base = fnp.asarray(np.arange(6.0))
    view = base.reshape(2, 3)  # shares base's memory
    out = jitted(base, fnp.ones(6))
    assert out.tolist() == [-1.0, 0.0, 1.0, 2.0, 3.0, 4.0]
    assert view.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    x = fnp.asarray(np.arange(3.0))
    assert jitted(x, x).tolist() == [0.0, 0.0, 0.0]  # donated and also read: copied first
    y = fnp.asarray([5.0, 6.0])
    z = y  # another name, same array: donation deletes it for both
    jitted(y, fnp.ones(2))
    with pytest.raises(RuntimeError, match="donated"):
        z.tolist()


# --- errors ---------------------------------------------------------------------------------


def test_python_control_flow_on_a_traced_value_names_the_argument():
    def train_step(params, x):
        if fnp.sum(x) > 0:
            return x
        return -x

    f = funcgrad.jit(train_step)
    with pytest.raises(funcgrad.ConcretizationError) as info:
        f({"w": fnp.ones(2)}, fnp.ones(3, dtype=fnp.float32))
    message = str(info.value)
    assert "in train_step, bool() of a traced value derived from argument 'x' (float32[3])" in message
    assert "static_argnums" in message and "lax.cond" in message
    with pytest.raises(funcgrad.ConcretizationError, match=r"argument 'params'\['w'\] \(float64\[2\]\)"):
        funcgrad.jit(lambda params: float(params["w"][0]))({"w": fnp.ones(2)})


def test_non_array_results_and_arguments():
    with pytest.raises(TypeError, match=r"returned a str at output\[1\].*only arrays"):
        funcgrad.jit(lambda x: (x, "done"))(fnp.ones(2))
    with pytest.raises(TypeError, match=r"argument 'mode' is a str.*static_argnums"):
        funcgrad.jit(lambda x, mode: x)(fnp.ones(2), "fast")


def test_leaked_tracer_gives_the_escaped_tracer_error():
    leaked = []

    @funcgrad.jit
    def f(x):
        leaked.append(x)
        return x * 2

    f(fnp.ones(2))
    with pytest.raises(funcgrad.UnexpectedTracerError, match="escaped"):
        fnp.sin(leaked[0])


def test_recompile_explanations(monkeypatch):
    def train_step(x, n):
        return x * n

    f = funcgrad.jit(train_step, static_argnums=1)
    monkeypatch.setattr(funcgrad.config, "explain_cache_misses", True)
    f(fnp.ones((3, 4)), 1)
    with pytest.warns(CacheMissWarning, match=re.escape("train_step recompiled (2 traces): argument 'x' shape (3, 4) -> (5, 4)")):
        f(fnp.ones((5, 4)), 1)
    with pytest.warns(CacheMissWarning, match=r"static argument 'n' 1 -> 2"):
        f(fnp.ones((5, 4)), 2)
    monkeypatch.setattr(funcgrad.config, "explain_cache_misses", False)
    g = funcgrad.jit(lambda t: t["a"] * 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning for the first two traces
        g({"a": fnp.ones(1)})
        g({"a": fnp.ones(2)})
    with pytest.warns(CacheMissWarning, match=r"argument 't'\['a'\] dtype float64 -> float32"):
        g({"a": fnp.ones(2, dtype=fnp.float32)})


def test_config_reads_the_environment(monkeypatch):
    monkeypatch.setenv("FUNCGRAD_EXPLAIN_CACHE_MISSES", "1")
    assert Config().explain_cache_misses
    monkeypatch.setenv("FUNCGRAD_EXPLAIN_CACHE_MISSES", "0")
    assert not Config().explain_cache_misses


def test_disable_jit_runs_python_every_call():
    f = counting(lambda x: x + 1)
    jf = funcgrad.jit(f)
    with funcgrad.disable_jit():
        assert jf(fnp.ones(2)).tolist() == [2.0, 2.0]
        jf(fnp.ones(2))
    assert f.count == 2
    jf(fnp.ones(2))
    jf(fnp.ones(2))
    assert f.count == 3


# --- custom derivatives inside jit ---------------------------------------------------------


def test_custom_jvp_and_custom_vjp_rules_survive_jit():
    @funcgrad.custom_jvp
    def f(x):
        return fnp.sin(x)

    @f.defjvp
    def _(primals, tangents):
        (x,), (t,) = primals, tangents
        return fnp.sin(x), 10.0 * t  # a deliberately "wrong" rule, to see that it is used

    @funcgrad.custom_vjp
    def g(x):
        return x * 3.0

    g.defvjp(lambda x: (x * 3.0, None), lambda _, ct: (ct * 100.0,))
    x = fnp.asarray([0.5, 1.0])
    for h, slope in ((f, 10.0), (g, 100.0)):
        loss = functools.partial(lambda h, x: fnp.sum(h(x)), h)
        expected = [slope, slope]
        assert funcgrad.grad(funcgrad.jit(loss))(x).tolist() == expected
        assert funcgrad.jit(funcgrad.grad(loss))(x).tolist() == expected
        assert funcgrad.jit(loss)(x).tolist() == pytest.approx(float(loss(x)))
        closed = funcgrad.make_jaxpr(loss)(x)
        typecheck(closed)
        assert "custom_" in str(closed)
    assert funcgrad.jvp(funcgrad.jit(f), (x,), (fnp.ones(2),))[1].tolist() == [10.0, 10.0]
    assert_tree_close(funcgrad.vmap(funcgrad.jit(f))(x), fnp.sin(x))


# --- generated code -----------------------------------------------------------------------


def test_generated_code_is_straight_line_kernel_calls_with_buffer_reuse():
    def f(x, w):
        h = fnp.tanh(x @ w)
        return fnp.sum(h * h + 1.0)

    jf = funcgrad.jit(f)
    x, w = fnp.ones((4, 3)), fnp.ones((3, 2))
    source = jf.lower(x, w).as_text()
    lines = source.splitlines()
    assert lines[0].startswith("def f(x0, x1):")
    assert "_matmul(x0, x1)" in source and "_tanh(" in source
    for banned in ("eval_jaxpr", "bind", "for ", "Array"):
        assert banned not in source
    assert re.search(r"out=x[2-9]", source)  # an intermediate buffer is reused
    assert "out=x0" not in source and "out=x1" not in source  # inputs never are
    typecheck(jf.lower(x, w).as_jaxpr())
    typecheck(jf.lower(x, w).as_jaxpr(optimized=False))
    before = np.asarray(x).copy()
    jf(x, w)
    np.testing.assert_array_equal(np.asarray(x), before)


def test_outputs_are_not_overwritten_by_later_calls():
    jf = funcgrad.jit(lambda x: (x * 2.0, x * 2.0 + 1.0))
    a, b = jf(fnp.ones(3))
    jf(fnp.zeros(3))
    assert a.tolist() == [2.0, 2.0, 2.0] and b.tolist() == [3.0, 3.0, 3.0]
    ident = funcgrad.jit(lambda x: x)
    x = fnp.ones(2)
    assert ident(x).tolist() == [1.0, 1.0]
    assert np.asarray(jf(fnp.ones(()))[0]).shape == ()  # 0-d outputs are arrays


# --- debug.print ----------------------------------------------------------------------------


def test_debug_print_eager_jit_vmap_grad(capsys):
    def f(x):
        funcgrad.debug.print("x={} total={total}", x, total=fnp.sum(x))
        return x * 2.0

    jf = funcgrad.jit(f)
    jf(fnp.asarray([1.0, 2.0]))
    jf(fnp.asarray([3.0, 4.0]))  # cached: prints again, with this call's values
    assert capsys.readouterr().out == "x=[1. 2.] total=3.0\nx=[3. 4.] total=7.0\n"
    funcgrad.vmap(f)(fnp.asarray([[1.0], [2.0]]))
    assert capsys.readouterr().out == "x=[[1.]\n [2.]] total=[1. 2.]\n"
    loss = lambda x: fnp.sum(f(x))
    for g in (funcgrad.grad(loss), funcgrad.jit(funcgrad.grad(loss)), funcgrad.grad(funcgrad.jit(loss))):
        assert g(fnp.asarray([1.0, 2.0])).tolist() == [2.0, 2.0]
        assert capsys.readouterr().out == "x=[1. 2.] total=3.0\n"
    funcgrad.debug.print("plain {} {}", 1, "two")
    assert capsys.readouterr().out == "plain 1 two\n"
    # the print is kept although its values feed nothing
    assert "debug_print" in jf.lower(fnp.ones(2)).as_text()


def test_lowered_program_of_a_make_jaxpr_is_closed():
    closed = funcgrad.make_jaxpr(lambda x, y: {"s": fnp.sin(x) * y})(fnp.ones(3), fnp.asarray(2.0))
    assert isinstance(closed, ClosedJaxpr)
    typecheck(closed)
    assert [a.shape for a in closed.in_avals] == [(3,), ()]


# --- the composition matrix ------------------------------------------------------------------


def _grad_of_sum(g):
    return funcgrad.grad(lambda x: fnp.sum(g(x)))


def _jvp_tangent(g):
    return lambda x: funcgrad.jvp(g, (x,), (fnp.ones_like(x),))[1]


_TRANSFORMS = {"grad": _grad_of_sum, "jvp": _jvp_tangent, "vmap": funcgrad.vmap, "jit": funcgrad.jit}


@pytest.mark.parametrize(
    "order",
    [o for n in (2, 3) for o in itertools.product(_TRANSFORMS, repeat=n) if "jit" in o],
    ids="-".join,
)
def test_every_order_of_two_and_three_transformations_with_jit(order):
    """Each order of grad, jvp, vmap and jit (two or three of them) gives what the same
    order without jit gives, and the program it traces passes the type checker."""
    rng = np.random.default_rng(len(order))
    for name in ("tanh_x", "where_relu"):
        with_jit, without_jit = ZOO[name], ZOO[name]
        for t in reversed(order):
            with_jit = _TRANSFORMS[t](with_jit)
            without_jit = without_jit if t == "jit" else _TRANSFORMS[t](without_jit)
        x = fnp.asarray(rng.uniform(-1.5, 1.5, (2,) * order.count("vmap") + (3,)))
        assert_tree_close(with_jit(x), without_jit(x), rtol=1e-10, atol=1e-12)
        typecheck(funcgrad.make_jaxpr(with_jit)(x))


@pytest.mark.parametrize("name", ["tanh_x", "structural", "outer"])
def test_check_grads_through_jit_to_second_order(name):
    """Derivatives of jitted functions against finite differences (forward and reverse,
    first and second order), as a user would test their own code."""
    from funcgrad.test_util import check_grads

    f = funcgrad.jit(ZOO[name])
    check_grads(f, (fnp.asarray([0.3, -0.8, 1.2, 0.5]),), order=2)
    check_grads(funcgrad.jit(funcgrad.grad(ZOO[name])), (fnp.asarray([0.3, -0.8, 1.2, 0.5]),), order=1)


def test_python_scalar_arguments_promote_weakly_as_in_eager_mode():
    traces = []

    def f(x, s):
        traces.append(1)
        return x * s + s

    jf = funcgrad.jit(f)
    for x in (fnp.ones(3, dtype=fnp.float32), fnp.ones(3, dtype=fnp.int8), fnp.ones(3, dtype=fnp.float16)):
        for s in (2, 2.5) if x.dtype.kind == "f" else (2,):
            eager, jitted = f(x, s), jf(x, s)
            assert jitted.dtype == eager.dtype == x.dtype
            np.testing.assert_array_equal(np.asarray(jitted), np.asarray(eager))
    n = len(traces)
    jf(fnp.ones(3, dtype=fnp.float32), 7.5)  # a new value of a weak scalar does not retrace
    assert len(traces) == n
    # an int array times a float scalar becomes float64, in both modes
    assert jf(fnp.ones(2, dtype=fnp.int32), 2.5).dtype == f(fnp.ones(2, dtype=fnp.int32), 2.5).dtype == np.float64
