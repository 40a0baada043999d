"""Top-level JAX names (issue 18): funcgrad.tree, pure_callback, custom_gradient, the
custom_jvp nondiff_argnums convention, named_call, typeof, clear_caches,
ensure_compile_time_eval, default_device, print_environment_info, funcgrad.dlpack."""

from __future__ import annotations

import operator

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import tree
from funcgrad.test_util import check_grads


def test_tree_namespace_matches_tree_util():
    t = {"a": [1, 2], "b": (3, {"c": 4})}
    assert tree.leaves(t) == [1, 2, 3, 4]
    assert tree.map(lambda x: x * 10, t) == {"a": [10, 20], "b": (30, {"c": 40})}
    leaves, td = tree.flatten(t)
    assert tree.unflatten(td, leaves) == t and tree.structure(t) == td
    assert tree.reduce(operator.add, t) == 10 and tree.all([True, (1, 2)])
    assert funcgrad.tree_util.keystr(tree.leaves_with_path(t)[0][0]) == "['a'][0]"
    assert tree.map_with_path(lambda p, x: len(p), t) == {"a": [2, 2], "b": (2, {"c": 3})}
    assert tree.flatten_with_path(t)[1] == td
    outer, inner = tree.structure([0, 0]), tree.structure((0, 0, 0))
    assert tree.transpose(outer, inner, [(1, 2, 3), (4, 5, 6)]) == ([1, 4], [2, 5], [3, 6])
    assert tree.broadcast([1, {"k": 2}], [(0, 0), {"k": [0, 0, 0]}]) == [(1, 1), {"k": [2, 2, 2]}]
    assert tree.reduce_associative(operator.add, list(range(7))) == 21
    with pytest.raises(TypeError, match="identity"):
        tree.reduce_associative(operator.add, [])
    assert tree.reduce_associative(operator.add, [], identity=0) == 0


def _host_poly(x, p):
    return (x**p + 1.0).astype(x.dtype)


def _spec(x):
    return funcgrad.ShapeDtypeStruct(x.shape, x.dtype)


def test_pure_callback_eager_jit_and_vmap_methods():
    x = np.linspace(-1, 1, 6).reshape(2, 3)
    want = x**3 + 1.0

    def f(v, method=None):
        return funcgrad.pure_callback(_host_poly, _spec(v), v, 3, vmap_method=method)

    np.testing.assert_allclose(f(fnp.asarray(x)), want)
    np.testing.assert_allclose(funcgrad.jit(f)(fnp.asarray(x)), want)
    calls = []

    def counting(v):
        calls.append(v.shape)
        return v * 2

    for method, shapes in [("sequential", [(3,), (3,)]), ("expand_dims", [(2, 3)]),
                           ("broadcast_all", [(2, 3)])]:  # fmt: skip
        calls.clear()
        out = funcgrad.vmap(lambda v, m=method: funcgrad.pure_callback(counting, _spec(v), v,
                                                                     vmap_method=m))(fnp.asarray(x))  # fmt: skip
        np.testing.assert_allclose(out, 2 * x)
        assert calls == shapes, method
    calls.clear()
    y = fnp.ones(3)
    out = funcgrad.vmap(lambda v: funcgrad.pure_callback(lambda a, b: a + b, _spec(v), v, y,
                                                         vmap_method="expand_dims"))(fnp.asarray(x))  # fmt: skip
    np.testing.assert_allclose(out, x + 1)
    with pytest.raises(NotImplementedError, match="vmap_method"):
        funcgrad.vmap(f)(fnp.asarray(x))


def test_pure_callback_checks_results_and_refuses_grad():
    with pytest.raises(TypeError, match="declares float64\\[2\\]"):
        funcgrad.pure_callback(lambda v: v[:1], _spec(fnp.ones(2)), fnp.ones(2))
    f = lambda v: fnp.sum(funcgrad.pure_callback(np.sin, _spec(v), v))
    with pytest.raises(ValueError, match="custom_jvp"):
        funcgrad.grad(f)(fnp.ones(2))

    @funcgrad.custom_jvp
    def host_sin(v):
        return funcgrad.pure_callback(np.sin, _spec(v), v)

    host_sin.defjvp(lambda p, t: (host_sin(p[0]), fnp.cos(p[0]) * t[0]))
    x = fnp.asarray([0.3, 1.2])
    np.testing.assert_allclose(funcgrad.grad(lambda v: fnp.sum(host_sin(v)))(x), np.cos(x))
    np.testing.assert_allclose(
        funcgrad.jit(funcgrad.grad(lambda v: fnp.sum(host_sin(v))))(x), np.cos(x)
    )
    # unused results may be dropped under jit (pure), the program still runs
    assert float(funcgrad.jit(lambda v: (host_sin(v), 1.0)[1])(x)) == 1.0


def test_custom_jvp_nondiff_argnums_leads_the_rule_like_jax():
    seen = []

    def scaled_pow(n, x, scale):
        return scale * x**n

    f = funcgrad.custom_jvp(scaled_pow, nondiff_argnums=(0,))

    @f.defjvp
    def rule(n, primals, tangents):
        seen.append(n)
        x, scale = primals
        tx, ts = tangents
        return f(n, x, scale), scale * n * x ** (n - 1) * tx + x**n * ts

    x, s = fnp.asarray(1.5), fnp.asarray(2.0)
    assert float(funcgrad.grad(f, argnums=1)(3, x, s)) == pytest.approx(2.0 * 3 * 1.5**2)
    assert float(funcgrad.grad(f, argnums=2)(3, x, s)) == pytest.approx(1.5**3)
    assert seen and all(n == 3 for n in seen)
    check_grads(lambda a, b: f(2, a, b), (x, s), order=2)
    # defjvps with a static argument: fn(tangent, out, *all_args)
    g = funcgrad.custom_jvp(scaled_pow, nondiff_argnums=(0,))
    g.defjvps(lambda t, out, n, x, scale: scale * n * x ** (n - 1) * t, None)
    assert float(funcgrad.grad(g, argnums=1)(2, x, s)) == pytest.approx(2.0 * 2 * 1.5)


def test_custom_gradient_matches_its_rule():
    @funcgrad.custom_gradient
    def f(x, y):
        return x * y, lambda g: (g * 10.0, g * 20.0)

    gx, gy = funcgrad.grad(lambda a, b: f(a, b), argnums=(0, 1))(fnp.asarray(2.0), fnp.asarray(3.0))
    assert (float(gx), float(gy)) == (10.0, 20.0)
    assert float(f(fnp.asarray(2.0), fnp.asarray(3.0))) == 6.0
    jg = funcgrad.jit(funcgrad.grad(lambda a: f(a, a)))(fnp.asarray(1.0))
    assert float(jg) == 30.0


def test_named_call_shows_its_name_and_keeps_values():
    block = funcgrad.named_call(lambda x: fnp.tanh(x) * 3, name="encoder_block")
    x = fnp.asarray([0.1, -0.4])
    assert "name='encoder_block'" in str(funcgrad.make_jaxpr(lambda v: block(v) + 1)(x))
    np.testing.assert_allclose(block(x), np.tanh(np.asarray(x)) * 3)
    np.testing.assert_allclose(funcgrad.jit(block)(x), np.tanh(np.asarray(x)) * 3)
    check_grads(lambda v: funcgrad.jit(block)(v), (x,), order=1)

    def layer(x):
        return x + 1

    assert "name='layer'" in str(funcgrad.make_jaxpr(funcgrad.named_call(layer))(x))


def test_typeof_clear_caches_compile_time_eval_default_device():
    assert funcgrad.typeof(fnp.ones((2, 3), fnp.float32)).str_short() == "float32[2,3]"
    traces = []

    @funcgrad.jit
    def f(x):
        traces.append(1)
        with funcgrad.ensure_compile_time_eval():
            table = fnp.cumsum(fnp.arange(3.0))
            assert type(table) is funcgrad.Array  # computed, not staged
        return x + table

    np.testing.assert_allclose(f(fnp.zeros(3)), [0.0, 1.0, 3.0])
    f(fnp.zeros(3))
    assert len(traces) == 1
    funcgrad.clear_caches()
    f(fnp.zeros(3))
    assert len(traces) == 2
    with funcgrad.default_device("numpy"):
        assert fnp.zeros(1).backend == "numpy"
    text = funcgrad.print_environment_info(return_string=True)
    assert f"numpy:       {np.__version__}" in text and "backends:" in text


def test_dlpack_import_from_numpy_and_export():
    host = np.arange(6.0).reshape(2, 3)
    y = funcgrad.dlpack.from_dlpack(host)
    host[0, 0] = 99.0
    assert np.asarray(y)[0, 0] == 0.0 and y.shape == (2, 3)
    back = np.from_dlpack(fnp.asarray([1, 2, 3], fnp.int32))
    assert back.dtype == np.int32 and back.tolist() == [1, 2, 3]


def test_dlpack_with_torch():
    torch = pytest.importorskip("torch")
    t = torch.arange(4, dtype=torch.float32)
    y = funcgrad.dlpack.from_dlpack(t)
    assert y.dtype == np.float32 and y.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert torch.from_dlpack(fnp.asarray([1.0, 2.0])).tolist() == [1.0, 2.0]
