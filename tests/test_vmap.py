"""The vmap transformation: axes specs, pytrees, nesting, closures, custom rules, errors.

Every result is checked against an explicit Python loop over the examples (or NumPy).
Per-primitive rules are covered by test_vmap_primitives.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st
from oracle import arrays

import funcgrad
import funcgrad.numpy as fnp


def _loop(f, in_axes, size, *args):
    """The reference: apply ``f`` to each example and stack the results along axis 0."""
    outs = []
    for k in range(size):
        example = [a if ax is None else np.take(a, k, axis=ax) for a, ax in zip(args, in_axes)]
        outs.append(np.asarray(f(*map(fnp.asarray, example))))
    return np.stack(outs)


@given(data=st.data())
def test_in_axes_and_out_axes_against_a_loop(data):
    size = data.draw(st.integers(1, 3))
    ax_x = data.draw(st.integers(-3, 2))
    ax_y = data.draw(st.none() | st.integers(-2, 1))
    x_shape = [2, 4]
    x_shape.insert(ax_x % 3, size)
    x = data.draw(arrays(np.float64, tuple(x_shape), min_value=-2, max_value=2))
    y = data.draw(arrays(np.float64, (2, 4), min_value=-2, max_value=2))
    if ax_y is not None:  # distinct examples: rescaled copies
        y = np.stack([y * (k + 1) for k in range(size)], axis=ax_y % 3)
    out_axis = data.draw(st.integers(-3, 2))

    def f(a, b):
        return fnp.sin(a) * b + fnp.sum(a, axis=0)

    expected = np.moveaxis(_loop(f, (ax_x % 3, None if ax_y is None else ax_y % 3), size, x, y), 0, out_axis % 3)
    got = funcgrad.vmap(f, in_axes=(ax_x, ax_y), out_axes=out_axis)(fnp.asarray(x), fnp.asarray(y))
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-12, atol=1e-12)


def test_pytree_in_axes_prefix_and_pytree_outputs():
    params = {"w": fnp.asarray([[1.0, 2.0], [3.0, 4.0]]), "b": fnp.asarray(0.5)}
    xs = fnp.asarray(np.arange(6.0).reshape(3, 2))

    def predict(p, x):
        return {"y": fnp.tanh(p["w"] @ x + p["b"]), "n": fnp.sum(x)}

    out = funcgrad.vmap(predict, in_axes=({"w": None, "b": None}, 0), out_axes={"y": 1, "n": 0})(params, xs)
    w, b = np.asarray(params["w"]), 0.5
    np.testing.assert_allclose(np.asarray(out["y"]), np.tanh(w @ np.asarray(xs).T + b))
    np.testing.assert_allclose(np.asarray(out["n"]), np.asarray(xs).sum(1))
    # a single None for the whole params dict is a valid prefix too
    out2 = funcgrad.vmap(predict, in_axes=(None, 0))(params, xs)
    np.testing.assert_allclose(np.asarray(out2["y"]), np.asarray(out["y"]).T)


def test_unbatched_outputs_are_broadcast_or_kept_with_out_axes_none():
    x = fnp.arange(3.0)
    c = fnp.asarray([7.0, 8.0])
    both = funcgrad.vmap(lambda a: (a * 2, c), out_axes=(0, None))(x)
    np.testing.assert_allclose(np.asarray(both[0]), [0, 2, 4])
    np.testing.assert_allclose(np.asarray(both[1]), [7, 8])
    broadcast = funcgrad.vmap(lambda a: c)(x)
    np.testing.assert_allclose(np.asarray(broadcast), [[7, 8]] * 3)
    assert funcgrad.vmap(lambda a: 1.0)(x).tolist() == [1.0, 1.0, 1.0]


def test_axis_size_for_unmapped_arguments_and_keyword_arguments():
    f = funcgrad.vmap(lambda a, scale=1.0: a * scale, in_axes=None, axis_size=2)
    out = f(fnp.asarray([1.0, 2.0]), scale=3.0)
    np.testing.assert_allclose(np.asarray(out), [[3, 6], [3, 6]])


def test_nested_vmap_matches_a_double_loop():
    x = np.arange(16.0).reshape(2, 2, 4)
    y = np.arange(8.0).reshape(4, 2)
    f = funcgrad.vmap(funcgrad.vmap(lambda a, b: fnp.sum(a * b), in_axes=(0, 1)), in_axes=(0, None))
    expected = [[np.sum(x[i, j] * y[:, j]) for j in range(2)] for i in range(2)]
    np.testing.assert_allclose(np.asarray(f(fnp.asarray(x), fnp.asarray(y))), expected)


def test_closure_over_a_batched_value():
    xs = fnp.asarray([1.0, 2.0, 3.0])

    def outer(x):
        inner = lambda y: x * y  # closes over the batched x
        return funcgrad.vmap(inner)(fnp.asarray([10.0, 20.0]))

    np.testing.assert_allclose(np.asarray(funcgrad.vmap(outer)(xs)), [[10, 20], [20, 40], [30, 60]])


def test_per_example_gradients_match_a_loop():
    w = fnp.asarray([0.5, -1.0, 2.0])
    xs = fnp.asarray(np.random.default_rng(0).normal(size=(5, 3)))
    ys = fnp.asarray([1.0, 0.0, 1.0, 1.0, 0.0])

    def loss(w, x, y):
        p = 1 / (1 + fnp.exp(-fnp.dot(w, x)))
        return -(y * fnp.log(p) + (1 - y) * fnp.log(1 - p))

    per_example = funcgrad.vmap(funcgrad.grad(loss), in_axes=(None, 0, 0))(w, xs, ys)
    loop = np.stack([np.asarray(funcgrad.grad(loss)(w, xs[i], ys[i])) for i in range(5)])
    np.testing.assert_allclose(np.asarray(per_example), loop, rtol=1e-12)
    # and grad of a vmapped function: the sum of the per-example gradients
    total = funcgrad.grad(lambda w: fnp.sum(funcgrad.vmap(loss, in_axes=(None, 0, 0))(w, xs, ys)))(w)
    np.testing.assert_allclose(np.asarray(total), loop.sum(0), rtol=1e-12)


def test_jvp_of_vmap_and_vmap_of_jvp_agree():
    xs = fnp.asarray([[0.1, 0.2], [0.3, 0.4]])
    ts = fnp.ones_like(xs)
    f = lambda x: fnp.sin(x) * fnp.cos(x)
    _, t1 = funcgrad.jvp(funcgrad.vmap(f), (xs,), (ts,))
    _, t2 = funcgrad.vmap(lambda x, t: funcgrad.jvp(f, (x,), (t,)))(xs, ts)
    np.testing.assert_allclose(np.asarray(t1), np.cos(2 * np.asarray(xs)), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(t2), np.asarray(t1), rtol=1e-12)


# --- custom derivative rules under vmap --------------------------------------------------


@funcgrad.custom_jvp
def _log1pexp(x):
    return fnp.log1p(fnp.exp(x))


@_log1pexp.defjvp
def _log1pexp_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _log1pexp(x), t * (1 / (1 + fnp.exp(-x)))


@funcgrad.custom_vjp
def _clip_gradient(x):
    return x


_clip_gradient.defvjp(lambda x: (x, None), lambda _, g: (fnp.clip(g, -1.0, 1.0),))


@pytest.mark.filterwarnings("ignore:overflow encountered in exp")  # the primal at 1000 is inf
def test_custom_jvp_rule_is_used_under_vmap_and_grad_in_both_orders():
    xs = fnp.asarray([-1000.0, 0.0, 1000.0])  # the naive derivative is nan at 1000
    expected = [0.0, 0.5, 1.0]
    per_example = funcgrad.vmap(funcgrad.grad(_log1pexp))(xs)
    np.testing.assert_allclose(np.asarray(per_example), expected)
    through_vmap = funcgrad.grad(lambda x: fnp.sum(funcgrad.vmap(_log1pexp)(x)))(xs)
    np.testing.assert_allclose(np.asarray(through_vmap), expected)
    _, t = funcgrad.jvp(funcgrad.vmap(_log1pexp), (xs,), (fnp.ones(3),))
    np.testing.assert_allclose(np.asarray(t), expected)
    np.testing.assert_allclose(np.asarray(funcgrad.vmap(_log1pexp)(fnp.asarray([0.0]))), [np.log(2)])


def test_custom_vjp_rule_is_used_under_vmap_and_grad_in_both_orders():
    xs = fnp.asarray([1.0, 2.0, 3.0])
    f = lambda x: 5.0 * _clip_gradient(x)
    np.testing.assert_allclose(np.asarray(funcgrad.vmap(funcgrad.grad(f))(xs)), [1.0, 1.0, 1.0])
    total = funcgrad.grad(lambda x: fnp.sum(funcgrad.vmap(f)(x)))(xs)
    np.testing.assert_allclose(np.asarray(total), [1.0, 1.0, 1.0])
    w = fnp.asarray(0.5)  # an unbatched argument mixed with a batched one
    g = funcgrad.grad(lambda w: fnp.sum(funcgrad.vmap(lambda x: _clip_gradient(x * w) * 5.0)(xs)))(w)
    np.testing.assert_allclose(float(g), float(np.sum(np.asarray(xs))))


# --- errors -------------------------------------------------------------------------------


def test_inconsistent_sizes_name_the_arguments():
    def f(weights, inputs):
        return weights * inputs

    with pytest.raises(ValueError, match=r"inconsistent sizes.*weights has size 3 along axis 0.*inputs has size 4"):
        funcgrad.vmap(f)(fnp.ones(3), fnp.ones(4))


def test_axis_errors_name_the_argument_and_say_what_to_do():
    with pytest.raises(ValueError, match=r"in_axes 2 is out of range for argument x of shape \(3,\)"):
        funcgrad.vmap(lambda x: x, in_axes=2)(fnp.ones(3))
    with pytest.raises(ValueError, match=r"argument x is a scalar.*use in_axes None"):
        funcgrad.vmap(lambda x: x)(fnp.asarray(1.0))
    with pytest.raises(ValueError, match=r"no argument is mapped.*axis_size"):
        funcgrad.vmap(lambda x: x, in_axes=None)(fnp.ones(3))
    with pytest.raises(ValueError, match=r"in_axes has 1 entries but .* 2 positional"):
        funcgrad.vmap(lambda x, y: x, in_axes=(0,))(fnp.ones(3), fnp.ones(3))
    with pytest.raises(ValueError, match=r"out_axes is None for output.*depends on the batched"):
        funcgrad.vmap(lambda x: x * 2, out_axes=None)(fnp.ones(3))
    with pytest.raises(TypeError, match=r"returned a str, not an array"):
        funcgrad.vmap(lambda x: "nope")(fnp.ones(3))
    with pytest.raises(ValueError, match=r"in_axes must be an int, None, or a pytree prefix"):
        funcgrad.vmap(lambda p: p["a"], in_axes=({"b": 0},))({"a": fnp.ones(3)})


def test_python_control_flow_on_a_batched_value_is_a_concretization_error():
    with pytest.raises(funcgrad.ConcretizationError):
        funcgrad.vmap(lambda x: x if x > 0 else -x)(fnp.ones(3))


def test_a_leaked_batch_tracer_fails_clearly():
    leaked = []
    funcgrad.vmap(lambda x: leaked.append(x) or x)(fnp.ones(3))
    with pytest.raises(funcgrad.UnexpectedTracerError, match="vmap"):
        leaked[0] + 1


# --- composite functions: a zoo of funcgrad.numpy programs against a loop ----------------

ZOO = {
    "softmax": lambda x: fnp.exp(x - fnp.max(x)) / fnp.sum(fnp.exp(x - fnp.max(x))),
    "logsumexp_rows": lambda x: fnp.log(fnp.sum(fnp.exp(x), axis=-1)),
    "normalize": lambda x: (x - fnp.mean(x)) / fnp.sqrt(fnp.var(x) + 1.0),
    "gram": lambda x: fnp.einsum("ij,kj->ik", x, x),
    "sort_take": lambda x: fnp.sort(x, axis=-1)[..., ::-1][..., :2],
    "cumulative": lambda x: fnp.cumsum(x[::-1], axis=0) * fnp.cumprod(fnp.tanh(x), axis=-1),
    "where_clip": lambda x: fnp.where(x > 0.2, fnp.clip(x, -0.5, 0.5), x**2),
    "pad_concat": lambda x: fnp.concatenate([fnp.pad(x, 1), fnp.zeros((x.shape[0] + 2, 1))], axis=1),
    "scatter": lambda x: fnp.zeros((4, x.shape[1])).at[fnp.asarray([0, 2, 2])].add(x[:3]),
    "solve": lambda x: fnp.linalg.solve(x[:2, :2] @ x[:2, :2].T + 3 * fnp.eye(2), x[:2]),
    "argmax_take": lambda x: fnp.take_along_axis(x, fnp.argmax(x, axis=1)[:, None], axis=1),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(ZOO))
@given(data=st.data())
def test_composite_functions_under_vmap_against_a_loop(name, data):
    f = ZOO[name]
    size = data.draw(st.integers(1, 3), label="batch size")
    axis = data.draw(st.integers(-3, 2), label="in_axes")
    examples = [data.draw(arrays(np.float64, (3, 4), min_value=-1, max_value=1)) for _ in range(size)]
    batch = np.stack(examples, axis=axis)
    got = funcgrad.vmap(f, in_axes=axis)(fnp.asarray(batch))
    expected = np.stack([np.asarray(f(fnp.asarray(e))) for e in examples])
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-10, atol=1e-12)
    # and the gradient of the batched function is the loop of per-example gradients
    g = funcgrad.grad(lambda b: fnp.sum(funcgrad.vmap(f, in_axes=axis)(b) ** 2))(fnp.asarray(batch))
    per_example = [np.asarray(funcgrad.grad(lambda e: fnp.sum(f(e) ** 2))(fnp.asarray(e))) for e in examples]
    np.testing.assert_allclose(np.asarray(g), np.stack(per_example, axis=axis), rtol=1e-9, atol=1e-12)
