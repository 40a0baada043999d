"""The differentiation API: behaviour, errors, nesting, custom rules, and golden values.

Golden values come from ../shared/FEATURES.md sections 3.1 and 12.4 (worked examples of
the lectures this project grew from) and from hand derivations in the comments.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import grad, jacfwd, jacrev, jvp, linearize, value_and_grad, vjp
from funcgrad._src.core import Primitive, ShapedArray
from funcgrad.test_util import check_grads


def f64(*values):
    return fnp.asarray(np.array(values, dtype=np.float64).reshape(-1) if len(values) > 1 else values[0], dtype=fnp.float64)


# --- golden values -------------------------------------------------------------------


def test_mse_gradient_is_2():
    # FEATURES 3.1: x = y = 1, w = 2, mse(y, w x) = 1 and d mse / dw = 2
    x, y = fnp.ones(1), fnp.ones(1)
    mse = lambda w: fnp.mean((y - w * x) ** 2)  # noqa: E731
    w = fnp.full((1,), 2.0)
    assert float(mse(w)) == 1.0
    assert grad(mse)(w).tolist() == [2.0]


def test_chain_rule_example():
    # FEATURES 3.1: y1 = x w1 + b1, y2 = y1 w2 + b2 at x=1, w1=2, b1=1, w2=2, b2=1
    x, b1, w2, b2 = 1.0, 1.0, 2.0, 1.0
    y1 = lambda w1: x * w1 + b1  # noqa: E731
    y2_of_y1 = lambda y: y * w2 + b2  # noqa: E731
    w1 = fnp.asarray(2.0)
    assert float(grad(y2_of_y1)(y1(w1))) == 2.0  # dy2/dy1
    assert float(grad(y1)(w1)) == 1.0  # dy1/dw1
    assert float(grad(lambda w: y2_of_y1(y1(w)))(w1)) == 2.0  # dy2/dw1


def _softmax(a):
    e = fnp.exp(a - fnp.max(a))
    return e / fnp.sum(e)


def _log_softmax(a):
    shifted = a - fnp.max(a, axis=-1, keepdims=True)
    return shifted - fnp.log(fnp.sum(fnp.exp(shifted), axis=-1, keepdims=True))


@given(st.integers(0, 2**31 - 1))
@settings(max_examples=10)
def test_softmax_jacobian_is_p_i_delta_ij_minus_p_j(seed):
    a = fnp.asarray(np.random.default_rng(seed).uniform(-2, 2, 4))
    p = np.asarray(_softmax(a))
    expected = np.diag(p) - np.outer(p, p)  # d p_i / d a_j = p_i (delta_ij - p_j)
    np.testing.assert_allclose(np.asarray(jacrev(_softmax)(a)), expected, atol=1e-12)
    np.testing.assert_allclose(np.asarray(jacfwd(_softmax)(a)), expected, atol=1e-12)
    np.testing.assert_allclose(np.asarray(grad(lambda v: _softmax(v)[0])(a)), expected[0], atol=1e-12)


def _sigmoid(z):
    return 1.0 / (1.0 + fnp.exp(-z))


def test_single_and_multi_output_perceptron_delta_rules():
    # FEATURES 12.4: E = 1/2 sum_k (O_k - t_k)^2, O = sigmoid(x W^T):
    # dE/dw_kj = (O_k - t_k) O_k (1 - O_k) x_j
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 10))
    for n_out in (1, 2):
        w = rng.standard_normal((n_out, 10))
        t = np.ones((1, n_out))
        loss = lambda w_: 0.5 * fnp.sum((_sigmoid(fnp.asarray(x) @ w_.T) - t) ** 2)  # noqa: E731
        o = 1 / (1 + np.exp(-(x @ w.T)))
        expected = ((o - t) * o * (1 - o)).T @ x
        np.testing.assert_allclose(np.asarray(grad(loss)(fnp.asarray(w))), expected, rtol=1e-12)


def test_mlp_backprop_delta_rules():
    # FEATURES 12.4: two sigmoid layers; output delta_k = O_k (1 - O_k)(O_k - t_k),
    # hidden delta_j = O_j (1 - O_j) sum_k delta_k w_jk, dE/dw_ij = O_i delta_j
    rng = np.random.default_rng(1)
    x, t = rng.standard_normal((1, 4)), rng.uniform(size=(1, 3))
    w1, w2 = rng.standard_normal((4, 5)), rng.standard_normal((5, 3))

    def loss(w1_, w2_):
        hidden = _sigmoid(fnp.asarray(x) @ w1_)
        out = _sigmoid(hidden @ w2_)
        return 0.5 * fnp.sum((out - t) ** 2)

    o_j = 1 / (1 + np.exp(-(x @ w1)))
    o_k = 1 / (1 + np.exp(-(o_j @ w2)))
    delta_k = o_k * (1 - o_k) * (o_k - t)
    delta_j = o_j * (1 - o_j) * (delta_k @ w2.T)
    g1, g2 = grad(loss, argnums=(0, 1))(fnp.asarray(w1), fnp.asarray(w2))
    np.testing.assert_allclose(np.asarray(g2), o_j.T @ delta_k, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(g1), x.T @ delta_j, rtol=1e-12)


def test_cross_entropy_equals_nll_of_log_softmax_in_value_and_gradient():
    rng = np.random.default_rng(2)
    logits = fnp.asarray(rng.standard_normal((5, 4)))
    labels = np.array([0, 3, 1, 1, 2])
    onehot = fnp.asarray(np.eye(4)[labels])

    def cross_entropy(z):  # -sum_k y_k log softmax(z)_k, via the explicit softmax
        p = fnp.exp(z) / fnp.sum(fnp.exp(z), axis=-1, keepdims=True)
        return -fnp.mean(fnp.sum(onehot * fnp.log(p), axis=-1))

    def nll_of_log_softmax(z):
        return -fnp.mean(_log_softmax(z)[fnp.arange(5), fnp.asarray(labels)])

    np.testing.assert_allclose(float(cross_entropy(logits)), float(nll_of_log_softmax(logits)), rtol=1e-12)
    g1, g2 = grad(cross_entropy)(logits), grad(nll_of_log_softmax)(logits)
    np.testing.assert_allclose(np.asarray(g1), np.asarray(g2), atol=1e-12)
    # and both equal (softmax - onehot) / batch
    z = np.asarray(logits)
    p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    np.testing.assert_allclose(np.asarray(g2), (p - np.eye(4)[labels]) / 5, atol=1e-12)


HIMMELBLAU_MINIMA = [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)]


def test_gradient_descent_on_himmelblau_reaches_its_four_minima():
    # FEATURES 12.5: f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2 has four minima with f = 0.
    def himmelblau(p):
        x, y = p[0], p[1]
        return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2

    step = funcgrad.value_and_grad(himmelblau)
    found = []
    for start in [(4.0, 4.0), (-4.0, 4.0), (-4.0, -4.0), (4.0, -4.0)]:
        p = fnp.asarray(start)
        for _ in range(400):
            value, g = step(p)
            p = p - 0.01 * g
        assert float(value) < 1e-8
        found.append(tuple(np.asarray(p)))
    for expected in HIMMELBLAU_MINIMA:
        assert any(np.allclose(f, expected, atol=1e-5) for f in found), (expected, found)


# --- API behaviour -------------------------------------------------------------------


def test_grad_over_pytrees_argnums_and_aux():
    params = {"w": fnp.asarray([1.0, 2.0]), "b": fnp.asarray(0.5)}

    def loss(p, x, scale):
        out = fnp.sum(p["w"] * x) + p["b"]
        return scale * out**2, {"out": out}

    x = fnp.asarray([3.0, 4.0])
    (value, aux), g = value_and_grad(loss, has_aux=True)(params, x, 2.0)
    out = 1 * 3 + 2 * 4 + 0.5
    assert float(value) == 2 * out**2 and float(aux["out"]) == out
    assert g["w"].tolist() == [4 * out * 3, 4 * out * 4] and float(g["b"]) == 4 * out
    gp, gx = grad(lambda p, x: loss(p, x, 1.0)[0], argnums=(0, 1))(params, x)
    assert gx.tolist() == [2 * out * 1, 2 * out * 2]
    g_only, aux2 = grad(loss, has_aux=True)(params, x, 1.0)
    assert float(aux2["out"]) == out


def test_jvp_vjp_linearize_agree():
    f = lambda x, y: fnp.sin(x) * y + x**2  # noqa: E731
    x, y = f64(0.3, 1.2), f64(2.0, -1.0)
    tx, ty = f64(1.0, 0.5), f64(-1.0, 2.0)
    out, t_out = jvp(f, (x, y), (tx, ty))
    expected = np.cos([0.3, 1.2]) * [1.0, 0.5] * [2.0, -1.0] + np.sin([0.3, 1.2]) * [-1.0, 2.0] + 2 * np.array([0.3, 1.2]) * [1.0, 0.5]
    np.testing.assert_allclose(np.asarray(t_out), expected, rtol=1e-12)
    out2, f_jvp = linearize(f, x, y)
    np.testing.assert_allclose(np.asarray(f_jvp(tx, ty)), expected, rtol=1e-12)
    out3, f_vjp = vjp(f, x, y)
    ct = f64(1.0, 1.0)
    gx, gy = f_vjp(ct)
    np.testing.assert_allclose(np.asarray(gx), np.cos([0.3, 1.2]) * [2.0, -1.0] + 2 * np.array([0.3, 1.2]), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(gy), np.sin([0.3, 1.2]), rtol=1e-12)
    for o in (out2, out3):
        np.testing.assert_array_equal(np.asarray(o), np.asarray(out))


@given(st.integers(0, 2**31 - 1))
@settings(max_examples=8)
def test_jacfwd_equals_jacrev_and_hessian_equals_jacfwd_jacrev(seed):
    rng = np.random.default_rng(seed)
    a = fnp.asarray(rng.standard_normal((3, 3)))

    def f(x):
        return fnp.tanh(a @ x) * fnp.sum(x**3)

    x = fnp.asarray(rng.standard_normal(3))
    np.testing.assert_allclose(np.asarray(jacfwd(f)(x)), np.asarray(jacrev(f)(x)), atol=1e-10)
    scalar = lambda v: fnp.sum(f(v) ** 2)  # noqa: E731
    np.testing.assert_allclose(
        np.asarray(funcgrad.hessian(scalar)(x)), np.asarray(jacfwd(jacrev(scalar))(x)), atol=1e-10
    )
    np.testing.assert_allclose(
        np.asarray(funcgrad.hessian(scalar)(x)), np.asarray(jacrev(jacrev(scalar))(x)), atol=1e-9
    )


def test_nested_derivatives_and_no_perturbation_confusion():
    x = fnp.asarray(0.7)
    assert np.isclose(float(grad(grad(fnp.sin))(x)), -np.sin(0.7))
    assert np.isclose(float(grad(grad(grad(fnp.sin)))(x)), -np.cos(0.7))
    # forward-over-reverse Hessian-vector product of sum(x^3): H v = 6 x v
    xs, v = f64(1.0, 2.0), f64(0.5, -1.0)
    _, hvp = jvp(grad(lambda z: fnp.sum(z**3)), (xs,), (v,))
    np.testing.assert_allclose(np.asarray(hvp), 6 * np.array([1.0, 2.0]) * [0.5, -1.0])

    # d/dx [x * d/dy (x + y)] = 1 everywhere (Siskind & Pearlmutter's example)
    def outer(x):
        return x * grad(lambda y: x + y)(fnp.asarray(1.0))

    for point in (0.0, 3.0, -2.5):
        assert float(grad(outer)(fnp.asarray(point))) == 1.0
        assert float(jvp(outer, (fnp.asarray(point),), (fnp.asarray(1.0),))[1]) == 1.0


def test_python_control_flow_closures_and_loops_under_grad():
    def f(x, n):
        acc = x
        for _ in range(n):
            acc = fnp.sin(acc) if acc > 0 else acc * 2.0  # bool() of a grad tracer is concrete
        return acc

    x = fnp.asarray(0.5)
    expected = np.cos(np.sin(0.5)) * np.cos(0.5)
    assert np.isclose(float(grad(f)(x, 2)), expected)
    assert float(grad(f)(fnp.asarray(-1.0), 3)) == 8.0
    scale = fnp.asarray(3.0)
    assert float(grad(lambda y: scale * y)(x)) == 3.0


def test_stop_gradient():
    g = grad(lambda x: fnp.sum(x * funcgrad.stop_gradient(x)))(f64(1.0, 2.0))
    assert g.tolist() == [1.0, 2.0]
    assert float(grad(lambda x: funcgrad.lax.stop_gradient(x) ** 2 + x)(fnp.asarray(5.0))) == 1.0


def test_symbolic_zeros_undifferentiated_inputs_get_no_tangent_work():
    from funcgrad._src.autodiff import _linearize_flat

    x = fnp.asarray(np.arange(6.0).reshape(2, 3))
    w = fnp.ones(3)
    lin = _linearize_flat("test", lambda w_: fnp.sin(x) * w_, [w], False)
    # the tangent program: w_dot -> broadcast -> mul by the constant sin(x); nothing for x
    names = [e.primitive.name for e in lin.jaxpr.eqns]
    assert "sin" not in names and "cos" not in names, names
    assert names.count("mul") == 1, names
    funcgrad._src.ir.typecheck(lin.jaxpr)


def test_integer_outputs_and_inputs():
    # comparisons, floor and argmax have zero derivatives
    assert float(grad(lambda x: fnp.floor(x) + (x > 0))(fnp.asarray(1.5))) == 0.0
    g = grad(lambda x, i: x * i, allow_int=True, argnums=(0, 1))(fnp.asarray(2.0), fnp.asarray(3))
    assert float(g[0]) == 3.0 and g[1].dtype == funcgrad.float0
    # an int argument that is not differentiated is fine
    assert float(grad(lambda x, i: x * i)(fnp.asarray(2.0), fnp.asarray(3))) == 3.0


def test_custom_jvp_and_custom_vjp():
    @funcgrad.custom_jvp
    def f(x, y):
        return fnp.sin(x) * y

    f.defjvps(lambda t, out, x, y: fnp.cos(x) * y * t, lambda t, out, x, y: fnp.sin(x) * t)
    x, y = fnp.asarray(1.0), fnp.asarray(2.0)
    gx, gy = grad(f, argnums=(0, 1))(x, y)
    assert np.isclose(float(gx), 2 * np.cos(1.0)) and np.isclose(float(gy), np.sin(1.0))
    assert np.isclose(float(grad(grad(f))(x, y)), -2 * np.sin(1.0))
    check_grads(lambda a: f(a, y), (f64(0.3, 0.9),), order=2)

    @funcgrad.custom_vjp
    def clip_gradient(lo, hi, x):
        return x

    def fwd(lo, hi, x):
        return x, None

    def bwd(lo, hi, _, g):
        return (fnp.clip(g, lo, hi),)

    clip_gradient = funcgrad.custom_vjp(clip_gradient.fun, nondiff_argnums=(0, 1))
    clip_gradient.defvjp(fwd, bwd)
    assert float(grad(lambda v: 5.0 * clip_gradient(-1.0, 1.0, v))(fnp.asarray(2.0))) == 1.0
    assert float(grad(lambda v: 0.5 * clip_gradient(-1.0, 1.0, v))(fnp.asarray(2.0))) == 0.5

    @funcgrad.custom_vjp
    def g(x):
        return fnp.sin(x)

    g.defvjp(lambda x: (fnp.sin(x), fnp.cos(x)), lambda c, ct: (c * ct * 10.0,))
    assert np.isclose(float(grad(g)(x)), 10 * np.cos(1.0))
    assert np.isclose(float(grad(grad(g))(x)), -10 * np.sin(1.0))
    with pytest.raises(TypeError, match="forward-mode differentiation .* custom_vjp"):
        jvp(g, (x,), (x,))


def test_custom_jvp_used_for_numerical_stability():
    @funcgrad.custom_jvp
    def softplus(x):
        return fnp.logaddexp(0.0, x)

    softplus.defjvp(lambda p, t: (softplus(p[0]), t[0] / (1 + fnp.exp(-p[0]))))
    assert float(grad(softplus)(fnp.asarray(800.0))) == 1.0
    with np.errstate(over="ignore"):  # exp(800) = inf in the rule: 1 / inf = 0 is intended
        assert float(grad(softplus)(fnp.asarray(-800.0))) == 0.0


# --- errors ----------------------------------------------------------------------------


def test_grad_of_non_scalar_output_says_what_to_do():
    with pytest.raises(TypeError, match=r"grad requires a scalar \(0-d\) output, got shape \(2,\).*jacrev"):
        grad(lambda x: x * 2)(f64(1.0, 2.0))


def test_grad_of_integer_input_says_what_to_do():
    with pytest.raises(TypeError, match=r"grad: argument 0 has dtype int64.*allow_int=True"):
        grad(lambda x: x * 2.0)(fnp.asarray(3))


def test_complex_outputs_need_holomorphic_and_real_functions_of_complex_inputs_do_not():
    with pytest.raises(TypeError, match="holomorphic=True"):
        grad(lambda z: z * z)(fnp.asarray(1 + 1j))
    # real(z^2) = x^2 - y^2: JAX's convention gives df/dx - i df/dy = 2x + 2iy
    assert complex(grad(lambda z: fnp.real(z * z))(fnp.asarray(1 + 1j))) == 2 + 2j
    g = grad(lambda z: z * z, holomorphic=True)(fnp.asarray(1 + 2j))
    assert complex(g) == 2 + 4j


def test_missing_rule_error_names_the_primitive():
    mystery_p = Primitive("mystery")
    mystery_p.impl = lambda backend, x: [x]
    mystery_p.abstract_eval = lambda x: [x]
    with pytest.raises(NotImplementedError, match="differentiation rule for 'mystery' is not implemented"):
        grad(lambda x: mystery_p.bind1(x) * 1.0)(fnp.asarray(1.0))


def test_escaped_tracer_names_the_transformation():
    leaked = []

    def leaky_loss(x):
        leaked.append(x)
        return x * 2.0

    grad(leaky_loss)(fnp.asarray(1.0))
    with pytest.raises(
        funcgrad.UnexpectedTracerError,
        match=r"made by grad of leaky_loss \(defined at test_autodiff.py:\d+\) was passed to 'add'.*escaped",
    ):
        leaked[0] + 1.0


def test_bool_of_an_abstract_value_is_a_clear_error():
    with pytest.raises(funcgrad.ConcretizationError, match="lax.cond"):
        funcgrad.eval_shape(grad(lambda x: x if x > 0 else -x), ShapedArray((), np.float64))


def test_mismatched_tangent_shapes_in_jvp():
    with pytest.raises(ValueError, match=r"jvp: tangent 0 has shape \(3,\).*shape \(2,\)"):
        jvp(fnp.sin, (fnp.ones(2),), (fnp.ones(3),))


def test_every_primitive_has_the_rules_autodiff_needs():
    from funcgrad._src.custom_derivatives import custom_lin_p, stop_gradient_p
    from funcgrad._src.lax import ALL_PRIMITIVES

    for name, prim in {**ALL_PRIMITIVES, "stop_gradient": stop_gradient_p, "custom_lin": custom_lin_p}.items():
        assert prim.jvp is not None, f"{name} has no jvp rule"
        if prim.linear:
            assert prim.transpose is not None, f"{name} is linear but has no transpose rule"
