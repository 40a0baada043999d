"""funcgrad.test_util: the gradient checks catch planted derivative bugs (in every mode
that can see them, naming the argument) and pass correct functions; the strategies keep
their contracts and shrink to readable examples; the pytest plugin's fixtures and
profiles work, through the entry point and ``pytest_plugins`` alike.

The oracles are the planted bugs themselves (each is a known, deliberate error) and, for
the strategies, the defining property of what they draw (Q^T Q = I, eigenvalues in range,
rows summing to one...).
"""

from __future__ import annotations

import re
import textwrap

import numpy as np
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as fnp
from funcgrad._src.core import Primitive, ShapedArray, current_trace
from funcgrad._src.interpreters import ad
from funcgrad.test_util import (
    GradientCheckError,
    check_grads,
    check_jvp,
    check_transformations,
    check_vjp,
)
from funcgrad.test_util import strategies as fst

pytest_plugins = ["pytester"]  # runs the plugin in a fresh pytest


def _f64(*shape, seed=0, lo=-1.0, hi=1.0):
    return fnp.asarray(np.random.default_rng([seed, 17]).uniform(lo, hi, shape))


def _argument_lines(message: str) -> list[str]:
    """The argument paths a failure message blames (its ``argument ... ->`` lines)."""
    return re.findall(r"^  argument (\S+) ->", message, flags=re.MULTILINE)


# --- planted bug 1: a custom_jvp whose JVP is off by a factor of 2 -----------------------


@funcgrad.custom_jvp
def _sin_doubled_jvp(x):
    return fnp.sin(x)


_sin_doubled_jvp.defjvp(lambda p, t: (fnp.sin(p[0]), 2.0 * fnp.cos(p[0]) * t[0]))


def _layer_with_bad_jvp(params, x):
    """Only ``params['w']`` goes through the wrong rule; ``params['b']`` and ``x`` do not."""
    return _sin_doubled_jvp(params["w"]) * x + params["b"] * x


_LAYER_ARGS = ({"w": _f64(3, seed=1), "b": _f64(3, seed=2)}, _f64(3, seed=3, lo=0.5, hi=1.5))


@pytest.mark.parametrize("modes", [("fwd",), ("rev",)])
def test_jvp_off_by_two_is_caught_in_both_modes_naming_the_argument(modes):
    with pytest.raises(GradientCheckError) as info:
        check_grads(_layer_with_bad_jvp, _LAYER_ARGS, order=1, modes=modes)
    message = str(info.value)
    assert _argument_lines(message) == ["args[0]['w']"], message
    mode = "JVP" if modes == ("fwd",) else "VJP"
    assert f"{mode} of _layer_with_bad_jvp" in message
    for part in ("direction v for args[0]['w']", "autodiff:", "numerical:", "difference:",
                 "tolerance", "what to try: the finite difference hardly moves"):  # fmt: skip
        assert part in message, (part, message)
    # The two numbers are the wrong derivative and the right one: a factor of 2 apart.
    autodiff = float(re.search(r"autodiff:\s+(\S+)", message).group(1))
    numerical = float(re.search(r"numerical:\s+(\S+)", message).group(1))
    assert autodiff == pytest.approx(2 * numerical, rel=1e-4)


def test_jvp_off_by_two_is_caught_by_check_jvp_and_check_vjp_alone():
    with pytest.raises(GradientCheckError, match=r"args\[0\]\['w'\]"):
        check_jvp(_layer_with_bad_jvp, _LAYER_ARGS)
    with pytest.raises(GradientCheckError, match=r"args\[0\]\['w'\]"):
        check_vjp(_layer_with_bad_jvp, _LAYER_ARGS)


def test_a_wrong_second_derivative_is_caught_at_order_two_only():
    """sin with the right JVP, whose JVP is itself computed by a wrong rule: d/dx cos = -2 sin."""

    @funcgrad.custom_jvp
    def cos_bad(x):
        return fnp.cos(x)

    cos_bad.defjvp(lambda p, t: (fnp.cos(p[0]), -2.0 * fnp.sin(p[0]) * t[0]))

    @funcgrad.custom_jvp
    def sin_ok(x):
        return fnp.sin(x)

    sin_ok.defjvp(lambda p, t: (fnp.sin(p[0]), cos_bad(p[0]) * t[0]))
    x = _f64(4, seed=4)
    check_grads(sin_ok, (x,), order=1)
    for modes in [("fwd",), ("rev",)]:
        with pytest.raises(GradientCheckError, match=r"(JVP|VJP) of the (JVP|VJP) of sin_ok"):
            check_grads(sin_ok, (x,), order=2, modes=modes)


# --- planted bug 2: a custom_vjp whose VJP drops a term ----------------------------------


@funcgrad.custom_vjp
def _x_sin_x(x, y):
    return x * fnp.sin(x) + y


# d/dx x sin x = sin x + x cos x: the bwd forgets the sin x of the product rule.
_x_sin_x.defvjp(
    lambda x, y: (x * fnp.sin(x) + y, x),
    lambda x, ct: (ct * x * fnp.cos(x), ct),
)


def test_vjp_dropping_a_term_is_caught_in_reverse_mode_naming_the_argument():
    args = (_f64(2, 3, seed=5), _f64(2, 3, seed=6))
    with pytest.raises(GradientCheckError) as info:
        check_grads(_x_sin_x, args, order=1, modes=("rev",))
    assert _argument_lines(str(info.value)) == ["args[0]"], str(info.value)
    with pytest.raises(GradientCheckError, match=r"args\[0\]"):
        check_vjp(_x_sin_x, args)


def test_forward_mode_of_a_custom_vjp_says_to_check_reverse_mode_alone():
    args = (_f64(2, seed=5), _f64(2, seed=6))
    with pytest.raises(TypeError, match=r"custom_vjp.*modes=\('rev',\)"):
        check_grads(_x_sin_x, args, order=1)


def test_a_correct_custom_vjp_passes_in_reverse_mode_to_second_order():
    @funcgrad.custom_vjp
    def x_sin_x(x):
        return x * fnp.sin(x)

    x_sin_x.defvjp(lambda x: (x * fnp.sin(x), x),
                   lambda x, ct: (ct * (fnp.sin(x) + x * fnp.cos(x)),))  # fmt: skip
    check_grads(x_sin_x, (_f64(3, seed=7),), order=2, modes=("rev",))


# --- planted bug 3: a VJP transposed wrongly for a non-square Jacobian -------------------


@funcgrad.custom_vjp
def _matmul(x, w):
    return x @ w


# For y = x @ w with x (2, 3) and w (3, 4), the cotangent of x is ct @ w.T (2, 3). The bwd
# reshapes w @ ct.T (3, 2) instead of transposing it: right shape, wrong values.
_matmul.defvjp(
    lambda x, w: (x @ w, (x, w)),
    lambda res, ct: ((res[1] @ ct.T).reshape(res[0].shape), res[0].T @ ct),
)


def test_a_wrongly_transposed_vjp_is_caught_naming_the_argument():
    args = (_f64(2, 3, seed=8), _f64(3, 4, seed=9))
    with pytest.raises(GradientCheckError) as info:
        check_grads(_matmul, args, order=1, modes=("rev",))
    assert _argument_lines(str(info.value)) == ["args[0]"], str(info.value)


# --- planted bug 4: rules with the wrong dtype -------------------------------------------

# A primitive (3 x) whose JVP leaves float32: the tangent comes out float64.
_triple_p = Primitive("planted_triple")
_triple_p.impl = lambda backend, x: [x * 3]
_triple_p.abstract_eval = lambda aval: [ShapedArray(aval.shape, aval.dtype, False)]
_triple_p.batch = lambda args, dims: ([_triple_p.bind1(args[0])], [dims[0]])
ad.defjvp(_triple_p, lambda t, x, *, out: (t * 3).astype(fnp.float64))

# A linear primitive (2 x) whose transpose returns a float64 cotangent for a float32 input.
_double_p = Primitive("planted_double")
_double_p.impl = lambda backend, x: [x * 2]
_double_p.abstract_eval = lambda aval: [ShapedArray(aval.shape, aval.dtype, False)]
_double_p.batch = lambda args, dims: ([_double_p.bind1(args[0])], [dims[0]])
ad.deflinear(_double_p, lambda cts, x: [(cts[0] * 2).astype(fnp.float64)])


def _f32(*shape, seed=0):
    return fnp.asarray(
        np.random.default_rng([seed, 17]).uniform(0.5, 1.5, shape).astype(np.float32)
    )


def test_a_jvp_rule_with_the_wrong_dtype_is_caught_in_forward_mode_naming_the_argument():
    def f(x, y):
        return _triple_p.bind1(x) + y

    args = (_f32(3, seed=10), _f32(3, seed=11))
    with pytest.raises(
        GradientCheckError, match=r"tangent of args\[0\]\) is float64\[3\].*float32"
    ):
        check_grads(f, args, order=1, modes=("fwd",))
    with pytest.raises(GradientCheckError, match=r"jvp gives a float64\[3\] tangent"):
        check_transformations(f, args)


def test_a_transpose_rule_with_the_wrong_dtype_is_caught_in_reverse_mode_naming_the_argument():
    def f(x, y):
        return _double_p.bind1(x) * y

    args = (_f32(3, seed=12), _f32(3, seed=13))
    with pytest.raises(GradientCheckError, match=r"cotangent for args\[0\] is float64\[3\]"):
        check_grads(f, args, order=1, modes=("rev",))
    with pytest.raises(GradientCheckError, match=r"float64\[3\] for args\[0\]"):
        check_transformations(f, args)


# --- planted bug 5: a rule whose eager and jit results differ -----------------------------


@funcgrad.custom_jvp
def _staged_differently(x):
    return fnp.sin(x)


def _trace_stack() -> list[str]:
    trace, names = current_trace(), []
    while trace is not None:
        names.append(type(trace).__name__)
        trace = getattr(trace, "parent", None)
    return names


def _staged_rule(primals, tangents):
    (x,), (t,) = primals, tangents
    # The bug: a rule that inspects the trace it runs under, and so gives another result
    # when the function is jitted (grad(jit(f)) stages it once, eager grad twice).
    scale = 2.0 if _trace_stack() == ["StagingTrace", "EvalTrace"] else 1.0
    return fnp.sin(x), scale * fnp.cos(x) * t


_staged_differently.defjvp(_staged_rule)


def test_a_rule_differing_under_jit_is_caught_by_check_transformations_naming_the_argument():
    def loss(params):
        return fnp.sum(_staged_differently(params["a"]) * params["b"])

    args = ({"a": _f64(3, seed=14), "b": _f64(3, seed=15)},)
    check_grads(loss, args, order=1)  # eager derivatives are right
    with pytest.raises(GradientCheckError) as info:
        check_transformations(loss, args)
    message = str(info.value)
    assert "grad(jit(f)) disagrees with grad for args[0]['a']" in message, message
    # check_grads sees the bug where jit runs the rule: grad of a jitted function.
    with pytest.raises(GradientCheckError, match=r"args\[0\]\['a'\]"):
        check_grads(funcgrad.jit(loss), args, order=1, modes=("rev",))


def test_a_non_finite_gradient_is_reported_with_its_element():
    with (
        np.errstate(divide="ignore"),
        pytest.raises(GradientCheckError, match=r"args\[0\] is not finite at element \[1\]"),
    ):
        check_transformations(lambda x: fnp.sum(fnp.sqrt(x)), (fnp.asarray([1.0, 0.0]),))


# --- correct functions pass -------------------------------------------------------------


def _mlp(params, x):
    h = fnp.tanh(x @ params[0]["w"] + params[0]["b"])
    return fnp.mean((h @ params[1]["w"]) ** 2)


@given(
    x=fst.arrays(shape=(2, 3)),
    w0=fst.arrays(shape=(3, 4), min_value=-1, max_value=1),
    w1=fst.arrays(shape=(4, 2), min_value=-1, max_value=1),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=8)
def test_a_correct_network_passes_every_check(x, w0, w1, seed):
    params = [{"w": w0, "b": fnp.zeros(4)}, {"w": w1}]
    check_grads(_mlp, (params, x), order=2, seed=seed)
    check_transformations(_mlp, (params, x), seed=seed)


_CORRECT = {
    # name: (function, strategy of its arguments)
    "relu_kink_avoided": (lambda x: fnp.maximum(x, 0.0) * x, st.tuples(fst.arrays(avoid=[0.0]))),
    "abs_times_sin": (lambda x: fnp.abs(x) * fnp.sin(x), st.tuples(fst.arrays(avoid=[0.0]))),
    "tan_poles_avoided": (fnp.tan, st.tuples(fst.arrays(min_value=-1.4, max_value=1.4))),
    "solve": (fnp.linalg.solve, st.tuples(fst.well_conditioned_matrices(3), fst.arrays(shape=(3, 2)))),
    "slogdet_spd": (lambda a: fnp.linalg.slogdet(a)[1], st.tuples(fst.spd_matrices(3))),
    "cholesky": (fnp.linalg.cholesky, st.tuples(fst.spd_matrices(st.integers(1, 3)))),
    "entropy": (lambda p: -fnp.sum(p * fnp.log(p), axis=-1), st.tuples(fst.probability_vectors(4, batch_shape=(2,)))),
    "broadcast_product": (lambda a, b: fnp.sin(a) * b, fst.broadcastable_arrays()),
    "rotation": (lambda q, x: fnp.tanh(q @ x), st.tuples(fst.orthogonal_matrices(3), fst.arrays(shape=(3,)))),
    "complex": (lambda z: z * fnp.conj(z) + fnp.exp(z), st.tuples(fst.arrays(np.complex128, (2,)))),
    "integer_argument": (lambda x, n: fnp.sin(x) * n, st.tuples(fst.arrays(shape=(3,)), fst.arrays(np.int32, (3,)))),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(_CORRECT))
@given(data=st.data(), seed=st.integers(0, 2**16))
@settings(max_examples=5)
def test_correct_functions_pass(name, data, seed):
    fn, args_strategy = _CORRECT[name]
    args = data.draw(args_strategy, label="args")
    check_grads(fn, args, order=2, seed=seed)


@given(x=fst.arrays(np.float32, (3,), min_value=0.5, max_value=3.0))
@settings(max_examples=5)
def test_promote_checks_float32_functions_in_float64(x):
    """float32 arguments promoted: the float64 tolerance (1e-5) applies and passes."""
    check_grads(lambda v: fnp.log(v) * fnp.sqrt(v), (x,), order=2, promote=True)


def test_promote_keeps_the_dtype_of_a_function_that_insists_on_float32():
    def narrow(x):
        return fnp.sin(x).astype(fnp.float32)

    x = fnp.asarray([0.1, 0.2], dtype=fnp.float32)
    check_grads(narrow, (x,), order=1, promote=True)

    @funcgrad.custom_jvp
    def bad(x):
        return fnp.sin(x).astype(fnp.float32)

    bad.defjvp(lambda p, t: (bad(p[0]), (3.0 * fnp.cos(p[0]) * t[0]).astype(fnp.float32)))
    with pytest.raises(GradientCheckError, match=r"returns float32 even from float64 arguments"):
        check_grads(bad, (x,), order=1, promote=True)


def test_bad_arguments_are_reported():
    with pytest.raises(ValueError, match=r"unknown modes \['sideways'\]"):
        check_grads(fnp.sin, (fnp.ones(2),), order=1, modes=("sideways",))
    with pytest.raises(ValueError, match=r"order must be a positive integer, got 0"):
        check_grads(fnp.sin, (fnp.ones(2),), order=0)
    with pytest.raises(ValueError, match=r"no float output"):
        check_transformations(lambda x: fnp.argmax(x), (fnp.ones(2),))


def test_a_kink_gets_the_kink_advice():
    """abs at exactly 0: the difference is 0 at every step, the JVP (sign rule) is not."""
    with pytest.raises(GradientCheckError, match=r"args\[0\]") as info:
        check_grads(fnp.abs, (fnp.asarray([0.0, 1.0]),), order=1, modes=("fwd",))
    assert "what to try" in str(info.value)


# --- strategies ---------------------------------------------------------------------------


@given(x=fst.arrays(fst.dtypes("f"), fst.shapes(), avoid=[0.0, 1.0], margin=0.2))
def test_arrays_keep_away_from_the_given_points(x):
    v = np.asarray(x)
    assert v.dtype in (np.float32, np.float64)
    assert np.all(np.abs(v) >= 0.2 * 0.999) and np.all(np.abs(v - 1.0) >= 0.2 * 0.999)
    assert np.all((v >= -3) & (v <= 3))


@given(q=fst.orthogonal_matrices(st.integers(1, 4), batch_shape=(2,)))
def test_orthogonal_matrices_are_orthogonal(q):
    q = np.asarray(q)
    np.testing.assert_allclose(np.swapaxes(q, -1, -2) @ q, np.broadcast_to(np.eye(q.shape[-1]), q.shape),
                               atol=1e-12)  # fmt: skip


@given(a=fst.spd_matrices(st.integers(1, 4), min_eigenvalue=0.5, max_eigenvalue=4.0))
def test_spd_matrices_are_symmetric_with_their_eigenvalues_in_range(a):
    a = np.asarray(a)
    np.testing.assert_array_equal(a, a.T)
    w = np.linalg.eigvalsh(a)
    assert np.all(w >= 0.5 - 1e-9) and np.all(w <= 4.0 + 1e-9)


@given(a=fst.well_conditioned_matrices(st.integers(1, 4), st.integers(1, 4), max_condition=10.0))
def test_well_conditioned_matrices_have_bounded_condition_numbers(a):
    s = np.linalg.svd(np.asarray(a), compute_uv=False)
    assert s.min() >= 1.0 - 1e-9 and s.max() <= 10.0 + 1e-9


@given(p=fst.probability_vectors(st.integers(1, 5), batch_shape=(3,), min_probability=0.01))
def test_probability_vectors_sum_to_one(p):
    p = np.asarray(p)
    np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-12)
    assert np.all(p > 0)


@given(ab=fst.broadcastable_arrays(3))
def test_broadcastable_arrays_broadcast(ab):
    np.broadcast_shapes(*(x.shape for x in ab))  # raises if they do not


@given(tree=fst.pytrees(max_leaves=4))
def test_pytrees_have_array_leaves(tree):
    leaves = funcgrad.tree_util.tree_leaves(tree)
    assert 1 <= len(leaves) <= 4 and all(isinstance(x, funcgrad.Array) for x in leaves)


@given(key=fst.keys())
def test_keys_are_keys(key):
    assert key.shape == (2,) and key.dtype == np.uint32
    assert funcgrad.random.normal(key, (2,)).shape == (2,)


@given(data=st.data())
def test_in_axes_and_batched_fit_vmap(data):
    args = (fnp.ones((3, 2)), fnp.arange(3.0), fnp.ones(2))
    axes = data.draw(fst.in_axes(args, 3))
    out = funcgrad.vmap(lambda a, b, c: a.sum() * b.sum() + c.sum(), in_axes=axes)(*args)
    assert out.shape == (3,)
    axes, batched_args = data.draw(fst.batched(args))
    sizes = {np.shape(x)[a] for x, a in zip(batched_args, axes) if a is not None}
    assert len(sizes) == 1
    out = funcgrad.vmap(lambda a, b, c: a @ c + b, in_axes=axes)(*batched_args)
    assert out.shape == (sizes.pop(), 3)


@given(shape=fst.conv_input_shapes((3, 2), layout="NCHW", strides=(2, 1)))
def test_conv_input_shapes_fit_a_valid_stax_conv(shape):
    import stax

    init, apply = stax.GeneralConv(
        ("NCHW", "OIHW", "NCHW"), 2, (3, 2), strides=(2, 1), padding="VALID"
    )
    out_shape, params = init(funcgrad.random.key(0), shape)
    assert all(n >= 1 for n in out_shape)
    assert apply(params, fnp.ones(shape)).shape == out_shape


@given(shape=fst.dense_input_shapes())
def test_dense_input_shapes_fit_stax_dense(shape):
    import stax

    init, apply = stax.Dense(2)
    out_shape, params = init(funcgrad.random.key(0), shape)
    assert apply(params, fnp.ones(shape)).shape == out_shape == (shape[0], 2)


def test_strategies_start_from_and_shrink_to_small_readable_examples():
    """The simplest example of each strategy (what hypothesis tries first), then genuine
    shrinks: from random draws down to the smallest example meeting a condition."""
    first = settings(database=None, max_examples=1, phases=[Phase.generate, Phase.shrink])

    def simplest(strategy):
        return np.asarray(find(strategy, lambda _: True, settings=first))

    np.testing.assert_array_equal(simplest(fst.orthogonal_matrices(3)), np.eye(3))
    np.testing.assert_array_equal(simplest(fst.spd_matrices(2)), np.eye(2))
    np.testing.assert_array_equal(simplest(fst.well_conditioned_matrices(2, 3)), np.eye(2, 3))
    np.testing.assert_array_equal(simplest(fst.probability_vectors(4)), [0.25] * 4)
    np.testing.assert_array_equal(simplest(fst.arrays(avoid=[0.0])), 0.1)
    np.testing.assert_array_equal(simplest(fst.keys()), [0, 0])
    assert tuple(simplest(fst.conv_input_shapes((3, 3)))) == (1, 3, 3, 1)

    shrink = settings(database=None, max_examples=30, derandomize=True,
                      phases=[Phase.generate, Phase.shrink])  # fmt: skip
    x = find(fst.arrays(shape=fst.shapes(), avoid=[0.0], as_numpy=True), lambda x: x.ndim >= 2,
             settings=shrink)  # fmt: skip
    np.testing.assert_array_equal(x, [[0.1]])
    q = find(fst.orthogonal_matrices(st.integers(1, 4), as_numpy=True), lambda q: len(q) >= 3,
             settings=shrink)  # fmt: skip
    np.testing.assert_array_equal(q, np.eye(3))
    assert find(fst.pytrees(st.integers()), lambda t: isinstance(t, dict), settings=shrink) == {
        "a": 0
    }


# --- the pytest plugin --------------------------------------------------------------------

_PLUGIN_TESTS = """
import numpy as np
import funcgrad, funcgrad.numpy as fnp
from hypothesis import given, settings, strategies as st

def test_backend(funcgrad_backend):
    assert fnp.ones(2).backend == funcgrad_backend

def test_key(funcgrad_key, funcgrad_seed):
    assert np.asarray(funcgrad_key).tolist() == np.asarray(funcgrad.random.key(funcgrad_seed)).tolist()

def test_profile():
    assert settings.default.derandomize and settings.default.max_examples == 20
"""


def test_the_plugin_through_an_entry_point_and_pytest_plugins_together(pytester, monkeypatch):
    """The entry point (simulated by a dist-info on the path) and ``pytest_plugins`` name
    the same module, so pytest registers it once; the cupy runs skip with the reason."""
    site = pytester.mkdir("site")
    dist = site / "funcgrad_plugin_probe-0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: funcgrad-plugin-probe\nVersion: 0\n"
    )
    (dist / "entry_points.txt").write_text(
        "[pytest11]\nfuncgrad.test_util.pytest_plugin = funcgrad.test_util.pytest_plugin\n"
    )
    pytester.makeconftest('pytest_plugins = ["funcgrad.test_util.pytest_plugin"]\n')
    pytester.makepyfile(test_probe=textwrap.dedent(_PLUGIN_TESTS))
    monkeypatch.setenv("PYTHONPATH", str(site), prepend=":")
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-rs", "--hypothesis-profile=funcgrad-ci", "-q"
    )
    available = funcgrad.devices()
    skipped = [name for name in ("cupy", "numpy") if name not in available]
    result.assert_outcomes(passed=4 - len(skipped), skipped=len(skipped))
    if skipped:
        result.stdout.fnmatch_lines(["*funcgrad backend 'cupy' is not available on this machine*"])
    assert "Plugin already registered" not in result.stdout.str() + result.stderr.str()
