"""Differentiation rules of the reduction, scan, contraction and linear-algebra primitives.

Every primitive is checked with ``check_grads`` (order 2, forward and reverse) on
hypothesis-drawn shapes and parameters. Values come from a continuous distribution
seeded by hypothesis, so no draw sits on a tie or a kink; the documented choices at
ties and zeros are tested separately against hand-computed values. Linear primitives
have their transposes checked exactly, against explicit NumPy adjoints and by the
inner-product identity. Matrices for the decompositions are built from random
orthogonal factors and well-separated spectra, so they are well conditioned and their
eigen/singular values are distinct.

Data are drawn from ``default_rng([seed, _SALT])``, never from ``default_rng(seed)``:
check_grads draws its directions from ``default_rng(0)`` and ``default_rng(1)``, and a
direction equal to the point itself would hide errors in scale-invariant parts (e.g.
the singular vectors of ``A`` do not move along ``dA = A``).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import shapes
from test_primitives import _dot_general_draw

import funcgrad
import funcgrad.numpy as fnp
from funcgrad._src import autodiff
from funcgrad._src.lax import ALL_PRIMITIVES
from funcgrad._src.lax import linalg as la
from funcgrad._src.lax import reductions as red
from funcgrad._src.lax.elementwise import gt_p, mul_p, select_p
from funcgrad._src.lax.structural import convert_element_type_p, transpose_p
from funcgrad.test_util import check_grads

_SALT = 20261122
_seeds = st.integers(0, 2**31 - 1)
_LINALG_TOL = {"atol": 1e-5, "rtol": 1e-5}


def _rng(seed):
    return np.random.default_rng([seed, _SALT])


def _uniform(seed, shape, lo=-2.0, hi=2.0, dtype=np.float64):
    return fnp.asarray(_rng(seed).uniform(lo, hi, shape).astype(dtype))


def _signed_magnitudes(seed, shape, dtype=np.float64):
    """Values in +-[0.5, 1.5]: products of many of them stay of order one."""
    rng = _rng(seed)
    values = rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    return fnp.asarray(values.astype(dtype))


def _separated(seed, shape, dtype=np.float64):
    """Continuous values in [-2, 2) whose pairwise gaps exceed 2 / size: maxima and
    minima stay put under finite-difference steps, even in float32."""
    rng = _rng(seed)
    size = int(np.prod(shape))
    ranks = rng.permutation(size).reshape(shape)
    values = (ranks + rng.uniform(0.0, 0.5, shape)) * (4.0 / max(size, 1)) - 2.0
    return fnp.asarray(values.astype(dtype))


def _draw_values(name, seed, shape, dtype=np.float64):
    if name in ("reduce_prod", "cumprod"):
        return _signed_magnitudes(seed, shape, dtype)
    if name in ("reduce_max", "reduce_min", "cummax", "cummin"):
        return _separated(seed, shape, dtype)
    return _uniform(seed, shape, dtype=dtype)


def _axes_strategy(ndim):
    return st.sets(st.integers(0, max(ndim - 1, 0)), max_size=ndim).map(
        lambda s: tuple(sorted(a for a in s if a < ndim))
    )


def test_every_rule_of_this_family_exists():
    names = ["reduce_sum", "reduce_prod", "reduce_max", "reduce_min", "reduce_and", "reduce_or",
             "argmax", "argmin", "cumsum", "cumprod", "cummax", "cummin", "dot_general",
             "cholesky", "eigh", "qr", "svd", "solve", "det", "slogdet"]  # fmt: skip
    for name in names:
        assert ALL_PRIMITIVES[name].jvp is not None, name
    for name in ("reduce_sum", "cumsum", "dot_general", "solve"):
        prim = ALL_PRIMITIVES[name]
        assert prim.linear and prim.transpose is not None, name


# --- reductions -------------------------------------------------------------------------

_REDUCERS = {"reduce_sum": red.reduce_sum_p, "reduce_prod": red.reduce_prod_p,
             "reduce_max": red.reduce_max_p, "reduce_min": red.reduce_min_p}  # fmt: skip


@pytest.mark.parametrize("name", sorted(_REDUCERS))
@given(data=st.data(), seed=_seeds)
@settings(max_examples=10)
def test_reduction_grads(name, data, seed):
    nonempty = name in ("reduce_max", "reduce_min")
    shape = data.draw(shapes(max_dims=3, max_side=3, min_side=1 if nonempty else 0))
    axes = data.draw(_axes_strategy(len(shape)))
    x = _draw_values(name, seed, shape)
    prim = _REDUCERS[name]
    check_grads(lambda x: prim.bind1(x, axes=axes), (x,), order=2)


@pytest.mark.parametrize("name", sorted(_REDUCERS))
@pytest.mark.parametrize(
    "shape, axes", [((2, 3, 4), (0, 1)), ((2, 3, 4, 5), (0, 2)), ((3, 2, 4), (1, 2))]
)
def test_reduction_grads_over_several_axes(name, shape, axes):
    # distinct sizes: an axis permutation confused with its inverse cannot go unnoticed
    x = _draw_values(name, 11, shape)
    prim = _REDUCERS[name]
    check_grads(lambda x: prim.bind1(x, axes=axes), (x,), order=2)


@pytest.mark.parametrize("name", sorted(_REDUCERS))
@given(seed=_seeds, axis=st.integers(0, 1))
@settings(max_examples=4)
def test_reduction_grads_float32(name, seed, axis):
    x = _draw_values(name, seed, (3, 4), np.float32)
    prim = _REDUCERS[name]
    check_grads(lambda x: prim.bind1(x, axes=(axis,)), (x,), order=2, atol=5e-2, rtol=5e-2)


@pytest.mark.parametrize("prim", [red.reduce_max_p, red.reduce_min_p], ids=["max", "min"])
def test_extremum_ties_split_the_gradient_equally(prim):
    sign = 1.0 if prim is red.reduce_max_p else -1.0
    x = fnp.asarray(sign * np.array([1.0, 3.0, 3.0]))
    g = funcgrad.grad(lambda x: prim.bind1(x, axes=(0,)))(x)
    np.testing.assert_array_equal(np.asarray(g), [0.0, 0.5, 0.5])
    # per reduction group: three-way tie in row 0, no tie in row 1
    x = fnp.asarray(sign * np.array([[2.0, 2.0, 2.0], [1.0, 5.0, 4.0]]))
    g = funcgrad.grad(lambda x: fnp.sum(prim.bind1(x, axes=(1,)) * fnp.asarray([1.0, 10.0])))(x)
    np.testing.assert_allclose(np.asarray(g), [[1 / 3, 1 / 3, 1 / 3], [0.0, 10.0, 0.0]])
    # forward mode agrees: the mean of the tied tangents
    _, t = funcgrad.jvp(lambda x: prim.bind1(x, axes=(0,)), (fnp.asarray(sign * np.array([3.0, 1.0, 3.0])),),
                        (fnp.asarray([2.0, 7.0, 4.0]),))  # fmt: skip
    assert float(t) == 3.0


def _products_of_others(x, axis):
    """The hand formula: d prod / d x_i = product of the other elements."""
    moved = np.moveaxis(x, axis, -1)
    out = np.empty_like(moved)
    for i in range(moved.shape[-1]):
        out[..., i] = np.prod(np.delete(moved, i, axis=-1), axis=-1)
    return np.moveaxis(out, -1, axis)


@given(seed=_seeds, n=st.integers(1, 5), rows=st.integers(1, 3), zeros=st.integers(1, 2))
@settings(max_examples=10)
def test_reduce_prod_gradient_with_zeros(seed, n, rows, zeros):
    rng = _rng(seed)
    x = rng.uniform(0.5, 2.0, (rows, n))
    for _ in range(zeros):  # put zeros at random places (maybe the same one twice)
        x[rng.integers(rows), rng.integers(n)] = 0.0
    g = funcgrad.grad(lambda x: fnp.sum(red.reduce_prod_p.bind1(x, axes=(1,))))(fnp.asarray(x))
    np.testing.assert_allclose(np.asarray(g), _products_of_others(x, 1), rtol=1e-12, atol=0)
    check_grads(lambda x: red.reduce_prod_p.bind1(x, axes=(0, 1)), (fnp.asarray(x),), order=2)


def test_reduce_prod_single_zero_gets_product_of_the_others():
    g = funcgrad.grad(lambda x: red.reduce_prod_p.bind1(x, axes=(0,)))(
        fnp.asarray([2.0, 0.0, 3.0, 5.0])
    )
    np.testing.assert_array_equal(np.asarray(g), [0.0, 30.0, 0.0, 0.0])


def test_reduce_prod_empty_axes_and_groups():
    x = fnp.asarray([[1.5, -2.0]])
    check_grads(lambda x: red.reduce_prod_p.bind1(x, axes=()), (x,), order=2)
    g = funcgrad.grad(lambda x: fnp.sum(red.reduce_prod_p.bind1(x, axes=(0,))))(fnp.zeros((0, 2)))
    assert g.shape == (0, 2)


@given(data=st.data(), seed=_seeds)
@settings(max_examples=10)
def test_boolean_and_index_reductions_have_zero_derivatives(data, seed):
    shape = data.draw(shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
    axis = data.draw(st.integers(0, len(shape) - 1))
    x = _separated(seed, shape)

    def f(x):
        # values selected by the index and boolean outputs: only x's own path has a tangent
        index = convert_element_type_p.bind1(red.argmax_p.bind1(x, axis=axis, index_dtype=np.dtype(np.int64)),
                                             new_dtype=np.dtype(np.float64))  # fmt: skip
        low = convert_element_type_p.bind1(red.argmin_p.bind1(x, axis=axis, index_dtype=np.dtype(np.int32)),
                                           new_dtype=np.dtype(np.float64))  # fmt: skip
        positive = gt_p.bind1(x, 0.0)
        any_pos = red.reduce_or_p.bind1(positive, axes=(axis,))
        all_pos = red.reduce_and_p.bind1(positive, axes=(axis,))
        total = red.reduce_sum_p.bind1(x, axes=(axis,))
        picked = select_p.bind1(any_pos, total, mul_p.bind1(total, 2.0))
        picked = select_p.bind1(all_pos, mul_p.bind1(picked, 3.0), picked)
        return mul_p.bind1(picked, index + 2.0 * low + 1.0)

    check_grads(f, (x,), order=2)
    xs = np.asarray(x)
    factor = np.where(np.any(xs > 0, axis=axis), 1.0, 2.0) * np.where(
        np.all(xs > 0, axis=axis), 3.0, 1.0
    )
    factor = factor * (np.argmax(xs, axis) + 2.0 * np.argmin(xs, axis) + 1.0)
    g = funcgrad.grad(lambda x: fnp.sum(f(x)))(x)
    np.testing.assert_allclose(np.asarray(g), np.broadcast_to(np.expand_dims(factor, axis), shape))
    for prim in (red.argmax_p, red.argmin_p):
        index = lambda x, prim=prim: prim.bind1(x, axis=axis, index_dtype=np.dtype(np.int64))
        _, t = funcgrad.jvp(index, (x,), (x,))
        assert not np.any(np.asarray(t))


# --- cumulative scans ---------------------------------------------------------------------

_SCANS = {"cumsum": red.cumsum_p, "cumprod": red.cumprod_p, "cummax": red.cummax_p,
          "cummin": red.cummin_p}  # fmt: skip


@pytest.mark.parametrize("name", sorted(_SCANS))
@given(data=st.data(), seed=_seeds, reverse=st.booleans())
@settings(max_examples=10)
def test_cumulative_grads(name, data, seed, reverse):
    shape = data.draw(shapes(min_dims=1, max_dims=3, max_side=6))
    axis = data.draw(st.integers(0, len(shape) - 1))
    x = _draw_values(name, seed, shape)
    prim = _SCANS[name]
    check_grads(lambda x: prim.bind1(x, axis=axis, reverse=reverse), (x,), order=2)


@pytest.mark.parametrize("name", sorted(_SCANS))
@given(seed=_seeds, reverse=st.booleans())
@settings(max_examples=4)
def test_cumulative_grads_float32(name, seed, reverse):
    x = _draw_values(name, seed, (3, 5), np.float32)
    prim = _SCANS[name]
    check_grads(
        lambda x: prim.bind1(x, axis=1, reverse=reverse), (x,), order=2, atol=5e-2, rtol=5e-2
    )


def _cumprod_jacobian(x):
    """d out_i / d x_k = prod_{j <= i, j != k} x_j for k <= i, by the definition."""
    n = len(x)
    return np.array([[np.prod(np.delete(x[: i + 1], k)) if k <= i else 0.0 for k in range(n)]
                     for i in range(n)])  # fmt: skip


@given(seed=_seeds, n=st.integers(1, 9), zeros=st.integers(0, 2), reverse=st.booleans())
@settings(max_examples=15)
def test_cumprod_jacobian_with_zeros(seed, n, zeros, reverse):
    rng = _rng(seed)
    x = rng.uniform(-2, 2, n)
    x[rng.integers(n, size=zeros)] = 0.0
    f = lambda x: red.cumprod_p.bind1(x, axis=0, reverse=reverse)
    expected = _cumprod_jacobian(x[::-1])[::-1, ::-1] if reverse else _cumprod_jacobian(x)
    for jac in (funcgrad.jacfwd, funcgrad.jacrev):
        np.testing.assert_allclose(
            np.asarray(jac(f)(fnp.asarray(x))), expected, rtol=1e-12, atol=1e-12
        )


def test_cummax_ties_send_the_gradient_to_the_most_recent_tied_element():
    # out = [3, 3, 3, 3]: positions 0 and 1 take x[0]; positions 2 and 3 take x[2], the
    # most recent element equal to the running maximum.
    g = funcgrad.grad(lambda x: fnp.sum(red.cummax_p.bind1(x, axis=0, reverse=False)))(
        fnp.asarray([3.0, 1.0, 3.0, 2.0])
    )
    np.testing.assert_array_equal(np.asarray(g), [2.0, 0.0, 2.0, 0.0])
    # reversed scan: [2, 3, 1, 3] scans from the end; position 1 is the most recent tie
    g = funcgrad.grad(lambda x: fnp.sum(red.cummin_p.bind1(-x, axis=0, reverse=True)))(
        fnp.asarray([2.0, 3.0, 1.0, 3.0])
    )
    np.testing.assert_array_equal(np.asarray(g), [0.0, -2.0, 0.0, -2.0])


def test_grad_with_an_integer_operand():
    x = _uniform(3, (2, 5))
    k = fnp.asarray(np.arange(10).reshape(2, 5))

    def f(x, k):
        weights = convert_element_type_p.bind1(k, new_dtype=np.dtype(np.float64))
        return fnp.sum(red.cumsum_p.bind1(x, axis=1, reverse=False) * weights)

    g = funcgrad.grad(f)(x, k)
    expected = np.cumsum(np.asarray(k)[:, ::-1], axis=1)[:, ::-1]  # reversed cumsum of the weights
    np.testing.assert_allclose(np.asarray(g), expected)
    h = funcgrad.grad(lambda x, k: fnp.sum(red.reduce_max_p.bind1(x * k, axes=(1,))))(x, k)
    scaled = np.asarray(x) * np.asarray(k)
    at_max = scaled == scaled.max(axis=1, keepdims=True)
    np.testing.assert_allclose(np.asarray(h), np.where(at_max, np.asarray(k), 0.0))


# --- exact transposes of the linear primitives ------------------------------------------


def _assert_transpose(f, x, ct, expected):
    """``linear_transpose(f)(ct)`` equals the explicit adjoint and satisfies
    ``<T(ct), x> == <ct, f(x)>``."""
    (t_ct,) = funcgrad.linear_transpose(f, x)(ct)
    np.testing.assert_allclose(np.asarray(t_ct), expected, rtol=1e-12, atol=1e-12)
    lhs = np.vdot(np.asarray(t_ct), np.asarray(x))
    rhs = np.vdot(np.asarray(ct), np.asarray(f(x)))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10, atol=1e-10)


@given(data=st.data(), seed=_seeds)
@settings(max_examples=15)
def test_reduce_sum_transpose(data, seed):
    shape = data.draw(shapes(max_dims=3, max_side=3))
    axes = data.draw(_axes_strategy(len(shape)))
    x = _uniform(seed, shape)
    ct_shape = tuple(d for i, d in enumerate(shape) if i not in axes)
    ct = _uniform(seed + 1, ct_shape)
    expected = np.broadcast_to(np.expand_dims(np.asarray(ct), axes), shape)
    _assert_transpose(lambda x: red.reduce_sum_p.bind1(x, axes=axes), x, ct, expected)


@given(data=st.data(), seed=_seeds, reverse=st.booleans())
@settings(max_examples=15)
def test_cumsum_transpose(data, seed, reverse):
    shape = data.draw(shapes(min_dims=1, max_dims=3, max_side=4))
    axis = data.draw(st.integers(0, len(shape) - 1))
    x, ct = _uniform(seed, shape), _uniform(seed + 1, shape)
    c = np.asarray(ct)
    # the adjoint of a forward running sum is the backward running sum, and vice versa
    if reverse:
        expected = np.cumsum(c, axis=axis)
    else:
        expected = np.flip(np.cumsum(np.flip(c, axis), axis=axis), axis)
    _assert_transpose(lambda x: red.cumsum_p.bind1(x, axis=axis, reverse=reverse), x, ct, expected)


def _dot_general_case(data, seed, dtype=np.float64):
    """Shapes and dimension numbers from the primitive tests, with continuous values."""
    (lhs, rhs), params = _dot_general_draw(data)
    spec = params["_spec"]
    return (_uniform(seed, lhs.shape, dtype=dtype), _uniform(seed + 1, rhs.shape, dtype=dtype),
            params["dimension_numbers"], spec)  # fmt: skip


@given(data=st.data(), seed=_seeds)
@settings(max_examples=20)
def test_dot_general_transposes(data, seed):
    lhs, rhs, dn, spec = _dot_general_case(data, seed)
    inputs, out = spec.split("->")
    lspec, rspec = inputs.split(",")
    out_shape = np.einsum(spec, np.asarray(lhs), np.asarray(rhs)).shape
    ct = _uniform(seed + 2, out_shape)
    _assert_transpose(lambda l: la.dot_general_p.bind1(l, rhs, dimension_numbers=dn), lhs, ct,
                      np.einsum(f"{out},{rspec}->{lspec}", np.asarray(ct), np.asarray(rhs)))  # fmt: skip
    _assert_transpose(lambda r: la.dot_general_p.bind1(lhs, r, dimension_numbers=dn), rhs, ct,
                      np.einsum(f"{lspec},{out}->{rspec}", np.asarray(lhs), np.asarray(ct)))  # fmt: skip


# Hand-picked dimension numbers with distinct sizes and unsorted contracting/batch dims.
_DOT_CASES = [
    ("ij,jk->ik", (((1,), (0,)), ((), ()))),
    ("bdca,cebd->bae", (((2, 1), (0, 3)), ((0,), (2,)))),
    ("cab,bdac->acd", (((2,), (0,)), ((1, 0), (2, 3)))),
    ("dbac,eabc->abde", (((3,), (3,)), ((2, 1), (1, 2)))),
    ("abc,cbd->ad", (((1, 2), (1, 0)), ((), ()))),
    ("i,i->", (((0,), (0,)), ((), ()))),
    ("ab,cd->abcd", (((), ()), ((), ()))),
]
_SIZES = {"a": 2, "b": 3, "c": 4, "d": 5, "e": 1, "i": 3, "j": 4, "k": 2}


@pytest.mark.parametrize("spec, dn", _DOT_CASES, ids=[c[0] for c in _DOT_CASES])
def test_dot_general_rules_on_unsorted_dimension_numbers(spec, dn):
    inputs, out = spec.split("->")
    lspec, rspec = inputs.split(",")
    lhs = _uniform(5, tuple(_SIZES[c] for c in lspec))
    rhs = _uniform(6, tuple(_SIZES[c] for c in rspec))
    f = lambda l, r: la.dot_general_p.bind1(l, r, dimension_numbers=dn)
    np.testing.assert_allclose(
        np.asarray(f(lhs, rhs)), np.einsum(spec, np.asarray(lhs), np.asarray(rhs))
    )
    ct = _uniform(7, np.einsum(spec, np.asarray(lhs), np.asarray(rhs)).shape)
    _assert_transpose(
        lambda l: f(l, rhs),
        lhs,
        ct,
        np.einsum(f"{out},{rspec}->{lspec}", np.asarray(ct), np.asarray(rhs)),
    )
    _assert_transpose(
        lambda r: f(lhs, r),
        rhs,
        ct,
        np.einsum(f"{lspec},{out}->{rspec}", np.asarray(lhs), np.asarray(ct)),
    )
    check_grads(f, (lhs, rhs), order=2)


@given(seed=_seeds, n=st.integers(1, 4), k=st.integers(1, 3), batch=shapes(max_dims=2, max_side=2))
@settings(max_examples=15)
def test_solve_transpose_in_b(seed, n, k, batch):
    a = _general_matrices(seed, batch, n)
    b, ct = _uniform(seed + 1, (*batch, n, k)), _uniform(seed + 2, (*batch, n, k))
    expected = np.linalg.solve(np.swapaxes(np.asarray(a), -1, -2), np.asarray(ct))
    _assert_transpose(lambda b: la.solve_p.bind1(a, b), b, ct, expected)


# --- dot_general ----------------------------------------------------------------------------


@given(data=st.data(), seed=_seeds)
@settings(max_examples=20)
def test_dot_general_grads(data, seed):
    lhs, rhs, dn, _ = _dot_general_case(data, seed)
    f = lambda l, r: la.dot_general_p.bind1(l, r, dimension_numbers=dn)
    check_grads(f, (lhs, rhs), order=2)
    check_grads(lambda l: f(l, rhs), (lhs,), order=2)
    check_grads(lambda r: f(lhs, r), (rhs,), order=2)


@given(data=st.data(), seed=_seeds)
@settings(max_examples=5)
def test_dot_general_grads_float32(data, seed):
    lhs, rhs, dn, _ = _dot_general_case(data, seed, np.float32)
    f = lambda l, r: la.dot_general_p.bind1(l, r, dimension_numbers=dn)
    check_grads(f, (lhs, rhs), order=2, atol=5e-2, rtol=5e-2)


def _equations(jaxpr, name):
    return [e for e in jaxpr.eqns if e.primitive.name == name]


def test_matmul_tangent_uses_only_the_differentiated_operand():
    """Differentiating sum(x @ W) in W alone records one dot_general of the constant x
    and W's tangent, and nothing at all for x."""
    x = _uniform(1, (3, 4))
    W = _uniform(2, (4, 5))
    lin = autodiff._linearize_flat("grad", lambda W: fnp.sum(x @ W), [W], False)
    jaxpr = lin.jaxpr
    (dot,) = _equations(jaxpr, "dot_general")
    assert {e.primitive.name for e in jaxpr.eqns} == {"dot_general", "reduce_sum"}
    (w_tangent,) = jaxpr.invars
    const_of = dict(zip(jaxpr.constvars, lin.consts))
    assert dot.inputs[1] is w_tangent
    assert const_of[dot.inputs[0]] is x
    assert dot.params["dimension_numbers"] == (((1,), (0,)), ((), ()))


@pytest.mark.parametrize("wrt", ["x", "W"])
def test_matmul_cotangents_are_single_dot_generals(wrt):
    """The reverse pass of x @ W is ct @ W.T (w.r.t. x) or x.T @ ct (w.r.t. W): one
    dot_general each, with no transpose, reshape or copy around it."""
    from funcgrad._src.interpreters import ad
    from funcgrad._src.ir import trace_to_jaxpr

    x, W = _uniform(1, (3, 4)), _uniform(2, (4, 5))
    fun = (lambda x: x @ W) if wrt == "x" else (lambda W: x @ W)
    lin = autodiff._linearize_flat("vjp", fun, [x if wrt == "x" else W], False)
    ct = _uniform(3, (3, 5))
    backward, _ = trace_to_jaxpr(lambda c: ad.backward_pass(lin.jaxpr, lin.consts, [c]), [ct.aval])
    assert [e.primitive.name for e in backward.eqns] == ["dot_general"]
    (g,) = funcgrad.vjp(fun, x if wrt == "x" else W)[1](ct)
    expected = np.asarray(ct) @ np.asarray(W).T if wrt == "x" else np.asarray(x).T @ np.asarray(ct)
    np.testing.assert_allclose(np.asarray(g), expected, rtol=1e-12)


# --- linear algebra ---------------------------------------------------------------------------


def _orthogonal(rng, batch, n):
    q, r = np.linalg.qr(rng.standard_normal((*batch, n, n)))
    return q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]


def _spread_values(rng, batch, n, start=1.0):
    """Increasing values at least 0.5 apart: distinct eigen/singular values."""
    return start + np.cumsum(rng.uniform(0.5, 1.5, (*batch, n)), axis=-1)


def _from_factors(u, s, v):
    return np.einsum("...ik,...k,...jk->...ij", u, s, v)


def _spd_matrices(seed, batch, n, dtype=np.float64, lowest=1.0):
    """Symmetric matrices with distinct eigenvalues above ``lowest``, 0.5 or more apart."""
    rng = _rng(seed)
    v = _orthogonal(rng, batch, n)
    return fnp.asarray(_from_factors(v, _spread_values(rng, batch, n, lowest), v).astype(dtype))


def _general_matrices(seed, batch, n, m=None, dtype=np.float64):
    """(..., n, m) matrices with well-separated singular values >= 1.5 and random signs
    of the determinant."""
    rng = _rng(seed)
    m = n if m is None else m
    k = min(n, m)
    u = _orthogonal(rng, batch, n)[..., :k]
    v = _orthogonal(rng, batch, m)[..., :k]
    s = _spread_values(rng, batch, k)[..., rng.permutation(k)]
    return fnp.asarray(_from_factors(u, s, v).astype(dtype))


def _symmetric(a):
    """The symmetric part: cholesky and eigh read one triangle, so they are checked as
    functions of symmetric matrices (the rules symmetrize the tangent)."""
    n = a.ndim
    return (a + transpose_p.bind1(a, permutation=(*range(n - 2), n - 1, n - 2))) * 0.5


_batches = shapes(max_dims=2, max_side=2)


@given(seed=_seeds, n=st.integers(1, 4), batch=_batches)
@settings(max_examples=10)
def test_cholesky_grads(seed, n, batch):
    a = _spd_matrices(seed, batch, n)
    check_grads(lambda a: la.cholesky_p.bind1(_symmetric(a)), (a,), order=2, **_LINALG_TOL)


@given(seed=_seeds, n=st.integers(1, 4), batch=_batches)
@settings(max_examples=10)
def test_eigh_grads(seed, n, batch):
    a = _spd_matrices(seed, batch, n, lowest=-2.0)  # indefinite too: eigenvalues of both signs
    for lower in (True, False):
        f = lambda a, lower=lower: la.eigh_p.bind(_symmetric(a), lower=lower)
        check_grads(f, (a,), order=2, **_LINALG_TOL)


@given(seed=_seeds, m=st.integers(1, 4), n=st.integers(1, 4), batch=_batches, full=st.booleans())
@settings(max_examples=10)
def test_qr_grads(seed, m, n, batch, full):
    full = full and m <= n  # the extra columns of a complete Q are not differentiable
    a = _general_matrices(seed, batch, m, n)
    check_grads(lambda a: la.qr_p.bind(a, full_matrices=full), (a,), order=2, **_LINALG_TOL)


@given(seed=_seeds, m=st.integers(1, 4), n=st.integers(1, 4), batch=_batches)
@settings(max_examples=10)
def test_svd_grads(seed, m, n, batch):
    a = _general_matrices(seed, batch, m, n)
    check_grads(
        lambda a: la.svd_p.bind(a, full_matrices=False, compute_uv=True),
        (a,),
        order=2,
        **_LINALG_TOL,
    )
    check_grads(
        lambda a: la.svd_p.bind1(a, full_matrices=False, compute_uv=False),
        (a,),
        order=2,
        **_LINALG_TOL,
    )
    if m == n:
        check_grads(
            lambda a: la.svd_p.bind(a, full_matrices=True, compute_uv=True),
            (a,),
            order=1,
            **_LINALG_TOL,
        )


@given(seed=_seeds, n=st.integers(1, 4), k=st.integers(1, 3), batch=_batches)
@settings(max_examples=10)
def test_solve_grads(seed, n, k, batch):
    a, b = _general_matrices(seed, batch, n), _uniform(seed + 1, (*batch, n, k))
    check_grads(lambda a, b: la.solve_p.bind1(a, b), (a, b), order=2, **_LINALG_TOL)
    check_grads(lambda a: la.solve_p.bind1(a, b), (a,), order=2, **_LINALG_TOL)
    check_grads(lambda b: la.solve_p.bind1(a, b), (b,), order=2, **_LINALG_TOL)


@given(seed=_seeds, n=st.integers(1, 4), batch=_batches)
@settings(max_examples=10)
def test_det_and_slogdet_grads(seed, n, batch):
    a = _general_matrices(seed, batch, n) * 0.5
    check_grads(lambda a: la.det_p.bind1(a), (a,), order=2, **_LINALG_TOL)
    check_grads(lambda a: la.slogdet_p.bind(a), (a,), order=2, **_LINALG_TOL)


@given(seed=_seeds)
@settings(max_examples=3)
def test_linalg_grads_float32(seed):
    tol = {"atol": 5e-2, "rtol": 5e-2}
    spd = _spd_matrices(seed, (2,), 3, np.float32)
    check_grads(lambda a: la.cholesky_p.bind1(_symmetric(a)), (spd,), order=1, **tol)

    def eigh_gauge_free(a):
        # float32 kernels may flip an eigenvector's sign within a finite-difference step:
        # check the squares of the entries, which do not depend on the sign
        w, v = la.eigh_p.bind(_symmetric(a), lower=True)
        return w, v * v

    check_grads(eigh_gauge_free, (spd,), order=1, **tol)
    a = _general_matrices(seed, (2,), 3, dtype=np.float32)
    check_grads(lambda a, b: la.solve_p.bind1(a, b), (a, a), order=1, **tol)
    check_grads(lambda a: la.slogdet_p.bind(a), (a,), order=1, **tol)


def test_linalg_gradients_match_closed_forms():
    a = np.array([[3.0, 1.0], [2.0, 4.0]])
    # d det / dA = det(A) A^{-T}; d log|det| / dA = A^{-T}
    g = funcgrad.grad(lambda a: la.det_p.bind1(a))(fnp.asarray(a))
    np.testing.assert_allclose(np.asarray(g), np.linalg.det(a) * np.linalg.inv(a).T, rtol=1e-12)
    g = funcgrad.grad(lambda a: la.slogdet_p.bind(a)[1])(fnp.asarray(-a))
    np.testing.assert_allclose(np.asarray(g), np.linalg.inv(-a).T, rtol=1e-12)
    # eigenvalues of a symmetric matrix: d w_i / dA = v_i v_i^T
    s = np.array([[2.0, 1.0], [1.0, 3.0]])
    _, v = np.linalg.eigh(s)
    for i in range(2):
        g = funcgrad.grad(lambda a, i=i: la.eigh_p.bind(a, lower=True)[0][i])(fnp.asarray(s))
        np.testing.assert_allclose(
            np.asarray(g), np.outer(v[:, i], v[:, i]), rtol=1e-10, atol=1e-12
        )
    # singular values: d s_i / dA = u_i v_i^T
    u, _, vh = np.linalg.svd(a)
    for i in range(2):
        singular_value = lambda a, i=i: la.svd_p.bind1(a, full_matrices=False, compute_uv=False)[i]
        g = funcgrad.grad(singular_value)(fnp.asarray(a))
        np.testing.assert_allclose(np.asarray(g), np.outer(u[:, i], vh[i]), rtol=1e-10, atol=1e-12)


def test_undifferentiable_decomposition_modes_raise():
    tall = _general_matrices(0, (), 4, 2)
    with pytest.raises(NotImplementedError, match="qr with full_matrices=True"):
        funcgrad.jvp(lambda a: la.qr_p.bind(a, full_matrices=True), (tall,), (tall,))
    with pytest.raises(NotImplementedError, match="svd with full_matrices=True"):
        funcgrad.jvp(
            lambda a: la.svd_p.bind(a, full_matrices=True, compute_uv=True), (tall,), (tall,)
        )
    c = fnp.asarray(np.eye(2) * (1 + 1j))
    with pytest.raises(NotImplementedError, match="qr is implemented for real matrices only"):
        funcgrad.jvp(lambda a: la.qr_p.bind(a, full_matrices=False), (c,), (c,))
